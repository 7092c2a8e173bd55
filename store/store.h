/* store — vigil's history in SQLite.
 *
 * One SQLite file in WAL mode (synchronous=NORMAL).  Writes are queued by the
 * caller (the collector's event-loop thread) and committed by one writer
 * thread with its own connection, in batches, so the event loop never waits
 * on a commit: a transaction starts once its oldest row has waited flush_ms
 * (or at once if the previous commit took longer) and holds at most
 * STORE_BATCH_ROWS rows.  Under load, batches grow to what arrived during
 * the last commit: the per-node index costs a page write per node per
 * commit, not per row.  For a file, a checkpointer thread with its own
 * connection copies the WAL into the database after commits, so the writer
 * does not wait on the disk.  Reads use a second connection and are meant
 * for the event-loop thread (WAL readers do not block the writer).
 *
 * Schema versions are applied with PRAGMA user_version migrations.
 * Timestamps are wall-clock milliseconds since 1970 (UTC).
 *
 * History is one table (event_log since schema v4, with a view "events"
 * for the sqlite3 shell): failovers, hook runs and operator audit rows are
 * kept in their own tables (the structure) AND as a summary row in events
 * (kind "failover", "hook", "audit"), written in the same transaction.
 * Metric samples are kept raw and as per-minute aggregates; only those two
 * tables are ever pruned (store_set_retention()).
 *
 * Tickets.  Every queued row gets a ticket, its position in the queue
 * (1, 2, ...).  Rows commit in queue order, so store_committed_ticket() is the
 * highest ticket such that every row up to it is committed: the collector
 * acknowledges an agent's event once its ticket is at or below it.
 *
 * Reads (store_load_nodes(), store_query_events() and store/history.h) run
 * on a second connection, from the caller's thread.
 *
 * Ownership: every function that takes a struct copies what it needs; the
 * caller keeps ownership of its arguments.
 */
#ifndef VIGIL_STORE_STORE_H
#define VIGIL_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 5
#define STORE_BATCH_ROWS     100000 /* rows per transaction, at most */
#define STORE_QUEUE_MAX      200000 /* rows queued before store_add_* refuses */

#define STORE_NAME_MAX   64         /* names: [A-Za-z0-9._-]{1,64} */
#define STORE_STATE_MAX  15
#define STORE_RULE_MAX   63
#define STORE_DETAIL_MAX 1023
#define STORE_TEXT_MAX   255
#define STORE_HOOK_OUTPUT_MAX 4096  /* bytes of a hook run's output kept */
#define STORE_GROUP_MEMBERS_MAX 64

#define STORE_PRUNE_STEP_ROWS 1000  /* rows one prune step deletes at most */
#define STORE_RAW_KEEP_MS     (7LL * 24 * 3600 * 1000)   /* default retention */
#define STORE_AGG_KEEP_MS     (90LL * 24 * 3600 * 1000)

/* One row of the events table: a state transition with its evidence, a
 * connection event, an agent-reported event or a collector event. */
struct store_event {
	int64_t id;                       /* set by the store on read; ignored on add */
	int64_t ts_ms;                    /* wall clock */
	char node[STORE_NAME_MAX + 1];    /* "" for collector-wide events */
	char group[STORE_NAME_MAX + 1];
	char kind[16];                    /* "state", "conn", "agent", "collector" */
	char from_state[STORE_STATE_MAX + 1]; /* "" when not a state change */
	char to_state[STORE_STATE_MAX + 1];
	char rule[STORE_RULE_MAX + 1];    /* what decided: "hello", "bye", "conn_lost", "phi_suspect", ... */
	double phi;                       /* NAN = not applicable (stored as NULL) */
	double mean_ms;                   /* NAN = not applicable */
	double sd_ms;                     /* NAN = not applicable */
	int samples;                      /* -1 = not applicable */
	int64_t hb_age_ms;                /* -1 = not applicable */
	char detail[STORE_DETAIL_MAX + 1];/* free text or JSON */
};

/* A node the collector has seen: its last known identity and state. */
struct store_node {
	char name[STORE_NAME_MAX + 1];
	char group[STORE_NAME_MAX + 1];
	int priority;
	char version[33];
	char boot_id[65];
	char state[STORE_STATE_MAX + 1];
	int64_t first_seen_ms;
	int64_t last_seen_ms;
};

/* One metric sample of a node.  NAN = unknown (stored as NULL, ignored by
 * the per-minute aggregates). */
struct store_sample {
	char node[STORE_NAME_MAX + 1];
	int64_t ts_ms;
	double cpu, mem, load1, disk, rtt_ms, errors, latency_ms;
};

/* One failover of a group, written once, when it has ended (completed or
 * aborted).  Timestamps -1 = that step did not happen (NULL).  Its events
 * summary row: ts_ms = the latest known timestamp, node = old_leader,
 * rule = outcome, detail = "epoch E: OLD -> NEW: reason". */
struct store_failover {
	int64_t id;                       /* set by the store on read; ignored on add */
	char group[STORE_NAME_MAX + 1];
	int64_t started_ms;               /* the failover began */
	int64_t detected_ms;              /* the leader was found failed */
	int64_t decided_ms;               /* a new leader was chosen */
	int64_t promoted_ms;              /* the new leader confirmed its promotion */
	int64_t finished_ms;              /* hooks done, failover over */
	char old_leader[STORE_NAME_MAX + 1];
	char new_leader[STORE_NAME_MAX + 1];
	int64_t epoch;                    /* the epoch it established; -1 = none */
	char outcome[16];                 /* "promoted", "aborted", "failed", ... */
	char reason[STORE_TEXT_MAX + 1];
	char detail[STORE_DETAIL_MAX + 1];
};

/* One run of an operator hook script.  Its output goes to hook_runs only;
 * the events summary row stays short: node, group, rule = hook,
 * detail = "rc=RC duration_ms=D". */
struct store_hook_run {
	int64_t ts_ms;                    /* when it ended */
	char node[STORE_NAME_MAX + 1];    /* where it ran */
	char group[STORE_NAME_MAX + 1];
	char hook[STORE_RULE_MAX + 1];    /* "promote", "demote", ... */
	int64_t epoch;                    /* -1 = none */
	int rc;                           /* exit status; negative = killed / not run */
	int64_t duration_ms;
	char output[STORE_HOOK_OUTPUT_MAX + 1]; /* the head of its output */
};

/* One operator command, allowed or not.  node and group say what it was
 * about ("" if nothing in particular) and only index the events summary row
 * (rule = command, detail = "OPERATOR (ROLE): COMMAND TARGET: RESULT"). */
struct store_audit {
	int64_t ts_ms;
	char operator_name[STORE_NAME_MAX + 1];
	char role[16];
	char command[STORE_RULE_MAX + 1];
	char target[STORE_TEXT_MAX + 1];
	char reason[STORE_TEXT_MAX + 1];
	bool dry_run;
	char result[16];                  /* "ok", "refused", "failed", ... */
	char node[STORE_NAME_MAX + 1];
	char group[STORE_NAME_MAX + 1];
	char detail[STORE_DETAIL_MAX + 1];
};

struct store_stats {
	uint64_t rows_queued;     /* accepted by store_add_* / store_put_* */
	uint64_t rows_written;    /* committed */
	uint64_t batches;         /* committed transactions */
	uint64_t write_errors;    /* failed transactions (rows are kept and retried) */
	uint64_t rows_refused;    /* refused because the queue was full */
	size_t queue_depth;       /* rows waiting now */
	bool recording;           /* false while the last commit failed */
	char last_error[256];     /* "" or the last SQLite error, with the file name */
	uint64_t rows_pruned;     /* samples and samples_1m rows deleted by retention */
	uint64_t prune_steps;     /* prune steps run (each deletes <= STORE_PRUNE_STEP_ROWS) */
	uint64_t writer_cpu_us;   /* CPU time of the writer thread, at its last commit */
};

struct store;

/* Open (creating if needed) the database at path (":memory:" works, then the
 * writer and the reader share one in-memory database), apply migrations,
 * start the writer thread.  flush_ms <= 0 means 50.  On failure returns NULL
 * and writes a human-readable cause into err. */
struct store *store_open(const char *path, int flush_ms, char *err, size_t errlen);

/* Commit everything queued, stop the writer, checkpoint, close.  NULL is a
 * no-op. */
void store_close(struct store *s);

/* Queue rows (thread-safe, never blocks on disk).  0, or -ENOSPC when the
 * queue is full (the row is counted in rows_refused), or -EINVAL. */
int store_add_event(struct store *s, const struct store_event *e);
int store_put_node(struct store *s, const struct store_node *n);

/* The same, and on success *ticket (if not NULL) = the row's ticket. */
int store_add_event_ticket(struct store *s, const struct store_event *e,
			   uint64_t *ticket);
int store_put_node_ticket(struct store *s, const struct store_node *n,
			  uint64_t *ticket);

/* A sample: the writer inserts the raw row and folds it into the node's
 * samples_1m row for floor(ts_ms / 60000) * 60000 (running mean and max of
 * each metric, NULLs ignored; n counts samples).  -EINVAL without a node. */
int store_add_sample(struct store *s, const struct store_sample *x);
int store_add_sample_ticket(struct store *s, const struct store_sample *x,
			    uint64_t *ticket);

/* Structured rows, each with its events summary row (see the structs).
 * ticket may be NULL.  -EINVAL without a group (failover), node and hook
 * (hook run) or operator and command (audit). */
int store_add_failover(struct store *s, const struct store_failover *f,
		       uint64_t *ticket);
int store_add_hook_run(struct store *s, const struct store_hook_run *h,
		       uint64_t *ticket);
int store_add_audit(struct store *s, const struct store_audit *a,
		    uint64_t *ticket);

/* --- groups' expected members and operator overrides (schema v3) -------- *
 * Both are small tables that the collector reloads at start-up, so that what
 * an operator said survives a restart.  Writes are queued like every row
 * (commit order = call order); reads run on the reader connection and see
 * committed rows only (call store_flush() first to see queued ones). */

/* Queued like every row: node becomes (on) / is no longer (!on) an expected
 * member of group.  Adding a member again keeps its first added_ms.
 * -EINVAL on bad names ([A-Za-z0-9._-]{1,64}). */
int store_group_member(struct store *s, const char *group, const char *node, bool on,
		       int64_t ts_ms);

/* vigil forget: queued like every row, the node's row in nodes (so a
 * restart does not remember it) and its maintenance overrides are deleted.
 * Its history stays: events, samples, failovers, hook runs, audit.
 * -EINVAL on a bad name. */
int store_forget_node(struct store *s, const char *node);

struct store_group_row {
	char name[STORE_NAME_MAX + 1];
	int64_t epoch;                     /* 0 if never set */
	char leader[STORE_NAME_MAX + 1];   /* "" none */
	int nmembers;
	char members[STORE_GROUP_MEMBERS_MAX][STORE_NAME_MAX + 1];
};
typedef int (*store_group_cb)(const struct store_group_row *g, void *arg);

/* Every group in groups or group_members, by name, with its members (by
 * name; only the first STORE_GROUP_MEMBERS_MAX of a group).  Reader
 * connection; call after store_flush() to see queued rows.  A non-zero cb
 * return stops and is returned.  0, -EINVAL or -EIO. */
int store_load_groups(struct store *s, store_group_cb cb, void *arg);

struct store_override {
	char group[STORE_NAME_MAX + 1];
	char node[STORE_NAME_MAX + 1];     /* "" for a group-wide override (pause) */
	char kind[16];                     /* "pause" or "maintenance" */
	int64_t until_ms;                  /* wall ms; 0 = until undone */
	char who[STORE_NAME_MAX + 1];
	char reason[STORE_TEXT_MAX + 1];
	int64_t set_ms;
};

/* Queued: on = insert or replace (group,node,kind); !on = delete it (only
 * group, node and kind are read).  -EINVAL for a bad group or node name, a
 * kind other than "pause" / "maintenance", or until_ms < 0. */
int store_override_set(struct store *s, const struct store_override *o, bool on);

typedef int (*store_override_cb)(const struct store_override *o, void *arg);

/* Every override, by group, node and kind (expired ones too: deciding what
 * is still in force is the caller's business).  Like store_load_groups(). */
int store_load_overrides(struct store *s, store_override_cb cb, void *arg);

/* The highest ticket such that every row up to it is committed (0 before the
 * first commit).  Thread-safe, lock-free. */
uint64_t store_committed_ticket(struct store *s);

/* fn(arg) is called from the writer thread after each successful commit,
 * once store_committed_ticket() already covers it.  It must be quick and must
 * not call into this store but for store_committed_ticket() (the collector
 * calls lws_cancel_service()).  NULL
 * removes it; once this returns, the previous hook is neither running nor
 * called again. */
void store_set_commit_hook(struct store *s, void (*fn)(void *arg), void *arg);

/* Keep raw samples raw_keep_ms and per-minute aggregates agg_keep_ms (by
 * their timestamps against the wall clock; 0 or less = forever).  Defaults:
 * STORE_RAW_KEEP_MS and STORE_AGG_KEEP_MS.  The writer thread prunes between
 * batches, at most once a second, in steps of at most STORE_PRUNE_STEP_ROWS
 * rows, each its own short transaction, and stops a pass early when rows are
 * waiting.  Events, failovers, hook runs, audit and alerts are never pruned. */
void store_set_retention(struct store *s, int64_t raw_keep_ms, int64_t agg_keep_ms);

/* Run one prune step now, on the writer thread, and wait for it (for tests
 * and tools).  Returns the rows it deleted (0..STORE_PRUNE_STEP_ROWS) or
 * -EIO. */
int store_prune_step(struct store *s);

/* Set a group's epoch and leader and return only once that is durable
 * (its own connection with synchronous=FULL; the queue is bypassed).
 * 0; -ESTALE, changing nothing, when epoch is lower than the stored one (an
 * equal epoch rewrites the leader); -EINVAL; -EIO.  Thread-safe. */
int store_group_set_epoch_sync(struct store *s, const char *group, int64_t epoch,
			       const char *leader);

/* Block until every row queued before this call is committed or has failed.
 * 0 when committed, -EIO when the last commit failed. */
int store_flush(struct store *s);

void store_get_stats(struct store *s, struct store_stats *out);

/* Reads.  Callbacks return 0 to go on, non-zero to stop.  The struct passed to
 * the callback is only valid during the call.  Return 0 or -EIO. */
typedef int (*store_node_cb)(const struct store_node *n, void *arg);
typedef int (*store_event_cb)(const struct store_event *e, void *arg);

int store_load_nodes(struct store *s, store_node_cb cb, void *arg);

/* Events newest first; node NULL or "" = all nodes; kind NULL or "" = all
 * kinds; since_ms/until_ms inclusive bounds (0 = unbounded); limit <= 0
 * means 100. */
int store_query_events(struct store *s, const char *node, const char *kind,
		       int64_t since_ms, int64_t until_ms, int limit,
		       store_event_cb cb, void *arg);

/* Number of committed events of that kind (NULL = all). -1 on error. */
int64_t store_count_events(struct store *s, const char *kind);

/* An event struct with every "not applicable" field set. */
void store_event_init(struct store_event *e);

/* Zeroed, with every metric NAN. */
void store_sample_init(struct store_sample *x);

/* Zeroed, with every timestamp and the epoch -1. */
void store_failover_init(struct store_failover *f);

/* For tests and tuning: cap the queue at max rows (0 = STORE_QUEUE_MAX).
 * Rows already queued are kept; only new rows are refused. */
void store_set_queue_max(struct store *s, size_t max);

/* Test hook: while fail is true the writer's connection is made read-only
 * (PRAGMA query_only), so every commit fails with a real SQLite error and
 * goes through the normal rollback / keep rows / retry path.  Turning it off
 * wakes the writer to retry at once. */
void store_debug_fail_writes(struct store *s, bool fail);

/* Test hook: wait until every checkpoint asked for so far has run; the
 * number run since the open (0 for ":memory:", which has no WAL). */
uint64_t store_debug_checkpoint_wait(struct store *s);

/* Test hook: while paused, the writer does not prune on its own;
 * store_prune_step() still runs the steps asked for. */
void store_debug_pause_pruning(struct store *s, bool pause);

/* For store/history.c only: the reader connection, taken (":memory:": locked)
 * by store_reader_begin() and given back by store_reader_end(); and how an
 * events row is read: select STORE_SQL_EVENT_COLUMNS, then
 * store_event_from_row(). */
struct sqlite3;
struct sqlite3_stmt;
/* The kinds of the summary rows (rare: a few a day), which the partial
 * index events_rare_ts orders by time; a query whose kinds are all among
 * them says STORE_SQL_RARE_KINDS, word for word, so SQLite can use it.  ORs,
 * not IN: every insert evaluates it, and an IN list costs an ephemeral table
 * each time (30 % of the insert rate, bench/store.sh). */
#define STORE_SQL_RARE_KINDS "(kind = 'failover' OR kind = 'hook' OR kind = 'audit'" \
	" OR kind = 'alert')"
#define STORE_RARE_KINDS     { "failover", "hook", "audit", "alert" }
/* Since schema v4, events are rows of event_log with integer keys into
 * names(id, name) for the node and the group (node_id, grp_id): smaller
 * rows and index entries, integer compares in the per-node index
 * (bench/store.sh).  "events" is now a view with the old text columns, for
 * people with the sqlite3 shell; the store reads event_log.  A filter names
 * its key with STORE_SQL_NAME_ID ("node_id = " STORE_SQL_NAME_ID), a
 * constant subquery, so the index on node_id is still used. */
#define STORE_SQL_NAME_ID "(SELECT id FROM names WHERE name = ?)"
#define STORE_SQL_EVENT_COLUMNS "id, ts_ms," \
	" (SELECT name FROM names WHERE names.id = event_log.node_id)," \
	" (SELECT name FROM names WHERE names.id = event_log.grp_id), kind, from_state," \
	" to_state, rule, phi, mean_ms, sd_ms, samples, hb_age_ms, detail"
struct sqlite3 *store_reader_begin(struct store *s);
void store_reader_end(struct store *s);
void store_event_from_row(struct sqlite3_stmt *st, struct store_event *e);

#endif
