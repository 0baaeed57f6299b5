"""The shape of the program's code: no import cycle, a leaf host layout, no module over 600 lines.

Read from the source with ``ast`` (nothing is imported), so a cycle hidden in an
import inside a function or under ``TYPE_CHECKING`` counts like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from components.host_layout import STATUS_SCRIPT
from tests.harness import ROOT

PACKAGE = "components"
MAX_MODULE_LINES = 600  # issue 19: no module of the program over 600 lines


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}
PROGRAM_FILES = [ROOT / "__main__.py", *MODULES.values()]


def imported_modules(name: str, tree: ast.AST, modules: dict[str, Path]) -> dict[str, int]:
    """Project modules that ``name`` imports anywhere in its source -> first line, resolved to modules."""
    is_package = modules[name].name == "__init__.py"
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        # `from a.b import c`: c is a module when a/b/c.py exists, else a name in a.b.
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.setdefault(target, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                add(f"{base}.{alias.name}", node.lineno)
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    return {name: imported_modules(name, ast.parse(path.read_text()), modules) for name, path in modules.items()}


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    edges = [f"  {source} -> {target} (line {line})"
             for source in component for target, line in sorted(graph[source].items()) if target in component]
    return "import cycle among " + ", ".join(component) + ":\n" + "\n".join(edges)


def test_the_program_has_no_import_cycle():
    graph = import_graph(MODULES)
    found = cycles(graph)
    assert not found, "\n".join(describe(component, graph) for component in found)


def test_the_cycle_check_finds_a_cycle_through_an_import_inside_a_function(tmp_path):
    """The check itself: two modules that import each other, one of them only inside a function."""
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from components.b import helper\n")
    (package / "b.py").write_text("def helper():\n    from components import a\n    return a\n")
    (package / "c.py").write_text("from components import a\n")
    modules = {f"{PACKAGE}.{name}": package / f"{name}.py" for name in ("a", "b", "c")}
    assert cycles(import_graph(modules)) == [["components.a", "components.b"]]


def test_no_project_import_hides_inside_a_function():
    """An import inside a function is how a cycle was dodged; the program imports at module level only."""
    hidden = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and imported_modules(name, node, MODULES):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not hidden, "imports inside functions: " + ", ".join(hidden)


def test_host_layout_is_a_leaf():
    """Every module may import the host layout because it imports nothing of the project."""
    graph = import_graph(MODULES)
    assert graph[f"{PACKAGE}.host_layout"] == {}


def test_scripts_outside_python_name_the_layout_s_paths():
    """``make status`` runs the status script over SSH from bash, which cannot import the layout."""
    assert f"remote+=({STATUS_SCRIPT})" in (ROOT / "scripts" / "up.sh").read_text()


def test_nothing_is_named_render_but_the_package():
    """``render`` is the package; no function, alias or variable of that name shadows it."""
    shadows = []
    for path in PROGRAM_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.asname or alias.name.split(".")[0] for alias in node.names
                         if isinstance(node, ast.ImportFrom) or alias.asname]
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names = [node.id]
            if "render" in names:
                shadows.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not shadows, "names that shadow the render package: " + ", ".join(shadows)


@pytest.mark.parametrize("path", PROGRAM_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_program_module_is_over_the_size_limit(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines (limit {MAX_MODULE_LINES}): split it"
