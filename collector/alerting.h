/* alerting — the collector's glue around the alert engine (collector/alerts.h).
 *
 * Thin on purpose: every decision is the engine's.  This file feeds it
 * (node transitions, flapping and tilt from the core's actions; metrics from
 * the nodes' last heartbeats, at most once a second per node; quorum, leader
 * and failover state from leadership; hook results; whether the store
 * records) and carries out its actions in order: the alerts and silences
 * tables (store/alerts_store.h), an events row of kind "alert", a
 * {"type":"alert"} frame to subscribed operators, and the sinks
 * (collector/delivery.h, which never blocks the loop).
 *
 * Quorum and leader of a group are judged only once the group has settled:
 * settle_ms after the glue first saw it, and not before startup_grace_ms
 * after the collector started (a restarted collector waits for the agents
 * to reconnect before calling a group leaderless or without quorum).
 *
 * All calls come from the collector's one service thread.
 */
#ifndef VIGIL_COLLECTOR_ALERTING_H
#define VIGIL_COLLECTOR_ALERTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/alerts.h"
#include "collector/config.h"
#include "collector/core.h"
#include "proto/jsonw.h"
#include "proto/proto.h"

struct store;
struct leadership;

struct alerting_io {
	void *arg;
	/* Send a text frame to every subscribed operator. */
	void (*publish)(void *arg, const char *text, size_t len);
};

struct alerting_config {
	const struct alert_rule *rules;    /* as parsed from the configuration (copied) */
	size_t nrules;
	const struct sink_spec *sinks;     /* copied */
	size_t nsinks;
	const char *db_path;               /* the store's file (alerts and silences tables) */
	int64_t settle_ms;                 /* a new group's quorum/leader are judged after this */
	int64_t startup_grace_ms;          /* ... and not before this after start */
};

struct alerting;

/* NULL with a reason in err (bad rules, a sink that cannot start). */
struct alerting *alerting_new(const struct alerting_config *cfg, struct store *st,
			      const struct alerting_io *io, int64_t now_ms, int64_t wall_ms,
			      char *err, size_t errlen);
/* Stops the sinks (a running sink program is killed), commits the alert rows. */
void alerting_free(struct alerting *al);

/* SIGHUP: new rules and sinks.  Nothing changes on error (-1, err says why).
 * The sinks are restarted: notifications queued for the old ones are dropped
 * and counted. */
int alerting_reload(struct alerting *al, const struct alert_rule *rules, size_t nrules,
		    const struct sink_spec *sinks, size_t nsinks, char *err, size_t errlen);

/* Inputs. */
void alerting_core_action(struct alerting *al, const struct core_action *a);  /* TRANSITION, FLAP, TILT */
void alerting_hook(struct alerting *al, const char *node, const char *group,
		   const struct proto_hook *h);
/* A frame leadership publishes to operators: failover state changes are
 * read from it (kind "failover", rule = a state or an outcome). */
void alerting_lead_event(struct alerting *al, const char *text, size_t len);
/* vigil forget: the node's alerts end (resolved "node forgotten"). */
void alerting_forget_node(struct alerting *al, const char *node);
void alerting_tick(struct alerting *al, int64_t now_ms, int64_t wall_ms, struct core *core,
		   struct leadership *lead, bool recording, const char *store_error);

/* Operators: a whole result frame into w.  alerts / silences queries, and
 * the ack / silence_add / silence_expire commands (may_act: role operator). */
void alerting_query(struct alerting *al, const struct oper_msg *q, struct jw *w);
void alerting_command(struct alerting *al, const char *who, const char *role, bool may_act,
		      const struct oper_msg *q, struct jw *w);
bool alerting_handles_verb(const char *verb);

/* Views: "alerts":[firing alerts, newest first] as a key and value of the
 * status object; Prometheus lines for /metrics. */
void alerting_view_firing(struct alerting *al, struct jw *w);
void alerting_metrics(struct alerting *al, struct jw *w);

#endif
