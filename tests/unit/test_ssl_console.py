"""``certificate: ssl-console``: certificates already in Tencent's SSL console, read and deployed.

The account is ``tests.mocks.tencentcloud.TencentCloud``, whose ``getCertificates``
follows data_source_tc_ssl_certificates.go (v1.82.42): DescribeCertificates with
SearchKey = id or name, entries with a null alias or time skipped, ``cert``/``key``
from DescribeCertificateDetail (the key empty when the CSR was made elsewhere),
``subject_names`` only for certificates with SANs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from components.certificates import ssl_console
from components.certificates.tencent_decisions import TENCENT_TIMEZONE
from components.settings import SettingsError
from tests.harness import TencentCloud, is_secret, resolve, run_stack
from tests.mocks.tencentcloud import PENDING, Certificate
from tests.support.bundles import bundle_files, stdin

WEB, REGISTRY = "nexus.widgets-inc.cn", "docker-registry.widgets-inc.cn"
NOW = datetime.now(UTC)
DEPLOY = "nexus-nginx-deploy"


def beijing(moment: datetime) -> str:
    return moment.astimezone(TENCENT_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def console_certificate(cert_id: str, domain: str, *, names: list[str] | None = None, days_left: int = 80,
                        age_days: int = 10, status: int = 1, key: bool = True, dated: bool = True) -> Certificate:
    """A certificate in the console; ``dated=False``: an application Tencent has not decided (no begin/end)."""
    return Certificate(
        id=cert_id, domain=domain, alias=f"uploaded {cert_id}", verify_type="DNS", status=status,
        begin_time=beijing(NOW - timedelta(days=age_days)) if dated else None,
        end_time=beijing(NOW + timedelta(days=days_left)) if dated else None,
        cert=f"-----BEGIN CERTIFICATE-----\n{cert_id}\n-----END CERTIFICATE-----\n"
             "-----BEGIN CERTIFICATE-----\nintermediate\n-----END CERTIFICATE-----\n",
        key=f"-----BEGIN RSA PRIVATE KEY-----\n{cert_id}\n-----END RSA PRIVATE KEY-----\n" if key else "",
        subject_names=names,
    )


def account(*certificates: Certificate) -> TencentCloud:
    cloud = TencentCloud(application_outcome=PENDING)  # nothing in the console changes by being looked at
    for certificate in certificates:
        cloud.certificates[certificate.id] = certificate
    return cloud


def run(cloud: TencentCloud, **console):
    return run_stack("dev", {"certificate": "ssl-console", **({"sslConsole": console} if console else {})},
                     cloud=cloud)


def deployed_pems(run_result) -> str:
    _secret, text = stdin(run_result, DEPLOY)
    return "".join(bundle_files(text).values())


def test_the_newest_valid_certificate_for_each_hostname_is_deployed_with_its_key_secret():
    cloud = account(
        console_certificate("webOld01", WEB, days_left=20, age_days=70),
        console_certificate("webNew02", WEB, days_left=85, age_days=5),
        console_certificate("regWild3", "*.widgets-inc.cn"),
    )
    result = run(cloud)
    pems = deployed_pems(result)
    assert "webNew02" in pems and "webOld01" not in pems and "regWild3" in pems
    certificates = result.one("nexus-registry:certificates:Certificates").resource
    assert is_secret(certificates.web.key_pem) and is_secret(certificates.registry.key_pem)
    assert resolve(certificates.web.expires_at) == (NOW + timedelta(days=85)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Every lookup asked for server certificates only, by the names it needs.
    searches = [args for token, args in result.invokes if token == "tencentcloud:Ssl/getCertificates:getCertificates"]
    assert searches and all(args.get("type") == "SVR" for args in searches)
    assert {args.get("name") for args in searches} == {WEB, REGISTRY, "*.widgets-inc.cn"}
    # Nothing is created in the SSL console: the certificates are only read.
    assert not result.of_type("tencentcloud:Ssl/freeCertificate:FreeCertificate")


def test_a_renewal_done_in_the_console_is_picked_up_by_the_next_update():
    cloud = account(console_certificate("sanCert1", WEB, names=[WEB, REGISTRY], days_left=10, age_days=80))
    first = deployed_pems(run(cloud))
    assert "sanCert1" in first
    cloud.certificates["sanCert2"] = console_certificate("sanCert2", WEB, names=[WEB, REGISTRY], age_days=1)
    second = deployed_pems(run(cloud))
    assert "sanCert2" in second and "sanCert1" not in second


def test_a_named_certificate_is_used_even_when_a_newer_one_exists():
    cloud = account(console_certificate("sanCert1", WEB, names=[WEB, REGISTRY]),
                    console_certificate("webNew02", WEB, age_days=1, days_left=89))
    pems = deployed_pems(run(cloud, webCertificateId="sanCert1", registryCertificateId="sanCert1"))
    assert "sanCert1" in pems and "webNew02" not in pems


@pytest.mark.parametrize("certificate, words", [
    (console_certificate("other001", "shop.widgets-inc.cn"), "covers shop.widgets-inc.cn, not nexus.widgets-inc.cn"),
    (console_certificate("expired1", WEB, days_left=-2, age_days=90), "expired at"),
    # Not listed by getCertificates (no begin/end time yet): its status comes from getDescribeCertificate.
    (console_certificate("pending1", WEB, status=0, dated=False), "is not issued (status 0: approving)"),
    (console_certificate("revoked1", WEB, status=10), "is not issued (status 10: revoked)"),
    (console_certificate("nokey001", WEB, key=False), "has no private key in the SSL console"),
])
def test_a_named_certificate_that_cannot_serve_stops_the_run_before_any_resource(certificate, words):
    with pytest.raises(SettingsError) as caught:
        run(account(certificate), webCertificateId=certificate.id)
    [line] = [p for p in caught.value.problems if "webCertificateId" in p]
    assert line.startswith(f"nexus-registry:sslConsole.webCertificateId: certificate {certificate.id!r} ")
    assert words in line
    assert caught.value.program_run.resources == []


def test_an_unknown_id_and_a_hostname_without_a_valid_certificate_name_their_settings():
    cloud = account(console_certificate("expired1", REGISTRY, days_left=-1, age_days=90))
    with pytest.raises(SettingsError) as caught:
        run(cloud, webCertificateId="missing1")
    assert caught.value.problems == [
        "nexus-registry:sslConsole.webCertificateId: certificate 'missing1' is not in the SSL console of this account",
        "nexus-registry:certificate: ssl-console: no issued, unexpired certificate with its private key in the SSL "
        f"console covers {REGISTRY} (expired1 expired at "
        f"{(NOW - timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}); issue or upload one there, or set "
        "sslConsole.registryCertificateId",
    ]
    assert caught.value.program_run.resources == []


def test_a_certificate_about_to_expire_is_deployed_with_a_warning(monkeypatch):
    import pulumi

    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))
    run(account(console_certificate("sanCert1", WEB, names=[WEB, REGISTRY], days_left=5, age_days=85)))
    assert any("sanCert1 expires in 4 days" in w or "sanCert1 expires in 5 days" in w for w in warnings), warnings
    assert any("the next pulumi up deploys the new one" in w for w in warnings)


def test_wildcards_cover_one_label_only():
    wildcard = ssl_console.to_console_certificate({"id": "w", "domain": "*.widgets-inc.cn", "status": 1})
    assert ssl_console.covers(wildcard, WEB)
    assert not ssl_console.covers(wildcard, "a.nexus.widgets-inc.cn")
    assert not ssl_console.covers(wildcard, "widgets-inc.cn")


def test_sslconsole_settings_need_the_ssl_console_source():
    with pytest.raises(SettingsError) as caught:
        run_stack("dev", {"sslConsole": {"webCertificateId": "abcd1234"}})
    assert caught.value.problems == [
        "nexus-registry:sslConsole: applies only with certificate: ssl-console; remove it or set that"]
    with pytest.raises(SettingsError) as caught:
        run_stack("dev", {"certificate": "ssl-console", "sslConsole": {"webCertificateId": "not an id!"}})
    assert caught.value.problems[0].startswith("nexus-registry:sslConsole.webCertificateId: 'not an id!' is not")
