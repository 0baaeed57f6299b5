"""Messages in the user's language: ``_("...")`` through the standard library's gettext.

The catalogue is ``locale/<language>/LC_MESSAGES/nexus-registry.po`` (today ``zh_CN``), extracted from the
code with Babel (``make messages``: ``babel.cfg`` says which files) and compiled into the ``.mo`` beside it,
which is committed: the program, the stack check and ``make up`` read it with ``gettext`` alone, so nothing
needs Babel at run time (tests/unit/test_messages_zh.py checks the ``.mo`` matches the ``.po`` and the
``.po`` matches the code).

The language is chosen as GNU gettext chooses it: the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is
set (``zh_CN.UTF-8``, ``zh_CN.GB18030``, ``zh_CN``: Chinese), with ``LANGUAGE`` (a ``:``-list) before it
unless that locale is ``C``/``POSIX``.  It is read on every call, never at import, so a message is in the
language of the environment it is printed in; anything without a translation stays English.

Only the standard library is imported here: ``make up`` asks its questions through this module
(``components.shell_messages``) before the project's requirements are installed.
"""

from __future__ import annotations

import functools
import gettext
import os
from pathlib import Path

DOMAIN = "nexus-registry"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
# The variables gettext reads for the messages' language, strongest first.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def languages(environ: os._Environ[str] | dict[str, str] | None = None) -> tuple[str, ...]:
    """The languages to try, best first (empty: English), from ``environ`` (default: this process's)."""
    environ = os.environ if environ is None else environ
    locale_name = next((environ[name] for name in LOCALE_VARIABLES if environ.get(name)), "")
    if not locale_name or locale_name in ("C", "POSIX") or locale_name.startswith("C."):
        return ()
    preferred = [name for name in environ.get("LANGUAGE", "").split(":") if name]
    return (*preferred, locale_name)


@functools.lru_cache(maxsize=8)
def _translations(wanted: tuple[str, ...]) -> gettext.NullTranslations:
    if not wanted:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=list(wanted), fallback=True)


def _(message: str) -> str:
    """``message`` in the environment's language (itself when there is no translation)."""
    return _translations(languages()).gettext(message)


def N_(message: str) -> str:  # noqa: N802 - gettext's own name, which Babel's extraction knows
    """``message`` itself, marked for the catalogue: a table built at import is translated with ``_()`` where
    it is printed (the language is the environment's when printing, not when importing)."""
    return message
