"""Decisions that an earlier ``pulumi up`` made and a later one must respect.

The values deployed last time are this stack's own outputs, read through one
StackReference to itself per run (``own_stack_reference``, named
``<stack>-deployed``, the name the version guard has always used, so existing
stacks keep its URN).  A first update reads nothing.

Some settings can only move one way on a live stack: a data disk grows but
never shrinks (CBS refuses it, and the filesystem on it could not follow), and
a Nexus that keeps its database in PostgreSQL cannot go back to an empty H2 (nor
move from H2 to PostgreSQL without a migration); the Nexus version only goes up
(``components.upgrade``).  A refused change fails the run before the resource
it concerns is touched.

Other choices are made once by a lookup and must then stay made
(``previous_output``): the availability zone and instance type
(``components.host``, ``cvmPlacement``) and the Tencent certificate generation
in use (``components.certificates.tencent``, ``tencentCertificates``).
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.settings import NAMESPACE, Settings

DATABASE_OUTPUT = "nexusDatabase"
DATA_DISK_OUTPUT = "dataDiskGb"
# The Nexus version deployed last (checked by components.upgrade): present on every stack that has deployed once.
VERSION_OUTPUT = "nexusVersion"

MIGRATION_RUNBOOK = "README: Moving to PostgreSQL"


_ATTRIBUTE = "_nexus_registry_deployed_reference"


def own_stack_reference(opts: pulumi.ResourceOptions | None = None) -> pulumi.StackReference:
    """The StackReference to this very stack (its outputs are those of the last update), one per run."""
    root = pulumi.runtime.get_root_resource()
    existing = getattr(root, _ATTRIBUTE, None) if root is not None else None
    if existing is not None:
        return existing
    organization = pulumi.get_organization()
    own_stack = (
        f"{organization}/{pulumi.get_project()}/{pulumi.get_stack()}" if organization else pulumi.get_stack()
    )
    reference = pulumi.StackReference(f"{pulumi.get_stack()}-deployed", stack_name=own_stack, opts=opts)
    if root is not None:
        setattr(root, _ATTRIBUTE, reference)
    return reference


def previous_output(name: str) -> pulumi.Output[Any]:
    """The value this stack exported as ``name`` in its last successful update, or ``None``."""
    return own_stack_reference().get_output(name)


def check_database_change(deployed_engine: str | None, deployed_version: str | None, settings: Settings) -> str:
    """The engine to deploy, or a one-line error when the change would lose or strand data."""
    desired = settings.database.engine
    # A stack that deployed before the database setting existed ran H2.
    previous = deployed_engine or ("h2" if deployed_version else None)
    if previous is None or previous == desired:
        return desired
    if previous == "h2" and desired == "postgresql":
        if settings.database.migrate_from_h2:
            return desired
        raise ValueError(
            f"{NAMESPACE}:database.engine: this stack's Nexus keeps its data in H2; switching to postgresql "
            "would start an empty Nexus. Migrate it: set database.migrateFromH2: true, database.migratorVersion and "
            f"database.migratorSha256 for the run that switches ({MIGRATION_RUNBOOK})"
        )
    raise ValueError(
        f"{NAMESPACE}:database.engine: this stack's Nexus keeps its data in {previous}; switching to "
        f"{desired} would start an empty Nexus, and there is no supported migration back. Keep {previous!r}"
    )


def check_data_disk_size(deployed_gb: int | str | None, settings: Settings) -> int:
    """``server.dataDiskGb``, refused when lower than the size already deployed."""
    server = settings.server
    assert server.is_cvm
    if deployed_gb not in (None, "") and server.data_disk_gb < int(deployed_gb):
        raise ValueError(
            f"{NAMESPACE}:server.dataDiskGb: {server.data_disk_gb} is smaller than the deployed {int(deployed_gb)} GB; "
            "a CBS disk and its filesystem only grow. Keep the size, or move the data to a new stack"
        )
    return server.data_disk_gb


def guarded_database_engine(settings: Settings, reference: pulumi.StackReference) -> pulumi.Output[str]:
    return pulumi.Output.all(
        reference.get_output(DATABASE_OUTPUT), reference.get_output(VERSION_OUTPUT)
    ).apply(lambda deployed: check_database_change(deployed[0], deployed[1], settings))


def guarded_data_disk_gb(settings: Settings, reference: pulumi.StackReference) -> pulumi.Output[int]:
    return reference.get_output(DATA_DISK_OUTPUT).apply(lambda deployed: check_data_disk_size(deployed, settings))
