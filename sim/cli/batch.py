"""What `trnsim sweep` and `trnsim plan` share: their options, the --out they resume into, the
preflight before any cluster starts, seeds, the executor and a progress bar over runs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from sim.errors import InputError, Problem
from sim.outdir import check_out
from sim.scenario import loader

if TYPE_CHECKING:
    from sim.sweep import Executor


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
        self.task: TaskID  # set when the bar starts
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


F = TypeVar("F", bound=Callable[..., Any])  # a click command, given the executor's options


def executor_options(f: F) -> F:
    for option in reversed(_executor_options):
        f = option(f)
    return f


def make_executor(scheduler: str | None, workers: int, serial: bool) -> Executor:
    from sim.sweep import Executor

    if serial and scheduler:
        raise InputError(Problem("--serial and --scheduler: choose one"))
    return Executor(workers=workers, scheduler=scheduler, serial=serial)


T = TypeVar("T")


def run_on(executor: Any, progress: RunProgress, work: Callable[[RunProgress], T]) -> tuple[T, str]:
    """`work(progress)` with the executor's cluster up; its result and where it ran. The bar closes
    either way."""
    try:
        with executor:
            return work(progress), executor.describe()
    finally:
        progress.close()
