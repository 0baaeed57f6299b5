"""One idempotent step on the host: a bundle of files plus an entrypoint, over SSH.

Each step is a pulumi-command ``remote.Command`` whose stdin is a bundle script
(see ``components.render.bundle``).  Pulumi re-runs a step only when its stdin
changes, i.e. when a file it installs changes, so an nginx edit never re-runs
the Nexus steps.  Secret files travel inside stdin, never on the command line,
and the stdin input is secret in state whenever a secret file is part of it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_command import remote

from components.render.bundle import HostFile, bundle_script


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
    return remote.Command(
        name,
        connection=connection,
        create=become(ssh_user),
        stdin=stdin,
        logging=remote.Logging.STDOUT_AND_STDERR,
        opts=opts,
    )
