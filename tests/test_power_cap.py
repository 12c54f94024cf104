"""The power cap (`cluster.power_cap`) and pools installed over time (`pools[].online`, `retire`),
on hand-worked cases (docs/power-and-growth.md).

Watts of a trn2.48xlarge (16 Trainium2 chips of 500 W, the catalogue's figure) at the defaults
PUE 1.15, network 5 %, idle 15 %, host 0.5 x chip watts: k = 1.15 x 1.05 = 1.2075;
  idle instance = k x (16 x 0.15 x 500 + 0.5 x 16 x 500) = 1.2075 x 5,200 = 6,279 W;
  a busy chip adds k x 500 x 0.85 = 513.1875 W.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import run_cli, run_scenario, simulate_in_process, write_scenario

IDLE_W = 6279.0  # one idle trn2.48xlarge
CHIP_W = 513.1875  # what a busy chip adds
PREEMPT_OVERHEAD_S = 60.0  # scheduler.preempt_overhead's default


def two_jobs(cap: str, policy: str = "fifo") -> str:
    return f"""\
name: two-jobs
cluster:
  power_cap: {cap}
  pools:
    - {{name: trn2, instance: trn2.48xlarge, count: 2}}
workload:
  - jobs:
      - {{id: a, submit: 0, chips: 16, duration: 10h}}
      - {{id: b, submit: 0, chips: 16, duration: 10h}}
scheduler: {{policy: {policy}}}
"""


def by_id(run, *columns):
    rows = run.jobs.to_pylist()
    return {r["job_id"]: tuple(r[c] for c in columns) for r in rows}


def col(run, name):
    return np.asarray(run.series.column(name).to_pylist(), dtype=float)


def test_throttle_slows_both_jobs_to_the_frequency_that_meets_the_cap(tmp_path):
    """Both jobs busy draw 2 x 6,279 + 32 x 513.1875 = 28,980 W. Under a limit of
    12,558 + 16,422 / 8 = 14,610.75 W the busy power above idle must shrink by 8 = f^-3: f = 0.5,
    and each 10 h job takes 20 h; 32 chips lose half their speed for 20 h."""
    limit = 2 * IDLE_W + 32 * CHIP_W / 8
    run = run_scenario(tmp_path, two_jobs(f"{{limit: {limit}W, mode: throttle}}"))
    assert by_id(run, "start_s", "end_s") == {"a": (0.0, 72000.0), "b": (0.0, 72000.0)}
    assert col(run, "speed_factor").tolist() == [0.5, 1.0]
    assert col(run, "power_w").max() <= limit
    assert col(run, "power_w")[0] == pytest.approx(limit, rel=1e-12)
    s = run.summary
    assert s["capped_s"] == 72000.0
    assert s["throttle_loss_chip_s"] == pytest.approx(32 * 0.5 * 72000)
    assert s["peak_power_mw"] == pytest.approx(limit / 1e6)


def test_throttle_with_another_exponent():
    """exponent 1: busy power above idle scales with f; a limit leaving a quarter of it: f = 0.25."""
    limit = 2 * IDLE_W + 32 * CHIP_W / 4
    result = simulate_in_process(two_jobs(f"{{limit: {limit}W, mode: throttle, exponent: 1}}"))
    assert list(result.outcome.end) == [144000.0, 144000.0]


@pytest.mark.parametrize("policy", ["fifo", "sjf", "easy_backfill", "priority"])
def test_hold_makes_the_second_job_wait(policy):
    """A limit with room for 24 busy chips: one 16-chip job runs, the other waits for it."""
    limit = 2 * IDLE_W + 24 * CHIP_W
    result = simulate_in_process(two_jobs(f"{{limit: {limit}W, mode: hold}}", policy))
    o = result.outcome
    assert (o.start, o.end) == ([0.0, 36000.0], [36000.0, 72000.0])
    assert result.summary["capped_s"] == 36000.0 and result.summary["throttle_loss_chip_s"] == 0.0
    assert max(o.series["power_w"]) == pytest.approx(2 * IDLE_W + 16 * CHIP_W)


def test_easy_backfill_keeps_the_heads_power():
    """Four instances (64 chips), room for 40 busy chips. A (16 chips, 10 h) runs; the head B
    (32 chips) fits in chips but not in power until A ends at 10 h. C (16 chips, 20 h) fits now
    but would still run at 10 h, leaving 40 - 32 = 8 chips' watts for 16: it must wait (a
    power-blind EASY would start it: the chips are there). D (8 chips, 5 h) ends before 10 h
    and backfills. C then waits for B (32 + 16 > 40) and starts at 15 h."""
    limit = 4 * IDLE_W + 40 * CHIP_W
    result = simulate_in_process(f"""\
name: easy-power
cluster:
  power_cap: {{limit: {limit}W, mode: hold}}
  pools:
    - {{name: trn2, instance: trn2.48xlarge, count: 4}}
workload:
  - jobs:
      - {{id: A, submit: 0, chips: 16, duration: 10h}}
      - {{id: B, submit: 1h, chips: 32, duration: 5h}}
      - {{id: C, submit: 2h, chips: 16, duration: 20h}}
      - {{id: D, submit: 3h, chips: 8, duration: 5h}}
scheduler: {{policy: easy_backfill}}
""")
    h = 3600.0
    assert result.outcome.start == [0.0, 10 * h, 15 * h, 3 * h]
    assert max(result.outcome.series["power_w"]) <= limit


@pytest.mark.parametrize("mode", ["hold", "throttle"])
@pytest.mark.parametrize("policy", ["fifo", "easy_backfill", "priority", "las", "fair_share"])
def test_power_never_exceeds_the_limit(policy, mode):
    """A busy mixed workload on two pools with failures: the series' maximum stays under the cap,
    and the cap binds (time at the cap > 0)."""
    limit = 250e3
    result = simulate_in_process(f"""\
name: busy
seed: 3
horizon: 10d
cluster:
  power_cap: {{limit: 250kW, mode: {mode}}}
  pools:
    - {{name: a, instance: trn2.48xlarge, count: 16}}
    - {{name: b, instance: p5.48xlarge, count: 8}}
workload:
  - generator: {{count: 150, arrivals: {{poisson: {{rate: 2/h}}}}, chips: {{choice: {{values: [1, 4, 16, 32, 64]}}}},
                duration: {{exponential: {{mean: 6h}}}}}}
  - generator: {{count: 60, arrivals: {{poisson: {{rate: 1/h}}}}, chips: {{choice: {{values: [16, 64]}}}},
                duration: {{exponential: {{mean: 3h}}}}, priority: 2, user: vip}}
scheduler: {{policy: {policy}}}
failures: {{}}
""")
    power = result.outcome.series["power_w"]
    assert power.max() <= limit * (1 + 1e-12)
    assert result.summary["capped_s"] > 0
    speed = result.outcome.series["speed_factor"]
    assert (speed.min() < 1) == (mode == "throttle")


def test_oversubscribed_pools_are_legal_and_bad_caps_are_refused(tmp_path):
    scenario = """\
name: bad-cap
cluster:
  power_cap: {limit: 10kW, mode: hold}
  pools:
    - {name: trn2, instance: trn2.48xlarge, power: 60kW}
workload:
  - jobs: [{id: a, submit: 0, chips: 16, duration: 1h}]
scheduler: {policy: conservative_backfill}
"""
    path = write_scenario(tmp_path, scenario)
    proc = run_cli("run", path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"{path}:3:15: cluster.power_cap.limit: 0.01 MW is not above the facility's idle power (0.025116 MW): "
        "no chip could ever run"]
    path = write_scenario(tmp_path, scenario.replace("10kW", "50kW"))
    proc = run_cli("run", path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"{path}:3:28: cluster.power_cap.mode: policy conservative_backfill does not count a held power cap in "
        "its look-ahead: use mode: throttle or another policy"]
    # 60 kW of pools under a 50 kW cap: four instances, oversubscribed by 1.2, run throttled
    result = simulate_in_process(scenario.replace("10kW", "50kW").replace("hold", "throttle"))
    assert result.summary["chips"] == 64 and result.summary["jobs_completed"] == 1


# --- pools online and retiring ------------------------------------------------------------------

TRANCHES = """\
name: tranches
cluster:
  pools:
    - {name: old, instance: trn2.48xlarge, count: 1, retire: 5h}
    - {name: new, instance: trn2.48xlarge, count: 1, online: 2h}
workload:
  - jobs:
      - {id: a, submit: 0, chips: 16, duration: 10h}
      - {id: b, submit: 0, chips: 16, duration: 4h}
scheduler: {policy: fifo}
"""


def test_nothing_runs_on_a_pool_before_it_is_online_and_retirement_requeues(tmp_path):
    """a starts on `old`; b waits for `new` (online at 2 h) and runs 2-6 h. At 5 h `old` retires:
    a stops as if preempted (no checkpoints: its 5 h are lost), requeues onto `new`, and starts
    there when b ends at 6 h, 60 s of preemption overhead first."""
    h = 3600.0
    run = run_scenario(tmp_path, TRANCHES)
    jobs = by_id(run, "pool", "start_s", "end_s", "preemptions", "lost_chip_s")
    a_end = 6 * h + PREEMPT_OVERHEAD_S + 10 * h
    assert jobs == {"a": ("new", 0.0, a_end, 1, 16 * 5 * h), "b": ("new", 2 * h, 6 * h, 0, 0.0)}
    assert col(run, "installed_chips").tolist() == [16, 32, 16, 16, 16]
    assert col(run, "t_s").tolist() == [0.0, 2 * h, 5 * h, 6 * h, a_end]
    s = run.summary
    # installed chip-seconds: 16 x 2 h + 32 x 3 h + 16 x (a_end - 5 h); every one of them busy
    assert s["utilisation"] == pytest.approx(1.0)
    # each pool is paid for while installed: old 0-5 h, new 2 h to the end ($35.76/h each)
    assert s["cost_usd"] == pytest.approx(35.76 * (5 + (a_end - 2 * h) / h))
    assert s["pool.old.utilisation"] == pytest.approx(1.0) and s["pool.new.utilisation"] == pytest.approx(1.0)
    # idle watts count installed instances only: 6,279 W after the end, not 12,558
    assert col(run, "power_w")[-1] == IDLE_W


def test_a_job_only_a_retired_pool_accepts_stays_queued():
    result = simulate_in_process(TRANCHES.replace("count: 1, online: 2h", "count: 1, online: 2h, retire: 3h")
                                 .replace("duration: 4h", "duration: 30m"))
    # both pools gone by 5 h: a (on old, stopped at 5 h) never finishes
    assert result.summary["jobs_completed"] == 1
    assert math.isnan(result.outcome.end[0])


def test_retire_must_follow_online(tmp_path):
    path = write_scenario(tmp_path, TRANCHES.replace("count: 1, online: 2h", "count: 1, online: 2h, retire: 1h"))
    proc = run_cli("run", path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"{path}:5:7: cluster.pools.1: retire must come after online"]


def test_per_year_table_counts_installed_time(tmp_path):
    """Year 1: pool a (16 chips) alone, busy 100 of 365 days. Year 2: a until day 500 (135 days)
    and b (32 chips) all year; j2 (32 chips, 100 d) runs on b. Each trn2.48xlarge: $35.76/h,
    14,490 W at peak; 16 chips x 100 d x 667 TFLOPS x MFU 0.4 / 1000 = 426.88 PFLOP-days."""
    scenario = """\
name: two-years
horizon: 730d
cluster:
  power_cap: {limit: 1MW}
  pools:
    - {name: a, instance: trn2.48xlarge, count: 1, retire: 500d}
    - {name: b, instance: trn2.48xlarge, count: 2, online: 365d}
workload:
  - jobs:
      - {id: j1, submit: 0, chips: 16, duration: 100d}
      - {id: j2, submit: 365d, chips: 32, duration: 100d}
"""
    from sim import metrics

    y1, y2 = metrics.per_year(simulate_in_process(scenario))
    assert (y1["year"], y1["installed_chips"], y2["installed_chips"]) == (1, 16, round((16 * 135 + 32 * 365) / 365))
    assert y1["installed_peak_mw"] == pytest.approx(0.01449) and y2["installed_peak_mw"] == pytest.approx(0.04347)
    assert y1["spend_usd"] == pytest.approx(35.76 * 24 * 365)
    assert y2["spend_usd"] == pytest.approx(35.76 * 24 * (135 + 2 * 365))
    assert y1["utilisation"] == pytest.approx(100 / 365)
    assert y2["utilisation"] == pytest.approx(32 * 100 / (16 * 135 + 32 * 365))
    assert y1["useful_pflop_days"] == pytest.approx(426.88) and y2["useful_pflop_days"] == pytest.approx(853.76)
    assert y2["usd_per_useful_pflop_day"] == pytest.approx(y2["spend_usd"] / 853.76)
    assert y1["capped_days"] == 0 and y1["throttle_loss_chip_days"] == 0
    report = run_scenario(tmp_path, scenario).path / "report.md"
    text = report.read_text()
    assert "## Per year" in text and "| 2 | 38 |" in text
    assert (report.parent / "plots" / "decade.png").is_file()


def test_hold_keeps_room_for_the_idle_power_of_pools_still_to_come():
    """Pool b comes online at 10 h. The limit leaves 8 busy chips' watts once both pools idle:
    from the start, a held cap keeps b's idle watts free, so only one of two 8-chip jobs runs at
    a time on pool a (both would fit the power drawn at 0 h, 6,279 + 16 x 513.1875 W), and power
    never exceeds the limit when b arrives."""
    limit = 2 * IDLE_W + 8 * CHIP_W
    result = simulate_in_process(f"""\
name: hold-ahead
cluster:
  power_cap: {{limit: {limit}W, mode: hold}}
  pools:
    - {{name: a, instance: trn2.48xlarge, count: 1}}
    - {{name: b, instance: trn2.48xlarge, count: 1, online: 10h}}
workload:
  - jobs:
      - {{id: j1, submit: 0, chips: 8, duration: 10h, accelerator: trainium2}}
      - {{id: j2, submit: 0, chips: 8, duration: 10h, accelerator: trainium2}}
""")
    assert result.outcome.start == [0.0, 36000.0]
    assert max(result.outcome.series["power_w"]) == pytest.approx(limit)
