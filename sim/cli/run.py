"""`trnsim run` and `trnsim validate`: one scenario run, or scenario files checked without running."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim import limits
from sim.cli.common import (
    Progress,
    allow_large_option,
    echo_problems,
    fail_input,
    print_json,
    print_summary,
    run_key,
)
from sim.errors import InputError, Problem
from sim.outdir import check_out
from sim.scenario import units


@click.command()
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
        progress = Progress(not quiet, live=sys.stdout.isatty() and not as_json)
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
    print_summary(result.summary, loaded.model.name)
    click.echo(f"results: {written}  (report.html, report.md, summary.json, jobs.parquet, timeseries.csv, plots/)")


@click.command()
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
