"""One idempotent step on the host: a bundle of files plus an entrypoint, over SSH.

Each step is a pulumi-command ``remote.Command`` whose stdin is a bundle script
(see ``components.render.bundle``).  Pulumi re-runs a step only when its stdin
changes, i.e. when a file it installs changes, so an nginx edit never re-runs
the Nexus steps.  Secret files travel inside stdin, never on the command line,
and the stdin input is secret in state whenever a secret file is part of it.

``make converge`` re-runs every step on demand: it sets ``NEXUS_REGISTRY_CONVERGE``
(``CONVERGE_ENV``) to a new value, which every step has as its ``triggers``; a
Command without an ``update`` command is replaced, i.e. runs ``create`` again, when
its triggers change.  Nothing else reads the value, so no cloud resource changes.
Without it (``make up``) the triggers are ``ignore_changes``: the value the last
converge stored stays, and a plain run re-runs nothing.  An environment variable,
not a stack setting: ``pulumi up --config`` would write it into the stack file,
and every later ``make up`` would re-run every step.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pulumi
from pulumi_command import remote

from components.render.bundle import HostFile, bundle_script

CONVERGE_ENV = "NEXUS_REGISTRY_CONVERGE"


def converge_run() -> str | None:
    """The value ``make converge`` set for this run (every host step runs again), else None."""
    return os.environ.get(CONVERGE_ENV, "").strip() or None


def become(user: str) -> str:
    """The shell that runs a step as root: plain bash for root, passwordless sudo otherwise."""
    return "bash -s" if user == "root" else "sudo -n bash -s"


def dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """A component's ``depends_on``, for its steps: Pulumi does not pass it on to children."""
    depends_on = opts.depends_on if opts else None
    if depends_on is None:
        return []
    return list(depends_on) if isinstance(depends_on, (list, tuple)) else [depends_on]


def host_step(
    name: str,
    *,
    connection: remote.ConnectionArgs,
    ssh_user: str,
    files: pulumi.Input[Sequence[HostFile]],
    entrypoint: str,
    secret_files: Sequence[tuple[str, pulumi.Input[str]]] = (),
    opts: pulumi.ResourceOptions,
) -> remote.Command:
    """Install ``files`` (and root-only ``secret_files``) on the host, then run ``entrypoint``.

    ``files`` may be an Output (content known only after another resource exists);
    the step then waits for it.
    """
    paths = [path for path, _ in secret_files]

    def bundle(values: list) -> str:
        plain, secrets = list(values[0]), values[1:]
        secret = [HostFile(path, value, "0600") for path, value in zip(paths, secrets, strict=True)]
        return bundle_script(plain + secret, entrypoint)

    stdin = pulumi.Output.all(files, *[value for _, value in secret_files]).apply(bundle)
    if secret_files:
        stdin = pulumi.Output.secret(stdin)
    run = converge_run()
    if run is None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["triggers"]))
    return remote.Command(
        name,
        connection=connection,
        create=become(ssh_user),
        stdin=stdin,
        triggers=[run] if run is not None else None,
        logging=remote.Logging.STDOUT_AND_STDERR,
        opts=opts,
    )
