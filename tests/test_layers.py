"""The order of layers (docs/architecture.md, "Layers"), checked on the imports the code really has.

Every `sim` module is read with `ast` (not imported). An import counts where it is written:
module-level imports (run when the module is imported) and imports inside functions (run when
the function is called: the commands import heavy modules late so that `trnsim --version` stays
fast) are both dependencies, and both must go down the layers, never up, apart from the few
exceptions listed here with their reasons. Imports under `if TYPE_CHECKING:` never run and are
skipped. Cycles: none among module-level imports, and none among all imports once the listed
exceptions are set aside. `from package import name` counts as importing the submodule `name`
when there is one, else the package; importing `a.b.c` is not counted as importing the packages
`a` and `a.b` that Python also runs first (the packages' own imports are checked as modules).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

# Lowest first. A module's layer is that of the longest prefix listed (sim.scenario.units is
# shared although sim.scenario is the scenario layer). Keep in step with docs/architecture.md.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("shared", ("sim", "sim.errors", "sim.jsonfile", "sim.outdir", "sim.hardware", "sim.queueing",
                "sim.scenario.units", "sim.callable_module")),
    ("scenario", ("sim.scenario", "sim.schema")),
    ("topology/workload", ("sim.topology", "sim.placement", "sim.failures", "sim.workload", "sim.limits")),
    ("engine/policies", ("sim.engine", "sim.policies")),
    ("run/metrics", ("sim.run", "sim.metrics", "sim.economics", "sim.report.rundata")),
    ("studies", ("sim.compare", "sim.sweep", "sim.plan")),
    ("report", ("sim.report", "sim.rundir")),
    ("commands", ("sim.api", "sim.cli", "sim.__main__")),
]

# Imports that go up a layer on purpose: (importer, imported) -> why.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("sim.scenario.loader", "sim.placement"):
        "MAX_CHIPS_PER_INSTANCE: the loader refuses a catalogue instance the placement arrays cannot hold",
    ("sim.scenario.failures", "sim.failures"):
        "the failure defaults (checkpoint write, restart, repair) the schema shows are the model's constants",
    ("sim.scenario.loader", "sim.policies.base"):
        "inside a function: the policy registry, to check scheduler.policy and its options (no engine import)",
    ("sim.callable_module", "sim.api"):
        "inside a function: calling the module sim.run (compare, sweep, plan) calls sim.api.run",
}

CLI_HELPERS = ("sim.cli.common", "sim.cli.batch")


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    where: str  # file:line
    in_function: bool


def modules(root: Path, package: str) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports(root: Path, package: str) -> list[Edge]:
    """Every import between modules of `package` (rooted at `root`), where it is written."""
    known = modules(root, package)

    def owner(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    edges = []
    for module, path in known.items():
        is_package = path.name == "__init__.py"

        def visit(node: ast.AST, in_function: bool, module: str = module, path: Path = path,
                  is_package: bool = is_package) -> None:
            for child in ast.iter_child_nodes(node):
                if _type_checking(child):
                    continue
                inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                targets: list[str] = []
                if isinstance(child, ast.Import):
                    targets = [a.name for a in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        parts = module.split(".")[: len(module.split(".")) - child.level + is_package]
                        base = ".".join(parts + ([child.module] if child.module else []))
                    subs = [f"{base}.{a.name}" for a in child.names]
                    targets = subs if all(s in known for s in subs) else [base]
                else:
                    visit(child, inner)
                    continue
                for target in targets:
                    imported = owner(target)
                    if imported is not None and imported != module:
                        edges.append(Edge(module, imported, f"{path.relative_to(root.parent)}:{child.lineno}", inner))

        visit(ast.parse(path.read_text(), str(path)), False)
    return edges


def layer_of(module: str, layers: list[tuple[str, tuple[str, ...]]] = LAYERS) -> int | None:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    return rank


def upward(edges: list[Edge], layers: list[tuple[str, tuple[str, ...]]],
           exceptions: dict[tuple[str, str], str]) -> list[str]:
    bad = []
    for e in edges:
        a, b = layer_of(e.importer, layers), layer_of(e.imported, layers)
        if a is not None and b is not None and b > a and (e.importer, e.imported) not in exceptions:
            bad.append(f"{e.where}: {e.importer} ({layers[a][0]}) imports {e.imported} ({layers[b][0]})"
                       + (" inside a function" if e.in_function else ""))
    return bad


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.importer, set()).add(e.imported)
        graph.setdefault(e.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return imports(SIM, "sim")


def test_every_module_has_a_layer():
    missing = [m for m in modules(SIM, "sim") if layer_of(m) is None]
    assert not missing, f"place these modules in a layer (tests/test_layers.py, docs/architecture.md): {missing}"


def test_no_module_imports_a_higher_layer(edges):
    bad = upward(edges, LAYERS, EXCEPTIONS)
    assert not bad, "imports that go up the layers (docs/architecture.md):\n" + "\n".join(bad)


def test_every_listed_exception_is_still_needed(edges):
    present = {(e.importer, e.imported) for e in edges}
    stale = [pair for pair in EXCEPTIONS if pair not in present]
    assert not stale, f"these imports are gone: drop them from EXCEPTIONS and docs/architecture.md: {stale}"


def test_no_import_cycles(edges):
    module_level = [e for e in edges if not e.in_function]
    assert cycles(module_level) == [], "modules that import one another when imported"
    allowed = [e for e in edges if (e.importer, e.imported) not in EXCEPTIONS]
    assert cycles(allowed) == [], "modules that import one another (inside functions included)"


def test_policies_never_import_the_engine(edges):
    bad = [e.where for e in edges if e.importer.startswith("sim.policies") and e.imported.startswith("sim.engine")]
    assert not bad, bad


def test_command_modules_import_the_library_and_the_helpers_only(edges):
    bad = [f"{e.where}: {e.importer} imports {e.imported}" for e in edges
           if e.importer.startswith("sim.cli.") and e.importer not in CLI_HELPERS
           and (e.imported == "sim.cli" or e.imported.startswith("sim.cli.")) and e.imported not in CLI_HELPERS]
    assert not bad, "\n".join(bad)
    library = [f"{e.where}: {e.importer} imports {e.imported}" for e in edges
               if not (e.importer == "sim.cli" or e.importer.startswith("sim.cli.") or e.importer == "sim.__main__")
               and (e.imported == "sim.cli" or e.imported.startswith("sim.cli."))]
    assert not library, "the library must not import the command line:\n" + "\n".join(library)


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    """The checker itself, on a small package: a low module importing a high one (inside a function)
    is reported with its line, and two modules importing each other are a cycle."""
    pkg = tmp_path / "pkg"
    (pkg / "low").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("from pkg.low import b\n\n\ndef f():\n    from pkg import high\n")
    (pkg / "low" / "b.py").write_text("import pkg.low.a\n")
    (pkg / "high.py").write_text("from pkg.low import a\n")
    layers = [("low", ("pkg", "pkg.low")), ("high", ("pkg.high",))]
    found = imports(pkg, "pkg")
    assert upward(found, layers, {}) == ["pkg/low/a.py:5: pkg.low.a (low) imports pkg.high (high) inside a function"]
    assert upward(found, layers, {("pkg.low.a", "pkg.high"): "why"}) == []
    assert cycles([e for e in found if not e.in_function]) == [["pkg.low.a", "pkg.low.b"]]
    assert cycles(found) == [["pkg.high", "pkg.low.a", "pkg.low.b"]]
