"""The job ledger: every job's state, placement and progress, and when it will complete.

Progress is kept per job as the fraction of its work done before its current stretch on chips
(`done`), the stretch's start, the overhead paid at its start (restart, preemption or resize:
time of no progress), and `full`: the seconds its whole work takes at its current placement,
size and full speed (1 / rate). `retime(job)` settles the work done so far and reschedules the
completion at the job's new rate; completions made stale by a retime, a stop or a restart
vanish by a per-job generation counter instead of being cancelled.

Speed factors act per pool through a **pool clock** (virtual time). A pool's virtual time
advances at its speed factor f (1 = full speed), and a running job's completion is kept as a
point in its pool's virtual time, so a change of f for the whole pool (a power cap throttling
every chip) settles the clock and re-times one event: O(log n), not O(running jobs).
  - A *fixed* clock (speed 1 for the whole run, the default) has virtual time = real time
    exactly; each job then has its own completion event, the cheapest path (one heap push).
  - A *variable* clock keeps a heap of its running jobs' virtual ends and one event for the
    earliest; a speed change re-times that event only. Measured in benchmarks/engine.py.
Preemption, failure loss and checkpoint accounting settle on the ledger too (`stop`).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from heapq import heappop, heappush

from sim import failures
from sim.engine.events import EventCore, Timed
from sim.engine.plan import NOT_ARRIVED, JobPlan, Outcome
from sim.placement import Allocation
from sim.policies.base import KILLED, QUEUED, RUNNING


class PoolClock:
    """A pool's virtual time, advancing at its speed factor; see the module docstring."""

    __slots__ = ("speed", "t0", "v0", "variable", "ends", "generation")

    def __init__(self, variable: bool = False):
        self.speed = 1.0
        self.t0 = 0.0
        self.v0 = 0.0
        self.variable = variable
        self.ends: list[tuple[float, int, int, int]] = []  # variable clocks: (virtual end, job, gen, state)
        self.generation = 0  # bumped when the clock's single event is re-timed

    def virtual(self, t: float) -> float:
        return self.v0 + self.speed * (t - self.t0)

    def real(self, v: float) -> float:
        """When virtual time v is reached (infinity at speed 0)."""
        if self.speed <= 0:
            return math.inf
        return self.t0 + (v - self.v0) / self.speed


class Ledger:
    """Per-job columns (lists indexed by job number, read directly by the engine on its hot path)
    and sparse records for the few jobs ever stopped or resized."""

    def __init__(self, plan: JobPlan, core: EventCore, clocks: list[PoolClock],
                 finish: Callable, preempt_overhead: float):
        n = len(plan.table.submit)
        self.plan = plan
        self.core = core
        self._at = core.at
        self.clocks = clocks
        self._finish = finish  # a job's completion: called with a record whose value is (job, gen, final state)
        self.preempt_overhead = preempt_overhead
        self.state = [NOT_ARRIVED] * n
        self.start = [math.nan] * n
        self.end = [math.nan] * n
        self.last_start = [math.nan] * n  # its first start, then its latest restart
        self.pool = [-1] * n
        self.alloc: list[Allocation | None] = [None] * n
        self.chips_allocated = [0] * n
        self.tier = [-1] * n
        self.slowdown = [math.nan] * n
        self.gen = [0] * n
        self.full = [math.nan] * n  # seconds of the whole work at the current placement and size
        self.est_end = [math.inf] * n
        # sparse: only jobs ever stopped, restarted or resized
        self.done: dict[int, float] = {}  # fraction of its work kept before the current stretch
        self.stretch: dict[int, float] = {}  # start of the current stretch (default: start)
        self.v_begun: dict[int, float] = {}  # ... in its pool's virtual time (variable clocks only)
        self.overhead: dict[int, float] = {}  # overhead paid at the start of the current stretch
        self.overhead_next: dict[int, float] = {}  # overhead a stopped job pays when it restarts
        self.used: dict[int, int] = {}  # chips an elastic job runs at (default: its request)
        self.attained: dict[int, float] = {}  # chip-seconds held in ended stretches
        self.preemptions: dict[int, int] = {}
        self.restarts: dict[int, int] = {}
        self.resizes: dict[int, int] = {}
        # ended stretches, sim.engine.plan.STRETCH_COLUMNS: one flat array of doubles, a row after the other
        # (64 bytes a stretch, not a tuple of boxed numbers; ~950,000 in the campus year)
        self.earlier = array("d")
        self._checkpoint_s = plan.checkpoint_s
        self._write_s = plan.checkpoint_write_s

    # --- starting and completing ----------------------------------------------------------------
    def open(self, j: int, p: int, alloc: Allocation, chips: int, tier: int, slow: float, full: float,
             limit: float | None, final: int) -> None:
        """Job j starts a stretch on pool p: first start, or a restart after a stop."""
        now = self.core.env._now
        run = full
        self.last_start[j] = now
        done = self.done.get(j)
        if done is None:
            self.start[j] = now
        else:  # a restart after preemption: the rest of the work, after the overhead
            left = 1.0 - done
            overhead = self.overhead_next.pop(j, self.preempt_overhead)
            run = run * left + overhead
            limit = None if limit is None else limit * left + overhead
            self.overhead[j] = overhead
            self.stretch[j] = now
            self.restarts[j] = self.restarts.get(j, 0) + 1
        if limit is not None and limit < run:
            run = limit
            final = KILLED
        self.state[j] = RUNNING
        self.pool[j] = p
        self.alloc[j] = alloc
        self.chips_allocated[j] = chips
        self.tier[j] = tier
        self.slowdown[j] = slow
        self.full[j] = full
        if self.clocks[p].variable:
            self._complete_after(j, p, run, final)
        else:  # the common case, inline: its own completion event
            gen = self.gen[j] + 1
            self.gen[j] = gen
            self._at(now + run, self._finish, (j, gen, final))

    def _complete_after(self, j: int, p: int, run: float, final: int) -> None:
        """Job j completes after `run` seconds of its pool's virtual time from now."""
        gen = self.gen[j] + 1
        self.gen[j] = gen
        if math.isinf(run):
            return  # no completion until the job is re-timed again (waiting for a spare)
        clock = self.clocks[p]
        if not clock.variable:
            self.core.at(self.core.env._now + run, self._finish, (j, gen, final))
            return
        begun = clock.virtual(self.core.env._now)
        self.v_begun[j] = begun
        heappush(clock.ends, (begun + run, j, gen, final))
        if clock.ends[0][1] == j:
            self._retime_clock(p)

    def _retime_clock(self, p: int) -> None:
        """Schedule pool p's single completion event at its earliest live virtual end."""
        clock = self.clocks[p]
        ends = clock.ends
        gen = self.gen
        while ends and ends[0][2] != gen[ends[0][1]]:
            heappop(ends)  # stale: stopped, restarted or re-timed since
        clock.generation += 1
        if ends:
            t = clock.real(ends[0][0])
            if not math.isinf(t):
                self.core.at(max(t, self.core.env._now), self._due, (p, clock.generation))

    def _due(self, ev: Timed) -> None:
        """Pool p's earliest completion is due: finish every job whose virtual end has come."""
        p, generation = ev._value
        clock = self.clocks[p]
        if generation != clock.generation:
            return
        now = self.core.env._now
        ends = clock.ends
        gen = self.gen
        held = self.core.hold_passes()  # one pass after all of them, not one inline after the first
        ended = False
        while ends and (ends[0][2] != gen[ends[0][1]] or clock.real(ends[0][0]) <= now):
            _, j, g, final = heappop(ends)
            if g == gen[j]:
                ev._value = (j, g, final)
                self._finish(ev)
                ended = True
        self._retime_clock(p)
        if held:
            self.core.release_passes(ended)

    def set_speed(self, p: int, speed: float) -> None:
        """Pool p's chips run at `speed` (0 < speed, 1 = full) from now on; O(log n)."""
        clock = self.clocks[p]
        if not clock.variable:
            raise ValueError(f"pool {p} has a fixed clock; give it a variable one to change its speed")
        now = self.core.env._now
        clock.v0 = clock.virtual(now)
        clock.t0 = now
        clock.speed = float(speed)
        self._retime_clock(p)

    # --- progress ---------------------------------------------------------------------------------
    def _elapsed(self, j: int) -> tuple[float, float, float]:
        """(real start of the current stretch, now, virtual seconds of it so far)."""
        now = self.core.env._now
        begun = self.stretch.get(j, self.start[j])
        clock = self.clocks[self.pool[j]]
        if not clock.variable:
            return begun, now, now - begun
        return begun, now, clock.virtual(now) - self.v_begun[j]

    def stop(self, j: int, keep_all: bool = False) -> None:
        """Close job j's current stretch: keep the work up to its last checkpoint (all of it when
        `keep_all`: a resize), record the stretch, make its completion stale."""
        begun, now, elapsed = self._elapsed(j)
        overhead = min(elapsed, self.overhead.pop(j, 0.0))
        work = elapsed - overhead
        if keep_all:
            saved = work
        else:
            checkpoint = math.inf if self._checkpoint_s is None else self._checkpoint_s[j]
            saved = failures.saved_work(work, checkpoint, self._write_s)
        full = self.full[j]
        self.done[j] = min(1.0, self.done.get(j, 0.0) + saved / full) if full > 0 else 1.0
        lost = work - saved
        if self.clocks[self.pool[j]].variable and elapsed > 0:  # virtual seconds -> real seconds
            lost *= (now - begun) / elapsed
            overhead *= (now - begun) / elapsed
        self.earlier.extend((j, begun, now, self.chips_allocated[j], lost, overhead, self.chips_used(j), self.pool[j]))
        self.attained[j] = self.attained.get(j, 0.0) + self.chips_allocated[j] * (now - begun)
        self.gen[j] += 1  # its completion event is now stale

    def requeued(self, j: int, overhead_next: float | None = None) -> None:
        self.state[j] = QUEUED
        if overhead_next is not None:
            self.overhead_next[j] = overhead_next

    def retime(self, j: int, alloc: Allocation, tier: int, slow: float, full: float, chips_used: int,
               overhead: float, resize: bool = True) -> None:
        """Job j goes on at a new rate (a resize: new placement, size and `full`; else an in-place
        recovery, sim.engine.recovery) after `overhead` seconds of no progress (infinity: until
        re-timed again); the work done so far was settled by `stop(j)`."""
        now = self.core.env._now
        p = self.pool[j]
        self.alloc[j] = alloc
        self.chips_allocated[j] = alloc.chips
        self.tier[j] = tier
        self.slowdown[j] = slow
        self.full[j] = full
        self.stretch[j] = now
        self.overhead[j] = overhead
        if resize:
            self.used[j] = chips_used
            self.resizes[j] = self.resizes.get(j, 0) + 1
        left = max(0.0, 1.0 - self.done[j])
        self._complete_after(j, p, full * left + overhead, self.plan.final_state[j])

    def allocation(self, j: int) -> Allocation:
        """The allocation of job j, which holds chips (running, or waiting for a spare)."""
        alloc = self.alloc[j]
        assert alloc is not None, f"job {j} holds no chips"
        return alloc

    def chips_used(self, j: int) -> int:
        """Chips job j runs at: its elastic size, or what it requested on its pool."""
        used = self.used.get(j)
        if used is not None:
            return used
        pools = self.plan.table.pools[j]
        return self.plan.chips_on[j][pools.index(self.pool[j])]

    def dense(self, sparse: dict, default: object) -> list:
        """A sparse per-job record as a full column."""
        out = [default] * len(self.state)
        for j, v in sparse.items():
            out[j] = v
        return out

    def outcome(self, series: dict, end_time: float, events: int, failures: int,
                resilience: dict[str, int] | None = None) -> Outcome:
        """The ledger at the end of the run, as the outcome's named columns."""
        segment_start = list(self.start)
        for j, t in self.stretch.items():
            segment_start[j] = t
        now = self.core.env._now
        for j, v in self.overhead.items():
            if math.isinf(v):  # still waiting for a spare at the end: no progress so far
                self.overhead[j] = max(0.0, now - segment_start[j])
        return Outcome(self.state, self.start, self.end, self.pool, self.chips_allocated, dict(self.used), self.tier,
                       self.slowdown, series, end_time, events, segment_start, self.earlier,
                       self.dense(self.preemptions, 0), self.dense(self.restarts, 0), self.dense(self.resizes, 0),
                       self.dense(self.overhead, 0.0), failures, resilience or {})
