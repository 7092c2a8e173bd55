/* promtext — Prometheus text format.  Label values are node and group names,
 * which the protocol restricts to [A-Za-z0-9._-], so they need no escaping. */
#include "collector/promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* jsonw is used only as a growing byte buffer here. */
static void out(struct jw *w, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	jw_raw(w, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void head(struct jw *w, const char *name, const char *type, const char *help)
{
	out(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

const double loop_le_s[LOOP_BUCKETS] = { 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5 };

void loop_hist_add(struct loop_hist *h, double seconds)
{
	int i = 0;

	if (!(seconds >= 0))
		seconds = 0;
	while (i < LOOP_BUCKETS && seconds > loop_le_s[i])
		i++;
	if (i < LOOP_BUCKETS)
		h->bucket[i]++;
	h->count++;
	h->sum_s += seconds;
}

static void histogram(struct jw *w, const char *name, const char *help, const struct loop_hist *h)
{
	uint64_t cum = 0;

	head(w, name, "histogram", help);
	for (int i = 0; i < LOOP_BUCKETS; i++) {
		cum += h->bucket[i];
		out(w, "%s_bucket{le=\"%g\"} %llu\n", name, loop_le_s[i], (unsigned long long)cum);
	}
	out(w, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	out(w, "%s_sum %.6f\n", name, h->sum_s);
	out(w, "%s_count %llu\n", name, (unsigned long long)h->count);
}

void promtext_render(struct jw *w, struct core *c, const struct collector_facts *f,
		     const struct collector_counters *k, int64_t now_ms, int64_t wall_ms)
{
	size_t n = core_node_count(c);
	struct core_node_brief *b = n ? malloc(n * sizeof *b) : NULL;

	/* One brief per node, then one pass per metric family over them: at
	 * 10,000 nodes, five passes of core_node_info() copied 330 MB per
	 * scrape and held the heartbeats up. */
	if (!b)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (core_node_brief(c, i, now_ms, &b[i]))
			n = i;
	head(w, "vigil_node_up", "gauge", "1 if the node is alive or degraded, else 0.");
	for (size_t i = 0; i < n; i++)
		out(w, "vigil_node_up{node=\"%s\",group=\"%s\"} %d\n", b[i].name, b[i].group,
		    b[i].state == NODE_ALIVE || b[i].state == NODE_DEGRADED);
	head(w, "vigil_node_state", "gauge", "1 for the node's current state (label state).");
	for (size_t i = 0; i < n; i++)
		out(w, "vigil_node_state{node=\"%s\",group=\"%s\",state=\"%s\"} 1\n", b[i].name,
		    b[i].group, node_state_name(b[i].state));
	head(w, "vigil_node_last_seen_timestamp_seconds", "gauge",
	     "Wall-clock time of the node's last heartbeat.");
	for (size_t i = 0; i < n; i++)
		if (b[i].last_hb_wall_ms >= 0)
			out(w, "vigil_node_last_seen_timestamp_seconds{node=\"%s\",group=\"%s\"} %.3f\n",
			    b[i].name, b[i].group, (double)b[i].last_hb_wall_ms / 1000.0);
	head(w, "vigil_node_heartbeat_age_seconds", "gauge", "Seconds since the node's last heartbeat.");
	for (size_t i = 0; i < n; i++)
		if (b[i].hb_age_ms >= 0)
			out(w, "vigil_node_heartbeat_age_seconds{node=\"%s\",group=\"%s\"} %.3f\n",
			    b[i].name, b[i].group, (double)b[i].hb_age_ms / 1000.0);
	head(w, "vigil_node_phi", "gauge", "Phi accrual suspicion level of the node.");
	for (size_t i = 0; i < n; i++)
		if (isfinite(b[i].phi))
			out(w, "vigil_node_phi{node=\"%s\",group=\"%s\"} %.3f\n", b[i].name, b[i].group,
			    b[i].phi);
	free(b);

	head(w, "vigil_messages_total", "counter", "Messages received, by type.");
	out(w, "vigil_messages_total{type=\"hello\"} %llu\n", (unsigned long long)k->msg_hello);
	out(w, "vigil_messages_total{type=\"hb\"} %llu\n", (unsigned long long)k->msg_hb);
	out(w, "vigil_messages_total{type=\"event\"} %llu\n", (unsigned long long)k->msg_event);
	out(w, "vigil_messages_total{type=\"bye\"} %llu\n", (unsigned long long)k->msg_bye);
	out(w, "vigil_messages_total{type=\"operator\"} %llu\n", (unsigned long long)k->msg_operator);
	out(w, "vigil_messages_total{type=\"hook\"} %llu\n", (unsigned long long)k->msg_hook);
	out(w, "vigil_messages_total{type=\"command\"} %llu\n", (unsigned long long)k->msg_command);
	head(w, "vigil_message_errors_total", "counter", "Messages refused, by reason.");
	out(w, "vigil_message_errors_total{code=\"too_big\"} %llu\n", (unsigned long long)k->err_too_big);
	out(w, "vigil_message_errors_total{code=\"bad_json\"} %llu\n", (unsigned long long)k->err_bad_json);
	out(w, "vigil_message_errors_total{code=\"bad_type\"} %llu\n", (unsigned long long)k->err_bad_type);
	out(w, "vigil_message_errors_total{code=\"unknown_type\"} %llu\n",
	    (unsigned long long)k->err_unknown_type);
	out(w, "vigil_message_errors_total{code=\"bad_field\"} %llu\n", (unsigned long long)k->err_bad_field);
	out(w, "vigil_message_errors_total{code=\"protocol\"} %llu\n", (unsigned long long)k->err_protocol);
	out(w, "vigil_message_errors_total{code=\"duplicate_node\"} %llu\n",
	    (unsigned long long)k->rejected_duplicate);
	head(w, "vigil_auth_failures_total", "counter", "Connections refused in the handshake.");
	out(w, "vigil_auth_failures_total{client=\"agent\"} %llu\n", (unsigned long long)k->auth_fail_agent);
	out(w, "vigil_auth_failures_total{client=\"operator\"} %llu\n",
	    (unsigned long long)k->auth_fail_operator);
	out(w, "vigil_auth_failures_total{client=\"not_loopback\"} %llu\n",
	    (unsigned long long)k->auth_fail_loopback);
	head(w, "vigil_connections_refused_total", "counter", "Connections refused at the descriptor cap.");
	out(w, "vigil_connections_refused_total %llu\n", (unsigned long long)k->conn_refused_limit);
	head(w, "vigil_clients_cut_total", "counter", "Clients disconnected for falling too far behind.");
	out(w, "vigil_clients_cut_total %llu\n", (unsigned long long)k->clients_cut_slow);
	head(w, "vigil_connections", "gauge", "Open WebSocket connections.");
	out(w, "vigil_connections{client=\"agent\"} %d\n", f->agents_connected);
	out(w, "vigil_connections{client=\"operator\"} %d\n", f->operators_connected);
	head(w, "vigil_transitions_total", "counter", "Node state transitions.");
	out(w, "vigil_transitions_total %llu\n", (unsigned long long)k->transitions);
	head(w, "vigil_store_rows_written_total", "counter", "Rows committed to the store.");
	out(w, "vigil_store_rows_written_total %llu\n", (unsigned long long)k->store_rows_written);
	head(w, "vigil_store_write_errors_total", "counter", "Failed store transactions (rows kept, retried).");
	out(w, "vigil_store_write_errors_total %llu\n", (unsigned long long)k->store_write_errors);
	head(w, "vigil_store_recording", "gauge", "1 while the store commits.");
	out(w, "vigil_store_recording %d\n", f->recording);
	histogram(w, "vigil_loop_lag_seconds",
		  "How late the collector's event loop ran its periodic tick (time it was busy).",
		  &k->tick_lag);
	histogram(w, "vigil_tick_duration_seconds",
		  "How long the periodic tick (detection, leadership, alerting) ran.", &k->tick_run);
	head(w, "vigil_tilt", "gauge", "1 while the collector distrusts its own timing.");
	out(w, "vigil_tilt %d\n", core_in_tilt(c));
	head(w, "vigil_uptime_seconds", "gauge", "Seconds since the collector started.");
	out(w, "vigil_uptime_seconds %.3f\n", (double)(wall_ms - f->started_wall_ms) / 1000.0);
}
