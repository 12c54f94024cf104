"""Strict priority classes, preemptive: a higher class stops lower ones to start.

Priority scheduling with preemption as production clusters run it for frontier training
beside experiments (e.g. Kubernetes PriorityClass preemption; Borg, Verma et al., EuroSys
2015: "production" jobs preempt "batch"). Queued jobs are taken by priority (larger first),
then submission. The first one that fits nowhere may preempt running jobs of strictly lower
priority on one of its pools — lowest priority first, then the most recently started — as
few as make room (checked with the real placement on a projection of the pool). If even that
cannot make room, it blocks every job below it (strict classes: a big high-priority job is
never starved by small low-priority ones). A preempted job loses the work since its last
checkpoint (all of it without `checkpoint_interval`), requeues with its submit time and
priority, and pays `scheduler.preempt_overhead` when it restarts.

Cost: O(log q) per arrival and start to keep the order; per pass O(started + 1), plus, when
the first waiting job must preempt, one projection copy and O(r log r) for the r jobs running
on each pool it accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from sim.policies.base import Decision, QueueView, Start, register
from sim.policies.ordered import OrderedQueue
from sim.policies.preemption import lowest_priority_latest_first, preempt_to_start


@register
class StrictPriority(OrderedQueue):
    name = "priority"

    def key(self, job: int) -> tuple[int, int]:
        return (-self.view.jobs.priority[job], job)

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        pools_of = view.jobs.pools
        for job in self.in_order():
            pool = next((p for p in pools_of[job] if view.can_place(job, p)), None)
            if pool is not None:
                yield Start(job, pool)
                continue
            started = yield from preempt_to_start(view, job, pools_of[job], partial(self.lower, view, job))
            if started is None:
                return  # strict: nothing below a blocked job starts

    def lower(self, view: QueueView, job: int, pool: int) -> list[int]:
        """The running jobs on `pool` of lower priority than `job`: lowest first, then the latest started."""
        priority = view.jobs.priority
        mine = priority[job]
        return lowest_priority_latest_first(view, pool, lambda r: priority[r] < mine)
