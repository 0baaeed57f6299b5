#!/usr/bin/env bash
# The workflows' first step with the Pulumi CLI: the pinned release, checked against
# scripts/pulumi-cli.sha256 (scripts/pulumi-cli.sh), into ~/.pulumi/bin.  pulumi/actions then
# finds it on PATH at the version it is asked for and downloads nothing itself.
# Prints the directory to put on PATH (the workflow appends it to $GITHUB_PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pulumi-cli.sh
source scripts/pulumi-cli.sh

if [[ -x $PULUMI_CLI_DIR/pulumi && "$("$PULUMI_CLI_DIR/pulumi" version 2>/dev/null)" == "v$PULUMI_VERSION" ]]; then
  echo "==> Pulumi $PULUMI_VERSION is installed in ~/.pulumi/bin" >&2
elif ! install_pulumi_cli >&2; then
  echo "install-pulumi-cli: $PULUMI_CLI_PROBLEM" >&2
  exit 1
fi
echo "$PULUMI_CLI_DIR"
