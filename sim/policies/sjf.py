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

from sim.policies.base import Decision, QueueView, register, start_while_pools_free
from sim.policies.ordered import OrderedQueue


@register
class ShortestJobFirst(OrderedQueue):
    name = "sjf"

    def key(self, job: int) -> tuple[float, int]:
        return (self.view.jobs.requested[job], job)

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        return start_while_pools_free(view, self.in_order(), view.jobs.pools.__getitem__)
