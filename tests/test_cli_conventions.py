"""Command-line conventions: --json documents, show and ls, a fast --version, whole --help lines,
a catalogue that fits 100 columns."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, SCENARIOS, run_cli

SMALL = ("--set", "workload.0.generator.count=200")
HEAVY = ("numpy", "rich", "pydantic", "simpy", "pyarrow", "networkx", "yaml", "matplotlib", "dask")


def strict_json(text: str):
    """The whole of stdout is one JSON document with no NaN or Infinity in it."""
    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_version_imports_nothing_heavy():
    code = ("import sys\nfrom sim.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert proc.stdout.splitlines() == ["trnsim, version 0.1.0", "[]"]


def test_help_lists_every_command_without_cutting_it():
    out = run_cli("--help", check=True).stdout
    commands = ["catalogue", "compare", "ls", "plan", "run", "schema", "show", "sweep", "topology", "trace",
                "validate"]
    for name in commands:
        assert f"\n  {name} " in out, name
    assert not [line for line in out.splitlines() if line.endswith("...") and "[ARGS]" not in line]
    assert "every --slo holds by its 90 % confidence bound." in " ".join(out.split())
    trace = run_cli("trace", "--help", check=True).stdout
    assert not [line for line in trace.splitlines() if line.endswith("...") and "[ARGS]" not in line] and "arrivals by hour." in " ".join(trace.split())


def test_catalogue_fits_100_columns_and_cuts_no_name():
    proc = run_cli("catalogue", env={"COLUMNS": "100"}, check=True)
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "…" not in proc.stdout
    for name in ("trn2u.48xlarge", "p6-b200.48xlarge", "u-p6e-gb200x72", "trainium2", "b200-gb200"):
        assert any(f"│ {name} " in line for line in lines), name
    assert any(line.startswith("[12] trn2u.48xlarge: AWS Neuron") for line in lines)
    data = strict_json(run_cli("catalogue", "--json", check=True).stdout)
    trn2u = next(i for i in data["instances"] if i["name"] == "trn2u.48xlarge")
    assert trn2u["chips"] == 16 and trn2u["per_ultraserver"] == 4 and trn2u["on_demand_usd_per_h"] == 35.76


def test_strict_json_writes_null_for_non_finite_numbers():
    from sim.jsonfile import strict_json

    assert json.loads(strict_json({"a": float("nan"), "b": [float("inf"), 1.5]})) == {"a": None, "b": [None, 1.5]}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    run_cli("run", SCENARIOS / "quickstart.yaml", *SMALL, "--out", root / "qs", "--quiet", check=True)
    run_cli("run", SCENARIOS / "quickstart.yaml", *SMALL, "--seed", "3", "--set", "scheduler.policy=sjf",
            "--out", root / "qs-sjf", "--quiet", check=True)
    return root


def test_run_json_is_the_summary_and_the_directory(tmp_path):
    proc = run_cli("run", SCENARIOS / "quickstart.yaml", *SMALL, "--out", tmp_path / "r", "--json", check=True)
    data = strict_json(proc.stdout)
    assert data["run_dir"] == str(tmp_path / "r")
    assert data["summary"] == json.loads((tmp_path / "r" / "summary.json").read_text())
    assert data["summary"]["jobs_submitted"] == 200 + 150 + 1


def test_topology_and_trace_stats_json():
    data = strict_json(run_cli("topology", SCENARIOS / "quickstart.yaml", "--json", check=True).stdout)
    assert data["pools"][0]["chips"] == 256
    stats = strict_json(run_cli("trace", "stats", SCENARIOS / "traces" / "sample.csv", "--format", "csv",
                                "--json", check=True).stdout)
    assert stats["jobs"] == 150


def test_compare_sweep_and_plan_json(two_runs, tmp_path):
    cmp = strict_json(run_cli("compare", two_runs / "qs", two_runs / "qs-sjf", "--out", tmp_path / "c", "--json",
                              check=True).stdout)
    assert [v["label"] for v in cmp["variants"]] == ["qs", "qs-sjf"] and cmp["out"] == str(tmp_path / "c")
    assert cmp == {"out": str(tmp_path / "c"), **json.loads((tmp_path / "c" / "compare.json").read_text())}
    sweep = strict_json(run_cli("sweep", SCENARIOS / "quickstart.yaml", *SMALL, "--grid",
                                "cluster.pools.0.ultraservers=3,5", "--serial", "--out", tmp_path / "s", "--json",
                                check=True).stdout)
    assert sweep["ran"] == 2 and sweep["failed"] == 0 and len(sweep["rows"]) == 2
    assert [r["grid.cluster.pools.0.ultraservers"] for r in sweep["rows"]] == [3, 5]
    assert sweep["rows"][0]["utilisation"] > sweep["rows"][1]["utilisation"]
    plan = strict_json(run_cli("plan", SCENARIOS / "quickstart.yaml", *SMALL, "--slo", "p95_wait<=4h", "--vary",
                               "cluster.pools.0.ultraservers=2..8", "--seeds", "2", "--serial", "--out",
                               tmp_path / "p", "--json", check=True).stdout)
    written = json.loads((tmp_path / "p" / "plan.json").read_text())
    assert plan["answer"] == written["answer"] and plan["probes"] == written["probes"]
    assert plan["answer_line"].startswith(f"answer: cluster.pools.0.ultraservers = {plan['answer']} ")


def test_show_prints_the_summary_and_renders_the_report_again(two_runs):
    run = two_runs / "qs"
    before = (run / "report.md").read_text()
    (run / "report.html").unlink()
    proc = run_cli("show", run, check=True)
    assert "│ mean wait " in proc.stdout and "trnsim: quickstart (seed 7)" in proc.stdout
    assert (run / "report.html").is_file() and (run / "plots" / "utilisation.png").is_file()
    assert (run / "report.md").read_text() == before, "the report drawn again is the one the run wrote"
    summary = json.loads((run / "summary.json").read_text())
    assert strict_json(run_cli("show", run, "--json", "--no-report", check=True).stdout)["summary"] == summary


def test_show_refuses_what_is_not_a_run_directory(tmp_path):
    proc = run_cli("show", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{tmp_path}: not a complete run directory (missing summary.json, jobs.parquet, " \
                                  "timeseries.csv, scenario.yaml)"


def test_ls_lists_runs_with_headline_metrics(two_runs, tmp_path):
    proc = run_cli("ls", two_runs, env={"COLUMNS": "160"}, check=True)
    rows = [line for line in proc.stdout.splitlines() if line.startswith("│ qs")]
    assert len(rows) == 2 and "quickstart" in rows[0] and "│    3 │" in rows[1]
    data = strict_json(run_cli("ls", two_runs, "--json", check=True).stdout)
    assert sorted(r["seed"] for r in data["runs"]) == [3, 7]
    sjf = next(r for r in data["runs"] if r["seed"] == 3)
    assert sjf["headline"]["avg_wait_s"] == json.loads((two_runs / "qs-sjf" / "summary.json").read_text())["avg_wait_s"]
    assert run_cli("ls", tmp_path / "none").returncode == 2
