/* table — column-aligned text tables, and the views of the model that
 * `vigil status`, `vigil nodes` and the status screen print.  Pure: they
 * write into a growing buffer (struct jw used as bytes). */
#ifndef VIGIL_TUI_TABLE_H
#define VIGIL_TUI_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/jsonw.h"
#include "tui/model.h"

#define TABLE_MAX_COLS 16
#define TABLE_CELL_MAX 96

struct table;

struct table *table_new(int ncols, const char *const *headers);
void table_free(struct table *t);             /* NULL is a no-op */
/* Cells are copied (and cut at TABLE_CELL_MAX-1 bytes).  0 or -1 (no memory). */
int table_add(struct table *t, const char *const *cells);
/* Header and rows, columns two spaces apart, no trailing blanks. */
void table_render(const struct table *t, struct jw *out);

/* One line: "5 nodes: 4 alive, 1 failed | collector c-... at 127.0.0.1:7070, recording". */
void render_summary(const struct model *m, struct jw *out);
void render_groups(const struct model *m, struct jw *out);
/* wide adds the metrics columns. */
void render_nodes(const struct model *m, int64_t now_ms, bool wide, struct jw *out);

#endif
