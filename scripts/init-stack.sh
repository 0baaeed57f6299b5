#!/usr/bin/env bash
# `make init STACK=<name> [FROM=<template>]`: create stacks/Pulumi.<name>.yaml from another
# stack's file (default dev), without that stack's secrets or encryption state, and list
# what still has to be edited.  The only way make creates a stack: a typo in STACK never does.
set -euo pipefail
cd "$(dirname "$0")/.."

stack=${1:-}
template=${2:-dev}
if [[ -z "$stack" ]]; then
  echo "usage: make init STACK=<new stack> [FROM=<dev|prod|lab|...>]" >&2
  exit 2
fi
# shellcheck source=scripts/python-env.sh
source scripts/python-env.sh
ensure_venv
install_locked_subset pydantic yaml -- "${CHECK_PACKAGES[@]}"
stack_file="stacks/Pulumi.$stack.yaml"
if [[ -e "$stack_file" ]]; then
  echo "make init: $stack_file exists already; edit it, or choose another name" >&2
  exit 2
fi
status=0
.venv/bin/python -m components.stack_check --new-from "stacks/Pulumi.$template.yaml" "$stack_file" || status=$?
if [[ ! -f "$stack_file" ]]; then
  exit 2
fi
if [[ $status -ne 0 ]]; then
  echo "==> edit what the lines above name in $stack_file, then: make up STACK=$stack"
else
  echo "==> $stack_file is ready: make up STACK=$stack"
fi
