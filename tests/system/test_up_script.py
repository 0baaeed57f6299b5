"""``make up STACK=...`` (scripts/up.sh) drives the Pulumi CLI in the order a fresh machine needs.

A stand-in ``pulumi`` on PATH records its arguments and answers like the CLI
on a machine that is not logged in, for a stack whose secrets are not set, so
the script's decisions are checked without a Pulumi CLI or a backend.
"""

from __future__ import annotations

import os
import stat
import subprocess

from tests.harness import ROOT

FAKE_PULUMI = """#!/usr/bin/env bash
echo "$*" >> "$PULUMI_CALLS"
case "$1 $2" in
  "whoami ") exit 1 ;;                 # not logged in anywhere yet
  "config get") exit 1 ;;              # no secret set yet
  "config set") read -r value || true  # the value arrives on stdin (a prompt or a file), never as an argument
                echo "${value:0:30}" >> "$PULUMI_CALLS.values" ;;
esac
exit 0
"""


def run_up(tmp_path, stack, *args, env_extra=None, stdin=""):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls"
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_BACKEND_URL"}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "PULUMI_CALLS": str(calls), "HOME": str(tmp_path)})
    env.update(env_extra or {})
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "up.sh"), stack, *args], cwd=tmp_path, env=env,
        input=stdin, capture_output=True, text=True, timeout=600,
    )
    lines = calls.read_text().splitlines() if calls.exists() else []
    return result, lines


def test_fresh_machine_logs_in_locally_creates_the_stack_asks_for_secrets_then_deploys(tmp_path):
    result, calls = run_up(tmp_path, "dev", "up", stdin="Correct-Horse-Battery-9\nCi-Push-Password-17\n")
    assert result.returncode == 0, result.stderr
    # Each user of the stack file's `users` gets its own password, set by --path.
    assert calls[-3:-1] == ["config get --stack dev --path userPasswords.ci",
                            "config set --stack dev --secret --path userPasswords.ci"]
    assert (tmp_path / "calls.values").read_text().splitlines() == ["Correct-Horse-Battery-9", "Ci-Push-Password-17"]
    assert calls[:5] == [
        "whoami",
        f"login file://{ROOT / '.pulumi-state'}",
        "stack select dev --create",
        "config get --stack dev adminPassword",
        "config set --stack dev --secret adminPassword",
    ]
    assert calls[-1] == "up --stack dev"
    assert "using local state" in result.stdout
    # dev is a cvm stack without Docker Hub credentials: no other secret is asked for.
    assert not any("sshPrivateKey" in c or "dockerHubToken" in c for c in calls)
    assert not any("Correct-Horse" in c or "Ci-Push" in c for c in calls)  # passwords are never arguments


def test_an_existing_server_stack_reads_the_ssh_key_from_the_file_named(tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n")
    result, calls = run_up(tmp_path, "lab", "preview", stdin=f"Correct-Horse-Battery-9\n{key}\nCi-Push-Password-17\n")
    assert result.returncode == 0, result.stderr
    assert "config set --stack lab --secret sshPrivateKey" in calls
    values = (tmp_path / "calls.values").read_text().splitlines()
    assert values == ["Correct-Horse-Battery-9", "-----BEGIN OPENSSH PRIVATE KEY", "Ci-Push-Password-17"]
    assert calls[-1] == "preview --stack lab"


def test_a_chosen_backend_is_respected(tmp_path):
    result, calls = run_up(tmp_path, "prod", "up", env_extra={"PULUMI_BACKEND_URL": "s3://bucket/state"},
                           stdin="Correct-Horse-Battery-9\n")
    assert result.returncode == 0, result.stderr
    assert not any(c.startswith(("login", "whoami")) for c in calls)
    assert calls[-1] == "up --stack prod"


def test_no_stack_prints_usage_with_the_shipped_stacks(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "scripts" / "up.sh")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage: make up STACK=<stack>" in result.stderr and "dev lab prod" in result.stderr
