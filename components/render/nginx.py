"""Pure rendering of the nginx front door: site config, version snippets, deploy and smoke-check scripts.

``NginxProxy`` ships exactly what ``host_files`` returns, and ``python -m
components.render`` writes the same list for review, so what a reviewer reads
is what lands on the host.  Certificates are not part of it: they exist only
after deploy and travel as secret files of the deploy step, at ``cert_paths``.

Tests render the same templates with other ports, certificate paths or
directories (``render_site_config``), never a hand-written copy.

HTTP/2 and the handshake-refusing default server need different directives
across nginx 1.18 ... current (``listen ... http2`` before 1.25.1, ``http2 on``
after; ``ssl_reject_handshake`` from 1.19.4), and the host's nginx version is
only known on the host.  So the site config includes two small snippets from
``<snippet_dir>/active/``, every variant is rendered here, and the deploy
script points ``active`` at the one that fits ``nginx -v``.

Nothing nginx reads is written live by the deploy step's bundle (pitfall 14:
installing nginx starts it, and Debian's postinst fails the install when
``nginx -t`` fails, e.g. on an include of a snippet that is not linked yet).
The bundle puts the site config, the snippets and the certificates under
``NGINX_STAGE_DIR`` (same paths below it, ``deploy_files``/``staged_cert_files``);
the deploy script installs nginx first, then activates the staged files,
tests them with ``nginx -t`` and puts the previous ones back on any failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.host_layout import (
    DOCKER_GROUP_PORT,
    DOCKER_HOSTED_PORT,
    DOCKER_PROXY_PORT,
    HTTP_PORT,
    HTTPS_PORT,
    NGINX_CERT_DIR,
    NGINX_DEPLOY_SCRIPT,
    NGINX_DROP_IN,
    NGINX_LOG_DIR,
    NGINX_RECOVER_UNIT,
    NGINX_SITE_CONF,
    NGINX_SMOKE_SCRIPT,
    NGINX_SNIPPET_DIR,
    NGINX_STAGE_DIR,
    NGINX_STATE_DIR,
    SYSTEMD_DIR,
    WEB_PORT,
)
from components.render.bundle import HostFile
from components.render.nexus_repositories import docker_index_type
from components.render.templating import render_template
from components.settings import Settings

# Mozilla SSL configuration generator, "intermediate" profile (guidelines 5.7).
MOZILLA_INTERMEDIATE_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
)


@dataclass(frozen=True)
class Ports:
    """Where nginx listens and where the Nexus connectors are (all upstreams on 127.0.0.1)."""

    http: int = HTTP_PORT
    https: int = HTTPS_PORT
    web: int = WEB_PORT
    hosted: int = DOCKER_HOSTED_PORT
    group: int = DOCKER_GROUP_PORT
    proxy: int = DOCKER_PROXY_PORT
    mirror: int | None = None  # None: the stack's registryMirrorPort


@dataclass(frozen=True)
class Budget:
    """One nginx ``limit_req`` zone that lets at most ``total`` requests per address through in
    any ``window`` (bursts included): ``burst + 1`` at once, then ``rate`` refills the bucket."""

    total: int
    window: str  # "minute" or "hour"
    rate: str  # nginx rate, "30r/m"
    burst: int


def per_minute_budget(total: int) -> Budget:
    """Half of ``total`` at once, the other half spread over the minute: burst + 1 + rate = total."""
    burst = total // 2 - 1
    return Budget(total, "minute", f"{total - burst - 1}r/m", burst)


def per_hour_budget(total: int) -> Budget:
    """A tenth of ``total`` at once, the rest spread over the hour: burst + 1 + 60 * rate <= total."""
    burst = total // 10
    return Budget(total, "hour", f"{(total - burst - 1) // 60}r/m", burst)


@dataclass(frozen=True)
class Budgets:
    """Per client address, from ``limits.*`` (README: Who can read and write)."""

    passwords: Budget  # requests with Basic credentials and UI logins, every host
    requests: Budget  # every request (Nexus CE caps requests a day, failed ones included)
    manifests: Budget  # manifest requests, which create components (CE caps their number)
    connections: int  # requests in progress at once


def budgets(settings: Settings) -> Budgets:
    limits = settings.limits
    return Budgets(
        passwords=per_minute_budget(limits.password_checks_per_minute),
        requests=per_hour_budget(limits.requests_per_hour),
        manifests=per_hour_budget(limits.manifests_per_hour),
        connections=limits.connections_per_address,
    )


@dataclass(frozen=True)
class ClientTimeouts:
    """Between two reads or writes of a client, not for a whole transfer.  A slow client holds
    a connection slot, so these stay short; Nexus's own slowness is covered by proxy_*_timeout."""

    header: str = "10s"
    body: str = "30s"
    send: str = "60s"
    keepalive: str = "30s"


CLIENT_TIMEOUTS = ClientTimeouts()

# nginx.conf's events/main settings, set by the deploy script (the distribution's values are 768
# or 1024 connections per worker and the process's default open-file limit).  One address may
# hold as many connections as it likes while their headers arrive (limit_conn counts requests,
# not handshakes), for client_header_timeout each; 4096 per worker keeps well over a thousand
# of those from starving everyone else, in a few hundred MB at most of a >= 8 GB host.  Each
# proxied request uses two connections (client, upstream) and two descriptors.
WORKER_CONNECTIONS = 4096
WORKER_OPEN_FILES = 2 * WORKER_CONNECTIONS

# The request targets of the Docker Registry HTTP API V2 (distribution spec, "Pulling/Pushing";
# grammar of distribution/reference/regexp.go and the OCI image spec's descriptor.md):
# repository name components, tags, digests, and the opaque upload ids Nexus hands out.
# None can be empty, start with "." or hold "%", ";" or a backslash (names are "/"-joined).
@dataclass(frozen=True)
class ApiGrammar:
    name: str = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    digest: str = r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"
    reference: str = r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)"
    upload: str = r"[A-Za-z0-9_-][A-Za-z0-9_.=-]*"


API_GRAMMAR = ApiGrammar()

# Every header Jetty's ForwardedRequestCustomizer reads besides the two nginx sets
# (X-Forwarded-Proto, X-Forwarded-For).  Nexus adds that customizer to its connectors
# (nexus-public assemblies/nexus-base-overlay/src/main/resources/overlay/etc/jetty/jetty.xml,
# lines 81-84) and ships Jetty 9.4.56 (buildsupport/jetty/pom.xml, line 31), whose defaults are
# Forwarded, X-Forwarded-Host/-Server/-Proto/-For/-Port, X-Proxied-Https, Proxy-auth-cert and
# Proxy-ssl-id (jetty-server ForwardedRequestCustomizer; the same list in Jetty 10-12).
# X-Forwarded-Prefix is not Jetty's but Spring's (ForwardedHeaderFilter): dropped as well.
CLEARED_FORWARDING_HEADERS = (
    "Forwarded",
    "X-Forwarded-Host",
    "X-Forwarded-Port",
    "X-Forwarded-Server",
    "X-Forwarded-Prefix",
    "X-Proxied-Https",
    "Proxy-auth-cert",
    "Proxy-ssl-id",
)


@dataclass(frozen=True)
class CertPaths:
    crt: str
    key: str


@dataclass(frozen=True)
class Variant:
    """How one family of nginx versions spells HTTP/2 and the refusing default server."""

    name: str
    http2: str  # "directive" (http2 on), "listen" (listen ... http2) or "none"
    reject_handshake: bool
    description: str


VARIANTS: tuple[Variant, ...] = (
    Variant("h2-directive", "directive", True, "nginx >= 1.25.1 with HTTP/2"),
    Variant("h2-listen", "listen", True, "nginx 1.19.4 - 1.25.0 with HTTP/2"),
    Variant("h2-listen-noreject", "listen", False, "nginx 1.18 - 1.19.3 with HTTP/2"),
    Variant("h1", "none", True, "nginx >= 1.19.4 without the HTTP/2 module"),
    Variant("h1-noreject", "none", False, "nginx 1.18 - 1.19.3 without the HTTP/2 module"),
)


def cert_paths_for(fqdn: str, cert_dir: str = NGINX_CERT_DIR) -> CertPaths:
    """Where the certificate chain and key of one hostname live on the host."""
    return CertPaths(f"{cert_dir}/{fqdn}.crt", f"{cert_dir}/{fqdn}.key")


def default_cert_paths(settings: Settings) -> dict[str, CertPaths]:
    return {fqdn: cert_paths_for(fqdn) for fqdn in (settings.registry_fqdn, settings.web_fqdn)}


@dataclass(frozen=True)
class Layout:
    """Every host path the rendered files refer to; tests move them into a sandbox."""

    ports: Ports = field(default_factory=Ports)
    cert_paths: dict[str, CertPaths] | None = None  # None: /etc/pki/nginx/<fqdn>.crt|.key
    snippet_dir: str = NGINX_SNIPPET_DIR
    log_dir: str = NGINX_LOG_DIR

    def certs(self, settings: Settings) -> dict[str, CertPaths]:
        return self.cert_paths if self.cert_paths is not None else default_cert_paths(settings)


def log_files(settings: Settings, log_dir: str = NGINX_LOG_DIR) -> list[str]:
    """Log files the site config writes (created by the deploy script)."""
    names = [
        "nexus-registry-default.access.log",
        f"{settings.registry_fqdn}.access.log",
        f"{settings.registry_fqdn}.error.log",
        f"{settings.web_fqdn}.access.log",
        f"{settings.web_fqdn}.error.log",
    ]
    if settings.mirror_enabled:
        names += [f"{settings.registry_fqdn}-mirror.access.log", f"{settings.registry_fqdn}-mirror.error.log"]
    return [f"{log_dir}/{name}" for name in names]


def render_site_config(
    settings: Settings,
    ports: Ports | None = None,
    cert_paths: dict[str, CertPaths] | None = None,
    snippet_dir: str = NGINX_SNIPPET_DIR,
    log_dir: str = NGINX_LOG_DIR,
) -> str:
    """The site config (conf.d) for ``settings``; ports and paths overridable for tests."""
    layout = Layout(ports or Ports(), cert_paths, snippet_dir, log_dir)
    return render_template(
        "nginx/nexus-registry.conf.j2",
        stack=settings.stack,
        registry_fqdn=settings.registry_fqdn,
        web_fqdn=settings.web_fqdn,
        web_max_upload_size=settings.web_max_upload_size,
        ports=layout.ports,
        mirror_port=mirror_port(settings, layout.ports),
        budgets=budgets(settings),
        client_timeouts=CLIENT_TIMEOUTS,
        api=API_GRAMMAR,
        cleared_headers=CLEARED_FORWARDING_HEADERS,
        # An allow-list also admits the stack's VPC on the private path (README: The private path).
        web_allowed_cidrs=settings.with_private_network(settings.web_allowed_cidrs),
        registry_allowed_cidrs=settings.with_private_network(settings.registry_allowed_cidrs),
        mirror_allowed_cidrs=settings.with_private_network(settings.registry_mirror_allowed_cidrs),
        metrics_allowed_cidrs=settings.metrics_allowed_cidrs,
        https_suffix="" if layout.ports.https == HTTPS_PORT else f":{layout.ports.https}",
        certs=layout.certs(settings),
        snippet_dir=layout.snippet_dir,
        log_dir=layout.log_dir,
        mozilla_ciphers=MOZILLA_INTERMEDIATE_CIPHERS,
        short_name_fallback=short_name_fallback(settings),
        # "warn" makes nginx report a request body spooled to a temp file.
        error_log_level="warn",
    )


def short_name_fallback(settings: Settings) -> bool:
    """Whether a one-segment image name is retried as ``library/<name>``: with an upstream that is not
    Docker Hub (index type REGISTRY), e.g. Tencent's mirror on mainland stacks (README: Short image names)."""
    return docker_index_type(settings.nexus.docker_hub_remote) == "REGISTRY"


def mirror_port(settings: Settings, ports: Ports | None = None) -> int | None:
    """The anonymous mirror's port, or None when the stack has no mirror (anonymous pull off)."""
    if not settings.mirror_enabled:
        return None
    if ports is not None and ports.mirror is not None:
        return ports.mirror
    return settings.registry_mirror_port


def render_snippets(
    settings: Settings,
    variant: Variant,
    ports: Ports | None = None,
    cert_paths: dict[str, CertPaths] | None = None,
) -> dict[str, str]:
    """The version-dependent snippets of one variant (the mirror's default server's only with
    a mirror): file name -> text."""
    layout = Layout(ports or Ports(), cert_paths)
    context = {
        "variant": variant,
        "ports": layout.ports,
        "mirror_port": mirror_port(settings, layout.ports),
        "fallback_cert": layout.certs(settings)[settings.registry_fqdn],
    }
    names = ["https-default.conf", "https-vhost.conf"]
    if context["mirror_port"]:
        names.append("mirror-default.conf")
    return {name: render_template(f"nginx/{name}.j2", **context) for name in names}


def cert_files(settings: Settings) -> list[str]:
    """Live certificate and key paths, each key after its certificate."""
    return [path for pair in default_cert_paths(settings).values() for path in (pair.crt, pair.key)]


def managed_files(settings: Settings) -> list[str]:
    """Every live file nginx reads from us: site config, all snippet variants, certificates and keys."""
    return [NGINX_SITE_CONF, *(f.path for f in snippet_files(settings)), *cert_files(settings)]


def staged_path(live_path: str) -> str:
    """Where the deploy step's bundle puts a file nginx reads (activated by the deploy script)."""
    return f"{NGINX_STAGE_DIR}{live_path}"


def render_deploy_script(settings: Settings) -> str:
    return render_template(
        "host/deploy-nginx.sh.j2",
        stack=settings.stack,
        snippet_dir=NGINX_SNIPPET_DIR,
        state_dir=NGINX_STATE_DIR,
        stage_dir=NGINX_STAGE_DIR,
        cert_dir=NGINX_CERT_DIR,
        managed_files=managed_files(settings),
        boot_units=[path for path, _ in boot_recovery_units()],
        log_files=log_files(settings),
        worker_connections=WORKER_CONNECTIONS,
        worker_open_files=WORKER_OPEN_FILES,
    )


def render_smoke_check(
    settings: Settings, https_port: int = HTTPS_PORT, attempts: int = 30, delay_seconds: int = 4
) -> str:
    certs = default_cert_paths(settings)
    return render_template(
        "host/smoke-check-nginx.sh.j2",
        stack=settings.stack,
        registry_fqdn=settings.registry_fqdn,
        web_fqdn=settings.web_fqdn,
        registry_cert=certs[settings.registry_fqdn].crt,
        web_cert=certs[settings.web_fqdn].crt,
        https_port=https_port,
        attempts=attempts,
        delay_seconds=delay_seconds,
    )


def snippet_files(settings: Settings) -> list[HostFile]:
    return [
        HostFile(f"{NGINX_SNIPPET_DIR}/{variant.name}/{name}", text)
        for variant in VARIANTS
        for name, text in render_snippets(settings, variant).items()
    ]


def boot_recovery_units() -> list[tuple[str, str]]:
    """(path, text) of the unit that runs ``deploy-nginx.sh --recover`` and of nginx.service's drop-in that
    wants it before every start: a deploy killed, then a reboot before the step ran again, must not boot
    nginx on files it never accepted (the deploy script reloads systemd when they change)."""
    return [
        (f"{SYSTEMD_DIR}/{NGINX_RECOVER_UNIT}.service",
         render_template("systemd/nexus-registry-nginx-recover.service.j2", deploy_script=NGINX_DEPLOY_SCRIPT)),
        (NGINX_DROP_IN, render_template("systemd/nginx-drop-in.conf.j2", unit=NGINX_RECOVER_UNIT)),
    ]


def host_files(settings: Settings) -> list[HostFile]:
    """Every nginx file of the stack where it is live once deployed (certificates excluded)."""
    return [
        HostFile(NGINX_SITE_CONF, render_site_config(settings)),
        *snippet_files(settings),
        HostFile(NGINX_DEPLOY_SCRIPT, render_deploy_script(settings), "0755"),
        HostFile(NGINX_SMOKE_SCRIPT, render_smoke_check(settings), "0755"),
        *(HostFile(path, text) for path, text in boot_recovery_units()),
    ]


def deploy_files(settings: Settings) -> list[HostFile]:
    """What the deploy step's bundle writes: ``host_files``, nginx's own files staged, scripts live."""
    read_by_nginx = set(managed_files(settings))
    return [
        HostFile(staged_path(f.path), f.content, f.mode) if f.path in read_by_nginx else f
        for f in host_files(settings)
    ]


def staged_cert_files(settings: Settings) -> dict[str, tuple[str, str]]:
    """fqdn -> (staged certificate path, staged key path): the deploy step's secret files."""
    return {
        fqdn: (staged_path(pair.crt), staged_path(pair.key))
        for fqdn, pair in default_cert_paths(settings).items()
    }
