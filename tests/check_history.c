/* check_history.c — unit tests for store/history.h: the report maths on
 * hand-computed histories, percentiles, and every query against generated
 * histories whose answers are known (written through the real queue with
 * store_add_event() + store_flush()).
 *
 * Every test opens a fresh ":memory:" store (ids then start at 1 in queue
 * order), except where a file matters.  No sleeps: store_flush() is the
 * synchronisation point. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "store/history.h"
#include "store/store.h"

Suite *history_suite(void);

#define SLOW_FLUSH_MS 60000     /* the writer only commits when pushed */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Fixture state for the file-backed test cases (per forked test). */
static char tmp_dir[64];
static char db_path[128];

static void file_setup(void)
{
	strcpy(tmp_dir, "/tmp/vigil_history_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
	snprintf(db_path, sizeof(db_path), "%s/test.db", tmp_dir);
}

static void file_teardown(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char path[160];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
		unlink(path);
	}
	rmdir(tmp_dir);
}

static struct store *open_ok(const char *path)
{
	char err[256] = "";
	struct store *s = store_open(path, SLOW_FLUSH_MS, err, sizeof(err));

	ck_assert_msg(s != NULL, "store_open(%s): %s", path, err);
	return s;
}

/* NAN matches NAN only; anything else within 1e-9. */
static void ck_num(double got, double want, const char *what)
{
	if (isnan(want))
		ck_assert_msg(isnan(got), "%s: %g, want NAN", what, got);
	else
		ck_assert_msg(fabs(got - want) < 1e-9, "%s: %.12g, want %.12g",
			      what, got, want);
}

/* --- report maths (pure) ----------------------------------------------- */

struct maths_case {
	const char *name;
	int64_t since_ms, until_ms;
	int n;
	struct history_transition t[8];
	int64_t up_ms, down_ms, observed_ms;
	double availability_pct;
	int failures;
	double mttr_ms, mtbf_ms, ttd_ms;
};

#define NA (-1)

static const struct maths_case maths_cases[] = {
	{ "one outage (the issue's example)", 0, 1000, 3,
	  { { 0, "alive", NA }, { 100, "failed", 40 }, { 300, "alive", NA } },
	  800, 200, 1000, 80.0, 1, 200, 800, 40 },
	{ "suspect blip: down time, not a failure", 0, 1000, 3,
	  { { 0, "alive", NA }, { 100, "suspect", 30 }, { 150, "alive", NA } },
	  950, 50, 1000, 95.0, 0, NAN, NAN, NAN },
	{ "suspect then failed: one outage from the suspect", 0, 1000, 4,
	  { { 0, "alive", NA }, { 100, "suspect", 25 }, { 160, "failed", 85 },
	    { 400, "alive", NA } },
	  700, 300, 1000, 70.0, 1, 300, 700, 25 },
	{ "left is neither up nor down", 0, 1000, 3,
	  { { 0, "alive", NA }, { 200, "left", NA }, { 500, "alive", NA } },
	  700, 0, 1000, 100.0, 0, NAN, NAN, NAN },
	{ "maintenance, then failed without evidence", 0, 1000, 4,
	  { { 0, "alive", NA }, { 100, "maintenance", NA }, { 300, "failed", NA },
	    { 400, "alive", NA } },
	  700, 100, 1000, 87.5, 1, 100, 700, NAN },
	{ "window starts inside an outage", 200, 1000, 3,
	  { { 0, "alive", NA }, { 100, "failed", 40 }, { 300, "alive", NA } },
	  700, 100, 800, 87.5, 0, 200, NAN, NAN },
	{ "window ends inside an outage", 0, 200, 3,
	  { { 0, "alive", NA }, { 100, "failed", 40 }, { 300, "alive", NA } },
	  100, 100, 200, 50.0, 1, NAN, 100, 40 },
	{ "no events", 0, 1000, 0, { { 0 } },
	  0, 0, 0, NAN, 0, NAN, NAN, NAN },
	{ "time before the first event is not observed", 0, 1000, 3,
	  { { 400, "alive", NA }, { 600, "failed", 50 }, { 700, "alive", NA } },
	  500, 100, 600, 500.0 / 6.0, 1, 100, 500, 50 },
	{ "events after until are ignored", 0, 1000, 3,
	  { { 0, "alive", NA }, { 900, "failed", 20 }, { 1200, "alive", NA } },
	  900, 100, 1000, 90.0, 1, NAN, 900, 20 },
	{ "two outages", 0, 1000, 6,
	  { { 0, "alive", NA }, { 100, "failed", 10 }, { 200, "alive", NA },
	    { 500, "suspect", 30 }, { 550, "failed", 80 }, { 800, "alive", NA } },
	  600, 400, 1000, 60.0, 2, 200, 300, 20 },
	{ "outage begun long before since: full length", 0, 1000, 4,
	  { { -1000, "alive", NA }, { -500, "suspect", 5 }, { -400, "failed", 9 },
	    { 100, "alive", NA } },
	  900, 100, 1000, 90.0, 0, 600, NAN, NAN },
	{ "maintenance splits a down run", 0, 1000, 5,
	  { { 0, "alive", NA }, { 100, "suspect", 10 }, { 200, "maintenance", NA },
	    { 300, "failed", 20 }, { 500, "alive", NA } },
	  600, 300, 1000, 200.0 / 3.0, 1, 200, 600, 20 },
	{ "empty window (until < since)", 500, 100, 3,
	  { { 0, "alive", NA }, { 100, "failed", 40 }, { 300, "alive", NA } },
	  0, 0, 0, NAN, 0, NAN, NAN, NAN },
	{ "degraded counts as up", 0, 1000, 4,
	  { { 0, "alive", NA }, { 200, "degraded", NA }, { 600, "failed", 33 },
	    { 800, "degraded", NA } },
	  800, 200, 1000, 80.0, 1, 200, 800, 33 },
	{ "outage ending exactly at until", 0, 300, 3,
	  { { 0, "alive", NA }, { 100, "failed", 40 }, { 300, "alive", NA } },
	  100, 200, 300, 100.0 / 3.0, 1, 200, 100, 40 },
	{ "still failed at until, several states in it", 0, 1000, 4,
	  { { 0, "alive", NA }, { 600, "suspect", 70 }, { 650, "failed", 90 },
	    { 700, "suspect", NA } },
	  600, 400, 1000, 60.0, 1, NAN, 600, 70 },
};

START_TEST(test_report_maths)
{
	const struct maths_case *c = &maths_cases[_i];
	struct node_report r;
	char what[160];

	memset(&r, 0x5a, sizeof(r));
	history_node_report(c->t, c->n, c->since_ms, c->until_ms, &r);
	ck_assert_msg(r.up_ms == c->up_ms, "%s: up_ms %lld, want %lld", c->name,
		      (long long)r.up_ms, (long long)c->up_ms);
	ck_assert_msg(r.down_ms == c->down_ms, "%s: down_ms %lld, want %lld", c->name,
		      (long long)r.down_ms, (long long)c->down_ms);
	ck_assert_msg(r.observed_ms == c->observed_ms, "%s: observed_ms %lld, want %lld",
		      c->name, (long long)r.observed_ms, (long long)c->observed_ms);
	ck_assert_msg(r.failures == c->failures, "%s: failures %d, want %d", c->name,
		      r.failures, c->failures);
	snprintf(what, sizeof(what), "%s: availability", c->name);
	ck_num(r.availability_pct, c->availability_pct, what);
	snprintf(what, sizeof(what), "%s: mttr", c->name);
	ck_num(r.mttr_ms, c->mttr_ms, what);
	snprintf(what, sizeof(what), "%s: mtbf", c->name);
	ck_num(r.mtbf_ms, c->mtbf_ms, what);
	snprintf(what, sizeof(what), "%s: ttd", c->name);
	ck_num(r.ttd_ms, c->ttd_ms, what);
}
END_TEST

struct pct_case {
	int n;
	double v[5];
	int p;
	double want;
};

static const struct pct_case pct_cases[] = {
	{ 5, { 5, 1, 4, 2, 3 }, 50, 3 },      /* rank ceil(2.5) = 3 */
	{ 5, { 5, 1, 4, 2, 3 }, 99, 5 },
	{ 5, { 5, 1, 4, 2, 3 }, 1, 1 },
	{ 5, { 5, 1, 4, 2, 3 }, 100, 5 },
	{ 4, { 40, 10, 30, 20 }, 50, 20 },    /* rank 2 */
	{ 4, { 40, 10, 30, 20 }, 75, 30 },    /* rank 3 */
	{ 1, { 7 }, 50, 7 },
	{ 1, { 7 }, 99, 7 },
	{ 0, { 0 }, 50, NAN },
};

START_TEST(test_percentile)
{
	const struct pct_case *c = &pct_cases[_i];
	double v[5];

	memcpy(v, c->v, sizeof(v));
	ck_num(history_percentile(v, c->n, c->p), c->want, "percentile");
}
END_TEST

START_TEST(test_percentile_hundred)
{
	double v[100];
	int i;

	for (i = 0; i < 100; i++)
		v[i] = 100 - i;
	ck_num(history_percentile(v, 100, 50), 50, "p50");
	ck_num(history_percentile(v, 100, 99), 99, "p99");
	ck_num(history_percentile(v, 100, 100), 100, "p100");
	ck_num(history_percentile(NULL, 3, 50), NAN, "NULL");
}
END_TEST

/* --- generated histories ----------------------------------------------- */

/* One event to generate: state events carry to_state and hb_age_ms. */
struct gen {
	int64_t ts_ms;
	const char *node;
	const char *group;
	const char *kind;
	const char *to_state;   /* NULL: not a state event */
	int64_t hb_age_ms;
	const char *rule;
};

static void add_gen(struct store *s, const struct gen *g)
{
	struct store_event e;

	store_event_init(&e);
	e.ts_ms = g->ts_ms;
	snprintf(e.node, sizeof(e.node), "%s", g->node);
	snprintf(e.group, sizeof(e.group), "%s", g->group);
	snprintf(e.kind, sizeof(e.kind), "%s", g->kind);
	if (g->to_state)
		snprintf(e.to_state, sizeof(e.to_state), "%s", g->to_state);
	if (g->rule)
		snprintf(e.rule, sizeof(e.rule), "%s", g->rule);
	e.hb_age_ms = g->hb_age_ms;
	ck_assert_int_eq(store_add_event(s, &e), 0);
}

/* A fresh store holding gens[0..n), committed; ids are 1..n. */
static struct store *open_with(const struct gen *gens, size_t n)
{
	struct store *s = open_ok(":memory:");
	size_t i;

	for (i = 0; i < n; i++)
		add_gen(s, &gens[i]);
	ck_assert_int_eq(store_flush(s), 0);
	return s;
}

/* The history for paging and filters: 240 events over three nodes (n0, n1
 * in gA; n2 in gB), kinds in turn state / conn / flap / agent, two events per
 * timestamp (ties). */
#define MANY 240
static const char *const many_nodes[] = { "n0", "n1", "n2" };
static const char *const many_kinds[] = { "state", "conn", "flap", "agent" };

static void many_gen(int i, struct gen *g)
{
	memset(g, 0, sizeof(*g));
	g->ts_ms = 1000 + (i / 2) * 10;
	g->node = many_nodes[i % 3];
	g->group = i % 3 == 2 ? "gB" : "gA";
	g->kind = many_kinds[(i / 3) % 4];
	g->to_state = strcmp(g->kind, "state") ? NULL : "alive";
	g->hb_age_ms = -1;
}

static struct store *open_many(void)
{
	struct store *s = open_ok(":memory:");
	struct gen g;
	int i;

	for (i = 0; i < MANY; i++) {
		many_gen(i, &g);
		add_gen(s, &g);
	}
	ck_assert_int_eq(store_flush(s), 0);
	return s;
}

/* Whether kind is in the comma-separated list (spaces trimmed, empty
 * entries ignored; a list of nothing matches everything). */
static bool kind_matches(const char *list, const char *kind)
{
	char buf[256];
	char *tok;
	char *p;
	bool any = false;
	bool hit = false;

	snprintf(buf, sizeof(buf), "%s", list ? list : "");
	for (p = buf; (tok = strsep(&p, ","));) {
		while (*tok == ' ')
			tok++;
		while (tok[0] && tok[strlen(tok) - 1] == ' ')
			tok[strlen(tok) - 1] = '\0';
		if (!tok[0])
			continue;
		any = true;
		hit = hit || !strcmp(tok, kind);
	}
	return !any || hit;
}

static bool is_set(const char *v)
{
	return v && v[0];
}

/* The ids store_history() must give for f over the MANY history, by brute
 * force: ids are queue order and timestamps never go down, so newest first
 * is highest id first. */
static int many_expect(const struct history_filter *f, int64_t *ids)
{
	int limit = f->limit <= 0 ? 100 : f->limit > 10000 ? 10000 : f->limit;
	struct gen g;
	int n = 0;
	int i;

	for (i = MANY - 1; i >= 0 && n < limit; i--) {
		many_gen(i, &g);
		if ((is_set(f->node) && strcmp(f->node, g.node)) ||
		    (is_set(f->group) && strcmp(f->group, g.group)) ||
		    !kind_matches(f->kind, g.kind) ||
		    (f->since_ms > 0 && g.ts_ms < f->since_ms) ||
		    (f->until_ms > 0 && g.ts_ms > f->until_ms) ||
		    (f->before_id > 0 && i + 1 >= f->before_id))
			continue;
		ids[n++] = i + 1;
	}
	return n;
}

struct got {
	struct store_event ev[MANY + 1];
	int n;
	int stop_after;
};

static int collect(const struct store_event *e, void *arg)
{
	struct got *g = arg;

	if (g->n < (int)ARRAY_SIZE(g->ev))
		g->ev[g->n] = *e;
	g->n++;
	return g->stop_after && g->n >= g->stop_after;
}

static int history(struct store *s, const struct history_filter *f, struct got *g)
{
	g->n = 0;
	ck_assert_int_eq(store_history(s, f, collect, g), 0);
	return g->n;
}

static const struct history_filter filter_cases[] = {
	{ .limit = 10000 },
	{ .node = "n1", .limit = 10000 },
	{ .group = "gB", .limit = 10000 },
	{ .node = "n2", .group = "gA", .limit = 10000 },
	{ .kind = "state", .limit = 10000 },
	{ .kind = "state,flap", .limit = 10000 },
	{ .kind = " conn , agent ,", .limit = 10000 },
	{ .kind = ",", .limit = 10000 },
	{ .kind = "nothing,state", .node = "n0", .limit = 10000 },
	{ .since_ms = 1500, .limit = 10000 },
	{ .until_ms = 1500, .limit = 10000 },
	{ .node = "n0", .since_ms = 1200, .until_ms = 1300, .limit = 10000 },
	{ .before_id = 100, .limit = 10000 },
	{ .node = "n1", .kind = "state", .before_id = 100, .limit = 5 },
	{ .group = "gA", .kind = "flap,agent", .since_ms = 1100, .limit = 12 },
	{ .limit = 7 },
	{ .limit = 0 },                 /* the default, 100 */
	{ .limit = -3 },
	{ .limit = 20000 },             /* cut to 10000 */
	{ .node = "nobody", .limit = 10000 },
	{ .node = "", .group = "", .kind = "", .limit = 50 },
};

START_TEST(test_history_filters)
{
	const struct history_filter *f = &filter_cases[_i];
	struct store *s = open_many();
	struct got *g = calloc(1, sizeof(*g));
	int64_t want[MANY];
	int n;
	int i;

	ck_assert_ptr_nonnull(g);
	n = many_expect(f, want);
	ck_assert_int_eq(history(s, f, g), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(g->ev[i].id, want[i]);
	free(g);
	store_close(s);
}
END_TEST

/* Groups' pages are merged from their nodes' pages (node_groups), or for a
 * group of more than 64 nodes scanned by time: 90 nodes, x00..x69 in "big"
 * (the scan), x70..x89 in "small" (the merge); x05 and x75 send every third
 * event in the other group; ties of two events per timestamp; timestamps
 * that do not follow the ids for some (x80..x89 stamp 500 ms late). */
#define GRP_EVENTS 1800
static const char *const grp_kinds[] = { "state", "conn", "agent" };

static void grp_gen(int i, struct gen *g, char *node, size_t size)
{
	int x = (i * 7) % 90;
	bool big = x < 70;

	memset(g, 0, sizeof(*g));
	snprintf(node, size, "x%02d", x);
	g->node = node;
	if ((x == 5 || x == 75) && i % 3 == 0)
		big = !big;
	g->group = big ? "big" : "small";
	g->ts_ms = 10000 + (i / 2) * 10 + (x >= 80 ? 500 : 0);
	g->kind = grp_kinds[i % 3];
	g->to_state = strcmp(g->kind, "state") ? NULL : "alive";
	g->hb_age_ms = -1;
}

/* The expected ids: events of f's group (and kind, before_id) by ts_ms
 * then id, newest first, at most limit. */
static int grp_expect(const struct history_filter *f, int64_t *ids)
{
	int64_t ts[GRP_EVENTS];
	char node[8];
	struct gen g;
	int n = 0;
	int i;
	int j;
	int64_t t;
	int64_t id;

	for (i = 0; i < GRP_EVENTS; i++) {
		grp_gen(i, &g, node, sizeof(node));
		if (strcmp(g.group, f->group) || !kind_matches(f->kind, g.kind) ||
		    (f->before_id > 0 && i + 1 >= f->before_id))
			continue;
		/* insert (g.ts_ms, i + 1) keeping newest first */
		for (j = n; j > 0 && (ts[j - 1] < g.ts_ms ||
				      (ts[j - 1] == g.ts_ms && ids[j - 1] < i + 1)); j--) {
			ts[j] = ts[j - 1];
			ids[j] = ids[j - 1];
		}
		t = g.ts_ms;
		id = i + 1;
		ts[j] = t;
		ids[j] = id;
		n++;
	}
	return n < f->limit ? n : f->limit;
}

static const struct history_filter grp_cases[] = {
	{ .group = "small", .limit = 10000 },
	{ .group = "big", .limit = 10000 },
	{ .group = "small", .limit = 37 },
	{ .group = "big", .limit = 37 },
	{ .group = "small", .kind = "state,agent", .limit = 50 },
	{ .group = "small", .before_id = 900, .limit = 20 },
	{ .group = "big", .kind = "conn", .before_id = 1000, .limit = 20 },
	{ .group = "nobody", .limit = 10 },
};

START_TEST(test_history_group_pages)
{
	const struct history_filter *f = &grp_cases[_i];
	struct got *g = calloc(1, sizeof(*g));
	int64_t *want = calloc(GRP_EVENTS, sizeof(*want));
	struct store *s = open_ok(":memory:");
	struct gen gen;
	char node[8];
	int n;
	int i;

	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_nonnull(want);
	for (i = 0; i < GRP_EVENTS; i++) {
		grp_gen(i, &gen, node, sizeof(node));
		add_gen(s, &gen);
	}
	ck_assert_int_eq(store_flush(s), 0);
	n = grp_expect(f, want);
	ck_assert_int_eq(history(s, f, g), n);
	for (i = 0; i < n && i < (int)ARRAY_SIZE(g->ev); i++)
		ck_assert_int_eq(g->ev[i].id, want[i]);
	if (n)
		ck_assert_str_eq(g->ev[0].group, f->group);
	free(want);
	free(g);
	store_close(s);
}
END_TEST

/* Spot checks of the filter answers above, so that the brute force is not
 * checking itself. */
START_TEST(test_history_known_counts)
{
	struct store *s = open_many();
	struct got *g = calloc(1, sizeof(*g));
	struct history_filter f = { .limit = 10000 };

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(history(s, &f, g), 240);
	ck_assert_int_eq(g->ev[0].ts_ms, 1000 + 119 * 10);
	ck_assert_int_eq(g->ev[0].id, 240);
	ck_assert_int_eq(g->ev[1].ts_ms, g->ev[0].ts_ms);       /* a tie: id 239 */
	ck_assert_int_eq(g->ev[1].id, 239);
	f.node = "n1";
	ck_assert_int_eq(history(s, &f, g), 80);
	f.node = NULL;
	f.kind = "state,flap";
	ck_assert_int_eq(history(s, &f, g), 120);
	f.kind = "state";
	f.group = "gB";
	ck_assert_int_eq(history(s, &f, g), 20);
	ck_assert_str_eq(g->ev[0].to_state, "alive");
	f.group = NULL;
	f.kind = NULL;
	f.since_ms = 1500;
	f.until_ms = 1509;              /* inclusive: 1500 twice, nothing else */
	ck_assert_int_eq(history(s, &f, g), 2);
	free(g);
	store_close(s);
}
END_TEST

/* Pages with before_id put together are the whole list, in order. */
START_TEST(test_history_paging)
{
	static const struct history_filter walks[] = {
		{ .limit = 17 },
		{ .node = "n0", .limit = 9 },
		{ .kind = "state,conn", .limit = 25 },
		{ .group = "gA", .since_ms = 1300, .limit = 1 },
	};
	struct store *s = open_many();
	struct got *page = calloc(1, sizeof(*page));
	struct got *all = calloc(1, sizeof(*all));
	struct history_filter f;
	size_t w;
	int pages;
	int k;
	int i;

	ck_assert_ptr_nonnull(page);
	ck_assert_ptr_nonnull(all);
	for (w = 0; w < ARRAY_SIZE(walks); w++) {
		f = walks[w];
		f.limit = 10000;
		history(s, &f, all);
		ck_assert_int_gt(all->n, 0);

		f = walks[w];
		k = 0;
		for (pages = 0; pages < MANY + 2; pages++) {
			if (history(s, &f, page) == 0)
				break;
			ck_assert_int_le(page->n, f.limit);
			for (i = 0; i < page->n; i++, k++) {
				ck_assert_int_lt(k, all->n);
				ck_assert_int_eq(page->ev[i].id, all->ev[k].id);
			}
			f.before_id = page->ev[page->n - 1].id;
		}
		ck_assert_int_eq(k, all->n);
		ck_assert_int_eq(pages, (all->n + walks[w].limit - 1) / walks[w].limit);
	}
	free(page);
	free(all);
	store_close(s);
}
END_TEST

/* Newest first means by timestamp, whatever order the rows came in. */
START_TEST(test_history_time_order)
{
	static const struct gen gens[] = {
		{ 300, "a", "g", "agent", NULL, -1, NULL },
		{ 100, "a", "g", "agent", NULL, -1, NULL },
		{ 200, "a", "g", "agent", NULL, -1, NULL },
		{ 200, "a", "g", "agent", NULL, -1, NULL },
	};
	struct store *s = open_with(gens, ARRAY_SIZE(gens));
	struct got *g = calloc(1, sizeof(*g));
	struct history_filter f = { .node = "a" };

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(history(s, &f, g), 4);
	ck_assert_int_eq(g->ev[0].id, 1);
	ck_assert_int_eq(g->ev[1].id, 4);
	ck_assert_int_eq(g->ev[2].id, 3);
	ck_assert_int_eq(g->ev[3].id, 2);
	g->stop_after = 2;                              /* the callback stops */
	ck_assert_int_eq(history(s, &f, g), 2);
	free(g);
	store_close(s);
}
END_TEST

/* Rare kinds take another index (events_rare_ts): same answers. */
static const struct gen rare_gens[] = {
	{ 100, "a", "g1", "state", "alive", -1, NULL },
	{ 110, "a", "g1", "failover", NULL, -1, "promoted" },
	{ 120, "b", "g2", "hook", NULL, -1, "promote" },
	{ 130, "", "g1", "audit", NULL, -1, "maintenance" },
	{ 140, "b", "g2", "conn", NULL, -1, NULL },
	{ 150, "a", "g1", "alert", NULL, -1, "disk" },
	{ 160, "b", "g2", "failover", NULL, -1, "aborted" },
	{ 170, "a", "g1", "hook", NULL, -1, "demote" },
};

struct rare_case {
	struct history_filter f;
	int n;
	int64_t ids[8];
};

static const struct rare_case rare_cases[] = {
	{ { .kind = "failover" }, 2, { 7, 2 } },
	{ { .kind = "failover,hook" }, 4, { 8, 7, 3, 2 } },
	{ { .kind = "hook, state" }, 3, { 8, 3, 1 } },          /* not all rare */
	{ { .kind = "audit", .group = "g1" }, 1, { 4 } },
	{ { .kind = "alert,audit,hook,failover", .group = "g2" }, 2, { 7, 3 } },
	{ { .kind = "failover,hook", .node = "a", .group = "g1" }, 2, { 8, 2 } },
	{ { .kind = "hook", .since_ms = 125 }, 1, { 8 } },
	{ { .kind = "failover,hook", .before_id = 7, .limit = 1 }, 1, { 3 } },
	{ { .kind = "alert", .node = "b" }, 0, { 0 } },
};

START_TEST(test_history_rare_kinds)
{
	const struct rare_case *c = &rare_cases[_i];
	struct store *s = open_with(rare_gens, ARRAY_SIZE(rare_gens));
	struct got *g = calloc(1, sizeof(*g));
	int i;

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(history(s, &c->f, g), c->n);
	for (i = 0; i < c->n; i++)
		ck_assert_int_eq(g->ev[i].id, c->ids[i]);
	free(g);
	store_close(s);
}
END_TEST

START_TEST(test_history_bad_args)
{
	struct store *s = open_many();
	struct got *g = calloc(1, sizeof(*g));
	struct history_filter f = { .kind = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q" };

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(store_history(s, &f, collect, g), -EINVAL);    /* 17 kinds */
	f.kind = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p";                     /* 16: fine */
	ck_assert_int_eq(store_history(s, &f, collect, g), 0);
	ck_assert_int_eq(store_history(s, NULL, collect, g), -EINVAL);
	ck_assert_int_eq(store_history(s, &f, NULL, g), -EINVAL);
	ck_assert_int_eq(store_history(NULL, &f, collect, g), -EINVAL);
	free(g);
	store_close(s);
}
END_TEST

START_TEST(test_event_get)
{
	struct store *s = open_many();
	struct store_event e;
	struct gen g;

	ck_assert_int_eq(store_event_get(s, 5, &e), 0);
	many_gen(4, &g);
	ck_assert_int_eq(e.id, 5);
	ck_assert_int_eq(e.ts_ms, g.ts_ms);
	ck_assert_str_eq(e.node, g.node);
	ck_assert_str_eq(e.group, g.group);
	ck_assert_str_eq(e.kind, g.kind);
	ck_assert_int_eq(e.hb_age_ms, -1);
	ck_assert_int_eq(store_event_get(s, 241, &e), -ENOENT);
	ck_assert_int_eq(store_event_get(s, 0, &e), -ENOENT);
	ck_assert_int_eq(store_event_get(s, 1, NULL), -EINVAL);
	store_close(s);
}
END_TEST

START_TEST(test_known)
{
	struct store *s = open_many();
	struct store_node n;

	ck_assert_int_eq(store_node_known(s, "n0"), 1);
	ck_assert_int_eq(store_node_known(s, "n9"), 0);
	ck_assert_int_eq(store_group_known(s, "gA"), 1);
	ck_assert_int_eq(store_group_known(s, "gZ"), 0);
	ck_assert_int_eq(store_node_known(s, ""), -EINVAL);
	ck_assert_int_eq(store_group_known(s, NULL), -EINVAL);

	/* From the nodes and groups tables alone. */
	memset(&n, 0, sizeof(n));
	strcpy(n.name, "lonely");
	strcpy(n.group, "gL");
	strcpy(n.state, "alive");
	ck_assert_int_eq(store_put_node(s, &n), 0);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "gE", 1, NULL), 0);
	ck_assert_int_eq(store_node_known(s, "lonely"), 1);
	ck_assert_int_eq(store_group_known(s, "gL"), 1);
	ck_assert_int_eq(store_group_known(s, "gE"), 1);
	store_close(s);
}
END_TEST

/* --- reports over generated histories ------------------------------------ */

/* Window [1000, 2000]:
 *   a (g1): the example shifted by 1000, with a conn event inside;
 *   b (g2): a suspect blip;
 *   c (g1): only events after until: not in the report;
 *   d (g1): an outage that began (suspect 800, failed 900) before since and
 *           ends at 1200: no failure in the window, MTTR 400;
 *   e (g1): left before since: observed, neither up nor down. */
static const struct gen report_gens[] = {
	{ 100, "e", "g1", "state", "alive", -1, "hello" },
	{ 400, "e", "g1", "state", "left", -1, "bye" },
	{ 500, "d", "g1", "state", "alive", -1, "hello" },
	{ 800, "d", "g1", "state", "suspect", 15, "phi_suspect" },
	{ 900, "d", "g1", "state", "failed", 60, "phi_failed" },
	{ 1000, "a", "g1", "state", "alive", -1, "hello" },
	{ 1000, "b", "g2", "state", "alive", -1, "hello" },
	{ 1050, "a", "g1", "conn", NULL, -1, "conn_lost" },
	{ 1100, "a", "g1", "state", "failed", 40, "conn_lost" },
	{ 1200, "d", "g1", "state", "alive", -1, "hello" },
	{ 1300, "a", "g1", "state", "alive", -1, "hello" },
	{ 1500, "b", "g2", "state", "suspect", 30, "phi_suspect" },
	{ 1550, "b", "g2", "state", "alive", -1, "heartbeat" },
	{ 5000, "c", "g1", "state", "alive", -1, "hello" },
};

static void ck_report(const struct node_report *r, const char *node,
		      const char *group, int64_t up, int64_t down, int64_t observed,
		      double avail, int failures, double mttr, double mtbf, double ttd)
{
	ck_assert_str_eq(r->node, node);
	ck_assert_str_eq(r->group, group);
	ck_assert_int_eq(r->up_ms, up);
	ck_assert_int_eq(r->down_ms, down);
	ck_assert_int_eq(r->observed_ms, observed);
	ck_assert_int_eq(r->failures, failures);
	ck_num(r->availability_pct, avail, node);
	ck_num(r->mttr_ms, mttr, node);
	ck_num(r->mtbf_ms, mtbf, node);
	ck_num(r->ttd_ms, ttd, node);
}

START_TEST(test_report)
{
	struct store *s = open_with(report_gens, ARRAY_SIZE(report_gens));
	struct node_report *r = NULL;
	int n = -1;

	ck_assert_int_eq(store_report(s, 1000, 2000, NULL, &r, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_report(&r[0], "a", "g1", 800, 200, 1000, 80.0, 1, 200, 800, 40);
	ck_report(&r[1], "d", "g1", 800, 200, 1000, 80.0, 0, 400, NAN, NAN);
	ck_report(&r[2], "e", "g1", 0, 0, 1000, NAN, 0, NAN, NAN, NAN);
	ck_report(&r[3], "b", "g2", 950, 50, 1000, 95.0, 0, NAN, NAN, NAN);
	free(r);

	ck_assert_int_eq(store_report(s, 1000, 2000, "g2", &r, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_report(&r[0], "b", "g2", 950, 50, 1000, 95.0, 0, NAN, NAN, NAN);
	free(r);

	/* The window cuts a's outage: it started inside, ends after. */
	ck_assert_int_eq(store_report(s, 1000, 1200, "g1", &r, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_report(&r[0], "a", "g1", 100, 100, 200, 50.0, 1, NAN, 100, 40);
	free(r);

	/* Before anything happened: nobody. */
	r = (struct node_report *)&n;
	ck_assert_int_eq(store_report(s, 0, 50, NULL, &r, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_null(r);

	/* Until now: c is in, a is up ever since 1300. */
	ck_assert_int_eq(store_report(s, 1000, 0, "g1", &r, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(r[0].node, "a");
	ck_assert_int_eq(r[0].failures, 1);
	ck_assert_int_gt(r[0].up_ms, 1000000);
	ck_assert_str_eq(r[1].node, "c");
	free(r);

	ck_assert_int_eq(store_report(s, 1000, 2000, "nope", &r, &n), -ENOENT);
	ck_assert_int_eq(store_report(s, 1000, 2000, NULL, NULL, &n), -EINVAL);
	store_close(s);
}
END_TEST

/* The same on a file, where reads go through a second connection. */
START_TEST(test_report_file)
{
	char err[256] = "";
	struct store *s = store_open(db_path, SLOW_FLUSH_MS, err, sizeof(err));
	struct node_report *r = NULL;
	size_t i;
	int n = 0;

	ck_assert_msg(s != NULL, "%s", err);
	for (i = 0; i < ARRAY_SIZE(report_gens); i++)
		add_gen(s, &report_gens[i]);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_report(s, 1000, 2000, NULL, &r, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_report(&r[0], "a", "g1", 800, 200, 1000, 80.0, 1, 200, 800, 40);
	ck_report(&r[1], "d", "g1", 800, 200, 1000, 80.0, 0, 400, NAN, NAN);
	free(r);
	store_close(s);
}
END_TEST

START_TEST(test_at)
{
	struct store *s = open_with(report_gens, ARRAY_SIZE(report_gens));
	struct node_at *r = NULL;
	int n = -1;

	ck_assert_int_eq(store_at(s, 1050, &r, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(r[0].node, "a");
	ck_assert_str_eq(r[0].group, "g1");
	ck_assert_str_eq(r[0].state, "alive");
	ck_assert_str_eq(r[0].rule, "hello");
	ck_assert_int_eq(r[0].since_ms, 1000);
	ck_assert_str_eq(r[1].node, "d");
	ck_assert_str_eq(r[1].state, "failed");
	ck_assert_str_eq(r[1].rule, "phi_failed");
	ck_assert_int_eq(r[1].since_ms, 900);
	ck_assert_str_eq(r[2].node, "e");
	ck_assert_str_eq(r[2].state, "left");
	ck_assert_str_eq(r[3].node, "b");
	ck_assert_str_eq(r[3].group, "g2");
	ck_assert_str_eq(r[3].state, "alive");
	free(r);

	/* At exactly an event's time, that event counts. */
	ck_assert_int_eq(store_at(s, 1100, &r, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(r[0].state, "failed");
	ck_assert_int_eq(r[0].since_ms, 1100);
	free(r);

	ck_assert_int_eq(store_at(s, 99, &r, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_null(r);

	ck_assert_int_eq(store_at(s, 1000000, &r, &n), 0);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(r[0].node, "a");
	ck_assert_str_eq(r[1].node, "c");
	ck_assert_str_eq(r[1].state, "alive");
	ck_assert_str_eq(r[2].node, "d");
	ck_assert_str_eq(r[2].state, "alive");
	free(r);

	ck_assert_int_eq(store_at(s, 1, NULL, &n), -EINVAL);
	store_close(s);
}
END_TEST

static void add_failover_ok(struct store *s, const char *group, int64_t started,
			    int64_t decide_ms, int64_t promote_ms, int64_t total_ms)
{
	struct store_failover f;

	store_failover_init(&f);
	snprintf(f.group, sizeof(f.group), "%s", group);
	f.started_ms = started;
	f.detected_ms = started;
	f.decided_ms = started + decide_ms;
	f.promoted_ms = promote_ms < 0 ? -1 : f.decided_ms + promote_ms;
	f.finished_ms = started + total_ms;
	strcpy(f.old_leader, "db-1");
	strcpy(f.new_leader, promote_ms < 0 ? "" : "db-2");
	strcpy(f.outcome, promote_ms < 0 ? "aborted" : "promoted");
	ck_assert_int_eq(store_add_failover(s, &f, NULL), 0);
}

START_TEST(test_group_report)
{
	struct store *s = open_ok(":memory:");
	struct group_report *r = NULL;
	int n = -1;

	add_failover_ok(s, "g1", 1000, 10, 100, 1000);
	add_failover_ok(s, "g1", 3000, 20, 200, 2000);
	add_failover_ok(s, "g1", 6000, 30, -1, 3000);   /* aborted: never promoted */
	add_failover_ok(s, "g1", 50000, 999, 999, 9999);        /* outside */
	add_failover_ok(s, "g3", 60000, 1, 1, 1);                /* outside */
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "g2", 1, "x"), 0);

	ck_assert_int_eq(store_group_report(s, 0, 10000, "g1", &r, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(r[0].group, "g1");
	ck_assert_int_eq(r[0].failovers, 3);
	ck_num(r[0].detect_to_decide_p50_ms, 20, "d2d p50");
	ck_num(r[0].detect_to_decide_p99_ms, 30, "d2d p99");
	ck_num(r[0].decide_to_promoted_p50_ms, 100, "d2p p50");
	ck_num(r[0].decide_to_promoted_p99_ms, 200, "d2p p99");
	ck_num(r[0].total_p50_ms, 2000, "total p50");
	ck_num(r[0].total_p99_ms, 3000, "total p99");
	free(r);

	ck_assert_int_eq(store_group_report(s, 0, 10000, NULL, &r, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(r[0].group, "g1");
	ck_assert_str_eq(r[1].group, "g2");
	ck_assert_int_eq(r[1].failovers, 0);
	ck_num(r[1].detect_to_decide_p50_ms, NAN, "none p50");
	ck_num(r[1].total_p99_ms, NAN, "none p99");
	free(r);

	ck_assert_int_eq(store_group_report(s, 0, 0, NULL, &r, &n), 0);   /* unbounded */
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(r[0].failovers, 4);
	ck_assert_str_eq(r[2].group, "g3");
	free(r);

	ck_assert_int_eq(store_group_report(s, 0, 0, "nope", &r, &n), -ENOENT);
	store_close(s);
}
END_TEST

START_TEST(test_group_get)
{
	struct store *s = open_ok(":memory:");
	char leader[STORE_NAME_MAX + 1] = "junk";
	int64_t epoch = -1;

	ck_assert_int_eq(store_group_get(s, "pg", &epoch, leader, sizeof(leader)), -ENOENT);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 7, "db-2"), 0);
	ck_assert_int_eq(store_group_get(s, "pg", &epoch, leader, sizeof(leader)), 0);
	ck_assert_int_eq(epoch, 7);
	ck_assert_str_eq(leader, "db-2");
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 6, "db-1"), -ESTALE);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 8, NULL), 0);
	ck_assert_int_eq(store_group_get(s, "pg", &epoch, leader, sizeof(leader)), 0);
	ck_assert_int_eq(epoch, 8);
	ck_assert_str_eq(leader, "");
	ck_assert_int_eq(store_group_get(s, "pg", NULL, NULL, 0), 0);
	ck_assert_int_eq(store_group_get(s, "", &epoch, NULL, 0), -EINVAL);
	store_close(s);
}
END_TEST

Suite *history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc;

	tc = tcase_create("maths");
	tcase_add_loop_test(tc, test_report_maths, 0, (int)ARRAY_SIZE(maths_cases));
	tcase_add_loop_test(tc, test_percentile, 0, (int)ARRAY_SIZE(pct_cases));
	tcase_add_test(tc, test_percentile_hundred);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_history_filters, 0, (int)ARRAY_SIZE(filter_cases));
	tcase_add_test(tc, test_history_known_counts);
	tcase_add_loop_test(tc, test_history_group_pages, 0, (int)ARRAY_SIZE(grp_cases));
	tcase_add_test(tc, test_history_paging);
	tcase_add_test(tc, test_history_time_order);
	tcase_add_loop_test(tc, test_history_rare_kinds, 0, (int)ARRAY_SIZE(rare_cases));
	tcase_add_test(tc, test_history_bad_args);
	tcase_add_test(tc, test_event_get);
	tcase_add_test(tc, test_known);
	suite_add_tcase(s, tc);

	tc = tcase_create("reports");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_report_file);
	tcase_add_test(tc, test_at);
	tcase_add_test(tc, test_group_report);
	tcase_add_test(tc, test_group_get);
	suite_add_tcase(s, tc);

	return s;
}
