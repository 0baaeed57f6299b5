"""Every string setting refuses text that could escape into a shell or a config file.

The fields are enumerated from the models themselves, so a string setting added
later is covered without editing this file (it fails here until it has a valid
example, when its default is not one).  Each hostile variant is a valid value
with something appended (a trailing newline is the classic: Python's ``$``
matches before it) or a bare payload; each must be refused with exactly one
one-line problem that names the key, before any resource.
"""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from components import settings as stack_settings
from tests.harness import LAB_HOST_KEY, TEST_SECRETS, stack_file_config

NS = "nexus-registry"

# A valid value for every string setting whose default is not a string.
VALID_EXAMPLES: dict[str, str] = {
    "certificateValidation": "dns-auto",
    "acme.email": "ops@widgets-inc.cn",
    "server.dockerMirror": "https://mirror.widgets-inc.cn",
    "server.instanceType": "S5.LARGE16",
    "server.availabilityZone": "ap-guangzhou-6",
    "server.sshUser": "ubuntu",
    "server.hostKey": LAB_HOST_KEY,
    "server.address": "10.0.8.15",
    "server.dataDevice": "/dev/disk/by-id/virtio-data01",
    "nexus.dockerHubUsername": "robotuser",
    "nexus.imageDigest": "sha256:" + "ab" * 32,
    "domain": "widgets-inc.cn",
    "sslConsole.webCertificateId": "a1B2c3D4",
    "sslConsole.registryCertificateId": "a1B2c3D4",
    "database.host": "10.0.0.5",
    "database.migratorSha256": "ab" * 32,
    "database.migratorVersion": "3.93.2-03",
    "users[].name": "ci",
    "users[].role": "push",
    "privateDns.zoneId": "zone-6xg5xgky",
    "nexus.retention.protect[]": "^release-[0-9]+$",
    "alerts.notifyWays[]": "EMAIL",
}

HOSTILE_SUFFIXES = ["\n", "\ntouch /tmp/pwned", "\r", "'", '"', "$(id)", "`id`", ";id", "&&id", "|id", " id",
                    "\t", "é", "\u202e", "\x00", ">/tmp/x", "\\"]
HOSTILE_VALUES = ["$(touch /tmp/pwned)", "`touch /tmp/pwned`", "a;touch /tmp/pwned", "' || true '", "x\ny", "ü"]


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if typing.get_origin(annotation) is typing.Literal:
        return all(isinstance(arg, str) for arg in typing.get_args(annotation))
    return any(_is_text(arg) for arg in typing.get_args(annotation) if arg is not type(None))


def _submodels(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _submodels(arg)]


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (list, tuple):
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation))


def string_settings(model: type[BaseModel] = stack_settings.Settings, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(config key, model, default) of every plain string setting below ``model``; secrets excluded.

    A list of objects shows as ``key[].field`` (one item, from LIST_ITEM_EXAMPLES), a list of
    strings as ``key[]`` (a one-item list).
    """
    found = []
    for name, field in model.model_fields.items():
        if name == "stack" or "SecretStr" in str(field.annotation) or field.annotation is SecretStr:
            continue
        key = prefix + (field.alias or name) + ("[]" if _is_list(field.annotation) else "")
        subs = _submodels(field.annotation)
        if subs:
            for sub in subs:
                found += string_settings(sub, key + ".")
        elif _is_text(field.annotation):
            found.append((key, model, field.default))
    return found


STRING_SETTINGS = string_settings()
# A valid item for each list of objects (a setting added later fails here until it has one).
LIST_ITEM_EXAMPLES: dict[str, dict[str, Any]] = {"users": {"name": "ci", "role": "push"}}


def _with(container: dict | None, parts: list[str], value: Any, done: str = "") -> dict:
    """``container`` with ``value`` at the dotted ``parts``; a ``name[]`` part holds a one-item list."""
    head, rest = parts[0], parts[1:]
    name = head.removesuffix("[]")
    if rest and head.endswith("[]"):
        inner: Any = [_with(LIST_ITEM_EXAMPLES[done + name], rest, value, f"{done}{head}.")]
    elif rest:
        inner = _with((container or {}).get(name), rest, value, f"{done}{head}.")
    else:
        inner = [value] if head.endswith("[]") else value
    return {**(container or {}), name: inner}


def _config(key: str, model: Any, value: Any) -> dict[str, str]:
    # prod sets instanceType and availabilityZone, lab is the existing-server stack.
    stack = "lab" if model is stack_settings.ExistingServer else "prod"
    config: dict[str, Any] = stack_file_config(stack)
    config.update(TEST_SECRETS)
    if key.startswith("sslConsole."):
        config[f"{NS}:certificate"] = "ssl-console"
    if key == "nexus.dockerHubUsername":
        config[f"{NS}:dockerHubToken"] = "dckr_pat_example"
    top = key.split(".")[0].removesuffix("[]")
    config[f"{NS}:{top}"] = _with({top: config.get(f"{NS}:{top}")}, key.split("."), value)[top]
    config = {k: json.dumps(v) if isinstance(v, (dict, list, bool, int)) else v for k, v in config.items()}
    return {"stack": stack, "config": config}


def _problem_key(key: str) -> str:
    return key.replace("[]", "[0]")


def _valid(key: str, default: Any, model: Any = None) -> str:
    if key == "server.mode":
        return "existing" if model is stack_settings.ExistingServer else "cvm"
    if key.endswith("Cidrs[]"):
        return "58.246.10.0/24"
    if key in VALID_EXAMPLES:
        return VALID_EXAMPLES[key]
    assert isinstance(default, str) and default, f"{key}: add a valid example to VALID_EXAMPLES"
    return default


def test_every_string_setting_is_enumerated():
    keys = {key for key, _, _ in STRING_SETTINGS}
    assert {"domain", "webHost", "server.address", "server.user", "server.sshAllowedCidrs[]", "server.dataDevice",
            "server.hostKey", "nexus.version", "nexus.dockerHubUsername", "nexus.dockerHubRemote",
            "acme.server", "webMaxUploadSize"} <= keys
    for key, model, default in STRING_SETTINGS:
        _valid(key, default, model)


@pytest.mark.parametrize("key, model, default", STRING_SETTINGS, ids=[key for key, _, _ in STRING_SETTINGS])
def test_the_valid_example_is_accepted(key, model, default):
    case = _config(key, model, _valid(key, default, model))
    stack_settings.from_mapping(case["stack"], case["config"])


@pytest.mark.parametrize("key, model, default", STRING_SETTINGS, ids=[key for key, _, _ in STRING_SETTINGS])
def test_hostile_text_is_refused_with_one_line_naming_the_key(key, model, default):
    valid = _valid(key, default, model)
    for hostile in [valid + suffix for suffix in HOSTILE_SUFFIXES] + [suffix + valid for suffix in ("\n", " ")] \
            + HOSTILE_VALUES:
        case = _config(key, model, hostile)
        with pytest.raises(stack_settings.SettingsError) as caught:
            accepted = stack_settings.from_mapping(case["stack"], case["config"])
            if key == "server.hostKey" and hostile.strip() in (valid, valid + " id"):
                # An OpenSSH key line may end in a comment: it is dropped (so is outer space), never used.
                assert accepted.server.host_key == valid
                raise stack_settings.SettingsError([f"{NS}:{key}: comment dropped"])
            pytest.fail(f"{key}={hostile!r} was accepted")
        problems = caught.value.problems
        expected = f"{NS}:{_problem_key(key)}: "
        assert len(problems) == 1 and problems[0].startswith(expected), (hostile, problems)
        assert "\n" not in problems[0] and "\r" not in problems[0], (hostile, problems)


@pytest.mark.parametrize("stack", ["dev", "a\nb", "x;id", "$(id)", "nexus registry"])
def test_the_stack_name_is_checked_too(stack):
    config = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in stack_file_config("dev").items()}
    config.update(TEST_SECRETS)
    if stack == "dev":
        assert stack_settings.from_mapping(stack, config).stack == "dev"
        return
    with pytest.raises(stack_settings.SettingsError) as caught:
        stack_settings.from_mapping(stack, config)
    assert caught.value.problems[0].startswith(f"{NS}:stack: ") and "\n" not in caught.value.problems[0]


@pytest.mark.parametrize("key, value, words", [
    ("webHost", "nexus\n", "not a DNS label"),
    ("domain", "a\n.example.com", "not a DNS name"),
    ("nexus.version", "3.86.2\n", "not a sonatype/nexus3 release tag"),
    ("server.user", "root\n", "not a Unix user name"),
    ("nexus.dockerHubRemote", "https://user:pw@registry-1.docker.io", "user:password@"),
    ("nexus.dockerHubRemote", "https://registry-1.docker.io/$(id)", "not an http(s) URL"),
    ("nexus.dockerHubRemote", "ftp://registry-1.docker.io", "not an http(s) URL"),
    ("nexus.dockerHubRemote", "https://:443/", "not an http(s) URL"),
    ("nexus.pypiRemote", "https://pypi.org:99999/", "bad host or port"),
    ("acme.server", "http://acme.example.com/dir", "not an ACME directory"),
    ("server.dockerMirror", "https://mirror.example.com'", "not an http(s) URL"),
    ("nexus.dockerHubUsername", "Robot User", "not a Docker Hub user name"),
    ("server.dataDevice", "/dev/disk/by-id/..", "stable device path"),
    ("server.dataDevice", "/dev/disk/by-label/a\\x20b", "stable device path"),
    ("server.address", "fe80::1%$(id)", "not an IP address or host name"),
    ("server.hostKey", "ssh-ed25519", "public host key line"),
    ("server.hostKey", "ssh-ed25519 not-base64!", "not base64"),
    ("server.hostKey", "ssh-rsa " + LAB_HOST_KEY.split()[1], "not a ssh-rsa key"),
    ("server.hostKey", "ssh-dss AAAAB3NzaC1kc3M=", "public host key line"),
    ("nexus.imageDigest", "sha256:ABC", "not an image digest"),
    ("nexus.imageDigest", "sha256:" + "a" * 64 + "\n", "not an image digest"),
    ("database.migratorSha256", "A" * 64, "not a SHA-256"),
    ("database.migratorSha256", "a" * 64 + "\n", "not a SHA-256"),
    ("database.migratorVersion", "3.93.2", "not a migrator version-build such as '3.93.2-03'"),
])
def test_specific_rules_explain_themselves(key, value, words):
    model = stack_settings.ExistingServer if key in ("server.user", "server.dataDevice", "server.address",
                                                     "server.hostKey") else None
    case = _config(key, model, value)
    with pytest.raises(stack_settings.SettingsError) as caught:
        stack_settings.from_mapping(case["stack"], case["config"])
    assert len(caught.value.problems) == 1, caught.value.problems
    assert caught.value.problems[0].startswith(f"{NS}:{key}: ") and words in caught.value.problems[0], \
        caught.value.problems


def test_host_key_comment_is_dropped_and_key_kept():
    case = _config("server.hostKey", stack_settings.ExistingServer, LAB_HOST_KEY + " root@lab")
    assert stack_settings.from_mapping(case["stack"], case["config"]).server.host_key == LAB_HOST_KEY


def test_the_safety_net_covers_lists_and_maps_of_any_future_model():
    # A model defined the way a new setting would be: no rule of its own beyond the type.
    class Future(stack_settings._Model):
        names: list[str] = []
        by_host: dict[str, list[str]] = {}
        note: str = ""

    assert Future.model_validate({"names": ["a"], "byHost": {"web": ["10.0.0.0/8"]}}).by_host == {"web": ["10.0.0.0/8"]}
    for raw, loc in [({"names": ["ok", "x;id"]}, ("names", 1)),
                     ({"byHost": {"web": ["10.0.0.0/8", "$(id)"]}}, ("byHost", "web", 1)),
                     ({"byHost": {"we b": []}}, ("byHost",)),
                     ({"note": "a\nb"}, ("note",))]:
        with pytest.raises(stack_settings.ValidationError) as caught:
            Future.model_validate(raw)
        (error,) = caught.value.errors()
        assert error["ctx"]["error"].loc == loc, (raw, error)
