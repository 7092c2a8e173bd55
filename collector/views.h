/* views — what the collector shows: the status object (vigil status, the
 * operator snapshot), node and transition objects (deltas), /health.
 * Pure: they read the core and write JSON through jsonw. */
#ifndef VIGIL_COLLECTOR_VIEWS_H
#define VIGIL_COLLECTOR_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

#include "collector/core.h"
#include "proto/jsonw.h"

/* Facts about the collector itself that live outside the core. */
struct collector_facts {
	const char *instance;        /* the collector's id for this run */
	const char *listen;          /* "127.0.0.1:7070" */
	const char *auth_mode;       /* "tokens" or "loopback-only" */
	int64_t started_wall_ms;
	bool recording;              /* the store commits */
	const char *store_error;     /* "" or why it does not */
	bool serving;                /* false while shutting down */
	int agents_connected;
	int operators_connected;
	/* the operator the status is sent to ("" for none): collector.you */
	const char *you_name, *you_role;
};

/* What leadership adds to a node: its role and maintenance override. */
struct node_lead {
	const char *role;            /* "leader", "follower" */
	bool maint;
	int64_t maint_until_ms;      /* wall; 0 = until switched off */
};

/* The node object (one entry of "nodes"), with its health checks.  lead may
 * be NULL (role "follower", no maintenance). */
void view_node(struct jw *w, const struct core_node_info *n, const struct proto_check *checks,
	       int nchecks, const struct node_lead *lead);
/* The whole status object: {"collector":{...},"summary":{...},"nodes":[...],"removed":[...],
 * "groups":[...]}.  With since_rev > 0 only nodes changed after it are listed
 * (a delta), and "removed" names the nodes forgotten after it (callers send a
 * whole snapshot instead when since_rev < core_removed_floor()). */
struct leadership;
/* lead may be NULL (no group fields beyond members and alive).  since_rev > 0:
 * a delta, only nodes changed after it (significant_only: only nodes whose
 * last significant change is after it, see core_node_info.srev). */
void view_status(struct jw *w, struct core *c, struct leadership *lead,
		 const struct collector_facts *f, int64_t now_ms, int64_t wall_ms,
		 uint64_t since_rev, bool significant_only);
/* One slice of the periodic refresh (a delta without the collector's facts,
 * groups or alerts): {"rev":..,"slice":{"from":..,"to":..,"of":N},"nodes":[..]}
 * with the nodes [from, to) of the sorted order changed after since_rev.
 * Returns how many nodes it lists. */
size_t view_status_slice(struct jw *w, struct core *c, struct leadership *lead, int64_t now_ms,
			 int64_t wall_ms, uint64_t since_rev, size_t from, size_t to);
/* A transition as sent to subscribers: {"node":..,"from":..,"to":..,"rule":..,...} */
void view_transition(struct jw *w, const struct core_action *a);
/* GET /health body; returns the HTTP status to send (200 or 503). */
int view_health(struct jw *w, struct core *c, const struct collector_facts *f, int64_t wall_ms);

#endif
