"""Failures, repair, checkpoints and restarts: closed forms, a hand-worked schedule, Poisson
counts, invariants under failures, and the `failures:` block through the CLI."""

from __future__ import annotations

import json
import math
from unittest import mock

import numpy as np
import pytest
from conftest import TINY_HEAD, run_cli, run_scenario, simulate_in_process, write_scenario

from sim import economics, failures
from sim.failures import PoolFailures
from sim.policies import base as policies

H = 3600.0
D = 86400.0


# --- closed forms --------------------------------------------------------------------------

def test_default_mtbf_is_the_llama3_rate():
    assert failures.FAILURES_PER_CHIP_DAY == 419 / (16384 * 54)  # the defined constant, not a rounded 4.7e-4
    assert failures.default_mtbf_instance(16) / D == pytest.approx(16384 * 54 / 419 / 16)  # 131.97 d
    assert failures.default_mtbf_instance(16) / D == pytest.approx(131.97, abs=0.005)
    assert failures.default_mtbf_instance(8) / D == pytest.approx(263.94, abs=0.005)


def test_young_and_daly_at_65536_chips():
    m = failures.default_mtbf_instance(16) / (65536 // 16)  # the job's MTBF: 4,096 instances
    assert m / 60 == pytest.approx(46.4, abs=0.05)  # docs/failures-power-cost.md: M ~ 46.4 min
    young = failures.checkpoint_interval("young", m, 60.0)
    assert young == pytest.approx(math.sqrt(2 * 60 * m))
    assert young / 60 == pytest.approx(9.63, abs=0.005)  # docs/failures-power-cost.md: T_Young ~ 9.6 min
    x = 60 / (2 * m)
    daly = failures.checkpoint_interval("daly", m, 60.0)
    assert daly == pytest.approx(math.sqrt(2 * 60 * m) * (1 + math.sqrt(x) / 3 + x / 9) - 60)
    assert failures.daly_interval(100.0, 40.0) == 40.0  # C >= 2M: T = M
    assert failures.checkpoint_interval("young") == math.inf  # no failures block: M = infinity


def test_the_plan_uses_young_per_job_size():
    scenario = TINY_HEAD.replace("count: 2\n", "count: 4096\n") + """\
  - jobs:
      - {id: big, submit: 0s, chips: 65536, duration: 1d}
      - {id: fixed, submit: 0s, chips: 16, duration: 1d, checkpoint_interval: 30m}
failures: {}
"""
    result = simulate_in_process(scenario)
    ids = result.jobs.id
    interval = dict(zip(ids, result.plan.checkpoint_s, strict=True))
    assert interval["big"] / 60 == pytest.approx(9.63, abs=0.005)
    assert interval["fixed"] == 1800.0
    # a 4-chip job shares one instance: M = the instance's MTBF
    small = next(i for i in ids if i.startswith("w0"))
    assert interval[small] == pytest.approx(math.sqrt(2 * 60 * failures.default_mtbf_instance(16)))
    k = ids.index("big")
    assert result.plan.run_on[k][0] == pytest.approx(D * (1 + 60 / interval["big"]))  # writes lengthen the run
    # the default MTBF is printed as the ESTIMATE it is, with its source
    assert any("4.74e-4" in a and "Llama 3" in a and "HLAT" in a for a in result.assumptions)


# --- a schedule worked by hand ---------------------------------------------------------------

ONE_JOB = """\
name: by-hand
seed: 1
cluster:
  pools:
    - name: trn2
      instance: trn2.48xlarge
      count: 2
workload:
  - jobs:
      - {id: a, submit: 0s, chips: 16, duration: 10h, checkpoint_interval: 1h}
failures: {checkpoint_write: 60s, restart_overhead: 300s, repair: 4h}
"""


def test_a_failure_costs_the_work_since_the_last_checkpoint_and_the_restart_overhead():
    gaps = iter([2.5 * H])  # the one failure, at 2.5 h; none after it

    def next_gap(self):
        return next(gaps, math.inf)

    def fail(self):  # instance 0, where the job runs
        self.up.remove(0)
        self.pos[0] = -1
        return 0

    with mock.patch.object(PoolFailures, "next_gap", next_gap), mock.patch.object(PoolFailures, "fail", fail):
        result = simulate_in_process(ONE_JOB)
    s = result.summary
    # the run is 10 h x (1 + 60 s / 1 h) = 36,600 s in cycles of 3,660 s; at 9,000 s two cycles
    # (7,320 s) are saved and 1,680 s lost; it restarts at once on instance 1, pays 300 s and
    # runs the other 29,280 s: it ends at 9,000 + 300 + 29,280 = 38,580 s
    assert s["failures"] == 1 and s["restarts"] == 1 and s["preemptions"] == 0
    assert s["lost_chip_s"] == pytest.approx(16 * 1680)
    assert result.outcome.end[0] == pytest.approx(38580)
    assert s["goodput"] == pytest.approx(36000 / 38580)
    assert s["avg_wait_s"] == pytest.approx(0, abs=1e-6)
    # instance 0 is down from 2.5 h to 6.5 h: 16 down chips, and the run never used it again
    series = result.outcome.series
    down = dict(zip(series["t_s"], series["down_chips"], strict=True))
    assert down[9000.0] == 16 and down[9000.0 + 4 * H] == 0
    up_chip_s = 32 * 38580 - 16 * 4 * H
    assert s["utilisation_of_up"] == pytest.approx(16 * 38580 / up_chip_s)
    # a down instance draws nothing: power drops by what the idle instance drew
    model = economics.power_model(result.loaded.model.cluster, result.shapes)
    power = dict(zip(series["t_s"], series["power_w"], strict=True))
    assert power[9000.0] == pytest.approx(model.base_w - model.per_down_instance_w[0]
                                          + 16 * model.per_busy_chip_w[0])


# --- the failure process ----------------------------------------------------------------------

LONG = """\
name: poisson
seed: 5
horizon: 200d
cluster:
  pools:
    - name: trn2
      instance: trn2.48xlarge
      count: 200
workload:
  - jobs:
      - {id: a, submit: 0s, chips: 16, duration: 1d}
failures: {mtbf_instance: 10d, repair: 1d}
"""


@pytest.mark.parametrize("seed", [5, 6])
def test_failure_count_matches_its_poisson_expectation(seed):
    result = simulate_in_process(LONG, f"seed={seed}")
    n = result.summary["failures"]
    # the count's compensator: up instance-seconds / MTBF (a Poisson process of that rate)
    series = result.outcome.series
    t = np.append(series["t_s"], 200 * D)
    up_instance_s = float(np.sum((200 - series["down_chips"] / 16) * np.diff(t)))
    expected = up_instance_s / (10 * D)
    assert abs(n - expected) < 4 * math.sqrt(expected), (n, expected)
    # and its mean from the renewal rate (up ~ exp(10 d), down 1 d): 200 x 200 d / 11 d ~ 3,636
    mean = failures.expected_failures(200, 10 * D, 200 * D, 1 * D)
    assert abs(n - mean) < 4 * math.sqrt(mean), (n, mean)
    assert result.summary["utilisation_of_up"] > result.summary["utilisation"]


def test_victims_are_uniform_over_up_instances():
    rng = np.random.default_rng(1)
    pf = PoolFailures(0, 10, 16, 1.0, 1.0, rng)
    counts = np.zeros(10)
    for _ in range(20000):
        i = pf.fail()
        assert pf.pos[i] == -1 and i not in pf.up
        counts[i] += 1
        pf.repaired(i)
    assert sorted(pf.up) == list(range(10))
    chi2 = float(np.sum((counts - 2000) ** 2 / 2000))
    assert chi2 < 27.9  # 9 degrees of freedom, p = 0.001


def test_the_best_checkpoint_interval_is_near_youngs():
    # one 64-instance job on an 80-instance pool, M = 64 h / 64 = 1 h: T_Young = sqrt(2 x 60 s x 1 h) = 657 s
    base = {
        "name": "interval", "seed": 3,
        "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 80}]},
        "workload": [{"jobs": [{"id": "big", "submit": "0s", "chips": 1024, "duration": "20d"}]}],
        "failures": {"mtbf_instance": "64h"},
    }
    young = failures.young_interval(60.0, 3600.0)
    waste = {}
    for interval in (150, 300, 600, 1200, 2400, 4800):
        base["failures"]["checkpoint_interval"] = f"{interval}s"
        s = simulate_in_process(base).summary
        busy = s["utilisation"] * s["chips"] * s["makespan_s"]
        waste[interval] = busy * (1 - s["goodput"])  # lost work + restart overhead + checkpoint writes
    best = min(waste, key=waste.get)
    assert young / 2 <= best <= young * 2, waste


# --- invariants with failures -----------------------------------------------------------------

BUSY = """\
name: busy
seed: 2
cluster:
  pools:
    - name: ultra
      instance: trn2u.48xlarge
      count: 16
    - name: solo
      instance: trn2.48xlarge
      count: 6
workload:
  - generator:
      count: 400
      arrivals: {poisson: {rate: 8/h}}
      chips: {choice: {values: [1, 4, 16, 32, 64, 128]}}
      duration: {lognormal: {median: 2h, sigma: 1.0}}
  - generator:
      count: 200
      arrivals: {poisson: {rate: 4/h}}
      chips: {choice: {values: [4, 16, 64]}}
      duration: {lognormal: {median: 2h, sigma: 1.0}}
      priority: 5
failures: {mtbf_instance: 3d, repair: 2h}
"""


NOT_PLACED_ON_DOWN = {"fifo", "easy_backfill", "priority", "sjf", "conservative_backfill", "las", "fair_share",
                      "hetero", "elastic"}


@pytest.mark.parametrize("policy,placement", [("fifo", "first_fit"), ("easy_backfill", "best_fit"),
                                              ("priority", "topology_aware"), ("sjf", "first_fit"),
                                              ("conservative_backfill", "best_fit"), ("las", "first_fit"),
                                              ("fair_share", "topology_aware"), ("hetero", "first_fit"),
                                              ("elastic", "best_fit")])
def test_nothing_is_placed_on_a_down_instance(policy, placement):
    real_placed = PoolFailures.placed

    def placed(self, job, alloc):
        assert all(self.pos[i] >= 0 for i in alloc.instances), f"job {job} placed on a down instance"
        real_placed(self, job, alloc)

    with mock.patch.object(PoolFailures, "placed", placed):
        result = simulate_in_process(BUSY, f"scheduler.policy={policy}", f"scheduler.placement={placement}")
    assert set(policies.names()) <= NOT_PLACED_ON_DOWN, "a registered policy is missing from this test"
    s = result.summary
    assert s["failures"] > 20 and s["restarts"] > 0
    assert s["jobs_completed"] == 600
    series = result.outcome.series
    assert np.all(series["busy_chips"] + series["down_chips"] <= s["chips"])
    assert np.all(series["down_chips"] >= 0) and series["busy_chips"][-1] == 0
    t = np.asarray(series["t_s"])
    # chip-seconds are conserved across stretches cut by failures
    run_s = np.asarray(result.outcome.chips_allocated) * metrics_run_s(result)
    integral = float(np.sum(series["busy_chips"][:-1] * np.diff(t)))
    assert math.isclose(float(run_s.sum()), integral, rel_tol=1e-9)
    assert 0 < s["goodput"] < 1 and s["lost_chip_s"] > 0
    # a failed job requeues keeping its submit time and priority
    jobs = result.jobs
    restarted = [j for j, r in enumerate(result.outcome.restarts) if r]
    assert all(result.outcome.start[j] >= jobs.submit[j] for j in restarted)


def metrics_run_s(result) -> np.ndarray:
    from sim.metrics import arrays
    return arrays(result).run


def test_without_a_failures_block_goodput_is_one(tmp_path):
    scenario = TINY_HEAD + "scheduler: {policy: fifo, kill_at_limit: false}\n"
    run = run_scenario(tmp_path, scenario)
    s = run.summary
    assert s["goodput"] == 1.0 and s["failures"] == 0 and s["restarts"] == 0 and s["lost_chip_s"] == 0
    assert s["utilisation_of_up"] == s["utilisation"]
    assert set(run.series.column("down_chips").to_pylist()) == {0}


def test_same_seed_same_failures():
    a = simulate_in_process(BUSY).summary
    b = simulate_in_process(BUSY).summary
    c = simulate_in_process(BUSY, "seed=3").summary
    for key in ("failures", "restarts", "lost_chip_s", "goodput", "energy_mwh"):
        assert a[key] == b[key], key
    assert (a["failures"], a["lost_chip_s"]) != (c["failures"], c["lost_chip_s"])


# --- the CLI ----------------------------------------------------------------------------------

def test_failures_end_to_end_through_the_cli(tmp_path):
    run = run_scenario(tmp_path, BUSY)
    s = run.summary
    assert s["failures"] > 0 and s["restarts"] > 0 and 0 < s["goodput"] < 1
    assert max(run.series.column("down_chips").to_pylist()) > 0
    jobs = run.jobs.to_pydict()
    assert sum(jobs["restarts"]) == s["restarts"]
    assert sum(jobs["lost_chip_s"]) == pytest.approx(s["lost_chip_s"])
    assert set(jobs["state"]) == {"completed"}
    report = (run.path / "report.md").read_text()
    assert "instance MTBF 3 d (scenario)" in report and "restart overhead R = 300 s (ESTIMATE)" in report


def test_a_malformed_failures_block_is_one_located_line(tmp_path):
    text = TINY_HEAD + "failures:\n  mtbf: 5d\n"
    path = write_scenario(tmp_path, text)
    proc = run_cli("run", path, "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 2
    line = text.splitlines().index("  mtbf: 5d") + 1
    assert proc.stderr.strip().splitlines() == [
        f"{path}:{line}:3: failures.mtbf: unknown key 'mtbf'; valid keys: mtbf_instance, repair, checkpoint_write, "
        "restart_overhead, recovery, fallback, domains, checkpoint_interval"]
    assert not (tmp_path / "out").exists()


def test_a_bad_failures_value_is_refused(tmp_path):
    text = TINY_HEAD + "failures: {repair: 0s}\n"
    proc = run_cli("run", write_scenario(tmp_path, text), "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 2
    assert ": failures.repair: " in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_failures_are_the_same_across_hash_seeds(tmp_path):
    path = write_scenario(tmp_path, BUSY)
    summaries = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"out{hash_seed}"
        run_cli("run", path, "--out", out, "--quiet", env={"PYTHONHASHSEED": hash_seed}, check=True)
        summary = (out / "summary.json").read_text()
        summaries.append({k: v for k, v in json.loads(summary).items() if k != "wall_s"})
    assert summaries[0] == summaries[1]
