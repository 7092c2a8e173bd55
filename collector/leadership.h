/* leadership — the collector's glue between the pure groups module
 * (collector/groups.h: quorum, epochs, leases, the failover state machine)
 * and the outside world: the store (epochs durably before any command,
 * members, overrides, failovers, hook runs, audit), the agents (grants and
 * commands) and the operators (commands, their pre-flight, the group view).
 *
 * It owns no sockets: it sends through the callbacks of struct lead_io, which
 * the server implements.  All calls come from the collector's one service
 * thread.
 */
#ifndef VIGIL_COLLECTOR_LEADERSHIP_H
#define VIGIL_COLLECTOR_LEADERSHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "collector/core.h"
#include "collector/groups.h"
#include "proto/jsonw.h"
#include "proto/proto.h"

struct store;

struct lead_io {
	void *arg;
	/* Send a text frame to the agent of node (if connected).  0 sent, -1 not.
	 * Used for commands only (rare); grants go back on the heartbeat's connection. */
	int (*send_node)(void *arg, const char *node, const char *text, size_t len);
	/* Send a text frame to every subscribed operator. */
	void (*publish)(void *arg, const char *text, size_t len);
	/* vigil forget removed node from the core and the store: end what
	 * else the collector keeps about it (its alerts).  May be NULL. */
	void (*forgotten)(void *arg, const char *node);
};

struct leadership;

/* Restores groups, epochs, leaders, members and overrides from the store.
 * NULL on allocation failure or bad settings (err says which). */
struct leadership *lead_new(const struct groups_config *cfg, struct store *st, struct core *core,
			    const struct lead_io *io, int64_t now_ms, int64_t wall_ms,
			    char *err, size_t errlen);
void lead_free(struct leadership *l);

/* The core changed a node (state, flapping, connection, agent role): tell
 * the groups module.  Cheap enough per change, not per heartbeat. */
void lead_node(struct leadership *l, int64_t now_ms, int64_t wall_ms,
	       const struct core_node_info *ni);

/* A heartbeat from node was processed: encode the grant to send back on
 * that connection into buf.  Returns its length, or 0: send nothing. */
int lead_heartbeat(struct leadership *l, int64_t now_ms, const char *node, const char *group,
		   int64_t seq, char *buf, size_t cap);

/* An agent reported a hook run (or a refused command). */
void lead_hook(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *node,
	       const char *group, const struct proto_hook *h);

/* Time passes (every tick). */
void lead_tick(struct leadership *l, int64_t now_ms, int64_t wall_ms, bool in_tilt);

/* An operator command (OMSG_COMMAND).  Writes the whole result frame into w
 * (type result, id, ok, error, data).  who/role: the operator. */
void lead_command(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *who,
		  const char *role, bool may_act, const struct oper_msg *q, struct jw *w);

/* Views for the status object. */
void lead_view_group(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *group,
		     struct jw *w);                 /* the extra fields of a group object */
/* A group as the groups module sees it now (read-only; for alerting).
 * 0 or -ENOENT. */
int lead_group_info(struct leadership *l, int64_t now_ms, const char *group, struct grp_info *out);
/* How many nodes in maintenance are in each detected state. */
void lead_maint_states(struct leadership *l, int64_t now_ms, int counts[NODE_STATE_COUNT]);
/* role "leader"/"follower", maintenance and its end (wall ms, 0 = until undone). */
void lead_node_view(struct leadership *l, int64_t now_ms, int64_t wall_ms, const char *group,
		    const char *node, const char **role, bool *maint, int64_t *maint_until_wall);

/* Prometheus series per group (names and labels are valid by construction:
 * [A-Za-z0-9._-]): epoch, quorum, leader, paused, failover under way. */
void lead_metrics(struct leadership *l, int64_t now_ms, struct jw *w);

#endif
