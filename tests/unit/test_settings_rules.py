"""The settings package's structure: layered modules, cross-checks as a table of named rules, server facts."""

from __future__ import annotations

import ast
import inspect
import re

import pytest

from components import settings as stack_settings
from components.settings import rules
from tests.harness import LAB_HOST_KEY, ROOT, stack_config

PACKAGE = ROOT / "components" / "settings"
# Each module may import only the ones before it (the order of the package docstring).
LAYERS = ["facts", "version", "errors", "fields", "base", "server", "models", "rules", "stack", "messages", "sources"]


def _package_imports(path) -> set[str]:
    """The package's modules that ``path`` imports when it runs (imports for type checkers only do not count)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    return {node.module.removeprefix("components.settings.") for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("components.settings.")}


def test_every_module_imports_only_the_layers_before_it():
    assert sorted(path.stem for path in PACKAGE.glob("*.py")) == sorted([*LAYERS, "__init__"])
    for index, layer in enumerate(LAYERS):
        later = _package_imports(PACKAGE / f"{layer}.py") - set(LAYERS[:index])
        assert not later, f"{layer} imports {later}, which come after it"


def test_no_module_of_the_package_is_over_600_lines():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 600, path.name


def test_every_rule_is_named_documented_and_listed_once():
    defined = [function for name, function in inspect.getmembers(rules, inspect.isfunction)
               if function.__module__ == rules.__name__ and not name.startswith("_")]
    assert sorted(rule.__name__ for rule in rules.CROSS_CHECKS) == sorted(rule.__name__ for rule in defined)
    assert len(set(rules.CROSS_CHECKS)) == len(rules.CROSS_CHECKS)
    for rule in rules.CROSS_CHECKS:
        assert (rule.__doc__ or "").strip(), f"{rule.__name__} has no docstring"


def test_the_first_failing_rule_in_the_table_is_the_one_reported():
    # Two rules fail: same hostnames (first in the table) and acme without an e-mail (later).
    config = stack_config("dev", {"webHost": "registry", "registryHost": "registry", "certificate": "acme"})
    with pytest.raises(stack_settings.SettingsError) as caught:
        stack_settings.from_mapping("dev", config)
    assert caught.value.problems == ["nexus-registry:registryHost: 'registry' must differ from webHost"]
    assert rules.CROSS_CHECKS.index(rules.hostnames_differ) < rules.CROSS_CHECKS.index(rules.acme_needs_email)


def test_the_server_says_which_mode_it_is():
    cvm = stack_settings.CvmServer(mode="cvm", cpu=2, memory_gb=8, ssh_allowed_cidrs=["58.246.10.0/24"])
    existing = stack_settings.ExistingServer(mode="existing", address="10.0.8.15", host_key=LAB_HOST_KEY)
    assert (cvm.is_cvm, cvm.is_existing) == (True, False)
    assert (existing.is_cvm, existing.is_existing) == (False, True)
    assert stack_settings.SERVER_MODES == {"cvm": stack_settings.CvmServer, "existing": stack_settings.ExistingServer}


def test_the_program_asks_the_server_instead_of_testing_its_class():
    sources = [ROOT / "__main__.py", *(ROOT / "components").rglob("*.py")]
    offenders = [str(path.relative_to(ROOT)) for path in sources
                 if re.search(r"isinstance\([^)]*(CvmServer|ExistingServer)", path.read_text())]
    assert offenders == []
