"""The manifest of a stack's host: every path the program puts there, rendered or not.

``python -m components.render`` writes the rendered files themselves; a
reviewer also needs what cannot be rendered without a deploy (secret files,
certificates, the fstab line, the merged ``daemon.json``, the nginx ``active``
link, the scripts' own state), its mode and owner, and whether it is secret.
``MANIFEST.txt`` in the output directory lists all of it, a placeholder in place
of every value that exists only on the host.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.host_layout import (
    ADMIN_PASSWORD_APPLIED_PATH,
    ADMIN_PASSWORD_PATH,
    ALERT_WEBHOOKS_PATH,
    DATA_DIR,
    DOCKER_DAEMON_JSON,
    DOCKER_HUB_TOKEN_PATH,
    FSTAB,
    MOUNT_POINT,
    NEXUS_UID,
    NGINX_DEPLOYED_DIGEST,
    NGINX_SNIPPET_DIR,
    NGINX_STAGE_DIR,
    PRE_UPGRADE_BACKUP_NOTE,
)
from components.render import nexus, nginx
from components.render.bundle import HostFile
from components.settings import Settings

ROOT_OWNER = "root:root"
MANIFEST_NAME = "MANIFEST.txt"


@dataclass(frozen=True)
class ManifestEntry:
    """One host path: ``content`` is ``rendered`` (written beside the manifest) or a placeholder."""

    path: str
    mode: str
    owner: str
    secret: bool
    content: str

    @property
    def rendered(self) -> bool:
        return self.content == "rendered"


def host_manifest(settings: Settings, rendered: list[HostFile]) -> list[ManifestEntry]:
    """``rendered`` plus everything only a deploy produces, sorted by host path."""
    entries = [ManifestEntry(f.path, f.mode, ROOT_OWNER, False, "rendered") for f in rendered]
    entries += unrendered_entries(settings)
    return sorted(entries, key=lambda entry: entry.path)


def unrendered_entries(settings: Settings) -> list[ManifestEntry]:
    """What lands on the host but cannot be written by ``render``: secrets, certificates, host state."""
    entries = [
        ManifestEntry(ADMIN_PASSWORD_PATH, "0600", ROOT_OWNER, True, "<secret:adminPassword>"),
        ManifestEntry(ADMIN_PASSWORD_APPLIED_PATH, "0600", ROOT_OWNER, True,
                      "<the admin password the bootstrap applied last: written on the host>"),
        ManifestEntry(DATA_DIR, "0750", f"{NEXUS_UID}:{NEXUS_UID}", False,
                      "<directory: Nexus data, created on the host>"),
        ManifestEntry(f"{NGINX_SNIPPET_DIR}/active", "link", ROOT_OWNER, False,
                      "<symlink to one of " + ", ".join(v.name for v in nginx.VARIANTS)
                      + ": chosen on the host from nginx -v>"),
        ManifestEntry(NGINX_DEPLOYED_DIGEST, "0644", ROOT_OWNER, False,
                      "<sha256 of the deployed nginx bundle: known after deploy>"),
    ]
    for user, path in nexus.user_password_paths(settings).items():
        entries.append(ManifestEntry(path, "0600", ROOT_OWNER, True, f"<secret:userPasswords.{user}>"))
    entries.append(ManifestEntry(PRE_UPGRADE_BACKUP_NOTE, "0644", ROOT_OWNER, False,
                                 "<names the release the pre-upgrade database backup was taken for>"))
    entries.append(ManifestEntry(ALERT_WEBHOOKS_PATH, "0600", ROOT_OWNER, True,
                                 "<secret:alertWebhooks, one '<kind> <url>' a line; empty for none>"))
    if settings.docker_hub_token is not None:
        entries.append(ManifestEntry(DOCKER_HUB_TOKEN_PATH, "0600", ROOT_OWNER, True,
                                     "<secret:dockerHubToken>"))
    # nginx's own files travel staged (pitfall 14): the bundle writes them below NGINX_STAGE_DIR and
    # deploy-nginx.sh activates them at their live path once nginx is installed.
    live = {f.path for f in nginx.host_files(settings)}
    for staged in nginx.deploy_files(settings):
        if staged.path not in live:
            entries.append(ManifestEntry(staged.path, staged.mode, ROOT_OWNER, False,
                                         f"<staged copy of {staged.path.removeprefix(NGINX_STAGE_DIR)}, "
                                         "activated there by deploy-nginx.sh>"))
    for fqdn, (crt, key) in nginx.staged_cert_files(settings).items():
        entries.append(ManifestEntry(crt, "0600", ROOT_OWNER, False, f"<staged certificate chain of {fqdn}>"))
        entries.append(ManifestEntry(key, "0600", ROOT_OWNER, True, f"<staged private key of {fqdn}>"))
    for fqdn, paths in nginx.default_cert_paths(settings).items():
        entries.append(ManifestEntry(paths.crt, "0644", ROOT_OWNER, False,
                                     f"<certificate chain of {fqdn} ({settings.certificate}): known after deploy>"))
        entries.append(ManifestEntry(paths.key, "0600", ROOT_OWNER, True,
                                     f"<private key of {fqdn} ({settings.certificate}): known after deploy>"))
    if nexus.data_disk_kind(settings) != "none":
        entries.append(ManifestEntry(
            FSTAB, "0644", ROOT_OWNER, False,
            f"<one line added, others kept: UUID=<data disk filesystem> {MOUNT_POINT} <fstype> "
            "defaults,nofail 0 2>"))
    if nexus.docker_mirror(settings):
        entries.append(ManifestEntry(
            DOCKER_DAEMON_JSON, "0644", ROOT_OWNER, False,
            f'<merged on the host, other keys kept: "registry-mirrors": ["{nexus.docker_mirror(settings)}", ...]>'))
    return entries


def manifest_text(stack: str, entries: list[ManifestEntry]) -> str:
    """A fixed-width table, one host path per line."""
    header = ("path", "mode", "owner", "secret", "content")
    rows = [(e.path, e.mode, e.owner, "yes" if e.secret else "no", e.content) for e in entries]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [
        f"# Every path the stack {stack!r} puts on its host.  'rendered' files are in this directory at the",
        "# same path; <...> marks what exists only after deploy.  Regenerate: make render STACK=" + stack,
    ]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    return "\n".join(line.rstrip() for line in lines) + "\n"
