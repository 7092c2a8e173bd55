/* Unit tests for store/alerts_store.c: the alerts and silences tables on a
 * real SQLite file (the store creates the alerts table; this module the
 * silences table). */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/alerts_store.h"
#include "store/store.h"
#include "suites.h"

static char dir[64], path[128];

static void setup(void)
{
	char err[256];
	struct store *st;

	snprintf(dir, sizeof dir, "/tmp/vigil-astore-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/v.db", dir);
	st = store_open(path, 10, err, sizeof err);   /* creates and migrates the file */
	ck_assert_msg(st != NULL, "%s", err);
	store_close(st);
}

static void teardown(void)
{
	char cmd[160];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static long long sql_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct astore_alert alert(int64_t id, const char *state)
{
	struct astore_alert a;

	memset(&a, 0, sizeof a);
	a.id = id;
	snprintf(a.fingerprint, sizeof a.fingerprint, "node_failed{group=\"db\",node=\"db1\"}");
	snprintf(a.rule, sizeof a.rule, "node_failed");
	snprintf(a.node, sizeof a.node, "db1");
	snprintf(a.group, sizeof a.group, "db");
	snprintf(a.severity, sizeof a.severity, "critical");
	snprintf(a.state, sizeof a.state, "%s", state);
	a.started_ms = 1000;
	snprintf(a.summary, sizeof a.summary, "node db1 (group db) failed");
	return a;
}

static struct astore_silence silence(int64_t id, int64_t expires_ms)
{
	struct astore_silence s;

	memset(&s, 0, sizeof s);
	s.id = id;
	snprintf(s.rule, sizeof s.rule, "*");
	snprintf(s.node, sizeof s.node, "db1");
	snprintf(s.group, sizeof s.group, "*");
	snprintf(s.author, sizeof s.author, "alice");
	snprintf(s.reason, sizeof s.reason, "disk swap");
	s.created_ms = 500;
	s.expires_ms = expires_ms;
	return s;
}

struct seen {
	int n;
	struct astore_silence s;
};

static int keep(const struct astore_silence *s, void *arg)
{
	struct seen *x = arg;

	x->s = *s;
	x->n++;
	return 0;
}

START_TEST(test_restart_restores_ids_silences_and_closes_firing)
{
	char err[256];
	struct astore *a = astore_open(path, err, sizeof err);
	struct astore_alert al;
	struct astore_silence s;
	struct astore_stats stats;
	struct seen x = { 0 };
	int64_t ma, ms;
	int closed;

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(astore_start(a, 2000, &ma, &ms, &closed, keep, &x), 0);
	ck_assert(ma == 0 && ms == 0 && closed == 0 && x.n == 0);
	al = alert(5, "firing");
	ck_assert_int_eq(astore_put_alert(a, &al), 0);
	al = alert(6, "resolved");
	al.resolved_ms = 1500;
	ck_assert_int_eq(astore_put_alert(a, &al), 0);
	s = silence(3, 100000);
	ck_assert_int_eq(astore_put_silence(a, &s), 0);
	s = silence(4, 1800);                      /* expired before the restart */
	ck_assert_int_eq(astore_put_silence(a, &s), 0);
	s = silence(2, 100000);                    /* ended early by an operator */
	s.ended_ms = 1900;
	ck_assert_int_eq(astore_put_silence(a, &s), 0);
	astore_get_stats(a, &stats);
	astore_close(a);                           /* commits what is queued */

	a = astore_open(path, err, sizeof err);
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(astore_start(a, 2000, &ma, &ms, &closed, keep, &x), 0);
	ck_assert_int_eq(ma, 6);
	ck_assert_int_eq(ms, 4);
	ck_assert_int_eq(closed, 1);               /* alert 5 only */
	ck_assert_int_eq(x.n, 1);                  /* silence 3 only */
	ck_assert_int_eq(x.s.id, 3);
	ck_assert_str_eq(x.s.node, "db1");
	ck_assert_str_eq(x.s.rule, "*");
	ck_assert_str_eq(x.s.author, "alice");
	ck_assert_str_eq(x.s.reason, "disk swap");
	ck_assert_int_eq(x.s.expires_ms, 100000);
	astore_close(a);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM alerts WHERE id = 5 AND state = 'closed' "
				 "AND resolved_ms = 2000"), 1);
	ck_assert_int_eq(sql_int("SELECT resolved_ms FROM alerts WHERE id = 6 AND state = 'resolved'"),
			 1500);
}
END_TEST

START_TEST(test_upsert_by_id)
{
	char err[256];
	struct astore *a = astore_open(path, err, sizeof err);
	struct astore_alert al = alert(7, "firing");
	struct astore_stats stats;
	int64_t ma, ms;
	int closed;

	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(astore_start(a, 2000, &ma, &ms, &closed, NULL, NULL), 0);
	ck_assert_int_eq(astore_put_alert(a, &al), 0);
	snprintf(al.acked_by, sizeof al.acked_by, "bob");
	al.acked_ms = 3000;
	snprintf(al.ack_reason, sizeof al.ack_reason, "on it");
	ck_assert_int_eq(astore_put_alert(a, &al), 0);
	snprintf(al.state, sizeof al.state, "resolved");
	al.resolved_ms = 4000;
	ck_assert_int_eq(astore_put_alert(a, &al), 0);
	astore_close(a);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM alerts"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM alerts WHERE id = 7 AND state = 'resolved' "
				 "AND resolved_ms = 4000 AND acked_by = 'bob' AND acked_ms = 3000 "
				 "AND ack_reason = 'on it' AND node = 'db1' AND grp = 'db'"), 1);
	(void)stats;
}
END_TEST

START_TEST(test_memory_refused)
{
	char err[256] = "";

	ck_assert_ptr_null(astore_open(":memory:", err, sizeof err));
	ck_assert_msg(strstr(err, "in memory") != NULL, "%s", err);
}
END_TEST

Suite *alerts_store_suite(void)
{
	Suite *s = suite_create("alerts_store");
	TCase *tc = tcase_create("tables");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10.0);
	tcase_add_test(tc, test_restart_restores_ids_silences_and_closes_firing);
	tcase_add_test(tc, test_upsert_by_id);
	tcase_add_test(tc, test_memory_refused);
	suite_add_tcase(s, tc);
	return s;
}
