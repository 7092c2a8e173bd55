#!/usr/bin/env bash
# Alerting end to end: a collector with a configuration file (rules and
# sinks), three agents and the real Prometheus Alertmanager.  A node killed
# fires node_failed: the exec sink gets the JSON with its idempotency key,
# Alertmanager shows it with its labels; ack records who and why; the node
# comes back: resolved everywhere.  A silence holds an alert back until it is
# expired.  Sinks that hang and that fail do not stall the collector and are
# counted; the alert is in the store.  --check-config and SIGHUP (good and
# bad files).
. "$(dirname "$0")/lib.sh"

AM_BIN=$(command -v prometheus-alertmanager || command -v alertmanager || true)
PORT=$(free_port)
AMP=$(free_port)
while [ "$AMP" = "$PORT" ]; do AMP=$(free_port); done
DB=$T_DIR/vigil.db
V="$BIN/vigil --collector ws://127.0.0.1:$PORT --timeout-ms 3000"
SINK_OUT=$T_DIR/sink.out

# The sinks: one that records what it reads, one that hangs, one that fails.
cat >"$T_DIR/sink.sh" <<EOF
#!/bin/sh
{ cat; echo; } >>"$SINK_OUT"
EOF
printf '#!/bin/sh\necho $$ >>"%s"\nexec sleep 100\n' "$T_DIR/hang.pids" >"$T_DIR/hang.sh"
printf '#!/bin/sh\ncat >/dev/null\nexit 1\n' >"$T_DIR/fail.sh"
chmod +x "$T_DIR/sink.sh" "$T_DIR/hang.sh" "$T_DIR/fail.sh"
: >"$SINK_OUT"

write_conf() { # FILE [EXTRA RULE LINES...]
	local f=$1
	shift
	{
		echo "# t_alerts"
		echo "listen 127.0.0.1:$PORT"
		echo "db \"$DB\""
		echo "reconnect-grace-ms 500"
		echo "startup-grace-ms 2000"
		echo "rule node_failed severity=critical"
		for l in "$@"; do echo "$l"; done
		echo "sink exec $T_DIR/sink.sh timeout=5s retries=2"
		echo "sink exec $T_DIR/hang.sh timeout=1s retries=1"
		echo "sink exec $T_DIR/fail.sh timeout=2s retries=1"
		echo "sink alertmanager http://127.0.0.1:$AMP repeat=2s"
	} >"$f"
}
CONF=$T_DIR/vigil.conf
write_conf "$CONF"

# --check-config: good and bad files
out=$("$BIN/vigil-collector" --config "$CONF" --check-config 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "^ok" && ok "--check-config: a good file is ok (exit 0)" \
	|| fail "--check-config good: rc $rc: $out"
printf 'listen 127.0.0.1:1\n\nrule cpu_high metric=cpu op=>> value=90\n' >"$T_DIR/bad.conf"
out=$("$BIN/vigil-collector" --config "$T_DIR/bad.conf" --check-config 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "bad.conf:3: rule 'cpu_high': unknown operator '>>'" \
	&& ok "--check-config: a bad file gives FILE:LINE: reason, exit 2" || fail "--check-config bad: rc $rc: $out"
printf 'sink alertmanager https://127.0.0.1:9093\n' >"$T_DIR/tls.conf"
out=$("$BIN/vigil-collector" --config "$T_DIR/tls.conf" --check-config 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "tls.conf:1: .*https:// is not supported" \
	&& ok "https:// Alertmanager refused at config time" || fail "https sink: rc $rc: $out"
out=$("$BIN/vigil-collector" --config "$T_DIR/bad.conf" --db "$T_DIR/never.db" 2>&1); rc=$?
[ $rc -eq 2 ] && [ ! -e "$T_DIR/never.db" ] && ok "a bad file: the collector refuses to start" \
	|| fail "bad file start: rc $rc: $out"

if [ -z "$AM_BIN" ]; then
	fail "prometheus-alertmanager is not installed (scripts/install-deps.sh installs it)"
	finish
	exit
fi
cat >"$T_DIR/am.yml" <<EOF
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
start alertmanager "$AM_BIN" --config.file="$T_DIR/am.yml" --storage.path="$T_DIR/am-data" \
	--web.listen-address="127.0.0.1:$AMP" --cluster.listen-address=
start collector "$BIN/vigil-collector" --config "$CONF"
wait_until 5 curl -sf "http://127.0.0.1:$PORT/health" || { fail "collector did not start"; finish; exit; }
wait_until 10 curl -sf "http://127.0.0.1:$AMP/-/ready" || fail "alertmanager did not start"
for n in a1 a2 a3; do start_agent "$n" db "$PORT" --interval-ms 200; done
wait_until 5 alive_count_is "$PORT" 3 || fail "agents not alive"

am_alerts() { curl -sf "http://127.0.0.1:$AMP/api/v2/alerts"; }
am_has() { am_alerts | jqe --arg n "$1" --arg r "$2" \
	'any(.[]; .labels.alertname == $r and .labels.node == $n and .labels.group == "db" and .labels.severity == "critical" and .status.state == "active")'; }
am_lacks() { am_alerts | jqe --arg n "$1" --arg r "$2" 'all(.[]; (.labels.alertname == $r and .labels.node == $n) | not)'; }
alert_json() { $V alerts --all --json 2>/dev/null; }
firing_id() { $V alerts --json 2>/dev/null | jq -r --arg n "$1" --arg r "$2" \
	'.alerts[] | select(.rule == $r and .node == $n) | .id' | head -1; }
firing_is() { [ -n "$(firing_id "$1" "$2")" ]; }
sink_has() { grep -q "$1" "$SINK_OUT"; }

# 1. node_failed fires
stop_pid "$(pid_of a3)" KILL
wait_until 5 firing_is a3 node_failed && ok "a3 killed: node_failed fires" || fail "no node_failed for a3"
ID=$(firing_id a3 node_failed)
wait_until 5 sink_has "\"key\":\"$ID-fire\"" && ok "exec sink got the alert with its idempotency key $ID-fire" \
	|| fail "exec sink: $(cat "$SINK_OUT")"
grep "\"key\":\"$ID-fire\"" "$SINK_OUT" | head -1 | jqe '.rule == "node_failed" and .labels.node == "a3" and .state == "firing" and .severity == "critical"' >/dev/null \
	&& ok "exec sink document: rule, labels, state, severity" || fail "exec document: $(head -c 600 "$SINK_OUT")"
wait_until 5 am_has a3 node_failed && ok "Alertmanager's API shows node_failed{node=a3,group=db,severity=critical}" \
	|| fail "alertmanager: $(am_alerts | head -c 600)"

# 2. the failing and hanging sinks: the collector keeps serving, they are counted
t0=$(date +%s%3N)
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")
t1=$(date +%s%3N)
[ "$code" = 200 ] && [ $((t1 - t0)) -lt 1000 ] && ok "/health answers 200 in $((t1 - t0)) ms while a sink hangs" \
	|| fail "/health: $code in $((t1 - t0)) ms"
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | grep "vigil_alert_deliveries_total{sink=\"exec\",target=\"$T_DIR/$1\",result=\"$2\"}" | awk '{print $2}'; }
metric_ge() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && [ "$v" -ge "$3" ]; }
wait_until 8 metric_ge fail.sh failed 1 && ok "failing sink: given up after its retries, counted (failed $(metric fail.sh failed))" \
	|| fail "fail.sh metrics: $(curl -sf "http://127.0.0.1:$PORT/metrics" | grep deliveries)"
wait_until 8 metric_ge hang.sh failed 1 && ok "hanging sink: timed out and killed, counted (failed $(metric hang.sh failed))" \
	|| fail "hang.sh metrics: $(curl -sf "http://127.0.0.1:$PORT/metrics" | grep deliveries)"
hung=$(head -2 "$T_DIR/hang.pids" 2>/dev/null | tr '\n' ' ')
alive=0
for p in $hung; do kill -0 "$p" 2>/dev/null && alive=1; done
[ -n "$hung" ] && [ "$(echo $hung | wc -w)" = 2 ] && [ $alive = 0 ] \
	&& ok "both attempts of the hanging sink were killed (pids $hung)" || fail "hanging sink processes: '$hung' alive=$alive"
# the row is queued when the delivery is given up: the store commits it within its batch interval
gave_up_stored() { $V history --kind alert --json | jqe --arg t "$T_DIR/hang.sh" 'any(.events[]; .rule == "delivery_failed" and (.detail | contains($t)) and (.detail | contains("timed out")))'; }
wait_until 3 gave_up_stored \
	&& ok "the given-up delivery is in the history (delivery_failed, timed out)" || fail "no delivery_failed row"
metric_ge sink.sh ok 1 && ok "the good sink delivered meanwhile (ok $(metric sink.sh ok))" || fail "sink.sh ok count"
state_is "$PORT" a1 alive && [ "$(node_state "$PORT" a1)" = alive ] && ok "heartbeats still processed (a1 alive)" || fail "a1 not alive"
wait_until 3 db_is "$DB" "select count(*) from alerts where id=$ID and rule='node_failed' and node='a3' and state='firing'" 1 \
	&& ok "the alert is in the store (alerts table)" || fail "alerts table: $(sqlite3 "$DB" 'select * from alerts')"
$V history --kind alert --json | jqe --arg id "alert $ID " 'any(.events[]; .rule == "node_failed" and .to == "fire" and (.detail | startswith($id)))' >/dev/null \
	&& ok "vigil history --kind alert shows the fire" || fail "history --kind alert"

# 3. ack
out=$($V ack "$ID" --reason "replacing the disk" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "vigil ack $ID: $out" || fail "ack: rc $rc: $out"
alert_json | jqe --argjson id "$ID" '.alerts[] | select(.id == $id) | .ack.who == "local" and .ack.reason == "replacing the disk" and .ack.at_ms > 0' >/dev/null \
	&& ok "vigil alerts --json shows who acked, when and why" || fail "ack not shown: $(alert_json | head -c 800)"
out=$($V ack "$ID" --reason again 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "already acknowledged by local" && ok "a second ack is refused, naming the first" \
	|| fail "second ack: rc $rc: $out"
out=$($V ack 99999 --reason x 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "no firing alert" && ok "ack of an unknown alert: exit 1" || fail "ack unknown: rc $rc $out"
wait_until 3 db_is "$DB" "select acked_by || ':' || ack_reason from alerts where id=$ID" "local:replacing the disk" \
	&& ok "the ack is stored" || fail "ack not stored"

# 4. the node comes back: resolved
start_agent a3 db "$PORT" --interval-ms 200
wait_until 5 state_is "$PORT" a3 alive || fail "a3 not back"
wait_until 5 sink_has "\"key\":\"$ID-resolve\"" && ok "exec sink got the resolve ($ID-resolve)" || fail "no resolve in the exec sink"
grep "\"key\":\"$ID-resolve\"" "$SINK_OUT" | head -1 | jqe '.state == "resolved" and .resolved_ms > 0' >/dev/null \
	&& ok "resolve document: state resolved, resolved_ms" || fail "resolve doc"
wait_until 6 am_lacks a3 node_failed && ok "Alertmanager: the alert is no longer active (endsAt)" || fail "still active in alertmanager"
wait_until 3 db_is "$DB" "select state from alerts where id=$ID" resolved && ok "resolved in the store" || fail "store state"

# 5. a silence holds a new alert back; expiring it sends the alert
out=$($V silence add --node a2 --for 10m --reason "planned reboot" --json); rc=$?
SID=$(echo "$out" | jq -r '.silence.id')
[ $rc -eq 0 ] && [ -n "$SID" ] && [ "$SID" != null ] && ok "silence add: silence $SID" || fail "silence add: rc $rc: $out"
$V silence list --json | jqe --argjson s "$SID" 'any(.silences[]; .id == $s and .node == "a2" and .rule == "*" and .author == "local" and .reason == "planned reboot")' >/dev/null \
	&& ok "silence list shows matcher, author and reason" || fail "silence list"
stop_pid "$(pid_of a2)" KILL
wait_until 5 firing_is a2 node_failed || fail "no node_failed for a2"
ID2=$(firing_id a2 node_failed)
alert_json | jqe --argjson id "$ID2" --arg s "silence:$SID" '.alerts[] | select(.id == $id) | .held == "silenced" and .held_by == $s' >/dev/null \
	&& ok "a2's node_failed is held by silence $SID" || fail "not silenced: $(alert_json | head -c 800)"
sleep 2.5
! sink_has "\"key\":\"$ID2-" && am_lacks a2 node_failed >/dev/null && ok "a silenced alert reaches no sink" || fail "the silenced alert was sent"
out=$($V silence expire "$SID" --reason "reboot done" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "silence expire $SID" || fail "expire: rc $rc: $out"
wait_until 5 sink_has "\"key\":\"$ID2-fire\"" && ok "the silence ended: the still-firing alert is sent" || fail "not sent after expiry"
wait_until 5 am_has a2 node_failed && ok "... and Alertmanager has it" || fail "not in alertmanager after expiry"
$V silence list --json | jqe '.silences | length == 0' >/dev/null && ok "no silence left in force" || fail "silence still listed"
wait_until 3 db_is "$DB" "select count(*) from silences where id=$SID and ended_ms is not null and author='local'" 1 \
	&& ok "the silence and its end are stored" || fail "silences table"

# 6. SIGHUP: a good file adds a rule at once; a bad one is refused and the rules stay
write_conf "$CONF" "rule cpu_seen metric=cpu op=>= value=0 for=1s severity=info"
kill -HUP "$(pid_of collector)"
wait_until 8 firing_is a1 cpu_seen && ok "SIGHUP with a good file: the new rule fires" \
	|| fail "reload: $(grep -i reload "$T_DIR/collector.log")"
write_conf "$CONF" "rule cpu_seen metric=cpu op=>= value=0 for=1s severity=info" "rule broken metric=cpu op=~ value=1"
kill -HUP "$(pid_of collector)"
wait_until 3 grep -q "reload REFUSED.*vigil.conf:[0-9]*: rule 'broken'" "$T_DIR/collector.log" \
	&& ok "SIGHUP with a bad file: refused with FILE:LINE: reason" || fail "bad reload not logged"
sleep 1.5
[ -n "$(firing_id a1 cpu_seen)" ] && kill -0 "$(pid_of collector)" && ok "... and the old rules are kept (cpu_seen still fires)" \
	|| fail "rules lost after a bad reload"
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")
[ "$code" = 200 ] && ok "/health 200 at the end" || fail "/health $code"

stop_pid "$(pid_of collector)" TERM
[ "$STOP_RC" = 0 ] && ok "SIGTERM: exit 0 with sinks running" || fail "collector exit $STOP_RC"
finish
