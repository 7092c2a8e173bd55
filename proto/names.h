/* names — the charset rules for everything named from outside. */
#ifndef VIGIL_PROTO_NAMES_H
#define VIGIL_PROTO_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* [A-Za-z0-9._-]{1,max} */
bool name_is_valid(const char *s, size_t max);
/* Printable text: no control characters (bytes < 0x20 and 0x7f), valid
 * UTF-8, at most max bytes.  Empty is allowed. */
bool text_is_valid(const char *s, size_t max);
/* The same, but newlines and tabs are allowed (a program's output). */
bool lines_text_is_valid(const char *s, size_t max);

#endif
