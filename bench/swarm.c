/* vigil-swarm — N simulated vigil agents in one process, for load tests.
 *
 * Each simulated agent is a real client of the agent protocol
 * (docs/protocol.md): its own WebSocket connection (subprotocol
 * vigil-agent.v1), its own node name and boot id, hello, heartbeats with
 * host metrics that drift like real ones, bye at the end.  The messages are
 * built by proto_encode_hello/hb/bye, the collector's answers decoded by
 * proto_decode_collector: the same code the real agent links.
 *
 * Cost: one lws context on libuv (--evlib uv, the default; epoll) or the
 * default poll() loop (--evlib poll).  poll() is O(fds) per wakeup and
 * measured quadratic here: 2000 agents at 1/s took 43 % of a core, 80 % of
 * it in the kernel's poll; so poll is for small swarms only.  Either way the
 * heartbeats are not each on their own timer: one tick (every --tick-ms)
 * marks every agent that is due, and the writes of a tick share one wakeup.  A heartbeat leaves at most one tick late; its due times are
 * absolute, so the lateness does not accumulate.
 *
 * Heartbeat-to-state delay: every --echo-every'th heartbeat asks for
 * "echo":true; the collector answers hb_ack once it has processed the
 * heartbeat (state updated), so send -> hb_ack is that delay plus two
 * loopback hops plus this process's own reaction time.  Recorded in a
 * histogram (10 us buckets up to 100 ms, 1 ms above), reported every
 * --report-s seconds on stderr (window and total) and in the summary.
 *
 * SIGUSR1 resets the counters and histograms (a script's warm-up is over);
 * SIGUSR2 prints the JSON summary of the counters so far and goes on (the
 * measured window is over; a profiler may follow without counting in it);
 * SIGINT/SIGTERM or --duration: every agent says bye, then one JSON line
 * with the totals goes to stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"
#include "proto/urls.h"
#include "proto/util.h"

#define RX_MAX 2048
#define TX_MAX 1024

enum ag_state { AG_DOWN = 0, AG_CONNECTING, AG_OPEN, AG_WELCOMED };

struct sagent {
	struct swarm *sw;
	struct lws *wsi;
	int idx;
	enum ag_state st;
	bool hello_pending, hb_pending, bye_pending, crash_pending, bye_sent;
	bool paused;
	bool hs_done, sent_upgrade; /* raw engine: upgrade answered, request sent */
	int fd;                     /* raw engine: the socket, -1 none */
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	char boot_id[40];
	int64_t seq;
	int64_t next_hb_us;        /* monotonic, due time of the next heartbeat */
	int64_t resume_us;         /* paused until */
	int64_t reconnect_us;      /* down: connect again at */
	int64_t echo_seq;          /* outstanding echo, -1 none */
	int64_t echo_sent_us;
	int64_t welcomed_at_us;
	double cpu, mem, load1, disk;
	uint16_t rxlen;
	bool rx_discard;
	char rx[RX_MAX];
};

/* Histogram of microseconds: 10 us buckets below 100 ms, 1 ms buckets to 60 s. */
#define H_FINE 10000
#define H_COARSE 60000
struct hist {
	uint64_t fine[H_FINE];
	uint64_t coarse[H_COARSE];
	uint64_t over, n;
	int64_t max_us;
};

struct counters {
	uint64_t hb_sent, echo_sent, echo_recv, echo_lost, welcomes, connects, connect_errors,
		 disconnects, errors, pauses, crashes, late_ticks;
	int64_t since_us;
};

struct swarm {
	/* options */
	struct ws_url url;
	int n, interval_ms, jitter_pct, group_size, source_addrs, echo_every, tick_ms;
	int connect_rate, max_inflight, report_s;
	double duration_s, pause_every_s, crash_every_s;
	int pause_ms, restart_ms;
	char prefix[40];
	char token[300];
	bool insecure, quiet;
	char evlib[8];             /* poll, uv, ev */
	unsigned seed;

	struct lws_context *ctx;
	struct sagent *ag;
	lws_sorted_usec_list_t sul_tick;
	char iface[64][16];
	int64_t start_us, next_report_us, next_pause_us, next_crash_us, stop_at_us, bye_deadline_us;
	int64_t connect_budget_us;
	int64_t tick_due_us;       /* when the tick should have run */
	int64_t tick_late_max_us;  /* worst lateness of the tick itself, this window */
	int next_to_connect;       /* first connect pass: agents 0..n-1 in order */
	int inflight, welcomed, open;
	bool stopping, done, all_welcomed_said;
	struct counters k, kw;     /* since reset, and this report window */
	struct hist h, hw;
	uint64_t error_codes_logged;
	unsigned rng;
	char txbuf[LWS_PRE + 2 * TX_MAX + 64]; /* raw engine: frame | message */
	bool raw;                  /* raw engine (epoll) instead of lws */
	bool engine_given;
	int ep, tfd;
	struct in_addr addr;
};

static volatile sig_atomic_t g_stop, g_reset, g_snap;
static struct swarm *g_sw;

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static unsigned rnd(struct swarm *sw)
{
	/* xorshift32: good enough for phases, jitter and chaos picks */
	unsigned x = sw->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return sw->rng = x;
}

static double rnd01(struct swarm *sw)
{
	return (double)(rnd(sw) & 0xffffff) / (double)0x1000000;
}

/* ---- histogram --------------------------------------------------------- */

static void hist_add(struct hist *h, int64_t us)
{
	if (us < 0)
		us = 0;
	if (us < H_FINE * 10)
		h->fine[us / 10]++;
	else if (us / 1000 < H_COARSE)
		h->coarse[us / 1000]++;
	else
		h->over++;
	h->n++;
	if (us > h->max_us)
		h->max_us = us;
}

/* Nearest-rank percentile in us (upper edge of the bucket); -1 if empty. */
static int64_t hist_pct(const struct hist *h, double p)
{
	uint64_t rank, c = 0;

	if (!h->n)
		return -1;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < H_FINE; i++)
		if ((c += h->fine[i]) >= rank)
			return (int64_t)(i + 1) * 10 < h->max_us ? (int64_t)(i + 1) * 10 : h->max_us;
	for (int i = 0; i < H_COARSE; i++)
		if ((c += h->coarse[i]) >= rank)
			return (int64_t)(i + 1) * 1000 < h->max_us ? (int64_t)(i + 1) * 1000 : h->max_us;
	return h->max_us;
}

/* ---- agents ------------------------------------------------------------ */

static void new_boot_id(struct swarm *sw, struct sagent *a)
{
	snprintf(a->boot_id, sizeof a->boot_id, "swarm-%08x-%08x-%d", rnd(sw), rnd(sw), a->idx);
}

static void drift(struct swarm *sw, double *v, double step, double lo, double hi)
{
	*v += (rnd01(sw) - 0.5) * 2 * step;
	if (*v < lo)
		*v = lo;
	if (*v > hi)
		*v = hi;
}

static int64_t jittered_interval_us(struct swarm *sw)
{
	double f = 1.0;

	if (sw->jitter_pct)
		f += (rnd01(sw) * 2 - 1) * sw->jitter_pct / 100.0;
	return (int64_t)(sw->interval_ms * 1000.0 * f);
}

static int build_hello(struct swarm *sw, struct sagent *a, char *buf)
{
	struct proto_hello h = { .priority = 100, .interval_ms = sw->interval_ms };

	util_strlcpy(h.node, a->node, sizeof h.node);
	util_strlcpy(h.group, a->group, sizeof h.group);
	util_strlcpy(h.version, VIGIL_VERSION, sizeof h.version);
	util_strlcpy(h.boot_id, a->boot_id, sizeof h.boot_id);
	/* simulated agents run no hooks: a leader the collector elected among
	 * them would never confirm its promote, and the retries would load the
	 * collector with work no real cluster makes */
	h.no_failover = true;
	return proto_encode_hello(buf, TX_MAX, &h);
}

static int build_bye(char *buf)
{
	static struct proto_bye bye;

	util_strlcpy(bye.reason, "vigil-swarm stopped", sizeof bye.reason);
	return proto_encode_bye(buf, TX_MAX, &bye);
}

/* The next heartbeat; *echo says whether it asks for an hb_ack. */
static int build_hb(struct swarm *sw, struct sagent *a, char *buf, bool *echo)
{
	static struct proto_hb hb;   /* large (checks): built in place, not on the stack */

	hb.seq = a->seq++;
	hb.sent_ms = util_wall_ms();
	hb.rtt_ms = -1;
	hb.echo = sw->echo_every > 0 && hb.seq % sw->echo_every == 0;
	drift(sw, &a->cpu, 3, 0, 100);
	drift(sw, &a->mem, 0.5, 5, 95);
	drift(sw, &a->load1, 0.05, 0, 8);
	drift(sw, &a->disk, 0.01, 1, 99);
	hb.m.cpu_pct = round(a->cpu * 10) / 10;
	hb.m.mem_pct = round(a->mem * 10) / 10;
	hb.m.load1 = round(a->load1 * 100) / 100;
	hb.m.disk_pct = round(a->disk * 10) / 10;
	hb.m.napp = 0;
	hb.nchecks = 0;
	*echo = hb.echo;
	return proto_encode_hb(buf, TX_MAX, &hb);
}

/* Called right after a heartbeat went out. */
static void hb_sent(struct swarm *sw, struct sagent *a, bool echo)
{
	sw->k.hb_sent++;
	sw->kw.hb_sent++;
	if (echo) {
		if (a->echo_seq >= 0) {
			sw->k.echo_lost++;     /* the previous echo never came back */
			sw->kw.echo_lost++;
		}
		a->echo_seq = a->seq - 1;
		a->echo_sent_us = mono_us();
		sw->k.echo_sent++;
		sw->kw.echo_sent++;
	}
}

/* ---- lws engine -------------------------------------------------------- */

static int send_text(struct swarm *sw, struct sagent *a, int n)
{
	if (n < 0 || n > TX_MAX)
		return -1;
	return lws_write(a->wsi, (unsigned char *)sw->txbuf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n ?
		-1 : 0;
}

static int on_writeable(struct swarm *sw, struct sagent *a)
{
	char *buf = sw->txbuf + LWS_PRE;

	if (a->crash_pending) {
		/* a crash: the connection goes without bye (no close handshake
		 * from our side either: the collector sees it drop) */
		a->crash_pending = false;
		return -1;
	}
	if (a->hello_pending) {
		a->hello_pending = false;
		if (send_text(sw, a, build_hello(sw, a, buf)))
			return -1;
	} else if (a->bye_pending) {
		a->bye_pending = false;
		if (send_text(sw, a, build_bye(buf)))
			return -1;
		a->bye_sent = true;
		lws_close_reason(a->wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
		return -1;
	} else if (a->hb_pending && a->st == AG_WELCOMED) {
		bool echo;

		a->hb_pending = false;
		if (send_text(sw, a, build_hb(sw, a, buf, &echo)))
			return -1;
		hb_sent(sw, a, echo);
	}
	if (a->hello_pending || a->bye_pending || a->crash_pending ||
	    (a->hb_pending && a->st == AG_WELCOMED))
		lws_callback_on_writable(a->wsi);
	return 0;
}

static void on_message(struct swarm *sw, struct sagent *a, const char *buf, size_t len)
{
	static struct collector_msg m;
	char err[256];
	enum proto_err rc = proto_decode_collector(buf, len, &m, err, sizeof err);

	if (rc) {
		sw->k.errors++;
		sw->kw.errors++;
		if (sw->error_codes_logged++ < 10)
			util_log("warn", "%s: bad message from the collector (%s): %s", a->node,
				 proto_err_code(rc), err);
		return;
	}
	switch (m.type) {
	case CMSG_WELCOME:
		if (a->st != AG_WELCOMED) {
			int64_t now = mono_us();

			a->st = AG_WELCOMED;
			a->welcomed_at_us = now;
			sw->welcomed++;
			sw->k.welcomes++;
			sw->kw.welcomes++;
			/* hello counts as heartbeat 0: the first one an interval later */
			a->next_hb_us = now + jittered_interval_us(sw);
		}
		break;
	case CMSG_HB_ACK:
		if (a->echo_seq >= 0 && m.u.hb_ack.seq == a->echo_seq) {
			int64_t d = mono_us() - a->echo_sent_us;

			a->echo_seq = -1;
			hist_add(&sw->h, d);
			hist_add(&sw->hw, d);
			sw->k.echo_recv++;
			sw->kw.echo_recv++;
		}
		break;
	case CMSG_ERROR:
		sw->k.errors++;
		sw->kw.errors++;
		if (sw->error_codes_logged++ < 10)
			util_log("warn", "%s: collector refused us: %s: %s", a->node, m.u.error.code,
				 m.u.error.message);
		break;
	default:        /* ack (we send no events), and messages of later features */
		break;
	}
}

static int cb_swarm(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct sagent *a = user;
	struct swarm *sw = g_sw;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (sw->token[0]) {
			unsigned char **p = (unsigned char **)in, *end = *p + len;
			char hdr[320];
			int n = snprintf(hdr, sizeof hdr, "Bearer %s", sw->token);

			if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
							 (unsigned char *)hdr, n, p, end))
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		sw->k.connect_errors++;
		sw->kw.connect_errors++;
		if (sw->error_codes_logged++ < 10)
			util_log("warn", "%s: cannot connect: %s", a ? a->node : "?",
				 in ? (const char *)in : "error");
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!a)
			break;
		if (a->st == AG_CONNECTING)
			sw->inflight--;
		a->st = AG_OPEN;
		sw->open++;
		sw->k.connects++;
		sw->kw.connects++;
		a->hello_pending = true;
		a->rxlen = 0;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!a)
			break;
		lws_validity_confirmed(wsi);
		if (lws_is_first_fragment(wsi)) {
			a->rxlen = 0;
			a->rx_discard = false;
		}
		if (a->rx_discard || a->rxlen + len > sizeof a->rx) {
			a->rx_discard = true;
			break;
		}
		memcpy(a->rx + a->rxlen, in, len);
		a->rxlen = (uint16_t)(a->rxlen + len);
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			on_message(sw, a, a->rx, a->rxlen);
			a->rxlen = 0;
		}
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!a || a->st < AG_OPEN)
			break;
		return on_writeable(sw, a);
	case LWS_CALLBACK_WSI_DESTROY: {
		int64_t now = mono_us();

		if (!a)
			break;
		if (a->st == AG_CONNECTING)
			sw->inflight--;
		if (a->st >= AG_OPEN)
			sw->open--;
		if (a->st == AG_WELCOMED)
			sw->welcomed--;
		if (a->st >= AG_OPEN && !a->bye_sent && !sw->stopping && a->reconnect_us <= now) {
			/* not one of our crashes: the collector or the network dropped us */
			sw->k.disconnects++;
			sw->kw.disconnects++;
		}
		a->wsi = NULL;
		a->st = AG_DOWN;
		a->hello_pending = a->hb_pending = a->bye_pending = a->crash_pending = false;
		a->paused = false;
		a->echo_seq = -1;
		if (a->reconnect_us <= now)    /* a crash set its own restart time */
			a->reconnect_us = now + 1000000 + (int64_t)(rnd01(sw) * 1000000);
		break;
	}
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "swarm", cb_swarm, 0, RX_MAX, 0, NULL, TX_MAX },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = 10,
	.secs_since_valid_hangup = 20,
};

static void lws_connect_agent(struct swarm *sw, struct sagent *a)
{
	struct lws_client_connect_info i;

	memset(&i, 0, sizeof i);
	i.context = sw->ctx;
	i.address = sw->url.host;
	i.port = sw->url.port;
	i.path = sw->url.path[0] ? sw->url.path : "/";
	i.host = sw->url.host;
	i.origin = sw->url.host;
	i.protocol = PROTO_AGENT_SUBPROTO;
	i.local_protocol_name = "swarm";
	i.retry_and_idle_policy = &idle_policy;
	i.pwsi = &a->wsi;
	i.userdata = a;
	if (sw->source_addrs > 1)
		i.iface = sw->iface[a->idx % sw->source_addrs];
	if (sw->url.tls) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (sw->insecure)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	if (!lws_client_connect_via_info(&i)) {
		/* no wsi, so no WSI_DESTROY: retry from the tick */
		sw->inflight--;
		a->st = AG_DOWN;
		a->reconnect_us = mono_us() + 1000000;
		sw->k.connect_errors++;
		sw->kw.connect_errors++;
	}
}

/* ---- raw engine: WebSocket client on epoll ------------------------------
 *
 * RFC 6455, client side, just what the agent protocol needs: the upgrade
 * request (with Sec-WebSocket-Protocol and the bearer token), a 101 answer,
 * masked text frames out, unmasked frames in (text; ping answered with pong;
 * close).  Messages are small, so a send that does not go out whole on a
 * non-blocking socket (it never happened in the measurements) counts as an
 * error and drops the connection.  Sec-WebSocket-Accept is not checked: the
 * peer is our own collector.
 */

static void raw_down(struct swarm *sw, struct sagent *a)
{
	int64_t now = mono_us();

	if (a->fd >= 0) {
		epoll_ctl(sw->ep, EPOLL_CTL_DEL, a->fd, NULL);
		close(a->fd);
		a->fd = -1;
	}
	if (a->st == AG_CONNECTING)
		sw->inflight--;
	if (a->st >= AG_OPEN)
		sw->open--;
	if (a->st == AG_WELCOMED)
		sw->welcomed--;
	if (a->st >= AG_OPEN && !a->bye_sent && !sw->stopping && a->reconnect_us <= now) {
		sw->k.disconnects++;
		sw->kw.disconnects++;
	}
	a->st = AG_DOWN;
	a->hs_done = a->sent_upgrade = false;
	a->paused = false;
	a->echo_seq = -1;
	a->rxlen = 0;
	if (a->reconnect_us <= now)    /* a crash set its own restart time */
		a->reconnect_us = now + 1000000 + (int64_t)(rnd01(sw) * 1000000);
}

static int raw_send_frame(struct swarm *sw, struct sagent *a, int opcode, const char *p, size_t n)
{
	unsigned char *f = (unsigned char *)sw->txbuf;
	size_t h;
	unsigned m = rnd(sw);
	unsigned char *mask;
	ssize_t w;

	if (n > TX_MAX)
		return -1;
	f[0] = (unsigned char)(0x80 | opcode);
	if (n < 126) {
		f[1] = (unsigned char)(0x80 | n);
		h = 2;
	} else {
		f[1] = 0x80 | 126;
		f[2] = (unsigned char)(n >> 8);
		f[3] = (unsigned char)n;
		h = 4;
	}
	mask = f + h;
	memcpy(mask, &m, 4);
	h += 4;
	for (size_t i = 0; i < n; i++)
		f[h + i] = (unsigned char)p[i] ^ mask[i & 3];
	w = send(a->fd, f, h + n, MSG_NOSIGNAL | MSG_DONTWAIT);
	return w == (ssize_t)(h + n) ? 0 : -1;
}

static int raw_send_text(struct swarm *sw, struct sagent *a, const char *p, int n)
{
	return n < 0 ? -1 : raw_send_frame(sw, a, 1, p, (size_t)n);
}

static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = t[(v >> 6) & 63];
		out[o++] = t[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

static void raw_connect(struct swarm *sw, struct sagent *a)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sw->url.port) };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = a };
	int one = 1;

	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		goto fail;
	setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (sw->source_addrs > 1) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		inet_pton(AF_INET, sw->iface[a->idx % sw->source_addrs], &src.sin_addr);
		if (bind(a->fd, (struct sockaddr *)&src, sizeof src))
			goto fail;
	}
	sa.sin_addr = sw->addr;
	if (connect(a->fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS)
		goto fail;
	if (epoll_ctl(sw->ep, EPOLL_CTL_ADD, a->fd, &ev))
		goto fail;
	return;
fail:
	if (sw->error_codes_logged++ < 10)
		util_log("warn", "%s: cannot connect: %s", a->node, strerror(errno));
	sw->k.connect_errors++;
	sw->kw.connect_errors++;
	raw_down(sw, a);
}

static void raw_on_open_writable(struct swarm *sw, struct sagent *a)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = a };
	unsigned char key[16];
	char k64[32], req[1024];
	int err = 0, n;
	socklen_t el = sizeof err;

	if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		if (sw->error_codes_logged++ < 10)
			util_log("warn", "%s: cannot connect: %s", a->node, strerror(err));
		sw->k.connect_errors++;
		sw->kw.connect_errors++;
		raw_down(sw, a);
		return;
	}
	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)rnd(sw);
	b64(key, 16, k64);
	n = snprintf(req, sizeof req,
		     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
		     "Sec-WebSocket-Protocol: " PROTO_AGENT_SUBPROTO "\r\n%s%s%s\r\n",
		     sw->url.path[0] ? sw->url.path : "/", sw->url.host, sw->url.port, k64,
		     sw->token[0] ? "Authorization: Bearer " : "", sw->token, sw->token[0] ? "\r\n" : "");
	epoll_ctl(sw->ep, EPOLL_CTL_MOD, a->fd, &ev);
	if (n <= 0 || (size_t)n >= sizeof req ||
	    send(a->fd, req, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		sw->k.connect_errors++;
		sw->kw.connect_errors++;
		raw_down(sw, a);
	}
}

/* Whole frames from a->rx; returns -1 when the connection must go. */
static int raw_frames(struct swarm *sw, struct sagent *a)
{
	size_t off = 0;

	while (a->rxlen - off >= 2) {
		unsigned char *f = (unsigned char *)a->rx + off;
		int op = f[0] & 0x0f;
		uint64_t len = f[1] & 0x7f;
		size_t h = 2;

		if (f[1] & 0x80)
			return -1;              /* a server must not mask */
		if (len == 126) {
			if (a->rxlen - off < 4)
				break;
			len = (uint64_t)f[2] << 8 | f[3];
			h = 4;
		} else if (len == 127) {
			return -1;              /* nothing the collector sends us is that big */
		}
		if (h + len > sizeof a->rx)
			return -1;
		if (a->rxlen - off < h + len)
			break;
		if (op == 1 && (f[0] & 0x80)) {
			on_message(sw, a, (const char *)f + h, (size_t)len);
		} else if (op == 9) {
			if (raw_send_frame(sw, a, 10, (const char *)f + h, (size_t)len))
				return -1;
		} else if (op == 8) {
			return -1;
		}                               /* pong, fragments: ignored (never sent to agents) */
		off += h + (size_t)len;
	}
	if (off) {
		memmove(a->rx, a->rx + off, a->rxlen - off);
		a->rxlen = (uint16_t)(a->rxlen - off);
	}
	return 0;
}

static void raw_on_readable(struct swarm *sw, struct sagent *a)
{
	for (;;) {
		ssize_t r;

		if (a->rxlen == sizeof a->rx)
			goto bad;               /* a frame or header larger than we take */
		r = recv(a->fd, a->rx + a->rxlen, sizeof a->rx - a->rxlen, MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			raw_down(sw, a);
			return;
		}
		if (r < 0)
			return;
		a->rxlen = (uint16_t)(a->rxlen + r);
		if (!a->hs_done) {
			char *e = memmem(a->rx, a->rxlen, "\r\n\r\n", 4);
			size_t hl;

			if (!e) {
				if (a->rxlen == sizeof a->rx)
					goto bad;
				continue;
			}
			if (a->rxlen < 12 || memcmp(a->rx, "HTTP/1.1 101", 12)) {
				if (sw->error_codes_logged++ < 10)
					util_log("warn", "%s: upgrade refused: %.*s", a->node,
						 (int)strcspn(a->rx, "\r\n"), a->rx);
				goto bad;
			}
			hl = (size_t)(e + 4 - a->rx);
			memmove(a->rx, a->rx + hl, a->rxlen - hl);
			a->rxlen = (uint16_t)(a->rxlen - hl);
			a->hs_done = true;
			sw->inflight--;
			a->st = AG_OPEN;
			sw->open++;
			sw->k.connects++;
			sw->kw.connects++;
			if (raw_send_text(sw, a, sw->txbuf + TX_MAX + 16,
					  build_hello(sw, a, sw->txbuf + TX_MAX + 16)))
				goto bad;
		}
		if (raw_frames(sw, a)) {
			raw_down(sw, a);
			return;
		}
		if ((size_t)r < sizeof a->rx / 2)
			return;                 /* drained (a short read) */
	}
bad:
	sw->k.connect_errors++;
	sw->kw.connect_errors++;
	raw_down(sw, a);
}

/* ---- engine-neutral actions -------------------------------------------- */

static bool has_conn(const struct sagent *a)
{
	return a->wsi || a->fd >= 0;
}

static void connect_agent(struct swarm *sw, struct sagent *a)
{
	a->st = AG_CONNECTING;
	a->bye_sent = false;
	sw->inflight++;
	new_boot_id(sw, a);
	a->seq = 1;
	if (sw->raw)
		raw_connect(sw, a);
	else
		lws_connect_agent(sw, a);
}

static void send_hb_now(struct swarm *sw, struct sagent *a)
{
	if (sw->raw) {
		char *buf = sw->txbuf + TX_MAX + 16;
		bool echo;

		if (raw_send_text(sw, a, buf, build_hb(sw, a, buf, &echo)))
			raw_down(sw, a);
		else
			hb_sent(sw, a, echo);
	} else {
		a->hb_pending = true;
		lws_callback_on_writable(a->wsi);
	}
}

/* ---- the tick ---------------------------------------------------------- */

static void pick_victim(struct swarm *sw, bool crash, int64_t now)
{
	for (int tries = 0; tries < 32; tries++) {
		struct sagent *a = &sw->ag[rnd(sw) % (unsigned)sw->n];

		if (a->st != AG_WELCOMED || a->paused || !has_conn(a))
			continue;
		if (crash) {
			a->reconnect_us = now + (int64_t)sw->restart_ms * 1000;
			sw->k.crashes++;
			sw->kw.crashes++;
			util_log("info", "chaos: crash %s (reconnects in %d ms with a new boot id)", a->node,
				 sw->restart_ms);
			if (sw->raw) {
				raw_down(sw, a);        /* close(): what the kernel does for a dead process */
			} else {
				a->crash_pending = true;
				lws_callback_on_writable(a->wsi);
			}
		} else {
			a->paused = true;
			a->resume_us = now + (int64_t)sw->pause_ms * 1000;
			sw->k.pauses++;
			sw->kw.pauses++;
			util_log("info", "chaos: pause %s for %d ms", a->node, sw->pause_ms);
		}
		return;
	}
}

static void fmt_us(char *buf, size_t len, int64_t us)
{
	if (us < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", (double)us / 1000.0);
}

static void report(struct swarm *sw, int64_t now)
{
	double win = (double)(now - sw->kw.since_us) / 1e6;
	char p50[32], p99[32], mx[32], tp50[32], tp99[32], tmx[32];

	fmt_us(p50, sizeof p50, hist_pct(&sw->hw, 50));
	fmt_us(p99, sizeof p99, hist_pct(&sw->hw, 99));
	fmt_us(mx, sizeof mx, sw->hw.n ? sw->hw.max_us : -1);
	fmt_us(tp50, sizeof tp50, hist_pct(&sw->h, 50));
	fmt_us(tp99, sizeof tp99, hist_pct(&sw->h, 99));
	fmt_us(tmx, sizeof tmx, sw->h.n ? sw->h.max_us : -1);
	util_log("info", "t=%.0fs welcomed %d/%d open %d; %.0f hb/s; echo ms p50 %s p99 %s max %s "
		 "(%llu; total p50 %s p99 %s max %s); lost echoes %llu, connects %llu, errors %llu, "
		 "disconnects %llu, late heartbeats %llu, tick late by up to %.1f ms",
		 (double)(now - sw->start_us) / 1e6, sw->welcomed, sw->n, sw->open,
		 win > 0 ? (double)sw->kw.hb_sent / win : 0.0, p50, p99, mx,
		 (unsigned long long)sw->hw.n, tp50, tp99, tmx,
		 (unsigned long long)sw->kw.echo_lost, (unsigned long long)sw->kw.connects,
		 (unsigned long long)(sw->kw.errors + sw->kw.connect_errors),
		 (unsigned long long)sw->kw.disconnects, (unsigned long long)sw->kw.late_ticks,
		 (double)sw->tick_late_max_us / 1000.0);
	sw->tick_late_max_us = 0;
	memset(&sw->kw, 0, sizeof sw->kw);
	memset(&sw->hw, 0, sizeof sw->hw);
	sw->kw.since_us = now;
}

static void begin_stop(struct swarm *sw, int64_t now)
{
	sw->stopping = true;
	sw->bye_deadline_us = now + 3000000;
	for (int i = 0; i < sw->n; i++) {
		struct sagent *a = &sw->ag[i];

		if (!has_conn(a) || a->st != AG_WELCOMED)
			continue;
		if (sw->raw) {
			/* bye, a close frame, then our half of the TCP close; the
			 * fd stays until the collector closes (no RST over data) */
			char *buf = sw->txbuf + TX_MAX + 16;
			static const char code[] = { 0x03, (char)0xe8, 'b', 'y', 'e' };

			if (!raw_send_text(sw, a, buf, build_bye(buf))) {
				a->bye_sent = true;
				raw_send_frame(sw, a, 8, code, sizeof code);
				shutdown(a->fd, SHUT_WR);
			} else {
				raw_down(sw, a);
			}
		} else {
			a->bye_pending = true;
			lws_callback_on_writable(a->wsi);
		}
	}
}

/* Everything periodic; false once the swarm is done. */
static void summary(struct swarm *sw, int64_t end_us);

static bool tick(struct swarm *sw, int64_t now)
{
	int64_t tick_us = (int64_t)sw->tick_ms * 1000;
	int active = 0;

	if (g_reset) {
		g_reset = 0;
		memset(&sw->k, 0, sizeof sw->k);
		memset(&sw->h, 0, sizeof sw->h);
		sw->k.since_us = now;
		util_log("info", "counters reset (SIGUSR1)");
	}
	if (g_snap) {
		g_snap = 0;
		summary(sw, now);
		util_log("info", "summary printed (SIGUSR2)");
	}
	if (!sw->stopping && (g_stop || (sw->stop_at_us && now >= sw->stop_at_us)))
		begin_stop(sw, now);
	if (sw->stopping) {
		for (int i = 0; i < sw->n; i++)
			if (has_conn(&sw->ag[i]))
				active++;
		return active && now < sw->bye_deadline_us;
	}

	/* connections: a rate and a bound on handshakes in flight */
	if (sw->connect_budget_us < now - 1000000)
		sw->connect_budget_us = now - 1000000;  /* at most one second of burst */
	for (int i = 0; i < sw->n && sw->inflight < sw->max_inflight &&
	     sw->connect_budget_us <= now; i++) {
		int j = sw->next_to_connect < sw->n ? sw->next_to_connect++ : i;
		struct sagent *a = &sw->ag[j];

		if (a->st != AG_DOWN || a->reconnect_us > now)
			continue;
		connect_agent(sw, a);
		sw->connect_budget_us += 1000000 / sw->connect_rate;
	}

	/* heartbeats due */
	for (int i = 0; i < sw->n; i++) {
		struct sagent *a = &sw->ag[i];

		if (a->st != AG_WELCOMED || !has_conn(a))
			continue;
		if (a->paused) {
			if (now < a->resume_us)
				continue;
			a->paused = false;          /* a hung process resumes: it sends at once */
			a->next_hb_us = now;
		}
		if (now >= a->next_hb_us) {
			if (now - a->next_hb_us > tick_us * 3) {
				if (getenv("SWARM_DEBUG"))
					util_log("debug", "%s: heartbeat %lld late by %lld us", a->node,
						 (long long)a->seq, (long long)(now - a->next_hb_us));
				sw->k.late_ticks++;
				sw->kw.late_ticks++;
			}
			a->next_hb_us += jittered_interval_us(sw);
			if (a->next_hb_us < now)
				a->next_hb_us = now + jittered_interval_us(sw);
			send_hb_now(sw, a);
		}
	}

	if (sw->pause_every_s > 0 && now >= sw->next_pause_us) {
		pick_victim(sw, false, now);
		sw->next_pause_us = now + (int64_t)(sw->pause_every_s * 1e6);
	}
	if (sw->crash_every_s > 0 && now >= sw->next_crash_us) {
		pick_victim(sw, true, now);
		sw->next_crash_us = now + (int64_t)(sw->crash_every_s * 1e6);
	}
	if (!sw->all_welcomed_said && sw->welcomed == sw->n) {
		sw->all_welcomed_said = true;
		util_log("info", "all %d agents welcomed after %.1f s", sw->n,
			 (double)(now - sw->start_us) / 1e6);
	}
	if (sw->report_s > 0 && now >= sw->next_report_us) {
		report(sw, now);
		sw->next_report_us = now + (int64_t)sw->report_s * 1000000;
	}
	return true;
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
	struct swarm *sw = lws_container_of(sul, struct swarm, sul_tick);
	int64_t now = mono_us();
	int64_t tick_us = (int64_t)sw->tick_ms * 1000, d;

	if (sw->tick_due_us && now - sw->tick_due_us > sw->tick_late_max_us)
		sw->tick_late_max_us = now - sw->tick_due_us;
	if (!tick(sw, now)) {
		sw->done = true;
		if (strcmp(sw->evlib, "poll"))
			/* an event library's loop only returns once the context is
			 * going (lws 4.1.6): destroy it from here */
			lws_context_destroy(sw->ctx);
		else
			lws_cancel_service(sw->ctx);
		return;
	}
	/* the next tick on the tick grid, so a slow tick does not shift the rest */
	d = tick_us - (mono_us() - now) % tick_us;
	sw->tick_due_us = mono_us() + d;
	lws_sul_schedule(sw->ctx, 0, &sw->sul_tick, on_tick, d);
}

static int raw_run(struct swarm *sw)
{
	struct itimerspec its = { .it_interval = { 0, (long)sw->tick_ms * 1000000 },
				  .it_value = { 0, 1000 } };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[512];
	int64_t tick_us = (int64_t)sw->tick_ms * 1000;

	sw->ep = epoll_create1(EPOLL_CLOEXEC);
	sw->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sw->ep < 0 || sw->tfd < 0 || timerfd_settime(sw->tfd, 0, &its, NULL) ||
	    epoll_ctl(sw->ep, EPOLL_CTL_ADD, sw->tfd, &ev)) {
		util_log("error", "epoll/timerfd: %s", strerror(errno));
		return -1;
	}
	sw->tick_due_us = mono_us();
	while (!sw->done) {
		int n = epoll_wait(sw->ep, evs, 512, -1);

		for (int i = 0; i < n; i++) {
			struct sagent *a = evs[i].data.ptr;

			if (!a) {
				uint64_t exp = 0;
				int64_t now = mono_us();

				if (read(sw->tfd, &exp, sizeof exp) != sizeof exp)
					continue;
				sw->tick_due_us += (int64_t)exp * tick_us;
				if (now - sw->tick_due_us + tick_us > sw->tick_late_max_us)
					sw->tick_late_max_us = now - sw->tick_due_us + tick_us;
				if (!tick(sw, now))
					sw->done = true;
				continue;
			}
			if (a->fd < 0)
				continue;               /* closed earlier in this batch */
			if (a->st == AG_CONNECTING && !a->hs_done && (evs[i].events & EPOLLOUT) &&
			    a->rxlen == 0 && !a->sent_upgrade) {
				a->sent_upgrade = true;
				raw_on_open_writable(sw, a);
				if (a->fd < 0)
					continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				raw_on_readable(sw, a);
		}
	}
	for (int i = 0; i < sw->n; i++)
		if (sw->ag[i].fd >= 0)
			raw_down(sw, &sw->ag[i]);
	close(sw->tfd);
	close(sw->ep);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		g_reset = 1;
	else if (sig == SIGUSR2)
		g_snap = 1;
	else
		g_stop = 1;
}

/* With an event library, lws owns SIGINT/SIGTERM and calls this in the loop. */
static void evlib_signal_cb(void *handle, int sig)
{
	(void)handle;
	on_signal(sig);
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	util_log(level == LLL_ERR ? "error" : "warn", "lws: %.*s", (int)n, line);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vigil-swarm [OPTIONS]\n"
"\n"
"Runs N simulated vigil agents from one process, each with its own WebSocket\n"
"connection, node name and boot id: hello, heartbeats with drifting host\n"
"metrics, bye.  For load-testing a collector.\n"
"\n"
"  --url URL            collector, ws://HOST:PORT or wss:// (default ws://127.0.0.1:7070)\n"
"  -n, --agents N       simulated agents (default 100)\n"
"  --interval-ms N      heartbeat interval, 50..60000 (default 1000)\n"
"  --jitter-pct P       each interval varies by up to +-P %% (default 0)\n"
"  --prefix NAME        node names NAME-00000, NAME-00001, ... (default swarm)\n"
"  --group-size N       nodes per group NAME-g0, NAME-g1, ..., 1..64 (the\n"
"                       collector's most members per group; default 50)\n"
"                       Every agent says no_failover: none runs hooks\n"
"  --source-addrs K     spread connections over 127.0.0.1 .. 127.0.0.K\n"
"                       (default 1; each source address can hold about as\n"
"                       many connections to one collector as the ephemeral\n"
"                       port range has ports, 28232 by default)\n"
"  --echo-every K       ask for an hb_ack every K-th heartbeat, 0 = never\n"
"                       (default 10); its round trip is the heartbeat-to-state\n"
"                       delay plus loopback\n"
"  --pause-every S      every S seconds, a random agent stops heartbeating\n"
"                       (a hung process: connection kept) for --pause-ms\n"
"  --pause-ms N         (default 3000)\n"
"  --crash-every S      every S seconds, a random agent drops its connection\n"
"                       without bye and comes back after --restart-ms with a\n"
"                       new boot id\n"
"  --restart-ms N       (default 2000)\n"
"  --duration S         stop after S seconds (default: until SIGINT/SIGTERM)\n"
"  --connect-rate N     new connections per second (default 2000)\n"
"  --max-inflight N     handshakes in flight at once (default 256)\n"
"  --tick-ms N          scheduling tick, 1..100 (default 5)\n"
"  --engine raw|lws     raw: a minimal WebSocket client on epoll (default for\n"
"                       ws://); lws: libwebsockets (needed for wss://)\n"
"  --evlib uv|ev|poll   lws engine's event loop (default poll)\n"
"  --report-s N         progress line on stderr every N s, 0 = never (default 10)\n"
"  --token-file FILE    the cluster's agent token (Authorization: Bearer)\n"
"  --insecure           wss: accept a self-signed certificate\n"
"  --seed N             random seed (default: time and pid)\n"
"  -h, --help           this text\n"
"\n"
"SIGUSR1 resets the counters and histograms (end of a warm-up); SIGUSR2 prints\n"
"the JSON line of the counters so far and goes on (end of a measured window).\n"
"At the end every agent says bye and one JSON line with the totals goes to\n"
"stdout.\n"
"The file-descriptor limit is raised to the hard limit.\n");
}

enum {
	O_URL = 256, O_INTERVAL, O_JITTER, O_PREFIX, O_GROUP_SIZE, O_SRC, O_ECHO, O_PAUSE_EVERY,
	O_PAUSE_MS, O_CRASH_EVERY, O_RESTART_MS, O_DURATION, O_RATE, O_INFLIGHT, O_TICK, O_REPORT,
	O_TOKEN, O_INSECURE, O_SEED, O_EVLIB, O_ENGINE,
};

static const struct option longopts[] = {
	{ "url", required_argument, NULL, O_URL },
	{ "agents", required_argument, NULL, 'n' },
	{ "interval-ms", required_argument, NULL, O_INTERVAL },
	{ "jitter-pct", required_argument, NULL, O_JITTER },
	{ "prefix", required_argument, NULL, O_PREFIX },
	{ "group-size", required_argument, NULL, O_GROUP_SIZE },
	{ "source-addrs", required_argument, NULL, O_SRC },
	{ "echo-every", required_argument, NULL, O_ECHO },
	{ "pause-every", required_argument, NULL, O_PAUSE_EVERY },
	{ "pause-ms", required_argument, NULL, O_PAUSE_MS },
	{ "crash-every", required_argument, NULL, O_CRASH_EVERY },
	{ "restart-ms", required_argument, NULL, O_RESTART_MS },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "connect-rate", required_argument, NULL, O_RATE },
	{ "max-inflight", required_argument, NULL, O_INFLIGHT },
	{ "tick-ms", required_argument, NULL, O_TICK },
	{ "report-s", required_argument, NULL, O_REPORT },
	{ "token-file", required_argument, NULL, O_TOKEN },
	{ "insecure", no_argument, NULL, O_INSECURE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "evlib", required_argument, NULL, O_EVLIB },
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "vigil-swarm: %s '%s': %s\nTry 'vigil-swarm --help'.\n", opt, val, want);
	return 2;
}

static int int_opt(const char *opt, const char *val, long long lo, long long hi, int *out)
{
	long long v;

	if (util_parse_int(val, lo, hi, &v)) {
		char want[64];

		snprintf(want, sizeof want, "must be an integer in %lld..%lld", lo, hi);
		return bad(opt, val, want);
	}
	*out = (int)v;
	return 0;
}

static int dbl_opt(const char *opt, const char *val, double *out)
{
	char *end;
	double v = strtod(val, &end);

	if (end == val || *end || !(v >= 0) || v > 1e7)
		return bad(opt, val, "must be a number of seconds >= 0");
	*out = v;
	return 0;
}

static int parse_args(struct swarm *sw, int argc, char **argv)
{
	char err[256];
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_URL:
			if (ws_url_parse(optarg, &sw->url, err, sizeof err))
				return bad("--url", optarg, err);
			break;
		case 'n': rc = int_opt("--agents", optarg, 1, 1000000, &sw->n); break;
		case O_INTERVAL:
			rc = int_opt("--interval-ms", optarg, PROTO_INTERVAL_MIN_MS, PROTO_INTERVAL_MAX_MS,
				     &sw->interval_ms);
			break;
		case O_JITTER: rc = int_opt("--jitter-pct", optarg, 0, 50, &sw->jitter_pct); break;
		case O_PREFIX:
			if (strlen(optarg) > 30 || !*optarg)
				return bad("--prefix", optarg, "1..30 characters of [A-Za-z0-9._-]");
			for (const char *p = optarg; *p; p++)
				if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
					return bad("--prefix", optarg, "1..30 characters of [A-Za-z0-9._-]");
			util_strlcpy(sw->prefix, optarg, sizeof sw->prefix);
			break;
		case O_GROUP_SIZE: rc = int_opt("--group-size", optarg, 1, 64, &sw->group_size); break;
		case O_SRC: rc = int_opt("--source-addrs", optarg, 1, 64, &sw->source_addrs); break;
		case O_ECHO: rc = int_opt("--echo-every", optarg, 0, 1000000, &sw->echo_every); break;
		case O_PAUSE_EVERY: rc = dbl_opt("--pause-every", optarg, &sw->pause_every_s); break;
		case O_PAUSE_MS: rc = int_opt("--pause-ms", optarg, 1, 3600000, &sw->pause_ms); break;
		case O_CRASH_EVERY: rc = dbl_opt("--crash-every", optarg, &sw->crash_every_s); break;
		case O_RESTART_MS: rc = int_opt("--restart-ms", optarg, 0, 3600000, &sw->restart_ms); break;
		case O_DURATION: rc = dbl_opt("--duration", optarg, &sw->duration_s); break;
		case O_RATE: rc = int_opt("--connect-rate", optarg, 1, 1000000, &sw->connect_rate); break;
		case O_INFLIGHT: rc = int_opt("--max-inflight", optarg, 1, 100000, &sw->max_inflight); break;
		case O_TICK: rc = int_opt("--tick-ms", optarg, 1, 100, &sw->tick_ms); break;
		case O_REPORT: rc = int_opt("--report-s", optarg, 0, 86400, &sw->report_s); break;
		case O_TOKEN: {
			bool loose;

			if (util_read_token_file(optarg, sw->token, sizeof sw->token, &loose, err, sizeof err)) {
				fprintf(stderr, "vigil-swarm: --token-file: %s\n", err);
				return 2;
			}
			break;
		}
		case O_INSECURE: sw->insecure = true; break;
		case O_ENGINE:
			if (strcmp(optarg, "raw") && strcmp(optarg, "lws"))
				return bad("--engine", optarg, "raw or lws");
			sw->engine_given = true;
			sw->raw = !strcmp(optarg, "raw");
			break;
		case O_EVLIB:
			if (strcmp(optarg, "uv") && strcmp(optarg, "ev") && strcmp(optarg, "poll"))
				return bad("--evlib", optarg, "uv, ev or poll");
			util_strlcpy(sw->evlib, optarg, sizeof sw->evlib);
			break;
		case O_SEED: {
			int s;

			rc = int_opt("--seed", optarg, 1, 2147483647, &s);
			sw->seed = (unsigned)s;
			break;
		}
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return bad("argument", argv[optind], "unexpected");
	return 0;
}

static long self_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void summary(struct swarm *sw, int64_t end_us)
{
	struct rusage ru;
	double secs = (double)(end_us - sw->k.since_us) / 1e6;
	double cpu = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"agents\":%d,\"interval_ms\":%d,\"seconds\":%.3f,\"hb_sent\":%llu,\"hb_per_s\":%.1f,"
	       "\"echo_sent\":%llu,\"echo_recv\":%llu,\"echo_lost\":%llu,"
	       "\"echo_p50_us\":%lld,\"echo_p99_us\":%lld,\"echo_p999_us\":%lld,\"echo_max_us\":%lld,"
	       "\"welcomes\":%llu,\"connects\":%llu,\"connect_errors\":%llu,\"errors\":%llu,"
	       "\"disconnects\":%llu,\"pauses\":%llu,\"crashes\":%llu,\"late_ticks\":%llu,"
	       "\"welcomed_at_end\":%d,\"cpu_s\":%.2f,\"peak_rss_kib\":%ld}\n",
	       sw->n, sw->interval_ms, secs, (unsigned long long)sw->k.hb_sent,
	       secs > 0 ? (double)sw->k.hb_sent / secs : 0.0,
	       (unsigned long long)sw->k.echo_sent, (unsigned long long)sw->k.echo_recv,
	       (unsigned long long)sw->k.echo_lost,
	       (long long)hist_pct(&sw->h, 50), (long long)hist_pct(&sw->h, 99),
	       (long long)hist_pct(&sw->h, 99.9), (long long)(sw->h.n ? sw->h.max_us : -1),
	       (unsigned long long)sw->k.welcomes, (unsigned long long)sw->k.connects,
	       (unsigned long long)sw->k.connect_errors, (unsigned long long)sw->k.errors,
	       (unsigned long long)sw->k.disconnects, (unsigned long long)sw->k.pauses,
	       (unsigned long long)sw->k.crashes, (unsigned long long)sw->k.late_ticks,
	       sw->welcomed, cpu, self_rss_kib());
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct swarm swarm;
	struct swarm *sw = &swarm;
	struct lws_context_creation_info info;
	struct sigaction sa;
	struct rlimit rl;
	char err[256];
	int rc;
	int64_t end_us;

	util_log_init("vigil-swarm");
	ws_url_parse("ws://127.0.0.1:7070", &sw->url, err, sizeof err);
	sw->n = 100;
	sw->interval_ms = 1000;
	sw->group_size = 50;
	sw->source_addrs = 1;
	sw->echo_every = 10;
	sw->pause_ms = 3000;
	sw->restart_ms = 2000;
	sw->connect_rate = 2000;
	sw->max_inflight = 256;
	sw->tick_ms = 5;
	sw->report_s = 10;
	util_strlcpy(sw->prefix, "swarm", sizeof sw->prefix);
	util_strlcpy(sw->evlib, "poll", sizeof sw->evlib);
	sw->raw = true;
	if ((rc = parse_args(sw, argc, argv)))
		return rc;
	if (sw->url.tls && sw->raw) {
		if (sw->engine_given) {
			fprintf(stderr, "vigil-swarm: --engine raw speaks ws:// only; use --engine lws for wss://\n");
			return 2;
		}
		sw->raw = false;
	}
	if (sw->raw) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;

		if (getaddrinfo(sw->url.host, NULL, &hints, &res)) {
			fprintf(stderr, "vigil-swarm: cannot resolve %s (IPv4)\n", sw->url.host);
			return 2;
		}
		sw->addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
	}
	sw->rng = sw->seed ? sw->seed : (unsigned)(util_wall_ms() ^ ((int64_t)getpid() << 16));
	if (!sw->rng)
		sw->rng = 1;
	for (int i = 0; i < sw->source_addrs && i < 64; i++)
		snprintf(sw->iface[i], sizeof sw->iface[i], "127.0.0.%d", i + 1);

	/* lws sizes its fd tables from the limit at context creation */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)sw->n + 64 > rl.rlim_cur) {
		fprintf(stderr, "vigil-swarm: %d agents need %d file descriptors; the limit is %llu "
			"(raise the hard limit: ulimit -Hn)\n", sw->n, sw->n + 64,
			(unsigned long long)rl.rlim_cur);
		return 2;
	}
	sw->ag = calloc((size_t)sw->n, sizeof *sw->ag);
	if (!sw->ag) {
		fprintf(stderr, "vigil-swarm: out of memory\n");
		return 1;
	}
	for (int i = 0; i < sw->n; i++) {
		struct sagent *a = &sw->ag[i];

		a->sw = sw;
		a->idx = i;
		a->echo_seq = -1;
		a->fd = -1;
		snprintf(a->node, sizeof a->node, "%.30s-%05d", sw->prefix, i % 10000000);
		snprintf(a->group, sizeof a->group, "%.30s-g%d", sw->prefix, (i / sw->group_size) % 10000000);
		a->cpu = 5 + rnd01(sw) * 30;
		a->mem = 20 + rnd01(sw) * 50;
		a->load1 = rnd01(sw) * 2;
		a->disk = 10 + rnd01(sw) * 70;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	g_sw = sw;
	if (!sw->raw) {
		lws_set_log_level(LLL_ERR, lws_log_emit);
		memset(&info, 0, sizeof info);
		info.port = CONTEXT_PORT_NO_LISTEN;
		info.protocols = protocols;
		info.timeout_secs = 10;
		info.connect_timeout_secs = 10;
		if (sw->url.tls)
			info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		if (!strcmp(sw->evlib, "uv"))
			info.options |= LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
		else if (!strcmp(sw->evlib, "ev"))
			info.options |= LWS_SERVER_OPTION_LIBEV;
		info.signal_cb = evlib_signal_cb;
		info.pcontext = &sw->ctx;
		sw->ctx = lws_create_context(&info);
		if (!sw->ctx) {
			util_log("error", "cannot create the libwebsockets context");
			return 1;
		}
	}
	sw->start_us = mono_us();
	sw->k.since_us = sw->kw.since_us = sw->start_us;
	sw->connect_budget_us = sw->start_us;
	sw->next_report_us = sw->start_us + (int64_t)sw->report_s * 1000000;
	sw->next_pause_us = sw->start_us + (int64_t)(sw->pause_every_s * 1e6);
	sw->next_crash_us = sw->start_us + (int64_t)(sw->crash_every_s * 1e6);
	if (sw->duration_s > 0)
		sw->stop_at_us = sw->start_us + (int64_t)(sw->duration_s * 1e6);
	{
		char url[600];

		ws_url_format(&sw->url, url, sizeof url);
		util_log("info", "%d agents -> %s, heartbeat every %d ms (+-%d %%), echo every %d, "
			 "%d source address(es), engine %s", sw->n, url, sw->interval_ms, sw->jitter_pct,
			 sw->echo_every, sw->source_addrs, sw->raw ? "raw (epoll)" : sw->evlib);
	}
	if (sw->raw) {
		if (raw_run(sw))
			return 1;
	} else {
		lws_sul_schedule(sw->ctx, 0, &sw->sul_tick, on_tick, 1);
		while (!sw->done && sw->ctx)
			if (lws_service(sw->ctx, 0) < 0)
				break;
	}
	end_us = sw->bye_deadline_us ? sw->bye_deadline_us - 3000000 : mono_us();
	{
		int said = 0;

		for (int i = 0; i < sw->n; i++)
			said += sw->ag[i].bye_sent;
		util_log("info", "stopping: %d agents said bye", said);
	}
	if (sw->ctx) {
		lws_sul_cancel(&sw->sul_tick);
		lws_context_destroy(sw->ctx);
	}
	summary(sw, end_us);
	free(sw->ag);
	return 0;
}
