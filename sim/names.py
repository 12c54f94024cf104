"""Names trnsim's scenarios and outputs spell, each defined once: network tiers, job states and
placement rules. Everything else imports them from here (this module imports nothing of trnsim's,
so the scenario models at the bottom of the layers can use it too).
"""

from __future__ import annotations

import typing
from typing import Literal

# Network tiers, lowest first (docs/architecture.md, "The model"); a tier's code is its index here,
# as in jobs.parquet's `tier` column and the placement code.
TIERS = ("instance", "ultraserver", "pod", "spine", "cluster")
# Tiers whose domains can fail as one (`failures.domains`): an UltraServer, a pod, a spine group.
DOMAIN_TIERS = TIERS[1:4]
# The tier that separates a failed instance from the spare that replaced it (`spare_swaps_<tier>`):
# the same UltraServer, pod or spine group, or further (`cluster`).
SPARE_TIERS = TIERS[1:]

# A job's state; its code is its index here (the engine keeps codes, jobs.parquet the names).
QUEUED, RUNNING, COMPLETED, FAILED, KILLED, REJECTED = range(6)
JOB_STATES = ("queued", "running", "completed", "failed", "killed", "rejected")
# How a trace row says its job ended (a replay ends it the same way).
TRACE_STATUSES = JOB_STATES[COMPLETED:REJECTED]

# `scheduler.placement` (sim/placement.py registers a function under each name)
Placement = Literal["first_fit", "best_fit", "topology_aware"]
PLACEMENTS: tuple[str, ...] = typing.get_args(Placement)
