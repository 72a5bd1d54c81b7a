#!/usr/bin/env bash
# Re-resolves the dependencies into two locks from one resolution:
#   requirements.lock       full profile (requirements.in): tests, GPU engine, everything
#   requirements-demo.lock  demo profile (requirements-demo.in): CPU runtime + web API,
#                           constrained by requirements.lock, so a subset with the same pins
# Existing pins are kept unless a requirement changed; scripts/lock.sh --upgrade re-resolves all.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-.venv/bin/uv}"
compile() { "$UV" pip compile -q --python-version 3.11 --custom-compile-command scripts/lock.sh "$@"; }

compile requirements.in -o requirements.lock "$@"
# uv takes no editable (unnamed) requirements as constraints; the local packages are listed by the .in file.
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
grep -v '^-e ' requirements.lock > "$constraints"
compile requirements-demo.in -c "$constraints" -o requirements-demo.lock
sed -i "s|-c $constraints|-c requirements.lock|" requirements-demo.lock
