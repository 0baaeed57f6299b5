"""The one Jinja2 environment and the host paths every rendered file shares.

Templates live in ``components/templates`` (``nginx/`` for nginx config,
``host/`` for shell scripts).  StrictUndefined makes a missing value an error
at render time, not an empty string on a host; block tags leave no stray
lines; Jinja comments use ``{## ##}`` because bash writes ``${#array[@]}``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

# Where our scripts and their state live on every host, Nexus and nginx alike.
BIN_DIR = "/opt/nexus-registry/bin"
STATE_DIR = "/var/lib/nexus-registry"

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


def render(template: str, **values: Any) -> str:
    """Render ``template`` (a path below components/templates) with ``values``."""
    return ENVIRONMENT.get_template(template).render(**values)
