#!/usr/bin/env bash
# Tokens in the handshake: right ones pass, wrong or missing ones get HTTP
# 401 (logged and counted); agent and operator tokens are separate.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
umask 077
echo "agent-secret-0123456789abcdef" >"$T_DIR/agent.token"
echo "wrong-secret-0123456789abcdef" >"$T_DIR/wrong.token"
cat >"$T_DIR/operators" <<TOK
# name role token
alice operator alice-token-0123456789
bob   viewer   bob-token-0123456789abc
TOK
echo "alice-token-0123456789" >"$T_DIR/alice.token"
echo "bob-token-0123456789abc" >"$T_DIR/bob.token"

start_collector "$PORT" "$T_DIR/vigil.db" --agent-token-file "$T_DIR/agent.token" \
	--operator-token-file "$T_DIR/operators" || { fail "collector did not start"; finish; exit; }
grep -q "loopback addresses only" "$T_DIR/collector.log" && fail "collector claims loopback-only with tokens" \
	|| ok "collector does not fall back to loopback-only when tokens are set"

V="$BIN/vigil --collector ws://127.0.0.1:$PORT --timeout-ms 3000"
start_agent good g "$PORT" --interval-ms 100 --token-file "$T_DIR/agent.token"
start_agent bad g "$PORT" --interval-ms 100 --token-file "$T_DIR/wrong.token"
start_agent none g "$PORT" --interval-ms 100

if wait_until 3 bash -c "$V --token-file $T_DIR/alice.token status --json | jqe '.nodes|length==1 and .[0].name==\"good\"'"; then
	ok "only the agent with the right token is listed"
else
	fail "nodes: $($V --token-file "$T_DIR/alice.token" status --json | jq -c '[.nodes[].name]')"
fi
wait_until 3 grep -q "cannot connect: .*unauthorized" "$T_DIR/bad.log" \
	&& ok "agent with a wrong token is told it was refused (401)" || fail "bad agent log: $(tail -2 "$T_DIR/bad.log")"
grep -q "refused an agent connection from 127.0.0.1: wrong token" "$T_DIR/collector.log" \
	&& grep -q "refused an agent connection from 127.0.0.1: missing token" "$T_DIR/collector.log" \
	&& ok "collector logs wrong and missing agent tokens" || fail "collector log lacks the refusals"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -Eq '^vigil_auth_failures_total\{client="agent"\} [2-9]|^vigil_auth_failures_total\{client="agent"\} [1-9][0-9]' \
	&& ok "refusals counted in vigil_auth_failures_total" || fail "auth failures not counted"

out=$($V status 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "unauthorized" && ok "vigil without a token: exit 2, says unauthorized" \
	|| fail "vigil without token: rc $rc: $out"
out=$($V --token-file "$T_DIR/wrong.token" status 2>&1); rc=$?
[ $rc -eq 2 ] && ok "vigil with a wrong token: exit 2" || fail "vigil wrong token: rc $rc: $out"
out=$($V --token-file "$T_DIR/agent.token" status 2>&1); rc=$?
[ $rc -eq 2 ] && ok "the agent token is not an operator token" || fail "agent token accepted for operator: rc $rc"
VIGIL_TOKEN_FILE=$T_DIR/bob.token $V status >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && ok "viewer token (from VIGIL_TOKEN_FILE) may read status" || fail "viewer status rc $rc"

# Probe with the operator token on the agent subprotocol: refused.
out=$("$PROBE" --port "$PORT" --proto vigil-agent.v1 --token alice-token-0123456789 --wait-ms 1000); rc=$?
[ $rc -eq 3 ] && ok "operator token refused on the agent subprotocol" || fail "probe: rc $rc $out"
# No subprotocol at all: a clear 400, not a hang.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "http://127.0.0.1:$PORT/")
[ "$code" = 400 ] && ok "upgrade without a subprotocol: 400" || fail "upgrade without subprotocol: $code"

# TLS: wss:// for agents and operators, https:// for probes.
TPORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" -days 2 \
	-subj /CN=localhost >/dev/null 2>&1 || fail "openssl could not make a test certificate"
start collector_tls "$BIN/vigil-collector" --listen "127.0.0.1:$TPORT" --db "$T_DIR/tls.db" \
	--tls-cert "$T_DIR/cert.pem" --tls-key "$T_DIR/key.pem"
wait_until 5 curl -skf "https://127.0.0.1:$TPORT/health" && ok "https:// /health over TLS" || fail "no TLS /health"
start tlsagent "$BIN/vigil-agent" --collector "wss://127.0.0.1:$TPORT" --insecure --node tls1 --group g --interval-ms 100
VT="$BIN/vigil --collector wss://127.0.0.1:$TPORT --timeout-ms 3000"
wait_until 3 bash -c "$VT --insecure status --json | jqe '.nodes[0].state==\"alive\"'" \
	&& ok "agent and vigil over wss:// (self-signed, --insecure)" || fail "wss: $($VT --insecure status 2>&1)"
out=$($VT status 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "certificate" && ok "untrusted certificate refused with a hint" \
	|| fail "untrusted cert: rc $rc $out"
out=$("$BIN/vigil-collector" --tls-cert "$T_DIR/cert.pem" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "go together" && ok "--tls-cert without --tls-key refused" || fail "$out"
finish
