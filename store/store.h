/* store — vigil's history in SQLite.
 *
 * One SQLite file in WAL mode (synchronous=NORMAL).  Writes are queued by the
 * caller (the collector's event-loop thread) and committed by one writer
 * thread with its own connection, in batches: one transaction at least every
 * flush_ms or every STORE_BATCH_ROWS rows, whichever comes first, so the event
 * loop never waits on a commit.  Reads use a second connection and are meant
 * for the event-loop thread (WAL readers do not block the writer).
 *
 * Schema versions are applied with PRAGMA user_version migrations.
 * Timestamps are wall-clock milliseconds since 1970 (UTC).
 *
 * Ownership: every function that takes a struct copies what it needs; the
 * caller keeps ownership of its arguments.
 */
#ifndef VIGIL_STORE_STORE_H
#define VIGIL_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 1
#define STORE_BATCH_ROWS     1000
#define STORE_QUEUE_MAX      200000 /* rows queued before store_add_* refuses */

#define STORE_NAME_MAX   64         /* names: [A-Za-z0-9._-]{1,64} */
#define STORE_STATE_MAX  15
#define STORE_RULE_MAX   63
#define STORE_DETAIL_MAX 1023

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

struct store_stats {
	uint64_t rows_queued;     /* accepted by store_add_* / store_put_* */
	uint64_t rows_written;    /* committed */
	uint64_t batches;         /* committed transactions */
	uint64_t write_errors;    /* failed transactions (rows are kept and retried) */
	uint64_t rows_refused;    /* refused because the queue was full */
	size_t queue_depth;       /* rows waiting now */
	bool recording;           /* false while the last commit failed */
	char last_error[256];     /* "" or the last SQLite error, with the file name */
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

/* For tests and tuning: cap the queue at max rows (0 = STORE_QUEUE_MAX).
 * Rows already queued are kept; only new rows are refused. */
void store_set_queue_max(struct store *s, size_t max);

/* Test hook: while fail is true the writer's connection is made read-only
 * (PRAGMA query_only), so every commit fails with a real SQLite error and
 * goes through the normal rollback / keep rows / retry path.  Turning it off
 * wakes the writer to retry at once. */
void store_debug_fail_writes(struct store *s, bool fail);

#endif
