"""``python -m components.render``: a stack's host files, reviewable without Pulumi or a cloud."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from components import settings as stack_settings
from components.render import stack_files
from tests.harness import ROOT


def render(stack, out):
    return subprocess.run(
        [sys.executable, "-m", "components.render", "--stack", stack, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_render_writes_the_hosts_filesystem_and_repository_payloads(stack, tmp_path):
    result = render(stack, tmp_path)
    assert result.returncode == 0, result.stderr
    settings = stack_settings.from_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    expected = stack_files(settings)
    for host_file in expected.host_files:
        written = tmp_path / host_file.path.lstrip("/")
        assert written.read_text() == host_file.content, host_file.path
    site = tmp_path / "etc/nginx/conf.d/nexus-registry.conf"
    assert settings.registry_fqdn in site.read_text()
    # Certificates are referenced at their real paths but not written: they exist only after deploy.
    assert f"/etc/pki/nginx/{settings.registry_fqdn}.crt" in site.read_text()
    payloads = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "nexus-api").glob("*.json")}
    assert {"docker-proxy", "docker-hosted", "docker-group"} <= set(payloads)
    assert ("pypi-proxy" in payloads) == settings.nexus.pypi_proxy
    assert ("yum-proxy" in payloads) == settings.nexus.yum_proxy
    assert payloads == json.loads(json.dumps(expected.api_payloads))


def test_render_uses_placeholders_for_secrets(tmp_path):
    assert render("lab", tmp_path).returncode == 0
    text = "\n".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "PRIVATE KEY-----\n" not in text.replace("<secret:", "")
    assert "Correct-Horse" not in text


def test_render_rejects_an_unknown_stack(tmp_path):
    result = render("staging-that-does-not-exist", tmp_path)
    assert result.returncode == 2 and "no stack file" in result.stderr


def test_render_reports_bad_settings_with_the_key(tmp_path, monkeypatch):
    bad = ROOT / "stacks" / "Pulumi.render-bad-test.yaml"
    bad.write_text("config:\n  nexus-registry:domain: example.com\n  nexus-registry:server:\n    mode: vm\n")
    try:
        result = render("render-bad-test", tmp_path)
    finally:
        bad.unlink()
    assert result.returncode == 2
    assert "nexus-registry:server.mode: 'vm' is not allowed" in result.stderr
