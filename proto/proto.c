/* proto — decode (with validation) and encode the v1 messages.
 *
 * Decoding parses with cJSON and then checks every known field through a
 * few typed getters that write one uniform message on failure:
 *   field 'seq': must be an integer in 0..9007199254740992
 * Encoding uses jsonw, which escapes strings. */
#include "proto/proto.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "proto/jsonw.h"
#include "proto/names.h"
#include "proto/util.h"

static const char *const state_names[NODE_STATE_COUNT] = {
	[NODE_ALIVE] = "alive",
	[NODE_SUSPECT] = "suspect",
	[NODE_FAILED] = "failed",
	[NODE_DEGRADED] = "degraded",
	[NODE_LEFT] = "left",
	[NODE_MAINTENANCE] = "maintenance",
};

const char *node_state_name(enum node_state s)
{
	if ((unsigned)s >= NODE_STATE_COUNT)
		return "unknown";
	return state_names[s];
}

int node_state_parse(const char *name, enum node_state *out)
{
	for (int i = 0; i < NODE_STATE_COUNT; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum node_state)i;
			return 0;
		}
	}
	return -1;
}

const char *check_status_name(enum check_status s)
{
	switch (s) {
	case CHECK_PASSING: return "passing";
	case CHECK_WARNING: return "warning";
	case CHECK_CRITICAL: return "critical";
	}
	return "unknown";
}

double proto_app_value(const struct proto_metrics *m, const char *name)
{
	for (int i = 0; i < m->napp && i < PROTO_APP_MAX; i++)
		if (strcmp(m->app[i].name, name) == 0)
			return m->app[i].value;
	return NAN;
}

const char *proto_err_code(enum proto_err e)
{
	switch (e) {
	case PROTO_OK: return "ok";
	case PROTO_E_SIZE: return "too_big";
	case PROTO_E_JSON: return "bad_json";
	case PROTO_E_TYPE: return "bad_type";
	case PROTO_E_UNKNOWN: return "unknown_type";
	case PROTO_E_FIELD: return "bad_field";
	}
	return "error";
}

/* ---- typed getters ----------------------------------------------------- */

struct dec {
	const cJSON *obj;
	char *err;
	size_t errlen;
	bool failed;
};

static bool fail(struct dec *d, const char *key, const char *what)
{
	if (!d->failed)
		snprintf(d->err, d->errlen, "field '%s': %s", key, what);
	d->failed = true;
	return false;
}

static const cJSON *field(struct dec *d, const char *key, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->obj, key);

	if (v && cJSON_IsNull(v))
		v = NULL;
	if (!v && required)
		fail(d, key, "required");
	return v;
}

/* A name: [A-Za-z0-9._-]{1,64}. */
static bool get_name(struct dec *d, const char *key, bool required, char *dst, size_t dstlen)
{
	const cJSON *v = field(d, key, required);

	if (!v)
		return !required;
	if (!cJSON_IsString(v))
		return fail(d, key, "must be a string");
	if (!name_is_valid(v->valuestring, dstlen - 1)) {
		char what[96];

		snprintf(what, sizeof what, "must match [A-Za-z0-9._-]{1,%zu}", dstlen - 1);
		return fail(d, key, what);
	}
	util_strlcpy(dst, v->valuestring, dstlen);
	return true;
}

/* Printable UTF-8 text of at most dstlen-1 bytes. */
static bool get_text(struct dec *d, const char *key, bool required, char *dst, size_t dstlen)
{
	const cJSON *v = field(d, key, required);

	if (!v)
		return !required;
	if (!cJSON_IsString(v))
		return fail(d, key, "must be a string");
	if (strlen(v->valuestring) > dstlen - 1) {
		char what[64];

		snprintf(what, sizeof what, "longer than %zu bytes", dstlen - 1);
		return fail(d, key, what);
	}
	if (!text_is_valid(v->valuestring, dstlen - 1))
		return fail(d, key, "must be printable UTF-8 without control characters");
	util_strlcpy(dst, v->valuestring, dstlen);
	return true;
}

/* A name, or "" (= none): "leader": "". */
static bool get_optional_name(struct dec *d, const char *key, char *dst, size_t dstlen)
{
	const cJSON *v = field(d, key, false);

	if (v && cJSON_IsString(v) && !v->valuestring[0]) {
		dst[0] = 0;
		return true;
	}
	return get_name(d, key, false, dst, dstlen);
}

/* Text that may hold newlines and tabs (a program's output). */
static bool get_lines(struct dec *d, const char *key, char *dst, size_t dstlen)
{
	const cJSON *v = field(d, key, false);

	if (!v)
		return true;
	if (!cJSON_IsString(v))
		return fail(d, key, "must be a string");
	if (!lines_text_is_valid(v->valuestring, dstlen - 1))
		return fail(d, key, "must be UTF-8 text (newlines and tabs allowed), at most 4096 bytes");
	util_strlcpy(dst, v->valuestring, dstlen);
	return true;
}

static bool get_bool(struct dec *d, const char *key, bool *out)
{
	const cJSON *v = field(d, key, false);

	if (!v)
		return true;
	if (!cJSON_IsBool(v))
		return fail(d, key, "must be true or false");
	*out = cJSON_IsTrue(v);
	return true;
}

/* A string that must be one of a |-separated list, e.g. "follower|leader". */
static bool get_enum(struct dec *d, const char *key, bool required, const char *allowed,
		     char *dst, size_t dstlen)
{
	const cJSON *v = field(d, key, required);
	char what[96];

	if (!v)
		return !required;
	if (cJSON_IsString(v) && name_is_valid(v->valuestring, dstlen - 1)) {
		size_t n = strlen(v->valuestring);

		for (const char *p = allowed; *p; ) {
			const char *e = strchr(p, '|');
			size_t len = e ? (size_t)(e - p) : strlen(p);

			if (len == n && memcmp(p, v->valuestring, n) == 0) {
				util_strlcpy(dst, v->valuestring, dstlen);
				return true;
			}
			p += len + (e != NULL);
		}
	}
	snprintf(what, sizeof what, "must be one of %s", allowed);
	for (char *p = what; *p; p++)
		if (*p == '|')
			*p = ',';
	return fail(d, key, what);
}

int proto_hook_parse(const char *name)
{
	if (strcmp(name, "promote") == 0)
		return 1;
	if (strcmp(name, "demote") == 0)
		return 2;
	if (strcmp(name, "fence") == 0)
		return 3;
	return 0;
}

const char *proto_hook_name(int hook)
{
	static const char *const names[] = { "?", "promote", "demote", "fence" };

	return hook >= 1 && hook <= 3 ? names[hook] : "?";
}

static bool get_int(struct dec *d, const char *key, bool required, double min, double max,
		    int64_t *out)
{
	const cJSON *v = field(d, key, required);
	char what[96];

	if (!v)
		return !required;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < min || v->valuedouble > max) {
		snprintf(what, sizeof what, "must be an integer in %.0f..%.0f", min, max);
		return fail(d, key, what);
	}
	*out = (int64_t)v->valuedouble;
	return true;
}

static bool get_num(struct dec *d, const char *key, double min, double max, double *out)
{
	const cJSON *v = field(d, key, false);
	char what[96];

	*out = NAN;
	if (!v)
		return true;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < min || v->valuedouble > max) {
		snprintf(what, sizeof what, "must be a number in %g..%g", min, max);
		return fail(d, key, what);
	}
	*out = v->valuedouble;
	return true;
}

/* ---- parsing the envelope ---------------------------------------------- */

/* cJSON ends a string at an escaped NUL, so "n1\u0000/x" would pass as the
 * name "n1": refuse the escape.  Called on valid JSON, where every
 * backslash is inside a string. */
static bool has_escaped_nul(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\\')
			continue;
		if (p[i + 1] == 'u' && i + 5 < len && memcmp(p + i + 2, "0000", 4) == 0)
			return true;
		i++;    /* skip the escaped character */
	}
	return false;
}

static enum proto_err parse_envelope(const char *buf, size_t len, cJSON **root,
				     const char **type, char *err, size_t errlen)
{
	const cJSON *t;
	const char *end = NULL;

	*root = NULL;
	if (len == 0 || len > PROTO_MAX_FRAME) {
		snprintf(err, errlen, "message of %zu bytes (must be 1..%d)", len, PROTO_MAX_FRAME);
		return PROTO_E_SIZE;
	}
	*root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!*root) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= buf && at <= buf + len ? (size_t)(at - buf) : 0;

		snprintf(err, errlen, "not valid JSON (near byte %zu)", off);
		return PROTO_E_JSON;
	}
	/* cJSON stops after the first value: anything but white space after it
	 * makes the frame invalid */
	while (end && end < buf + len && (*end == ' ' || *end == '\t' || *end == '\n' ||
					  *end == '\r'))
		end++;
	if (!end || end != buf + len) {
		size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;

		snprintf(err, errlen, "not valid JSON (text after the object, near byte %zu)", off);
		cJSON_Delete(*root);
		*root = NULL;
		return PROTO_E_JSON;
	}
	if (has_escaped_nul(buf, len)) {
		snprintf(err, errlen, "not valid JSON for this protocol: \\u0000 in a string");
		cJSON_Delete(*root);
		*root = NULL;
		return PROTO_E_JSON;
	}
	if (!cJSON_IsObject(*root)) {
		snprintf(err, errlen, "a message must be a JSON object");
		cJSON_Delete(*root);
		*root = NULL;
		return PROTO_E_JSON;
	}
	t = cJSON_GetObjectItemCaseSensitive(*root, "type");
	if (!cJSON_IsString(t) || !name_is_valid(t->valuestring, 32)) {
		snprintf(err, errlen, "field 'type': required, a short name");
		cJSON_Delete(*root);
		*root = NULL;
		return PROTO_E_TYPE;
	}
	*type = t->valuestring;
	return PROTO_OK;
}

static enum proto_err unknown_type(const char *type, const char *accepted, char *err, size_t errlen)
{
	snprintf(err, errlen, "unknown message type '%s' (expected %s)", type, accepted);
	return PROTO_E_UNKNOWN;
}

/* ---- agent -> collector ------------------------------------------------ */

static void dec_hello(struct dec *d, struct proto_hello *h)
{
	int64_t v = 0, prio = 0, interval = 500;

	if (get_int(d, "v", true, 1, 1000, &v) && v != PROTO_VERSION)
		fail(d, "v", "unsupported protocol version (this collector speaks 1)");
	get_name(d, "node", true, h->node, sizeof h->node);
	get_name(d, "group", true, h->group, sizeof h->group);
	get_int(d, "priority", false, 0, PROTO_PRIORITY_MAX, &prio);
	get_text(d, "version", true, h->version, sizeof h->version);
	get_name(d, "boot_id", true, h->boot_id, sizeof h->boot_id);
	get_int(d, "interval_ms", true, PROTO_INTERVAL_MIN_MS, PROTO_INTERVAL_MAX_MS, &interval);
	util_strlcpy(h->role, "follower", sizeof h->role);
	get_enum(d, "role", false, "follower|leader", h->role, sizeof h->role);
	get_int(d, "epoch", false, 0, PROTO_INT_MAX, &h->epoch);
	get_bool(d, "no_failover", &h->no_failover);
	h->priority = (int)prio;
	h->interval_ms = (int)interval;
}

static void dec_metrics(struct dec *d, struct proto_metrics *m)
{
	const cJSON *mo = field(d, "metrics", false), *app, *it;
	struct dec sub = *d;

	m->cpu_pct = m->mem_pct = m->load1 = m->disk_pct = NAN;
	m->napp = 0;
	if (!mo)
		return;
	if (!cJSON_IsObject(mo)) {
		fail(d, "metrics", "must be an object");
		return;
	}
	sub.obj = mo;
	get_num(&sub, "cpu", 0, 100, &m->cpu_pct);
	get_num(&sub, "mem", 0, 100, &m->mem_pct);
	get_num(&sub, "load1", 0, 1e6, &m->load1);
	get_num(&sub, "disk", 0, 100, &m->disk_pct);
	app = field(&sub, "app", false);
	if (app && !sub.failed) {
		if (!cJSON_IsObject(app)) {
			fail(&sub, "metrics.app", "must be an object of name: number");
		} else {
			cJSON_ArrayForEach(it, app) {
				if (m->napp >= PROTO_APP_MAX) {
					fail(&sub, "metrics.app", "more than 64 counters");
					break;
				}
				if (!name_is_valid(it->string, PROTO_NAME_MAX)) {
					fail(&sub, "metrics.app", "counter names must match [A-Za-z0-9._-]{1,64}");
					break;
				}
				if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) {
					fail(&sub, "metrics.app", "counter values must be finite numbers");
					break;
				}
				util_strlcpy(m->app[m->napp].name, it->string, sizeof m->app[0].name);
				m->app[m->napp].value = it->valuedouble;
				m->napp++;
			}
		}
	}
	d->failed = sub.failed;
}

static void dec_checks(struct dec *d, struct proto_hb *hb)
{
	const cJSON *arr = field(d, "checks", false), *it;
	struct dec sub = *d;

	hb->nchecks = 0;
	if (!arr)
		return;
	if (!cJSON_IsArray(arr)) {
		fail(d, "checks", "must be an array");
		return;
	}
	if (cJSON_GetArraySize(arr) > PROTO_CHECKS_MAX) {
		fail(d, "checks", "more than 32 checks");
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		struct proto_check *c = &hb->checks[hb->nchecks];
		char status[16] = "";

		if (!cJSON_IsObject(it)) {
			fail(d, "checks", "each check must be an object");
			return;
		}
		sub.obj = it;
		get_name(&sub, "name", true, c->name, sizeof c->name);
		get_name(&sub, "status", true, status, sizeof status);
		get_text(&sub, "output", false, c->output, sizeof c->output);
		if (sub.failed) {
			d->failed = true;
			return;
		}
		if (strcmp(status, "passing") == 0)
			c->status = CHECK_PASSING;
		else if (strcmp(status, "warning") == 0)
			c->status = CHECK_WARNING;
		else if (strcmp(status, "critical") == 0)
			c->status = CHECK_CRITICAL;
		else {
			fail(d, "checks.status", "must be passing, warning or critical");
			return;
		}
		hb->nchecks++;
	}
}

static void dec_hb(struct dec *d, struct proto_hb *hb)
{
	const cJSON *echo;

	get_int(d, "seq", true, 0, PROTO_INT_MAX, &hb->seq);
	get_int(d, "sent_ms", true, 0, PROTO_INT_MAX, &hb->sent_ms);
	hb->rtt_ms = -1;
	get_int(d, "rtt_ms", false, 0, 3600000, &hb->rtt_ms);
	echo = field(d, "echo", false);
	if (echo && !cJSON_IsBool(echo))
		fail(d, "echo", "must be true or false");
	hb->echo = cJSON_IsTrue(echo);
	util_strlcpy(hb->role, "follower", sizeof hb->role);
	get_enum(d, "role", false, "follower|claiming|leader", hb->role, sizeof hb->role);
	get_int(d, "epoch", false, 0, PROTO_INT_MAX, &hb->epoch);
	if (!d->failed)
		dec_metrics(d, &hb->m);
	if (!d->failed)
		dec_checks(d, hb);
}

static void dec_event(struct dec *d, struct proto_event *e)
{
	get_int(d, "seq", true, 1, PROTO_INT_MAX, &e->seq);
	get_int(d, "ts_ms", true, 0, PROTO_INT_MAX, &e->ts_ms);
	get_name(d, "name", true, e->name, sizeof e->name);
	util_strlcpy(e->severity, "info", sizeof e->severity);
	if (get_name(d, "severity", false, e->severity, sizeof e->severity) && !d->failed &&
	    strcmp(e->severity, "info") && strcmp(e->severity, "warning") &&
	    strcmp(e->severity, "critical"))
		fail(d, "severity", "must be info, warning or critical");
	get_text(d, "text", false, e->text, sizeof e->text);
}

static void dec_hook(struct dec *d, struct proto_hook *h)
{
	int64_t rc = 0;

	get_int(d, "cmd_id", true, 0, PROTO_INT_MAX, &h->cmd_id);
	get_enum(d, "hook", true, "promote|demote|fence", h->hook, sizeof h->hook);
	get_int(d, "epoch", true, 0, PROTO_INT_MAX, &h->epoch);
	get_int(d, "rc", true, -2, 255, &rc);
	h->rc = (int)rc;
	h->duration_ms = -1;
	get_int(d, "duration_ms", false, 0, PROTO_INT_MAX, &h->duration_ms);
	get_lines(d, "output", h->output, sizeof h->output);
	get_name(d, "reason", false, h->reason, sizeof h->reason);
	get_bool(d, "refused", &h->refused);
	get_int(d, "seen_epoch", h->refused, 0, PROTO_INT_MAX, &h->seen_epoch);
}

enum proto_err proto_decode_agent(const char *buf, size_t len, struct agent_msg *out,
				  char *err, size_t errlen)
{
	struct dec d = { .err = err, .errlen = errlen };
	const char *type;
	cJSON *root;
	enum proto_err rc;

	memset(out, 0, sizeof *out);
	rc = parse_envelope(buf, len, &root, &type, err, errlen);
	if (rc)
		return rc;
	d.obj = root;
	if (strcmp(type, "hello") == 0) {
		out->type = AMSG_HELLO;
		dec_hello(&d, &out->u.hello);
	} else if (strcmp(type, "hb") == 0) {
		out->type = AMSG_HB;
		dec_hb(&d, &out->u.hb);
	} else if (strcmp(type, "event") == 0) {
		out->type = AMSG_EVENT;
		dec_event(&d, &out->u.event);
	} else if (strcmp(type, "bye") == 0) {
		out->type = AMSG_BYE;
		get_text(&d, "reason", false, out->u.bye.reason, sizeof out->u.bye.reason);
	} else if (strcmp(type, "hook") == 0) {
		out->type = AMSG_HOOK;
		dec_hook(&d, &out->u.hook);
	} else {
		rc = unknown_type(type, "hello, hb, event, hook or bye", err, errlen);
	}
	cJSON_Delete(root);
	if (rc)
		return rc;
	return d.failed ? PROTO_E_FIELD : PROTO_OK;
}

/* ---- collector -> agent ------------------------------------------------ */

enum proto_err proto_decode_collector(const char *buf, size_t len, struct collector_msg *out,
				      char *err, size_t errlen)
{
	struct dec d = { .err = err, .errlen = errlen };
	const char *type;
	cJSON *root;
	enum proto_err rc;
	int64_t interval = 0;

	memset(out, 0, sizeof *out);
	rc = parse_envelope(buf, len, &root, &type, err, errlen);
	if (rc)
		return rc;
	d.obj = root;
	if (strcmp(type, "welcome") == 0) {
		struct proto_welcome *w = &out->u.welcome;

		out->type = CMSG_WELCOME;
		get_name(&d, "node", true, w->node, sizeof w->node);
		get_name(&d, "collector", true, w->collector, sizeof w->collector);
		get_int(&d, "interval_ms", true, PROTO_INTERVAL_MIN_MS, PROTO_INTERVAL_MAX_MS, &interval);
		get_int(&d, "last_event_seq", true, 0, PROTO_INT_MAX, &w->last_event_seq);
		w->interval_ms = (int)interval;
	} else if (strcmp(type, "ack") == 0) {
		out->type = CMSG_ACK;
		get_int(&d, "seq", true, 0, PROTO_INT_MAX, &out->u.ack.seq);
	} else if (strcmp(type, "hb_ack") == 0) {
		out->type = CMSG_HB_ACK;
		get_int(&d, "seq", true, 0, PROTO_INT_MAX, &out->u.hb_ack.seq);
	} else if (strcmp(type, "error") == 0) {
		out->type = CMSG_ERROR;
		get_name(&d, "code", true, out->u.error.code, sizeof out->u.error.code);
		get_text(&d, "message", true, out->u.error.message, sizeof out->u.error.message);
	} else if (strcmp(type, "grant") == 0) {
		struct proto_grant *g = &out->u.grant;

		out->type = CMSG_GRANT;
		get_int(&d, "seq", true, 0, PROTO_INT_MAX, &g->seq);
		get_name(&d, "group", true, g->group, sizeof g->group);
		get_int(&d, "epoch", true, 0, PROTO_INT_MAX, &g->epoch);
		get_optional_name(&d, "leader", g->leader, sizeof g->leader);
		get_int(&d, "lease_ms", true, 0, 3600000, &g->lease_ms);
	} else if (strcmp(type, "command") == 0) {
		struct proto_command *c = &out->u.command;

		out->type = CMSG_COMMAND;
		get_int(&d, "cmd_id", true, 1, PROTO_INT_MAX, &c->cmd_id);
		get_enum(&d, "hook", true, "promote|demote|fence", c->hook, sizeof c->hook);
		get_name(&d, "group", true, c->group, sizeof c->group);
		get_int(&d, "epoch", true, 1, PROTO_INT_MAX, &c->epoch);
		get_optional_name(&d, "old_leader", c->old_leader, sizeof c->old_leader);
		get_text(&d, "reason", false, c->reason, sizeof c->reason);
	} else {
		rc = unknown_type(type, "welcome, ack, hb_ack, grant, command or error", err, errlen);
	}
	cJSON_Delete(root);
	if (rc)
		return rc;
	return d.failed ? PROTO_E_FIELD : PROTO_OK;
}

/* ---- operator -> collector --------------------------------------------- */

static const char *const kinds[] = {
	"state", "conn", "agent", "flap", "collector", "alert", "failover", "audit", "hook",
};

bool proto_kind_is_valid(const char *kind)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

bool proto_kind_list_is_valid(const char *list)
{
	char buf[128], *save = NULL;
	int n = 0;

	if (strlen(list) >= sizeof buf)
		return false;
	util_strlcpy(buf, list, sizeof buf);
	if (!*buf || buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return false;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), n++)
		if (!proto_kind_is_valid(t))
			return false;
	return n > 0;
}

static void dec_query(struct dec *d, struct oper_msg *q)
{
	const cJSON *k;
	int64_t limit = 100;

	get_name(d, "what", true, q->what, sizeof q->what);
	if (d->failed)
		return;
	if (strcmp(q->what, "events") == 0)
		util_strlcpy(q->what, "history", sizeof q->what);
	if (strcmp(q->what, "status") && strcmp(q->what, "history") && strcmp(q->what, "explain") &&
	    strcmp(q->what, "report") && strcmp(q->what, "at") && strcmp(q->what, "alerts") &&
	    strcmp(q->what, "silences")) {
		fail(d, "what", "must be status, history, explain, report, at, alerts or silences");
		return;
	}
	get_bool(d, "firing", &q->firing);
	get_name(d, "node", false, q->node, sizeof q->node);
	get_name(d, "group", false, q->group, sizeof q->group);
	k = field(d, "kind", false);
	if (k && (!cJSON_IsString(k) || !proto_kind_list_is_valid(k->valuestring)))
		fail(d, "kind", "must be a comma list of state, conn, agent, flap, collector, alert, "
		     "failover, audit, hook");
	else if (k)
		util_strlcpy(q->kind, k->valuestring, sizeof q->kind);
	get_int(d, "limit", false, 1, 10000, &limit);
	q->limit = (int)limit;
	get_int(d, "since_ms", false, 0, PROTO_INT_MAX, &q->since_ms);
	get_int(d, "until_ms", false, 0, PROTO_INT_MAX, &q->until_ms);
	get_int(d, "before_id", false, 0, PROTO_INT_MAX, &q->before_id);
	get_int(d, "event_id", strcmp(q->what, "explain") == 0, 1, PROTO_INT_MAX, &q->event_id);
	get_int(d, "at_ms", strcmp(q->what, "at") == 0, 0, PROTO_INT_MAX, &q->at_ms);
	if (!d->failed && q->since_ms && q->until_ms && q->since_ms > q->until_ms)
		fail(d, "since_ms", "is after until_ms");
}

static void dec_oper_command(struct dec *d, struct oper_msg *q)
{
	const char *v;
	bool need_group, need_node;

	get_enum(d, "verb", true, "failover|switchover|pause|resume|maintenance|forget|ack|"
		 "silence_add|silence_expire", q->verb, sizeof q->verb);
	if (d->failed)
		return;
	v = q->verb;
	if (get_text(d, "alert", strcmp(v, "ack") == 0, q->alert, sizeof q->alert) &&
	    !strcmp(v, "ack") && !q->alert[0])
		fail(d, "alert", "must name an alert (its id or fingerprint)");
	get_optional_name(d, "rule", q->rule, sizeof q->rule);
	get_int(d, "silence_id", strcmp(v, "silence_expire") == 0, 1, PROTO_INT_MAX, &q->silence_id);
	if (strcmp(v, "silence_add") == 0 && !d->failed) {
		get_int(d, "for_ms", true, 1000, 366LL * 24 * 3600 * 1000, &q->for_ms);
		if (!d->failed && !q->rule[0] && !field(d, "node", false) && !field(d, "group", false))
			fail(d, "rule", "a silence needs at least one of rule, node, group");
	}
	need_group = !strcmp(v, "failover") || !strcmp(v, "switchover") || !strcmp(v, "pause") ||
		     !strcmp(v, "resume");
	need_node = !strcmp(v, "maintenance") || !strcmp(v, "forget");
	get_name(d, "group", need_group, q->group, sizeof q->group);
	get_name(d, "node", need_node, q->node, sizeof q->node);
	get_name(d, "to", strcmp(v, "switchover") == 0, q->to, sizeof q->to);
	if (strcmp(v, "maintenance") == 0) {
		const cJSON *on = field(d, "on", true);

		if (on && !cJSON_IsBool(on))
			fail(d, "on", "must be true or false");
		q->on = cJSON_IsTrue(on);
	}
	get_int(d, "for_ms", false, 0, 366LL * 24 * 3600 * 1000, &q->for_ms);
	if (get_text(d, "reason", true, q->reason, sizeof q->reason) && !d->failed) {
		const char *p = q->reason;

		while (*p == ' ')
			p++;
		if (!*p)
			fail(d, "reason", "must say why (not empty)");
	}
	get_bool(d, "dry_run", &q->dry_run);
	get_bool(d, "force", &q->force);
}

enum proto_err proto_decode_oper(const char *buf, size_t len, struct oper_msg *out,
				 char *err, size_t errlen)
{
	struct dec d = { .err = err, .errlen = errlen };
	const char *type;
	cJSON *root;
	enum proto_err rc;

	memset(out, 0, sizeof *out);
	rc = parse_envelope(buf, len, &root, &type, err, errlen);
	if (rc)
		return rc;
	d.obj = root;
	get_int(&d, "id", true, 0, PROTO_INT_MAX, &out->id);
	if (strcmp(type, "subscribe") == 0) {
		out->type = OMSG_SUBSCRIBE;
	} else if (strcmp(type, "query") == 0) {
		out->type = OMSG_QUERY;
		if (!d.failed)
			dec_query(&d, out);
	} else if (strcmp(type, "command") == 0) {
		out->type = OMSG_COMMAND;
		if (!d.failed)
			dec_oper_command(&d, out);
	} else {
		rc = unknown_type(type, "subscribe, query or command", err, errlen);
	}
	cJSON_Delete(root);
	if (rc)
		return rc;
	return d.failed ? PROTO_E_FIELD : PROTO_OK;
}

/* ---- encoding ---------------------------------------------------------- */

int proto_encode_hello(char *buf, size_t cap, const struct proto_hello *h)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "hello");
	jw_kint(&w, "v", PROTO_VERSION);
	jw_kstr(&w, "node", h->node);
	jw_kstr(&w, "group", h->group);
	jw_kint(&w, "priority", h->priority);
	jw_kstr(&w, "version", h->version);
	jw_kstr(&w, "boot_id", h->boot_id);
	jw_kint(&w, "interval_ms", h->interval_ms);
	if (h->role[0] && strcmp(h->role, "follower"))
		jw_kstr(&w, "role", h->role);
	if (h->epoch > 0)
		jw_kint(&w, "epoch", h->epoch);
	if (h->no_failover)
		jw_kbool(&w, "no_failover", true);
	jw_obj_close(&w);
	return jw_finish(&w);
}

static void opt_num(struct jw *w, const char *k, double v)
{
	if (isfinite(v))
		jw_knum(w, k, v);
}

int proto_encode_hb(char *buf, size_t cap, const struct proto_hb *hb)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "hb");
	jw_kint(&w, "seq", hb->seq);
	jw_kint(&w, "sent_ms", hb->sent_ms);
	if (hb->echo)
		jw_kbool(&w, "echo", true);
	if (hb->rtt_ms >= 0)
		jw_kint(&w, "rtt_ms", hb->rtt_ms);
	if (hb->role[0] && strcmp(hb->role, "follower"))
		jw_kstr(&w, "role", hb->role);
	if (hb->epoch > 0)
		jw_kint(&w, "epoch", hb->epoch);
	if (hb->nchecks > 0) {
		jw_key(&w, "checks");
		jw_arr_open(&w);
		for (int i = 0; i < hb->nchecks && i < PROTO_CHECKS_MAX; i++) {
			jw_obj_open(&w);
			jw_kstr(&w, "name", hb->checks[i].name);
			jw_kstr(&w, "status", check_status_name(hb->checks[i].status));
			if (hb->checks[i].output[0])
				jw_kstr(&w, "output", hb->checks[i].output);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
	}
	jw_key(&w, "metrics");
	jw_obj_open(&w);
	opt_num(&w, "cpu", hb->m.cpu_pct);
	opt_num(&w, "mem", hb->m.mem_pct);
	opt_num(&w, "load1", hb->m.load1);
	opt_num(&w, "disk", hb->m.disk_pct);
	if (hb->m.napp > 0) {
		jw_key(&w, "app");
		jw_obj_open(&w);
		for (int i = 0; i < hb->m.napp && i < PROTO_APP_MAX; i++)
			jw_knum(&w, hb->m.app[i].name, hb->m.app[i].value);
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_event(char *buf, size_t cap, const struct proto_event *e)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "event");
	jw_kint(&w, "seq", e->seq);
	jw_kint(&w, "ts_ms", e->ts_ms);
	jw_kstr(&w, "name", e->name);
	jw_kstr(&w, "severity", e->severity[0] ? e->severity : "info");
	jw_kstr(&w, "text", e->text);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_bye(char *buf, size_t cap, const struct proto_bye *b)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "bye");
	jw_kstr(&w, "reason", b->reason);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_hook(char *buf, size_t cap, const struct proto_hook *h)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "hook");
	jw_kint(&w, "cmd_id", h->cmd_id);
	jw_kstr(&w, "hook", h->hook);
	jw_kint(&w, "epoch", h->epoch);
	jw_kint(&w, "rc", h->rc);
	if (h->duration_ms >= 0)
		jw_kint(&w, "duration_ms", h->duration_ms);
	if (h->output[0])
		jw_kstr(&w, "output", h->output);
	if (h->reason[0])
		jw_kstr(&w, "reason", h->reason);
	if (h->refused) {
		jw_kbool(&w, "refused", true);
		jw_kint(&w, "seen_epoch", h->seen_epoch);
	}
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_grant(char *buf, size_t cap, const struct proto_grant *g)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "grant");
	jw_kint(&w, "seq", g->seq);
	jw_kstr(&w, "group", g->group);
	jw_kint(&w, "epoch", g->epoch);
	jw_kstr(&w, "leader", g->leader);
	jw_kint(&w, "lease_ms", g->lease_ms);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_command(char *buf, size_t cap, const struct proto_command *c)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "command");
	jw_kint(&w, "cmd_id", c->cmd_id);
	jw_kstr(&w, "hook", c->hook);
	jw_kstr(&w, "group", c->group);
	jw_kint(&w, "epoch", c->epoch);
	jw_kstr(&w, "old_leader", c->old_leader);
	jw_kstr(&w, "reason", c->reason);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_welcome(char *buf, size_t cap, const struct proto_welcome *wl)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "welcome");
	jw_kstr(&w, "node", wl->node);
	jw_kstr(&w, "collector", wl->collector);
	jw_kint(&w, "interval_ms", wl->interval_ms);
	jw_kint(&w, "last_event_seq", wl->last_event_seq);
	jw_obj_close(&w);
	return jw_finish(&w);
}

/* {"type": TYPE, "seq": SEQ}: the shape of ack and hb_ack. */
static int encode_seq(char *buf, size_t cap, const char *type, int64_t seq)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", type);
	jw_kint(&w, "seq", seq);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_ack(char *buf, size_t cap, const struct proto_ack *a)
{
	return encode_seq(buf, cap, "ack", a->seq);
}

int proto_encode_hb_ack(char *buf, size_t cap, const struct proto_hb_ack *a)
{
	return encode_seq(buf, cap, "hb_ack", a->seq);
}

int proto_encode_error(char *buf, size_t cap, const char *code, const char *message)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "error");
	jw_kstr(&w, "code", code);
	jw_kstr(&w, "message", message);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_subscribe(char *buf, size_t cap, int64_t id)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "subscribe");
	jw_kint(&w, "id", id);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_query(char *buf, size_t cap, const struct oper_msg *q)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "query");
	jw_kint(&w, "id", q->id);
	jw_kstr(&w, "what", q->what);
	if (q->firing)
		jw_kbool(&w, "firing", true);
	if (q->node[0])
		jw_kstr(&w, "node", q->node);
	if (q->group[0])
		jw_kstr(&w, "group", q->group);
	if (q->kind[0])
		jw_kstr(&w, "kind", q->kind);
	if (q->limit > 0)
		jw_kint(&w, "limit", q->limit);
	if (q->since_ms > 0)
		jw_kint(&w, "since_ms", q->since_ms);
	if (q->until_ms > 0)
		jw_kint(&w, "until_ms", q->until_ms);
	if (q->before_id > 0)
		jw_kint(&w, "before_id", q->before_id);
	if (q->event_id > 0)
		jw_kint(&w, "event_id", q->event_id);
	if (strcmp(q->what, "at") == 0)
		jw_kint(&w, "at_ms", q->at_ms);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int proto_encode_oper_command(char *buf, size_t cap, const struct oper_msg *q)
{
	struct jw w;

	jw_init(&w, buf, cap);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "command");
	jw_kint(&w, "id", q->id);
	jw_kstr(&w, "verb", q->verb);
	if (q->group[0])
		jw_kstr(&w, "group", q->group);
	if (q->node[0])
		jw_kstr(&w, "node", q->node);
	if (q->to[0])
		jw_kstr(&w, "to", q->to);
	if (strcmp(q->verb, "maintenance") == 0)
		jw_kbool(&w, "on", q->on);
	if (q->for_ms > 0)
		jw_kint(&w, "for_ms", q->for_ms);
	if (q->alert[0])
		jw_kstr(&w, "alert", q->alert);
	if (q->rule[0])
		jw_kstr(&w, "rule", q->rule);
	if (q->silence_id > 0)
		jw_kint(&w, "silence_id", q->silence_id);
	jw_kstr(&w, "reason", q->reason);
	if (q->dry_run)
		jw_kbool(&w, "dry_run", true);
	if (q->force)
		jw_kbool(&w, "force", true);
	jw_obj_close(&w);
	return jw_finish(&w);
}
