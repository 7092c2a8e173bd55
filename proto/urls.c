/* urls.c — parse and format collector addresses:
 *
 *	ws://HOST[:PORT][/PATH]      PORT defaults to 7070
 *	wss://HOST[:PORT][/PATH]     PORT defaults to 7443
 *
 * HOST is a name or IPv4 address ([A-Za-z0-9.-]) or an IPv6 address in
 * brackets (hex digits and ':'); it is stored without the brackets.  PATH
 * defaults to "/" and may not hold spaces or control characters.  On error
 * the caller's err buffer gets a sentence naming the problem and the
 * offending text; *out is only written on success.  Pure: no I/O. */
#include "proto/urls.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define WS_PORT_DEFAULT  7070
#define WSS_PORT_DEFAULT 7443
#define URL_FIELD_MAX    255   /* host and path, without the NUL */

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static bool is_ipv6_char(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       (c >= '0' && c <= '9') || c == ':';
}

static bool is_scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

static bool scheme_is(const char *s, size_t n, const char *want)
{
	size_t i;

	if (strlen(want) != n)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return false;
	}
	return true;
}

/* Scheme up to "://"; sets *tls and returns the rest, or NULL with err. */
static const char *parse_scheme(const char *text, bool *tls, char *err, size_t errlen)
{
	const char *sep = strstr(text, "://");
	size_t n = 0, i;

	if (sep) {
		n = (size_t)(sep - text);
		for (i = 0; i < n; i++)
			if (!is_scheme_char(text[i]))
				sep = NULL;     /* "://" belongs to something later */
	}
	if (!sep || n == 0) {
		fail(err, errlen, "missing scheme in '%.64s' (use ws:// or wss://)", text);
		return NULL;
	}
	if (scheme_is(text, n, "ws")) {
		*tls = false;
	} else if (scheme_is(text, n, "wss")) {
		*tls = true;
	} else {
		fail(err, errlen, "unknown scheme '%.*s' (use ws:// or wss://)",
		     (int)(n > 32 ? 32 : n), text);
		return NULL;
	}
	return sep + 3;
}

/* Host from the authority [p, end); returns where the host ends (':' for a
 * port, or end), or NULL with err. */
static const char *parse_host(const char *p, const char *end, char *host,
			      char *err, size_t errlen)
{
	const char *h = p, *hend;
	size_t n, i;
	bool v6 = false;

	if (*p == '[') {
		h = p + 1;
		hend = memchr(h, ']', (size_t)(end - h));
		if (!hend) {
			fail(err, errlen, "missing ']' after IPv6 address '%.*s'",
			     (int)(end - p > 64 ? 64 : end - p), p);
			return NULL;
		}
		v6 = true;
	} else {
		hend = memchr(h, ':', (size_t)(end - h));
		if (!hend)
			hend = end;
		else if (memchr(hend + 1, ':', (size_t)(end - hend - 1))) {
			fail(err, errlen, "IPv6 address '%.*s' must be in brackets, "
			     "e.g. [::1]:7070", (int)(end - p > 64 ? 64 : end - p), p);
			return NULL;
		}
	}

	n = (size_t)(hend - h);
	if (n == 0) {
		fail(err, errlen, "missing host in '%.*s'", (int)(end - p > 64 ? 64 : end - p), p);
		return NULL;
	}
	if (n > URL_FIELD_MAX) {
		fail(err, errlen, "host too long (%zu characters, at most %d): '%.32s...'",
		     n, URL_FIELD_MAX, h);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (v6 ? is_ipv6_char(h[i]) : is_name_char(h[i]))
			continue;
		if (c < 0x20 || c >= 0x7f)
			fail(err, errlen, "invalid character 0x%02x in host '%.*s'",
			     c, (int)(n > 64 ? 64 : n), h);
		else
			fail(err, errlen, "invalid character '%c' in %s '%.*s'",
			     c, v6 ? "IPv6 address" : "host", (int)(n > 64 ? 64 : n), h);
		return NULL;
	}
	if (v6 && !memchr(h, ':', n)) {
		fail(err, errlen, "'[%.*s]' is not an IPv6 address", (int)(n > 64 ? 64 : n), h);
		return NULL;
	}
	memcpy(host, h, n);
	host[n] = '\0';

	if (v6) {
		hend++;                 /* past ']' */
		if (hend != end && *hend != ':') {
			fail(err, errlen, "unexpected '%c' after IPv6 address '[%.*s]'",
			     *hend, (int)(n > 64 ? 64 : n), h);
			return NULL;
		}
	}
	return hend;
}

/* Port text [p, end), not empty: 1..65535. */
static int parse_port(const char *p, const char *end, int *port, char *err, size_t errlen)
{
	size_t n = (size_t)(end - p), i;
	long v = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fail(err, errlen, "port '%.*s' is not a number",
				    (int)(n > 32 ? 32 : n), p);
		if (v <= 65535)
			v = v * 10 + (p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return fail(err, errlen, "port '%.*s' out of range (1-65535)",
			    (int)(n > 32 ? 32 : n), p);
	*port = (int)v;
	return 0;
}

static int parse_path(const char *p, char *path, char *err, size_t errlen)
{
	size_t n = strlen(p), i;

	if (n == 0) {
		strcpy(path, "/");
		return 0;
	}
	if (n > URL_FIELD_MAX)
		return fail(err, errlen, "path too long (%zu characters, at most %d): '%.32s...'",
			    n, URL_FIELD_MAX, p);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ' ')
			return fail(err, errlen, "space in path '%.64s'", p);
		if (c < 0x20 || c == 0x7f)
			return fail(err, errlen, "control character 0x%02x in path at offset %zu",
				    c, i);
	}
	memcpy(path, p, n + 1);
	return 0;
}

int ws_url_parse(const char *text, struct ws_url *out, char *err, size_t errlen)
{
	struct ws_url u;
	const char *p, *end, *hend;

	if (!text || !*text)
		return fail(err, errlen, "empty URL (expected ws://HOST:PORT/PATH)");
	memset(&u, 0, sizeof(u));

	p = parse_scheme(text, &u.tls, err, errlen);
	if (!p)
		return -1;
	end = p + strcspn(p, "/");     /* authority is [p, end) */
	if (end == p)
		return fail(err, errlen, "missing host in '%.64s'", text);

	hend = parse_host(p, end, u.host, err, errlen);
	if (!hend)
		return -1;
	if (hend == end)
		u.port = u.tls ? WSS_PORT_DEFAULT : WS_PORT_DEFAULT;
	else if (hend + 1 == end)
		return fail(err, errlen, "missing port number after ':' in '%.*s'",
			    (int)(end - p > 64 ? 64 : end - p), p);
	else if (parse_port(hend + 1, end, &u.port, err, errlen) < 0)
		return -1;

	if (parse_path(end, u.path, err, errlen) < 0)
		return -1;
	*out = u;
	return 0;
}

void ws_url_format(const struct ws_url *u, char *buf, size_t len)
{
	bool v6 = strchr(u->host, ':') != NULL;

	if (!buf || len == 0)
		return;
	snprintf(buf, len, "%s://%s%s%s:%d%s", u->tls ? "wss" : "ws",
		 v6 ? "[" : "", u->host, v6 ? "]" : "", u->port,
		 u->path[0] ? u->path : "/");
}
