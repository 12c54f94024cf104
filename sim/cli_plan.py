"""`trnsim plan`: the smallest cluster meeting every --slo. Exit 0 feasible, 1 infeasible or a run failed, 2 bad input."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from sim.cli import fail_input
from sim.cli_sweep import (
    RunProgress,
    executor_options,
    make_executor,
    preflight,
    prepare_out,
    seeds_of,
)
from sim.errors import InputError
from sim.jsonfile import strict_json
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
        progress = RunProgress(not quiet and not as_json and sys.stdout.isatty(), "planning")
        try:
            with executor:
                result = planning.plan(scenario, vary, parsed_slos, seed_list, executor, Rows(out), sets=sets,
                                       ci=ci, progress=progress)
                where = executor.describe()
        finally:
            progress.close()
    except InputError as exc:
        fail_input(exc)
    lines = describe(result, where)
    if out is not None:
        write(result, base, out, lines, scenario, sets, ci)
        lines.append(f"results: {out}  (plan.md, plan.json, knee.png, sweep.parquet, rows/)")
    if as_json:
        from sim.cli import print_json

        print_json({"out": None if out is None else str(out), "answer_line": lines[0], **plan_data(result, scenario)})
    elif quiet:
        click.echo(str(out) if out is not None else lines[0])
    else:
        click.echo("\n".join(lines))
    errors = sum(len(p.errors) for p in result.probes.values())
    sys.exit(0 if result.answer is not None and not errors else 1)


def describe(result: Any, where: str) -> list[str]:
    from sim.plan import show_size

    vary, n = result.vary, len(result.seeds)
    seeds = f"seeds {result.seeds[0]}-{result.seeds[-1]}" if n > 1 else f"seed {result.seeds[0]}"
    lines = []
    if result.answer is not None:
        probe = result.probes[result.answer]
        lines.append(f"answer: {vary.path} = {show_size(vary, result.answer)} ({probe.chips:,} chips) meets "
                     + " and ".join(s.text for s in result.slos) + f" (90 % one-sided bound over {n} runs, {seeds})")
    else:
        probe = result.probes[result.closest]
        lines.append(f"answer: {result.verdict}; closest: {vary.path} = {show_size(vary, result.closest)} "
                     f"({probe.chips or 0:,} chips)")
    lines.append(f"searched {vary.path} = {show_size(vary, 0)} .. {show_size(vary, len(vary.values) - 1)} "
                 f"({len(vary.values)} sizes{'; ' + vary.step_note if vary.step_note else ''}): "
                 f"{len(result.probes)} sizes run, {len(result.probes) * n} runs"
                 + (f" ({result.ran} new, {len(result.probes) * n - result.ran} reused)"
                    if result.ran != len(result.probes) * n else "") + f" ({where})")
    lines.append("")
    lines.append(f"| SLO | mean | 90 % bound | met at {show_size(vary, probe.index)} |")
    lines.append("|---|---:|---:|---|")
    for c in probe.checks:
        met = "yes" if c.met else "no" + (f" ({c.why})" if c.why else "")
        lines.append(f"| `{c.slo.text}` | {c.slo.show(c.mean)} | {c.slo.show(c.bound)} | {met} |")
    if probe.rejected:
        lines.append(f"| no job rejected | | | no ({probe.rejected} rejected over {n} runs) |")
    lines.append("")
    lines.append(f"Runs behind it ({vary.path} = {show_size(vary, probe.index)}):")
    lines.append("")
    keys = [c.slo for c in probe.checks]
    lines.append("| seed | run key | " + " | ".join(s.name for s in keys) + " | utilisation | censored | error |")
    lines.append("|---:|---|" + "---:|" * len(keys) + "---:|---|---|")
    for r in sorted(probe.rows, key=lambda r: r["seed"]):
        util = r.get("utilisation")
        lines.append(f"| {r['seed']} | {r['run_key'][:8]} | " + " | ".join(s.show(r.get(s.key)) for s in keys)
                     + f" | {'n/a' if util is None else f'{util:.1%}'} | {bool(r.get('wait_censored'))} | "
                     + f"{r.get('error') or ''} |")
    lines.append("")
    lines.append("Every size run (bounds are one-sided 90 % over the seeds):")
    lines.append("")
    lines.append(f"| {vary.path} | chips | " + " | ".join(f"{s.name} bound" for s in result.slos)
                 + " | rejected | meets all |")
    lines.append("|---:|---:|" + "---:|" * len(result.slos) + "---:|---|")
    for p in sorted(result.probes.values(), key=lambda p: p.index):
        cells = [c.slo.show(c.bound) + ("" if c.met else " ✗") for c in p.checks]
        lines.append(f"| {show_size(vary, p.index)} | {p.chips or 0:,} | " + " | ".join(cells)
                     + f" | {p.rejected} | {'yes' if p.all_ok else 'no'} |")
    return lines


def chips_at(result: Any, scenario: Path, sets: tuple[str, ...], ci: bool) -> dict[int, int]:
    """Installed chips at (up to ~120 of) the candidate sizes, for the approximation's curve."""
    from sim import topology
    from sim.report.knee import MAX_APPROX_POINTS
    from sim.sweep import load_point

    vary = result.vary
    n = len(vary.values)
    picks = set(np.unique(np.linspace(0, n - 1, min(n, MAX_APPROX_POINTS)).round().astype(int)).tolist())
    out = {p.index: p.chips for p in result.probes.values() if p.chips}
    for i in sorted(picks - set(out)):
        loaded = load_point(scenario, sets, ci, [(vary.path, vary.texts[i], vary.texts[i])], flag="--vary")
        out[i] = sum(s.chips for s in topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem))
    return {i: c for i, c in out.items() if c > 0}


def write(result: Any, base: loader.LoadedScenario, out: Path, lines: list[str], scenario: Path,
          sets: tuple[str, ...], ci: bool) -> None:
    from sim.report import knee

    (out / "plan.md").write_text(f"# Capacity plan: {base.model.name}\n\n" + "\n".join(lines) + "\n")
    workload = knee.workload_of(base, result.seeds[0])
    knee.draw(result, chips_at(result, scenario, sets, ci), workload, out / "knee.png",
              title=f"{base.model.name}: " + ", ".join(s.text for s in result.slos))
    data = {**plan_data(result, scenario), "approximation": None if workload is None else workload.label}
    (out / "plan.json").write_text(strict_json(data))


def plan_data(result: Any, scenario: Path) -> dict[str, Any]:
    """plan.json's contents (without the approximation's label): the answer and every size run."""
    return {
        "scenario": str(scenario), "vary": result.vary.path, "slos": [s.text for s in result.slos],
        "seeds": result.seeds, "verdict": result.verdict,
        "answer": None if result.answer is None else result.vary.values[result.answer],
        "closest": None if result.closest is None else result.vary.values[result.closest],
        "probes": [{"value": p.value, "chips": p.chips, "meets_all": p.all_ok, "rejected": p.rejected,
                    "run_keys": [r["run_key"] for r in p.rows],
                    "slos": [{"slo": c.slo.text, "mean": c.mean, "bound": c.bound, "met": c.met} for c in p.checks]}
                   for p in sorted(result.probes.values(), key=lambda p: p.index)],
    }
