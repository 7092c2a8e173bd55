/* client — lws 4.1 client glue for operator connections. */
#include "tui/client.h"

#include <cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/util.h"

struct qmsg {
	struct qmsg *next;
	size_t len;
	char *text;                       /* out: LWS_PRE headroom before it */
};

struct oclient {
	struct lws_context *ctx;
	struct lws *wsi;
	enum oclient_state state;
	char why[256];
	char token[300];
	struct qmsg *out_head, *out_tail; /* to send */
	struct qmsg *in_head, *in_tail;   /* received */
	char *rx;
	size_t rxlen, rxcap;
	lws_sorted_usec_list_t sul_wake;
};

static void push(struct qmsg **head, struct qmsg **tail, struct qmsg *m)
{
	m->next = NULL;
	if (*tail)
		(*tail)->next = m;
	else
		*head = m;
	*tail = m;
}

static struct qmsg *pop(struct qmsg **head, struct qmsg **tail)
{
	struct qmsg *m = *head;

	if (m) {
		*head = m->next;
		if (!*head)
			*tail = NULL;
	}
	return m;
}

static void set_closed(struct oclient *c, const char *why)
{
	if (c->state != OC_CLOSED && why && !c->why[0])
		util_strlcpy(c->why, why, sizeof c->why);
	c->state = OC_CLOSED;
}

static int on_receive(struct oclient *c, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi))
		c->rxlen = 0;
	if (c->rxlen + len > 64u * 1024 * 1024) {
		set_closed(c, "the collector sent a message larger than 64 MiB");
		return -1;
	}
	if (c->rxlen + len + 1 > c->rxcap) {
		size_t ncap = c->rxcap ? c->rxcap : 65536;
		char *nb;

		while (ncap < c->rxlen + len + 1)
			ncap *= 2;
		nb = realloc(c->rx, ncap);
		if (!nb)
			return -1;
		c->rx = nb;
		c->rxcap = ncap;
	}
	memcpy(c->rx + c->rxlen, in, len);
	c->rxlen += len;
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
		struct qmsg *m = malloc(sizeof *m);

		if (!m)
			return -1;
		m->len = c->rxlen;
		m->text = malloc(c->rxlen + 1);
		if (!m->text) {
			free(m);
			return -1;
		}
		memcpy(m->text, c->rx, c->rxlen);
		m->text[c->rxlen] = '\0';
		push(&c->in_head, &c->in_tail, m);
		c->rxlen = 0;
	}
	return 0;
}

static int on_writeable(struct oclient *c, struct lws *wsi)
{
	struct qmsg *m = pop(&c->out_head, &c->out_tail);
	int n;

	if (!m)
		return 0;
	n = lws_write(wsi, (unsigned char *)m->text + LWS_PRE, m->len, LWS_WRITE_TEXT);
	free(m->text);
	free(m);
	if (n < 0)
		return -1;
	if (c->out_head)
		lws_callback_on_writable(wsi);
	return 0;
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct oclient *c = user;
	char why[300];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (c && c->token[0]) {
			unsigned char **p = (unsigned char **)in, *end = *p + len;
			char hdr[320];
			int n = snprintf(hdr, sizeof hdr, "Bearer %s", c->token);

			if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
							 (unsigned char *)hdr, n, p, end))
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		snprintf(why, sizeof why, "cannot connect: %s%s", in ? (const char *)in : "error",
			 in && strstr(in, "unauthorized") ? " (wrong or missing token: --token-file or "
			 "VIGIL_TOKEN_FILE)" : in && strstr(in, "SSL") ? " (TLS failed: is the collector's "
			 "certificate trusted by this host? --insecure accepts a self-signed one)" : "");
		if (c)
			set_closed(c, why);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->state = OC_OPEN;
		if (c->out_head)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_receive(c, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(c, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c && len >= 2) {
			const unsigned char *p = in;

			snprintf(why, sizeof why, "the collector closed the connection (code %d%s%.*s)",
				 (p[0] << 8) | p[1], len > 2 ? ": " : "", (int)(len - 2), (const char *)p + 2);
			set_closed(c, why);
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c)
			set_closed(c, "the collector closed the connection");
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (c) {
			set_closed(c, "connection lost");
			c->wsi = NULL;
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "operator", cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = 5,
	.secs_since_valid_hangup = 10,
};

static void lws_log_quiet(int level, const char *line)
{
	(void)level;
	(void)line;       /* the dashboard owns the terminal: errors surface as state */
}

struct oclient *oclient_new(const struct ws_url *u, const char *token, bool insecure,
			    char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info i;
	struct oclient *c = calloc(1, sizeof *c);

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (token)
		util_strlcpy(c->token, token, sizeof c->token);
	lws_set_log_level(LLL_ERR, lws_log_quiet);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.timeout_secs = 5;
	info.connect_timeout_secs = 5;
	if (u->tls)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	c->ctx = lws_create_context(&info);
	if (!c->ctx) {
		snprintf(err, errlen, "cannot create the libwebsockets context");
		free(c);
		return NULL;
	}
	memset(&i, 0, sizeof i);
	i.context = c->ctx;
	i.address = u->host;
	i.port = u->port;
	i.path = u->path;
	i.host = u->host;
	i.origin = u->host;
	i.protocol = PROTO_OPER_SUBPROTO;
	i.local_protocol_name = "operator";
	i.retry_and_idle_policy = &idle_policy;
	i.pwsi = &c->wsi;
	i.userdata = c;
	if (u->tls) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (insecure)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	c->state = OC_CONNECTING;
	if (!lws_client_connect_via_info(&i))
		set_closed(c, "cannot start a connection");
	return c;
}

void oclient_free(struct oclient *c)
{
	struct qmsg *m;

	if (!c)
		return;
	lws_sul_cancel(&c->sul_wake);
	lws_context_destroy(c->ctx);
	while ((m = pop(&c->out_head, &c->out_tail))) {
		free(m->text);
		free(m);
	}
	while ((m = pop(&c->in_head, &c->in_tail))) {
		free(m->text);
		free(m);
	}
	free(c->rx);
	free(c);
}

static void on_wake(lws_sorted_usec_list_t *sul)
{
	(void)sul;       /* only there to end the poll() */
}

void oclient_service(struct oclient *c, int timeout_ms)
{
	lws_sul_schedule(c->ctx, 0, &c->sul_wake, on_wake, (lws_usec_t)timeout_ms * 1000);
	lws_service(c->ctx, 0);
	lws_sul_cancel(&c->sul_wake);
}

enum oclient_state oclient_state(const struct oclient *c, char *err, size_t errlen)
{
	if (err && errlen)
		util_strlcpy(err, c->why, errlen);
	return c->state;
}

int oclient_send(struct oclient *c, const char *text, size_t len)
{
	struct qmsg *m;

	if (c->state == OC_CLOSED)
		return -1;
	m = malloc(sizeof *m);
	if (!m)
		return -1;
	m->text = malloc(LWS_PRE + len);
	if (!m->text) {
		free(m);
		return -1;
	}
	memcpy(m->text + LWS_PRE, text, len);
	m->len = len;
	push(&c->out_head, &c->out_tail, m);
	if (c->state == OC_OPEN && c->wsi)
		lws_callback_on_writable(c->wsi);
	return 0;
}

char *oclient_next(struct oclient *c, size_t *len)
{
	struct qmsg *m = pop(&c->in_head, &c->in_tail);
	char *t;

	if (!m)
		return NULL;
	t = m->text;
	*len = m->len;
	free(m);
	return t;
}

/* Is this the result (or a fatal error frame) for request id? */
static bool is_reply(const char *text, size_t len, long long id)
{
	cJSON *r = cJSON_ParseWithLength(text, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "type");
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(r, "id");
	bool yes = false;

	if (cJSON_IsString(t)) {
		if (strcmp(t->valuestring, "error") == 0)
			yes = true;
		else if (strcmp(t->valuestring, "result") == 0 && cJSON_IsNumber(i) &&
			 (long long)i->valuedouble == id)
			yes = true;
	}
	cJSON_Delete(r);
	return yes;
}

char *oclient_request(const struct ws_url *u, const char *token, bool insecure, const char *req,
		      size_t len, long long id, int timeout_ms, char *err, size_t errlen)
{
	struct oclient *c = oclient_new(u, token, insecure, err, errlen);
	int64_t deadline = util_mono_ms() + timeout_ms;
	char *reply = NULL;

	if (!c)
		return NULL;
	if (oclient_send(c, req, len)) {
		oclient_state(c, err, errlen);
		goto out;
	}
	while (!reply) {
		int64_t left = deadline - util_mono_ms();
		size_t rlen;
		char *m;

		while ((m = oclient_next(c, &rlen))) {
			if (!reply && is_reply(m, rlen, id)) {
				reply = m;
				continue;
			}
			free(m);
		}
		if (reply)
			break;
		if (oclient_state(c, err, errlen) == OC_CLOSED)
			break;
		if (left <= 0) {
			snprintf(err, errlen, "no answer from the collector within %d ms", timeout_ms);
			break;
		}
		oclient_service(c, left < 100 ? (int)left : 100);
	}
out:
	oclient_free(c);
	return reply;
}
