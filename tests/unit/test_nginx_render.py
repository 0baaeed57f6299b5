"""The rendered nginx files: routing table, redirects, TLS, limits, variants, strict templates.

These read the rendered text; tests/system/test_nginx_*.py run it under real
nginx with real registries and a real client.
"""

from __future__ import annotations

import re

import pytest

from components import host_layout
from components.render import nginx
from components.render.__main__ import main as render_cli
from tests.harness import stack_file_config, stack_settings, write_stack_file
from tests.support.nginx_config import block_for, code

STACKS = ["dev", "prod", "lab"]


@pytest.fixture(scope="module")
def dev():
    return stack_settings("dev")


@pytest.fixture(scope="module")
def site(dev):
    return nginx.render_site_config(dev)


def routing_map(config: str) -> tuple[str, list[tuple[re.Pattern, str]]]:
    body = re.search(r'map "\$request_method \$uri" \$nexus_registry_upstream \{(.*?)\n\}', config, re.S).group(1)
    default, rules = None, []
    for line in body.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r'"~(.*)"\s+(\S+);$', line)
        if match:
            rules.append((re.compile(match.group(1)), match.group(2)))
        else:
            key, value = line.rstrip(";").split()
            assert key == "default"
            default = value
    return default, rules


def route(config: str, method: str, uri: str) -> str:
    default, rules = routing_map(config)
    for pattern, upstream in rules:  # nginx: regexes in order, first match wins
        if pattern.search(f"{method} {uri}"):
            return upstream
    return default


HOSTED, GROUP = "nexus_registry_hosted", "nexus_registry_group"
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("method, uri, upstream", [
    ("POST", "/v2/team/app/api/blobs/uploads/", HOSTED),
    ("PATCH", "/v2/team/app/api/blobs/uploads/3f2c-uuid", HOSTED),
    ("PUT", "/v2/team/app/api/blobs/uploads/3f2c-uuid", HOSTED),
    ("GET", "/v2/team/app/api/blobs/uploads/3f2c-uuid", HOSTED),  # upload status: only hosted knows it
    ("DELETE", "/v2/team/app/api/blobs/uploads/3f2c-uuid", HOSTED),
    ("PUT", "/v2/team/app/api/manifests/1", HOSTED),
    ("DELETE", "/v2/app/manifests/" + DIGEST, HOSTED),
    ("HEAD", "/v2/team/app/api/blobs/" + DIGEST, HOSTED),  # a push must not skip a layer only the proxy has
    ("HEAD", "/v2/app/blobs/" + DIGEST, HOSTED),
    ("GET", "/v2/team/app/api/blobs/" + DIGEST, GROUP),
    ("GET", "/v2/team/app/api/manifests/1", GROUP),
    ("HEAD", "/v2/team/app/api/manifests/1", GROUP),
    ("GET", "/v2/", GROUP),
    ("GET", "/v2/token", GROUP),
    ("GET", "/v2/_catalog", GROUP),
    ("GET", "/v2/library/blobs-archive/tags/list", GROUP),  # "blobs" inside a name is not a blob path
])
def test_registry_routing_follows_the_design_table(site, method, uri, upstream):
    assert route(site, method, uri) == upstream


def test_routing_is_a_map_not_if_chains(site):
    # The "if"s refuse what is not the registry API (see test_nginx_front_door); the one more allowed is
    # nginx's safe form ("If is Evil": only rewrite ... last inside): the short-name read, decided by a map.
    blocks = [(cond.strip(), " ".join(body.split()))
              for cond, body in re.findall(r"\bif\s*\((.*?)\)\s*\{(.*?)\}", code(site), re.S)]
    assert blocks == [("$nexus_registry_api = 0", "return 404;"),
                      ("$nexus_registry_short_read", "rewrite ^ /@nexus-registry-short$uri last;"),
                      ("$nexus_registry_mirror_api = 0", "return 404;")]
    assert "proxy_pass http://$nexus_registry_upstream;" in site
    for port in (8002, 8003, 8081):
        assert f"server 127.0.0.1:{port};" in site


def short_read(config: str, method: str, uri: str) -> bool:
    body = re.search(r'map "\$request_method \$uri" \$nexus_registry_short_read \{(.*?)\n\}', config, re.S).group(1)
    patterns = [re.compile(m.group(1)) for m in re.finditer(r'"~(.*)"\s+1;', body)]
    return any(pattern.search(f"{method} {uri}") for pattern in patterns)


@pytest.mark.parametrize("method, uri, retried", [
    ("GET", "/v2/nginx/manifests/1.27", True),
    ("HEAD", "/v2/nginx/manifests/" + DIGEST, True),
    ("GET", "/v2/nginx/blobs/" + DIGEST, True),
    ("GET", "/v2/nginx/tags/list", True),
    ("HEAD", "/v2/nginx/blobs/" + DIGEST, False),  # hosted's answer decides whether a push uploads the layer
    ("PUT", "/v2/myapp/manifests/1", False),
    ("DELETE", "/v2/myapp/manifests/" + DIGEST, False),
    ("GET", "/v2/myapp/blobs/uploads", False),
    ("GET", "/v2/myapp/blobs/uploads/3f2c-uuid", False),
    ("GET", "/v2/library/nginx/manifests/1", False),
    ("GET", "/v2/team/app/manifests/1", False),
    ("GET", "/v2/_catalog", False),
    ("GET", "/v2/token", False),
])
def test_only_reads_of_one_segment_names_are_retried_as_library(site, method, uri, retried):
    assert short_read(site, method, uri) is retried
    if retried:  # and they are reads that go to the group anyway
        assert route(site, method, uri) == GROUP


def test_the_library_retry_comes_with_an_upstream_that_is_not_docker_hub(site, dev):
    assert dev.nexus.docker_hub_remote == "https://mirror.ccs.tencentyun.com"  # a mainland stack's default
    registry = block_for(site, dev.registry_fqdn, "443")
    assert "error_page 404 = @nexus_registry_library;" in registry and "internal;" in registry
    assert "rewrite ^/v2/([^/]+)/(.+)$ /v2/library/$1/$2 break;" in registry
    hub = stack_settings("dev").model_copy(update={"nexus": dev.nexus.model_copy(
        update={"docker_hub_remote": "https://registry-1.docker.io"})})
    plain = nginx.render_site_config(hub)
    assert "nexus_registry_short_read" not in plain and "@nexus_registry_library" not in plain
    # Only the front door's refusals remain (test_routing_is_a_map_not_if_chains).
    assert re.findall(r"\bif\s*\((.*?)\)", code(plain)) == ["$nexus_registry_api = 0", "$nexus_registry_mirror_api = 0"]


def test_port_80_redirects_our_names_to_their_fixed_https_name(site, dev):
    for fqdn in (dev.registry_fqdn, dev.web_fqdn):
        block = block_for(site, fqdn, "80")
        assert f"return 301 https://{fqdn}$request_uri;" in block
    assert "$http_host" not in code(site)


def test_unknown_hosts_are_dropped_on_80_and_refused_on_443(site, dev):
    default80 = block_for(site, "_", "80")
    assert "listen 80 default_server;" in default80 and "return 444;" in default80
    default443 = block_for(site, "_", "443")
    assert "include /etc/nginx/nexus-registry/active/https-default.conf;" in default443
    for variant in nginx.VARIANTS:
        snippet = nginx.render_snippets(dev, variant)["https-default.conf"]
        assert re.search(r"^listen 443 ssl( http2)? default_server;$", snippet, re.M)
        assert ("ssl_reject_handshake on;" in snippet) == variant.reject_handshake


def test_registry_server_streams_unlimited_bodies_with_the_forwarding_headers(site, dev):
    block = block_for(site, dev.registry_fqdn, "443")
    for directive in ("client_max_body_size 0;", "proxy_request_buffering off;", "proxy_buffering off;",
                      "proxy_http_version 1.1;", 'proxy_set_header Connection "";',
                      "proxy_set_header Host $host;", "proxy_set_header X-Forwarded-Proto https;",
                      "proxy_set_header X-Forwarded-For $remote_addr;",
                      "proxy_set_header X-Real-IP $remote_addr;",
                      f"access_log /var/log/nginx/{dev.registry_fqdn}.access.log nexus_registry;",
                      f"ssl_certificate /etc/pki/nginx/{dev.registry_fqdn}.crt;",
                      f"ssl_certificate_key /etc/pki/nginx/{dev.registry_fqdn}.key;"):
        assert directive in block, directive
    timeouts = dict(re.findall(r"(proxy_read_timeout|proxy_send_timeout) (\d+)s;", block))
    assert int(timeouts["proxy_read_timeout"]) >= 600 and int(timeouts["proxy_send_timeout"]) >= 600
    # A client's X-Forwarded-Host is dropped (an empty value removes the header), never set
    # (the other forwarding headers: test_nginx_front_door).
    # registry (and its short-name retry: 2 more), mirror, web
    proxied = len(re.findall(r"proxy_pass ", code(site)))
    assert re.findall(r"X-Forwarded-Host.*", code(site)) == ['X-Forwarded-Host "";'] * proxied and proxied == 6


def _size(value: str) -> int:
    return int(value[:-1]) << {"k": 10, "m": 20}[value[-1]] if value[-1] in "km" else int(value)


@pytest.mark.parametrize("host", ["registry", "web"])
def test_streaming_proxies_move_bodies_in_big_chunks(site, dev, host):
    """Unbuffered streaming reads the upstream in proxy_buffer_size chunks and the client body in
    client_body_buffer_size chunks: the defaults (a page) made pulls over 2x slower (benchmarks/)."""
    block = block_for(site, dev.registry_fqdn if host == "registry" else dev.web_fqdn, "443")
    sizes = {name: _size(value) for name, value in
             re.findall(r"^\s*(proxy_buffer_size|client_body_buffer_size|proxy_busy_buffers_size) (\w+);", block, re.M)}
    assert sizes["proxy_buffer_size"] >= 64 << 10
    assert sizes["client_body_buffer_size"] >= 128 << 10
    count, each = re.search(r"^\s*proxy_buffers (\d+) (\w+);", block, re.M).groups()
    # nginx -t: busy >= max(proxy_buffer_size, one buffer) and < all buffers minus one.
    assert max(sizes["proxy_buffer_size"], _size(each)) <= sizes["proxy_busy_buffers_size"]
    assert sizes["proxy_busy_buffers_size"] < (int(count) - 1) * _size(each)
    # TLS records are at most 16k; a smaller ssl_buffer_size only adds records and syscalls.
    assert "ssl_buffer_size" not in code(site)


def test_web_server_proxies_to_8081_with_the_configured_upload_limit(dev):
    custom = dev.model_copy(update={"web_max_upload_size": "250m"})
    site = nginx.render_site_config(custom)
    block = block_for(site, dev.web_fqdn, "443")
    assert "proxy_pass http://nexus_registry_web;" in block
    assert "client_max_body_size 250m;" in block
    assert "client_max_body_size 1g;" in block_for(nginx.render_site_config(dev), dev.web_fqdn, "443")
    assert "proxy_set_header X-Forwarded-Proto https;" in block
    assert f"access_log /var/log/nginx/{dev.web_fqdn}.access.log nexus_registry;" in block


def test_tls_is_mozilla_intermediate_with_hsts_and_no_version_banner(site, dev):
    for fqdn in (dev.registry_fqdn, dev.web_fqdn, "_"):
        block = block_for(site, fqdn, "443")
        assert "ssl_protocols TLSv1.2 TLSv1.3;" in block
        assert f"ssl_ciphers {nginx.MOZILLA_INTERMEDIATE_CIPHERS};" in block
        assert "ssl_session_tickets off;" in block and "ssl_session_cache shared:" in block
    for fqdn in (dev.registry_fqdn, dev.web_fqdn):
        block = block_for(site, fqdn, "443")
        assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in block
        assert "server_tokens off;" in block
    assert "TLSv1.1" not in code(site) and "TLSv1 " not in code(site)


def test_http2_variants_spell_it_the_way_each_nginx_generation_wants(dev):
    by_name = {v.name: nginx.render_snippets(dev, v) for v in nginx.VARIANTS}
    assert "http2 on;" in by_name["h2-directive"]["https-vhost.conf"]
    assert "http2 on;" in by_name["h2-directive"]["https-default.conf"]
    assert "ssl http2 default_server" not in by_name["h2-directive"]["https-default.conf"]
    for name in ("h2-listen", "h2-listen-noreject"):
        assert "listen 443 ssl http2 default_server;" in by_name[name]["https-default.conf"]
        assert "http2 on" not in "".join(by_name[name].values())
    for name in ("h1", "h1-noreject"):
        assert "http2" not in by_name[name]["https-default.conf"].split("\n", 1)[1].replace("HTTP/2", "")


def test_ports_and_certificate_paths_are_overridable_for_tests(dev):
    certs = {fqdn: nginx.CertPaths(f"/tmp/t/{fqdn}.pem", f"/tmp/t/{fqdn}.key")
             for fqdn in (dev.registry_fqdn, dev.web_fqdn)}
    site = nginx.render_site_config(dev, ports=nginx.Ports(http=8080, https=8443, web=9081, hosted=9002, group=9003),
                                    cert_paths=certs, snippet_dir="/tmp/t/snippets", log_dir="/tmp/t/logs")
    assert "listen 8080 default_server;" in site and "listen 8443 ssl;" in site
    assert f"return 301 https://{dev.registry_fqdn}:8443$request_uri;" in site
    assert "server 127.0.0.1:9002;" in site and "server 127.0.0.1:9003;" in site and "server 127.0.0.1:9081;" in site
    assert f"ssl_certificate /tmp/t/{dev.registry_fqdn}.pem;" in site
    assert "/etc/pki" not in site and "/var/log/nginx" not in site and "/etc/nginx" not in site


@pytest.mark.parametrize("stack", STACKS)
def test_host_files_cover_config_snippets_and_scripts_without_certificates(stack):
    settings = stack_settings(stack)
    files = {f.path: f for f in nginx.host_files(settings)}
    assert "/etc/nginx/conf.d/nexus-registry.conf" in files
    assert files[host_layout.NGINX_DEPLOY_SCRIPT].mode == files[host_layout.NGINX_SMOKE_SCRIPT].mode == "0755"
    for variant in nginx.VARIANTS:
        for name in ("https-default.conf", "https-vhost.conf"):
            assert f"/etc/nginx/nexus-registry/{variant.name}/{name}" in files
    for host_file in files.values():
        assert "PRIVATE KEY" not in host_file.content and "BEGIN CERTIFICATE" not in host_file.content
        assert not host_file.path.startswith("/etc/pki/")
        assert "{{" not in host_file.content and "{%" not in host_file.content
    deploy = files[host_layout.NGINX_DEPLOY_SCRIPT].content
    for fqdn in (settings.registry_fqdn, settings.web_fqdn):
        assert f"\n    /etc/pki/nginx/{fqdn}.crt\n    /etc/pki/nginx/{fqdn}.key\n" in deploy
        assert "--resolve \"$host:$HTTPS_PORT:127.0.0.1\"" in files[host_layout.NGINX_SMOKE_SCRIPT].content
        assert fqdn in files[host_layout.NGINX_SMOKE_SCRIPT].content


def test_rendering_is_deterministic(dev):
    assert nginx.host_files(dev) == nginx.host_files(stack_settings("dev"))


def test_render_cli_writes_the_nginx_files_where_they_land_on_the_host(tmp_path):
    out = tmp_path / "out"
    assert render_cli(["--stack-file", str(write_stack_file("lab", tmp_path)), "--out", str(out)]) == 0
    tmp_path = out
    conf = tmp_path / "etc/nginx/conf.d/nexus-registry.conf"
    assert "server_name docker-registry.nexushub.lab;" in conf.read_text()
    assert (tmp_path / "opt/nexus-registry/bin/deploy-nginx.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "etc/nginx/nexus-registry/h2-listen/https-default.conf").is_file()
    assert not (tmp_path / "etc/pki").exists()


def variant_settings(**config):
    """The dev stack file with ``config`` on top (placeholders for secrets), validated."""
    from components import settings as stack_settings

    merged = stack_file_config("dev")
    merged.update({f"nexus-registry:{key}": value for key, value in config.items()})
    return stack_settings.from_mapping("dev", merged, secret_placeholders=True)


def test_the_anonymous_mirror_reads_docker_proxy_only(site, dev):
    mirror = block_for(site, dev.registry_fqdn, str(dev.registry_mirror_port))
    assert "proxy_pass http://nexus_registry_proxy;" in mirror
    assert re.search(r"limit_except GET \{\s*deny all;\s*\}", mirror)
    assert f"proxy_set_header Host {dev.registry_fqdn}:{dev.registry_mirror_port};" in mirror
    assert "$nexus_registry_upstream" not in mirror and "nexus_registry_group" not in mirror
    # No password passes the anonymous mirror: Basic credentials are dropped, Bearer tokens kept.
    assert "proxy_set_header Authorization $nexus_registry_mirror_authorization;" in mirror
    assert re.search(r'map \$http_authorization \$nexus_registry_mirror_authorization \{\s*'
                     r'default\s+\$http_authorization;\s*"~\*\^basic"\s+"";\s*\}', site)
    assert re.search(r"upstream nexus_registry_proxy \{\s*server 127\.0\.0\.1:8001;", site)
    default = block_for(site, "_", str(dev.registry_mirror_port))
    assert "include /etc/nginx/nexus-registry/active/mirror-default.conf;" in default and "return 444;" in default
    for variant in nginx.VARIANTS:
        snippet = nginx.render_snippets(dev, variant)["mirror-default.conf"]
        assert f"listen {dev.registry_mirror_port} ssl default_server;" in snippet
    # The registry name on 443 never reaches docker-proxy directly.
    registry = block_for(site, dev.registry_fqdn, "443")
    assert "nexus_registry_proxy" not in registry


def test_no_mirror_without_anonymous_pull():
    private = variant_settings(nexus={"version": "3.86.2", "anonymousPull": False})
    config = nginx.render_site_config(private)
    assert "nexus_registry_proxy" not in config and "8443" not in config
    assert not any("mirror" in path for path in nginx.log_files(private))


def test_allow_lists_are_per_endpoint_and_absent_by_default(site):
    assert not re.search(r"^    (allow|deny) ", code(site), re.M)  # server level (the mirror's limit_except aside)
    limited = variant_settings(webAllowedCidrs=["101.33.7.0/24", "240e:3b7::/32"],
                               registryMirrorAllowedCidrs=["58.246.10.0/24"])
    config = nginx.render_site_config(limited)
    web = block_for(config, limited.web_fqdn, "443")
    # The private path (on for cvm stacks) lets the stack's VPC through every list there is.
    assert re.search(r"allow 101\.33\.7\.0/24;\s*allow 240e:3b7::/32;\s*allow 10\.70\.0\.0/16;\s*deny all;", web)
    mirror = block_for(config, limited.registry_fqdn, "8443")
    assert re.search(r"allow 58\.246\.10\.0/24;\s*allow 10\.70\.0\.0/16;\s*deny all;", mirror)
    assert not re.search(r"^    (allow|deny) ", block_for(config, limited.registry_fqdn, "443"), re.M)
    public_only = variant_settings(webAllowedCidrs=["101.33.7.0/24"], privateDns={"enabled": False})
    web = block_for(nginx.render_site_config(public_only), public_only.web_fqdn, "443")
    assert re.search(r"allow 101\.33\.7\.0/24;\s*deny all;", web)
