"""NexusServer: Nexus 3 in Docker on the host, configured over SSH.

Three steps, each a ``remote.Command`` fed one bundle on stdin (see
``components.remote``), run in order:

1. ``<name>-prepare``: Docker Engine, registry mirror, data disk, data directory;
2. ``<name>-container``: the pinned ``sonatype/nexus3`` container, then the bounded
   wait until Nexus reports itself writable;
3. ``<name>-bootstrap``: admin password, EULA, realms, anonymous access and the
   repositories through the REST API on 127.0.0.1:8081.

Each step's stdin holds only that step's files (``components.render.nexus``), so a
step re-runs exactly when something it owns changes: ``nexus.version`` re-runs the
container step (and the steps after it), an nginx or certificate setting re-runs
none.  Secrets (admin password, Docker Hub token) ride only in the bootstrap
step's secret stdin as root-only files, never on a command line.

``ready`` is the last step: whatever needs a configured Nexus depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.remote import dependencies, host_step
from components.render import nexus as render
from components.settings import Settings


@dataclass(frozen=True)
class NexusServerArgs:
    settings: Settings
    connection: remote.ConnectionArgs
    ssh_user: str
    data_disk_id: pulumi.Input[str]
    """The CBS disk id (``disk-xxxxxxxx``) on cvm; the configured device path or "" on existing."""
    nexus_version: pulumi.Input[str] | None = None
    """``settings.nexus.version`` once checked (``components.upgrade.guarded_version``): the
    container step waits for it, so a refused downgrade never reaches the host."""


class NexusServer(pulumi.ComponentResource):
    """Docker, the data disk, the Nexus container and its configuration, on one host."""

    prepare: remote.Command
    container: remote.Command
    bootstrap: remote.Command
    ready: remote.Command

    def __init__(self, name: str, args: NexusServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:nexus:NexusServer", name, None, opts)
        settings = args.settings

        # The component's depends_on (e.g. the pre-upgrade snapshot) must hold for every step.
        waits_for = dependencies(opts)
        self.prepare = host_step(
            f"{name}-prepare",
            connection=args.connection,
            ssh_user=args.ssh_user,
            # The disk id is known only once the CBS disk exists.
            files=pulumi.Output.from_input(args.data_disk_id).apply(
                lambda disk: render.prepare_files(settings, disk or None)
            ),
            entrypoint=render.PREPARE_SCRIPT,
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits_for),
        )
        # Waiting on the checked version keeps a refused downgrade off the host.
        checked_version = args.nexus_version if args.nexus_version is not None else settings.nexus.version
        self.container = host_step(
            f"{name}-container",
            connection=args.connection,
            ssh_user=args.ssh_user,
            files=pulumi.Output.from_input(checked_version).apply(lambda _: render.container_files(settings)),
            entrypoint=render.CONTAINER_SCRIPT,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.prepare, *waits_for]),
        )
        self.bootstrap = host_step(
            f"{name}-bootstrap",
            connection=args.connection,
            ssh_user=args.ssh_user,
            files=render.bootstrap_files(settings),
            entrypoint=render.BOOTSTRAP_SCRIPT,
            secret_files=_secret_files(settings),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.container]),
        )
        self.ready = self.bootstrap
        self.register_outputs({})


def _secret_files(settings: Settings) -> Sequence[tuple[str, pulumi.Input[str]]]:
    files: list[tuple[str, pulumi.Input[str]]] = [
        (render.ADMIN_PASSWORD_PATH, pulumi.Output.secret(settings.admin_password.get_secret_value())),
    ]
    if settings.docker_hub_token is not None:
        files.append((render.DOCKER_HUB_TOKEN_PATH, pulumi.Output.secret(settings.docker_hub_token.get_secret_value())))
    return files
