#!/usr/bin/env bash
# bench/detect.sh — how fast the collector detects hung and crashed nodes, and
# whether it raises false alarms under load.  Real processes on 127.0.0.1,
# collector at its default settings.
#
#   hung    SIGSTOP the agent; time from the signal to the node's first
#           transition out of alive (suspect) and to failed.  SIGCONT after
#           failed, wait until alive, STEADY_SECONDS of heartbeats, repeat.
#   crash   SIGKILL the agent; same two times.  Restart the agent with the
#           same --node, wait until alive, STEADY_SECONDS, repeat.
#   loaded  LOADED_AGENTS agents for LOADED_SECONDS while a busy loop keeps
#           one core busy; count transitions to suspect or failed (nobody
#           was stopped, so every one is false); collector CPU time and RSS.
#
# Times: the wall clock ($EPOCHREALTIME) read right before the signal,
# against the ts_ms the collector stores with each transition (its wall
# clock when it decided).  Percentiles are nearest-rank over the trials of
# this run.
#
# Writes a Markdown section to $BENCH_MD (default: stdout), progress to
# stderr, raw samples and logs to $BENCH_WORK (a new /tmp/vigil-bench.* by
# default, kept).  Parameters (environment):
: "${TRIALS:=20}"                  # trials per interval, hung and crash
: "${INTERVALS:=100 500 1000}"     # agent --interval-ms for hung and crash
: "${STEADY_SECONDS:=3}"           # steady heartbeats before each trial
: "${PHASE_JITTER:=1}"             # 1: wait a random 0..interval ms more, so the
                                   # signal lands at a random point of the heartbeat cycle
: "${LOADED_SECONDS:=300}"         # length of each loaded run
: "${LOADED_AGENTS:=20}"           # agents in the loaded runs
: "${LOADED_INTERVALS:=500 100}"   # one loaded run per interval
: "${DETECT_TIMEOUT_S:=20}"        # bound on the wait for failed, per trial
: "${ALIVE_TIMEOUT_S:=30}"         # bound on the wait for alive again
: "${PARTS:=hung crash loaded}"    # which parts to run
: "${BENCH_MD:=/dev/stdout}"

set -u
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_snapshot_bins || exit 2
RAW=$BENCH_WORK/detect-trials.tsv
LOADRAW=$BENCH_WORK/detect-loaded.tsv
: >"$RAW"
: >"$LOADRAW"
say "detect: work directory $BENCH_WORK"

has_failed_since() { # DB NODE T0
	[ "$(sql "$1" "select count(*) from events where kind='state' and node='$2'
		and to_state='failed' and ts_ms >= $3")" -gt 0 ]
}

# One trial's figures from the store -> "suspect_ms suspect_rule failed_ms failed_rule direct"
# suspect = first transition out of alive (to suspect; to failed when it skipped suspect).
trial_figures() { # DB NODE T0
	local first failed
	first=$(sql "$1" "select ts_ms - $3, to_state, rule from events where kind='state'
		and node='$2' and ts_ms >= $3 and to_state in ('suspect','failed')
		order by ts_ms, id limit 1")
	failed=$(sql "$1" "select ts_ms - $3, rule from events where kind='state'
		and node='$2' and ts_ms >= $3 and to_state='failed' order by ts_ms, id limit 1")
	IFS='|' read -r s_ms s_to s_rule <<<"$first"
	IFS='|' read -r f_ms f_rule <<<"$failed"
	echo "${s_ms:--} ${s_rule:--} ${f_ms:--} ${f_rule:--} $([ "${s_to:-}" = failed ] && echo 1 || echo 0)"
}

# run_trials KIND INTERVAL_MS   (KIND: hung | crash)
run_trials() {
	local kind=$1 iv=$2 port db node t us fig i ok
	port=$(free_port) || { say "no free port"; return 1; }
	db=$BENCH_WORK/$kind-$iv.db
	node=$kind-$iv
	rm -f "$db" "$db-wal" "$db-shm"
	start_collector "collector-$kind-$iv" "$port" "$db" || { say "collector did not start"; return 1; }
	local cpid=$COLLECTOR_PID
	start_agent "agent-$kind-$iv" "$port" "$node" "$iv"
	if ! wait_until "$ALIVE_TIMEOUT_S" state_is "$port" "$node" alive; then
		say "$node never became alive"
		return 1
	fi
	sleep "$STEADY_SECONDS"
	for i in $(seq "$TRIALS"); do
		ok=1
		if ! state_is "$port" "$node" alive; then
			wait_until "$ALIVE_TIMEOUT_S" state_is "$port" "$node" alive || say "$node: not alive before trial $i"
		fi
		if [ "$PHASE_JITTER" = 1 ]; then
			local jit=$((RANDOM % iv))
			sleep "$((jit / 1000)).$(printf %03d $((jit % 1000)))"
		fi
		# take the time, then signal at once (both bash builtins, no fork between)
		us=${EPOCHREALTIME/[.,]/}
		if [ "$kind" = hung ]; then kill -STOP "$AGENT_PID"; else kill -KILL "$AGENT_PID"; fi
		t=$((us / 1000))
		if ! wait_until "$DETECT_TIMEOUT_S" has_failed_since "$db" "$node" "$t"; then
			ok=0
			say "$node trial $i: no failed within $DETECT_TIMEOUT_S s"
		fi
		if [ "$kind" = hung ]; then
			kill -CONT "$AGENT_PID"
		else
			wait "$AGENT_PID" 2>/dev/null
			forget_pid "$AGENT_PID"
			start_agent "agent-$kind-$iv" "$port" "$node" "$iv"
		fi
		if ! wait_until "$ALIVE_TIMEOUT_S" state_is "$port" "$node" alive; then
			say "$node trial $i: not alive again within $ALIVE_TIMEOUT_S s"
		fi
		# the rows are in the store by now (it commits every 50 ms)
		fig=$(trial_figures "$db" "$node" "$t")
		[ $ok -eq 1 ] || fig="timeout - timeout - 0"
		printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$iv" "$i" "$t" "${fig// /$'\t'}" >>"$RAW"
		say "$node trial $i/$TRIALS: suspect/failed ms, rules: $fig"
		sleep "$STEADY_SECONDS"
	done
	stop_pid "$AGENT_PID" TERM
	stop_pid "$cpid" TERM
}

# run_loaded INTERVAL_MS
run_loaded() {
	local iv=$1 port db cpid hog i t_start t_end c0 c1 h0 h1 rss rss0 rss_max=0 l0 l1 now left
	local tck nfalse nall alive_end warn lines
	tck=$(getconf CLK_TCK)
	port=$(free_port) || { say "no free port"; return 1; }
	db=$BENCH_WORK/loaded-$iv.db
	rm -f "$db" "$db-wal" "$db-shm"
	start_collector "collector-loaded-$iv" "$port" "$db" || { say "collector did not start"; return 1; }
	cpid=$COLLECTOR_PID
	local apids=()
	for i in $(seq -w "$LOADED_AGENTS"); do
		start_agent "agent-loaded-$iv-$i" "$port" "load-$iv-$i" "$iv"
		apids+=("$AGENT_PID")
	done
	if ! wait_until "$ALIVE_TIMEOUT_S" alive_count_is "$port" "$LOADED_AGENTS"; then
		say "loaded $iv: not all $LOADED_AGENTS agents alive"
		return 1
	fi
	sleep "$STEADY_SECONDS"
	bg "hog-$iv" sh -c 'while :; do :; done'
	hog=$BG_PID
	l0=$(wc -l <"$BENCH_WORK/collector-loaded-$iv.log")
	t_start=$(now_ms)
	c0=$(proc_cpu_ticks "$cpid")
	h0=$(proc_cpu_ticks "$hog")
	rss0=$(proc_rss_kib "$cpid")
	t_end=$((t_start + LOADED_SECONDS * 1000))
	say "loaded $iv ms: $LOADED_AGENTS agents + busy loop for $LOADED_SECONDS s"
	while now=$(now_ms); [ "$now" -lt "$t_end" ]; do
		rss=$(proc_rss_kib "$cpid")
		[ -n "$rss" ] || { say "collector gone"; return 1; }
		[ "$rss" -gt "$rss_max" ] && rss_max=$rss
		left=$(( (t_end - now + 999) / 1000 ))
		sleep $((left < 5 ? left : 5))
	done
	t_end=$(now_ms)
	c1=$(proc_cpu_ticks "$cpid")
	h1=$(proc_cpu_ticks "$hog")
	rss=$(proc_rss_kib "$cpid")
	[ "$rss" -gt "$rss_max" ] && rss_max=$rss
	alive_end=$(alive_count "$port")
	l1=$(wc -l <"$BENCH_WORK/collector-loaded-$iv.log")
	stop_pid "$hog" TERM
	# every transition to suspect or failed since the collector started
	nfalse=$(sql "$db" "select count(*) from events where kind='state'
		and to_state in ('suspect','failed') and ts_ms <= $t_end")
	nall=$(sql "$db" "select count(*) from events where kind='state' and ts_ms between $t_start and $t_end")
	lines=$(sed -n "$((l0 + 1)),${l1}p" "$BENCH_WORK/collector-loaded-$iv.log")
	warn=$(grep -c ' warn: \| error: ' <<<"$lines")
	grep -E ' -> (suspect|failed) ' "$BENCH_WORK/collector-loaded-$iv.log" >"$BENCH_WORK/loaded-$iv-false.txt"
	grep -E ' warn: | error: ' <<<"$lines" >"$BENCH_WORK/loaded-$iv-warn.txt"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$iv" "$LOADED_AGENTS" \
		$(( (t_end - t_start) / 1000 )) "$nfalse" "$nall" \
		"$(awk -v t=$((c1 - c0)) -v k="$tck" 'BEGIN { printf "%.2f", t / k }')" \
		"$(awk -v t=$((c1 - c0)) -v k="$tck" -v d=$((t_end - t_start)) 'BEGIN { printf "%.2f", 100 * t / k / (d / 1000) }')" \
		"$(awk -v t=$((h1 - h0)) -v k="$tck" -v d=$((t_end - t_start)) 'BEGIN { printf "%.0f", 100 * t / k / (d / 1000) }')" \
		"$rss0" "$rss_max" "$warn" "${alive_end:-?}" >>"$LOADRAW"
	say "loaded $iv ms: $nfalse suspect/failed transitions, $alive_end/$LOADED_AGENTS alive at the end"
	for i in "${apids[@]}"; do stop_pid "$i" TERM; done
	stop_pid "$cpid" TERM
}

T_BEGIN=$(now_ms)
for part in $PARTS; do
	case $part in
	hung | crash) for iv in $INTERVALS; do run_trials "$part" "$iv" || exit 1; done ;;
	loaded) for iv in $LOADED_INTERVALS; do run_loaded "$iv" || exit 1; done ;;
	*) say "unknown part $part"; exit 2 ;;
	esac
done
T_END=$(now_ms)

# ---- report -----------------------------------------------------------------

# stat_of KIND IV COLUMN -> "n p50 p99 min max" over the completed trials
stat_of() { awk -F'\t' -v k="$1" -v iv="$2" -v c="$3" '$1 == k && $2 == iv && $c != "timeout" && $c != "-" { print $c }' "$RAW" | stats; }
count_of() { awk -F'\t' -v k="$1" -v iv="$2" -v c="$3" -v val="$4" '$1 == k && $2 == iv && $c == val { n++ } END { print n + 0 }' "$RAW"; }
rules_of() { awk -F'\t' -v k="$1" -v iv="$2" -v c="$3" '$1 == k && $2 == iv && $c != "-" { n[$c]++ } END { for (r in n) printf "%s%s x%d", (s++ ? ", " : ""), r, n[r] }' "$RAW"; }

# verdict VALUE... GOAL_MS: "met" when every value is <= goal
within() { local g=${!#} v; for v in "${@:1:$#-1}"; do [ "$v" != - ] && [ "$v" -le "$g" ] || return 1; done; }

trials_table() { # KIND
	local kind=$1 iv s f to direct
	echo "| interval | trials | to suspect p50 | p99 | min | max | to failed p50 | p99 | min | max | timeouts | rules (suspect; failed) |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for iv in $INTERVALS; do
		read -r sn s50 s99 smin smax <<<"$(stat_of "$kind" "$iv" 5)"
		read -r fn f50 f99 fmin fmax <<<"$(stat_of "$kind" "$iv" 7)"
		to=$(count_of "$kind" "$iv" 7 timeout)
		direct=$(count_of "$kind" "$iv" 9 1)
		echo "| $iv ms | $fn | $s50 | $s99 | $smin | $smax | $f50 | $f99 | $fmin | $fmax | $to | $(rules_of "$kind" "$iv" 6); $(rules_of "$kind" "$iv" 8) |"
		[ "$direct" -eq 0 ] || DIRECT_NOTE+="${DIRECT_NOTE:+; }$kind $iv ms: $direct of $fn trials went from alive straight to failed (their suspect time is their failed time)"
	done
}

# goal_line TEXT KIND IV COLUMN GOAL_MS MODE   (MODE p50: judged on p50; all: p50 and p99)
goal_line() {
	local text=$1 kind=$2 iv=$3 col=$4 goal=$5 mode=$6 n p50 p99 mn mx to v
	read -r n p50 p99 mn mx <<<"$(stat_of "$kind" "$iv" "$col")"
	to=$(count_of "$kind" "$iv" 7 timeout)
	if [ "$n" -eq 0 ]; then
		v="not measured"
	elif [ "$to" -gt 0 ]; then
		v="**not met**: $to trials never reached failed"
	elif [ "$mode" = p50 ]; then
		if within "$p50" "$goal"; then v="**met**"; else v="**not met**"; fi
		v="$v (p50 $p50 ms, p99 $p99 ms)"
	else
		if within "$p50" "$p99" "$goal"; then v="**met** at p50 and p99"
		elif within "$p50" "$goal"; then v="**met at p50 only**, not at p99"
		else v="**not met**"; fi
		v="$v (p50 $p50 ms, p99 $p99 ms, max $mx ms)"
	fi
	echo "- $text: $v."
}

has_part() { [[ " $PARTS " == *" $1 "* ]]; }
has_iv() { [[ " $INTERVALS " == *" $1 "* ]]; }

{
	echo "## Failure detection — \`bench/detect.sh\`"
	echo
	echo "Command: \`make bench\` (all benchmarks, rewrites this file) or \`bench/detect.sh\` alone"
	echo "(prints this section). Parameters of this run: \`TRIALS=$TRIALS INTERVALS=\"$INTERVALS\""
	echo "STEADY_SECONDS=$STEADY_SECONDS PHASE_JITTER=$PHASE_JITTER LOADED_SECONDS=$LOADED_SECONDS LOADED_AGENTS=$LOADED_AGENTS"
	echo "LOADED_INTERVALS=\"$LOADED_INTERVALS\"\`. Collector at its default settings (suspect phi 5,"
	echo "failed phi 8, acceptable pause = one interval, minimum deviation = interval / 5, reconnect"
	echo "grace 1000 ms); one collector and one agent per interval, all on 127.0.0.1. The part took"
	echo "$(( (T_END - T_BEGIN) / 1000 )) s."
	echo
	echo "Times are milliseconds from the wall-clock time taken right before the signal (bash's"
	echo "\`\$EPOCHREALTIME\`, the clock of \`date +%s%3N\`, read with no fork before \`kill\`) to the"
	echo "\`ts_ms\` the collector stored with the transition (its wall clock at the decision)."
	echo "\"To suspect\" is the first transition out of \`alive\`. p50 and p99 are nearest-rank"
	echo "over the trials of this one run (with $TRIALS trials p99 is the largest value)."
	if has_part hung; then
		DIRECT_NOTE=
		echo
		echo "### Hung node (SIGSTOP of the agent)"
		echo
		echo "Each trial: \`kill -STOP\`, wait for \`failed\`, \`kill -CONT\`, wait until \`alive\`, then"
		echo "$STEADY_SECONDS s of steady heartbeats (the detector keeps its history; it resets it only"
		echo "on reconnect)$( [ "$PHASE_JITTER" = 1 ] && echo ", then a random 0..interval ms more so that the signal lands at a"; true)"
		[ "$PHASE_JITTER" = 1 ] && echo "random point of the heartbeat cycle (without it the trials lock onto one phase)."
		echo
		trials_table hung
		[ -z "$DIRECT_NOTE" ] || { echo; echo "Note: $DIRECT_NOTE."; }
		echo
		has_iv 100 && goal_line "Goal: hung node at 100 ms heartbeats failed in <= 1.0 s at p50" hung 100 7 1000 p50
		has_iv 500 && goal_line "Goal: hung node at 500 ms heartbeats failed in <= 2 s at p50" hung 500 7 2000 p50
		has_iv 1000 && echo "- 1000 ms heartbeats: no goal set (for comparison)."
	fi
	if has_part crash; then
		DIRECT_NOTE=
		echo
		echo "### Crashed node (SIGKILL of the agent)"
		echo
		echo "Each trial: \`kill -KILL\`, wait for \`failed\`, restart the agent with the same \`--node\`,"
		echo "wait until \`alive\`, then $STEADY_SECONDS s of steady heartbeats$( [ "$PHASE_JITTER" = 1 ] && echo " and a random 0..interval ms"; true)."
		echo
		trials_table crash
		[ -z "$DIRECT_NOTE" ] || { echo; echo "Note: $DIRECT_NOTE."; }
		echo
		for iv in $INTERVALS; do
			goal_line "Goal: crashed node suspect <= 50 ms after the kill, at $iv ms" crash "$iv" 5 50 all
			goal_line "Goal: crashed node failed by the grace period (1000 ms after the kill), at $iv ms" crash "$iv" 7 1000 all
		done
		echo
		echo "The grace period runs from the moment the collector sees the connection close, and the"
		echo "collector wakes exactly when it ends (\`core_next_deadline\`), so \`failed\` comes at"
		echo "1000 ms + (kill to close, the \"to suspect\" column): the verdict is the grace period's,"
		echo "and read literally, \"failed within 1000 ms of the kill\" misses by that 1..5 ms."
	fi
	if has_part loaded; then
		echo
		echo "### False transitions under load"
		echo
		echo "$LOADED_AGENTS agents per run, nobody stopped, while \`sh -c 'while :; do :; done'\` keeps one"
		echo "core busy; every transition to \`suspect\` or \`failed\` (from the collector's start to the"
		echo "end of the window) is false. Collector CPU is utime + stime from \`/proc/PID/stat\` over"
		echo "the window, RSS is \`VmRSS\` sampled every 5 s."
		echo
		echo "| interval | agents | seconds | false suspect/failed | all state transitions in window | collector CPU s | collector CPU % of a core | busy loop % of a core | collector RSS start / max KiB | warn/error log lines | alive at end |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		while IFS=$'\t' read -r iv na secs nf nall cpus cpup hogp r0 rmax warn aend; do
			echo "| $iv ms | $na | $secs | $nf | $nall | $cpus | $cpup | $hogp | $r0 / $rmax | $warn | $aend |"
		done <"$LOADRAW"
		echo
		while IFS=$'\t' read -r iv na secs nf nall cpus cpup hogp r0 rmax warn aend; do
			if [ "$nf" -eq 0 ]; then v="**met** (0)"; else v="**not met** ($nf)"; fi
			echo "- Goal: zero false suspect/failed in the ${secs} s loaded run at $iv ms: $v."
		done <"$LOADRAW"
		for iv in $LOADED_INTERVALS; do
			if [ -s "$BENCH_WORK/loaded-$iv-false.txt" ]; then
				echo
				echo "False transitions at $iv ms (collector log, first 10):"
				echo
				echo '```'
				head -10 "$BENCH_WORK/loaded-$iv-false.txt"
				echo '```'
			fi
		done
	fi
} >"$BENCH_MD"
say "detect: done in $(( (T_END - T_BEGIN) / 1000 )) s; raw data in $RAW, $LOADRAW"
