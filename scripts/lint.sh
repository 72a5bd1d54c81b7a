#!/usr/bin/env bash
# Lint, format check and type check (also run by .ci/run before the tests):
#   ruff over the whole tree, mypy --strict over both plugins and the worker app.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy --strict -p livekit.plugins.musetalk -p livekit.plugins.faster_whisper -p agent
