#!/usr/bin/env bash
# One command from a fresh machine to a talking avatar: installs everything,
# starts livekit-server on loopback and the worker (CPU engine; the offline
# voice profile unless cloud keys are set), dispatches the avatar into a room
# and prints how to join. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

ROOM="${ROOM:-demo}"
read -r API_KEY API_SECRET < <(.venv/bin/python -c "import yaml; k = yaml.safe_load(open('livekit.yaml'))['keys']; print(*next(iter(k.items())))")
export LIVEKIT_URL="${LIVEKIT_URL:-ws://127.0.0.1:7880}" LIVEKIT_API_KEY="${LIVEKIT_API_KEY:-$API_KEY}" LIVEKIT_API_SECRET="${LIVEKIT_API_SECRET:-$API_SECRET}"
mkdir -p out
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT

wait_until() {  # wait_until SECONDS WHAT COMMAND...
    local deadline=$((SECONDS + $1)) what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "demo: $what did not come up; see out/" >&2; exit 1; }
        sleep 0.5
    done
}

scripts/start_livekit_server.sh > out/livekit-server.log 2>&1 &
wait_until 30 "livekit-server" curl -sf -o /dev/null http://127.0.0.1:7880/
.venv/bin/python -m agent start > out/worker.log 2>&1 &
wait_until 120 "the worker" grep -q "registered worker" out/worker.log
.venv/bin/python -m agent dispatch --room "$ROOM" --metadata "${METADATA:-{\"language\": \"ko\"}}"

cat <<MSG

Avatar dispatched into room '$ROOM' on $LIVEKIT_URL.
Join it from any LiveKit client with this token (identity 'you'):

  $(.venv/bin/python -m agent token --room "$ROOM" --identity you)

e.g. open https://meet.livekit.io/custom with the URL and token above (needs a
browser that can reach this machine), or use the LiveKit Python SDK.
Logs: out/livekit-server.log, out/worker.log. Ctrl-C stops.
MSG
wait
