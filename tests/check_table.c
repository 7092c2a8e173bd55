/* check_table.c — unit tests for tui/table (aligned text tables and the
 * status, groups and nodes views) and tui/model (folding the collector's
 * status snapshot and deltas into a sorted node table).
 *
 * The status texts are written by hand with the field names of
 * collector/views.c (view_status, view_node).  Times are parameters: the
 * caller's now_ms is stepped, never slept. */
#include "tui/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/model.h"
#include "suites.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Render into a growing buffer and compare the whole text, including its
 * length (a NUL written into the output would show as a length mismatch). */
static void assert_text(struct jw *w, const char *want)
{
	int n = jw_finish(w);

	ck_assert_int_ge(n, 0);
	ck_assert_msg((size_t)n == strlen(w->buf), "output holds a NUL at byte %zu of %d",
		      strlen(w->buf), n);
	ck_assert_str_eq(w->buf, want);
	ck_assert_int_eq(n, (int)strlen(want));
	free(w->buf);
	w->buf = NULL;
}

static void assert_table(const struct table *t, const char *want)
{
	struct jw w;

	jw_init_dynamic(&w, 0);
	table_render(t, &w);
	assert_text(&w, want);
}

static struct table *table_fresh(int ncols, const char *const *hdr)
{
	struct table *t = table_new(ncols, hdr);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* ---------------------------------------------------------------------------
 * table
 * ------------------------------------------------------------------------ */

START_TEST(test_table_align)
{
	static const char *const hdr[] = { "NAME", "STATE", "X" };
	static const char *const r1[] = { "n1", "alive", "1" };
	static const char *const r2[] = { "node-long", "failed", "" };
	static const char *const r3[] = { "n", "s", "a wide last column" };
	struct table *t = table_fresh(3, hdr);

	ck_assert_int_eq(table_add(t, r1), 0);
	ck_assert_int_eq(table_add(t, r2), 0);
	ck_assert_int_eq(table_add(t, r3), 0);
	assert_table(t,
		     "NAME       STATE   X\n"
		     "n1         alive   1\n"
		     "node-long  failed\n"
		     "n          s       a wide last column\n");
	table_free(t);
}
END_TEST

START_TEST(test_table_header_only)
{
	static const char *const hdr[] = { "A", "BB", "CCC" };
	struct table *t = table_fresh(3, hdr);

	assert_table(t, "A  BB  CCC\n");
	table_free(t);
}
END_TEST

/* The widest cell may be in the header or a row; empty and NULL cells pad. */
START_TEST(test_table_empty_cells)
{
	static const char *const hdr[] = { "K", "VALUE", "" };
	static const char *const r1[] = { "", "v", "z" };
	static const char *const r2[] = { "key", NULL, NULL };
	static const char *const r3[] = { NULL, "", "" };
	struct table *t = table_fresh(3, hdr);

	table_add(t, r1);
	table_add(t, r2);
	table_add(t, r3);
	assert_table(t,
		     "K    VALUE\n"
		     "     v      z\n"
		     "key\n"
		     "\n");
	table_free(t);
}
END_TEST

START_TEST(test_table_one_column)
{
	static const char *const hdr[] = { "ONLY" };
	static const char *const r1[] = { "a" };
	static const char *const r2[] = { "trailing  " };
	struct table *t = table_fresh(1, hdr);

	table_add(t, r1);
	table_add(t, r2);
	assert_table(t, "ONLY\na\ntrailing\n");
	table_free(t);
}
END_TEST

/* Cells are cut at TABLE_CELL_MAX-1 bytes, and the column is padded to the
 * cut width. */
START_TEST(test_table_cut)
{
	static const char *const hdr[] = { "C", "D" };
	char big[300], want[1024], cut[TABLE_CELL_MAX];
	const char *r1[] = { big, "x" };
	const char *r2[] = { "", "y" };
	const char *r3[] = { "ab", big };
	struct table *t = table_fresh(2, hdr);
	size_t len = 0;

	memset(big, 'b', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memset(cut, 'b', TABLE_CELL_MAX - 1);
	cut[TABLE_CELL_MAX - 1] = '\0';
	ck_assert_int_eq(table_add(t, r1), 0);
	ck_assert_int_eq(table_add(t, r2), 0);
	ck_assert_int_eq(table_add(t, r3), 0);
	big[0] = 'X';                   /* the table holds its own copy */

	/* C is 95 wide: "C" + 96 spaces, "" + 97 spaces, "ab" + 95 spaces */
	len += (size_t)snprintf(want + len, sizeof want - len, "C%*sD\n", TABLE_CELL_MAX, "");
	len += (size_t)snprintf(want + len, sizeof want - len, "%s  x\n", cut);
	len += (size_t)snprintf(want + len, sizeof want - len, "%*sy\n", TABLE_CELL_MAX + 1, "");
	snprintf(want + len, sizeof want - len, "ab%*s%s\n", TABLE_CELL_MAX - 1, "", cut);
	assert_table(t, want);
	table_free(t);
}
END_TEST

START_TEST(test_table_many_rows)
{
	static const char *const hdr[] = { "I", "SQUARE" };
	struct table *t = table_fresh(2, hdr);
	struct jw w;
	char a[16], b[16];
	const char *row[] = { a, b };
	int lines = 0;

	for (int i = 0; i < 1000; i++) {
		snprintf(a, sizeof a, "%d", i);
		snprintf(b, sizeof b, "%d", i * i);
		ck_assert_int_eq(table_add(t, row), 0);
	}
	jw_init_dynamic(&w, 0);
	table_render(t, &w);
	ck_assert_int_gt(jw_finish(&w), 0);
	for (char *p = w.buf; *p; p++)
		lines += *p == '\n';
	ck_assert_int_eq(lines, 1001);
	ck_assert_int_eq(strncmp(w.buf, "I    SQUARE\n0    0\n1    1\n", 26), 0);
	ck_assert_ptr_nonnull(strstr(w.buf, "\n999  998001\n"));
	ck_assert_ptr_null(strstr(w.buf, " \n"));
	free(w.buf);
	table_free(t);
}
END_TEST

START_TEST(test_table_bounds)
{
	static const char *const hdr[TABLE_MAX_COLS + 1] = { "a", "b", "c", "d", "e", "f", "g",
							     "h", "i", "j", "k", "l", "m", "n",
							     "o", "p", "q" };
	struct table *t;

	ck_assert_ptr_null(table_new(0, hdr));
	ck_assert_ptr_null(table_new(-1, hdr));
	ck_assert_ptr_null(table_new(TABLE_MAX_COLS + 1, hdr));
	t = table_fresh(TABLE_MAX_COLS, hdr);
	assert_table(t, "a  b  c  d  e  f  g  h  i  j  k  l  m  n  o  p\n");
	table_free(t);
	table_free(NULL);
}
END_TEST

/* The table appends to what is already in the buffer. */
START_TEST(test_table_appends)
{
	static const char *const hdr[] = { "A", "B" };
	struct table *t = table_fresh(2, hdr);
	struct jw w;

	jw_init_dynamic(&w, 0);
	jw_raw(&w, "title\n", 6);
	table_render(t, &w);
	jw_raw(&w, "end\n", 4);
	assert_text(&w, "title\nA  B\nend\n");
	table_free(t);
}
END_TEST

/* ---------------------------------------------------------------------------
 * model: a snapshot as the collector writes it (view_status)
 * ------------------------------------------------------------------------ */

#define COLLECTOR_OBJ(now) \
	"\"collector\":{\"instance\":\"c-1a2b\",\"version\":\"0.1.0\"," \
	"\"listen\":\"127.0.0.1:7070\",\"auth\":\"tokens\",\"now_ms\":" now "," \
	"\"uptime_ms\":65000,\"serving\":true,\"recording\":true,\"store_error\":\"\"," \
	"\"tilt\":false,\"agents_connected\":3,\"operators_connected\":1}"

static const char snapshot[] =
	"{" COLLECTOR_OBJ("1700000000000") ","
	"\"summary\":{\"nodes\":3,\"alive\":2,\"suspect\":0,\"failed\":1,\"degraded\":0,"
	"\"left\":0,\"maintenance\":0},"
	"\"rev\":42,"
	"\"nodes\":["
	"{\"name\":\"web-2\",\"group\":\"web\",\"state\":\"alive\",\"rule\":\"\",\"role\":\"member\","
	"\"priority\":10,\"connected\":true,\"state_since_ms\":1699999990000,"
	"\"last_heartbeat_ms_ago\":120,\"last_heartbeat_ms\":1699999999880,\"interval_ms\":500,"
	"\"seq\":99,\"heartbeats\":100,\"phi\":0.42,\"interval_mean_ms\":500.5,"
	"\"interval_sd_ms\":12.25,\"samples\":100,\"version\":\"0.1.0\",\"boot_id\":\"b2\","
	"\"metrics\":{\"cpu\":12.5,\"mem\":40,\"load1\":0.75,\"disk\":55.5,\"app\":{\"q\":3}}},"
	"{\"name\":\"db-1\",\"group\":\"db\",\"state\":\"failed\",\"rule\":\"phi\",\"role\":\"member\","
	"\"priority\":0,\"connected\":false,\"state_since_ms\":1699999900000,"
	"\"last_heartbeat_ms_ago\":75000,\"last_heartbeat_ms\":1699999925000,\"interval_ms\":1000,"
	"\"seq\":7,\"heartbeats\":8,\"phi\":12.3456,\"interval_mean_ms\":1000,"
	"\"interval_sd_ms\":50,\"samples\":8,\"version\":\"0.1.0\",\"boot_id\":\"b1\","
	"\"metrics\":{\"cpu\":null,\"mem\":null,\"load1\":null,\"disk\":null,\"app\":{}}},"
	"{\"name\":\"web-1\",\"group\":\"web\",\"state\":\"alive\",\"rule\":\"\",\"role\":\"member\","
	"\"priority\":20,\"connected\":true,\"state_since_ms\":1699999990001,"
	"\"last_heartbeat_ms_ago\":null,\"last_heartbeat_ms\":0,\"interval_ms\":500,"
	"\"seq\":0,\"heartbeats\":0,\"phi\":null,\"interval_mean_ms\":null,"
	"\"interval_sd_ms\":null,\"samples\":0,\"version\":\"0.0.9\",\"boot_id\":\"b3\","
	"\"metrics\":{\"cpu\":5,\"mem\":33.333,\"load1\":0.5,\"disk\":70,\"app\":{}}}"
	"],"
	"\"groups\":[{\"name\":\"db\",\"members\":1,\"alive\":0},"
	"{\"name\":\"web\",\"members\":2,\"alive\":2}]}";

/* web-2 turns suspect, api-1 is new; the delta lists every group. */
static const char delta[] =
	"{" COLLECTOR_OBJ("1700000005000") ",\"rev\":43,"
	"\"nodes\":["
	"{\"name\":\"web-2\",\"group\":\"web\",\"state\":\"suspect\",\"rule\":\"phi\","
	"\"role\":\"member\",\"priority\":10,\"connected\":true,\"state_since_ms\":1700000004000,"
	"\"last_heartbeat_ms_ago\":2500,\"interval_ms\":500,\"phi\":3.5,"
	"\"interval_mean_ms\":501,\"interval_sd_ms\":12,\"version\":\"0.1.0\","
	"\"metrics\":{\"cpu\":99.5,\"mem\":41,\"load1\":3.25,\"disk\":55.5,\"app\":{}}},"
	"{\"name\":\"api-1\",\"group\":\"api\",\"state\":\"alive\",\"rule\":\"\",\"role\":\"member\","
	"\"priority\":5,\"connected\":true,\"state_since_ms\":1700000004500,"
	"\"last_heartbeat_ms_ago\":10,\"interval_ms\":250,\"phi\":0,\"version\":\"0.1.0\","
	"\"metrics\":{\"cpu\":1,\"mem\":2,\"load1\":0,\"disk\":3,\"app\":{}}}"
	"],"
	"\"groups\":[{\"name\":\"api\",\"members\":1,\"alive\":1},"
	"{\"name\":\"db\",\"members\":1,\"alive\":0},{\"name\":\"web\",\"members\":2,\"alive\":1}]}";

#define T0 1000      /* the client's monotonic clock when the snapshot arrived */

static struct model *model_fresh(void)
{
	static struct model m;

	memset(&m, 0x5a, sizeof m);
	model_init(&m);
	ck_assert_ptr_null(m.nodes);
	ck_assert_uint_eq(m.n, 0);
	ck_assert(!m.have_data);
	return &m;
}

static void apply_ok(struct model *m, const char *json, bool replace, int64_t now_ms)
{
	char err[256] = "";

	ck_assert_msg(model_apply(m, json, strlen(json), replace, now_ms, err, sizeof err) == 0,
		      "%s", err);
}

static struct model *model_loaded(void)
{
	struct model *m = model_fresh();

	apply_ok(m, snapshot, true, T0);
	return m;
}

static void assert_order(const struct model *m, const char *const *names, size_t n)
{
	ck_assert_uint_eq(m->n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strcmp(m->nodes[i].name, names[i]) == 0, "node %zu is %s, want %s", i,
			      m->nodes[i].name, names[i]);
}

START_TEST(test_model_snapshot)
{
	static const char *const order[] = { "db-1", "web-1", "web-2" };
	struct model *m = model_loaded();
	const struct mnode *db, *w1, *w2;

	ck_assert(m->have_data);
	assert_order(m, order, N(order));
	db = &m->nodes[0];
	w1 = &m->nodes[1];
	w2 = &m->nodes[2];

	ck_assert_str_eq(db->group, "db");
	ck_assert_str_eq(db->state, "failed");
	ck_assert_str_eq(db->rule, "phi");
	ck_assert_str_eq(db->role, "member");
	ck_assert_int_eq(db->priority, 0);
	ck_assert(!db->connected);
	ck_assert_int_eq(db->hb_age_ms, 75000);
	ck_assert_int_eq(db->rx_ms, T0);
	ck_assert_int_eq(db->state_since_ms, 1699999900000LL);
	ck_assert_int_eq(db->interval_ms, 1000);
	ck_assert_double_eq(db->phi, 12.3456);
	ck_assert_double_eq(db->mean_ms, 1000);
	ck_assert_double_eq(db->sd_ms, 50);
	ck_assert(isnan(db->cpu) && isnan(db->mem) && isnan(db->load1) && isnan(db->disk));
	ck_assert_str_eq(db->version, "0.1.0");

	ck_assert_str_eq(w1->group, "web");
	ck_assert_str_eq(w1->rule, "");
	ck_assert_int_eq(w1->priority, 20);
	ck_assert(w1->connected);
	ck_assert_int_eq(w1->hb_age_ms, -1);              /* never */
	ck_assert(isnan(w1->phi) && isnan(w1->mean_ms) && isnan(w1->sd_ms));
	ck_assert_double_eq(w1->cpu, 5);
	ck_assert_double_eq_tol(w1->mem, 33.333, 1e-9);
	ck_assert_double_eq(w1->load1, 0.5);
	ck_assert_double_eq(w1->disk, 70);
	ck_assert_str_eq(w1->version, "0.0.9");

	ck_assert_str_eq(w2->state, "alive");
	ck_assert_int_eq(w2->priority, 10);
	ck_assert_int_eq(w2->hb_age_ms, 120);
	ck_assert_int_eq(w2->interval_ms, 500);
	ck_assert_double_eq(w2->phi, 0.42);
	ck_assert_double_eq(w2->mean_ms, 500.5);
	ck_assert_double_eq(w2->sd_ms, 12.25);
	ck_assert_double_eq(w2->cpu, 12.5);

	ck_assert_uint_eq(m->ng, 2);
	ck_assert_str_eq(m->groups[0].name, "db");
	ck_assert_int_eq(m->groups[0].members, 1);
	ck_assert_int_eq(m->groups[0].alive, 0);
	ck_assert_str_eq(m->groups[1].name, "web");
	ck_assert_int_eq(m->groups[1].members, 2);
	ck_assert_int_eq(m->groups[1].alive, 2);

	ck_assert_str_eq(m->instance, "c-1a2b");
	ck_assert_str_eq(m->version, "0.1.0");
	ck_assert_str_eq(m->listen, "127.0.0.1:7070");
	ck_assert_str_eq(m->auth, "tokens");
	ck_assert_str_eq(m->store_error, "");
	ck_assert(m->serving && m->recording && !m->tilt);
	ck_assert_int_eq(m->agents_connected, 3);
	ck_assert_int_eq(m->operators_connected, 1);
	ck_assert_int_eq(m->collector_now_ms, 1700000000000LL);
	ck_assert_int_eq(m->uptime_ms, 65000);
	model_done(m);
	ck_assert_ptr_null(m->nodes);
	ck_assert_uint_eq(m->n, 0);
}
END_TEST

START_TEST(test_model_delta)
{
	static const char *const order[] = { "api-1", "db-1", "web-1", "web-2" };
	struct model *m = model_loaded();

	apply_ok(m, delta, false, T0 + 5000);
	assert_order(m, order, N(order));
	/* updated */
	ck_assert_str_eq(m->nodes[3].state, "suspect");
	ck_assert_str_eq(m->nodes[3].rule, "phi");
	ck_assert_int_eq(m->nodes[3].hb_age_ms, 2500);
	ck_assert_int_eq(m->nodes[3].rx_ms, T0 + 5000);
	ck_assert_double_eq(m->nodes[3].phi, 3.5);
	ck_assert_double_eq(m->nodes[3].cpu, 99.5);
	/* added */
	ck_assert_str_eq(m->nodes[0].group, "api");
	ck_assert_int_eq(m->nodes[0].interval_ms, 250);
	ck_assert_int_eq(m->nodes[0].rx_ms, T0 + 5000);
	/* untouched */
	ck_assert_str_eq(m->nodes[1].state, "failed");
	ck_assert_int_eq(m->nodes[1].rx_ms, T0);
	ck_assert_int_eq(m->nodes[2].rx_ms, T0);
	ck_assert_int_eq(m->nodes[2].hb_age_ms, -1);
	/* groups come whole */
	ck_assert_uint_eq(m->ng, 3);
	ck_assert_str_eq(m->groups[0].name, "api");
	ck_assert_int_eq(m->groups[2].alive, 1);
	ck_assert_int_eq(m->collector_now_ms, 1700000005000LL);
	ck_assert_int_eq(model_not_alive(m), 2);

	/* the same delta again changes nothing in the count */
	apply_ok(m, delta, false, T0 + 6000);
	assert_order(m, order, N(order));
	model_done(m);
}
END_TEST

/* A delta without a collector object leaves the collector facts alone; a
 * node that changed group is moved, not duplicated. */
START_TEST(test_model_delta_moves_group)
{
	static const char *const order[] = { "db-1", "web-1", "web-2" };
	static const char mv[] =
		"{\"nodes\":[{\"name\":\"web-1\",\"group\":\"db\",\"state\":\"degraded\"},"
		"{\"name\":\"db-1\",\"group\":\"zz\",\"state\":\"left\"}],\"groups\":[]}";
	struct model *m = model_loaded();

	apply_ok(m, mv, false, T0 + 1);
	ck_assert_uint_eq(m->n, 3);
	ck_assert_str_eq(m->nodes[0].name, "web-1");
	ck_assert_str_eq(m->nodes[0].group, "db");
	ck_assert_str_eq(m->nodes[0].state, "degraded");
	ck_assert_str_eq(m->nodes[1].name, "web-2");
	ck_assert_str_eq(m->nodes[2].name, "db-1");
	ck_assert_str_eq(m->nodes[2].group, "zz");
	ck_assert_uint_eq(m->ng, 0);
	ck_assert_str_eq(m->instance, "c-1a2b");
	ck_assert_int_eq(m->agents_connected, 3);

	/* and back again */
	apply_ok(m, snapshot, true, T0 + 2);
	assert_order(m, order, N(order));
	model_done(m);
}
END_TEST

START_TEST(test_model_replace)
{
	static const char snap2[] =
		"{\"collector\":{\"instance\":\"c-new\",\"listen\":\"[::1]:7071\","
		"\"auth\":\"loopback-only\",\"recording\":false,\"store_error\":\"disk full\","
		"\"tilt\":true},"
		"\"nodes\":[{\"name\":\"x\",\"group\":\"g\",\"state\":\"maintenance\"}],"
		"\"groups\":[{\"name\":\"g\",\"members\":1,\"alive\":0}]}";
	struct model *m = model_loaded();

	apply_ok(m, delta, false, T0 + 1);
	ck_assert_uint_eq(m->n, 4);
	apply_ok(m, snap2, true, T0 + 2);
	ck_assert_uint_eq(m->n, 1);
	ck_assert_str_eq(m->nodes[0].name, "x");
	ck_assert_str_eq(m->nodes[0].state, "maintenance");
	ck_assert_int_eq(m->nodes[0].hb_age_ms, -1);
	ck_assert(isnan(m->nodes[0].cpu) && isnan(m->nodes[0].phi));
	ck_assert_str_eq(m->nodes[0].version, "");
	ck_assert_uint_eq(m->ng, 1);
	ck_assert_str_eq(m->instance, "c-new");
	ck_assert_str_eq(m->version, "");
	ck_assert(!m->recording && m->tilt && !m->serving);
	ck_assert_int_eq(m->agents_connected, 0);
	ck_assert_int_eq(model_not_alive(m), 1);
	model_done(m);
}
END_TEST

/* Empty lists on a fresh model, as a just-started collector sends them. */
START_TEST(test_model_empty)
{
	static const char empty[] = "{\"nodes\":[],\"groups\":[]}";
	struct model *m = model_fresh();

	apply_ok(m, empty, true, T0);
	ck_assert(m->have_data);
	ck_assert_uint_eq(m->n, 0);
	ck_assert_uint_eq(m->ng, 0);
	ck_assert_int_eq(model_not_alive(m), 0);
	model_done(m);

	m = model_fresh();
	apply_ok(m, empty, false, T0);
	apply_ok(m, delta, false, T0);        /* a delta before any snapshot */
	ck_assert_uint_eq(m->n, 2);
	ck_assert_str_eq(m->nodes[0].name, "api-1");
	ck_assert_str_eq(m->nodes[1].name, "web-2");
	model_done(m);

	m = model_fresh();
	apply_ok(m, delta, false, T0);
	ck_assert_uint_eq(m->n, 2);
	apply_ok(m, snapshot, true, T0);
	apply_ok(m, empty, true, T0);
	ck_assert_uint_eq(m->n, 0);
	model_done(m);
}
END_TEST

/* Entries that are not objects or lack a string name and group are skipped. */
START_TEST(test_model_skips_bad_entries)
{
	static const char json[] =
		"{\"nodes\":[1,\"x\",null,[],{},{\"name\":\"a\"},{\"group\":\"g\"},"
		"{\"name\":5,\"group\":\"g\"},{\"name\":\"b\",\"group\":[]},"
		"{\"name\":\"ok\",\"group\":\"g\",\"state\":7,\"priority\":\"9\",\"phi\":\"1\","
		"\"connected\":1,\"metrics\":[1]}],"
		"\"groups\":[7,{\"name\":\"g\",\"members\":1,\"alive\":1},null]}";
	struct model *m = model_fresh();

	apply_ok(m, json, true, T0);
	ck_assert_uint_eq(m->n, 1);
	ck_assert_str_eq(m->nodes[0].name, "ok");
	ck_assert_str_eq(m->nodes[0].state, "");           /* wrong types read as absent */
	ck_assert_int_eq(m->nodes[0].priority, 0);
	ck_assert(isnan(m->nodes[0].phi));
	ck_assert(!m->nodes[0].connected);
	ck_assert(isnan(m->nodes[0].cpu));
	ck_assert_uint_eq(m->ng, 1);
	ck_assert_str_eq(m->groups[0].name, "g");
	model_done(m);
}
END_TEST

/* Many nodes in one snapshot, listed in reverse order, come out sorted. */
START_TEST(test_model_many_sorted)
{
	size_t cap = 200 * 80, len = 0;
	char *json = malloc(cap);
	struct model *m = model_fresh();

	ck_assert_ptr_nonnull(json);
	len += (size_t)snprintf(json + len, cap - len, "{\"groups\":[],\"nodes\":[");
	for (int i = 199; i >= 0; i--)
		len += (size_t)snprintf(json + len, cap - len,
					"{\"name\":\"n%03d\",\"group\":\"g%d\"}%s", i, i % 3,
					i ? "," : "");
	snprintf(json + len, cap - len, "]}");
	apply_ok(m, json, true, T0);
	ck_assert_uint_eq(m->n, 200);
	for (size_t i = 1; i < m->n; i++) {
		int r = strcmp(m->nodes[i - 1].group, m->nodes[i].group);

		ck_assert(r < 0 || (r == 0 && strcmp(m->nodes[i - 1].name, m->nodes[i].name) < 0));
	}
	ck_assert_str_eq(m->nodes[0].name, "n000");       /* g0 first */
	ck_assert_str_eq(m->nodes[199].name, "n197");     /* the last of g2 */
	free(json);
	model_done(m);
}
END_TEST

static const struct {
	const char *json;
	const char *mention;
} model_bad[] = {
	{ "", "not a JSON object" },
	{ "{", "not a JSON object" },
	{ "{\"nodes\":[],\"groups\":[]", "not a JSON object" },
	{ "[]", "not a JSON object" },
	{ "42", "not a JSON object" },
	{ "null", "not a JSON object" },
	{ "\"status\"", "not a JSON object" },
	{ "{}", "no nodes or groups" },
	{ "{\"nodes\":[]}", "no nodes or groups" },
	{ "{\"groups\":[]}", "no nodes or groups" },
	{ "{\"nodes\":{},\"groups\":[]}", "no nodes or groups" },
	{ "{\"nodes\":[],\"groups\":{}}", "no nodes or groups" },
	{ "{\"nodes\":null,\"groups\":null}", "no nodes or groups" },
	{ "{\"collector\":{\"instance\":\"evil\"},\"nodes\":[]}", "no nodes or groups" },
	{ "{\"nodes\":[],\"slice\":[]}", "no nodes or groups" },          /* a slice is an object */
	{ "{\"nodes\":[],\"slice\":{},\"groups\":{}}", "no nodes or groups" },
};

/* A refused status leaves the model as it was. */
START_TEST(test_model_bad)
{
	static const char *const order[] = { "db-1", "web-1", "web-2" };
	struct model *m = model_loaded();
	char err[256] = "";

	ck_assert_int_eq(model_apply(m, model_bad[_i].json, strlen(model_bad[_i].json), true,
				     T0 + 1, err, sizeof err), -1);
	ck_assert_msg(strstr(err, model_bad[_i].mention) != NULL, "'%s': error \"%s\"",
		      model_bad[_i].json, err);
	assert_order(m, order, N(order));
	ck_assert_str_eq(m->instance, "c-1a2b");
	ck_assert_uint_eq(m->ng, 2);
	ck_assert_int_eq(m->nodes[0].rx_ms, T0);

	/* and on a fresh model nothing is marked as loaded */
	model_done(m);
	m = model_fresh();
	ck_assert_int_eq(model_apply(m, model_bad[_i].json, strlen(model_bad[_i].json), false,
				     T0, err, sizeof err), -1);
	ck_assert(!m->have_data);
	ck_assert_uint_eq(m->n, 0);
	model_done(m);
}
END_TEST

/* The length bounds the parse: a good status followed by junk in memory. */
START_TEST(test_model_len)
{
	char buf[sizeof snapshot + 16];
	struct model *m = model_fresh();
	char err[256] = "";

	memcpy(buf, snapshot, sizeof snapshot - 1);
	memcpy(buf + sizeof snapshot - 1, "garbage{[", 9);
	ck_assert_msg(model_apply(m, buf, sizeof snapshot - 1, true, T0, err, sizeof err) == 0,
		      "%s", err);
	ck_assert_uint_eq(m->n, 3);
	ck_assert_int_eq(model_apply(m, buf, 10, true, T0, err, sizeof err), -1);
	ck_assert_uint_eq(m->n, 3);
	model_done(m);
}
END_TEST

START_TEST(test_model_hb_age)
{
	struct model *m = model_loaded();
	const struct mnode *db = &m->nodes[0], *w1 = &m->nodes[1], *w2 = &m->nodes[2];

	ck_assert_int_eq(model_hb_age(w2, T0), 120);
	ck_assert_int_eq(model_hb_age(w2, T0 + 1), 121);
	ck_assert_int_eq(model_hb_age(w2, T0 + 500), 620);
	ck_assert_int_eq(model_hb_age(w2, T0 + 3600000), 3600120);
	ck_assert_int_eq(model_hb_age(w2, T0 - 500), 120);      /* never younger than reported */
	ck_assert_int_eq(model_hb_age(db, T0 + 1000), 76000);
	ck_assert_int_eq(model_hb_age(w1, T0), -1);
	ck_assert_int_eq(model_hb_age(w1, T0 + 99999), -1);

	/* a delta resets the base for the nodes it lists */
	apply_ok(m, delta, false, T0 + 5000);
	ck_assert_int_eq(model_hb_age(&m->nodes[3], T0 + 5000), 2500);
	ck_assert_int_eq(model_hb_age(&m->nodes[3], T0 + 5250), 2750);
	ck_assert_int_eq(model_hb_age(&m->nodes[1], T0 + 5000), 80000);
	model_done(m);
}
END_TEST

START_TEST(test_model_not_alive)
{
	static const char json[] =
		"{\"nodes\":[{\"name\":\"a\",\"group\":\"g\",\"state\":\"alive\"},"
		"{\"name\":\"b\",\"group\":\"g\",\"state\":\"suspect\"},"
		"{\"name\":\"c\",\"group\":\"g\",\"state\":\"failed\"},"
		"{\"name\":\"d\",\"group\":\"g\",\"state\":\"degraded\"},"
		"{\"name\":\"e\",\"group\":\"g\",\"state\":\"left\"},"
		"{\"name\":\"f\",\"group\":\"g\",\"state\":\"maintenance\"},"
		"{\"name\":\"h\",\"group\":\"g\",\"state\":\"alive\"},"
		"{\"name\":\"i\",\"group\":\"g\"}],\"groups\":[]}";
	struct model *m = model_fresh();

	ck_assert_int_eq(model_not_alive(m), 0);
	apply_ok(m, json, true, T0);
	ck_assert_int_eq(model_not_alive(m), 6);
	model_done(m);

	m = model_loaded();
	ck_assert_int_eq(model_not_alive(m), 1);
	model_done(m);
}
END_TEST

/* ---------------------------------------------------------------------------
 * The views
 * ------------------------------------------------------------------------ */

START_TEST(test_render_nodes)
{
	struct model *m = model_loaded();
	struct jw w;

	jw_init_dynamic(&w, 0);
	render_nodes(m, T0, false, &w);
	assert_text(&w,
		    "NODE   GROUP  STATE   ROLE    LAST-HB  PHI    WHY\n"
		    "db-1   db     failed  member  1m15s    12.35  phi\n"
		    "web-1  web    alive   member  -        -\n"
		    "web-2  web    alive   member  120ms    0.42\n");

	/* one second later the ages have grown */
	jw_init_dynamic(&w, 0);
	render_nodes(m, T0 + 1000, false, &w);
	assert_text(&w,
		    "NODE   GROUP  STATE   ROLE    LAST-HB  PHI    WHY\n"
		    "db-1   db     failed  member  1m16s    12.35  phi\n"
		    "web-1  web    alive   member  -        -\n"
		    "web-2  web    alive   member  1.1s     0.42\n");
	model_done(m);
}
END_TEST

START_TEST(test_render_nodes_wide)
{
	struct model *m = model_loaded();
	struct jw w;

	jw_init_dynamic(&w, 0);
	render_nodes(m, T0, true, &w);
	assert_text(&w,
		    "NODE   GROUP  STATE   ROLE    LAST-HB  PHI    RTT  CHECKS  CPU%  MEM%  LOAD1  DISK%  VERSION  WHY\n"
		    "db-1   db     failed  member  1m15s    12.35  -    -       -     -     -      -      0.1.0    phi\n"
		    "web-1  web    alive   member  -        -      -    -       5.0   33.3  0.50   70.0   0.0.9\n"
		    "web-2  web    alive   member  120ms    0.42   -    -       12.5  40.0  0.75   55.5   0.1.0\n");
	model_done(m);
}
END_TEST

START_TEST(test_render_nodes_empty)
{
	struct model *m = model_fresh();
	struct jw w;

	jw_init_dynamic(&w, 0);
	render_nodes(m, T0, false, &w);
	assert_text(&w, "NODE  GROUP  STATE  ROLE  LAST-HB  PHI  WHY\n");
	jw_init_dynamic(&w, 0);
	render_groups(m, &w);
	assert_text(&w, "GROUP  MEMBERS  ALIVE\n");
	model_done(m);
}
END_TEST

START_TEST(test_render_groups)
{
	struct model *m = model_loaded();
	struct jw w;

	jw_init_dynamic(&w, 0);
	render_groups(m, &w);
	assert_text(&w,
		    "GROUP  MEMBERS  ALIVE\n"
		    "db     1        0\n"
		    "web    2        2\n");

	apply_ok(m, delta, false, T0 + 1);
	jw_init_dynamic(&w, 0);
	render_groups(m, &w);
	assert_text(&w,
		    "GROUP  MEMBERS  ALIVE\n"
		    "api    1        1\n"
		    "db     1        0\n"
		    "web    2        1\n");
	model_done(m);
}
END_TEST

START_TEST(test_render_summary)
{
	struct model *m = model_loaded();
	struct jw w;

	jw_init_dynamic(&w, 0);
	render_summary(m, &w);
	assert_text(&w, "3 nodes: 2 alive, 1 failed  |  collector c-1a2b at 127.0.0.1:7070, "
			"recording\n");

	apply_ok(m, delta, false, T0 + 1);
	jw_init_dynamic(&w, 0);
	render_summary(m, &w);
	assert_text(&w, "4 nodes: 2 alive, 1 suspect, 1 failed  |  collector c-1a2b at "
			"127.0.0.1:7070, recording\n");
	model_done(m);
}
END_TEST

START_TEST(test_render_summary_flags)
{
	static const char json[] =
		"{\"collector\":{\"instance\":\"c-9\",\"listen\":\"0.0.0.0:7070\","
		"\"auth\":\"loopback-only\",\"serving\":true,\"recording\":false,"
		"\"store_error\":\"disk full\",\"tilt\":true},"
		"\"nodes\":[{\"name\":\"f\",\"group\":\"g\",\"state\":\"maintenance\"},"
		"{\"name\":\"e\",\"group\":\"g\",\"state\":\"left\"},"
		"{\"name\":\"d\",\"group\":\"g\",\"state\":\"degraded\"},"
		"{\"name\":\"c\",\"group\":\"g\",\"state\":\"failed\"},"
		"{\"name\":\"b\",\"group\":\"g\",\"state\":\"suspect\"},"
		"{\"name\":\"a\",\"group\":\"g\",\"state\":\"alive\"},"
		"{\"name\":\"a2\",\"group\":\"g\",\"state\":\"alive\"}],\"groups\":[]}";
	static const char one[] =
		"{\"collector\":{\"instance\":\"c-1\",\"listen\":\"127.0.0.1:7070\","
		"\"auth\":\"tokens\",\"recording\":true},"
		"\"nodes\":[{\"name\":\"x\",\"group\":\"g\",\"state\":\"maintenance\"}],\"groups\":[]}";
	static const char none[] =
		"{\"collector\":{\"instance\":\"c-0\",\"listen\":\"[::1]:7070\",\"auth\":\"tokens\","
		"\"recording\":true},\"nodes\":[],\"groups\":[]}";
	struct model *m = model_fresh();
	struct jw w;

	apply_ok(m, json, true, T0);
	jw_init_dynamic(&w, 0);
	render_summary(m, &w);
	assert_text(&w, "7 nodes: 2 alive, 1 suspect, 1 failed, 1 degraded, 1 left, "
			"1 maintenance  |  collector c-9 at 0.0.0.0:7070, TILT (not deciding), "
			"NOT RECORDING: disk full, loopback only\n");

	apply_ok(m, one, true, T0);
	jw_init_dynamic(&w, 0);
	render_summary(m, &w);
	assert_text(&w, "1 node: 1 maintenance  |  collector c-1 at 127.0.0.1:7070, recording\n");

	apply_ok(m, none, true, T0);
	jw_init_dynamic(&w, 0);
	render_summary(m, &w);
	assert_text(&w, "0 nodes  |  collector c-0 at [::1]:7070, recording\n");
	model_done(m);
}
END_TEST

Suite *table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_test(tc, test_table_align);
	tcase_add_test(tc, test_table_header_only);
	tcase_add_test(tc, test_table_empty_cells);
	tcase_add_test(tc, test_table_one_column);
	tcase_add_test(tc, test_table_cut);
	tcase_add_test(tc, test_table_many_rows);
	tcase_add_test(tc, test_table_bounds);
	tcase_add_test(tc, test_table_appends);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_add_test(tc, test_model_snapshot);
	tcase_add_test(tc, test_model_delta);
	tcase_add_test(tc, test_model_delta_moves_group);
	tcase_add_test(tc, test_model_replace);
	tcase_add_test(tc, test_model_empty);
	tcase_add_test(tc, test_model_skips_bad_entries);
	tcase_add_test(tc, test_model_many_sorted);
	tcase_add_loop_test(tc, test_model_bad, 0, N(model_bad));
	tcase_add_test(tc, test_model_len);
	tcase_add_test(tc, test_model_hb_age);
	tcase_add_test(tc, test_model_not_alive);
	suite_add_tcase(s, tc);

	tc = tcase_create("views");
	tcase_add_test(tc, test_render_nodes);
	tcase_add_test(tc, test_render_nodes_wide);
	tcase_add_test(tc, test_render_nodes_empty);
	tcase_add_test(tc, test_render_groups);
	tcase_add_test(tc, test_render_summary);
	tcase_add_test(tc, test_render_summary_flags);
	suite_add_tcase(s, tc);

	return s;
}
