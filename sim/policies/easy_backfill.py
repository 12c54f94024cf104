"""EASY backfilling: FIFO, plus later jobs may jump ahead if they do not delay the head.

Lifka, "The ANL/IBM SP scheduling system" (JSSPP 1995); analysed by Mu'alem & Feitelson,
"Utilization, predictability, workloads, and user runtime estimates in scheduling the IBM
SP2 with backfilling" (IEEE TPDS 2001). Jobs start in submission order while they fit. The
first job that fits nowhere (the head) gets a reservation: the earliest estimated time at
which one of its pools could hold it, found by releasing running jobs in order of their
estimated ends on a projection of the pool's free state. Later jobs (at most
`backfill_depth` of them) start now if they fit and either end, by estimate, before that
time, or leave room for the head at that time — both checked with the scenario's real
placement function on projected free arrays, so a backfilled job never takes the instances
the head will need. Estimates follow `scheduler.estimate` (exact, a factor, or the trace's
request), scaled by the slowdown of the projected placement and by checkpoint writes.

Cost per pass: O(started) while the head fits; when it blocks, one copy of the reserved
pool's free state, plus one placement per scanned job that could fit the free chips
(≤ backfill_depth). The head's reservation (a copy per pool it accepts, O(r log r) for the r
running jobs, and their releases) is recomputed only when a job starts or ends on its pools,
or an estimate runs out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sim.policies.base import Decision, Policy, QueueView, Start, register


@register
class EasyBackfill(Policy):
    name = "easy_backfill"

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        pools_of = view.jobs.pools
        queued = view.queued()
        head = None
        for job in queued:
            for pool in pools_of[job]:
                if view.can_place(job, pool):
                    yield Start(job, pool)
                    break
            else:
                head = job
                break
        if head is None or not any(view.free_chips(p) for p in range(len(view.pool_names))):
            return  # nothing queued behind a blocked head could start: no free chip anywhere
        reserved = self._reservation_cached(view, head)
        if reserved is None:
            return
        pool_r, shadow, at_shadow, spare = reserved
        head_chips = view.chips_on(head, pool_r)
        now_r = view.projection(pool_r)  # mirrors pool_r through this pass's starts
        now = view.now
        depth = self.backfill_depth
        held = spare[0] != float("inf")  # a held power cap: power is reserved for the head too
        for scanned, job in enumerate(queued, start=1):
            if scanned > depth:
                return
            for pool in pools_of[job]:
                if pool != pool_r:
                    if view.can_place(job, pool):
                        if held:  # its power, counted as still drawn at the shadow time, must leave the head's
                            watts = view.power_need(job, pool)
                            if watts > spare[0]:
                                continue
                            spare[0] -= watts
                        yield Start(job, pool)
                        break
                    continue
                if now_r.free_chips < view.chips_on(job, pool):
                    continue
                watts = view.power_need(job, pool) if held else 0.0
                if watts > view.power_room():
                    continue
                alloc = view.place_on(now_r, job, pool)
                if alloc is None:
                    continue
                if now + view.estimate(job, pool, alloc) <= shadow:
                    yield Start(job, pool)
                    break
                at_shadow.occupy(alloc)  # still running at the shadow time: is there room for the head?
                if at_shadow.can_place(head_chips) and watts <= spare[0]:
                    spare[0] -= watts
                    yield Start(job, pool)
                    break
                at_shadow.release(alloc)
                now_r.release(alloc)

    def _reservation_cached(self, view: QueueView, head: int) -> tuple[int, float, Any, list[float]] | None:
        """The head's reservation, reused while nothing started or ended on its pools (on any
        pool under a held power cap: power is shared).

        Valid until the earliest estimated end among the running jobs it was computed from:
        after that, an overrunning job's estimated end moves with the clock.
        """
        pools = view.jobs.pools[head] if view.power_room() == float("inf") else range(len(view.pool_names))
        key = (head, tuple(view.pool_version(p) for p in pools))
        cached = getattr(self, "_cached", None)
        now = view.now
        if cached is not None and cached[0] == key and now < cached[1]:
            return cached[2]
        reserved, valid_until = self.reservation(view, head)
        self._cached = (key, valid_until, reserved)
        return reserved

    @staticmethod
    def reservation(view: QueueView, head: int) -> tuple[tuple[int, float, Any, list[float]] | None, float]:
        """((pool, shadow time, projected free state then, [spare watts then]), valid until) for the
        head's earliest start. Under a held power cap the head also needs its busy watts: jobs
        ending on every pool give theirs back, and the spare watts at the shadow time, after the
        head's, are what backfilled jobs still running then may draw (infinite without a cap).

        The projected state is reused by later passes while it is valid: callers that change it
        (backfilled jobs occupying it) start those jobs, which invalidates it.
        """
        best = None
        valid_until = float("inf")
        room = view.power_room()
        held = room != float("inf")
        everywhere = range(len(view.pool_names))
        for pool in view.jobs.pools[head]:
            chips = view.chips_on(head, pool)
            need = view.power_need(head, pool)
            projected = view.projection(pool)
            ends = sorted((view.estimated_end(job), job) for p in (everywhere if held else (pool,))
                          for job in view.running_on(p))
            if ends:
                valid_until = min(valid_until, ends[0][0])
            shadow = None
            freed = 0.0
            for end, job in ends:
                if not held or job in view.running_on(pool):
                    projected.release(view.allocation(job))
                if held:
                    freed += view.power_draw(job)
                if projected.can_place(chips) and need <= room + freed:
                    shadow = end
                    break
            if shadow is not None and (best is None or shadow < best[1]):
                best = (pool, shadow, projected, [room + freed - need])
        return best, valid_until
