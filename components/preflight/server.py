"""``server.mode: existing``: the server answers SSH with its pinned host key, runs a supported OS, and has
the memory and disk Nexus needs; read-only, nothing is installed or changed.

SSH goes the way ``make ssh``/``make status`` go (scripts/up.sh): the system
``ssh`` client, the host key checked strictly against ``server.hostKey`` in a
throw-away known_hosts file (never trust on first use), ``BatchMode`` so nothing
waits on a prompt.  The key that logs in is ``SSH_KEY_FILE`` (the variable
``make up`` reads for ``sshPrivateKey``), else the user's agent or default keys:
the stack's encrypted ``sshPrivateKey`` needs the passphrase, which is asked only
later.  Host key verification happens before authentication, so a wrong pinned
key is reported even when no key here may log in.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from components.i18n import N_, _
from components.preflight import Finding, error, warning
from components.render.nexus import MIN_HOST_MEMTOTAL_MIB, MOUNT_POINT, SUPPORTED_OS
from components.render.templating import render_template
from components.settings import NAMESPACE, ExistingServer, Settings

SERVER = f"{NAMESPACE}:server"
CONNECT_TIMEOUT_SECONDS = 10
# Free space where the data directory will live: the image (~1 GB unpacked), Docker's layer
# extraction and Nexus's first database and blobs.  A floor, not a sizing (README: Sizing).
MIN_FREE_DISK_GB = 10

# os-release ID and VERSION_ID the prepare script accepts (templates/host/nexus-prepare-host.sh.j2
# detect_os; tests/unit/test_preflight_server.py keeps both in step): exact versions, or a major.
SUPPORTED_EXACT = {("ubuntu", "22.04"), ("ubuntu", "24.04")}
SUPPORTED_MAJOR = {("debian", "12"), ("tencentos", "3"), ("tlinux", "3"), ("tencentos", "4"), ("tlinux", "4"),
                   ("opencloudos", "8"), ("rocky", "8"), ("almalinux", "8"), ("opencloudos", "9"), ("rocky", "9"),
                   ("almalinux", "9"), ("centos", "9"), ("centos", "7")}
END_OF_LIFE = {("centos", "7"): N_("CentOS 7 reached its end of life on 2024-06-30")}  # translated where printed

PROBE_TEMPLATE = "host/preflight-probe.sh.j2"  # read-only facts as KEY=value lines, run as the SSH user


def known_hosts_line(server: ExistingServer) -> str:
    host = server.address if server.port == 22 else f"[{server.address}]:{server.port}"
    return f"{host} {server.host_key}\n"


def ssh_command(server: ExistingServer, known_hosts: Path, env: Mapping[str, str]) -> list[str]:
    command = ["ssh", "-p", str(server.port), "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT_SECONDS}",
               "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
               "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    key_file = env.get("SSH_KEY_FILE")
    if key_file:
        command += ["-i", os.path.expanduser(key_file), "-o", "IdentitiesOnly=yes"]
    return [*command, f"{server.user}@{server.address}", "sh -s"]


def probe_script(settings: Settings) -> str:
    server = settings.server
    assert server.is_existing
    return render_template(PROBE_TEMPLATE, mount_point=MOUNT_POINT, data_device=server.data_device or "")


def parse_facts(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if re.match(r"^[A-Za-z_]+=", line))


def judge(settings: Settings, facts: Mapping[str, str]) -> list[Finding]:
    """Supported OS, memory and disk from the probe's facts."""
    server = settings.server
    assert server.is_existing
    findings = []
    os_id, version = facts.get("ID", "").lower(), facts.get("VERSION_ID", "")
    major = version.split(".")[0]
    if (os_id, version) not in SUPPORTED_EXACT and (os_id, major) not in SUPPORTED_MAJOR:
        findings.append(error(f"{SERVER}.address", _("{address} runs {os} {version}, which the host scripts do not "
                                                     "support ({supported})").format(
            address=server.address, os=os_id or _("an unknown OS"), version=version, supported=SUPPORTED_OS)))
    elif (os_id, major) in END_OF_LIFE:
        findings.append(warning(f"{SERVER}.address", _("{end_of_life}: it gets no security updates").format(
            end_of_life=_(END_OF_LIFE[(os_id, major)]))))
    mem_kib = facts.get("MemTotalKiB", "")
    if mem_kib.isdigit() and int(mem_kib) // 1024 < MIN_HOST_MEMTOTAL_MIB:
        message = _("{address} has {memory} MiB of memory, below the {minimum} MiB that an 8 GB host reports "
                    "(Sonatype's minimum)").format(address=server.address, memory=int(mem_kib) // 1024,
                                                   minimum=MIN_HOST_MEMTOTAL_MIB)
        if settings.nexus.allow_below_minimum_memory:
            findings.append(warning(f"{NAMESPACE}:nexus.allowBelowMinimumMemory", message))
        else:
            findings.append(error(f"{SERVER}.address", message + _("; use a bigger server, or set "
                                                                   "nexus.allowBelowMinimumMemory: true to accept an "
                                                                   "unsupported host")))
    device_bytes = facts.get("DeviceBytes")
    if server.data_device and device_bytes == "missing":
        findings.append(error(f"{SERVER}.dataDevice", _("{device} does not exist on {address}").format(
            device=server.data_device, address=server.address)))
    elif not server.data_device:
        avail = facts.get("DiskAvailKiB", "")
        if avail.isdigit() and int(avail) < MIN_FREE_DISK_GB * 1024 * 1024:
            findings.append(error(f"{SERVER}.address", _("{mount} on {address} has {free} GB free, below {minimum} GB "
                                                         "for {mount_point}; free space, or give server.dataDevice")
                                  .format(mount=facts.get("DiskMount", "/"), address=server.address,
                                          free=int(avail) // 1024 // 1024, minimum=MIN_FREE_DISK_GB,
                                          mount_point=MOUNT_POINT)))
    elif device_bytes and device_bytes.isdigit() and int(device_bytes) < MIN_FREE_DISK_GB * 1024 ** 3:
        size_gb = int(device_bytes) // 1024 ** 3
        findings.append(error(f"{SERVER}.dataDevice",
                              _("{device} holds {size} GB, below {minimum} GB").format(
                                  device=server.data_device, size=size_gb, minimum=MIN_FREE_DISK_GB)))
    return findings


def check(settings: Settings, env: Mapping[str, str]) -> list[Finding]:
    server = settings.server
    if not server.is_existing:
        return []
    with tempfile.TemporaryDirectory(prefix="nexus-preflight-") as work:
        known_hosts = Path(work) / "known_hosts"
        known_hosts.write_text(known_hosts_line(server))
        try:
            result = subprocess.run(ssh_command(server, known_hosts, env), input=probe_script(settings), text=True,
                                    capture_output=True, timeout=CONNECT_TIMEOUT_SECONDS + 20, check=False)
        except FileNotFoundError:
            return [warning(SERVER, _("no ssh client on this machine: the server was not checked"))]
        except subprocess.TimeoutExpired:
            return [error(f"{SERVER}.address", _("{address}:{port} did not finish the SSH probe in time").format(
                address=server.address, port=server.port))]
    stderr = " ".join(result.stderr.split())
    if result.returncode == 0:
        return judge(settings, parse_facts(result.stdout))
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in result.stderr or "Host key verification failed" in stderr \
            or "No ED25519 host key is known" in stderr or "host key for" in stderr.lower():
        return [error(f"{SERVER}.hostKey", _("{address} presented another SSH host key than the pinned one; read the "
                                             "real one on the server's console (README: SSH host keys)").format(
            address=server.address))]
    if "Permission denied" in stderr:
        return [warning(f"{NAMESPACE}:sshPrivateKey", _(
            "{login} answered with the pinned host key but no key here may log in, so OS, memory and disk were not "
            "checked; export SSH_KEY_FILE=<the sshPrivateKey file> to check them").format(
            login=f"{server.user}@{server.address}"))]
    reason = stderr[:200] or _("ssh exited {status}").format(status=result.returncode)
    return [error(f"{SERVER}.address", _("{address}:{port} is not reachable over SSH: {reason}").format(
        address=server.address, port=server.port, reason=reason))]
