#!/usr/bin/env bash
# Health: an agent's checks and an application's StatsD metrics make a node
# degraded and healthy again; every change is in the history with its reason.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
SPORT=$(free_port)
DB=$T_DIR/vigil.db
start_collector "$PORT" "$DB" --sample-interval-ms 1s --degraded-error-rate 5 --degraded-after 2 --recover-after 2 \
	|| { fail "collector did not start"; finish; exit; }
touch "$T_DIR/ready"
start_agent app g "$PORT" --interval-ms 100 --statsd "127.0.0.1:$SPORT" \
	--check "ready=exec:test -e $T_DIR/ready" --check-interval 200ms --check-fail 2 --check-pass 1
wait_until 3 state_is "$PORT" app alive || fail "app not alive: $(node_state "$PORT" app)"
wait_until 3 bash -c "$BIN/vigil --collector ws://127.0.0.1:$PORT status --json | jqe '.nodes[0].checks[0].status == \"passing\"'" \
	&& ok "the check runs and reports passing" || fail "check: $(vstatus "$PORT" | jq -c '.nodes[0].checks')"

rm "$T_DIR/ready"      # exit 1 from test(1): warning by the Nagios convention, not critical
echo '#!/bin/sh
exit 2' > "$T_DIR/probe.sh"
sleep 0.6
[ "$(node_state "$PORT" app)" = alive ] && ok "a warning check does not degrade" || fail "degraded on a warning"

stop_pid "$(pid_of app)" TERM
start_agent app g "$PORT" --interval-ms 100 --statsd "127.0.0.1:$SPORT" \
	--check "probe=exec:sh $T_DIR/probe.sh" --check-interval 200ms --check-fail 2 --check-pass 1
if wait_until 3 state_is "$PORT" app degraded; then
	ok "a critical check makes the node degraded"
else
	fail "app is $(node_state "$PORT" app)"
fi
vstatus "$PORT" | jqe '.nodes[0].health | test("check probe critical: exit status 2")' >/dev/null \
	&& ok "the reason is shown: $(vstatus "$PORT" | jq -r '.nodes[0].health')" || fail "health: $(vstatus "$PORT" | jq -r '.nodes[0].health')"
echo '#!/bin/sh
echo all good' > "$T_DIR/probe.sh"
wait_until 3 state_is "$PORT" app alive && ok "check passing again: alive (rule healthy)" \
	|| fail "app is $(node_state "$PORT" app) after the check passed"

# The application reports errors over StatsD: over 5/s for 2 heartbeats -> degraded.
send_errors() {
	for _ in $(seq 60); do
		printf 'errors:1|c\nlatency_ms:12|ms\n' > "/dev/udp/127.0.0.1/$SPORT"
		sleep 0.02
	done
}
send_errors &
PIDS+=($!)
if wait_until 3 state_is "$PORT" app degraded; then
	ok "StatsD error rate over the threshold: degraded"
else
	fail "app is $(node_state "$PORT" app) under errors: $(vstatus "$PORT" | jq -c '.nodes[0].metrics.app')"
fi
vstatus "$PORT" | jqe '.nodes[0].health | test("error rate")' >/dev/null \
	&& ok "reason: $(vstatus "$PORT" | jq -r '.nodes[0].health')" || fail "no error-rate reason"
wait_until 5 state_is "$PORT" app alive && ok "errors stop: alive again" || fail "still $(node_state "$PORT" app)"

wait_until 2 bash -c "[ \$(sqlite3 '$DB' \"select count(*) from events where node='app' and kind='agent' and rule='check_critical'\") -ge 1 ]" \
	&& ok "the agent's check_critical event is in the history" || fail "no check event stored"
rules=$(sqlite3 "$DB" "select group_concat(rule, ',') from events where node='app' and kind='state' and to_state in ('degraded','alive') and rule != 'hello'")
echo "$rules" | grep -q "check_critical" && echo "$rules" | grep -q "health_threshold" && echo "$rules" | grep -q "healthy" \
	&& ok "transitions stored with their rules: $rules" || fail "rules: $rules"
# metric samples: one per second per connected node, with the app counters
wait_until 5 db_is "$DB" "select count(*) >= 3 from samples where node = 'app' and cpu is not null" 1 \
	&& wait_until 5 db_is "$DB" "select count(*) > 0 from samples_1m where node = 'app'" 1 \
	&& ok "metric samples and their one-minute aggregates stored ($(sqlite3 "$DB" "select count(*) from samples where node = 'app'") samples)" \
	|| fail "samples: $(sqlite3 "$DB" "select count(*) from samples")"
finish
