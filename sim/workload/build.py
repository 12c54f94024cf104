"""Assemble the job table from generators, traces and `jobs:` lists, in submission order."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.workload import generators
from sim.workload.traces import csv as csv_trace


@dataclass(frozen=True)
class SkippedRow:
    entry: str
    file: str
    line: int
    reason: str


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
    recorded_wait: list[float | None] = field(default_factory=list)
    origin: list[tuple] = field(default_factory=list)  # (entry index, job index in a jobs: list) or ()
    skipped: list[SkippedRow] = field(default_factory=list)

    COLUMNS = ("id", "entry", "user", "queue", "submit", "chips", "duration", "requested", "priority",
               "accelerator", "checkpoint_interval", "status", "recorded_wait", "origin")

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
        out = Jobs(skipped=self.skipped)
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
                         recorded_wait=None, origin=(i, j))
    if horizon is not None:
        keep = [k for k in range(len(jobs)) if jobs.submit[k] <= horizon]
        if len(keep) != len(jobs):
            jobs = jobs.select(keep)
    return jobs.sorted_by_submit()


def _names(value: Any) -> tuple[str, ...] | None:
    return tuple(value) if value else None


def _generate(jobs: Jobs, loaded: Any, gen: Any, label: str, key: str, seed: int, index: int) -> None:
    def empirical_reader(field_name: str):
        def read(spec: Any) -> np.ndarray:
            loc = ("workload", index, "generator", field_name, "empirical", "path")
            return generators.read_empirical(loaded.resolve_path(spec.path), spec.column,
                                             lambda msg: loaded.problem(loc, msg))
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
    jobs.extend(n, id=[f"{label}-job-{k}" for k in range(n)], entry=label, user=gen.user, queue=gen.queue,
                submit=times.astype(float), chips=chips.astype(np.int64), duration=durations.astype(float),
                requested=None if requested is None else requested.astype(float), priority=gen.priority,
                accelerator=_names(gen.accelerator), checkpoint_interval=gen.checkpoint_interval,
                status="completed", recorded_wait=None, origin=())


def _trace(jobs: Jobs, loaded: Any, trace: Any, label: str, index: int) -> None:
    path = loaded.resolve_path(trace.path)
    try:
        rows = list(csv_trace.read(path))
    except csv_trace.TraceError as exc:
        raise InputError(loaded.problem(("workload", index, "trace", "path"), str(exc))) from None
    good = [r for r in rows if not isinstance(r, tuple)]
    for r in rows:
        if isinstance(r, tuple):
            jobs.skipped.append(SkippedRow(label, str(path), r[0], r[1]))
    if not good:
        return
    origin = min(r.submit_s for r in good)
    end = math.inf if trace.window.end is None else trace.window.end
    kept = [r for r in good if trace.window.start <= r.submit_s - origin < end]
    if not kept:
        return
    first = min(r.submit_s for r in kept)
    seen: set[str] = set()
    for r in kept:
        if r.job_id in seen:
            jobs.skipped.append(SkippedRow(label, str(path), r.line, f"duplicate job_id {r.job_id!r}"))
            continue
        seen.add(r.job_id)
        jobs.add(id=f"{label}-{r.job_id}", entry=label, user=r.user, queue=r.queue,
                 submit=trace.start + (r.submit_s - first),
                 chips=max(1, math.ceil(r.accelerators * trace.chips_scale - 1e-9)),
                 duration=r.duration_s * trace.time_scale,
                 requested=None if r.requested_s is None else r.requested_s * trace.time_scale,
                 priority=r.priority, accelerator=r.accelerator, checkpoint_interval=r.checkpoint_interval_s,
                 status=r.status, recorded_wait=r.recorded_wait_s, origin=())
