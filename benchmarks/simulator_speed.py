"""Our rank-one simulator vs a plain autograd training loop, timed side by side in one run.

Both use the same JAX, float64, jit, the same data and weights, 4 seeds batched with vmap and the
same steps; compilation is excluded (one warm-up call each). The reference does what a generic
framework does: a forward and backward pass of all P samples through every layer per step.
Writes benchmarks/simulator_speed.md.
"""

from __future__ import annotations

import argparse
import platform
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp

from deeplinear import parse_config, simulate
from deeplinear.simulation import arch_of
from deeplinear.simulation.engine import initial_state
from deeplinear.simulation.reference import autograd_step
from _timing import best_time  # benchmarks/_timing.py


def autograd_run(config, dim: int, seeds: int):
    """A plain loop: jax.grad of Lhat/2 over the full batch, scanned over steps, vmapped over seeds."""
    states = [initial_state(config, dim, seed=s) for s in range(seeds)]
    params = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *[s[0] for s in states])
    x = jnp.stack([s[2] for s in states])
    y = jnp.stack([s[3] for s in states])
    arch = arch_of(config)

    @partial(jax.jit, static_argnames=("steps",))
    def train(params, x, y, steps):
        def one(p, xs, ys):
            def body(p, _):
                return autograd_step(p, xs, ys, arch, config.eta), None

            return jax.lax.scan(body, p, None, length=steps)[0]

        return jax.vmap(one)(params, x, y)

    return lambda: jax.block_until_ready(train(params, x, y, config.steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--big-dim", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".md"))
    args = parser.parse_args()

    cfg = parse_config(depth=2, nu=1.0, alpha=1.0, eta=0.05, steps=args.steps)
    ours = best_time(lambda: simulate(cfg, dim=args.dim, seeds=args.seeds), args.repeats)
    plain = best_time(autograd_run(cfg, args.dim, args.seeds), args.repeats)
    ratio = plain / ours

    big = cfg.replace(steps=50)
    t_big = best_time(lambda: simulate(big, dim=args.big_dim, seeds=1), 1)
    steps_per_s = (big.steps + 1) / t_big

    lines = [
        "# Simulator speed",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {jax.device_count()} JAX device(s) "
        f"({jax.devices()[0].platform}), float64. Best of {args.repeats} after a warm-up call.",
        "",
        f"Depth 2, D = N = P = {args.dim}, {args.steps} steps, {args.seeds} seeds, in one run:",
        "",
        "| engine | time (s) |",
        "|---|---|",
        f"| deeplinear rank-one simulator (`simulate`, includes data generation) | {ours:.3f} |",
        f"| plain autograd loop (full forward/backward of all P samples) | {plain:.3f} |",
        f"| **speed-up** | **{ratio:.0f}x** |",
        "",
        f"Large size: D = N = P = {args.big_dim}, depth 2, 1 seed: {steps_per_s:.0f} steps/s "
        f"({t_big:.2f} s for {big.steps + 1} steps including data generation).",
        "",
        "Reproduce: `.venv/bin/python benchmarks/simulator_speed.py`",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
