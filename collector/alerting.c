/* alerting — see alerting.h.  Feeds the engine, carries out its actions. */
#include "collector/alerting.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/delivery.h"
#include "collector/leadership.h"
#include "proto/util.h"
#include "store/alerts_store.h"
#include "store/store.h"

#define METRICS_EVERY_MS 1000
#define GROUPS_EVERY_MS  200
#define LIST_MAX         1000          /* alerts in one answer, at most */

/* What the glue last told the engine about a group. */
struct group_seen {
	char name[PROTO_NAME_MAX + 1];
	int64_t first_ms;
	bool told_quorum, quorum;
	bool told_leader;
	char leader[PROTO_NAME_MAX + 1];
	enum grp_fo_state fo;
	bool fo_quiet;                     /* this one is an election: not alerted */
};

struct alerting {
	struct alerts *eng;
	struct alert_out out;
	struct delivery *dlv;
	struct astore *ast;
	struct store *st;
	struct leadership *lead;           /* as last passed to alerting_tick */
	struct alerting_io io;
	int64_t settle_ms, watch_from_ms;
	struct group_seen *groups;
	size_t ngroups, groupcap;
	int64_t last_metrics_ms, last_metrics_wall, last_groups_ms;
	bool told_recording, recording;
	uint64_t actions[AL_SILENCE_END + 1];
	struct alert *list;                /* LIST_MAX, for views */
};

/* ---- carrying out the engine's actions --------------------------------- */

static void alert_json(struct jw *w, const struct alert *a)
{
	static const char *const holds[] = { "", "inhibited", "silenced" };

	jw_obj_open(w);
	jw_kint(w, "id", (int64_t)a->id);
	jw_kstr(w, "fingerprint", a->fingerprint);
	jw_kstr(w, "rule", a->rule);
	jw_kstr(w, "severity", alerts_severity_name(a->severity));
	jw_kstr(w, "state", alerts_state_name(a->state));
	jw_kstr(w, "node", a->node);
	jw_kstr(w, "group", a->group);
	jw_kstr(w, "metric", a->metric);
	jw_kstr(w, "hook", a->hook);
	jw_kstr(w, "summary", a->summary);
	jw_kint(w, "started_ms", a->started_ms);
	jw_key(w, "resolved_ms");
	if (a->resolved_ms)
		jw_int(w, a->resolved_ms);
	else
		jw_null(w);
	jw_knum(w, "value", a->value);
	jw_knum(w, "threshold", a->threshold);
	jw_kint(w, "folded", a->folded);
	jw_kint(w, "notified", a->notified);
	jw_kstr(w, "held", holds[a->hold]);
	jw_kstr(w, "held_by", a->held_by);
	jw_key(w, "ack");
	if (a->acked) {
		jw_obj_open(w);
		jw_kstr(w, "who", a->ack_who);
		jw_kint(w, "at_ms", a->ack_ms);
		jw_kstr(w, "reason", a->ack_reason);
		jw_obj_close(w);
	} else {
		jw_null(w);
	}
	jw_obj_close(w);
}

static void silence_json(struct jw *w, const struct alert_silence *s)
{
	jw_obj_open(w);
	jw_kint(w, "id", (int64_t)s->id);
	jw_kstr(w, "rule", s->rule[0] ? s->rule : "*");
	jw_kstr(w, "node", s->node[0] ? s->node : "*");
	jw_kstr(w, "group", s->group[0] ? s->group : "*");
	jw_kstr(w, "author", s->author);
	jw_kstr(w, "reason", s->reason);
	jw_kint(w, "created_ms", s->created_ms);
	jw_kint(w, "expires_ms", s->expires_ms);
	jw_obj_close(w);
}

static void store_alert(struct alerting *al, const struct alert *a)
{
	struct astore_alert r;

	if (!al->ast || !a->id)
		return;
	memset(&r, 0, sizeof r);
	r.id = (int64_t)a->id;
	util_strlcpy(r.fingerprint, a->fingerprint, sizeof r.fingerprint);
	util_strlcpy(r.rule, a->rule, sizeof r.rule);
	util_strlcpy(r.node, a->node, sizeof r.node);
	util_strlcpy(r.group, a->group, sizeof r.group);
	util_strlcpy(r.severity, alerts_severity_name(a->severity), sizeof r.severity);
	if (a->state == AST_FIRING && a->hold != AH_NONE)
		util_strlcpy(r.state, a->hold == AH_SILENCED ? "silenced" : "inhibited", sizeof r.state);
	else
		util_strlcpy(r.state, alerts_state_name(a->state), sizeof r.state);
	r.started_ms = a->started_ms;
	r.resolved_ms = a->resolved_ms;
	if (a->acked) {
		util_strlcpy(r.acked_by, a->ack_who, sizeof r.acked_by);
		r.acked_ms = a->ack_ms;
		util_strlcpy(r.ack_reason, a->ack_reason, sizeof r.ack_reason);
	}
	util_strlcpy(r.summary, a->summary, sizeof r.summary);
	astore_put_alert(al->ast, &r);
}

static void store_silence(struct alerting *al, const struct alert_silence *s, int64_t ended_ms)
{
	struct astore_silence r;

	if (!al->ast)
		return;
	memset(&r, 0, sizeof r);
	r.id = (int64_t)s->id;
	util_strlcpy(r.rule, s->rule[0] ? s->rule : "*", sizeof r.rule);
	util_strlcpy(r.node, s->node[0] ? s->node : "*", sizeof r.node);
	util_strlcpy(r.group, s->group[0] ? s->group : "*", sizeof r.group);
	util_strlcpy(r.author, s->author, sizeof r.author);
	util_strlcpy(r.reason, s->reason, sizeof r.reason);
	r.created_ms = s->created_ms;
	r.expires_ms = s->expires_ms;
	r.ended_ms = ended_ms;
	astore_put_silence(al->ast, &r);
}

/* The events row: `vigil history --kind alert` shows it. */
static void store_event(struct alerting *al, const struct alert_action *act, int64_t wall_ms)
{
	struct store_event e;
	const struct alert *a = &act->alert;

	store_event_init(&e);
	e.ts_ms = wall_ms;
	util_strlcpy(e.kind, "alert", sizeof e.kind);
	util_strlcpy(e.to_state, alerts_action_name(act->kind), sizeof e.to_state);
	if (act->kind == AL_SILENCE_END) {
		const struct alert_silence *s = &act->silence;

		util_strlcpy(e.rule, "silence", sizeof e.rule);
		snprintf(e.detail, sizeof e.detail, "silence %llu ended (rule %s, node %s, group %s; "
			 "by %s: %s)", (unsigned long long)s->id, s->rule[0] ? s->rule : "*",
			 s->node[0] ? s->node : "*", s->group[0] ? s->group : "*", s->author, s->reason);
	} else {
		util_strlcpy(e.node, a->node, sizeof e.node);
		util_strlcpy(e.group, a->group, sizeof e.group);
		util_strlcpy(e.rule, a->rule, sizeof e.rule);
		snprintf(e.detail, sizeof e.detail, "alert %llu %.400s (%s)%s%s%s%s: %.400s",
			 (unsigned long long)a->id, a->fingerprint, alerts_severity_name(a->severity),
			 a->held_by[0] ? " held by " : "", a->held_by,
			 a->acked ? " acked by " : "", a->acked ? a->ack_who : "", a->summary);
	}
	store_add_event(al->st, &e);
}

static void publish(struct alerting *al, const struct alert_action *act)
{
	struct jw w;
	int n;

	if (!al->io.publish)
		return;
	jw_init_dynamic(&w, 2048);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "alert");
	jw_kstr(&w, "action", alerts_action_name(act->kind));
	if (act->kind == AL_SILENCE_END) {
		jw_key(&w, "silence");
		silence_json(&w, &act->silence);
	} else {
		jw_key(&w, "alert");
		alert_json(&w, &act->alert);
	}
	jw_obj_close(&w);
	n = jw_finish(&w);
	if (n > 0)
		al->io.publish(al->io.arg, w.buf, (size_t)n);
	free(w.buf);
}

static void apply(struct alerting *al, int64_t wall_ms)
{
	for (size_t i = 0; i < al->out.n; i++) {
		const struct alert_action *act = &al->out.v[i];
		const struct alert *a = &act->alert;

		al->actions[act->kind]++;
		switch (act->kind) {
		case AL_FIRE:
		case AL_RESOLVE:
		case AL_INHIBITED:
		case AL_SILENCED:
			util_log(act->kind == AL_FIRE && a->severity == ASEV_CRITICAL ? "warn" : "info",
				 "alert %llu %s: %s%s%s: %s", (unsigned long long)a->id, a->fingerprint,
				 alerts_action_name(act->kind), a->held_by[0] ? " by " : "", a->held_by,
				 a->summary);
			break;
		default:
			break;
		}
		if (act->kind == AL_SILENCE_END)
			store_silence(al, &act->silence, wall_ms < act->silence.expires_ms ? wall_ms : 0);
		else
			store_alert(al, a);
		if (act->kind != AL_REPEAT || act->notify)
			store_event(al, act, wall_ms);
		publish(al, act);
		delivery_submit(al->dlv, act);
	}
	if (al->out.oom)
		util_log("error", "alerting: an action was lost to a failed allocation");
	alert_out_reset(&al->out);
}

/* ---- life -------------------------------------------------------------- */

/* Silences still in force, read before the engine exists (it needs the
 * highest ids first). */
struct saved_silences {
	struct alert_silence *v;
	size_t n, cap;
};

static int keep_silence(const struct astore_silence *r, void *arg)
{
	struct saved_silences *x = arg;
	struct alert_silence *s, *nv = util_grow(x->v, &x->cap, x->n, sizeof *nv, 16);

	if (!nv)
		return -1;
	x->v = nv;
	s = &nv[x->n++];
	memset(s, 0, sizeof *s);
	s->id = (uint64_t)r->id;
	util_strlcpy(s->rule, strcmp(r->rule, "*") ? r->rule : "", sizeof s->rule);
	util_strlcpy(s->node, strcmp(r->node, "*") ? r->node : "", sizeof s->node);
	util_strlcpy(s->group, strcmp(r->group, "*") ? r->group : "", sizeof s->group);
	util_strlcpy(s->author, r->author, sizeof s->author);
	util_strlcpy(s->reason, r->reason, sizeof s->reason);
	s->created_ms = r->created_ms;
	s->expires_ms = r->expires_ms;
	return 0;
}

struct alerting *alerting_new(const struct alerting_config *cfg, struct store *st,
			      const struct alerting_io *io, int64_t now_ms, int64_t wall_ms,
			      char *err, size_t errlen)
{
	struct alerting *al = calloc(1, sizeof *al);
	struct alerts_config ac;
	int64_t max_alert = 0, max_sil = 0;
	int closed = 0;
	char why[512];
	struct saved_silences saved = { 0 };

	if (!al || !(al->list = calloc(LIST_MAX, sizeof *al->list))) {
		free(al);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	al->st = st;
	al->io = *io;
	al->settle_ms = cfg->settle_ms;
	al->watch_from_ms = now_ms + cfg->startup_grace_ms;
	alert_out_init(&al->out);
	al->ast = astore_open(cfg->db_path, why, sizeof why);
	if (!al->ast)
		util_log("warn", "alerts are not persisted: %s", why);
	else if (astore_start(al->ast, wall_ms, &max_alert, &max_sil, &closed, keep_silence, &saved))
		util_log("warn", "could not read the alerts and silences tables of %s", cfg->db_path);
	else if (closed)
		util_log("info", "closed %d alerts left firing by the previous run; conditions that "
			 "still hold fire again", closed);
	alerts_config_defaults(&ac);
	ac.id_base = (uint64_t)max_alert;
	ac.silence_id_base = (uint64_t)max_sil;
	if (alerts_rules_check(cfg->rules, cfg->nrules, err, errlen))
		goto fail;
	al->eng = alerts_new(&ac, cfg->rules, cfg->nrules);
	if (!al->eng) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < saved.n; i++)
		if (alerts_silence_add(al->eng, now_ms, wall_ms, &saved.v[i], &al->out))
			util_log("warn", "silence %llu from the store could not be restored",
				 (unsigned long long)saved.v[i].id);
	if (saved.n)
		util_log("info", "%zu silences still in force", saved.n);
	alert_out_reset(&al->out);                  /* restoring is not news */
	al->dlv = delivery_new(cfg->sinks, cfg->nsinks, st, err, errlen);
	if (!al->dlv)
		goto fail;
	free(saved.v);
	return al;
fail:
	free(saved.v);
	alerting_free(al);
	return NULL;
}

void alerting_free(struct alerting *al)
{
	if (!al)
		return;
	delivery_free(al->dlv);
	astore_close(al->ast);
	alerts_free(al->eng);
	alert_out_done(&al->out);
	free(al->groups);
	free(al->list);
	free(al);
}

int alerting_reload(struct alerting *al, const struct alert_rule *rules, size_t nrules,
		    const struct sink_spec *sinks, size_t nsinks, char *err, size_t errlen)
{
	struct delivery *nd;
	int rc;

	if (alerts_rules_check(rules, nrules, err, errlen))
		return -1;
	nd = delivery_new(sinks, nsinks, al->st, err, errlen);
	if (!nd)
		return -1;
	rc = alerts_set_rules(al->eng, util_mono_ms(), util_wall_ms(), rules, nrules, &al->out);
	if (rc) {
		delivery_free(nd);
		snprintf(err, errlen, "the rules could not be applied: %s", strerror(-rc));
		return -1;
	}
	delivery_free(al->dlv);
	al->dlv = nd;
	apply(al, util_wall_ms());
	return 0;
}

/* ---- inputs ------------------------------------------------------------ */

void alerting_core_action(struct alerting *al, const struct core_action *a)
{
	int64_t now = util_mono_ms();

	switch (a->kind) {
	case CA_TRANSITION:
		alerts_node_state(al->eng, now, a->wall_ms, a->node, a->group,
				  a->is_new ? a->to : a->from, a->to, a->rule, &al->out);
		break;
	case CA_FLAP:
		alerts_node_flapping(al->eng, now, a->wall_ms, a->node, a->group, a->on, &al->out);
		break;
	case CA_TILT:
		alerts_tilt(al->eng, now, a->wall_ms, a->on, &al->out);
		break;
	default:
		return;
	}
	apply(al, a->wall_ms);
}

void alerting_hook(struct alerting *al, const char *node, const char *group,
		   const struct proto_hook *h)
{
	int64_t wall = util_wall_ms();

	if (h->refused)
		return;
	alerts_hook_result(al->eng, util_mono_ms(), wall, node, group, h->hook, h->rc, &al->out);
	apply(al, wall);
}

void alerting_forget_node(struct alerting *al, const char *node)
{
	int64_t wall = util_wall_ms();
	size_t n = alerts_forget_node(al->eng, util_mono_ms(), wall, node, &al->out);

	if (n)
		util_log("info", "node %s forgotten: %zu of its alerts ended", node, n);
	apply(al, wall);
}

static struct group_seen *group_seen(struct alerting *al, const char *name, int64_t now_ms)
{
	struct group_seen *nv;

	for (size_t i = 0; i < al->ngroups; i++)
		if (strcmp(al->groups[i].name, name) == 0)
			return &al->groups[i];
	nv = util_grow(al->groups, &al->groupcap, al->ngroups, sizeof *nv, 16);
	if (!nv)
		return NULL;
	al->groups = nv;
	memset(&nv[al->ngroups], 0, sizeof *nv);
	util_strlcpy(nv[al->ngroups].name, name, sizeof nv->name);
	nv[al->ngroups].first_ms = now_ms;
	return &nv[al->ngroups++];
}

static int fo_state_parse(const char *s, enum grp_fo_state *out)
{
	for (int i = FO_DEMOTE; i < FO_STATE_COUNT; i++)
		if (strcmp(groups_fo_state_name((enum grp_fo_state)i), s) == 0) {
			*out = (enum grp_fo_state)i;
			return 0;
		}
	return -1;
}

void alerting_lead_event(struct alerting *al, const char *text, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *ev = root ? cJSON_GetObjectItemCaseSensitive(root, "event") : NULL;
	const cJSON *kind = ev ? cJSON_GetObjectItemCaseSensitive(ev, "kind") : NULL;
	const cJSON *rule = ev ? cJSON_GetObjectItemCaseSensitive(ev, "rule") : NULL;
	const cJSON *grp = ev ? cJSON_GetObjectItemCaseSensitive(ev, "group") : NULL;
	const cJSON *node = ev ? cJSON_GetObjectItemCaseSensitive(ev, "node") : NULL;
	int64_t now = util_mono_ms(), wall = util_wall_ms();
	struct group_seen *g;
	enum grp_fo_state to;

	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "failover") ||
	    !cJSON_IsString(rule) || !cJSON_IsString(grp) || !grp->valuestring[0])
		goto out;
	g = group_seen(al, grp->valuestring, now);
	if (!g)
		goto out;
	if (fo_state_parse(rule->valuestring, &to) == 0) {
		if (g->fo == FO_IDLE) {
			/* An election (the group had no leader) is not a failover:
			 * group_no_leader speaks for that. */
			struct grp_info gi;

			g->fo_quiet = al->lead && lead_group_info(al->lead, now, g->name, &gi) == 0 &&
				      (gi.fo_kind == FOK_ELECT || gi.fo_kind == FOK_ADOPT);
		}
		if (to != g->fo && !g->fo_quiet)
			alerts_failover(al->eng, now, wall, g->name, g->fo, to, "",
					cJSON_IsString(node) ? node->valuestring : "", &al->out);
		g->fo = to;
	} else if (!strcmp(rule->valuestring, "confirmed") || !strcmp(rule->valuestring, "aborted") ||
		   !strcmp(rule->valuestring, "failed")) {
		if (!g->fo_quiet)
			alerts_failover(al->eng, now, wall, g->name, g->fo, FO_IDLE, rule->valuestring,
					cJSON_IsString(node) ? node->valuestring : "", &al->out);
		g->fo = FO_IDLE;
		g->fo_quiet = false;
	}
	apply(al, wall);
out:
	cJSON_Delete(root);
}

/* Quorum and leader, once settled; told to the engine on change only. */
static void watch_groups(struct alerting *al, int64_t now, int64_t wall, struct core *core,
			 struct leadership *lead)
{
	size_t n = core_group_count(core);
	struct core_group_info ci;
	struct grp_info gi;

	for (size_t i = 0; i < n; i++) {
		struct group_seen *g;

		if (core_group_info(core, i, &ci) || !(g = group_seen(al, ci.name, now)))
			continue;
		if (now < al->watch_from_ms || now - g->first_ms < al->settle_ms)
			continue;
		if (lead_group_info(lead, now, ci.name, &gi))
			continue;
		if (!g->told_quorum || g->quorum != gi.quorum) {
			alerts_group_quorum(al->eng, now, wall, g->name, gi.quorum, &al->out);
			g->told_quorum = true;
			g->quorum = gi.quorum;
		}
		if (!g->told_leader || strcmp(g->leader, gi.leader)) {
			alerts_group_leader(al->eng, now, wall, g->name, gi.leader, &al->out);
			g->told_leader = true;
			util_strlcpy(g->leader, gi.leader, sizeof g->leader);
		}
	}
}

/* One sample per node that sent a heartbeat since the last pass. */
static void feed_metrics(struct alerting *al, int64_t now, int64_t wall, struct core *core)
{
	size_t n = alerts_has_metric_rules(al->eng) ? core_node_count(core) : 0;
	struct core_node_metrics nm;

	/* Once a second over every node, in one go: no copies (at 10,000 nodes
	 * copying each node's core_node_info held heartbeats up for 13 ms). */
	for (size_t i = 0; i < n; i++) {
		if (core_node_metrics(core, i, &nm) || !nm.connected ||
		    nm.last_hb_wall_ms <= al->last_metrics_wall)
			continue;
		alerts_metrics(al->eng, now, wall, nm.name, nm.group,
			       nm.interval_ms > METRICS_EVERY_MS ? nm.interval_ms : METRICS_EVERY_MS,
			       nm.m, &al->out);
	}
	al->last_metrics_wall = wall;
}

void alerting_tick(struct alerting *al, int64_t now_ms, int64_t wall_ms, struct core *core,
		   struct leadership *lead, bool recording, const char *store_error)
{
	al->lead = lead;
	if (!al->told_recording || al->recording != recording) {
		alerts_recording(al->eng, now_ms, wall_ms, recording, store_error, &al->out);
		al->told_recording = true;
		al->recording = recording;
	}
	if (now_ms - al->last_groups_ms >= GROUPS_EVERY_MS) {
		al->last_groups_ms = now_ms;
		watch_groups(al, now_ms, wall_ms, core, lead);
	}
	if (now_ms - al->last_metrics_ms >= METRICS_EVERY_MS) {
		al->last_metrics_ms = now_ms;
		feed_metrics(al, now_ms, wall_ms, core);
	}
	alerts_tick(al->eng, now_ms, wall_ms, &al->out);
	apply(al, wall_ms);
}

/* ---- operators ---------------------------------------------------------- */

static void result_head(struct jw *w, int64_t id, bool ok, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void result_head(struct jw *w, int64_t id, bool ok, const char *code, const char *fmt, ...)
{
	char msg[512] = "";
	va_list ap;

	jw_obj_open(w);
	jw_kstr(w, "type", "result");
	jw_kint(w, "id", id);
	jw_kbool(w, "ok", ok);
	if (!ok) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		jw_key(w, "error");
		jw_obj_open(w);
		jw_kstr(w, "code", code);
		jw_kstr(w, "message", msg);
		jw_obj_close(w);
	}
}

void alerting_query(struct alerting *al, const struct oper_msg *q, struct jw *w)
{
	result_head(w, q->id, true, NULL, "%s", "");
	jw_key(w, "data");
	jw_obj_open(w);
	if (strcmp(q->what, "silences") == 0) {
		static struct alert_silence v[256];
		size_t n = alerts_silences(al->eng, v, sizeof v / sizeof v[0]);

		jw_key(w, "silences");
		jw_arr_open(w);
		for (size_t i = 0; i < n && i < sizeof v / sizeof v[0]; i++)
			silence_json(w, &v[i]);
		jw_arr_close(w);
	} else {
		size_t max = q->limit > 0 && q->limit < LIST_MAX ? (size_t)q->limit : LIST_MAX;
		size_t n = alerts_list(al->eng, q->firing, al->list, max);
		struct alerts_stats st;

		alerts_get_stats(al->eng, &st);
		jw_kint(w, "total", (int64_t)n);
		jw_kint(w, "firing", (int64_t)st.firing);
		jw_kint(w, "pending", (int64_t)st.pending);
		jw_key(w, "alerts");
		jw_arr_open(w);
		for (size_t i = 0; i < n && i < max; i++)
			alert_json(w, &al->list[i]);
		jw_arr_close(w);
	}
	jw_obj_close(w);
	jw_obj_close(w);
}

bool alerting_handles_verb(const char *verb)
{
	return !strcmp(verb, "ack") || !strcmp(verb, "silence_add") ||
	       !strcmp(verb, "silence_expire");
}

static void audit(struct alerting *al, int64_t wall, const char *who, const char *role,
		  const struct oper_msg *q, const char *target, const char *node, const char *group,
		  const char *result, const char *text)
{
	struct store_audit a;

	memset(&a, 0, sizeof a);
	a.ts_ms = wall;
	util_strlcpy(a.operator_name, who, sizeof a.operator_name);
	util_strlcpy(a.role, role, sizeof a.role);
	util_strlcpy(a.command, q->verb, sizeof a.command);
	util_strlcpy(a.target, target, sizeof a.target);
	util_strlcpy(a.reason, q->reason, sizeof a.reason);
	util_strlcpy(a.result, result, sizeof a.result);
	util_strlcpy(a.node, node, sizeof a.node);
	util_strlcpy(a.group, group, sizeof a.group);
	util_strlcpy(a.detail, text, sizeof a.detail);
	store_add_audit(al->st, &a, NULL);
	util_log(strcmp(result, "ok") ? "warn" : "info", "operator %s (%s): %s %s: %s: %s", who, role,
		 q->verb, target, result, text);
}

void alerting_command(struct alerting *al, const char *who, const char *role, bool may_act,
		      const struct oper_msg *q, struct jw *w)
{
	int64_t now = util_mono_ms(), wall = util_wall_ms();
	char target[PROTO_ALERT_KEY_MAX + 64], text[600];
	struct alert a;
	int rc;

	if (!strcmp(q->verb, "ack"))
		snprintf(target, sizeof target, "%s", q->alert);
	else if (!strcmp(q->verb, "silence_expire"))
		snprintf(target, sizeof target, "silence %lld", (long long)q->silence_id);
	else
		snprintf(target, sizeof target, "rule=%s node=%s group=%s for %llds",
			 q->rule[0] ? q->rule : "*", q->node[0] ? q->node : "*",
			 q->group[0] ? q->group : "*", (long long)(q->for_ms / 1000));
	if (!may_act) {
		snprintf(text, sizeof text, "operator %s has the role %s, which may watch but not act",
			 who, role);
		audit(al, wall, who, role, q, target, q->node, q->group, "forbidden", text);
		result_head(w, q->id, false, "forbidden", "%s", text);
		jw_obj_close(w);
		return;
	}
	if (q->dry_run) {
		result_head(w, q->id, false, "bad_request", "%s has no dry run", q->verb);
		jw_obj_close(w);
		return;
	}
	if (!strcmp(q->verb, "ack")) {
		rc = alerts_ack(al->eng, now, wall, q->alert, who, q->reason, &al->out);
		if (rc) {
			const char *code = rc == -ENOENT ? "unknown_alert" : rc == -EALREADY ?
					   "already_acked" : "bad_request";

			if (rc == -EALREADY && alerts_get(al->eng, q->alert, &a) == 0)
				snprintf(text, sizeof text, "alert %.200s was already acknowledged by %s: %.200s",
					 q->alert, a.ack_who, a.ack_reason);
			else
				snprintf(text, sizeof text, rc == -ENOENT ? "no firing alert '%s' (see "
					 "vigil alerts)" : "cannot acknowledge '%s'", q->alert);
			audit(al, wall, who, role, q, target, "", "", "refused", text);
			result_head(w, q->id, false, code, "%s", text);
			jw_obj_close(w);
			return;
		}
		apply(al, wall);
		alerts_get(al->eng, q->alert, &a);
		snprintf(text, sizeof text, "alert %llu %s acknowledged", (unsigned long long)a.id,
			 a.fingerprint);
		audit(al, wall, who, role, q, target, a.node, a.group, "ok", text);
		result_head(w, q->id, true, NULL, "%s", "");
		jw_key(w, "data");
		jw_obj_open(w);
		jw_key(w, "alert");
		alert_json(w, &a);
		jw_kstr(w, "text", text);
		jw_obj_close(w);
		jw_obj_close(w);
		return;
	}
	if (!strcmp(q->verb, "silence_add")) {
		struct alert_silence s;

		memset(&s, 0, sizeof s);
		util_strlcpy(s.rule, q->rule, sizeof s.rule);
		util_strlcpy(s.node, q->node, sizeof s.node);
		util_strlcpy(s.group, q->group, sizeof s.group);
		util_strlcpy(s.author, who, sizeof s.author);
		util_strlcpy(s.reason, q->reason, sizeof s.reason);
		s.created_ms = wall;
		s.expires_ms = wall + q->for_ms;
		rc = alerts_silence_add(al->eng, now, wall, &s, &al->out);
		if (rc) {
			snprintf(text, sizeof text, rc == -ENOSPC ? "too many silences (expire some)" :
				 "the silence was refused (%s)", strerror(-rc));
			audit(al, wall, who, role, q, target, q->node, q->group, "refused", text);
			result_head(w, q->id, false, rc == -ENOSPC ? "too_many" : "bad_request", "%s", text);
			jw_obj_close(w);
			return;
		}
		store_silence(al, &s, 0);
		apply(al, wall);
		snprintf(text, sizeof text, "silence %llu added", (unsigned long long)s.id);
		audit(al, wall, who, role, q, target, q->node, q->group, "ok", text);
		result_head(w, q->id, true, NULL, "%s", "");
		jw_key(w, "data");
		jw_obj_open(w);
		jw_key(w, "silence");
		silence_json(w, &s);
		jw_kstr(w, "text", text);
		jw_obj_close(w);
		jw_obj_close(w);
		return;
	}
	/* silence_expire */
	{
		static struct alert_silence v[256];
		size_t n = alerts_silences(al->eng, v, sizeof v / sizeof v[0]);
		struct alert_silence s = { 0 };

		for (size_t i = 0; i < n && i < sizeof v / sizeof v[0]; i++)
			if ((int64_t)v[i].id == q->silence_id)
				s = v[i];
		rc = alerts_silence_expire(al->eng, now, wall, (uint64_t)q->silence_id, &al->out);
		if (rc) {
			snprintf(text, sizeof text, "no silence %lld in force (see vigil silence list)",
				 (long long)q->silence_id);
			audit(al, wall, who, role, q, target, "", "", "refused", text);
			result_head(w, q->id, false, "unknown_silence", "%s", text);
			jw_obj_close(w);
			return;
		}
		/* The engine's SILENCE_END row records the end; this one says who. */
		apply(al, wall);
		snprintf(text, sizeof text, "silence %lld expired", (long long)q->silence_id);
		audit(al, wall, who, role, q, target, s.node, s.group, "ok", text);
		result_head(w, q->id, true, NULL, "%s", "");
		jw_key(w, "data");
		jw_obj_open(w);
		jw_kint(w, "silence_id", q->silence_id);
		jw_kstr(w, "text", text);
		jw_obj_close(w);
		jw_obj_close(w);
	}
}

/* ---- views -------------------------------------------------------------- */

void alerting_view_firing(struct alerting *al, struct jw *w)
{
	size_t n = alerts_list(al->eng, true, al->list, LIST_MAX);

	jw_key(w, "alerts");
	jw_arr_open(w);
	for (size_t i = 0; i < n && i < LIST_MAX; i++)
		alert_json(w, &al->list[i]);
	jw_arr_close(w);
}

static void line(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(struct jw *w, const char *fmt, ...)
{
	char buf[1400];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		jw_raw(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Prometheus label values: escape \ " and newlines (targets are paths and URLs). */
static void label_value(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

void alerting_metrics(struct alerting *al, struct jw *w)
{
	static const char *const results[] = { "ok", "retried", "failed", "dropped" };
	struct alerts_stats st;
	size_t n = delivery_count(al->dlv);

	alerts_get_stats(al->eng, &st);
	line(w, "# HELP vigil_alerts_firing Alerts firing now.\n# TYPE vigil_alerts_firing gauge\n"
	     "vigil_alerts_firing %zu\n", st.firing);
	line(w, "# HELP vigil_alerts_pending Alerts whose condition holds, waiting for their 'for'.\n"
	     "# TYPE vigil_alerts_pending gauge\nvigil_alerts_pending %zu\n", st.pending);
	line(w, "# HELP vigil_silences Silences in force.\n# TYPE vigil_silences gauge\n"
	     "vigil_silences %zu\n", st.silences);
	line(w, "# HELP vigil_alerts_dropped_total Alerts not created: too many active.\n"
	     "# TYPE vigil_alerts_dropped_total counter\nvigil_alerts_dropped_total %llu\n",
	     (unsigned long long)st.dropped);
	line(w, "# HELP vigil_alert_actions_total Alert engine actions carried out, by action.\n"
	     "# TYPE vigil_alert_actions_total counter\n");
	for (int k = AL_FIRE; k <= AL_SILENCE_END; k++)
		line(w, "vigil_alert_actions_total{action=\"%s\"} %llu\n",
		     alerts_action_name((enum alert_action_kind)k), (unsigned long long)al->actions[k]);
	line(w, "# HELP vigil_alert_deliveries_total Notifications to sinks, by outcome (ok, "
	     "retried attempt, failed after retries, dropped).\n"
	     "# TYPE vigil_alert_deliveries_total counter\n");
	for (size_t i = 0; i < n; i++) {
		struct delivery_sink_stats ds;
		char tv[CONFIG_TARGET_MAX * 2];
		uint64_t v[4];

		delivery_stats(al->dlv, i, &ds);
		label_value(ds.target, tv, sizeof tv);
		v[0] = ds.ok;
		v[1] = ds.retried;
		v[2] = ds.failed;
		v[3] = ds.dropped;
		for (int r = 0; r < 4; r++)
			line(w, "vigil_alert_deliveries_total{sink=\"%s\",target=\"%.900s\",result=\"%s\"} "
			     "%llu\n", config_sink_kind_name(ds.kind), tv, results[r],
			     (unsigned long long)v[r]);
	}
	line(w, "# HELP vigil_alert_delivery_queue Notifications waiting per sink.\n"
	     "# TYPE vigil_alert_delivery_queue gauge\n");
	for (size_t i = 0; i < n; i++) {
		struct delivery_sink_stats ds;
		char tv[CONFIG_TARGET_MAX * 2];

		delivery_stats(al->dlv, i, &ds);
		label_value(ds.target, tv, sizeof tv);
		line(w, "vigil_alert_delivery_queue{sink=\"%s\",target=\"%.900s\"} %zu\n",
		     config_sink_kind_name(ds.kind), tv, ds.queued);
	}
	if (al->ast) {
		struct astore_stats as;

		astore_get_stats(al->ast, &as);
		line(w, "# HELP vigil_alert_rows_lost_total Alert and silence rows the store could not "
		     "write after retries.\n# TYPE vigil_alert_rows_lost_total counter\n"
		     "vigil_alert_rows_lost_total %llu\n", (unsigned long long)(as.rows_lost +
									 as.rows_refused));
	}
}
