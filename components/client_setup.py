"""What a client pastes to use the registry: pure functions of the settings.

Each value is a ready-to-paste line or file for ``docker``, containerd, podman
(and buildah, skopeo), Kubernetes, ``pip`` or ``yum``; the files are rendered
from ``components/templates/clients``.  None holds a secret (``docker login``
reads the CI user's password from stdin, the pull-secret line from a shell
variable), so the stack outputs built from them are plain.  Entries for a
disabled repository, or for the mirror when anonymous pulls are off, are absent.
"""

from __future__ import annotations

import json

from components.render.templating import render_template
from components.settings import Settings

# The shell variable the pull-secret line reads the password from (never part of the output).
PULL_SECRET_PASSWORD_VARIABLE = "NEXUS_REGISTRY_PASSWORD"
PULL_SECRET_NAME = "nexus-registry"
CONTAINERD_CERTS_DIR = "/etc/containerd/certs.d"
PODMAN_DROP_IN = "/etc/containers/registries.conf.d/50-nexus-registry.conf"


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


def containerd_ca_path(settings: Settings) -> str | None:
    """Where containerd's hosts.toml files look for the stack's CA; None when the certificate is public."""
    if settings.certificate != "self-signed":
        return None
    return f"{CONTAINERD_CERTS_DIR}/{settings.registry_fqdn}/ca.crt"


def containerd_mirror_hosts_toml(settings: Settings) -> str:
    """``/etc/containerd/certs.d/docker.io/hosts.toml``: Docker Hub names through the anonymous mirror.

    The mirror host gets the ``pull`` and ``resolve`` capabilities only (it refuses pushes);
    containerd sends no credentials of ours there, as the mirror needs none.
    """
    return render_template("clients/containerd-mirror-hosts.toml.j2", stack=settings.stack,
                  path=f"{CONTAINERD_CERTS_DIR}/docker.io/hosts.toml",
                  mirror_url=mirror_url(settings), ca_path=containerd_ca_path(settings))


def containerd_registry_hosts_toml(settings: Settings) -> str:
    """``/etc/containerd/certs.d/<registry host>/hosts.toml``: the team registry itself (its CA when self-signed)."""
    return render_template("clients/containerd-registry-hosts.toml.j2", stack=settings.stack,
                  path=f"{CONTAINERD_CERTS_DIR}/{settings.registry_fqdn}/hosts.toml",
                  registry_url=f"https://{settings.registry_fqdn}", ca_path=containerd_ca_path(settings))


def podman_ca_paths(settings: Settings) -> list[str]:
    """containers/image reads a registry's CA from certs.d/<host[:port]>/: the mirror's port is part of the name."""
    if settings.certificate != "self-signed":
        return []
    hosts = [f"{settings.registry_fqdn}:{settings.registry_mirror_port}"] if settings.mirror_enabled else []
    return [f"/etc/containers/certs.d/{host}/ca.crt" for host in (*hosts, settings.registry_fqdn)]


def podman_registries_conf(settings: Settings) -> str:
    """A registries.conf.d drop-in mirroring ``docker.io`` (podman, buildah and skopeo read it)."""
    return render_template("clients/podman-registries.conf.j2", stack=settings.stack, path=PODMAN_DROP_IN,
                  mirror_location=f"{settings.registry_fqdn}:{settings.registry_mirror_port}",
                  ca_paths=podman_ca_paths(settings))


def pull_secret_user(settings: Settings) -> str:
    """The first user with role pull (least privilege for a cluster), else the CI user."""
    return next((user.name for user in settings.users if user.role == "pull"), settings.ci_user.name)


def kubectl_pull_secret(settings: Settings) -> str:
    """The ``kubectl create secret docker-registry`` line; the password comes from a shell variable."""
    return render_template("clients/kubectl-pull-secret.sh.j2", secret_name=PULL_SECRET_NAME,
                  server=settings.registry_fqdn, username=pull_secret_user(settings),
                  variable=PULL_SECRET_PASSWORD_VARIABLE).rstrip("\n")


def client_setup(settings: Settings) -> dict[str, str]:
    """Stack outputs for client set-up, keyed by output name."""
    outputs = {"dockerLogin": docker_login(settings)}
    if settings.mirror_enabled:
        outputs["dockerDaemonJson"] = daemon_json(settings)
        outputs["containerdHostsToml"] = containerd_mirror_hosts_toml(settings)
        outputs["podmanRegistriesConf"] = podman_registries_conf(settings)
    outputs["containerdRegistryHostsToml"] = containerd_registry_hosts_toml(settings)
    outputs["kubectlPullSecret"] = kubectl_pull_secret(settings)
    if settings.nexus.pypi_proxy:
        outputs["pipIndexUrl"] = pip_index_url(settings)
    if settings.nexus.yum_proxy:
        outputs["yumRepo"] = yum_repo(settings)
    if settings.certificate == "self-signed":
        outputs["dockerCaPath"] = docker_ca_path(settings)
    return outputs
