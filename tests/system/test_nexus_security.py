"""Roles, users and anonymous access: the real bootstrap script against the fake Nexus.

The fake evaluates repository-view privileges as Nexus does (wildcards, a group
shows its members' content) and starts, like Nexus, with the ``anonymous`` user
holding ``nx-anonymous``; so these tests show what an anonymous client and each
user can read or write after a run, not only which requests were sent.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from components.render import nexus as render
from components.render import nexus_security as security
from tests.fakes.nexus import FakeNexus
from tests.support.commands import ok
from tests.support.settings import ADMIN_PASSWORD, USER_PASSWORDS, make_settings

TEAM_IMAGE = "team/secret-service"
HUB_IMAGE = "library/alpine"
TWO_USERS = {"users": [{"name": "ci", "role": "push"}, {"name": "bob", "role": "pull"}],
             "userPasswords": json.dumps({**USER_PASSWORDS, "bob": "Bob-Pull-Password-8"})}


@pytest.fixture
def nexus(start_nexus):
    return start_nexus(admin_password=ADMIN_PASSWORD, anonymous={
        "enabled": True, "userId": "anonymous", "realmName": "NexusAuthorizingRealm"})


def search(nexus: FakeNexus, repository: str, credentials: tuple[str, str] | None = None) -> tuple[int, list[str]]:
    """What ``GET /service/rest/v1/search?repository=`` shows a client: (status, component names)."""
    request = urllib.request.Request(f"{nexus.url}/service/rest/v1/search?repository={repository}")
    if credentials:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, [item["name"] for item in json.load(response)["items"]]
    except urllib.error.HTTPError as error:
        return error.code, []


def seed_content(nexus: FakeNexus) -> None:
    nexus.components = {"docker-hosted": [TEAM_IMAGE], "docker-proxy": [HUB_IMAGE]}


def test_out_of_the_box_nexus_shows_team_images_to_anyone(bootstrap_host, nexus):
    # What this whole file guards against: Nexus's own anonymous role reads every repository.
    ok(bootstrap_host(nexus, make_settings()).run())
    seed_content(nexus)
    nexus.users["anonymous"]["roles"] = ["nx-anonymous"]
    assert search(nexus, "docker-hosted") == (200, [TEAM_IMAGE])


def test_anonymous_reads_docker_hub_content_only_and_roles_are_least_privilege(bootstrap_host, nexus):
    ok(bootstrap_host(nexus, make_settings()).run())
    seed_content(nexus)
    assert nexus.anonymous["enabled"] is True
    assert nexus.users["anonymous"]["roles"] == [security.ROLE_ANONYMOUS]
    # Read is what a pull needs; without browse nothing is listed or browsed (as in Nexus, whose
    # repository listing asks for browse: RepositoryPermissionChecker.userCanBrowseRepositories).
    assert sorted(nexus.privileges_of("anonymous")) == ["nx-repository-view-docker-docker-proxy-read"]
    assert nexus.can("anonymous", "docker-proxy", "read")
    assert not nexus.can("anonymous", "docker-proxy", "browse")
    for repository in ("docker-hosted", "docker-group", "pypi-proxy", "yum-proxy"):
        assert not nexus.can("anonymous", repository, "read"), repository
        assert not nexus.can("anonymous", repository, "browse"), repository
    # Neither listed nor searchable (no search privilege at all, and nothing to browse).
    for repository in ("docker-hosted", "docker-group"):
        assert search(nexus, repository)[1] == []
    with urllib.request.urlopen(f"{nexus.url}/service/rest/v1/repositories", timeout=10) as response:
        assert [repo["name"] for repo in json.load(response)] == []
    # The roles hold exactly the least privileges.
    push = nexus.roles[security.ROLE_PUSH]
    assert sorted(push["privileges"]) == sorted(
        f"nx-repository-view-docker-docker-hosted-{action}" for action in ("add", "edit", "read", "browse"))
    assert push["roles"] == []
    pull = nexus.roles[security.ROLE_PULL]
    assert sorted(pull["privileges"]) == sorted(
        f"nx-repository-view-{fmt}-{repo}-{action}" for fmt, repo in
        (("docker", "docker-group"), ("pypi", "pypi-proxy"), ("yum", "yum-proxy")) for action in ("read", "browse"))
    assert nexus.errors == []


def test_team_images_become_anonymous_only_by_explicit_setting(bootstrap_host, nexus):
    host = bootstrap_host(nexus, make_settings(nexus={"anonymousTeamImages": True}))
    ok(host.run())
    seed_content(nexus)
    assert nexus.can("anonymous", "docker-group", "read")
    assert not nexus.can("anonymous", "docker-hosted", "add")
    # Back to private: the role loses the group again.
    host.apply(make_settings())
    ok(host.run())
    assert not nexus.can("anonymous", "docker-group", "read")


def test_users_from_the_settings_are_created_with_their_roles_and_passwords(bootstrap_host, nexus):
    settings = make_settings(**TWO_USERS)
    host = bootstrap_host(nexus, settings)
    ok(host.run())
    seed_content(nexus)
    ci, bob = nexus.users["ci"], nexus.users["bob"]
    assert ci["roles"] == [security.ROLE_PUSH, security.ROLE_PULL] and bob["roles"] == [security.ROLE_PULL]
    assert ci["lastName"] == bob["lastName"] == security.MANAGED_MARKER
    assert nexus.passwords == {"ci": USER_PASSWORDS["ci"], "bob": "Bob-Pull-Password-8"}
    # The CI user pushes to docker-hosted but cannot delete; bob only pulls.
    assert nexus.can("ci", "docker-hosted", "add") and nexus.can("ci", "docker-hosted", "edit")
    assert not nexus.can("ci", "docker-hosted", "delete") and not nexus.can("ci", "docker-proxy", "add")
    assert not nexus.can("bob", "docker-hosted", "add")
    assert nexus.can("bob", "docker-group", "read")
    assert search(nexus, "docker-group", ("bob", "Bob-Pull-Password-8")) == (403, [])  # no search privilege
    status, _ = search(nexus, "docker-group", ("bob", "wrong-password"))
    assert status == 401
    # Passwords: never on a command line, never in the output.
    argv = host.argv_text()
    assert "curl" in argv
    out = host.run()
    for password in ("Bob-Pull-Password-8", USER_PASSWORDS["ci"]):
        assert password not in argv and password not in out.stdout + out.stderr
    assert "done: 0 change(s)" in ok(out)
    for name in ("ci", "bob"):
        path = host.path(render.user_password_paths(settings)[name])
        assert path.stat().st_mode & 0o077 == 0


def test_a_changed_password_or_one_changed_in_the_ui_is_put_back(bootstrap_host, nexus):
    host = bootstrap_host(nexus, make_settings())
    ok(host.run())
    before = len(nexus.writes)
    host.apply(make_settings(userPasswords=json.dumps({"ci": "Rotated-Ci-Password-9"})))
    ok(host.run())
    assert nexus.writes[before:] == [("PUT", "/v1/security/users/ci/change-password")]
    assert nexus.passwords["ci"] == "Rotated-Ci-Password-9"
    nexus.passwords["ci"] = "set-by-hand-in-the-ui"
    ok(host.run())
    assert nexus.passwords["ci"] == "Rotated-Ci-Password-9"


def test_drifted_roles_and_users_are_repaired(bootstrap_host, nexus):
    host = bootstrap_host(nexus, make_settings())
    ok(host.run())
    nexus.roles[security.ROLE_PUSH]["privileges"].append("nx-repository-view-docker-docker-hosted-delete")
    nexus.users["ci"]["roles"] = ["nx-admin"]
    nexus.users["anonymous"]["roles"] = ["nx-anonymous"]
    before = len(nexus.writes)
    ok(host.run())
    assert nexus.writes[before:] == [("PUT", f"/v1/security/roles/{security.ROLE_PUSH}"),
                                     ("PUT", "/v1/security/users/ci"),
                                     ("PUT", "/v1/security/users/anonymous")]
    assert not nexus.can("ci", "docker-hosted", "delete")
    assert nexus.users["ci"]["roles"] == [security.ROLE_PUSH, security.ROLE_PULL]
    assert nexus.users["anonymous"]["roles"] == [security.ROLE_ANONYMOUS]


def test_a_user_removed_from_the_settings_is_deleted_and_no_other(bootstrap_host, nexus):
    host = bootstrap_host(nexus, make_settings(**TWO_USERS))
    ok(host.run())
    # A user someone made by hand, whose id even starts like ours: never touched.
    nexus.users["bobby"] = {"userId": "bobby", "firstName": "Bob", "lastName": "Builder", "source": "default",
                            "emailAddress": "bobby@example.org", "status": "active", "readOnly": False,
                            "roles": ["nx-admin"], "externalRoles": []}
    bob_password = host.path(render.user_password_paths(make_settings(**TWO_USERS))["bob"])
    assert bob_password.exists()
    host.apply(make_settings())
    out = ok(host.run())
    assert "user bob: deleted" in out
    assert set(nexus.users) == {"anonymous", "ci", "bobby"}
    assert nexus.users["bobby"]["roles"] == ["nx-admin"]
    assert not bob_password.exists()
    assert ("DELETE", "/v1/security/users/bob") in nexus.writes


def test_a_same_named_user_not_made_by_us_stops_the_run(bootstrap_host, nexus):
    nexus.users["ci"] = {"userId": "ci", "firstName": "Jenkins", "lastName": "Legacy", "source": "default",
                         "emailAddress": "ci@example.org", "status": "active", "readOnly": False,
                         "roles": ["nx-admin"], "externalRoles": []}
    nexus.passwords["ci"] = "legacy-password"
    result = bootstrap_host(nexus, make_settings()).run()
    assert result.returncode != 0
    assert "user ci exists in Nexus but was not created by nexus-registry" in result.stderr
    assert nexus.users["ci"]["roles"] == ["nx-admin"] and nexus.passwords["ci"] == "legacy-password"


def test_anonymous_off_still_restricts_the_anonymous_user(bootstrap_host, nexus):
    ok(bootstrap_host(nexus, make_settings(nexus={"anonymousPull": False})).run())
    assert nexus.anonymous["enabled"] is False
    assert nexus.users["anonymous"]["roles"] == [security.ROLE_ANONYMOUS]
    assert search(nexus, "docker-proxy")[0] == 401
