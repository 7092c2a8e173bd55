/* dash_bench — how long the dashboard takes to fold a status and to render
 * a frame with many nodes.  No terminal: the same pure code the dashboard
 * runs (model_apply_obj, view_render into a 120x40 grid); the ncurses blit
 * only writes the cells that changed and is not measured here.
 *
 *   make BUILD=build BIN=bin build/dash_bench && build/dash_bench 1000 10000
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/util.h"
#include "tui/grid.h"
#include "tui/model.h"
#include "tui/ui.h"
#include "tui/view.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cJSON *status(int n, int round)
{
	static const char *const states[] = { "alive", "alive", "alive", "alive", "suspect", "failed",
					      "degraded", "alive" };
	cJSON *root = cJSON_CreateObject(), *nodes = cJSON_AddArrayToObject(root, "nodes");
	cJSON *groups = cJSON_AddArrayToObject(root, "groups");
	char name[32];

	for (int g = 0; g < 20; g++) {
		cJSON *o = cJSON_CreateObject();

		snprintf(name, sizeof name, "grp-%02d", g);
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddNumberToObject(o, "members", n / 20);
		cJSON_AddNumberToObject(o, "expected", n / 20);
		cJSON_AddNumberToObject(o, "alive", n / 20);
		cJSON_AddBoolToObject(o, "quorum", true);
		cJSON_AddItemToArray(groups, o);
	}
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject(), *mt;

		snprintf(name, sizeof name, "node-%05d", i);
		cJSON_AddStringToObject(o, "name", name);
		snprintf(name, sizeof name, "grp-%02d", i % 20);
		cJSON_AddStringToObject(o, "group", name);
		cJSON_AddStringToObject(o, "state", states[(i + round) % 8]);
		cJSON_AddStringToObject(o, "role", i < 20 ? "leader" : "follower");
		cJSON_AddNumberToObject(o, "last_heartbeat_ms_ago", (i * 7 + round) % 900);
		cJSON_AddNumberToObject(o, "phi", (double)((i + round) % 160) / 10.0);
		cJSON_AddNumberToObject(o, "interval_mean_ms", 500);
		cJSON_AddNumberToObject(o, "interval_sd_ms", 12);
		cJSON_AddNumberToObject(o, "rtt_ms", i % 9);
		mt = cJSON_AddObjectToObject(o, "metrics");
		cJSON_AddNumberToObject(mt, "cpu", i % 100);
		cJSON_AddNumberToObject(mt, "mem", (i * 3) % 100);
		cJSON_AddItemToArray(nodes, o);
	}
	return root;
}

static void run(int n)
{
	struct model m;
	struct ui u;
	struct grid g;
	cJSON *st = status(n, 0), *delta = status(n, 1);
	char err[256];
	double t0, t_apply, t_delta, t_render, t_sorted, t_filtered;
	int reps = n >= 10000 ? 20 : 100;
	int64_t now = 1000000, wall = 1700000000000LL;

	model_init(&m);
	ui_init(&u, "127.0.0.1", 7070);
	ui_set_conn(&u, UC_OPEN, 0, "");
	grid_init(&g, 40, 120);

	t0 = now_s();
	model_apply_obj(&m, st, true, now, err, sizeof err);
	t_apply = now_s() - t0;
	t0 = now_s();
	model_apply_obj(&m, delta, false, now + 250, err, sizeof err);   /* every node changed */
	t_delta = now_s() - t0;

	t0 = now_s();
	for (int i = 0; i < reps; i++)
		view_render(&g, &u, &m, now + i, wall + i);
	t_render = (now_s() - t0) / reps;

	u.sort = US_PHI;
	t0 = now_s();
	for (int i = 0; i < reps; i++)
		view_render(&g, &u, &m, now + i, wall + i);
	t_sorted = (now_s() - t0) / reps;

	u.sort = US_GROUP;
	util_strlcpy(u.filter, "node-0", sizeof u.filter);
	t0 = now_s();
	for (int i = 0; i < reps; i++)
		view_render(&g, &u, &m, now + i, wall + i);
	t_filtered = (now_s() - t0) / reps;

	printf("%6d nodes: snapshot apply %7.2f ms, full delta apply %7.2f ms, frame %6.2f ms "
	       "(sorted by phi %6.2f ms, filtered %6.2f ms)\n", n, t_apply * 1e3, t_delta * 1e3,
	       t_render * 1e3, t_sorted * 1e3, t_filtered * 1e3);
	cJSON_Delete(st);
	cJSON_Delete(delta);
	grid_done(&g);
	ui_done(&u);
	model_done(&m);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		run(1000);
		run(10000);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		run(atoi(argv[i]));
	return 0;
}
