"""Shortest job first: queued jobs in order of requested run time; the head blocks, per pool.

The non-preemptive SJF of queueing theory (e.g. Kleinrock, "Queueing Systems" vol. 2, 1976)
applied to parallel jobs: order by `requested_s` (the true duration where a job gives no
request), ties by submission. As in `fifo`, a job that accepts several pools goes to the
first that fits, and one that fits none blocks every pool it accepts — so a large short job
is not starved by a stream of small long ones, and a long job may wait indefinitely behind
shorter arrivals (the classic SJF trade-off; compare `easy_backfill`).

Cost: O(log q) per arrival and start to keep the order (a sorted list of the queue);
per pass O(started jobs + 1) with one pool.
"""

from __future__ import annotations

from collections.abc import Iterator

from sim.policies.base import Decision, QueueView, Start, register
from sim.policies.ordered import OrderedQueue


@register
class ShortestJobFirst(OrderedQueue):
    name = "sjf"

    def key(self, job: int) -> tuple[float, int]:
        return (self.view.jobs.requested[job], job)

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        n_pools = len(view.pool_names)
        pools_of = view.jobs.pools
        blocked: set[int] = set()
        for job in self.in_order():
            placed = False
            for pool in pools_of[job]:
                if pool not in blocked and view.can_place(job, pool):
                    yield Start(job, pool)
                    placed = True
                    break
            if not placed:
                blocked.update(pools_of[job])
                if len(blocked) >= n_pools:
                    return
