"""The watchdog on every Nexus host, as host files built from settings.

``--restart unless-stopped`` does not bring Nexus back after ``docker kill`` or a killed
dockerd: Docker counts both as an operator's stop (issue 21).  Every server gets:

- ``nexus-watchdog.sh``: starts dockerd when it does not answer, starts the container when it
  is exited, re-creates it with the container step's script when it is missing; nothing while
  an operator command holds the maintenance flag (``host_layout.MAINTENANCE_FLAG``), and a
  stale flag (its command is gone) is taken back; what it did goes to the journal and to
  ``host_layout.WATCHDOG_STATE``, which ``nexus-status.sh`` shows;
- a systemd timer every ``INTERVAL_MINUTES``, enabled by the bootstrap step like the other timers.
"""

from __future__ import annotations

from components.host_layout import (
    CONTAINER_NAME,
    CONTAINER_SCRIPT,
    MAINTENANCE_FLAG,
    STATE_DIR,
    WATCHDOG_SCRIPT,
    WATCHDOG_STATE,
    WATCHDOG_UNIT,
)
from components.render.bundle import HostFile
from components.render.systemd_units import interval_timer, timer_unit_files
from components.render.templating import render_template
from components.settings import Settings

INTERVAL_MINUTES = 1


def host_files(settings: Settings) -> list[HostFile]:
    script = render_template(
        "host/nexus-watchdog.sh.j2",
        stack=settings.stack,
        unit=WATCHDOG_UNIT,
        interval_minutes=INTERVAL_MINUTES,
        container=CONTAINER_NAME,
        container_script=CONTAINER_SCRIPT,
        state_dir=STATE_DIR,
        state_file=WATCHDOG_STATE,
        maintenance_flag=MAINTENANCE_FLAG,
    )
    service = render_template("systemd/nexus-registry-watchdog.service.j2", script=WATCHDOG_SCRIPT)
    timer = interval_timer(WATCHDOG_UNIT, "the watchdog", INTERVAL_MINUTES, accuracy_seconds=10)
    return [HostFile(WATCHDOG_SCRIPT, script, "0755"), *timer_unit_files(WATCHDOG_UNIT, service, timer)]
