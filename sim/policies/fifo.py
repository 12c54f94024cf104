"""Strict first-come-first-served: the head of the queue blocks, per pool.

The classic batch-scheduler baseline (e.g. Feitelson & Rudolph, "Parallel job scheduling:
issues and approaches", JSSPP 1995). Jobs start in submission order. A job that accepts
several pools goes to the first of them that fits, in scenario order; a job that fits none
blocks every pool it accepts, and later jobs may still start on pools nobody blocks.

Cost per pass: O(started jobs + 1) with one pool; with several, until every pool is blocked.
"""

from __future__ import annotations

from collections.abc import Iterator

from sim.policies.base import Decision, Policy, QueueView, Start, register, start_while_pools_free


@register
class Fifo(Policy):
    name = "fifo"

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        n_pools = len(view.pool_names)
        if n_pools == 1:
            for job in view.queued():
                if not view.can_place(job, 0):
                    return
                yield Start(job, 0)
            return
        yield from start_while_pools_free(view, view.queued(), view.jobs.pools.__getitem__)
