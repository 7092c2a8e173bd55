/* agent — the vigil-agent's libwebsockets client glue.
 *
 * Connects to the first reachable collector of a list, says hello, then sends
 * a heartbeat with host metrics every interval.  Events (its own start, lost
 * and regained connections) go through a bounded outbox and are delivered in
 * order, one at a time, each acked by the collector; they survive a
 * disconnection.  Heartbeats are never replayed.  Reconnects forever with
 * exponential backoff and full jitter.
 *
 * Leadership (docs/protocol.md, "Leadership"): every heartbeat carries the
 * agent's role and newest epoch; the collector's grants and commands go
 * through the lease core (agent/lease.h), whose actions the glue carries out
 * in order: save the epoch (--state-dir) before anything that follows, run
 * hooks one at a time (agent/hooks.h) and report them, and record lease
 * changes as events.  A leader that cannot renew its lease (collector gone,
 * network cut, process stopped) demotes itself when the lease ends. */
#ifndef VIGIL_AGENT_AGENT_H
#define VIGIL_AGENT_AGENT_H

#include <stdbool.h>

#include "agent/checks.h"
#include "agent/hooks.h"
#include "proto/proto.h"
#include "proto/urls.h"

#define AGENT_MAX_URLS 8

struct agent_config {
	struct ws_url urls[AGENT_MAX_URLS];
	int nurls;
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	int priority;
	int interval_ms;
	char token[260];              /* "" = none */
	int outbox_events;
	char disk_path[256];
	int backoff_base_ms;
	int backoff_cap_ms;
	bool insecure;                /* wss: accept self-signed certificates */
	bool verbose;
	struct check_spec checks[PROTO_CHECKS_MAX];
	int nchecks;
	char statsd_host[256];        /* "" = no StatsD listener */
	int statsd_port;
	bool statsd_explicit;         /* given by the user: failing to bind is fatal */
	char hook_cmd[4][HOOK_CMD_MAX + 1]; /* by enum lease_hook: --on-promote/demote/fence */
	int hook_timeout_ms;
	char state_dir[256];          /* "" = the epoch is kept in memory only */
	bool initial_leader;          /* --initial-role leader */
	bool no_failover;
};

/* Runs until SIGTERM or SIGINT, then says bye.  Returns the exit status:
 * 0, 1 (could not start), 2 (the state directory is unusable or its epoch
 * file corrupt). */
int agent_run(const struct agent_config *cfg);

#endif
