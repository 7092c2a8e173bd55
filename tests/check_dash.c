/* check_dash.c — unit tests for the dashboard: tui/grid (cells), tui/ui
 * (keys and messages -> state and requests) and tui/view (screens rendered
 * into a grid, compared line by line).  No terminal, no socket: the tests
 * feed the collector's messages and the keys, step the clocks, and read the
 * grid back.  Local time is pinned to UTC so times are exact. */
#include "tui/view.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/grid.h"
#include "tui/model.h"
#include "tui/ui.h"
#include "suites.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define T0 1000000LL                 /* monotonic ms */
#define W0 1700000000000LL           /* wall ms: 2023-11-14T22:13:20Z */

/* Three nodes in two groups, with the leadership fields of this session. */
static const char status_json[] =
	"{\"collector\":{\"instance\":\"c-1a2b\",\"version\":\"0.1.0\",\"listen\":\"127.0.0.1:7070\","
	"\"auth\":\"tokens\",\"now_ms\":1700000000000,\"uptime_ms\":65000,\"serving\":true,"
	"\"recording\":true,\"store_error\":\"\",\"tilt\":false,\"agents_connected\":2,"
	"\"operators_connected\":1%s},"
	"\"nodes\":["
	"{\"name\":\"db-1\",\"group\":\"pg\",\"state\":\"alive\",\"rule\":\"hello\",\"role\":\"leader\","
	"\"priority\":100,\"connected\":true,\"last_heartbeat_ms_ago\":120,\"interval_ms\":500,"
	"\"phi\":0.4,\"interval_mean_ms\":500.4,\"interval_sd_ms\":2.1,\"rtt_ms\":1,"
	"\"metrics\":{\"cpu\":12.5,\"mem\":40.1,\"app\":{\"errors\":0.5}},"
	"\"checks\":[{\"name\":\"pgready\",\"status\":\"passing\",\"output\":\"accepting connections\"}]},"
	"{\"name\":\"db-2\",\"group\":\"pg\",\"state\":\"failed\",\"rule\":\"phi_failed\",\"role\":\"follower\","
	"\"priority\":50,\"connected\":false,\"last_heartbeat_ms_ago\":9000,\"interval_ms\":500,"
	"\"phi\":14.2,\"interval_mean_ms\":501,\"interval_sd_ms\":3},"
	"{\"name\":\"web-1\",\"group\":\"web\",\"state\":\"suspect\",\"rule\":\"conn_lost\",\"role\":\"follower\","
	"\"connected\":false,\"last_heartbeat_ms_ago\":700,\"interval_ms\":100,\"phi\":2.5,\"flapping\":true}"
	"],"
	"\"groups\":["
	"{\"name\":\"pg\",\"members\":2,\"expected\":3,\"alive\":1,\"quorum\":false,\"leader\":\"db-1\","
	"\"epoch\":7,\"paused\":true,\"paused_until_ms\":null,\"paused_by\":\"alice\",\"pause_reason\":\"upgrade\","
	"\"failover\":null,\"last_failover\":{\"id\":12,\"ts_ms\":1699999990000,\"outcome\":\"confirmed\","
	"\"kind\":\"auto\",\"old_leader\":\"db-3\",\"new_leader\":\"db-1\",\"epoch\":7,\"duration_ms\":2412}},"
	"{\"name\":\"web\",\"members\":1,\"alive\":0}"
	"]}";

struct fx {
	struct model m;
	struct ui u;
	struct grid g;
};

static void set_utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

static void feed(struct fx *f, const char *json)
{
	ui_on_message(&f->u, &f->m, json, strlen(json), T0, W0);
}

static void feed_snapshot(struct fx *f, const char *you)
{
	char status[8192], msg[8300];

	snprintf(status, sizeof status, status_json, you ? you : "");
	snprintf(msg, sizeof msg, "{\"type\":\"snapshot\",\"id\":1,\"data\":%s}", status);
	feed(f, msg);
}

static struct fx *fx_new(int rows, int cols, const char *you)
{
	struct fx *f = calloc(1, sizeof *f);

	ck_assert_ptr_nonnull(f);
	set_utc();
	model_init(&f->m);
	ui_init(&f->u, "127.0.0.1", 7070);
	ck_assert_int_eq(grid_init(&f->g, rows, cols), 0);
	ui_set_conn(&f->u, UC_OPEN, 0, "");
	feed_snapshot(f, you);
	return f;
}

static void fx_free(struct fx *f)
{
	grid_done(&f->g);
	ui_done(&f->u);
	model_done(&f->m);
	free(f);
}

static void render(struct fx *f)
{
	view_render(&f->g, &f->u, &f->m, T0, W0);
}

static const char *line(struct fx *f, int y)
{
	static char buf[4096];

	grid_line(&f->g, y, buf, sizeof buf);
	return buf;
}

/* The row that starts with text (after the selection marker column). */
static int row_of(struct fx *f, const char *text)
{
	for (int y = 0; y < f->g.rows; y++) {
		const char *l = line(f, y);

		if (strncmp(l + (l[0] ? 1 : 0), text, strlen(text)) == 0)
			return y;
	}
	return -1;
}

static void assert_has(struct fx *f, const char *text)
{
	if (grid_find(&f->g, text) < 0) {
		for (int y = 0; y < f->g.rows; y++)
			fprintf(stderr, "%2d|%s\n", y, line(f, y));
		ck_abort_msg("'%s' is not on the screen", text);
	}
}

static void assert_not_has(struct fx *f, const char *text)
{
	ck_assert_msg(grid_find(&f->g, text) < 0, "'%s' should not be on the screen (row %d)", text,
		      grid_find(&f->g, text));
}

static void key(struct fx *f, int k)
{
	ui_key(&f->u, &f->m, k, T0, W0);
}

static void type(struct fx *f, const char *s)
{
	for (; *s; s++)
		key(f, (unsigned char)*s);
}

/* Pop the next request, parse it (the caller deletes it). */
static cJSON *pop_req(struct fx *f)
{
	char *s = ui_out_pop(&f->u);
	cJSON *j;

	ck_assert_msg(s != NULL, "no request was queued");
	j = cJSON_Parse(s);
	free(s);
	ck_assert_ptr_nonnull(j);
	return j;
}

static void drain(struct fx *f)
{
	char *s;

	while ((s = ui_out_pop(&f->u)))
		free(s);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---------------------------------------------------------------------------
 * grid
 * ------------------------------------------------------------------------ */

START_TEST(test_grid_put_and_line)
{
	struct grid g;
	char buf[64];

	ck_assert_int_eq(grid_init(&g, 2, 10), 0);
	ck_assert_int_eq(grid_put(&g, 0, 2, GS_OK, "abc", -1), 3);
	ck_assert_uint_eq(grid_line(&g, 0, buf, sizeof buf), 5);
	ck_assert_str_eq(buf, "  abc");
	ck_assert_int_eq(grid_at(&g, 0, 2)->st, GS_OK);
	/* clipped at the edge, and at maxw */
	ck_assert_int_eq(grid_put(&g, 1, 7, GS_NORMAL, "123456", -1), 3);
	ck_assert_int_eq(grid_put(&g, 1, 0, GS_NORMAL, "xyz", 2), 2);
	grid_line(&g, 1, buf, sizeof buf);
	ck_assert_str_eq(buf, "xy     123");
	/* out of range rows are ignored */
	ck_assert_int_eq(grid_put(&g, 2, 0, GS_NORMAL, "x", -1), 0);
	ck_assert_int_eq(grid_put(&g, -1, 0, GS_NORMAL, "x", -1), 0);
	grid_done(&g);
}
END_TEST

START_TEST(test_grid_utf8)
{
	struct grid g;
	char buf[64];

	ck_assert_int_eq(grid_init(&g, 1, 6), 0);
	/* one column per code point; control characters never reach the screen */
	ck_assert_int_eq(grid_put(&g, 0, 0, GS_NORMAL, "a\xc2\xb1\x01\xe2\x96\x88z", -1), 5);
	ck_assert_uint_eq(grid_at(&g, 0, 1)->ch, 0xB1);
	ck_assert_uint_eq(grid_at(&g, 0, 2)->ch, '?');
	ck_assert_uint_eq(grid_at(&g, 0, 3)->ch, 0x2588);
	grid_line(&g, 0, buf, sizeof buf);
	ck_assert_str_eq(buf, "a\xc2\xb1?\xe2\x96\x88z");
	/* a broken sequence becomes '?' and does not eat the next byte */
	grid_clear(&g);
	ck_assert_int_eq(grid_put(&g, 0, 0, GS_NORMAL, "\xe2(x", -1), 3);
	grid_line(&g, 0, buf, sizeof buf);
	ck_assert_str_eq(buf, "?(x");
	grid_done(&g);
}
END_TEST

/* ---------------------------------------------------------------------------
 * pieces: phi bar, sparkline, phi history
 * ------------------------------------------------------------------------ */

static const struct {
	double phi;
	const char *bar;
} bars[] = {
	{ NAN, "........" }, { 0, "........" }, { 0.1, "#......." }, { 3, "##......" },
	{ 6, "####...." }, { 12, "########" }, { 40, "########" },
};

START_TEST(test_phi_bar)
{
	uint32_t out[8];
	char s[9];

	view_phi_bar(bars[_i].phi, 8, false, out);
	for (int i = 0; i < 8; i++)
		s[i] = (char)out[i];
	s[8] = '\0';
	ck_assert_str_eq(s, bars[_i].bar);
}
END_TEST

START_TEST(test_sparkline)
{
	const float v[6] = { 0, NAN, 2, 4, 8, 1 };
	uint32_t out[6];
	char s[7];

	view_sparkline(v, 6, false, out);
	for (int i = 0; i < 6; i++)
		s[i] = (char)out[i];
	s[6] = '\0';
	/* scaled to the maximum (8): 0 -> '_', gap -> ' ', 8 -> '#' */
	ck_assert_str_eq(s, "_ -=#.");
	view_sparkline(v, 6, true, out);
	ck_assert_uint_eq(out[4], 0x2588);
	ck_assert_uint_eq(out[0], 0x2581);
}
END_TEST

START_TEST(test_phi_history)
{
	struct model m;
	struct mnode *n;
	float s[5];
	int64_t t = 100000;

	model_init(&m);
	n = model_add(&m, "a", "g");
	ck_assert_ptr_nonnull(n);
	model_phi_push(n, 1.0, t);
	model_phi_push(n, 3.0, t + 500);      /* same bucket: the maximum stays */
	model_phi_push(n, 2.0, t + 900);
	model_phi_push(n, 5.0, t + 2 * MNODE_PHI_BUCKET_MS);
	model_phi_push(n, NAN, t + 3 * MNODE_PHI_BUCKET_MS);   /* not a sample */
	model_phi_series(n, t + 3 * MNODE_PHI_BUCKET_MS, s, 5);
	/* buckets b-4 .. b: none, 3 (max of 1, 3, 2), none, 5, none (NAN is no sample) */
	ck_assert(isnan(s[0]));
	ck_assert_double_eq(s[1], 3.0);
	ck_assert(isnan(s[2]));
	ck_assert_double_eq(s[3], 5.0);
	ck_assert(isnan(s[4]));
	/* far in the future: everything has scrolled out */
	model_phi_series(n, t + 1000 * MNODE_PHI_BUCKET_MS, s, 5);
	for (int i = 0; i < 5; i++)
		ck_assert(isnan(s[i]));
	/* a push after a long silence restarts the ring */
	model_phi_push(n, 7.0, t + 1000 * MNODE_PHI_BUCKET_MS);
	model_phi_series(n, t + 1000 * MNODE_PHI_BUCKET_MS, s, 5);
	ck_assert_double_eq(s[4], 7.0);
	ck_assert(isnan(s[3]));
	model_done(&m);
}
END_TEST

START_TEST(test_model_new_fields)
{
	struct fx *f = fx_new(40, 120, ",\"you\":{\"name\":\"alice\",\"role\":\"operator\"}");
	const struct mgroup *pg = model_group(&f->m, "pg"), *web = model_group(&f->m, "web");
	const struct mnode *db1 = model_find(&f->m, "db-1");

	ck_assert_ptr_nonnull(pg);
	ck_assert_ptr_nonnull(web);
	ck_assert_int_eq(pg->expected, 3);
	ck_assert_int_eq(pg->quorum, 0);
	ck_assert_str_eq(pg->leader, "db-1");
	ck_assert_int_eq(pg->epoch, 7);
	ck_assert(pg->paused);
	ck_assert_int_eq(pg->paused_until_ms, 0);
	ck_assert_str_eq(pg->paused_by, "alice");
	ck_assert(!pg->failing_over);
	ck_assert(pg->has_last);
	ck_assert_int_eq(pg->last.duration_ms, 2412);
	ck_assert_str_eq(pg->last.new_leader, "db-1");
	/* an older collector's group: unknowns, not zeros */
	ck_assert_int_eq(web->expected, -1);
	ck_assert_int_eq(web->quorum, -1);
	ck_assert_int_eq(web->epoch, -1);
	ck_assert_str_eq(f->m.you_name, "alice");
	ck_assert_str_eq(f->m.you_role, "operator");
	ck_assert_int_eq(f->m.alerts_firing, -1);
	ck_assert_ptr_nonnull(db1);
	ck_assert_int_eq(db1->nchecks, 1);
	ck_assert_str_eq(db1->checks[0].output, "accepting connections");
	ck_assert_double_eq(db1->err_rate, 0.5);
	fx_free(f);
}
END_TEST

/* vigil forget: a delta's "removed" drops the node (and only it), before
 * the delta's nodes are applied: the same name listed again is a new node
 * (no phi history of the old one). */
START_TEST(test_model_delta_removed)
{
	struct fx *f = fx_new(40, 120, NULL);
	const struct mnode *n;
	float s[1];

	ck_assert_uint_eq(f->m.n, 3);
	feed(f, "{\"type\":\"delta\",\"data\":{\"nodes\":[],\"removed\":[\"db-2\",\"nosuch\"],"
		"\"groups\":[]}}");
	ck_assert_uint_eq(f->m.n, 2);
	ck_assert_ptr_null(model_find(&f->m, "db-2"));
	ck_assert_str_eq(f->m.nodes[0].name, "db-1");
	ck_assert_str_eq(f->m.nodes[1].name, "web-1");
	/* a delta without "removed" (an older collector) removes nothing */
	feed(f, "{\"type\":\"delta\",\"data\":{\"nodes\":[],\"groups\":[]}}");
	ck_assert_uint_eq(f->m.n, 2);
	/* removed and back in the same delta: a new node in its new group */
	feed(f, "{\"type\":\"delta\",\"data\":{\"nodes\":[{\"name\":\"db-1\",\"group\":\"zz\","
		"\"state\":\"alive\"}],\"removed\":[\"db-1\"],\"groups\":[]}}");
	ck_assert_uint_eq(f->m.n, 2);
	ck_assert_str_eq(f->m.nodes[0].name, "web-1");
	n = model_find(&f->m, "db-1");
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(n->group, "zz");
	ck_assert_str_eq(n->state, "alive");
	model_phi_series(n, T0, s, 1);
	ck_assert(isnan(s[0]));                       /* not the old node's 0.4 */
	render(f);                                    /* the views cope with the smaller table */
	feed(f, "{\"type\":\"delta\",\"data\":{\"nodes\":[],\"removed\":[\"db-1\",\"web-1\"],"
		"\"groups\":[]}}");
	ck_assert_uint_eq(f->m.n, 0);
	render(f);
	fx_free(f);
}
END_TEST

/* A slice of the collector's refresh (nodes only) updates its nodes and
 * keeps the groups, the alerts and the collector's facts; a snapshot or a
 * delta that names no groups at all is still refused. */
START_TEST(test_model_delta_slice)
{
	struct fx *f = fx_new(40, 120, NULL);
	const struct mnode *n;
	size_t ng = f->m.ng, nn = f->m.n;
	int firing = f->m.alerts_firing;
	char inst[sizeof f->m.instance];

	snprintf(inst, sizeof inst, "%s", f->m.instance);
	ck_assert_uint_gt(ng, 0);
	feed(f, "{\"type\":\"delta\",\"data\":{\"rev\":99,\"slice\":{\"from\":0,\"to\":2,\"of\":3},"
		"\"nodes\":[{\"name\":\"db-1\",\"group\":\"pg\",\"state\":\"alive\","
		"\"metrics\":{\"cpu\":42.5}}]}}");
	ck_assert_uint_eq(f->m.ng, ng);
	ck_assert_uint_eq(f->m.n, nn);
	ck_assert_int_eq(f->m.alerts_firing, firing);
	ck_assert_str_eq(f->m.instance, inst);
	n = model_find(&f->m, "db-1");
	ck_assert_ptr_nonnull(n);
	ck_assert(fabs(n->cpu - 42.5) < 1e-9);
	render(f);
	{
		char err[128];
		static const char bad[] = "{\"nodes\":[]}";

		ck_assert_int_eq(model_apply(&f->m, bad, sizeof bad - 1, true, T0, err, sizeof err), -1);
		ck_assert_uint_eq(f->m.ng, ng);
	}
	fx_free(f);
}
END_TEST

START_TEST(test_model_snapshot_keeps_history)
{
	struct fx *f = fx_new(40, 120, NULL);
	const struct mnode *n;
	float s[2];

	/* a second snapshot (after a reconnect) keeps the phi history and
	 * drops the nodes it does not list */
	feed(f, "{\"type\":\"snapshot\",\"id\":1,\"data\":{\"nodes\":[{\"name\":\"db-1\",\"group\":\"pg\","
		"\"state\":\"alive\",\"phi\":0.9}],\"groups\":[]}}");
	ck_assert_uint_eq(f->m.n, 1);
	n = model_find(&f->m, "db-1");
	ck_assert_ptr_nonnull(n);
	model_phi_series(n, T0, s, 1);
	ck_assert_double_eq_tol(s[0], 0.9, 1e-6);   /* the bucket's max of 0.4 and 0.9 */
	ck_assert_ptr_null(model_find(&f->m, "web-1"));
	fx_free(f);
}
END_TEST

/* ---------------------------------------------------------------------------
 * the main screen
 * ------------------------------------------------------------------------ */

START_TEST(test_main_120x40)
{
	struct fx *f = fx_new(40, 120, ",\"you\":{\"name\":\"alice\",\"role\":\"operator\"}");
	feed(f, "{\"type\":\"event\",\"event\":{\"ts_ms\":1699999999000,\"node\":\"db-2\",\"group\":\"pg\","
		"\"from\":\"suspect\",\"to\":\"failed\",\"rule\":\"phi_failed\"}}");
	render(f);
	ck_assert_str_eq(line(f, 0), " vigil 22:13:20  collector c-1a2b: ok  you: alice (operator)");
	ck_assert_str_eq(line(f, 1), "3 nodes: 1 alive, 1 suspect, 1 failed, 0 degraded | groups: 0 with quorum, "
			 "1 without, 1 unknown | alerts: n/a");
	/* groups panel */
	ck_assert_str_eq(line(f, 2), " GROUP LEADER EPOCH ALIVE/EXP QUORUM  AUTOMATION                           LAST FAILOVER");
	ck_assert_str_eq(line(f, 3), " pg    db-1       7       1/3     NO  paused by alice: upgrade             "
			 "22:13:10 auto db-3->db-1 in 2.4s (confirmed)");
	ck_assert_str_eq(line(f, 4), " web   -          -       0/1      -  n/a                                  -");
	/* nodes: header and rows (sorted by group, name), the first selected */
	ck_assert_int_eq(row_of(f, "NODE"), 5);
	ck_assert_str_eq(line(f, 5), " NODE  GROUP ROLE     STATE         PHI           HB-AGE    INTERVAL    RTT CPU% MEM% "
			 "ERR/s CHECKS  FLAP     sort group");
	ck_assert_str_eq(line(f, 6), ">db-1  pg    leader   alive         0.4 #.......   120ms      500+-2    1ms   12   40 "
			 "  0.5 1 ok");
	ck_assert_str_eq(line(f, 7), " db-2  pg    follower failed       14.2 ########    9.0s      501+-3      -    -    - "
			 "    - -");
	ck_assert_str_eq(line(f, 8), " web-1 web   follower suspect       2.5 ##......   700ms           -      -    -    - "
			 "    - -       FLAP");
	/* the selected row is drawn in reverse, the state cell keeps its colour */
	ck_assert_int_eq(grid_at(&f->g, 6, 0)->st & GS_REV, GS_REV);
	ck_assert_int_eq(grid_at(&f->g, 7, 0)->st & GS_REV, 0);
	ck_assert_int_eq(grid_at(&f->g, 7, 22)->st, GS_BAD);
	ck_assert_int_eq(grid_at(&f->g, 8, 22)->st, GS_WARN);
	/* events pane, status line */
	assert_has(f, "EVENTS & ALERTS  (alerts: n/a)");
	assert_has(f, " 22:13:19  db-2           suspect -> failed  (phi_failed)");
	ck_assert_str_eq(line(f, 39), "connected to 127.0.0.1:7070 | 3/3 nodes, sort group  ? help  q quit");
	fx_free(f);
}
END_TEST

START_TEST(test_main_80x24)
{
	struct fx *f = fx_new(24, 80, NULL);
	char buf[4096];

	render(f);
	for (int y = 0; y < 24; y++)
		ck_assert_int_le((int)grid_line(&f->g, y, buf, sizeof buf), 80);
	ck_assert(grid_row_has(&f->g, 1, "3 nodes: 1 alive"));
	/* the less important columns are gone, the essential ones are there */
	ck_assert_int_ge(row_of(f, "NODE"), 0);
	ck_assert(grid_row_has(&f->g, row_of(f, "NODE"), "STATE"));
	ck_assert(grid_row_has(&f->g, row_of(f, "NODE"), "PHI"));
	ck_assert(!grid_row_has(&f->g, row_of(f, "NODE"), "INTERVAL"));
	ck_assert(grid_row_has(&f->g, row_of(f, "db-2"), "failed"));
	ck_assert(grid_row_has(&f->g, row_of(f, "web-1"), "suspect"));
	ck_assert(grid_row_has(&f->g, 23, "connected to 127.0.0.1:7070"));
	fx_free(f);
}
END_TEST

START_TEST(test_main_too_small)
{
	struct fx *f = fx_new(6, 20, NULL);

	render(f);
	ck_assert_str_eq(line(f, 0), "vigil: the terminal");
	fx_free(f);
}
END_TEST

START_TEST(test_stale_and_retry)
{
	struct fx *f = fx_new(30, 100, NULL);

	f->u.last_data_ms = T0 - 12000;
	ui_set_conn(&f->u, UC_DOWN, T0 + 2500, "connection refused");
	render(f);
	assert_has(f, "STALE: last update 12.0s ago");
	ck_assert(grid_row_has(&f->g, 29, "disconnected, retrying in 3 s (STALE: last known state shown): connection refused"));
	/* the last known nodes are still shown */
	ck_assert_int_ge(row_of(f, "db-2"), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_tilt_and_not_recording)
{
	struct fx *f = fx_new(30, 120, NULL);

	feed(f, "{\"type\":\"delta\",\"data\":{\"collector\":{\"instance\":\"c-1\",\"tilt\":true,"
		"\"recording\":true},\"nodes\":[],\"groups\":[]}}");
	render(f);
	ck_assert(grid_row_has(&f->g, 0, "collector c-1: TILT (not deciding)"));
	feed(f, "{\"type\":\"delta\",\"data\":{\"collector\":{\"instance\":\"c-1\",\"tilt\":false,"
		"\"recording\":false,\"store_error\":\"disk full\"},\"nodes\":[],\"groups\":[]}}");
	render(f);
	ck_assert(grid_row_has(&f->g, 0, "collector c-1: NOT RECORDING: disk full"));
	fx_free(f);
}
END_TEST

START_TEST(test_failover_in_progress_and_alerts)
{
	struct fx *f = fx_new(40, 140, NULL);

	feed(f, "{\"type\":\"delta\",\"data\":{\"nodes\":[],\"alerts\":[{\"id\":4,\"rule\":\"node_down\","
		"\"severity\":\"critical\",\"node\":\"db-2\",\"group\":\"pg\",\"summary\":\"db-2 failed\","
		"\"state\":\"firing\",\"started_ms\":1699999990000,\"held\":\"\",\"ack\":null}],"
		"\"groups\":[{\"name\":\"pg\",\"members\":2,\"expected\":3,\"alive\":1,\"quorum\":true,"
		"\"leader\":\"\",\"epoch\":8,\"paused\":false,\"failover\":{\"state\":\"promote\",\"kind\":\"manual\","
		"\"target\":\"db-1\",\"since_ms\":1699999997000}}]}}");
	render(f);
	assert_has(f, "FAILOVER manual promote->db-1 3.0s");
	assert_has(f, "alerts: 1 firing");
	assert_has(f, "ALERT #4    critical node_down        db-2 (pg)            since 22:13:10: db-2 failed");
	fx_free(f);
}
END_TEST

/* ---------------------------------------------------------------------------
 * keys: selection, sort, filter, detail, history, time travel, help
 * ------------------------------------------------------------------------ */

START_TEST(test_keys_select_sort_filter)
{
	struct fx *f = fx_new(40, 120, NULL);

	render(f);
	ck_assert_str_eq(f->u.sel, "db-1");
	key(f, UK_DOWN);
	key(f, UK_DOWN);
	ck_assert_str_eq(f->u.sel, "web-1");
	key(f, UK_DOWN);                      /* stays at the end */
	ck_assert_str_eq(f->u.sel, "web-1");
	key(f, UK_HOME);
	ck_assert_str_eq(f->u.sel, "db-1");
	/* s: by state, the worst first */
	key(f, 's');
	ck_assert_int_eq(f->u.sort, US_STATE);
	render(f);
	ck_assert_int_lt(row_of(f, "db-2"), row_of(f, "web-1"));
	ck_assert_int_lt(row_of(f, "web-1"), row_of(f, "db-1"));
	/* s again: by phi, the highest first */
	key(f, 's');
	render(f);
	ck_assert_int_lt(row_of(f, "db-2"), row_of(f, "web-1"));
	/* the selection follows the node, not the row */
	ck_assert_str_eq(f->u.sel, "db-1");
	ck_assert(line(f, row_of(f, "db-1"))[0] == '>');
	/* filter */
	key(f, '/');
	type(f, "web");
	render(f);
	ck_assert(grid_row_has(&f->g, 39, "filter (Enter keep, Esc clear): /web"));
	key(f, UK_ENTER);
	render(f);
	ck_assert_int_ge(row_of(f, "web-1"), 0);
	ck_assert_int_lt(row_of(f, "db-1"), 0);
	ck_assert_str_eq(f->u.sel, "web-1");
	ck_assert(grid_row_has(&f->g, 39, "1/3 nodes, sort phi, filter 'web'"));
	ck_assert(grid_row_has(&f->g, row_of(f, "NODE"), "sort phi, filter 'web'"));
	key(f, UK_ESC);
	render(f);
	ck_assert_int_ge(row_of(f, "db-1"), 0);
	/* q quits */
	ck_assert_int_eq(ui_key(&f->u, &f->m, 'q', T0, W0) & UI_QUIT, UI_QUIT);
	fx_free(f);
}
END_TEST

START_TEST(test_keys_scroll_many)
{
	struct fx *f = fx_new(24, 80, NULL);
	char msg[600];

	/* 200 more nodes: the list scrolls with the selection */
	for (int i = 0; i < 200; i++) {
		snprintf(msg, sizeof msg, "{\"type\":\"delta\",\"data\":{\"nodes\":[{\"name\":\"n-%03d\","
			 "\"group\":\"zz\",\"state\":\"alive\",\"phi\":0.1}],\"groups\":[]}}", i);
		feed(f, msg);
	}
	render(f);
	ck_assert_uint_eq(f->u.nvis, 203);
	key(f, UK_END);
	render(f);
	ck_assert_str_eq(f->u.sel, "n-199");
	ck_assert(line(f, row_of(f, "n-199"))[0] == '>');
	ck_assert_int_lt(row_of(f, "db-1"), 0);
	assert_has(f, "of 203");
	key(f, UK_PGUP);
	render(f);
	ck_assert_int_ge(row_of(f, f->u.sel), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_detail)
{
	struct fx *f = fx_new(40, 120, NULL);
	cJSON *q;

	render(f);
	drain(f);
	key(f, UK_ENTER);
	ck_assert_int_eq(f->u.view, UV_DETAIL);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "type"), "query");
	ck_assert_str_eq(jstr(q, "what"), "history");
	ck_assert_str_eq(jstr(q, "node"), "db-1");
	{
		char ans[1024];

		snprintf(ans, sizeof ans, "{\"type\":\"result\",\"id\":%.0f,\"ok\":true,\"data\":{\"events\":["
			 "{\"id\":5,\"ts_ms\":1699999000000,\"node\":\"db-1\",\"group\":\"pg\",\"kind\":\"state\","
			 "\"from\":\"suspect\",\"to\":\"alive\",\"rule\":\"healthy\",\"phi\":0.2,"
			 "\"detail\":\"phi 0.20 < 3 (suspect threshold)\"}]}}", jnum(q, "id"));
		feed(f, ans);
	}
	cJSON_Delete(q);
	render(f);
	assert_has(f, "NODE db-1");
	assert_has(f, "group pg  role leader  state alive");
	assert_has(f, "cpu 12.5%  mem 40.1%");
	assert_has(f, "pgready          passing   accepting connections");
	assert_has(f, "PHI over the last");
	assert_has(f, "suspect -> alive  (healthy)");
	assert_has(f, "phi 0.20 < 3 (suspect threshold)");
	key(f, UK_ESC);
	ck_assert_int_eq(f->u.view, UV_MAIN);
	fx_free(f);
}
END_TEST

START_TEST(test_history_and_report)
{
	struct fx *f = fx_new(40, 140, NULL);
	cJSON *h, *r;
	char ans[1500];

	render(f);
	key(f, UK_DOWN);                    /* db-2 */
	drain(f);
	key(f, 'h');
	ck_assert_int_eq(f->u.view, UV_HISTORY);
	h = pop_req(f);
	r = pop_req(f);
	ck_assert_str_eq(jstr(h, "what"), "history");
	ck_assert_str_eq(jstr(h, "node"), "db-2");
	ck_assert_double_eq(jnum(h, "since_ms"), (double)(W0 - 3600000));
	ck_assert_str_eq(jstr(r, "what"), "report");
	ck_assert_str_eq(jstr(r, "group"), "pg");
	snprintf(ans, sizeof ans, "{\"type\":\"result\",\"id\":%.0f,\"ok\":true,\"data\":{\"events\":["
		 "{\"id\":9,\"ts_ms\":1699999999000,\"node\":\"db-2\",\"kind\":\"state\",\"from\":\"suspect\","
		 "\"to\":\"failed\",\"rule\":\"phi_failed\",\"detail\":\"phi 14.05 >= 8\"}]}}", jnum(h, "id"));
	feed(f, ans);
	snprintf(ans, sizeof ans, "{\"type\":\"result\",\"id\":%.0f,\"ok\":true,\"data\":{\"nodes\":["
		 "{\"node\":\"db-2\",\"availability_pct\":99.5,\"failures\":2,\"mttr_ms\":3200,"
		 "\"mtbf_ms\":1800000,\"ttd_ms\":340,\"down_ms\":6400}],\"groups\":[{\"group\":\"pg\","
		 "\"failovers\":1}]}}", jnum(r, "id"));
	feed(f, ans);
	render(f);
	assert_has(f, "HISTORY of node db-2, last 1h");
	assert_has(f, "availability 99.500%  failures 2  down 6.4s  MTTR 3.2s  MTBF 30m00s  time to detect 0.3s");
	assert_has(f, "group pg: 1 failovers");
	assert_has(f, "suspect -> failed");
	assert_has(f, "phi 14.05 >= 8");
	/* ] widens the range and asks again */
	key(f, ']');
	cJSON_Delete(h);
	h = pop_req(f);
	ck_assert_double_eq(jnum(h, "since_ms"), (double)(W0 - 6 * 3600000LL));
	cJSON_Delete(h);
	cJSON_Delete(r);
	r = pop_req(f);
	/* Tab: the group's history */
	key(f, UK_TAB);
	cJSON_Delete(r);
	h = pop_req(f);
	ck_assert_str_eq(jstr(h, "group"), "pg");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(h, "node"));
	cJSON_Delete(h);
	drain(f);
	fx_free(f);
}
END_TEST

START_TEST(test_time_travel)
{
	struct fx *f = fx_new(40, 120, NULL);
	cJSON *q;
	char ans[800];

	drain(f);
	key(f, 't');
	type(f, "10m");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "what"), "at");
	ck_assert_double_eq(jnum(q, "at_ms"), (double)(W0 - 600000));
	snprintf(ans, sizeof ans, "{\"type\":\"result\",\"id\":%.0f,\"ok\":true,\"data\":{\"at_ms\":%lld,"
		 "\"nodes\":[{\"node\":\"db-1\",\"group\":\"pg\",\"state\":\"alive\",\"rule\":\"hello\",\"since_ms\":1},"
		 "{\"node\":\"old-9\",\"group\":\"pg\",\"state\":\"failed\",\"rule\":\"phi_failed\",\"since_ms\":2}]}}",
		 jnum(q, "id"), W0 - 600000);
	cJSON_Delete(q);
	feed(f, ans);
	ck_assert(f->u.tt_on);
	render(f);
	assert_has(f, " vigil 22:03:20   TIME TRAVEL (Esc: live) ");
	ck_assert(grid_row_has(&f->g, row_of(f, "old-9"), "failed"));
	ck_assert_int_lt(row_of(f, "web-1"), 0);
	assert_has(f, "2 nodes: 1 alive, 0 suspect, 1 failed");
	/* no commands on the past */
	key(f, 'f');
	ck_assert_ptr_null(ui_out_pop(&f->u));
	ck_assert(strstr(f->u.msg, "not allowed: time travel") != NULL);
	/* HH:MM works too (today, local time = UTC here) */
	key(f, 't');
	type(f, "21:00");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_double_eq(jnum(q, "at_ms"), (double)(W0 - (73 * 60 + 20) * 1000LL));
	cJSON_Delete(q);
	key(f, UK_ESC);
	ck_assert(!f->u.tt_on);
	render(f);
	ck_assert_int_ge(row_of(f, "web-1"), 0);
	/* nonsense is refused on the status line */
	key(f, 't');
	type(f, "yesterday-ish");
	key(f, UK_ENTER);
	ck_assert_ptr_null(ui_out_pop(&f->u));
	ck_assert(strstr(f->u.msg, "time travel:") != NULL);
	fx_free(f);
}
END_TEST

START_TEST(test_help)
{
	struct fx *f = fx_new(40, 120, NULL);

	key(f, '?');
	render(f);
	assert_has(f, "KEYS");
	assert_has(f, "failover the selected node's group");
	assert_has(f, "time travel");
	assert_not_has(f, "(not allowed)");
	key(f, UK_ESC);
	ck_assert_int_eq(f->u.view, UV_MAIN);
	fx_free(f);
}
END_TEST

/* ---------------------------------------------------------------------------
 * commands
 * ------------------------------------------------------------------------ */

static void answer(struct fx *f, double id, bool ok, const char *data, const char *error)
{
	char ans[2048];

	snprintf(ans, sizeof ans, "{\"type\":\"result\",\"id\":%.0f,\"ok\":%s%s%s%s%s}", id,
		 ok ? "true" : "false", data ? ",\"data\":" : "", data ? data : "",
		 error ? ",\"error\":" : "", error ? error : "");
	feed(f, ans);
}

static const char preflight[] =
	"{\"verb\":\"failover\",\"group\":\"pg\",\"dry_run\":true,\"accepted\":true,\"target\":\"db-3\","
	"\"text\":\"would promote db-3 (epoch 8)\",\"blocked\":[],\"candidates\":["
	"{\"node\":\"db-3\",\"priority\":100,\"state\":\"alive\",\"eligible\":true,\"why_not\":[]},"
	"{\"node\":\"db-2\",\"priority\":50,\"state\":\"failed\",\"eligible\":false,\"why_not\":[\"not_alive\",\"tried\"]}]}";

START_TEST(test_failover_flow)
{
	struct fx *f = fx_new(40, 120, ",\"you\":{\"name\":\"alice\",\"role\":\"operator\"}");
	cJSON *q;
	double id;

	render(f);
	drain(f);
	key(f, 'f');                          /* selected: db-1, group pg */
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "type"), "command");
	ck_assert_str_eq(jstr(q, "verb"), "failover");
	ck_assert_str_eq(jstr(q, "group"), "pg");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "dry_run")));
	id = jnum(q, "id");
	cJSON_Delete(q);
	render(f);
	assert_has(f, "asking the collector for the pre-flight");
	answer(f, id, true, preflight, NULL);
	ck_assert_int_eq(f->u.input, UI_IN_REASON);
	render(f);
	assert_has(f, "pre-flight: would promote db-3 (epoch 8)");
	assert_has(f, "no guard blocks it");
	assert_has(f, " 1. db-3             prio 100    alive      eligible");
	assert_has(f, " 2. db-2             prio 50     failed     not: not_alive,tried");
	/* an empty reason is not taken */
	key(f, UK_ENTER);
	ck_assert_int_eq(f->u.input, UI_IN_REASON);
	type(f, "db-1 disk dying");
	key(f, UK_ENTER);
	ck_assert_int_eq(f->u.input, UI_IN_CONFIRM);
	render(f);
	assert_has(f, "type the group's name (pg) to confirm the failover:");
	ck_assert_ptr_null(ui_out_pop(&f->u));   /* nothing sent before the confirmation */
	type(f, "pg");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "verb"), "failover");
	ck_assert_str_eq(jstr(q, "reason"), "db-1 disk dying");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(q, "dry_run"));
	id = jnum(q, "id");
	cJSON_Delete(q);
	answer(f, id, true, preflight, NULL);
	render(f);
	ck_assert(grid_row_has(&f->g, 39, "failover pg: accepted: would promote db-3 (epoch 8)"));
	ck_assert_int_eq(f->u.cmd.stage, UCS_NONE);
	fx_free(f);
}
END_TEST

START_TEST(test_failover_wrong_name_and_refusal)
{
	struct fx *f = fx_new(40, 120, NULL);
	cJSON *q;
	double id;

	render(f);
	drain(f);
	key(f, 'f');
	q = pop_req(f);
	id = jnum(q, "id");
	cJSON_Delete(q);
	answer(f, id, false, "{\"blocked\":[\"quorum\"],\"candidates\":[]}",
	       "{\"code\":\"refused\",\"message\":\"no quorum: 1 of 3 expected members alive\"}");
	render(f);
	assert_has(f, "would be REFUSED: no quorum: 1 of 3 expected members alive");
	assert_has(f, "blocked by: quorum  (:failover GROUP --force overrides)");
	type(f, "why not");
	key(f, UK_ENTER);
	type(f, "pq");                          /* a typo: cancelled, nothing sent */
	key(f, UK_ENTER);
	ck_assert_ptr_null(ui_out_pop(&f->u));
	ck_assert(strstr(f->u.msg, "cancelled: the group's name was not typed back") != NULL);
	/* via the command line with a reason: straight to the confirmation */
	key(f, ':');
	type(f, "failover pg --reason planned work");
	key(f, UK_ENTER);
	q = pop_req(f);
	id = jnum(q, "id");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "dry_run")));
	ck_assert_str_eq(jstr(q, "reason"), "planned work");
	cJSON_Delete(q);
	answer(f, id, false, "{\"blocked\":[\"quorum\"],\"candidates\":[]}",
	       "{\"code\":\"refused\",\"message\":\"no quorum\"}");
	ck_assert_int_eq(f->u.input, UI_IN_CONFIRM);
	type(f, "pg");
	key(f, UK_ENTER);
	q = pop_req(f);
	id = jnum(q, "id");
	cJSON_Delete(q);
	answer(f, id, false, "{\"blocked\":[\"quorum\"],\"candidates\":[]}",
	       "{\"code\":\"refused\",\"message\":\"no quorum\"}");
	render(f);
	ck_assert(grid_row_has(&f->g, 39, "failover pg refused: no quorum (blocked: quorum)"));
	fx_free(f);
}
END_TEST

START_TEST(test_switchover_pause_maintenance)
{
	struct fx *f = fx_new(40, 120, NULL);
	cJSON *q;

	render(f);
	drain(f);
	/* w: switchover to the selected node, pre-flight first */
	key(f, 'w');
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "verb"), "switchover");
	ck_assert_str_eq(jstr(q, "to"), "db-1");
	cJSON_Delete(q);
	key(f, UK_ESC);                          /* cancel while waiting */
	ck_assert_int_eq(f->u.cmd.stage, UCS_NONE);
	/* p on a paused group: resume, after a reason */
	key(f, 'p');
	ck_assert_int_eq(f->u.input, UI_IN_REASON);
	type(f, "done");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "verb"), "resume");
	ck_assert_str_eq(jstr(q, "group"), "pg");
	ck_assert_str_eq(jstr(q, "reason"), "done");
	answer(f, jnum(q, "id"), true, "{\"text\":\"automation resumed\"}", NULL);
	cJSON_Delete(q);
	ck_assert(strstr(f->u.msg, "resume pg: accepted: automation resumed") != NULL);
	/* m: maintenance on for db-1 */
	key(f, 'm');
	type(f, "kernel");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "verb"), "maintenance");
	ck_assert_str_eq(jstr(q, "node"), "db-1");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "on")));
	cJSON_Delete(q);
	/* :pause with --for */
	f->u.cmd.stage = UCS_NONE;
	key(f, ':');
	type(f, "pause web --for 10m -r night");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "verb"), "pause");
	ck_assert_double_eq(jnum(q, "for_ms"), 600000);
	ck_assert_str_eq(jstr(q, "reason"), "night");
	cJSON_Delete(q);
	/* a bad command line says how to use it */
	f->u.cmd.stage = UCS_NONE;
	key(f, ':');
	type(f, "maintenance db-1 maybe");
	key(f, UK_ENTER);
	ck_assert_ptr_null(ui_out_pop(&f->u));
	ck_assert(strstr(f->u.msg, "usage: maintenance NODE on|off") != NULL);
	/* a and x: no alerts in this collector */
	f->u.cmd.stage = UCS_NONE;
	key(f, 'a');
	ck_assert(strstr(f->u.msg, "acknowledge: this collector has no alerts (n/a)") != NULL);
	key(f, 'x');
	ck_assert(strstr(f->u.msg, "silence: this collector has no alerts (n/a)") != NULL);
	ck_assert_ptr_null(ui_out_pop(&f->u));
	fx_free(f);
}
END_TEST

START_TEST(test_viewer_role)
{
	struct fx *f = fx_new(40, 120, ",\"you\":{\"name\":\"bob\",\"role\":\"viewer\"}");

	render(f);
	drain(f);
	key(f, 'f');
	ck_assert_ptr_null(ui_out_pop(&f->u));
	render(f);
	ck_assert(grid_row_has(&f->g, 39, "failover: not allowed: read-only: bob has the viewer role"));
	key(f, '?');
	render(f);
	assert_has(f, "(not allowed)");
	assert_has(f, "commands are greyed out: read-only: bob has the viewer role");
	ck_assert_int_eq(grid_at(&f->g, grid_find(&f->g, "failover the selected"), 1)->st, GS_GREY);
	fx_free(f);
}
END_TEST

START_TEST(test_forbidden_answer)
{
	struct fx *f = fx_new(40, 120, NULL);    /* the role is not said */
	cJSON *q;

	render(f);
	drain(f);
	key(f, 'f');
	q = pop_req(f);
	answer(f, jnum(q, "id"), false, NULL,
	       "{\"code\":\"forbidden\",\"message\":\"the viewer role cannot act\"}");
	cJSON_Delete(q);
	ck_assert(strstr(f->u.msg, "forbidden: the viewer role cannot act") != NULL);
	/* from now on, commands are greyed out without asking */
	key(f, 'p');
	ck_assert_ptr_null(ui_out_pop(&f->u));
	ck_assert(strstr(f->u.msg, "not allowed: forbidden") != NULL);
	fx_free(f);
}
END_TEST

START_TEST(test_reconnect_requests)
{
	struct ui u;
	char *s;
	cJSON *j;

	ui_init(&u, "h", 1);
	ui_on_connect(&u, T0);
	s = ui_out_pop(&u);
	j = cJSON_Parse(s);
	ck_assert_str_eq(jstr(j, "type"), "subscribe");
	cJSON_Delete(j);
	free(s);
	s = ui_out_pop(&u);
	j = cJSON_Parse(s);
	ck_assert_str_eq(jstr(j, "what"), "history");
	cJSON_Delete(j);
	free(s);
	ck_assert_ptr_null(ui_out_pop(&u));
	ui_done(&u);
}
END_TEST

/* ---------------------------------------------------------------------------
 * alerts: the pane, alert frames, a (ack) and x (silence)
 * ------------------------------------------------------------------------ */

static void alert_json(char *buf, size_t len, int id, const char *rule, const char *sev,
		       const char *node, const char *group, const char *state, const char *ack,
		       const char *held)
{
	snprintf(buf, len, "{\"id\":%d,\"fingerprint\":\"%s{node=\\\"%s\\\"}\",\"rule\":\"%s\","
		 "\"severity\":\"%s\",\"state\":\"%s\",\"node\":\"%s\",\"group\":\"%s\","
		 "\"summary\":\"%s of %s\",\"started_ms\":%lld,\"resolved_ms\":null,\"held\":\"%s\","
		 "\"held_by\":\"%s\",\"ack\":%s}", id, rule, node, rule, sev, state, node, group, rule,
		 node[0] ? node : group, (long long)(W0 - 60000 + id * 1000), held,
		 held[0] ? "silence:3" : "", ack ? ack : "null");
}

/* A delta carrying the firing alerts: web-1 failed (5, newest), db-2's (3,
 * acknowledged by bob), pg lost quorum (2, silenced). */
static void feed_alerts(struct fx *f)
{
	char a5[1024], a3[1024], a2[1024], msg[4096];

	alert_json(a5, sizeof a5, 5, "node_failed", "critical", "web-1", "web", "firing", NULL, "");
	alert_json(a3, sizeof a3, 3, "node_suspect", "warning", "db-2", "pg", "firing",
		   "{\"who\":\"bob\",\"at_ms\":1699999999000,\"reason\":\"on it\"}", "");
	alert_json(a2, sizeof a2, 2, "quorum_lost", "critical", "", "pg", "firing", NULL, "silenced");
	snprintf(msg, sizeof msg, "{\"type\":\"delta\",\"data\":{\"nodes\":[],\"groups\":["
		 "{\"name\":\"pg\",\"members\":2,\"alive\":1},{\"name\":\"web\",\"members\":1,\"alive\":0}],"
		 "\"alerts\":[%s,%s,%s]}}", a5, a3, a2);
	feed(f, msg);
}

static void feed_alert_frame(struct fx *f, const char *action, int id, const char *rule,
			     const char *node, const char *state, const char *ack)
{
	char a[1024], msg[1200];

	alert_json(a, sizeof a, id, rule, "critical", node, "web", state, ack, "");
	snprintf(msg, sizeof msg, "{\"type\":\"alert\",\"action\":\"%s\",\"alert\":%s}", action, a);
	feed(f, msg);
}

START_TEST(test_alerts_pane_and_frames)
{
	struct fx *f = fx_new(40, 150, NULL);

	feed_alerts(f);
	ck_assert_int_eq(f->m.alerts_firing, 3);
	ck_assert_int_eq(f->m.nalerts, 3);
	ck_assert_str_eq(f->m.alerts[1].ack_who, "bob");
	ck_assert_str_eq(f->m.alerts[1].ack_reason, "on it");
	render(f);
	assert_has(f, "alerts: 3 firing");
	assert_has(f, "EVENTS & ALERTS  (alerts: firing below)  newest first  a ack, x silence");
	assert_has(f, " ALERT #5    critical node_failed      web-1 (web)          since 22:12:25: node_failed of web-1");
	assert_has(f, " ALERT #3    warning  node_suspect     db-2 (pg)            since 22:12:23  acked by bob: ");
	assert_has(f, " ALERT #2    critical quorum_lost      pg                   since 22:12:22  [silenced]: ");
	/* newest first on screen */
	ck_assert_int_lt(grid_find(&f->g, "ALERT #5"), grid_find(&f->g, "ALERT #3"));
	/* acknowledged and held alerts are dimmed, the others coloured */
	ck_assert_int_eq(grid_at(&f->g, grid_find(&f->g, "ALERT #5"), 8)->st, GS_BAD);
	ck_assert_int_eq(grid_at(&f->g, grid_find(&f->g, "ALERT #3"), 8)->st, GS_DIM);

	/* a frame fires a new one: first in the list, counted */
	feed_alert_frame(f, "fire", 6, "node_failed", "web-9", "firing", NULL);
	ck_assert_int_eq(f->m.alerts_firing, 4);
	ck_assert_int_eq(f->m.alerts[0].id, 6);
	/* an ack frame updates it in place */
	feed_alert_frame(f, "ack", 5, "node_failed", "web-1", "firing",
			 "{\"who\":\"alice\",\"at_ms\":1,\"reason\":\"disk\"}");
	ck_assert_int_eq(f->m.nalerts, 4);
	ck_assert_int_eq(f->m.alerts[1].id, 5);
	ck_assert_str_eq(f->m.alerts[1].ack_who, "alice");
	/* a resolve frame drops it */
	feed_alert_frame(f, "resolve", 6, "node_failed", "web-9", "resolved", NULL);
	ck_assert_int_eq(f->m.alerts_firing, 3);
	ck_assert_int_eq(model_alert_index(&f->m, 6), -1);
	render(f);
	assert_has(f, "#5    critical node_failed      web-1 (web)          since 22:12:25  acked by alice");
	assert_not_has(f, "web-9");
	/* a resolve of an alert never seen changes nothing */
	feed_alert_frame(f, "resolve", 77, "node_failed", "web-7", "resolved", NULL);
	ck_assert_int_eq(f->m.alerts_firing, 3);
	/* an empty list: none firing */
	feed(f, "{\"type\":\"delta\",\"data\":{\"nodes\":[],\"groups\":[],\"alerts\":[]}}");
	ck_assert_int_eq(f->m.alerts_firing, 0);
	render(f);
	assert_has(f, "alerts: 0 firing");
	assert_has(f, "(alerts: none firing)");
	fx_free(f);
}
END_TEST

static void select_node(struct fx *f, const char *name)
{
	render(f);
	key(f, UK_HOME);
	for (int i = 0; i < 10 && strcmp(f->u.sel, name) != 0; i++)
		key(f, UK_DOWN);
	ck_assert_str_eq(f->u.sel, name);
}

START_TEST(test_ack_flow)
{
	struct fx *f = fx_new(40, 150, ",\"you\":{\"name\":\"alice\",\"role\":\"operator\"}");
	cJSON *q;

	feed_alerts(f);
	drain(f);
	/* db-2 selected: its alert (3) is proposed, even though bob acked it */
	select_node(f, "db-2");
	key(f, 'a');
	ck_assert_int_eq(f->u.input, UI_IN_REASON);
	ck_assert_int_eq(f->u.cmd.alert_id, 3);
	render(f);
	assert_has(f, "acknowledge a firing alert");
	assert_has(f, "> #3    warning  node_suspect");
	assert_has(f, "reason for ack alert 3 (node_suspect db-2, acked by bob) (audited; Esc cancels):");
	/* Up/Down choose another one */
	key(f, UK_UP);
	ck_assert_int_eq(f->u.cmd.alert_id, 5);
	key(f, UK_UP);                           /* stays on the first */
	ck_assert_int_eq(f->u.cmd.alert_id, 5);
	render(f);
	assert_has(f, "> #5    critical node_failed");
	ck_assert_ptr_null(ui_out_pop(&f->u));  /* nothing sent before the reason */
	key(f, UK_ENTER);                        /* an empty reason is not taken */
	ck_assert_int_eq(f->u.input, UI_IN_REASON);
	type(f, "replacing the disk");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "type"), "command");
	ck_assert_str_eq(jstr(q, "verb"), "ack");
	ck_assert_str_eq(jstr(q, "alert"), "5");
	ck_assert_str_eq(jstr(q, "reason"), "replacing the disk");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(q, "dry_run"));
	answer(f, jnum(q, "id"), true, "{\"alert\":{\"id\":5},\"text\":\"alert 5 node_failed acknowledged\"}",
	       NULL);
	cJSON_Delete(q);
	render(f);
	ck_assert(grid_row_has(&f->g, 39, "ack alert 5 (node_failed web-1): accepted: alert 5 node_failed acknowledged"));
	ck_assert_int_eq(f->u.cmd.stage, UCS_NONE);

	/* with no node's alert, the newest not acknowledged: 5 (db-1 has none) */
	select_node(f, "db-1");
	key(f, 'a');
	ck_assert_int_eq(f->u.cmd.alert_id, 5);
	key(f, UK_DOWN);
	type(f, "again");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "alert"), "3");
	answer(f, jnum(q, "id"), false, NULL,
	       "{\"code\":\"already_acked\",\"message\":\"alert 3 was already acknowledged by bob: on it\"}");
	cJSON_Delete(q);
	ck_assert(strstr(f->u.msg, "ack alert 3 (node_suspect db-2, acked by bob) refused: alert 3 was "
			 "already acknowledged by bob: on it") != NULL);
	ck_assert_int_eq(f->u.msg_st, GS_BAD);

	/* Esc cancels, nothing sent */
	key(f, 'a');
	key(f, UK_ESC);
	ck_assert_int_eq(f->u.cmd.stage, UCS_NONE);
	ck_assert_ptr_null(ui_out_pop(&f->u));

	/* the command line: ack ID --reason */
	key(f, ':');
	type(f, "ack 3 --reason taking over");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "verb"), "ack");
	ck_assert_str_eq(jstr(q, "alert"), "3");
	ck_assert_str_eq(jstr(q, "reason"), "taking over");
	cJSON_Delete(q);
	f->u.cmd.stage = UCS_NONE;
	key(f, ':');
	type(f, "ack x7");
	key(f, UK_ENTER);
	ck_assert(strstr(f->u.msg, "usage: ack ALERT_ID") != NULL);
	ck_assert_ptr_null(ui_out_pop(&f->u));

	/* none firing: nothing to acknowledge */
	feed(f, "{\"type\":\"delta\",\"data\":{\"nodes\":[],\"groups\":[],\"alerts\":[]}}");
	key(f, 'a');
	ck_assert(strstr(f->u.msg, "acknowledge: no alert is firing") != NULL);
	ck_assert_int_eq(f->u.input, UI_IN_NONE);
	fx_free(f);
}
END_TEST

START_TEST(test_silence_flow)
{
	struct fx *f = fx_new(40, 150, NULL);
	cJSON *q;

	feed_alerts(f);
	drain(f);
	select_node(f, "web-1");
	key(f, 'x');
	ck_assert_int_eq(f->u.input, UI_IN_SILENCE);
	ck_assert_int_eq(f->u.cmd.stage, UCS_FORM);
	ck_assert_str_eq(f->u.in_buf, "1h");
	render(f);
	assert_has(f, "silence alerts");
	assert_has(f, "> #5    critical node_failed");
	assert_has(f, "match: [x] r rule node_failed  [x] n node web-1  [ ] g group web");
	assert_has(f, "for:   1h");
	/* n off, g on; the duration typed: 30m ('n' and 'g' are not duration units) */
	key(f, 'n');
	key(f, 'g');
	key(f, UK_BACKSPACE);
	key(f, UK_BACKSPACE);
	type(f, "30m");
	render(f);
	assert_has(f, "match: [x] r rule node_failed  [ ] n node web-1  [x] g group web");
	assert_has(f, "for:   30m");
	ck_assert_ptr_null(ui_out_pop(&f->u));
	key(f, UK_ENTER);
	ck_assert_int_eq(f->u.input, UI_IN_REASON);
	render(f);
	assert_has(f, "reason for silence_add rule=node_failed group=web for 30m (audited");
	type(f, "web rebuild");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "verb"), "silence_add");
	ck_assert_str_eq(jstr(q, "rule"), "node_failed");
	ck_assert_str_eq(jstr(q, "group"), "web");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(q, "node"));
	ck_assert_double_eq(jnum(q, "for_ms"), 1800000);
	ck_assert_str_eq(jstr(q, "reason"), "web rebuild");
	answer(f, jnum(q, "id"), true, "{\"silence\":{\"id\":9},\"text\":\"silence 9 added\"}", NULL);
	cJSON_Delete(q);
	ck_assert(strstr(f->u.msg, "silence_add rule=node_failed group=web for 30m: accepted: silence 9 added")
		  != NULL);

	/* a bad duration and no matcher keep the form open */
	key(f, 'x');
	key(f, UK_BACKSPACE);
	key(f, UK_BACKSPACE);
	type(f, "5q");
	key(f, UK_ENTER);
	ck_assert_int_eq(f->u.input, UI_IN_SILENCE);
	ck_assert(strstr(f->u.msg, "'5q' is not a duration") != NULL);
	while (f->u.in_len)
		key(f, UK_BACKSPACE);
	type(f, "2h");
	key(f, 'r');
	key(f, 'n');
	key(f, UK_ENTER);
	ck_assert_int_eq(f->u.input, UI_IN_SILENCE);
	ck_assert(strstr(f->u.msg, "turn at least one matcher on") != NULL);
	/* Down: db-2's alert proposes its rule and node */
	key(f, UK_DOWN);
	ck_assert_int_eq(f->u.cmd.alert_id, 3);
	ck_assert_str_eq(f->u.cmd.p_rule, "node_suspect");
	ck_assert(f->u.cmd.m_node);
	ck_assert_str_eq(f->u.cmd.p_node, "db-2");
	/* a group's alert proposes its group */
	key(f, UK_DOWN);
	ck_assert_str_eq(f->u.cmd.p_group, "pg");
	ck_assert(f->u.cmd.m_group && !f->u.cmd.m_node);
	key(f, UK_ESC);
	ck_assert_int_eq(f->u.cmd.stage, UCS_NONE);
	ck_assert_ptr_null(ui_out_pop(&f->u));

	/* the command line: silence NODE --for --reason; --group */
	key(f, ':');
	type(f, "silence db-2 --for 2h --reason kernel upgrade");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "verb"), "silence_add");
	ck_assert_str_eq(jstr(q, "node"), "db-2");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(q, "rule"));
	ck_assert_double_eq(jnum(q, "for_ms"), 7200000);
	ck_assert_str_eq(jstr(q, "reason"), "kernel upgrade");
	cJSON_Delete(q);
	f->u.cmd.stage = UCS_NONE;
	key(f, ':');
	type(f, "silence --group pg");          /* default 1h, then asks the reason */
	key(f, UK_ENTER);
	ck_assert_int_eq(f->u.input, UI_IN_REASON);
	type(f, "night");
	key(f, UK_ENTER);
	q = pop_req(f);
	ck_assert_str_eq(jstr(q, "group"), "pg");
	ck_assert_double_eq(jnum(q, "for_ms"), 3600000);
	cJSON_Delete(q);
	f->u.cmd.stage = UCS_NONE;
	key(f, ':');
	type(f, "silence");
	key(f, UK_ENTER);
	ck_assert(strstr(f->u.msg, "usage: silence NODE|--group G") != NULL);
	ck_assert_ptr_null(ui_out_pop(&f->u));

	/* none firing: a silence is proposed from the selected node */
	feed(f, "{\"type\":\"delta\",\"data\":{\"nodes\":[],\"groups\":[],\"alerts\":[]}}");
	key(f, 'x');
	ck_assert_int_eq(f->u.input, UI_IN_SILENCE);
	ck_assert(f->u.cmd.m_node && !f->u.cmd.m_rule);
	ck_assert_str_eq(f->u.cmd.p_node, "web-1");
	render(f);
	assert_has(f, "no alert is firing: the silence matches future ones");
	fx_free(f);
}
END_TEST

START_TEST(test_alert_keys_viewer)
{
	struct fx *f = fx_new(40, 120, ",\"you\":{\"name\":\"bob\",\"role\":\"viewer\"}");

	feed_alerts(f);
	render(f);
	drain(f);
	key(f, 'a');
	ck_assert_ptr_null(ui_out_pop(&f->u));
	ck_assert_int_eq(f->u.input, UI_IN_NONE);
	render(f);
	ck_assert(grid_row_has(&f->g, 39, "acknowledge: not allowed: read-only: bob has the viewer role"));
	key(f, 'x');
	ck_assert_int_eq(f->u.input, UI_IN_NONE);
	ck_assert(strstr(f->u.msg, "silence: not allowed: read-only: bob") != NULL);
	key(f, '?');
	render(f);
	ck_assert_int_eq(grid_at(&f->g, grid_find(&f->g, "acknowledge a firing alert"), 14)->st, GS_GREY);
	ck_assert_int_eq(grid_at(&f->g, grid_find(&f->g, "silence: matchers from"), 14)->st, GS_GREY);
	fx_free(f);
}
END_TEST

Suite *dash_suite(void)
{
	Suite *s = suite_create("dash");
	TCase *tc;

	tc = tcase_create("grid");
	tcase_add_test(tc, test_grid_put_and_line);
	tcase_add_test(tc, test_grid_utf8);
	tcase_add_loop_test(tc, test_phi_bar, 0, N(bars));
	tcase_add_test(tc, test_sparkline);
	tcase_add_test(tc, test_phi_history);
	tcase_add_test(tc, test_model_new_fields);
	tcase_add_test(tc, test_model_snapshot_keeps_history);
	tcase_add_test(tc, test_model_delta_removed);
	tcase_add_test(tc, test_model_delta_slice);
	suite_add_tcase(s, tc);

	tc = tcase_create("screens");
	tcase_add_test(tc, test_main_120x40);
	tcase_add_test(tc, test_main_80x24);
	tcase_add_test(tc, test_main_too_small);
	tcase_add_test(tc, test_stale_and_retry);
	tcase_add_test(tc, test_tilt_and_not_recording);
	tcase_add_test(tc, test_failover_in_progress_and_alerts);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_test(tc, test_keys_select_sort_filter);
	tcase_add_test(tc, test_keys_scroll_many);
	tcase_add_test(tc, test_detail);
	tcase_add_test(tc, test_history_and_report);
	tcase_add_test(tc, test_time_travel);
	tcase_add_test(tc, test_help);
	suite_add_tcase(s, tc);

	tc = tcase_create("commands");
	tcase_add_test(tc, test_failover_flow);
	tcase_add_test(tc, test_failover_wrong_name_and_refusal);
	tcase_add_test(tc, test_switchover_pause_maintenance);
	tcase_add_test(tc, test_viewer_role);
	tcase_add_test(tc, test_forbidden_answer);
	tcase_add_test(tc, test_reconnect_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("alerts");
	tcase_add_test(tc, test_alerts_pane_and_frames);
	tcase_add_test(tc, test_ack_flow);
	tcase_add_test(tc, test_silence_flow);
	tcase_add_test(tc, test_alert_keys_viewer);
	suite_add_tcase(s, tc);
	return s;
}
