"""Settings factories the tests share: a stack file's settings with test secrets and overrides.

- ``stack_settings(stack)`` (tests/harness.py): the stack file as shipped, placeholder secrets;
- ``make_settings(stack, nexus, token=, **top)``: real (test) secrets (``ADMIN_PASSWORD``,
  ``USER_PASSWORDS``, ``DOCKER_HUB_TOKEN`` with ``token=True``), the ``nexus`` map merged key by key,
  any other top-level key replaced, validated like the program does;
- ``settings_with(stack, **changes)``: placeholder secrets, each changed map merged key by key;
- ``database_settings(**database)``: a small stack on ``database.engine: postgresql`` (a CVM, or with
  ``host`` an existing server), its password ``DATABASE_PASSWORD``.
"""

from __future__ import annotations

import json
from typing import Any

from components import settings as stack_settings
from tests.harness import LAB_HOST_KEY, TEST_SECRETS, stack_file_config

ADMIN_PASSWORD = "Configured-Admin-Pass-42"
DOCKER_HUB_TOKEN = "dckr_pat_Secret-Token-77"
USER_PASSWORDS = {"ci": "Ci-Push-Password-17"}
DATABASE_PASSWORD = "Nx_pass-(word)+42^"  # every symbol the generated passwords may hold
DATABASE_STACK = {
    "stack": "dbtest", "domain": "registry.internal", "adminPassword": TEST_SECRETS["nexus-registry:adminPassword"],
    "userPasswords": TEST_SECRETS["nexus-registry:userPasswords"],
    "nexus": {"version": "3.86.2"},
}


def make_settings(stack: str = "lab", nexus: dict[str, Any] | None = None, *, token: bool = False,
                  **top: Any) -> stack_settings.Settings:
    """A stack file's settings with real (test) secrets and overrides, validated like the program does."""
    config = stack_file_config(stack)
    prefix = stack_settings.NAMESPACE
    config[f"{prefix}:adminPassword"] = ADMIN_PASSWORD
    config[f"{prefix}:userPasswords"] = json.dumps(USER_PASSWORDS)
    config[f"{prefix}:sshPrivateKey"] = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n"
    merged_nexus = dict(config.get(f"{prefix}:nexus") or {})
    merged_nexus.update(nexus or {})
    if token:
        merged_nexus.setdefault("dockerHubUsername", "team-bot")
        config[f"{prefix}:dockerHubToken"] = DOCKER_HUB_TOKEN
    config[f"{prefix}:nexus"] = merged_nexus
    for key, value in top.items():
        config[f"{prefix}:{key}"] = value
    return stack_settings.from_mapping(stack, config)


def settings_with(stack: str = "dev", **changes: dict[str, Any]) -> stack_settings.Settings:
    """The stack file with placeholder secrets, each ``key=map`` merged into the file's map of that key."""
    config = stack_file_config(stack)
    for key, value in changes.items():
        config[f"{stack_settings.NAMESPACE}:{key}"] = {**(config.get(f"{stack_settings.NAMESPACE}:{key}") or {}),
                                                       **value}
    return stack_settings.from_mapping(stack, config, secret_placeholders=True)


def database_settings(**database: Any) -> stack_settings.Settings:
    """A small stack on PostgreSQL: a CVM, or with ``host`` an existing server (its own SSH key, no DNS)."""
    if database.get("host"):
        server = {"mode": "existing", "address": "10.1.2.3", "hostKey": LAB_HOST_KEY}
        extra = {"sshPrivateKey": TEST_SECRETS["nexus-registry:sshPrivateKey"], "databasePassword": DATABASE_PASSWORD,
                 "dns": "none", "certificate": "self-signed"}
    else:
        server = {"mode": "cvm", "cpu": 4, "memoryGb": 8, "sshAllowedCidrs": ["10.0.0.0/8"]}
        extra = {}
    database = {"engine": "postgresql", **database}
    return stack_settings.validate({**DATABASE_STACK, **extra, "server": server, "database": database})


def setting_keys(model, prefix: str = ""):
    """Every setting's key (``server.sshAllowedCidrs``), nested models included."""
    for name, field in model.model_fields.items():
        if name == "stack":
            continue
        key = prefix + (field.alias or name)
        yield key
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            for inner in (candidate, *getattr(candidate, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, stack_settings.BaseModel):
                    yield from setting_keys(inner, key + ".")
