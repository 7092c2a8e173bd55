/* check_alerts.c — unit tests for collector/alerts in simulated time:
 * fingerprints and edges, folding, `for` windows, repeats, acks, silences
 * and their expiry, inhibition by quorum loss and by tilt (and release),
 * threshold rules (gaps, stale data, app counter rates), event rules,
 * bounded memory, views and reloads.  Every test builds its own engine. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "collector/alerts.h"
#include "proto/util.h"

Suite *alerts_suite(void);

#define WALL0 1700000000000LL

struct fx {
	struct alerts *a;
	struct alert_out o;
	int64_t now, wall;
};

static void fx_init_cfg(struct fx *f, const struct alerts_config *cfg, const struct alert_rule *r,
			size_t n)
{
	f->a = alerts_new(cfg, r, n);
	ck_assert_ptr_nonnull(f->a);
	alert_out_init(&f->o);
	f->now = 1000;
	f->wall = WALL0;
}

static void fx_init(struct fx *f, const struct alert_rule *r, size_t n)
{
	struct alerts_config cfg;

	alerts_config_defaults(&cfg);
	cfg.id_base = 100;
	cfg.repeat_ms = 60000;
	fx_init_cfg(f, &cfg, r, n);
}

static void fx_done(struct fx *f)
{
	alerts_free(f->a);
	alert_out_done(&f->o);
}

/* Time passes by ms, then a tick; the actions of the tick stay in f->o. */
static void step(struct fx *f, int64_t ms)
{
	f->now += ms;
	f->wall += ms;
	alert_out_reset(&f->o);
	alerts_tick(f->a, f->now, f->wall, &f->o);
}

static int count(const struct fx *f, enum alert_action_kind k)
{
	int n = 0;

	for (size_t i = 0; i < f->o.n; i++)
		n += f->o.v[i].kind == k;
	return n;
}

/* The only action in f->o: asserts there is exactly one. */
static const struct alert_action *only(const struct fx *f)
{
	ck_assert_msg(f->o.n == 1, "want 1 action, got %zu", f->o.n);
	return &f->o.v[0];
}

static const struct alert_action *find_act(const struct fx *f, enum alert_action_kind k,
					   const char *rule, const char *node)
{
	for (size_t i = 0; i < f->o.n; i++) {
		const struct alert_action *x = &f->o.v[i];

		if (x->kind == k && !strcmp(x->alert.rule, rule) &&
		    (!node || !strcmp(x->alert.node, node)))
			return x;
	}
	return NULL;
}

static void node(struct fx *f, const char *n, const char *g, enum node_state from,
		 enum node_state to)
{
	alert_out_reset(&f->o);
	alerts_node_state(f->a, f->now, f->wall, n, g, from, to, "phi_failed", &f->o);
}

static void cpu(struct fx *f, const char *n, double v)
{
	struct proto_metrics m;

	memset(&m, 0, sizeof m);
	m.cpu_pct = v;
	m.mem_pct = NAN;
	m.load1 = NAN;
	m.disk_pct = NAN;
	alert_out_reset(&f->o);
	alerts_metrics(f->a, f->now, f->wall, n, "web", 1000, &m, &f->o);
}

static struct alert_rule metric_rule(const char *name, const char *metric, enum alert_op op,
				     double v, int64_t for_ms)
{
	struct alert_rule r;

	ck_assert_int_eq(alerts_rule_init(&r, name), 0);
	ck_assert_int_eq(alerts_rule_set_metric(&r, metric), 0);
	r.op = op;
	r.value = v;
	r.for_ms = for_ms;
	return r;
}

/* ---- edges and folding ---------------------------------------------- */

START_TEST(test_fire_resolve_edges)
{
	struct fx f;
	const struct alert_action *x;
	struct alert al;

	fx_init(&f, NULL, 0);
	node(&f, "db1", "db", NODE_ALIVE, NODE_FAILED);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_FIRE);
	ck_assert(x->notify);
	ck_assert_str_eq(x->alert.fingerprint, "node_failed{group=\"db\",node=\"db1\"}");
	ck_assert_uint_eq(x->alert.id, 101);
	ck_assert_str_eq(x->key, "101-fire");
	ck_assert_int_eq(x->alert.severity, ASEV_CRITICAL);
	ck_assert_int_eq(x->alert.state, AST_FIRING);
	ck_assert_int_eq(x->alert.started_ms, WALL0);
	ck_assert_ptr_nonnull(strstr(x->alert.summary, "db1"));
	ck_assert_ptr_nonnull(strstr(x->alert.summary, "failed"));

	f.now += 5000;
	f.wall += 5000;
	node(&f, "db1", "db", NODE_FAILED, NODE_ALIVE);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_RESOLVE);
	ck_assert(x->notify);
	ck_assert_uint_eq(x->alert.id, 101);
	ck_assert_str_eq(x->key, "101-resolve");
	ck_assert_int_eq(x->alert.state, AST_RESOLVED);
	ck_assert_int_eq(x->alert.resolved_ms, WALL0 + 5000);

	/* Still alive: no edge, nothing. */
	node(&f, "db1", "db", NODE_DEGRADED, NODE_ALIVE);
	ck_assert_uint_eq(f.o.n, 0);

	/* A new episode of the same fingerprint is a new alert. */
	node(&f, "db1", "db", NODE_ALIVE, NODE_FAILED);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_FIRE);
	ck_assert_uint_eq(x->alert.id, 102);
	ck_assert_int_eq(alerts_get_id(f.a, 101, &al), 0);
	ck_assert_int_eq(al.state, AST_RESOLVED);
	ck_assert_int_eq(alerts_get_id(f.a, 102, &al), 0);
	ck_assert_int_eq(al.state, AST_FIRING);
	fx_done(&f);
}
END_TEST

START_TEST(test_folding)
{
	struct fx f;
	struct alert al;

	fx_init(&f, NULL, 0);
	node(&f, "db1", "db", NODE_ALIVE, NODE_FAILED);
	ck_assert_int_eq(count(&f, AL_FIRE), 1);
	/* The same fact again (a replay, a second path reporting it): folded. */
	node(&f, "db1", "db", NODE_FAILED, NODE_FAILED);
	ck_assert_uint_eq(f.o.n, 0);
	node(&f, "db1", "db", NODE_FAILED, NODE_FAILED);
	ck_assert_uint_eq(f.o.n, 0);
	ck_assert_int_eq(alerts_get(f.a, "node_failed{group=\"db\",node=\"db1\"}", &al), 0);
	ck_assert_uint_eq(al.folded, 2);
	ck_assert_uint_eq(al.id, 101);

	/* Event rules fold too. */
	alert_out_reset(&f.o);
	alerts_hook_result(f.a, f.now, f.wall, "db2", "db", "promote", 3, &f.o);
	ck_assert_int_eq(count(&f, AL_FIRE), 1);
	alert_out_reset(&f.o);
	alerts_hook_result(f.a, f.now, f.wall, "db2", "db", "promote", 4, &f.o);
	ck_assert_uint_eq(f.o.n, 0);
	ck_assert_int_eq(alerts_get(f.a, "hook_failed{group=\"db\",hook=\"promote\",node=\"db2\"}", &al), 0);
	ck_assert_uint_eq(al.folded, 1);
	/* Another hook on the same node is another fingerprint. */
	alert_out_reset(&f.o);
	alerts_hook_result(f.a, f.now, f.wall, "db2", "db", "fence", 1, &f.o);
	ck_assert_int_eq(count(&f, AL_FIRE), 1);
	/* Success of the same hook resolves it. */
	alert_out_reset(&f.o);
	alerts_hook_result(f.a, f.now, f.wall, "db2", "db", "promote", 0, &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_RESOLVE);
	ck_assert_str_eq(only(&f)->alert.hook, "promote");
	fx_done(&f);
}
END_TEST

START_TEST(test_state_moves)
{
	struct fx f;

	fx_init(&f, NULL, 0);
	node(&f, "a", "g", NODE_ALIVE, NODE_DEGRADED);
	ck_assert_ptr_nonnull(find_act(&f, AL_FIRE, "node_degraded", "a"));
	/* degraded -> failed: the degraded alert resolves, then failed fires. */
	node(&f, "a", "g", NODE_DEGRADED, NODE_FAILED);
	ck_assert_uint_eq(f.o.n, 2);
	ck_assert_int_eq(f.o.v[0].kind, AL_RESOLVE);
	ck_assert_str_eq(f.o.v[0].alert.rule, "node_degraded");
	ck_assert_int_eq(f.o.v[1].kind, AL_FIRE);
	ck_assert_str_eq(f.o.v[1].alert.rule, "node_failed");
	/* failed -> left: resolves; leaving is not an alert. */
	node(&f, "a", "g", NODE_FAILED, NODE_LEFT);
	ck_assert_int_eq(only(&f)->kind, AL_RESOLVE);
	node(&f, "a", "g", NODE_LEFT, NODE_MAINTENANCE);
	ck_assert_uint_eq(f.o.n, 0);
	fx_done(&f);
}
END_TEST

/* ---- for windows ---------------------------------------------------- */

START_TEST(test_suspect_for_window)
{
	struct fx f;
	struct alerts_stats st;

	fx_init(&f, NULL, 0);          /* node_suspect: for=30s by default */
	node(&f, "a", "g", NODE_ALIVE, NODE_SUSPECT);
	ck_assert_uint_eq(f.o.n, 0);
	alerts_get_stats(f.a, &st);
	ck_assert_uint_eq(st.pending, 1);
	step(&f, 29999);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 1);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	ck_assert_str_eq(only(&f)->alert.rule, "node_suspect");
	ck_assert_ptr_nonnull(strstr(only(&f)->alert.summary, "30.0s"));

	/* Suspect for less than the window: never fires. */
	node(&f, "b", "g", NODE_ALIVE, NODE_SUSPECT);
	step(&f, 10000);
	node(&f, "b", "g", NODE_SUSPECT, NODE_ALIVE);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 60000);
	ck_assert_ptr_null(find_act(&f, AL_FIRE, "node_suspect", "b"));
	/* Suspect then failed: the pending suspect goes quietly, failed fires. */
	node(&f, "c", "g", NODE_ALIVE, NODE_SUSPECT);
	step(&f, 5000);
	node(&f, "c", "g", NODE_SUSPECT, NODE_FAILED);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	ck_assert_str_eq(only(&f)->alert.rule, "node_failed");
	step(&f, 60000);
	ck_assert_ptr_null(find_act(&f, AL_FIRE, "node_suspect", "c"));
	alerts_get_stats(f.a, &st);
	ck_assert_uint_eq(st.pending, 0);
	fx_done(&f);
}
END_TEST

/* ---- repeat and ack ---------------------------------------------------- */

START_TEST(test_repeat_interval)
{
	struct fx f;
	struct alert_rule r;
	const struct alert_action *x;

	ck_assert_int_eq(alerts_rule_init(&r, "node_degraded"), 1);
	r.repeat_ms = 0;               /* never repeats */
	fx_init(&f, &r, 1);            /* engine default: 60 s */
	node(&f, "a", "g", NODE_ALIVE, NODE_FAILED);
	node(&f, "b", "g", NODE_ALIVE, NODE_DEGRADED);
	step(&f, 59999);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 1);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_REPEAT);
	ck_assert(x->notify);
	ck_assert_str_eq(x->alert.node, "a");
	ck_assert_str_eq(x->key, "101-repeat-2");
	ck_assert_uint_eq(x->alert.notified, 2);
	step(&f, 30000);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 30000);
	x = only(&f);
	ck_assert_str_eq(x->key, "101-repeat-3");
	fx_done(&f);
}
END_TEST

START_TEST(test_ack)
{
	struct fx f;
	const struct alert_action *x;
	struct alert al;
	const char *fp = "node_failed{group=\"g\",node=\"a\"}";

	fx_init(&f, NULL, 0);
	node(&f, "a", "g", NODE_ALIVE, NODE_FAILED);
	node(&f, "b", "g", NODE_ALIVE, NODE_FAILED);
	alert_out_reset(&f.o);
	ck_assert_int_eq(alerts_ack(f.a, f.now, f.wall, "999", "alice", "x", &f.o), -ENOENT);
	ck_assert_int_eq(alerts_ack(f.a, f.now, f.wall, "101", "bad name!", "x", &f.o), -EINVAL);
	ck_assert_int_eq(alerts_ack(f.a, f.now, f.wall, "101", "alice", "looking at it", &f.o), 0);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_ACK);
	ck_assert(!x->notify);
	ck_assert(x->alert.acked);
	ck_assert_str_eq(x->alert.ack_who, "alice");
	ck_assert_str_eq(x->alert.ack_reason, "looking at it");
	ck_assert_int_eq(x->alert.ack_ms, f.wall);
	alert_out_reset(&f.o);
	ck_assert_int_eq(alerts_ack(f.a, f.now, f.wall, fp, "bob", "", &f.o), -EALREADY);
	/* By fingerprint. */
	ck_assert_int_eq(alerts_ack(f.a, f.now, f.wall, "node_failed{group=\"g\",node=\"b\"}",
				    "bob", "", &f.o), 0);
	ck_assert_int_eq(alerts_get_id(f.a, 102, &al), 0);
	ck_assert(al.acked);
	ck_assert_str_eq(al.ack_who, "bob");
	/* Acked: no repeats. */
	step(&f, 600000);
	ck_assert_uint_eq(f.o.n, 0);
	/* The resolve is still sent: the sinks heard of the fire. */
	node(&f, "a", "g", NODE_FAILED, NODE_ALIVE);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_RESOLVE);
	ck_assert(x->notify);
	/* A resolved alert cannot be acked; the next episode is not acked. */
	ck_assert_int_eq(alerts_ack(f.a, f.now, f.wall, "101", "alice", "", &f.o), -ENOENT);
	node(&f, "a", "g", NODE_ALIVE, NODE_FAILED);
	ck_assert(!only(&f)->alert.acked);
	fx_done(&f);
}
END_TEST

/* ---- silences -------------------------------------------------------- */

static struct alert_silence sil(const char *rule, const char *n, const char *g, int64_t expires)
{
	struct alert_silence s;

	memset(&s, 0, sizeof s);
	util_strlcpy(s.rule, rule, sizeof s.rule);
	util_strlcpy(s.node, n, sizeof s.node);
	util_strlcpy(s.group, g, sizeof s.group);
	util_strlcpy(s.author, "alice", sizeof s.author);
	util_strlcpy(s.reason, "kernel upgrade", sizeof s.reason);
	s.expires_ms = expires;
	return s;
}

START_TEST(test_silence_match_and_expiry)
{
	struct fx f;
	struct alert_silence s = sil("*", "db1", "*", WALL0 + 90000), out[4];
	const struct alert_action *x;

	fx_init(&f, NULL, 0);
	alert_out_reset(&f.o);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), 0);
	ck_assert_uint_eq(s.id, 1);
	ck_assert_int_eq(s.created_ms, WALL0);
	ck_assert_uint_eq(f.o.n, 0);
	ck_assert_uint_eq(alerts_silences(f.a, out, 4), 1);
	ck_assert_str_eq(out[0].author, "alice");

	node(&f, "db1", "db", NODE_ALIVE, NODE_FAILED);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_SILENCED);
	ck_assert(!x->notify);
	ck_assert_int_eq(x->alert.hold, AH_SILENCED);
	ck_assert_uint_eq(x->alert.silence_id, 1);
	ck_assert_str_eq(x->alert.held_by, "silence:1");
	node(&f, "db2", "db", NODE_ALIVE, NODE_FAILED);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);

	/* Silenced: no repeats. */
	step(&f, 60000);
	ck_assert_ptr_null(find_act(&f, AL_REPEAT, "node_failed", "db1"));
	ck_assert_ptr_nonnull(find_act(&f, AL_REPEAT, "node_failed", "db2"));
	/* Expiry: the silence ends, and db1, still failed, is sent now. */
	step(&f, 29999);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 1);
	ck_assert_uint_eq(f.o.n, 2);
	ck_assert_int_eq(f.o.v[0].kind, AL_SILENCE_END);
	ck_assert_uint_eq(f.o.v[0].silence.id, 1);
	ck_assert_int_eq(f.o.v[1].kind, AL_FIRE);
	ck_assert(f.o.v[1].notify);
	ck_assert_str_eq(f.o.v[1].alert.node, "db1");
	ck_assert_str_eq(f.o.v[1].key, "101-fire");
	ck_assert_int_eq(f.o.v[1].alert.hold, AH_NONE);
	ck_assert_uint_eq(alerts_silences(f.a, out, 4), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_silence_matchers)
{
	struct fx f;
	struct alert_silence s = sil("node_failed", "", "db", WALL0 + 60000);

	fx_init(&f, NULL, 0);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), 0);
	node(&f, "a", "db", NODE_ALIVE, NODE_FAILED);          /* rule and group match */
	ck_assert_int_eq(only(&f)->kind, AL_SILENCED);
	node(&f, "b", "db", NODE_ALIVE, NODE_DEGRADED);        /* another rule */
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	node(&f, "c", "web", NODE_ALIVE, NODE_FAILED);         /* another group */
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	/* A node matcher does not match an alert without a node label. */
	s = sil("*", "a", "*", WALL0 + 60000);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), 0);
	alert_out_reset(&f.o);
	alerts_tilt(f.a, f.now, f.wall, true, &f.o);
	ck_assert_ptr_nonnull(find_act(&f, AL_FIRE, "collector_tilt", ""));
	fx_done(&f);
}
END_TEST

START_TEST(test_silence_on_firing_and_remove)
{
	struct fx f;
	struct alert_silence s = sil("node_failed", "*", "*", WALL0 + 3600000);
	const struct alert_action *x;

	fx_init(&f, NULL, 0);
	node(&f, "a", "g", NODE_ALIVE, NODE_FAILED);
	alert_out_reset(&f.o);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), 0);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_SILENCED);
	ck_assert(!x->notify);
	step(&f, 120000);
	ck_assert_uint_eq(f.o.n, 0);                           /* no repeats */
	alert_out_reset(&f.o);
	ck_assert_int_eq(alerts_silence_expire(f.a, f.now, f.wall, 77, &f.o), -ENOENT);
	ck_assert_int_eq(alerts_silence_expire(f.a, f.now, f.wall, s.id, &f.o), 0);
	ck_assert_uint_eq(f.o.n, 2);
	ck_assert_int_eq(f.o.v[0].kind, AL_SILENCE_END);
	/* The sinks had heard of it: a reminder, not a second fire. */
	ck_assert_int_eq(f.o.v[1].kind, AL_REPEAT);
	ck_assert(f.o.v[1].notify);
	fx_done(&f);
}
END_TEST

START_TEST(test_silenced_resolve_is_quiet)
{
	struct fx f;
	struct alert_silence s = sil("*", "*", "g", WALL0 + 60000);

	fx_init(&f, NULL, 0);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), 0);
	node(&f, "a", "g", NODE_ALIVE, NODE_FAILED);
	node(&f, "a", "g", NODE_FAILED, NODE_ALIVE);
	ck_assert_int_eq(only(&f)->kind, AL_RESOLVE);
	ck_assert(!only(&f)->notify);                         /* never sent, so no resolve */
	step(&f, 60000);
	ck_assert_int_eq(only(&f)->kind, AL_SILENCE_END);      /* nothing left to send */
	fx_done(&f);
}
END_TEST

START_TEST(test_silence_invalid)
{
	struct fx f;
	struct alerts_config cfg;
	struct alert_silence s;

	alerts_config_defaults(&cfg);
	cfg.max_silences = 2;
	fx_init_cfg(&f, &cfg, NULL, 0);
	s = sil("*", "*", "*", WALL0);                         /* already expired */
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), -EINVAL);
	s = sil("*", "*", "*", WALL0 + 1000);
	s.author[0] = '\0';
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), -EINVAL);
	s = sil("*", "*", "*", WALL0 + 1000);
	s.reason[0] = '\0';
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), -EINVAL);
	s = sil("no spaces", "*", "*", WALL0 + 1000);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), -EINVAL);
	/* Restored ids are kept, new ones come after them. */
	s = sil("*", "a", "*", WALL0 + 1000);
	s.id = 40;
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), 0);
	ck_assert_uint_eq(s.id, 40);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), -EEXIST);
	s = sil("*", "b", "*", WALL0 + 1000);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), 0);
	ck_assert_uint_eq(s.id, 41);
	s = sil("*", "c", "*", WALL0 + 1000);
	ck_assert_int_eq(alerts_silence_add(f.a, f.now, f.wall, &s, &f.o), -ENOSPC);
	fx_done(&f);
}
END_TEST

/* ---- inhibition ------------------------------------------------------ */

START_TEST(test_inhibit_quorum)
{
	struct fx f;
	const struct alert_action *x;

	fx_init(&f, NULL, 0);
	node(&f, "db1", "db", NODE_ALIVE, NODE_FAILED);        /* notified before the loss */
	alert_out_reset(&f.o);
	alerts_group_quorum(f.a, f.now, f.wall, "db", false, &f.o);
	ck_assert_uint_eq(f.o.n, 2);
	ck_assert_int_eq(f.o.v[0].kind, AL_FIRE);
	ck_assert_str_eq(f.o.v[0].alert.rule, "group_no_quorum");
	ck_assert_str_eq(f.o.v[0].alert.fingerprint, "group_no_quorum{group=\"db\"}");
	ck_assert_int_eq(f.o.v[1].kind, AL_INHIBITED);
	ck_assert_str_eq(f.o.v[1].alert.node, "db1");
	ck_assert_str_eq(f.o.v[1].alert.held_by, "quorum_lost:db");

	node(&f, "db2", "db", NODE_ALIVE, NODE_FAILED);
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_INHIBITED);
	ck_assert(!x->notify);
	node(&f, "db3", "db", NODE_ALIVE, NODE_DEGRADED);
	node(&f, "db3", "db", NODE_DEGRADED, NODE_ALIVE);     /* resolves while held: quiet */
	ck_assert_int_eq(only(&f)->kind, AL_RESOLVE);
	ck_assert(!only(&f)->notify);
	node(&f, "web1", "web", NODE_ALIVE, NODE_FAILED);      /* other groups are not held */
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	/* Held: no repeats for db; web1 and the quorum alert repeat. */
	step(&f, 60000);
	ck_assert_int_eq(count(&f, AL_REPEAT), 2);
	ck_assert_ptr_null(find_act(&f, AL_REPEAT, "node_failed", "db1"));

	/* Quorum back: the group alert resolves; db1 and db2 still fail. */
	alert_out_reset(&f.o);
	alerts_group_quorum(f.a, f.now, f.wall, "db", true, &f.o);
	ck_assert_uint_eq(f.o.n, 3);
	ck_assert_int_eq(f.o.v[0].kind, AL_RESOLVE);
	ck_assert_str_eq(f.o.v[0].alert.rule, "group_no_quorum");
	x = find_act(&f, AL_REPEAT, "node_failed", "db1");    /* was sent before: reminder */
	ck_assert_ptr_nonnull(x);
	ck_assert(x->notify);
	x = find_act(&f, AL_FIRE, "node_failed", "db2");      /* never sent: fires now */
	ck_assert_ptr_nonnull(x);
	ck_assert(x->notify);
	ck_assert_int_eq(x->alert.hold, AH_NONE);
	/* Reporting quorum again changes nothing. */
	alert_out_reset(&f.o);
	alerts_group_quorum(f.a, f.now, f.wall, "db", true, &f.o);
	ck_assert_uint_eq(f.o.n, 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_inhibit_tilt)
{
	struct alert_rule r = metric_rule("cpu_high", "cpu", AOP_GT, 90, 0);
	struct fx f;

	fx_init(&f, &r, 1);
	alert_out_reset(&f.o);
	alerts_tilt(f.a, f.now, f.wall, true, &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	ck_assert_str_eq(only(&f)->alert.rule, "collector_tilt");
	ck_assert_str_eq(only(&f)->alert.fingerprint, "collector_tilt{}");
	ck_assert(alerts_in_tilt(f.a));
	node(&f, "a", "g", NODE_ALIVE, NODE_FAILED);           /* detection: held */
	ck_assert_int_eq(only(&f)->kind, AL_INHIBITED);
	ck_assert_str_eq(only(&f)->alert.held_by, "tilt");
	alert_out_reset(&f.o);
	alerts_group_leader(f.a, f.now, f.wall, "g", "", &f.o);  /* detection: held */
	ck_assert_int_eq(only(&f)->kind, AL_INHIBITED);
	cpu(&f, "w1", 99);                                     /* a measurement: not held */
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	alert_out_reset(&f.o);
	alerts_failover(f.a, f.now, f.wall, "g", FO_IDLE, FO_DECIDE, "auto", "b", &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);             /* not a detection alert */

	alert_out_reset(&f.o);
	alerts_tilt(f.a, f.now, f.wall, false, &f.o);
	ck_assert_uint_eq(f.o.n, 3);
	ck_assert_int_eq(f.o.v[0].kind, AL_RESOLVE);
	ck_assert_str_eq(f.o.v[0].alert.rule, "collector_tilt");
	ck_assert_ptr_nonnull(find_act(&f, AL_FIRE, "node_failed", "a"));
	ck_assert_ptr_nonnull(find_act(&f, AL_FIRE, "group_no_leader", ""));
	fx_done(&f);
}
END_TEST

/* ---- threshold rules ------------------------------------------------- */

START_TEST(test_threshold_for_window)
{
	struct alert_rule r = metric_rule("cpu_high", "cpu", AOP_GT, 90, 120000);
	struct fx f;
	const struct alert_action *x;
	int64_t t0;

	fx_init(&f, &r, 1);
	/* One sample per second above 90, broken at 60 s by a dip. */
	for (int i = 0; i <= 60; i++) {
		cpu(&f, "w1", 95);
		ck_assert_uint_eq(f.o.n, 0);
		step(&f, 1000);
	}
	cpu(&f, "w1", 50);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 1000);
	t0 = f.now;
	for (;;) {
		cpu(&f, "w1", 90.5);
		if (f.o.n)
			break;
		ck_assert_int_lt(f.now - t0, 120000);
		step(&f, 1000);
	}
	ck_assert_int_eq(f.now - t0, 120000);                  /* exactly the window */
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_FIRE);
	ck_assert_str_eq(x->alert.fingerprint, "cpu_high{group=\"web\",metric=\"cpu\",node=\"w1\"}");
	ck_assert_int_eq(x->alert.severity, ASEV_WARNING);
	ck_assert_double_eq_tol(x->alert.value, 90.5, 1e-9);
	ck_assert_double_eq_tol(x->alert.threshold, 90, 1e-9);
	ck_assert_ptr_nonnull(strstr(x->alert.summary, "cpu 90.5 > 90"));
	/* Exactly 90 is not above 90: resolves. */
	step(&f, 1000);
	cpu(&f, "w1", 90);
	ck_assert_int_eq(only(&f)->kind, AL_RESOLVE);
	ck_assert_double_eq_tol(only(&f)->alert.value, 90, 1e-9);
	fx_done(&f);
}
END_TEST

START_TEST(test_threshold_gap_and_stale)
{
	struct alert_rule r = metric_rule("cpu_high", "cpu", AOP_GE, 90, 10000);
	struct fx f;
	const struct alert_action *x;
	struct alerts_stats st;

	fx_init(&f, &r, 1);
	cpu(&f, "w1", 95);
	f.now += 3000;                 /* 3 intervals: still continuous */
	f.wall += 3000;
	cpu(&f, "w1", 95);
	f.now += 3001;                 /* more than 3 intervals: the window restarts */
	f.wall += 3001;
	cpu(&f, "w1", 95);
	f.now += 3000;
	f.wall += 3000;
	cpu(&f, "w1", 95);
	f.now += 3000;
	f.wall += 3000;
	cpu(&f, "w1", 95);             /* 6 s since the restart, 12 s since the start */
	ck_assert_uint_eq(f.o.n, 0);
	f.now += 3000;
	f.wall += 3000;
	cpu(&f, "w1", 95);             /* 9 s */
	ck_assert_uint_eq(f.o.n, 0);
	f.now += 1000;
	f.wall += 1000;
	cpu(&f, "w1", 95);             /* 10 s */
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	/* A missing value is no sample: it neither resolves nor refreshes. */
	cpu(&f, "w1", NAN);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 3000);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 1);                   /* no data for more than 3 intervals */
	x = only(&f);
	ck_assert_int_eq(x->kind, AL_RESOLVE);
	ck_assert_ptr_nonnull(strstr(x->alert.summary, "(no data)"));
	/* A pending window with no data is dropped quietly. */
	cpu(&f, "w2", 95);
	step(&f, 4000);
	ck_assert_uint_eq(f.o.n, 0);
	alerts_get_stats(f.a, &st);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.firing, 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_threshold_app_rate_and_scope)
{
	struct alert_rule r[2];
	struct proto_metrics m;
	struct fx f;

	r[0] = metric_rule("errors_high", "errors", AOP_GT, 5, 0);
	r[0].severity = ASEV_CRITICAL;
	r[1] = metric_rule("db_load", "load1", AOP_GT, 4, 0);
	util_strlcpy(r[1].group, "db", sizeof r[1].group);
	ck_assert(r[0].app);
	ck_assert(!r[1].app);
	fx_init(&f, r, 2);
	memset(&m, 0, sizeof m);
	m.cpu_pct = m.mem_pct = m.disk_pct = NAN;
	m.load1 = 9;
	m.napp = 1;
	util_strlcpy(m.app[0].name, "errors", sizeof m.app[0].name);
	m.app[0].value = 5;            /* 5/s is not above 5/s */
	alerts_metrics(f.a, f.now, f.wall, "w1", "web", 500, &m, &f.o);
	ck_assert_uint_eq(f.o.n, 0);   /* load rule is scoped to group db */
	m.app[0].value = 7.5;
	alerts_metrics(f.a, f.now, f.wall, "w1", "web", 500, &m, &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	ck_assert_int_eq(only(&f)->alert.severity, ASEV_CRITICAL);
	ck_assert_str_eq(only(&f)->alert.metric, "errors");
	alert_out_reset(&f.o);
	alerts_metrics(f.a, f.now, f.wall, "d1", "db", 500, &m, &f.o);
	ck_assert_ptr_nonnull(find_act(&f, AL_FIRE, "db_load", "d1"));
	ck_assert_ptr_nonnull(find_act(&f, AL_FIRE, "errors_high", "d1"));
	/* Metric alerts of a group without quorum are held back. */
	alert_out_reset(&f.o);
	alerts_group_quorum(f.a, f.now, f.wall, "db", false, &f.o);
	ck_assert_int_eq(count(&f, AL_INHIBITED), 2);
	fx_done(&f);
}
END_TEST

/* ---- event rules ----------------------------------------------------- */

START_TEST(test_failover_events)
{
	struct fx f;
	const struct alert_action *x;

	fx_init(&f, NULL, 0);
	alert_out_reset(&f.o);
	alerts_failover(f.a, f.now, f.wall, "db", FO_IDLE, FO_DECIDE, "auto", "db2", &f.o);
	x = only(&f);
	ck_assert_str_eq(x->alert.rule, "failover_started");
	ck_assert_int_eq(x->kind, AL_FIRE);
	alert_out_reset(&f.o);
	alerts_failover(f.a, f.now, f.wall, "db", FO_DECIDE, FO_PROMOTE, "persisted", "db2", &f.o);
	ck_assert_uint_eq(f.o.n, 0);   /* still under way */
	alert_out_reset(&f.o);
	alerts_failover(f.a, f.now, f.wall, "db", FO_PROMOTE, FO_IDLE, "failed", "db2", &f.o);
	ck_assert_uint_eq(f.o.n, 2);
	ck_assert_int_eq(f.o.v[0].kind, AL_RESOLVE);
	ck_assert_str_eq(f.o.v[0].alert.rule, "failover_started");
	ck_assert_int_eq(f.o.v[1].kind, AL_FIRE);
	ck_assert_str_eq(f.o.v[1].alert.rule, "failover_failed");
	ck_assert_int_eq(f.o.v[1].alert.severity, ASEV_CRITICAL);
	/* failover_failed stays until a failover of the group is confirmed. */
	step(&f, 3 * 3600000LL);
	ck_assert_ptr_null(find_act(&f, AL_RESOLVE, "failover_failed", NULL));
	alert_out_reset(&f.o);
	alerts_failover(f.a, f.now, f.wall, "db", FO_IDLE, FO_DECIDE, "elect", "db3", &f.o);
	alert_out_reset(&f.o);
	alerts_failover(f.a, f.now, f.wall, "db", FO_PROMOTE, FO_IDLE, "confirmed", "db3", &f.o);
	ck_assert_uint_eq(f.o.n, 3);
	ck_assert_ptr_nonnull(find_act(&f, AL_RESOLVE, "failover_started", NULL));
	ck_assert_ptr_nonnull(find_act(&f, AL_RESOLVE, "failover_failed", NULL));
	x = find_act(&f, AL_FIRE, "failover_completed", NULL);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(x->alert.severity, ASEV_INFO);
	ck_assert_ptr_nonnull(strstr(x->alert.summary, "db3 is leader"));
	/* failover_completed resolves on its own after 5 minutes. */
	step(&f, 299999);
	ck_assert_ptr_null(find_act(&f, AL_RESOLVE, "failover_completed", NULL));
	step(&f, 1);
	ck_assert_ptr_nonnull(find_act(&f, AL_RESOLVE, "failover_completed", NULL));
	fx_done(&f);
}
END_TEST

START_TEST(test_recording_and_leader)
{
	struct fx f;

	fx_init(&f, NULL, 0);
	alert_out_reset(&f.o);
	alerts_recording(f.a, f.now, f.wall, false, "disk I/O error", &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	ck_assert_str_eq(only(&f)->alert.summary, "store not recording: disk I/O error");
	alert_out_reset(&f.o);
	alerts_recording(f.a, f.now, f.wall, true, "", &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_RESOLVE);
	alert_out_reset(&f.o);
	alerts_group_leader(f.a, f.now, f.wall, "db", "", &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	alert_out_reset(&f.o);
	alerts_group_leader(f.a, f.now, f.wall, "db", "db1", &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_RESOLVE);
	fx_done(&f);
}
END_TEST

/* ---- rules ----------------------------------------------------------- */

START_TEST(test_rule_off_and_reload)
{
	struct alert_rule r[2];
	struct fx f;
	struct alert al;

	ck_assert_int_eq(alerts_rule_init(&r[0], "node_flapping"), 1);
	r[0].off = true;
	fx_init(&f, r, 1);
	alert_out_reset(&f.o);
	alerts_node_flapping(f.a, f.now, f.wall, "a", "g", true, &f.o);
	ck_assert_uint_eq(f.o.n, 0);
	node(&f, "a", "g", NODE_ALIVE, NODE_FAILED);
	node(&f, "b", "g", NODE_ALIVE, NODE_DEGRADED);
	cpu(&f, "w", 99);
	ck_assert_uint_eq(f.o.n, 0);   /* no cpu rule yet */

	/* Reload: node_failed becomes a warning, node_degraded off, a cpu rule added. */
	ck_assert_int_eq(alerts_rule_init(&r[0], "node_failed"), 1);
	r[0].severity = ASEV_WARNING;
	ck_assert_int_eq(alerts_rule_init(&r[1], "node_degraded"), 1);
	r[1].off = true;
	alert_out_reset(&f.o);
	ck_assert_int_eq(alerts_set_rules(f.a, f.now, f.wall, r, 2, &f.o), 0);
	ck_assert_int_eq(only(&f)->kind, AL_RESOLVE);
	ck_assert_str_eq(only(&f)->alert.rule, "node_degraded");
	ck_assert_ptr_nonnull(strstr(only(&f)->alert.summary, "rule turned off"));
	ck_assert_int_eq(alerts_get_id(f.a, 101, &al), 0);
	ck_assert_int_eq(al.state, AST_FIRING);
	ck_assert_int_eq(al.severity, ASEV_WARNING);
	/* flapping is back on (not named in the new set): it fires now. */
	alert_out_reset(&f.o);
	alerts_node_flapping(f.a, f.now, f.wall, "a", "g", true, &f.o);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	/* A bad set changes nothing. */
	r[1] = r[0];                   /* a name twice */
	ck_assert_int_eq(alerts_set_rules(f.a, f.now, f.wall, r, 2, &f.o), -EINVAL);
	ck_assert_int_eq(alerts_get_id(f.a, 101, &al), 0);
	ck_assert_int_eq(al.state, AST_FIRING);
	fx_done(&f);
}
END_TEST

START_TEST(test_rules_check)
{
	struct alert_rule r[2];
	char err[512];

	ck_assert_int_eq(alerts_rule_init(&r[0], "bad name"), -1);
	ck_assert_int_eq(alerts_rule_init(&r[0], "cpu_high"), 0);
	ck_assert_int_eq(alerts_rules_check(r, 1, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "rule 'cpu_high': not a built-in rule"));
	r[0] = metric_rule("cpu_high", "cpu", AOP_GT, 90, 0);
	r[1] = r[0];
	ck_assert_int_eq(alerts_rules_check(r, 1, err, sizeof err), 0);
	ck_assert_int_eq(alerts_rules_check(r, 2, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "defined twice"));
	ck_assert_int_eq(alerts_rule_init(&r[0], "hook_failed"), 1);
	r[0].for_ms = 1000;
	ck_assert_int_eq(alerts_rules_check(r, 1, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "event rule"));
	ck_assert_int_eq(alerts_rule_init(&r[0], "collector_tilt"), 1);
	util_strlcpy(r[0].node, "a", sizeof r[0].node);
	ck_assert_int_eq(alerts_rule_check(&r[0], err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "'node' does not apply"));
	ck_assert_ptr_null(alerts_new(&(struct alerts_config){ .max_active = 1 }, r, 1));
}
END_TEST

/* ---- memory and views ------------------------------------------------ */

START_TEST(test_bounded_and_views)
{
	struct alerts_config cfg;
	struct alerts_stats st;
	struct alert list[8], al;
	struct fx f;

	alerts_config_defaults(&cfg);
	cfg.max_active = 3;
	cfg.max_recent = 2;
	fx_init_cfg(&f, &cfg, NULL, 0);
	node(&f, "a", "g", NODE_ALIVE, NODE_FAILED);           /* 1 */
	node(&f, "b", "g", NODE_ALIVE, NODE_FAILED);           /* 2 */
	node(&f, "c", "g", NODE_ALIVE, NODE_FAILED);           /* 3 */
	node(&f, "d", "g", NODE_ALIVE, NODE_FAILED);           /* full: dropped */
	ck_assert_uint_eq(f.o.n, 0);
	alerts_get_stats(f.a, &st);
	ck_assert_uint_eq(st.firing, 3);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.last_id, 3);
	node(&f, "a", "g", NODE_FAILED, NODE_ALIVE);
	node(&f, "b", "g", NODE_FAILED, NODE_ALIVE);
	node(&f, "c", "g", NODE_FAILED, NODE_ALIVE);           /* recent keeps b and c */
	node(&f, "d", "g", NODE_ALIVE, NODE_FAILED);           /* room again: 4 */
	node(&f, "e", "g", NODE_ALIVE, NODE_FAILED);           /* 5 */
	ck_assert_uint_eq(alerts_list(f.a, true, list, 8), 2);
	ck_assert_uint_eq(list[0].id, 5);                      /* newest first */
	ck_assert_uint_eq(list[1].id, 4);
	ck_assert_uint_eq(alerts_list(f.a, false, list, 8), 4);
	ck_assert_uint_eq(list[2].id, 3);
	ck_assert_uint_eq(list[3].id, 2);
	ck_assert_uint_eq(alerts_list(f.a, false, list, 1), 4);  /* count beyond max */
	ck_assert_uint_eq(list[0].id, 5);
	ck_assert_int_eq(alerts_get_id(f.a, 1, &al), -ENOENT); /* oldest resolved dropped */
	ck_assert_int_eq(alerts_get(f.a, "2", &al), 0);
	ck_assert_str_eq(al.node, "b");
	ck_assert_int_eq(alerts_get(f.a, "node_failed{group=\"g\",node=\"c\"}", &al), 0);
	ck_assert_uint_eq(al.id, 3);
	ck_assert_int_eq(alerts_get(f.a, "nope", &al), -ENOENT);
	fx_done(&f);
}
END_TEST

/* vigil forget: every alert about the node ends (firing ones resolve,
 * noting why; pending ones go quietly); other nodes' and group alerts stay. */
START_TEST(test_forget_node)
{
	struct fx f;
	struct alerts_stats st;
	struct alert_rule r = metric_rule("cpu_high", "cpu", AOP_GT, 90, 0);
	const struct alert_action *x;
	struct alert al;

	fx_init(&f, &r, 1);
	node(&f, "db1", "db", NODE_ALIVE, NODE_FAILED);                /* 101 */
	node(&f, "db2", "db", NODE_ALIVE, NODE_FAILED);                /* 102 */
	alert_out_reset(&f.o);
	alerts_node_flapping(f.a, f.now, f.wall, "db1", "db", true, &f.o);   /* 103 */
	cpu(&f, "db1", 95);                                            /* 104 */
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	alert_out_reset(&f.o);
	alerts_group_quorum(f.a, f.now, f.wall, "db", false, &f.o);
	ck_assert_ptr_nonnull(find_act(&f, AL_FIRE, "group_no_quorum", NULL));
	alerts_group_quorum(f.a, f.now, f.wall, "db", true, &f.o);     /* release the holds */
	node(&f, "db1x", "db", NODE_ALIVE, NODE_SUSPECT);              /* pending, another node */
	alerts_get_stats(f.a, &st);
	ck_assert_uint_eq(st.firing, 4);
	ck_assert_uint_eq(st.pending, 1);

	f.now += 1000;
	f.wall += 1000;
	alert_out_reset(&f.o);
	ck_assert_uint_eq(alerts_forget_node(f.a, f.now, f.wall, "db1", &f.o), 3);
	ck_assert_uint_eq(f.o.n, 3);
	ck_assert_int_eq(count(&f, AL_RESOLVE), 3);
	x = find_act(&f, AL_RESOLVE, "node_failed", "db1");
	ck_assert_ptr_nonnull(x);
	ck_assert(x->notify);                                           /* the sinks heard the fire */
	ck_assert_int_eq(x->alert.resolved_ms, f.wall);
	ck_assert_ptr_nonnull(strstr(x->alert.summary, "(node forgotten)"));
	ck_assert_ptr_nonnull(find_act(&f, AL_RESOLVE, "node_flapping", "db1"));
	ck_assert_ptr_nonnull(find_act(&f, AL_RESOLVE, "cpu_high", "db1"));
	ck_assert_int_eq(alerts_get_id(f.a, 101, &al), 0);
	ck_assert_int_eq(al.state, AST_RESOLVED);
	ck_assert_int_eq(alerts_get_id(f.a, 102, &al), 0);
	ck_assert_int_eq(al.state, AST_FIRING);
	alerts_get_stats(f.a, &st);
	ck_assert_uint_eq(st.firing, 1);                               /* db2 */
	ck_assert_uint_eq(st.pending, 1);                              /* db1x: not a prefix match */

	/* a pending alert of the node goes without an action */
	node(&f, "db3", "db", NODE_ALIVE, NODE_SUSPECT);
	alert_out_reset(&f.o);
	ck_assert_uint_eq(alerts_forget_node(f.a, f.now, f.wall, "db3", &f.o), 1);
	ck_assert_uint_eq(f.o.n, 0);
	step(&f, 60000);
	ck_assert_ptr_null(find_act(&f, AL_FIRE, "node_suspect", "db3"));
	ck_assert_ptr_nonnull(find_act(&f, AL_FIRE, "node_suspect", "db1x"));

	/* nothing left of db1; unknown names and "" end nothing */
	alert_out_reset(&f.o);
	ck_assert_uint_eq(alerts_forget_node(f.a, f.now, f.wall, "db1", &f.o), 0);
	ck_assert_uint_eq(alerts_forget_node(f.a, f.now, f.wall, "nosuch", &f.o), 0);
	ck_assert_uint_eq(alerts_forget_node(f.a, f.now, f.wall, "", &f.o), 0);
	ck_assert_uint_eq(f.o.n, 0);
	/* the same name failing again later is a new alert */
	node(&f, "db1", "db", NODE_ALIVE, NODE_FAILED);
	ck_assert_int_eq(only(&f)->kind, AL_FIRE);
	ck_assert_uint_gt(only(&f)->alert.id, 104);
	fx_done(&f);
}
END_TEST

Suite *alerts_suite(void)
{
	Suite *s = suite_create("alerts");
	TCase *tc;

	tc = tcase_create("lifecycle");
	tcase_add_test(tc, test_fire_resolve_edges);
	tcase_add_test(tc, test_folding);
	tcase_add_test(tc, test_state_moves);
	tcase_add_test(tc, test_suspect_for_window);
	tcase_add_test(tc, test_repeat_interval);
	tcase_add_test(tc, test_ack);
	tcase_add_test(tc, test_forget_node);
	suite_add_tcase(s, tc);

	tc = tcase_create("silences");
	tcase_add_test(tc, test_silence_match_and_expiry);
	tcase_add_test(tc, test_silence_matchers);
	tcase_add_test(tc, test_silence_on_firing_and_remove);
	tcase_add_test(tc, test_silenced_resolve_is_quiet);
	tcase_add_test(tc, test_silence_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("inhibition");
	tcase_add_test(tc, test_inhibit_quorum);
	tcase_add_test(tc, test_inhibit_tilt);
	suite_add_tcase(s, tc);

	tc = tcase_create("thresholds");
	tcase_add_test(tc, test_threshold_for_window);
	tcase_add_test(tc, test_threshold_gap_and_stale);
	tcase_add_test(tc, test_threshold_app_rate_and_scope);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_add_test(tc, test_failover_events);
	tcase_add_test(tc, test_recording_and_leader);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_test(tc, test_rule_off_and_reload);
	tcase_add_test(tc, test_rules_check);
	tcase_add_test(tc, test_bounded_and_views);
	suite_add_tcase(s, tc);
	return s;
}
