/* store.c — vigil's history in SQLite: a queue, one writer thread, a reader.
 *
 * Threads.  store_add_event() and store_put_node() copy the row into a FIFO
 * guarded by s->lock and return at once; they never touch the database.  The
 * writer thread owns s->wdb and its prepared statements once store_open() has
 * started it.  It waits up to flush_ms after the first row (less if
 * STORE_BATCH_ROWS rows are queued, a flush is asked for or the store is
 * closing), detaches up to STORE_BATCH_ROWS rows from the head and commits
 * them in one transaction.  If the commit fails it rolls back, puts the rows
 * back at the head (nothing is lost), marks the store as not recording and
 * retries after STORE_RETRY_MS.  Reads run on s->rdb in the caller's thread
 * and see only committed rows.
 *
 * ":memory:".  An in-memory database belongs to one connection, so there the
 * reader IS the writer connection (s->rdb == s->wdb) and s->db_lock
 * serialises the writer's transactions with the reads: a read never sees a
 * half-written batch.  The price is that read callbacks run with db_lock held
 * and must not call store_flush() or store_close() on the same store.  For a
 * file, db_lock is unused and WAL lets reads run while the writer commits.
 *
 * Locks are never nested: s->lock guards the queue and the stats, db_lock
 * (":memory:" only) guards the connection.
 *
 * Ownership: the store owns the queued copies and its path string; the
 * caller owns everything it passes in.  No global state.
 */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define STORE_FLUSH_MS_DEFAULT 50
#define STORE_RETRY_MS         1000    /* back-off after a failed commit */
#define STORE_BUSY_TIMEOUT_MS  5000
#define STORE_QUERY_LIMIT      100

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Schema migrations: store_migrations[v] takes user_version v-1 to v.  Never
 * edit a released entry; append a new one and bump STORE_SCHEMA_VERSION. */
static const char *const store_migrations[] = {
	[0] = NULL,             /* an empty database */
	[1] =
	"CREATE TABLE nodes("
	" name TEXT PRIMARY KEY,"
	" grp TEXT NOT NULL,"
	" priority INTEGER NOT NULL,"
	" version TEXT,"
	" boot_id TEXT,"
	" state TEXT NOT NULL,"
	" first_seen_ms INTEGER NOT NULL,"
	" last_seen_ms INTEGER NOT NULL);"
	"CREATE TABLE events("
	" id INTEGER PRIMARY KEY,"
	" ts_ms INTEGER NOT NULL,"
	" node TEXT NOT NULL,"
	" grp TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" from_state TEXT,"
	" to_state TEXT,"
	" rule TEXT,"
	" phi REAL,"
	" mean_ms REAL,"
	" sd_ms REAL,"
	" samples INTEGER,"
	" hb_age_ms INTEGER,"
	" detail TEXT);"
	"CREATE INDEX events_node_ts ON events(node, ts_ms);"
	"CREATE INDEX events_ts ON events(ts_ms);"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);",
};

_Static_assert(ARRAY_SIZE(store_migrations) == STORE_SCHEMA_VERSION + 1,
	       "one migration per schema version");

static const char store_sql_insert_event[] =
	"INSERT INTO events(ts_ms, node, grp, kind, from_state, to_state,"
	" rule, phi, mean_ms, sd_ms, samples, hb_age_ms, detail)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

static const char store_sql_put_node[] =
	"INSERT INTO nodes(name, grp, priority, version, boot_id, state,"
	" first_seen_ms, last_seen_ms)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	" ON CONFLICT(name) DO UPDATE SET grp = excluded.grp,"
	" priority = excluded.priority, version = excluded.version,"
	" boot_id = excluded.boot_id, state = excluded.state,"
	" last_seen_ms = excluded.last_seen_ms";

static const char store_sql_load_nodes[] =
	"SELECT name, grp, priority, version, boot_id, state, first_seen_ms,"
	" last_seen_ms FROM nodes ORDER BY name";

static const char store_sql_events_head[] =
	"SELECT id, ts_ms, node, grp, kind, from_state, to_state, rule, phi,"
	" mean_ms, sd_ms, samples, hb_age_ms, detail FROM events WHERE 1";

enum row_kind {
	ROW_EVENT,
	ROW_NODE,
};

/* One queued row, a private copy of the caller's struct. */
struct row {
	struct row *next;
	uint64_t seq;                   /* 1, 2, ... in queueing order */
	enum row_kind kind;
	union {
		struct store_event ev;
		struct store_node node;
	} u;
};

struct store {
	char *path;                     /* as given; names the file in errors */
	int flush_ms;
	bool shared_conn;               /* ":memory:": rdb == wdb, under db_lock */

	sqlite3 *wdb;                   /* the writer thread's */
	sqlite3 *rdb;                   /* the caller's thread's */
	sqlite3_stmt *ins_event;        /* the writer thread's, persistent */
	sqlite3_stmt *put_node;
	bool wdb_query_only;            /* the writer thread's: hook applied */
	pthread_mutex_t db_lock;

	pthread_t writer;
	pthread_mutex_t lock;           /* guards everything below */
	pthread_cond_t wake;            /* to the writer: rows, flush, stop, hook */
	pthread_cond_t done;            /* to flushers: an attempt has ended */
	struct row *head;               /* rows the writer has not taken yet */
	struct row *tail;
	size_t pending;                 /* rows in head..tail */
	size_t depth;                   /* pending + rows in the writer's hands */
	size_t queue_max;
	uint64_t last_seq;              /* seq of the newest queued row */
	uint64_t committed_seq;         /* rows with seq <= this are committed */
	uint64_t fail_gen;              /* failed attempts so far */
	uint64_t flush_req;             /* store_flush() calls so far */
	uint64_t flush_seen;            /* flush_req the writer has acted on */
	size_t rows_lost;               /* dropped after the final attempt */
	bool stop;
	bool fail_writes;               /* store_debug_fail_writes() */
	struct store_stats stats;       /* queue_depth is filled on read */
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copy a possibly unterminated string of at most size - 1 bytes. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Run sql; on failure describe it as "path: what: sqlite message". */
static int exec_sql(sqlite3 *db, const char *path, const char *sql,
		    const char *what, char *err, size_t errlen)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	set_err(err, errlen, "%s: %s: %s", path, what, sqlite3_errmsg(db));
	return -EIO;
}

static int read_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out_finalize;
	*version = sqlite3_column_int(st, 0);
	rc = 0;
out_finalize:
	sqlite3_finalize(st);
out:
	return rc;
}

/* Open one connection with vigil's PRAGMAs.  The writer may create the file
 * and refuses a read-only one; the reader is made query-only. */
static int conn_open(const char *path, bool reader, sqlite3 **out,
		     char *err, size_t errlen)
{
	static const char pragmas[] =
		"PRAGMA synchronous=NORMAL;"
		"PRAGMA temp_store=MEMORY;"
		"PRAGMA foreign_keys=ON;"
		"PRAGMA secure_delete=OFF;";
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	bool is_file = strcmp(path, ":memory:") != 0;
	sqlite3 *db = NULL;
	int rc = -EIO;

	if (!reader)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		set_err(err, errlen, "%s: cannot open: %s", path,
			db ? sqlite3_errmsg(db) : "out of memory");
		goto out_close;
	}
	if (!reader && sqlite3_db_readonly(db, "main") == 1) {
		set_err(err, errlen, "%s: database is read-only", path);
		goto out_close;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	if (is_file && exec_sql(db, path, "PRAGMA journal_mode=WAL",
				"cannot enable WAL", err, errlen))
		goto out_close;
	if (exec_sql(db, path, pragmas, "cannot set PRAGMAs", err, errlen))
		goto out_close;
	if (reader && exec_sql(db, path, "PRAGMA query_only=ON",
			       "cannot set PRAGMAs", err, errlen))
		goto out_close;
	*out = db;
	db = NULL;
	rc = 0;
out_close:
	sqlite3_close(db);
	return rc;
}

/* Bring the writer's database to STORE_SCHEMA_VERSION, one migration per
 * transaction.  BEGIN IMMEDIATE makes a second process wait, then see the
 * version the first one left. */
static int store_migrate(struct store *s, char *err, size_t errlen)
{
	char sql[48];
	int version = 0;
	int rc = -EIO;

	for (;;) {
		if (exec_sql(s->wdb, s->path, "BEGIN IMMEDIATE",
			     "cannot lock for migration", err, errlen))
			goto out;
		if (read_user_version(s->wdb, &version)) {
			set_err(err, errlen, "%s: cannot read user_version: %s",
				s->path, sqlite3_errmsg(s->wdb));
			goto out_rollback;
		}
		if (version < 0 || version > STORE_SCHEMA_VERSION) {
			set_err(err, errlen,
				"%s: schema version %d is newer than this vigil "
				"supports (%d); refusing to open it",
				s->path, version, STORE_SCHEMA_VERSION);
			rc = -EPROTO;
			goto out_rollback;
		}
		if (version == STORE_SCHEMA_VERSION)
			break;
		if (exec_sql(s->wdb, s->path, store_migrations[version + 1],
			     "migration failed", err, errlen))
			goto out_rollback;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", version + 1);
		if (exec_sql(s->wdb, s->path, sql, "migration failed", err, errlen))
			goto out_rollback;
		if (exec_sql(s->wdb, s->path, "COMMIT", "migration failed",
			     err, errlen))
			goto out_rollback;
	}
	if (exec_sql(s->wdb, s->path, "COMMIT", "cannot commit", err, errlen))
		goto out_rollback;
	rc = 0;
	goto out;

out_rollback:
	if (!sqlite3_get_autocommit(s->wdb))
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
out:
	return rc;
}

static int store_prepare(struct store *s, char *err, size_t errlen)
{
	const unsigned int flags = SQLITE_PREPARE_PERSISTENT;

	if (sqlite3_prepare_v3(s->wdb, store_sql_insert_event, -1, flags,
			       &s->ins_event, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->wdb, store_sql_put_node, -1, flags,
			       &s->put_node, NULL) != SQLITE_OK) {
		set_err(err, errlen, "%s: cannot prepare statements: %s",
			s->path, sqlite3_errmsg(s->wdb));
		return -EIO;
	}
	return 0;
}

static int sync_init(struct store *s)
{
	pthread_condattr_t ca;
	int rc;

	rc = pthread_condattr_init(&ca);
	if (rc)
		goto out;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc)
		goto out_destroy_attr;
	rc = pthread_mutex_init(&s->lock, NULL);
	if (rc)
		goto out_destroy_attr;
	rc = pthread_mutex_init(&s->db_lock, NULL);
	if (rc)
		goto out_destroy_lock;
	rc = pthread_cond_init(&s->wake, &ca);
	if (rc)
		goto out_destroy_db_lock;
	rc = pthread_cond_init(&s->done, &ca);
	if (rc)
		goto out_destroy_wake;
	goto out_destroy_attr;

out_destroy_wake:
	pthread_cond_destroy(&s->wake);
out_destroy_db_lock:
	pthread_mutex_destroy(&s->db_lock);
out_destroy_lock:
	pthread_mutex_destroy(&s->lock);
out_destroy_attr:
	pthread_condattr_destroy(&ca);
out:
	return -rc;
}

static void sync_done(struct store *s)
{
	pthread_cond_destroy(&s->done);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->db_lock);
	pthread_mutex_destroy(&s->lock);
}

static void rows_free(struct row *r)
{
	struct row *next;

	for (; r; r = next) {
		next = r->next;
		free(r);
	}
}

/* --- the writer thread ------------------------------------------------- */

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (!v[0])
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static int bind_double_or_null(sqlite3_stmt *st, int i, double v)
{
	if (isnan(v))
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_double(st, i, v);
}

static int bind_int64_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	if (v < 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_int64(st, i, v);
}

/* Bind every parameter (SQLITE_STATIC: the row outlives the step). */
static int bind_event(sqlite3_stmt *st, const struct store_event *e)
{
	int rc;

	rc = sqlite3_bind_int64(st, 1, e->ts_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, e->node, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, e->group, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, e->kind, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 5, e->from_state);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 6, e->to_state);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 7, e->rule);
	if (rc == SQLITE_OK)
		rc = bind_double_or_null(st, 8, e->phi);
	if (rc == SQLITE_OK)
		rc = bind_double_or_null(st, 9, e->mean_ms);
	if (rc == SQLITE_OK)
		rc = bind_double_or_null(st, 10, e->sd_ms);
	if (rc == SQLITE_OK)
		rc = bind_int64_or_null(st, 11, e->samples);
	if (rc == SQLITE_OK)
		rc = bind_int64_or_null(st, 12, e->hb_age_ms);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 13, e->detail);
	return rc;
}

static int bind_node(sqlite3_stmt *st, const struct store_node *n)
{
	int rc;

	rc = sqlite3_bind_text(st, 1, n->name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, n->group, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, n->priority);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 4, n->version);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 5, n->boot_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, n->state, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, n->first_seen_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 8, n->last_seen_ms);
	return rc;
}

/* Commit batch in one transaction (writer thread, s->lock not held).  On
 * failure everything is rolled back and err says why. */
static int store_commit(struct store *s, const struct row *batch, bool fail,
			char *err, size_t errlen)
{
	sqlite3 *db = s->wdb;
	sqlite3_stmt *st = NULL;
	const struct row *r;
	int rc = -EIO;

	if (s->shared_conn)
		pthread_mutex_lock(&s->db_lock);
	if (fail != s->wdb_query_only) {
		if (sqlite3_exec(db, fail ? "PRAGMA query_only=ON" :
				 "PRAGMA query_only=OFF", NULL, NULL, NULL) != SQLITE_OK)
			goto out_rollback;
		s->wdb_query_only = fail;
	}
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out_rollback;
	for (r = batch; r; r = r->next) {
		if (r->kind == ROW_EVENT) {
			st = s->ins_event;
			if (bind_event(st, &r->u.ev) != SQLITE_OK)
				goto out_rollback;
		} else {
			st = s->put_node;
			if (bind_node(st, &r->u.node) != SQLITE_OK)
				goto out_rollback;
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out_rollback;
		sqlite3_reset(st);
	}
	st = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out_rollback;
	rc = 0;

out_rollback:
	if (rc) {
		set_err(err, errlen, "%s: %s", s->path, sqlite3_errmsg(db));
		if (st)
			sqlite3_reset(st);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	/* Bindings point into the batch, which the caller is about to free. */
	sqlite3_clear_bindings(s->ins_event);
	sqlite3_clear_bindings(s->put_node);
	if (s->shared_conn)
		pthread_mutex_unlock(&s->db_lock);
	return rc;
}

/* Detach up to STORE_BATCH_ROWS rows from the head.  s->lock held. */
static struct row *queue_take(struct store *s, size_t *n)
{
	struct row *first = s->head;
	struct row *last = NULL;
	struct row *r = s->head;
	size_t k = 0;

	while (r && k < STORE_BATCH_ROWS) {
		last = r;
		r = r->next;
		k++;
	}
	if (last)
		last->next = NULL;
	s->head = r;
	if (!r)
		s->tail = NULL;
	s->pending -= k;
	*n = k;
	return first;
}

/* Put a failed batch back at the head, in order.  s->lock held. */
static void queue_put_back(struct store *s, struct row *batch, size_t n)
{
	struct row *last = batch;

	while (last->next)
		last = last->next;
	last->next = s->head;
	s->head = batch;
	if (!s->tail)
		s->tail = last;
	s->pending += n;
}

static void *store_writer_main(void *arg)
{
	struct store *s = arg;
	struct timespec deadline;
	char errbuf[sizeof(s->stats.last_error)];
	struct row *batch;
	struct row *r;
	uint64_t last_seq = 0;
	size_t n;
	bool fail;
	int rc;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stop && !s->head)
			pthread_cond_wait(&s->wake, &s->lock);
		if (!s->head)
			break;          /* stopping and nothing left */

		/* Let a batch build up, unless asked to hurry. */
		deadline_after(&deadline, s->flush_ms);
		while (!s->stop && s->pending < STORE_BATCH_ROWS &&
		       s->flush_req == s->flush_seen &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &deadline) != ETIMEDOUT)
			;
		s->flush_seen = s->flush_req;
		batch = queue_take(s, &n);
		fail = s->fail_writes;
		pthread_mutex_unlock(&s->lock);

		rc = store_commit(s, batch, fail, errbuf, sizeof(errbuf));
		for (r = batch; r; r = r->next)
			last_seq = r->seq;

		pthread_mutex_lock(&s->lock);
		if (rc == 0) {
			s->committed_seq = last_seq;
			s->depth -= n;
			s->stats.rows_written += n;
			s->stats.batches++;
			s->stats.recording = true;
			pthread_cond_broadcast(&s->done);
			pthread_mutex_unlock(&s->lock);
			rows_free(batch);
			pthread_mutex_lock(&s->lock);
			continue;
		}

		queue_put_back(s, batch, n);
		s->fail_gen++;
		s->stats.write_errors++;
		s->stats.recording = false;
		copy_str(s->stats.last_error, sizeof(s->stats.last_error), errbuf);
		s->flush_seen = s->flush_req;   /* those flushers get -EIO now */
		pthread_cond_broadcast(&s->done);
		if (s->stop) {
			/* That was the final attempt: give up on the rest. */
			s->rows_lost = s->depth;
			batch = s->head;
			s->head = NULL;
			s->tail = NULL;
			s->pending = 0;
			s->depth = 0;
			pthread_mutex_unlock(&s->lock);
			rows_free(batch);
			pthread_mutex_lock(&s->lock);
			break;
		}
		/* Back off; a flush, the hook or close cuts it short. */
		deadline_after(&deadline, STORE_RETRY_MS);
		while (!s->stop && s->flush_req == s->flush_seen &&
		       s->fail_writes == fail &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* --- public API ------------------------------------------------------- */

struct store *store_open(const char *path, int flush_ms, char *err, size_t errlen)
{
	struct store *s = NULL;
	int rc;

	if (!path || !path[0]) {
		set_err(err, errlen, "store: no database path");
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	s->path = strdup(path);
	if (!s->path) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out_free_store;
	}
	s->flush_ms = flush_ms > 0 ? flush_ms : STORE_FLUSH_MS_DEFAULT;
	s->shared_conn = strcmp(path, ":memory:") == 0;
	s->queue_max = STORE_QUEUE_MAX;
	s->stats.recording = true;
	rc = sync_init(s);
	if (rc) {
		set_err(err, errlen, "%s: cannot create locks: %s", path, strerror(-rc));
		goto out_free_path;
	}

	if (conn_open(path, false, &s->wdb, err, errlen))
		goto out_sync_done;
	if (store_migrate(s, err, errlen))
		goto out_close_wdb;
	if (store_prepare(s, err, errlen))
		goto out_finalize;
	if (s->shared_conn)
		s->rdb = s->wdb;
	else if (conn_open(path, true, &s->rdb, err, errlen))
		goto out_finalize;

	rc = pthread_create(&s->writer, NULL, store_writer_main, s);
	if (rc) {
		set_err(err, errlen, "%s: cannot start writer thread: %s",
			path, strerror(rc));
		goto out_close_rdb;
	}
	goto out;

out_close_rdb:
	if (!s->shared_conn)
		sqlite3_close(s->rdb);
out_finalize:
	sqlite3_finalize(s->put_node);
	sqlite3_finalize(s->ins_event);
out_close_wdb:
	sqlite3_close(s->wdb);
out_sync_done:
	sync_done(s);
out_free_path:
	free(s->path);
out_free_store:
	free(s);
	s = NULL;
out:
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;

	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->writer, NULL);

	/* The store has no one left to tell but the operator. */
	if (s->rows_lost)
		fprintf(stderr, "vigil: store: %zu rows not saved at close: %s\n",
			s->rows_lost, s->stats.last_error);

	sqlite3_finalize(s->put_node);
	sqlite3_finalize(s->ins_event);
	if (!s->shared_conn) {
		sqlite3_close(s->rdb);
		sqlite3_exec(s->wdb, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	}
	sqlite3_close(s->wdb);
	rows_free(s->head);
	sync_done(s);
	free(s->path);
	free(s);
}

/* Append r to the queue, or refuse it.  Takes ownership of r. */
static int store_enqueue(struct store *s, struct row *r)
{
	int rc = 0;

	r->next = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->depth >= s->queue_max) {
		s->stats.rows_refused++;
		rc = -ENOSPC;
		goto out_unlock;
	}
	r->seq = ++s->last_seq;
	if (s->tail)
		s->tail->next = r;
	else
		s->head = r;
	s->tail = r;
	s->pending++;
	s->depth++;
	s->stats.rows_queued++;
	if (s->pending == 1 || s->pending == STORE_BATCH_ROWS)
		pthread_cond_signal(&s->wake);
	r = NULL;
out_unlock:
	pthread_mutex_unlock(&s->lock);
	free(r);
	return rc;
}

int store_add_event(struct store *s, const struct store_event *e)
{
	struct row *r;
	struct store_event *c;

	if (!s || !e)
		return -EINVAL;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->kind = ROW_EVENT;
	c = &r->u.ev;
	*c = *e;
	c->id = 0;
	c->node[sizeof(c->node) - 1] = '\0';
	c->group[sizeof(c->group) - 1] = '\0';
	c->kind[sizeof(c->kind) - 1] = '\0';
	c->from_state[sizeof(c->from_state) - 1] = '\0';
	c->to_state[sizeof(c->to_state) - 1] = '\0';
	c->rule[sizeof(c->rule) - 1] = '\0';
	c->detail[sizeof(c->detail) - 1] = '\0';
	return store_enqueue(s, r);
}

int store_put_node(struct store *s, const struct store_node *n)
{
	struct row *r;
	struct store_node *c;

	if (!s || !n || !n->name[0])
		return -EINVAL;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->kind = ROW_NODE;
	c = &r->u.node;
	*c = *n;
	c->name[sizeof(c->name) - 1] = '\0';
	c->group[sizeof(c->group) - 1] = '\0';
	c->version[sizeof(c->version) - 1] = '\0';
	c->boot_id[sizeof(c->boot_id) - 1] = '\0';
	c->state[sizeof(c->state) - 1] = '\0';
	return store_enqueue(s, r);
}

/* Wait for the rows queued so far, or for the first failed attempt after the
 * call (rows commit in order, so it failed on some of them).  A flush also
 * cuts the writer's wait for a fuller batch, or its back-off, short. */
int store_flush(struct store *s)
{
	uint64_t target;
	uint64_t gen;
	int rc;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	target = s->last_seq;
	gen = s->fail_gen;
	if (s->committed_seq < target) {
		s->flush_req++;
		pthread_cond_signal(&s->wake);
		while (s->committed_seq < target && s->fail_gen == gen)
			pthread_cond_wait(&s->done, &s->lock);
	}
	rc = s->committed_seq >= target ? 0 : -EIO;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void store_get_stats(struct store *s, struct store_stats *out)
{
	if (!s || !out)
		return;
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	out->queue_depth = s->depth;
	pthread_mutex_unlock(&s->lock);
}

void store_set_queue_max(struct store *s, size_t max)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->queue_max = max ? max : STORE_QUEUE_MAX;
	pthread_mutex_unlock(&s->lock);
}

void store_debug_fail_writes(struct store *s, bool fail)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->fail_writes = fail;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void store_event_init(struct store_event *e)
{
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	e->phi = NAN;
	e->mean_ms = NAN;
	e->sd_ms = NAN;
	e->samples = -1;
	e->hb_age_ms = -1;
}

/* --- reads ------------------------------------------------------------ */

static void reader_lock(struct store *s)
{
	if (s->shared_conn)
		pthread_mutex_lock(&s->db_lock);
}

static void reader_unlock(struct store *s)
{
	if (s->shared_conn)
		pthread_mutex_unlock(&s->db_lock);
}

/* NULL reads back as "". */
static void column_str(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	copy_str(dst, size, v ? (const char *)v : "");
}

static double column_double(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NAN;
	return sqlite3_column_double(st, i);
}

static int64_t column_int64(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return -1;
	return sqlite3_column_int64(st, i);
}

int store_load_nodes(struct store *s, store_node_cb cb, void *arg)
{
	struct store_node n;
	sqlite3_stmt *st = NULL;
	int step;
	int rc = -EINVAL;

	if (!s || !cb)
		goto out;
	rc = -EIO;
	reader_lock(s);
	if (sqlite3_prepare_v2(s->rdb, store_sql_load_nodes, -1, &st, NULL) != SQLITE_OK)
		goto out_unlock;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&n, 0, sizeof(n));
		column_str(st, 0, n.name, sizeof(n.name));
		column_str(st, 1, n.group, sizeof(n.group));
		n.priority = sqlite3_column_int(st, 2);
		column_str(st, 3, n.version, sizeof(n.version));
		column_str(st, 4, n.boot_id, sizeof(n.boot_id));
		column_str(st, 5, n.state, sizeof(n.state));
		n.first_seen_ms = sqlite3_column_int64(st, 6);
		n.last_seen_ms = sqlite3_column_int64(st, 7);
		if (cb(&n, arg)) {
			step = SQLITE_DONE;
			break;
		}
	}
	if (step == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
out_unlock:
	reader_unlock(s);
out:
	return rc;
}

int store_query_events(struct store *s, const char *node, const char *kind,
		       int64_t since_ms, int64_t until_ms, int limit,
		       store_event_cb cb, void *arg)
{
	char sql[sizeof(store_sql_events_head) + 160];
	struct store_event e;
	sqlite3_stmt *st = NULL;
	bool by_node = node && node[0];
	bool by_kind = kind && kind[0];
	int step;
	int rc = -EINVAL;

	if (!s || !cb)
		goto out;
	if (limit <= 0)
		limit = STORE_QUERY_LIMIT;

	/* Only the filters in use, so SQLite can pick the (node, ts_ms) or the
	 * (ts_ms) index; both end in the rowid, which orders ties. */
	strcpy(sql, store_sql_events_head);
	if (by_node)
		strcat(sql, " AND node = :node");
	if (by_kind)
		strcat(sql, " AND kind = :kind");
	if (since_ms > 0)
		strcat(sql, " AND ts_ms >= :since");
	if (until_ms > 0)
		strcat(sql, " AND ts_ms <= :until");
	strcat(sql, " ORDER BY ts_ms DESC, id DESC LIMIT :limit");

	rc = -EIO;
	reader_lock(s);
	if (sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL) != SQLITE_OK)
		goto out_unlock;
	if ((by_node && sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":node"),
					  node, -1, SQLITE_STATIC) != SQLITE_OK) ||
	    (by_kind && sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":kind"),
					  kind, -1, SQLITE_STATIC) != SQLITE_OK) ||
	    (since_ms > 0 && sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":since"),
						since_ms) != SQLITE_OK) ||
	    (until_ms > 0 && sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":until"),
						until_ms) != SQLITE_OK) ||
	    sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":limit"),
			     limit) != SQLITE_OK)
		goto out_finalize;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.id = sqlite3_column_int64(st, 0);
		e.ts_ms = sqlite3_column_int64(st, 1);
		column_str(st, 2, e.node, sizeof(e.node));
		column_str(st, 3, e.group, sizeof(e.group));
		column_str(st, 4, e.kind, sizeof(e.kind));
		column_str(st, 5, e.from_state, sizeof(e.from_state));
		column_str(st, 6, e.to_state, sizeof(e.to_state));
		column_str(st, 7, e.rule, sizeof(e.rule));
		e.phi = column_double(st, 8);
		e.mean_ms = column_double(st, 9);
		e.sd_ms = column_double(st, 10);
		e.samples = (int)column_int64(st, 11);
		e.hb_age_ms = column_int64(st, 12);
		column_str(st, 13, e.detail, sizeof(e.detail));
		if (cb(&e, arg)) {
			step = SQLITE_DONE;
			break;
		}
	}
	if (step == SQLITE_DONE)
		rc = 0;
out_finalize:
	sqlite3_finalize(st);
out_unlock:
	reader_unlock(s);
out:
	return rc;
}

int64_t store_count_events(struct store *s, const char *kind)
{
	sqlite3_stmt *st = NULL;
	bool by_kind = kind && kind[0];
	int64_t count = -1;

	if (!s)
		goto out;
	reader_lock(s);
	if (sqlite3_prepare_v2(s->rdb, by_kind ?
			       "SELECT count(*) FROM events WHERE kind = ?1" :
			       "SELECT count(*) FROM events", -1, &st, NULL) != SQLITE_OK)
		goto out_unlock;
	if (by_kind && sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out_finalize;
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
out_finalize:
	sqlite3_finalize(st);
out_unlock:
	reader_unlock(s);
out:
	return count;
}
