/* view — renders the dashboard into a grid.  Pure: the model, the UI state
 * and the clocks in, cells out.  It also tells the UI state how many node
 * rows fit (u->page) and rebuilds the shown node order (u->vis). */
#ifndef VIGIL_TUI_VIEW_H
#define VIGIL_TUI_VIEW_H

#include <stdint.h>

#include "tui/grid.h"
#include "tui/model.h"
#include "tui/ui.h"

/* now_ms: the caller's monotonic clock (ages); wall_ms: ms since 1970
 * (event times, pauses, time travel). */
void view_render(struct grid *g, struct ui *u, const struct model *live, int64_t now_ms,
		 int64_t wall_ms);

/* Pieces, for the unit tests. */
void view_phi_bar(double phi, int width, bool unicode, uint32_t *out);
void view_sparkline(const float *v, int n, bool unicode, uint32_t *out);

#endif
