"""Determinism and named seed streams, through the CLI.

Same scenario + same seed gives the same run in two processes with different hash seeds (a
set or dict order leaking into the simulation would show); another seed gives another run;
each workload entry draws from its own stream named by its scenario path
(`workload.<name or index>.<field>`), so appending an entry, or reordering named ones,
leaves the other entries' jobs exactly as they were.
"""

from __future__ import annotations

import copy
import json

import pyarrow.parquet as pq
from conftest import Run, run_cli, run_scenario, write_scenario

MIXED = {
    "name": "determinism",
    "seed": 3,
    "cluster": {"pools": [
        {"name": "ultra", "instance": "trn2u.48xlarge", "count": 8},
        {"name": "solo", "instance": "trn2.48xlarge", "count": 4},
    ]},
    "workload": [
        {"name": "research", "generator": {
            "count": 1500, "user": "alice", "queue": "research",
            "arrivals": {"poisson": {"rate": "12/h"}},
            "chips": {"choice": {"values": [1, 4, 16, 32, 64], "weights": [0.4, 0.3, 0.15, 0.1, 0.05]}},
            "duration": {"lognormal": {"median": "1h", "sigma": 1.2}}}},
        {"generator": {
            "count": 800, "user": "bob",
            "arrivals": {"poisson": {"rate": "6/h"}},
            "chips": {"uniform": {"low": 1, "high": 48}},
            "duration": {"exponential": {"mean": "3h"}}}},
        {"jobs": [{"id": "frontier", "submit": "0s", "chips": 128, "duration": "2d", "user": "carol"},
                  {"id": "sweep", "submit": "1h", "chips": 16, "duration": "5h", "user": "carol"}]},
    ],
    "scheduler": {"policy": "fifo", "placement": "first_fit"},
}


def _run_in_process(tmp_path, name: str, scenario_path, *args: str, hash_seed: str = "0") -> Run:
    out = tmp_path / name
    run_cli("run", scenario_path, "--out", out, "--quiet", *args, env={"PYTHONHASHSEED": hash_seed}, check=True)
    return Run(out)


def _without(summary: dict, *keys: str) -> dict:
    return {k: v for k, v in summary.items() if k not in keys}


def test_same_seed_same_run_across_hash_seeds(tmp_path):
    path = write_scenario(tmp_path, MIXED)
    a = _run_in_process(tmp_path, "a", path, hash_seed="0")
    b = _run_in_process(tmp_path, "b", path, hash_seed="4242")
    assert a.summary["jobs_completed"] == 2302 and a.summary["utilisation"] > 0.3  # a run with contention
    assert _without(a.summary, "wall_s") == _without(b.summary, "wall_s")
    # the whole run, not just its summary
    assert pq.read_table(a.path / "jobs.parquet").equals(pq.read_table(b.path / "jobs.parquet"))
    assert (a.path / "timeseries.csv").read_bytes() == (b.path / "timeseries.csv").read_bytes()
    assert (a.path / "scenario.yaml").read_bytes() == (b.path / "scenario.yaml").read_bytes()
    # and the summary file itself differs only in wall_s
    raw_a = json.loads((a.path / "summary.json").read_text())
    raw_b = json.loads((b.path / "summary.json").read_text())
    assert list(raw_a) == list(raw_b)

    other = _run_in_process(tmp_path, "c", path, "--seed", "4", hash_seed="0")
    assert other.summary["seed"] == 4 and a.summary["seed"] == 3
    changed = {k for k in a.summary if a.summary[k] != other.summary[k]}
    assert {"avg_wait_s", "utilisation", "makespan_s", "scenario_sha256"} <= changed
    # the explicit jobs are the same in both seeds; the generated ones are not
    ids_a = a.jobs["job_id"].to_pylist()
    ids_c = other.jobs["job_id"].to_pylist()
    assert sorted(ids_a) == sorted(ids_c)
    by_id_a = dict(zip(ids_a, a.jobs["submit_s"].to_pylist(), strict=True))
    by_id_c = dict(zip(ids_c, other.jobs["submit_s"].to_pylist(), strict=True))
    assert by_id_a["frontier"] == by_id_c["frontier"] == 0.0
    assert by_id_a["research-job-0"] != by_id_c["research-job-0"]


# --- named streams: appending and reordering entries ------------------------------------------

def _small_generator(count: int, rate: str) -> dict:
    return {"count": count, "arrivals": {"poisson": {"rate": rate}},
            "chips": {"choice": {"values": [1, 2, 4, 8]}},
            "duration": {"exponential": {"mean": "30m"}}}


# 64 instances x 16 chips against ~20 busy chips on average: nobody ever waits, so run_s is the
# drawn duration and start_s the drawn submit time, and every drawn quantity is in jobs.parquet
BIG_CLUSTER = {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 64}]}


def _draws(run: Run, entry: str) -> dict[str, tuple[float, int, float]]:
    """job_id -> (submit_s, chips_requested, run_s) for one entry's jobs."""
    t = run.jobs
    assert set(t["wait_s"].to_pylist()) == {0.0}, "the cluster must be big enough that no job waits"
    rows = zip(t["job_id"].to_pylist(), t["entry"].to_pylist(), t["submit_s"].to_pylist(),
               t["chips_requested"].to_pylist(), t["run_s"].to_pylist(), strict=True)
    return {job: (s, c, r) for job, e, s, c, r in rows if e == entry}


def test_appending_an_entry_leaves_the_others_draws_unchanged(tmp_path):
    base = {"name": "append", "seed": 11, "cluster": BIG_CLUSTER,
            "workload": [{"generator": _small_generator(300, "10/h")},
                         {"name": "alpha", "generator": _small_generator(200, "5/h")}],
            "scheduler": {"policy": "fifo", "placement": "first_fit"}}
    longer = copy.deepcopy(base)
    longer["workload"].append({"generator": _small_generator(300, "10/h")})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before = run_scenario(tmp_path / "a", base)
    after = run_scenario(tmp_path / "b", longer)
    assert after.summary["jobs_submitted"] == 800
    for entry, n in (("w0", 300), ("alpha", 200)):
        old, new = _draws(before, entry), _draws(after, entry)
        assert len(old) == n
        assert new == old, f"appending an entry changed entry {entry}'s draws"
    # the appended entry has the same distributions as w0 but its own stream
    w0 = sorted(v[0] for v in _draws(after, "w0").values())
    w2 = sorted(v[0] for v in _draws(after, "w2").values())
    assert len(w2) == 300 and w0 != w2


def test_reordering_named_entries_leaves_their_draws_unchanged(tmp_path):
    alpha = {"name": "alpha", "generator": _small_generator(250, "8/h")}
    beta = {"name": "beta", "generator": _small_generator(250, "8/h")}
    scenario = {"name": "reorder", "seed": 5, "cluster": BIG_CLUSTER, "workload": [alpha, beta],
                "scheduler": {"policy": "fifo", "placement": "first_fit"}}
    swapped = {**scenario, "workload": [beta, alpha]}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run_scenario(tmp_path / "a", scenario)
    second = run_scenario(tmp_path / "b", swapped)
    a1, b1 = _draws(first, "alpha"), _draws(first, "beta")
    assert len(a1) == len(b1) == 250
    # identical specifications, different names: different streams, so a swap of streams would show
    assert [a1[f"alpha-job-{k}"] for k in range(250)] != [b1[f"beta-job-{k}"] for k in range(250)]
    assert _draws(second, "alpha") == a1
    assert _draws(second, "beta") == b1

