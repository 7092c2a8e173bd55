/* check_urls.c — unit tests for agent/urls: tables of good and bad collector
 * addresses (tcase_add_loop_test), the error text for every refusal, length
 * limits, and format/parse round trips. */
#include "proto/urls.h"

#include <string.h>

#include "suites.h"

struct url_case {
	const char *input;
	bool expect_ok;
	const char *host;
	int port;
	const char *path;
	bool tls;
	const char *canon;      /* good: ws_url_format(); bad: a word the error must hold */
};

static const struct url_case good[] = {
	{ "ws://127.0.0.1:7070/", true, "127.0.0.1", 7070, "/", false, "ws://127.0.0.1:7070/" },
	{ "ws://collector", true, "collector", 7070, "/", false, "ws://collector:7070/" },
	{ "wss://collector", true, "collector", 7443, "/", true, "wss://collector:7443/" },
	{ "ws://host:1", true, "host", 1, "/", false, "ws://host:1/" },
	{ "ws://host:65535", true, "host", 65535, "/", false, "ws://host:65535/" },
	{ "wss://c.example.org:9000/vigil/agent", true, "c.example.org", 9000, "/vigil/agent", true,
	  "wss://c.example.org:9000/vigil/agent" },
	{ "ws://my-host.lan/ws", true, "my-host.lan", 7070, "/ws", false, "ws://my-host.lan:7070/ws" },
	{ "ws://[::1]:7070", true, "::1", 7070, "/", false, "ws://[::1]:7070/" },
	{ "wss://[::1]", true, "::1", 7443, "/", true, "wss://[::1]:7443/" },
	{ "ws://[fe80::1:AbCd]/x", true, "fe80::1:AbCd", 7070, "/x", false, "ws://[fe80::1:AbCd]:7070/x" },
	{ "ws://[2001:db8::7]:8080/a/b?c=d", true, "2001:db8::7", 8080, "/a/b?c=d", false,
	  "ws://[2001:db8::7]:8080/a/b?c=d" },
	{ "WSS://Host:443/", true, "Host", 443, "/", true, "wss://Host:443/" },
	{ "ws://h:00080", true, "h", 80, "/", false, "ws://h:80/" },
	{ "ws://10.0.0.1:7070/path%20enc", true, "10.0.0.1", 7070, "/path%20enc", false,
	  "ws://10.0.0.1:7070/path%20enc" },
};

static const struct url_case bad[] = {
	{ "", false, NULL, 0, NULL, false, "empty" },
	{ "collector:7070", false, NULL, 0, NULL, false, "scheme" },
	{ "127.0.0.1", false, NULL, 0, NULL, false, "scheme" },
	{ "http://collector:7070/", false, NULL, 0, NULL, false, "'http'" },
	{ "https://collector/", false, NULL, 0, NULL, false, "use ws:// or wss://" },
	{ "://collector", false, NULL, 0, NULL, false, "scheme" },
	{ "wsx://collector", false, NULL, 0, NULL, false, "'wsx'" },
	{ "host:7070/a://b", false, NULL, 0, NULL, false, "missing scheme" },
	{ "ws://", false, NULL, 0, NULL, false, "host" },
	{ "ws:///path", false, NULL, 0, NULL, false, "host" },
	{ "ws://:7070", false, NULL, 0, NULL, false, "host" },
	{ "ws://[]:7070", false, NULL, 0, NULL, false, "host" },
	{ "ws://host:", false, NULL, 0, NULL, false, "port" },
	{ "ws://host:abc", false, NULL, 0, NULL, false, "'abc'" },
	{ "ws://host:70a0", false, NULL, 0, NULL, false, "not a number" },
	{ "ws://host:-1", false, NULL, 0, NULL, false, "not a number" },
	{ "ws://host:+80", false, NULL, 0, NULL, false, "not a number" },
	{ "ws://host:0", false, NULL, 0, NULL, false, "out of range" },
	{ "ws://host:65536", false, NULL, 0, NULL, false, "'65536'" },
	{ "ws://host:99999999999999999999999", false, NULL, 0, NULL, false, "out of range" },
	{ "ws://host:70:70", false, NULL, 0, NULL, false, "brackets" },
	{ "ws://::1:7070", false, NULL, 0, NULL, false, "brackets" },
	{ "ws://ho_st", false, NULL, 0, NULL, false, "'_'" },
	{ "ws://user@host", false, NULL, 0, NULL, false, "'@'" },
	{ "ws://ho st", false, NULL, 0, NULL, false, "host" },
	{ "ws://h\tost", false, NULL, 0, NULL, false, "0x09" },
	{ "ws://h\xc3\xa9st", false, NULL, 0, NULL, false, "host" },
	{ "ws://[::1", false, NULL, 0, NULL, false, "']'" },
	{ "ws://[::g]", false, NULL, 0, NULL, false, "'g'" },
	{ "ws://[abc]", false, NULL, 0, NULL, false, "not an IPv6" },
	{ "ws://[::1]x", false, NULL, 0, NULL, false, "'x'" },
	{ "ws://[::1]:0", false, NULL, 0, NULL, false, "out of range" },
	{ "ws://host/a b", false, NULL, 0, NULL, false, "space" },
	{ "ws://host/a\tb", false, NULL, 0, NULL, false, "control" },
	{ "ws://host/a\x7f", false, NULL, 0, NULL, false, "control" },
	{ "ws://host/\n", false, NULL, 0, NULL, false, "control" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_good)
{
	const struct url_case *c = &good[_i];
	struct ws_url u;
	char err[256] = "";

	ck_assert(c->expect_ok);
	ck_assert_msg(ws_url_parse(c->input, &u, err, sizeof(err)) == 0,
		      "'%s' refused: %s", c->input, err);
	ck_assert_str_eq(u.host, c->host);
	ck_assert_int_eq(u.port, c->port);
	ck_assert_str_eq(u.path, c->path);
	ck_assert_int_eq(u.tls, c->tls);
}
END_TEST

START_TEST(test_bad)
{
	const struct url_case *c = &bad[_i];
	struct ws_url u;
	char err[256] = "";

	memset(&u, 0x5a, sizeof(u));
	ck_assert(!c->expect_ok);
	ck_assert_msg(ws_url_parse(c->input, &u, err, sizeof(err)) == -1,
		      "'%s' accepted", c->input);
	ck_assert_msg(err[0] != '\0', "no error text for '%s'", c->input);
	ck_assert_msg(strstr(err, c->canon) != NULL,
		      "error for '%s' is \"%s\", expected it to mention \"%s\"",
		      c->input, err, c->canon);
	ck_assert_int_eq(u.port, 0x5a5a5a5a);   /* out untouched */
}
END_TEST

START_TEST(test_bad_no_err_buffer)
{
	struct ws_url u;
	char err[8];

	ck_assert_int_eq(ws_url_parse(bad[_i].input, &u, NULL, 0), -1);
	/* A short buffer is truncated but still terminated. */
	ck_assert_int_eq(ws_url_parse(bad[_i].input, &u, err, sizeof(err)), -1);
	ck_assert_uint_lt(strlen(err), sizeof(err));
}
END_TEST

START_TEST(test_null_input)
{
	struct ws_url u;
	char err[128] = "";

	ck_assert_int_eq(ws_url_parse(NULL, &u, err, sizeof(err)), -1);
	ck_assert(strstr(err, "empty") != NULL);
}
END_TEST

/* --- limits -------------------------------------------------------------- */

START_TEST(test_host_length)
{
	char text[600], err[256];
	struct ws_url u;

	strcpy(text, "ws://");
	memset(text + 5, 'h', 255);
	strcpy(text + 5 + 255, ":7070/");
	ck_assert_int_eq(ws_url_parse(text, &u, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(u.host), 255);

	memset(text + 5, 'h', 256);
	strcpy(text + 5 + 256, ":7070/");
	ck_assert_int_eq(ws_url_parse(text, &u, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "too long") && strstr(err, "256"), "%s", err);
}
END_TEST

START_TEST(test_ipv6_host_length)
{
	char text[600], err[256];
	struct ws_url u;

	strcpy(text, "ws://[");
	memset(text + 6, ':', 256);
	strcpy(text + 6 + 256, "]:7070/");
	ck_assert_int_eq(ws_url_parse(text, &u, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);
}
END_TEST

START_TEST(test_path_length)
{
	char text[600], err[256];
	struct ws_url u;

	strcpy(text, "ws://h:1/");
	memset(text + 9, 'p', 254);
	text[9 + 254] = '\0';
	ck_assert_int_eq(ws_url_parse(text, &u, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(u.path), 255);

	strcat(text, "p");
	ck_assert_int_eq(ws_url_parse(text, &u, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "path too long") != NULL, "%s", err);
}
END_TEST

/* --- format -------------------------------------------------------------- */

START_TEST(test_round_trip)
{
	const struct url_case *c = &good[_i];
	struct ws_url u, v;
	char buf[600], err[256];

	ck_assert_int_eq(ws_url_parse(c->input, &u, err, sizeof(err)), 0);
	ws_url_format(&u, buf, sizeof(buf));
	ck_assert_str_eq(buf, c->canon);
	ck_assert_msg(ws_url_parse(buf, &v, err, sizeof(err)) == 0, "%s: %s", buf, err);
	ck_assert_str_eq(v.host, u.host);
	ck_assert_int_eq(v.port, u.port);
	ck_assert_str_eq(v.path, u.path);
	ck_assert_int_eq(v.tls, u.tls);
}
END_TEST

START_TEST(test_format_truncates)
{
	struct ws_url u;
	char buf[10], err[64];

	ck_assert_int_eq(ws_url_parse("wss://[::1]:7443/long/path", &u, err, sizeof(err)), 0);
	ws_url_format(&u, buf, sizeof(buf));
	ck_assert_str_eq(buf, "wss://[::");
	ws_url_format(&u, buf, 0);      /* no room: nothing written, no crash */
}
END_TEST

START_TEST(test_format_max_fields)
{
	struct ws_url u, v;
	char buf[600], err[256];

	memset(&u, 0, sizeof(u));
	u.tls = true;
	memset(u.host, 'a', 255);
	u.port = 65535;
	u.path[0] = '/';
	memset(u.path + 1, 'b', 254);
	ws_url_format(&u, buf, sizeof(buf));
	ck_assert_int_eq(ws_url_parse(buf, &v, err, sizeof(err)), 0);
	ck_assert_str_eq(v.host, u.host);
	ck_assert_str_eq(v.path, u.path);
}
END_TEST

Suite *urls_suite(void)
{
	Suite *s = suite_create("urls");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_good, 0, N(good));
	tcase_add_loop_test(tc, test_bad, 0, N(bad));
	tcase_add_loop_test(tc, test_bad_no_err_buffer, 0, N(bad));
	tcase_add_test(tc, test_null_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_host_length);
	tcase_add_test(tc, test_ipv6_host_length);
	tcase_add_test(tc, test_path_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_round_trip, 0, N(good));
	tcase_add_test(tc, test_format_truncates);
	tcase_add_test(tc, test_format_max_fields);
	suite_add_tcase(s, tc);

	return s;
}
