"""Short Docker Hub names (``docker pull <registry>/busybox``) through an upstream that is not Docker Hub.

A mainland stack's docker-proxy fetches from Tencent's mirror (index type REGISTRY).  The
Docker client sends a short name as is (``/v2/standin/manifests/1``); Docker Hub keeps
official images under ``library/``, and no Sonatype source says whether Nexus adds it for
such a remote.  The rendered nginx asks docker-group again as ``library/<name>`` when the
name has one segment and the group answers 404 (``README: Short image names``).

The stand-ins, in the dev stack's private namespace (``registry_env``), all CNCF distribution:

- upstream (127.0.0.1:5000): the mirror, holding only ``library/...`` names, so it answers
  a short name 404 as a registry without that repository does;
- docker-hosted (8002): writable, as in ``registry_env``;
- docker-group (8003): a pull-through proxy of the upstream on docker-hosted's storage, so
  it serves what was pushed to hosted, then what the upstream has under the very name asked
  (it adds no ``library/``): the worst case for Nexus.  Distribution asks its remote for a
  tag before its own storage; that differs from Nexus's hosted-first group only for a name
  both hold, which the shadowing test below avoids on the upstream side (``library/``).
"""

from __future__ import annotations

import json
import re

import pytest

from components.render import nginx as render_nginx
from tests.harness import stack_settings
from tests.support.registry_env import (
    GROUP_PORT,
    HOSTED_PORT,
    Environment,
    Registries,
    Sandbox,
    deploy_bundle,
    make_ca,
    registry_config,
    require_tools,
    start_web_stub,
    write_hosts,
    write_oci_image,
)

UPSTREAM_PORT = 5000


def start_short_name_environment(workdir) -> Environment:
    require_tools()
    settings = stack_settings("dev")
    assert render_nginx.short_name_fallback(settings), "dev is a mainland stack: Tencent's mirror, index REGISTRY"
    sandbox = Sandbox(workdir / "ns")
    try:
        ca = make_ca(workdir / "pki", [settings.registry_fqdn, settings.web_fqdn])
        storage, upstream_storage = workdir / "registry-storage", workdir / "upstream-storage"
        storage.mkdir()
        upstream_storage.mkdir()
        group = json.loads(registry_config(storage, GROUP_PORT, readonly=False))
        group["proxy"] = {"remoteurl": f"http://127.0.0.1:{UPSTREAM_PORT}"}
        # The upstream first: a pull-through registry refuses to start without its remote.
        configs = {"upstream": (registry_config(upstream_storage, UPSTREAM_PORT, readonly=False), UPSTREAM_PORT),
                   "hosted": (registry_config(storage, HOSTED_PORT, readonly=False), HOSTED_PORT),
                   "group": (json.dumps(group), GROUP_PORT)}
        logs = {}
        for name, (config, port) in configs.items():
            (workdir / f"registry-{name}.yml").write_text(config)
            logs[name] = workdir / f"registry-{name}.log"
            sandbox.popen(["docker-registry", "serve", str(workdir / f"registry-{name}.yml")], logs[name])
            sandbox.wait_http(f"http://127.0.0.1:{port}/v2/")
        start_web_stub(sandbox, workdir)
        write_hosts(sandbox, settings)
        deployed = sandbox.run(["bash", "-s"], input=deploy_bundle(settings, ca))
        return Environment(sandbox, settings, ca, Registries(storage, logs["hosted"], logs["group"]), workdir,
                           deployed)
    except BaseException:
        sandbox.close()
        raise


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    environment = start_short_name_environment(tmp_path_factory.mktemp("short-names"))
    yield environment
    environment.sandbox.close()


@pytest.fixture(scope="module")
def images(env, tmp_path_factory):
    """library/standin and library/shadow on the upstream only; myapp and shadow pushed through nginx."""
    made = {name: write_oci_image(tmp_path_factory.mktemp(name) / "layout", [2048, 4096])
            for name in ("standin", "upstream-shadow", "myapp", "hosted-shadow")}
    for name, target in (("standin", "library/standin"), ("upstream-shadow", "library/shadow")):
        env.skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", f"oci:{made[name].layout}:1",
                   f"docker://127.0.0.1:{UPSTREAM_PORT}/{target}:1")
    for name, target in (("myapp", "myapp"), ("hosted-shadow", "shadow")):
        env.skopeo("copy", "--preserve-digests", "--dest-cert-dir", str(env.cert_dir), f"oci:{made[name].layout}:1",
                   f"docker://{env.settings.registry_fqdn}/{target}:1")
    return made


def upstream_statuses(log_line: str) -> str:
    """The access log's $upstream_status: one code per upstream request, ' : ' between internal redirects."""
    return re.search(r"upstream_status=(.*?) request_time=", log_line).group(1)


def inspect_digest(env, name: str) -> str:
    result = env.skopeo("inspect", "--raw", "--cert-dir", str(env.cert_dir),
                        f"docker://{env.settings.registry_fqdn}/{name}", check=False)
    assert result.returncode == 0, f"{name}: {result.stderr}\n{env.nginx_error_logs()}"
    inspected = env.skopeo("inspect", "--cert-dir", str(env.cert_dir), f"docker://{env.settings.registry_fqdn}/{name}")
    return json.loads(inspected.stdout)["Digest"]


def test_the_upstream_answers_only_library_names(env, images):
    short = env.curl("-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{UPSTREAM_PORT}/v2/standin/manifests/1",
                     "-H", "Accept: application/vnd.oci.image.manifest.v1+json")
    full = env.curl("-o", "/dev/null", "-w", "%{http_code}",
                    f"http://127.0.0.1:{UPSTREAM_PORT}/v2/library/standin/manifests/1",
                    "-H", "Accept: application/vnd.oci.image.manifest.v1+json")
    assert (short.stdout, full.stdout) == ("404", "200")


def test_a_short_name_is_pulled_from_library_through_the_group(env, images, tmp_path):
    assert inspect_digest(env, "standin:1") == images["standin"].manifest.digest
    pulled = tmp_path / "pulled"
    env.skopeo("copy", "--preserve-digests", "--src-cert-dir", str(env.cert_dir),
               f"docker://{env.settings.registry_fqdn}/standin:1", f"oci:{pulled}:1")
    for layer in images["standin"].layers:  # every blob came through too (GET /v2/standin/blobs/...)
        assert (pulled / "blobs" / "sha256" / layer.digest.removeprefix("sha256:")).read_bytes() == \
            images["standin"].blob_path(layer.digest).read_bytes()
    log = env.nginx_access_log(env.settings.registry_fqdn)
    manifest = [line for line in log.splitlines() if '"GET /v2/standin/manifests/1 ' in line]
    # Two upstream requests, one internal redirect apart: the name as asked, then library/standin.
    assert manifest and all(upstream_statuses(line) == "404 : 200" for line in manifest), manifest
    blobs = [line for line in log.splitlines() if re.search(r'"GET /v2/standin/blobs/sha256:', line)]
    assert blobs and all(" 200 " in line for line in blobs), blobs


def test_a_pushed_one_segment_image_is_served_from_hosted_with_no_second_request(env, images):
    assert inspect_digest(env, "myapp:1") == images["myapp"].manifest.digest
    log = env.nginx_access_log(env.settings.registry_fqdn)
    reads = [line for line in log.splitlines() if re.search(r'"(GET|HEAD) /v2/myapp/manifests/1 ', line)]
    assert reads and all(upstream_statuses(line) == "200" for line in reads), reads


def test_a_pushed_one_segment_image_wins_over_an_official_image_of_the_same_name(env, images):
    assert inspect_digest(env, "shadow:1") == images["hosted-shadow"].manifest.digest
    assert inspect_digest(env, "library/shadow:1") == images["upstream-shadow"].manifest.digest


def test_writes_never_take_the_library_path(env, images):
    """The pushes above sent HEAD /v2/myapp/blobs/... (404: not there yet) to hosted; none was retried."""
    log = env.nginx_access_log(env.settings.registry_fqdn)
    heads = [line for line in log.splitlines() if re.search(r'"HEAD /v2/(myapp|shadow)/blobs/', line)]
    assert heads and all(f"upstream=127.0.0.1:{HOSTED_PORT} " in line for line in heads), heads
    assert any(" 404 " in line for line in heads)
    assert not any('"GET /v2/library/myapp' in line for line in log.splitlines())
    assert not [r for r in env.registries.requests("group") if r[0] not in ("GET", "HEAD")]


def test_an_unknown_short_name_is_still_404(env, images):
    result = env.skopeo("inspect", "--raw", "--cert-dir", str(env.cert_dir),
                        f"docker://{env.settings.registry_fqdn}/nosuchimage:1", check=False)
    assert result.returncode != 0 and ("manifest unknown" in result.stderr or "not found" in result.stderr.lower())


def test_the_internal_location_cannot_be_asked_for_directly(env, images):
    direct = env.curl("-o", "/dev/null", "-w", "%{http_code}",
                      f"https://{env.settings.registry_fqdn}/@nexus-registry-short/v2/library/standin/manifests/1")
    assert direct.stdout == "404"
