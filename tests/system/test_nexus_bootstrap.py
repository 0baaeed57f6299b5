"""The rendered bootstrap script, run for real (bash, curl, jq) against a fake Nexus.

The fake validates every body with the ``nexus-api-client`` models and keeps
state, so these tests show the script creates everything on a fresh Nexus,
writes nothing on a second run, takes the generated ``admin.password`` path on
first contact, repairs drift, handles Docker Hub credentials and fails clearly.
"""

from __future__ import annotations

import json
import socket

import pytest

from components.render import nexus as render
from components.render.nexus_repositories import repositories
from tests.fakes.nexus import DISCLAIMER
from tests.support.commands import ok
from tests.support.nexus_host import BootstrapHost
from tests.support.settings import ADMIN_PASSWORD, DOCKER_HUB_TOKEN, make_settings

GENERATED = "generated-0f3c"


@pytest.fixture
def nexus(start_nexus):
    return start_nexus(admin_password=GENERATED)


def fresh_host(tmp_path, nexus, settings=None) -> BootstrapHost:
    host = BootstrapHost(tmp_path, settings or make_settings(), nexus.url)
    host.generated_password_file.write_text(GENERATED + "\n")
    return host


def test_first_run_takes_the_generated_password_and_creates_everything(tmp_path, nexus):
    settings = make_settings()
    host = fresh_host(tmp_path, nexus, settings)
    out = ok(host.run())

    assert nexus.admin_password == ADMIN_PASSWORD
    assert "logged in with" in out and "admin.password" in out
    assert not host.generated_password_file.exists(), "the obsolete generated password must not be left behind"
    assert nexus.eula_accepted
    assert nexus.realms == ["NexusAuthenticatingRealm", "NpmToken", "DockerToken"]  # others kept, ours added
    assert nexus.anonymous["enabled"] is True
    expected = {repo.name: (repo.format, repo.type, repo.payload()) for repo in repositories(settings)}
    assert nexus.repositories == expected
    assert nexus.errors == []
    writes = [f"{method} {path}" for method, path in nexus.writes]
    assert writes == [
        "PUT /v1/security/users/admin/change-password",
        "POST /v1/system/eula",
        "PUT /v1/security/realms/active",
        "PUT /v1/security/ssrf-protection",
        # Cleanup policies before the repositories that name them (tests/system/test_nexus_lifecycle.py).
        "POST /internal/cleanup-policies",
        "POST /internal/cleanup-policies",
        "POST /internal/cleanup-policies",
        "POST /v1/repositories/docker/proxy",
        "POST /v1/repositories/docker/hosted",
        "POST /v1/repositories/docker/group",
        "POST /v1/repositories/pypi/proxy",
        "POST /v1/repositories/yum/proxy",
        "POST /v1/security/roles",
        "POST /v1/security/roles",
        "POST /v1/security/roles",
        "POST /v1/security/roles",  # push, pull, anonymous, metrics
        "POST /v1/security/users",
        "PUT /v1/security/users/anonymous",
        "PUT /v1/security/anonymous",
        # The daily chain: Nexus's own Cleanup service rescheduled, then ours created.
        "PUT /v1/tasks/0f7c2b1e-0001",
        "POST /v1/tasks",
        "POST /v1/tasks",
        "POST /v1/tasks",
        "POST /v1/tasks",
        "POST /v1/tasks",
    ]
    # The four warnings: this test host has no systemd, so none of the timers (database backup pruning,
    # retention, the health notifier, the watchdog) can be enabled; each says which.
    assert f"done: {len(writes)} change(s), 4 warning(s)" in out
    # Every upstream was fetched (from the loopback stand-ins) and answered.
    assert sorted(nexus.upstream_requests) == ["/upstream/docker-proxy", "/upstream/pypi-proxy",
                                               "/upstream/yum-proxy"]
    assert "upstream of docker-proxy answers" in out
    assert nexus.ssrf_protection == {"enabled": True, "allowedIPs": [], "allowedDomains": [
        "mirrors.cloud.tencent.com", "pypi.org", "registry-1.docker.io"]}


def test_a_second_run_writes_nothing(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    ok(host.run())
    writes_after_first = list(nexus.writes)
    nexus.ssrf_protection["allowedDomains"].reverse()  # Nexus need not keep our order: no change either
    out = ok(host.run())
    assert nexus.writes == writes_after_first
    assert "done: 0 change(s)" in out
    assert "up to date" in out


def test_the_configured_password_is_used_when_already_in_effect(tmp_path, start_nexus):
    fake = start_nexus(admin_password=ADMIN_PASSWORD)
    host = BootstrapHost(tmp_path, make_settings(), fake.url)  # no admin.password file at all
    out = ok(host.run())
    assert ("PUT", "/v1/security/users/admin/change-password") not in fake.writes
    assert "the configured one is in effect" in out


def test_a_changed_admin_password_is_rotated_from_the_previously_applied_one(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    ok(host.run())
    host.apply(make_settings(adminPassword="Rotated-Admin-Pass-43"))
    out = ok(host.run())
    assert nexus.admin_password == "Rotated-Admin-Pass-43"
    assert "admin-password.applied" in out
    assert nexus.writes[-1] == ("PUT", "/v1/security/users/admin/change-password")


def test_wrong_everything_fails_clearly_and_writes_nothing(tmp_path, start_nexus):
    fake = start_nexus(admin_password="someone-changed-it-by-hand")
    host = BootstrapHost(tmp_path, make_settings(), fake.url)
    host.generated_password_file.write_text("stale-generated\n")
    result = host.run()
    assert result.returncode != 0
    assert "rejected the configured adminPassword" in result.stderr
    assert "pulumi config set --secret adminPassword" in result.stderr
    assert fake.writes == []


def test_an_unreachable_nexus_fails_with_a_bounded_wait(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    nexus.writable = False
    result = host.run(NEXUS_READY_TIMEOUT="1")
    assert result.returncode != 0
    assert "is not writable after 1s" in result.stderr
    assert nexus.writes == []


def test_drift_is_repaired_with_one_put_and_only_where_it_differs(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    ok(host.run())
    fmt, type_, payload = nexus.repositories["docker-group"]
    drifted = json.loads(json.dumps(payload))
    drifted["docker"]["forceBasicAuth"] = True  # what newer Nexus versions default to (Pitfall 9)
    nexus.repositories["docker-group"] = (fmt, type_, drifted)
    nexus.realms = ["NexusAuthenticatingRealm"]
    before = len(nexus.writes)
    ok(host.run())
    assert nexus.writes[before:] == [("PUT", "/v1/security/realms/active"),
                                     ("PUT", "/v1/repositories/docker/group/docker-group")]
    assert nexus.repositories["docker-group"][2]["docker"]["forceBasicAuth"] is False


def test_changed_settings_update_the_repositories(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    ok(host.run())
    host.apply(make_settings(nexus={"anonymousPull": False, "dockerHubRemote": "https://mirror.ccs.tencentyun.com"}))
    ok(host.run())
    assert nexus.anonymous["enabled"] is False
    for name in ("docker-proxy", "docker-hosted", "docker-group"):
        assert nexus.repositories[name][2]["docker"]["forceBasicAuth"] is True, name
    proxy = nexus.repositories["docker-proxy"][2]
    assert proxy["proxy"]["remoteUrl"] == "https://mirror.ccs.tencentyun.com"
    assert proxy["dockerProxy"]["indexType"] == "REGISTRY"


def test_an_older_nexus_without_the_eula_api_is_fine(tmp_path, start_nexus):
    fake = start_nexus(admin_password=GENERATED, eula_api=False)
    host = fresh_host(tmp_path, fake)
    out = ok(host.run())
    assert "no EULA API" in out
    assert len(fake.repositories) == 5


def test_the_eula_is_accepted_with_nexus_own_disclaimer(tmp_path, nexus):
    ok(fresh_host(tmp_path, nexus).run())
    posted = [json.loads(body) for method, path, body in nexus.bodies if path == "/v1/system/eula"]
    assert posted == [{"accepted": True, "disclaimer": DISCLAIMER}]


def test_docker_hub_credentials_reach_nexus_but_never_a_command_line(tmp_path, nexus):
    settings = make_settings(token=True)
    host = fresh_host(tmp_path, nexus, settings)
    ok(host.run())
    created = [json.loads(body) for method, path, body in nexus.bodies
               if method == "POST" and path == "/v1/repositories/docker/proxy"]
    assert created[0]["httpClient"]["authentication"] == {
        "type": "username", "username": "team-bot", "password": DOCKER_HUB_TOKEN}
    # The shipped payload itself carries no token: only the host adds it, from the root-only file.
    assert DOCKER_HUB_TOKEN not in host.path(f"{render.REPOSITORY_DIR}/docker-proxy.json").read_text()
    argv = host.argv_text()
    assert "curl" in argv and "jq" in argv  # the wrappers did record
    assert DOCKER_HUB_TOKEN not in argv and ADMIN_PASSWORD not in argv and GENERATED not in argv
    # Nexus never returns the stored token: the same token again is no change, a new one is.
    before = len(nexus.writes)
    ok(host.run())
    assert len(nexus.writes) == before
    host.path(render.DOCKER_HUB_TOKEN_PATH).write_text("dckr_pat_New-Token-78")
    ok(host.run())
    assert nexus.writes[before:] == [("PUT", "/v1/repositories/docker/proxy/docker-proxy")]
    updated = json.loads(nexus.bodies[-1][2])
    assert updated["httpClient"]["authentication"]["password"] == "dckr_pat_New-Token-78"


def test_removing_docker_hub_credentials_removes_them_from_nexus(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus, make_settings(token=True))
    ok(host.run())
    host.apply(make_settings())
    ok(host.run())
    assert "authentication" not in nexus.repositories["docker-proxy"][2]["httpClient"]
    before = len(nexus.writes)
    ok(host.run())
    assert len(nexus.writes) == before


def test_secret_files_and_state_stay_private(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus, make_settings(token=True))
    ok(host.run())
    for path in [host.path(render.ADMIN_PASSWORD_PATH), host.path(render.DOCKER_HUB_TOKEN_PATH),
                 *host.state_dir.iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
    out = host.run()
    assert ADMIN_PASSWORD not in out.stdout + out.stderr and DOCKER_HUB_TOKEN not in out.stdout + out.stderr


def test_disabled_proxies_are_not_created(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus, make_settings(nexus={"pypiProxy": False, "yumProxy": False}))
    ok(host.run())
    assert set(nexus.repositories) == {"docker-proxy", "docker-hosted", "docker-group"}


def test_a_failed_call_reports_status_and_error_ids_never_the_response_body(tmp_path, nexus):
    # Nexus validation errors may echo what was sent; here the fake echoes the whole request body.
    route = nexus._route

    def echoing(method, path, query, headers, body):
        if method == "POST" and path == "/v1/repositories/docker/proxy":
            return 400, [{"id": "PARAMETER httpClient.authentication", "message": f"rejected {body.decode()}"}]
        return route(method, path, query, headers, body)

    nexus._route = echoing
    host = fresh_host(tmp_path, nexus, make_settings(token=True))
    result = host.run()
    assert result.returncode != 0
    assert ("creating repository docker-proxy: Nexus answered HTTP 400 "
            "(error ids: PARAMETER httpClient.authentication)") in result.stderr
    output = result.stdout + result.stderr
    assert DOCKER_HUB_TOKEN not in output and "rejected" not in output and ADMIN_PASSWORD not in output


# --- SSRF protection, adoption, 403, upstreams ---------------------------------------


def test_ssrf_protection_is_turned_on_and_repaired_when_someone_turns_it_off(tmp_path, nexus):
    settings = make_settings("lab", {"dockerHubRemote": "http://10.0.8.20:5000"})
    host = fresh_host(tmp_path, nexus, settings)
    ok(host.run())
    assert nexus.ssrf_protection == render.ssrf_protection_payload(settings) == {
        "enabled": True, "allowedDomains": ["mirrors.cloud.tencent.com", "pypi.org"], "allowedIPs": ["10.0.8.20"]}
    nexus.ssrf_protection = {"enabled": False, "allowedDomains": ["pypi.org", "mirrors.cloud.tencent.com"],
                             "allowedIPs": ["10.0.8.20"]}
    before = len(nexus.writes)
    ok(host.run())
    assert nexus.writes[before:] == [("PUT", "/v1/security/ssrf-protection")]
    assert nexus.ssrf_protection["enabled"] is True


def test_a_nexus_without_ssrf_protection_gets_a_warning_not_a_failure(tmp_path, start_nexus):
    fake = start_nexus(admin_password=GENERATED, ssrf_api=False)
    result = fresh_host(tmp_path, fake).run()
    assert result.returncode == 0, result.stderr
    assert "WARNING: SSRF protection: this Nexus has no SSRF protection API" in result.stderr
    assert "nexus-registry:nexus.version" in result.stderr
    assert len(fake.repositories) == 5


def test_a_same_named_repository_of_another_format_stops_the_run_naming_it(tmp_path, nexus):
    foreign = {"name": "docker-proxy", "online": True, "storage": {"blobStoreName": "default",
                                                                     "strictContentTypeValidation": True,
                                                                     "writePolicy": "ALLOW"},
               "docker": {"v1Enabled": False, "forceBasicAuth": True, "httpPort": 8001}}
    nexus.repositories["docker-proxy"] = ("docker", "hosted", foreign)
    result = fresh_host(tmp_path, nexus).run()
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert "repository docker-proxy already exists in Nexus as a docker/hosted repository" in error
    assert "needs a docker/proxy repository" in error
    assert not any(path.startswith("/v1/repositories") for _, path in nexus.writes)
    assert nexus.repositories["docker-proxy"] == ("docker", "hosted", foreign)


def test_a_repository_in_another_blob_store_stops_the_run_naming_it(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    ok(host.run())
    fmt, type_, payload = nexus.repositories["docker-hosted"]
    moved = json.loads(json.dumps(payload))
    moved["storage"]["blobStoreName"] = "team-blobs"
    nexus.repositories["docker-hosted"] = (fmt, type_, moved)
    before = len(nexus.writes)
    result = host.run()
    assert result.returncode != 0
    assert "repository docker-hosted keeps its blobs in blob store 'team-blobs'" in result.stderr
    assert "this stack puts it in 'default'" in result.stderr
    assert nexus.writes[before:] == []


def test_403_is_reported_as_missing_privileges_not_as_a_wrong_password(tmp_path, start_nexus):
    fake = start_nexus(admin_password=ADMIN_PASSWORD, admin_forbidden=True)
    host = BootstrapHost(tmp_path, make_settings(), fake.url)
    host.generated_password_file.write_text("stale-generated\n")
    result = host.run()
    assert result.returncode != 0
    assert "403 Forbidden" in result.stderr and "not a wrong adminPassword" in result.stderr
    assert "rejected the configured adminPassword" not in result.stderr
    assert fake.writes == []
    # It stopped at the first 403: no other password was tried.
    tried = [line for line in host.argv_text().splitlines() if "security/users" in line]
    assert len(tried) == 1


def test_an_upstream_that_does_not_answer_is_a_warning_naming_the_setting(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    nexus.upstream_status["pypi-proxy"] = 502
    # docker-proxy's upstream: a loopback port nobody listens on (connection refused).
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    table = host.upstreams_file.read_text().replace(f"{nexus.url}/upstream/docker-proxy",
                                                    f"http://127.0.0.1:{port}/v2/")
    table_file = tmp_path / "upstreams-down.tsv"
    table_file.write_text(table)
    result = host.run(NEXUS_UPSTREAMS_FILE=str(table_file))
    assert result.returncode == 0, "an unreachable upstream never fails the deploy"
    warnings = [line for line in result.stderr.splitlines() if "WARNING: upstream" in line]
    assert len(warnings) == 2, result.stderr
    assert "upstream of docker-proxy does not answer from this host" in warnings[0]
    assert "set nexus-registry:nexus.dockerHubRemote to an upstream this host can reach" in warnings[0]
    assert "upstream of pypi-proxy answers HTTP 502" in warnings[1]
    assert "set nexus-registry:nexus.pypiRemote" in warnings[1]
    # and the four of a host without systemd (no backup pruning, retention, health notifier or watchdog timer)
    assert "6 warning(s)" in result.stdout
    assert len(nexus.repositories) == 5, "the repositories are configured all the same"


def test_the_rendered_upstream_table_probes_each_configured_remote():
    table = render.upstreams_table(make_settings("lab", {"dockerHubRemote": "https://hub.example.cn/"}))
    assert table.splitlines() == [
        "docker-proxy\tnexus.dockerHubRemote\thttps://hub.example.cn/v2/",
        "pypi-proxy\tnexus.pypiRemote\thttps://pypi.org/simple/pip/",
        "yum-proxy\tnexus.yumRemote\thttps://mirrors.cloud.tencent.com/rocky/",
    ]
    assert render.upstreams_table(make_settings("lab", {"pypiProxy": False, "yumProxy": False})).count("\n") == 1


def test_restore_bootstrap_refuses_a_new_database_over_blob_stores_that_hold_blobs(tmp_path, nexus):
    # A lost database (db/ deleted, a restore that never happened): Nexus starts on a new one and writes a
    # generated password, while blobs/default/content still holds every image.  Configuring it would create
    # empty repositories over those blobs.
    host = fresh_host(tmp_path, nexus)
    blob = host.path(f"{render.DATA_DIR}/blobs/default/content/vol-03/chap-17/0f3c.bytes")
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"layer")
    result = host.run()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Nexus started on a new, empty database" in result.stderr
    assert "default/content/vol-03/chap-17/0f3c.bytes" in result.stderr
    assert "make restore STACK=lab FROM=snapshot" in result.stderr
    assert nexus.writes == [] and nexus.admin_password == GENERATED
    assert host.generated_password_file.exists()

    # An empty blob store (a fresh install: Nexus made its directories, no blob yet) is configured as ever.
    blob.unlink()
    ok(host.run())
    assert nexus.admin_password == ADMIN_PASSWORD
