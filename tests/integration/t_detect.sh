#!/usr/bin/env bash
# Detection with real processes, agents at 100 ms: a hung agent (SIGSTOP)
# fails by phi and comes back on SIGCONT; a killed one fails through its
# connection; a stalled collector (SIGSTOP) goes into tilt instead of
# failing everyone; a node that keeps restarting is flagged as flapping
# once; the bystanders never leave alive.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
DB=$T_DIR/vigil.db
start_collector "$PORT" "$DB" --tilt-hold-ms 2000 --flap-threshold 4 \
	|| { fail "collector did not start"; finish; exit; }
for n in hung dead calm1 calm2 flappy; do
	start_agent "$n" g "$PORT" --interval-ms 100 --backoff-cap-ms 500
done
wait_until 3 alive_count_is "$PORT" 5 || fail "agents not alive: $(vstatus "$PORT" | jq -c '[.nodes[]|{name,state}]')"
sleep 2     # steady heartbeats for the detectors

# Hung: SIGSTOP -> failed by phi, within about a second at 100 ms.
t0=$(date +%s%3N)
kill -STOP "$(pid_of hung)"
if wait_until 3 state_is "$PORT" hung failed; then
	ok "SIGSTOPped agent failed after $(( $(date +%s%3N) - t0 )) ms (polled)"
else
	fail "hung is $(node_state "$PORT" hung)"
fi
wait_until 2 db_is "$DB" "select rule from events where node='hung' and to_state='failed' order by id desc limit 1" phi_failed \
	&& ok "decided by phi (rule phi_failed)" || fail "hung failed by another rule"
ev=$(sqlite3 "$DB" "select phi, mean_ms, sd_ms, hb_age_ms from events where node='hung' and to_state='failed' order by id desc limit 1")
echo "$ev" | awk -F'|' '$1 >= 8 && $2 > 50 && $2 < 200 && $4 > 100 { ok = 1 } END { exit !ok }' \
	&& ok "evidence stored: phi|mean|sd|hb_age = $ev" || fail "evidence: $ev"
kill -CONT "$(pid_of hung)"
wait_until 3 state_is "$PORT" hung alive && ok "SIGCONT: back to alive" || fail "hung is $(node_state "$PORT" hung) after SIGCONT"
wait_until 2 db_is "$DB" "select rule from events where node='hung' and to_state='alive' order by id desc limit 1" heartbeat_resumed \
	&& ok "rule heartbeat_resumed" || fail "resume rule"

# Crashed: SIGKILL -> suspect at once (conn_lost) -> failed after the grace.
stop_pid "$(pid_of dead)" KILL
wait_until 2 state_is "$PORT" dead failed && ok "SIGKILLed agent failed" || fail "dead is $(node_state "$PORT" dead)"
wait_until 2 db_is "$DB" "select group_concat(rule, ',') from (select rule from events where node='dead' and kind='state' and rule != 'hello' order by id)" "conn_lost,reconnect_grace" \
	&& ok "through the connection path: conn_lost, then reconnect_grace" \
	|| fail "dead rules: $(sqlite3 "$DB" "select group_concat(rule, ',') from events where node='dead' and kind='state'")"
lat=$(sqlite3 "$DB" "select b.ts_ms - a.ts_ms from events a, events b where a.node='dead' and a.rule='conn_lost' and b.node='dead' and b.rule='reconnect_grace'")
[ "${lat:-0}" -ge 990 ] && [ "${lat:-0}" -le 1100 ] && ok "failed ${lat} ms after suspect (grace 1000 ms)" || fail "grace took ${lat} ms"

# The collector stalls: tilt, not a massacre.
kill -STOP "$(pid_of collector)"
sleep 3
kill -CONT "$(pid_of collector)"
if wait_until 2 bash -c "curl -s http://127.0.0.1:$PORT/health | jqe '.status == \"tilt\"'"; then
	ok "after a 3 s collector stall: /health says tilt"
else
	fail "/health: $(curl -s "http://127.0.0.1:$PORT/health")"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")
[ "$code" = 503 ] && ok "/health 503 while not deciding" || fail "/health code $code in tilt"
vstatus "$PORT" | jqe '.collector.tilt == true' >/dev/null && ok "vigil status shows tilt" || fail "status has no tilt"
"$BIN/vigil" --collector "ws://127.0.0.1:$PORT" status | grep -q "TILT" && ok "status table says TILT" || fail "no TILT in table"
sleep 0.5
not_alive=""
for n in hung calm1 calm2 flappy; do
	[ "$(node_state "$PORT" "$n")" = alive ] || not_alive="$not_alive $n=$(node_state "$PORT" "$n")"
done
[ -z "$not_alive" ] && ok "no node was failed by the collector's own stall" \
	|| fail "after the collector stall:$not_alive"
wait_until 5 bash -c "curl -s http://127.0.0.1:$PORT/health | jqe '.status == \"ok\"'" \
	&& ok "tilt ends after the hold" || fail "still in tilt"
wait_until 2 bash -c "sqlite3 '$DB' \"select group_concat(rule, ',') from events where kind='collector'\" | grep -q tilt,stable" \
	&& ok "tilt and its end are in the store" || fail "tilt not stored"

# Flapping: restart an agent again and again -> one flapping event.
for i in 1 2 3; do
	stop_pid "$(pid_of flappy)" KILL
	wait_until 2 state_is_not "$PORT" flappy alive
	start_agent flappy g "$PORT" --interval-ms 100 --backoff-cap-ms 500
	wait_until 3 state_is "$PORT" flappy alive
done
vstatus "$PORT" | jqe '.nodes[] | select(.name == "flappy") | .flapping == true' >/dev/null \
	&& ok "a restarting node is flagged flapping" || fail "flappy not flapping: $(vstatus "$PORT" | jq -c '.nodes[]|select(.name=="flappy")|{flapping,flap_score}')"
wait_until 2 db_is "$DB" "select count(*) from events where node='flappy' and kind='flap' and rule='flapping'" 1 \
	&& ok "exactly one flapping event stored" \
	|| fail "$(sqlite3 "$DB" "select count(*) from events where node='flappy' and kind='flap' and rule='flapping'") flapping events"

# Bystanders never left alive.
bad=$(sqlite3 "$DB" "select count(*) from events where node in ('calm1','calm2') and kind='state' and rule != 'hello'")
[ "$bad" = 0 ] && ok "calm1 and calm2 never left alive" || fail "$bad transitions on bystanders: $(sqlite3 "$DB" "select node,from_state,to_state,rule from events where node in ('calm1','calm2') and kind='state'")"
finish
