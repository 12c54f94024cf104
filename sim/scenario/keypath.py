"""Key paths (`--set`, `--grid`, `--vary`, `ci:`): `workload.0.generator.count=8`.

Dot-separated; integers index lists. Values are YAML scalars (`8`, `fifo`, `2h`, `$2.5M`, `[1, 4]`).
"""

from __future__ import annotations

import difflib
import os
from typing import Any

import yaml

from sim.errors import InputError, Problem
from sim.scenario.cluster import SIZING_KEYS


def parse_assignment(text: str) -> tuple[str, Any]:
    """`PATH=VALUE` -> (path, parsed YAML scalar)."""
    path, sep, value = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise InputError(Problem(f"expected PATH=VALUE, got {text!r}", set_path=path or text))
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as exc:
        raise InputError(Problem(f"cannot read value {value!r}: {exc}", set_path=path)) from None
    return path, parsed


def split_path(path: str) -> list[str | int]:
    return [int(p) if p.lstrip("-").isdigit() else p for p in path.split(".")]


def did_you_mean(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    """`unknown key 'x'`, a 'did you mean' when one is close, and the keys that are valid there."""
    valid = f"; valid keys: {', '.join(candidates)}" if candidates else ""
    return f"unknown key {word!r}{did_you_mean(word, candidates)}{valid}"


def apply(data: dict[str, Any], path: str, value: Any, *, cwd_paths: bool = True) -> None:
    """Set `path` to `value` inside the raw scenario mapping, creating mappings on the way.

    Setting one sizing key of a pool removes the pool's other sizing key. A value set on a
    `path` key is resolved against the current directory (scenario files resolve theirs).
    """
    parts = split_path(path)
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        node = _step(node, part, parts[: i + 1], path, create=True)
    last = parts[-1]
    if isinstance(node, list):
        if not isinstance(last, int):
            where = ".".join(map(str, parts[:-1]))
            raise InputError(Problem(f"{where} is a list: use an index, not {last!r}", set_path=path))
        if not -len(node) <= last < len(node):
            raise InputError(Problem(f"index {last} is out of range ({len(node)} entries)", set_path=path))
        node[last] = value
        return
    if not isinstance(node, dict):
        raise InputError(Problem(f"{'.'.join(map(str, parts[:-1]))} is a value, not a mapping", set_path=path))
    if isinstance(last, int):
        raise InputError(Problem(f"{'.'.join(map(str, parts[:-1]))} is a mapping, not a list", set_path=path))
    if last in SIZING_KEYS and len(parts) >= 4 and parts[-3] == "pools":
        for key in SIZING_KEYS:
            node.pop(key, None)
    if last in ("path", "tasks") and cwd_paths and isinstance(value, str) and not os.path.isabs(value):
        value = os.path.abspath(value)
    node[last] = value


def _step(node: Any, part: str | int, done: list[str | int], path: str, *, create: bool) -> Any:
    where = ".".join(map(str, done[:-1])) or "the scenario"
    if isinstance(node, list):
        if not isinstance(part, int):
            raise InputError(Problem(f"{where} is a list: use an index, not {part!r}", set_path=path))
        if not -len(node) <= part < len(node):
            raise InputError(Problem(f"index {part} is out of range ({where} has {len(node)} entries)",
                                     set_path=path))
        return node[part]
    if isinstance(node, dict):
        if isinstance(part, int):
            raise InputError(Problem(f"{where} is a mapping, not a list", set_path=path))
        if part not in node or node[part] is None:
            if not create:
                raise InputError(Problem(f"no key {part!r}{did_you_mean(part, list(node))}", set_path=path))
            node[part] = {}
        return node[part]
    raise InputError(Problem(f"{where} is a value, not a mapping", set_path=path))
