"""`trnsim sweep` end to end: a local dask cluster, an external scheduler, rows, resume, failures.

Dask clusters cost seconds to start, so only two tests start one; the rest run `--serial`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT, TINY_HEAD, run_cli, write_scenario

from sim import sweep as sweeping
from sim.scenario.loader import run_key

# TINY_HEAD plus an explicit 32-chip job: at count=1 (16 chips) it is too large, and that run fails
# in the worker (explicit jobs larger than every pool are an error), which the sweep records.
SCENARIO = TINY_HEAD + """\
  - jobs:
      - {id: big, submit: 1h, chips: 32, duration: 1h}
"""


def rows_of(out: Path) -> list[dict]:
    return pq.read_table(out / "sweep.parquet").to_pylist()


def test_sweep_on_a_local_dask_cluster_records_rows_failures_and_resumes(tmp_path):
    path = write_scenario(tmp_path, SCENARIO)
    out = tmp_path / "sweep"
    args = ("sweep", path, "--grid", "cluster.pools.0.count=1,2,3", "--grid", "scheduler.policy=fifo,easy_backfill",
            "--seeds", "2", "--out", out)
    proc = run_cli(*args, "--workers", "2")
    assert proc.returncode == 1, proc.stderr  # the count=1 runs failed: exit 1, everything else written
    assert "local dask cluster (2 single-threaded worker processes)" in proc.stdout
    assert "distributed." not in proc.stderr, f"dask's logging reached the user:\n{proc.stderr}"
    rows = rows_of(out)
    assert len(rows) == 12 and len(list((out / "rows").glob("*.parquet"))) == 12
    assert {r["grid.cluster.pools.0.count"] for r in rows} == {1, 2, 3}
    assert {r["grid.scheduler.policy"] for r in rows} == {"fifo", "easy_backfill"}
    assert {r["seed"] for r in rows} == {1, 2}
    failed = [r for r in rows if r["error"]]
    assert {r["grid.cluster.pools.0.count"] for r in failed} == {1} and len(failed) == 4
    assert "32 chips exceed the largest pool" in failed[0]["error"]
    assert failed[0]["utilisation"] is None
    assert "exceed the largest pool" in proc.stderr  # failures are named, one line per run
    for r in rows:
        assert r["run_key"] == run_key(r["scenario_sha256"], r["seed"])
        assert (out / "rows" / f"{r['run_key']}.parquet").is_file()

    # the row is the run `trnsim run` would make: same scenario sha256, same summary
    ok = next(r for r in rows if r["grid.cluster.pools.0.count"] == 2 and r["grid.scheduler.policy"] == "easy_backfill"
              and r["seed"] == 2)
    run_dir = tmp_path / "one"
    run_cli("run", path, "--set", "cluster.pools.0.count=2", "--set", "scheduler.policy=easy_backfill", "--seed", "2",
            "--out", run_dir, "-q", check=True)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["scenario_sha256"] == ok["scenario_sha256"]
    for key in ("avg_wait_s", "utilisation", "jobs_completed", "cost_usd"):
        assert ok[key] == summary[key]

    # a rerun resumes: the good rows are reused, only the failed ones are tried again (in-process here)
    again = run_cli(*args, "--serial")
    assert again.returncode == 1
    assert "ran 4 runs (in this process), reused 8" in again.stdout
    assert len(rows_of(out)) == 12


def _start(argv: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_sweep_on_an_external_scheduler(tmp_path):
    """`dask scheduler` and `dask worker` as docs/sweeps.md says, on localhost with no fixed ports."""
    dask = str(Path(sys.executable).parent / "dask")
    if not Path(dask).exists():
        dask_cmd = [sys.executable, "-m", "dask"]
    else:
        dask_cmd = [dask]
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = _start([*dask_cmd, "scheduler", "--scheduler-file", str(scheduler_file), "--port", "0",
                        "--no-dashboard", "--host", "127.0.0.1"], tmp_path / "scheduler.log")
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert scheduler.poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "dask scheduler did not write its file"
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://")
        worker = _start([*dask_cmd, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                         "--nworkers", "1", "--no-dashboard"], tmp_path / "worker.log")
        path = write_scenario(tmp_path, TINY_HEAD)
        out = tmp_path / "sweep"
        proc = run_cli("sweep", path, "--grid", "scheduler.policy=fifo,sjf", "--seeds", "2", "--scheduler", address,
                       "--out", out)
        assert proc.returncode == 0, proc.stderr + (tmp_path / "worker.log").read_text()
        assert address in proc.stdout
        rows = rows_of(out)
        assert len(rows) == 4 and not any(r["error"] for r in rows)
        assert all(r["jobs_completed"] == 20 for r in rows)
    finally:
        if worker is not None:
            _stop(worker)
        _stop(scheduler)


def test_grid_values_split_on_commas_outside_brackets():
    assert sweeping.split_values("[1, 4],[16],{choice: {values: [1, 2]}},8") == [
        "[1, 4]", "[16]", "{choice: {values: [1, 2]}}", "8"]
    axis = sweeping.parse_grid("workload.0.generator.chips=[1, 4],2h,'$2.5M',fifo")
    assert axis.values == [[1, 4], "2h", "$2.5M", "fifo"]


@pytest.mark.parametrize("grid, message", [
    ("cluster.pools.0.cont=1,2", "--grid cluster.pools.0.cont: unknown key 'cont' (did you mean 'count'?); "
     "valid keys: name, instance, count, ultraservers, chips, power, budget, purchase, pricing"),
    ("cluster.pools.0.count", "--grid cluster.pools.0.count: expected PATH=VALUES"),
    ("cluster.pools.0.count=", "--grid cluster.pools.0.count: no values"),
    ("cluster.pools.0.count=1,1", "--grid cluster.pools.0.count: value '1' is given twice"),
    ("workload.0.generator.chips=[1,2", "--grid workload.0.generator.chips: unbalanced brackets"),
    ("cluster.pools.0.count=1,zero", "--grid cluster.pools.0.count: value 'zero':"),
])
def test_bad_grid_is_one_line_exit_2(tmp_path, grid, message):
    path = write_scenario(tmp_path, TINY_HEAD)
    proc = run_cli("sweep", path, "--grid", grid, "--out", tmp_path / "out", "--serial")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_sweep_refuses_a_foreign_out_directory_but_force_empties_it(tmp_path):
    path = write_scenario(tmp_path, TINY_HEAD)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    proc = run_cli("sweep", path, "--grid", "scheduler.policy=fifo", "--out", out, "--serial")
    assert proc.returncode == 2 and "holds no sweep rows/" in proc.stderr
    proc = run_cli("sweep", path, "--grid", "scheduler.policy=fifo", "--out", out, "--serial", "--force", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    assert not (out / "keep.txt").exists() and len(rows_of(out)) == 1


def test_table_of_mixed_rows_keeps_every_column():
    table = sweeping.table_of([{"run_key": "a", "x": 1, "error": None}, {"run_key": "b", "x": 2.5, "y": "s",
                                                                          "error": "boom"}])
    assert table.column("x").to_pylist() == [1.0, 2.5]
    assert table.column("y").to_pylist() == [None, "s"]
    assert table.column("error").to_pylist() == [None, "boom"]


def test_run_one_is_a_pure_function_of_scenario_and_seed(tmp_path):
    from sim.scenario import loader

    loaded = loader.load(write_scenario(tmp_path, TINY_HEAD))
    data = yaml.safe_load(loaded.resolved_yaml(3))
    a, b = sweeping.run_one(data, 3), sweeping.run_one(data, 3)
    a["summary"].pop("wall_s")
    b["summary"].pop("wall_s")
    assert a == b and a["summary"]["seed"] == 3
    assert sweeping.run_one({"name": "x"}, 1)["error"].startswith("InputError")


def test_grid_values_with_units_sit_on_a_numeric_axis_and_policies_are_categories():
    from sim.report.fan import numeric_positions

    assert numeric_positions([1, 2, 8]) == {1: 1.0, 2: 2.0, 8: 8.0}
    assert numeric_positions(["30m", "1h", "4h"]) == {"30m": 1800.0, "1h": 3600.0, "4h": 14400.0}
    assert numeric_positions(["3/h", "6/h", "1/s"]) == {"3/h": 3 / 3600, "6/h": 6 / 3600, "1/s": 1.0}
    assert numeric_positions(["$1M/yr", "$2M/yr"]) == {"$1M/yr": 1e6, "$2M/yr": 2e6}
    assert numeric_positions(["fifo", "sjf"]) is None
    assert numeric_positions(["1h", "fifo"]) is None
    assert numeric_positions([True, False]) is None


def test_the_sweep_table_shows_the_spread_over_seeds_and_jobs_never_started(capsys):
    from sim.cli.sweep import print_sweep

    rows = [{"grid.scheduler.policy": p, "seed": s, "error": None, "utilisation": u, "avg_wait_s": w,
             "p95_wait_s": 2 * w, "jobs_unstarted": n, "wait_censored": n > 0}
            for p, s, u, w, n in (("fifo", 1, 0.5, 3600.0, 2), ("fifo", 2, 0.7, 7200.0, 4),
                                  ("sjf", 1, 0.6, 60.0, 0), ("sjf", 2, 0.6, 60.0, 0))]
    print_sweep(rows, ["scheduler.policy"])
    out = capsys.readouterr().out
    assert "never started" in out and "± half-width of the 95% CI" in out
    fifo = next(line for line in out.splitlines() if "fifo" in line)
    # two seeds: half-width = t(0.975, 1) x s / sqrt(2) = 12.706 x |a - b| / 2
    assert "60.0% ± 127.1 pp" in fifo and "1.5h ± 6.35h" in fifo and "3 ± 12.7" in fifo
    sjf = next(line for line in out.splitlines() if "sjf" in line)
    assert "60.0% ± 0.0 pp" in sjf and "0 ± 0" in sjf
