"""The deploy and smoke-check scripts, run for real in a private namespace that looks like a host.

Each test gets a fresh ``Sandbox`` (overlays over /etc, /opt, /var; empty /run;
its own loopback-only network), receives the deploy step's exact stdin (the
bundle built from ``render.nginx.host_files`` plus certificates) and runs it
with ``bash -s`` as ``host_step`` does on a real host, against Debian's stock
nginx.conf and ``sites-enabled/default``.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from components import host_layout
from components.render import nginx
from tests.harness import stack_settings
from tests.support.registry_env import CertAuthority, Sandbox, deploy_bundle, make_ca, require_tools

STACKS = ["dev", "prod", "lab"]

# The server block RHEL-family nginx packages put inline in nginx.conf (Rocky 8
# / OpenCloudOS 8 layout: "listen 80 default_server").  Only "user" differs,
# because this Debian machine has no "nginx" user.
RHEL_NGINX_CONF = """\
user www-data;
worker_processes auto;
error_log /var/log/nginx/error.log;
pid /run/nginx.pid;

include /usr/share/nginx/modules/*.conf;

events {
    worker_connections 1024;
}

http {
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile            on;
    tcp_nopush          on;
    keepalive_timeout   65;
    types_hash_max_size 4096;

    include             /etc/nginx/mime.types;
    default_type        application/octet-stream;

    include /etc/nginx/conf.d/*.conf;

    server {
        listen       80 default_server;
        listen       [::]:80 default_server;
        server_name  _;
        root         /usr/share/nginx/html;

        # Load configuration files for the default server block.
        include /etc/nginx/default.d/*.conf;

        error_page 404 /404.html;
        location = /40x.html {
        }

        error_page 500 502 503 504 /50x.html;
        location = /50x.html {
        }
    }

# Settings for a TLS enabled server.
#
#    server {
#        listen       443 ssl http2;
#        server_name  _;
#    }
}
"""


@pytest.fixture
def sandbox(tmp_path):
    require_tools()
    box = Sandbox(tmp_path / "ns")
    yield box
    box.close()


@pytest.fixture(scope="module")
def dev_ca(tmp_path_factory) -> CertAuthority:
    settings = stack_settings("dev")
    return make_ca(tmp_path_factory.mktemp("pki"), [settings.registry_fqdn, settings.web_fqdn])


def deploy(sandbox: Sandbox, settings, ca: CertAuthority, check: bool = True) -> subprocess.CompletedProcess:
    return sandbox.run(["bash", "-s"], input=deploy_bundle(settings, ca), check=check)


def worker_pids(sandbox: Sandbox) -> set[int]:
    master = sandbox.nginx_master_pid()
    assert master, "nginx is not running"
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def served_certificate(sandbox: Sandbox, fqdn: str) -> str:
    result = sandbox.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername", fqdn],
                         input="", check=False)
    return re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", result.stdout, re.S).group(0)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_deploys_and_passes_nginx_t_under_the_stock_nginx_conf(sandbox, tmp_path, stack):
    settings = stack_settings(stack)
    ca = make_ca(tmp_path / "pki", [settings.registry_fqdn, settings.web_fqdn])
    stock = Path("/etc/nginx/nginx.conf").read_text()
    assert (sandbox.path("/etc/nginx/sites-enabled/default")).exists()  # Debian's default site is there

    result = deploy(sandbox, settings, ca)
    assert "nginx reloaded" in result.stderr
    checked = sandbox.run(["nginx", "-t"])
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr
    dump = sandbox.run(["nginx", "-T"]).stdout
    assert dump.startswith("# configuration file /etc/nginx/nginx.conf:")
    assert "# configuration file /etc/nginx/conf.d/nexus-registry.conf:" in dump
    # Debian's needs no edit but the worker sizing (issue 20): worker_connections raised, open files added.
    edited = sandbox.path("/etc/nginx/nginx.conf").read_text().splitlines()
    assert [line for line in edited if "# nexus-registry" not in line] == \
        [line for line in stock.splitlines() if "worker_connections" not in line]
    assert not sandbox.path("/etc/nginx/sites-enabled/default").exists()
    # Key files root-only, certificates readable, logs present.
    for fqdn in (settings.registry_fqdn, settings.web_fqdn):
        key = sandbox.path(f"/etc/pki/nginx/{fqdn}.key").stat()
        assert stat.S_IMODE(key.st_mode) == 0o600 and key.st_uid == 0
        assert stat.S_IMODE(sandbox.path(f"/etc/pki/nginx/{fqdn}.crt").stat().st_mode) == 0o644
    for log in nginx.log_files(settings):
        assert sandbox.path(log).is_file()


def test_the_deploy_script_picks_the_snippet_this_nginx_needs_and_other_variants_fit_their_versions(sandbox, dev_ca):
    settings = stack_settings("dev")
    deploy(sandbox, settings, dev_ca)
    version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    assert "nginx/1.22." in version  # the expectations below are for Debian 12's nginx
    assert sandbox.run([host_layout.NGINX_DEPLOY_SCRIPT, "--print-variant"]).stdout.strip() == "h2-listen"
    assert os.readlink(sandbox.path("/etc/nginx/nexus-registry/active")) == "h2-listen"
    for variant in nginx.VARIANTS:
        sandbox.run(["ln", "-sfn", variant.name, "/etc/nginx/nexus-registry/active"])
        result = sandbox.run(["nginx", "-t"], check=False)
        if variant.http2 == "directive":  # "http2 on" is 1.25.1+: this is why the script chooses
            assert result.returncode != 0 and 'unknown directive "http2"' in result.stderr
        else:
            assert result.returncode == 0, (variant.name, result.stderr)


@pytest.mark.parametrize("version, configure, expected", [
    ("1.18.0", "--with-http_v2_module", "h2-listen-noreject"),
    ("1.19.3", "--with-http_v2_module", "h2-listen-noreject"),
    ("1.19.4", "--with-http_v2_module", "h2-listen"),
    ("1.24.0", "--with-http_v2_module", "h2-listen"),
    ("1.25.0", "--with-http_v2_module", "h2-listen"),
    ("1.25.1", "--with-http_v2_module", "h2-directive"),
    ("1.27.4", "--with-http_ssl_module --with-http_v2_module", "h2-directive"),
    ("1.26.2", "--with-http_ssl_module", "h1"),
    ("1.18.0", "--with-http_ssl_module", "h1-noreject"),
])
def test_variant_choice_by_nginx_version(tmp_path, version, configure, expected):
    fake = tmp_path / "bin" / "nginx"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\n[ "$1" = -v ] && echo "nginx version: nginx/{version}" >&2\n'
                    f'[ "$1" = -V ] && echo "configure arguments: {configure}" >&2\nexit 0\n')
    fake.chmod(0o755)
    script = tmp_path / "deploy-nginx.sh"
    script.write_text(nginx.render_deploy_script(stack_settings("dev")))
    result = subprocess.run(["bash", str(script), "--print-variant"], capture_output=True, text=True,
                            env={"PATH": f"{fake.parent}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_nginx_older_than_1_18_is_refused_with_a_clear_message(tmp_path):
    fake = tmp_path / "nginx"
    fake.write_text('#!/bin/sh\necho "nginx version: nginx/1.14.1" >&2\n')
    fake.chmod(0o755)
    script = tmp_path / "deploy-nginx.sh"
    script.write_text(nginx.render_deploy_script(stack_settings("dev")))
    result = subprocess.run(["bash", str(script), "--print-variant"], capture_output=True, text=True,
                            env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert result.returncode != 0 and "nginx 1.14.1 is too old" in result.stderr


def test_a_second_identical_deploy_changes_nothing_and_does_not_reload(sandbox, dev_ca):
    settings = stack_settings("dev")
    deploy(sandbox, settings, dev_ca)
    workers = worker_pids(sandbox)
    conf_before = sandbox.path("/etc/nginx/nginx.conf").read_bytes()
    second = deploy(sandbox, settings, dev_ca)
    assert "nginx not reloaded" in second.stderr and "; nginx reloaded" not in second.stderr
    assert worker_pids(sandbox) == workers  # a reload would have replaced the workers
    assert sandbox.path("/etc/nginx/nginx.conf").read_bytes() == conf_before


def test_a_new_certificate_is_reloaded_and_served(sandbox, dev_ca, tmp_path):
    settings = stack_settings("dev")
    deploy(sandbox, settings, dev_ca)
    before = served_certificate(sandbox, settings.registry_fqdn)
    renewed = make_ca(tmp_path / "renewed", [settings.registry_fqdn, settings.web_fqdn])
    result = deploy(sandbox, settings, renewed)
    assert "nginx reloaded" in result.stderr
    expected = renewed.leaves[settings.registry_fqdn][0].strip()
    deadline = time.monotonic() + 10  # a reload is asynchronous: new workers take over shortly
    while (after := served_certificate(sandbox, settings.registry_fqdn)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert after != before and after == expected


def test_a_configuration_nginx_rejects_is_rolled_back_and_fails_with_nginx_s_message(sandbox, dev_ca):
    settings = stack_settings("dev")
    deploy(sandbox, settings, dev_ca)
    good = {path: sandbox.path(path).read_bytes() for path in
            ["/etc/nginx/conf.d/nexus-registry.conf", f"/etc/pki/nginx/{settings.registry_fqdn}.key"]}
    served = served_certificate(sandbox, settings.registry_fqdn)
    # A key that does not belong to the certificate: the bundle installs it, nginx -t must refuse it.
    swapped = CertAuthority(dev_ca.ca_crt, {
        settings.registry_fqdn: (dev_ca.leaves[settings.registry_fqdn][0], dev_ca.leaves[settings.web_fqdn][1]),
        settings.web_fqdn: dev_ca.leaves[settings.web_fqdn],
    })
    failed = deploy(sandbox, settings, swapped, check=False)
    assert failed.returncode != 0
    assert "previous one was restored" in failed.stderr
    assert "key values mismatch" in failed.stderr and "test failed" in failed.stderr  # nginx's own words
    for path, content in good.items():
        assert sandbox.path(path).read_bytes() == content, path
    assert sandbox.run(["nginx", "-t"]).returncode == 0
    assert served_certificate(sandbox, settings.registry_fqdn) == served


def test_a_failed_first_deploy_leaves_the_host_as_it_was(sandbox, dev_ca):
    settings = stack_settings("dev")
    swapped = CertAuthority(dev_ca.ca_crt, {
        settings.registry_fqdn: (dev_ca.leaves[settings.registry_fqdn][0], dev_ca.leaves[settings.web_fqdn][1]),
        settings.web_fqdn: dev_ca.leaves[settings.web_fqdn],
    })
    failed = deploy(sandbox, settings, swapped, check=False)
    assert failed.returncode != 0 and "key values mismatch" in failed.stderr
    assert not sandbox.path("/etc/nginx/conf.d/nexus-registry.conf").exists()
    assert sandbox.path("/etc/nginx/sites-enabled/default").exists()  # the distro default is back
    assert sandbox.run(["nginx", "-t"]).returncode == 0


def test_rhel_style_inline_default_server_is_commented_out_once(sandbox, dev_ca):
    settings = stack_settings("dev")
    sandbox.run(["rm", "-f", "/etc/nginx/sites-enabled/default"])
    sandbox.path("/etc/nginx/nginx.conf").write_text(RHEL_NGINX_CONF)
    first = deploy(sandbox, settings, dev_ca)
    assert "commenting out the default server" in first.stderr
    edited = sandbox.path("/etc/nginx/nginx.conf").read_text()
    marked = [line for line in edited.splitlines() if line.startswith("#nexus-registry# ")]
    assert marked[0] == "#nexus-registry#     server {" and marked[-1] == "#nexus-registry#     }"
    start = RHEL_NGINX_CONF.index("    server {")
    end = RHEL_NGINX_CONF.index("\n    }\n", start) + len("\n    }")
    assert "\n".join(line.removeprefix("#nexus-registry# ") for line in marked) == RHEL_NGINX_CONF[start:end]
    assert "include /etc/nginx/conf.d/*.conf;" in edited.replace("#nexus-registry# ", "X")  # includes kept
    assert "\n    include /etc/nginx/conf.d/*.conf;\n" in edited
    second = deploy(sandbox, settings, dev_ca)
    assert "commenting out" not in second.stderr and "unchanged" in second.stderr
    assert sandbox.path("/etc/nginx/nginx.conf").read_text() == edited
    # Port 80 now belongs to our default server: an unknown host is dropped, not served a welcome page.
    dropped = sandbox.run(["curl", "-sS", "-H", "Host: evil.example", "http://127.0.0.1/"], check=False)
    assert dropped.returncode == 52


def test_the_smoke_check_fails_with_what_it_saw(sandbox, dev_ca):
    settings = stack_settings("dev")
    deploy(sandbox, settings, dev_ca)  # nothing listens on 8002/8003/8081: nginx answers 502
    result = sandbox.run([host_layout.NGINX_SMOKE_SCRIPT], check=False,
                         env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SMOKE_ATTEMPTS": "2",
                              "SMOKE_DELAY_SECONDS": "0"})
    assert result.returncode == 1
    assert "FAILED after 2 attempts" in result.stderr
    assert f"https://{settings.registry_fqdn}/v2/ -> 502 -" in result.stderr
    assert "status -> 502 -" in result.stderr
