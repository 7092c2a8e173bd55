/* statsd.c — the StatsD line parser, the aggregator and the UDP listener.
 *
 * The parser and the aggregator are pure: no clock, no I/O; the interval is
 * the caller's parameter.  struct statsd_agg is a plain value with a fixed
 * table of STATSD_METRICS_MAX metrics (names copied in), so the agent's
 * memory stays bounded whatever applications send.
 *
 * The listener owns its socket, a wake-up pipe and an aggregator; the reader
 * thread parses each datagram and feeds the aggregator under the mutex, and
 * statsd_flush()/statsd_stats() take the same mutex.  statsd_stop() writes to
 * the pipe, joins the thread and frees everything.  Every fd is close-on-exec.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE    /* pipe2, strerror_r */
#endif

#include "agent/statsd.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/names.h"
#include "proto/util.h"

#define NUM_TEXT_MAX 63        /* bytes of a value or a sample rate */
#define ERR_LINE_SHOWN 80      /* bytes of a bad line quoted in its reason */
#define READER_STACK (128 * 1024)

/* ---- parser ------------------------------------------------------------- */

/* A finite decimal number, the whole of s[0..len): digits, '.', an exponent
 * and a sign; no hex, inf or nan.  0 or -1. */
static int parse_number(const char *s, size_t len, double *out)
{
	char buf[NUM_TEXT_MAX + 1], *end;
	bool digit = false;
	size_t i;
	int rc = -1;

	if (len == 0 || len > NUM_TEXT_MAX)
		goto out;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			digit = true;
		else if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-')
			goto out;
	}
	if (!digit)
		goto out;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (*end || errno == ERANGE || !isfinite(*out))
		goto out;
	rc = 0;
out:
	return rc;
}

int statsd_parse_line(const char *line, size_t len, struct statsd_sample *out,
		      char *err, size_t errlen)
{
	const char *end = line + len, *colon, *val, *bar, *type, *field;
	int shown = len > ERR_LINE_SHOWN ? ERR_LINE_SHOWN : (int)len;
	struct statsd_sample s;
	size_t nl, vl, tl;
	double rate = 1.0;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	colon = memchr(line, ':', len);
	if (!colon) {
		snprintf(err, errlen, "'%.*s': expected NAME:VALUE|TYPE", shown, line);
		goto out;
	}
	nl = (size_t)(colon - line);
	if (nl == 0 || nl > STATSD_NAME_MAX) {
		snprintf(err, errlen, "'%.*s': the name must be 1..%d characters", shown, line,
			 STATSD_NAME_MAX);
		goto out;
	}
	memcpy(s.name, line, nl);
	s.name[nl] = '\0';
	if (!name_is_valid(s.name, STATSD_NAME_MAX)) {
		snprintf(err, errlen, "'%.*s': the name may only use A-Z a-z 0-9 . _ -", shown, line);
		goto out;
	}
	val = colon + 1;
	bar = memchr(val, '|', (size_t)(end - val));
	if (!bar) {
		snprintf(err, errlen, "'%.*s': no type (expected NAME:VALUE|c, |ms or |g)", shown, line);
		goto out;
	}
	vl = (size_t)(bar - val);
	if (memchr(val, ':', vl) || memchr(bar, ':', (size_t)(end - bar))) {
		snprintf(err, errlen, "'%.*s': one value per line", shown, line);
		goto out;
	}
	if (parse_number(val, vl, &s.value)) {
		snprintf(err, errlen, "'%.*s': the value must be a finite decimal number", shown, line);
		goto out;
	}
	type = bar + 1;
	field = memchr(type, '|', (size_t)(end - type));
	tl = (size_t)((field ? field : end) - type);
	if (tl == 1 && type[0] == 'c') {
		s.type = STATSD_COUNTER;
	} else if (tl == 2 && type[0] == 'm' && type[1] == 's') {
		s.type = STATSD_TIMER;
	} else if (tl == 1 && type[0] == 'g') {
		s.type = STATSD_GAUGE;
	} else {
		snprintf(err, errlen, "'%.*s': type '%.*s' not supported (use c, ms or g)", shown, line,
			 (int)(tl > 8 ? 8 : tl), type);
		goto out;
	}
	if (field) {
		const char *f = field + 1;
		size_t fl = (size_t)(end - f);

		if (fl == 0 || f[0] != '@') {
			snprintf(err, errlen, "'%.*s': only a sample rate |@RATE may follow the type (no tags)",
				 shown, line);
			goto out;
		}
		if (memchr(f, '|', fl)) {
			snprintf(err, errlen, "'%.*s': nothing may follow the sample rate", shown, line);
			goto out;
		}
		if (s.type == STATSD_GAUGE) {
			snprintf(err, errlen, "'%.*s': a sample rate makes no sense for a gauge", shown, line);
			goto out;
		}
		if (parse_number(f + 1, fl - 1, &rate) || !(rate > 0.0 && rate <= 1.0)) {
			snprintf(err, errlen, "'%.*s': the sample rate must be a number in (0, 1]", shown, line);
			goto out;
		}
	}
	switch (s.type) {
	case STATSD_COUNTER:
		s.value /= rate;
		if (!isfinite(s.value)) {
			snprintf(err, errlen, "'%.*s': value / rate overflows", shown, line);
			goto out;
		}
		break;
	case STATSD_TIMER:
		if (s.value < 0) {
			snprintf(err, errlen, "'%.*s': a timing cannot be negative", shown, line);
			goto out;
		}
		break;
	case STATSD_GAUGE:
		s.delta = val[0] == '+' || val[0] == '-';
		break;
	}
	*out = s;
	rc = 0;
out:
	return rc;
}

/* ---- aggregator ----------------------------------------------------------- */

void statsd_agg_init(struct statsd_agg *a)
{
	memset(a, 0, sizeof(*a));
}

void statsd_agg_add(struct statsd_agg *a, const struct statsd_sample *s)
{
	struct statsd_metric *m = NULL;
	int i;

	for (i = 0; i < a->n; i++) {
		if (strcmp(a->m[i].name, s->name) == 0) {
			m = &a->m[i];
			break;
		}
	}
	if (!m) {
		if (a->n >= STATSD_METRICS_MAX) {
			a->dropped++;
			goto out;
		}
		m = &a->m[a->n++];
		memset(m, 0, sizeof(*m));
		util_strlcpy(m->name, s->name, sizeof(m->name));
		m->type = s->type;
	}
	if (m->type != s->type) {
		a->conflicts++;
		goto out;
	}
	switch (s->type) {
	case STATSD_COUNTER:
		m->sum += s->value;
		m->count++;
		break;
	case STATSD_TIMER:
		if (m->count == 0 || s->value > m->max)
			m->max = s->value;
		m->sum += s->value;
		m->count++;
		break;
	case STATSD_GAUGE:
		m->gauge = s->delta ? m->gauge + s->value : s->value;
		if (!isfinite(m->gauge))
			m->gauge = s->value;
		m->count++;
		break;
	}
out:
	return;
}

static void app_push(struct statsd_agg *a, struct proto_metrics *pm, const char *name,
		     const char *suffix, double value)
{
	struct proto_app_counter *c;

	if (pm->napp < 0)
		pm->napp = 0;
	if (pm->napp >= PROTO_APP_MAX) {
		a->overflow++;
		goto out;
	}
	c = &pm->app[pm->napp++];
	snprintf(c->name, sizeof(c->name), "%s%s", name, suffix);
	c->value = isfinite(value) ? value : 0.0;
out:
	return;
}

void statsd_agg_flush(struct statsd_agg *a, int64_t interval_ms, struct proto_metrics *pm)
{
	double secs = (double)(interval_ms < 1 ? 1 : interval_ms) / 1000.0;
	int i;

	for (i = 0; i < a->n; i++) {
		struct statsd_metric *m = &a->m[i];

		switch (m->type) {
		case STATSD_COUNTER:
			app_push(a, pm, m->name, "", m->sum / secs);
			break;
		case STATSD_TIMER:
			if (m->count) {
				app_push(a, pm, m->name, "", m->sum / (double)m->count);
				app_push(a, pm, m->name, ".max", m->max);
			}
			break;
		case STATSD_GAUGE:
			app_push(a, pm, m->name, "", m->gauge);
			break;
		}
		m->sum = 0;
		m->max = 0;
		m->count = 0;
	}
}

/* ---- listener ------------------------------------------------------------- */

struct statsd {
	int fd;
	int wake[2];                  /* a byte in [1] stops the reader */
	int port;
	pthread_t tid;
	pthread_mutex_t mu;
	struct statsd_agg agg;        /* under mu */
	uint64_t lines, bad;          /* under mu */
	char last_err[PROTO_TEXT_MAX];/* under mu */
	char buf[STATSD_DGRAM_MAX + 1]; /* the reader's */
};

static void handle_datagram(struct statsd *sd, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	struct statsd_sample s;
	char err[PROTO_TEXT_MAX];

	pthread_mutex_lock(&sd->mu);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - p);

		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll > 0) {
			sd->lines++;
			if (statsd_parse_line(p, ll, &s, err, sizeof(err)) == 0) {
				statsd_agg_add(&sd->agg, &s);
			} else {
				sd->bad++;
				util_strlcpy(sd->last_err, err, sizeof(sd->last_err));
			}
		}
		p = le + 1;
	}
	pthread_mutex_unlock(&sd->mu);
}

static void *reader_thread(void *arg)
{
	struct statsd *sd = arg;
	bool stop = false;

	while (!stop) {
		struct pollfd p[2] = {
			{ .fd = sd->fd, .events = POLLIN },
			{ .fd = sd->wake[0], .events = POLLIN },
		};
		int n = poll(p, 2, -1);

		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (p[1].revents) {
			stop = true;
			continue;
		}
		for (;;) {
			ssize_t r = recv(sd->fd, sd->buf, STATSD_DGRAM_MAX, MSG_DONTWAIT);

			if (r < 0)
				break;          /* EAGAIN: drained; errors: poll again */
			handle_datagram(sd, sd->buf, (size_t)r);
		}
	}
	return NULL;
}

static int bind_udp(const char *host, int port, int *fdp, int *bound, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portbuf[8], eb[128];
	int fd = -1, e, last = 0, rc = -1;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	e = getaddrinfo(host, portbuf, &hints, &res);
	if (e) {
		snprintf(err, errlen, "statsd: cannot resolve '%s': %s", host, gai_strerror(e));
		goto out;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "statsd: bind %s port %d/udp: %s", host, port,
			 strerror_r(last ? last : EADDRNOTAVAIL, eb, sizeof(eb)));
		goto out_free;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		snprintf(err, errlen, "statsd: getsockname: %s", strerror_r(errno, eb, sizeof(eb)));
		goto out_close;
	}
	if (ss.ss_family == AF_INET6)
		*bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*fdp = fd;
	fd = -1;
	rc = 0;
out_close:
	if (fd >= 0)
		close(fd);
out_free:
	freeaddrinfo(res);
out:
	return rc;
}

struct statsd *statsd_start(const char *host, int port, char *err, size_t errlen)
{
	struct statsd *sd = NULL;
	pthread_attr_t attr;
	sigset_t all, old;
	char eb[128];
	int e;

	if (!host || !*host)
		host = STATSD_DEFAULT_HOST;
	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "statsd: port %d out of range 0..65535", port);
		goto out;
	}
	sd = calloc(1, sizeof(*sd));
	if (!sd) {
		snprintf(err, errlen, "statsd: out of memory");
		goto out;
	}
	sd->wake[0] = sd->wake[1] = -1;
	statsd_agg_init(&sd->agg);
	if (bind_udp(host, port, &sd->fd, &sd->port, err, errlen))
		goto out_free;
	if (pipe2(sd->wake, O_CLOEXEC | O_NONBLOCK)) {
		snprintf(err, errlen, "statsd: pipe: %s", strerror_r(errno, eb, sizeof(eb)));
		goto out_sock;
	}
	e = pthread_mutex_init(&sd->mu, NULL);
	if (e) {
		snprintf(err, errlen, "statsd: mutex: %s", strerror_r(e, eb, sizeof(eb)));
		goto out_pipe;
	}
	e = pthread_attr_init(&attr);
	if (e) {
		snprintf(err, errlen, "statsd: thread: %s", strerror_r(e, eb, sizeof(eb)));
		goto out_mutex;
	}
	pthread_attr_setstacksize(&attr, READER_STACK);
	/* The reader blocks every signal, so they land on the caller's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&sd->tid, &attr, reader_thread, sd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (e) {
		snprintf(err, errlen, "statsd: thread: %s", strerror_r(e, eb, sizeof(eb)));
		goto out_mutex;
	}
	goto out;
out_mutex:
	pthread_mutex_destroy(&sd->mu);
out_pipe:
	close(sd->wake[0]);
	close(sd->wake[1]);
out_sock:
	close(sd->fd);
out_free:
	free(sd);
	sd = NULL;
out:
	return sd;
}

int statsd_port(struct statsd *sd)
{
	return sd->port;
}

void statsd_flush(struct statsd *sd, int64_t interval_ms, struct proto_metrics *m)
{
	pthread_mutex_lock(&sd->mu);
	statsd_agg_flush(&sd->agg, interval_ms, m);
	pthread_mutex_unlock(&sd->mu);
}

void statsd_stats(struct statsd *sd, uint64_t *lines, uint64_t *bad, char *last_err, size_t errlen)
{
	pthread_mutex_lock(&sd->mu);
	if (lines)
		*lines = sd->lines;
	if (bad)
		*bad = sd->bad;
	if (last_err && errlen)
		util_strlcpy(last_err, sd->last_err, errlen);
	pthread_mutex_unlock(&sd->mu);
}

void statsd_stop(struct statsd *sd)
{
	ssize_t w;

	if (!sd)
		goto out;
	w = write(sd->wake[1], "x", 1);
	(void)w;
	pthread_join(sd->tid, NULL);
	pthread_mutex_destroy(&sd->mu);
	close(sd->wake[0]);
	close(sd->wake[1]);
	close(sd->fd);
	free(sd);
out:
	return;
}
