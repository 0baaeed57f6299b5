"""The shape of the tests (issue 19): no test file over 700 lines, shared code in tests/support and
tests/fakes rather than in test modules, and a fake Nexus that runs without the program.

Read from the source with ``ast`` (nothing is imported).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.harness import ROOT

MAX_TEST_FILE_LINES = 700  # issue 19: no test file over 700 lines
TESTS = ROOT / "tests"


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_no_test_file_is_over_the_size_limit():
    long = {str(path.relative_to(ROOT)): lines for path in sorted(TESTS.rglob("test_*.py"))
            if (lines := len(path.read_text().splitlines())) > MAX_TEST_FILE_LINES}
    assert not long, f"test files over {MAX_TEST_FILE_LINES} lines (split them, one per template or area): {long}"


def test_no_test_module_imports_another():
    """What two test modules share lives in tests/support (or tests/fakes), not in one of them."""
    found = [f"{path.relative_to(ROOT)}:{line} imports {module}" for path in sorted(TESTS.rglob("*.py"))
             for line, module in imports_of(path) if module.split(".")[-1].startswith("test_")]
    assert not found, "\n".join(found)


def test_the_fakes_import_nothing_of_the_program_or_the_other_test_code():
    """The fresh-host stand-in image copies tests/fakes (tests/system/fresh_host.py) and runs the fake Nexus
    with nothing else of the repository: no ``components``, no harness, no support module."""
    found = [f"{path.relative_to(ROOT)}:{line} imports {module}" for path in sorted((TESTS / "fakes").rglob("*.py"))
             for line, module in imports_of(path)
             if module.split(".")[0] in ("components", "tests") and not module.startswith("tests.fakes")]
    assert not found, "\n".join(found)
