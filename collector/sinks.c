/* sinks — the Alertmanager v2 body and the exec sink's document.  Both are
 * built with jsonw, which escapes every string (summaries hold reasons that
 * came from agents). */
#include "collector/sinks.h"

#include <math.h>
#include <stdio.h>

#include "proto/jsonw.h"
#include "proto/util.h"

bool sinks_wants(const struct sink_spec *s, const struct alert_action *act)
{
	return act->notify && act->alert.severity >= s->min_severity;
}

static void labels(struct jw *w, const struct alert *a, bool alertname)
{
	jw_obj_open(w);
	jw_kstr(w, alertname ? "alertname" : "rule", a->rule);
	if (alertname)
		jw_kstr(w, "severity", alerts_severity_name(a->severity));
	if (a->group[0])
		jw_kstr(w, "group", a->group);
	if (a->node[0])
		jw_kstr(w, "node", a->node);
	if (a->metric[0])
		jw_kstr(w, "metric", a->metric);
	if (a->hook[0])
		jw_kstr(w, "hook", a->hook);
	jw_obj_close(w);
}

static void time_str(struct jw *w, const char *k, int64_t ms)
{
	char t[40];

	util_fmt_time(ms, t, sizeof t);
	jw_kstr(w, k, t);
}

int sinks_alertmanager_body(const struct alert *const *alerts, size_t n,
			    const char *generator_url, char *buf, size_t len)
{
	struct jw w;
	char id[24];

	jw_init(&w, buf, len);
	jw_arr_open(&w);
	for (size_t i = 0; i < n; i++) {
		const struct alert *a = alerts[i];

		jw_obj_open(&w);
		jw_key(&w, "labels");
		labels(&w, a, true);
		jw_key(&w, "annotations");
		jw_obj_open(&w);
		jw_kstr(&w, "summary", a->summary);
		jw_kstr(&w, "fingerprint", a->fingerprint);
		snprintf(id, sizeof id, "%llu", (unsigned long long)a->id);
		jw_kstr(&w, "vigil_id", id);
		if (!isnan(a->value)) {
			char v[40];

			snprintf(v, sizeof v, "%g", a->value);
			jw_kstr(&w, "value", v);
			snprintf(v, sizeof v, "%g", a->threshold);
			jw_kstr(&w, "threshold", v);
		}
		if (a->acked) {
			jw_kstr(&w, "acked_by", a->ack_who);
			jw_kstr(&w, "ack_reason", a->ack_reason);
		}
		jw_obj_close(&w);
		time_str(&w, "startsAt", a->started_ms);
		if (a->state == AST_RESOLVED)
			time_str(&w, "endsAt", a->resolved_ms);
		if (generator_url && generator_url[0])
			jw_kstr(&w, "generatorURL", generator_url);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	return jw_finish(&w);
}

int sinks_exec_json(const struct alert_action *act, char *buf, size_t len)
{
	const struct alert *a = &act->alert;
	struct jw w;

	jw_init(&w, buf, len);
	jw_obj_open(&w);
	jw_kstr(&w, "key", act->key);
	jw_kstr(&w, "action", alerts_action_name(act->kind));
	jw_kint(&w, "id", (int64_t)a->id);
	jw_kstr(&w, "fingerprint", a->fingerprint);
	jw_kstr(&w, "rule", a->rule);
	jw_kstr(&w, "severity", alerts_severity_name(a->severity));
	jw_kstr(&w, "state", alerts_state_name(a->state));
	jw_key(&w, "labels");
	labels(&w, a, false);
	jw_kstr(&w, "summary", a->summary);
	jw_kint(&w, "started_ms", a->started_ms);
	time_str(&w, "started", a->started_ms);
	if (a->state == AST_RESOLVED) {
		jw_kint(&w, "resolved_ms", a->resolved_ms);
		time_str(&w, "resolved", a->resolved_ms);
	} else {
		jw_key(&w, "resolved_ms");
		jw_null(&w);
		jw_key(&w, "resolved");
		jw_null(&w);
	}
	jw_knum(&w, "value", a->value);
	jw_knum(&w, "threshold", a->threshold);
	jw_kint(&w, "folded", a->folded);
	jw_kint(&w, "notified", a->notified);
	jw_kstr(&w, "held_by", a->held_by);
	jw_key(&w, "ack");
	if (a->acked) {
		jw_obj_open(&w);
		jw_kstr(&w, "who", a->ack_who);
		jw_kint(&w, "at_ms", a->ack_ms);
		jw_kstr(&w, "reason", a->ack_reason);
		jw_obj_close(&w);
	} else {
		jw_null(&w);
	}
	jw_obj_close(&w);
	return jw_finish(&w);
}
