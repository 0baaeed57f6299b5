#!/usr/bin/env bash
# `make messages`: the catalogue after a message changed in the code.  Extracts every _("...") that babel.cfg
# maps (Babel's pybabel, from requirements-dev), merges it into locale/zh_CN/LC_MESSAGES/nexus-registry.po
# (a new msgid arrives untranslated, a changed one fuzzy: translate both, then drop the fuzzy flag) and compiles
# the .mo that the program reads with the standard library's gettext.  The .mo is committed, so nothing needs
# Babel at run time; tests/unit/test_messages_zh.py fails while the .po or .mo lags behind the code.
set -euo pipefail
cd "$(dirname "$0")/.."

pybabel=.venv/bin/pybabel
[[ -x $pybabel ]] || { echo "messages: no $pybabel; install requirements-dev.lock into .venv" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
po=locale/zh_CN/LC_MESSAGES/nexus-registry.po

"$pybabel" -q extract -F babel.cfg --add-location=file --sort-by-file --no-wrap \
  --project=nexus-registry --copyright-holder="nexus-registry" -o "$work/nexus-registry.pot" .
if [[ -f $po ]]; then
  "$pybabel" -q update -D nexus-registry -i "$work/nexus-registry.pot" -d locale -l zh_CN --no-wrap \
    --ignore-obsolete
else
  "$pybabel" -q init -D nexus-registry -i "$work/nexus-registry.pot" -d locale -l zh_CN --no-wrap
fi
"$pybabel" compile -D nexus-registry -d locale -l zh_CN --statistics
