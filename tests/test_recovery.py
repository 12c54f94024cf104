"""Recovery from failures (`failures.recovery`, sim/engine/recovery.py): hot spares swapped in
place, the wait and shrink fallbacks, restart overheads that grow with the job, the resilience
counts, and the renewal expectation of a job's completion with unlimited spares."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest
from conftest import run_cli, run_scenario, simulate_in_process, write_scenario
from hypothesis import assume, given
from hypothesis import strategies as st

from sim import failures
from sim.engine.recovery import SpareSet, _replaced, spare_instances
from sim.failures import PoolFailures
from sim.metrics import arrays, job_ettr
from sim.placement import Allocation, PoolState
from sim.run import build_cluster
from sim.scenario.failures import RestartOverhead
from sim.scenario.loader import load

H = 3600.0

# one 16-chip job on instance 0 of three, 10 h of work checkpointed hourly (C = 60 s)
ONE_JOB = """\
name: by-hand
seed: 1
cluster:
  pools:
    - {name: trn2, instance: trn2.48xlarge, count: 3, spares: SPARES}
workload:
  - jobs:
      - {id: a, submit: 0s, chips: CHIPS, duration: 10h, checkpoint_interval: 1h ELASTIC}
failures: {checkpoint_write: 60s, restart_overhead: 300s, repair: 4h, recovery: RECOVERY, fallback: FALLBACK}
"""


def one_failure_at(t: float, victim: int = 0):
    """Patch the failure process: one failure, of `victim`, at time t; none after it."""
    gaps = iter([t])

    def next_gap(self):
        return next(gaps, math.inf)

    def fail(self):
        self.up.remove(victim)
        self.pos[victim] = -1
        return victim

    return mock.patch.object(PoolFailures, "next_gap", next_gap), mock.patch.object(PoolFailures, "fail", fail)


def by_hand(recovery: str, fallback: str = "requeue", spares: int = 0, chips: int = 16, elastic: str = ""):
    text = (ONE_JOB.replace("SPARES", str(spares)).replace("RECOVERY", recovery).replace("FALLBACK", fallback)
            .replace("CHIPS", str(chips)).replace(" ELASTIC", elastic))
    a, b = one_failure_at(2.5 * H)
    with a, b:
        return simulate_in_process(text)


def test_a_spare_replaces_the_failed_instance_in_place():
    result = by_hand("spares", spares=1)
    s = result.summary
    # the run is 36,600 s in cycles of 3,660 s; at 9,000 s two cycles are saved, 1,680 s lost; the
    # spare (instance 1, the middle of three) takes instance 0's place at once; 300 s, then 29,280 s
    assert result.outcome.end[0] == pytest.approx(9000 + 300 + 29280)
    assert (s["failures"], s["interruptions"], s["spare_swaps"], s["requeues"], s["restarts"]) == (1, 1, 1, 0, 0)
    assert s["spare_swaps_pod"] == 1 and s["spare_swaps_ultraserver"] == s["spare_swaps_cluster"] == 0  # 0 and 1 share a pod
    assert s["lost_chip_s"] == pytest.approx(16 * 1680)
    assert s["goodput"] == pytest.approx(36000 / 38580)
    # the spare was held out of placement: the job started on instance 0, not 1
    assert result.outcome.stretches()["pool"][0] == 0


def test_without_a_free_spare_the_job_waits_for_the_repair_holding_nothing_else():
    result = by_hand("spares", fallback="wait")
    s = result.summary
    # no spare: it waits the 4 h repair of instance 0, which then rejoins it; 300 s, then 29,280 s
    assert result.outcome.end[0] == pytest.approx(9000 + 4 * H + 300 + 29280)
    assert (s["interruptions"], s["spare_swaps"], s["requeues"], s["restarts"]) == (1, 0, 0, 0)


def test_without_a_free_spare_the_fallback_requeues():
    result = by_hand("spares", fallback="requeue")
    s = result.summary
    # requeued, it restarts at once on a free instance: the same end as a swap, counted as a requeue
    assert result.outcome.end[0] == pytest.approx(9000 + 300 + 29280)
    assert (s["interruptions"], s["spare_swaps"], s["requeues"], s["restarts"]) == (1, 0, 1, 1)


def test_an_elastic_job_shrinks_to_its_remaining_instances():
    result = by_hand("shrink", chips=32, elastic=", elastic: {min: 16, max: 32}")
    s = result.summary
    # at 9,000 s it keeps 7,320 s of its 36,600 s at 32 chips (a fifth) and goes on at 16 chips:
    # 4/5 x 73,200 s = 58,560 s after 300 s
    assert result.outcome.end[0] == pytest.approx(9000 + 300 + 58560)
    assert (s["interruptions"], s["requeues"], s["resizes"], s["restarts"]) == (1, 0, 1, 0)


def test_a_rigid_job_under_shrink_requeues():
    result = by_hand("shrink", chips=32)
    s = result.summary
    assert (s["interruptions"], s["requeues"], s["resizes"], s["restarts"]) == (1, 1, 0, 1)


def test_requeue_is_the_default_and_counts_its_stops():
    result = by_hand("requeue")
    s = result.summary
    assert result.outcome.end[0] == pytest.approx(9000 + 300 + 29280)
    assert (s["interruptions"], s["requeues"], s["spare_swaps"], s["domain_failures"]) == (1, 1, 0, 0)


def test_the_restart_overhead_grows_with_the_job():
    r = RestartOverhead(fixed="2m", per_1k_instances="60s")
    assert failures.restart_overhead(r, 16384) == pytest.approx(120 + 60 * 16.384)
    assert failures.restart_overhead(300.0, 16384) == 300.0
    assert failures.restart_overhead(RestartOverhead(fixed="20s", per_1k_instances="0s"), 1024) == 20.0


# --- the spare set ------------------------------------------------------------------------------

ULTRA = """\
name: ultra
seed: 1
cluster:
  topology: {fanout: {pod: 8, spine: 2}}
  pools:
    - {name: trn2, instance: trn2u.48xlarge, ultraservers: 8}
workload:
  - jobs:
      - {id: a, submit: 0s, chips: 16, duration: 1h}
"""


def test_the_nearest_spare_is_in_the_same_ultraserver_then_pod_then_spine(tmp_path):
    _, pools = build_cluster(load(write_scenario(tmp_path, ULTRA)))
    pool: PoolState = pools[0]  # 32 instances: UltraServers of 4, pods of 8, spine groups of 2 pods
    spares = SpareSet(pool, 4)
    for i in (30, 17, 9, 2):
        spares.add(i)
    assert spares.nearest(0) == (2, 1)  # same UltraServer (instances 0-3)
    spares.remove(2)
    assert spares.nearest(0) == (9, 3)  # no spare in pod 0 (0-7); 9 is in its spine group (0-15)
    assert spares.nearest(20) == (17, 2)  # same pod (16-23)
    assert spares.nearest(31) == (30, 1)
    spares.remove(9)
    assert spares.nearest(0) == (30, 4)  # anywhere: the cluster tier
    assert len(spares) == 2 and 17 in spares


def test_spares_are_whole_ultraservers_spread_over_the_pool(tmp_path):
    _, pools = build_cluster(load(write_scenario(tmp_path, ULTRA)))
    assert spare_instances(pools[0], 8) == [8, 9, 10, 11, 24, 25, 26, 27]  # UltraServers 2 and 6 of 8
    assert spare_instances(pools[0], 2) == [16, 17]  # half an UltraServer: the middle one's first two
    assert spare_instances(pools[0], 0) == []


def test_a_share_of_spares_is_held_out_of_placement_through_the_cli(tmp_path):
    text = ULTRA.replace("ultraservers: 8}", "ultraservers: 8, spares: '25%'}").replace(
        "chips: 16, duration: 1h}", "chips: 512, duration: 1h}")
    (tmp_path / "whole").mkdir()
    run = run_scenario(tmp_path / "whole", text)  # 512 chips = all 32 instances, but 8 are spares
    assert run.summary["jobs_unstarted"] == 1 and run.summary["jobs_completed"] == 0
    text = text.replace("chips: 512", "chips: 384")  # 24 instances: the ones left
    run = run_scenario(tmp_path, text)
    assert run.summary["jobs_completed"] == 1 and run.summary["utilisation"] == pytest.approx(0.75)


@pytest.mark.parametrize("value, message", [("'150%'", "a share must be in [0%, 100%)"),
                                            ("1.5", "a count of instances, or a share written like '2%'"),
                                            ("32", "32 spares leave no instance of the 32 to place jobs on")])
def test_bad_spares_are_one_located_line(tmp_path, value, message):
    text = ULTRA.replace("ultraservers: 8}", f"ultraservers: 8, spares: {value}}}")
    path = write_scenario(tmp_path, text)
    proc = run_cli("run", path, "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:6:") and "cluster.pools.0.spares" in lines[0]
    assert message in lines[0]


# --- the renewal expectation ----------------------------------------------------------------------

RENEWAL = """\
name: renewal
seed: SEED
cluster:
  topology: {slowdown: {pod: 1.0, spine: 1.0, cluster: 1.0}}
  pools:
    - {name: trn2, instance: trn2.48xlarge, count: 1800, spares: 200}
workload:
  - name: w
    generator:
      count: 400
      chips: 64
      duration: 5d
      checkpoint_interval: 4h
failures: {mtbf_instance: 10d, repair: 1h, checkpoint_write: 10m, restart_overhead: 1h, recovery: spares}
"""


def expected_completion(work: float, cycle: float, rate: float, restart: float) -> float:
    """Mean time to finish `work` seconds in checkpoint cycles of `cycle` seconds when failures
    come at `rate` and each costs `restart` (failures may strike during it): every cycle needs an
    unbroken stretch, E = e^(rate R) (e^(rate x) - 1) / rate for a segment of x seconds."""
    n, rest = divmod(work, cycle)
    segment = lambda x: math.exp(rate * restart) * math.expm1(rate * x) / rate  # noqa: E731
    return n * segment(cycle) + segment(rest)


def test_a_job_with_unlimited_spares_finishes_at_its_renewal_expectation():
    # 400 independent 4-instance jobs (spares never run out; no tier slowdown): each job's
    # instances fail at 4 / 10 d; each completion time is one draw of the renewal time
    ends = []
    for seed in (1, 2):
        result = simulate_in_process(RENEWAL.replace("SEED", str(seed)))
        s = result.summary
        assert s["requeues"] == 0 and s["spare_swaps"] == s["interruptions"] > 300
        out = result.outcome
        ends += [e - st for e, st in zip(out.end, out.start, strict=True)]
    ends = np.asarray(ends)
    C, T = 600.0, 4 * H
    work = 5 * 86400 * (1 + C / T)
    expected = expected_completion(work, T + C, 4 / (10 * 86400), H)
    assert expected == pytest.approx(473_825, rel=1e-4)  # vs 450,000 s of work without failures
    sem = ends.std(ddof=1) / math.sqrt(len(ends))
    assert abs(ends.mean() - expected) < 3.5 * sem, (ends.mean(), expected, sem)


def test_swaps_touch_one_instance_of_a_large_job():
    alloc = Allocation(None, 16, 3, np.arange(100, 16484, dtype=np.int64))
    from sim.engine.recovery import swapped

    new = swapped(alloc, 200, 5, 3)
    assert new.count == 16384 and 200 not in set(new.index.tolist()) and new.index[0] == 5
    assert bool(np.all(np.diff(new.index) > 0))
    assert swapped(alloc, 200, None, 3).count == 16383


# --- failure domains -----------------------------------------------------------------------------

DOMAINS = ULTRA.replace("""      - {id: a, submit: 0s, chips: 16, duration: 1h}
""", """      - {id: a, submit: 0s, chips: 64, duration: 10h}
      - {id: b, submit: 0s, chips: 64, duration: 10h}
scheduler: {policy: fifo, placement: topology_aware}
failures:
  mtbf_instance: 1000yr
  repair: 1h
  checkpoint_interval: 1h
  domains: {ultraserver: {mtbf: MTBF, repair: 3h}}
""")


def test_a_domain_failure_takes_out_exactly_the_domains_instances():
    from sim.failures import DomainFailures

    gaps = iter([2 * H])

    def next_gap(self):
        return next(gaps, math.inf)

    def fail(self):  # UltraServer 1: instances 4-7, where job b runs (a has 0-3)
        self.take(1)
        return 1

    with mock.patch.object(DomainFailures, "next_gap", next_gap), mock.patch.object(DomainFailures, "fail", fail):
        result = simulate_in_process(DOMAINS.replace("MTBF", "100d"))
    s = result.summary
    assert (s["domain_failures"], s["failures"], s["interruptions"], s["requeues"]) == (1, 0, 1, 1)
    series = result.outcome.series
    down = dict(zip(series["t_s"], series["down_chips"], strict=True))
    assert down[2 * H] == 64 and down[5 * H] == 0  # its 4 instances x 16 chips, for the 3 h repair
    ids = list(result.jobs.id)
    restarts = dict(zip(ids, result.outcome.restarts, strict=True))
    assert restarts == {"a": 0, "b": 1}
    assert result.outcome.end[ids.index("a")] == pytest.approx(10 * H * (1 + 60 / H))  # untouched


def test_domain_failures_come_at_their_rate_and_only_in_whole_domains():
    text = DOMAINS.replace("MTBF", "2d").replace("name: ultra\n", "name: ultra\nhorizon: 100d\n")
    result = simulate_in_process(text)
    s = result.summary
    # 8 UltraServers alternating up (mean 2 d) and down (3 h): 8 x 100 d / (2 d + 3 h) = 376 failures
    expected = failures.expected_failures(8, 2 * 86400, 100 * 86400, 3 * H)
    assert expected == pytest.approx(376.5, abs=0.1)
    assert abs(s["domain_failures"] - expected) < 4 * math.sqrt(expected)
    assert s["failures"] == 0
    down = np.asarray(result.outcome.series["down_chips"])
    assert down.max() >= 128 and bool(np.all(down % 64 == 0))  # whole UltraServers only


def test_a_job_overrides_the_recovery_of_the_failures_block():
    result = by_hand("requeue", spares=1, elastic=", recovery: spares")
    s = result.summary
    assert (s["interruptions"], s["spare_swaps"], s["requeues"], s["restarts"]) == (1, 1, 0, 0)
    assert result.outcome.end[0] == pytest.approx(9000 + 300 + 29280)


def test_a_generators_jobs_take_its_recovery():
    text = RENEWAL.replace("SEED", "1").replace("      count: 400\n", "      count: 40\n      recovery: requeue\n")
    s = simulate_in_process(text).summary
    assert s["spare_swaps"] == 0 and s["requeues"] == s["interruptions"] > 0


# --- where the goodput goes -----------------------------------------------------------------------

def test_goodput_factors_and_ettr_worked_by_hand():
    result = by_hand("spares", fallback="wait", chips=32)
    s = result.summary
    # a 2-instance job, submitted at 0, ends at 52,980 s; it waits the 4 h repair of instance 0
    # holding instance 1: scheduling goodput 1; runtime goodput = 32 x 36,000 useful chip-s of
    # 32 x (9,000 + 300 + 29,280) + 16 x 14,400 held
    end = 9000 + 4 * H + 300 + 29280
    assert result.outcome.end[0] == pytest.approx(end)
    assert s["scheduling_goodput"] == pytest.approx(1.0)
    runtime = 32 * 36000 / (32 * 38580 + 16 * 4 * H)
    assert s["goodput"] == pytest.approx(runtime)
    mfu = result.shapes[0].mfu
    assert s["program_goodput"] == pytest.approx(mfu)
    assert s["ml_goodput"] == pytest.approx(runtime * mfu)
    assert job_ettr(result, arrays(result))[0] == pytest.approx(36000 / end)


def test_scheduling_goodput_counts_the_queue():
    # two 3-instance jobs on three instances: b waits 10 h x (1 + 60 s / 1 h) = 36,600 s for a
    text = ONE_JOB.replace("SPARES", "0").replace("CHIPS", "48").replace(" ELASTIC", "").replace(
        "RECOVERY", "requeue").replace("FALLBACK", "requeue").replace(
        "      - {id: a,", "      - {id: b, submit: 0s, chips: 48, duration: 10h, checkpoint_interval: 1h}\n      - {id: a,")
    text = text.replace("repair: 4h,", "repair: 4h, mtbf_instance: 1000yr,")
    result = simulate_in_process(text)
    s = result.summary
    assert s["interruptions"] == 0
    # chip-weighted: (36,600 + 36,600) held of (36,600 + 73,200) lived
    assert s["scheduling_goodput"] == pytest.approx(2 / 3)
    run = 36600
    ettr = job_ettr(result, arrays(result))
    assert sorted(ettr) == pytest.approx([36000 / (2 * run), 36000 / run])


def test_the_chip_hours_split_adds_up_worked_by_hand():
    result = by_hand("spares", fallback="wait", chips=32)
    s = result.summary
    end = 9000 + 4 * H + 300 + 29280
    # 3 instances x 16 chips over 52,980 s; the job: 32 chips x 9,000 s, then 16 x 14,400 s waiting
    # (instance 0 down), then 32 x (300 + 29,280) s
    assert s["chip_h_lost"] == pytest.approx(32 * 1680 / H)
    assert s["chip_h_restart"] == pytest.approx((16 * 4 * H + 32 * 300) / H)
    assert s["chip_h_useful"] == pytest.approx(32 * 36000 / H)
    assert s["chip_h_checkpoint"] == pytest.approx(32 * 600 / H)  # 10 writes of 60 s
    assert s["chip_h_down"] == pytest.approx(16 * 4 * H / H)
    total = sum(s[f"chip_h_{k}"] for k in ("useful", "checkpoint", "lost", "restart", "rounding", "idle", "down"))
    assert total == pytest.approx(48 * end / H)


@given(members=st.sets(st.integers(0, 200), min_size=1, max_size=60), new=st.integers(0, 200),
       pick=st.integers(0, 59), add=st.booleans())
def test_a_large_allocations_index_stays_sorted_through_a_swap(members, new, pick, add):
    """A swap replaces the failed instance by the spare in a large job's sorted index (or drops
    it, or adds a repaired instance): the same set as a sort of the new members would give."""
    old = sorted(members)[pick % len(members)]
    assume(new not in members)  # a spare is never one of the job's own instances
    new = new if add else None
    index = np.array(sorted(members), dtype=np.int64)
    expected = sorted((members - {old}) | ({new} if new is not None else set()))
    assert _replaced(index, old, new).tolist() == expected
    if new is not None:
        assert _replaced(index, None, new).tolist() == sorted(members | {new})


@pytest.mark.parametrize("fanout, tier", [("{pod: 64}", "pod"), ("{pod: 1}", "spine"), ("{pod: 1, spine: 1}", "cluster")])
def test_a_spare_swap_is_counted_at_the_tier_between_the_failed_instance_and_its_spare(fanout, tier):
    # the spare is instance 1 and the failure hits instance 0: one pod of 64; with one instance per
    # pod, two pods of one spine group; with one pod per spine group too, two spine groups
    text = (ONE_JOB.replace("spares: SPARES}\n", f"spares: 1}}\n  topology: {{fanout: {fanout}}}\n")
            .replace("RECOVERY", "spares").replace("FALLBACK", "requeue").replace("CHIPS", "16").replace(" ELASTIC", ""))
    a, b = one_failure_at(2.5 * H)
    with a, b:
        s = simulate_in_process(text).summary
    swaps = {t: s[f"spare_swaps_{t}"] for t in ("ultraserver", "pod", "spine", "cluster")}
    assert s["spare_swaps"] == 1 and swaps == {t: int(t == tier) for t in swaps}
