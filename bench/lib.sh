# bench/lib.sh — helpers shared by the benchmarks in bench/ (sourced, not run).
#
# Every process talks to 127.0.0.1 only, every wait is bounded, and every
# process a benchmark starts is recorded by PID and stopped at exit (trap).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Work directory: logs, stores and raw samples of this run (kept afterwards).
: "${BENCH_WORK:=$(mktemp -d /tmp/vigil-bench.XXXXXX)}"
mkdir -p "$BENCH_WORK"

BENCH_PIDS=()

# Where the programs under test come from (BENCH_BIN=/elsewhere/bin to
# measure another build, e.g. one made from a clean `git archive`).
: "${BENCH_BIN:=$ROOT/bin}"

# Snapshot the binaries so that a rebuild during a long run does not change
# what is measured half-way.  BIN points at the copies.  Extra arguments
# name more programs to copy (bench tools: vigil-swarm, vigil-opwatch).
bench_snapshot_bins() {
	local b
	mkdir -p "$BENCH_WORK/bin"
	for b in vigil-collector vigil-agent vigil "$@"; do
		if [ ! -x "$BENCH_BIN/$b" ]; then
			echo "bench: $BENCH_BIN/$b is missing; run 'make -C $ROOT all tools' first" >&2
			return 1
		fi
		cp "$BENCH_BIN/$b" "$BENCH_WORK/bin/$b"
	done
	BIN=$BENCH_WORK/bin
}

# The load average (1, 5, 15 min) now: the machine is shared, so every
# figure is printed with the load it was measured under.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

bench_cleanup() {
	local pid
	for pid in "${BENCH_PIDS[@]}"; do
		kill -CONT "$pid" 2>/dev/null || true   # a stopped process cannot act on TERM
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BENCH_PIDS[@]}"; do
		for _ in $(seq 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	BENCH_PIDS=()
}

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Wall-clock time in ms, read from bash itself ($EPOCHREALTIME: the same
# CLOCK_REALTIME as `date +%s%3N`, without forking a process).
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
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

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 on timeout.
wait_until() {
	local deadline=$(( $(now_ms) + ${1%.*} * 1000 ))
	shift
	while [ "$(now_ms)" -lt "$deadline" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# bg NAME CMD...: start CMD in the background, stdout+stderr appended to
# $BENCH_WORK/NAME.log; its PID is recorded and left in BG_PID.
bg() {
	local name=$1
	shift
	"$@" >>"$BENCH_WORK/$name.log" 2>&1 &
	BG_PID=$!
	BENCH_PIDS+=("$BG_PID")
}

# forget_pid PID: drop a reaped PID from the list (so cleanup never signals a
# PID the system may since have given to someone else).
forget_pid() {
	local p keep=()
	for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	BENCH_PIDS=("${keep[@]}")
}

# stop_pid PID [SIGNAL]: signal it, wait (bounded, 5 s) for it to end, reap it.
stop_pid() {
	local pid=$1 sig=${2:-TERM}
	kill -CONT "$pid" 2>/dev/null || true
	kill "-$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
}

# start_collector NAME PORT DB [ARGS...]: start and wait (10 s) until /health answers.
start_collector() {
	local name=$1 port=$2 db=$3
	shift 3
	bg "$name" "$BIN/vigil-collector" --listen "127.0.0.1:$port" --db "$db" "$@"
	COLLECTOR_PID=$BG_PID
	wait_until 10 curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/health"
}

# start_agent LOGNAME PORT NODE INTERVAL_MS: start one agent; PID in AGENT_PID.
start_agent() {
	bg "$1" "$BIN/vigil-agent" --collector "ws://127.0.0.1:$2" --node "$3" \
		--group bench --interval-ms "$4"
	AGENT_PID=$BG_PID
}

vstatus() { "$BIN/vigil" --collector "ws://127.0.0.1:$1" --timeout-ms 3000 status --json; }

# node_state PORT NODE -> alive|suspect|failed|... (empty when unknown)
node_state() {
	vstatus "$1" 2>/dev/null | jq -r --arg n "$2" '.nodes[] | select(.name == $n) | .state'
}
state_is() { [ "$(node_state "$1" "$2")" = "$3" ]; }

alive_count() {
	vstatus "$1" 2>/dev/null | jq '[.nodes[] | select(.state == "alive")] | length'
}
alive_count_is() { [ "$(alive_count "$1")" = "$2" ]; }

# sql DB QUERY: a read of the collector's store (WAL: safe while it writes).
sql() { sqlite3 -batch -noheader -cmd '.timeout 2000' "$1" "$2"; }

# stats < numbers  ->  "n p50 p99 min max" (nearest-rank percentiles: the
# value at rank ceil(p/100 * n) of the sorted sample); "0 - - - -" if empty.
stats() {
	sort -n | awk '
		{ v[++n] = $1 }
		function rank(p,  r) { r = p * n / 100; if (r > int(r)) r = int(r) + 1; if (r < 1) r = 1; return v[r] }
		END {
			if (n == 0) { print "0 - - - -"; exit }
			print n, rank(50), rank(99), v[1], v[n]
		}'
}

# CPU time (utime + stime) of a process, in clock ticks; RSS in KiB.
proc_cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null; }
proc_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
proc_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# pct TICKS MS: CPU ticks over a wall time in ms, as % of one core.
pct() { awk -v t="$1" -v k="$(getconf CLK_TCK)" -v d="$2" 'BEGIN { printf "%.1f", (d > 0 ? 100 * t / k / (d / 1000) : 0) }'; }

# agents_connected PORT: the collector's count of connected agents (/health).
agents_connected() { curl -s -m 2 "http://127.0.0.1:$1/health" | jq -r '.agents_connected // empty'; }
agents_connected_is() { [ "$(agents_connected "$1")" = "$2" ]; }
