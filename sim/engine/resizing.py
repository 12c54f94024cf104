"""Elastic jobs' sizes: the speed of a size, and applying a policy's `Resize` (docs/engine.md).

A resize keeps every bit of work done (the ledger settles it), gives the job's chips back and
places it again at the new size (it may move instances), and re-times its completion after
`scheduler.resize_overhead` of no progress.
"""

from __future__ import annotations

from sim.engine.capacity import PoolCapacity
from sim.engine.events import EventCore
from sim.engine.ledger import Ledger
from sim.engine.offer import Offer
from sim.engine.plan import JobPlan, PolicyError
from sim.policies.base import RUNNING


class Resizer:
    def __init__(self, plan: JobPlan, core: EventCore, ledger: Ledger, cap: PoolCapacity, offer: Offer,
                 overhead: float):
        self.plan = plan
        self.core = core
        self.ledger = ledger
        self.cap = cap
        self.offer = offer
        self.overhead = overhead

    def scale(self, j: int, p: int, chips: int, size: int) -> float:
        """Run-time factor of elastic job j at `size` chips on pool p (its duration is at `chips`)."""
        rng = self.offer.elastic_range(j, p)
        if rng is None:
            raise PolicyError(f"policy sized job {j} at {size} chips, but it is not elastic")
        lo, hi, scaling = rng
        if not lo <= size <= hi:
            raise PolicyError(f"policy sized job {j} at {size} chips, outside its range [{lo}, {hi}]")
        return (chips / size) ** scaling

    def resize(self, j: int, chips: int) -> None:
        """Elastic job j goes on at `chips` chips (in its pool's chips)."""
        L = self.ledger
        if L.state[j] != RUNNING:
            raise PolicyError(f"policy resized job {j}, which is not running")
        p = L.pool[j]
        k = self.offer.k(j, p)
        scale = self.scale(j, p, self.plan.chips_on[j][k], chips)
        cap = self.cap
        old = L.alloc[j]
        assert old is not None  # a running job holds chips
        if not cap.can_resize(old, p, chips):
            raise PolicyError(f"policy resized job {j} to {chips} chips, which do not fit on pool {p}")
        L.stop(j, keep_all=True)
        cap.give_back(j, p, old, L.chips_allocated[j], resizing=True)
        alloc, _ = cap.take(j, p, chips, None, resizing=True)
        tier = alloc.tier
        slow = 1.0 if tier == 0 else cap.slowdown_at(cap.pools[p], tier, chips)
        L.retime(j, alloc, tier, slow, self.plan.run_on[j][k] * slow * scale, chips, self.overhead)
        L.est_end[j] = (self.core.env._now + self.overhead
                        + self.plan.estimate_on[j][k] * slow * scale * max(0.0, 1.0 - L.done[j]))
