"""`sim.run(...)`, `sim.compare(...)`, `sim.sweep(...)` and `sim.plan(...)` next to modules of the same names.

`sim.run` is also the module `sim/run.py` (and so on): Python sets a package's attribute to a
submodule when the submodule is imported, so a function of that name at the package top would be
replaced. Instead those four modules are made callable: calling the module calls the function of
its name in `sim.api`, and `from sim import run` still gives the module to the code that uses it.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from sim import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


def make_callable(name: str) -> None:
    """Make the module `name` (sim.run, sim.compare, sim.sweep or sim.plan) call sim.api.<its last part>."""
    sys.modules[name].__class__ = CallableModule
