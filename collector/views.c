/* views — JSON renderings of the core's state.  Field names are part of the
 * protocol (docs/protocol.md); scripts depend on them. */
#include "collector/views.h"

#include <math.h>
#include <string.h>

#include "collector/leadership.h"
#include "proto/util.h"

static void metrics(struct jw *w, const struct proto_metrics *m)
{
	jw_key(w, "metrics");
	jw_obj_open(w);
	jw_knum(w, "cpu", m->cpu_pct);
	jw_knum(w, "mem", m->mem_pct);
	jw_knum(w, "load1", m->load1);
	jw_knum(w, "disk", m->disk_pct);
	jw_key(w, "app");
	jw_obj_open(w);
	for (int i = 0; i < m->napp; i++)
		jw_knum(w, m->app[i].name, m->app[i].value);
	jw_obj_close(w);
	jw_obj_close(w);
}

static void evidence(struct jw *w, const struct core_evidence *ev)
{
	jw_knum(w, "phi", ev->phi);
	jw_knum(w, "interval_mean_ms", ev->mean_ms);
	jw_knum(w, "interval_sd_ms", ev->sd_ms);
	jw_kint(w, "samples", ev->samples);
}

void view_node(struct jw *w, const struct core_node_info *n, const struct proto_check *checks,
	       int nchecks, const struct node_lead *lead)
{
	bool maint = lead && lead->maint;

	jw_obj_open(w);
	jw_kstr(w, "name", n->name);
	jw_kstr(w, "group", n->group);
	/* Maintenance is shown over what detection says, which goes on underneath. */
	jw_kstr(w, "state", maint ? "maintenance" : node_state_name(n->state));
	jw_kstr(w, "detected_state", node_state_name(n->state));
	jw_kstr(w, "rule", n->rule);
	jw_kstr(w, "role", lead && lead->role ? lead->role : "follower");
	jw_kbool(w, "maintenance", maint);
	jw_key(w, "maintenance_until_ms");
	if (maint && lead->maint_until_ms)
		jw_int(w, lead->maint_until_ms);
	else
		jw_null(w);
	jw_kbool(w, "no_failover", n->no_failover);
	jw_kstr(w, "agent_role", n->agent_role);
	jw_kint(w, "agent_epoch", n->agent_epoch);
	jw_kint(w, "priority", n->priority);
	jw_kbool(w, "connected", n->connected);
	jw_kint(w, "state_since_ms", n->state_since_wall_ms);
	jw_key(w, "last_heartbeat_ms_ago");
	if (n->ev.hb_age_ms >= 0)
		jw_int(w, n->ev.hb_age_ms);
	else
		jw_null(w);
	jw_kint(w, "last_heartbeat_ms", n->last_hb_wall_ms);
	jw_kint(w, "interval_ms", n->interval_ms);
	jw_kint(w, "seq", n->last_seq);
	jw_kint(w, "heartbeats", n->hb_count);
	evidence(w, &n->ev);
	jw_kstr(w, "version", n->version);
	jw_kstr(w, "boot_id", n->boot_id);
	jw_key(w, "rtt_ms");
	if (n->rtt_ms >= 0)
		jw_int(w, n->rtt_ms);
	else
		jw_null(w);
	jw_kbool(w, "flapping", n->flapping);
	jw_knum(w, "flap_score", n->flap_score);
	jw_kstr(w, "health", n->health);
	jw_kint(w, "checks_critical", n->checks_critical);
	metrics(w, &n->m);
	jw_key(w, "checks");
	jw_arr_open(w);
	for (int i = 0; checks && i < nchecks; i++) {
		jw_obj_open(w);
		jw_kstr(w, "name", checks[i].name);
		jw_kstr(w, "status", check_status_name(checks[i].status));
		jw_kstr(w, "output", checks[i].output);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
}

static void collector(struct jw *w, struct core *c, const struct collector_facts *f,
		      int64_t wall_ms)
{
	jw_key(w, "collector");
	jw_obj_open(w);
	jw_kstr(w, "instance", f->instance);
	jw_kstr(w, "version", VIGIL_VERSION);
	jw_kstr(w, "listen", f->listen);
	jw_kstr(w, "auth", f->auth_mode);
	jw_kint(w, "now_ms", wall_ms);
	jw_kint(w, "uptime_ms", wall_ms - f->started_wall_ms);
	jw_kbool(w, "serving", f->serving);
	jw_kbool(w, "recording", f->recording);
	jw_kstr(w, "store_error", f->store_error ? f->store_error : "");
	jw_kbool(w, "tilt", core_in_tilt(c));
	jw_kint(w, "agents_connected", f->agents_connected);
	jw_kint(w, "operators_connected", f->operators_connected);
	if (f->you_name && f->you_name[0]) {
		jw_key(w, "you");
		jw_obj_open(w);
		jw_kstr(w, "name", f->you_name);
		jw_kstr(w, "role", f->you_role ? f->you_role : "");
		jw_obj_close(w);
	}
	jw_obj_close(w);
}

/* Nodes in maintenance count as maintenance, not as what detection says. */
static void summary(struct jw *w, struct core *c, struct leadership *lead, int64_t now_ms)
{
	int maint[NODE_STATE_COUNT] = { 0 }, count[NODE_STATE_COUNT], total = 0;

	if (lead)
		lead_maint_states(lead, now_ms, maint);
	for (int s = 0; s < NODE_STATE_COUNT; s++)
		total += maint[s];
	core_count_states(c, count);
	jw_key(w, "summary");
	jw_obj_open(w);
	jw_kint(w, "nodes", (int64_t)core_node_count(c));
	for (int s = 0; s < NODE_STATE_COUNT; s++) {
		int n = count[s] - maint[s];

		if (s == NODE_MAINTENANCE)
			n += total;
		jw_kint(w, node_state_name((enum node_state)s), n < 0 ? 0 : n);
	}
	jw_obj_close(w);
}

/* The nodes [from, to) of the sorted order changed after since_rev (all
 * with since_rev 0), as view_node objects; returns how many. */
static size_t nodes_in(struct jw *w, struct core *c, struct leadership *lead, int64_t now_ms,
		       int64_t wall_ms, uint64_t since_rev, bool significant_only, size_t from,
		       size_t to)
{
	struct node_lead nl = { .role = "follower" };
	struct core_node_info ni;
	const struct proto_check *checks = NULL;
	size_t k = 0;
	int nchecks;

	for (size_t i = from; i < to && i < core_node_count(c); i++) {
		struct core_node_metrics nm;

		/* the revisions first, without copying the node */
		if (since_rev && core_node_metrics(c, i, &nm) == 0 &&
		    (significant_only ? nm.srev : nm.rev) <= since_rev)
			continue;
		if (core_node_info(c, i, now_ms, &ni))
			break;
		nchecks = core_node_checks(c, ni.name, &checks);
		if (lead)
			lead_node_view(lead, now_ms, wall_ms, ni.group, ni.name, &nl.role, &nl.maint,
				       &nl.maint_until_ms);
		view_node(w, &ni, checks, nchecks, &nl);
		k++;
	}
	return k;
}

size_t view_status_slice(struct jw *w, struct core *c, struct leadership *lead, int64_t now_ms,
			 int64_t wall_ms, uint64_t since_rev, size_t from, size_t to)
{
	size_t k;

	jw_obj_open(w);
	jw_kint(w, "rev", (int64_t)core_rev(c));
	jw_key(w, "slice");
	jw_obj_open(w);
	jw_kint(w, "from", (int64_t)from);
	jw_kint(w, "to", (int64_t)to);
	jw_kint(w, "of", (int64_t)core_node_count(c));
	jw_obj_close(w);
	jw_key(w, "nodes");
	jw_arr_open(w);
	k = nodes_in(w, c, lead, now_ms, wall_ms, since_rev, false, from, to);
	jw_arr_close(w);
	jw_obj_close(w);
	return k;
}

void view_status(struct jw *w, struct core *c, struct leadership *lead,
		 const struct collector_facts *f, int64_t now_ms, int64_t wall_ms,
		 uint64_t since_rev, bool significant_only)
{
	struct core_group_info gi;
	size_t ng;

	jw_obj_open(w);
	collector(w, c, f, wall_ms);
	summary(w, c, lead, now_ms);
	jw_kint(w, "rev", (int64_t)core_rev(c));
	jw_key(w, "nodes");
	jw_arr_open(w);
	nodes_in(w, c, lead, now_ms, wall_ms, since_rev, significant_only, 0, core_node_count(c));
	jw_arr_close(w);
	/* Nodes forgotten since since_rev (vigil forget): a client drops them
	 * before it applies "nodes" (the same name may be listed again there,
	 * as a new node).  Empty in a whole status. */
	jw_key(w, "removed");
	jw_arr_open(w);
	for (size_t i = 0; since_rev && i < core_removed_count(c); i++) {
		uint64_t rev;
		const char *name = core_removed(c, i, &rev);

		if (rev > since_rev)
			jw_str(w, name);
	}
	jw_arr_close(w);
	jw_key(w, "groups");
	jw_arr_open(w);
	ng = core_group_count(c);
	for (size_t i = 0; i < ng; i++) {
		if (core_group_info(c, i, &gi))
			break;
		jw_obj_open(w);
		jw_kstr(w, "name", gi.name);
		jw_kint(w, "members", gi.members);
		jw_kint(w, "alive", gi.alive);
		if (lead)
			lead_view_group(lead, now_ms, wall_ms, gi.name, w);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
}

void view_transition(struct jw *w, const struct core_action *a)
{
	jw_obj_open(w);
	jw_kint(w, "ts_ms", a->wall_ms);
	jw_kstr(w, "node", a->node);
	jw_kstr(w, "group", a->group);
	jw_kstr(w, "from", a->is_new ? "" : node_state_name(a->from));
	jw_kstr(w, "to", node_state_name(a->to));
	jw_kstr(w, "rule", a->rule);
	evidence(w, &a->ev);
	jw_key(w, "hb_age_ms");
	if (a->ev.hb_age_ms >= 0)
		jw_int(w, a->ev.hb_age_ms);
	else
		jw_null(w);
	jw_kstr(w, "detail", a->text);
	jw_obj_close(w);
}

int view_health(struct jw *w, struct core *c, const struct collector_facts *f, int64_t wall_ms)
{
	bool tilt = core_in_tilt(c);
	bool ok = f->serving && !tilt;
	const char *status = !f->serving ? "stopping" : tilt ? "tilt" :
			     !f->recording ? "not_recording" : "ok";

	jw_obj_open(w);
	jw_kstr(w, "status", status);
	jw_kbool(w, "serving", f->serving);
	jw_kbool(w, "deciding", !tilt);
	jw_kbool(w, "recording", f->recording);
	jw_kstr(w, "store_error", f->store_error ? f->store_error : "");
	jw_kint(w, "nodes", (int64_t)core_node_count(c));
	jw_kint(w, "agents_connected", f->agents_connected);
	jw_kint(w, "uptime_ms", wall_ms - f->started_wall_ms);
	jw_kstr(w, "version", VIGIL_VERSION);
	jw_obj_close(w);
	return ok ? 200 : 503;
}
