"""trnsim: a discrete-event simulator of AI training clusters built from AWS Trainium chips.

The library (docs/api.md): `sim.load`, `sim.simulate`, `sim.run`, `sim.compare`, `sim.sweep`,
`sim.plan`, and the objects they return (`sim.Scenario`, `sim.Result`, ...). Names are loaded on
first use, so that `import sim` (and `trnsim --version`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_MODULES = ("run", "compare", "sweep", "plan")  # modules made callable (sim/callable_module.py)
_API = ("load", "simulate", "Scenario", "Result", "Comparison", "Sweep", "Plan")
__all__ = ["__version__", "InputError", *_API, *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"sim.{name}")
    if name in _API:
        return getattr(importlib.import_module("sim.api"), name)
    if name == "InputError":
        from sim.errors import InputError

        return InputError
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
