# Helpers for integration tests: real programs on 127.0.0.1, bounded waits,
# every process started is recorded by PID and stopped at exit.
# Sourced by each t_*.sh; each test runs in its own bash process.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/bin}   # VIGIL_BIN: e.g. sanitizer builds of the programs
PROBE=${VIGIL_PROBE:-$ROOT/build/wsprobe}
T_NAME=$(basename "$0" .sh)
T_DIR=${VIGIL_TEST_LOGS:-$ROOT/tests/integration/logs}/$T_NAME
rm -rf "$T_DIR"
mkdir -p "$T_DIR"
PIDS=()
T_FAILS=0
T_CHECKS=0

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done 2>/dev/null
	tmux -L "vigil-$T_NAME-$$" kill-server 2>/dev/null || true
}
trap cleanup EXIT

log() { echo "  [$T_NAME] $*"; }

# jqe FILTER...: jq -e that fails on empty input.  (jq -e exits 0 when it
# reads nothing, so a check piped from a dead collector would pass.)
jqe() {
	local in
	in=$(cat)
	[ -n "$in" ] || return 1
	printf '%s\n' "$in" | jq -e "$@"
}
export -f jqe

ok() { T_CHECKS=$((T_CHECKS + 1)); log "ok: $*"; }

fail() {
	T_CHECKS=$((T_CHECKS + 1))
	T_FAILS=$((T_FAILS + 1))
	log "FAIL: $*"
}

# A free TCP port on 127.0.0.1: below the kernel's ephemeral range (so no
# outgoing connection can be given it meanwhile) and used by no socket in
# any state.
free_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	lo=${lo:-32768}
	for _ in $(seq 200); do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! ss -Htan "sport = :$p" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_until SECONDS CMD...: poll every 0.1 s; 0 when CMD succeeded in time.
wait_until() {
	local tenths=$(($1 * 10)) t=0
	shift
	while [ "$t" -lt "$tenths" ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		t=$((t + 1))
	done
	return 1
}

# start NAME CMD...: start in the background, log to $T_DIR/NAME.log, record PID in var PID_NAME.
start() {
	local name=$1
	shift
	"$@" >>"$T_DIR/$name.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	printf -v "PID_${name//[^A-Za-z0-9_]/_}" '%s' "$pid"
}

pid_of() { local v="PID_${1//[^A-Za-z0-9_]/_}"; echo "${!v}"; }

# stop_pid PID SIGNAL: send, wait (bounded) for the process to end; its exit
# status goes into STOP_RC (not echoed: a subshell cannot wait for our children).
stop_pid() {
	local pid=$1 sig=${2:-TERM}
	kill "-$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	{ wait "$pid"; } 2>/dev/null
	STOP_RC=$?
}

start_collector() { # PORT DB [ARGS...]
	local port=$1 db=$2
	shift 2
	start collector "$BIN/vigil-collector" --listen "127.0.0.1:$port" --db "$db" "$@"
	wait_until 5 curl -sf "http://127.0.0.1:$port/health"
}

start_agent() { # NAME GROUP PORT [ARGS...]
	local name=$1 group=$2 port=$3
	shift 3
	start "$name" "$BIN/vigil-agent" --collector "ws://127.0.0.1:$port" --node "$name" \
		--group "$group" "$@"
}

vstatus() { "$BIN/vigil" --collector "ws://127.0.0.1:$1" --timeout-ms 3000 status --json; }

# node_state PORT NAME -> alive|suspect|failed|...
node_state() {
	vstatus "$1" 2>/dev/null | jq -r --arg n "$2" '.nodes[] | select(.name == $n) | .state'
}

state_is() { [ "$(node_state "$1" "$2")" = "$3" ]; }
state_is_not() { local s; s=$(node_state "$1" "$2"); [ -n "$s" ] && [ "$s" != "$3" ]; }

alive_count() {
	vstatus "$1" 2>/dev/null | jq '[.nodes[] | select(.state == "alive")] | length'
}
alive_count_is() { [ "$(alive_count "$1")" = "$2" ]; }

# db_is DB SQL EXPECTED: the query's answer equals EXPECTED (rows reach the
# store in batches, so callers wait_until this).
db_is() { [ "$(sqlite3 "$1" "$2")" = "$3" ]; }

finish() {
	echo "RESULT $T_NAME $T_CHECKS $T_FAILS"
	[ "$T_FAILS" -eq 0 ]
}
