/* agent — lws client glue.  Default poll() loop: one connection is cheap.
 *
 * Writes are driven by what is pending, in this order of priority, one frame
 * per CLIENT_WRITEABLE: hello, bye, hook reports, the head event of the
 * outbox (once per connection until acked), the latest heartbeat.
 * Reconnection is scheduled from WSI_DESTROY (not CONNECTION_ERROR: a
 * handshake timeout gives none).
 *
 * Leadership: every input of the lease core (a heartbeat sent, a grant, a
 * command, a finished hook, the 100 ms tick) leaves actions in a->lout,
 * which apply() carries out in order at once.  Hook reports are kept (a
 * few) while the collector is unreachable and sent after the reconnect;
 * they are not acknowledged.
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include "agent/hooks.h"
#include "agent/lease.h"
#include "agent/outbox.h"
#include "agent/proc.h"
#include "agent/state.h"
#include "agent/statsd.h"
#include "agent/sysmetrics.h"
#include "proto/util.h"

#define MSG_MAX 8192
#define AGENT_LWS_FDS 16     /* lws fd table: see agent_run() */
#define TX_MAX 16384        /* a hook report: 4 KiB of output, escaped */
#define REPORTS_MAX 16      /* hook reports kept while disconnected */
#define TICK_MS 100         /* the lease core's clock */

/* The newest command of each hook kind, to give its details to the hook
 * the lease core runs for it (a promote runs when the grant comes). */
struct last_cmd {
	uint64_t cmd_id;
	int64_t epoch;
	char old_leader[PROTO_NAME_MAX + 1];
	char reason[PROTO_TEXT_MAX + 1];
};

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
	lws_sorted_usec_list_t sul_tick;

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

	struct lease *lease;
	struct lease_out lout;  /* the lease core's actions, carried out by apply() */
	struct hooks *hooks;
	int64_t conn_first_seq; /* first heartbeat of this connection: older grants are ignored */
	struct last_cmd cmd[4]; /* by enum lease_hook */
	uint64_t submit_n;      /* hooks queued so far (their seq) */
	uint64_t promote_seq;   /* seq of the newest promote queued */
	bool epoch_unsaved;     /* the newest epoch seen is not in --state-dir yet */
	int64_t save_retry_ms;
	char unsaved_why[300];
	struct proto_hook reports[REPORTS_MAX];
	size_t rep_head, rep_n;

	unsigned char txbuf[LWS_PRE + TX_MAX];
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

/* ---- leadership --------------------------------------------------------- */

static void apply(struct agent *a);

static void queue_report(struct agent *a, const struct proto_hook *h)
{
	if (a->rep_n == REPORTS_MAX) {
		util_log("warn", "too many hook reports waiting for the collector: dropped the oldest");
		a->rep_head = (a->rep_head + 1) % REPORTS_MAX;
		a->rep_n--;
	}
	a->reports[(a->rep_head + a->rep_n++) % REPORTS_MAX] = *h;
	if (a->welcomed && a->wsi)
		lws_callback_on_writable(a->wsi);
}

/* A hook ended (or could not be run): log it, report it, tell the core. */
static void hook_finished(struct agent *a, const struct hook_result *r)
{
	struct proto_hook h;
	char flat[201];

	memset(&h, 0, sizeof h);
	h.cmd_id = (int64_t)r->job.cmd_id;
	util_strlcpy(h.hook, lease_hook_name(r->job.kind), sizeof h.hook);
	h.epoch = r->job.epoch;
	h.rc = r->rc;
	h.duration_ms = r->duration_ms;
	util_strlcpy(h.output, r->output, sizeof h.output);
	util_strlcpy(h.reason, r->job.tag, sizeof h.reason);
	proc_text_sanitize(flat, sizeof flat, r->output, strlen(r->output), PROC_TEXT_TRIM);
	util_log(r->rc ? "warn" : "info", "%s hook (epoch %" PRId64 ", %s)%s: rc %d after %" PRId64
		 " ms%s%s", h.hook, h.epoch, h.reason, r->configured ? "" : " not configured", r->rc,
		 r->duration_ms, flat[0] ? ": " : "", flat);
	queue_report(a, &h);
	/* Stepped down, and no promote queued since: not acting as leader. */
	if (a->cfg->state_dir[0] && r->job.kind != LEASE_HOOK_PROMOTE && r->rc == 0 &&
	    a->promote_seq < r->job.seq) {
		char err[300];

		if (state_leader_clear(a->cfg->state_dir, a->cfg->group, err, sizeof err))
			util_log("error", "%s", err);
	}
	lease_hook_done(a->lease, util_mono_ms(), r->job.kind, r->job.epoch, r->rc, &a->lout);
	apply(a);
}

static void hook_not_run(struct agent *a, const struct hook_job *j, const char *why)
{
	static struct hook_result r;

	memset(&r, 0, sizeof r);
	r.job = *j;
	r.rc = -2;
	r.configured = true;
	snprintf(r.output, sizeof r.output, "[vigil: not run: %s]", why);
	hook_finished(a, &r);
}

/* LA_HOOK: queue it, with the details of the command it carries out. */
static void start_hook(struct agent *a, const struct lease_action *act)
{
	struct last_cmd *c = &a->cmd[act->hook];
	struct hook_job j;

	memset(&j, 0, sizeof j);
	j.kind = act->hook;
	j.cmd_id = act->cmd_id;
	j.epoch = act->epoch;
	util_strlcpy(j.tag, act->reason, sizeof j.tag);
	util_strlcpy(j.reason, act->reason, sizeof j.reason);
	if (c->cmd_id && c->epoch == act->epoch &&
	    (act->cmd_id == c->cmd_id || (!act->cmd_id && act->hook == LEASE_HOOK_PROMOTE))) {
		/* The command's (a promote runs when the grant naming us
		 * comes: it still answers that command). */
		j.cmd_id = c->cmd_id;
		util_strlcpy(j.old_leader, c->old_leader, sizeof j.old_leader);
		if (c->reason[0])
			util_strlcpy(j.reason, c->reason, sizeof j.reason);
		c->cmd_id = 0;          /* once: a later re-grant is not that command */
	} else if (act->hook != LEASE_HOOK_PROMOTE) {
		util_strlcpy(j.old_leader, a->cfg->node, sizeof j.old_leader); /* stepping down */
	}
	/* Leading at an epoch a restart could forget would let a stale command
	 * through later: no promote until the epoch is saved.  Stepping down
	 * is always safe, so demote and fence still run. */
	if (a->epoch_unsaved && j.kind == LEASE_HOOK_PROMOTE) {
		char why[400];

		snprintf(why, sizeof why, "the epoch could not be saved in the state directory (%s)",
			 a->unsaved_why);
		hook_not_run(a, &j, why);
		return;
	}
	/* A restart must know that this node may be acting as leader. */
	if (a->cfg->state_dir[0] && j.kind == LEASE_HOOK_PROMOTE) {
		char err[300], why[400];

		if (state_leader_save(a->cfg->state_dir, a->cfg->group, j.epoch, err, sizeof err)) {
			snprintf(why, sizeof why, "cannot write the state directory (%s)", err);
			util_log("error", "%s", why);
			hook_not_run(a, &j, why);
			return;
		}
	}
	j.seq = ++a->submit_n;
	if (hooks_submit(a->hooks, &j)) {
		hook_not_run(a, &j, "too many hooks queued");
		return;
	}
	if (j.kind == LEASE_HOOK_PROMOTE)
		a->promote_seq = j.seq;
	util_log("info", "running the %s hook (epoch %" PRId64 ", %s)", lease_hook_name(j.kind),
		 j.epoch, j.reason);
}

static void save_epoch(struct agent *a, int64_t epoch)
{
	char err[300];

	if (!a->cfg->state_dir[0])
		return;
	if (state_epoch_save(a->cfg->state_dir, a->cfg->group, epoch, err, sizeof err)) {
		if (!a->epoch_unsaved || strcmp(err, a->unsaved_why))
			util_log("error", "cannot save epoch %" PRId64 ": %s (no promote hook runs until "
				 "it can be saved)", epoch, err);
		a->epoch_unsaved = true;
		util_strlcpy(a->unsaved_why, err, sizeof a->unsaved_why);
		a->save_retry_ms = util_mono_ms() + 1000;
		return;
	}
	if (a->epoch_unsaved)
		util_log("info", "epoch %" PRId64 " saved in %s", epoch, a->cfg->state_dir);
	a->epoch_unsaved = false;
}

static void report_refused(struct agent *a, const struct lease_action *act)
{
	struct proto_hook h;

	memset(&h, 0, sizeof h);
	h.cmd_id = (int64_t)act->cmd_id;
	util_strlcpy(h.hook, lease_hook_name(act->hook), sizeof h.hook);
	h.epoch = act->epoch;
	h.rc = -2;
	h.duration_ms = 0;
	snprintf(h.output, sizeof h.output, "[vigil: refused: epoch %" PRId64 " is older than %" PRId64
		 ", the newest seen]", act->epoch, act->seen_epoch);
	util_strlcpy(h.reason, act->reason, sizeof h.reason);
	h.refused = true;
	h.seen_epoch = act->seen_epoch;
	util_log("warn", "refused the %s command %" PRIu64 ": its epoch %" PRId64 " is older than %"
		 PRId64, h.hook, act->cmd_id, act->epoch, act->seen_epoch);
	queue_report(a, &h);
}

/* Carry out the lease core's actions in order.  They are copied out first:
 * a hook that cannot run is finished at once, which feeds the core again. */
static void apply(struct agent *a)
{
	struct lease_action *v;
	size_t n = a->lout.n;

	if (a->lout.oom)
		util_log("error", "out of memory in the lease core: a leadership action was lost");
	if (!n) {
		lease_out_reset(&a->lout);
		return;
	}
	v = malloc(n * sizeof *v);
	if (!v) {
		util_log("error", "out of memory: %zu leadership actions lost", n);
		lease_out_reset(&a->lout);
		return;
	}
	memcpy(v, a->lout.v, n * sizeof *v);
	lease_out_reset(&a->lout);
	for (size_t i = 0; i < n; i++) {
		const struct lease_action *act = &v[i];

		switch (act->kind) {
		case LA_SAVE_EPOCH:
			save_epoch(a, act->epoch);
			break;
		case LA_HOOK:
			start_hook(a, act);
			break;
		case LA_REFUSED:
			report_refused(a, act);
			break;
		case LA_LEASE:
			util_log(act->on ? "info" : "warn", "%s the lease of group %s (epoch %" PRId64 ", %s)",
				 act->on ? "acquired" : "lost", a->cfg->group, act->epoch, act->reason);
			if (act->on)
				add_event(a, "lease_acquired", "info", "leader of group %s at epoch %" PRId64,
					  a->cfg->group, act->epoch);
			else
				add_event(a, "lease_lost", "warning", "no longer leader of group %s (epoch %"
					  PRId64 "): %s", a->cfg->group, act->epoch, act->reason);
			break;
		}
	}
	free(v);
}

static void drain_hooks(struct agent *a)
{
	static struct hook_result r;

	while (a->hooks && hooks_take(a->hooks, &r))
		hook_finished(a, &r);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
	struct agent *a = lws_container_of(sul, struct agent, sul_tick);
	int64_t now = util_mono_ms();

	drain_hooks(a);
	lease_tick(a->lease, now, &a->lout);
	apply(a);
	if (a->epoch_unsaved && now >= a->save_retry_ms)
		save_epoch(a, lease_epoch(a->lease));
	lws_sul_schedule(a->ctx, 0, &a->sul_tick, on_tick, (lws_usec_t)TICK_MS * 1000);
}

static void on_grant(struct agent *a, const struct proto_grant *g)
{
	struct lease_grant lg;

	/* Only an answer to a heartbeat of this connection (seqs go on across
	 * reconnects in one boot, so older ones are recognisable). */
	if (g->seq < a->conn_first_seq || g->seq >= a->hb_seq || strcmp(g->group, a->cfg->group)) {
		if (a->cfg->verbose)
			util_log("info", "grant for heartbeat %" PRId64 " of group %s ignored", g->seq,
				 g->group);
		return;
	}
	memset(&lg, 0, sizeof lg);
	lg.seq = g->seq;
	lg.epoch = g->epoch;
	util_strlcpy(lg.leader, g->leader, sizeof lg.leader);
	lg.lease_ms = g->lease_ms;
	lease_grant(a->lease, util_mono_ms(), &lg, &a->lout);
	apply(a);
}

static void on_command(struct agent *a, const struct proto_command *c)
{
	int kind = proto_hook_parse(c->hook);
	struct last_cmd *lc;

	if (kind < LEASE_HOOK_PROMOTE || kind > LEASE_HOOK_FENCE)
		return;
	if (strcmp(c->group, a->cfg->group)) {
		util_log("warn", "command %" PRId64 " for group %s ignored: this node is in group %s",
			 c->cmd_id, c->group, a->cfg->group);
		return;
	}
	util_log("info", "command %" PRId64 " from the collector: %s at epoch %" PRId64
		 " (old leader %s): %s", c->cmd_id, c->hook, c->epoch,
		 c->old_leader[0] ? c->old_leader : "none", c->reason);
	lc = &a->cmd[kind];
	if (c->epoch >= lc->epoch) {
		lc->cmd_id = (uint64_t)c->cmd_id;
		lc->epoch = c->epoch;
		util_strlcpy(lc->old_leader, c->old_leader, sizeof lc->old_leader);
		util_strlcpy(lc->reason, c->reason, sizeof lc->reason);
	}
	lease_command(a->lease, util_mono_ms(), (enum lease_hook)kind, c->epoch, (uint64_t)c->cmd_id,
		      &a->lout);
	apply(a);
}

static void wake_loop(void *arg)
{
	struct agent *a = arg;

	lws_cancel_service(a->ctx);     /* the one thread-safe lws call */
}

/* ---- writing ----------------------------------------------------------- */

static int write_text(struct agent *a, const char *text, size_t len)
{
	if (len > TX_MAX)
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
	/* The lease is measured from now: before the frame leaves. */
	lease_hb_sent(a->lease, util_mono_ms(), hb.seq, &a->lout);
	util_strlcpy(hb.role, lease_role_name(lease_role(a->lease)), sizeof hb.role);
	hb.epoch = lease_epoch(a->lease);
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
		/* A leader (or claimant) that reconnects claims leadership again;
		 * the collector decides. */
		util_strlcpy(a->hello.role, lease_role(a->lease) == LEASE_FOLLOWER ? "follower" : "leader",
			     sizeof a->hello.role);
		a->hello.epoch = lease_epoch(a->lease);
		n = proto_encode_hello(buf, sizeof buf, &a->hello);
		if (n < 0 || write_text(a, buf, (size_t)n))
			return -1;
	} else if (a->welcomed && a->rep_n) {
		static char hbuf[TX_MAX];
		const struct proto_hook *h = &a->reports[a->rep_head];

		/* Popped before it is written: unacknowledged, at most once. */
		a->rep_head = (a->rep_head + 1) % REPORTS_MAX;
		a->rep_n--;
		n = proto_encode_hook(hbuf, sizeof hbuf, h);
		if (n < 0)
			util_log("error", "a hook report did not fit in a message: dropped");
		else if (write_text(a, hbuf, (size_t)n))
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
		apply(a);
		if (n < 0 || write_text(a, buf, (size_t)n))
			return -1;
	}
	if (a->hello_pending || a->bye_pending || a->hb_pending || (a->welcomed && a->rep_n) ||
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
		a->conn_first_seq = a->hb_seq;
		a->attempts = 0;
		a->down_since_wall_ms = 0;
		a->last_error[0] = '\0';
		backoff_reset(&a->bo);
		events_acked(a, m.u.welcome.last_event_seq);
		a->event_sent = false;
		if (a->rep_n)
			lws_callback_on_writable(a->wsi);
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
	case CMSG_GRANT:
		on_grant(a, &m.u.grant);
		break;
	case CMSG_COMMAND:
		on_command(a, &m.u.command);
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
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* A hook finished (or a signal): user is NULL here. */
		if (g_agent && g_agent->lease)
			drain_hooks(g_agent);
		break;
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
	{ "agent", cb_agent, 0, MSG_MAX, 0, NULL, TX_MAX },
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

/* Stop: a leader demotes itself first (nothing would once its lease ran
 * out); let the hooks finish (bounded by their time limit) and report them;
 * say bye if connected, wait (bounded) for it to go out. */
static void say_goodbye(struct agent *a)
{
	int64_t deadline;

	a->stopping = true;
	lws_sul_cancel(&a->sul_connect);
	lws_sul_cancel(&a->sul_hb);
	lease_resign(a->lease, util_mono_ms(), "agent_stopping", &a->lout);
	apply(a);
	if (!hooks_is_idle(a->hooks)) {
		util_log("info", "waiting for the hooks to finish (at most %d ms)",
			 a->cfg->hook_timeout_ms + HOOK_TERM_GRACE_MS);
		deadline = util_mono_ms() + a->cfg->hook_timeout_ms + HOOK_TERM_GRACE_MS + 500;
		while (!hooks_is_idle(a->hooks) && util_mono_ms() < deadline)
			if (lws_service(a->ctx, 100) < 0)
				break;
	}
	drain_hooks(a);
	deadline = util_mono_ms() + 1500;
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
	struct hooks_config hc;
	struct sigaction sa;
	int64_t saved_epoch = 0, was_leader_epoch = 0;
	bool was_leader = false;
	char err[600];
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
	a->hello.no_failover = cfg->no_failover;
	lease_out_init(&a->lout);
	if (cfg->state_dir[0]) {
		int m;

		if (state_dir_prepare(cfg->state_dir, err, sizeof err) ||
		    state_epoch_load(cfg->state_dir, cfg->group, &saved_epoch, err, sizeof err) ||
		    (m = state_leader_load(cfg->state_dir, cfg->group, &was_leader_epoch, err,
					   sizeof err)) < 0) {
			util_log("error", "--state-dir: %s", err);
			rc = 2;
			goto out_ob;
		}
		was_leader = m == 1;
	} else if (cfg->hook_cmd[LEASE_HOOK_PROMOTE][0] || cfg->hook_cmd[LEASE_HOOK_DEMOTE][0] ||
		   cfg->hook_cmd[LEASE_HOOK_FENCE][0]) {
		util_log("warn", "hooks without --state-dir: the newest epoch seen is kept in memory "
			 "only, so after a restart this agent could accept a command it refused before");
	}
	a->lease = lease_new(cfg->node, cfg->initial_leader, saved_epoch);
	if (!a->lease) {
		util_log("error", "out of memory");
		goto out_ob;
	}
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
	/* One connection to a collector (two while a reconnect overlaps a
	 * close) and lws's own cancel pipe.  Without a limit lws sizes and
	 * zeroes its fd tables for the whole process ulimit: 300 KiB of the
	 * agent's memory at ulimit -n 20000, 16 MiB at 1048576. */
	info.fd_limit_per_thread = AGENT_LWS_FDS;
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
	memset(&hc, 0, sizeof hc);
	util_strlcpy(hc.node, cfg->node, sizeof hc.node);
	util_strlcpy(hc.group, cfg->group, sizeof hc.group);
	memcpy(hc.cmd, cfg->hook_cmd, sizeof hc.cmd);
	hc.timeout_ms = cfg->hook_timeout_ms;
	hc.term_grace_ms = HOOK_TERM_GRACE_MS;
	a->hooks = hooks_new(&hc, wake_loop, a);
	if (!a->hooks) {
		util_log("error", "cannot start the hook runner");
		lws_context_destroy(a->ctx);
		goto out_ob;
	}
	if (was_leader) {
		/* It died as leader (no demote ran): it holds no lease now, so
		 * it steps down before anything else. */
		struct lease_action act = { .kind = LA_HOOK, .hook = LEASE_HOOK_DEMOTE,
					    .epoch = was_leader_epoch };

		util_strlcpy(act.reason, "restarted", sizeof act.reason);
		util_log("warn", "this node was leader of group %s (epoch %" PRId64 ") when the agent "
			 "last stopped without demoting: running the demote hook first", cfg->group,
			 was_leader_epoch);
		start_hook(a, &act);
	}
	util_log("info", "vigil-agent %s: node %s, group %s, priority %d, heartbeat every %d ms, boot %s",
		 VIGIL_VERSION, cfg->node, cfg->group, cfg->priority, cfg->interval_ms,
		 a->hello.boot_id);
	add_event(a, "agent_started", "info", "vigil-agent %s started (pid %d)", VIGIL_VERSION,
		  (int)getpid());
	if (cfg->initial_leader || saved_epoch || cfg->no_failover)
		util_log("info", "leadership: %s, newest epoch seen %" PRId64 "%s",
			 cfg->initial_leader ? "claims it (--initial-role leader)" : "follower",
			 saved_epoch, cfg->no_failover ? ", never leader (--no-failover)" : "");
	lws_sul_schedule(a->ctx, 0, &a->sul_connect, connect_now, 1);
	lws_sul_schedule(a->ctx, 0, &a->sul_tick, on_tick, (lws_usec_t)TICK_MS * 1000);

	while (!g_stop)
		if (lws_service(a->ctx, 0) < 0)
			break;
	say_goodbye(a);
	lws_sul_cancel(&a->sul_tick);
	hooks_free(a->hooks);           /* kills a hook still running */
	a->hooks = NULL;
	lws_context_destroy(a->ctx);
	rc = 0;
out_ob:
	g_agent = NULL;
	lease_free(a->lease);
	lease_out_done(&a->lout);
	statsd_stop(a->statsd);
	checks_free(a->checks);
	outbox_free(a->ob);
	return rc;
}
