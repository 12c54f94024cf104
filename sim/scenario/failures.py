"""`failures:` — instance failures, repair, checkpoints and restarts (off without the block)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.failures import CHECKPOINT_WRITE_S, REPAIR_S, RESTART_OVERHEAD_S
from sim.scenario.common import PositiveSeconds, Seconds, Section
from sim.scenario.workload import CheckpointInterval


class RestartOverhead(Section):
    """A restart that grows with the job: `fixed` + `per_1k_instances` x instances / 1000."""

    fixed: Seconds = Field(RESTART_OVERHEAD_S, description="The part every restart pays (ESTIMATE).")
    per_1k_instances: Seconds = Field(0.0, description=(
        "What each 1,000 of the job's instances add (0 s: a FlashRecovery-style constant restart)."))


class DomainFailures(Section):
    """Correlated failures of one tier's domains (a power shelf, a switch, a cooling loop)."""

    mtbf: PositiveSeconds = Field(description="Mean time between failures of one domain of the tier.")
    repair: PositiveSeconds = Field(REPAIR_S, description="How long a failed domain's instances stay down.")


class Domains(Section):
    """Failure domains by tier (each off unless given; no published rate to default to): per pool and
    tier a superposed Poisson process over its up domains; every instance of the domain that fails
    goes down at once, beside the instances' own failures."""

    ultraserver: DomainFailures | None = Field(None, description="An UltraServer's instances fail at once.")
    pod: DomainFailures | None = Field(None, description="A pod's instances fail at once.")
    spine: DomainFailures | None = Field(None, description="A spine group's instances fail at once.")


class Failures(Section):
    """The failure model of docs/failures-power-cost.md; `failures: {}` takes every default (ESTIMATEs from Llama 3)."""

    mtbf_instance: PositiveSeconds | None = Field(None, description=(
        "Mean time between failures of one instance. Default 1 / (chips per instance x 419 / (16,384 x 54) "
        "= 4.74e-4 per chip-day): about 132 d for 16-chip Trainium instances, 264 d for 8-GPU instances (Llama 3, "
        "H100-derived, ESTIMATE)."))
    repair: PositiveSeconds = Field(REPAIR_S, description="How long a failed instance stays down.")
    checkpoint_write: Seconds = Field(CHECKPOINT_WRITE_S,
                                      description="C: time to write one checkpoint (ESTIMATE).")
    restart_overhead: Seconds | RestartOverhead = Field(RESTART_OVERHEAD_S, description=(
        "R: time a job stopped by a failure pays on restart (ESTIMATE): a time, or {fixed, per_1k_instances}."))
    recovery: Literal["requeue", "spares", "shrink"] = Field("requeue", description=(
        "What a failure does to a running job: requeue it (stop, wait for a new placement); swap the "
        "failed instance for a free spare of its pool (cluster.pools[].spares) in place; or shrink an "
        "elastic job to its remaining instances (a rigid job requeues)."))
    fallback: Literal["requeue", "shrink", "wait"] = Field("requeue", description=(
        "Under `spares`, when no spare is free: requeue; shrink (elastic jobs; rigid ones requeue); or "
        "wait, holding the job's other instances until a repaired instance refills the spares."))
    domains: Domains | None = Field(None, description=(
        "Correlated failures of whole UltraServers, pods or spine groups, each {mtbf, repair} (off without it)."))
    checkpoint_interval: CheckpointInterval = Field("young", description=(
        "Default checkpoint interval of jobs that set none: a time, or young / daly with M = "
        "mtbf_instance / the job's instances."))
