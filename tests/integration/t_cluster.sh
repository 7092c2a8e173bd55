#!/usr/bin/env bash
# A collector and three agents: all alive; SIGTERM -> left; SIGKILL -> not
# alive (suspect at once, failed after the grace); the collector restarts and
# the surviving agent comes back on its own; everything is in the store.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
DB=$T_DIR/vigil.db
start_collector "$PORT" "$DB" || { fail "collector did not start"; finish; exit; }
ok "collector serves /health on 127.0.0.1:$PORT"

t0=$(date +%s%N)
for n in n1 n2 n3; do
	start_agent "$n" g1 "$PORT" --interval-ms 100 --backoff-cap-ms 2000
done
if wait_until 2 alive_count_is "$PORT" 3; then
	ok "3 agents alive in 'vigil status --json' within $(( ($(date +%s%N) - t0) / 1000000 )) ms"
else
	fail "3 agents not alive within 2 s: $(vstatus "$PORT" | jq -c '[.nodes[]|{name,state}]')"
fi

json=$(vstatus "$PORT"); rc=$?
[ $rc -eq 0 ] && ok "status exits 0 when every node is alive" || fail "status exit $rc with all alive"
echo "$json" | jqe '.nodes[0] | has("name") and has("group") and has("state") and has("role") and has("last_heartbeat_ms_ago")' >/dev/null \
	&& ok "node objects have name, group, state, role, last_heartbeat_ms_ago" \
	|| fail "node object fields missing: $(echo "$json" | jq -c '.nodes[0]')"
echo "$json" | jqe '.groups[0] | .name == "g1" and .members == 3 and .alive == 3' >/dev/null \
	&& ok "group g1: members 3, alive 3" || fail "groups: $(echo "$json" | jq -c .groups)"
"$BIN/vigil" --collector "ws://127.0.0.1:$PORT" nodes --json | jqe '.nodes | length == 3' >/dev/null \
	&& ok "vigil nodes --json lists 3 nodes" || fail "vigil nodes --json"
"$BIN/vigil" --collector "ws://127.0.0.1:$PORT" status | grep -q "3 nodes: 3 alive" \
	&& ok "vigil status table says 3 nodes: 3 alive" || fail "status table"

metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
for n in n1 n2 n3; do
	echo "$metrics" | grep -q "^vigil_node_up{node=\"$n\",group=\"g1\"} 1$" || { fail "no vigil_node_up for $n"; continue; }
done
echo "$metrics" | grep -q '^vigil_node_last_seen_timestamp_seconds{node="n1",group="g1"} ' \
	&& echo "$metrics" | grep -q '^vigil_messages_total{type="hb"} [1-9]' \
	&& ok "/metrics has per-node up and last-seen series and message counters" \
	|| fail "/metrics incomplete"
code=$(curl -s -o "$T_DIR/health.json" -w '%{http_code}' "http://127.0.0.1:$PORT/health")
[ "$code" = 200 ] && jqe '.status == "ok" and .serving and .recording' < "$T_DIR/health.json" >/dev/null \
	&& ok "/health 200 ok" || fail "/health $code $(cat "$T_DIR/health.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nope")
[ "$code" = 404 ] && ok "unknown path 404" || fail "unknown path gave $code"

# SIGTERM -> bye -> left
stop_pid "$(pid_of n1)" TERM
[ "$STOP_RC" = 0 ] && ok "agent exits 0 on SIGTERM" || fail "agent exit status $STOP_RC on SIGTERM"
wait_until 2 state_is "$PORT" n1 left && ok "SIGTERMed agent is left" || fail "n1 is $(node_state "$PORT" n1), not left"

# SIGKILL -> connection drops -> suspect at once -> failed after the grace
stop_pid "$(pid_of n2)" KILL
wait_until 2 state_is_not "$PORT" n2 alive && ok "SIGKILLed agent is no longer alive ($(node_state "$PORT" n2))" \
	|| fail "n2 still alive after SIGKILL"
wait_until 3 state_is "$PORT" n2 failed && ok "SIGKILLed agent failed after the reconnect grace" \
	|| fail "n2 is $(node_state "$PORT" n2), not failed"
vstatus "$PORT" >/dev/null; rc=$?
[ $rc -eq 1 ] && ok "status exits 1 when a node is not alive" || fail "status exit $rc with failed nodes"

# Collector restart: n3 comes back by itself; n1 stays left; n2 stays down.
stop_pid "$(pid_of collector)" TERM
[ "$STOP_RC" = 0 ] && ok "collector exits 0 on SIGTERM" || fail "collector exit status $STOP_RC on SIGTERM"
"$BIN/vigil" --collector "ws://127.0.0.1:$PORT" --timeout-ms 1000 status >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "status exits 2 when the collector is down" || fail "status exit $rc with no collector"
start_collector "$PORT" "$DB" --startup-grace-ms 3000 || fail "collector did not restart"
if wait_until 12 state_is "$PORT" n3 alive; then
	ok "agent n3 reconnected on its own after the collector restart"
else
	fail "n3 did not come back: $(node_state "$PORT" n3)"
fi
[ "$(node_state "$PORT" n1)" = left ] && ok "n1 remembered as left after restart" || fail "n1 is $(node_state "$PORT" n1) after restart"
wait_until 5 state_is "$PORT" n2 failed && ok "n2 (still dead) failed after the startup grace" \
	|| fail "n2 is $(node_state "$PORT" n2) after restart"

# Several collector URLs: the first is dead, the agent falls back to the next.
DEAD=$(free_port)
start fb "$BIN/vigil-agent" --collector "ws://127.0.0.1:$DEAD/,ws://127.0.0.1:$PORT/" --node fb \
	--group g1 --interval-ms 100 --backoff-cap-ms 500 --statsd off
wait_until 5 state_is "$PORT" fb alive && ok "agent fell back from a dead collector URL to the next one" \
	|| fail "fb is '$(node_state "$PORT" fb)': $(tail -3 "$T_DIR/fb.log")"

# The history is in SQLite.
n=$(sqlite3 "$DB" "select count(*) from events where kind='state'")
[ "${n:-0}" -ge 8 ] && ok "$n state events stored" || fail "only ${n:-0} state events stored"
sqlite3 "$DB" "select count(*) from events where node='n2' and to_state='suspect' and rule='conn_lost'" | grep -qx 1 \
	&& ok "n2's conn_lost transition stored with its rule" || fail "n2 conn_lost not stored"
[ "$(sqlite3 "$DB" 'pragma integrity_check')" = ok ] && ok "integrity_check ok" || fail "integrity_check"
"$BIN/vigil" --collector "ws://127.0.0.1:$PORT" events n2 --kind state --json | jqe '.events | length >= 3' >/dev/null \
	&& ok "vigil events n2 --kind state returns n2's transitions" || fail "vigil events"
finish
