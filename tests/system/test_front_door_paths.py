"""What gets through the front door, per shipped stack: only the registry API, only what a pull
needs on the mirror, only forwarding headers nginx chose, no TLS for unknown names; and users
still push, pull and log in (issue 20, items 1, 2, 7 and 8).

Each stack's rendered nginx runs for real in a private namespace (``front_door``) with stubs
on every Nexus port that log whatever reaches them, so "never reaches Nexus" is read off the
stubs, not inferred from a status code.
"""

from __future__ import annotations

import re

import pytest

from components import client_setup, host_layout
from components.render import nginx as render_nginx
from tests.support.front_door import (
    GROUP,
    HOSTED,
    OUTSIDE,
    PASSWORD,
    PROXY,
    STACKS,
    USER,
    WEB,
    start_front_door,
    wait_for,
)
from tests.support.registry_env import require_tools, write_oci_image

DIGEST = "sha256:" + "ab" * 32
# Requests that reached a Nexus connector through the registry name in issue 20, and the path
# tricks that must not carry anything outside /v2/ past nginx either (sent byte for byte).
NOT_THE_REGISTRY_API = [
    ("GET", "/service/rest/v1/security/users"),
    ("POST", "/service/rapture/session"),
    ("POST", "/service/extdirect"),
    ("PUT", "/service/rest/v1/security/users/admin/change-password"),
    ("DELETE", "/service/rest/v1/repositories/docker-hosted"),
    ("GET", "/repository/docker-hosted/v2/"),
    ("GET", "/"),
    ("GET", "/v2/../service/rest/v1/status"),
    ("GET", "/v2/%2e%2e/service/rest/v1/status"),
    ("GET", "/v2/%2E%2E/%2E%2E/service/rest/v1/status"),
    ("GET", "/v2/..;/service/rest/v1/status"),
    ("GET", "/v2/team/app/manifests/..;/..;/..;/..;/service/rest/v1/status"),
    ("GET", "/v2;x/../service/rest/v1/status"),
    ("GET", "//service/rest/v1/status"),
    ("GET", "/v2//../service/rest/v1/status"),
    ("GET", "/v2/x%2f..%2f..%2fservice/rest/v1/status"),
    ("GET", "/v2/%2fservice/rest/v1/status"),
    ("GET", "/v2/team/app/manifests/1;jsessionid=x"),
    ("GET", "/v2/token;x"),
    ("GET", "/v2/token/"),
    ("GET", "/v2/..%5c..%5cservice/rest/v1/status"),
    ("GET", "/V2/"),
    ("GET", "http://evil.example/service/rest/v1/status"),
    ("OPTIONS", "/v2/"),
    ("TRACE", "/v2/"),
]
# The routing table of DESIGN.md: each API request reaches exactly this connector.
ROUTES = [
    ("GET", "/v2/", GROUP),
    ("GET", "/v2/token?service=x&scope=repository:team/app:pull,push", GROUP),
    ("GET", "/v2/team/app/api/manifests/1.0", GROUP),
    ("HEAD", "/v2/team/app/api/manifests/1.0", GROUP),
    ("GET", f"/v2/team/app/blobs/{DIGEST}", GROUP),
    ("GET", "/v2/team/app/tags/list", GROUP),
    ("GET", f"/v2/team/app/referrers/{DIGEST}", GROUP),
    ("HEAD", f"/v2/team/app/blobs/{DIGEST}", HOSTED),
    ("POST", "/v2/team/app/blobs/uploads/", HOSTED),
    ("POST", f"/v2/team/app/blobs/uploads/?mount={DIGEST}&from=library/alpine", HOSTED),
    ("PATCH", "/v2/team/app/blobs/uploads/6f1c2b7e-0d4a-4c1e-9c51-2d0c8c6f0a11?_state=abc%3D", HOSTED),
    ("PUT", f"/v2/team/app/blobs/uploads/6f1c2b7e-0d4a-4c1e-9c51-2d0c8c6f0a11?digest={DIGEST}", HOSTED),
    ("GET", "/v2/team/app/blobs/uploads/6f1c2b7e-0d4a-4c1e-9c51-2d0c8c6f0a11", HOSTED),
    ("PUT", "/v2/team/app/manifests/1.0", HOSTED),
    ("DELETE", f"/v2/team/app/manifests/{DIGEST}", HOSTED),
]
# The mirror: issue 20's list, what no pull needs, and the same tricks.
NOT_A_PULL = [
    ("GET", "/"),
    ("GET", "/service/rest/v1/search?repository=docker-hosted"),
    ("GET", "/service/rest/v1/components?repository=docker-proxy"),
    ("GET", "/repository/docker-hosted/v2/team/app/manifests/1"),
    ("GET", "/v2/_catalog"),
    ("GET", "/v2/library/alpine/tags/list"),
    ("GET", f"/v2/library/alpine/referrers/{DIGEST}"),
    ("GET", "/v2/library/alpine/blobs/uploads/"),
    ("GET", "/v2/../service/rest/v1/status"),
    ("GET", "/v2/%2e%2e/service/rest/v1/status"),
    ("GET", "/v2/..;/service/rest/v1/status"),
    ("GET", "/v2/library/alpine/manifests/3;x"),
    ("GET", "//service/rest/v1/status"),
    ("POST", "/v2/library/alpine/blobs/uploads/"),
    ("PUT", "/v2/library/alpine/manifests/3"),
    ("DELETE", f"/v2/library/alpine/blobs/{DIGEST}"),
]
A_PULL = [
    ("GET", "/v2/"), ("HEAD", "/v2/"),
    ("GET", "/v2/token?scope=repository:library/alpine:pull&service=x"),
    ("GET", "/v2/library/alpine/manifests/3.20"), ("HEAD", "/v2/library/alpine/manifests/3.20"),
    ("GET", f"/v2/library/alpine/manifests/{DIGEST}"),
    ("GET", f"/v2/library/alpine/blobs/{DIGEST}"), ("HEAD", f"/v2/library/alpine/blobs/{DIGEST}"),
    ("GET", "/v2/library/alpine/manifests/3.20?ns=docker.io"),  # containerd names the upstream
]
# Every forwarding header Jetty's ForwardedRequestCustomizer reads, with a client's values.
FORGED = {
    "Forwarded": "for=203.0.113.9;host=evil.example;proto=http",
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Host": "evil.example:8443",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Port": "8080",
    "X-Forwarded-Server": "evil.example",
    "X-Forwarded-Prefix": "/evil",
    "X-Proxied-Https": "off",
    "Proxy-auth-cert": "forged-cert",
    "Proxy-ssl-id": "forged-session",
}


@pytest.fixture(scope="module", params=STACKS)
def door(request, tmp_path_factory):
    front = start_front_door(tmp_path_factory.mktemp(f"front-door-{request.param}"), request.param)
    yield front
    front.close()


def test_the_registry_name_forwards_nothing_but_the_registry_api(door):
    # The address is outside webAllowedCidrs: the web host refuses it everything...
    assert door.status(OUTSIDE, f"{door.web}/service/rest/v1/security/users") == 403
    before = door.seen()
    answered = {(method, target): door.raw(OUTSIDE, door.registry, method, target)
                for method, target in NOT_THE_REGISTRY_API}
    # ... and so, now, does the registry name: nginx answers, and no connector saw a thing.
    assert door.seen_since(before) == []
    # 000: nginx closed the connection (the absolute-form target names a host it does not serve).
    assert all(status in (0, 400, 404, 405) for status in answered.values()), answered


def test_registry_api_requests_reach_the_connector_the_routing_table_names(door):
    for method, target, port in ROUTES:
        before = door.seen()
        door.raw("127.0.0.20", door.registry, method, target)
        arrived = door.seen_since(before)
        assert [(s.port, s.method, s.path) for s in arrived] == [(port, method, target)], (method, target)


def test_the_mirror_forwards_only_what_a_pull_needs(door):
    before = door.seen()
    refused = {(m, t): door.raw(OUTSIDE, door.mirror, m, t) for m, t in NOT_A_PULL}
    assert door.seen_since(before) == []
    assert all(status in (403, 404) for status in refused.values()), refused
    for method, target in A_PULL:
        before = door.seen()
        door.raw(OUTSIDE, door.mirror, method, target)
        assert [(s.port, s.method, s.path) for s in door.seen_since(before)] == [(PROXY, method, target)]


@pytest.mark.parametrize("endpoint", ["registry", "mirror", "web"])
def test_nexus_sees_only_forwarding_headers_nginx_set(door, endpoint):
    base = getattr(door, endpoint)
    source = "127.0.0.3"
    forged = [arg for name, value in FORGED.items() for arg in ("-H", f"{name}: {value}")]
    # Names in other cases, and a second copy, are the same headers to Jetty.
    forged += ["-H", "x-forwarded-port: 9999", "-H", "FORWARDED: for=198.51.100.7", "-H", "X-Forwarded-For: 10.0.0.1"]
    before = door.seen()
    door.status(source, f"{base}/v2/", *forged)
    (arrived,) = door.seen_since(before)
    for name in render_nginx.CLEARED_FORWARDING_HEADERS:
        assert arrived.header(name) == [], (name, arrived.headers)
    assert arrived.header("X-Forwarded-For") == [source]
    assert arrived.header("X-Real-IP") == [source]
    assert arrived.header("X-Forwarded-Proto") == ["https"]
    expected_host = {"registry": door.settings.registry_fqdn, "web": door.settings.web_fqdn,
                     "mirror": f"{door.settings.registry_fqdn}:{door.settings.registry_mirror_port}"}[endpoint]
    assert arrived.header("Host") == [expected_host]


def handshake(door, port: int, *options: str) -> str:
    result = door.sandbox.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief", *options],
                              input="", check=False, timeout=30)
    return result.stdout + result.stderr


@pytest.mark.parametrize("where", ["mirror", "443"])
def test_tls_for_an_unknown_or_absent_name_is_refused_in_the_handshake(door, where):
    port = door.settings.registry_mirror_port if where == "mirror" else 443
    for options in (["-servername", "evil.example"], ["-noservername"]):
        answer = handshake(door, port, *options)
        assert "CONNECTION ESTABLISHED" not in answer and "unrecognized name" in answer, answer
    assert "CONNECTION ESTABLISHED" in handshake(door, port, "-servername", door.settings.registry_fqdn,
                                                 "-CAfile", str(door.ca.ca_crt))


# --- the functional controls: a fix that shuts users out fails these --------------------------


def test_a_logged_in_push_and_pull_work(door, tmp_path):
    image = write_oci_image(tmp_path / "team", [96 << 10, 32 << 10])
    target = f"docker://{door.settings.registry_fqdn}/team/app/api:1"
    credentials = f"{USER}:{PASSWORD}"
    refused = door.skopeo("copy", "--dest-cert-dir", str(door.cert_dir), f"oci:{image.layout}:1", target)
    assert refused.returncode != 0  # no login, no push: the stand-in asks for credentials
    before = door.seen()
    pushed = door.skopeo("copy", "--dest-cert-dir", str(door.cert_dir), "--dest-creds", credentials,
                         f"oci:{image.layout}:1", target)
    assert pushed.returncode == 0, pushed.stderr
    pulled = door.skopeo("copy", "--src-cert-dir", str(door.cert_dir), "--src-creds", credentials, target,
                         f"oci:{tmp_path / 'pulled'}:1")
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "pulled" / "blobs" / "sha256" / image.layers[0].digest.removeprefix("sha256:")).exists()
    arrived = door.seen_since(before)
    writes = {(s.port, s.method) for s in arrived if s.method in ("POST", "PATCH", "PUT")}
    assert writes and {port for port, _ in writes} == {HOSTED}, writes
    assert any(s.port == GROUP and s.method == "GET" and "/manifests/" in s.path for s in arrived)


def test_docker_pulls_docker_hub_images_through_the_mirror(door, tmp_path):
    require_tools("dockerd", "docker")
    image = write_oci_image(tmp_path / "hub", [64 << 10])
    seeded = door.skopeo("copy", "--dest-tls-verify=false", f"oci:{image.layout}:1",
                         "docker://127.0.0.1:9001/library/alpine:3")
    assert seeded.returncode == 0, seeded.stderr
    mirror = f"{door.settings.registry_fqdn}:{door.settings.registry_mirror_port}"
    certs = door.sandbox.path(f"/etc/docker/certs.d/{mirror}")
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "ca.crt").write_text(door.ca.ca_crt.read_text())
    door.sandbox.path("/etc/docker/daemon.json").write_text(client_setup.daemon_json(door.settings))
    socket = "unix:///run/nr-docker/docker.sock"
    daemon = door.sandbox.popen(["dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
                                 "--storage-driver=vfs", f"--data-root={tmp_path / 'docker-data'}",
                                 "--exec-root=/run/nr-docker/exec", "--pidfile=/run/nr-docker/docker.pid",
                                 "-H", socket], tmp_path / "dockerd.log")
    try:
        ready = wait_for(lambda: door.sandbox.run(["docker", "-H", socket, "version"], check=False).returncode == 0
                         or daemon.poll() is not None, timeout=60)
        assert ready and daemon.poll() is None, (tmp_path / "dockerd.log").read_text()[-3000:]
        pulled = door.sandbox.run(["docker", "-H", socket, "pull", "alpine:3"], check=False, timeout=120)
        assert f"Digest: {image.manifest.digest}" in pulled.stdout, pulled.stdout + pulled.stderr
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    reached = [s for s in door.seen() if s.port == PROXY]
    assert any(s.path == f"/v2/library/alpine/blobs/{image.layers[0].digest}" for s in reached)


def test_the_web_ui_and_its_login_work_from_an_allowed_address(door):
    assert door.status("127.0.0.2", f"{door.web}/") == 200
    before = door.seen()
    login = door.curl("--interface", "127.0.0.2", "-o", "/dev/null", "-w", "%{http_code}",
                      "--data", "username=Y2k%3D&password=cGFzcw%3D%3D", f"{door.web}/service/rapture/session")
    assert login.stdout == "200"
    (arrived,) = door.seen_since(before)
    assert (arrived.port, arrived.method, arrived.path) == (WEB, "POST", "/service/rapture/session")


def test_the_deployed_config_is_the_stacks_own_render(door):
    deployed = door.sandbox.path(host_layout.NGINX_SITE_CONF).read_text()
    assert deployed == render_nginx.render_site_config(door.settings)
    assert re.search(r"nginx reloaded", door.deploy_output.stderr)
