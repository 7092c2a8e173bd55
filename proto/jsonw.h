/* jsonw — a small JSON text writer with correct string escaping.
 * Fixed mode writes into the caller's buffer and flags overflow; growing mode
 * (jw_init_dynamic) reallocates and the caller frees jw.buf. */
#ifndef VIGIL_PROTO_JSONW_H
#define VIGIL_PROTO_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw {
	char *buf;
	size_t cap, len;
	bool dynamic;
	bool failed;       /* overflowed (fixed) or out of memory (dynamic) */
	bool need_comma;   /* a value was written at this nesting level */
};

void jw_init(struct jw *w, char *buf, size_t cap);
void jw_init_dynamic(struct jw *w, size_t initial);

void jw_obj_open(struct jw *w);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w);
void jw_arr_close(struct jw *w);
void jw_key(struct jw *w, const char *key);      /* then exactly one value */

void jw_str(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_num(struct jw *w, double v);             /* NAN/inf -> null */
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);

/* key + value in one call */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_knum(struct jw *w, const char *k, double v);
void jw_kbool(struct jw *w, const char *k, bool v);

/* Append bytes as they are (for non-JSON text built in the same buffer). */
void jw_raw(struct jw *w, const char *s, size_t n);

/* NUL-terminated length, or -1 if it failed. */
int jw_finish(struct jw *w);

#endif
