"""`workload:` — a list of entries, each a generator, a trace or an explicit `jobs:` list."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from sim.scenario import units
from sim.scenario.common import Rate, Seconds, Section


def _checkpoint_interval(v: Any) -> Any:
    if v in ("young", "daly"):
        return v
    return units.parse_time(v)


CheckpointInterval = Annotated[float | Literal["young", "daly"], BeforeValidator(_checkpoint_interval)]


def _names(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


AcceleratorNames = Annotated[list[str], BeforeValidator(_names)]


def _distribution(quantity: str, value_type: Any, example: str) -> type[Section]:
    """Build the distribution model for one quantity (values carry the quantity's unit)."""

    class Exponential(Section):
        mean: value_type

    class Lognormal(Section):
        median: value_type
        sigma: float = Field(ge=0)

    class Uniform(Section):
        low: value_type
        high: value_type

        @model_validator(mode="after")
        def _order(self) -> Uniform:
            if self.high < self.low:
                raise ValueError("high must be >= low")
            return self

    class Choice(Section):
        values: list[value_type] = Field(min_length=1)
        weights: list[Annotated[float, Field(ge=0)]] | None = None

        @model_validator(mode="after")
        def _weights(self) -> Choice:
            if self.weights is not None:
                if len(self.weights) != len(self.values):
                    raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
                if sum(self.weights) <= 0:
                    raise ValueError("weights must not all be zero")
            return self

    class Empirical(Section):
        path: str = Field(description="CSV file (relative to the scenario) holding samples.")
        column: str

    class Distribution(Section):
        __doc__ = f"A distribution of {quantity}: one of the keys below, or a plain value ({example})."
        constant: value_type | None = None
        exponential: Exponential | None = None
        lognormal: Lognormal | None = None
        uniform: Uniform | None = None
        choice: Choice | None = None
        empirical: Empirical | None = None

        @model_validator(mode="before")
        @classmethod
        def _plain_value(cls, data: Any) -> Any:
            return data if isinstance(data, dict) else {"constant": data}

        @model_validator(mode="after")
        def _exactly_one(self) -> Distribution:
            given = [k for k in DISTRIBUTIONS if getattr(self, k) is not None]
            if len(given) != 1:
                raise ValueError(f"give exactly one of {', '.join(DISTRIBUTIONS)}")
            return self

        @property
        def kind(self) -> str:
            return next(k for k in DISTRIBUTIONS if getattr(self, k) is not None)

    Distribution.__name__ = Distribution.__qualname__ = f"{quantity.title()}Distribution"
    return Distribution


DISTRIBUTIONS = ("constant", "exponential", "lognormal", "uniform", "choice", "empirical")
ChipCount = Annotated[int, Field(ge=1)]
ChipsDistribution = _distribution("chips", ChipCount, "chips: 8")
DurationDistribution = _distribution("duration", Seconds, "duration: 2h")


class Poisson(Section):
    rate: Rate = Field(description="Mean arrivals per unit time, e.g. '5/h'.")


class Arrivals(Section):
    poisson: Poisson | None = None

    @model_validator(mode="after")
    def _one(self) -> Arrivals:
        if self.poisson is None:
            raise ValueError("give an arrival process: poisson: {rate}")
        return self


class JobFields(Section):
    """Per-job fields shared by `jobs:` entries and generators."""

    user: str | None = None
    queue: str | None = None
    priority: int = Field(0, description="Larger = more important.")
    accelerator: AcceleratorNames | None = Field(None, description="Accelerator name(s) the job accepts.")
    checkpoint_interval: CheckpointInterval | None = None


class Generator(JobFields):
    count: int | None = Field(None, ge=0, description="Number of jobs to generate.")
    until: Seconds | None = Field(None, description="Stop generating at this time.")
    arrivals: Arrivals | None = None
    submit: Seconds = Field(0.0, description="Submit time of all jobs when there are no arrivals.")
    chips: ChipsDistribution
    duration: DurationDistribution
    requested: DurationDistribution | None = Field(None, description="Requested run time (default: true duration).")

    @model_validator(mode="after")
    def _bounded(self) -> Generator:
        if self.count is None and self.until is None:
            raise ValueError("a generator needs `count` or `until` (or both: whichever comes first)")
        if self.arrivals is None and self.count is None:
            raise ValueError("a generator without `arrivals` needs `count`")
        return self


class Job(JobFields):
    id: str = Field(description="Job id, kept as given; must be unique.")
    submit: Seconds = 0.0
    chips: ChipCount
    duration: Seconds
    requested: Seconds | None = None

    @model_validator(mode="before")
    @classmethod
    def _id_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("id"), int | float):
            data = {**data, "id": str(data["id"])}
        return data


class Window(Section):
    start: Seconds = 0.0
    end: Seconds | None = None


class Trace(Section):
    path: str = Field(description="Trace file, relative to the scenario file.")
    format: Literal["csv"] = Field(description="Trace format (the neutral job table: csv).")
    start: Seconds = Field(0.0, description="Submit time of the first kept row.")
    window: Window = Window()
    chips_scale: float = Field(1.0, gt=0, description="Chips = max(1, ceil(accelerators x chips_scale)).")
    time_scale: float = Field(1.0, gt=0, description="Durations are multiplied by this.")


class Entry(Section):
    name: str | None = Field(None, description="Entry name: job id prefix and seed stream name.")
    generator: Generator | None = None
    trace: Trace | None = None
    jobs: list[Job] | None = None

    @model_validator(mode="after")
    def _one(self) -> Entry:
        given = [k for k in ("generator", "trace", "jobs") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("each workload entry is exactly one of generator, trace, jobs")
        return self

    @property
    def kind(self) -> str:
        return "generator" if self.generator else "trace" if self.trace else "jobs"


Workload = Annotated[list[Entry], Field(min_length=1)]
