/* util — clocks, strings and option parsers for the I/O edge. */
#include "proto/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

void *util_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : first;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return NULL;
	nv = realloc(v, ncap * elem);
	if (nv)
		*cap = ncap;
	return nv;
}

int util_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int util_parse_duration_ms(const char *s, int64_t *out)
{
	static const struct { const char *suffix; int64_t mult; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
		{ "", 1 },
	};
	char *end;
	double v;

	const char *p;
	int dots = 0;

	if (!s || !*s)
		return -1;
	/* digits with at most one '.', then a unit: no signs, exponents or hex */
	for (p = s; isdigit((unsigned char)*p) || *p == '.'; p++)
		dots += *p == '.';
	if (p == s || dots > 1 || (p == s + 1 && *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end != p || v < 0)      /* strtod would read on: "1e3", "0x10" */
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			double ms = v * (double)units[i].mult;

			if (ms > 9.0e15)
				return -1;
			*out = (int64_t)(ms + 0.5);
			return 0;
		}
	}
	return -1;
}

int util_parse_hostport(const char *s, char *host, size_t hostlen, int *port,
			char *err, size_t errlen)
{
	const char *colon, *h = s;
	size_t hl;
	long long p;

	if (!s || !*s) {
		snprintf(err, errlen, "empty address (expected HOST:PORT)");
		return -1;
	}
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPV6]:PORT", s);
			return -1;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "'%s': expected HOST:PORT", s);
			return -1;
		}
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen) {
		snprintf(err, errlen, "'%s': host is empty or too long", s);
		return -1;
	}
	for (size_t i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_')) {
			snprintf(err, errlen, "'%s': character '%c' not allowed in a host", s, c);
			return -1;
		}
	}
	if (util_parse_int(colon + 1, 1, 65535, &p)) {
		snprintf(err, errlen, "'%s': port must be a number 1..65535", s);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

int util_read_token_file(const char *path, char *tok, size_t toklen, bool *loose,
			 char *err, size_t errlen)
{
	char buf[1024];
	struct stat st;
	ssize_t n;
	size_t len;
	char *p, *e;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "token file %s: not a regular file", path);
		goto out_close;
	}
	*loose = (st.st_mode & 077) != 0;
	n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		goto out_close;
	}
	buf[n] = '\0';
	p = buf;
	while (*p && isspace((unsigned char)*p))
		p++;
	e = p;
	while (*e && *e != '\n' && *e != '\r')
		e++;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	len = (size_t)(e - p);
	if (len < 16 || len > 256 || len >= toklen) {
		snprintf(err, errlen, "token file %s: the token must be 16 to 256 characters (found %zu)",
			 path, len);
		goto out_close;
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] <= ' ' || p[i] > '~') {
			snprintf(err, errlen, "token file %s: the token must be printable ASCII without spaces",
				 path);
			goto out_close;
		}
	}
	memcpy(tok, p, len);
	tok[len] = '\0';
	rc = 0;
out_close:
	close(fd);
	return rc;
}

bool util_secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = (unsigned char)(la != lb);

	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return d == 0;
}

void util_fmt_age(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (ms < 60000)   /* cut, not rounded, like the units below: never "60.0s" */
		snprintf(buf, len, "%lld.%llds", (long long)(ms / 1000), (long long)(ms / 100 % 10));
	else if (ms < 3600000)
		snprintf(buf, len, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else if (ms < 86400000)
		snprintf(buf, len, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)(ms / 86400000), (long long)(ms / 3600000 % 24));
}

static const char *log_prog = "vigil";

void util_log_init(const char *prog)
{
	log_prog = prog;
}

void util_log(const char *level, const char *fmt, ...)
{
	char line[2048], ts[32];
	int64_t now = util_wall_ms();
	time_t secs = (time_t)(now / 1000);
	struct tm tm;
	va_list ap;
	int n;

	gmtime_r(&secs, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03dZ %s %s: ", ts, (int)(now % 1000), log_prog, level);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

/* Read exactly n digits at *p; -1 if they are not there. */
static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static int iso_time(const char *s, int64_t *out)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off_min = 0;
	time_t t;

	if ((y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 ||
	    *p++ != '-' || (d = digits(&p, 2)) < 1 || d > 31)
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' || (mi = digits(&p, 2)) < 0 || mi > 59)
			return -1;
		if (*p == ':') {
			p++;
			if ((sec = digits(&p, 2)) < 0 || sec > 60)
				return -1;
			if (*p == '.') {
				int scale = 100;

				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (; isdigit((unsigned char)*p); p++, scale /= 10)
					ms += (*p - '0') * scale;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;

		if ((oh = digits(&p, 2)) < 0 || oh > 14)
			return -1;
		if (*p == ':')
			p++;
		if ((om = digits(&p, 2)) < 0 || om > 59)
			return -1;
		off_min = sign * (oh * 60 + om);
	}
	if (*p)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != d)   /* 2026-02-31 normalises: refuse it */
		return -1;
	*out = ((int64_t)t - (int64_t)off_min * 60) * 1000 + ms;
	return 0;
}

int util_parse_time(const char *s, int64_t now_ms, int64_t *out, char *err, size_t errlen)
{
	long long v;
	int64_t d;

	if (!s || !*s) {
		snprintf(err, errlen, "empty time");
		return -1;
	}
	if (strcmp(s, "now") == 0) {
		*out = now_ms;
		return 0;
	}
	if (*s == '@') {
		if (util_parse_int(s + 1, 0, 9007199254740992LL, &v)) {
			snprintf(err, errlen, "'%s': @ must be followed by milliseconds since 1970", s);
			return -1;
		}
		*out = v;
		return 0;
	}
	if (strlen(s) >= 10 && s[4] == '-' && iso_time(s, out) == 0)
		return 0;
	if (strlen(s) < 10 && util_parse_duration_ms(s, &d) == 0 && d <= now_ms) {
		*out = now_ms - d;
		return 0;
	}
	snprintf(err, errlen, "'%s' is not a time: use a duration back from now (90s, 1h, 7d), "
		 "an ISO time (2026-11-20T10:00Z), 'now' or @MS", s);
	return -1;
}

void util_fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}
