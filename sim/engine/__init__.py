"""The simulation engine (docs/engine.md): a coordinator over an event core, a job ledger, pool
capacity and observers. `Engine(plan, pools, policy, ...).run()` returns the `Outcome`."""

from sim.engine.coordinator import Engine
from sim.engine.events import PASS_PRIORITY
from sim.engine.observers import SERIES_FIELDS
from sim.engine.plan import (
    FINAL_STATE,
    NOT_ARRIVED,
    STRETCH_COLUMNS,
    Elastic,
    JobPlan,
    Outcome,
    PolicyError,
    PowerModel,
)

__all__ = ["Engine", "PASS_PRIORITY", "SERIES_FIELDS", "FINAL_STATE", "NOT_ARRIVED", "STRETCH_COLUMNS",
           "Elastic", "JobPlan", "Outcome", "PolicyError", "PowerModel"]
