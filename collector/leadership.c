/* leadership — see leadership.h.  Thin on purpose: every decision is made in
 * collector/groups.c; this file carries its actions out, in order, and
 * translates between the wire, the store and the groups module. */
#include "collector/leadership.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/util.h"
#include "store/store.h"

/* What the glue remembers of a failover under way, for the failovers table. */
struct fo_track {
	char group[PROTO_NAME_MAX + 1];
	bool active;
	enum grp_fo_kind kind;
	int64_t started_ms, detected_ms, decided_ms;       /* wall */
	char old_leader[PROTO_NAME_MAX + 1];
	/* the last one that ended */
	bool have_last;
	char last_outcome[16];
	enum grp_fo_kind last_kind;
	char last_old[PROTO_NAME_MAX + 1], last_new[PROTO_NAME_MAX + 1];
	int64_t last_epoch, last_ts_ms, last_duration_ms;
};

struct leadership {
	struct groups *g;
	struct store *st;
	struct core *core;
	struct lead_io io;
	struct grp_out out;
	struct fo_track *fo;
	size_t nfo, focap;
	size_t *fo_idx;             /* open addressing by group: index into fo + 1, 0 empty */
	size_t fo_icap;             /* a power of two, or 0 */
	/* Views: a status lists its nodes by group, so lead_node_view keeps the
	 * last group's leader; valid while gen (bumped by every input that can
	 * change the groups) is unchanged. */
	uint64_t gen;
	uint64_t vc_gen;            /* 0: nothing cached */
	char vc_group[PROTO_NAME_MAX + 1];
	char vc_leader[PROTO_NAME_MAX + 1];
	char scratch[PROTO_MAX_FRAME + 1];
};

static void apply(struct leadership *l, int64_t now_ms, int64_t wall_ms);

static int64_t to_wall(int64_t mono, int64_t now_ms, int64_t wall_ms)
{
	return mono ? wall_ms + (mono - now_ms) : 0;
}

static size_t fo_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return (size_t)h;
}

/* The failover record of group, or NULL: one probe sequence, not a scan
 * (lead_view_group runs once per group per status). */
static struct fo_track *fo_find(const struct leadership *l, const char *group)
{
	size_t mask = l->fo_icap - 1;

	if (!l->fo_icap)
		return NULL;
	for (size_t i = fo_hash(group) & mask; l->fo_idx[i]; i = (i + 1) & mask)
		if (strcmp(l->fo[l->fo_idx[i] - 1].group, group) == 0)
			return &l->fo[l->fo_idx[i] - 1];
	return NULL;
}

/* Records are never removed: the index only grows (load at most 1/2). */
static int fo_index_grow(struct leadership *l)
{
	size_t ncap = l->fo_icap ? l->fo_icap * 2 : 32;
	size_t *ni = calloc(ncap, sizeof *ni);

	if (!ni)
		return -ENOMEM;
	for (size_t k = 0; k < l->nfo; k++) {
		size_t i = fo_hash(l->fo[k].group) & (ncap - 1);

		while (ni[i])
			i = (i + 1) & (ncap - 1);
		ni[i] = k + 1;
	}
	free(l->fo_idx);
	l->fo_idx = ni;
	l->fo_icap = ncap;
	return 0;
}

static struct fo_track *track(struct leadership *l, const char *group)
{
	struct fo_track *t = fo_find(l, group);
	size_t i;

	if (t)
		return t;
	if ((l->nfo + 1) * 2 > l->fo_icap && fo_index_grow(l))
		return NULL;
	if (l->nfo == l->focap) {
		size_t ncap = l->focap ? l->focap * 2 : 16;
		struct fo_track *nv = realloc(l->fo, ncap * sizeof *nv);

		if (!nv)
			return NULL;
		l->fo = nv;
		l->focap = ncap;
	}
	memset(&l->fo[l->nfo], 0, sizeof l->fo[0]);
	util_strlcpy(l->fo[l->nfo].group, group, sizeof l->fo[0].group);
	for (i = fo_hash(group) & (l->fo_icap - 1); l->fo_idx[i]; i = (i + 1) & (l->fo_icap - 1))
		;
	l->fo_idx[i] = l->nfo + 1;
	return &l->fo[l->nfo++];
}

/* ---- start ------------------------------------------------------------- */

struct restore_ctx {
	struct leadership *l;
	int64_t now_ms, wall_ms;
	int groups, overrides;
};

static int restore_group(const struct store_group_row *r, void *arg)
{
	struct restore_ctx *x = arg;
	const char *members[STORE_GROUP_MEMBERS_MAX];
	int rc;

	for (int i = 0; i < r->nmembers; i++)
		members[i] = r->members[i];
	rc = groups_restore(x->l->g, x->now_ms, r->name, r->epoch, r->leader, members, r->nmembers);
	if (rc)
		util_log("warn", "group %s: could not restore it from the store (%s)", r->name,
			 strerror(-rc));
	else
		x->groups++;
	return 0;
}

static int restore_override(const struct store_override *o, void *arg)
{
	struct restore_ctx *x = arg;
	int64_t until = 0;

	if (o->until_ms) {
		if (o->until_ms <= x->wall_ms) {         /* ended while we were down */
			store_override_set(x->l->st, o, false);
			return 0;
		}
		until = x->now_ms + (o->until_ms - x->wall_ms);
	}
	if (groups_restore_override(x->l->g, x->now_ms, o->group, o->node, until, o->who,
				    o->reason) == 0) {
		x->overrides++;
		util_log("info", "group %s: %s%s%s still in force (set by %s: %s)", o->group, o->kind,
			 o->node[0] ? " of " : "", o->node, o->who, o->reason);
	}
	return 0;
}

struct leadership *lead_new(const struct groups_config *cfg, struct store *st, struct core *core,
			    const struct lead_io *io, int64_t now_ms, int64_t wall_ms,
			    char *err, size_t errlen)
{
	struct leadership *l;
	struct groups_config c = *cfg;
	struct restore_ctx x = { .now_ms = now_ms, .wall_ms = wall_ms };

	if (groups_config_check(&c, err, errlen))
		return NULL;
	l = calloc(1, sizeof *l);
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Command ids differ across restarts, so that a late hook result of the
	 * previous run matches nothing; they stay below 2^53 (JSON numbers). */
	c.cmd_id_base = (uint64_t)wall_ms * 1000;
	l->g = groups_new(&c);
	if (!l->g) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->st = st;
	l->core = core;
	l->io = *io;
	l->gen = 1;                       /* vc_gen 0: nothing cached yet */
	grp_out_init(&l->out);
	x.l = l;
	if (store_load_groups(st, restore_group, &x) || store_load_overrides(st, restore_override, &x))
		util_log("warn", "could not read all groups and overrides from the store");
	if (x.groups)
		util_log("info", "restored %d groups (epochs, leaders, members) and %d overrides",
			 x.groups, x.overrides);
	return l;
}

void lead_free(struct leadership *l)
{
	if (!l)
		return;
	groups_free(l->g);
	grp_out_done(&l->out);
	free(l->fo);
	free(l->fo_idx);
	free(l);
}

/* ---- inputs ------------------------------------------------------------ */

static enum grp_role role_of(const char *s)
{
	if (strcmp(s, "leader") == 0)
		return GROLE_LEADER;
	if (strcmp(s, "claiming") == 0)
		return GROLE_CLAIMING;
	return GROLE_FOLLOWER;
}

void lead_node(struct leadership *l, int64_t now_ms, int64_t wall_ms,
	       const struct core_node_info *ni)
{
	struct grp_member_update u;
	int rc;

	memset(&u, 0, sizeof u);
	util_strlcpy(u.node, ni->name, sizeof u.node);
	util_strlcpy(u.group, ni->group, sizeof u.group);
	u.priority = ni->priority;
	u.state = ni->state;
	u.flapping = ni->flapping;
	u.no_failover = ni->no_failover;
	u.role = role_of(ni->agent_role);
	u.connected = ni->connected;
	rc = groups_member(l->g, now_ms, &u, &l->out);
	if (rc == 0 && ni->agent_epoch > 0)
		groups_epoch_seen(l->g, ni->group, ni->agent_epoch);
	if (rc == -EEXIST)
		util_log("warn", "node %s now says it is in group %s but is an expected member of "
			 "another group: run `vigil forget %s` there first", ni->name, ni->group,
			 ni->name);
	else if (rc == -ENOSPC)
		util_log("warn", "group %s: more than %d members; node %s is not counted", ni->group,
			 GRP_MEMBERS_MAX, ni->name);
	apply(l, now_ms, wall_ms);
}

int lead_heartbeat(struct leadership *l, int64_t now_ms, const char *node, const char *group,
		   int64_t seq, char *buf, size_t cap)
{
	struct grp_grant gg;
	struct proto_grant pg;
	int n;

	l->gen++;
	groups_heartbeat(l->g, now_ms, node, &gg);
	if (!gg.member)
		return 0;
	memset(&pg, 0, sizeof pg);
	pg.seq = seq;
	util_strlcpy(pg.group, group, sizeof pg.group);
	pg.epoch = gg.epoch;
	util_strlcpy(pg.leader, gg.leader, sizeof pg.leader);
	pg.lease_ms = gg.lease_ms;
	n = proto_encode_grant(buf, cap, &pg);
	return n > 0 ? n : 0;
}

void lead_hook(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *node,
	       const char *group, const struct proto_hook *h)
{
	struct store_hook_run r;
	int kind = proto_hook_parse(h->hook);

	memset(&r, 0, sizeof r);
	r.ts_ms = wall_ms;
	util_strlcpy(r.node, node, sizeof r.node);
	util_strlcpy(r.group, group, sizeof r.group);
	if (h->refused) {
		snprintf(r.hook, sizeof r.hook, "%s_refused", h->hook);
		snprintf(r.output, sizeof r.output, "refused: epoch %lld is older than %lld, the "
			 "newest this agent has seen", (long long)h->epoch, (long long)h->seen_epoch);
		r.rc = -2;
	} else {
		util_strlcpy(r.hook, h->hook, sizeof r.hook);
		util_strlcpy(r.output, h->output, sizeof r.output);
		r.rc = h->rc;
	}
	r.epoch = h->epoch;
	r.duration_ms = h->duration_ms;
	store_add_hook_run(l->st, &r, NULL);
	if (h->refused)
		util_log("warn", "node %s (group %s): REFUSED %s at epoch %lld: it has seen epoch %lld",
			 node, group, h->hook, (long long)h->epoch, (long long)h->seen_epoch);
	else
		util_log(h->rc ? "warn" : "info", "node %s (group %s): %s hook at epoch %lld exited "
			 "%d after %lld ms (%s)", node, group, h->hook, (long long)h->epoch, h->rc,
			 (long long)h->duration_ms, h->reason[0] ? h->reason : "command");
	if (h->refused) {
		/* The agent has seen a newer epoch than this collector remembers
		 * (a lost or replaced store): the command failed, and the next
		 * attempt must take an epoch above what the agent has seen. */
		groups_epoch_seen(l->g, group, h->seen_epoch);
		groups_hook_result(l->g, now_ms, node, (enum grp_hook)kind, h->epoch,
				   (uint64_t)h->cmd_id, -2, "refused: stale epoch", &l->out);
	} else {
		groups_hook_result(l->g, now_ms, node, (enum grp_hook)kind, h->epoch,
				   (uint64_t)h->cmd_id, h->rc, h->output, &l->out);
	}
	apply(l, now_ms, wall_ms);
}

void lead_tick(struct leadership *l, int64_t now_ms, int64_t wall_ms, bool in_tilt)
{
	groups_tick(l->g, now_ms, in_tilt, &l->out);
	apply(l, now_ms, wall_ms);
}

/* ---- carrying out the actions ------------------------------------------ */

static void store_row(struct leadership *l, int64_t wall_ms, const char *kind, const char *node,
		      const char *group, const char *rule, const char *detail)
{
	struct store_event e;

	store_event_init(&e);
	e.ts_ms = wall_ms;
	util_strlcpy(e.node, node, sizeof e.node);
	util_strlcpy(e.group, group, sizeof e.group);
	util_strlcpy(e.kind, kind, sizeof e.kind);
	util_strlcpy(e.rule, rule, sizeof e.rule);
	util_strlcpy(e.detail, detail, sizeof e.detail);
	store_add_event(l->st, &e);
}

static void publish(struct leadership *l, int64_t wall_ms, const char *node, const char *group,
		    const char *rule, const char *detail)
{
	struct jw w;
	int n;

	jw_init(&w, l->scratch, sizeof l->scratch);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "event");
	jw_key(&w, "event");
	jw_obj_open(&w);
	jw_kint(&w, "ts_ms", wall_ms);
	jw_kstr(&w, "node", node);
	jw_kstr(&w, "group", group);
	jw_kstr(&w, "kind", "failover");
	jw_kstr(&w, "from", "");
	jw_kstr(&w, "to", "");
	jw_kstr(&w, "rule", rule);
	jw_kstr(&w, "detail", detail);
	jw_obj_close(&w);
	jw_obj_close(&w);
	n = jw_finish(&w);
	if (n > 0)
		l->io.publish(l->io.arg, l->scratch, (size_t)n);
}

static void do_set_epoch(struct leadership *l, int64_t now_ms, const struct grp_action *a)
{
	int rc = store_group_set_epoch_sync(l->st, a->group, a->epoch, a->node);

	if (rc)
		util_log("error", "group %s: could not make epoch %lld durable (%s): nothing is sent "
			 "at that epoch", a->group, (long long)a->epoch,
			 rc == -ESTALE ? "the store holds a newer epoch" : strerror(-rc));
	groups_epoch_persisted(l->g, now_ms, a->group, a->epoch, rc == 0, &l->out);
}

static void do_send(struct leadership *l, const struct grp_action *a)
{
	struct proto_command c;
	struct grp_info gi;
	int n;

	memset(&c, 0, sizeof c);
	c.cmd_id = (int64_t)a->cmd_id;
	util_strlcpy(c.hook, groups_hook_name(a->hook), sizeof c.hook);
	util_strlcpy(c.group, a->group, sizeof c.group);
	c.epoch = a->epoch;
	util_strlcpy(c.old_leader, a->old_leader, sizeof c.old_leader);
	if (groups_info(l->g, 0, a->group, &gi) == 0 && gi.fo_kind != FOK_NONE)
		snprintf(c.reason, sizeof c.reason, "%s failover%s%s%s%s",
			 groups_fo_kind_name(gi.fo_kind), a->old_leader[0] ? " from " : "",
			 a->old_leader, gi.fo_target[0] ? " to " : "", gi.fo_target);
	else
		snprintf(c.reason, sizeof c.reason, "%s at epoch %lld", c.hook, (long long)a->epoch);
	n = proto_encode_command(l->scratch, sizeof l->scratch, &c);
	if (n <= 0)
		return;
	if (l->io.send_node(l->io.arg, a->node, l->scratch, (size_t)n))
		util_log("warn", "group %s: %s for %s at epoch %lld not sent: not connected", a->group,
			 c.hook, a->node, (long long)a->epoch);
	else
		util_log("info", "group %s: sent %s to %s at epoch %lld (%s)", a->group, c.hook,
			 a->node, (long long)a->epoch, c.reason);
}

static int64_t failed_since(struct leadership *l, const char *node, int64_t wall_ms)
{
	struct core_node_info ni;

	if (node[0] && core_node_find(l->core, node, 0, &ni) == 0 &&
	    (ni.state == NODE_FAILED || ni.state == NODE_SUSPECT))
		return ni.state_since_wall_ms;
	return wall_ms;
}

static void do_state(struct leadership *l, int64_t wall_ms, const struct grp_action *a)
{
	struct fo_track *t = track(l, a->group);
	const char *to = a->to == FO_IDLE ? a->code : groups_fo_state_name(a->to);

	util_log(a->to == FO_IDLE && strcmp(a->code, "confirmed") ? "warn" : "info",
		 "group %s: failover %s", a->group, a->text);
	if (!t)
		return;
	if (!t->active) {
		t->active = true;
		t->kind = a->fo_kind;
		t->started_ms = wall_ms;
		t->detected_ms = a->fo_kind == FOK_AUTO ? failed_since(l, a->old_leader, wall_ms) : -1;
		t->decided_ms = -1;
		util_strlcpy(t->old_leader, a->old_leader, sizeof t->old_leader);
	}
	if (a->to == FO_DECIDE)
		t->decided_ms = wall_ms;
	if (a->to != FO_IDLE) {
		store_row(l, wall_ms, "failover", a->node, a->group, to, a->text);
		publish(l, wall_ms, a->node, a->group, to, a->text);
		return;
	}
	/* The end: one row in the failovers table (with its summary event). */
	{
		struct store_failover f;
		bool ok = strcmp(a->code, "confirmed") == 0;

		store_failover_init(&f);
		util_strlcpy(f.group, a->group, sizeof f.group);
		f.started_ms = t->started_ms;
		f.detected_ms = t->detected_ms;
		f.decided_ms = t->decided_ms;
		f.promoted_ms = ok ? wall_ms : -1;
		f.finished_ms = wall_ms;
		util_strlcpy(f.old_leader, t->old_leader, sizeof f.old_leader);
		util_strlcpy(f.new_leader, ok ? a->node : "", sizeof f.new_leader);
		f.epoch = ok ? a->epoch : -1;
		util_strlcpy(f.outcome, a->code, sizeof f.outcome);
		snprintf(f.reason, sizeof f.reason, "%s", groups_fo_kind_name(t->kind));
		util_strlcpy(f.detail, a->text, sizeof f.detail);
		store_add_failover(l->st, &f, NULL);
		publish(l, wall_ms, a->node, a->group, a->code, a->text);
		t->active = false;
		t->have_last = true;
		util_strlcpy(t->last_outcome, a->code, sizeof t->last_outcome);
		t->last_kind = t->kind;
		util_strlcpy(t->last_old, t->old_leader, sizeof t->last_old);
		util_strlcpy(t->last_new, ok ? a->node : "", sizeof t->last_new);
		t->last_epoch = ok ? a->epoch : -1;
		t->last_ts_ms = wall_ms;
		t->last_duration_ms = wall_ms - t->started_ms;
	}
}

static void do_record(struct leadership *l, int64_t wall_ms, const struct grp_action *a)
{
	/* Operator commands are audited by lead_command, with the operator. */
	if (strcmp(a->code, "command") == 0 || strcmp(a->code, "command_refused") == 0)
		return;
	if (strcmp(a->code, "override") == 0) {     /* a pause or maintenance ran out */
		struct store_override o;

		memset(&o, 0, sizeof o);
		util_strlcpy(o.group, a->group, sizeof o.group);
		util_strlcpy(o.node, a->node, sizeof o.node);
		util_strlcpy(o.kind, a->node[0] ? "maintenance" : "pause", sizeof o.kind);
		store_override_set(l->st, &o, false);
	}
	util_log(strcmp(a->code, "refusal") == 0 ? "warn" : "info", "group %s: %s: %s", a->group,
		 a->code, a->text);
	store_row(l, wall_ms, "failover", a->node, a->group, a->code, a->text);
	publish(l, wall_ms, a->node, a->group, a->code, a->text);
}

/* Carry out the actions in order.  GA_SET_EPOCH is synchronous and its
 * outcome may append actions: the loop runs until none are left. */
static void apply(struct leadership *l, int64_t now_ms, int64_t wall_ms)
{
	l->gen++;                                   /* the groups may have changed */
	for (size_t i = 0; i < l->out.n; i++) {
		struct grp_action a = l->out.v[i];      /* the array may grow below */

		switch (a.kind) {
		case GA_SET_EPOCH:
			do_set_epoch(l, now_ms, &a);
			core_touch(l->core, a.node);            /* roles change */
			core_touch(l->core, a.old_leader);
			break;
		case GA_SEND:
			do_send(l, &a);
			break;
		case GA_STATE:
			do_state(l, wall_ms, &a);
			break;
		case GA_RECORD:
			do_record(l, wall_ms, &a);
			core_touch(l->core, a.node);
			break;
		case GA_MEMBER:
			store_group_member(l->st, a.group, a.node, a.on, wall_ms);
			break;
		}
	}
	if (l->out.oom)
		util_log("error", "leadership: an action was lost to a failed allocation");
	grp_out_reset(&l->out);
}

/* ---- operator commands ------------------------------------------------- */

static void names_array(struct jw *w, const char *key, unsigned mask, bool guards)
{
	jw_key(w, key);
	jw_arr_open(w);
	for (unsigned b = 0; b < (guards ? GG_COUNT : GW_COUNT); b++)
		if (mask & (1u << b))
			jw_str(w, guards ? groups_guard_name(1u << b) : groups_why_name(1u << b));
	jw_arr_close(w);
}

static void result_head(struct jw *w, int64_t id, bool ok, const char *code, const char *msg)
{
	jw_obj_open(w);
	jw_kstr(w, "type", "result");
	jw_kint(w, "id", id);
	jw_kbool(w, "ok", ok);
	if (!ok) {
		jw_key(w, "error");
		jw_obj_open(w);
		jw_kstr(w, "code", code);
		jw_kstr(w, "message", msg);
		jw_obj_close(w);
	}
}

static void audit(struct leadership *l, int64_t wall_ms, const char *who, const char *role,
		  const struct oper_msg *q, const char *group, const char *result, const char *text)
{
	struct store_audit a;

	memset(&a, 0, sizeof a);
	a.ts_ms = wall_ms;
	util_strlcpy(a.operator_name, who, sizeof a.operator_name);
	util_strlcpy(a.role, role, sizeof a.role);
	util_strlcpy(a.command, q->verb, sizeof a.command);
	snprintf(a.target, sizeof a.target, "%s%s%s%s%s", q->group[0] ? q->group : q->node,
		 q->to[0] ? " --to " : "", q->to,
		 strcmp(q->verb, "maintenance") == 0 ? (q->on ? " on" : " off") : "",
		 q->force ? " --force" : "");
	util_strlcpy(a.reason, q->reason, sizeof a.reason);
	a.dry_run = q->dry_run;
	util_strlcpy(a.result, result, sizeof a.result);
	util_strlcpy(a.node, q->node[0] ? q->node : q->to, sizeof a.node);
	util_strlcpy(a.group, group, sizeof a.group);
	util_strlcpy(a.detail, text, sizeof a.detail);
	store_add_audit(l->st, &a, NULL);
	util_log(strcmp(result, "ok") ? "warn" : "info", "operator %s (%s): %s%s %s: %s: %s", who,
		 role, q->verb, q->dry_run ? " --dry-run" : "", a.target, result, text);
}

static void persist_override(struct leadership *l, int64_t wall_ms, const struct oper_msg *q,
			     const char *group, const char *who)
{
	struct store_override o;
	bool on;

	memset(&o, 0, sizeof o);
	util_strlcpy(o.group, group, sizeof o.group);
	if (strcmp(q->verb, "maintenance") == 0) {
		util_strlcpy(o.node, q->node, sizeof o.node);
		util_strlcpy(o.kind, "maintenance", sizeof o.kind);
		on = q->on;
	} else {
		util_strlcpy(o.kind, "pause", sizeof o.kind);
		on = strcmp(q->verb, "pause") == 0;
	}
	o.until_ms = on && q->for_ms > 0 ? wall_ms + q->for_ms : 0;
	util_strlcpy(o.who, who, sizeof o.who);
	util_strlcpy(o.reason, q->reason, sizeof o.reason);
	o.set_ms = wall_ms;
	store_override_set(l->st, &o, on);
}

/* vigil forget NODE: decommission a dead node.  Refused while it is
 * connected, the leader (or lease holder) or part of a failover; otherwise it
 * leaves its group's expected members (if it is one), the core (status,
 * deltas, /metrics), the store's nodes table (a restart does not bring it
 * back) and the firing alerts.  Its history stays. */
static int forget_check(struct leadership *l, int64_t now_ms, const struct core_node_info *ni)
{
	struct grp_info gi;

	if (ni->connected)
		return -EBUSY;
	if (groups_info(l->g, now_ms, ni->group, &gi) == 0 &&
	    (strcmp(gi.leader, ni->name) == 0 || strcmp(gi.lease_holder, ni->name) == 0 ||
	     (gi.fo_state != FO_IDLE && strcmp(gi.fo_target, ni->name) == 0)))
		return -EBUSY;
	return 0;
}

static void cmd_forget(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *who,
		       const char *role, const struct oper_msg *q, struct jw *w)
{
	struct core_node_info ni;
	char msg[PROTO_TEXT_MAX + 1];
	bool member = false;
	int rc = -ENOENT;

	if (core_node_find(l->core, q->node, now_ms, &ni) == 0) {
		rc = forget_check(l, now_ms, &ni);
		if (rc == 0 && !q->dry_run) {
			/* groups_forget has the last word on membership (a failover's
			 * old leader too); -ENOENT: in no group, the core alone knows it. */
			rc = groups_forget(l->g, now_ms, ni.group, q->node, who, q->reason, &l->out);
			member = rc == 0;
			if (rc == -ENOENT)
				rc = 0;
		}
		if (rc == 0 && !q->dry_run) {
			rc = core_forget(l->core, q->node);
			if (rc == 0) {
				if (store_forget_node(l->st, q->node))
					util_log("error", "node %s: could not queue its removal from the "
						 "store: a restart will remember it", q->node);
				if (l->io.forgotten)
					l->io.forgotten(l->io.arg, q->node);
			}
		}
	}
	if (rc == -ENOENT)
		snprintf(msg, sizeof msg, "unknown node '%s'", q->node);
	else if (rc == -EBUSY)
		snprintf(msg, sizeof msg, "node '%s' is %s: stop its agent (and fail the leadership "
			 "over) first", q->node, ni.connected ? "connected" : "the leader or in a failover");
	else if (rc)
		snprintf(msg, sizeof msg, "node '%s' could not be forgotten: %s", q->node,
			 strerror(-rc));
	else
		snprintf(msg, sizeof msg, "%s %s (group %s): %s the status and the metrics; its "
			 "history is kept", q->dry_run ? "would forget" : "forgot", q->node, ni.group,
			 member ? "removed from its expected members," : "removed from");
	audit(l, wall_ms, who, role, q, rc == -ENOENT ? "" : ni.group, rc ? "refused" : "ok", msg);
	apply(l, now_ms, wall_ms);
	result_head(w, q->id, rc == 0, rc == -ENOENT ? "unknown_node" : "refused", msg);
	jw_key(w, "data");
	jw_obj_open(w);
	jw_kstr(w, "verb", q->verb);
	jw_kstr(w, "node", q->node);
	jw_kbool(w, "dry_run", q->dry_run);
	jw_kbool(w, "accepted", rc == 0);
	jw_kstr(w, "text", msg);
	jw_obj_close(w);
	jw_obj_close(w);
}

void lead_command(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *who,
		  const char *role, bool may_act, const struct oper_msg *q, struct jw *w)
{
	static struct grp_cmd_result res;
	struct grp_cmd cmd;
	struct core_node_info ni;
	const char *code = "refused";
	char group[PROTO_NAME_MAX + 1] = "";
	int rc;

	if (!may_act && !q->dry_run) {
		char msg[200];

		snprintf(msg, sizeof msg, "operator %s has the role %s, which may watch but not act "
			 "(a dry run is allowed)", who, role);
		audit(l, wall_ms, who, role, q, q->group, "forbidden", msg);
		result_head(w, q->id, false, "forbidden", msg);
		jw_obj_close(w);
		return;
	}
	if (strcmp(q->verb, "forget") == 0) {
		cmd_forget(l, now_ms, wall_ms, who, role, q, w);
		return;
	}
	memset(&cmd, 0, sizeof cmd);
	if (!strcmp(q->verb, "failover"))
		cmd.kind = GCMD_FAILOVER;
	else if (!strcmp(q->verb, "switchover"))
		cmd.kind = GCMD_SWITCHOVER;
	else if (!strcmp(q->verb, "pause"))
		cmd.kind = GCMD_PAUSE;
	else if (!strcmp(q->verb, "resume"))
		cmd.kind = GCMD_RESUME;
	else
		cmd.kind = GCMD_MAINTENANCE;
	util_strlcpy(cmd.who, who, sizeof cmd.who);
	util_strlcpy(cmd.reason, q->reason, sizeof cmd.reason);
	cmd.dry_run = q->dry_run;
	cmd.force = q->force;
	util_strlcpy(cmd.group, q->group, sizeof cmd.group);
	util_strlcpy(cmd.node, cmd.kind == GCMD_MAINTENANCE ? q->node : q->to, sizeof cmd.node);
	cmd.on = q->on;
	cmd.duration_ms = q->for_ms;
	rc = groups_command(l->g, now_ms, &cmd, &res, &l->out);
	if (cmd.kind == GCMD_MAINTENANCE) {
		if (core_node_find(l->core, q->node, now_ms, &ni) == 0)
			util_strlcpy(group, ni.group, sizeof group);
	} else {
		util_strlcpy(group, q->group, sizeof group);
	}
	if (res.blocked & GG_UNKNOWN)
		code = cmd.kind == GCMD_MAINTENANCE ? "unknown_node" : "unknown_group";
	else if (rc == -EINVAL)
		code = "bad_field";
	audit(l, wall_ms, who, role, q, group, rc == 0 ? "ok" : "refused", res.text);
	if (rc == 0 && !q->dry_run &&
	    (cmd.kind == GCMD_PAUSE || cmd.kind == GCMD_RESUME || cmd.kind == GCMD_MAINTENANCE)) {
		persist_override(l, wall_ms, q, group, who);
		core_touch(l->core, q->node);
	}
	apply(l, now_ms, wall_ms);

	result_head(w, q->id, rc == 0, code, res.text);
	jw_key(w, "data");
	jw_obj_open(w);
	jw_kstr(w, "verb", q->verb);
	jw_kstr(w, "group", group);
	if (q->node[0])
		jw_kstr(w, "node", q->node);
	jw_kbool(w, "dry_run", q->dry_run);
	jw_kbool(w, "accepted", rc == 0);
	jw_kstr(w, "target", res.target);
	jw_kstr(w, "text", res.text);
	names_array(w, "blocked", res.blocked, true);
	jw_key(w, "candidates");
	jw_arr_open(w);
	for (int i = 0; i < res.ncand; i++) {
		const struct grp_candidate *c = &res.cand[i];

		jw_obj_open(w);
		jw_kstr(w, "node", c->node);
		jw_kint(w, "priority", c->priority);
		jw_kstr(w, "state", node_state_name(c->state));
		jw_kbool(w, "eligible", c->why_not == 0);
		names_array(w, "why_not", c->why_not, false);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
	jw_obj_close(w);
}

/* ---- views ------------------------------------------------------------- */

static void opt_wall(struct jw *w, const char *k, int64_t mono, int64_t now_ms, int64_t wall_ms)
{
	jw_key(w, k);
	if (mono > now_ms)
		jw_int(w, to_wall(mono, now_ms, wall_ms));
	else
		jw_null(w);
}

void lead_view_group(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *group,
		     struct jw *w)
{
	struct grp_info gi;
	struct fo_track *t = fo_find(l, group);

	if (groups_info(l->g, now_ms, group, &gi)) {
		memset(&gi, 0, sizeof gi);
		util_strlcpy(gi.name, group, sizeof gi.name);
	}
	jw_kint(w, "expected", gi.expected);
	jw_kbool(w, "quorum", gi.quorum);
	jw_kstr(w, "leader", gi.leader);
	jw_kint(w, "epoch", gi.epoch);
	jw_kstr(w, "lease_holder", gi.lease_holder);
	jw_kbool(w, "paused", gi.paused);
	opt_wall(w, "paused_until_ms", gi.paused ? gi.pause_until_ms : 0, now_ms, wall_ms);
	jw_kstr(w, "paused_by", gi.paused_by);
	jw_kstr(w, "pause_reason", gi.pause_reason);
	opt_wall(w, "cooldown_until_ms", gi.cooldown_until_ms, now_ms, wall_ms);
	jw_key(w, "failover");
	if (gi.fo_state == FO_IDLE) {
		jw_null(w);
	} else {
		jw_obj_open(w);
		jw_kstr(w, "state", groups_fo_state_name(gi.fo_state));
		jw_kstr(w, "kind", groups_fo_kind_name(gi.fo_kind));
		jw_kstr(w, "target", gi.fo_target);
		jw_kint(w, "since_ms", to_wall(gi.fo_since_ms, now_ms, wall_ms));
		jw_obj_close(w);
	}
	jw_key(w, "last_failover");
	if (!t || !t->have_last) {
		jw_null(w);
	} else {
		jw_obj_open(w);
		jw_kint(w, "ts_ms", t->last_ts_ms);
		jw_kstr(w, "outcome", t->last_outcome);
		jw_kstr(w, "kind", groups_fo_kind_name(t->last_kind));
		jw_kstr(w, "old_leader", t->last_old);
		jw_kstr(w, "new_leader", t->last_new);
		jw_kint(w, "epoch", t->last_epoch);
		jw_kint(w, "duration_ms", t->last_duration_ms);
		jw_obj_close(w);
	}
}

int lead_group_info(struct leadership *l, int64_t now_ms, const char *group, struct grp_info *out)
{
	return groups_info(l->g, now_ms, group, out);
}

void lead_maint_states(struct leadership *l, int64_t now_ms, int counts[NODE_STATE_COUNT])
{
	groups_maint_states(l->g, now_ms, counts);
}

void lead_node_view(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *group,
		    const char *node, const char **role, bool *maint, int64_t *maint_until_wall)
{
	int64_t until = 0;

	/* One groups_info per group and status, not per node. */
	if (l->vc_gen != l->gen || strcmp(l->vc_group, group) != 0) {
		struct grp_info gi;

		util_strlcpy(l->vc_leader, groups_info(l->g, now_ms, group, &gi) == 0 ? gi.leader : "",
			     sizeof l->vc_leader);
		util_strlcpy(l->vc_group, group, sizeof l->vc_group);
		l->vc_gen = l->gen;
	}
	*role = l->vc_leader[0] && strcmp(l->vc_leader, node) == 0 ? "leader" : "follower";
	*maint = groups_member_maint(l->g, group, node, now_ms, &until);
	*maint_until_wall = *maint ? to_wall(until, now_ms, wall_ms) : 0;
}

/* ---- /metrics ----------------------------------------------------------- */

static void line(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct jw *w, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		jw_raw(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void lead_metrics(struct leadership *l, int64_t now_ms, struct jw *w)
{
	size_t ng = core_group_count(l->core);
	struct core_group_info cg;
	struct grp_info gi;
	static const char *const series[][2] = {
		{ "vigil_group_epoch", "gauge" }, { "vigil_group_quorum", "gauge" },
		{ "vigil_group_leader", "gauge" }, { "vigil_group_paused", "gauge" },
		{ "vigil_group_failover_in_progress", "gauge" },
	};
	static const char *const help[] = {
		"The group's leadership epoch (durable).",
		"1 while a strict majority of the group's expected members is alive.",
		"1 for the group's leader (label node); absent when it has none.",
		"1 while automatic failover is paused for the group.",
		"1 while a failover of the group is under way.",
	};

	for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
		line(w, "# HELP %s %s\n# TYPE %s %s\n", series[k][0], help[k], series[k][0],
		     series[k][1]);
		for (size_t i = 0; i < ng; i++) {
			if (core_group_info(l->core, i, &cg) || groups_info(l->g, now_ms, cg.name, &gi))
				continue;
			switch (k) {
			case 0: line(w, "%s{group=\"%s\"} %lld\n", series[k][0], gi.name,
				     (long long)gi.epoch); break;
			case 1: line(w, "%s{group=\"%s\"} %d\n", series[k][0], gi.name, gi.quorum); break;
			case 2:
				if (gi.leader[0])
					line(w, "%s{group=\"%s\",node=\"%s\"} 1\n", series[k][0], gi.name,
					     gi.leader);
				break;
			case 3: line(w, "%s{group=\"%s\"} %d\n", series[k][0], gi.name, gi.paused); break;
			default: line(w, "%s{group=\"%s\"} %d\n", series[k][0], gi.name,
				      gi.fo_state != FO_IDLE); break;
			}
		}
	}
}
