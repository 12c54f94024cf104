"""`trnsim trace convert` and `trnsim trace stats`: public cluster traces in, the neutral job table out.

Exit 0 ok, 2 bad input (a file that cannot be read, a bad flag, or with --strict a bad row),
one line per problem: `FILE:LINE: message`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.cli.common import FullHelpGroup, print_json
from sim.workload.traces import FORMATS

if TYPE_CHECKING:  # rich is imported when the status is shown
    from rich.status import Status

SHOW_SKIPPED = 10


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(2)


class _Progress:
    """A transient rich line for imports longer than a second (only on a terminal)."""

    def __init__(self, enabled: bool, what: str):
        self.enabled = enabled
        self.what = what
        self.t0 = time.perf_counter()
        self.status: Status | None = None

    def __call__(self, rows: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        if elapsed < 1.0:
            return
        if self.status is None:
            from rich.console import Console

            self.status = Console(stderr=True).status("")
            self.status.start()
        self.status.update(f"{self.what}: {rows:,} rows, {rows / elapsed:,.0f} rows/s")

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()


def _options(fmt: str, keep_survivors: bool, tasks: Path | None) -> dict:
    if keep_survivors and fmt != "alibaba2023":
        _fail("--keep-survivors: applies to --format alibaba2023 only")
    if tasks is not None and fmt != "pai2020":
        _fail("--tasks: applies to --format pai2020 only")
    return {"keep_survivors": keep_survivors, "tasks": tasks}


_format_option = click.option("--format", "fmt", required=True, type=click.Choice(FORMATS),
                              help="Trace format.")
_survivors_option = click.option("--keep-survivors", is_flag=True,
                                 help="alibaba2023: also keep pods created before the earliest deletion time.")
_tasks_option = click.option("--tasks", type=click.Path(dir_okay=False, path_type=Path),
                             help="pai2020: the task table (default: beside the job table).")


@click.group(cls=FullHelpGroup, context_settings={"help_option_names": ["-h", "--help"]})
def trace() -> None:
    """Public cluster traces: convert them to the neutral job table, or summarise them."""


@trace.command()
@click.argument("source", type=click.Path(path_type=Path))
@_format_option
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The neutral job table to write (.csv, or .csv.gz to compress it).")
@click.option("--force", is_flag=True, help="Replace an existing --out.")
@click.option("--strict", is_flag=True, help="Stop (exit 2) at the first unusable row instead of skipping it.")
@_survivors_option
@_tasks_option
@click.option("--quiet", "-q", is_flag=True, help="Print only problems.")
def convert(source: Path, fmt: str, out: Path, force: bool, strict: bool, keep_survivors: bool,
            tasks: Path | None, quiet: bool) -> None:
    """Write trace SOURCE as the neutral job table (job_id, submit_s, chips, duration_s, ...).

    Unusable rows are skipped and named on stderr with their line; submit times stay on the
    trace's own clock (a scenario shifts them to its `start`).
    """
    from sim.workload.traces.common import TraceError
    from sim.workload.traces.convert import convert as run_convert

    options = _options(fmt, keep_survivors, tasks)
    if out.exists() and not force:
        _fail(f"--out {out}: exists (use --force to replace it)")
    if out.exists() and out.is_dir():
        _fail(f"--out {out}: is a directory")
    if not out.parent.is_dir():
        _fail(f"--out {out}: no directory {out.parent}")
    if out.resolve() == source.resolve():
        _fail(f"--out {out}: is the input file")
    shown = 0

    class _Stop(Exception):
        pass

    def on_skip(line: int, reason: str) -> None:
        nonlocal shown
        if strict:
            raise _Stop(f"{source}:{line}: {reason}")
        if shown < SHOW_SKIPPED and not quiet:
            click.echo(f"{source}:{line}: skipped: {reason}", err=True)
        shown += 1

    progress = _Progress(not quiet and sys.stderr.isatty(), f"converting {source.name}")
    try:
        result = run_convert(source, fmt, out, on_skip=on_skip, progress=progress, **options)
    except TraceError as exc:
        _fail(str(exc))
    except _Stop as exc:
        _fail(str(exc))
    finally:
        progress.close()
    if quiet:
        return
    if result.skipped > SHOW_SKIPPED:
        click.echo(f"... {result.skipped - SHOW_SKIPPED:,} more skipped rows (`trnsim trace stats` counts them "
                   "by reason)", err=True)
    rate = (result.rows + result.skipped) / result.wall_s if result.wall_s > 0 else 0.0
    click.echo(f"wrote {out}: {result.rows:,} jobs, {result.skipped:,} rows skipped, {result.repaired:,} "
               f"repaired ({result.wall_s:.2f} s, {rate:,.0f} rows/s)")


@trace.command()
@click.argument("file", type=click.Path(path_type=Path))
@_format_option
@_survivors_option
@_tasks_option
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats(file: Path, fmt: str, keep_survivors: bool, tasks: Path | None, as_json: bool) -> None:
    """Summarise trace FILE: jobs, skipped rows by reason, span, sizes, durations, arrivals by hour."""
    from sim.workload.traces.common import TraceError, no_usable_row
    from sim.workload.traces.summary import trace_stats

    options = _options(fmt, keep_survivors, tasks)
    progress = _Progress(sys.stderr.isatty() and not as_json, f"reading {file.name}")
    try:
        result = trace_stats(file, fmt, progress=progress, **options)
    except TraceError as exc:
        _fail(str(exc))
    finally:
        progress.close()
    data = result.as_dict()
    if as_json:
        print_json(data)
    else:
        for line in _report(data):
            click.echo(line)
    if not data["jobs"]:
        _fail(f"{file}: no usable row ({no_usable_row(data['skipped'], data['skipped_by_reason'])})")



def _dur(seconds: float | None) -> str:
    from sim.scenario.units import format_duration

    if seconds is None:
        return "n/a"
    if seconds >= 1000 * 86400:
        return f"{seconds / 86400:,.0f}d ({seconds / (365 * 86400):.1f} yr)"
    return format_duration(seconds)


def _bar(count: int, largest: int, width: int = 30) -> str:
    return "#" * max(1 if count else 0, round(width * count / largest)) if largest else ""


def _report(d: dict) -> list[str]:
    lines = [f"trace: {d['path']} ({d['format']})"]
    lines += [f"  {note}" for note in d["notes"]]
    lines.append(f"jobs: {d['jobs']:,} usable, {d['skipped']:,} rows skipped, {d['repaired']:,} repaired")
    for reason, count in d["skipped_by_reason"].items():
        lines.append(f"  skipped: {count:,}  {reason}")
    if not d["jobs"]:
        return lines
    lines.append(f"span: {_dur(d['span_s'])} (submit {d['first_submit_s']:,.0f} s to {d['last_submit_s']:,.0f} s "
                 "on the trace's clock)")
    lines.append(f"accelerator-hours: {d['accelerator_s'] / 3600:,.0f}")
    lines.append("status: " + ", ".join(f"{k} {v:,}" for k, v in d["status"].items()))
    lines.append("accelerators per job:")
    largest = max(d["size_histogram"].values())
    for label, count in d["size_histogram"].items():
        lines.append(f"  {label:>11} {count:>10,} {100 * count / d['jobs']:5.1f}%  {_bar(count, largest)}")
    q = d["duration_s"]
    lines.append("run time: " + "  ".join(f"{k} {_dur(q[k])}" for k in ("p10", "p50", "p90", "p99", "max"))
                 + f"  mean {_dur(q['mean'])}")
    w = d["recorded_wait_s"]
    if w:
        lines.append("recorded wait: " + "  ".join(f"{k} {_dur(w[k])}" for k in ("p50", "p90", "p99", "max"))
                     + f"  mean {_dur(w['mean'])}")
    lines.append(f"arrivals by hour of day ({d['clock']}):")
    peak = max(d["arrivals_by_hour"])
    for hour, count in enumerate(d["arrivals_by_hour"]):
        lines.append(f"  {hour:02d}h {count:>10,}  {_bar(count, peak)}")
    rate = d["rows_per_s"]
    lines.append(f"read in {d['wall_s']:.2f} s" + (f" ({rate:,.0f} rows/s)" if rate else ""))
    return lines
