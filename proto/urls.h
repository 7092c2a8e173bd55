/* urls — collector addresses: ws://HOST:PORT[/PATH] and wss://HOST:PORT[/PATH].
 * HOST is a name, an IPv4 address, or an IPv6 address in brackets.  PORT
 * defaults to 7070 (ws) and 7443 (wss); PATH to "/". */
#ifndef VIGIL_PROTO_URLS_H
#define VIGIL_PROTO_URLS_H

#include <stdbool.h>
#include <stddef.h>

struct ws_url {
	bool tls;
	char host[256];       /* without brackets */
	int port;
	char path[256];
};

/* 0 on success; -1 with a human-readable reason in err ("unknown scheme
 * 'http' (use ws:// or wss://)", "port out of range", ...). */
int ws_url_parse(const char *text, struct ws_url *out, char *err, size_t errlen);

/* Format back as text ("ws://127.0.0.1:7070/"). */
void ws_url_format(const struct ws_url *u, char *buf, size_t len);

#endif
