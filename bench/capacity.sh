#!/usr/bin/env bash
# bench/capacity.sh — how many agents one collector takes: CPU, memory and
# heartbeat-to-state delay against the number of agents and their rate.
#
# Per step (AGENTSxINTERVAL_MS): a fresh collector (its defaults, a new store,
# --max-clients raised), bin/vigil-swarm with that many simulated agents
# (real agent-protocol clients: hello, heartbeats with metrics, bye), all on
# 127.0.0.1.  Once /health counts every agent connected, CAP_WARMUP_S of
# warm-up, then SIGUSR1 resets the swarm's counters and CAP_SECONDS are
# measured:
#   - the collector's CPU (utime + stime from /proc/PID/stat) as % of one core;
#   - its RSS (VmRSS sampled every 2 s, the largest) and VmHWM (peak);
#   - the heartbeat-to-state delay: every CAP_ECHO_EVERY-th heartbeat asks
#     for an hb_ack, which the collector sends once it has processed it;
#     the swarm's send -> receive p50/p99/max (includes loopback and the
#     swarm's own reaction time);
#   - false alarms: transitions to suspect or failed from the collector's
#     start to the end of the window (nobody is paused or killed, so every
#     one is false), and tilt (the collector distrusting its own timing);
#   - the swarm's own CPU, and the load average (the machine is shared).
# With perf installed, CAP_PERF_S seconds of `perf record -g` on the
# collector per step, after the measured window (the profiler's sampling
# must not count in the delay), name the top functions.
#
# Writes a Markdown section to $BENCH_MD (default: stdout), progress to
# stderr, logs and raw samples to $BENCH_WORK.  Parameters (environment):
: "${CAP_STEPS:=1000x1000 2000x1000 5000x1000 10000x1000 10000x1000d 15000x1000 1000x100}"
#                                  AGENTSxINTERVAL_MS, a trailing d: with one dashboard
#                                  subscribed (bin/vigil-opwatch) all along
: "${CAP_WARMUP_S:=15}"            # after all are connected, before measuring
: "${CAP_SECONDS:=60}"             # measured window per step
: "${CAP_ECHO_EVERY:=10}"          # hb_ack every Nth heartbeat
: "${CAP_JITTER_PCT:=5}"           # swarm interval jitter
: "${CAP_SOURCE_ADDRS:=1}"         # 127.0.0.1..127.0.0.K as swarm source addresses
: "${CAP_CONNECT_RATE:=1000}"      # swarm connections per second
: "${CAP_CONNECT_TIMEOUT_S:=120}"  # bound on the wait for all agents connected
: "${CAP_PERF_S:=8}"               # perf record per step (0 = none)
: "${BENCH_MD:=/dev/stdout}"

set -u
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_snapshot_bins vigil-swarm vigil-opwatch || exit 2
RAW=$BENCH_WORK/capacity.tsv
: >"$RAW"
say "capacity: work directory $BENCH_WORK"
HAVE_PERF=0
if [ "$CAP_PERF_S" -gt 0 ] && command -v perf >/dev/null &&
	perf record -q -o /dev/null -- true >/dev/null 2>&1; then
	HAVE_PERF=1
fi

# top_symbols PERF_DATA -> "sym 67%, sym 6%, sym 1%"
top_symbols() {
	perf report -i "$1" --no-children --stdio --sort symbol -g none 2>/dev/null |
		awk '/^ +[0-9.]+%/ && n < 3 { printf "%s`%s` %s", (n++ ? ", " : ""), $3, $1 }'
}

# loop_hist PORT NAME: the cumulative buckets of one of the collector's
# /metrics histograms, "le count" per line.
loop_hist() {
	curl -s -m 10 "http://127.0.0.1:$1/metrics" |
		sed -n "s/^$2_bucket{le=\"\([^\"]*\)\"} \([0-9]*\)\$/\1 \2/p"
}

# hist_p99 BEFORE AFTER: the bucket that holds the 99th percentile of what
# was added between the two snapshots, in ms ("<= 2", "> 5000"; "-" if none).
hist_p99() {
	paste "$1" "$2" | awk '{ le[NR] = $1; d[NR] = $4 - $2 }
		END { t = d[NR]; if (NR == 0 || t <= 0) { print "-"; exit }
		      for (i = 1; i <= NR; i++) if (d[i] >= 0.99 * t) {
			if (le[i] == "+Inf") print "> 5000"; else printf "<= %g\n", le[i] * 1000; exit } }'
}

run_step() { # AGENTS INTERVAL_MS DASHBOARDS(0|1)
	local n=$1 iv=$2 dash=$3 port db name cpid spid t0 t1 c0 c1 s0 s1 rss rss_max=0 hwm now left
	local l0 l1 nfalse ntilt sj alive top="-" connected ok=1 tconn
	name=cap-$n-$iv-$dash
	port=$(free_port) || { say "no free port"; return 1; }
	db=$BENCH_WORK/$name.db
	rm -f "$db" "$db-wal" "$db-shm"
	start_collector "collector-$name" "$port" "$db" --max-clients 19000 ||
		{ say "collector did not start"; return 1; }
	cpid=$COLLECTOR_PID
	tconn=$(now_ms)
	"$BIN/vigil-swarm" --url "ws://127.0.0.1:$port" -n "$n" --interval-ms "$iv" \
		--jitter-pct "$CAP_JITTER_PCT" --echo-every "$CAP_ECHO_EVERY" \
		--source-addrs "$CAP_SOURCE_ADDRS" --connect-rate "$CAP_CONNECT_RATE" \
		--prefix "c$n-$iv" --group-size 50 >"$BENCH_WORK/swarm-$name.json" \
		2>>"$BENCH_WORK/swarm-$name.log" &
	spid=$!
	BENCH_PIDS+=("$spid")
	if ! wait_until "$CAP_CONNECT_TIMEOUT_S" agents_connected_is "$port" "$n"; then
		say "$name: only $(agents_connected "$port") of $n agents connected within $CAP_CONNECT_TIMEOUT_S s"
		ok=0
	fi
	connected=$(agents_connected "$port")
	tconn=$(( $(now_ms) - tconn ))
	say "$name: $connected/$n agents connected in $tconn ms; warm-up $CAP_WARMUP_S s"
	if [ "$dash" = 1 ]; then    # a dashboard: the snapshot, then deltas and slices
		bg "opwatch-$name" "$BIN/vigil-opwatch" --url "ws://127.0.0.1:$port" \
			--duration $((CAP_WARMUP_S + CAP_SECONDS + CAP_PERF_S + 30))
	fi
	sleep "$CAP_WARMUP_S"
	loop_hist "$port" vigil_loop_lag_seconds >"$BENCH_WORK/lag0-$name"
	loop_hist "$port" vigil_tick_duration_seconds >"$BENCH_WORK/run0-$name"
	l0=$(loadavg)
	kill -USR1 "$spid"
	t0=$(now_ms)
	c0=$(proc_cpu_ticks "$cpid")
	s0=$(proc_cpu_ticks "$spid")
	local t_end=$((t0 + CAP_SECONDS * 1000)) perf_done=0
	while now=$(now_ms); [ "$now" -lt "$t_end" ]; do
		rss=$(proc_rss_kib "$cpid")
		[ -n "$rss" ] || { say "collector gone"; return 1; }
		[ "$rss" -gt "$rss_max" ] && rss_max=$rss
		left=$(( (t_end - now + 999) / 1000 ))
		sleep $((left < 2 ? left : 2))
	done
	kill -USR2 "$spid"                 # the swarm's summary of the window
	t1=$(now_ms)
	c1=$(proc_cpu_ticks "$cpid")
	s1=$(proc_cpu_ticks "$spid")
	loop_hist "$port" vigil_loop_lag_seconds >"$BENCH_WORK/lag1-$name"
	loop_hist "$port" vigil_tick_duration_seconds >"$BENCH_WORK/run1-$name"
	rss=$(proc_rss_kib "$cpid")
	[ "$rss" -gt "$rss_max" ] && rss_max=$rss
	hwm=$(proc_hwm_kib "$cpid")
	l1=$(loadavg)
	alive=$(alive_count "$port")
	# false alarms: nobody was stopped, so every suspect or failed is one
	nfalse=$(sql "$db" "select count(*) from events where kind='state'
		and to_state in ('suspect','failed') and ts_ms <= $t1")
	ntilt=$(sql "$db" "select count(*) from events where kind='collector' and rule='tilt' and ts_ms <= $t1")
	wait_until 10 test -s "$BENCH_WORK/swarm-$name.json" || say "$name: no summary from the swarm"
	if [ "$HAVE_PERF" = 1 ]; then
		perf record -q -g -F 499 -p "$cpid" -o "$BENCH_WORK/perf-$name.data" \
			-- sleep "$CAP_PERF_S" >/dev/null 2>&1 && perf_done=1
	fi
	stop_pid "$spid" TERM
	sj=$(head -n 1 "$BENCH_WORK/swarm-$name.json")
	[ -n "$sj" ] || sj='{}'
	stop_pid "$cpid" TERM
	[ $perf_done = 1 ] && top=$(top_symbols "$BENCH_WORK/perf-$name.data")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$n" "$iv" "$(jq -r '.hb_per_s // "-"' <<<"$sj")" \
		"$(pct $((c1 - c0)) $((t1 - t0)))" "$((rss_max / 1024))" "$((hwm / 1024))" \
		"$(jq -r 'if (.echo_p50_us // -1) >= 0 then (.echo_p50_us / 1000) else "-" end' <<<"$sj")" \
		"$(jq -r 'if (.echo_p99_us // -1) >= 0 then (.echo_p99_us / 1000) else "-" end' <<<"$sj")" \
		"$(jq -r 'if (.echo_max_us // -1) >= 0 then (.echo_max_us / 1000) else "-" end' <<<"$sj")" \
		"$(jq -r '"\(.echo_recv // "-")/\(.echo_sent // "-")"' <<<"$sj")" \
		"$nfalse" "$ntilt" "${alive:-?}" "$(pct $((s1 - s0)) $((t1 - t0)))" \
		"$l0" "$l1" "$top" "$ok" \
		"$(hist_p99 "$BENCH_WORK/lag0-$name" "$BENCH_WORK/lag1-$name")" \
		"$(hist_p99 "$BENCH_WORK/run0-$name" "$BENCH_WORK/run1-$name")" "$dash" >>"$RAW"
	say "$name: collector $(pct $((c1 - c0)) $((t1 - t0))) % CPU, RSS $((rss_max / 1024)) MiB, echo $(jq -c '[.echo_p50_us, .echo_p99_us, .echo_max_us]' <<<"$sj") us, $nfalse false alarms, $ntilt tilts, load $l1"
}

T_BEGIN=$(now_ms)
for step in $CAP_STEPS; do
	rest=${step#*x}
	run_step "${step%x*}" "${rest%d}" "$([ "$rest" != "${rest%d}" ] && echo 1 || echo 0)" || exit 1
done
T_END=$(now_ms)

# ---- report -----------------------------------------------------------------

# verdict for the goals: agents at rate: CPU < 50 %, RSS < 256 MiB, p99 < 10 ms, no false alarm
verdict() { # N IV
	awk -F'\t' -v n="$1" -v iv="$2" '$1 == n && $2 == iv && $21 == 0 {
		f = 0; why = ""
		if ($4 + 0 >= 50) { f = 1; why = why sprintf("CPU %s %%; ", $4) }
		if ($6 + 0 >= 256) { f = 1; why = why sprintf("RSS %s MiB; ", $6) }
		if ($8 == "-" || $8 + 0 >= 10) { f = 1; why = why sprintf("p99 %s ms; ", $8) }
		if ($11 + 0 > 0) { f = 1; why = why sprintf("%s false alarms; ", $11) }
		if ($12 + 0 > 0) { f = 1; why = why "tilt: the collector stopped judging; " }
		if ($18 != 1) { f = 1; why = why "not all agents connected; " }
		sub(/; $/, "", why)
		printf "%s", f ? "**not met** (" why ")" : sprintf("**met** (CPU %s %%, RSS %s MiB, p99 %s ms, no false alarm)", $4, $6, $8)
		found = 1 }
		END { if (!found) printf "not measured" }' "$RAW"
}

{
	echo "## Collector capacity — \`bench/capacity.sh\`"
	echo
	echo "Command: \`bench/run.sh capacity\` (or \`bench/capacity.sh\` alone, which prints this section)."
	echo "Parameters: \`CAP_STEPS=\"$CAP_STEPS\" CAP_WARMUP_S=$CAP_WARMUP_S CAP_SECONDS=$CAP_SECONDS"
	echo "CAP_ECHO_EVERY=$CAP_ECHO_EVERY CAP_JITTER_PCT=$CAP_JITTER_PCT CAP_SOURCE_ADDRS=$CAP_SOURCE_ADDRS\`; the part took"
	echo "$(( (T_END - T_BEGIN) / 1000 )) s. Per step: a fresh collector at its defaults (libuv loop; \`--max-clients 19000\`),"
	echo "\`bin/vigil-swarm\` with that many simulated agents (each its own WebSocket connection, node name"
	echo "and boot id, heartbeats with drifting metrics, ±$CAP_JITTER_PCT % interval jitter), all on 127.0.0.1 of this"
	echo "2-core machine: the swarm shares the cores with the collector (its CPU is the \"swarm\" column)."
	echo "$CAP_WARMUP_S s of warm-up after every agent is connected, then $CAP_SECONDS s measured."
	echo
	echo "- **CPU**: the collector's utime + stime over the window, % of one core. **RSS**: largest"
	echo "  VmRSS sampled every 2 s, and VmHWM (peak since start, includes the connection ramp)."
	echo "- **Delay**: heartbeat sent -> \`hb_ack\` received, for every ${CAP_ECHO_EVERY}th heartbeat (the collector answers"
	echo "  once it has processed the heartbeat and updated the node's state): heartbeat-to-state delay plus two"
	echo "  loopback hops and the swarm's reaction time. p50/p99/max from the swarm's histogram (10 us buckets)."
	echo "- **Dashboard**: \`bin/vigil-opwatch\` subscribed from the warm-up on (snapshot, deltas, the refresh"
	echo "  slices), on the same two cores: what an operator with the live view open costs the collector."
	echo "- **Loop lag** and **tick**: from the collector's own \`/metrics\` histograms (\`vigil_loop_lag_seconds\`,"
	echo "  \`vigil_tick_duration_seconds\`), read before and after the window: the bucket holding the 99th"
	echo "  percentile of how late the event loop came back to its 50 ms tick, and of how long the tick ran."
	echo "- **False alarms**: transitions to \`suspect\` or \`failed\` from the collector's start to the end of the"
	echo "  window; nobody was paused or killed, so every one is false. **Tilt**: times the collector stopped"
	echo "  judging because its own loop stalled (> 2 s)."
	echo
	echo "| agents | interval | dashboard | hb/s | collector CPU % | RSS MiB (max / HWM) | delay p50 ms | p99 ms | max ms | echoes back | loop lag p99 ms | tick p99 ms | false alarms | tilt | alive at end | swarm CPU % | load avg start / end |"
	echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	awk -F'\t' '{ printf "| %s | %s ms | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n",
		$1, $2, ($21 == 1 ? "1 subscribed" : "-"), $3, $4, $5, $6, $7, $8, $9, $10, $19, $20, $11, $12, $13, $14, $15, $16 }' "$RAW"
	echo
	echo "- Goal: 10,000 agents at 1/s: $(verdict 10000 1000)."
	echo "- Goal: 1,000 agents at 10/s: $(verdict 1000 100)."
	awk -F'\t' '$21 == 1 { printf "- With a dashboard subscribed (not a goal of the issue: what the live view costs), %s agents at %s ms: CPU %s %%, p99 %s ms, %s false alarms.\n", $1, $2, $4, $8, $11 }' "$RAW"
	if [ "$HAVE_PERF" = 1 ]; then
		echo
		echo "Where the collector's CPU goes (\`perf record -g -F 499\`, $CAP_PERF_S s per step right after the"
		echo "measured window, so that the profiler does not count in the delay; top three symbols by self time):"
		echo
		awk -F'\t' '{ printf "- %s agents at %s ms%s: %s\n", $1, $2, ($21 == 1 ? " with a dashboard" : ""), $17 }' "$RAW"
	fi
} >"$BENCH_MD"
