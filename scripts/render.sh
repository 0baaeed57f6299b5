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
python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
if ! .venv/bin/python -c 'import jinja2, pydantic, yaml' 2>/dev/null; then
  # Rendering needs only these; the Pulumi SDK and providers are not imported.
  mapfile -t render_requirements < <(grep -Ei '^(pydantic|PyYAML|Jinja2)[<>=!~ ]' requirements.txt)
  .venv/bin/python -m pip install --quiet "${render_requirements[@]}"
fi
exec .venv/bin/python -m components.render --stack "$stack" --out "out/$stack"
