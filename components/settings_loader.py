"""Loading the running stack's settings for ``__main__``: checked settings, or a clean stop.

A bad setting must show as one line per problem, not as "Program failed with
an unhandled exception" plus a traceback.  The Python language host
(``pulumi-language-python-exec``) reports a ``pulumi.RunError`` with
``pulumi.log.error(str(error))`` and no traceback, then exits 1; so
``load_settings`` raises an error that is both a ``SettingsError`` (tests and
callers read ``problems``) and a ``RunError`` whose text is exactly the
problem lines.
"""

from __future__ import annotations

import pulumi

from components import private_dns
from components import settings as stack_settings
from components.certificates import ssl_console


class InvalidStackConfiguration(stack_settings.SettingsError, pulumi.RunError):
    """Settings problems; the message is the problem lines alone, one per line."""

    def __str__(self) -> str:
        return "\n".join(self.problems)


def load_settings() -> stack_settings.Settings:
    """The running stack's settings; on bad config, stop with only the problem lines (no traceback).

    Settings that name something in the cloud are checked here too, before any resource:
    ``certificate: ssl-console`` reads the SSL console (``certificates.ssl_console.resolve``),
    the private path reads the account's Private DNS zones (``private_dns.resolve``).
    """
    try:
        settings = stack_settings.from_pulumi()
        if settings.certificate == "ssl-console":
            ssl_console.resolve(settings)
        if settings.private_dns_enabled:
            private_dns.resolve(settings)
        return settings
    except stack_settings.SettingsError as error:
        raise InvalidStackConfiguration(error.problems) from None
