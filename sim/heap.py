"""Giving freed memory back to the operating system between the phases of a large run."""

from __future__ import annotations

import ctypes
import ctypes.util

import pyarrow as pa


def _malloc_trim() -> object:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None  # not glibc (macOS, musl, Windows): nothing to trim


_TRIM = _malloc_trim()


def trim() -> None:
    """Return the C heap's free pages to the system (glibc's `malloc_trim(0)`; a no-op elsewhere).

    Freed numpy columns and lists of a million jobs leave holes in the heap that later, differently
    sized allocations do not fill, so the resident set only grows from phase to phase; trimming at a
    phase's end keeps it at what is live (benchmarks/memory.py measures the phases)."""
    if _TRIM is not None:
        _TRIM(0)  # type: ignore[operator]


def arrow_on_the_c_heap() -> None:
    """Arrow's buffers from the C heap (`pa.system_memory_pool()`, process-wide) instead of its default
    mimalloc pool, which keeps the pages of freed buffers resident: `trim` then returns them too."""
    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())
