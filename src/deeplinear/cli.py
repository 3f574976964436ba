"""Command line: a thin Typer layer over config -> engine -> Result -> (plot | file).

    deeplinear simulate CONFIG [--dim D] [--seeds S] [--out DIR] [--json]
    deeplinear theory   CONFIG [--out DIR] [--json]
    deeplinear compare  CONFIG --dim D --seeds S [--out DIR]
    deeplinear demo     [--out DIR]

Bad input: a message on stderr naming the field and the allowed range, exit code 2.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .config import Config, ConfigError, load_config, parse_config
from .results import save, to_json

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=__doc__.split("\n\n")[0])
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
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


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

    if out is not None:
        paths = save(ds, out)
        plot_losses([ds], [title_label], out / "loss.png")
        err_console.print(f"wrote {paths['nc']}, {paths['json']}, {out / 'loss.png'}", highlight=False)
    if as_json:
        sys.stdout.write(json.dumps(to_json(ds)) + "\n")


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
        table.add_row(name, str(m["steps"]), f"{m['rms_rel']:.3%}", f"{m['max_rel']:.3%}", f"{m['max_z']:.2f}")
    return table


def run_compare(cfg: Config, out: Path) -> dict:
    """Theory and simulation of one configuration: plot, both curves and agreement figures."""
    from .experiments import compare as compare_run
    from .plotting import plot_losses

    try:
        with progress_bar(f"simulating D={cfg.dim}, {cfg.seeds} seeds") as update:
            th, sim, metrics = compare_run(cfg, cfg.dim, cfg.seeds, progress=update)
    except (ConfigError, NotImplementedError) as err:
        _fail(str(err))
    out.mkdir(parents=True, exist_ok=True)
    save(th, out, stem="theory")
    save(sim, out, stem="simulation")
    (out / "agreement.json").write_text(json.dumps(metrics, indent=1))
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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
