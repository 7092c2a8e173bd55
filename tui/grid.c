/* grid — cells, UTF-8 in and out. */
#include "tui/grid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int grid_init(struct grid *g, int rows, int cols)
{
	g->rows = rows > 0 ? rows : 0;
	g->cols = cols > 0 ? cols : 0;
	g->c = calloc((size_t)g->rows * (size_t)g->cols + 1, sizeof *g->c);
	if (!g->c)
		return -1;
	grid_clear(g);
	return 0;
}

void grid_done(struct grid *g)
{
	free(g->c);
	g->c = NULL;
	g->rows = g->cols = 0;
}

void grid_clear(struct grid *g)
{
	size_t n = (size_t)g->rows * (size_t)g->cols;

	for (size_t i = 0; i < n; i++) {
		g->c[i].ch = ' ';
		g->c[i].st = GS_NORMAL;
	}
}

/* Decode one UTF-8 sequence; invalid bytes become '?'. */
static uint32_t utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	int n = 0;

	if (c < 0x80) {
		*p = s + 1;
		return c;
	}
	if ((c & 0xE0) == 0xC0) {
		c &= 0x1F;
		n = 1;
	} else if ((c & 0xF0) == 0xE0) {
		c &= 0x0F;
		n = 2;
	} else if ((c & 0xF8) == 0xF0) {
		c &= 0x07;
		n = 3;
	} else {
		*p = s + 1;
		return '?';
	}
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*p = s + i;
			return '?';
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	*p = s + n + 1;
	return c;
}

int grid_put(struct grid *g, int y, int x, int st, const char *utf8, int maxw)
{
	const unsigned char *p = (const unsigned char *)utf8;
	int w = 0;

	if (y < 0 || y >= g->rows || x < 0)
		return 0;
	if (maxw < 0 || x + maxw > g->cols)
		maxw = g->cols - x;
	while (*p && w < maxw) {
		uint32_t c = utf8_next(&p);
		struct gcell *cell = grid_at(g, y, x + w);

		cell->ch = c < 0x20 || c == 0x7F ? '?' : c;   /* no control characters on screen */
		cell->st = (uint8_t)st;
		w++;
	}
	return w;
}

int grid_printf(struct grid *g, int y, int x, int st, int maxw, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return grid_put(g, y, x, st, buf, maxw);
}

void grid_fill(struct grid *g, int y, int x, int w, int st, uint32_t ch)
{
	if (y < 0 || y >= g->rows)
		return;
	for (int i = x < 0 ? 0 : x; i < x + w && i < g->cols; i++) {
		grid_at(g, y, i)->ch = ch;
		grid_at(g, y, i)->st = (uint8_t)st;
	}
}

void grid_style(struct grid *g, int y, int x, int w, int st)
{
	if (y < 0 || y >= g->rows)
		return;
	for (int i = x < 0 ? 0 : x; i < x + w && i < g->cols; i++)
		grid_at(g, y, i)->st = (uint8_t)st;
}

void grid_or_style(struct grid *g, int y, int x, int w, int bits)
{
	if (y < 0 || y >= g->rows)
		return;
	for (int i = x < 0 ? 0 : x; i < x + w && i < g->cols; i++)
		grid_at(g, y, i)->st |= (uint8_t)bits;
}

static size_t utf8_put(char *buf, size_t pos, size_t len, uint32_t c)
{
	unsigned char tmp[4];
	size_t n;

	if (c < 0x80) {
		tmp[0] = (unsigned char)c;
		n = 1;
	} else if (c < 0x800) {
		tmp[0] = (unsigned char)(0xC0 | (c >> 6));
		tmp[1] = (unsigned char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		tmp[0] = (unsigned char)(0xE0 | (c >> 12));
		tmp[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
		tmp[2] = (unsigned char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		tmp[0] = (unsigned char)(0xF0 | (c >> 18));
		tmp[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
		tmp[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
		tmp[3] = (unsigned char)(0x80 | (c & 0x3F));
		n = 4;
	}
	if (pos + n >= len)
		return pos;
	memcpy(buf + pos, tmp, n);
	return pos + n;
}

size_t grid_line(const struct grid *g, int y, char *buf, size_t len)
{
	size_t pos = 0, keep = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	if (y < 0 || y >= g->rows)
		return 0;
	for (int x = 0; x < g->cols; x++) {
		uint32_t c = g->c[(size_t)y * (size_t)g->cols + (size_t)x].ch;

		pos = utf8_put(buf, pos, len, c);
		if (c != ' ')
			keep = pos;
	}
	buf[keep] = '\0';
	return keep;
}

bool grid_row_has(const struct grid *g, int y, const char *text)
{
	char line[4096];

	grid_line(g, y, line, sizeof line);
	return strstr(line, text) != NULL;
}

int grid_find(const struct grid *g, const char *text)
{
	for (int y = 0; y < g->rows; y++)
		if (grid_row_has(g, y, text))
			return y;
	return -1;
}
