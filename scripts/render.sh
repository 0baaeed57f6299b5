#!/usr/bin/env bash
# `make render STACK=<stack>`: every file the stack puts on its host into out/<stack>
# (replaced as a whole, with MANIFEST.txt), from the stack file alone: no cloud, no Pulumi CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

stack=${1:-}
if [[ -z "$stack" ]]; then
  echo "usage: make render STACK=<stack>" >&2
  exit 2
fi
# shellcheck source=scripts/python-env.sh
source scripts/python-env.sh
ensure_venv
# Rendering needs only these (hash-checked from requirements.lock); the Pulumi SDK is not imported.
install_locked_subset jinja2 pydantic yaml -- "${RENDER_PACKAGES[@]}"
exec .venv/bin/python -m components.render --stack "$stack" --out "out/$stack"
