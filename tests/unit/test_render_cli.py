"""``python -m components.render``: a stack's host files, reviewable without Pulumi or a cloud."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from components.render.manifest import MANIFEST_NAME
from components.render.stack import stack_files
from tests.harness import LAB_HOST_KEY, ROOT, TEST_SECRETS, run_stack, stack_settings, write_stack_file
from tests.support.bundles import SECRET_SIG


def render(stack_or_file, out):
    source = ["--stack-file", str(stack_or_file)] if "/" in str(stack_or_file) else ["--stack", stack_or_file]
    return subprocess.run(
        [sys.executable, "-m", "components.render", *source, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_render_writes_the_hosts_filesystem_and_repository_payloads(stack, tmp_path):
    out = tmp_path / "out"
    result = render(write_stack_file(stack, tmp_path), out)
    assert result.returncode == 0, result.stderr
    settings = stack_settings(stack)
    expected = stack_files(settings)
    for host_file in expected.host_files:
        written = out / host_file.path.lstrip("/")
        assert written.read_text() == host_file.content, host_file.path
    site = out / "etc/nginx/conf.d/nexus-registry.conf"
    assert settings.registry_fqdn in site.read_text()
    # Certificates are referenced at their real paths but not written: they exist only after deploy.
    assert f"/etc/pki/nginx/{settings.registry_fqdn}.crt" in site.read_text()
    payloads = {p.stem: json.loads(p.read_text()) for p in (out / "nexus-api").glob("*.json")}
    assert {"docker-proxy", "docker-hosted", "docker-group"} <= set(payloads)
    assert ("pypi-proxy" in payloads) == settings.nexus.pypi_proxy
    assert ("yum-proxy" in payloads) == settings.nexus.yum_proxy
    assert payloads == json.loads(json.dumps(expected.api_payloads))


def test_the_shipped_placeholders_stop_render_with_what_to_edit(tmp_path):
    result = render("dev", tmp_path / "out")
    assert result.returncode == 2
    assert "nexus-registry:domain: 'example.com' is a placeholder" in result.stderr
    assert "stacks/Pulumi.dev.yaml" in result.stderr
    assert not (tmp_path / "out").exists()


def test_render_uses_placeholders_for_secrets(tmp_path):
    assert render(write_stack_file("lab", tmp_path), tmp_path / "out").returncode == 0
    text = "\n".join(p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert "PRIVATE KEY-----\n" not in text.replace("<secret:", "")
    assert "Correct-Horse" not in text


def test_render_rejects_an_unknown_stack(tmp_path):
    result = render("staging-that-does-not-exist", tmp_path)
    assert result.returncode == 2 and "no stack file" in result.stderr


def test_render_reports_bad_settings_with_the_key(tmp_path):
    bad = tmp_path / "Pulumi.render-bad-test.yaml"
    bad.write_text("config:\n  nexus-registry:domain: widgets-inc.cn\n  nexus-registry:server:\n    mode: vm\n")
    result = render(bad, tmp_path / "out")
    assert result.returncode == 2
    assert "nexus-registry:server.mode: 'vm' is not allowed" in result.stderr


def test_a_second_render_leaves_no_stale_file(tmp_path):
    out = tmp_path / "out"
    assert render(write_stack_file("dev", tmp_path), out).returncode == 0
    stale = out / "etc/nginx/conf.d/renamed-in-an-older-version.conf"
    stale.write_text("server {}\n")
    (out / "nexus-api/dropped-repository.json").write_text("{}\n")
    assert render(write_stack_file("dev", tmp_path), out).returncode == 0
    assert not stale.exists() and not (out / "nexus-api/dropped-repository.json").exists()
    assert (out / "etc/nginx/conf.d/nexus-registry.conf").is_file()
    assert not list(tmp_path.glob(".out.rendering*"))


def test_a_directory_that_is_not_a_render_is_never_emptied(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me\n")
    result = render(write_stack_file("dev", tmp_path), mine)
    assert result.returncode == 2 and "holds no MANIFEST.txt" in result.stderr
    assert (mine / "notes.txt").read_text() == "keep me\n"


def _manifest(out):
    """{path: (mode, owner, secret, content)} from MANIFEST.txt."""
    rows = {}
    for line in (out / MANIFEST_NAME).read_text().splitlines()[3:]:
        path, mode, owner, secret, content = re.split(r"\s{2,}", line, maxsplit=4)
        rows[path] = (mode, owner, secret, content)
    return rows


def _bundled(run):
    """{host path: mode} of every file any host step of a mocked program run installs."""
    paths = {}
    for resource in run.of_type("command:remote:Command"):
        stdin = resource.inputs.get("stdin")
        if isinstance(stdin, dict) and stdin.get(SECRET_SIG):
            stdin = stdin["value"]
        for path, mode in re.findall(r"^_nr_put '([^']+)' (\d{4}) <<", stdin or "", re.M):
            paths[path] = mode
    return paths


@pytest.mark.parametrize("stack, overrides", [
    ("dev", {}), ("prod", {}), ("lab", {}),
    ("lab", {"server": {"mode": "existing", "address": "10.0.8.15", "dataDevice": "/dev/disk/by-id/virtio-nx",
                        "hostKey": LAB_HOST_KEY}}),
])
def test_the_manifest_lists_every_path_a_deploy_puts_on_the_host(stack, overrides, tmp_path):
    out = tmp_path / "out"
    stack_file = write_stack_file(stack, tmp_path)
    if overrides:
        import yaml

        document = yaml.safe_load(stack_file.read_text())
        document["config"].update({f"nexus-registry:{k}": v for k, v in overrides.items()})
        stack_file.write_text(yaml.safe_dump(document))
    assert render(stack_file, out).returncode == 0
    manifest = _manifest(out)
    deployed = _bundled(run_stack(stack, overrides))
    assert deployed, "no host step found"
    missing = {path: mode for path, mode in deployed.items() if path not in manifest}
    assert missing == {}, f"{MANIFEST_NAME} lacks host paths a deploy writes: {missing}"
    for path, mode in deployed.items():
        if manifest[path][0] != "link":
            # The bundle writes every secret file 0600; deploy-nginx then opens certificate chains to 0644.
            assert manifest[path][0] == mode or path.endswith(".crt"), (path, manifest[path], mode)
    # What the manifest calls rendered is in the directory; secrets are placeholders, never values.
    for path, (mode, _owner, secret, content) in manifest.items():
        assert (content == "rendered") == (out / path.lstrip("/")).is_file(), path
        if secret == "yes":
            assert content.startswith("<") and mode == "0600", path
    text = (out / MANIFEST_NAME).read_text()
    assert TEST_SECRETS["nexus-registry:adminPassword"] not in text
    assert manifest["/etc/nexus-registry/secrets/nexus-admin-password"][2:] == ("yes", "<secret:adminPassword>")
    assert manifest["/etc/nginx/nexus-registry/active"][0] == "link"
    has_disk = stack != "lab" or overrides
    assert ("/etc/fstab" in manifest) == bool(has_disk)
    assert ("/etc/docker/daemon.json" in manifest) == (stack != "lab")
    assert manifest["/srv/nexus/nexus-data"][1] == "200:200"


DOC_REFERENCE = re.compile(
    r"\b(?P<doc>[\w./-]+\.md)\b"
    r"(?:,?\s+(?:\"(?P<section>[^\"]+)\"|Pitfalls?\s+(?P<numbers>\d+(?:\s*(?:,|and)\s*\d+)*)))?"
)


@pytest.mark.parametrize("stack", ["dev", "lab"])
def test_every_reference_in_a_rendered_file_resolves_inside_the_repository(stack, tmp_path):
    out = tmp_path / "out"
    assert render(write_stack_file(stack, tmp_path), out).returncode == 0
    checked = 0
    for path in out.rglob("*"):
        if not path.is_file() or path.name == MANIFEST_NAME:
            continue
        for line in path.read_text().splitlines():
            assert "DESIGN.md" not in line, f"{path}: {line}"
            if re.search(r"\bPitfalls?\s+\d", line):
                assert DOC_REFERENCE.search(line) and DOC_REFERENCE.search(line)["numbers"], \
                    f"{path}: a pitfall cited without the document that lists it: {line}"
            for match in DOC_REFERENCE.finditer(line):
                document = ROOT / match["doc"]
                assert document.is_file(), f"{path}: {match['doc']} is not in the repository"
                text = document.read_text()
                if match["section"]:
                    assert re.search(rf"^#+ {re.escape(match['section'])}", text, re.M), (path, match[0])
                for number in re.findall(r"\d+", match["numbers"] or ""):
                    pitfalls = text[text.index("## Pitfalls"):]
                    assert re.search(rf"^{number}\. ", pitfalls, re.M), (path, match[0])
                checked += 1
    assert checked >= 3  # the routing table and the pitfalls cited by the host scripts
