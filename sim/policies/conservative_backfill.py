"""Conservative backfilling: every queued job holds a reservation; nobody may delay an earlier one.

Mu'alem & Feitelson, "Utilization, predictability, workloads, and user runtime estimates in
scheduling the IBM SP2 with backfilling" (IEEE TPDS 2001). Queued jobs get reservations in
submission order, each at the earliest time at which one placement of it stays free for its
whole estimated run, given the running jobs' estimated ends and the reservations before it.
A job whose reservation is now starts — at exactly the reserved instances (`Start` with an
allocation), so later reservations stay valid. Placements are found with the scenario's real
placement function: where it would place the job at that time, if that stays free for the
run; otherwise on a projection holding the per-instance minimum of free chips over the run.

The plan (one profile per pool: a copy of the free state per breakpoint in time) is kept
between passes. An arrival adds one reservation behind the others. When reality leaves the
plan — a job ends before or runs past its estimated end, a running job stops (preempted,
failed), or an instance fails or comes back — the whole plan is rebuilt from the current state in queue order, which moves
reservations earlier when jobs end early (the "compression" of the paper). Only the first
`backfill_depth` queued jobs hold reservations; the rest get theirs as they move up.

Cost: an arrival costs a search over the profile's breakpoints, O(instances) per breakpoint
looked at; a rebuild costs that for each reserved job. Under exact estimates the plan is never
rebuilt. Memory: one copy of a pool's free state per breakpoint, so this policy is meant for
clusters of up to thousands of instances, not a 5 GW campus.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any

from sim.placement import Allocation
from sim.policies.base import Decision, Policy, QueueView, Start, register


class Profile:
    """One pool's planned free state: states[i] holds from times[i] until times[i + 1]."""

    def __init__(self, now: float, state: Any):
        self.times = [now]
        self.states = [state]

    def split(self, t: float) -> int:
        """The index of a breakpoint at t, made by copying the state in force then."""
        i = bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            return i
        self.times.insert(i, t)
        self.states.insert(i, self.states[i - 1].copy())
        return i

    def advance(self, now: float) -> None:
        """Forget breakpoints before now: the state in force at now becomes the first."""
        i = bisect_right(self.times, now) - 1
        if i > 0:
            del self.times[:i]
            del self.states[:i]
        self.times[0] = now

    def release_from(self, t: float, alloc: Any) -> None:
        for state in self.states[self.split(t):]:
            state.release(alloc)

    def occupy(self, start: int, end: float, alloc: Any) -> None:
        """Hold `alloc` from breakpoint `start` until time `end` (a job of no length holds it at
        its start: until the next representable time)."""
        end = max(end, math.nextafter(self.times[start], math.inf))
        stop = self.split(end) if math.isfinite(end) else len(self.times)
        for state in self.states[start:stop]:
            state.occupy(alloc)

    def window(self, start: int, end: float) -> range:
        """Indices of the states in force during [times[start], end)."""
        return range(start, bisect_left(self.times, end, lo=start + 1))


@register
class ConservativeBackfill(Policy):
    name = "conservative_backfill"
    power_hold = False  # its look-ahead does not count a held power cap
    tracks_queue = True
    tracks_running = True
    view: QueueView  # set by `bind`, before the engine calls any hook

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._profiles: list[Profile] = []  # built by the first pass (the plan starts dirty)
        self._reserved: dict[int, tuple[float, int, Any]] = {}  # job -> (start, pool, allocation)
        self._planned_end: dict[int, float] = {}  # running job -> its estimated end in the plan
        self._waiting: dict[int, None] = {}  # queued jobs without a reservation, in arrival order
        self._dirty = True

    # --- what the engine tells us -------------------------------------------------------------
    def enqueued(self, job: int) -> None:
        if job in self._planned_end:  # stopped while running: the plan no longer holds
            del self._planned_end[job]
            self._dirty = True
        self._waiting[job] = None

    def dequeued(self, job: int) -> None:
        self._waiting.pop(job, None)
        self._reserved.pop(job, None)

    def ended(self, job: int) -> None:
        if self._planned_end.pop(job) != self.view.now:
            self._dirty = True  # ended before its estimate, or after it

    # --- the pass -------------------------------------------------------------------------------
    def schedule(self, view: QueueView) -> Iterator[Decision]:
        now = view.now
        if not self._dirty and any(end <= now for end in self._planned_end.values()):
            self._dirty = True  # still running at its estimated end (jobs ending now ended before the pass)
        if not self._dirty:
            due = [0] * len(self._profiles)  # chips of reservations starting now, held in the plan already
            for t, pool, alloc in self._reserved.values():
                if t <= now:
                    due[pool] += alloc.chips
            for pool, profile in enumerate(self._profiles):
                profile.advance(now)
                if profile.states[0].free_chips != view.free_chips(pool) - due[pool]:
                    self._dirty = True  # capacity changed under the plan: an instance failed or came back
        if self._dirty:
            self._rebuild(view)
        self._reserve_waiting(view)
        due = []
        wake = None  # the earliest reservation after now: the ones due now leave the table as they start
        for job, (t, _, _) in self._reserved.items():
            if t <= now:
                due.append(job)
            elif wake is None or t < wake:
                wake = t
        due.sort()
        for job in due:
            _, pool, alloc = self._reserved[job]
            yield Start(job, pool, alloc)
            self._planned_end[job] = now + view.estimate(job, pool, alloc)
        if wake is not None:
            view.wake_at(wake)

    def _rebuild(self, view: QueueView) -> None:
        """A new plan from the current state: running jobs end at their estimates (or any moment,
        if past them), then every queued job is reserved again in queue order."""
        now = view.now
        self._profiles = []
        tracked = self.scheduler is not None and self.scheduler.placement != "first_fit"
        for pool in range(len(view.pool_names)):
            state = view.projection(pool)
            if tracked:
                state.track()  # once here, not in every copy the placement is tried on
            profile = Profile(now, state)
            for job in view.running_on(pool):
                end = self._planned_end.get(job, math.inf)
                if end > now:
                    profile.release_from(end, view.allocation(job))
                else:  # past its estimate: it may end any moment, so plan as if it never does
                    self._planned_end[job] = math.inf
            self._profiles.append(profile)
        self._reserved.clear()
        self._waiting = dict.fromkeys(view.queued())
        self._dirty = False

    def _reserve_waiting(self, view: QueueView) -> None:
        depth = self.backfill_depth
        room = depth - len(self._reserved)
        while room > 0 and self._waiting:
            job = next(iter(self._waiting))
            del self._waiting[job]
            self._reserve(view, job)
            room -= 1

    def _reserve(self, view: QueueView, job: int) -> None:
        best = None
        for pool in view.jobs.pools[job]:
            found = self._earliest(view, job, pool)
            if found is not None and (best is None or found[0] < best[0]):
                best = (*found, pool)
        if best is None:
            return  # fits no pool even when everything has ended: instances are down; a repair rebuilds the plan
        t, start, end, alloc, pool = best
        self._profiles[pool].occupy(start, end, alloc)
        self._reserved[job] = (t, pool, alloc)

    def _earliest(self, view: QueueView, job: int, pool: int) -> tuple[float, int, float, Any] | None:
        """(start time, its breakpoint, estimated end, allocation) of the earliest placement of
        `job` on `pool` that stays free for its estimated run."""
        profile = self._profiles[pool]
        chips = view.chips_on(job, pool)
        shortest = view.estimate(job, pool, _IDEAL)
        times, states = profile.times, profile.states
        n = len(times)
        # next_short[i]: the first breakpoint from i on where even the free chip count is too small
        next_short = [n] * (n + 1)
        for i in range(n - 1, -1, -1):
            next_short[i] = i if not states[i].can_place(chips) else next_short[i + 1]
        for a in range(n):
            t = times[a]
            window = profile.window(a, t + shortest)
            if next_short[a] < window.stop:
                continue
            # first where the placement would put it at t; if that is not free for the whole run,
            # the placement on the window's per-instance minimum of free chips
            alloc = view.place_on(states[a].copy(), job, pool)
            if alloc is None:
                continue
            end = t + view.estimate(job, pool, alloc)
            if all(_holds(states[i], alloc) for i in profile.window(a, end)):
                return t, a, end, alloc
            projected = states[a].copy()
            for i in window:
                if i != a:
                    _restrict(projected, states[i])
            alloc = view.place_on(projected, job, pool)
            if alloc is None:
                continue
            end = t + view.estimate(job, pool, alloc)
            if end > t + shortest and not all(_holds(states[i], alloc) for i in profile.window(a, end)):
                continue  # slower where it landed, and not free for the longer run
            return t, a, end, alloc
        return None


class _Ideal:
    """An allocation at the instance tier: estimate() without a placement slowdown."""

    tier = 0


_IDEAL = _Ideal()


def _restrict(state: Any, other: Any) -> None:
    """Lower each instance's free chips in `state` to those in `other` (the minimum of the two)."""
    mine, theirs = state.free_per_instance(), other.free_per_instance()
    for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        if b < a:
            state.occupy(Allocation([i], a - b, 0))


def _holds(state: Any, alloc: Any) -> bool:
    return all(state.free(i) >= alloc.chips_each for i in alloc.instances)
