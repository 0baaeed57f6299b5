#!/usr/bin/env bash
# `make up|converge|preview|preflight|ssh|status|retention-plan|restore STACK=<stack>`: deploy one stack from a fresh
# machine, or reach its host.
#
# Order matters, cheapest check first:
#   1. the stack file is checked (pydantic + PyYAML only, about a second): a
#      placeholder or a typo stops here, before anything is installed or asked;
#   2. .venv from the hash-checked requirements.lock (re-installed only when it changes);
#   3. the state backend is read: PULUMI_BACKEND_URL, else the one you are logged into
#      (read from Pulumi's credentials file, no command that could prompt), else
#      local state in .pulumi-state/; a COS bucket gets the S3 client settings COS needs;
#   4. the preflight (components/preflight; make up and preview of a stack with Tencent
#      resources, skipped with PREFLIGHT=0): account, permissions, stock, balance, image,
#      backend bucket and existing server, in seconds; make preflight stops here;
#   5. the pinned Pulumi CLI when none is on PATH: the release tarball, checked
#      against the SHA-256 committed in scripts/pulumi-cli.sha256 (scripts/pulumi-cli.sh),
#      and the login into the backend of step 3;
#   6. the passphrase of the stack's secrets (local/S3/COS backends): from
#      PULUMI_CONFIG_PASSPHRASE(_FILE), else asked here, visibly (twice for a new stack);
#   7. the secrets the stack file does not hold yet, asked here, visibly, each answer held to
#      the stack check's own rules for that secret and asked again (three tries) until it passes;
#   8. pulumi up / preview; for ssh a shell on the host, for status the host's
#      nexus-status.sh (its exit status: 0 fine, 3 warnings, 1 could not check); for
#      retention-plan the host's nexus-retention.sh --dry-run (what retention would delete);
#      for restore the host's nexus-restore.sh FROM (README: Runbook); converge is pulumi up
#      with NEXUS_REGISTRY_CONVERGE set to a new value, which every host step has among its
#      triggers, so every host step runs again (and reports what it changed).
# Nothing waits on a prompt it hides: every question is printed, and each has
# an environment variable that answers it instead (see README: Questions make up asks).
# Every line it prints comes from components/shell_messages.py (msg below), in the user's language:
# Chinese when LC_ALL, LC_MESSAGES or LANG is zh_CN* (README: Chinese output).
set -euo pipefail

cd "$(dirname "$0")/.."

stack=${1:-}
action=${2:-up}
msg() {  # msg KEY [NAME=VALUE ...]: that message in the user's language (stdlib gettext, any Python 3)
  local python=${PYTHON:-python3}
  [[ ! -x .venv/bin/python ]] || python=.venv/bin/python
  "$python" -m components.shell_messages "$@"
}
from=${3:-}
pulumi_action=$action
say() { printf '==> %s\n' "$*"; }
fail() { printf 'make %s: %s\n' "$action" "$*" >&2; exit 2; }
stacks() { find stacks -name 'Pulumi.*.yaml' | sed 's/.*Pulumi\.\(.*\)\.yaml/\1/' | sort | xargs; }

if [[ -z "$stack" ]]; then
  msg usage stacks="$(stacks)" >&2
  exit 2
fi
stack_file="stacks/Pulumi.$stack.yaml"
if [[ ! -f "$stack_file" ]]; then
  fail "$(msg no-stack stack="$stack" stack_file="$stack_file" stacks="$(stacks)" action="$action")"
fi

# --- 1. the stack file, before anything else -------------------------------------
# shellcheck source=scripts/python-env.sh
source scripts/python-env.sh
ensure_venv
install_locked_subset pydantic yaml -- "${CHECK_PACKAGES[@]}"
if ! .venv/bin/python -m components.stack_check "$stack_file"; then
  echo "make $action: $(msg fix-stack-file stack_file="$stack_file")" >&2
  exit 2
fi

# shellcheck source=scripts/pulumi-cli.sh
source scripts/pulumi-cli.sh  # file_sha256 here, the CLI in step 3

# --- 2. the program's requirements, re-installed only when a lock file changes ---------
# Exact versions and file hashes (scripts/lock.sh): anything else on the index is refused.
requirements_stamp=.venv/.nexus-registry-requirements.sha256
locks_digest="$(file_sha256 requirements-build.lock) $(file_sha256 requirements.lock)"
if [[ "$(cat "$requirements_stamp" 2>/dev/null)" != "$locks_digest" ]]; then
  say "$(msg installing-requirements)"
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements-build.lock
  .venv/bin/python -m pip install --quiet --require-hashes --no-build-isolation -r requirements.lock
  echo "$locks_digest" > "$requirements_stamp"
fi

# --- 3. the state backend (logged into after the CLI is installed) ------------------------------
pulumi_home=${PULUMI_HOME:-$HOME/.pulumi}
backend=${PULUMI_BACKEND_URL:-}
if [[ -z "$backend" && -f "$pulumi_home/credentials.json" ]]; then
  # What `pulumi whoami` would report, read without running a command that may start a login prompt.
  backend=$(.venv/bin/python -c 'import json, sys; print(json.load(open(sys.argv[1])).get("current") or "")' \
    "$pulumi_home/credentials.json" 2>/dev/null || true)
  [[ -z "$backend" ]] || say "$(msg logged-in-backend backend="$backend")"
fi
local_state=""
if [[ -z "$backend" ]]; then
  backend="file://$PWD/.pulumi-state"
  local_state=yes
fi
# COS through Pulumi's S3 backend: aws-sdk-go-v2 (CLI 3.245+) would upload state as aws-chunked with a
# trailing checksum, which S3-compatible stores such as COS refuse (pulumi/pulumi #23764, #24219); only
# checksums an operation requires are sent and checked (README: State in Tencent COS).
if [[ "$backend" == s3://* && "$backend" == *myqcloud.com* ]]; then
  export AWS_REQUEST_CHECKSUM_CALCULATION=${AWS_REQUEST_CHECKSUM_CALCULATION:-when_required}
  export AWS_RESPONSE_CHECKSUM_VALIDATION=${AWS_RESPONSE_CHECKSUM_VALIDATION:-when_required}
fi

# --- 4. the preflight: what the account, the network and the host allow, before any question --------
if [[ "$action" == restore ]]; then  # checked before anything is installed: the host script gets it verbatim
  [[ "$from" == snapshot || "$from" =~ ^/[A-Za-z0-9._/-]+$ ]] \
    || fail "$(msg restore-from source="$from")"
fi
if [[ "$action" == converge ]]; then
  pulumi_action=up
  NEXUS_REGISTRY_CONVERGE=$(date -u +%Y%m%dT%H%M%SZ)
  export NEXUS_REGISTRY_CONVERGE
else
  # Only make converge re-runs every host step: a value left exported in a shell or a CI job must not.
  unset NEXUS_REGISTRY_CONVERGE
fi
if [[ "$action" == preflight || ( ( "$pulumi_action" == up || "$action" == preview ) && "${PREFLIGHT:-1}" != 0 ) ]]; then
  preflight_args=(--backend "$backend")
  [[ -z "$local_state" ]] || preflight_args=(--backend "")  # local state: no bucket to probe
  [[ "$action" == preflight ]] || preflight_args+=(--auto)  # make up: stacks with Tencent resources only
  if ! .venv/bin/python -m components.preflight "${preflight_args[@]}" "$stack_file"; then
    echo "make $action: $(msg preflight-failed)" >&2
    exit 2
  fi
fi
[[ "$action" != preflight ]] || exit 0

# --- 5. the Pulumi CLI ---------------------------------------------------------------
install_cli() {
  install_pulumi_cli && return 0
  local tarball expected
  tarball=$(pulumi_cli_tarball)
  expected=$(pulumi_cli_expected)
  [[ -n "$expected" ]] || expected=$(msg cli-checksum-line platform="$(pulumi_cli_platform)" \
    url="https://get.pulumi.com/releases/sdk/pulumi-$PULUMI_VERSION-checksums.txt")
  printf 'make %s: %s\n' "$action" "$(msg cli-install-advice problem="$PULUMI_CLI_PROBLEM" action="$action" \
    stack="$stack" url="$(pulumi_cli_url)" tarball="$tarball" expected="$expected")" >&2
  exit 1
}
cli_added_to_path=""
if ! command -v pulumi >/dev/null 2>&1; then
  [[ -x "$PULUMI_CLI_DIR/pulumi" ]] || install_cli
  export PATH="$PULUMI_CLI_DIR:$PATH"
  cli_added_to_path=yes
fi
path_hint() {
  if [[ -n "$cli_added_to_path" ]]; then
    say "$(msg path-hint)"
  fi
}

if [[ -n "$local_state" ]]; then
  mkdir -p .pulumi-state
  say "$(msg local-state directory="$PWD/.pulumi-state")"
  pulumi login "$backend" </dev/null
fi

# --- 6. the passphrase of the stack's secrets -------------------------------------------
# Pulumi Cloud (https://) encrypts secrets itself; so does a stack whose file names a KMS
# secretsprovider.  Everything else uses a passphrase, which pulumi would otherwise ask for
# inside commands whose output is hidden or whose stdin is a file.
ask_passphrase() {  # a stack whose file holds no encryptionsalt yet is new: its passphrase is chosen now, so twice
  local again attempt
  for attempt in 1 2 3; do
    printf '==> %s: ' "$(msg ask-passphrase stack="$stack")"
    IFS= read -r -s PULUMI_CONFIG_PASSPHRASE || true
    echo
    [[ -n "$PULUMI_CONFIG_PASSPHRASE" ]] || fail "$(msg no-passphrase)"
    grep -q '^encryptionsalt:' "$stack_file" && break  # an existing stack: pulumi itself says if it is wrong
    printf '==> %s: ' "$(msg ask-passphrase-again stack="$stack")"
    IFS= read -r -s again || true
    echo
    [[ "$again" == "$PULUMI_CONFIG_PASSPHRASE" ]] && break
    say "$(msg passphrases-differ)"
    [[ $attempt -lt 3 ]] || fail "$(msg passphrases-never-matched)"
  done
  export PULUMI_CONFIG_PASSPHRASE
}
secrets_provider=$(sed -n 's/^secretsprovider:[[:space:]]*//p' "$stack_file")
if [[ "$backend" != https://* && ( -z "$secrets_provider" || "$secrets_provider" == passphrase ) \
      && -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  ask_passphrase
fi

# The stack file exists (checked above), so creating the stack in the backend is no accident;
# make ssh and make status only ever select a deployed one.
if [[ "$action" == ssh || "$action" == status || "$action" == retention-plan || "$action" == restore ]]; then
  pulumi stack select "$stack" </dev/null || fail "$(msg stack-not-deployed stack="$stack" backend="$backend")"
else
  pulumi stack select "$stack" --create </dev/null
fi

if [[ "$action" == ssh || "$action" == status || "$action" == retention-plan || "$action" == restore ]]; then
  # The host with the key the stack generated (cvm) or the one it deploys with (existing:
  # the sshPrivateKey secret), else your own; the host key is checked strictly against the
  # stack's sshKnownHosts output, never trusted on first use.  The key lives in a 0700
  # directory removed on exit, never on a command line.
  target=$(pulumi stack output --stack "$stack" ssh </dev/null) \
    || fail "$(msg no-ssh-output stack="$stack")"
  read -r -a ssh_command <<<"$target"
  [[ "${ssh_command[0]:-}" == ssh && ${#ssh_command[@]} -ge 2 ]] || fail "$(msg unexpected-ssh-output stack="$stack" output="$target")"
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the directory is fixed
  trap "rm -rf '$work'" EXIT
  chmod 0700 "$work"
  options=()
  if (umask 077 && pulumi stack output --stack "$stack" --show-secrets sshPrivateKey >"$work/key" </dev/null 2>/dev/null) \
      && [[ -s "$work/key" ]]; then
    options+=(-i "$work/key" -o IdentitiesOnly=yes)
  elif (umask 077 && pulumi config get --stack "$stack" sshPrivateKey >"$work/key" </dev/null 2>/dev/null) \
      && [[ -s "$work/key" ]]; then
    options+=(-i "$work/key" -o IdentitiesOnly=yes)
  fi
  if pulumi stack output --stack "$stack" sshKnownHosts >"$work/known_hosts" </dev/null 2>/dev/null \
      && [[ -s "$work/known_hosts" ]]; then
    options+=(-o "UserKnownHostsFile=$work/known_hosts" -o StrictHostKeyChecking=yes)
  fi
  remote=()
  if [[ "$action" == status || "$action" == retention-plan || "$action" == restore ]]; then
    options+=(-n -o BatchMode=yes -o ConnectTimeout=20)  # nothing to type: no prompt, no stdin
    user_at_host=${ssh_command[${#ssh_command[@]}-1]}
    [[ "${user_at_host%%@*}" == root ]] || remote=(sudo -n)
    if [[ "$action" == status ]]; then
      remote+=(/opt/nexus-registry/bin/nexus-status.sh)
    elif [[ "$action" == restore ]]; then
      remote+=(/opt/nexus-registry/bin/nexus-restore.sh "$from")
    else
      remote+=(/opt/nexus-registry/bin/nexus-retention.sh --dry-run)
    fi
  fi
  status=0
  "${ssh_command[0]}" ${options[@]+"${options[@]}"} "${ssh_command[@]:1}" ${remote[@]+"${remote[@]}"} || status=$?
  rm -rf "$work"
  exit "$status"
fi

# --- 7. secrets the stack file does not hold yet -----------------------------------------
secret_problem() {  # secret_problem KEY < value: the stack check's own rules for that secret; prints why not
  { .venv/bin/python -m components.stack_check --check-secret "$1" "$stack_file" >/dev/null; } 2>&1
}
ask_secret() {  # ask_secret KEY QUESTION: read a hidden value from stdin, check it, hand it to pulumi on stdin
  local key=$1 value path=() problem attempt
  [[ "$key" != *.* ]] || path=(--path)  # a leaf of an object, e.g. userPasswords.ci
  for attempt in 1 2 3; do
    printf '==> %s: ' "$2"
    IFS= read -r -s value || true
    echo
    [[ -n "$value" ]] || fail "$(msg no-secret-value key="$key" \
      command="pulumi config set --stack $stack --secret ${path[*]:+--path }$key")"
    problem=$(printf '%s' "$value" | secret_problem "$key") && break
    say "$(msg try-again problem="$problem")"
    [[ $attempt -lt 3 ]] || fail "$problem"
  done
  printf '%s' "$value" | pulumi config set --stack "$stack" --secret "${path[@]}" "$key"
}
ask_key_file() {  # the file of sshPrivateKey: SSH_KEY_FILE, else asked; its content is checked like the key
  local key_path=${SSH_KEY_FILE:-} problem attempt
  for attempt in 1 2 3; do
    if [[ -z "${SSH_KEY_FILE:-}" ]]; then
      printf '==> %s: ' "$(msg ask-key-path)"
      IFS= read -r key_path || true
      echo
      [[ -n "$key_path" ]] || fail "$(msg no-key-path)"
    fi
    key_path=${key_path/#\~/$HOME}
    if [[ ! -r "$key_path" ]]; then
      problem=$(msg unreadable-key path="$key_path")
    elif problem=$(secret_problem sshPrivateKey <"$key_path"); then
      break
    fi
    [[ -z "${SSH_KEY_FILE:-}" && $attempt -lt 3 ]] || fail "$problem"
    say "$(msg try-again problem="$problem")"
  done
  pulumi config set --stack "$stack" --secret sshPrivateKey <"$key_path"
}
for key in $(.venv/bin/python -m components.stack_check --missing-secrets "$stack_file"); do
  case "$key" in
    sshPrivateKey)
      ask_key_file ;;
    adminPassword | dockerHubToken | databasePassword)
      ask_secret "$key" "$(msg "ask-$key")" ;;
    userPasswords.*)
      ask_secret "$key" "$(msg ask-userPassword user="${key#userPasswords.}")" ;;
  esac
done

path_hint
if [[ "$action" == converge ]]; then
  say "$(msg converge value="$NEXUS_REGISTRY_CONVERGE")"
fi
exec pulumi "$pulumi_action" --stack "$stack"
