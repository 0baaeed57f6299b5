"""The dev stack's nginx front door under real nginx, real registries and a real client.

One private namespace for the module (see ``registry_env``): the dev stack's
files are deployed by the real bundle + deploy script, unchanged (real ports,
real certificate paths, the stock Debian nginx.conf), with a test CA.  Behind
it, CNCF distribution registries play docker-hosted (writable, 8002) and
docker-group (read-only, 8003) on one storage, and skopeo pushes and pulls
through it.  Nothing here is skipped: a missing tool is a failure.
"""

from __future__ import annotations

import filecmp
import json
import re
import time

import pytest

from components.render.nginx import default_cert_paths
from tests.support import registry_env
from tests.support.registry_env import make_ca, start_environment, write_oci_image

IMAGE = "team/app/api"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    environment = start_environment(tmp_path_factory.mktemp("nginx-registry"))
    yield environment
    environment.sandbox.close()


def registry_url(env, path: str = "") -> str:
    return f"docker://{env.settings.registry_fqdn}/{path}"


def uploads_and_reads(requests: list[tuple[str, str, int]]) -> tuple[list, list]:
    writes = [r for r in requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]
    reads = [r for r in requests if r[0] == "GET" and re.match(r"/v2/.+/(blobs/sha256:|manifests/)", r[1])]
    return writes, reads


def test_deploy_started_nginx_and_the_smoke_check_passes(env):
    assert "nginx reloaded" in env.deploy_output.stderr
    result = env.sandbox.run(["/opt/nexus-registry/bin/smoke-check-nginx.sh"])
    assert result.stdout.startswith("smoke-check: ok: ")
    assert "-> 200 registry/2.0" in result.stdout and "status -> 200" in result.stdout


# curl 7.29 (CentOS 7's) as it answers an option it does not know; anything else goes to the real curl.
CURL_7_29 = """#!/bin/sh
for arg in "$@"; do
    case "$arg" in --pinnedpubkey*) echo "curl: option $arg: is unknown" >&2; exit 2 ;; esac
done
exec /usr/bin/curl "$@"
"""


def test_the_smoke_check_needs_no_curl_option_newer_than_centos_7s(env):
    fake_bin = env.sandbox.path("/opt/curl-7.29/bin")
    fake_bin.mkdir(parents=True, exist_ok=True)
    (fake_bin / "curl").write_text(CURL_7_29)
    (fake_bin / "curl").chmod(0o755)
    result = env.sandbox.run(["/opt/nexus-registry/bin/smoke-check-nginx.sh"],
                             env={"PATH": "/opt/curl-7.29/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SMOKE_ATTEMPTS": "1"})
    assert result.stdout.startswith("smoke-check: ok: "), result.stderr


def test_the_smoke_check_fails_when_nginx_serves_another_key_than_the_deployed_one(env, tmp_path):
    deployed = env.sandbox.path(default_cert_paths(env.settings)[env.settings.registry_fqdn].crt)
    original = deployed.read_bytes()
    replacement_pem, _ = make_ca(tmp_path / "other-ca", [env.settings.registry_fqdn]).leaves[env.settings.registry_fqdn]
    deployed.write_text(replacement_pem)  # on disk, not reloaded: nginx still serves the old key
    try:
        result = env.sandbox.run(["/opt/nexus-registry/bin/smoke-check-nginx.sh"], check=False,
                                 env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SMOKE_ATTEMPTS": "1"})
    finally:
        deployed.write_bytes(original)
    assert result.returncode == 1
    assert (f"https://{env.settings.registry_fqdn}/v2/ -> nginx serves a key other than the one in "
            f"{default_cert_paths(env.settings)[env.settings.registry_fqdn].crt}") in result.stderr
    assert f"https://{env.settings.web_fqdn}/service/rest/v1/status -> 200" in result.stderr

def test_skopeo_pushes_a_multi_layer_image_and_pulls_it_back_byte_identical(env, tmp_path):
    image = write_oci_image(tmp_path / "image", [3 << 20, 256 << 10, 1 << 20, 64 << 10])
    target = registry_url(env, f"{IMAGE}:1")
    pushed = env.skopeo("copy", "--preserve-digests", "--dest-cert-dir", str(env.cert_dir),
                        f"oci:{image.layout}:1", target)
    assert "Writing manifest" in pushed.stdout + pushed.stderr

    pulled_dir = tmp_path / "pulled"
    env.skopeo("copy", "--preserve-digests", "--src-cert-dir", str(env.cert_dir), target, f"oci:{pulled_dir}:1")
    pulled_index = json.loads((pulled_dir / "index.json").read_text())
    assert pulled_index["manifests"][0]["digest"] == image.manifest.digest
    for blob in (image.manifest, image.config, *image.layers):
        pulled = pulled_dir / "blobs" / "sha256" / blob.digest.removeprefix("sha256:")
        assert filecmp.cmp(image.blob_path(blob.digest), pulled, shallow=False), blob

    inspected = json.loads(env.skopeo("inspect", "--cert-dir", str(env.cert_dir), target).stdout)
    assert inspected["Digest"] == image.manifest.digest
    assert inspected["Layers"] == [layer.digest for layer in image.layers]
    assert inspected["Name"] == f"{env.settings.registry_fqdn}/{IMAGE}"

    # Writes reached hosted and reads reached group, per the registries' own logs.
    hosted_writes, hosted_reads = uploads_and_reads(env.registries.requests("hosted"))
    group_writes, group_reads = uploads_and_reads(env.registries.requests("group"))
    assert group_writes == [], group_writes
    methods = {method for method, uri, _ in hosted_writes if uri.startswith(f"/v2/{IMAGE}/")}
    assert {"POST", "PATCH", "PUT"} <= methods
    assert any(m == "PUT" and uri == f"/v2/{IMAGE}/manifests/1" for m, uri, _ in hosted_writes)
    pushed_layers = {uri.rsplit("digest=", 1)[-1].replace("%3A", ":") for m, uri, status in hosted_writes
                     if m == "PUT" and "digest=" in uri and status == 201}
    assert {layer.digest for layer in image.layers} <= pushed_layers  # every layer was new and uploaded
    assert hosted_reads == []
    read_uris = {uri for _, uri, status in group_reads if status == 200}
    for layer in image.layers:
        assert f"/v2/{IMAGE}/blobs/{layer.digest}" in read_uris
    heads = [(uri, status) for m, uri, status in env.registries.requests("hosted") if m == "HEAD"]
    assert any(f"/v2/{IMAGE}/blobs/{layer.digest}" == uri for uri, _ in heads for layer in image.layers)

    # And nginx's own log says which upstream answered each request.
    log = env.nginx_access_log(env.settings.registry_fqdn)
    assert re.search(rf'"PATCH /v2/{IMAGE}/blobs/uploads/\S+ HTTP/[\d.]+" 202 .* upstream=127\.0\.0\.1:8002 ', log)
    assert re.search(rf'"GET /v2/{IMAGE}/manifests/1 HTTP/[\d.]+" 200 .* upstream=127\.0\.0\.1:8003 ', log)


def test_upload_locations_come_back_as_https_on_the_public_name(env):
    result = env.curl("-i", "-X", "POST", f"https://{env.settings.registry_fqdn}/v2/{IMAGE}/blobs/uploads/")
    assert re.search(r"^HTTP/\S+ 202", result.stdout, re.M), result.stdout
    location = re.search(r"^location: (\S+)", result.stdout, re.M | re.I).group(1)
    assert location.startswith(f"https://{env.settings.registry_fqdn}/v2/{IMAGE}/blobs/uploads/")


def test_a_1gib_layer_streams_through_without_nginx_buffering_it_to_disk(env, tmp_path):
    started = time.monotonic()
    image = write_oci_image(tmp_path / "big", [1 << 30], level=0)
    layer = image.layers[0]
    assert layer.size > 1 << 30
    env.skopeo("copy", "--preserve-digests", "--dest-cert-dir", str(env.cert_dir),
               f"oci:{image.layout}:1", registry_url(env, "team/app/big:1"), timeout=600)
    image.blob_path(layer.digest).unlink()  # room on disk for the pull

    # Pull the layer back through nginx and hash it on the fly.
    pulled = env.sandbox.run(["bash", "-c",
                              f"set -o pipefail; curl -sSf --cacert {env.ca.ca_crt} "
                              f"https://{env.settings.registry_fqdn}/v2/team/app/big/blobs/{layer.digest}"
                              " | sha256sum"], timeout=600)
    assert pulled.stdout.split()[0] == layer.digest.removeprefix("sha256:")

    errors = env.nginx_error_logs()
    assert "buffered to a temporary file" not in errors, errors
    body_temp = env.sandbox.path("/var/lib/nginx/body")
    assert body_temp.is_dir() and list(body_temp.rglob("*")) == []
    assert re.search(r'"PATCH /v2/team/app/big/blobs/uploads/\S+ HTTP/[\d.]+" 202 ',
                     env.nginx_access_log(env.settings.registry_fqdn))
    assert time.monotonic() - started < 240


@pytest.mark.parametrize("host", [
    ["-H", "Host: evil.example"],
    ["-H", "Host: docker-registry.example.com.evil.example"],
    ["-H", "Host: 127.0.0.1"],
    ["-0", "-H", "Host:"],  # HTTP/1.0 without any Host
])
def test_a_forged_host_on_port_80_gets_no_redirect_and_the_connection_is_dropped(env, host):
    result = env.sandbox.run(["curl", "-sS", "-i", *host, "http://127.0.0.1/v2/"], check=False)
    assert result.returncode == 52, result  # empty reply: 444 closes without answering
    assert "Location" not in result.stdout


def test_port_80_redirects_to_the_fixed_name_even_with_an_absolute_uri(env):
    fqdn = env.settings.registry_fqdn
    result = env.sandbox.run(["curl", "-sS", "-i", "-H", f"Host: {fqdn}", "http://127.0.0.1/v2/?a=1"])
    assert re.search(rf"^Location: https://{fqdn}/v2/\?a=1\r?$", result.stdout, re.M), result.stdout
    forged = env.sandbox.run(["curl", "-sS", "-i", "--request-target", "http://evil.example/x",
                              "-H", f"Host: {fqdn}", "http://127.0.0.1/"], check=False)
    assert "evil.example" not in forged.stdout


@pytest.mark.parametrize("server_name", ["evil.example", None])
def test_tls_for_an_unknown_or_missing_name_is_refused_in_the_handshake(env, server_name):
    sni = ["-servername", server_name] if server_name else ["-noservername"]
    result = env.sandbox.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-brief", *sni],
                             input="", check=False)
    assert result.returncode != 0
    assert "unrecognized name" in result.stderr, result.stderr


@pytest.mark.parametrize("http", ["--http1.1", "--http2"])
def test_a_forged_host_inside_our_tls_session_is_dropped(env, http):
    result = env.curl("-i", http, "-H", "Host: evil.example", f"https://{env.settings.registry_fqdn}/v2/",
                      check=False)
    assert result.returncode != 0 and "HTTP/" not in result.stdout, result


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls_1_0_and_1_1_are_refused_by_the_server(env, version):
    # SECLEVEL=0 lets this client offer the old protocol, so a refusal is the server's.
    result = env.sandbox.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername",
                              env.settings.registry_fqdn, "-brief", version, "-cipher", "DEFAULT@SECLEVEL=0"],
                             input="", check=False)
    assert result.returncode != 0
    assert "alert protocol version" in result.stderr, result.stderr


@pytest.mark.parametrize("version, name", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_tls_1_2_and_1_3_are_accepted_with_our_certificate(env, version, name):
    for fqdn in (env.settings.registry_fqdn, env.settings.web_fqdn):
        result = env.sandbox.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername", fqdn,
                                  "-brief", "-verify_return_error", "-CAfile", str(env.ca.ca_crt), version],
                                 input="")
        assert f"Protocol version: {name}" in result.stderr
        assert f"Peer certificate: CN = {fqdn}" in result.stderr


def test_tls_1_2_without_forward_secrecy_is_refused(env):
    result = env.sandbox.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername",
                              env.settings.registry_fqdn, "-brief", "-tls1_2", "-cipher", "AES128-SHA@SECLEVEL=0"],
                             input="", check=False)
    assert result.returncode != 0 and "handshake failure" in result.stderr


def test_hsts_and_no_version_banner_on_both_names(env):
    for url in (f"https://{env.settings.registry_fqdn}/v2/", f"https://{env.settings.web_fqdn}/service/rest/v1/status"):
        headers = env.curl("-sI", url).stdout
        assert re.search(r"^strict-transport-security: max-age=63072000\r?$", headers, re.M | re.I), headers
        assert re.search(r"^server: nginx\r?$", headers, re.M | re.I), headers  # no version


def test_http2_is_offered(env):
    result = env.curl("-sI", "--http2", f"https://{env.settings.registry_fqdn}/v2/")
    assert result.stdout.startswith("HTTP/2 200")


def test_web_host_forwards_the_right_headers_and_never_x_forwarded_host(env):
    result = env.curl("-H", "X-Forwarded-Host: evil.example:8443", "-H", "X-Forwarded-For: 203.0.113.9",
                      f"https://{env.settings.web_fqdn}/some/page")
    seen = json.loads(result.stdout)["headers"]
    assert seen["host"] == env.settings.web_fqdn
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-real-ip"] == "127.0.0.1"
    # Only the address nginx saw: Jetty takes the left-most X-Forwarded-For as the client.
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert "x-forwarded-host" not in seen
    assert "connection" not in seen or seen["connection"].lower() != "close"


def test_web_host_enforces_its_upload_limit_but_accepts_bodies_below_it(env, tmp_path):
    body = tmp_path / "body.bin"
    body.write_bytes(b"x" * (2 << 20))
    ok = env.curl("--data-binary", f"@{body}", f"https://{env.settings.web_fqdn}/upload")
    assert json.loads(ok.stdout)["body_length"] == 2 << 20
    too_big = env.curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Length: 1073741825",
                       "--data-binary", "x", f"https://{env.settings.web_fqdn}/upload", "--http1.1", "-m", "10",
                       check=False)
    assert too_big.stdout == "413", too_big


def test_module_uses_the_unchanged_dev_stack(env):
    assert env.settings == registry_env.dev_settings()
    deployed = env.sandbox.path("/etc/nginx/conf.d/nexus-registry.conf").read_text()
    from components.render import nginx

    assert deployed == nginx.render_site_config(env.settings)
