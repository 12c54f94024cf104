"""`trnsim compare`: run directories and scenarios side by side. Exit 0 ok, 1 a run failed, 2 bad input."""

from __future__ import annotations

import datetime as _dt
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.cli.common import fail_input, print_json

if TYPE_CHECKING:  # imported where used, to start quickly
    from rich.progress import Progress, TaskID

    from sim.compare import Variant


class _Progress:
    """A rich progress display (runs done, simulated time, jobs, events/s) once work has taken a second."""

    def __init__(self, enabled: bool, total_runs: int):
        self.enabled = enabled
        self.total = total_runs
        self.t0 = time.perf_counter()
        self.run_t0 = self.t0
        self.bar: Progress | None = None
        self.task: TaskID  # set when the bar starts
        self.current: tuple[str, int] | None = None
        self.finished = 0
        self.run_events = 0

    def __call__(self, variant: Variant, k: int, now: float, done: int, total: int, events: int) -> None:
        if not self.enabled:
            return
        from sim.scenario.units import format_duration

        key = (variant.label, k)
        if key != self.current:
            if self.current is not None:
                self.finished += 1
            self.current = key
            self.run_t0 = time.perf_counter()
            self.run_events = events
        if self.bar is None:
            if time.perf_counter() - self.t0 < 1.0:
                return
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("runs"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.description}"), TimeElapsedColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total)
        elapsed = time.perf_counter() - self.run_t0
        rate = f"  {(events - self.run_events) / elapsed:,.0f} events/s" if elapsed > 0.2 else ""
        self.bar.update(self.task, completed=self.finished,
                        description=f"{variant.label} seed {variant.seeds[k]}: t={format_duration(now)}  "
                                    f"jobs {done:,}/{total:,}{rate}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--policies", metavar="A,B,...",
              help="Run the one SCENARIO once per policy (any registered policy name).")
@click.option("--seeds", type=int, default=1, show_default=True,
              help="Run each scenario with seeds seed … seed+N−1 and show mean ± 95% CI.")
@click.option("--seed", type=click.IntRange(min=0), help="First seed (default: each scenario's seed:).")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Override a value in every scenario given (repeatable).")
@click.option("--ci", is_flag=True, help="Apply each scenario's ci: block (its short form).")
@click.option("--label", "labels", multiple=True, metavar="TEXT",
              help="A name for each input (with --policies: each policy), in order (repeat once per input).")
@click.option("--out", type=click.Path(path_type=Path),
              help="Where to write compare.md, compare.html and the figures (default runs/compare-<time>).")
@click.option("--force", is_flag=True, help="Replace a non-empty --out.")
@click.option("--quiet", "-q", is_flag=True, help="Print only where the results are.")
@click.option("--json", "as_json", is_flag=True,
              help="Print compare.json (and where it is) on stdout as one JSON document, nothing else there.")
@click.option("--allow-large", is_flag=True, help="Run more runs than docs/limits.md allows.")
def compare(inputs: tuple[Path, ...], policies: str | None, seeds: int, seed: int | None, sets: tuple[str, ...],
            ci: bool, labels: tuple[str, ...], out: Path | None, force: bool, quiet: bool,
            as_json: bool, allow_large: bool) -> None:
    """Compare runs: each INPUT is a run directory (read, not re-run) or a scenario (run now).

    \b
    trnsim compare runs/a runs/b
    trnsim compare scenarios/quickstart.yaml --policies fifo,sjf,easy_backfill --seeds 5
    trnsim compare runs/a runs/b --label before --label after
    """
    from sim import compare as comparing
    from sim import limits
    from sim.errors import InputError
    from sim.outdir import check_out
    from sim.report import comparison

    target = out if out is not None else Path("runs") / f"compare-{_dt.datetime.now():%Y%m%dT%H%M%S}"
    try:
        check_out(target, force, keep=inputs)
        limits.check_runs(seeds * len(inputs) * len((policies or "x").split(",")), "--seeds",
                          allow_large=allow_large)
        variants = comparing.plan(list(inputs), policies=policies, seeds=seeds, seed=seed, sets=sets, ci=ci,
                                  labels=labels)
    except InputError as exc:
        fail_input(exc)
    todo = sum(len(v.seeds) for v in variants if v.kind == "scenario")
    progress = _Progress(not quiet and not as_json and sys.stdout.isatty(), todo)
    try:
        comparing.simulate(variants, progress=progress)
    except InputError as exc:
        progress.close()
        fail_input(exc)
    except Exception as exc:  # a run failed
        progress.close()
        click.echo(f"compare: a run failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    progress.close()
    try:
        written = comparison.save(variants, target, force=force)
    except InputError as exc:
        fail_input(exc)
    if as_json:
        print_json({"out": str(written), **comparison.as_json(variants)})
        return
    if quiet:
        click.echo(str(written))
        return
    _print_table(variants)
    click.echo(f"results: {written}  (compare.html, compare.md, compare.json, utilisation.png, queue.png, "
               "wait_cdf.png, metrics.png)")


TERMINAL_WIDTH = 100


def _print_table(variants: list[Variant]) -> None:
    """Two tables that fit in TERMINAL_WIDTH columns: the values side by side, then the differences
    against the first input ("n.s.": the 95 % interval holds zero)."""
    from rich.console import Console
    from rich.table import Table

    from sim.compare import metric_rows
    from sim.report.comparison import difference, value

    rows = metric_rows(variants)
    seeds = max(len(v.runs) for v in variants)
    console = Console(highlight=False, width=TERMINAL_WIDTH)
    table = Table(title="trnsim compare" + (f" (mean ± 95% CI over {seeds} seeds)" if seeds > 1 else ""))
    table.add_column("metric", max_width=30)
    for v in variants:
        table.add_column(v.label, justify="right")
    for key, label, kind in rows:
        table.add_row(label, *[value(v.metric(key), kind) for v in variants])
    console.print(table)
    base = variants[0]
    diffs = Table(title=f"difference against {base.label}" + (" (n.s.: not significant at 95%)" if seeds > 1 else ""))
    diffs.add_column("metric", max_width=30)
    for v in variants[1:]:
        diffs.add_column(f"{v.label} − {base.label}", justify="right")
    for key, label, kind in rows:
        diffs.add_row(label, *[difference(base, v, key, kind, short=True) for v in variants[1:]])
    console.print(diffs)
