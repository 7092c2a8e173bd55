/* alerts_store — see alerts_store.h. */
#include "store/alerts_store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ASTORE_RETRIES   5
#define ASTORE_RETRY_MS  1000
#define ASTORE_CLOSE_MS  5000

static const char sql_create_silences[] =
	"CREATE TABLE IF NOT EXISTS silences("
	" id INTEGER PRIMARY KEY,"
	" rule TEXT NOT NULL,"
	" node TEXT NOT NULL,"
	" grp TEXT NOT NULL,"
	" author TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" ended_ms INTEGER)";

static const char sql_put_alert[] =
	"INSERT INTO alerts(id, fingerprint, rule, node, grp, severity, state, started_ms,"
	" resolved_ms, acked_by, acked_ms, ack_reason, summary)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
	" ON CONFLICT(id) DO UPDATE SET severity = excluded.severity,"
	" state = excluded.state, resolved_ms = excluded.resolved_ms,"
	" acked_by = excluded.acked_by, acked_ms = excluded.acked_ms,"
	" ack_reason = excluded.ack_reason, summary = excluded.summary";

static const char sql_put_silence[] =
	"INSERT OR REPLACE INTO silences(id, rule, node, grp, author, reason, created_ms,"
	" expires_ms, ended_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

enum op_kind { OP_ALERT = 1, OP_SILENCE };

struct op {
	struct op *next;
	enum op_kind kind;
	union {
		struct astore_alert a;
		struct astore_silence s;
	} u;
};

struct astore {
	sqlite3 *db;
	sqlite3_stmt *put_alert, *put_silence;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct op *head, *tail;
	size_t depth;
	bool stop;
	int64_t stop_deadline_ms;
	struct astore_stats stats;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s[0])
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_ms_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int write_op(struct astore *a, const struct op *o)
{
	sqlite3_stmt *st;
	int rc;

	if (o->kind == OP_ALERT) {
		const struct astore_alert *x = &o->u.a;

		st = a->put_alert;
		sqlite3_bind_int64(st, 1, x->id);
		sqlite3_bind_text(st, 2, x->fingerprint, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, x->rule, -1, SQLITE_TRANSIENT);
		bind_text_or_null(st, 4, x->node);
		bind_text_or_null(st, 5, x->group);
		sqlite3_bind_text(st, 6, x->severity, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 7, x->state, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 8, x->started_ms);
		bind_ms_or_null(st, 9, x->resolved_ms);
		bind_text_or_null(st, 10, x->acked_by);
		bind_ms_or_null(st, 11, x->acked_by[0] ? x->acked_ms : 0);
		bind_text_or_null(st, 12, x->acked_by[0] ? x->ack_reason : "");
		sqlite3_bind_text(st, 13, x->summary, -1, SQLITE_TRANSIENT);
	} else {
		const struct astore_silence *x = &o->u.s;

		st = a->put_silence;
		sqlite3_bind_int64(st, 1, x->id);
		sqlite3_bind_text(st, 2, x->rule, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, x->node, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, x->group, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, x->author, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, x->reason, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 7, x->created_ms);
		sqlite3_bind_int64(st, 8, x->expires_ms);
		bind_ms_or_null(st, 9, x->ended_ms);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* One transaction for the whole batch. */
static int write_batch(struct astore *a, struct op *batch)
{
	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	for (struct op *o = batch; o; o = o->next) {
		if (write_op(a, o)) {
			sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
			return -EIO;
		}
	}
	if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

static void free_ops(struct op *o)
{
	while (o) {
		struct op *n = o->next;

		free(o);
		o = n;
	}
}

static void *writer_main(void *arg)
{
	struct astore *a = arg;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct op *batch;
		size_t n = 0;
		int tries = 0;
		bool lost = false;

		while (!a->head && !a->stop)
			pthread_cond_wait(&a->wake, &a->lock);
		if (!a->head)
			break;                                  /* stopping, nothing left */
		batch = a->head;
		a->head = a->tail = NULL;
		for (struct op *o = batch; o; o = o->next)
			n++;
		pthread_mutex_unlock(&a->lock);
		while (write_batch(a, batch)) {
			struct timespec ts;

			pthread_mutex_lock(&a->lock);
			a->stats.commit_errors++;
			if (++tries >= ASTORE_RETRIES ||
			    (a->stop && mono_ms() >= a->stop_deadline_ms)) {
				pthread_mutex_unlock(&a->lock);
				lost = true;
				break;
			}
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ASTORE_RETRY_MS / 1000;
			pthread_cond_timedwait(&a->wake, &a->lock, &ts);
			pthread_mutex_unlock(&a->lock);
		}
		free_ops(batch);
		pthread_mutex_lock(&a->lock);
		if (lost)
			a->stats.rows_lost += n;
		else
			a->stats.rows_written += n;
		a->depth -= n;
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

struct astore *astore_open(const char *path, char *err, size_t errlen)
{
	struct astore *a;

	if (strcmp(path, ":memory:") == 0) {
		snprintf(err, errlen, "the store is in memory: alerts are not persisted");
		return NULL;
	}
	a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(a->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(a->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(a->db, sql_create_silences, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(a->db, sql_put_alert, -1, &a->put_alert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(a->db, sql_put_silence, -1, &a->put_silence, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, a->db ? sqlite3_errmsg(a->db) : "cannot open");
		goto out_close;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	return a;

out_close:
	sqlite3_finalize(a->put_alert);
	sqlite3_finalize(a->put_silence);
	sqlite3_close(a->db);
	free(a);
	return NULL;
}

static int start_thread(struct astore *a)
{
	if (a->started)
		return 0;
	if (pthread_create(&a->thread, NULL, writer_main, a))
		return -EAGAIN;
	a->started = true;
	return 0;
}

void astore_close(struct astore *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	a->stop_deadline_ms = mono_ms() + ASTORE_CLOSE_MS;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	if (a->started)
		pthread_join(a->thread, NULL);
	free_ops(a->head);
	sqlite3_finalize(a->put_alert);
	sqlite3_finalize(a->put_silence);
	sqlite3_close(a->db);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

int astore_start(struct astore *a, int64_t wall_ms, int64_t *max_alert_id,
		 int64_t *max_silence_id, int *closed, astore_silence_cb cb, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = -EIO;

	*max_alert_id = *max_silence_id = 0;
	*closed = 0;
	if (sqlite3_prepare_v2(a->db, "SELECT coalesce(max(id), 0) FROM alerts", -1, &st, NULL) ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*max_alert_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(a->db, "SELECT coalesce(max(id), 0) FROM silences", -1, &st, NULL) ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*max_silence_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(a->db, "UPDATE alerts SET state = 'closed', resolved_ms = ?1,"
			       " summary = summary || ' (closed: the collector restarted)'"
			       " WHERE state NOT IN ('resolved', 'closed')", -1, &st, NULL))
		goto out;
	sqlite3_bind_int64(st, 1, wall_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	*closed = sqlite3_changes(a->db);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(a->db, "SELECT id, rule, node, grp, author, reason, created_ms,"
			       " expires_ms FROM silences WHERE ended_ms IS NULL AND expires_ms > ?1"
			       " ORDER BY id", -1, &st, NULL))
		goto out;
	sqlite3_bind_int64(st, 1, wall_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct astore_silence s;

		memset(&s, 0, sizeof s);
		s.id = sqlite3_column_int64(st, 0);
		col_text(st, 1, s.rule, sizeof s.rule);
		col_text(st, 2, s.node, sizeof s.node);
		col_text(st, 3, s.group, sizeof s.group);
		col_text(st, 4, s.author, sizeof s.author);
		col_text(st, 5, s.reason, sizeof s.reason);
		s.created_ms = sqlite3_column_int64(st, 6);
		s.expires_ms = sqlite3_column_int64(st, 7);
		if (cb && cb(&s, arg))
			break;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
out:
	sqlite3_finalize(st);
	return rc;
}

static int enqueue(struct astore *a, struct op *o)
{
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	if (a->depth >= ASTORE_QUEUE_MAX || a->stop) {
		a->stats.rows_refused++;
		free(o);
		rc = -ENOSPC;
	} else {
		if (a->tail)
			a->tail->next = o;
		else
			a->head = o;
		a->tail = o;
		a->depth++;
		pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->lock);
	if (!rc && !a->started)
		start_thread(a);
	return rc;
}

int astore_put_alert(struct astore *a, const struct astore_alert *al)
{
	struct op *o = calloc(1, sizeof *o);

	if (!o)
		return -ENOMEM;
	o->kind = OP_ALERT;
	o->u.a = *al;
	return enqueue(a, o);
}

int astore_put_silence(struct astore *a, const struct astore_silence *s)
{
	struct op *o = calloc(1, sizeof *o);

	if (!o)
		return -ENOMEM;
	o->kind = OP_SILENCE;
	o->u.s = *s;
	return enqueue(a, o);
}

void astore_get_stats(struct astore *a, struct astore_stats *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->stats;
	pthread_mutex_unlock(&a->lock);
}
