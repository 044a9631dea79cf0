"""The import graph of the harness has no cycle, and every module imports on its own.

The graph is read from the source (every ``import harness...`` statement, including those
inside functions: a lazy import hides a cycle from the interpreter, not from the design).
Importing ``harness.a.b`` also runs ``harness/a/__init__.py``, so a module depends on the
packages above its imports too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "harness"

#: Import cycles tolerated: none (add nothing).
KNOWN_CYCLES: list[frozenset[str]] = []


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


def import_graph() -> dict[str, set[str]]:
    """``module -> harness modules it imports`` (with the packages those imports run)."""
    # ``__main__`` modules are scripts (importing one runs the command): not library modules
    modules = {_module_name(p): p for p in ROOT.rglob("*.py") if p.name != "__main__.py"}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # relative imports are banned (ruff), so names are full
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
                    graph[name].update(p for p in _parents(target) if p != name and p in modules)
        graph[name].update(p for p in _parents(name) if p in modules)  # a module runs its package
    for name in graph:  # a package's __init__ does not depend on itself through its children
        graph[name].discard(name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _without_package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop the edges from a module to its own enclosing packages.

    ``p/__init__.py`` importing ``p.x`` (a re-export) and ``p.x`` running ``p`` first is the
    ordinary package pattern, not a cycle. Every other edge stays, so a package whose
    ``__init__`` imports a module that imports, through others, back into the package (the
    ``certificates`` / ``diagnostics`` case) is a cycle.
    """
    return {name: {t for t in deps if not name.startswith(t + ".")} for name, deps in graph.items()}


def test_no_import_cycle() -> None:
    graph = _without_package_edges(import_graph())
    cycles = _cycles(graph)
    unexpected = [sorted(c) for c in cycles if c not in KNOWN_CYCLES]
    assert unexpected == [], f"import cycles: {unexpected}"


def test_cycle_detection_finds_a_cycle() -> None:
    """The detector itself: a direct cycle, and one through a package's ``__init__``."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [frozenset({"a", "b"})]
    # q imports p.y, which runs package p, whose __init__ re-exports p.x, which imports q
    graph = {"p": {"p.x", "p.y"}, "p.x": {"q", "p"}, "q": {"p.y", "p"}, "p.y": {"p"}}
    assert _cycles(_without_package_edges(graph)) == [frozenset({"p", "p.x", "q"})]
    assert _cycles({"p": {"p.x"}, "p.x": {"p"}}) != []  # raw graph: re-export edges
    assert _cycles(_without_package_edges({"p": {"p.x"}, "p.x": {"p"}})) == []


def test_every_module_imports_in_dependency_order() -> None:
    """Import each module in a fresh interpreter, dependencies first (no partial modules)."""
    graph = _without_package_edges(import_graph())
    for cycle in KNOWN_CYCLES:  # break the known cycles so an order exists
        for name in cycle:
            graph[name] -= set(cycle)
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - reported by test_no_import_cycle
        raise AssertionError(f"no import order: {exc.args[1]}") from exc
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code, *order], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
