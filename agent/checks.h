/* checks — local health checks, Consul's model.
 *
 * A check is a command (exec:), a TCP connect (tcp:) or a plain HTTP GET
 * (http:), run every interval_ms and bounded by timeout_ms.  Its raw result
 * goes through a pure state machine: fail_after consecutive failures before
 * CRITICAL, pass_after consecutive successes before PASSING, WARNING at
 * once; the very first result is taken as is.
 *
 * Three layers, testable apart:
 *   spec      parse and validate "NAME=exec:CMD", "NAME=tcp:HOST:PORT",
 *             "NAME=http://..." texts (pure);
 *   state     check_state_apply(), the thresholds (pure: no clock, no I/O);
 *   runner    struct checks, one thread per check, executors in checks.c.
 *
 * Exec checks follow the Nagios convention: exit 0 passing, 1 warning,
 * anything else (or a signal, or a timeout) critical.  Commands run with
 * /bin/sh -c in their own session, so the whole process group is killed on
 * timeout and nothing is left behind. */
#ifndef VIGIL_AGENT_CHECKS_H
#define VIGIL_AGENT_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/proto.h"

#define CHECK_INTERVAL_MS_DEFAULT 5000
#define CHECK_TIMEOUT_MS_DEFAULT  2000
#define CHECK_FAIL_AFTER_DEFAULT  2
#define CHECK_PASS_AFTER_DEFAULT  2
#define CHECK_INTERVAL_MS_MIN     100
#define CHECK_INTERVAL_MS_MAX     3600000
#define CHECK_TIMEOUT_MS_MIN      10
#define CHECK_STREAK_MAX          100     /* fail_after, pass_after: 1..100 */
#define CHECK_TARGET_MAX          511     /* bytes of a command, address or URL */
#define CHECK_EXEC_READ_MAX       4096    /* bytes of a command's output read */

enum check_kind { CHK_EXEC, CHK_TCP, CHK_HTTP };

struct check_spec {
	char name[PROTO_NAME_MAX + 1];
	enum check_kind kind;
	char target[CHECK_TARGET_MAX + 1];  /* CMD, HOST:PORT or http://URL */
	int interval_ms;
	int timeout_ms;                     /* <= interval_ms */
	int fail_after;                     /* consecutive failures before CRITICAL */
	int pass_after;                     /* consecutive successes before PASSING */
};

/* Interval 5000 ms, timeout 2000 ms, fail_after 2, pass_after 2; the rest
 * zeroed. */
void check_spec_defaults(struct check_spec *spec);

/* "NAME=exec:CMD", "NAME=tcp:HOST:PORT" ([V6]:PORT allowed) or
 * "NAME=http:URL" (http://HOST[:PORT][/PATH]).  Sets name, kind and target
 * and keeps the timing fields already in *out, then validates the whole
 * spec.  0, or -1 with a reason naming the text in err (*out unchanged). */
int check_spec_parse(const char *text, struct check_spec *out, char *err, size_t errlen);

/* 100 <= interval_ms <= 3600000, 10 <= timeout_ms <= interval_ms,
 * 1 <= fail_after, pass_after <= 100, a valid name and a target of the kind.
 * 0, or -1 with a reason in err. */
int check_spec_validate(const struct check_spec *spec, char *err, size_t errlen);

/* http://HOST[:PORT][/PATH], HOST a name, IPv4, or [IPv6]; PORT defaults to
 * 80, PATH to "/".  0, or -1 with a reason in err. */
struct check_http_url {
	char host[256];                     /* without brackets */
	int port;
	char path[CHECK_TARGET_MAX + 1];
};
int check_http_url_parse(const char *url, struct check_http_url *out, char *err, size_t errlen);

/* ---- the state machine (pure) ------------------------------------------ */

struct check_state {
	enum check_status status;           /* CHECK_WARNING until the first result */
	int ok_streak;                      /* consecutive PASSING results */
	int fail_streak;                    /* consecutive CRITICAL results */
	bool ran;                           /* a result has been applied */
	char output[PROTO_CHECK_OUTPUT_MAX + 1]; /* the last output, sanitized */
};

void check_state_init(struct check_state *st);

/* Apply one raw result.  Always stores the sanitized output (NULL = "").
 * Returns true when st->status changed. */
bool check_state_apply(struct check_state *st, const struct check_spec *spec,
		       enum check_status result, const char *output);

/* Copy src[0..srclen) into dst as printable UTF-8: control characters
 * (including NUL and DEL) become spaces, bytes that are not valid UTF-8
 * become '?', trailing white space is dropped, and the result is cut at
 * min(dstlen - 1, PROTO_CHECK_OUTPUT_MAX) bytes without splitting a
 * character.  dstlen must be at least 1. */
void check_output_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);

/* ---- executors (I/O) --------------------------------------------------- */

/* Run a check once, blocking at most spec->timeout_ms (plus a few ms to
 * reap).  cancel_fd, if >= 0, is polled too: when it becomes readable the
 * run is abandoned at once (a command's process group is killed) and the
 * result is CRITICAL "cancelled".  Writes a short human output (not yet
 * sanitized) into out.  Never fails: problems are CRITICAL results. */
enum check_status check_run(const struct check_spec *spec, int cancel_fd, char *out, size_t outlen);

/* ---- the runner -------------------------------------------------------- */

struct checks;

/* Copies the n specs (0 <= n <= PROTO_CHECKS_MAX).  NULL if n is out of
 * range, a spec does not validate, or memory is short. */
struct checks *checks_new(const struct check_spec *specs, int n);

/* Start one thread per check: it runs at once, then every interval_ms.
 * 0, -EALREADY if started before, or a negative errno (threads already
 * started keep running until checks_free()). */
int checks_start(struct checks *c);

/* Thread-safe copy of every check's name, status and output into out[0..max);
 * returns the number copied.  Before its first result a check is WARNING with
 * output "not run yet". */
int checks_snapshot(struct checks *c, struct proto_check *out, int max);

/* Stop the threads promptly (a running command's process group is killed),
 * join them and free everything.  NULL is a no-op. */
void checks_free(struct checks *c);

#endif
