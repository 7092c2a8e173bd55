/* store.c — vigil's history in SQLite: a queue, one writer thread, a reader.
 *
 * Threads.  store_add_event() and store_put_node() copy the row into a FIFO
 * guarded by s->lock and return at once; they never touch the database.  The
 * writer thread owns s->wdb and its prepared statements once store_open() has
 * started it.  It waits until the oldest queued row has waited flush_ms
 * (less if STORE_BATCH_ROWS rows are queued, a flush is asked for or the
 * store is closing), detaches up to STORE_BATCH_ROWS rows from the head and
 * commits them in one transaction.  Rows that came in during a commit have
 * waited long enough by its end, so under load each batch is what arrived
 * during the previous commit: batches grow with the load, which is what
 * keeps the per-node index affordable (bench/store.sh).  If the commit
 * fails it rolls back, puts the rows back at the head (nothing is lost),
 * marks the store as not recording and retries after STORE_RETRY_MS.
 * Reads run on s->rdb in the caller's thread and see only committed rows.
 *
 * ":memory:".  An in-memory database belongs to one connection, so there the
 * reader IS the writer connection (s->rdb == s->wdb) and s->db_lock
 * serialises the writer's transactions with the reads: a read never sees a
 * half-written batch.  The price is that read callbacks run with db_lock held
 * and must not call store_flush() or store_close() on the same store.  For a
 * file, db_lock is unused and WAL lets reads run while the writer commits.
 *
 * Retention.  Between batches, at most once every STORE_PRUNE_EVERY_MS, the
 * writer deletes expired samples in steps of at most STORE_PRUNE_STEP_ROWS
 * rows, each its own transaction, and ends the pass early once rows wait for
 * it and the pass has used STORE_PRUNE_BUDGET_MS, so inserts never stall
 * behind a long delete.
 *
 * Tickets.  A row's ticket is its queue seq.  After each commit the writer
 * publishes the last committed seq in s->committed_ticket (an atomic, so
 * store_committed_ticket() takes no lock) and then calls the commit hook
 * with s->hook_lock held (so clearing the hook waits for a running call).
 *
 * Epochs.  store_group_set_epoch_sync() bypasses the queue: it writes on a
 * third connection, s->sdb, with synchronous=FULL, under s->sync_lock (for
 * ":memory:": on the one connection, under db_lock).
 *
 * Checkpoints.  For a file, a fourth connection, s->cdb, checkpoints the
 * WAL in its own thread after the writer's commits (see "the checkpointer"
 * below), so the writer never waits on the disk's sync but when the WAL
 * grows too long.  That thread also frees the committed batches.
 *
 * Locks are never nested: s->lock guards the queue and the stats, db_lock
 * (":memory:" only) guards the connection, hook_lock the commit hook,
 * sync_lock s->sdb, ckpt_lock the checkpointer's requests.
 *
 * Ownership: the store owns the queued copies and its path string; the
 * caller owns everything it passes in.  No global state.
 */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define STORE_FLUSH_MS_DEFAULT 50
#define STORE_RETRY_MS         1000    /* back-off after a failed commit */
#define STORE_BUSY_TIMEOUT_MS  5000
#define STORE_QUERY_LIMIT      100
#define STORE_PRUNE_EVERY_MS   1000    /* at most one prune pass a second */
#define STORE_PRUNE_BUDGET_MS  20      /* a pass yields to waiting rows after this */
#define STORE_PRUNE_STEPS_MAX  64      /* and never runs more steps than this */
#define STORE_MINUTE_MS        60000
#define STORE_CKPT_FRAMES      1000    /* WAL frames that call for a checkpoint */
#define STORE_WAL_MAX_FRAMES   16384   /* the writer waits for one beyond this */
#define STORE_WRITER_CACHE     "PRAGMA cache_size=-65536" /* KiB: big batches */
#define STORE_READER_CACHE     "PRAGMA cache_size=-32768" /* KiB: report 2x faster */

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
	[2] =
	"CREATE TABLE groups("
	" name TEXT PRIMARY KEY,"
	" epoch INTEGER NOT NULL DEFAULT 0,"
	" leader TEXT,"
	" updated_ms INTEGER);"
	"CREATE TABLE failovers("
	" id INTEGER PRIMARY KEY,"
	" grp TEXT NOT NULL,"
	" started_ms INTEGER,"
	" detected_ms INTEGER,"
	" decided_ms INTEGER,"
	" promoted_ms INTEGER,"
	" finished_ms INTEGER,"
	" old_leader TEXT,"
	" new_leader TEXT,"
	" epoch INTEGER,"
	" outcome TEXT NOT NULL,"
	" reason TEXT,"
	" detail TEXT);"
	"CREATE INDEX failovers_grp_started ON failovers(grp, started_ms);"
	"CREATE TABLE hook_runs("
	" id INTEGER PRIMARY KEY,"
	" ts_ms INTEGER NOT NULL,"
	" node TEXT NOT NULL,"
	" grp TEXT NOT NULL,"
	" hook TEXT NOT NULL,"
	" epoch INTEGER,"
	" rc INTEGER NOT NULL,"
	" duration_ms INTEGER,"
	" output TEXT);"
	"CREATE TABLE audit("
	" id INTEGER PRIMARY KEY,"
	" ts_ms INTEGER NOT NULL,"
	" operator TEXT NOT NULL,"
	" role TEXT,"
	" command TEXT NOT NULL,"
	" target TEXT,"
	" reason TEXT,"
	" dry_run INTEGER NOT NULL,"
	" result TEXT NOT NULL,"
	" detail TEXT);"
	"CREATE TABLE alerts("
	" id INTEGER PRIMARY KEY,"
	" fingerprint TEXT NOT NULL,"
	" rule TEXT NOT NULL,"
	" node TEXT,"
	" grp TEXT,"
	" severity TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" started_ms INTEGER NOT NULL,"
	" resolved_ms INTEGER,"
	" acked_by TEXT,"
	" acked_ms INTEGER,"
	" ack_reason TEXT,"
	" summary TEXT);"
	"CREATE INDEX alerts_fingerprint ON alerts(fingerprint, started_ms);"
	/* Raw samples: samples_ts serves retention, which deletes by age. */
	"CREATE TABLE samples("
	" node TEXT NOT NULL,"
	" ts_ms INTEGER NOT NULL,"
	" cpu REAL,"
	" mem REAL,"
	" load1 REAL,"
	" disk REAL,"
	" rtt_ms REAL,"
	" errors REAL,"
	" latency_ms REAL);"
	"CREATE INDEX samples_node_ts ON samples(node, ts_ms);"
	"CREATE INDEX samples_ts ON samples(ts_ms);"
	/* Per-minute aggregates; X_n = values folded into X_avg (NULLs skipped). */
	"CREATE TABLE samples_1m("
	" node TEXT NOT NULL,"
	" minute_ms INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" cpu_avg REAL, cpu_max REAL,"
	" mem_avg REAL, mem_max REAL,"
	" load1_avg REAL, load1_max REAL,"
	" disk_max REAL,"
	" rtt_avg REAL, rtt_max REAL,"
	" errors_avg REAL, errors_max REAL,"
	" latency_avg REAL, latency_max REAL,"
	" cpu_n INTEGER NOT NULL DEFAULT 0,"
	" mem_n INTEGER NOT NULL DEFAULT 0,"
	" load1_n INTEGER NOT NULL DEFAULT 0,"
	" rtt_n INTEGER NOT NULL DEFAULT 0,"
	" errors_n INTEGER NOT NULL DEFAULT 0,"
	" latency_n INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(node, minute_ms));"
	"CREATE INDEX samples_1m_minute ON samples_1m(minute_ms);"
	/* A small group's page, or an unknown group, would otherwise walk
	 * events_ts far back (bench/store.sh, 10M events: a 2-node group's page
	 * p99 26 ms -> 0.1 ms, unknown group 1 s -> 0.03 ms; the price: about
	 * 15 % of the insert rate). */
	"CREATE INDEX events_grp_ts ON events(grp, ts_ms);"
	/* Likewise rare kinds; partial, so only their rows pay for it (a full
	 * events(kind, ts_ms) cost inserts and misled the planner). */
	"CREATE INDEX events_rare_ts ON events(ts_ms) WHERE " STORE_SQL_RARE_KINDS ";",
	/* Hook output grows to STORE_HOOK_OUTPUT_MAX in the same TEXT column. */
	[3] =
	"CREATE TABLE group_members("
	" grp TEXT NOT NULL,"
	" node TEXT NOT NULL,"
	" added_ms INTEGER NOT NULL,"
	" PRIMARY KEY(grp, node));"
	"CREATE TABLE overrides("
	" grp TEXT NOT NULL,"
	" node TEXT NOT NULL DEFAULT '',"         /* '' = the whole group */
	" kind TEXT NOT NULL CHECK(kind IN ('pause', 'maintenance')),"
	" until_ms INTEGER NOT NULL DEFAULT 0,"   /* 0 = until undone */
	" who TEXT,"
	" reason TEXT,"
	" set_ms INTEGER NOT NULL,"
	" PRIMARY KEY(grp, node, kind));",
	/* Integer keys for events' node and group (bench/store.sh): the rows
	 * move to event_log, ids kept; events becomes a view with the old
	 * columns, for people and scripts reading the file with sqlite3. */
	[4] =
	"CREATE TABLE names("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE);"
	"INSERT INTO names(name) SELECT node FROM events UNION SELECT grp FROM events;"
	"CREATE TABLE event_log("
	" id INTEGER PRIMARY KEY,"
	" ts_ms INTEGER NOT NULL,"
	" node_id INTEGER NOT NULL,"          /* names.id; "" = collector-wide */
	" grp_id INTEGER NOT NULL,"           /* names.id */
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
	"CREATE INDEX events_rare_ts ON event_log(ts_ms) WHERE " STORE_SQL_RARE_KINDS ";",
	/* No per-group index on the hot path (bench/store.sh: 20 % of the
	 * writer's CPU): node_groups lists every (group, node) pair that
	 * events have, and a group's pages merge its nodes' (history.c). */
	[5] =
	"CREATE TABLE node_groups("
	" grp_id INTEGER NOT NULL,"
	" node_id INTEGER NOT NULL,"
	" PRIMARY KEY(grp_id, node_id)) WITHOUT ROWID;"
	"INSERT INTO node_groups SELECT DISTINCT grp_id, node_id FROM event_log;"
	"DROP INDEX events_grp_ts;",
};

_Static_assert(ARRAY_SIZE(store_migrations) == STORE_SCHEMA_VERSION + 1,
	       "one migration per schema version");

static const char store_sql_insert_event[] =
	"INSERT INTO event_log(ts_ms, node_id, grp_id, kind, from_state, to_state,"
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

/* vigil forget: the node is no longer known (a restart does not bring it
 * back), nor is its maintenance; its history (events, samples, node_groups,
 * audit, failovers) stays. */
static const char store_sql_forget_node[] =
	"DELETE FROM nodes WHERE name = ?1";
static const char store_sql_forget_node_overrides[] =
	"DELETE FROM overrides WHERE node = ?1";

static const char store_sql_load_nodes[] =
	"SELECT name, grp, priority, version, boot_id, state, first_seen_ms,"
	" last_seen_ms FROM nodes ORDER BY name";

static const char store_sql_events_head[] =
	"SELECT " STORE_SQL_EVENT_COLUMNS " FROM event_log WHERE 1";

static const char store_sql_insert_sample[] =
	"INSERT INTO samples(node, ts_ms, cpu, mem, load1, disk, rtt_ms, errors,"
	" latency_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/* A running mean and a max that skip NULLs.  In an UPDATE every column on the
 * right-hand side is the old value. */
#define AGG_AVG(x)							\
	" " x "_avg = CASE WHEN excluded." x "_avg IS NULL THEN " x "_avg"	\
	" WHEN " x "_avg IS NULL THEN excluded." x "_avg"			\
	" ELSE " x "_avg + (excluded." x "_avg - " x "_avg) / (" x "_n + 1) END,"\
	" " x "_n = " x "_n + excluded." x "_n,"
#define AGG_MAX(x)							\
	" " x "_max = max(coalesce(" x "_max, excluded." x "_max),"		\
	" coalesce(excluded." x "_max, " x "_max)),"

static const char store_sql_upsert_sample_1m[] =
	"INSERT INTO samples_1m(node, minute_ms, n,"
	" cpu_avg, cpu_max, cpu_n, mem_avg, mem_max, mem_n,"
	" load1_avg, load1_max, load1_n, disk_max,"
	" rtt_avg, rtt_max, rtt_n, errors_avg, errors_max, errors_n,"
	" latency_avg, latency_max, latency_n)"
	" VALUES(?1, ?2, 1, ?3, ?3, ?3 IS NOT NULL, ?4, ?4, ?4 IS NOT NULL,"
	" ?5, ?5, ?5 IS NOT NULL, ?6, ?7, ?7, ?7 IS NOT NULL,"
	" ?8, ?8, ?8 IS NOT NULL, ?9, ?9, ?9 IS NOT NULL)"
	" ON CONFLICT(node, minute_ms) DO UPDATE SET"
	AGG_AVG("cpu") AGG_MAX("cpu")
	AGG_AVG("mem") AGG_MAX("mem")
	AGG_AVG("load1") AGG_MAX("load1")
	AGG_MAX("disk")
	AGG_AVG("rtt") AGG_MAX("rtt")
	AGG_AVG("errors") AGG_MAX("errors")
	AGG_AVG("latency") AGG_MAX("latency")
	" n = n + 1";

static const char store_sql_insert_failover[] =
	"INSERT INTO failovers(grp, started_ms, detected_ms, decided_ms,"
	" promoted_ms, finished_ms, old_leader, new_leader, epoch, outcome,"
	" reason, detail)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

static const char store_sql_insert_hook_run[] =
	"INSERT INTO hook_runs(ts_ms, node, grp, hook, epoch, rc, duration_ms,"
	" output) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

static const char store_sql_insert_audit[] =
	"INSERT INTO audit(ts_ms, operator, role, command, target, reason,"
	" dry_run, result, detail)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static const char store_sql_get_name[] =
	"SELECT id FROM names WHERE name = ?1";
static const char store_sql_add_name[] =
	"INSERT INTO names(name) VALUES(?1)";
static const char store_sql_add_pair[] =
	"INSERT OR IGNORE INTO node_groups(grp_id, node_id) VALUES(?1, ?2)";

/* Re-adding a member keeps its first added_ms. */
static const char store_sql_add_member[] =
	"INSERT INTO group_members(grp, node, added_ms) VALUES(?1, ?2, ?3)"
	" ON CONFLICT(grp, node) DO NOTHING";
static const char store_sql_del_member[] =
	"DELETE FROM group_members WHERE grp = ?1 AND node = ?2";

static const char store_sql_put_override[] =
	"INSERT OR REPLACE INTO overrides(grp, node, kind, until_ms, who, reason,"
	" set_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char store_sql_del_override[] =
	"DELETE FROM overrides WHERE grp = ?1 AND node = ?2 AND kind = ?3";

/* Groups known by either table, with their members in name order (one row
 * per member, or one with a NULL member). */
static const char store_sql_load_groups[] =
	"SELECT n.name, coalesce(g.epoch, 0), coalesce(g.leader, ''), m.node"
	" FROM (SELECT name FROM groups UNION SELECT grp FROM group_members) n"
	" LEFT JOIN groups g ON g.name = n.name"
	" LEFT JOIN group_members m ON m.grp = n.name"
	" ORDER BY n.name, m.node";

static const char store_sql_load_overrides[] =
	"SELECT grp, node, kind, until_ms, who, reason, set_ms FROM overrides"
	" ORDER BY grp, node, kind";

/* Retention steps (Debian's SQLite has ENABLE_UPDATE_DELETE_LIMIT); the
 * samples_ts and samples_1m_minute indexes find the oldest rows. */
static const char store_sql_prune_raw[] =
	"DELETE FROM samples WHERE ts_ms < ?1 LIMIT ?2";
static const char store_sql_prune_agg[] =
	"DELETE FROM samples_1m WHERE minute_ms < ?1 LIMIT ?2";

/* Only ever forward: an equal epoch rewrites the leader, a lower one changes
 * nothing (sqlite3_changes() == 0). */
static const char store_sql_group_set_epoch[] =
	"INSERT INTO groups(name, epoch, leader, updated_ms)"
	" VALUES(?1, ?2, ?3, ?4)"
	" ON CONFLICT(name) DO UPDATE SET epoch = excluded.epoch,"
	" leader = excluded.leader, updated_ms = excluded.updated_ms"
	" WHERE excluded.epoch >= groups.epoch";

enum row_kind {
	ROW_EVENT,
	ROW_NODE,
	ROW_SAMPLE,
	ROW_FAILOVER,
	ROW_HOOK_RUN,
	ROW_AUDIT,
	ROW_GROUP_MEMBER,
	ROW_OVERRIDE,
	ROW_NODE_FORGET,
};

/* What store_group_member() and store_override_set() queue. */
struct member_change {
	char group[STORE_NAME_MAX + 1];
	char node[STORE_NAME_MAX + 1];
	int64_t ts_ms;
	bool on;
};

struct override_change {
	struct store_override o;
	bool on;
};

/* One queued row: a header and a private copy of the caller's struct (a
 * struct store_event for ROW_EVENT, ...) in data.  Most structs end with a
 * large text field that is mostly empty; only its used part is copied, so
 * the copy may be shorter than the struct and that last field must only be
 * read as a string (row_new()). */
struct row {
	struct row *next;
	uint64_t seq;                   /* 1, 2, ... in queueing order: the ticket */
	enum row_kind kind;
	max_align_t data[];
};

/* One entry of the writer's cache of node_groups; grp_id 0 = empty. */
struct pair_slot {
	int64_t grp_id;
	int64_t node_id;
};

/* One entry of the writer's cache of names(id, name); id 0 = empty. */
struct name_slot {
	int64_t id;
	uint32_t hash;
	char name[STORE_NAME_MAX + 1];
};

struct store {
	char *path;                     /* as given; names the file in errors */
	int flush_ms;
	bool shared_conn;               /* ":memory:": rdb == wdb, under db_lock */

	sqlite3 *wdb;                   /* the writer thread's */
	sqlite3 *rdb;                   /* the caller's thread's */
	sqlite3_stmt *ins_event;        /* the writer thread's, persistent */
	sqlite3_stmt *put_node;
	sqlite3_stmt *ins_sample;
	sqlite3_stmt *up_sample_1m;
	sqlite3_stmt *ins_failover;
	sqlite3_stmt *ins_hook_run;
	sqlite3_stmt *ins_audit;
	sqlite3_stmt *prune_raw;
	sqlite3_stmt *prune_agg;
	sqlite3_stmt *add_member;
	sqlite3_stmt *del_member;
	sqlite3_stmt *put_override;
	sqlite3_stmt *del_override;
	sqlite3_stmt *get_name;
	sqlite3_stmt *add_name;
	sqlite3_stmt *add_pair;
	sqlite3_stmt *forget_node;
	sqlite3_stmt *forget_node_ovr;
	struct name_slot *names;        /* the writer thread's: names.id cache */
	size_t names_cap;               /* slots (a power of two, or 0) */
	size_t names_used;
	struct pair_slot *pairs;        /* the writer thread's: node_groups cache */
	size_t pairs_cap;
	size_t pairs_used;
	bool wdb_query_only;            /* the writer thread's: hook applied */
	int64_t last_prune_ms;          /* the writer thread's: monotonic */
	pthread_mutex_t db_lock;

	sqlite3 *sdb;                   /* epochs, synchronous=FULL (file only) */
	pthread_mutex_t sync_lock;      /* guards sdb */

	sqlite3 *cdb;                   /* the checkpointer's (file only) */
	pthread_t checkpointer;
	int wal_frames;                 /* the writer's: WAL size at its last commit */
	pthread_mutex_t ckpt_lock;      /* guards the five below */
	pthread_cond_t ckpt_cond;       /* both ways: asked, done */
	uint64_t ckpt_req;              /* checkpoints asked for */
	uint64_t ckpt_done;             /* checkpoints run (up to ckpt_req) */
	struct row *reap[8];            /* committed batches it is to free */
	int nreap;
	bool ckpt_stop;

	pthread_mutex_t hook_lock;      /* guards hook_fn, hook_arg */
	void (*hook_fn)(void *arg);
	void *hook_arg;

	_Atomic uint64_t committed_ticket; /* == committed_seq, readable lock-free */

	pthread_t writer;
	pthread_mutex_t lock;           /* guards everything below */
	pthread_cond_t wake;            /* to the writer: rows, flush, stop, hook */
	pthread_cond_t done;            /* to flushers: an attempt has ended */
	struct row *head;               /* rows the writer has not taken yet */
	struct row *tail;
	size_t pending;                 /* rows in head..tail */
	int64_t head_ms;                /* monotonic: when head was queued (about) */
	size_t depth;                   /* pending + rows in the writer's hands */
	size_t queue_max;
	uint64_t last_seq;              /* seq of the newest queued row */
	uint64_t committed_seq;         /* rows with seq <= this are committed */
	uint64_t fail_gen;              /* failed attempts so far */
	uint64_t flush_req;             /* store_flush() calls so far */
	uint64_t flush_seen;            /* flush_req the writer has acted on */
	uint64_t flush_target;          /* highest seq a store_flush() waits for */
	size_t rows_lost;               /* dropped after the final attempt */
	bool stop;
	bool fail_writes;               /* store_debug_fail_writes() */
	bool prune_paused;              /* store_debug_pause_pruning() */
	int64_t raw_keep_ms;            /* store_set_retention(); <= 0 = forever */
	int64_t agg_keep_ms;
	uint64_t prune_req;             /* store_prune_step() calls so far */
	uint64_t prune_done;            /* prune_req the writer has served */
	int prune_result;               /* of the last served request */
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

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CLOCK_MONOTONIC time at_ms as a deadline. */
static void deadline_at(struct timespec *ts, int64_t at_ms)
{
	ts->tv_sec = at_ms / 1000;
	ts->tv_nsec = (long)(at_ms % 1000) * 1000000L;
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
	if (reader && exec_sql(db, path, "PRAGMA query_only=ON;" STORE_READER_CACHE,
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

/* The writer's statements, in one table so that preparing, clearing and
 * finalizing them cannot miss one. */
static sqlite3_stmt **store_stmt(struct store *s, size_t i, const char **sql)
{
	static const char *const sqls[] = {
		store_sql_insert_event, store_sql_put_node,
		store_sql_insert_sample, store_sql_upsert_sample_1m,
		store_sql_insert_failover, store_sql_insert_hook_run,
		store_sql_insert_audit, store_sql_prune_raw, store_sql_prune_agg,
		store_sql_add_member, store_sql_del_member,
		store_sql_put_override, store_sql_del_override,
		store_sql_get_name, store_sql_add_name, store_sql_add_pair,
		store_sql_forget_node, store_sql_forget_node_overrides,
	};
	sqlite3_stmt **const stmts[ARRAY_SIZE(sqls)] = {
		&s->ins_event, &s->put_node, &s->ins_sample, &s->up_sample_1m,
		&s->ins_failover, &s->ins_hook_run, &s->ins_audit,
		&s->prune_raw, &s->prune_agg,
		&s->add_member, &s->del_member, &s->put_override, &s->del_override,
		&s->get_name, &s->add_name, &s->add_pair,
		&s->forget_node, &s->forget_node_ovr,
	};

	if (i >= ARRAY_SIZE(sqls))
		return NULL;
	if (sql)
		*sql = sqls[i];
	return stmts[i];
}

static int store_prepare(struct store *s, char *err, size_t errlen)
{
	const unsigned int flags = SQLITE_PREPARE_PERSISTENT;
	sqlite3_stmt **st;
	const char *sql;
	size_t i;

	for (i = 0; (st = store_stmt(s, i, &sql)); i++) {
		if (sqlite3_prepare_v3(s->wdb, sql, -1, flags, st, NULL) != SQLITE_OK) {
			set_err(err, errlen, "%s: cannot prepare statements: %s",
				s->path, sqlite3_errmsg(s->wdb));
			return -EIO;
		}
	}
	return 0;
}

static void store_finalize(struct store *s)
{
	sqlite3_stmt **st;
	size_t i;

	for (i = 0; (st = store_stmt(s, i, NULL)); i++) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
}

/* Bindings point into rows the caller is about to free. */
static void store_clear_bindings(struct store *s)
{
	sqlite3_stmt **st;
	size_t i;

	for (i = 0; (st = store_stmt(s, i, NULL)); i++)
		sqlite3_clear_bindings(*st);
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
	rc = pthread_mutex_init(&s->sync_lock, NULL);
	if (rc)
		goto out_destroy_db_lock;
	rc = pthread_mutex_init(&s->hook_lock, NULL);
	if (rc)
		goto out_destroy_sync_lock;
	rc = pthread_cond_init(&s->wake, &ca);
	if (rc)
		goto out_destroy_hook_lock;
	rc = pthread_cond_init(&s->done, &ca);
	if (rc)
		goto out_destroy_wake;
	rc = pthread_mutex_init(&s->ckpt_lock, NULL);
	if (rc)
		goto out_destroy_done;
	rc = pthread_cond_init(&s->ckpt_cond, &ca);
	if (rc)
		goto out_destroy_ckpt_lock;
	goto out_destroy_attr;

out_destroy_ckpt_lock:
	pthread_mutex_destroy(&s->ckpt_lock);
out_destroy_done:
	pthread_cond_destroy(&s->done);
out_destroy_wake:
	pthread_cond_destroy(&s->wake);
out_destroy_hook_lock:
	pthread_mutex_destroy(&s->hook_lock);
out_destroy_sync_lock:
	pthread_mutex_destroy(&s->sync_lock);
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
	pthread_cond_destroy(&s->ckpt_cond);
	pthread_mutex_destroy(&s->ckpt_lock);
	pthread_cond_destroy(&s->done);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->hook_lock);
	pthread_mutex_destroy(&s->sync_lock);
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

/* Step a statement whose parameters are bound, and reset it (the reset
 * leaves a failure's message in sqlite3_errmsg()). */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* --- names: the writer's cache of names(id, name) ---------------------- *
 * Every event needs the ids of its node and group; they are looked up in
 * an open-addressing table first, and only a miss goes to SQLite (and
 * inserts the name inside the batch's transaction).  A failed batch rolls
 * its new names back, so store_commit() then empties the cache. */

static uint32_t name_hash(const char *v)
{
	uint32_t h = 2166136261u;       /* FNV-1a */

	for (; *v; v++)
		h = (h ^ (unsigned char)*v) * 16777619u;
	return h;
}

static void names_clear(struct store *s)
{
	free(s->names);
	s->names = NULL;
	s->names_cap = 0;
	s->names_used = 0;
	free(s->pairs);
	s->pairs = NULL;
	s->pairs_cap = 0;
	s->pairs_used = 0;
}

static struct pair_slot *pairs_find(struct pair_slot *t, size_t cap, int64_t grp_id,
				    int64_t node_id)
{
	uint64_t h = ((uint64_t)grp_id * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)node_id;
	size_t i;

	h ^= h >> 29;
	for (i = (size_t)h & (cap - 1); t[i].grp_id; i = (i + 1) & (cap - 1))
		if (t[i].grp_id == grp_id && t[i].node_id == node_id)
			break;
	return &t[i];
}

/* node_groups has (grp_id, node_id): cached, or inserted (ignored if there)
 * and then cached.  Writer thread, in a batch. */
static int pair_note(struct store *s, int64_t grp_id, int64_t node_id)
{
	struct pair_slot *t;
	struct pair_slot *slot;
	size_t cap;
	size_t i;
	int rc;

	if (s->pairs_cap && pairs_find(s->pairs, s->pairs_cap, grp_id, node_id)->grp_id)
		return SQLITE_OK;
	rc = sqlite3_bind_int64(s->add_pair, 1, grp_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s->add_pair, 2, node_id);
	if (rc == SQLITE_OK)
		rc = step_done(s->add_pair);
	if (rc != SQLITE_OK)
		return rc;
	if ((s->pairs_used + 1) * 2 > s->pairs_cap) {
		cap = s->pairs_cap ? s->pairs_cap * 2 : 1024;
		t = calloc(cap, sizeof(*t));
		if (!t)
			return SQLITE_OK;       /* only costs a lookup next time */
		for (i = 0; i < s->pairs_cap; i++)
			if (s->pairs[i].grp_id)
				*pairs_find(t, cap, s->pairs[i].grp_id, s->pairs[i].node_id) =
					s->pairs[i];
		free(s->pairs);
		s->pairs = t;
		s->pairs_cap = cap;
	}
	slot = pairs_find(s->pairs, s->pairs_cap, grp_id, node_id);
	slot->grp_id = grp_id;
	slot->node_id = node_id;
	s->pairs_used++;
	return SQLITE_OK;
}

static struct name_slot *names_find(struct name_slot *t, size_t cap, const char *v,
				    uint32_t h)
{
	size_t i;

	for (i = h & (cap - 1); t[i].id; i = (i + 1) & (cap - 1))
		if (t[i].hash == h && !strcmp(t[i].name, v))
			break;
	return &t[i];
}

/* Remember v = id; a failure to grow only costs a lookup next time. */
static void names_put(struct store *s, const char *v, uint32_t h, int64_t id)
{
	struct name_slot *t;
	struct name_slot *slot;
	size_t cap;
	size_t i;

	if ((s->names_used + 1) * 2 > s->names_cap) {
		cap = s->names_cap ? s->names_cap * 2 : 1024;
		t = calloc(cap, sizeof(*t));
		if (!t)
			return;
		for (i = 0; i < s->names_cap; i++)
			if (s->names[i].id)
				*names_find(t, cap, s->names[i].name, s->names[i].hash) =
					s->names[i];
		free(s->names);
		s->names = t;
		s->names_cap = cap;
	}
	slot = names_find(s->names, s->names_cap, v, h);
	if (!slot->id)
		s->names_used++;
	slot->id = id;
	slot->hash = h;
	copy_str(slot->name, sizeof(slot->name), v);
}

/* *id = names.id of v, inserting it if new.  Writer thread, in a batch. */
static int name_id(struct store *s, const char *v, int64_t *id)
{
	uint32_t h = name_hash(v);
	struct name_slot *slot;
	int rc;

	if (s->names_cap) {
		slot = names_find(s->names, s->names_cap, v, h);
		if (slot->id) {
			*id = slot->id;
			return SQLITE_OK;
		}
	}
	rc = sqlite3_bind_text(s->get_name, 1, v, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s->get_name);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s->get_name, 0);
		rc = SQLITE_OK;
	}
	sqlite3_reset(s->get_name);
	if (rc == SQLITE_DONE) {
		rc = sqlite3_bind_text(s->add_name, 1, v, -1, SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = step_done(s->add_name);
		*id = sqlite3_last_insert_rowid(s->wdb);
	}
	if (rc == SQLITE_OK)
		names_put(s, v, h, *id);
	return rc;
}

/* Bind every parameter (SQLITE_STATIC: the row outlives the step). */
static int bind_event(struct store *s, sqlite3_stmt *st, const struct store_event *e)
{
	int64_t node_id = 0;
	int64_t grp_id = 0;
	int rc;

	rc = name_id(s, e->node, &node_id);
	if (rc == SQLITE_OK)
		rc = name_id(s, e->group, &grp_id);
	if (rc == SQLITE_OK)
		rc = pair_note(s, grp_id, node_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, e->ts_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, node_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, grp_id);
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

static int write_event(struct store *s, const struct store_event *e)
{
	int rc = bind_event(s, s->ins_event, e);

	if (rc == SQLITE_OK)
		rc = step_done(s->ins_event);
	return rc;
}

static int write_node(struct store *s, const struct store_node *n)
{
	int rc = bind_node(s->put_node, n);

	if (rc == SQLITE_OK)
		rc = step_done(s->put_node);
	return rc;
}

/* The start of the minute ts_ms falls in (floor, also before 1970). */
static int64_t minute_of(int64_t ts_ms)
{
	int64_t m = ts_ms / STORE_MINUTE_MS;

	if (ts_ms % STORE_MINUTE_MS < 0)
		m--;
	return m * STORE_MINUTE_MS;
}

/* ?1 node, ?2 time, ?3..?9 the metrics: both sample statements. */
static int bind_sample(sqlite3_stmt *st, const struct store_sample *x,
		       int64_t ts_ms)
{
	const double v[] = { x->cpu, x->mem, x->load1, x->disk, x->rtt_ms,
			     x->errors, x->latency_ms };
	size_t i;
	int rc;

	rc = sqlite3_bind_text(st, 1, x->node, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, ts_ms);
	for (i = 0; i < ARRAY_SIZE(v) && rc == SQLITE_OK; i++)
		rc = bind_double_or_null(st, (int)i + 3, v[i]);
	return rc;
}

static int write_sample(struct store *s, const struct store_sample *x)
{
	int rc = bind_sample(s->ins_sample, x, x->ts_ms);

	if (rc == SQLITE_OK)
		rc = step_done(s->ins_sample);
	if (rc == SQLITE_OK)
		rc = bind_sample(s->up_sample_1m, x, minute_of(x->ts_ms));
	if (rc == SQLITE_OK)
		rc = step_done(s->up_sample_1m);
	return rc;
}

static void summary_init(struct store_event *e, int64_t ts_ms, const char *node,
			 const char *group, const char *kind, const char *rule)
{
	store_event_init(e);
	e->ts_ms = ts_ms;
	copy_str(e->node, sizeof(e->node), node);
	copy_str(e->group, sizeof(e->group), group);
	copy_str(e->kind, sizeof(e->kind), kind);
	copy_str(e->rule, sizeof(e->rule), rule);
}

static int write_failover(struct store *s, const struct store_failover *f,
			  struct store_event *sum)
{
	sqlite3_stmt *st = s->ins_failover;
	const int64_t t[] = { f->started_ms, f->detected_ms, f->decided_ms,
			      f->promoted_ms, f->finished_ms };
	int64_t ts = 0;
	size_t i;
	int rc;

	rc = sqlite3_bind_text(st, 1, f->group, -1, SQLITE_STATIC);
	for (i = 0; i < ARRAY_SIZE(t) && rc == SQLITE_OK; i++) {
		rc = bind_int64_or_null(st, (int)i + 2, t[i]);
		if (t[i] > ts)
			ts = t[i];
	}
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 7, f->old_leader);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 8, f->new_leader);
	if (rc == SQLITE_OK)
		rc = bind_int64_or_null(st, 9, f->epoch);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 10, f->outcome, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 11, f->reason);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 12, f->detail);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	if (rc != SQLITE_OK)
		return rc;

	summary_init(sum, ts, f->old_leader, f->group, "failover", f->outcome);
	snprintf(sum->detail, sizeof(sum->detail), "epoch %lld: %s -> %s: %s",
		 (long long)f->epoch, f->old_leader[0] ? f->old_leader : "-",
		 f->new_leader[0] ? f->new_leader : "-", f->reason);
	return write_event(s, sum);
}

static int write_hook_run(struct store *s, const struct store_hook_run *h,
			  struct store_event *sum)
{
	sqlite3_stmt *st = s->ins_hook_run;
	int rc;

	rc = sqlite3_bind_int64(st, 1, h->ts_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, h->node, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, h->group, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, h->hook, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = bind_int64_or_null(st, 5, h->epoch);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 6, h->rc);
	if (rc == SQLITE_OK)
		rc = bind_int64_or_null(st, 7, h->duration_ms);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 8, h->output);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	if (rc != SQLITE_OK)
		return rc;

	summary_init(sum, h->ts_ms, h->node, h->group, "hook", h->hook);
	snprintf(sum->detail, sizeof(sum->detail), "rc=%d duration_ms=%lld",
		 h->rc, (long long)h->duration_ms);
	return write_event(s, sum);
}

static int write_audit(struct store *s, const struct store_audit *a,
		       struct store_event *sum)
{
	sqlite3_stmt *st = s->ins_audit;
	int rc;

	rc = sqlite3_bind_int64(st, 1, a->ts_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, a->operator_name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 3, a->role);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, a->command, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 5, a->target);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 6, a->reason);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 7, a->dry_run);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 8, a->result, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = bind_text_or_null(st, 9, a->detail);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	if (rc != SQLITE_OK)
		return rc;

	summary_init(sum, a->ts_ms, a->node, a->group, "audit", a->command);
	snprintf(sum->detail, sizeof(sum->detail), "%s (%s): %s%s%s: %s%s",
		 a->operator_name, a->role[0] ? a->role : "-", a->command,
		 a->target[0] ? " " : "", a->target, a->result,
		 a->dry_run ? " (dry run)" : "");
	return write_event(s, sum);
}

static int write_member(struct store *s, const struct member_change *m)
{
	sqlite3_stmt *st = m->on ? s->add_member : s->del_member;
	int rc;

	rc = sqlite3_bind_text(st, 1, m->group, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, m->node, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && m->on)
		rc = sqlite3_bind_int64(st, 3, m->ts_ms);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	return rc;
}

static int write_override(struct store *s, const struct override_change *c)
{
	const struct store_override *o = &c->o;
	sqlite3_stmt *st = c->on ? s->put_override : s->del_override;
	int rc;

	rc = sqlite3_bind_text(st, 1, o->group, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, o->node, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, o->kind, -1, SQLITE_STATIC);
	if (c->on) {
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 4, o->until_ms);
		if (rc == SQLITE_OK)
			rc = bind_text_or_null(st, 5, o->who);
		if (rc == SQLITE_OK)
			rc = bind_text_or_null(st, 6, o->reason);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 7, o->set_ms);
	}
	if (rc == SQLITE_OK)
		rc = step_done(st);
	return rc;
}

static int write_node_forget(struct store *s, const char *node)
{
	int rc = sqlite3_bind_text(s->forget_node, 1, node, -1, SQLITE_STATIC);

	if (rc == SQLITE_OK)
		rc = step_done(s->forget_node);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s->forget_node_ovr, 1, node, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = step_done(s->forget_node_ovr);
	return rc;
}

static int write_row(struct store *s, const struct row *r, struct store_event *sum)
{
	switch (r->kind) {
	case ROW_EVENT:
		return write_event(s, (const void *)r->data);
	case ROW_NODE:
		return write_node(s, (const void *)r->data);
	case ROW_SAMPLE:
		return write_sample(s, (const void *)r->data);
	case ROW_FAILOVER:
		return write_failover(s, (const void *)r->data, sum);
	case ROW_HOOK_RUN:
		return write_hook_run(s, (const void *)r->data, sum);
	case ROW_AUDIT:
		return write_audit(s, (const void *)r->data, sum);
	case ROW_GROUP_MEMBER:
		return write_member(s, (const void *)r->data);
	case ROW_OVERRIDE:
		return write_override(s, (const void *)r->data);
	case ROW_NODE_FORGET:
		return write_node_forget(s, (const void *)r->data);
	}
	return SQLITE_MISUSE;
}

/* --- the checkpointer ---------------------------------------------------- *
 * A checkpoint copies the WAL into the database file and syncs both: with
 * 90k-row batches about 85 ms of a commit's 120 ms, mostly waiting on the
 * disk (bench/store.sh).  So the writer's connection does not checkpoint
 * (its WAL hook replaces wal_autocheckpoint): after a commit that leaves
 * STORE_CKPT_FRAMES or more in the WAL, the hook asks the checkpointer
 * thread, which runs a PASSIVE checkpoint on its own connection while the
 * writer goes on with the next batch.  The WAL only starts over when a
 * write begins after a complete checkpoint, which under load it would not:
 * beyond STORE_WAL_MAX_FRAMES (64 MB of 4 KiB pages) the writer waits for
 * the checkpoint in progress before its next batch. */

static void ckpt_ask(struct store *s)
{
	pthread_mutex_lock(&s->ckpt_lock);
	s->ckpt_req++;
	pthread_cond_broadcast(&s->ckpt_cond);
	pthread_mutex_unlock(&s->ckpt_lock);
}

/* Writer thread: wait until a checkpoint asked for after the last commit
 * has run. */
static void ckpt_wait(struct store *s)
{
	uint64_t target;

	pthread_mutex_lock(&s->ckpt_lock);
	target = s->ckpt_req;
	while (s->ckpt_done < target && !s->ckpt_stop)
		pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
	pthread_mutex_unlock(&s->ckpt_lock);
	s->wal_frames = 0;
}

/* sqlite3_wal_hook(): called by the writer's connection after each commit,
 * in the writer thread. */
static int store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;

	(void)db;
	(void)name;
	s->wal_frames = frames;
	if (frames >= STORE_CKPT_FRAMES)
		ckpt_ask(s);
	return SQLITE_OK;
}

/* Writer thread: a committed batch goes to the checkpointer thread to be
 * freed (freeing 90k rows that another thread allocated was 5 % of the
 * writer's time, bench/store.sh); if it has no room, or for ":memory:",
 * here. */
static void batch_release(struct store *s, struct row *batch)
{
	if (s->cdb) {
		pthread_mutex_lock(&s->ckpt_lock);
		if (s->nreap < (int)ARRAY_SIZE(s->reap)) {
			s->reap[s->nreap++] = batch;
			batch = NULL;
			pthread_cond_broadcast(&s->ckpt_cond);
		}
		pthread_mutex_unlock(&s->ckpt_lock);
	}
	rows_free(batch);
}

/* Free the batches handed over.  ckpt_lock held, dropped while freeing. */
static void reap_batches(struct store *s)
{
	struct row *reap[ARRAY_SIZE(s->reap)];
	int n = s->nreap;
	int i;

	memcpy(reap, s->reap, sizeof(reap));
	s->nreap = 0;
	pthread_mutex_unlock(&s->ckpt_lock);
	for (i = 0; i < n; i++)
		rows_free(reap[i]);
	pthread_mutex_lock(&s->ckpt_lock);
}

static void *store_checkpointer_main(void *arg)
{
	struct store *s = arg;
	uint64_t req;

	pthread_mutex_lock(&s->ckpt_lock);
	for (;;) {
		while (s->ckpt_done == s->ckpt_req && !s->nreap && !s->ckpt_stop)
			pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
		if (s->ckpt_stop)
			break;
		if (s->ckpt_done != s->ckpt_req) {
			req = s->ckpt_req;
			pthread_mutex_unlock(&s->ckpt_lock);
			/* Busy (another checkpoint running) is fine: one is enough. */
			sqlite3_wal_checkpoint_v2(s->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE,
						  NULL, NULL);
			pthread_mutex_lock(&s->ckpt_lock);
			s->ckpt_done = req;
			pthread_cond_broadcast(&s->ckpt_cond);
		}
		if (s->nreap)
			reap_batches(s);
	}
	reap_batches(s);
	pthread_mutex_unlock(&s->ckpt_lock);
	return NULL;
}

/* Stop the checkpointer thread (started or not: cdb says) and close its
 * connection. */
static void ckpt_stop(struct store *s)
{
	if (!s->cdb)
		return;
	pthread_mutex_lock(&s->ckpt_lock);
	s->ckpt_stop = true;
	pthread_cond_broadcast(&s->ckpt_cond);
	pthread_mutex_unlock(&s->ckpt_lock);
	pthread_join(s->checkpointer, NULL);
	sqlite3_close(s->cdb);
	s->cdb = NULL;
}

/* Commit batch in one transaction (writer thread, s->lock not held).  On
 * failure everything is rolled back and err says why. */
static int store_commit(struct store *s, const struct row *batch, bool fail,
			char *err, size_t errlen)
{
	sqlite3 *db = s->wdb;
	struct store_event sum;         /* a summary row, bound while stepped */
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
	if (s->wal_frames >= STORE_WAL_MAX_FRAMES)
		ckpt_wait(s);
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out_rollback;
	for (r = batch; r; r = r->next)
		if (write_row(s, r, &sum) != SQLITE_OK)
			goto out_rollback;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out_rollback;
	rc = 0;

out_rollback:
	if (rc) {
		set_err(err, errlen, "%s: %s", s->path, sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		names_clear(s);         /* it may hold names and pairs rolled back */
	}
	store_clear_bindings(s);
	if (s->shared_conn)
		pthread_mutex_unlock(&s->db_lock);
	return rc;
}

/* Delete at most STORE_PRUNE_STEP_ROWS expired samples: raw rows first, then
 * aggregates with what is left of the step.  A cut of INT64_MIN prunes
 * nothing.  Writer thread, s->lock not held.  Rows deleted, or -EIO. */
static int prune_delete(struct store *s, int64_t raw_cut, int64_t agg_cut)
{
	int n = 0;
	int rc = SQLITE_OK;

	if (s->shared_conn)
		pthread_mutex_lock(&s->db_lock);
	if (raw_cut != INT64_MIN) {
		rc = sqlite3_bind_int64(s->prune_raw, 1, raw_cut);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(s->prune_raw, 2, STORE_PRUNE_STEP_ROWS);
		if (rc == SQLITE_OK)
			rc = step_done(s->prune_raw);
		if (rc == SQLITE_OK)
			n = sqlite3_changes(s->wdb);
	}
	if (rc == SQLITE_OK && agg_cut != INT64_MIN && n < STORE_PRUNE_STEP_ROWS) {
		rc = sqlite3_bind_int64(s->prune_agg, 1, agg_cut);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(s->prune_agg, 2, STORE_PRUNE_STEP_ROWS - n);
		if (rc == SQLITE_OK)
			rc = step_done(s->prune_agg);
		if (rc == SQLITE_OK)
			n += sqlite3_changes(s->wdb);
	}
	if (s->shared_conn)
		pthread_mutex_unlock(&s->db_lock);
	return rc == SQLITE_OK ? n : -EIO;
}

/* Whether the writer prunes on its own. */
static bool retention_is_on(const struct store *s)
{
	return (s->raw_keep_ms > 0 || s->agg_keep_ms > 0) && !s->prune_paused;
}

/* One prune step.  s->lock held, dropped while deleting. */
static int writer_prune_step(struct store *s)
{
	int64_t now = clock_ms(CLOCK_REALTIME);
	int64_t raw_cut = s->raw_keep_ms > 0 ? now - s->raw_keep_ms : INT64_MIN;
	int64_t agg_cut = s->agg_keep_ms > 0 ? now - s->agg_keep_ms : INT64_MIN;
	int n;

	pthread_mutex_unlock(&s->lock);
	n = prune_delete(s, raw_cut, agg_cut);
	pthread_mutex_lock(&s->lock);
	if (n >= 0) {
		s->stats.rows_pruned += (uint64_t)n;
		s->stats.prune_steps++;
	}
	return n;
}

static bool prune_is_due(const struct store *s)
{
	return retention_is_on(s) &&
	       clock_ms(CLOCK_MONOTONIC) - s->last_prune_ms >= STORE_PRUNE_EVERY_MS;
}

/* Steps until nothing is left, or rows wait and the budget is used, or the
 * store closes.  s->lock held, dropped around each step. */
static void writer_prune_pass(struct store *s)
{
	int64_t start = clock_ms(CLOCK_MONOTONIC);
	int steps = 0;
	int n;

	s->last_prune_ms = start;
	do {
		n = writer_prune_step(s);
		steps++;
	} while (n == STORE_PRUNE_STEP_ROWS && steps < STORE_PRUNE_STEPS_MAX &&
		 !s->stop && (!s->head ||
			      clock_ms(CLOCK_MONOTONIC) - start < STORE_PRUNE_BUDGET_MS));
}

/* Wait for rows, a request, close or the next prune pass.  s->lock held. */
static void writer_idle_wait(struct store *s)
{
	struct timespec deadline;
	int64_t wait_ms;

	while (!s->stop && !s->head && s->prune_req == s->prune_done) {
		if (!retention_is_on(s)) {
			pthread_cond_wait(&s->wake, &s->lock);
			continue;
		}
		wait_ms = s->last_prune_ms + STORE_PRUNE_EVERY_MS - clock_ms(CLOCK_MONOTONIC);
		if (wait_ms <= 0)
			break;
		deadline_after(&deadline, (int)wait_ms);
		pthread_cond_timedwait(&s->wake, &s->lock, &deadline);
	}
}

/* After a commit: publish it, then tell the hook.  s->lock held on entry,
 * not on return. */
static void writer_committed(struct store *s, uint64_t last_seq, size_t n)
{
	struct timespec cpu;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
		s->stats.writer_cpu_us = (uint64_t)cpu.tv_sec * 1000000 +
					 (uint64_t)cpu.tv_nsec / 1000;
	s->committed_seq = last_seq;
	atomic_store_explicit(&s->committed_ticket, last_seq, memory_order_release);
	s->depth -= n;
	s->stats.rows_written += n;
	s->stats.batches++;
	s->stats.recording = true;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->lock);

	pthread_mutex_lock(&s->hook_lock);
	if (s->hook_fn)
		s->hook_fn(s->hook_arg);
	pthread_mutex_unlock(&s->hook_lock);
}

/* Detach up to STORE_BATCH_ROWS rows from the head (there is at least one);
 * *n rows, the last one with seq *last_seq.  s->lock held, but dropped
 * while walking a long queue, so producers never wait on the walk: only the
 * writer takes rows off the head, and producers only write the tail's next,
 * which the walk, stopping before the tail, never reads. */
static struct row *queue_take(struct store *s, size_t *n, uint64_t *last_seq)
{
	struct row *first = s->head;
	struct row *last;
	size_t k;

	if (s->pending <= STORE_BATCH_ROWS) {
		last = s->tail;
		k = s->pending;
		s->head = NULL;
		s->tail = NULL;
	} else {
		pthread_mutex_unlock(&s->lock);
		last = first;
		for (k = 1; k < STORE_BATCH_ROWS; k++)
			last = last->next;
		pthread_mutex_lock(&s->lock);
		s->head = last->next;
		s->head_ms = clock_ms(CLOCK_MONOTONIC);  /* a full batch waits anyway */
	}
	last->next = NULL;
	*last_seq = last->seq;
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
	uint64_t last_seq = 0;
	uint64_t req;
	size_t n;
	bool fail;
	int rc;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		writer_idle_wait(s);
		if (s->prune_req != s->prune_done) {
			req = s->prune_req;
			s->prune_result = writer_prune_step(s);
			s->prune_done = req;
			pthread_cond_broadcast(&s->done);
			continue;
		}
		if (!s->head) {
			if (s->stop)
				break;  /* stopping and nothing left */
			if (prune_is_due(s))
				writer_prune_pass(s);
			continue;
		}

		/* Let a batch build up until the oldest row has waited
		 * flush_ms (under load it already has: it came in during the
		 * last commit, so batches grow with the load), unless asked to
		 * hurry: until every row a flusher waits for is committed,
		 * which may take more than one batch. */
		deadline_at(&deadline, s->head_ms + s->flush_ms);
		while (!s->stop && s->pending < STORE_BATCH_ROWS &&
		       s->flush_target <= s->committed_seq &&
		       s->prune_req == s->prune_done &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &deadline) != ETIMEDOUT)
			;
		s->flush_seen = s->flush_req;
		batch = queue_take(s, &n, &last_seq);
		fail = s->fail_writes;
		pthread_mutex_unlock(&s->lock);

		rc = store_commit(s, batch, fail, errbuf, sizeof(errbuf));

		pthread_mutex_lock(&s->lock);
		if (rc == 0) {
			writer_committed(s, last_seq, n);
			batch_release(s, batch);
			pthread_mutex_lock(&s->lock);
			if (prune_is_due(s))
				writer_prune_pass(s);
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
		/* Back off; a flush, a prune request, the hook or close cuts it
		 * short. */
		deadline_after(&deadline, STORE_RETRY_MS);
		while (!s->stop && s->flush_req == s->flush_seen &&
		       s->fail_writes == fail && s->prune_req == s->prune_done &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &deadline) != ETIMEDOUT)
			;
	}
	/* Requests that came too late get an error rather than a hang. */
	s->prune_result = -EIO;
	s->prune_done = s->prune_req;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* --- public API ------------------------------------------------------- */

/* SQLite's memory statistics take a global mutex on every allocation
 * (about 8 % of the writer's instructions, bench/store.sh); vigil never
 * reads them.  A process-wide setting, which SQLite only accepts before its
 * first use: if something used SQLite earlier, this quietly does nothing. */
static void store_sqlite_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static pthread_once_t store_sqlite_once = PTHREAD_ONCE_INIT;

struct store *store_open(const char *path, int flush_ms, char *err, size_t errlen)
{
	struct store *s = NULL;
	int rc;

	if (!path || !path[0]) {
		set_err(err, errlen, "store: no database path");
		goto out;
	}
	pthread_once(&store_sqlite_once, store_sqlite_config);
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
	s->raw_keep_ms = STORE_RAW_KEEP_MS;
	s->agg_keep_ms = STORE_AGG_KEEP_MS;
	s->stats.recording = true;
	rc = sync_init(s);
	if (rc) {
		set_err(err, errlen, "%s: cannot create locks: %s", path, strerror(-rc));
		goto out_free_path;
	}

	if (conn_open(path, false, &s->wdb, err, errlen))
		goto out_sync_done;
	if (exec_sql(s->wdb, path, STORE_WRITER_CACHE, "cannot set PRAGMAs", err, errlen))
		goto out_close_wdb;
	if (store_migrate(s, err, errlen))
		goto out_close_wdb;
	if (store_prepare(s, err, errlen))
		goto out_finalize;
	if (s->shared_conn)
		s->rdb = s->wdb;
	else if (conn_open(path, true, &s->rdb, err, errlen))
		goto out_finalize;
	/* The epochs' connection leaves checkpoints to the checkpointer too:
	 * they would stall the caller's thread. */
	if (!s->shared_conn &&
	    (conn_open(path, false, &s->sdb, err, errlen) ||
	     exec_sql(s->sdb, path, "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0",
		      "cannot set PRAGMAs", err, errlen)))
		goto out_close_sdb;
	if (!s->shared_conn) {
		if (conn_open(path, false, &s->cdb, err, errlen))
			goto out_close_sdb;
		rc = pthread_create(&s->checkpointer, NULL, store_checkpointer_main, s);
		if (rc) {
			set_err(err, errlen, "%s: cannot start checkpointer thread: %s",
				path, strerror(rc));
			sqlite3_close(s->cdb);
			s->cdb = NULL;
			goto out_close_sdb;
		}
		sqlite3_wal_hook(s->wdb, store_wal_hook, s);
	}

	/* The first prune pass comes a pass interval after opening: the caller
	 * sets the retention just after store_open(), and old rows must not be
	 * pruned under the defaults in between. */
	s->last_prune_ms = clock_ms(CLOCK_MONOTONIC);
	rc = pthread_create(&s->writer, NULL, store_writer_main, s);
	if (rc) {
		set_err(err, errlen, "%s: cannot start writer thread: %s",
			path, strerror(rc));
		goto out_stop_ckpt;
	}
	goto out;

out_stop_ckpt:
	ckpt_stop(s);
out_close_sdb:
	sqlite3_close(s->sdb);
	if (!s->shared_conn)
		sqlite3_close(s->rdb);
out_finalize:
	store_finalize(s);
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

	ckpt_stop(s);
	store_finalize(s);
	if (!s->shared_conn) {
		sqlite3_close(s->sdb);
		sqlite3_close(s->rdb);
		sqlite3_exec(s->wdb, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	}
	sqlite3_close(s->wdb);
	rows_free(s->head);
	names_clear(s);
	sync_done(s);
	free(s->path);
	free(s);
}

/* A row holding a copy of the caller's struct src (size bytes).  If tail is
 * not 0, the struct's last field is a string of tail_size bytes at offset
 * tail: it is copied up to its end only and terminated. */
static struct row *row_new(enum row_kind kind, const void *src, size_t size,
			   size_t tail, size_t tail_size)
{
	struct row *r;
	size_t len = size;

	if (tail)
		len = tail + strnlen((const char *)src + tail, tail_size - 1) + 1;
	r = malloc(sizeof(*r) + len);
	if (r) {
		r->kind = kind;
		memcpy(r->data, src, len);
		if (tail)
			((char *)r->data)[len - 1] = '\0';
	}
	return r;
}

/* Append r to the queue, or refuse it.  Takes ownership of r.  On success
 * *ticket (if not NULL) = its seq. */
static int store_enqueue(struct store *s, struct row *r, uint64_t *ticket)
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
	if (ticket)
		*ticket = r->seq;
	if (!s->pending)
		s->head_ms = clock_ms(CLOCK_MONOTONIC);
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

#define TERMINATE(field) ((field)[sizeof(field) - 1] = '\0')

int store_add_event_ticket(struct store *s, const struct store_event *e,
			   uint64_t *ticket)
{
	struct row *r;
	struct store_event *c;

	if (!s || !e)
		return -EINVAL;
	r = row_new(ROW_EVENT, e, sizeof(*e), offsetof(struct store_event, detail),
		    sizeof(e->detail));
	if (!r)
		return -ENOMEM;
	c = (void *)r->data;
	c->id = 0;
	c->node[sizeof(c->node) - 1] = '\0';
	c->group[sizeof(c->group) - 1] = '\0';
	c->kind[sizeof(c->kind) - 1] = '\0';
	c->from_state[sizeof(c->from_state) - 1] = '\0';
	c->to_state[sizeof(c->to_state) - 1] = '\0';
	c->rule[sizeof(c->rule) - 1] = '\0';
	return store_enqueue(s, r, ticket);
}

int store_add_event(struct store *s, const struct store_event *e)
{
	return store_add_event_ticket(s, e, NULL);
}

int store_put_node_ticket(struct store *s, const struct store_node *n,
			  uint64_t *ticket)
{
	struct row *r;
	struct store_node *c;

	if (!s || !n || !n->name[0])
		return -EINVAL;
	r = row_new(ROW_NODE, n, sizeof(*n), 0, 0);
	if (!r)
		return -ENOMEM;
	c = (void *)r->data;
	c->name[sizeof(c->name) - 1] = '\0';
	c->group[sizeof(c->group) - 1] = '\0';
	c->version[sizeof(c->version) - 1] = '\0';
	c->boot_id[sizeof(c->boot_id) - 1] = '\0';
	c->state[sizeof(c->state) - 1] = '\0';
	return store_enqueue(s, r, ticket);
}

int store_put_node(struct store *s, const struct store_node *n)
{
	return store_put_node_ticket(s, n, NULL);
}

int store_add_sample_ticket(struct store *s, const struct store_sample *x,
			    uint64_t *ticket)
{
	struct row *r;
	struct store_sample *c;

	if (!s || !x || !x->node[0])
		return -EINVAL;
	r = row_new(ROW_SAMPLE, x, sizeof(*x), 0, 0);
	if (!r)
		return -ENOMEM;
	c = (void *)r->data;
	TERMINATE(c->node);
	return store_enqueue(s, r, ticket);
}

int store_add_sample(struct store *s, const struct store_sample *x)
{
	return store_add_sample_ticket(s, x, NULL);
}

int store_add_failover(struct store *s, const struct store_failover *f,
		       uint64_t *ticket)
{
	struct row *r;
	struct store_failover *c;

	if (!s || !f || !f->group[0])
		return -EINVAL;
	r = row_new(ROW_FAILOVER, f, sizeof(*f), offsetof(struct store_failover, detail),
		    sizeof(f->detail));
	if (!r)
		return -ENOMEM;
	c = (void *)r->data;
	c->id = 0;
	TERMINATE(c->group);
	TERMINATE(c->old_leader);
	TERMINATE(c->new_leader);
	TERMINATE(c->outcome);
	TERMINATE(c->reason);
	return store_enqueue(s, r, ticket);
}

int store_add_hook_run(struct store *s, const struct store_hook_run *h,
		       uint64_t *ticket)
{
	struct row *r;
	struct store_hook_run *c;

	if (!s || !h || !h->node[0] || !h->hook[0])
		return -EINVAL;
	r = row_new(ROW_HOOK_RUN, h, sizeof(*h), offsetof(struct store_hook_run, output),
		    sizeof(h->output));
	if (!r)
		return -ENOMEM;
	c = (void *)r->data;
	TERMINATE(c->node);
	TERMINATE(c->group);
	TERMINATE(c->hook);
	return store_enqueue(s, r, ticket);
}

int store_add_audit(struct store *s, const struct store_audit *a,
		    uint64_t *ticket)
{
	struct row *r;
	struct store_audit *c;

	if (!s || !a || !a->operator_name[0] || !a->command[0])
		return -EINVAL;
	r = row_new(ROW_AUDIT, a, sizeof(*a), offsetof(struct store_audit, detail),
		    sizeof(a->detail));
	if (!r)
		return -ENOMEM;
	c = (void *)r->data;
	TERMINATE(c->operator_name);
	TERMINATE(c->role);
	TERMINATE(c->command);
	TERMINATE(c->target);
	TERMINATE(c->reason);
	TERMINATE(c->result);
	TERMINATE(c->node);
	TERMINATE(c->group);
	return store_enqueue(s, r, ticket);
}

/* [A-Za-z0-9._-]{1,STORE_NAME_MAX}, like the protocol's names. */
static bool store_name_is_valid(const char *v)
{
	size_t n;

	if (!v || !v[0])
		return false;
	for (n = 0; v[n]; n++) {
		if (n == STORE_NAME_MAX)
			return false;
		if (!((v[n] >= 'a' && v[n] <= 'z') || (v[n] >= 'A' && v[n] <= 'Z') ||
		      (v[n] >= '0' && v[n] <= '9') || v[n] == '.' || v[n] == '_' ||
		      v[n] == '-'))
			return false;
	}
	return true;
}

int store_group_member(struct store *s, const char *group, const char *node, bool on,
		       int64_t ts_ms)
{
	struct member_change m;
	struct row *r;

	if (!s || !store_name_is_valid(group) || !store_name_is_valid(node))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	strcpy(m.group, group);
	strcpy(m.node, node);
	m.ts_ms = ts_ms;
	m.on = on;
	r = row_new(ROW_GROUP_MEMBER, &m, sizeof(m), 0, 0);
	if (!r)
		return -ENOMEM;
	return store_enqueue(s, r, NULL);
}

int store_override_set(struct store *s, const struct store_override *o, bool on)
{
	struct override_change c;
	struct row *r;

	if (!s || !o)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.o = *o;
	TERMINATE(c.o.group);
	TERMINATE(c.o.node);
	TERMINATE(c.o.kind);
	TERMINATE(c.o.who);
	TERMINATE(c.o.reason);
	if (!store_name_is_valid(c.o.group) ||
	    (c.o.node[0] && !store_name_is_valid(c.o.node)) ||
	    (strcmp(c.o.kind, "pause") && strcmp(c.o.kind, "maintenance")) ||
	    c.o.until_ms < 0)
		return -EINVAL;
	c.on = on;
	r = row_new(ROW_OVERRIDE, &c, sizeof(c), 0, 0);
	if (!r)
		return -ENOMEM;
	return store_enqueue(s, r, NULL);
}

int store_forget_node(struct store *s, const char *node)
{
	char name[STORE_NAME_MAX + 1];
	struct row *r;

	if (!s || !store_name_is_valid(node))
		return -EINVAL;
	memset(name, 0, sizeof(name));
	strcpy(name, node);
	r = row_new(ROW_NODE_FORGET, name, sizeof(name), 0, 0);
	if (!r)
		return -ENOMEM;
	return store_enqueue(s, r, NULL);
}

uint64_t store_committed_ticket(struct store *s)
{
	if (!s)
		return 0;
	return atomic_load_explicit(&s->committed_ticket, memory_order_acquire);
}

void store_set_commit_hook(struct store *s, void (*fn)(void *arg), void *arg)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->hook_lock);
	s->hook_fn = fn;
	s->hook_arg = arg;
	pthread_mutex_unlock(&s->hook_lock);
}

void store_set_retention(struct store *s, int64_t raw_keep_ms, int64_t agg_keep_ms)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->raw_keep_ms = raw_keep_ms > 0 ? raw_keep_ms : 0;
	s->agg_keep_ms = agg_keep_ms > 0 ? agg_keep_ms : 0;
	pthread_cond_signal(&s->wake);  /* an idle writer re-plans its wait */
	pthread_mutex_unlock(&s->lock);
}

int store_prune_step(struct store *s)
{
	uint64_t req;
	int rc;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	req = ++s->prune_req;
	pthread_cond_signal(&s->wake);
	while (s->prune_done < req)
		pthread_cond_wait(&s->done, &s->lock);
	rc = s->prune_result;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_group_set_epoch_sync(struct store *s, const char *group, int64_t epoch,
			       const char *leader)
{
	pthread_mutex_t *lock;
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int rc = -EINVAL;

	if (!s || !group || !group[0] || strlen(group) > STORE_NAME_MAX || epoch < 0)
		goto out;
	lock = s->shared_conn ? &s->db_lock : &s->sync_lock;
	db = s->shared_conn ? s->wdb : s->sdb;
	rc = -EIO;
	pthread_mutex_lock(lock);
	if (sqlite3_prepare_v2(db, store_sql_group_set_epoch, -1, &st, NULL) != SQLITE_OK)
		goto out_unlock;
	if (sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, epoch) != SQLITE_OK ||
	    (leader && leader[0] ?
	     sqlite3_bind_text(st, 3, leader, -1, SQLITE_STATIC) :
	     sqlite3_bind_null(st, 3)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, clock_ms(CLOCK_REALTIME)) != SQLITE_OK)
		goto out_finalize;
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out_finalize;
	rc = sqlite3_changes(db) > 0 ? 0 : -ESTALE;
out_finalize:
	sqlite3_finalize(st);
out_unlock:
	pthread_mutex_unlock(lock);
out:
	return rc;
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
		if (s->flush_target < target)
			s->flush_target = target;
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

uint64_t store_debug_checkpoint_wait(struct store *s)
{
	uint64_t n;

	if (!s || !s->cdb)
		return 0;
	pthread_mutex_lock(&s->ckpt_lock);
	while (s->ckpt_done < s->ckpt_req && !s->ckpt_stop)
		pthread_cond_wait(&s->ckpt_cond, &s->ckpt_lock);
	n = s->ckpt_done;
	pthread_mutex_unlock(&s->ckpt_lock);
	return n;
}

void store_debug_pause_pruning(struct store *s, bool pause)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->prune_paused = pause;
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

void store_sample_init(struct store_sample *x)
{
	if (!x)
		return;
	memset(x, 0, sizeof(*x));
	x->cpu = NAN;
	x->mem = NAN;
	x->load1 = NAN;
	x->disk = NAN;
	x->rtt_ms = NAN;
	x->errors = NAN;
	x->latency_ms = NAN;
}

void store_failover_init(struct store_failover *f)
{
	if (!f)
		return;
	memset(f, 0, sizeof(*f));
	f->started_ms = -1;
	f->detected_ms = -1;
	f->decided_ms = -1;
	f->promoted_ms = -1;
	f->finished_ms = -1;
	f->epoch = -1;
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

sqlite3 *store_reader_begin(struct store *s)
{
	reader_lock(s);
	return s->rdb;
}

void store_reader_end(struct store *s)
{
	reader_unlock(s);
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

void store_event_from_row(sqlite3_stmt *st, struct store_event *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, 0);
	e->ts_ms = sqlite3_column_int64(st, 1);
	column_str(st, 2, e->node, sizeof(e->node));
	column_str(st, 3, e->group, sizeof(e->group));
	column_str(st, 4, e->kind, sizeof(e->kind));
	column_str(st, 5, e->from_state, sizeof(e->from_state));
	column_str(st, 6, e->to_state, sizeof(e->to_state));
	column_str(st, 7, e->rule, sizeof(e->rule));
	e->phi = column_double(st, 8);
	e->mean_ms = column_double(st, 9);
	e->sd_ms = column_double(st, 10);
	e->samples = (int)column_int64(st, 11);
	e->hb_age_ms = column_int64(st, 12);
	column_str(st, 13, e->detail, sizeof(e->detail));
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
	char sql[sizeof(store_sql_events_head) + 200];
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
		strcat(sql, " AND node_id = (SELECT id FROM names WHERE name = :node)");
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
		store_event_from_row(st, &e);
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
			       "SELECT count(*) FROM event_log WHERE kind = ?1" :
			       "SELECT count(*) FROM event_log", -1, &st, NULL) != SQLITE_OK)
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

/* Rows come ordered by group then member; a group is handed over when the
 * next one starts (or at the end). */
int store_load_groups(struct store *s, store_group_cb cb, void *arg)
{
	struct store_group_row *g = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *name;
	bool have = false;
	int step;
	int rc = -EINVAL;

	if (!s || !cb)
		goto out;
	rc = -ENOMEM;
	g = malloc(sizeof(*g));
	if (!g)
		goto out;
	rc = -EIO;
	reader_lock(s);
	if (sqlite3_prepare_v2(s->rdb, store_sql_load_groups, -1, &st, NULL) != SQLITE_OK)
		goto out_unlock;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		name = sqlite3_column_text(st, 0);
		if (!name)
			continue;
		if (!have || strcmp(g->name, (const char *)name)) {
			if (have && (rc = cb(g, arg)))
				goto out_finalize;
			memset(g, 0, sizeof(*g));
			copy_str(g->name, sizeof(g->name), (const char *)name);
			g->epoch = sqlite3_column_int64(st, 1);
			column_str(st, 2, g->leader, sizeof(g->leader));
			have = true;
		}
		if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
		    g->nmembers < STORE_GROUP_MEMBERS_MAX)
			column_str(st, 3, g->members[g->nmembers++], sizeof(g->members[0]));
	}
	rc = -EIO;
	if (step != SQLITE_DONE)
		goto out_finalize;
	rc = have ? cb(g, arg) : 0;
out_finalize:
	sqlite3_finalize(st);
out_unlock:
	reader_unlock(s);
out:
	free(g);
	return rc;
}

int store_load_overrides(struct store *s, store_override_cb cb, void *arg)
{
	struct store_override o;
	sqlite3_stmt *st = NULL;
	int step;
	int rc = -EINVAL;

	if (!s || !cb)
		goto out;
	rc = -EIO;
	reader_lock(s);
	if (sqlite3_prepare_v2(s->rdb, store_sql_load_overrides, -1, &st, NULL) != SQLITE_OK)
		goto out_unlock;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&o, 0, sizeof(o));
		column_str(st, 0, o.group, sizeof(o.group));
		column_str(st, 1, o.node, sizeof(o.node));
		column_str(st, 2, o.kind, sizeof(o.kind));
		o.until_ms = sqlite3_column_int64(st, 3);
		column_str(st, 4, o.who, sizeof(o.who));
		column_str(st, 5, o.reason, sizeof(o.reason));
		o.set_ms = sqlite3_column_int64(st, 6);
		if ((rc = cb(&o, arg)))
			goto out_finalize;
	}
	rc = step == SQLITE_DONE ? 0 : -EIO;
out_finalize:
	sqlite3_finalize(st);
out_unlock:
	reader_unlock(s);
out:
	return rc;
}
