"""nexus-prepare-host.sh, run for real with bash against fake files and stub tools: OS detection, the EL
families' packages, repositories, Docker, firewalld and SELinux, and the Docker registry mirror.

No Docker engine and no supported distribution are needed: the script takes every location and tool
from the environment, so the tests hand it an os-release sample and stub tools.

The EL families (CentOS 7, Rocky/AlmaLinux 8/9, CentOS Stream 9, TencentOS, OpenCloudOS) are
tested the same way, with stub ``yum``/``dnf``/``dockerd``/``firewall-cmd``/SELinux tools on a PATH
that holds nothing else of the machine's: a fresh root filesystem of those families cannot be built
here, since only Debian packages are reachable from this sandbox.  What the stubs stand in for is
the package manager and the daemons; the repository files, the key fingerprint checks (real
``gpg``, Docker's real RPM key), the version checks and every decision are the script's own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from components.render import nexus as render
from components.render.templating import JQ_LIBRARY_SOURCE
from tests.support.commands import ok
from tests.support.host_scripts import run, stub, write_script
from tests.support.settings import make_settings

# --- host preparation: OS detection ----------------------------------------------------------

OS_RELEASES = {
    "ubuntu-22.04": ('NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n', "ubuntu 22.04 (family deb)"),
    "ubuntu-24.04": ('NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n', "ubuntu 24.04 (family deb)"),
    "debian-12": ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nID=debian\n',
                  "debian 12 (family deb)"),
    "tencentos-3": ('NAME="TencentOS Server"\nVERSION="3.1 (Final)"\nID="tencentos"\nID_LIKE="rhel fedora centos"\n'
                    'VERSION_ID="3.1"\nPLATFORM_ID="platform:el8"\n', "tencentos 3.1 (family rpm, EL8)"),
    "tencentos-4": ('NAME="TencentOS Server"\nID="tencentos"\nVERSION_ID="4.4"\n', "tencentos 4.4 (family rpm, EL9)"),
    "opencloudos-8": ('NAME="OpenCloudOS"\nID="opencloudos"\nID_LIKE="rhel fedora"\nVERSION_ID="8.8"\n',
                      "opencloudos 8.8 (family rpm, EL8)"),
    "opencloudos-9": ('NAME="OpenCloudOS Stream"\nID="opencloudos"\nVERSION_ID="9.2"\n',
                      "opencloudos 9.2 (family rpm, EL9)"),
    "rocky-8": ('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="8.9"\n',
                "rocky 8.9 (family rpm, EL8)"),
    "rocky-9": ("NAME='Rocky Linux'\nID='rocky'\nVERSION_ID='9.3'\n", "rocky 9.3 (family rpm, EL9)"),
    "almalinux-8": ('NAME="AlmaLinux"\nVERSION="8.10 (Cerulean Leopard)"\nID="almalinux"\n'
                    'ID_LIKE="rhel centos fedora"\nVERSION_ID="8.10"\n', "almalinux 8.10 (family rpm, EL8)"),
    "almalinux-9": ('NAME="AlmaLinux"\nID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n',
                    "almalinux 9.4 (family rpm, EL9)"),
    "centos-stream-9": ('NAME="CentOS Stream"\nVERSION="9"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="9"\n',
                        "centos 9 (family rpm, EL9)"),
    "centos-7": ('NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n',
                 "centos 7 (family rpm, EL7)"),
}
UNSUPPORTED = {
    "ubuntu-20.04": 'ID=ubuntu\nVERSION_ID="20.04"\n',
    "debian-11": 'ID=debian\nVERSION_ID="11"\n',
    "centos-8": 'ID="centos"\nVERSION_ID="8"\n',
    "almalinux-10": 'ID="almalinux"\nVERSION_ID="10.0"\n',
    "alpine": "ID=alpine\nVERSION_ID=3.19.1\n",
    "rocky-10": 'ID="rocky"\nVERSION_ID="10.0"\n',
    "empty": "",
}


@pytest.fixture
def prepare(tmp_path) -> Path:
    return write_script(tmp_path, render.prepare_files(make_settings("dev"))[0])


@pytest.mark.parametrize("name", OS_RELEASES)
def test_supported_systems_are_detected(prepare, tmp_path, name):
    content, expected = OS_RELEASES[name]
    (tmp_path / "os-release").write_text(content)
    out = ok(run(prepare, {"OS_RELEASE_FILE": str(tmp_path / "os-release"), "NEXUS_PREPARE_STEPS": "os"}))
    assert f"OS: {expected}" in out


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_anything_else_fails_clearly(prepare, tmp_path, name):
    (tmp_path / "os-release").write_text(UNSUPPORTED[name])
    result = run(prepare, {"OS_RELEASE_FILE": str(tmp_path / "os-release"), "NEXUS_PREPARE_STEPS": "os"})
    assert result.returncode != 0
    assert "unsupported OS" in result.stderr and "Ubuntu 22.04/24.04, Debian 12" in result.stderr


def test_a_missing_os_release_fails_clearly(prepare, tmp_path):
    result = run(prepare, {"OS_RELEASE_FILE": str(tmp_path / "absent"), "NEXUS_PREPARE_STEPS": "os"})
    assert result.returncode != 0 and "cannot read" in result.stderr


def test_centos_7_warns_that_it_is_end_of_life_on_every_run(prepare, tmp_path):
    (tmp_path / "os-release").write_text(OS_RELEASES["centos-7"][0])
    for _ in range(2):
        result = run(prepare, {"OS_RELEASE_FILE": str(tmp_path / "os-release"), "NEXUS_PREPARE_STEPS": "os"})
        assert "WARNING: CentOS 7 reached its end of life" in ok(result) + result.stderr
        assert "WARNING" in result.stderr
    (tmp_path / "os-release").write_text(OS_RELEASES["rocky-9"][0])
    assert "WARNING" not in run(prepare, {"OS_RELEASE_FILE": str(tmp_path / "os-release"),
                                          "NEXUS_PREPARE_STEPS": "os"}).stderr


# --- host preparation on EL hosts: packages, repositories, Docker, firewalld, SELinux -------------

KEYS = Path(__file__).parent / "keys"
DOCKER_RPM_KEY = KEYS / "docker-ce-rpm.asc"  # Docker's real RPM signing key (see keys/README.md)

# The only tools of this machine the script may see: everything else it runs is a stub, so a
# Debian test machine's own dockerd (/usr/sbin) can never be mistaken for the host's engine.
MACHINE_TOOLS = ("bash", "sh", "env", "sed", "tr", "head", "tail", "grep", "sort", "mktemp", "mv", "chmod", "cat",
                 "cmp", "mkdir", "rm", "dirname", "basename", "awk", "paste", "readlink", "stat", "jq", "gpg",
                 "gpgconf", "curl", "cp", "touch", "ls", "sleep", "id", "uname")


def gpg_key(home: Path, uid: str) -> tuple[str, str]:
    """A fresh ed25519 key: (armored public key, fingerprint)."""
    home.mkdir(mode=0o700, parents=True)
    base = ["gpg", "--homedir", str(home), "--batch", "--quiet"]
    subprocess.run([*base, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid,
                    "ed25519", "sign", "never"], check=True, capture_output=True)
    armored = subprocess.run([*base, "--armor", "--export"], check=True, capture_output=True, text=True).stdout
    listing = subprocess.run([*base, "--with-colons", "--fingerprint"], check=True, capture_output=True,
                             text=True).stdout
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    return armored, fingerprint


@pytest.fixture(scope="module")
def test_keys(tmp_path_factory):
    """Two throw-away keys: one playing the EPEL 7 key, one an impostor."""
    assert shutil.which("gpg"), "gpg is not installed (apt-get install gpg); this test never skips"
    root = tmp_path_factory.mktemp("keys")
    return {"epel": gpg_key(root / "epel", "Test EPEL 7 <epel@example.invalid>"),
            "impostor": gpg_key(root / "impostor", "Docker Release (CE rpm) <docker@docker.com>")}


class ElHost:
    """An EL host made of an os-release file, stub package manager, daemons and SELinux tools."""

    def __init__(self, tmp_path: Path, os_name: str, test_keys, *, docker: str | None = None,
                 docker_binary: str = "dockerd", hide: tuple[str, ...] = ()):
        self.tmp = tmp_path
        self.script = write_script(tmp_path, render.prepare_files(make_settings("lab"))[0])
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.bin = tmp_path / "bin"
        self.tools = tmp_path / "tools"
        self.tools.mkdir()
        for tool in set(MACHINE_TOOLS) - set(hide):
            found = shutil.which(tool)
            assert found, f"{tool} is not installed on this machine; this test never skips"
            (self.tools / tool).symlink_to(found)
        (tmp_path / "os-release").write_text(OS_RELEASES[os_name][0])
        self.repos = tmp_path / "yum.repos.d"
        self.gpg_dir = tmp_path / "rpm-gpg"
        self.gpg_dir.mkdir()
        (self.gpg_dir / "RPM-GPG-KEY-CentOS-7").write_text("(shipped by centos-release)\n")
        self.mirror = tmp_path / "docker-ce-mirror"
        (self.mirror / "linux" / "centos").mkdir(parents=True)
        shutil.copy(DOCKER_RPM_KEY, self.mirror / "linux" / "centos" / "gpg")
        self.epel_key = tmp_path / "RPM-GPG-KEY-EPEL-7"
        self.epel_key.write_text(test_keys["epel"][0])
        self.epel_fingerprint = test_keys["epel"][1]
        s = self.state
        # yum/dnf: log every call; "list" finds nothing in the host's own repositories; installing
        # docker-ce puts a dockerd of version FAKE_INSTALLED_DOCKER on the PATH, as the package does.
        package_manager = f"""echo "$(basename "$0") $*" >>'{s}/packages.log'
case " $* " in *" list "*) exit 1 ;; esac
if [[ " $* " == *" docker-ce "* ]]; then
  printf '#!/usr/bin/env bash\\necho "Docker version %s, build 5650f9b"\\n' "${{FAKE_INSTALLED_DOCKER:-26.1.4}}" \\
    >'{self.bin}/dockerd'
  chmod +x '{self.bin}/dockerd'
fi
"""
        stub(self.bin, "yum", package_manager)
        stub(self.bin, "dnf", package_manager)
        stub(self.bin, "fake-systemctl", f"echo \"$*\" >>'{s}/systemctl.log'\n")
        if docker:
            stub(self.bin, docker_binary, f"echo 'Docker version {docker}'\n")

    def firewalld(self, running: bool, open_services: tuple[str, ...] = ()):
        """A firewall-cmd keeping runtime and permanent services per zone in files."""
        s = self.state / "firewalld"
        s.mkdir()
        if running:
            (s / "running").touch()
        # Docker 20.10+ puts docker0 in a "docker" zone of its own (target ACCEPT).
        (s / "active-zones").write_text("docker\n  interfaces: docker0\npublic\n  interfaces: eth0\n")
        for service in open_services:
            (s / f"runtime-public-{service}").touch()
            (s / f"permanent-public-{service}").touch()
        stub(self.bin, "firewall-cmd", f"""echo "$*" >>'{s}/calls.log'
mode=runtime zone="" action="" service=""
for arg in "$@"; do
  case $arg in
    --permanent) mode=permanent ;;
    --zone=*) zone=${{arg#*=}} ;;
    --query-service=*) action=query service=${{arg#*=}} ;;
    --add-service=*) action=add service=${{arg#*=}} ;;
    --query-port=*) action=query service=$(printf 'port-%s' "${{arg#*=}}" | tr / -) ;;
    --add-port=*) action=add service=$(printf 'port-%s' "${{arg#*=}}" | tr / -) ;;
    --state) action=state ;;
    --get-active-zones) action=zones ;;
    --get-default-zone) action=default ;;
  esac
done
case $action in
  state) if [[ -e '{s}/running' ]]; then echo running; else echo "not running"; exit 252; fi ;;
  zones) cat '{s}/active-zones' ;;
  default) echo public ;;
  query) if [[ -e '{s}/'$mode-$zone-$service ]]; then echo yes; else echo no; exit 1; fi ;;
  add) touch '{s}/'$mode-$zone-$service; echo success ;;
esac
""")
        return s

    def selinux(self, mode: str, boolean: str = "off"):
        s = self.state / "selinux"
        s.mkdir()
        (s / "bool").write_text(boolean + "\n")
        stub(self.bin, "getenforce", f"echo {mode}\n")
        stub(self.bin, "getsebool", f"echo \"$1 --> $(cat '{s}/bool')\"\n")
        stub(self.bin, "setsebool", f"echo \"$*\" >>'{s}/calls.log'; echo on >'{s}/bool'\n")
        return s

    def run(self, steps: str, **env: str):
        environment = {
            "PATH": f"{self.bin}:{self.tools}", "HOME": str(self.tmp),
            "OS_RELEASE_FILE": str(self.tmp / "os-release"), "NEXUS_PREPARE_STEPS": steps,
            "YUM_REPOS_DIR": str(self.repos), "RPM_GPG_DIR": str(self.gpg_dir),
            "DOCKER_CE_MIRROR": f"file://{self.mirror}", "EPEL7_KEY_URLS": f"file://{self.epel_key}",
            "EPEL7_KEY_FINGERPRINT": self.epel_fingerprint, "SYSTEMCTL": str(self.bin / "fake-systemctl"),
            "DOCKER_DAEMON_JSON": str(self.tmp / "docker" / "daemon.json"),
            "NEXUS_STATE_DIR": str(self.tmp / "nexus-state"), "NEXUS_LIB_DIR": str(JQ_LIBRARY_SOURCE.parent), **env,
        }
        return subprocess.run(["bash", str(self.script)], env=environment, capture_output=True, text=True,
                              timeout=60)

    def log(self, name: str) -> list[str]:
        path = self.state / name
        return path.read_text().splitlines() if path.exists() else []


def test_centos_7_installs_with_yum_from_the_vault_and_the_epel_archive_only(tmp_path, test_keys):
    host = ElHost(tmp_path, "centos-7", test_keys, hide=("jq",))
    out = ok(host.run("packages"))
    # jq (EPEL), e2fsprogs and util-linux are not on this PATH; curl is.  yum, never dnf, and only our repos.
    assert host.log("packages.log") == [
        "yum -y -q --disablerepo=* --enablerepo=nexus-registry-* install e2fsprogs jq util-linux"]
    repo = (host.repos / "nexus-registry-centos7.repo").read_text()
    for name in ("os", "updates", "extras"):
        assert (f"[nexus-registry-centos7-{name}]\n"
                f"name=CentOS 7.9.2009 {name} (vault; CentOS 7 is end of life)\n"
                f"baseurl=https://mirrors.cloud.tencent.com/centos-vault/7.9.2009/{name}/$basearch/\n"
                f"        https://vault.centos.org/7.9.2009/{name}/$basearch/\n"
                f"enabled=1\ngpgcheck=1\ngpgkey=file://{host.gpg_dir}/RPM-GPG-KEY-CentOS-7\n") in repo
    assert ("[nexus-registry-epel7]\n"
            "name=EPEL 7 (archive; CentOS 7 is end of life)\n"
            "baseurl=https://mirrors.cloud.tencent.com/epel-archive/7/$basearch/\n"
            "        https://archives.fedoraproject.org/pub/archive/epel/7/$basearch/\n"
            f"enabled=1\ngpgcheck=1\ngpgkey=file://{host.gpg_dir}/nexus-registry-epel7.gpg\n") in repo
    assert (host.gpg_dir / "nexus-registry-epel7.gpg").read_text() == test_keys["epel"][0]
    assert "repositories: wrote" in out and "fingerprint checked" in out
    # Second run: the key is not fetched again (its source may be gone), the repository file is unchanged.
    host.epel_key.unlink()
    before = (host.repos / "nexus-registry-centos7.repo").stat().st_mtime_ns
    out = ok(host.run("packages"))
    assert "already in place" in out and "fingerprint checked" not in out
    assert (host.repos / "nexus-registry-centos7.repo").stat().st_mtime_ns == before


def test_centos_7_refuses_an_epel_key_with_another_fingerprint(tmp_path, test_keys):
    host = ElHost(tmp_path, "centos-7", test_keys)
    host.epel_key.write_text(test_keys["impostor"][0])
    result = host.run("packages")
    assert result.returncode != 0
    assert f"has fingerprint {test_keys['impostor'][1]}, not {test_keys['epel'][1]}: refusing" in result.stderr
    assert not (host.repos / "nexus-registry-centos7.repo").exists() and host.log("packages.log") == []
    assert not (host.gpg_dir / "nexus-registry-epel7.gpg").exists()


@pytest.mark.parametrize("os_name, manager, el", [("centos-7", "yum", "7"), ("almalinux-9", "dnf", "9"),
                                                   ("centos-stream-9", "dnf", "9"), ("rocky-8", "dnf", "8")])
def test_docker_ce_comes_from_the_el_tree_with_dockers_key_checked_by_fingerprint(tmp_path, test_keys, os_name,
                                                                                  manager, el):
    host = ElHost(tmp_path, os_name, test_keys)
    out = ok(host.run("docker"))
    repo = (host.repos / "nexus-registry-docker-ce.repo").read_text()
    assert repo == (f"[nexus-registry-docker-ce]\nname=Docker CE (EL{el}) from file://{host.mirror}\n"
                    f"baseurl=file://{host.mirror}/linux/centos/{el}/$basearch/stable\nenabled=1\ngpgcheck=1\n"
                    f"gpgkey=file://{host.gpg_dir}/nexus-registry-docker-ce.gpg\n")
    # The rendered fingerprint (no override here) is the one of Docker's real RPM key.
    assert (host.gpg_dir / "nexus-registry-docker-ce.gpg").read_bytes() == DOCKER_RPM_KEY.read_bytes()
    assert "repository key 060A61C51B558A7F742B77AAC52FEB6B621E9F35" in out
    installs = [call for call in host.log("packages.log") if " install " in f" {call} "]
    if manager == "yum":
        assert installs == ["yum -y -q --disablerepo=* --enablerepo=nexus-registry-* install "
                            "docker-ce docker-ce-cli containerd.io"]
    else:
        assert installs == ["dnf install -y -q --allowerasing docker-ce docker-ce-cli containerd.io"]
    assert "Docker Engine 26.1.4 (installed; 20.10 or newer is needed)" in out
    assert host.log("systemctl.log") == ["enable --now docker"]


def test_a_docker_key_with_another_fingerprint_is_refused_before_any_repository_or_install(tmp_path, test_keys):
    host = ElHost(tmp_path, "almalinux-9", test_keys)
    (host.mirror / "linux" / "centos" / "gpg").write_text(test_keys["impostor"][0])
    result = host.run("docker")
    assert result.returncode != 0
    assert (f"has fingerprint {test_keys['impostor'][1]}, not 060A61C51B558A7F742B77AAC52FEB6B621E9F35: refusing"
            in result.stderr)
    assert not (host.repos / "nexus-registry-docker-ce.repo").exists()
    assert not any(" install " in f" {call} " for call in host.log("packages.log"))
    # Docker's real key with an impostor appended is refused too: yum would trust both.
    (host.mirror / "linux" / "centos" / "gpg").write_text(DOCKER_RPM_KEY.read_text() + test_keys["impostor"][0])
    result = host.run("docker")
    assert result.returncode != 0
    assert f"060A61C51B558A7F742B77AAC52FEB6B621E9F35,{test_keys['impostor'][1]}" in result.stderr
    assert not (host.repos / "nexus-registry-docker-ce.repo").exists()


@pytest.mark.parametrize("os_name", ["centos-7", "almalinux-8", "ubuntu-22.04"])
def test_an_existing_docker_20_10_is_adopted_and_its_daemon_json_merged(tmp_path, test_keys, os_name):
    host = ElHost(tmp_path, os_name, test_keys, docker="20.10.5, build 55c4c88")
    daemon_json = tmp_path / "docker" / "daemon.json"
    daemon_json.parent.mkdir()
    daemon_json.write_text(json.dumps({"registry-mirrors": ["https://team.example"], "log-level": "warn"}))
    out = ok(host.run("os docker mirror", DOCKER_MIRROR="https://mirror.ccs.tencentyun.com"))
    assert "Docker Engine 20.10.5 (already installed: adopted; 20.10 or newer is needed)" in out
    assert not any(" install " in f" {call} " for call in host.log("packages.log"))
    assert not (host.repos / "nexus-registry-docker-ce.repo").exists()
    assert json.loads(daemon_json.read_text()) == {
        "registry-mirrors": ["https://mirror.ccs.tencentyun.com", "https://team.example"], "log-level": "warn"}
    assert host.log("systemctl.log") == ["enable --now docker", "restart docker"]


@pytest.mark.parametrize("binary, version", [("dockerd-current", "1.13.1, build 7d71120/1.13.1"),
                                             ("dockerd", "19.03.15, build 99e3ed8"),
                                             ("dockerd", "17.03.2-ce, build f5ec1e2")])
def test_an_existing_docker_older_than_20_10_is_refused_naming_its_version(tmp_path, test_keys, binary, version):
    host = ElHost(tmp_path, "centos-7", test_keys, docker=version, docker_binary=binary)
    result = host.run("os docker mirror")
    assert result.returncode != 0
    number = version.split(",")[0]
    assert f"Docker Engine {number} is installed on this host, but the Nexus container needs Docker 20.10 or newer" \
        in result.stderr
    assert host.log("packages.log") == [] and host.log("systemctl.log") == []
    assert not (tmp_path / "docker" / "daemon.json").exists()


def test_a_running_firewalld_gets_80_and_443_opened_once(tmp_path, test_keys):
    host = ElHost(tmp_path, "rocky-9", test_keys)
    firewalld = host.firewalld(running=True, open_services=("ssh",))
    out = ok(host.run("firewall"))
    assert {p.name for p in firewalld.iterdir() if p.name.startswith(("runtime-", "permanent-"))} == {
        "runtime-public-ssh", "permanent-public-ssh", "runtime-public-http", "permanent-public-http",
        "runtime-public-https", "permanent-public-https",
        # lab has anonymous pulls on: the Docker Hub mirror's port (registryMirrorPort) too.
        "runtime-public-port-8443-tcp", "permanent-public-port-8443-tcp"}
    assert "firewalld: opened 80/tcp and 443/tcp (services http, https) and 8443/tcp (registry mirror)" in out
    assert not any("--reload" in call for call in (firewalld / "calls.log").read_text().splitlines())
    calls = len((firewalld / "calls.log").read_text().splitlines())
    out = ok(host.run("firewall"))
    assert "already open in zone(s) public" in out
    new_calls = (firewalld / "calls.log").read_text().splitlines()[calls:]
    assert not any("--add-service" in call for call in new_calls)


def test_without_an_active_zone_firewalld_opens_the_default_zone(tmp_path, test_keys):
    host = ElHost(tmp_path, "centos-stream-9", test_keys)
    firewalld = host.firewalld(running=True)
    (firewalld / "active-zones").write_text("")
    out = ok(host.run("firewall"))
    assert {p.name for p in firewalld.iterdir() if p.name.startswith(("runtime-", "permanent-"))} == {
        "runtime-public-http", "permanent-public-http", "runtime-public-https", "permanent-public-https",
        "runtime-public-port-8443-tcp", "permanent-public-port-8443-tcp"}
    assert "public/https(permanent)" in out and "public/8443/tcp(permanent)" in out


def test_a_stopped_or_absent_firewalld_is_left_alone(tmp_path, test_keys):
    host = ElHost(tmp_path, "centos-7", test_keys)
    assert "firewalld: not installed, nothing to open" in ok(host.run("firewall"))
    firewalld = host.firewalld(running=False)
    assert "firewalld: installed but not running, left untouched" in ok(host.run("firewall"))
    assert not any("--add-service" in call for call in (firewalld / "calls.log").read_text().splitlines())
    assert not any(p.name.startswith(("runtime-", "permanent-")) for p in firewalld.iterdir())


def test_enforcing_selinux_lets_nginx_connect_to_its_upstreams_once(tmp_path, test_keys):
    host = ElHost(tmp_path, "centos-7", test_keys)
    selinux = host.selinux("Enforcing", "off")
    out = ok(host.run("selinux"))
    assert (selinux / "calls.log").read_text().splitlines() == ["-P httpd_can_network_connect 1"]
    assert "SELinux: enforcing, set httpd_can_network_connect on (persistent)" in out
    out = ok(host.run("selinux"))
    assert "already on" in out and len((selinux / "calls.log").read_text().splitlines()) == 1


@pytest.mark.parametrize("mode", ["Permissive", "Disabled", None])
def test_selinux_that_is_not_enforcing_or_absent_is_left_alone(tmp_path, test_keys, mode):
    host = ElHost(tmp_path, "almalinux-9", test_keys)
    if mode is None:
        assert "SELinux: not present, nothing to do" in ok(host.run("selinux"))
        return
    selinux = host.selinux(mode, "off")
    assert f"SELinux: {mode}, left untouched" in ok(host.run("selinux"))
    assert not (selinux / "calls.log").exists()


def test_the_nginx_step_installs_from_the_same_repositories_on_centos_7():
    """nginx comes from EPEL 7, which only the prepare step's nexus-registry-* repositories provide."""
    from components.render import nginx as nginx_render
    deploy = nginx_render.render_deploy_script(make_settings("lab"))
    assert ("elif [[ -e $YUM_REPOS_DIR/nexus-registry-centos7.repo ]]; then\n" in deploy
            and "YUM_REPOS_DIR=${YUM_REPOS_DIR-/etc/yum.repos.d}\n" in deploy
            and "yum-centos7) yum -y -q --disablerepo='*' --enablerepo='nexus-registry-*' install \"$@\"" in deploy)


# --- host preparation: Docker registry mirror --------------------------------------------------


class Mirror:
    def __init__(self, tmp_path: Path, prepare: Path):
        self.prepare = prepare
        self.daemon_json = tmp_path / "docker" / "daemon.json"
        self.state = tmp_path / "state"
        self.calls = tmp_path / "systemctl.log"
        self.bin = tmp_path / "bin"
        stub(self.bin, "fake-systemctl", f"echo \"$*\" >>'{self.calls}'\n")

    def run(self, mirror: str):
        return run(self.prepare, {"NEXUS_PREPARE_STEPS": "mirror", "DOCKER_MIRROR": mirror,
                                  "DOCKER_DAEMON_JSON": str(self.daemon_json), "NEXUS_STATE_DIR": str(self.state),
                                  "SYSTEMCTL": str(self.bin / "fake-systemctl")})

    def restarts(self) -> int:
        return self.calls.read_text().count("restart docker") if self.calls.exists() else 0


def test_the_mirror_is_merged_into_daemon_json_and_docker_restarted_only_on_change(prepare, tmp_path):
    mirror = Mirror(tmp_path, prepare)
    mirror.daemon_json.parent.mkdir()
    mirror.daemon_json.write_text(json.dumps({"log-driver": "json-file", "registry-mirrors": ["https://other.example"]}))
    ok(mirror.run("https://mirror.ccs.tencentyun.com"))
    config = json.loads(mirror.daemon_json.read_text())
    assert config == {"log-driver": "json-file",
                      "registry-mirrors": ["https://mirror.ccs.tencentyun.com", "https://other.example"]}
    assert mirror.restarts() == 1
    ok(mirror.run("https://mirror.ccs.tencentyun.com"))
    assert mirror.restarts() == 1, "an unchanged daemon.json must not restart Docker"
    # A new mirror replaces ours, never the user's.
    ok(mirror.run("https://mirror.example.cn"))
    assert json.loads(mirror.daemon_json.read_text())["registry-mirrors"] == [
        "https://mirror.example.cn", "https://other.example"]
    # Empty disables it: ours goes, the user's stays.
    ok(mirror.run(""))
    assert json.loads(mirror.daemon_json.read_text()) == {"log-driver": "json-file",
                                                         "registry-mirrors": ["https://other.example"]}
    assert mirror.restarts() == 3


def test_no_mirror_ever_leaves_docker_alone(prepare, tmp_path):
    mirror = Mirror(tmp_path, prepare)
    ok(mirror.run(""))
    assert not mirror.daemon_json.exists() and mirror.restarts() == 0


def test_a_broken_daemon_json_is_reported_not_overwritten(prepare, tmp_path):
    mirror = Mirror(tmp_path, prepare)
    mirror.daemon_json.parent.mkdir()
    mirror.daemon_json.write_text("{not json")
    result = mirror.run("https://mirror.ccs.tencentyun.com")
    assert result.returncode != 0 and "is not valid JSON" in result.stderr
    assert mirror.daemon_json.read_text() == "{not json"


def test_firewalld_opens_the_mirror_port_only_when_there_is_a_mirror():
    def openings(settings):
        script = render.prepare_files(settings)[0].content
        return next(line for line in script.splitlines() if line.startswith("FIREWALL_OPENINGS="))
    assert openings(make_settings("lab")) == "FIREWALL_OPENINGS=(service:http service:https port:8443/tcp)"
    assert openings(make_settings("lab", registryMirrorPort=9443)).endswith("port:9443/tcp)")
    assert openings(make_settings("lab", {"anonymousPull": False})) == "FIREWALL_OPENINGS=(service:http service:https)"
