/* check_core.c — unit tests for collector/core, the collector's pure
 * deciding core.  Every test builds its own core and drives it in simulated
 * time (now_ms is a parameter; nothing sleeps): agents say hello, heartbeat,
 * go silent, drop their connection, say bye; the collector ticks.  The
 * actions each input produces are checked, and every transition is logged
 * so a test can ask when a rule fired and with what evidence.
 *
 * Test cases by concern: connections (hello, duplicate, takeover, stale
 * connections), phi timing (default and explicit settings, fast agents,
 * evidence), grace periods (connection lost, bye, restart), tilt, agent
 * events, views, config, and a seeded randomized property test. */
#include "collector/core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/phi.h"
#include "proto/util.h"
#include "suites.h"

#define ARRAY_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define WALL0 1700000000000LL          /* wall clock = WALL0 + now_ms */
#define T0 1000                        /* monotonic time the core is made at */
#define LOG_MAX 4096

/* For the hot paths (every input of every schedule): Check's ck_assert
 * records a mark point per call, which is most of the run time. */
#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* ---------------------------------------------------------------------------
 * A simulated collector: one core, the current time, and a log of every
 * transition and tilt change it emitted.
 * ------------------------------------------------------------------------ */

struct tr {
	char node[PROTO_NAME_MAX + 1];
	char rule[64];
	char text[128];
	enum node_state from, to;
	bool is_new;
	int64_t at;                    /* now_ms when it was emitted */
	int64_t wall_ms;
	struct core_evidence ev;
};

struct sim {
	struct core *c;
	struct core_out o;
	int64_t now;
	uint64_t rev;                  /* core_rev after the last input */
	struct tr *log;
	size_t nlog;
	int tilt_on, tilt_off;
	int64_t tilt_on_at, tilt_off_at;
	int64_t hbseq;
	const char *ctx;               /* prefix for failure messages */
};

static void sim_init_cfg(struct sim *s, const struct core_config *cfg)
{
	memset(s, 0, sizeof *s);
	s->now = T0;
	s->c = core_new(cfg, s->now);
	ck_assert_ptr_nonnull(s->c);
	core_out_init(&s->o);
	s->log = calloc(LOG_MAX, sizeof *s->log);
	ck_assert_ptr_nonnull(s->log);
	s->ctx = "";
	ck_assert(!core_in_tilt(s->c));
	ck_assert_uint_eq(core_node_count(s->c), 0);
}

static void sim_init(struct sim *s)
{
	struct core_config cfg;

	core_config_defaults(&cfg);
	sim_init_cfg(s, &cfg);
}

static void sim_done(struct sim *s)
{
	core_free(s->c);
	core_out_done(&s->o);
	free(s->log);
	memset(s, 0, sizeof *s);
}

static bool valid_state(int st)
{
	return st >= 0 && st < NODE_STATE_COUNT;
}

/* After every input: log the transitions and tilt changes, and check what
 * must always hold. */
static void absorb(struct sim *s)
{
	uint64_t rev = core_rev(s->c);
	size_t total = 0;
	int counts[NODE_STATE_COUNT];

	CHECK(!s->o.oom, "%soom in the action list", s->ctx);
	for (size_t i = 0; i < s->o.n; i++) {
		const struct core_action *a = &s->o.v[i];

		CHECK(a->kind >= CA_WELCOME && a->kind <= CA_HB_ACK, "%sbad action kind %d",
			      s->ctx, (int)a->kind);
		CHECK(a->wall_ms != 0, "%saction %d without wall_ms", s->ctx, (int)a->kind);
		if (a->kind == CA_TILT) {
			if (a->on) {
				s->tilt_on++;
				s->tilt_on_at = s->now;
			} else {
				s->tilt_off++;
				s->tilt_off_at = s->now;
			}
			CHECK(a->text[0] != '\0', "%stilt action without text", s->ctx);
			continue;
		}
		if (a->kind != CA_TRANSITION)
			continue;
		CHECK(valid_state((int)a->from) && valid_state((int)a->to),
			      "%s%s: transition with invalid state %d -> %d", s->ctx, a->node,
			      (int)a->from, (int)a->to);
		CHECK(a->is_new || a->from != a->to,
			      "%s%s: transition %s -> %s (rule %s) does not change the state", s->ctx,
			      a->node, node_state_name(a->from), node_state_name(a->to), a->rule);
		CHECK(a->rule[0] != '\0', "%s%s: transition without a rule", s->ctx, a->node);
		CHECK(a->node[0] != '\0', "%stransition without a node", s->ctx);
		CHECK(s->nlog < LOG_MAX, "%stransition log full", s->ctx);
		{
			struct tr *t = &s->log[s->nlog++];

			snprintf(t->node, sizeof t->node, "%s", a->node);
			snprintf(t->rule, sizeof t->rule, "%s", a->rule);
			snprintf(t->text, sizeof t->text, "%.127s", a->text);
			t->from = a->from;
			t->to = a->to;
			t->is_new = a->is_new;
			t->at = s->now;
			t->wall_ms = a->wall_ms;
			t->ev = a->ev;
		}
	}
	CHECK(rev >= s->rev, "%score_rev went back from %llu to %llu", s->ctx,
		      (unsigned long long)s->rev, (unsigned long long)rev);
	s->rev = rev;
	core_count_states(s->c, counts);
	for (int st = 0; st < NODE_STATE_COUNT; st++) {
		int k = core_count_state(s->c, (enum node_state)st);

		CHECK(k >= 0, "%snegative count", s->ctx);
		CHECK(k == counts[st], "%sstate %d: %d counted alone, %d in one pass", s->ctx, st, k,
		      counts[st]);
		total += (size_t)k;
	}
	CHECK(total == core_node_count(s->c), "%sstate counts sum to %zu, %zu nodes",
		      s->ctx, total, core_node_count(s->c));
}

static int64_t wall(int64_t now)
{
	return WALL0 + now;
}

static struct proto_hello mkhello(const char *node, const char *group, const char *boot,
				  int interval_ms)
{
	struct proto_hello h;

	memset(&h, 0, sizeof h);
	snprintf(h.node, sizeof h.node, "%s", node);
	snprintf(h.group, sizeof h.group, "%s", group);
	snprintf(h.version, sizeof h.version, "%s", "0.1.0");
	snprintf(h.boot_id, sizeof h.boot_id, "%s", boot);
	h.priority = 10;
	h.interval_ms = interval_ms;
	return h;
}

static int s_hello(struct sim *s, uint64_t conn, const char *node, const char *group,
		   const char *boot, int interval_ms)
{
	struct proto_hello h = mkhello(node, group, boot, interval_ms);
	int rc;

	core_out_reset(&s->o);
	rc = core_hello(s->c, s->now, wall(s->now), conn, &h, &s->o);
	absorb(s);
	return rc;
}

static void s_hb(struct sim *s, uint64_t conn, const char *node)
{
	struct proto_hb hb;

	memset(&hb, 0, sizeof hb);
	hb.seq = s->hbseq++;
	hb.sent_ms = wall(s->now);
	hb.m.cpu_pct = 12.5;
	hb.m.mem_pct = 40;
	hb.m.load1 = 0.5;
	hb.m.disk_pct = 70;
	core_out_reset(&s->o);
	core_heartbeat(s->c, s->now, wall(s->now), conn, node, &hb, &s->o);
	absorb(s);
}

static void s_event(struct sim *s, uint64_t conn, const char *node, int64_t seq,
		    const char *name, const char *severity, const char *text)
{
	struct proto_event e;

	memset(&e, 0, sizeof e);
	e.seq = seq;
	e.ts_ms = wall(s->now) - 5;
	snprintf(e.name, sizeof e.name, "%s", name);
	snprintf(e.severity, sizeof e.severity, "%s", severity);
	snprintf(e.text, sizeof e.text, "%s", text);
	core_out_reset(&s->o);
	core_agent_event(s->c, s->now, wall(s->now), conn, node, &e, &s->o);
	absorb(s);
}

static void s_bye(struct sim *s, uint64_t conn, const char *node, const char *reason)
{
	core_out_reset(&s->o);
	core_bye(s->c, s->now, wall(s->now), conn, node, reason, &s->o);
	absorb(s);
}

static void s_disc(struct sim *s, uint64_t conn, const char *node)
{
	core_out_reset(&s->o);
	core_disconnect(s->c, s->now, wall(s->now), conn, node, &s->o);
	absorb(s);
}

static void s_tick(struct sim *s)
{
	core_out_reset(&s->o);
	core_tick(s->c, s->now, wall(s->now), &s->o);
	absorb(s);
}

/* ---- finding actions ---- */

/* The first action of that kind (for that node if node is non-NULL), or NULL. */
static const struct core_action *find_act(const struct core_out *o, enum core_action_kind kind,
					  const char *node)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == kind && (!node || strcmp(o->v[i].node, node) == 0))
			return &o->v[i];
	return NULL;
}

static int count_act(const struct core_out *o, enum core_action_kind kind)
{
	int k = 0;

	for (size_t i = 0; i < o->n; i++)
		k += o->v[i].kind == kind;
	return k;
}

/* A record (CA_RECORD) with that rule. */
static const struct core_action *find_record(const struct core_out *o, const char *rule)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == CA_RECORD && strcmp(o->v[i].rule, rule) == 0)
			return &o->v[i];
	return NULL;
}

/* A logged transition of node (NULL: any) by rule (NULL: any) at index >= from. */
static const struct tr *log_find(const struct sim *s, size_t from, const char *node,
				 const char *rule)
{
	for (size_t i = from; i < s->nlog; i++)
		if ((!node || strcmp(s->log[i].node, node) == 0) &&
		    (!rule || strcmp(s->log[i].rule, rule) == 0))
			return &s->log[i];
	return NULL;
}

static int log_count(const struct sim *s, size_t from, const char *node)
{
	int k = 0;

	for (size_t i = from; i < s->nlog; i++)
		k += !node || strcmp(s->log[i].node, node) == 0;
	return k;
}

static struct core_node_info info(struct sim *s, const char *node)
{
	struct core_node_info ni;

	ck_assert_msg(core_node_find(s->c, node, s->now, &ni) == 0, "node %s not found", node);
	return ni;
}

static enum node_state state_of(struct sim *s, const char *node)
{
	return info(s, node).state;
}

/* ---- driving time ---- */

/* An agent heartbeating on a connection every `every` ms while on. */
struct beater {
	uint64_t conn;
	const char *node;
	int64_t every;
	int64_t next;
	bool on;
};

static struct beater beater(uint64_t conn, const char *node, int64_t every, int64_t now)
{
	struct beater b = { conn, node, every, now + every, true };

	return b;
}

/* Advance in steps of `step` ms up to `until`: due heartbeats first, then a
 * tick, as the collector's loop does.  Stops early, returning the logged
 * transition, when node (NULL: any) takes rule (NULL: any); returns NULL
 * when `until` is reached.  stop_node == NULL && stop_rule == NULL never
 * stops early. */
static const struct tr *run_until(struct sim *s, int64_t until, int64_t step, struct beater *b,
				  int nb, const char *stop_node, const char *stop_rule)
{
	bool stop = stop_node || stop_rule;

	while (s->now + step <= until) {
		size_t mark = s->nlog;
		const struct tr *t;

		s->now += step;
		for (int i = 0; i < nb; i++) {
			if (b[i].on && s->now >= b[i].next) {
				s_hb(s, b[i].conn, b[i].node);
				b[i].next += b[i].every;
			}
		}
		s_tick(s);
		if (stop && (t = log_find(s, mark, stop_node, stop_rule)) != NULL)
			return t;
	}
	return NULL;
}

static void run(struct sim *s, int64_t until, int64_t step, struct beater *b, int nb)
{
	(void)run_until(s, until, step, b, nb, NULL, NULL);
}

/* xorshift64*: deterministic randomness for jitter and the property test. */
static uint64_t rng_next(uint64_t *st)
{
	uint64_t x = *st;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return x * 2685821657736338717ULL;
}

static int64_t rng_range(uint64_t *st, int64_t lo, int64_t hi)   /* [lo, hi] */
{
	return lo + (int64_t)(rng_next(st) % (uint64_t)(hi - lo + 1));
}

/* ---------------------------------------------------------------------------
 * Connections: hello, duplicates, takeover, stale connections
 * ------------------------------------------------------------------------ */

START_TEST(test_hello_new_node)
{
	struct sim s;
	const struct core_action *a, *w;
	struct core_node_info ni;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "web1", "web", "boot-a", 500), 0);
	ck_assert_int_eq(count_act(&s.o, CA_TRANSITION), 1);
	ck_assert_int_eq(count_act(&s.o, CA_WELCOME), 1);
	ck_assert_int_eq(count_act(&s.o, CA_REJECT), 0);
	a = find_act(&s.o, CA_TRANSITION, "web1");
	ck_assert_ptr_nonnull(a);
	ck_assert(a->is_new);
	ck_assert_int_eq(a->to, NODE_ALIVE);
	ck_assert_str_eq(a->rule, "hello");
	ck_assert_str_eq(a->group, "web");
	ck_assert_int_eq(a->wall_ms, wall(s.now));
	ck_assert_ptr_nonnull(strstr(a->text, "boot-a"));
	ck_assert_int_eq(a->ev.hb_age_ms, 0);         /* hello counts as a heartbeat */
	ck_assert_int_eq(a->ev.samples, 2);           /* the seed intervals */
	ck_assert(a->ev.phi >= 0 && a->ev.phi < 1);
	w = find_act(&s.o, CA_WELCOME, "web1");
	ck_assert_ptr_nonnull(w);
	ck_assert(a < w);                             /* transition first, then welcome */
	ck_assert_uint_eq(w->conn, 1);
	ck_assert_int_eq(w->interval_ms, 500);
	ck_assert_int_eq(w->seq, 0);

	ni = info(&s, "web1");
	ck_assert_int_eq(ni.state, NODE_ALIVE);
	ck_assert_str_eq(ni.rule, "hello");
	ck_assert(ni.connected);
	ck_assert_str_eq(ni.group, "web");
	ck_assert_str_eq(ni.version, "0.1.0");
	ck_assert_str_eq(ni.boot_id, "boot-a");
	ck_assert_int_eq(ni.priority, 10);
	ck_assert_int_eq(ni.interval_ms, 500);
	ck_assert_int_eq(ni.hb_count, 0);
	ck_assert_int_eq(ni.state_since_wall_ms, wall(s.now));
	ck_assert_uint_eq(core_node_count(s.c), 1);
	ck_assert_int_eq(core_count_state(s.c, NODE_ALIVE), 1);

	/* a heartbeat: metrics updated, no transition */
	s.now += 500;
	s_hb(&s, 1, "web1");
	ck_assert_int_eq(count_act(&s.o, CA_TRANSITION), 0);
	ck_assert_ptr_nonnull(find_act(&s.o, CA_NODE_UPDATED, "web1"));
	ni = info(&s, "web1");
	ck_assert_int_eq(ni.hb_count, 1);
	ck_assert_int_eq(ni.last_hb_wall_ms, wall(s.now));
	ck_assert_double_eq_tol(ni.m.cpu_pct, 12.5, 1e-9);
	sim_done(&s);
}
END_TEST

START_TEST(test_duplicate_rejected)
{
	struct sim s;
	struct beater b;
	const struct core_action *a;
	struct core_node_info ni;
	uint64_t rev;
	int64_t hbs;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "db1", "db", "boot-a", 500), 0);
	b = beater(1, "db1", 500, s.now);
	run(&s, s.now + 3000, 50, &b, 1);
	rev = core_rev(s.c);

	ck_assert_int_eq(s_hello(&s, 2, "db1", "db", "boot-b", 500), -1);
	ck_assert_uint_eq(s.o.n, 1);
	a = find_act(&s.o, CA_REJECT, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->conn, 2);
	ck_assert_str_eq(a->code, "duplicate_node");
	ck_assert_ptr_nonnull(strstr(a->text, "db1"));
	ck_assert_uint_eq(core_rev(s.c), rev);
	ni = info(&s, "db1");
	ck_assert_int_eq(ni.state, NODE_ALIVE);
	ck_assert_str_eq(ni.boot_id, "boot-a");    /* the node stays on the old conn */

	/* the rejected conn's messages are ignored, the old conn's still count */
	hbs = ni.hb_count;
	s.now += 10;
	s_hb(&s, 2, "db1");
	ck_assert_uint_eq(s.o.n, 0);
	s_disc(&s, 2, "db1");
	ck_assert_uint_eq(s.o.n, 0);
	ck_assert_int_eq(info(&s, "db1").hb_count, hbs);
	ck_assert(info(&s, "db1").connected);
	run(&s, s.now + 3000, 50, &b, 1);
	ni = info(&s, "db1");
	ck_assert_int_eq(ni.state, NODE_ALIVE);
	ck_assert_int_eq(ni.hb_count, hbs + 6);
	ck_assert_int_eq(log_count(&s, 0, "db1"), 1);   /* only the hello */
	sim_done(&s);
}
END_TEST

/* Takeover from a holder that went silent: _i = 0 when it is suspect, 1 when
 * it has failed. */
START_TEST(test_takeover_silent_holder)
{
	struct sim s;
	struct beater b;
	const struct core_action *a;
	const struct tr *t;
	struct core_node_info ni;
	enum node_state before = _i ? NODE_FAILED : NODE_SUSPECT;
	size_t mark;
	uint64_t rev;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "app1", "app", "boot-a", 500), 0);
	b = beater(1, "app1", 500, s.now);
	run(&s, s.now + 5000, 50, &b, 1);
	b.on = false;
	t = run_until(&s, s.now + 10000, 10, &b, 1, "app1", _i ? "phi_failed" : "phi_suspect");
	ck_assert_ptr_nonnull(t);
	ni = info(&s, "app1");
	ck_assert_int_eq(ni.state, before);
	ck_assert(ni.connected);

	s.now += 10;
	mark = s.nlog;
	ck_assert_int_eq(s_hello(&s, 2, "app1", "app", "boot-b", 500), 0);
	ck_assert_int_eq(count_act(&s.o, CA_REJECT), 0);
	a = find_record(&s.o, "replaced");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->code, "conn");
	ck_assert_str_eq(a->node, "app1");
	t = log_find(&s, mark, "app1", "reconnected");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->from, before);
	ck_assert_int_eq(t->to, NODE_ALIVE);
	ck_assert(!t->is_new);
	a = find_act(&s.o, CA_WELCOME, "app1");
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->conn, 2);
	ck_assert_str_eq(info(&s, "app1").boot_id, "boot-b");

	/* the old connection no longer counts: its heartbeat, event, bye and
	 * close change nothing */
	rev = core_rev(s.c);
	s.now += 10;
	s_hb(&s, 1, "app1");
	ck_assert_uint_eq(s.o.n, 0);
	s_event(&s, 1, "app1", 1, "x", "info", "old");
	ck_assert_uint_eq(s.o.n, 0);
	s_bye(&s, 1, "app1", "old agent");
	ck_assert_uint_eq(s.o.n, 0);
	s_disc(&s, 1, "app1");
	ck_assert_uint_eq(s.o.n, 0);
	ck_assert_uint_eq(core_rev(s.c), rev);
	ni = info(&s, "app1");
	ck_assert_int_eq(ni.state, NODE_ALIVE);
	ck_assert(ni.connected);
	ck_assert_int_eq(ni.hb_count, 10);              /* 5 s of old-conn heartbeats only */

	/* the new one does */
	b = beater(2, "app1", 500, s.now);
	mark = s.nlog;
	run(&s, s.now + 5000, 50, &b, 1);
	ck_assert_int_eq(log_count(&s, mark, "app1"), 0);
	ck_assert_int_eq(info(&s, "app1").hb_count, 20);
	s_disc(&s, 2, "app1");
	ck_assert_ptr_nonnull(log_find(&s, mark, "app1", "conn_lost"));
	sim_done(&s);
}
END_TEST

START_TEST(test_stale_conn_ignored)
{
	struct sim s;
	struct core_node_info before, after;
	uint64_t rev;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 5, "n1", "g", "b", 500), 0);
	s.now += 200;
	s_tick(&s);
	before = info(&s, "n1");
	rev = core_rev(s.c);

	/* a conn that never held it */
	s_hb(&s, 6, "n1");
	ck_assert_uint_eq(s.o.n, 0);
	s_event(&s, 6, "n1", 1, "e", "info", "t");
	ck_assert_uint_eq(s.o.n, 0);
	s_bye(&s, 6, "n1", "r");
	ck_assert_uint_eq(s.o.n, 0);
	s_disc(&s, 6, "n1");
	ck_assert_uint_eq(s.o.n, 0);
	/* a name nobody said hello with */
	s_hb(&s, 5, "ghost");
	ck_assert_uint_eq(s.o.n, 0);
	s_event(&s, 5, "ghost", 1, "e", "info", "t");
	ck_assert_uint_eq(s.o.n, 0);
	s_bye(&s, 5, "ghost", "r");
	ck_assert_uint_eq(s.o.n, 0);
	s_disc(&s, 5, "ghost");
	ck_assert_uint_eq(s.o.n, 0);

	ck_assert_uint_eq(core_rev(s.c), rev);
	ck_assert_uint_eq(core_node_count(s.c), 1);
	after = info(&s, "n1");
	ck_assert_int_eq(after.state, NODE_ALIVE);
	ck_assert(after.connected);
	ck_assert_int_eq(after.hb_count, before.hb_count);
	ck_assert_uint_eq(after.rev, before.rev);
	ck_assert_int_eq(core_node_find(s.c, "ghost", s.now, &after), -1);
	sim_done(&s);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Phi timing
 * ------------------------------------------------------------------------ */

struct timing_vec {
	int interval_ms;
	double pause_cfg, min_sd_cfg;   /* 0 = auto */
	double pause, min_sd;           /* what the detector must use */
	int64_t suspect_lo, suspect_hi; /* ms of silence */
	int64_t failed_hi;
};

static const struct timing_vec timing_vecs[] = {
	/* defaults at 500 ms: auto min std dev 100 ms, pause 500 ms */
	{ 500, 0, 0, 500, 100, 1000, 2500, 3000 },
	/* fast agents: the auto settings scale with the interval */
	{ 100, 0, 0, 100, 20, 200, 500, 500 },
	{ 1000, 0, 0, 1000, 200, 2000, 5000, 6000 },
	/* explicit settings win over auto */
	{ 500, 200, 50, 200, 50, 700, 1000, 1100 },
	{ 500, 2000, 300, 2000, 300, 2500, 4500, 5000 },
	{ 100, 500, 0, 500, 20, 600, 800, 900 },
	{ 100, 0, 100, 100, 100, 200, 800, 900 },
};

/* The first multiple of step at which phi reaches level for that history. */
static int64_t expected_crossing(double mean, double sd, const struct timing_vec *v, double level,
				 int64_t step)
{
	double eff_sd = fmax(sd, v->min_sd);

	for (int64_t t = step; t < 600000; t += step)
		if (phi_of((double)t, mean + v->pause, eff_sd) >= level)
			return t;
	return -1;
}

START_TEST(test_phi_timing)
{
	const struct timing_vec *v = &timing_vecs[_i];
	struct core_config cfg;
	struct sim s;
	struct beater b;
	const struct tr *sus, *fail, *t;
	struct core_node_info ni;
	int64_t last_hb, nhb, want_samples, exp_s, exp_f;
	size_t mark;

	core_config_defaults(&cfg);
	cfg.acceptable_pause_ms = v->pause_cfg;
	cfg.min_std_dev_ms = v->min_sd_cfg;
	sim_init_cfg(&s, &cfg);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", v->interval_ms), 0);

	/* 30 s of regular heartbeats: alive, no transition */
	b = beater(1, "n1", v->interval_ms, s.now);
	run(&s, s.now + 30000, 10, &b, 1);
	ck_assert_int_eq(log_count(&s, 0, NULL), 1);
	ni = info(&s, "n1");
	nhb = 30000 / v->interval_ms;
	want_samples = nhb + 2 < cfg.max_samples ? nhb + 2 : cfg.max_samples;
	ck_assert_int_eq(ni.state, NODE_ALIVE);
	ck_assert_int_eq(ni.hb_count, nhb);
	ck_assert_int_eq(ni.ev.samples, want_samples);
	ck_assert_double_eq_tol(ni.ev.mean_ms, v->interval_ms, 1e-6);
	ck_assert_int_eq(ni.ev.hb_age_ms, 0);
	ck_assert(ni.ev.phi < 0.1);

	/* silence: suspect, then failed */
	last_hb = s.now;
	b.on = false;
	fail = run_until(&s, s.now + 20000, 10, &b, 1, "n1", "phi_failed");
	ck_assert_ptr_nonnull(fail);
	sus = log_find(&s, 0, "n1", "phi_suspect");
	ck_assert_ptr_nonnull(sus);
	ck_assert(sus < fail);
	ck_assert_int_eq(log_count(&s, 0, NULL), 3);   /* hello, suspect, failed */
#ifdef CORE_TEST_VERBOSE
	fprintf(stderr, "interval %d pause %g min_sd %g: suspect %lld ms, failed %lld ms\n",
		v->interval_ms, v->pause, v->min_sd, (long long)(sus->at - last_hb),
		(long long)(fail->at - last_hb));
#endif
	ck_assert_int_eq(sus->from, NODE_ALIVE);
	ck_assert_int_eq(sus->to, NODE_SUSPECT);
	ck_assert_int_eq(fail->from, NODE_SUSPECT);
	ck_assert_int_eq(fail->to, NODE_FAILED);
	ck_assert_msg(sus->at - last_hb >= v->suspect_lo && sus->at - last_hb <= v->suspect_hi,
		      "suspect after %lld ms of silence", (long long)(sus->at - last_hb));
	ck_assert_msg(fail->at > sus->at && fail->at - last_hb <= v->failed_hi,
		      "failed after %lld ms of silence", (long long)(fail->at - last_hb));

	/* evidence */
	ck_assert_int_eq(sus->ev.hb_age_ms, sus->at - last_hb);
	ck_assert_int_eq(fail->ev.hb_age_ms, fail->at - last_hb);
	ck_assert(sus->ev.phi >= cfg.suspect_phi && sus->ev.phi < cfg.failed_phi);
	ck_assert(fail->ev.phi >= cfg.failed_phi && isfinite(fail->ev.phi));
	ck_assert_int_eq(sus->ev.samples, want_samples);
	ck_assert_int_eq(fail->ev.samples, want_samples);
	ck_assert_double_eq_tol(sus->ev.mean_ms, v->interval_ms, 1e-6);
	ck_assert(isfinite(sus->ev.sd_ms) && sus->ev.sd_ms >= 0 && sus->ev.sd_ms < v->interval_ms);
	ck_assert_int_eq(sus->wall_ms, wall(sus->at));

	/* the exact step at which the detector, with these settings, crosses */
	exp_s = expected_crossing(sus->ev.mean_ms, sus->ev.sd_ms, v, cfg.suspect_phi, 10);
	exp_f = expected_crossing(sus->ev.mean_ms, sus->ev.sd_ms, v, cfg.failed_phi, 10);
	ck_assert_int_eq(sus->at - last_hb, exp_s);
	ck_assert_int_eq(fail->at - last_hb, exp_f);

	/* a failed node stays failed while silent, then comes back */
	mark = s.nlog;
	run(&s, s.now + 5000, 100, &b, 1);
	ck_assert_int_eq(log_count(&s, mark, NULL), 0);
	ck_assert_int_eq(state_of(&s, "n1"), NODE_FAILED);
	s.now += 7;
	s_hb(&s, 1, "n1");
	t = log_find(&s, mark, "n1", "heartbeat_resumed");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->from, NODE_FAILED);
	ck_assert_int_eq(t->to, NODE_ALIVE);
	ck_assert_int_eq(t->ev.hb_age_ms, 0);
	ck_assert_int_eq(info(&s, "n1").ev.samples, want_samples);  /* the pause is not recorded */
	b = beater(1, "n1", v->interval_ms, s.now);
	mark = s.nlog;
	run(&s, s.now + 10000, 10, &b, 1);
	ck_assert_int_eq(log_count(&s, mark, NULL), 0);
	ck_assert_int_eq(state_of(&s, "n1"), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

/* Suspect, then back before failing. */
START_TEST(test_suspect_then_resumed)
{
	struct sim s;
	struct beater b;
	const struct tr *t;
	size_t mark;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	b = beater(1, "n1", 500, s.now);
	run(&s, s.now + 10000, 10, &b, 1);
	b.on = false;
	t = run_until(&s, s.now + 5000, 10, &b, 1, "n1", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->rule, "phi_suspect");
	s.now += 10;
	mark = s.nlog;
	s_hb(&s, 1, "n1");
	t = log_find(&s, mark, "n1", "heartbeat_resumed");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->from, NODE_SUSPECT);
	b = beater(1, "n1", 500, s.now);
	run(&s, s.now + 10000, 10, &b, 1);
	ck_assert_int_eq(log_count(&s, mark, NULL), 1);
	ck_assert_int_eq(state_of(&s, "n1"), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

/* Heartbeats with +-20% jitter for a minute: no false suspicion. */
START_TEST(test_jitter_no_false_suspicion)
{
	struct sim s;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	int64_t next;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	next = s.now + 500;
	while (s.now < T0 + 60000) {
		s.now += 10;
		if (s.now >= next) {
			s_hb(&s, 1, "n1");
			next = s.now + rng_range(&rng, 400, 600);
		}
		s_tick(&s);
	}
	ck_assert_int_eq(log_count(&s, 0, NULL), 1);
	ck_assert_int_eq(state_of(&s, "n1"), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Grace periods: connection lost, bye, collector restart
 * ------------------------------------------------------------------------ */

START_TEST(test_conn_lost_then_failed)
{
	struct sim s;
	struct beater b;
	const struct tr *t;
	const struct core_action *a;
	struct core_node_info ni;
	int64_t lost;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	b = beater(1, "n1", 500, s.now);
	run(&s, s.now + 2000, 10, &b, 1);
	s.now += 20;
	lost = s.now;
	s_disc(&s, 1, "n1");
	ck_assert_int_eq(count_act(&s.o, CA_TRANSITION), 1);
	a = find_act(&s.o, CA_TRANSITION, "n1");
	ck_assert_int_eq(a->from, NODE_ALIVE);
	ck_assert_int_eq(a->to, NODE_SUSPECT);
	ck_assert_str_eq(a->rule, "conn_lost");
	ck_assert_int_eq(a->ev.hb_age_ms, 20);
	ni = info(&s, "n1");
	ck_assert(!ni.connected);
	ck_assert_int_eq(ni.state, NODE_SUSPECT);

	b.on = false;
	t = run_until(&s, s.now + 5000, 10, &b, 1, "n1", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->rule, "reconnect_grace");
	ck_assert_int_eq(t->from, NODE_SUSPECT);
	ck_assert_int_eq(t->to, NODE_FAILED);
	ck_assert_int_eq(t->at - lost, 1000);          /* not before the grace, at the first tick after */
	ck_assert_int_eq(state_of(&s, "n1"), NODE_FAILED);

	/* a failed node stays failed; a late hello brings it back */
	run(&s, s.now + 5000, 100, &b, 1);
	ck_assert_int_eq(log_count(&s, 0, "n1"), 3);
	ck_assert_int_eq(s_hello(&s, 2, "n1", "g", "b", 500), 0);
	t = log_find(&s, 0, "n1", "reconnected");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->from, NODE_FAILED);
	sim_done(&s);
}
END_TEST

START_TEST(test_conn_lost_reconnect_within_grace)
{
	struct sim s;
	struct beater b[1];
	const struct tr *t;
	size_t mark;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	b[0] = beater(1, "n1", 500, s.now);
	run(&s, s.now + 2000, 10, b, 1);
	s_disc(&s, 1, "n1");
	ck_assert_ptr_nonnull(log_find(&s, 0, "n1", "conn_lost"));
	b[0].on = false;
	run(&s, s.now + 900, 10, b, 1);
	ck_assert_int_eq(state_of(&s, "n1"), NODE_SUSPECT);

	mark = s.nlog;
	ck_assert_int_eq(s_hello(&s, 2, "n1", "g", "b", 500), 0);
	ck_assert_ptr_null(find_record(&s.o, "replaced"));   /* nobody held it */
	t = log_find(&s, mark, "n1", "reconnected");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->from, NODE_SUSPECT);
	ck_assert_int_eq(t->to, NODE_ALIVE);
	ck_assert_uint_eq(find_act(&s.o, CA_WELCOME, "n1")->conn, 2);
	b[0] = beater(2, "n1", 500, s.now);
	run(&s, s.now + 5000, 10, b, 1);
	ck_assert_int_eq(log_count(&s, mark, NULL), 1);
	ck_assert_ptr_null(log_find(&s, 0, "n1", "reconnect_grace"));
	ck_assert_int_eq(state_of(&s, "n1"), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

/* A node already suspect by phi whose connection then drops: it stays
 * suspect (no transition to the same state), and the reconnect grace still
 * applies. */
START_TEST(test_conn_lost_while_suspect)
{
	struct sim s;
	struct beater b;
	const struct tr *t;
	size_t mark;
	int64_t lost;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	b = beater(1, "n1", 500, s.now);
	run(&s, s.now + 5000, 10, &b, 1);
	b.on = false;
	t = run_until(&s, s.now + 5000, 10, &b, 1, "n1", "phi_suspect");
	ck_assert_ptr_nonnull(t);
	s.now += 10;
	lost = s.now;
	mark = s.nlog;
	s_disc(&s, 1, "n1");
	ck_assert_int_eq(count_act(&s.o, CA_TRANSITION), 0);
	ck_assert_ptr_nonnull(find_record(&s.o, "conn_lost"));
	ck_assert_int_eq(state_of(&s, "n1"), NODE_SUSPECT);
	ck_assert(!info(&s, "n1").connected);
	t = run_until(&s, s.now + 3000, 10, &b, 1, "n1", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->rule, "reconnect_grace");
	ck_assert_int_eq(t->at - lost, 1000);
	ck_assert_int_eq(log_count(&s, mark, NULL), 1);
	sim_done(&s);
}
END_TEST

START_TEST(test_bye_left)
{
	struct sim s;
	struct beater b;
	const struct core_action *a;
	struct core_node_info ni;
	size_t mark;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	b = beater(1, "n1", 500, s.now);
	run(&s, s.now + 2000, 10, &b, 1);
	s.now += 5;
	s_bye(&s, 1, "n1", "shutting down for maintenance");
	ck_assert_int_eq(count_act(&s.o, CA_TRANSITION), 1);
	a = find_act(&s.o, CA_TRANSITION, "n1");
	ck_assert_int_eq(a->from, NODE_ALIVE);
	ck_assert_int_eq(a->to, NODE_LEFT);
	ck_assert_str_eq(a->rule, "bye");
	ck_assert_str_eq(a->text, "shutting down for maintenance");

	/* still connected and silent: phi does not touch a left node */
	b.on = false;
	mark = s.nlog;
	run(&s, s.now + 5000, 50, &b, 1);
	ck_assert_int_eq(log_count(&s, mark, NULL), 0);
	s.now += 5;
	s_disc(&s, 1, "n1");
	ck_assert_uint_eq(s.o.n, 1);
	a = find_record(&s.o, "closed_after_bye");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->code, "conn");
	ck_assert_int_eq(count_act(&s.o, CA_TRANSITION), 0);

	/* and no grace period either */
	run(&s, s.now + 20000, 100, &b, 1);
	ck_assert_int_eq(log_count(&s, mark, NULL), 0);
	ni = info(&s, "n1");
	ck_assert_int_eq(ni.state, NODE_LEFT);
	ck_assert_str_eq(ni.rule, "bye");
	ck_assert(!ni.connected);
	ck_assert_int_eq(core_count_state(s.c, NODE_LEFT), 1);

	/* coming back */
	ck_assert_int_eq(s_hello(&s, 2, "n1", "g", "b2", 500), 0);
	ck_assert_ptr_nonnull(log_find(&s, mark, "n1", "reconnected"));
	ck_assert_int_eq(log_find(&s, mark, "n1", "reconnected")->from, NODE_LEFT);
	sim_done(&s);
}
END_TEST

START_TEST(test_bye_empty_reason_and_twice)
{
	struct sim s;
	const struct core_action *a;
	uint64_t rev;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	s_bye(&s, 1, "n1", "");
	a = find_act(&s.o, CA_TRANSITION, "n1");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->text, "");
	rev = core_rev(s.c);
	s_bye(&s, 1, "n1", "again");
	ck_assert_int_eq(count_act(&s.o, CA_TRANSITION), 0);
	ck_assert_uint_eq(core_rev(s.c), rev);
	s_bye(&s, 1, "n1", NULL);
	ck_assert_int_eq(count_act(&s.o, CA_TRANSITION), 0);
	ck_assert_int_eq(state_of(&s, "n1"), NODE_LEFT);
	sim_done(&s);
}
END_TEST

START_TEST(test_remember_restart)
{
	struct sim s;
	struct beater b;
	const struct tr *t;
	struct core_node_info ni;
	int64_t start;

	sim_init(&s);
	start = s.now;
	core_remember(s.c, s.now, wall(s.now), "gone", "g", 3, NODE_ALIVE);
	core_remember(s.c, s.now, wall(s.now), "was_failed", "g", 3, NODE_FAILED);
	core_remember(s.c, s.now, wall(s.now), "back", "g", 3, NODE_SUSPECT);
	core_remember(s.c, s.now, wall(s.now), "left", "g", 3, NODE_LEFT);
	core_remember(s.c, s.now, wall(s.now), "gone", "other", 9, NODE_LEFT);   /* known: no-op */
	absorb(&s);
	ck_assert_uint_eq(core_node_count(s.c), 4);

	ni = info(&s, "gone");
	ck_assert_int_eq(ni.state, NODE_SUSPECT);
	ck_assert_str_eq(ni.rule, "not_seen_since_restart");
	ck_assert_str_eq(ni.group, "g");
	ck_assert_int_eq(ni.priority, 3);
	ck_assert(!ni.connected);
	ck_assert_int_eq(ni.last_hb_wall_ms, -1);
	ck_assert_int_eq(ni.ev.hb_age_ms, -1);
	ck_assert_int_eq(state_of(&s, "was_failed"), NODE_SUSPECT);
	ck_assert_int_eq(state_of(&s, "left"), NODE_LEFT);
	ck_assert_int_eq(core_count_state(s.c, NODE_SUSPECT), 3);

	/* "back" says hello after 5 s and keeps heartbeating */
	run(&s, start + 5000, 100, NULL, 0);
	ck_assert_int_eq(log_count(&s, 0, NULL), 0);
	ck_assert_int_eq(s_hello(&s, 1, "back", "g", "b", 500), 0);
	t = log_find(&s, 0, "back", "reconnected");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->from, NODE_SUSPECT);
	ck_assert(!t->is_new);
	b = beater(1, "back", 500, s.now);

	t = run_until(&s, start + 30000, 100, &b, 1, "gone", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->rule, "startup_grace");
	ck_assert_int_eq(t->from, NODE_SUSPECT);
	ck_assert_int_eq(t->to, NODE_FAILED);
	ck_assert_int_eq(t->at - start, 12000);
	ck_assert(isnan(t->ev.phi));
	ck_assert_int_eq(t->ev.hb_age_ms, -1);
	ck_assert_int_eq(t->ev.samples, 0);
	t = log_find(&s, 0, "was_failed", "startup_grace");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->at - start, 12000);
	run(&s, start + 30000, 100, &b, 1);
	ck_assert_int_eq(state_of(&s, "gone"), NODE_FAILED);
	ck_assert_int_eq(state_of(&s, "was_failed"), NODE_FAILED);
	ck_assert_int_eq(state_of(&s, "back"), NODE_ALIVE);
	ck_assert_int_eq(state_of(&s, "left"), NODE_LEFT);
	ck_assert_int_eq(log_count(&s, 0, "left"), 0);
	ck_assert_int_eq(log_count(&s, 0, "back"), 1);
	ck_assert_int_eq(log_count(&s, 0, NULL), 3);

	/* a remembered node that reconnected then drops gets the normal grace */
	s.now += 10;
	s_disc(&s, 1, "back");
	t = run_until(&s, s.now + 5000, 10, NULL, 0, "back", "reconnect_grace");
	ck_assert_ptr_nonnull(t);
	sim_done(&s);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Tilt
 * ------------------------------------------------------------------------ */

START_TEST(test_tilt_stall)
{
	struct sim s;
	struct beater b[3];
	const struct tr *t;
	const struct core_action *a;
	int64_t stall_end;
	size_t mark;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "keeps", "g", "b", 500), 0);
	ck_assert_int_eq(s_hello(&s, 2, "silent", "g", "b", 500), 0);
	ck_assert_int_eq(s_hello(&s, 3, "drops", "g", "b", 500), 0);
	b[0] = beater(1, "keeps", 500, s.now);
	b[1] = beater(2, "silent", 500, s.now);
	b[2] = beater(3, "drops", 500, s.now);
	run(&s, s.now + 5000, 100, b, 3);
	ck_assert_int_eq(log_count(&s, 0, NULL), 3);

	/* the loop stalls for 3 s: no tick, no heartbeat processed */
	mark = s.nlog;
	s.now += 3000;
	stall_end = s.now;
	s_tick(&s);
	ck_assert_int_eq(s.tilt_on, 1);
	a = find_act(&s.o, CA_TILT, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert(a->on);
	ck_assert_ptr_nonnull(strstr(a->text, "3000"));
	ck_assert(core_in_tilt(s.c));
	ck_assert_int_eq(log_count(&s, mark, NULL), 0);   /* all three were silent 3 s */

	/* after the stall: one keeps heartbeating, one is silent, one drops */
	b[0].next = s.now;
	b[1].on = false;
	b[2].on = false;
	run(&s, stall_end + 1000, 100, b, 3);
	s_disc(&s, 3, "drops");                             /* connection facts still count */
	t = log_find(&s, mark, "drops", "conn_lost");
	ck_assert_ptr_nonnull(t);
	run(&s, stall_end + 4900, 100, b, 3);
	ck_assert(core_in_tilt(s.c));
	ck_assert_int_eq(s.tilt_off, 0);
	ck_assert_int_eq(log_count(&s, mark, NULL), 1);   /* only the conn_lost */
	ck_assert_int_eq(state_of(&s, "silent"), NODE_ALIVE);
	ck_assert_int_eq(state_of(&s, "drops"), NODE_SUSPECT);

	/* the hold ends: verdicts resume */
	run(&s, stall_end + 5000, 100, b, 3);
	ck_assert_int_eq(s.tilt_off, 1);
	ck_assert_int_eq(s.tilt_off_at, stall_end + 5000);
	ck_assert(!core_in_tilt(s.c));
	t = log_find(&s, mark, "silent", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->rule, "phi_failed");
	ck_assert_int_eq(t->at, stall_end + 5000);
	t = log_find(&s, mark, "drops", "reconnect_grace");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->at, stall_end + 5000);
	run(&s, stall_end + 20000, 100, b, 3);
	ck_assert_int_eq(state_of(&s, "keeps"), NODE_ALIVE);
	ck_assert_int_eq(log_count(&s, 0, "keeps"), 1);
	ck_assert_int_eq(s.tilt_on, 1);
	ck_assert_int_eq(s.tilt_off, 1);
	sim_done(&s);
}
END_TEST

/* A gap of exactly tilt_gap_ms is not a stall, one ms more is; a second
 * stall during the hold restarts the hold without a second "on".  The
 * agent's heartbeats are read before each tick, as after a real stall. */
/* After a stall the agents' queued heartbeats arrive in a burst during the
 * hold; once stable, the statistics must not be the burst's (a mean of a few
 * ms would make the next ordinary gap suspicious). */
START_TEST(test_tilt_burst_forgotten)
{
	struct sim s;
	struct beater b[1];
	struct core_node_info ni;
	int64_t stall_end;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 100), 0);
	b[0] = beater(1, "n1", 100, s.now);
	run(&s, s.now + 3000, 50, b, 1);
	s.now += 3000;                                   /* the loop stalls 3 s */
	stall_end = s.now;
	s_tick(&s);
	ck_assert(core_in_tilt(s.c));
	for (int i = 0; i < 30; i++) {                   /* 30 queued heartbeats, 1 ms apart */
		s.now += 1;
		s_hb(&s, 1, "n1");
	}
	b[0].next = s.now + 100;
	run(&s, stall_end + 5000 + 50, 50, b, 1);        /* through the hold */
	ck_assert(!core_in_tilt(s.c));
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert_msg(ni.ev.mean_ms > 80 && ni.ev.mean_ms < 120, "mean %.1f ms after the hold",
		      ni.ev.mean_ms);
	/* an ordinary late heartbeat (250 ms gap) is no reason for suspicion */
	b[0].on = false;
	run(&s, s.now + 250, 10, b, 1);
	ck_assert_int_eq(state_of(&s, "n1"), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

/* A plain heartbeat is a change (rev) but not a significant one (srev):
 * fast deltas skip it.  A state change, a new agent role or a check's new
 * status is significant. */
START_TEST(test_significant_changes)
{
	struct sim s;
	struct core_node_info a, b;
	struct proto_hb hb;
	uint64_t srev0;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &a), 0);
	ck_assert(a.srev == a.rev && a.srev == core_srev(s.c));
	srev0 = core_srev(s.c);
	s.now += 500;
	s_hb(&s, 1, "n1");
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &b), 0);
	ck_assert(b.rev > a.rev);
	ck_assert(b.srev == a.srev);
	ck_assert(core_srev(s.c) == srev0);

	memset(&hb, 0, sizeof hb);                 /* the agent now says it leads */
	hb.seq = s.hbseq++;
	util_strlcpy(hb.role, "leader", sizeof hb.role);
	s.now += 500;
	core_out_reset(&s.o);
	core_heartbeat(s.c, s.now, wall(s.now), 1, "n1", &hb, &s.o);
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &a), 0);
	ck_assert(a.srev == a.rev && a.srev > b.srev);
	ck_assert_str_eq(a.agent_role, "leader");

	hb.seq = s.hbseq++;                        /* same role again: not significant */
	s.now += 500;
	core_heartbeat(s.c, s.now, wall(s.now), 1, "n1", &hb, &s.o);
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &b), 0);
	ck_assert(b.rev > a.rev && b.srev == a.srev);

	hb.seq = s.hbseq++;                        /* a check appears: significant */
	hb.nchecks = 1;
	util_strlcpy(hb.checks[0].name, "pg", sizeof hb.checks[0].name);
	hb.checks[0].status = CHECK_PASSING;
	s.now += 500;
	core_heartbeat(s.c, s.now, wall(s.now), 1, "n1", &hb, &s.o);
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &a), 0);
	ck_assert(a.srev == a.rev && a.srev > b.srev);
	sim_done(&s);
}
END_TEST

START_TEST(test_tilt_gap_boundary_and_extend)
{
	struct sim s;
	int64_t on_at;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "b", 500), 0);
	s.now += 2000;                       /* exactly tilt_gap_ms: not a stall */
	s_hb(&s, 1, "n1");
	s_tick(&s);
	ck_assert_int_eq(s.tilt_on, 0);
	ck_assert(!core_in_tilt(s.c));
	s.now += 2001;                       /* one more: a stall */
	s_hb(&s, 1, "n1");
	s_tick(&s);
	ck_assert_int_eq(s.tilt_on, 1);
	on_at = s.now;
	/* a second stall during the hold extends it, without a second "on" */
	s.now += 3000;
	s_hb(&s, 1, "n1");
	s_tick(&s);
	ck_assert_int_eq(s.tilt_on, 1);
	on_at = s.now;
	for (int64_t t = on_at + 100; t <= on_at + 4900; t += 100) {
		s.now = t;
		if ((t - on_at) % 500 == 0)
			s_hb(&s, 1, "n1");
		s_tick(&s);
	}
	ck_assert(core_in_tilt(s.c));
	s.now = on_at + 5000;
	s_hb(&s, 1, "n1");
	s_tick(&s);
	ck_assert(!core_in_tilt(s.c));
	ck_assert_int_eq(s.tilt_off, 1);
	ck_assert_int_eq(log_count(&s, 0, NULL), 1);
	ck_assert_int_eq(state_of(&s, "n1"), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

START_TEST(test_tilt_clock_backwards)
{
	struct sim s;
	struct beater b[2];
	int64_t back;
	const struct tr *t;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "a", "g", "b", 500), 0);
	ck_assert_int_eq(s_hello(&s, 2, "z", "g", "b", 500), 0);
	b[0] = beater(1, "a", 500, s.now);
	b[1] = beater(2, "z", 500, s.now);
	run(&s, s.now + 3000, 100, b, 2);
	s.now -= 1000;
	back = s.now;
	s_tick(&s);
	ck_assert_int_eq(s.tilt_on, 1);
	ck_assert(core_in_tilt(s.c));
	b[0].next = s.now + 500;
	b[1].on = false;
	run(&s, back + 4900, 100, b, 2);
	ck_assert(core_in_tilt(s.c));
	ck_assert_int_eq(log_count(&s, 2, NULL), 0);
	t = run_until(&s, back + 6000, 100, b, 2, "z", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->rule, "phi_failed");
	ck_assert_int_eq(t->at, back + 5000);
	ck_assert_int_eq(s.tilt_off, 1);
	ck_assert_int_eq(state_of(&s, "a"), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Agent events
 * ------------------------------------------------------------------------ */

START_TEST(test_agent_events)
{
	struct sim s;
	const struct core_action *a;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "n1", "g", "boot-1", 500), 0);
	ck_assert_int_eq(find_act(&s.o, CA_WELCOME, "n1")->seq, 0);

	s.now += 10;
	s_event(&s, 1, "n1", 1, "check_failed", "warning", "disk / at 91%");
	ck_assert_uint_eq(s.o.n, 2);
	a = &s.o.v[0];
	ck_assert_int_eq(a->kind, CA_RECORD);
	ck_assert_str_eq(a->code, "agent");
	ck_assert_str_eq(a->rule, "check_failed");
	ck_assert_str_eq(a->node, "n1");
	ck_assert_str_eq(a->group, "g");
	ck_assert_ptr_nonnull(strstr(a->text, "warning"));
	ck_assert_ptr_nonnull(strstr(a->text, "disk / at 91%"));
	ck_assert_int_eq(a->wall_ms, wall(s.now) - 5);     /* when it happened */
	a = &s.o.v[1];
	ck_assert_int_eq(a->kind, CA_ACK);
	ck_assert_uint_eq(a->conn, 1);
	ck_assert_int_eq(a->seq, 1);

	s_event(&s, 1, "n1", 2, "check_ok", "info", "disk fine");
	ck_assert_int_eq(count_act(&s.o, CA_RECORD), 1);
	ck_assert_int_eq(find_act(&s.o, CA_ACK, NULL)->seq, 2);

	/* resends of stored events: acked (cumulatively), not stored again */
	s_event(&s, 1, "n1", 2, "check_ok", "info", "disk fine");
	ck_assert_uint_eq(s.o.n, 1);
	ck_assert_int_eq(s.o.v[0].kind, CA_ACK);
	ck_assert_int_eq(s.o.v[0].seq, 2);
	s_event(&s, 1, "n1", 1, "check_failed", "warning", "disk / at 91%");
	ck_assert_uint_eq(s.o.n, 1);
	ck_assert_int_eq(s.o.v[0].kind, CA_ACK);
	ck_assert_int_eq(s.o.v[0].seq, 2);

	/* same boot reconnects: welcome says what is stored */
	s_disc(&s, 1, "n1");
	s.now += 100;
	ck_assert_int_eq(s_hello(&s, 2, "n1", "g", "boot-1", 500), 0);
	ck_assert_int_eq(find_act(&s.o, CA_WELCOME, "n1")->seq, 2);
	s_event(&s, 2, "n1", 2, "check_ok", "info", "disk fine");   /* resent after reconnect */
	ck_assert_int_eq(count_act(&s.o, CA_RECORD), 0);
	ck_assert_int_eq(count_act(&s.o, CA_ACK), 1);
	s_event(&s, 2, "n1", 3, "restart", "critical", "svc restarted");
	ck_assert_int_eq(count_act(&s.o, CA_RECORD), 1);
	ck_assert_int_eq(find_act(&s.o, CA_ACK, NULL)->seq, 3);
	ck_assert_uint_eq(find_act(&s.o, CA_ACK, NULL)->conn, 2);

	/* a new boot restarts the numbering */
	s_disc(&s, 2, "n1");
	s.now += 100;
	ck_assert_int_eq(s_hello(&s, 3, "n1", "g", "boot-2", 500), 0);
	ck_assert_int_eq(find_act(&s.o, CA_WELCOME, "n1")->seq, 0);
	s_event(&s, 3, "n1", 1, "started", "info", "agent up");
	ck_assert_int_eq(count_act(&s.o, CA_RECORD), 1);
	ck_assert_int_eq(find_act(&s.o, CA_ACK, NULL)->seq, 1);
	s_event(&s, 3, "n1", 1, "started", "info", "agent up");
	ck_assert_int_eq(count_act(&s.o, CA_RECORD), 0);
	s_disc(&s, 3, "n1");
	ck_assert_int_eq(s_hello(&s, 4, "n1", "g", "boot-2", 500), 0);
	ck_assert_int_eq(find_act(&s.o, CA_WELCOME, "n1")->seq, 1);

	/* events keep a node's state as it is */
	ck_assert_int_eq(state_of(&s, "n1"), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Views
 * ------------------------------------------------------------------------ */

START_TEST(test_views_sorted_groups)
{
	static const char *const want[][2] = {
		{ "cache", "cache1" }, { "db", "db0" }, { "db", "db1" },
		{ "web", "web1" }, { "web", "web2" },
	};
	struct sim s;
	struct core_node_info ni;
	struct core_group_info gi;
	size_t ng;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "web2", "web", "b", 500), 0);
	ck_assert_int_eq(s_hello(&s, 2, "db1", "db", "b", 500), 0);
	ck_assert_int_eq(s_hello(&s, 3, "web1", "web", "b", 500), 0);
	ck_assert_int_eq(s_hello(&s, 4, "cache1", "cache", "b", 500), 0);
	ck_assert_int_eq(s_hello(&s, 5, "db0", "db", "b", 500), 0);
	ck_assert_uint_eq(core_node_count(s.c), 5);
	for (size_t i = 0; i < 5; i++) {
		ck_assert_int_eq(core_node_info(s.c, i, s.now, &ni), 0);
		ck_assert_str_eq(ni.group, want[i][0]);
		ck_assert_str_eq(ni.name, want[i][1]);
	}
	ck_assert_int_eq(core_node_info(s.c, 5, s.now, &ni), -1);

	s_disc(&s, 2, "db1");
	ck_assert_int_eq(core_count_state(s.c, NODE_ALIVE), 4);
	ck_assert_int_eq(core_count_state(s.c, NODE_SUSPECT), 1);
	ck_assert_int_eq(core_count_state(s.c, NODE_FAILED), 0);
	ng = core_group_count(s.c);
	ck_assert_uint_eq(ng, 3);
	ck_assert_int_eq(core_group_info(s.c, 0, &gi), 0);
	ck_assert_str_eq(gi.name, "cache");
	ck_assert_int_eq(gi.members, 1);
	ck_assert_int_eq(gi.alive, 1);
	ck_assert_int_eq(core_group_info(s.c, 1, &gi), 0);
	ck_assert_str_eq(gi.name, "db");
	ck_assert_int_eq(gi.members, 2);
	ck_assert_int_eq(gi.alive, 1);
	ck_assert_int_eq(core_group_info(s.c, 2, &gi), 0);
	ck_assert_str_eq(gi.name, "web");
	ck_assert_int_eq(gi.members, 2);
	ck_assert_int_eq(gi.alive, 2);
	ck_assert_int_eq(core_group_info(s.c, 3, &gi), -1);

	/* web2 moves to group "api": a record, and the order follows */
	s_bye(&s, 1, "web2", "moving");
	s_disc(&s, 1, "web2");
	ck_assert_int_eq(s_hello(&s, 6, "web2", "api", "b", 500), 0);
	ck_assert_ptr_nonnull(find_record(&s.o, "group_changed"));
	ck_assert_int_eq(core_node_info(s.c, 0, s.now, &ni), 0);
	ck_assert_str_eq(ni.name, "web2");
	ck_assert_str_eq(ni.group, "api");
	ck_assert_uint_eq(core_group_count(s.c), 4);
	ck_assert_int_eq(core_group_info(s.c, 3, &gi), 0);
	ck_assert_str_eq(gi.name, "web");
	ck_assert_int_eq(gi.members, 1);
	sim_done(&s);
}
END_TEST

START_TEST(test_views_rev)
{
	static const char *const names[] = { "a", "b", "c" };
	struct sim s;
	struct core_node_info ni;
	uint64_t r0, r1, r2;

	sim_init(&s);
	for (int i = 0; i < 3; i++) {
		r0 = core_rev(s.c);
		ck_assert_int_eq(s_hello(&s, (uint64_t)i + 1, names[i], "g", "b", 500), 0);
		ck_assert_uint_gt(core_rev(s.c), r0);
	}
	s.now += 100;
	s_tick(&s);
	r0 = core_rev(s.c);

	/* a heartbeat changes b only */
	s_hb(&s, 2, "b");
	r1 = core_rev(s.c);
	ck_assert_uint_gt(r1, r0);
	for (size_t i = 0; i < core_node_count(s.c); i++) {
		ck_assert_int_eq(core_node_info(s.c, i, s.now, &ni), 0);
		ck_assert_uint_le(ni.rev, r1);
		if (strcmp(ni.name, "b") == 0)
			ck_assert_uint_gt(ni.rev, r0);
		else
			ck_assert_uint_le(ni.rev, r0);
	}
	/* a transition changes c only */
	s_disc(&s, 3, "c");
	r2 = core_rev(s.c);
	ck_assert_uint_gt(r2, r1);
	ck_assert_uint_gt(info(&s, "c").rev, r1);
	ck_assert_uint_le(info(&s, "a").rev, r1);
	ck_assert_uint_le(info(&s, "b").rev, r1);
	/* ticks with nothing to decide change nothing */
	s.now += 100;
	s_tick(&s);
	ck_assert_uint_eq(core_rev(s.c), r2);
	/* the grace fires: c changes again */
	s.now += 1000;
	s_tick(&s);
	ck_assert_uint_gt(core_rev(s.c), r2);
	ck_assert_uint_gt(info(&s, "c").rev, r2);
	ck_assert_uint_le(info(&s, "a").rev, r1);
	sim_done(&s);
}
END_TEST

/* Many nodes: the tables grow, the order holds, one tick fails them all. */
START_TEST(test_views_many_nodes)
{
	struct sim s;
	struct core_node_info ni, prev;
	char name[32], group[32];
	const int n = 300;
	size_t mark;

	sim_init(&s);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "node-%03d", (i * 7919) % n);
		snprintf(group, sizeof group, "g%d", i % 7);
		ck_assert_int_eq(s_hello(&s, (uint64_t)i + 1, name, group, "b", 500), 0);
	}
	ck_assert_uint_eq(core_node_count(s.c), (size_t)n);
	ck_assert_uint_eq(core_group_count(s.c), 7);
	for (size_t i = 0; i < (size_t)n; i++) {
		ck_assert_int_eq(core_node_info(s.c, i, s.now, &ni), 0);
		if (i > 0) {
			int r = strcmp(prev.group, ni.group);

			ck_assert(r < 0 || (r == 0 && strcmp(prev.name, ni.name) < 0));
		}
		prev = ni;
	}
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "node-%03d", i);
		ck_assert_int_eq(core_node_find(s.c, name, s.now, &ni), 0);
		ck_assert_str_eq(ni.name, name);
	}
	mark = s.nlog;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "node-%03d", (i * 7919) % n);
		s_disc(&s, (uint64_t)i + 1, name);
	}
	ck_assert_int_eq(log_count(&s, mark, NULL), n);
	ck_assert_int_eq(core_count_state(s.c, NODE_SUSPECT), n);
	mark = s.nlog;
	s.now += 1000;
	s_tick(&s);
	ck_assert_uint_eq(s.o.n, (size_t)n);
	ck_assert_int_eq(log_count(&s, mark, NULL), n);
	ck_assert_int_eq(core_count_state(s.c, NODE_FAILED), n);
	ck_assert_uint_eq(core_group_count(s.c), 7);
	for (size_t i = 0; i < 7; i++) {
		struct core_group_info gi;

		ck_assert_int_eq(core_group_info(s.c, i, &gi), 0);
		ck_assert_int_eq(gi.alive, 0);
	}
	/* reset keeps the memory */
	core_out_reset(&s.o);
	ck_assert_uint_eq(s.o.n, 0);
	ck_assert_uint_ge(s.o.cap, (size_t)n);
	ck_assert_ptr_nonnull(s.o.v);
	sim_done(&s);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Config
 * ------------------------------------------------------------------------ */

struct bad_cfg {
	const char *what;               /* must appear in the error */
	double suspect_phi, failed_phi;
	int max_samples;
	double min_sd, pause;
	int64_t reconnect_grace, startup_grace, tilt_gap, tilt_hold;
};

/* Each row differs from the defaults (5, 8, 200, 0, 0, 1000, 12000, 2000,
 * 5000) in one place. */
static const struct bad_cfg bad_cfgs[] = {
	{ "suspect-phi", 8, 8, 200, 0, 0, 1000, 12000, 2000, 5000 },
	{ "suspect-phi", 9, 8, 200, 0, 0, 1000, 12000, 2000, 5000 },
	{ "suspect-phi", 0, 8, 200, 0, 0, 1000, 12000, 2000, 5000 },
	{ "suspect-phi", -1, 8, 200, 0, 0, 1000, 12000, 2000, 5000 },
	{ "suspect-phi", NAN, 8, 200, 0, 0, 1000, 12000, 2000, 5000 },
	{ "suspect-phi", 5, NAN, 200, 0, 0, 1000, 12000, 2000, 5000 },
	{ "suspect-phi", 5, 101, 200, 0, 0, 1000, 12000, 2000, 5000 },
	{ "max-samples", 5, 8, 1, 0, 0, 1000, 12000, 2000, 5000 },
	{ "max-samples", 5, 8, 0, 0, 0, 1000, 12000, 2000, 5000 },
	{ "max-samples", 5, 8, 100001, 0, 0, 1000, 12000, 2000, 5000 },
	{ "min-std-dev", 5, 8, 200, -1, 0, 1000, 12000, 2000, 5000 },
	{ "acceptable-pause", 5, 8, 200, 0, -1, 1000, 12000, 2000, 5000 },
	{ "acceptable-pause", 5, 8, 200, 0, NAN, 1000, 12000, 2000, 5000 },
	{ "reconnect-grace", 5, 8, 200, 0, 0, -1, 12000, 2000, 5000 },
	{ "startup-grace", 5, 8, 200, 0, 0, 1000, -1, 2000, 5000 },
	{ "tilt-gap", 5, 8, 200, 0, 0, 1000, 12000, 99, 5000 },
	{ "tilt-gap", 5, 8, 200, 0, 0, 1000, 12000, 0, 5000 },
	{ "tilt-hold", 5, 8, 200, 0, 0, 1000, 12000, 2000, -1 },
};

static void cfg_from(const struct bad_cfg *b, struct core_config *cfg)
{
	core_config_defaults(cfg);
	cfg->suspect_phi = b->suspect_phi;
	cfg->failed_phi = b->failed_phi;
	cfg->max_samples = b->max_samples;
	cfg->min_std_dev_ms = b->min_sd;
	cfg->acceptable_pause_ms = b->pause;
	cfg->reconnect_grace_ms = b->reconnect_grace;
	cfg->startup_grace_ms = b->startup_grace;
	cfg->tilt_gap_ms = b->tilt_gap;
	cfg->tilt_hold_ms = b->tilt_hold;
}

START_TEST(test_config_bad)
{
	struct core_config cfg;
	char err[256] = "";

	cfg_from(&bad_cfgs[_i], &cfg);
	ck_assert_int_eq(core_config_check(&cfg, err, sizeof err), -1);
	ck_assert_msg(strstr(err, bad_cfgs[_i].what) != NULL, "row %d: error '%s' does not name %s",
		      _i, err, bad_cfgs[_i].what);
	ck_assert_ptr_null(core_new(&cfg, 0));
}
END_TEST

START_TEST(test_config_defaults_and_edges)
{
	struct core_config cfg;
	char err[256];
	struct core *c;

	core_config_defaults(&cfg);
	ck_assert_double_eq(cfg.suspect_phi, 5);
	ck_assert_double_eq(cfg.failed_phi, 8);
	ck_assert_int_eq(cfg.max_samples, 200);
	ck_assert_double_eq(cfg.min_std_dev_ms, 0);
	ck_assert_double_eq(cfg.acceptable_pause_ms, 0);
	ck_assert_int_eq(cfg.reconnect_grace_ms, 1000);
	ck_assert_int_eq(cfg.startup_grace_ms, 12000);
	ck_assert_int_eq(cfg.tilt_gap_ms, 2000);
	ck_assert_int_eq(cfg.tilt_hold_ms, 5000);
	ck_assert_int_eq(core_config_check(&cfg, err, sizeof err), 0);

	cfg.max_samples = 2;
	cfg.tilt_gap_ms = 100;
	cfg.reconnect_grace_ms = 0;
	cfg.startup_grace_ms = 0;
	cfg.tilt_hold_ms = 0;
	cfg.suspect_phi = 0.5;
	cfg.failed_phi = 100;
	ck_assert_int_eq(core_config_check(&cfg, err, sizeof err), 0);
	c = core_new(&cfg, 0);
	ck_assert_ptr_nonnull(c);
	core_free(c);
	core_free(NULL);
}
END_TEST

/* Zero grace periods: failed at the first tick. */
START_TEST(test_zero_grace)
{
	struct core_config cfg;
	struct sim s;

	core_config_defaults(&cfg);
	cfg.reconnect_grace_ms = 0;
	cfg.startup_grace_ms = 0;
	sim_init_cfg(&s, &cfg);
	core_remember(s.c, s.now, wall(s.now), "r", "g", 0, NODE_ALIVE);
	ck_assert_int_eq(s_hello(&s, 1, "n", "g", "b", 500), 0);
	s_disc(&s, 1, "n");
	s_tick(&s);
	ck_assert_int_eq(state_of(&s, "n"), NODE_FAILED);
	ck_assert_int_eq(state_of(&s, "r"), NODE_FAILED);
	sim_done(&s);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Property test: random schedules
 * ------------------------------------------------------------------------ */

#define PN 4
#define PSTEPS 300
#define PSCHEDULES 200

struct pnode {
	const char *name;
	uint64_t conn;                  /* the conn we believe holds it, 0 none */
	uint64_t stale;                 /* a conn that no longer holds it */
	bool beating;
	int interval;
	int64_t next_hb;
	int boot;
	int64_t evseq;
	enum node_state st;             /* as last seen */
	uint64_t rev;
	bool known;
};

struct prop {
	struct sim s;
	struct pnode n[PN];
	uint64_t rng;
	uint64_t next_conn;
	unsigned seed;
	int step;
	bool went_back;                 /* the clock went backwards in this schedule */
	char ctx[96];
};

/* After each input: the transitions must explain every state change, and
 * the views must agree. */
static void prop_check(struct prop *p, size_t mark)
{
	struct sim *s = &p->s;
	enum node_state tracked[PN];
	bool seen[PN];

	for (int i = 0; i < PN; i++) {
		tracked[i] = p->n[i].st;
		seen[i] = p->n[i].known;
	}
	for (size_t k = mark; k < s->nlog; k++) {
		const struct tr *t = &s->log[k];
		int i;

		for (i = 0; i < PN; i++)
			if (strcmp(t->node, p->n[i].name) == 0)
				break;
		CHECK(i < PN, "%sunknown node %s", p->ctx, t->node);
		if (t->is_new)
			CHECK(!seen[i], "%s%s: is_new for a known node", p->ctx, t->node);
		else
			CHECK(seen[i] && t->from == tracked[i],
				      "%s%s: transition from %s, but it was %s", p->ctx, t->node,
				      node_state_name(t->from), node_state_name(tracked[i]));
		tracked[i] = t->to;
		seen[i] = true;
		CHECK(t->ev.samples >= 0 && !(t->ev.phi < 0), "%s%s: bad evidence", p->ctx, t->node);
		/* after the clock went back, the last heartbeat can be "in the future" */
		CHECK(p->went_back || t->ev.hb_age_ms >= -1, "%s%s: heartbeat age %lld", p->ctx,
		      t->node, (long long)t->ev.hb_age_ms);
	}
	for (int i = 0; i < PN; i++) {
		struct core_node_info ni;
		struct pnode *pn = &p->n[i];

		if (core_node_find(s->c, pn->name, s->now, &ni) != 0) {
			CHECK(!seen[i], "%s%s vanished", p->ctx, pn->name);
			continue;
		}
		CHECK(valid_state((int)ni.state), "%s%s: invalid state %d", p->ctx,
			      pn->name, (int)ni.state);
		CHECK(seen[i] && ni.state == tracked[i],
			      "%s%s is %s without a transition (was %s)", p->ctx, pn->name,
			      node_state_name(ni.state), node_state_name(tracked[i]));
		CHECK(ni.state != NODE_ALIVE || ni.connected,
			      "%s%s alive but not connected", p->ctx, pn->name);
		CHECK(ni.connected == (pn->conn != 0), "%s%s: connected %d, expected %d",
			      p->ctx, pn->name, (int)ni.connected, (int)(pn->conn != 0));
		CHECK(ni.rev <= core_rev(s->c), "%s%s: rev above core_rev", p->ctx, pn->name);
		if (pn->known && ni.state != pn->st)
			CHECK(ni.rev > pn->rev, "%s%s changed state, rev did not move",
				      p->ctx, pn->name);
		pn->st = ni.state;
		pn->rev = ni.rev;
		pn->known = true;
	}
}

static void prop_ctx(struct prop *p, const char *op)
{
	snprintf(p->ctx, sizeof p->ctx, "seed %u step %d (%s) t=%lld: ", p->seed, p->step, op,
		 (long long)p->s.now);
	p->s.ctx = p->ctx;
}

/* A heartbeat on the holding conn; the node is never failed right after,
 * nor after a tick at the same instant. */
static void prop_hb(struct prop *p, struct pnode *pn)
{
	size_t mark = p->s.nlog;

	prop_ctx(p, "heartbeat");
	s_hb(&p->s, pn->conn, pn->name);
	prop_check(p, mark);
	CHECK(pn->st != NODE_FAILED, "%s%s failed right after a heartbeat", p->ctx,
		      pn->name);
	CHECK(pn->st == NODE_ALIVE || pn->st == NODE_LEFT,
		      "%s%s is %s right after a heartbeat", p->ctx, pn->name,
		      node_state_name(pn->st));
	mark = p->s.nlog;
	s_tick(&p->s);
	prop_check(p, mark);
	CHECK(pn->st != NODE_FAILED && pn->st != NODE_SUSPECT,
		      "%s%s is %s at the tick right after a heartbeat", p->ctx, pn->name,
		      node_state_name(pn->st));
}

/* Time passes in ticks of 50..100 ms; beating nodes heartbeat on time. */
static void prop_advance(struct prop *p, int64_t dur)
{
	int64_t until = p->s.now + dur;

	while (p->s.now < until) {
		int64_t step = rng_range(&p->rng, 50, 100);
		size_t mark;

		p->s.now = p->s.now + step < until ? p->s.now + step : until;
		for (int i = 0; i < PN; i++) {
			struct pnode *pn = &p->n[i];

			if (pn->conn && pn->beating && p->s.now >= pn->next_hb) {
				prop_hb(p, pn);
				pn->next_hb = p->s.now + pn->interval;
			}
		}
		prop_ctx(p, "tick");
		mark = p->s.nlog;
		s_tick(&p->s);
		prop_check(p, mark);
	}
}

static void prop_step(struct prop *p)
{
	struct sim *s = &p->s;
	struct pnode *pn = &p->n[rng_range(&p->rng, 0, PN - 1)];
	int64_t r = rng_range(&p->rng, 0, 99);
	size_t mark = s->nlog;
	uint64_t rev;

	if (r < 10) {                                   /* hello on a new conn */
		static const int ivs[] = { 100, 500, 1000 };
		uint64_t conn = ++p->next_conn;
		char boot[16];
		struct core_node_info before;
		bool had = core_node_find(s->c, pn->name, s->now, &before) == 0;
		bool live_holder = had && before.connected &&
				   (before.state == NODE_ALIVE || before.state == NODE_DEGRADED ||
				    before.state == NODE_MAINTENANCE);
		int rc;

		if (rng_range(&p->rng, 0, 2) == 0)
			pn->boot++;
		snprintf(boot, sizeof boot, "boot-%d", pn->boot);
		pn->interval = ivs[rng_range(&p->rng, 0, 2)];
		prop_ctx(p, "hello");
		rc = s_hello(s, conn, pn->name, p->n[0].name == pn->name ? "g0" : "g1", boot,
			     pn->interval);
		CHECK(rc == (live_holder ? -1 : 0), "%s%s: hello returned %d", p->ctx,
			      pn->name, rc);
		if (rc == 0) {
			CHECK(find_act(&s->o, CA_WELCOME, pn->name) &&
				      find_act(&s->o, CA_WELCOME, pn->name)->conn == conn,
				      "%sno welcome", p->ctx);
			CHECK(count_act(&s->o, CA_REJECT) == 0, "%sreject and accept", p->ctx);
			if (pn->conn)
				pn->stale = pn->conn;
			pn->conn = conn;
			pn->next_hb = s->now + pn->interval;
			pn->beating = rng_range(&p->rng, 0, 3) != 0;
		} else {
			CHECK(s->o.n == 1 && s->o.v[0].kind == CA_REJECT && s->o.v[0].conn == conn,
				      "%sa rejected hello must only reject", p->ctx);
			pn->stale = conn;
		}
		prop_check(p, mark);
		if (rc == 0)
			CHECK(pn->st == NODE_ALIVE, "%s%s not alive after hello", p->ctx,
				      pn->name);
	} else if (r < 40) {                            /* a heartbeat right now */
		if (pn->conn)
			prop_hb(p, pn);
	} else if (r < 47) {                            /* the stale conn speaks */
		if (pn->stale && pn->stale != pn->conn) {
			rev = core_rev(s->c);
			prop_ctx(p, "stale");
			switch (rng_range(&p->rng, 0, 3)) {
			case 0: s_hb(s, pn->stale, pn->name); break;
			case 1: s_disc(s, pn->stale, pn->name); break;
			case 2: s_bye(s, pn->stale, pn->name, "stale"); break;
			default: s_event(s, pn->stale, pn->name, 99, "x", "info", "stale"); break;
			}
			CHECK(s->o.n == 0 && core_rev(s->c) == rev,
				      "%sa stale conn changed something", p->ctx);
			prop_check(p, mark);
		}
	} else if (r < 53) {                            /* connection drops */
		if (pn->conn) {
			prop_ctx(p, "disconnect");
			s_disc(s, pn->conn, pn->name);
			pn->stale = pn->conn;
			pn->conn = 0;
			prop_check(p, mark);
			CHECK(pn->st == NODE_SUSPECT || pn->st == NODE_FAILED ||
				      pn->st == NODE_LEFT, "%s%s is %s after losing its conn",
				      p->ctx, pn->name, node_state_name(pn->st));
		}
	} else if (r < 56) {                            /* bye */
		if (pn->conn) {
			prop_ctx(p, "bye");
			s_bye(s, pn->conn, pn->name, "bye");
			prop_check(p, mark);
			CHECK(pn->st == NODE_LEFT, "%s%s not left after bye", p->ctx, pn->name);
			pn->beating = false;
		}
	} else if (r < 62) {                            /* an agent event */
		if (pn->conn) {
			int64_t seq = rng_range(&p->rng, 0, 3) == 0 && pn->evseq > 0 ?
				      rng_range(&p->rng, 1, pn->evseq) : ++pn->evseq;
			const struct core_action *ack;

			prop_ctx(p, "event");
			s_event(s, pn->conn, pn->name, seq, "e", "info", "t");
			ack = find_act(&s->o, CA_ACK, pn->name);
			CHECK(ack && ack->conn == pn->conn && ack->seq >= seq,
				      "%sno ack for event %lld", p->ctx, (long long)seq);
			CHECK(count_act(&s->o, CA_TRANSITION) == 0, "%sevent moved state", p->ctx);
			prop_check(p, mark);
		}
	} else if (r < 66) {                            /* start or stop beating */
		pn->beating = !pn->beating;
		pn->next_hb = s->now;
	} else if (r < 94) {                            /* time passes */
		prop_advance(p, rng_range(&p->rng, 0, rng_range(&p->rng, 0, 3) ? 1500 : 6000));
	} else if (r < 97) {                            /* the loop stalls */
		s->now += rng_range(&p->rng, 2001, 4000);
		prop_ctx(p, "stall");
		s_tick(s);
		CHECK(core_in_tilt(s->c), "%sno tilt after a stall", p->ctx);
		prop_check(p, mark);
	} else if (r < 98) {                            /* the clock goes back */
		s->now -= rng_range(&p->rng, 1, 1000);
		p->went_back = true;
		prop_ctx(p, "backwards");
		s_tick(s);
		CHECK(core_in_tilt(s->c), "%sno tilt after the clock went back", p->ctx);
		prop_check(p, mark);
		for (int i = 0; i < PN; i++)
			p->n[i].next_hb = s->now;
	} else {                                        /* the loop stalls 20 s */
		s->now += 20000;
		prop_ctx(p, "long stall");
		s_tick(s);
		prop_check(p, mark);
	}
}

START_TEST(test_property_random_schedules)
{
	static const char *const names[PN] = { "alpha", "bravo", "charlie", "delta" };

	for (unsigned seed = 1; seed <= PSCHEDULES; seed++) {
		struct prop *p = calloc(1, sizeof *p);

		ck_assert_ptr_nonnull(p);
		p->seed = seed;
		p->rng = 0x853c49e6748fea9bULL ^ ((uint64_t)seed * 0x9e3779b97f4a7c15ULL);
		if (!p->rng)
			p->rng = 1;
		sim_init(&p->s);
		for (int i = 0; i < PN; i++) {
			p->n[i].name = names[i];
			p->n[i].interval = 500;
		}
		/* a collector restart: some nodes remembered */
		for (int i = 0; i < PN; i++) {
			int64_t r = rng_range(&p->rng, 0, 3);

			if (r == 0)
				core_remember(p->s.c, p->s.now, wall(p->s.now), names[i], "g1", 0,
					      NODE_ALIVE);
			else if (r == 1)
				core_remember(p->s.c, p->s.now, wall(p->s.now), names[i], "g1", 0,
					      NODE_LEFT);
		}
		for (int i = 0; i < PN; i++) {
			struct core_node_info ni;

			if (core_node_find(p->s.c, names[i], p->s.now, &ni) == 0) {
				p->n[i].known = true;
				p->n[i].st = ni.state;
				p->n[i].rev = ni.rev;
			}
		}
		p->step = -1;
		prop_ctx(p, "start");
		prop_check(p, 0);
		for (p->step = 0; p->step < PSTEPS; p->step++) {
			p->s.nlog = 0;          /* prop_check reads only this step's part */
			prop_step(p);
		}
		sim_done(&p->s);
		free(p);
	}
}
END_TEST


/* ---------------------------------------------------------------------------
 * Forget: an operator decommissions a dead node
 * ------------------------------------------------------------------------ */

/* Every listed view agrees with the set of names expected present: each
 * is found, the sorted walk lists exactly them, and the forgotten are not
 * found. */
static void check_table(struct sim *s, char names[][16], const bool *present, int n)
{
	struct core_node_info ni, prev;
	size_t want = 0, i;

	for (int k = 0; k < n; k++) {
		int rc = core_node_find(s->c, names[k], s->now, &ni);

		CHECK(present[k] ? rc == 0 : rc == -1, "%s: found %d, expected %s", names[k], rc,
		      present[k] ? "present" : "gone");
		if (present[k])
			CHECK(strcmp(ni.name, names[k]) == 0, "%s: found %s", names[k], ni.name);
		want += present[k];
	}
	CHECK(core_node_count(s->c) == want, "count %zu, expected %zu", core_node_count(s->c), want);
	for (i = 0; i < want; i++) {
		CHECK(core_node_info(s->c, i, s->now, &ni) == 0, "node_info %zu", i);
		if (i > 0) {
			int r = strcmp(prev.group, ni.group);

			CHECK(r < 0 || (r == 0 && strcmp(prev.name, ni.name) < 0),
			      "not sorted at %zu: %s/%s after %s/%s", i, ni.group, ni.name,
			      prev.group, prev.name);
		}
		prev = ni;
	}
	CHECK(core_node_info(s->c, i, s->now, &ni) == -1, "node_info past the end");
}

START_TEST(test_forget_basic)
{
	struct sim s;
	struct core_group_info gi;
	struct core_node_info ni;
	uint64_t rev, srev, r;
	const struct core_action *a;

	sim_init(&s);
	ck_assert_int_eq(s_hello(&s, 1, "a", "g", "b1", 500), 0);
	ck_assert_int_eq(s_hello(&s, 2, "b", "g", "b1", 500), 0);
	ck_assert_int_eq(s_hello(&s, 3, "c", "h", "b1", 500), 0);
	/* connected: refused, nothing changes */
	rev = core_rev(s.c);
	ck_assert_int_eq(core_forget(s.c, "a"), -EBUSY);
	ck_assert_uint_eq(core_rev(s.c), rev);
	ck_assert_uint_eq(core_node_count(s.c), 3);
	ck_assert_int_eq(core_forget(s.c, "nosuch"), -ENOENT);
	ck_assert_uint_eq(core_removed_count(s.c), 0);

	s_disc(&s, 1, "a");
	s.now += 1000;
	s_tick(&s);
	ck_assert_int_eq(info(&s, "a").state, NODE_FAILED);
	ck_assert_int_eq(core_count_state(s.c, NODE_FAILED), 1);
	rev = core_rev(s.c);
	srev = core_srev(s.c);
	ck_assert_int_eq(core_forget(s.c, "a"), 0);
	ck_assert_int_eq(core_node_find(s.c, "a", s.now, &ni), -1);
	ck_assert_int_eq(core_node_find(s.c, "b", s.now, &ni), 0);
	ck_assert_int_eq(core_node_find(s.c, "c", s.now, &ni), 0);
	ck_assert_uint_eq(core_node_count(s.c), 2);
	ck_assert_int_eq(core_count_state(s.c, NODE_FAILED), 0);
	ck_assert_int_eq(core_node_checks(s.c, "a", &(const struct proto_check *){ NULL }), -1);
	/* deltas notice: both revs moved, and the removal is listed at the new rev */
	ck_assert_uint_gt(core_rev(s.c), rev);
	ck_assert_uint_gt(core_srev(s.c), srev);
	ck_assert_uint_eq(core_removed_count(s.c), 1);
	ck_assert_str_eq(core_removed(s.c, 0, &r), "a");
	ck_assert_uint_eq(r, core_rev(s.c));
	ck_assert_ptr_null(core_removed(s.c, 1, &r));
	ck_assert_uint_eq(core_removed_floor(s.c), 0);
	/* group g has one member left; the sorted views skip a */
	ck_assert_uint_eq(core_group_count(s.c), 2);
	ck_assert_int_eq(core_group_info(s.c, 0, &gi), 0);
	ck_assert_str_eq(gi.name, "g");
	ck_assert_int_eq(gi.members, 1);
	ck_assert_int_eq(core_node_info(s.c, 0, s.now, &ni), 0);
	ck_assert_str_eq(ni.name, "b");
	ck_assert_int_eq(core_node_info(s.c, 1, s.now, &ni), 0);
	ck_assert_str_eq(ni.name, "c");
	ck_assert_int_eq(core_node_info(s.c, 2, s.now, &ni), -1);
	ck_assert_int_eq(core_forget(s.c, "a"), -ENOENT);       /* twice */

	/* time goes on without it */
	s.now += 5000;
	s_tick(&s);
	ck_assert_int_eq(log_count(&s, 0, "a"), 3);             /* hello, conn_lost, failed */

	/* the same name later: a new node (hello, is_new), not the old one */
	ck_assert_int_eq(s_hello(&s, 9, "a", "h", "b2", 500), 0);
	a = find_act(&s.o, CA_TRANSITION, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert(a->is_new);
	ck_assert_str_eq(a->rule, "hello");
	ck_assert_uint_eq(core_node_count(s.c), 3);
	ni = info(&s, "a");
	ck_assert_str_eq(ni.group, "h");
	ck_assert_int_eq(ni.state, NODE_ALIVE);
	ck_assert_int_eq(ni.hb_count, 0);
	ck_assert(ni.rev > r);
	/* connected again: refused */
	ck_assert_int_eq(core_forget(s.c, "a"), -EBUSY);
	sim_done(&s);
}
END_TEST

/* A node remembered from the store (collector restart) that never comes
 * back: forgetting it also removes its startup-grace deadline. */
START_TEST(test_forget_remembered)
{
	struct sim s;

	sim_init(&s);
	core_remember(s.c, s.now, wall(s.now), "old", "g", 5, NODE_ALIVE);
	ck_assert_int_eq(core_next_deadline(s.c), s.now + 12000);
	ck_assert_int_eq(core_forget(s.c, "old"), 0);
	ck_assert_int_eq(core_next_deadline(s.c), INT64_MAX);
	s.now += 20000;
	s_tick(&s);
	ck_assert_int_eq(s.nlog, 0);                            /* no startup_grace failure */
	ck_assert_uint_eq(core_node_count(s.c), 0);
	ck_assert_uint_eq(core_group_count(s.c), 0);
	sim_done(&s);
}
END_TEST

/* Many nodes, forgotten in a scrambled order: the open-addressing table
 * must keep every other name findable (probe chains run through the
 * deleted slots), and re-adding them all works. */
START_TEST(test_forget_many_hash)
{
	enum { N = 700 };
	static char names[N][16];
	static bool present[N];
	struct sim s;
	uint32_t x = 12345;

	sim_init(&s);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "n%d", i);
		ck_assert_int_eq(s_hello(&s, (uint64_t)i + 1, names[i], i % 3 ? "a" : "b", "b", 500), 0);
		present[i] = true;
	}
	for (int i = 0; i < N; i++)
		s_disc(&s, (uint64_t)i + 1, names[i]);
	check_table(&s, names, present, N);
	for (int round = 0; round < 2 * N; round++) {
		int k;

		x = x * 1103515245u + 12345u;
		k = (int)((x >> 8) % N);
		if (present[k]) {
			ck_assert_int_eq(core_forget(s.c, names[k]), 0);
			present[k] = false;
		} else {
			ck_assert_int_eq(core_forget(s.c, names[k]), -ENOENT);
			if (round % 3 == 0) {        /* and some come back */
				ck_assert_int_eq(s_hello(&s, 100000u + (uint64_t)round, names[k], "c",
							 "b2", 500), 0);
				s_disc(&s, 100000u + (uint64_t)round, names[k]);
				present[k] = true;
			}
		}
		if (round % 50 == 0)
			check_table(&s, names, present, N);
	}
	check_table(&s, names, present, N);
	for (int i = 0; i < N; i++)
		if (present[i]) {
			ck_assert_int_eq(core_forget(s.c, names[i]), 0);
			present[i] = false;
		}
	check_table(&s, names, present, N);
	ck_assert_uint_eq(core_group_count(s.c), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(s_hello(&s, 200000u + (uint64_t)i, names[i], "d", "b3", 500), 0);
		present[i] = true;
	}
	check_table(&s, names, present, N);
	sim_done(&s);
}
END_TEST

/* The removal list keeps the last CORE_REMOVED_MAX; the floor says from
 * which rev on a delta can no longer list them all. */
START_TEST(test_forget_removed_ring)
{
	enum { EXTRA = 5, N = CORE_REMOVED_MAX + EXTRA };
	struct sim s;
	char name[32];
	uint64_t revs[N], r;

	sim_init(&s);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "r%d", i);
		core_remember(s.c, s.now, wall(s.now), name, "g", 1, NODE_LEFT);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "r%d", i);
		ck_assert_int_eq(core_forget(s.c, name), 0);
		revs[i] = core_rev(s.c);
		if (i)
			ck_assert_uint_gt(revs[i], revs[i - 1]);
	}
	ck_assert_uint_eq(core_node_count(s.c), 0);
	ck_assert_uint_eq(core_removed_count(s.c), CORE_REMOVED_MAX);
	ck_assert_uint_eq(core_removed_floor(s.c), revs[EXTRA - 1]);
	snprintf(name, sizeof name, "r%d", EXTRA);
	ck_assert_str_eq(core_removed(s.c, 0, &r), name);
	ck_assert_uint_eq(r, revs[EXTRA]);
	snprintf(name, sizeof name, "r%d", N - 1);
	ck_assert_str_eq(core_removed(s.c, CORE_REMOVED_MAX - 1, &r), name);
	ck_assert_uint_eq(r, revs[N - 1]);
	ck_assert_ptr_null(core_removed(s.c, CORE_REMOVED_MAX, &r));
	sim_done(&s);
}
END_TEST

/* ---------------------------------------------------------------------------
 * The suite
 * ------------------------------------------------------------------------ */

Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc;

	tc = tcase_create("connections");
	tcase_add_test(tc, test_hello_new_node);
	tcase_add_test(tc, test_duplicate_rejected);
	tcase_add_loop_test(tc, test_takeover_silent_holder, 0, 2);
	tcase_add_test(tc, test_stale_conn_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("phi");
	tcase_add_loop_test(tc, test_phi_timing, 0, ARRAY_LEN(timing_vecs));
	tcase_add_test(tc, test_suspect_then_resumed);
	tcase_add_test(tc, test_jitter_no_false_suspicion);
	suite_add_tcase(s, tc);

	tc = tcase_create("grace");
	tcase_add_test(tc, test_conn_lost_then_failed);
	tcase_add_test(tc, test_conn_lost_reconnect_within_grace);
	tcase_add_test(tc, test_conn_lost_while_suspect);
	tcase_add_test(tc, test_bye_left);
	tcase_add_test(tc, test_bye_empty_reason_and_twice);
	tcase_add_test(tc, test_remember_restart);
	tcase_add_test(tc, test_zero_grace);
	suite_add_tcase(s, tc);

	tc = tcase_create("tilt");
	tcase_add_test(tc, test_tilt_stall);
	tcase_add_test(tc, test_tilt_burst_forgotten);
	tcase_add_test(tc, test_significant_changes);
	tcase_add_test(tc, test_tilt_gap_boundary_and_extend);
	tcase_add_test(tc, test_tilt_clock_backwards);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_add_test(tc, test_agent_events);
	suite_add_tcase(s, tc);

	tc = tcase_create("views");
	tcase_add_test(tc, test_views_sorted_groups);
	tcase_add_test(tc, test_views_rev);
	tcase_add_test(tc, test_views_many_nodes);
	suite_add_tcase(s, tc);

	tc = tcase_create("forget");
	tcase_add_test(tc, test_forget_basic);
	tcase_add_test(tc, test_forget_remembered);
	tcase_add_test(tc, test_forget_many_hash);
	tcase_add_test(tc, test_forget_removed_ring);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_loop_test(tc, test_config_bad, 0, ARRAY_LEN(bad_cfgs));
	tcase_add_test(tc, test_config_defaults_and_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("property");
	tcase_add_test(tc, test_property_random_schedules);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	return s;
}
