"""nexus-status.sh under a temporary root: the admin password file, the data directory, the nginx site
with two real (openssl) certificates of the given days, pointed at a fake Nexus; ``run`` runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from components.render import nexus as render
from components.render import nexus_operator_tools
from tests.fakes.nexus import FakeNexus
from tests.support.host_scripts import run, write_script
from tests.support.settings import ADMIN_PASSWORD, make_settings


def certificate(path: Path, days: int) -> Path:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", str(days), "-subj", f"/CN={path.stem}", "-keyout", str(path.with_suffix(".key")),
                    "-out", str(path)], check=True, capture_output=True)
    return path


class StatusHost:
    def __init__(self, tmp_path: Path, fake: FakeNexus, cert_days: tuple[int, int] = (80, 80), settings=None):
        self.tmp_path = tmp_path
        self.fake = fake
        self.data = tmp_path / "nexus-data"
        (self.data / "log").mkdir(parents=True, exist_ok=True)
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / render.ADMIN_PASSWORD_NAME).write_text(ADMIN_PASSWORD)
        self.secrets = secrets
        certs = tmp_path / "pki"
        certs.mkdir()
        web = certificate(certs / "nexus.example.com.crt", cert_days[0])
        registry = certificate(certs / "docker-registry.example.com.crt", cert_days[1])
        self.site = tmp_path / "nexus-registry.conf"
        self.site.write_text(f"server {{\n    ssl_certificate {registry};\n}}\nserver {{\n"
                             f"    ssl_certificate {web};\n    ssl_certificate_key {web.with_suffix('.key')};\n}}\n")
        self.script = write_script(tmp_path, nexus_operator_tools.status_files(settings or make_settings("dev"))[0])

    def run(self, **env: str):
        return run(self.script, {"NEXUS_URL": self.fake.url, "NEXUS_SECRETS_DIR": str(self.secrets),
                                 "NEXUS_DATA_DIR": str(self.data), "NEXUS_DISK": str(self.tmp_path),
                                 "NGINX_SITE_CONF": str(self.site), "DOCKER": "false", "LC_ALL": "C",
                                 "WATCHDOG_STATE": str(self.tmp_path / "watchdog.state"),
                                 "MAINTENANCE_FLAG": str(self.tmp_path / "maintenance"), **env},
                   bin_dir=self.tmp_path / "bin" if (self.tmp_path / "bin").exists() else None)
