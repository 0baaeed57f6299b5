"""Certificates under Pulumi mocks: resources, names/SANs, validation records, secrecy, waiting, renewal.

The component runs alone (``run_program(program=...)``) so each source can be
driven through every branch.  Tencent's asynchronous issuance is simulated by
answering the ``ssl.getCertificates`` invoke from a scripted ``FakeTencentSsl``
(the harness answers unknown invokes with ``{}``), and provider-computed
outputs (FreeCertificate status/PEMs, ACME and TLS certificates) come through
``extra_outputs``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pulumi
import pulumiverse_acme as acme
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

import tests.harness as harness
from components import settings as stack_settings
from components.certificates import (
    TENCENT_TIMEZONE,
    Certificates,
    CertificatesArgs,
    acme_server_url,
    validation_mode,
)
from components.settings import LETSENCRYPT_STAGING, SettingsError
from tests.harness import FAKE_PUBLIC_IP, TEST_SECRETS, run_program, stack_config

FREE_CERT = "tencentcloud:Ssl/freeCertificate:FreeCertificate"
GET_CERTS = "tencentcloud:Ssl/getCertificates:getCertificates"
DESCRIBE_CERT = "tencentcloud:Ssl/getDescribeCertificate:getDescribeCertificate"
RECORD = "tencentcloud:Dnspod/record:Record"
ACME_REG = "acme:index/registration:Registration"
ACME_CERT = "acme:index/certificate:Certificate"
TLS_KEY = "tls:index/privateKey:PrivateKey"
TLS_CA = "tls:index/selfSignedCert:SelfSignedCert"
TLS_CSR = "tls:index/certRequest:CertRequest"
TLS_CERT = "tls:index/locallySignedCert:LocallySignedCert"

WEB, REGISTRY = "nexus.widgets-inc.cn", "docker-registry.widgets-inc.cn"
SECRET_SIG = rpc._special_sig_key


def pem(kind: str, body: str) -> str:
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def chain(name: str) -> str:
    return pem("CERTIFICATE", f"leaf-{name}") + pem("CERTIFICATE", "TrustAsia-intermediate")


def beijing(moment: datetime) -> str:
    """A time as Tencent's API prints it (Beijing time, no offset)."""
    return moment.astimezone(TENCENT_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


class FakeTencentSsl:
    """Answers ``ssl.getCertificates``: a listing per searched domain and a scripted poll per certificate id."""

    def __init__(self):
        self.listing: dict[str, list[dict]] = {}
        self.polls: dict[str, list[dict | None]] = {}
        self.described: dict[str, int] = {}
        self.calls: list[dict] = []

    def issued(self, cert_id: str, end: datetime, **extra) -> dict:
        return {"id": cert_id, "status": 1, "cert": chain(cert_id), "key": pem("RSA PRIVATE KEY", cert_id),
                "endTime": beijing(end), **extra}

    def describe(self, args: dict) -> dict:
        """``ssl.getDescribeCertificate``: the scripted status, else the empty result the provider gives
        whenever Tencent returned DV auth records (tests.mocks.tencentcloud)."""
        self.calls.append({"describe": args["certificateId"]})
        status = self.described.get(args["certificateId"])
        return {"certificateId": args["certificateId"], "results": [] if status is None else [{"status": status}]}

    def answer(self, args: dict) -> dict:
        self.calls.append(dict(args))
        if args.get("id"):
            script = self.polls.get(args["id"], [None])
            entry = script.pop(0) if len(script) > 1 else script[0]
            return {"certificates": [entry] if entry else []}
        return {"certificates": self.listing.get(args.get("name"), [])}


@pytest.fixture(autouse=True)
def forget_failed_runs():
    """Leave nothing of a run that failed on purpose for the next one.

    The mocks keep one set of tracked outputs across runs (and, in older
    harnesses, one root Stack with its exports): a failed run's still-running
    sibling outputs would re-raise that failure in the next test's run.  Let them
    finish (failing tests make the other hostname succeed at once, so nothing is
    left polling), then forget them.
    """
    yield
    loop = _ensure_event_loop()
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    root = pulumi.runtime.get_root_resource()
    if root is not None:
        root.outputs.clear()
    with SETTINGS.lock:
        SETTINGS.outputs.clear()


def unwrap_secret(value):
    """(is_secret, plain value) of a resource input as the mock monitor receives it."""
    if isinstance(value, dict) and value.get(SECRET_SIG) == rpc._special_secret_sig:
        return True, value["value"]
    return False, value


@pytest.fixture
def tencent_api(monkeypatch):
    fake = FakeTencentSsl()
    original = harness.RecordingMocks.call

    def call(self, args):
        if args.token == GET_CERTS:
            self.run.invokes.append((args.token, dict(args.args)))
            return fake.answer(dict(args.args))
        if args.token == DESCRIBE_CERT:
            self.run.invokes.append((args.token, dict(args.args)))
            return fake.describe(dict(args.args))
        return original(self, args)

    monkeypatch.setattr(harness.RecordingMocks, "call", call)
    return fake


BUILT: dict[str, Certificates] = {}  # the component of the last run, for looking at its Outputs


def certificates_program(**arg_overrides):
    """A program that builds only Certificates (as __main__ will) and exports what nginx consumes."""

    def program():
        settings = stack_settings.from_pulumi()
        provider = None
        if settings.certificate == "acme":
            provider = acme.Provider("acme", server_url=acme_server_url(settings))
        certs = BUILT["certs"] = Certificates("certs", CertificatesArgs(
            settings=settings, public_ip=arg_overrides.pop("public_ip", FAKE_PUBLIC_IP),
            acme_provider=provider, **arg_overrides))
        for role, pair in (("web", certs.web), ("registry", certs.registry)):
            pulumi.export(f"{role}Cert", pair.cert_pem)
            pulumi.export(f"{role}Key", pair.key_pem)
            pulumi.export(f"{role}ExpiresAt", pair.expires_at)
        pulumi.export("sameCertificate", certs.web is certs.registry)
        if certs.ca_cert_pem is not None:
            pulumi.export("caCertPem", certs.ca_cert_pem)
        for role, record in certs.validation_records.items():
            pulumi.export(f"{role}Validation", record)

    return program


def free_cert_outputs(status: int | None = 0, issued_until: datetime | None = None, dv_key: str = "_dnsauth"):
    """FreeCertificate outputs as the provider's Create/Read leave them: pending, or issued (from state)."""

    def extra(type_: str, name: str, inputs: dict) -> dict:
        if type_ != FREE_CERT:
            return {}
        host = inputs["domain"].split(".")[0]
        outputs = {"status": status, "certificatePublicKey": "", "certificatePrivateKey": "", "certEndTime": "",
                   "dvAuths": [{"dvAuthKey": dv_key, "dvAuthValue": f"token-{host}", "dvAuthVerifyType": "TXT"}]}
        if issued_until is not None:
            outputs.update(certificatePublicKey=chain(name), certificatePrivateKey=pem("RSA PRIVATE KEY", name),
                           certEndTime=beijing(issued_until))
        return outputs

    return extra


def run_certificates(stack: str, overrides: dict | None = None, extra=None, preview: bool = False, **args):
    args.setdefault("poll_interval_seconds", 0.01)
    args.setdefault("issuance_timeout_seconds", 5)
    return run_program(stack, stack_config(stack, overrides), program=certificates_program(**args),
                       extra_outputs=extra, preview=preview)


# --- tencent -----------------------------------------------------------------------------


def test_tencent_requests_one_free_dv_certificate_per_hostname_with_dns_auto(tencent_api):
    until = datetime.now(UTC) + timedelta(days=80)
    run = run_certificates("dev", extra=free_cert_outputs(status=1, issued_until=until))
    certs = {r.inputs["domain"]: r for r in run.of_type(FREE_CERT)}
    assert set(certs) == {WEB, REGISTRY}
    assert {r.name for r in certs.values()} == {"certs-web", "certs-registry"}
    for fqdn, role in ((WEB, "web"), (REGISTRY, "registry")):
        inputs = certs[fqdn].inputs
        assert inputs["dvAuthMethod"] == "DNS_AUTO"  # dns: dnspod means the zone is in DNSPod on this account
        assert inputs["alias"] == f"nexus-registry-dev-{role}-g1"
        assert certs[fqdn].opts.replace_on_changes == ["alias", "dvAuthMethod"]
        assert "certificatePrivateKey" in certs[fqdn].opts.additional_secret_outputs
    assert not run.of_type(RECORD), "DNS_AUTO: Tencent writes the TXT record itself"
    assert run.outputs["webCert"] == chain("certs-web") and run.outputs["registryCert"] == chain("certs-registry")
    assert run.outputs["webKey"] == pem("RSA PRIVATE KEY", "certs-web")
    assert {"webKey", "registryKey"} <= run.secret_outputs
    assert not {"webCert", "webExpiresAt"} & run.secret_outputs
    assert run.outputs["webExpiresAt"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")
    # State already holds the issued certificate: nothing to wait for, no poll by id.
    assert not [call for call in tencent_api.calls if call.get("id")]
    assert sorted(call["name"] for call in tencent_api.calls) == sorted([WEB, REGISTRY])


def test_tencent_waits_for_issuance_then_reads_the_pems_from_the_data_source(tencent_api):
    until = datetime.now(UTC) + timedelta(days=90)
    for role in ("web", "registry"):
        tencent_api.polls[f"certs-{role}-id"] = [
            None,  # not listed yet right after the application
            {"id": f"certs-{role}-id", "status": 0, "cert": "", "key": "", "endTime": ""},
            {"id": f"certs-{role}-id", "status": 4, "cert": "", "key": "", "endTime": ""},
            tencent_api.issued(f"certs-{role}-id", until),
        ]
    run = run_certificates("dev", extra=free_cert_outputs(status=0))
    assert run.outputs["webCert"] == chain("certs-web-id")
    assert run.outputs["registryKey"] == pem("RSA PRIVATE KEY", "certs-registry-id")
    assert {"webKey", "registryKey"} <= run.secret_outputs
    assert run.outputs["registryExpiresAt"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")
    polls = [call["id"] for call in tencent_api.calls if call.get("id")]
    assert polls.count("certs-web-id") == 4 and polls.count("certs-registry-id") == 4


def only_web_pending(tencent_api, web_status: int = 0):
    """Web stays in ``web_status``; registry is issued at once, so one failure ends the run (none leaks on)."""
    tencent_api.polls["certs-web-id"] = [{"id": "certs-web-id", "status": web_status, "cert": "", "key": ""}]
    until = datetime.now(UTC) + timedelta(days=90)
    tencent_api.polls["certs-registry-id"] = [tencent_api.issued("certs-registry-id", until)]


def test_tencent_timeout_fails_with_what_to_do_next(tencent_api):
    only_web_pending(tencent_api)
    started = time.monotonic()
    with pytest.raises(Exception, match="has not issued the free certificate") as failure:
        run_certificates("dev", extra=free_cert_outputs(status=0), issuance_timeout_seconds=0.2)
    assert time.monotonic() - started < 30
    message = str(failure.value)
    assert "run `pulumi up` again" in message and "same certificate" in message
    assert "DNSPod" in message and "widgets-inc.cn" in message
    assert "certs-web-id for nexus.widgets-inc.cn" in message
    assert "console.cloud.tencent.com/ssl/detail/certs-web-id" in message


def test_a_data_source_answer_without_a_list_fails_fast_instead_of_waiting(tencent_api, monkeypatch):
    monkeypatch.setattr(FakeTencentSsl, "answer", lambda self, args: {})
    started = time.monotonic()
    with pytest.raises(Exception, match="answered without a 'certificates' list"):
        run_certificates("dev", extra=free_cert_outputs(status=0), issuance_timeout_seconds=60)
    assert time.monotonic() - started < 20


def test_tencent_rejected_application_fails_at_once_with_the_replace_command(tencent_api):
    only_web_pending(tencent_api, web_status=2)
    with pytest.raises(Exception, match="will not issue") as failure:
        run_certificates("dev", extra=free_cert_outputs(status=0), issuance_timeout_seconds=60)
    assert "pulumi up --replace 'urn:pulumi:dev::nexus-registry::" in str(failure.value)
    assert "approval failed" in str(failure.value)


def test_tencent_preview_does_not_wait(tencent_api):
    tencent_api.polls["certs-web-id"] = [{"id": "certs-web-id", "status": 0}]
    tencent_api.polls["certs-registry-id"] = [{"id": "certs-registry-id", "status": 0}]
    started = time.monotonic()
    run = run_certificates("dev", extra=free_cert_outputs(status=0), preview=True, issuance_timeout_seconds=60,
                           poll_interval_seconds=30)
    assert time.monotonic() - started < 20
    assert len(run.of_type(FREE_CERT)) == 2
    assert len([call for call in tencent_api.calls if call.get("id")]) <= 2  # one look each, never a loop


@pytest.mark.parametrize("dv_key", ["_dnsauth", "_dnsauth.nexus", "_dnsauth.nexus.widgets-inc.cn."])
def test_tencent_dnspod_record_mode_creates_the_txt_record_from_dv_auths(tencent_api, dv_key):
    until = datetime.now(UTC) + timedelta(days=90)
    tencent_api.polls["certs-web-id"] = [tencent_api.issued("certs-web-id", until)]
    tencent_api.polls["certs-registry-id"] = [tencent_api.issued("certs-registry-id", until)]
    run = run_certificates("dev", {"certificateValidation": "dnspod-record"},
                           extra=free_cert_outputs(status=0, dv_key=dv_key))
    assert {r.inputs["dvAuthMethod"] for r in run.of_type(FREE_CERT)} == {"DNS"}
    records = {r.name: r.inputs for r in run.of_type(RECORD)}
    assert set(records) == {"certs-web-validation", "certs-registry-validation"}
    web = records["certs-web-validation"]
    assert web["domain"] == "widgets-inc.cn" and web["recordType"] == "TXT" and web["recordLine"] == "默认"
    assert web["value"] == "token-nexus"
    if dv_key == "_dnsauth" or dv_key.endswith("widgets-inc.cn."):
        assert web["subDomain"] == "_dnsauth.nexus"
    else:
        assert web["subDomain"] == dv_key
    assert run.outputs["webValidation"]["name"] == f"{web['subDomain']}.widgets-inc.cn"
    # The wait (and so the PEMs nginx gets) depends on the record: it is created before Tencent is polled.
    for role in ("web", "registry"):
        pair = getattr(BUILT["certs"], role)
        assert f"certs-{role}-validation" in {r._name for r in _sync_await(pair.cert_pem.resources())}


def test_tencent_with_dns_none_asks_for_a_manual_txt_record_and_creates_none(tencent_api):
    until = datetime.now(UTC) + timedelta(days=90)
    tencent_api.polls["certs-web-id"] = [tencent_api.issued("certs-web-id", until)]
    tencent_api.polls["certs-registry-id"] = [tencent_api.issued("certs-registry-id", until)]
    run = run_certificates("dev", {"dns": "none"}, extra=free_cert_outputs(status=0))
    assert {r.inputs["dvAuthMethod"] for r in run.of_type(FREE_CERT)} == {"DNS"}
    assert not run.of_type(RECORD)
    assert run.outputs["registryValidation"] == {
        "name": "_dnsauth.docker-registry.widgets-inc.cn", "type": "TXT", "value": "token-docker-registry"}


def test_tencent_manual_timeout_names_the_record_to_add(tencent_api):
    only_web_pending(tencent_api)
    with pytest.raises(Exception, match="add the DNS record _dnsauth.nexus.widgets-inc.cn TXT 'token-nexus'"):
        run_certificates("dev", {"dns": "none"}, extra=free_cert_outputs(status=0), issuance_timeout_seconds=0.1)


@pytest.mark.parametrize(("days_left", "generation"), [(10, 2), (60, 1)])
def test_tencent_renewal_replaces_a_certificate_expiring_in_10_days_and_keeps_one_expiring_in_60(
        tencent_api, days_left, generation):
    end = datetime.now(UTC) + timedelta(days=days_left)
    for fqdn, role in ((WEB, "web"), (REGISTRY, "registry")):
        tencent_api.listing[fqdn] = [
            tencent_api.issued(f"old-{role}", end, name=f"nexus-registry-dev-{role}-g1", domain=fqdn),
            # someone else's certificate for the same name never counts
            tencent_api.issued("other", end - timedelta(days=80), name="manual upload", domain=fqdn),
        ]
    until = datetime.now(UTC) + timedelta(days=90)
    run = run_certificates("dev", extra=free_cert_outputs(status=1, issued_until=until))
    aliases = {r.inputs["domain"]: r.inputs["alias"] for r in run.of_type(FREE_CERT)}
    assert aliases == {WEB: f"nexus-registry-dev-web-g{generation}",
                       REGISTRY: f"nexus-registry-dev-registry-g{generation}"}
    # The alias change is what replaces the certificate.
    assert all(r.opts.replace_on_changes == ["alias", "dvAuthMethod"] for r in run.of_type(FREE_CERT))


def test_renew_before_days_moves_the_renewal_window(tencent_api):
    end = datetime.now(UTC) + timedelta(days=40)
    tencent_api.listing[WEB] = [tencent_api.issued("w", end, name="nexus-registry-dev-web-g3", domain=WEB)]
    until = datetime.now(UTC) + timedelta(days=90)
    default = run_certificates("dev", extra=free_cert_outputs(status=1, issued_until=until))
    early = run_certificates("dev", {"renewBeforeDays": 45}, extra=free_cert_outputs(status=1, issued_until=until))
    def web_alias(run):
        return {r.inputs["domain"]: r.inputs["alias"] for r in run.of_type(FREE_CERT)}[WEB]

    assert web_alias(default) == "nexus-registry-dev-web-g3"  # 40 days left, window 30: kept
    assert web_alias(early) == "nexus-registry-dev-web-g4"    # 40 days left, window 45: renewed


# --- acme --------------------------------------------------------------------------------


def acme_outputs(type_: str, name: str, inputs: dict) -> dict:
    if type_ == ACME_CERT:
        return {"certificatePem": pem("CERTIFICATE", "acme-leaf"), "issuerPem": pem("CERTIFICATE", "R11"),
                "privateKeyPem": pem("RSA PRIVATE KEY", "acme-key"), "certificateNotAfter": "2031-05-01T10:00:00Z"}
    if type_ == ACME_REG:
        return {"accountKeyPem": inputs.get("accountKeyPem")}
    return {}


ACME = {"certificate": "acme", "acme": {"email": "ops@widgets-inc.cn", "server": "letsencrypt-staging"},
        "renewBeforeDays": 21}


def test_acme_registers_an_account_and_one_san_certificate_over_tencent_dns():
    run = run_certificates("dev", ACME, extra=acme_outputs)
    account_key = run.named("certs-acme-account-key")
    assert account_key.type == TLS_KEY and account_key.inputs["algorithm"] == "ECDSA"
    registration = run.one(ACME_REG).inputs
    assert registration["emailAddress"] == "ops@widgets-inc.cn"
    assert unwrap_secret(registration["accountKeyPem"]) == (True, pem("PRIVATE KEY", "certs-acme-account-key"))
    certificate = run.one(ACME_CERT)
    assert certificate.inputs["commonName"] == WEB
    assert certificate.inputs["subjectAlternativeNames"] == [REGISTRY]
    assert certificate.inputs["dnsChallenges"] == [{"provider": "tencentcloud"}], "no credentials in config"
    assert certificate.inputs["minDaysRemaining"] == 21
    assert certificate.opts.provider is not None and certificate.opts.provider is run.one(
        "pulumi:providers:acme").resource
    assert run.one("pulumi:providers:acme").inputs["serverUrl"] == LETSENCRYPT_STAGING
    assert not run.of_type(FREE_CERT)
    assert run.outputs["sameCertificate"] is True
    assert run.outputs["webCert"] == pem("CERTIFICATE", "acme-leaf") + pem("CERTIFICATE", "R11")
    assert run.outputs["webKey"] == pem("RSA PRIVATE KEY", "acme-key")
    assert {"webKey", "registryKey"} <= run.secret_outputs
    assert run.outputs["webExpiresAt"] == "2031-05-01T10:00:00Z"


def test_acme_server_url_follows_the_setting():
    config = stack_config("dev", ACME, secrets={})
    settings = stack_settings.from_mapping("dev", config)
    assert acme_server_url(settings) == LETSENCRYPT_STAGING


# --- self-signed -------------------------------------------------------------------------


def tls_outputs(type_: str, name: str, inputs: dict) -> dict:
    if type_ == TLS_CA:
        return {"certPem": pem("CERTIFICATE", "lab-ca"), "validityEndTime": "2035-01-01T00:00:00Z"}
    if type_ == TLS_CERT:
        return {"certPem": pem("CERTIFICATE", "lab-server"), "validityEndTime": "2027-01-01T00:00:00Z"}
    if type_ == TLS_CSR:
        return {"certRequestPem": "CSR"}
    return {}


def test_self_signed_builds_a_ca_and_a_server_certificate_for_both_hostnames_and_the_host_ip():
    run = run_certificates("lab", {"renewBeforeDays": 20}, extra=tls_outputs, public_ip="10.0.8.15")
    ca = run.one(TLS_CA).inputs
    assert ca["isCaCertificate"] is True and "cert_signing" in ca["allowedUses"]
    assert unwrap_secret(ca["privateKeyPem"]) == (True, pem("PRIVATE KEY", "certs-ca-key"))
    csr = run.one(TLS_CSR).inputs
    assert csr["dnsNames"] == ["nexus.nexushub.lab", "docker-registry.nexushub.lab"]
    assert csr["ipAddresses"] == ["10.0.8.15"]
    assert unwrap_secret(csr["privateKeyPem"]) == (True, pem("PRIVATE KEY", "certs-server-key"))
    server = run.one(TLS_CERT).inputs
    assert server["caCertPem"] == pem("CERTIFICATE", "lab-ca")
    assert unwrap_secret(server["caPrivateKeyPem"]) == (True, pem("PRIVATE KEY", "certs-ca-key"))
    assert server["certRequestPem"] == "CSR" and "server_auth" in server["allowedUses"]
    assert server["earlyRenewalHours"] == ca["earlyRenewalHours"] == 20 * 24
    assert server["validityPeriodHours"] > server["earlyRenewalHours"]
    assert run.outputs["caCertPem"] == pem("CERTIFICATE", "lab-ca") and "caCertPem" not in run.secret_outputs
    assert run.outputs["webCert"] == pem("CERTIFICATE", "lab-server")
    assert run.outputs["webKey"] == pem("PRIVATE KEY", "certs-server-key")
    assert {"webKey", "registryKey"} <= run.secret_outputs
    assert run.outputs["webExpiresAt"] == "2027-01-01T00:00:00Z"
    assert not run.of_type(FREE_CERT) and not run.of_type(ACME_CERT)


def test_self_signed_puts_a_host_name_address_among_the_dns_names():
    run = run_certificates("lab", extra=tls_outputs, public_ip="build.nexushub.lab")
    csr = run.one(TLS_CSR).inputs
    assert csr["dnsNames"] == ["nexus.nexushub.lab", "docker-registry.nexushub.lab", "build.nexushub.lab"]
    assert not csr.get("ipAddresses")


# --- bad settings ------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "key"), [
    ({"certificate": "acme", "acme": None}, "nexus-registry:acme.email"),
    ({"certificate": "acme", "acme": {"server": "letsencrypt"}}, "nexus-registry:acme.email"),
    ({"certificate": "letsencrypt"}, "nexus-registry:certificate"),
    ({"certificate": "acme", "acme": {"email": "ops@widgets-inc.cn", "server": "http://ca.example/dir"}},
     "nexus-registry:acme.server"),
    ({"acme": {"email": "not-an-address"}}, "nexus-registry:acme.email"),
    ({"renewBeforeDays": 0}, "nexus-registry:renewBeforeDays"),
    ({"renewBeforeDays": 90}, "nexus-registry:renewBeforeDays"),
])
def test_bad_certificate_settings_name_their_key(overrides, key):
    config = stack_config("dev", overrides)
    config = {k: v for k, v in config.items() if k not in TEST_SECRETS or k.endswith("adminPassword")}
    with pytest.raises(SettingsError) as failure:
        stack_settings.from_mapping("dev", config)
    assert any(problem.startswith(f"{key}:") for problem in failure.value.problems), failure.value.problems


def test_validation_mode_follows_dns_unless_set():
    settings = stack_settings.from_mapping("dev", stack_config("dev"))
    assert validation_mode(settings) == "dns-auto"
    none = stack_settings.from_mapping("dev", stack_config("dev", {"dns": "none"}))
    assert validation_mode(none) == "manual"
    chosen = stack_settings.from_mapping("dev", stack_config("dev", {"dns": "none",
                                                                      "certificateValidation": "dnspod-record"}))
    assert validation_mode(chosen) == "dnspod-record"


def test_bad_validation_mode_fails_before_any_certificate_is_requested(tencent_api):
    with pytest.raises(SettingsError, match="nexus-registry:certificateValidation: 'FILE' is not allowed") as failure:
        run_certificates("dev", {"certificateValidation": "FILE"})
    assert not failure.value.program_run.of_type(FREE_CERT)
