"""Elastic jobs and the `elastic` policy: known answers worked by hand, through the CLI and in
process, and the invariants (chips never over-committed, sizes within range, work <= 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import Run, run_cli, simulate_in_process, write_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

H = 3600.0
RESIZE = 30.0  # scheduler.resize_overhead's default


def cluster(instances: int = 4) -> dict:
    """trn2.48xlarge: 16 chips per instance; 4 instances = 64 chips."""
    return {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": instances}]}


def scenario(jobs: list[dict], policy: str = "elastic", instances: int = 4, **scheduler) -> dict:
    return {"name": "elastic", "seed": 1, "cluster": cluster(instances), "workload": [{"name": "w", "jobs": jobs}],
            "scheduler": {"policy": policy, **scheduler}}


ELASTIC = {"id": "e", "submit": "0s", "chips": 16, "duration": "4h", "elastic": {"min": 16, "max": 64}}
RIGID = {"id": "r", "submit": "0s", "chips": 48, "duration": "2h"}


def by_id(run, column: str) -> dict:
    jobs = run.jobs if hasattr(run, "jobs") and not callable(run.jobs) else None
    table = jobs.to_pydict() if jobs is not None else run
    return dict(zip(table["job_id"], table[column], strict=True))


def test_alone_it_grows_to_max_at_once_and_ends_after_an_hour_and_one_resize(tmp_path):
    # admitted at min (16 chips), then the 48 idle chips are given to it in the same pass:
    # 4 h of work at 16 chips = 1 h at 64, after 30 s of resize overhead
    path = write_scenario(tmp_path, scenario([ELASTIC]))
    run_cli("run", path, "--out", tmp_path / "out", "--quiet", check=True)
    run = Run(tmp_path / "out")
    assert by_id(run, "end_s")["e"] == pytest.approx(H + RESIZE)
    assert by_id(run, "resizes")["e"] == 1
    assert by_id(run, "chips_allocated")["e"] == 64
    assert run.summary["resizes"] == 1
    assert run.summary["goodput"] == pytest.approx(H / (H + RESIZE))  # the resize overhead is not useful


def test_beside_a_rigid_job_it_runs_small_then_grows_when_the_rigid_job_ends(tmp_path):
    # 0-2 h: elastic on 16 chips (half its work), rigid on 48; at 2 h the rigid job ends and the
    # elastic job grows to 64: the other half (2 h at 16 chips) takes 0.5 h, after 30 s
    path = write_scenario(tmp_path, scenario([ELASTIC, RIGID]))
    run_cli("run", path, "--out", tmp_path / "out", "--quiet", check=True)
    run = Run(tmp_path / "out")
    end = by_id(run, "end_s")
    assert end["r"] == pytest.approx(2 * H)
    assert end["e"] == pytest.approx(2.5 * H + RESIZE)
    assert by_id(run, "resizes") == {"e": 1, "r": 0}
    busy = np.asarray(run.series["busy_chips"])
    assert busy.max() == 64
    # every chip busy from 0 to the end: 16 + 48 chips for 2 h, then 64 for 30 min + 30 s
    assert run.summary["utilisation"] == pytest.approx(1.0)
    assert run.summary["pool.trn2.utilisation"] == pytest.approx(1.0)  # each stretch at its own size


def test_running_elastic_jobs_shrink_to_admit_the_head(tmp_path):
    # e (16 h of work at 16 chips) grows to 64 at once; at 1 h a rigid 32-chip job arrives: e
    # shrinks to 32 and r starts at once; at 2 h r ends and e grows back to 64
    long = {**ELASTIC, "duration": "16h"}
    late = {**RIGID, "chips": 32, "submit": "1h", "duration": "1h"}
    result = simulate_in_process(scenario([long, late]))
    o = result.outcome
    ids = result.jobs.id
    e, r = ids.index("e"), ids.index("r")
    assert o.start[r] == pytest.approx(H)  # admitted at once by shrinking e
    done = 4 * (H - RESIZE) / (16 * H)  # 30 s - 1 h at speed 4 (64 chips)
    done += 2 * (H - RESIZE) / (16 * H)  # 1 h + 30 s - 2 h at speed 2 (32 chips)
    assert o.end[e] == pytest.approx(2 * H + RESIZE + (1 - done) * 16 * H / 4)
    assert o.resizes[e] == 3
    assert o.sizes[e] == 64
    sizes = o.stretches()
    assert [int(c) for c in sizes["chips_used"]] == [16, 64, 32]  # the stretches before the last


def test_elastic_jobs_run_rigid_at_their_nominal_size_under_other_policies(tmp_path):
    result = simulate_in_process(scenario([ELASTIC], policy="fifo"))
    assert result.outcome.end[0] == pytest.approx(4 * H)
    assert result.outcome.resizes[0] == 0


def test_sub_linear_scaling_and_the_estimate_flag(tmp_path):
    half = {**ELASTIC, "scaling": 0.5}
    result = simulate_in_process(scenario([half]))
    # at 64 chips the speed is (64/16) ** 0.5 = 2: 4 h of work takes 2 h, after 30 s
    assert result.outcome.end[0] == pytest.approx(2 * H + RESIZE)
    flags = "\n".join(result.assumptions)
    assert "resize costs 30 s" in flags and "ESTIMATE" in flags
    assert "linear scaling" not in flags  # the job gave its scaling
    linear = simulate_in_process(scenario([ELASTIC]))
    assert "linear scaling, ESTIMATE" in "\n".join(linear.assumptions)


def test_elastic_jobs_from_a_generator_class_and_the_neutral_csv(tmp_path):
    (tmp_path / "jobs.csv").write_text("job_id,submit_s,chips,duration_s,min_chips,max_chips\n"
                                       "a,0,16,14400,16,64\nb,0,16,3600,,\n")
    doc = scenario([], instances=4)
    doc["workload"] = [{"name": "t", "trace": {"path": "jobs.csv", "format": "csv"}},
                       {"name": "g", "generator": {"count": 1, "chips": 16, "duration": "4h",
                                                   "submit": "10h", "elastic": {"min": 16, "max": 32}}}]
    path = write_scenario(tmp_path, doc)
    run_cli("run", path, "--out", tmp_path / "out", "--quiet", check=True)
    run = Run(tmp_path / "out")
    end = by_id(run, "end_s")
    # a and b start together (a at 16 chips, b rigid on 16); the 32 spare chips go to a (48 chips,
    # speed 3): 4 h of work in 80 min + 30 s; b ends at 1 h, then a grows to 64 (another 30 s)
    a_done_at_1h = 3 * (H - RESIZE) / (4 * H)
    assert end["t-a"] == pytest.approx(H + RESIZE + (1 - a_done_at_1h) * H)
    assert end["t-b"] == pytest.approx(H)
    assert end["g-job-0"] == pytest.approx(10 * H + RESIZE + 2 * H)  # 4 h at 16 = 2 h at 32


@pytest.mark.parametrize("bad, message", [
    ({"elastic": {"min": 32, "max": 16}}, "max (16) must be >= min (32)"),
    ({"elastic": {"min": 0, "max": 16}}, "elastic.min"),
    ({"elastic": {"min": 16, "max": 64}, "scaling": 1.5}, "scaling"),
    ({"elastic": {"min": 16, "max": 64}, "scaling": ".nan"}, "scaling"),
])
def test_bad_elastic_fields_are_located_input_errors(tmp_path, bad, message):
    text = ("name: bad\ncluster: {pools: [{name: trn2, instance: trn2.48xlarge, count: 4}]}\n"
            "workload:\n  - jobs:\n      - {id: e, chips: 16, duration: 4h, "
            + ", ".join(f"{k}: {v if not isinstance(v, dict) else '{' + ', '.join(f'{a}: {b}' for a, b in v.items()) + '}'}"
                        for k, v in bad.items()) + "}\n")
    path = write_scenario(tmp_path, text)
    proc = run_cli("validate", path)
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:5:" in proc.stderr and message in proc.stderr  # the line of the job
    assert "Traceback" not in proc.stderr


def test_elastic_jobs_with_kill_at_limit_are_refused(tmp_path):
    path = write_scenario(tmp_path, scenario([ELASTIC], kill_at_limit=True))
    proc = run_cli("run", path, "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 2
    assert "elastic" in proc.stderr and "kill_at_limit" in proc.stderr
    assert not (tmp_path / "out").exists()


# --- invariants ------------------------------------------------------------------------------------
job = st.fixed_dictionaries({
    "submit": st.integers(0, 20).map(lambda k: f"{600 * k}s"),
    "duration": st.integers(1, 30).map(lambda k: f"{600 * k}s"),
    "chips": st.sampled_from([1, 4, 16, 32, 48]),
    "elastic": st.one_of(st.none(), st.tuples(st.sampled_from([1, 2, 8, 16, 32]), st.sampled_from([1, 4, 16, 48, 64]))
                         .filter(lambda r: r[0] <= r[1])),
    "scaling": st.sampled_from([None, 0.5, 1.0]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jobs=st.lists(job, min_size=1, max_size=25), failures=st.booleans())
def test_invariants_of_elastic_runs(jobs, failures):
    entries = []
    for k, j in enumerate(jobs):
        entry = {"id": f"j{k}", "submit": j["submit"], "chips": j["chips"], "duration": j["duration"]}
        if j["elastic"] is not None:
            entry["elastic"] = {"min": j["elastic"][0], "max": j["elastic"][1]}
            if j["scaling"] is not None:
                entry["scaling"] = j["scaling"]
        entries.append(entry)
    doc = scenario(entries)
    if failures:
        doc["failures"] = {"mtbf_instance": "1d", "repair": "1h"}
        doc["horizon"] = "3d"
    result = simulate_in_process(doc)
    o = result.outcome
    series = o.series
    assert np.all(np.asarray(series["busy_chips"]) + np.asarray(series["down_chips"]) <= 64), "over-committed"
    ledger_sizes = o.stretches()
    plan = result.plan
    for j, e in (plan.elastic or {}).items():
        used = [int(u) for jj, u in zip(ledger_sizes["job"], ledger_sizes["chips_used"], strict=True) if jj == j]
        if o.pool[j] >= 0:
            used.append(o.sizes[j])
        assert all(e.min <= u <= e.max for u in used), (j, e, used)
    for j in range(len(o.state)):
        if plan.elastic is None or j not in plan.elastic:
            assert o.resizes[j] == 0
    if failures:
        return
    # work is conserved: without failures nothing is lost, so a completed job's stretches, each at
    # its size's speed, add up to exactly its work (1), and a job still running has done less
    starts, ends = ledger_sizes["start"], ledger_sizes["end"]
    overheads, jobs_of = ledger_sizes["overhead_s"], ledger_sizes["job"]
    for j in range(len(o.state)):
        if o.pool[j] < 0:
            continue
        e = (plan.elastic or {}).get(j)
        nominal = plan.run_on[j][0]

        def speed(n: float, e=e, j=j) -> float:
            return 1.0 if e is None else (n / result.jobs.chips[j]) ** e.scaling

        rows = jobs_of == j
        work = float(np.sum((ends[rows] - starts[rows] - overheads[rows])
                            * [speed(u) for u in ledger_sizes["chips_used"][rows]])) / nominal
        last_end = o.end[j] if not math.isnan(o.end[j]) else o.end_time
        work += (last_end - o.segment_start[j] - o.last_overhead[j]) * speed(o.sizes.get(j, result.jobs.chips[j])) / nominal
        if o.state[j] == 2:
            assert work == pytest.approx(1.0, abs=1e-9), (j, work)
        else:
            assert work <= 1.0 + 1e-9
