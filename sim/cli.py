"""The `trnsim` command line: parse, call the library, print. Exit 0 ok, 1 run failed, 2 bad input."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from sim import __version__, limits
from sim.errors import InputError, Problem
from sim.outdir import check_out
from sim.scenario import units

# Only click and the light modules above load before the arguments are parsed (`trnsim --version`
# stays fast): every command imports what it needs, and the commands defined in other modules
# are loaded by name when they are asked for (LazyGroup below). tests/test_cli_conventions.py
# checks that numpy, rich, pydantic and simpy stay out of `--version`.


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


class _Progress:
    """Progress of a long run: a rich progress line on a terminal, once the run has taken more than
    a second; elsewhere (a log, CI) a plain line on stderr every `TRNSIM_PROGRESS_EVERY` seconds
    (default 60), so a run of half an hour still says how far it is."""

    def __init__(self, enabled: bool, live: bool = True):
        self.enabled = enabled
        self.live = live
        self.t0 = time.perf_counter()
        self.bar = None
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


class LazyGroup(FullHelpGroup):
    """A group whose commands defined in other modules are imported only when used (or listed)."""

    lazy = {
        "trace": "sim.cli_trace:trace",
        "sweep": "sim.cli_sweep:sweep",
        "plan": "sim.cli_plan:plan",
        "compare": "sim.cli_compare:compare",
        "show": "sim.cli_runs:show",
        "ls": "sim.cli_runs:ls",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
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
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document (run_dir and summary) on stdout, and nothing else there.")
@allow_large_option
def run(scenario: Path, out: Path | None, force: bool, seed: int | None, sets: tuple[str, ...], ci: bool,
        timeseries_step: str | None, quiet: bool, as_json: bool, allow_large: bool) -> None:
    """Run SCENARIO once and write a run directory."""
    from sim import run as simulation
    from sim import rundir
    from sim.scenario import loader

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
        progress = _Progress(not quiet, live=sys.stdout.isatty() and not as_json)
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
    if as_json:
        print_json({"run_dir": str(written), "summary": result.summary})
        return
    if quiet:
        click.echo(str(written))
        return
    _print_summary(result.summary, loaded.model.name)
    click.echo(f"results: {written}  (report.html, report.md, summary.json, jobs.parquet, timeseries.csv, plots/)")


def _print_summary(summary: dict, name: str) -> None:
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


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a scenario value.")
@click.option("--ci", is_flag=True, help="Apply the scenario's ci: block.")
@allow_large_option
def validate(scenarios: tuple[Path, ...], sets: tuple[str, ...], ci: bool, allow_large: bool) -> None:
    """Check scenario files (schema, catalogue, traces, job sizes) without running them."""
    from sim import run as simulation
    from sim.scenario import loader
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
@click.option("--json", "as_json", is_flag=True, help="Print topology.json's numbers on stdout instead of the table.")
@allow_large_option
def topology(scenario: Path, out: Path | None, force: bool, sets: tuple[str, ...], ci: bool, as_json: bool,
             allow_large: bool) -> None:
    """What SCENARIO's cluster resolves to: sizes, tiers, peak power, $/h, and every assumption used."""
    from sim.report import sizing
    from sim.scenario import loader

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
    if as_json:
        print_json(sheet.as_json())
        return
    click.echo(text, nl=False)
    if out is not None:
        click.echo(f"\nwritten: {out}  (topology.md, topology.json{', ' + sheet.drawing if sheet.drawing else ''})")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as one JSON document.")
def catalogue(as_json: bool) -> None:
    """Known accelerators and instance types, with their sources."""
    from dataclasses import asdict

    from sim import hardware

    cat = hardware.builtin()
    if as_json:
        print_json({"accelerators": [asdict(a) for a in cat.accelerators.values()],
                    "instances": [{**asdict(i), "per_ultraserver": cat.domain_size(i.name)}
                                  for i in cat.instances.values()]})
        return
    from rich.console import Console
    from rich.table import Table

    def num(value: float | None, estimate: bool | None = False) -> str:
        return "?" if not value else f"{value:g}" + ("*" if estimate else "")

    sources: list[str] = []

    def cite(name: str, text: str | None) -> str:
        if not text:
            return ""
        sources.append(f"[{len(sources) + 1}] {name}: {text}")
        return str(len(sources))

    t = Table(title="accelerators (dense TFLOPS per chip)")
    for col in ("name", "BF16", "FP8", "HBM GB", "watts", "MFU", "src"):
        t.add_column(col, no_wrap=True, justify="left" if col == "name" else "right")
    for a in cat.accelerators.values():
        t.add_row(a.name, num(a.bf16_tflops), num(a.fp8_tflops), num(a.hbm_gb), num(a.watts, a.watts_is_estimate),
                  num(a.mfu, a.mfu_is_estimate), cite(a.name, a.source))
    i = Table(title="instance types")
    for col in ("name", "accelerator", "chips", "per UltraServer", "EFA Gbps", "$/h on demand", "src"):
        i.add_column(col, no_wrap=True, justify="left" if col in ("name", "accelerator") else "right")
    for inst in cat.instances.values():
        domain = cat.domain_size(inst.name)
        i.add_row(inst.name, inst.accelerator or "?", str(inst.chips), str(domain) if domain > 1 else "—",
                  num(inst.efa_gbps), num(inst.on_demand_usd_per_h, inst.price_is_estimate), cite(inst.name, inst.source))
    console = Console(highlight=False, width=None if sys.stdout.isatty() else terminal_width())
    console.print(t)
    console.print(i)
    console.print("* ESTIMATE (see sim/hardware/FACTS.md)\n\nsources:")
    for line in sources:
        console.print(line, overflow="fold")


@main.command()
@click.option("--markdown", is_flag=True, help="Print the scenario reference (docs/scenario.md) instead.")
@click.option("--summary", is_flag=True, help="The schema of summary.json instead (with --markdown: its key list "
              "in docs/reports.md).")
def schema(markdown: bool, summary: bool) -> None:
    """Print the scenario JSON Schema (for editors: see docs/scenario.md), or the reference generated from it."""
    if summary:
        from sim import metric_registry

        click.echo(metric_registry.markdown() if markdown else metric_registry.dumps(), nl=False)
        return
    from sim import schema as scenario_schema

    click.echo(scenario_schema.markdown() if markdown else scenario_schema.dumps(), nl=False)
