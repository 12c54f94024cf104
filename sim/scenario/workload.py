"""`workload:` — a list of entries, each a generator, a trace or an explicit `jobs:` list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from sim.scenario import units
from sim.scenario.common import TIME_SCHEMA, Rate, Seconds, Section


def _checkpoint_interval(v: Any) -> Any:
    if v in ("young", "daly"):
        return v
    seconds = units.parse_time(v)
    if seconds <= 0:
        raise ValueError(f"a checkpoint interval is a time > 0, or young or daly (got {v!r})")
    return seconds


CheckpointInterval = Annotated[float | Literal["young", "daly"], BeforeValidator(_checkpoint_interval),
                               WithJsonSchema({"anyOf": [{"enum": ["young", "daly"]}, TIME_SCHEMA.json_schema],
                                               "x-unit": "time"})]


def _names(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


AcceleratorNames = Annotated[list[str], BeforeValidator(_names),
                             WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})]


def _distribution(quantity: str, value_type: Any, example: str) -> type[Section]:
    """Build the distribution model for one quantity (values carry the quantity's unit)."""
    prefix = quantity.title()

    class Exponential(Section):
        __qualname__ = f"{prefix}Exponential"  # a stable name for the JSON Schema
        mean: value_type = Field(description="Mean of the exponential distribution.")

    class Lognormal(Section):
        __qualname__ = f"{prefix}Lognormal"  # a stable name for the JSON Schema
        median: value_type = Field(description="Median, exp(mu) of the underlying normal.")
        sigma: float = Field(ge=0, description="Standard deviation of the underlying normal (log scale).")

    class Uniform(Section):
        __qualname__ = f"{prefix}Uniform"  # a stable name for the JSON Schema
        low: value_type = Field(description="Smallest value.")
        high: value_type = Field(description="Largest value (>= low).")

        @model_validator(mode="after")
        def _order(self) -> Uniform:
            if self.high < self.low:
                raise ValueError("high must be >= low")
            return self

    class Choice(Section):
        __qualname__ = f"{prefix}Choice"  # a stable name for the JSON Schema
        values: list[value_type] = Field(min_length=1, description="The values to draw from.")
        weights: list[Annotated[float, Field(ge=0)]] | None = Field(
            None, description="Relative weight of each value (default: equal); need not sum to 1.")

        @model_validator(mode="after")
        def _weights(self) -> Choice:
            if self.weights is not None:
                if len(self.weights) != len(self.values):
                    raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
                if sum(self.weights) <= 0:
                    raise ValueError("weights must not all be zero")
            return self

    class Empirical(Section):
        __qualname__ = f"{prefix}Empirical"  # a stable name for the JSON Schema
        path: str = Field(description="CSV file (relative to the scenario) holding samples.")
        column: str = Field(description="Column of that file whose values are drawn (with replacement).")

    class Distribution(Section):
        __qualname__ = f"{prefix}Distribution"
        __doc__ = f"A distribution of {quantity}: one of the keys below, or a plain value ({example})."
        constant: value_type | None = Field(None, description="Every job gets this value.")
        exponential: Exponential | None = None
        lognormal: Lognormal | None = None
        uniform: Uniform | None = None
        choice: Choice | None = None
        empirical: Empirical | None = Field(None, description="Samples from a CSV file.")

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

    Distribution.__name__ = Distribution.__qualname__
    return Distribution


DISTRIBUTIONS = ("constant", "exponential", "lognormal", "uniform", "choice", "empirical")
ChipCount = Annotated[int, Field(ge=1)]
if TYPE_CHECKING:  # a class built at run time is no type to mypy; `sample` takes any of them
    ChipsDistribution: TypeAlias = Any
    DurationDistribution: TypeAlias = Any
else:
    ChipsDistribution = _distribution("chips", ChipCount, "chips: 8")
    DurationDistribution = _distribution("duration", Seconds, "duration: 2h")


class Poisson(Section):
    rate: Rate = Field(description="Mean arrivals per unit time, e.g. '5/h'.")


def _time_of_day(v: Any) -> Any:
    seconds = units.parse_time(v)
    if not 0 <= seconds < 86400:
        raise ValueError(f"peak_hour is a time of day, 0s <= peak_hour < 24h (got {v!r})")
    return seconds


class Diurnal(Section):
    """Poisson arrivals whose rate follows the day: rate x (1 + amplitude x cos(2 pi (t - peak_hour) / 24h)),
    t = 0 at 00:00 of day 0; drawn by thinning."""

    rate: Rate = Field(description="Mean arrivals per unit time over a day, e.g. '20/h'.")
    peak_hour: Annotated[float, BeforeValidator(_time_of_day), TIME_SCHEMA] = Field(
        description="Time of day of the peak rate, e.g. '14h'.")
    amplitude: float = Field(ge=0, le=1, description="0 = flat, 1 = no arrivals at the trough.")


class Batch(Section):
    at: Seconds = Field(description="Submit time of every job of the batch.")
    count: int = Field(ge=0, description="Number of jobs submitted at `at`.")


ARRIVALS = ("poisson", "diurnal", "batch")


class Arrivals(Section):
    poisson: Poisson | None = None
    diurnal: Diurnal | None = None
    batch: Batch | None = None

    @model_validator(mode="after")
    def _one(self) -> Arrivals:
        given = [k for k in ARRIVALS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one arrival process: poisson: {rate}, "
                             "diurnal: {rate, peak_hour, amplitude} or batch: {at, count}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ARRIVALS if getattr(self, k) is not None)


class ElasticRange(Section):
    """The sizes an elastic job may run at, in chips (of the reference accelerator, like `chips`)."""

    min: int = Field(ge=1, description="Fewest chips it runs on (the size the `elastic` policy admits it at).")
    max: int = Field(ge=1, description="Most chips it can use.")

    @model_validator(mode="after")
    def _order(self) -> ElasticRange:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be >= min ({self.min})")
        return self


class JobFields(Section):
    """Per-job fields shared by `jobs:` entries and generators."""

    user: str | None = Field(None, description="Who submits the job (fairness is over users, except under fair_share).")
    queue: str | None = Field(None, description="Queue name (fair_share's quotas are per queue).")
    priority: int = Field(0, description="Larger = more important.")
    accelerator: AcceleratorNames | None = Field(None, description=(
        "Accelerator name(s) the job accepts. Its `chips` and `duration` are the first one's; on another "
        "accelerator they are mapped by BF16 TFLOPS x MFU (scheduler.map). Without it: any pool, in "
        "reference_accelerator chips."))
    checkpoint_interval: CheckpointInterval | None = Field(
        None, description="A time, or young / daly (default: failures.checkpoint_interval).")
    elastic: ElasticRange | None = Field(None, description=(
        "Elastic job: it may run on any size in [min, max] chips, resized by the policy (`elastic`). "
        "`chips` stays the size its `duration` is measured at."))
    scaling: float | None = Field(None, gt=0, le=1, allow_inf_nan=False, description=(
        "Elastic jobs: at n chips the job runs at speed (n / chips) ** scaling (default 1.0, linear; ESTIMATE)."))
    recovery: Literal["requeue", "spares", "shrink"] | None = Field(None, description=(
        "What a failure does to this job (default: failures.recovery)."))


class JobClass(JobFields):
    """One kind of generated job: how many, when, and the distributions of its fields."""

    count: int | None = Field(None, ge=0, description="Number of jobs to generate.")
    until: Seconds | None = Field(None, description="Stop generating at this time.")
    arrivals: Arrivals | None = Field(None, description="Arrival process (without one, all jobs submit at `submit`).")
    submit: Seconds = Field(0.0, description="Start of the arrivals; submit time of all jobs when there are none.")
    chips: ChipsDistribution | None = Field(None, description="Chips per job, on the reference accelerator.")
    duration: DurationDistribution | None = Field(
        None, description="Run time at ideal placement on the reference accelerator.")
    requested: DurationDistribution | None = Field(None, description="Requested run time (default: true duration).")

    def problems(self) -> list[str]:
        """What this class lacks to be generated (phrases completing "a generator ...")."""
        out = [f"needs `{name}`" for name in ("chips", "duration") if getattr(self, name) is None]
        batch = self.arrivals is not None and self.arrivals.batch is not None
        if batch and self.count is not None:
            out.append("has batch arrivals, which give their own count: remove `count`")
        elif not batch and self.count is None and self.until is None:
            out.append("needs `count` or `until` (or both: whichever comes first)")
        elif self.arrivals is None and self.count is None:
            out.append("without `arrivals` needs `count`")
        return out


INHERITED = ("user", "queue", "priority", "accelerator", "checkpoint_interval", "until", "elastic", "scaling",
             "recovery")
"""Generator-level fields that classes without their own value take from the generator."""


class Generator(JobClass):
    """Synthetic jobs: one class (the fields here), or named `classes:` (the fields here other than
    count, arrivals, submit, chips, duration and requested are then defaults for every class)."""

    classes: dict[str, JobClass] | None = Field(
        None, description="Named job classes, each with its own arrivals or count and per-job fields.")

    @model_validator(mode="after")
    def _bounded(self) -> Generator:
        if self.classes is None:
            problems = self.problems()
            if problems:
                raise ValueError("; ".join(f"a generator {p}" for p in problems))
            return self
        if not self.classes:
            raise ValueError("classes: needs at least one class")
        own = [k for k in ("count", "arrivals", "chips", "duration", "requested") if getattr(self, k) is not None]
        if "submit" in self.model_fields_set:
            own.append("submit")
        if own:
            raise ValueError(f"with classes:, set {', '.join(own)} in each class, not on the generator")
        problems = []
        for name, cls in self.resolved_classes():
            if not name or not all(c.isalnum() or c in "_.-" for c in name) or name.startswith("."):
                problems.append(f"class name {name!r}: use letters, digits, '_', '-' and '.'")
            problems.extend(f"class {name!r} {p}" for p in cls.problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def resolved_classes(self) -> list[tuple[str, JobClass]]:
        """(name, class) in the order written, with inherited fields filled in."""
        if self.classes is None:
            return []
        out = []
        for name, cls in self.classes.items():
            update = {k: getattr(self, k) for k in INHERITED
                      if k not in cls.model_fields_set and k in self.model_fields_set}
            out.append((name, cls.model_copy(update=update) if update else cls))
        return out


class Job(JobFields):
    id: str = Field(description="Job id, kept as given; must be unique.")
    submit: Seconds = Field(0.0, description="Submit time.")
    chips: ChipCount = Field(description="Chips on the reference accelerator.")
    duration: Seconds = Field(description="Run time at ideal placement on the reference accelerator.")
    requested: Seconds | None = Field(None, description="Requested run time (default: the duration).")

    @model_validator(mode="before")
    @classmethod
    def _id_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("id"), int | float):
            data = {**data, "id": str(data["id"])}
        return data


class Window(Section):
    start: Seconds = Field(0.0, description="Keep rows submitted at or after this time (the trace's first row is 0).")
    end: Seconds | None = Field(None, description="Keep rows submitted before this time (default: to the end).")


TraceFormat = Literal["csv", "swf", "alibaba2023", "philly", "pai2020", "helios", "acme"]


class Trace(Section):
    path: str = Field(description="Trace file, relative to the scenario file (pai2020: the job table, "
                                  "or a directory holding pai_job_table.csv and pai_task_table.csv).")
    format: TraceFormat = Field(description="Trace format: csv (the neutral job table), swf, alibaba2023, "
                                            "philly, pai2020, helios, acme.")
    start: Seconds = Field(0.0, description="Submit time of the first kept row.")
    window: Window = Field(Window(), description="Rows kept, by submit time on the trace's clock.")
    chips_scale: float = Field(1.0, gt=0, description="Chips = max(1, ceil(accelerators x chips_scale)).")
    time_scale: float = Field(1.0, gt=0, description="Durations are multiplied by this.")
    keep_survivors: bool = Field(False, description="alibaba2023 only: also replay pods created before the "
                                                    "earliest deletion time in the file (long-lived survivors).")
    tasks: str | None = Field(None, description="pai2020 only: the task table (default: the job table's name "
                                                "with 'job' replaced by 'task').")

    @model_validator(mode="after")
    def _format_options(self) -> Trace:
        if self.keep_survivors and self.format != "alibaba2023":
            raise ValueError("keep_survivors applies to format alibaba2023 only")
        if self.tasks is not None and self.format != "pai2020":
            raise ValueError("tasks applies to format pai2020 only")
        if self.window.end is not None and self.window.end <= self.window.start:
            raise ValueError("window.end must be after window.start")
        return self


class Entry(Section):
    name: str | None = Field(None, description="Entry name: job id prefix and seed stream name.")
    generator: Generator | None = Field(None, description="Synthetic jobs.")
    trace: Trace | None = Field(None, description="Jobs replayed from a trace file.")
    jobs: list[Job] | None = Field(None, description="Jobs listed one by one.")

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
