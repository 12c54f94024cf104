"""`scheduler:` — the policy by name, placement, run-time estimates and policy options."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from sim.names import PLACEMENTS as PLACEMENT_NAMES  # sim.placement.PLACEMENTS has these keys
from sim.names import Placement
from sim.scenario.common import Seconds, Section
from sim.scenario.keypath import did_you_mean


class Estimate(Section):
    """How backfill reservations estimate run time: exact, `{factor: k}` or the trace's request."""

    kind: Literal["exact", "factor", "trace"] = Field("exact", description=(
        "exact: the true run time; factor: k x the true run time; trace: the trace's requested time."))
    factor: float | None = Field(None, gt=0, description="k, with kind factor.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data in ("exact", "trace"):
            return {"kind": data}
        if isinstance(data, dict) and set(data) == {"factor"}:
            return {"kind": "factor", "factor": data["factor"]}
        if isinstance(data, str):
            raise ValueError(f"unknown estimate {data!r}: use exact, trace or {{factor: k}}")
        return data


class Scheduler(Section):
    """Known keys below; any other key is an option of the chosen policy, checked by that policy."""

    model_config = ConfigDict(extra="allow")

    policy: str = Field("fifo", description="Policy name from the registry (trnsim policies), or module:Class.")
    placement: Placement = Field("first_fit", description=(
        "Which instances a started job gets. first_fit: the lowest-index instance with room, or the "
        "lowest-index whole free instances (the fastest). best_fit: the instance with the fewest free "
        "chips that still fits; whole free instances, lowest index first, for larger jobs. "
        "topology_aware: the lowest tier (UltraServer, pod, spine group, cluster) with room for the "
        "job, and there the domain with the fewest whole free instances that still holds it."))
    estimate: Estimate = Field(Estimate(), description="What backfill reservations trust as a job's run time.")
    kill_at_limit: bool = Field(False, description="Kill jobs that reach their requested time.")
    backfill_depth: int = Field(500, ge=1, description="Jobs a backfill pass scans at most.")
    preempt_overhead: Seconds = Field(60.0, description="Time a preempted job pays before it can run again.")
    resize_overhead: Seconds = Field(30.0, description=(
        "Time an elastic job makes no progress after a resize (ESTIMATE); it loses no work."))
    map: Literal["scale_chips", "keep_chips"] = Field(
        "scale_chips", description="Moving a job to another accelerator scales its chips (or its duration)."
    )

    @field_validator("placement", mode="before")
    @classmethod
    def _known_placement(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in PLACEMENT_NAMES:
            raise ValueError(f"unknown placement {value!r}{did_you_mean(value, PLACEMENT_NAMES)}; "
                             f"use {', '.join(PLACEMENT_NAMES[:-1])} or {PLACEMENT_NAMES[-1]}")
        return value

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
