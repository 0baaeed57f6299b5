"""The health notifier on every Nexus host (``alertWebhooks``), as host files built from settings.

Teams lose a registry to a full disk, to the Community Edition caps and to an upstream
that stopped answering, and hear of it when a pipeline fails.  Every server (cloud or
not, the lab too) gets:

- ``nexus-health-notify.sh``: the checks of ``nexus-status.sh`` (it runs that script and
  reads its WARNING lines), plus the container and the upstreams; it posts to each
  webhook on a transition (ok -> failing, failing -> ok) with a cooldown, in the body
  WeCom, Feishu, DingTalk or a generic JSON receiver expects;
- a systemd timer every ``INTERVAL_MINUTES``;
- the root-only file of webhook URLs (``host_layout.ALERT_WEBHOOKS_PATH``), shipped as a
  secret file of the bootstrap step, empty when there is none (so removing the last
  webhook removes it from the host too).
"""

from __future__ import annotations

from components.host_layout import (
    ALERT_WEBHOOKS_NAME,
    ALERT_WEBHOOKS_PATH,
    CONFIG_DIR,
    CONTAINER_NAME,
    HEALTH_SCRIPT,
    HEALTH_UNIT,
    SECRETS_DIR,
    STATE_DIR,
    STATUS_SCRIPT,
)
from components.render.bundle import HostFile
from components.render.systemd_units import interval_timer, timer_unit_files
from components.render.templating import render_template
from components.settings import Settings
from components.settings.fields import webhook_kind

INTERVAL_MINUTES = 5
# A check that fails again this soon after its last message is not re-sent (a flapping upstream).
COOLDOWN_MINUTES = 60
UPSTREAM_TIMEOUT_SECONDS = 10
STATE_NAME = "health/state.json"


def host_files(settings: Settings) -> list[HostFile]:
    script = render_template(
        "host/nexus-health-notify.sh.j2",
        stack=settings.stack,
        unit=HEALTH_UNIT,
        interval_minutes=INTERVAL_MINUTES,
        cooldown_minutes=COOLDOWN_MINUTES,
        upstream_timeout=UPSTREAM_TIMEOUT_SECONDS,
        secrets_dir=SECRETS_DIR,
        config_dir=CONFIG_DIR,
        state_dir=STATE_DIR,
        state_name=STATE_NAME,
        status_script=STATUS_SCRIPT,
        container=CONTAINER_NAME,
        webhooks_name=ALERT_WEBHOOKS_NAME,
    )
    service = render_template("systemd/nexus-registry-health.service.j2", script=HEALTH_SCRIPT)
    timer = interval_timer(HEALTH_UNIT, "health checks", INTERVAL_MINUTES, accuracy_seconds=30)
    return [HostFile(HEALTH_SCRIPT, script, "0755"), *timer_unit_files(HEALTH_UNIT, service, timer)]


def webhooks_file(settings: Settings) -> tuple[str, str]:
    """(path, content) of the secret file: one ``<kind> <url>`` a line; the caller wraps it in Output.secret."""
    lines = []
    for url in settings.alert_webhooks:
        value = url.get_secret_value()
        lines.append(f"{webhook_kind(value)} {value}\n")
    return ALERT_WEBHOOKS_PATH, "".join(lines)
