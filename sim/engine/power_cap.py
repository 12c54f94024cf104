"""A facility power limit (`cluster.power_cap`), held or met by throttling.

Facility power is idle power (every installed, up chip and host) plus, per pool, busy chips x
the watts a busy chip draws above idle (`sim.economics.power_model`).

  - **hold**: power is a capacity. A job starts only if its busy watts fit under the limit
    with the most idle watts the facility will draw from now on: every instance of the pools
    installed now or later (down instances come back; pools coming online add theirs, retiring
    ones take theirs away). The policies see it through the view (`power_room`, `power_need`,
    `can_place`) and the engine refuses a start that would cross the limit.
  - **throttle**: jobs start as chips allow; when facility power at full speed would exceed the
    limit, every busy chip runs at frequency f < 1 with busy-above-idle watts x f ** exponent,
    f chosen so facility power meets the limit exactly, and every job runs at speed f. One
    speed factor for every pool, applied through the pools' clocks (`Ledger.set_speed`, O(log n)
    per pool), recomputed once per timestamp, after the pass, when busy power changed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from sim.engine.ledger import Ledger
from sim.engine.observers import PowerMeter


class PowerCap:
    __slots__ = ("limit", "hold", "exponent", "meter", "ledger", "cpi", "speed", "held", "_now", "_ahead")

    def __init__(self, limit: float, mode: str, exponent: float, meter: PowerMeter, ledger: Ledger,
                 chips_per_instance: list[int], now: Callable[[], float],
                 idle_ahead: list[tuple[float, float]] | None = None):
        """`idle_ahead`: (from time t, the most idle watts drawn at t or later) at each time pools
        come online or retire; None when every pool is installed throughout."""
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
        self._now = now
        # (times, the most idle watts from each on), or None
        self._ahead = None if idle_ahead is None else ([t for t, _ in idle_ahead], [w for _, w in idle_ahead])

    def _facility_w(self) -> float:
        """Facility power at full speed: known, since a cap needs it (checked above)."""
        watts = self.meter.watts
        assert watts is not None
        return watts

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
        if self._ahead is None:
            idle = self._facility_w() - m.busy_w + m.down_w  # every instance, down ones included
        else:
            times, idle_w = self._ahead
            idle = idle_w[bisect_right(times, self._now()) - 1]
        return self.limit - (m.busy_w + idle)

    def fits(self, watts: float) -> bool:
        if watts <= self.room() + 1e-9 * self.limit:
            return True
        self.held = True
        return False

    # --- throttle -------------------------------------------------------------------------------
    def throttle(self) -> None:
        """Set every pool's speed to the f that meets the limit (1 when power at full speed fits)."""
        m = self.meter
        watts = self._facility_w()
        idle = watts - m.busy_w
        f = 1.0
        if watts > self.limit and m.busy_w > 0:  # the limit is above idle power (checked by sim.run)
            f = max(1e-6, (max(0.0, self.limit - idle) / m.busy_w) ** (1.0 / self.exponent))
        if f != self.speed:
            self.speed = f
            for p in range(len(self.ledger.clocks)):
                self.ledger.set_speed(p, f)

    def watts(self) -> float:
        """Facility power now: at the limit while throttled."""
        if self.speed < 1.0:
            return self.limit
        return self._facility_w()

    def capped(self) -> bool:
        """At the cap now: throttled, or (hold) a start held back by power in the last pass."""
        if self.hold:
            held, self.held = self.held, False
            return held
        return self.speed < 1.0

