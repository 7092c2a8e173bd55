/* client — a vigil-operator.v1 WebSocket client for the CLI and the
 * dashboard.  Single-threaded: the caller pumps it with oclient_service(),
 * which never waits longer than asked. */
#ifndef VIGIL_TUI_CLIENT_H
#define VIGIL_TUI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/urls.h"

enum oclient_state { OC_CONNECTING, OC_OPEN, OC_CLOSED };

struct oclient;

/* Starts connecting at once.  token may be NULL or "".  NULL on failure with
 * a reason in err. */
struct oclient *oclient_new(const struct ws_url *u, const char *token, bool insecure,
			    char *err, size_t errlen);
void oclient_free(struct oclient *c);          /* NULL is a no-op */

/* Run the network for at most timeout_ms (less if something arrives). */
void oclient_service(struct oclient *c, int timeout_ms);

/* The state, and when closed, why (in err). */
enum oclient_state oclient_state(const struct oclient *c, char *err, size_t errlen);

/* Queue a text message (sent once open).  0 or -1. */
int oclient_send(struct oclient *c, const char *text, size_t len);

/* The next received message, or NULL.  The caller frees it. */
char *oclient_next(struct oclient *c, size_t *len);

/* Convenience for the CLI: connect, send req, wait (bounded) for the
 * "result" with that id.  Returns the whole response text (caller frees) or
 * NULL with a reason in err. */
char *oclient_request(const struct ws_url *u, const char *token, bool insecure, const char *req,
		      size_t len, long long id, int timeout_ms, char *err, size_t errlen);

#endif
