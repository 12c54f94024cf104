"""JSON that every parser reads: strict RFC 8259 (no NaN or Infinity; a non-finite number is null).

Used for every JSON file trnsim writes (summary.json, compare.json, plan.json) and for `--json`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def _json_default(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return finite(x.tolist())
    return float(x)  # a number type json does not know (raises TypeError otherwise)


def finite(value: Any) -> Any:
    """`value` with every NaN or infinity (in lists and mappings too) replaced by None, numpy
    scalars made plain and paths made text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def strict_json(value: Any) -> str:
    """Strict JSON (RFC 8259: no NaN or Infinity): non-finite numbers are written as null."""
    return json.dumps(finite(value), indent=2, default=_json_default, allow_nan=False) + "\n"


def null_non_finite(summary: dict[str, Any]) -> list[str]:
    """Set the summary's non-finite values to None; a note per key for the report."""
    notes = []
    for key, value in summary.items():
        if isinstance(value, float | np.floating) and not math.isfinite(value):
            summary[key] = None
            notes.append(f"{key} is null: it came out as {value} (a quantity divided by zero, e.g. no completed "
                         "work or an empty window)")
    return notes
