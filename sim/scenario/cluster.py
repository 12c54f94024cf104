"""`cluster:` — pools of instances, facility overheads and the network topology's shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from sim.names import TIERS
from sim.scenario.common import Dollars, DollarsPerYear, Fraction, Seconds, Section, Watts
from sim.scenario.economics import Pricing

SIZING_KEYS = ("count", "ultraservers", "chips", "power", "budget", "purchase")


class Fanout(Section):
    """ESTIMATE defaults: 16 UltraServers (64 instances) per pod, 16 pods per spine group."""

    pod: int = Field(64, ge=1, description="Instances per pod (ESTIMATE: 64 = 16 Trn2 UltraServers).")
    spine: int = Field(16, ge=1, description="Pods per spine group (ESTIMATE).")


class Slowdown(Section):
    """Run-time factor of a job whose instances span a tier (ESTIMATE defaults)."""

    instance: float = Field(1.00, ge=1, description="A job within one instance.")
    ultraserver: float = Field(1.00, ge=1, description="A job within one UltraServer (NeuronLink).")
    pod: float = Field(1.10, ge=1, description="A job within one pod.")
    spine: float = Field(1.25, ge=1, description="A job within one spine group.")
    cluster: float = Field(1.50, ge=1, description="A job spanning spine groups.")

    @model_validator(mode="after")
    def _monotone(self) -> Slowdown:
        values = [getattr(self, t) for t in TIERS]
        if any(b < a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError("slowdown factors must not decrease from instance up to cluster")
        return self


class Topology(Section):
    fanout: Fanout = Field(Fanout(), description="How many instances make a pod, and pods a spine group.")
    slowdown: Slowdown = Field(Slowdown(), description="Run-time factor by the tier a job spans.")


def _spares(v: Any) -> Any:
    if isinstance(v, str) and v.strip().endswith("%"):
        try:
            share = float(v.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f"spares: expected a count or a share like '2%', got {v!r}") from None
        if not 0 <= share < 1:
            raise ValueError(f"spares: a share must be in [0%, 100%), got {v!r}")
        return share
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"spares: a count of instances, or a share written like '2%', got {v!r}")
        return int(v)
    return v


Spares = Annotated[int | float, BeforeValidator(_spares), Field(ge=0), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^\s*[0-9.]+\s*%\s*$"}],
    "examples": [8, "2%"]})]
"""Spare instances: an int count, or a share of the pool (a float, from a string 'N%')."""


class Pool(Section):
    name: str = Field(description="Pool name, used in per-pool summary keys.")
    instance: str = Field(description="Instance type from the catalogue, e.g. trn2u.48xlarge.")
    count: int | None = Field(None, ge=1, description="Number of instances.")
    ultraservers: int | None = Field(None, ge=1, description="Number of UltraServers (UltraServer types only).")
    chips: int | None = Field(None, ge=1, description="Chips; rounded down to whole instances/UltraServers.")
    power: Watts | None = Field(None, description="Facility power at peak, e.g. '5GW'.")
    budget: DollarsPerYear | None = Field(None, description="Spend per year, e.g. '$10B/yr'.")
    purchase: Dollars | None = Field(None, gt=0, description=(
        "A whole-life price paid when the pool comes online, e.g. '$10B': it buys the instances whose $/h at "
        "the pool's pricing from online to retire (which it needs) sums to at most this."))
    pricing: Pricing = Field(Pricing(), description="on_demand (default), reserved or commitment.")
    online: Seconds = Field(0.0, description="When the pool is installed: nothing runs on it before (default 0).")
    retire: Seconds | None = Field(None, description=(
        "When the pool leaves the cluster: its running jobs stop as if preempted and requeue (default never)."))
    spares: Spares = Field(0, description=(
        "Hot spare instances held out of placement (a count, or a share of the pool such as '2%'); "
        "they draw idle power and cost like any installed instance. Used by failures.recovery: spares."))

    @model_validator(mode="after")
    def _one_sizing(self) -> Pool:
        given = [k for k in SIZING_KEYS if getattr(self, k) is not None]
        if len(given) != 1:
            if not given:
                raise ValueError(f"a pool needs one sizing key: {', '.join(SIZING_KEYS)}")
            raise ValueError(f"a pool has exactly one sizing key, got {', '.join(given)}")
        if (self.budget is not None or self.purchase is not None) and self.pricing.commitment is not None:
            raise ValueError(f"a pool with commitment pricing cannot be sized by {self.sizing}")
        if self.retire is not None and self.retire <= self.online:
            raise ValueError("retire must come after online")
        return self

    @property
    def sizing(self) -> str:
        return next(k for k in SIZING_KEYS if getattr(self, k) is not None)


class PowerCap(Section):
    """A limit on facility power (as `power_w` measures it), held or met by throttling."""

    limit: Watts = Field(description="Facility power the grid connection allows, e.g. '5GW'.")
    mode: Literal["hold", "throttle"] = Field("throttle", description=(
        "throttle: every busy chip slows to the frequency that meets the limit; hold: a job waits while "
        "its busy power would take facility power above the limit."))
    exponent: float = Field(3.0, gt=0, description=(
        "Busy power above idle scales as f ** exponent at frequency f (ESTIMATE 3: dynamic power ~ f V^2)."))


class Cluster(Section):
    pue: float = Field(1.15, ge=1, description="Power usage effectiveness (AWS global 2024: 1.15).")
    network_fraction: Fraction = Field(0.05, description="Network power as a fraction of IT power (ESTIMATE).")
    idle_fraction: Fraction = Field(0.15, description="Idle chip power as a fraction of busy (ESTIMATE).")
    host_fraction: float = Field(0.5, ge=0, description="Host watts per instance / its chips' watts (ESTIMATE).")
    topology: Topology = Field(Topology(), description="Fan-out and slowdown by tier.")
    pools: list[Pool] = Field(min_length=1, description="Pools of one instance type each.")
    power_cap: PowerCap | None = Field(None, description="A facility power limit (default none).")

    @model_validator(mode="after")
    def _unique(self) -> Cluster:
        names = [p.name for p in self.pools]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"pool names must be unique: {', '.join(dup)}")
        return self

