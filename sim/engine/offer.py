"""What the engine offers the policies' view (`sim.policies.base.Capacity`): time, placements,
estimates, what each job has had so far (attained service, last start, restarts, preemptions),
elastic sizes and timers, answered from the ledger and pool capacity."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

from sim.engine.capacity import PoolCapacity
from sim.engine.events import EventCore, Timed
from sim.engine.ledger import Ledger
from sim.engine.plan import JobPlan
from sim.engine.power_cap import PowerCap
from sim.placement import Allocation, PoolState
from sim.policies.base import RUNNING


class Offer:
    def __init__(self, plan: JobPlan, core: EventCore, ledger: Ledger, cap: PoolCapacity,
                 horizon: float | None, on_wake: Callable[[], None], power_cap: PowerCap | None = None):
        self.plan = plan
        self.core = core
        self.ledger = ledger
        self.cap = cap
        self.horizon = horizon
        self._on_wake = on_wake
        self._wakes: set[float] = set()  # times a policy asked for a pass at, not yet reached
        self._job_pools = plan.table.pools
        self._chips_on = plan.chips_on
        self._elastic = plan.elastic or {}
        self.free_chips, self.running_on, self.pool_version = cap.free_chips, cap.running_on, cap.pool_version
        self.projection = cap.projection
        self.last_start = ledger.last_start.__getitem__  # when a job last started: a C call
        self.power_cap = power_cap
        if power_cap is not None and power_cap.hold:  # power is a capacity too
            self._holding = power_cap
            # the variants that count power, chosen once here instead of a test per call
            self.can_place = self._can_place_within_power  # type: ignore[method-assign]
            self.can_place_size = self._can_place_size_within_power  # type: ignore[method-assign]

    def now(self) -> float:
        return self.core.env._now

    def allocation(self, job: int) -> Allocation | None:
        return self.ledger.alloc[job]

    # --- what a job has had so far -----------------------------------------------------------------
    def attained(self, job: int) -> float:
        """Chip-seconds `job` has held so far: its stopped stretches, and its last one up to now while
        it runs, or up to its end once it ended."""
        L = self.ledger
        done = L.attained.get(job, 0.0)
        until = self.core.env._now if L.state[job] == RUNNING else L.end[job]
        if until != until:  # nan: queued (a stopped stretch is counted in `done`), or never started
            return done
        return done + L.chips_allocated[job] * (until - L.stretch.get(job, L.start[job]))

    def restarts(self, job: int) -> int:
        """Starts of `job` after its first (each after a preemption or a failure stopped it)."""
        return self.ledger.restarts.get(job, 0)

    def preemptions(self, job: int) -> int:
        """Times a policy preempted `job`."""
        return self.ledger.preemptions.get(job, 0)

    def estimated_end(self, job: int) -> float:
        return max(self.core.env._now, self.ledger.est_end[job])

    def k(self, job: int, pool: int) -> int:
        """Where `pool` is in the job's accepted pools (its chips_on, run_on, ... tuples)."""
        pools = self._job_pools[job]
        return 0 if pools[0] == pool else pools.index(pool)

    def chips_on(self, job: int, pool: int) -> int:
        return self._chips_on[job][self.k(job, pool)]

    def estimate(self, job: int, pool: int, allocation: Allocation) -> float:
        k = self.k(job, pool)
        chips = self._chips_on[job][k]
        return self.plan.estimate_on[job][k] * self.cap.slowdown_at(self.cap.pools[pool], allocation.tier, chips)

    def place_on(self, projection: PoolState, job: int, pool: int) -> Allocation | None:
        return self.cap.place(projection, self.chips_on(job, pool))

    def can_place(self, job: int, pool: int) -> bool:
        pools = self._job_pools[job]
        if pools[0] == pool:
            return self.cap.pools[pool].can_place(self._chips_on[job][0])
        return self.cap.pools[pool].can_place(self._chips_on[job][pools.index(pool)])

    # --- power (cluster.power_cap: hold) ---------------------------------------------------------
    def power_room(self) -> float:
        """Watts that starts may still add under a held power cap (infinite without one)."""
        cap = self.power_cap
        return math.inf if cap is None or not cap.hold else cap.room()

    def power_need(self, job: int, pool: int, chips: int | None = None) -> float:
        """Busy watts above idle that `job` adds on `pool` (at `chips`, default its request); 0 when
        power does not limit starts."""
        cap = self.power_cap
        if cap is None or not cap.hold:
            return 0.0
        return cap.need(pool, self.chips_on(job, pool) if chips is None else chips)

    def power_draw(self, job: int) -> float:
        """Busy watts above idle that running `job` draws (what stopping it gives back)."""
        cap = self.power_cap
        if cap is None or not cap.hold:
            return 0.0
        L = self.ledger
        return L.chips_allocated[job] * cap.meter.per_chip[L.pool[job]]

    def _can_place_within_power(self, job: int, pool: int) -> bool:
        chips = self.chips_on(job, pool)
        return self.cap.pools[pool].can_place(chips) and self._holding.fits(self._holding.need(pool, chips))

    def _can_place_size_within_power(self, job: int, pool: int, chips: int) -> bool:
        return self.cap.pools[pool].can_place(chips) and self._holding.fits(self._holding.need(pool, chips))

    # --- elastic jobs ---------------------------------------------------------------------------
    def elastic_range(self, job: int, pool: int) -> tuple[int, int, float] | None:
        """(min, max, scaling) of an elastic job in `pool`'s chips; None for a rigid job."""
        e = self._elastic.get(job)
        if e is None:
            return None
        chips_ref = self.plan.table.chips[job]
        chips = self.chips_on(job, pool)
        if chips == chips_ref:
            return e.min, e.max, e.scaling
        return (max(1, math.ceil(e.min * chips / chips_ref - 1e-9)), math.ceil(e.max * chips / chips_ref - 1e-9),
                e.scaling)

    def size(self, job: int) -> int:
        return self.ledger.chips_used(job)

    def can_place_size(self, job: int, pool: int, chips: int) -> bool:
        return self.cap.pools[pool].can_place(chips)

    def can_resize(self, job: int, chips: int) -> bool:
        L = self.ledger
        return self.cap.can_resize(cast(Allocation, L.alloc[job]), L.pool[job], chips)  # a running job's

    # --- timers -----------------------------------------------------------------------------------
    def wake_at(self, t: float) -> None:
        """A policy's timer: a scheduling pass at time t (one event per distinct time)."""
        if (t <= self.core.env._now or t in self._wakes or t == math.inf
                or (self.horizon is not None and t > self.horizon)):
            return
        self._wakes.add(t)
        self.core.at(t, self._wake, t)

    def _wake(self, ev: Timed) -> None:
        self._wakes.discard(ev._value)
        self._on_wake()
