"""The pure parts of Certificates: renewal decision, generations, Tencent times and records, the bounded wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from components.certificates import (
    DEAD_STATUSES,
    CertificateIssuanceError,
    TencentCertificate,
    alias_generation,
    certificate_alias,
    choose_generation,
    full_chain,
    needs_renewal,
    parse_tencent_time,
    rfc3339,
    split_host_address,
    to_tencent_certificate,
    validation_record,
    wait_for_issuance,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FQDN = "nexus.example.com"


# --- needs_renewal -----------------------------------------------------------------------


@pytest.mark.parametrize(("days_left", "renew"), [
    (10, True),     # the issue's example: replaced
    (60, False),    # the issue's example: kept
    (30, True),     # exactly renewBeforeDays away: inside the window
    (30.01, False),
    (-1, True),     # already expired
])
def test_needs_renewal_with_the_default_30_day_window(days_left, renew):
    assert needs_renewal(NOW + timedelta(days=days_left), NOW, 30) is renew


def test_needs_renewal_follows_renew_before_days():
    expires = NOW + timedelta(days=40)
    assert not needs_renewal(expires, NOW, 30)
    assert needs_renewal(expires, NOW, 45)


# --- generations -------------------------------------------------------------------------


def cert(generation: int | None, status: int | None, days_left: float | None, stack="dev", role="web",
         domain=FQDN) -> TencentCertificate:
    alias = certificate_alias(stack, role, generation) if generation is not None else "uploaded by hand"
    end = NOW + timedelta(days=days_left) if days_left is not None else None
    return TencentCertificate(id=f"c{generation}", alias=alias, domain=domain, status=status, end_time=end)


def choose(*existing: TencentCertificate, renew: int = 30, held=None) -> int:
    return choose_generation(existing, stack="dev", role="web", fqdn=FQDN, now=NOW, renew_before_days=renew,
                             held=held)


def test_first_run_starts_at_generation_one():
    assert choose() == 1
    assert choose(cert(None, 1, 5)) == 1, "a certificate this stack did not request is ignored"


def test_an_issued_certificate_expiring_in_10_days_moves_to_the_next_generation():
    assert choose(cert(1, 1, 10)) == 2


def test_an_issued_certificate_expiring_in_60_days_is_kept():
    assert choose(cert(1, 1, 60)) == 1


def test_a_pending_application_is_kept_and_waited_for():
    assert choose(cert(1, 1, 10), cert(2, 0, None)) == 2
    assert choose(cert(3, 4, None)) == 3


@pytest.mark.parametrize("status", sorted(DEAD_STATUSES))
def test_a_dead_application_moves_to_the_next_generation(status):
    assert choose(cert(1, 1, 80), cert(2, status, None)) == 3


def test_only_the_newest_generation_counts_and_a_rerun_is_stable():
    old_and_new = (cert(1, 1, 5), cert(2, 1, 85))
    assert choose(*old_and_new) == 2
    assert choose(*old_and_new) == 2


def test_other_stacks_roles_and_domains_are_ignored():
    assert choose(cert(4, 1, 5, stack="prod")) == 1
    assert choose(cert(4, 1, 5, role="registry")) == 1
    assert choose(cert(4, 1, 5, domain="other.example.com")) == 1


def test_alias_round_trip_and_strict_matching():
    assert alias_generation(certificate_alias("dev", "web", 7), "dev", "web") == 7
    assert alias_generation("nexus-registry-dev-web-g7", "de", "v-web") is None
    assert alias_generation("nexus-registry-dev-web-g7x", "dev", "web") is None
    assert alias_generation(None, "dev", "web") is None


# --- Tencent data -------------------------------------------------------------------------


def test_tencent_times_are_beijing_time_and_come_out_as_utc_rfc3339():
    assert rfc3339(parse_tencent_time("2025-08-30 07:59:59")) == "2025-08-29T23:59:59Z"
    assert rfc3339(parse_tencent_time("2025-08-30T01:00:00Z")) == "2025-08-30T01:00:00Z"
    assert parse_tencent_time("") is None and parse_tencent_time(None) is None
    assert parse_tencent_time("soon") is None
    assert rfc3339(None) == ""


def test_data_source_entries_become_certificates_whatever_their_shape():
    raw = {"id": "abc", "name": "nexus-registry-dev-web-g1", "domain": "Nexus.Example.com", "status": 1.0,
           "endTime": "2025-08-30 07:59:59", "cert": "-----BEGIN CERTIFICATE-----\r\nx\r\n-----END CERTIFICATE-----",
           "key": "-----BEGIN RSA PRIVATE KEY-----\nk\n-----END RSA PRIVATE KEY-----\n",
           "dvAuths": [{"dvAuthKey": "_dnsauth", "dvAuthValue": "v", "dvAuthVerifyType": "TXT"}]}
    parsed = to_tencent_certificate(raw)
    assert parsed.status == 1 and parsed.issued and parsed.domain == FQDN
    assert parsed.cert_pem == "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
    assert parsed.dv_auths == (("_dnsauth", "v", "TXT"),)
    assert not to_tencent_certificate({**raw, "key": ""}).issued
    assert not to_tencent_certificate({**raw, "status": 0}).issued


@pytest.mark.parametrize(("key", "host", "sub"), [
    ("_dnsauth", FQDN, "_dnsauth.nexus"),
    ("_dnsauth.nexus", FQDN, "_dnsauth.nexus"),
    ("_dnsauth.nexus.example.com", FQDN, "_dnsauth.nexus"),
    ("_DNSAUTH.nexus.example.com.", FQDN, "_dnsauth.nexus"),
    ("_dnsauth", "registry.team.example.com", "_dnsauth.registry.team"),
    ("example.com", FQDN, "@"),
])
def test_validation_record_lands_in_the_zone_whatever_the_key_form(key, host, sub):
    record = validation_record(key, " token ", "txt", fqdn=host, zone="example.com")
    assert (record.sub_domain, record.record_type, record.value) == (sub, "TXT", "token")


def test_validation_record_refuses_what_dns_cannot_hold():
    with pytest.raises(ValueError, match="'FILE'"):
        validation_record("_dnsauth", "v", "FILE", fqdn=FQDN, zone="example.com")
    with pytest.raises(ValueError, match="empty validation record"):
        validation_record("_dnsauth", "  ", "TXT", fqdn=FQDN, zone="example.com")


def test_host_address_goes_to_ip_or_dns_sans():
    assert split_host_address("192.0.2.10") == ([], ["192.0.2.10"])
    assert split_host_address("2001:db8::1") == ([], ["2001:db8::1"])
    assert split_host_address("Build.Lab.") == (["build.lab"], [])
    assert split_host_address("") == ([], [])


def test_full_chain_joins_leaf_then_issuers_with_single_newlines():
    assert full_chain("A\r\n", None, "B\n\n") == "A\nB\n"


# --- the bounded wait ---------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(*answers: TencentCertificate | None):
    queue = list(answers)

    async def read():
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return read


ISSUED = TencentCertificate(id="c1", status=1, cert_pem="-----BEGIN CERTIFICATE-----\n", key_pem="PRIVATE KEY")
PENDING = TencentCertificate(id="c1", status=0)


def wait(read, clock: FakeClock, messages: list[str], timeout: float = 1200, interval: float = 30):
    # A private loop: asyncio.run would unset the thread's loop, which the Pulumi mocks rely on.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(wait_for_issuance(
            read, fqdn=FQDN, cert_id="c1", timeout_seconds=timeout, interval_seconds=interval,
            progress=messages.append, next_steps="add the record X.", replace_hint="pulumi up --replace 'urn'",
            sleep=clock.sleep, clock=clock))
    finally:
        loop.close()


def test_wait_returns_the_issued_certificate_and_reports_progress():
    clock, messages = FakeClock(), []
    result = wait(scripted(None, PENDING, PENDING, ISSUED), clock, messages)
    assert result is ISSUED
    assert clock.sleeps == [30, 30, 30]
    assert "not issued yet" in messages[0] and "status 0 (approving)" in messages[1]
    assert "of at most 20 min" in messages[1]
    assert messages[-1] == "nexus.example.com: certificate c1 issued after 1 min 30 s"


def test_wait_is_bounded_and_says_what_to_do_next():
    clock, messages = FakeClock(), []
    with pytest.raises(CertificateIssuanceError) as failure:
        wait(scripted(PENDING), clock, messages, timeout=1200, interval=30)
    assert clock.now == 1200, "never sleeps past the bound"
    text = str(failure.value)
    assert "within 20 min" in text and "status 0 (approving)" in text
    assert "Next: add the record X." in text and "run `pulumi up` again" in text
    assert len(messages) == 40


def test_wait_gives_up_at_once_on_a_rejected_application():
    clock, messages = FakeClock(), []
    with pytest.raises(CertificateIssuanceError, match=r"status 2 \(approval failed\).*pulumi up --replace 'urn'"):
        wait(scripted(PENDING, TencentCertificate(id="c1", status=2)), clock, messages)
    assert clock.now == 30


def test_status_codes_14_and_15_have_names_and_only_a_refund_is_final():
    # tencentcloud-sdk-go ssl/v20191205 models.go, Status: "14 = 证书已退款。 15 = 证书迁移中"
    from components.certificates import STATUS_NAMES

    assert STATUS_NAMES[14] == "refunded" and STATUS_NAMES[15] == "being migrated"
    assert 14 in DEAD_STATUSES and 15 not in DEAD_STATUSES
    assert TencentCertificate(id="c", status=15).status_name == "being migrated"
    assert choose(cert(1, 1, 80), cert(2, 14, None)) == 3
    assert choose(cert(1, 1, 80), cert(2, 15, None)) == 2


def test_a_held_certificate_tencent_does_not_list_decides_the_generation():
    """Tencent's list omits pending and rejected applications; the held record and its fresh status do not."""
    issued_g1 = cert(1, 1, 80)
    assert choose(issued_g1, held=None) == 1
    rejected = TencentCertificate(id="c2", status=2)
    assert choose_generation([issued_g1], stack="dev", role="web", fqdn=FQDN, now=NOW, renew_before_days=30,
                             held=(2, rejected)) == 3
    # Held but seen nowhere: still pending (or invisible), so keep waiting for it.
    assert choose_generation([issued_g1], stack="dev", role="web", fqdn=FQDN, now=NOW, renew_before_days=30,
                             held=(2, None)) == 2
