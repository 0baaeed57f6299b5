"""The watchdog's rendering (issue 21, item 5): a script, a timer every minute and its service, shipped
and enabled by the bootstrap step like the other timers; the container step and the status script name
the same maintenance flag and state file.  Its behaviour: tests/system/test_nexus_watchdog.py and, on a
fresh host, tests/system/test_host_faults_container.py."""

from __future__ import annotations

from components.host_layout import (
    CONTAINER_SCRIPT,
    MAINTENANCE_FLAG,
    STATUS_SCRIPT,
    SYSTEMD_DIR,
    WATCHDOG_SCRIPT,
    WATCHDOG_STATE,
    WATCHDOG_UNIT,
)
from components.render import nexus as render
from components.render import nexus_watchdog
from tests.support.settings import make_settings


def bootstrap_files(stack: str = "dev") -> dict[str, str]:
    return {item.path: item.content for item in render.bootstrap_files(make_settings(stack))}


def test_the_bootstrap_step_ships_the_watchdog_script_and_its_units():
    files = bootstrap_files()
    modes = {item.path: item.mode for item in render.bootstrap_files(make_settings("dev"))}
    assert modes[WATCHDOG_SCRIPT] == "0755"
    service = files[f"{SYSTEMD_DIR}/{WATCHDOG_UNIT}.service"]
    timer = files[f"{SYSTEMD_DIR}/{WATCHDOG_UNIT}.timer"]
    assert "Type=oneshot" in service and f"ExecStart={WATCHDOG_SCRIPT}\n" in service
    assert "After=docker.service" in service
    assert nexus_watchdog.INTERVAL_MINUTES == 1
    assert "OnBootSec=1min" in timer and "OnUnitActiveSec=1min" in timer and "WantedBy=timers.target" in timer


def test_the_bootstrap_enables_the_watchdog_timer_like_the_others():
    script = bootstrap_files()["/opt/nexus-registry/bin/nexus-bootstrap.sh"]
    assert f"WATCHDOG_UNIT={WATCHDOG_UNIT}\n" in script
    assert 'enable_timer "$WATCHDOG_UNIT" "watchdog"' in script


def test_the_watchdog_names_the_container_script_the_flag_and_its_state_file():
    script = bootstrap_files()[WATCHDOG_SCRIPT]
    assert f"NEXUS_CONTAINER_SCRIPT=${{NEXUS_CONTAINER_SCRIPT-{CONTAINER_SCRIPT}}}" in script
    assert f"MAINTENANCE_FLAG=${{MAINTENANCE_FLAG-{MAINTENANCE_FLAG}}}" in script
    assert f"WATCHDOG_STATE=${{WATCHDOG_STATE-{WATCHDOG_STATE}}}" in script
    status = bootstrap_files()[STATUS_SCRIPT]
    assert f"WATCHDOG_STATE=${{WATCHDOG_STATE-{WATCHDOG_STATE}}}" in status
    assert f"MAINTENANCE_FLAG=${{MAINTENANCE_FLAG-{MAINTENANCE_FLAG}}}" in status


def test_the_container_step_holds_the_same_flag_and_warns_at_90_percent():
    (script,) = render.container_files(make_settings("dev"))
    assert f"MAINTENANCE_FLAG=${{MAINTENANCE_FLAG-{MAINTENANCE_FLAG}}}" in script.content
    assert render.DISK_WARN_PERCENT == 90 and "DISK_WARN_PERCENT=90\n" in script.content
    # The container step's output stays on the host (it works detached).
    assert "NEXUS_CONTAINER_LOG_DIR=${NEXUS_CONTAINER_LOG_DIR-$NEXUS_STATE_DIR/container}" in script.content


def test_a_change_of_the_watchdog_reruns_the_bootstrap_not_the_container_step():
    settings = make_settings("dev")
    container = {item.path for item in render.container_files(settings)}
    assert WATCHDOG_SCRIPT not in container and WATCHDOG_SCRIPT in bootstrap_files()
