"""`failures:` — instance failures, repair, checkpoints and restarts (off without the block)."""

from __future__ import annotations

from pydantic import Field

from sim.failures import CHECKPOINT_WRITE_S, REPAIR_S, RESTART_OVERHEAD_S
from sim.scenario.common import PositiveSeconds, Seconds, Section
from sim.scenario.workload import CheckpointInterval


class Failures(Section):
    """The failure model of docs/failures-power-cost.md; `failures: {}` takes every default (ESTIMATEs from Llama 3)."""

    mtbf_instance: PositiveSeconds | None = Field(None, description=(
        "Mean time between failures of one instance. Default 1 / (chips per instance x 4.7e-4 per "
        "chip-day): about 133 d for 16-chip Trainium instances, 266 d for 8-GPU instances (Llama 3, "
        "H100-derived, ESTIMATE)."))
    repair: PositiveSeconds = Field(REPAIR_S, description="How long a failed instance stays down.")
    checkpoint_write: Seconds = Field(CHECKPOINT_WRITE_S,
                                      description="C: time to write one checkpoint (ESTIMATE).")
    restart_overhead: Seconds = Field(RESTART_OVERHEAD_S, description="R: time a job killed by a failure "
                                                                      "pays on restart (ESTIMATE).")
    checkpoint_interval: CheckpointInterval = Field("young", description=(
        "Default checkpoint interval of jobs that set none: a time, or young / daly with M = "
        "mtbf_instance / the job's instances."))
