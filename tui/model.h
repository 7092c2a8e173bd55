/* model — the operator client's picture of the cluster, built from the
 * collector's status snapshot and merged deltas.  Pure: JSON text in,
 * structs out; times are the caller's monotonic now_ms. */
#ifndef VIGIL_TUI_MODEL_H
#define VIGIL_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct mnode {
	char name[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	char state[16];
	char rule[64];
	char role[16];
	int priority;
	bool connected;
	int64_t hb_age_ms;        /* at rx_ms; -1 never */
	int64_t rx_ms;            /* caller's clock when this entry arrived */
	int64_t state_since_ms;   /* collector wall clock */
	int interval_ms;
	double phi, mean_ms, sd_ms;
	double cpu, mem, load1, disk;
	char version[PROTO_VERSION_MAX + 1];
	int64_t rtt_ms;           /* -1 unknown */
	bool flapping;
	int nchecks, checks_critical;
	char health[256];         /* why degraded, or "" */
};

struct mgroup {
	char name[PROTO_NAME_MAX + 1];
	int members, alive;
};

struct model {
	struct mnode *nodes;      /* sorted by group, then name */
	size_t n, cap;
	struct mgroup *groups;
	size_t ng, gcap;
	/* the collector */
	char instance[64], version[32], listen[300], auth[32], store_error[256];
	bool serving, recording, tilt;
	int agents_connected, operators_connected;
	int64_t collector_now_ms, uptime_ms;
	bool have_data;
};

void model_init(struct model *m);
void model_done(struct model *m);

/* Apply a status object ("data" of a snapshot, result or delta).  A snapshot
 * (replace) drops the nodes first; a delta upserts the nodes it lists.
 * 0, or -1 with a reason in err. */
int model_apply(struct model *m, const char *json, size_t len, bool replace, int64_t now_ms,
		char *err, size_t errlen);

/* The heartbeat age of a node as of now_ms (-1 never). */
int64_t model_hb_age(const struct mnode *n, int64_t now_ms);

/* How many nodes are not alive. */
int model_not_alive(const struct model *m);

#endif
