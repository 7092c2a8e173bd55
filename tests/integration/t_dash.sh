#!/usr/bin/env bash
# The live dashboard in a real terminal (tmux, 120x40): shows the nodes and
# the groups, follows a hung agent (SIGSTOP) to suspect and failed,
# acknowledges and silences its node_failed alert (a, x), drives a
# switchover and a failover through the keys and sees the promote hooks run,
# survives the collector going away (stale, retrying), resizes to 80x24,
# quits cleanly on q and on SIGTERM.  --frames N renders and exits, with or
# without a terminal.  And `make demo`'s script leaves no process behind.
. "$(dirname "$0")/lib.sh"

T="tmux -L vigil-$T_NAME-$$"
PORT=$(free_port)
PROMOTED=$T_DIR/promoted
start_collector "$PORT" "$T_DIR/vigil.db" || { fail "collector did not start"; finish; exit; }
prio=100
for n in db-1 db-2 db-3; do
	start_agent "$n" pg "$PORT" --interval-ms 100 --priority $prio \
		--on-promote "echo \$VIGIL_NODE >> $PROMOTED"
	prio=$((prio - 10))
done
for n in web-1 web-2; do
	start_agent "$n" web "$PORT" --interval-ms 100
done
wait_until 5 alive_count_is "$PORT" 5 || fail "agents not alive"

screen() { $T capture-pane -t d -p; }
screen_has() { screen | grep -q -- "$1"; }
screen_re() { screen | grep -Eq -- "$1"; }
export -f screen screen_has screen_re
export T
# see SECONDS PATTERN: wait until the screen matches the extended regex
see() { wait_until "$1" screen_re "$2"; }
keys() { $T send-keys -t d "$@"; sleep 0.2; }
promoted_has() { grep -qx "$1" "$PROMOTED" 2>/dev/null; }

$T new-session -d -s d -x 120 -y 40 "env LANG=C.UTF-8 $BIN/vigil --collector ws://127.0.0.1:$PORT; echo rc=\$? > $T_DIR/dash.rc; sleep 60"
if see 5 '^.web-1 ' && see 1 '^.db-1 '; then
	ok "dashboard lists the nodes"
else
	fail "nodes not on screen: $(screen | head -20)"
fi
see 3 "5 nodes: 5 alive, 0 suspect, 0 failed" && ok "header: 5 nodes: 5 alive" || fail "header: $(screen | sed -n 2p)"
screen | tail -1 | grep -q "connected to 127.0.0.1:$PORT" && ok "status line: connected" || fail "status line: $(screen | tail -1)"
if see 5 '^ pg +db-1 +[0-9]+ +3/3 +yes +on '; then
	ok "groups panel: pg led by db-1, 3/3 alive, quorum, automation on"
else
	fail "groups panel: $(screen | sed -n 3,6p)"
fi
screen_re '^.db-1 +pg +leader +alive ' && ok "nodes table: db-1 is pg's leader, alive" || fail "db-1 row: $(screen | grep db-1)"

# A hung agent: suspect, then failed, on screen and in the events pane.
kill -STOP "$(pid_of web-2)"
see 4 '^.web-2 .*(suspect|failed)' && ok "a SIGSTOPped agent turns suspect on screen" || fail "web-2: $(screen | grep web-2)"
see 8 '^.web-2 .* failed ' && ok "... and then failed" || fail "web-2 not failed: $(screen | grep web-2)"
see 2 "web-2 +[a-z]+ -> failed" && ok "the transition appears in the events pane" || fail "no transition line: $(screen | grep -A9 EVENTS)"
see 2 "1 failed" && ok "header counts the failed node" || fail "header: $(screen | sed -n 2p)"
kill -CONT "$(pid_of web-2)"; stop_pid "$(pid_of web-2)" KILL

# Its node_failed alert: in the pane; a + reason acknowledges it, x silences it.
V="$BIN/vigil --collector ws://127.0.0.1:$PORT"
# (the first alert may resolve when the stopped agent's connection drops: wait for the lasting one)
wait_until 8 bash -c "$V alerts | grep -q 'web-2.*reconnect_grace'" || fail "no lasting alert: $($V alerts)"
see 3 'ALERT #[0-9]+ +critical +node_failed +web-2 \(web\)' && ok "the node_failed alert is in the events & alerts pane" \
	|| fail "no alert line: $(screen | grep -A9 EVENTS)"
keys /; keys web-2 Enter
keys a
see 2 '> #[0-9]+ +critical +node_failed' && ok "a proposes the firing alert in a box" || fail "ack box: $(screen | sed -n 14,28p)"
keys "web-2 hung" Enter
see 5 'ack alert [0-9]+ \(node_failed web-2\): accepted' && ok "a + reason: accepted (status line)" \
	|| fail "ack: $(screen | tail -1)"
$V alerts --json | grep -Eq '"who":[[:space:]]*"local"' && $V alerts --json | grep -Eq '"reason":[[:space:]]*"web-2 hung"' \
	&& ok "vigil alerts --json shows who acknowledged it and why" || fail "alerts: $($V alerts --json)"
see 3 'node_failed +web-2 \(web\) .*acked by local' && ok "the pane shows 'acked by'" || fail "$(screen | grep node_failed)"
keys x
see 2 'match: \[x\] r rule node_failed +\[x\] n node web-2' && ok "x proposes rule and node" || fail "silence box: $(screen | grep -A3 match)"
keys BSpace BSpace 30m Enter "gone for good" Enter
see 5 'silence_add rule=node_failed node=web-2 for 30m: accepted: silence [0-9]+ added' \
	&& ok "x + 30m + reason: the silence is added" || fail "silence: $(screen | tail -1)"
$V silence list | grep -q 'node_failed.*web-2.*gone for good' && ok "vigil silence list shows it" \
	|| fail "silences: $($V silence list)"
keys Escape

# Switchover through the keys: select db-2 (filter), w, reason, type the group's name.
keys /; keys db-2 Enter
keys w
see 5 'pre-flight: ' && ok "w shows the pre-flight" || fail "no pre-flight box: $(screen | sed -n 14,28p)"
screen_re 'CANDIDATES' && screen_re '[0-9]\. db-3 ' && ok "pre-flight lists the ranked candidates" || fail "candidates: $(screen | grep -A4 CANDIDATES)"
keys "planned switchover" Enter
see 2 "type the group's name \\(pg\\) to confirm" && ok "asks for the group's name" || fail "no confirmation prompt: $(screen | tail -1)"
keys pg Enter
wait_until 10 promoted_has db-2 && ok "switchover: db-2's promote hook ran" || fail "promote hook: $(cat "$PROMOTED" 2>/dev/null)"
see 5 '^ pg +db-2 ' && ok "groups panel: pg now led by db-2" || fail "groups: $(screen | sed -n 3,5p)"
screen | tail -1 | grep -q "switchover pg: accepted" && ok "status line shows the result" || fail "status: $(screen | tail -1)"

# Pause automation (p), hang the leader: no automatic failover.  Then a
# failover through f promotes another node.
keys p; keys "failover test" Enter
see 5 '^ pg +db-2 .* paused by ' && ok "p pauses pg's automation (shown with who and why)" || fail "pause: $(screen | grep '^ pg')"
kill -STOP "$(pid_of db-2)"
see 10 '^.db-2 .* failed ' && ok "the hung leader turns failed" || fail "db-2: $(screen | grep db-2)"
sleep 1
screen_re '^ pg +db-2 ' && ok "paused: no automatic failover" || fail "groups: $(screen | grep '^ pg')"
# The old lease must run out before anyone may be promoted: retry until the pre-flight agrees.
before=$(wc -l < "$PROMOTED")
new_leader_promoted() { tail -n +$((before + 1)) "$PROMOTED" | grep -Eqx 'db-(1|3)'; }
fo_ok=
for _ in $(seq 10); do
	keys f
	see 5 '(pre-flight: |would be REFUSED)' || break
	if screen_has "pre-flight: "; then fo_ok=1; break; fi
	keys Escape; sleep 1
done
[ -n "$fo_ok" ] && ok "f shows an accepting pre-flight" || fail "pre-flight: $(screen | sed -n 14,28p)"
keys "db-2 hung" Enter
keys pg Enter
if wait_until 10 new_leader_promoted; then
	ok "failover through the keys: the new leader's promote hook ran ($(tail -1 "$PROMOTED"))"
else
	fail "no promote hook after f: $(cat "$PROMOTED" 2>/dev/null); $(screen | tail -1)"
fi
see 5 '^ pg +db-(1|3) ' && ok "groups panel shows the new leader" || fail "groups: $(screen | grep '^ pg')"
keys p; keys "done" Enter
see 5 '^ pg .* on ' && ok "p resumes the automation" || fail "resume: $(screen | grep '^ pg'); $(screen | tail -1)"
kill -CONT "$(pid_of db-2)"
keys Escape

# Node detail and help.
keys Enter
see 3 "LAST TRANSITIONS" && screen_has "PHI over the last" && ok "Enter opens the node detail (evidence, phi sparkline)" \
	|| fail "detail: $(screen | head -12)"
keys Escape; keys '?'
see 2 "KEYS" && screen_has "time travel" && ok "? lists the keys" || fail "help: $(screen | head -8)"
keys Escape

# The collector goes away: stale, retrying; then back.
stop_pid "$(pid_of collector)" KILL
if wait_until 4 bash -c "$T capture-pane -t d -p | tail -1 | grep -q 'disconnected, retrying in'"; then
	ok "collector gone: 'disconnected, retrying in N s'"
else
	fail "status line: $(screen | tail -1)"
fi
screen_has "STALE" && screen_re '^.web-1 ' && ok "last known state kept, marked STALE" || fail "stale view: $(screen | head -2)"
keys s
screen_has "sort state" && ok "keys still answered while disconnected" || fail "no key answer: $(screen | grep NODE)"
start_collector "$PORT" "$T_DIR/vigil.db" || fail "collector did not restart"
wait_until 12 bash -c "$T capture-pane -t d -p | tail -1 | grep -q 'connected to'" \
	&& ok "dashboard reconnects on its own" || fail "no reconnect: $(screen | tail -1)"

$T resize-window -t d -x 80 -y 24
sleep 0.8
if [ "$(screen | wc -l)" -le 24 ] && screen_has "vigil" && screen | tail -1 | grep -q "connected" \
	&& screen_re '^ NODE +GROUP' && screen_re '^.db-1 '; then
	ok "after resize to 80x24: header, nodes and status line shown"
else
	fail "layout at 80x24: $(screen)"
fi
awk 'length > 80 { bad = 1 } END { exit bad }' < <(screen) && ok "no line wider than 80 columns" || fail "lines wider than 80"

$T send-keys -t d q
wait_until 3 test -s "$T_DIR/dash.rc" && grep -qx 'rc=0' "$T_DIR/dash.rc" && ok "q quits with status 0" \
	|| fail "after q: $(cat "$T_DIR/dash.rc" 2>/dev/null || echo 'still running')"

# SIGTERM: exits 0 and gives the terminal back (the shell's next output is readable).
$T new-session -d -s s -x 100 -y 30 "$BIN/vigil --collector ws://127.0.0.1:$PORT; echo rc=\$? > $T_DIR/term.rc; echo TERMINAL-BACK; sleep 30"
wait_until 5 bash -c "$T capture-pane -t s -p | grep -q 'connected to'"
vpid=$(pgrep -P "$($T display -p -t s '#{pane_pid}')" vigil)
[ -n "$vpid" ] && kill -TERM "$vpid"
wait_until 3 test -s "$T_DIR/term.rc" && grep -qx 'rc=0' "$T_DIR/term.rc" && ok "SIGTERM: exits 0" \
	|| fail "after SIGTERM: $(cat "$T_DIR/term.rc" 2>/dev/null || echo 'still running')"
wait_until 2 bash -c "$T capture-pane -t s -p | grep -q '^TERMINAL-BACK'" && ok "SIGTERM: the terminal is restored" \
	|| fail "after SIGTERM: $($T capture-pane -t s -p | tail -3)"

# --frames N in a terminal renders and exits 0; without one it prints the last frame.
$T new-session -d -s f -x 100 -y 30 "$BIN/vigil --collector ws://127.0.0.1:$PORT --frames 3; echo rc=\$? > $T_DIR/frames.rc"
wait_until 5 test -s "$T_DIR/frames.rc" && grep -qx 'rc=0' "$T_DIR/frames.rc" && ok "--frames 3 exits 0" \
	|| fail "--frames: $(cat "$T_DIR/frames.rc" 2>/dev/null)"
COLUMNS=90 LINES=20 timeout 10 "$BIN/vigil" --collector "ws://127.0.0.1:$PORT" --frames 6 > "$T_DIR/headless.txt" 2>&1
if [ "$(wc -l < "$T_DIR/headless.txt")" = 20 ] && grep -Eq '^.db-1 +pg ' "$T_DIR/headless.txt" \
	&& grep -q "connected to 127.0.0.1:$PORT" "$T_DIR/headless.txt"; then
	ok "--frames without a terminal prints the last 90x20 frame"
else
	fail "headless frame: $(head -5 "$T_DIR/headless.txt")"
fi

# A viewer's token: commands are refused (forbidden) and then greyed out, with the reason.
VPORT=$(free_port)
printf '# name role token\nalice operator alice-token-0123456789\nbob viewer bob-token-0123456789abc\n' > "$T_DIR/operators"
echo "bob-token-0123456789abc" > "$T_DIR/bob.token"
chmod 600 "$T_DIR/operators" "$T_DIR/bob.token"
start vcollector "$BIN/vigil-collector" --listen "127.0.0.1:$VPORT" --db "$T_DIR/viewer.db" \
	--operator-token-file "$T_DIR/operators"
wait_until 5 curl -sf "http://127.0.0.1:$VPORT/health" || fail "viewer collector did not start"
start_agent v-1 vg "$VPORT" --interval-ms 100
$T new-session -d -s v -x 120 -y 40 "$BIN/vigil --collector ws://127.0.0.1:$VPORT --token-file $T_DIR/bob.token; sleep 30"
vscreen() { $T capture-pane -t v -p; }
if wait_until 5 bash -c "$T capture-pane -t v -p | grep -Eq '^.v-1 '"; then
	# (a dry run may be allowed to a viewer: go through to the real command)
	$T send-keys -t v f; sleep 0.5
	if ! vscreen | tail -1 | grep -Eq 'forbidden|not allowed'; then
		$T send-keys -t v "viewer try" Enter; sleep 0.3
		$T send-keys -t v vg Enter
	fi
	if wait_until 5 bash -c "$T capture-pane -t v -p | tail -1 | grep -Eq 'forbidden|not allowed'"; then
		ok "viewer: f is refused, the status line says why ($(vscreen | tail -1 | sed 's/.*| //' | cut -c1-60))"
	else
		fail "viewer f: $(vscreen | tail -1)"
	fi
	$T send-keys -t v p; sleep 0.3
	vscreen | tail -1 | grep -q "not allowed" && ok "viewer: further commands greyed out without asking" \
		|| fail "viewer p: $(vscreen | tail -1)"
	$T send-keys -t v '?'; sleep 0.3
	vscreen | grep -q "(not allowed)" && vscreen | grep -q "commands are greyed out" \
		&& ok "viewer: help shows the commands greyed out with the reason" || fail "viewer help: $(vscreen | head -20)"
else
	fail "viewer dashboard: $(vscreen | head -10)"
fi

# The demo script, as make demo runs it, in a terminal: 5 alive, nothing left behind.
DPORT=$(free_port)
$T new-session -d -s demo -x 120 -y 40 "cd $ROOT && VIGIL_DEMO_PORT=$DPORT VIGIL_DEMO_DIR=$T_DIR/demo DEMO_FRAMES=12 scripts/demo.sh > $T_DIR/demo.out 2>&1; echo rc=\$? >> $T_DIR/demo.out"
wait_until 20 grep -q '^rc=' "$T_DIR/demo.out"
grep -q "5 agents: 5 alive" "$T_DIR/demo.out" && ok "demo: 5 agents alive" || fail "demo: $(head -3 "$T_DIR/demo.out")"
grep -qx "rc=0" "$T_DIR/demo.out" && ok "demo exits 0" || fail "demo exit: $(tail -1 "$T_DIR/demo.out")"
sleep 0.3
if pgrep -f "127.0.0.1:$DPORT" >/dev/null; then
	fail "demo left processes behind: $(pgrep -fa "127.0.0.1:$DPORT")"
else
	ok "demo left no process behind"
fi
finish
