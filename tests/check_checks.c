/* check_checks.c — unit tests for agent/checks: spec parsing and validation
 * tables, the http URL parser, the threshold state machine stepped by hand,
 * output sanitizing, the exec/tcp/http executors against real local things
 * (commands, sockets on 127.0.0.1, a one-shot HTTP server thread) with short
 * timeouts, and the runner threads.  Every test builds its own objects. */
#include "agent/checks.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/names.h"
#include "proto/util.h"

#include "suites.h"

/* --- helpers --------------------------------------------------------------- */

/* (proto.c's check_status_name() would pull in cJSON.) */
static const char *status_str(enum check_status st)
{
	return st == CHECK_PASSING ? "passing" : st == CHECK_WARNING ? "warning" : "critical";
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct check_spec make_spec(enum check_kind kind, const char *target, int timeout_ms)
{
	struct check_spec s;

	check_spec_defaults(&s);
	util_strlcpy(s.name, "t", sizeof(s.name));
	s.kind = kind;
	util_strlcpy(s.target, target, sizeof(s.target));
	s.timeout_ms = timeout_ms;
	if (s.interval_ms < timeout_ms)
		s.interval_ms = timeout_ms;
	return s;
}

/* A TCP socket on 127.0.0.1, an ephemeral port, listening or only bound. */
static int tcp_socket(bool listening, int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* True while a process of group pgid exists that is not a zombie. */
static bool group_alive(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool alive = false;

	ck_assert_ptr_nonnull(d);
	while (!alive && (e = readdir(d))) {
		char path[300], buf[512], state;
		const char *rp;
		int ppid, pgrp;
		ssize_t n;
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		rp = strrchr(buf, ')');
		if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 &&
		    pgrp == pgid && state != 'Z')
			alive = true;
	}
	closedir(d);
	return alive;
}

/* Wait up to 1 s for the group to be gone. */
static bool group_gone(pid_t pgid)
{
	int i;

	for (i = 0; i < 100 && group_alive(pgid); i++)
		nap_ms(10);
	return !group_alive(pgid);
}

static pid_t read_pid_file(const char *path)
{
	char buf[32] = "";
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? (pid_t)atoi(buf) : 0;
}

static void assert_no_children(void)
{
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/* --- spec parsing ---------------------------------------------------------- */

static const struct {
	const char *text;
	const char *name;
	enum check_kind kind;
	const char *target;
} good_specs[] = {
	{ "web=exec:/bin/true", "web", CHK_EXEC, "/bin/true" },
	{ "x.y_z-1=exec:echo a=b | grep -q b", "x.y_z-1", CHK_EXEC, "echo a=b | grep -q b" },
	{ "db=tcp:127.0.0.1:5432", "db", CHK_TCP, "127.0.0.1:5432" },
	{ "db6=tcp:[::1]:5432", "db6", CHK_TCP, "[::1]:5432" },
	{ "named=tcp:db.example.com:5432", "named", CHK_TCP, "db.example.com:5432" },
	{ "api=http://127.0.0.1:8080/health", "api", CHK_HTTP, "http://127.0.0.1:8080/health" },
	{ "api2=http:http://example.com/", "api2", CHK_HTTP, "http://example.com/" },
	{ "api3=HTTP://example.com", "api3", CHK_HTTP, "HTTP://example.com" },
	{ "api4=http://[::1]:9/x?y=1", "api4", CHK_HTTP, "http://[::1]:9/x?y=1" },
};

START_TEST(test_spec_parse_good)
{
	struct check_spec s;
	char err[512] = "";

	check_spec_defaults(&s);
	ck_assert_msg(check_spec_parse(good_specs[_i].text, &s, err, sizeof(err)) == 0,
		      "%s: %s", good_specs[_i].text, err);
	ck_assert_str_eq(s.name, good_specs[_i].name);
	ck_assert_int_eq(s.kind, good_specs[_i].kind);
	ck_assert_str_eq(s.target, good_specs[_i].target);
	ck_assert_int_eq(s.interval_ms, CHECK_INTERVAL_MS_DEFAULT);
	ck_assert_int_eq(s.timeout_ms, CHECK_TIMEOUT_MS_DEFAULT);
	ck_assert_int_eq(s.fail_after, CHECK_FAIL_AFTER_DEFAULT);
	ck_assert_int_eq(s.pass_after, CHECK_PASS_AFTER_DEFAULT);
}
END_TEST

static const struct {
	const char *text;
	const char *why;      /* a substring of the error */
} bad_specs[] = {
	{ "", "empty check" },
	{ "noequals", "expected NAME=" },
	{ "=exec:true", "name must be 1..64" },
	{ "bad name=exec:true", "check name 'bad name'" },
	{ "a/b=exec:true", "check name" },
	{ "a=exec:", "empty command" },
	{ "a=exec:   ", "empty command" },
	{ "a=exec:echo \x01", "printable UTF-8" },
	{ "a=exec:echo \xff", "printable UTF-8" },
	{ "a=ping:host", "unknown kind" },
	{ "a=true", "unknown kind" },
	{ "a=tcp:host", "expected HOST:PORT" },
	{ "a=tcp::80", "host is empty" },
	{ "a=tcp:host:0", "port must be" },
	{ "a=tcp:host:65536", "port must be" },
	{ "a=tcp:ho st:80", "not allowed" },
	{ "a=https://example.com/", "https is not supported" },
	{ "a=http:https://example.com/", "exec:curl" },
	{ "a=http:ftp://example.com/", "expected http://" },
	{ "a=http://", "host is empty" },
	{ "a=http:///path", "host is empty" },
	{ "a=http://h:abc/", "port must be" },
	{ "a=http://h:/", "port must be" },
	{ "a=http://h:70000/", "port must be" },
	{ "a=http://user@h/", "user@" },
	{ "a=http://h/a b", "printable ASCII" },
	{ "a=http://h/\xc3\xa9", "printable ASCII" },
	{ "a=http://[::1/", "IPV6" },
	{ "a=http://[::1]x/", "IPV6" },
	{ "a=http://h*st/", "not allowed" },
};

START_TEST(test_spec_parse_bad)
{
	struct check_spec s, before;
	char err[512] = "";

	check_spec_defaults(&s);
	util_strlcpy(s.name, "keep", sizeof(s.name));
	before = s;
	ck_assert_int_eq(check_spec_parse(bad_specs[_i].text, &s, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad_specs[_i].why), "'%s': got '%s', want '%s'",
		      bad_specs[_i].text, err, bad_specs[_i].why);
	if (*bad_specs[_i].text)
		ck_assert_msg(strstr(err, bad_specs[_i].text), "'%s' not named in '%s'",
			      bad_specs[_i].text, err);
	ck_assert_mem_eq(&s, &before, sizeof(s));
}
END_TEST

START_TEST(test_spec_parse_long)
{
	struct check_spec s;
	char text[700], err[512];

	check_spec_defaults(&s);
	strcpy(text, "n=exec:");
	memset(text + 7, 'x', 600);
	text[607] = '\0';
	ck_assert_int_eq(check_spec_parse(text, &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 511"));
	text[7 + CHECK_TARGET_MAX] = '\0';
	ck_assert_int_eq(check_spec_parse(text, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(s.target), CHECK_TARGET_MAX);

	memset(text, 'n', 65);
	strcpy(text + 65, "=exec:true");
	ck_assert_int_eq(check_spec_parse(text, &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "name must be 1..64"));
	strcpy(text + 64, "=exec:true");
	ck_assert_int_eq(check_spec_parse(text, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(s.name), 64);
}
END_TEST

START_TEST(test_spec_parse_keeps_timing)
{
	struct check_spec s;
	char err[512];

	check_spec_defaults(&s);
	s.interval_ms = 1000;
	s.timeout_ms = 500;
	s.fail_after = 3;
	s.pass_after = 1;
	ck_assert_int_eq(check_spec_parse("a=exec:true", &s, err, sizeof(err)), 0);
	ck_assert_int_eq(s.interval_ms, 1000);
	ck_assert_int_eq(s.timeout_ms, 500);
	ck_assert_int_eq(s.fail_after, 3);
	ck_assert_int_eq(s.pass_after, 1);

	/* The timing the caller set is validated too. */
	s.timeout_ms = 2000;
	ck_assert_int_eq(check_spec_parse("b=exec:true", &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "timeout 2000 ms"));
	ck_assert_str_eq(s.name, "a");
}
END_TEST

START_TEST(test_spec_defaults)
{
	struct check_spec s;

	memset(&s, 0x5a, sizeof(s));
	check_spec_defaults(&s);
	ck_assert_int_eq(s.interval_ms, 5000);
	ck_assert_int_eq(s.timeout_ms, 2000);
	ck_assert_int_eq(s.fail_after, 2);
	ck_assert_int_eq(s.pass_after, 2);
	ck_assert_str_eq(s.name, "");
	ck_assert_str_eq(s.target, "");
}
END_TEST

static const struct {
	int interval_ms, timeout_ms, fail_after, pass_after;
	bool ok;
} ranges[] = {
	{ 5000, 2000, 2, 2, true },
	{ 100, 100, 1, 1, true },
	{ 3600000, 10, 100, 100, true },
	{ 99, 10, 2, 2, false },
	{ 3600001, 2000, 2, 2, false },
	{ 0, 0, 2, 2, false },
	{ 1000, 9, 2, 2, false },
	{ 1000, 1001, 2, 2, false },
	{ 1000, 1000, 2, 2, true },
	{ 1000, -1, 2, 2, false },
	{ 1000, 500, 0, 2, false },
	{ 1000, 500, 101, 2, false },
	{ 1000, 500, 2, 0, false },
	{ 1000, 500, 2, 101, false },
	{ 1000, 500, -5, -5, false },
};

START_TEST(test_validate_ranges)
{
	struct check_spec s = make_spec(CHK_EXEC, "true", 10);
	char err[512] = "";

	s.interval_ms = ranges[_i].interval_ms;
	s.timeout_ms = ranges[_i].timeout_ms;
	s.fail_after = ranges[_i].fail_after;
	s.pass_after = ranges[_i].pass_after;
	ck_assert_msg((check_spec_validate(&s, err, sizeof(err)) == 0) == ranges[_i].ok,
		      "row %d: %s", _i, err);
	if (!ranges[_i].ok)
		ck_assert_msg(strstr(err, "out of range"), "row %d: %s", _i, err);
}
END_TEST

START_TEST(test_validate_kinds)
{
	struct check_spec s = make_spec(CHK_TCP, "127.0.0.1:80", 100);
	char err[512];

	ck_assert_int_eq(check_spec_validate(&s, err, sizeof(err)), 0);
	s.kind = CHK_HTTP;      /* "127.0.0.1:80" is not a URL */
	ck_assert_int_eq(check_spec_validate(&s, err, sizeof(err)), -1);
	s.kind = (enum check_kind)7;
	ck_assert_int_eq(check_spec_validate(&s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown check kind"));
	s = make_spec(CHK_EXEC, "true", 100);
	s.name[0] = '\0';
	ck_assert_int_eq(check_spec_validate(&s, err, sizeof(err)), -1);
}
END_TEST

static const struct {
	const char *url;
	const char *host;
	int port;
	const char *path;
} urls[] = {
	{ "http://h", "h", 80, "/" },
	{ "http://h/", "h", 80, "/" },
	{ "http://h:8080/x?y=1", "h", 8080, "/x?y=1" },
	{ "http://[::1]:9/", "::1", 9, "/" },
	{ "http://[fe80::1]", "fe80::1", 80, "/" },
	{ "http://h?q=2", "h", 80, "/?q=2" },
	{ "http://h/p#frag", "h", 80, "/p" },
	{ "HTTP://Example.COM/a/b", "Example.COM", 80, "/a/b" },
};

START_TEST(test_http_url_parse)
{
	struct check_http_url u;
	char err[512] = "";

	ck_assert_msg(check_http_url_parse(urls[_i].url, &u, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(u.host, urls[_i].host);
	ck_assert_int_eq(u.port, urls[_i].port);
	ck_assert_str_eq(u.path, urls[_i].path);
}
END_TEST

/* --- the state machine ----------------------------------------------------- */

/* Results P/W/C applied in order; after each, the status must be the one
 * at the same position of want. */
static const struct {
	int fail_after, pass_after;
	const char *results;
	const char *want;
} sequences[] = {
	{ 2, 2, "P", "P" },                       /* first result at once */
	{ 2, 2, "C", "C" },
	{ 2, 2, "W", "W" },
	{ 3, 2, "PCCCP", "PPPCC" },               /* fail_after 3, then pass_after 2 */
	{ 3, 2, "PCCCPP", "PPPCCP" },
	{ 3, 2, "PCCPCCC", "PPPPPPC" },           /* a pass breaks the fail streak */
	{ 2, 3, "CPPCPPP", "CCCCCCP" },           /* a failure breaks the pass streak */
	{ 3, 2, "PCCWCCC", "PPPWWWC" },           /* warning at once, resets both streaks */
	{ 2, 2, "WPP", "WWP" },                   /* from warning, pass_after applies */
	{ 2, 2, "WCC", "WWC" },
	{ 2, 2, "PW" "P" "P", "PWWP" },
	{ 1, 1, "PCPCW", "PCPCW" },               /* thresholds of 1 follow every result */
	{ 100, 100, "CPPPP", "CCCCC" },
	{ 2, 2, "CCCCPPCC", "CCCCCPPC" },
};

static enum check_status status_of(char c)
{
	return c == 'P' ? CHECK_PASSING : c == 'W' ? CHECK_WARNING : CHECK_CRITICAL;
}

START_TEST(test_state_sequences)
{
	struct check_spec spec = make_spec(CHK_EXEC, "true", 100);
	struct check_state st;
	const char *r = sequences[_i].results, *w = sequences[_i].want;
	size_t k;

	spec.fail_after = sequences[_i].fail_after;
	spec.pass_after = sequences[_i].pass_after;
	check_state_init(&st);
	ck_assert_int_eq(st.status, CHECK_WARNING);
	ck_assert(!st.ran);
	for (k = 0; r[k]; k++) {
		enum check_status before = st.status;
		bool changed = check_state_apply(&st, &spec, status_of(r[k]), "out");

		ck_assert_msg(st.status == status_of(w[k]), "row %d step %zu: status %s, want %c",
			      _i, k, status_str(st.status), w[k]);
		ck_assert_int_eq(changed, before != st.status);
		ck_assert(st.ran);
	}
}
END_TEST

START_TEST(test_state_streaks_and_output)
{
	struct check_spec spec = make_spec(CHK_EXEC, "true", 100);
	struct check_state st;

	spec.fail_after = 3;
	check_state_init(&st);
	ck_assert_str_eq(st.output, "");
	ck_assert(check_state_apply(&st, &spec, CHECK_PASSING, "fine"));
	ck_assert_int_eq(st.ok_streak, 1);
	ck_assert_str_eq(st.output, "fine");
	ck_assert(!check_state_apply(&st, &spec, CHECK_CRITICAL, "broken"));
	ck_assert_int_eq(st.ok_streak, 0);
	ck_assert_int_eq(st.fail_streak, 1);
	ck_assert_str_eq(st.output, "broken");    /* output is updated before the verdict */
	ck_assert(!check_state_apply(&st, &spec, CHECK_CRITICAL, NULL));
	ck_assert_int_eq(st.fail_streak, 2);
	ck_assert_str_eq(st.output, "");
	ck_assert(check_state_apply(&st, &spec, CHECK_WARNING, "slow"));
	ck_assert_int_eq(st.fail_streak, 0);
	ck_assert_int_eq(st.ok_streak, 0);
	ck_assert_str_eq(st.output, "slow");
	ck_assert(!check_state_apply(&st, &spec, CHECK_WARNING, "still slow"));
}
END_TEST

START_TEST(test_state_output_sanitized)
{
	struct check_spec spec = make_spec(CHK_EXEC, "true", 100);
	struct check_state st;
	char big[1000];

	check_state_init(&st);
	check_state_apply(&st, &spec, CHECK_PASSING, "a\tb\nc\x1b[31m\xff");
	ck_assert_str_eq(st.output, "a b c [31m?");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	check_state_apply(&st, &spec, CHECK_PASSING, big);
	ck_assert_uint_eq(strlen(st.output), PROTO_CHECK_OUTPUT_MAX);
	ck_assert(text_is_valid(st.output, PROTO_CHECK_OUTPUT_MAX));
}
END_TEST

/* --- sanitizing ------------------------------------------------------------ */

static const struct {
	const char *in;
	size_t len;           /* 0: strlen */
	const char *want;
} sanitize_vec[] = {
	{ "plain", 0, "plain" },
	{ "a\tb\nc\x01" "d\x7f", 0, "a b c d" },       /* controls -> spaces, trailing trimmed */
	{ "line1\r\nline2\n\n", 0, "line1  line2" },
	{ "ok\xff\xfe", 0, "ok??" },                   /* invalid bytes */
	{ "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 0, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "\xc0\xaf", 0, "??" },                       /* overlong '/' */
	{ "\xe0\x80\xaf", 0, "???" },                  /* overlong, 3 bytes */
	{ "\xed\xa0\x80", 0, "???" },                  /* surrogate */
	{ "\xf4\x90\x80\x80", 0, "????" },             /* above U+10FFFF */
	{ "x\xe2\x82", 0, "x??" },                     /* cut sequence at the end */
	{ "a\xc2\x9b" "b", 0, "a b" },                 /* C1 control (CSI) */
	{ "a\0b", 3, "a b" },                           /* NUL inside */
	{ "", 0, "" },
	{ "   ", 0, "" },
};

START_TEST(test_sanitize_vectors)
{
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	const char *in = sanitize_vec[_i].in;
	size_t len = sanitize_vec[_i].len ? sanitize_vec[_i].len : strlen(in);

	check_output_sanitize(out, sizeof(out), in, len);
	ck_assert_str_eq(out, sanitize_vec[_i].want);
	ck_assert(text_is_valid(out, PROTO_CHECK_OUTPUT_MAX));
}
END_TEST

START_TEST(test_sanitize_truncation)
{
	char in[400], out[PROTO_CHECK_OUTPUT_MAX + 1], small[8];

	/* 255 ASCII + a 3-byte character: the character does not fit. */
	memset(in, 'a', 255);
	strcpy(in + 255, "\xe2\x82\xac" "tail");
	check_output_sanitize(out, sizeof(out), in, strlen(in));
	ck_assert_uint_eq(strlen(out), 255);
	ck_assert(text_is_valid(out, PROTO_CHECK_OUTPUT_MAX));

	/* 254 ASCII + a 2-byte character: exactly 256. */
	memset(in, 'a', 254);
	strcpy(in + 254, "\xc3\xa9" "tail");
	check_output_sanitize(out, sizeof(out), in, strlen(in));
	ck_assert_uint_eq(strlen(out), 256);
	ck_assert_str_eq(out + 254, "\xc3\xa9");

	/* Long plain text: 256 bytes. */
	memset(in, 'b', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	check_output_sanitize(out, sizeof(out), in, strlen(in));
	ck_assert_uint_eq(strlen(out), PROTO_CHECK_OUTPUT_MAX);

	/* A smaller destination cuts there, still on a boundary. */
	check_output_sanitize(small, sizeof(small), "abcde\xe2\x82\xac", 8);
	ck_assert_str_eq(small, "abcde");
	check_output_sanitize(small, 1, "abc", 3);
	ck_assert_str_eq(small, "");
}
END_TEST

/* --- exec ------------------------------------------------------------------ */

static const struct {
	const char *cmd;
	enum check_status want;
	const char *output;
} exec_vec[] = {
	{ "true", CHECK_PASSING, "exit status 0" },
	{ "exit 1", CHECK_WARNING, "exit status 1" },
	{ "exit 2", CHECK_CRITICAL, "exit status 2" },
	{ "exit 255", CHECK_CRITICAL, "exit status 255" },
	{ "echo hello; echo world >&2; exit 1", CHECK_WARNING, "hello world" },
	{ "printf 'OK - fine|load=1\\nmore\\n'", CHECK_PASSING, "OK - fine|load=1 more" },
	{ "kill -9 $$", CHECK_CRITICAL, "killed by signal 9" },
	{ "read x; echo \"[$?:$x]\"", CHECK_PASSING, "[1:]" },      /* stdin is /dev/null */
	{ "printf '\\033[2J\\377x'", CHECK_PASSING, " [2J?x" },
};

START_TEST(test_exec_results)
{
	struct check_spec s = make_spec(CHK_EXEC, exec_vec[_i].cmd, 2000);
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	enum check_status st;

	st = check_run(&s, -1, out, sizeof(out));
	ck_assert_msg(st == exec_vec[_i].want, "'%s': %s (%s)", exec_vec[_i].cmd,
		      status_str(st), out);
	ck_assert_str_eq(out, exec_vec[_i].output);
	assert_no_children();
}
END_TEST

START_TEST(test_exec_not_found)
{
	struct check_spec s = make_spec(CHK_EXEC, "no-such-command-vigil-xyz", 2000);
	char out[PROTO_CHECK_OUTPUT_MAX + 1];

	ck_assert_int_eq(check_run(&s, -1, out, sizeof(out)), CHECK_CRITICAL);
	ck_assert_msg(strstr(out, "not found"), "%s", out);
}
END_TEST

START_TEST(test_exec_timeout_kills_group)
{
	char path[] = "/tmp/vigil-check-XXXXXX", cmd[256];
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	struct check_spec s;
	int64_t t0, dt;
	pid_t pgid;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	/* The shell, a background sleep and a foreground sleep: all must go. */
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; sleep 5 & sleep 5", path);
	s = make_spec(CHK_EXEC, cmd, 200);
	t0 = util_mono_ms();
	ck_assert_int_eq(check_run(&s, -1, out, sizeof(out)), CHECK_CRITICAL);
	dt = util_mono_ms() - t0;
	ck_assert_str_eq(out, "timed out after 200 ms");
	ck_assert_int_ge(dt, 190);
	ck_assert_int_lt(dt, 1000);
	pgid = read_pid_file(path);
	unlink(path);
	ck_assert_int_gt(pgid, 1);
	assert_no_children();
	ck_assert(group_gone(pgid));
}
END_TEST

START_TEST(test_exec_background_holder)
{
	/* The shell exits at once but leaves a child holding the pipe: the
	 * result must not wait for the timeout, and the child is killed. */
	char path[] = "/tmp/vigil-check-XXXXXX", cmd[256];
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	struct check_spec s;
	int64_t t0;
	pid_t pgid;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; sleep 5 & echo done", path);
	s = make_spec(CHK_EXEC, cmd, 2000);
	t0 = util_mono_ms();
	ck_assert_int_eq(check_run(&s, -1, out, sizeof(out)), CHECK_PASSING);
	ck_assert_int_lt(util_mono_ms() - t0, 1000);
	ck_assert_str_eq(out, "done");
	pgid = read_pid_file(path);
	unlink(path);
	ck_assert_int_gt(pgid, 1);
	assert_no_children();
	ck_assert(group_gone(pgid));
}
END_TEST

START_TEST(test_exec_big_output)
{
	/* 200 KB of output: drained past the 4 KiB kept, so the command is
	 * not blocked on a full pipe. */
	struct check_spec s = make_spec(CHK_EXEC, "head -c 200000 /dev/zero | tr '\\0' a", 2000);
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	int64_t t0 = util_mono_ms();

	ck_assert_int_eq(check_run(&s, -1, out, sizeof(out)), CHECK_PASSING);
	ck_assert_int_lt(util_mono_ms() - t0, 1500);
	ck_assert_uint_eq(strlen(out), PROTO_CHECK_OUTPUT_MAX);
	ck_assert_int_eq(out[0], 'a');
}
END_TEST

START_TEST(test_exec_cancel)
{
	struct check_spec s = make_spec(CHK_EXEC, "sleep 5", 3000);
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	int p[2];
	int64_t t0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	t0 = util_mono_ms();
	ck_assert_int_eq(check_run(&s, p[0], out, sizeof(out)), CHECK_CRITICAL);
	ck_assert_int_lt(util_mono_ms() - t0, 500);
	ck_assert_str_eq(out, "cancelled");
	assert_no_children();
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_exec_fds_not_leaked)
{
	/* Every fd the command has is 0..2 or one the test process itself lets
	 * children inherit (from whoever started it): the pipe's read end, the
	 * test's listening socket and the cancel pipe are all close-on-exec. */
	struct check_spec s = make_spec(CHK_EXEC, "ls /proc/$$/fd", 2000);
	char out[PROTO_CHECK_OUTPUT_MAX + 1], *tok, *save = NULL;
	int port, fd = tcp_socket(true, &port), p[2], seen = 0;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(check_run(&s, p[0], out, sizeof(out)), CHECK_PASSING);
	for (tok = strtok_r(out, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		int n = atoi(tok), fl = fcntl(n, F_GETFD);

		seen++;
		ck_assert_msg(n <= 2 || (fl >= 0 && !(fl & FD_CLOEXEC)), "fd %d leaked", n);
		ck_assert_int_ne(n, fd);
		ck_assert_int_ne(n, p[0]);
		ck_assert_int_ne(n, p[1]);
	}
	ck_assert_int_ge(seen, 3);
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- tcp ------------------------------------------------------------------- */

START_TEST(test_tcp_passing)
{
	char target[64], out[PROTO_CHECK_OUTPUT_MAX + 1];
	struct check_spec s;
	int port, fd = tcp_socket(true, &port);

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	s = make_spec(CHK_TCP, target, 500);
	ck_assert_int_eq(check_run(&s, -1, out, sizeof(out)), CHECK_PASSING);
	ck_assert_msg(strstr(out, "connected to 127.0.0.1:"), "%s", out);
	close(fd);
}
END_TEST

START_TEST(test_tcp_refused)
{
	char target[64], want[128], out[PROTO_CHECK_OUTPUT_MAX + 1];
	struct check_spec s;
	int port, fd = tcp_socket(false, &port);   /* bound, not listening */

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	s = make_spec(CHK_TCP, target, 500);
	ck_assert_int_eq(check_run(&s, -1, out, sizeof(out)), CHECK_CRITICAL);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: Connection refused", port);
	ck_assert_str_eq(out, want);
	close(fd);
}
END_TEST

START_TEST(test_tcp_name)
{
	/* "localhost" goes through the asynchronous resolver; whichever
	 * address comes first, the IPv4 listener is reached. */
	char target[64], out[PROTO_CHECK_OUTPUT_MAX + 1];
	struct check_spec s;
	int port, fd = tcp_socket(true, &port);

	snprintf(target, sizeof(target), "localhost:%d", port);
	s = make_spec(CHK_TCP, target, 1000);
	ck_assert_msg(check_run(&s, -1, out, sizeof(out)) == CHECK_PASSING, "%s", out);
	close(fd);

	s = make_spec(CHK_TCP, "no-such-host.invalid:80", 500);
	ck_assert_int_eq(check_run(&s, -1, out, sizeof(out)), CHECK_CRITICAL);
	ck_assert_msg(strstr(out, "no-such-host.invalid"), "%s", out);
}
END_TEST

START_TEST(test_tcp_cancel)
{
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	struct check_spec s = make_spec(CHK_TCP, "127.0.0.1:1", 500);
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	/* Refused (at once) or cancelled: never passing, never slow. */
	ck_assert_int_eq(check_run(&s, p[0], out, sizeof(out)), CHECK_CRITICAL);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- http ------------------------------------------------------------------ */

struct http_server {
	int fd;
	int port;
	const char *response;     /* NULL: close without answering */
	bool hang;                /* read the request, answer nothing, wait for EOF */
	char request[2048];
	pthread_t tid;
};

static void *http_serve_one(void *arg)
{
	struct http_server *h = arg;
	size_t got = 0;
	int c = accept(h->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (got < sizeof(h->request) - 1 && !strstr(h->request, "\r\n\r\n")) {
		ssize_t r = recv(c, h->request + got, sizeof(h->request) - 1 - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
		h->request[got] = '\0';
	}
	if (h->hang) {
		char b[64];

		while (recv(c, b, sizeof(b), 0) > 0)
			;
	} else if (h->response) {
		ssize_t w = send(c, h->response, strlen(h->response), MSG_NOSIGNAL);

		(void)w;
	}
	close(c);
	return NULL;
}

static void http_server_start(struct http_server *h, const char *response, bool hang)
{
	memset(h, 0, sizeof(*h));
	h->response = response;
	h->hang = hang;
	h->fd = tcp_socket(true, &h->port);
	ck_assert_int_eq(pthread_create(&h->tid, NULL, http_serve_one, h), 0);
}

static void http_server_done(struct http_server *h)
{
	pthread_join(h->tid, NULL);
	close(h->fd);
}

static enum check_status http_check(struct http_server *h, const char *path, int timeout_ms,
				    char *out, size_t outlen)
{
	char url[128];
	struct check_spec s;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", h->port, path);
	s = make_spec(CHK_HTTP, url, timeout_ms);
	return check_run(&s, -1, out, outlen);
}

START_TEST(test_http_ok)
{
	struct http_server h;
	char out[PROTO_CHECK_OUTPUT_MAX + 1], host[64];

	http_server_start(&h, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false);
	ck_assert_int_eq(http_check(&h, "/health?x=1", 1000, out, sizeof(out)), CHECK_PASSING);
	http_server_done(&h);
	ck_assert_str_eq(out, "HTTP 200 OK");
	ck_assert_msg(strncmp(h.request, "GET /health?x=1 HTTP/1.0\r\n", 26) == 0, "%s", h.request);
	snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", h.port);
	ck_assert_msg(strstr(h.request, host), "%s", h.request);
}
END_TEST

static const struct {
	const char *response;
	enum check_status want;
	const char *output;   /* a substring */
} http_vec[] = {
	{ "HTTP/1.0 200 OK\r\n\r\n", CHECK_PASSING, "HTTP 200 OK" },
	{ "HTTP/1.1 204 No Content\r\n\r\n", CHECK_PASSING, "HTTP 204 No Content" },
	{ "HTTP/1.1 299\r\n\r\n", CHECK_PASSING, "HTTP 299" },
	{ "HTTP/1.1 503 Service Unavailable\r\n\r\n", CHECK_CRITICAL, "HTTP 503 Service Unavailable" },
	{ "HTTP/1.1 429 Too Many Requests\r\n\r\n", CHECK_WARNING, "HTTP 429 Too Many Requests" },
	{ "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n", CHECK_CRITICAL, "HTTP 301" },
	{ "HTTP/1.1 404 Not Found\n\n", CHECK_CRITICAL, "HTTP 404 Not Found" },
	{ "SSH-2.0-OpenSSH_9.2\r\n", CHECK_CRITICAL, "not an HTTP response" },
	{ "HTTP/1.1 2000 Huge\r\n", CHECK_CRITICAL, "not an HTTP response" },
	{ NULL, CHECK_CRITICAL, "connection closed without a response" },
};

START_TEST(test_http_statuses)
{
	struct http_server h;
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	enum check_status st;

	http_server_start(&h, http_vec[_i].response, false);
	st = http_check(&h, "/", 1000, out, sizeof(out));
	http_server_done(&h);
	ck_assert_msg(st == http_vec[_i].want, "row %d: %s (%s)", _i, status_str(st), out);
	ck_assert_msg(strstr(out, http_vec[_i].output), "row %d: %s", _i, out);
}
END_TEST

START_TEST(test_http_timeout)
{
	struct http_server h;
	char out[PROTO_CHECK_OUTPUT_MAX + 1];
	int64_t t0;

	http_server_start(&h, NULL, true);
	t0 = util_mono_ms();
	ck_assert_int_eq(http_check(&h, "/slow", 200, out, sizeof(out)), CHECK_CRITICAL);
	ck_assert_int_lt(util_mono_ms() - t0, 1000);
	http_server_done(&h);
	ck_assert_msg(strstr(out, "timed out after 200 ms"), "%s", out);
}
END_TEST

START_TEST(test_http_refused)
{
	char url[64], out[PROTO_CHECK_OUTPUT_MAX + 1];
	struct check_spec s;
	int port, fd = tcp_socket(false, &port);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	s = make_spec(CHK_HTTP, url, 500);
	ck_assert_int_eq(check_run(&s, -1, out, sizeof(out)), CHECK_CRITICAL);
	ck_assert_msg(strstr(out, "Connection refused"), "%s", out);
	close(fd);
}
END_TEST

/* --- the runner ------------------------------------------------------------ */

static int find_check(const struct proto_check *pc, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(pc[i].name, name) == 0)
			return i;
	return -1;
}

START_TEST(test_runner_cycle)
{
	struct check_spec specs[3];
	struct proto_check pc[PROTO_CHECKS_MAX];
	char target[64];
	struct checks *c;
	int port, fd = tcp_socket(false, &port), n, i, up, down, slow;

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	specs[0] = make_spec(CHK_EXEC, "echo fine", 100);
	util_strlcpy(specs[0].name, "up", sizeof(specs[0].name));
	specs[1] = make_spec(CHK_TCP, target, 100);
	util_strlcpy(specs[1].name, "down", sizeof(specs[1].name));
	specs[2] = make_spec(CHK_EXEC, "sleep 1", 100);   /* times out every time */
	util_strlcpy(specs[2].name, "slow", sizeof(specs[2].name));
	for (i = 0; i < 3; i++) {
		specs[i].interval_ms = 100;
		specs[i].fail_after = 1;
		specs[i].pass_after = 1;
	}
	c = checks_new(specs, 3);
	ck_assert_ptr_nonnull(c);

	n = checks_snapshot(c, pc, PROTO_CHECKS_MAX);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(pc[0].name, "up");
	ck_assert_int_eq(pc[0].status, CHECK_WARNING);
	ck_assert_str_eq(pc[0].output, "not run yet");
	ck_assert_int_eq(checks_snapshot(c, pc, 2), 2);

	ck_assert_int_eq(checks_start(c), 0);
	ck_assert_int_eq(checks_start(c), -EALREADY);
	for (i = 0; i < 100; i++) {
		n = checks_snapshot(c, pc, PROTO_CHECKS_MAX);
		up = find_check(pc, n, "up");
		down = find_check(pc, n, "down");
		slow = find_check(pc, n, "slow");
		if (pc[up].status == CHECK_PASSING && pc[down].status == CHECK_CRITICAL &&
		    pc[slow].status == CHECK_CRITICAL)
			break;
		nap_ms(10);
	}
	ck_assert_int_eq(pc[up].status, CHECK_PASSING);
	ck_assert_str_eq(pc[up].output, "fine");
	ck_assert_int_eq(pc[down].status, CHECK_CRITICAL);
	ck_assert_msg(strstr(pc[down].output, "Connection refused"), "%s", pc[down].output);
	ck_assert_int_eq(pc[slow].status, CHECK_CRITICAL);
	ck_assert_str_eq(pc[slow].output, "timed out after 100 ms");
	checks_free(c);
	assert_no_children();
	close(fd);
}
END_TEST

START_TEST(test_runner_repeats)
{
	/* Each run appends a line to a file: with a 100 ms interval, several
	 * runs happen within 450 ms, and none after checks_free(). */
	char path[] = "/tmp/vigil-check-XXXXXX", cmd[256], buf[256];
	struct check_spec s;
	struct checks *c;
	ssize_t n1, n2;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	snprintf(cmd, sizeof(cmd), "echo x >> %s", path);
	s = make_spec(CHK_EXEC, cmd, 100);
	s.interval_ms = 100;
	c = checks_new(&s, 1);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(checks_start(c), 0);
	nap_ms(450);
	checks_free(c);
	n1 = pread(fd, buf, sizeof(buf), 0);
	nap_ms(150);
	n2 = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	unlink(path);
	ck_assert_int_ge(n1, 3 * 2);    /* "x\n" per run: runs at 0, 100, 200, 300, 400 */
	ck_assert_int_le(n1, 6 * 2);
	ck_assert_int_eq(n1, n2);
}
END_TEST

START_TEST(test_runner_stop_prompt)
{
	char path[] = "/tmp/vigil-check-XXXXXX", cmd[256];
	struct check_spec s;
	struct checks *c;
	int64_t t0;
	pid_t pgid = 0;
	int fd = mkstemp(path), i;

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; sleep 5", path);
	s = make_spec(CHK_EXEC, cmd, 3000);
	c = checks_new(&s, 1);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(checks_start(c), 0);
	for (i = 0; i < 100 && pgid <= 0; i++) {
		nap_ms(10);
		pgid = read_pid_file(path);
	}
	unlink(path);
	ck_assert_int_gt(pgid, 1);
	t0 = util_mono_ms();
	checks_free(c);
	ck_assert_int_lt(util_mono_ms() - t0, 500);
	assert_no_children();
	ck_assert(group_gone(pgid));
}
END_TEST

START_TEST(test_runner_new_limits)
{
	struct check_spec specs[PROTO_CHECKS_MAX + 1];
	struct proto_check pc[1];
	struct checks *c;
	int i;

	for (i = 0; i <= PROTO_CHECKS_MAX; i++) {
		specs[i] = make_spec(CHK_EXEC, "true", 100);
		snprintf(specs[i].name, sizeof(specs[i].name), "c%d", i);
	}
	ck_assert_ptr_null(checks_new(specs, PROTO_CHECKS_MAX + 1));
	ck_assert_ptr_null(checks_new(specs, -1));
	c = checks_new(specs, PROTO_CHECKS_MAX);
	ck_assert_ptr_nonnull(c);
	checks_free(c);                      /* never started */

	specs[1].timeout_ms = 0;             /* invalid */
	ck_assert_ptr_null(checks_new(specs, 2));

	c = checks_new(NULL, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(checks_start(c), 0);
	ck_assert_int_eq(checks_snapshot(c, pc, 1), 0);
	checks_free(c);
	checks_free(NULL);
}
END_TEST

Suite *checks_suite(void)
{
	Suite *s = suite_create("checks");
	TCase *tc;

	tc = tcase_create("spec");
	tcase_add_loop_test(tc, test_spec_parse_good, 0, sizeof(good_specs) / sizeof(good_specs[0]));
	tcase_add_loop_test(tc, test_spec_parse_bad, 0, sizeof(bad_specs) / sizeof(bad_specs[0]));
	tcase_add_test(tc, test_spec_parse_long);
	tcase_add_test(tc, test_spec_parse_keeps_timing);
	tcase_add_test(tc, test_spec_defaults);
	tcase_add_loop_test(tc, test_validate_ranges, 0, sizeof(ranges) / sizeof(ranges[0]));
	tcase_add_test(tc, test_validate_kinds);
	tcase_add_loop_test(tc, test_http_url_parse, 0, sizeof(urls) / sizeof(urls[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_loop_test(tc, test_state_sequences, 0, sizeof(sequences) / sizeof(sequences[0]));
	tcase_add_test(tc, test_state_streaks_and_output);
	tcase_add_test(tc, test_state_output_sanitized);
	tcase_add_loop_test(tc, test_sanitize_vectors, 0,
			    sizeof(sanitize_vec) / sizeof(sanitize_vec[0]));
	tcase_add_test(tc, test_sanitize_truncation);
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_add_loop_test(tc, test_exec_results, 0, sizeof(exec_vec) / sizeof(exec_vec[0]));
	tcase_add_test(tc, test_exec_not_found);
	tcase_add_test(tc, test_exec_timeout_kills_group);
	tcase_add_test(tc, test_exec_background_holder);
	tcase_add_test(tc, test_exec_big_output);
	tcase_add_test(tc, test_exec_cancel);
	tcase_add_test(tc, test_exec_fds_not_leaked);
	suite_add_tcase(s, tc);

	tc = tcase_create("net");
	tcase_add_test(tc, test_tcp_passing);
	tcase_add_test(tc, test_tcp_refused);
	tcase_add_test(tc, test_tcp_name);
	tcase_add_test(tc, test_tcp_cancel);
	tcase_add_test(tc, test_http_ok);
	tcase_add_loop_test(tc, test_http_statuses, 0, sizeof(http_vec) / sizeof(http_vec[0]));
	tcase_add_test(tc, test_http_timeout);
	tcase_add_test(tc, test_http_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("runner");
	tcase_add_test(tc, test_runner_cycle);
	tcase_add_test(tc, test_runner_repeats);
	tcase_add_test(tc, test_runner_stop_prompt);
	tcase_add_test(tc, test_runner_new_limits);
	suite_add_tcase(s, tc);

	return s;
}
