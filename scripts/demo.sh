#!/usr/bin/env bash
# One command from a fresh machine to a talking avatar in the browser: installs the demo
# profile, starts livekit-server on loopback, the worker (CPU engine; the offline voice
# profile unless cloud keys are set) and the web page, then prints the URL to open.
# Logs go to out/. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --profile demo

WEB_PORT="${WEB_PORT:-8000}"
ROOM="${ROOM:-demo}"
read -r API_KEY API_SECRET < <(.venv/bin/python -c "import yaml; k = yaml.safe_load(open('livekit.yaml'))['keys']; print(*next(iter(k.items())))")
export LIVEKIT_URL="${LIVEKIT_URL:-ws://127.0.0.1:7880}" LIVEKIT_API_KEY="${LIVEKIT_API_KEY:-$API_KEY}" LIVEKIT_API_SECRET="${LIVEKIT_API_SECRET:-$API_SECRET}"
mkdir -p out

stop_all() {
    trap - EXIT INT TERM
    local pids; pids=$(jobs -p)
    [ -n "$pids" ] || return 0
    echo "demo: stopping"
    kill $pids 2>/dev/null || true
    # The worker drains live sessions on SIGTERM; don't wait for that longer than 10 s.
    for _ in $(seq 20); do kill -0 $pids 2>/dev/null || return 0; sleep 0.5; done
    kill -9 $pids 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM

wait_until() {  # wait_until SECONDS PID LOG COMMAND...: until COMMAND succeeds, while PID runs
    local deadline=$((SECONDS + $1)) pid=$2 log=$3; shift 3
    until "$@" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "demo: it exited; see $log:" >&2; tail -n 20 "$log" >&2; exit 1; }
        [ "$SECONDS" -lt "$deadline" ] || { echo "demo: not up after $1 s; see $log" >&2; exit 1; }
        sleep 0.5
    done
}

scripts/start_livekit_server.sh > out/livekit-server.log 2>&1 &
wait_until 30 $! out/livekit-server.log curl -sf -o /dev/null http://127.0.0.1:7880/
.venv/bin/python -m agent start > out/worker.log 2>&1 &
wait_until 120 $! out/worker.log grep -q "registered worker" out/worker.log
.venv/bin/python -m agent web --host 127.0.0.1 --port "$WEB_PORT" > out/web.log 2>&1 &
wait_until 60 $! out/web.log curl -sf -o /dev/null "http://127.0.0.1:$WEB_PORT/healthz"

# The token carries the dispatch: the avatar joins the room when its holder does.
TOKEN=$(.venv/bin/python -m agent token --room "$ROOM" --identity you --dispatch --metadata "${METADATA:-{\"language\": \"ko\"}}")
cat <<MSG

  ================================================================
    The avatar is ready. Open this in a browser on this machine:

        http://127.0.0.1:$WEB_PORT/
  ================================================================

Or join from another LiveKit client SDK (identity 'you'; the avatar joins with you):
  room:        $ROOM
  LIVEKIT_URL: $LIVEKIT_URL
  token:       $TOKEN

Logs: out/livekit-server.log, out/worker.log, out/web.log. Ctrl-C stops everything.
MSG
wait -n || true
echo "demo: a process exited; see out/" >&2
exit 1
