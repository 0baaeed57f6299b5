"""The clients a team runs, each set up with the stack's outputs exactly as printed, through the real nginx.

One private namespace for the module (``registry_env``): the dev stack's nginx deployed by
the real bundle and deploy script, CNCF distribution registries standing in for Nexus's
connectors (docker-hosted 8002 and docker-group 8003 on one storage, both asking for the CI
user's Basic credentials as Nexus does with forceBasicAuth; docker-proxy 8001 anonymous, with
Docker Hub content seeded on it directly), and the clients from Debian: containerd with
``ctr --hosts-dir``, podman, buildah, skopeo and kubectl.  The namespace has no way to
Docker Hub: an image of a Docker Hub name can only come through the mirror.

The dev stack's certificate is a public one, so its outputs name no CA: the test CA stands
in for the public roots through ``SSL_CERT_FILE`` (Go's crypto/x509 reads it).  The
self-signed variant's outputs are tested without it, with the CA where the outputs say.
Nothing is skipped: a missing tool is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from components import client_setup
from tests.harness import TEST_SECRETS
from tests.support.client_tools import Containerd, containers_command
from tests.support.oci_index import write_oci_index
from tests.support.registry_env import (
    PROXY_PORT,
    dev_settings,
    make_ca,
    require_tools,
    start_environment,
    write_oci_image,
)

PASSWORD = TEST_SECRETS["nexus-registry:userPasswords"]["ci"]
CLIENT_TOOLS = ("htpasswd", "containerd", "ctr", "podman", "buildah", "skopeo", "kubectl")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    require_tools(*CLIENT_TOOLS)
    workdir = tmp_path_factory.mktemp("clients")
    htpasswd = workdir / "htpasswd"
    htpasswd.write_text(subprocess.run(["htpasswd", "-niB", "ci"], input=PASSWORD, capture_output=True, text=True,
                                       check=True).stdout)
    # The stand-in registries take Basic credentials on every request (Nexus answers a login with a Bearer
    # token, which the password budget never counts): like any such client, raise the budget.
    base = dev_settings()
    settings = base.model_copy(update={"limits": base.limits.model_copy(update={"password_checks_per_minute": 6000})})
    environment = start_environment(workdir, settings, with_proxy=True, htpasswd=htpasswd)
    # podman keeps its locks in /dev/shm/libpod_lock: a /dev/shm of the namespace's own keeps them there.
    environment.sandbox.run(["mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", "/dev/shm"])
    yield environment
    environment.sandbox.close()


@pytest.fixture(scope="module")
def containerd(env, tmp_path_factory):
    daemon = Containerd(env.sandbox, tmp_path_factory.mktemp("containerd"))
    yield daemon
    daemon.close()


@pytest.fixture(scope="module")
def public_roots(env, tmp_path_factory) -> dict[str, str]:
    """The environment of a client whose system roots include the CA (as a public CA is)."""
    bundle = tmp_path_factory.mktemp("roots") / "ca-certificates.crt"
    bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + env.ca.ca_crt.read_text())
    return {**os.environ, "SSL_CERT_FILE": str(bundle)}


def outputs(settings) -> dict[str, str]:
    """The stack outputs for client set-up, as the program exports them."""
    return client_setup.client_setup(settings)


def paste(env, path: str, text: str) -> None:
    """What ``pulumi stack output NAME | sudo tee PATH`` leaves on the client."""
    target = env.sandbox.path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n")


def seed_docker_hub(env, tmp_path: Path, name: str, tag: str):
    """An image on docker-proxy, as if Docker Hub content had been cached there."""
    image = write_oci_image(tmp_path / name.replace("/", "-"), [96 << 10], tag=tag)
    env.skopeo("copy", "--dest-tls-verify=false", f"oci:{image.layout}:{tag}",
               f"docker://127.0.0.1:{PROXY_PORT}/{name}:{tag}")
    return image


def push_team_image(env, tmp_path: Path, name: str):
    image = write_oci_image(tmp_path / name.replace("/", "-"), [64 << 10])
    env.skopeo("copy", "--dest-creds", f"ci:{PASSWORD}", "--dest-cert-dir", str(env.cert_dir),
               f"oci:{image.layout}:1", f"docker://{env.settings.registry_fqdn}/{name}:1")
    return image


def mirror_log(env) -> str:
    return env.nginx_access_log(f"{env.settings.registry_fqdn}-mirror")


def self_signed(env):
    return env.settings.model_copy(update={"certificate": "self-signed"})


# --- containerd ------------------------------------------------------------------------------------


def test_containerd_pulls_a_docker_hub_name_through_the_mirror(env, containerd, public_roots, tmp_path):
    image = seed_docker_hub(env, tmp_path, "library/alpine", "3")
    paste(env, "/etc/containerd/certs.d/docker.io/hosts.toml", outputs(env.settings)["containerdHostsToml"])
    containerd.pull("docker.io/library/alpine:3", env=public_roots)
    assert containerd.image_digest("docker.io/library/alpine:3") == image.manifest.digest
    assert containerd.content(image.layers[0].digest) == image.blob_path(image.layers[0].digest).read_bytes()
    log = mirror_log(env)
    assert re.search(rf'"GET /v2/library/alpine/blobs/{image.layers[0].digest}\?ns=docker\.io HTTP/1\.1" 200 '
                     r'.*"containerd/', log), log
    assert set(re.findall(r" upstream=(\S+) ", log)) == {f"127.0.0.1:{PROXY_PORT}"}


def test_containerd_pulls_a_team_image_with_credentials_and_not_without(env, containerd, public_roots, tmp_path):
    image = push_team_image(env, tmp_path, "team/app/api")
    fqdn = env.settings.registry_fqdn
    paste(env, f"/etc/containerd/certs.d/{fqdn}/hosts.toml", outputs(env.settings)["containerdRegistryHostsToml"])
    ref = f"{fqdn}/team/app/api:1"
    refused = containerd.pull(ref, check=False, env=public_roots)
    assert refused.returncode != 0 and "401" in refused.stderr + refused.stdout, refused
    containerd.pull("--user", f"ci:{PASSWORD}", ref, env=public_roots)
    assert containerd.image_digest(ref) == image.manifest.digest
    # nginx logs the Basic user: the reads went through with the CI user's credentials, to docker-group.
    assert re.search(r'^\S+ - ci \[[^]]+\] "GET /v2/team/app/api/manifests/\S+ HTTP/1\.1" 200 .*"containerd/.* '
                     r'upstream=127\.0\.0\.1:8003 ', env.nginx_access_log(fqdn), re.M)


def test_a_self_signed_stacks_hosts_toml_files_point_containerd_at_its_ca(env, containerd, tmp_path):
    settings = self_signed(env)
    files = outputs(settings)
    fqdn = settings.registry_fqdn
    ca_path = tomllib.loads(files["containerdHostsToml"])["host"][client_setup.mirror_url(settings)]["ca"]
    assert ca_path == tomllib.loads(files["containerdRegistryHostsToml"])["host"][f"https://{fqdn}"]["ca"]
    seed_docker_hub(env, tmp_path, "library/debian", "12")
    paste(env, "/etc/containerd/certs.d/docker.io/hosts.toml", files["containerdHostsToml"])
    paste(env, f"/etc/containerd/certs.d/{fqdn}/hosts.toml", files["containerdRegistryHostsToml"])
    # Another CA at that path: the pull is refused, so containerd verifies with the file the output names.
    other = make_ca(tmp_path / "other-ca", [fqdn])
    paste(env, ca_path, other.ca_crt.read_text().rstrip("\n"))
    untrusted = containerd.pull("docker.io/library/debian:12", check=False)
    assert untrusted.returncode != 0 and "certificate signed by unknown authority" in untrusted.stderr, untrusted
    paste(env, ca_path, env.ca.ca_crt.read_text().rstrip("\n"))  # pulumi stack output caCertPem | tee ca_path
    containerd.pull("docker.io/library/debian:12")
    team = push_team_image(env, tmp_path, "team/self-signed")
    containerd.pull("--user", f"ci:{PASSWORD}", f"{fqdn}/team/self-signed:1")
    assert containerd.image_digest(f"{fqdn}/team/self-signed:1") == team.manifest.digest


# --- podman, buildah, kubectl --------------------------------------------------------------------------


def test_podman_pulls_docker_hub_names_through_its_drop_in(env, public_roots, tmp_path):
    image = seed_docker_hub(env, tmp_path, "library/busybox", "1")
    paste(env, client_setup.PODMAN_DROP_IN, outputs(env.settings)["podmanRegistriesConf"])
    podman = containers_command("podman", tmp_path)
    env.sandbox.run([*podman, "pull", "docker.io/library/busybox:1"], env=public_roots, timeout=300)
    digest = env.sandbox.run([*podman, "image", "inspect", "--format", "{{.Digest}}",
                              "docker.io/library/busybox:1"]).stdout.strip()
    assert digest == image.manifest.digest
    assert re.search(rf'"GET /v2/library/busybox/blobs/{image.layers[0].digest} HTTP/1\.1" 200 .*"containers/',
                     mirror_log(env))


def test_a_self_signed_stacks_podman_drop_in_names_the_ca_files_it_needs(env, tmp_path):
    text = outputs(self_signed(env))["podmanRegistriesConf"]
    paste(env, client_setup.PODMAN_DROP_IN, text)
    image = seed_docker_hub(env, tmp_path, "library/nginx", "1")
    podman = containers_command("podman", tmp_path)
    untrusted = env.sandbox.run([*podman, "pull", "docker.io/library/nginx:1"], check=False, timeout=300)
    assert untrusted.returncode != 0
    for ca_path in re.findall(r"^#   (/etc/containers/certs\.d/\S+/ca\.crt)$", text, re.M):
        paste(env, ca_path, env.ca.ca_crt.read_text().rstrip("\n"))
    env.sandbox.run([*podman, "pull", "docker.io/library/nginx:1"], timeout=300)
    assert env.sandbox.run([*podman, "image", "inspect", "--format", "{{.Digest}}",
                            "docker.io/library/nginx:1"]).stdout.strip() == image.manifest.digest


def pull_secret_auth(env, tmp_path, argv_log: Path | None = None):
    """The kubectlPullSecret line run as printed (plus a client-side dry run): its .dockerconfigjson.

    With ``argv_log``, kubectl runs through a wrapper that records its arguments there first.
    """
    line = outputs(env.settings)["kubectlPullSecret"]
    run_env = {**os.environ, "KUBECONFIG": str(tmp_path / "no-cluster"), "NEXUS_REGISTRY_PASSWORD": PASSWORD}
    if argv_log is not None:
        wrapper = tmp_path / "bin" / "kubectl"
        wrapper.parent.mkdir(exist_ok=True)
        kubectl = subprocess.run(["bash", "-c", "command -v kubectl"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$0" "$@" >>{argv_log}\nexec {kubectl} "$@"\n')
        wrapper.chmod(0o755)
        run_env["PATH"] = f"{wrapper.parent}:{run_env['PATH']}"
    secret = subprocess.run(["bash", "-c", f"{line} --dry-run=client -o json"], env=run_env, capture_output=True,
                            text=True, check=True)
    document = json.loads(secret.stdout)
    assert (document["kind"], document["type"]) == ("Secret", "kubernetes.io/dockerconfigjson")
    auth = tmp_path / "auth.json"
    auth.write_bytes(base64.b64decode(document["data"][".dockerconfigjson"]))
    return auth


def test_the_pull_secret_line_needs_the_variable_and_never_holds_the_password(env, tmp_path):
    line = outputs(env.settings)["kubectlPullSecret"]
    assert PASSWORD not in line
    unset = {k: v for k, v in os.environ.items() if k != "NEXUS_REGISTRY_PASSWORD"}
    result = subprocess.run(["bash", "-c", f"{line} --dry-run=client -o json"], env=unset, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "set NEXUS_REGISTRY_PASSWORD first" in result.stderr
    assert "Secret" not in result.stdout  # stopped before kubectl: no secret with an empty password
    argv_log = tmp_path / "kubectl-argv"
    auth = json.loads(pull_secret_auth(env, tmp_path, argv_log).read_text())["auths"][env.settings.registry_fqdn]
    assert base64.b64decode(auth["auth"]).decode() == f"ci:{PASSWORD}"
    # Another user of the machine sees a process's arguments (ps): kubectl's never hold the password.
    recorded = argv_log.read_text()
    assert "create\nsecret\n" in recorded and PASSWORD not in recorded


def test_buildah_pushes_a_build_and_podman_pulls_it_with_the_pull_secret(env, public_roots, tmp_path):
    fqdn = env.settings.registry_fqdn
    buildah = containers_command("buildah", tmp_path)
    container = env.sandbox.run([*buildah, "from", "scratch"]).stdout.strip()
    (tmp_path / "hello.txt").write_text("built by buildah\n")
    env.sandbox.run([*buildah, "copy", container, str(tmp_path / "hello.txt"), "/hello.txt"])
    env.sandbox.run([*buildah, "commit", container, "team/built:1"])
    env.sandbox.run([*buildah, "push", "--creds", f"ci:{PASSWORD}", "team/built:1", f"docker://{fqdn}/team/built:1"],
                    env=public_roots, timeout=300)
    assert any(m == "PUT" and uri == "/v2/team/built/manifests/1" for m, uri, _ in env.registries.requests("hosted"))
    podman = containers_command("podman", tmp_path)
    denied = env.sandbox.run([*podman, "pull", f"{fqdn}/team/built:1"], check=False, env=public_roots, timeout=300)
    assert denied.returncode != 0 and "unauthorized" in denied.stderr.lower(), denied
    auth = pull_secret_auth(env, tmp_path)  # what the kubelet hands its runtime
    env.sandbox.run([*podman, "pull", "--authfile", str(auth), f"{fqdn}/team/built:1"], env=public_roots,
                    timeout=300)


# --- multi-platform images, attestations, referrers -------------------------------------------------------


def test_a_two_platform_index_with_attestations_comes_back_per_platform_with_its_digests(
        env, containerd, public_roots, tmp_path):
    fqdn = env.settings.registry_fqdn
    index = write_oci_index(tmp_path / "multi")
    ref = f"{fqdn}/team/multi:1"
    creds = f"ci:{PASSWORD}"
    env.skopeo("copy", "--all", "--preserve-digests", "--dest-creds", creds, "--dest-cert-dir", str(env.cert_dir),
               f"oci:{index.layout}:1", f"docker://{ref}")
    # Every manifest went to docker-hosted, by digest, and the index by its tag.
    puts = {uri for m, uri, status in env.registries.requests("hosted") if m == "PUT" and status == 201}
    assert {f"/v2/team/multi/manifests/{d.digest}" for d in index.manifests} | {"/v2/team/multi/manifests/1"} <= puts

    def raw(reference: str) -> bytes:
        return env.skopeo("inspect", "--raw", "--creds", creds, "--cert-dir", str(env.cert_dir),
                          f"docker://{reference}").stdout.encode()

    assert raw(ref) == index.blob(index.index.digest)
    for manifest in index.manifests:  # images and attestations, byte for byte
        assert raw(f"{fqdn}/team/multi@{manifest.digest}") == index.blob(manifest.digest)
    for image in index.images:
        containerd.pull("--platform", f"linux/{image.architecture}", "--user", creds, ref, env=public_roots)
        for blob in (image.manifest, image.config, image.layer):
            assert hashlib.sha256(containerd.content(blob.digest)).hexdigest() == blob.digest.removeprefix("sha256:")
    assert containerd.image_digest(ref) == index.index.digest
    podman = containers_command("podman", tmp_path)
    env.sandbox.run([*podman, "pull", "--platform", "linux/arm64", "--creds", creds, ref], env=public_roots,
                    timeout=300)
    inspected = json.loads(env.sandbox.run([*podman, "image", "inspect", ref]).stdout)[0]
    assert inspected["Architecture"] == "arm64"
    assert f"{fqdn}/team/multi@{index.image('arm64').manifest.digest}" in inspected["RepoDigests"]


@pytest.mark.parametrize("method, suffix", [("GET", ""), ("GET", "?artifactType=application%2Fvnd.in-toto%2Bjson"),
                                            ("HEAD", "")])
def test_the_oci_referrers_api_is_routed_as_a_read(env, method, suffix):
    fqdn = env.settings.registry_fqdn
    digest = "sha256:" + hashlib.sha256(method.encode() + suffix.encode()).hexdigest()
    path = f"/v2/team/multi/referrers/{digest}"
    before = len(env.registries.requests("hosted"))
    env.curl("-s", "-o", "/dev/null", *(["-I"] if method == "HEAD" else []), "-u", f"ci:{PASSWORD}",
             f"https://{fqdn}{path}{suffix}", check=False)
    assert any(uri == f"{path}{suffix}" and m == method for m, uri, _ in env.registries.requests("group"))
    assert len(env.registries.requests("hosted")) == before
    assert re.search(rf'"{method} {re.escape(path + suffix)} HTTP/[\d.]+" \d+ .* upstream=127\.0\.0\.1:8003 ',
                     env.nginx_access_log(fqdn))
