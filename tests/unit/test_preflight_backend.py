"""The COS state bucket probe: a real S3 client (boto3, reading the same variables as Pulumi's aws-sdk-go-v2)
against a local HTTPS bucket endpoint that refuses aws-chunked uploads and path-style requests (tests/s3_stub.py),
so the checksum settings make up exports are shown to matter."""

from __future__ import annotations

from components.preflight import backend
from tests.support.preflight import BUCKET, url


def test_write_read_delete_with_the_settings_make_up_exports(cos):
    env = dict(backend.COS_SETTINGS)
    assert backend.check(env, url(cos)) == []
    assert [r["method"] for r in cos.requests] == ["PUT", "GET", "DELETE"]
    assert all(r["host"] == f"{BUCKET}.{cos.domain}:{cos.port}" for r in cos.requests)  # virtual-hosted
    assert cos.requests[0]["path"].startswith("/nexus/.nexus-registry-preflight-")
    assert "aws-chunked" not in cos.requests[0]["content-encoding"]
    assert cos.objects == {}  # the probe object is gone


def test_the_sdk_default_sends_aws_chunked_which_cos_refuses(cos):
    env = {backend.REQUEST_CHECKSUM: "when_supported"}
    [finding] = backend.check(env, url(cos))
    assert finding.line().startswith(
        "preflight: AWS_REQUEST_CHECKSUM_CALCULATION: is when_supported: the bucket refused an aws-chunked upload "
        "with a trailing checksum (HTTP 403 AccessDenied), as COS does; set it to when_required")
    [put] = cos.requests
    assert put["content-encoding"] == "aws-chunked" and put["x-amz-content-sha256"].startswith("STREAMING-")


def test_a_store_that_accepts_aws_chunked_passes_either_way(tmp_path, cos):
    """The control: with the same client, only the aws-chunked refusal makes the difference."""
    cos.reject_chunked = False
    assert backend.check({backend.REQUEST_CHECKSUM: "when_supported"}, url(cos)) == []
    assert cos.requests[0]["content-encoding"] == "aws-chunked" and cos.objects == {}


def test_pulumis_own_default_for_custom_endpoints_is_when_required(cos):
    """Pulumi 3.256+ sets request_checksum_calculation=when_required for an s3:// URL with an endpoint when
    neither the URL nor the environment chooses (translateLegacyS3Params); the probe does the same."""
    assert backend.effective_checksums(backend.parse(url(cos)), {}) == ("when_required", "when_supported")
    assert backend.check({}, url(cos)) == []
    assert "aws-chunked" not in cos.requests[0]["content-encoding"]
    chosen = backend.parse(url(cos, "&request_checksum_calculation=when_supported"))
    assert backend.effective_checksums(chosen, dict(backend.COS_SETTINGS))[0] == "when_supported"  # URL first


def test_path_style_is_refused_before_any_request(cos):
    [finding] = backend.check(dict(backend.COS_SETTINGS), url(cos, "&s3ForcePathStyle=true"))
    assert finding.subject == "PULUMI_BACKEND_URL" and "new COS buckets refuse" in finding.message
    assert cos.requests == []


def test_path_style_really_is_refused_by_the_bucket(cos):
    """What the static check spares the user: the stub answers a forced path-style probe with AccessDenied."""
    parsed = backend.parse(url(cos, "&use_path_style=true"))
    [finding] = backend.probe(parsed, dict(backend.COS_SETTINGS))
    assert cos.requests[0]["host"] == f"{cos.domain}:{cos.port}" and "HTTP 403 AccessDenied" in finding.message


def test_an_endpoint_naming_the_bucket_and_a_missing_region(cos):
    problems = backend.check({}, f"s3://{BUCKET}?endpoint={BUCKET}.{cos.domain}")
    assert [p.subject for p in problems] == ["PULUMI_BACKEND_URL", "PULUMI_BACKEND_URL"]
    assert "names the bucket's own host" in problems[0].message and "region=" in problems[1].message
    assert backend.parse(f"s3://{BUCKET}?endpoint=cos.ap-guangzhou.myqcloud.com").endpoint == \
        "https://cos.ap-guangzhou.myqcloud.com"  # a scheme-less endpoint is https, as Pulumi translates it


def test_a_wrong_key_and_no_key(cos, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDsomebodyElse")
    [finding] = backend.check(dict(backend.COS_SETTINGS), url(cos))
    assert finding.subject == "AWS_SECRET_ACCESS_KEY" and "InvalidAccessKeyId" in finding.message
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    [finding] = backend.check(dict(backend.COS_SETTINGS), url(cos))
    assert finding.subject == "AWS_ACCESS_KEY_ID" and "is not set" in finding.message


def test_other_backends_are_not_probed():
    assert backend.check({}, "file:///tmp/state") == []
    assert backend.check({}, "s3://bucket?region=us-east-1") == []  # AWS S3 itself
    assert backend.check({}, "https://api.pulumi.com") == []
