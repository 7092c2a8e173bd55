/* check_statsd.c — unit tests for agent/statsd: tables of good and bad
 * lines for the parser, the aggregator stepped by hand (rates, means and
 * maxima, gauges, resets, the name and output limits), and the UDP listener
 * end to end on 127.0.0.1 with an ephemeral port.  Every test builds its own
 * objects. */
#include "agent/statsd.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/util.h"

#include "suites.h"

#define NAME60 "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij"

/* --- parser ---------------------------------------------------------------- */

static const struct {
	const char *line;
	const char *name;
	enum statsd_type type;
	double value;
	bool delta;
} good_lines[] = {
	{ "hits:1|c", "hits", STATSD_COUNTER, 1, false },
	{ "hits:3|c|@0.1", "hits", STATSD_COUNTER, 30, false },
	{ "hits:1|c|@1", "hits", STATSD_COUNTER, 1, false },
	{ "hits:-2|c", "hits", STATSD_COUNTER, -2, false },
	{ "hits:+2|c", "hits", STATSD_COUNTER, 2, false },
	{ "a.b_c-D:1e3|c", "a.b_c-D", STATSD_COUNTER, 1000, false },
	{ "lat:12.5|ms", "lat", STATSD_TIMER, 12.5, false },
	{ "lat:0|ms", "lat", STATSD_TIMER, 0, false },
	{ "lat:3|ms|@0.5", "lat", STATSD_TIMER, 3, false },
	{ "q:42|g", "q", STATSD_GAUGE, 42, false },
	{ "q:+5|g", "q", STATSD_GAUGE, 5, true },
	{ "q:-5|g", "q", STATSD_GAUGE, -5, true },
	{ "q:.5|g", "q", STATSD_GAUGE, 0.5, false },
	{ NAME60 ":7|c", NAME60, STATSD_COUNTER, 7, false },
};

START_TEST(test_parse_good)
{
	struct statsd_sample s;
	char err[256] = "";
	const char *line = good_lines[_i].line;

	ck_assert_msg(statsd_parse_line(line, strlen(line), &s, err, sizeof(err)) == 0,
		      "%s: %s", line, err);
	ck_assert_str_eq(s.name, good_lines[_i].name);
	ck_assert_int_eq(s.type, good_lines[_i].type);
	ck_assert_double_eq_tol(s.value, good_lines[_i].value, 1e-9);
	ck_assert_int_eq(s.delta, good_lines[_i].delta);
}
END_TEST

static const struct {
	const char *line;
	const char *why;      /* a substring of the error */
} bad_lines[] = {
	{ "", "expected NAME:VALUE|TYPE" },
	{ "hits", "expected NAME:VALUE|TYPE" },
	{ ":1|c", "name must be 1..60" },
	{ NAME60 "x:1|c", "name must be 1..60" },
	{ "hi ts:1|c", "name may only use" },
	{ "hits/x:1|c", "name may only use" },
	{ "h\xc3\xa9:1|c", "name may only use" },
	{ "hits:1", "no type" },
	{ "hits:|c", "finite decimal" },
	{ "hits:abc|c", "finite decimal" },
	{ "hits:nan|c", "finite decimal" },
	{ "hits:inf|c", "finite decimal" },
	{ "hits:0x10|c", "finite decimal" },
	{ "hits:1e999|c", "finite decimal" },
	{ "hits:1..2|c", "finite decimal" },
	{ "hits:-|c", "finite decimal" },
	{ "hits: 1|c", "finite decimal" },
	{ "hits:1|", "type '' not supported" },
	{ "hits:1|s", "type 's' not supported" },
	{ "hits:1|h", "type 'h' not supported" },
	{ "hits:1|cc", "type 'cc' not supported" },
	{ "hits:1|C", "type 'C' not supported" },
	{ "hits:1|c|@0", "sample rate" },
	{ "hits:1|c|@1.5", "sample rate" },
	{ "hits:1|c|@-0.5", "sample rate" },
	{ "hits:1|c|@abc", "sample rate" },
	{ "hits:1|c|@", "sample rate" },
	{ "hits:1e300|c|@1e-300", "overflows" },
	{ "hits:1|c|#env", "no tags" },
	{ "hits:1|c|", "no tags" },
	{ "hits:1|c|@0.5|x", "nothing may follow" },
	{ "q:1|g|@0.5", "gauge" },
	{ "lat:-1|ms", "cannot be negative" },
	{ "a:1|c:2|c", "one value per line" },
	{ "a:1:2|c", "one value per line" },
	{ "hits:1|c|#env:prod", "one value per line" },
};

START_TEST(test_parse_bad)
{
	struct statsd_sample s;
	char err[256] = "";
	const char *line = bad_lines[_i].line;

	ck_assert_int_eq(statsd_parse_line(line, strlen(line), &s, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad_lines[_i].why), "'%s': got '%s', want '%s'", line, err,
		      bad_lines[_i].why);
	ck_assert_msg(strncmp(err + 1, line, strlen(line) > 80 ? 80 : strlen(line)) == 0,
		      "'%s' not quoted in '%s'", line, err);
}
END_TEST

START_TEST(test_parse_length_bounded)
{
	struct statsd_sample s;
	char err[256];
	const char buf[] = "hits:1|cGARBAGE";

	/* Only len bytes count: no NUL needed. */
	ck_assert_int_eq(statsd_parse_line(buf, 8, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.name, "hits");
	ck_assert_double_eq(s.value, 1);
	ck_assert_int_eq(statsd_parse_line(buf, 7, &s, err, sizeof(err)), -1);
	ck_assert_int_eq(statsd_parse_line(buf, 0, &s, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_parse_long_line_quoted_short)
{
	struct statsd_sample s;
	char line[2000], err[256];

	memset(line, 'x', sizeof(line));
	ck_assert_int_eq(statsd_parse_line(line, sizeof(line), &s, err, sizeof(err)), -1);
	ck_assert_uint_lt(strlen(err), 200);
}
END_TEST

/* --- aggregator ------------------------------------------------------------ */

static void add_line(struct statsd_agg *a, const char *line)
{
	struct statsd_sample s;
	char err[256] = "";

	ck_assert_msg(statsd_parse_line(line, strlen(line), &s, err, sizeof(err)) == 0, "%s", err);
	statsd_agg_add(a, &s);
}

static const struct proto_app_counter *app_find(const struct proto_metrics *m, const char *name)
{
	int i;

	for (i = 0; i < m->napp; i++)
		if (strcmp(m->app[i].name, name) == 0)
			return &m->app[i];
	return NULL;
}

static double app_value(const struct proto_metrics *m, const char *name)
{
	const struct proto_app_counter *c = app_find(m, name);

	ck_assert_msg(c != NULL, "%s not reported", name);
	return c->value;
}

START_TEST(test_agg_counter_rate)
{
	struct statsd_agg a;
	struct proto_metrics m;
	int i;

	statsd_agg_init(&a);
	for (i = 0; i < 10; i++)
		add_line(&a, "hits:1|c");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 2000, &m);
	ck_assert_int_eq(m.napp, 1);
	ck_assert_str_eq(m.app[0].name, "hits");
	ck_assert_double_eq_tol(m.app[0].value, 5.0, 1e-9);   /* 10 in 2 s */

	/* Idle interval: still reported, now 0. */
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 2000, &m);
	ck_assert_int_eq(m.napp, 1);
	ck_assert_double_eq(app_value(&m, "hits"), 0.0);

	/* Sample rate: 3 samples at 1/10 = 30 events in 3 s. */
	for (i = 0; i < 3; i++)
		add_line(&a, "hits:1|c|@0.1");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 3000, &m);
	ck_assert_double_eq_tol(app_value(&m, "hits"), 10.0, 1e-9);
}
END_TEST

START_TEST(test_agg_timer)
{
	struct statsd_agg a;
	struct proto_metrics m;

	statsd_agg_init(&a);
	add_line(&a, "lat:10|ms");
	add_line(&a, "lat:20|ms");
	add_line(&a, "lat:60|ms");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_int_eq(m.napp, 2);
	ck_assert_str_eq(m.app[0].name, "lat");
	ck_assert_double_eq_tol(m.app[0].value, 30.0, 1e-9);
	ck_assert_str_eq(m.app[1].name, "lat.max");
	ck_assert_double_eq(m.app[1].value, 60.0);

	/* No samples: the timer is omitted. */
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_int_eq(m.napp, 0);

	/* A new interval starts from scratch: max of {0} is 0. */
	add_line(&a, "lat:0|ms");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_double_eq(app_value(&m, "lat"), 0.0);
	ck_assert_double_eq(app_value(&m, "lat.max"), 0.0);
}
END_TEST

START_TEST(test_agg_timer_max_name)
{
	struct statsd_agg a;
	struct proto_metrics m;

	statsd_agg_init(&a);
	add_line(&a, NAME60 ":5|ms");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_int_eq(m.napp, 2);
	ck_assert_str_eq(m.app[1].name, NAME60 ".max");
	ck_assert_uint_eq(strlen(m.app[1].name), PROTO_NAME_MAX);
}
END_TEST

START_TEST(test_agg_gauge)
{
	struct statsd_agg a;
	struct proto_metrics m;

	statsd_agg_init(&a);
	add_line(&a, "q:+3|g");           /* a delta on a new gauge starts from 0 */
	add_line(&a, "q:5|g");
	add_line(&a, "q:+3|g");
	add_line(&a, "q:-1|g");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_double_eq(app_value(&m, "q"), 7.0);

	/* Kept across intervals. */
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_double_eq(app_value(&m, "q"), 7.0);
	add_line(&a, "q:2|g");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_double_eq(app_value(&m, "q"), 2.0);
}
END_TEST

START_TEST(test_agg_mixed_order_and_reset)
{
	struct statsd_agg a;
	struct proto_metrics m;

	statsd_agg_init(&a);
	add_line(&a, "b:1|g");
	add_line(&a, "a:4|c");
	add_line(&a, "c:8|ms");
	add_line(&a, "a:4|c");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_int_eq(m.napp, 4);       /* in order of first sight */
	ck_assert_str_eq(m.app[0].name, "b");
	ck_assert_str_eq(m.app[1].name, "a");
	ck_assert_double_eq(m.app[1].value, 8.0);
	ck_assert_str_eq(m.app[2].name, "c");
	ck_assert_str_eq(m.app[3].name, "c.max");

	add_line(&a, "a:1|c");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 500, &m);
	ck_assert_int_eq(m.napp, 2);       /* b, a; c idle */
	ck_assert_double_eq(app_value(&m, "a"), 2.0);
	ck_assert_ptr_null(app_find(&m, "c"));
}
END_TEST

START_TEST(test_agg_type_conflict)
{
	struct statsd_agg a;
	struct proto_metrics m;

	statsd_agg_init(&a);
	add_line(&a, "x:1|c");
	add_line(&a, "x:100|g");
	add_line(&a, "x:5|ms");
	ck_assert_uint_eq(a.conflicts, 2);
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_int_eq(m.napp, 1);
	ck_assert_double_eq(app_value(&m, "x"), 1.0);
}
END_TEST

START_TEST(test_agg_name_limit)
{
	struct statsd_agg a;
	struct proto_metrics m;
	char line[64];
	int i;

	statsd_agg_init(&a);
	for (i = 0; i < STATSD_METRICS_MAX + 5; i++) {
		snprintf(line, sizeof(line), "g%d:%d|g", i, i);
		add_line(&a, line);
	}
	ck_assert_int_eq(a.n, STATSD_METRICS_MAX);
	ck_assert_uint_eq(a.dropped, 5);
	add_line(&a, "g0:100|g");             /* a known name still updates */
	ck_assert_uint_eq(a.dropped, 5);

	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_int_eq(m.napp, STATSD_METRICS_MAX);
	ck_assert_double_eq(app_value(&m, "g0"), 100.0);
	ck_assert_ptr_null(app_find(&m, "g60"));
}
END_TEST

START_TEST(test_agg_output_limit)
{
	struct statsd_agg a;
	struct proto_metrics m;
	char line[64];
	int i;

	statsd_agg_init(&a);
	for (i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "t%d:%d|ms", i, i);
		add_line(&a, line);
	}
	/* 20 values to append after 50 already there: 14 fit. */
	memset(&m, 0, sizeof(m));
	m.napp = 50;
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_int_eq(m.napp, PROTO_APP_MAX);
	ck_assert_uint_eq(a.overflow, 6);
	ck_assert_str_eq(m.app[50].name, "t0");
	ck_assert_str_eq(m.app[51].name, "t0.max");
	ck_assert_str_eq(m.app[63].name, "t6.max");

	/* Full already: nothing appended, everything counted. */
	add_line(&a, "t0:1|ms");
	statsd_agg_flush(&a, 1000, &m);
	ck_assert_int_eq(m.napp, PROTO_APP_MAX);
	ck_assert_uint_eq(a.overflow, 8);
}
END_TEST

START_TEST(test_agg_tiny_interval)
{
	struct statsd_agg a;
	struct proto_metrics m;

	statsd_agg_init(&a);
	add_line(&a, "hits:2|c");
	memset(&m, 0, sizeof(m));
	statsd_agg_flush(&a, 0, &m);          /* counts as 1 ms */
	ck_assert_double_eq(app_value(&m, "hits"), 2000.0);
}
END_TEST

/* --- listener -------------------------------------------------------------- */

static void send_udp(int port, const char *text)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 (ssize_t)strlen(text));
	close(fd);
}

/* Poll (up to 1 s) until `want` lines have been seen. */
static uint64_t wait_lines(struct statsd *sd, uint64_t want)
{
	struct timespec ts = { 0, 5 * 1000000L };
	uint64_t lines = 0;
	int i;

	for (i = 0; i < 200; i++) {
		statsd_stats(sd, &lines, NULL, NULL, 0);
		if (lines >= want)
			break;
		nanosleep(&ts, NULL);
	}
	return lines;
}

START_TEST(test_listener_end_to_end)
{
	char err[256] = "", last[256];
	struct proto_metrics m;
	struct statsd *sd = statsd_start("127.0.0.1", 0, err, sizeof(err));
	uint64_t lines, bad;
	int port;

	ck_assert_msg(sd != NULL, "%s", err);
	port = statsd_port(sd);
	ck_assert_int_gt(port, 0);
	statsd_stats(sd, &lines, &bad, last, sizeof(last));
	ck_assert_uint_eq(lines, 0);
	ck_assert_str_eq(last, "");

	send_udp(port, "hits:1|c\nhits:2|c\r\n\nbogus line\nlat:5|ms\n");
	send_udp(port, "g1:3|g");
	ck_assert_uint_eq(wait_lines(sd, 5), 5);
	statsd_stats(sd, &lines, &bad, last, sizeof(last));
	ck_assert_uint_eq(bad, 1);
	ck_assert_msg(strstr(last, "bogus line"), "%s", last);

	memset(&m, 0, sizeof(m));
	statsd_flush(sd, 1000, &m);
	ck_assert_int_eq(m.napp, 4);
	ck_assert_double_eq(app_value(&m, "hits"), 3.0);
	ck_assert_double_eq(app_value(&m, "lat"), 5.0);
	ck_assert_double_eq(app_value(&m, "lat.max"), 5.0);
	ck_assert_double_eq(app_value(&m, "g1"), 3.0);
	statsd_stop(sd);
}
END_TEST

START_TEST(test_listener_errors)
{
	char err[256] = "";
	struct statsd *a, *b;

	ck_assert_ptr_null(statsd_start("127.0.0.1", 70000, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "out of range"));
	ck_assert_ptr_null(statsd_start("127.0.0.1", -1, err, sizeof(err)));
	ck_assert_ptr_null(statsd_start("192.0.2.1", 0, err, sizeof(err)));   /* not ours */
	ck_assert_msg(strstr(err, "bind 192.0.2.1"), "%s", err);
	ck_assert_ptr_null(statsd_start("not an address", 0, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not an address"), "%s", err);

	a = statsd_start(NULL, 0, err, sizeof(err));        /* 127.0.0.1 */
	ck_assert_msg(a != NULL, "%s", err);
	b = statsd_start("127.0.0.1", statsd_port(a), err, sizeof(err));
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(err, "in use"), "%s", err);
	statsd_stop(a);
	statsd_stop(NULL);
}
END_TEST

START_TEST(test_listener_stop_prompt)
{
	char err[256] = "";
	struct statsd *sd = statsd_start("127.0.0.1", 0, err, sizeof(err));
	int64_t t0;

	ck_assert_msg(sd != NULL, "%s", err);
	t0 = util_mono_ms();
	statsd_stop(sd);
	ck_assert_int_lt(util_mono_ms() - t0, 200);
}
END_TEST

START_TEST(test_listener_many_datagrams)
{
	char err[256] = "", line[64];
	struct proto_metrics m;
	struct statsd *sd = statsd_start("127.0.0.1", 0, err, sizeof(err));
	int i;

	ck_assert_msg(sd != NULL, "%s", err);
	for (i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "n:1|c\nt:%d|ms", i);
		send_udp(statsd_port(sd), line);
	}
	ck_assert_uint_eq(wait_lines(sd, 200), 200);
	memset(&m, 0, sizeof(m));
	statsd_flush(sd, 10000, &m);
	ck_assert_double_eq_tol(app_value(&m, "n"), 10.0, 1e-9);
	ck_assert_double_eq_tol(app_value(&m, "t"), 49.5, 1e-9);
	ck_assert_double_eq(app_value(&m, "t.max"), 99.0);
	statsd_stop(sd);
}
END_TEST

Suite *statsd_suite(void)
{
	Suite *s = suite_create("statsd");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_good, 0, sizeof(good_lines) / sizeof(good_lines[0]));
	tcase_add_loop_test(tc, test_parse_bad, 0, sizeof(bad_lines) / sizeof(bad_lines[0]));
	tcase_add_test(tc, test_parse_length_bounded);
	tcase_add_test(tc, test_parse_long_line_quoted_short);
	suite_add_tcase(s, tc);

	tc = tcase_create("aggregate");
	tcase_add_test(tc, test_agg_counter_rate);
	tcase_add_test(tc, test_agg_timer);
	tcase_add_test(tc, test_agg_timer_max_name);
	tcase_add_test(tc, test_agg_gauge);
	tcase_add_test(tc, test_agg_mixed_order_and_reset);
	tcase_add_test(tc, test_agg_type_conflict);
	tcase_add_test(tc, test_agg_name_limit);
	tcase_add_test(tc, test_agg_output_limit);
	tcase_add_test(tc, test_agg_tiny_interval);
	suite_add_tcase(s, tc);

	tc = tcase_create("listener");
	tcase_add_test(tc, test_listener_end_to_end);
	tcase_add_test(tc, test_listener_errors);
	tcase_add_test(tc, test_listener_stop_prompt);
	tcase_add_test(tc, test_listener_many_datagrams);
	suite_add_tcase(s, tc);

	return s;
}
