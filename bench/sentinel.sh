#!/usr/bin/env bash
# bench/sentinel.sh — vigil side by side with Redis Sentinel, same machine,
# same run: how long from freezing (SIGSTOP) or killing (SIGKILL) the
# primary to the verdicts and to a new primary.
#
#   Sentinel  Debian's redis-server and redis-sentinel (installed with apt-get
#             if missing): a primary and two replicas, three sentinels
#             (quorum 2), all on 127.0.0.1 ports below the ephemeral range.
#             Times from the signal to the first sentinel's +sdown, the first
#             +odown and the first +switch-master, read from the sentinels'
#             logs (ms timestamps, this machine's clock).  At
#             down-after-milliseconds 1000 and at the default 30000.
#   vigil     a collector at its defaults (but --failover-cooldown and
#             --flap-half-life-ms, see below) and three agents in one group, each with an
#             --on-promote hook that appends the time to a log.  Times from
#             the signal to the old leader's first transition out of alive
#             (suspect), to failed (both from the collector's store) and to
#             the new leader's promote hook running.  At 100 ms and 500 ms
#             heartbeats.
#
# Mapping: +sdown ~ suspect (one observer's opinion), +odown ~ failed (the
# verdict that allows a failover: a quorum of sentinels, the collector's
# phi or grace period), +switch-master ~ the promote hook (a new primary).
#
# Both get the same per-trial procedure: steady state, signal, wait for the
# new primary, then heal (SIGCONT, or restart the killed one as a replica /
# agent) and wait until steady again.  Failover back-off settings are
# shortened so trials can follow each other (they do not change the time of
# one failover): Sentinel failover-timeout SENT_FAILOVER_TIMEOUT_MS, vigil
# --failover-cooldown 1s and --flap-half-life-ms 2s (a trial every ~10 s
# kills and restarts members: at the default 60 s half-life vigil rightly
# flags them flapping and refuses them as candidates until the score decays,
# which measured the flap guard, 50-60 s, instead of a failover).
#
# Writes a Markdown section to $BENCH_MD, progress to stderr, logs to
# $BENCH_WORK.  Parameters (environment):
: "${SENT_TRIALS:=10}"                   # trials per fault at down-after 1000 / per vigil interval
: "${SENT_TRIALS_DEFAULT:=3}"            # trials per fault at the default down-after (30 s each)
: "${SENT_DOWN_AFTER:=1000 30000}"       # down-after-milliseconds settings
: "${SENT_FAILOVER_TIMEOUT_MS:=3000}"
: "${SENT_VIGIL_INTERVALS:=100 500}"     # vigil agent --interval-ms
: "${SENT_VIGIL_LEASE_MS:=}"             # collector --lease-ms ('' = its default)
: "${SENT_STEADY_S:=3}"
: "${SENT_PARTS:=sentinel vigil}"
: "${BENCH_MD:=/dev/stdout}"

set -u
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_snapshot_bins || exit 2
RAW=$BENCH_WORK/sentinel-trials.tsv   # system setting fault trial sdown odown switch
: >"$RAW"
say "sentinel: work directory $BENCH_WORK"

# ---- Redis ------------------------------------------------------------------

ensure_redis() {
	if ! command -v redis-server >/dev/null || ! command -v redis-sentinel >/dev/null; then
		say "installing redis-server and redis-sentinel (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-sentinel \
			>"$BENCH_WORK/apt.log" 2>&1 || { say "apt-get failed (see $BENCH_WORK/apt.log)"; return 1; }
	fi
	# The packages' own services (if an init started them) use 6379/26379;
	# we use our own ports and leave them alone.
}
REDIS_VERSION=$(redis-server --version 2>/dev/null | sed -n 's/.*v=\([^ ]*\).*/\1/p')

declare -A RPID          # port -> pid of our redis-server / redis-sentinel

rcli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }

start_redis() { # PORT [MASTERPORT]
	local p=$1 d=$BENCH_WORK/redis-$1
	mkdir -p "$d"
	if [ $# -gt 1 ]; then
		bg "redis-$p" redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no \
			--dir "$d" --logfile "$d/redis.log" --replicaof 127.0.0.1 "$2"
	else
		bg "redis-$p" redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no \
			--dir "$d" --logfile "$d/redis.log"
	fi
	RPID[$p]=$BG_PID
	wait_until 10 rcli_ping "$p"
}
rcli_ping() { [ "$(rcli "$1" ping)" = PONG ]; }

start_sentinel() { # PORT MASTERPORT DOWN_AFTER
	local p=$1 conf=$BENCH_WORK/sentinel-$1.conf
	cat >"$conf" <<-EOF
	port $p
	bind 127.0.0.1
	daemonize no
	logfile $BENCH_WORK/sentinel-$p.log
	dir $BENCH_WORK
	sentinel monitor bench 127.0.0.1 $2 2
	sentinel down-after-milliseconds bench $3
	sentinel failover-timeout bench $SENT_FAILOVER_TIMEOUT_MS
	sentinel parallel-syncs bench 1
	EOF
	: >"$BENCH_WORK/sentinel-$p.log"
	bg "sentinel-$p" redis-sentinel "$conf"
	RPID[$p]=$BG_PID
	wait_until 10 rcli_ping "$p"
}

master_port() { rcli "$1" sentinel get-master-addr-by-name bench | sed -n 2p; }

# steady: every sentinel names the same primary, sees it without flags
# beyond "master", knows 2 replicas and 2 other sentinels; the primary has 2
# replicas online.
redis_steady() {
	local s m first="" flags
	for s in "${SPORTS[@]}"; do
		m=$(master_port "$s")
		[ -n "$m" ] || return 1
		[ -z "$first" ] && first=$m
		[ "$m" = "$first" ] || return 1
		flags=$(rcli "$s" sentinel master bench | awk 'p { print; exit } $0 == "flags" { p = 1 }')
		[ "$flags" = master ] || return 1
		[ "$(rcli "$s" sentinel master bench | awk 'p { print; exit } $0 == "num-other-sentinels" { p = 1 }')" = 2 ] || return 1
		[ "$(rcli "$s" sentinel master bench | awk 'p { print; exit } $0 == "num-slaves" { p = 1 }')" -ge 2 ] || return 1
	done
	[ "$(rcli "$first" info replication | tr -d '\r' | awk -F: '$1 == "connected_slaves" { print $2 }')" = 2 ]
}

# sentinel_events T0_MS -> "sdown odown switch" (ms after T0 of the first of
# each among the three sentinels' logs; '-' if none)
sentinel_events() {
	python3 - "$1" "$BENCH_WORK"/sentinel-*.log <<-'EOF'
	import sys, datetime, re
	t0 = int(sys.argv[1]); first = {}
	pat = re.compile(r'^\d+:X (\d+ \w+ \d+ \d+:\d+:\d+\.\d+) [#*.-] (\+sdown master|\+odown master|\+switch-master) ')
	for f in sys.argv[2:]:
	    for line in open(f, errors='replace'):
	        m = pat.match(line)
	        if not m: continue
	        t = datetime.datetime.strptime(m.group(1), '%d %b %Y %H:%M:%S.%f').replace(tzinfo=datetime.timezone.utc)
	        ms = int(t.timestamp() * 1000)
	        if ms < t0: continue
	        k = m.group(2).split()[0]
	        first[k] = min(first.get(k, ms), ms)
	print(' '.join(str(first[k] - t0) if k in first else '-' for k in ('+sdown', '+odown', '+switch-master')))
	EOF
}

has_switch_since() { [ "$(sentinel_events "$1" | cut -d' ' -f3)" != - ]; }

run_sentinel() { # DOWN_AFTER_MS TRIALS
	local da=$1 trials=$2 p0 p1 p2 kind i m t us ev wait_s
	p0=$(free_port) && p1=$(free_port) && p2=$(free_port) || return 1
	SPORTS=()
	for _ in 1 2 3; do SPORTS+=("$(free_port)"); done
	start_redis "$p0" && start_redis "$p1" "$p0" && start_redis "$p2" "$p0" || { say "redis did not start"; return 1; }
	for s in "${SPORTS[@]}"; do start_sentinel "$s" "$p0" "$da" || { say "sentinel did not start"; return 1; }; done
	wait_s=$(( da / 1000 * 3 + 60 ))
	wait_until 60 redis_steady || { say "redis never steady"; return 1; }
	for kind in hung crash; do
		for i in $(seq "$trials"); do
			wait_until 120 redis_steady || say "sentinel $da: not steady before trial $i"
			sleep "$SENT_STEADY_S"
			m=$(master_port "${SPORTS[0]}")
			us=${EPOCHREALTIME/[.,]/}
			if [ "$kind" = hung ]; then kill -STOP "${RPID[$m]}"; else kill -KILL "${RPID[$m]}"; fi
			t=$((us / 1000))
			wait_until "$wait_s" has_switch_since "$t" || say "sentinel $da $kind trial $i: no +switch-master within $wait_s s"
			ev=$(sentinel_events "$t")
			if [ "$kind" = hung ]; then
				kill -CONT "${RPID[$m]}"
			else
				wait "${RPID[$m]}" 2>/dev/null
				forget_pid "${RPID[$m]}"
				start_redis "$m" "$(master_port "${SPORTS[0]}")"
			fi
			printf 'sentinel\t%s\t%s\t%s\t%s\n' "$da" "$kind" "$i" "${ev// /$'\t'}" >>"$RAW"
			say "sentinel down-after $da, $kind trial $i/$trials: +sdown +odown +switch-master ms: $ev"
			# a new failover of this master is refused for 2 x failover-timeout
			sleep $(( SENT_FAILOVER_TIMEOUT_MS * 2 / 1000 + 1 ))
		done
	done
	for s in "${SPORTS[@]}" "$p0" "$p1" "$p2"; do stop_pid "${RPID[$s]}" TERM; done
}

# ---- vigil ------------------------------------------------------------------

HAS_PROMOTE=0
"$BIN/vigil-agent" --help 2>&1 | grep -q -- --on-promote && HAS_PROMOTE=1

declare -A APID          # node -> agent pid

start_vagent() { # PORT NODE IV
	# a state directory per run: agents remember the newest epoch they saw,
	# and a fresh collector's epochs start again at 1
	mkdir -p "$BENCH_WORK/state-$3-$2"
	bg "vagent-$3-$2" "$BIN/vigil-agent" --collector "ws://127.0.0.1:$1" --node "$2" --group pg \
		--interval-ms "$3" --statsd off --state-dir "$BENCH_WORK/state-$3-$2" \
		--on-promote "$BENCH_WORK/promote-hook.sh $2"
	APID[$2]=$BG_PID
}

group_field() { vstatus "$1" 2>/dev/null | jq -r --arg f "$2" '.groups[] | select(.name == "pg") | .[$f] // empty'; }
vigil_steady() { # PORT
	local st
	st=$(vstatus "$1" 2>/dev/null) || return 1
	jq -e '([.nodes[] | select(.group == "pg" and .state == "alive")] | length) == 3 and
		(.groups[] | select(.name == "pg") | (.leader // "") != "" and .failover == null)' \
		<<<"$st" >/dev/null
}
promote_since() { # T0 -> ms after T0 of the first promote hook run (by NODE != $2)
	awk -v t="$1" -v old="$2" '$1 >= t && $2 != old { print $1 - t; exit }' "$BENCH_WORK/promote.log" 2>/dev/null
}
has_promote_since() { [ -n "$(promote_since "$1" "$2")" ]; }

run_vigil() { # IV TRIALS
	local iv=$1 trials=$2 port db cpid kind i leader t us fig s_ms f_ms p_ms extra=()
	port=$(free_port) || return 1
	db=$BENCH_WORK/vigil-$iv.db
	rm -f "$db" "$db-wal" "$db-shm"
	[ -n "$SENT_VIGIL_LEASE_MS" ] && extra=(--lease-ms "$SENT_VIGIL_LEASE_MS")
	start_collector "collector-vigil-$iv" "$port" "$db" --failover-cooldown 1s \
		--flap-half-life-ms 2s "${extra[@]}" ||
		{ say "collector did not start"; return 1; }
	cpid=$COLLECTOR_PID
	for n in pg-a pg-b pg-c; do start_vagent "$port" "$n" "$iv"; done
	wait_until 60 vigil_steady "$port" || { say "vigil $iv: no steady group"; return 1; }
	for kind in hung crash; do
		for i in $(seq "$trials"); do
			wait_until 60 vigil_steady "$port" || say "vigil $iv: not steady before trial $i"
			sleep "$SENT_STEADY_S"
			local jit=$((RANDOM % iv))
			sleep "$((jit / 1000)).$(printf %03d $((jit % 1000)))"
			leader=$(group_field "$port" leader)
			us=${EPOCHREALTIME/[.,]/}
			if [ "$kind" = hung ]; then kill -STOP "${APID[$leader]}"; else kill -KILL "${APID[$leader]}"; fi
			t=$((us / 1000))
			if [ "$HAS_PROMOTE" = 1 ]; then
				wait_until 60 has_promote_since "$t" "$leader" || say "vigil $iv $kind trial $i: no promote within 60 s"
			else
				wait_until 30 has_failed_since "$db" "$leader" "$t"
			fi
			sleep 0.2   # the store commits every 50 ms
			s_ms=$(sql "$db" "select ts_ms - $t from events where kind='state' and node='$leader'
				and ts_ms >= $t and to_state in ('suspect','failed') order by ts_ms, id limit 1")
			f_ms=$(sql "$db" "select ts_ms - $t from events where kind='state' and node='$leader'
				and ts_ms >= $t and to_state='failed' order by ts_ms, id limit 1")
			p_ms=$(promote_since "$t" "$leader")
			[ "$HAS_PROMOTE" = 1 ] || p_ms=n/a
			if [ "$kind" = hung ]; then
				kill -CONT "${APID[$leader]}"
			else
				wait "${APID[$leader]}" 2>/dev/null
				forget_pid "${APID[$leader]}"
				start_vagent "$port" "$leader" "$iv"
			fi
			printf 'vigil\t%s\t%s\t%s\t%s\t%s\t%s\n' "$iv" "$kind" "$i" "${s_ms:--}" "${f_ms:--}" "${p_ms:--}" >>"$RAW"
			say "vigil $iv ms, $kind trial $i/$trials ($leader): suspect ${s_ms:--} failed ${f_ms:--} promote ${p_ms:--} ms"
		done
	done
	for n in pg-a pg-b pg-c; do stop_pid "${APID[$n]}" TERM; done
	stop_pid "$cpid" TERM
}
has_failed_since() { [ "$(sql "$1" "select count(*) from events where kind='state' and node='$2' and to_state='failed' and ts_ms >= $3")" -gt 0 ]; }

cat >"$BENCH_WORK/promote-hook.sh" <<EOF
#!/bin/sh
echo "\$(date +%s%3N) \$1 \${VIGIL_EPOCH:-}" >>"$BENCH_WORK/promote.log"
EOF
chmod +x "$BENCH_WORK/promote-hook.sh"
: >"$BENCH_WORK/promote.log"

T_BEGIN=$(now_ms)
L_BEGIN=$(loadavg)
for part in $SENT_PARTS; do
	case $part in
	sentinel)
		ensure_redis || exit 1
		for da in $SENT_DOWN_AFTER; do
			if [ "$da" -ge 10000 ]; then run_sentinel "$da" "$SENT_TRIALS_DEFAULT" || exit 1
			else run_sentinel "$da" "$SENT_TRIALS" || exit 1; fi
		done ;;
	vigil) for iv in $SENT_VIGIL_INTERVALS; do run_vigil "$iv" "$SENT_TRIALS" || exit 1; done ;;
	*) say "unknown part $part"; exit 2 ;;
	esac
done
T_END=$(now_ms)
L_END=$(loadavg)

# ---- report -----------------------------------------------------------------

col() { awk -F'\t' -v s="$1" -v g="$2" -v k="$3" -v c="$4" '$1 == s && $2 == g && $3 == k && $c ~ /^[0-9]+$/ { print $c }' "$RAW" | stats; }
misses() { awk -F'\t' -v s="$1" -v g="$2" -v k="$3" -v c="$4" '$1 == s && $2 == g && $3 == k && $c !~ /^[0-9]+$/ { n++ } END { print n + 0 }' "$RAW"; }
cell() { local n p50 p99 mn mx; read -r n p50 p99 mn mx <<<"$(col "$@")"; [ "$n" = 0 ] && { echo "-"; return; }; echo "$p50 / $mx"; }
p50of() { col "$@" | cut -d' ' -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && b > 0) printf "%.2f", a / b; else printf "-" }'; }

{
	echo "## vigil and Redis Sentinel side by side — \`bench/sentinel.sh\`"
	echo
	echo "Command: \`bench/run.sh sentinel\` (or \`bench/sentinel.sh\` alone). Parameters: \`SENT_TRIALS=$SENT_TRIALS"
	echo "SENT_TRIALS_DEFAULT=$SENT_TRIALS_DEFAULT SENT_DOWN_AFTER=\"$SENT_DOWN_AFTER\" SENT_FAILOVER_TIMEOUT_MS=$SENT_FAILOVER_TIMEOUT_MS"
	echo "SENT_VIGIL_INTERVALS=\"$SENT_VIGIL_INTERVALS\" SENT_VIGIL_LEASE_MS=${SENT_VIGIL_LEASE_MS:-default}\`; the part took $(( (T_END - T_BEGIN) / 1000 )) s,"
	echo "load average $L_BEGIN at the start, $L_END at the end. Redis ${REDIS_VERSION:-?} (Debian's package): a primary,"
	echo "two replicas and three sentinels (quorum 2) on 127.0.0.1; vigil: one collector (defaults but"
	echo "\`--failover-cooldown 1s --flap-half-life-ms 2s\`$( [ -n "$SENT_VIGIL_LEASE_MS" ] && echo ", \`--lease-ms $SENT_VIGIL_LEASE_MS\`"; true)) and three agents in one group, each with an \`--on-promote\` hook"
	echo "that logs the time. Same machine, same run, one after the other."
	echo
	echo "Times are ms from the signal to the primary (taken with \`\$EPOCHREALTIME\` right before \`kill\`) to:"
	echo "Sentinel's first \`+sdown\`, first \`+odown\` and first \`+switch-master\` among the three sentinels' logs;"
	echo "vigil's old leader's first transition out of \`alive\` and its \`failed\` (the collector's store), and the"
	echo "new leader's promote hook (its \`date +%s%3N\`). Each cell: p50 / max over the trials."
	echo "Sentinel's \`failover-timeout\` ($SENT_FAILOVER_TIMEOUT_MS ms), vigil's cooldown and its flap half-life are shortened"
	echo "only so that trials can follow each other; they do not delay a first failover. (With the default 60 s"
	echo "half-life, members the bench killed and restarted a trial or two before are rightly flagged flapping and"
	echo "refused as candidates: the promote then waits 50-60 s for the flag to clear, which measures the flap guard.)"
	echo
	echo "| system | setting | fault | trials | +sdown / suspect | +odown / failed | +switch-master / promote hook | no result |"
	echo "|---|---|---|---:|---:|---:|---:|---:|"
	has_part() { [[ " $SENT_PARTS " == *" $1 "* ]]; }
	has_part sentinel || SENT_DOWN_AFTER=
	has_part vigil || SENT_VIGIL_INTERVALS=
	for da in $SENT_DOWN_AFTER; do
		for k in hung crash; do
			n=$(col sentinel "$da" "$k" 7 | cut -d' ' -f1)
			echo "| Sentinel | down-after $da ms | $k | $n | $(cell sentinel "$da" "$k" 5) | $(cell sentinel "$da" "$k" 6) | $(cell sentinel "$da" "$k" 7) | $(misses sentinel "$da" "$k" 7) |"
		done
	done
	for iv in $SENT_VIGIL_INTERVALS; do
		for k in hung crash; do
			n=$(col vigil "$iv" "$k" 6 | cut -d' ' -f1)
			pc=$(cell vigil "$iv" "$k" 7)
			[ "$HAS_PROMOTE" = 1 ] || pc="not measured (failover not built)"
			echo "| vigil | heartbeat $iv ms | $k | $n | $(cell vigil "$iv" "$k" 5) | $(cell vigil "$iv" "$k" 6) | $pc | $(misses vigil "$iv" "$k" 6) |"
		done
	done
	echo
	[ -n "$SENT_DOWN_AFTER" ] && [ -n "$SENT_VIGIL_INTERVALS" ] &&
		printf '%s\n\n' "Ratios vigil / Sentinel of the p50s (below 1: vigil is faster):"
	for iv in $SENT_VIGIL_INTERVALS; do
		for da in $SENT_DOWN_AFTER; do
			for k in hung crash; do
				echo "- vigil at $iv ms vs Sentinel at down-after $da ms, $k: suspect/+sdown" \
					"$(ratio "$(p50of vigil "$iv" "$k" 5)" "$(p50of sentinel "$da" "$k" 5)"), failed/+odown" \
					"$(ratio "$(p50of vigil "$iv" "$k" 6)" "$(p50of sentinel "$da" "$k" 6)"), promote/+switch-master" \
					"$(ratio "$(p50of vigil "$iv" "$k" 7)" "$(p50of sentinel "$da" "$k" 7)")."
			done
		done
	done
} >"$BENCH_MD"
