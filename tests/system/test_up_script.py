"""``make up / init / ssh / status / render`` (scripts/*.sh) drive the tools in the order a fresh machine needs.

Stand-in ``pulumi``, ``curl`` and ``ssh`` executables on PATH record their
arguments (and what arrived on stdin and in the environment), so the scripts'
decisions are checked without a Pulumi CLI, a backend or a network.  Each test
runs the scripts in a copy of the repository whose stack files hold the test
stand-ins (``tests.harness.write_stack_file``), except where the shipped
placeholders themselves are the point.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import resource
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from components.host_layout import RESTORE_SCRIPT, RETENTION_SCRIPT
from tests.harness import ROOT
from tests.support.up_scripts import (
    CI_PASSWORD,
    FAKE_CURL,
    FAKE_PULUMI,
    NEW_STACK,
    OPENSSH_KEY,
    PASSPHRASE,
    PASSWORD,
    executable,
    run,
)

# --- the stack file comes first ----------------------------------------------------------


def test_the_shipped_placeholders_stop_make_up_in_seconds_before_anything_else(tmp_path):
    log = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("pulumi", FAKE_PULUMI), ("curl", FAKE_CURL)):
        executable(bin_dir / name, text)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log), "HOME": str(tmp_path)}
    # CPU seconds of the whole run (up.sh and everything it started), not wall time: the check must do
    # little work, and a loaded machine (CI runners, parallel suites) must not make that flaky.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(["bash", str(ROOT / "scripts/up.sh"), "dev", "up"], env=env, input="",
                            capture_output=True, text=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert result.returncode == 2
    assert seconds < 5, f"the check used {seconds:.1f} s of CPU (no install, no Pulumi: about 2 s)"
    assert not log.exists(), "pulumi or curl ran before the stack file was checked"
    lines = result.stderr.splitlines()
    assert lines[0].startswith("nexus-registry:domain: 'example.com' is a placeholder")
    assert lines[1].startswith("nexus-registry:server.sshAllowedCidrs[0]: '203.0.113.0/24' is a placeholder")
    assert all("stacks/Pulumi.dev.yaml" in line for line in lines)


def test_yaml_errors_misspelt_namespaces_and_flat_keys_are_reported_one_line_each(repo):
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    text = stack_file.read_text()
    stack_file.write_text(text.replace("config:\n", "config:\n  nexus-regsitry:webHost: ui\n"
                                       "  tencentcloud:regoin: ap-guangzhou\n"
                                       "  nexus-registry:server.address: 10.0.0.1\n", 1))
    result = run(repo, "up.sh", "dev")
    assert result.returncode == 2 and result.calls == []
    problems = result.stderr.splitlines()[:-1]
    assert problems == [
        "nexus-regsitry:webHost: 'nexus-regsitry' is not a namespace this project reads (did you mean "
        "nexus-registry?); use nexus-registry, tencentcloud, pulumi",
        "tencentcloud:regoin: is not a tencentcloud provider setting (did you mean region?)",
        "nexus-registry:server.address: a nested setting stored as one flat key; set it with "
        "`pulumi config set --path 'server.address' <value>` and remove this one with "
        "`pulumi config rm 'server.address'`",
    ]
    stack_file.write_text(text + "  nexus-registry:webHost nexus\n   broken: [\n")
    result = run(repo, "up.sh", "dev")
    assert result.returncode == 2 and result.calls == []
    assert result.stderr.startswith(f"stacks/Pulumi.dev.yaml:{len(text.splitlines()) + 2}:"), result.stderr
    assert "YAML syntax error" in result.stderr.splitlines()[0]


def test_a_stack_without_a_file_is_not_created_but_explained(repo):
    result = run(repo, "up.sh", "prd")
    assert result.returncode == 2 and result.calls == []
    assert "there is no stack 'prd'" in result.stderr
    assert "make init STACK=prd FROM=<dev|prod|lab>" in result.stderr
    assert "dev lab prod" in result.stderr


def test_no_stack_prints_usage_with_the_shipped_stacks():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "up.sh")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage: make up STACK=<stack>" in result.stderr and "dev lab prod" in result.stderr


# --- backend, passphrase, secrets: every question visible, or answered by the environment ---------


def test_fresh_machine_logs_in_locally_asks_visibly_then_deploys(repo):
    result = run(repo, "up.sh", "dev", "up", stdin=f"{NEW_STACK}{PASSWORD}\n{CI_PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert result.calls == [
        f"login file://{repo / '.pulumi-state'}",
        "stack select dev --create",
        "config set --stack dev --secret adminPassword",
        "config set --stack dev --secret --path userPasswords.ci",
        "up --stack dev",
    ]
    assert not any(call.startswith(("whoami", "config get")) for call in result.calls)
    # Both questions were printed; the answers reached pulumi on stdin and through the environment.
    assert "passphrase that encrypts the secrets of stack dev" in result.stdout
    assert "the Nexus admin password is not set" in result.stdout
    assert "the password of the Nexus user ci is not set" in result.stdout
    assert result.values == [f"adminPassword {PASSWORD} passphrase={PASSPHRASE}",
                             f"userPasswords.ci {CI_PASSWORD} passphrase={PASSPHRASE}"]
    assert not any(PASSWORD in call or CI_PASSWORD in call for call in result.calls)  # never an argument
    assert "using local state" in result.stdout


def test_answers_from_the_environment_ask_nothing_and_a_logged_in_backend_is_kept(repo):
    credentials = repo.parent / "home" / ".pulumi" / "credentials.json"
    credentials.parent.mkdir(parents=True)
    credentials.write_text(json.dumps({"current": "s3://team-state?region=ap-guangzhou&endpoint=cos.ap-guangzhou"
                                                  ".myqcloud.com", "accounts": {}}))
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace(
        "config:\n", "config:\n  nexus-registry:adminPassword:\n    secure: v1:abcd\n"
                      "  nexus-registry:userPasswords:\n    ci:\n      secure: v1:efgh\n", 1))
    result = run(repo, "up.sh", "dev", "preview", env_extra={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    assert result.calls == ["stack select dev --create", "preview --stack dev"]
    assert "using the state backend you are logged into: s3://team-state" in result.stdout
    assert "passphrase" not in result.stdout


def test_pulumi_cloud_needs_no_passphrase(repo):
    result = run(repo, "up.sh", "prod", "up", stdin=f"{PASSWORD}\n{CI_PASSWORD}\n",
                 env_extra={"PULUMI_BACKEND_URL": "https://api.pulumi.com"})
    assert result.returncode == 0, result.stderr
    assert result.calls[0] == "stack select prod --create" and result.calls[-1] == "up --stack prod"
    assert result.values == [f"adminPassword {PASSWORD} passphrase=unset",
                             f"userPasswords.ci {CI_PASSWORD} passphrase=unset"]


def test_with_no_answer_on_stdin_make_up_stops_and_says_which_variable_answers(repo):
    result = run(repo, "up.sh", "dev", stdin="")
    assert result.returncode == 2
    assert "export PULUMI_CONFIG_PASSPHRASE" in result.stderr
    assert not any(call.startswith(("stack", "config", "up")) for call in result.calls)
    result = run(repo, "up.sh", "dev", stdin="", env_extra={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 2
    assert "no value for nexus-registry:adminPassword; set it with: pulumi config set --stack dev --secret " \
           "adminPassword" in result.stderr
    assert not any(call.startswith("up") for call in result.calls)


def test_an_existing_server_stack_reads_the_ssh_key_from_the_file_named(repo, tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text(OPENSSH_KEY)
    asked = run(repo, "up.sh", "lab", "preview", stdin=f"{NEW_STACK}{PASSWORD}\n{key}\n{CI_PASSWORD}\n")
    assert asked.returncode == 0, asked.stderr
    assert "path of the SSH private key for the existing server (or export SSH_KEY_FILE)" in asked.stdout
    assert asked.values == [f"adminPassword {PASSWORD} passphrase={PASSPHRASE}",
                            f"sshPrivateKey {OPENSSH_KEY[:30]} passphrase={PASSPHRASE}",
                            f"userPasswords.ci {CI_PASSWORD} passphrase={PASSPHRASE}"]
    assert asked.calls[-1] == "preview --stack lab"


def test_the_ssh_key_path_may_come_from_the_environment(repo, tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text(OPENSSH_KEY)
    result = run(repo, "up.sh", "lab", "preview", stdin=f"{PASSWORD}\n{CI_PASSWORD}\n",
                 env_extra={"SSH_KEY_FILE": str(key), "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    assert "path of the SSH private key" not in result.stdout
    assert result.values[1].startswith("sshPrivateKey -----BEGIN OPENSSH")


# --- the Pulumi CLI: a pinned tarball checked against a committed SHA-256 -----------------------


def _cli_tarball(path: Path) -> Path:
    """A release-shaped tarball (pulumi/pulumi, pulumi/pulumi-language-python) holding stand-ins."""
    with tarfile.open(path, "w:gz") as archive:
        for name, text in (("pulumi/pulumi", FAKE_PULUMI), ("pulumi/pulumi-language-python", "#!/bin/sh\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    return path


def _pin_checksum(repo: Path, tarball: Path) -> str:
    version = next(line.split("=")[1] for line in (repo / "scripts/pulumi-cli.sh").read_text().splitlines()
                   if line.startswith("PULUMI_VERSION="))
    name = f"pulumi-v{version}-linux-x64.tar.gz"
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    checksums = repo / "scripts/pulumi-cli.sha256"
    kept = [line for line in checksums.read_text().splitlines() if not line.endswith(f"  {name}")]
    checksums.write_text("\n".join([*kept, f"{digest}  {name}"]) + "\n")
    return name


def test_a_missing_cli_is_downloaded_checked_and_put_where_readme_says(repo, tmp_path):
    tarball = _cli_tarball(tmp_path / "release.tar.gz")
    name = _pin_checksum(repo, tarball)
    result = run(repo, "up.sh", "dev", stdin=f"{NEW_STACK}{PASSWORD}\n{CI_PASSWORD}\n", with_pulumi=False,
                 env_extra={"FAKE_TARBALL": str(tarball)})
    assert result.returncode == 0, result.stderr
    assert result.calls[0] == f"curl -fsSL --retry 2 -o {result.calls[0].split(' -o ')[1].split()[0]} " \
                              f"https://get.pulumi.com/releases/sdk/{name}"
    installed = repo.parent / "home" / ".pulumi" / "bin"
    assert (installed / "pulumi").is_file() and (installed / "pulumi-language-python").is_file()
    assert result.calls[-1] == "up --stack dev"  # the installed CLI ran the deployment
    assert 'export PATH="$HOME/.pulumi/bin:$PATH"' in result.stdout
    readme = (ROOT / "README.md").read_text()
    assert 'export PATH="$HOME/.pulumi/bin:$PATH"' in readme


def test_a_downloaded_tarball_is_used_and_a_wrong_checksum_refused(repo, tmp_path):
    tarball = _cli_tarball(tmp_path / "release.tar.gz")
    _pin_checksum(repo, tarball)
    result = run(repo, "up.sh", "dev", stdin=f"{NEW_STACK}{PASSWORD}\n{CI_PASSWORD}\n", with_pulumi=False,
                 env_extra={"PULUMI_CLI_TARBALL": str(tarball)})
    assert result.returncode == 0, result.stderr
    assert not any(call.startswith("curl") for call in result.calls)
    shutil.rmtree(repo.parent / "home" / ".pulumi")
    tampered = _cli_tarball(tmp_path / "tampered.tar.gz")
    with open(tampered, "ab") as extra:
        extra.write(b"\0")
    result = run(repo, "up.sh", "dev", with_pulumi=False, env_extra={"PULUMI_CLI_TARBALL": str(tampered)})
    assert result.returncode == 1
    assert "expected" in result.stderr and "Install it by hand" in result.stderr
    assert not (repo.parent / "home" / ".pulumi" / "bin" / "pulumi").exists()


def test_a_failed_download_says_how_to_install_by_hand(repo, tmp_path):
    _pin_checksum(repo, _cli_tarball(tmp_path / "release.tar.gz"))
    result = run(repo, "up.sh", "dev", with_pulumi=False)
    assert result.returncode == 1
    assert "curl: (6) Could not resolve host" in result.stderr
    advice = result.stderr[result.stderr.index("the Pulumi CLI could not be installed"):]
    assert "curl -fLO https://get.pulumi.com/releases/sdk/pulumi-v" in advice
    assert "tar -xzf" in advice and "PULUMI_CLI_TARBALL=/path/to/" in advice
    assert "re-run make up STACK=dev" in advice



def test_the_ci_installer_prints_the_path_entry_only_for_a_checked_cli(repo, tmp_path):
    tarball = _cli_tarball(tmp_path / "release.tar.gz")
    _pin_checksum(repo, tarball)
    installed = run(repo, "install-pulumi-cli.sh", with_pulumi=False, env_extra={"PULUMI_CLI_TARBALL": str(tarball)})
    assert installed.returncode == 0, installed.stderr
    cli_dir = repo.parent / "home" / ".pulumi" / "bin"
    assert installed.stdout == f"{cli_dir}\n"  # all the workflow appends to $GITHUB_PATH
    assert (cli_dir / "pulumi").is_file() and (cli_dir / "pulumi-language-python").is_file()
    shutil.rmtree(repo.parent / "home" / ".pulumi")
    tampered = _cli_tarball(tmp_path / "tampered.tar.gz")
    with open(tampered, "ab") as extra:
        extra.write(b"\0")
    refused = run(repo, "install-pulumi-cli.sh", with_pulumi=False, env_extra={"PULUMI_CLI_TARBALL": str(tampered)})
    assert refused.returncode == 1 and refused.stdout == ""
    assert "install-pulumi-cli: pulumi-v" in refused.stderr and "expected" in refused.stderr
    assert not (cli_dir / "pulumi").exists()

def test_a_platform_without_a_committed_checksum_is_never_downloaded(repo):
    bin_dir = repo.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    executable(bin_dir / "uname", '#!/bin/sh\ncase "$1" in -m) echo arm64 ;; *) echo Darwin ;; esac\n')
    result = run(repo, "up.sh", "dev", with_pulumi=False)
    assert result.returncode == 1
    assert not any(call.startswith("curl") for call in result.calls)
    assert "scripts/pulumi-cli.sha256 has no checksum for pulumi-v" in result.stderr
    assert "-darwin-arm64.tar.gz" in result.stderr and "Install it by hand" in result.stderr

def test_the_committed_checksums_are_well_formed():
    for line in (ROOT / "scripts/pulumi-cli.sha256").read_text().splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split("  ")
            assert len(digest) == 64 and int(digest, 16) >= 0
            assert name.startswith("pulumi-v") and name.endswith((".tar.gz", ".zip"))


# --- make init, make ssh, make render ----------------------------------------------------------


def test_make_init_creates_a_stack_file_from_a_template_and_lists_what_to_edit(repo):
    template = repo / "stacks" / "Pulumi.prod.yaml"
    template.write_text("encryptionsalt: v1:salt\n" + template.read_text().replace(
        "config:\n", "config:\n  nexus-registry:adminPassword:\n    secure: v1:prod-only\n", 1))
    shutil.copy(ROOT / "stacks" / "Pulumi.prod.yaml", repo / "stacks" / "Pulumi.shipped-prod.yaml")
    result = run(repo, "init-stack.sh", "staging", "shipped-prod")
    assert result.returncode == 0, result.stderr
    created = (repo / "stacks" / "Pulumi.staging.yaml").read_text()
    assert "nexus-registry:domain: example.com" in created
    assert "nexus-registry:domain: 'example.com' is a placeholder" in result.stderr
    assert "edit what the lines above name in stacks/Pulumi.staging.yaml, then: make up STACK=staging" in result.stdout
    result = run(repo, "init-stack.sh", "qa", "prod")
    assert result.returncode == 0, result.stderr
    created = (repo / "stacks" / "Pulumi.qa.yaml").read_text()
    assert "secure" not in created and "encryptionsalt" not in created
    assert "is ready: make up STACK=qa" in result.stdout
    again = run(repo, "init-stack.sh", "qa", "dev")
    assert again.returncode == 2 and "exists already" in again.stderr
    assert result.calls == []


def test_make_init_from_lab_is_not_ready_while_the_host_key_is_the_shipped_placeholder(repo):
    # The user's own address in place, the shipped host key placeholder left: still not ready.
    shipped = (ROOT / "stacks" / "Pulumi.lab.yaml").read_text()
    (repo / "stacks" / "Pulumi.shipped-lab.yaml").write_text(shipped.replace("192.0.2.10", "10.0.8.15"))
    result = run(repo, "init-stack.sh", "mylab", "shipped-lab")
    assert result.returncode == 0, result.stderr
    assert "is ready" not in result.stdout
    assert "edit what the lines above name in stacks/Pulumi.mylab.yaml" in result.stdout
    problems = result.stderr.splitlines()
    assert len(problems) == 1 and problems[0].startswith("nexus-registry:server.hostKey: "), problems
    assert "nexus-registry:server.hostKey: 'REPLACE-WITH-YOUR-SERVERS-HOST-KEY' is a placeholder" in result.stderr
    assert "cat /etc/ssh/ssh_host_ed25519_key.pub" in result.stderr and "stacks/Pulumi.mylab.yaml" in result.stderr


def ssh_call_of(result) -> tuple[str, str, str]:
    """The ssh stand-in's command line, and the key and known_hosts files it was given ("" when none)."""
    call = next(call for call in result.calls if call.startswith("ssh "))
    key_path = call.split(" -i ")[1].split()[0] if " -i " in call else ""
    hosts_path = call.split("UserKnownHostsFile=")[1].split()[0] if "UserKnownHostsFile=" in call else ""
    return call, key_path, hosts_path


def test_make_ssh_uses_the_generated_key_from_a_0600_file_it_removes(repo):
    known = "101.33.7.9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheStack"
    result = run(repo, "up.sh", "dev", "ssh", env_extra={
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "FAKE_SSH_OUTPUT": "ssh ubuntu@101.33.7.9",
        "FAKE_STACK_KEY": OPENSSH_KEY, "FAKE_KNOWN_HOSTS": known})
    assert result.returncode == 0, result.stderr
    ssh_call, key_path, hosts_path = ssh_call_of(result)
    assert ssh_call == (f"ssh -i {key_path} -o IdentitiesOnly=yes -o UserKnownHostsFile={hosts_path} "
                        "-o StrictHostKeyChecking=yes ubuntu@101.33.7.9")
    assert f"key {key_path} mode=600 {OPENSSH_KEY[:30]}" in result.calls
    assert f"known_hosts {known}" in result.calls  # the host key the stack pinned, checked strictly
    assert not Path(key_path).exists() and not Path(hosts_path).exists()
    assert "stack output --stack dev --show-secrets sshPrivateKey" in result.calls
    assert "stack select dev" in result.calls and "stack select dev --create" not in result.calls


def test_make_ssh_without_a_readable_stack_key_uses_your_own(repo):
    result = run(repo, "up.sh", "lab", "ssh", env_extra={
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "FAKE_SSH_OUTPUT": "ssh -p 2222 deploy@10.0.8.15"})
    assert result.returncode == 0, result.stderr
    assert "ssh -p 2222 deploy@10.0.8.15" in result.calls


def test_make_ssh_on_an_existing_server_uses_the_key_the_stack_deploys_with(repo):
    known = "[10.0.8.15]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExistingServerKey"
    result = run(repo, "up.sh", "lab", "ssh", env_extra={
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "FAKE_SSH_OUTPUT": "ssh -p 2222 deploy@10.0.8.15",
        "FAKE_CONFIG_KEY": OPENSSH_KEY, "FAKE_KNOWN_HOSTS": known})
    assert result.returncode == 0, result.stderr
    ssh_call, key_path, _ = ssh_call_of(result)
    assert f"key {key_path} mode=600 {OPENSSH_KEY[:30]}" in result.calls
    assert ssh_call.endswith("-o StrictHostKeyChecking=yes -p 2222 deploy@10.0.8.15")
    assert "config get --stack lab sshPrivateKey" in result.calls
    assert OPENSSH_KEY.splitlines()[1] not in "\n".join(result.calls)  # only its first 30 characters, logged above


# --- make status: the host's status script through the same pinned SSH as make ssh -----------------


@pytest.mark.parametrize("user, remote", [("ubuntu", "sudo -n /opt/nexus-registry/bin/nexus-status.sh"),
                                          ("root", "/opt/nexus-registry/bin/nexus-status.sh")])
def test_make_status_runs_the_host_script_with_the_pinned_host_key_and_no_prompt(repo, user, remote):
    known = "101.33.7.9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheStack"
    result = run(repo, "up.sh", "dev", "status", env_extra={
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "FAKE_SSH_OUTPUT": f"ssh {user}@101.33.7.9",
        "FAKE_STACK_KEY": OPENSSH_KEY, "FAKE_KNOWN_HOSTS": known, "FAKE_REMOTE_EXIT": "0"})
    assert result.returncode == 0, result.stderr
    assert "nexus-registry status: Nexus" in result.stdout
    ssh_call, key_path, hosts_path = ssh_call_of(result)
    assert ssh_call == (f"ssh -i {key_path} -o IdentitiesOnly=yes -o UserKnownHostsFile={hosts_path} "
                        "-o StrictHostKeyChecking=yes -n -o BatchMode=yes -o ConnectTimeout=20 "
                        f"{user}@101.33.7.9 {remote}")
    assert f"known_hosts {known}" in result.calls
    assert not Path(key_path).exists() and not Path(hosts_path).exists()
    assert "stack select dev --create" not in result.calls  # a stack that is not deployed is not created


def test_make_retention_plan_runs_the_retention_dry_run_over_the_same_ssh(repo):
    """``make retention-plan``: the host's nexus-retention.sh --dry-run, non-interactive, through the pinned SSH."""
    result = run(repo, "up.sh", "dev", "retention-plan", env_extra={
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "FAKE_SSH_OUTPUT": "ssh ubuntu@101.33.7.9",
        "FAKE_STACK_KEY": OPENSSH_KEY, "FAKE_KNOWN_HOSTS": "101.33.7.9 ssh-ed25519 AAAAC3Nza", "FAKE_REMOTE_EXIT": "0"})
    assert result.returncode == 0, result.stderr
    ssh_call, _key, _hosts = ssh_call_of(result)
    assert ssh_call.endswith("-n -o BatchMode=yes -o ConnectTimeout=20 ubuntu@101.33.7.9 "
                             f"sudo -n {RETENTION_SCRIPT} --dry-run")
    assert 'retention-plan:\n\t@scripts/up.sh "$(STACK)" retention-plan' in (ROOT / "Makefile").read_text()


@pytest.mark.parametrize("remote_exit", ["3", "1"])
def test_make_status_exits_with_the_host_scripts_warnings_and_errors(repo, remote_exit):
    result = run(repo, "up.sh", "dev", "status", env_extra={
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "FAKE_SSH_OUTPUT": "ssh ubuntu@101.33.7.9",
        "FAKE_REMOTE_EXIT": remote_exit})
    assert result.returncode == int(remote_exit)


def test_make_status_of_a_stack_not_deployed_yet_says_so(repo):
    result = run(repo, "up.sh", "dev", "status", env_extra={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 2
    assert not any(call.startswith("ssh ") for call in result.calls)
    assert "stack dev has no ssh output yet: deploy it first with make up STACK=dev" in result.stderr


def test_make_status_and_ssh_go_through_up_sh():
    makefile = (ROOT / "Makefile").read_text()
    assert 'status:\n\t@scripts/up.sh "$(STACK)" status' in makefile
    assert 'ssh:\n\t@scripts/up.sh "$(STACK)" ssh' in makefile

def test_make_render_needs_neither_pulumi_nor_the_network_and_replaces_its_output(repo):
    out = repo / "out" / "dev"
    first = run(repo, "render.sh", "dev")
    assert first.returncode == 0, first.stderr
    stale = out / "etc/nginx/conf.d/stale.conf"
    stale.write_text("server {}\n")
    second = run(repo, "render.sh", "dev")
    assert second.returncode == 0, second.stderr
    assert not stale.exists() and (out / "MANIFEST.txt").is_file()
    assert "/etc/nexus-registry/secrets/nexus-admin-password" in (out / "MANIFEST.txt").read_text()
    assert first.calls == [] and second.calls == []  # neither pulumi nor curl


# --- make restore and make converge ---------------------------------------------------------------


@pytest.mark.parametrize("source", ["snapshot", "/root/nexus-backup", "/srv/nexus/nexus-data/db-backup/nexus-1.zip"])
def test_restore_make_restore_runs_the_host_restore_with_from_over_the_pinned_ssh(repo, source):
    result = run(repo, "up.sh", "dev", "restore", source, env_extra={
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "FAKE_SSH_OUTPUT": "ssh ubuntu@101.33.7.9",
        "FAKE_STACK_KEY": OPENSSH_KEY, "FAKE_KNOWN_HOSTS": "101.33.7.9 ssh-ed25519 AAAAC3Nza"})
    assert result.returncode == 0, result.stderr
    ssh_call, _key, _hosts = ssh_call_of(result)
    assert ssh_call.endswith("-n -o BatchMode=yes -o ConnectTimeout=20 ubuntu@101.33.7.9 "
                             f"sudo -n {RESTORE_SCRIPT} {source}")
    assert "stack select dev --create" not in result.calls
    assert 'restore:\n\t@scripts/up.sh "$(STACK)" restore "$(FROM)"' in (ROOT / "Makefile").read_text()


@pytest.mark.parametrize("source", ["", "latest", "backup.zip", "/tmp/a b", "/tmp/$(reboot)", "/tmp/x;reboot"])
def test_restore_make_restore_refuses_a_from_the_host_could_misread(repo, source):
    result = run(repo, "up.sh", "dev", "restore", source, env_extra={
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "FAKE_SSH_OUTPUT": "ssh ubuntu@101.33.7.9"})
    assert result.returncode == 2
    assert "FROM must be 'snapshot'" in result.stderr
    assert not any(call.startswith(("ssh ", "stack ")) for call in result.calls)


def test_drift_make_converge_is_pulumi_up_with_a_new_converge_value(repo):
    stack_file = repo / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace(
        "config:\n", "config:\n  nexus-registry:adminPassword:\n    secure: v1:abcd\n"
                      "  nexus-registry:userPasswords:\n    ci:\n      secure: v1:efgh\n", 1))
    result = run(repo, "up.sh", "dev", "converge", env_extra={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    assert result.calls[-1] == "up --stack dev"
    converge = Path(f"{repo.parent / 'calls'}.converge").read_text().splitlines()
    assert re.fullmatch(r"up NEXUS_REGISTRY_CONVERGE=\d{8}T\d{6}Z", converge[-1]), converge
    assert "every host step runs again" in result.stdout
    # A value left exported (a shell, a CI job) does not make a plain up a converge.
    plain = run(repo, "up.sh", "dev", "up", env_extra={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                                                       "NEXUS_REGISTRY_CONVERGE": "20261207T000000Z"})
    assert plain.returncode == 0, plain.stderr
    assert Path(f"{repo.parent / 'calls'}.converge").read_text().splitlines()[-1] == "up NEXUS_REGISTRY_CONVERGE=unset"
    assert 'converge:\n\t@scripts/up.sh "$(STACK)" converge' in (ROOT / "Makefile").read_text()
