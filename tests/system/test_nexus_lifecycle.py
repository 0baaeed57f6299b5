"""Storage lifecycle through the real bootstrap script (bash, curl, jq) against the fake Nexus.

The fake answers like the Community Edition (public cleanup-policy API absent, the
UI's internal one present, "Cleanup service" created by Nexus at boot) and validates
every body with the ``nexus-api-client`` models; these tests show the policies, the
task chain and the soft quota are created, attached in the right order, converge on
a second run with no write, follow changed settings and repair drift.
"""

from __future__ import annotations

import json

import pytest

from components.render import nexus_lifecycle as lifecycle
from components.render.nexus_repositories import repositories
from tests.fakes.nexus import FakeNexus
from tests.support.nexus_host import run_ok
from tests.support.settings import ADMIN_PASSWORD, make_settings

GIB = 1024**3


@pytest.fixture
def nexus(start_nexus):
    return start_nexus(admin_password=ADMIN_PASSWORD)


def our_tasks(fake: FakeNexus) -> dict[str, dict]:
    return {task["name"]: task for task in fake.tasks.values()}


def test_a_fresh_nexus_gets_policies_tasks_and_quota_and_a_second_run_writes_nothing(bootstrap_host, nexus):
    settings = make_settings("dev")  # a CBS data disk of 50 GiB: quota 40 GiB
    host = bootstrap_host(nexus, settings)
    out = run_ok(host)
    assert nexus.errors == []
    assert "using the API of the Community Edition UI" in out

    assert set(nexus.cleanup_policies) == {"nexus-registry-proxy-docker", "nexus-registry-proxy-pypi",
                                           "nexus-registry-proxy-yum"}
    assert nexus.cleanup_policies["nexus-registry-proxy-docker"]["criteriaLastDownloaded"] == 30
    attached = {name: (payload.get("cleanup") or {}).get("policyNames") for name, (_, _, payload)
                in nexus.repositories.items()}
    assert attached == {"docker-proxy": ["nexus-registry-proxy-docker"], "docker-hosted": [],
                        "docker-group": None, "pypi-proxy": ["nexus-registry-proxy-pypi"],
                        "yum-proxy": ["nexus-registry-proxy-yum"]}
    # Policies exist before a repository names them (Nexus would silently clean nothing otherwise).
    writes = [f"{method} {path}" for method, path in nexus.writes]
    assert max(i for i, w in enumerate(writes) if "cleanup-policies" in w) < writes.index(
        "POST /v1/repositories/docker/proxy")

    tasks = our_tasks(nexus)
    assert tasks["Cleanup service"]["cronExpression"] == "0 0 0 * * ?"  # Nexus's own task, moved to our hour
    assert tasks["Cleanup service"]["timeZoneOffset"] == "+08:00"
    assert sum(1 for task in tasks.values() if task["type"] == "repository.cleanup") == 1
    by_type = {task["type"]: task for task in tasks.values()}
    assert {task["properties"]["repositoryName"] for task in tasks.values()
            if task["type"] == "repository.docker.gc"} == {"docker-proxy", "docker-hosted"}
    assert by_type["repository.docker.upload-purge"]["properties"] == {"age": "24"}
    assert by_type["blobstore.compact"]["properties"] == {"blobstoreName": "default"}
    assert by_type["h2.backup.task"]["properties"] == {"location": "/nexus-data/db-backup"}
    assert by_type["h2.backup.task"]["cronExpression"] == "0 30 2 * * ?"  # 30 min before backup.hour 3
    assert "Cleanup tasks logs" in tasks, "a task that is not ours is left alone"

    assert nexus.blob_stores["default"] == {"path": "default",
                                            "softQuota": {"type": "spaceUsedQuota", "limit": 40 * GIB}}

    before = list(nexus.writes)
    out = run_ok(host)
    assert nexus.writes == before, f"second run wrote {nexus.writes[len(before):]}"
    assert "done: 0 change(s)" in out


def test_a_pro_licence_uses_the_public_cleanup_policy_api(bootstrap_host, start_nexus):
    fake = start_nexus(admin_password=ADMIN_PASSWORD, cleanup_public_api=True)
    host = bootstrap_host(fake, make_settings("lab"))
    run_ok(host)
    assert ("POST", "/v1/cleanup-policies") in fake.writes
    assert not any("/internal/" in path for _, path in fake.writes)
    before = len(fake.writes)
    run_ok(host)
    assert len(fake.writes) == before
    assert fake.errors == []


def test_a_public_api_that_lists_but_will_not_write_falls_back_to_the_ui_api(bootstrap_host, start_nexus):
    fake = start_nexus(admin_password=ADMIN_PASSWORD, cleanup_public_api=True, cleanup_public_writes=False)
    host = bootstrap_host(fake, make_settings("lab"))
    out = run_ok(host)
    assert "writing needs a Pro licence (HTTP 402)" in out
    assert [path for method, path in fake.writes if "cleanup-policies" in path] == [
        "/internal/cleanup-policies"] * 3
    assert fake.errors == []


def test_changed_settings_converge_and_what_is_no_longer_wanted_goes(bootstrap_host, nexus):
    host = bootstrap_host(nexus, make_settings("dev"))
    run_ok(host)
    host.apply(make_settings("dev", {
        "cleanup": {"proxyUnusedDays": 0, "hostedUnusedDays": 60, "hostedAgeDays": 365, "hour": 22},
        "blobStoreQuotaGb": 45, "pypiProxy": False,
    }))
    out = run_ok(host)
    assert nexus.errors == []
    assert set(nexus.cleanup_policies) == {"nexus-registry-hosted-docker"}
    hosted_policy = nexus.cleanup_policies["nexus-registry-hosted-docker"]
    assert (hosted_policy["criteriaLastDownloaded"], hosted_policy["criteriaLastBlobUpdated"]) == (60, 365)
    assert nexus.repositories["docker-hosted"][2]["cleanup"] == {"policyNames": ["nexus-registry-hosted-docker"]}
    assert nexus.repositories["docker-proxy"][2]["cleanup"] == {"policyNames": []}
    assert "cleanup policy nexus-registry-proxy-docker: deleted" in out
    tasks = our_tasks(nexus)
    assert tasks["Cleanup service"]["cronExpression"] == "0 0 22 * * ?"
    compact = next(task for task in tasks.values() if task["type"] == "blobstore.compact")
    assert compact["cronExpression"] == "0 0 0 * * ?"  # 22:00 + 2 h wraps to midnight
    assert nexus.blob_stores["default"]["softQuota"]["limit"] == 45 * GIB

    before = list(nexus.writes)
    run_ok(host)
    assert nexus.writes == before


def test_drift_made_in_the_ui_is_repaired_and_foreign_tasks_are_kept(bootstrap_host, nexus):
    host = bootstrap_host(nexus, make_settings("dev"))
    run_ok(host)
    compact = next(task for task in nexus.tasks.values() if task["type"] == "blobstore.compact")
    compact["enabled"] = False
    gc = next(task for task in nexus.tasks.values() if task["type"] == "repository.docker.gc")
    gc["properties"]["deployOffset"] = "1"
    stale = nexus._add_task("repository.docker.upload-purge", lifecycle.TASK_NAME_PREFIX + "from an old deploy",
                            "0 0 5 * * ?", {"age": "1"}, None)
    mine = nexus._add_task("repository.docker.upload-purge", "my own purge", "0 0 5 * * ?", {"age": "1"}, None)
    nexus.blob_stores["default"]["softQuota"] = None
    before = len(nexus.writes)
    out = run_ok(host)
    assert sorted(nexus.writes[before:]) == sorted([
        ("PUT", f"/v1/tasks/{compact['id']}"), ("PUT", f"/v1/tasks/{gc['id']}"),
        ("DELETE", f"/v1/tasks/{stale}"), ("PUT", "/v1/blobstores/file/default")])
    assert compact["enabled"] is True and gc["properties"]["deployOffset"] == "24"
    assert mine in nexus.tasks
    assert "from an old deploy: deleted" in out


def test_a_new_payload_is_applied_even_when_nexus_does_not_report_task_settings(bootstrap_host, nexus):
    """Older releases answer GET /v1/tasks without properties and schedule: the applied hash decides."""
    host = bootstrap_host(nexus, make_settings("dev"))
    run_ok(host)
    original = nexus._task_as_returned
    nexus._task_as_returned = lambda task: {**original(task), "properties": None, "cronExpression": None}
    host.apply(make_settings("dev", {"cleanup": {"incompleteUploadHours": 48}}))
    before = len(nexus.writes)
    run_ok(host)
    purge = next(task for task in nexus.tasks.values() if task["type"] == "repository.docker.upload-purge")
    assert nexus.writes[before:] == [("PUT", f"/v1/tasks/{purge['id']}")]
    assert purge["properties"] == {"age": "48"}
    before = len(nexus.writes)
    run_ok(host)
    assert len(nexus.writes) == before


def test_a_nexus_that_refuses_to_reschedule_its_cleanup_task_is_a_warning_not_a_failure(bootstrap_host, start_nexus):
    fake = start_nexus(admin_password=ADMIN_PASSWORD, cleanup_task_updatable=False)
    host = bootstrap_host(fake, make_settings("lab"))
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert "WARNING: Nexus refused to reschedule its task Cleanup service (HTTP 400" in result.stderr
    assert our_tasks(fake)["Cleanup service"]["cronExpression"] == "0 0 1 * * ?"
    assert any(task["type"] == "h2.backup.task" for task in fake.tasks.values())


def test_the_shipped_payloads_are_what_nexus_received(bootstrap_host, nexus):
    settings = make_settings("prod")
    host = bootstrap_host(nexus, settings)
    run_ok(host)
    sent = [json.loads(body) for method, path, body in nexus.bodies if method == "POST" and path == "/v1/tasks"]
    chain = lifecycle.tasks(settings, repositories(settings))
    assert sent == [task.payload() for task in chain if task.type != lifecycle.CLEANUP_TASK_TYPE]
