#!/usr/bin/env bash
# compare-render.sh [BASE]: render every shipped stack (with the tests' stand-in values) at
# git revision BASE (default HEAD) and in the
# working tree, and diff the two trees.  A refactor that claims to change no behaviour shows
# "identical" for each stack: every nginx file, payload, unit and host script byte for byte.
# Exits 1 when any stack differs (the diff is printed), 0 when all are identical.
set -euo pipefail
cd "$(dirname "$0")/.."

base=${1:-HEAD}
python=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --quiet --detach "$work/base" "$base"

render_tree() {  # render_tree SOURCE_DIR OUT_DIR STACK
  local source=$1 out=$2 stack=$3 file
  file=$(cd "$source" && "$OLDPWD/$python" -c '
import sys, tempfile
from tests.harness import write_stack_file
print(write_stack_file(sys.argv[1], tempfile.mkdtemp()))' "$stack")
  (cd "$source" && "$OLDPWD/$python" -m components.render --stack-file "$file" --out "$out" >/dev/null)
}

status=0
for stack_file in stacks/Pulumi.*.yaml; do
  stack=${stack_file#stacks/Pulumi.}
  stack=${stack%.yaml}
  render_tree "$work/base" "$work/before/$stack" "$stack"
  render_tree "$PWD" "$work/after/$stack" "$stack"
  if diff -r "$work/before/$stack" "$work/after/$stack" >"$work/$stack.diff"; then
    echo "$stack: identical ($(find "$work/after/$stack" -type f | wc -l) files)"
  else
    echo "$stack: DIFFERENT"
    cat "$work/$stack.diff"
    status=1
  fi
done
exit "$status"
