/* statsd — applications push metrics to the agent on a local UDP socket
 * (etsy StatsD line protocol, a strict subset).
 *
 *   name:value|c[|@rate]   counter; rate 0 < r <= 1 scales the value by 1/r
 *   name:value|ms[|@rate]  timer (value >= 0; the rate is accepted, ignored)
 *   name:value|g           gauge set; "+N" / "-N" add to the current value
 *
 * Names are [A-Za-z0-9._-]{1,60} (the aggregator appends ".max").  Several
 * lines may share one datagram, separated by '\n'.  Everything else (sets,
 * histograms, tags, several values per line) is refused with a reason.
 *
 * Three layers: the parser and the aggregator are pure (tests feed them
 * vectors and step the interval by hand); struct statsd is the listener, a
 * thread reading the socket into an aggregator under a mutex.
 *
 * Each flush appends to proto_metrics.app:
 *   counter NAME      events per second over the interval, 0 once idle
 *   timer   NAME      mean of the interval's samples   } only when the
 *           NAME.max  their maximum                    } interval has samples
 *   gauge   NAME      its current value (kept across intervals)
 * Counters and timers restart from zero after every flush. */
#ifndef VIGIL_AGENT_STATSD_H
#define VIGIL_AGENT_STATSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define STATSD_NAME_MAX    60     /* + ".max" fits PROTO_NAME_MAX */
#define STATSD_METRICS_MAX 60     /* distinct names kept; more are dropped */
#define STATSD_DGRAM_MAX   65535
#define STATSD_DEFAULT_HOST "127.0.0.1"
#define STATSD_DEFAULT_PORT 8125

enum statsd_type { STATSD_COUNTER, STATSD_TIMER, STATSD_GAUGE };

struct statsd_sample {
	char name[STATSD_NAME_MAX + 1];
	enum statsd_type type;
	double value;          /* counters: already scaled by 1/rate */
	bool delta;            /* gauge "+N" / "-N": add value instead of setting */
};

/* Parse one line (no '\n'; len bytes, need not be NUL-terminated).
 * 0, or -1 with a reason in err. */
int statsd_parse_line(const char *line, size_t len, struct statsd_sample *out,
		      char *err, size_t errlen);

/* ---- the aggregator (pure) ---------------------------------------------- */

struct statsd_metric {
	char name[STATSD_NAME_MAX + 1];
	enum statsd_type type;
	double sum;            /* counter: events; timer: sum of samples */
	double max;            /* timer */
	uint64_t count;        /* samples since the last flush */
	double gauge;          /* gauge: current value */
};

struct statsd_agg {
	int n;
	struct statsd_metric m[STATSD_METRICS_MAX];   /* in order of first sight */
	uint64_t dropped;      /* samples of new names beyond STATSD_METRICS_MAX */
	uint64_t conflicts;    /* samples whose type differs from the name's first */
	uint64_t overflow;     /* flushed values that did not fit in m->app */
};

void statsd_agg_init(struct statsd_agg *a);
void statsd_agg_add(struct statsd_agg *a, const struct statsd_sample *s);
/* Append to m->app from m->napp on, up to PROTO_APP_MAX; then reset the
 * counters and timers.  interval_ms below 1 counts as 1. */
void statsd_agg_flush(struct statsd_agg *a, int64_t interval_ms, struct proto_metrics *m);

/* ---- the listener (I/O) -------------------------------------------------- */

struct statsd;

/* Bind a UDP socket on host:port (NULL host = 127.0.0.1; port 0 = an
 * ephemeral port) and start the reader thread.  Binds exactly what is asked:
 * the caller decides whether a non-loopback address is wanted.  NULL with a
 * reason in err. */
struct statsd *statsd_start(const char *host, int port, char *err, size_t errlen);
/* The bound port. */
int statsd_port(struct statsd *sd);
/* Thread-safe statsd_agg_flush(). */
void statsd_flush(struct statsd *sd, int64_t interval_ms, struct proto_metrics *m);
/* Lines received (non-empty), malformed lines, and the last malformed
 * line's reason ("" if none).  Any pointer may be NULL. */
void statsd_stats(struct statsd *sd, uint64_t *lines, uint64_t *bad, char *last_err, size_t errlen);
/* Stop the thread, close the socket, free.  NULL is a no-op. */
void statsd_stop(struct statsd *sd);

#endif
