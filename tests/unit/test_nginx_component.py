"""``NginxProxy`` under Pulumi mocks: its steps, their order, and where key material goes."""

from __future__ import annotations

import base64
import re

import pulumi
import pytest
from pulumi_command import remote

from components import host_layout
from components.nginx import TYPE, NginxProxy, NginxProxyArgs
from components.pem import PemPair
from components.render import nginx as render
from components.settings import from_pulumi
from tests.harness import is_secret, resolve, run_program, stack_config
from tests.support.bundles import SECRET_SIG

COMMAND = "command:remote:Command"
KEY = "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-{name}\n-----END PRIVATE KEY-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nCERT-{name}\n-----END CERTIFICATE-----\n"


def pem(name: str) -> PemPair:
    return PemPair(cert_pem=pulumi.Output.from_input(CERT.format(name=name)),
                   key_pem=pulumi.Output.secret(KEY.format(name=name)),
                   expires_at=pulumi.Output.from_input("2027-01-01T00:00:00Z"))


def build(stack: str = "dev", registry: str = "registry", web: str = "web", ssh_user: str = "ubuntu",
          same_pair: bool = False):
    """Run NginxProxy alone under mocks, after a stand-in "Nexus ready" step; return (run, captured)."""
    captured = {}

    def program():
        settings = from_pulumi()
        ready = remote.Command("nexus-ready", connection=remote.ConnectionArgs(host="198.51.100.7"), create="true")
        registry_pair = pem(registry)
        proxy = NginxProxy("nginx", NginxProxyArgs(
            settings=settings,
            connection=remote.ConnectionArgs(host="198.51.100.7", user=ssh_user,
                                             private_key=pulumi.Output.secret("ssh-key")),
            ssh_user=ssh_user,
            web_certificate=registry_pair if same_pair else pem(web),
            registry_certificate=registry_pair,
        ), opts=pulumi.ResourceOptions(depends_on=[ready]))
        captured.update(proxy=proxy, ready=ready, settings=settings)

    return run_program(stack, stack_config(stack), program=program), captured




def stdin_of(run, name: str) -> str:
    """The stdin a step was registered with; it must reach the engine marked secret."""
    value = run.named(name).inputs["stdin"]
    assert isinstance(value, dict) and SECRET_SIG in value, f"{name} stdin is not secret on the wire"
    return value["value"]


def bundle_files(stdin: str) -> dict[str, tuple[str, str]]:
    """path -> (mode, content) of every file a bundle script installs."""
    found = re.findall(r"_nr_put '([^']+)' (\d{4}) <<'NEXUS_REGISTRY_B64'\n(.*?)\nNEXUS_REGISTRY_B64", stdin, re.S)
    return {path: (mode, base64.b64decode(body).decode()) for path, mode, body in found}


@pytest.fixture(scope="module")
def dev():
    return build()


def test_registers_a_component_with_a_deploy_and_a_smoke_step(dev):
    run, captured = dev
    run.one(TYPE)
    names = {r.name for r in run.of_type(COMMAND)}
    assert names == {"nexus-ready", "nginx-deploy", "nginx-smoke"}
    proxy = captured["proxy"]
    assert isinstance(proxy.deploy, remote.Command) and isinstance(proxy.smoke_check, remote.Command)
    assert run.named("nginx-deploy").inputs["create"] == "sudo -n bash -s"  # ssh user ubuntu


def test_steps_are_children_and_wait_for_nexus_and_each_other(dev):
    run, captured = dev
    deploy, smoke = run.named("nginx-deploy").opts, run.named("nginx-smoke").opts
    assert deploy.parent is captured["proxy"] and smoke.parent is captured["proxy"]
    assert captured["ready"] in deploy.depends_on
    assert captured["ready"] in smoke.depends_on and captured["proxy"].deploy in smoke.depends_on


def test_deploy_bundle_installs_rendered_files_and_root_only_certificates(dev):
    run, captured = dev
    settings = captured["settings"]
    stdin = stdin_of(run, "nginx-deploy")
    files = bundle_files(stdin)
    staged = host_layout.NGINX_STAGE_DIR
    read_by_nginx = set(render.managed_files(settings))
    for host_file in render.host_files(settings):
        # Pitfall 14: nothing nginx reads is written live by the bundle, only staged; scripts land live.
        path = staged + host_file.path if host_file.path in read_by_nginx else host_file.path
        assert files[path] == (host_file.mode, host_file.content)
        assert host_file.path not in files or host_file.path not in read_by_nginx
    assert not [path for path in files if path.startswith(("/etc/nginx", "/etc/pki"))]
    assert files[f"{staged}/etc/pki/nginx/{settings.registry_fqdn}.key"] == ("0600", KEY.format(name="registry"))
    assert files[f"{staged}/etc/pki/nginx/{settings.web_fqdn}.key"] == ("0600", KEY.format(name="web"))
    assert files[f"{staged}/etc/pki/nginx/{settings.registry_fqdn}.crt"][1] == CERT.format(name="registry")
    assert stdin.rstrip().endswith(f"exec {host_layout.NGINX_DEPLOY_SCRIPT}")


def test_key_material_travels_only_in_the_secret_deploy_stdin(dev):
    run, captured = dev
    proxy = captured["proxy"]
    assert is_secret(proxy.deploy.stdin)
    assert is_secret(proxy.smoke_check.stdin)
    for registered in run.of_type(COMMAND):
        for name, value in registered.inputs.items():
            if name == "stdin" and registered.name == "nginx-deploy":
                continue
            assert "TOP-SECRET" not in str(value), (registered.name, name)
    assert "TOP-SECRET" not in str(resolve(proxy.smoke_check.stdin))
    assert "TOP-SECRET" not in str(run.named("nginx-deploy").inputs["create"])


def test_smoke_step_runs_the_check_and_changes_with_the_deploy_bundle(dev):
    run, _ = dev
    smoke_stdin = stdin_of(run, "nginx-smoke")
    assert smoke_stdin.rstrip().endswith(f"exec {host_layout.NGINX_SMOKE_SCRIPT}")
    assert set(bundle_files(smoke_stdin)) == {host_layout.NGINX_DEPLOYED_DIGEST}

    same, _ = build()
    renewed, _ = build(registry="registry-renewed")
    assert stdin_of(same, "nginx-deploy") == stdin_of(run, "nginx-deploy")
    assert stdin_of(same, "nginx-smoke") == smoke_stdin  # nothing changed: nothing re-runs
    assert stdin_of(renewed, "nginx-deploy") != stdin_of(run, "nginx-deploy")
    assert stdin_of(renewed, "nginx-smoke") != smoke_stdin  # new certificate: checked again


def test_one_san_certificate_serves_both_names_as_root(tmp_path):
    run, captured = build(stack="lab", ssh_user="root", same_pair=True)
    settings = captured["settings"]
    files = bundle_files(stdin_of(run, "nginx-deploy"))
    staged = f"{host_layout.NGINX_STAGE_DIR}/etc/pki/nginx"
    assert files[f"{staged}/{settings.web_fqdn}.key"] == files[f"{staged}/{settings.registry_fqdn}.key"]
    assert run.named("nginx-deploy").inputs["create"] == "bash -s"
