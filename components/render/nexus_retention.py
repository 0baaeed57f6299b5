"""Keep-last-N retention of ``docker-hosted`` (``nexus.retention``), as host files built from settings.

Nexus CE has no count-based cleanup (Pro only, like the public cleanup-policy API), so a
daily host job applies it through the public REST API (``nexus-retention.sh``):

- ``/etc/nexus-registry/retention.json``: the repository, ``keepLast``, the ``protect``
  expressions and ``olderThanDays``; a JSON file, so the expressions never pass through a
  shell word;
- a systemd timer that runs the script every night ``LEAD_MINUTES`` before the first Docker
  "delete unused manifests and images" task of ``render.nexus_lifecycle.tasks`` (and so
  before "compact blob store"), so the space of what it deletes comes back the same night.
  The time is computed from the same UTC+08:00 schedule and written in UTC, which every
  systemd reads without a time-zone database.

``keepLast: 0`` leaves the files in place and the script answers "retention is off", so
turning retention on or off never needs a unit removed; ``make retention-plan STACK=...``
runs the script with ``--dry-run`` over SSH.
"""

from __future__ import annotations

import json

from components.host_layout import (
    ADMIN_PASSWORD_NAME,
    CONFIG_DIR,
    NEXUS_URL,
    RETENTION_FILE_NAME,
    RETENTION_SCRIPT,
    RETENTION_UNIT,
    SECRETS_DIR,
    STATE_DIR,
)
from components.render import nexus_lifecycle
from components.render.bundle import HostFile
from components.render.nexus_repositories import DOCKER_HOSTED, repositories
from components.render.systemd_units import timer_unit_files
from components.render.templating import jq_library_file, render_template
from components.settings import Settings

# Retention runs this long before the Docker GC task: it takes seconds to minutes (100 components a page).
LEAD_MINUTES = 30


def retention_config(settings: Settings) -> dict[str, object]:
    retention = settings.nexus.retention
    return {
        "repository": DOCKER_HOSTED,
        "keepLast": retention.keep_last,
        "protect": list(retention.protect),
        "olderThanDays": retention.older_than_days,
    }


def schedule_utc(settings: Settings) -> tuple[int, int]:
    """(hour, minute) in UTC: ``LEAD_MINUTES`` before the first Docker GC task of the lifecycle chain."""
    chain = nexus_lifecycle.tasks(settings, repositories(settings))
    gc = next(task for task in chain if task.type == nexus_lifecycle.DOCKER_GC_TASK_TYPE)
    sign = -1 if nexus_lifecycle.SCHEDULE_UTC_OFFSET.startswith("-") else 1
    offset_hours, offset_minutes = (int(part) for part in nexus_lifecycle.SCHEDULE_UTC_OFFSET[1:].split(":"))
    total = gc.hour * 60 + gc.minute - LEAD_MINUTES - sign * (offset_hours * 60 + offset_minutes)
    total %= 24 * 60
    return total // 60, total % 60


def host_files(settings: Settings) -> list[HostFile]:
    """The script, its settings file and its daily units (shipped with the bootstrap step)."""
    script = render_template(
        "host/nexus-retention.sh.j2",
        stack=settings.stack,
        repository=DOCKER_HOSTED,
        unit=RETENTION_UNIT,
        nexus_url=NEXUS_URL,
        secrets_dir=SECRETS_DIR,
        config_dir=CONFIG_DIR,
        state_dir=STATE_DIR,
        admin_password_name=ADMIN_PASSWORD_NAME,
        retention_file_name=RETENTION_FILE_NAME,
    )
    hour, minute = schedule_utc(settings)
    service = render_template("systemd/nexus-registry-retention.service.j2", repository=DOCKER_HOSTED,
                              keep_last=settings.nexus.retention.keep_last, script=RETENTION_SCRIPT)
    timer = render_template("systemd/nexus-registry-retention.timer.j2", unit=RETENTION_UNIT, hour=hour,
                            minute=minute, time_zone="UTC", lead_minutes=LEAD_MINUTES,
                            utc_offset=nexus_lifecycle.SCHEDULE_UTC_OFFSET)
    return [
        HostFile(RETENTION_SCRIPT, script, "0755"),
        HostFile(f"{CONFIG_DIR}/{RETENTION_FILE_NAME}", json.dumps(retention_config(settings), indent=2) + "\n"),
        *timer_unit_files(RETENTION_UNIT, service, timer),
        jq_library_file(),  # its decision is in nexus-registry.jq (jqr)
    ]
