#!/usr/bin/env bash
# Failover with real processes and hook scripts that log to one file: a
# 3-node group elects its highest priority; dry run, switchover and
# maintenance behave as documented; SIGKILL the leader -> exactly one promote
# on another node within lease + 1 s; the old leader restarted runs its demote
# hook and stays a follower; SIGSTOP the leader longer than its lease ->
# on SIGCONT it demotes itself before anything else; a paused group does not
# fail over until resumed; the hook log never shows two leaders at once.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
DB=$T_DIR/vigil.db
HOOKLOG=$T_DIR/hooks.log
LEASE=2000
: >"$HOOKLOG"
cat >"$T_DIR/hook.sh" <<EOF
#!/bin/sh
echo "\$(date +%s%3N) \$VIGIL_NODE \$VIGIL_HOOK \$VIGIL_ROLE \$VIGIL_EPOCH \$VIGIL_REASON" >>"$HOOKLOG"
EOF
chmod +x "$T_DIR/hook.sh"

start_collector "$PORT" "$DB" --lease-ms $LEASE --failover-cooldown 1s || {
	fail "collector did not start"; finish; exit; }

V=("$BIN/vigil" --collector "ws://127.0.0.1:$PORT" --timeout-ms 3000)
prio_n1=30 prio_n2=20 prio_n3=10
agent() { # NAME
	local p="prio_$1"
	mkdir -p "$T_DIR/state-$1"
	start_agent "$1" g "$PORT" --interval-ms 100 --priority "${!p}" --state-dir "$T_DIR/state-$1" \
		--on-promote "$T_DIR/hook.sh" --on-demote "$T_DIR/hook.sh" --on-fence "$T_DIR/hook.sh"
}
now_ms() { date +%s%3N; }
group() { vstatus "$PORT" 2>/dev/null | jq -c '.groups[] | select(.name == "g")'; }
leader_is() { [ "$(group | jq -r .leader)" = "$1" ] && [ "$(group | jq -r .failover)" = null ]; }
# hook lines (after line $2) of node $1 doing hook $3
lines_of() { tail -n +"$(($2 + 1))" "$HOOKLOG" | awk -v n="$1" -v h="$3" '$2 == n && $3 == h'; }
has_line() { [ -n "$(lines_of "$@")" ]; }
promotes_after() { tail -n +"$(($1 + 1))" "$HOOKLOG" | awk '$3 == "promote"'; }
has_promote_after() { [ -n "$(promotes_after "$1")" ]; }
# SIGKILL a node and say so in the hook log (a killed leader logs no demote).
kill_node() { echo "$(now_ms) $1 killed" >>"$HOOKLOG"; stop_pid "$(pid_of "$1")" KILL; }
mark() { wc -l <"$HOOKLOG"; }

for n in n1 n2 n3; do agent $n; done

# --- election: the highest priority, once the new group has settled
if wait_until 8 leader_is n1 && wait_until 3 has_line n1 0 promote; then
	ok "group g elected n1 (highest priority) and n1's promote hook ran: $(grep ' n1 promote' "$HOOKLOG")"
else
	fail "no election of n1: $(group); hooks: $(cat "$HOOKLOG")"
fi
group | jqe '.quorum == true and .expected == 3 and .epoch >= 1' >/dev/null \
	&& ok "status --json groups: leader, epoch, quorum, expected" || fail "group view: $(group)"

# --- dry run: the pre-flight, nothing changes
out=$("${V[@]}" failover g --dry-run 2>&1); rc=$?
echo "$out" >"$T_DIR/dryrun.txt"
if [ $rc -eq 1 ] && echo "$out" | grep -q "leader_healthy" && echo "$out" | grep -q "^n2 .*yes" \
	&& echo "$out" | grep -q "^n1 .*no: leader"; then
	ok "failover --dry-run of a healthy leader: refused (exit 1), ranked candidates with why"
else
	fail "dry run (exit $rc): $out"
fi
"${V[@]}" failover g --dry-run --json 2>/dev/null \
	| jqe '.data.dry_run and (.data.candidates | map(.node) == ["n1","n2","n3"]) and (.data.blocked | index("leader_healthy"))' >/dev/null \
	&& ok "--dry-run --json carries candidates (by priority) and the blocking guards" \
	|| fail "dry run json: $("${V[@]}" failover g --dry-run --json 2>&1)"
leader_is n1 && ok "a dry run changed nothing" || fail "dry run changed the leader: $(group)"
"${V[@]}" failover g </dev/null >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "an action without --reason is a usage error (exit 2)" || fail "no --reason: exit $rc"

# --- switchover: demote the healthy leader first, then promote
m=$(mark)
out=$("${V[@]}" switchover g --to n2 --reason "planned: test" --yes 2>&1); rc=$?
if [ $rc -eq 0 ] && leader_is n2; then
	ok "switchover to n2: exit 0, n2 leads ($(echo "$out" | tail -1))"
else
	fail "switchover (exit $rc): $out; $(group)"
fi
d=$(lines_of n1 "$m" demote | head -1 | cut -d' ' -f1)
p=$(lines_of n2 "$m" promote | head -1 | cut -d' ' -f1)
if [ -n "$d" ] && [ -n "$p" ] && [ "$d" -le "$p" ]; then
	ok "switchover: n1 demoted ($d) before n2 was promoted ($p)"
else
	fail "switchover hook order: $(tail -n +"$((m + 1))" "$HOOKLOG")"
fi

# --- maintenance: not a candidate, shown as such, and off again
"${V[@]}" maintenance n3 on --for 10m --reason "disk swap" --yes >/dev/null 2>&1 \
	&& wait_until 2 state_is "$PORT" n3 maintenance \
	&& ok "maintenance n3 on: shown as maintenance" || fail "maintenance on: $(node_state "$PORT" n3)"
out=$("${V[@]}" switchover g --to n3 --reason test --yes 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "maintenance" \
	&& ok "switchover to a node in maintenance is refused (exit 1) and says why" \
	|| fail "switchover to n3 in maintenance (exit $rc): $out"
"${V[@]}" maintenance n3 off --reason done --yes >/dev/null 2>&1 \
	&& wait_until 2 state_is "$PORT" n3 alive \
	&& ok "maintenance n3 off: alive again" || fail "maintenance off: $(node_state "$PORT" n3)"

# --- SIGKILL the leader: exactly one promote elsewhere within lease + 1 s
sleep 1.2                                  # past the cooldown of the switchover
m=$(mark)
t_kill=$(now_ms)
kill_node n2
if wait_until 6 has_promote_after "$m"; then
	sleep 1
	pl=$(promotes_after "$m")
	t_p=$(echo "$pl" | head -1 | cut -d' ' -f1)
	who=$(echo "$pl" | head -1 | cut -d' ' -f2)
	delay=$((t_p - t_kill))
	if [ "$(echo "$pl" | wc -l)" -eq 1 ] && [ "$who" != n2 ] && [ $delay -le $((LEASE + 1000)) ]; then
		ok "SIGKILL of leader n2: exactly one promote, on $who, ${delay} ms after the kill (lease ${LEASE} ms)"
	else
		fail "after SIGKILL: promotes $(echo "$pl" | tr '\n' ';') ${delay} ms after the kill"
	fi
else
	fail "no promote within 6 s of killing the leader: $(group)"
fi
NEW=$(group | jq -r .leader)
# explain the automatic decision: guards, candidates, and what led to it
id=$("${V[@]}" history --group g --kind failover --limit 50 --json \
	| jq '[.events[] | select(.rule == "decision" and (.detail | test("leader n2 failed")))][0].id')
ex=$("${V[@]}" explain "$id" --json 2>&1)
echo "$ex" >"$T_DIR/explain.json"
echo "$ex" | jqe '(.decided_by | test("automatically")) and (.event.detail | test("candidates"))
	and ([.context[] | select(.kind == "state" and .node == "n2" and .to == "failed")] | length >= 1)
	and ([.context[] | select(.kind == "failover" and .rule == "confirmed")] | length >= 1)' >/dev/null \
	&& ok "explain $id: decided automatically, candidates ranked, context from n2's failure to confirmed" \
	|| fail "explain of the decision: $ex"
m=$(curl -s "http://127.0.0.1:$PORT/metrics")
echo "$m" | grep -qx "vigil_group_epoch{group=\"g\"} $(group | jq .epoch)" \
	&& echo "$m" | grep -qx "vigil_group_leader{group=\"g\",node=\"$NEW\"} 1" \
	&& echo "$m" | grep -qx 'vigil_group_quorum{group="g"} 1' \
	&& ok "/metrics: vigil_group_epoch, vigil_group_leader, vigil_group_quorum" \
	|| fail "/metrics group series: $(echo "$m" | grep vigil_group_)"

# --- the old leader restarted: it demotes and stays a follower
m=$(mark)
agent n2
if wait_until 5 has_line n2 "$m" demote; then
	ok "restarted old leader n2 ran its demote hook: $(lines_of n2 "$m" demote | head -1)"
else
	fail "restarted n2 ran no demote hook: $(tail -n +"$((m + 1))" "$HOOKLOG")"
fi
sleep 1
[ -z "$(lines_of n2 "$m" promote)" ] && leader_is "$NEW" \
	&& [ "$(vstatus "$PORT" | jq -r '.nodes[] | select(.name == "n2") | .role')" = follower ] \
	&& ok "n2 stays a follower; $NEW still leads" || fail "after n2's restart: $(group)"

# --- SIGSTOP the leader longer than its lease: on SIGCONT it demotes first
sleep 1.2
m=$(mark)
L=$NEW
kill -STOP "$(pid_of "$L")"
sleep 3.5
kill -CONT "$(pid_of "$L")"
if wait_until 5 has_line "$L" "$m" demote; then
	first=$(tail -n +"$((m + 1))" "$HOOKLOG" | awk -v n="$L" '$2 == n' | head -1)
	case "$first" in
	*" demote follower "*lease_expired*) ok "woken leader $L demoted itself before anything else: $first" ;;
	*) fail "woken leader $L's first hook was not its demote: $first" ;;
	esac
else
	fail "woken leader $L never demoted: $(tail -n +"$((m + 1))" "$HOOKLOG")"
fi
if wait_until 6 has_promote_after "$m" && wait_until 3 leader_is "$(promotes_after "$m" | tail -1 | cut -d' ' -f2)"; then
	NEW=$(group | jq -r .leader)
	[ "$NEW" != "$L" ] && ok "after the pause, $NEW leads" || fail "$L leads again after its pause"
else
	fail "no new leader after SIGSTOP: $(group)"
fi

# --- pause: no automatic failover until resumed
sleep 1.2
wait_until 3 leader_is "$NEW"
"${V[@]}" pause g --reason "maintenance window" --yes >/dev/null 2>&1 \
	&& group | jqe '.paused and .paused_by == "local" and .pause_reason == "maintenance window"' >/dev/null \
	&& ok "pause g: paused, by whom and why in the status" || fail "pause: $(group)"
m=$(mark)
kill_node "$NEW"
sleep $(((LEASE + 2500) / 1000))
if [ -z "$(promotes_after "$m")" ]; then
	ok "paused group: no promote $((LEASE + 2500)) ms after its leader died"
else
	fail "paused group failed over: $(promotes_after "$m")"
fi
"${V[@]}" history --group g --kind failover --limit 50 --json | jqe '[.events[] | select(.rule == "refusal" and (.detail | test("paused")))] | length >= 1' >/dev/null \
	&& ok "the refusal is recorded with its reason (paused)" || fail "no paused refusal in the history"
"${V[@]}" resume g --reason "window over" --yes >/dev/null 2>&1
if wait_until 5 has_promote_after "$m"; then
	ok "resumed: promote of $(promotes_after "$m" | head -1 | cut -d' ' -f2)"
else
	fail "no failover after resume: $(group)"
fi

# --- a collector that lost its store: the agents' epochs win
E=$(group | jq .epoch)
stop_pid "$(pid_of collector)" TERM
start_collector "$PORT" "$T_DIR/fresh.db" --lease-ms $LEASE --failover-cooldown 1s \
	|| fail "collector did not start on a fresh store"
m=$(mark)
if wait_until 12 has_promote_after "$m" && wait_until 5 bash -c "$(declare -f group leader_is vstatus); PORT=$PORT BIN=$BIN; [ \$(group | jq .epoch) -gt $E ] && [ \$(group | jq -r .failover) = null ]"; then
	ok "fresh store: leadership re-established at epoch $(group | jq .epoch) > $E (what the agents had seen)"
else
	fail "fresh store (agents at epoch $E): $(group); hooks: $(tail -n +"$((m + 1))" "$HOOKLOG" | tr '\n' ';')"
fi

# --- never two leaders at once in the hook log, and epochs only grow
awk '
	$3 == "promote" && $4 == "leader" { lead[$2] = 1 }
	$3 == "demote" || $3 == "fence" || $3 == "killed" { delete lead[$2] }
	{ n = 0; for (k in lead) n++; if (n > 1) { print "two leaders at line " NR ": " $0; bad = 1 } }
	$3 == "promote" { if ($5 <= last) { print "epoch did not grow at line " NR; bad = 1 } last = $5 }
	END { exit bad }' "$HOOKLOG" >"$T_DIR/two-leaders.txt" \
	&& ok "hook log ($(wc -l <"$HOOKLOG") lines): never two leaders at once; promote epochs strictly grow" \
	|| fail "$(cat "$T_DIR/two-leaders.txt")"
sqlite3 "$DB" "select count(*) from audit where operator = 'local' and command in ('switchover','maintenance','pause','resume')" \
	| grep -qx '[5-9]' && ok "operator actions audited with the operator's name" \
	|| fail "audit rows: $(sqlite3 "$DB" 'select command, result from audit')"
sqlite3 "$DB" "select count(*) from hook_runs where hook = 'promote' and rc = 0" | grep -qx '[4-9]' \
	&& ok "hook runs stored with exit status" || fail "hook_runs: $(sqlite3 "$DB" 'select node, hook, rc from hook_runs')"

finish
