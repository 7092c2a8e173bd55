#!/usr/bin/env bash
# Crash safety: SIGKILL the collector while 50 agents stream and change
# state; after a restart nothing committed is missing, the database is
# intact, and the agents' events queued during the outage arrive.  A full
# disk and a read-only file system: the collector keeps detecting, says it
# is not recording, and catches up when it can write again.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
DB=$T_DIR/vigil.db
start_collector "$PORT" "$DB" --startup-grace-ms 5000 || { fail "collector did not start"; finish; exit; }
for i in $(seq -w 1 50); do
	start_agent "a$i" "g$(( 10#$i % 5 ))" "$PORT" --interval-ms 100 --backoff-cap-ms 1000 --statsd off
done
wait_until 10 alive_count_is "$PORT" 50 && ok "50 agents alive" || fail "only $(alive_count "$PORT") alive"
leaders_elected() { [ "$(vstatus "$PORT" | jq '[.groups[] | select(.leader != "" and .failover == null)] | length')" = 5 ]; }
wait_until 10 leaders_elected && ok "each of the 5 groups elected a leader" \
	|| fail "groups: $(vstatus "$PORT" | jq -c '[.groups[] | {name, leader, epoch}]')"
# churn: kill and restart a few agents while the collector writes
for i in 01 02 03 04 05; do stop_pid "$(pid_of "a$i")" KILL; done
sleep 0.3
for i in 01 02 03 04 05; do
	start_agent "a$i" "g$(( 10#$i % 5 ))" "$PORT" --interval-ms 100 --backoff-cap-ms 1000 --statsd off
done
sleep 0.2
committed=$(sqlite3 "$DB" "select count(*) || ':' || coalesce(max(id), 0) from events")
epochs_before=$(sqlite3 "$DB" "select name || '=' || epoch from groups order by name" | tr '\n' ' ')
kill -KILL "$(pid_of collector)"
log "collector SIGKILLed with $committed (rows:max id) committed"
sleep 0.5
start_collector "$PORT" "$DB" --startup-grace-ms 5000 || fail "collector did not restart"
n_before=${committed%%:*}
max_before=${committed##*:}
n_after=$(sqlite3 "$DB" "select count(*) from events where id <= $max_before")
[ "$n_after" = "$n_before" ] && ok "all $n_before rows committed before the kill are there" \
	|| fail "rows up to id $max_before: $n_before before, $n_after after"
[ "$(sqlite3 "$DB" 'pragma integrity_check')" = ok ] && ok "integrity_check ok" || fail "integrity_check"
wait_until 15 alive_count_is "$PORT" 50 && ok "all 50 agents back on their own" || fail "$(alive_count "$PORT") back"
# No epoch went backwards: the stored ones, and what the collector now uses
# against what every agent has seen (kept in memory by each agent).
back=""
for ge in $epochs_before; do
	g=${ge%%=*} e=${ge##*=}
	now_e=$(sqlite3 "$DB" "select epoch from groups where name = '$g'")
	[ -n "$now_e" ] && [ "$now_e" -ge "$e" ] || back="$back $g:$e->$now_e"
done
[ -z "$back" ] && [ -n "$epochs_before" ] && ok "no stored epoch went backwards ($epochs_before)" \
	|| fail "epochs before the kill: $epochs_before; went back:$back"
sleep 1
st=$(vstatus "$PORT")
ahead=$(echo "$st" | jq -r '([.groups[] | {key: .name, value: .epoch}] | from_entries) as $e
	| .nodes[] | select(.agent_epoch > $e[.group]) | "\(.name) has seen \(.agent_epoch) > \($e[.group])"') ||
	ahead="(the status could not be read: $(echo "$st" | head -c 200))"
[ -z "$ahead" ] && echo "$st" | jqe '[.groups[] | select(.epoch >= 1)] | length == 5' >/dev/null \
	&& echo "$st" | jqe '[.nodes[] | select(.agent_epoch >= 1)] | length >= 45' >/dev/null \
	&& ok "after the restart no agent has seen a newer epoch than its group's" \
	|| fail "epochs after the restart: ${ahead:-$(echo "$st" | jq -c '[.groups[] | {name, epoch}]')}"
# every agent queued 'disconnected' and 'reconnected' while the collector was dead
wait_until 10 db_is "$DB" "select count(distinct node) from events where kind='agent' and rule='reconnected' and id > $max_before" 50 \
	&& ok "each agent's outage events arrived after the restart (acked only once stored)" \
	|| fail "$(sqlite3 "$DB" "select count(distinct node) from events where kind='agent' and rule='reconnected' and id > $max_before") agents delivered their events"
for i in $(seq -w 6 50); do stop_pid "$(pid_of "a$i")" TERM; done
stop_pid "$(pid_of collector)" TERM

# A full disk, then a read-only file system, on a small tmpfs of our own.
FS=$T_DIR/fs
mkdir -p "$FS"
if ! mount -t tmpfs -o size=2m tmpfs "$FS"; then
	fail "cannot mount a tmpfs for the full-disk test (needs root)"
	finish
	exit
fi
trap 'cleanup; umount "$FS" 2>/dev/null' EXIT
P2=$(free_port)
start collector2 "$BIN/vigil-collector" --listen "127.0.0.1:$P2" --db "$FS/vigil.db"
wait_until 5 curl -sf "http://127.0.0.1:$P2/health" || fail "collector on tmpfs did not start"
start_agent f1 g "$P2" --interval-ms 100 --statsd off
start_agent f2 g "$P2" --interval-ms 100 --statsd off
wait_until 3 alive_count_is "$P2" 2 || fail "f1, f2 not alive"
dd if=/dev/zero of="$FS/pad" bs=64k count=64 2>/dev/null   # fill it up
for i in $(seq 20); do   # churn to make rows
	stop_pid "$(pid_of f2)" KILL
	start_agent f2 g "$P2" --interval-ms 100 --statsd off
	sleep 0.1
	curl -s "http://127.0.0.1:$P2/health" | jqe '.recording == false' >/dev/null && break
done
if wait_until 5 bash -c "curl -s http://127.0.0.1:$P2/health | jqe '.recording == false and .status == \"not_recording\"'"; then
	ok "disk full: /health says not_recording"
else
	fail "/health: $(curl -s "http://127.0.0.1:$P2/health")"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/health")
[ "$code" = 200 ] && ok "/health stays 200: still detecting" || fail "/health $code"
vstatus "$P2" | jqe '.collector.recording == false and (.collector.store_error | test("full"))' >/dev/null \
	&& ok "vigil status: not recording, '$(vstatus "$P2" | jq -r .collector.store_error)'" \
	|| fail "status: $(vstatus "$P2" | jq -c .collector)"
wait_until 3 grep -q "NOT RECORDING" "$T_DIR/collector2.log" && ok "logged NOT RECORDING" || fail "not logged"
stop_pid "$(pid_of f1)" KILL
wait_until 3 state_is "$P2" f1 failed && ok "detection goes on while not recording (f1 failed)" || fail "f1 is $(node_state "$P2" f1)"
rm -f "$FS/pad"
if wait_until 5 bash -c "curl -s http://127.0.0.1:$P2/health | jqe '.recording == true'"; then
	ok "space again: recording again"
else
	fail "still not recording: $(curl -s "http://127.0.0.1:$P2/health")"
fi
wait_until 3 db_is "$FS/vigil.db" "select count(*) from events where node='f1' and to_state='failed'" 1 \
	&& ok "the verdict made while the disk was full was kept and written" || fail "f1's failure lost"

# A database on a read-only file system (a read-only bind mount; Linux
# refuses to make a file system read-only while a writer holds it open, so
# this is the start-up case): the collector starts, detects, and says why it
# is not recording.
stop_pid "$(pid_of collector2)" TERM
stop_pid "$(pid_of f2)" KILL
RO=$T_DIR/ro
mkdir -p "$RO"
mount --bind "$FS" "$RO" && mount -o remount,bind,ro "$RO" || fail "cannot make a read-only bind mount"
trap 'cleanup; umount "$RO" 2>/dev/null; umount "$FS" 2>/dev/null' EXIT
P3=$(free_port)
start collector3 "$BIN/vigil-collector" --listen "127.0.0.1:$P3" --db "$RO/vigil.db"
if wait_until 5 curl -sf "http://127.0.0.1:$P3/health"; then
	ok "read-only database: the collector starts anyway"
else
	fail "collector did not start on a read-only database: $(tail -3 "$T_DIR/collector3.log")"
fi
curl -s "http://127.0.0.1:$P3/health" | jqe '.status == "not_recording" and (.store_error | test("read-only|readonly|cannot write"))' >/dev/null \
	&& ok "/health: not_recording, '$(curl -s "http://127.0.0.1:$P3/health" | jq -r .store_error | cut -c1-90)...'" \
	|| fail "/health: $(curl -s "http://127.0.0.1:$P3/health")"
grep -q "NOT RECORDING" "$T_DIR/collector3.log" && ok "logged NOT RECORDING" || fail "not logged"
start_agent r1 g "$P3" --interval-ms 100 --statsd off
wait_until 3 state_is "$P3" r1 alive || fail "r1 not alive"
stop_pid "$(pid_of r1)" KILL
wait_until 3 state_is "$P3" r1 failed && ok "read-only: detection goes on (r1 failed)" || fail "r1 is $(node_state "$P3" r1)"
"$BIN/vigil" --collector "ws://127.0.0.1:$P3" history r1 --kind state --json | jqe '.events | length >= 2' >/dev/null \
	&& ok "read-only: this run's history is still queryable" || fail "no history in the fallback"
stop_pid "$(pid_of collector3)" TERM
[ "$(sqlite3 "$FS/vigil.db" 'pragma integrity_check')" = ok ] && ok "integrity_check ok after it all" || fail "integrity"
finish
