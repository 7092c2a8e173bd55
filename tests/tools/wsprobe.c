/* wsprobe — a raw WebSocket client for integration tests: connects with a
 * chosen subprotocol and token, sends the given frames (any bytes, any
 * size, even invalid), and prints what comes back:
 *   RX <text>            each message received
 *   CLOSE <code> <why>   the peer's close frame
 *   REFUSED <reason>     the handshake failed (e.g. 401)
 *   END                  the connection is gone, or --wait-ms passed
 * Exit 0 when it connected, 3 when refused, 2 on bad usage.
 *
 *   wsprobe --port P [--proto NAME] [--token T] [--send TEXT]... [--big N]
 *           [--binary] [--wait-ms N]
 * --big N sends one text frame of N bytes ('x' inside a JSON string). */
#include <getopt.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SENDS 32

static const char *sends[MAX_SENDS];
static int nsends, sent, big, binary, port, wait_ms = 2000;
static const char *proto = "vigil-agent.v1", *token;
static int done, refused, connected;
static struct lws_context *ctx;
static lws_sorted_usec_list_t sul_end;
static char *rx;
static size_t rxlen, rxcap;

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (token) {
			unsigned char **p = (unsigned char **)in, *end = *p + len;
			char hdr[600];
			int n = snprintf(hdr, sizeof hdr, "Bearer %s", token);

			if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
							 (unsigned char *)hdr, n, p, end))
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		printf("REFUSED %s\n", in ? (const char *)in : "error");
		refused = 1;
		done = 1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		connected = 1;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		const char *text;
		size_t n;
		unsigned char *buf;
		int r;

		if (sent < nsends) {
			text = sends[sent];
			n = strlen(text);
		} else if (big > 0) {
			static char *b;

			b = malloc((size_t)big + 1);
			if (!b)
				return -1;
			memset(b, 'x', (size_t)big);
			memcpy(b, "{\"type\":\"hb\",\"pad\":\"", 20);
			memcpy(b + big - 2, "\"}", 2);
			b[big] = '\0';
			text = b;
			n = (size_t)big;
			big = -1;
		} else {
			break;
		}
		buf = malloc(LWS_PRE + n + 1);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, text, n);
		r = lws_write(wsi, buf + LWS_PRE, n, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		free(buf);
		if (r < (int)n)
			return -1;
		if (sent < nsends)
			sent++;
		if (sent < nsends || big > 0)
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (lws_is_first_fragment(wsi))
			rxlen = 0;
		if (rxlen + len + 1 > rxcap) {
			rxcap = (rxlen + len + 1) * 2;
			rx = realloc(rx, rxcap);
			if (!rx)
				return -1;
		}
		memcpy(rx + rxlen, in, len);
		rxlen += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			rx[rxlen] = '\0';
			printf("RX %s\n", rx);
			fflush(stdout);
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			const unsigned char *p = in;

			printf("CLOSE %d %.*s\n", (p[0] << 8) | p[1], (int)(len - 2), (const char *)p + 2);
		} else {
			printf("CLOSE 0\n");
		}
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		done = 1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "probe", cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void on_end(lws_sorted_usec_list_t *s)
{
	(void)s;
	done = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' }, { "proto", required_argument, NULL, 'P' },
		{ "token", required_argument, NULL, 't' }, { "send", required_argument, NULL, 's' },
		{ "big", required_argument, NULL, 'b' }, { "binary", no_argument, NULL, 'B' },
		{ "wait-ms", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 }
	};
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'P': proto = optarg; break;
		case 't': token = optarg; break;
		case 's': if (nsends < MAX_SENDS) sends[nsends++] = optarg; break;
		case 'b': big = atoi(optarg); break;
		case 'B': binary = 1; break;
		case 'w': wait_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (port <= 0 || big < 0 || (big > 0 && big < 24))
		return 2;
	lws_set_log_level(getenv("PROBE_DEBUG") ? LLL_ERR|LLL_WARN|LLL_NOTICE|LLL_INFO : 0, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	ctx = lws_create_context(&info);
	if (!ctx)
		return 2;
	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = "127.0.0.1";
	ci.port = port;
	ci.path = "/";
	ci.host = ci.origin = "127.0.0.1";
	ci.protocol = *proto ? proto : NULL;
	ci.local_protocol_name = "probe";
	if (!lws_client_connect_via_info(&ci))
		done = refused = 1;
	lws_sul_schedule(ctx, 0, &sul_end, on_end, (lws_usec_t)wait_ms * 1000);
	while (!done)
		if (lws_service(ctx, 0) < 0)
			break;
	printf("END\n");
	lws_context_destroy(ctx);
	free(rx);
	return refused ? 3 : 0;
}
