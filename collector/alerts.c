/* alerts — rules, fingerprints, edges, folding, repeats, acks, silences
 * and inhibition, decided in simulated-or-real time.  See alerts.h for the
 * contract.
 *
 * Data: every firing or pending alert is an entry, found by fingerprint in
 * a chained hash and listed in an unordered array (swap-remove).  Resolved
 * alerts are copied into a ring of max_recent and the entry freed, so a
 * condition that comes back is a new alert with a new id.  Every change of
 * an alert goes through emit(), which counts notifications and builds the
 * sinks' idempotency key.
 */
#include "collector/alerts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/names.h"
#include "proto/util.h"

/* ---- names ------------------------------------------------------------ */

static const char *const sev_names[] = { "info", "warning", "critical" };

const char *alerts_severity_name(enum alert_severity s)
{
	return (unsigned)s < 3 ? sev_names[s] : "?";
}

int alerts_severity_parse(const char *s, enum alert_severity *out)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, sev_names[i]) == 0) {
			*out = (enum alert_severity)i;
			return 0;
		}
	return -1;
}

static const char *const op_names[] = { ">", ">=", "<", "<=", "==", "!=" };
static const char *const op_words[] = { "gt", "ge", "lt", "le", "eq", "ne" };

const char *alerts_op_name(enum alert_op op)
{
	return (unsigned)op < 6 ? op_names[op] : "?";
}

int alerts_op_parse(const char *s, enum alert_op *out)
{
	for (int i = 0; i < 6; i++)
		if (strcmp(s, op_names[i]) == 0 || strcmp(s, op_words[i]) == 0) {
			*out = (enum alert_op)i;
			return 0;
		}
	return -1;
}

const char *alerts_state_name(enum alert_state s)
{
	switch (s) {
	case AST_PENDING: return "pending";
	case AST_FIRING: return "firing";
	case AST_RESOLVED: return "resolved";
	}
	return "?";
}

const char *alerts_action_name(enum alert_action_kind k)
{
	switch (k) {
	case AL_FIRE: return "fire";
	case AL_RESOLVE: return "resolve";
	case AL_REPEAT: return "repeat";
	case AL_INHIBITED: return "inhibited";
	case AL_SILENCED: return "silenced";
	case AL_ACK: return "ack";
	case AL_SILENCE_END: return "silence_end";
	}
	return "?";
}

/* ---- rules ------------------------------------------------------------ */

#define MIN_MS (60 * 1000LL)

/* Classes: which inhibitions and labels apply. */
#define RC_DETECTION 1u   /* held back during tilt */
#define RC_NODE      2u   /* has a node label; held back while its group lacks quorum */
#define RC_GROUP     4u   /* has a group label */

static const struct builtin {
	struct alert_rule r;
	unsigned cls;
} builtins[] = {
	{ { .name = "node_failed", .kind = AR_NODE_FAILED, .severity = ASEV_CRITICAL, .repeat_ms = -1 },
	  RC_DETECTION | RC_NODE | RC_GROUP },
	{ { .name = "node_suspect", .kind = AR_NODE_SUSPECT, .severity = ASEV_WARNING,
	    .for_ms = 30000, .repeat_ms = -1 }, RC_DETECTION | RC_NODE | RC_GROUP },
	{ { .name = "node_degraded", .kind = AR_NODE_DEGRADED, .severity = ASEV_WARNING, .repeat_ms = -1 },
	  RC_DETECTION | RC_NODE | RC_GROUP },
	{ { .name = "node_flapping", .kind = AR_NODE_FLAPPING, .severity = ASEV_WARNING, .repeat_ms = -1 },
	  RC_DETECTION | RC_NODE | RC_GROUP },
	{ { .name = "group_no_quorum", .kind = AR_GROUP_NO_QUORUM, .severity = ASEV_CRITICAL,
	    .repeat_ms = -1 }, RC_DETECTION | RC_GROUP },
	{ { .name = "group_no_leader", .kind = AR_GROUP_NO_LEADER, .severity = ASEV_CRITICAL,
	    .repeat_ms = -1 }, RC_DETECTION | RC_GROUP },
	{ { .name = "failover_started", .kind = AR_FAILOVER_STARTED, .severity = ASEV_WARNING,
	    .repeat_ms = -1 }, RC_GROUP },
	{ { .name = "failover_completed", .kind = AR_FAILOVER_COMPLETED, .severity = ASEV_INFO,
	    .repeat_ms = -1, .resolve_after_ms = 5 * MIN_MS }, RC_GROUP },
	{ { .name = "failover_failed", .kind = AR_FAILOVER_FAILED, .severity = ASEV_CRITICAL,
	    .repeat_ms = -1 }, RC_GROUP },
	{ { .name = "hook_failed", .kind = AR_HOOK_FAILED, .severity = ASEV_WARNING, .repeat_ms = -1,
	    .resolve_after_ms = 60 * MIN_MS }, RC_GROUP },
	{ { .name = "collector_tilt", .kind = AR_COLLECTOR_TILT, .severity = ASEV_WARNING,
	    .repeat_ms = -1 }, 0 },
	{ { .name = "store_not_recording", .kind = AR_STORE_NOT_RECORDING, .severity = ASEV_CRITICAL,
	    .repeat_ms = -1 }, 0 },
};
#define NBUILTIN (sizeof builtins / sizeof builtins[0])

size_t alerts_builtin_count(void)
{
	return NBUILTIN;
}

const struct alert_rule *alerts_builtin(size_t i)
{
	return i < NBUILTIN ? &builtins[i].r : NULL;
}

static unsigned rule_class(enum alert_rule_kind k)
{
	if (k == AR_METRIC)
		return RC_NODE | RC_GROUP;
	for (size_t i = 0; i < NBUILTIN; i++)
		if (builtins[i].r.kind == k)
			return builtins[i].cls;
	return 0;
}

static int builtin_find(const char *name)
{
	for (size_t i = 0; i < NBUILTIN; i++)
		if (strcmp(builtins[i].r.name, name) == 0)
			return (int)i;
	return -1;
}

bool alerts_rule_is_event(enum alert_rule_kind k)
{
	return k == AR_FAILOVER_COMPLETED || k == AR_FAILOVER_FAILED || k == AR_HOOK_FAILED;
}

int alerts_rule_init(struct alert_rule *r, const char *name)
{
	int b;

	if (!name_is_valid(name, ALERT_NAME_MAX))
		return -1;
	b = builtin_find(name);
	if (b >= 0) {
		*r = builtins[b].r;
		return 1;
	}
	memset(r, 0, sizeof *r);
	util_strlcpy(r->name, name, sizeof r->name);
	r->kind = AR_METRIC;
	r->severity = ASEV_WARNING;
	r->repeat_ms = -1;
	r->value = NAN;
	return 0;
}

int alerts_rule_set_metric(struct alert_rule *r, const char *metric)
{
	bool app = strncmp(metric, "app:", 4) == 0;
	const char *name = app ? metric + 4 : metric;

	if (!name_is_valid(name, PROTO_NAME_MAX))
		return -1;
	if (!app)
		app = strcmp(name, "cpu") && strcmp(name, "mem") && strcmp(name, "disk") &&
		      strcmp(name, "load1");
	util_strlcpy(r->metric, name, sizeof r->metric);
	r->app = app;
	return 0;
}

#define DAY_MS (86400000LL)

int alerts_rule_check(const struct alert_rule *r, char *err, size_t errlen)
{
	unsigned cls = rule_class(r->kind);

	if (!name_is_valid(r->name, ALERT_NAME_MAX))
		return snprintf(err, errlen, "bad name (want [A-Za-z0-9._-], at most 64)"), -1;
	if ((unsigned)r->severity > ASEV_CRITICAL)
		return snprintf(err, errlen, "bad severity"), -1;
	if (r->for_ms < 0 || r->for_ms > 30 * DAY_MS)
		return snprintf(err, errlen, "'for' must be 0..30d"), -1;
	if (r->repeat_ms < -1 || r->repeat_ms > 30 * DAY_MS)
		return snprintf(err, errlen, "'repeat' must be 0 (never) ..30d"), -1;
	if (r->repeat_ms > 0 && r->repeat_ms < 1000)
		return snprintf(err, errlen, "'repeat' must be at least 1s (or 0 = never)"), -1;
	if (r->resolve_after_ms < 0 || r->resolve_after_ms > 30 * DAY_MS)
		return snprintf(err, errlen, "'resolve-after' must be 0..30d"), -1;
	if (alerts_rule_is_event(r->kind) && r->for_ms)
		return snprintf(err, errlen, "'for' does not apply to an event rule "
				"(it fires when the event happens)"), -1;
	if (!alerts_rule_is_event(r->kind) && r->resolve_after_ms)
		return snprintf(err, errlen, "'resolve-after' only applies to event rules "
				"(failover_completed, failover_failed, hook_failed)"), -1;
	if (r->kind == AR_FAILOVER_COMPLETED && !r->resolve_after_ms)
		return snprintf(err, errlen, "'resolve-after' must be above 0: nothing else resolves it"), -1;
	if (r->node[0] && (!(cls & RC_NODE) || !name_is_valid(r->node, PROTO_NAME_MAX)))
		return snprintf(err, errlen, (cls & RC_NODE) ? "bad node name" :
				"'node' does not apply: its alerts are not about a node"), -1;
	if (r->group[0] && (!(cls & RC_GROUP) || !name_is_valid(r->group, PROTO_NAME_MAX)))
		return snprintf(err, errlen, (cls & RC_GROUP) ? "bad group name" :
				"'group' does not apply: its alerts are not about a group"), -1;
	if (r->kind != AR_METRIC) {
		if (r->metric[0])
			return snprintf(err, errlen, "'metric' only applies to threshold rules"), -1;
		return 0;
	}
	if (!r->metric[0])
		return snprintf(err, errlen, "not a built-in rule, so it needs metric=, op= and value= "
				"(built-ins: node_failed, node_suspect, node_degraded, node_flapping, "
				"group_no_quorum, group_no_leader, failover_started, failover_completed, "
				"failover_failed, hook_failed, collector_tilt, store_not_recording)"), -1;
	if (!name_is_valid(r->metric, PROTO_NAME_MAX))
		return snprintf(err, errlen, "bad metric name '%s'", r->metric), -1;
	if ((unsigned)r->op > AOP_NE)
		return snprintf(err, errlen, "bad operator"), -1;
	if (!isfinite(r->value))
		return snprintf(err, errlen, "needs value= (a number)"), -1;
	return 0;
}

int alerts_rules_check(const struct alert_rule *rules, size_t nrules, char *err, size_t errlen)
{
	char why[384];
	size_t extra = 0;

	for (size_t i = 0; i < nrules; i++) {
		const struct alert_rule *r = &rules[i];
		int b = builtin_find(r->name);

		if (alerts_rule_check(r, why, sizeof why))
			return snprintf(err, errlen, "rule '%s': %s", r->name, why), -1;
		if (b >= 0 ? r->kind != builtins[b].r.kind : r->kind != AR_METRIC)
			return snprintf(err, errlen, "rule '%s': %s", r->name,
					b >= 0 ? "is a built-in rule and cannot be a threshold rule"
					       : "unknown built-in kind"), -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(rules[j].name, r->name) == 0)
				return snprintf(err, errlen, "rule '%s': defined twice", r->name), -1;
		if (b < 0)
			extra++;
	}
	if (NBUILTIN + extra > ALERT_RULES_MAX)
		return snprintf(err, errlen, "too many rules (at most %d with the built-ins)",
				ALERT_RULES_MAX - (int)NBUILTIN), -1;
	return 0;
}

/* ---- actions ---------------------------------------------------------- */

void alert_out_init(struct alert_out *o)
{
	memset(o, 0, sizeof *o);
}

void alert_out_reset(struct alert_out *o)
{
	o->n = 0;
	o->oom = false;
}

void alert_out_done(struct alert_out *o)
{
	free(o->v);
	memset(o, 0, sizeof *o);
}

static struct alert_action *push(struct alert_out *o, enum alert_action_kind kind)
{
	struct alert_action *a, *nv = util_grow(o->v, &o->cap, o->n, sizeof *o->v, 16);

	if (!nv) {
		o->oom = true;
		return NULL;
	}
	o->v = nv;
	a = &o->v[o->n++];
	memset(a, 0, sizeof *a);
	a->kind = kind;
	return a;
}

/* ---- engine state ----------------------------------------------------- */

struct entry {
	struct alert a;
	int rule;                  /* index into alerts.rules */
	int64_t since_ms;          /* condition true since (monotonic) */
	int64_t last_sample_ms;    /* metric rules: last sample */
	int64_t interval_ms;       /* metric rules: the node's sample interval */
	int64_t notify_ms;         /* last notification */
	int64_t resolve_at_ms;     /* event rules: resolve on their own then; 0 never */
	size_t idx;                /* in alerts.act */
	struct entry *next;        /* hash chain */
};

struct alerts {
	struct alerts_config cfg;
	struct alert_rule *rules;
	size_t nrules;

	struct entry **act;        /* firing and pending, unordered */
	size_t nact, actcap;
	struct entry **buckets;
	size_t nbuckets;           /* power of two */

	struct alert *recent;      /* ring of resolved alerts, max_recent */
	size_t rhead, rn;          /* rhead: the oldest */

	struct alert_silence *sil; /* sorted by id */
	size_t nsil;

	char (*noquorum)[PROTO_NAME_MAX + 1];
	size_t nnq, nqcap;
	bool tilt;

	uint64_t next_id, next_sil_id;
	uint64_t dropped;
};

static uint32_t fnv(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct labels {
	const char *node, *group, *metric, *hook;
};

/* rule{group="g",hook="h",metric="m",node="n"}: labels in sorted order,
 * empty ones left out.  Names are [A-Za-z0-9._-], so nothing to escape. */
static void fingerprint(char *buf, size_t len, const char *rule, const struct labels *l)
{
	const char *k[4] = { "group", "hook", "metric", "node" };
	const char *v[4] = { l->group, l->hook, l->metric, l->node };
	size_t n = (size_t)snprintf(buf, len, "%s{", rule);
	bool first = true;

	for (int i = 0; i < 4 && n < len; i++) {
		if (!v[i] || !v[i][0])
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s=\"%s\"", first ? "" : ",", k[i], v[i]);
		first = false;
	}
	if (n < len)
		snprintf(buf + n, len - n, "}");
}

static struct entry *find(const struct alerts *al, const char *fp)
{
	struct entry *e = al->buckets[fnv(fp) & (al->nbuckets - 1)];

	while (e && strcmp(e->a.fingerprint, fp))
		e = e->next;
	return e;
}

static struct entry *entry_new(struct alerts *al, int ri, const char *fp, const struct labels *l)
{
	const struct alert_rule *r = &al->rules[ri];
	struct entry *e, **nv;
	size_t b;

	if (al->nact >= al->cfg.max_active) {
		al->dropped++;
		return NULL;
	}
	nv = util_grow(al->act, &al->actcap, al->nact, sizeof *al->act, 64);
	if (!nv)
		return NULL;
	al->act = nv;
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	util_strlcpy(e->a.fingerprint, fp, sizeof e->a.fingerprint);
	util_strlcpy(e->a.rule, r->name, sizeof e->a.rule);
	e->a.kind = r->kind;
	e->a.severity = r->severity;
	util_strlcpy(e->a.node, l->node ? l->node : "", sizeof e->a.node);
	util_strlcpy(e->a.group, l->group ? l->group : "", sizeof e->a.group);
	util_strlcpy(e->a.metric, l->metric ? l->metric : "", sizeof e->a.metric);
	util_strlcpy(e->a.hook, l->hook ? l->hook : "", sizeof e->a.hook);
	e->a.state = AST_PENDING;
	e->a.value = NAN;
	e->a.threshold = r->kind == AR_METRIC ? r->value : NAN;
	e->rule = ri;
	e->idx = al->nact;
	al->act[al->nact++] = e;
	b = fnv(fp) & (al->nbuckets - 1);
	e->next = al->buckets[b];
	al->buckets[b] = e;
	return e;
}

static void entry_remove(struct alerts *al, struct entry *e)
{
	struct entry **pp = &al->buckets[fnv(e->a.fingerprint) & (al->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	al->act[e->idx] = al->act[--al->nact];
	al->act[e->idx]->idx = e->idx;
	free(e);
}

static bool noquorum_has(const struct alerts *al, const char *group)
{
	for (size_t i = 0; i < al->nnq; i++)
		if (strcmp(al->noquorum[i], group) == 0)
			return true;
	return false;
}

static bool m_match(const char *pat, const char *val)
{
	if (!pat[0] || strcmp(pat, "*") == 0)
		return true;
	return val[0] && strcmp(pat, val) == 0;
}

static bool silence_matches(const struct alert_silence *s, const struct alert *a, int64_t wall_ms)
{
	return wall_ms < s->expires_ms && m_match(s->rule, a->rule) && m_match(s->node, a->node) &&
	       m_match(s->group, a->group);
}

/* Why a firing alert is held back now: inhibition first, then silences. */
static enum alert_hold hold_of(const struct alerts *al, const struct entry *e, int64_t wall_ms,
			       uint64_t *sid, char *by, size_t bylen)
{
	unsigned cls = rule_class(e->a.kind);

	*sid = 0;
	by[0] = '\0';
	if (al->tilt && (cls & RC_DETECTION)) {
		util_strlcpy(by, "tilt", bylen);
		return AH_INHIBITED;
	}
	if ((cls & RC_NODE) && e->a.group[0] && noquorum_has(al, e->a.group)) {
		snprintf(by, bylen, "quorum_lost:%s", e->a.group);
		return AH_INHIBITED;
	}
	for (size_t i = 0; i < al->nsil; i++)
		if (silence_matches(&al->sil[i], &e->a, wall_ms)) {
			*sid = al->sil[i].id;
			snprintf(by, bylen, "silence:%llu", (unsigned long long)*sid);
			return AH_SILENCED;
		}
	return AH_NONE;
}

/* The one place an alert's change becomes an action. */
static void emit(struct alerts *al, struct entry *e, enum alert_action_kind kind, bool notify,
		 int64_t now_ms, struct alert_out *out)
{
	struct alert_action *act;
	(void)al;

	if (notify && (kind == AL_FIRE || kind == AL_REPEAT)) {
		e->a.notified++;
		e->notify_ms = now_ms;
	}
	act = push(out, kind);
	if (!act)
		return;
	act->notify = notify;
	act->alert = e->a;
	switch (kind) {
	case AL_FIRE:
		snprintf(act->key, sizeof act->key, "%llu-fire", (unsigned long long)e->a.id);
		break;
	case AL_REPEAT:
		snprintf(act->key, sizeof act->key, "%llu-repeat-%u", (unsigned long long)e->a.id,
			 e->a.notified);
		break;
	default:
		snprintf(act->key, sizeof act->key, "%llu-%s", (unsigned long long)e->a.id,
			 alerts_action_name(kind));
		break;
	}
}

static void fire(struct alerts *al, struct entry *e, int64_t now_ms, int64_t wall_ms,
		 struct alert_out *out)
{
	const struct alert_rule *r = &al->rules[e->rule];

	e->a.id = ++al->next_id;
	e->a.state = AST_FIRING;
	e->a.started_ms = wall_ms;
	e->notify_ms = now_ms;
	if (alerts_rule_is_event(r->kind) && r->resolve_after_ms)
		e->resolve_at_ms = now_ms + r->resolve_after_ms;
	e->a.hold = hold_of(al, e, wall_ms, &e->a.silence_id, e->a.held_by, sizeof e->a.held_by);
	switch (e->a.hold) {
	case AH_NONE: emit(al, e, AL_FIRE, true, now_ms, out); break;
	case AH_INHIBITED: emit(al, e, AL_INHIBITED, false, now_ms, out); break;
	case AH_SILENCED: emit(al, e, AL_SILENCED, false, now_ms, out); break;
	}
}

static void ring_push(struct alerts *al, const struct alert *a)
{
	if (!al->cfg.max_recent)
		return;
	if (al->rn == al->cfg.max_recent) {         /* full: drop the oldest resolved */
		al->recent[al->rhead] = *a;
		al->rhead = (al->rhead + 1) % al->cfg.max_recent;
		return;
	}
	al->recent[(al->rhead + al->rn) % al->cfg.max_recent] = *a;
	al->rn++;
}

/* Condition over: a firing alert resolves; a pending one is forgotten. */
static void end(struct alerts *al, struct entry *e, int64_t now_ms, int64_t wall_ms,
		const char *note, struct alert_out *out)
{
	if (e->a.state == AST_FIRING) {
		e->a.state = AST_RESOLVED;
		e->a.resolved_ms = wall_ms;
		if (note && note[0]) {
			size_t n = strlen(e->a.summary);

			snprintf(e->a.summary + n, sizeof e->a.summary - n, " (%s)", note);
		}
		emit(al, e, AL_RESOLVE, e->a.notified > 0, now_ms, out);
		ring_push(al, &e->a);
	}
	entry_remove(al, e);
}

/* Re-decide every firing alert's hold after tilt, quorum or silences
 * changed; a released alert that still fires is sent now. */
static void rehold(struct alerts *al, int64_t now_ms, int64_t wall_ms, struct alert_out *out)
{
	for (size_t i = 0; i < al->nact; i++) {
		struct entry *e = al->act[i];
		char by[sizeof e->a.held_by];
		uint64_t sid;
		enum alert_hold h;

		if (e->a.state != AST_FIRING)
			continue;
		h = hold_of(al, e, wall_ms, &sid, by, sizeof by);
		if (h == e->a.hold && sid == e->a.silence_id)
			continue;
		e->a.hold = h;
		e->a.silence_id = sid;
		util_strlcpy(e->a.held_by, by, sizeof e->a.held_by);
		if (h == AH_INHIBITED)
			emit(al, e, AL_INHIBITED, false, now_ms, out);
		else if (h == AH_SILENCED)
			emit(al, e, AL_SILENCED, false, now_ms, out);
		else if (!e->a.notified)
			emit(al, e, AL_FIRE, true, now_ms, out);
		else
			emit(al, e, AL_REPEAT, !e->a.acked, now_ms, out);
	}
}

static int rule_index(const struct alerts *al, enum alert_rule_kind k)
{
	for (size_t i = 0; i < al->nrules; i++)
		if (al->rules[i].kind == k)
			return (int)i;
	return -1;
}

static bool in_scope(const struct alert_rule *r, const struct labels *l)
{
	if (r->node[0] && (!l->node || strcmp(r->node, l->node)))
		return false;
	if (r->group[0] && (!l->group || strcmp(r->group, l->group)))
		return false;
	return true;
}

/* The condition of built-in rule kind k is now `on` for labels l.
 * discrete: a report, folded into a firing alert (a sample is not).
 * summary: for a new alert. */
static void cond(struct alerts *al, enum alert_rule_kind k, const struct labels *l, bool on,
		 bool discrete, int64_t now_ms, int64_t wall_ms, const char *summary,
		 struct alert_out *out)
{
	int ri = rule_index(al, k);
	const struct alert_rule *r;
	char fp[ALERT_FP_MAX];
	struct entry *e;

	if (ri < 0)
		return;
	r = &al->rules[ri];
	fingerprint(fp, sizeof fp, r->name, l);
	e = find(al, fp);
	if (!on) {
		if (e)
			end(al, e, now_ms, wall_ms, NULL, out);
		return;
	}
	if (r->off || !in_scope(r, l))
		return;
	if (e) {
		if (e->a.state == AST_FIRING && discrete) {
			e->a.folded++;
			if (alerts_rule_is_event(k) && r->resolve_after_ms)
				e->resolve_at_ms = now_ms + r->resolve_after_ms;
		}
		return;
	}
	e = entry_new(al, ri, fp, l);
	if (!e)
		return;
	util_strlcpy(e->a.summary, summary, sizeof e->a.summary);
	e->since_ms = now_ms;
	if (!r->for_ms || alerts_rule_is_event(k))
		fire(al, e, now_ms, wall_ms, out);
}

/* ---- lifecycle -------------------------------------------------------- */

void alerts_config_defaults(struct alerts_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->repeat_ms = 60 * MIN_MS;
	cfg->max_active = 1000;
	cfg->max_recent = 1000;
	cfg->max_silences = 256;
}

/* Built-ins at their defaults, overridden by name; metric rules appended. */
static struct alert_rule *build_rules(const struct alert_rule *rules, size_t nrules, size_t *n)
{
	struct alert_rule *v = calloc(NBUILTIN + nrules, sizeof *v);

	if (!v)
		return NULL;
	for (size_t i = 0; i < NBUILTIN; i++)
		v[i] = builtins[i].r;
	*n = NBUILTIN;
	for (size_t i = 0; i < nrules; i++) {
		int b = builtin_find(rules[i].name);

		if (b >= 0)
			v[b] = rules[i];
		else
			v[(*n)++] = rules[i];
	}
	return v;
}

struct alerts *alerts_new(const struct alerts_config *cfg, const struct alert_rule *rules,
			  size_t nrules)
{
	struct alerts *al;
	char err[512];

	if (alerts_rules_check(rules, nrules, err, sizeof err) || !cfg->max_active)
		return NULL;
	al = calloc(1, sizeof *al);
	if (!al)
		return NULL;
	al->cfg = *cfg;
	al->next_id = cfg->id_base;
	al->next_sil_id = cfg->silence_id_base;
	al->nbuckets = 64;
	while (al->nbuckets < 2 * cfg->max_active)
		al->nbuckets <<= 1;
	al->buckets = calloc(al->nbuckets, sizeof *al->buckets);
	al->recent = calloc(cfg->max_recent ? cfg->max_recent : 1, sizeof *al->recent);
	al->sil = calloc(cfg->max_silences ? cfg->max_silences : 1, sizeof *al->sil);
	al->rules = build_rules(rules, nrules, &al->nrules);
	if (!al->buckets || !al->recent || !al->sil || !al->rules) {
		alerts_free(al);
		return NULL;
	}
	return al;
}

void alerts_free(struct alerts *al)
{
	if (!al)
		return;
	for (size_t i = 0; i < al->nact; i++)
		free(al->act[i]);
	free(al->act);
	free(al->buckets);
	free(al->recent);
	free(al->sil);
	free(al->rules);
	free(al->noquorum);
	free(al);
}

static bool same_condition(const struct alert_rule *a, const struct alert_rule *b)
{
	return a->kind == b->kind && !strcmp(a->metric, b->metric) && a->app == b->app &&
	       a->op == b->op && (a->value == b->value || (isnan(a->value) && isnan(b->value))) &&
	       !strcmp(a->node, b->node) && !strcmp(a->group, b->group);
}

int alerts_set_rules(struct alerts *al, int64_t now_ms, int64_t wall_ms,
		     const struct alert_rule *rules, size_t nrules, struct alert_out *out)
{
	struct alert_rule *nv;
	char err[512];
	size_t n, i = 0;

	if (alerts_rules_check(rules, nrules, err, sizeof err))
		return -EINVAL;
	nv = build_rules(rules, nrules, &n);
	if (!nv)
		return -ENOMEM;
	while (i < al->nact) {
		struct entry *e = al->act[i];
		const struct alert_rule *old = &al->rules[e->rule];
		size_t j;

		for (j = 0; j < n; j++)
			if (strcmp(nv[j].name, old->name) == 0)
				break;
		if (j == n || nv[j].off || !same_condition(old, &nv[j])) {
			end(al, e, now_ms, wall_ms, j == n ? "rule removed" :
			    nv[j].off ? "rule turned off" : "rule changed", out);
			continue;               /* the last entry moved into i */
		}
		e->rule = (int)j;
		e->a.severity = nv[j].severity;
		i++;
	}
	free(al->rules);
	al->rules = nv;
	al->nrules = n;
	rehold(al, now_ms, wall_ms, out);
	return 0;
}

/* ---- inputs ----------------------------------------------------------- */

static void node_desc(char *buf, size_t len, const char *node, const char *group)
{
	if (group && group[0])
		snprintf(buf, len, "node %s (group %s)", node, group);
	else
		snprintf(buf, len, "node %s", node);
}

void alerts_node_state(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *node,
		       const char *group, enum node_state from, enum node_state to, const char *why,
		       struct alert_out *out)
{
	struct labels l = { .node = node, .group = group };
	char nd[160], s[ALERT_SUMMARY_MAX], age[32];
	const struct alert_rule *r;
	int ri;

	node_desc(nd, sizeof nd, node, group);
	snprintf(s, sizeof s, "%s %s (%s), was %s", nd, node_state_name(to), why && why[0] ? why : "-",
		 node_state_name(from));
	/* Ends first, so that a failed node's suspect alert resolves before
	 * its failed alert fires. */
	if (to != NODE_SUSPECT)
		cond(al, AR_NODE_SUSPECT, &l, false, true, now_ms, wall_ms, NULL, out);
	if (to != NODE_DEGRADED)
		cond(al, AR_NODE_DEGRADED, &l, false, true, now_ms, wall_ms, NULL, out);
	if (to != NODE_FAILED)
		cond(al, AR_NODE_FAILED, &l, false, true, now_ms, wall_ms, NULL, out);
	switch (to) {
	case NODE_FAILED:
		cond(al, AR_NODE_FAILED, &l, true, true, now_ms, wall_ms, s, out);
		break;
	case NODE_DEGRADED:
		cond(al, AR_NODE_DEGRADED, &l, true, true, now_ms, wall_ms, s, out);
		break;
	case NODE_SUSPECT:
		ri = rule_index(al, AR_NODE_SUSPECT);
		r = ri >= 0 ? &al->rules[ri] : NULL;
		if (r && r->for_ms) {
			util_fmt_age(r->for_ms, age, sizeof age);
			snprintf(s, sizeof s, "%s suspect for more than %s (%s), was %s", nd, age,
				 why && why[0] ? why : "-", node_state_name(from));
		}
		cond(al, AR_NODE_SUSPECT, &l, true, true, now_ms, wall_ms, s, out);
		break;
	default:
		break;
	}
}

void alerts_node_flapping(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *node,
			  const char *group, bool on, struct alert_out *out)
{
	struct labels l = { .node = node, .group = group };
	char nd[160], s[ALERT_SUMMARY_MAX];

	node_desc(nd, sizeof nd, node, group);
	snprintf(s, sizeof s, "%s is flapping (changing state again and again)", nd);
	cond(al, AR_NODE_FLAPPING, &l, on, true, now_ms, wall_ms, s, out);
}

static double metric_value(const struct alert_rule *r, const struct proto_metrics *m)
{
	if (r->app)
		return proto_app_value(m, r->metric);
	if (!strcmp(r->metric, "cpu"))
		return m->cpu_pct;
	if (!strcmp(r->metric, "mem"))
		return m->mem_pct;
	if (!strcmp(r->metric, "disk"))
		return m->disk_pct;
	if (!strcmp(r->metric, "load1"))
		return m->load1;
	return NAN;
}

static bool compare(double v, enum alert_op op, double t)
{
	switch (op) {
	case AOP_GT: return v > t;
	case AOP_GE: return v >= t;
	case AOP_LT: return v < t;
	case AOP_LE: return v <= t;
	case AOP_EQ: return v == t;
	case AOP_NE: return v != t;
	}
	return false;
}

#define GAP_INTERVALS 3

void alerts_metrics(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *node,
		    const char *group, int64_t interval_ms, const struct proto_metrics *m,
		    struct alert_out *out)
{
	struct labels l = { .node = node, .group = group };

	if (interval_ms <= 0)
		interval_ms = 1000;
	for (size_t ri = NBUILTIN; ri < al->nrules; ri++) {
		const struct alert_rule *r = &al->rules[ri];
		char fp[ALERT_FP_MAX], nd[160], age[32];
		struct entry *e;
		double v;
		bool on;

		if (r->kind != AR_METRIC || r->off || !in_scope(r, &l))
			continue;
		v = metric_value(r, m);
		if (isnan(v))
			continue;                   /* no sample of this metric */
		on = compare(v, r->op, r->value);
		l.metric = r->metric;
		fingerprint(fp, sizeof fp, r->name, &l);
		e = find(al, fp);
		if (!on) {
			if (e) {
				e->a.value = v;
				end(al, e, now_ms, wall_ms, NULL, out);
			}
			continue;
		}
		if (!e) {
			e = entry_new(al, (int)ri, fp, &l);
			if (!e)
				continue;
			e->since_ms = now_ms;
		} else if (e->a.state == AST_PENDING &&
			   now_ms - e->last_sample_ms > GAP_INTERVALS * e->interval_ms) {
			e->since_ms = now_ms;       /* a gap: the window starts again */
		}
		e->last_sample_ms = now_ms;
		e->interval_ms = interval_ms;
		e->a.value = v;
		if (e->a.state != AST_PENDING || now_ms - e->since_ms < r->for_ms)
			continue;
		node_desc(nd, sizeof nd, node, group);
		util_fmt_age(r->for_ms, age, sizeof age);
		snprintf(e->a.summary, sizeof e->a.summary, "%s %s %g %s %g%s%s", nd, r->metric, v,
			 alerts_op_name(r->op), r->value, r->for_ms ? " for " : "",
			 r->for_ms ? age : "");
		fire(al, e, now_ms, wall_ms, out);
	}
}

void alerts_group_quorum(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *group,
			 bool has_quorum, struct alert_out *out)
{
	struct labels l = { .group = group };
	char s[ALERT_SUMMARY_MAX];
	bool had = !noquorum_has(al, group);

	if (has_quorum && !had) {
		for (size_t i = 0; i < al->nnq; i++)
			if (strcmp(al->noquorum[i], group) == 0) {
				memcpy(al->noquorum[i], al->noquorum[--al->nnq], sizeof al->noquorum[i]);
				break;
			}
	} else if (!has_quorum && had) {
		void *nv = util_grow(al->noquorum, &al->nqcap, al->nnq, sizeof *al->noquorum, 8);

		if (nv) {
			al->noquorum = nv;
			util_strlcpy(al->noquorum[al->nnq++], group, sizeof al->noquorum[0]);
		}
	}
	snprintf(s, sizeof s, "group %s lost quorum: no majority of its members is alive", group);
	cond(al, AR_GROUP_NO_QUORUM, &l, !has_quorum, true, now_ms, wall_ms, s, out);
	if (has_quorum != had)
		rehold(al, now_ms, wall_ms, out);
}

void alerts_group_leader(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *group,
			 const char *leader, struct alert_out *out)
{
	struct labels l = { .group = group };
	char s[ALERT_SUMMARY_MAX];

	snprintf(s, sizeof s, "group %s has no leader", group);
	cond(al, AR_GROUP_NO_LEADER, &l, !leader || !leader[0], true, now_ms, wall_ms, s, out);
}

void alerts_failover(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *group,
		     enum grp_fo_state from, enum grp_fo_state to, const char *code,
		     const char *target, struct alert_out *out)
{
	struct labels l = { .group = group };
	char s[ALERT_SUMMARY_MAX];
	bool has_target = target && target[0];

	(void)from;
	snprintf(s, sizeof s, "failover of group %s under way%s%s", group,
		 has_target ? " to " : "", has_target ? target : "");
	cond(al, AR_FAILOVER_STARTED, &l, to != FO_IDLE, false, now_ms, wall_ms, s, out);
	if (to != FO_IDLE)
		return;
	if (code && strcmp(code, "confirmed") == 0) {
		cond(al, AR_FAILOVER_FAILED, &l, false, true, now_ms, wall_ms, NULL, out);
		snprintf(s, sizeof s, "failover of group %s completed%s%s%s", group,
			 has_target ? ": " : "", has_target ? target : "", has_target ? " is leader" : "");
		cond(al, AR_FAILOVER_COMPLETED, &l, true, true, now_ms, wall_ms, s, out);
	} else if (code && (strcmp(code, "failed") == 0 || strcmp(code, "aborted") == 0)) {
		snprintf(s, sizeof s, "failover of group %s %s%s%s", group, code,
			 has_target ? "; target was " : "", has_target ? target : "");
		cond(al, AR_FAILOVER_FAILED, &l, true, true, now_ms, wall_ms, s, out);
	}
}

void alerts_hook_result(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *node,
			const char *group, const char *hook, int rc, struct alert_out *out)
{
	struct labels l = { .node = node, .group = group, .hook = hook };
	char nd[160], s[ALERT_SUMMARY_MAX];

	node_desc(nd, sizeof nd, node, group);
	snprintf(s, sizeof s, "%s hook failed on %s: exit status %d", hook, nd, rc);
	cond(al, AR_HOOK_FAILED, &l, rc != 0, true, now_ms, wall_ms, s, out);
}

void alerts_tilt(struct alerts *al, int64_t now_ms, int64_t wall_ms, bool on, struct alert_out *out)
{
	struct labels l = { 0 };
	bool was = al->tilt;

	al->tilt = on;
	cond(al, AR_COLLECTOR_TILT, &l, on, true, now_ms, wall_ms,
	     "collector in tilt: its own loop stalled, timing verdicts are suspended", out);
	if (was != on)
		rehold(al, now_ms, wall_ms, out);
}

void alerts_recording(struct alerts *al, int64_t now_ms, int64_t wall_ms, bool recording,
		      const char *why, struct alert_out *out)
{
	struct labels l = { 0 };
	char s[ALERT_SUMMARY_MAX];

	snprintf(s, sizeof s, "store not recording%s%s", why && why[0] ? ": " : "",
		 why ? why : "");
	cond(al, AR_STORE_NOT_RECORDING, &l, !recording, true, now_ms, wall_ms, s, out);
}

/* ---- operators -------------------------------------------------------- */

size_t alerts_forget_node(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *node,
			  struct alert_out *out)
{
	size_t i = 0, k = 0;

	if (!node || !node[0])
		return 0;
	while (i < al->nact) {
		struct entry *e = al->act[i];

		if (strcmp(e->a.node, node)) {
			i++;
			continue;
		}
		end(al, e, now_ms, wall_ms, "node forgotten", out);
		k++;                            /* the last entry moved into i */
	}
	return k;
}

static bool parse_id(const char *key, uint64_t *id)
{
	long long v;

	if (util_parse_int(key, 1, INT64_MAX, &v))
		return false;
	*id = (uint64_t)v;
	return true;
}

static struct entry *find_firing(const struct alerts *al, const char *key)
{
	uint64_t id;

	if (parse_id(key, &id)) {
		for (size_t i = 0; i < al->nact; i++)
			if (al->act[i]->a.state == AST_FIRING && al->act[i]->a.id == id)
				return al->act[i];
		return NULL;
	}
	struct entry *e = find(al, key);

	return e && e->a.state == AST_FIRING ? e : NULL;
}

int alerts_ack(struct alerts *al, int64_t now_ms, int64_t wall_ms, const char *key,
	       const char *who, const char *reason, struct alert_out *out)
{
	struct entry *e;

	if (!key || !who || !name_is_valid(who, PROTO_NAME_MAX) ||
	    (reason && !text_is_valid(reason, ALERT_REASON_MAX - 1)))
		return -EINVAL;
	e = find_firing(al, key);
	if (!e)
		return -ENOENT;
	if (e->a.acked)
		return -EALREADY;
	e->a.acked = true;
	util_strlcpy(e->a.ack_who, who, sizeof e->a.ack_who);
	util_strlcpy(e->a.ack_reason, reason ? reason : "", sizeof e->a.ack_reason);
	e->a.ack_ms = wall_ms;
	emit(al, e, AL_ACK, false, now_ms, out);
	return 0;
}

static bool matcher_ok(const char *m, size_t max)
{
	return !m[0] || strcmp(m, "*") == 0 || name_is_valid(m, max);
}

int alerts_silence_add(struct alerts *al, int64_t now_ms, int64_t wall_ms, struct alert_silence *s,
		       struct alert_out *out)
{
	size_t pos;

	if (!matcher_ok(s->rule, ALERT_NAME_MAX) || !matcher_ok(s->node, PROTO_NAME_MAX) ||
	    !matcher_ok(s->group, PROTO_NAME_MAX) || !name_is_valid(s->author, PROTO_NAME_MAX) ||
	    !s->reason[0] || !text_is_valid(s->reason, ALERT_REASON_MAX - 1) ||
	    s->expires_ms <= wall_ms)
		return -EINVAL;
	for (size_t i = 0; i < al->nsil; i++)
		if (s->id && al->sil[i].id == s->id)
			return -EEXIST;
	if (al->nsil >= al->cfg.max_silences)
		return -ENOSPC;
	if (!s->id)
		s->id = ++al->next_sil_id;
	else if (s->id > al->next_sil_id)
		al->next_sil_id = s->id;
	if (!s->created_ms)
		s->created_ms = wall_ms;
	for (pos = al->nsil; pos > 0 && al->sil[pos - 1].id > s->id; pos--)
		al->sil[pos] = al->sil[pos - 1];
	al->sil[pos] = *s;
	al->nsil++;
	rehold(al, now_ms, wall_ms, out);
	return 0;
}

static void silence_remove(struct alerts *al, size_t i, struct alert_out *out)
{
	struct alert_action *act = push(out, AL_SILENCE_END);

	if (act) {
		act->silence = al->sil[i];
		snprintf(act->key, sizeof act->key, "silence-%llu-end",
			 (unsigned long long)al->sil[i].id);
	}
	memmove(&al->sil[i], &al->sil[i + 1], (al->nsil - i - 1) * sizeof *al->sil);
	al->nsil--;
}

int alerts_silence_expire(struct alerts *al, int64_t now_ms, int64_t wall_ms, uint64_t id,
			  struct alert_out *out)
{
	for (size_t i = 0; i < al->nsil; i++)
		if (al->sil[i].id == id) {
			silence_remove(al, i, out);
			rehold(al, now_ms, wall_ms, out);
			return 0;
		}
	return -ENOENT;
}

/* ---- time ------------------------------------------------------------- */

void alerts_tick(struct alerts *al, int64_t now_ms, int64_t wall_ms, struct alert_out *out)
{
	bool expired = false;
	size_t i = 0;

	while (i < al->nsil) {
		if (wall_ms >= al->sil[i].expires_ms) {
			silence_remove(al, i, out);
			expired = true;
		} else {
			i++;
		}
	}
	i = 0;
	while (i < al->nact) {
		struct entry *e = al->act[i];
		const struct alert_rule *r = &al->rules[e->rule];

		if (r->kind == AR_METRIC &&
		    now_ms - e->last_sample_ms > GAP_INTERVALS * e->interval_ms) {
			end(al, e, now_ms, wall_ms, "no data", out);
			continue;                   /* the last entry moved into i */
		}
		if (e->a.state == AST_FIRING && e->resolve_at_ms && now_ms >= e->resolve_at_ms) {
			end(al, e, now_ms, wall_ms, NULL, out);
			continue;
		}
		if (e->a.state == AST_PENDING && r->kind != AR_METRIC &&
		    now_ms - e->since_ms >= r->for_ms)
			fire(al, e, now_ms, wall_ms, out);
		i++;
	}
	if (expired)
		rehold(al, now_ms, wall_ms, out);
	for (i = 0; i < al->nact; i++) {
		struct entry *e = al->act[i];
		int64_t rep = al->rules[e->rule].repeat_ms;

		if (rep < 0)
			rep = al->cfg.repeat_ms;
		if (e->a.state == AST_FIRING && e->a.hold == AH_NONE && !e->a.acked &&
		    e->a.notified && rep > 0 && now_ms - e->notify_ms >= rep)
			emit(al, e, AL_REPEAT, true, now_ms, out);
	}
}

/* ---- views ------------------------------------------------------------ */

static int by_id_desc(const void *x, const void *y)
{
	const struct entry *a = *(const struct entry *const *)x, *b = *(const struct entry *const *)y;

	return a->a.id < b->a.id ? 1 : a->a.id > b->a.id ? -1 : 0;
}

size_t alerts_list(const struct alerts *al, bool firing_only, struct alert *out, size_t max)
{
	struct entry **v = NULL;
	size_t nf = 0, n = 0;

	if (al->nact)
		v = malloc(al->nact * sizeof *v);
	for (size_t i = 0; v && i < al->nact; i++)
		if (al->act[i]->a.state == AST_FIRING)
			v[nf++] = al->act[i];
	if (v)
		qsort(v, nf, sizeof *v, by_id_desc);
	for (size_t i = 0; i < nf; i++, n++)
		if (n < max)
			out[n] = v[i]->a;
	free(v);
	if (firing_only)
		return n;
	for (size_t i = 0; i < al->rn; i++, n++)
		if (n < max)
			out[n] = al->recent[(al->rhead + al->rn - 1 - i) % al->cfg.max_recent];
	return n;
}

int alerts_get_id(const struct alerts *al, uint64_t id, struct alert *out)
{
	for (size_t i = 0; i < al->nact; i++)
		if (al->act[i]->a.state == AST_FIRING && al->act[i]->a.id == id) {
			*out = al->act[i]->a;
			return 0;
		}
	for (size_t i = 0; i < al->rn; i++) {
		const struct alert *a = &al->recent[(al->rhead + i) % al->cfg.max_recent];

		if (a->id == id) {
			*out = *a;
			return 0;
		}
	}
	return -ENOENT;
}

int alerts_get(const struct alerts *al, const char *key, struct alert *out)
{
	uint64_t id;
	struct entry *e;

	if (parse_id(key, &id))
		return alerts_get_id(al, id, out);
	e = find(al, key);
	if (e && e->a.state == AST_FIRING) {
		*out = e->a;
		return 0;
	}
	for (size_t i = 0; i < al->rn; i++) {       /* newest first */
		const struct alert *a = &al->recent[(al->rhead + al->rn - 1 - i) % al->cfg.max_recent];

		if (strcmp(a->fingerprint, key) == 0) {
			*out = *a;
			return 0;
		}
	}
	return -ENOENT;
}

size_t alerts_silences(const struct alerts *al, struct alert_silence *out, size_t max)
{
	for (size_t i = 0; i < al->nsil && i < max; i++)
		out[i] = al->sil[i];
	return al->nsil;
}

void alerts_get_stats(const struct alerts *al, struct alerts_stats *st)
{
	memset(st, 0, sizeof *st);
	for (size_t i = 0; i < al->nact; i++) {
		if (al->act[i]->a.state == AST_FIRING)
			st->firing++;
		else
			st->pending++;
	}
	st->recent = al->rn;
	st->silences = al->nsil;
	st->dropped = al->dropped;
	st->last_id = al->next_id;
}

bool alerts_has_metric_rules(const struct alerts *al)
{
	for (size_t i = NBUILTIN; i < al->nrules; i++)
		if (al->rules[i].kind == AR_METRIC && !al->rules[i].off)
			return true;
	return false;
}

bool alerts_in_tilt(const struct alerts *al)
{
	return al->tilt;
}
