"""The `trnsim` command line: parse, call the library, print. Exit 0 ok, 1 run failed, 2 bad input."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim import __version__, limits
from sim.errors import InputError, Problem
from sim.outdir import check_out
from sim.scenario import loader, units

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def echo_problems(exc: InputError) -> None:
    """One located line per problem, on stderr."""
    for problem in exc.problems:
        click.echo(str(problem), err=True)


def fail_input(exc: InputError) -> None:
    """Bad input: its problems on stderr, exit 2 (every command)."""
    echo_problems(exc)
    sys.exit(2)


run_key = loader.run_key  # sha256 of the scenario's sha256 and the seed: names a run and a sweep row


class _Progress:
    """Progress of a long run: a rich progress line on a terminal, once the run has taken more than
    a second; elsewhere (a log, CI) a plain line on stderr every `TRNSIM_PROGRESS_EVERY` seconds
    (default 60), so a run of half an hour still says how far it is."""

    def __init__(self, enabled: bool, live: bool = True):
        self.enabled = enabled
        self.live = live
        self.t0 = time.perf_counter()
        self.bar: Progress | None = None
        self.task = None
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
            self.bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=total or 1)
        self.bar.update(self.task, completed=done, description=where)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trnsim")
def main() -> None:
    """trnsim: how busy would this Trainium cluster be, how long would jobs wait, what would it cost?"""


allow_large_option = click.option(
    "--allow-large", is_flag=True,
    help="Run what is refused as too large (memory, events, rows or runs beyond docs/limits.md).")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="Run directory (default runs/<name>-<time>-<sha8>).")
@click.option("--force", is_flag=True, help="Replace a non-empty --out.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the scenario's seed.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a scenario value (repeatable).")
@click.option("--ci", is_flag=True, help="Apply the scenario's ci: block (its short form).")
@click.option("--timeseries-step", metavar="T", help="Write time-averages per step T (e.g. 60s) to timeseries.csv.")
@click.option("--quiet", "-q", is_flag=True, help="Print only where the results are.")
@allow_large_option
def run(scenario: Path, out: Path | None, force: bool, seed: int | None, sets: tuple[str, ...], ci: bool,
        timeseries_step: str | None, quiet: bool, allow_large: bool) -> None:
    """Run SCENARIO once and write a run directory."""
    from sim import run as simulation
    from sim import rundir

    try:
        step = None
        if timeseries_step is not None:
            try:
                step = units.parse_time(timeseries_step)
            except ValueError as exc:
                raise InputError(Problem(f"--timeseries-step: {exc}")) from None
            if step <= 0:
                raise InputError(Problem("--timeseries-step: must be > 0"))
        loaded = loader.load(scenario, sets, ci=ci)
        limits.check(loaded, allow_large=allow_large, step=step)
        effective_seed = loaded.model.seed if seed is None else seed
        key = run_key(loader.scenario_sha256(loaded.resolved_yaml(effective_seed)), effective_seed)
        target = out if out is not None else rundir.default_out(loaded.model.name, key)
        check_out(target, force, keep=[scenario])
        progress = _Progress(not quiet, live=sys.stdout.isatty())
        try:
            result = simulation.simulate(loaded, effective_seed, progress=progress)
        finally:
            progress.close()
        written = rundir.write(result, target, force=force, timeseries_step=step)
    except InputError as exc:
        fail_input(exc)
    except Exception as exc:  # a bug or an impossible decision: the run failed
        click.echo(f"{scenario}: run failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    if quiet:
        click.echo(str(written))
        return
    _print_summary(result.summary, loaded.model.name)
    click.echo(f"results: {written}  (report.html, report.md, summary.json, jobs.parquet, timeseries.csv, plots/)")


def _print_summary(summary: dict, name: str) -> None:
    from sim.report.markdown import headline_rows

    table = Table(title=f"trnsim: {name} (seed {summary['seed']})", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in headline_rows(summary):
        table.add_row(label, value)
    table.add_row("simulated events", f"{summary['events']:,}")
    table.add_row("wall time", f"{summary['wall_s']:.2f} s")
    Console(highlight=False).print(table)


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a scenario value.")
@click.option("--ci", is_flag=True, help="Apply the scenario's ci: block.")
@allow_large_option
def validate(scenarios: tuple[Path, ...], sets: tuple[str, ...], ci: bool, allow_large: bool) -> None:
    """Check scenario files (schema, catalogue, traces, job sizes) without running them."""
    from sim import run as simulation
    from sim.workload import build_jobs

    bad = False
    for path in scenarios:
        try:
            loaded = loader.load(path, sets, ci=ci)
            limits.check(loaded, allow_large=allow_large)
            shapes, _ = simulation.build_cluster(loaded)
            jobs = build_jobs(loaded, loaded.model.seed)
            _, rejected = simulation.plan_jobs(loaded, jobs, shapes)
        except InputError as exc:
            bad = True
            echo_problems(exc)
            continue
        chips = sum(s.chips for s in shapes)
        note = f", {len(rejected)} too large (will be rejected)" if rejected else ""
        skipped = f", {len(jobs.skipped)} trace rows skipped" if jobs.skipped else ""
        click.echo(f"ok: {path}: {len(shapes)} pool(s), {chips:,} chips, {len(jobs):,} jobs{note}{skipped}")
    sys.exit(2 if bad else 0)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="Write topology.md, topology.json and (small clusters) topology.png here.")
@click.option("--force", is_flag=True, help="Replace a non-empty --out.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a scenario value (repeatable).")
@click.option("--ci", is_flag=True, help="Apply the scenario's ci: block (its short form).")
@allow_large_option
def topology(scenario: Path, out: Path | None, force: bool, sets: tuple[str, ...], ci: bool,
             allow_large: bool) -> None:
    """What SCENARIO's cluster resolves to: sizes, tiers, peak power, $/h, and every assumption used."""
    from sim.report import sizing

    try:
        loaded = loader.load(scenario, sets, ci=ci)
        limits.check(loaded, allow_large=allow_large)
        if out is not None:
            check_out(out, force, keep=[scenario])
        sheet, graph = sizing.describe(loaded)
        text = sizing.markdown(sheet)
        if out is not None:
            sizing.write(sheet, graph, text, out, force=force)
    except InputError as exc:
        fail_input(exc)
    except Exception as exc:  # a bug: say so, exit 1
        click.echo(f"{scenario}: topology failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    click.echo(text, nl=False)
    if out is not None:
        click.echo(f"\nwritten: {out}  (topology.md, topology.json{', ' + sheet.drawing if sheet.drawing else ''})")


@main.command()
def catalogue() -> None:
    """Known accelerators and instance types, with their sources."""
    from sim import hardware

    cat = hardware.builtin()
    t = Table(title="accelerators (dense TFLOPS per chip)")
    for col in ("name", "BF16", "FP8", "HBM GB", "watts", "MFU", "source"):
        t.add_column(col, no_wrap=col == "name")
    for a in cat.accelerators.values():
        t.add_row(a.name, f"{a.bf16_tflops:g}" if a.bf16_tflops else "?", f"{a.fp8_tflops:g}" if a.fp8_tflops else "?",
                  f"{a.hbm_gb:g}" if a.hbm_gb else "?",
                  (f"{a.watts:g}" + (" (est.)" if a.watts_is_estimate else "")) if a.watts else "?",
                  (f"{a.mfu:g}" + (" (est.)" if a.mfu_is_estimate else "")) if a.mfu else "?", a.source or "")
    i = Table(title="instance types")
    for col in ("name", "accelerator", "chips", "per UltraServer", "EFA Gbps", "$/h on demand", "source"):
        i.add_column(col, no_wrap=col in ("name", "accelerator"))
    for inst in cat.instances.values():
        price = "?" if inst.on_demand_usd_per_h is None else f"{inst.on_demand_usd_per_h:g}" + (
            " (est.)" if inst.price_is_estimate else "")
        domain = cat.domain_size(inst.name)
        i.add_row(inst.name, inst.accelerator or "?", str(inst.chips), str(domain) if domain > 1 else "—",
                  f"{inst.efa_gbps:g}" if inst.efa_gbps else "?", price, inst.source or "")
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 250)
    console.print(t)
    console.print(i)


def _add_trace_commands() -> None:
    from sim.cli_trace import trace

    main.add_command(trace)


_add_trace_commands()


def _add_sweep_commands() -> None:
    from sim.cli_plan import plan
    from sim.cli_sweep import sweep

    main.add_command(sweep)
    main.add_command(plan)


_add_sweep_commands()


def _add_compare_command() -> None:
    from sim.cli_compare import compare

    main.add_command(compare)


_add_compare_command()
