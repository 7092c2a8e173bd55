/* util — small helpers shared by the three programs: clocks (for the glue
 * only; the pure core never calls them), bounded string copies, and the
 * parsers behind every command-line option. */
#ifndef VIGIL_PROTO_UTIL_H
#define VIGIL_PROTO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_VERSION "0.1.0"

int64_t util_mono_ms(void);   /* CLOCK_MONOTONIC */
int64_t util_wall_ms(void);   /* CLOCK_REALTIME, ms since 1970 UTC */

/* Copy at most size-1 bytes and NUL-terminate; returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Room for one more element in a growing array: v holds *cap elements of
 * elem bytes, n of them in use.  When n == *cap it doubles (starting at
 * first).  Returns the array (perhaps moved), or NULL with v untouched. */
void *util_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

/* Parse a whole decimal integer in [min, max]; 0 or -1. */
int util_parse_int(const char *s, long long min, long long max, long long *out);

/* Parse a duration: "250ms", "2s", "5m", "1h", "7d", or a bare number of
 * milliseconds.  0 or -1. */
int util_parse_duration_ms(const char *s, int64_t *out);

/* A point in time for --since/--until/at: "now"; a duration back from now
 * ("90s", "1h", "7d"); an ISO 8601 UTC time "2026-11-20T10:00Z",
 * "2026-11-20T10:00:05Z", "2026-11-20T10:00:05.250Z", "2026-11-20 10:00"
 * (UTC), "2026-11-20" (midnight UTC), with an optional "+02:00"/"-0530"
 * offset instead of Z; or "@MS" (ms since 1970).  0, or -1 with a reason. */
int util_parse_time(const char *s, int64_t now_ms, int64_t *out, char *err, size_t errlen);

/* "2026-11-20T10:00:05.250Z" */
void util_fmt_time(int64_t ms, char *buf, size_t len);

/* "HOST:PORT" or "[V6]:PORT" -> host (no brackets) and port 1..65535.
 * 0, or -1 with a reason in err. */
int util_parse_hostport(const char *s, char *host, size_t hostlen, int *port,
			char *err, size_t errlen);

/* Read a secret from a file: the first line, surrounding white space
 * stripped; must be 16..256 printable ASCII characters without spaces.
 * Sets *loose when the file is readable by group or others.
 * 0, or -1 with a reason (naming the file) in err. */
int util_read_token_file(const char *path, char *tok, size_t toklen, bool *loose,
			 char *err, size_t errlen);

/* Constant-time comparison of two NUL-terminated strings. */
bool util_secret_eq(const char *a, const char *b);

/* Format a duration for humans: "350ms", "4.2s", "3m10s", "2h05m", "3d04h". */
void util_fmt_age(int64_t ms, char *buf, size_t len);

/* Log one line to stderr: "2026-11-22T13:15:40.123Z vigil-collector warn: ...".
 * Only the I/O edge logs; the core never does. */
void util_log_init(const char *prog);
void util_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
