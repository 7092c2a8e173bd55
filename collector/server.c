/* server — libwebsockets 4.1 glue for the collector.
 *
 * One context, one vhost, one service thread (libuv event library).  Every
 * callback body is: reassemble / decode, call the core or a view, enqueue.
 * Writes happen only in SERVER_WRITEABLE, one lws_write per callback, from a
 * bounded per-connection queue; a client that falls too far behind is cut.
 *
 * Connections are authenticated in HTTP_CONFIRM_UPGRADE (protocols[0]) so a
 * refused client gets a real HTTP 401 rather than a hang-up.
 */
#include "collector/server.h"

#include <errno.h>
#include <libwebsockets.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "collector/alerting.h"
#include "collector/leadership.h"
#include "collector/promtext.h"
#include "collector/views.h"
#include "proto/jsonw.h"
#include "proto/proto.h"
#include "proto/util.h"
#include "store/history.h"
#include "store/store.h"

#define OUTQ_MAX_MSGS   4096              /* queued frames before a client is cut */
#define OUTQ_MAX_BYTES  (16 * 1024 * 1024)
#define HTTP_CHUNK      16384

enum conn_kind { CONN_AGENT = 1, CONN_OPER };

struct outmsg {
	struct outmsg *next;
	size_t len;
	unsigned char buf[];              /* LWS_PRE headroom + text */
};

/* Per-session data of the two WebSocket protocols. */
struct conn {
	struct lws *wsi;
	enum conn_kind kind;
	uint64_t id;
	bool established;
	struct conn *prev, *next;         /* all established connections */

	char *rx;                         /* message reassembly */
	size_t rxlen, rxcap;
	bool rx_discard;                  /* skipping the rest of an oversize message */

	struct outmsg *qhead, *qtail;
	size_t qmsgs, qbytes;
	bool closing;                     /* close once the queue is written */
	enum lws_close_status close_code;
	char close_reason[100];

	/* agent */
	bool hello_done;
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	char agent_role[PROTO_ROLE_MAX + 1];  /* as last told to leadership */
	int64_t rx_ms;                        /* the last message (or connect), monotonic */
	int interval_ms;                      /* its hello's heartbeat interval */
	/* operator */
	char who[65];
	enum auth_role role;
	bool subscribed;
	uint64_t sent_srev;               /* every significant change up to it was sent */
	/* The periodic refresh, in slices (publish_deltas): every node changed
	 * after cycle_since goes out once in this cycle, a slice of the sorted
	 * nodes per tick, so that no tick builds the whole fleet at once. */
	uint64_t cycle_since;
	uint64_t cycle_rev;               /* core_rev() when this cycle began */
	int64_t cycle_ms;                 /* when it began */
	size_t slice_next;                /* the first node index it has not covered */
};

/* An ack owed to an agent once every row up to ticket is committed: the
 * protocol promises that an acked event is stored. */
struct pending_ack {
	uint64_t conn;
	int64_t seq;
	uint64_t ticket;
};

/* Per-session data of plain HTTP requests. */
struct http_req {
	char *body;
	size_t len, off;
};

struct server {
	struct server_config *cfg;
	struct lws_context *ctx;
	struct core *core;
	struct leadership *lead;
	struct alerting *alerting;
	struct store *store;
	struct core_out out;
	struct collector_counters k;
	struct collector_facts facts;
	char instance[40];
	char listen_text[300];
	char store_error[256];
	char store_fallback[512];       /* why the store is in memory only, or "" */
	struct conn *agent_conns;      /* agents' connections, newest first */
	struct conn *oper_conns;       /* dashboards' and the CLI's: walked without the agents' */
	uint64_t next_conn_id;
	int agents, operators, sockets;
	lws_sorted_usec_list_t sul_tick;
	lws_sorted_usec_list_t sul_reload;  /* SIGHUP: reload on the service thread */
	int64_t tick_at_ms;             /* when sul_tick fires next (monotonic) */
	double tick_due_s;              /* the same, in seconds (mono_s) */
	int64_t last_delta_ms;
	int64_t last_stats_ms;
	bool stopping;
	bool was_recording;
	uint64_t last_ticket;           /* of the newest row queued */
	struct pending_ack *acks;       /* agent events acked once committed */
	size_t nacks, ackcap;
	int64_t last_sample_ms;
	size_t sample_next;             /* the next node index to sample */
	char scratch[PROTO_MAX_FRAME + 1];
};

static struct server *g_srv;              /* for the signal callback only */
static void schedule_tick(struct server *s);
static void on_reload(lws_sorted_usec_list_t *sul);
static volatile sig_atomic_t g_hup;        /* SIGHUP seen: reload on the loop */
static volatile sig_atomic_t g_interrupted;

static struct server *srv_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ---- outgoing queue ---------------------------------------------------- */

static void conn_close_after(struct conn *c, enum lws_close_status code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_code = code;
	util_strlcpy(c->close_reason, reason, sizeof c->close_reason);
	lws_callback_on_writable(c->wsi);
}

static int conn_send(struct server *s, struct conn *c, const char *text, size_t len)
{
	struct outmsg *m;

	if (c->closing)
		return -1;
	if (c->qmsgs >= OUTQ_MAX_MSGS || c->qbytes + len > OUTQ_MAX_BYTES) {
		s->k.clients_cut_slow++;
		util_log("warn", "cutting %s connection %llu (%s): %zu messages queued, it is not reading",
			 c->kind == CONN_AGENT ? "agent" : "operator", (unsigned long long)c->id,
			 c->kind == CONN_AGENT ? c->node : c->who, c->qmsgs);
		conn_close_after(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too slow: outgoing queue full");
		return -1;
	}
	m = malloc(sizeof *m + LWS_PRE + len);
	if (!m)
		return -1;
	m->next = NULL;
	m->len = len;
	memcpy(m->buf + LWS_PRE, text, len);
	if (c->qtail)
		c->qtail->next = m;
	else
		c->qhead = m;
	c->qtail = m;
	c->qmsgs++;
	c->qbytes += len;
	lws_callback_on_writable(c->wsi);
	return 0;
}

static void conn_queue_free(struct conn *c)
{
	while (c->qhead) {
		struct outmsg *m = c->qhead;

		c->qhead = m->next;
		free(m);
	}
	c->qtail = NULL;
	c->qmsgs = c->qbytes = 0;
}

/* Send the close frame ourselves, then hang up.  lws_close_reason() followed
 * by return -1 sends no close frame under the libuv event library in lws
 * 4.1.6 (it does under poll), and the peer must learn the code and reason. */
static int conn_send_close(struct conn *c)
{
	unsigned char buf[LWS_PRE + 2 + sizeof c->close_reason];
	size_t n = strlen(c->close_reason);

	if (n > 120)
		n = 120;                  /* control frames carry at most 125 bytes */
	buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
	buf[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
	memcpy(buf + LWS_PRE + 2, c->close_reason, n);
	/* 4 is lws's private LWS_WRITE_CLOSE: the gap in the public enum */
	lws_write(c->wsi, buf + LWS_PRE, n + 2, (enum lws_write_protocol)4);
	return -1;
}

/* One frame per WRITEABLE; then either re-arm, or close if asked to. */
static int conn_writeable(struct conn *c)
{
	struct outmsg *m = c->qhead;

	if (m) {
		int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);

		if (n < (int)m->len)
			return -1;
		c->qhead = m->next;
		if (!c->qhead)
			c->qtail = NULL;
		c->qmsgs--;
		c->qbytes -= m->len;
		free(m);
		/* The close frame goes out in a WRITEABLE of its own: closing in the
		 * same callback as a data write drops the close frame (lws 4.1). */
		if (c->qhead || c->closing)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->closing)
		return conn_send_close(c);
	return 0;
}

/* An error frame that names the problem, then a close. */
static void conn_reject(struct server *s, struct conn *c, const char *code, const char *msg,
			enum lws_close_status status)
{
	int n = proto_encode_error(s->scratch, sizeof s->scratch, code, msg);

	if (s->cfg->verbose || c->kind == CONN_AGENT)
		util_log("warn", "%s connection %llu%s%s: %s: %s",
			 c->kind == CONN_AGENT ? "agent" : "operator", (unsigned long long)c->id,
			 c->node[0] || c->who[0] ? " " : "", c->kind == CONN_AGENT ? c->node : c->who,
			 code, msg);
	if (n > 0)
		conn_send(s, c, s->scratch, (size_t)n);
	conn_close_after(c, status, code);
}

/* ---- carrying out the core's actions ----------------------------------- */

static struct conn *conn_by_id(struct server *s, uint64_t id, struct conn *hint)
{
	if (hint && hint->id == id)
		return hint;
	for (struct conn *c = s->agent_conns; c; c = c->next)
		if (c->id == id)
			return c;
	for (struct conn *c = s->oper_conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void store_transition(struct server *s, const struct core_action *a)
{
	struct store_event e;
	struct store_node n;
	struct core_node_info ni;

	store_event_init(&e);
	e.ts_ms = a->wall_ms;
	util_strlcpy(e.node, a->node, sizeof e.node);
	util_strlcpy(e.group, a->group, sizeof e.group);
	util_strlcpy(e.kind, "state", sizeof e.kind);
	util_strlcpy(e.from_state, a->is_new ? "" : node_state_name(a->from), sizeof e.from_state);
	util_strlcpy(e.to_state, node_state_name(a->to), sizeof e.to_state);
	util_strlcpy(e.rule, a->rule, sizeof e.rule);
	e.phi = a->ev.phi;
	e.mean_ms = a->ev.mean_ms;
	e.sd_ms = a->ev.sd_ms;
	e.samples = a->ev.samples;
	e.hb_age_ms = a->ev.hb_age_ms;
	util_strlcpy(e.detail, a->text, sizeof e.detail);
	store_add_event_ticket(s->store, &e, &s->last_ticket);

	if (core_node_find(s->core, a->node, util_mono_ms(), &ni))
		return;
	memset(&n, 0, sizeof n);
	util_strlcpy(n.name, ni.name, sizeof n.name);
	util_strlcpy(n.group, ni.group, sizeof n.group);
	n.priority = ni.priority;
	util_strlcpy(n.version, ni.version, sizeof n.version);
	util_strlcpy(n.boot_id, ni.boot_id, sizeof n.boot_id);
	util_strlcpy(n.state, node_state_name(ni.state), sizeof n.state);
	n.first_seen_ms = a->wall_ms;
	n.last_seen_ms = ni.last_hb_wall_ms >= 0 ? ni.last_hb_wall_ms : a->wall_ms;
	store_put_node_ticket(s->store, &n, &s->last_ticket);
}

static void store_record(struct server *s, const struct core_action *a, const char *kind,
			 const char *rule)
{
	struct store_event e;

	store_event_init(&e);
	e.ts_ms = a->wall_ms;
	util_strlcpy(e.node, a->node, sizeof e.node);
	util_strlcpy(e.group, a->group, sizeof e.group);
	util_strlcpy(e.kind, kind, sizeof e.kind);
	util_strlcpy(e.rule, rule, sizeof e.rule);
	util_strlcpy(e.detail, a->text, sizeof e.detail);
	store_add_event_ticket(s->store, &e, &s->last_ticket);
}

static void publish_transition(struct server *s, const struct core_action *a)
{
	struct jw w;
	int n;

	jw_init(&w, s->scratch, sizeof s->scratch);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "event");
	jw_key(&w, "event");
	view_transition(&w, a);
	jw_obj_close(&w);
	n = jw_finish(&w);
	if (n < 0)
		return;
	for (struct conn *c = s->oper_conns; c; c = c->next)
		if (c->subscribed)
			conn_send(s, c, s->scratch, (size_t)n);
}

static void log_transition(const struct core_action *a)
{
	char age[32];

	util_fmt_age(a->ev.hb_age_ms, age, sizeof age);
	util_log("info", "node %s (group %s): %s -> %s by %s; phi %.2f, last heartbeat %s ago%s%s",
		 a->node, a->group, a->is_new ? "new" : node_state_name(a->from),
		 node_state_name(a->to), a->rule, isfinite(a->ev.phi) ? a->ev.phi : 0.0, age,
		 a->text[0] ? "; " : "", a->text);
}

/* ---- acknowledgements after commit ------------------------------------ */

static void owe_ack(struct server *s, uint64_t conn, int64_t seq)
{
	if (s->nacks == s->ackcap) {
		size_t ncap = s->ackcap ? s->ackcap * 2 : 64;
		struct pending_ack *na = realloc(s->acks, ncap * sizeof *na);

		if (!na)
			return;           /* the agent resends; the core acks that once stored */
		s->acks = na;
		s->ackcap = ncap;
	}
	s->acks[s->nacks++] = (struct pending_ack){ .conn = conn, .seq = seq,
						    .ticket = s->last_ticket };
}

/* Send the acks whose rows are committed (they are in ticket order). */
static void send_due_acks(struct server *s)
{
	uint64_t done = store_committed_ticket(s->store);
	size_t i = 0;

	for (; i < s->nacks && s->acks[i].ticket <= done; i++) {
		struct proto_ack ack = { .seq = s->acks[i].seq };
		struct conn *c = conn_by_id(s, s->acks[i].conn, NULL);
		int n;

		if (c && (n = proto_encode_ack(s->scratch, sizeof s->scratch, &ack)) > 0)
			conn_send(s, c, s->scratch, (size_t)n);
	}
	if (i) {
		memmove(s->acks, s->acks + i, (s->nacks - i) * sizeof *s->acks);
		s->nacks -= i;
	}
}

/* From the store's writer thread: wake the event loop to send acks. */
static void on_commit(void *arg)
{
	struct server *s = arg;

	if (s->ctx)
		lws_cancel_service(s->ctx);
}

/* A node's state, flapping, connection or agent role changed. */
static void lead_node_changed(struct server *s, const char *node)
{
	struct core_node_info ni;

	if (s->lead && core_node_find(s->core, node, util_mono_ms(), &ni) == 0)
		lead_node(s->lead, util_mono_ms(), util_wall_ms(), &ni);
}

static void apply(struct server *s, struct conn *cur)
{
	for (size_t i = 0; i < s->out.n; i++) {
		const struct core_action *a = &s->out.v[i];
		struct conn *c;
		int n = -1;

		switch (a->kind) {
		case CA_WELCOME: {
			struct proto_welcome wl = { .interval_ms = a->interval_ms,
						    .last_event_seq = a->seq };

			util_strlcpy(wl.node, a->node, sizeof wl.node);
			util_strlcpy(wl.collector, s->instance, sizeof wl.collector);
			c = conn_by_id(s, a->conn, cur);
			if (c && (n = proto_encode_welcome(s->scratch, sizeof s->scratch, &wl)) > 0)
				conn_send(s, c, s->scratch, (size_t)n);
			lead_node_changed(s, a->node);      /* priority, no_failover, role */
			break;
		}
		case CA_ACK:
			owe_ack(s, a->conn, a->seq);
			break;
		case CA_REJECT:
			c = conn_by_id(s, a->conn, cur);
			if (strcmp(a->code, "duplicate_node") == 0)
				s->k.rejected_duplicate++;
			if (c)
				conn_reject(s, c, a->code, a->text, LWS_CLOSE_STATUS_POLICY_VIOLATION);
			break;
		case CA_TRANSITION:
			s->k.transitions++;
			log_transition(a);
			store_transition(s, a);
			publish_transition(s, a);
			lead_node_changed(s, a->node);
			if (s->alerting)
				alerting_core_action(s->alerting, a);
			break;
		case CA_RECORD:
			if (s->cfg->verbose || strcmp(a->code, "agent") == 0)
				util_log("info", "node %s: %s %s%s%s", a->node, a->code, a->rule,
					 a->text[0] ? ": " : "", a->text);
			store_record(s, a, a->code, a->rule);
			break;
		case CA_TILT:
			util_log(a->on ? "warn" : "info", "%s", a->text);
			store_record(s, a, "collector", a->on ? "tilt" : "stable");
			if (s->alerting)
				alerting_core_action(s->alerting, a);
			break;
		case CA_FLAP:
			util_log("warn", "node %s (group %s): %s: %s", a->node, a->group,
				 a->on ? "FLAPPING" : "no longer flapping", a->text);
			store_record(s, a, "flap", a->on ? "flapping" : "settled");
			lead_node_changed(s, a->node);
			if (s->alerting)
				alerting_core_action(s->alerting, a);
			break;
		case CA_HB_ACK: {
			struct proto_hb_ack ack = { .seq = a->seq };

			c = conn_by_id(s, a->conn, cur);
			if (c && (n = proto_encode_hb_ack(s->scratch, sizeof s->scratch, &ack)) > 0)
				conn_send(s, c, s->scratch, (size_t)n);
			break;
		}
		case CA_NODE_UPDATED:
			break;
		}
	}
	core_out_reset(&s->out);
}

/* ---- agent protocol ---------------------------------------------------- */

static void count_error(struct server *s, enum proto_err e)
{
	switch (e) {
	case PROTO_E_SIZE: s->k.err_too_big++; break;
	case PROTO_E_JSON: s->k.err_bad_json++; break;
	case PROTO_E_TYPE: s->k.err_bad_type++; break;
	case PROTO_E_UNKNOWN: s->k.err_unknown_type++; break;
	case PROTO_E_FIELD: s->k.err_bad_field++; break;
	case PROTO_OK: break;
	}
}

static void agent_message(struct server *s, struct conn *c, const char *buf, size_t len)
{
	static struct agent_msg m;          /* large (metrics); one service thread */
	char err[256];
	enum proto_err rc = proto_decode_agent(buf, len, &m, err, sizeof err);
	int64_t now = util_mono_ms(), wall = util_wall_ms();

	if (rc) {
		count_error(s, rc);
		conn_reject(s, c, proto_err_code(rc), err, LWS_CLOSE_STATUS_POLICY_VIOLATION);
		return;
	}
	if (!c->hello_done && m.type != AMSG_HELLO) {
		s->k.err_protocol++;
		conn_reject(s, c, "protocol", "the first message must be hello",
			    LWS_CLOSE_STATUS_POLICY_VIOLATION);
		return;
	}
	switch (m.type) {
	case AMSG_HELLO:
		s->k.msg_hello++;
		if (c->hello_done) {
			s->k.err_protocol++;
			conn_reject(s, c, "protocol", "hello was already sent on this connection",
				    LWS_CLOSE_STATUS_POLICY_VIOLATION);
			return;
		}
		if (core_hello(s->core, now, wall, c->id, &m.u.hello, &s->out) == 0) {
			c->hello_done = true;
			util_strlcpy(c->node, m.u.hello.node, sizeof c->node);
			util_strlcpy(c->group, m.u.hello.group, sizeof c->group);
			c->interval_ms = m.u.hello.interval_ms;
			util_strlcpy(c->agent_role, strcmp(m.u.hello.role, "leader") == 0 ? "claiming" :
				     "follower", sizeof c->agent_role);
		}
		break;
	case AMSG_HB:
		s->k.msg_hb++;
		core_heartbeat(s->core, now, wall, c->id, c->node, &m.u.hb, &s->out);
		apply(s, c);
		if (s->lead) {
			int n;

			if (strcmp(m.u.hb.role, c->agent_role)) {
				util_strlcpy(c->agent_role, m.u.hb.role, sizeof c->agent_role);
				lead_node_changed(s, c->node);
			}
			n = lead_heartbeat(s->lead, now, c->node, c->group, m.u.hb.seq, s->scratch,
					   sizeof s->scratch);
			if (n > 0)
				conn_send(s, c, s->scratch, (size_t)n);
		}
		break;
	case AMSG_HOOK:
		s->k.msg_hook++;
		if (s->lead)
			lead_hook(s->lead, now, wall, c->node, c->group, &m.u.hook);
		if (s->alerting)
			alerting_hook(s->alerting, c->node, c->group, &m.u.hook);
		break;
	case AMSG_EVENT:
		s->k.msg_event++;
		core_agent_event(s->core, now, wall, c->id, c->node, &m.u.event, &s->out);
		break;
	case AMSG_BYE:
		s->k.msg_bye++;
		core_bye(s->core, now, wall, c->id, c->node, m.u.bye.reason, &s->out);
		break;
	}
	apply(s, c);
}

/* ---- operator protocol ------------------------------------------------- */

static void send_result_error(struct server *s, struct conn *c, int64_t id, const char *code,
			      const char *msg)
{
	struct jw w;
	int n;

	jw_init(&w, s->scratch, sizeof s->scratch);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "result");
	jw_kint(&w, "id", id);
	jw_kbool(&w, "ok", false);
	jw_key(&w, "error");
	jw_obj_open(&w);
	jw_kstr(&w, "code", code);
	jw_kstr(&w, "message", msg);
	jw_obj_close(&w);
	jw_obj_close(&w);
	n = jw_finish(&w);
	if (n > 0)
		conn_send(s, c, s->scratch, (size_t)n);
}

static void refresh_facts(struct server *s)
{
	struct store_stats st;

	store_get_stats(s->store, &st);
	s->facts.recording = st.recording && !s->store_fallback[0];
	util_strlcpy(s->store_error, s->store_fallback[0] ? s->store_fallback : st.last_error,
		     sizeof s->store_error);
	s->facts.store_error = s->facts.recording ? "" : s->store_error;
	s->facts.agents_connected = s->agents;
	s->facts.operators_connected = s->operators;
	s->facts.serving = !s->stopping;
	s->k.store_rows_written = st.rows_written;
	s->k.store_write_errors = st.write_errors;
	s->k.store_rows_refused = st.rows_refused;
}

/* Large payloads (status of many nodes) go through a growing buffer. */
static void send_status(struct server *s, struct conn *c, const char *type, int64_t id,
			uint64_t since, bool significant_only)
{
	struct jw w;
	int n;

	refresh_facts(s);
	/* More nodes forgotten since than the core remembers: a whole snapshot. */
	if (since && since < core_removed_floor(s->core) && strcmp(type, "delta") == 0) {
		type = "snapshot";
		since = 0;
		significant_only = false;
	}
	jw_init_dynamic(&w, 4096);
	jw_obj_open(&w);
	jw_kstr(&w, "type", type);
	if (id >= 0)
		jw_kint(&w, "id", id);
	if (strcmp(type, "result") == 0)
		jw_kbool(&w, "ok", true);
	jw_key(&w, "data");
	s->facts.you_name = c->who;
	s->facts.you_role = c->role == ROLE_OPERATOR ? "operator" : "viewer";
	view_status(&w, s->core, s->lead, &s->facts, util_mono_ms(), util_wall_ms(), since,
		    significant_only);
	s->facts.you_name = NULL;
	/* The firing alerts join the status object (views.c is not ours): reopen
	 * it by dropping its closing brace; jsonw still expects a comma. */
	if (s->alerting && !w.failed && w.len > 0 && w.buf[w.len - 1] == '}') {
		w.len--;
		w.need_comma = true;
		alerting_view_firing(s->alerting, &w);
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	n = jw_finish(&w);
	if (n > 0 && (size_t)n <= OUTQ_MAX_BYTES)
		conn_send(s, c, w.buf, (size_t)n);
	else
		send_result_error(s, c, id, "too_big", "status does not fit in one message");
	free(w.buf);
}

struct events_ctx {
	struct jw *w;
	int count;
};

static int event_row(const struct store_event *e, void *arg)
{
	struct events_ctx *x = arg;
	struct jw *w = x->w;

	jw_obj_open(w);
	jw_kint(w, "id", e->id);
	jw_kint(w, "ts_ms", e->ts_ms);
	jw_kstr(w, "node", e->node);
	jw_kstr(w, "group", e->group);
	jw_kstr(w, "kind", e->kind);
	jw_kstr(w, "from", e->from_state);
	jw_kstr(w, "to", e->to_state);
	jw_kstr(w, "rule", e->rule);
	jw_knum(w, "phi", e->phi);
	jw_knum(w, "interval_mean_ms", e->mean_ms);
	jw_knum(w, "interval_sd_ms", e->sd_ms);
	jw_key(w, "samples");
	if (e->samples >= 0)
		jw_int(w, e->samples);
	else
		jw_null(w);
	jw_key(w, "hb_age_ms");
	if (e->hb_age_ms >= 0)
		jw_int(w, e->hb_age_ms);
	else
		jw_null(w);
	jw_kstr(w, "detail", e->detail);
	jw_obj_close(w);
	x->count++;
	return 0;
}

/* A node or group the operator named must exist (in memory or in the
 * history): a typo should not look like a quiet history. */
static bool known_or_refuse(struct server *s, struct conn *c, const struct oper_msg *q)
{
	struct core_node_info ni;
	char msg[200];

	if (q->node[0] && core_node_find(s->core, q->node, util_mono_ms(), &ni) &&
	    store_node_known(s->store, q->node) != 1) {
		snprintf(msg, sizeof msg, "unknown node '%s'", q->node);
		send_result_error(s, c, q->id, "unknown_node", msg);
		return false;
	}
	if (q->group[0] && store_group_known(s->store, q->group) != 1) {
		bool in_core = false;
		struct core_group_info gi;
		size_t ng = core_group_count(s->core);

		for (size_t i = 0; i < ng && !in_core; i++)
			in_core = !core_group_info(s->core, i, &gi) && strcmp(gi.name, q->group) == 0;
		if (!in_core) {
			snprintf(msg, sizeof msg, "unknown group '%s'", q->group);
			send_result_error(s, c, q->id, "unknown_group", msg);
			return false;
		}
	}
	return true;
}

/* Result frames can be large: build them in a growing buffer. */
static void result_open(struct jw *w, int64_t id)
{
	jw_init_dynamic(w, 8192);
	jw_obj_open(w);
	jw_kstr(w, "type", "result");
	jw_kint(w, "id", id);
	jw_kbool(w, "ok", true);
	jw_key(w, "data");
	jw_obj_open(w);
}

static void result_send(struct server *s, struct conn *c, struct jw *w, int64_t id)
{
	int n;

	jw_obj_close(w);
	jw_obj_close(w);
	n = jw_finish(w);
	if (n > 0 && (size_t)n <= OUTQ_MAX_BYTES)
		conn_send(s, c, w->buf, (size_t)n);
	else
		send_result_error(s, c, id, "too_big", "the answer does not fit in one message; "
				  "narrow it (--limit, --since)");
	free(w->buf);
}

static void send_history(struct server *s, struct conn *c, const struct oper_msg *q)
{
	struct history_filter f = { .node = q->node, .group = q->group, .kind = q->kind,
				    .since_ms = q->since_ms, .until_ms = q->until_ms,
				    .limit = q->limit, .before_id = q->before_id };
	struct jw w;
	struct events_ctx x = { .w = &w };

	if (!known_or_refuse(s, c, q))
		return;
	result_open(&w, q->id);
	jw_key(&w, "events");
	jw_arr_open(&w);
	if (store_history(s->store, &f, event_row, &x)) {
		free(w.buf);
		send_result_error(s, c, q->id, "store", "the history could not be read");
		return;
	}
	jw_arr_close(&w);
	result_send(s, c, &w, q->id);
}

/* Who or what made the decision an event records. */
static const char *decided_by(const struct store_event *e, char *buf, size_t len)
{
	bool by_operator = strncmp(e->detail, "manual", 6) == 0 ||
			   strncmp(e->detail, "switchover", 10) == 0;

	if (strcmp(e->kind, "state") == 0 || strcmp(e->kind, "flap") == 0)
		snprintf(buf, len, "the collector, automatically (rule %s)", e->rule);
	else if (strcmp(e->kind, "agent") == 0)
		snprintf(buf, len, "the agent on node %s reported it", e->node);
	else if (strcmp(e->kind, "conn") == 0)
		snprintf(buf, len, "the connection of node %s", e->node);
	else if (strcmp(e->kind, "audit") == 0)
		snprintf(buf, len, "operator %.*s", (int)strcspn(e->detail, " :"), e->detail);
	else if (strcmp(e->kind, "hook") == 0)
		snprintf(buf, len, "the %s hook on node %s (its exit status and output are in the "
			 "hook runs)", e->rule, e->node);
	else if (strcmp(e->kind, "failover") == 0 && by_operator)
		snprintf(buf, len, "an operator's command (the audit row is in the context), "
			 "carried out by the collector");
	else if (strcmp(e->kind, "failover") == 0)
		snprintf(buf, len, "the collector, automatically: the guards it checked and the "
			 "candidates it ranked are in the detail");
	else
		snprintf(buf, len, "the collector");
	return buf;
}

struct around_ctx {
	struct store_event v[12];
	int n;
};

static int keep_event(const struct store_event *e, void *arg)
{
	struct around_ctx *x = arg;

	if (x->n < (int)(sizeof x->v / sizeof x->v[0]))
		x->v[x->n++] = *e;
	return 0;
}

static void send_explain(struct server *s, struct conn *c, const struct oper_msg *q)
{
	static struct store_event e;
	static struct around_ctx before, after;
	struct history_filter f = { .limit = 6 };
	struct events_ctx x;
	struct jw w;
	char by[256], msg[128];
	int rc = store_event_get(s->store, q->event_id, &e);

	if (rc) {
		snprintf(msg, sizeof msg, rc == -ENOENT ? "no event %lld in the history" :
			 "the history could not be read (event %lld)", (long long)q->event_id);
		send_result_error(s, c, q->id, rc == -ENOENT ? "unknown_event" : "store", msg);
		return;
	}
	before.n = after.n = 0;
	if (e.group[0] && (!strcmp(e.kind, "failover") || !strcmp(e.kind, "hook") ||
			   !strcmp(e.kind, "audit"))) {
		/* A leadership event: its context is the group's leadership story
		 * (what failed, what was decided, who ran what), not one node's. */
		f.group = e.group;
		f.kind = "state,failover,hook,audit";
		f.before_id = e.id;
		store_history(s->store, &f, keep_event, &before);
		f.before_id = 0;
		f.since_ms = e.ts_ms;
		f.limit = 200;
		store_history(s->store, &f, keep_event, &after);
	} else if (e.node[0]) {
		f.node = e.node;
		f.before_id = e.id;                 /* the 6 just before it */
		store_history(s->store, &f, keep_event, &before);
		f.before_id = 0;
		f.since_ms = e.ts_ms;               /* and the first ones after it */
		f.limit = 200;
		store_history(s->store, &f, keep_event, &after);
	}
	result_open(&w, q->id);
	x.w = &w;
	x.count = 0;
	jw_key(&w, "event");
	event_row(&e, &x);
	jw_kstr(&w, "decided_by", decided_by(&e, by, sizeof by));
	jw_key(&w, "context");
	jw_arr_open(&w);
	for (int i = before.n - 1; i >= 0; i--)           /* oldest first */
		event_row(&before.v[i], &x);
	event_row(&e, &x);
	for (int i = after.n - 1, k = 0; i >= 0 && k < 5; i--) {
		if (after.v[i].id > e.id) {
			event_row(&after.v[i], &x);
			k++;
		}
	}
	jw_arr_close(&w);
	result_send(s, c, &w, q->id);
}

static void send_report(struct server *s, struct conn *c, const struct oper_msg *q)
{
	struct node_report *nr = NULL;
	struct group_report *gr = NULL;
	int nn = 0, ng = 0, rc;
	int64_t until = q->until_ms ? q->until_ms : util_wall_ms();
	struct jw w;

	if (!known_or_refuse(s, c, q))
		return;
	rc = store_report(s->store, q->since_ms, until, q->group, &nr, &nn);
	if (!rc)
		rc = store_group_report(s->store, q->since_ms, until, q->group, &gr, &ng);
	if (rc && rc != -ENOENT) {
		free(nr);
		free(gr);
		send_result_error(s, c, q->id, "store", "the history could not be read");
		return;
	}
	result_open(&w, q->id);
	jw_kint(&w, "since_ms", q->since_ms);
	jw_kint(&w, "until_ms", until);
	jw_key(&w, "nodes");
	jw_arr_open(&w);
	for (int i = 0; i < nn; i++) {
		jw_obj_open(&w);
		jw_kstr(&w, "node", nr[i].node);
		jw_kstr(&w, "group", nr[i].group);
		jw_knum(&w, "availability_pct", nr[i].availability_pct);
		jw_kint(&w, "failures", nr[i].failures);
		jw_knum(&w, "mttr_ms", nr[i].mttr_ms);
		jw_knum(&w, "mtbf_ms", nr[i].mtbf_ms);
		jw_knum(&w, "ttd_ms", nr[i].ttd_ms);
		jw_kint(&w, "up_ms", nr[i].up_ms);
		jw_kint(&w, "down_ms", nr[i].down_ms);
		jw_kint(&w, "observed_ms", nr[i].observed_ms);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_key(&w, "groups");
	jw_arr_open(&w);
	for (int i = 0; i < ng; i++) {
		jw_obj_open(&w);
		jw_kstr(&w, "group", gr[i].group);
		jw_kint(&w, "failovers", gr[i].failovers);
		jw_knum(&w, "detect_to_decide_p50_ms", gr[i].detect_to_decide_p50_ms);
		jw_knum(&w, "detect_to_decide_p99_ms", gr[i].detect_to_decide_p99_ms);
		jw_knum(&w, "decide_to_promoted_p50_ms", gr[i].decide_to_promoted_p50_ms);
		jw_knum(&w, "decide_to_promoted_p99_ms", gr[i].decide_to_promoted_p99_ms);
		jw_knum(&w, "total_p50_ms", gr[i].total_p50_ms);
		jw_knum(&w, "total_p99_ms", gr[i].total_p99_ms);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	free(nr);
	free(gr);
	result_send(s, c, &w, q->id);
}

static void send_at(struct server *s, struct conn *c, const struct oper_msg *q)
{
	struct node_at *na = NULL;
	int n = 0;
	struct jw w;

	if (store_at(s->store, q->at_ms, &na, &n)) {
		send_result_error(s, c, q->id, "store", "the history could not be read");
		return;
	}
	result_open(&w, q->id);
	jw_kint(&w, "at_ms", q->at_ms);
	jw_key(&w, "nodes");
	jw_arr_open(&w);
	for (int i = 0; i < n; i++) {
		jw_obj_open(&w);
		jw_kstr(&w, "node", na[i].node);
		jw_kstr(&w, "group", na[i].group);
		jw_kstr(&w, "state", na[i].state);
		jw_kstr(&w, "rule", na[i].rule);
		jw_kint(&w, "since_ms", na[i].since_ms);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	free(na);
	result_send(s, c, &w, q->id);
}

static void send_alerts(struct server *s, struct conn *c, const struct oper_msg *q)
{
	struct jw w;
	int n;

	jw_init_dynamic(&w, 8192);
	alerting_query(s->alerting, q, &w);
	n = jw_finish(&w);
	if (n > 0 && (size_t)n <= OUTQ_MAX_BYTES)
		conn_send(s, c, w.buf, (size_t)n);
	else
		send_result_error(s, c, q->id, "too_big", "the answer does not fit in one message; "
				  "narrow it (--limit)");
	free(w.buf);
}

static void oper_message(struct server *s, struct conn *c, const char *buf, size_t len)
{
	struct oper_msg q;
	char err[256];
	enum proto_err rc = proto_decode_oper(buf, len, &q, err, sizeof err);

	s->k.msg_operator++;
	if (rc) {
		count_error(s, rc);
		conn_reject(s, c, proto_err_code(rc), err, LWS_CLOSE_STATUS_POLICY_VIOLATION);
		return;
	}
	switch (q.type) {
	case OMSG_SUBSCRIBE:
		c->subscribed = true;
		c->sent_srev = c->cycle_since = c->cycle_rev = core_rev(s->core);
		c->cycle_ms = util_mono_ms();
		c->slice_next = 0;
		send_status(s, c, "snapshot", q.id, 0, false);
		break;
	case OMSG_QUERY:
		if (strcmp(q.what, "status") == 0)
			send_status(s, c, "result", q.id, 0, false);
		else if (strcmp(q.what, "history") == 0)
			send_history(s, c, &q);
		else if (strcmp(q.what, "explain") == 0)
			send_explain(s, c, &q);
		else if (strcmp(q.what, "report") == 0)
			send_report(s, c, &q);
		else if (strcmp(q.what, "alerts") == 0 || strcmp(q.what, "silences") == 0)
			send_alerts(s, c, &q);
		else
			send_at(s, c, &q);
		break;
	case OMSG_COMMAND: {
		struct jw w;
		int n;

		jw_init_dynamic(&w, 8192);
		if (alerting_handles_verb(q.verb))
			alerting_command(s->alerting, c->who, c->role == ROLE_OPERATOR ? "operator" :
					 "viewer", c->role == ROLE_OPERATOR, &q, &w);
		else
			lead_command(s->lead, util_mono_ms(), util_wall_ms(), c->who,
				     c->role == ROLE_OPERATOR ? "operator" : "viewer",
				     c->role == ROLE_OPERATOR, &q, &w);
		n = jw_finish(&w);
		if (n > 0)
			conn_send(s, c, w.buf, (size_t)n);
		free(w.buf);
		s->k.msg_command++;
		break;
	}
	}
}

#define REFRESH_MS 2000

/* One slice of a subscriber's refresh; nothing is sent when no node in it
 * changed. */
static void send_slice(struct server *s, struct conn *c, uint64_t since, size_t from, size_t to)
{
	struct jw w;
	size_t k;
	int n;

	jw_init_dynamic(&w, 4096);
	jw_obj_open(&w);
	jw_kstr(&w, "type", "delta");
	jw_key(&w, "data");
	k = view_status_slice(&w, s->core, s->lead, util_mono_ms(), util_wall_ms(), since, from, to);
	jw_obj_close(&w);
	n = jw_finish(&w);
	if (k > 0 && n > 0 && (size_t)n <= OUTQ_MAX_BYTES)
		conn_send(s, c, w.buf, (size_t)n);
	free(w.buf);
}

/* Deltas to subscribers, at every tick.
 * - fast (every delta_ms, 250): the nodes whose state, connection, flags,
 *   health or role changed, with the collector's facts, groups and alerts;
 * - the refresh: every node changed at all (a heartbeat's metrics, phi, age)
 *   once per REFRESH_MS, in slices of the sorted nodes spread over the ticks
 *   (at 10,000 nodes one whole refresh took 100 ms on the event loop, and
 *   every heartbeat waited behind it), then a fast delta for the facts.
 * With thousands of nodes heartbeating every second, sending each
 * heartbeat's metrics within 250 ms would stream the whole fleet four times
 * a second. */
static void publish_deltas(struct server *s, int64_t now, bool fast)
{
	uint64_t v = core_rev(s->core), sv = core_srev(s->core);
	size_t n = core_node_count(s->core);

	for (struct conn *c = s->oper_conns; c; c = c->next) {
		int64_t age = now - c->cycle_ms;
		bool cycle_end = age >= REFRESH_MS;
		size_t to;

		if (!c->subscribed || c->closing)
			continue;
		to = cycle_end ? n : (size_t)((uint64_t)n * (uint64_t)age / REFRESH_MS);
		if (to > c->slice_next) {
			send_slice(s, c, c->cycle_since, c->slice_next, to);
			c->slice_next = to;
		}
		/* one fast delta per tick at most, also the one that ends a cycle */
		if ((fast && sv > c->sent_srev) || cycle_end) {
			send_status(s, c, "delta", -1, c->sent_srev, true);
			c->sent_srev = v;
		}
		if (cycle_end) {
			c->cycle_since = c->cycle_rev;
			c->cycle_rev = v;
			c->cycle_ms = now;
			c->slice_next = 0;
		}
	}
}

/* ---- WebSocket callbacks (both protocols) ------------------------------ */

static struct conn **conn_list(struct server *s, const struct conn *c)
{
	return c->kind == CONN_AGENT ? &s->agent_conns : &s->oper_conns;
}

static void conn_link(struct server *s, struct conn *c)
{
	struct conn **head = conn_list(s, c);

	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void conn_unlink(struct server *s, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		*conn_list(s, c) = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Reassemble fragments and partial frames into whole messages, capped. */
static int conn_receive(struct server *s, struct conn *c, const void *in, size_t len, bool *done)
{
	*done = false;
	if (lws_is_first_fragment(c->wsi)) {
		c->rxlen = 0;
		c->rx_discard = false;
	}
	if (lws_frame_is_binary(c->wsi)) {
		s->k.err_bad_type++;
		conn_reject(s, c, "bad_type", "binary frames are not accepted; send JSON text",
			    LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE);
		return 0;
	}
	if (c->rx_discard)
		return 0;
	if (c->rxlen + len > PROTO_MAX_FRAME) {
		char msg[128];

		c->rx_discard = true;
		s->k.err_too_big++;
		snprintf(msg, sizeof msg, "message larger than %d bytes", PROTO_MAX_FRAME);
		conn_reject(s, c, "too_big", msg, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
		return 0;
	}
	if (c->rxlen + len > c->rxcap) {
		size_t ncap = c->rxcap ? c->rxcap : 1024;
		char *nb;

		while (ncap < c->rxlen + len)
			ncap *= 2;
		nb = realloc(c->rx, ncap);
		if (!nb)
			return -1;
		c->rx = nb;
		c->rxcap = ncap;
	}
	memcpy(c->rx + c->rxlen, in, len);
	c->rxlen += len;
	*done = lws_is_final_fragment(c->wsi) && !lws_remaining_packet_payload(c->wsi);
	return 0;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		 size_t len, enum conn_kind kind)
{
	struct server *s = srv_of(wsi);
	struct conn *c = user;
	bool done;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof *c);
		c->wsi = wsi;
		c->kind = kind;
		c->id = ++s->next_conn_id;
		c->rx_ms = util_mono_ms();
		c->established = true;
		conn_link(s, c);
		if (kind == CONN_AGENT) {
			s->agents++;
		} else {
			char hdr[AUTH_TOKEN_MAX + 16] = "";
			const struct auth_operator *who = NULL;
			char peer[64] = "";

			s->operators++;
			lws_get_peer_simple(wsi, peer, sizeof peer);
			if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0)
				lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_AUTHORIZATION);
			auth_operator_ok(&s->cfg->auth, hdr[0] ? hdr : NULL, auth_is_loopback(peer), &who);
			util_strlcpy(c->who, who ? who->name : "local", sizeof c->who);
			c->role = who ? who->role : ROLE_OPERATOR;
		}
		break;
	case LWS_CALLBACK_RECEIVE:
		if (!c->established || c->closing)
			break;
		c->rx_ms = util_mono_ms();
		if (conn_receive(s, c, in, len, &done))
			return -1;
		if (!done || c->closing)
			break;
		if (kind == CONN_AGENT)
			agent_message(s, c, c->rx, c->rxlen);
		else
			oper_message(s, c, c->rx, c->rxlen);
		c->rxlen = 0;
		if (c->rxcap > 65536) {           /* do not keep a big buffer per idle client */
			free(c->rx);
			c->rx = NULL;
			c->rxcap = 0;
		}
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!c->established)
			break;
		return conn_writeable(c);
	case LWS_CALLBACK_CLOSED:
		if (!c->established)              /* refused before ESTABLISHED */
			break;
		c->established = false;
		conn_unlink(s, c);
		if (kind == CONN_AGENT) {
			s->agents--;
			if (c->hello_done && !s->stopping) {
				core_disconnect(s->core, util_mono_ms(), util_wall_ms(), c->id, c->node,
						&s->out);
				apply(s, NULL);
				if (core_next_deadline(s->core) < s->tick_at_ms)
					schedule_tick(s);
			}
		} else {
			s->operators--;
		}
		conn_queue_free(c);
		free(c->rx);
		c->rx = NULL;
		break;
	default:
		break;
	}
	return 0;
}

static int cb_agent(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	return cb_ws(wsi, reason, user, in, len, CONN_AGENT);
}

static int cb_oper(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len)
{
	return cb_ws(wsi, reason, user, in, len, CONN_OPER);
}

/* ---- HTTP: /health, /metrics, and the upgrade gate --------------------- */

/* Which of our subprotocols the client asks for (the header may list several). */
static enum conn_kind requested_kind(struct lws *wsi)
{
	char hdr[256], *save = NULL;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) <= 0 ||
	    lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_PROTOCOL) < 0)
		return 0;
	for (char *t = strtok_r(hdr, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (strcmp(t, PROTO_AGENT_SUBPROTO) == 0)
			return CONN_AGENT;
		if (strcmp(t, PROTO_OPER_SUBPROTO) == 0)
			return CONN_OPER;
	}
	return 0;
}

static int http_refuse(struct lws *wsi, unsigned int status)
{
	lws_return_http_status(wsi, status, NULL);
	return 1;
}

static int confirm_upgrade(struct server *s, struct lws *wsi)
{
	char hdr[AUTH_TOKEN_MAX + 16] = "", peer[64] = "";
	const struct auth_operator *who;
	enum conn_kind kind = requested_kind(wsi);
	bool loop, ok;

	lws_get_peer_simple(wsi, peer, sizeof peer);
	loop = auth_is_loopback(peer);
	if (!kind) {
		util_log("warn", "refused a WebSocket upgrade from %s: no known subprotocol "
			 "(expected %s or %s)", peer, PROTO_AGENT_SUBPROTO, PROTO_OPER_SUBPROTO);
		return http_refuse(wsi, HTTP_STATUS_BAD_REQUEST);
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0)
		lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (kind == CONN_AGENT)
		ok = auth_agent_ok(&s->cfg->auth, hdr[0] ? hdr : NULL, loop);
	else
		ok = auth_operator_ok(&s->cfg->auth, hdr[0] ? hdr : NULL, loop, &who);
	if (ok)
		return 0;
	if ((kind == CONN_AGENT && !s->cfg->auth.agent_required) ||
	    (kind == CONN_OPER && !s->cfg->auth.operator_required)) {
		s->k.auth_fail_loopback++;
		util_log("warn", "refused %s connection from %s: no token file is configured, so only "
			 "loopback clients are accepted", kind == CONN_AGENT ? "an agent" : "an operator",
			 peer);
	} else {
		if (kind == CONN_AGENT)
			s->k.auth_fail_agent++;
		else
			s->k.auth_fail_operator++;
		util_log("warn", "refused %s connection from %s: %s token", kind == CONN_AGENT ? "an agent" :
			 "an operator", peer, hdr[0] ? "wrong" : "missing");
	}
	return http_refuse(wsi, HTTP_STATUS_UNAUTHORIZED);
}

static int http_begin(struct server *s, struct lws *wsi, struct http_req *r, const char *path)
{
	unsigned char hb[LWS_PRE + 1024], *start = hb + LWS_PRE, *p = start, *end = hb + sizeof hb - 1;
	char *uri, peer[64] = "";
	const char *ctype = "application/json";
	struct jw w;
	int ulen, status = 200, n;

	if (lws_http_get_uri_and_method(wsi, &uri, &ulen) != LWSHUMETH_GET)
		return http_refuse(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED);
	lws_get_peer_simple(wsi, peer, sizeof peer);
	if (!s->cfg->auth.agent_required && !s->cfg->auth.operator_required && !auth_is_loopback(peer))
		return http_refuse(wsi, HTTP_STATUS_FORBIDDEN);
	refresh_facts(s);
	jw_init_dynamic(&w, 4096);
	if (strcmp(path, "/health") == 0) {
		status = view_health(&w, s->core, &s->facts, util_wall_ms());
		jw_raw(&w, "\n", 1);
	} else if (strcmp(path, "/metrics") == 0) {
		ctype = "text/plain; version=0.0.4";
		promtext_render(&w, s->core, &s->facts, &s->k, util_mono_ms(), util_wall_ms());
		if (s->lead)
			lead_metrics(s->lead, util_mono_ms(), &w);
		alerting_metrics(s->alerting, &w);
	} else {
		free(w.buf);
		return http_refuse(wsi, HTTP_STATUS_NOT_FOUND);
	}
	n = jw_finish(&w);
	if (n < 0) {
		free(w.buf);
		return http_refuse(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
	}
	r->body = w.buf;
	r->len = (size_t)n;
	r->off = 0;
	if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, r->len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int http_writeable(struct lws *wsi, struct http_req *r)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t n;
	bool last;

	if (!r->body)
		return 0;
	n = r->len - r->off;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	last = r->off + n == r->len;
	memcpy(buf + LWS_PRE, r->body + r->off, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	r->off += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	free(r->body);
	r->body = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len)
{
	struct server *s = srv_of(wsi);
	struct http_req *r = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		if (s->sockets >= s->cfg->max_clients) {
			s->k.conn_refused_limit++;
			return 1;
		}
		break;
	case LWS_CALLBACK_WSI_CREATE:
		s->sockets++;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		s->sockets--;
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:     /* a commit: acks may be due */
		if (s && !s->stopping)
			send_due_acks(s);
		if (s && !s->stopping && g_hup) {
			g_hup = 0;
			lws_sul_schedule(s->ctx, 0, &s->sul_reload, on_reload, 1);
		}
		break;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(s, wsi);
	case LWS_CALLBACK_HTTP:
		return http_begin(s, wsi, r, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(wsi, r);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (r) {
			free(r->body);
			r->body = NULL;
		}
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- timers and lifecycle ---------------------------------------------- */

/* One downsampled metrics row per connected node every sample_ms, taken a
 * slice per tick rather than all at once: at 10,000 nodes one pass copies
 * tens of MB and would hold heartbeats up for tens of ms. */
static void record_samples(struct server *s, int64_t now, int64_t wall)
{
	size_t n = core_node_count(s->core), per_tick, end;
	struct core_node_info ni;
	struct store_sample x;

	if (!n || now <= s->last_sample_ms)
		return;
	/* as many nodes as the time since the last slice is of sample_ms */
	per_tick = (size_t)((uint64_t)n * (uint64_t)(now - s->last_sample_ms) /
			    (uint64_t)s->cfg->sample_ms);
	if (!per_tick)
		return;                    /* not yet: the time accumulates */
	s->last_sample_ms = now;
	if (s->sample_next >= n)
		s->sample_next = 0;
	end = s->sample_next + per_tick < n ? s->sample_next + per_tick : n;
	for (size_t i = s->sample_next; i < end; i++) {
		if (core_node_info(s->core, i, now, &ni) || !ni.connected)
			continue;
		store_sample_init(&x);
		util_strlcpy(x.node, ni.name, sizeof x.node);
		x.ts_ms = wall;
		x.cpu = ni.m.cpu_pct;
		x.mem = ni.m.mem_pct;
		x.load1 = ni.m.load1;
		x.disk = ni.m.disk_pct;
		x.rtt_ms = ni.rtt_ms >= 0 ? (double)ni.rtt_ms : NAN;
		x.errors = proto_app_value(&ni.m, "errors");
		x.latency_ms = proto_app_value(&ni.m, "latency_ms");
		store_add_sample(s->store, &x);
	}
	s->sample_next = end;
}

/* Agents talk at least every interval (<= 60 s): a connection silent for
 * three times that (at least 20 s), or without hello after 10 s, is dead or
 * stuck: close it.  (lws's own idle policy would do this with a timer per
 * connection, re-inserted in a sorted list of all of them at every
 * heartbeat: quadratic with thousands of agents.)  Dashboards may be
 * silent: they are not swept. */
static void sweep_silent(struct server *s, int64_t now)
{
	for (struct conn *c = s->agent_conns; c; c = c->next) {
		int64_t limit = 10000;

		if (c->closing)
			continue;
		if (c->hello_done)
			limit = 3LL * c->interval_ms > 20000 ? 3LL * c->interval_ms : 20000;
		if (now - c->rx_ms > limit) {
			util_log("warn", "agent connection %llu%s%s: silent for %lld ms: closing it",
				 (unsigned long long)c->id, c->hello_done ? " " : " (no hello)",
				 c->node, (long long)(now - c->rx_ms));
			conn_close_after(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "silent");
		}
	}
}

/* CLOCK_MONOTONIC in seconds, for the loop histograms (sub-millisecond). */
static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
	struct server *s = lws_container_of(sul, struct server, sul_tick);
	int64_t now = util_mono_ms(), wall = util_wall_ms();
	double t0 = mono_s();

	if (s->stopping)
		return;
	if (s->tick_due_s > 0)
		loop_hist_add(&s->k.tick_lag, t0 - s->tick_due_s);
	core_tick(s->core, now, wall, &s->out);
	apply(s, NULL);
	lead_tick(s->lead, now, wall, core_in_tilt(s->core));
	alerting_tick(s->alerting, now, wall, s->core, s->lead, s->facts.recording,
		      s->store_error);
	send_due_acks(s);
	if (s->cfg->sample_ms > 0)
		record_samples(s, now, wall);
	if (s->oper_conns) {
		bool fast = now - s->last_delta_ms >= s->cfg->delta_ms;

		if (fast)
			s->last_delta_ms = now;
		publish_deltas(s, now, fast);
	}
	if (now - s->last_stats_ms >= 1000)
		sweep_silent(s, now);
	if (now - s->last_stats_ms >= 1000) {
		s->last_stats_ms = now;
		refresh_facts(s);
		if (s->facts.recording != s->was_recording) {
			if (s->facts.recording)
				util_log("info", "store: recording again");
			else
				util_log("error", "store: NOT RECORDING: %s (detection goes on; rows are kept "
					 "in memory and retried)", s->store_error);
			s->was_recording = s->facts.recording;
		}
	}
	loop_hist_add(&s->k.tick_run, mono_s() - t0);
	schedule_tick(s);
}

/* The next tick: one tick from now, or earlier when a grace period ends. */
static void schedule_tick(struct server *s)
{
	int64_t now = util_mono_ms(), at = now + s->cfg->tick_ms, due = core_next_deadline(s->core);

	if (due < at)
		at = due > now ? due : now;
	s->tick_at_ms = at;
	s->tick_due_s = mono_s() + (double)(at - now) / 1000.0;
	lws_sul_schedule(s->ctx, 0, &s->sul_tick, on_tick, (lws_usec_t)(at - now) * 1000 + 1);
}

/* SIGHUP, on the service thread: read the configuration file again; rules
 * and sinks change at once, a bad file changes nothing. */
static void on_reload(lws_sorted_usec_list_t *sul)
{
	struct server *s = lws_container_of(sul, struct server, sul_reload);
	const struct alert_rule *rules;
	const struct sink_spec *sinks;
	size_t nrules, nsinks;
	char err[1400];

	if (s->stopping)
		return;
	if (!s->cfg->reload || !s->cfg->config_path) {
		util_log("warn", "SIGHUP: no --config file: nothing to read again");
		return;
	}
	util_log("info", "SIGHUP: reading %s again", s->cfg->config_path);
	if (s->cfg->reload(s->cfg->reload_arg, &rules, &nrules, &sinks, &nsinks, err, sizeof err)) {
		util_log("error", "reload REFUSED, the running configuration is kept: %s", err);
		return;
	}
	if (alerting_reload(s->alerting, rules, nrules, sinks, nsinks, err, sizeof err)) {
		util_log("error", "reload REFUSED, the running configuration is kept: %s", err);
		return;
	}
	util_log("info", "reloaded %s: %zu rules, %zu sinks in force", s->cfg->config_path, nrules,
		 nsinks);
}

static void on_sighup(int signum)
{
	(void)signum;
	g_hup = 1;
	if (g_srv && g_srv->ctx)
		lws_cancel_service(g_srv->ctx);
}

static void signal_cb(void *handle, int signum)
{
	(void)handle;
	if (!g_srv)
		return;
	if (signum == SIGHUP) {
		/* A libuv signal watcher runs on the loop, not in a handler; the
		 * reload still goes through a timer so it runs like any callback. */
		lws_sul_schedule(g_srv->ctx, 0, &g_srv->sul_reload, on_reload, 1);
		return;
	}
	util_log("info", "signal %d: stopping", signum);
	g_interrupted = 1;
	g_srv->stopping = true;
	lws_sul_cancel(&g_srv->sul_tick);
	lws_sul_cancel(&g_srv->sul_reload);
	lws_context_destroy(g_srv->ctx);
}

/* Leadership sends commands by node name (rare: a scan is fine). */
static int lead_send_node(void *arg, const char *node, const char *text, size_t len)
{
	struct server *s = arg;

	for (struct conn *c = s->agent_conns; c; c = c->next)
		if (c->hello_done && !c->closing &&
		    strcmp(c->node, node) == 0)
			return conn_send(s, c, text, len);
	return -1;
}

static void lead_publish(void *arg, const char *text, size_t len)
{
	struct server *s = arg;

	if (s->alerting)
		alerting_lead_event(s->alerting, text, len);
	for (struct conn *c = s->oper_conns; c; c = c->next)
		if (c->subscribed)
			conn_send(s, c, text, len);
}

/* Alert frames to subscribed operators (not tapped by alerting). */
static void lead_publish_operators(void *arg, const char *text, size_t len)
{
	struct server *s = arg;

	for (struct conn *c = s->oper_conns; c; c = c->next)
		if (c->subscribed)
			conn_send(s, c, text, len);
}

/* vigil forget: leadership removed the node from the core and the store. */
static void lead_forgotten(void *arg, const char *node)
{
	struct server *s = arg;

	if (s->alerting)
		alerting_forget_node(s->alerting, node);
}

static int restore_node(const struct store_node *n, void *arg)
{
	struct server *s = arg;
	enum node_state st;

	if (node_state_parse(n->state, &st))
		st = NODE_SUSPECT;
	core_remember(s->core, util_mono_ms(), util_wall_ms(), n->name, n->group, n->priority, st);
	return 0;
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	util_log(level == LLL_ERR ? "error" : "warn", "lws: %.*s", (int)n, line);
}

static void raise_fd_limit(int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < (rlim_t)want) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)want ? rl.rlim_max : (rlim_t)want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void record_stopped(struct server *s)
{
	struct store_event e;

	store_event_init(&e);
	e.ts_ms = util_wall_ms();
	util_strlcpy(e.kind, "collector", sizeof e.kind);
	util_strlcpy(e.rule, "stopped", sizeof e.rule);
	util_strlcpy(e.detail, "clean shutdown", sizeof e.detail);
	store_add_event(s->store, &e);
}

static const struct lws_protocols protocols[] = {
	{ "http", cb_http, sizeof(struct http_req), 0, 0, NULL, 0 },
	{ PROTO_AGENT_SUBPROTO, cb_agent, sizeof(struct conn), 4096, 0, NULL, 4096 },
	{ PROTO_OPER_SUBPROTO, cb_oper, sizeof(struct conn), 4096, 0, NULL, 65536 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int server_run(struct server_config *cfg)
{
	struct lws_context_creation_info info;
	struct server *s;
	char err[512];
	int rc = 1, n = 0;
	struct rlimit rl;

	s = calloc(1, sizeof *s);
	if (!s)
		return 1;
	s->cfg = cfg;
	core_out_init(&s->out);
	snprintf(s->instance, sizeof s->instance, "c-%08lx%04x", (unsigned long)util_wall_ms() / 1000,
		 (unsigned)getpid() & 0xffff);
	snprintf(s->listen_text, sizeof s->listen_text, strchr(cfg->host, ':') ? "[%s]:%d" : "%s:%d",
		 cfg->host, cfg->port);

	s->store = store_open(cfg->db_path, cfg->flush_ms, err, sizeof err);
	if (!s->store) {
		/* Detection matters more than history: keep watching the cluster
		 * with an in-memory history, and say so everywhere. */
		snprintf(s->store_fallback, sizeof s->store_fallback,
			 "cannot write %.200s (%.200s): history of this run in memory only; "
			 "restart the collector once the file is writable", cfg->db_path, err);
		util_log("error", "NOT RECORDING: %s", s->store_fallback);
		s->store = store_open(":memory:", cfg->flush_ms, err, sizeof err);
		if (!s->store) {
			util_log("error", "cannot open even an in-memory store: %s", err);
			goto out_free;
		}
	}
	store_set_retention(s->store, cfg->raw_keep_ms, cfg->agg_keep_ms);
	s->core = core_new(&cfg->core, util_mono_ms());
	if (!s->core) {
		util_log("error", "invalid detection settings");
		goto out_store;
	}
	{
		struct lead_io io = { .arg = s, .send_node = lead_send_node, .publish = lead_publish,
				      .forgotten = lead_forgotten };

		s->lead = lead_new(&cfg->groups, s->store, s->core, &io, util_mono_ms(), util_wall_ms(),
				   err, sizeof err);
		if (!s->lead) {
			util_log("error", "leadership: %s", err);
			goto out_core;
		}
	}
	{
		struct alerting_io aio = { .arg = s, .publish = lead_publish_operators };
		struct alerting_config ac = {
			.rules = cfg->rules, .nrules = cfg->nrules,
			.sinks = cfg->sinks, .nsinks = cfg->nsinks,
			.db_path = s->store_fallback[0] ? ":memory:" : cfg->db_path,
			.settle_ms = cfg->groups.elect_settle_ms + 3000,
			.startup_grace_ms = cfg->core.startup_grace_ms,
		};

		s->alerting = alerting_new(&ac, s->store, &aio, util_mono_ms(), util_wall_ms(), err,
					   sizeof err);
		if (!s->alerting) {
			util_log("error", "alerting: %s", err);
			goto out_core;
		}
		if (cfg->nsinks || cfg->nrules)
			util_log("info", "alerting: %zu rules from the configuration (plus the built-ins), "
				 "%zu sinks", cfg->nrules, cfg->nsinks);
	}
	if (store_load_nodes(s->store, restore_node, s))
		util_log("warn", "could not read the known nodes from %s", cfg->db_path);
	else if (core_node_count(s->core))
		util_log("info", "remembered %zu nodes from %s; those that do not reconnect within "
			 "%lld ms will be marked failed", core_node_count(s->core), cfg->db_path,
			 (long long)cfg->core.startup_grace_ms);

	raise_fd_limit(cfg->max_clients + 64);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)cfg->max_clients + 32 > rl.rlim_cur) {
		cfg->max_clients = rl.rlim_cur > 64 ? (int)rl.rlim_cur - 32 : 16;
		util_log("warn", "file descriptor limit %llu: accepting at most %d connections",
			 (unsigned long long)rl.rlim_cur, cfg->max_clients);
	}

	lws_set_log_level(getenv("VIGIL_LWS_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO :
			  LLL_ERR | LLL_WARN, lws_log_emit);
	memset(&info, 0, sizeof info);
	info.port = cfg->port;
	info.iface = cfg->host;
	info.protocols = protocols;
	info.user = s;
	info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
	if (!getenv("VIGIL_NO_UV"))
		info.options |= LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
	if (!strchr(cfg->host, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (cfg->tls_cert[0]) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
	}
	info.signal_cb = signal_cb;
	info.pcontext = &s->ctx;
	info.timeout_secs = 5;
	g_srv = s;
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		util_log("error", "cannot listen on %s (address in use, not an address of this host, "
			 "or an unreadable TLS certificate or key?)", s->listen_text);
		goto out_core;
	}
	{
		/* lws 4.1.6's libuv watches SIGINT and SIGTERM but not SIGHUP (whose
		 * default action would end us): a handler that only sets a flag and
		 * wakes the loop; the reload runs in EVENT_WAIT_CANCELLED. */
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_sighup;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGHUP, &sa, NULL);
	}
	s->facts.instance = s->instance;
	s->facts.listen = s->listen_text;
	s->facts.auth_mode = cfg->auth.agent_required || cfg->auth.operator_required ?
			     "tokens" : "loopback-only";
	s->facts.started_wall_ms = util_wall_ms();
	s->was_recording = true;
	refresh_facts(s);
	util_log("info", "vigil-collector %s listening on %s%s (instance %s), store %s", VIGIL_VERSION,
		 s->listen_text, cfg->tls_cert[0] ? " with TLS (wss://, https://)" : "", s->instance,
		 cfg->db_path);
	if (!cfg->auth.agent_required)
		util_log("warn", "no --agent-token-file: accepting agents from loopback addresses only");
	if (!cfg->auth.operator_required)
		util_log("warn", "no --operator-token-file: accepting operators from loopback addresses only");
	store_set_commit_hook(s->store, on_commit, s);
	schedule_tick(s);

	while (n >= 0 && !g_interrupted)
		n = lws_service(s->ctx, 0);
	s->stopping = true;
	store_set_commit_hook(s->store, NULL, NULL);
	if (s->ctx)
		lws_context_destroy(s->ctx);
	s->ctx = NULL;
	record_stopped(s);
	rc = 0;
out_core:
	g_srv = NULL;
	alerting_free(s->alerting);
	lead_free(s->lead);
	core_free(s->core);
out_store:
	if (store_flush(s->store))
		util_log("error", "store: the last rows could not be committed");
	store_close(s->store);
	if (rc == 0)
		util_log("info", "stopped; store flushed");
out_free:
	free(s->acks);
	core_out_done(&s->out);
	free(s);
	return rc;
}
