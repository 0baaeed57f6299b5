"""Who may reach what, under real nginx: the anonymous mirror and the allow-lists.

The per-address budgets (passwords, requests, manifests, connections) are exercised by
``test_front_door_limits`` against every shipped stack.

One private namespace (see ``registry_env``) with the dev stack plus allow-lists,
deployed by the real bundle and deploy script.  Three CNCF distribution
registries stand in for Nexus's connectors: docker-hosted (8002) and
docker-group (8003) on one storage, docker-proxy (8001) on its own (Docker
Hub's content).  Clients pick their source address inside 127.0.0.0/8
(``curl --interface``), so per-address limits and allow-lists are exercised
for real.  Nothing is skipped: a missing tool is a failure.
"""

from __future__ import annotations

import json
import re
import sys
import time

import pytest

from components import client_setup
from components import settings as stack_settings
from components.render import nginx
from tests.harness import stack_file_config
from tests.support.registry_env import PROXY_PORT, STUB, require_tools, start_environment, write_oci_image

# Neither list holds 127.0.0.1, the address the host's own smoke check uses.
WEB_ALLOWED = ["127.0.0.2/32", "127.0.0.4/30"]
MIRROR_ALLOWED = ["127.0.0.2/31"]
OUTSIDE = "127.0.0.100"  # inside loopback, outside both lists
METRICS_ALLOWED = ["127.0.0.8/30"]  # a scraper's network: not in the web allow-list


def access_settings() -> stack_settings.Settings:
    config = stack_file_config("dev")
    config["nexus-registry:webAllowedCidrs"] = WEB_ALLOWED
    config["nexus-registry:registryAllowedCidrs"] = ["127.0.0.0/8", "::1/128"]
    config["nexus-registry:registryMirrorAllowedCidrs"] = MIRROR_ALLOWED
    config["nexus-registry:metricsAllowedCidrs"] = METRICS_ALLOWED
    return stack_settings.from_mapping("dev", config, secret_placeholders=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    environment = start_environment(tmp_path_factory.mktemp("nginx-access"), access_settings(), with_proxy=True)
    yield environment
    environment.sandbox.close()


def mirror(env) -> str:
    return f"{env.settings.registry_fqdn}:{env.settings.registry_mirror_port}"


def statuses(env, source: str, urls: list[str], *options: str) -> list[int]:
    """HTTP status of each URL, in order, from one curl run bound to ``source``."""
    args = ["--interface", source, "-w", "%{http_code}\\n", *options]
    for url in urls:
        args += ["-o", "/dev/null", url]
    result = env.curl(*args, check=False)
    return [int(code) for code in result.stdout.split()]


def test_the_mirror_serves_docker_hub_content_from_docker_proxy_only(env, tmp_path):
    hub_image = write_oci_image(tmp_path / "hub", [128 << 10])
    # Seed docker-proxy directly, as if Docker Hub content had been cached there.
    env.skopeo("copy", "--dest-tls-verify=false", f"oci:{hub_image.layout}:1",
               f"docker://127.0.0.1:{PROXY_PORT}/library/alpine:3")
    team_image = write_oci_image(tmp_path / "team", [64 << 10])
    env.skopeo("copy", "--dest-cert-dir", str(env.cert_dir), f"oci:{team_image.layout}:1",
               f"docker://{env.settings.registry_fqdn}/team/secret:1")

    # --no-tags: a pull never lists tags, and the mirror serves only what a pull needs.
    pulled = env.skopeo("inspect", "--no-tags", "--cert-dir", str(env.cert_dir),
                        f"docker://{mirror(env)}/library/alpine:3")
    assert hub_image.manifest.digest in pulled.stdout
    layer = hub_image.layers[0].digest
    blob = env.curl("-o", "/dev/null", "-w", "%{http_code}", f"https://{mirror(env)}/v2/library/alpine/blobs/{layer}")
    assert blob.stdout == "200"

    # What was pushed to docker-hosted is on the registry name, and not behind the mirror.
    on_registry = env.skopeo("inspect", "--cert-dir", str(env.cert_dir),
                             f"docker://{env.settings.registry_fqdn}/team/secret:1")
    assert team_image.manifest.digest in on_registry.stdout
    hidden = env.skopeo("inspect", "--no-tags", "--cert-dir", str(env.cert_dir),
                        f"docker://{mirror(env)}/team/secret:1", check=False)
    assert hidden.returncode != 0 and "manifest unknown" in hidden.stderr, hidden.stderr
    log = env.sandbox.path(f"/var/log/nginx/{env.settings.registry_fqdn}-mirror.access.log").read_text()
    upstreams = set(re.findall(r" upstream=(\S+) ", log))
    assert upstreams == {f"127.0.0.1:{PROXY_PORT}"}, upstreams


def test_a_real_docker_daemon_pulls_docker_hub_images_through_the_mirror_output(env, tmp_path):
    """dockerDaemonJson as the stack outputs it, in a real dockerd: `docker pull alpine:3` comes via the mirror."""
    require_tools("dockerd", "docker")
    image = write_oci_image(tmp_path / "hub", [96 << 10])
    env.skopeo("copy", "--dest-tls-verify=false", f"oci:{image.layout}:1",
               f"docker://127.0.0.1:{PROXY_PORT}/library/alpine:3")
    certs = env.sandbox.path(f"/etc/docker/certs.d/{mirror(env)}")
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "ca.crt").write_text(env.ca.ca_crt.read_text())
    env.sandbox.path("/etc/docker/daemon.json").write_text(client_setup.daemon_json(env.settings))
    # Sockets live under the namespace's own /run: unix socket paths are limited to ~104 bytes.
    socket = "unix:///run/nr-docker/docker.sock"
    daemon = env.sandbox.popen(["dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
                                "--storage-driver=vfs", f"--data-root={tmp_path / 'docker-data'}",
                                "--exec-root=/run/nr-docker/exec", "--pidfile=/run/nr-docker/docker.pid",
                                "-H", socket], tmp_path / "dockerd.log")
    try:
        deadline = time.monotonic() + 60
        while env.sandbox.run(["docker", "-H", socket, "version"], check=False).returncode != 0:
            assert time.monotonic() < deadline and daemon.poll() is None, (tmp_path / "dockerd.log").read_text()
            time.sleep(0.2)
        # The namespace has no way to Docker Hub: the image can only come through the mirror.
        pulled = env.sandbox.run(["docker", "-H", socket, "pull", "alpine:3"], timeout=120)
        assert f"Digest: {image.manifest.digest}" in pulled.stdout, pulled.stdout
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    log = env.sandbox.path(f"/var/log/nginx/{env.settings.registry_fqdn}-mirror.access.log").read_text()
    assert re.search(rf'"GET /v2/library/alpine/blobs/{image.layers[0].digest} HTTP/1.1" 200 .*"docker/', log)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_mirror_refuses_every_write_before_it_reaches_docker_proxy(env, method):
    before = env.registries.requests("proxy")
    url = f"https://{mirror(env)}/v2/library/alpine/manifests/3"
    assert statuses(env, "127.0.0.2", [url], "-X", method) == [403]
    assert env.registries.requests("proxy") == before


def test_the_mirror_tells_nexus_its_own_name_and_port(env):
    # docker-proxy builds its token realm from Host: with the port, a token request stays on the mirror.
    result = env.curl("-sI", f"https://{mirror(env)}/v2/")
    assert result.stdout.startswith("HTTP/1.1 200") or result.stdout.startswith("HTTP/2 200"), result.stdout
    config = env.sandbox.path("/etc/nginx/conf.d/nexus-registry.conf").read_text()
    assert f"proxy_set_header Host {mirror(env)};" in config


def test_a_forged_host_on_the_mirror_port_is_dropped(env):
    result = env.curl("-i", "-H", "Host: evil.example", f"https://{mirror(env)}/v2/", check=False)
    assert result.returncode != 0 and "HTTP/" not in result.stdout, result


def test_the_web_allow_list_refuses_other_addresses(env):
    url = f"https://{env.settings.web_fqdn}/service/rest/v1/status"
    assert statuses(env, "127.0.0.2", [url]) == [200]
    assert statuses(env, OUTSIDE, [url]) == [403]
    assert statuses(env, "127.0.0.3", [url]) == [403]


def test_the_host_itself_stays_allowed_so_the_smoke_check_passes(env):
    assert statuses(env, "127.0.0.1", [f"https://{env.settings.web_fqdn}/service/rest/v1/status"]) == [200]
    assert "nginx reloaded" in env.deploy_output.stderr
    result = env.sandbox.run(["/opt/nexus-registry/bin/smoke-check-nginx.sh"])
    assert result.stdout.startswith("smoke-check: ok: ")


def test_metrics_answer_only_the_metrics_allow_list_whatever_the_path_spelling(env):
    web = f"https://{env.settings.web_fqdn}"
    spellings = ["/service/metrics/prometheus", "/service/metrics/prometheus;x=1", "/service;a/metrics/prometheus",
                 "//service//metrics/prometheus", "/service/metrics%3Bx/prometheus", "/service/./metrics/data"]
    urls = [web + path for path in spellings]
    assert statuses(env, "127.0.0.9", [urls[0]]) == [200]  # the scraper
    assert statuses(env, "127.0.0.2", urls, "--path-as-is") == [403] * len(urls)  # web-allowed, not metrics
    assert statuses(env, OUTSIDE, [urls[0]]) == [403]
    assert statuses(env, "127.0.0.9", [f"{web}/service/rest/v1/status"]) == [403]  # metrics only, not the UI


def test_the_mirror_allow_list_is_its_own(env):
    assert statuses(env, OUTSIDE, [f"https://{mirror(env)}/v2/"]) == [403]
    # The registry name allows all of loopback (and ::1): the same address may use it.
    assert statuses(env, OUTSIDE, [f"https://{env.settings.registry_fqdn}/v2/"]) == [200]


def test_the_deployed_config_is_the_rendered_one(env):
    deployed = env.sandbox.path("/etc/nginx/conf.d/nexus-registry.conf").read_text()
    assert deployed == nginx.render_site_config(env.settings)
    assert "allow ::1/128;" in deployed


def test_the_mirror_passes_bearer_tokens_but_never_a_password(env):
    """Last in this module: docker-proxy's stand-in is swapped for an echo of what arrives."""
    proxy = next(p for p in env.sandbox.children if any(str(a).endswith("registry-proxy.yml") for a in p.args))
    proxy.terminate()
    proxy.wait(timeout=10)
    env.sandbox.popen([sys.executable, str(STUB), str(PROXY_PORT)], env.workdir / "proxy-echo.log")
    env.sandbox.wait_http(f"http://127.0.0.1:{PROXY_PORT}/service/rest/v1/status")
    url = f"https://{mirror(env)}/v2/token?service=x&scope=repository:library/alpine:pull"
    basic = json.loads(env.curl("-u", "someone:docker-hub-password", url).stdout)["headers"]
    assert "authorization" not in basic
    bearer = json.loads(env.curl("-H", "Authorization: Bearer anonymous.jwt", url).stdout)["headers"]
    assert bearer["authorization"] == "Bearer anonymous.jwt"
    assert bearer["host"] == mirror(env)
