/* grid — a character grid that views render into: rows x cols cells, each a
 * code point and a style.  Pure: the terminal glue (dash.c) blits it to
 * ncurses, the unit tests read it back as lines. */
#ifndef VIGIL_TUI_GRID_H
#define VIGIL_TUI_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Styles say what a cell means; dash.c maps them to colours or, without
 * colour, to bold / reverse / dim, so nothing depends on colour alone. */
enum gstyle {
	GS_NORMAL = 0,
	GS_TITLE,      /* the title bar */
	GS_HEAD,       /* column headers, panel titles */
	GS_OK,         /* alive, quorum, passing */
	GS_WARN,       /* suspect, degraded, warning, paused */
	GS_BAD,        /* failed, no quorum, critical, refused */
	GS_DIM,        /* left, unknown, stale */
	GS_GREY,       /* a command not allowed (viewer) */
	GS_INFO,       /* maintenance, failover under way */
	GS_INPUT,      /* a prompt being typed */
	GS_NSTYLES
};
#define GS_REV 0x80    /* or-ed in: the selected row (reverse video) */

struct gcell {
	uint32_t ch;   /* a code point; ' ' when empty */
	uint8_t st;
};

struct grid {
	int rows, cols;
	struct gcell *c;
};

int grid_init(struct grid *g, int rows, int cols);   /* 0 or -1 */
void grid_done(struct grid *g);
void grid_clear(struct grid *g);
static inline struct gcell *grid_at(struct grid *g, int y, int x)
{
	return &g->c[(size_t)y * (size_t)g->cols + (size_t)x];
}

/* Write UTF-8 text at (y, x), at most maxw columns (< 0: to the edge),
 * one column per code point.  Returns the columns written. */
int grid_put(struct grid *g, int y, int x, int st, const char *utf8, int maxw);
int grid_printf(struct grid *g, int y, int x, int st, int maxw, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Fill w cells with ch. */
void grid_fill(struct grid *g, int y, int x, int w, int st, uint32_t ch);
/* Restyle w cells (text kept); or_rev: add GS_REV instead of replacing. */
void grid_style(struct grid *g, int y, int x, int w, int st);
void grid_or_style(struct grid *g, int y, int x, int w, int bits);

/* Row y as UTF-8 without trailing blanks.  Returns its length. */
size_t grid_line(const struct grid *g, int y, char *buf, size_t len);
/* Does row y contain text? */
bool grid_row_has(const struct grid *g, int y, const char *text);
/* The first row containing text, or -1. */
int grid_find(const struct grid *g, const char *text);

#endif
