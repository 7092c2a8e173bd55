/* check_auth.c — unit tests for collector/auth: the operator token file
 * format (good files, and every refusal with its "line N"), loading token
 * files from disk, the Authorization header, the agent and operator
 * decisions with and without token files, and loopback detection.
 * Each test starts from a fresh auth_init()ed struct. */
#include "collector/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define TOK_A "alice-token-0123456789"
#define TOK_B "bob-token-abcdefghijk"
#define TOK_C "carol-token-ZYXWVUTSRQ"
#define TOK_AGENT "agent-token-0123456789abcdef"

static struct auth *auth_fresh(void)
{
	static struct auth a;

	memset(&a, 0x5a, sizeof a);     /* auth_init must clear everything */
	auth_init(&a);
	return &a;
}

static void assert_mentions(const char *err, const char *what, const char *input)
{
	ck_assert_msg(strstr(err, what) != NULL,
		      "error for \"%s\" is \"%s\", expected it to mention \"%s\"", input, err, what);
}

/* ---------------------------------------------------------------------------
 * Operator token file text
 * ------------------------------------------------------------------------ */

START_TEST(test_ops_bare_token)
{
	struct auth *a = auth_fresh();
	char err[256] = "";

	ck_assert_int_eq(a->nops, 0);
	ck_assert(!a->operator_required && !a->agent_required);
	ck_assert_msg(auth_parse_operators(a, "  " TOK_A "  \n", err, sizeof err) == 0, "%s", err);
	ck_assert(a->operator_required);
	ck_assert_int_eq(a->nops, 1);
	ck_assert_str_eq(a->ops[0].name, "operator");
	ck_assert_int_eq(a->ops[0].role, ROLE_OPERATOR);
	ck_assert_str_eq(a->ops[0].token, TOK_A);
	ck_assert(!a->agent_required);
}
END_TEST

START_TEST(test_ops_bare_token_no_newline)
{
	struct auth *a = auth_fresh();
	char err[256] = "";

	ck_assert_int_eq(auth_parse_operators(a, TOK_A, err, sizeof err), 0);
	ck_assert_int_eq(a->nops, 1);
	ck_assert_str_eq(a->ops[0].token, TOK_A);
}
END_TEST

START_TEST(test_ops_named)
{
	static const char text[] =
		"# vigil operators: NAME ROLE TOKEN\n"
		"\n"
		"alice operator " TOK_A "   # on call\n"
		"   \t  \n"
		"\tbob\tviewer\t" TOK_B "\r\n"
		"# carol left\n"
		"carol.w_2-x viewer " TOK_C;
	struct auth *a = auth_fresh();
	char err[256] = "";

	ck_assert_msg(auth_parse_operators(a, text, err, sizeof err) == 0, "%s", err);
	ck_assert(a->operator_required);
	ck_assert_int_eq(a->nops, 3);
	ck_assert_str_eq(a->ops[0].name, "alice");
	ck_assert_int_eq(a->ops[0].role, ROLE_OPERATOR);
	ck_assert_str_eq(a->ops[0].token, TOK_A);
	ck_assert_str_eq(a->ops[1].name, "bob");
	ck_assert_int_eq(a->ops[1].role, ROLE_VIEWER);
	ck_assert_str_eq(a->ops[1].token, TOK_B);
	ck_assert_str_eq(a->ops[2].name, "carol.w_2-x");
	ck_assert_int_eq(a->ops[2].role, ROLE_VIEWER);
	ck_assert_str_eq(a->ops[2].token, TOK_C);
}
END_TEST

START_TEST(test_ops_token_lengths)
{
	char text[600], tok[300];
	struct auth *a;
	char err[256] = "";

	memset(tok, 'k', 256);
	tok[256] = '\0';
	snprintf(text, sizeof text, "alice operator %s\n", tok);
	a = auth_fresh();
	ck_assert_msg(auth_parse_operators(a, text, err, sizeof err) == 0, "%s", err);
	ck_assert_str_eq(a->ops[0].token, tok);

	strcat(tok, "k");
	snprintf(text, sizeof text, "alice operator %s\n", tok);
	a = auth_fresh();
	ck_assert_int_eq(auth_parse_operators(a, text, err, sizeof err), -1);
	assert_mentions(err, "line 1", "a 257-byte token");
	assert_mentions(err, "token", "a 257-byte token");

	a = auth_fresh();
	ck_assert_int_eq(auth_parse_operators(a, "alice operator 0123456789abcdef", err, sizeof err),
			 0);
	a = auth_fresh();
	ck_assert_int_eq(auth_parse_operators(a, "alice operator 0123456789abcde", err, sizeof err),
			 -1);
}
END_TEST

struct ops_bad {
	const char *text;
	const char *mention1, *mention2;
};

static const struct ops_bad ops_bad[] = {
	{ "alice admin " TOK_A "\n", "line 1", "role 'admin'" },
	{ "alice Operator " TOK_A "\n", "line 1", "role" },
	{ "# header\n\nalice root " TOK_A "\n", "line 3", "role" },
	{ "al/ice operator " TOK_A "\n", "line 1", "name 'al/ice'" },
	{ "ok operator " TOK_A "\n\xc3\xa9ve viewer " TOK_B "\n", "line 2", "name" },
	{ "alice operator\n", "line 1", "NAME ROLE TOKEN" },
	{ "\n\n\nalice " TOK_A "\n", "line 4", "NAME ROLE TOKEN" },
	{ "alice operator " TOK_A " extra\n", "line 1", "NAME ROLE TOKEN" },
	{ "a b c d e f\n", "line 1", "NAME ROLE TOKEN" },
	{ "alice operator short\n", "line 1", "token" },
	{ "shorttoken\n", "line 1", "token" },
	{ "alice operator " TOK_A "\nbob viewer short\n", "line 2", "16" },
	{ "alice operator abcdefghijklmnop\xc3\xa9\n", "line 1", "printable" },
	{ "alice operator " TOK_A "\nbob viewer " TOK_A "\n", "line 2", "already used by alice" },
	{ "alice operator " TOK_A "\n# x\nbob viewer " TOK_B "\ncarol viewer " TOK_B "\n", "line 4",
	  "already used by bob" },
	{ TOK_A "\n" TOK_A "\n", "line 2", "already used" },
	{ "", "no tokens", "no tokens" },
	{ "\n\n", "no tokens", "no tokens" },
	{ "# only a comment\n   # and another\n", "no tokens", "no tokens" },
	{ "#alice operator " TOK_A "\n", "no tokens", "no tokens" },
};

START_TEST(test_ops_bad)
{
	const struct ops_bad *c = &ops_bad[_i];
	struct auth *a = auth_fresh();
	char err[256] = "";

	ck_assert_msg(auth_parse_operators(a, c->text, err, sizeof err) == -1, "accepted: %s",
		      c->text);
	assert_mentions(err, c->mention1, c->text);
	assert_mentions(err, c->mention2, c->text);
	ck_assert(!a->operator_required);
	ck_assert_int_eq(a->nops, 0);
}
END_TEST

START_TEST(test_ops_long_line)
{
	char *text = malloc(3000);
	struct auth *a = auth_fresh();
	char err[256] = "";

	ck_assert_ptr_nonnull(text);
	strcpy(text, "alice operator " TOK_A "\n");
	memset(text + strlen(text), 'x', 2000);
	text[strlen("alice operator " TOK_A "\n") + 2000] = '\0';
	ck_assert_int_eq(auth_parse_operators(a, text, err, sizeof err), -1);
	assert_mentions(err, "line 2", "a 2000-byte line");
	free(text);
}
END_TEST

START_TEST(test_ops_too_many)
{
	size_t cap = (AUTH_MAX_OPERATORS + 2) * 64;
	char *text = malloc(cap);
	struct auth *a = auth_fresh();
	char err[256] = "", want[32];
	size_t len = 0;

	ck_assert_ptr_nonnull(text);
	for (int i = 0; i < AUTH_MAX_OPERATORS; i++)
		len += (size_t)snprintf(text + len, cap - len, "op%d viewer token-%016d\n", i, i);
	ck_assert_msg(auth_parse_operators(a, text, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(a->nops, AUTH_MAX_OPERATORS);
	ck_assert_str_eq(a->ops[AUTH_MAX_OPERATORS - 1].name, "op255");

	snprintf(text + len, cap - len, "one-more viewer token-one-more-xyz\n");
	a = auth_fresh();
	ck_assert_int_eq(auth_parse_operators(a, text, err, sizeof err), -1);
	snprintf(want, sizeof want, "line %d", AUTH_MAX_OPERATORS + 1);
	assert_mentions(err, want, "257 operators");
	free(text);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Token files on disk
 * ------------------------------------------------------------------------ */

static char tmpdir[64];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vigil-check-auth-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	static const char *const names[] = { "agent", "operators" };
	char p[128];

	for (int i = 0; i < N(names); i++) {
		snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

static const char *tmp_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

START_TEST(test_load_agent_file)
{
	struct auth *a = auth_fresh();
	char err[512] = "";
	bool loose = true;
	const char *path = tmp_file("agent", TOK_AGENT "\n", 0600);

	ck_assert_msg(auth_load_agent_file(a, path, &loose, err, sizeof err) == 0, "%s", err);
	ck_assert(a->agent_required);
	ck_assert(!loose);
	ck_assert_str_eq(a->agent_token, TOK_AGENT);
	ck_assert(!a->operator_required);

	a = auth_fresh();
	path = tmp_file("agent", TOK_AGENT "\n", 0640);
	ck_assert_int_eq(auth_load_agent_file(a, path, &loose, err, sizeof err), 0);
	ck_assert(loose);

	a = auth_fresh();
	path = tmp_file("agent", "short\n", 0600);
	ck_assert_int_eq(auth_load_agent_file(a, path, &loose, err, sizeof err), -1);
	assert_mentions(err, path, "a short agent token");
	ck_assert(!a->agent_required);
}
END_TEST

START_TEST(test_load_operator_file)
{
	struct auth *a = auth_fresh();
	char err[512] = "";
	bool loose = true;
	const char *path = tmp_file("operators", "alice operator " TOK_A "\nbob viewer " TOK_B "\n",
				    0600);

	ck_assert_msg(auth_load_operator_file(a, path, &loose, err, sizeof err) == 0, "%s", err);
	ck_assert(!loose);
	ck_assert(a->operator_required);
	ck_assert_int_eq(a->nops, 2);
	ck_assert_str_eq(a->ops[1].name, "bob");

	a = auth_fresh();
	path = tmp_file("operators", TOK_C "\n", 0604);
	ck_assert_int_eq(auth_load_operator_file(a, path, &loose, err, sizeof err), 0);
	ck_assert(loose);
	ck_assert_str_eq(a->ops[0].name, "operator");

	/* a parse error names the file and the line */
	a = auth_fresh();
	path = tmp_file("operators", "alice operator " TOK_A "\nbob boss " TOK_B "\n", 0600);
	ck_assert_int_eq(auth_load_operator_file(a, path, &loose, err, sizeof err), -1);
	assert_mentions(err, path, "a bad role");
	assert_mentions(err, "line 2", "a bad role");
	ck_assert(!a->operator_required);

	a = auth_fresh();
	path = tmp_file("operators", "", 0600);
	ck_assert_int_eq(auth_load_operator_file(a, path, &loose, err, sizeof err), -1);
	assert_mentions(err, path, "an empty file");
	assert_mentions(err, "no tokens", "an empty file");
}
END_TEST

START_TEST(test_load_missing)
{
	struct auth *a = auth_fresh();
	char err[512] = "", path[128];
	bool loose = false;

	snprintf(path, sizeof path, "%s/nope", tmpdir);
	ck_assert_int_eq(auth_load_agent_file(a, path, &loose, err, sizeof err), -1);
	assert_mentions(err, path, "a missing agent file");
	ck_assert(!a->agent_required);
	err[0] = '\0';
	ck_assert_int_eq(auth_load_operator_file(a, path, &loose, err, sizeof err), -1);
	assert_mentions(err, path, "a missing operator file");
	assert_mentions(err, strerror(ENOENT), "a missing operator file");
	ck_assert(!a->operator_required);

	/* a directory is not a token file */
	ck_assert_int_eq(auth_load_operator_file(a, tmpdir, &loose, err, sizeof err), -1);
	assert_mentions(err, "not a regular file", tmpdir);
	ck_assert_int_eq(auth_load_agent_file(a, tmpdir, &loose, err, sizeof err), -1);
	assert_mentions(err, "not a regular file", tmpdir);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Authorization: Bearer
 * ------------------------------------------------------------------------ */

static const struct {
	const char *header;
	int rc;
	const char *tok;
} bearer_vecs[] = {
	{ "Bearer x", 0, "x" },
	{ "Bearer " TOK_A, 0, TOK_A },
	{ "bearer x", 0, "x" },
	{ "BEARER x", 0, "x" },
	{ "BeArEr x", 0, "x" },
	{ "Bearer     x", 0, "x" },
	{ "Bearer x   ", 0, "x" },
	{ "Bearer   x \t\r\n", 0, "x" },
	{ "Bearer a=b+c/d", 0, "a=b+c/d" },
	{ "Basic YWxpY2U6c2VjcmV0", -1, NULL },
	{ "Token x", -1, NULL },
	{ "", -1, NULL },
	{ "Bearer", -1, NULL },
	{ "Bearer ", -1, NULL },
	{ "Bearer      ", -1, NULL },
	{ "Bearerx", -1, NULL },
	{ "Bearer\tx", -1, NULL },
	{ " Bearer x", -1, NULL },
	{ "Bear x", -1, NULL },
};

START_TEST(test_bearer)
{
	char tok[AUTH_TOKEN_MAX + 1] = "untouched";
	int rc = auth_parse_bearer(bearer_vecs[_i].header, tok, sizeof tok);

	ck_assert_msg(rc == bearer_vecs[_i].rc, "\"%s\": rc %d", bearer_vecs[_i].header, rc);
	if (rc == 0)
		ck_assert_str_eq(tok, bearer_vecs[_i].tok);
}
END_TEST

START_TEST(test_bearer_limits)
{
	char header[600], tok[AUTH_TOKEN_MAX + 1];

	ck_assert_int_eq(auth_parse_bearer(NULL, tok, sizeof tok), -1);

	strcpy(header, "Bearer ");
	memset(header + 7, 't', AUTH_TOKEN_MAX);
	header[7 + AUTH_TOKEN_MAX] = '\0';
	ck_assert_int_eq(auth_parse_bearer(header, tok, sizeof tok), 0);
	ck_assert_uint_eq(strlen(tok), AUTH_TOKEN_MAX);
	strcat(header, "t");
	ck_assert_int_eq(auth_parse_bearer(header, tok, sizeof tok), -1);

	/* the caller's buffer bounds the token */
	ck_assert_int_eq(auth_parse_bearer("Bearer abcd", tok, 5), 0);
	ck_assert_str_eq(tok, "abcd");
	ck_assert_int_eq(auth_parse_bearer("Bearer abcde", tok, 5), -1);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Decisions
 * ------------------------------------------------------------------------ */

/* No token files: loopback only, whatever the header says. */
START_TEST(test_no_files_loopback_only)
{
	static const char *const headers[] = { NULL, "", "Bearer " TOK_A, "Basic x", "garbage" };
	struct auth *a = auth_fresh();
	const struct auth_operator *who;

	for (int i = 0; i < N(headers); i++) {
		ck_assert(auth_agent_ok(a, headers[i], true));
		ck_assert(!auth_agent_ok(a, headers[i], false));
		who = &a->ops[0];
		ck_assert(auth_operator_ok(a, headers[i], true, &who));
		ck_assert_ptr_null(who);              /* anonymous local operator */
		who = &a->ops[0];
		ck_assert(!auth_operator_ok(a, headers[i], false, &who));
		ck_assert_ptr_null(who);
	}
}
END_TEST

static struct auth *auth_with_files(void)
{
	struct auth *a = auth_fresh();
	char err[256] = "";

	a->agent_required = true;
	strcpy(a->agent_token, TOK_AGENT);
	ck_assert_msg(auth_parse_operators(a, "alice operator " TOK_A "\n"
					      "bob viewer " TOK_B "\n"
					      "carol operator " TOK_C "\n", err, sizeof err) == 0,
		      "%s", err);
	return a;
}

START_TEST(test_agent_with_token)
{
	static const char *const wrong[] = {
		NULL, "", "Bearer", "Bearer ", "Basic " TOK_AGENT, TOK_AGENT,
		"Bearer " TOK_A,                                   /* an operator's token */
		"Bearer agent-token-0123456789abcde",              /* a prefix */
		"Bearer " TOK_AGENT "f",                           /* one more */
		"Bearer Agent-token-0123456789abcdef",             /* case */
		"Bearer agent-token-0123456789abcdeF",
	};
	struct auth *a = auth_with_files();

	ck_assert(auth_agent_ok(a, "Bearer " TOK_AGENT, false));
	ck_assert(auth_agent_ok(a, "Bearer " TOK_AGENT, true));
	ck_assert(auth_agent_ok(a, "bearer   " TOK_AGENT "  ", false));
	for (int i = 0; i < N(wrong); i++) {
		ck_assert_msg(!auth_agent_ok(a, wrong[i], false), "remote, header %s",
			      wrong[i] ? wrong[i] : "(none)");
		ck_assert_msg(!auth_agent_ok(a, wrong[i], true), "loopback, header %s",
			      wrong[i] ? wrong[i] : "(none)");
	}
}
END_TEST

START_TEST(test_operator_lookup)
{
	static const struct {
		const char *header, *name;
		enum auth_role role;
	} right[] = {
		{ "Bearer " TOK_A, "alice", ROLE_OPERATOR },
		{ "Bearer " TOK_B, "bob", ROLE_VIEWER },
		{ "Bearer " TOK_C, "carol", ROLE_OPERATOR },
		{ "bearer  " TOK_B " ", "bob", ROLE_VIEWER },
	};
	struct auth *a = auth_with_files();
	const struct auth_operator *who;

	for (int i = 0; i < N(right); i++) {
		for (int lb = 0; lb < 2; lb++) {
			who = NULL;
			ck_assert_msg(auth_operator_ok(a, right[i].header, lb, &who), "%s",
				      right[i].header);
			ck_assert_ptr_nonnull(who);
			ck_assert_str_eq(who->name, right[i].name);
			ck_assert_int_eq(who->role, right[i].role);
			ck_assert_ptr_eq(who, &a->ops[i < 3 ? i : 1]);
		}
	}
}
END_TEST

START_TEST(test_operator_refused)
{
	static const char *const wrong[] = {
		NULL, "", "Bearer ", "Basic " TOK_A, TOK_A,
		"Bearer " TOK_AGENT,                    /* the agents' token is not an operator's */
		"Bearer alice-token-012345678",         /* a prefix */
		"Bearer " TOK_A "0",
		"Bearer alice operator " TOK_A,
	};
	struct auth *a = auth_with_files();
	const struct auth_operator *who;

	for (int i = 0; i < N(wrong); i++) {
		for (int lb = 0; lb < 2; lb++) {
			who = &a->ops[0];
			ck_assert_msg(!auth_operator_ok(a, wrong[i], lb, &who), "%s, loopback %d",
				      wrong[i] ? wrong[i] : "(none)", lb);
			ck_assert_ptr_null(who);
		}
	}
}
END_TEST

/* Each kind of client is decided by its own file alone. */
START_TEST(test_one_file_each)
{
	struct auth *a = auth_fresh();
	const struct auth_operator *who;
	char err[256] = "";

	/* operators only: agents still loopback-only */
	ck_assert_int_eq(auth_parse_operators(a, TOK_A "\n", err, sizeof err), 0);
	ck_assert(auth_agent_ok(a, NULL, true));
	ck_assert(!auth_agent_ok(a, "Bearer " TOK_A, false));
	ck_assert(!auth_operator_ok(a, NULL, true, &who));
	ck_assert(auth_operator_ok(a, "Bearer " TOK_A, false, &who));
	ck_assert_str_eq(who->name, "operator");

	/* agents only: operators still loopback-only */
	a = auth_fresh();
	a->agent_required = true;
	strcpy(a->agent_token, TOK_AGENT);
	ck_assert(!auth_agent_ok(a, NULL, true));
	ck_assert(auth_agent_ok(a, "Bearer " TOK_AGENT, false));
	ck_assert(auth_operator_ok(a, NULL, true, &who));
	ck_assert_ptr_null(who);
	ck_assert(!auth_operator_ok(a, "Bearer " TOK_AGENT, false, &who));
}
END_TEST

START_TEST(test_role_names)
{
	ck_assert_str_eq(auth_role_name(ROLE_OPERATOR), "operator");
	ck_assert_str_eq(auth_role_name(ROLE_VIEWER), "viewer");
}
END_TEST

/* ---------------------------------------------------------------------------
 * Loopback
 * ------------------------------------------------------------------------ */

static const struct {
	const char *addr;
	bool loopback;
} loop_vecs[] = {
	{ "127.0.0.1", true },
	{ "127.5.6.7", true },
	{ "127.255.255.254", true },
	{ "::1", true },
	{ "::ffff:127.0.0.1", true },
	{ "::ffff:127.1.2.3", true },
	{ "10.0.0.1", false },
	{ "192.168.1.127", false },
	{ "1.127.0.0", false },
	{ "::ffff:10.0.0.1", false },
	{ "::ffff:", false },
	{ "::2", false },
	{ "::10", false },
	{ "fe80::1", false },
	{ "0.0.0.0", false },
	{ "", false },
	{ NULL, false },
};

START_TEST(test_loopback)
{
	ck_assert_msg(auth_is_loopback(loop_vecs[_i].addr) == loop_vecs[_i].loopback, "%s",
		      loop_vecs[_i].addr ? loop_vecs[_i].addr : "(null)");
}
END_TEST

Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc;

	tc = tcase_create("operator_file");
	tcase_add_test(tc, test_ops_bare_token);
	tcase_add_test(tc, test_ops_bare_token_no_newline);
	tcase_add_test(tc, test_ops_named);
	tcase_add_test(tc, test_ops_token_lengths);
	tcase_add_loop_test(tc, test_ops_bad, 0, N(ops_bad));
	tcase_add_test(tc, test_ops_long_line);
	tcase_add_test(tc, test_ops_too_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_load_agent_file);
	tcase_add_test(tc, test_load_operator_file);
	tcase_add_test(tc, test_load_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("bearer");
	tcase_add_loop_test(tc, test_bearer, 0, N(bearer_vecs));
	tcase_add_test(tc, test_bearer_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("decisions");
	tcase_add_test(tc, test_no_files_loopback_only);
	tcase_add_test(tc, test_agent_with_token);
	tcase_add_test(tc, test_operator_lookup);
	tcase_add_test(tc, test_operator_refused);
	tcase_add_test(tc, test_one_file_each);
	tcase_add_test(tc, test_role_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("loopback");
	tcase_add_loop_test(tc, test_loopback, 0, N(loop_vecs));
	suite_add_tcase(s, tc);

	return s;
}
