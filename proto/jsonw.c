/* jsonw — JSON text writer.  Commas are tracked with one flag: a value or a
 * key sets need_comma, opening a container clears it, closing sets it. */
#include "proto/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(struct jw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof *w);
	w->buf = buf;
	w->cap = cap;
	if (!buf || !cap)
		w->failed = true;
	else
		buf[0] = '\0';
}

void jw_init_dynamic(struct jw *w, size_t initial)
{
	memset(w, 0, sizeof *w);
	w->dynamic = true;
	w->cap = initial < 64 ? 64 : initial;
	w->buf = malloc(w->cap);
	if (!w->buf)
		w->failed = true;
	else
		w->buf[0] = '\0';
}

static bool reserve(struct jw *w, size_t n)
{
	size_t want;
	char *nb;

	if (w->failed)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	if (!w->dynamic) {
		w->failed = true;
		return false;
	}
	want = w->cap * 2;
	while (want < w->len + n + 1)
		want *= 2;
	nb = realloc(w->buf, want);
	if (!nb) {
		w->failed = true;
		return false;
	}
	w->buf = nb;
	w->cap = want;
	return true;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
	put(w, s, n);
}

static void sep(struct jw *w)
{
	if (w->need_comma)
		put(w, ",", 1);
}

void jw_obj_open(struct jw *w)  { sep(w); put(w, "{", 1); w->need_comma = false; }
void jw_obj_close(struct jw *w) { put(w, "}", 1); w->need_comma = true; }
void jw_arr_open(struct jw *w)  { sep(w); put(w, "[", 1); w->need_comma = false; }
void jw_arr_close(struct jw *w) { put(w, "]", 1); w->need_comma = true; }

static void raw_str(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	put(w, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6];
		size_t n = 0;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(w, run, (size_t)(s - run));
		esc[n++] = '\\';
		switch (c) {
		case '"': esc[n++] = '"'; break;
		case '\\': esc[n++] = '\\'; break;
		case '\n': esc[n++] = 'n'; break;
		case '\r': esc[n++] = 'r'; break;
		case '\t': esc[n++] = 't'; break;
		default:
			esc[n++] = 'u'; esc[n++] = '0'; esc[n++] = '0';
			esc[n++] = hex[c >> 4];
			put(w, esc, n);
			esc[0] = hex[c & 15];
			n = 1;
			break;
		}
		put(w, esc, n);
		run = s + 1;
	}
	put(w, run, (size_t)(s - run));
	put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
	sep(w);
	raw_str(w, key);
	put(w, ":", 1);
	w->need_comma = false;
}

void jw_str(struct jw *w, const char *s)
{
	sep(w);
	raw_str(w, s ? s : "");
	w->need_comma = true;
}

void jw_int(struct jw *w, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof b, "%lld", (long long)v);

	sep(w);
	put(w, b, (size_t)n);
	w->need_comma = true;
}

void jw_num(struct jw *w, double v)
{
	char b[40];
	int n;

	sep(w);
	if (!isfinite(v)) {
		put(w, "null", 4);
	} else {
		if (v == floor(v) && fabs(v) < 9007199254740992.0)
			n = snprintf(b, sizeof b, "%.0f", v);
		else
			n = snprintf(b, sizeof b, "%.10g", v);
		put(w, b, (size_t)n);
	}
	w->need_comma = true;
}

void jw_bool(struct jw *w, bool v)
{
	sep(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
	w->need_comma = true;
}

void jw_null(struct jw *w)
{
	sep(w);
	put(w, "null", 4);
	w->need_comma = true;
}

void jw_kstr(struct jw *w, const char *k, const char *s) { jw_key(w, k); jw_str(w, s); }
void jw_kint(struct jw *w, const char *k, int64_t v)     { jw_key(w, k); jw_int(w, v); }
void jw_knum(struct jw *w, const char *k, double v)      { jw_key(w, k); jw_num(w, v); }
void jw_kbool(struct jw *w, const char *k, bool v)       { jw_key(w, k); jw_bool(w, v); }

int jw_finish(struct jw *w)
{
	if (w->failed)
		return -1;
	return (int)w->len;
}
