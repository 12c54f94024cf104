"""Resource bombs refused up front: what a scenario would cost, estimated before any work.

The estimates use only the scenario (pool sizes, generator counts and rates, the failure rate,
the horizon) and the flags, so a pool of 10¹² instances or a generator of 10⁸ jobs is refused
in milliseconds, with the estimate in the message, instead of exhausting memory or running
for days. `--allow-large` runs it anyway. The constants are measured (docs/limits.md says how);
the memory limit is this machine's memory, or `TRNSIM_MEMORY` (e.g. `8GB`) where it is shared.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sim.errors import InputError, Problem

# Peak memory per unit, measured with ru_maxrss on runs of 10⁵..4x10⁵ jobs and 10³..2x10⁵ instances
# (docs/limits.md); rounded up.
BYTES_PER_JOB = 2_000
BYTES_PER_INSTANCE = 1_500
BYTES_PER_RUN = 20_000  # one queued run of a sweep, plan or compare: its resolved scenario and row
MAX_EVENTS = 10**8  # at ~10⁵ events/s, about 20 minutes of simulation
MAX_SERIES_ROWS = 10**7  # timeseries.csv rows written by --timeseries-step (~0.5 GB of text)
MAX_RUNS = 10**5  # runs of one command: even 0.1 s runs make three hours
ALLOW = "refused before any work (use --allow-large to run it anyway)"

_SIZES = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def machine_memory() -> int:
    """Bytes of memory a run may use: `TRNSIM_MEMORY` (e.g. `8GB`), else the machine's RAM."""
    text = os.environ.get("TRNSIM_MEMORY", "").strip()
    if text:
        number = text.rstrip("BKMGTbkmgt")
        unit = text[len(number):].upper()
        try:
            return int(float(number) * _SIZES[unit])
        except (ValueError, KeyError):
            raise InputError(Problem(f"TRNSIM_MEMORY: expected a size such as 8GB, got {text!r}")) from None
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _size(n: float) -> str:
    for unit in ("TB", "GB", "MB", "kB"):
        scale = _SIZES[unit.upper()]
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def _count(n: float) -> str:
    return f"{n:,.0f}" if n < 1e7 else f"{n:.1e}"


@dataclass
class Generated:
    loc: tuple[str | int, ...]
    jobs: float  # expected jobs
    last_arrival_s: float


def _classes(loaded: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    for i, entry in enumerate(loaded.model.workload):
        gen = entry.generator
        if gen is None:
            continue
        if gen.classes is None:
            yield ("workload", i, "generator"), gen
        else:
            for name, cls in gen.resolved_classes():
                yield ("workload", i, "generator", "classes", name), cls


def generated(loaded: Any) -> list[Generated]:
    """Expected jobs of every generator class, from its count, batch, or rate x (until - submit)."""
    out = []
    for loc, cls in _classes(loaded):
        arrivals = cls.arrivals
        until = math.inf if cls.until is None else cls.until
        if arrivals is not None and arrivals.kind == "batch":
            out.append(Generated((*loc, "arrivals", "batch", "count"), arrivals.batch.count, arrivals.batch.at))
            continue
        if arrivals is None:
            out.append(Generated((*loc, "count"), cls.count or 0, cls.submit))
            continue
        rate = (arrivals.poisson or arrivals.diurnal).rate
        by_time = max(0.0, until - cls.submit) * rate
        n = min(cls.count, by_time) if cls.count is not None else by_time
        where = "count" if cls.count is not None and cls.count <= by_time else "until"
        out.append(Generated((*loc, where), n, cls.submit + n / rate))
    return out


def check(loaded: Any, *, allow_large: bool, step: float | None = None, runs: int = 1,
          runs_flag: str = "--seeds") -> None:
    """Refuse (exit 2, one located line each) what would exhaust memory, events or rows."""
    if allow_large:
        return
    from sim import topology

    memory = machine_memory()
    problems: list[Problem] = []
    shapes = topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem)
    for i, shape in enumerate(shapes):
        need: float = shape.instances * BYTES_PER_INSTANCE
        if need > memory:
            pool = loaded.model.cluster.pools[i]
            problems.append(loaded.problem(("cluster", "pools", i, pool.sizing), (
                f"{_count(shape.instances)} instances would need about {_size(need)} of memory "
                f"({_size(BYTES_PER_INSTANCE)} each; {_size(memory)} here): {ALLOW}")))
    gens = generated(loaded)
    for g in gens:
        need = g.jobs * BYTES_PER_JOB
        events = 3 * g.jobs
        if need > memory or events > MAX_EVENTS:
            problems.append(loaded.problem(g.loc, (
                f"about {_count(g.jobs)} jobs would need about {_size(need)} of memory ({_size(BYTES_PER_JOB)} "
                f"each; {_size(memory)} here) and {_count(events)} events: {ALLOW}")))
    horizon = loaded.model.horizon
    window = horizon if horizon is not None else max((g.last_arrival_s for g in gens), default=0.0)
    fail = loaded.model.failures
    if fail is not None and window > 0:
        from sim.failures import instance_mtbf

        events = sum(s.instances * window / instance_mtbf(fail, s.chips_per_instance) for s in shapes)
        if events > MAX_EVENTS:
            loc = ("failures", "mtbf_instance") if fail.mtbf_instance is not None else ("failures",)
            problems.append(loaded.problem(loc, (
                f"about {_count(events)} failures in {window / 86400:,.0f} days (more than {MAX_EVENTS:.0e} "
                f"events): {ALLOW}")))
    if step is not None and window / step > MAX_SERIES_ROWS:
        problems.append(Problem(f"--timeseries-step {step:g}s: about {_count(window / step)} rows over "
                                f"{window / 86400:,.0f} days (more than {MAX_SERIES_ROWS:.0e}): {ALLOW}"))
    problems.extend(_runs(runs, runs_flag, memory))
    if problems:
        raise InputError(problems)


def _runs(runs: int, flag: str, memory: int) -> list[Problem]:
    if runs > 1 and (runs > MAX_RUNS or runs * BYTES_PER_RUN > memory):
        return [Problem(f"{flag}: {_count(runs)} runs (more than {MAX_RUNS:.0e}, or {_size(runs * BYTES_PER_RUN)} "
                        f"of queued runs): {ALLOW}")]
    return []


def check_runs(runs: int, flag: str, *, allow_large: bool) -> None:
    """Refuse a command of more runs than MAX_RUNS (or than memory holds queued)."""
    problems = [] if allow_large else _runs(runs, flag, machine_memory())
    if problems:
        raise InputError(problems)
