/* check_sinks.c — unit tests for collector/sinks: the Alertmanager v2 body
 * and the exec sink's document, parsed back with cJSON (fields, labels,
 * escaping, times, resolved vs firing), severity filtering, and a buffer
 * too small. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "collector/sinks.h"
#include "proto/util.h"

Suite *sinks_suite(void);

/* 2023-11-14T22:13:20.000Z */
#define T0 1700000000000LL

static struct alert mk(void)
{
	struct alert a;

	memset(&a, 0, sizeof a);
	a.id = 17;
	util_strlcpy(a.rule, "cpu_high", sizeof a.rule);
	util_strlcpy(a.fingerprint, "cpu_high{group=\"web\",metric=\"cpu\",node=\"w1\"}",
		     sizeof a.fingerprint);
	a.kind = AR_METRIC;
	a.severity = ASEV_WARNING;
	util_strlcpy(a.node, "w1", sizeof a.node);
	util_strlcpy(a.group, "web", sizeof a.group);
	util_strlcpy(a.metric, "cpu", sizeof a.metric);
	util_strlcpy(a.summary, "node w1 \"quoted\"\nline", sizeof a.summary);
	a.state = AST_FIRING;
	a.started_ms = T0;
	a.value = 95.5;
	a.threshold = 90;
	return a;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

START_TEST(test_alertmanager_body)
{
	struct alert a = mk(), b = mk();
	const struct alert *v[2] = { &a, &b };
	char buf[4096];
	cJSON *r, *x, *l, *an;
	int n;

	util_strlcpy(b.rule, "node_failed", sizeof b.rule);
	b.kind = AR_NODE_FAILED;
	b.severity = ASEV_CRITICAL;
	b.metric[0] = '\0';
	b.value = b.threshold = NAN;
	b.state = AST_RESOLVED;
	b.resolved_ms = T0 + 61250;
	b.acked = true;
	util_strlcpy(b.ack_who, "alice", sizeof b.ack_who);
	util_strlcpy(b.ack_reason, "on it", sizeof b.ack_reason);
	n = sinks_alertmanager_body(v, 2, "http://c:7070/", buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq((int)strlen(buf), n);
	r = cJSON_Parse(buf);
	ck_assert_ptr_nonnull(r);
	ck_assert(cJSON_IsArray(r));
	ck_assert_int_eq(cJSON_GetArraySize(r), 2);

	x = cJSON_GetArrayItem(r, 0);
	l = cJSON_GetObjectItemCaseSensitive(x, "labels");
	ck_assert_str_eq(str(l, "alertname"), "cpu_high");
	ck_assert_str_eq(str(l, "severity"), "warning");
	ck_assert_str_eq(str(l, "node"), "w1");
	ck_assert_str_eq(str(l, "group"), "web");
	ck_assert_str_eq(str(l, "metric"), "cpu");
	ck_assert_ptr_null(str(l, "hook"));                   /* empty labels left out */
	ck_assert_int_eq(cJSON_GetArraySize(l), 5);
	an = cJSON_GetObjectItemCaseSensitive(x, "annotations");
	ck_assert_str_eq(str(an, "summary"), "node w1 \"quoted\"\nline");   /* escaped and back */
	ck_assert_str_eq(str(an, "vigil_id"), "17");
	ck_assert_str_eq(str(an, "value"), "95.5");
	ck_assert_str_eq(str(an, "threshold"), "90");
	ck_assert_str_eq(str(x, "startsAt"), "2023-11-14T22:13:20.000Z");
	ck_assert_ptr_null(str(x, "endsAt"));                 /* firing: no end */
	ck_assert_str_eq(str(x, "generatorURL"), "http://c:7070/");

	x = cJSON_GetArrayItem(r, 1);
	l = cJSON_GetObjectItemCaseSensitive(x, "labels");
	ck_assert_str_eq(str(l, "alertname"), "node_failed");
	ck_assert_str_eq(str(l, "severity"), "critical");
	ck_assert_ptr_null(str(l, "metric"));
	an = cJSON_GetObjectItemCaseSensitive(x, "annotations");
	ck_assert_ptr_null(str(an, "value"));
	ck_assert_str_eq(str(an, "acked_by"), "alice");
	ck_assert_str_eq(str(x, "endsAt"), "2023-11-14T22:14:21.250Z");
	cJSON_Delete(r);

	/* Too small: refused, never cut. */
	ck_assert_int_eq(sinks_alertmanager_body(v, 2, NULL, buf, 64), -1);
	/* No alerts: an empty array. */
	ck_assert_int_eq(sinks_alertmanager_body(v, 0, NULL, buf, sizeof buf), 2);
	ck_assert_str_eq(buf, "[]");
}
END_TEST

START_TEST(test_exec_json)
{
	struct alert_action act;
	char buf[4096];
	cJSON *r, *l, *ack;

	memset(&act, 0, sizeof act);
	act.kind = AL_REPEAT;
	act.notify = true;
	util_strlcpy(act.key, "17-repeat-2", sizeof act.key);
	act.alert = mk();
	act.alert.notified = 2;
	act.alert.folded = 3;
	ck_assert_int_gt(sinks_exec_json(&act, buf, sizeof buf), 0);
	ck_assert_ptr_null(strchr(buf, '\n'));                /* one line */
	r = cJSON_Parse(buf);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(str(r, "key"), "17-repeat-2");
	ck_assert_str_eq(str(r, "action"), "repeat");
	ck_assert_double_eq(cJSON_GetObjectItem(r, "id")->valuedouble, 17);
	ck_assert_str_eq(str(r, "state"), "firing");
	ck_assert_str_eq(str(r, "severity"), "warning");
	ck_assert_str_eq(str(r, "fingerprint"), act.alert.fingerprint);
	l = cJSON_GetObjectItemCaseSensitive(r, "labels");
	ck_assert_str_eq(str(l, "rule"), "cpu_high");
	ck_assert_str_eq(str(l, "node"), "w1");
	ck_assert_str_eq(str(r, "started"), "2023-11-14T22:13:20.000Z");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(r, "resolved")));
	ck_assert_double_eq_tol(cJSON_GetObjectItem(r, "value")->valuedouble, 95.5, 1e-9);
	ck_assert_double_eq(cJSON_GetObjectItem(r, "folded")->valuedouble, 3);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(r, "ack")));
	cJSON_Delete(r);

	act.kind = AL_RESOLVE;
	act.alert.state = AST_RESOLVED;
	act.alert.resolved_ms = T0 + 1000;
	act.alert.value = NAN;
	act.alert.acked = true;
	util_strlcpy(act.alert.ack_who, "bob", sizeof act.alert.ack_who);
	ck_assert_int_gt(sinks_exec_json(&act, buf, sizeof buf), 0);
	r = cJSON_Parse(buf);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(str(r, "action"), "resolve");
	ck_assert_str_eq(str(r, "resolved"), "2023-11-14T22:13:21.000Z");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(r, "value")));
	ack = cJSON_GetObjectItem(r, "ack");
	ck_assert_str_eq(str(ack, "who"), "bob");
	cJSON_Delete(r);
	ck_assert_int_eq(sinks_exec_json(&act, buf, 100), -1);
}
END_TEST

START_TEST(test_wants)
{
	struct sink_spec s;
	struct alert_action act;

	memset(&s, 0, sizeof s);
	memset(&act, 0, sizeof act);
	s.min_severity = ASEV_WARNING;
	act.notify = true;
	act.alert.severity = ASEV_INFO;
	ck_assert(!sinks_wants(&s, &act));
	act.alert.severity = ASEV_CRITICAL;
	ck_assert(sinks_wants(&s, &act));
	act.notify = false;
	ck_assert(!sinks_wants(&s, &act));
}
END_TEST

Suite *sinks_suite(void)
{
	Suite *s = suite_create("sinks");
	TCase *tc = tcase_create("sinks");

	tcase_add_test(tc, test_alertmanager_body);
	tcase_add_test(tc, test_exec_json);
	tcase_add_test(tc, test_wants);
	suite_add_tcase(s, tc);
	return s;
}
