"""The documentation a newcomer follows: every pointer into it resolves, every section it promises exists."""

from __future__ import annotations

import re

import pytest

from tests.harness import ROOT
from tests.support.settings import setting_keys

README = ROOT / "README.md"


def headings(text: str) -> list[str]:
    return [match.group(2).strip() for match in re.finditer(r"^(#{2,4}) (.+)$", text, re.M)]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower().replace("`", "")).replace(" ", "-")


def referencing_files():
    for folder in ("components", "scripts", "stacks"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".sh", ".j2", ".yaml", ""):
                yield path


def test_every_readme_section_the_code_points_to_exists():
    titles = headings(README.read_text())
    pointers = 0
    for path in referencing_files():
        for section in re.findall(r"README: ([A-Z][A-Za-z ]+[a-z])", path.read_text(errors="replace")):
            assert any(title == section or title.startswith(section) for title in titles), \
                f"{path.relative_to(ROOT)} points to README: {section}, which has no such section"
            pointers += 1
    assert pointers >= 4


def test_every_link_inside_the_readme_resolves():
    text = README.read_text()
    anchors = {anchor(title) for title in headings(text)}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith("#"):
            assert target[1:] in anchors, f"README links to {target}, which is no heading"
        elif not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), f"README links to {target}, which is not in the repository"


@pytest.mark.parametrize("section", [
    "Trusting the lab CA", "Backups", "A sub-account key (CAM policy)", "State in Tencent COS",
    "Lab prerequisites", "CI set-up", "Questions make up asks", "Installing the Pulumi CLI",
    "Nested keys: `pulumi config set --path`", "Using the registry from a client",
])
def test_the_sections_a_newcomer_needs_are_there(section):
    assert section in headings(README.read_text())


def test_every_firewall_and_ca_instruction_names_the_mirror_port():
    """dockerDaemonJson points Docker at https://<registry>:<registryMirrorPort>: every paragraph that says which
    ports to open names it, and the CA goes where Docker looks for that port (certs.d/<host>:<port>)."""
    from components.settings import DEFAULT_MIRROR_PORT

    for path in (README, README.parent / "README.zh-CN.md"):
        paragraphs = re.split(r"\n\s*\n|\n- ", path.read_text())
        opening = [p for p in paragraphs if re.search(r"(open|allow|放通|能访问)[^.。]{0,40}\b80\b", p)]
        assert len(opening) >= 3, (path.name, opening)
        missing = [p[:120] for p in opening if "registryMirrorPort" not in p and str(DEFAULT_MIRROR_PORT) not in p]
        assert not missing, f"{path.name}: these firewall instructions omit the mirror port: {missing}"
        assert '"/etc/docker/certs.d/$host:$port/ca.crt"' in path.read_text(), path.name
        assert f"port={DEFAULT_MIRROR_PORT}" in path.read_text(), path.name


def test_readme_covers_lighthouse_selinux_firewall_and_other_el_clients():
    text = README.read_text()
    assert "Lighthouse (轻量应用服务器)" in text and "works as `existing`" in text
    assert "httpd_can_network_connect" in text and "ports 80, 443 and the\n  mirror's `registryMirrorPort`" in text
    assert "TencentOS Server 3 / 4" in text and "OpenCloudOS 8 / 9" in text
    assert '"version": "2.0"' in text  # the CAM policy is a complete document
    assert "cos.ap-guangzhou.myqcloud.com" in text
    for secret in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "TENCENTCLOUD_SECRET_ID",
                   "TENCENTCLOUD_SECRET_KEY"):
        assert f"`{secret}`" in text or secret in text


def test_ci_set_up_names_every_secret_and_variable_the_workflows_read():
    text = README.read_text()
    ci = text[text.index("### CI set-up"):]
    ci = ci[:ci.index("\n## ")]
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        for kind, name in re.findall(r"\$\{\{\s*(secrets|vars)\.([A-Za-z0-9_]+)\s*\}\}", workflow.read_text()):
            if name != "GITHUB_TOKEN":  # provided by GitHub itself
                assert f"`{name}`" in ci, f"{workflow.name} reads {kind}.{name}; README's CI set-up does not name it"


def test_from_the_tutorial_maps_each_step_to_a_setting_or_output_that_exists():
    """The map from the tutorial names real settings and outputs, and covers the tutorial's steps."""
    from components import settings as stack_settings

    text = README.read_text()
    section = text[text.index("## From the tutorial"):]
    section = section[:section.index("\n## ", 1)]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    steps = " ".join(row[1] for row in rows)
    for step in ("CentOS 7.6", "docker run", "admin password", "8001", "8002", "8003", "realm", "anonymous",
                 "DNSPod", "certificate", "nginx.conf", "rewrite", "daemon.json", "docker login", "docker push",
                 "docker pull"):
        assert step in steps, f"README: From the tutorial has no row for the tutorial's step {step!r}"
    keys = set(setting_keys(stack_settings.Settings))
    outputs = set(re.findall(r"^\| `(\w+)` \|", text[text.index("## Stack outputs"):], re.M))
    for row in rows:
        for token in re.findall(r"`([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)*)(?::[^`]*)?`", row[2]):
            if token in {"make", "nginx", "docker"} or not re.fullmatch(r"[a-z][A-Za-z.]+", token):
                continue
            if token[0].islower() and any(c.isupper() for c in token) or "." in token:
                assert token in keys | outputs, f"README: From the tutorial names {token!r}, no setting or output"
