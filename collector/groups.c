/* groups — groups, quorum, leadership, epochs, leases and the failover state
 * machine (see groups.h for the inputs, the actions and the safety
 * argument).
 *
 * Failover state machine, one per group, driven by fo_step() alone (one
 * switch); every change of state goes through fo_set(), which emits
 * GA_STATE:
 *
 *   IDLE --automatic decision (all guards hold)-----------> DECIDE
 *   IDLE --operator failover-------------------------------> WAIT_LEASE
 *   IDLE --operator switchover (DEMOTE sent to the leader)-> DEMOTE
 *   DEMOTE --demote confirmed (its cmd_id) or lease surely over--> DECIDE
 *   DEMOTE --demote hook failed / target ineligible-------> IDLE "aborted"
 *   WAIT_LEASE --holder's lease surely over---------------> DECIDE
 *   WAIT_LEASE --no eligible target left------------------> IDLE "aborted" ("failed" after no return)
 *   DECIDE --persist failed / timed out-------------------> IDLE "aborted" (leaderless: the write may have landed)
 *   DECIDE --persisted: POINT OF NO RETURN----------------> FENCE (old leader connected) or PROMOTE
 *   FENCE --fence result or timeout-----------------------> PROMOTE
 *   PROMOTE --promote hook ok-----------------------------> IDLE "confirmed" (cooldown)
 *   PROMOTE --promote failed or timed out-----------------> WAIT_LEASE (next candidate) or IDLE "failed"
 *
 * Before the point of no return an abort leaves the leader as it was (and
 * leases are granted to it again), except after a failed epoch write: that
 * write may have landed, so the group becomes leaderless and nobody is
 * granted a lease until a new epoch is durable.
 */
#include "collector/groups.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/names.h"
#include "proto/util.h"

struct member {
	char name[PROTO_NAME_MAX + 1];
	int priority;
	enum node_state state;
	bool flapping, no_failover, connected;
	enum grp_role role;
	bool maint;                    /* operator override */
	int64_t maint_until_ms;        /* 0 = until switched off */
	bool tried;                    /* promote failed in the current failover */
};

struct group {
	char name[PROTO_NAME_MAX + 1];
	struct member m[GRP_MEMBERS_MAX];
	int nm;

	int64_t epoch;                 /* persisted: the current leadership's */
	int64_t epoch_req;             /* highest ever asked to persist */
	char leader[PROTO_NAME_MAX + 1];

	/* The collector's view of the lease: the last leader grant went to
	 * holder for a heartbeat received at granted_ms. */
	char holder[PROTO_NAME_MAX + 1];
	int64_t granted_ms;

	bool paused;
	int64_t pause_until_ms;
	char pause_by[PROTO_NAME_MAX + 1];
	char pause_reason[PROTO_TEXT_MAX + 1];
	int64_t cooldown_until_ms;
	int64_t settle_until_ms;       /* a new group: no election before */
	unsigned last_refusal;         /* guards of the last refusal recorded */

	enum grp_fo_state fo;
	enum grp_fo_kind fo_kind;
	int64_t fo_since_ms;
	char fo_target[PROTO_NAME_MAX + 1];
	char fo_old[PROTO_NAME_MAX + 1];
	int64_t fo_epoch;              /* DECIDE and later: the new epoch */
	uint64_t fo_cmd_id;            /* DEMOTE: the demote command's id */
	bool fo_committed;             /* passed the point of no return at least once */
	bool fo_demoted;               /* the old leader confirmed its demote */
};

/* Name -> group, separately chained: groups by their name and members by
 * theirs, so that a heartbeat finds its group in O(1) with thousands of
 * nodes (a scan of every group's members per heartbeat was quadratic). */
struct hent {
	struct hent *next;
	struct group *gr;
	char key[PROTO_NAME_MAX + 1];
};

struct hmap {
	struct hent **b;
	size_t nb, n;                  /* buckets (a power of two), entries */
};

struct groups {
	struct groups_config cfg;
	struct group **v;
	size_t n, cap;
	struct hmap by_group, by_node;
	bool tilt;
	uint64_t next_cmd_id;
};

/* An input to the failover state machine. */
enum fo_ev_kind { EV_NONE = 0, EV_PERSISTED, EV_HOOK };

struct fo_ev {
	enum fo_ev_kind kind;
	const char *node;
	enum grp_hook hook;
	int64_t epoch;
	uint64_t cmd_id;
	int rc;                        /* HOOK: exit status; PERSISTED: 0 ok */
};

/* ---- names ------------------------------------------------------------- */

static const char *const guard_names[GG_COUNT] = {
	"leader_ok", "lease", "quorum", "paused", "cooldown", "tilt", "no_candidate",
	"busy", "unknown", "target", "leader_healthy", "no_leader", "bad_command", "settling",
};

static const char *const why_names[GW_COUNT] = {
	"not_alive", "degraded", "flapping", "maintenance", "no_failover", "leader",
	"tried", "disconnected",
};

const char *groups_fo_state_name(enum grp_fo_state s)
{
	switch (s) {
	case FO_IDLE:       return "idle";
	case FO_DEMOTE:     return "demote";
	case FO_WAIT_LEASE: return "wait_lease";
	case FO_DECIDE:     return "decide";
	case FO_FENCE:      return "fence";
	case FO_PROMOTE:    return "promote";
	case FO_STATE_COUNT: break;
	}
	return "?";
}

const char *groups_fo_kind_name(enum grp_fo_kind k)
{
	switch (k) {
	case FOK_NONE:       return "none";
	case FOK_AUTO:       return "automatic";
	case FOK_ELECT:      return "election";
	case FOK_ADOPT:      return "adoption";
	case FOK_MANUAL:     return "manual";
	case FOK_SWITCHOVER: return "switchover";
	}
	return "?";
}

const char *groups_hook_name(enum grp_hook h)
{
	switch (h) {
	case GRP_HOOK_PROMOTE: return "promote";
	case GRP_HOOK_DEMOTE:  return "demote";
	case GRP_HOOK_FENCE:   return "fence";
	}
	return "?";
}

static const char *bit_name(const char *const *names, int count, unsigned bit)
{
	for (int i = 0; i < count; i++)
		if (bit == 1u << i)
			return names[i];
	return "?";
}

const char *groups_guard_name(unsigned bit)
{
	return bit_name(guard_names, GG_COUNT, bit);
}

const char *groups_why_name(unsigned bit)
{
	return bit_name(why_names, GW_COUNT, bit);
}

static void mask_text(const char *const *names, int count, unsigned mask, char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (int i = 0; i < count && used < len; i++) {
		if (!(mask & (1u << i)))
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

void groups_guard_text(unsigned mask, char *buf, size_t len)
{
	mask_text(guard_names, GG_COUNT, mask, buf, len);
}

void groups_why_text(unsigned mask, char *buf, size_t len)
{
	mask_text(why_names, GW_COUNT, mask, buf, len);
}

/* Append to a fixed buffer, truncating quietly. */
static void cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* Format into a fixed buffer, truncating quietly. */
static void fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

/* ---- config ------------------------------------------------------------ */

void groups_config_defaults(struct groups_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->lease_ms = 2000;
	cfg->drift_pct = 10;
	cfg->persist_timeout_ms = 5000;
	cfg->fence_timeout_ms = 5000;
	cfg->promote_timeout_ms = 15000;
	cfg->cooldown_ms = 60000;
	cfg->cmd_id_base = 0;
}

int groups_config_check(const struct groups_config *cfg, char *err, size_t errlen)
{
	if (cfg->lease_ms < 100 || cfg->lease_ms > 3600000) {
		snprintf(err, errlen, "--lease-ms must be 100..3600000");
		return -1;
	}
	if (cfg->drift_pct < 1 || cfg->drift_pct > 100) {
		snprintf(err, errlen, "--lease-drift-pct must be 1..100");
		return -1;
	}
	if (cfg->persist_timeout_ms < 1 || cfg->fence_timeout_ms < 1 || cfg->promote_timeout_ms < 1) {
		snprintf(err, errlen, "failover timeouts must be > 0");
		return -1;
	}
	if (cfg->elect_settle_ms < 0) {
		snprintf(err, errlen, "the election settle time must be >= 0");
		return -1;
	}
	if (cfg->cooldown_ms < 0) {
		snprintf(err, errlen, "--failover-cooldown-ms must be >= 0");
		return -1;
	}
	return 0;
}

/* ---- action list ------------------------------------------------------- */

void grp_out_init(struct grp_out *o)
{
	memset(o, 0, sizeof *o);
}

void grp_out_reset(struct grp_out *o)
{
	o->n = 0;
	o->oom = false;
}

void grp_out_done(struct grp_out *o)
{
	free(o->v);
	memset(o, 0, sizeof *o);
}

static struct grp_action *push(struct grp_out *o, enum grp_action_kind kind, const struct group *gr)
{
	struct grp_action *a, *nv = util_grow(o->v, &o->cap, o->n, sizeof *o->v, 16);

	if (!nv) {
		o->oom = true;
		return NULL;
	}
	o->v = nv;
	a = &o->v[o->n++];
	memset(a, 0, offsetof(struct grp_action, text));
	a->text[0] = '\0';
	a->kind = kind;
	if (gr)
		util_strlcpy(a->group, gr->name, sizeof a->group);
	return a;
}

static void record(struct grp_out *out, const struct group *gr, const char *code,
		   const char *node, unsigned blocked, enum grp_fo_kind kind, const char *text)
{
	struct grp_action *a = push(out, GA_RECORD, gr);

	if (!a)
		return;
	util_strlcpy(a->code, code, sizeof a->code);
	if (node)
		util_strlcpy(a->node, node, sizeof a->node);
	a->blocked = blocked;
	a->fo_kind = kind;
	a->epoch = gr ? gr->epoch : 0;
	util_strlcpy(a->text, text, sizeof a->text);
}

/* ---- name maps --------------------------------------------------------- */

static size_t hmap_slot(const struct hmap *h, const char *key)
{
	uint64_t x = 1469598103934665603ULL;            /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		x = (x ^ *p) * 1099511628211ULL;
	return (size_t)x & (h->nb - 1);
}

static struct group *hmap_get(const struct hmap *h, const char *key)
{
	if (!h->nb)
		return NULL;
	for (const struct hent *e = h->b[hmap_slot(h, key)]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->gr;
	return NULL;
}

static int hmap_grow(struct hmap *h)
{
	size_t nb = h->nb ? h->nb * 2 : 64;
	struct hent **b = calloc(nb, sizeof *b);
	struct hmap nh = { .b = b, .nb = nb, .n = h->n };

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < h->nb; i++) {
		struct hent *e = h->b[i], *next;

		for (; e; e = next) {
			size_t k = hmap_slot(&nh, e->key);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(h->b);
	*h = nh;
	return 0;
}

/* key -> gr (the key must not be there yet). */
static int hmap_put(struct hmap *h, const char *key, struct group *gr)
{
	struct hent *e;
	size_t k;

	if (h->n >= h->nb && hmap_grow(h))
		return -ENOMEM;
	e = malloc(sizeof *e);
	if (!e)
		return -ENOMEM;
	util_strlcpy(e->key, key, sizeof e->key);
	e->gr = gr;
	k = hmap_slot(h, key);
	e->next = h->b[k];
	h->b[k] = e;
	h->n++;
	return 0;
}

static void hmap_del(struct hmap *h, const char *key)
{
	struct hent **pp;

	if (!h->nb)
		return;
	for (pp = &h->b[hmap_slot(h, key)]; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			struct hent *e = *pp;

			*pp = e->next;
			free(e);
			h->n--;
			return;
		}
	}
}

static void hmap_free(struct hmap *h)
{
	for (size_t i = 0; i < h->nb; i++) {
		struct hent *e = h->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(h->b);
	memset(h, 0, sizeof *h);
}

/* ---- lookup ------------------------------------------------------------ */

static struct group *group_find(const struct groups *g, const char *name)
{
	return name ? hmap_get(&g->by_group, name) : NULL;
}

static struct member *member_find(struct group *gr, const char *name)
{
	if (!name || !name[0])
		return NULL;
	for (int i = 0; i < gr->nm; i++)
		if (strcmp(gr->m[i].name, name) == 0)
			return &gr->m[i];
	return NULL;
}

static struct group *group_of(const struct groups *g, const char *node, struct member **mp)
{
	struct group *gr = node ? hmap_get(&g->by_node, node) : NULL;

	if (gr && mp)
		*mp = member_find(gr, node);
	return gr;
}

static struct group *group_add(struct groups *g, const char *name)
{
	struct group *gr;

	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 4;
		struct group **nv = realloc(g->v, ncap * sizeof *nv);

		if (!nv)
			return NULL;
		g->v = nv;
		g->cap = ncap;
	}
	gr = calloc(1, sizeof *gr);
	if (!gr)
		return NULL;
	util_strlcpy(gr->name, name, sizeof gr->name);
	if (hmap_put(&g->by_group, gr->name, gr)) {
		free(gr);
		return NULL;
	}
	g->v[g->n++] = gr;
	return gr;
}

static struct member *member_add(struct groups *g, struct group *gr, const char *name)
{
	struct member *m;

	if (gr->nm >= GRP_MEMBERS_MAX || hmap_put(&g->by_node, name, gr))
		return NULL;
	m = &gr->m[gr->nm++];
	memset(m, 0, sizeof *m);
	util_strlcpy(m->name, name, sizeof m->name);
	m->state = NODE_SUSPECT;       /* not seen yet */
	return m;
}

/* ---- quorum, leases, candidates ---------------------------------------- */

static bool is_up(enum node_state s)
{
	return s == NODE_ALIVE || s == NODE_DEGRADED;
}

static int alive_count(const struct group *gr)
{
	int n = 0;

	for (int i = 0; i < gr->nm; i++)
		n += is_up(gr->m[i].state);
	return n;
}

/* A strict majority of the expected members is alive (or degraded). */
static bool has_quorum(const struct group *gr)
{
	return gr->nm > 0 && 2 * alive_count(gr) > gr->nm;
}

/* When the holder's lease is surely over, by the collector's clock: its
 * last grant's receive time + lease + drift margin.  0 = no holder. */
static int64_t lease_safe_ms(const struct groups *g, const struct group *gr)
{
	if (!gr->holder[0])
		return 0;
	return gr->granted_ms + g->cfg.lease_ms + g->cfg.lease_ms * g->cfg.drift_pct / 100;
}

static unsigned why_not(const struct group *gr, const struct member *m, int64_t now_ms)
{
	unsigned w = 0;

	if (m->state == NODE_DEGRADED)
		w |= GW_DEGRADED;
	else if (m->state == NODE_MAINTENANCE)
		w |= GW_MAINTENANCE;
	else if (m->state != NODE_ALIVE)
		w |= GW_NOT_ALIVE;
	if (m->flapping)
		w |= GW_FLAPPING;
	if (m->maint && (m->maint_until_ms == 0 || now_ms < m->maint_until_ms))
		w |= GW_MAINTENANCE;
	if (m->no_failover)
		w |= GW_NO_FAILOVER;
	if (strcmp(m->name, gr->leader) == 0 || strcmp(m->name, gr->fo_old) == 0)
		w |= GW_LEADER;
	if (m->tried)
		w |= GW_TRIED;
	if (!m->connected)
		w |= GW_DISCONNECTED;
	return w;
}

static int cand_cmp(const void *pa, const void *pb)
{
	const struct grp_candidate *a = pa, *b = pb;

	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	return strcmp(a->node, b->node);
}

/* All members ranked by priority then name, each with why it is not
 * eligible.  Returns the count. */
static int rank(const struct group *gr, int64_t now_ms, struct grp_candidate *c)
{
	for (int i = 0; i < gr->nm; i++) {
		util_strlcpy(c[i].node, gr->m[i].name, sizeof c[i].node);
		c[i].priority = gr->m[i].priority;
		c[i].state = gr->m[i].state;
		c[i].why_not = why_not(gr, &gr->m[i], now_ms);
	}
	qsort(c, (size_t)gr->nm, sizeof *c, cand_cmp);
	return gr->nm;
}

static const char *best(const struct grp_candidate *c, int n)
{
	for (int i = 0; i < n; i++)
		if (!c[i].why_not)
			return c[i].node;
	return NULL;
}

static void cand_text(const struct grp_candidate *c, int n, char *buf, size_t len)
{
	char w[128];

	cat(buf, len, "candidates:");
	for (int i = 0; i < n; i++) {
		groups_why_text(c[i].why_not, w, sizeof w);
		cat(buf, len, " %s(%d)=%s", c[i].node, c[i].priority, c[i].why_not ? w : "eligible");
	}
}

static void guard_text(const struct groups *g, const struct group *gr, int64_t now_ms,
		       unsigned blocked, char *buf, size_t len)
{
	char w[160];

	groups_guard_text(blocked, w, sizeof w);
	cat(buf, len, "blocked by: %s", w);
	if (blocked & GG_QUORUM)
		cat(buf, len, " (%d of %d expected alive, need %d)", alive_count(gr), gr->nm,
		    gr->nm / 2 + 1);
	if (blocked & GG_LEASE)
		cat(buf, len, " (lease of %s surely over in %lld ms)", gr->holder,
		    (long long)(lease_safe_ms(g, gr) - now_ms));
	if (blocked & GG_COOLDOWN)
		cat(buf, len, " (cooldown %lld ms left)", (long long)(gr->cooldown_until_ms - now_ms));
	if (blocked & GG_SETTLING)
		cat(buf, len, " (new group: its members may still be connecting, %lld ms left)",
		    (long long)(gr->settle_until_ms - now_ms));
	if (blocked & GG_BUSY)
		cat(buf, len, " (%s failover in state %s)", groups_fo_kind_name(gr->fo_kind),
		    groups_fo_state_name(gr->fo));
	cat(buf, len, "; ");
}

/* ---- lifecycle --------------------------------------------------------- */

struct groups *groups_new(const struct groups_config *cfg)
{
	struct groups *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	g->cfg = *cfg;
	g->next_cmd_id = cfg->cmd_id_base + 1;
	return g;
}

void groups_free(struct groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i]);
	free(g->v);
	hmap_free(&g->by_group);
	hmap_free(&g->by_node);
	free(g);
}

int groups_restore(struct groups *g, int64_t now_ms, const char *group, int64_t epoch,
		   const char *leader, const char *const *members, int nmembers)
{
	struct group *gr;

	if (!name_is_valid(group, PROTO_NAME_MAX) || epoch < 0 || nmembers < 0 ||
	    (leader && leader[0] && !name_is_valid(leader, PROTO_NAME_MAX)))
		return -EINVAL;
	if (nmembers > GRP_MEMBERS_MAX)
		return -ENOSPC;
	if (group_find(g, group))
		return -EEXIST;
	for (int i = 0; i < nmembers; i++)
		if (!name_is_valid(members[i], PROTO_NAME_MAX) || group_of(g, members[i], NULL))
			return -EINVAL;
	gr = group_add(g, group);
	if (!gr)
		return -ENOMEM;
	gr->epoch = gr->epoch_req = epoch;
	for (int i = 0; i < nmembers; i++)
		if (!member_find(gr, members[i]))
			member_add(g, gr, members[i]);
	if (leader && leader[0]) {
		util_strlcpy(gr->leader, leader, sizeof gr->leader);
		/* It may hold a lease granted just before the restart. */
		util_strlcpy(gr->holder, leader, sizeof gr->holder);
		gr->granted_ms = now_ms;
	}
	return 0;
}

/* ---- the failover state machine --------------------------------------- */

static void fo_set(struct group *gr, int64_t now_ms, enum grp_fo_state to, const char *code,
		   const char *detail, struct grp_out *out)
{
	struct grp_action *a = push(out, GA_STATE, gr);

	if (a) {
		a->from = gr->fo;
		a->to = to;
		a->fo_kind = gr->fo_kind;
		a->epoch = to >= FO_DECIDE ? gr->fo_epoch : gr->epoch;
		util_strlcpy(a->node, gr->fo_target, sizeof a->node);
		util_strlcpy(a->old_leader, gr->fo_old, sizeof a->old_leader);
		util_strlcpy(a->code, code, sizeof a->code);
		snprintf(a->text, sizeof a->text, "%s %s -> %s: %s", groups_fo_kind_name(gr->fo_kind),
			 groups_fo_state_name(gr->fo), groups_fo_state_name(to), detail);
	}
	gr->fo = to;
	gr->fo_since_ms = now_ms;
}

static void send_cmd(struct groups *g, struct group *gr, const char *node, enum grp_hook hook,
		     int64_t epoch, struct grp_out *out)
{
	struct grp_action *a = push(out, GA_SEND, gr);

	if (!a)
		return;
	util_strlcpy(a->node, node, sizeof a->node);
	util_strlcpy(a->old_leader, gr->fo_old, sizeof a->old_leader);
	a->hook = hook;
	a->epoch = epoch;
	a->cmd_id = g->next_cmd_id++;
	if (hook == GRP_HOOK_DEMOTE)
		gr->fo_cmd_id = a->cmd_id;
}

/* Back to IDLE: code is "confirmed", "aborted" or "failed". */
static void fo_end(struct groups *g, struct group *gr, int64_t now_ms, const char *code,
		   const char *detail, struct grp_out *out)
{
	fo_set(gr, now_ms, FO_IDLE, code, detail, out);
	gr->cooldown_until_ms = now_ms + g->cfg.cooldown_ms;
	gr->fo_kind = FOK_NONE;
	gr->fo_target[0] = '\0';
	gr->fo_old[0] = '\0';
	gr->fo_committed = false;
	gr->fo_demoted = false;
	for (int i = 0; i < gr->nm; i++)
		gr->m[i].tried = false;
}

/* Ask for the new epoch to be persisted; nothing is sent until it is. */
static void go_decide(struct group *gr, int64_t now_ms, struct grp_out *out)
{
	struct grp_action *a;

	gr->fo_epoch = (gr->epoch_req > gr->epoch ? gr->epoch_req : gr->epoch) + 1;
	gr->epoch_req = gr->fo_epoch;
	a = push(out, GA_SET_EPOCH, gr);
	if (a) {
		a->epoch = gr->fo_epoch;
		util_strlcpy(a->node, gr->fo_target, sizeof a->node);
		util_strlcpy(a->old_leader, gr->fo_old, sizeof a->old_leader);
	}
	fo_set(gr, now_ms, FO_DECIDE, "persist_epoch", "waiting for the new epoch to be durable", out);
}

static bool target_ok(const struct group *gr, int64_t now_ms)
{
	const struct member *m = member_find((struct group *)gr, gr->fo_target);

	return m && why_not(gr, m, now_ms) == 0;
}

/* The best eligible candidate not yet tried, into fo_target. */
static bool pick_next(struct group *gr, int64_t now_ms)
{
	struct grp_candidate c[GRP_MEMBERS_MAX];
	int n = rank(gr, now_ms, c);
	const char *b = best(c, n);

	if (!b)
		return false;
	util_strlcpy(gr->fo_target, b, sizeof gr->fo_target);
	return true;
}

static bool ev_is(const struct fo_ev *ev, enum fo_ev_kind kind, const char *node,
		  enum grp_hook hook, int64_t epoch)
{
	return ev && ev->kind == kind && (!node || strcmp(ev->node, node) == 0) &&
	       (kind != EV_HOOK || ev->hook == hook) && ev->epoch == epoch;
}

/* The one switch: advance gr's failover on an input (ev, may be NULL) or
 * on time (timeouts, lease waits). */
static void fo_step(struct groups *g, struct group *gr, int64_t now_ms, const struct fo_ev *ev,
		    struct grp_out *out)
{
	int64_t in_state = now_ms - gr->fo_since_ms;
	const struct member *old;
	bool matched;
	char t[160];

	switch (gr->fo) {
	case FO_IDLE:
	case FO_STATE_COUNT:
		return;

	case FO_DEMOTE:
		if (ev && ev->kind == EV_HOOK && ev->hook == GRP_HOOK_DEMOTE && ev->cmd_id == gr->fo_cmd_id &&
		    strcmp(ev->node, gr->fo_old) == 0) {
			if (ev->rc != 0) {
				fmt(t, sizeof t, "demote hook of %s failed (rc %d): %s stays leader",
					 gr->fo_old, ev->rc, gr->fo_old);
				fo_end(g, gr, now_ms, "aborted", t, out);
				return;
			}
			/* It dropped its lease before running the hook and ignores
			 * grants in flight: its lease is over now. */
			gr->fo_demoted = true;
			if (strcmp(gr->holder, gr->fo_old) == 0)
				gr->holder[0] = '\0';
		}
		if (!target_ok(gr, now_ms)) {
			fmt(t, sizeof t, "target %s no longer eligible", gr->fo_target);
			fo_end(g, gr, now_ms, "aborted", t, out);
			return;
		}
		if (gr->fo_demoted || now_ms >= lease_safe_ms(g, gr))
			go_decide(gr, now_ms, out);
		return;

	case FO_WAIT_LEASE:
		if (gr->fo_kind != FOK_MANUAL && gr->fo_kind != FOK_SWITCHOVER && !has_quorum(gr)) {
			fo_end(g, gr, now_ms, gr->fo_committed ? "failed" : "aborted",
			       "quorum lost: no automatic action", out);
			return;
		}
		if (!target_ok(gr, now_ms) && !pick_next(gr, now_ms)) {
			fo_end(g, gr, now_ms, gr->fo_committed ? "failed" : "aborted",
			       "no eligible candidate left", out);
			return;
		}
		if (now_ms >= lease_safe_ms(g, gr))
			go_decide(gr, now_ms, out);
		return;

	case FO_DECIDE:
		if (ev_is(ev, EV_PERSISTED, NULL, 0, gr->fo_epoch) && ev->rc == 0) {
			/* Point of no return: the new epoch is durable. */
			gr->epoch = gr->fo_epoch;
			util_strlcpy(gr->leader, gr->fo_target, sizeof gr->leader);
			gr->fo_committed = true;
			old = member_find(gr, gr->fo_old);
			if (old && old->connected && !gr->fo_demoted) {
				send_cmd(g, gr, gr->fo_old, GRP_HOOK_FENCE, gr->epoch, out);
				fo_set(gr, now_ms, FO_FENCE, "fence", "epoch durable; fencing the old leader", out);
			} else {
				send_cmd(g, gr, gr->fo_target, GRP_HOOK_PROMOTE, gr->epoch, out);
				fo_set(gr, now_ms, FO_PROMOTE, "promote", "epoch durable; promoting", out);
			}
			return;
		}
		matched = ev_is(ev, EV_PERSISTED, NULL, 0, gr->fo_epoch);
		if (matched || in_state >= g->cfg.persist_timeout_ms) {
			/* The write may still land: nobody leads (and nobody
			 * gets a lease) until a later epoch is durable. */
			gr->leader[0] = '\0';
			fmt(t, sizeof t, "epoch %lld %s; no command sent; group leaderless",
				 (long long)gr->fo_epoch, matched ? "write failed" : "write timed out");
			fo_end(g, gr, now_ms, "aborted", t, out);
		}
		return;

	case FO_FENCE:
		matched = ev_is(ev, EV_HOOK, gr->fo_old, GRP_HOOK_FENCE, gr->epoch);
		if (matched || in_state >= g->cfg.fence_timeout_ms) {
			send_cmd(g, gr, gr->fo_target, GRP_HOOK_PROMOTE, gr->epoch, out);
			fo_set(gr, now_ms, FO_PROMOTE, "promote",
			       matched ? "old leader fenced; promoting" :
			       "fence timed out (its lease is over); promoting", out);
		}
		return;

	case FO_PROMOTE:
		if (ev_is(ev, EV_HOOK, gr->fo_target, GRP_HOOK_PROMOTE, gr->epoch) && ev->rc == 0) {
			fmt(t, sizeof t, "%s leads at epoch %lld", gr->leader, (long long)gr->epoch);
			fo_end(g, gr, now_ms, "confirmed", t, out);
			return;
		}
		matched = ev_is(ev, EV_HOOK, gr->fo_target, GRP_HOOK_PROMOTE, gr->epoch);
		if (matched || in_state >= g->cfg.promote_timeout_ms) {
			struct member *m = member_find(gr, gr->fo_target);

			if (m)
				m->tried = true;
			/* Its lease (if any was granted) must run out before
			 * the next candidate: it becomes the old leader. */
			util_strlcpy(gr->fo_old, gr->fo_target, sizeof gr->fo_old);
			gr->leader[0] = '\0';
			gr->fo_demoted = false;
			fmt(t, sizeof t, "promote of %s %s", gr->fo_old,
				 matched ? "failed" : "timed out");
			if (!pick_next(gr, now_ms)) {
				fo_end(g, gr, now_ms, "failed", t, out);
				return;
			}
			cat(t, sizeof t, "; next candidate %s", gr->fo_target);
			fo_set(gr, now_ms, FO_WAIT_LEASE, "next_candidate", t, out);
			fo_step(g, gr, now_ms, NULL, out);
		}
		return;
	}
}

/* Start a failover toward gr->fo_target (set by the caller). */
static void fo_start(struct groups *g, struct group *gr, int64_t now_ms, enum grp_fo_kind kind,
		     struct grp_out *out)
{
	gr->fo_kind = kind;
	util_strlcpy(gr->fo_old, gr->leader, sizeof gr->fo_old);
	gr->fo_committed = false;
	gr->fo_demoted = false;
	if (kind == FOK_SWITCHOVER) {
		send_cmd(g, gr, gr->fo_old, GRP_HOOK_DEMOTE, gr->epoch, out);
		fo_set(gr, now_ms, FO_DEMOTE, "demote", "asked the leader to demote", out);
	} else {
		fo_set(gr, now_ms, FO_WAIT_LEASE, "wait_lease", "waiting for the lease to surely expire", out);
	}
	fo_step(g, gr, now_ms, NULL, out);
}

/* ---- automatic decisions ----------------------------------------------- */

/* The node to adopt: the one connected member whose agent says it leads,
 * if it is eligible; NULL if none or more than one claims. */
static const char *adoptee(const struct group *gr, int64_t now_ms)
{
	const struct member *found = NULL;

	for (int i = 0; i < gr->nm; i++) {
		const struct member *m = &gr->m[i];

		if (m->connected && m->role != GROLE_FOLLOWER) {
			if (found)
				return NULL;
			found = m;
		}
	}
	return found && why_not(gr, found, now_ms) == 0 ? found->name : NULL;
}

/* best(rank()) without building and sorting the list: what auto_check asks
 * of every leaderless group at every tick. */
static const char *best_member(const struct group *gr, int64_t now_ms)
{
	const struct member *b = NULL;

	for (int i = 0; i < gr->nm; i++) {
		const struct member *m = &gr->m[i];

		if (why_not(gr, m, now_ms))
			continue;
		if (!b || m->priority > b->priority ||
		    (m->priority == b->priority && strcmp(m->name, b->name) < 0))
			b = m;
	}
	return b ? b->name : NULL;
}

static void auto_check(struct groups *g, struct group *gr, int64_t now_ms, struct grp_out *out)
{
	struct grp_candidate c[GRP_MEMBERS_MAX];
	enum grp_fo_kind kind = FOK_ELECT;
	const char *target;
	unsigned blocked = 0;
	char t[PROTO_TEXT_MAX + 1];
	int n;

	if (gr->fo != FO_IDLE)
		return;
	if (gr->leader[0]) {
		const struct member *m = member_find(gr, gr->leader);

		if (m && m->state != NODE_FAILED && m->state != NODE_LEFT) {
			gr->last_refusal = 0;
			return;
		}
		kind = FOK_AUTO;
	}
	target = NULL;
	if (kind == FOK_ELECT && (target = adoptee(gr, now_ms)) != NULL)
		kind = FOK_ADOPT;
	else
		target = best_member(gr, now_ms);

	if (now_ms < lease_safe_ms(g, gr) && !(target && strcmp(target, gr->holder) == 0))
		blocked |= GG_LEASE;
	if (!has_quorum(gr))
		blocked |= GG_QUORUM;
	if (kind == FOK_ELECT && now_ms < gr->settle_until_ms)
		blocked |= GG_SETTLING;
	if (gr->paused)
		blocked |= GG_PAUSED;
	if (now_ms < gr->cooldown_until_ms)
		blocked |= GG_COOLDOWN;
	if (g->tilt)
		blocked |= GG_TILT;
	if (!target)
		blocked |= GG_NO_CANDIDATE;

	t[0] = '\0';
	if (kind == FOK_AUTO)
		cat(t, sizeof t, "leader %s failed; ", gr->leader);
	else
		cat(t, sizeof t, "no leader; ");
	if (blocked) {
		if (blocked == gr->last_refusal)
			return;                     /* said already */
		gr->last_refusal = blocked;
		n = rank(gr, now_ms, c);
		guard_text(g, gr, now_ms, blocked, t, sizeof t);
		cand_text(c, n, t, sizeof t);
		record(out, gr, "refusal", target, blocked, kind, t);
		return;
	}
	gr->last_refusal = 0;
	n = rank(gr, now_ms, c);
	cat(t, sizeof t, "%s of %s; ", groups_fo_kind_name(kind), target);
	cand_text(c, n, t, sizeof t);
	record(out, gr, "decision", target, 0, kind, t);
	util_strlcpy(gr->fo_target, target, sizeof gr->fo_target);
	gr->fo_kind = kind;
	util_strlcpy(gr->fo_old, gr->leader, sizeof gr->fo_old);
	gr->fo_committed = false;
	gr->fo_demoted = false;
	go_decide(gr, now_ms, out);
}

/* ---- inputs ------------------------------------------------------------ */

int groups_member(struct groups *g, int64_t now_ms, const struct grp_member_update *u,
		  struct grp_out *out)
{
	struct member *m = NULL;
	struct group *gr, *other;
	struct grp_action *a;

	(void)now_ms;
	if (!name_is_valid(u->node, PROTO_NAME_MAX) || !name_is_valid(u->group, PROTO_NAME_MAX) ||
	    (unsigned)u->state >= NODE_STATE_COUNT)
		return -EINVAL;
	other = group_of(g, u->node, &m);
	gr = group_find(g, u->group);
	if (other && other != gr)
		return -EEXIST;
	if (!gr) {
		gr = group_add(g, u->group);
		if (!gr)
			return -ENOMEM;
		gr->settle_until_ms = now_ms + g->cfg.elect_settle_ms;
	}
	if (!m) {
		m = member_add(g, gr, u->node);
		if (!m)
			return -ENOSPC;
		a = push(out, GA_MEMBER, gr);
		if (a) {
			util_strlcpy(a->node, u->node, sizeof a->node);
			a->on = true;
		}
	}
	m->priority = u->priority;
	m->state = u->state;
	m->flapping = u->flapping;
	m->no_failover = u->no_failover;
	m->role = u->role;
	m->connected = u->connected;
	return 0;
}

void groups_heartbeat(struct groups *g, int64_t now_ms, const char *node,
		      struct grp_grant *grant)
{
	struct group *gr = group_of(g, node, NULL);

	memset(grant, 0, sizeof *grant);
	if (!gr)
		return;
	grant->member = true;
	grant->epoch = gr->epoch;
	util_strlcpy(grant->leader, gr->leader, sizeof grant->leader);
	if (strcmp(node, gr->leader) != 0)
		return;
	/* Renew only while no failover is taking the lease away (or once
	 * the new leader is being promoted), and never while another node's
	 * lease may still run. */
	if (gr->fo != FO_IDLE && gr->fo != FO_PROMOTE)
		return;
	if (gr->holder[0] && strcmp(gr->holder, node) != 0 && now_ms < lease_safe_ms(g, gr))
		return;
	if (strcmp(gr->holder, node) != 0 || now_ms > gr->granted_ms)
		gr->granted_ms = now_ms;
	util_strlcpy(gr->holder, node, sizeof gr->holder);
	grant->lease_ms = g->cfg.lease_ms;
}

void groups_hook_result(struct groups *g, int64_t now_ms, const char *node, enum grp_hook hook,
			int64_t epoch, uint64_t cmd_id, int rc, const char *output,
			struct grp_out *out)
{
	struct group *gr = group_of(g, node, NULL);
	struct fo_ev ev = { EV_HOOK, node, hook, epoch, cmd_id, rc };
	char t[PROTO_TEXT_MAX + 1];

	if (!gr)
		return;
	if (gr->fo == FO_IDLE && hook == GRP_HOOK_PROMOTE && rc != 0 &&
	    strcmp(node, gr->leader) == 0 && epoch == gr->epoch) {
		/* The leader could not take the role: nobody leads; an
		 * election follows once its lease surely ran out. */
		fmt(t, sizeof t, "promote hook of leader %s failed (rc %d): %s; group leaderless",
			 node, rc, output ? output : "");
		gr->leader[0] = '\0';
		record(out, gr, "leader", node, 0, FOK_NONE, t);
		return;
	}
	fo_step(g, gr, now_ms, &ev, out);
}

void groups_epoch_persisted(struct groups *g, int64_t now_ms, const char *group, int64_t epoch,
			    bool ok, struct grp_out *out)
{
	struct group *gr = group_find(g, group);
	struct fo_ev ev = { EV_PERSISTED, "", 0, epoch, 0, ok ? 0 : -1 };

	if (gr)
		fo_step(g, gr, now_ms, &ev, out);
}

void groups_tick(struct groups *g, int64_t now_ms, bool in_tilt, struct grp_out *out)
{
	char t[PROTO_TEXT_MAX + 1];

	g->tilt = in_tilt;
	for (size_t i = 0; i < g->n; i++) {
		struct group *gr = g->v[i];

		if (gr->paused && gr->pause_until_ms && now_ms >= gr->pause_until_ms) {
			gr->paused = false;
			record(out, gr, "override", NULL, 0, FOK_NONE, "pause expired: automation resumed");
		}
		for (int j = 0; j < gr->nm; j++) {
			struct member *m = &gr->m[j];

			if (m->maint && m->maint_until_ms && now_ms >= m->maint_until_ms) {
				m->maint = false;
				fmt(t, sizeof t, "maintenance of %s expired", m->name);
				record(out, gr, "override", m->name, 0, FOK_NONE, t);
			}
		}
		fo_step(g, gr, now_ms, NULL, out);
		auto_check(g, gr, now_ms, out);
	}
}

/* ---- operator commands ------------------------------------------------- */

/* The pre-flight of a failover or switchover: fills res, changes nothing. */
static void preflight(const struct groups *g, const struct group *gr, int64_t now_ms,
		      const struct grp_cmd *cmd, struct grp_cmd_result *res)
{
	const struct member *ldr = member_find((struct group *)gr, gr->leader);
	const char *target = NULL;

	res->ncand = rank(gr, now_ms, res->cand);
	if (gr->fo != FO_IDLE)
		res->blocked |= GG_BUSY;
	if (!has_quorum(gr) && !cmd->force)
		res->blocked |= GG_QUORUM;
	if (cmd->kind == GCMD_SWITCHOVER) {
		if (!cmd->node[0])
			res->blocked |= GG_BAD_COMMAND;
		if (!ldr || !ldr->connected || !is_up(ldr->state))
			res->blocked |= GG_NO_LEADER;
	} else if (ldr && ldr->state == NODE_ALIVE && ldr->connected && !cmd->force) {
		res->blocked |= GG_LEADER_HEALTHY;
	}
	if (cmd->node[0]) {
		for (int i = 0; i < res->ncand; i++)
			if (strcmp(res->cand[i].node, cmd->node) == 0)
				target = res->cand[i].node;
		if (!target)
			res->blocked |= GG_UNKNOWN;
		else if (!member_find((struct group *)gr, target) ||
			 why_not(gr, member_find((struct group *)gr, target), now_ms))
			res->blocked |= GG_TARGET;
	} else {
		target = best(res->cand, res->ncand);
		if (!target)
			res->blocked |= GG_NO_CANDIDATE;
	}
	if (target)
		util_strlcpy(res->target, target, sizeof res->target);
	res->text[0] = '\0';
	if (res->blocked)
		guard_text(g, gr, now_ms, res->blocked, res->text, sizeof res->text);
	else
		cat(res->text, sizeof res->text, "%s %s%s; ", cmd->dry_run ? "would promote" :
		    "promoting", res->target,
		    now_ms < lease_safe_ms(g, gr) && strcmp(gr->holder, res->target) != 0 ?
		    " after the current lease surely expires" : "");
	cand_text(res->cand, res->ncand, res->text, sizeof res->text);
}

static void audit(struct grp_out *out, const struct group *gr, const struct grp_cmd *cmd,
		  const struct grp_cmd_result *res)
{
	static const char *const names[] = { "?", "failover", "switchover", "pause", "resume", "maintenance" };
	char t[PROTO_TEXT_MAX + 1];

	fmt(t, sizeof t, "%s by %s (%s): %s%s", names[cmd->kind], cmd->who, cmd->reason,
		 res->ok ? "" : "refused: ", res->text);
	record(out, gr, res->ok ? "command" : "command_refused",
	       cmd->node[0] ? cmd->node : NULL, res->blocked, FOK_NONE, t);
}

int groups_command(struct groups *g, int64_t now_ms, const struct grp_cmd *cmd,
		   struct grp_cmd_result *res, struct grp_out *out)
{
	struct group *gr = NULL;
	struct member *m = NULL;

	memset(res, 0, sizeof *res);
	if (cmd->kind < GCMD_FAILOVER || cmd->kind > GCMD_MAINTENANCE ||
	    (cmd->node[0] && !name_is_valid(cmd->node, PROTO_NAME_MAX))) {
		res->blocked = GG_BAD_COMMAND;
		fmt(res->text, sizeof res->text, "malformed command");
		return -EINVAL;
	}
	if (cmd->kind == GCMD_MAINTENANCE)
		gr = group_of(g, cmd->node, &m);
	else
		gr = group_find(g, cmd->group);
	if (!gr) {
		res->blocked = GG_UNKNOWN;
		fmt(res->text, sizeof res->text, "unknown %s '%s'",
			 cmd->kind == GCMD_MAINTENANCE ? "node" : "group",
			 cmd->kind == GCMD_MAINTENANCE ? cmd->node : cmd->group);
		if (!cmd->dry_run)
			audit(out, NULL, cmd, res);
		return -EPERM;
	}

	switch (cmd->kind) {
	case GCMD_FAILOVER:
	case GCMD_SWITCHOVER:
		preflight(g, gr, now_ms, cmd, res);
		break;
	case GCMD_PAUSE:
		fmt(res->text, sizeof res->text, "automation paused %s",
			 cmd->duration_ms > 0 ? "for a while" : "until resumed");
		break;
	case GCMD_RESUME:
		fmt(res->text, sizeof res->text, "%s", gr->paused ? "automation resumed" : "was not paused");
		break;
	case GCMD_MAINTENANCE:
		fmt(res->text, sizeof res->text, "maintenance of %s %s", cmd->node,
			 cmd->on ? "on" : "off");
		break;
	}
	res->ok = res->blocked == 0;
	if (cmd->dry_run)
		return res->ok ? 0 : -EPERM;
	audit(out, gr, cmd, res);
	if (!res->ok)
		return -EPERM;

	switch (cmd->kind) {
	case GCMD_FAILOVER:
	case GCMD_SWITCHOVER:
		util_strlcpy(gr->fo_target, res->target, sizeof gr->fo_target);
		fo_start(g, gr, now_ms, cmd->kind == GCMD_SWITCHOVER ? FOK_SWITCHOVER : FOK_MANUAL, out);
		break;
	case GCMD_PAUSE:
		gr->paused = true;
		gr->pause_until_ms = cmd->duration_ms > 0 ? now_ms + cmd->duration_ms : 0;
		util_strlcpy(gr->pause_by, cmd->who, sizeof gr->pause_by);
		util_strlcpy(gr->pause_reason, cmd->reason, sizeof gr->pause_reason);
		break;
	case GCMD_RESUME:
		gr->paused = false;
		gr->pause_until_ms = 0;
		break;
	case GCMD_MAINTENANCE:
		m->maint = cmd->on;
		m->maint_until_ms = cmd->on && cmd->duration_ms > 0 ? now_ms + cmd->duration_ms : 0;
		break;
	}
	return 0;
}

int groups_forget(struct groups *g, int64_t now_ms, const char *group, const char *node,
		  const char *who, const char *reason, struct grp_out *out)
{
	struct group *gr = group_find(g, group);
	struct member *m = gr ? member_find(gr, node) : NULL;
	struct grp_action *a;
	char t[PROTO_TEXT_MAX + 1];

	(void)now_ms;
	if (!m)
		return -ENOENT;
	if (strcmp(node, gr->leader) == 0 || strcmp(node, gr->holder) == 0 || m->connected ||
	    strcmp(node, gr->fo_target) == 0 || strcmp(node, gr->fo_old) == 0)
		return -EBUSY;
	hmap_del(&g->by_node, node);
	*m = gr->m[--gr->nm];
	a = push(out, GA_MEMBER, gr);
	if (a) {
		util_strlcpy(a->node, node, sizeof a->node);
		a->on = false;
	}
	fmt(t, sizeof t, "%s forgotten by %s (%s)", node, who, reason);
	record(out, gr, "forget", node, 0, FOK_NONE, t);
	return 0;
}

void groups_epoch_seen(struct groups *g, const char *group, int64_t epoch)
{
	struct group *gr = group_find(g, group);

	if (gr && epoch > gr->epoch_req)
		gr->epoch_req = epoch;       /* the next change takes epoch + 1 */
}

int groups_restore_override(struct groups *g, int64_t now_ms, const char *group, const char *node,
			    int64_t until_ms, const char *who, const char *reason)
{
	struct group *gr = group_find(g, group);
	struct member *m;

	if (!gr)
		return -ENOENT;
	if (until_ms && until_ms <= now_ms)
		return 0;                      /* expired while the collector was down */
	if (!node || !node[0]) {
		gr->paused = true;
		gr->pause_until_ms = until_ms;
		util_strlcpy(gr->pause_by, who ? who : "", sizeof gr->pause_by);
		util_strlcpy(gr->pause_reason, reason ? reason : "", sizeof gr->pause_reason);
		return 0;
	}
	m = member_find(gr, node);
	if (!m)
		return -ENOENT;
	m->maint = true;
	m->maint_until_ms = until_ms;
	return 0;
}

/* ---- views ------------------------------------------------------------- */

void groups_maint_states(const struct groups *g, int64_t now_ms, int counts[NODE_STATE_COUNT])
{
	memset(counts, 0, NODE_STATE_COUNT * sizeof counts[0]);
	for (size_t i = 0; i < g->n; i++)
		for (int j = 0; j < g->v[i]->nm; j++) {
			const struct member *m = &g->v[i]->m[j];

			if (m->maint && (!m->maint_until_ms || now_ms < m->maint_until_ms) &&
			    m->state < NODE_STATE_COUNT)
				counts[m->state]++;
		}
}

bool groups_member_maint(const struct groups *g, const char *group, const char *node,
			 int64_t now_ms, int64_t *until_ms)
{
	struct group *gr = group_find(g, group);
	struct member *m = gr ? member_find(gr, node) : NULL;

	if (!m || !m->maint ||
	    (m->maint_until_ms && now_ms >= m->maint_until_ms))
		return false;
	if (until_ms)
		*until_ms = m->maint_until_ms;
	return true;
}


size_t groups_count(const struct groups *g)
{
	return g->n;
}

int groups_info(const struct groups *g, int64_t now_ms, const char *group, struct grp_info *out)
{
	const struct group *gr = group_find(g, group);

	(void)now_ms;
	if (!gr)
		return -ENOENT;
	memset(out, 0, sizeof *out);
	util_strlcpy(out->name, gr->name, sizeof out->name);
	out->epoch = gr->epoch;
	util_strlcpy(out->leader, gr->leader, sizeof out->leader);
	out->expected = gr->nm;
	out->alive = alive_count(gr);
	out->quorum = has_quorum(gr);
	out->fo_state = gr->fo;
	out->fo_kind = gr->fo_kind;
	out->fo_since_ms = gr->fo_since_ms;
	util_strlcpy(out->fo_target, gr->fo_target, sizeof out->fo_target);
	util_strlcpy(out->lease_holder, gr->holder, sizeof out->lease_holder);
	out->lease_safe_ms = lease_safe_ms(g, gr);
	out->paused = gr->paused;
	out->pause_until_ms = gr->pause_until_ms;
	util_strlcpy(out->paused_by, gr->paused ? gr->pause_by : "", sizeof out->paused_by);
	util_strlcpy(out->pause_reason, gr->paused ? gr->pause_reason : "", sizeof out->pause_reason);
	out->cooldown_until_ms = gr->cooldown_until_ms;
	return 0;
}

bool groups_has_quorum(const struct groups *g, const char *group)
{
	const struct group *gr = group_find(g, group);

	return gr && has_quorum(gr);
}

int groups_candidates(const struct groups *g, int64_t now_ms, const char *group,
		      struct grp_candidate *cand, int max)
{
	const struct group *gr = group_find(g, group);
	struct grp_candidate c[GRP_MEMBERS_MAX];
	int n;

	if (!gr)
		return -ENOENT;
	n = rank(gr, now_ms, c);
	if (n > max)
		n = max;
	memcpy(cand, c, (size_t)(n > 0 ? n : 0) * sizeof *c);
	return n;
}
