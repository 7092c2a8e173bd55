/* names — charset checks shared by the protocol, the options parsers and the
 * store.  Names end up in file names, Prometheus labels, SQL rows and on the
 * operator's screen, so they are kept to a small safe alphabet. */
#include "proto/names.h"

#include <string.h>

bool name_is_valid(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= max)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Length of the UTF-8 sequence starting at p, or 0 if it is not valid
 * (overlong forms, surrogates and code points above U+10FFFF refused). */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (p[0] == 0xe0 && p[1] < 0xa0)
			return 0;           /* overlong */
		if (p[0] == 0xed && p[1] >= 0xa0)
			return 0;           /* surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if (p[0] == 0xf0 && p[1] < 0x90)
			return 0;           /* overlong */
		if (p[0] == 0xf4 && p[1] >= 0x90)
			return 0;           /* above U+10FFFF */
		return 4;
	}
	return 0;
}

static bool text_check(const char *s, size_t max, bool lines);

bool text_is_valid(const char *s, size_t max)
{
	return text_check(s, max, false);
}

bool lines_text_is_valid(const char *s, size_t max)
{
	return text_check(s, max, true);
}

static bool text_check(const char *s, size_t max, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	if (!s)
		return false;
	len = strlen(s);
	if (len > max)
		return false;
	while (*p) {
		size_t n;

		if ((*p < 0x20 && !(lines && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
			return false;
		n = utf8_len(p);
		if (!n)
			return false;
		p += n;
	}
	return true;
}
