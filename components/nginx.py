"""``NginxProxy``: the HTTPS front door of the registry and the web UI, deployed over SSH.

Two steps on the host, each one ``components.remote.host_step``:

- ``<name>-deploy`` ships ``render.nginx.deploy_files`` plus each hostname's
  certificate chain and key (secret files: they travel inside the secret
  stdin, never on a command line, and land root-only).  Every file nginx
  reads lands in a staging directory, not live: installing nginx starts it,
  and on Debian/Ubuntu a live site config whose includes do not exist yet
  fails the package installation (pitfall 14).  The deploy script then
  installs nginx when missing, activates the staged files, disables the
  distribution's default server, runs ``nginx -t`` and reloads; on any
  failure it puts the previous files back and fails ``pulumi up`` (with
  nginx's own message when ``nginx -t`` refused).
- ``<name>-smoke`` runs the smoke check (curl --resolve to 127.0.0.1 with
  both names) after the deploy step.  Its stdin carries a digest of the deploy
  step's stdin, so it runs again exactly when the deploy step does.

A step re-runs only when its stdin changes: a rendered file or a certificate.
Nexus readiness is the caller's business: pass ``depends_on`` in ``opts`` (the
Nexus step that waits for ``/service/rest/v1/status/writable``); both steps
wait for it, so the smoke check never races a starting Nexus and the package
installation never races the Nexus step's own apt/dnf run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from components.host_layout import NGINX_DEPLOY_SCRIPT, NGINX_DEPLOYED_DIGEST, NGINX_SMOKE_SCRIPT
from components.pem import PemPair
from components.remote import dependencies, host_step
from components.render import nginx
from components.render.bundle import HostFile
from components.settings import Settings

TYPE = "nexus-registry:nginx:NginxProxy"


@dataclass(frozen=True)
class NginxProxyArgs:
    settings: Settings
    """The whole stack's settings: the site config and scripts are rendered from them (``render.nginx``)."""
    connection: remote.ConnectionArgs
    ssh_user: str
    web_certificate: PemPair
    registry_certificate: PemPair  # may be the same PemPair as web_certificate (one SAN certificate)


class NginxProxy(pulumi.ComponentResource):
    """nginx with our site config and certificates on the host, checked end to end after each change."""

    deploy: remote.Command
    smoke_check: remote.Command

    def __init__(self, name: str, args: NginxProxyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        waits_for = dependencies(opts)

        staged = nginx.staged_cert_files(settings)
        pairs = {settings.registry_fqdn: args.registry_certificate, settings.web_fqdn: args.web_certificate}
        secret_files: list[tuple[str, pulumi.Input[str]]] = []
        for fqdn, pair in pairs.items():
            crt, key = staged[fqdn]
            secret_files.append((crt, pair.cert_pem))
            secret_files.append((key, pulumi.Output.secret(pair.key_pem)))

        self.deploy = host_step(
            f"{name}-deploy",
            connection=args.connection,
            ssh_user=args.ssh_user,
            files=nginx.deploy_files(settings),
            entrypoint=NGINX_DEPLOY_SCRIPT,
            secret_files=secret_files,
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits_for),
        )

        # The smoke check re-runs whenever the deploy does: its one file is a digest of the
        # deploy bundle (which holds keys, so only the digest goes to the host).
        deployed = self.deploy.stdin.apply(
            lambda text: [HostFile(NGINX_DEPLOYED_DIGEST, hashlib.sha256((text or "").encode()).hexdigest() + "\n")]
        )
        self.smoke_check = host_step(
            f"{name}-smoke",
            connection=args.connection,
            ssh_user=args.ssh_user,
            files=deployed,
            entrypoint=NGINX_SMOKE_SCRIPT,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deploy, *waits_for]),
        )

        self.register_outputs({
            "deployOutput": self.deploy.stdout,
            "smokeCheckOutput": self.smoke_check.stdout,
        })
