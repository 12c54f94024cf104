"""The whole scenario: one pydantic model per section, assembled here."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from sim.scenario.catalogue import CatalogueSection
from sim.scenario.cluster import Cluster
from sim.scenario.common import PositiveSeconds, Section
from sim.scenario.failures import Failures
from sim.scenario.metrics import Metrics
from sim.scenario.scheduler import Scheduler
from sim.scenario.workload import Workload

TOP_LEVEL_KEYS = ("name", "description", "seed", "horizon", "reference_accelerator", "catalogue",
                  "cluster", "workload", "scheduler", "failures", "metrics", "ci")


class Scenario(Section):
    name: str = Field(description="Scenario name; prefixes the run directory.")
    description: str = Field("", description="One line shown in the report.")
    seed: int = Field(0, ge=0, description="Run seed; `--seed` overrides it.")
    horizon: PositiveSeconds | None = Field(None, description="Stop the run at this time.")
    reference_accelerator: str = Field("trainium2", description=(
        "Accelerator whose chips and durations a job's `chips` and `duration` are, when the job names no "
        "accelerator; a job that names some is in the first one's chips (see docs/reports.md)."))
    catalogue: CatalogueSection = Field(CatalogueSection(), description="Instance types and accelerators "
                                                                         "added to or patched in the built-in catalogue.")
    cluster: Cluster = Field(description="Pools of instances and facility overheads.")
    workload: Workload = Field(description="Generators, traces and explicit jobs.")
    scheduler: Scheduler = Field(Scheduler(), description="Policy, placement and backfill settings.")
    failures: Failures | None = Field(None, description="Instance failures and repair; off without the block.")
    metrics: Metrics = Field(Metrics(), description="How summary statistics are taken.")
    ci: dict[str, Any] | None = Field(None, description="PATH: VALUE overrides that make the CI form.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\\0") or v.startswith("."):
            raise ValueError("name must be non-empty, without '/', and not start with '.'")
        return v
