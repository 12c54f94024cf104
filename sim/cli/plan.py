"""`trnsim plan`: the smallest cluster meeting every --slo. Exit 0 feasible, 1 infeasible or a run failed, 2 bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim.cli.batch import (
    RunProgress,
    executor_options,
    make_executor,
    preflight,
    prepare_out,
    run_on,
    seeds_of,
)
from sim.cli.common import fail_input, print_json
from sim.errors import InputError
from sim.report.capacity_plan import describe, plan_data, write
from sim.scenario import loader

DEFAULT_SEEDS = 5


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--slo", "slos", multiple=True, required=True, metavar="'METRIC<=VALUE'",
              help="A service-level objective, e.g. 'p95_wait<=2h' or 'cost<=$2.5M' (repeatable: all must hold).")
@click.option("--vary", "vary_text", required=True, metavar="PATH=LO..HI[:STEP]",
              help="The pool size to search, e.g. cluster.pools.0.count=16..256 (inclusive).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write rows/, sweep.parquet, plan.json, plan.md and knee.png here (a rerun resumes).")
@executor_options
def plan(scenario: Path, slos: tuple[str, ...], vary_text: str, out: Path | None, seeds: int | None,
         seed: int | None, sets: tuple[str, ...], ci: bool, scheduler: str | None, workers: int, serial: bool,
         force: bool, quiet: bool, as_json: bool, allow_large: bool) -> None:
    """The smallest size of a pool (--vary) at which every --slo holds by its 90 % confidence bound."""
    from sim import plan as planning
    from sim.sweep import Rows, load_point

    try:
        base = loader.load(scenario, sets, ci=ci)
        parsed_slos = [planning.parse_slo(text) for text in slos]
        vary = planning.parse_vary(vary_text, base)
        seed_list = seeds_of(base, seed, seeds or DEFAULT_SEEDS)
        preflight(base, len(seed_list), allow_large)
        for i in (0, len(vary.values) - 1):  # the ends of the range are valid scenarios
            load_point(scenario, sets, ci, [(vary.path, vary.texts[i], vary.texts[i])], flag="--vary")
        executor = make_executor(scheduler, workers, serial)
        if out is not None:
            prepare_out(out, force, scenario)
        result, where = run_on(executor, RunProgress(not quiet and not as_json and sys.stdout.isatty(), "planning"),
                               lambda progress: planning.plan(scenario, vary, parsed_slos, seed_list, executor,
                                                              Rows(out), sets=sets, ci=ci, progress=progress))
    except InputError as exc:
        fail_input(exc)
    lines = describe(result, where)
    if out is not None:
        write(result, base, out, lines, scenario, sets, ci)
        lines.append(f"results: {out}  (plan.md, plan.json, knee.png, sweep.parquet, rows/)")
    if as_json:
        print_json({"out": None if out is None else str(out), "answer_line": lines[0], **plan_data(result, scenario)})
    elif quiet:
        click.echo(str(out) if out is not None else lines[0])
    else:
        click.echo("\n".join(lines))
    errors = sum(len(p.errors) for p in result.probes.values())
    sys.exit(0 if result.answer is not None and not errors else 1)
