"""The policy interface: a read-only view of the queue and capacity in, decisions out.

A policy is a small class registered by name. Once per timestamp the engine calls
`schedule(view)`, a generator of decisions. The engine applies each decision as it is
yielded, before the generator resumes, so the view always shows current free capacity:
a policy never has to project the effect of its own earlier decisions within a pass.

Policies never import the engine; the engine imports this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

QUEUED, RUNNING, COMPLETED, FAILED, KILLED, REJECTED = range(6)
STATE_NAMES = ("queued", "running", "completed", "failed", "killed", "rejected")


class Start(NamedTuple):
    """Start `job` on pool index `pool` (the engine places it with the scenario's placement)."""

    job: int
    pool: int


Decision = Start


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class JobTable:
    """Static job columns, indexed by job number, as tuples (read-only, shared, never copied).

    Jobs are numbered in submission order (ties in scenario order).
    """

    submit: Sequence[float]
    chips: Sequence[int]  # chips requested on the reference accelerator
    requested: Sequence[float]  # requested run time (the true duration when not given)
    priority: Sequence[int]
    user: Sequence[str]
    queue: Sequence[str]
    pools: Sequence[tuple[int, ...]]  # indices of the pools the job accepts, in scenario order


class QueueView:
    """What a policy may see: time, the queued jobs in submission order, and free capacity.

    Built once by the engine over its own state; every accessor is O(1) or an iterator, so a
    pass costs what the policy looks at, not the length of the queue.
    """

    __slots__ = ("_clock", "_pending", "_state", "_can_place", "_free", "jobs", "pool_names")

    def __init__(self, clock: Callable[[], float], pending: dict[int, None], state: list[int],
                 can_place: Callable[[int, int], bool], free_chips: Callable[[int], int],
                 jobs: JobTable, pool_names: tuple[str, ...]):
        self._clock = clock
        self._pending = pending
        self._state = state
        self._can_place = can_place
        self._free = free_chips
        self.jobs = jobs
        self.pool_names = pool_names

    @property
    def now(self) -> float:
        return self._clock()

    def queued(self) -> Iterator[int]:
        """Queued jobs in submission order. Safe to iterate while yielding decisions."""
        state = self._state
        for job in self._pending:
            if state[job] == QUEUED:
                yield job

    def queue_length(self) -> int:
        return len(self._pending)

    def can_place(self, job: int, pool: int) -> bool:
        """Could `job` be placed on `pool` right now?"""
        return self._can_place(job, pool)

    def free_chips(self, pool: int) -> int:
        return self._free(pool)


class Policy:
    """Base class. Subclasses set `name`, optionally `Options`, and implement `schedule`.

    A policy that keeps its own index of the queue (e.g. ordered by requested time) sets
    `tracks_queue = True`; the engine then calls `enqueued(job)` when a job joins the queue
    and `dequeued(job)` when it leaves it (started or rejected), so a pass never has to
    rebuild the order from the whole queue.
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions
    tracks_queue: ClassVar[bool] = False

    def __init__(self, options: BaseModel | None = None, scheduler: Any = None):
        self.options = options if options is not None else self.Options()
        self.scheduler = scheduler

    def schedule(self, view: QueueView) -> Iterator[Decision]:  # pragma: no cover - interface
        raise NotImplementedError

    def bind(self, view: QueueView) -> None:
        """Called once before the run with the view the passes will get."""

    def enqueued(self, job: int) -> None:
        """`job` joined the queue (only called when `tracks_queue`)."""

    def dequeued(self, job: int) -> None:
        """`job` left the queue (only called when `tracks_queue`)."""


_REGISTRY: dict[str, type[Policy]] = {}
_BUILTIN_MODULES = ("sim.policies.fifo", "sim.policies.sjf")


def register(cls: type[Policy]) -> type[Policy]:
    """Class decorator: make a policy available by its `name`."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} needs a name")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def is_known(name: str) -> bool:
    try:
        get(name)
    except KeyError:
        return False
    return True


def get(name: str) -> type[Policy]:
    """A registered policy by name, or a user's `module:Class`."""
    _load_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise KeyError(name) from exc
        if isinstance(cls, type) and issubclass(cls, Policy):
            return cls
    raise KeyError(name)


def options_model(name: str) -> type[BaseModel]:
    return get(name).Options
