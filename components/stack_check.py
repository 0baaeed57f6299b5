"""``python -m components.stack_check stacks/Pulumi.<stack>.yaml``: check a stack file before anything else.

``make up`` runs this first, before it installs the Pulumi CLI, logs in or
asks for a secret, so a placeholder or a typo costs a second, not a billed
half-deployment.  It needs only pydantic and PyYAML (no Pulumi), reads the file
alone, and prints one line per problem: YAML syntax errors with file and line,
keys in a misspelt namespace, nested keys stored flat, secrets written in plain
text (with the ``pulumi config set --secret`` command that stores each), and every settings
problem exactly as ``pulumi up`` would report it.  Exit status 2 on problems.

``--missing-secrets`` prints, one per line, the secrets this stack needs that
its file does not hold yet (for ``make up`` to ask for; ``userPasswords.<name>`` is
set with ``--path``).  ``--check-secret KEY`` holds the value on stdin to the rules of
secret KEY (``make up`` asks again until an answer passes).  ``--new-from
TEMPLATE`` writes the (absent) stack file from another stack's file, for
``make init``: creating a stack is an explicit act, never a typo's side effect.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components import settings as stack_settings
from components.i18n import _

# Top-level keys Pulumi itself writes into a stack file.
STACK_FILE_KEYS = frozenset({"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"})


class StackFileError(Exception):
    """The file cannot be read as a stack file; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def read_config(path: Path) -> dict[str, Any]:
    """The ``config:`` section of a stack file, or StackFileError naming file and line."""
    try:
        document = stack_settings.load_stack_yaml(path.read_text())
    except OSError as error:
        raise StackFileError([f"{path}: " + _("cannot read: {reason}").format(reason=error.strerror)]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(part for part in (error.context, error.problem) if part)
        raise StackFileError([f"{where}: " + _("YAML syntax error: {what}").format(what=what)]) from None
    except yaml.YAMLError as error:
        raise StackFileError([f"{path}: " + _("YAML syntax error: {what}").format(what=error)]) from None
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise StackFileError([f"{path}: " + _("is not a stack file (expected keys such as config:)")])
    problems = [f"{path}: " + _("top-level key {key!r} is not part of a stack file; settings go under config:").format(
                    key=key) for key in document if key not in STACK_FILE_KEYS]
    config = document.get("config") or {}
    if not isinstance(config, Mapping):
        problems.append(f"{path}: " + _("config: must hold keys such as nexus-registry:domain"))
    if problems:
        raise StackFileError(problems)
    return dict(config)


def check(path: Path) -> list[str]:
    """Every problem of the stack file, one line each; empty when it is ready for ``pulumi up``."""
    try:
        config = read_config(path)
    except StackFileError as error:
        return error.problems
    stack = stack_name(path)
    # A secret in plain text is refused before anything else reads it; validation then sees it as encrypted.
    problems = stack_settings.plaintext_secret_problems(config, f"stacks/{path.name}")
    try:
        stack_settings.from_mapping(stack, stack_settings.without_plaintext_secrets(config), secret_placeholders=True)
    except stack_settings.SettingsError as error:
        problems += error.problems
    return problems


def missing_secrets(path: Path) -> list[str]:
    """The secrets the stack needs (per its settings) that its file holds no value for."""
    config = read_config(path)
    ns = stack_settings.NAMESPACE
    settings = stack_settings.from_mapping(stack_name(path), config, secret_placeholders=True)
    needed = ["adminPassword"]
    if settings.server.is_existing:
        needed.append("sshPrivateKey")
    if settings.nexus.docker_hub_username:
        needed.append("dockerHubToken")
    if settings.server.is_existing and settings.database.postgresql:
        needed.append("databasePassword")  # a cvm stack generates its own when unset
    missing = [key for key in needed if f"{ns}:{key}" not in config]
    # Each Nexus user's password is a leaf set with --path (userPasswords.<name>).
    held = config.get(f"{ns}:userPasswords")
    held = held if isinstance(held, Mapping) else {}
    return missing + [f"userPasswords.{user.name}" for user in settings.users if user.name not in held]


def secret_problems(path: Path, key: str, value: str) -> list[str]:
    """What the settings' own rules say of ``value`` as the secret ``key`` of this stack (``make up``'s answers).

    The value takes the place of the secret's placeholder and the whole stack is validated, so an answer is
    held to exactly the rules ``pulumi up`` applies; only the lines about ``key`` are returned.
    """
    config = read_config(path)
    ns = stack_settings.NAMESPACE
    top, _, leaf = key.partition(".")
    if leaf:  # userPasswords.<name>: a leaf of an object
        held = config.get(f"{ns}:{top}")
        config[f"{ns}:{top}"] = {**(held if isinstance(held, Mapping) else {}), leaf: value}
    else:
        config[f"{ns}:{key}"] = value
    try:
        stack_settings.from_mapping(stack_name(path), config, secret_placeholders=True)
    except stack_settings.SettingsError as error:
        return [line for line in error.problems
                if line.startswith((f"{ns}:{key}:", f"{ns}:{key}.", f"{ns}:{key}["))]
    return []


# Lines bound to the template's own encryption: another stack cannot decrypt them.
_ENCRYPTION_KEYS = ("encryptionsalt:", "encryptedkey:", "secretsprovider:")


def new_stack_text(template: str) -> str:
    """A template stack file without its encryption state and secret values (comments kept)."""
    lines = template.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith(_ENCRYPTION_KEYS):
            continue
        if line.lstrip().startswith("secure:"):
            continue
        following = lines[index + 1].lstrip() if index + 1 < len(lines) else ""
        if line.rstrip().endswith(":") and following.startswith("secure:"):
            continue  # `key:` whose only value is the encrypted one below
        if re.search(r":\s*\{\s*secure:", line):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.stack_check", description=__doc__.splitlines()[0])
    parser.add_argument("stack_file", type=Path)
    parser.add_argument("--missing-secrets", action="store_true",
                        help="print the secrets the stack needs and its file does not hold")
    parser.add_argument("--new-from", type=Path, metavar="TEMPLATE",
                        help="create STACK_FILE from the stack file TEMPLATE, then check it")
    parser.add_argument("--check-secret", metavar="KEY",
                        help="check the value on stdin as the secret KEY of this stack (make up's questions)")
    args = parser.parse_args(argv)
    if args.check_secret is not None:
        problems = secret_problems(args.stack_file, args.check_secret, sys.stdin.read())
        for line in problems:
            print(line, file=sys.stderr)
        return 2 if problems else 0
    if args.new_from is not None:
        if args.stack_file.exists():
            print(f"{args.stack_file}: " + _("exists already; edit it, or choose another name"), file=sys.stderr)
            return 2
        if not re.match(r"^Pulumi\.[A-Za-z0-9][A-Za-z0-9_.-]*\.yaml$", args.stack_file.name):
            print(f"{args.stack_file}: " + _("a stack name is letters, digits, '-', '_' and '.'"), file=sys.stderr)
            return 2
        if not args.new_from.is_file():
            print(f"{args.new_from}: " + _("no such template stack file"), file=sys.stderr)
            return 2
        args.stack_file.write_text(new_stack_text(args.new_from.read_text()))
        print(_("created {stack_file} from {template}").format(stack_file=args.stack_file, template=args.new_from))
    problems = check(args.stack_file)
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        return 2
    if args.missing_secrets:
        for key in missing_secrets(args.stack_file):
            print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
