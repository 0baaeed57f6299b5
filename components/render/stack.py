"""Every file one stack puts on its host, as ``python -m components.render`` writes them.

The same functions the components call, gathered for review without Pulumi:
``render.nexus`` (host preparation, container, bootstrap and its operator tools),
``render.nexus_database`` (``database.engine: postgresql``) and ``render.nginx``
(site config, deploy and smoke-check scripts), plus each repository's REST payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.render import nexus, nexus_database, nginx
from components.render.bundle import HostFile
from components.settings import Settings


@dataclass(frozen=True)
class StackFiles:
    host_files: list[HostFile] = field(default_factory=list)
    api_payloads: dict[str, dict[str, Any]] = field(default_factory=dict)


def stack_files(settings: Settings) -> StackFiles:
    """Every file one stack puts on its host, secrets and certificates as placeholders."""
    return StackFiles(
        host_files=[*nexus.host_files(settings), *nexus_database.host_files(settings), *nginx.host_files(settings)],
        api_payloads=nexus.api_payloads(settings),
    )
