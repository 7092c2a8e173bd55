/* auth — token files and handshake decisions.  Token comparisons are
 * constant-time; the tokens never leave this module except in memory. */
#include "collector/auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/names.h"
#include "proto/util.h"

void auth_init(struct auth *a)
{
	memset(a, 0, sizeof *a);
}

const char *auth_role_name(enum auth_role r)
{
	return r == ROLE_OPERATOR ? "operator" : "viewer";
}

static bool token_chars_ok(const char *t)
{
	size_t n = strlen(t);

	if (n < 16 || n > AUTH_TOKEN_MAX)
		return false;
	for (; *t; t++)
		if (*t <= ' ' || *t > '~')
			return false;
	return true;
}

int auth_parse_operators(struct auth *a, const char *text, char *err, size_t errlen)
{
	char line[1024];
	int lineno = 0, nops = 0;
	const char *p = text;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *hash, *f[4], *save = NULL;
		int nf = 0;

		lineno++;
		if (len >= sizeof line) {
			snprintf(err, errlen, "line %d: longer than %zu bytes", lineno, sizeof line - 1);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = e ? e + 1 : p + len;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (nf == 4)
				break;
			f[nf++] = t;
		}
		if (nf == 0)
			continue;
		if (nops == AUTH_MAX_OPERATORS) {
			snprintf(err, errlen, "line %d: more than %d operators", lineno, AUTH_MAX_OPERATORS);
			return -1;
		}
		if (nf == 1) {
			util_strlcpy(a->ops[nops].name, "operator", sizeof a->ops[0].name);
			a->ops[nops].role = ROLE_OPERATOR;
			f[2] = f[0];
		} else if (nf == 3) {
			if (!name_is_valid(f[0], 64)) {
				snprintf(err, errlen, "line %d: name '%s' must match [A-Za-z0-9._-]{1,64}",
					 lineno, f[0]);
				return -1;
			}
			if (strcmp(f[1], "viewer") && strcmp(f[1], "operator")) {
				snprintf(err, errlen, "line %d: role '%s' must be viewer or operator", lineno, f[1]);
				return -1;
			}
			util_strlcpy(a->ops[nops].name, f[0], sizeof a->ops[0].name);
			a->ops[nops].role = strcmp(f[1], "operator") == 0 ? ROLE_OPERATOR : ROLE_VIEWER;
		} else {
			snprintf(err, errlen, "line %d: expected NAME ROLE TOKEN (or a single token)", lineno);
			return -1;
		}
		if (!token_chars_ok(f[2])) {
			snprintf(err, errlen, "line %d: token must be 16..%d printable characters", lineno,
				 AUTH_TOKEN_MAX);
			return -1;
		}
		for (int i = 0; i < nops; i++) {
			if (strcmp(a->ops[i].token, f[2]) == 0) {
				snprintf(err, errlen, "line %d: token already used by %s", lineno, a->ops[i].name);
				return -1;
			}
		}
		util_strlcpy(a->ops[nops].token, f[2], sizeof a->ops[0].token);
		nops++;
	}
	if (nops == 0) {
		snprintf(err, errlen, "no tokens found");
		return -1;
	}
	a->nops = nops;
	a->operator_required = true;
	return 0;
}

int auth_load_agent_file(struct auth *a, const char *path, bool *loose, char *err, size_t errlen)
{
	if (util_read_token_file(path, a->agent_token, sizeof a->agent_token, loose, err, errlen))
		return -1;
	a->agent_required = true;
	return 0;
}

int auth_load_operator_file(struct auth *a, const char *path, bool *loose, char *err, size_t errlen)
{
	char buf[64 * 1024], why[256];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0) {
		snprintf(err, errlen, "operator token file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "operator token file %s: not a regular file", path);
		goto out_close;
	}
	*loose = (st.st_mode & 077) != 0;
	n = read(fd, buf, sizeof buf - 1);
	if (n < 0 || (size_t)n == sizeof buf - 1) {
		snprintf(err, errlen, "operator token file %s: %s", path,
			 n < 0 ? strerror(errno) : "larger than 64 KiB");
		goto out_close;
	}
	buf[n] = '\0';
	if (auth_parse_operators(a, buf, why, sizeof why)) {
		snprintf(err, errlen, "operator token file %s: %s", path, why);
		goto out_close;
	}
	rc = 0;
out_close:
	close(fd);
	return rc;
}

int auth_parse_bearer(const char *header, char *tok, size_t toklen)
{
	const char *p;
	size_t n;

	if (!header || strncasecmp(header, "Bearer ", 7))
		return -1;
	p = header + 7;
	while (*p == ' ')
		p++;
	n = strlen(p);
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	if (n == 0 || n >= toklen)
		return -1;
	memcpy(tok, p, n);
	tok[n] = '\0';
	return 0;
}

bool auth_agent_ok(const struct auth *a, const char *header, bool loopback)
{
	char tok[AUTH_TOKEN_MAX + 1];

	if (!a->agent_required)
		return loopback;
	if (auth_parse_bearer(header, tok, sizeof tok))
		return false;
	return util_secret_eq(tok, a->agent_token);
}

bool auth_operator_ok(const struct auth *a, const char *header, bool loopback,
		      const struct auth_operator **who)
{
	char tok[AUTH_TOKEN_MAX + 1];
	bool found = false;

	*who = NULL;
	if (!a->operator_required)
		return loopback;
	if (auth_parse_bearer(header, tok, sizeof tok))
		return false;
	for (int i = 0; i < a->nops; i++) {      /* no early exit: constant time in the match */
		if (util_secret_eq(tok, a->ops[i].token) && !found) {
			*who = &a->ops[i];
			found = true;
		}
	}
	return found;
}

bool auth_is_loopback(const char *addr)
{
	if (!addr)
		return false;
	if (strncmp(addr, "::ffff:", 7) == 0)
		addr += 7;
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}
