"""Shared pieces of the scenario models: the strict base class and unit-carrying field types."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from sim.scenario import units


class Section(BaseModel):
    """A scenario section: unknown keys are errors (reported with a 'did you mean'), and so are
    `.nan` and `.inf` in every number (a finite value is meant everywhere)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _parse_time(v: Any) -> Any:
    return units.parse_time(v)


def unit_schema(unit: str, pattern: str, example: str, *, zero: bool = False) -> WithJsonSchema:
    """How a value with a unit looks in the JSON Schema: a string such as `example` (or a bare 0)."""
    text = {"type": "string", "pattern": pattern}
    schema = {"anyOf": [{"const": 0}, text]} if zero else text
    return WithJsonSchema({**schema, "x-unit": unit, "examples": [example]})


TIME_SCHEMA = unit_schema("time", units.TIME_PATTERN, "2h", zero=True)
Seconds = Annotated[float, BeforeValidator(_parse_time), Field(ge=0), TIME_SCHEMA]
PositiveSeconds = Annotated[float, BeforeValidator(_parse_time), Field(gt=0), TIME_SCHEMA]
Rate = Annotated[float, BeforeValidator(units.parse_rate), Field(gt=0),
                 unit_schema("rate", units.RATE_PATTERN, "5/h")]
Watts = Annotated[float, BeforeValidator(units.parse_power), Field(gt=0),
                  unit_schema("power", units.POWER_PATTERN, "5GW")]
Dollars = Annotated[float, BeforeValidator(units.parse_money), Field(ge=0),
                    unit_schema("money", units.MONEY_PATTERN, "$2.5M")]


def _per_year(v: Any) -> float:
    """`$10B/yr`. A plain `$10B` is refused with a hint: read silently as per year, a reader of the
    scenario could take it for a one-off sum or a total over the run."""
    if isinstance(v, str) and "$" in v and "/" not in v:
        units.parse_money(v)  # an unreadable amount says so first
        raise ValueError(f"{v!r} is an amount; this is a spend per year: write '{v.strip()}/yr'")
    return units.parse_money_per_year(v)


DollarsPerYear = Annotated[float, BeforeValidator(_per_year), Field(gt=0),
                           unit_schema("money per year", units.MONEY_PER_YEAR_PATTERN, "$10B/yr")]
Fraction = Annotated[float, Field(ge=0, le=1)]
