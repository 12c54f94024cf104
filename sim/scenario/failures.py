"""`failures:` — instance failures, repair, checkpoints and restarts (off without the block)."""

from __future__ import annotations

from pydantic import Field

from sim.scenario.common import PositiveSeconds, Seconds, Section
from sim.scenario.workload import CheckpointInterval


class Failures(Section):
    """DESIGN's failure model; `failures: {}` takes every default (ESTIMATEs from Llama 3)."""

    mtbf_instance: PositiveSeconds | None = Field(None, description=(
        "Mean time between failures of one instance. Default 1 / (chips per instance x 4.7e-4 per "
        "chip-day): about 133 d for 16-chip Trainium instances, 266 d for 8-GPU instances (Llama 3, "
        "H100-derived, ESTIMATE)."))
    repair: PositiveSeconds = Field(4 * 3600.0, description="How long a failed instance stays down.")
    checkpoint_write: Seconds = Field(60.0, description="C: time to write one checkpoint (ESTIMATE).")
    restart_overhead: Seconds = Field(300.0, description="R: time a job killed by a failure pays on restart "
                                                         "(ESTIMATE).")
    checkpoint_interval: CheckpointInterval = Field("young", description=(
        "Default checkpoint interval of jobs that set none: a time, or young / daly with M = "
        "mtbf_instance / the job's instances."))
