"""Tencent certificates over several updates, against a TencentCloud account that decides like Tencent does.

``ssl.getCertificates`` does not list a pending or rejected application (its
Read skips entries with a null begin/end time), so these runs check that the
wait, the rejection short cut and the generation choice never rely on seeing
one there.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pulumi
import pytest

from components import settings as stack_settings
from components.certificates import Certificates, CertificatesArgs
from tests.harness import FAKE_PUBLIC_IP, run_program, stack_config
from tests.mocks import tencentcloud as tc
from tests.two_runs import prior_of

TIMEOUT = 0.5


def program():
    settings = stack_settings.from_pulumi()
    certs = Certificates("certs", CertificatesArgs(settings=settings, public_ip=FAKE_PUBLIC_IP,
                                                   issuance_timeout_seconds=TIMEOUT, poll_interval_seconds=0.01))
    for role, pair in (("web", certs.web), ("registry", certs.registry)):
        pulumi.export(f"{role}Cert", pair.cert_pem)
        pulumi.export(f"{role}ExpiresAt", pair.expires_at)
    for name, value in certs.decisions.items():
        pulumi.export(name, value)


def update(cloud: tc.TencentCloud, previous=None, **overrides):
    """One ``pulumi up`` of the certificates (after ``previous``, whose state it starts from)."""
    return run_program("dev", stack_config("dev", overrides or None), program=program, cloud=cloud,
                       prior=prior_of(previous, stack_outputs=not getattr(previous, "failed", False))
                       if previous is not None else None)


def failing_update(cloud: tc.TencentCloud, previous=None, match: str = ""):
    started = time.monotonic()
    with pytest.raises(Exception, match=match) as failure:
        update(cloud, previous)
    run = failure.value.program_run
    run.failed = True
    return run, time.monotonic() - started, str(failure.value)


def aliases(run) -> dict[str, str]:
    return {r.name: r.inputs["alias"] for r in run.of_type(tc.FREE_CERTIFICATE)}


def test_a_rejected_first_application_fails_at_once_not_after_the_timeout():
    cloud = tc.TencentCloud(application_outcome=tc.REJECT)
    _run, elapsed, message = failing_update(cloud, match="will not issue")
    assert "status 2 (approval failed)" in message
    assert elapsed < TIMEOUT * 4


def test_a_pending_application_is_waited_for_again_not_applied_for_twice():
    cloud = tc.TencentCloud(application_outcome=tc.PENDING)
    first, _elapsed, message = failing_update(cloud, match="has not issued")
    assert "status 0 (approving)" in message  # getDescribeCertificate sees it; getCertificates does not
    ids = sorted(cloud.certificates)
    for cert_id in ids:
        cloud.issue(cert_id)  # the CA decides between the two updates
    second = update(cloud, first)
    assert aliases(second) == aliases(first)
    assert not [s for s in second.steps if s.kind != "update"], second.steps
    assert sorted(cloud.certificates) == ids, "no second application"
    assert second.outputs["webCert"].startswith("-----BEGIN CERTIFICATE-----\ncerts-web-id\n")


def test_a_rejected_renewal_keeps_the_old_certificate_and_the_next_update_applies_again(caplog):
    cloud = tc.TencentCloud()
    first = update(cloud)
    assert first.outputs["tencentCertificates"] == {
        "web": {"generation": 1, "id": "certs-web-id"}, "registry": {"generation": 1, "id": "certs-registry-id"}}
    # 10 days before expiry, inside the default 30-day window; Tencent rejects the renewal.
    soon = (datetime.now(UTC) + timedelta(days=10)).astimezone(tc_timezone()).strftime("%Y-%m-%d %H:%M:%S")
    for cert in cloud.certificates.values():
        cert.end_time = soon
    cloud.application_outcome = tc.REJECT
    second = update(cloud, first)
    assert set(aliases(second).values()) == {"nexus-registry-dev-web-g2", "nexus-registry-dev-registry-g2"}
    assert {(s.name, s.key, s.kind) for s in second.steps} == {
        ("certs-web", "alias", "replace"), ("certs-registry", "alias", "replace")}
    # Still served: the old certificate, and the run succeeded so the rejection is on record.
    assert second.outputs["webCert"].startswith("-----BEGIN CERTIFICATE-----\ncerts-web-id\n")
    assert second.outputs["tencentCertificates"]["web"] == {"generation": 2, "id": "certs-web-id-2"}
    assert "nginx keeps the previous certificate certs-web-id" in "\n".join(r.getMessage() for r in caplog.records)
    # The rejected application is invisible to ssl.getCertificates; the next update still moves on.
    assert cloud.certificates["certs-web-id-2"].status == 2 and cloud.certificates["certs-web-id-2"].end_time is None
    cloud.application_outcome = tc.ISSUE
    third = update(cloud, second)
    assert set(aliases(third).values()) == {"nexus-registry-dev-web-g3", "nexus-registry-dev-registry-g3"}


def test_an_expired_certificate_in_state_moves_to_the_next_generation():
    cloud = tc.TencentCloud()
    first = update(cloud)
    cloud.reject("certs-web-id", status=3)  # expired: still listed, with its dates
    second = update(cloud, first)
    assert aliases(second)["certs-web"] == "nexus-registry-dev-web-g2"
    assert aliases(second)["certs-registry"] == "nexus-registry-dev-registry-g1"


def test_a_validation_mode_change_is_a_new_application_not_a_refused_update():
    cloud = tc.TencentCloud()
    first = update(cloud)
    second = run_program("dev", stack_config("dev", {"certificateValidation": "dnspod-record"}), program=program,
                         cloud=cloud, prior=prior_of(first))
    kinds = {(s.name, s.key): s.kind for s in second.steps}
    assert kinds[("certs-web", "dvAuthMethod")] == "replace"
    assert "refused" not in kinds.values()


# --- the mocked data sources skip what the provider skips ---------------------------------------


def test_get_certificates_lists_only_certificates_with_dates_and_alias():
    cloud = tc.TencentCloud(application_outcome=tc.PENDING)
    cloud.outputs(tc.FREE_CERTIFICATE, "a", {"domain": "a.example.com", "alias": "x", "dvAuthMethod": "DNS_AUTO"},
                  "pending-id")
    assert cloud.invoke(tc.GET_CERTIFICATES, {"id": "pending-id"}) ["certificates"] == []
    described = cloud.invoke(tc.GET_DESCRIBE_CERTIFICATE, {"certificateId": "pending-id"})
    assert described["results"][0]["status"] == 0
    cloud.issue("pending-id")
    listed = cloud.invoke(tc.GET_CERTIFICATES, {"id": "pending-id"})["certificates"]
    assert [entry["status"] for entry in listed] == [1] and listed[0]["endTime"] == tc.ISSUED_END
    with pytest.raises(tc.ProviderError, match="CertificateNotFound"):
        cloud.invoke(tc.GET_DESCRIBE_CERTIFICATE, {"certificateId": "gone"})


def test_describe_certificate_answers_nothing_when_tencent_returned_dv_auth_records():
    cloud = tc.TencentCloud(application_outcome=tc.PENDING)
    cloud.outputs(tc.FREE_CERTIFICATE, "a", {"domain": "a.example.com", "alias": "x", "dvAuthMethod": "DNS"}, "dns-id")
    assert cloud.invoke(tc.GET_DESCRIBE_CERTIFICATE, {"certificateId": "dns-id"})["results"] == []


def tc_timezone():
    from components.certificates import TENCENT_TIMEZONE
    return TENCENT_TIMEZONE
