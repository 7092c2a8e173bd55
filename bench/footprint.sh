#!/usr/bin/env bash
# bench/footprint.sh — what vigil costs where it runs.
#
#   agent     one real bin/vigil-agent (defaults: host metrics, StatsD
#             listener) against a collector, per heartbeat interval: after
#             FOOT_WARMUP_S, CPU (utime + stime from /proc) over FOOT_SECONDS
#             as % of one core, VmRSS, VmHWM and USS (Private_Clean +
#             Private_Dirty from smaps_rollup: what the agent alone adds;
#             RSS also counts the pages of shared libraries).  Measured
#             for the agent as built (libwebsockets and OpenSSL linked
#             statically) and, in the same run, built with
#             AGENT_LINK=shared (FOOT_AGENT_LINKS).
#   operator  the operator stream a dashboard receives: bin/vigil-opwatch
#             subscribes (vigil-operator.v1) while bin/vigil-swarm runs
#             N agents, and counts frames and bytes per type for
#             FOOT_OP_SECONDS, from the snapshot on.
#
# Writes a Markdown section to $BENCH_MD (default: stdout), progress to
# stderr, logs and raw samples to $BENCH_WORK.  Parameters (environment):
: "${FOOT_INTERVALS:=1000 100}"    # agent --interval-ms values
: "${FOOT_AGENT_LINKS:=static shared}"  # the agent as built, and with AGENT_LINK=shared
: "${FOOT_WARMUP_S:=5}"
: "${FOOT_SECONDS:=60}"
: "${FOOT_OP_STEPS:=1000x1000 1000x100}"  # AGENTSxINTERVAL_MS for the operator stream
: "${FOOT_OP_SECONDS:=30}"
: "${PARTS_FOOT:=agent operator}"
: "${BENCH_MD:=/dev/stdout}"

set -u
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_snapshot_bins vigil-swarm vigil-opwatch || exit 2
ARAW=$BENCH_WORK/footprint-agent.tsv
ORAW=$BENCH_WORK/footprint-operator.tsv
: >"$ARAW"
: >"$ORAW"
say "footprint: work directory $BENCH_WORK"

uss_kib() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null; }

# The agent built with AGENT_LINK=shared, in the work directory (the
# snapshot in $BIN is the static one `make` builds).
build_shared_agent() {
	make -s -C "$ROOT" AGENT_LINK=shared BUILD="$BENCH_WORK/build-shared" \
		BIN="$BENCH_WORK/bin-shared" "$BENCH_WORK/bin-shared/vigil-agent" >&2
}

agent_bin() { # LINK
	case $1 in
	static) echo "$BIN/vigil-agent" ;;
	shared) echo "$BENCH_WORK/bin-shared/vigil-agent" ;;
	esac
}

run_agent() { # INTERVAL_MS LINK
	local iv=$1 link=$2 port db cpid apid t0 t1 c0 c1 rss rss_max=0 uss l0 l1 now
	port=$(free_port) || return 1
	db=$BENCH_WORK/agent-$link-$iv.db
	start_collector "collector-agent-$link-$iv" "$port" "$db" || { say "collector did not start"; return 1; }
	cpid=$COLLECTOR_PID
	bg "agent-$link-$iv" "$(agent_bin "$link")" --collector "ws://127.0.0.1:$port" \
		--node "foot-$iv" --group bench --interval-ms "$iv"
	apid=$BG_PID
	wait_until 10 state_is "$port" "foot-$iv" alive || { say "agent never alive"; return 1; }
	sleep "$FOOT_WARMUP_S"
	l0=$(loadavg)
	t0=$(now_ms)
	c0=$(proc_cpu_ticks "$apid")
	while now=$(now_ms); [ "$now" -lt $((t0 + FOOT_SECONDS * 1000)) ]; do
		rss=$(proc_rss_kib "$apid")
		[ -n "$rss" ] || { say "agent gone"; return 1; }
		[ "$rss" -gt "$rss_max" ] && rss_max=$rss
		sleep 1
	done
	t1=$(now_ms)
	c1=$(proc_cpu_ticks "$apid")
	uss=$(uss_kib "$apid")
	l1=$(loadavg)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$iv" $(( (t1 - t0) / 1000 )) "$((c1 - c0))" \
		"$(awk -v t=$((c1 - c0)) -v k="$(getconf CLK_TCK)" -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", 100 * t / k / (d / 1000) }')" \
		"$rss_max" "$(proc_hwm_kib "$apid")" "$uss" "$l0" "$l1" "$link" >>"$ARAW"
	say "agent ($link) at $iv ms: $((c1 - c0)) ticks in $(( (t1 - t0) / 1000 )) s, RSS $rss_max KiB, USS $uss KiB"
	stop_pid "$apid" TERM
	stop_pid "$cpid" TERM
}

run_operator() { # AGENTS INTERVAL_MS
	local n=$1 iv=$2 port db cpid spid oj l0 l1
	port=$(free_port) || return 1
	db=$BENCH_WORK/op-$n-$iv.db
	start_collector "collector-op-$n-$iv" "$port" "$db" --max-clients 19000 ||
		{ say "collector did not start"; return 1; }
	cpid=$COLLECTOR_PID
	bg "swarm-op-$n-$iv" "$BIN/vigil-swarm" --url "ws://127.0.0.1:$port" -n "$n" --interval-ms "$iv" \
		--jitter-pct 5 --prefix "o$n" --report-s 0
	spid=$BG_PID
	wait_until 60 agents_connected_is "$port" "$n" || say "operator $n x $iv: not all agents connected"
	sleep 3
	l0=$(loadavg)
	oj=$("$BIN/vigil-opwatch" --url "ws://127.0.0.1:$port" --duration "$FOOT_OP_SECONDS" \
		2>>"$BENCH_WORK/opwatch.log")
	l1=$(loadavg)
	printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$iv" "$oj" "$l0" "$l1" >>"$ORAW"
	say "operator stream, $n agents at $iv ms: $(jq -c '{bytes_per_s, frames_per_s, delta_nodes_mean}' <<<"$oj")"
	stop_pid "$spid" TERM
	stop_pid "$cpid" TERM
}

T_BEGIN=$(now_ms)
for part in $PARTS_FOOT; do
	case $part in
	agent)
		case " $FOOT_AGENT_LINKS " in *" shared "*) build_shared_agent || exit 1 ;; esac
		for link in $FOOT_AGENT_LINKS; do
			for iv in $FOOT_INTERVALS; do run_agent "$iv" "$link" || exit 1; done
		done ;;
	operator) for st in $FOOT_OP_STEPS; do run_operator "${st%x*}" "${st#*x}" || exit 1; done ;;
	*) say "unknown part $part"; exit 2 ;;
	esac
done
T_END=$(now_ms)

{
	echo "## Footprints — \`bench/footprint.sh\`"
	echo
	echo "Command: \`bench/run.sh footprint\` (or \`bench/footprint.sh\` alone). Parameters: \`FOOT_INTERVALS=\"$FOOT_INTERVALS\""
	echo "FOOT_WARMUP_S=$FOOT_WARMUP_S FOOT_SECONDS=$FOOT_SECONDS FOOT_OP_STEPS=\"$FOOT_OP_STEPS\" FOOT_OP_SECONDS=$FOOT_OP_SECONDS\`;"
	echo "the part took $(( (T_END - T_BEGIN) / 1000 )) s."
	if [ -s "$ARAW" ]; then
		echo
		echo "### Agent"
		echo
		echo "One \`bin/vigil-agent\` at its defaults (host metrics from /proc, StatsD listener, an echo every"
		echo "10th heartbeat) against a collector on 127.0.0.1. CPU: utime + stime over the window, % of one"
		echo "core (the clock tick is 10 ms, so over $FOOT_SECONDS s one tick is $(awk -v s="$FOOT_SECONDS" 'BEGIN { printf "%.3f", 1 / s }') %). RSS counts the resident"
		echo "pages of the agent's file and of the shared libraries it loads; USS is its private memory."
		echo "**static** is the agent \`make\` builds: libwebsockets and OpenSSL linked statically with packed"
		echo "relocations (libc, libcjson, libcap shared). **shared** is the same code built with"
		echo "\`make AGENT_LINK=shared\`: Debian's shared libwebsockets, which loads libssl and libcrypto even"
		echo "without TLS. Both in this run, one after the other."
		echo
		echo "| link | interval | seconds | CPU ticks | CPU % of one core | RSS KiB (max) | VmHWM KiB | USS KiB | load avg start / end |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
		awk -F'\t' '{ printf "| %s | %s ms | %s | %s | %s | %s | %s | %s | %s / %s |\n", $10, $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$ARAW"
		echo
		awk -F'\t' '$1 == 1000 && $10 == "static" {
			ok_rss = $5 <= 4096; ok_cpu = $4 <= 0.2
			printf "- Goal at 1/s: RSS <= 4 MB: %s (%s KiB; USS %s KiB); CPU <= 0.2 %%: %s (%s %%).\n",
				ok_rss ? "**met**" : "**not met**", $5, $7, ok_cpu ? "**met**" : "**not met**", $4 }' "$ARAW"
		awk -F'\t' '$1 == 1000 { r[$10] = $5; u[$10] = $7 }
			END { if (r["static"] && r["shared"])
				printf "- static / shared at 1/s: RSS %s / %s KiB (ratio %.2f), USS %s / %s KiB.\n",
					r["static"], r["shared"], r["static"] / r["shared"], u["static"], u["shared"] }' "$ARAW"
	fi
	if [ -s "$ORAW" ]; then
		echo
		echo "### Operator stream"
		echo
		echo "What one subscribed dashboard receives (\`bin/vigil-opwatch\`: the \`subscribe\` of \`vigil-operator.v1\`,"
		echo "frames counted from the snapshot on, for $FOOT_OP_SECONDS s) while \`bin/vigil-swarm\` runs the agents."
		echo "Fast deltas carry the nodes whose state or flags changed, at most every 250 ms; every node"
		echo "that changed at all is refreshed once every 2 s, in slices sent at the 50 ms ticks (so the"
		echo "frame count is mostly slices, and the largest frame is the snapshot)."
		echo
		echo "| agents | interval | bytes/s | frames/s | deltas | mean nodes per delta | max nodes | delta gap min / max ms | snapshot bytes | largest frame | events | load avg start / end |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|"
		while IFS=$'\t' read -r n iv oj l0 l1; do
			jq -r --arg n "$n" --arg iv "$iv" --arg l "$l0 / $l1" \
				'"| \($n) | \($iv) ms | \(.bytes_per_s) | \(.frames_per_s) | \(.delta_frames) | \(.delta_nodes_mean) | \(.delta_nodes_max) | \(.delta_gap_min_ms) / \(.delta_gap_max_ms) | \(.snapshot_bytes) | \(.max_frame) | \(.event_frames) | \($l) |"' <<<"$oj"
		done <"$ORAW"
	fi
} >"$BENCH_MD"
