"""``python -m components.shell_messages KEY [NAME=VALUE ...]``: one line of ``make up`` in the user's language.

scripts/up.sh prints its questions, its refusals and the Pulumi CLI's install advice through this module, and
scripts/init-stack.sh (``make init``) its lines, so they come from the same gettext catalogue as the stack
check's messages (``components.i18n``): Chinese when the locale is ``zh_CN*``, English otherwise.  Only the
standard library is imported, so it runs with any Python 3 before the project's requirements are installed, and
no shell needs ``gettext(1)`` (macOS and minimal Debian images lack it).  ``NAME=VALUE`` pairs fill the
``{NAME}`` fields of the message.
"""

from __future__ import annotations

import sys

from components.i18n import _


def messages() -> dict[str, str]:
    """Every message of scripts/up.sh and scripts/init-stack.sh by key, translated now (the environment's language)."""
    return {
        "usage": _("usage: make up STACK=<stack>   (stacks: {stacks}; a new one: make init STACK=<name>)"),
        "no-stack": _("there is no stack '{stack}' ({stack_file} does not exist; stacks: {stacks}).\n"
                      "  To create it: make init STACK={stack} FROM=<dev|prod|lab>, edit {stack_file}, "
                      "then make {action} STACK={stack}"),
        "fix-stack-file": _("fix the lines above in {stack_file} (nested keys: pulumi config set --path), "
                            "then re-run"),
        "installing-requirements": _("installing requirements.lock into .venv (hashes checked)"),
        "logged-in-backend": _("using the state backend you are logged into: {backend} "
                               "(PULUMI_BACKEND_URL chooses another)"),
        "preflight-failed": _("the preflight found the problems above (README: Preflight)"),
        "cli-install-advice": _(
            "the Pulumi CLI could not be installed: {problem}\n"
            "Install it by hand, then re-run make {action} STACK={stack}:\n"
            "  curl -fLO {url}        # on any machine that can reach get.pulumi.com\n"
            "  sha256sum {tarball}    # must equal {expected}\n"
            "  mkdir -p ~/.pulumi/bin && tar -xzf {tarball} --strip-components=1 -C ~/.pulumi/bin\n"
            "or point make at the tarball you downloaded (it is checked the same way):\n"
            "  PULUMI_CLI_TARBALL=/path/to/{tarball} make {action} STACK={stack}\n"
            "or install any Pulumi 3 CLI as https://www.pulumi.com/docs/iac/download-install/ describes, "
            "so that pulumi is on PATH."),
        "cli-checksum-line": _("the {platform} line of {url}"),
        "path-hint": _("pulumi is in ~/.pulumi/bin; for the pulumi commands in README run first: "
                       "export PATH=\"$HOME/.pulumi/bin:$PATH\""),
        "local-state": _("no state backend chosen: using local state in {directory} "
                         "(PULUMI_BACKEND_URL chooses another)"),
        "ask-passphrase": _("passphrase that encrypts the secrets of stack {stack} "
                            "(a new stack: choose one; or export PULUMI_CONFIG_PASSPHRASE)"),
        "no-passphrase": _("no passphrase given; export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) "
                           "and re-run"),
        "ask-passphrase-again": _("the same passphrase again (stack {stack} is new: a typo now would lock its "
                                  "secrets away)"),
        "passphrases-differ": _("the two passphrases differ; choose one again"),
        "passphrases-never-matched": _("the passphrases did not match three times; export "
                                       "PULUMI_CONFIG_PASSPHRASE and re-run"),
        "stack-not-deployed": _("stack {stack} is not in the backend {backend}: deploy it first with "
                                "make up STACK={stack}"),
        "no-ssh-output": _("stack {stack} has no ssh output yet: deploy it first with make up STACK={stack}"),
        "unexpected-ssh-output": _("unexpected ssh output of stack {stack}: {output}"),
        "no-secret-value": _("no value for nexus-registry:{key}; set it with: {command}"),
        "try-again": _("{problem}; try again"),
        "ask-key-path": _("path of the SSH private key for the existing server (or export SSH_KEY_FILE)"),
        "no-key-path": _("no SSH private key given; export SSH_KEY_FILE=<path> and re-run"),
        "unreadable-key": _("cannot read the SSH private key '{path}'"),
        "ask-adminPassword": _("the Nexus admin password is not set: enter one (at least 12 characters)"),
        "ask-dockerHubToken": _("nexus.dockerHubUsername is set: enter the Docker Hub access token"),
        "ask-databasePassword": _("database.engine is postgresql: enter the password of the database user"),
        "ask-userPassword": _("the password of the Nexus user {user} is not set: enter one "
                              "(at least 12 characters, not the admin password)"),
        "restore-from": _("FROM must be 'snapshot' (the data disk was restored from a snapshot: use the newest "
                          "database backup on it) or an absolute path on the host to a nexus-<timestamp>.zip or to "
                          "a directory holding db-backup/ and blobs/; got '{source}'"),
        "converge": _("converge: every host step runs again (NEXUS_REGISTRY_CONVERGE={value}); "
                      "nothing in the cloud changes"),
        # scripts/init-stack.sh (make init)
        "init-usage": _("usage: make init STACK=<new stack> [FROM=<dev|prod|lab|...>]"),
        "init-exists": _("make init: {stack_file} exists already; edit it, or choose another name"),
        "init-edit": _("==> edit what the lines above name in {stack_file}, then: make up STACK={stack}"),
        "init-ready": _("==> {stack_file} is ready: make up STACK={stack}"),
    }


def message(key: str, fields: dict[str, str]) -> str:
    """The message ``key`` with its ``{name}`` fields filled (KeyError: an unknown key or a missing field)."""
    return messages()[key].format(**fields)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m components.shell_messages KEY [NAME=VALUE ...]", file=sys.stderr)
        return 2
    fields = dict(pair.split("=", 1) for pair in args[1:] if "=" in pair)
    try:
        print(message(args[0], fields))
    except KeyError as error:
        print(f"components.shell_messages: unknown message or field {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
