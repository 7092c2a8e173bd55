/* alerts — the collector's alert engine.  Pure: no sockets, files, clocks,
 * globals or logging.  Time comes in as now_ms (monotonic: windows, repeats)
 * and wall_ms (ms since 1970: what alerts and silences record); outputs are
 * actions appended to a struct alert_out that the glue carries out IN ORDER
 * (store row, send to the sinks when notify is set, publish to dashboards).
 *
 * Inputs (each documented at its declaration below):
 *   alerts_node_state     a node changed state (core CA_TRANSITION)
 *   alerts_node_flapping  a node started / stopped flapping (core CA_FLAP)
 *   alerts_metrics        a node's metrics (every heartbeat or sample)
 *   alerts_group_quorum   a group lost / regained quorum
 *   alerts_group_leader   a group's leader ("" = none)
 *   alerts_failover       a failover state change (groups GA_STATE)
 *   alerts_hook_result    an agent's hook exit status
 *   alerts_tilt           the collector entered / left tilt (core CA_TILT)
 *   alerts_recording      the store stopped / resumed recording
 *   alerts_forget_node    an operator forgot a node: its alerts end
 *   alerts_ack            an operator acknowledges a firing alert
 *   alerts_silence_add, alerts_silence_expire   operator silences
 *   alerts_tick           time passes (for windows, repeats, expiry); ~1/s is enough
 *
 * Lifecycle.  A rule plus its labels (node, group, metric, hook: whichever
 * apply) is a fingerprint, e.g. node_failed{group="db",node="db1"}.  When a
 * rule's condition becomes true for a fingerprint (and has held for the
 * rule's `for`), the alert FIRES once with a new id; while it stays true,
 * further reports of it are FOLDED into it (alert.folded counts them); when
 * the condition ends it RESOLVES once.  A later episode of the same
 * fingerprint is a new alert with a new id.  Event rules (failover_completed,
 * failover_failed, hook_failed) fire on the event and resolve on a
 * good-news event (a confirmed failover of the group, a successful run of
 * the same hook) or after their resolve_after_ms.
 *
 * Notification.  Each action says whether the sinks should hear of it
 * (notify).  A firing alert is held back (AL_INHIBITED, AL_SILENCED: stored
 * and shown, not sent) while it is inhibited or silenced; when the hold ends
 * and it is still firing it is sent then (AL_FIRE, or AL_REPEAT if the sinks
 * had already heard of it).  While firing, not held and not acknowledged, it
 * is re-sent every repeat interval (AL_REPEAT).  A resolve is sent iff its
 * fire was (so a sink never sees a resolve for an alert it never saw).
 *
 * Inhibition:
 *   - while the collector is in tilt, "detection" alerts (node_failed,
 *     node_suspect, node_degraded, node_flapping, group_no_quorum,
 *     group_no_leader) are held back: they were decided on timing that the
 *     stall made unreliable;
 *   - while a group has lost quorum, its members' node alerts (node_* and
 *     metric rules with that group label) are held back: group_no_quorum
 *     says it once.
 *
 * Threshold rules compare one reported value per sample: host metrics cpu,
 * mem, disk (percent), load1, or an application counter by name (the agent
 * reports counters as a rate per second, so "errors > 5/s" compares the
 * reported value).  The condition must hold at every sample for `for`; the
 * alert fires at the first sample at or after since + for.  A gap of more
 * than 3 sample intervals (the interval the glue passes with the sample)
 * restarts the window; a firing alert whose samples stop for that long
 * resolves ("no data": a node that left or stopped reporting).  A sample
 * whose value is missing (NAN) counts as no sample.
 *
 * Bounded memory: at most max_active firing or pending alerts (a new one
 * beyond that is not created and counted in stats.dropped), at most
 * max_recent resolved alerts kept for views (the oldest resolved is dropped
 * first), at most max_silences silences (-ENOSPC beyond).
 */
#ifndef VIGIL_COLLECTOR_ALERTS_H
#define VIGIL_COLLECTOR_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/groups.h"
#include "proto/proto.h"

#define ALERT_NAME_MAX    64            /* rule names: [A-Za-z0-9._-] */
#define ALERT_FP_MAX      400           /* rule{group="..",hook="..",metric="..",node=".."} */
#define ALERT_SUMMARY_MAX 512
#define ALERT_REASON_MAX  256           /* ack and silence reasons */
#define ALERT_RULES_MAX   128           /* rules in one set, built-ins included */

enum alert_severity { ASEV_INFO = 0, ASEV_WARNING, ASEV_CRITICAL };
const char *alerts_severity_name(enum alert_severity s);          /* "info", ... */
int alerts_severity_parse(const char *s, enum alert_severity *out);  /* 0 or -1 */

enum alert_rule_kind {
	AR_NODE_FAILED = 1,
	AR_NODE_SUSPECT,
	AR_NODE_DEGRADED,
	AR_NODE_FLAPPING,
	AR_GROUP_NO_QUORUM,
	AR_GROUP_NO_LEADER,
	AR_FAILOVER_STARTED,     /* condition: a failover is under way */
	AR_FAILOVER_COMPLETED,   /* event: confirmed */
	AR_FAILOVER_FAILED,      /* event: ended "failed" or "aborted" */
	AR_HOOK_FAILED,          /* event: a hook exited non-zero */
	AR_COLLECTOR_TILT,
	AR_STORE_NOT_RECORDING,
	AR_METRIC,               /* threshold on a reported value */
};

enum alert_op { AOP_GT = 0, AOP_GE, AOP_LT, AOP_LE, AOP_EQ, AOP_NE };
const char *alerts_op_name(enum alert_op op);                     /* ">", ">=", ... */
/* ">", ">=", "<", "<=", "==", "!=" (also gt ge lt le eq ne). 0 or -1. */
int alerts_op_parse(const char *s, enum alert_op *out);

/* A rule.  Value struct: the configuration parser fills it. */
struct alert_rule {
	char name[ALERT_NAME_MAX + 1];
	enum alert_rule_kind kind;
	bool off;                      /* disabled: no alerts (a built-in can be turned off) */
	enum alert_severity severity;
	int64_t for_ms;                /* condition rules: must hold this long (0 = at once) */
	int64_t repeat_ms;             /* re-send interval while firing; -1 = the engine's, 0 = never */
	int64_t resolve_after_ms;      /* event rules: resolve on their own after this; 0 = only on good news */
	/* AR_METRIC */
	char metric[PROTO_NAME_MAX + 1];  /* "cpu", "mem", "load1", "disk", or an app counter */
	bool app;                      /* metric names an application counter */
	enum alert_op op;
	double value;
	char node[PROTO_NAME_MAX + 1];    /* scope: only this node ("" = every node) */
	char group[PROTO_NAME_MAX + 1];   /* scope: only this group ("" = every group) */
	int line;                      /* where the configuration defined it (0 = default) */
};

/* Fill r for a rule called name: a built-in's defaults when name is a
 * built-in (returns 1), else an (incomplete) metric rule with severity
 * warning (returns 0) whose metric, op and value the caller sets.
 * -1 for a name outside [A-Za-z0-9._-]{1,64}. */
int alerts_rule_init(struct alert_rule *r, const char *name);
bool alerts_rule_is_event(enum alert_rule_kind k);
/* Set a metric rule's metric: "cpu", "mem", "disk" (percent), "load1", or
 * an application counter: "app:NAME", or any other NAME.  0 or -1. */
int alerts_rule_set_metric(struct alert_rule *r, const char *metric);
/* 0, or -1 with the reason (without the rule's name) in err. */
int alerts_rule_check(const struct alert_rule *r, char *err, size_t errlen);
/* The built-ins in a fixed order (for docs and views): i < count. */
size_t alerts_builtin_count(void);
const struct alert_rule *alerts_builtin(size_t i);

enum alert_state { AST_PENDING = 0, AST_FIRING, AST_RESOLVED };
const char *alerts_state_name(enum alert_state s);

enum alert_hold { AH_NONE = 0, AH_INHIBITED, AH_SILENCED };

struct alert {
	uint64_t id;                   /* 0 while pending; monotonic from alerts_config.id_base */
	char fingerprint[ALERT_FP_MAX];
	char rule[ALERT_NAME_MAX + 1];
	enum alert_rule_kind kind;
	enum alert_severity severity;
	/* labels ("" = not set) */
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	char metric[PROTO_NAME_MAX + 1];
	char hook[PROTO_NAME_MAX + 1];
	char summary[ALERT_SUMMARY_MAX];  /* for a human: "node db1 (group db) failed: phi_failed" */
	enum alert_state state;
	int64_t started_ms;            /* wall: fired (Alertmanager startsAt) */
	int64_t resolved_ms;           /* wall: resolved (endsAt), 0 while firing */
	double value;                  /* metric rules: the last sample; NAN otherwise */
	double threshold;              /* metric rules: the rule's value; NAN otherwise */
	uint32_t folded;               /* reports folded into it while firing */
	uint32_t notified;             /* notifications sent (fire + repeats) */
	enum alert_hold hold;
	char held_by[PROTO_NAME_MAX + 16];  /* "tilt", "quorum_lost:db", "silence:7" */
	uint64_t silence_id;           /* AH_SILENCED: the matching silence */
	bool acked;
	char ack_who[PROTO_NAME_MAX + 1];
	int64_t ack_ms;                /* wall */
	char ack_reason[ALERT_REASON_MAX];
};

/* A silence: each matcher is an exact name or "*" ("" is taken as "*").
 * An alert without a node label is matched by node "*" only (same for group). */
struct alert_silence {
	uint64_t id;                   /* alerts_silence_add sets it (or keeps a restored one) */
	char rule[ALERT_NAME_MAX + 1];
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	char author[PROTO_NAME_MAX + 1];
	char reason[ALERT_REASON_MAX];
	int64_t created_ms;            /* wall */
	int64_t expires_ms;            /* wall: ends at this time */
};

enum alert_action_kind {
	AL_FIRE = 1,     /* an alert fired, or a held one is released: store (upsert by id), publish, notify */
	AL_RESOLVE,      /* it resolved: store, publish; notify iff its fire was notified */
	AL_REPEAT,       /* still firing: notify again (also when a hold ends, and then without
			  * notify if it was acknowledged) */
	AL_INHIBITED,    /* fired (or became) held back by inhibition: store, publish, no notify */
	AL_SILENCED,     /* fired (or became) held back by a silence: store, publish, no notify */
	AL_ACK,          /* acknowledged: store, publish */
	AL_SILENCE_END,  /* a silence expired or was removed: store, publish */
};
const char *alerts_action_name(enum alert_action_kind k);       /* "fire", ... */

struct alert_action {
	enum alert_action_kind kind;
	bool notify;                   /* send to the sinks */
	char key[48];                  /* idempotency key for sinks: "<id>-fire", "<id>-repeat-<n>", "<id>-resolve" */
	struct alert alert;            /* a snapshot (not for SILENCE_END) */
	struct alert_silence silence;  /* SILENCE_END */
};

struct alert_out {
	struct alert_action *v;
	size_t n, cap;
	bool oom;                      /* an action was lost to a failed allocation */
};

void alert_out_init(struct alert_out *o);
void alert_out_reset(struct alert_out *o);
void alert_out_done(struct alert_out *o);

struct alerts_config {
	int64_t repeat_ms;             /* 1h: default re-send interval (a rule's repeat_ms -1) */
	size_t max_active;             /* 1000 firing or pending alerts */
	size_t max_recent;             /* 1000 resolved alerts kept for views */
	size_t max_silences;           /* 256 */
	uint64_t id_base;              /* 0: first alert id - 1; the glue passes the store's highest id */
	uint64_t silence_id_base;      /* 0: likewise for silences */
};

void alerts_config_defaults(struct alerts_config *cfg);

struct alerts_stats {
	size_t firing, pending, recent, silences;
	uint64_t dropped;              /* alerts not created: max_active reached */
	uint64_t last_id;
};

struct alerts;

/* The engine starts with every built-in rule at its defaults; rules[] (may
 * be NULL/0) override built-ins by name and add metric rules.  NULL if the
 * rules do not pass alerts_rules_check or memory runs out. */
struct alerts *alerts_new(const struct alerts_config *cfg, const struct alert_rule *rules,
			  size_t nrules);
void alerts_free(struct alerts *a);            /* NULL is a no-op */

/* 0, or -1 with "rule 'x': reason" in err: each rule checks, no name twice,
 * at most ALERT_RULES_MAX with the built-ins. */
int alerts_rules_check(const struct alert_rule *rules, size_t nrules, char *err, size_t errlen);

/* Reload: replace the rule set (as for alerts_new).  Alerts of rules that
 * are gone or turned off resolve; a metric rule whose condition changed
 * (metric, op, value, scope) restarts (its alerts resolve and re-fire on the
 * next samples if still true); severity and repeat changes apply from now.
 * -EINVAL (nothing changed) or -ENOMEM. */
int alerts_set_rules(struct alerts *a, int64_t now_ms, int64_t wall_ms,
		     const struct alert_rule *rules, size_t nrules, struct alert_out *out);

/* A node changed state (core CA_TRANSITION).  from is used in the summary;
 * why is the core's rule ("phi_failed"). */
void alerts_node_state(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *node,
		       const char *group, enum node_state from, enum node_state to, const char *why,
		       struct alert_out *out);
void alerts_node_flapping(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *node,
			  const char *group, bool on, struct alert_out *out);
/* A node's metrics, sampled every interval_ms (<= 0: 1000). */
void alerts_metrics(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *node,
		    const char *group, int64_t interval_ms, const struct proto_metrics *m,
		    struct alert_out *out);
void alerts_group_quorum(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *group,
			 bool has_quorum, struct alert_out *out);
/* leader "" = the group has none. */
void alerts_group_leader(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *group,
			 const char *leader, struct alert_out *out);
/* A GA_STATE: code on return to FO_IDLE is "confirmed", "aborted" or
 * "failed"; target is the node being promoted ("" unknown). */
void alerts_failover(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *group,
		     enum grp_fo_state from, enum grp_fo_state to, const char *code,
		     const char *target, struct alert_out *out);
/* hook: "promote", "demote", "fence"; rc 0 resolves that node's hook alert. */
void alerts_hook_result(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *node,
			const char *group, const char *hook, int rc, struct alert_out *out);
void alerts_tilt(struct alerts *a, int64_t now_ms, int64_t wall_ms, bool on, struct alert_out *out);
/* why: the store's error, for the summary ("" none). */
void alerts_recording(struct alerts *a, int64_t now_ms, int64_t wall_ms, bool recording,
		      const char *why, struct alert_out *out);

/* An operator forgot node (vigil forget): every alert with that node label
 * ends now; firing ones resolve with "(node forgotten)" in their summary,
 * pending ones are dropped.  Returns how many ended. */
size_t alerts_forget_node(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *node,
			  struct alert_out *out);

/* Acknowledge a firing alert by id ("17") or fingerprint.  who must be a
 * name; reason may be "".  Stops its repeats (a resolve is still sent).
 * 0, -ENOENT (no such firing alert), -EALREADY, -EINVAL. */
int alerts_ack(struct alerts *a, int64_t now_ms, int64_t wall_ms, const char *key,
	       const char *who, const char *reason, struct alert_out *out);

/* Add a silence (s->id 0: a new id is given and written back; else a
 * restored silence keeps its id).  author and reason are required,
 * expires_ms must be after wall_ms.  Firing alerts it matches are held
 * (AL_SILENCED).  0, -EINVAL, -EEXIST (id in use), -ENOSPC. */
int alerts_silence_add(struct alerts *a, int64_t now_ms, int64_t wall_ms, struct alert_silence *s,
		       struct alert_out *out);
/* End a silence now (AL_SILENCE_END; alerts it held that still fire are
 * sent).  0 or -ENOENT. */
int alerts_silence_expire(struct alerts *a, int64_t now_ms, int64_t wall_ms, uint64_t id,
			  struct alert_out *out);

/* Time passes: `for` windows of node and group rules, stale metric
 * samples, event rules' resolve_after, silence expiry, repeats. */
void alerts_tick(struct alerts *a, int64_t now_ms, int64_t wall_ms, struct alert_out *out);

/* Views.  Firing alerts (newest first), then, unless firing_only, resolved
 * ones (newest first).  Copies up to max into out; returns how many there
 * are in all.  Pending alerts (condition true, `for` not yet met) are not
 * listed. */
size_t alerts_list(const struct alerts *a, bool firing_only, struct alert *out, size_t max);
/* By id ("17") or fingerprint (firing ones first).  0 or -ENOENT. */
int alerts_get(const struct alerts *a, const char *key, struct alert *out);
int alerts_get_id(const struct alerts *a, uint64_t id, struct alert *out);
/* Active silences in id order; like alerts_list. */
size_t alerts_silences(const struct alerts *a, struct alert_silence *out, size_t max);
void alerts_get_stats(const struct alerts *a, struct alerts_stats *st);
/* Whether any threshold rule reads the nodes' metrics (alerts_metrics()). */
bool alerts_has_metric_rules(const struct alerts *al);
bool alerts_in_tilt(const struct alerts *a);

#endif
