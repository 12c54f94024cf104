"""`trnsim show RUN_DIR` and `trnsim ls [DIR]`: past runs, read from their run directories.

Exit 0 ok, 2 bad input (not a run directory, or a directory that cannot be read).
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from sim import metric_registry as registry
from sim.cli.common import fail_input, print_json, print_summary, terminal_width
from sim.errors import InputError, Problem


def report_context(run_dir: Path) -> Any:
    """What the report shows beyond the run directory's files, derived again from its scenario.yaml:
    the pools as sized, the ESTIMATE assumptions, rejected jobs and skipped trace rows."""
    from sim import run as simulation
    from sim import topology
    from sim.policies import base as policies
    from sim.report.run_report import Context
    from sim.scenario import loader
    from sim.workload import build_jobs

    summary = json.loads((run_dir / "summary.json").read_text())
    loaded = loader.load(run_dir / "scenario.yaml")
    shapes = topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem)
    jobs = build_jobs(loaded, int(summary["seed"]))
    _, rejected = simulation.plan_jobs(loaded, jobs, shapes)
    assumptions = simulation.assumptions(loaded, shapes)
    policy_cls = policies.get(loaded.model.scheduler.policy)
    policy = policy_cls(policy_cls.Options.model_validate(loaded.model.scheduler.options), loaded.model.scheduler)
    policy.pools = tuple(shapes)
    try:
        assumptions += policy.assumptions()
    except AttributeError:  # defaults settled when the run binds the policy (fair_share's quotas): as written
        assumptions += [line for line in written_assumptions(run_dir) if line not in assumptions]
    pools = [{"name": s.name, "instance": s.instance_type, "accelerator": s.accelerator, "instances": s.instances,
              "chips": s.chips, "ultraservers": s.ultraservers, "pods": s.pods} for s in shapes]
    return Context(loaded.model.description or "", pools, assumptions, list(rejected), list(jobs.skipped))


def written_assumptions(run_dir: Path) -> list[str]:
    """The assumption lines of the report.md the run wrote (empty when there is none)."""
    path = run_dir / "report.md"
    if not path.is_file():
        return []
    lines, inside = [], False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            inside = line.startswith("## Assumptions")
        elif inside and line.startswith("- "):
            lines.append(line[2:])
    return lines


def rerender(run_dir: Path) -> list[str]:
    """report.md, report.html and plots/ of `run_dir`, drawn again from its files (replaced in place)."""
    import os
    import shutil
    import tempfile

    from sim.report import run_report, rundata

    data = rundata.load(run_dir)
    context = report_context(run_dir)
    with tempfile.TemporaryDirectory(prefix=".report-", dir=run_dir) as tmp:
        run_report.write(data, context, Path(tmp))
        if (run_dir / "plots").is_dir():
            shutil.rmtree(run_dir / "plots")
        made = sorted(p.name for p in Path(tmp).iterdir())
        for name in made:
            os.replace(Path(tmp) / name, run_dir / name)
    return made


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-report", is_flag=True, help="Only print the summary; leave report.html and report.md as they are.")
@click.option("--json", "as_json", is_flag=True, help="Print run_dir and summary as one JSON document, nothing else.")
def show(run_dir: Path, no_report: bool, as_json: bool) -> None:
    """Print a past run's summary table and render its report again (report.html, report.md, plots/)."""
    from sim.report import rundata

    try:
        data = rundata.load(run_dir)
        if not no_report:
            rerender(run_dir)
    except InputError as exc:
        fail_input(exc)
    if as_json:
        print_json({"run_dir": str(run_dir), "summary": data.summary})
        return
    print_summary(data.summary, data.name)
    if not no_report:
        click.echo(f"report: {run_dir / 'report.html'}  (and report.md, plots/: rendered again from the run's files)")


def runs_in(root: Path) -> list[dict[str, Any]]:
    """Every run directory directly under `root` (one holding summary.json and scenario.yaml), oldest first."""
    import yaml

    found = []
    for path in sorted(root.iterdir()):
        summary_path = path / "summary.json"
        if not path.is_dir() or not summary_path.is_file() or not (path / "scenario.yaml").is_file():
            continue
        try:
            summary = json.loads(summary_path.read_text())
            name = (yaml.safe_load((path / "scenario.yaml").read_text()) or {}).get("name", path.name)
        except (OSError, ValueError, yaml.YAMLError):
            continue
        when = _dt.datetime.fromtimestamp(summary_path.stat().st_mtime).replace(microsecond=0)
        found.append({"run_dir": str(path), "name": name, "seed": summary.get("seed"), "time": when.isoformat(),
                      "summary": summary})
    return sorted(found, key=lambda r: (r["time"], r["run_dir"]))


HEADLINE = tuple((m.key, m.short, m.fmt)
                 for m in registry.pick("utilisation", "avg_wait_s", "p95_wait_s", "jobs_completed", "cost_usd"))


@click.command(name="ls")
@click.argument("root", required=False, default="runs", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the runs as one JSON document, nothing else.")
def ls(root: Path, as_json: bool) -> None:
    """List the runs in ROOT (default runs/): name, seed, time and headline metrics."""
    if not root.is_dir():
        fail_input(InputError(Problem(f"{root}: no such directory")))
    runs = runs_in(root)
    if as_json:
        print_json({"root": str(root), "runs": [{**r, "headline": {k: r["summary"].get(k) for k, _, _ in HEADLINE}}
                                                for r in runs]})
        return
    if not runs:
        click.echo(f"no runs in {root}")
        return
    from rich.console import Console
    from rich.table import Table

    from sim.report.markdown import fmt

    table = Table(title=f"runs in {root}")
    table.add_column("run directory", overflow="fold")
    table.add_column("name")
    table.add_column("seed", justify="right")
    table.add_column("time", no_wrap=True)
    for _, label, _ in HEADLINE:
        table.add_column(label, justify="right", no_wrap=True)
    for r in runs:
        table.add_row(Path(r["run_dir"]).name, r["name"], str(r["seed"]), r["time"].replace("T", " ")[:16],
                      *[fmt(r["summary"].get(k), kind) for k, _, kind in HEADLINE])
    Console(highlight=False, width=None if sys.stdout.isatty() else terminal_width(160)).print(table)
    click.echo(f"{len(runs)} run(s); `trnsim show RUN_DIR` prints one and renders its report again")
