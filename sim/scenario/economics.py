"""Pool pricing: `on_demand`, `{reserved: {discount}}` or `{commitment: {usd_per_year}}`."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from sim.scenario.common import DollarsPerYear, Fraction, Section


class Reserved(Section):
    discount: Fraction = Field(description="Fraction off the on-demand price, 0..1.")


class Commitment(Section):
    usd_per_year: DollarsPerYear = Field(description="What the whole pool costs per year, e.g. '$10B/yr'.")


class Pricing(Section):
    on_demand: bool | None = Field(None, description="The catalogue's on-demand $/h (the default).")
    reserved: Reserved | None = Field(None, description="On demand less a discount.")
    commitment: Commitment | None = Field(None, description="A fixed sum per year for the whole pool.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data == "on_demand":
            return {"on_demand": True}
        if isinstance(data, str):
            raise ValueError(f"unknown pricing {data!r}: use on_demand, {{reserved: {{discount}}}} "
                             "or {commitment: {usd_per_year}}")
        return data

    @model_validator(mode="after")
    def _one(self) -> Pricing:
        given = [k for k in ("on_demand", "reserved", "commitment") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"give one pricing, not {' and '.join(given)}")
        if not given:
            self.on_demand = True
        return self

    @property
    def kind(self) -> str:
        return "reserved" if self.reserved else "commitment" if self.commitment else "on_demand"
