"""The host's timers as systemd files: a oneshot service and the timer that starts it.

Every periodic job of ours (database backup pruning, retention, the health notifier, the
watchdog) is a ``<unit>.service`` plus ``<unit>.timer`` in ``host_layout.SYSTEMD_DIR``; the
bootstrap's ``enable_timer`` reloads systemd when they change and enables the timer.  The jobs
that run every few minutes share one timer template.
"""

from __future__ import annotations

from components.host_layout import SYSTEMD_DIR
from components.render.bundle import HostFile
from components.render.templating import render_template


def timer_unit_files(unit: str, service: str, timer: str) -> list[HostFile]:
    """``unit``'s service and timer files (texts already rendered)."""
    path = f"{SYSTEMD_DIR}/{unit}"
    return [HostFile(f"{path}.service", service), HostFile(f"{path}.timer", timer)]


def interval_timer(unit: str, purpose: str, interval_minutes: int, accuracy_seconds: int) -> str:
    """A timer that starts ``unit`` every ``interval_minutes`` from boot on."""
    return render_template("systemd/interval.timer.j2", unit=unit, purpose=purpose,
                           interval_minutes=interval_minutes, accuracy_seconds=accuracy_seconds)
