"""What ``__main__`` needs before it wires anything: the stack's settings, or a clean stop.

A bad setting must show as one line per problem, not as "Program failed with
an unhandled exception" plus a traceback.  ``load_settings`` logs each problem
with ``pulumi.log.error`` and raises an error that is also a ``pulumi.RunError``,
which the Python language host reports without a traceback and with a non-zero
exit.
"""

from __future__ import annotations

import pulumi

from components import settings as stack_settings


class InvalidStackConfiguration(stack_settings.SettingsError, pulumi.RunError):
    """Settings problems, already logged one per line."""

    def __str__(self) -> str:
        count = len(self.problems)
        return f"the stack configuration has {count} problem{'s' if count != 1 else ''}, listed above"


def load_settings() -> stack_settings.Settings:
    """The running stack's settings; on bad config, log each problem line and stop without a traceback."""
    try:
        return stack_settings.from_pulumi()
    except stack_settings.SettingsError as error:
        for line in error.problems:
            pulumi.log.error(line)
        raise InvalidStackConfiguration(error.problems) from None
