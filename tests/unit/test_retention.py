"""nexus.retention: its settings, and the files and schedule it puts on the host (components.render.nexus_retention)."""

from __future__ import annotations

import json

import pytest

from components.host_layout import CONFIG_DIR, RETENTION_SCRIPT, RETENTION_UNIT, SYSTEMD_DIR
from components.render import nexus as render
from components.render import nexus_lifecycle, nexus_retention
from components.settings import SettingsError
from tests.support.settings import make_settings


def files(settings) -> dict[str, str]:
    return {f.path: f.content for f in nexus_retention.host_files(settings)}


def test_defaults_keep_30_and_protect_release_tags_and_latest():
    config = json.loads(files(make_settings("lab"))[f"{CONFIG_DIR}/retention.json"])
    assert config == {"repository": "docker-hosted", "keepLast": 30,
                      "protect": [r"^v?[0-9]+(\.[0-9]+){1,2}$", "^latest$"], "olderThanDays": None}


@pytest.mark.parametrize("retention, key, words", [
    ({"keepLast": -1}, "nexus.retention.keepLast", "0..100000"),
    ({"protect": ["v(1"]}, "nexus.retention.protect", "not a regular expression"),
    ({"protect": ["(?P<x>a)"]}, "nexus.retention.protect", "Oniguruma"),
    ({"protect": ["a b"]}, "nexus.retention.protect", "without spaces"),
    ({"olderThanDays": 0}, "nexus.retention.olderThanDays", "1..3650"),
    ({"keepFirst": 3}, "nexus.retention.keepFirst", ""),
])
def test_bad_retention_settings_name_their_key(retention, key, words):
    with pytest.raises(SettingsError) as error:
        make_settings("lab", {"retention": retention})
    message = str(error.value)
    assert f"nexus-registry:{key}" in message and words in message


@pytest.mark.parametrize("hour, utc", [(0, "16:30"), (3, "19:30"), (20, "12:30")])
def test_the_timer_runs_half_an_hour_before_the_docker_gc_task_in_utc(hour, utc):
    settings = make_settings("lab", {"cleanup": {"hour": hour}})
    gc = next(t for t in nexus_lifecycle.tasks(settings, render.repositories(settings))
              if t.type == nexus_lifecycle.DOCKER_GC_TASK_TYPE)
    assert (gc.hour, gc.minute) == ((hour + 1) % 24, 0)  # UTC+08:00
    timer = files(settings)[f"{SYSTEMD_DIR}/{RETENTION_UNIT}.timer"]
    assert f"OnCalendar=*-*-* {utc}:00 UTC" in timer


def test_retention_ships_with_the_bootstrap_step():
    paths = {f.path for f in render.bootstrap_files(make_settings("prod"))}
    assert {RETENTION_SCRIPT, f"{CONFIG_DIR}/retention.json", f"{SYSTEMD_DIR}/{RETENTION_UNIT}.service",
            f"{SYSTEMD_DIR}/{RETENTION_UNIT}.timer"} <= paths
    service = files(make_settings("prod"))[f"{SYSTEMD_DIR}/{RETENTION_UNIT}.service"]
    assert f"ExecStart={RETENTION_SCRIPT}\n" in service


def test_the_bootstrap_enables_the_retention_timer():
    script = next(f.content for f in render.bootstrap_files(make_settings("lab")) if f.path.endswith("bootstrap.sh"))
    assert f"RETENTION_UNIT={RETENTION_UNIT}" in script
    assert 'enable_timer "$RETENTION_UNIT"' in script
