"""nexus-retention.sh against the fake Nexus: paging, keepLast, protect, olderThanDays, shared digests, indexes.

The rendered script runs unmodified (real bash, curl, jq), with every location taken from the
environment, against ``FakeNexus`` whose components API follows the deployed release's models
(tests/fakes/nexus/components.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from components.host_layout import (
    ADMIN_PASSWORD_PATH,
    CONFIG_DIR,
    RETENTION_SCRIPT,
    RETENTION_UNIT,
    SECRETS_DIR,
    STATE_DIR,
)
from components.render import nexus_retention
from components.render.bundle import HostFile
from tests.fakes.nexus import FakeNexus
from tests.fakes.nexus.components import EPOCH, digest_of, image_manifest
from tests.support.nexus_host import BootstrapHost, install, systemd_standin, wrap_tools
from tests.support.settings import ADMIN_PASSWORD, make_settings

REPO = "docker-hosted"
NOW = str(int(EPOCH.timestamp()))


@pytest.fixture
def fake(start_nexus):
    return start_nexus(admin_password=ADMIN_PASSWORD, repositories={REPO: ("docker", "hosted", {})})


def run(root: Path, fake: FakeNexus, *args: str, **retention) -> subprocess.CompletedProcess:
    settings = make_settings("lab", {"retention": retention} if retention else None)
    install(root, nexus_retention.host_files(settings))
    install(root, [HostFile(ADMIN_PASSWORD_PATH, ADMIN_PASSWORD, "0600")])
    bin_dir, _ = wrap_tools(root)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "NEXUS_URL": fake.url, "NEXUS_NOW": NOW,
           "NEXUS_SECRETS_DIR": str(root / SECRETS_DIR.lstrip("/")),
           "NEXUS_CONFIG_DIR": str(root / CONFIG_DIR.lstrip("/")),
           "NEXUS_STATE_DIR": str(root / STATE_DIR.lstrip("/"))}
    return subprocess.run(["bash", str(root / RETENTION_SCRIPT.lstrip("/")), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_keeps_newest_per_image_across_pages_and_deletes_the_rest(tmp_path, fake):
    content = fake.docker_content
    # 150 build tags of one image (two pages and a half of 100 with the other image), oldest first.
    for number in range(150):
        content.push(REPO, "team/app", f"build-{number}", image_manifest(f"app-{number}"), days_ago=150 - number)
    for number in range(60):
        content.push(REPO, "tools", f"t{number}", image_manifest(f"tools-{number}"), days_ago=60 - number)
    content.push(REPO, "team/app", "v1.2.3", image_manifest("release"), days_ago=400)
    content.push(REPO, "team/app", "latest", image_manifest("latest"), days_ago=300)

    plan = run(tmp_path, fake, "--dry-run", keepLast=5)
    assert plan.returncode == 0, plan.stderr
    assert content.pages_served == 3  # 212 components: 100 + 100 + 12, the last page without a token
    assert content.deleted == [] and not [w for w in fake.writes if w[0] == "DELETE"]
    assert plan.stdout.count("retention: would delete ") == 145 + 55
    assert "would delete team/app:build-0 " in plan.stdout and "team/app:build-145 " not in plan.stdout

    result = run(tmp_path, fake, keepLast=5)
    assert result.returncode == 0, result.stderr
    kept = content.tags(REPO)
    assert kept["team/app"] == sorted(["v1.2.3", "latest", *(f"build-{n}" for n in range(145, 150))])
    assert kept["tools"] == sorted(f"t{n}" for n in range(55, 60))
    assert "deleted team/app:build-0 (sha256:" in result.stdout
    assert "done: 200 tag(s) deleted" in result.stdout

    again = run(tmp_path, fake, keepLast=5)  # idempotent: a second run deletes nothing
    assert again.returncode == 0 and "done: 0 tag(s) deleted" in again.stdout


def test_exactly_one_full_page_is_followed_by_an_empty_one(tmp_path, fake):
    for number in range(100):
        fake.docker_content.push(REPO, "app", f"b{number}", image_manifest(str(number)), days_ago=100 - number)
    result = run(tmp_path, fake, "--dry-run", keepLast=98)
    assert result.returncode == 0, result.stderr
    assert fake.docker_content.pages_served == 2
    assert result.stdout.count("retention: would delete ") == 2


def test_a_tag_sharing_a_kept_digest_is_kept(tmp_path, fake):
    content = fake.docker_content
    shared = image_manifest("shared")
    content.push(REPO, "app", "old-alias", shared, days_ago=50)  # same manifest as the newest tag
    content.push(REPO, "app", "old", image_manifest("old"), days_ago=40)
    content.push(REPO, "app", "new", shared, days_ago=1)
    result = run(tmp_path, fake, keepLast=1)
    assert result.returncode == 0, result.stderr
    assert content.tags(REPO)["app"] == ["new", "old-alias"]
    assert content.deleted == ["app:old"]
    assert "keep app:old-alias" in result.stdout and "referenced by a kept tag" in result.stdout


def test_platform_manifests_of_a_kept_index_are_never_deleted(tmp_path, fake):
    content = fake.docker_content
    amd64, arm64 = image_manifest("amd64"), image_manifest("arm64")
    content.push(REPO, "multi", "arm64-only", arm64, days_ago=30)  # an old tag of one platform manifest
    content.push(REPO, "multi", "stale", image_manifest("stale"), days_ago=20)
    content.push_index(REPO, "multi", "main", [amd64, arm64], days_ago=1)
    result = run(tmp_path, fake, keepLast=1)
    assert result.returncode == 0, result.stderr
    versions = content.tags(REPO)["multi"]
    # The index tag, the tag of its arm64 manifest, and both platform manifests (versions = digests) remain.
    assert versions == sorted(["main", "arm64-only", digest_of(amd64), digest_of(arm64)])
    assert content.deleted == ["multi:stale"]


def test_protect_and_older_than_days(tmp_path, fake):
    content = fake.docker_content
    content.push(REPO, "app", "release-1", image_manifest("r1"), days_ago=90)
    content.push(REPO, "app", "feature-a", image_manifest("fa"), days_ago=90)
    content.push(REPO, "app", "feature-b", image_manifest("fb"), days_ago=3)
    content.push(REPO, "app", "feature-c", image_manifest("fc"), days_ago=1)
    result = run(tmp_path, fake, keepLast=1, protect=["^release-[0-9]+$"], olderThanDays=7)
    assert result.returncode == 0, result.stderr
    assert content.deleted == ["app:feature-a"]


def test_off_when_keep_last_is_zero(tmp_path, fake):
    fake.docker_content.push(REPO, "app", "a", image_manifest("a"), days_ago=9)
    result = run(tmp_path, fake, keepLast=0)
    assert result.returncode == 0 and "retention is off" in result.stdout
    assert fake.docker_content.pages_served == 0 and fake.docker_content.deleted == []


def test_a_failed_listing_deletes_nothing(tmp_path, fake):
    for number in range(120):
        fake.docker_content.push(REPO, "app", f"b{number}", image_manifest(str(number)), days_ago=200 - number)
    fake.repositories.pop(REPO)  # the second call's repository is gone: Nexus answers 404
    result = run(tmp_path, fake, keepLast=1)
    assert result.returncode == 1 and "listing docker-hosted" in result.stderr
    assert fake.docker_content.deleted == []


def test_the_password_is_never_on_a_command_line(tmp_path, fake):
    fake.docker_content.push(REPO, "app", "a", image_manifest("a"), days_ago=9)
    fake.docker_content.push(REPO, "app", "b", image_manifest("b"), days_ago=1)
    result = run(tmp_path, fake, keepLast=1)
    assert result.returncode == 0, result.stderr
    argv = (tmp_path / "argv.log").read_text()
    assert "curl" in argv and ADMIN_PASSWORD not in argv and ADMIN_PASSWORD not in result.stdout + result.stderr


# A systemctl stand-in that remembers each enabled unit.
def test_the_bootstrap_enables_the_retention_timer_once(tmp_path, start_nexus):
    fake = start_nexus(admin_password=ADMIN_PASSWORD)  # a fresh Nexus: the bootstrap creates docker-hosted
    bootstrap_twice(tmp_path, fake)


def bootstrap_twice(tmp_path: Path, fake: FakeNexus) -> None:
    host = BootstrapHost(tmp_path / "root", make_settings("lab"), fake.url)
    env, calls = systemd_standin(tmp_path)
    first = host.run(**env)
    assert first.returncode == 0, first.stderr
    assert f"enable --now {RETENTION_UNIT}.timer" in calls.read_text().splitlines()
    assert f"retention: {RETENTION_UNIT}.timer enabled" in first.stdout
    timer = host.path(f"/etc/systemd/system/{RETENTION_UNIT}.timer").read_text()
    assert "OnCalendar=*-*-* 16:30:00 UTC" in timer  # lab: cleanup hour 0 (+08:00), Docker GC 01:00, 30 min before
    before = calls.read_text()
    second = host.run(**env)
    assert "done: 0 change(s)" in second.stdout
    assert "daemon-reload" not in calls.read_text()[len(before):]
