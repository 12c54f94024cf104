"""Fair share between queues with nominal quotas, borrowing and reclaim, as Kubernetes Kueue does.

Kueue (kubernetes-sigs/kueue): ClusterQueues in a cohort each have a nominal quota; idle quota
is lent to queues that have work (up to their `borrowingLimit`), and a queue below its nominal
quota that has pending work reclaims it by preempting workloads of queues that are borrowing —
lowest priority first, then the most recently started.

Each job belongs to the queue named by its `queue` field (jobs without one are in `default`).
`queues:` gives each queue `nominal_chips`, or a `weight` (default 1) that shares the chips no
queue claims by number; `borrowing_limit` caps how many chips beyond its nominal a queue may
hold (default: no cap). Within a queue jobs go by priority, then submission, and the head blocks
its queue (StrictFIFO). Across queues, each pass offers the next start to the queue whose usage
is the smallest fraction of its nominal quota. A head that would stay within its queue's quota
but fits nowhere reclaims: it preempts the fewest jobs of borrowing queues that make room (the
real placement on a projection decides). A head that would borrow starts only on free chips.

The summary's `jain_fairness` is Jain's index of each queue's attained chip-seconds divided by
its share (nominal / installed chips), over the queues that had jobs.

Cost: O(log q) per arrival, start and requeue to keep each queue's order; per pass O(k log Q) for
k starts among Q queues, plus, for a head that reclaims, one projection copy and O(r log r) for
the r jobs running on its pools.
"""

from __future__ import annotations

import heapq
from collections.abc import Generator, Iterable, Iterator
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sortedcontainers import SortedList

from sim.policies.base import Decision, Policy, QueueView, Start, register
from sim.policies.preemption import lowest_priority_latest_first, preempt_to_start

DEFAULT_QUEUE = "default"


class QueueQuota(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    nominal_chips: int | None = Field(None, ge=0, description="Chips this queue is entitled to.")
    weight: float | None = Field(None, gt=0, description="Share of the chips no queue claims by number.")
    borrowing_limit: int | None = Field(None, ge=0, description="Chips beyond nominal it may borrow (none: no cap).")

    @model_validator(mode="after")
    def _one_of(self) -> QueueQuota:
        if self.nominal_chips is not None and self.weight is not None:
            raise ValueError("give nominal_chips or weight, not both")
        return self


class FairShareOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    queues: dict[str, QueueQuota] = Field(default_factory=dict, description=(
        "Quota per queue name; queues not listed have weight 1."))


def queue_of(label: str) -> str:
    return label or DEFAULT_QUEUE


def nominal_chips(options: FairShareOptions, queues: Iterable[str], capacity: int) -> dict[str, float]:
    """Each queue's nominal quota in chips: its number, or its weight's part of what is left."""
    names = list(dict.fromkeys([*options.queues, *queues]))
    quota = {q: options.queues.get(q, QueueQuota()) for q in names}
    claimed = sum(qq.nominal_chips for qq in quota.values() if qq.nominal_chips is not None)
    weighted = {q: (qq.weight or 1.0) for q, qq in quota.items() if qq.nominal_chips is None}
    left = max(0, capacity - claimed)
    total_w = sum(weighted.values())
    return {q: float(qq.nominal_chips) if qq.nominal_chips is not None else left * weighted[q] / total_w
            for q, qq in quota.items()}


@register
class FairShare(Policy):
    name = "fair_share"
    Options = FairShareOptions
    tracks_queue = True
    tracks_running = True
    options: FairShareOptions
    view: QueueView  # set by `bind`, before the engine calls any hook

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._queued: dict[str, SortedList[tuple[int, int]]] = {}
        self._usage: dict[str, int] = {}
        self._held: dict[int, int] = {}  # running job -> chips it holds

    def fairness_group(self, user: str | None, queue: str | None) -> str:
        return queue_of(queue or "")

    def fair_shares(self, groups: Iterable[str]) -> dict[str, float]:
        """Each queue's nominal quota as a fraction of the installed chips."""
        capacity = sum(p.chips for p in self.pools)
        return {q: c / capacity for q, c in nominal_chips(self.options, groups, capacity).items()}

    def bind(self, view: QueueView) -> None:
        super().bind(view)
        capacity = sum(p.chips for p in self.pools)
        names = sorted({queue_of(q) for q in view.jobs.queue})
        self.nominal = nominal_chips(self.options, names, capacity)
        limits = {q: self.options.queues.get(q, QueueQuota()).borrowing_limit for q in self.nominal}
        self.ceiling = {q: self.nominal[q] + (float("inf") if lim is None else lim) for q, lim in limits.items()}
        for q in self.nominal:
            self._queued[q] = SortedList()
            self._usage[q] = 0

    def assumptions(self) -> list[str]:
        return ["Fair share nominal quotas (chips): " + ", ".join(f"{q} {n:g}" for q, n in self.nominal.items())]

    def _key(self, job: int) -> tuple[int, int]:
        return (-self.view.jobs.priority[job], job)

    def enqueued(self, job: int) -> None:
        q = queue_of(self.view.jobs.queue[job])
        if job in self._held:  # stopped while running (preempted, or a failure)
            self._usage[q] -= self._held.pop(job)
        self._queued[q].add(self._key(job))

    def dequeued(self, job: int) -> None:
        self._queued[queue_of(self.view.jobs.queue[job])].remove(self._key(job))

    def ended(self, job: int) -> None:
        self._usage[queue_of(self.view.jobs.queue[job])] -= self._held.pop(job)

    def _ratio(self, q: str) -> float:
        nominal = self.nominal[q]
        return self._usage[q] / nominal if nominal > 0 else float("inf")

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        heap = [(self._ratio(q), q) for q, jobs in self._queued.items() if jobs]
        heapq.heapify(heap)
        while heap:
            _, q = heapq.heappop(heap)
            order = self._queued[q]
            if not order:
                continue
            job = order[0][-1]
            started = yield from self._admit(view, q, job)
            if started:
                heapq.heappush(heap, (self._ratio(q), q))
            # else: the head blocks its queue for this pass

    def _admit(self, view: QueueView, q: str, job: int) -> Generator[Decision, None, bool]:
        pools_of = view.jobs.pools[job]
        usage = self._usage[q]
        for pool in pools_of:
            chips = view.chips_on(job, pool)
            if usage + chips > self.ceiling[q] or not view.can_place(job, pool):
                continue
            yield Start(job, pool)
            self._record_start(view, q, job)
            return True
        started = yield from preempt_to_start(view, job, pools_of, partial(self._reclaimable, view, q, job, usage))
        if started is None:
            return False
        self._record_start(view, q, job)
        return True

    def _record_start(self, view: QueueView, q: str, job: int) -> None:
        chips = view.allocation(job).chips
        self._held[job] = chips
        self._usage[q] += chips

    def _reclaimable(self, view: QueueView, q: str, job: int, usage: int, pool: int) -> list[int] | None:
        """Whom `job` of queue `q` may preempt on `pool`: borrowers, when it stays within its nominal
        quota there (None otherwise: borrowing starts only on free chips)."""
        if usage + view.chips_on(job, pool) > self.nominal[q]:
            return None
        return self._borrowers(view, pool, q)

    def _borrowers(self, view: QueueView, pool: int, q: str) -> list[int]:
        """Jobs on `pool` of other queues above their nominal quota: lowest priority first, then the
        most recently started."""
        borrowing = {b for b in self._usage if b != q and self._usage[b] > self.nominal[b]}
        if not borrowing:
            return []
        queue = view.jobs.queue
        return lowest_priority_latest_first(view, pool, lambda r: queue_of(queue[r]) in borrowing)
