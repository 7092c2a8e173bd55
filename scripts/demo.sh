#!/usr/bin/env bash
# make demo: a local collector with 5 agents in 2 groups, and the live view.
# Quitting the view (q) stops everything this script started, by PID.
#   VIGIL_DEMO_PORT  port to listen on (default 7070)
#   VIGIL_DEMO_DIR   where the SQLite history goes (default ./demo)
#   DEMO_FRAMES      if set, the view draws that many frames and exits (tests)
set -u
cd "$(dirname "$0")/.."
PORT=${VIGIL_DEMO_PORT:-7070}
DIR=${VIGIL_DEMO_DIR:-./demo}
mkdir -p "$DIR"
PIDS=()

stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	PIDS=()
}
trap 'stop_all' EXIT
trap 'exit 130' INT TERM HUP

if ss -Htln "sport = :$PORT" 2>/dev/null | grep -q .; then
	echo "demo: port $PORT is in use (another collector?); try VIGIL_DEMO_PORT=7071 make demo" >&2
	exit 1
fi

bin/vigil-collector --listen "127.0.0.1:$PORT" --db "$DIR/vigil.db" >"$DIR/collector.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
	curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
	kill -0 "${PIDS[0]}" 2>/dev/null || { echo "demo: the collector did not start:" >&2; cat "$DIR/collector.log" >&2; exit 1; }
	sleep 0.1
done

# Each agent's leadership hooks append a line to $DIR/hooks.log, so a
# failover (f in the view, or vigil failover) can be followed there.
HOOK='echo "$(date +%T.%3N) $VIGIL_NODE $VIGIL_HOOK -> $VIGIL_ROLE (epoch $VIGIL_EPOCH): $VIGIL_REASON" >>'"$DIR/hooks.log"
start_agent() { # NAME GROUP PRIORITY
	mkdir -p "$DIR/state-$1"
	bin/vigil-agent --collector "ws://127.0.0.1:$PORT" --node "$1" --group "$2" --priority "$3" \
		--state-dir "$DIR/state-$1" --on-promote "$HOOK" --on-demote "$HOOK" --on-fence "$HOOK" \
		>"$DIR/agent-$1.log" 2>&1 &
	PIDS+=($!)
}
start_agent pg-1 postgres 100
start_agent pg-2 postgres 90
start_agent pg-3 postgres 80
start_agent cache-1 redis 100
start_agent cache-2 redis 90

for _ in $(seq 50); do
	n=$(bin/vigil --collector "ws://127.0.0.1:$PORT" status --json 2>/dev/null |
	    jq '[.nodes[] | select(.state == "alive")] | length' 2>/dev/null)
	[ "${n:-0}" = 5 ] && break
	sleep 0.1
done
echo "demo: collector on 127.0.0.1:$PORT (history in $DIR/vigil.db, logs in $DIR/), 5 agents: ${n:-0} alive"
echo "demo: leadership hooks log to $DIR/hooks.log; in the view press ? for the keys (f failover, w switchover)"

if [ -n "${DEMO_FRAMES:-}" ]; then
	bin/vigil --collector "ws://127.0.0.1:$PORT" --frames "$DEMO_FRAMES"
elif [ -t 0 ] && [ -t 1 ]; then
	echo "demo: opening the dashboard (q quits and stops the demo) ..."
	sleep 1
	bin/vigil --collector "ws://127.0.0.1:$PORT"
else
	echo "demo: no terminal; here is the status instead (run 'make demo' in a terminal for the live view)"
	bin/vigil --collector "ws://127.0.0.1:$PORT" status
fi
rc=$?
stop_all
echo "demo: stopped everything it started; the history stays in $DIR/vigil.db"
exit $rc
