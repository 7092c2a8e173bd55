/* check_config.c — unit tests for collector/config: a full file (options
 * in order with their lines, quotes, flags, continued rules, sinks and
 * their defaults), every error path as "FILE:LINE: reason", and reading
 * from disk (missing file, directory, a real file). */
#include <check.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/config.h"

Suite *config_suite(void);

static const struct option known[] = {
	{ "listen", required_argument, NULL, 1 },
	{ "db", required_argument, NULL, 2 },
	{ "lease-ms", required_argument, NULL, 3 },
	{ "verbose", no_argument, NULL, 4 },
	{ "tls-cert", required_argument, NULL, 5 },
	{ "config", required_argument, NULL, 6 },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int parse(const char *text, struct config *c, char *err, size_t errlen)
{
	return config_parse_text("vigil.conf", text, strlen(text), known, c, err, errlen);
}

START_TEST(test_good_file)
{
	const char *text =
		"# vigil collector\n"
		"listen 127.0.0.1:7070\r\n"
		"\n"
		"   db \"/var/lib/vigil/my db.sqlite\"   # quoted, with a space\n"
		"lease-ms 2000\n"
		"verbose\n"
		"rule node_failed severity=critical\n"
		"rule node_suspect for=45s severity=warning repeat=never\n"
		"rule cpu_high metric=cpu op=> value=90 for=2m\n"
		"    # a comment inside the rule\n"
		"    severity=critical group=web\n"
		"rule errors_high metric=errors op=gt value=5/s for=30s\n"
		"rule node_flapping off\n"
		"rule hook_failed resolve-after=2h\n"
		"sink exec /bin/true timeout=3s retries=5\n"
		"sink alertmanager http://127.0.0.1:9093/ repeat=2m min-severity=warning\n";
	struct config c;
	char err[256] = "";
	const struct config_opt *o;

	config_init(&c);
	ck_assert_msg(parse(text, &c, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(c.nopts, 4);
	ck_assert_str_eq(c.opts[0].name, "listen");
	ck_assert_str_eq(c.opts[0].value, "127.0.0.1:7070");   /* CR stripped */
	ck_assert_int_eq(c.opts[0].line, 2);
	ck_assert_str_eq(c.opts[1].name, "db");
	ck_assert_str_eq(c.opts[1].value, "/var/lib/vigil/my db.sqlite");
	ck_assert_int_eq(c.opts[1].line, 4);
	ck_assert_str_eq(c.opts[2].value, "2000");
	o = config_opt_find(&c, "verbose");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(o->value, "");
	ck_assert_int_eq(o->line, 6);
	ck_assert_ptr_null(config_opt_find(&c, "tls-cert"));

	ck_assert_uint_eq(c.nrules, 6);
	ck_assert_str_eq(c.rules[0].name, "node_failed");
	ck_assert_int_eq(c.rules[0].kind, AR_NODE_FAILED);
	ck_assert_int_eq(c.rules[0].severity, ASEV_CRITICAL);
	ck_assert_int_eq(c.rules[1].for_ms, 45000);
	ck_assert_int_eq(c.rules[1].repeat_ms, 0);
	ck_assert_str_eq(c.rules[2].name, "cpu_high");
	ck_assert_int_eq(c.rules[2].kind, AR_METRIC);
	ck_assert_str_eq(c.rules[2].metric, "cpu");
	ck_assert(!c.rules[2].app);
	ck_assert_int_eq(c.rules[2].op, AOP_GT);
	ck_assert_double_eq_tol(c.rules[2].value, 90, 1e-9);
	ck_assert_int_eq(c.rules[2].for_ms, 120000);
	ck_assert_int_eq(c.rules[2].severity, ASEV_CRITICAL);  /* from the continued line */
	ck_assert_str_eq(c.rules[2].group, "web");
	ck_assert_int_eq(c.rules[2].line, 9);
	ck_assert_int_eq(c.rules[2].repeat_ms, -1);
	ck_assert(c.rules[3].app);
	ck_assert_str_eq(c.rules[3].metric, "errors");
	ck_assert_double_eq_tol(c.rules[3].value, 5, 1e-9);
	ck_assert_int_eq(c.rules[3].severity, ASEV_WARNING);   /* threshold default */
	ck_assert(c.rules[4].off);
	ck_assert_int_eq(c.rules[5].resolve_after_ms, 7200000);

	ck_assert_uint_eq(c.nsinks, 2);
	ck_assert_int_eq(c.sinks[0].kind, SINK_EXEC);
	ck_assert_str_eq(c.sinks[0].target, "/bin/true");
	ck_assert_int_eq(c.sinks[0].timeout_ms, 3000);
	ck_assert_int_eq(c.sinks[0].retries, 5);
	ck_assert_int_eq(c.sinks[0].repeat_ms, 0);
	ck_assert_int_eq(c.sinks[0].min_severity, ASEV_INFO);
	ck_assert_int_eq(c.sinks[1].kind, SINK_ALERTMANAGER);
	ck_assert_str_eq(c.sinks[1].target, "http://127.0.0.1:9093");  /* trailing / dropped */
	ck_assert_int_eq(c.sinks[1].timeout_ms, 10000);
	ck_assert_int_eq(c.sinks[1].retries, 3);
	ck_assert_int_eq(c.sinks[1].repeat_ms, 120000);
	ck_assert_int_eq(c.sinks[1].min_severity, ASEV_WARNING);
	ck_assert_int_eq(c.sinks[1].line, 16);

	/* The rules feed the engine as they are. */
	{
		struct alerts_config ac;
		struct alerts *a;

		alerts_config_defaults(&ac);
		a = alerts_new(&ac, c.rules, c.nrules);
		ck_assert_ptr_nonnull(a);
		alerts_free(a);
	}
	config_done(&c);
	config_done(&c);               /* twice is harmless */
}
END_TEST

START_TEST(test_flags_quotes_unknown_names)
{
	struct config c;
	char err[256];

	config_init(&c);
	ck_assert_int_eq(parse("verbose no\n", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.opts[0].value, "no");
	ck_assert_int_eq(parse("verbose on\n", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.opts[0].value, "yes");
	ck_assert_int_eq(parse("db \"a \\\"b\\\" \\\\c\"\n", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.opts[0].value, "a \"b\" \\c");
	ck_assert_int_eq(parse("db a#b\n", &c, err, sizeof err), 0);   /* # inside a word */
	ck_assert_str_eq(c.opts[0].value, "a#b");
	ck_assert_int_eq(parse("db \"\"\n", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.opts[0].value, "");
	/* Without a table, any option name with at most one value. */
	ck_assert_int_eq(config_parse_text("x.conf", "whatever 1\nflag\n", 16, NULL, &c, err,
					   sizeof err), 0);
	ck_assert_uint_eq(c.nopts, 2);
	ck_assert_int_eq(config_parse_text("x.conf", "whatever 1 2\n", 13, NULL, &c, err,
					   sizeof err), -1);
	ck_assert_uint_eq(c.nopts, 0);                         /* emptied on error */
	/* An empty file is fine. */
	ck_assert_int_eq(parse("", &c, err, sizeof err), 0);
	ck_assert_uint_eq(c.nopts + c.nrules + c.nsinks, 0);
	config_done(&c);
}
END_TEST

/* Each bad file and the exact error it must give. */
static const struct bad {
	const char *text;
	const char *err;
} bad[] = {
	{ "listen\n", "vigil.conf:1: option 'listen' needs a value" },
	{ "# c\n\nlisten a b\n", "vigil.conf:3: option 'listen' takes one value, got 2 (quote a value that holds spaces: \"...\")" },
	{ "lease 2000\n", "vigil.conf:1: unknown option 'lease' (did you mean 'lease-ms'?)" },
	{ "lisen 1\n", "vigil.conf:1: unknown option 'lisen' (did you mean 'listen'?)" },
	{ "frobnicate 1\n", "vigil.conf:1: unknown option 'frobnicate'" },
	{ "--db x\n", "vigil.conf:1: write 'db' without the leading dashes" },
	{ "DB x\n", "vigil.conf:1: 'DB' is not an option name (lower-case letters, digits, '-')" },
	{ "config /etc/x\n", "vigil.conf:1: option 'config' cannot be set in a configuration file" },
	{ "help\n", "vigil.conf:1: option 'help' cannot be set in a configuration file" },
	{ "verbose maybe\n", "vigil.conf:1: option 'verbose' is a flag: give no value, or yes or no (not 'maybe')" },
	{ "db a\n\ndb b\n", "vigil.conf:3: option 'db' set twice (first at line 1)" },
	{ "db \"abc\n", "vigil.conf:1: unterminated quote" },
	{ "db a\x01\n", "vigil.conf:1: not text: a control character, a NUL byte or bad UTF-8" },
	{ "db \xff\xfe\n", "vigil.conf:1: not text: a control character, a NUL byte or bad UTF-8" },
	{ "silence node=a\n", "vigil.conf:1: silences do not belong in the configuration (they expire): add them with the vigil command" },
	{ "rule\n", "vigil.conf:1: rule needs a name: rule NAME [key=value ...] (e.g. rule node_failed severity=critical)" },
	{ "rule cpu!high metric=cpu\n", "vigil.conf:1: bad rule name 'cpu!high' (want [A-Za-z0-9._-], at most 64)" },
	{ "rule cpu_high metric=cpu op==> value=90\n", "vigil.conf:1: rule 'cpu_high': unknown operator '=>' (want >, >=, <, <=, ==, !=)" },
	{ "rule cpu_high metric=cpu op=> value=ninety\n", "vigil.conf:1: rule 'cpu_high': bad value 'ninety' (want a number: 90, 0.5, 5/s)" },
	{ "rule cpu_high metric=cpu op=> value=5/m\n", "vigil.conf:1: rule 'cpu_high': bad value '5/m' (want a number: 90, 0.5, 5/s)" },
	{ "rule cpu_high metric=cpu value=90\n", "vigil.conf:1: rule 'cpu_high': a threshold rule needs op= and value= (e.g. metric=cpu op=> value=90 for=2m)" },
	{ "rule cpu_high metric=cpu op=> value=90 for=soon\n", "vigil.conf:1: rule 'cpu_high': bad duration 'soon' for 'for' (want 30s, 2m, 1h, or a number of ms)" },
	{ "rule cpu_high metric=cpu op=> value=90 severity=high\n", "vigil.conf:1: rule 'cpu_high': unknown severity 'high' (want info, warning or critical)" },
	{ "rule cpu_high metric=cpu op=> value=90 colour=red\n", "vigil.conf:1: rule 'cpu_high': unknown key 'colour' (want severity, for, repeat, resolve-after, metric, op, value, node, group, or off)" },
	{ "rule cpu_high metric=cpu op=> value=90 for=1m for=2m\n", "vigil.conf:1: rule 'cpu_high': 'for' given twice" },
	{ "rule cpu_high metric=cpu op=> value=90 critical\n", "vigil.conf:1: rule 'cpu_high': expected key=value, got 'critical'" },
	{ "rule cpu_high metric=c?u op=> value=90\n", "vigil.conf:1: rule 'cpu_high': bad metric name 'c?u' (cpu, mem, disk, load1, or an application counter [A-Za-z0-9._-])" },
	{ "rule cpu_high metric=cpu op=> value=90\n    node=a/b\n", "vigil.conf:2: rule 'cpu_high': bad node name 'a/b'" },
	{ "rule cpu_high metric=cpu op=> value=90 group=\"a b\"\n", "vigil.conf:1: rule 'cpu_high': bad group name 'a b'" },
	{ "rule cpu_high\n", "vigil.conf:1: rule 'cpu_high': not a built-in rule, so it needs metric=, op= and value= (built-ins: node_failed, node_suspect, node_degraded, node_flapping, group_no_quorum, group_no_leader, failover_started, failover_completed, failover_failed, hook_failed, collector_tilt, store_not_recording)" },
	{ "rule node_failed metric=cpu\n", "vigil.conf:1: rule 'node_failed': 'metric' only applies to threshold rules ('node_failed' is a built-in)" },
	{ "rule hook_failed for=1m\n", "vigil.conf:1: rule 'hook_failed': 'for' does not apply to an event rule (it fires when the event happens)" },
	{ "rule node_failed resolve-after=1m\n", "vigil.conf:1: rule 'node_failed': 'resolve-after' only applies to event rules (failover_completed, failover_failed, hook_failed)" },
	{ "rule failover_completed resolve-after=0\n", "vigil.conf:1: rule 'failover_completed': 'resolve-after' must be above 0: nothing else resolves it" },
	{ "rule collector_tilt node=a\n", "vigil.conf:1: rule 'collector_tilt': 'node' does not apply: its alerts are not about a node" },
	{ "rule node_failed repeat=10ms\n", "vigil.conf:1: rule 'node_failed': 'repeat' must be at least 1s (or 0 = never)" },
	{ "rule node_failed\nrule x metric=cpu op=> value=1\n\nrule node_failed off\n", "vigil.conf:4: rule 'node_failed' defined twice (first at line 1)" },
	{ "sink\n", "vigil.conf:1: sink needs a kind: sink exec PROGRAM ... or sink alertmanager URL ..." },
	{ "sink pager /bin/true\n", "vigil.conf:1: unknown sink 'pager' (want exec or alertmanager)" },
	{ "sink exec\n", "vigil.conf:1: sink exec: needs the program's absolute path" },
	{ "sink alertmanager timeout=1s\n", "vigil.conf:1: sink alertmanager: needs Alertmanager's URL (http://HOST:PORT)" },
	{ "sink exec bin/page\n", "vigil.conf:1: sink exec: 'bin/page' must be an absolute path" },
	{ "sink exec /nonexistent/vigil-page\n", "vigil.conf:1: sink exec: '/nonexistent/vigil-page' is not executable: No such file or directory" },
	{ "sink alertmanager 127.0.0.1:9093\n", "vigil.conf:1: sink alertmanager: bad URL '127.0.0.1:9093' (want http://HOST:PORT or https://HOST:PORT[/PATH])" },
	{ "sink alertmanager http://\n", "vigil.conf:1: sink alertmanager: bad URL 'http://' (want http://HOST:PORT or https://HOST:PORT[/PATH])" },
	{ "sink exec /bin/true timeout=10ms\n", "vigil.conf:1: sink exec: timeout '10ms' must be a duration 100ms..5m" },
	{ "sink exec /bin/true retries=-1\n", "vigil.conf:1: sink exec: retries '-1' must be 0..100" },
	{ "sink exec /bin/true repeat=5ms\n", "vigil.conf:1: sink exec: repeat '5ms' must be 0 (never) or a duration 1s..30d" },
	{ "sink exec /bin/true min-severity=urgent\n", "vigil.conf:1: sink exec: unknown severity 'urgent' (want info, warning or critical)" },
	{ "sink exec /bin/true colour=red\n", "vigil.conf:1: sink exec: unknown key 'colour' (want timeout, retries, repeat, min-severity)" },
	{ "sink exec /bin/true\n  retries=1\n  retries=2\n", "vigil.conf:3: sink exec: 'retries' given twice" },
	{ "sink exec /bin/true oops\n", "vigil.conf:1: sink exec: expected key=value, got 'oops'" },
	{ "sink exec /bin/true\nsink exec /bin/true\n", "vigil.conf:2: sink exec /bin/true defined twice (first at line 1)" },
	/* An indented line after an option is a line of its own (not a continuation). */
	{ "db a\n  listen\n", "vigil.conf:2: option 'listen' needs a value" },
	/* A blank line ends a rule: the indented line after it is an option. */
	{ "rule node_failed\n\n  severity=info\n", "vigil.conf:3: 'severity=info' is not an option name (lower-case letters, digits, '-')" },
};

START_TEST(test_bad_lines)
{
	const struct bad *b = &bad[_i];
	struct config c;
	char err[600] = "";

	config_init(&c);
	ck_assert_int_eq(parse(b->text, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, b->err);
	ck_assert_uint_eq(c.nopts + c.nrules + c.nsinks, 0);
	config_done(&c);
}
END_TEST

START_TEST(test_limits)
{
	struct config c;
	char err[256], *text;
	size_t n = 0;

	config_init(&c);
	/* A line too long. */
	text = malloc(CONFIG_LINE_MAX + 16);
	memcpy(text, "db ", 3);
	memset(text + 3, 'x', CONFIG_LINE_MAX);
	text[CONFIG_LINE_MAX + 3] = '\n';
	ck_assert_int_eq(config_parse_text("v.conf", text, CONFIG_LINE_MAX + 4, known, &c, err,
					   sizeof err), -1);
	ck_assert_str_eq(err, "v.conf:1: line too long (at most 4096 bytes)");
	free(text);
	/* A NUL byte. */
	ck_assert_int_eq(config_parse_text("v.conf", "db a\0b\n", 7, known, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, "v.conf:1: not text: a control character, a NUL byte or bad UTF-8");
	/* Too many sinks. */
	text = malloc(64 * 40);
	for (int i = 0; i <= CONFIG_SINKS_MAX; i++)
		n += (size_t)sprintf(text + n, "sink alertmanager http://h%d:9093\n", i);
	ck_assert_int_eq(config_parse_text("v.conf", text, n, known, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, "v.conf:17: too many sinks (at most 16)");
	free(text);
	/* Too big. */
	ck_assert_int_eq(config_parse_text("v.conf", "", CONFIG_FILE_MAX + 1, known, &c, err,
					   sizeof err), -1);
	ck_assert_str_eq(err, "v.conf: too big (at most 1048576 bytes)");
	config_done(&c);
}
END_TEST

START_TEST(test_files)
{
	char path[] = "/tmp/vigil-check-config-XXXXXX", err[512];
	const char *text = "listen 127.0.0.1:7071\nrule node_failed severity=warning\n";
	struct config c;
	int fd;

	config_init(&c);
	ck_assert_int_eq(config_parse_file("/nonexistent/vigil.conf", known, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, "/nonexistent/vigil.conf: cannot open: No such file or directory");
	ck_assert_int_eq(config_parse_file("/tmp", known, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, "/tmp: not a regular file");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	ck_assert_msg(config_parse_file(path, known, &c, err, sizeof err) == 0, "%s", err);
	ck_assert_str_eq(c.path, path);
	ck_assert_str_eq(config_opt_find(&c, "listen")->value, "127.0.0.1:7071");
	ck_assert_int_eq(c.rules[0].severity, ASEV_WARNING);
	/* A mistake names this file and line. */
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "db\n", 3), 3);
	close(fd);
	ck_assert_int_eq(config_parse_file(path, known, &c, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, ":3: option 'db' needs a value"));
	ck_assert_int_eq(strncmp(err, path, strlen(path)), 0);
	unlink(path);
	config_done(&c);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_flags_quotes_unknown_names);
	tcase_add_loop_test(tc, test_bad_lines, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_files);
	suite_add_tcase(s, tc);
	return s;
}
