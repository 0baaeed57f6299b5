"""Faults injected into the nginx deploy step on a fresh Debian 12 host (issue 21, item 2).

One fresh root (``fresh_host.FreshHost``) for the module: the real deploy step
(bundle over a real SSH session, ``sudo -n bash -s`` as ``deploy``) installs
nginx and deploys; the upstreams nginx proxies to are this machine's CNCF
registry (docker-hosted 8002, docker-group 8003) and the web stand-in (8081),
on the host's network, so "the registry serves" means a TLS handshake with the
registry's name and ``/v2/`` answering through nginx (the deployed smoke check,
which also pins the served key to the live certificate).

The faults are injected from outside the shipped script: ``/usr/local/sbin/nginx``
(first on sudo's ``secure_path``, installed once nginx is) passes every call to
``/usr/sbin/nginx`` except the one named in ``BLOCK_FLAG`` (``test``: ``-t``/``-T``; ``reload``),
where it writes the process chain it runs under to ``BLOCKED`` and waits, so the
test can SIGKILL the script, or drop the SSH session, at that very point.  A
"reboot" stops the nginx master and starts nginx from the files, as boot does.

After each fault the tests assert that the registry serves with the expected key
and that no copy of any private key of the module exists on the host outside the
two live key paths.  Tests run in file order; each leaves the host deployed and
serving (``Faults.current``).
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from components import host_layout
from components.render import nginx as render_nginx
from tests.support.registry_env import (
    GROUP_PORT,
    HOSTED_PORT,
    STUB,
    WEB_PORT,
    CertAuthority,
    deploy_bundle_with,
    make_ca,
    registry_config,
)
from tests.system.fresh_host import USER, FreshHost, StepResult, lab_settings

BLOCK_FLAG = "/run/nexus-test-nginx-block"
BLOCKED = "/run/nexus-test-nginx-blocked"
WRAPPER = f"""#!/bin/bash
# Test stand-in (test_host_faults_nginx.py): blocks the nginx call named in {BLOCK_FLAG}.
# "test" blocks "nginx -t" and "nginx -T", "reload" blocks "nginx -s reload".
block=$(cat {BLOCK_FLAG} 2>/dev/null || true)
case " $* " in
  *" -t "* | *" -T "*) call=test ;;
  *" reload "*) call=reload ;;
  *) call=other ;;
esac
if [[ $block == "$call" ]]; then
  chain="$$ $(tr '\\0' ' ' </proc/$$/cmdline)"
  p=$PPID
  while ((p > 1)); do
    chain+=$'\\n'"$p $(tr '\\0' ' ' </proc/$p/cmdline)"
    p=$(awk '{{ print $4 }}' /proc/$p/stat)
  done
  printf '%s\\n' "$chain" >{BLOCKED}.tmp && mv {BLOCKED}.tmp {BLOCKED}
  while [[ -e {BLOCK_FLAG} ]]; do sleep 0.1; done
fi
exec /usr/sbin/nginx "$@"
"""


@dataclass
class Faults:
    host: FreshHost
    settings: object
    ca: CertAuthority
    renewed: CertAuthority
    workdir: Path
    current: dict[str, tuple[str, str]]  # fqdn -> (certificate, key) deployed now

    @property
    def registry(self) -> str:
        return self.settings.registry_fqdn

    def bundle(self, certificates: dict[str, tuple[str, str]]) -> str:
        return deploy_bundle_with(self.settings, certificates)

    def deploy(self, certificates: dict[str, tuple[str, str]]) -> StepResult:
        return self.host.step("nginx-deploy", USER, self.bundle(certificates))

    def live_key(self, fqdn: str) -> str:
        return self.host.read(render_nginx.default_cert_paths(self.settings)[fqdn].key)

    def all_keys(self) -> dict[str, str]:
        keys = {f"{fqdn} key": pair[1] for fqdn, pair in self.ca.leaves.items()}
        keys |= {f"renewed {fqdn} key": pair[1] for fqdn, pair in self.renewed.leaves.items()}
        keys["unrelated key"] = (self.workdir / "unrelated.key").read_text()
        return keys


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nginx-faults")
    settings = lab_settings()
    host = FreshHost(workdir / "host", (settings.web_fqdn, settings.registry_fqdn))
    try:
        names = [settings.registry_fqdn, settings.web_fqdn]
        ca, renewed = make_ca(workdir / "pki", names), make_ca(workdir / "renewed", names)
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", str(workdir / "unrelated.key")], check=True, capture_output=True)
        storage = workdir / "registry-storage"
        storage.mkdir()
        for name, port, readonly in (("hosted", HOSTED_PORT, False), ("group", GROUP_PORT, True)):
            config = workdir / f"registry-{name}.yml"
            config.write_text(registry_config(storage, port, readonly))
            host.popen(["docker-registry", "serve", str(config)], workdir / f"registry-{name}.log", net_only=True)
        host.popen([sys.executable, str(STUB), str(WEB_PORT)], workdir / "web-stub.log", net_only=True)
        current = {fqdn: ca.leaves[fqdn] for fqdn in names}
        deployed = Faults(host, settings, ca, renewed, workdir, current)
        first = deployed.deploy(current).ok()
        assert "deploy-nginx: installing nginx" in first.stderr
        host.path("/usr/local/sbin/nginx").write_text(WRAPPER)
        host.path("/usr/local/sbin/nginx").chmod(0o755)
        assert_serves(deployed)
        yield deployed
    finally:
        host.close()


# --- injecting a fault ---------------------------------------------------------------------------


class Blocked:
    """A deploy step running in a thread, held by the nginx wrapper at the call named by ``block``."""

    def __init__(self, faults: Faults, bundle: str, block: str):
        self.host = faults.host
        self.host.path(BLOCKED).unlink(missing_ok=True)
        self.host.path(BLOCK_FLAG).write_text(block)
        self.result: StepResult | None = None
        self.thread = threading.Thread(target=self._run, args=(bundle,), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.host.path(BLOCKED).exists():
            assert self.thread.is_alive(), f"the step ended before nginx {block}: {self.result}"
            assert time.monotonic() < deadline, f"the deploy never reached nginx {block}"
            time.sleep(0.1)
        # Innermost first: the wrapper, the command substitution's subshell, the script, sudo, sshd...
        self.chain = [(int(line.split(" ", 1)[0]), line.split(" ", 1)[1])
                      for line in self.host.read(BLOCKED).splitlines()]

    def _run(self, bundle: str) -> None:
        self.result = self.host.step("nginx-deploy", USER, bundle)

    def pid_of(self, pattern: str) -> int:
        return next(pid for pid, command in self.chain if re.search(pattern, command))

    def script_pid(self) -> int:
        """The script's own process (its subshells, below it in the chain, carry the same command line)."""
        return [pid for pid, command in self.chain if "deploy-nginx.sh" in command][-1]

    def kill_script(self) -> StepResult:
        """SIGKILL the deploy script, then what it was running (a kill of the session's process group)."""
        script = self.script_pid()
        below = [pid for pid, _ in self.chain[:[p for p, _ in self.chain].index(script)]]
        self.host.run(["kill", "-KILL", str(script), *map(str, below)])
        return self.finish()

    def drop_session(self) -> StepResult:
        """Kill sshd's process of the session: the SSH channel is gone, the script runs on."""
        self.host.run(["kill", "-KILL", str(self.pid_of(r"^sshd: deploy(@notty)?\s*$"))])
        return self.finish()

    def finish(self) -> StepResult:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the step did not end"
        return self.result

    def release(self) -> None:
        self.host.path(BLOCK_FLAG).unlink(missing_ok=True)


def wait_gone(host: FreshHost, pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while host.path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.1)


def reboot_nginx(host: FreshHost) -> subprocess.CompletedProcess:
    """What a reboot does to nginx: the master ends, a new one starts from the files on disk."""
    master = host.nginx_master_pid()
    if master:
        host.run(["kill", "-TERM", str(master)], check=False)
        wait_gone(host, master)
    return host.run(["/usr/sbin/nginx"], check=False)


# --- what every test asserts -----------------------------------------------------------------------


def served_certificate(faults: Faults) -> str:
    shown = faults.host.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername", faults.registry],
                            input="", check=False).stdout
    found = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", shown, re.S)
    return found.group(0) if found else ""


def assert_serves(faults: Faults) -> None:
    """TLS with the registry's name and /v2/ through nginx (the smoke check), with the expected certificate."""
    expected = faults.current[faults.registry][0].strip()
    deadline = time.monotonic() + 15  # a reload is asynchronous: the new workers take over shortly
    while served_certificate(faults) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert served_certificate(faults) == expected
    assert faults.live_key(faults.registry) == faults.current[faults.registry][1]
    smoke = faults.host.sh(f"SMOKE_ATTEMPTS=5 SMOKE_DELAY_SECONDS=1 {host_layout.NGINX_SMOKE_SCRIPT}", check=False)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert f"https://{faults.registry}/v2/ -> 200 registry/2.0" in smoke.stdout


def key_copies(faults: Faults) -> dict[str, str]:
    """Every file on the host (outside /usr, /proc, /sys, /dev) that holds one of the module's keys."""
    keys = {text.encode(): name for name, text in faults.all_keys().items()}
    sizes = {len(data) for data in keys}
    root = faults.host.path("/")
    found = {}
    for top in ("etc", "var", "opt", "root", "home", "tmp", "run", "srv", "mnt"):
        for directory, _, files in os.walk(root / top):
            for name in files:
                path = Path(directory, name)
                try:
                    info = path.lstat()
                    if stat.S_ISREG(info.st_mode) and info.st_size in sizes and path.read_bytes() in keys:
                        found["/" + str(path.relative_to(root))] = keys[path.read_bytes()]
                except (FileNotFoundError, PermissionError):
                    continue
    return found


def assert_no_key_copy(faults: Faults) -> None:
    live = {paths.key: fqdn for fqdn, paths in render_nginx.default_cert_paths(faults.settings).items()}
    copies = key_copies(faults)
    assert set(copies) == set(live), f"private keys outside the live paths: {copies}"
    assert not faults.host.path(host_layout.NGINX_STAGE_DIR).exists()
    assert not faults.host.path(f"{host_layout.NGINX_STATE_DIR}/transaction").exists()


def with_unrelated_registry_key(faults: Faults) -> dict[str, tuple[str, str]]:
    """The current certificates, the registry's with a key that is not its own: nginx -t refuses it."""
    bad = dict(faults.current)
    bad[faults.registry] = (faults.current[faults.registry][0], (faults.workdir / "unrelated.key").read_text())
    return bad


# --- the faults --------------------------------------------------------------------------------


def test_killed_during_nginx_t_of_a_bad_key_the_retry_restores_the_previous_key_and_a_reboot_serves(faults):
    bad = with_unrelated_registry_key(faults)
    blocked = Blocked(faults, faults.bundle(bad), "test")
    try:
        killed = blocked.kill_script()
    finally:
        blocked.release()
    assert killed.returncode != 0
    # The fault as the issue met it: the bad key is live, its previous copy in the step's own record.
    assert faults.live_key(faults.registry) == bad[faults.registry][1]

    retry = faults.deploy(bad)
    assert retry.returncode != 0
    assert faults.live_key(faults.registry) == faults.current[faults.registry][1]
    assert "an interrupted deploy was undone" in retry.stderr
    assert "nginx -t rejected the new configuration; the previous one was restored" in retry.stderr
    assert "key values mismatch" in retry.stderr

    rebooted = reboot_nginx(faults.host)
    assert rebooted.returncode == 0, rebooted.stderr
    assert_serves(faults)
    assert_no_key_copy(faults)


def test_killed_during_nginx_t_of_a_bad_key_then_a_reboot_recovers_before_nginx_starts(faults):
    bad = with_unrelated_registry_key(faults)
    blocked = Blocked(faults, faults.bundle(bad), "test")
    try:
        blocked.kill_script()
    finally:
        blocked.release()
    assert faults.live_key(faults.registry) == bad[faults.registry][1]
    assert faults.host.run(["/usr/sbin/nginx", "-t"], check=False).returncode != 0  # nginx would not boot on it

    # The boot, before any retry of the step: systemd starts what nginx.service's drop-in wants first.
    unit = f"{host_layout.NGINX_RECOVER_UNIT}.service"
    drop_in = faults.host.read(host_layout.NGINX_DROP_IN).splitlines()
    assert f"Wants={unit}" in drop_in and f"After={unit}" in drop_in
    recover_unit = faults.host.read(f"{host_layout.SYSTEMD_DIR}/{unit}").splitlines()
    assert "Before=nginx.service" in recover_unit and "Type=oneshot" in recover_unit
    exec_start = next(line.split("=", 1)[1] for line in recover_unit if line.startswith("ExecStart="))
    master = faults.host.nginx_master_pid()
    faults.host.run(["kill", "-TERM", str(master)])
    wait_gone(faults.host, master)
    recovered = faults.host.run(shlex.split(exec_start), check=False)
    assert recovered.returncode == 0, recovered.stderr
    assert "an interrupted deploy was undone" in recovered.stderr
    started = faults.host.run(["/usr/sbin/nginx"], check=False)
    assert started.returncode == 0, started.stderr
    assert_serves(faults)
    assert_no_key_copy(faults)


def test_interrupted_ssh_session_during_nginx_t_of_a_bad_key_puts_the_previous_key_back_at_once(faults):
    bad = with_unrelated_registry_key(faults)
    blocked = Blocked(faults, faults.bundle(bad), "test")
    try:
        dropped = blocked.drop_session()
        script = blocked.script_pid()
    finally:
        blocked.release()
    assert dropped.returncode != 0
    wait_gone(faults.host, script)  # nginx -t refused the key, the script's next log line met the closed channel
    assert faults.live_key(faults.registry) == faults.current[faults.registry][1]  # no re-run needed
    assert_no_key_copy(faults)
    rebooted = reboot_nginx(faults.host)
    assert rebooted.returncode == 0, rebooted.stderr
    assert_serves(faults)


def test_killed_during_the_reload_of_a_renewed_certificate_the_next_run_keeps_it_reloads_and_leaves_no_old_key(
        faults):
    renewed = {fqdn: faults.renewed.leaves[fqdn] for fqdn in faults.current}
    blocked = Blocked(faults, faults.bundle(renewed), "reload")
    try:
        killed = blocked.kill_script()
    finally:
        blocked.release()
    assert killed.returncode != 0
    assert faults.live_key(faults.registry) == renewed[faults.registry][1]  # nginx -T had accepted it
    assert served_certificate(faults) == faults.current[faults.registry][0].strip()  # not loaded yet

    again = faults.deploy(renewed).ok()
    faults.current = renewed
    assert_serves(faults)
    assert_no_key_copy(faults)
    assert "an interrupted deploy had passed nginx -T: its files are kept" in again.stderr
    assert "; nginx reloaded: " in again.stderr  # (the earlier tests' reboots are reason enough too)


def test_drift_a_hand_edit_reloaded_by_hand_is_put_back_and_reloaded(faults):
    site = faults.host.path(host_layout.NGINX_SITE_CONF)
    rendered = site.read_text()
    site.write_text(rendered + "server { listen 127.0.0.1:8999; return 200 \"hand edit\\n\"; }\n")
    faults.host.run(["/usr/sbin/nginx", "-s", "reload"])
    probe = ["curl", "-sS", "--retry", "20", "--retry-connrefused", "--retry-delay", "0", "http://127.0.0.1:8999/"]
    assert faults.host.run(probe).stdout == "hand edit\n"

    result = faults.deploy(faults.current).ok()
    assert site.read_text() == rendered
    deadline = time.monotonic() + 15
    while faults.host.run(probe[:2] + [probe[-1]], check=False).returncode == 0:
        assert time.monotonic() < deadline, "nginx still runs the hand edit"
        time.sleep(0.2)
    assert "nginx reloaded: this run changed 1 file(s)" in result.stderr
    assert_serves(faults)
    assert_no_key_copy(faults)


def test_drift_nginx_restarted_on_a_hand_edit_since_reverted_is_reloaded(faults):
    site = faults.host.path(host_layout.NGINX_SITE_CONF)
    rendered = site.read_text()
    site.write_text(rendered + "server { listen 127.0.0.1:8998; return 200 \"hand edit\\n\"; }\n")
    assert reboot_nginx(faults.host).returncode == 0  # e.g. a reboot while the edit was in place
    site.write_text(rendered)  # the file is right again, but nginx runs the edit
    probe = ["curl", "-sS", "--retry", "20", "--retry-connrefused", "--retry-delay", "0", "http://127.0.0.1:8998/"]
    assert faults.host.run(probe).stdout == "hand edit\n"

    result = faults.deploy(faults.current).ok()
    deadline = time.monotonic() + 15
    while faults.host.run(["curl", "-sS", "http://127.0.0.1:8998/"], check=False).returncode == 0:
        assert time.monotonic() < deadline, "nginx still runs the hand edit"
        time.sleep(0.2)
    assert "nginx reloaded: nginx was restarted since it last loaded our files" in result.stderr
    again = faults.deploy(faults.current).ok()
    assert "configuration unchanged (h2-listen); nginx not reloaded" in again.stderr
    assert_serves(faults)
    assert_no_key_copy(faults)
