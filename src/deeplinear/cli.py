"""Command line: a thin Typer layer over config -> engine -> Result -> (plot | file).

    deeplinear simulate CONFIG [--dim D] [--seeds S] [--out DIR] [--json]
    deeplinear theory   CONFIG [--out DIR] [--json]
    deeplinear compare  CONFIG --dim D --seeds S [--out DIR]
    deeplinear demo     [--out DIR]

Bad input: a message on stderr naming the field and the allowed range, exit code 2.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .config import Config, ConfigError, load_config, parse_config
from .results import json_safe, save, to_json

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Theory (DMFT) and simulation of deep linear networks trained by gradient descent.",
)
err_console = Console(stderr=True)

DEMO_CONFIG = {
    "depth": 2,
    "nu": 1.0,
    "alpha": 2.0,
    "parameterization": "mup",
    "gamma0": 1.0,
    "eta": 0.1,
    "steps": 200,
    "dim": 500,
    "seeds": 8,
}


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _out_dir(out: Path) -> Path:
    """Create the output folder before any work, so a bad --out fails fast and clearly."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        _fail(f"--out: cannot write to {out} ({err.strerror or err}); allowed: a writable folder")
    return out


def _load(path: Path, **overrides) -> Config:
    try:
        return load_config(path, **overrides)
    except ConfigError as err:
        _fail(str(err))


@contextmanager
def progress_bar(description: str, show: bool = True) -> Iterator:
    """A Rich progress callback ``(done, total)`` on stderr, drawn once a run lasts over a second."""
    start = time.perf_counter()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if not show:
            return
        if task is None:
            if time.perf_counter() - start < 1.0 and done < total:
                return
            bar.start()
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


def _emit(ds, out: Optional[Path], as_json: bool, title_label: str) -> None:
    from .plotting import plot_losses

    if as_json:
        sys.stdout.write(json.dumps(to_json(ds)) + "\n")
        sys.stdout.flush()
    if out is not None:
        paths = save(ds, out)
        plot_losses([ds], [title_label], out / "loss.png")
        err_console.print(f"wrote {paths['nc']}, {paths['json']}, {out / 'loss.png'}", highlight=False)


@app.command()
def simulate(
    config: Path = typer.Argument(..., help="YAML or JSON configuration (see docs/model.md)"),
    dim: Optional[int] = typer.Option(None, "--dim", help="input dimension D (overrides config.dim)"),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="number of seeds (overrides config.seeds)"),
    out: Path = typer.Option(Path("results/simulate"), "--out", help="output folder"),
    as_json: bool = typer.Option(False, "--json", help="print the JSON result to stdout"),
) -> None:
    """Train finite networks (many seeds) and write result.nc, result.json and loss.png."""
    from .simulation import simulate as run

    cfg = _load(config, dim=dim, seeds=seeds)
    if cfg.dim is None:
        _fail("dim: a simulation needs D; allowed: an integer >= 2 (set dim in the config or --dim)")
    _out_dir(out)
    try:
        with progress_bar(f"simulating D={cfg.dim}, {cfg.seeds} seeds") as update:
            ds = run(cfg, progress=update)
    except ConfigError as err:
        _fail(str(err))
    _emit(ds, out, as_json, "simulation")


@app.command()
def theory(
    config: Path = typer.Argument(..., help="YAML or JSON configuration"),
    out: Path = typer.Option(Path("results/theory"), "--out", help="output folder"),
    as_json: bool = typer.Option(False, "--json", help="print the JSON result to stdout"),
) -> None:
    """Solve the DMFT (proportional limit) and write result.nc, result.json and loss.png."""
    from .theory import solve

    cfg = _load(config)
    _out_dir(out)
    try:
        ds = solve(cfg)
    except (ConfigError, NotImplementedError) as err:
        _fail(str(err))
    _emit(ds, out, as_json, "theory (DMFT)")


def _agreement_table(metrics: dict) -> Table:
    table = Table(title="theory vs simulation (steps with theory loss > 1e-3)")
    for col in ("loss", "steps", "rms rel err", "max rel err", "max |z|"):
        table.add_column(col)
    for name, m in metrics.items():
        if not m["steps"]:
            table.add_row(name, "0", "-", "-", "- (no comparable steps: diverged?)")
            continue
        table.add_row(name, str(m["steps"]), f"{m['rms_rel']:.3%}", f"{m['max_rel']:.3%}", f"{m['max_z']:.2f}")
    return table


def run_compare(cfg: Config, out: Path) -> dict:
    """Theory and simulation of one configuration: plot, both curves and agreement figures."""
    from .experiments import compare as compare_run
    from .plotting import plot_losses

    _out_dir(out)
    try:
        with progress_bar(f"simulating D={cfg.dim}, {cfg.seeds} seeds") as update:
            th, sim, metrics = compare_run(cfg, cfg.dim, cfg.seeds, progress=update)
    except (ConfigError, NotImplementedError) as err:
        _fail(str(err))
    save(th, out, stem="theory")
    save(sim, out, stem="simulation")
    (out / "agreement.json").write_text(json.dumps(json_safe(metrics), indent=1))
    plot_losses([th, sim], ["theory (DMFT)", f"simulation, mean ± sem of {cfg.seeds} seeds"], out / "loss.png")
    err_console.print(_agreement_table(metrics))
    err_console.print(f"wrote {out}/loss.png, theory.nc/.json, simulation.nc/.json, agreement.json", highlight=False)
    return metrics


@app.command()
def compare(
    config: Path = typer.Argument(..., help="YAML or JSON configuration"),
    dim: Optional[int] = typer.Option(None, "--dim", help="simulation D"),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="simulation seeds"),
    out: Path = typer.Option(Path("results/compare"), "--out", help="output folder"),
) -> None:
    """Overlay theory and simulation (mean ± standard error) and report their agreement."""
    cfg = _load(config, dim=dim, seeds=seeds)
    if cfg.dim is None:
        _fail("dim: compare needs the simulation D; allowed: an integer >= 2 (--dim)")
    run_compare(cfg, out)


@app.command()
def demo(out: Path = typer.Option(Path("results/demo"), "--out", help="output folder")) -> None:
    """The main job on the embedded default: depth 2, nu 1, alpha 2, muP, gamma0 1, eta 0.1, T 200, D 500."""
    cfg = parse_config(DEMO_CONFIG)
    (Path(out)).mkdir(parents=True, exist_ok=True)
    (Path(out) / "config.json").write_text(json.dumps(DEMO_CONFIG, indent=1))
    run_compare(cfg, out)


# ---- sweeps and learning-rate transfer (issue 7) ------------------------------------------------
@app.command()
def sweep(
    spec: Path = typer.Argument(..., help="sweep file: base config + axes (see deeplinear/sweep_spec.py)"),
    engine: str = typer.Option("theory", "--engine", help="theory | simulation"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="dask.distributed scheduler address"),
    out: Path = typer.Option(Path("results/sweep"), "--out", help="output folder (resumable)"),
) -> None:
    """Run (or resume) a sweep; writes OUT/sweep.nc and one file per point under OUT/points/."""
    from .sweep import run_sweep
    from .sweep_spec import load_sweep

    try:
        parsed = load_sweep(spec)
        with progress_bar(f"{engine} sweep") as update:
            run_sweep(parsed, engine=engine, scheduler=scheduler, out=out, progress=update)
    except (ConfigError, NotImplementedError) as err:
        _fail(str(err))
    err_console.print(f"wrote {out / 'sweep.nc'}", highlight=False)


@app.command()
def transfer(
    result: Path = typer.Argument(..., help="a sweep result (sweep.nc) with an eta axis"),
    out: Path = typer.Option(Path("results/transfer"), "--out", help="output folder"),
    width: str = typer.Option("nu", "--width", help="the width axis (or depth)"),
    train: bool = typer.Option(False, "--train", help="score by the train loss instead of the test loss"),
) -> None:
    """Optimal eta per width: transfer.json, transfer.png (loss vs eta, eta* vs width)."""
    from .experiments.transfer import transfer_summary
    from .experiments.transfer_plot import plot_transfer
    from .results import load

    if not result.exists():
        _fail(f"sweep result not found: {result}")
    ds = load(result)
    which = "train" if train else "test"
    try:
        summary = transfer_summary(ds, width_dim=width, which=which)
    except (ValueError, KeyError) as err:
        _fail(str(err))
    out.mkdir(parents=True, exist_ok=True)
    (out / "transfer.json").write_text(json.dumps(summary, indent=1))
    plot_transfer(ds, out / "transfer.png", width_dim=width, which=which)
    table = Table(title=f"optimal eta ({which} loss at step {summary['step']})")
    for col in ("where", width, "eta*", "bracket", "edge", "diverged", "exponent"):
        table.add_column(col)
    for row in summary["rows"]:
        where = ", ".join(f"{k}={v}" for k, v in row["where"].items())
        p = row.get("fit", {}).get("exponent")
        for o in row["optima"]:
            eta = o["eta_opt"]
            table.add_row(where, str(o.get(width)), "-" if eta is None else f"{eta:.4g}",
                          f"[{o['eta_lo']}, {o['eta_hi']}]", {-1: "low", 1: "high"}.get(o["edge"], ""),
                          str(o["n_diverged"]), "-" if p is None else f"{p:+.3f}")
    err_console.print(table)
    err_console.print(f"wrote {out / 'transfer.json'}, {out / 'transfer.png'}", highlight=False)


experiment_app = typer.Typer(no_args_is_help=True, help="Named experiments (data files and figures).")
app.add_typer(experiment_app, name="experiment")


def _run_transfer_experiment(run, out: Path, quick: bool, scheduler, workers) -> None:
    """Run a transfer experiment (width or depth) with one Rich bar per sweep, then say what was written."""
    bars = []  # one bar per sweep; the sweeps run one after another, so close the last first

    def progress(name: str):
        while bars:
            bars.pop().__exit__(None, None, None)
        bars.append(progress_bar(name))
        return bars[-1].__enter__()

    try:
        summary = run(out, quick=quick, scheduler=scheduler, progress=progress, workers=workers)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    for name, why in summary["skipped"].items():
        err_console.print(f"{name}: skipped ({why})", highlight=False)
    err_console.print(f"wrote {out / 'summary.json'} and one sweep.nc + figure per sweep", highlight=False)


_SCHEDULER = typer.Option(None, "--scheduler", help="dask.distributed scheduler address")
_WORKERS = typer.Option(None, "--workers", min=1, help="local simulation processes (default: 1 with --quick, else one per CPU)")
_QUICK = typer.Option(False, "--quick", help="CI-sized version (seconds to minutes)")


@experiment_app.command("width-transfer")
def width_transfer(
    out: Path = typer.Option(Path("results/width_transfer"), "--out", help="output folder (resumable)"),
    quick: bool = _QUICK,
    scheduler: Optional[str] = _SCHEDULER,
    workers: Optional[int] = _WORKERS,
) -> None:
    """muP vs NTK: optimal eta across widths nu = 0.25..16, depth 2 and 3, alpha 4 and online."""
    from .experiments.width_transfer import run_width_transfer

    _run_transfer_experiment(run_width_transfer, out, quick, scheduler, workers)


@experiment_app.command("depth-transfer")
def depth_transfer(
    out: Path = typer.Option(Path("results/depth_transfer"), "--out", help="output folder (resumable)"),
    quick: bool = _QUICK,
    scheduler: Optional[str] = _SCHEDULER,
    workers: Optional[int] = _WORKERS,
) -> None:
    """Optimal eta across depths 2..64: residual 1/sqrt(L) branches vs constant branches vs plain nets."""
    from .experiments.depth_transfer import run_depth_transfer

    _run_transfer_experiment(run_depth_transfer, out, quick, scheduler, workers)


@experiment_app.command("data-reuse")
def data_reuse(
    out: Path = typer.Option(Path("results/data_reuse"), "--out", help="output folder"),
    quick: bool = typer.Option(False, "--quick", help="CI-sized version (seconds)"),
) -> None:
    """Online SGD (b = 0.25, 1, 4) vs full-batch GD (alpha = 0.5, 1, 4), with and without label noise."""
    from .experiments.data_reuse import DEFAULT, QUICK, run_data_reuse

    _out_dir(out)
    with progress_bar("data-reuse runs") as update:
        ds = run_data_reuse(QUICK if quick else DEFAULT, out, progress=update)
    table = Table(title="theory vs simulation: rms relative error (steps with theory loss > 1e-3)")
    for col in ("noise", "regime", "train", "test"):
        table.add_column(col)
    for noise in ds["noise"].values:
        for regime in ds["regime"].values:
            r = ds["rms_rel_error"].sel(noise=noise, regime=regime).values
            table.add_row(f"{noise:g}", str(regime), f"{r[0]:.2%}", f"{r[1]:.2%}")
    err_console.print(table)
    err_console.print(f"wrote {out}/data_reuse.nc, curves.png, alpha_scan.png", highlight=False)


def _power_law_table(ds) -> Table:
    """Fitted late-time exponents, one row per (s, regime, depth): 'theory / simulation' per gamma0."""
    lo, hi = json.loads(ds.attrs["fit_window"])
    table = Table(title=f"fitted exponent p of test loss ~ t^-p over t in [{lo:g}, {hi:g}] (theory / simulation)")
    for col in ["s", "regime", "L"] + [f"gamma0={g:g}" for g in ds["gamma0"].values] + ["lazy limit", "s", "2s/(1+s)"]:
        table.add_column(col)
    fmt = lambda x: "-" if x != x else f"{x:.3f}"  # noqa: E731  (NaN: diverged or not positive)
    for s in ds["s"].values:
        for regime in ds["regime"].values:
            for depth in ds["depth"].values:
                p = ds["exponent"].sel(s=s, regime=regime, depth=depth)
                cells = [f"{fmt(float(p.sel(engine='theory', gamma0=g)))} / {fmt(float(p.sel(engine='simulation', gamma0=g)))}"
                         for g in ds["gamma0"].values]
                lazy = float(ds["lazy_limit_exponent"].sel(s=s, depth=depth))
                table.add_row(f"{s:g}", str(regime), str(depth), *cells, fmt(lazy), f"{s:g}", f"{2 * s / (1 + s):.3f}")
    for s in ds["s"].values:  # the long horizon (one engine: the population recursion, Sec. 12.7)
        cells = [fmt(float(ds["long_horizon_exponent"].sel(s=s, gamma0=g))) for g in ds["gamma0"].values]
        T = int(ds["long_step"].values[-1])
        table.add_row(f"{s:g}", f"population, T = {T}", "1", *cells, "", f"{s:g}", f"{2 * s / (1 + s):.3f}")
    return table


@experiment_app.command("power-law")
def power_law(
    out: Path = typer.Option(Path("results/power_law"), "--out", help="output folder (resumable: OUT/points)"),
    quick: bool = typer.Option(False, "--quick", help="CI-sized version (about a minute)"),
    scheduler: Optional[str] = _SCHEDULER,
    workers: Optional[int] = typer.Option(
        None, "--workers", min=1, help="local processes, theory and simulation points alike (default: 1 with --quick, else one per CPU)"
    ),
) -> None:
    """Test loss vs t on power-law data (a = 1.5, s = 0.5 and 1.5), gamma0 lazy to rich, depth 1-3, online
    b = 1, 4 and full batch: fitted late-time exponents against t^-s and t^-2s/(1+s); and T = 10^4 from the
    population recursion (depth 1, nu = inf, b -> inf)."""
    from .experiments.power_law import DEFAULT, QUICK, run_power_law

    _out_dir(out)
    with progress_bar("power-law points") as update:
        local = workers or (1 if quick else os.cpu_count() or 1)
        ds = run_power_law(QUICK if quick else DEFAULT, out, progress=update, scheduler=scheduler, workers=local)
    err_console.print(_power_law_table(ds))
    err_console.print(f"wrote {out}/power_law.nc, summary.json, exponents.png, curves_L*.png, long_horizon.png", highlight=False)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
