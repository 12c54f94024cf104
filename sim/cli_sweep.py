"""`trnsim sweep` and `trnsim plan`: many runs on dask.distributed. Exit 0 ok, 1 a run failed, 2 bad input."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.cli import fail_input, print_json
from sim.errors import InputError, Problem
from sim.outdir import check_out
from sim.scenario import loader


def prepare_out(out: Path, force: bool, scenario: Path) -> None:
    """sweep/plan resume into an --out holding their own rows/; any other non-empty --out needs --force."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        check_out(out, False)  # names what it is: a link, a device, a file
        raise InputError(Problem(f"--out {out}: exists and is not a directory"))
    if not out.is_dir() or not any(out.iterdir()):
        check_out(out, force)
        out.mkdir(parents=True, exist_ok=True)
        return
    if force:
        check_out(out, force, keep=[scenario])
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        return
    if not (out / "rows").is_dir():
        raise InputError(Problem(f"--out {out}: directory is not empty and holds no sweep rows/ "
                                 "(use --force to replace it)"))


def preflight(loaded: loader.LoadedScenario, runs: int, allow_large: bool) -> None:
    """Before any cluster starts: refuse resource bombs, and read the traces and samples once, so
    that an unreadable one is exit 2 here rather than an error in every run."""
    from sim import limits
    from sim.workload import build_jobs

    limits.check(loaded, allow_large=allow_large, runs=runs)
    build_jobs(loaded, loaded.model.seed)


class RunProgress:
    """A rich bar over runs, on a terminal only; it names the last failure as it happens."""

    def __init__(self, enabled: bool, what: str):
        self.enabled = enabled
        self.what = what
        self.bar: Progress | None = None
        self.task = None
        self.failed = 0

    def __call__(self, done: int, total: int, row: dict[str, Any]) -> None:
        if row.get("error"):
            self.failed += 1
        if not self.enabled or total == 0:
            return
        if self.bar is None:
            self.bar = Progress(TextColumn(self.what), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.description}"), TimeElapsedColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=total)
        self.bar.update(self.task, completed=done, description=f"{self.failed} failed" if self.failed else "")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def seeds_of(loaded: loader.LoadedScenario, seed: int | None, count: int) -> list[int]:
    first = loaded.model.seed if seed is None else seed
    return list(range(first, first + count))


def report_errors(rows: list[dict[str, Any]]) -> int:
    failed = [r for r in rows if r.get("error")]
    for r in failed[:10]:
        click.echo(f"run {r['run_key'][:8]} (seed {r['seed']}) failed: {r['error']}", err=True)
    if len(failed) > 10:
        click.echo(f"... and {len(failed) - 10} more failed runs (their rows hold the errors)", err=True)
    return len(failed)


_executor_options = [
    click.option("--seeds", type=click.IntRange(min=1), default=None,
                 help="Seeds per point: seed ... seed+N-1 (default: 1 for sweep, 5 for plan)."),
    click.option("--seed", type=click.IntRange(min=0), help="First seed (default: the scenario's seed:)."),
    click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a scenario value (repeatable)."),
    click.option("--ci", is_flag=True, help="Apply the scenario's ci: block (its short form)."),
    click.option("--scheduler", metavar="ADDRESS", help="An existing dask scheduler, e.g. tcp://host:8786."),
    click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
                 help="Worker processes of the embedded local dask cluster (one thread each)."),
    click.option("--serial", is_flag=True, help="Run in this process, one run after another (no dask)."),
    click.option("--force", is_flag=True, help="Empty a non-empty --out first (also its rows: start afresh)."),
    click.option("--quiet", "-q", is_flag=True, help="Print only where the results are."),
    click.option("--json", "as_json", is_flag=True,
                 help="Print the result as one JSON document on stdout, and nothing else there."),
    click.option("--allow-large", is_flag=True,
                 help="Run what is refused as too large (memory, events or runs beyond docs/limits.md)."),
]


def executor_options(f):
    for option in reversed(_executor_options):
        f = option(f)
    return f


def make_executor(scheduler: str | None, workers: int, serial: bool):
    from sim.sweep import Executor

    if serial and scheduler:
        raise InputError(Problem("--serial and --scheduler: choose one"))
    return Executor(workers=workers, scheduler=scheduler, serial=serial)


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grid", "grids", multiple=True, metavar="PATH=v1,v2,...",
              help="A key path and its values (commas outside brackets split them); repeat for more axes.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Sweep directory: rows/, sweep.parquet (a rerun resumes here).")
@click.option("--metric", "metrics", multiple=True, metavar="KEY",
              help="Summary key to draw in sweep.png against the first --grid axis (repeatable; "
                   "default p95_wait_s and utilisation).")
@executor_options
def sweep(scenario: Path, grids: tuple[str, ...], out: Path, metrics: tuple[str, ...], seeds: int | None,
          seed: int | None, sets: tuple[str, ...], ci: bool, scheduler: str | None, workers: int, serial: bool,
          force: bool, quiet: bool, as_json: bool, allow_large: bool) -> None:
    """Run SCENARIO at every combination of --grid values, for --seeds seeds each."""
    from sim import sweep as sweeping
    from sim.report import fan

    try:
        drawn = fan.metrics_of(metrics)
        axes = [sweeping.parse_grid(g) for g in grids]
        points = sweeping.grid_points(axes)  # duplicate paths are bad input before anything runs
        base = loader.load(scenario, sets, ci=ci)
        seed_list = seeds_of(base, seed, seeds or 1)
        preflight(base, len(points) * len(seed_list), allow_large)
        tasks = sweeping.sweep_tasks(scenario, axes, seed_list, sets=sets, ci=ci)
        executor = make_executor(scheduler, workers, serial)
        prepare_out(out, force, scenario)
        progress = RunProgress(not quiet and not as_json and sys.stdout.isatty(), "sweeping")
        try:
            with executor:
                result = sweeping.sweep(scenario, axes, seed_list, executor, out, sets=sets, ci=ci,
                                        progress=progress, tasks=tasks)
                where = executor.describe()
        finally:
            progress.close()
    except InputError as exc:
        fail_input(exc)
    failed = report_errors(result.rows)
    figure = fan.draw(result.rows, [a.path for a in axes], out / "sweep.png", title=f"{base.model.name}: sweep",
                      metrics=drawn)
    if as_json:
        print_json({"out": str(out), "table": result.table, "figure": figure, "grid": [a.path for a in axes],
                    "ran": result.ran, "reused": result.skipped, "failed": failed, "where": where,
                    "rows": result.rows})
    elif quiet:
        click.echo(str(out))
    else:
        print_sweep(result.rows, [a.path for a in axes])
        click.echo(f"ran {result.ran} runs ({where}), reused {result.skipped} from {out / 'rows'}; "
                   f"{failed} failed")
        click.echo(f"results: {result.table}  ({len(result.rows)} rows; one per run in {out / 'rows'})"
                   + (f"; fan of curves: {figure}" if figure else ""))
    sys.exit(1 if failed else 0)


def print_sweep(rows: list[dict[str, Any]], paths: list[str]) -> None:
    """Means over seeds, each ± the half-width of its 95 % interval when there are several seeds."""
    from sim import metric_registry as registry
    from sim.compare import estimate
    from sim.report.markdown import fmt
    from sim.sweep import by_point

    def cell(ok: list[dict[str, Any]], key: str, kind: str) -> str:
        e = estimate([r.get(key) for r in ok]) if ok else None
        if e is None or e.mean is None:
            return "n/a"
        if kind == "pct":
            return f"{e.mean:.1%}" + (f" ± {100 * e.half:.1f} pp" if e.half is not None else "")
        if kind == "n":
            return f"{e.mean:,.1f}".removesuffix(".0") + (f" ± {e.half:,.1f}" if e.half is not None else "")
        return fmt(e.mean, kind) + (f" ± {fmt(e.half, kind)}" if e.half is not None else "")

    seeds = max((len({r["seed"] for r in group}) for _, group in by_point(rows, paths)), default=1)
    table = Table(title="sweep (means over seeds" + (", ± half-width of the 95% CI)" if seeds > 1 else ")"))
    for p in paths:
        table.add_column(p)
    shown = registry.pick("utilisation", "avg_wait_s", "p95_wait_s", "jobs_unstarted")
    for col in ("runs", "failed", *(m.short for m in shown), "censored"):
        table.add_column(col, justify="right")
    for values, group in by_point(rows, paths):
        ok = [r for r in group if not r.get("error")]
        table.add_row(*[str(v) for v in values], str(len(group)), str(len(group) - len(ok)),
                      *[cell(ok, m.key, m.fmt) for m in shown], str(sum(1 for r in ok if r.get("wait_censored"))))
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table)
