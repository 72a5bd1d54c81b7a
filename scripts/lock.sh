#!/usr/bin/env bash
# Re-resolves requirements.in into the fully pinned requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/uv pip compile -q requirements.in -o requirements.lock --python-version 3.11
