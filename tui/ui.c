/* ui — keys and messages in, state changes and requests out.
 *
 * Commands follow one path whatever started them (a key or the `:` line):
 * failover and switchover first ask the collector for a dry run and show the
 * pre-flight, then ask for a reason, then for the group's name typed back;
 * the other verbs ask for a reason only.  Each answer lands on the status
 * line.  A `forbidden` answer, or collector.you saying "viewer", greys the
 * commands out for the rest of the session. */
#include "tui/ui.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/util.h"
#include "tui/grid.h"

const char *const ui_ranges[UI_NRANGES] = { "1h", "6h", "24h", "7d" };
static const int64_t range_ms[UI_NRANGES] = { 3600000LL, 6 * 3600000LL, 24 * 3600000LL,
					      7 * 24 * 3600000LL };

#define ID_SUBSCRIBE 1
#define ID_SEED      2

void ui_init(struct ui *u, const char *host, int port)
{
	memset(u, 0, sizeof *u);
	util_strlcpy(u->host, host ? host : "", sizeof u->host);
	u->port = port;
	u->sel_idx = -1;
	u->next_id = 100;
	u->page = 10;
	u->hist.avail_pct = NAN;
	model_init(&u->tt);
}

void ui_done(struct ui *u)
{
	for (int i = 0; i < u->nout; i++)
		free(u->out[i]);
	free(u->vis);
	free(u->hist.ev);
	model_done(&u->tt);
	memset(u, 0, sizeof *u);
}

void ui_status(struct ui *u, int st, int64_t now_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->msg, sizeof u->msg, fmt, ap);
	va_end(ap);
	u->msg_st = st;
	u->msg_ms = now_ms;
}

static void queue(struct ui *u, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (!s)
		return;
	if (u->nout == UI_OUT_MAX) {          /* bounded: drop the oldest */
		free(u->out[0]);
		memmove(u->out, u->out + 1, sizeof u->out[0] * (UI_OUT_MAX - 1));
		u->nout--;
	}
	u->out[u->nout++] = s;
}

char *ui_out_pop(struct ui *u)
{
	char *s;

	if (!u->nout)
		return NULL;
	s = u->out[0];
	memmove(u->out, u->out + 1, sizeof u->out[0] * (size_t)(u->nout - 1));
	u->nout--;
	return s;
}

static cJSON *request(const char *type, int64_t id)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddNumberToObject(o, "id", (double)id);
	return o;
}

static int64_t new_id(struct ui *u)
{
	return u->next_id++;
}

void ui_on_connect(struct ui *u, int64_t now_ms)
{
	cJSON *q;

	(void)now_ms;
	queue(u, request("subscribe", ID_SUBSCRIBE));
	q = request("query", ID_SEED);
	cJSON_AddStringToObject(q, "what", "history");
	cJSON_AddStringToObject(q, "kind", "state");
	cJSON_AddNumberToObject(q, "limit", 50);
	queue(u, q);
	/* Answers to requests of the old connection will never come. */
	u->det_loading = u->hist.loading = u->tt_loading = false;
	if (u->cmd.stage == UCS_PREFLIGHT || u->cmd.stage == UCS_SENT)
		u->cmd.stage = UCS_NONE;
}

void ui_set_conn(struct ui *u, enum ui_conn c, int64_t retry_at_ms, const char *why)
{
	u->conn = c;
	u->retry_at_ms = retry_at_ms;
	util_strlcpy(u->conn_why, why ? why : "", sizeof u->conn_why);
}

/* ------------------------------------------------------------------------
 * the node list: filter, sort, selection
 * ---------------------------------------------------------------------- */

const char *ui_sort_name(enum ui_sort s)
{
	static const char *const names[US_N] = { "group", "state", "phi", "hb-age", "cpu", "mem",
						 "rtt" };

	return (unsigned)s < US_N ? names[s] : "?";
}

int ui_state_rank(const char *s)
{
	static const char *const order[] = { "failed", "suspect", "degraded", "maintenance",
					     "left", "alive" };

	for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++)
		if (strcmp(s, order[i]) == 0)
			return 10 - i;
	return 3;   /* unknown states sit between left and maintenance */
}

const struct model *ui_shown(const struct ui *u, const struct model *live)
{
	return u->tt_on ? &u->tt : live;
}

static bool node_matches(const struct mnode *n, const char *f)
{
	if (!*f)
		return true;
	return strcasestr(n->name, f) || strcasestr(n->group, f) || strcasestr(n->state, f) ||
	       strcasestr(n->role, f);
}

/* qsort has no context argument: the sort runs on one thread, so a file
 * static is enough. */
static const struct model *g_sm;
static enum ui_sort g_sk;
static int64_t g_now;

static double key_num(const struct mnode *n)
{
	double v;

	switch (g_sk) {
	case US_PHI: v = n->phi; break;
	case US_HB: v = (double)model_hb_age(n, g_now); break;
	case US_CPU: v = n->cpu; break;
	case US_MEM: v = n->mem; break;
	case US_RTT: v = (double)n->rtt_ms; break;
	default: v = 0; break;
	}
	return isfinite(v) ? v : -1;
}

static int cmp_vis(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct mnode *x = &g_sm->nodes[i], *y = &g_sm->nodes[j];

	if (g_sk == US_STATE) {
		int r = ui_state_rank(y->state) - ui_state_rank(x->state);

		if (r)
			return r;
	} else if (g_sk != US_GROUP) {
		double p = key_num(x), q = key_num(y);

		if (p != q)
			return p < q ? 1 : -1;   /* biggest first */
	}
	return i < j ? -1 : i > j;       /* the model's order: group, name */
}

void ui_visible(struct ui *u, const struct model *m, int64_t now_ms)
{
	size_t k = 0;

	if (m->n > u->vcap) {
		size_t *nv = realloc(u->vis, m->n * sizeof *nv);

		if (!nv)
			return;
		u->vis = nv;
		u->vcap = m->n;
	}
	for (size_t i = 0; i < m->n; i++)
		if (node_matches(&m->nodes[i], u->filter))
			u->vis[k++] = i;
	u->nvis = k;
	if (u->sort != US_GROUP && k > 1) {
		g_sm = m;
		g_sk = u->sort;
		g_now = now_ms;
		qsort(u->vis, k, sizeof *u->vis, cmp_vis);
	}
	u->sel_idx = -1;
	if (u->sel[0])
		for (size_t i = 0; i < k; i++)
			if (strcmp(m->nodes[u->vis[i]].name, u->sel) == 0) {
				u->sel_idx = (long)i;
				break;
			}
	if (u->sel_idx < 0 && k) {
		u->sel_idx = 0;
		util_strlcpy(u->sel, m->nodes[u->vis[0]].name, sizeof u->sel);
	}
	if (u->page < 1)
		u->page = 1;
	if (u->sel_idx >= 0) {
		if ((size_t)u->sel_idx < u->top)
			u->top = (size_t)u->sel_idx;
		if ((size_t)u->sel_idx >= u->top + (size_t)u->page)
			u->top = (size_t)u->sel_idx - (size_t)u->page + 1;
	}
	if (u->top + (size_t)u->page > k)
		u->top = k > (size_t)u->page ? k - (size_t)u->page : 0;
}

const struct mnode *ui_selected(const struct ui *u, const struct model *m)
{
	if (u->sel_idx < 0 || (size_t)u->sel_idx >= u->nvis || u->vis[u->sel_idx] >= m->n)
		return NULL;
	return &m->nodes[u->vis[u->sel_idx]];
}

static void move_sel(struct ui *u, const struct model *m, long delta, int64_t now_ms)
{
	long i;

	ui_visible(u, m, now_ms);
	if (!u->nvis)
		return;
	i = u->sel_idx + delta;
	if (i < 0)
		i = 0;
	if (i >= (long)u->nvis)
		i = (long)u->nvis - 1;
	util_strlcpy(u->sel, m->nodes[u->vis[i]].name, sizeof u->sel);
	ui_visible(u, m, now_ms);
}

/* ------------------------------------------------------------------------
 * permissions and commands
 * ---------------------------------------------------------------------- */

bool ui_can_act(const struct ui *u, const struct model *m, char *why, size_t len)
{
	if (u->forbidden) {
		util_strlcpy(why, u->forbid_why, len);
		return false;
	}
	if (strcmp(m->you_role, "viewer") == 0) {
		snprintf(why, len, "read-only: %s%shas the viewer role", m->you_name,
			 m->you_name[0] ? " " : "your token ");
		return false;
	}
	if (u->tt_on) {
		snprintf(why, len, "time travel shows the past: press Esc to act on the present");
		return false;
	}
	return true;
}

static bool verb_needs_preflight(const char *verb)
{
	return strcmp(verb, "failover") == 0 || strcmp(verb, "switchover") == 0;
}

static const char *cmd_target(const struct ui_cmd *c)
{
	return c->label[0] ? c->label : c->group[0] ? c->group : c->node;
}

static cJSON *command_json(const struct ui_cmd *c, int64_t id, bool dry_run)
{
	cJSON *o = request("command", id);

	cJSON_AddStringToObject(o, "verb", c->verb);
	if (strcmp(c->verb, "ack") == 0) {
		char aid[24];

		snprintf(aid, sizeof aid, "%lld", (long long)c->alert_id);
		cJSON_AddStringToObject(o, "alert", aid);
	}
	if (c->rule[0])
		cJSON_AddStringToObject(o, "rule", c->rule);
	if (c->group[0])
		cJSON_AddStringToObject(o, "group", c->group);
	if (c->node[0])
		cJSON_AddStringToObject(o, "node", c->node);
	if (c->to[0])
		cJSON_AddStringToObject(o, "to", c->to);
	if (strcmp(c->verb, "maintenance") == 0)
		cJSON_AddBoolToObject(o, "on", c->on);
	if (c->for_ms > 0)
		cJSON_AddNumberToObject(o, "for_ms", (double)c->for_ms);
	cJSON_AddStringToObject(o, "reason", c->reason[0] ? c->reason : "(dry run)");
	if (dry_run)
		cJSON_AddBoolToObject(o, "dry_run", true);
	if (c->force)
		cJSON_AddBoolToObject(o, "force", true);
	return o;
}

static void input_start(struct ui *u, enum ui_input in, const char *init)
{
	u->input = in;
	util_strlcpy(u->in_buf, init ? init : "", sizeof u->in_buf);
	u->in_len = (int)strlen(u->in_buf);
}

static void cmd_send(struct ui *u, int64_t now_ms)
{
	struct ui_cmd *c = &u->cmd;

	c->id = new_id(u);
	queue(u, command_json(c, c->id, c->dry_run));
	c->stage = UCS_SENT;
	u->input = UI_IN_NONE;
	ui_status(u, GS_INFO, now_ms, "%s%s %s: sent, waiting for the collector...",
		  c->dry_run ? "dry run: " : "", c->verb, cmd_target(c));
}

/* Move a filled-in command to its next stage. */
static void cmd_advance(struct ui *u, int64_t now_ms)
{
	struct ui_cmd *c = &u->cmd;

	if (verb_needs_preflight(c->verb) && !c->pf_have && !c->dry_run) {
		c->pf_id = new_id(u);
		queue(u, command_json(c, c->pf_id, true));
		c->stage = UCS_PREFLIGHT;
		u->input = UI_IN_NONE;
		ui_status(u, GS_INFO, now_ms, "%s %s: asking the collector for the pre-flight...",
			  c->verb, cmd_target(c));
		return;
	}
	if (strcmp(c->verb, "silence_add") == 0 && !c->form_done) {
		c->stage = UCS_FORM;        /* matchers and duration first */
		input_start(u, UI_IN_SILENCE, "1h");
		return;
	}
	if (!c->reason[0] && !c->dry_run) {
		c->stage = UCS_REASON;
		input_start(u, UI_IN_REASON, "");
		return;
	}
	if (verb_needs_preflight(c->verb) && !c->dry_run && c->stage != UCS_CONFIRM) {
		c->stage = UCS_CONFIRM;
		input_start(u, UI_IN_CONFIRM, "");
		return;
	}
	cmd_send(u, now_ms);
}

static void cmd_cancel(struct ui *u, int64_t now_ms, const char *why)
{
	if (u->cmd.stage != UCS_NONE && u->cmd.stage != UCS_SENT)
		ui_status(u, GS_DIM, now_ms, "%s %s: cancelled%s%s", u->cmd.verb,
			  cmd_target(&u->cmd), why ? ": " : "", why ? why : "");
	memset(&u->cmd, 0, sizeof u->cmd);
	u->input = UI_IN_NONE;
}

/* Start a command (from a key or the command line); c is filled in. */
static void cmd_start(struct ui *u, const struct model *m, const struct ui_cmd *c, int64_t now_ms)
{
	char why[160];

	if (!ui_can_act(u, m, why, sizeof why)) {
		ui_status(u, GS_GREY, now_ms, "%s: not allowed: %s", c->verb, why);
		return;
	}
	if (u->cmd.stage == UCS_PREFLIGHT || u->cmd.stage == UCS_SENT) {
		ui_status(u, GS_WARN, now_ms, "%s: wait, %s %s is still waiting for its answer", c->verb,
			  u->cmd.verb, cmd_target(&u->cmd));
		return;
	}
	u->cmd = *c;
	u->cmd.pf_have = false;
	u->cmd.stage = UCS_NONE;
	cmd_advance(u, now_ms);
}

/* ---- alerts: which one, and what a silence would match ---------------- */

/* The alert to propose: the selected node's (not yet acknowledged first),
 * else the newest not acknowledged, else the newest.  -1: none firing. */
static int alert_default(const struct model *m, const struct mnode *sel)
{
	int acked = -1;

	for (int i = 0; sel && i < m->nalerts; i++) {
		if (strcmp(m->alerts[i].node, sel->name) != 0)
			continue;
		if (!m->alerts[i].ack_who[0])
			return i;
		if (acked < 0)
			acked = i;
	}
	if (acked >= 0)
		return acked;
	for (int i = 0; i < m->nalerts; i++)
		if (!m->alerts[i].ack_who[0])
			return i;
	return m->nalerts ? 0 : -1;
}

static void ack_label(struct ui_cmd *c, const struct malert *a)
{
	if (a)
		snprintf(c->label, sizeof c->label, "alert %lld (%s %s%s%s)", (long long)a->id,
			 a->rule, a->node[0] ? a->node : a->group, a->ack_who[0] ? ", acked by " : "",
			 a->ack_who);
	else
		snprintf(c->label, sizeof c->label, "alert %lld", (long long)c->alert_id);
}

/* Propose a silence's matchers from an alert (its rule, its node or, for a
 * group's alert, its group) or, with none, from the selected node. */
static void silence_propose(struct ui_cmd *c, const struct malert *a, const struct mnode *sel)
{
	util_strlcpy(c->p_rule, a ? a->rule : "", sizeof c->p_rule);
	util_strlcpy(c->p_node, a && a->node[0] ? a->node : a && a->group[0] ? "" :
		     sel ? sel->name : "", sizeof c->p_node);
	util_strlcpy(c->p_group, a && a->group[0] ? a->group : sel ? sel->group : "",
		     sizeof c->p_group);
	c->m_rule = c->p_rule[0] != '\0';
	c->m_node = c->p_node[0] != '\0';
	c->m_group = !c->m_node && c->p_group[0];
}

/* Up/Down in the alert list of an ack or a silence being prepared. */
static void alert_pick_move(struct ui *u, const struct model *m, int d)
{
	struct ui_cmd *c = &u->cmd;
	int i = model_alert_index(m, c->alert_id);

	if (!m->nalerts)
		return;
	i = i < 0 ? 0 : i + d;
	if (i < 0)
		i = 0;
	if (i >= m->nalerts)
		i = m->nalerts - 1;
	c->alert_id = m->alerts[i].id;
	if (strcmp(c->verb, "ack") == 0)
		ack_label(c, &m->alerts[i]);
	else
		silence_propose(c, &m->alerts[i], ui_selected(u, m));
}

static void silence_label(struct ui_cmd *c, const char *dur)
{
	snprintf(c->label, sizeof c->label, "%s%s%s%s%s%s%s%s%s for %.20s", c->rule[0] ? "rule=" : "",
		 c->rule, c->rule[0] && (c->node[0] || c->group[0]) ? " " : "",
		 c->node[0] ? "node=" : "", c->node, c->node[0] && c->group[0] ? " " : "",
		 c->group[0] ? "group=" : "", c->group, "", dur);
}

/* Enter in the silence form: the duration must parse, a matcher be on. */
static void silence_form_done(struct ui *u, int64_t now_ms)
{
	struct ui_cmd *c = &u->cmd;
	int64_t ms;

	if (util_parse_duration_ms(u->in_buf, &ms) || ms < 1000 || ms > 366LL * 86400000) {
		ui_status(u, GS_WARN, now_ms, "silence: '%s' is not a duration from 1s to 366d (30m, 2h, 1d)",
			  u->in_buf);
		u->input = UI_IN_SILENCE;
		return;
	}
	if (!(c->m_rule && c->p_rule[0]) && !(c->m_node && c->p_node[0]) &&
	    !(c->m_group && c->p_group[0])) {
		ui_status(u, GS_WARN, now_ms, "silence: turn at least one matcher on (r rule, n node, g group)");
		u->input = UI_IN_SILENCE;
		return;
	}
	c->for_ms = ms;
	util_strlcpy(c->rule, c->m_rule ? c->p_rule : "", sizeof c->rule);
	util_strlcpy(c->node, c->m_node ? c->p_node : "", sizeof c->node);
	util_strlcpy(c->group, c->m_group ? c->p_group : "", sizeof c->group);
	silence_label(c, u->in_buf);
	c->form_done = true;
	u->input = UI_IN_NONE;
	cmd_advance(u, now_ms);
}

/* a and x: an ack of the proposed alert, or a silence proposed from it. */
static void alert_command(struct ui *u, const struct model *m, bool ack, int64_t now_ms)
{
	const char *what = ack ? "acknowledge" : "silence";
	const struct mnode *sel = ui_selected(u, m);
	struct ui_cmd c;
	int i;

	if (m->alerts_firing < 0) {
		ui_status(u, GS_DIM, now_ms, "%s: this collector has no alerts (n/a)", what);
		return;
	}
	i = alert_default(m, sel);
	if (ack && i < 0) {
		ui_status(u, GS_DIM, now_ms, "acknowledge: no alert is firing%s",
			  m->alerts_firing > 0 ? " that this dashboard has received" : "");
		return;
	}
	if (!ack && i < 0 && !sel) {
		ui_status(u, GS_WARN, now_ms, "silence: no alert is firing: select a node to silence");
		return;
	}
	memset(&c, 0, sizeof c);
	util_strlcpy(c.verb, ack ? "ack" : "silence_add", sizeof c.verb);
	if (i >= 0)
		c.alert_id = m->alerts[i].id;
	if (ack)
		ack_label(&c, &m->alerts[i]);
	else
		silence_propose(&c, i >= 0 ? &m->alerts[i] : NULL, sel);
	cmd_start(u, m, &c, now_ms);
}

static void list_join(const cJSON *arr, char *buf, size_t len)
{
	const cJSON *x;
	size_t n = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(x, arr) {
		if (!cJSON_IsString(x))
			continue;
		n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "%s%s",
				      n ? "," : "", x->valuestring);
	}
	if (n >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

static void str_of(const cJSON *o, const char *k, char *dst, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	util_strlcpy(dst, cJSON_IsString(v) ? v->valuestring : "", len);
}

static double num_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int64_t inum_of(const cJSON *o, const char *k, int64_t dflt)
{
	double d = num_of(o, k);

	return isfinite(d) ? (int64_t)d : dflt;
}

static void preflight_from(struct ui_cmd *c, const cJSON *data)
{
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(data, "candidates"), *x;

	c->pf_have = true;
	str_of(data, "text", c->pf_text, sizeof c->pf_text);
	str_of(data, "target", c->pf_target, sizeof c->pf_target);
	list_join(cJSON_GetObjectItemCaseSensitive(data, "blocked"), c->pf_blocked,
		  sizeof c->pf_blocked);
	c->ncand = 0;
	cJSON_ArrayForEach(x, cands) {
		struct ui_cand *k;

		if (c->ncand == UI_CANDS || !cJSON_IsObject(x))
			break;
		k = &c->cand[c->ncand++];
		str_of(x, "node", k->node, sizeof k->node);
		str_of(x, "state", k->state, sizeof k->state);
		k->priority = (int)inum_of(x, "priority", 0);
		k->eligible = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "eligible"));
		list_join(cJSON_GetObjectItemCaseSensitive(x, "why_not"), k->why_not,
			  sizeof k->why_not);
	}
}

static void error_of(const cJSON *r, char *code, size_t clen, char *msg, size_t mlen)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");

	str_of(e, "code", code, clen);
	str_of(e, "message", msg, mlen);
	if (!msg[0])
		util_strlcpy(msg, code[0] ? code : "refused", mlen);
}

static void note_forbidden(struct ui *u, const struct model *m, const char *msg)
{
	u->forbidden = true;
	snprintf(u->forbid_why, sizeof u->forbid_why, "forbidden: %.100s%s%.40s", msg,
		 m->you_name[0] ? " for " : "", m->you_name);
}

static void on_command_result(struct ui *u, const struct model *m, const cJSON *r, bool preflight,
			      int64_t now_ms)
{
	struct ui_cmd *c = &u->cmd;
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
	char code[32] = "", msg[256] = "";

	if (!ok)
		error_of(r, code, sizeof code, msg, sizeof msg);
	if (strcmp(code, "forbidden") == 0) {
		note_forbidden(u, m, msg);
		ui_status(u, GS_BAD, now_ms, "%s %s: forbidden: %s", c->verb, cmd_target(c), msg);
		memset(c, 0, sizeof *c);
		u->input = UI_IN_NONE;
		return;
	}
	if (cJSON_IsObject(data))
		preflight_from(c, data);
	if (preflight) {
		c->pf_ok = ok;
		util_strlcpy(c->pf_error, ok ? "" : msg, sizeof c->pf_error);
		if (!ok && !cJSON_IsObject(data)) {   /* no pre-flight to show: bad field, unknown group */
			ui_status(u, GS_BAD, now_ms, "%s %s refused: %s", c->verb, cmd_target(c), msg);
			memset(c, 0, sizeof *c);
			return;
		}
		ui_status(u, ok ? GS_OK : GS_WARN, now_ms, "%s %s pre-flight: %s", c->verb,
			  cmd_target(c), ok ? (c->pf_text[0] ? c->pf_text : "would be accepted") : msg);
		cmd_advance(u, now_ms);
		return;
	}
	if (ok)
		ui_status(u, GS_OK, now_ms, "%s%s %s: %s%s", c->dry_run ? "dry run: " : "", c->verb,
			  cmd_target(c), c->dry_run ? "" : "accepted: ", c->pf_text[0] ? c->pf_text : "ok");
	else
		ui_status(u, GS_BAD, now_ms, "%s%s %s refused: %s%s%s%s", c->dry_run ? "dry run: " : "",
			  c->verb, cmd_target(c), msg, c->pf_blocked[0] ? " (blocked: " : "",
			  c->pf_blocked, c->pf_blocked[0] ? ")" : "");
	memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------------
 * queries: node detail, history + report, time travel
 * ---------------------------------------------------------------------- */

static void event_from(struct ui_event *e, const cJSON *o)
{
	memset(e, 0, sizeof *e);
	e->id = inum_of(o, "id", 0);
	e->ts_ms = inum_of(o, "ts_ms", 0);
	str_of(o, "node", e->node, sizeof e->node);
	str_of(o, "group", e->group, sizeof e->group);
	str_of(o, "kind", e->kind, sizeof e->kind);
	if (!e->kind[0])
		util_strlcpy(e->kind, "state", sizeof e->kind);
	str_of(o, "from", e->from, sizeof e->from);
	str_of(o, "to", e->to, sizeof e->to);
	str_of(o, "rule", e->rule, sizeof e->rule);
	str_of(o, "detail", e->detail, sizeof e->detail);
	e->phi = num_of(o, "phi");
	e->mean_ms = num_of(o, "interval_mean_ms");
	e->sd_ms = num_of(o, "interval_sd_ms");
	e->hb_age_ms = num_of(o, "hb_age_ms");
	e->samples = inum_of(o, "samples", -1);
}

static void add_event(struct ui *u, const cJSON *o)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to");

	if (!cJSON_IsObject(o) || !cJSON_IsString(to) || !to->valuestring[0])
		return;
	event_from(&u->events[u->ev_head], o);
	u->ev_head = (u->ev_head + 1) % UI_EVENTS;
	if (u->nev < UI_EVENTS)
		u->nev++;
}

static void seed_events(struct ui *u, const cJSON *data)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(data, "events");

	u->nev = u->ev_head = 0;
	for (int i = cJSON_GetArraySize(arr) - 1; i >= 0; i--)   /* newest first on the wire */
		add_event(u, cJSON_GetArrayItem(arr, i));
}

static void detail_open(struct ui *u, const struct mnode *n)
{
	cJSON *q;

	u->view = UV_DETAIL;
	util_strlcpy(u->det_node, n->name, sizeof u->det_node);
	u->det_nev = 0;
	u->det_id = new_id(u);
	u->det_loading = true;
	q = request("query", u->det_id);
	cJSON_AddStringToObject(q, "what", "history");
	cJSON_AddStringToObject(q, "node", n->name);
	cJSON_AddStringToObject(q, "kind", "state,flap");
	cJSON_AddNumberToObject(q, "limit", UI_DET_EV);
	queue(u, q);
}

static void hist_query(struct ui *u, int64_t wall_ms)
{
	struct ui_hist *h = &u->hist;
	cJSON *q;

	h->until_ms = wall_ms;
	h->since_ms = wall_ms - range_ms[h->range];
	h->id = new_id(u);
	h->loading = true;
	h->error[0] = '\0';
	h->scroll = 0;
	q = request("query", h->id);
	cJSON_AddStringToObject(q, "what", "history");
	if (h->by_group)
		cJSON_AddStringToObject(q, "group", h->group);
	else
		cJSON_AddStringToObject(q, "node", h->node);
	cJSON_AddStringToObject(q, "kind", "state,flap,failover,hook,audit");
	cJSON_AddNumberToObject(q, "since_ms", (double)h->since_ms);
	cJSON_AddNumberToObject(q, "limit", 500);
	queue(u, q);
	h->rep_id = new_id(u);
	h->rep_have = false;
	q = request("query", h->rep_id);
	cJSON_AddStringToObject(q, "what", "report");
	cJSON_AddNumberToObject(q, "since_ms", (double)h->since_ms);
	if (h->group[0])
		cJSON_AddStringToObject(q, "group", h->group);
	queue(u, q);
}

static void hist_open(struct ui *u, const struct mnode *n, int64_t wall_ms)
{
	u->view = UV_HISTORY;
	util_strlcpy(u->hist.node, n->name, sizeof u->hist.node);
	util_strlcpy(u->hist.group, n->group, sizeof u->hist.group);
	hist_query(u, wall_ms);
}

static void hist_result(struct ui *u, const cJSON *data)
{
	struct ui_hist *h = &u->hist;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(data, "events"), *x;
	int n = cJSON_GetArraySize(arr);

	h->loading = false;
	if (n > h->cap) {
		struct ui_event *nv = realloc(h->ev, (size_t)n * sizeof *nv);

		if (!nv) {
			util_strlcpy(h->error, "out of memory", sizeof h->error);
			return;
		}
		h->ev = nv;
		h->cap = n;
	}
	h->nev = 0;
	cJSON_ArrayForEach(x, arr)
		if (cJSON_IsObject(x))
			event_from(&h->ev[h->nev++], x);
}

static void report_result(struct ui *u, const cJSON *data)
{
	struct ui_hist *h = &u->hist;
	const cJSON *x;

	h->rep_have = true;
	h->avail_pct = NAN;
	h->failures = h->mttr_ms = h->mtbf_ms = h->ttd_ms = h->up_ms = h->down_ms = -1;
	h->failovers = -1;
	h->fo_p50_ms = h->fo_p99_ms = NAN;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(data, "nodes")) {
		char name[PROTO_NAME_MAX + 1];

		str_of(x, "node", name, sizeof name);
		if (!name[0])
			str_of(x, "name", name, sizeof name);
		if (h->by_group || strcmp(name, h->node) != 0)
			continue;
		h->avail_pct = num_of(x, "availability_pct");
		h->failures = inum_of(x, "failures", -1);
		h->mttr_ms = inum_of(x, "mttr_ms", -1);
		h->mtbf_ms = inum_of(x, "mtbf_ms", -1);
		h->ttd_ms = inum_of(x, "ttd_ms", -1);
		h->up_ms = inum_of(x, "up_ms", -1);
		h->down_ms = inum_of(x, "down_ms", -1);
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(data, "groups")) {
		char name[PROTO_NAME_MAX + 1];
		const cJSON *p;

		str_of(x, "group", name, sizeof name);
		if (!name[0])
			str_of(x, "name", name, sizeof name);
		if (strcmp(name, h->group) != 0)
			continue;
		h->failovers = inum_of(x, "failovers", -1);
		/* the p50/p99 of start -> finish, wherever the collector nests them */
		p = cJSON_GetObjectItemCaseSensitive(x, "total_ms");
		if (!cJSON_IsObject(p))
			p = cJSON_GetObjectItemCaseSensitive(x, "start_to_finish_ms");
		if (cJSON_IsObject(p)) {
			h->fo_p50_ms = num_of(p, "p50");
			h->fo_p99_ms = num_of(p, "p99");
		}
	}
}

static void tt_result(struct ui *u, const cJSON *data)
{
	const cJSON *x;

	model_done(&u->tt);
	model_init(&u->tt);
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(data, "nodes")) {
		char name[PROTO_NAME_MAX + 1], group[PROTO_NAME_MAX + 1];
		struct mnode *n;

		str_of(x, "node", name, sizeof name);
		str_of(x, "group", group, sizeof group);
		if (!name[0] || !(n = model_add(&u->tt, name, group)))
			continue;
		str_of(x, "state", n->state, sizeof n->state);
		str_of(x, "rule", n->rule, sizeof n->rule);
		n->state_since_ms = inum_of(x, "since_ms", 0);
	}
	model_sort(&u->tt);
	/* groups, counted from the nodes */
	for (size_t i = 0; i < u->tt.n; i++) {
		const struct mnode *n = &u->tt.nodes[i];
		struct mgroup *g = u->tt.ng ? &u->tt.groups[u->tt.ng - 1] : NULL;

		if (!g || strcmp(g->name, n->group) != 0) {
			struct mgroup *ng = util_grow(u->tt.groups, &u->tt.gcap, u->tt.ng, sizeof *ng, 8);

			if (!ng)
				break;
			u->tt.groups = ng;
			g = &ng[u->tt.ng++];
			memset(g, 0, sizeof *g);
			util_strlcpy(g->name, n->group, sizeof g->name);
			g->expected = -1;
			g->quorum = -1;
			g->epoch = -1;
		}
		g->members++;
		g->alive += strcmp(n->state, "alive") == 0 || strcmp(n->state, "degraded") == 0;
	}
	u->tt.have_data = true;
	u->tt_loading = false;
	u->tt_on = true;
	u->view = UV_MAIN;
}

int ui_on_message(struct ui *u, struct model *m, const char *text, size_t len, int64_t now_ms,
		  int64_t wall_ms)
{
	cJSON *r = cJSON_ParseWithLength(text, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "type");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
	int64_t id = inum_of(r, "id", -1);
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
	char err[256], code[32], msg[256];
	const char *type;

	(void)wall_ms;
	if (!cJSON_IsString(t))
		goto out;
	type = t->valuestring;
	if (strcmp(type, "alert") == 0) {
		if (!model_alert_frame(m, r))
			goto out_quiet;
	} else if (strcmp(type, "snapshot") == 0 || strcmp(type, "delta") == 0) {
		if (model_apply_obj(m, data, strcmp(type, "snapshot") == 0, now_ms, err, sizeof err))
			ui_status(u, GS_BAD, now_ms, "%s", err);
		u->last_data_ms = now_ms;
	} else if (strcmp(type, "event") == 0) {
		add_event(u, cJSON_GetObjectItemCaseSensitive(r, "event"));
	} else if (strcmp(type, "result") == 0) {
		if (!ok && id != u->cmd.pf_id && id != u->cmd.id) {
			error_of(r, code, sizeof code, msg, sizeof msg);
			if (id == u->hist.id || id == u->hist.rep_id) {
				u->hist.loading = false;
				util_strlcpy(u->hist.error, msg, sizeof u->hist.error);
			} else if (id == u->tt_id) {
				u->tt_loading = false;
			} else if (id == u->det_id) {
				u->det_loading = false;
			}
			if (id != ID_SEED)
				ui_status(u, GS_BAD, now_ms, "query refused: %s", msg);
		} else if (id == ID_SEED) {
			seed_events(u, data);
		} else if (u->cmd.stage == UCS_PREFLIGHT && id == u->cmd.pf_id) {
			on_command_result(u, m, r, true, now_ms);
		} else if (u->cmd.stage == UCS_SENT && id == u->cmd.id) {
			on_command_result(u, m, r, false, now_ms);
		} else if (id == u->det_id && u->det_loading) {
			const cJSON *x;

			u->det_loading = false;
			u->det_nev = 0;
			cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(data, "events"))
				if (u->det_nev < UI_DET_EV && cJSON_IsObject(x))
					event_from(&u->det_ev[u->det_nev++], x);
		} else if (id == u->hist.id && u->hist.loading) {
			hist_result(u, data);
		} else if (id == u->hist.rep_id) {
			report_result(u, data);
		} else if (id == u->tt_id && u->tt_loading) {
			tt_result(u, data);
			ui_status(u, GS_INFO, now_ms, "time travel: %zu nodes known then; Esc returns to live",
				  u->tt.n);
		}
	} else if (strcmp(type, "error") == 0) {
		str_of(r, "message", msg, sizeof msg);
		ui_status(u, GS_BAD, now_ms, "collector: %s", msg[0] ? msg : "error");
	}
out:
	cJSON_Delete(r);
	return UI_REDRAW;
out_quiet:
	cJSON_Delete(r);
	return 0;
}

/* ------------------------------------------------------------------------
 * the command line (`:`), the same verbs as the CLI
 * ---------------------------------------------------------------------- */

static int split(char *s, char **argv, int max)
{
	int n = 0;

	while (*s && n < max) {
		while (*s == ' ')
			*s++ = '\0';
		if (!*s)
			break;
		argv[n++] = s;
		while (*s && *s != ' ')
			s++;
	}
	return n;
}

/* The rest of the line from argv[i] on, spaces kept (split wrote NULs). */
static void rest_of(char **argv, int argc, int i, char *dst, size_t len)
{
	size_t n = 0;

	dst[0] = '\0';
	for (; i < argc; i++)
		n += (size_t)snprintf(dst + (n < len ? n : len), n < len ? len - n : 0, "%s%s",
				      n ? " " : "", argv[i]);
}

static bool is_group(const struct model *m, const char *s)
{
	return model_group(m, s) != NULL;
}

/* HH:MM or HH:MM:SS today, local time. */
static int local_clock_time(const char *s, int64_t wall_ms, int64_t *out)
{
	int hh, mm, ss = 0, used = 0;
	time_t now = (time_t)(wall_ms / 1000), t;
	struct tm tm;

	if ((sscanf(s, "%d:%d:%d%n", &hh, &mm, &ss, &used) != 3 || s[used]) &&
	    (ss = 0, used = 0, sscanf(s, "%d:%d%n", &hh, &mm, &used) != 2 || s[used]))
		return -1;
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
		return -1;
	localtime_r(&now, &tm);
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t > now)
		t -= 86400;   /* a clock time later than now means yesterday */
	*out = (int64_t)t * 1000;
	return 0;
}

static void tt_go(struct ui *u, const char *when, int64_t now_ms, int64_t wall_ms)
{
	char err[200];
	int64_t at;
	cJSON *q;

	if (*when == '-')
		when++;
	if (local_clock_time(when, wall_ms, &at) && util_parse_time(when, wall_ms, &at, err, sizeof err)) {
		ui_status(u, GS_BAD, now_ms, "time travel: %s (or HH:MM today)", err);
		return;
	}
	u->tt_at_ms = at;
	u->tt_id = new_id(u);
	u->tt_loading = true;
	q = request("query", u->tt_id);
	cJSON_AddStringToObject(q, "what", "at");
	cJSON_AddNumberToObject(q, "at_ms", (double)at);
	queue(u, q);
	ui_status(u, GS_INFO, now_ms, "time travel: asking for the cluster as it was...");
}

static int run_cmdline(struct ui *u, struct model *m, char *line, int64_t now_ms, int64_t wall_ms)
{
	char *argv[32], *pos[8];
	const char *o_rule = "", *o_node = "", *o_group = "";
	int argc = split(line, argv, 32), npos = 0;
	struct ui_cmd c;
	const struct mnode *sel = ui_selected(u, ui_shown(u, m));
	const char *verb;

	if (!argc)
		return UI_REDRAW;
	verb = argv[0];
	memset(&c, 0, sizeof c);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 || strcmp(argv[i], "-r") == 0) {
			rest_of(argv, argc, i + 1, c.reason, sizeof c.reason);
			break;
		} else if (strncmp(argv[i], "--reason=", 9) == 0) {
			argv[i] += 9;
			rest_of(argv, argc, i, c.reason, sizeof c.reason);
			break;
		} else if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0) {
			c.dry_run = true;
		} else if (strcmp(argv[i], "--force") == 0) {
			c.force = true;
		} else if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
			;   /* the confirmation is typed here */
		} else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
			util_strlcpy(c.to, argv[++i], sizeof c.to);
		} else if (strcmp(argv[i], "--rule") == 0 && i + 1 < argc) {
			o_rule = argv[++i];
		} else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc) {
			o_node = argv[++i];
		} else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc) {
			o_group = argv[++i];
		} else if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) {
			if (util_parse_duration_ms(argv[++i], &c.for_ms)) {
				ui_status(u, GS_BAD, now_ms, "--for '%s': not a duration (90s, 10m, 1h)", argv[i]);
				return UI_REDRAW;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			ui_status(u, GS_BAD, now_ms, "%s: unknown option '%s'", verb, argv[i]);
			return UI_REDRAW;
		} else if (npos < 8) {
			pos[npos++] = argv[i];
		}
	}
	util_strlcpy(c.verb, verb, sizeof c.verb);
	if (strcmp(verb, "q") == 0 || strcmp(verb, "quit") == 0)
		return UI_QUIT;
	if (strcmp(verb, "help") == 0) {
		u->view = UV_HELP;
	} else if (strcmp(verb, "failover") == 0 || strcmp(verb, "switchover") == 0) {
		if (npos < 1 || !is_group(m, pos[0]) ||
		    (strcmp(verb, "switchover") == 0 && npos < 2 && !c.to[0])) {
			ui_status(u, GS_BAD, now_ms, "usage: %s GROUP %s [--dry-run] [--force] [--reason TEXT]",
				  verb, strcmp(verb, "switchover") == 0 ? "--to NODE" : "[--to NODE]");
			return UI_REDRAW;
		}
		util_strlcpy(c.group, pos[0], sizeof c.group);
		if (npos > 1)
			util_strlcpy(c.to, pos[1], sizeof c.to);   /* "--to NODE" or just NODE */
		cmd_start(u, m, &c, now_ms);
	} else if (strcmp(verb, "pause") == 0 || strcmp(verb, "resume") == 0) {
		if (npos < 1 || !is_group(m, pos[0])) {
			ui_status(u, GS_BAD, now_ms, "usage: %s GROUP%s [--reason TEXT]", verb,
				  verb[0] == 'p' ? " [--for 10m]" : "");
			return UI_REDRAW;
		}
		util_strlcpy(c.group, pos[0], sizeof c.group);
		cmd_start(u, m, &c, now_ms);
	} else if (strcmp(verb, "maintenance") == 0 || strcmp(verb, "forget") == 0) {
		bool maint = verb[0] == 'm';

		if (npos < (maint ? 2 : 1) || !model_find(m, pos[0]) ||
		    (maint && strcmp(pos[1], "on") && strcmp(pos[1], "off"))) {
			ui_status(u, GS_BAD, now_ms, "usage: %s", maint ?
				  "maintenance NODE on|off [--for 1h] [--reason TEXT]" :
				  "forget NODE [--reason TEXT]");
			return UI_REDRAW;
		}
		util_strlcpy(c.node, pos[0], sizeof c.node);
		c.on = maint && strcmp(pos[1], "on") == 0;
		cmd_start(u, m, &c, now_ms);
	} else if (strcmp(verb, "ack") == 0) {
		char *end = NULL;
		long long aid = npos == 1 ? strtoll(pos[0], &end, 10) : 0;
		int i;

		if (aid <= 0 || !end || *end) {
			ui_status(u, GS_BAD, now_ms, "usage: ack ALERT_ID [--reason TEXT]");
			return UI_REDRAW;
		}
		c.alert_id = aid;
		i = model_alert_index(m, aid);
		ack_label(&c, i >= 0 ? &m->alerts[i] : NULL);
		cmd_start(u, m, &c, now_ms);
	} else if (strcmp(verb, "silence") == 0) {
		/* silence [NODE] [--node N] [--group G] [--rule R] [--for D]: at least one matcher */
		char dur[32];

		if (npos == 1 && !o_node[0])
			o_node = pos[0];
		if (npos > 1 || (!o_rule[0] && !o_node[0] && !o_group[0])) {
			ui_status(u, GS_BAD, now_ms, "usage: silence NODE|--group G|--rule R [--for 1h] [--reason TEXT]");
			return UI_REDRAW;
		}
		util_strlcpy(c.verb, "silence_add", sizeof c.verb);
		util_strlcpy(c.rule, o_rule, sizeof c.rule);
		util_strlcpy(c.node, o_node, sizeof c.node);
		util_strlcpy(c.group, o_group, sizeof c.group);
		if (c.for_ms <= 0)
			c.for_ms = 3600000;
		util_fmt_age(c.for_ms, dur, sizeof dur);
		silence_label(&c, dur);
		c.form_done = true;
		cmd_start(u, m, &c, now_ms);
	} else if (strcmp(verb, "history") == 0 || strcmp(verb, "report") == 0) {
		const struct mnode *n = npos ? model_find(m, pos[0]) : sel;

		if (npos && !n && is_group(m, pos[0])) {
			u->view = UV_HISTORY;
			u->hist.by_group = true;
			util_strlcpy(u->hist.group, pos[0], sizeof u->hist.group);
			u->hist.node[0] = '\0';
			hist_query(u, wall_ms);
		} else if (n) {
			u->hist.by_group = false;
			hist_open(u, n, wall_ms);
		} else {
			ui_status(u, GS_BAD, now_ms, "usage: %s [NODE|GROUP]", verb);
		}
	} else if (strcmp(verb, "at") == 0 || strcmp(verb, "travel") == 0) {
		if (npos < 1)
			ui_status(u, GS_BAD, now_ms, "usage: at TIME (10m, 14:05, 2026-11-20T10:00Z)");
		else
			tt_go(u, pos[0], now_ms, wall_ms);
	} else if (strcmp(verb, "sort") == 0) {
		for (int s = 0; s < US_N; s++)
			if (npos && strcmp(pos[0], ui_sort_name((enum ui_sort)s)) == 0)
				u->sort = (enum ui_sort)s;
	} else if (strcmp(verb, "filter") == 0) {
		rest_of(pos, npos, 0, u->filter, sizeof u->filter);
	} else {
		ui_status(u, GS_BAD, now_ms, "unknown command '%s' (try :help)", verb);
	}
	return UI_REDRAW;
}

/* ------------------------------------------------------------------------
 * keys
 * ---------------------------------------------------------------------- */

static int input_key(struct ui *u, struct model *m, int key, int64_t now_ms, int64_t wall_ms)
{
	enum ui_input in = u->input;
	char line[sizeof u->in_buf];

	if (key == UK_UP || key == UK_DOWN) {   /* choose the alert of an ack or a silence */
		if (in == UI_IN_SILENCE || (in == UI_IN_REASON && strcmp(u->cmd.verb, "ack") == 0))
			alert_pick_move(u, m, key == UK_UP ? -1 : 1);
		return UI_REDRAW;
	}
	if (in == UI_IN_SILENCE && (key == 'r' || key == 'n' || key == 'g')) {
		/* not duration units: free to toggle the matchers */
		bool *on = key == 'r' ? &u->cmd.m_rule : key == 'n' ? &u->cmd.m_node : &u->cmd.m_group;
		const char *v = key == 'r' ? u->cmd.p_rule : key == 'n' ? u->cmd.p_node : u->cmd.p_group;

		if (v[0])
			*on = !*on;
		return UI_REDRAW;
	}
	if (key == UK_ESC) {
		if (in == UI_IN_REASON || in == UI_IN_CONFIRM || in == UI_IN_SILENCE)
			cmd_cancel(u, now_ms, NULL);
		else if (in == UI_IN_FILTER)
			u->filter[0] = '\0';
		u->input = UI_IN_NONE;
		return UI_REDRAW;
	}
	if (key == UK_BACKSPACE || key == 127 || key == 8) {
		if (u->in_len > 0) {
			/* remove a whole UTF-8 sequence */
			do
				u->in_len--;
			while (u->in_len > 0 && ((unsigned char)u->in_buf[u->in_len] & 0xC0) == 0x80);
			u->in_buf[u->in_len] = '\0';
		}
		if (in == UI_IN_FILTER)
			util_strlcpy(u->filter, u->in_buf, sizeof u->filter);
		return UI_REDRAW;
	}
	if (key == UK_ENTER || key == '\n' || key == '\r') {
		util_strlcpy(line, u->in_buf, sizeof line);
		u->input = UI_IN_NONE;
		switch (in) {
		case UI_IN_FILTER:
			util_strlcpy(u->filter, line, sizeof u->filter);
			break;
		case UI_IN_CMDLINE:
			return run_cmdline(u, m, line, now_ms, wall_ms);
		case UI_IN_TIME:
			if (line[0])
				tt_go(u, line, now_ms, wall_ms);
			break;
		case UI_IN_REASON:
			if (!line[0]) {
				ui_status(u, GS_WARN, now_ms, "a reason is required (it is audited); Esc cancels");
				u->input = UI_IN_REASON;
				break;
			}
			util_strlcpy(u->cmd.reason, line, sizeof u->cmd.reason);
			cmd_advance(u, now_ms);
			break;
		case UI_IN_SILENCE:
			silence_form_done(u, now_ms);
			break;
		case UI_IN_CONFIRM:
			if (strcmp(line, u->cmd.group) != 0) {
				cmd_cancel(u, now_ms, "the group's name was not typed back");
				break;
			}
			cmd_send(u, now_ms);
			break;
		default:
			break;
		}
		return UI_REDRAW;
	}
	if (key >= 0x20 && key < 0x110000 && key != 0x7F && u->in_len < (int)sizeof u->in_buf - 5) {
		/* append as UTF-8 */
		char tmp[5] = "";

		if (key < 0x80) {
			tmp[0] = (char)key;
		} else if (key < 0x800) {
			tmp[0] = (char)(0xC0 | (key >> 6));
			tmp[1] = (char)(0x80 | (key & 0x3F));
		} else if (key < 0x10000) {
			tmp[0] = (char)(0xE0 | (key >> 12));
			tmp[1] = (char)(0x80 | ((key >> 6) & 0x3F));
			tmp[2] = (char)(0x80 | (key & 0x3F));
		}
		util_strlcpy(u->in_buf + u->in_len, tmp, sizeof u->in_buf - (size_t)u->in_len);
		u->in_len = (int)strlen(u->in_buf);
		if (in == UI_IN_FILTER)
			util_strlcpy(u->filter, u->in_buf, sizeof u->filter);
	}
	return UI_REDRAW;
}

static const struct mnode *need_node(struct ui *u, const struct model *m, const char *what,
				     int64_t now_ms)
{
	const struct mnode *n = ui_selected(u, m);

	if (!n)
		ui_status(u, GS_WARN, now_ms, "%s: select a node first", what);
	return n;
}

static void key_command(struct ui *u, const struct model *m, int key, int64_t now_ms)
{
	const struct mnode *n;
	const struct mgroup *g;
	struct ui_cmd c;
	char why[160];

	memset(&c, 0, sizeof c);
	if (!ui_can_act(u, m, why, sizeof why)) {
		ui_status(u, GS_GREY, now_ms, "%s: not allowed: %s", key == 'a' ? "acknowledge" :
			  key == 'x' ? "silence" : key == 'f' ? "failover" : key == 'w' ? "switchover" :
			  key == 'p' ? "pause/resume" : "maintenance", why);
		return;
	}
	if (key == 'a' || key == 'x') {
		alert_command(u, m, key == 'a', now_ms);
		return;
	}
	if (!(n = need_node(u, m, key == 'f' ? "failover" : key == 'w' ? "switchover" :
			    key == 'p' ? "pause" : "maintenance", now_ms)))
		return;
	g = model_group(m, n->group);
	switch (key) {
	case 'f':
		util_strlcpy(c.verb, "failover", sizeof c.verb);
		util_strlcpy(c.group, n->group, sizeof c.group);
		break;
	case 'w':
		util_strlcpy(c.verb, "switchover", sizeof c.verb);
		util_strlcpy(c.group, n->group, sizeof c.group);
		util_strlcpy(c.to, n->name, sizeof c.to);
		break;
	case 'p':
		util_strlcpy(c.verb, g && g->paused ? "resume" : "pause", sizeof c.verb);
		util_strlcpy(c.group, n->group, sizeof c.group);
		break;
	case 'm':
		util_strlcpy(c.verb, "maintenance", sizeof c.verb);
		util_strlcpy(c.node, n->name, sizeof c.node);
		c.on = !(n->maintenance || strcmp(n->state, "maintenance") == 0);
		break;
	default:
		return;
	}
	cmd_start(u, m, &c, now_ms);
}

int ui_key(struct ui *u, struct model *m, int key, int64_t now_ms, int64_t wall_ms)
{
	const struct model *sm = ui_shown(u, m);
	const struct mnode *n;

	if (key == UK_RESIZE)
		return UI_REDRAW;
	if (u->input != UI_IN_NONE)
		return input_key(u, m, key, now_ms, wall_ms);
	if (u->cmd.stage == UCS_PREFLIGHT && key == UK_ESC) {
		cmd_cancel(u, now_ms, NULL);
		return UI_REDRAW;
	}
	if (u->view != UV_MAIN) {
		switch (key) {
		case 'q': case UK_ESC: case UK_ENTER: case '\n': case '\r':
			if (u->view == UV_HELP || key != UK_ENTER)
				u->view = UV_MAIN;
			return UI_REDRAW;
		case '?':
			u->view = u->view == UV_HELP ? UV_MAIN : UV_HELP;
			return UI_REDRAW;
		case UK_DOWN: case 'j':
			u->hist.scroll++;
			u->help_scroll++;
			return UI_REDRAW;
		case UK_UP: case 'k':
			if (u->hist.scroll > 0)
				u->hist.scroll--;
			if (u->help_scroll > 0)
				u->help_scroll--;
			return UI_REDRAW;
		case UK_PGDN:
			u->hist.scroll += 10;
			return UI_REDRAW;
		case UK_PGUP:
			u->hist.scroll = u->hist.scroll > 10 ? u->hist.scroll - 10 : 0;
			return UI_REDRAW;
		case '[': case ']': case UK_LEFT: case UK_RIGHT:
			if (u->view == UV_HISTORY) {
				int d = key == '[' || key == UK_LEFT ? -1 : 1;

				u->hist.range = (u->hist.range + d + UI_NRANGES) % UI_NRANGES;
				hist_query(u, wall_ms);
			}
			return UI_REDRAW;
		case UK_TAB: case 'g':
			if (u->view == UV_HISTORY && (u->hist.node[0] || u->hist.by_group)) {
				u->hist.by_group = !u->hist.by_group || !u->hist.node[0];
				hist_query(u, wall_ms);
			}
			return UI_REDRAW;
		case 'h':
			if (u->view == UV_DETAIL && (n = model_find(sm, u->det_node))) {
				u->hist.by_group = false;
				hist_open(u, n, wall_ms);
			}
			return UI_REDRAW;
		default:
			break;
		}
		if (u->view == UV_HELP)
			return 0;
		/* commands stay available from the detail and history views */
	}
	switch (key) {
	case 'q': case 'Q':
		return UI_QUIT;
	case UK_DOWN: case 'j':
		move_sel(u, sm, 1, now_ms);
		break;
	case UK_UP: case 'k':
		move_sel(u, sm, -1, now_ms);
		break;
	case UK_PGDN:
		move_sel(u, sm, u->page, now_ms);
		break;
	case UK_PGUP:
		move_sel(u, sm, -u->page, now_ms);
		break;
	case UK_HOME: case 'g':
		move_sel(u, sm, -(long)sm->n - 1, now_ms);
		break;
	case UK_END: case 'G':
		move_sel(u, sm, (long)sm->n + 1, now_ms);
		break;
	case UK_ENTER: case '\n': case '\r':
		ui_visible(u, sm, now_ms);
		if ((n = need_node(u, sm, "detail", now_ms)))
			detail_open(u, n);
		break;
	case 's':
		u->sort = (enum ui_sort)((u->sort + 1) % US_N);   /* shown on the nodes header */
		break;
	case '/':
		input_start(u, UI_IN_FILTER, u->filter);
		break;
	case ':':
		input_start(u, UI_IN_CMDLINE, "");
		break;
	case '?':
		u->view = UV_HELP;
		u->help_scroll = 0;
		break;
	case 'h':
		ui_visible(u, sm, now_ms);
		if ((n = need_node(u, sm, "history", now_ms))) {
			u->hist.by_group = false;
			hist_open(u, n, wall_ms);
		}
		break;
	case 't':
		input_start(u, UI_IN_TIME, "");
		break;
	case UK_ESC:
		if (u->tt_on) {
			u->tt_on = false;
			ui_status(u, GS_NORMAL, now_ms, "back to the live view");
		} else if (u->filter[0]) {
			u->filter[0] = '\0';
		}
		break;
	case 'f': case 'w': case 'p': case 'm': case 'a': case 'x':
		ui_visible(u, sm, now_ms);
		key_command(u, m, key, now_ms);
		break;
	default:
		return 0;
	}
	return UI_REDRAW;
}
