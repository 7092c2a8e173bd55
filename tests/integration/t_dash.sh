#!/usr/bin/env bash
# The status screen in a real terminal (tmux): shows the nodes, follows a
# failure, survives the collector going away (stale, retrying), resizes,
# quits cleanly.  And `make demo`'s script leaves no process behind.
. "$(dirname "$0")/lib.sh"

T="tmux -L vigil-$T_NAME-$$"
PORT=$(free_port)
start_collector "$PORT" "$T_DIR/vigil.db" || { fail "collector did not start"; finish; exit; }
for n in web-1 web-2 db-1; do
	start_agent "$n" "${n%-*}" "$PORT" --interval-ms 100
done
wait_until 3 alive_count_is "$PORT" 3 || fail "agents not alive"

screen() { $T capture-pane -t d -p; }
screen_has() { screen | grep -q -- "$1"; }

$T new-session -d -s d -x 120 -y 40 "env LANG=C.UTF-8 $BIN/vigil --collector ws://127.0.0.1:$PORT; echo rc=\$? > $T_DIR/dash.rc; sleep 60"
if wait_until 5 bash -c "$T capture-pane -t d -p | grep -q 'web-1' && $T capture-pane -t d -p | grep -q 'db-1'"; then
	ok "dashboard lists the nodes"
else
	fail "nodes not on screen: $(screen | head -20)"
fi
screen_has "3 nodes: 3 alive" && ok "header: 3 nodes: 3 alive" || fail "header: $(screen | sed -n 2p)"
screen_has "connected to 127.0.0.1:$PORT" && ok "status line: connected" || fail "status line: $(screen | tail -1)"

stop_pid "$(pid_of web-2)" KILL
if wait_until 4 bash -c "$T capture-pane -t d -p | grep -E '^web-2 .*failed'"; then
	ok "a killed agent turns failed on screen"
else
	fail "web-2 not failed on screen: $(screen | grep web-2)"
fi
screen_has "suspect -> failed" && ok "the transition appears in RECENT TRANSITIONS" || fail "no transition line"

stop_pid "$(pid_of collector)" KILL
if wait_until 4 bash -c "$T capture-pane -t d -p | tail -1 | grep -q 'disconnected, retrying in'"; then
	ok "collector gone: 'disconnected, retrying in N s'"
else
	fail "status line: $(screen | tail -1)"
fi
screen_has "STALE" && screen_has "web-1" && ok "last known state kept, marked STALE" || fail "stale view: $(screen | tail -1)"
start_collector "$PORT" "$T_DIR/vigil.db" || fail "collector did not restart"
wait_until 12 bash -c "$T capture-pane -t d -p | tail -1 | grep -q 'connected to'" \
	&& ok "dashboard reconnects on its own" || fail "no reconnect: $(screen | tail -1)"

$T resize-window -t d -x 80 -y 24
sleep 0.8
if [ "$(screen | wc -l)" -le 24 ] && screen_has "vigil" && screen | tail -1 | grep -q "connected"; then
	ok "after resize to 80x24: header and status line still shown"
else
	fail "layout at 80x24: $(screen | head -3)"
fi
awk 'length > 80 { bad = 1 } END { exit bad }' < <(screen) && ok "no line wider than 80 columns" || fail "lines wider than 80"

$T send-keys -t d q
wait_until 3 test -s "$T_DIR/dash.rc" && grep -qx 'rc=0' "$T_DIR/dash.rc" && ok "q quits with status 0" \
	|| fail "after q: $(cat "$T_DIR/dash.rc" 2>/dev/null || echo 'still running')"

# --frames N in a terminal renders and exits 0.
$T new-session -d -s f -x 100 -y 30 "$BIN/vigil --collector ws://127.0.0.1:$PORT --frames 3; echo rc=\$? > $T_DIR/frames.rc"
wait_until 5 test -s "$T_DIR/frames.rc" && grep -qx 'rc=0' "$T_DIR/frames.rc" && ok "--frames 3 exits 0" \
	|| fail "--frames: $(cat "$T_DIR/frames.rc" 2>/dev/null)"

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
