"""The one Jinja2 environment every rendered file goes through (host paths: ``components.host_layout``).

Templates live in ``components/templates`` (``nginx/`` for nginx config,
``host/`` for shell scripts).  StrictUndefined makes a missing value an error
at render time, not an empty string on a host; block tags leave no stray
lines; Jinja comments use ``{## ##}`` because bash writes ``${#array[@]}``.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from components.host_layout import LIB_DIR
from components.render.bundle import HostFile

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

# Every jq program of the host scripts, shipped verbatim by each step whose scripts call jq.
JQ_LIBRARY_SOURCE = TEMPLATES / "host" / "lib" / "nexus-registry.jq"
JQ_LIBRARY = f"{LIB_DIR}/{JQ_LIBRARY_SOURCE.name}"

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # nginx config and shell, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    comment_start_string="{##",
    comment_end_string="##}",
)
ENVIRONMENT.filters["shq"] = lambda value: shlex.quote("" if value is None else str(value))


def _check_single_line(value: Any, where: str) -> None:
    """Refuse a control character anywhere in the values: a newline would end a comment or a quoted word."""
    if isinstance(value, str):
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
            raise ValueError(f"template value {where} holds a control character: {value!r}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_single_line(key, f"{where}[{key!r}]")
            _check_single_line(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            _check_single_line(item, f"{where}[{index}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _check_single_line(getattr(value, item.name), f"{where}.{item.name}")


def jq_library_file() -> HostFile:
    """The jq library the host scripts include (``jqr``); not a Jinja template, so it ships as it is."""
    return HostFile(JQ_LIBRARY, JQ_LIBRARY_SOURCE.read_text())


def render_template(template: str, **values: Any) -> str:
    """Render ``template`` (a path below components/templates) with ``values``.

    Settings are validated, but the templates do not rely on it: every value must be
    one line (checked here), and every value that reaches bash goes through ``shq``.
    """
    for name, value in values.items():
        _check_single_line(value, name)
    return ENVIRONMENT.get_template(template).render(**values)
