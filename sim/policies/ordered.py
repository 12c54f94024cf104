"""A policy's own order of the queue, kept sorted as jobs join and leave it (O(log q) each)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedList

from sim.policies.base import Policy, QueueView


class OrderedQueue(Policy):
    """Base for policies that take queued jobs in an order of their own (`key`), not submission.

    Subclasses define `key(job)`, a sort key read from the view's static job columns (ties:
    add the job number, which is submission order), and iterate `in_order()`.
    """

    tracks_queue = True
    view: QueueView  # set by `bind`, before the engine calls any hook

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._order: SortedList[Any] = SortedList()
        self._keys: dict[int, Any] = {}

    def key(self, job: int) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def enqueued(self, job: int) -> None:
        key = self._keys[job] = self.key(job)
        self._order.add(key)

    def dequeued(self, job: int) -> None:
        self._order.remove(self._keys.pop(job))

    def in_order(self) -> Iterator[int]:
        """Queued jobs in key order; safe while starting them (which removes them from the order)."""
        order = self._order
        last = None
        while True:
            i = 0 if last is None else order.bisect_right(last)
            if i >= len(order):
                return
            last = order[i]
            yield last[-1]
