/* check_health — node health on the wire and in the core: health checks and
 * round trips in heartbeats, hb_ack echoes, alive <-> degraded with its
 * hysteresis, and the decaying flap score.  Simulated time throughout. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/core.h"
#include "collector/promtext.h"
#include "collector/views.h"
#include "proto/proto.h"
#include "proto/jsonw.h"
#include "proto/util.h"
#include "suites.h"
#include "tui/model.h"
#include "tui/table.h"

/* ---- protocol ---------------------------------------------------------- */

START_TEST(test_hb_checks_roundtrip)
{
	static struct proto_hb hb, out;
	struct agent_msg m;
	char buf[8192], err[256];
	int n;

	memset(&hb, 0, sizeof hb);
	hb.seq = 10;
	hb.sent_ms = 1700000000000LL;
	hb.echo = true;
	hb.rtt_ms = 3;
	hb.m.cpu_pct = hb.m.mem_pct = hb.m.load1 = hb.m.disk_pct = NAN;
	hb.nchecks = 2;
	util_strlcpy(hb.checks[0].name, "pg", sizeof hb.checks[0].name);
	hb.checks[0].status = CHECK_CRITICAL;
	util_strlcpy(hb.checks[0].output, "connect to 127.0.0.1:5432: \"refused\"", sizeof hb.checks[0].output);
	util_strlcpy(hb.checks[1].name, "disk", sizeof hb.checks[1].name);
	hb.checks[1].status = CHECK_WARNING;
	n = proto_encode_hb(buf, sizeof buf, &hb);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(proto_decode_agent(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	out = m.u.hb;
	ck_assert(out.echo);
	ck_assert_int_eq(out.rtt_ms, 3);
	ck_assert_int_eq(out.nchecks, 2);
	ck_assert_str_eq(out.checks[0].name, "pg");
	ck_assert_int_eq(out.checks[0].status, CHECK_CRITICAL);
	ck_assert_str_eq(out.checks[0].output, hb.checks[0].output);
	ck_assert_int_eq(out.checks[1].status, CHECK_WARNING);
	ck_assert_str_eq(out.checks[1].output, "");
}
END_TEST

START_TEST(test_hb_defaults)
{
	struct agent_msg m;
	char err[256];
	const char *t = "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2}";

	ck_assert_int_eq(proto_decode_agent(t, strlen(t), &m, err, sizeof err), PROTO_OK);
	ck_assert(!m.u.hb.echo);
	ck_assert_int_eq(m.u.hb.rtt_ms, -1);
	ck_assert_int_eq(m.u.hb.nchecks, 0);
}
END_TEST

static const struct { const char *json; const char *field; } bad_hb[] = {
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"echo\":1}", "'echo'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"rtt_ms\":-1}", "'rtt_ms'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"rtt_ms\":3600001}", "'rtt_ms'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"checks\":{}}", "'checks'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"checks\":[1]}", "'checks'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"checks\":[{\"status\":\"passing\"}]}", "'name'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"checks\":[{\"name\":\"a b\",\"status\":\"passing\"}]}",
	  "'name'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"checks\":[{\"name\":\"a\",\"status\":\"ok\"}]}",
	  "'checks.status'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"checks\":[{\"name\":\"a\"}]}", "'status'" },
	{ "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"checks\":[{\"name\":\"a\",\"status\":\"passing\","
	  "\"output\":\"x\\u0007y\"}]}", "'output'" },
};

START_TEST(test_hb_bad)
{
	struct agent_msg m;
	char err[256];
	const char *t = bad_hb[_i].json;

	ck_assert_int_eq(proto_decode_agent(t, strlen(t), &m, err, sizeof err), PROTO_E_FIELD);
	ck_assert_msg(strstr(err, bad_hb[_i].field), "'%s' does not name %s", err, bad_hb[_i].field);
}
END_TEST

START_TEST(test_hb_too_many_checks)
{
	char buf[16384], err[256];
	struct agent_msg m;
	int n = snprintf(buf, sizeof buf, "{\"type\":\"hb\",\"seq\":1,\"sent_ms\":2,\"checks\":[");

	for (int i = 0; i < PROTO_CHECKS_MAX + 1; i++)
		n += snprintf(buf + n, sizeof buf - (size_t)n, "%s{\"name\":\"c%d\",\"status\":\"passing\"}",
			      i ? "," : "", i);
	n += snprintf(buf + n, sizeof buf - (size_t)n, "]}");
	ck_assert_int_eq(proto_decode_agent(buf, (size_t)n, &m, err, sizeof err), PROTO_E_FIELD);
	ck_assert_ptr_nonnull(strstr(err, "more than 32"));
}
END_TEST

START_TEST(test_hb_ack_roundtrip)
{
	struct proto_hb_ack a = { .seq = 77 };
	struct collector_msg m;
	char buf[128], err[256];
	int n = proto_encode_hb_ack(buf, sizeof buf, &a);

	ck_assert_str_eq(buf, "{\"type\":\"hb_ack\",\"seq\":77}");
	ck_assert_int_eq(proto_decode_collector(buf, (size_t)n, &m, err, sizeof err), PROTO_OK);
	ck_assert_int_eq(m.type, CMSG_HB_ACK);
	ck_assert_int_eq(m.u.hb_ack.seq, 77);
}
END_TEST

/* ---- core -------------------------------------------------------------- */

struct sim {
	struct core *c;
	struct core_out o;
	struct core_config cfg;
	int64_t now;
	int64_t seq;
	struct proto_hb hb;
};

static void sim_start(struct sim *s)
{
	struct proto_hello h = { .priority = 1, .interval_ms = 100 };

	core_out_init(&s->o);
	s->now = 1000;
	s->c = core_new(&s->cfg, s->now);
	ck_assert_ptr_nonnull(s->c);
	util_strlcpy(h.node, "n1", sizeof h.node);
	util_strlcpy(h.group, "g", sizeof h.group);
	util_strlcpy(h.version, "t", sizeof h.version);
	util_strlcpy(h.boot_id, "b1", sizeof h.boot_id);
	ck_assert_int_eq(core_hello(s->c, s->now, s->now, 1, &h, &s->o), 0);
	core_out_reset(&s->o);
	memset(&s->hb, 0, sizeof s->hb);
	s->hb.rtt_ms = -1;
	s->hb.m.cpu_pct = s->hb.m.mem_pct = s->hb.m.load1 = s->hb.m.disk_pct = NAN;
}

static void sim_done(struct sim *s)
{
	core_free(s->c);
	core_out_done(&s->o);
}

/* One heartbeat 100 ms later, with a tick; returns the state after it. */
static enum node_state beat(struct sim *s)
{
	struct core_node_info ni;

	s->now += 100;
	s->hb.seq = s->seq++;
	s->hb.sent_ms = s->now;
	core_heartbeat(s->c, s->now, s->now, 1, "n1", &s->hb, &s->o);
	core_tick(s->c, s->now, s->now, &s->o);
	ck_assert_int_eq(core_node_find(s->c, "n1", s->now, &ni), 0);
	return ni.state;
}

static const struct core_action *find_action(const struct sim *s, enum core_action_kind k)
{
	for (size_t i = 0; i < s->o.n; i++)
		if (s->o.v[i].kind == k)
			return &s->o.v[i];
	return NULL;
}

static void set_check(struct sim *s, enum check_status st, const char *output)
{
	s->hb.nchecks = 1;
	util_strlcpy(s->hb.checks[0].name, "pg", sizeof s->hb.checks[0].name);
	s->hb.checks[0].status = st;
	util_strlcpy(s->hb.checks[0].output, output, sizeof s->hb.checks[0].output);
}

static void set_app(struct sim *s, const char *name, double v)
{
	s->hb.m.napp = 1;
	util_strlcpy(s->hb.m.app[0].name, name, sizeof s->hb.m.app[0].name);
	s->hb.m.app[0].value = v;
}

START_TEST(test_critical_check_degrades_at_once)
{
	struct sim s = { 0 };
	const struct core_action *a;
	const struct proto_check *checks;
	struct core_node_info ni;

	core_config_defaults(&s.cfg);
	sim_start(&s);
	set_check(&s, CHECK_PASSING, "");
	ck_assert_int_eq(beat(&s), NODE_ALIVE);
	set_check(&s, CHECK_CRITICAL, "connection refused");
	core_out_reset(&s.o);
	ck_assert_int_eq(beat(&s), NODE_DEGRADED);
	a = find_action(&s, CA_TRANSITION);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->rule, "check_critical");
	ck_assert_ptr_nonnull(strstr(a->text, "check pg critical: connection refused"));
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert_int_eq(ni.checks_critical, 1);
	ck_assert_ptr_nonnull(strstr(ni.health, "check pg"));
	ck_assert_int_eq(core_node_checks(s.c, "n1", &checks), 1);
	ck_assert_str_eq(checks[0].output, "connection refused");
	/* recovery needs recover_after (3) healthy heartbeats */
	set_check(&s, CHECK_PASSING, "");
	ck_assert_int_eq(beat(&s), NODE_DEGRADED);
	ck_assert_int_eq(beat(&s), NODE_DEGRADED);
	core_out_reset(&s.o);
	ck_assert_int_eq(beat(&s), NODE_ALIVE);
	a = find_action(&s, CA_TRANSITION);
	ck_assert_str_eq(a->rule, "healthy");
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert_str_eq(ni.health, "");
	sim_done(&s);
}
END_TEST

START_TEST(test_error_rate_needs_a_streak)
{
	struct sim s = { 0 };
	const struct core_action *a;

	core_config_defaults(&s.cfg);
	s.cfg.degraded_error_rate = 5;
	sim_start(&s);
	set_app(&s, "errors", 9);
	ck_assert_int_eq(beat(&s), NODE_ALIVE);     /* 1 of 3 */
	set_app(&s, "errors", 1);
	ck_assert_int_eq(beat(&s), NODE_ALIVE);     /* streak broken */
	set_app(&s, "errors", 5);
	ck_assert_int_eq(beat(&s), NODE_ALIVE);
	ck_assert_int_eq(beat(&s), NODE_ALIVE);
	core_out_reset(&s.o);
	ck_assert_int_eq(beat(&s), NODE_DEGRADED);  /* 3 in a row, at the threshold */
	a = find_action(&s, CA_TRANSITION);
	ck_assert_str_eq(a->rule, "health_threshold");
	ck_assert_ptr_nonnull(strstr(a->text, "error rate 5.00/s >= 5.00/s"));
	sim_done(&s);
}
END_TEST

START_TEST(test_latency_and_rtt_thresholds)
{
	struct sim s = { 0 };

	core_config_defaults(&s.cfg);
	s.cfg.degraded_latency_ms = 200;
	s.cfg.degraded_rtt_ms = 50;
	s.cfg.degraded_after = 1;
	sim_start(&s);
	set_app(&s, "latency_ms", 199);
	s.hb.rtt_ms = 49;
	ck_assert_int_eq(beat(&s), NODE_ALIVE);
	s.hb.rtt_ms = 50;
	ck_assert_int_eq(beat(&s), NODE_DEGRADED);
	sim_done(&s);

	memset(&s, 0, sizeof s);
	core_config_defaults(&s.cfg);
	s.cfg.degraded_latency_ms = 200;
	s.cfg.degraded_after = 1;
	sim_start(&s);
	set_app(&s, "latency_ms", 250);
	ck_assert_int_eq(beat(&s), NODE_DEGRADED);
	sim_done(&s);
}
END_TEST

START_TEST(test_thresholds_off_by_default)
{
	struct sim s = { 0 };

	core_config_defaults(&s.cfg);
	sim_start(&s);
	set_app(&s, "errors", 1e6);
	s.hb.rtt_ms = 100000;
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(beat(&s), NODE_ALIVE);
	sim_done(&s);
}
END_TEST

START_TEST(test_degraded_node_still_fails_by_phi)
{
	struct sim s = { 0 };
	struct core_node_info ni;

	core_config_defaults(&s.cfg);
	sim_start(&s);
	for (int i = 0; i < 20; i++)
		beat(&s);
	set_check(&s, CHECK_CRITICAL, "down");
	ck_assert_int_eq(beat(&s), NODE_DEGRADED);
	for (int i = 0; i < 100; i++) {           /* 1 s of silence at 100 ms */
		s.now += 10;
		core_tick(s.c, s.now, s.now, &s.o);
	}
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert_int_eq(ni.state, NODE_FAILED);
	sim_done(&s);
}
END_TEST

START_TEST(test_echo_answered)
{
	struct sim s = { 0 };
	const struct core_action *a;

	core_config_defaults(&s.cfg);
	sim_start(&s);
	s.hb.echo = true;
	core_out_reset(&s.o);
	beat(&s);
	a = find_action(&s, CA_HB_ACK);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->conn, 1);
	ck_assert_int_eq(a->seq, s.hb.seq);
	s.hb.echo = false;
	core_out_reset(&s.o);
	beat(&s);
	ck_assert_ptr_null(find_action(&s, CA_HB_ACK));
	sim_done(&s);
}
END_TEST

static int count_kind(const struct sim *s, enum core_action_kind k)
{
	int n = 0;

	for (size_t i = 0; i < s->o.n; i++)
		n += s->o.v[i].kind == k;
	return n;
}

/* A node that keeps dropping and coming back: one flapping event, not one
 * per change; it settles once the score has decayed below half. */
START_TEST(test_flapping_one_event_then_settles)
{
	struct sim s = { 0 };
	struct proto_hello h = { .priority = 1, .interval_ms = 100 };
	struct core_node_info ni;
	const struct core_action *a;
	uint64_t conn = 1;

	core_config_defaults(&s.cfg);
	sim_start(&s);
	util_strlcpy(h.node, "n1", sizeof h.node);
	util_strlcpy(h.group, "g", sizeof h.group);
	util_strlcpy(h.version, "t", sizeof h.version);
	util_strlcpy(h.boot_id, "b1", sizeof h.boot_id);
	core_out_reset(&s.o);
	for (int i = 0; i < 10; i++) {             /* 20 transitions in 10 s */
		core_disconnect(s.c, s.now, s.now, conn, "n1", &s.o);
		s.now += 500;
		core_hello(s.c, s.now, s.now, ++conn, &h, &s.o);
		s.now += 500;
		core_tick(s.c, s.now, s.now, &s.o);
	}
	ck_assert_int_eq(count_kind(&s, CA_FLAP), 1);
	a = find_action(&s, CA_FLAP);
	ck_assert(a->on);
	ck_assert_str_eq(a->node, "n1");
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert(ni.flapping);
	ck_assert(ni.flap_score > s.cfg.flap_threshold);

	/* quiet: the score halves every 60 s; ticking through 5 min settles it once */
	core_out_reset(&s.o);
	for (int i = 0; i < 3000; i++) {
		s.now += 100;
		s.hb.seq = s.seq++;
		core_heartbeat(s.c, s.now, s.now, conn, "n1", &s.hb, &s.o);
		core_tick(s.c, s.now, s.now, &s.o);
	}
	ck_assert_int_eq(count_kind(&s, CA_FLAP), 1);
	ck_assert(!find_action(&s, CA_FLAP)->on);
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert(!ni.flapping);
	ck_assert(ni.flap_score < s.cfg.flap_threshold / 2);
	sim_done(&s);
}
END_TEST

START_TEST(test_one_failure_is_not_flapping)
{
	struct sim s = { 0 };
	struct core_node_info ni;

	core_config_defaults(&s.cfg);
	sim_start(&s);
	core_out_reset(&s.o);
	core_disconnect(s.c, s.now, s.now, 1, "n1", &s.o);   /* alive -> suspect */
	s.now += 2000;
	core_tick(s.c, s.now, s.now, &s.o);                  /* -> failed */
	ck_assert_int_eq(count_kind(&s, CA_FLAP), 0);
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert(!ni.flapping);
	/* +1 at the drop (2 s ago, decayed), +1 at the failure (now) */
	ck_assert_double_eq_tol(ni.flap_score, 1.0 + exp2(-2000.0 / 60000.0), 1e-9);
	sim_done(&s);
}
END_TEST

START_TEST(test_health_config_checked)
{
	struct core_config cfg;
	char err[256];

	core_config_defaults(&cfg);
	cfg.degraded_after = 0;
	ck_assert_int_eq(core_config_check(&cfg, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "--degraded-after"));
	core_config_defaults(&cfg);
	cfg.degraded_error_rate = -1;
	ck_assert_int_eq(core_config_check(&cfg, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "--degraded-error-rate"));
	core_config_defaults(&cfg);
	cfg.flap_threshold = 1;
	ck_assert_int_eq(core_config_check(&cfg, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "--flap-threshold"));
	core_config_defaults(&cfg);
	ck_assert_int_eq(core_config_check(&cfg, err, sizeof err), 0);
}
END_TEST

/* The grace-period deadline the glue wakes up for. */
START_TEST(test_next_deadline)
{
	struct sim s = { 0 };
	struct core_node_info ni;

	core_config_defaults(&s.cfg);
	sim_start(&s);
	ck_assert_int_eq(core_next_deadline(s.c), INT64_MAX);          /* connected: none */
	core_disconnect(s.c, s.now, s.now, 1, "n1", &s.o);
	ck_assert_int_eq(core_next_deadline(s.c), s.now + 1000);        /* reconnect grace */
	s.now += 999;
	core_tick(s.c, s.now, s.now, &s.o);
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert_int_eq(ni.state, NODE_SUSPECT);
	s.now += 1;                                                     /* exactly at it */
	core_tick(s.c, s.now, s.now, &s.o);
	ck_assert_int_eq(core_node_find(s.c, "n1", s.now, &ni), 0);
	ck_assert_int_eq(ni.state, NODE_FAILED);
	ck_assert_int_eq(core_next_deadline(s.c), INT64_MAX);           /* failed: nothing due */
	core_remember(s.c, s.now, s.now, "r1", "g", 1, NODE_ALIVE);
	ck_assert_int_eq(core_next_deadline(s.c), s.now + 12000);       /* startup grace */
	sim_done(&s);
}
END_TEST

/* GET /metrics of the sim's core at now_ms, into w (free w->buf). */
static void metrics_text(struct sim *s, const struct collector_counters *k, int64_t now_ms,
			 struct jw *w)
{
	struct collector_facts f = { .instance = "c-1", .listen = "127.0.0.1:1", .auth_mode = "tokens",
				     .store_error = "" };

	jw_init_dynamic(w, 0);
	promtext_render(w, s->c, &f, k, now_ms, now_ms);
	ck_assert_int_ge(jw_finish(w), 0);
}

/* /metrics: every node in each family, phi and age only where they apply. */
START_TEST(test_metrics_text)
{
	struct sim s = { 0 };
	struct collector_counters k = { 0 };
	struct jw w;

	core_config_defaults(&s.cfg);
	sim_start(&s);
	beat(&s);
	core_remember(s.c, s.now, s.now, "r1", "g2", 1, NODE_ALIVE);   /* never heard from */
	metrics_text(&s, &k, s.now + 40, &w);
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_node_up{node=\"n1\",group=\"g\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_node_up{node=\"r1\",group=\"g2\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_node_state{node=\"n1\",group=\"g\",state=\"alive\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(w.buf,
		"vigil_node_state{node=\"r1\",group=\"g2\",state=\"suspect\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_node_heartbeat_age_seconds{node=\"n1\",group=\"g\"} 0.040\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_node_phi{node=\"n1\",group=\"g\"} "));
	ck_assert_ptr_null(strstr(w.buf, "vigil_node_heartbeat_age_seconds{node=\"r1\""));
	ck_assert_ptr_null(strstr(w.buf, "vigil_node_phi{node=\"r1\""));
	ck_assert_ptr_null(strstr(w.buf, "vigil_node_last_seen_timestamp_seconds{node=\"r1\""));
	free(w.buf);
	sim_done(&s);
}
END_TEST

/* The loop histograms: cumulative buckets, +Inf, sum and count. */
START_TEST(test_metrics_loop_histogram)
{
	struct sim s = { 0 };
	struct collector_counters k = { 0 };
	struct jw w;

	core_config_defaults(&s.cfg);
	sim_start(&s);
	loop_hist_add(&k.tick_lag, 0.0004);      /* <= 0.001 */
	loop_hist_add(&k.tick_lag, 0.001);       /* le is inclusive */
	loop_hist_add(&k.tick_lag, 0.0031);      /* <= 0.005 */
	loop_hist_add(&k.tick_lag, 9.0);         /* only +Inf */
	loop_hist_add(&k.tick_lag, -1.0);        /* a clock oddity counts as 0 */
	metrics_text(&s, &k, s.now, &w);
	ck_assert_ptr_nonnull(strstr(w.buf, "# TYPE vigil_loop_lag_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_loop_lag_seconds_bucket{le=\"0.001\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_loop_lag_seconds_bucket{le=\"0.002\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_loop_lag_seconds_bucket{le=\"0.005\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_loop_lag_seconds_bucket{le=\"5\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_loop_lag_seconds_bucket{le=\"+Inf\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_loop_lag_seconds_sum 9.004500\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_loop_lag_seconds_count 5\n"));
	ck_assert_ptr_nonnull(strstr(w.buf, "vigil_tick_duration_seconds_count 0\n"));
	free(w.buf);
	sim_done(&s);
}
END_TEST

/* ---- the operator's view ---------------------------------------------- */

START_TEST(test_view_shows_health)
{
	static const char json[] =
		"{\"collector\":{},\"nodes\":["
		"{\"name\":\"db-1\",\"group\":\"db\",\"state\":\"degraded\",\"rule\":\"check_critical\","
		"\"role\":\"member\",\"last_heartbeat_ms_ago\":40,\"phi\":0.1,\"rtt_ms\":3,"
		"\"flapping\":true,\"health\":\"check pg critical: refused\",\"checks_critical\":1,"
		"\"checks\":[{\"name\":\"pg\",\"status\":\"critical\"},{\"name\":\"disk\",\"status\":\"passing\"}],"
		"\"metrics\":{},\"version\":\"0.1.0\"}],\"groups\":[]}";
	struct model m;
	struct jw w;
	char err[128];

	model_init(&m);
	ck_assert_int_eq(model_apply(&m, json, sizeof json - 1, true, 0, err, sizeof err), 0);
	ck_assert_int_eq(m.nodes[0].rtt_ms, 3);
	ck_assert(m.nodes[0].flapping);
	ck_assert_int_eq(m.nodes[0].nchecks, 2);
	ck_assert_int_eq(m.nodes[0].checks_critical, 1);
	jw_init_dynamic(&w, 0);
	render_nodes(&m, 0, true, &w);
	ck_assert_int_ge(jw_finish(&w), 0);
	ck_assert_str_eq(w.buf,
		"NODE  GROUP  STATE     ROLE    LAST-HB  PHI   RTT  CHECKS  CPU%  MEM%  LOAD1  DISK%  VERSION  WHY\n"
		"db-1  db     degraded  member  40ms     0.10  3ms  1/2 ok  -     -     -      -      0.1.0    "
		"check_critical: check pg critical: refused [FLAPPING]\n");
	free(w.buf);
	model_done(&m);
}
END_TEST

Suite *health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, test_hb_checks_roundtrip);
	tcase_add_test(tc, test_hb_defaults);
	tcase_add_loop_test(tc, test_hb_bad, 0, (int)(sizeof bad_hb / sizeof bad_hb[0]));
	tcase_add_test(tc, test_hb_too_many_checks);
	tcase_add_test(tc, test_hb_ack_roundtrip);
	suite_add_tcase(s, tc);
	tc = tcase_create("degraded");
	tcase_add_test(tc, test_critical_check_degrades_at_once);
	tcase_add_test(tc, test_error_rate_needs_a_streak);
	tcase_add_test(tc, test_latency_and_rtt_thresholds);
	tcase_add_test(tc, test_thresholds_off_by_default);
	tcase_add_test(tc, test_degraded_node_still_fails_by_phi);
	tcase_add_test(tc, test_echo_answered);
	tcase_add_test(tc, test_health_config_checked);
	tcase_add_test(tc, test_next_deadline);
	tcase_add_test(tc, test_metrics_text);
	tcase_add_test(tc, test_metrics_loop_histogram);
	suite_add_tcase(s, tc);
	tc = tcase_create("view");
	tcase_add_test(tc, test_view_shows_health);
	suite_add_tcase(s, tc);
	tc = tcase_create("flapping");
	tcase_add_test(tc, test_flapping_one_event_then_settles);
	tcase_add_test(tc, test_one_failure_is_not_flapping);
	suite_add_tcase(s, tc);
	return s;
}
