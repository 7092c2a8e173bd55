#!/usr/bin/env bash
# History from the command line: history (filters, json, csv), explain,
# report, at; bad arguments give one line and exit 2.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
DB=$T_DIR/vigil.db
V="$BIN/vigil --collector ws://127.0.0.1:$PORT"
start_collector "$PORT" "$DB" || { fail "collector did not start"; finish; exit; }
for n in h1 h2 h3; do start_agent "$n" web "$PORT" --interval-ms 100; done
wait_until 3 alive_count_is "$PORT" 3 || fail "agents not alive"
sleep 1
before=$(date +%s%3N)
sleep 0.3
stop_pid "$(pid_of h1)" KILL
stop_pid "$(pid_of h2)" TERM
wait_until 3 state_is "$PORT" h1 failed || fail "h1 not failed"
wait_until 2 db_is "$DB" "select count(*) from events where node='h1' and to_state='failed'" 1 || fail "h1 failure not stored"

out=$($V history h1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "suspect -> failed .*reconnect_grace" && echo "$out" | head -1 | grep -q "^ID" \
	&& ok "history h1 shows the failure" || fail "history h1: rc $rc: $out"
$V history --group web --kind state --json | jqe '[.events[].node] | unique == ["h1","h2","h3"]' >/dev/null \
	&& ok "history --group web --kind state --json covers the group" || fail "group history"
$V history --kind conn,agent --json | jqe '[.events[].kind] | unique - ["conn","agent"] | length == 0' >/dev/null \
	&& ok "--kind takes a list" || fail "kind list"
n=$($V history --limit 2 --json | jq '.events | length')
[ "$n" = 2 ] && ok "--limit 2" || fail "--limit gave $n"
$V history --since "@$before" --json | jqe --argjson b "$before" '.events | length > 0 and all(.ts_ms >= $b)' >/dev/null \
	&& ok "--since @MS filters by time" || fail "--since"
csv=$($V history h1 --csv)
echo "$csv" | head -1 | grep -q '^"id","ts_ms","time","node"' && echo "$csv" | grep -q '"reconnect_grace"' \
	&& ok "--csv: quoted header and rows" || fail "csv: $(echo "$csv" | head -2)"

out=$($V history nosuch 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "unknown node 'nosuch'" \
	&& ok "unknown node: one line, exit 2" || fail "unknown node: rc $rc: $out"
out=$($V history --group nosuch 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "unknown group" && ok "unknown group: exit 2" || fail "unknown group: rc $rc $out"
out=$($V history --since yesterday 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "not a time" && ok "unreadable time: exit 2" || fail "bad time: rc $rc $out"
out=$($V history --since 1h --until 2h 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "is after" && ok "since after until: exit 2" || fail "since>until: rc $rc $out"

id=$(sqlite3 "$DB" "select id from events where node='h1' and to_state='failed'")
out=$($V explain "$id"); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "suspect -> failed" && echo "$out" | grep -q "reconnect grace" \
	&& echo "$out" | grep -q "decided: *the collector, automatically" && echo "$out" | grep -q "conn_lost"; then
	ok "explain $id: the rule, why, who decided, and the events around it"
else
	fail "explain: rc $rc: $out"
fi
$V explain "$id" --json | jqe '.event.id == '"$id"' and (.context | length >= 3)' >/dev/null \
	&& ok "explain --json" || fail "explain json"
out=$($V explain 999999 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "no event 999999" && ok "explain of a missing id: exit 2" || fail "explain missing: rc $rc $out"

rep=$($V report --since 1h --json)
echo "$rep" | jqe '.nodes[] | select(.node=="h1") | .failures == 1 and .availability_pct < 100 and .mttr_ms == null' >/dev/null \
	&& ok "report: h1 has 1 failure, availability below 100 %" || fail "report h1: $(echo "$rep" | jq -c '.nodes[]|select(.node=="h1")')"
echo "$rep" | jqe '.nodes[] | select(.node=="h3") | .failures == 0 and .availability_pct == 100' >/dev/null \
	&& ok "report: h3 100 %, no failures" || fail "report h3: $(echo "$rep" | jq -c '.nodes[]|select(.node=="h3")')"
echo "$rep" | jqe '.nodes[] | select(.node=="h1") | .ttd_ms >= 0 and .ttd_ms < 1000' >/dev/null \
	&& ok "report: h1's time to detect is measured" || fail "ttd: $(echo "$rep" | jq -c '.nodes[]|select(.node=="h1")')"
$V report --since 1h | grep -q "^h1 " && ok "report table" || fail "report table"

$V at "@$before" --json | jqe '[.nodes[] | select(.state=="alive")] | length == 3' >/dev/null \
	&& ok "at (before the failures): all 3 alive" || fail "at before: $($V at "@$before" --json | jq -c .nodes)"
$V at now --json | jqe '[.nodes[] | {(.node): .state}] | add | .h1 == "failed" and .h2 == "left" and .h3 == "alive"' >/dev/null \
	&& ok "at now: failed, left, alive" || fail "at now: $($V at now --json | jq -c .nodes)"

# --- forget: an operator decommissions a dead node.  It leaves the status,
# the dashboards' deltas, /metrics, the firing alerts and the store's known
# nodes (a restart does not bring it back); its history stays.
start_agent d1 dec "$PORT" --interval-ms 100
start_agent d2 dec "$PORT" --interval-ms 100 --no-failover
dec_leader() { vstatus "$PORT" | jqe '.groups[] | select(.name == "dec") | .leader == "d1" and .expected == 2' >/dev/null; }
wait_until 8 dec_leader || fail "group dec: d1 not leader of 2: $(vstatus "$PORT" | jq -c '.groups')"
out=$($V forget d2 --reason "decommissioned" --yes 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "connected" && ok "forget of a connected node: refused (exit 1)" \
	|| fail "forget connected d2: rc $rc: $out"
stop_pid "$(pid_of d2)" KILL
wait_until 4 state_is "$PORT" d2 failed || fail "d2 not failed"
d2_alert() { vstatus "$PORT" | jqe '[.alerts[] | select(.node == "d2" and .rule == "node_failed")] | length == 1' >/dev/null; }
wait_until 3 d2_alert && ok "d2's node_failed alert fires" || fail "no node_failed alert for d2"
curl -sf "http://127.0.0.1:$PORT/metrics" | grep -q 'node="d2"' || fail "d2 not in /metrics before forget"
out=$($V forget d1 --reason "x" --yes 2>&1); rc=$?
[ $rc -eq 1 ] && ok "forget of the (connected) leader: refused" || fail "forget d1: rc $rc: $out"
# a dashboard's view: subscribe, then watch the delta that removes d2
start probe "$PROBE" --port "$PORT" --proto vigil-operator.v1 --send '{"type":"subscribe","id":1}' --wait-ms 4000
wait_until 3 grep -q '"type":"snapshot"' "$T_DIR/probe.log" || fail "probe: no snapshot"
out=$($V forget d2 --reason "decommissioned" --dry-run 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "would forget d2" && state_is "$PORT" d2 failed \
	&& ok "forget --dry-run: would, and d2 is still there" || fail "dry run: rc $rc: $out"
out=$($V forget d2 --reason "decommissioned" --yes 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "forgot d2" && ok "forget d2: $out" || fail "forget d2: rc $rc: $out"
st=$(vstatus "$PORT")
echo "$st" | jqe '([.nodes[] | select(.name == "d2")] | length == 0) and
	(.groups[] | select(.name == "dec") | .members == 1 and .expected == 1) and
	([.alerts[] | select(.node == "d2")] | length == 0)' >/dev/null \
	&& ok "status: d2 gone from nodes, group dec (1 member, 1 expected) and the firing alerts" \
	|| fail "status after forget: $(echo "$st" | jq -c '[.nodes[].name], .groups, [.alerts[] | .fingerprint]')"
if curl -sf "http://127.0.0.1:$PORT/metrics" >"$T_DIR/metrics.txt" && grep -q 'node="d1"' "$T_DIR/metrics.txt"; then
	grep -q 'node="d2"' "$T_DIR/metrics.txt" && fail "/metrics still has d2: $(grep 'node="d2"' "$T_DIR/metrics.txt" | head -3)" \
		|| ok "/metrics: no series for d2"
else
	fail "/metrics unreadable"
fi
wait_until 6 grep -q '"removed":\["d2"\]' "$T_DIR/probe.log" \
	&& ok "subscribers get a delta with \"removed\":[\"d2\"]" || fail "no delta removed d2: $(grep -c delta "$T_DIR/probe.log") deltas"
wait_until 3 db_is "$DB" "select count(*) from nodes where name='d2'" 0 || fail "d2 still in the nodes table"
hist_d2() { $V history d2 --json | jqe '([.events[] | select(.kind == "state" and .to == "failed")] | length == 1) and
	([.events[] | select(.kind == "alert" and .to == "resolve" and (.detail | test("node forgotten")))] | length == 1)'; }
wait_until 3 hist_d2 && ok "history d2: its failure kept, its alert resolved \"node forgotten\"" \
	|| fail "history d2: $($V history d2 --json | jq -c '[.events[] | [.kind, .to, .rule]]')"
out=$($V forget d2 --reason again --yes 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "unknown node" && ok "forget twice: unknown node" || fail "forget twice: rc $rc: $out"

# a restart: the store does not remember d2 any more, its history stays.
# Meanwhile h2 (left) loses its group membership, as an older collector's
# forget did: a node in no group is forgotten from the core alone.
stop_pid "$(pid_of collector)" TERM
sqlite3 "$DB" "delete from group_members where node = 'h2'"
start_collector "$PORT" "$DB" || fail "collector did not restart"
vstatus "$PORT" | jqe '([.nodes[] | select(.name == "d2")] | length == 0) and ([.nodes[] | select(.name == "h1")] | length == 1)' >/dev/null \
	&& ok "after a restart: d2 not restored (h1 is)" || fail "after restart: $(vstatus "$PORT" | jq -c '[.nodes[].name]')"
$V history d2 --json | jqe '[.events[] | select(.kind == "state")] | length >= 2' >/dev/null \
	&& ok "after a restart: history d2 still answers" || fail "history d2 after restart"
vstatus "$PORT" | jqe '(.groups[] | select(.name == "web") | .expected == 2 and .leader != "h2") and
	([.nodes[] | select(.name == "h2")] | length == 1)' >/dev/null || fail "h2 setup: $(vstatus "$PORT" | jq -c '.groups')"
out=$($V forget h2 --reason "gone long ago" --yes 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "forgot h2" && ! echo "$out" | grep -q "expected members" \
	&& vstatus "$PORT" | jqe '[.nodes[] | select(.name == "h2")] | length == 0' >/dev/null \
	&& ok "forget of a node in no group: $out" || fail "forget h2 (no group): rc $rc: $out"
finish
