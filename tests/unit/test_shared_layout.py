"""shared/ stays grouped by capability (issue 23): few loose modules, none too long, no import circle.

Read with ``ast``, nothing imported. Only module-level imports count for the circle (what
loading a module loads): imports inside functions, and under ``if TYPE_CHECKING:``, are how
modules refer to each other lazily on purpose (the composition root, type hints).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
MAX_LOOSE_MODULES = 8
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(SHARED.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(SHARED.rglob("*.py"))}


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module loads: at its top, or in a top-level ``if``/``try`` other than
    ``if TYPE_CHECKING:``."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                pending += [*node.body, *node.orelse]
        elif isinstance(node, ast.Try):
            pending += [*node.body, *node.orelse, *node.finalbody]
            pending += [statement for handler in node.handlers for statement in handler.body]


def imported_modules(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The shared modules an import statement loads (``from shared.x import y``: ``shared.x.y`` if
    ``y`` is a module, else ``shared.x``)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in MODULES}
    if node.module is None or node.module not in MODULES:
        return set()
    submodules = {f"{node.module}.{alias.name}" for alias in node.names} & MODULES.keys()
    return submodules or {node.module}


def import_graph() -> dict[str, set[str]]:
    return {
        name: {
            imported
            for node in module_level_imports(ast.parse(path.read_text()))
            for imported in imported_modules(node)
        }
        for name, path in MODULES.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected part of the graph that loops (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.get(module, set())):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            part = [stack.pop()]
            while part[-1] != module:
                part.append(stack.pop())
            if len(part) > 1 or module in graph.get(module, set()):
                found.append(sorted(part))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_at_most_eight_modules_are_left_loose_at_the_top_of_shared() -> None:
    loose = sorted(path.name for path in SHARED.glob("*.py") if path.name != "__init__.py")

    assert len(loose) <= MAX_LOOSE_MODULES, loose


def test_no_module_in_shared_is_over_500_lines() -> None:
    long = {name: lines for name, path in MODULES.items() if (lines := len(path.read_text().splitlines())) > MAX_LINES}

    assert long == {}


def test_the_module_level_imports_of_shared_form_no_circle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_sees_a_circle_through_three_modules_and_a_self_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}

    assert cycles(graph) == [["a", "b", "c"], ["e"]]


def test_only_module_level_imports_outside_type_checking_count() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import shared.aws\n"
        "if TYPE_CHECKING:\n    import shared.services\n"
        "try:\n    from shared.web import http\nexcept ImportError:\n    pass\n"
        "def later():\n    from shared import settings\n"
    )

    loaded = {module for node in module_level_imports(tree) for module in imported_modules(node)}

    assert loaded == {"shared.aws", "shared.web.http"}


def test_every_package_init_is_empty_or_a_docstring_so_a_function_loads_only_the_modules_it_imports() -> None:
    loading = {
        name: [type(node).__name__ for node in ast.parse(path.read_text()).body if not _is_docstring(node)]
        for name, path in MODULES.items()
        if path.name == "__init__.py"
    }

    assert {name: nodes for name, nodes in loading.items() if nodes} == {}
    assert len(loading) >= 5, "shared/ and its capability packages"


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
