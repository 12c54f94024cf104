"""Assemble the job table from generators, traces and `jobs:` lists, in submission order."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.workload import generators, traces


@dataclass(frozen=True)
class SkippedRow:
    entry: str
    file: str
    line: int
    reason: str


class SkippedRows:
    """Unusable trace rows: all counted (by reason, too), the first `KEEP` kept for the report.

    A trace may skip millions of rows (half of Helios is CPU jobs); `len()` is the full count.
    """

    KEEP = 10_000

    def __init__(self) -> None:
        self.rows: list[SkippedRow] = []
        self.count = 0
        self.by_reason: Counter[str] = Counter()

    def append(self, row: SkippedRow) -> None:
        self.count += 1
        self.by_reason[reason_kind(row.reason)] += 1
        if len(self.rows) < self.KEEP:
            self.rows.append(row)

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self) -> Iterator[SkippedRow]:
        return iter(self.rows)

    def __getitem__(self, index: Any) -> Any:
        return self.rows[index]


def reason_kind(reason: str) -> str:
    """A reason without its particulars (`chips is not a number: 'x'` -> `chips is not a number`)."""
    head, _, rest = reason.partition(": ")
    if head.startswith("in task table") and rest:  # pai2020: keep the task table's reason too
        return f"{head}: {rest.partition(': ')[0]}"
    return head


@dataclass
class Jobs:
    """Columns of the job table; index = job number (submission order, ties in scenario order)."""

    id: list[str] = field(default_factory=list)
    entry: list[str] = field(default_factory=list)
    user: list[str | None] = field(default_factory=list)
    queue: list[str | None] = field(default_factory=list)
    submit: list[float] = field(default_factory=list)
    chips: list[int] = field(default_factory=list)
    duration: list[float] = field(default_factory=list)
    requested: list[float | None] = field(default_factory=list)
    priority: list[int] = field(default_factory=list)
    accelerator: list[tuple[str, ...] | None] = field(default_factory=list)
    checkpoint_interval: list[float | str | None] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    elastic: list[tuple[int, int, float | None] | None] = field(default_factory=list)  # (min, max, scaling)
    recovery: list[str | None] = field(default_factory=list)  # the job's own failures.recovery, or None
    recorded_wait: list[float | None] = field(default_factory=list)
    origin: list[tuple] = field(default_factory=list)  # (entry index, job index in a jobs: list) or ()
    skipped: SkippedRows = field(default_factory=SkippedRows)
    repaired: int = 0  # trace rows an importer changed to make usable (the summary's rows_repaired)

    COLUMNS = ("id", "entry", "user", "queue", "submit", "chips", "duration", "requested", "priority",
               "accelerator", "checkpoint_interval", "status", "elastic", "recorded_wait", "origin", "recovery")

    def __len__(self) -> int:
        return len(self.id)

    def add(self, **values: Any) -> None:
        for name in self.COLUMNS:
            getattr(self, name).append(values[name])

    def extend(self, n: int, **columns: Any) -> None:
        """Append `n` jobs; each value is a list/array of length n, or one value (tuples too) for all."""
        for name in self.COLUMNS:
            value = columns[name]
            if isinstance(value, list | np.ndarray):
                getattr(self, name).extend(value.tolist() if isinstance(value, np.ndarray) else value)
            else:
                getattr(self, name).extend([value] * n)

    def select(self, order: list[int]) -> Jobs:
        out = Jobs(skipped=self.skipped, repaired=self.repaired)
        for name in self.COLUMNS:
            column = getattr(self, name)
            setattr(out, name, [column[i] for i in order])
        return out

    def sorted_by_submit(self) -> Jobs:
        submit = np.asarray(self.submit, dtype=float)
        if len(submit) < 2 or bool(np.all(submit[1:] >= submit[:-1])):
            return self
        order = np.argsort(submit, kind="stable").tolist()  # ties keep scenario order
        return self.select(order)


def entry_label(entry: Any, index: int) -> str:
    """Job id prefix of an entry: its name, or w<index>."""
    return entry.name or f"w{index}"


def build_jobs(loaded: Any, seed: int) -> Jobs:
    """Every job of the scenario, sorted by submit time; unusable trace rows in `skipped`."""
    jobs = Jobs()
    horizon = loaded.model.horizon
    for i, entry in enumerate(loaded.model.workload):
        label = entry_label(entry, i)
        stream_key = f"workload.{entry.name if entry.name else i}"
        if entry.generator is not None:
            _generate(jobs, loaded, entry.generator, label, stream_key, seed, i)
        elif entry.trace is not None:
            _trace(jobs, loaded, entry.trace, label, i)
        else:
            for j, job in enumerate(entry.jobs):
                jobs.add(id=job.id, entry=label, user=job.user, queue=job.queue, submit=job.submit,
                         chips=job.chips, duration=job.duration, requested=job.requested,
                         priority=job.priority, accelerator=_names(job.accelerator),
                         checkpoint_interval=job.checkpoint_interval, status="completed",
                         elastic=_elastic(job), recorded_wait=None, origin=(i, j), recovery=job.recovery)
    if horizon is not None:
        keep = [k for k in range(len(jobs)) if jobs.submit[k] <= horizon]
        if len(keep) != len(jobs):
            jobs = jobs.select(keep)
    return jobs.sorted_by_submit()


def _elastic(fields: Any) -> tuple[int, int, float | None] | None:
    """(min, max, scaling) of an elastic job's fields, or None for a rigid job."""
    e = fields.elastic
    return None if e is None else (e.min, e.max, fields.scaling)


def _names(value: Any) -> tuple[str, ...] | None:
    return tuple(value) if value else None


def _generate(jobs: Jobs, loaded: Any, gen: Any, label: str, key: str, seed: int, index: int) -> None:
    """One entry's generated jobs: a single class (ids `<entry>-job-<n>`, streams
    `workload.<entry>.<field>`) or named classes (ids `<entry>-<class>-<n>`, streams
    `workload.<entry>.<class>.<field>`)."""
    loc = ("workload", index, "generator")
    if gen.classes is None:
        _generate_class(jobs, loaded, gen, label, f"{label}-job-", key, seed, loc)
        return
    for name, cls in gen.resolved_classes():
        _generate_class(jobs, loaded, cls, label, f"{label}-{name}-", f"{key}.{name}", seed,
                        (*loc, "classes", name))


def _generate_class(jobs: Jobs, loaded: Any, gen: Any, label: str, id_prefix: str, key: str, seed: int,
                    loc: tuple) -> None:
    def empirical_reader(field_name: str) -> Callable[[Any], np.ndarray]:
        def read(spec: Any) -> np.ndarray:
            where = (*loc, field_name, "empirical", "path")
            return generators.read_empirical(loaded.resolve_path(spec.path), spec.column,
                                             lambda msg: loaded.problem(where, msg))
        return read

    times = generators.arrival_times(gen, generators.stream(seed, f"{key}.arrivals"))
    n = len(times)
    chips = generators.sample(gen.chips, n, generators.stream(seed, f"{key}.chips"), integer=True,
                              empirical=empirical_reader("chips"))
    durations = generators.sample(gen.duration, n, generators.stream(seed, f"{key}.duration"), integer=False,
                                  empirical=empirical_reader("duration"))
    requested = None
    if gen.requested is not None:
        requested = generators.sample(gen.requested, n, generators.stream(seed, f"{key}.requested"),
                                      integer=False, empirical=empirical_reader("requested"))
    jobs.extend(n, id=[f"{id_prefix}{k}" for k in range(n)], entry=label, user=gen.user, queue=gen.queue,
                submit=times.astype(float), chips=chips.astype(np.int64), duration=durations.astype(float),
                requested=None if requested is None else requested.astype(float), priority=gen.priority,
                accelerator=_names(gen.accelerator), checkpoint_interval=gen.checkpoint_interval,
                status="completed", elastic=_elastic(gen), recorded_wait=None, origin=(), recovery=gen.recovery)


def _trace(jobs: Jobs, loaded: Any, trace: Any, label: str, index: int) -> None:
    """Stream a trace into the job table: window on the trace's clock shifted so its first usable
    row is 0, then shift the kept rows so the first submits at `start`."""
    path = loaded.resolve_path(trace.path)
    options = {"keep_survivors": trace.keep_survivors,
               "tasks": None if trace.tasks is None else loaded.resolve_path(trace.tasks)}
    file = str(path)
    window = trace.window
    windowed = window.start > 0 or window.end is not None
    try:
        origin = 0.0
        if windowed:  # a first pass finds the trace's first submit time
            origin = math.inf
            for r in traces.read(path, trace.format, **options):
                if not isinstance(r, tuple) and r.submit_s < origin:
                    origin = r.submit_s
        lo = origin + window.start
        hi = math.inf if window.end is None else origin + window.end
        first = len(jobs)
        seen: set[str] = set()
        ids, submits, chips, durations, requested = jobs.id, jobs.submit, jobs.chips, jobs.duration, jobs.requested
        users, queues, priorities, accels, ckpts = jobs.user, jobs.queue, jobs.priority, jobs.accelerator, \
            jobs.checkpoint_interval
        statuses, waits, elastic = jobs.status, jobs.recorded_wait, jobs.elastic
        chips_scale, time_scale = trace.chips_scale, trace.time_scale
        repaired = 0
        for r in traces.read(path, trace.format, **options):
            if isinstance(r, tuple):
                jobs.skipped.append(SkippedRow(label, file, r[0], r[1]))
                continue
            if windowed and not lo <= r.submit_s < hi:
                continue
            if r.job_id in seen:
                jobs.skipped.append(SkippedRow(label, file, r.line, f"duplicate job_id {traces.shown(r.job_id)}"))
                continue
            seen.add(r.job_id)
            if r.repair is not None:
                repaired += 1
            ids.append(f"{label}-{r.job_id}")
            submits.append(r.submit_s)
            chips.append(max(1, math.ceil(r.accelerators * chips_scale - 1e-9)))
            durations.append(r.duration_s * time_scale)
            requested.append(None if r.requested_s is None else r.requested_s * time_scale)
            users.append(r.user)
            queues.append(r.queue)
            priorities.append(r.priority)
            accels.append(r.accelerator)
            ckpts.append(r.checkpoint_interval_s)
            statuses.append(r.status)
            waits.append(r.recorded_wait_s)
            elastic.append(None if r.min_chips is None else
                           (max(1, math.ceil(r.min_chips * chips_scale - 1e-9)),
                            max(1, math.ceil(r.max_chips * chips_scale - 1e-9)), None))
    except traces.TraceError as exc:
        raise InputError(loaded.problem(("workload", index, "trace", "path"), str(exc))) from None
    n = len(jobs) - first
    if not n and not seen:  # not a row usable: the wrong format, or not a trace at all
        reasons = Counter(reason_kind(r.reason) for r in jobs.skipped if r.entry == label and r.file == file)
        problem = loaded.problem(("workload", index, "trace", "path"),
                                 f"{file}: no usable row "
                                 f"({traces.no_usable_row(sum(reasons.values()), dict(reasons.most_common()))})")
        raise InputError(problem)
    jobs.entry.extend([label] * n)
    jobs.origin.extend([()] * n)
    jobs.recovery.extend([None] * n)
    jobs.repaired += repaired
    if n:
        shift = trace.start - min(submits[first:])
        submits[first:] = [s + shift for s in submits[first:]]
