"""Run the sweeps of a learning-rate-transfer experiment and write its data, figures and summary.

Shared by the width- and depth-transfer experiments: each gives named sweeps ``name -> (engine, spec)``
(deeplinear.sweep) and the axis along which the optimum should (or should not) stay put.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from ..config import parse_config
from ..sweep import run_sweep
from .transfer import transfer_summary
from .transfer_plot import plot_transfer

__all__ = ["run_transfer_sweeps", "theory_supports"]


def theory_supports(spec: dict[str, Any]) -> str | None:
    """None if the theory covers the sweep's base config, else the reason it does not."""
    from ..theory import check_supported

    try:
        check_supported(parse_config(spec["base"]))
    except NotImplementedError as err:
        return str(err)
    return None


def run_transfer_sweeps(
    named: dict[str, tuple[str, dict[str, Any]]],
    out: str | Path,
    width_dim: str,
    quick: bool = False,
    scheduler: Any = None,
    progress: Callable[[str], Callable[[int, int], None]] | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) every sweep, write OUT/<name>/sweep.nc, OUT/<name>.png and OUT/summary.json.

    A theory sweep the engine does not cover is skipped with its reason in the summary (the simulation
    still runs). ``progress(name)`` may return a ``(done, total)`` callback for that sweep. ``workers``:
    local simulation processes (default: 1 when quick, where spawning and compiling in each process
    costs more than it saves; else one per CPU).
    """
    if workers is None and quick:
        workers = 1
    out = Path(out)
    summary: dict[str, Any] = {"quick": quick, "sweeps": {}, "skipped": {}, "seconds": {}}
    for name, (engine, spec) in named.items():
        reason = theory_supports(spec) if engine == "theory" else None
        if reason is not None:
            summary["skipped"][name] = f"theory not available, simulation only: {reason}"
            continue
        cb = progress(name) if progress is not None else None
        t0 = time.perf_counter()
        ds = run_sweep(spec, engine=engine, scheduler=scheduler, out=out / name, progress=cb, workers=workers)
        plot_transfer(ds, out / f"{name}.png", width_dim=width_dim,
                      title=f"{name}: loss after T={spec['base']['steps']} steps")
        summary["sweeps"][name] = {"engine": engine, "file": str(out / name / "sweep.nc"),
                                   "figure": str(out / f"{name}.png"), **transfer_summary(ds, width_dim=width_dim)}
        summary["seconds"][name] = round(time.perf_counter() - t0, 1)  # resumed points cost nothing
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
