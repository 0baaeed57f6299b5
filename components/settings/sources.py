"""Config sources: the live Pulumi config (``from_pulumi``) and a stack file read alone (``from_stack_file``).

Both become ``{"nexus-registry:key": value}`` and go through ``from_mapping``, which also
reports keys no setting reads, applies the regional defaults and checks the provider's region.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from components.i18n import _
from components.settings.errors import SettingsError
from components.settings.facts import (
    CONFIG_NAMESPACES,
    MAINLAND_REMOTES,
    NAMESPACE,
    REGION_KEY,
    SECRET_KEYS,
    STACK_FILE,
    TENCENTCLOUD_REGIONS,
    is_mainland_region,
)
from components.settings.fields import REGION, secret_placeholder
from components.settings.messages import validate
from components.settings.models import DEFAULT_USERS
from components.settings.stack import Settings


class YamlNumber(float):
    """A YAML float that remembers its text as written (``3.70``, read as 3.7), for a "quote it" message."""

    text: str

    def __new__(cls, value: float, text: str) -> YamlNumber:
        number = super().__new__(cls, value)
        number.text = text
        return number


class StackFileLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that floats keep their text: ``version: 3.70`` can be told to quote ``3.70``."""


def _float_as_written(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> YamlNumber:
    return YamlNumber(loader.construct_yaml_float(node), node.value)


StackFileLoader.add_constructor("tag:yaml.org,2002:float", _float_as_written)


def load_stack_yaml(text: str) -> Any:
    """A stack file's YAML document, read like ``yaml.safe_load`` with floats as ``YamlNumber``."""
    return yaml.load(text, Loader=StackFileLoader)  # noqa: S506 - a SafeLoader subclass


def _parse(value: Any) -> Any:
    """Pulumi hands structured config over as JSON text; scalars stay text."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in "{[" or stripped in ("true", "false"):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError:
                return value
    return value


def _nearest(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return _(" (did you mean {name}?)").format(name=match[0]) if match else ""


def _is_flat_key(key: str) -> bool:
    """``server.address`` set without ``--path``: Pulumi stores it as one literal key."""
    return "." in key or "[" in key


def _is_secure(value: Any) -> bool:
    """A value the stack file holds encrypted (``{secure: v1:...}``), which a file read alone cannot open."""
    return isinstance(value, Mapping) and set(value) == {"secure"}


# Names of settings that hold a secret: the known ones (facts.SECRET_KEYS) and any key, at any depth, whose
# name ends like one (a future alertWebhooks, a token, tencentcloud:secretKey): such a value in plain text in
# a committed stack file is a leaked credential, whatever the settings would make of it.
_SECRET_NAME = re.compile(r".*(password|passwords|passphrase|token|secret|secretkey|privatekey|webhook|webhooks)",
                          re.IGNORECASE)
# Where the value of a secret usually comes from, for the command a refusal prints.
_SECRET_INPUT = {"sshPrivateKey": " < ~/.ssh/id_ed25519"}


def _secret_set_command(namespace: str, path: str) -> str:
    """The command that stores ``path`` encrypted; it asks for the value, so none lands in shell history."""
    key = path if namespace == NAMESPACE else f"{namespace}:{path}"
    flag = "--path " if "." in path or "[" in path else ""
    quoted = f"'{key}'" if flag else key
    return f"pulumi config set --secret {flag}{quoted}{_SECRET_INPUT.get(path, '')}"


def _plaintext_secrets(namespace: str, path: str, value: Any, secret: bool) -> list[str]:
    """Paths under ``path`` that hold a secret setting in plain text (``secret``: the enclosing key is one)."""
    if _is_secure(value):
        return []
    if isinstance(value, Mapping):
        return [found for name, leaf in value.items()
                for found in _plaintext_secrets(namespace, f"{path}.{name}", leaf,
                                                secret or bool(_SECRET_NAME.fullmatch(str(name))))]
    if isinstance(value, list):
        return [found for index, leaf in enumerate(value)
                for found in _plaintext_secrets(namespace, f"{path}[{index}]", leaf, secret)]
    return [path] if secret and value is not None else []


def plaintext_secret_problems(config: Mapping[str, Any], stack_file: str = STACK_FILE) -> list[str]:
    """Secrets written into the stack file in plain text: each refused with the command that encrypts it."""
    problems = []
    for full_key, value in config.items():
        namespace, colon, key = full_key.partition(":")
        if not colon or namespace not in CONFIG_NAMESPACES:
            continue
        secret = key in SECRET_KEYS or bool(_SECRET_NAME.fullmatch(key))
        for path in _plaintext_secrets(namespace, key, value, secret):
            problems.append(f"{namespace}:{path}: " + _(
                "is a secret written in plain text in {stack_file}; delete that line and run "
                "`{command}` (it asks for the value and stores it encrypted)"
            ).format(stack_file=stack_file, command=_secret_set_command(namespace, path)))
    return problems


def is_secret_setting(full_key: str) -> bool:
    """Whether ``namespace:key`` is a setting whose value is a secret (a known one, or named like one)."""
    namespace, colon, key = full_key.partition(":")
    return bool(colon and namespace in CONFIG_NAMESPACES and (key in SECRET_KEYS or _SECRET_NAME.fullmatch(key)))


def runtime_plaintext_secret_problems(config: Mapping[str, Any], secret_keys: Iterable[str],
                                      stack_file: str = STACK_FILE) -> list[str]:
    """Secrets ``pulumi up`` was given in plain text: every config key the engine did not mark secret.

    The engine passes the stack's config decrypted, naming the keys that were encrypted
    (``PULUMI_CONFIG_SECRET_KEYS``); a secret setting outside that list was written in plain text (in the stack
    file, by ``pulumi config set`` without ``--secret``, or by ``pulumi up --config``).  Objects arrive as JSON
    text; an object with any encrypted leaf is marked whole, so its leaves are the stack check's to judge.
    """
    encrypted = set(secret_keys)
    problems = []
    for full_key, value in config.items():
        namespace, colon, key = full_key.partition(":")
        if full_key in encrypted or not colon or namespace not in CONFIG_NAMESPACES:
            continue
        secret = key in SECRET_KEYS or bool(_SECRET_NAME.fullmatch(key))
        for path in _plaintext_secrets(namespace, key, _parse(value), secret):
            problems.append(f"{namespace}:{path}: " + _(
                "is a secret given in plain text (in {stack_file}, by `pulumi config set` without --secret, or by "
                "--config); store it encrypted with `{command}` (it asks for the value), then run pulumi up again"
            ).format(stack_file=stack_file, command=_secret_set_command(namespace, path)))
    return problems


def without_plaintext_secrets(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with every plain-text secret treated as encrypted, so a refused one is reported once."""
    def scrub(value: Any, secret: bool) -> Any:
        if _is_secure(value):
            return value
        if isinstance(value, Mapping):
            return {name: scrub(leaf, secret or bool(_SECRET_NAME.fullmatch(str(name))))
                    for name, leaf in value.items()}
        if isinstance(value, list):
            return [scrub(leaf, secret) for leaf in value]
        return {"secure": "plaintext-refused"} if secret and value is not None else value

    cleaned = {}
    for full_key, value in config.items():
        namespace, colon, key = full_key.partition(":")
        known = colon and namespace in CONFIG_NAMESPACES
        cleaned[full_key] = scrub(value, bool(known and (key in SECRET_KEYS or _SECRET_NAME.fullmatch(key))))
    return cleaned


def config_key_problems(config: Mapping[str, Any]) -> list[str]:
    """Keys no setting reads: a misspelt namespace or provider key, or a nested key set without ``--path``."""
    problems = []
    for full_key in config:
        namespace, colon, key = full_key.partition(":")
        if not colon:
            problems.append(f"{full_key}: " + _("is not a namespaced key; use {namespace}:<key> "
                                                "(see README: Stack settings)").format(namespace=NAMESPACE))
        elif namespace not in CONFIG_NAMESPACES:
            problems.append(f"{full_key}: " + _("{namespace!r} is not a namespace this project reads{did_you_mean}; "
                                                "use {namespaces}").format(
                namespace=namespace, did_you_mean=_nearest(namespace, CONFIG_NAMESPACES),
                namespaces=", ".join(CONFIG_NAMESPACES)))
        elif namespace == NAMESPACE and _is_flat_key(key):
            problems.append(f"{full_key}: " + _("a nested setting stored as one flat key; set it with "
                                                "`pulumi config set --path '{key}' <value>` and remove this one with "
                                                "`pulumi config rm '{key}'`").format(key=key))
        elif (known := CONFIG_NAMESPACES[namespace]) is not None and key not in known:
            problems.append(f"{full_key}: " + _("is not a {namespace} provider setting{did_you_mean}").format(
                namespace=namespace, did_you_mean=_nearest(key, known)))
    return problems


def _with_secret_placeholders(raw: dict[str, Any]) -> None:
    """Rendering needs no real secret: a stand-in for each secret the settings will ask for."""
    raw.setdefault("adminPassword", secret_placeholder("adminPassword"))
    server = raw.get("server")
    if isinstance(server, Mapping) and server.get("mode") == "existing":
        raw.setdefault("sshPrivateKey", secret_placeholder("sshPrivateKey"))
    nexus = raw.get("nexus") or {}
    if isinstance(nexus, Mapping) and nexus.get("dockerHubUsername"):
        raw.setdefault("dockerHubToken", secret_placeholder("dockerHubToken"))
    users = raw.get("users", [user.model_dump() for user in DEFAULT_USERS])
    passwords = dict(raw.get("userPasswords") or {})
    for user in users if isinstance(users, list) else []:
        if isinstance(user, Mapping) and isinstance(user.get("name"), str):
            passwords.setdefault(user["name"], secret_placeholder(f"userPasswords.{user['name']}"))
    raw["userPasswords"] = passwords


def _apply_regional_defaults(raw: dict[str, Any], region: str | None) -> None:
    """On a CVM in a mainland region, unset proxy upstreams default to Tencent's mirrors."""
    server = raw.get("server")
    if not (isinstance(server, Mapping) and server.get("mode") == "cvm" and is_mainland_region(region)):
        return
    nexus = raw.get("nexus")
    if nexus is None:
        nexus = {}
    if not isinstance(nexus, Mapping):
        return  # validation reports it
    defaults = dict(MAINLAND_REMOTES)
    if nexus.get("dockerHubUsername"):
        # Docker Hub credentials are for Docker Hub: never hand them to a mirror nobody chose.
        defaults.pop("dockerHubRemote")
    raw["nexus"] = {**defaults, **nexus}


def uses_tencent_provider(settings: Settings) -> bool:
    """Whether any tencentcloud resource or lookup is registered (the lab stack needs none)."""
    return (settings.server.is_cvm or settings.dns == "dnspod"
            or settings.certificate in ("tencent", "ssl-console"))


def region_problems(settings: Settings, region: str | None) -> list[str]:
    """The provider's region, checked here so a missing one fails before any resource, with its key."""
    if not uses_tencent_provider(settings):
        return []
    if not region:
        return [f"{REGION_KEY}: " + _("is required for Tencent resources (e.g. ap-guangzhou): "
                                      "pulumi config set tencentcloud:region ap-guangzhou, "
                                      "or export TENCENTCLOUD_REGION")]
    if not REGION.fullmatch(region) or region not in TENCENTCLOUD_REGIONS:
        suggestion = _nearest(region, sorted(TENCENTCLOUD_REGIONS))
        return [f"{REGION_KEY}: " + _("{region!r} is not a Tencent Cloud region{did_you_mean}; "
                                      "the provider's regions are listed in "
                                      "components/settings/data/tencentcloud_regions.txt "
                                      "(e.g. ap-guangzhou, eu-frankfurt)").format(
            region=region, did_you_mean=suggestion)]
    zone = settings.server.availability_zone if settings.server.is_cvm else None
    if zone and not zone.startswith(f"{region}-"):
        return [f"{NAMESPACE}:server.availabilityZone: " + _("{zone!r} is not in the region {region!r} ({key})").format(
            zone=zone, region=region, key=REGION_KEY)]
    return []


def from_mapping(stack: str, config: Mapping[str, Any], secret_placeholders: bool = False) -> Settings:
    """Build settings from ``{"nexus-registry:key": value}``; keys of no known setting are reported."""
    key_problems = config_key_problems(config)
    raw: dict[str, Any] = {"stack": stack}
    for full_key, value in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE or not key or _is_flat_key(key):
            continue
        if _is_secure(value):
            if not secret_placeholders:
                continue
            value = secret_placeholder(key)
        if key == "userPasswords" and isinstance(value, Mapping):
            # `pulumi config set --secret --path userPasswords.ci` encrypts each leaf in the stack file.
            value = {
                name: secret_placeholder(f"{key}.{name}") if _is_secure(leaf) else leaf
                for name, leaf in value.items()
                if secret_placeholders or not _is_secure(leaf)
            }
        raw[key] = _parse(value)
    if secret_placeholders:
        _with_secret_placeholders(raw)
    region = config.get(REGION_KEY) or os.environ.get("TENCENTCLOUD_REGION")
    region = region if isinstance(region, str) else None
    _apply_regional_defaults(raw, region)
    try:
        settings = validate(raw)
    except SettingsError as error:
        raise SettingsError(key_problems + error.problems) from None
    # A key in a misspelt namespace was not read, so the settings are not the ones the user wrote: a region
    # "required" by a default they meant to override (dns: none under nexus-regsitry:) would only mislead.
    problems = key_problems or region_problems(settings, region)
    if problems:
        raise SettingsError(problems)
    return settings


def from_stack_file(path: str | Path) -> Settings:
    """Read ``stacks/Pulumi.<stack>.yaml`` alone (no Pulumi), secrets as placeholders."""
    path = Path(path)
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    document = load_stack_yaml(path.read_text()) or {}
    config = document.get("config") or {}
    return from_mapping(stack, config, secret_placeholders=True)


def from_pulumi() -> Settings:
    """Read the running stack's config (all keys, so unknown top-level keys are caught)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    # What the engine encrypted: PULUMI_CONFIG_SECRET_KEYS as the language host sets it, or the keys the SDK was
    # handed (set_all_config: the automation API, mocks).  A secret outside both is refused before any resource.
    encrypted = set(runtime_config.get_config_secret_keys_env())
    encrypted |= {key for key in config if runtime_config.is_config_secret(key)}
    problems = runtime_plaintext_secret_problems(config, encrypted, STACK_FILE.replace("<stack>", pulumi.get_stack()))
    if problems:
        raise SettingsError(problems)
    return from_mapping(pulumi.get_stack(), config)
