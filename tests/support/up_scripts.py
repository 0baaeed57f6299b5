"""``make up / init / ssh / status / render`` (scripts/*.sh) in a copy of the repository, with stand-in
``pulumi``, ``curl`` and ``ssh`` executables on PATH that record their arguments (and what arrived on
stdin and in the environment).  ``repository_copy`` makes the copy (the ``repo`` fixture of
tests/system/conftest.py), ``run`` runs one script in it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

from tests.harness import ROOT, write_stack_file

FAKE_PULUMI = r"""#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
echo "$1 AWS_REQUEST_CHECKSUM_CALCULATION=${AWS_REQUEST_CHECKSUM_CALCULATION:-unset}" \
  "AWS_RESPONSE_CHECKSUM_VALIDATION=${AWS_RESPONSE_CHECKSUM_VALIDATION:-unset}" >> "$FAKE_LOG.env"
echo "$1 NEXUS_REGISTRY_CONVERGE=${NEXUS_REGISTRY_CONVERGE:-unset}" >> "$FAKE_LOG.converge"
case "$1 $2" in
  "config set") value=$(cat)   # the value arrives on stdin (asked by up.sh, or a file), never as an argument
                echo "${!#} ${value:0:30} passphrase=${PULUMI_CONFIG_PASSPHRASE:-unset}" >> "$FAKE_LOG.values" ;;
  "stack output")
    case "$*" in
      *--show-secrets*sshPrivateKey*) [[ -n "${FAKE_STACK_KEY:-}" ]] || exit 1; printf '%s' "$FAKE_STACK_KEY" ;;
      *sshKnownHosts) [[ -n "${FAKE_KNOWN_HOSTS:-}" ]] || exit 1; echo "$FAKE_KNOWN_HOSTS" ;;
      *ssh) [[ -n "${FAKE_SSH_OUTPUT:-}" ]] || exit 1; echo "$FAKE_SSH_OUTPUT" ;;
    esac ;;
  "config get") [[ -n "${FAKE_CONFIG_KEY:-}" ]] || exit 1; printf '%s' "$FAKE_CONFIG_KEY" ;;
esac
exit 0
"""

FAKE_CURL = r"""#!/usr/bin/env bash
echo "curl $*" >> "$FAKE_LOG"
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in -o) out=$2; shift 2 ;; *) url=$1; shift ;; esac
done
if [[ -z "${FAKE_TARBALL:-}" ]]; then
  echo "curl: (6) Could not resolve host: ${url#https://}" >&2
  exit 6
fi
cp "$FAKE_TARBALL" "$out"
"""

FAKE_SSH = r"""#!/usr/bin/env bash
echo "ssh $*" >> "$FAKE_LOG"
while [[ $# -gt 0 ]]; do
  if [[ "$1" == -i ]]; then
    echo "key $2 mode=$(stat -c %a "$2") $(head -c 30 "$2")" >> "$FAKE_LOG"
  fi
  if [[ "$1" == -o && "$2" == UserKnownHostsFile=* ]]; then
    echo "known_hosts $(cat "${2#UserKnownHostsFile=}")" >> "$FAKE_LOG"
  fi
  shift
done
[[ -z "${FAKE_REMOTE_EXIT:-}" ]] || echo "nexus-registry status: Nexus 3.93.2 (COMMUNITY) ..."
exit "${FAKE_REMOTE_EXIT:-0}"
"""

PASSPHRASE = "stack-passphrase-for-tests"
PASSWORD = "Correct-Horse-Battery-9"
NEW_STACK = f"{PASSPHRASE}\n{PASSPHRASE}\n"  # a new stack's passphrase is asked twice
CI_PASSWORD = "Ci-Push-Password-17"  # userPasswords.ci: the shipped stacks list the user ci
OPENSSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----\n"


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def run(repo_dir: Path, script: str, *args, stdin="", env_extra=None, with_pulumi=True, shell="bash"):
    home = repo_dir.parent / "home"
    home.mkdir(exist_ok=True)
    bin_dir = repo_dir.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    executable(bin_dir / "curl", FAKE_CURL)
    executable(bin_dir / "ssh", FAKE_SSH)
    if with_pulumi:
        executable(bin_dir / "pulumi", FAKE_PULUMI)
    elif (bin_dir / "pulumi").exists():
        (bin_dir / "pulumi").unlink()
    log = repo_dir.parent / "calls"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PULUMI_", "TENCENTCLOUD_")) and k not in ("SSH_KEY_FILE",)}
    env.update({"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "FAKE_LOG": str(log), "HOME": str(home)})
    env["PREFLIGHT"] = "0"  # the preflight asks the cloud: tests/system/test_up_preflight.py turns it on
    env.update(env_extra or {})
    started = time.monotonic()
    result = subprocess.run([shell, str(repo_dir / "scripts" / script), *args], cwd=repo_dir.parent, env=env,
                            input=stdin, capture_output=True, text=True, timeout=300)
    result.seconds = time.monotonic() - started
    result.calls = log.read_text().splitlines() if log.exists() else []
    values = Path(f"{log}.values")
    result.values = values.read_text().splitlines() if values.exists() else []
    pulumi_env = Path(f"{log}.env")
    result.pulumi_env = pulumi_env.read_text().splitlines() if pulumi_env.exists() else []
    return result


def repository_copy(tmp_path: Path) -> Path:
    """A copy of the repository (scripts, components, stacks with the test stand-ins) and a venv wrapper."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("scripts", "components", "stacks", "locale"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("requirements.txt", "requirements.lock", "requirements-build.lock", "Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, copy / name)
    for stack in ("dev", "prod", "lab"):
        write_stack_file(stack, copy / "stacks")
    venv_bin = copy / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    # The shared venv already holds the locked requirements; the stamp says so, so nothing is installed.
    executable(venv_bin / "python", f'#!/bin/sh\nexec "{ROOT / ".venv/bin/python"}" "$@"\n')
    digests = [hashlib.sha256((copy / lock).read_bytes()).hexdigest()
               for lock in ("requirements-build.lock", "requirements.lock")]
    (copy / ".venv" / ".nexus-registry-requirements.sha256").write_text(" ".join(digests) + "\n")
    return copy
