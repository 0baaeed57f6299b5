"""The rendered bootstrap script, run for real (bash, curl, jq) against a fake Nexus.

The fake validates every body with the ``nexus-api-client`` models and keeps
state, so these tests show the script creates everything on a fresh Nexus,
writes nothing on a second run, takes the generated ``admin.password`` path on
first contact, repairs drift, handles Docker Hub credentials and fails clearly.
"""

from __future__ import annotations

import json

import pytest

from components.render import nexus as render
from components.render.nexus_repositories import repositories
from tests.system.fake_nexus import (
    ADMIN_PASSWORD,
    DISCLAIMER,
    DOCKER_HUB_TOKEN,
    BootstrapHost,
    FakeNexus,
    make_settings,
)

GENERATED = "generated-0f3c"


@pytest.fixture
def nexus():
    fake = FakeNexus(admin_password=GENERATED).start()
    yield fake
    fake.stop()


def fresh_host(tmp_path, nexus, settings=None) -> BootstrapHost:
    host = BootstrapHost(tmp_path, settings or make_settings(), nexus.url)
    host.generated_password_file.write_text(GENERATED + "\n")
    return host


def ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


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
    assert f"done: {len(writes)} change(s)" in out


def test_a_second_run_writes_nothing(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    ok(host.run())
    writes_after_first = list(nexus.writes)
    out = ok(host.run())
    assert nexus.writes == writes_after_first
    assert "done: 0 change(s)" in out
    assert "up to date" in out


def test_the_configured_password_is_used_when_already_in_effect(tmp_path):
    fake = FakeNexus(admin_password=ADMIN_PASSWORD).start()
    try:
        host = BootstrapHost(tmp_path, make_settings(), fake.url)  # no admin.password file at all
        out = ok(host.run())
        assert ("PUT", "/v1/security/users/admin/change-password") not in fake.writes
        assert "the configured one is in effect" in out
    finally:
        fake.stop()


def test_a_changed_admin_password_is_rotated_from_the_previously_applied_one(tmp_path, nexus):
    host = fresh_host(tmp_path, nexus)
    ok(host.run())
    host.apply(make_settings(adminPassword="Rotated-Admin-Pass-43"))
    out = ok(host.run())
    assert nexus.admin_password == "Rotated-Admin-Pass-43"
    assert "admin-password.applied" in out
    assert nexus.writes[-1] == ("PUT", "/v1/security/users/admin/change-password")


def test_wrong_everything_fails_clearly_and_writes_nothing(tmp_path):
    fake = FakeNexus(admin_password="someone-changed-it-by-hand").start()
    try:
        host = BootstrapHost(tmp_path, make_settings(), fake.url)
        host.generated_password_file.write_text("stale-generated\n")
        result = host.run()
        assert result.returncode != 0
        assert "rejected the configured adminPassword" in result.stderr
        assert "pulumi config set --secret adminPassword" in result.stderr
        assert fake.writes == []
    finally:
        fake.stop()


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


def test_an_older_nexus_without_the_eula_api_is_fine(tmp_path):
    fake = FakeNexus(admin_password=GENERATED, eula_api=False).start()
    try:
        host = fresh_host(tmp_path, fake)
        out = ok(host.run())
        assert "no EULA API" in out
        assert len(fake.repositories) == 5
    finally:
        fake.stop()


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
