"""Strict JSON for `--json` output: one document, non-finite numbers as null, numpy scalars as numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def strict(value: Any) -> Any:
    """`value` with NaN and ±inf replaced by None, numpy scalars and arrays made plain, paths made text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":  # numpy scalar or array
        return strict(value.tolist())
    return value


def dumps(value: Any) -> str:
    """Strict JSON text (the standard forbids NaN and Infinity; `allow_nan=False` enforces it)."""
    return json.dumps(strict(value), indent=2, allow_nan=False)
