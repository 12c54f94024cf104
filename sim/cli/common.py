"""What every `trnsim` command shares: how bad input and JSON are printed, the run's progress line
and summary table, the help layout. Light on purpose: `trnsim --version` loads this module, and
tests/test_cli_conventions.py checks that numpy, rich, pydantic and simpy stay out of it."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import click

from sim.errors import InputError, Problem
from sim.scenario import units

if TYPE_CHECKING:  # rich is imported when a bar is shown
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


def echo_problems(exc: InputError) -> None:
    """One located line per problem, on stderr."""
    for problem in exc.problems:
        click.echo(str(problem), err=True)


def fail_input(exc: InputError) -> None:
    """Bad input: its problems on stderr, exit 2 (every command)."""
    echo_problems(exc)
    sys.exit(2)


def terminal_width(default: int = 100) -> int:
    """The width of tables that are not printed on a terminal: $COLUMNS, else `default`."""
    try:
        return max(40, int(os.environ.get("COLUMNS", default)))
    except ValueError:
        return default


def print_json(data: object) -> None:
    """One strict JSON document on stdout (non-finite numbers become null), and nothing else."""
    from sim.jsonfile import strict_json

    click.echo(strict_json(data), nl=False)


def run_key(scenario_sha256_hex: str, seed: int) -> str:
    """sha256 of the scenario's sha256 and the seed: names a run and a sweep row."""
    from sim.scenario import loader

    return loader.run_key(scenario_sha256_hex, seed)


class Progress:
    """Progress of a long run: a rich progress line on a terminal, once the run has taken more than
    a second; elsewhere (a log, CI) a plain line on stderr every `TRNSIM_PROGRESS_EVERY` seconds
    (default 60), so a run of half an hour still says how far it is."""

    def __init__(self, enabled: bool, live: bool = True):
        self.enabled = enabled
        self.live = live
        self.t0 = time.perf_counter()
        self.bar: RichProgress | None = None
        self.task: TaskID  # set when the bar starts
        every = os.environ.get("TRNSIM_PROGRESS_EVERY", "60")
        try:
            self.every = float(every)
        except ValueError:
            raise InputError(Problem(f"TRNSIM_PROGRESS_EVERY: expected seconds, got {every!r}")) from None
        self.next_line = self.every

    def __call__(self, now: float, done: int, total: int, events: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        rate = events / elapsed if elapsed > 0 else 0.0
        where = f"t={units.format_duration(now)}  jobs {done:,}/{total:,}  {rate:,.0f} events/s"
        if not self.live:
            if elapsed >= self.next_line:
                self.next_line = elapsed + self.every
                click.echo(f"simulating: {where}  ({elapsed:,.0f} s)", err=True)
            return
        if self.bar is None:
            if elapsed < 1.0:
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=total or 1)
        self.bar.update(self.task, completed=done, description=where)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class FullHelpGroup(click.Group):
    """A group whose `--help` lists each command's whole first paragraph, wrapped, never cut with '...'."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        import inspect

        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            text = command.short_help or inspect.cleandoc(command.help or "").split("\n\n")[0]
            rows.append((name, " ".join(text.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


allow_large_option = click.option(
    "--allow-large", is_flag=True,
    help="Run what is refused as too large (memory, events, rows or runs beyond docs/limits.md).")


def print_summary(summary: dict, name: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from sim.report.markdown import headline_rows

    table = Table(title=f"trnsim: {name} (seed {summary['seed']})", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in headline_rows(summary):
        table.add_row(label, value)
    table.add_row("simulated events", f"{summary['events']:,}")
    table.add_row("wall time", f"{summary['wall_s']:.2f} s")
    Console(highlight=False).print(table)
