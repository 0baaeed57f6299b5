"""Pure rendering of everything the program puts on a host.

Components call these functions; ``python -m components.render`` calls the
same ones (through ``stack_files``) to write a stack's files into a directory
for review without Pulumi.  Each area keeps its own module:
``render.nexus`` (host preparation, container, bootstrap, repository payloads)
and ``render.nginx`` (site config, deploy and smoke-check scripts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.render.bundle import HostFile
from components.settings import Settings


@dataclass(frozen=True)
class StackFiles:
    host_files: list[HostFile] = field(default_factory=list)
    api_payloads: dict[str, dict[str, Any]] = field(default_factory=dict)


def stack_files(settings: Settings) -> StackFiles:
    """Every file one stack puts on its host, secrets and certificates as placeholders."""
    from components.render import nexus, nexus_database, nginx

    return StackFiles(
        host_files=[*nexus.host_files(settings), *nexus_database.host_files(settings), *nginx.host_files(settings)],
        api_payloads=nexus.api_payloads(settings),
    )
