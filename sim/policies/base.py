"""The policy interface: a read-only view of the queue and capacity in, decisions out.

A policy is a small class registered by name. Once per timestamp the engine calls
`schedule(view)`, a generator of decisions. The engine applies each decision as it is
yielded, before the generator resumes, so the view always shows current free capacity:
a policy never has to project the effect of its own earlier decisions within a pass.

Policies never import the engine; the engine imports this module.
"""

from __future__ import annotations

import heapq
import importlib
from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

# policies and the engine import the job states from here too
from sim.names import COMPLETED as COMPLETED  # re-exported: policies and the engine read them here
from sim.names import FAILED as FAILED
from sim.names import JOB_STATES as STATE_NAMES  # noqa: F401
from sim.names import KILLED as KILLED
from sim.names import QUEUED as QUEUED
from sim.names import REJECTED as REJECTED
from sim.names import RUNNING as RUNNING
from sim.scenario.scheduler import Scheduler

_DEFAULT_BACKFILL_DEPTH: int = Scheduler.model_fields["backfill_depth"].default


class Start(NamedTuple):
    """Start `job` on pool index `pool`. The engine places it with the scenario's placement, or,
    when `allocation` is given (one a policy found with `place_on` on a projection), exactly
    there — for policies that must keep instances free for reservations."""

    job: int
    pool: int
    allocation: Any = None
    chips: int | None = None  # an elastic job's starting size (in the pool's chips); None: its request


class Preempt(NamedTuple):
    """Stop running `job` now: it loses the work since its last checkpoint, requeues keeping its
    submit time and priority, and pays `scheduler.preempt_overhead` when it starts again."""

    job: int


class Resize(NamedTuple):
    """Run elastic `job` at `chips` chips (within its range, in its pool's chips) from now on: it
    loses no work and pays `scheduler.resize_overhead` of no progress. Check `view.can_resize`
    first: the job's chips are given back and placed again at the new size."""

    job: int
    chips: int


Decision = Start | Preempt | Resize


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
    entry: Sequence[str]  # the workload entry's label (its name, or w<index>)
    pools: Sequence[tuple[int, ...]]  # indices of the pools the job accepts, in scenario order


class Capacity(Protocol):
    """What the engine offers a view: defined here so that policies never import the engine."""

    def now(self) -> float: ...
    def can_place(self, job: int, pool: int) -> bool: ...
    def chips_on(self, job: int, pool: int) -> int: ...
    def free_chips(self, pool: int) -> int: ...
    def running_on(self, pool: int) -> Iterable[int]: ...
    def pool_version(self, pool: int) -> int: ...
    def allocation(self, job: int) -> Any: ...
    def estimated_end(self, job: int) -> float: ...
    def estimate(self, job: int, pool: int, allocation: Any) -> float: ...
    def projection(self, pool: int) -> Any: ...
    def place_on(self, projection: Any, job: int, pool: int) -> Any: ...
    def wake_at(self, t: float) -> None: ...
    def elastic_range(self, job: int, pool: int) -> tuple[int, int, float] | None: ...
    def size(self, job: int) -> int: ...
    def can_place_size(self, job: int, pool: int, chips: int) -> bool: ...
    def can_resize(self, job: int, chips: int) -> bool: ...
    def power_room(self) -> float: ...
    def power_need(self, job: int, pool: int, chips: int | None = None) -> float: ...
    def power_draw(self, job: int) -> float: ...
    def attained(self, job: int) -> float: ...
    def last_start(self, job: int) -> float: ...
    def restarts(self, job: int) -> int: ...
    def preemptions(self, job: int) -> int: ...


class JobQueue:
    """The queued jobs in submission order (job number order), as the engine keeps them.

    Arrivals come in submission order and are appended to an `OrderedDict`; a job stopped and
    requeued (preempted, or killed by a failure) is usually older than most of the queue and
    goes into a short sorted list beside it, and iteration merges the two. Adding and removing
    cost O(1) for arrivals (dict operations in C: no Python call per job, which the engine's
    per-job cost feels), O(log r + r) for the r requeued jobs. An OrderedDict, not a plain
    dict: a dict whose first entries were deleted keeps their slots in front of its head until
    it resizes, so reaching the head cost O(q) and an overloaded queue made every pass O(q).
    A single `SortedList` measured the same on overloaded and failure-heavy runs
    (benchmarks/queue-results.md) but costs three Python calls per job more on the engine's
    own benchmark (benchmarks/engine.py: 0.75x against 0.85x the bare simpy loop).
    """

    __slots__ = ("arrived", "requeued")

    def __init__(self) -> None:
        self.arrived: OrderedDict[int, None] = OrderedDict()
        self.requeued: list[int] = []  # sorted

    def __iter__(self) -> Iterator[int]:
        if not self.requeued:
            return iter(self.arrived)
        return heapq.merge(self.requeued, self.arrived)

    def __len__(self) -> int:
        return len(self.arrived) + len(self.requeued)

    def __bool__(self) -> bool:
        return bool(self.arrived) or bool(self.requeued)

    def __contains__(self, job: int) -> bool:
        if job in self.arrived:
            return True
        i = bisect_left(self.requeued, job)
        return i < len(self.requeued) and self.requeued[i] == job

    def add(self, job: int) -> None:
        """Queue a job: an arrival, or one stopped and requeued (kept in submission order)."""
        arrived = self.arrived
        if not arrived or job > next(reversed(arrived)):
            arrived[job] = None
        else:
            insort(self.requeued, job)

    def remove(self, job: int) -> None:
        if job in self.arrived:
            del self.arrived[job]
        else:
            del self.requeued[bisect_left(self.requeued, job)]

    def head(self) -> int:
        """The first queued job (the queue must not be empty)."""
        if not self.requeued:
            return next(iter(self.arrived))
        if not self.arrived:
            return self.requeued[0]
        return min(self.requeued[0], next(iter(self.arrived)))


class QueueView:
    """What a policy may see: time, the queued and running jobs, and free capacity.

    Built once by the engine over its own state; every accessor is O(1) or an iterator, so a
    pass costs what the policy looks at, not the length of the queue. Treat everything it
    returns as read-only; to look ahead, take a `projection` (a private copy of a pool's free
    state) and try placements on it with `place_on` — the same placement function the
    engine will use.
    """

    __slots__ = ("_capacity", "_pending", "_state", "jobs", "pool_names", "can_place", "chips_on", "free_chips",
                 "running_on", "pool_version", "allocation", "estimated_end", "estimate", "projection", "place_on",
                 "wake_at", "elastic_range", "size", "can_place_size", "can_resize", "power_room", "power_need",
                 "power_draw", "attained", "last_start", "restarts", "preemptions")

    def __init__(self, capacity: Capacity, pending: JobQueue, state: list[int], jobs: JobTable,
                 pool_names: tuple[str, ...]):
        self._capacity = capacity
        self._pending = pending
        self._state = state
        self.jobs = jobs
        self.pool_names = pool_names
        # bound methods of the engine, stored directly: one attribute lookup on the hot path
        self.can_place: Callable[[int, int], bool] = capacity.can_place
        """Could `job` be placed on `pool` right now?"""
        self.chips_on: Callable[[int, int], int] = capacity.chips_on
        """Chips `job` needs on `pool` (its request, mapped to the pool's accelerator)."""
        self.free_chips: Callable[[int], int] = capacity.free_chips
        self.running_on: Callable[[int], Iterable[int]] = capacity.running_on
        """Jobs running on `pool`, in start order."""
        self.pool_version: Callable[[int], int] = capacity.pool_version
        """A counter bumped whenever a job starts or ends on `pool`: equal values, same running set."""
        self.allocation: Callable[[int], Any] = capacity.allocation
        """A running job's placement (instances, chips on each, tier)."""
        self.estimated_end: Callable[[int], float] = capacity.estimated_end
        """When a running job is expected to end, by the scheduler's `estimate` (never before now)."""
        self.estimate: Callable[[int, int, Any], float] = capacity.estimate
        """Expected run time of `job` on `pool` at placement `allocation`."""
        self.projection: Callable[[int], Any] = capacity.projection
        """A private copy of `pool`'s free state, to try placements and releases on."""
        self.place_on: Callable[[Any, int, int], Any] = capacity.place_on
        """Place `job` on a projection of `pool` (mutating the projection); None if no room."""
        self.wake_at: Callable[[float], None] = capacity.wake_at
        """Ask for a scheduling pass at a later time (a timer: LAS threshold crossings, promotions)."""
        self.elastic_range: Callable[[int, int], tuple[int, int, float] | None] = capacity.elastic_range
        """An elastic job's (min, max, scaling) in `pool`'s chips; None for a rigid job."""
        self.size: Callable[[int], int] = capacity.size
        """Chips a running job runs at (its request, or an elastic job's current size)."""
        self.can_place_size: Callable[[int, int, int], bool] = capacity.can_place_size
        """Could `job` start on `pool` at `chips` chips (an elastic size) right now?"""
        self.can_resize: Callable[[int, int], bool] = capacity.can_resize
        """Would running elastic `job` fit at `chips` chips once its own chips are given back?"""
        self.power_room: Callable[[], float] = capacity.power_room
        """Watts that starts may still add under a held power cap (`cluster.power_cap.mode: hold`;
        infinite otherwise). `can_place` already checks it; policies that look ahead (reservations,
        preemption) count it themselves with `power_need` and `power_draw`."""
        self.power_need: Callable[..., float] = capacity.power_need
        """Busy watts `job` would add on `pool` (at `chips`, default its request); 0 without a held cap."""
        self.power_draw: Callable[[int], float] = capacity.power_draw
        """Busy watts running `job` draws, given back when it stops; 0 without a held cap."""
        self.attained: Callable[[int], float] = capacity.attained
        """Chip-seconds a job has held so far (its attained service): every stretch on chips, the
        current one up to now."""
        self.last_start: Callable[[int], float] = capacity.last_start
        """When a job last started (its first start or latest restart; nan before it started): the time
        since is `view.now - view.last_start(job)`."""
        self.restarts: Callable[[int], int] = capacity.restarts
        """Starts of a job after its first (each after a preemption or a failure stopped it)."""
        self.preemptions: Callable[[int], int] = capacity.preemptions
        """Times a policy preempted a job."""

    @property
    def now(self) -> float:
        return self._capacity.now()

    def queued(self) -> Iterator[int]:
        """Queued jobs in submission order. Safe to iterate while yielding decisions."""
        state = self._state
        for job in self._pending:
            if state[job] == QUEUED:
                yield job

    def queue_length(self) -> int:
        """Jobs in the queue at the start of this pass."""
        return len(self._pending)


class Policy:
    """Base class. Subclasses set `name`, optionally `Options`, and implement `schedule`.

    A policy that keeps its own index of the queue (e.g. ordered by requested time) sets
    `tracks_queue = True`; the engine then calls `enqueued(job)` when a job joins the queue
    and `dequeued(job)` when it leaves it (started or rejected), so a pass never has to
    rebuild the order from the whole queue. A policy that keeps account of running jobs sets
    `tracks_running = True`; the engine then calls `ended(job)` when a running job ends. (A job
    stopped while running — preempted, or killed by a failure — is `enqueued` again instead.)
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions
    power_hold: ClassVar[bool] = True
    """Whether the policy respects a held power cap (its starts within `power_room`); the engine
    refuses a start over the cap, so a policy that cannot is refused with `mode: hold` up front."""
    tracks_queue: ClassVar[bool] = False
    tracks_running: ClassVar[bool] = False
    pools: tuple[Any, ...] = ()
    """The sized pools (`sim.topology.PoolShape`: accelerator, chips, prices), in pool-index order;
    set before `bind`."""

    def __init__(self, options: BaseModel | None = None, scheduler: Any = None):
        self.options = options if options is not None else self.Options()
        self.scheduler = scheduler
        self.view: QueueView | None = None

    @property
    def backfill_depth(self) -> int:
        """Queued jobs a pass scans at most: `scheduler.backfill_depth`, or its default without a scheduler."""
        return self.scheduler.backfill_depth if self.scheduler is not None else _DEFAULT_BACKFILL_DEPTH

    def schedule(self, view: QueueView) -> Iterator[Decision]:  # pragma: no cover - interface
        raise NotImplementedError

    def bind(self, view: QueueView) -> None:
        """Called once before the run with the view the passes will get: kept as `self.view`.
        Subclasses that do more call `super().bind(view)`."""
        self.view = view

    def enqueued(self, job: int) -> None:
        """`job` joined the queue (only called when `tracks_queue`)."""

    def dequeued(self, job: int) -> None:
        """`job` left the queue (only called when `tracks_queue`)."""

    def assumptions(self) -> list[str]:
        """ESTIMATE defaults this policy runs with, printed beside the results (one line each)."""
        return []

    def ended(self, job: int) -> None:
        """Running `job` ended: completed, failed or killed at its limit (only when `tracks_running`)."""

    def fairness_group(self, user: str | None, queue: str | None) -> str:
        """Whose share a job's chip-seconds count towards in the summary's Jain fairness: its user."""
        return user or ""

    def fair_shares(self, groups: Iterable[str]) -> dict[str, float] | None:
        """Each fairness group's entitled fraction of the chips; None: equal shares."""
        return None


def start_while_pools_free(view: QueueView, jobs: Iterable[int],
                           pools_for: Callable[[int], Sequence[int]]) -> Iterator[Decision]:
    """Start `jobs` in the order given, each on the first of `pools_for(job)` that fits; a job that
    fits none blocks those pools for the rest of the pass (later jobs may still start on pools
    nobody blocks). Stops once every pool is blocked. The strict-order core of fifo, sjf, hetero."""
    n_pools = len(view.pool_names)
    blocked: set[int] = set()
    for job in jobs:
        pools = pools_for(job)
        for pool in pools:
            if pool not in blocked and view.can_place(job, pool):
                yield Start(job, pool)
                break
        else:
            blocked.update(pools)
            if len(blocked) >= n_pools:
                return


_REGISTRY: dict[str, type[Policy]] = {}
PLUGIN_GROUP = "trnsim.policies"
"""The entry-point group of installed plug-in policies: `name = "package.module:Class"`."""
_builtins_found = False
_plugins: dict[str, Any] | None = None  # name -> importlib.metadata.EntryPoint, once looked up


def register(cls: type[Policy]) -> type[Policy]:
    """Class decorator: make a policy available by its `name`."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} needs a name")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    """Find the built-in policies by registration alone: import every module of `sim.policies`
    (each built-in registers itself with `@register`); no list of them is kept."""
    global _builtins_found
    if _builtins_found:
        return
    import pkgutil

    import sim.policies

    for module in pkgutil.iter_modules(sim.policies.__path__, "sim.policies."):
        importlib.import_module(module.name)
    _builtins_found = True


def _load_plugins() -> dict[str, Any]:
    """The installed plug-ins' entry points by name (loaded when named), looked up once and only
    when a name is not a built-in's: a built-in name wins over a plug-in of the same name."""
    global _plugins
    if _plugins is None:
        from importlib.metadata import entry_points

        _load_builtins()
        _plugins = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP) if ep.name not in _REGISTRY}
    return _plugins


def plugin_problem(name: str) -> str | None:
    """Why the installed plug-in policy `name` cannot be used (its module does not import, or its
    object is not a policy), or None: a plug-in that loads, or not a plug-in at all."""
    _load_builtins()
    if name in _REGISTRY or ":" in name:
        return None
    ep = _load_plugins().get(name)
    if ep is None:
        return None
    where = f"plug-in policy {name!r} ({ep.value}, entry point of {ep.dist.name if ep.dist else '?'})"
    try:
        cls = ep.load()
    except Exception as exc:  # the plug-in's own failure: say how, not just that it failed
        return f"{where} cannot be loaded: {type(exc).__name__}: {exc}"
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        return f"{where} is not a policy (a subclass of sim.policies.base.Policy)"
    _REGISTRY[name] = cls
    return None


def names() -> list[str]:
    """The built-in and installed plug-in policies' names."""
    _load_builtins()
    return sorted({*_REGISTRY, *_load_plugins()})


def is_known(name: str) -> bool:
    try:
        get(name)
    except KeyError:
        return False
    return True


def get(name: str) -> type[Policy]:
    """A policy by name (built-in, or an installed plug-in), or a user's `module:Class`."""
    _load_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" not in name:
        if name in _load_plugins() and plugin_problem(name) is None:
            return _REGISTRY[name]
        raise KeyError(name)
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
