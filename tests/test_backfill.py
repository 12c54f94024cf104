"""EASY backfilling against its definition and against FIFO."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
from conftest import simulate_in_process
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.policies.easy_backfill import EasyBackfill
from sim.run import simulate
from sim.scenario.loader import load

FLAT = {"pod": 1.0, "spine": 1.0, "cluster": 1.0}  # no placement slowdown: estimates stay exact


@st.composite
def small_workloads(draw) -> dict:
    n = draw(st.integers(8, 40))
    jobs = [{"id": f"j{k}", "submit": f"{draw(st.integers(0, 20)) * 600}s",
             "chips": draw(st.sampled_from([1, 2, 4, 8, 12, 16, 24, 32, 48])),
             "duration": f"{draw(st.integers(1, 48)) * 900}s"} for k in range(n)]
    return {"name": "easy-prop", "seed": 1,
            "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": draw(st.integers(3, 4))}],
                        "topology": {"slowdown": FLAT}},
            "workload": [{"jobs": jobs}],
            "scheduler": {"policy": "easy_backfill", "estimate": "exact",
                          "placement": draw(st.sampled_from(["first_fit", "best_fit", "topology_aware"]))}}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_workloads())
def test_easy_never_delays_the_heads_reservation_under_exact_estimates(scenario):
    promised: dict[int, float] = {}  # job -> the first reservation it got as the blocked head
    original = EasyBackfill.reservation

    def recording(view, head):
        reserved, valid_until = original(view, head)
        if reserved is not None:
            promised.setdefault(head, reserved[1])
        return reserved, valid_until

    with mock.patch.object(EasyBackfill, "reservation", staticmethod(recording)):
        result = simulate_in_process(scenario)
    start = result.outcome.start
    assume(promised)  # an example where no job ever blocked tests nothing
    for job, shadow in promised.items():
        assert start[job] <= shadow + 1e-6, f"job {job} promised {shadow}, started {start[job]}"


def batch_at_zero(seed: int, policy: str) -> dict:
    """Quickstart's cluster and job mix, all 300 jobs submitted at t = 0."""
    return {"name": "batch", "seed": seed,
            "cluster": {"pools": [{"name": "trn2", "instance": "trn2u.48xlarge", "count": 16}]},
            "workload": [{"generator": {"arrivals": {"batch": {"at": "0s", "count": 300}},
                                        "chips": {"choice": {"values": [1, 4, 16, 64],
                                                             "weights": [0.5, 0.3, 0.15, 0.05]}},
                                        "duration": {"lognormal": {"median": "2h", "sigma": 1.2}}}}],
            "scheduler": {"policy": policy}}


def test_easy_makespan_on_a_batch_at_time_zero_is_no_longer_than_fifos():
    for seed in range(1, 6):
        fifo = simulate_in_process(batch_at_zero(seed, "fifo")).summary["makespan_s"]
        easy = simulate_in_process(batch_at_zero(seed, "easy_backfill")).summary["makespan_s"]
        assert easy <= fifo, (seed, easy, fifo)


def test_easy_waits_less_than_fifo_on_the_quickstart_mix_at_half_load():
    # quickstart's job mix: mean 7.3 chips x mean 4.11 h (lognormal median 2 h, sigma 1.2) on 256
    # chips; rho = 0.5 needs 0.5 x 256 / (7.3 x 4.11) = 4.27 jobs an hour
    quickstart = Path(__file__).resolve().parent.parent / "scenarios" / "quickstart.yaml"
    waits = {"fifo": [], "easy_backfill": []}
    for seed in range(1, 6):
        for policy in waits:
            loaded = load(quickstart, [f"scheduler.policy={policy}", "workload.0.generator.arrivals.poisson.rate=4.27/h",
                                       "workload.0.generator.count=1500"])
            waits[policy].append(simulate(loaded, seed=seed).summary["avg_wait_s"])
    assert np.mean(waits["easy_backfill"]) < np.mean(waits["fifo"]), waits
