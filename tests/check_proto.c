/* check_proto.c — unit tests for proto/: the v1 wire protocol (encode ->
 * decode round trips, then every refusal with its proto_err and a message
 * that names the field), the JSON writer, the name and text charsets, and
 * the option parsers and helpers in util.
 *
 * Refusals are tables (tcase_add_loop_test).  The per-field tables are built
 * from one description of every message, so each field of each message is
 * tried missing and with every wrong JSON type.  Truncated and mutated
 * frames are copied into buffers of their exact length so that ASan catches
 * a decoder that reads past len (tmux fuzz/input-fuzzer.c). */
#include "proto/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/jsonw.h"
#include "proto/names.h"
#include "proto/util.h"
#include "suites.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

enum decoder { D_AGENT, D_COLL, D_OPER };

static const char *const decoder_name[] = { "agent", "collector", "operator" };

/* Decode with the given decoder; the message itself is thrown away. */
static enum proto_err decode(enum decoder d, const char *buf, size_t len, char *err,
			     size_t errlen)
{
	static struct agent_msg am;
	static struct collector_msg cm;
	static struct oper_msg om;

	switch (d) {
	case D_AGENT: return proto_decode_agent(buf, len, &am, err, errlen);
	case D_COLL: return proto_decode_collector(buf, len, &cm, err, errlen);
	case D_OPER: return proto_decode_oper(buf, len, &om, err, errlen);
	}
	return PROTO_OK;
}

/* Decode from a heap copy of exactly len bytes (no NUL after it). */
static enum proto_err decode_exact(enum decoder d, const char *buf, size_t len, char *err,
				   size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	enum proto_err rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, buf, len);
	rc = decode(d, copy, len, err, errlen);
	free(copy);
	return rc;
}

static enum proto_err agent_s(const char *s, struct agent_msg *m, char *err, size_t errlen)
{
	return proto_decode_agent(s, strlen(s), m, err, errlen);
}

static enum proto_err coll_s(const char *s, struct collector_msg *m, char *err, size_t errlen)
{
	return proto_decode_collector(s, strlen(s), m, err, errlen);
}

static enum proto_err oper_s(const char *s, struct oper_msg *m, char *err, size_t errlen)
{
	return proto_decode_oper(s, strlen(s), m, err, errlen);
}

static void assert_mentions(const char *err, const char *what, const char *input)
{
	ck_assert_msg(strstr(err, what) != NULL,
		      "error for %s is \"%s\", expected it to mention \"%s\"", input, err, what);
}

/* A string of n copies of c (n < cap). */
static const char *rep(char *buf, size_t cap, char c, size_t n)
{
	ck_assert_uint_lt(n, cap);
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* ---------------------------------------------------------------------------
 * Every message, field by field
 * ------------------------------------------------------------------------ */

enum msg { M_HELLO, M_HB, M_EVENT, M_BYE, M_WELCOME, M_ACK, M_ERROR, M_SUBSCRIBE, M_QUERY,
	   M_HOOK, M_GRANT, M_COMMAND, M_OCOMMAND };

static const struct {
	const char *type;
	enum decoder dec;
} msgs[] = {
	[M_HELLO] = { "hello", D_AGENT },
	[M_HB] = { "hb", D_AGENT },
	[M_EVENT] = { "event", D_AGENT },
	[M_BYE] = { "bye", D_AGENT },
	[M_WELCOME] = { "welcome", D_COLL },
	[M_ACK] = { "ack", D_COLL },
	[M_ERROR] = { "error", D_COLL },
	[M_SUBSCRIBE] = { "subscribe", D_OPER },
	[M_QUERY] = { "query", D_OPER },
	[M_HOOK] = { "hook", D_AGENT },
	[M_GRANT] = { "grant", D_COLL },
	[M_COMMAND] = { "command", D_COLL },
	[M_OCOMMAND] = { "command", D_OPER },
};

enum fkind { F_INT, F_STR, F_OBJ };

struct fdef {
	enum msg msg;
	const char *key;
	const char *good;      /* JSON text of a valid value */
	enum fkind kind;
	bool required;
};

static const struct fdef fields[] = {
	{ M_HELLO, "v", "1", F_INT, true },
	{ M_HELLO, "node", "\"n1\"", F_STR, true },
	{ M_HELLO, "group", "\"g1\"", F_STR, true },
	{ M_HELLO, "priority", "10", F_INT, false },
	{ M_HELLO, "version", "\"0.1.0\"", F_STR, true },
	{ M_HELLO, "boot_id", "\"b-123\"", F_STR, true },
	{ M_HELLO, "interval_ms", "500", F_INT, true },
	{ M_HB, "seq", "7", F_INT, true },
	{ M_HB, "sent_ms", "1700000000000", F_INT, true },
	{ M_HB, "metrics", "{\"cpu\":12.5,\"mem\":40,\"load1\":0.5,\"disk\":60,\"app\":{\"q\":3}}",
	  F_OBJ, false },
	{ M_EVENT, "seq", "3", F_INT, true },
	{ M_EVENT, "ts_ms", "1700000000000", F_INT, true },
	{ M_EVENT, "name", "\"check_failed\"", F_STR, true },
	{ M_EVENT, "severity", "\"warning\"", F_STR, false },
	{ M_EVENT, "text", "\"disk /var is 97% full\"", F_STR, false },
	{ M_BYE, "reason", "\"shutdown\"", F_STR, false },
	{ M_WELCOME, "node", "\"n1\"", F_STR, true },
	{ M_WELCOME, "collector", "\"c-1a2b\"", F_STR, true },
	{ M_WELCOME, "interval_ms", "1000", F_INT, true },
	{ M_WELCOME, "last_event_seq", "41", F_INT, true },
	{ M_ACK, "seq", "41", F_INT, true },
	{ M_ERROR, "code", "\"bad_json\"", F_STR, true },
	{ M_ERROR, "message", "\"not valid JSON\"", F_STR, true },
	{ M_SUBSCRIBE, "id", "1", F_INT, true },
	{ M_QUERY, "id", "2", F_INT, true },
	{ M_QUERY, "what", "\"events\"", F_STR, true },
	{ M_QUERY, "node", "\"n1\"", F_STR, false },
	{ M_QUERY, "kind", "\"state\"", F_STR, false },
	{ M_QUERY, "limit", "50", F_INT, false },
	{ M_HELLO, "role", "\"leader\"", F_STR, false },
	{ M_HELLO, "epoch", "3", F_INT, false },
	{ M_HB, "role", "\"claiming\"", F_STR, false },
	{ M_HB, "epoch", "3", F_INT, false },
	{ M_HOOK, "cmd_id", "12", F_INT, true },
	{ M_HOOK, "hook", "\"promote\"", F_STR, true },
	{ M_HOOK, "epoch", "4", F_INT, true },
	{ M_HOOK, "rc", "0", F_INT, true },
	{ M_HOOK, "duration_ms", "15", F_INT, false },
	{ M_HOOK, "output", "\"line 1\\n\\tline 2\"", F_STR, false },
	{ M_HOOK, "reason", "\"command\"", F_STR, false },
	{ M_GRANT, "seq", "9", F_INT, true },
	{ M_GRANT, "group", "\"g1\"", F_STR, true },
	{ M_GRANT, "epoch", "4", F_INT, true },
	{ M_GRANT, "leader", "\"n1\"", F_STR, false },
	{ M_GRANT, "lease_ms", "2000", F_INT, true },
	{ M_COMMAND, "cmd_id", "12", F_INT, true },
	{ M_COMMAND, "hook", "\"fence\"", F_STR, true },
	{ M_COMMAND, "group", "\"g1\"", F_STR, true },
	{ M_COMMAND, "epoch", "4", F_INT, true },
	{ M_COMMAND, "old_leader", "\"n2\"", F_STR, false },
	{ M_COMMAND, "reason", "\"automatic failover\"", F_STR, false },
	{ M_OCOMMAND, "id", "5", F_INT, true },
	{ M_OCOMMAND, "verb", "\"failover\"", F_STR, true },
	{ M_OCOMMAND, "group", "\"g1\"", F_STR, true },
	{ M_OCOMMAND, "to", "\"n2\"", F_STR, false },
	{ M_OCOMMAND, "reason", "\"planned maintenance\"", F_STR, true },
	{ M_OCOMMAND, "for_ms", "60000", F_INT, false },
	{ M_OCOMMAND, "alert", "\"17\"", F_STR, false },
	{ M_OCOMMAND, "rule", "\"node_failed\"", F_STR, false },
	{ M_OCOMMAND, "silence_id", "7", F_INT, false },
};

/* Build message m from its good fields; the field named key is left out
 * (val NULL) or given the JSON text val. */
static size_t build(char *buf, size_t cap, enum msg m, const char *key, const char *val)
{
	size_t len = 0;
	int n;

	n = snprintf(buf, cap, "{\"type\":\"%s\"", msgs[m].type);
	ck_assert(n > 0 && (size_t)n < cap);
	len = (size_t)n;
	for (int i = 0; i < N(fields); i++) {
		const char *v = fields[i].good;

		if (fields[i].msg != m)
			continue;
		if (key && strcmp(fields[i].key, key) == 0) {
			if (!val)
				continue;
			v = val;
		}
		n = snprintf(buf + len, cap - len, ",\"%s\":%s", fields[i].key, v);
		ck_assert(n > 0 && (size_t)n < cap - len);
		len += (size_t)n;
	}
	ck_assert_uint_lt(len + 1, cap);
	buf[len++] = '}';
	buf[len] = '\0';
	return len;
}

START_TEST(test_message_valid)
{
	char buf[1024], err[256] = "";
	size_t len = build(buf, sizeof buf, (enum msg)_i, NULL, NULL);

	ck_assert_msg(decode_exact(msgs[_i].dec, buf, len, err, sizeof err) == PROTO_OK,
		      "%s refused: %s", buf, err);
}
END_TEST

START_TEST(test_field_missing)
{
	const struct fdef *f = &fields[_i];
	char buf[1024], err[256] = "";
	size_t len = build(buf, sizeof buf, f->msg, f->key, NULL);
	enum proto_err rc = decode_exact(msgs[f->msg].dec, buf, len, err, sizeof err);

	if (f->required) {
		char want[80];

		ck_assert_msg(rc == PROTO_E_FIELD, "%s: got %d (%s)", buf, rc, err);
		snprintf(want, sizeof want, "field '%s': required", f->key);
		assert_mentions(err, want, buf);
	} else {
		ck_assert_msg(rc == PROTO_OK, "%s: optional field missing refused: %s", buf, err);
	}
}
END_TEST

/* null counts as absent. */
START_TEST(test_field_null)
{
	const struct fdef *f = &fields[_i];
	char buf[1024], err[256] = "";
	size_t len = build(buf, sizeof buf, f->msg, f->key, "null");
	enum proto_err rc = decode_exact(msgs[f->msg].dec, buf, len, err, sizeof err);

	if (f->required) {
		ck_assert_msg(rc == PROTO_E_FIELD, "%s: got %d", buf, rc);
		assert_mentions(err, f->key, buf);
	} else {
		ck_assert_msg(rc == PROTO_OK, "%s: %s", buf, err);
	}
}
END_TEST

START_TEST(test_field_wrong_type)
{
	static const char *const not_int[] = { "\"7\"", "\"\"", "true", "false", "[]", "[7]", "{}",
					       "{\"v\":7}" };
	static const char *const not_str[] = { "7", "0", "-1.5", "true", "false", "[]", "[\"n1\"]",
					       "{}", "{\"s\":\"n1\"}" };
	static const char *const not_obj[] = { "7", "\"x\"", "true", "[]", "[{}]" };
	const struct fdef *f = &fields[_i];
	const char *const *bad;
	int nbad;

	switch (f->kind) {
	case F_INT: bad = not_int; nbad = N(not_int); break;
	case F_STR: bad = not_str; nbad = N(not_str); break;
	default: bad = not_obj; nbad = N(not_obj); break;
	}
	for (int k = 0; k < nbad; k++) {
		char buf[1024], err[256] = "", want[80];
		size_t len = build(buf, sizeof buf, f->msg, f->key, bad[k]);
		enum proto_err rc = decode_exact(msgs[f->msg].dec, buf, len, err, sizeof err);

		ck_assert_msg(rc == PROTO_E_FIELD, "%s accepted or wrong code %d (%s)", buf, rc, err);
		snprintf(want, sizeof want, "field '%s'", f->key);
		assert_mentions(err, want, buf);
	}
}
END_TEST

/* ---------------------------------------------------------------------------
 * Value checks: ranges, names, text
 * ------------------------------------------------------------------------ */

struct value_case {
	enum msg msg;
	const char *key;
	const char *val;      /* JSON text */
	bool ok;
	const char *what;     /* refused: the error must contain "field 'what'" */
};

static const struct value_case values[] = {
	/* integers */
	{ M_HB, "seq", "0", true, NULL },
	{ M_HB, "seq", "9007199254740992", true, NULL },
	{ M_HB, "seq", "-1", false, "seq" },
	{ M_HB, "seq", "1.5", false, "seq" },
	{ M_HB, "seq", "9007199254740994", false, "seq" },
	{ M_HB, "seq", "1e16", false, "seq" },
	{ M_HB, "seq", "1e400", false, "seq" },
	{ M_HB, "seq", "-1e400", false, "seq" },
	{ M_HB, "seq", "7.0", true, NULL },
	{ M_HB, "seq", "7e0", true, NULL },
	{ M_HB, "sent_ms", "-5", false, "sent_ms" },
	{ M_HELLO, "priority", "0", true, NULL },
	{ M_HELLO, "priority", "1000000", true, NULL },
	{ M_HELLO, "priority", "1000001", false, "priority" },
	{ M_HELLO, "priority", "-1", false, "priority" },
	{ M_HELLO, "priority", "2.5", false, "priority" },
	{ M_HELLO, "interval_ms", "50", true, NULL },
	{ M_HELLO, "interval_ms", "60000", true, NULL },
	{ M_HELLO, "interval_ms", "49", false, "interval_ms" },
	{ M_HELLO, "interval_ms", "60001", false, "interval_ms" },
	{ M_HELLO, "interval_ms", "0", false, "interval_ms" },
	{ M_HELLO, "v", "2", false, "v" },
	{ M_HELLO, "v", "0", false, "v" },
	{ M_HELLO, "v", "1.5", false, "v" },
	{ M_HELLO, "v", "1e400", false, "v" },
	{ M_EVENT, "seq", "0", false, "seq" },
	{ M_EVENT, "seq", "1", true, NULL },
	{ M_EVENT, "ts_ms", "0", true, NULL },
	{ M_WELCOME, "interval_ms", "49", false, "interval_ms" },
	{ M_WELCOME, "interval_ms", "60001", false, "interval_ms" },
	{ M_WELCOME, "last_event_seq", "0", true, NULL },
	{ M_WELCOME, "last_event_seq", "-1", false, "last_event_seq" },
	{ M_ACK, "seq", "0", true, NULL },
	{ M_ACK, "seq", "-1", false, "seq" },
	{ M_ACK, "seq", "1e400", false, "seq" },
	{ M_SUBSCRIBE, "id", "0", true, NULL },
	{ M_SUBSCRIBE, "id", "-1", false, "id" },
	{ M_SUBSCRIBE, "id", "0.5", false, "id" },
	{ M_QUERY, "limit", "1", true, NULL },
	{ M_QUERY, "limit", "10000", true, NULL },
	{ M_QUERY, "limit", "0", false, "limit" },
	{ M_QUERY, "limit", "10001", false, "limit" },
	{ M_QUERY, "kind", "\"state,flap\"", true, NULL },
	{ M_QUERY, "kind", "\"transition\"", false, "kind" },
	{ M_QUERY, "kind", "\"state,\"", false, "kind" },
	{ M_QUERY, "kind", "\"\"", false, "kind" },
	/* leadership */
	{ M_HELLO, "role", "\"follower\"", true, NULL },
	{ M_HELLO, "role", "\"claiming\"", false, "role" },
	{ M_HB, "role", "\"leader\"", true, NULL },
	{ M_HB, "role", "\"boss\"", false, "role" },
	{ M_HB, "epoch", "-1", false, "epoch" },
	{ M_HOOK, "hook", "\"reboot\"", false, "hook" },
	{ M_HOOK, "rc", "-2", true, NULL },
	{ M_HOOK, "rc", "255", true, NULL },
	{ M_HOOK, "rc", "-3", false, "rc" },
	{ M_HOOK, "rc", "256", false, "rc" },
	{ M_HOOK, "output", "\"bell \\u0007\"", false, "output" },
	{ M_GRANT, "leader", "\"\"", true, NULL },
	{ M_GRANT, "leader", "\"a b\"", false, "leader" },
	{ M_GRANT, "lease_ms", "3600001", false, "lease_ms" },
	{ M_COMMAND, "epoch", "0", false, "epoch" },
	{ M_COMMAND, "cmd_id", "0", false, "cmd_id" },
	{ M_COMMAND, "hook", "\"promote\"", true, NULL },
	{ M_OCOMMAND, "verb", "\"reboot\"", false, "verb" },
	{ M_OCOMMAND, "verb", "\"maintenance\"", false, "node" },
	{ M_OCOMMAND, "verb", "\"pause\"", true, NULL },
	{ M_OCOMMAND, "reason", "\"   \"", false, "reason" },
	{ M_OCOMMAND, "reason", "\"\"", false, "reason" },
	{ M_OCOMMAND, "for_ms", "-1", false, "for_ms" },
	/* alerts */
	{ M_OCOMMAND, "verb", "\"ack\"", true, NULL },
	{ M_OCOMMAND, "verb", "\"silence_add\"", true, NULL },
	{ M_OCOMMAND, "verb", "\"silence_expire\"", true, NULL },
	{ M_OCOMMAND, "silence_id", "0", false, "silence_id" },
	{ M_OCOMMAND, "silence_id", "7", true, NULL },
	{ M_OCOMMAND, "alert", "\"node_failed{node=\\\"db1\\\"}\"", true, NULL },
	{ M_OCOMMAND, "alert", "\"bell \\u0007\"", false, "alert" },
	{ M_OCOMMAND, "rule", "\"a b\"", false, "rule" },
	{ M_OCOMMAND, "rule", "\"node_failed\"", true, NULL },
	{ M_QUERY, "what", "\"alerts\"", true, NULL },
	{ M_QUERY, "what", "\"silences\"", true, NULL },
	/* enumerated names */
	{ M_EVENT, "severity", "\"info\"", true, NULL },
	{ M_EVENT, "severity", "\"critical\"", true, NULL },
	{ M_EVENT, "severity", "\"fatal\"", false, "severity" },
	{ M_EVENT, "severity", "\"INFO\"", false, "severity" },
	{ M_EVENT, "severity", "\"warning-and-more-than-15\"", false, "severity" },
	{ M_QUERY, "what", "\"status\"", true, NULL },
	{ M_QUERY, "what", "\"nodes\"", false, "what" },
	/* names */
	{ M_HELLO, "node", "\"a b\"", false, "node" },
	{ M_HELLO, "node", "\"a/b\"", false, "node" },
	{ M_HELLO, "node", "\"..\\/etc\"", false, "node" },
	{ M_HELLO, "node", "\"n\\u00e9\"", false, "node" },
	{ M_HELLO, "node", "\"n\xc3\xa9\"", false, "node" },
	{ M_HELLO, "node", "\"\"", false, "node" },
	{ M_HELLO, "node", "\"a:b\"", false, "node" },
	{ M_HELLO, "node", "\"a\\nb\"", false, "node" },
	{ M_HELLO, "node", "\"A-z_0.9\"", true, NULL },
	{ M_HELLO, "group", "\"g 1\"", false, "group" },
	{ M_HELLO, "boot_id", "\"b;1\"", false, "boot_id" },
	{ M_EVENT, "name", "\"check failed\"", false, "name" },
	{ M_WELCOME, "collector", "\"c/1\"", false, "collector" },
	{ M_ERROR, "code", "\"bad json\"", false, "code" },
	{ M_QUERY, "node", "\"\"", false, "node" },
	{ M_QUERY, "kind", "\"a b\"", false, "kind" },
	/* text */
	{ M_HELLO, "version", "\"1.2.3 (build 7) \\u00e9\\u20ac\"", true, NULL },
	{ M_HELLO, "version", "\"v\\u0001\"", false, "version" },
	{ M_HELLO, "version", "\"0.1.0-with-a-long-suffix-of-33-bb\"", false, "version" },
	{ M_HELLO, "version", "\"0.1.0-with-a-long-suffix-of-32-b\"", true, NULL },
	{ M_EVENT, "text", "\"\"", true, NULL },
	{ M_EVENT, "text", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", true, NULL },
	{ M_EVENT, "text", "\"\\ud83d\\ude00 ok\"", true, NULL },
	{ M_EVENT, "text", "\"line\\nbreak\"", false, "text" },
	{ M_EVENT, "text", "\"tab\\there\"", false, "text" },
	{ M_EVENT, "text", "\"bell\\u0007\"", false, "text" },
	{ M_EVENT, "text", "\"del\\u007f\"", false, "text" },
	{ M_EVENT, "text", "\"esc\x1b[31m\"", false, "text" },
	{ M_EVENT, "text", "\"bad \xff byte\"", false, "text" },
	{ M_EVENT, "text", "\"overlong \xc0\xaf\"", false, "text" },
	{ M_EVENT, "text", "\"cut \xe2\x82\"", false, "text" },
	{ M_EVENT, "text", "\"surrogate \xed\xa0\x80\"", false, "text" },
	{ M_BYE, "reason", "\"nl\\r\"", false, "reason" },
	{ M_BYE, "reason", "\"\xf4\x90\x80\x80\"", false, "reason" },
	{ M_ERROR, "message", "\"\\u0002\"", false, "message" },
	/* metrics */
	{ M_HB, "metrics", "{}", true, NULL },
	{ M_HB, "metrics", "{\"cpu\":0,\"mem\":100,\"load1\":0,\"disk\":100}", true, NULL },
	{ M_HB, "metrics", "{\"cpu\":null,\"mem\":null,\"load1\":null,\"disk\":null,\"app\":null}",
	  true, NULL },
	{ M_HB, "metrics", "{\"cpu\":100.5}", false, "cpu" },
	{ M_HB, "metrics", "{\"cpu\":-0.1}", false, "cpu" },
	{ M_HB, "metrics", "{\"cpu\":1e400}", false, "cpu" },
	{ M_HB, "metrics", "{\"cpu\":\"12\"}", false, "cpu" },
	{ M_HB, "metrics", "{\"mem\":101}", false, "mem" },
	{ M_HB, "metrics", "{\"mem\":true}", false, "mem" },
	{ M_HB, "metrics", "{\"load1\":-1}", false, "load1" },
	{ M_HB, "metrics", "{\"load1\":1e400}", false, "load1" },
	{ M_HB, "metrics", "{\"load1\":[]}", false, "load1" },
	{ M_HB, "metrics", "{\"disk\":100.01}", false, "disk" },
	{ M_HB, "metrics", "{\"disk\":{}}", false, "disk" },
	{ M_HB, "metrics", "{\"app\":{}}", true, NULL },
	{ M_HB, "metrics", "{\"app\":{\"req.total\":1e15,\"neg-ok\":-3.25}}", true, NULL },
	{ M_HB, "metrics", "{\"app\":{\"q\":\"3\"}}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"app\":{\"q\":true}}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"app\":{\"q\":null}}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"app\":{\"q\":{}}}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"app\":{\"q\":1e400}}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"app\":{\"bad name\":1}}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"app\":{\"\":1}}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"app\":[1,2]}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"app\":3}", false, "metrics.app" },
	{ M_HB, "metrics", "{\"cpu\":1,\"gpu\":{\"x\":[1]},\"future\":\"field\"}", true, NULL },
};

START_TEST(test_value)
{
	const struct value_case *c = &values[_i];
	char buf[1024], err[256] = "";
	size_t len = build(buf, sizeof buf, c->msg, c->key, c->val);
	enum proto_err rc = decode_exact(msgs[c->msg].dec, buf, len, err, sizeof err);

	if (c->ok) {
		ck_assert_msg(rc == PROTO_OK, "%s refused: %s", buf, err);
	} else {
		char want[80];

		ck_assert_msg(rc == PROTO_E_FIELD, "%s: got %d (%s)", buf, rc, err);
		snprintf(want, sizeof want, "field '%s'", c->what);
		assert_mentions(err, want, buf);
	}
}
END_TEST

/* Names: exactly 64 characters pass, 65 do not, in every name field. */
static const struct {
	enum msg msg;
	const char *key;
} name_fields[] = {
	{ M_HELLO, "node" }, { M_HELLO, "group" }, { M_HELLO, "boot_id" }, { M_EVENT, "name" },
	{ M_WELCOME, "node" }, { M_WELCOME, "collector" }, { M_QUERY, "node" },
};

START_TEST(test_name_length)
{
	char name[80], val[100], buf[1024], err[256] = "";
	size_t len;

	snprintf(val, sizeof val, "\"%s\"", rep(name, sizeof name, 'x', 64));
	len = build(buf, sizeof buf, name_fields[_i].msg, name_fields[_i].key, val);
	ck_assert_msg(decode_exact(msgs[name_fields[_i].msg].dec, buf, len, err, sizeof err) ==
		      PROTO_OK, "%s: %s", buf, err);

	snprintf(val, sizeof val, "\"%s\"", rep(name, sizeof name, 'x', 65));
	len = build(buf, sizeof buf, name_fields[_i].msg, name_fields[_i].key, val);
	ck_assert_int_eq(decode_exact(msgs[name_fields[_i].msg].dec, buf, len, err, sizeof err),
			 PROTO_E_FIELD);
	assert_mentions(err, name_fields[_i].key, buf);
	assert_mentions(err, "{1,64}", buf);
}
END_TEST

/* Text: PROTO_TEXT_MAX bytes pass (in multi-byte characters too), one more
 * does not. */
START_TEST(test_text_length)
{
	static char text[2 * PROTO_TEXT_MAX], val[2 * PROTO_TEXT_MAX + 8], buf[4 * PROTO_TEXT_MAX];
	struct agent_msg m;
	char err[256] = "";
	size_t len;

	snprintf(val, sizeof val, "\"%s\"", rep(text, sizeof text, 't', PROTO_TEXT_MAX));
	len = build(buf, sizeof buf, M_EVENT, "text", val);
	ck_assert_msg(proto_decode_agent(buf, len, &m, err, sizeof err) == PROTO_OK, "%s", err);
	ck_assert_uint_eq(strlen(m.u.event.text), PROTO_TEXT_MAX);

	snprintf(val, sizeof val, "\"%s\"", rep(text, sizeof text, 't', PROTO_TEXT_MAX + 1));
	len = build(buf, sizeof buf, M_EVENT, "text", val);
	ck_assert_int_eq(proto_decode_agent(buf, len, &m, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'text'", "1025 bytes");
	assert_mentions(err, "1024", "1025 bytes");

	/* 512 two-byte characters = 1024 bytes */
	text[0] = '\0';
	for (int i = 0; i < PROTO_TEXT_MAX / 2; i++)
		strcat(text, "\xc3\xa9");
	snprintf(val, sizeof val, "\"%s\"", text);
	len = build(buf, sizeof buf, M_BYE, "reason", val);
	ck_assert_msg(proto_decode_agent(buf, len, &m, err, sizeof err) == PROTO_OK, "%s", err);
	ck_assert_str_eq(m.u.bye.reason, text);
	strcat(text, "e");
	snprintf(val, sizeof val, "\"%s\"", text);
	len = build(buf, sizeof buf, M_BYE, "reason", val);
	ck_assert_int_eq(proto_decode_agent(buf, len, &m, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'reason'", "1025 bytes");
}
END_TEST

/* App counters: 64 pass, 65 do not. */
static size_t build_app(char *buf, size_t cap, int napp)
{
	char metrics[4096];
	size_t len;

	len = (size_t)snprintf(metrics, sizeof metrics, "{\"app\":{");
	for (int i = 0; i < napp; i++)
		len += (size_t)snprintf(metrics + len, sizeof metrics - len, "%s\"c%d\":%d",
					i ? "," : "", i, i * 10);
	ck_assert_uint_lt(len + 3, sizeof metrics);
	strcat(metrics, "}}");
	return build(buf, cap, M_HB, "metrics", metrics);
}

START_TEST(test_app_counter_limit)
{
	char buf[8192], err[256] = "";
	struct agent_msg m;
	size_t len;

	len = build_app(buf, sizeof buf, PROTO_APP_MAX);
	ck_assert_msg(proto_decode_agent(buf, len, &m, err, sizeof err) == PROTO_OK, "%s", err);
	ck_assert_int_eq(m.u.hb.m.napp, PROTO_APP_MAX);
	ck_assert_str_eq(m.u.hb.m.app[63].name, "c63");
	ck_assert_double_eq(m.u.hb.m.app[63].value, 630.0);

	len = build_app(buf, sizeof buf, PROTO_APP_MAX + 1);
	ck_assert_int_eq(proto_decode_agent(buf, len, &m, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'metrics.app'", "65 counters");
	assert_mentions(err, "64", "65 counters");
}
END_TEST

START_TEST(test_unknown_fields_ignored)
{
	static const char *const frames[] = {
		"{\"type\":\"hello\",\"v\":1,\"node\":\"n1\",\"group\":\"g1\",\"version\":\"1\","
		"\"boot_id\":\"b\",\"interval_ms\":500,\"extra\":{\"nested\":[1,{\"a\":null}]},"
		"\"zzz\":null,\"Node\":\"bad name ignored\",\"tags\":[\"x\"]}",
		"{\"future\":true,\"type\":\"bye\"}",
		"{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"metrics\":{\"cpu\":1,\"temp\":\"hot\"},"
		"\"trace\":\"abc\"}",
	};
	struct agent_msg m;
	char err[256] = "";

	for (int i = 0; i < N(frames); i++)
		ck_assert_msg(agent_s(frames[i], &m, err, sizeof err) == PROTO_OK, "%s: %s",
			      frames[i], err);
	ck_assert_msg(agent_s(frames[0], &m, err, sizeof err) == PROTO_OK, "%s", err);
	ck_assert_int_eq(m.type, AMSG_HELLO);
	ck_assert_str_eq(m.u.hello.node, "n1");
	ck_assert_int_eq(m.u.hello.priority, 0);         /* optional, absent */
}
END_TEST

/* ---------------------------------------------------------------------------
 * The envelope: size, JSON, type
 * ------------------------------------------------------------------------ */

struct env_case {
	const char *frame;
	enum proto_err want;
	const char *mention;
};

static const struct env_case envelope[] = {
	{ "", PROTO_E_SIZE, "0 bytes" },
	{ "{", PROTO_E_JSON, "not valid JSON" },
	{ "}", PROTO_E_JSON, "not valid JSON" },
	{ "not json", PROTO_E_JSON, "not valid JSON" },
	{ "{\"type\":}", PROTO_E_JSON, "not valid JSON" },
	{ "{\"type\":\"hb\",}", PROTO_E_JSON, "not valid JSON" },
	{ "{'type':'hb'}", PROTO_E_JSON, "not valid JSON" },
	{ "{\"type\":\"hb\"", PROTO_E_JSON, "not valid JSON" },
	{ "{\"type\":\"hb\"} x", PROTO_E_JSON, "not valid JSON" },
	{ "{\"type\":\"hb\"}{}", PROTO_E_JSON, "not valid JSON" },
	{ "{\"type\":\"hb\"},", PROTO_E_JSON, "not valid JSON" },
	{ "{\"type\":\"x\\ud800\"}", PROTO_E_JSON, "not valid JSON" },
	{ "[]", PROTO_E_JSON, "JSON object" },
	{ "[{\"type\":\"hello\"}]", PROTO_E_JSON, "JSON object" },
	{ "\"hello\"", PROTO_E_JSON, "JSON object" },
	{ "42", PROTO_E_JSON, "JSON object" },
	{ "true", PROTO_E_JSON, "JSON object" },
	{ "null", PROTO_E_JSON, "JSON object" },
	{ "{}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"Type\":\"hb\"}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"type\":1}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"type\":null}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"type\":true}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"type\":[\"hb\"]}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"type\":{\"hb\":1}}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"type\":\"\"}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"type\":\"h b\"}", PROTO_E_TYPE, "field 'type'" },
	{ "{\"type\":\"hb\\u0000\"}", PROTO_E_JSON, "\\u0000" },
	{ "{\"type\":\"bye\",\"reason\":\"x\\u0000\\u0001\"}", PROTO_E_JSON, "\\u0000" },
	{ "{\"type\":\"hello\",\"node\":\"n1\\u0000/../x\"}", PROTO_E_JSON, "\\u0000" },
	{ "{\"type\":\"nope\"}", PROTO_E_UNKNOWN, "'nope'" },
	{ "{\"type\":\"HELLO\"}", PROTO_E_UNKNOWN, "'HELLO'" },
};

/* Every decoder refuses every envelope error the same way. */
START_TEST(test_envelope)
{
	const struct env_case *c = &envelope[_i / 3];
	enum decoder d = (enum decoder)(_i % 3);
	char err[256] = "";
	enum proto_err rc = decode_exact(d, c->frame, strlen(c->frame), err, sizeof err);

	ck_assert_msg(rc == c->want, "%s decoder, '%s': got %d (%s), want %d", decoder_name[d],
		      c->frame, rc, err, c->want);
	assert_mentions(err, c->mention, c->frame);
}
END_TEST

START_TEST(test_trailing_space_ok)
{
	static const char frame[] = " \t\r\n{\"type\":\"bye\"} \t\r\n";
	struct agent_msg m;
	char err[256] = "";

	ck_assert_msg(agent_s(frame, &m, err, sizeof err) == PROTO_OK, "%s", err);
	ck_assert_int_eq(m.type, AMSG_BYE);
	ck_assert_str_eq(m.u.bye.reason, "");
}
END_TEST

/* An escaped backslash before "u0000" is ordinary text, not a NUL. */
START_TEST(test_escaped_backslash_not_nul)
{
	static const char frame[] = "{\"type\":\"bye\",\"reason\":\"a\\\\u0000\\\\\"}";
	struct agent_msg m;
	char err[256] = "";

	ck_assert_msg(agent_s(frame, &m, err, sizeof err) == PROTO_OK, "%s: %s", frame, err);
	ck_assert_str_eq(m.u.bye.reason, "a\\u0000\\");
}
END_TEST

/* Each decoder refuses the other sides' message types. */
static const struct {
	enum decoder dec;
	const char *type;
} foreign[] = {
	{ D_AGENT, "welcome" }, { D_AGENT, "ack" }, { D_AGENT, "error" }, { D_AGENT, "subscribe" },
	{ D_AGENT, "query" }, { D_AGENT, "snapshot" },
	{ D_COLL, "hello" }, { D_COLL, "hb" }, { D_COLL, "event" }, { D_COLL, "bye" },
	{ D_COLL, "query" }, { D_COLL, "delta" },
	{ D_OPER, "hello" }, { D_OPER, "hb" }, { D_OPER, "welcome" }, { D_OPER, "error" },
	{ D_OPER, "result" }, { D_OPER, "snapshot" },
};

START_TEST(test_unknown_type)
{
	char frame[128], err[256] = "", want[64];

	snprintf(frame, sizeof frame, "{\"type\":\"%s\",\"id\":1,\"seq\":1}", foreign[_i].type);
	ck_assert_int_eq(decode_exact(foreign[_i].dec, frame, strlen(frame), err, sizeof err),
			 PROTO_E_UNKNOWN);
	snprintf(want, sizeof want, "'%s'", foreign[_i].type);
	assert_mentions(err, want, frame);
}
END_TEST

static const char hello_frame[] =
	"{\"type\":\"hello\",\"v\":1,\"node\":\"web-1\",\"group\":\"web\",\"priority\":10,"
	"\"version\":\"0.1.0\",\"boot_id\":\"3f2a-77\",\"interval_ms\":500}";

START_TEST(test_frame_size)
{
	char *buf = malloc(PROTO_MAX_FRAME + 2);
	size_t base = strlen(hello_frame);
	struct agent_msg m;
	char err[256] = "";

	ck_assert_ptr_nonnull(buf);
	/* exactly PROTO_MAX_FRAME bytes: the hello padded with white space */
	memcpy(buf, hello_frame, base - 1);
	memset(buf + base - 1, ' ', PROTO_MAX_FRAME - base);
	buf[PROTO_MAX_FRAME - 1] = '}';
	ck_assert_msg(proto_decode_agent(buf, PROTO_MAX_FRAME, &m, err, sizeof err) == PROTO_OK,
		      "%s", err);
	ck_assert_str_eq(m.u.hello.node, "web-1");

	/* one byte more */
	buf[PROTO_MAX_FRAME - 1] = ' ';
	buf[PROTO_MAX_FRAME] = '}';
	for (int d = D_AGENT; d <= D_OPER; d++) {
		err[0] = '\0';
		ck_assert_int_eq(decode((enum decoder)d, buf, PROTO_MAX_FRAME + 1, err, sizeof err),
				 PROTO_E_SIZE);
		assert_mentions(err, "65537 bytes", "a frame of 65537 bytes");
	}
	free(buf);
}
END_TEST

/* Every proper prefix of a valid hello is refused, without reading past it. */
START_TEST(test_truncated)
{
	size_t len = strlen(hello_frame);
	char err[256];

	ck_assert_int_eq(decode_exact(D_AGENT, hello_frame, len, err, sizeof err), PROTO_OK);
	for (size_t l = 0; l < len; l++) {
		enum proto_err rc;

		err[0] = '\0';
		rc = decode_exact(D_AGENT, hello_frame, l, err, sizeof err);
		ck_assert_msg(rc == (l ? PROTO_E_JSON : PROTO_E_SIZE),
			      "prefix of %zu bytes: got %d (%s)", l, rc, err);
		ck_assert_msg(err[0] != '\0', "prefix of %zu bytes: no message", l);
	}
}
END_TEST

/* Every byte of a valid frame replaced by a few hostile values: the decoder
 * must never crash, and a refusal always carries a message. */
START_TEST(test_mutated)
{
	static const unsigned char subst[] = { 0x00, '"', '\\', '{', '}', '[', ',', ':', '9', '-',
					       0x01, 0x7f, 0x80, 0xc3, 0xff };
	size_t len = strlen(hello_frame);
	char *buf = malloc(len);
	char err[256];

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < len; i++) {
		for (int k = 0; k < N(subst); k++) {
			enum proto_err rc;

			memcpy(buf, hello_frame, len);
			buf[i] = (char)subst[k];
			err[0] = '\0';
			rc = decode(D_AGENT, buf, len, err, sizeof err);
			ck_assert(rc >= PROTO_OK && rc <= PROTO_E_FIELD);
			if (rc != PROTO_OK)
				ck_assert_msg(err[0] != '\0', "byte %zu = 0x%02x: no message", i,
					      subst[k]);
		}
	}
	free(buf);
}
END_TEST

START_TEST(test_short_err_buffer)
{
	struct agent_msg m;
	char err[8];

	memset(err, 'x', sizeof err);
	ck_assert_int_eq(agent_s("{\"type\":\"hb\",\"seq\":-1,\"sent_ms\":0}", &m, err, sizeof err),
			 PROTO_E_FIELD);
	ck_assert_uint_lt(strlen(err), sizeof err);
	ck_assert_int_eq(agent_s("[", &m, err, 1), PROTO_E_JSON);
	ck_assert_str_eq(err, "");
}
END_TEST

/* The first failing field is the one reported. */
START_TEST(test_first_error_wins)
{
	struct agent_msg m;
	char err[256] = "";

	ck_assert_int_eq(agent_s("{\"type\":\"hb\",\"seq\":-1,\"sent_ms\":-1,\"metrics\":{\"cpu\":200}}",
				 &m, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'seq'", "two bad fields");
	ck_assert_ptr_null(strstr(err, "sent_ms"));
}
END_TEST

START_TEST(test_err_codes)
{
	ck_assert_str_eq(proto_err_code(PROTO_OK), "ok");
	ck_assert_str_eq(proto_err_code(PROTO_E_SIZE), "too_big");
	ck_assert_str_eq(proto_err_code(PROTO_E_JSON), "bad_json");
	ck_assert_str_eq(proto_err_code(PROTO_E_TYPE), "bad_type");
	ck_assert_str_eq(proto_err_code(PROTO_E_UNKNOWN), "unknown_type");
	ck_assert_str_eq(proto_err_code(PROTO_E_FIELD), "bad_field");
	ck_assert_str_eq(proto_err_code((enum proto_err)99), "error");
}
END_TEST

START_TEST(test_node_states)
{
	static const char *const names[NODE_STATE_COUNT] = { "alive", "suspect", "failed",
							     "degraded", "left", "maintenance" };
	enum node_state s;

	for (int i = 0; i < NODE_STATE_COUNT; i++) {
		ck_assert_str_eq(node_state_name((enum node_state)i), names[i]);
		ck_assert_int_eq(node_state_parse(names[i], &s), 0);
		ck_assert_int_eq(s, i);
	}
	ck_assert_str_eq(node_state_name(NODE_STATE_COUNT), "unknown");
	ck_assert_str_eq(node_state_name((enum node_state)-1), "unknown");
	ck_assert_int_eq(node_state_parse("Alive", &s), -1);
	ck_assert_int_eq(node_state_parse("", &s), -1);
	ck_assert_int_eq(node_state_parse("unknown", &s), -1);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Round trips: encode, then decode
 * ------------------------------------------------------------------------ */

START_TEST(test_rt_hello)
{
	struct proto_hello h = { .node = "web-1", .group = "web", .priority = 1000000,
				 .version = "0.1.0 \"beta\" \xc3\xa9", .boot_id = "3f2a-77",
				 .interval_ms = 60000 };
	char buf[1024], err[256] = "";
	struct agent_msg m;
	int n;

	n = proto_encode_hello(buf, sizeof buf, &h);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	ck_assert_msg(proto_decode_agent(buf, (size_t)n, &m, err, sizeof err) == PROTO_OK, "%s: %s",
		      buf, err);
	ck_assert_int_eq(m.type, AMSG_HELLO);
	ck_assert_str_eq(m.u.hello.node, h.node);
	ck_assert_str_eq(m.u.hello.group, h.group);
	ck_assert_int_eq(m.u.hello.priority, h.priority);
	ck_assert_str_eq(m.u.hello.version, h.version);
	ck_assert_str_eq(m.u.hello.boot_id, h.boot_id);
	ck_assert_int_eq(m.u.hello.interval_ms, h.interval_ms);

	/* the wire text itself */
	h = (struct proto_hello){ .node = "n1", .group = "g1", .priority = 10, .version = "0.1.0",
				  .boot_id = "b-123", .interval_ms = 500 };
	ck_assert_int_gt(proto_encode_hello(buf, sizeof buf, &h), 0);
	ck_assert_str_eq(buf, "{\"type\":\"hello\",\"v\":1,\"node\":\"n1\",\"group\":\"g1\","
			      "\"priority\":10,\"version\":\"0.1.0\",\"boot_id\":\"b-123\","
			      "\"interval_ms\":500}");
}
END_TEST

static void hb_roundtrip(const struct proto_hb *hb, struct proto_hb *out, char *buf, size_t cap)
{
	char err[256] = "";
	struct agent_msg m;
	int n = proto_encode_hb(buf, cap, hb);

	ck_assert_int_gt(n, 0);
	ck_assert_msg(proto_decode_agent(buf, (size_t)n, &m, err, sizeof err) == PROTO_OK, "%s: %s",
		      buf, err);
	ck_assert_int_eq(m.type, AMSG_HB);
	*out = m.u.hb;
}

START_TEST(test_rt_hb_metrics)
{
	struct proto_hb hb = { .seq = 9007199254740992LL, .sent_ms = 1700000000123LL, .rtt_ms = -1,
			       .m = { .cpu_pct = 12.5, .mem_pct = 100, .load1 = 0.25,
				      .disk_pct = 0, .napp = 3 } };
	struct proto_hb out;
	char buf[4096];

	util_strlcpy(hb.m.app[0].name, "req.total", sizeof hb.m.app[0].name);
	hb.m.app[0].value = 1234567890123.0;
	util_strlcpy(hb.m.app[1].name, "lat_p99-ms", sizeof hb.m.app[1].name);
	hb.m.app[1].value = 3.5;
	util_strlcpy(hb.m.app[2].name, "delta", sizeof hb.m.app[2].name);
	hb.m.app[2].value = -42;
	hb_roundtrip(&hb, &out, buf, sizeof buf);
	ck_assert_int_eq(out.seq, hb.seq);
	ck_assert_int_eq(out.sent_ms, hb.sent_ms);
	ck_assert_double_eq(out.m.cpu_pct, 12.5);
	ck_assert_double_eq(out.m.mem_pct, 100);
	ck_assert_double_eq(out.m.load1, 0.25);
	ck_assert_double_eq(out.m.disk_pct, 0);
	ck_assert_int_eq(out.m.napp, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(out.m.app[i].name, hb.m.app[i].name);
		ck_assert_double_eq(out.m.app[i].value, hb.m.app[i].value);
	}
}
END_TEST

START_TEST(test_rt_hb_no_metrics)
{
	struct proto_hb hb = { .seq = 0, .sent_ms = 0, .rtt_ms = -1,
			       .m = { .cpu_pct = NAN, .mem_pct = NAN, .load1 = NAN,
				      .disk_pct = NAN } };
	struct proto_hb out;
	char buf[1024];

	hb_roundtrip(&hb, &out, buf, sizeof buf);
	ck_assert_str_eq(buf, "{\"type\":\"hb\",\"seq\":0,\"sent_ms\":0,\"metrics\":{}}");
	ck_assert_int_eq(out.seq, 0);
	ck_assert(isnan(out.m.cpu_pct) && isnan(out.m.mem_pct));
	ck_assert(isnan(out.m.load1) && isnan(out.m.disk_pct));
	ck_assert_int_eq(out.m.napp, 0);

	/* a heartbeat without a metrics object at all decodes the same */
	{
		struct agent_msg m;
		char err[256] = "";

		ck_assert_int_eq(agent_s("{\"type\":\"hb\",\"seq\":5,\"sent_ms\":6}", &m, err,
					 sizeof err), PROTO_OK);
		ck_assert_int_eq(m.u.hb.seq, 5);
		ck_assert(isnan(m.u.hb.m.cpu_pct) && isnan(m.u.hb.m.disk_pct));
		ck_assert_int_eq(m.u.hb.m.napp, 0);
	}
}
END_TEST

/* NaN (could not read) is left out of the frame, the others go through. */
START_TEST(test_rt_hb_nan_omitted)
{
	struct proto_hb hb = { .seq = 3, .sent_ms = 4, .rtt_ms = -1,
			       .m = { .cpu_pct = NAN, .mem_pct = 40, .load1 = INFINITY,
				      .disk_pct = NAN, .napp = 1 } };
	struct proto_hb out;
	char buf[1024];

	util_strlcpy(hb.m.app[0].name, "q", sizeof hb.m.app[0].name);
	hb.m.app[0].value = 7;
	hb_roundtrip(&hb, &out, buf, sizeof buf);
	ck_assert_ptr_null(strstr(buf, "\"cpu\""));
	ck_assert_ptr_null(strstr(buf, "\"load1\""));
	ck_assert_ptr_null(strstr(buf, "\"disk\""));
	ck_assert_ptr_null(strstr(buf, "null"));
	ck_assert_str_eq(buf, "{\"type\":\"hb\",\"seq\":3,\"sent_ms\":4,"
			      "\"metrics\":{\"mem\":40,\"app\":{\"q\":7}}}");
	ck_assert(isnan(out.m.cpu_pct) && isnan(out.m.load1) && isnan(out.m.disk_pct));
	ck_assert_double_eq(out.m.mem_pct, 40);
	ck_assert_int_eq(out.m.napp, 1);
}
END_TEST

START_TEST(test_rt_hb_full_app)
{
	struct proto_hb hb = { .seq = 1, .sent_ms = 2, .rtt_ms = -1,
			       .m = { .cpu_pct = NAN, .mem_pct = NAN, .load1 = NAN,
				      .disk_pct = NAN, .napp = PROTO_APP_MAX } };
	struct proto_hb out;
	char buf[8192];

	for (int i = 0; i < PROTO_APP_MAX; i++) {
		snprintf(hb.m.app[i].name, sizeof hb.m.app[i].name, "counter_%02d", i);
		hb.m.app[i].value = i * 1.5;
	}
	/* one counter name at the full 64 characters */
	memset(hb.m.app[0].name, 'a', PROTO_NAME_MAX);
	hb.m.app[0].name[PROTO_NAME_MAX] = '\0';
	hb_roundtrip(&hb, &out, buf, sizeof buf);
	ck_assert_int_eq(out.m.napp, PROTO_APP_MAX);
	for (int i = 0; i < PROTO_APP_MAX; i++) {
		ck_assert_str_eq(out.m.app[i].name, hb.m.app[i].name);
		ck_assert_double_eq(out.m.app[i].value, hb.m.app[i].value);
	}
}
END_TEST

START_TEST(test_rt_event)
{
	struct proto_event e = { .seq = 17, .ts_ms = 1700000000999LL, .name = "check_failed",
				 .severity = "critical",
				 .text = "disk \"/var\" at 97% \\ full \xe2\x82\xac <&> /x" };
	char buf[4096], err[256] = "";
	struct agent_msg m;
	int n;

	n = proto_encode_event(buf, sizeof buf, &e);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(proto_decode_agent(buf, (size_t)n, &m, err, sizeof err) == PROTO_OK, "%s: %s",
		      buf, err);
	ck_assert_int_eq(m.type, AMSG_EVENT);
	ck_assert_int_eq(m.u.event.seq, 17);
	ck_assert_int_eq(m.u.event.ts_ms, 1700000000999LL);
	ck_assert_str_eq(m.u.event.name, e.name);
	ck_assert_str_eq(m.u.event.severity, "critical");
	ck_assert_str_eq(m.u.event.text, e.text);

	/* no severity: "info" on the wire and after decoding */
	e.severity[0] = '\0';
	e.text[0] = '\0';
	n = proto_encode_event(buf, sizeof buf, &e);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"severity\":\"info\""));
	ck_assert_int_eq(proto_decode_agent(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	ck_assert_str_eq(m.u.event.severity, "info");
	ck_assert_str_eq(m.u.event.text, "");

	/* severity absent from the frame defaults to info */
	ck_assert_int_eq(agent_s("{\"type\":\"event\",\"seq\":1,\"ts_ms\":2,\"name\":\"x\"}", &m,
				 err, sizeof err), PROTO_OK);
	ck_assert_str_eq(m.u.event.severity, "info");
}
END_TEST

START_TEST(test_rt_bye)
{
	struct proto_bye b = { .reason = "SIGTERM: shutting down \"now\"" };
	char buf[2048], err[256] = "";
	struct agent_msg m;
	int n;

	n = proto_encode_bye(buf, sizeof buf, &b);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(proto_decode_agent(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(m.type, AMSG_BYE);
	ck_assert_str_eq(m.u.bye.reason, b.reason);
}
END_TEST

START_TEST(test_rt_welcome)
{
	struct proto_welcome w = { .node = "web-1", .collector = "c-1a2b3c", .interval_ms = 50,
				   .last_event_seq = 123456789012LL };
	char buf[1024], err[256] = "";
	struct collector_msg m;
	int n;

	n = proto_encode_welcome(buf, sizeof buf, &w);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(proto_decode_collector(buf, (size_t)n, &m, err, sizeof err) == PROTO_OK,
		      "%s: %s", buf, err);
	ck_assert_int_eq(m.type, CMSG_WELCOME);
	ck_assert_str_eq(m.u.welcome.node, w.node);
	ck_assert_str_eq(m.u.welcome.collector, w.collector);
	ck_assert_int_eq(m.u.welcome.interval_ms, 50);
	ck_assert_int_eq(m.u.welcome.last_event_seq, w.last_event_seq);
}
END_TEST

START_TEST(test_rt_leadership)
{
	static struct agent_msg am;
	static struct collector_msg cm;
	static struct proto_hook h;
	struct proto_grant g = { .seq = 9, .group = "pg", .epoch = 7, .leader = "", .lease_ms = 0 };
	struct proto_command c = { .cmd_id = 4000000000001, .hook = "demote", .group = "pg",
				   .epoch = 8, .old_leader = "db-1", .reason = "switchover to db-2" };
	static char buf[8192];
	char err[256] = "";
	int n;

	/* grant: "" = no leader */
	n = proto_encode_grant(buf, sizeof buf, &g);
	ck_assert_str_eq(buf, "{\"type\":\"grant\",\"seq\":9,\"group\":\"pg\",\"epoch\":7,"
			 "\"leader\":\"\",\"lease_ms\":0}");
	ck_assert_int_eq(proto_decode_collector(buf, (size_t)n, &cm, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(cm.type, CMSG_GRANT);
	ck_assert_int_eq(cm.u.grant.epoch, 7);
	ck_assert_str_eq(cm.u.grant.leader, "");

	n = proto_encode_command(buf, sizeof buf, &c);
	ck_assert_int_eq(proto_decode_collector(buf, (size_t)n, &cm, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(cm.type, CMSG_COMMAND);
	ck_assert(cm.u.command.cmd_id == 4000000000001);
	ck_assert_str_eq(cm.u.command.hook, "demote");
	ck_assert_str_eq(cm.u.command.old_leader, "db-1");
	ck_assert_str_eq(cm.u.command.reason, "switchover to db-2");
	ck_assert_int_eq(proto_hook_parse(cm.u.command.hook), 2);
	ck_assert_str_eq(proto_hook_name(2), "demote");
	ck_assert_int_eq(proto_hook_parse("reboot"), 0);

	/* a hook's output: 4 KiB with newlines and tabs */
	memset(&h, 0, sizeof h);
	h.cmd_id = 12;
	util_strlcpy(h.hook, "promote", sizeof h.hook);
	h.epoch = 8;
	h.rc = 3;
	h.duration_ms = 250;
	for (int i = 0; i < PROTO_HOOK_OUTPUT_MAX; i++)
		h.output[i] = i % 64 == 63 ? '\n' : i % 64 == 0 ? '\t' : 'x';
	util_strlcpy(h.reason, "command", sizeof h.reason);
	n = proto_encode_hook(buf, sizeof buf, &h);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(proto_decode_agent(buf, (size_t)n, &am, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(am.type, AMSG_HOOK);
	ck_assert_int_eq(am.u.hook.rc, 3);
	ck_assert_int_eq(am.u.hook.duration_ms, 250);
	ck_assert_str_eq(am.u.hook.output, h.output);
	ck_assert(!am.u.hook.refused);

	/* a refusal carries the newest epoch seen, and must */
	h.refused = true;
	h.seen_epoch = 9;
	h.output[0] = '\0';
	n = proto_encode_hook(buf, sizeof buf, &h);
	ck_assert_int_eq(proto_decode_agent(buf, (size_t)n, &am, err, sizeof err), PROTO_OK);
	ck_assert(am.u.hook.refused);
	ck_assert_int_eq(am.u.hook.seen_epoch, 9);
	ck_assert_int_eq(agent_s("{\"type\":\"hook\",\"cmd_id\":1,\"hook\":\"fence\",\"epoch\":2,"
				 "\"rc\":0,\"refused\":true}", &am, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'seen_epoch': required", "refused hook");
	/* output over 4096 bytes */
	{
		static char big[PROTO_HOOK_OUTPUT_MAX + 200];
		int k = snprintf(big, sizeof big, "{\"type\":\"hook\",\"cmd_id\":1,\"hook\":"
				 "\"fence\",\"epoch\":2,\"rc\":0,\"output\":\"");

		memset(big + k, 'y', PROTO_HOOK_OUTPUT_MAX + 1);
		strcpy(big + k + PROTO_HOOK_OUTPUT_MAX + 1, "\"}");
		ck_assert_int_eq(agent_s(big, &am, err, sizeof err), PROTO_E_FIELD);
		assert_mentions(err, "field 'output'", "long output");
	}

	/* hello and hb carry role and epoch; defaults when absent */
	ck_assert_int_eq(agent_s("{\"type\":\"hello\",\"v\":1,\"node\":\"n\",\"group\":\"g\","
				 "\"version\":\"1\",\"boot_id\":\"b\",\"interval_ms\":500,"
				 "\"role\":\"leader\",\"epoch\":5,\"no_failover\":true}",
				 &am, err, sizeof err), PROTO_OK);
	ck_assert_str_eq(am.u.hello.role, "leader");
	ck_assert_int_eq(am.u.hello.epoch, 5);
	ck_assert(am.u.hello.no_failover);
	ck_assert_int_eq(agent_s("{\"type\":\"hello\",\"v\":1,\"node\":\"n\",\"group\":\"g\","
				 "\"version\":\"1\",\"boot_id\":\"b\",\"interval_ms\":500,"
				 "\"no_failover\":1}", &am, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'no_failover'", "no_failover 1");
	ck_assert_int_eq(agent_s("{\"type\":\"hb\",\"seq\":1,\"sent_ms\":5}", &am, err,
				 sizeof err), PROTO_OK);
	ck_assert_str_eq(am.u.hb.role, "follower");
	ck_assert_int_eq(am.u.hb.epoch, 0);
}
END_TEST

START_TEST(test_rt_oper_command)
{
	struct oper_msg q, d;
	char buf[2048], err[256] = "";
	int n;

	memset(&q, 0, sizeof q);
	q.id = 5;
	util_strlcpy(q.verb, "maintenance", sizeof q.verb);
	util_strlcpy(q.node, "db-2", sizeof q.node);
	q.on = true;
	q.for_ms = 3600000;
	util_strlcpy(q.reason, "kernel upgrade", sizeof q.reason);
	q.dry_run = true;
	n = proto_encode_oper_command(buf, sizeof buf, &q);
	ck_assert_int_eq(proto_decode_oper(buf, (size_t)n, &d, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(d.type, OMSG_COMMAND);
	ck_assert_str_eq(d.verb, "maintenance");
	ck_assert_str_eq(d.node, "db-2");
	ck_assert(d.on && d.dry_run && !d.force);
	ck_assert_int_eq(d.for_ms, 3600000);
	ck_assert_str_eq(d.reason, "kernel upgrade");

	/* verb-specific requirements */
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"switchover\","
				"\"group\":\"g\",\"reason\":\"r\"}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'to': required", "switchover without to");
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"maintenance\","
				"\"node\":\"n\",\"reason\":\"r\"}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'on': required", "maintenance without on");
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"forget\","
				"\"node\":\"n\",\"reason\":\"decommissioned\"}", &d, err, sizeof err),
			 PROTO_OK);
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"pause\","
				"\"group\":\"g\"}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'reason': required", "pause without reason");
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"failover\","
				"\"group\":\"g\",\"reason\":\"r\",\"dry_run\":\"yes\"}", &d, err,
				sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'dry_run'", "dry_run string");

	/* alerts: ack and silences round-trip; a silence needs a matcher and a duration */
	memset(&q, 0, sizeof q);
	q.type = OMSG_COMMAND;
	q.id = 4;
	util_strlcpy(q.verb, "silence_add", sizeof q.verb);
	util_strlcpy(q.rule, "node_failed", sizeof q.rule);
	util_strlcpy(q.group, "db", sizeof q.group);
	q.for_ms = 7200000;
	util_strlcpy(q.reason, "planned work", sizeof q.reason);
	n = proto_encode_oper_command(buf, sizeof buf, &q);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(proto_decode_oper(buf, (size_t)n, &d, err, sizeof err), PROTO_OK);
	ck_assert_str_eq(d.rule, "node_failed");
	ck_assert_str_eq(d.group, "db");
	ck_assert_int_eq(d.for_ms, 7200000);
	memset(&q, 0, sizeof q);
	q.type = OMSG_COMMAND;
	util_strlcpy(q.verb, "ack", sizeof q.verb);
	util_strlcpy(q.alert, "node_failed{group=\"db\",node=\"db1\"}", sizeof q.alert);
	util_strlcpy(q.reason, "on it", sizeof q.reason);
	n = proto_encode_oper_command(buf, sizeof buf, &q);
	ck_assert_int_eq(proto_decode_oper(buf, (size_t)n, &d, err, sizeof err), PROTO_OK);
	ck_assert_str_eq(d.alert, q.alert);
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"silence_add\","
				"\"for_ms\":60000,\"reason\":\"r\"}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "at least one of rule, node, group", "silence without matcher");
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"silence_add\","
				"\"node\":\"n\",\"reason\":\"r\"}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'for_ms': required", "silence without for_ms");
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"ack\","
				"\"alert\":\"\",\"reason\":\"r\"}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'alert'", "ack of nothing");
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"ack\","
				"\"reason\":\"r\"}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'alert': required", "ack without alert");
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"silence_expire\","
				"\"reason\":\"r\"}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'silence_id': required", "expire without id");
	ck_assert_int_eq(oper_s("{\"type\":\"command\",\"id\":1,\"verb\":\"silence_add\","
				"\"node\":\"n\",\"for_ms\":999,\"reason\":\"r\"}", &d, err, sizeof err),
			 PROTO_E_FIELD);
	assert_mentions(err, "field 'for_ms'", "silence shorter than 1 s");
	/* alerts queries: firing is a boolean */
	ck_assert_int_eq(oper_s("{\"type\":\"query\",\"id\":1,\"what\":\"alerts\","
				"\"firing\":true}", &d, err, sizeof err), PROTO_OK);
	ck_assert(d.firing);
	ck_assert_int_eq(oper_s("{\"type\":\"query\",\"id\":1,\"what\":\"alerts\","
				"\"firing\":1}", &d, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'firing'", "firing as a number");
	memset(&q, 0, sizeof q);
	q.type = OMSG_QUERY;
	util_strlcpy(q.what, "alerts", sizeof q.what);
	q.firing = true;
	n = proto_encode_query(buf, sizeof buf, &q);
	ck_assert_int_eq(proto_decode_oper(buf, (size_t)n, &d, err, sizeof err), PROTO_OK);
	ck_assert(d.firing);
	ck_assert_str_eq(d.what, "alerts");
}
END_TEST

START_TEST(test_rt_ack)
{
	struct proto_ack a = { .seq = 41 };
	char buf[128], err[256] = "";
	struct collector_msg m;
	int n;

	n = proto_encode_ack(buf, sizeof buf, &a);
	ck_assert_str_eq(buf, "{\"type\":\"ack\",\"seq\":41}");
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_int_eq(proto_decode_collector(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(m.type, CMSG_ACK);
	ck_assert_int_eq(m.u.ack.seq, 41);
}
END_TEST

START_TEST(test_rt_error)
{
	char buf[2048], err[256] = "";
	struct collector_msg m;
	int n;

	n = proto_encode_error(buf, sizeof buf, "bad_field",
			       "field 'seq': must be an integer in 0..9007199254740992");
	ck_assert_int_gt(n, 0);
	ck_assert_msg(proto_decode_collector(buf, (size_t)n, &m, err, sizeof err) == PROTO_OK,
		      "%s: %s", buf, err);
	ck_assert_int_eq(m.type, CMSG_ERROR);
	ck_assert_str_eq(m.u.error.code, "bad_field");
	ck_assert_str_eq(m.u.error.message,
			 "field 'seq': must be an integer in 0..9007199254740992");
	/* the code is a name of at most 31 characters */
	ck_assert_int_eq(coll_s("{\"type\":\"error\",\"code\":\"an_error_code_longer_than_31_chr\","
				"\"message\":\"m\"}", &m, err, sizeof err), PROTO_E_FIELD);
	assert_mentions(err, "field 'code'", "a 32-byte code");
}
END_TEST

START_TEST(test_rt_subscribe)
{
	char buf[128], err[256] = "";
	struct oper_msg m;
	int n;

	n = proto_encode_subscribe(buf, sizeof buf, 9007199254740992LL);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(proto_decode_oper(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(m.type, OMSG_SUBSCRIBE);
	ck_assert_int_eq(m.id, 9007199254740992LL);
}
END_TEST

START_TEST(test_rt_query)
{
	struct oper_msg q = { .type = OMSG_QUERY, .id = 7, .what = "events", .node = "db-1",
			      .kind = "state,flap", .limit = 1000 };
	char buf[512], err[256] = "";
	struct oper_msg m;
	int n;

	n = proto_encode_query(buf, sizeof buf, &q);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(proto_decode_oper(buf, (size_t)n, &m, err, sizeof err) == PROTO_OK, "%s: %s",
		      buf, err);
	ck_assert_int_eq(m.type, OMSG_QUERY);
	ck_assert_int_eq(m.id, 7);
	ck_assert_str_eq(m.what, "history");          /* "events" is its alias */
	ck_assert_str_eq(m.node, "db-1");
	ck_assert_str_eq(m.kind, "state,flap");
	ck_assert_int_eq(m.limit, 1000);

	/* history with every filter, explain, report, at */
	q = (struct oper_msg){ .type = OMSG_QUERY, .id = 9, .what = "history", .group = "db",
			       .kind = "alert,audit", .limit = 10000, .since_ms = 1000, .until_ms = 2000,
			       .before_id = 77 };
	n = proto_encode_query(buf, sizeof buf, &q);
	ck_assert_msg(proto_decode_oper(buf, (size_t)n, &m, err, sizeof err) == PROTO_OK, "%s", err);
	ck_assert_str_eq(m.group, "db");
	ck_assert_str_eq(m.kind, "alert,audit");
	ck_assert_int_eq(m.limit, 10000);
	ck_assert_int_eq(m.since_ms, 1000);
	ck_assert_int_eq(m.until_ms, 2000);
	ck_assert_int_eq(m.before_id, 77);
	q = (struct oper_msg){ .type = OMSG_QUERY, .id = 10, .what = "explain", .event_id = 123 };
	n = proto_encode_query(buf, sizeof buf, &q);
	ck_assert_int_eq(proto_decode_oper(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(m.event_id, 123);
	q = (struct oper_msg){ .type = OMSG_QUERY, .id = 11, .what = "at", .at_ms = 0 };
	n = proto_encode_query(buf, sizeof buf, &q);
	ck_assert_int_eq(proto_decode_oper(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	ck_assert_str_eq(m.what, "at");
	/* required per query, and since after until */
	{
		static const char *const bad[] = {
			"{\"type\":\"query\",\"id\":1,\"what\":\"history\",\"since_ms\":-5}",
			"{\"type\":\"query\",\"id\":1,\"what\":\"explain\"}",
			"{\"type\":\"query\",\"id\":1,\"what\":\"explain\",\"event_id\":0}",
			"{\"type\":\"query\",\"id\":1,\"what\":\"at\"}",
			"{\"type\":\"query\",\"id\":1,\"what\":\"report\",\"since_ms\":5,\"until_ms\":4}",
		};
		static const char *const field[] = { "'since_ms'", "'event_id'", "'event_id'", "'at_ms'",
						     "'since_ms'" };

		for (int i = 0; i < 5; i++) {
			ck_assert_int_eq(proto_decode_oper(bad[i], strlen(bad[i]), &m, err, sizeof err),
					 PROTO_E_FIELD);
			ck_assert_msg(strstr(err, field[i]), "%s: %s", bad[i], err);
		}
	}

	/* a bare status query: optional fields left out, limit defaults to 100 */
	q = (struct oper_msg){ .type = OMSG_QUERY, .id = 8, .what = "status" };
	n = proto_encode_query(buf, sizeof buf, &q);
	ck_assert_str_eq(buf, "{\"type\":\"query\",\"id\":8,\"what\":\"status\"}");
	ck_assert_int_eq(proto_decode_oper(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	ck_assert_str_eq(m.what, "status");
	ck_assert_str_eq(m.node, "");
	ck_assert_str_eq(m.kind, "");
	ck_assert_int_eq(m.limit, 100);
	ck_assert_int_eq(oper_s("{\"type\":\"query\",\"what\":\"status\"}", &m, err, sizeof err),
			 PROTO_E_FIELD);
	assert_mentions(err, "field 'id'", "a query without id");
}
END_TEST

/* Encoders return -1 for every buffer too small, and fit exactly in len+1. */
START_TEST(test_encode_overflow)
{
	struct proto_hello h = { .node = "n1", .group = "g1", .priority = 1, .version = "v",
				 .boot_id = "b", .interval_ms = 500 };
	struct proto_hb hb = { .seq = 1, .sent_ms = 2, .rtt_ms = -1,
			       .m = { .cpu_pct = 1, .mem_pct = 2, .load1 = 3, .disk_pct = 4,
				      .napp = 1, .app = { { "a", 1 } } } };
	char full[1024], buf[1024];
	int n;

	n = proto_encode_hello(full, sizeof full, &h);
	ck_assert_int_gt(n, 0);
	for (int cap = 0; cap <= n; cap++)
		ck_assert_int_eq(proto_encode_hello(buf, (size_t)cap, &h), -1);
	ck_assert_int_eq(proto_encode_hello(buf, (size_t)n + 1, &h), n);
	ck_assert_str_eq(buf, full);

	n = proto_encode_hb(full, sizeof full, &hb);
	ck_assert_int_gt(n, 0);
	for (int cap = 0; cap <= n; cap++)
		ck_assert_int_eq(proto_encode_hb(buf, (size_t)cap, &hb), -1);
	ck_assert_int_eq(proto_encode_hb(buf, (size_t)n + 1, &hb), n);
	ck_assert_str_eq(buf, full);

	ck_assert_int_eq(proto_encode_error(buf, 10, "bad_json", "a message"), -1);
	ck_assert_int_eq(proto_encode_subscribe(buf, 10, 1), -1);
}
END_TEST

/* ---------------------------------------------------------------------------
 * jsonw
 * ------------------------------------------------------------------------ */

static const struct {
	const char *in, *out;
} escapes[] = {
	{ "", "\"\"" },
	{ "plain", "\"plain\"" },
	{ "a\"b", "\"a\\\"b\"" },
	{ "a\\b", "\"a\\\\b\"" },
	{ "\\\"", "\"\\\\\\\"\"" },
	{ "\n\r\t", "\"\\n\\r\\t\"" },
	{ "\x01", "\"\\u0001\"" },
	{ "a\x1f" "b", "\"a\\u001fb\"" },
	{ "\x08\x0c", "\"\\u0008\\u000c\"" },
	{ "del\x7f", "\"del\\u007f\"" },
	{ "/", "\"/\"" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
	{ "\xff", "\"\xff\"" },   /* bytes >= 0x80 are passed through as they are */
};

START_TEST(test_jw_escape)
{
	char buf[128];
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	jw_str(&w, escapes[_i].in);
	ck_assert_int_eq(jw_finish(&w), (int)strlen(escapes[_i].out));
	ck_assert_str_eq(buf, escapes[_i].out);

	/* keys are escaped the same way: {KEY:1} */
	jw_init(&w, buf, sizeof buf);
	jw_obj_open(&w);
	jw_kint(&w, escapes[_i].in, 1);
	jw_obj_close(&w);
	ck_assert_int_eq(jw_finish(&w), (int)strlen(escapes[_i].out) + 4);
	ck_assert_int_eq(buf[0], '{');
	ck_assert_int_eq(strncmp(buf + 1, escapes[_i].out, strlen(escapes[_i].out)), 0);
	ck_assert_str_eq(buf + 1 + strlen(escapes[_i].out), ":1}");
}
END_TEST

START_TEST(test_jw_escape_key_exact)
{
	char buf[64];
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	jw_obj_open(&w);
	jw_kstr(&w, "k\"\x01", "v\\\n");
	jw_obj_close(&w);
	ck_assert_int_eq(jw_finish(&w), (int)strlen(buf));
	ck_assert_str_eq(buf, "{\"k\\\"\\u0001\":\"v\\\\\\n\"}");
}
END_TEST

START_TEST(test_jw_nesting)
{
	char buf[256];
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	jw_obj_open(&w);
	jw_key(&w, "a");
	jw_arr_open(&w);
	jw_int(&w, 1);
	jw_int(&w, 2);
	jw_obj_open(&w);
	jw_key(&w, "b");
	jw_null(&w);
	jw_obj_close(&w);
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_arr_close(&w);
	jw_key(&w, "c");
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_kbool(&w, "d", true);
	jw_kbool(&w, "e", false);
	jw_key(&w, "f");
	jw_arr_open(&w);
	jw_arr_open(&w);
	jw_str(&w, "x");
	jw_arr_close(&w);
	jw_arr_open(&w);
	jw_bool(&w, true);
	jw_str(&w, NULL);
	jw_arr_close(&w);
	jw_arr_close(&w);
	jw_kstr(&w, "g", "h");
	jw_obj_close(&w);
	ck_assert_int_eq(jw_finish(&w), (int)strlen(buf));
	ck_assert_str_eq(buf, "{\"a\":[1,2,{\"b\":null},[]],\"c\":{},\"d\":true,\"e\":false,"
			      "\"f\":[[\"x\"],[true,\"\"]],\"g\":\"h\"}");
}
END_TEST

START_TEST(test_jw_numbers)
{
	char buf[512];
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	jw_arr_open(&w);
	jw_num(&w, NAN);
	jw_num(&w, INFINITY);
	jw_num(&w, -INFINITY);
	jw_num(&w, 0);
	jw_num(&w, 3);
	jw_num(&w, -2);
	jw_num(&w, 1.5);
	jw_num(&w, 0.25);
	jw_num(&w, 1e20);
	jw_num(&w, 9007199254740991.0);
	jw_int(&w, INT64_MAX);
	jw_int(&w, INT64_MIN);
	jw_int(&w, 0);
	jw_arr_close(&w);
	ck_assert_int_gt(jw_finish(&w), 0);
	ck_assert_str_eq(buf, "[null,null,null,0,3,-2,1.5,0.25,1e+20,9007199254740991,"
			      "9223372036854775807,-9223372036854775808,0]");

	jw_init(&w, buf, sizeof buf);
	jw_obj_open(&w);
	jw_knum(&w, "nan", NAN);
	jw_knum(&w, "x", 2.5);
	jw_obj_close(&w);
	ck_assert_int_gt(jw_finish(&w), 0);
	ck_assert_str_eq(buf, "{\"nan\":null,\"x\":2.5}");
}
END_TEST

/* A fixed buffer holds len+1 bytes exactly; less fails, and stays failed. */
START_TEST(test_jw_fixed_overflow)
{
	static const char want[] = "{\"key\":\"value\",\"n\":12345}";
	char buf[64];
	struct jw w;

	for (size_t cap = 0; cap <= sizeof want; cap++) {
		memset(buf, 'z', sizeof buf);
		jw_init(&w, cap ? buf : NULL, cap);
		jw_obj_open(&w);
		jw_kstr(&w, "key", "value");
		jw_kint(&w, "n", 12345);
		jw_obj_close(&w);
		if (cap < sizeof want) {
			ck_assert_msg(jw_finish(&w) == -1, "cap %zu did not fail", cap);
			ck_assert(w.failed);
			/* never wrote past cap */
			ck_assert_int_eq(buf[cap], 'z');
			if (cap)
				ck_assert_ptr_nonnull(memchr(buf, '\0', cap));
		} else {
			ck_assert_int_eq(jw_finish(&w), (int)strlen(want));
			ck_assert_str_eq(buf, want);
		}
	}
	/* a zero-capacity buffer fails at once */
	jw_init(&w, buf, 0);
	ck_assert_int_eq(jw_finish(&w), -1);
}
END_TEST

START_TEST(test_jw_dynamic)
{
	struct jw w;
	int n;

	jw_init_dynamic(&w, 0);
	ck_assert_ptr_nonnull(w.buf);
	jw_arr_open(&w);
	for (int i = 0; i < 10000; i++)
		jw_int(&w, i);
	jw_arr_close(&w);
	n = jw_finish(&w);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(n, (int)strlen(w.buf));
	/* 10 + 90*2 + 900*3 + 9000*4 digits, 9999 commas, 2 brackets */
	ck_assert_int_eq(n, 10 + 180 + 2700 + 36000 + 9999 + 2);
	ck_assert_int_eq(strncmp(w.buf, "[0,1,2,", 7), 0);
	ck_assert_str_eq(w.buf + n - 11, ",9998,9999]");
	ck_assert(w.dynamic);
	free(w.buf);

	/* one long string, larger than any doubling step */
	{
		static char big[100000];

		memset(big, 'q', sizeof big - 1);
		jw_init_dynamic(&w, 16);
		jw_str(&w, big);
		ck_assert_int_eq(jw_finish(&w), (int)sizeof big + 1);
		ck_assert_int_eq(w.buf[0], '"');
		ck_assert_int_eq(w.buf[sizeof big], '"');
		free(w.buf);
	}
}
END_TEST

/* "NUL-terminated" holds for an empty writer too. */
START_TEST(test_jw_empty)
{
	char buf[4] = "zzz";
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	ck_assert_int_eq(jw_finish(&w), 0);
	ck_assert_str_eq(buf, "");

	jw_init_dynamic(&w, 100);
	ck_assert_int_eq(jw_finish(&w), 0);
	ck_assert_str_eq(w.buf, "");
	free(w.buf);
}
END_TEST

START_TEST(test_jw_raw)
{
	char buf[64];
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	jw_raw(&w, "abc", 3);
	jw_raw(&w, "\"\\", 2);
	jw_raw(&w, "xyz", 0);
	ck_assert_int_eq(jw_finish(&w), 5);
	ck_assert_str_eq(buf, "abc\"\\");
}
END_TEST

/* ---------------------------------------------------------------------------
 * names
 * ------------------------------------------------------------------------ */

static const struct {
	const char *s;
	size_t max;
	bool ok;
} name_vecs[] = {
	{ "a", 64, true },
	{ "A-z_0.9", 64, true },
	{ "...", 64, true },
	{ "-", 64, true },
	{ "abc", 3, true },
	{ "abcd", 3, false },
	{ "", 64, false },
	{ "a b", 64, false },
	{ "a/b", 64, false },
	{ "a\\b", 64, false },
	{ "a:b", 64, false },
	{ "a\tb", 64, false },
	{ "a\n", 64, false },
	{ "n\xc3\xa9", 64, false },
	{ "\xff", 64, false },
	{ "a+b", 64, false },
	{ "a@b", 64, false },
	{ "a~", 64, false },
	{ "a\x7f", 64, false },
};

START_TEST(test_name_vectors)
{
	ck_assert_msg(name_is_valid(name_vecs[_i].s, name_vecs[_i].max) == name_vecs[_i].ok,
		      "name_is_valid(\"%s\", %zu) != %d", name_vecs[_i].s, name_vecs[_i].max,
		      name_vecs[_i].ok);
}
END_TEST

START_TEST(test_name_limits)
{
	char s[80];

	ck_assert(name_is_valid(rep(s, sizeof s, 'x', 64), 64));
	ck_assert(!name_is_valid(rep(s, sizeof s, 'x', 65), 64));
	ck_assert(!name_is_valid(NULL, 64));
	ck_assert(!name_is_valid("a", 0));
}
END_TEST

static const struct {
	const char *s;
	bool ok;
	const char *why;
} text_vecs[] = {
	{ "", true, "empty" },
	{ "Hello, world! ~{}[]\"\\", true, "printable ASCII" },
	{ "caf\xc3\xa9", true, "U+00E9" },
	{ "\xc2\x80", true, "U+0080, smallest 2-byte" },
	{ "\xdf\xbf", true, "U+07FF" },
	{ "\xe0\xa0\x80", true, "U+0800, smallest 3-byte" },
	{ "\xe2\x82\xac", true, "U+20AC" },
	{ "\xed\x9f\xbf", true, "U+D7FF, below the surrogates" },
	{ "\xee\x80\x80", true, "U+E000, above the surrogates" },
	{ "\xef\xbf\xbf", true, "U+FFFF" },
	{ "\xf0\x90\x80\x80", true, "U+10000, smallest 4-byte" },
	{ "\xf0\x9f\x98\x80", true, "U+1F600" },
	{ "\xf4\x8f\xbf\xbf", true, "U+10FFFF, the largest" },
	{ "\x01", false, "U+0001" },
	{ "a\tb", false, "tab" },
	{ "a\nb", false, "newline" },
	{ "a\rb", false, "CR" },
	{ "\x1b[2J", false, "ESC" },
	{ "\x1f", false, "U+001F" },
	{ "\x7f", false, "DEL" },
	{ "\x80", false, "lone continuation byte" },
	{ "a\xbf", false, "lone continuation byte" },
	{ "\xc0\x80", false, "overlong NUL" },
	{ "\xc0\xaf", false, "overlong '/'" },
	{ "\xc1\xbf", false, "overlong 2-byte" },
	{ "\xe0\x80\xaf", false, "overlong 3-byte '/'" },
	{ "\xe0\x9f\xbf", false, "overlong 3-byte U+07FF" },
	{ "\xf0\x80\x80\xaf", false, "overlong 4-byte '/'" },
	{ "\xf0\x8f\xbf\xbf", false, "overlong 4-byte U+FFFF" },
	{ "\xed\xa0\x80", false, "surrogate U+D800" },
	{ "\xed\xaf\xbf", false, "surrogate U+DBFF" },
	{ "\xed\xb0\x80", false, "surrogate U+DC00" },
	{ "\xed\xbf\xbf", false, "surrogate U+DFFF" },
	{ "\xed\xa0\xbd\xed\xb8\x80", false, "CESU-8 surrogate pair" },
	{ "\xf4\x90\x80\x80", false, "U+110000" },
	{ "\xf5\x80\x80\x80", false, "0xf5 lead" },
	{ "\xf8\x88\x80\x80\x80", false, "5-byte form" },
	{ "\xfe", false, "0xfe" },
	{ "\xff", false, "0xff" },
	{ "\xc3", false, "cut 2-byte" },
	{ "\xe2\x82", false, "cut 3-byte" },
	{ "\xf0\x9f\x98", false, "cut 4-byte" },
	{ "\xc3" "a", false, "2-byte lead then ASCII" },
	{ "\xe2\x28\xa1", false, "bad second byte" },
	{ "\xf0\x9f\x28\x80", false, "bad third byte" },
};

START_TEST(test_text_vectors)
{
	/* a heap copy of exactly strlen+1 bytes so a read past the NUL is seen */
	size_t len = strlen(text_vecs[_i].s);
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, text_vecs[_i].s, len + 1);
	ck_assert_msg(text_is_valid(s, 1024) == text_vecs[_i].ok, "text_is_valid(%s) != %d",
		      text_vecs[_i].why, text_vecs[_i].ok);
	free(s);
}
END_TEST

START_TEST(test_text_limits)
{
	ck_assert(text_is_valid("abc", 3));
	ck_assert(!text_is_valid("abcd", 3));
	ck_assert(text_is_valid("\xc3\xa9", 2));     /* max counts bytes */
	ck_assert(!text_is_valid("\xc3\xa9", 1));
	ck_assert(text_is_valid("", 0));
	ck_assert(!text_is_valid(NULL, 10));
}
END_TEST

/* ---------------------------------------------------------------------------
 * util
 * ------------------------------------------------------------------------ */

static const struct {
	const char *s;
	long long min, max;
	int rc;
	long long want;
} int_vecs[] = {
	{ "0", 0, 10, 0, 0 },
	{ "10", 0, 10, 0, 10 },
	{ "7", 7, 7, 0, 7 },
	{ "-5", -10, 10, 0, -5 },
	{ "00042", 0, 100, 0, 42 },
	{ "9223372036854775807", LLONG_MIN, LLONG_MAX, 0, LLONG_MAX },
	{ "-9223372036854775808", LLONG_MIN, LLONG_MAX, 0, LLONG_MIN },
	{ "11", 0, 10, -1, 0 },
	{ "-1", 0, 10, -1, 0 },
	{ "6", 7, 10, -1, 0 },
	{ "9223372036854775808", LLONG_MIN, LLONG_MAX, -1, 0 },
	{ "-9223372036854775809", LLONG_MIN, LLONG_MAX, -1, 0 },
	{ "99999999999999999999", 0, LLONG_MAX, -1, 0 },
	{ "", 0, 10, -1, 0 },
	{ " 5", 0, 10, -1, 0 },
	{ "\t5", 0, 10, -1, 0 },
	{ "\n5", 0, 10, -1, 0 },
	{ "5 ", 0, 10, -1, 0 },
	{ "5\n", 0, 10, -1, 0 },
	{ "5x", 0, 10, -1, 0 },
	{ "x5", 0, 10, -1, 0 },
	{ "0x5", 0, 10, -1, 0 },
	{ "5.0", 0, 10, -1, 0 },
	{ "1e1", 0, 100, -1, 0 },
	{ "-", 0, 10, -1, 0 },
	{ "--5", -10, 10, -1, 0 },
};

START_TEST(test_parse_int)
{
	long long v = -777;
	int rc = util_parse_int(int_vecs[_i].s, int_vecs[_i].min, int_vecs[_i].max, &v);

	ck_assert_msg(rc == int_vecs[_i].rc, "util_parse_int(\"%s\", %lld, %lld) = %d",
		      int_vecs[_i].s, int_vecs[_i].min, int_vecs[_i].max, rc);
	if (rc == 0)
		ck_assert_int_eq(v, int_vecs[_i].want);
	else
		ck_assert_int_eq(v, -777);        /* untouched */
}
END_TEST

START_TEST(test_parse_int_null)
{
	long long v;

	ck_assert_int_eq(util_parse_int(NULL, 0, 10, &v), -1);
}
END_TEST

static const struct {
	const char *s;
	int rc;
	int64_t ms;
} dur_vecs[] = {
	{ "250ms", 0, 250 },
	{ "2s", 0, 2000 },
	{ "1.5s", 0, 1500 },
	{ "0.25s", 0, 250 },
	{ "5m", 0, 300000 },
	{ "1h", 0, 3600000 },
	{ "7d", 0, 604800000 },
	{ "100", 0, 100 },
	{ "0", 0, 0 },
	{ "0s", 0, 0 },
	{ "1.5m", 0, 90000 },
	{ "", -1, 0 },
	{ "-1s", -1, 0 },
	{ "-1", -1, 0 },
	{ "5x", -1, 0 },
	{ "s", -1, 0 },
	{ "ms", -1, 0 },
	{ " 5s", -1, 0 },
	{ "5 s", -1, 0 },
	{ "5s ", -1, 0 },
	{ "5S", -1, 0 },
	{ "5sec", -1, 0 },
	{ "5ms5", -1, 0 },
	{ "1.5.s", -1, 0 },
	{ "nan", -1, 0 },
	{ "inf", -1, 0 },
	{ "1e400", -1, 0 },
	{ "999999999d", -1, 0 },
};

START_TEST(test_parse_duration)
{
	int64_t ms = -777;
	int rc = util_parse_duration_ms(dur_vecs[_i].s, &ms);

	ck_assert_msg(rc == dur_vecs[_i].rc, "util_parse_duration_ms(\"%s\") = %d", dur_vecs[_i].s,
		      rc);
	if (rc == 0)
		ck_assert_int_eq(ms, dur_vecs[_i].ms);
	else
		ck_assert_int_eq(ms, -777);
}
END_TEST

START_TEST(test_parse_duration_null)
{
	int64_t ms;

	ck_assert_int_eq(util_parse_duration_ms(NULL, &ms), -1);
}
END_TEST

static const struct {
	const char *s;
	int rc;
	const char *host;     /* ok: the host; refused: a word the error must hold */
	int port;
} hp_vecs[] = {
	{ "127.0.0.1:7070", 0, "127.0.0.1", 7070 },
	{ "localhost:1", 0, "localhost", 1 },
	{ "my-host.lan:65535", 0, "my-host.lan", 65535 },
	{ "host_1:80", 0, "host_1", 80 },
	{ "[::1]:7070", 0, "::1", 7070 },
	{ "[fe80::1:abcd]:8080", 0, "fe80::1:abcd", 8080 },
	{ "0.0.0.0:7070", 0, "0.0.0.0", 7070 },
	{ "", -1, "empty", 0 },
	{ "host", -1, "HOST:PORT", 0 },
	{ "host:", -1, "port", 0 },
	{ ":7070", -1, "host", 0 },
	{ "host:0", -1, "port", 0 },
	{ "host:65536", -1, "port", 0 },
	{ "host:-1", -1, "port", 0 },
	{ "host:80x", -1, "port", 0 },
	{ "host: 80", -1, "port", 0 },
	{ "host:http", -1, "port", 0 },
	{ "ho st:80", -1, "' '", 0 },
	{ "ho/st:80", -1, "'/'", 0 },
	{ "user@host:80", -1, "'@'", 0 },
	{ "[::1]", -1, "[IPV6]:PORT", 0 },
	{ "[::1]7070", -1, "[IPV6]:PORT", 0 },
	{ "[::1:7070", -1, "[IPV6]:PORT", 0 },
	{ "[]:7070", -1, "host", 0 },
	{ "[::1]:0", -1, "port", 0 },
	{ "[::1]:", -1, "port", 0 },
	{ "[:%1]:80", -1, "'%'", 0 },
};

START_TEST(test_parse_hostport)
{
	char host[64] = "untouched", err[256] = "";
	int port = -1;
	int rc = util_parse_hostport(hp_vecs[_i].s, host, sizeof host, &port, err, sizeof err);

	ck_assert_msg(rc == hp_vecs[_i].rc, "'%s': rc %d (%s)", hp_vecs[_i].s, rc, err);
	if (rc == 0) {
		ck_assert_str_eq(host, hp_vecs[_i].host);
		ck_assert_int_eq(port, hp_vecs[_i].port);
	} else {
		ck_assert_str_eq(host, "untouched");
		ck_assert_int_eq(port, -1);
		assert_mentions(err, hp_vecs[_i].host, hp_vecs[_i].s);
		if (hp_vecs[_i].s[0])
			assert_mentions(err, hp_vecs[_i].s, hp_vecs[_i].s);
	}
}
END_TEST

START_TEST(test_parse_hostport_lengths)
{
	char host[10], err[256] = "";
	int port = 0;

	ck_assert_int_eq(util_parse_hostport("123456789:80", host, sizeof host, &port, err,
					     sizeof err), 0);
	ck_assert_str_eq(host, "123456789");
	ck_assert_int_eq(util_parse_hostport("1234567890:80", host, sizeof host, &port, err,
					     sizeof err), -1);
	assert_mentions(err, "too long", "a 10-byte host");
	ck_assert_int_eq(util_parse_hostport(NULL, host, sizeof host, &port, err, sizeof err), -1);
	assert_mentions(err, "empty", "NULL");
}
END_TEST

/* Token files live in a fresh directory under /tmp per test. */
static char tmpdir[64];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vigil-check-proto-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	static const char *const names[] = { "tok", "loose", "other", "empty", "dir" };
	char p[128];

	for (int i = 0; i < N(names); i++) {
		snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
		if (unlink(p))
			rmdir(p);
	}
	rmdir(tmpdir);
}

/* Write a file in tmpdir with exactly this mode; returns its path. */
static const char *tmp_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static const struct {
	const char *text;
	int rc;
	const char *tok;      /* ok: the token; refused: a word the error must hold */
} token_vecs[] = {
	{ "abcdefghijklmnop1234\n", 0, "abcdefghijklmnop1234" },
	{ "  \n\t abcdefghijklmnop1234  \r\nsecond line ignored\n", 0, "abcdefghijklmnop1234" },
	{ "abcdefghijklmnop", 0, "abcdefghijklmnop" },
	{ "!#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\n", 0, "!#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~" },
	{ "abcdefghijklmno\n", -1, "16 to 256" },
	{ "short\n", -1, "found 5" },
	{ "", -1, "found 0" },
	{ "\n\n  \n", -1, "found 0" },
	{ "abcdefgh ijklmnopqrst\n", -1, "without spaces" },
	{ "abcdefgh\tijklmnopqrst\n", -1, "without spaces" },
	{ "abcdefghijklmnop\x01xyz\n", -1, "printable" },
	{ "abcdefghijklmnop\xc3\xa9xyz\n", -1, "printable" },
};

START_TEST(test_token_file)
{
	char tok[300] = "untouched", err[512] = "";
	bool loose = true;
	const char *path = tmp_file("tok", token_vecs[_i].text, 0600);
	int rc = util_read_token_file(path, tok, sizeof tok, &loose, err, sizeof err);

	ck_assert_msg(rc == token_vecs[_i].rc, "vector %d: rc %d (%s)", _i, rc, err);
	if (rc == 0) {
		ck_assert_str_eq(tok, token_vecs[_i].tok);
		ck_assert(!loose);
	} else {
		ck_assert_str_eq(tok, "untouched");
		assert_mentions(err, path, "a bad token file");
		assert_mentions(err, token_vecs[_i].tok, token_vecs[_i].text);
	}
}
END_TEST

START_TEST(test_token_file_lengths)
{
	char text[300], tok[300], err[512] = "";
	bool loose;
	const char *path;

	path = tmp_file("tok", rep(text, sizeof text, 'k', 256), 0600);
	ck_assert_int_eq(util_read_token_file(path, tok, sizeof tok, &loose, err, sizeof err), 0);
	ck_assert_uint_eq(strlen(tok), 256);

	path = tmp_file("tok", rep(text, sizeof text, 'k', 257), 0600);
	ck_assert_int_eq(util_read_token_file(path, tok, sizeof tok, &loose, err, sizeof err), -1);
	assert_mentions(err, "found 257", "257 bytes");

	/* the caller's buffer is respected too */
	path = tmp_file("tok", rep(text, sizeof text, 'k', 20), 0600);
	ck_assert_int_eq(util_read_token_file(path, tok, 20, &loose, err, sizeof err), -1);
	ck_assert_int_eq(util_read_token_file(path, tok, 21, &loose, err, sizeof err), 0);
	ck_assert_str_eq(tok, text);
}
END_TEST

START_TEST(test_token_file_loose)
{
	static const mode_t modes[] = { 0600, 0400, 0640, 0604, 0660, 0644, 0606 };
	char tok[300], err[512] = "";

	for (int i = 0; i < N(modes); i++) {
		bool loose = !(modes[i] & 077);
		const char *path = tmp_file("loose", "abcdefghijklmnop1234\n", modes[i]);

		ck_assert_int_eq(util_read_token_file(path, tok, sizeof tok, &loose, err, sizeof err),
				 0);
		ck_assert_msg(loose == ((modes[i] & 077) != 0), "mode %o: loose %d", modes[i], loose);
		unlink(path);
	}
}
END_TEST

START_TEST(test_token_file_missing)
{
	char tok[300] = "", err[512] = "", path[160];
	bool loose = false;

	snprintf(path, sizeof path, "%s/does-not-exist", tmpdir);
	ck_assert_int_eq(util_read_token_file(path, tok, sizeof tok, &loose, err, sizeof err), -1);
	assert_mentions(err, path, "a missing file");
	assert_mentions(err, strerror(ENOENT), "a missing file");

	snprintf(path, sizeof path, "%s/dir", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(util_read_token_file(path, tok, sizeof tok, &loose, err, sizeof err), -1);
	assert_mentions(err, path, "a directory");
	assert_mentions(err, "not a regular file", "a directory");
}
END_TEST

static const struct {
	const char *a, *b;
	bool eq;
} secret_vecs[] = {
	{ "abc", "abc", true },
	{ "", "", true },
	{ "abcdefghijklmnop1234", "abcdefghijklmnop1234", true },
	{ "abc", "abd", false },
	{ "abc", "Abc", false },
	{ "abc", "abcd", false },
	{ "abcd", "abc", false },
	{ "", "a", false },
	{ "a", "", false },
	{ "abcabc", "abc", false },
	{ "abc", "abcabc", false },
};

START_TEST(test_secret_eq)
{
	ck_assert_msg(util_secret_eq(secret_vecs[_i].a, secret_vecs[_i].b) == secret_vecs[_i].eq,
		      "util_secret_eq(\"%s\", \"%s\")", secret_vecs[_i].a, secret_vecs[_i].b);
}
END_TEST

static const struct {
	int64_t ms;
	const char *want;
} age_vecs[] = {
	{ -1, "-" },
	{ -5000, "-" },
	{ 0, "0ms" },
	{ 350, "350ms" },
	{ 999, "999ms" },
	{ 1000, "1.0s" },
	{ 4200, "4.2s" },
	{ 59900, "59.9s" },
	{ 59999, "59.9s" },
	{ 60000, "1m00s" },
	{ 61000, "1m01s" },
	{ 190000, "3m10s" },
	{ 3599999, "59m59s" },
	{ 3600000, "1h00m" },
	{ 7500000, "2h05m" },
	{ 86399999, "23h59m" },
	{ 86400000, "1d00h" },
	{ 273600000, "3d04h" },
	{ 3650LL * 86400000, "3650d00h" },
};

START_TEST(test_fmt_age)
{
	char buf[32];

	util_fmt_age(age_vecs[_i].ms, buf, sizeof buf);
	ck_assert_str_eq(buf, age_vecs[_i].want);
}
END_TEST

START_TEST(test_fmt_age_short_buffer)
{
	char buf[4] = "zzz";

	util_fmt_age(190000, buf, sizeof buf);
	ck_assert_str_eq(buf, "3m1");
}
END_TEST

START_TEST(test_strlcpy)
{
	char buf[8];

	memset(buf, 'z', sizeof buf);
	ck_assert_uint_eq(util_strlcpy(buf, "hello", sizeof buf), 5);
	ck_assert_str_eq(buf, "hello");
	ck_assert_uint_eq(util_strlcpy(buf, "hello", 3), 5);
	ck_assert_str_eq(buf, "he");
	ck_assert_uint_eq(util_strlcpy(buf, "1234567", sizeof buf), 7);
	ck_assert_str_eq(buf, "1234567");
	ck_assert_uint_eq(util_strlcpy(buf, "12345678", sizeof buf), 8);
	ck_assert_str_eq(buf, "1234567");
	ck_assert_uint_eq(util_strlcpy(buf, "", sizeof buf), 0);
	ck_assert_str_eq(buf, "");
	buf[0] = 'q';
	ck_assert_uint_eq(util_strlcpy(buf, "abc", 0), 3);
	ck_assert_int_eq(buf[0], 'q');       /* size 0 writes nothing */
	ck_assert_uint_eq(util_strlcpy(buf, "abc", 1), 3);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* ---------------------------------------------------------------------------
 * The suite
 * ------------------------------------------------------------------------ */

/* util_grow: doubles from the first size, keeps the contents, refuses an
 * impossible size without touching the array. */
START_TEST(test_util_grow)
{
	size_t cap = 0, n = 0;
	int *v = NULL, *nv;

	for (int i = 0; i < 100; i++) {
		nv = util_grow(v, &cap, n, sizeof *v, 4);
		ck_assert_ptr_nonnull(nv);
		v = nv;
		v[n++] = i;
		ck_assert_uint_ge(cap, n);
	}
	ck_assert_uint_eq(cap, 128);                 /* 4, 8, ... 128 */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(v[i], i);
	ck_assert_ptr_eq(util_grow(v, &cap, 50, sizeof *v, 4), v);   /* room: unchanged */
	cap = SIZE_MAX / 2 + 1;
	ck_assert_ptr_null(util_grow(v, &cap, cap, sizeof *v, 4));    /* would overflow */
	ck_assert_uint_eq(cap, SIZE_MAX / 2 + 1);
	free(v);
}
END_TEST

/* util_parse_time: every accepted form, and refusals (now = 2026-11-22T12:00Z). */
#define T_NOW 1795348800000LL
static const struct { const char *in; int ok; long long want; } time_vecs[] = {
	{ "now", 1, T_NOW },
	{ "1h", 1, T_NOW - 3600000 },
	{ "90s", 1, T_NOW - 90000 },
	{ "7d", 1, T_NOW - 7 * 86400000LL },
	{ "@1763800000123", 1, 1763800000123LL },
	{ "2026-11-20T10:00Z", 1, 1795168800000LL },
	{ "2026-11-20T10:00:05Z", 1, 1795168805000LL },
	{ "2026-11-20T10:00:05.250Z", 1, 1795168805250LL },
	{ "2026-11-20 10:00", 1, 1795168800000LL },
	{ "2026-11-20", 1, 1795132800000LL },
	{ "2026-11-20T12:00+02:00", 1, 1795168800000LL },
	{ "2026-11-20T04:30-0530", 1, 1795168800000LL },
	{ "", 0, 0 },
	{ "yesterday", 0, 0 },
	{ "2026-13-01", 0, 0 },
	{ "2026-02-31", 0, 0 },
	{ "2026-11-20T25:00Z", 0, 0 },
	{ "2026-11-20T10:00Zjunk", 0, 0 },
	{ "@", 0, 0 },
	{ "@-5", 0, 0 },
	{ "-1h", 0, 0 },
	{ "1e3", 0, 0 },
};

START_TEST(test_parse_time)
{
	int64_t out = -1;
	char err[256] = "";
	int rc = util_parse_time(time_vecs[_i].in, T_NOW, &out, err, sizeof err);

	if (time_vecs[_i].ok) {
		ck_assert_msg(rc == 0, "'%s' refused: %s", time_vecs[_i].in, err);
		ck_assert_int_eq(out, time_vecs[_i].want);
	} else {
		ck_assert_msg(rc == -1, "'%s' accepted as %lld", time_vecs[_i].in, (long long)out);
		ck_assert_msg(err[0], "no reason for '%s'", time_vecs[_i].in);
	}
}
END_TEST

START_TEST(test_fmt_time)
{
	char buf[40];

	util_fmt_time(1795168805250LL, buf, sizeof buf);
	ck_assert_str_eq(buf, "2026-11-20T10:00:05.250Z");
}
END_TEST

Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("fields");
	tcase_add_loop_test(tc, test_message_valid, 0, N(msgs));
	tcase_add_loop_test(tc, test_field_missing, 0, N(fields));
	tcase_add_loop_test(tc, test_field_null, 0, N(fields));
	tcase_add_loop_test(tc, test_field_wrong_type, 0, N(fields));
	tcase_add_loop_test(tc, test_value, 0, N(values));
	tcase_add_loop_test(tc, test_name_length, 0, N(name_fields));
	tcase_add_test(tc, test_text_length);
	tcase_add_test(tc, test_app_counter_limit);
	tcase_add_test(tc, test_unknown_fields_ignored);
	tcase_add_test(tc, test_first_error_wins);
	suite_add_tcase(s, tc);

	tc = tcase_create("envelope");
	tcase_add_loop_test(tc, test_envelope, 0, 3 * N(envelope));
	tcase_add_test(tc, test_trailing_space_ok);
	tcase_add_test(tc, test_escaped_backslash_not_nul);
	tcase_add_loop_test(tc, test_unknown_type, 0, N(foreign));
	tcase_add_test(tc, test_frame_size);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_mutated);
	tcase_add_test(tc, test_short_err_buffer);
	tcase_add_test(tc, test_err_codes);
	tcase_add_test(tc, test_node_states);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip");
	tcase_add_test(tc, test_rt_hello);
	tcase_add_test(tc, test_rt_hb_metrics);
	tcase_add_test(tc, test_rt_hb_no_metrics);
	tcase_add_test(tc, test_rt_hb_nan_omitted);
	tcase_add_test(tc, test_rt_hb_full_app);
	tcase_add_test(tc, test_rt_event);
	tcase_add_test(tc, test_rt_bye);
	tcase_add_test(tc, test_rt_welcome);
	tcase_add_test(tc, test_rt_ack);
	tcase_add_test(tc, test_rt_leadership);
	tcase_add_test(tc, test_rt_oper_command);
	tcase_add_test(tc, test_rt_error);
	tcase_add_test(tc, test_rt_subscribe);
	tcase_add_test(tc, test_rt_query);
	tcase_add_test(tc, test_encode_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("jsonw");
	tcase_add_loop_test(tc, test_jw_escape, 0, N(escapes));
	tcase_add_test(tc, test_jw_escape_key_exact);
	tcase_add_test(tc, test_jw_nesting);
	tcase_add_test(tc, test_jw_numbers);
	tcase_add_test(tc, test_jw_fixed_overflow);
	tcase_add_test(tc, test_jw_dynamic);
	tcase_add_test(tc, test_jw_empty);
	tcase_add_test(tc, test_jw_raw);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_name_vectors, 0, N(name_vecs));
	tcase_add_test(tc, test_name_limits);
	tcase_add_loop_test(tc, test_text_vectors, 0, N(text_vecs));
	tcase_add_test(tc, test_text_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("util");
	tcase_add_test(tc, test_util_grow);
	tcase_add_loop_test(tc, test_parse_time, 0, N(time_vecs));
	tcase_add_test(tc, test_fmt_time);
	tcase_add_loop_test(tc, test_parse_int, 0, N(int_vecs));
	tcase_add_test(tc, test_parse_int_null);
	tcase_add_loop_test(tc, test_parse_duration, 0, N(dur_vecs));
	tcase_add_test(tc, test_parse_duration_null);
	tcase_add_loop_test(tc, test_parse_hostport, 0, N(hp_vecs));
	tcase_add_test(tc, test_parse_hostport_lengths);
	tcase_add_loop_test(tc, test_secret_eq, 0, N(secret_vecs));
	tcase_add_loop_test(tc, test_fmt_age, 0, N(age_vecs));
	tcase_add_test(tc, test_fmt_age_short_buffer);
	tcase_add_test(tc, test_strlcpy);
	suite_add_tcase(s, tc);

	tc = tcase_create("token_file");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_loop_test(tc, test_token_file, 0, N(token_vecs));
	tcase_add_test(tc, test_token_file_lengths);
	tcase_add_test(tc, test_token_file_loose);
	tcase_add_test(tc, test_token_file_missing);
	suite_add_tcase(s, tc);

	return s;
}
