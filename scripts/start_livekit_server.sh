#!/usr/bin/env bash
# Starts the pinned livekit-server on loopback with livekit.yaml (foreground).
# Extra arguments are passed through, e.g. --port 7890.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .bin/livekit-server ] || scripts/install_livekit_server.sh
exec .bin/livekit-server --config livekit.yaml "$@"
