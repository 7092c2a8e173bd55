/* delivery — sends alert notifications to the configured sinks without
 * ever blocking the collector's event loop.
 *
 * One worker thread per sink, each with a bounded queue of actions
 * (DELIVERY_QUEUE_MAX; beyond it a notification is dropped and counted).
 * A sink that hangs or fails only delays its own queue: every attempt has
 * the sink's timeout, failed attempts are retried `retries` times with
 * exponential backoff and jitter (0.5 s, 1 s, 2 s ... capped at 30 s,
 * +-25 %), and then given up (logged, counted, and recorded in the store
 * as an events row of kind "alert", rule "delivery_failed"; the alert
 * itself is in the store whatever the sinks do).
 *
 *   exec          the program is run (posix_spawn, its own process group,
 *                 no shell) with the sink document (sinks_exec_json, which
 *                 carries the idempotency key) and a newline on its stdin;
 *                 VIGIL_ALERT_KEY is in its environment too.  Exit 0 is
 *                 success.  On timeout the whole process group is killed.
 *                 Its stdout and stderr go to the collector's stderr.
 *   alertmanager  HTTP/1.1 POST of sinks_alertmanager_body to
 *                 URL/api/v2/alerts over a plain TCP socket (http:// only;
 *                 delivery_sink_check refuses https://).  2xx is success;
 *                 another 4xx is not retried.  Besides the notifications,
 *                 the worker re-sends every alert it has sent and not yet
 *                 resolved each sink repeat_ms (Alertmanager forgets
 *                 alerts not re-sent within its resolve_timeout); an alert
 *                 that becomes silenced or inhibited is no longer re-sent.
 *
 * Called from the event-loop thread only (delivery_submit copies).
 */
#ifndef VIGIL_COLLECTOR_DELIVERY_H
#define VIGIL_COLLECTOR_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/alerts.h"
#include "collector/config.h"

#define DELIVERY_QUEUE_MAX 1000

struct store;

/* Can this sink be used?  exec: an absolute path to an executable;
 * alertmanager: http://HOST[:PORT][/PATH].  0, or -1 with a reason. */
int delivery_sink_check(const struct sink_spec *s, char *err, size_t errlen);

struct delivery;

/* Starts one worker per sink.  st (may be NULL) receives a
 * "delivery_failed" events row when a notification is given up.
 * NULL with a reason in err. */
struct delivery *delivery_new(const struct sink_spec *sinks, size_t n, struct store *st,
			      char *err, size_t errlen);
/* Stops the workers: a running program is killed, a connection dropped,
 * queued notifications are discarded (counted as dropped).  NULL ok. */
void delivery_free(struct delivery *d);

/* Hand an engine action to every sink (each decides with sinks_wants, and
 * the Alertmanager worker also tracks what it must re-send). */
void delivery_submit(struct delivery *d, const struct alert_action *act);

struct delivery_sink_stats {
	enum sink_kind kind;
	char target[CONFIG_TARGET_MAX];
	uint64_t ok;          /* notifications delivered (a repeat batch counts once) */
	uint64_t retried;     /* failed attempts that were retried */
	uint64_t failed;      /* given up after the retries */
	uint64_t dropped;     /* queue full, or discarded at shutdown / reload */
	size_t queued;
};

size_t delivery_count(const struct delivery *d);
void delivery_stats(struct delivery *d, size_t i, struct delivery_sink_stats *out);

#endif
