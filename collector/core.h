/* core — the collector's deciding core.  Pure: no sockets, files, clocks,
 * globals or logging.  Time comes in as now_ms (monotonic) and wall_ms (for
 * the records); inputs are what agents said and did; outputs are actions
 * appended to a struct core_out that the glue carries out in order.
 *
 *   inputs:  core_hello, core_heartbeat, core_agent_event, core_bye,
 *            core_disconnect, core_tick, core_remember, core_forget
 *   outputs: CA_WELCOME, CA_REJECT, CA_ACK (send to a connection),
 *            CA_TRANSITION (a node changed state: store + publish),
 *            CA_RECORD (store a row: connects, agent events),
 *            CA_NODE_UPDATED (metrics changed: publish)
 *
 * Every state change goes through one function that emits CA_TRANSITION
 * with its evidence (phi, interval statistics, heartbeat age, the rule).
 */
#ifndef VIGIL_COLLECTOR_CORE_H
#define VIGIL_COLLECTOR_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct core_config {
	double suspect_phi;            /* 5: phi at which a silent node is suspect */
	double failed_phi;             /* 8: phi at which a silent node has failed */
	int max_samples;               /* 200: heartbeat intervals kept per node */
	double min_std_dev_ms;         /* 0 = auto: interval / 5 (100 ms at 500 ms) */
	double acceptable_pause_ms;    /* 0 = auto: one interval (500 ms at 500 ms) */
	int64_t reconnect_grace_ms;    /* 1000: suspect -> failed after a dropped connection */
	int64_t startup_grace_ms;      /* 12000: remembered nodes must reconnect after a restart */
	int64_t tilt_gap_ms;           /* 2000: a tick later than this means we stalled */
	int64_t tilt_hold_ms;          /* 5000: stable time needed after a stall */
	/* degraded: alive but unhealthy.  A critical health check degrades at
	 * once; the thresholds below (0 = off) must hold for degraded_after
	 * heartbeats in a row, and recovery needs recover_after good ones. */
	double degraded_error_rate;    /* 0: app counter "errors" per second */
	double degraded_latency_ms;    /* 0: app timer "latency_ms" (mean) */
	int64_t degraded_rtt_ms;       /* 0: agent-measured round trip */
	int degraded_after;            /* 3 */
	int recover_after;             /* 3 */
	/* flapping: each transition adds 1 to a score that halves every
	 * flap_half_life_ms; at flap_threshold the node is flapping (one
	 * event), below half of it stable again. */
	double flap_threshold;         /* 5 */
	int64_t flap_half_life_ms;     /* 60000 */
};

void core_config_defaults(struct core_config *cfg);
/* 0, or -1 with a reason naming the option in err. */
int core_config_check(const struct core_config *cfg, char *err, size_t errlen);

struct core_evidence {
	double phi;                    /* NAN when not applicable */
	double mean_ms, sd_ms;         /* interval statistics, NAN before any */
	int samples;
	int64_t hb_age_ms;             /* since the last heartbeat; -1 never */
};

enum core_action_kind {
	CA_WELCOME = 1,   /* conn: send welcome */
	CA_REJECT,        /* conn: send error {code, text} and close */
	CA_ACK,           /* conn: send ack {seq} */
	CA_TRANSITION,    /* node changed state */
	CA_RECORD,        /* store a non-state event */
	CA_NODE_UPDATED,  /* node metrics or connection changed, no state change */
	CA_TILT,          /* collector entered (on) or left (off) tilt */
	CA_FLAP,          /* node started (on) or stopped (off) flapping */
	CA_HB_ACK,        /* conn: answer an echo heartbeat {seq} */
};

struct core_action {
	enum core_action_kind kind;
	uint64_t conn;                          /* for WELCOME, REJECT, ACK */
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	int64_t wall_ms;
	/* WELCOME */
	int interval_ms;
	int64_t seq;                            /* WELCOME: last_event_seq; ACK: seq */
	/* REJECT and RECORD */
	char code[32];                          /* REJECT: error code; RECORD: kind ("conn", "agent") */
	/* TRANSITION */
	bool is_new;                            /* first time this node is seen */
	enum node_state from, to;
	char rule[64];
	struct core_evidence ev;
	bool on;                                /* TILT */
	char text[PROTO_TEXT_MAX + 1];          /* REJECT message, RECORD/TRANSITION detail */
};

struct core_out {
	struct core_action *v;
	size_t n, cap;
	bool oom;                               /* an action was lost to a failed allocation */
};

void core_out_init(struct core_out *o);
void core_out_reset(struct core_out *o);   /* n = 0, keep the memory */
void core_out_done(struct core_out *o);

/* A node as seen now, for views (status, metrics, dashboard). */
struct core_node_info {
	char name[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	int priority;
	char version[PROTO_VERSION_MAX + 1];
	char boot_id[PROTO_BOOT_ID_MAX + 1];
	enum node_state state;
	char rule[64];                          /* what put it in this state */
	int64_t state_since_wall_ms;
	bool connected;
	int interval_ms;
	int64_t last_seq;
	int64_t hb_count;                       /* heartbeats since the collector started */
	int64_t last_hb_wall_ms;                /* -1 never */
	struct core_evidence ev;                /* phi etc. at now_ms */
	struct proto_metrics m;
	int64_t rtt_ms;                         /* agent-measured round trip, -1 unknown */
	int nchecks;                            /* see core_node_checks() */
	int checks_critical;
	bool flapping;
	double flap_score;                      /* at now_ms */
	char health[PROTO_TEXT_MAX + 1];        /* why degraded, or "" */
	uint64_t rev;                           /* core_rev() when it last changed */
	uint64_t srev;                          /* ... when it last changed significantly:
						 * state, connection, flags, health, checks'
						 * statuses, agent role (not every heartbeat) */
	char agent_role[PROTO_ROLE_MAX + 1];    /* what the agent says: follower, claiming, leader */
	int64_t agent_epoch;                    /* the newest epoch the agent has seen */
	bool no_failover;                       /* the agent was started with --no-failover */
};

/* What the alert rules read of a node: pointers into the core, valid until
 * the core's next call (no 6 KiB copy of core_node_info per node). */
struct core_node_metrics {
	const char *name;
	const char *group;
	bool connected;
	int interval_ms;
	int64_t last_hb_wall_ms;                /* -1 never */
	const struct proto_metrics *m;
	uint64_t rev, srev;                     /* as in core_node_info */
};

/* A node in brief, for /metrics: names point into the core (valid until
 * its next call); phi is evaluated, nothing else is copied. */
struct core_node_brief {
	const char *name;
	const char *group;
	enum node_state state;
	int64_t last_hb_wall_ms;                /* -1 never */
	int64_t hb_age_ms;                      /* -1 never */
	double phi;                             /* NAN when not applicable */
};

struct core_group_info {
	char name[PROTO_NAME_MAX + 1];
	int members;                            /* known nodes of the group */
	int alive;                              /* of them alive or degraded */
};

struct core;

struct core *core_new(const struct core_config *cfg, int64_t now_ms);
void core_free(struct core *c);             /* NULL is a no-op */

/* A node known from the store before any agent connected (collector
 * restart): it starts suspect (rule "not_seen_since_restart") unless it had
 * left, and fails if it does not reconnect within startup_grace_ms. */
void core_remember(struct core *c, int64_t now_ms, int64_t wall_ms, const char *node,
		   const char *group, int priority, enum node_state last_state);

/* An agent said hello on connection conn.  Emits CA_WELCOME, or CA_REJECT
 * when another live connection holds that node name.  Returns 0 when
 * accepted, -1 when rejected. */
int core_hello(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
	       const struct proto_hello *h, struct core_out *out);

/* Messages after hello; node is the name the connection said hello with.
 * Ignored if conn does not hold that node (a replaced connection). */
void core_heartbeat(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
		    const char *node, const struct proto_hb *hb, struct core_out *out);
void core_agent_event(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
		      const char *node, const struct proto_event *e, struct core_out *out);
void core_bye(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
	      const char *node, const char *reason, struct core_out *out);
/* The connection closed (after bye or not). */
void core_disconnect(struct core *c, int64_t now_ms, int64_t wall_ms, uint64_t conn,
		     const char *node, struct core_out *out);

/* Time passes: phi verdicts, grace periods, tilt. Call every ~50-100 ms. */
void core_tick(struct core *c, int64_t now_ms, int64_t wall_ms, struct core_out *out);

/* The earliest time a grace period ends (a disconnected node due to fail),
 * or INT64_MAX: the glue ticks then too, so a crashed node fails at its
 * grace period and not up to a tick later.  Phi verdicts keep the tick. */
int64_t core_next_deadline(struct core *c);

/* Views. */
size_t core_node_count(const struct core *c);
/* Nodes sorted by group then name; i < core_node_count. 0 or -1. */
int core_node_info(struct core *c, size_t i, int64_t now_ms, struct core_node_info *out);
/* Node i's metrics view (same order as core_node_info); -1 if out of range. */
int core_node_metrics(struct core *c, size_t i, struct core_node_metrics *out);
/* Node i in brief (same order); -1 if out of range. */
int core_node_brief(struct core *c, size_t i, int64_t now_ms, struct core_node_brief *out);
int core_node_find(struct core *c, const char *name, int64_t now_ms, struct core_node_info *out);
/* Nodes per state, all states in one pass: out[NODE_STATE_COUNT]. */
void core_count_states(const struct core *c, int *out);
/* A node's last reported health checks; the array stays valid until the next
 * input to the core.  Returns the count, -1 for an unknown node. */
int core_node_checks(struct core *c, const char *name, const struct proto_check **out);
/* core_group_count (re)computes the groups; call it before core_group_info. */
size_t core_group_count(struct core *c);
int core_group_info(struct core *c, size_t i, struct core_group_info *out);
bool core_in_tilt(const struct core *c);
/* Grows by one at every change to any node: a view can send only the nodes
 * whose info.rev is above the rev it last sent. */
uint64_t core_rev(const struct core *c);
/* The rev of the latest significant change of any node (see core_node_info.srev). */
uint64_t core_srev(const struct core *c);
/* Something shown with node changed outside the core (its role, maintenance):
 * list it in the next delta. */
void core_touch(struct core *c, const char *node);
int core_count_state(const struct core *c, enum node_state s);

/* An operator decommissions a node (vigil forget): it leaves the node table
 * for good; its history is the store's business and stays.  Deltas list its
 * name in "removed" from now on (core_removed).  0, -ENOENT (unknown),
 * -EBUSY (connected: its agent must be stopped first).  A later hello of
 * the same name is a new node. */
int core_forget(struct core *c, const char *node);

/* The last CORE_REMOVED_MAX forgotten nodes, oldest first, each with the rev
 * of its removal: a delta since rev R lists those with rev > R.  i <
 * core_removed_count; NULL out of range. */
#define CORE_REMOVED_MAX 1024
size_t core_removed_count(const struct core *c);
const char *core_removed(const struct core *c, size_t i, uint64_t *rev);
/* The rev of the newest removal no longer remembered (0: none was dropped):
 * a delta since a rev below it cannot list every removal; send a snapshot. */
uint64_t core_removed_floor(const struct core *c);

#endif
