#!/usr/bin/env bash
# `make status STACK=<stack>`: usage against the Nexus caps, storage, certificates and health of
# one deployed stack, printed by the host's own /opt/nexus-registry/bin/nexus-status.sh over SSH.
#
# The SSH target comes from the stack's `ssh` output; the key from its secret `sshPrivateKey`
# output (the key a cvm stack generated) or, for an existing server, the `sshPrivateKey` config
# secret; without either, ssh uses your own keys and agent.  The key goes to a 0600 temporary
# file that is removed on exit, never onto a command line.
# Exit status: the host script's (0 fine, 3 warnings, 1 could not check), 2 for usage errors.
set -euo pipefail

REMOTE_SCRIPT=/opt/nexus-registry/bin/nexus-status.sh
cd "$(dirname "$0")/.."

stack=${1:-}
if [[ -z $stack ]]; then
  echo "usage: make status STACK=<stack>" >&2
  exit 2
fi
fail() { echo "status: $*" >&2; exit 2; }

if ! command -v pulumi >/dev/null 2>&1; then
  [[ -x $HOME/.pulumi/bin/pulumi ]] || fail "no pulumi CLI found; run make up STACK=$stack first (it installs one)"
  export PATH="$HOME/.pulumi/bin:$PATH"
fi
# The same state make up used: a local backend in .pulumi-state unless another is chosen.
if [[ -z ${PULUMI_BACKEND_URL:-} && -d .pulumi-state ]] && ! pulumi whoami >/dev/null 2>&1; then
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi

target=$(pulumi stack output --stack "$stack" ssh </dev/null 2>/dev/null) \
  || fail "stack $stack has no ssh output yet: deploy it first with make up STACK=$stack"
read -r -a ssh_command <<<"$target"
[[ ${ssh_command[0]:-} == ssh && ${#ssh_command[@]} -ge 2 ]] || fail "unexpected ssh output of stack $stack: $target"
user_at_host=${ssh_command[-1]}

umask 077
key_file=$(mktemp)
trap 'rm -f "$key_file"' EXIT
if ! { pulumi stack output --stack "$stack" --show-secrets sshPrivateKey >"$key_file" </dev/null 2>/dev/null \
    && [[ -s $key_file ]]; }; then
  pulumi config get --stack "$stack" sshPrivateKey >"$key_file" </dev/null 2>/dev/null || : >"$key_file"
fi
options=(-o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=20)
if [[ -s $key_file ]]; then
  options+=(-i "$key_file" -o IdentitiesOnly=yes)
fi
remote=$REMOTE_SCRIPT
[[ ${user_at_host%%@*} == root ]] || remote="sudo -n $REMOTE_SCRIPT"

status=0
"${ssh_command[@]:0:${#ssh_command[@]}-1}" "${options[@]}" "$user_at_host" "$remote" </dev/null || status=$?
exit "$status"
