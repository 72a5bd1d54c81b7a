#!/usr/bin/env bash
# Builds the pinned livekit-server release from the Go module proxy into .bin/,
# reusing an existing binary of the same version.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="v1.13.5"
BIN_DIR="$PWD/.bin"
TARGET="$BIN_DIR/livekit-server"

if [ -x "$TARGET" ] && [ "$("$TARGET" --version 2>/dev/null | awk '{print $NF}')" = "${VERSION#v}" ]; then
    exit 0
fi
command -v go >/dev/null || { echo "install_livekit_server: Go >= 1.26 is required" >&2; exit 1; }
mkdir -p "$BIN_DIR"
echo "install_livekit_server: building livekit-server $VERSION (first time takes a few minutes)"
GOBIN="$BIN_DIR" go install "github.com/livekit/livekit-server/cmd/server@$VERSION"
mv "$BIN_DIR/server" "$TARGET"
"$TARGET" --version
