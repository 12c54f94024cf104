"""The run-directory and command-line contracts (docs/architecture.md), through the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml
from conftest import (
    ONE_CHIP_CATALOGUE,
    SCENARIOS,
    TINY_HEAD,
    Run,
    run_cli,
    run_scenario,
    write_scenario,
)

from sim import metric_registry as registry
from sim import names
from sim.cli.common import run_key

# summary.json's keys are sim.metric_registry's (tests/test_metric_registry.py checks a run against it)
INTEGER_KEYS = {m.key for m in registry.METRICS if m.type == "integer"}
FRACTION_KEYS = {m.key for m in registry.METRICS if m.unit == "fraction"} | {"jain_fairness"}
COST_KEYS = {"cost_usd", "usd_per_useful_chip_hour", "usd_per_useful_pflop_day"}

JOB_COLUMNS = [
    "job_id", "entry", "user", "queue", "pool", "submit_s", "start_s", "end_s", "requested_s",
    "chips_requested", "chips_allocated", "wait_s", "jct_s", "run_s", "tier", "restarts",
    "preemptions", "resizes", "lost_chip_s", "ettr", "state", "recorded_wait_s",
]
STATES = set(names.JOB_STATES)
TIERS = set(names.TIERS)
SERIES_HEADER = "t_s,busy_chips,down_chips,running_jobs,queued_jobs,queued_chips,power_w,installed_chips,speed_factor"

# The README's quickstart (scenarios/quickstart.yaml): this exact example must validate and run.
QUICKSTART_EXAMPLE = """\
name: quickstart
description: FIFO on four Trn2 UltraServers (256 chips), Poisson arrivals
seed: 7
cluster:
  pools:
    - name: trn2
      instance: trn2u.48xlarge  # UltraServer members; trn2.48xlarge has no NeuronLink across instances
      count: 16                 # instances; or ultraservers: 4, chips, power, budget
  pue: 1.15
workload:
  - generator:
      count: 2500
      arrivals: {poisson: {rate: 5/h}}
      chips: {choice: {values: [1, 4, 16, 64], weights: [0.5, 0.3, 0.15, 0.05]}}
      duration: {lognormal: {median: 2h, sigma: 1.2}}
  - trace: {path: traces/sample.csv, format: csv}
  - jobs:
      - {id: frontier, submit: 0s, chips: 64, duration: 3d}
scheduler:
  policy: fifo
  placement: first_fit
"""

# Two 16-chip instances (32 chips); ci: shrinks it to one instance and five generated jobs.
TINY = TINY_HEAD + """\
  - jobs:
      - {id: frontier, submit: 0s, chips: 16, duration: 2h}
scheduler:
  policy: fifo
ci:
  workload.0.generator.count: 5
  cluster.pools.0.chips: 16
"""


def report_section(report: str, heading: str) -> str:
    """The text of report.md's section whose heading starts with `heading` (up to the next one)."""
    m = re.search(rf"^## {re.escape(heading)}.*?(?=^## |\Z)", report, re.M | re.S)
    assert m, f"report.md has no section {heading!r}"
    return m.group(0)


def resolved(run: Run) -> dict:
    return yaml.safe_load((run.path / "scenario.yaml").read_text())


def column(run: Run, name: str) -> list:
    return run.jobs.column(name).to_pylist()


def series(run: Run) -> dict[str, np.ndarray]:
    return {name: np.asarray(run.series.column(name).to_pylist(), dtype=float) for name in run.series.column_names}


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> Run:
    out = tmp_path_factory.mktemp("quickstart") / "run"
    run_cli("run", SCENARIOS / "quickstart.yaml", "--out", out, "--quiet", check=True)
    return Run(out)


# --- summary.json -----------------------------------------------------------------------------

def test_summary_has_exactly_designs_keys(quickstart):
    s = quickstart.summary
    pools = [p["name"] for p in resolved(quickstart)["cluster"]["pools"]]
    assert sorted(s) == sorted(registry.keys(pools))


def check_summary_types(s: dict, *, unknown: set[str] = frozenset()) -> None:
    for key, value in s.items():
        if key in unknown:
            assert value is None, f"{key} should be null (its input is unknown), got {value!r}"
            continue
        if key == "horizon_s" and value is None:  # null: the scenario has no horizon
            continue
        assert value is not None, f"{key} is null although its inputs are known"
        if key in INTEGER_KEYS or key.endswith(".chips"):
            assert type(value) is int and value >= 0, (key, value)
        elif key == "wait_censored":
            assert type(value) is bool
        elif key == "scenario_sha256":
            assert re.fullmatch(r"[0-9a-f]{64}", value), value
        elif key == "version":
            assert isinstance(value, str) and value
        else:
            assert type(value) in (int, float) and math.isfinite(value) and value >= 0, (key, value)
            if key in FRACTION_KEYS or key.endswith(".utilisation"):
                assert value <= 1 + 1e-9, (key, value)


def test_summary_types_and_no_nulls_when_everything_is_known(quickstart):
    s = quickstart.summary
    check_summary_types(s)
    assert s["seed"] == 7
    assert s["chips"] == 256 and s["instances"] == 16 and s["pool.trn2.chips"] == 256
    assert s["wait_censored"] is False and s["jobs_unstarted"] == 0
    assert s["rows_skipped"] == 0 and s["jobs_rejected"] == 0


def test_summary_counts_agree_with_the_jobs_table(quickstart):
    s = quickstart.summary
    states = column(quickstart, "state")
    assert s["jobs_submitted"] == len(states) == 2500 + 150 + 1
    for state in ("completed", "failed", "killed", "rejected"):
        assert s[f"jobs_{state}"] == states.count(state), state
    assert s["jobs_unstarted"] == states.count("queued")
    assert s["jobs_failed"] > 0 and s["jobs_killed"] > 0   # sample.csv has failed and killed rows


def test_null_only_where_the_input_is_unknown(tmp_path):
    """A catalogue instance without a price: cost keys are null, nothing else is."""
    run = run_scenario(tmp_path, {
        "name": "noprice", "catalogue": ONE_CHIP_CATALOGUE,
        "cluster": {"pools": [{"name": "cpu", "instance": "hpc-node", "count": 4}]},
        "workload": [{"generator": {"count": 40, "arrivals": {"poisson": {"rate": "3/h"}}, "chips": 1,
                                    "duration": {"exponential": {"mean": "1h"}}}}],
    })
    check_summary_types(run.summary, unknown=COST_KEYS)
    assert run.summary["energy_mwh"] > 0
    assert "unknown" in (run.path / "report.md").read_text()


# --- jobs.parquet -----------------------------------------------------------------------------

def test_jobs_table_columns_types_and_states(quickstart):
    jobs = quickstart.jobs
    assert jobs.column_names == JOB_COLUMNS
    schema = jobs.schema
    for name in ("job_id", "entry", "user", "queue", "pool", "tier", "state"):
        assert schema.field(name).type == pa.string(), name
    for name in ("chips_requested", "chips_allocated", "restarts", "preemptions", "resizes"):
        assert pa.types.is_integer(schema.field(name).type), name
    for name in ("submit_s", "start_s", "end_s", "requested_s", "wait_s", "jct_s", "run_s", "lost_chip_s"):
        assert pa.types.is_floating(schema.field(name).type), name
    assert set(column(quickstart, "state")) <= STATES
    assert set(column(quickstart, "tier")) - {None} <= TIERS
    ids = column(quickstart, "job_id")
    assert len(set(ids)) == len(ids)
    assert "frontier" in ids                                  # jobs: ids are kept
    assert sum(i.startswith("w1-") for i in ids) == 150       # trace ids become <entry>-<job_id>


def test_jobs_rows_are_consistent(quickstart):
    for row in quickstart.jobs.to_pylist():
        if row["state"] in ("completed", "failed", "killed"):
            assert row["start_s"] is not None and row["end_s"] is not None, row
            assert row["wait_s"] == pytest.approx(row["start_s"] - row["submit_s"], abs=1e-6)
            assert row["jct_s"] == pytest.approx(row["end_s"] - row["submit_s"], abs=1e-6)
            assert row["run_s"] == pytest.approx(row["end_s"] - row["start_s"], rel=1e-9, abs=1e-6)
            assert row["chips_allocated"] >= row["chips_requested"]
            assert row["pool"] == "trn2" and row["tier"] in TIERS
        else:
            assert row["end_s"] is None and row["jct_s"] is None, row


# --- timeseries.csv ---------------------------------------------------------------------------

def test_timeseries_is_a_step_function_with_one_row_per_change(quickstart):
    assert (quickstart.path / "timeseries.csv").read_text().splitlines()[0] == SERIES_HEADER
    cols = series(quickstart)
    t = cols["t_s"]
    values = np.stack([cols[n] for n in SERIES_HEADER.split(",")[1:]], axis=1)
    assert len(t) > 100
    assert np.all(np.diff(t) > 0), "one row per time"
    unchanged = np.all(values[1:] == values[:-1], axis=1)
    assert not unchanged.any(), f"rows {np.flatnonzero(unchanged)[:5] + 1} repeat the previous row"
    assert cols["busy_chips"].max() <= 256 and cols["busy_chips"].min() >= 0
    assert np.all(cols["power_w"] > 0)
    assert cols["power_w"].max() / 1e6 == pytest.approx(quickstart.summary["peak_power_mw"])


def test_timeseries_written_in_slices_is_the_same_file(quickstart, tmp_path, monkeypatch):
    """timeseries.csv is built and written SERIES_ROWS rows at a time: any slice size gives the same bytes."""
    from sim import rundir
    from sim.run import simulate
    from sim.scenario.loader import load

    result = simulate(load(SCENARIOS / "quickstart.yaml", []))
    series = result.outcome.series
    assert len(series["t_s"]) % 7  # the last slice is a short one
    monkeypatch.setattr(rundir, "SERIES_ROWS", 7)
    rundir.write_series(series, None, result.outcome.end_time, tmp_path / "timeseries.csv")
    assert (tmp_path / "timeseries.csv").read_bytes() == (quickstart.path / "timeseries.csv").read_bytes()


def test_rerun_of_the_resolved_scenario_is_identical_and_step_keeps_utilisation(quickstart, tmp_path):
    """scenario.yaml repeats the run; --timeseries-step 1h writes hourly time-averages."""
    out = tmp_path / "again"
    run_cli("run", quickstart.path / "scenario.yaml", "--out", out, "--quiet", "--timeseries-step", "1h",
            check=True)
    again = Run(out)
    first = {k: v for k, v in quickstart.summary.items() if k != "wall_s"}
    assert {k: v for k, v in again.summary.items() if k != "wall_s"} == first

    assert (out / "timeseries.csv").read_text().splitlines()[0] == SERIES_HEADER
    cols = series(again)
    t = cols["t_s"]
    assert np.array_equal(t, 3600.0 * np.arange(len(t))), "rows at multiples of 3600 s"
    end = float(np.max(column(again, "end_s")))
    assert t[-1] < end <= t[-1] + 3600
    widths = np.append(np.diff(t), end - t[-1])
    s = again.summary
    busy = float(np.sum(cols["busy_chips"] * widths))
    assert busy / (s["chips"] * s["makespan_s"]) == pytest.approx(s["utilisation"], rel=1e-6)


# --- scenario.yaml, report, plots -------------------------------------------------------------

def test_scenario_yaml_is_the_resolved_scenario_and_its_hash(quickstart):
    raw = (quickstart.path / "scenario.yaml").read_bytes()
    assert quickstart.summary["scenario_sha256"] == hashlib.sha256(raw).hexdigest()
    data = yaml.safe_load(raw)
    assert data["seed"] == 7 and data["name"] == "quickstart"
    trace = Path(data["workload"][1]["trace"]["path"])
    assert trace.is_absolute() and trace.exists(), "a resolved path must work from anywhere"


RUN_PLOTS = ["jct_by_size.png", "power_cost.png", "queue.png", "tiers.png", "timeline.png", "utilisation.png",
             "wait_by_size.png", "wait_cdf.png"]


def test_run_directory_holds_exactly_the_contracts_files(quickstart):
    assert sorted(p.name for p in quickstart.path.iterdir()) == [
        "jobs.parquet", "plots", "report.html", "report.md", "scenario.yaml", "summary.json", "timeseries.csv"]
    assert sorted(p.name for p in (quickstart.path / "plots").iterdir()) == RUN_PLOTS, \
        "no failures or lost work in the quickstart: no failures.png"


def test_report_and_plots_exist(quickstart):
    report = (quickstart.path / "report.md").read_text()
    assert report.startswith("# ") and "quickstart" in report
    for name in RUN_PLOTS:
        assert f"plots/{name}" in report, name
        png = (quickstart.path / "plots" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000, name
    assert "ESTIMATE" in report
    for heading in ("Headline", "Scenario", "Assumptions", "Utilisation and queue", "Waits and job completion times",
                    "Placement", "Power and cost", "Longest waits"):
        report_section(report, heading)
    assert "## Failures" not in report


def test_report_html_is_self_contained_and_has_the_same_numbers(quickstart):
    page = (quickstart.path / "report.html").read_text()
    assert "<title>trnsim run: quickstart</title>" in page
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page), "nothing may load from the network"
    assert "<script" not in page and "@import" not in page
    assert page.count('<img src="data:image/png;base64,') == len(RUN_PLOTS)
    report = (quickstart.path / "report.md").read_text()
    cells = {c.strip() for line in report.splitlines() if line.startswith("| ") for c in line.strip("|").split(" | ")}
    cells -= {"", "---", "---:"}
    import html as htmlmod

    for cell in cells:  # every number and name in report.md's tables is on the page
        assert htmlmod.escape(cell.replace("`", ""), quote=False) in page.replace("<code>", "").replace(
            "</code>", ""), cell


def test_report_by_size_class_agrees_with_the_jobs_table(quickstart):
    section = report_section((quickstart.path / "report.md").read_text(), "Waits and job completion times")
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| chips")}
    chips = np.asarray(column(quickstart, "chips_requested"))
    assert int(rows["1"][1].replace(",", "")) == int(np.sum(chips == 1))
    assert int(rows["2–16"][1].replace(",", "")) == int(np.sum((chips >= 2) & (chips <= 16)))
    assert int(rows["17–64"][1].replace(",", "")) == int(np.sum((chips >= 17) & (chips <= 64)))
    assert "65–1,024" not in rows, "classes without jobs are left out"


def test_report_lists_the_longest_waits(quickstart):
    section = report_section((quickstart.path / "report.md").read_text(), "Longest waits")
    ids = [line.split(" | ")[0].strip("| ") for line in section.splitlines()
           if line.startswith("| ") and not line.startswith("| job |")]
    waits = np.asarray([w if w is not None else -1 for w in column(quickstart, "wait_s")])
    order = np.argsort(-waits, kind="stable")[:20]
    assert ids == [column(quickstart, "job_id")[i] for i in order]


def test_report_draws_failures_and_lost_work_when_present(tmp_path):
    """Preemptions lose work: the report gets a failures and lost-work section and figure."""
    run = run_scenario(tmp_path, """\
name: preempt
cluster:
  pools: [{name: trn2, instance: trn2.48xlarge, count: 1}]
workload:
  - jobs:
      - {id: low, submit: 0s, chips: 16, duration: 4h, priority: 0}
      - {id: high, submit: 1h, chips: 16, duration: 1h, priority: 5}
scheduler:
  policy: priority
""")
    assert run.summary["preemptions"] == 1 and run.summary["lost_chip_s"] > 0
    report = (run.path / "report.md").read_text()
    section = report_section(report, "Failures and lost work")
    assert f"| chip-hours of work lost | {run.summary['lost_chip_s'] / 3600:,.1f} |" in section
    assert (run.path / "plots" / "failures.png").stat().st_size > 1000
    assert "plots/failures.png" in report
    figures = len(list((run.path / "plots").iterdir()))
    assert (run.path / "report.html").read_text().count('<img src="data:image/png') == figures


# --- the CLI options that shape a run ---------------------------------------------------------

@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> dict:
    """TINY run with no --out, from the scenario's own directory."""
    cwd = tmp_path_factory.mktemp("cwd")
    write_scenario(cwd, TINY, name="tiny.yaml")
    before = dt.datetime.now().replace(microsecond=0)
    proc = run_cli("run", "tiny.yaml", "--quiet", cwd=cwd, check=True)
    after = dt.datetime.now()
    runs = sorted((cwd / "runs").iterdir())
    assert len(runs) == 1, f"exactly one run directory, nothing temporary: {runs}"
    return {"cwd": cwd, "stdout": proc.stdout, "run": Run(runs[0]), "before": before, "after": after}


def test_default_run_directory(default_run):
    run = default_run["run"]
    m = re.fullmatch(r"tiny-(\d{8}T\d{6})-([0-9a-f]{8})", run.path.name)
    assert m, run.path.name
    stamp = dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S")
    assert default_run["before"] <= stamp <= default_run["after"]
    assert m.group(2) == run_key(run.summary["scenario_sha256"], run.summary["seed"])[:8]
    assert (default_run["cwd"] / default_run["stdout"].strip()).resolve() == run.path.resolve()
    assert run.summary["seed"] == 1
    assert run.summary["jobs_submitted"] == 21, "without --ci the ci: block is not applied"


def test_seed_overrides_the_scenario(default_run, tmp_path):
    base = default_run["run"]
    run = run_scenario(tmp_path, TINY, "--seed", "123")
    assert run.summary["seed"] == 123
    assert resolved(run)["seed"] == 123
    assert run.summary["scenario_sha256"] == hashlib.sha256((run.path / "scenario.yaml").read_bytes()).hexdigest()
    assert run.summary["scenario_sha256"] != base.summary["scenario_sha256"]
    assert column(run, "submit_s") != column(base, "submit_s"), "another seed draws other arrivals"


def test_set_changes_the_run_and_the_resolved_scenario(tmp_path):
    run = run_scenario(tmp_path, TINY, "--set", "cluster.pools.0.count=3", "--set", "workload.0.generator.count=7")
    s = run.summary
    assert (s["chips"], s["instances"], s["pool.trn2.chips"]) == (48, 3, 48)
    assert s["jobs_submitted"] == 8
    data = resolved(run)
    assert data["cluster"]["pools"][0]["count"] == 3
    assert data["workload"][0]["generator"]["count"] == 7


def test_ci_applies_the_ci_block(tmp_path):
    run = run_scenario(tmp_path, TINY, "--ci")
    s = run.summary
    assert s["jobs_submitted"] == 6
    assert (s["chips"], s["instances"]) == (16, 1)
    pool = resolved(run)["cluster"]["pools"][0]
    assert pool["chips"] == 16 and "count" not in pool, "a ci: sizing key replaces the other"


def test_horizon_leaves_unfinished_jobs_open(tmp_path):
    run = run_scenario(tmp_path, """\
name: horizon
horizon: 3h
cluster:
  pools: [{name: trn2, instance: trn2.48xlarge, count: 1}]
workload:
  - jobs:
      - {id: done, submit: 0s, chips: 16, duration: 1h}
      - {id: long, submit: 0s, chips: 16, duration: 10h}
      - {id: waiting, submit: 0s, chips: 16, duration: 1h}
""")
    rows = {r["job_id"]: r for r in run.jobs.to_pylist()}
    assert rows["done"]["state"] == "completed" and rows["done"]["end_s"] == 3600
    assert rows["long"]["state"] == "running" and rows["long"]["start_s"] == 3600
    assert rows["long"]["end_s"] is None and rows["long"]["jct_s"] is None
    assert rows["waiting"]["state"] == "queued"
    assert rows["waiting"]["start_s"] is None and rows["waiting"]["end_s"] is None
    s = run.summary
    assert s["wait_censored"] is True and s["jobs_unstarted"] == 1
    assert s["makespan_s"] == 3 * 3600
    assert s["jobs_completed"] == 1
    assert s["utilisation"] == pytest.approx(1.0)


BAD_TRACE = """\
job_id,submit_s,chips,duration_s,status
a,0,4,3600,completed
b,10,four,3600,completed
c,20,4
d,30,4,3600,finished
a,40,4,3600,completed
e,50,4,3600,killed
"""
BAD_ROWS = {3: "chips", 4: "duration_s", 5: "finished", 6: "duplicate"}  # line -> part of the reason


def test_trace_with_bad_rows_runs_and_lists_them(tmp_path):
    (tmp_path / "bad.csv").write_text(BAD_TRACE)
    run = run_scenario(tmp_path, {
        "name": "badtrace",
        "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 1}]},
        "workload": [{"name": "t", "trace": {"path": "bad.csv", "format": "csv"}}],
    })
    assert run.summary["rows_skipped"] == len(BAD_ROWS)
    assert sorted(column(run, "job_id")) == ["t-a", "t-e"]
    assert dict(zip(column(run, "job_id"), column(run, "state"), strict=True)) == {"t-a": "completed",
                                                                                   "t-e": "killed"}
    report = report_section((run.path / "report.md").read_text(), "Skipped trace rows")
    for line, reason in BAD_ROWS.items():
        rows = [r for r in report.splitlines() if r.startswith("|") and f"| {line} |" in r]
        assert len(rows) == 1, f"line {line} not listed once in report.md"
        assert reason in rows[0], rows[0]


def test_generator_job_larger_than_the_cluster_is_rejected_and_listed(tmp_path):
    run = run_scenario(tmp_path, {
        "name": "rejected",
        "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 2}]},
        "workload": [{"name": "gen", "generator": {
            "count": 30, "arrivals": {"poisson": {"rate": "10/h"}},
            "chips": {"choice": {"values": [4, 64], "weights": [0.7, 0.3]}}, "duration": "1h"}}],
    })
    rejected = [r for r in run.jobs.to_pylist() if r["state"] == "rejected"]
    assert rejected and all(r["chips_requested"] == 64 for r in rejected)
    assert all(r["start_s"] is None and r["end_s"] is None for r in rejected)
    assert run.summary["jobs_rejected"] == len(rejected)
    assert run.summary["jobs_completed"] == 30 - len(rejected)
    report = (run.path / "report.md").read_text()
    for r in rejected:
        assert re.search(rf"^\| {re.escape(r['job_id'])} \|.*64", report, re.MULTILINE), r["job_id"]


# --- catalogue and bundled scenarios ----------------------------------------------------------

def test_catalogue_lists_the_ultraserver_instance_in_a_wide_terminal():
    proc = run_cli("catalogue", env={"COLUMNS": "250"}, check=True)
    assert "trn2u.48xlarge" in proc.stdout
    assert "trainium2" in proc.stdout


def test_catalogue_lists_the_ultraserver_instance_when_piped():
    proc = run_cli("catalogue", env={"COLUMNS": "80"}, check=True)
    assert "trn2u.48xlarge" in proc.stdout


def test_quickstart_is_exactly_designs_example():
    assert yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text()) == yaml.safe_load(QUICKSTART_EXAMPLE)
    lines = (SCENARIOS / "traces" / "sample.csv").read_text().splitlines()
    assert {"job_id", "submit_s", "chips", "duration_s"} <= set(lines[0].split(","))
    assert 1 <= len(lines) - 1 <= 200


BUNDLED = sorted(SCENARIOS.rglob("*.yaml"))


@pytest.mark.parametrize("scenario", BUNDLED, ids=[str(p.relative_to(SCENARIOS)) for p in BUNDLED])
def test_bundled_scenario_runs(scenario, tmp_path):
    data = yaml.safe_load(scenario.read_text())
    args = ["--ci"] if data.get("ci") else []
    out = tmp_path / "run"
    proc = run_cli("run", scenario, "--out", out, "--quiet", *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out), "--quiet prints only where the results are"
    assert json.loads((out / "summary.json").read_text())["jobs_submitted"] > 0


def test_bundled_scenarios_exist():
    assert SCENARIOS / "quickstart.yaml" in BUNDLED



def test_a_run_outside_a_terminal_logs_plain_progress_lines(tmp_path):
    """Not a terminal (a log, CI): progress is a plain stderr line every TRNSIM_PROGRESS_EVERY
    seconds (here 0: at every report, the last one at the end of the run); --quiet has none."""
    proc = run_cli("run", SCENARIOS / "quickstart.yaml", "--out", tmp_path / "run",
                   env={"TRNSIM_PROGRESS_EVERY": "0"}, check=True)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("simulating: ")]
    assert lines and re.search(r"t=\S+ .* jobs [\d,]+/[\d,]+ .* events/s", lines[-1]), proc.stderr
    quiet = run_cli("run", SCENARIOS / "quickstart.yaml", "--out", tmp_path / "quiet", "--quiet",
                    env={"TRNSIM_PROGRESS_EVERY": "0"}, check=True)
    assert "simulating" not in quiet.stderr
    bad = run_cli("run", SCENARIOS / "quickstart.yaml", "--out", tmp_path / "bad", env={"TRNSIM_PROGRESS_EVERY": "1m"})
    assert bad.returncode == 2 and "TRNSIM_PROGRESS_EVERY: expected seconds, got '1m'" in bad.stderr
    assert not (tmp_path / "bad").exists()



def test_sigterm_right_after_the_temporary_directory_is_made_leaves_nothing(tmp_path, monkeypatch):
    """A SIGTERM that lands between making the temporary directory and the cleanup around it waits
    (it is blocked there) and then exits through that cleanup: status 143, nothing left."""
    import os
    import signal
    import tempfile

    from sim import outdir

    made = tempfile.mkdtemp

    def mkdtemp_then_sigterm(*args, **kwargs):
        path = made(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # at the worst moment: the directory exists, no cleanup yet
        return path

    monkeypatch.setattr(outdir.tempfile, "mkdtemp", mkdtemp_then_sigterm)
    with pytest.raises(SystemExit) as exit_, outdir.atomic_dir(tmp_path / "out"):
        pass
    assert exit_.value.code == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
    assert not outdir._held  # SIGTERM is not left waiting
