/* history — what the store can tell about the past: pages of events, one
 * event, whether a node or group is known, availability and failover reports,
 * the cluster as it was at a moment, a group's epoch.
 *
 * Every query runs on the store's reader connection in the caller's thread
 * (the collector's event-loop thread) and sees committed rows only.  They
 * return 0, -ENOENT (the one thing asked for does not exist), -EINVAL (bad
 * arguments) or -EIO.  Callbacks follow store.h: return non-zero to stop;
 * the struct they get is only valid during the call.
 *
 * The report maths is a pure function, history_node_report(), over an array
 * of state transitions, so it can be tested on hand-computed histories.
 *
 * Ownership: arrays returned through **out are malloc'd for the caller, who
 * frees them (free(NULL) when *n == 0 is fine: *out is then NULL).
 */
#ifndef VIGIL_STORE_HISTORY_H
#define VIGIL_STORE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define HISTORY_LIMIT_DEFAULT 100
#define HISTORY_LIMIT_MAX     10000
#define HISTORY_KINDS_MAX     16    /* kinds in one comma-separated list */

/* --- events ------------------------------------------------------------ */

struct history_filter {
	const char *node;       /* NULL or "" = any */
	const char *group;      /* NULL or "" = any */
	const char *kind;       /* NULL or "" = any; or one kind, or a list: "state,flap" */
	int64_t since_ms;       /* inclusive; 0 = unbounded */
	int64_t until_ms;       /* inclusive; 0 = unbounded */
	int limit;              /* 1..HISTORY_LIMIT_MAX; <= 0 means 100, more is cut */
	int64_t before_id;      /* > 0: only ids < before_id (paging); 0 = any */
};

/* Matching events, newest first (by ts_ms, then id).  Paging: pass the last
 * id of a page as before_id to get the next one.  Ids grow in commit order,
 * so that walks back in time as long as events were queued in time order
 * (which the collector does: it stamps them when it decides).  -EINVAL for
 * a kind list of more than HISTORY_KINDS_MAX kinds. */
int store_history(struct store *s, const struct history_filter *f,
		  store_event_cb cb, void *arg);

/* The event with that id, or -ENOENT. */
int store_event_get(struct store *s, int64_t id, struct store_event *out);

/* 1 if the node (group) appears in nodes or events (nodes, groups,
 * failovers or events), 0 if not, or -EINVAL / -EIO. */
int store_node_known(struct store *s, const char *node);
int store_group_known(struct store *s, const char *group);

/* --- availability report ----------------------------------------------- */

/* Definitions, per node, over the window [since, until] (inclusive):
 *
 *  - The timeline is rebuilt from the node's "state" events (to_state): a
 *    state holds from its event's ts_ms to the next event's.  The state at
 *    since is that of the last state event before since; time before the
 *    node's first state event is not observed.
 *  - up = alive or degraded; down = suspect or failed; left, maintenance
 *    (and any other state) count as neither.
 *  - up_ms, down_ms: time up / down inside the window; observed_ms: time in
 *    the window with any known state (>= up_ms + down_ms).
 *  - availability_pct = up / (up + down) * 100; NAN when up + down == 0.
 *  - An outage is a maximal run of consecutive down states that reaches
 *    failed (suspect blips that recover are down time, not outages).  Any
 *    state that is not down ends it.  It starts at the transition that began
 *    the run and ends at the transition that left it.
 *  - failures = outages that started in the window.
 *  - mttr_ms = mean length (start to end, also the part before since) of
 *    the outages that ended in the window; NAN if none.
 *  - mtbf_ms = up_ms / failures; NAN if no failures.
 *  - ttd_ms (time to detect) = mean hb_age_ms evidence of the transitions
 *    that started the counted outages (the first move to down), over those
 *    that carry it (hb_age_ms >= 0); NAN if none.
 */
struct node_report {
	char node[STORE_NAME_MAX + 1];
	char group[STORE_NAME_MAX + 1]; /* of its last state event <= until */
	double availability_pct;
	int failures;
	double mttr_ms;
	double mtbf_ms;
	double ttd_ms;
	int64_t up_ms;
	int64_t down_ms;
	int64_t observed_ms;
};

/* One state event, as the report maths sees it. */
struct history_transition {
	int64_t ts_ms;
	char state[STORE_STATE_MAX + 1];
	int64_t hb_age_ms;              /* -1 = not applicable */
};

/* The maths above, pure: t[0..n) in time order (ties in id order), which
 * may start before since (the state at since, and the start of an outage
 * running at since) and may run past until (ignored).  Fills every field of
 * out but node and group. */
void history_node_report(const struct history_transition *t, int n,
			 int64_t since_ms, int64_t until_ms, struct node_report *out);

/* One row per node that has a state event at or before until, sorted by
 * group then node; only the nodes of group unless it is NULL or "" (-ENOENT
 * for an unknown group).  until_ms 0 (or in the future) means now. */
int store_report(struct store *s, int64_t since_ms, int64_t until_ms,
		 const char *group, struct node_report **out, int *n);

/* --- failover report --------------------------------------------------- */

/* Over the failovers that started in [since, until] (0 = unbounded), per
 * group: how many, and nearest-rank p50 / p99 of detected -> decided,
 * decided -> promoted and started -> finished (total), each over the
 * failovers that have both timestamps; NAN when there are none. */
struct group_report {
	char group[STORE_NAME_MAX + 1];
	int failovers;
	double detect_to_decide_p50_ms, detect_to_decide_p99_ms;
	double decide_to_promoted_p50_ms, decide_to_promoted_p99_ms;
	double total_p50_ms, total_p99_ms;
};

/* Nearest rank: sorts v[0..n) and returns the value at rank ceil(p/100 * n)
 * (1-based, p in 1..100); NAN when n == 0. */
double history_percentile(double *v, int n, int p);

/* One row for group, or (group NULL or "") one per group in the groups table
 * or with a failover in the window, by name.  -ENOENT for an unknown group. */
int store_group_report(struct store *s, int64_t since_ms, int64_t until_ms,
		       const char *group, struct group_report **out, int *n);

/* --- time travel ------------------------------------------------------- */

struct node_at {
	char node[STORE_NAME_MAX + 1];
	char group[STORE_NAME_MAX + 1];
	char state[STORE_STATE_MAX + 1];
	char rule[STORE_RULE_MAX + 1];  /* what put it there */
	int64_t since_ms;               /* when */
};

/* Every node that had a state event at or before at_ms, in the state of its
 * last one, sorted by group then node. */
int store_at(struct store *s, int64_t at_ms, struct node_at **out, int *n);

/* --- groups ------------------------------------------------------------ */

/* The group's epoch and leader ("" if none; leader may be NULL), or -ENOENT.
 * Set with store_group_set_epoch_sync(). */
int store_group_get(struct store *s, const char *group, int64_t *epoch,
		    char *leader, size_t leader_size);

#endif
