/* auth — who may connect.
 *
 * Agents present the cluster's agent token; operators present a personal
 * token that maps to a name and a role (viewer: watch and query; operator:
 * also act).  Both travel in the WebSocket handshake as
 * "Authorization: Bearer TOKEN", never on a command line.
 *
 * Operator token file: one entry per line, "NAME ROLE TOKEN"; '#' starts a
 * comment.  A file holding a single bare token is also accepted: that token
 * is operator "operator" with role operator.
 *
 * With no token file for a kind of client, that kind is accepted from
 * loopback addresses only. */
#ifndef VIGIL_COLLECTOR_AUTH_H
#define VIGIL_COLLECTOR_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_TOKEN_MAX 256
#define AUTH_MAX_OPERATORS 256

enum auth_role { ROLE_VIEWER = 1, ROLE_OPERATOR = 2 };

struct auth_operator {
	char name[65];
	enum auth_role role;
	char token[AUTH_TOKEN_MAX + 1];
};

struct auth {
	bool agent_required;
	char agent_token[AUTH_TOKEN_MAX + 1];
	bool operator_required;
	struct auth_operator ops[AUTH_MAX_OPERATORS];
	int nops;
};

void auth_init(struct auth *a);
/* Parse the text of an operator token file; 0, or -1 with "line N: reason". */
int auth_parse_operators(struct auth *a, const char *text, char *err, size_t errlen);
/* Load token files; 0, or -1 with a reason naming the file.  *loose is set if
 * the file is readable by group or others (the caller warns). */
int auth_load_agent_file(struct auth *a, const char *path, bool *loose, char *err, size_t errlen);
int auth_load_operator_file(struct auth *a, const char *path, bool *loose, char *err, size_t errlen);

/* "Bearer TOKEN" -> TOKEN; 0 or -1 when the header is not of that form. */
int auth_parse_bearer(const char *header, char *tok, size_t toklen);

/* Decisions.  header may be NULL (absent); loopback says where the client
 * connected from.  Return true when allowed. */
bool auth_agent_ok(const struct auth *a, const char *header, bool loopback);
/* On success *who is the operator entry, or NULL for an anonymous loopback
 * client (role operator, name "local"). */
bool auth_operator_ok(const struct auth *a, const char *header, bool loopback,
		      const struct auth_operator **who);

/* "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1" */
bool auth_is_loopback(const char *addr);

const char *auth_role_name(enum auth_role r);

#endif
