"""`metrics:` — how summary statistics are taken."""

from __future__ import annotations

from pydantic import Field

from sim.scenario.common import PositiveSeconds, Seconds, Section


class Metrics(Section):
    warmup: Seconds = Field(0.0, description="Exclude this initial period from wait and utilisation statistics.")
    bsld_tau: PositiveSeconds = Field(10.0, description="Bounded-slowdown threshold tau.")
