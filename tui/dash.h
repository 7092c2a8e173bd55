/* dash — the live status screen (`vigil` with no command).  The one file
 * that calls initscr/endwin.  It subscribes to the collector (snapshot, then
 * deltas and events), keeps the last known state when the connection drops
 * (marked stale), and reconnects on its own. */
#ifndef VIGIL_TUI_DASH_H
#define VIGIL_TUI_DASH_H

#include <stdbool.h>

#include "proto/urls.h"

struct dash_config {
	struct ws_url url;
	const char *token;
	bool insecure;
	int frames;          /* > 0: render that many refreshes, then exit */
	int refresh_ms;      /* 250 */
};

/* Returns the exit status. */
int dash_run(const struct dash_config *cfg);

#endif
