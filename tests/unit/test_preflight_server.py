"""Existing servers: the probe script is real (rendered, shellchecked, run here read-only), SSH goes through a
stand-in ``ssh`` that answers as OpenSSH does (host key mismatch, refused login, success), and the OS table is
the prepare script's own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from components.preflight import server
from tests import harness
from tests.support.preflight import facts, lab

FAKE_SSH = r"""#!/usr/bin/env bash
printf '%s\n' "$@" > "$FAKE_SSH_ARGS"
cat > "$FAKE_SSH_STDIN"
case "$FAKE_SSH_MODE" in
  changed) echo "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@" >&2
           echo "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @" >&2
           echo "Host key verification failed." >&2; exit 255 ;;
  denied)  echo "root@10.0.8.15: Permission denied (publickey)." >&2; exit 255 ;;
  refused) echo "ssh: connect to host 10.0.8.15 port 22: Connection refused" >&2; exit 255 ;;
  *)       printf '%s\n' "$FAKE_SSH_FACTS" ;;
esac
"""


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(FAKE_SSH)
    (bin_dir / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_SSH_ARGS", str(tmp_path / "args"))
    monkeypatch.setenv("FAKE_SSH_STDIN", str(tmp_path / "stdin"))

    def answer(mode="ok", **fact_values):
        monkeypatch.setenv("FAKE_SSH_MODE", mode)
        monkeypatch.setenv("FAKE_SSH_FACTS", facts(**fact_values))
        return tmp_path
    return answer


def test_the_host_key_is_pinned_and_nothing_can_prompt(fake_ssh, tmp_path):
    work = fake_ssh()
    settings = lab()
    assert server.check(settings, {"SSH_KEY_FILE": "/keys/lab"}) == []
    args = (work / "args").read_text().splitlines()
    assert args[-2:] == ["root@10.0.8.15", "sh -s"]
    for option in ("BatchMode=yes", "StrictHostKeyChecking=yes", "GlobalKnownHostsFile=/dev/null",
                   "IdentitiesOnly=yes"):
        assert option in args
    assert args[args.index("-i") + 1] == "/keys/lab"
    assert (work / "stdin").read_text() == server.probe_script(settings)


def test_known_hosts_line_carries_a_non_default_port():
    assert server.known_hosts_line(lab(port=2222).server) == f"[10.0.8.15]:2222 {harness.LAB_HOST_KEY}\n"
    assert server.known_hosts_line(lab().server) == f"10.0.8.15 {harness.LAB_HOST_KEY}\n"


@pytest.mark.parametrize("mode, subject, words", [
    ("changed", "nexus-registry:server.hostKey", "presented another SSH host key"),
    ("refused", "nexus-registry:server.address", "Connection refused"),
])
def test_ssh_failures_name_the_setting(fake_ssh, mode, subject, words):
    fake_ssh(mode)
    [finding] = server.check(lab(), {})
    assert finding.severity == "error" and finding.subject == subject and words in finding.message


def test_a_login_refused_after_the_host_key_matched_is_a_warning_naming_ssh_key_file(fake_ssh):
    fake_ssh("denied")
    [finding] = server.check(lab(), {})
    assert finding.severity == "warning" and "export SSH_KEY_FILE" in finding.message


@pytest.mark.parametrize("values, subject, words", [
    ({"os_id": "centos", "version": "8"}, "nexus-registry:server.address", "centos 8, which the host scripts"),
    ({"mem_kib": 4 * 1024 * 1024}, "nexus-registry:server.address", "4096 MiB of memory"),
    ({"avail_kib": 3 * 1024 * 1024}, "nexus-registry:server.address", "3 GB free, below 10 GB"),
])
def test_unsupported_os_small_memory_small_disk(fake_ssh, values, subject, words):
    fake_ssh(**values)
    [finding] = server.check(lab(), {})
    assert finding.severity == "error" and finding.subject == subject and words in finding.message


def test_centos_7_is_a_warning():
    [finding] = server.judge(lab(), server.parse_facts(facts("centos", "7")))
    assert finding.severity == "warning" and "end of life" in finding.message


def test_the_os_table_is_the_prepare_scripts_own():
    template = (Path(server.__file__).parents[1] / "templates/host/nexus-prepare-host.sh.j2").read_text()
    detect = template[template.index("detect_os() {"):template.index("settle_package_manager")]
    patterns = set(re.findall(r"\b([a-z]+):([0-9.*]+)\b", detect))
    exact = {(i, v) for i, v in patterns if "." in v and not v.endswith("*")}
    major = {(i, v.split(".")[0]) for i, v in patterns if "." not in v or v.endswith("*")}
    assert exact == server.SUPPORTED_EXACT
    assert major == server.SUPPORTED_MAJOR


def test_the_probe_passes_shellcheck_and_runs_read_only_here(tmp_path):
    script = server.probe_script(lab(dataDevice="/dev/disk/by-id/virtio-missing-disk"))
    path = tmp_path / "probe.sh"
    path.write_text(script)
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed; this test never skips"
    lint = subprocess.run([shellcheck, "--shell=sh", "--severity=style", str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    result = subprocess.run(["sh", "-s"], input=script, capture_output=True, text=True, timeout=30)
    found = server.parse_facts(result.stdout)
    assert found["MemTotalKiB"].isdigit() and found["DiskAvailKiB"].isdigit() and found["ID"]
    assert found["DeviceBytes"] == "missing"
