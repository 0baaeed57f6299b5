"""The client outputs for containerd, podman/buildah/skopeo and Kubernetes, as files and lines a user pastes.

They are rendered from ``components/templates/clients``; here they are parsed the way the
clients parse them (TOML for containerd's hosts.toml and containers' registries.conf, the
shell for the kubectl line).  tests/system/test_clients.py runs the real clients on them.
"""

from __future__ import annotations

import json
import shlex
import tomllib

import pytest

from components import client_setup
from tests.harness import run_stack, stack_settings

OUTPUTS = ("containerdHostsToml", "containerdRegistryHostsToml", "podmanRegistriesConf", "kubectlPullSecret")


@pytest.fixture(scope="module")
def dev():
    return stack_settings("dev")


@pytest.fixture(scope="module")
def lab():
    return stack_settings("lab")  # certificate: self-signed


def test_containerd_pulls_docker_hub_names_from_the_mirror_with_pull_and_resolve_only(dev):
    hosts = tomllib.loads(client_setup.containerd_mirror_hosts_toml(dev))
    assert hosts == {"server": "https://registry-1.docker.io", "host": {
        "https://docker-registry.widgets-inc.cn:8443": {"capabilities": ["pull", "resolve"]}}}
    registry = tomllib.loads(client_setup.containerd_registry_hosts_toml(dev))
    assert registry == {"server": "https://docker-registry.widgets-inc.cn", "host": {
        "https://docker-registry.widgets-inc.cn": {"capabilities": ["pull", "resolve", "push"]}}}
    assert client_setup.containerd_mirror_hosts_toml(dev).startswith(
        "# /etc/containerd/certs.d/docker.io/hosts.toml: ")


def test_a_self_signed_stack_points_containerd_at_its_ca_in_both_files(lab):
    ca = "/etc/containerd/certs.d/docker-registry.nexushub.lab/ca.crt"
    mirror = tomllib.loads(client_setup.containerd_mirror_hosts_toml(lab))
    assert mirror["host"]["https://docker-registry.nexushub.lab:8443"]["ca"] == ca
    registry = tomllib.loads(client_setup.containerd_registry_hosts_toml(lab))
    assert registry["host"]["https://docker-registry.nexushub.lab"]["ca"] == ca


def test_the_podman_drop_in_mirrors_docker_io_and_names_the_ca_files_of_a_self_signed_stack(dev, lab):
    conf = tomllib.loads(client_setup.podman_registries_conf(dev))
    assert conf == {"registry": [{"prefix": "docker.io", "location": "docker.io",
                                  "mirror": [{"location": "docker-registry.widgets-inc.cn:8443"}]}]}
    assert "caCertPem" not in client_setup.podman_registries_conf(dev)
    text = client_setup.podman_registries_conf(lab)
    # containers/image reads certs.d/<host:port>/: the mirror's port makes it a directory of its own.
    assert "#   /etc/containers/certs.d/docker-registry.nexushub.lab:8443/ca.crt\n" in text
    assert "#   /etc/containers/certs.d/docker-registry.nexushub.lab/ca.crt\n" in text
    assert tomllib.loads(text)["registry"][0]["mirror"] == [{"location": "docker-registry.nexushub.lab:8443"}]


def test_the_pull_secret_line_reads_the_password_from_a_variable_and_prefers_a_pull_user(dev):
    line = client_setup.kubectl_pull_secret(dev)
    assert "\n" not in line
    words = shlex.split(line)
    # The variable is checked before anything runs, and kubectl comes last so that appended arguments reach it.
    assert words[:2] == [":", "${NEXUS_REGISTRY_PASSWORD:?set NEXUS_REGISTRY_PASSWORD first: read -rs "
                                "NEXUS_REGISTRY_PASSWORD}"]
    kubectl = words[words.index("kubectl"):]
    assert kubectl == ["kubectl", "create", "secret", "generic", "nexus-registry",
                       "--type=kubernetes.io/dockerconfigjson", "--from-file=.dockerconfigjson=/dev/stdin"]
    assert not any("NEXUS_REGISTRY_PASSWORD" in word for word in kubectl)
    assert "docker-registry.widgets-inc.cn" in words and "printf '%s:%s' ci " in line
    reader = dev.model_copy(update={"users": (*dev.users, type(dev.users[0])(name="k8s", role="pull"))})
    assert "printf '%s:%s' k8s " in client_setup.kubectl_pull_secret(reader)


def test_the_outputs_are_plain_and_hold_no_password():
    run = run_stack("dev", {"users": [{"name": "ci", "role": "push"}, {"name": "k8s", "role": "pull"}],
                            "userPasswords": {"ci": "Ci-Push-Password-17", "k8s": "K8s-Pull-Password-3"}})
    assert set(OUTPUTS) <= set(run.outputs) and not set(OUTPUTS) & run.secret_outputs
    text = json.dumps({name: run.outputs[name] for name in OUTPUTS})
    assert "Password" not in text and "K8s-Pull" not in text
    assert "printf '%s:%s' k8s " in run.outputs["kubectlPullSecret"]


def test_without_the_anonymous_mirror_there_is_nothing_to_mirror_docker_hub_through():
    run = run_stack("dev", {"nexus": {"version": "3.93.2", "anonymousPull": False}})
    assert "containerdHostsToml" not in run.outputs and "podmanRegistriesConf" not in run.outputs
    assert "containerdRegistryHostsToml" in run.outputs and "kubectlPullSecret" in run.outputs
