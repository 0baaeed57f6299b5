# shellcheck shell=bash
# Sourced by scripts/up.sh, scripts/init-stack.sh and scripts/render.sh: the project's .venv,
# filled only from the hash-checked lock files (scripts/lock.sh writes them).

# ensure_venv: .venv exists (created with $PYTHON, default python3).
ensure_venv() {
  local python=${PYTHON:-python3}
  if [[ ! -x .venv/bin/python ]]; then
    echo "==> creating .venv with $($python --version)"
    "$python" -m venv .venv
  fi
}

# install_locked_subset MODULE... -- PACKAGE...: when .venv cannot import every MODULE, install just
# PACKAGE... (with their dependencies named too) from requirements.lock, hashes checked, so a check or
# a render runs in seconds on a fresh machine instead of after the whole program's install.
install_locked_subset() {
  local modules=() packages=" " subset
  while [[ $# -gt 0 && "$1" != -- ]]; do modules+=("$1"); shift; done
  shift
  while [[ $# -gt 0 ]]; do packages+="$1 "; shift; done
  if .venv/bin/python -c "import ${modules[*]// /,}" 2>/dev/null; then
    return 0
  fi
  subset=$(mktemp)
  awk -v want="$packages" '
    /^[A-Za-z0-9]/ { name = tolower($1); sub(/[=<>!~;].*/, "", name); keep = index(want, " " name " ") > 0 }
    keep && !/^[[:space:]]*#/ { print }' requirements.lock >"$subset"
  .venv/bin/python -m pip install --quiet --require-hashes --no-deps -r "$subset"
  rm -f "$subset"
}

# The packages of the checks (pydantic, PyYAML) and of rendering (plus Jinja2), dependencies included.
CHECK_PACKAGES=(pydantic pydantic-core annotated-types typing-extensions typing-inspection pyyaml)
# shellcheck disable=SC2034 # used by scripts/render.sh, which sources this file
RENDER_PACKAGES=("${CHECK_PACKAGES[@]}" jinja2 markupsafe)
