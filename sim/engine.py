"""The simulation loop on simpy.

Events only at job state changes: a chain of arrival timeouts (one per distinct submit
time), one completion timeout per started job, and one scheduling pass per timestamp,
scheduled at priority 2 so it runs after every other event at that time (simpy's URGENT=0,
NORMAL=1). Callbacks on timeouts, never a process per job; a generation counter per job
makes stale completion events harmless instead of cancelling them. Job state lives in
Python lists indexed by job number; the recorder appends to typed arrays.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import simpy

from sim.placement import Allocation, PoolState
from sim.policies.base import (
    COMPLETED,
    FAILED,
    KILLED,
    QUEUED,
    REJECTED,
    RUNNING,
    JobTable,
    Policy,
    QueueView,
    Start,
)

PASS_PRIORITY = 2
NOT_ARRIVED = -1
FINAL_STATE = {"completed": COMPLETED, "failed": FAILED, "killed": KILLED}


class PolicyError(RuntimeError):
    """A policy asked for something impossible (a bug in the policy): the run fails."""


@dataclass
class JobPlan:
    """What the engine needs per job, worked out against this cluster (see sim.run)."""

    table: JobTable
    rejected: list[bool]
    chips_on: list[tuple[int, ...]]  # chips on each accepted pool (aligned with table.pools)
    run_on: list[tuple[float, ...]]  # run time at ideal placement on each pool, checkpoints included
    limit_on: list[tuple[float, ...] | None]  # kill_at_limit run-time limits, or None
    final_state: list[int]  # state a job ends in when it runs to the end (trace status)


@dataclass
class PowerModel:
    """Facility watts = base + sum over pools of busy chips x per_busy_chip[pool]; None if unknown.

    The series holds -1 where power is unknown (a sentinel that compares equal to itself).
    """

    base_w: float | None
    per_busy_chip_w: Sequence[float]


@dataclass
class Outcome:
    state: list[int]
    start: list[float]
    end: list[float]
    pool: list[int]
    chips_allocated: list[int]
    tier: list[int]
    run_s: list[float]
    slowdown: list[float]
    series: dict[str, array]
    end_time: float
    events: int


class Engine:
    def __init__(self, plan: JobPlan, pools: list[PoolState], policy: Policy,
                 place: Callable[[PoolState, int], Allocation | None], slowdown: Sequence[float],
                 power: PowerModel, horizon: float | None = None,
                 progress: Callable[[float, int, int], None] | None = None):
        self.plan = plan
        self.pools = pools
        self.policy = policy
        self.place = place
        self.slow = tuple(slowdown)
        self.power = power
        self.horizon = horizon
        self.progress = progress
        self.env = simpy.Environment()
        n = len(plan.table.submit)
        self.n = n
        self.state = [NOT_ARRIVED] * n
        self.start = [math.nan] * n
        self.end = [math.nan] * n
        self.pool = [-1] * n
        self.alloc: list[Allocation | None] = [None] * n
        self.chips_allocated = [0] * n
        self.tier = [-1] * n
        self.run_s = [0.0] * n
        self.slowdown = [math.nan] * n
        self.gen = [0] * n
        self.pending: dict[int, None] = {}
        self._started: list[int] = []
        self._pass_pending = False
        self.events = 0
        self.completed = 0
        # running counters
        self.busy = 0
        self.running = 0
        self.queued = 0
        self.queued_chips = 0
        self.watts = power.base_w
        # recorder: one row per time a value changes
        self.series = {name: array("d") for name in
                       ("t_s", "busy_chips", "down_chips", "running_jobs", "queued_jobs", "queued_chips",
                        "power_w", "fragmentation_chips")}
        self._columns = tuple(self.series.values())
        self.view = QueueView(lambda: self.env.now, self.pending, self.state, self._can_place,
                              lambda p: self.pools[p].free_chips, plan.table,
                              tuple(p.name for p in pools))
        self._groups = self._arrival_groups()

    # --- arrivals --------------------------------------------------------------------------
    def _arrival_groups(self) -> list[tuple[int, int]]:
        submit = self.plan.table.submit
        groups = []
        i = 0
        while i < self.n:
            j = i + 1
            while j < self.n and submit[j] == submit[i]:
                j += 1
            groups.append((i, j))
            i = j
        return groups

    def _schedule_arrival(self, g: int) -> None:
        first = self._groups[g][0]
        ev = self.env.timeout(max(0.0, self.plan.table.submit[first] - self.env.now), value=g)
        ev.callbacks.append(self._arrive)

    def _arrive(self, ev: simpy.Event) -> None:
        self.events += 1
        g = ev.value
        lo, hi = self._groups[g]
        rejected = self.plan.rejected
        chips = self.plan.table.chips
        state = self.state
        pending = self.pending
        for j in range(lo, hi):
            if rejected[j]:
                state[j] = REJECTED
                continue
            state[j] = QUEUED
            pending[j] = None
            self.queued += 1
            self.queued_chips += chips[j]
        if g + 1 < len(self._groups):
            self._schedule_arrival(g + 1)
        self._request_pass()

    # --- scheduling passes -------------------------------------------------------------------
    def _request_pass(self) -> None:
        if self._pass_pending:
            return
        self._pass_pending = True
        ev = simpy.Event(self.env)
        ev._ok = True
        ev._value = None
        ev.callbacks.append(self._pass)
        self.env.schedule(ev, PASS_PRIORITY)

    def _pass(self, _ev: simpy.Event) -> None:
        self._pass_pending = False
        self.events += 1
        if self.pending:
            for decision in self.policy.schedule(self.view):
                if type(decision) is Start:
                    self._start(decision.job, decision.pool)
                else:
                    raise PolicyError(f"unknown decision {decision!r}")
            if self._started:
                pending = self.pending
                for j in self._started:
                    del pending[j]
                self._started.clear()
        self._record()
        if self.progress is not None and self.events % 8192 < 2:
            self.progress(self.env.now, self.completed, self.events)

    def _can_place(self, job: int, pool: int) -> bool:
        pools = self.plan.table.pools[job]
        k = 0 if pools[0] == pool else pools.index(pool)
        return self.pools[pool].can_place(self.plan.chips_on[job][k])

    def _start(self, j: int, p: int) -> None:
        if self.state[j] != QUEUED:
            raise PolicyError(f"policy started job {j} which is not queued")
        pools = self.plan.table.pools[j]
        if p not in pools:
            raise PolicyError(f"policy started job {j} on pool {p}, which it does not accept")
        k = pools.index(p)
        chips = self.plan.chips_on[j][k]
        pool = self.pools[p]
        alloc = self.place(pool, chips)
        if alloc is None:
            raise PolicyError(f"policy started job {j} on pool {pool.name}, which has no room for {chips} chips")
        slow = self.slow[alloc.tier] / self.slow[pool.min_tier(chips)]
        run = self.plan.run_on[j][k] * slow
        limits = self.plan.limit_on[j]
        final = self.plan.final_state[j]
        if limits is not None and limits[k] * slow < run:
            run = limits[k] * slow
            final = KILLED
        now = self.env.now
        self.state[j] = RUNNING
        self.start[j] = now
        self.pool[j] = p
        self.alloc[j] = alloc
        self.chips_allocated[j] = alloc.chips
        self.tier[j] = alloc.tier
        self.slowdown[j] = slow
        self.run_s[j] = run
        self._started.append(j)
        self.busy += alloc.chips
        self.running += 1
        self.queued -= 1
        self.queued_chips -= self.plan.table.chips[j]
        if self.watts is not None:
            self.watts += alloc.chips * self.power.per_busy_chip_w[p]
        self.gen[j] += 1
        ev = self.env.timeout(run, value=(j, self.gen[j], final))
        ev.callbacks.append(self._finish)

    def _finish(self, ev: simpy.Event) -> None:
        j, gen, final = ev.value
        if gen != self.gen[j]:
            return  # stale: the job was stopped and restarted since
        self.events += 1
        alloc = self.alloc[j]
        p = self.pool[j]
        self.pools[p].release(alloc)
        self.alloc[j] = None
        self.state[j] = final
        self.end[j] = self.env.now
        self.completed += 1
        self.busy -= alloc.chips
        self.running -= 1
        if self.watts is not None:
            self.watts -= alloc.chips * self.power.per_busy_chip_w[p]
        self._request_pass()

    # --- recording ---------------------------------------------------------------------------
    def _fragmentation(self) -> float:
        if not self.pending:
            return 0.0
        head = next(iter(self.pending))
        pools = self.plan.table.pools[head]
        chips = self.plan.chips_on[head]
        for k, p in enumerate(pools):
            if self.pools[p].can_place(chips[k]):
                return 0.0
        return float(sum(p.free_chips for p in self.pools))

    def _record(self) -> None:
        s = self.series
        now = self.env.now
        row = (now, self.busy, 0, self.running, self.queued, self.queued_chips,
               -1.0 if self.watts is None else self.watts, self._fragmentation())
        columns = self._columns
        t = columns[0]
        if t and t[-1] == now:
            for column, value in zip(columns, row, strict=True):
                column[-1] = value
            return
        if t and all(column[-1] == value for column, value in zip(columns[1:], row[1:], strict=True)):
            return
        for column, value in zip(columns, row, strict=True):
            column.append(value)

    # --- run ---------------------------------------------------------------------------------
    def run(self) -> Outcome:
        self._record()
        if self._groups:
            self._schedule_arrival(0)
        if self.horizon is not None:
            self.env.run(until=self.horizon)
            self._record()
        else:
            self.env.run()
        if self.progress is not None:
            self.progress(self.env.now, self.completed, self.events)
        now = self.env.now
        for j in range(self.n):
            if self.state[j] == RUNNING:
                self.run_s[j] = now - self.start[j]
        return Outcome(self.state, self.start, self.end, self.pool, self.chips_allocated, self.tier, self.run_s,
                       self.slowdown, self.series, self.env.now, self.events)
