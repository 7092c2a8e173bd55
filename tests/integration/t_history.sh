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
finish
