"""The Tencent Cloud API as the preflight speaks it: the official SDK, Pulumi's credentials, errors given a meaning.

The provider reads ``TENCENTCLOUD_SECRET_ID``/``TENCENTCLOUD_SECRET_KEY`` (and
``TENCENTCLOUD_SECURITY_TOKEN`` for temporary keys) from the environment and
the region from ``tencentcloud:region``; the preflight uses exactly those.

Every call goes through the per-product SDK clients (``tencentcloud-sdk-python-
<product>``) with typed request models, so requests are signed and shaped as the
SDK does it (API 3.0, TC3-HMAC-SHA256).  An SDK exception becomes one of:

- ``Unreachable``: the SDK's ``ClientNetworkError`` (no network, DNS, refused,
  timeout) or a non-200 answer: nothing else can be checked, the run stops;
- ``Rejected``: the key itself is refused (unknown id, wrong secret, expired
  token or signature): one line naming the variable, the run stops;
- ``Denied``: CAM refused the action (``AuthFailure.UnauthorizedOperation`` or
  ``UnauthorizedOperation``): the CAM action to add, from the API's own message
  ("you are not authorized to perform operation (cvm:RunInstances)"), else
  from the product;
- ``ApiError``: any other documented error code, for the check to interpret.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.i18n import N_, _
from components.preflight import Finding, Unreachable, error

# product -> (SDK package, client class, CAM service).  Billing's CAM service is "finance"
# (Tencent's preset policy QcloudFinanceFullAccess grants finance:*).
PRODUCTS: dict[str, tuple[str, str, str]] = {
    "sts": ("tencentcloud.sts.v20180813", "StsClient", "sts"),
    "api": ("tencentcloud.api.v20201106", "ApiClient", "api"),
    "cvm": ("tencentcloud.cvm.v20170312", "CvmClient", "cvm"),
    "vpc": ("tencentcloud.vpc.v20170312", "VpcClient", "vpc"),
    "cbs": ("tencentcloud.cbs.v20170312", "CbsClient", "cbs"),
    "tag": ("tencentcloud.tag.v20180813", "TagClient", "tag"),
    "dnspod": ("tencentcloud.dnspod.v20210323", "DnspodClient", "dnspod"),
    "ssl": ("tencentcloud.ssl.v20191205", "SslClient", "ssl"),
    "postgres": ("tencentcloud.postgres.v20170312", "PostgresClient", "postgres"),
    "billing": ("tencentcloud.billing.v20180709", "BillingClient", "finance"),
}
SECRET_ID = "TENCENTCLOUD_SECRET_ID"
SECRET_KEY = "TENCENTCLOUD_SECRET_KEY"
SECURITY_TOKEN = "TENCENTCLOUD_SECURITY_TOKEN"
# Seconds per API call: the preflight answers in seconds or says why it cannot.
DEFAULT_TIMEOUT = 10

# Common error codes of API 3.0 (cloud.tencent.com/document/api/213/15694) that mean the key
# itself is refused, with the variable to fix (the text is translated where it is printed).
REJECTED_KEY_CODES = {
    "AuthFailure.SecretIdNotFound": (SECRET_ID, N_("Tencent Cloud knows no such key (AuthFailure.SecretIdNotFound); "
                                                   "copy the SecretId of an active API key (CAM console: API keys)")),
    "AuthFailure.InvalidSecretId": (SECRET_ID, N_("is not a valid SecretId (AuthFailure.InvalidSecretId)")),
    "AuthFailure.SignatureFailure": (SECRET_KEY, N_("does not match TENCENTCLOUD_SECRET_ID: the signature was "
                                                    "refused (AuthFailure.SignatureFailure)")),
    "AuthFailure.SignatureExpire": ("clock", N_("the request's timestamp was refused (AuthFailure.SignatureExpire): "
                                                "set this machine's clock right (NTP)")),
    "AuthFailure.TokenFailure": (SECURITY_TOKEN, N_("the temporary credentials' token was refused "
                                                    "(AuthFailure.TokenFailure); fetch new temporary credentials")),
    "AuthFailure.InvalidAuthorization": (SECRET_ID, N_("the Authorization header was refused "
                                                       "(AuthFailure.InvalidAuthorization)")),
    "AuthFailure.SecretIdDisabled": (SECRET_ID, N_("this API key is disabled (AuthFailure.SecretIdDisabled)")),
}
DENIED_CODES = ("AuthFailure.UnauthorizedOperation", "UnauthorizedOperation")
# "you are not authorized to perform operation (cvm:RunInstances)": the CAM action in CAM's own words.
_CAM_ACTION_IN_MESSAGE = re.compile(r"perform operation \(([a-z0-9_-]+:[A-Za-z0-9*]+)\)")


class Rejected(Exception):
    """The API key is refused: ``finding`` says which variable to fix."""

    def __init__(self, finding: Finding):
        self.finding = finding
        super().__init__(finding.line())


class Denied(Exception):
    """CAM refused ``cam_action``."""

    def __init__(self, cam_action: str, code: str):
        self.cam_action = cam_action
        self.code = code
        super().__init__(f"{cam_action} denied ({code})")


class ApiError(Exception):
    """A documented API error the caller interprets (``DryRunOperation``, ``ResourceInsufficient.*`` ...)."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Credentials:
    secret_id: str
    secret_key: str
    token: str | None = None


def credentials_from(env: Mapping[str, str], config: Mapping[str, Any]) -> tuple[Credentials | None, list[Finding]]:
    """The key Pulumi's provider will use, or one line per missing variable."""
    missing = [name for name in (SECRET_ID, SECRET_KEY) if not env.get(name)]
    if not missing:
        return Credentials(env[SECRET_ID], env[SECRET_KEY], env.get(SECURITY_TOKEN) or None), []
    in_stack = [key for key in ("tencentcloud:secretId", "tencentcloud:secretKey") if key in config]
    hint = (_("; the stack also sets {keys}, which the preflight cannot read: export the same key").format(
        keys=", ".join(in_stack)) if in_stack else "")
    return None, [error(name, _("is not set: export the API key Pulumi's tencentcloud provider uses "
                                "(README: A sub-account key){hint}").format(hint=hint)) for name in missing]


def _short_network_reason(message: str, timeout: int) -> str:
    """One readable line for a requests/urllib3 connection error."""
    text = " ".join(str(message).split())
    if re.search(r"NameResolution|Name or service not known|Temporary failure in name resolution|nodename nor "
                 r"servname|No address associated|getaddrinfo failed", text):
        return _("the name does not resolve (no network or no DNS)")
    if "Connection refused" in text:
        return _("connection refused")
    if re.search(r"timed out|Timeout", text, re.I):
        return _("no answer within {timeout} s").format(timeout=timeout)
    if "Network is unreachable" in text:
        return _("network is unreachable")
    if re.search(r"SSL|certificate", text):
        return _("TLS failed (a proxy that intercepts HTTPS?)")
    return text[:160]


class Api:
    """Calls of the Tencent Cloud API 3.0 through the official per-product SDK clients."""

    def __init__(self, credentials: Credentials, region: str, endpoint: str | None = None, scheme: str = "https",
                 timeout: int = DEFAULT_TIMEOUT, root_domain: str | None = None):
        self.credentials = credentials
        self.region = region
        self.endpoint = endpoint
        self.scheme = scheme
        self.timeout = timeout
        self.root_domain = root_domain

    def host(self, product: str) -> str:
        return self.endpoint or f"{product}.{self.root_domain or 'tencentcloudapi.com'}"

    def _client(self, product: str):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        package, class_name, _cam_service = PRODUCTS[product]
        module = importlib.import_module(f"{package}.{product}_client")
        profile = ClientProfile(httpProfile=HttpProfile(
            protocol=self.scheme, endpoint=self.endpoint, reqTimeout=self.timeout, rootDomain=self.root_domain))
        cred = credential.Credential(self.credentials.secret_id, self.credentials.secret_key, self.credentials.token)
        return getattr(module, class_name)(cred, self.region, profile)

    def call(self, product: str, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``action`` of ``product`` with ``params``; the response's fields as a dict (``RequestId`` included)."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        package, _client_class, cam_service = PRODUCTS[product]
        models = importlib.import_module(f"{package}.models")
        request = getattr(models, f"{action}Request")()
        request.from_json_string(json.dumps(dict(params or {})))
        unknown = set(params or {}) - set(request._serialize(allow_none=True))
        if unknown:  # a typo here would be sent as nothing at all
            raise ValueError(f"{product}:{action} has no parameter {sorted(unknown)}")
        try:
            response = getattr(self._client(product), action)(request)
        except TencentCloudSDKException as exc:
            raise self._meaning(exc, product, action, cam_service) from None
        return json.loads(response.to_json_string())

    def _meaning(self, exc: Exception, product: str, action: str, cam_service: str) -> Exception:
        code = getattr(exc, "code", None) or type(exc).__name__
        message = str(getattr(exc, "message", "") or "")
        api = _("the Tencent Cloud API ({url})").format(url=f"{self.scheme}://{self.host(product)}")
        if code == "ClientNetworkError":
            return Unreachable(api, _short_network_reason(message, self.timeout))
        if code == "ServerNetworkError":
            return Unreachable(api, _("it answered with an HTTP error instead of an API response "
                                      "(a proxy in the way?)"))
        if code in REJECTED_KEY_CODES:
            subject, text = REJECTED_KEY_CODES[code]
            return Rejected(error(subject, _(text)))
        if code in DENIED_CODES or code.startswith("UnauthorizedOperation."):
            match = _CAM_ACTION_IN_MESSAGE.search(message)
            return Denied(match.group(1) if match else f"{cam_service}:{action}", code)
        return ApiError(code, " ".join(message.split())[:300])


def denied_finding(denied: Denied, what: str, *, needed: bool = True) -> Finding:
    """A denied action: an error when the deploy calls it, a warning when only the preflight does."""
    subject = f"cam:{denied.cam_action}"
    if needed:
        return error(subject, _("is not allowed for this key ({code}): {what} fails without it; add {action} to the "
                                "key's CAM policy (README: A sub-account key)").format(
            code=denied.code, what=what, action=denied.cam_action))
    return Finding(subject, _("is not allowed for this key ({code}), so {what} is not checked; add {action} to check "
                              "it (the deploy itself does not need it)").format(
        code=denied.code, what=what, action=denied.cam_action), "warning")
