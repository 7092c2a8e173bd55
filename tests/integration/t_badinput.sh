#!/usr/bin/env bash
# Bad input from agents and operators: each gets an error frame that names
# the problem and a close; the collector keeps serving a healthy agent and
# loses nothing it stored.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
DB=$T_DIR/vigil.db
start_collector "$PORT" "$DB" || { fail "collector did not start"; finish; exit; }
start_agent healthy g "$PORT" --interval-ms 100
wait_until 3 state_is "$PORT" healthy alive || fail "healthy agent not alive"
before=$(sqlite3 "$DB" "select count(*) from events")

HELLO='{"type":"hello","v":1,"node":"probe1","group":"g","version":"t","boot_id":"b1","interval_ms":100}'

# expect NAME CODE PATTERN ARGS...: the probe must receive an error with CODE
# whose message matches PATTERN, then a close.
expect() {
	local name=$1 code=$2 pat=$3 out
	shift 3
	out=$("$PROBE" --port "$PORT" --wait-ms 2000 "$@")
	if echo "$out" | grep '^RX ' | grep -q "\"type\":\"error\",\"code\":\"$code\",\"message\":\"[^\"]*$pat" &&
	   echo "$out" | grep -q '^CLOSE 10'; then
		ok "$name: error $code naming '$pat', then close"
	else
		fail "$name: $(echo "$out" | tr '\n' ' ')"
	fi
}

expect "malformed JSON" bad_json "not valid JSON" --send '{"type":"hello",'
expect "not an object" bad_json "must be a JSON object" --send '[1,2,3]'
expect "no type" bad_type "type" --send '{"node":"x"}'
expect "unknown type" unknown_type "unknown message type 'reboot'" --send '{"type":"reboot"}'
expect "wrong field type" bad_field "field 'interval_ms'" \
	--send '{"type":"hello","v":1,"node":"p","group":"g","version":"t","boot_id":"b","interval_ms":"fast"}'
expect "bad name" bad_field "field 'node'" \
	--send '{"type":"hello","v":1,"node":"../etc","group":"g","version":"t","boot_id":"b","interval_ms":100}'
expect "out of range" bad_field "field 'interval_ms'" \
	--send '{"type":"hello","v":1,"node":"p","group":"g","version":"t","boot_id":"b","interval_ms":5}'
expect "heartbeat before hello" protocol "first message must be hello" --send '{"type":"hb","seq":1,"sent_ms":1}'
expect "bad heartbeat after hello" bad_field "field 'cpu'" --send "$HELLO" \
	--send '{"type":"hb","seq":1,"sent_ms":1,"metrics":{"cpu":250}}'
expect "oversize frame" too_big "larger than 65536" --big 70000
expect "binary frame" bad_type "binary frames" --binary --send '{"type":"hb"}'
expect "duplicate node name" duplicate_node "already connected" \
	--send '{"type":"hello","v":1,"node":"healthy","group":"g","version":"t","boot_id":"other","interval_ms":100}'
expect "operator: bad query" bad_field "field 'what'" --proto vigil-operator.v1 \
	--send '{"type":"query","id":1,"what":"everything"}'
expect "operator: unknown type" unknown_type "unknown message type" --proto vigil-operator.v1 \
	--send '{"type":"shutdown","id":1}'

# The healthy agent never noticed.
[ "$(node_state "$PORT" healthy)" = alive ] && ok "healthy agent still alive after all that" \
	|| fail "healthy agent is $(node_state "$PORT" healthy)"
age=$(vstatus "$PORT" | jq '.nodes[] | select(.name=="healthy") | .last_heartbeat_ms_ago')
[ "${age:-9999}" -lt 1000 ] && ok "its heartbeats still arrive (last ${age} ms ago)" || fail "heartbeat age $age"
errs=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^vigil_message_errors_total/ {s += $2} END {print s}')
[ "${errs:-0}" -ge 13 ] && ok "$errs refused messages counted" || fail "only ${errs:-0} errors counted"
vstatus "$PORT" | jqe '[.nodes[].name] | index("probe1") != null' >/dev/null \
	&& ok "the probe that sent a valid hello first is known (then dropped for its bad hb)" \
	|| fail "probe1 missing"
after=$(sqlite3 "$DB" "select count(*) from events")
[ "$after" -ge "$before" ] && ok "stored events kept ($before before, $after after)" || fail "events lost: $before -> $after"
kill -0 "$(pid_of collector)" && ok "collector still running" || fail "collector died"
finish
