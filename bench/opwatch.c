/* vigil-opwatch — measure the operator stream: subscribe over
 * vigil-operator.v1 like the dashboard does, and count what arrives.
 *
 * Counts frames and bytes per message type (snapshot, delta, event, other),
 * the nodes carried by each delta, the largest frame and the gaps between
 * deltas, over --duration seconds (from the snapshot on, so the connection
 * set-up is not counted).  Prints one JSON line to stdout at the end.
 */
#include <getopt.h>
#include <libwebsockets.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "proto/proto.h"
#include "proto/urls.h"
#include "proto/util.h"

#define RX_MAX (16 * 1024 * 1024)

enum { T_SNAPSHOT, T_DELTA, T_EVENT, T_OTHER, T_N };
static const char *const tname[T_N] = { "snapshot", "delta", "event", "other" };

struct watch {
	struct ws_url url;
	double duration_s;
	char token[300];
	bool insecure;

	struct lws_context *ctx;
	struct lws *wsi;
	bool sub_pending, subscribed, done, failed;
	char *rx;
	size_t rxlen;
	bool rx_discard;
	int64_t t0_us, end_us, last_delta_us;
	uint64_t frames[T_N], bytes[T_N], delta_nodes, delta_nodes_max, max_frame;
	uint64_t snapshot_nodes;
	int64_t gap_max_us, gap_min_us;
	lws_sorted_usec_list_t sul;
	unsigned char tx[LWS_PRE + 256];
};

static struct watch g_w;
static volatile sig_atomic_t g_stop;

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int count_nodes(const char *buf, size_t len)
{
	cJSON *r = cJSON_ParseWithLength(buf, len), *d, *n;
	int c = -1;

	if (!r)
		return -1;
	d = cJSON_GetObjectItemCaseSensitive(r, "data");
	n = d ? cJSON_GetObjectItemCaseSensitive(d, "nodes") : NULL;
	if (cJSON_IsArray(n))
		c = cJSON_GetArraySize(n);
	cJSON_Delete(r);
	return c;
}

static void on_message(struct watch *w, const char *buf, size_t len)
{
	int t = T_OTHER, nn;
	int64_t now = mono_us();

	if (len > 30 && !strncmp(buf, "{\"type\":\"snapshot\"", 18))
		t = T_SNAPSHOT;
	else if (len > 30 && !strncmp(buf, "{\"type\":\"delta\"", 15))
		t = T_DELTA;
	else if (len > 30 && !strncmp(buf, "{\"type\":\"event\"", 15))
		t = T_EVENT;
	if (t == T_SNAPSHOT && !w->subscribed) {
		w->subscribed = true;
		w->t0_us = now;
		w->end_us = now + (int64_t)(w->duration_s * 1e6);
		nn = count_nodes(buf, len);
		w->snapshot_nodes = nn > 0 ? (uint64_t)nn : 0;
	}
	if (!w->subscribed)
		return;
	w->frames[t]++;
	w->bytes[t] += len;
	if (len > w->max_frame)
		w->max_frame = len;
	if (t == T_DELTA) {
		nn = count_nodes(buf, len);
		if (nn > 0) {
			w->delta_nodes += (uint64_t)nn;
			if ((uint64_t)nn > w->delta_nodes_max)
				w->delta_nodes_max = (uint64_t)nn;
		}
		if (w->last_delta_us) {
			int64_t gap = now - w->last_delta_us;

			if (gap > w->gap_max_us)
				w->gap_max_us = gap;
			if (!w->gap_min_us || gap < w->gap_min_us)
				w->gap_min_us = gap;
		}
		w->last_delta_us = now;
	}
}

static int cb_watch(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct watch *w = &g_w;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (w->token[0]) {
			unsigned char **p = (unsigned char **)in, *end = *p + len;
			char hdr[320];
			int n = snprintf(hdr, sizeof hdr, "Bearer %s", w->token);

			if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
							 (unsigned char *)hdr, n, p, end))
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		util_log("error", "cannot connect: %s", in ? (const char *)in : "error");
		w->failed = w->done = true;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		w->sub_pending = true;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (w->sub_pending) {
			int n = proto_encode_subscribe((char *)w->tx + LWS_PRE, sizeof w->tx - LWS_PRE, 1);

			w->sub_pending = false;
			if (n < 0 || lws_write(wsi, w->tx + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		lws_validity_confirmed(wsi);
		if (lws_is_first_fragment(wsi)) {
			w->rxlen = 0;
			w->rx_discard = false;
		}
		if (w->rx_discard || w->rxlen + len > RX_MAX) {
			w->rx_discard = true;
			break;
		}
		memcpy(w->rx + w->rxlen, in, len);
		w->rxlen += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			on_message(w, w->rx, w->rxlen);
			w->rxlen = 0;
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		if (!w->done) {
			util_log("error", "the collector closed the connection");
			w->failed = w->done = true;
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "opwatch", cb_watch, 0, 65536, 0, NULL, 256 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
	struct watch *w = lws_container_of(sul, struct watch, sul);

	if (g_stop || (w->subscribed && mono_us() >= w->end_us)) {
		w->done = true;
		return;
	}
	lws_sul_schedule(w->ctx, 0, &w->sul, on_tick, 50000);
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vigil-opwatch [--url URL] [--duration S] [--token-file FILE] [--insecure]\n"
"\n"
"Subscribes to a vigil collector's operator stream (vigil-operator.v1) and\n"
"counts frames and bytes per type for S seconds (default 30) from the\n"
"snapshot on; prints one JSON line.\n");
}

int main(int argc, char **argv)
{
	struct watch *w = &g_w;
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "duration", required_argument, NULL, 'd' },
		{ "token-file", required_argument, NULL, 't' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char err[256];
	int c;
	double secs;
	uint64_t tb = 0, tf = 0;

	util_log_init("vigil-opwatch");
	ws_url_parse("ws://127.0.0.1:7070", &w->url, err, sizeof err);
	w->duration_s = 30;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (ws_url_parse(optarg, &w->url, err, sizeof err)) {
				fprintf(stderr, "vigil-opwatch: --url: %s\n", err);
				return 2;
			}
			break;
		case 'd':
			w->duration_s = strtod(optarg, NULL);
			if (!(w->duration_s > 0)) {
				fprintf(stderr, "vigil-opwatch: --duration: seconds > 0\n");
				return 2;
			}
			break;
		case 't': {
			bool loose;

			if (util_read_token_file(optarg, w->token, sizeof w->token, &loose, err, sizeof err)) {
				fprintf(stderr, "vigil-opwatch: --token-file: %s\n", err);
				return 2;
			}
			break;
		}
		case 'k': w->insecure = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	w->rx = malloc(RX_MAX);
	if (!w->rx)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	if (w->url.tls)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	w->ctx = lws_create_context(&info);
	if (!w->ctx)
		return 1;
	memset(&ci, 0, sizeof ci);
	ci.context = w->ctx;
	ci.address = w->url.host;
	ci.port = w->url.port;
	ci.path = w->url.path[0] ? w->url.path : "/";
	ci.host = ci.origin = w->url.host;
	ci.protocol = PROTO_OPER_SUBPROTO;
	ci.local_protocol_name = "opwatch";
	ci.pwsi = &w->wsi;
	if (w->url.tls) {
		ci.ssl_connection = LCCSCF_USE_SSL;
		if (w->insecure)
			ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	if (!lws_client_connect_via_info(&ci)) {
		util_log("error", "cannot connect");
		return 1;
	}
	lws_sul_schedule(w->ctx, 0, &w->sul, on_tick, 50000);
	while (!w->done)
		if (lws_service(w->ctx, 0) < 0)
			break;
	secs = w->subscribed ? (double)(mono_us() - w->t0_us) / 1e6 : 0;
	w->done = true;
	lws_context_destroy(w->ctx);
	for (int i = 0; i < T_N; i++) {
		tb += w->bytes[i];
		tf += w->frames[i];
	}
	printf("{\"ok\":%s,\"seconds\":%.3f,\"frames\":%llu,\"bytes\":%llu,\"bytes_per_s\":%.0f,"
	       "\"frames_per_s\":%.2f,\"max_frame\":%llu,\"snapshot_nodes\":%llu",
	       w->failed ? "false" : "true", secs, (unsigned long long)tf, (unsigned long long)tb,
	       secs > 0 ? (double)tb / secs : 0.0, secs > 0 ? (double)tf / secs : 0.0,
	       (unsigned long long)w->max_frame, (unsigned long long)w->snapshot_nodes);
	for (int i = 0; i < T_N; i++)
		printf(",\"%s_frames\":%llu,\"%s_bytes\":%llu", tname[i], (unsigned long long)w->frames[i],
		       tname[i], (unsigned long long)w->bytes[i]);
	printf(",\"delta_nodes_mean\":%.1f,\"delta_nodes_max\":%llu,\"delta_gap_min_ms\":%.1f,"
	       "\"delta_gap_max_ms\":%.1f}\n",
	       w->frames[T_DELTA] ? (double)w->delta_nodes / (double)w->frames[T_DELTA] : 0.0,
	       (unsigned long long)w->delta_nodes_max, (double)w->gap_min_us / 1000.0,
	       (double)w->gap_max_us / 1000.0);
	free(w->rx);
	return w->failed ? 1 : 0;
}
