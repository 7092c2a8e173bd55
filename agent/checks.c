/* checks.c — health checks: spec parsing, the threshold state machine, the
 * exec/tcp/http executors and the runner threads.
 *
 * Ownership: struct checks owns copies of the specs and one check_state per
 * check; the mutex guards every state and the stop flag.  A thread holds the
 * mutex only to apply a result and to wait; it runs the check unlocked.
 *
 * Stopping: checks_free() sets stop, wakes the condition variable and writes
 * one byte into a pipe that every executor polls (cancel_fd), so a check in
 * the middle of a connect or a command gives up at once; a command's whole
 * process group is killed.
 *
 * Commands run through proc_run() (agent/proc.h): posix_spawn() in a new
 * session, so the whole process group is killed at the timeout and after the
 * command exits.  Every fd we open is close-on-exec.
 *
 * Names are resolved in a short-lived helper thread so a slow resolver
 * cannot hold a check past its timeout; a lookup the check gave up on frees
 * itself when it ends. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE    /* POSIX_SPAWN_SETSID, pipe2, strerror_r */
#endif

#include "agent/checks.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/proc.h"
#include "proto/names.h"
#include "proto/util.h"

#define CHECK_THREAD_STACK (256 * 1024)
#define HTTP_STATUS_LINE_MAX 1024
#define LOOKUP_THREAD_STACK (512 * 1024)

/* ---- spec --------------------------------------------------------------- */

void check_spec_defaults(struct check_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->kind = CHK_EXEC;
	spec->interval_ms = CHECK_INTERVAL_MS_DEFAULT;
	spec->timeout_ms = CHECK_TIMEOUT_MS_DEFAULT;
	spec->fail_after = CHECK_FAIL_AFTER_DEFAULT;
	spec->pass_after = CHECK_PASS_AFTER_DEFAULT;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool host_char_ok(unsigned char c, bool v6)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_' || (v6 && c == ':');
}

int check_http_url_parse(const char *url, struct check_http_url *out, char *err, size_t errlen)
{
	const char *auth, *end, *host, *port = NULL, *path;
	size_t hl, pl, i;
	bool v6 = false;
	long long portnum = 80;
	char portbuf[8];
	int rc = -1;

	if (has_prefix_ci(url, "https://")) {
		snprintf(err, errlen, "'%s': https is not supported by http checks (the agent has no TLS); "
			 "use an exec check with curl, e.g. exec:curl -fsS --max-time 2 %s", url, url);
		goto out;
	}
	if (!has_prefix_ci(url, "http://")) {
		snprintf(err, errlen, "'%s': expected http://HOST[:PORT][/PATH]", url);
		goto out;
	}
	auth = url + 7;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth))) {
		snprintf(err, errlen, "'%s': user@ in an http check URL is not supported", url);
		goto out;
	}
	host = auth;
	if (*auth == '[') {
		const char *close = memchr(auth, ']', (size_t)(end - auth));

		if (!close || (close + 1 != end && close[1] != ':')) {
			snprintf(err, errlen, "'%s': expected [IPV6] or [IPV6]:PORT", url);
			goto out;
		}
		v6 = true;
		host = auth + 1;
		hl = (size_t)(close - host);
		if (close + 1 != end)
			port = close + 2;
	} else {
		const char *colon = memchr(auth, ':', (size_t)(end - auth));

		hl = (size_t)((colon ? colon : end) - auth);
		if (colon)
			port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(out->host)) {
		snprintf(err, errlen, "'%s': host is empty or too long", url);
		goto out;
	}
	for (i = 0; i < hl; i++) {
		if (!host_char_ok((unsigned char)host[i], v6)) {
			snprintf(err, errlen, "'%s': character '%c' not allowed in a host", url, host[i]);
			goto out;
		}
	}
	if (port) {
		size_t n = (size_t)(end - port);

		if (n == 0 || n >= sizeof(portbuf)) {
			snprintf(err, errlen, "'%s': port must be a number 1..65535", url);
			goto out;
		}
		memcpy(portbuf, port, n);
		portbuf[n] = '\0';
		if (util_parse_int(portbuf, 1, 65535, &portnum)) {
			snprintf(err, errlen, "'%s': port must be a number 1..65535", url);
			goto out;
		}
	}
	path = end;
	pl = strcspn(path, "#");
	for (i = 0; i < pl; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c <= 0x20 || c >= 0x7f) {
			snprintf(err, errlen, "'%s': the path must be printable ASCII without spaces "
				 "(percent-encode the rest)", url);
			goto out;
		}
	}
	if (pl + 2 > sizeof(out->path)) {
		snprintf(err, errlen, "'%s': path too long", url);
		goto out;
	}
	memcpy(out->host, host, hl);
	out->host[hl] = '\0';
	out->port = (int)portnum;
	if (pl == 0 || path[0] != '/') {
		out->path[0] = '/';
		memcpy(out->path + 1, path, pl);
		out->path[pl + 1] = '\0';
	} else {
		memcpy(out->path, path, pl);
		out->path[pl] = '\0';
	}
	rc = 0;
out:
	return rc;
}

static int validate_target(const struct check_spec *spec, char *err, size_t errlen)
{
	struct check_http_url url;
	char host[256];
	const char *p;
	int port, rc = -1;

	switch (spec->kind) {
	case CHK_EXEC:
		for (p = spec->target; *p == ' '; p++)
			;
		if (!*p) {
			snprintf(err, errlen, "empty command");
			goto out;
		}
		if (!text_is_valid(spec->target, CHECK_TARGET_MAX)) {
			snprintf(err, errlen, "the command must be printable UTF-8 of at most %d bytes",
				 CHECK_TARGET_MAX);
			goto out;
		}
		break;
	case CHK_TCP:
		if (util_parse_hostport(spec->target, host, sizeof(host), &port, err, errlen))
			goto out;
		break;
	case CHK_HTTP:
		if (check_http_url_parse(spec->target, &url, err, errlen))
			goto out;
		break;
	default:
		snprintf(err, errlen, "unknown check kind %d", (int)spec->kind);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

int check_spec_validate(const struct check_spec *spec, char *err, size_t errlen)
{
	int rc = -1;

	if (!name_is_valid(spec->name, PROTO_NAME_MAX)) {
		snprintf(err, errlen, "check name '%s' must be 1..%d characters of A-Z a-z 0-9 . _ -",
			 spec->name, PROTO_NAME_MAX);
		goto out;
	}
	if (spec->interval_ms < CHECK_INTERVAL_MS_MIN || spec->interval_ms > CHECK_INTERVAL_MS_MAX) {
		snprintf(err, errlen, "check '%s': interval %d ms out of range %d..%d ms",
			 spec->name, spec->interval_ms, CHECK_INTERVAL_MS_MIN, CHECK_INTERVAL_MS_MAX);
		goto out;
	}
	if (spec->timeout_ms < CHECK_TIMEOUT_MS_MIN || spec->timeout_ms > spec->interval_ms) {
		snprintf(err, errlen, "check '%s': timeout %d ms out of range %d ms..interval (%d ms)",
			 spec->name, spec->timeout_ms, CHECK_TIMEOUT_MS_MIN, spec->interval_ms);
		goto out;
	}
	if (spec->fail_after < 1 || spec->fail_after > CHECK_STREAK_MAX) {
		snprintf(err, errlen, "check '%s': fail_after %d out of range 1..%d",
			 spec->name, spec->fail_after, CHECK_STREAK_MAX);
		goto out;
	}
	if (spec->pass_after < 1 || spec->pass_after > CHECK_STREAK_MAX) {
		snprintf(err, errlen, "check '%s': pass_after %d out of range 1..%d",
			 spec->name, spec->pass_after, CHECK_STREAK_MAX);
		goto out;
	}
	if (!memchr(spec->target, '\0', sizeof(spec->target))) {
		snprintf(err, errlen, "check '%s': target not terminated", spec->name);
		goto out;
	}
	if (validate_target(spec, err, errlen))
		goto out;
	rc = 0;
out:
	return rc;
}

int check_spec_parse(const char *text, struct check_spec *out, char *err, size_t errlen)
{
	static const char usage[] =
		"expected NAME=exec:CMD, NAME=tcp:HOST:PORT or NAME=http://HOST[:PORT]/PATH";
	struct check_spec s = *out;
	const char *eq, *rest, *target;
	char why[PROTO_TEXT_MAX];
	size_t nl;
	int rc = -1;

	if (!text || !*text) {
		snprintf(err, errlen, "empty check (%s)", usage);
		goto out;
	}
	eq = strchr(text, '=');
	if (!eq) {
		snprintf(err, errlen, "check '%s': %s", text, usage);
		goto out;
	}
	nl = (size_t)(eq - text);
	if (nl == 0 || nl > PROTO_NAME_MAX) {
		snprintf(err, errlen, "check '%s': the name must be 1..%d characters", text, PROTO_NAME_MAX);
		goto out;
	}
	memcpy(s.name, text, nl);
	s.name[nl] = '\0';
	rest = eq + 1;
	if (has_prefix(rest, "exec:")) {
		s.kind = CHK_EXEC;
		target = rest + 5;
	} else if (has_prefix(rest, "tcp:")) {
		s.kind = CHK_TCP;
		target = rest + 4;
	} else if (has_prefix_ci(rest, "http://") || has_prefix_ci(rest, "https://")) {
		s.kind = CHK_HTTP;
		target = rest;
	} else if (has_prefix(rest, "http:") || has_prefix(rest, "https:")) {
		s.kind = CHK_HTTP;
		target = rest + strcspn(rest, ":") + 1;
	} else {
		snprintf(err, errlen, "check '%s': unknown kind (%s)", text, usage);
		goto out;
	}
	if (strlen(target) > CHECK_TARGET_MAX) {
		snprintf(err, errlen, "check '%.80s...': target longer than %d bytes", text, CHECK_TARGET_MAX);
		goto out;
	}
	util_strlcpy(s.target, target, sizeof(s.target));
	if (check_spec_validate(&s, why, sizeof(why))) {
		snprintf(err, errlen, "check '%s': %s", text, why);
		goto out;
	}
	*out = s;
	rc = 0;
out:
	return rc;
}

/* ---- output sanitizing -------------------------------------------------- */

void check_output_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	if (dstlen > PROTO_CHECK_OUTPUT_MAX + 1)
		dstlen = PROTO_CHECK_OUTPUT_MAX + 1;
	proc_text_sanitize(dst, dstlen, src, srclen, PROC_TEXT_TRIM);
}

/* ---- the state machine -------------------------------------------------- */

void check_state_init(struct check_state *st)
{
	memset(st, 0, sizeof(*st));
	st->status = CHECK_WARNING;
}

static int streak_inc(int n)
{
	return n < INT_MAX ? n + 1 : n;
}

bool check_state_apply(struct check_state *st, const struct check_spec *spec,
		       enum check_status result, const char *output)
{
	enum check_status old = st->status;
	bool first = !st->ran;

	check_output_sanitize(st->output, sizeof(st->output), output,
			      output ? strlen(output) : 0);
	st->ran = true;
	switch (result) {
	case CHECK_PASSING:
		st->ok_streak = streak_inc(st->ok_streak);
		st->fail_streak = 0;
		if (first || st->ok_streak >= spec->pass_after)
			st->status = CHECK_PASSING;
		break;
	case CHECK_CRITICAL:
		st->fail_streak = streak_inc(st->fail_streak);
		st->ok_streak = 0;
		if (first || st->fail_streak >= spec->fail_after)
			st->status = CHECK_CRITICAL;
		break;
	case CHECK_WARNING:
	default:
		st->status = CHECK_WARNING;
		st->ok_streak = 0;
		st->fail_streak = 0;
		break;
	}
	return st->status != old;
}

/* ---- executors: helpers ------------------------------------------------- */

enum io_res { IO_OK, IO_ERR, IO_TIMEOUT, IO_CANCEL };

static int remaining_ms(int64_t deadline)
{
	int64_t r = deadline - util_mono_ms();

	if (r < 0)
		r = 0;
	return r > INT_MAX ? INT_MAX : (int)r;
}

static const char *errstr(int e, char *buf, size_t len)
{
	return strerror_r(e, buf, len);
}

/* Wait until fd is ready for events, the deadline passes or cancel_fd is
 * readable. */
static enum io_res wait_fd(int fd, short events, int64_t deadline, int cancel_fd)
{
	enum io_res res = IO_TIMEOUT;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = events },
			{ .fd = cancel_fd, .events = POLLIN },
		};
		int wait = remaining_ms(deadline), n;

		if (wait == 0)
			break;
		n = poll(p, cancel_fd >= 0 ? 2 : 1, wait);
		if (n < 0 && errno != EINTR) {
			res = IO_ERR;
			break;
		}
		if (n > 0 && p[1].revents) {
			res = IO_CANCEL;
			break;
		}
		if (n > 0 && p[0].revents) {
			res = IO_OK;
			break;
		}
	}
	return res;
}

/* ---- name resolution ---------------------------------------------------- */

/* A name lookup in a helper thread, so a slow resolver cannot hold a check
 * past its deadline (glibc's getaddrinfo_a() would do, but its threads are
 * invisible to ThreadSanitizer).  The thread writes a byte into done[1] when
 * the answer is in; the request is shared by the thread and the caller and
 * freed by whichever lets go last, so a caller that gives up just leaves. */
struct lookup {
	pthread_mutex_t mu;
	int refs;                      /* under mu */
	int done[2];
	char host[256];
	char port[8];
	struct addrinfo hints;
	struct addrinfo *res;          /* under mu */
	int gai_err;                   /* under mu */
};

static void lookup_unref(struct lookup *l)
{
	bool last;

	pthread_mutex_lock(&l->mu);
	last = --l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (last) {
		if (l->res)
			freeaddrinfo(l->res);
		close(l->done[0]);
		close(l->done[1]);
		pthread_mutex_destroy(&l->mu);
		free(l);
	}
}

static void *lookup_thread(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo *res = NULL;
	ssize_t w;
	int e;

	e = getaddrinfo(l->host, l->port, &l->hints, &res);
	pthread_mutex_lock(&l->mu);
	l->gai_err = e;
	l->res = e ? NULL : res;
	pthread_mutex_unlock(&l->mu);
	w = write(l->done[1], "x", 1);
	(void)w;
	lookup_unref(l);
	return NULL;
}

/* Start a lookup thread with every signal blocked.  0 or an errno. */
static int lookup_start(struct lookup *l)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int e;

	e = pthread_attr_init(&attr);
	if (e)
		goto out;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, LOOKUP_THREAD_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&tid, &attr, lookup_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
out:
	return e;
}

/* Numeric addresses at once; names through a lookup thread, bounded by the
 * deadline.  *res is the caller's to freeaddrinfo(). */
static enum io_res resolve(const char *host, int port, int64_t deadline, int cancel_fd,
			   struct addrinfo **res, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST };
	struct lookup *l = NULL;
	char portbuf[8], eb[128];
	enum io_res rc = IO_ERR;
	int e;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	e = getaddrinfo(host, portbuf, &hints, res);
	if (e == 0) {
		rc = IO_OK;
		goto out;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(why, whylen, "resolve %s: out of memory", host);
		goto out;
	}
	if (pipe2(l->done, O_CLOEXEC | O_NONBLOCK)) {
		snprintf(why, whylen, "resolve %s: pipe: %s", host, errstr(errno, eb, sizeof(eb)));
		goto out_free;
	}
	e = pthread_mutex_init(&l->mu, NULL);
	if (e) {
		snprintf(why, whylen, "resolve %s: %s", host, errstr(e, eb, sizeof(eb)));
		goto out_pipe;
	}
	util_strlcpy(l->host, host, sizeof(l->host));
	util_strlcpy(l->port, portbuf, sizeof(l->port));
	l->hints = hints;
	l->hints.ai_flags = AI_NUMERICSERV;
	l->refs = 2;
	e = lookup_start(l);
	if (e) {
		snprintf(why, whylen, "resolve %s: thread: %s", host, errstr(e, eb, sizeof(eb)));
		pthread_mutex_destroy(&l->mu);
		goto out_pipe;
	}
	rc = wait_fd(l->done[0], POLLIN, deadline, cancel_fd);
	if (rc == IO_OK) {
		pthread_mutex_lock(&l->mu);
		e = l->gai_err;
		*res = l->res;
		l->res = NULL;
		pthread_mutex_unlock(&l->mu);
		if (e) {
			snprintf(why, whylen, "resolve %s: %s", host, gai_strerror(e));
			rc = IO_ERR;
		}
	} else if (rc == IO_ERR) {
		snprintf(why, whylen, "resolve %s: poll: %s", host, errstr(errno, eb, sizeof(eb)));
	}
	lookup_unref(l);
	goto out;
out_pipe:
	close(l->done[0]);
	close(l->done[1]);
out_free:
	free(l);
out:
	return rc;
}

/* ---- tcp ---------------------------------------------------------------- */

static void fmt_hostport(char *buf, size_t len, const char *host, int port)
{
	if (strchr(host, ':'))
		snprintf(buf, len, "[%s]:%d", host, port);
	else
		snprintf(buf, len, "%s:%d", host, port);
}

/* Connect to host:port, trying every address.  *fd is a connected
 * non-blocking socket on IO_OK; otherwise why says what failed. */
static enum io_res tcp_connect(const char *host, int port, int64_t deadline, int cancel_fd,
			       int *fd, char *why, size_t whylen)
{
	struct addrinfo *res = NULL, *ai;
	char hp[300], eb[128];
	enum io_res rc;
	int last_err = ECONNREFUSED;

	*fd = -1;
	fmt_hostport(hp, sizeof(hp), host, port);
	rc = resolve(host, port, deadline, cancel_fd, &res, why, whylen);
	if (rc != IO_OK)
		goto out;
	rc = IO_ERR;
	for (ai = res; ai; ai = ai->ai_next) {
		int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		enum io_res w;

		if (s < 0) {
			last_err = errno;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
			*fd = s;
			rc = IO_OK;
			break;
		}
		if (errno != EINPROGRESS) {
			last_err = errno;
			close(s);
			continue;
		}
		w = wait_fd(s, POLLOUT, deadline, cancel_fd);
		if (w != IO_OK) {
			close(s);
			rc = w;
			if (w == IO_ERR)
				last_err = errno;
			break;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
			*fd = s;
			rc = IO_OK;
			break;
		}
		last_err = soerr ? soerr : errno;
		close(s);
	}
	if (rc == IO_ERR)
		snprintf(why, whylen, "connect to %s: %s", hp, errstr(last_err, eb, sizeof(eb)));
out:
	if (res)
		freeaddrinfo(res);
	return rc;
}

/* The common endings of tcp and http runs. */
static enum check_status io_failure(enum io_res rc, const char *what, int timeout_ms,
				    const char *why, char *out, size_t outlen)
{
	if (rc == IO_TIMEOUT)
		snprintf(out, outlen, "%s: timed out after %d ms", what, timeout_ms);
	else if (rc == IO_CANCEL)
		snprintf(out, outlen, "cancelled");
	else
		snprintf(out, outlen, "%s", why);
	return CHECK_CRITICAL;
}

static enum check_status run_tcp(const struct check_spec *spec, int cancel_fd, char *out, size_t outlen)
{
	int64_t deadline = util_mono_ms() + spec->timeout_ms;
	char host[256], why[PROTO_TEXT_MAX], what[300];
	enum check_status st = CHECK_CRITICAL;
	enum io_res rc;
	int port, fd = -1;

	if (util_parse_hostport(spec->target, host, sizeof(host), &port, why, sizeof(why))) {
		snprintf(out, outlen, "%s", why);
		goto out;
	}
	fmt_hostport(what, sizeof(what), host, port);
	rc = tcp_connect(host, port, deadline, cancel_fd, &fd, why, sizeof(why));
	if (rc != IO_OK) {
		char w2[320];

		snprintf(w2, sizeof(w2), "connect to %s", what);
		st = io_failure(rc, w2, spec->timeout_ms, why, out, outlen);
		goto out;
	}
	snprintf(out, outlen, "connected to %s", what);
	st = CHECK_PASSING;
	close(fd);
out:
	return st;
}

/* ---- http --------------------------------------------------------------- */

/* "HTTP/1.x NNN reason" -> code and reason; -1 if it is not a status line. */
static int parse_status_line(const char *line, int *code, const char **reason)
{
	const char *p = line;
	int rc = -1;

	if (strncmp(p, "HTTP/", 5) || !isdigit((unsigned char)p[5]) || p[6] != '.' ||
	    !isdigit((unsigned char)p[7]) || p[8] != ' ')
		goto out;
	p += 9;
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || (p[3] != ' ' && p[3] != '\0'))
		goto out;
	*code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	*reason = p[3] ? p + 4 : p + 3;
	rc = 0;
out:
	return rc;
}

static enum check_status run_http(const struct check_spec *spec, int cancel_fd, char *out, size_t outlen)
{
	int64_t deadline = util_mono_ms() + spec->timeout_ms;
	struct check_http_url url;
	char why[PROTO_TEXT_MAX], hp[300], what[CHECK_TARGET_MAX + 16], eb[128];
	char req[CHECK_TARGET_MAX + 640], line[HTTP_STATUS_LINE_MAX + 1];
	enum check_status st = CHECK_CRITICAL;
	const char *reason;
	size_t reqlen, sent = 0, got = 0;
	enum io_res rc;
	int fd = -1, code, n;

	if (check_http_url_parse(spec->target, &url, why, sizeof(why))) {
		snprintf(out, outlen, "%s", why);
		goto out;
	}
	if (url.port != 80)
		fmt_hostport(hp, sizeof(hp), url.host, url.port);
	else if (strchr(url.host, ':'))
		snprintf(hp, sizeof(hp), "[%s]", url.host);
	else
		snprintf(hp, sizeof(hp), "%s", url.host);
	rc = tcp_connect(url.host, url.port, deadline, cancel_fd, &fd, why, sizeof(why));
	if (rc != IO_OK) {
		snprintf(what, sizeof(what), "connect to %s", hp);
		st = io_failure(rc, what, spec->timeout_ms, why, out, outlen);
		goto out;
	}
	snprintf(what, sizeof(what), "GET %s", spec->target);
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: vigil-agent/%s\r\n"
		     "Accept: */*\r\nConnection: close\r\n\r\n", url.path, hp, VIGIL_VERSION);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		snprintf(out, outlen, "%s: request too long", what);
		goto out_close;
	}
	reqlen = (size_t)n;
	while (sent < reqlen) {
		ssize_t w = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);

		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(out, outlen, "%s: %s", what, errstr(errno, eb, sizeof(eb)));
			goto out_close;
		}
		rc = wait_fd(fd, POLLOUT, deadline, cancel_fd);
		if (rc != IO_OK) {
			st = io_failure(rc, what, spec->timeout_ms, "poll failed", out, outlen);
			goto out_close;
		}
	}
	while (got < HTTP_STATUS_LINE_MAX && !memchr(line, '\n', got)) {
		ssize_t r = recv(fd, line + got, HTTP_STATUS_LINE_MAX - got, 0);

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(out, outlen, "%s: %s", what, errstr(errno, eb, sizeof(eb)));
			goto out_close;
		}
		rc = wait_fd(fd, POLLIN, deadline, cancel_fd);
		if (rc != IO_OK) {
			st = io_failure(rc, what, spec->timeout_ms, "poll failed", out, outlen);
			goto out_close;
		}
	}
	line[got] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (got == 0) {
		snprintf(out, outlen, "%s: connection closed without a response", what);
		goto out_close;
	}
	if (parse_status_line(line, &code, &reason)) {
		snprintf(out, outlen, "%s: not an HTTP response", what);
		goto out_close;
	}
	snprintf(out, outlen, "HTTP %d%s%s", code, *reason ? " " : "", reason);
	if (code >= 200 && code <= 299)
		st = CHECK_PASSING;
	else if (code == 429)
		st = CHECK_WARNING;
out_close:
	close(fd);
out:
	return st;
}

/* ---- exec --------------------------------------------------------------- */

static enum check_status run_exec(const struct check_spec *spec, int cancel_fd, char *out, size_t outlen)
{
	struct proc_spec ps = {
		.cmd = spec->target,
		.timeout_ms = spec->timeout_ms,
		.reap_group = true,             /* nothing a check starts outlives it */
		.cancel_fd = cancel_fd,
	};
	struct proc_result r;
	char buf[CHECK_EXEC_READ_MAX];

	proc_run(&ps, buf, sizeof(buf), &r);
	switch (r.end) {
	case PROC_TIMEOUT:
		snprintf(out, outlen, "timed out after %d ms", spec->timeout_ms);
		break;
	case PROC_CANCELLED:
		snprintf(out, outlen, "cancelled");
		break;
	case PROC_NOT_STARTED:
	case PROC_LOST:
		snprintf(out, outlen, "%s", r.err);
		break;
	case PROC_EXITED:
		check_output_sanitize(out, outlen, buf, r.got);
		if (!*out)
			snprintf(out, outlen, "exit status %d", r.code);
		return r.code == 0 ? CHECK_PASSING : r.code == 1 ? CHECK_WARNING : CHECK_CRITICAL;
	case PROC_SIGNALED:
		check_output_sanitize(out, outlen, buf, r.got);
		if (!*out)
			snprintf(out, outlen, "killed by signal %d", r.code);
		break;
	}
	return CHECK_CRITICAL;
}

enum check_status check_run(const struct check_spec *spec, int cancel_fd, char *out, size_t outlen)
{
	enum check_status st;

	out[0] = '\0';
	switch (spec->kind) {
	case CHK_EXEC:
		st = run_exec(spec, cancel_fd, out, outlen);
		break;
	case CHK_TCP:
		st = run_tcp(spec, cancel_fd, out, outlen);
		break;
	case CHK_HTTP:
		st = run_http(spec, cancel_fd, out, outlen);
		break;
	default:
		snprintf(out, outlen, "unknown check kind %d", (int)spec->kind);
		st = CHECK_CRITICAL;
		break;
	}
	return st;
}

/* ---- the runner --------------------------------------------------------- */

struct check_slot {
	struct checks *owner;
	struct check_spec spec;
	struct check_state st;         /* under owner->mu */
	pthread_t tid;
	bool started;
};

struct checks {
	pthread_mutex_t mu;
	pthread_cond_t cv;             /* CLOCK_MONOTONIC */
	bool stop;                     /* under mu */
	bool started;
	int cancel[2];                 /* a byte in [1] cancels every running check */
	int n;
	struct check_slot slot[];
};

static void ts_add_ms(struct timespec *ts, int ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *check_thread(void *arg)
{
	struct check_slot *s = arg;
	struct checks *c = s->owner;
	char out[PROTO_CHECK_OUTPUT_MAX + 1];

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct timespec next;
		enum check_status res;

		clock_gettime(CLOCK_MONOTONIC, &next);
		ts_add_ms(&next, s->spec.interval_ms);
		pthread_mutex_unlock(&c->mu);
		res = check_run(&s->spec, c->cancel[0], out, sizeof(out));
		pthread_mutex_lock(&c->mu);
		if (c->stop)
			break;
		check_state_apply(&s->st, &s->spec, res, out);
		while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &next) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct checks *checks_new(const struct check_spec *specs, int n)
{
	struct checks *c = NULL;
	pthread_condattr_t ca;
	char err[PROTO_TEXT_MAX];
	int i;

	if (n < 0 || n > PROTO_CHECKS_MAX || (n > 0 && !specs))
		goto out;
	for (i = 0; i < n; i++)
		if (check_spec_validate(&specs[i], err, sizeof(err)))
			goto out;
	c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->slot[0]));
	if (!c)
		goto out;
	c->n = n;
	for (i = 0; i < n; i++) {
		c->slot[i].owner = c;
		c->slot[i].spec = specs[i];
		check_state_init(&c->slot[i].st);
	}
	if (pipe2(c->cancel, O_CLOEXEC | O_NONBLOCK))
		goto out_free;
	if (pthread_condattr_init(&ca))
		goto out_pipe;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) || pthread_cond_init(&c->cv, &ca))
		goto out_attr;
	if (pthread_mutex_init(&c->mu, NULL))
		goto out_cond;
	pthread_condattr_destroy(&ca);
	goto out;
out_cond:
	pthread_cond_destroy(&c->cv);
out_attr:
	pthread_condattr_destroy(&ca);
out_pipe:
	close(c->cancel[0]);
	close(c->cancel[1]);
out_free:
	free(c);
	c = NULL;
out:
	return c;
}

int checks_start(struct checks *c)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int i, rc = 0;

	if (c->started) {
		rc = -EALREADY;
		goto out;
	}
	c->started = true;
	rc = -pthread_attr_init(&attr);
	if (rc)
		goto out;
	rc = -pthread_attr_setstacksize(&attr, CHECK_THREAD_STACK);
	if (rc)
		goto out_attr;
	/* The threads block every signal, so signals meant for the process
	 * land on the caller's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < c->n && !rc; i++) {
		rc = -pthread_create(&c->slot[i].tid, &attr, check_thread, &c->slot[i]);
		c->slot[i].started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out_attr:
	pthread_attr_destroy(&attr);
out:
	return rc;
}

int checks_snapshot(struct checks *c, struct proto_check *out, int max)
{
	int i, n;

	pthread_mutex_lock(&c->mu);
	n = c->n < max ? c->n : max;
	for (i = 0; i < n; i++) {
		const struct check_slot *s = &c->slot[i];

		util_strlcpy(out[i].name, s->spec.name, sizeof(out[i].name));
		out[i].status = s->st.status;
		util_strlcpy(out[i].output, s->st.ran ? s->st.output : "not run yet",
			     sizeof(out[i].output));
	}
	pthread_mutex_unlock(&c->mu);
	return n < 0 ? 0 : n;
}

void checks_free(struct checks *c)
{
	ssize_t w;
	int i;

	if (!c)
		goto out;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	w = write(c->cancel[1], "x", 1);
	(void)w;
	for (i = 0; i < c->n; i++)
		if (c->slot[i].started)
			pthread_join(c->slot[i].tid, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	close(c->cancel[0]);
	close(c->cancel[1]);
	free(c);
out:
	return;
}
