"""A COS state bucket (``PULUMI_BACKEND_URL=s3://...&endpoint=cos.<region>.myqcloud.com``), probed as Pulumi uses it.

Pulumi's DIY S3 backend moved to aws-sdk-go-v2 in CLI 3.245 (pulumi/pulumi #23421),
whose default ``request_checksum_calculation=when_supported`` sends every
upload as ``Content-Encoding: aws-chunked`` with a trailing CRC32; IBM COS
answers 403 (#23764), and COS is reported to refuse it too.  3.256.0 defaults
to ``when_required`` when the URL sets an endpoint (#24109,
``translateLegacyS3Params`` in pkg/backend/diy/backend.go), which broke R2 until
go-cloud #3766 (#24219, in 3.258.0).  ``make up`` therefore pins a later CLI and
exports ``AWS_REQUEST_CHECKSUM_CALCULATION=when_required`` and
``AWS_RESPONSE_CHECKSUM_VALIDATION=when_required`` for COS backends.

The probe writes, reads and deletes one small object in the bucket with boto3,
which reads the same two variables (and the same ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_
ACCESS_KEY``/``AWS_PROFILE``) as aws-sdk-go-v2, with the URL's own
``request_checksum_calculation``/``response_checksum_validation`` first and Pulumi's
endpoint default last, in the same order as ``translateLegacyS3Params``.
Addressing is virtual-hosted (``<bucket>.cos.<region>.myqcloud.com``), as the v2
SDK uses it unless the URL forces path style, which new COS buckets refuse.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from components.i18n import _
from components.preflight import Finding, error

VARIABLE = "PULUMI_BACKEND_URL"
REQUEST_CHECKSUM = "AWS_REQUEST_CHECKSUM_CALCULATION"
RESPONSE_CHECKSUM = "AWS_RESPONSE_CHECKSUM_VALIDATION"
COS_SETTINGS = {REQUEST_CHECKSUM: "when_required", RESPONSE_CHECKSUM: "when_required"}
_COS_HOST = re.compile(r"(^|\.)cos(\.accelerate|\.[a-z0-9-]+)\.myqcloud\.com$")
_TRUE = ("1", "true", "yes")
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class S3Backend:
    bucket: str
    prefix: str
    region: str | None
    endpoint: str | None
    path_style: bool
    request_checksum: str | None
    response_checksum: str | None
    profile: str | None

    @property
    def endpoint_host(self) -> str:
        return urlsplit(self.endpoint if "://" in (self.endpoint or "") else f"https://{self.endpoint}").hostname or ""

    @property
    def is_cos(self) -> bool:
        return bool(self.endpoint) and bool(_COS_HOST.search(self.endpoint_host))


def parse(url: str) -> S3Backend | None:
    """An ``s3://`` backend URL (gocloud.dev s3blob parameters, v1 spellings included); None for others."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        return None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    endpoint = query.get("endpoint")
    if endpoint and "://" not in endpoint:
        https = query.get("disable_https", query.get("disableSSL", "false")).lower() not in _TRUE
        endpoint = f"{'https' if https else 'http'}://{endpoint}"
    path_style = any(query.get(key, "").lower() in _TRUE for key in ("use_path_style", "s3ForcePathStyle"))
    return S3Backend(parts.netloc, parts.path.strip("/"), query.get("region"), endpoint, path_style,
                     query.get("request_checksum_calculation"), query.get("response_checksum_validation"),
                     query.get("profile"))


def effective_checksums(backend: S3Backend, env: Mapping[str, str]) -> tuple[str, str]:
    """What Pulumi's S3 client uses: the URL's parameter, else the environment, else (with an endpoint,
    request side only) Pulumi's when_required default, else the SDK's when_supported."""
    request = backend.request_checksum or env.get(REQUEST_CHECKSUM) or (
        "when_required" if backend.endpoint else "when_supported")
    response = backend.response_checksum or env.get(RESPONSE_CHECKSUM) or "when_supported"
    return request.lower(), response.lower()


def static_problems(backend: S3Backend) -> list[Finding]:
    problems = []
    if backend.path_style:
        problems.append(error(VARIABLE, _("forces path-style requests (s3ForcePathStyle/use_path_style), which new "
                                          "COS buckets refuse; remove it so requests go to "
                                          "<bucket>.cos.<region>.myqcloud.com")))
    if backend.endpoint_host.startswith(f"{backend.bucket}."):
        problems.append(error(VARIABLE, _("endpoint={host} names the bucket's own host; the S3 client puts the bucket "
                                          "in front itself: use endpoint=https://cos.<region>.myqcloud.com").format(
            host=backend.endpoint_host)))
    if not backend.region:
        problems.append(error(VARIABLE, _("has no region=<region> (the bucket's region, e.g. ap-guangzhou); COS "
                                          "checks it in every signature")))
    return problems


def _describe(failure: Exception, request_checksum: str) -> tuple[str, str]:
    """(subject, message) for a botocore failure of the probe."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(failure, NoCredentialsError):
        return "AWS_ACCESS_KEY_ID", _("is not set: the COS backend is reached with AWS_ACCESS_KEY_ID/"
                                      "AWS_SECRET_ACCESS_KEY of a CAM key allowed to use the bucket")
    if isinstance(failure, EndpointConnectionError):
        return VARIABLE, _("the state bucket could not be reached ({failure})").format(failure=failure)
    if isinstance(failure, ClientError):
        code = failure.response.get("Error", {}).get("Code", "")
        status = failure.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return "AWS_SECRET_ACCESS_KEY", _("the bucket refused the key ({code})").format(code=code)
        if code == "NoSuchBucket":
            return VARIABLE, _("names a bucket that does not exist (NoSuchBucket); create it, private, in COS first")
        if request_checksum != "when_required" and status in (400, 403, 501):
            return REQUEST_CHECKSUM, _("is {checksum}: the bucket refused an aws-chunked upload with a trailing "
                                       "checksum (HTTP {status} {code}), as COS does; set it to when_required (make "
                                       "up does, for COS backends)").format(
                checksum=request_checksum, status=status, code=code)
        return VARIABLE, _("the probe was refused: HTTP {status} {code}: {failure}").format(
            status=status, code=code, failure=failure)
    return VARIABLE, _("the probe failed: {failure}").format(failure=" ".join(str(failure).split())[:200])


def probe(backend: S3Backend, env: Mapping[str, str]) -> list[Finding]:
    """Write, read back and delete one object with the settings Pulumi will use."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    request_checksum, response_checksum = effective_checksums(backend, env)
    config = Config(
        s3={"addressing_style": "path" if backend.path_style else "virtual"},
        request_checksum_calculation=request_checksum, response_checksum_validation=response_checksum,
        retries={"max_attempts": 1}, connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS)
    session = boto3.session.Session(profile_name=backend.profile or env.get("AWS_PROFILE") or None)
    client = session.client("s3", region_name=backend.region, endpoint_url=backend.endpoint, config=config)
    key = "/".join(part for part in (backend.prefix, f".nexus-registry-preflight-{uuid.uuid4().hex}") if part)
    body = b"nexus-registry preflight: this object is deleted right after it is read back\n"
    written = False
    try:
        client.put_object(Bucket=backend.bucket, Key=key, Body=body)
        written = True
        read = client.get_object(Bucket=backend.bucket, Key=key)["Body"].read()
        if read != body:
            return [error(VARIABLE, _("the probe object {key} read back different bytes than were written").format(
                key=key))]
        client.delete_object(Bucket=backend.bucket, Key=key)
        written = False
    except (BotoCoreError, ClientError) as failure:
        subject, message = _describe(failure, request_checksum)
        leftover = _(" (remove the probe object {key} by hand)").format(key=key) if written else ""
        return [error(subject, message + leftover)]
    return []


def check(env: Mapping[str, str], url: str | None) -> list[Finding]:
    """The state backend ``make up`` will use, when it is a COS bucket."""
    backend = parse(url or "")
    if backend is None or not backend.is_cos:
        return []
    problems = static_problems(backend)
    return problems or probe(backend, env)
