"""The package's import graph: the engine and its warm-up stand on their own.

Production start-up (building an :class:`adcore.Engine`, which warms every kernel) must
not depend on the sample data of :mod:`adcore.demo`, and the engine's modules must not
import each other in a circle. The graph is read from the sources with :mod:`ast`: an
edge for every import statement that runs when a module is imported (not those inside
functions, nor under ``if TYPE_CHECKING:``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT = "adcore"

ENGINE_MODULES = (
    "adcore.engine",
    "adcore._run",
    "adcore._tracing",
    "adcore._program",
    "adcore.warmup",
    "adcore.events",
)
"""The engine's own modules: none may import the demo, at module level or in a function."""

WATCHED = (*ENGINE_MODULES, "adcore.demo")
"""No import cycle may pass through any of these."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted((SRC / ROOT).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, *, everywhere: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of a module: those that run when it is imported, or with
    ``everywhere`` every one, function bodies included."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif not everywhere and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        elif not everywhere and isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _with_parents(name: str, importer: str) -> Iterator[str]:
    """``name`` and the packages above it that importing it runs, but the root and the
    packages ``importer`` is in (imported before it)."""
    parts = name.split(".")
    for k in range(2, len(parts) + 1):
        candidate = ".".join(parts[:k])
        if candidate in MODULES and not importer.startswith(candidate + "."):
            yield candidate


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The adcore modules an import statement in ``module`` imports."""
    out: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                out.update(_with_parents(alias.name, module))
        return out
    if node.level:
        is_package = MODULES[module].name == "__init__.py"
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join(anchor + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base != ROOT and not base.startswith(ROOT + "."):
        return out
    out.update(_with_parents(base, module))
    for alias in node.names:  # ``from . import openrtb`` imports a module
        sub = f"{base}.{alias.name}"
        if sub in MODULES:
            out.update(_with_parents(sub, module))
    return out


def import_graph(*, everywhere: bool = False) -> dict[str, set[str]]:
    """Module -> the adcore modules it imports (see the module docstring)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in _imports(tree, everywhere=everywhere):
            edges |= _targets(name, node)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_the_engine_modules() -> None:
    """The reader finds the edges known to exist (so the checks below are not vacuous)."""
    graph = import_graph()
    assert set(WATCHED) <= set(graph)
    assert {"adcore._run", "adcore.warmup", "adcore.events"} <= graph["adcore.engine"]
    assert {"adcore._tracing", "adcore._program", "adcore.book"} <= graph["adcore._run"]
    assert "adcore._program" in graph["adcore.warmup"]
    assert "adcore.agents.base" in graph["adcore._program"]
    assert "adcore.engine" in import_graph(everywhere=True)["adcore.demo"]  # run_demo


def test_no_import_cycle_through_the_engine_modules() -> None:
    for component in cycles(import_graph()):
        assert not set(component) & set(WATCHED), f"import cycle: {' <-> '.join(component)}"


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_the_engine_modules_never_import_the_demo(module: str) -> None:
    """Not at import, and not later in a function either (the warm-up once did)."""
    assert "adcore.demo" not in import_graph(everywhere=True)[module]


def test_building_and_warming_an_engine_does_not_import_the_demo() -> None:
    """In a fresh interpreter, without the package's ``__init__`` (which re-exports
    :mod:`adcore.demo` for users): import the engine, build one on a small catalog with
    its warm-up (every kernel compiled or loaded), decide a request."""
    code = textwrap.dedent(
        """
        import importlib.util, sys

        spec = importlib.util.find_spec("adcore")
        sys.modules["adcore"] = importlib.util.module_from_spec(spec)  # not executed

        from adcore.catalog import Ad, Campaign, Catalog, AdFormat
        from adcore.engine import Engine
        from adcore.openrtb import Audio, BidRequest, Imp

        catalog = Catalog(
            [Campaign(id="c", advertiser="a", daily_budget=10**9)],
            [Ad(id="ad", campaign="c", format=AdFormat.AUDIO, embedding=(1.0, 0.0),
                mimes=("audio/mpeg",), duration=30.0)],
            dimension=2,
        )
        engine = Engine(catalog)
        request = BidRequest(id="r", imp=(Imp(id="1", audio=Audio(mimes=("audio/mpeg",))),))
        engine.decide(request, now=1_780_000_000.0)
        print(sorted(m for m in sys.modules if m.startswith("adcore.demo")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
