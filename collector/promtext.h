/* promtext — GET /metrics in the Prometheus text exposition format 0.0.4. */
#ifndef VIGIL_COLLECTOR_PROMTEXT_H
#define VIGIL_COLLECTOR_PROMTEXT_H

#include <stdint.h>

#include "collector/core.h"
#include "collector/views.h"
#include "proto/jsonw.h"

/* A Prometheus histogram of seconds with fixed buckets (loop_le_s). */
#define LOOP_BUCKETS 10
extern const double loop_le_s[LOOP_BUCKETS];
struct loop_hist {
	uint64_t bucket[LOOP_BUCKETS];  /* not cumulative: bucket[i] counts (le[i-1], le[i]] */
	uint64_t count;
	double sum_s;
};
void loop_hist_add(struct loop_hist *h, double seconds);

/* Counters kept by the glue. */
struct collector_counters {
	uint64_t msg_hello, msg_hb, msg_event, msg_bye, msg_operator, msg_hook, msg_command;
	uint64_t err_too_big, err_bad_json, err_bad_type, err_unknown_type, err_bad_field;
	uint64_t err_protocol;       /* a valid message at the wrong time (hb before hello...) */
	uint64_t rejected_duplicate; /* hello for a node held by a live connection */
	uint64_t auth_fail_agent, auth_fail_operator, auth_fail_loopback;
	uint64_t conn_refused_limit; /* connections refused at the fd cap */
	uint64_t clients_cut_slow;   /* dropped for falling too far behind */
	uint64_t transitions;
	uint64_t store_rows_written, store_write_errors, store_rows_refused;
	/* The 50 ms tick: how late the event loop came back to it (everything
	 * that ran before it, heartbeats included, held it up that long), and
	 * how long the tick itself ran (detection, leadership, alerting). */
	struct loop_hist tick_lag, tick_run;
};

/* Writes the exposition text into w (a growing jsonw used as a plain buffer). */
void promtext_render(struct jw *w, struct core *c, const struct collector_facts *f,
		     const struct collector_counters *k, int64_t now_ms, int64_t wall_ms);

#endif
