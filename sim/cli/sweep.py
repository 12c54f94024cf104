"""`trnsim sweep`: many runs on dask.distributed. Exit 0 ok, 1 a run failed, 2 bad input."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from sim.cli.batch import (
    RunProgress,
    executor_options,
    make_executor,
    preflight,
    prepare_out,
    report_errors,
    run_on,
    seeds_of,
)
from sim.cli.common import fail_input, print_json
from sim.errors import InputError
from sim.scenario import loader


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
        result, where = run_on(executor, RunProgress(not quiet and not as_json and sys.stdout.isatty(), "sweeping"),
                               lambda progress: sweeping.sweep(scenario, axes, seed_list, executor, out, sets=sets,
                                                               ci=ci, progress=progress, tasks=tasks))
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
