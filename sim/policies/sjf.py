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

from sortedcontainers import SortedList

from sim.policies.base import Decision, Policy, QueueView, Start, register


@register
class ShortestJobFirst(Policy):
    name = "sjf"
    tracks_queue = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._order: SortedList = SortedList()
        self._key: dict[int, tuple[float, int]] = {}
        self._requested = None

    def enqueued(self, job: int) -> None:
        key = (self._requested[job], job)
        self._key[job] = key
        self._order.add(key)

    def dequeued(self, job: int) -> None:
        self._order.remove(self._key.pop(job))

    def bind(self, view: QueueView) -> None:
        self._requested = view.jobs.requested

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        n_pools = len(view.pool_names)
        pools_of = view.jobs.pools
        order = self._order
        blocked: set[int] = set()
        last = None
        while True:
            # the next key after the last one looked at; starting a job removes it from `order`
            i = 0 if last is None else order.bisect_right(last)
            if i >= len(order):
                return
            last = order[i]
            job = last[1]
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
