"""What the preflight's unit tests share: the COS stub's bucket and URL, a closed port, stack files and
the facts an existing server reports (tests/unit/test_preflight_*.py, test_messages_zh_preflight.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import yaml

from components.settings import from_mapping
from tests import harness
from tests.s3_stub import ACCESS_KEY, SECRET_KEY, CosStub
from tests.tencent_api_fake import SECRET_ID
from tests.tencent_api_fake import SECRET_KEY as TENCENT_SECRET_KEY

BUCKET = "team-state-1250000000"


def url(stub: CosStub, extra: str = "") -> str:
    return f"s3://{BUCKET}/nexus?region={stub.region}&endpoint={stub.endpoint}{extra}"


def cos_stub(tmp_path, monkeypatch):
    """The body of the cos fixture: the stub under its COS names, which resolve to 127.0.0.1 only."""
    with CosStub(tmp_path) as stub:
        real = socket.getaddrinfo

        def getaddrinfo(host, *args, **kwargs):
            if isinstance(host, str) and (host == stub.domain or host.endswith(f".{stub.domain}")):
                return real("127.0.0.1", *args, **kwargs)
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not resolvable in this test")

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REQUEST_CHECKSUM_CALCULATION",
                     "AWS_RESPONSE_CHECKSUM_VALIDATION"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        monkeypatch.setenv("AWS_CA_BUNDLE", str(stub.certificate))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
        yield stub


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


NEXUS = {"sonatype/nexus3": {harness.stack_settings("dev").nexus.version,
                             harness.stack_settings("prod").nexus.version}}
ENV = {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": TENCENT_SECRET_KEY}


def stack_file(tmp_path: Path, stack: str = "dev", **changes) -> Path:
    path = harness.write_stack_file(stack, tmp_path)
    document = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            document["config"][f"nexus-registry:{key}"] = {**document["config"].get(f"nexus-registry:{key}", {}),
                                                          **value}
        else:
            document["config"][f"nexus-registry:{key}"] = value
    path.write_text(yaml.safe_dump(document))
    return path


def lab(**server_changes):
    config = harness.stack_file_config("lab")
    config["nexus-registry:server"] = {**config["nexus-registry:server"], **server_changes}
    return from_mapping("lab", config, secret_placeholders=True)


def facts(os_id="ubuntu", version="22.04", mem_kib=16 * 1024 * 1024, avail_kib=200 * 1024 * 1024):
    return f"ID={os_id}\nVERSION_ID={version}\nMemTotalKiB={mem_kib}\nDiskAvailKiB={avail_kib}\nDiskMount=/\n"
