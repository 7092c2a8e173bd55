/* agent — lws client glue.  Default poll() loop: one connection is cheap.
 *
 * Writes are driven by what is pending, in this order of priority, one frame
 * per CLIENT_WRITEABLE: hello, bye, the head event of the outbox (once per
 * connection until acked), the latest heartbeat.  Reconnection is scheduled
 * from WSI_DESTROY (not CONNECTION_ERROR: a handshake timeout gives none).
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/backoff.h"
#include "agent/checks.h"
#include "agent/outbox.h"
#include "agent/statsd.h"
#include "agent/sysmetrics.h"
#include "proto/util.h"

#define MSG_MAX 8192

struct agent {
	const struct agent_config *cfg;
	struct lws_context *ctx;
	struct lws *wsi;
	int cur_url;
	bool established;       /* WebSocket open */
	bool welcomed;          /* collector accepted our hello */
	bool hello_pending, hb_pending, bye_pending, bye_sent;
	bool event_sent;        /* the outbox head was sent on this connection */
	bool stopping, done;

	struct backoff bo;
	int attempts;           /* failed attempts since the last connection */
	int64_t down_since_wall_ms;
	int64_t down_since_ms;
	char last_error[256];
	int64_t last_error_log_ms;

	lws_sorted_usec_list_t sul_connect;
	lws_sorted_usec_list_t sul_hb;

	struct proto_hello hello;
	int64_t hb_seq;
	int64_t echo_seq;       /* heartbeat sent with echo, awaiting hb_ack; -1 none */
	int64_t echo_sent_ms;   /* monotonic */
	int64_t rtt_ms;         /* last measured round trip, -1 unknown */
	struct outbox *ob;
	int64_t next_event_seq; /* seqs in the outbox are contiguous, ending here - 1 */
	struct sysm_reader sysm;
	struct checks *checks;
	enum check_status check_was[PROTO_CHECKS_MAX]; /* for status-change events */
	bool check_seen[PROTO_CHECKS_MAX];
	struct statsd *statsd;
	int64_t last_hb_ms;     /* monotonic, for StatsD rates */

	unsigned char txbuf[LWS_PRE + MSG_MAX];
	char rx[MSG_MAX];
	size_t rxlen;
	bool rx_discard;
};

static volatile sig_atomic_t g_stop;
static struct agent *g_agent;

/* ---- events ------------------------------------------------------------ */

static void add_event(struct agent *a, const char *name, const char *severity, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_event(struct agent *a, const char *name, const char *severity, const char *fmt, ...)
{
	struct proto_event e = { .seq = a->next_event_seq, .ts_ms = util_wall_ms() };
	char buf[MSG_MAX];
	va_list ap;
	int n;

	util_strlcpy(e.name, name, sizeof e.name);
	util_strlcpy(e.severity, severity, sizeof e.severity);
	va_start(ap, fmt);
	vsnprintf(e.text, sizeof e.text, fmt, ap);
	va_end(ap);
	n = proto_encode_event(buf, sizeof buf, &e);
	if (n < 0)
		return;
	if (outbox_push(a->ob, buf, (size_t)n) == 1)
		util_log("warn", "outbox full: dropped the oldest undelivered event");
	a->next_event_seq++;
	if (a->welcomed && a->wsi)
		lws_callback_on_writable(a->wsi);
}

static int64_t head_event_seq(const struct agent *a)
{
	return a->next_event_seq - (int64_t)outbox_count(a->ob);
}

/* Everything up to seq is stored by the collector. */
static void events_acked(struct agent *a, int64_t seq)
{
	bool popped = false;

	while (outbox_count(a->ob) && head_event_seq(a) <= seq) {
		outbox_pop(a->ob);
		popped = true;
	}
	if (popped)
		a->event_sent = false;
}

/* ---- writing ----------------------------------------------------------- */

static int write_text(struct agent *a, const char *text, size_t len)
{
	if (len > MSG_MAX)
		return -1;
	memcpy(a->txbuf + LWS_PRE, text, len);
	return lws_write(a->wsi, a->txbuf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len ? -1 : 0;
}

#define ECHO_EVERY 10       /* heartbeats between round-trip measurements */

/* A check that changed status becomes an event (kept and delivered in
 * order like every event), so the history shows when and with what output. */
static void note_check_changes(struct agent *a, const struct proto_check *c, int n)
{
	for (int i = 0; i < n && i < PROTO_CHECKS_MAX; i++) {
		bool known = a->check_seen[i];

		if (known && a->check_was[i] == c[i].status)
			continue;
		a->check_seen[i] = true;
		a->check_was[i] = c[i].status;
		if (!known && c[i].status == CHECK_WARNING)
			continue;               /* "not run yet" */
		add_event(a, c[i].status == CHECK_CRITICAL ? "check_critical" :
			  c[i].status == CHECK_WARNING ? "check_warning" : "check_passing",
			  c[i].status == CHECK_CRITICAL ? "critical" :
			  c[i].status == CHECK_WARNING ? "warning" : "info",
			  "check %s is %s%s%s", c[i].name, check_status_name(c[i].status),
			  c[i].output[0] ? ": " : "", c[i].output);
	}
}

static int build_hb(struct agent *a, char *buf, size_t cap)
{
	static struct proto_hb hb;
	struct sysmetrics sm;

	memset(&hb, 0, sizeof hb);
	hb.seq = a->hb_seq++;
	hb.sent_ms = util_wall_ms();
	hb.rtt_ms = a->rtt_ms;
	if (hb.seq % ECHO_EVERY == 0) {
		hb.echo = true;
		a->echo_seq = hb.seq;
		a->echo_sent_ms = util_mono_ms();
	}

	sysm_read(&a->sysm, &sm);
	hb.m.cpu_pct = sm.cpu_pct >= 0 ? sm.cpu_pct : NAN;
	hb.m.mem_pct = sm.mem_used_pct >= 0 ? sm.mem_used_pct : NAN;
	hb.m.load1 = sm.load1 >= 0 ? sm.load1 : NAN;
	hb.m.disk_pct = sm.disk_used_pct >= 0 ? sm.disk_used_pct : NAN;
	if (a->statsd) {
		int64_t now = util_mono_ms();

		statsd_flush(a->statsd, a->last_hb_ms ? now - a->last_hb_ms : a->cfg->interval_ms, &hb.m);
		a->last_hb_ms = now;
	}
	if (a->checks) {
		hb.nchecks = checks_snapshot(a->checks, hb.checks, PROTO_CHECKS_MAX);
		note_check_changes(a, hb.checks, hb.nchecks);
	}
	return proto_encode_hb(buf, cap, &hb);
}

static int on_writeable(struct agent *a)
{
	char buf[MSG_MAX];
	int n;

	if (a->hello_pending) {
		a->hello_pending = false;
		n = proto_encode_hello(buf, sizeof buf, &a->hello);
		if (n < 0 || write_text(a, buf, (size_t)n))
			return -1;
	} else if (a->bye_pending) {
		struct proto_bye bye;

		a->bye_pending = false;
		util_strlcpy(bye.reason, "agent stopped by signal", sizeof bye.reason);
		n = proto_encode_bye(buf, sizeof buf, &bye);
		if (n < 0 || write_text(a, buf, (size_t)n))
			return -1;
		a->bye_sent = true;
		lws_close_reason(a->wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
		return -1;
	} else if (a->welcomed && !a->event_sent && outbox_count(a->ob)) {
		size_t len;
		char *text = outbox_peek(a->ob, &len);

		a->event_sent = true;
		if (write_text(a, text, len))
			return -1;
	} else if (a->welcomed && a->hb_pending) {
		a->hb_pending = false;
		n = build_hb(a, buf, sizeof buf);
		if (n < 0 || write_text(a, buf, (size_t)n))
			return -1;
	}
	if (a->hello_pending || a->bye_pending || a->hb_pending ||
	    (a->welcomed && !a->event_sent && outbox_count(a->ob)))
		lws_callback_on_writable(a->wsi);
	return 0;
}

/* ---- timers ------------------------------------------------------------ */

static void on_hb_timer(lws_sorted_usec_list_t *sul)
{
	struct agent *a = lws_container_of(sul, struct agent, sul_hb);

	if (!a->welcomed || !a->wsi || a->stopping)
		return;
	a->hb_pending = true;     /* a heartbeat not yet written is replaced, not queued */
	lws_callback_on_writable(a->wsi);
	lws_sul_schedule(a->ctx, 0, &a->sul_hb, on_hb_timer, (lws_usec_t)a->cfg->interval_ms * 1000);
}

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = 3,     /* collector silent: ping it ... */
	.secs_since_valid_hangup = 6,   /* ... and give up on it after 6 s without a pong */
};

static void connect_now(lws_sorted_usec_list_t *sul)
{
	struct agent *a = lws_container_of(sul, struct agent, sul_connect);
	const struct ws_url *u = &a->cfg->urls[a->cur_url];
	struct lws_client_connect_info i;

	if (a->stopping)
		return;
	memset(&i, 0, sizeof i);
	i.context = a->ctx;
	i.address = u->host;
	i.port = u->port;
	i.path = u->path;
	i.host = u->host;
	i.origin = u->host;
	i.protocol = PROTO_AGENT_SUBPROTO;
	i.local_protocol_name = "agent";
	i.retry_and_idle_policy = &idle_policy;
	i.pwsi = &a->wsi;
	i.userdata = a;
	if (u->tls) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (a->cfg->insecure)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	}
	if (!lws_client_connect_via_info(&i)) {
		/* no wsi was created, so no WSI_DESTROY will reschedule us */
		uint32_t d = backoff_next_ms(&a->bo);

		a->cur_url = (a->cur_url + 1) % a->cfg->nurls;
		lws_sul_schedule(a->ctx, 0, &a->sul_connect, connect_now, (lws_usec_t)d * 1000);
	}
}

static void schedule_reconnect(struct agent *a)
{
	uint32_t d;
	char url[600];

	if (!a->welcomed)
		a->attempts++;
	if (a->attempts > 0 && a->cfg->nurls > 1)
		a->cur_url = (a->cur_url + 1) % a->cfg->nurls;   /* fall back through the list */
	d = backoff_next_ms(&a->bo);
	ws_url_format(&a->cfg->urls[a->cur_url], url, sizeof url);
	if (a->cfg->verbose)
		util_log("info", "reconnecting to %s in %u ms", url, d);
	lws_sul_schedule(a->ctx, 0, &a->sul_connect, connect_now, (lws_usec_t)d * 1000);
}

/* ---- receiving --------------------------------------------------------- */

static void on_message(struct agent *a, const char *buf, size_t len)
{
	static struct collector_msg m;
	char err[256];
	enum proto_err rc = proto_decode_collector(buf, len, &m, err, sizeof err);

	if (rc) {
		util_log("warn", "bad message from the collector (%s): %s", proto_err_code(rc), err);
		return;
	}
	switch (m.type) {
	case CMSG_WELCOME:
		if (!a->welcomed) {
			char url[600];

			ws_url_format(&a->cfg->urls[a->cur_url], url, sizeof url);
			util_log("info", "connected to %s (collector %s) as node %s in group %s", url,
				 m.u.welcome.collector, a->hello.node, a->hello.group);
			if (a->down_since_wall_ms)
				add_event(a, "reconnected", "warning",
					  "collector unreachable for %.1f s (%d attempts); connected to %s",
					  (double)(util_mono_ms() - a->down_since_ms) / 1000.0,
					  a->attempts, url);
		}
		a->welcomed = true;
		a->attempts = 0;
		a->down_since_wall_ms = 0;
		a->last_error[0] = '\0';
		backoff_reset(&a->bo);
		events_acked(a, m.u.welcome.last_event_seq);
		a->event_sent = false;
		/* hello was heartbeat 0 for the collector's detector: the first
		 * heartbeat comes one interval later, not at once (an interval of
		 * ~0 ms would skew its statistics). */
		lws_callback_on_writable(a->wsi);
		lws_sul_schedule(a->ctx, 0, &a->sul_hb, on_hb_timer,
				 (lws_usec_t)a->cfg->interval_ms * 1000);
		break;
	case CMSG_ACK:
		events_acked(a, m.u.ack.seq);
		if (outbox_count(a->ob))
			lws_callback_on_writable(a->wsi);
		break;
	case CMSG_HB_ACK:
		if (m.u.hb_ack.seq == a->echo_seq) {
			a->rtt_ms = util_mono_ms() - a->echo_sent_ms;
			a->echo_seq = -1;
		}
		break;
	case CMSG_ERROR:
		util_log("error", "collector refused us: %s: %s", m.u.error.code, m.u.error.message);
		break;
	}
}

static void note_error(struct agent *a, const char *what)
{
	int64_t now = util_mono_ms();

	if (strcmp(what, a->last_error) || now - a->last_error_log_ms > 30000 || a->cfg->verbose) {
		char url[600];

		ws_url_format(&a->cfg->urls[a->cur_url], url, sizeof url);
		util_log("warn", "%s: %s", url, what);
		util_strlcpy(a->last_error, what, sizeof a->last_error);
		a->last_error_log_ms = now;
	}
}

static int cb_agent(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct agent *a = user;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (a && a->cfg->token[0]) {
			unsigned char **p = (unsigned char **)in, *end = *p + len;
			char hdr[300];
			int n = snprintf(hdr, sizeof hdr, "Bearer %s", a->cfg->token);

			if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
							 (unsigned char *)hdr, n, p, end))
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		char what[256];

		snprintf(what, sizeof what, "cannot connect: %s%s", in ? (const char *)in : "error",
			 in && strstr(in, "unauthorized") ? " (wrong or missing --token-file?)" :
			 in && strstr(in, "SSL") ? " (TLS failed: is the collector's certificate trusted "
			 "here? --insecure accepts a self-signed one)" : "");
		if (a)
			note_error(a, what);
		break;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		a->established = true;
		a->hello_pending = true;
		a->rxlen = 0;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (lws_is_first_fragment(wsi)) {
			a->rxlen = 0;
			a->rx_discard = false;
		}
		if (a->rx_discard || a->rxlen + len > sizeof a->rx) {
			a->rx_discard = true;
			break;
		}
		memcpy(a->rx + a->rxlen, in, len);
		a->rxlen += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			on_message(a, a->rx, a->rxlen);
			a->rxlen = 0;
		}
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!a || !a->established)
			break;
		return on_writeable(a);
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (a && a->welcomed && !a->stopping)
			note_error(a, "connection closed by the collector");
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (a && len >= 2) {
			const unsigned char *p = in;
			char what[200];

			snprintf(what, sizeof what, "collector closed the connection (code %d%s%.*s)",
				 (p[0] << 8) | p[1], len > 2 ? ": " : "", (int)(len - 2), (const char *)p + 2);
			note_error(a, what);
		}
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (!a)
			break;
		if (a->welcomed && !a->stopping) {
			a->down_since_wall_ms = util_wall_ms();
			a->down_since_ms = util_mono_ms();
			add_event(a, "disconnected", "warning", "lost the connection to the collector");
		}
		a->established = a->welcomed = false;
		a->hello_pending = a->hb_pending = a->bye_pending = false;
		a->wsi = NULL;
		lws_sul_cancel(&a->sul_hb);
		if (a->stopping) {
			a->done = true;
			break;
		}
		if (!a->down_since_wall_ms) {
			a->down_since_wall_ms = util_wall_ms();
			a->down_since_ms = util_mono_ms();
		}
		schedule_reconnect(a);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "agent", cb_agent, 0, MSG_MAX, 0, NULL, MSG_MAX },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* ---- lifecycle --------------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_agent && g_agent->ctx)
		lws_cancel_service(g_agent->ctx);
}

static void make_boot_id(char *out, size_t len)
{
	char buf[64] = "";
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
	}
	if (n >= 32) {
		buf[36] = '\0';
		util_strlcpy(out, buf, len);
	} else {
		snprintf(out, len, "%llx-%x", (unsigned long long)util_wall_ms(), (unsigned)getpid());
	}
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	util_log(level == LLL_ERR ? "error" : "warn", "lws: %.*s", (int)n, line);
}

/* Stop: say bye if connected, wait (bounded) for it to go out. */
static void say_goodbye(struct agent *a)
{
	int64_t deadline = util_mono_ms() + 1500;

	a->stopping = true;
	lws_sul_cancel(&a->sul_connect);
	lws_sul_cancel(&a->sul_hb);
	if (!a->wsi || !a->welcomed)
		return;
	a->bye_pending = true;
	lws_callback_on_writable(a->wsi);
	while (!a->done && util_mono_ms() < deadline)
		if (lws_service(a->ctx, 100) < 0)
			break;
	if (a->bye_sent)
		util_log("info", "said bye to the collector");
}

int agent_run(const struct agent_config *cfg)
{
	static struct agent ag;
	struct agent *a = &ag;
	struct lws_context_creation_info info;
	struct sigaction sa;
	int rc = 1;

	memset(a, 0, sizeof *a);
	a->cfg = cfg;
	a->next_event_seq = 1;
	a->echo_seq = -1;
	a->rtt_ms = -1;
	a->ob = outbox_new((size_t)cfg->outbox_events, MSG_MAX, LWS_PRE);
	if (!a->ob) {
		util_log("error", "out of memory");
		return 1;
	}
	util_strlcpy(a->hello.node, cfg->node, sizeof a->hello.node);
	util_strlcpy(a->hello.group, cfg->group, sizeof a->hello.group);
	a->hello.priority = cfg->priority;
	util_strlcpy(a->hello.version, VIGIL_VERSION, sizeof a->hello.version);
	make_boot_id(a->hello.boot_id, sizeof a->hello.boot_id);
	a->hello.interval_ms = cfg->interval_ms;
	sysm_reader_init(&a->sysm, "/proc", cfg->disk_path);
	backoff_init(&a->bo, (uint32_t)cfg->backoff_base_ms, (uint32_t)cfg->backoff_cap_ms, 10,
		     (uint64_t)util_wall_ms() ^ ((uint64_t)getpid() << 32));

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;           /* no SA_RESTART: poll() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lws_set_log_level(LLL_ERR, lws_log_emit);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.timeout_secs = 5;
	info.connect_timeout_secs = 5;
	for (int i = 0; i < cfg->nurls; i++)
		if (cfg->urls[i].tls)
			info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (cfg->nchecks) {
		a->checks = checks_new(cfg->checks, cfg->nchecks);
		if (!a->checks || checks_start(a->checks)) {
			util_log("error", "cannot start the health checks");
			goto out_ob;
		}
	}
	if (cfg->statsd_host[0]) {
		char err[256];

		a->statsd = statsd_start(cfg->statsd_host, cfg->statsd_port, err, sizeof err);
		if (!a->statsd && cfg->statsd_explicit) {
			util_log("error", "--statsd: %s", err);
			goto out_ob;
		}
		if (!a->statsd)
			util_log("warn", "no StatsD listener (%s); applications cannot push metrics to this "
				 "agent (another agent on this host may have the port: give --statsd)", err);
		else
			util_log("info", "StatsD listener on %s:%d (udp)", cfg->statsd_host,
				 statsd_port(a->statsd));
	}
	g_agent = a;
	a->ctx = lws_create_context(&info);
	if (!a->ctx) {
		util_log("error", "cannot create the libwebsockets context");
		goto out_ob;
	}
	util_log("info", "vigil-agent %s: node %s, group %s, priority %d, heartbeat every %d ms, boot %s",
		 VIGIL_VERSION, cfg->node, cfg->group, cfg->priority, cfg->interval_ms,
		 a->hello.boot_id);
	add_event(a, "agent_started", "info", "vigil-agent %s started (pid %d)", VIGIL_VERSION,
		  (int)getpid());
	lws_sul_schedule(a->ctx, 0, &a->sul_connect, connect_now, 1);

	while (!g_stop)
		if (lws_service(a->ctx, 0) < 0)
			break;
	say_goodbye(a);
	lws_context_destroy(a->ctx);
	rc = 0;
out_ob:
	g_agent = NULL;
	statsd_stop(a->statsd);
	checks_free(a->checks);
	outbox_free(a->ob);
	return rc;
}
