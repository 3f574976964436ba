"""Speed of the DMFT engine; writes benchmarks/theory_speed.md.

    python benchmarks/theory_speed.py            # pinned to one CPU core (default)
    python benchmarks/theory_speed.py --cores 0  # use every core the process may use
    python benchmarks/theory_speed.py --residual # only section 5, spliced into theory_speed.md

Measures (wall time after compilation, best of ``--repeat`` runs):
  1. one solve at T = 200 for depth 1, 2, 4;
  2. depth 2 at T = 100, 200, 400, 800 and the fitted growth exponent (time ~ T^p; the algorithm is O(L T^3));
  3. one theory solve vs one simulated seed at D = 2000, same config, same process;
  4. a vmapped batch of 32 learning rates (solve_batch) vs 32 separate solves;
  5. residual nets: one solve vs depth L = 2, 4, 8, 16 and T = 50, 100, 200 (time, compile time, memory;
     the algorithm is O(L^2 T^3) time, O(L^2 T^2) memory).
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np
from _timing import best_time  # benchmarks/_timing.py

HERE = Path(__file__).resolve().parent
RESIDUAL_DEPTHS = (2, 4, 8, 16)
RESIDUAL_STEPS = (50, 100, 200)
RESIDUAL_HEADING = "## 5. Residual nets"


def residual_section(repeat: int) -> list[str]:
    """Section 5: one residual-net solve (docs/theory.md, Sec. 11) vs depth and horizon.

    Wall time after compilation (best of ``repeat``; one run from 20 s on), the compile time (first call
    minus a run), XLA's buffers of the compiled solver (arguments + outputs + temporaries, from its
    memory analysis) and the memory guard's estimate ``solver_bytes`` (which refuses above 8 GB)."""
    import time

    from deeplinear.config import parse_config
    from deeplinear.theory import _api, _core, _residual, solve

    ty = _core.Types(*(np.ones(1),) * 3)  # isotropic data: one input-space type
    lines = [
        RESIDUAL_HEADING,
        "",
        "Config: residual, beta_res = 1, alpha = 2, nu = 1, gamma0 = 1, eta = 0.02 (below the lazy edge at L = 16).",
        "",
        "| depth L | T | solve [s] | compile [s] | XLA buffers [MB] | guard estimate [MB] |",
        "|---|---|---|---|---|---|",
    ]
    secs = {}
    for depth in RESIDUAL_DEPTHS:
        for steps in RESIDUAL_STEPS:
            c = parse_config(dict(depth=depth, residual=True, alpha=2.0, nu=1.0, gamma0=1.0, eta=0.02, steps=steps))
            t0 = time.perf_counter()
            solve(c)  # compile + one run
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            solve(c)
            once = time.perf_counter() - t0
            secs[depth, steps] = once if once > 20 else min(once, best_time(lambda: solve(c), repeat))
            compiled = _residual._compiled(depth, steps + 1, False, False, False)
            params = _core.Params(*map(np.float64, _api._scalars(c)))
            mem = compiled.lower(params, np.float64(c.branch_scale[1]), ty).compile().memory_analysis()
            xla = mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
            lines.append(
                f"| {depth} | {steps} | {secs[depth, steps]:.3f} | {max(first - once, 0.0):.1f} | {xla / 1e6:.1f} "
                f"| {_api.solver_bytes(c) / 1e6:.1f} |"
            )
            print(lines[-1], flush=True)
    big_t, big_l = RESIDUAL_STEPS[-1], RESIDUAL_DEPTHS[-1]
    p_l = np.polyfit(np.log(RESIDUAL_DEPTHS), np.log([secs[d, big_t] for d in RESIDUAL_DEPTHS]), 1)[0]
    p_t = np.polyfit(np.log(RESIDUAL_STEPS), np.log([secs[big_l, t] for t in RESIDUAL_STEPS]), 1)[0]
    lines += [
        "",
        f"Growth exponents: time ~ L^{p_l:.2f} at T = {big_t}, time ~ T^{p_t:.2f} at L = {big_l} "
        "(algorithm: L^2 T^3). The compiled program unrolls the layers, so compile time grows with L.",
    ]
    return lines


def _splice_residual(lines: list[str], load: tuple[float, float]) -> None:
    """Replace (or append) section 5 of theory_speed.md without rerunning sections 1-4."""
    path = HERE / "theory_speed.md"
    text = path.read_text() if path.exists() else "# Theory engine speed\n"
    head = text.split(RESIDUAL_HEADING)[0].rstrip("\n")
    note = (
        f"Section 5 was run on its own (`--residual`), pinned to {len(os.sched_getaffinity(0))} core(s); "
        f"1-min load average at start / end: {load[0]:.1f} / "
        f"{load[1]:.1f} on {os.cpu_count()} logical CPUs (a load above the CPU count inflates every time)."
    )
    path.write_text(head + "\n\n" + "\n".join(lines + ["", note]) + "\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=1, help="pin to this many cores (0: do not pin)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sim-dim", type=int, default=2000)
    ap.add_argument("--residual", action="store_true", help="only section 5 (residual nets), spliced into the .md")
    args = ap.parse_args(argv)
    if args.cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
        # one XLA thread as well, so the numbers mean "one core"
        os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"

    if args.residual:
        load_start = os.getloadavg()[0]
        lines = residual_section(args.repeat)
        _splice_residual(lines, (load_start, os.getloadavg()[0]))
        print("\n".join(lines))
        return

    from deeplinear.config import parse_config  # after the affinity/XLA settings
    from deeplinear.simulation import simulate
    from deeplinear.theory import solve, solve_batch

    base = dict(alpha=2.0, nu=1.0, gamma0=1.0, eta=0.05, noise=0.0)
    load_start = os.getloadavg()[0]

    def cfg(**kw):
        return parse_config({**base, **kw})

    lines = [
        "# Theory engine speed",
        "",
        f"Generated by `python benchmarks/theory_speed.py{'' if args.cores == 1 else f' --cores {args.cores}'}`. "
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
        f"process pinned to {len(os.sched_getaffinity(0))} core(s)"
        + (", single-threaded XLA" if args.cores else "")
        + f". Wall time after compilation, best of {args.repeat}. Config: alpha = 2, nu = 1, gamma0 = 1, "
        "eta = 0.05 unless noted.",
        "",
        "## 1. Depth at T = 200",
        "",
        "| depth | solve [s] |",
        "|---|---|",
    ]
    for depth in (1, 2, 4):
        c = cfg(depth=depth, steps=200)
        lines.append(f"| {depth} | {best_time(lambda: solve(c), args.repeat):.3f} |")
        print(lines[-1], flush=True)

    lines += ["", "## 2. Horizon at depth 2", "", "| T | solve [s] |", "|---|---|"]
    ts, secs = [100, 200, 400, 800], []
    for steps in ts:
        c = cfg(depth=2, steps=steps)
        secs.append(best_time(lambda: solve(c), 1 if steps >= 800 else args.repeat))
        lines.append(f"| {steps} | {secs[-1]:.3f} |")
        print(lines[-1], flush=True)
    p_all = np.polyfit(np.log(ts), np.log(secs), 1)[0]
    p_top = np.polyfit(np.log(ts[-2:]), np.log(secs[-2:]), 1)[0]
    lines += ["", f"Growth exponent time ~ T^p: p = {p_all:.2f} (fit over all T), {p_top:.2f} (T = 400 -> 800)."]

    lines += ["", f"## 3. Theory vs simulation (depth 2, T = 200, D = {args.sim_dim})", ""]
    c = cfg(depth=2, steps=200)
    t_th = best_time(lambda: solve(c), args.repeat)
    t_sim = best_time(lambda: simulate(c, dim=args.sim_dim, seeds=1), 1)
    lines += [
        "| engine | wall [s] |",
        "|---|---|",
        f"| theory, one solve | {t_th:.3f} |",
        f"| simulation, one seed at D = {args.sim_dim} | {t_sim:.3f} |",
        "",
        f"Ratio simulation / theory = {t_sim / t_th:.1f} per seed (validation uses 32 seeds per D).",
    ]
    print(lines[-1], flush=True)

    lines += ["", "## 4. Batch of 32 learning rates (depth 2, T = 200)", ""]
    etas = np.linspace(0.01, 0.08, 32)
    configs = [cfg(depth=2, steps=200, eta=float(e)) for e in etas]
    t_batch = best_time(lambda: solve_batch(configs), args.repeat)
    t_sep = best_time(lambda: [solve(x) for x in configs], 1)
    lines += [
        "| method | wall [s] |",
        "|---|---|",
        f"| solve_batch (one vmapped call) | {t_batch:.3f} |",
        f"| 32 separate solve calls | {t_sep:.3f} |",
        "",
        f"Speed-up of the batch: {t_sep / t_batch:.2f}x.",
    ]
    print(lines[-1], flush=True)
    lines += [""] + residual_section(args.repeat)
    lines += [
        "",
        f"Machine load (1-min load average) at start / end: {load_start:.1f} / {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} logical CPUs. A load above the CPU count means other jobs shared the cores and "
        "every time above is inflated by roughly that factor; ratios within one section are less affected.",
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "theory_speed.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
