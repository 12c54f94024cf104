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

from sim.policies.base import Decision, Preempt, QueueView, Start, register
from sim.policies.ordered import OrderedQueue
from sim.policies.preemption import fewest_victims, lowest_priority_latest_first


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
            for pool in pools_of[job]:
                victims = self.victims(view, job, pool)
                if victims is not None:
                    for victim in victims:
                        yield Preempt(victim)
                    yield Start(job, pool)
                    break
            else:
                return  # strict: nothing below a blocked job starts

    def victims(self, view: QueueView, job: int, pool: int) -> list[int] | None:
        """The fewest lower-priority running jobs on `pool` whose stopping makes room for `job`."""
        priority = view.jobs.priority
        mine = priority[job]
        lower = lowest_priority_latest_first(view, pool, lambda r: priority[r] < mine)
        return fewest_victims(view, job, pool, lower)
