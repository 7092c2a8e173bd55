/* core — node states for the collector, decided in simulated-or-real time.
 *
 * Node state machine (rule names in quotes are what the records show):
 *
 *   (new) --"hello"--> alive
 *   alive|degraded --phi >= suspect--> suspect ("phi_suspect")
 *   alive|degraded|suspect --phi >= failed--> failed ("phi_failed")
 *   any connected --connection lost without bye--> suspect ("conn_lost")
 *   suspect (disconnected) --reconnect_grace_ms passes--> failed ("reconnect_grace")
 *   suspect|failed --heartbeat on a live connection--> alive ("heartbeat_resumed")
 *   any --hello on a new connection--> alive ("reconnected")
 *   any --bye--> left ("bye")
 *   remembered after a restart --> suspect ("not_seen_since_restart"),
 *        failed after startup_grace_ms ("startup_grace")
 *
 * While the collector is in tilt (its own loop stalled) nothing is decided
 * from timing: phi and grace rules wait until it has been stable for
 * tilt_hold_ms.  Connection facts (hello, bye, a closed socket) still count.
 */
#include "collector/core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/phi.h"
#include "proto/util.h"

struct node {
	/* What core_tick reads of every node at every tick, in one cache line:
	 * with 10,000 nodes the walk is bound by memory, not by arithmetic. */
	enum node_state state;
	bool remembered;            /* from the store, not seen since start */
	bool flapping;
	uint64_t conn;              /* 0 = not connected */
	int64_t quiet_until_ms;     /* phi_quiet_until() of phi: no need to look before */
	struct phi_detector *phi;
	int64_t state_since_ms;
	int64_t disconnected_ms;    /* when the last connection dropped */

	char name[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	int priority;
	char version[PROTO_VERSION_MAX + 1];
	char boot_id[PROTO_BOOT_ID_MAX + 1];
	int interval_ms;

	char rule[64];
	int64_t state_since_wall_ms;

	bool said_bye;              /* on the current connection */

	int64_t last_hb_ms;         /* monotonic, -1 never */
	int64_t last_hb_wall_ms;
	int64_t last_seq;
	int64_t hb_count;
	char events_boot_id[PROTO_BOOT_ID_MAX + 1];
	int64_t last_event_seq;     /* highest agent event seq stored for events_boot_id */
	struct proto_metrics m;
	int64_t rtt_ms;

	struct proto_check *checks; /* last reported, nchecks of checks_cap */
	int nchecks, checks_cap;
	int bad_streak, good_streak;/* heartbeats in a row over / under the health thresholds */
	char health[PROTO_TEXT_MAX + 1];

	double flap_score;          /* as of flap_at_ms */
	int64_t flap_at_ms;
	uint64_t rev;               /* core rev of its last change of any kind */
	uint64_t srev;              /* ... of its last significant change (not just a heartbeat) */

	/* leadership, as the agent reports it */
	char agent_role[PROTO_ROLE_MAX + 1];
	int64_t agent_epoch;
	bool no_failover;
};

struct core {
	struct core_config cfg;
	struct node **nodes;        /* sorted by group, name when !sorted_dirty */
	size_t n, cap;
	bool sorted_dirty;
	struct node **hash;         /* open addressing by name */
	size_t hcap;                /* power of two */

	struct core_group_info *groups;
	size_t ngroups, gcap;

	int64_t started_ms;
	int64_t last_tick_ms;
	bool tilt;
	int64_t tilt_until_ms;
	int64_t tilt_since_ms;      /* the last stall ended (tilt entered or extended) */
	uint64_t rev;
	uint64_t srev;              /* the highest node srev */
	int64_t deadline_ms;        /* core_next_deadline() of the nodes, when fresh */
	bool deadline_stale;        /* a node's connection, state or grace clock changed */

	struct removed *removed;    /* ring of forgotten nodes, CORE_REMOVED_MAX */
	size_t rhead, rn;           /* rhead: the oldest */
	uint64_t removed_floor;     /* rev of the newest one dropped from the ring */
};

/* A forgotten node, for the deltas' "removed". */
struct removed {
	char name[PROTO_NAME_MAX + 1];
	uint64_t rev;
};

/* A node changed: deltas list it.  Significant changes (state, connection,
 * flags, health, role) also go out in the fast deltas; a plain heartbeat's
 * metrics only in the periodic full ones (docs/protocol.md). */
static void bump(struct core *c, struct node *n, bool significant)
{
	n->rev = ++c->rev;
	if (significant) {
		n->srev = c->srev = n->rev;
		c->deadline_stale = true;
	}
}

/* ---- config ------------------------------------------------------------ */

void core_config_defaults(struct core_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->suspect_phi = 5.0;
	cfg->failed_phi = 8.0;
	cfg->max_samples = 200;
	cfg->min_std_dev_ms = 0;
	cfg->acceptable_pause_ms = 0;
	cfg->reconnect_grace_ms = 1000;
	cfg->startup_grace_ms = 12000;
	cfg->tilt_gap_ms = 2000;
	cfg->tilt_hold_ms = 5000;
	cfg->degraded_error_rate = 0;
	cfg->degraded_latency_ms = 0;
	cfg->degraded_rtt_ms = 0;
	cfg->degraded_after = 3;
	cfg->recover_after = 3;
	cfg->flap_threshold = 5;
	cfg->flap_half_life_ms = 60000;
}

int core_config_check(const struct core_config *cfg, char *err, size_t errlen)
{
	if (!(cfg->suspect_phi > 0) || !(cfg->failed_phi > cfg->suspect_phi) || cfg->failed_phi > 100) {
		snprintf(err, errlen, "--suspect-phi must be > 0 and below --failed-phi (at most 100); got %g and %g",
			 cfg->suspect_phi, cfg->failed_phi);
		return -1;
	}
	if (cfg->max_samples < 2 || cfg->max_samples > 100000) {
		snprintf(err, errlen, "--max-samples must be 2..100000");
		return -1;
	}
	if (!(cfg->min_std_dev_ms >= 0) || !(cfg->acceptable_pause_ms >= 0)) {
		snprintf(err, errlen, "--min-std-dev-ms and --acceptable-pause-ms must be >= 0 (0 = auto)");
		return -1;
	}
	if (cfg->reconnect_grace_ms < 0) {
		snprintf(err, errlen, "--reconnect-grace-ms must be >= 0");
		return -1;
	}
	if (cfg->startup_grace_ms < 0) {
		snprintf(err, errlen, "--startup-grace-ms must be >= 0");
		return -1;
	}
	if (cfg->tilt_gap_ms < 100) {
		snprintf(err, errlen, "--tilt-gap-ms must be >= 100");
		return -1;
	}
	if (cfg->tilt_hold_ms < 0) {
		snprintf(err, errlen, "--tilt-hold-ms must be >= 0");
		return -1;
	}
	if (!(cfg->degraded_error_rate >= 0) || !(cfg->degraded_latency_ms >= 0) ||
	    cfg->degraded_rtt_ms < 0) {
		snprintf(err, errlen, "--degraded-error-rate, --degraded-latency-ms and "
			 "--degraded-rtt-ms must be >= 0 (0 = off)");
		return -1;
	}
	if (cfg->degraded_after < 1 || cfg->degraded_after > 1000 ||
	    cfg->recover_after < 1 || cfg->recover_after > 1000) {
		snprintf(err, errlen, "--degraded-after and --recover-after must be 1..1000 heartbeats");
		return -1;
	}
	if (!(cfg->flap_threshold >= 2) || cfg->flap_threshold > 1000 || cfg->flap_half_life_ms < 1000) {
		snprintf(err, errlen, "--flap-threshold must be 2..1000 and --flap-half-life-ms >= 1000");
		return -1;
	}
	return 0;
}

/* ---- action list ------------------------------------------------------- */

void core_out_init(struct core_out *o)
{
	memset(o, 0, sizeof *o);
}

void core_out_reset(struct core_out *o)
{
	o->n = 0;
	o->oom = false;
}

void core_out_done(struct core_out *o)
{
	free(o->v);
	memset(o, 0, sizeof *o);
}

static struct core_action *push(struct core_out *o, enum core_action_kind kind,
				const struct node *n, int64_t wall_ms)
{
	struct core_action *a, *nv = util_grow(o->v, &o->cap, o->n, sizeof *o->v, 16);

	if (!nv) {
		o->oom = true;
		return NULL;
	}
	o->v = nv;
	a = &o->v[o->n++];
	memset(a, 0, offsetof(struct core_action, text));
	a->text[0] = '\0';
	a->kind = kind;
	a->wall_ms = wall_ms;
	if (n) {
		util_strlcpy(a->node, n->name, sizeof a->node);
		util_strlcpy(a->group, n->group, sizeof a->group);
	}
	return a;
}

/* ---- node table -------------------------------------------------------- */

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct node *find(const struct core *c, const char *name)
{
	size_t i;

	if (!c->hcap)
		return NULL;
	for (i = hash_name(name) & (c->hcap - 1); c->hash[i]; i = (i + 1) & (c->hcap - 1))
		if (strcmp(c->hash[i]->name, name) == 0)
			return c->hash[i];
	return NULL;
}

static void hash_insert(struct node **tab, size_t cap, struct node *n)
{
	size_t i = hash_name(n->name) & (cap - 1);

	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = n;
}

static int grow(struct core *c)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct node **nv = realloc(c->nodes, ncap * sizeof *nv);

		if (!nv)
			return -ENOMEM;
		c->nodes = nv;
		c->cap = ncap;
	}
	if ((c->n + 1) * 2 > c->hcap) {
		size_t ncap = c->hcap ? c->hcap * 2 : 128;
		struct node **nh = calloc(ncap, sizeof *nh);

		if (!nh)
			return -ENOMEM;
		for (size_t i = 0; i < c->n; i++)
			hash_insert(nh, ncap, c->nodes[i]);
		free(c->hash);
		c->hash = nh;
		c->hcap = ncap;
	}
	return 0;
}

/* Linear probing: deleting a slot must not cut the probe chain of the
 * entries after it.  Backward shift (Knuth 6.4, Algorithm R): each entry
 * further along the run moves into the hole unless its home slot lies
 * cyclically in (hole, its slot]. */
static void hash_remove(struct core *c, const struct node *n)
{
	size_t mask = c->hcap - 1, i, j, k;

	for (i = hash_name(n->name) & mask; c->hash[i] != n; i = (i + 1) & mask)
		;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!c->hash[j])
			break;
		k = hash_name(c->hash[j]->name) & mask;
		if (i < j ? (k <= i || k > j) : (k <= i && k > j)) {
			c->hash[i] = c->hash[j];
			i = j;
		}
	}
	c->hash[i] = NULL;
}

static struct node *add_node(struct core *c, const char *name, const char *group)
{
	struct node *n;

	if (grow(c))
		return NULL;
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	util_strlcpy(n->name, name, sizeof n->name);
	util_strlcpy(n->group, group, sizeof n->group);
	n->last_hb_ms = -1;
	n->last_hb_wall_ms = -1;
	n->last_seq = -1;
	n->rtt_ms = -1;
	n->m.cpu_pct = n->m.mem_pct = n->m.load1 = n->m.disk_pct = NAN;
	c->nodes[c->n++] = n;
	c->deadline_stale = true;
	hash_insert(c->hash, c->hcap, n);
	c->sorted_dirty = true;
	bump(c, n, true);
	return n;
}

static double pause_ms(const struct core *c, const struct node *n)
{
	return c->cfg.acceptable_pause_ms > 0 ? c->cfg.acceptable_pause_ms : (double)n->interval_ms;
}

static double min_sd_ms(const struct core *c, const struct node *n)
{
	return c->cfg.min_std_dev_ms > 0 ? c->cfg.min_std_dev_ms : (double)n->interval_ms / 5.0;
}

/* A fresh detector for a new connection, bootstrapped from the interval the
 * agent announced. */
static int reset_phi(struct core *c, struct node *n)
{
	struct phi_config pc = {
		.threshold = c->cfg.failed_phi,
		.max_samples = c->cfg.max_samples,
		.min_std_dev_ms = min_sd_ms(c, n),
		.acceptable_pause_ms = pause_ms(c, n),
		.first_heartbeat_estimate_ms = (double)n->interval_ms,
	};
	struct phi_detector *d = phi_new(&pc);

	if (!d)
		return -ENOMEM;
	phi_free(n->phi);
	n->phi = d;
	n->quiet_until_ms = INT64_MIN;
	return 0;
}

/* Every heartbeat the detector is fed goes through here, so that
 * quiet_until_ms always belongs to the current detector and its window. */
static void feed_phi(struct node *n, int64_t now_ms)
{
	phi_heartbeat(n->phi, now_ms);
	n->quiet_until_ms = phi_quiet_until(n->phi);
}

static void evidence(const struct node *n, int64_t now_ms, struct core_evidence *ev)
{
	struct phi_stats st;

	ev->phi = NAN;
	ev->mean_ms = ev->sd_ms = NAN;
	ev->samples = 0;
	ev->hb_age_ms = n->last_hb_ms >= 0 ? now_ms - n->last_hb_ms : -1;
	if (!n->phi)
		return;
	ev->phi = phi_value(n->phi, now_ms);
	phi_get_stats(n->phi, &st);
	ev->samples = st.samples;
	if (st.samples > 0) {
		ev->mean_ms = st.mean_ms;
		ev->sd_ms = st.std_dev_ms;
	}
}

/* ---- flapping ---------------------------------------------------------- */

static double flap_score_at(const struct core *c, const struct node *n, int64_t now_ms)
{
	double dt = (double)(now_ms - n->flap_at_ms);

	if (n->flap_score <= 0 || dt <= 0)
		return n->flap_score;
	return n->flap_score * exp2(-dt / (double)c->cfg.flap_half_life_ms);
}

static void flap_event(struct core *c, struct node *n, bool on, int64_t wall_ms, struct core_out *out)
{
	struct core_action *a = push(out, CA_FLAP, n, wall_ms);

	n->flapping = on;
	bump(c, n, true);
	if (!a)
		return;
	a->on = on;
	if (on)
		snprintf(a->text, sizeof a->text,
			 "%.1f state changes (decaying, half-life %lld s): held out of automatic "
			 "actions until it settles", n->flap_score,
			 (long long)(c->cfg.flap_half_life_ms / 1000));
	else
		snprintf(a->text, sizeof a->text, "settled: flap score %.1f", n->flap_score);
}

/* Every state change counts; crossing the threshold raises one event. */
static void flap_count(struct core *c, struct node *n, int64_t now_ms, int64_t wall_ms,
		       struct core_out *out)
{
	n->flap_score = flap_score_at(c, n, now_ms) + 1.0;
	n->flap_at_ms = now_ms;
	if (!n->flapping && n->flap_score >= c->cfg.flap_threshold)
		flap_event(c, n, true, wall_ms, out);
}

/* A flapping node is stable again once its score decayed below half. */
static void flap_settle(struct core *c, struct node *n, int64_t now_ms, int64_t wall_ms,
			struct core_out *out)
{
	if (!n->flapping || flap_score_at(c, n, now_ms) >= c->cfg.flap_threshold / 2)
		return;
	n->flap_score = flap_score_at(c, n, now_ms);
	n->flap_at_ms = now_ms;
	flap_event(c, n, false, wall_ms, out);
}

/* The one place a node changes state. */
static void transition(struct core *c, struct node *n, enum node_state to, const char *rule,
		       int64_t now_ms, int64_t wall_ms, const char *detail, bool is_new,
		       struct core_out *out)
{
	struct core_action *a;

	a = push(out, CA_TRANSITION, n, wall_ms);
	if (a) {
		a->is_new = is_new;
		a->from = n->state;
		a->to = to;
		util_strlcpy(a->rule, rule, sizeof a->rule);
		evidence(n, now_ms, &a->ev);
		if (detail)
			util_strlcpy(a->text, detail, sizeof a->text);
	}
	n->state = to;
	util_strlcpy(n->rule, rule, sizeof n->rule);
	n->state_since_ms = now_ms;
	n->state_since_wall_ms = wall_ms;
	bump(c, n, true);
	if (!is_new)
		flap_count(c, n, now_ms, wall_ms, out);
}

static void record(struct node *n, const char *kind, const char *rule, int64_t wall_ms,
		   const char *text, struct core_out *out)
{
	struct core_action *a = push(out, CA_RECORD, n, wall_ms);

	if (!a)
		return;
	util_strlcpy(a->code, kind, sizeof a->code);
	util_strlcpy(a->rule, rule, sizeof a->rule);
	if (text)
		util_strlcpy(a->text, text, sizeof a->text);
}

/* ---- lifecycle --------------------------------------------------------- */

struct core *core_new(const struct core_config *cfg, int64_t now_ms)
{
	struct core *c;
	char err[128];

	if (core_config_check(cfg, err, sizeof err))
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->cfg = *cfg;
	c->started_ms = now_ms;
	c->last_tick_ms = now_ms;
	c->deadline_ms = INT64_MAX;
	return c;
}

static void node_free(struct node *n)
{
	phi_free(n->phi);
	free(n->checks);
	free(n);
}

void core_free(struct core *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		node_free(c->nodes[i]);
	free(c->nodes);
	free(c->hash);
	free(c->groups);
	free(c->removed);
	free(c);
}

/* Remember a removal for the deltas; the oldest falls off a full ring. */
static void removed_push(struct core *c, const char *name, uint64_t rev)
{
	struct removed *r;

	if (!c->removed) {
		c->removed = malloc(CORE_REMOVED_MAX * sizeof *c->removed);
		if (!c->removed) {          /* no list: every delta must be a snapshot */
			c->removed_floor = rev;
			return;
		}
	}
	if (c->rn == CORE_REMOVED_MAX) {
		c->removed_floor = c->removed[c->rhead].rev;
		c->rhead = (c->rhead + 1) % CORE_REMOVED_MAX;
		c->rn--;
	}
	r = &c->removed[(c->rhead + c->rn++) % CORE_REMOVED_MAX];
	util_strlcpy(r->name, name, sizeof r->name);
	r->rev = rev;
}

int core_forget(struct core *c, const char *node)
{
	struct node *n = find(c, node);
	size_t i;

	if (!n)
		return -ENOENT;
	if (n->conn)
		return -EBUSY;
	hash_remove(c, n);
	for (i = 0; c->nodes[i] != n; i++)
		;
	/* memmove keeps the order: sorted stays sorted, dirty stays dirty. */
	memmove(&c->nodes[i], &c->nodes[i + 1], (c->n - i - 1) * sizeof *c->nodes);
	c->n--;
	/* A removal is a significant change: the next fast delta carries it. */
	c->srev = ++c->rev;
	c->deadline_stale = true;
	removed_push(c, n->name, c->rev);
	node_free(n);
	return 0;
}

size_t core_removed_count(const struct core *c)
{
	return c->rn;
}

const char *core_removed(const struct core *c, size_t i, uint64_t *rev)
{
	const struct removed *r;

	if (i >= c->rn)
		return NULL;
	r = &c->removed[(c->rhead + i) % CORE_REMOVED_MAX];
	if (rev)
		*rev = r->rev;
	return r->name;
}

uint64_t core_removed_floor(const struct core *c)
{
	return c->removed_floor;
}

void core_remember(struct core *c, int64_t now_ms, int64_t wall_ms, const char *node,
		   const char *group, int priority, enum node_state last_state)
{
	struct node *n = find(c, node);

	if (n)
		return;
	n = add_node(c, node, group);
	if (!n)
		return;
	n->priority = priority;
	n->interval_ms = 500;
	n->remembered = true;
	c->deadline_stale = true;
	n->state = last_state == NODE_LEFT ? NODE_LEFT : NODE_SUSPECT;
	util_strlcpy(n->rule, last_state == NODE_LEFT ? "left_before_restart" : "not_seen_since_restart",
		     sizeof n->rule);
	n->state_since_ms = now_ms;
	n->state_since_wall_ms = wall_ms;
}

/* ---- inputs ------------------------------------------------------------ */

static bool holder_is_live(const struct node *n)
{
	return n->conn && (n->state == NODE_ALIVE || n->state == NODE_DEGRADED ||
			   n->state == NODE_MAINTENANCE);
}

int core_hello(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
	       const struct proto_hello *h, struct core_out *out)
{
	struct node *n = find(c, h->node);
	bool is_new = !n;
	char detail[PROTO_TEXT_MAX + 1];
	struct core_action *a;
	const char *rule;

	if (n && n->conn && n->conn != conn && holder_is_live(n)) {
		a = push(out, CA_REJECT, n, wall_ms);
		if (a) {
			a->conn = conn;
			util_strlcpy(a->code, "duplicate_node", sizeof a->code);
			snprintf(a->text, sizeof a->text,
				 "node name '%s' is already connected and heartbeating (boot %s); "
				 "names must be unique", h->node, n->boot_id);
		}
		return -1;
	}
	if (!n) {
		n = add_node(c, h->node, h->group);
		if (!n) {
			a = push(out, CA_REJECT, NULL, wall_ms);
			if (a) {
				a->conn = conn;
				util_strlcpy(a->code, "overloaded", sizeof a->code);
				util_strlcpy(a->text, "collector out of memory", sizeof a->text);
			}
			return -1;
		}
	}
	if (n->conn && n->conn != conn)
		record(n, "conn", "replaced", wall_ms,
		       "a new connection took over from a silent one", out);
	if (strcmp(n->group, h->group)) {
		snprintf(detail, sizeof detail, "moved from group %s to %s", n->group, h->group);
		record(n, "conn", "group_changed", wall_ms, detail, out);
		util_strlcpy(n->group, h->group, sizeof n->group);
		c->sorted_dirty = true;
	}
	n->priority = h->priority;
	util_strlcpy(n->agent_role, strcmp(h->role, "leader") == 0 ? "claiming" : "follower",
		     sizeof n->agent_role);
	n->agent_epoch = h->epoch;
	n->no_failover = h->no_failover;
	util_strlcpy(n->version, h->version, sizeof n->version);
	if (strcmp(n->boot_id, h->boot_id)) {
		util_strlcpy(n->boot_id, h->boot_id, sizeof n->boot_id);
		n->last_seq = -1;
	}
	n->interval_ms = h->interval_ms;
	n->conn = conn;
	n->said_bye = false;
	n->remembered = false;
	n->bad_streak = n->good_streak = 0;
	n->nchecks = 0;
	bump(c, n, true);
	if (reset_phi(c, n) == 0) {
		feed_phi(n, now_ms);   /* hello counts as the first heartbeat */
		n->last_hb_ms = now_ms;
		n->last_hb_wall_ms = wall_ms;
	}
	snprintf(detail, sizeof detail, "agent %s, boot %s, interval %d ms, priority %d",
		 h->version, h->boot_id, h->interval_ms, h->priority);
	rule = is_new ? "hello" : "reconnected";
	if (is_new || n->state != NODE_ALIVE)
		transition(c, n, NODE_ALIVE, rule, now_ms, wall_ms, detail, is_new, out);
	else
		record(n, "conn", rule, wall_ms, detail, out);
	a = push(out, CA_WELCOME, n, wall_ms);
	if (a) {
		a->conn = conn;
		a->interval_ms = n->interval_ms;
		a->seq = strcmp(n->events_boot_id, n->boot_id) == 0 ? n->last_event_seq : 0;
	}
	return 0;
}

static struct node *holder(struct core *c, uint64_t conn, const char *node)
{
	struct node *n = find(c, node);

	return n && n->conn == conn ? n : NULL;
}

/* Keep the node's checks; the array grows to the largest count seen. */
/* Did the set of checks or any check's status change? */
static bool checks_changed(const struct node *n, const struct proto_hb *hb)
{
	if (hb->nchecks != n->nchecks)
		return true;
	for (int i = 0; i < hb->nchecks; i++)
		if (hb->checks[i].status != n->checks[i].status ||
		    strcmp(hb->checks[i].name, n->checks[i].name))
			return true;
	return false;
}

static void set_checks(struct node *n, const struct proto_hb *hb)
{
	if (hb->nchecks > n->checks_cap) {
		struct proto_check *nc = realloc(n->checks, (size_t)hb->nchecks * sizeof *nc);

		if (!nc) {
			n->nchecks = 0;
			return;
		}
		n->checks = nc;
		n->checks_cap = hb->nchecks;
	}
	if (hb->nchecks > 0)
		memcpy(n->checks, hb->checks, (size_t)hb->nchecks * sizeof *n->checks);
	n->nchecks = hb->nchecks;
}

/* Why the node is unhealthy now ("" if it is not); *immediate when a
 * critical check alone says so (the agent already required a streak). */
static void health_reasons(const struct core *c, const struct node *n, char *buf, size_t len,
			   bool *immediate)
{
	size_t k = 0;
	double v;

	buf[0] = '\0';
	*immediate = false;
	for (int i = 0; i < n->nchecks && k < len; i++) {
		if (n->checks[i].status != CHECK_CRITICAL)
			continue;
		k += (size_t)snprintf(buf + k, len - k, "%scheck %s critical%s%.80s", k ? "; " : "",
				      n->checks[i].name, n->checks[i].output[0] ? ": " : "",
				      n->checks[i].output);
		*immediate = true;
	}
	v = proto_app_value(&n->m, "errors");
	if (c->cfg.degraded_error_rate > 0 && k < len && isfinite(v) && v >= c->cfg.degraded_error_rate)
		k += (size_t)snprintf(buf + k, len - k, "%serror rate %.2f/s >= %.2f/s", k ? "; " : "",
				      v, c->cfg.degraded_error_rate);
	v = proto_app_value(&n->m, "latency_ms");
	if (c->cfg.degraded_latency_ms > 0 && k < len && isfinite(v) && v >= c->cfg.degraded_latency_ms)
		k += (size_t)snprintf(buf + k, len - k, "%slatency %.1f ms >= %.1f ms", k ? "; " : "",
				      v, c->cfg.degraded_latency_ms);
	if (c->cfg.degraded_rtt_ms > 0 && k < len && n->rtt_ms >= c->cfg.degraded_rtt_ms)
		snprintf(buf + k, len - k, "%sround trip %lld ms >= %lld ms", k ? "; " : "",
			 (long long)n->rtt_ms, (long long)c->cfg.degraded_rtt_ms);
}

/* alive <-> degraded, with hysteresis (see core_config). */
static void judge_health(struct core *c, struct node *n, int64_t now_ms, int64_t wall_ms,
			 struct core_out *out)
{
	char why[PROTO_TEXT_MAX + 1];
	bool immediate;

	if (n->state != NODE_ALIVE && n->state != NODE_DEGRADED)
		return;
	health_reasons(c, n, why, sizeof why, &immediate);
	if (why[0]) {
		n->bad_streak++;
		n->good_streak = 0;
	} else {
		n->good_streak++;
		n->bad_streak = 0;
	}
	if (n->state == NODE_ALIVE && why[0] && (immediate || n->bad_streak >= c->cfg.degraded_after)) {
		util_strlcpy(n->health, why, sizeof n->health);
		transition(c, n, NODE_DEGRADED, immediate ? "check_critical" : "health_threshold",
			   now_ms, wall_ms, why, false, out);
	} else if (n->state == NODE_DEGRADED && !why[0] && n->good_streak >= c->cfg.recover_after) {
		n->health[0] = '\0';
		transition(c, n, NODE_ALIVE, "healthy", now_ms, wall_ms, NULL, false, out);
	} else if (n->state == NODE_DEGRADED && why[0] && strcmp(why, n->health)) {
		util_strlcpy(n->health, why, sizeof n->health);   /* same state, new reasons */
		bump(c, n, true);
	}
}

void core_heartbeat(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
		    const char *node, const struct proto_hb *hb, struct core_out *out)
{
	struct node *n = holder(c, conn, node);
	bool sig;

	if (!n)
		return;
	if (n->phi)
		feed_phi(n, now_ms);
	n->last_hb_ms = now_ms;
	n->last_hb_wall_ms = wall_ms;
	n->last_seq = hb->seq;
	n->hb_count++;
	n->m = hb->m;
	n->rtt_ms = hb->rtt_ms;
	sig = hb->role[0] && strcmp(hb->role, n->agent_role) != 0;
	if (hb->role[0])
		util_strlcpy(n->agent_role, hb->role, sizeof n->agent_role);
	if (hb->epoch > n->agent_epoch)
		n->agent_epoch = hb->epoch;
	sig |= checks_changed(n, hb);
	set_checks(n, hb);
	bump(c, n, sig);
	if (hb->echo) {
		struct core_action *a = push(out, CA_HB_ACK, n, wall_ms);

		if (a) {
			a->conn = conn;
			a->seq = hb->seq;
		}
	}
	if (n->state == NODE_SUSPECT || n->state == NODE_FAILED)
		transition(c, n, NODE_ALIVE, "heartbeat_resumed", now_ms, wall_ms, NULL, false, out);
	else
		push(out, CA_NODE_UPDATED, n, wall_ms);
	judge_health(c, n, now_ms, wall_ms, out);
}

void core_agent_event(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
		      const char *node, const struct proto_event *e, struct core_out *out)
{
	struct node *n = holder(c, conn, node);
	struct core_action *a;
	char text[PROTO_TEXT_MAX + 32];

	(void)now_ms;
	if (!n)
		return;
	if (strcmp(n->events_boot_id, n->boot_id)) {
		util_strlcpy(n->events_boot_id, n->boot_id, sizeof n->events_boot_id);
		n->last_event_seq = 0;
	}
	if (e->seq > n->last_event_seq) {     /* a resend of a stored one is only acked */
		snprintf(text, sizeof text, "[%s] %s", e->severity, e->text);
		record(n, "agent", e->name, e->ts_ms, text, out);
		n->last_event_seq = e->seq;
	}
	a = push(out, CA_ACK, n, wall_ms);
	if (a) {
		a->conn = conn;
		a->seq = n->last_event_seq;
	}
}

void core_bye(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
	      const char *node, const char *reason, struct core_out *out)
{
	struct node *n = holder(c, conn, node);

	if (!n)
		return;
	n->said_bye = true;
	if (n->state != NODE_LEFT)
		transition(c, n, NODE_LEFT, "bye", now_ms, wall_ms,
			   reason && *reason ? reason : NULL, false, out);
}

void core_disconnect(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
		     const char *node, struct core_out *out)
{
	struct node *n = holder(c, conn, node);

	if (!n)
		return;
	n->conn = 0;
	n->disconnected_ms = now_ms;
	bump(c, n, true);
	if (n->said_bye || n->state == NODE_LEFT) {
		record(n, "conn", "closed_after_bye", wall_ms, NULL, out);
		return;
	}
	if (n->state == NODE_FAILED || n->state == NODE_SUSPECT) {   /* no suspect -> suspect */
		record(n, "conn", "conn_lost", wall_ms, "connection closed without bye", out);
		return;
	}
	transition(c, n, NODE_SUSPECT, "conn_lost", now_ms, wall_ms,
		   "connection closed without bye", false, out);
}

/* The evidence of a phi verdict in words, with the settings it was judged
 * by: what `vigil explain` shows. */
static void phi_detail(const struct core *c, const struct node *n, double phi, double limit,
		       const char *what, int64_t now_ms, char *buf, size_t len)
{
	struct phi_stats st;

	phi_get_stats(n->phi, &st);
	snprintf(buf, len, "phi %.2f >= %g (%s threshold): no heartbeat for %lld ms; intervals "
		 "%.1f +- %.1f ms over %d samples (acceptable pause %.0f ms, minimum deviation "
		 "%.0f ms, agent interval %d ms)", phi, limit, what,
		 (long long)(now_ms - n->last_hb_ms), st.mean_ms, st.std_dev_ms, st.samples,
		 pause_ms(c, n), min_sd_ms(c, n), n->interval_ms);
}

/* Timing rules for one node; only called outside tilt. */
static void judge(struct core *c, struct node *n, int64_t now_ms, int64_t wall_ms,
		  struct core_out *out)
{
	char why[PROTO_TEXT_MAX + 1];
	double phi;

	if (n->state == NODE_LEFT || n->state == NODE_FAILED || n->state == NODE_MAINTENANCE)
		return;
	if (!n->conn) {
		if (n->remembered && now_ms - n->state_since_ms >= c->cfg.startup_grace_ms) {
			snprintf(why, sizeof why, "not reconnected within %lld ms (startup grace) after "
				 "the collector restarted", (long long)c->cfg.startup_grace_ms);
			transition(c, n, NODE_FAILED, "startup_grace", now_ms, wall_ms, why, false, out);
		} else if (!n->remembered && now_ms - n->disconnected_ms >= c->cfg.reconnect_grace_ms) {
			snprintf(why, sizeof why, "connection lost without bye and not reconnected "
				 "within %lld ms (reconnect grace)", (long long)c->cfg.reconnect_grace_ms);
			transition(c, n, NODE_FAILED, "reconnect_grace", now_ms, wall_ms, why, false, out);
		}
		return;
	}
	if (!n->phi)
		return;
	/* Most nodes are on time at most ticks: skip the exp/log then, and
	 * while the last heartbeat said so, the detector itself. */
	if (c->cfg.suspect_phi > 0.302 &&
	    (now_ms <= n->quiet_until_ms || phi_surely_below_half(n->phi, now_ms)))
		return;
	phi = phi_value(n->phi, now_ms);
	if (phi >= c->cfg.failed_phi) {
		phi_detail(c, n, phi, c->cfg.failed_phi, "failed", now_ms, why, sizeof why);
		transition(c, n, NODE_FAILED, "phi_failed", now_ms, wall_ms, why, false, out);
	} else if (phi >= c->cfg.suspect_phi && n->state != NODE_SUSPECT) {
		phi_detail(c, n, phi, c->cfg.suspect_phi, "suspect", now_ms, why, sizeof why);
		transition(c, n, NODE_SUSPECT, "phi_suspect", now_ms, wall_ms, why, false, out);
	}
}

void core_tick(struct core *c, int64_t now_ms, int64_t wall_ms, struct core_out *out)
{
	int64_t gap = now_ms - c->last_tick_ms;
	struct core_action *a;

	c->last_tick_ms = now_ms;
	if (gap > c->cfg.tilt_gap_ms || gap < 0) {
		if (!c->tilt) {
			a = push(out, CA_TILT, NULL, wall_ms);
			if (a) {
				a->on = true;
				snprintf(a->text, sizeof a->text,
					 "collector loop stalled for %lld ms; no timing verdicts for %lld ms",
					 (long long)gap, (long long)c->cfg.tilt_hold_ms);
			}
		}
		c->tilt = true;
		c->tilt_until_ms = now_ms + c->cfg.tilt_hold_ms;
		c->tilt_since_ms = now_ms;
		/* What we missed was our fault, not the nodes': restart their clocks. */
		for (size_t i = 0; i < c->n; i++) {
			struct node *n = c->nodes[i];

			if (n->conn && n->phi && n->last_hb_ms >= 0)
				reset_phi(c, n);
			if (n->phi && n->conn)
				feed_phi(n, now_ms);
			n->disconnected_ms = now_ms;
		}
		c->deadline_stale = true;
		return;
	}
	if (c->tilt) {
		if (now_ms < c->tilt_until_ms)
			return;
		c->tilt = false;
		/* The heartbeats queued during the stall arrived in a burst during
		 * the hold: intervals of ~0 ms that would make every later normal
		 * gap look suspicious.  Start the statistics again, from each
		 * node's last heartbeat (or the stall's end, as at its start). */
		for (size_t i = 0; i < c->n; i++) {
			struct node *n = c->nodes[i];

			if (n->conn && n->phi && reset_phi(c, n) == 0)
				feed_phi(n, n->last_hb_ms > c->tilt_since_ms ? n->last_hb_ms :
					      c->tilt_since_ms);
		}
		a = push(out, CA_TILT, NULL, wall_ms);
		if (a) {
			a->on = false;
			util_strlcpy(a->text, "collector stable again; verdicts resume", sizeof a->text);
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		judge(c, c->nodes[i], now_ms, wall_ms, out);
		flap_settle(c, c->nodes[i], now_ms, wall_ms, out);
	}
}

int64_t core_next_deadline(struct core *c)
{
	int64_t best = c->deadline_ms;

	/* Asked after every tick: walk the nodes only when one of them changed
	 * significantly (bump()) since the last walk. */
	if (!c->deadline_stale)
		goto out;
	c->deadline_stale = false;
	best = INT64_MAX;
	for (size_t i = 0; i < c->n; i++) {
		const struct node *n = c->nodes[i];
		int64_t due;

		if (n->conn || n->state == NODE_LEFT || n->state == NODE_FAILED ||
		    n->state == NODE_MAINTENANCE)
			continue;
		due = n->remembered ? n->state_since_ms + c->cfg.startup_grace_ms :
				      n->disconnected_ms + c->cfg.reconnect_grace_ms;
		if (due < best)
			best = due;
	}
	c->deadline_ms = best;
out:
	if (c->tilt && best < c->tilt_until_ms)
		best = c->tilt_until_ms;
	return best;
}

/* ---- views ------------------------------------------------------------- */

static int cmp_node(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
	int r = strcmp(x->group, y->group);

	return r ? r : strcmp(x->name, y->name);
}

static void sort_nodes(struct core *c)
{
	if (!c->sorted_dirty)
		return;
	qsort(c->nodes, c->n, sizeof *c->nodes, cmp_node);
	c->sorted_dirty = false;
}

size_t core_node_count(const struct core *c)
{
	return c->n;
}

static void fill_info(const struct core *c, const struct node *n, int64_t now_ms,
		      struct core_node_info *o)
{
	util_strlcpy(o->name, n->name, sizeof o->name);
	util_strlcpy(o->group, n->group, sizeof o->group);
	o->priority = n->priority;
	util_strlcpy(o->version, n->version, sizeof o->version);
	util_strlcpy(o->boot_id, n->boot_id, sizeof o->boot_id);
	o->state = n->state;
	util_strlcpy(o->rule, n->rule, sizeof o->rule);
	o->state_since_wall_ms = n->state_since_wall_ms;
	o->connected = n->conn != 0;
	o->interval_ms = n->interval_ms;
	o->last_seq = n->last_seq;
	o->hb_count = n->hb_count;
	o->last_hb_wall_ms = n->last_hb_wall_ms;
	evidence(n, now_ms, &o->ev);
	if (!n->conn)
		o->ev.phi = NAN;         /* phi means nothing without a connection */
	o->m = n->m;
	o->rtt_ms = n->rtt_ms;
	o->nchecks = n->nchecks;
	o->checks_critical = 0;
	for (int i = 0; i < n->nchecks; i++)
		o->checks_critical += n->checks[i].status == CHECK_CRITICAL;
	o->flapping = n->flapping;
	o->flap_score = flap_score_at(c, n, now_ms);
	util_strlcpy(o->health, n->state == NODE_DEGRADED ? n->health : "", sizeof o->health);
	o->rev = n->rev;
	o->srev = n->srev;
	util_strlcpy(o->agent_role, n->agent_role[0] ? n->agent_role : "follower",
		     sizeof o->agent_role);
	o->agent_epoch = n->agent_epoch;
	o->no_failover = n->no_failover;
}

/* Node i of the sorted order, or NULL past the end. */
static const struct node *node_at(struct core *c, size_t i)
{
	if (i >= c->n)
		return NULL;
	sort_nodes(c);
	return c->nodes[i];
}

int core_node_info(struct core *c, size_t i, int64_t now_ms, struct core_node_info *out)
{
	const struct node *n = node_at(c, i);

	if (!n)
		return -1;
	fill_info(c, n, now_ms, out);
	return 0;
}

int core_node_metrics(struct core *c, size_t i, struct core_node_metrics *out)
{
	const struct node *n = node_at(c, i);

	if (!n)
		return -1;
	out->name = n->name;
	out->group = n->group;
	out->connected = n->conn != 0;
	out->interval_ms = n->interval_ms;
	out->last_hb_wall_ms = n->last_hb_wall_ms;
	out->m = &n->m;
	out->rev = n->rev;
	out->srev = n->srev;
	return 0;
}

int core_node_brief(struct core *c, size_t i, int64_t now_ms, struct core_node_brief *out)
{
	const struct node *n = node_at(c, i);

	if (!n)
		return -1;
	out->name = n->name;
	out->group = n->group;
	out->state = n->state;
	out->last_hb_wall_ms = n->last_hb_wall_ms;
	out->hb_age_ms = n->last_hb_ms >= 0 ? now_ms - n->last_hb_ms : -1;
	out->phi = n->phi ? phi_value(n->phi, now_ms) : NAN;
	return 0;
}

int core_node_find(struct core *c, const char *name, int64_t now_ms, struct core_node_info *out)
{
	struct node *n = find(c, name);

	if (!n)
		return -1;
	fill_info(c, n, now_ms, out);
	return 0;
}

int core_node_checks(struct core *c, const char *name, const struct proto_check **out)
{
	struct node *n = find(c, name);

	if (!n)
		return -1;
	*out = n->checks;
	return n->nchecks;
}

/* Groups are derived from the sorted node list on demand. */
static void build_groups(struct core *c)
{
	sort_nodes(c);
	c->ngroups = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct node *n = c->nodes[i];
		struct core_group_info *g;

		if (!c->ngroups || strcmp(c->groups[c->ngroups - 1].name, n->group)) {
			if (c->ngroups == c->gcap) {
				size_t ncap = c->gcap ? c->gcap * 2 : 16;
				struct core_group_info *ng = realloc(c->groups, ncap * sizeof *ng);

				if (!ng)
					return;
				c->groups = ng;
				c->gcap = ncap;
			}
			g = &c->groups[c->ngroups++];
			memset(g, 0, sizeof *g);
			util_strlcpy(g->name, n->group, sizeof g->name);
		}
		g = &c->groups[c->ngroups - 1];
		g->members++;
		if (n->state == NODE_ALIVE || n->state == NODE_DEGRADED)
			g->alive++;
	}
}

size_t core_group_count(struct core *c)
{
	build_groups(c);
	return c->ngroups;
}

int core_group_info(struct core *c, size_t i, struct core_group_info *out)
{
	if (i >= c->ngroups)
		return -1;
	*out = c->groups[i];
	return 0;
}

bool core_in_tilt(const struct core *c)
{
	return c->tilt;
}

void core_touch(struct core *c, const char *node)
{
	struct node *n = node && node[0] ? find(c, node) : NULL;

	if (n)
		bump(c, n, true);
}

uint64_t core_rev(const struct core *c)
{
	return c->rev;
}

uint64_t core_srev(const struct core *c)
{
	return c->srev;
}

void core_count_states(const struct core *c, int *out)
{
	for (int s = 0; s < NODE_STATE_COUNT; s++)
		out[s] = 0;
	for (size_t i = 0; i < c->n; i++)
		if ((unsigned)c->nodes[i]->state < NODE_STATE_COUNT)
			out[c->nodes[i]->state]++;
}

int core_count_state(const struct core *c, enum node_state s)
{
	int k = 0;

	for (size_t i = 0; i < c->n; i++)
		k += c->nodes[i]->state == s;
	return k;
}
