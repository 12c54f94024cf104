"""Load a scenario file: YAML with line numbers, overrides, validation, cross-checks.

Every problem becomes one line `FILE:LINE:COL: field.path: message` (or
`--set PATH: message` for an override), raised together as an `InputError` (exit 2).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import os
import re
import stat
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sim import hardware
from sim.errors import InputError, Problem
from sim.placement import MAX_CHIPS_PER_INSTANCE
from sim.scenario import keypath
from sim.scenario.model import Scenario
from sim.scenario.workload import JobFields

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario: the model, its catalogue (the built-in one with the scenario's
    patches applied), and what is needed to point at its lines later."""

    model: Scenario
    catalogue: hardware.Catalogue
    raw: dict[str, Any]  # resolved mapping (after ci/--set), paths as the user wrote them
    file: str
    base_dir: Path
    marks: dict[Loc, tuple[int, int]]
    set_paths: dict[Loc, str] = field(default_factory=dict)

    def problem(self, loc: Loc, message: str) -> Problem:
        """A problem located at `loc` (a field path), on its line in the file or its `--set`."""
        return locate(loc, message, self.file, self.marks, self.set_paths)

    def resolve_path(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p

    def resolved_yaml(self, seed: int) -> str:
        """The scenario as run: overrides applied, the effective seed, paths absolute."""
        data = copy.deepcopy(self.raw)
        data["seed"] = seed
        data.pop("ci", None)
        for entry in data.get("workload") or []:
            _absolute_paths(entry, self.base_dir)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _absolute_paths(node: Any, base: Path) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("path", "tasks") and isinstance(value, str) and not os.path.isabs(value):
                node[key] = str((base / value).resolve())
            else:
                _absolute_paths(value, base)
    elif isinstance(node, list):
        for item in node:
            _absolute_paths(item, base)


def locate(loc: Loc, message: str, file: str, marks: dict[Loc, tuple[int, int]],
           set_paths: dict[Loc, str]) -> Problem:
    dotted = ".".join(str(p) for p in loc)
    for set_loc, text in set_paths.items():
        if loc[: len(set_loc)] == set_loc or set_loc[: len(loc)] == loc and loc:
            return Problem(message, set_path=text)
    for n in range(len(loc), -1, -1):
        if loc[:n] in marks:
            line, col = marks[loc[:n]]
            return Problem(message, file=file, line=line, col=col, field=dotted or None)
    return Problem(message, file=file, field=dotted or None)


# --- YAML with positions -------------------------------------------------------------

MAX_ALIAS_VALUES = 100_000
"""Values that aliases may add by repeating what their anchors name: a scenario that needs more
is a "billion laughs" file (nine levels of nine aliases make 9⁹ values out of a kilobyte)."""
MAX_DEPTH = 100  # nesting of mappings and lists; a scenario needs about eight
MERGE_TAG = "tag:yaml.org,2002:merge"


MAX_SCENARIO_BYTES = 16 << 20  # PyYAML reads ~3 MB/s: 16 MiB is ~5 s (job lists belong in a trace file)


def read_text(path: str | os.PathLike[str], file: str) -> str:
    """The scenario's text: UTF-8 (a BOM is allowed), else one located problem."""
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InputError(Problem("cannot read scenario: not a regular file", file=file))
            data = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise InputError(Problem(f"cannot read scenario: {exc.strerror or exc}", file=file)) from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise InputError(Problem(f"a scenario file is at most {MAX_SCENARIO_BYTES >> 20} MiB (put long job lists "
                                 "in a trace file: workload: - trace: {path, format: csv})", file=file, line=1, col=1))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - data.rfind(b"\n", 0, exc.start)
        raise InputError(Problem(f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read (a scenario is a "
                                 "YAML file saved as UTF-8)", file=file, line=line, col=col)) from None


def _position(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def _too_deep(text: str, file: str) -> InputError:
    """Where the nesting passes MAX_DEPTH, found with the (iterative) event parser."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return InputError(Problem(f"nested more than {MAX_DEPTH} levels deep", file=file,
                                              line=mark.line + 1 if mark else None,
                                              col=mark.column + 1 if mark else None))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return InputError(Problem(f"nested more than {MAX_DEPTH} levels deep", file=file, line=1, col=1))


def _compose(text: str, file: str) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:  # a NUL or control character: no mark, a position
        line, col = _position(text, exc.position)
        raise InputError(Problem(f"invalid YAML: character {exc.character!r} is not allowed in a YAML file",
                                 file=file, line=line, col=col)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        raise InputError(Problem(f"invalid YAML: {reason}", file=file, line=mark.line + 1 if mark else None,
                                 col=mark.column + 1 if mark else None)) from None
    except RecursionError:
        raise _too_deep(text, file) from None
    marks: dict[Loc, tuple[int, int]] = {}
    constructor = yaml.SafeLoader("")
    built: set[int] = set()  # nodes built once: building one again is an alias's repetition
    open_nodes: set[int] = set()  # the nodes being built (an alias to one of them is recursive)
    repeated = 0

    def problem(message: str, node: yaml.Node, loc: Loc) -> InputError:
        line, col = marks.get(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
        return InputError(Problem(message, file=file, line=line, col=col, field=".".join(map(str, loc)) or None))

    def build(node: yaml.Node, loc: Loc, depth: int = 0, copy: bool = False) -> Any:
        nonlocal repeated
        marks.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
        if id(node) in open_nodes:
            raise problem("recursive alias: the value contains itself", node, loc)
        if depth > MAX_DEPTH:
            raise problem(f"nested more than {MAX_DEPTH} levels deep", node, loc)
        copy = copy or id(node) in built
        if copy:
            repeated += 1
            if repeated > MAX_ALIAS_VALUES:
                raise problem(f"aliases expand to more than {MAX_ALIAS_VALUES:,} values (nested aliases "
                              "multiply: is this a 'billion laughs' file?)", node, loc)
        built.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                return constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise InputError(Problem(f"invalid value: {exc}", file=file, line=node.start_mark.line + 1,
                                         col=node.start_mark.column + 1)) from None
        open_nodes.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [build(item, (*loc, i), depth + 1, copy) for i, item in enumerate(node.value)]
            return build_mapping(cast(yaml.MappingNode, node), loc, depth, copy)  # the third kind
        finally:
            open_nodes.discard(id(node))

    def build_mapping(node: yaml.MappingNode, loc: Loc, depth: int, copy: bool) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:  # `<<: *base` first: the mapping's own keys win
            if key_node.tag != MERGE_TAG:
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise problem("`<<` merges a mapping (or a list of mappings) into this one", key_node, loc)
                for key, value in build(source, loc, depth, copy).items():
                    out.setdefault(key, value)  # of several sources, the first wins
        own: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(Problem("a key must be a plain value, not a mapping or a list", file=file,
                                         line=where[0], col=where[1], field=".".join(map(str, loc)) or None))
            try:
                key = constructor.construct_object(key_node, deep=True)
            except yaml.YAMLError as exc:
                raise InputError(Problem(f"invalid key: {exc}", file=file, line=where[0], col=where[1])) from None
            if key in own:
                raise InputError(Problem(f"duplicate key {key!r}", file=file, line=where[0], col=where[1],
                                         field=".".join(map(str, (*loc, key)))))
            own.add(key)
            marks[(*loc, key)] = where
            out[key] = build(value_node, (*loc, key), depth + 1, copy)
        return out

    return (build(root, ()) if root is not None else None), marks


# --- pydantic errors -> problems ---------------------------------------------------------

def _fields_at(model: Any, loc: Loc) -> list[str]:
    """Field names of the model found at `loc` below `model` (for 'did you mean')."""
    types = [model]
    for part in loc:
        nxt: list[Any] = []
        for tp in types:
            for inner in _unwrap(tp):
                if isinstance(part, int) or (isinstance(inner, type) and not issubclass(inner, BaseModel)):
                    nxt.extend(a for a in typing.get_args(inner) if a is not type(None))
                elif isinstance(inner, type) and issubclass(inner, BaseModel) and part in inner.model_fields:
                    nxt.append(inner.model_fields[part].annotation)
        types = nxt
    names: list[str] = []
    for tp in types:
        for inner in _unwrap(tp):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                names.extend(inner.model_fields)
    return names


def _unwrap(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return [x for a in typing.get_args(tp) for x in _unwrap(a)]
    if origin in (list, dict):
        return [tp]
    return [tp]


def _message(err: ErrorDetails, loc: Loc) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return keypath.unknown_key(key, _fields_at(Scenario, loc[:-1]))
    if kind == "missing":
        return f"required field {loc[-1]!r} is missing"
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if kind == "literal_error":
        msg += f" (got {err.get('input')!r})"
    return msg


def check_path(path: str) -> str | None:
    """Why a key path cannot name a scenario field (unknown key, with a suggestion), or None.

    Keys under `scheduler` that are not scheduler fields may be policy options: the policy
    checks those. Free-form mappings (`ci:`) accept any key.
    """
    parts = keypath.split_path(path)
    for i, part in enumerate(parts):
        if isinstance(part, int):
            continue
        prefix = tuple(parts[:i])
        fields = _fields_at(Scenario, prefix)
        if not fields or part in fields:
            continue
        if prefix == ("scheduler",):
            return None
        return keypath.unknown_key(part, fields)
    return None


def _drop_shorthand(loc: Loc, marks: dict[Loc, tuple[int, int]]) -> Loc:
    """`duration: 2h` is stored as {constant: 2h}: report it under the key the user wrote."""
    if "constant" in loc:
        i = loc.index("constant")
        if loc[: i + 1] not in marks and loc[:i] in marks:
            return loc[:i] + loc[i + 1:]
    return loc


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # pydantic inserts union/function tags such as 'function-before[...]' or 'float'
    return tuple(p for p in loc if isinstance(p, int) or not (
        "[" in p or p in ("float", "int", "str", "list", "dict", "literal['young','daly']")))


def problems_from(exc: ValidationError, file: str, marks: dict[Loc, tuple[int, int]],
                  set_paths: dict[Loc, str], prefix: Loc = ()) -> list[Problem]:
    out = []
    seen = set()
    for err in exc.errors():
        loc = _drop_shorthand(prefix + _clean_loc(err["loc"]), marks)
        if err["type"] == "missing" and len(loc) == len(prefix) + 0:
            continue
        problem = locate(loc, _message(err, loc), file, marks, set_paths)
        if str(problem) not in seen:
            seen.add(str(problem))
            out.append(problem)
    return out


# --- the loader ----------------------------------------------------------------------------

def load(path: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = (), *,
         ci: bool = False) -> LoadedScenario:
    """Read, override (`ci:` first, then `--set`), validate and cross-check a scenario file."""
    file = str(path)
    data, marks = _compose(read_text(path, file), file)
    if not isinstance(data, dict):
        raise InputError(Problem("a scenario is a YAML mapping (name:, cluster:, workload:, ...)", file=file,
                                 line=1, col=1))
    data.setdefault("name", Path(path).stem)
    set_paths: dict[Loc, str] = {}
    if ci:
        block = data.get("ci")
        if not isinstance(block, dict) or not block:
            raise InputError(Problem("--ci needs a `ci:` block of PATH: VALUE overrides", file=file,
                                     line=marks.get(("ci",), (1, 1))[0], col=1, field="ci"))
        for key, value in block.items():
            where = marks.get(("ci", key), (None, None))
            reason = check_path(str(key))
            if reason:
                raise InputError(Problem(reason, file=file, line=where[0], col=where[1], field=f"ci.{key}"))
            try:
                keypath.apply(data, str(key), value, cwd_paths=False)
            except InputError as exc:
                raise InputError([Problem(p.message, file=file, line=marks.get(("ci", key), (None, None))[0],
                                          col=marks.get(("ci", key), (None, None))[1], field=f"ci.{key}")
                                  for p in exc.problems]) from None
    for text_item in overrides:
        set_path, value = keypath.parse_assignment(text_item)
        reason = check_path(set_path)
        if reason:
            raise InputError(Problem(reason, set_path=set_path))
        keypath.apply(data, set_path, value)
        set_paths[tuple(keypath.split_path(set_path))] = set_path
    try:
        model = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_from(exc, file, marks, set_paths)) from None
    return _validated(model, data, file, Path(path).resolve().parent, marks, set_paths)


def scenario_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _validated(model: Scenario, raw: dict[str, Any], file: str, base_dir: Path,
               marks: dict[Loc, tuple[int, int]], set_paths: dict[Loc, str]) -> LoadedScenario:
    """The loaded scenario with its patched catalogue, once the cross-checks pass."""
    loaded = LoadedScenario(model, _catalogue(model), raw, file, base_dir, marks, set_paths)
    _cross_check(loaded)
    return loaded


def _catalogue(m: Scenario) -> hardware.Catalogue:
    """The built-in catalogue with the scenario's `catalogue:` patches applied (entries that lack
    what a new one needs are still added: `_cross_check` reports them)."""
    return hardware.patched({s: [e.model_dump(exclude_none=True) for e in getattr(m.catalogue, s)]
                             for s in ("accelerators", "instances", "domains")})


def _cross_check(sc: LoadedScenario) -> None:
    """Checks that need the catalogue or the policy registry; all problems reported at once."""
    from sim.policies import base as policies  # the registry; no engine import

    m = sc.model
    problems: list[Problem] = []
    for section in ("accelerators", "instances", "domains"):
        known = getattr(hardware.builtin(), section)
        for i, entry in enumerate(getattr(m.catalogue, section)):
            if section == "instances" and entry.chips is not None and entry.chips > MAX_CHIPS_PER_INSTANCE:
                problems.append(sc.problem(("catalogue", section, i, "chips"),
                                           f"an instance has 1 to {MAX_CHIPS_PER_INSTANCE} chips (got {entry.chips})"))
            if entry.name in known:
                continue
            for req in hardware.REQUIRED_FOR_NEW[section]:
                if getattr(entry, req) is None:
                    problems.append(sc.problem(("catalogue", section, i),
                                               f"new entry {entry.name!r} needs {req!r}"))
    cat = sc.catalogue
    if m.reference_accelerator not in cat.accelerators:
        problems.append(sc.problem(("reference_accelerator",),
                                   f"unknown accelerator {m.reference_accelerator!r}"
                                   f"{keypath.did_you_mean(m.reference_accelerator, list(cat.accelerators))}"))
    for i, inst in enumerate(cat.instances.values()):
        if inst.accelerator and inst.accelerator not in cat.accelerators:
            problems.append(sc.problem(("catalogue", "instances", i),
                                       f"instance {inst.name!r} names unknown accelerator {inst.accelerator!r}"))
    for i, pool in enumerate(m.cluster.pools):
        loc = ("cluster", "pools", i)
        if pool.purchase is not None and pool.retire is None:
            problems.append(sc.problem((*loc, "purchase"),
                                       "a purchase pays for the pool's life from online to retire: give the pool "
                                       "a retire time"))
        if pool.instance not in cat.instances:
            problems.append(sc.problem((*loc, "instance"), f"unknown instance type {pool.instance!r}"
                                       f"{keypath.did_you_mean(pool.instance, list(cat.instances))}"))
            continue
        inst = cat.instances[pool.instance]
        if not inst.accelerator or inst.accelerator not in cat.accelerators:
            problems.append(sc.problem((*loc, "instance"),
                                       f"instance type {pool.instance!r} has no catalogued accelerator"))
            continue
        domain = cat.domain_size(pool.instance)
        if pool.count is not None and pool.count % domain:
            problems.append(sc.problem((*loc, "count"),
                                       f"{pool.instance} is an UltraServer member: count must be a multiple of "
                                       f"{domain} (got {pool.count})"))
        if pool.ultraservers is not None and domain == 1:
            problems.append(sc.problem((*loc, "ultraservers"),
                                       f"{pool.instance} is not an UltraServer member; size it by count"))
        acc = cat.accelerators[inst.accelerator]
        if pool.power is not None and acc.watts is None:
            problems.append(sc.problem((*loc, "power"),
                                       f"cannot size by power: accelerator {acc.name!r} has no watts "
                                       "(add catalogue.accelerators watts)"))
        if pool.sizing in ("budget", "purchase") and pool.pricing.kind != "commitment" \
                and inst.on_demand_usd_per_h is None:
            problems.append(sc.problem((*loc, pool.sizing),
                                       f"cannot size by {pool.sizing}: {pool.instance} has no on_demand_usd_per_h"))
    for i, entry in enumerate(m.workload):
        specs: list[tuple[Loc, JobFields]] = [((i, "jobs", j), job) for j, job in enumerate(entry.jobs or [])]
        if entry.generator is not None:
            specs.append(((i, "generator"), entry.generator))
            specs += [((i, "generator", "classes", name), cls) for name, cls in entry.generator.resolved_classes()]
        for sub, spec in specs:
            for name in spec.accelerator or []:
                if name not in cat.accelerators:
                    problems.append(sc.problem(("workload", *sub, "accelerator"),
                                               f"unknown accelerator {name!r}"
                                               f"{keypath.did_you_mean(name, list(cat.accelerators))}"))
    names = [e.name for e in m.workload if e.name]
    for i, entry in enumerate(m.workload):
        if entry.name and names.count(entry.name) > 1:
            problems.append(sc.problem(("workload", i, "name"), f"duplicate entry name {entry.name!r}"))
    ids: dict[str, tuple[int, int]] = {}
    for i, entry in enumerate(m.workload):
        for j, job in enumerate(entry.jobs or []):
            if job.id in ids:
                a, b = ids[job.id]
                first = sc.problem(("workload", a, "jobs", b, "id"), "")
                problems.append(sc.problem(("workload", i, "jobs", j, "id"),
                                           f"duplicate job id {job.id!r} (first at line {first.line})"))
            else:
                ids[job.id] = (i, j)
    policy = m.scheduler.policy
    reason = import_policy(policy, sc.base_dir) if ":" in policy else policies.plugin_problem(policy)
    if reason:
        problems.append(sc.problem(("scheduler", "policy"), reason))
    elif not policies.is_known(policy):
        problems.append(sc.problem(("scheduler", "policy"), f"unknown policy {policy!r}"
                                   f"{keypath.did_you_mean(policy, policies.names())}"))
    else:
        try:
            policies.options_model(policy).model_validate(m.scheduler.options)
        except ValidationError as exc:
            problems.extend(problems_from(exc, sc.file, sc.marks, sc.set_paths, prefix=("scheduler",)))
    if problems:
        raise InputError(problems)


_CUSTOM_POLICY = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


def import_policy(name: str, folder: Path) -> str | None:
    """Import a user's policy `module:Class`, looking in the scenario's folder before the import
    path; why it cannot be used, or None. Importing runs the module's code (docs/policies.md)."""
    from sim.policies import base as policies

    if not _CUSTOM_POLICY.fullmatch(name):
        return (f"unknown policy {name!r}: a policy of your own is module:Class (a Python module name, "
                f"a colon, a class name){keypath.did_you_mean(name, policies.names())}")
    module_name, _, class_name = name.partition(":")
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module failed: say how, not just that it failed
        return (f"unknown policy {name!r}: cannot import {module_name!r} (from {folder} or the import path): "
                f"{type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))
    cls = getattr(module, class_name, None)
    if cls is None:
        return f"unknown policy {name!r}: module {module_name!r} ({getattr(module, '__file__', '?')}) has no {class_name!r}"
    if not (isinstance(cls, type) and issubclass(cls, policies.Policy)):
        return f"unknown policy {name!r}: {class_name} is not a policy (a subclass of sim.policies.base.Policy)"
    return None


def run_key(scenario_sha256_hex: str, seed: int) -> str:
    """sha256 of the scenario's sha256 and the seed: names a run and a sweep row."""
    return hashlib.sha256(f"{scenario_sha256_hex}\n{seed}".encode()).hexdigest()


def load_mapping(data: dict[str, Any], file: str = "<scenario>", base_dir: Path | None = None) -> LoadedScenario:
    """Validate and cross-check a scenario given as a mapping (a resolved scenario: paths absolute).

    Sweep workers receive scenarios this way; problems name `file` without line numbers.
    """
    data = copy.deepcopy(data)
    try:
        model = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_from(exc, file, {}, {})) from None
    return _validated(model, data, file, base_dir or Path.cwd(), {}, {})
