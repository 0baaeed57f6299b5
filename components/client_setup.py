"""What a client pastes to use the registry: pure functions of the settings.

Each value is a ready-to-paste line or file for ``docker``, ``pip`` or ``yum``;
none holds a secret (``docker login`` reads the CI user's password from stdin),
so the stack outputs built from them are plain.  Entries for a disabled
repository, or for the mirror when anonymous pulls are off, are absent.
"""

from __future__ import annotations

import json

from components.settings import Settings


def docker_login(settings: Settings) -> str:
    """The CI user's login; the password comes on stdin (e.g. from a CI secret), never as an argument."""
    return f"docker login {settings.registry_fqdn} --username {settings.ci_user.name} --password-stdin"


def mirror_url(settings: Settings) -> str:
    """The anonymous, read-only Docker Hub mirror: its own port on the registry name."""
    return f"https://{settings.registry_fqdn}:{settings.registry_mirror_port}"


def daemon_json(settings: Settings) -> str:
    """The /etc/docker/daemon.json entry that makes Docker pull Docker Hub images through Nexus.

    It names the mirror endpoint, not the registry name: the Docker daemon sends no
    credentials of ours to a mirror, and the mirror serves Docker Hub content only.
    """
    return json.dumps({"registry-mirrors": [mirror_url(settings)]}, indent=2)


def pip_index_url(settings: Settings) -> str:
    return f"https://{settings.web_fqdn}/repository/pypi-proxy/simple"


def yum_repo(settings: Settings) -> str:
    """A .repo file for /etc/yum.repos.d/ (the default remote is a Rocky Linux mirror).

    Rocky's signing key comes through the proxy, not from /etc/pki/rpm-gpg (only Rocky
    ships it there), so EL clients of other vendors verify the same packages.  Their
    ``$releasever`` is not the EL major (TencentOS Server 3 is EL 8), hence the header.
    """
    base = f"https://{settings.web_fqdn}/repository/yum-proxy"
    sections = [
        "# Rocky Linux 8/9: use as is.  CentOS Stream, AlmaLinux, TencentOS Server 3/4, OpenCloudOS 8/9:\n"
        "# replace $releasever with the EL major version, 8 or 9 (README: Using the registry from a client).\n"
    ]
    for repo in ("BaseOS", "AppStream"):
        sections.append(
            f"[nexus-{repo.lower()}]\n"
            f"name=Nexus yum-proxy {repo} ($releasever)\n"
            f"baseurl={base}/$releasever/{repo}/$basearch/os/\n"
            "enabled=1\n"
            "gpgcheck=1\n"
            f"gpgkey={base}/RPM-GPG-KEY-Rocky-$releasever\n"
        )
    return sections[0] + "\n".join(sections[1:])


def docker_ca_path(settings: Settings) -> str:
    """Where a Docker client looks for the CA of a registry with a private certificate."""
    return f"/etc/docker/certs.d/{settings.registry_fqdn}/ca.crt"


def client_setup(settings: Settings) -> dict[str, str]:
    """Stack outputs for client set-up, keyed by output name."""
    outputs = {"dockerLogin": docker_login(settings)}
    if settings.mirror_enabled:
        outputs["dockerDaemonJson"] = daemon_json(settings)
    if settings.nexus.pypi_proxy:
        outputs["pipIndexUrl"] = pip_index_url(settings)
    if settings.nexus.yum_proxy:
        outputs["yumRepo"] = yum_repo(settings)
    if settings.certificate == "self-signed":
        outputs["dockerCaPath"] = docker_ca_path(settings)
    return outputs
