#!/usr/bin/env bash
# Deploy one stack from a fresh machine: venv, requirements, a pinned Pulumi CLI
# when none is on PATH, a local file:// state backend unless one is chosen,
# the stack selected or created, missing secrets prompted for, then pulumi up.
set -euo pipefail

PULUMI_VERSION=3.272.0
cd "$(dirname "$0")/.."

stack=${1:-}
action=${2:-up}
if [[ -z "$stack" ]]; then
  echo "usage: make up STACK=<stack>   (stacks: $(find stacks -name 'Pulumi.*.yaml' | sed 's/.*Pulumi\.\(.*\)\.yaml/\1/' | sort | xargs))" >&2
  exit 2
fi
if [[ ! -f "stacks/Pulumi.$stack.yaml" ]]; then
  echo "note: stacks/Pulumi.$stack.yaml does not exist yet; Pulumi will create it and validation will name what is missing" >&2
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
# Exact versions and file hashes (scripts/lock.sh): anything else on the index is refused.
.venv/bin/python -m pip install --quiet --require-hashes -r requirements-build.lock
.venv/bin/python -m pip install --quiet --require-hashes --no-build-isolation -r requirements.lock

if ! command -v pulumi >/dev/null 2>&1; then
  if [[ ! -x "$HOME/.pulumi/bin/pulumi" ]]; then
    echo "==> no pulumi CLI on PATH: installing Pulumi $PULUMI_VERSION with the official installer into ~/.pulumi"
    curl -fsSL https://get.pulumi.com | sh -s -- --version "$PULUMI_VERSION"
  fi
  export PATH="$HOME/.pulumi/bin:$PATH"
fi

if [[ -z "${PULUMI_BACKEND_URL:-}" ]] && ! pulumi whoami >/dev/null 2>&1; then
  mkdir -p .pulumi-state
  echo "==> no state backend chosen: using local state in $PWD/.pulumi-state (set PULUMI_BACKEND_URL to use another)"
  pulumi login "file://$PWD/.pulumi-state"
fi

pulumi stack select "$stack" --create

config_has() { pulumi config get --stack "$stack" "$1" >/dev/null 2>&1; }
if ! config_has adminPassword; then
  echo "==> the Nexus admin password is not set (at least 12 characters)"
  pulumi config set --stack "$stack" --secret adminPassword
fi
if grep -Eq '^\s*mode:\s*existing' "stacks/Pulumi.$stack.yaml" 2>/dev/null && ! config_has sshPrivateKey; then
  read -r -p "==> path of the SSH private key for the existing server: " key_path
  pulumi config set --stack "$stack" --secret sshPrivateKey < "${key_path/#\~/$HOME}"
fi
if grep -Eq '^\s*dockerHubUsername:' "stacks/Pulumi.$stack.yaml" 2>/dev/null && ! config_has dockerHubToken; then
  echo "==> nexus.dockerHubUsername is set: enter the Docker Hub access token"
  pulumi config set --stack "$stack" --secret dockerHubToken
fi

# Each entry of `users` has its own password (userPasswords.<name>); `ci` when the stack lists none.
users=$(sed -nE 's/^[[:space:]]*-[[:space:]]*name:[[:space:]]*([a-z][a-z0-9._-]*)[[:space:]]*(#.*)?$/\1/p' \
  "stacks/Pulumi.$stack.yaml" 2>/dev/null || true)
for user in ${users:-ci}; do
  if ! pulumi config get --stack "$stack" --path "userPasswords.$user" >/dev/null 2>&1; then
    echo "==> the password of the Nexus user $user is not set (at least 12 characters, not the admin password)"
    pulumi config set --stack "$stack" --secret --path "userPasswords.$user"
  fi
done

exec pulumi "$action" --stack "$stack"
