"""Numbers that add up: the job counts partition the submitted jobs everywhere they are shown,
and every summary metric is checked against a value worked by hand (not by the code under test)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli, run_scenario, write_scenario

from sim.metrics import PARTITION

H = 3600.0


def _table(stdout: str) -> dict[str, str]:
    """The rows of the terminal table: label -> value."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ \n").split("│")]
        if line.startswith("│") and len(cells) == 2:
            rows[cells[0]] = cells[1]
    return rows


# One 16-chip instance, strict priority with preemption, a 5 h horizon. By hand:
#   done   2 chips, 1 h          runs 0-1 h: completed
#   killed 2 chips, 2 h, asks 30 m, kill_at_limit: killed at 30 m
#   low    12 chips, 10 h        runs 0-2 h, preempted by high at 2 h: waiting to restart at 5 h
#   high   16 chips, 10 h, prio 10, submitted 2 h: running at the horizon
#   later  4 chips, 1 h, submitted 3 h: queued behind high, never started
MIXED = {
    "name": "mixed-ending", "seed": 1, "horizon": "5h",
    "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 1}]},
    "workload": [{"jobs": [
        {"id": "done", "submit": "0s", "chips": 2, "duration": "1h"},
        {"id": "killed", "submit": "0s", "chips": 2, "duration": "2h", "requested": "30m"},
        {"id": "low", "submit": "0s", "chips": 12, "duration": "10h"},
        {"id": "high", "submit": "2h", "chips": 16, "duration": "10h", "priority": 10},
        {"id": "later", "submit": "3h", "chips": 4, "duration": "1h"},
    ]}],
    "scheduler": {"policy": "priority", "kill_at_limit": True},
}


def test_job_counts_partition_the_submitted_jobs_in_summary_table_and_report(tmp_path):
    path = write_scenario(tmp_path, MIXED)
    proc = run_cli("run", path, "--out", tmp_path / "out", check=True)
    import json

    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (s["jobs_completed"], s["jobs_killed"], s["jobs_waiting_restart"], s["jobs_running"],
            s["jobs_unstarted"], s["jobs_failed"], s["jobs_rejected"]) == (1, 1, 1, 1, 1, 0, 0)
    assert sum(s[k] for k in PARTITION) == s["jobs_submitted"] == 5
    assert s["horizon_s"] == 5 * H
    rows = _table(proc.stdout)
    parts = {"completed": 1, "failed": 0, "killed (time limit)": 1, "rejected (too large)": 0,
             "never started": 1, "waiting to restart": 1, "running at the horizon": 1}
    assert {k: int(rows[k]) for k in parts} == parts
    assert int(rows["jobs submitted"]) == sum(parts.values())
    assert rows["window (horizon, 5h)"] == "5h"
    report = (tmp_path / "out" / "report.md").read_text()
    assert ("5 submitted = 1 completed + 1 killed (time limit) + 1 never started + 1 waiting to restart "
            "+ 1 running at the horizon") in report
    assert "| window (horizon, 5h) | 5h |" in report


# Three 4-chip instances of a made-up accelerator (1,000 TFLOPS, MFU 0.5, 1,000 W, $10/h each),
# two instances per pod; FIFO, first fit. By hand:
#   p 4 chips 1 h   instance 0, 0-1 h          q 4 chips 10 h  instance 1, 0-10 h
#   c 4 chips 5 s   instance 2, 0-5 s          r 8 chips 1 h, submitted 30 m: waits for 8 free chips
#     until 1 h, gets instances 0 and 2 (different pods: spine tier, the best possible is one pod),
#     so runs 1 h x 1.25 / 1.10 = 4,090.9 s
#   s 4 chips 5 s, submitted 40 m: behind r (FIFO) until r ends at 7,690.9 s
WORKED = """\
name: worked
seed: 1
reference_accelerator: toy
catalogue:
  accelerators:
    - {name: toy, bf16_tflops: 1000, mfu: 0.5, watts: 1000, source: test}
  instances:
    - {name: toybox, accelerator: toy, chips: 4, on_demand_usd_per_h: 10, source: test}
cluster:
  pools:
    - {name: toy, instance: toybox, count: 3}
  topology: {fanout: {pod: 2}}
  pue: 1.5
  network_fraction: 0.1
  idle_fraction: 0.2
  host_fraction: 0.5
workload:
  - jobs:
      - {id: p, submit: 0s, chips: 4, duration: 1h, user: ann}
      - {id: q, submit: 0s, chips: 4, duration: 10h, user: bob}
      - {id: c, submit: 0s, chips: 4, duration: 5s, user: ann}
      - {id: r, submit: 30m, chips: 8, duration: 1h, user: cy}
      - {id: s, submit: 40m, chips: 4, duration: 5s, user: cy}
scheduler: {policy: fifo, placement: first_fit}
"""


@pytest.fixture(scope="module")
def worked(tmp_path_factory):
    return run_scenario(tmp_path_factory.mktemp("worked"), WORKED).summary


R_RUN = H * 1.25 / 1.10
BUSY = 4 * H + 4 * 10 * H + 4 * 5 + 8 * R_RUN + 4 * 5          # chip-seconds held
IDEAL = 4 * H + 4 * 10 * H + 4 * 5 + 8 * H + 4 * 5              # the same work at the best placement
WINDOW = 10 * H                                                  # first submit to q's end


def test_bounded_slowdown_worked_by_hand(worked):
    # max(1, (wait + run) / max(run, tau = 10 s)): p, q, c 1 (c: 5 s / 10 s < 1), r (30 m + R) / R,
    # s waits 7,690.9 s - 40 m for a 5 s run: (wait + 5) / 10
    r = (0.5 * H + R_RUN) / R_RUN
    s = (H + R_RUN - 2400 + 5) / 10
    assert worked["avg_bounded_slowdown"] == pytest.approx((1 + 1 + 1 + r + s) / 5, rel=1e-9)
    assert worked["avg_bounded_slowdown"] == pytest.approx(106.806, abs=1e-3)


def test_utilisation_placement_and_fragmentation_worked_by_hand(worked):
    assert worked["makespan_s"] == WINDOW and worked["horizon_s"] is None
    assert worked["utilisation"] == pytest.approx(BUSY / (12 * WINDOW), rel=1e-9)
    assert worked["placement_efficiency"] == pytest.approx(IDEAL / BUSY, rel=1e-9)  # 0.9795
    # r heads the queue from 30 m to 1 h while instance 2 (4 chips) is free: 4 chips x 30 m / 10 h
    assert worked["fragmentation_chips"] == pytest.approx(4 * 1800 / WINDOW, rel=1e-9)  # 0.2


def test_waits_and_completion_times_worked_by_hand(worked):
    # waits of the five started jobs: p, q, c 0; r 30 m (submitted 30 m, started 1 h); s from 40 m to r's end
    s_wait = H + R_RUN - 2400
    waits = [0.0, 0.0, 0.0, 1800.0, s_wait]  # sorted; numpy's percentile interpolates linearly between ranks
    assert worked["avg_wait_s"] == pytest.approx(sum(waits) / 5, rel=1e-9)  # 1,418.2 s
    assert worked["p50_wait_s"] == 0.0  # the third of five
    assert worked["p95_wait_s"] == pytest.approx(1800 + 0.8 * (s_wait - 1800), rel=1e-9)  # rank 3.8 of 0..4
    assert worked["p99_wait_s"] == pytest.approx(1800 + 0.96 * (s_wait - 1800), rel=1e-9)  # rank 3.96
    assert worked["wait_censored"] is False
    # end - submit of the five completed jobs, sorted: c 5 s, p 1 h, s, r, q 10 h
    jcts = [5.0, H, s_wait + 5, 1800 + R_RUN, 10 * H]
    assert worked["avg_jct_s"] == pytest.approx(sum(jcts) / 5, rel=1e-9)  # 10,158.4 s
    assert worked["p95_jct_s"] == pytest.approx(jcts[3] + 0.8 * (jcts[4] - jcts[3]), rel=1e-9)


def test_fairness_goodput_and_chip_hours_worked_by_hand(worked):
    # chip-seconds held per user (FIFO groups by user): ann p and c, bob q, cy r and s
    ann, bob, cy = 4 * H + 4 * 5, 4 * 10 * H, 8 * R_RUN + 4 * 5
    assert worked["jain_fairness"] == pytest.approx((ann + bob + cy) ** 2 / (3 * (ann**2 + bob**2 + cy**2)),
                                                    rel=1e-9)  # 0.5533
    # no checkpoints, failures or rounding: every busy chip-second is useful (r's slower spine tier shows in
    # placement_efficiency, not as lost goodput: docs/architecture.md, "Metric definitions")
    assert worked["goodput"] == 1.0
    assert worked["chip_h_useful"] == pytest.approx(BUSY / H, rel=1e-9)
    assert worked["chip_h_idle"] == pytest.approx((12 * WINDOW - BUSY) / H, rel=1e-9)
    for key in ("checkpoint", "lost", "restart", "rounding", "down"):
        assert worked[f"chip_h_{key}"] == 0.0, key


# Two 4-chip toy instances: `six` (6 chips, 1 h) gets both whole instances, 8 chips, at 0; `eight`
# (8 chips, 1 h) waits for them until 1 h. By hand: busy 16 chip-hours, useful 6 + 8 = 14.
ROUNDED = WORKED.split("cluster:")[0] + """cluster:
  pools:
    - {name: toy, instance: toybox, count: 2}
  topology: {fanout: {pod: 2}}
workload:
  - jobs:
      - {id: six, submit: 0s, chips: 6, duration: 1h, user: ann}
      - {id: eight, submit: 0s, chips: 8, duration: 1h, user: bob}
scheduler: {policy: fifo}
"""


def test_rounding_and_the_goodput_factors_worked_by_hand_through_the_terminal(tmp_path):
    path = write_scenario(tmp_path, ROUNDED)
    proc = run_cli("run", path, "--out", tmp_path / "out", check=True)
    import json

    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["utilisation"] == 1.0 and s["makespan_s"] == 2 * H
    assert s["goodput"] == pytest.approx(14 / 16, rel=1e-12)  # the two chips six holds beyond its request
    assert s["chip_h_useful"] == pytest.approx(14.0) and s["chip_h_rounding"] == pytest.approx(2.0)
    assert s["chip_h_idle"] == 0.0
    # scheduling goodput: chip-time held / chip-time from submit to end = (8 x 1 h + 8 x 1 h) / (8 x 1 h + 8 x 2 h)
    assert s["scheduling_goodput"] == pytest.approx(2 / 3, rel=1e-12)
    assert s["program_goodput"] == 0.5  # the toy accelerator's MFU
    assert s["ml_goodput"] == pytest.approx(2 / 3 * 14 / 16 * 0.5, rel=1e-12)
    assert s["usd_per_useful_chip_hour"] == pytest.approx(2 * 10 * 2 / 14, rel=1e-12)  # $40 / 14 useful chip-hours
    assert s["avg_wait_s"] == H / 2 and s["p50_wait_s"] == H / 2 and s["jain_fairness"] == 1.0
    rows = _table(proc.stdout)
    assert rows["goodput"] == "87.5%" and rows["utilisation (busy / installed chip-time)"] == "100.0%"
    assert rows["$ per useful chip-hour"] == "$2.86" and rows["median wait"] == "30m"


def test_trace_endings_are_counted_by_hand(tmp_path):
    # a trace's failed and killed rows replay to their recorded end and are counted as such
    trace = tmp_path / "t.csv"
    trace.write_text("job_id,submit_s,chips,duration_s,requested_s,user,queue,priority,status\n"
                     "a,0,1,600,600,u,q,0,completed\nb,0,1,300,600,u,q,0,failed\n"
                     "c,0,1,900,900,u,q,0,killed\nd,0,1,60,600,u,q,0,failed\n")
    run = run_scenario(tmp_path, {
        "name": "endings", "catalogue": {"instances": [{"name": "hpc-node", "accelerator": "trainium2", "chips": 1}]},
        "cluster": {"pools": [{"name": "cpu", "instance": "hpc-node", "count": 4}]},
        "workload": [{"name": "t", "trace": {"path": str(trace), "format": "csv"}}]})
    s = run.summary
    assert (s["jobs_completed"], s["jobs_failed"], s["jobs_killed"], s["jobs_submitted"]) == (1, 2, 1, 4)
    assert s["makespan_s"] == 900.0 and s["avg_jct_s"] == 600.0  # only the completed job's 600 s
    assert s["utilisation"] == pytest.approx((600 + 300 + 900 + 60) / (4 * 900), rel=1e-12)


def test_energy_power_and_cost_worked_by_hand(worked):
    k = 1.5 * 1.1  # PUE x (1 + network)
    idle_w = 12 * 0.2 * 1000 + 3 * 0.5 * 4 * 1000  # idle chips at 20 %, hosts at 0.5 x 4 chips x 1,000 W
    joules = k * (idle_w * WINDOW + 0.8 * 1000 * BUSY)  # a busy chip adds the other 80 % of 1,000 W
    assert worked["energy_mwh"] == pytest.approx(joules / 3.6e9, rel=1e-9)  # 0.2087 MWh
    assert worked["peak_power_mw"] == pytest.approx(k * (idle_w + 12 * 800) / 1e6, rel=1e-9)  # all busy at 0
    assert worked["cost_usd"] == pytest.approx(3 * 10 * 10, rel=1e-12)  # 3 instances x $10/h x 10 h
    assert worked["usd_per_useful_chip_hour"] == pytest.approx(300 / (BUSY / H), rel=1e-9)
    # useful PFLOP-days: chip-days at the ideal placement x 1,000 TFLOPS x MFU 0.5 / 1,000
    pflop_days = IDEAL / 86400 * 1000 * 0.5 / 1000
    assert worked["usd_per_useful_pflop_day"] == pytest.approx(300 / pflop_days, rel=1e-9)
    assert worked["usd_per_useful_pflop_day"] == pytest.approx(276.86, abs=0.01)


# --- a job's chips are those of the first accelerator it names ----------------------------------

PINNED = {
    "name": "pinned", "seed": 1,
    "cluster": {"pools": [{"name": "h100", "instance": "p5.48xlarge", "count": 4},       # 32 GPUs
                          {"name": "trn2", "instance": "trn2.48xlarge", "count": 2}]},  # 32 Trainium2
    "workload": [{"jobs": [
        {"id": "gpus", "submit": "0s", "chips": 32, "duration": "1h", "accelerator": "h100-sxm"},
        {"id": "trn", "submit": "0s", "chips": 16, "duration": "1h", "accelerator": "trainium2"},
        {"id": "gpu-first", "submit": "0s", "chips": 8, "duration": "1h", "accelerator": ["h100-sxm", "trainium2"]},
        {"id": "trn-first", "submit": "0s", "chips": 16, "duration": "1h", "accelerator": ["trainium2", "h100-sxm"]},
        {"id": "any", "submit": "0s", "chips": 16, "duration": "1h"},
    ]}],
}
TRN2, H100 = 667 * 0.4, 989 * 0.4  # BF16 TFLOPS x MFU from the catalogue


def test_chips_are_the_first_named_accelerators(tmp_path):
    from conftest import simulate_in_process

    result = simulate_in_process(PINNED)
    names = [s.name for s in result.shapes]
    chips = {job: dict(zip((names[p] for p in result.plan.table.pools[j]), result.plan.chips_on[j], strict=True))
             for j, job in enumerate(result.jobs.id)}
    assert chips["gpus"] == {"h100": 32}            # 32 H100s, as written (not 32 Trainium2 mapped to 22)
    assert chips["trn"] == {"trn2": 16}
    assert chips["gpu-first"] == {"h100": 8, "trn2": 12}   # ceil(8 x 395.6 / 266.8 = 11.9)
    assert chips["trn-first"] == {"trn2": 16, "h100": 11}  # ceil(16 x 266.8 / 395.6 = 10.8)
    assert chips["any"] == {"h100": 11, "trn2": 16}        # no accelerator: reference_accelerator chips
    run = run_scenario(tmp_path, PINNED)
    got = dict(zip(run.jobs["job_id"].to_pylist(), run.jobs["chips_allocated"].to_pylist(), strict=True))
    assert got["gpus"] == 32 and run.jobs["run_s"].to_pylist()[0] == 3600.0
    assert "first accelerator it names" in (run.path / "report.md").read_text()


MIXED_PREEMPT = {
    "name": "mixed-preempt", "seed": 1,
    "cluster": {"pools": [{"name": "h100", "instance": "p5.48xlarge", "count": 1},
                          {"name": "trn2", "instance": "trn2.48xlarge", "count": 1}]},
    "workload": [{"jobs": [
        {"id": "r1", "submit": "0s", "chips": 16, "duration": "10h", "accelerator": ["trainium2", "h100-sxm"]},
        {"id": "r2", "submit": "0s", "chips": 8, "duration": "10h", "accelerator": "h100-sxm"},
        {"id": "p", "submit": "1h", "chips": 16, "duration": "2h", "accelerator": "trainium2", "priority": 10},
    ]}],
    "scheduler": {"policy": "priority"},
}


def test_per_pool_busy_series_add_up_to_each_pools_utilisation_and_to_the_total():
    """The per-pool panels of a mixed cluster integrate to the summary's pool utilisation, and add up
    to the busy chips of the whole cluster at every instant, a preemption included: r1 (too large for
    the 8 H100s) runs on trn2 from 0 to 1 h, p preempts it for 2 h, r1 runs again from 3 h."""
    from conftest import simulate_in_process

    from sim.metrics import pool_busy_series, step_integral

    result = simulate_in_process(MIXED_PREEMPT)
    s = result.summary
    end = 13 * H + 60  # r1 lost its first hour (no checkpoints) and pays the 60 s preempt_overhead
    assert s["preemptions"] == 1 and s["makespan_s"] == end
    series = pool_busy_series(result)
    t, busy = series["trn2"]
    assert list(t) == [0.0, H, 3 * H, end] and list(busy) == [16, 16, 16, 0]
    t, busy = series["h100"]
    assert list(t) == [0.0, 10 * H] and list(busy) == [8, 0]
    total_t = np.asarray(result.outcome.series["t_s"])
    total = np.asarray(result.outcome.series["busy_chips"])
    for when in np.linspace(0, s["makespan_s"], 53):
        summed = sum(b[np.searchsorted(t, when, side="right") - 1] for t, b in series.values())
        assert summed == total[np.searchsorted(total_t, when, side="right") - 1], when
    for shape in result.shapes:
        t, busy = series[shape.name]
        used = step_integral(t, busy, 0.0, s["makespan_s"])
        assert used / (shape.chips * s["makespan_s"]) == pytest.approx(s[f"pool.{shape.name}.utilisation"], rel=1e-9)


def test_numbers_are_written_for_people():
    from sim.report.markdown import fmt
    from sim.report.plots import _count_formatter

    assert fmt(61_800.4, "x") == "61,800" and fmt(99.1, "x") == "99.1" and fmt(0.232, "x") == "0.232"
    assert fmt(1234.0, "x") == "1,234" and fmt(0.0, "x") == "0" and fmt(None, "x") == "unknown"
    ticks = _count_formatter()
    assert [ticks(v, 0) for v in (1200, 15_000, 5.5e6)] == ["1,200", "15k", "5.5M"]
