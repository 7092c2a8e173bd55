/* check_store.c — unit tests for store/: schema, round trips, queries, the
 * queue and the writer thread's failure handling; schema v2's rows (samples
 * and their aggregates, failovers, hook runs, audit), tickets and the commit
 * hook, retention, epochs; schema v3's expected group members, operator
 * overrides and long hook output; v4's integer node and group keys.  (Queries of store/history.h:
 * check_history.c.)
 *
 * Every test opens a fresh store: ":memory:" unless a real file matters, then
 * a file in a mkdtemp() directory made by the checked fixture.  No sleeps:
 * store_flush() is the synchronisation point. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "suites.h"
#include "store/history.h"
#include "store/store.h"

#define SLOW_FLUSH_MS 60000     /* the writer only commits when pushed */

/* Fixture state for the file-backed test cases (each test runs in its own
 * forked child, so this is per test). */
static char tmp_dir[64];
static char db_path[128];

static void file_setup(void)
{
	strcpy(tmp_dir, "/tmp/vigil_store_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
	snprintf(db_path, sizeof(db_path), "%s/test.db", tmp_dir);
}

static void file_teardown(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char path[160];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
		unlink(path);
	}
	rmdir(tmp_dir);
}

static struct store *open_ok(const char *path, int flush_ms)
{
	char err[256] = "";
	struct store *s = store_open(path, flush_ms, err, sizeof(err));

	ck_assert_msg(s != NULL, "store_open(%s): %s", path, err);
	return s;
}

static void make_event(struct store_event *e, int64_t ts_ms, const char *node,
		       const char *kind)
{
	store_event_init(e);
	e->ts_ms = ts_ms;
	snprintf(e->node, sizeof(e->node), "%s", node);
	snprintf(e->group, sizeof(e->group), "g1");
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
}

static void add_event_ok(struct store *s, int64_t ts_ms, const char *node,
			 const char *kind)
{
	struct store_event e;

	make_event(&e, ts_ms, node, kind);
	ck_assert_int_eq(store_add_event(s, &e), 0);
}

static void make_node(struct store_node *n, const char *name, const char *state,
		      int64_t first_ms, int64_t last_ms)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->group, sizeof(n->group), "g1");
	n->priority = 10;
	snprintf(n->version, sizeof(n->version), "1.0.0");
	snprintf(n->boot_id, sizeof(n->boot_id), "boot-1");
	snprintf(n->state, sizeof(n->state), "%s", state);
	n->first_seen_ms = first_ms;
	n->last_seen_ms = last_ms;
}

/* Collects what a read hands to its callback. */
struct collected {
	struct store_event ev[200];
	struct store_node node[8];
	int n;
	int stop_after;         /* 0 = never stop early */
};

static struct collected *collected_new(void)
{
	struct collected *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	return c;
}

static int collect_event(const struct store_event *e, void *arg)
{
	struct collected *c = arg;

	if (c->n < (int)(sizeof(c->ev) / sizeof(c->ev[0])))
		c->ev[c->n] = *e;
	c->n++;
	return c->stop_after && c->n >= c->stop_after;
}

static int collect_node(const struct store_node *n, void *arg)
{
	struct collected *c = arg;

	if (c->n < (int)(sizeof(c->node) / sizeof(c->node[0])))
		c->node[c->n] = *n;
	c->n++;
	return c->stop_after && c->n >= c->stop_after;
}

static int query(struct store *s, struct collected *c, const char *node,
		 const char *kind, int64_t since_ms, int64_t until_ms, int limit)
{
	c->n = 0;
	ck_assert_int_eq(store_query_events(s, node, kind, since_ms, until_ms,
					    limit, collect_event, c), 0);
	return c->n;
}

/* --- open ------------------------------------------------------------- */

START_TEST(test_open_close_memory)
{
	struct store *s = open_ok(":memory:", 0);
	struct store_stats st;

	store_get_stats(s, &st);
	ck_assert(st.recording);
	ck_assert_uint_eq(st.queue_depth, 0);
	ck_assert_uint_eq(st.rows_queued, 0);
	ck_assert_str_eq(st.last_error, "");
	ck_assert_int_eq(store_count_events(s, NULL), 0);
	ck_assert_int_eq(store_flush(s), 0);
	store_close(s);
}
END_TEST

START_TEST(test_close_null_and_bad_args)
{
	struct store_stats st;
	char err[128] = "";

	store_close(NULL);
	store_get_stats(NULL, &st);
	ck_assert_int_eq(store_flush(NULL), -EINVAL);
	ck_assert_int_eq(store_add_event(NULL, NULL), -EINVAL);
	ck_assert_int_eq(store_count_events(NULL, NULL), -1);
	ck_assert_ptr_null(store_open(NULL, 0, err, sizeof(err)));
	ck_assert_str_ne(err, "");
	ck_assert_ptr_null(store_open("", 0, NULL, 0));
}
END_TEST

START_TEST(test_open_bad_path)
{
	const char *path = "/nonexistent-vigil-dir/x/history.db";
	char err[256] = "";

	ck_assert_ptr_null(store_open(path, 0, err, sizeof(err)));
	ck_assert_msg(strstr(err, path) != NULL, "error names the file: %s", err);
}
END_TEST

START_TEST(test_event_init)
{
	struct store_event e;

	memset(&e, 0x5a, sizeof(e));
	store_event_init(&e);
	ck_assert(isnan(e.phi));
	ck_assert(isnan(e.mean_ms));
	ck_assert(isnan(e.sd_ms));
	ck_assert_int_eq(e.samples, -1);
	ck_assert_int_eq(e.hb_age_ms, -1);
	ck_assert_int_eq(e.id, 0);
	ck_assert_int_eq(e.ts_ms, 0);
	ck_assert_str_eq(e.node, "");
	ck_assert_str_eq(e.from_state, "");
	ck_assert_str_eq(e.detail, "");
}
END_TEST

/* --- schema (file) ---------------------------------------------------- */

static int sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

START_TEST(test_migration_sets_user_version)
{
	struct store *s = open_ok(db_path, 0);
	sqlite3 *db = NULL;

	store_close(s);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
				 " ('nodes', 'events', 'meta', 'events_node_ts', 'events_ts')"), 5);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
				 " ('groups', 'failovers', 'hook_runs', 'audit', 'alerts',"
				 " 'samples', 'samples_1m', 'samples_node_ts', 'samples_ts',"
				 " 'events_rare_ts', 'failovers_grp_started')"), 11);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
				 " ('group_members', 'overrides', 'names', 'node_groups')"), 4);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master"
				 " WHERE name = 'events_grp_ts'"), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM pragma_table_info('event_log')"
				 " WHERE name IN ('node_id', 'grp_id')"), 2);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'events'"
				 " AND type = 'view'"), 1);
	sqlite3_close(db);

	/* Opening again is a no-op migration. */
	s = open_ok(db_path, 0);
	store_close(s);
}
END_TEST

START_TEST(test_wal_mode)
{
	struct store *s = open_ok(db_path, 0);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	store_close(s);
}
END_TEST

START_TEST(test_newer_version_refused)
{
	char err[256] = "";
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE future(x);"
				      "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	ck_assert_ptr_null(store_open(db_path, 0, err, sizeof(err)));
	ck_assert_msg(strstr(err, db_path) != NULL, "names the file: %s", err);
	ck_assert_msg(strstr(err, "99") != NULL && strstr(err, "newer") != NULL,
		      "says why: %s", err);

	/* Untouched. */
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), 99);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master"
				 " WHERE name = 'events'"), 0);
	sqlite3_close(db);
}
END_TEST

/* Only meaningful without CAP_DAC_OVERRIDE: root writes through 0444. */
START_TEST(test_readonly_file_refused)
{
	char err[256] = "";

	store_close(open_ok(db_path, 0));
	if (geteuid() == 0)
		return;
	ck_assert_int_eq(chmod(db_path, 0444), 0);
	ck_assert_ptr_null(store_open(db_path, 0, err, sizeof(err)));
	ck_assert_msg(strstr(err, db_path) != NULL, "names the file: %s", err);
}
END_TEST

/* --- rows ------------------------------------------------------------- */

START_TEST(test_event_roundtrip)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	struct collected *c = collected_new();
	struct store_event full;
	struct store_event bare;
	const struct store_event *r;

	store_event_init(&full);
	full.ts_ms = 1700000000123;
	strcpy(full.node, "db-1");
	strcpy(full.group, "pg");
	strcpy(full.kind, "state");
	strcpy(full.from_state, "up");
	strcpy(full.to_state, "suspect");
	strcpy(full.rule, "phi_suspect");
	full.phi = 8.25;
	full.mean_ms = 1000.5;
	full.sd_ms = 12.75;
	full.samples = 200;
	full.hb_age_ms = 4321;
	strcpy(full.detail, "{\"why\":\"late\"}");
	full.id = 12345;        /* ignored on add */
	ck_assert_int_eq(store_add_event(s, &full), 0);

	make_event(&bare, 1700000000000, "", "collector");
	ck_assert_int_eq(store_add_event(s, &bare), 0);

	ck_assert_int_eq(store_count_events(s, NULL), 0);       /* not yet */
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 0), 2);

	r = &c->ev[0];          /* newest first */
	ck_assert_int_gt(r->id, 0);
	ck_assert_int_eq(r->ts_ms, 1700000000123);
	ck_assert_str_eq(r->node, "db-1");
	ck_assert_str_eq(r->group, "pg");
	ck_assert_str_eq(r->kind, "state");
	ck_assert_str_eq(r->from_state, "up");
	ck_assert_str_eq(r->to_state, "suspect");
	ck_assert_str_eq(r->rule, "phi_suspect");
	ck_assert_double_eq(r->phi, 8.25);
	ck_assert_double_eq(r->mean_ms, 1000.5);
	ck_assert_double_eq(r->sd_ms, 12.75);
	ck_assert_int_eq(r->samples, 200);
	ck_assert_int_eq(r->hb_age_ms, 4321);
	ck_assert_str_eq(r->detail, "{\"why\":\"late\"}");

	r = &c->ev[1];
	ck_assert_int_gt(r->id, 0);
	ck_assert_int_ne(r->id, c->ev[0].id);
	ck_assert_int_eq(r->ts_ms, 1700000000000);
	ck_assert_str_eq(r->node, "");
	ck_assert_str_eq(r->group, "g1");
	ck_assert_str_eq(r->kind, "collector");
	ck_assert_str_eq(r->from_state, "");
	ck_assert_str_eq(r->to_state, "");
	ck_assert_str_eq(r->rule, "");
	ck_assert(isnan(r->phi));
	ck_assert(isnan(r->mean_ms));
	ck_assert(isnan(r->sd_ms));
	ck_assert_int_eq(r->samples, -1);
	ck_assert_int_eq(r->hb_age_ms, -1);
	ck_assert_str_eq(r->detail, "");

	free(c);
	store_close(s);
}
END_TEST

/* "Not applicable" really is NULL on disk, and 0 is not "not applicable". */
START_TEST(test_event_nulls_on_disk)
{
	struct store *s = open_ok(db_path, 0);
	struct store_event e;
	sqlite3 *db = NULL;

	make_event(&e, 1, "a", "conn");
	ck_assert_int_eq(store_add_event(s, &e), 0);
	make_event(&e, 2, "a", "state");
	e.phi = 0.0;
	e.mean_ms = 0.0;
	e.sd_ms = 0.0;
	e.samples = 0;
	e.hb_age_ms = 0;
	ck_assert_int_eq(store_add_event(s, &e), 0);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events WHERE ts_ms = 1"
				 " AND phi IS NULL AND mean_ms IS NULL AND sd_ms IS NULL"
				 " AND samples IS NULL AND hb_age_ms IS NULL"
				 " AND from_state IS NULL AND to_state IS NULL"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events WHERE ts_ms = 2"
				 " AND phi = 0 AND mean_ms = 0 AND sd_ms = 0"
				 " AND samples = 0 AND hb_age_ms = 0"), 1);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_node_upsert)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	struct collected *c = collected_new();
	struct store_node n;
	const struct store_node *r;

	make_node(&n, "db-2", "up", 1000, 1000);
	ck_assert_int_eq(store_put_node(s, &n), 0);
	make_node(&n, "db-1", "up", 1500, 1500);
	ck_assert_int_eq(store_put_node(s, &n), 0);
	ck_assert_int_eq(store_flush(s), 0);

	make_node(&n, "db-2", "down", 9000, 9500);
	strcpy(n.group, "pg2");
	n.priority = 5;
	strcpy(n.version, "1.1.0");
	strcpy(n.boot_id, "");
	ck_assert_int_eq(store_put_node(s, &n), 0);
	ck_assert_int_eq(store_flush(s), 0);

	ck_assert_int_eq(store_load_nodes(s, collect_node, c), 0);
	ck_assert_int_eq(c->n, 2);
	r = &c->node[0];        /* by name */
	ck_assert_str_eq(r->name, "db-1");
	ck_assert_int_eq(r->first_seen_ms, 1500);
	r = &c->node[1];
	ck_assert_str_eq(r->name, "db-2");
	ck_assert_str_eq(r->group, "pg2");
	ck_assert_int_eq(r->priority, 5);
	ck_assert_str_eq(r->version, "1.1.0");
	ck_assert_str_eq(r->boot_id, "");
	ck_assert_str_eq(r->state, "down");
	ck_assert_int_eq(r->first_seen_ms, 1000);       /* kept */
	ck_assert_int_eq(r->last_seen_ms, 9500);

	c->n = 0;
	c->stop_after = 1;
	ck_assert_int_eq(store_load_nodes(s, collect_node, c), 0);
	ck_assert_int_eq(c->n, 1);

	free(c);
	store_close(s);
}
END_TEST

/* Unterminated strings are cut at the field size, never overrun. */
START_TEST(test_unterminated_strings)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	struct collected *c = collected_new();
	struct store_event e;

	make_event(&e, 5, "x", "agent");
	memset(e.node, 'n', sizeof(e.node));
	memset(e.detail, 'd', sizeof(e.detail));
	memset(e.kind, 'k', sizeof(e.kind));
	ck_assert_int_eq(store_add_event(s, &e), 0);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 0), 1);
	ck_assert_uint_eq(strlen(c->ev[0].node), STORE_NAME_MAX);
	ck_assert_uint_eq(strlen(c->ev[0].detail), STORE_DETAIL_MAX);
	ck_assert_uint_eq(strlen(c->ev[0].kind), sizeof(e.kind) - 1);
	free(c);
	store_close(s);
}
END_TEST

START_TEST(test_invalid_args)
{
	struct store *s = open_ok(":memory:", 0);
	struct store_event e;
	struct store_node n;
	struct store_stats st;

	make_event(&e, 1, "a", "conn");
	make_node(&n, "", "up", 1, 1);
	ck_assert_int_eq(store_add_event(s, NULL), -EINVAL);
	ck_assert_int_eq(store_add_event(NULL, &e), -EINVAL);
	ck_assert_int_eq(store_put_node(s, NULL), -EINVAL);
	ck_assert_int_eq(store_put_node(s, &n), -EINVAL);       /* no name */
	ck_assert_int_eq(store_load_nodes(s, NULL, NULL), -EINVAL);
	ck_assert_int_eq(store_query_events(s, NULL, NULL, 0, 0, 0, NULL, NULL), -EINVAL);
	store_get_stats(s, &st);
	ck_assert_uint_eq(st.rows_queued, 0);
	ck_assert_uint_eq(st.rows_refused, 0);
	store_close(s);
}
END_TEST

/* --- queries ---------------------------------------------------------- */

/* ts 100..109 for node a (kinds alternate state/conn), 105..114 for b. */
static struct store *open_with_history(void)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	int i;

	for (i = 0; i < 10; i++) {
		add_event_ok(s, 100 + i, "a", i % 2 ? "conn" : "state");
		add_event_ok(s, 105 + i, "b", i % 2 ? "conn" : "state");
	}
	ck_assert_int_eq(store_flush(s), 0);
	return s;
}

START_TEST(test_query_newest_first)
{
	struct store *s = open_with_history();
	struct collected *c = collected_new();
	int i;

	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 0), 20);
	for (i = 1; i < c->n; i++) {
		ck_assert_int_ge(c->ev[i - 1].ts_ms, c->ev[i].ts_ms);
		if (c->ev[i - 1].ts_ms == c->ev[i].ts_ms)       /* ties: newest row first */
			ck_assert_int_gt(c->ev[i - 1].id, c->ev[i].id);
	}
	ck_assert_int_eq(c->ev[0].ts_ms, 114);
	ck_assert_int_eq(c->ev[19].ts_ms, 100);
	free(c);
	store_close(s);
}
END_TEST

START_TEST(test_query_filters)
{
	struct store *s = open_with_history();
	struct collected *c = collected_new();
	int i;

	ck_assert_int_eq(query(s, c, "a", NULL, 0, 0, 0), 10);
	for (i = 0; i < c->n; i++)
		ck_assert_str_eq(c->ev[i].node, "a");
	ck_assert_int_eq(c->ev[0].ts_ms, 109);

	ck_assert_int_eq(query(s, c, "", "conn", 0, 0, 0), 10);
	for (i = 0; i < c->n; i++)
		ck_assert_str_eq(c->ev[i].kind, "conn");

	ck_assert_int_eq(query(s, c, "b", "state", 0, 0, 0), 5);
	ck_assert_int_eq(query(s, c, "nobody", NULL, 0, 0, 0), 0);
	ck_assert_int_eq(query(s, c, NULL, "nothing", 0, 0, 0), 0);

	/* Inclusive bounds. */
	ck_assert_int_eq(query(s, c, NULL, NULL, 108, 0, 0), 2 + 7);       /* a 108-109, b 108-114 */
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 101, 0), 2);
	ck_assert_int_eq(query(s, c, "b", NULL, 106, 107, 0), 2);
	ck_assert_int_eq(c->ev[0].ts_ms, 107);
	ck_assert_int_eq(c->ev[1].ts_ms, 106);
	ck_assert_int_eq(query(s, c, "a", "state", 102, 106, 0), 3);       /* 102, 104, 106 */
	ck_assert_int_eq(query(s, c, NULL, NULL, 110, 109, 0), 0);
	free(c);
	store_close(s);
}
END_TEST

START_TEST(test_query_limit)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	struct collected *c = collected_new();
	int i;

	for (i = 0; i < 150; i++)
		add_event_ok(s, 1000 + i, "a", "agent");
	ck_assert_int_eq(store_flush(s), 0);

	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 3), 3);
	ck_assert_int_eq(c->ev[0].ts_ms, 1149);
	ck_assert_int_eq(c->ev[2].ts_ms, 1147);
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 0), 100);       /* default */
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, -5), 100);
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 1000), 150);

	c->stop_after = 7;                                              /* callback stops */
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 1000), 7);
	free(c);
	store_close(s);
}
END_TEST

START_TEST(test_count)
{
	struct store *s = open_with_history();

	ck_assert_int_eq(store_count_events(s, NULL), 20);
	ck_assert_int_eq(store_count_events(s, ""), 20);
	ck_assert_int_eq(store_count_events(s, "state"), 10);
	ck_assert_int_eq(store_count_events(s, "conn"), 10);
	ck_assert_int_eq(store_count_events(s, "nothing"), 0);
	store_close(s);
}
END_TEST

/* --- queue and writer ------------------------------------------------- */

START_TEST(test_queue_full)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	struct store_event e;
	struct store_node n;
	struct store_stats st;

	store_set_queue_max(s, 3);
	make_event(&e, 1, "a", "conn");
	make_node(&n, "a", "up", 1, 1);
	ck_assert_int_eq(store_add_event(s, &e), 0);
	ck_assert_int_eq(store_add_event(s, &e), 0);
	ck_assert_int_eq(store_put_node(s, &n), 0);
	ck_assert_int_eq(store_add_event(s, &e), -ENOSPC);
	ck_assert_int_eq(store_put_node(s, &n), -ENOSPC);

	store_get_stats(s, &st);
	ck_assert_uint_eq(st.rows_queued, 3);
	ck_assert_uint_eq(st.rows_refused, 2);
	ck_assert_uint_eq(st.queue_depth, 3);

	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_add_event(s, &e), 0);                    /* room again */
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_count_events(s, NULL), 3);
	store_get_stats(s, &st);
	ck_assert_uint_eq(st.rows_written, 4);
	ck_assert_uint_eq(st.queue_depth, 0);
	store_close(s);
}
END_TEST

START_TEST(test_bulk_10000)
{
	struct store *s = open_ok(":memory:", 1000);
	struct store_stats st;
	int i;

	for (i = 0; i < 10000; i++)
		add_event_ok(s, i + 1, i % 2 ? "a" : "b", "agent");
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_count_events(s, NULL), 10000);
	store_get_stats(s, &st);
	ck_assert_uint_eq(st.rows_queued, 10000);
	ck_assert_uint_eq(st.rows_written, 10000);
	ck_assert_uint_eq(st.queue_depth, 0);
	ck_assert_uint_ge(st.batches, 10000 / STORE_BATCH_ROWS);
	ck_assert_msg(st.batches <= 20, "%llu batches for 10000 rows",
		      (unsigned long long)st.batches);
	ck_assert_uint_eq(st.write_errors, 0);
	store_close(s);
}
END_TEST

struct producer {
	struct store *s;
	int id;
	int rows;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct store_event e;
	char node[16];
	int i;

	snprintf(node, sizeof(node), "p%d", p->id);
	for (i = 0; i < p->rows; i++) {
		make_event(&e, i + 1, node, "agent");
		if (store_add_event(p->s, &e) != 0)
			return (void *)1;
		if (i % 500 == 0 && store_flush(p->s) != 0)
			return (void *)1;
	}
	return NULL;
}

START_TEST(test_concurrent_producers)
{
	struct store *s = open_ok(db_path, 5);
	struct producer p[4];
	pthread_t t[4];
	struct store_stats st;
	void *ret;
	int i;

	for (i = 0; i < 4; i++) {
		p[i].s = s;
		p[i].id = i;
		p[i].rows = 2000;
		ck_assert_int_eq(pthread_create(&t[i], NULL, producer_main, &p[i]), 0);
	}
	for (i = 0; i < 20; i++) {                      /* reads meanwhile */
		ck_assert_int_ge(store_count_events(s, NULL), 0);
		store_get_stats(s, &st);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_count_events(s, NULL), 8000);
	store_get_stats(s, &st);
	ck_assert_uint_eq(st.rows_written, 8000);
	store_close(s);
}
END_TEST

/* --- write failures --------------------------------------------------- */

START_TEST(test_write_failure_keeps_rows)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	struct collected *c = collected_new();
	struct store_stats st;
	int i;

	add_event_ok(s, 1, "a", "conn");
	ck_assert_int_eq(store_flush(s), 0);

	store_debug_fail_writes(s, true);
	for (i = 0; i < 5; i++)
		add_event_ok(s, 10 + i, "a", "state");
	ck_assert_int_eq(store_flush(s), -EIO);

	store_get_stats(s, &st);
	ck_assert(!st.recording);
	ck_assert_uint_ge(st.write_errors, 1);
	ck_assert_uint_eq(st.queue_depth, 5);
	ck_assert_uint_eq(st.rows_written, 1);
	ck_assert_msg(strstr(st.last_error, ":memory:") != NULL &&
		      strstr(st.last_error, "readonly") != NULL,
		      "last_error: %s", st.last_error);
	ck_assert_int_eq(store_count_events(s, NULL), 1);       /* rolled back */

	/* Still failing: new rows queue up behind the kept ones. */
	for (i = 0; i < 5; i++)
		add_event_ok(s, 20 + i, "b", "state");
	ck_assert_int_eq(store_flush(s), -EIO);
	store_get_stats(s, &st);
	ck_assert(!st.recording);
	ck_assert_uint_ge(st.write_errors, 2);
	ck_assert_uint_eq(st.queue_depth, 10);

	/* Writes work again: nothing lost, in order. */
	store_debug_fail_writes(s, false);
	ck_assert_int_eq(store_flush(s), 0);
	store_get_stats(s, &st);
	ck_assert(st.recording);
	ck_assert_uint_eq(st.queue_depth, 0);
	ck_assert_uint_eq(st.rows_written, 11);
	ck_assert_uint_eq(st.rows_queued, 11);
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 0), 11);
	for (i = 1; i < c->n; i++)                              /* queue order kept */
		ck_assert_int_gt(c->ev[i - 1].id, c->ev[i].id);
	ck_assert_int_eq(c->ev[0].ts_ms, 24);
	ck_assert_int_eq(c->ev[10].ts_ms, 1);
	free(c);
	store_close(s);
}
END_TEST

/* Close makes one last attempt, then gives up rather than hang. */
START_TEST(test_close_while_failing)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);

	store_debug_fail_writes(s, true);
	add_event_ok(s, 1, "a", "conn");
	add_event_ok(s, 2, "a", "conn");
	ck_assert_int_eq(store_flush(s), -EIO);
	store_close(s);
}
END_TEST

/* --- durability (file) ------------------------------------------------ */

START_TEST(test_close_flushes)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	struct store_node n;
	int i;

	for (i = 0; i < 2500; i++)
		add_event_ok(s, i + 1, "a", "agent");
	make_node(&n, "a", "up", 1, 2);
	ck_assert_int_eq(store_put_node(s, &n), 0);
	store_close(s);                 /* no flush */

	s = open_ok(db_path, 0);
	ck_assert_int_eq(store_count_events(s, NULL), 2500);
	store_close(s);
}
END_TEST

START_TEST(test_survives_reopen)
{
	struct store *s = open_ok(db_path, 0);
	struct collected *c = collected_new();
	struct store_event e;
	struct store_node n;
	struct stat sb;
	char wal[160];

	make_event(&e, 42, "db-1", "state");
	strcpy(e.from_state, "up");
	strcpy(e.to_state, "down");
	e.phi = 12.5;
	ck_assert_int_eq(store_add_event(s, &e), 0);
	make_node(&n, "db-1", "down", 10, 42);
	ck_assert_int_eq(store_put_node(s, &n), 0);
	ck_assert_int_eq(store_flush(s), 0);
	store_close(s);

	/* A clean close checkpoints and truncates (or removes) the WAL. */
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	ck_assert(stat(wal, &sb) != 0 || sb.st_size == 0);

	s = open_ok(db_path, 0);
	ck_assert_int_eq(query(s, c, "db-1", NULL, 0, 0, 0), 1);
	ck_assert_int_eq(c->ev[0].ts_ms, 42);
	ck_assert_str_eq(c->ev[0].to_state, "down");
	ck_assert_double_eq(c->ev[0].phi, 12.5);
	ck_assert(isnan(c->ev[0].mean_ms));
	c->n = 0;
	ck_assert_int_eq(store_load_nodes(s, collect_node, c), 0);
	ck_assert_int_eq(c->n, 1);
	ck_assert_str_eq(c->node[0].state, "down");
	ck_assert_int_eq(c->node[0].last_seen_ms, 42);
	free(c);
	store_close(s);
}
END_TEST

/* A reader sees committed rows only, while the writer thread works. */
START_TEST(test_file_reads_during_writes)
{
	struct store *s = open_ok(db_path, 1);
	int64_t seen = 0;
	int64_t now;
	int i;

	for (i = 0; i < 3000; i++) {
		add_event_ok(s, i + 1, "a", "agent");
		if (i % 100 == 0) {
			now = store_count_events(s, NULL);
			ck_assert_int_ge(now, seen);            /* never goes back */
			ck_assert_int_le(now, i + 1);
			seen = now;
		}
	}
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_count_events(s, NULL), 3000);
	store_close(s);
}
END_TEST

/* --- schema v2 ----------------------------------------------------------- */

/* The schema of release 1, as it shipped (store.c's migration 1). */
static const char v1_sql[] =
	"CREATE TABLE nodes("
	" name TEXT PRIMARY KEY, grp TEXT NOT NULL, priority INTEGER NOT NULL,"
	" version TEXT, boot_id TEXT, state TEXT NOT NULL,"
	" first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);"
	"CREATE TABLE events("
	" id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, node TEXT NOT NULL,"
	" grp TEXT NOT NULL, kind TEXT NOT NULL, from_state TEXT, to_state TEXT,"
	" rule TEXT, phi REAL, mean_ms REAL, sd_ms REAL, samples INTEGER,"
	" hb_age_ms INTEGER, detail TEXT);"
	"CREATE INDEX events_node_ts ON events(node, ts_ms);"
	"CREATE INDEX events_ts ON events(ts_ms);"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
	"INSERT INTO nodes VALUES('db-1', 'pg', 10, '1.0.0', 'b1', 'alive', 5, 50);"
	"INSERT INTO events(ts_ms, node, grp, kind, from_state, to_state, rule,"
	" hb_age_ms) VALUES(10, 'db-1', 'pg', 'state', NULL, 'alive', 'hello', NULL);"
	"INSERT INTO events(ts_ms, node, grp, kind, from_state, to_state, rule,"
	" hb_age_ms) VALUES(20, 'db-1', 'pg', 'state', 'alive', 'failed', 'phi', 1500);"
	"INSERT INTO meta VALUES('created_by', 'vigil 1');"
	"PRAGMA user_version=1;";

START_TEST(test_migration_v1_to_v2)
{
	struct collected *c = collected_new();
	struct store_sample x;
	struct store *s;
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v1_sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_ok(db_path, 0);
	store_set_retention(s, 0, 0);                   /* keep the 1970 sample */
	/* Old rows are all there and readable. */
	ck_assert_int_eq(query(s, c, "db-1", NULL, 0, 0, 0), 2);
	ck_assert_str_eq(c->ev[0].to_state, "failed");
	ck_assert_int_eq(c->ev[0].hb_age_ms, 1500);
	c->n = 0;
	ck_assert_int_eq(store_load_nodes(s, collect_node, c), 0);
	ck_assert_int_eq(c->n, 1);
	ck_assert_str_eq(c->node[0].group, "pg");
	/* New tables work. */
	store_sample_init(&x);
	strcpy(x.node, "db-1");
	x.ts_ms = 60000;
	x.cpu = 0.5;
	ck_assert_int_eq(store_add_sample(s, &x), 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 3, "db-1"), 0);
	ck_assert_int_eq(store_flush(s), 0);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events"), 2);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM meta"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT n FROM samples_1m"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT epoch FROM groups WHERE name = 'pg'"), 3);
	/* The new indexes cover the old events too. */
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM node_groups WHERE grp_id ="
				 " (SELECT id FROM names WHERE name = 'pg') AND node_id ="
				 " (SELECT id FROM names WHERE name = 'db-1')"), 1);
	sqlite3_close(db);

	/* And opening again changes nothing. */
	s = open_ok(db_path, 0);
	ck_assert_int_eq(store_count_events(s, NULL), 2);
	store_close(s);
	free(c);
}
END_TEST

/* The plan of each query shape history.c builds: the index it relies on.
 * (EXPLAIN QUERY PLAN's detail column names it.) */
static void ck_plan(sqlite3 *db, const char *sql, const char *index)
{
	sqlite3_stmt *st = NULL;
	char plan[512] = "";
	size_t len = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && len < sizeof(plan) - 1)
		len += (size_t)snprintf(plan + len, sizeof(plan) - len, "%s; ",
					(const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	ck_assert_msg(strstr(plan, index) != NULL, "%s\n  plan: %s\n  wanted %s", sql,
		      plan, index);
}

START_TEST(test_query_plans)
{
	sqlite3 *db = NULL;

	store_close(open_ok(db_path, 0));
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_plan(db, "EXPLAIN QUERY PLAN SELECT " STORE_SQL_EVENT_COLUMNS " FROM event_log"
		" WHERE 1 AND node_id = " STORE_SQL_NAME_ID " AND kind IN (?, ?)"
		" ORDER BY ts_ms DESC, id DESC LIMIT ?", "events_node_ts (node_id=?)");
	ck_plan(db, "EXPLAIN QUERY PLAN SELECT id FROM event_log WHERE 1 AND node_id = "
		STORE_SQL_NAME_ID " AND +grp_id = " STORE_SQL_NAME_ID " AND id < ?"
		" ORDER BY ts_ms DESC, id DESC LIMIT ?", "events_node_ts (node_id=?)");
	ck_plan(db, "EXPLAIN QUERY PLAN SELECT g.grp_id, g.node_id FROM node_groups g"
		" WHERE g.grp_id = " STORE_SQL_NAME_ID " LIMIT ?", "PRIMARY KEY (grp_id=?)");
	ck_plan(db, "EXPLAIN QUERY PLAN SELECT id FROM event_log WHERE 1 AND node_id = ?"
		" AND +grp_id = ? AND kind = ? ORDER BY ts_ms DESC, id DESC LIMIT ?",
		"events_node_ts (node_id=?)");
	ck_plan(db, "EXPLAIN QUERY PLAN SELECT id FROM event_log WHERE 1 AND "
		STORE_SQL_RARE_KINDS " AND kind IN (?, ?) ORDER BY ts_ms DESC, id DESC LIMIT ?",
		"events_rare_ts");
	ck_plan(db, "EXPLAIN QUERY PLAN SELECT id FROM event_log WHERE 1 AND kind = ?"
		" ORDER BY ts_ms DESC, id DESC LIMIT ?", "events_ts");
	ck_plan(db, "EXPLAIN QUERY PLAN SELECT ts_ms FROM event_log WHERE kind = 'state'"
		" AND node_id = ?1 AND ts_ms <= ?2 ORDER BY ts_ms DESC, id DESC LIMIT 1",
		"events_node_ts (node_id=? AND ts_ms<?)");
	ck_plan(db, "EXPLAIN QUERY PLAN DELETE FROM samples WHERE ts_ms < ?1 LIMIT ?2",
		"samples_ts");
	ck_plan(db, "EXPLAIN QUERY PLAN DELETE FROM samples_1m WHERE minute_ms < ?1 LIMIT ?2",
		"samples_1m_minute");
	sqlite3_close(db);
}
END_TEST

/* --- samples ---------------------------------------------------------- */

static void add_sample_ok(struct store *s, const char *node, int64_t ts_ms,
			  double cpu, double mem, double disk, double rtt_ms)
{
	struct store_sample x;

	store_sample_init(&x);
	snprintf(x.node, sizeof(x.node), "%s", node);
	x.ts_ms = ts_ms;
	x.cpu = cpu;
	x.mem = mem;
	x.disk = disk;
	x.rtt_ms = rtt_ms;
	ck_assert_int_eq(store_add_sample(s, &x), 0);
}

static double sql_double(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	double v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

START_TEST(test_samples_and_minutes)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	struct store_sample x;
	sqlite3 *db = NULL;

	store_set_retention(s, 0, 0);                   /* 1970 is older than any default */

	/* Minute [60000, 120000) of a: cpu 1, 2, 6 (mean 3, max 6); mem once
	 * unknown (mean of 10 and 40); rtt never known; disk max 0.75. */
	add_sample_ok(s, "a", 60000, 1.0, 10.0, 0.5, NAN);
	add_sample_ok(s, "a", 75000, 2.0, NAN, 0.75, NAN);
	add_sample_ok(s, "a", 119999, 6.0, 40.0, 0.25, NAN);
	/* The next minute, and before 1970 (floor, not truncation). */
	add_sample_ok(s, "a", 120000, 9.0, 1.0, 0.1, 3.0);
	add_sample_ok(s, "a", -1, 4.0, NAN, NAN, NAN);
	/* Same minute, another node. */
	add_sample_ok(s, "b", 61000, 100.0, NAN, NAN, 8.0);
	store_sample_init(&x);
	ck_assert_int_eq(store_add_sample(s, &x), -EINVAL);     /* no node */
	ck_assert_int_eq(store_add_sample(s, NULL), -EINVAL);
	ck_assert_int_eq(store_flush(s), 0);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples"), 6);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples WHERE node = 'a'"
				 " AND ts_ms = 75000 AND mem IS NULL AND rtt_ms IS NULL"
				 " AND load1 IS NULL AND cpu = 2"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples_1m"), 4);
	ck_assert_int_eq(sql_int(db, "SELECT n FROM samples_1m WHERE node = 'a'"
				 " AND minute_ms = 60000"), 3);
	ck_assert_double_eq_tol(sql_double(db, "SELECT cpu_avg FROM samples_1m"
					   " WHERE node = 'a' AND minute_ms = 60000"), 3.0, 1e-9);
	ck_assert_double_eq(sql_double(db, "SELECT cpu_max FROM samples_1m"
				       " WHERE node = 'a' AND minute_ms = 60000"), 6.0);
	ck_assert_double_eq_tol(sql_double(db, "SELECT mem_avg FROM samples_1m"
					   " WHERE node = 'a' AND minute_ms = 60000"), 25.0, 1e-9);
	ck_assert_double_eq(sql_double(db, "SELECT mem_max FROM samples_1m"
				       " WHERE node = 'a' AND minute_ms = 60000"), 40.0);
	ck_assert_double_eq(sql_double(db, "SELECT disk_max FROM samples_1m"
				       " WHERE node = 'a' AND minute_ms = 60000"), 0.75);
	ck_assert(isnan(sql_double(db, "SELECT rtt_avg FROM samples_1m"
				   " WHERE node = 'a' AND minute_ms = 60000")));
	ck_assert(isnan(sql_double(db, "SELECT rtt_max FROM samples_1m"
				   " WHERE node = 'a' AND minute_ms = 60000")));
	ck_assert(isnan(sql_double(db, "SELECT load1_avg FROM samples_1m"
				   " WHERE node = 'a' AND minute_ms = 60000")));
	ck_assert_double_eq(sql_double(db, "SELECT rtt_avg FROM samples_1m"
				       " WHERE node = 'a' AND minute_ms = 120000"), 3.0);
	ck_assert_int_eq(sql_int(db, "SELECT n FROM samples_1m WHERE node = 'a'"
				 " AND minute_ms = -60000"), 1);
	ck_assert_double_eq(sql_double(db, "SELECT cpu_max FROM samples_1m"
				       " WHERE node = 'b' AND minute_ms = 60000"), 100.0);
	ck_assert_double_eq(sql_double(db, "SELECT rtt_max FROM samples_1m"
				       " WHERE node = 'b' AND minute_ms = 60000"), 8.0);
	sqlite3_close(db);
}
END_TEST

/* A mean folded one sample at a time stays the mean. */
START_TEST(test_minute_running_mean)
{
	struct store *s = open_ok(db_path, 5);
	sqlite3 *db = NULL;
	int i;

	store_set_retention(s, 0, 0);                   /* 1970 is older than any default */

	for (i = 0; i < 600; i++)       /* 0.1 s apart: 6 minutes of i % 7 */
		add_sample_ok(s, "m", 600000 + i * 100, (double)(i % 7),
			      i % 3 ? (double)i : NAN, NAN, NAN);
	ck_assert_int_eq(store_flush(s), 0);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples_1m"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT n FROM samples_1m"), 600);
	ck_assert_int_eq(sql_int(db, "SELECT mem_n FROM samples_1m"), 400);
	ck_assert_double_eq_tol(sql_double(db, "SELECT cpu_avg FROM samples_1m"),
				sql_double(db, "SELECT avg(cpu) FROM samples"), 1e-9);
	ck_assert_double_eq_tol(sql_double(db, "SELECT mem_avg FROM samples_1m"),
				sql_double(db, "SELECT avg(mem) FROM samples"), 1e-9);
	ck_assert_double_eq(sql_double(db, "SELECT mem_max FROM samples_1m"), 599.0);
	sqlite3_close(db);
}
END_TEST

/* --- structured rows -------------------------------------------------- */

START_TEST(test_failover_hook_audit_rows)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	struct collected *c = collected_new();
	struct store_failover f;
	struct store_hook_run h;
	struct store_audit a;
	sqlite3 *db = NULL;
	uint64_t t1 = 0;
	uint64_t t2 = 0;
	uint64_t t3 = 0;

	store_failover_init(&f);
	strcpy(f.group, "pg");
	f.started_ms = 1000;
	f.detected_ms = 1000;
	f.decided_ms = 1200;
	f.promoted_ms = 1500;
	f.finished_ms = 1700;
	strcpy(f.old_leader, "db-1");
	strcpy(f.new_leader, "db-2");
	f.epoch = 4;
	strcpy(f.outcome, "promoted");
	strcpy(f.reason, "leader failed");
	ck_assert_int_eq(store_add_failover(s, &f, &t1), 0);

	memset(&h, 0, sizeof(h));
	h.ts_ms = 1600;
	strcpy(h.node, "db-2");
	strcpy(h.group, "pg");
	strcpy(h.hook, "promote");
	h.epoch = 4;
	h.rc = 0;
	h.duration_ms = 90;
	strcpy(h.output, "promoted\n");
	ck_assert_int_eq(store_add_hook_run(s, &h, &t2), 0);

	memset(&a, 0, sizeof(a));
	a.ts_ms = 1800;
	strcpy(a.operator_name, "alice");
	strcpy(a.role, "admin");
	strcpy(a.command, "maintenance");
	strcpy(a.target, "db-1");
	strcpy(a.reason, "disk swap");
	a.dry_run = true;
	strcpy(a.result, "ok");
	strcpy(a.node, "db-1");
	strcpy(a.group, "pg");
	ck_assert_int_eq(store_add_audit(s, &a, &t3), 0);
	ck_assert_uint_eq(t2, t1 + 1);
	ck_assert_uint_eq(t3, t2 + 1);

	strcpy(f.group, "");
	ck_assert_int_eq(store_add_failover(s, &f, NULL), -EINVAL);
	strcpy(h.hook, "");
	ck_assert_int_eq(store_add_hook_run(s, &h, NULL), -EINVAL);
	strcpy(a.command, "");
	ck_assert_int_eq(store_add_audit(s, &a, NULL), -EINVAL);
	ck_assert_int_eq(store_flush(s), 0);

	/* One summary row each in events. */
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 0), 3);
	ck_assert_str_eq(c->ev[0].kind, "audit");
	ck_assert_int_eq(c->ev[0].ts_ms, 1800);
	ck_assert_str_eq(c->ev[0].node, "db-1");
	ck_assert_str_eq(c->ev[0].rule, "maintenance");
	ck_assert_str_eq(c->ev[0].detail, "alice (admin): maintenance db-1: ok (dry run)");
	ck_assert_str_eq(c->ev[1].kind, "failover");
	ck_assert_int_eq(c->ev[1].ts_ms, 1700);
	ck_assert_str_eq(c->ev[1].node, "db-1");
	ck_assert_str_eq(c->ev[1].group, "pg");
	ck_assert_str_eq(c->ev[1].rule, "promoted");
	ck_assert_str_eq(c->ev[1].detail, "epoch 4: db-1 -> db-2: leader failed");
	ck_assert_str_eq(c->ev[2].kind, "hook");
	ck_assert_str_eq(c->ev[2].node, "db-2");
	ck_assert_str_eq(c->ev[2].rule, "promote");
	ck_assert_str_eq(c->ev[2].detail, "rc=0 duration_ms=90");
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failovers WHERE grp = 'pg'"
				 " AND started_ms = 1000 AND decided_ms = 1200"
				 " AND promoted_ms = 1500 AND finished_ms = 1700"
				 " AND old_leader = 'db-1' AND new_leader = 'db-2'"
				 " AND epoch = 4 AND outcome = 'promoted'"
				 " AND reason = 'leader failed' AND detail IS NULL"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM hook_runs WHERE node = 'db-2'"
				 " AND hook = 'promote' AND rc = 0 AND duration_ms = 90"
				 " AND epoch = 4 AND output = 'promoted\n'"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM audit WHERE operator = 'alice'"
				 " AND role = 'admin' AND command = 'maintenance'"
				 " AND target = 'db-1' AND reason = 'disk swap'"
				 " AND dry_run = 1 AND result = 'ok'"), 1);
	sqlite3_close(db);
	free(c);
}
END_TEST

/* --- tickets and the commit hook ---------------------------------------- */

struct hook_log {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct store *s;
	int calls;
	uint64_t seen;          /* store_committed_ticket() inside the hook */
};

static void hook_log_init(struct hook_log *h, struct store *s)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->s = s;
}

static void hook_log_done(struct hook_log *h)
{
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
}

static void log_commit(void *arg)
{
	struct hook_log *h = arg;

	pthread_mutex_lock(&h->lock);
	h->calls++;
	h->seen = store_committed_ticket(h->s);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Wait (5 s at most) until the hook has seen ticket; its call count. */
static int hook_wait(struct hook_log *h, uint64_t ticket)
{
	struct timespec deadline;
	int calls;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&h->lock);
	while (h->seen < ticket &&
	       pthread_cond_timedwait(&h->cond, &h->lock, &deadline) == 0)
		;
	ck_assert_uint_ge(h->seen, ticket);
	calls = h->calls;
	pthread_mutex_unlock(&h->lock);
	return calls;
}

START_TEST(test_tickets)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	struct store_event e;
	struct store_node n;
	struct store_sample x;
	uint64_t t[4] = { 0 };
	uint64_t refused = 77;

	ck_assert_uint_eq(store_committed_ticket(s), 0);
	ck_assert_uint_eq(store_committed_ticket(NULL), 0);
	make_event(&e, 1, "a", "agent");
	ck_assert_int_eq(store_add_event_ticket(s, &e, &t[0]), 0);
	make_node(&n, "a", "alive", 1, 1);
	ck_assert_int_eq(store_put_node_ticket(s, &n, &t[1]), 0);
	store_sample_init(&x);
	strcpy(x.node, "a");
	ck_assert_int_eq(store_add_sample_ticket(s, &x, &t[2]), 0);
	ck_assert_int_eq(store_add_event(s, &e), 0);            /* ticket 4, unseen */
	ck_assert_int_eq(store_add_event_ticket(s, &e, &t[3]), 0);
	ck_assert_uint_eq(t[0], 1);
	ck_assert_uint_eq(t[1], 2);
	ck_assert_uint_eq(t[2], 3);
	ck_assert_uint_eq(t[3], 5);
	ck_assert_uint_eq(store_committed_ticket(s), 0);        /* nothing committed yet */
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_uint_eq(store_committed_ticket(s), 5);

	/* A refused row gets no ticket. */
	store_set_queue_max(s, 1);
	ck_assert_int_eq(store_add_event_ticket(s, &e, &t[0]), 0);
	ck_assert_int_eq(store_add_event_ticket(s, &e, &refused), -ENOSPC);
	ck_assert_uint_eq(refused, 77);
	ck_assert_uint_eq(t[0], 6);

	/* Failing commits do not move it; the retry does. */
	store_debug_fail_writes(s, true);
	ck_assert_int_eq(store_flush(s), -EIO);
	ck_assert_uint_eq(store_committed_ticket(s), 5);
	store_debug_fail_writes(s, false);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_uint_eq(store_committed_ticket(s), 6);
	store_close(s);
}
END_TEST

START_TEST(test_commit_hook)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	struct hook_log h;
	struct store_event e;
	uint64_t t = 0;
	int calls;
	int i;

	hook_log_init(&h, s);
	store_set_commit_hook(s, log_commit, &h);
	make_event(&e, 1, "a", "agent");
	for (i = 0; i < 3 * 800; i++) {                 /* three commits */
		ck_assert_int_eq(store_add_event_ticket(s, &e, &t), 0);
		if (i % 800 == 799) {
			ck_assert_int_eq(store_flush(s), 0);
			calls = hook_wait(&h, t);
			ck_assert_int_eq(calls, i / 800 + 1);
		}
	}
	ck_assert_uint_eq(h.seen, 2400);

	/* Removed: not called again. */
	store_set_commit_hook(s, NULL, NULL);
	ck_assert_int_eq(store_add_event_ticket(s, &e, &t), 0);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_uint_eq(store_committed_ticket(s), t);
	pthread_mutex_lock(&h.lock);
	ck_assert_int_eq(h.calls, calls);
	pthread_mutex_unlock(&h.lock);

	/* Not called for a failed commit.  (It may still be called late for
	 * the commit above, which had ended before the hook was set again.) */
	store_set_commit_hook(s, log_commit, &h);
	store_debug_fail_writes(s, true);
	ck_assert_int_eq(store_add_event_ticket(s, &e, &t), 0);
	ck_assert_int_eq(store_flush(s), -EIO);
	store_set_commit_hook(s, NULL, NULL);
	pthread_mutex_lock(&h.lock);
	ck_assert_uint_lt(h.seen, t);
	pthread_mutex_unlock(&h.lock);
	ck_assert_uint_eq(store_committed_ticket(s), t - 1);
	store_debug_fail_writes(s, false);
	store_close(s);
	hook_log_done(&h);
}
END_TEST

/* --- retention ------------------------------------------------------- */

static int64_t wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define HOUR_MS (3600LL * 1000)

/* 2500 raw samples two to three hours old (42 minutes of aggregates), 10
 * recent ones, and events as old as the oldest samples. */
static void add_aged_rows(struct store *s, int64_t now)
{
	int i;

	for (i = 0; i < 2500; i++)
		add_sample_ok(s, "old", now - 2 * HOUR_MS - i * 1000, 1.0, 2.0, 3.0, 4.0);
	for (i = 0; i < 10; i++)
		add_sample_ok(s, "new", now - i * 1000, 1.0, 2.0, 3.0, 4.0);
	for (i = 0; i < 20; i++)
		add_event_ok(s, now - 3 * HOUR_MS + i, "old", "state");
	ck_assert_int_eq(store_flush(s), 0);
}

START_TEST(test_prune_steps)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	int64_t now = wall_now_ms();
	struct store_stats st;
	sqlite3 *db = NULL;
	int minutes;

	store_debug_pause_pruning(s, true);            /* only the steps asked for */
	store_set_retention(s, 0, 0);                   /* forever */
	add_aged_rows(s, now);
	ck_assert_int_eq(store_prune_step(s), 0);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	minutes = sql_int(db, "SELECT count(*) FROM samples_1m WHERE node = 'old'");
	ck_assert_int_ge(minutes, 41);
	ck_assert_int_le(minutes, 43);

	/* Raw rows older than an hour go, at most 1000 a step; aggregates stay. */
	store_set_retention(s, HOUR_MS, 0);
	ck_assert_int_eq(store_prune_step(s), 1000);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples"), 1510);
	ck_assert_int_eq(store_prune_step(s), 1000);
	ck_assert_int_eq(store_prune_step(s), 500);
	ck_assert_int_eq(store_prune_step(s), 0);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples"), 10);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples WHERE node = 'new'"), 10);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples_1m WHERE node = 'old'"),
			 minutes);

	/* Then aggregates older than an hour; the recent ones and every event
	 * stay. */
	store_set_retention(s, HOUR_MS, HOUR_MS);
	ck_assert_int_eq(store_prune_step(s), minutes);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples_1m WHERE node = 'old'"), 0);
	ck_assert_int_ge(sql_int(db, "SELECT count(*) FROM samples_1m WHERE node = 'new'"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events"), 20);
	sqlite3_close(db);

	store_get_stats(s, &st);
	ck_assert_uint_eq(st.rows_pruned, 2500 + (uint64_t)minutes);
	ck_assert_uint_ge(st.prune_steps, 6);
	ck_assert_int_eq(store_count_events(s, NULL), 20);
	store_close(s);
}
END_TEST

/* The writer prunes on its own, between batches, in steps. */
START_TEST(test_prune_by_writer)
{
	struct store *s = open_ok(db_path, 5);
	int64_t now = wall_now_ms();
	struct store_stats st;
	struct timespec pause = { 0, 20 * 1000000L };
	int i;

	store_set_retention(s, HOUR_MS, 0);
	add_aged_rows(s, now);
	for (i = 0; i < 250; i++) {                     /* 5 s at most */
		store_get_stats(s, &st);
		if (st.rows_pruned >= 2500)
			break;
		add_event_ok(s, now, "tick", "agent"); /* batches keep coming */
		nanosleep(&pause, NULL);
	}
	ck_assert_uint_eq(st.rows_pruned, 2500);
	ck_assert_uint_ge(st.prune_steps, 3);
	ck_assert_uint_le(st.rows_pruned, st.prune_steps * STORE_PRUNE_STEP_ROWS);
	ck_assert_int_ge(store_count_events(s, "state"), 20);
	store_close(s);
}
END_TEST

/* --- epochs ------------------------------------------------------------ */

START_TEST(test_epoch_forward_only)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	sqlite3 *db = NULL;

	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 5, "db-1"), 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 4, "db-2"), -ESTALE);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 5, "db-3"), 0);  /* equal: ok */
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 0, NULL), -ESTALE);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "web", 0, NULL), 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "", 1, "x"), -EINVAL);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", -1, "x"), -EINVAL);
	ck_assert_int_eq(store_group_set_epoch_sync(NULL, "pg", 1, "x"), -EINVAL);

	/* Durable now, without a flush or a close. */
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "SELECT epoch FROM groups WHERE name = 'pg'"
				 " AND leader = 'db-3'"), 5);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM groups WHERE name = 'web'"
				 " AND epoch = 0 AND leader IS NULL"), 1);
	sqlite3_close(db);
	store_close(s);
}
END_TEST

START_TEST(test_epoch_memory)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);

	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 2, "a"), 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 1, "b"), -ESTALE);
	store_debug_fail_writes(s, true);
	add_event_ok(s, 1, "a", "agent");
	ck_assert_int_eq(store_flush(s), -EIO);         /* the writer is read-only now */
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 3, "b"), -EIO);
	store_debug_fail_writes(s, false);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 3, "b"), 0);
	store_close(s);
}
END_TEST

/* A process killed right after the call keeps the epoch and the flushed
 * rows (no store_close(), no atexit). */
START_TEST(test_epoch_survives_kill)
{
	struct store *s;
	pid_t pid;
	int status = 0;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		s = store_open(db_path, SLOW_FLUSH_MS, NULL, 0);
		if (!s || store_group_set_epoch_sync(s, "pg", 9, "db-2"))
			_exit(1);
		add_event_ok(s, 42, "db-2", "state");
		if (store_flush(s))
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	s = open_ok(db_path, 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 8, "db-1"), -ESTALE);
	ck_assert_int_eq(store_count_events(s, "state"), 1);
	store_close(s);
}
END_TEST

/* --- schema v3: group members, overrides, hook output -------------------- */

/* What store_load_groups() / store_load_overrides() hand over. */
struct loaded {
	struct store_group_row g[8];
	struct store_override o[8];
	int n;
	int stop_at;            /* return 7 from the call number stop_at (0: never) */
};

static int collect_group(const struct store_group_row *g, void *arg)
{
	struct loaded *l = arg;

	if (l->n < 8)
		l->g[l->n] = *g;
	l->n++;
	return l->n == l->stop_at ? 7 : 0;
}

static int collect_override(const struct store_override *o, void *arg)
{
	struct loaded *l = arg;

	if (l->n < 8)
		l->o[l->n] = *o;
	l->n++;
	return l->n == l->stop_at ? 7 : 0;
}

static struct loaded *load_groups(struct store *s)
{
	static struct loaded l;

	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(store_load_groups(s, collect_group, &l), 0);
	return &l;
}

static struct loaded *load_overrides(struct store *s)
{
	static struct loaded l;

	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(store_load_overrides(s, collect_override, &l), 0);
	return &l;
}

static void make_override(struct store_override *o, const char *group, const char *node,
			  const char *kind, int64_t until_ms, const char *who,
			  const char *reason, int64_t set_ms)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->group, sizeof(o->group), "%s", group);
	snprintf(o->node, sizeof(o->node), "%s", node);
	snprintf(o->kind, sizeof(o->kind), "%s", kind);
	o->until_ms = until_ms;
	snprintf(o->who, sizeof(o->who), "%s", who);
	snprintf(o->reason, sizeof(o->reason), "%s", reason);
	o->set_ms = set_ms;
}

/* The tables migration 2 added, as they shipped, with a row in each. */
static const char v2_sql[] =
	"CREATE TABLE groups(name TEXT PRIMARY KEY, epoch INTEGER NOT NULL DEFAULT 0,"
	" leader TEXT, updated_ms INTEGER);"
	"CREATE TABLE failovers(id INTEGER PRIMARY KEY, grp TEXT NOT NULL,"
	" started_ms INTEGER, detected_ms INTEGER, decided_ms INTEGER,"
	" promoted_ms INTEGER, finished_ms INTEGER, old_leader TEXT, new_leader TEXT,"
	" epoch INTEGER, outcome TEXT NOT NULL, reason TEXT, detail TEXT);"
	"CREATE INDEX failovers_grp_started ON failovers(grp, started_ms);"
	"CREATE TABLE hook_runs(id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
	" node TEXT NOT NULL, grp TEXT NOT NULL, hook TEXT NOT NULL, epoch INTEGER,"
	" rc INTEGER NOT NULL, duration_ms INTEGER, output TEXT);"
	"CREATE TABLE audit(id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
	" operator TEXT NOT NULL, role TEXT, command TEXT NOT NULL, target TEXT,"
	" reason TEXT, dry_run INTEGER NOT NULL, result TEXT NOT NULL, detail TEXT);"
	"CREATE TABLE alerts(id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL,"
	" rule TEXT NOT NULL, node TEXT, grp TEXT, severity TEXT NOT NULL,"
	" state TEXT NOT NULL, started_ms INTEGER NOT NULL, resolved_ms INTEGER,"
	" acked_by TEXT, acked_ms INTEGER, ack_reason TEXT, summary TEXT);"
	"CREATE INDEX alerts_fingerprint ON alerts(fingerprint, started_ms);"
	"CREATE TABLE samples(node TEXT NOT NULL, ts_ms INTEGER NOT NULL, cpu REAL,"
	" mem REAL, load1 REAL, disk REAL, rtt_ms REAL, errors REAL, latency_ms REAL);"
	"CREATE INDEX samples_node_ts ON samples(node, ts_ms);"
	"CREATE INDEX samples_ts ON samples(ts_ms);"
	"CREATE TABLE samples_1m(node TEXT NOT NULL, minute_ms INTEGER NOT NULL,"
	" n INTEGER NOT NULL, cpu_avg REAL, cpu_max REAL, mem_avg REAL, mem_max REAL,"
	" load1_avg REAL, load1_max REAL, disk_max REAL, rtt_avg REAL, rtt_max REAL,"
	" errors_avg REAL, errors_max REAL, latency_avg REAL, latency_max REAL,"
	" cpu_n INTEGER NOT NULL DEFAULT 0, mem_n INTEGER NOT NULL DEFAULT 0,"
	" load1_n INTEGER NOT NULL DEFAULT 0, rtt_n INTEGER NOT NULL DEFAULT 0,"
	" errors_n INTEGER NOT NULL DEFAULT 0, latency_n INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(node, minute_ms));"
	"CREATE INDEX samples_1m_minute ON samples_1m(minute_ms);"
	"CREATE INDEX events_grp_ts ON events(grp, ts_ms);"
	"CREATE INDEX events_rare_ts ON events(ts_ms) WHERE (kind = 'failover'"
	" OR kind = 'hook' OR kind = 'audit' OR kind = 'alert');"
	"INSERT INTO groups VALUES('pg', 5, 'db-1', 100);"
	"INSERT INTO failovers(grp, started_ms, outcome, epoch) VALUES('pg', 30, 'promoted', 5);"
	"INSERT INTO hook_runs(ts_ms, node, grp, hook, rc, output)"
	" VALUES(31, 'db-1', 'pg', 'promote', 0, 'ok');"
	"INSERT INTO events(ts_ms, node, grp, kind, rule, detail)"
	" VALUES(31, 'db-1', 'pg', 'hook', 'promote', 'rc=0 duration_ms=5');"
	/* recent, so that retention (on from the open) keeps them */
	"INSERT INTO samples(node, ts_ms, cpu)"
	" VALUES('db-1', unixepoch() * 1000 - 60000, 0.25);"
	"INSERT INTO samples_1m(node, minute_ms, n, cpu_avg, cpu_max, cpu_n)"
	" VALUES('db-1', (unixepoch() / 60 - 1) * 60000, 1, 0.25, 0.25, 1);"
	"PRAGMA user_version=2;";

/* A release-2 file holding data (v1_sql, then v2_sql): every row is still
 * there, the new tables work, and what they hold survives a reopen. */
START_TEST(test_migration_v2)
{
	struct collected *c = collected_new();
	struct store_override o;
	struct loaded *l;
	struct store *s;
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v1_sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v2_sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_ok(db_path, 0);
	ck_assert_int_eq(query(s, c, "db-1", NULL, 0, 0, 0), 3);
	ck_assert_str_eq(c->ev[0].kind, "hook");
	ck_assert_str_eq(c->ev[1].to_state, "failed");
	/* The v2 group is there, with no members yet. */
	l = load_groups(s);
	ck_assert_int_eq(l->n, 1);
	ck_assert_str_eq(l->g[0].name, "pg");
	ck_assert_int_eq(l->g[0].epoch, 5);
	ck_assert_str_eq(l->g[0].leader, "db-1");
	ck_assert_int_eq(l->g[0].nmembers, 0);
	ck_assert_int_eq(load_overrides(s)->n, 0);

	ck_assert_int_eq(store_group_member(s, "pg", "db-1", true, 200), 0);
	ck_assert_int_eq(store_group_member(s, "pg", "db-2", true, 201), 0);
	make_override(&o, "pg", "db-2", "maintenance", 0, "alice", "disk swap", 300);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	ck_assert_int_eq(store_flush(s), 0);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events"), 3);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failovers WHERE epoch = 5"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM hook_runs WHERE output = 'ok'"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT n FROM samples_1m"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM meta"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM group_members"), 2);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM overrides"), 1);
	sqlite3_close(db);

	/* Reopened: the same groups and overrides. */
	s = open_ok(db_path, 0);
	l = load_groups(s);
	ck_assert_int_eq(l->n, 1);
	ck_assert_int_eq(l->g[0].epoch, 5);
	ck_assert_int_eq(l->g[0].nmembers, 2);
	ck_assert_str_eq(l->g[0].members[0], "db-1");
	ck_assert_str_eq(l->g[0].members[1], "db-2");
	l = load_overrides(s);
	ck_assert_int_eq(l->n, 1);
	ck_assert_str_eq(l->o[0].group, "pg");
	ck_assert_str_eq(l->o[0].node, "db-2");
	ck_assert_str_eq(l->o[0].kind, "maintenance");
	ck_assert_int_eq(l->o[0].until_ms, 0);
	ck_assert_str_eq(l->o[0].who, "alice");
	ck_assert_str_eq(l->o[0].reason, "disk swap");
	ck_assert_int_eq(l->o[0].set_ms, 300);
	store_close(s);
	free(c);
}
END_TEST

/* The tables migration 3 added, as they shipped, with rows. */
static const char v3_sql[] =
	"CREATE TABLE group_members(grp TEXT NOT NULL, node TEXT NOT NULL,"
	" added_ms INTEGER NOT NULL, PRIMARY KEY(grp, node));"
	"CREATE TABLE overrides(grp TEXT NOT NULL, node TEXT NOT NULL DEFAULT '',"
	" kind TEXT NOT NULL CHECK(kind IN ('pause', 'maintenance')),"
	" until_ms INTEGER NOT NULL DEFAULT 0, who TEXT, reason TEXT,"
	" set_ms INTEGER NOT NULL, PRIMARY KEY(grp, node, kind));"
	"INSERT INTO group_members VALUES('pg', 'db-1', 7);"
	"INSERT INTO overrides VALUES('pg', '', 'pause', 0, 'alice', 'upgrade', 8);"
	/* a collector-wide event, a second node, an event with evidence */
	"INSERT INTO events(id, ts_ms, node, grp, kind, rule, detail)"
	" VALUES(40, 40, '', '', 'collector', 'start', 'up');"
	"INSERT INTO events(id, ts_ms, node, grp, kind, from_state, to_state, rule,"
	" phi, mean_ms, sd_ms, samples, hb_age_ms, detail)"
	" VALUES(41, 41, 'db-2', 'pg', 'state', 'alive', 'suspect', 'phi_suspect',"
	" 8.5, 1000.0, 12.5, 200, 3100, 'phi 8.50');"
	"PRAGMA user_version=3;";

/* A release-3 file (v1_sql, v2_sql, v3_sql) becomes current: the events keep
 * their ids and every column; names and filters work on the old rows; new
 * rows follow the old ids. */
START_TEST(test_migration_v3)
{
	struct collected *c = collected_new();
	struct store_event e;
	struct loaded *l;
	struct store *s;
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v1_sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v2_sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v3_sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_ok(db_path, 0);
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 0), 5);
	ck_assert_int_eq(c->ev[0].id, 41);
	ck_assert_str_eq(c->ev[0].node, "db-2");
	ck_assert_str_eq(c->ev[0].group, "pg");
	ck_assert_str_eq(c->ev[0].kind, "state");
	ck_assert_str_eq(c->ev[0].from_state, "alive");
	ck_assert_str_eq(c->ev[0].to_state, "suspect");
	ck_assert_str_eq(c->ev[0].rule, "phi_suspect");
	ck_assert_double_eq(c->ev[0].phi, 8.5);
	ck_assert_double_eq(c->ev[0].mean_ms, 1000.0);
	ck_assert_double_eq(c->ev[0].sd_ms, 12.5);
	ck_assert_int_eq(c->ev[0].samples, 200);
	ck_assert_int_eq(c->ev[0].hb_age_ms, 3100);
	ck_assert_str_eq(c->ev[0].detail, "phi 8.50");
	ck_assert_int_eq(c->ev[1].id, 40);
	ck_assert_str_eq(c->ev[1].node, "");
	ck_assert_str_eq(c->ev[1].group, "");
	ck_assert_str_eq(c->ev[2].kind, "hook");        /* v2's row, id 3 */
	ck_assert_int_eq(c->ev[2].id, 3);
	ck_assert(isnan(c->ev[2].phi));
	ck_assert_int_eq(c->ev[2].hb_age_ms, -1);
	ck_assert_int_eq(query(s, c, "db-1", NULL, 0, 0, 0), 3);  /* v1's two, v2's hook */
	ck_assert_int_eq(query(s, c, "db-2", "state", 0, 0, 0), 1);
	ck_assert_int_eq(query(s, c, "nope", NULL, 0, 0, 0), 0);
	l = load_groups(s);
	ck_assert_int_eq(l->n, 1);
	ck_assert_int_eq(l->g[0].nmembers, 1);
	ck_assert_int_eq(load_overrides(s)->n, 1);

	/* New rows: an old name and a new one; ids go on from the old ones. */
	make_event(&e, 50, "db-2", "conn");
	ck_assert_int_eq(store_add_event(s, &e), 0);
	make_event(&e, 51, "db-3", "conn");
	ck_assert_int_eq(store_add_event(s, &e), 0);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(query(s, c, NULL, NULL, 0, 0, 0), 7);
	ck_assert_int_eq(c->ev[0].id, 43);
	ck_assert_str_eq(c->ev[0].node, "db-3");
	ck_assert_str_eq(c->ev[0].group, "g1");
	ck_assert_int_eq(c->ev[1].id, 42);
	ck_assert_int_eq(query(s, c, "db-2", NULL, 0, 0, 0), 2);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	/* "", pg, db-1, db-2 from the old rows, then db-3 and g1: each once. */
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM names"), 6);
	ck_assert_int_eq(sql_int(db, "SELECT count(DISTINCT name) FROM names"), 6);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				 " AND name IN ('events_node_ts', 'events_ts', 'events_rare_ts')"), 3);
	/* Every (group, node) pair of the events, once: ('', ''), (pg, db-1),
	 * (pg, db-2) from the old rows, (g1, db-2), (g1, db-3) from the new. */
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM node_groups"), 5);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM (SELECT DISTINCT grp_id, node_id"
				 " FROM event_log) e JOIN node_groups USING (grp_id, node_id)"), 5);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM event_log INDEXED BY events_rare_ts"
				 " WHERE " STORE_SQL_RARE_KINDS), 1);
	/* The events view shows the old columns, by name. */
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events WHERE node = 'db-2'"
				 " AND grp = 'pg' AND kind = 'state' AND to_state = 'suspect'"
				 " AND hb_age_ms = 3100 AND id = 41"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events WHERE node = ''"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events"), 7);
	sqlite3_close(db);
	free(c);
}
END_TEST

/* Migration 4 as it shipped (events by integer keys, a view for the old
 * columns), then rows of release 4: run after v1_sql, v2_sql and v3_sql. */
static const char v4_sql[] =
	"CREATE TABLE names(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	"INSERT INTO names(name) SELECT node FROM events UNION SELECT grp FROM events;"
	"CREATE TABLE event_log(id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
	" node_id INTEGER NOT NULL, grp_id INTEGER NOT NULL, kind TEXT NOT NULL,"
	" from_state TEXT, to_state TEXT, rule TEXT, phi REAL, mean_ms REAL, sd_ms REAL,"
	" samples INTEGER, hb_age_ms INTEGER, detail TEXT);"
	"INSERT INTO event_log SELECT id, ts_ms,"
	" (SELECT n.id FROM names n WHERE n.name = e.node),"
	" (SELECT n.id FROM names n WHERE n.name = e.grp),"
	" kind, from_state, to_state, rule, phi, mean_ms, sd_ms, samples, hb_age_ms,"
	" detail FROM events e ORDER BY id;"
	"DROP TABLE events;"
	"CREATE VIEW events AS SELECT e.id AS id, e.ts_ms AS ts_ms, n.name AS node,"
	" g.name AS grp, e.kind AS kind, e.from_state AS from_state,"
	" e.to_state AS to_state, e.rule AS rule, e.phi AS phi, e.mean_ms AS mean_ms,"
	" e.sd_ms AS sd_ms, e.samples AS samples, e.hb_age_ms AS hb_age_ms,"
	" e.detail AS detail"
	" FROM event_log e JOIN names n ON n.id = e.node_id JOIN names g ON g.id = e.grp_id;"
	"CREATE INDEX events_node_ts ON event_log(node_id, ts_ms);"
	"CREATE INDEX events_ts ON event_log(ts_ms);"
	"CREATE INDEX events_grp_ts ON event_log(grp_id, ts_ms);"
	"CREATE INDEX events_rare_ts ON event_log(ts_ms) WHERE (kind = 'failover'"
	" OR kind = 'hook' OR kind = 'audit' OR kind = 'alert');"
	/* release 4's rows: db-1 moved from pg to web */
	"INSERT INTO names(name) VALUES('web');"
	"INSERT INTO event_log(id, ts_ms, node_id, grp_id, kind, to_state, rule)"
	" VALUES(60, 60, (SELECT id FROM names WHERE name = 'db-1'),"
	" (SELECT id FROM names WHERE name = 'web'), 'state', 'alive', 'hello');"
	"PRAGMA user_version=4;";

static int collect_ids(const struct store_event *e, void *arg)
{
	struct collected *c = arg;

	if (c->n < (int)(sizeof(c->ev) / sizeof(c->ev[0])))
		c->ev[c->n] = *e;
	c->n++;
	return 0;
}

/* A release-4 file: node_groups is filled from the events, the group index
 * goes, and groups' pages and group_known give what they gave. */
START_TEST(test_migration_v4_to_v5)
{
	struct collected *c = collected_new();
	struct history_filter f = { .limit = 100 };
	sqlite3 *db = NULL;
	struct store *s;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v1_sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v2_sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v3_sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v4_sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_ok(db_path, 0);
	f.group = "pg";                 /* db-1's three, db-2's one, newest first */
	ck_assert_int_eq(store_history(s, &f, collect_ids, c), 0);
	ck_assert_int_eq(c->n, 4);
	ck_assert_int_eq(c->ev[0].id, 41);
	ck_assert_int_eq(c->ev[1].id, 3);
	ck_assert_int_eq(c->ev[2].id, 2);
	ck_assert_int_eq(c->ev[3].id, 1);
	c->n = 0;
	f.group = "web";
	ck_assert_int_eq(store_history(s, &f, collect_ids, c), 0);
	ck_assert_int_eq(c->n, 1);
	ck_assert_int_eq(c->ev[0].id, 60);
	ck_assert_str_eq(c->ev[0].node, "db-1");
	ck_assert_int_eq(store_group_known(s, "web"), 1);
	ck_assert_int_eq(store_group_known(s, "pg"), 1);
	ck_assert_int_eq(store_group_known(s, "nope"), 0);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master"
				 " WHERE name = 'events_grp_ts'"), 0);
	/* ('', ''), (pg, db-1), (pg, db-2), (web, db-1) */
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM node_groups"), 4);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM events"), 6);
	sqlite3_close(db);
	free(c);
}
END_TEST

START_TEST(test_group_members)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	char long_name[STORE_NAME_MAX + 2];
	struct loaded *l;
	sqlite3 *db = NULL;
	char node[16];
	int i;

	ck_assert_int_eq(load_groups(s)->n, 0);
	ck_assert_int_eq(store_group_member(s, "web", "w-2", true, 10), 0);
	ck_assert_int_eq(store_group_member(s, "web", "w-1", true, 11), 0);
	ck_assert_int_eq(store_group_member(s, "web", "w-3", true, 12), 0);
	ck_assert_int_eq(store_group_member(s, "web", "w-3", false, 13), 0);
	ck_assert_int_eq(store_group_member(s, "web", "w-2", true, 99), 0);   /* again */
	ck_assert_int_eq(store_group_member(s, "web", "w-9", false, 14), 0);  /* not there */
	ck_assert_int_eq(store_group_set_epoch_sync(s, "pg", 4, "db-1"), 0);
	ck_assert_int_eq(store_group_set_epoch_sync(s, "web", 2, NULL), 0);
	/* Queued: not visible before the flush. */
	ck_assert_int_eq(load_groups(s)->n, 2);
	ck_assert_int_eq(load_groups(s)->g[1].nmembers, 0);
	ck_assert_int_eq(store_flush(s), 0);

	l = load_groups(s);
	ck_assert_int_eq(l->n, 2);
	ck_assert_str_eq(l->g[0].name, "pg");          /* groups table only */
	ck_assert_int_eq(l->g[0].epoch, 4);
	ck_assert_str_eq(l->g[0].leader, "db-1");
	ck_assert_int_eq(l->g[0].nmembers, 0);
	ck_assert_str_eq(l->g[1].name, "web");
	ck_assert_int_eq(l->g[1].epoch, 2);
	ck_assert_str_eq(l->g[1].leader, "");
	ck_assert_int_eq(l->g[1].nmembers, 2);
	ck_assert_str_eq(l->g[1].members[0], "w-1");
	ck_assert_str_eq(l->g[1].members[1], "w-2");

	/* Members only: epoch 0, no leader. */
	ck_assert_int_eq(store_group_member(s, "cache", "c-1", true, 20), 0);
	ck_assert_int_eq(store_flush(s), 0);
	l = load_groups(s);
	ck_assert_int_eq(l->n, 3);
	ck_assert_str_eq(l->g[0].name, "cache");
	ck_assert_int_eq(l->g[0].epoch, 0);
	ck_assert_str_eq(l->g[0].leader, "");
	ck_assert_int_eq(l->g[0].nmembers, 1);

	/* The callback's non-zero return stops and is returned. */
	memset(l, 0, sizeof(*l));
	l->stop_at = 2;
	ck_assert_int_eq(store_load_groups(s, collect_group, l), 7);
	ck_assert_int_eq(l->n, 2);

	/* Bad names. */
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_int_eq(store_group_member(s, "", "n", true, 1), -EINVAL);
	ck_assert_int_eq(store_group_member(s, "g", "", true, 1), -EINVAL);
	ck_assert_int_eq(store_group_member(s, NULL, "n", true, 1), -EINVAL);
	ck_assert_int_eq(store_group_member(s, "g", NULL, true, 1), -EINVAL);
	ck_assert_int_eq(store_group_member(s, "g x", "n", true, 1), -EINVAL);
	ck_assert_int_eq(store_group_member(s, "g", "n'; --", true, 1), -EINVAL);
	ck_assert_int_eq(store_group_member(s, "g", long_name, true, 1), -EINVAL);
	long_name[STORE_NAME_MAX] = '\0';              /* 64 is fine */
	ck_assert_int_eq(store_group_member(s, "g", long_name, true, 1), 0);
	ck_assert_int_eq(store_group_member(NULL, "g", "n", true, 1), -EINVAL);
	ck_assert_int_eq(store_load_groups(s, NULL, NULL), -EINVAL);

	/* At most STORE_GROUP_MEMBERS_MAX members are reported, the first by name. */
	for (i = 0; i < STORE_GROUP_MEMBERS_MAX + 6; i++) {
		snprintf(node, sizeof(node), "m-%03d", STORE_GROUP_MEMBERS_MAX + 5 - i);
		ck_assert_int_eq(store_group_member(s, "big", node, true, i), 0);
	}
	ck_assert_int_eq(store_flush(s), 0);
	l = load_groups(s);
	ck_assert_int_eq(l->n, 5);
	ck_assert_str_eq(l->g[0].name, "big");
	ck_assert_int_eq(l->g[0].nmembers, STORE_GROUP_MEMBERS_MAX);
	ck_assert_str_eq(l->g[0].members[0], "m-000");
	snprintf(node, sizeof(node), "m-%03d", STORE_GROUP_MEMBERS_MAX - 1);
	ck_assert_str_eq(l->g[0].members[STORE_GROUP_MEMBERS_MAX - 1], node);
	store_close(s);

	/* On disk: w-2 kept its first added_ms. */
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "SELECT added_ms FROM group_members"
				 " WHERE grp = 'web' AND node = 'w-2'"), 10);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM group_members"
				 " WHERE grp = 'web'"), 2);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_group_members_memory)
{
	struct store *s = open_ok(":memory:", SLOW_FLUSH_MS);
	struct loaded *l;

	ck_assert_int_eq(store_group_member(s, "g", "n-1", true, 1), 0);
	ck_assert_int_eq(store_group_member(s, "g", "n-2", true, 1), 0);
	ck_assert_int_eq(store_group_member(s, "g", "n-1", false, 2), 0);
	ck_assert_int_eq(store_flush(s), 0);
	l = load_groups(s);
	ck_assert_int_eq(l->n, 1);
	ck_assert_int_eq(l->g[0].nmembers, 1);
	ck_assert_str_eq(l->g[0].members[0], "n-2");
	store_close(s);
}
END_TEST

START_TEST(test_overrides)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	struct store_override o;
	struct loaded *l;

	make_override(&o, "pg", "", "pause", 0, "alice", "upgrade", 100);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	make_override(&o, "pg", "db-2", "maintenance", 5000, "bob", "disk swap", 110);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	make_override(&o, "web", "w-1", "maintenance", 0, "", "", 120);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	make_override(&o, "web", "w-1", "pause", 0, "carol", "x", 121);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	ck_assert_int_eq(load_overrides(s)->n, 0);      /* queued, not committed */
	ck_assert_int_eq(store_flush(s), 0);

	l = load_overrides(s);
	ck_assert_int_eq(l->n, 4);
	ck_assert_str_eq(l->o[0].group, "pg");
	ck_assert_str_eq(l->o[0].node, "");
	ck_assert_str_eq(l->o[0].kind, "pause");
	ck_assert_str_eq(l->o[0].who, "alice");
	ck_assert_str_eq(l->o[1].node, "db-2");
	ck_assert_int_eq(l->o[1].until_ms, 5000);
	ck_assert_str_eq(l->o[1].reason, "disk swap");
	ck_assert_int_eq(l->o[1].set_ms, 110);
	ck_assert_str_eq(l->o[2].group, "web");
	ck_assert_str_eq(l->o[2].kind, "maintenance");
	ck_assert_str_eq(l->o[2].who, "");              /* NULL reads back as "" */
	ck_assert_str_eq(l->o[3].kind, "pause");

	/* Replace one, undo two (undo reads only group, node, kind). */
	make_override(&o, "pg", "db-2", "maintenance", 9000, "carol", "longer", 130);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	make_override(&o, "pg", "", "pause", 1, "someone", "else", 1);
	ck_assert_int_eq(store_override_set(s, &o, false), 0);
	make_override(&o, "web", "w-1", "pause", 0, "", "", 0);
	ck_assert_int_eq(store_override_set(s, &o, false), 0);
	make_override(&o, "web", "w-2", "pause", 0, "", "", 0);   /* not there */
	ck_assert_int_eq(store_override_set(s, &o, false), 0);
	ck_assert_int_eq(store_flush(s), 0);
	l = load_overrides(s);
	ck_assert_int_eq(l->n, 2);
	ck_assert_str_eq(l->o[0].node, "db-2");
	ck_assert_int_eq(l->o[0].until_ms, 9000);
	ck_assert_str_eq(l->o[0].who, "carol");
	ck_assert_str_eq(l->o[0].reason, "longer");
	ck_assert_int_eq(l->o[0].set_ms, 130);
	ck_assert_str_eq(l->o[1].group, "web");
	ck_assert_str_eq(l->o[1].kind, "maintenance");

	/* Refused. */
	make_override(&o, "pg", "db-1", "drain", 0, "a", "r", 1);
	ck_assert_int_eq(store_override_set(s, &o, true), -EINVAL);
	make_override(&o, "", "db-1", "pause", 0, "a", "r", 1);
	ck_assert_int_eq(store_override_set(s, &o, true), -EINVAL);
	make_override(&o, "pg", "db 1", "pause", 0, "a", "r", 1);
	ck_assert_int_eq(store_override_set(s, &o, true), -EINVAL);
	make_override(&o, "pg", "db-1", "pause", -5, "a", "r", 1);
	ck_assert_int_eq(store_override_set(s, &o, true), -EINVAL);
	ck_assert_int_eq(store_override_set(s, NULL, true), -EINVAL);
	ck_assert_int_eq(store_load_overrides(s, NULL, NULL), -EINVAL);

	/* The callback's non-zero return stops and is returned. */
	memset(l, 0, sizeof(*l));
	l->stop_at = 1;
	ck_assert_int_eq(store_load_overrides(s, collect_override, l), 7);
	ck_assert_int_eq(l->n, 1);
	store_close(s);

	/* They survive a restart. */
	s = open_ok(db_path, 0);
	l = load_overrides(s);
	ck_assert_int_eq(l->n, 2);
	ck_assert_str_eq(l->o[0].group, "pg");
	ck_assert_str_eq(l->o[0].node, "db-2");
	ck_assert_int_eq(l->o[0].until_ms, 9000);
	ck_assert_str_eq(l->o[1].node, "w-1");
	store_close(s);
}
END_TEST

/* Output up to STORE_HOOK_OUTPUT_MAX bytes is kept whole (longer, unterminated
 * input is cut there); the summary row stays short. */

/* vigil forget: the node's row and its maintenance go, its history stays,
 * and a reopened store (a collector restart) does not bring it back. */
START_TEST(test_forget_node)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	struct collected *c = collected_new();
	struct store_override o;
	struct store_node n;
	struct store_sample x;
	struct loaded *l;
	sqlite3 *db;

	make_node(&n, "db-1", "failed", 10, 40);
	ck_assert_int_eq(store_put_node(s, &n), 0);
	make_node(&n, "db-2", "alive", 11, 41);
	ck_assert_int_eq(store_put_node(s, &n), 0);
	add_event_ok(s, 20, "db-1", "state");
	add_event_ok(s, 30, "db-1", "state");
	add_event_ok(s, 31, "db-2", "state");
	memset(&x, 0, sizeof(x));
	snprintf(x.node, sizeof(x.node), "db-1");
	x.ts_ms = 35;
	x.cpu = 50;
	x.mem = x.load1 = x.disk = x.rtt_ms = x.errors = x.latency_ms = NAN;
	ck_assert_int_eq(store_add_sample(s, &x), 0);
	make_override(&o, "g1", "db-1", "maintenance", 0, "bob", "disk", 33);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	make_override(&o, "g1", "db-2", "maintenance", 0, "bob", "disk", 34);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	make_override(&o, "g1", "", "pause", 0, "bob", "upgrade", 34);
	ck_assert_int_eq(store_override_set(s, &o, true), 0);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_node_known(s, "db-1"), 1);

	ck_assert_int_eq(store_forget_node(s, "db-1"), 0);
	ck_assert_int_eq(store_forget_node(s, "bad name"), -EINVAL);
	ck_assert_int_eq(store_forget_node(s, ""), -EINVAL);
	ck_assert_int_eq(store_forget_node(NULL, "db-1"), -EINVAL);
	ck_assert_int_eq(store_forget_node(s, "never-seen"), 0);    /* nothing to delete */
	ck_assert_int_eq(store_flush(s), 0);
	store_close(s);

	s = open_ok(db_path, SLOW_FLUSH_MS);
	c->n = 0;
	ck_assert_int_eq(store_load_nodes(s, collect_node, c), 0);
	ck_assert_int_eq(c->n, 1);
	ck_assert_str_eq(c->node[0].name, "db-2");
	/* history kept: its events, and it is still a known name for queries */
	ck_assert_int_eq(query(s, c, "db-1", NULL, 0, 0, 0), 2);
	ck_assert_int_eq(query(s, c, "db-2", NULL, 0, 0, 0), 1);
	ck_assert_int_eq(store_node_known(s, "db-1"), 1);
	/* its maintenance is gone, the others' overrides stay */
	l = load_overrides(s);
	ck_assert_int_eq(l->n, 2);
	ck_assert_str_eq(l->o[0].node, "");
	ck_assert_str_eq(l->o[1].node, "db-2");
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples WHERE node = 'db-1'"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM samples_1m WHERE node = 'db-1'"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM node_groups WHERE node_id ="
				 " (SELECT id FROM names WHERE name = 'db-1')"), 1);
	sqlite3_close(db);
	free(c);
}
END_TEST

START_TEST(test_hook_output_long)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	struct collected *c = collected_new();
	struct store_hook_run *h = calloc(1, sizeof(*h));
	sqlite3 *db = NULL;
	int i;

	ck_assert_ptr_nonnull(h);
	h->ts_ms = 500;
	strcpy(h->node, "db-2");
	strcpy(h->group, "pg");
	strcpy(h->hook, "promote");
	h->epoch = 3;
	h->rc = 1;
	h->duration_ms = 42;
	for (i = 0; i < STORE_HOOK_OUTPUT_MAX; i++)
		h->output[i] = (char)('a' + i % 26);
	h->output[STORE_HOOK_OUTPUT_MAX] = '\0';
	ck_assert_int_eq(store_add_hook_run(s, h, NULL), 0);
	h->ts_ms = 600;
	memset(h->output, 'z', sizeof(h->output));     /* no terminator at all */
	ck_assert_int_eq(store_add_hook_run(s, h, NULL), 0);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(query(s, c, "db-2", "hook", 0, 0, 0), 2);
	ck_assert_str_eq(c->ev[1].detail, "rc=1 duration_ms=42");
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sql_int(db, "SELECT length(output) FROM hook_runs WHERE ts_ms = 500"),
			 STORE_HOOK_OUTPUT_MAX);
	ck_assert_int_eq(sql_int(db, "SELECT substr(output, 4096, 1) = 'n' AND"
				 " substr(output, 1, 3) = 'abc' FROM hook_runs WHERE ts_ms = 500"), 1);
	ck_assert_int_eq(sql_int(db, "SELECT length(output) FROM hook_runs WHERE ts_ms = 600"),
			 STORE_HOOK_OUTPUT_MAX);
	ck_assert_int_eq(sql_int(db, "SELECT max(length(detail)) FROM events"), 19);
	sqlite3_close(db);
	free(h);
	free(c);
}
END_TEST

/* --- checkpoints ---------------------------------------------------------- */

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : sb.st_size;
}

/* n events of about 1 KiB each, committed. */
static void add_big_events(struct store *s, int n, int64_t ts)
{
	struct store_event e;
	int i;

	for (i = 0; i < n; i++) {
		make_event(&e, ts + i, i % 2 ? "n-1" : "n-2", "agent");
		memset(e.detail, 'x', 1000);
		e.detail[1000] = '\0';
		ck_assert_int_eq(store_add_event(s, &e), 0);
	}
	ck_assert_int_eq(store_flush(s), 0);
}

/* The checkpointer, not the writer, copies the WAL into the file. */
START_TEST(test_checkpoint_in_background)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	char wal[160];

	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	ck_assert_uint_eq(store_debug_checkpoint_wait(s), 0);
	add_big_events(s, 10000, 1000);                 /* ~11 MB: over 1000 frames */
	ck_assert_uint_ge(store_debug_checkpoint_wait(s), 1);
	ck_assert_int_ge(file_size(db_path), 10000 * 1000);
	ck_assert_int_eq(store_count_events(s, NULL), 10000);
	store_close(s);
	ck_assert_int_eq(file_size(wal), 0);            /* TRUNCATE at close */

	s = open_ok(":memory:", SLOW_FLUSH_MS);
	ck_assert_uint_eq(store_debug_checkpoint_wait(s), 0);
	store_close(s);
}
END_TEST

/* Under a steady load the WAL starts over instead of growing: 16 commits
 * of ~11 MB each (2700 frames), and the WAL stays within
 * STORE_WAL_MAX_FRAMES (16384 frames of 4 KiB) and one batch. */
START_TEST(test_wal_bounded)
{
	struct store *s = open_ok(db_path, SLOW_FLUSH_MS);
	char wal[160];
	int i;

	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	for (i = 0; i < 16; i++)
		add_big_events(s, 10000, 1000 + i * 10000);
	ck_assert_int_lt(file_size(wal), (off_t)(16384 + 3000) * (4096 + 24));
	ck_assert_int_ge(file_size(db_path), (off_t)150 * 1000 * 1000);
	ck_assert_int_eq(store_count_events(s, NULL), 160000);
	store_close(s);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_test(tc, test_open_close_memory);
	tcase_add_test(tc, test_close_null_and_bad_args);
	tcase_add_test(tc, test_open_bad_path);
	tcase_add_test(tc, test_event_init);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_add_test(tc, test_migration_sets_user_version);
	tcase_add_test(tc, test_wal_mode);
	tcase_add_test(tc, test_newer_version_refused);
	tcase_add_test(tc, test_readonly_file_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("rows");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_add_test(tc, test_event_roundtrip);
	tcase_add_test(tc, test_event_nulls_on_disk);
	tcase_add_test(tc, test_node_upsert);
	tcase_add_test(tc, test_unterminated_strings);
	tcase_add_test(tc, test_invalid_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_test(tc, test_query_newest_first);
	tcase_add_test(tc, test_query_filters);
	tcase_add_test(tc, test_query_limit);
	tcase_add_test(tc, test_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_bulk_10000);
	tcase_add_test(tc, test_concurrent_producers);
	tcase_add_test(tc, test_write_failure_keeps_rows);
	tcase_add_test(tc, test_close_while_failing);
	suite_add_tcase(s, tc);

	tc = tcase_create("durability");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_close_flushes);
	tcase_add_test(tc, test_survives_reopen);
	tcase_add_test(tc, test_file_reads_during_writes);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema_v2");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_migration_v1_to_v2);
	tcase_add_test(tc, test_query_plans);
	tcase_add_test(tc, test_samples_and_minutes);
	tcase_add_test(tc, test_minute_running_mean);
	tcase_add_test(tc, test_failover_hook_audit_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema_v3");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_migration_v2);
	tcase_add_test(tc, test_migration_v3);
	tcase_add_test(tc, test_migration_v4_to_v5);
	tcase_add_test(tc, test_group_members);
	tcase_add_test(tc, test_group_members_memory);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_hook_output_long);
	tcase_add_test(tc, test_forget_node);
	suite_add_tcase(s, tc);

	tc = tcase_create("checkpoints");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_checkpoint_in_background);
	tcase_add_test(tc, test_wal_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("tickets");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_tickets);
	tcase_add_test(tc, test_commit_hook);
	suite_add_tcase(s, tc);

	tc = tcase_create("retention");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_prune_steps);
	tcase_add_test(tc, test_prune_by_writer);
	suite_add_tcase(s, tc);

	tc = tcase_create("epoch");
	tcase_add_checked_fixture(tc, file_setup, file_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_epoch_forward_only);
	tcase_add_test(tc, test_epoch_memory);
	tcase_add_test(tc, test_epoch_survives_kill);
	suite_add_tcase(s, tc);

	return s;
}
