"""Storage lifecycle payloads: valid for Nexus's API models, in the right order, from validated settings."""

from __future__ import annotations

from itertools import pairwise

import pytest
from nexus_api_client.models.cleanup_policy_resource_xo import CleanupPolicyResourceXO
from nexus_api_client.models.file_blob_store_api_update_request import FileBlobStoreApiUpdateRequest
from nexus_api_client.models.task_template_xo import TaskTemplateXO
from nexus_api_client.models.update_task_template_xo import UpdateTaskTemplateXO

from components import settings as stack_settings
from components.render import nexus as render
from components.render import nexus_lifecycle as lifecycle
from components.render.nexus_repositories import repositories
from tests.fakes.nexus import EXPOSED_TASK_TYPES
from tests.harness import run_stack
from tests.support.settings import make_settings

VARIANTS = {
    "dev": lambda: make_settings("dev"),
    "prod": lambda: make_settings("prod"),
    "lab": lambda: make_settings("lab"),
    "hosted-opt-in": lambda: make_settings("dev", {"cleanup": {"hostedUnusedDays": 90, "hostedAgeDays": 400}}),
    "no-proxy-cleanup": lambda: make_settings("dev", {"cleanup": {"proxyUnusedDays": 0}}),
    "late-night": lambda: make_settings("prod", {"cleanup": {"hour": 23}}, backup={"hour": 1, "retainDays": 7}),
    "docker-only": lambda: make_settings("lab", {"pypiProxy": False, "yumProxy": False}),
    "postgresql": lambda: make_settings("dev", database={"engine": "postgresql"}),
}


def strictly_valid(model: type, payload: dict) -> None:
    parsed = model.from_dict(payload)
    assert parsed.to_dict() == payload, f"{model.__name__} drops or changes keys of {payload}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_lifecycle_payload_is_valid_for_the_nexus_api(variant):
    settings = VARIANTS[variant]()
    repos = repositories(settings)
    for policy in lifecycle.cleanup_policies(settings, repos):
        strictly_valid(CleanupPolicyResourceXO, policy.payload())
    for task in lifecycle.tasks(settings, repos):
        strictly_valid(TaskTemplateXO, task.payload())
        strictly_valid(UpdateTaskTemplateXO, task.update_payload())
        if task.type != lifecycle.CLEANUP_TASK_TYPE:
            required, optional = EXPOSED_TASK_TYPES[task.type]
            assert required <= set(task.properties) <= required | optional, task
    quota = lifecycle.blob_store_quota(settings)
    strictly_valid(FileBlobStoreApiUpdateRequest, {"path": "default", **({"softQuota": quota} if quota else {})})


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_chain_runs_in_order_and_the_database_backup_precedes_the_snapshot(variant):
    settings = VARIANTS[variant]()
    chain = lifecycle.tasks(settings, repositories(settings))
    assert [task.type for task in chain][0] == "repository.cleanup"
    start = settings.nexus.cleanup.hour * 60
    storage = [task for task in chain if task.type != "h2.backup.task"]
    offsets = [((task.hour * 60 + task.minute) - start) % 1440 for task in storage]
    order = {"repository.cleanup": 0, "repository.docker.gc": 1, "repository.docker.upload-purge": 2,
             "blobstore.compact": 3}
    ranks = [order[task.type] for task in storage]
    steps = list(zip(ranks, offsets, strict=True))
    assert steps == sorted(steps)
    assert all(before[1] < after[1] for before, after in pairwise(steps) if before[0] != after[0])
    if settings.database.postgresql:
        assert "h2.backup.task" not in [task.type for task in chain]  # PostgreSQL has its own backups
        return
    backup = chain[-1]
    assert backup.type == "h2.backup.task"
    snapshot = settings.effective_backup.hour * 60
    assert (snapshot - (backup.hour * 60 + backup.minute)) % 1440 == 30
    assert all(task.payload()["frequency"]["timeZoneOffset"] == "+08:00" for task in chain)


def test_policies_follow_the_settings_and_hosted_images_are_opt_in():
    dev = make_settings("dev")
    assert {p.name for p in lifecycle.cleanup_policies(dev, repositories(dev))} == {
        "nexus-registry-proxy-docker", "nexus-registry-proxy-pypi", "nexus-registry-proxy-yum"}
    assert render.api_payloads(dev)["docker-hosted"]["cleanup"] == {"policyNames": []}
    assert "cleanup" not in render.api_payloads(dev)["docker-group"]

    opted = make_settings("dev", {"cleanup": {"hostedAgeDays": 180}})
    policy = next(p for p in lifecycle.cleanup_policies(opted, repositories(opted)) if p.name.startswith(
        "nexus-registry-hosted"))
    assert policy.payload() == {"name": "nexus-registry-hosted-docker", "format": "docker",
                                "notes": "docker hosted: published over 180 days ago (nexus.cleanup.hosted*)",
                                "criteriaLastBlobUpdated": 180}
    assert render.api_payloads(opted)["docker-hosted"]["cleanup"] == {"policyNames": ["nexus-registry-hosted-docker"]}


def test_the_quota_defaults_to_80_percent_of_the_data_disk_in_bytes():
    assert lifecycle.blob_store_quota(make_settings("dev")) == {"type": "spaceUsedQuota", "limit": 40 * 1024**3}
    assert lifecycle.blob_store_quota(make_settings("prod")) == {"type": "spaceUsedQuota", "limit": 400 * 1024**3}
    assert lifecycle.blob_store_quota(make_settings("lab")) is None  # no known disk size on an existing server
    assert lifecycle.blob_store_quota(make_settings("lab", {"blobStoreQuotaGb": 20}))["limit"] == 20 * 1024**3
    assert lifecycle.blob_store_quota(make_settings("dev", {"blobStoreQuotaGb": 0})) is None


def test_lifecycle_files_ship_with_the_bootstrap_and_render_for_review():
    files = {f.path: f for f in render.bootstrap_files(make_settings("dev"))}
    for name in ("cleanup-policies", "tasks", "blob-store-quota"):
        assert files[f"/etc/nexus-registry/lifecycle/{name}.json"].mode == "0600"


@pytest.mark.parametrize("overrides, key, words", [
    ({"nexus": {"blobStoreQuotaGb": 50}}, "nexus.blobStoreQuotaGb", "must be below server.dataDiskGb (50)"),
    ({"nexus": {"blobStoreQuotaGb": -1}}, "nexus.blobStoreQuotaGb", "0..32000"),
    ({"nexus": {"cleanup": {"hour": 24}}}, "nexus.cleanup.hour", "0..23"),
    ({"nexus": {"cleanup": {"proxyUnusedDays": -3}}}, "nexus.cleanup.proxyUnusedDays", "0..3650"),
    ({"nexus": {"cleanup": {"incompleteUploadHours": 0}}}, "nexus.cleanup.incompleteUploadHours", "1..8760"),
    ({"nexus": {"cleanup": {"proxyDays": 3}}}, "nexus.cleanup.proxyDays", "not a known setting"),
    ({"backup": {"databaseKeepDays": 0}}, "backup.databaseKeepDays", "1..365"),
])
def test_bad_lifecycle_settings_name_their_key_before_any_resource(overrides, key, words):
    with pytest.raises(stack_settings.SettingsError) as caught:
        run_stack("dev", overrides)
    problem = caught.value.problems[0]
    assert problem.startswith(f"nexus-registry:{key}: ") and words in problem, problem
    assert caught.value.program_run.resources == []
