/* model — the operator client's picture of the cluster, built from the
 * collector's status snapshot and merged deltas.  Pure: JSON in, structs
 * out; times are the caller's monotonic now_ms.
 *
 * Fields the collector may not send yet (leadership, automation, alerts,
 * the operator's own role) have "unknown" values (-1, "" or false with a
 * has_ flag) so that views can say "n/a" instead of guessing. */
#ifndef VIGIL_TUI_MODEL_H
#define VIGIL_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define MNODE_CHECKS     6        /* checks kept per node (the count is exact) */
#define MNODE_CHECK_OUT  80
#define MNODE_PHI_HIST   90       /* phi sparkline: 90 buckets ... */
#define MNODE_PHI_BUCKET_MS 2000  /* ... of 2 s = the last 3 minutes */
#define MODEL_ALERTS_MAX 32

struct cJSON;

struct mcheck {
	char name[PROTO_NAME_MAX + 1];
	char status[12];          /* passing, warning, critical */
	char output[MNODE_CHECK_OUT];
};

struct mnode {
	char name[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	char state[16];
	char rule[64];
	char role[16];            /* leader, follower (older collectors: member) */
	char agent_role[16];      /* what the agent says: follower, claiming, leader */
	int64_t agent_epoch;
	int priority;
	bool connected;
	bool maintenance, no_failover;
	int64_t hb_age_ms;        /* at rx_ms; -1 never */
	int64_t rx_ms;            /* caller's clock when this entry arrived */
	int64_t state_since_ms;   /* collector wall clock */
	int interval_ms;
	double phi, mean_ms, sd_ms;
	double cpu, mem, load1, disk;
	double err_rate;          /* metrics.app.errors (per second); NAN if absent */
	char version[PROTO_VERSION_MAX + 1];
	int64_t rtt_ms;           /* -1 unknown */
	bool flapping;
	int nchecks, checks_critical;
	struct mcheck checks[MNODE_CHECKS];
	char health[256];         /* why degraded, or "" */
	/* phi history: a ring of per-bucket maxima, NAN = no sample */
	float phi_hist[MNODE_PHI_HIST];
	int64_t phi_bucket;       /* bucket number (now_ms / MNODE_PHI_BUCKET_MS) of the newest slot; 0 none */
	int phi_head;             /* slot of the newest bucket */
	bool seen;                /* internal: listed by the snapshot being applied */
};

struct mfailover {                /* one failover, running or ended */
	char state[16];           /* running: wait_lease, decide, fence, promote, demote */
	char kind[16];            /* auto, elect, adopt, manual, switchover */
	char outcome[16];         /* ended: confirmed, aborted, ... */
	char target[PROTO_NAME_MAX + 1];
	char old_leader[PROTO_NAME_MAX + 1];
	char new_leader[PROTO_NAME_MAX + 1];
	int64_t since_ms, ts_ms, duration_ms, epoch;   /* -1 unknown */
};

struct mgroup {
	char name[PROTO_NAME_MAX + 1];
	int members, alive;
	int expected;             /* -1 unknown */
	int quorum;               /* 1 yes, 0 no, -1 unknown */
	char leader[PROTO_NAME_MAX + 1];
	int64_t epoch;            /* -1 unknown */
	bool paused;
	int64_t paused_until_ms;  /* 0 = until resumed */
	char paused_by[64];
	char pause_reason[PROTO_TEXT_MAX + 1];
	bool failing_over, has_last;
	struct mfailover failover, last;
};

struct malert {                   /* one firing alert (docs/protocol.md "alert") */
	int64_t id;
	char rule[PROTO_NAME_MAX + 1];
	char severity[16];
	char node[PROTO_NAME_MAX + 1];    /* "" for group and collector alerts */
	char group[PROTO_NAME_MAX + 1];
	char summary[160];
	char held[16];                    /* "", inhibited, silenced */
	char held_by[64];
	int64_t started_ms;               /* collector wall clock */
	char ack_who[64];                 /* "" = not acknowledged */
	char ack_reason[128];
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
	/* who we are, if the collector says (collector.you) */
	char you_name[64], you_role[16];
	/* alerts: -1 = the collector sends none (not built) */
	int alerts_firing;
	struct malert alerts[MODEL_ALERTS_MAX];
	int nalerts;
	bool have_data;
};

void model_init(struct model *m);
void model_done(struct model *m);

/* Apply a status object ("data" of a snapshot, result or delta).  A snapshot
 * (replace) drops the nodes it does not list (keeping the phi history of the
 * others); a delta drops the nodes it names in "removed" (forgotten), then
 * upserts the nodes it lists.  0, or -1 with a reason. */
int model_apply(struct model *m, const char *json, size_t len, bool replace, int64_t now_ms,
		char *err, size_t errlen);
/* The same from an already parsed object. */
int model_apply_obj(struct model *m, const struct cJSON *data, bool replace, int64_t now_ms,
		    char *err, size_t errlen);

/* Fold an alert frame ({"type":"alert","action":...,"alert":{...}}): a
 * firing alert is added (newest first) or updated by id, a resolved one is
 * dropped.  Returns true when the list changed. */
bool model_alert_frame(struct model *m, const struct cJSON *frame);
/* The index of alert id in m->alerts, or -1. */
int model_alert_index(const struct model *m, int64_t id);

/* Add an empty node (for views built by hand: time travel, tests).  NULL
 * when out of memory.  The caller calls model_sort() after adding. */
struct mnode *model_add(struct model *m, const char *name, const char *group);
void model_sort(struct model *m);
const struct mnode *model_find(const struct model *m, const char *name);
const struct mgroup *model_group(const struct model *m, const char *name);

/* The heartbeat age of a node as of now_ms (-1 never). */
int64_t model_hb_age(const struct mnode *n, int64_t now_ms);

/* How many nodes are not alive. */
int model_not_alive(const struct model *m);

/* Record a phi sample at now_ms (the bucket keeps the maximum). */
void model_phi_push(struct mnode *n, double phi, int64_t now_ms);
/* The last `count` buckets up to now_ms, oldest first (NAN = none). */
void model_phi_series(const struct mnode *n, int64_t now_ms, float *out, int count);

#endif
