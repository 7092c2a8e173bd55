/* server — the collector's libwebsockets glue: one vhost, one port, three
 * protocols (HTTP /health and /metrics, vigil-agent.v1, vigil-operator.v1).
 * It decodes, calls the core (and, for leadership, collector/leadership.c),
 * and carries out the core's actions: sends, store rows, operator deltas.
 * It decides nothing itself. */
#ifndef VIGIL_COLLECTOR_SERVER_H
#define VIGIL_COLLECTOR_SERVER_H

#include <stdbool.h>

#include "collector/alerts.h"
#include "collector/auth.h"
#include "collector/config.h"
#include "collector/core.h"
#include "collector/groups.h"

struct server_config {
	char host[256];            /* listen address */
	int port;
	char db_path[4096];
	int flush_ms;              /* store batch interval */
	int tick_ms;               /* core tick */
	int delta_ms;              /* operator delta cadence */
	int max_clients;           /* connections accepted at once */
	bool verbose;              /* log every connect and message error */
	int64_t sample_ms;         /* metric sample per node this often; 0 = off */
	int64_t raw_keep_ms;       /* raw samples retention */
	int64_t agg_keep_ms;       /* one-minute aggregates retention */
	char tls_cert[4096];       /* "" = plain ws:// and http:// */
	char tls_key[4096];
	struct auth auth;
	struct core_config core;
	struct groups_config groups;
	/* alerting (docs/configuration.md "Alert rules", "Sinks"); owned by the caller */
	const struct alert_rule *rules;
	size_t nrules;
	const struct sink_spec *sinks;
	size_t nsinks;
	const char *config_path;   /* --config, or NULL */
	/* SIGHUP: read the configuration again.  0 with the new rules and sinks
	 * (valid until the next call), or -1 with why in err (then nothing
	 * changes).  Called on the service thread, never in a signal handler. */
	int (*reload)(void *arg, const struct alert_rule **rules, size_t *nrules,
		      const struct sink_spec **sinks, size_t *nsinks, char *err, size_t errlen);
	void *reload_arg;
};

/* Runs until SIGTERM or SIGINT (SIGHUP reloads).  Returns the process exit status. */
int server_run(struct server_config *cfg);

#endif
