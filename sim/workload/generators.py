"""Synthetic jobs: arrival processes and per-job distributions, each drawing from its own stream.

Streams are named by scenario path (`workload.<entry>.arrivals`), so adding an entry, or
reordering named ones, leaves every other entry's draws unchanged (STYLE.md, point 7).
"""

from __future__ import annotations

import csv
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError


def stream(seed: int, path: str) -> np.random.Generator:
    """The random stream of the component at scenario path `path`."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(path.encode()),)))


def arrival_times(gen: Any, rng: np.random.Generator) -> np.ndarray:
    """Submit times of a generator: Poisson arrivals from `submit`, or all at `submit`."""
    limit = math.inf if gen.until is None else gen.until
    if gen.arrivals is None:
        return np.full(gen.count, gen.submit) if gen.submit <= limit else np.zeros(0)
    rate = gen.arrivals.poisson.rate
    if gen.count is not None:
        times = gen.submit + np.cumsum(rng.exponential(1 / rate, size=gen.count))
        return times[times <= limit]
    chunks = []
    t = gen.submit
    chunk = max(16, int((limit - gen.submit) * rate * 1.1) + 16)
    while t <= limit:
        times = t + np.cumsum(rng.exponential(1 / rate, size=chunk))
        chunks.append(times)
        t = times[-1]
    times = np.concatenate(chunks)
    return times[times <= limit]


def sample(dist: Any, n: int, rng: np.random.Generator, *, integer: bool, empirical: Any) -> np.ndarray:
    """`n` draws of a distribution model (see sim.scenario.workload)."""
    kind = dist.kind
    if kind == "constant":
        out = np.full(n, dist.constant, dtype=float)
    elif kind == "exponential":
        out = rng.exponential(dist.exponential.mean, size=n)
    elif kind == "lognormal":
        p = dist.lognormal
        out = rng.lognormal(math.log(p.median), p.sigma, size=n) if p.median > 0 else np.zeros(n)
    elif kind == "uniform":
        p = dist.uniform
        out = rng.integers(p.low, p.high + 1, size=n) if integer else rng.uniform(p.low, p.high, size=n)
    elif kind == "choice":
        p = dist.choice
        weights = None
        if p.weights is not None:
            weights = np.asarray(p.weights, dtype=float)
            weights = weights / weights.sum()
        out = rng.choice(np.asarray(p.values, dtype=float), size=n, p=weights)
    else:
        samples = empirical(dist.empirical)
        out = rng.choice(samples, size=n)
    if integer:
        out = np.maximum(1, np.ceil(out)).astype(np.int64)
    return out


def read_empirical(path: Path, column: str, where: Any) -> np.ndarray:
    """Samples from one CSV column; `where(message)` builds a located error."""
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            if column not in (reader.fieldnames or []):
                raise InputError(where(f"{path}: no column {column!r} (has {', '.join(reader.fieldnames or [])})"))
            values = []
            for line, row in enumerate(reader, start=2):
                try:
                    values.append(float(row[column]))
                except (TypeError, ValueError):
                    raise InputError(where(f"{path}:{line}: {column} is not a number: {row[column]!r}")) from None
    except OSError as exc:
        raise InputError(where(f"cannot read {path}: {exc.strerror}")) from None
    if not values:
        raise InputError(where(f"{path}: column {column!r} has no samples"))
    return np.asarray(values)
