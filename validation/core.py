"""Theory (DMFT) vs finite-size simulation on the core grid; writes validation/core.md.

    python validation/core.py            # full: 16 configs x D in (500, 1000, 2000), 32 seeds, T = 100
    python validation/core.py --quick    # 4 configs x D in (250, 500), 16 seeds, T = 40 (smoke test; writes _cache/core_quick.md)
    python validation/core.py --report   # only rebuild the report from the cache

Resumable: every (config, D, seeds) simulation is cached in validation/_cache/ (git-ignored) as
per-seed curves; a rerun only simulates what is missing. The report holds measured numbers only.

Metrics, over the steps where the theory loss exceeds 1e-3 (the "window"), for train and test:
  rms and max of |sim mean / theory - 1|, and max |z|, z = (sim mean - theory) / (standard error);
  error vs D: the exponent p of a least-squares fit rms ~ D^p over the simulated D.
Pass at the largest D: rms < 2 %, max < 5 %, |z| < 4 at every step of the window.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

from deeplinear.config import parse_config
from deeplinear.simulation import initial_sharpness, simulate
import deeplinear.theory as theory_pkg
from deeplinear.theory import solve

HERE = Path(__file__).resolve().parent
CACHE = HERE / "_cache"
WINDOW = 1e-3
PASS = {"rms": 0.02, "max": 0.05, "z": 4.0}

# (depth, alpha, nu, gamma0, eta, noise); eta about half the lazy stability edge or less (docs/model.md)
GRID = [
    (1, 0.5, 0.5, 0.05, 0.05, 0.0),
    (1, 2.0, 1.0, 1.0, 0.1, 0.0),
    (1, 16.0, 2.0, 1.0, 0.2, 0.0),
    (1, 2.0, 2.0, 0.05, 0.1, 0.5),
    (1, 16.0, 0.5, 0.05, 0.1, 0.0),
    (1, 0.5, 2.0, 1.0, 0.05, 0.0),
    (2, 2.0, 1.0, 1.0, 0.05, 0.0),
    (2, 0.5, 1.0, 0.05, 0.03, 0.0),
    (2, 16.0, 2.0, 0.05, 0.1, 0.0),
    (2, 16.0, 0.5, 1.0, 0.05, 0.0),
    (2, 2.0, 0.5, 1.0, 0.05, 0.5),
    (2, 0.5, 2.0, 1.0, 0.03, 0.0),
    (3, 2.0, 1.0, 1.0, 0.03, 0.0),
    (3, 0.5, 2.0, 0.05, 0.03, 0.0),
    (3, 16.0, 1.0, 1.0, 0.05, 0.0),
    (3, 2.0, 2.0, 0.05, 0.05, 0.2),
]
QUICK_GRID = [GRID[1], GRID[3], GRID[6], GRID[12]]


def _split(cfg: tuple) -> tuple[tuple, dict]:
    """(depth, alpha, nu, gamma0, eta, noise[, batch]) and the optional trailing Extra."""
    return (cfg[:-1], cfg[-1]) if isinstance(cfg[-1], Extra) else (cfg, Extra())


class Extra(dict):
    """Further config fields of a grid entry (e.g. residual, spectrum), with the ``tag`` that names
    them in the config name and cache files; ``per_dim``: the theory depends on D (power law, whose
    spectrum D truncates), so it is solved at every simulated D."""

    def __init__(self, tag: str = "", per_dim: bool = False, bins: int | None = None, **fields):
        super().__init__(fields)
        self.tag, self.per_dim, self.bins = tag, per_dim, bins  # bins: input-space types of the theory


def name(cfg: tuple) -> str:
    """[tag_]L{depth}_a{alpha}_..., or online_L{depth}_b{batch}_... when a batch ratio follows the noise."""
    cfg, extra = _split(cfg)
    depth, alpha, nu, gamma0, eta, noise = cfg[:6]
    data = f"online_L{depth}_b{cfg[6]:g}" if len(cfg) == 7 else f"L{depth}_a{alpha:g}"
    prefix = f"{extra.tag}_" if extra.tag else ""
    return prefix + data + f"_n{nu:g}_g{gamma0:g}_e{eta:g}" + (f"_s{noise:g}" if noise else "")


def config_of(cfg: tuple, steps: int, dim: int | None = None):
    cfg, extra = _split(cfg)
    depth, alpha, nu, gamma0, eta, noise = cfg[:6]
    online = dict(alpha=math.inf, batch=cfg[6]) if len(cfg) == 7 else dict(alpha=alpha)
    fields = dict(depth=depth, nu=nu, gamma0=gamma0, eta=eta, noise=noise, steps=steps, **online, **extra)
    return parse_config(fields | ({"dim": dim} if extra.per_dim else {}))


def cached_simulation(cfg: tuple, dim: int, seeds: int, steps: int) -> dict:
    """Per-seed curves of one (config, D), from the cache or simulated now (then cached)."""
    path = CACHE / f"{name(cfg)}_T{steps}_D{dim}_S{seeds}.npz"
    if path.exists():
        z = np.load(path)
        return {k: z[k] for k in z.files}
    t0 = time.time()
    ds = simulate(config_of(cfg, steps, dim), dim=dim, seeds=seeds)
    out = {
        "train": ds["train_loss"].values,
        "test": ds["test_loss"].values,
        "diverged_step": ds["diverged_step"].values,
        "seconds": np.array(time.time() - t0),
    }
    CACHE.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)  # atomic: an interrupted run leaves no half-written cache entry
    print(f"  simulated {name(cfg)} D={dim}: {out['seconds']:.0f} s", flush=True)
    return out


def _theory_source_hash(residual: bool) -> str:
    """Digest of the solver's source (docs/theory.md: _api, _core, spectra, and _residual for residual
    nets): a cached theory curve is reused only by the same code."""
    names = ["_api.py", "_core.py", "spectra.py"] + (["_residual.py"] if residual else [])
    folder = Path(theory_pkg.__file__).parent
    return hashlib.sha1(b"".join((folder / f).read_bytes() for f in names)).hexdigest()[:10]


def cached_theory(cfg: tuple, steps: int, dim: int | None = None) -> dict:
    """Theory curves of a grid entry ({train, test, diverged_step}), cached per (config, T, D if the theory
    depends on it, bins, theory source): slow solves (long T, many input-space types) are done once,
    and any change to the theory code recomputes them."""
    extra = _split(cfg)[1]
    dim_tag = f"_D{dim}" if extra.per_dim else ""
    digest = _theory_source_hash(bool(extra.get("residual")))
    path = CACHE / "theory" / f"{name(cfg)}_T{steps}{dim_tag}_B{extra.bins}_{digest}.npz"
    if path.exists():
        z = np.load(path)
        return {k: z[k] for k in z.files}
    t0 = time.time()
    kwargs = {} if extra.bins is None else {"bins": extra.bins}
    ds = solve(config_of(cfg, steps, dim), **kwargs)
    out = {"train": ds["train_loss_mean"].values, "test": ds["test_loss_mean"].values,
           "diverged_step": np.array(int(ds["diverged_step"])), "seconds": np.array(time.time() - t0)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)
    return out


def metrics(theory: np.ndarray, curves: np.ndarray, diverged: np.ndarray) -> dict:
    """rms / max relative error, max |z| and the signed mean relative error ``bias`` over the window
    (theory loss > WINDOW)."""
    kept = curves[np.asarray(diverged) < 0]
    n = kept.shape[0]
    if n < 2:  # everything (but one seed) diverged: nothing to compare, and the row says so
        return {"steps": 0, "rms": float("nan"), "max": float("nan"), "z": float("nan"), "bias": float("nan"),
                "bias_sem": float("nan"), "seeds": n}
    mean = kept.mean(0)
    sem = kept.std(0, ddof=1) / math.sqrt(n)
    win = np.isfinite(theory) & (theory > WINDOW)
    rel = mean[win] / theory[win] - 1
    z = (mean[win] - theory[win]) / sem[win]
    return {
        "steps": int(win.sum()),
        "rms": float(np.sqrt(np.mean(rel**2))),
        "max": float(np.max(np.abs(rel))),
        "z": float(np.max(np.abs(z))),
        "bias": float(np.mean(rel)),
        # its standard error: the spread over seeds of each seed's window-mean relative error
        "bias_sem": float(np.std(np.mean(kept[:, win] / theory[win] - 1, axis=1), ddof=1) / math.sqrt(n)),
        "seeds": n,
    }


def fit_exponent(dims: list[int], values: list[float]) -> float:
    if len(dims) < 2:
        return float("nan")
    return float(np.polyfit(np.log(dims), np.log(values), 1)[0])


def evaluate(grid, dims, seeds, steps) -> list[dict]:
    """Simulate what is missing (D ascending, so partial runs give every config at small D first)."""
    rows = []
    for dim in dims:
        for c in grid:
            th = cached_theory(c, steps, dim)
            if int(th["diverged_step"]) >= 0:
                print(f"  theory diverges for {name(c)}: skipped", flush=True)
                continue
            sim = cached_simulation(c, dim, seeds, steps)
            row = {"config": name(c), "D": dim, "sim_seconds": float(sim["seconds"])}
            for k in ("train", "test"):
                row[k] = metrics(th[k], sim[k], sim["diverged_step"])
            row["diverged_seeds"] = int((sim["diverged_step"] >= 0).sum())
            rows.append(row)
    return rows


def grid_arguments(description: str, dims: list[int], seeds: int) -> argparse.ArgumentParser:
    """The command line every grid script shares: --dims, --seeds, --worker, --report."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dims", type=int, nargs="*", default=dims)
    ap.add_argument("--worker", action="store_true", help="only fill the simulation cache, walking the grid in reverse")
    ap.add_argument("--seeds", type=int, default=seeds)
    ap.add_argument("--report", action="store_true", help="rebuild the report from the caches only")
    return ap


def run_grid(grid, args, steps: int, out: Path, **report_kw) -> tuple[list[dict], str] | None:
    """Fill the cache (``args.worker``: simulations only, grid reversed, returns None), or evaluate what is
    missing D by D, rewriting the report after each D (``args.report``: the cache only); returns
    (rows, report text)."""
    dims = tuple(sorted(args.dims))
    if args.worker:
        for dim in dims:
            for c in reversed(grid):
                cached_simulation(c, dim, args.seeds, steps)
        return None
    if args.report:
        rows = cached_rows(grid, dims, args.seeds, steps)
    else:
        rows = []
        for dim in dims:  # the report after each D, so a long run shows progress
            rows += evaluate(grid, [dim], args.seeds, steps)
            report(rows, dims, args.seeds, steps, out, False, grid=grid, **report_kw)
    return rows, report(rows, dims, args.seeds, steps, out, False, grid=grid, **report_kw)


def cached_rows(grid, dims, seeds, steps) -> list[dict]:
    """Only what is in the cache (for --report while a run is going on)."""
    rows = []
    for dim in dims:
        present = [c for c in grid if (CACHE / f"{name(c)}_T{steps}_D{dim}_S{seeds}.npz").exists()]
        rows += evaluate(present, [dim], seeds, steps) if present else []
    return rows


def report(rows: list[dict], dims, seeds, steps, out: Path, quick: bool, grid=None, title=None, what=None,
           criteria: dict | None = None) -> str:
    """The markdown report (and its .json rows); ``criteria``: the pass thresholds, default PASS (a
    threshold left out, or inf, is not checked)."""
    big = max(dims)
    crit = {m: (criteria or PASS).get(m, math.inf) for m in ("rms", "max", "z")}
    checked = [m for m in ("rms", "max", "z") if math.isfinite(crit[m])]
    rule = ", ".join(f"|z| < {crit[m]:g}" if m == "z" else f"{m} < {crit[m]:.0%}" for m in checked)
    grid = grid if grid is not None else (QUICK_GRID if quick else GRID)
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0].endswith(".py") else "core.py"
    lines = [
        (title or "# Core validation: DMFT vs simulation") + (" (quick mode)" if quick else ""),
        "",
        f"Generated by `python validation/{script}{' --quick' if quick else ''}`. "
        f"{what or 'Plain nets, isotropic data, full-batch GD'}, "
        f"T = {steps}, {seeds} seeds per D (new teacher, data and weights per seed), "
        f"D in {list(dims)}. Only measured numbers.",
        "",
        f"Window: steps where the theory loss > {WINDOW:g}. rel = sim mean / theory - 1; "
        "z = (sim mean - theory) / standard error of the seed mean. "
        f"Pass at D = {big}: {rule} "
        "(train and test). Config names: L{depth}_a{alpha}_n{nu}_g{gamma0}_e{eta}[_s{noise}] "
        "(online SGD: online_L{depth}_b{batch}_...).",
        "",
        "| config | D | window | rms train | rms test | max train | max test | max z train | max z test | diverged seeds | sim s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_cfg: dict[str, list[dict]] = {}
    for r in rows:
        by_cfg.setdefault(r["config"], []).append(r)
    summary = []
    for cfg_name, rs in by_cfg.items():
        rs.sort(key=lambda r: r["D"])
        for r in rs:
            tr, te = r["train"], r["test"]
            lines.append(
                f"| {cfg_name} | {r['D']} | {te['steps']} | {tr['rms']:.4f} | {te['rms']:.4f} | {tr['max']:.4f} | "
                f"{te['max']:.4f} | {tr['z']:.1f} | {te['z']:.1f} | {r['diverged_seeds']} | {r['sim_seconds']:.0f} |"
            )
        ds = [r["D"] for r in rs]
        if len(ds) > 1:
            p_tr = fit_exponent(ds, [r["train"]["rms"] for r in rs])
            p_te = fit_exponent(ds, [r["test"]["rms"] for r in rs])
            lines.append(f"| {cfg_name} | fit rms ~ D^p | | p = {p_tr:.2f} | p = {p_te:.2f} | | | | | | |")
        last = rs[-1]
        ok = all(last[k][m] < crit[m] for k in ("train", "test") for m in checked)
        summary.append((cfg_name, ok, last))
    lines += [
        "",
        f"## Pass/fail (criteria for D = {big}; a row at a smaller D is an interim check of the same criteria)",
        "",
    ]
    for cfg_name, ok, r in summary:
        worst = max(
            (r[k][m] / crit[m], f"{k} {m} = {r[k][m]:.3g}") for k in ("train", "test") for m in checked
        )
        tag = "" if r["D"] == big else " (interim)"
        lines.append(f"- {cfg_name}, D = {r['D']}{tag}: {'PASS' if ok else 'FAIL'} (tightest: {worst[1]})")
    final = [(c, ok) for c, ok, r in summary if r["D"] == big]
    missing = sorted(set(name(c) for c in grid) - {c for c, _ in final})
    lines += ["", f"{sum(ok for _, ok in final)} of {len(final)} configurations simulated at D = {big} pass."]
    if missing:
        lines.append(f"Not yet simulated at D = {big}: {', '.join(missing)}.")
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    (out.with_suffix(".json")).write_text(json.dumps(rows, indent=1))
    return text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke test: 4 configs, D in (250, 500), 16 seeds, T = 40")
    ap.add_argument("--report", action="store_true", help="rebuild the report from cached runs only")
    ap.add_argument("--worker", action="store_true",
                    help="a second process on another core: only fills the cache, walking the grid in reverse "
                    "(the cache is per (config, D), so two processes share the work)")
    args = ap.parse_args(argv)
    if args.quick:
        grid, dims, seeds, steps, out = QUICK_GRID, (250, 500), 16, 40, CACHE / "core_quick.md"
    else:
        grid, dims, seeds, steps, out = GRID, (500, 1000, 2000), 32, 100, HERE / "core.md"
    if args.worker:
        for dim in dims:
            for c in reversed(grid):
                cached_simulation(c, dim, seeds, steps)
        return
    if args.report:
        rows = cached_rows(grid, dims, seeds, steps)
    else:
        rows = []
        for dim in dims:  # rewrite the report after each D so a long run shows progress
            rows += evaluate(grid, [dim], seeds, steps)
            report(rows, dims, seeds, steps, out, args.quick)
    text = report(rows, dims, seeds, steps, out, args.quick) + more_seeds_section(grid, [max(dims)], seeds, steps)
    text += bias_section(rows) + sharpness_section(grid, steps, out.with_name(out.stem + "_sharpness.json"))
    out.write_text(text)
    print(text)


def by_config(rows: list[dict]) -> tuple[dict[str, dict[int, dict]], list[int]]:
    """Rows indexed {config: {D: row}}, and the sorted D present."""
    by_cfg: dict[str, dict[int, dict]] = {}
    for r in rows:
        by_cfg.setdefault(r["config"], {})[r["D"]] = r
    return by_cfg, sorted({r["D"] for r in rows})


def bias_section(rows: list[dict]) -> str:
    """Finite-size effect or error in the equations? Per config, the signed mean relative error (bias)
    of the seed mean over the window at each D, and the exponent q of |bias| ~ D^q. An O(1/D) finite-size
    effect gives q ~ -1 and a bias that keeps its sign; an error in the equations a bias that stays put
    (q ~ 0) while its z grows like sqrt(D). Seed noise alone gives a bias of either sign, of the size of
    sem / mean ~ 1/sqrt(seeds) of the late steps, that does not follow D."""
    by_cfg, dims = by_config(rows)
    if len(dims) < 2:
        return ""
    lines = [
        "",
        "## Finite size or error in the equations: the signed bias against D",
        "",
        "bias = mean over the window of (sim mean / theory - 1), train / test, with in brackets bias / its "
        "standard error over seeds; q = exponent of a least-squares "
        "fit |bias| ~ D^q over the D simulated (an O(1/D) finite-size effect: q ~ -1; an error in the equations: "
        "q ~ 0 with z growing like sqrt(D)); 'max z at each D' for the test loss.",
        "",
        "| config | " + " | ".join(f"bias D = {d}" for d in dims) + " | q train | q test | max z test at each D |",
        "|---|" + "---|" * len(dims) + "---|---|---|",
    ]
    shrinks = 0
    for cfg_name, per in by_cfg.items():
        ds = [d for d in dims if d in per]
        cells = [" / ".join(f"{per[d][k]['bias']:+.4f} ({per[d][k]['bias'] / per[d][k]['bias_sem']:+.1f})"
                            for k in ("train", "test")) if d in per else "-" for d in dims]
        q = [fit_exponent(ds, [abs(per[d][k]["bias"]) for d in ds]) for k in ("train", "test")]
        zs = ", ".join(f"{per[d]['test']['z']:.1f}" for d in ds)
        lines.append(f"| {cfg_name} | " + " | ".join(cells) + f" | {q[0]:.2f} | {q[1]:.2f} | {zs} |")
        big, small = per[ds[-1]], per[ds[0]]
        shrinks += len(ds) > 1 and all(abs(big[k]["bias"]) < abs(small[k]["bias"]) for k in ("train", "test"))
    big = dims[-1]
    last = [(per[big][k]["bias"], per[big][k]["bias"] / per[big][k]["bias_sem"]) for per in by_cfg.values()
            if big in per for k in ("train", "test")]
    first = [per[dims[0]][k]["bias"] for per in by_cfg.values() if dims[0] in per for k in ("train", "test")]
    lines += ["", f"|bias| at the largest D is below its value at the smallest D (train and test) in {shrinks} of "
              f"{len(by_cfg)} configurations."]
    if last:
        zmax = max(abs(z) for _, z in last)
        lines += [
            f"At D = {big} the largest |bias| is {max(abs(b) for b, _ in last):.4f} and the largest |bias| / standard "
            f"error {zmax:.1f} (at D = {dims[0]}: largest |bias| {max(abs(b) for b in first):.4f}). "
            + ("No bias is significant at D = {} (all within 3 standard errors): an error in the equations would "
               "have to be smaller than the |bias| above, while the deviations seen at smaller D have shrunk with D, "
               "as a finite-size effect does.".format(big) if zmax < 3 else
               "Some bias is significant at D = {} (beyond 3 standard errors): see those rows.".format(big))
        ]
    return "\n".join(lines) + "\n"


SHARPNESS_DIM = 1000


def sharpness_section(grid, steps: int, path: Path) -> str:
    """Is every eta below the stability edge of the actual finite-width net? eta lambda_max of the initial
    tangent kernel on the training data (``simulation.initial_sharpness``, D = SHARPNESS_DIM, 2 seeds;
    lazy GD is unstable along the top mode when >= 2), measured per full-batch config, cached in ``path``."""
    cache = json.loads(path.read_text()) if path.exists() else {}
    lines = []
    for c in grid:
        cfg = config_of(c, steps, SHARPNESS_DIM)
        if cfg.online:
            continue  # the full-batch edge; an online step sees a fresh batch
        if name(c) not in cache:
            cache[name(c)] = [float(v) for v in initial_sharpness(cfg, SHARPNESS_DIM, seeds=2)]
            path.write_text(json.dumps(cache, indent=1, sort_keys=True))
        lines.append(f"| {name(c)} | {max(cache[name(c)]):.2f} |")
    if not lines:
        return ""
    worst = max(max(cache[name(c)]) for c in grid if name(c) in cache)
    head = ["", f"## Measured stability edge (`simulation.initial_sharpness`, D = {SHARPNESS_DIM}, larger of 2 seeds)", "",
            "The eta of each configuration against the edge of the actual finite-width net: eta lambda_max of the "
            "initial tangent kernel on the training data (>= 2: lazy GD is unstable along the top mode, and a "
            "finite-size catapult parts simulation from theory; docs/theory.md Sec. 11.3). "
            f"Largest value here: {worst:.2f}.", "", "| config | eta lambda_max |", "|---|---|"]
    return "\n".join(head + lines) + "\n"


def _extra_seed_files(cfg: tuple, steps: int) -> list[tuple[int, int, int, Path]]:
    """The extra-seed files of (config) (validation/more_seeds.py), as (D, first seed, count, path), sorted:
    ``{name}_T{steps}_D{D}_S{first}+{count}.npz`` holds seeds first..first+count-1."""
    pattern = re.compile(rf"{re.escape(name(cfg))}_T{steps}_D(\d+)_S(\d+)\+(\d+)\.npz")
    found = (pattern.fullmatch(p.name) for p in CACHE.glob(f"{name(cfg)}_T{steps}_D*_S*+*.npz"))
    return sorted((int(m[1]), int(m[2]), int(m[3]), CACHE / m[0]) for m in found if m)


def extra_seed_batches(cfg: tuple, dim: int, steps: int) -> list[tuple[int, int, Path]]:
    """The extra-seed batches of one (config, D) as (first seed, count, path), in seed order."""
    return [(first, count, path) for d, first, count, path in _extra_seed_files(cfg, steps) if d == dim]


def pooled_simulation(cfg: tuple, dim: int, seeds: int, steps: int) -> dict:
    """The grid's ``seeds`` seeds and every extra-seed batch of (config, D), concatenated over seeds."""
    parts = [cached_simulation(cfg, dim, seeds, steps)] + [dict(np.load(p)) for *_, p in extra_seed_batches(cfg, dim, steps)]
    return {k: np.concatenate([q[k] for q in parts]) for k in ("train", "test", "diverged_step")}


def more_seeds_section(grid, dims, seeds: int, steps: int, criteria: dict | None = None) -> str:
    """Rows re-measured with extra seeds (validation/more_seeds.py), all seeds pooled, at each D of ``dims``
    (None: every D that has extra seeds); pass = ``criteria`` (default PASS)."""
    criteria = PASS if criteria is None else criteria
    lines = []
    for c in grid:
        have = sorted({d for d, *_ in _extra_seed_files(c, steps)})
        for dim in have if dims is None else [d for d in dims if d in have]:
            sim, th = pooled_simulation(c, dim, seeds, steps), cached_theory(c, steps, dim)
            cells, ok = [], True
            for k in ("train", "test"):
                m = metrics(th[k], sim[k], sim["diverged_step"])
                cells += [f"{m['rms']:.4f}", f"{m['max']:.4f}", f"{m['z']:.1f}", f"{m['bias']:+.4f} ({m['bias'] / m['bias_sem']:+.1f})"]
                ok &= all(m[q] < v for q, v in criteria.items())
            cells.append("PASS" if ok else "FAIL")
            lines.append(f"| {name(c)} | {dim} | {sim['test'].shape[0]} | " + " | ".join(cells) + " |")
    if not lines:
        return ""
    head = [
        "",
        "## Rows re-measured with more seeds (`python validation/more_seeds.py NAME D --extra N`), all seeds pooled",
        "",
        "bias: the signed mean relative error over the window, in brackets bias / its standard error over seeds.",
        "",
        "| config | D | seeds | rms train | max train | max z train | bias train | rms test | max test | max z test | bias test | criteria |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
