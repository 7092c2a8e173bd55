/* alerts_store — the alerts and silences tables, written from their own
 * connection and writer thread.
 *
 * Why not through store.c's queue: the alerts are few (a handful a minute
 * at worst) and the store's insert path is being reworked for speed; this
 * keeps the two apart.  The alerts table is the store's (schema v2); the
 * silences table is created here (CREATE TABLE IF NOT EXISTS) when the file
 * is opened.  The store must have been opened (and migrated) first.
 *
 * Writes are queued (never block the caller on disk) and committed in
 * order, one transaction per batch, by one thread; a failed commit is
 * retried (1 s apart, 5 times) and then counted as lost.  Reads
 * (astore_start) are synchronous and meant for start-up.  Names and
 * strings are copied.  No dependency on collector/: plain rows.
 */
#ifndef VIGIL_STORE_ALERTS_STORE_H
#define VIGIL_STORE_ALERTS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASTORE_QUEUE_MAX 10000          /* rows queued before astore_put_* refuses */

struct astore_alert {
	int64_t id;
	char fingerprint[400];
	char rule[65];
	char node[65];                  /* "" none (stored as NULL) */
	char group[65];
	char severity[16];
	char state[16];                 /* "firing", "resolved", ... */
	int64_t started_ms;
	int64_t resolved_ms;            /* 0 = NULL */
	char acked_by[65];              /* "" = not acknowledged (NULLs) */
	int64_t acked_ms;
	char ack_reason[256];
	char summary[512];
};

struct astore_silence {
	int64_t id;
	char rule[65];                  /* "*" = any */
	char node[65];
	char group[65];
	char author[65];
	char reason[256];
	int64_t created_ms;
	int64_t expires_ms;
	int64_t ended_ms;               /* 0 = not ended early (NULL) */
};

struct astore_stats {
	uint64_t rows_written, commit_errors, rows_lost, rows_refused;
};

struct astore;

/* Open path (a file; ":memory:" is refused: a second connection would see
 * another database), create the silences table, start the writer.  NULL
 * with a cause in err. */
struct astore *astore_open(const char *path, char *err, size_t errlen);
/* Commit what is queued (bounded: 5 s), stop the writer, close.  NULL ok. */
void astore_close(struct astore *a);

/* Start-up reads: the highest alert and silence ids, and the silences still
 * in force at wall_ms (cb per silence; non-zero stops).  Alerts left
 * "firing" by a previous run are closed: state "closed", resolved_ms =
 * wall_ms (their conditions are judged afresh and fire again as new alerts
 * if they still hold).  0 or -EIO.  Call before any astore_put_*. */
typedef int (*astore_silence_cb)(const struct astore_silence *s, void *arg);
int astore_start(struct astore *a, int64_t wall_ms, int64_t *max_alert_id,
		 int64_t *max_silence_id, int *closed, astore_silence_cb cb, void *arg);

/* Queued upserts by id.  0, -ENOSPC (queue full; counted), -ENOMEM. */
int astore_put_alert(struct astore *a, const struct astore_alert *al);
int astore_put_silence(struct astore *a, const struct astore_silence *s);

void astore_get_stats(struct astore *a, struct astore_stats *out);

#endif
