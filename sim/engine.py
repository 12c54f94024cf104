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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from heapq import heappush

import numpy as np
import simpy
from simpy.events import NORMAL, Event

from sim import failures
from sim.placement import Allocation, PoolState
from sim.policies.base import (
    COMPLETED,
    FAILED,
    KILLED,
    QUEUED,
    REJECTED,
    RUNNING,
    JobQueue,
    JobTable,
    Policy,
    Preempt,
    QueueView,
    Start,
)

PASS_PRIORITY = 2
SERIES_FIELDS = ("busy_chips", "down_chips", "running_jobs", "queued_jobs", "queued_chips", "power_w",
                 "fragmentation_chips")
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
    estimate_on: list[tuple[float, ...]]  # what the scheduler expects run_on to be (scheduler.estimate)
    limit_on: list[tuple[float, ...] | None]  # kill_at_limit run-time limits, or None
    final_state: list[int]  # state a job ends in when it runs to the end (trace status)
    checkpoint_s: list[float] | None = None  # checkpoint interval per job (inf: none); None: no job has one
    checkpoint_write_s: float = failures.CHECKPOINT_WRITE_S  # C: what one checkpoint write takes


@dataclass
class PowerModel:
    """Facility watts = base + sum over pools of busy chips x per_busy_chip[pool]; None if unknown.

    The series holds -1 where power is unknown (a sentinel that compares equal to itself).
    """

    base_w: float | None
    per_busy_chip_w: Sequence[float]
    per_down_instance_w: Sequence[float] = ()  # what an idle instance draws, which a down one does not


@dataclass
class Outcome:
    state: list[int]
    start: list[float]
    end: list[float]
    pool: list[int]
    chips_allocated: list[int]
    tier: list[int]
    slowdown: list[float]
    series: dict[str, np.ndarray]
    end_time: float
    events: int
    segment_start: list[float]  # start of each job's current (last) stretch on chips
    earlier: list[tuple]  # stretches cut short by preemption: (job, start, end, chips, lost_s, overhead_s)
    preemptions: list[int]
    restarts: list[int]
    last_overhead: list[float]  # restart overhead paid at the start of each job's last stretch
    failures: int = 0


class Engine:
    def __init__(self, plan: JobPlan, pools: list[PoolState], policy: Policy,
                 place: Callable[[PoolState, int], Allocation | None], slowdown: Sequence[float],
                 power: PowerModel, horizon: float | None = None,
                 progress: Callable[[float, int, int, int], None] | None = None,
                 failing: list[failures.PoolFailures] | None = None,
                 restart_overhead: float = failures.RESTART_OVERHEAD_S):
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
        self.slowdown = [math.nan] * n
        self.gen = [0] * n
        self.pending = JobQueue()
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
        # recorder: one row per time a value changes, as one flat array of doubles
        self._flat = array("d")
        self._last_t = -math.inf
        self._last_row: tuple | None = None
        self._queue = self.env._queue
        self._eid = self.env._eid
        self._arrival_event = Event(self.env)
        self._arrival_event._ok = True
        self._job_pools = plan.table.pools
        self._chips_on = plan.chips_on
        self._per_chip_w = list(power.per_busy_chip_w)
        self.view = QueueView(self, self.pending, self.state, plan.table, tuple(p.name for p in pools))
        self._submit = plan.table.submit
        self._chips = plan.table.chips
        self._next_arrival = 0
        self._arrive_callbacks = [self._arrive]  # simpy only reads an event's callback list
        self._finish_callback = self._finish
        self._tracks_queue = policy.tracks_queue
        self._running: list[dict[int, None]] = [{} for _ in pools]  # running jobs per pool, start order
        self._est_end = [math.inf] * n
        self._pool_version = [0] * len(pools)  # bumped by every start and end on the pool
        # preemption: sparse, only for jobs that were ever stopped
        self._done: dict[int, float] = {}  # fraction of its work a stopped job has kept
        self._segment_start: dict[int, float] = {}
        self._overhead: dict[int, float] = {}  # overhead paid at the start of the current stretch
        self._preemptions: dict[int, int] = {}
        self._restarts: dict[int, int] = {}
        self._earlier: list[tuple] = []
        self._requeued: list[int] = []
        self._preempt_overhead = 0.0 if policy.scheduler is None else float(policy.scheduler.preempt_overhead)
        self._capacity = sum(p.capacity for p in pools)
        self._tracks_running = policy.tracks_running
        self._wakes: set[float] = set()  # times a policy asked for a pass at (wake_at), not yet reached
        self._last_change = 0.0  # time of the last arrival or completion: the run's end without a horizon
        # failures (sim.failures): per pool process state, or None when the scenario has none
        self._failing = failing
        self._restart_overhead = restart_overhead
        self._overhead_next: dict[int, float] = {}  # overhead a stopped job pays when it restarts
        self._write_s = plan.checkpoint_write_s
        self.failures = 0
        self.down = 0  # chips on down instances

    # --- arrivals --------------------------------------------------------------------------
    def _schedule_arrival(self) -> None:
        """Arrivals are a chain: one event object, rescheduled for each distinct submit time."""
        ev = self._arrival_event
        ev.callbacks = self._arrive_callbacks
        when = max(self.env._now, self._submit[self._next_arrival])
        heappush(self._queue, (when, NORMAL, next(self._eid), ev))

    def _arrive(self, _ev: simpy.Event) -> None:
        self.events += 1
        submit = self._submit
        lo = self._next_arrival
        hi = lo + 1
        n = self.n
        while hi < n and submit[hi] == submit[lo]:
            hi += 1
        rejected = self.plan.rejected
        chips = self._chips
        state = self.state
        pending = self.pending
        tracks = self._tracks_queue
        for j in range(lo, hi):
            if rejected[j]:
                state[j] = REJECTED
                continue
            state[j] = QUEUED
            pending.add(j)
            self.queued += 1
            self.queued_chips += chips[j]
            if tracks:
                self.policy.enqueued(j)
        self._next_arrival = hi
        self._last_change = self.env._now
        if hi < n:
            self._schedule_arrival()
        self._request_pass()

    # --- scheduling passes -------------------------------------------------------------------
    def _request_pass(self) -> None:
        """Make sure one scheduling pass runs at this timestamp, after every other event at it.

        When no other event is due at this time, the pass runs inline: it would have been the
        very next event anyway, and this saves an event per trigger (most triggers in practice).
        """
        if self._pass_pending:
            return
        queue = self._queue
        if not queue or queue[0][0] > self.env._now:
            self._pass(None)
            return
        self._pass_pending = True
        ev = simpy.Event(self.env)
        ev._ok = True
        ev._value = None
        ev.callbacks.append(self._pass)
        self.env.schedule(ev, PASS_PRIORITY)

    def _pass(self, _ev: simpy.Event | None) -> None:
        self._pass_pending = False
        self.events += 1
        if self.pending:
            start = self._start
            for decision in self.policy.schedule(self.view):
                if type(decision) is Start:
                    start(decision[0], decision[1], decision[2])
                elif type(decision) is Preempt:
                    self._preempt(decision[0])
                else:
                    raise PolicyError(f"unknown decision {decision!r}")
            started = self._started
            if started:
                remove = self.pending.remove
                for j in started:
                    remove(j)
                started.clear()
            if self._requeued:
                self._requeue()
        self._record()
        if self.progress is not None and not self.events & 8191:
            self.progress(self.env._now, self.completed, self.n, self.events)

    def wake_at(self, t: float) -> None:
        """A policy's timer: run a scheduling pass at time t (a LAS threshold crossing, a promotion).

        One event per distinct time; a timer that turns out not to be needed costs one empty pass.
        """
        if t <= self.env._now or t in self._wakes or t == math.inf or (self.horizon is not None and t > self.horizon):
            return
        self._wakes.add(t)
        self._timeout(t, self._wake, t)

    def _timeout(self, t: float, callback: Callable[[simpy.Event], None], value: object) -> None:
        """Call `callback` at time t with an event whose value is `value`: a simpy timeout, built
        directly (no Timeout object, no process). `_start` inlines the same for completions."""
        ev = Event(self.env)
        ev.callbacks.append(callback)
        ev._ok = True
        ev._value = value
        heappush(self._queue, (t, NORMAL, next(self._eid), ev))

    def _wake(self, ev: simpy.Event) -> None:
        self._wakes.discard(ev._value)
        if self.pending or self.running:
            self.events += 1
            self._request_pass()

    # --- what the policy's view shows (sim.policies.base.Capacity) ---------------------------
    def now(self) -> float:
        return self.env._now

    def free_chips(self, pool: int) -> int:
        return self.pools[pool].free_chips

    def running_on(self, pool: int) -> Iterable[int]:
        return self._running[pool].keys()

    def pool_version(self, pool: int) -> int:
        return self._pool_version[pool]

    def allocation(self, job: int) -> Allocation | None:
        return self.alloc[job]

    def estimated_end(self, job: int) -> float:
        return max(self.env._now, self._est_end[job])

    def chips_on(self, job: int, pool: int) -> int:
        pools = self._job_pools[job]
        return self._chips_on[job][0 if pools[0] == pool else pools.index(pool)]

    def estimate(self, job: int, pool: int, allocation: Allocation) -> float:
        pools = self._job_pools[job]
        k = 0 if pools[0] == pool else pools.index(pool)
        chips = self._chips_on[job][k]
        return self.plan.estimate_on[job][k] * self._slowdown(self.pools[pool], allocation.tier, chips)

    def projection(self, pool: int) -> PoolState:
        return self.pools[pool].copy()

    def place_on(self, projection: PoolState, job: int, pool: int) -> Allocation | None:
        return self.place(projection, self.chips_on(job, pool))

    def _slowdown(self, pool: PoolState, tier: int, chips: int) -> float:
        return 1.0 if tier == 0 else self.slow[tier] / self.slow[pool.min_tier(chips)]

    def can_place(self, job: int, pool: int) -> bool:
        pools = self._job_pools[job]
        if pools[0] == pool:
            return self.pools[pool].can_place(self._chips_on[job][0])
        return self.pools[pool].can_place(self._chips_on[job][pools.index(pool)])

    def _start(self, j: int, p: int, given: Allocation | None = None) -> None:
        if self.state[j] != QUEUED:
            raise PolicyError(f"policy started job {j} which is not queued")
        pools = self._job_pools[j]
        if pools[0] == p:
            k = 0
        elif p in pools:
            k = pools.index(p)
        else:
            raise PolicyError(f"policy started job {j} on pool {p}, which it does not accept")
        chips = self._chips_on[j][k]
        pool = self.pools[p]
        if given is None:
            alloc = self.place(pool, chips)
        else:
            alloc = self._given(pool, j, chips, given)
        if alloc is None:
            raise PolicyError(f"policy started job {j} on pool {pool.name}, which has no room for {chips} chips")
        tier = alloc.tier
        slow = 1.0 if tier == 0 else self._slowdown(pool, tier, chips)
        plan = self.plan
        run = plan.run_on[j][k] * slow
        limits = plan.limit_on[j]
        final = plan.final_state[j]
        limit = None if limits is None else limits[k] * slow
        done = self._done.get(j)
        if done is None:
            self.start[j] = self.env._now
        else:  # a restart after preemption: the rest of the work, after the overhead
            left = 1.0 - done
            overhead = self._overhead_next.pop(j, self._preempt_overhead)
            run = run * left + overhead
            limit = None if limit is None else limit * left + overhead
            self._overhead[j] = overhead
            self._segment_start[j] = self.env._now
            self._restarts[j] = self._restarts.get(j, 0) + 1
        if limit is not None and limit < run:
            run = limit
            final = KILLED
        self.state[j] = RUNNING
        self.pool[j] = p
        self.alloc[j] = alloc
        n_chips = alloc.chips
        self.chips_allocated[j] = n_chips
        self.tier[j] = tier
        self.slowdown[j] = slow
        if self._requeued and j in self._requeued:
            self._requeued.remove(j)  # stopped and started again in this pass: it never left the queue's place
        else:
            self._started.append(j)
        self._running[p][j] = None
        self._pool_version[p] += 1
        if self._failing is not None:
            self._failing[p].placed(j, alloc)
        self._est_end[j] = self.env._now + plan.estimate_on[j][k] * slow
        if self._tracks_queue:
            self.policy.dequeued(j)
        self.busy += n_chips
        self.running += 1
        self.queued -= 1
        self.queued_chips -= self._chips[j]
        if self.watts is not None:
            self.watts += n_chips * self._per_chip_w[p]
        gen = self.gen[j] + 1
        self.gen[j] = gen
        ev = Event(self.env)  # a timeout, built directly: this is the hottest line of the loop
        ev.callbacks.append(self._finish_callback)
        ev._ok = True
        ev._value = (j, gen, final)
        heappush(self._queue, (self.env._now + run, NORMAL, next(self._eid), ev))

    @staticmethod
    def _given(pool: PoolState, j: int, chips: int, alloc: Allocation) -> Allocation:
        """Take the allocation a policy chose, after checking it is one the pool could give."""
        k = len(alloc.instances)
        want = (1, chips) if chips <= pool.cpi else (-(-chips // pool.cpi), pool.cpi)
        if (k, alloc.chips_each) != want or len(set(alloc.instances)) != k:
            raise PolicyError(f"policy gave job {j} ({chips} chips) an allocation of {k} x {alloc.chips_each} chips")
        try:
            pool.occupy(alloc)
        except (ValueError, IndexError) as exc:
            raise PolicyError(f"policy gave job {j} an allocation that is not free: {exc}") from None
        return Allocation(list(alloc.instances), alloc.chips_each, pool.tier_of(list(alloc.instances)))

    def _preempt(self, j: int) -> None:
        """Stop job j: keep the work up to its last checkpoint, release its chips, requeue it."""
        if self.state[j] != RUNNING:
            raise PolicyError(f"policy preempted job {j}, which is not running")
        self._stop(j)
        self._preemptions[j] = self._preemptions.get(j, 0) + 1

    def _stop(self, j: int) -> None:
        """Stop running job j (preempted, or killed by a failure): it keeps the work up to its
        last checkpoint, releases its chips and requeues."""
        now = self.env._now
        p = self.pool[j]
        alloc = self.alloc[j]
        begun = self._segment_start.get(j, self.start[j])
        elapsed = now - begun
        overhead = min(elapsed, self._overhead.pop(j, 0.0))
        work = elapsed - overhead
        checkpoint = math.inf if self.plan.checkpoint_s is None else self.plan.checkpoint_s[j]
        saved = failures.saved_work(work, checkpoint, self._write_s)
        pools = self._job_pools[j]
        full = self.plan.run_on[j][pools.index(p)] * self.slowdown[j]  # all the work, at this placement
        self._done[j] = min(1.0, self._done.get(j, 0.0) + saved / full) if full > 0 else 1.0
        self._earlier.append((j, begun, now, self.chips_allocated[j], work - saved, overhead))
        self._free(j, p, alloc)
        self.gen[j] += 1  # its completion event is now stale
        self.state[j] = QUEUED
        self.queued += 1
        self.queued_chips += self._chips[j]
        if j in self._started:  # started and stopped in this very pass: still in the queue
            self._started.remove(j)
        else:
            self._requeued.append(j)
        if self._tracks_queue:
            self.policy.enqueued(j)

    def _requeue(self) -> None:
        """Put stopped jobs back in the queue in submission order (they keep their submit time)."""
        add = self.pending.add
        for j in self._requeued:
            add(j)
        self._requeued.clear()

    def _free(self, j: int, p: int, alloc: Allocation) -> None:
        """Give back the chips of running job j (ended or stopped) on pool p, and count it out."""
        self.pools[p].release(alloc)
        if self._failing is not None:
            self._failing[p].released(j, alloc)
        self.alloc[j] = None
        del self._running[p][j]
        self._pool_version[p] += 1
        n_chips = self.chips_allocated[j]
        self.busy -= n_chips
        self.running -= 1
        if self.watts is not None:
            self.watts -= n_chips * self._per_chip_w[p]

    def _finish(self, ev: simpy.Event) -> None:
        j, gen, final = ev._value
        if gen != self.gen[j]:
            return  # stale: the job was stopped and restarted since
        self.events += 1
        self._free(j, self.pool[j], self.alloc[j])
        self.state[j] = final
        self.end[j] = self._last_change = self.env._now
        self.completed += 1
        if self._tracks_running:
            self.policy.ended(j)
        self._request_pass()

    # --- failures and repair (sim.failures) ----------------------------------------------------
    def _work_left(self) -> bool:
        """Whether anything can still happen to jobs: without a horizon, failures stop after the
        last job (a horizon keeps them going to the end of the window, which it defines)."""
        return (self.horizon is not None or self._next_arrival < self.n or bool(self.pending)
                or self.running > 0 or bool(self._requeued))

    def _schedule_failure(self, p: int) -> None:
        """(Re)draw pool p's next failure at its current up count; earlier draws become stale."""
        process = self._failing[p]
        process.generation += 1
        if not self._work_left():
            return
        gap = process.next_gap()
        if math.isinf(gap):
            return
        self._timeout(self.env._now + gap, self._fail, (p, process.generation))

    def _fail(self, ev: simpy.Event) -> None:
        """An instance of pool p fails: its jobs stop (and pay the restart overhead when they
        start again), it is taken out of the placement state until its repair."""
        p, generation = ev._value
        process = self._failing[p]
        if generation != process.generation:
            return  # stale: the up count changed since this was drawn
        self.events += 1
        if not self._work_left():
            return
        i = process.fail()
        self.failures += 1
        for j in process.jobs_on(i):
            self._stop(j)
            self._overhead_next[j] = self._restart_overhead
        pool = self.pools[p]
        pool.occupy(Allocation([i], pool.cpi, 0))  # every chip of a down instance is taken
        self._pool_version[p] += 1
        self.down += pool.cpi
        if self.watts is not None:
            self.watts -= self.power.per_down_instance_w[p]
        self._timeout(self.env._now + process.repair_s, self._repair, (p, i))
        self._schedule_failure(p)
        if self._requeued:
            self._requeue()
        self._request_pass()

    def _repair(self, ev: simpy.Event) -> None:
        p, i = ev._value
        self.events += 1
        pool = self.pools[p]
        pool.release(Allocation([i], pool.cpi, 0))
        self._failing[p].repaired(i)
        self._pool_version[p] += 1
        self.down -= pool.cpi
        if self.watts is not None:
            self.watts += self.power.per_down_instance_w[p]
        self._schedule_failure(p)
        self._request_pass()

    # --- recording ---------------------------------------------------------------------------
    def _fragmentation(self) -> float:
        if not self.pending or self.busy >= self._capacity:
            return 0.0
        head = self.pending.head()
        pools = self._job_pools[head]
        chips = self._chips_on[head]
        for k, p in enumerate(pools):
            if self.pools[p].can_place(chips[k]):
                return 0.0
        return float(sum(p.free_chips for p in self.pools))

    def _record(self) -> None:
        """Append a row (t + SERIES_FIELDS) to one flat array when a value changed."""
        now = self.env._now
        if self.pending:
            frag = self._fragmentation()
        else:
            frag = 0.0
        row = (self.busy, self.down, self.running, self.queued, self.queued_chips,
               -1.0 if self.watts is None else self.watts, frag)
        flat = self._flat
        if self._last_t == now:
            flat[-7:] = array("d", row)
            self._last_row = row
            return
        if row == self._last_row:
            return
        self._last_row = row
        self._last_t = now
        flat.append(now)
        flat.extend(row)

    def series(self) -> dict[str, np.ndarray]:
        table = np.frombuffer(self._flat, dtype=float).reshape(-1, len(SERIES_FIELDS) + 1)
        return {name: table[:, i] for i, name in enumerate(("t_s", *SERIES_FIELDS))}

    # --- run ---------------------------------------------------------------------------------
    def run(self) -> Outcome:
        self.policy.bind(self.view)
        self._record()
        if self.n:
            self._schedule_arrival()
        for p in range(len(self.pools) if self._failing is not None else 0):
            self._schedule_failure(p)
        if self.horizon is not None:
            self.env.run(until=self.horizon)
            self._record()
        else:
            self.env.run()
        end_time = self.env.now if self.horizon is not None else self._last_change
        if self.progress is not None:
            self.progress(self.env.now, self.completed, self.n, self.events)
        segment_start = list(self.start)
        for j, t in self._segment_start.items():
            segment_start[j] = t
        preemptions = [0] * self.n
        for j, c in self._preemptions.items():
            preemptions[j] = c
        restarts = [0] * self.n
        for j, c in self._restarts.items():
            restarts[j] = c
        last_overhead = [0.0] * self.n
        for j, t in self._overhead.items():
            last_overhead[j] = t
        return Outcome(self.state, self.start, self.end, self.pool, self.chips_allocated, self.tier,
                       self.slowdown, self.series(), end_time, self.events, segment_start, self._earlier,
                       preemptions, restarts, last_overhead, self.failures)
