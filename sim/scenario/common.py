"""Shared pieces of the scenario models: the strict base class and unit-carrying field types."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sim.scenario import units


class Section(BaseModel):
    """A scenario section: unknown keys are errors (reported with a 'did you mean'), and so are
    `.nan` and `.inf` in every number (a finite value is meant everywhere)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _parse_time(v: Any) -> Any:
    return units.parse_time(v)


Seconds = Annotated[float, BeforeValidator(_parse_time), Field(ge=0)]
PositiveSeconds = Annotated[float, BeforeValidator(_parse_time), Field(gt=0)]
Rate = Annotated[float, BeforeValidator(units.parse_rate), Field(gt=0)]
Watts = Annotated[float, BeforeValidator(units.parse_power), Field(gt=0)]
Dollars = Annotated[float, BeforeValidator(units.parse_money), Field(ge=0)]


def _per_year(v: Any) -> float:
    """`$10B/yr`; a plain `$10B` is read as per year where the field name says so."""
    if isinstance(v, str) and "/" not in v:
        return units.parse_money(v)
    return units.parse_money_per_year(v)


DollarsPerYear = Annotated[float, BeforeValidator(_per_year), Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
