"""A facility power limit (`cluster.power_cap`), held or met by throttling.

Facility power is idle power (every installed, up chip and host) plus, per pool, busy chips x
the watts a busy chip draws above idle (`sim.economics.power_model`).

  - **hold**: power is a capacity. A job starts only if its busy watts fit under the limit,
    counting the idle watts of instances that are down (they come back) and of pools not yet
    online (they will be installed): the policies see it through the view (`power_room`,
    `power_need`, `can_place`) and the engine refuses a start that would cross the limit.
  - **throttle**: jobs start as chips allow; when facility power at full speed would exceed the
    limit, every busy chip runs at frequency f < 1 with busy-above-idle watts x f ** exponent,
    f chosen so facility power meets the limit exactly, and every job runs at speed f. One
    speed factor for every pool, applied through the pools' clocks (`Ledger.set_speed`, O(log n)
    per pool), recomputed once per timestamp, after the pass, when busy power changed.
"""

from __future__ import annotations

from sim.engine.ledger import Ledger
from sim.engine.observers import PowerMeter


class PowerCap:
    __slots__ = ("limit", "hold", "exponent", "meter", "ledger", "cpi", "speed", "held", "future_w")

    def __init__(self, limit: float, mode: str, exponent: float, meter: PowerMeter, ledger: Ledger,
                 chips_per_instance: list[int], future_w: float = 0.0):
        if meter.watts is None:
            raise ValueError("a power cap needs every pool's power (an accelerator without watts)")
        self.limit = float(limit)
        self.hold = mode == "hold"
        self.exponent = float(exponent)
        self.meter = meter
        self.ledger = ledger
        self.cpi = chips_per_instance
        self.speed = 1.0  # throttle: the frequency every busy chip runs at
        self.held = False  # hold: a start was held back by power since the last row
        self.future_w = future_w  # hold: idle watts of pools not yet online

    # --- hold ---------------------------------------------------------------------------------
    def need(self, pool: int, chips: int) -> float:
        """Busy watts above idle of `chips` chips placed on `pool` (whole instances beyond one)."""
        cpi = self.cpi[pool]
        if chips > cpi:
            chips = -(-chips // cpi) * cpi
        return chips * self.meter.per_chip[pool]

    def room(self) -> float:
        """Watts that starts may still add before facility power would cross the limit."""
        m = self.meter
        return self.limit - (m.watts + m.down_w + self.future_w)

    def fits(self, watts: float) -> bool:
        if watts <= self.room() + 1e-9 * self.limit:
            return True
        self.held = True
        return False

    # --- throttle -------------------------------------------------------------------------------
    def throttle(self) -> None:
        """Set every pool's speed to the f that meets the limit (1 when power at full speed fits)."""
        m = self.meter
        idle = m.watts - m.busy_w
        f = 1.0
        if m.watts > self.limit and m.busy_w > 0:
            f = ((self.limit - idle) / m.busy_w) ** (1.0 / self.exponent)
        if f != self.speed:
            self.speed = f
            for p in range(len(self.ledger.clocks)):
                self.ledger.set_speed(p, f)

    def watts(self) -> float:
        """Facility power now: at the limit while throttled."""
        m = self.meter
        if self.speed < 1.0:
            return self.limit
        return m.watts

    def capped(self) -> bool:
        """At the cap now: throttled, or (hold) a start held back by power in the last pass."""
        if self.hold:
            held, self.held = self.held, False
            return held
        return self.speed < 1.0

