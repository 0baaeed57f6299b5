"""The host scripts share one library: each helper is defined in exactly one template.

``components/templates/host/lib/common.sh.j2`` holds log/warn/die, api(), the curl
credentials, package installation, version comparison and jqr; every host template
includes it with Jinja, so each rendered script is still one self-contained file.  A
helper copied into a second template (the state issue 19 found: die in 6 templates,
api() in 3) fails here, and so does a template that stops including the library.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path

from components.render.stack import stack_files
from components.render.templating import JQ_LIBRARY_SOURCE, TEMPLATES
from tests import harness

HOST = TEMPLATES / "host"
LIBRARY = HOST / "lib" / "common.sh.j2"
INCLUDE = '{% include "host/lib/common.sh.j2" %}'
# Every script has its own entry point; nothing else may share a name across templates.
OWN_PER_SCRIPT = {"main"}
# A bash function definition, "name() {" or "function name [()] {", at any indentation.
DEFINITION = re.compile(r"^[ \t]*(?:function[ \t]+(\w+)(?:[ \t]*\(\))?|(\w+)[ \t]*\(\))[ \t]*[{(]", re.M)


def definitions(texts: dict[str, str]) -> dict[str, set[str]]:
    """Function name -> the templates that define it."""
    found: dict[str, set[str]] = defaultdict(set)
    for name, text in texts.items():
        for match in DEFINITION.finditer(text):
            found[match.group(1) or match.group(2)].add(name)
    return found


def duplicates(texts: dict[str, str]) -> dict[str, list[str]]:
    return {helper: sorted(where) for helper, where in definitions(texts).items()
            if len(where) > 1 and helper not in OWN_PER_SCRIPT}


def host_templates() -> dict[str, str]:
    return {str(path.relative_to(HOST)): path.read_text() for path in sorted(HOST.rglob("*.sh.j2"))}


def test_no_helper_is_defined_in_more_than_one_template():
    templates = host_templates()
    assert "lib/common.sh.j2" in templates and len(templates) >= 9, sorted(templates)
    assert duplicates(templates) == {}


def test_the_check_finds_a_copied_helper():
    # What the templates looked like before the library: the detector must see it.
    templates = {"lib/common.sh.j2": LIBRARY.read_text(),
                 "a.sh.j2": 'log() { echo "a: $*"; }\nmain() { log hi; }\n',
                 "b.sh.j2": 'function api {\n  curl "$@"\n}\nmain() { api; }\n'}
    assert duplicates(templates) == {"api": ["b.sh.j2", "lib/common.sh.j2"], "log": ["a.sh.j2", "lib/common.sh.j2"]}


def test_the_library_defines_the_shared_helpers():
    defined = set(definitions({"lib": LIBRARY.read_text()}))
    assert {"log", "warn", "die", "api", "curl_auth", "admin_login", "read_line", "as_nexus", "install_packages",
            "package_manager", "apt_get", "version_ge", "jqr", "has_step"} <= defined


# Run over SSH as the login user by `make preflight`, before anything of ours is installed: plain
# POSIX sh that only reads (components/preflight/server.py), so it defines no helper at all.
NOT_A_HOST_STEP = {"preflight-probe.sh.j2"}


def test_every_host_script_template_includes_the_library():
    scripts = {name: text for name, text in host_templates().items()
               if not name.startswith("lib/") and name not in NOT_A_HOST_STEP}
    assert scripts
    for name, text in scripts.items():
        assert text.count(INCLUDE) == 1, name


def test_every_rendered_script_carries_the_library_once_and_no_jq_program_of_its_own():
    for stack in ("dev", "prod", "lab"):
        for host_file in stack_files(harness.stack_settings(stack)).host_files:
            if not host_file.content.startswith("#!/usr/bin/env bash"):
                continue
            assert host_file.content.count("\ndie() {") == 1, host_file.path
            assert host_file.content.count("\nlog() {") == 1, host_file.path
            # jq programs live in nexus-registry.jq: no "def" of a jq function in a script.
            assert not re.search(r"\bdef [a-z_]+(\(.*\))?:", host_file.content), host_file.path


def test_the_jq_library_compiles_and_its_comparisons_hold(tmp_path: Path):
    program = ('include "nexus-registry"; [({a: 1, b: [2, 1], c: 3} | same_normalised({b: [1, 2], a: 1})), '
               '({a: 1} | same_subset({a: 2})), ({enabled: true, allowedDomains: ["b", "a"], allowedIPs: null} '
               '| same_ssrf({enabled: true, allowedDomains: ["a", "b"], allowedIPs: []})), '
               '(["x"] | realms_with(["x", "y"]))]')
    result = subprocess.run(["jq", "-c", "-n", "-L", str(JQ_LIBRARY_SOURCE.parent), program],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[true,false,true,["x","y"]]'
