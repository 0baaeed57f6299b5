"""``make status STACK=...`` (scripts/status.sh): the stack's SSH target and key from Pulumi, the host
script over SSH, its exit status passed on, the key only ever in a private temporary file.

Stand-ins for ``pulumi`` and ``ssh`` on PATH record what they are asked and answer like the real
ones for a deployed stack, so no Pulumi CLI, backend or server is needed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from components.render import nexus_ops
from tests.harness import ROOT

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"

FAKE_PULUMI = r"""#!/usr/bin/env bash
echo "$*" >> "$CALLS"
case "$*" in
  whoami) exit 0 ;;
  "stack output --stack "*" ssh") [[ -n ${SSH_OUTPUT:-} ]] || exit 255; echo "$SSH_OUTPUT" ;;
  "stack output --stack "*" --show-secrets sshPrivateKey")
    [[ -n ${KEY_OUTPUT:-} ]] || exit 255; printf '%s' "$KEY_OUTPUT" ;;
  "config get --stack "*" sshPrivateKey") [[ -n ${KEY_CONFIG:-} ]] || exit 255; printf '%s' "$KEY_CONFIG" ;;
  *) exit 1 ;;
esac
"""

# Records argv, the mode and content of the -i key file at call time, and exits as told.
FAKE_SSH = r"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
key = {}
if "-i" in args:
    path = args[args.index("-i") + 1]
    key = {"path": path, "mode": oct(os.stat(path).st_mode & 0o777), "content": open(path).read()}
json.dump({"args": args, "key": key}, open(os.environ["SSH_RECORD"], "w"))
print("nexus-registry status: Nexus 3.86.2 (COMMUNITY) ...")
sys.exit(int(os.environ.get("REMOTE_EXIT", "0")))
"""


def run_status(tmp_path, *args, **env_extra):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in (("pulumi", FAKE_PULUMI), ("ssh", FAKE_SSH)):
        tool = bin_dir / name
        tool.write_text(body)
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_BACKEND_URL"}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "CALLS": str(tmp_path / "calls"),
                "SSH_RECORD": str(tmp_path / "ssh.json"), "HOME": str(tmp_path), **env_extra})
    result = subprocess.run(["bash", str(ROOT / "scripts" / "status.sh"), *args], env=env, capture_output=True,
                            text=True, timeout=60)
    record = json.loads((tmp_path / "ssh.json").read_text()) if (tmp_path / "ssh.json").exists() else None
    return result, record


def test_a_cvm_stack_is_checked_with_the_key_it_generated(tmp_path):
    result, record = run_status(tmp_path, "dev", SSH_OUTPUT="ssh ubuntu@203.0.113.10", KEY_OUTPUT=KEY)
    assert result.returncode == 0, result.stderr
    assert "nexus-registry status" in result.stdout
    args = record["args"]
    assert args[-2:] == ["ubuntu@203.0.113.10", f"sudo -n {nexus_ops.STATUS_SCRIPT}"]
    assert "IdentitiesOnly=yes" in args and "BatchMode=yes" in args
    assert record["key"]["mode"] == "0o600" and record["key"]["content"] == KEY
    assert not os.path.exists(record["key"]["path"]), "the key file must be removed"
    assert KEY.splitlines()[1] not in " ".join(args)


def test_an_existing_server_uses_the_configured_key_its_port_and_root_needs_no_sudo(tmp_path):
    result, record = run_status(tmp_path, "lab", SSH_OUTPUT="ssh -p 2222 root@192.0.2.10", KEY_CONFIG=KEY)
    assert result.returncode == 0, result.stderr
    args = record["args"]
    assert args[:2] == ["-p", "2222"]
    assert args[-2:] == ["root@192.0.2.10", nexus_ops.STATUS_SCRIPT]
    assert record["key"]["content"] == KEY


def test_without_any_stored_key_ssh_uses_your_own(tmp_path):
    result, record = run_status(tmp_path, "lab", SSH_OUTPUT="ssh root@192.0.2.10")
    assert result.returncode == 0, result.stderr
    assert "-i" not in record["args"] and record["key"] == {}


@pytest.mark.parametrize("remote_exit", ["3", "1"])
def test_warnings_and_errors_of_the_host_script_are_the_exit_status(tmp_path, remote_exit):
    result, _ = run_status(tmp_path, "dev", SSH_OUTPUT="ssh ubuntu@203.0.113.10", KEY_OUTPUT=KEY,
                           REMOTE_EXIT=remote_exit)
    assert result.returncode == int(remote_exit)


def test_a_stack_not_deployed_yet_says_so(tmp_path):
    result, record = run_status(tmp_path, "dev")
    assert result.returncode == 2 and record is None
    assert "deploy it first with make up STACK=dev" in result.stderr


def test_no_stack_prints_usage(tmp_path):
    result, _ = run_status(tmp_path)
    assert result.returncode == 2 and "usage: make status STACK=<stack>" in result.stderr


def test_make_status_runs_the_script():
    makefile = (ROOT / "Makefile").read_text()
    assert 'status:\n\t@scripts/status.sh "$(STACK)"' in makefile
