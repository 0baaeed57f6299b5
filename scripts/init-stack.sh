#!/usr/bin/env bash
# `make init STACK=<name> [FROM=<template>]`: create stacks/Pulumi.<name>.yaml from another
# stack's file (default dev), without that stack's secrets or encryption state, and list
# what still has to be edited.  The only way make creates a stack: a typo in STACK never does.
# Every line it prints is in the user's language (components/shell_messages.py and the stack
# check, through the gettext catalogue): Chinese when LC_ALL, LC_MESSAGES or LANG is zh_CN*.
set -euo pipefail
cd "$(dirname "$0")/.."

stack=${1:-}
template=${2:-dev}
msg() {  # msg KEY [NAME=VALUE ...]: that message in the user's language (stdlib gettext, any Python 3)
  local python=${PYTHON:-python3}
  [[ ! -x .venv/bin/python ]] || python=.venv/bin/python
  "$python" -m components.shell_messages "$@"
}
if [[ -z "$stack" ]]; then
  msg init-usage >&2
  exit 2
fi
# shellcheck source=scripts/python-env.sh
source scripts/python-env.sh
ensure_venv
install_locked_subset pydantic yaml -- "${CHECK_PACKAGES[@]}"
stack_file="stacks/Pulumi.$stack.yaml"
if [[ -e "$stack_file" ]]; then
  msg init-exists stack_file="$stack_file" >&2
  exit 2
fi
status=0
.venv/bin/python -m components.stack_check --new-from "stacks/Pulumi.$template.yaml" "$stack_file" || status=$?
if [[ ! -f "$stack_file" ]]; then
  exit 2
fi
if [[ $status -ne 0 ]]; then
  msg init-edit stack_file="$stack_file" stack="$stack"
else
  msg init-ready stack_file="$stack_file" stack="$stack"
fi
