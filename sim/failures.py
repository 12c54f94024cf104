"""Instance failures, repair, and checkpoint/restart accounting.

Failures are off unless the scenario has a `failures:` block. Then each pool has one
superposed Poisson failure process at rate (up instances) / `mtbf_instance` — never a process
per instance: a 5 GW campus has ~345k of them. The engine redraws the next failure whenever
the up count changes (the process is memoryless) and discards stale draws by a generation
counter. The victim is a uniformly drawn up instance, busy or idle; it is down for `repair`.
`PoolFailures` keeps the up instances in a list with positions (O(1) draw, removal and
return) and which jobs hold chips on which instance, so a failure finds its victims in O(1).

Default `mtbf_instance` (ESTIMATE): 1 / (chips per instance x `FAILURES_PER_CHIP_DAY`),
from Llama 3 405B's 419 unexpected interruptions in 54 days on 16,384 H100 (FACTS.md 5.1):
about 132 days for a 16-chip Trainium instance, 264 days for an 8-GPU instance. It is
H100-derived: the only public Trainium figure, HLAT's 98.81 % job uptime with automatic
recovery on 4,096 Trainium1 chips (FACTS.md 5.2), is an uptime, not a failure rate; it says
restarts were cheap there, which the 300 s restart overhead reflects.

A job's checkpoint interval is fixed or `young`/`daly` with M = `mtbf_instance` / the job's
instances on the pool it runs on (M = infinity without a `failures:` block: no checkpoints). Checkpoint writes
lengthen the run by the factor (1 + C/T); the work a stop loses is computed from the time
since the last checkpoint — no event per checkpoint.
"""

from __future__ import annotations

import math
import zlib
from array import array
from typing import TYPE_CHECKING

import numpy as np

from sim.names import DOMAIN_TIERS
from sim.placement import Allocation, PoolState

if TYPE_CHECKING:  # the scenario's failures section reads this module's defaults
    from sim.scenario.failures import Domains, Failures, RestartOverhead
    from sim.topology import PoolShape

CHECKPOINT_WRITE_S = 60.0  # C (ESTIMATE; mlsysim's default)
RESTART_OVERHEAD_S = 300.0  # R (ESTIMATE; mlsysim's default)
REPAIR_S = 4 * 3600.0  # ESTIMATE
FAILURES_PER_CHIP_DAY = 419 / (16384 * 54)  # Llama 3 405B, all unexpected interruptions (4.7e-4)


def default_mtbf_instance(chips_per_instance: int) -> float:
    """Seconds between failures of one instance: 1 / (chips x FAILURES_PER_CHIP_DAY) (ESTIMATE)."""
    return 86400.0 / (chips_per_instance * FAILURES_PER_CHIP_DAY)


def restart_overhead(spec: float | RestartOverhead, instances: int) -> float:
    """Seconds a restart of a job on `instances` instances costs: `failures.restart_overhead`, a
    time or {fixed, per_1k_instances} (fixed + per_1k_instances x instances / 1000)."""
    if isinstance(spec, int | float):
        return float(spec)
    return float(spec.fixed) + float(spec.per_1k_instances) * instances / 1000


def instance_mtbf(spec: Failures, chips_per_instance: int) -> float:
    """A pool's instance MTBF: `spec.mtbf_instance` (the `failures:` block), else the default."""
    if spec.mtbf_instance is not None:
        return spec.mtbf_instance
    return default_mtbf_instance(chips_per_instance)


def young_interval(write_s: float, mtbf_s: float) -> float:
    """Young (1974): T = sqrt(2 C M)."""
    return math.sqrt(2 * write_s * mtbf_s)


def daly_interval(write_s: float, mtbf_s: float) -> float:
    """Daly (2006): T = sqrt(2CM) [1 + (1/3) sqrt(C/2M) + (C/2M)/9] - C, and M when C >= 2M."""
    x = write_s / (2 * mtbf_s)
    if x >= 1:
        return mtbf_s
    return math.sqrt(2 * write_s * mtbf_s) * (1 + math.sqrt(x) / 3 + x / 9) - write_s


def checkpoint_interval(spec: float | str | None, mtbf_s: float = math.inf,
                        write_s: float = CHECKPOINT_WRITE_S) -> float:
    """The interval in seconds a job checkpoints at (infinity: never). `mtbf_s` is the job's
    own mean time between failures (the instance's divided by the job's instances)."""
    if spec is None or (isinstance(spec, str) and math.isinf(mtbf_s)):
        return math.inf
    if spec == "young":
        return young_interval(write_s, mtbf_s)
    if spec == "daly":
        return daly_interval(write_s, mtbf_s)
    return float(spec)


def checkpoint_factor(interval_s: float, write_s: float = CHECKPOINT_WRITE_S) -> float:
    """How much longer checkpoint writes make a run: 1 + C/T."""
    return 1.0 if math.isinf(interval_s) else 1.0 + write_s / interval_s


def saved_work(work_elapsed_s: float, interval_s: float, write_s: float = CHECKPOINT_WRITE_S) -> float:
    """Of `work_elapsed_s` seconds of a run that checkpoints every `interval_s` (each write taking
    `write_s`), the seconds whose progress survives a stop: whole checkpoint cycles. Without
    checkpoints nothing survives (docs/architecture.md: a preempted job loses all progress)."""
    if math.isinf(interval_s) or work_elapsed_s <= 0:
        return 0.0
    cycle = interval_s + write_s
    return math.floor(work_elapsed_s / cycle) * cycle


def expected_failures(instances: int, mtbf_s: float, span_s: float, repair_s: float) -> float:
    """Mean failures of a pool in `span_s` when every instance alternates up (exponential, mean
    `mtbf_s`) and down (`repair_s`): instances x span / (mtbf + repair), the renewal rate."""
    return instances * span_s / (mtbf_s + repair_s)


class Superposed:
    """A superposed Poisson process over a set of up members (instances, or whole domains), each
    failing at rate 1 / `mtbf_s`: the up members in a list with positions (O(1) draw, removal and
    return), its random numbers drawn in batches."""

    __slots__ = ("mtbf_s", "repair_s", "rng", "up", "pos", "generation", "_gaps", "_picks")

    BATCH = 4096  # random numbers drawn at a time (one numpy call, not one per failure)

    def __init__(self, members: int, mtbf_s: float, repair_s: float, rng: np.random.Generator):
        self.mtbf_s = mtbf_s
        self.repair_s = repair_s
        self.rng = rng
        self.up: list[int] = list(range(members))  # up members, in no particular order
        self.pos: list[int] = list(range(members))  # where each up member sits in `up` (-1: down)
        self.generation = 0
        self._gaps: list[float] = []
        self._picks: list[float] = []

    def next_gap(self) -> float:
        """Time to the next failure at the current up count (infinity if none is up)."""
        if not self.up:
            return math.inf
        if not self._gaps:
            self._gaps = self.rng.exponential(1.0, self.BATCH).tolist()
        return self._gaps.pop() * self.mtbf_s / len(self.up)

    def fail(self) -> int:
        """Draw the victim uniformly among up members and mark it down; O(1)."""
        if not self._picks:
            self._picks = self.rng.random(self.BATCH).tolist()
        up = self.up
        victim = up[min(int(self._picks.pop() * len(up)), len(up) - 1)]
        self.take(victim)
        return victim

    def take(self, member: int) -> None:
        """Mark up member `member` down (something else took it down); O(1)."""
        up = self.up
        k = self.pos[member]
        last = up.pop()
        if last != member:
            up[k] = last
            self.pos[last] = k
        self.pos[member] = -1

    def repaired(self, member: int) -> None:
        self.pos[member] = len(self.up)
        self.up.append(member)


class PoolFailures(Superposed):
    """One pool's failure process state: its up instances, and the jobs on each instance."""

    __slots__ = ("index", "instances", "chips_per_instance", "whole", "_whole_array", "shared", "parked")

    def __init__(self, index: int, instances: int, chips_per_instance: int, mtbf_s: float, repair_s: float,
                 rng: np.random.Generator):
        super().__init__(instances, mtbf_s, repair_s, rng)
        self.index = index
        self.instances = instances
        self.chips_per_instance = chips_per_instance
        self.whole = array("q", [-1]) * instances  # the job holding every chip of an instance, or -1
        self._whole_array = np.frombuffer(self.whole, dtype=np.int64)  # the same memory, for bulk updates
        self.shared: dict[int, dict[int, None]] = {}  # instance -> jobs sharing it (by chips)
        self.parked: tuple[int, np.ndarray] | None = None  # a large release not yet written in `whole`

    def placed(self, job: int, alloc: Allocation) -> None:
        self._unpark()
        self._hold(job, alloc, job)

    def released(self, job: int, alloc: Allocation) -> None:
        """Job `job` gives back `alloc`. A large whole-instance allocation is parked rather than
        written: `whole` still names the job on its instances, which `jobs_on` reads as free, until
        the next placement writes it or, when the same job takes most of the same instances
        again, `reclaimed` writes only what changed."""
        self._unpark()
        if alloc.index is not None and alloc.chips_each == self.chips_per_instance:
            self.parked = (job, alloc.index)
        else:
            self._hold(job, alloc, -1)

    def _unpark(self) -> None:
        if self.parked is not None:
            self._whole_array[self.parked[1]] = -1
            self.parked = None

    def reclaimed(self, job: int, claimed: tuple) -> None:
        """The parked job `job` is placed again on its parked instances but for those in `claimed`
        (sim.placement.PoolState.claimed of the same release: its owner, instances added,
        instances left free, instances that went down meanwhile)."""
        assert self.parked is not None and self.parked[0] == job == claimed[0]
        self.parked = None
        _, taken, left, dropped = claimed
        whole = self.whole
        for i in dropped:
            whole[i] = -1
        for values, holder in ((left, -1), (taken, job)):
            if len(values) > 32:
                self._whole_array[values] = holder
            else:
                for i in values:
                    whole[int(i)] = holder

    def _hold(self, job: int, alloc: Allocation, holder: int) -> None:
        if alloc.chips_each == self.chips_per_instance:
            if alloc.index is not None:  # large allocations: one numpy assignment
                self._whole_array[alloc.index] = holder
            else:
                whole = self.whole
                for i in alloc.instances:
                    whole[i] = holder
            return
        instances = alloc.instances
        if holder >= 0:
            self.shared.setdefault(instances[0], {})[job] = None
        else:
            on = self.shared[instances[0]]
            del on[job]
            if not on:
                del self.shared[instances[0]]

    def jobs_on(self, instance: int) -> list[int]:
        j = self.whole[instance]
        if j >= 0:
            return [] if self.parked is not None and j == self.parked[0] else [j]
        return list(self.shared.get(instance, ()))


def pool_failures(spec: Failures, shapes: list[PoolShape], seed: int) -> list[PoolFailures]:
    """Per pool, its failure process; `spec` is the scenario's `failures:` block."""
    out = []
    for s in shapes:
        mtbf = instance_mtbf(spec, s.chips_per_instance)
        rng = np.random.default_rng(np.random.SeedSequence(
            seed, spawn_key=(zlib.crc32(f"failures.{s.name}".encode()),)))
        out.append(PoolFailures(s.index, s.instances, s.chips_per_instance, mtbf, spec.repair, rng))
    return out


class DomainFailures(Superposed):
    """One pool's failures of whole domains of one tier (`failures.domains`): members are the
    tier's domains, each a contiguous range of instances that all go down at once."""

    __slots__ = ("pool", "tier", "ranges")

    def __init__(self, pool: int, tier: str, ranges: list[tuple[int, int]], mtbf_s: float, repair_s: float,
                 rng: np.random.Generator):
        super().__init__(len(ranges), mtbf_s, repair_s, rng)
        self.pool = pool
        self.tier = tier
        self.ranges = ranges  # domain -> (first instance, last instance + 1)


def domain_ranges(parent: list[int]) -> list[tuple[int, int]]:
    """The instance ranges of a tier's domains, from each instance's domain (-1: none)."""
    ranges: dict[int, list[int]] = {}
    for i, d in enumerate(parent):
        if d >= 0:
            r = ranges.setdefault(d, [i, i + 1])
            r[1] = i + 1
    return [(ranges[d][0], ranges[d][1]) for d in sorted(ranges)]


def domain_failures(spec: Domains | None, pools: list[PoolState], seed: int) -> list[DomainFailures]:
    """Per pool and tier given in `failures.domains`, its domain failure process (none without one)."""
    out: list[DomainFailures] = []
    if spec is None:
        return out
    for tier in DOMAIN_TIERS:
        tier_spec = getattr(spec, tier)
        if tier_spec is None:
            continue
        for p, pool in enumerate(pools):
            ranges = domain_ranges(getattr(pool, f"{tier}_of"))
            if not ranges:
                continue
            rng = np.random.default_rng(np.random.SeedSequence(
                seed, spawn_key=(zlib.crc32(f"domains.{tier}.{pool.name}".encode()),)))
            out.append(DomainFailures(p, tier, ranges, tier_spec.mtbf, tier_spec.repair, rng))
    return out
