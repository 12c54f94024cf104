"""Observers of the engine's state changes: the power meter and the time-series recorder.

They are told what changed (chips busy or freed on a pool, an instance down or up) or asked to
take a row at the end of a pass; neither changes what happens in the run.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from sim.engine.plan import PowerModel

if TYPE_CHECKING:  # the engine imports this module
    from sim.engine.coordinator import Engine
    from sim.placement import PoolState
    from sim.policies.base import JobQueue

SERIES_FIELDS = ("busy_chips", "down_chips", "running_jobs", "queued_jobs", "queued_chips", "power_w",
                 "fragmentation_chips", "installed_chips", "speed_factor", "capped")
_PACK_ROW = struct.Struct(f"{1 + len(SERIES_FIELDS)}d").pack  # (t, *fields) as doubles: faster than array.extend


class PowerMeter:
    """Facility watts, kept as a running sum (sim.economics.power_model); None when unknown.

    Beside the total: `busy_w`, the part busy chips draw above idle (what a power cap throttles),
    and `down_w`, what down instances would draw idle once repaired. Pool capacity adds what the
    chips it makes busy or frees draw, inline (the hot path); `down` and `installed` are called
    for instances that fail, are repaired, come online or retire."""

    __slots__ = ("watts", "busy_w", "down_w", "per_chip", "per_down")

    def __init__(self, model: PowerModel):
        self.watts = model.base_w
        self.busy_w = 0.0
        self.down_w = 0.0
        self.per_chip = list(model.per_busy_chip_w)
        self.per_down = list(model.per_down_instance_w)

    def down(self, pool: int, instances: int) -> None:
        """`instances` more (negative: fewer) instances of `pool` are down and draw nothing."""
        if self.watts is not None:
            w = instances * self.per_down[pool]
            self.watts -= w
            self.down_w += w

    def installed(self, pool: int, instances: int) -> None:
        """`instances` more (negative: fewer) idle instances of `pool` are installed."""
        if self.watts is not None:
            self.watts += instances * self.per_down[pool]


class SeriesRecorder:
    """One row (t + SERIES_FIELDS) per time a value changed, appended to one flat array of doubles."""

    __slots__ = ("_flat", "_last_t", "_last_row", "_width")

    def __init__(self) -> None:
        self._flat = array("d")
        self._last_t = -math.inf
        self._last_row: tuple | None = None
        self._width = len(SERIES_FIELDS)

    def observe(self, engine: Engine) -> None:
        """A row of the engine's counters now (called at the end of every scheduling pass); a
        later row at the same time replaces it, an unchanged row is not written."""
        cap = engine.cap
        watts = engine.meter.watts
        now = engine.core.env._now
        frag = 0.0
        if engine.queued:
            plan = engine.plan
            frag = fragmentation(engine.pending, cap.pools, plan.table.pools, plan.chips_on, cap.busy, cap.capacity)
        speed, capped = 1.0, 0.0
        power_cap = engine.power_cap
        if power_cap is not None:
            watts = power_cap.watts()
            speed = power_cap.speed
            capped = 1.0 if power_cap.capped() else 0.0
        row = (cap.busy, cap.down, cap.running_jobs, engine.queued, engine.queued_chips,
               -1.0 if watts is None else watts, frag, cap.installed_chips, speed, capped)
        flat = self._flat
        if self._last_t == now:
            flat[-self._width:] = array("d", row)
            self._last_row = row
            return
        if row == self._last_row:
            return
        self._last_row = row
        self._last_t = now
        flat.frombytes(_PACK_ROW(now, *row))

    def series(self) -> dict[str, np.ndarray]:
        table = np.frombuffer(self._flat, dtype=float).reshape(-1, self._width + 1)
        return {name: table[:, i] for i, name in enumerate(("t_s", *SERIES_FIELDS))}


def fragmentation(pending: JobQueue, pools: Sequence[PoolState], job_pools: Sequence[tuple[int, ...]],
                  chips_on: Sequence[tuple[int, ...]], busy: int, capacity: int) -> float:
    """Free chips while the queue's head cannot be placed (0 while it can, or nothing waits)."""
    if not pending or busy >= capacity:
        return 0.0
    head = pending.head()
    chips = chips_on[head]
    for k, p in enumerate(job_pools[head]):
        if pools[p].can_place(chips[k]):
            return 0.0
    return float(sum(p.free_chips for p in pools))
