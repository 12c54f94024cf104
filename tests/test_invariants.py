"""Property tests: invariants of every run, on workloads hypothesis makes up.

Workloads mix explicit `jobs:` (sizes from 1 chip to several whole instances, submit times
and durations that often tie, zero durations) with an optional Poisson generator, on one or
two pools of trn2.48xlarge / trn2u.48xlarge instances. Placement is watched from outside:
`first_fit` and `PoolState.release` are wrapped to keep our own count of chips in use on
each instance, so a double booking or a double free is caught when it happens.
"""

from __future__ import annotations

import contextlib
import functools
import math
import tempfile
from collections import Counter
from pathlib import Path
from unittest import mock

import numpy as np
from conftest import write_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import metrics, placement
from sim.engine.capacity import PoolCapacity
from sim.placement import PoolState
from sim.policies import base as policies
from sim.run import simulate
from sim.scenario.loader import load

CHIPS_PER_INSTANCE = 16  # trn2.48xlarge and trn2u.48xlarge
MAX_JOBS = 500


def seconds(x: float) -> str:
    return f"{x!r}s"  # repr round-trips, so the loaded value is exactly x


times = st.one_of(
    st.integers(0, 40).map(lambda k: 600.0 * k),  # coarse grid: simultaneous arrivals/completions
    st.floats(0, 2e5, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)
durations = st.one_of(
    st.just(0.0),
    st.integers(1, 12).map(lambda k: 600.0 * k),
    st.floats(1e-3, 1e5, allow_nan=False, allow_infinity=False),
)
sizes = st.one_of(  # half share an instance, half need several (clamped to the largest pool)
    st.integers(1, CHIPS_PER_INSTANCE),
    st.one_of(st.sampled_from([17, 32, 33, 48, 64, 65, 128]), st.integers(CHIPS_PER_INSTANCE + 1, 128)),
)


def bulk_jobs(rng: np.random.Generator, n: int, largest: int, capacity: int, p_large: float, grid: bool,
              load: float) -> list[dict]:
    """`n` jobs drawn with numpy: many workloads per few hypothesis choices (hypothesis alone
    mostly mutates the same few long lists)."""
    small = rng.integers(1, CHIPS_PER_INSTANCE + 1, n)
    large = rng.integers(min(CHIPS_PER_INSTANCE + 1, largest), largest + 1, n)
    chips = np.where(rng.random(n) < p_large, large, small)
    if grid:  # whole 10-minute steps: many arrivals and completions at the same instant
        duration = 600.0 * rng.integers(0, 13, n)
    else:
        duration = rng.exponential(3600.0, n)
    span = float(np.sum(chips * duration)) / (capacity * load) + 1.0
    submit = 600.0 * np.floor(rng.uniform(0, span, n) / 600.0) if grid else rng.uniform(0, span, n)
    return [{"id": f"b{k}", "submit": seconds(float(s)), "chips": int(c), "duration": seconds(float(d))}
            for k, (s, c, d) in enumerate(zip(submit, chips, duration, strict=True))]


@st.composite
def scenarios(draw) -> dict:
    pools = []
    if draw(st.booleans()):
        pools.append({"name": "solo", "instance": "trn2.48xlarge", "count": draw(st.integers(1, 5))})
    if not pools or draw(st.booleans()):
        pools.append({"name": "ultra", "instance": "trn2u.48xlarge", "count": 4 * draw(st.integers(1, 2))})
    if draw(st.booleans()):
        pools.reverse()
    largest = max(p["count"] for p in pools) * CHIPS_PER_INSTANCE
    capacity = sum(p["count"] for p in pools) * CHIPS_PER_INSTANCE
    # a short hand-made list hypothesis can shrink, then bulk jobs and maybe a generator
    explicit = draw(st.lists(st.tuples(times, sizes, durations, st.sampled_from([0, 0, 5, 10]),
                                       st.sampled_from([None, "30m", "2h"])), min_size=1, max_size=40))
    workload = [{"name": "hand", "jobs": [
        {"id": f"j{k}", "submit": seconds(s), "chips": min(c, largest), "duration": seconds(d), "priority": pr,
         **({"checkpoint_interval": ck} if ck else {})}
        for k, (s, c, d, pr, ck) in enumerate(explicit)]}]
    room = MAX_JOBS - len(explicit)
    n_bulk = draw(st.integers(0, room))
    if n_bulk:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        workload.append({"name": "bulk", "jobs": bulk_jobs(
            rng, n_bulk, largest, capacity, p_large=draw(st.sampled_from([0.0, 0.1, 0.4, 0.9])),
            grid=draw(st.booleans()), load=draw(st.sampled_from([0.3, 0.9, 3.0])))})
    count = draw(st.integers(0, room - n_bulk))
    if count:
        values = sorted({min(v, largest) for v in draw(st.lists(sizes, min_size=1, max_size=4))})
        workload.append({"name": "gen", "generator": {
            "count": count,
            "arrivals": {"poisson": {"rate": f"{draw(st.sampled_from([2, 10, 60]))}/h"}},
            "chips": {"choice": {"values": values}},
            "duration": {"lognormal": {"median": "1h", "sigma": 1.0}},
        }})
    return {"name": "invariants", "seed": draw(st.integers(0, 2**31)), "cluster": {"pools": pools},
            "workload": workload,
            "scheduler": {"policy": draw(st.sampled_from(policies.names())),
                          "placement": draw(st.sampled_from(sorted(placement.PLACEMENTS)))}}


class ChipLedger:
    """Our own count of chips in use per (pool, instance), kept by wrapping placement."""

    def __init__(self) -> None:
        self.used: Counter = Counter()
        self.placed = 0
        self.released = 0
        self._placements = dict(placement.PLACEMENTS)
        self._release = PoolState.release
        self._init = PoolState.__init__
        self._given = PoolCapacity._given
        self.real: set[int] = set()  # ids of the engine's pools (projections are copies, not built)

    def place(self, name: str, pool: PoolState, chips: int):
        alloc = self._placements[name](pool, chips)
        if alloc is None or id(pool) not in self.real:
            return alloc  # a policy's projection (a private copy), not the cluster itself
        return self.record(pool, chips, alloc)

    def given(self, pool: PoolState, job: int, chips: int, alloc):
        """An allocation a policy chose itself (`Start(job, pool, allocation)`)."""
        return self.record(pool, chips, self._given(pool, job, chips, alloc))

    def record(self, pool: PoolState, chips: int, alloc):
        self.placed += 1
        cpi = pool.cpi
        if chips <= cpi:
            assert alloc.instances and len(alloc.instances) == 1, f"{chips}-chip job split: {alloc}"
            assert alloc.chips_each == chips, alloc
        else:
            assert len(alloc.instances) == math.ceil(chips / cpi), f"{chips} chips on {alloc}"
            assert len(set(alloc.instances)) == len(alloc.instances), f"instance taken twice: {alloc}"
            assert alloc.chips_each == cpi, f"multi-instance job given partial instances: {alloc}"
        for i in alloc.instances:
            assert 0 <= i < pool.n
            key = (id(pool), i)
            self.used[key] += alloc.chips_each
            assert self.used[key] <= cpi, f"instance {i} of {pool.name} double-booked: {self.used[key]} > {cpi}"
            assert pool.free(i) == cpi - self.used[key], f"pool's free count disagrees on instance {i}"
        return alloc

    def release(self, pool: PoolState, alloc, owner: int | None = None) -> None:
        if id(pool) not in self.real:
            self._release(pool, alloc, owner)
            return
        self.released += 1
        for i in alloc.instances:
            key = (id(pool), i)
            self.used[key] -= alloc.chips_each
            assert self.used[key] >= 0, f"instance {i} of {pool.name} released more chips than it held"
        self._release(pool, alloc, owner)
        for i in alloc.instances:
            assert pool.free(i) == pool.cpi - self.used[(id(pool), i)]

    @contextlib.contextmanager
    def watching(self):
        """Route placement through this ledger for the duration of a `with` block."""
        wrapped = {name: functools.partial(self.place, name) for name in self._placements}
        def init(pool, *args, **kwargs):
            self._init(pool, *args, **kwargs)
            self.real.add(id(pool))

        with (mock.patch.dict(placement.PLACEMENTS, wrapped), mock.patch.object(PoolState, "__init__", init),
              mock.patch.object(PoolState, "release", lambda pool, alloc, owner=None: self.release(pool, alloc, owner)),
              mock.patch.object(PoolCapacity, "_given", staticmethod(self.given))):
            yield self


def run_watched(scenario: dict):
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(write_scenario(Path(tmp), scenario))
        ledger = ChipLedger()
        with ledger.watching():
            result = simulate(loaded)
    return result, ledger


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_run_invariants(scenario):
    result, ledger = run_watched(scenario)
    jobs = metrics.jobs_table(result).to_pydict()
    n = len(jobs["job_id"])
    capacity = result.summary["chips"]

    # everything fits some pool and there is no horizon: every job runs to completion
    assert set(jobs["state"]) == {"completed"}
    restarts = np.asarray(jobs["restarts"])
    assert np.array_equal(restarts, np.asarray(jobs["preemptions"])), "every preempted job restarted"
    assert ledger.placed == ledger.released == n + int(restarts.sum())
    assert all(v == 0 for v in ledger.used.values()), "chips still held after the run"

    submit, start, end = (np.asarray(jobs[k], dtype=float) for k in ("submit_s", "start_s", "end_s"))
    run_s = np.asarray(jobs["run_s"], dtype=float)
    assert np.all(submit <= start), "a job started before it was submitted"
    assert np.all(start <= end), "a job ended before it started"
    whole = restarts == 0  # never stopped: one stretch on chips
    assert np.allclose((end - start)[whole], run_s[whole], rtol=1e-9, atol=1e-6)
    assert np.all(end - start >= run_s - 1e-6), "held chips longer than it existed"
    wait = np.asarray(jobs["wait_s"], dtype=float)
    assert np.allclose(wait, end - submit - run_s, rtol=1e-9, atol=1e-6) and np.all(wait >= -1e-6)

    # allocation rule: a job of at most one instance's chips is never split; larger jobs get whole instances
    chips = np.asarray(jobs["chips_requested"])
    alloc = np.asarray(jobs["chips_allocated"])
    small = chips <= CHIPS_PER_INSTANCE
    assert np.array_equal(alloc[small], chips[small])
    assert np.array_equal(alloc[~small], -(-chips[~small] // CHIPS_PER_INSTANCE) * CHIPS_PER_INSTANCE)
    tiers = np.asarray(jobs["tier"])
    assert np.all(tiers[small] == "instance")
    assert not np.any(tiers[~small] == "instance")

    # the series: never more busy chips than installed, nothing negative, empty at the end
    series = result.outcome.series
    t = np.asarray(series["t_s"], dtype=float)
    busy = np.asarray(series["busy_chips"], dtype=float)
    assert np.all(np.diff(t) > 0), "series times must increase (one row per change)"
    assert np.all((busy >= 0) & (busy <= capacity)), f"busy_chips outside [0, {capacity}]"
    for name in ("running_jobs", "queued_jobs", "queued_chips"):
        assert np.all(np.asarray(series[name]) >= 0), name
    assert busy[-1] == 0 and series["running_jobs"][-1] == 0 and series["queued_jobs"][-1] == 0

    # chip-seconds are conserved: what jobs held is what the series says was busy
    held = float(np.sum(alloc * run_s))
    integral = float(np.sum(busy[:-1] * np.diff(t)))
    assert math.isclose(held, integral, rel_tol=1e-9, abs_tol=1e-6 * max(1.0, float(t[-1]))), (held, integral)
