#!/usr/bin/env bash
# Regenerates requirements.lock (what the program imports), requirements-dev.lock
# (that plus the test tools) and requirements-build.lock (what builds the one
# source-only dependency, see requirements-build.txt): exact versions and the sha256 of every file PyPI has
# for each, so `pip install --require-hashes` refuses anything else.  Run it after
# editing requirements*.txt and commit the locks (a unit test checks they agree).
#
# Versions: the newest within the ranges, except where .venv already holds a version
# in range: then that one (the versions the tests ran with).  The resolver runs in its
# own tool venv, against PyPI only (no local wheel directories or extra indexes).
set -euo pipefail
cd "$(dirname "$0")/.."

tools=${LOCK_TOOLS_VENV:-.lock-tools}
if [[ ! -x $tools/bin/pip-compile ]]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet 'pip-tools==7.6.2'
fi
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_INDEX_URL PIP_CONSTRAINT
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: >"$work/tested.txt"
if [[ -x .venv/bin/pip ]]; then
  .venv/bin/pip freeze --exclude-editable | grep -E '^[A-Za-z0-9._-]+==' >"$work/tested.txt" || true
fi

compile() { # compile INPUT OUTPUT
  printf -- '-r %s\n-c %s\n' "$PWD/$1" "$work/tested.txt" >"$work/in.txt"
  "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
    --index-url https://pypi.org/simple --output-file "$work/out.txt" "$work/in.txt"
  # The temporary input's path is noise: name the real one.
  sed -e "s|$work/in.txt|$1|g" -e "s|$work/out.txt|$2|g" -e "s|-c $work/tested.txt|(versions .venv was tested with)|g" \
    -e "s|$PWD/||g" "$work/out.txt" >"$2"
  rm -f "$work/out.txt"
}
compile requirements-dev.txt requirements-dev.lock
compile requirements.txt requirements.lock
compile requirements-build.txt requirements-build.lock
echo "requirements.lock, requirements-dev.lock and requirements-build.lock regenerated"
