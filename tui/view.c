/* view — the dashboard's screens, drawn into a grid.
 *
 * Main screen, top to bottom: a two-line header (the collector, the
 * counts), the groups panel, the nodes table (as many rows as fit), the
 * events and alerts pane, and the status line.  Node detail, history and
 * help replace the middle; a command's pre-flight is a box over it.  Every
 * state is spelled out next to its colour, so a monochrome terminal (or
 * NO_COLOR) loses nothing.  Columns that do not fit are dropped by
 * priority, so 80 columns show the essentials and 120 show everything. */
#include "tui/view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/util.h"

#define MSG_SHOW_MS 20000   /* a command's answer stays on the status line this long */

static void hhmmss(int64_t wall_ms, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

/* Date too when it is not today. */
static void when_str(int64_t ms, int64_t wall_ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000), now = (time_t)(wall_ms / 1000);
	struct tm tm, tn;

	localtime_r(&t, &tm);
	localtime_r(&now, &tn);
	if (tm.tm_yday == tn.tm_yday && tm.tm_year == tn.tm_year)
		strftime(buf, len, "%H:%M:%S", &tm);
	else
		strftime(buf, len, "%m-%d %H:%M", &tm);
}

static void dur_str(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 10000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else
		util_fmt_age(ms, buf, len);
}

static int state_style(const char *s)
{
	if (strcmp(s, "alive") == 0)
		return GS_OK;
	if (strcmp(s, "suspect") == 0 || strcmp(s, "degraded") == 0)
		return GS_WARN;
	if (strcmp(s, "failed") == 0)
		return GS_BAD;
	if (strcmp(s, "maintenance") == 0)
		return GS_INFO;
	return GS_DIM;
}

void view_phi_bar(double phi, int width, bool unicode, uint32_t *out)
{
	/* full scale at phi 12: past the usual failure level (8), so the bar
	 * still moves when a node goes from suspect to failed */
	int fill = isfinite(phi) ? (int)lround(phi / 12.0 * width) : 0;

	if (fill > width)
		fill = width;
	if (fill < 0)
		fill = 0;
	if (isfinite(phi) && phi > 0.05 && fill == 0)
		fill = 1;
	for (int i = 0; i < width; i++)
		out[i] = i < fill ? (unicode ? 0x2588 : '#') : (unicode ? 0x00B7 : '.');
}

void view_sparkline(const float *v, int n, bool unicode, uint32_t *out)
{
	static const char ascii[] = "_.-:=+*#";
	float max = 1;

	for (int i = 0; i < n; i++)
		if (isfinite(v[i]) && v[i] > max)
			max = v[i];
	for (int i = 0; i < n; i++) {
		int lvl;

		if (!isfinite(v[i])) {
			out[i] = ' ';
			continue;
		}
		lvl = (int)(v[i] / max * 7.0f + 0.5f);
		if (lvl < 0)
			lvl = 0;
		if (lvl > 7)
			lvl = 7;
		out[i] = unicode ? 0x2581 + (uint32_t)lvl : (uint32_t)ascii[lvl];
	}
}

/* ------------------------------------------------------------------------
 * header and status line
 * ---------------------------------------------------------------------- */

struct counts {
	int total, alive, suspect, failed, degraded, left, maint, other;
	int gq, gnq, gunknown;
};

static void count(const struct model *m, struct counts *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < m->n; i++) {
		const char *s = m->nodes[i].state;

		c->total++;
		if (strcmp(s, "alive") == 0)
			c->alive++;
		else if (strcmp(s, "suspect") == 0)
			c->suspect++;
		else if (strcmp(s, "failed") == 0)
			c->failed++;
		else if (strcmp(s, "degraded") == 0)
			c->degraded++;
		else if (strcmp(s, "left") == 0)
			c->left++;
		else if (strcmp(s, "maintenance") == 0)
			c->maint++;
		else
			c->other++;
	}
	for (size_t i = 0; i < m->ng; i++) {
		if (m->groups[i].quorum > 0)
			c->gq++;
		else if (m->groups[i].quorum == 0)
			c->gnq++;
		else
			c->gunknown++;
	}
}

static void draw_header(struct grid *g, struct ui *u, const struct model *m, int64_t now_ms,
			int64_t wall_ms)
{
	char clock[16], buf[512];
	struct counts c;
	int x;
	bool stale = u->conn != UC_OPEN && m->have_data;

	hhmmss(u->tt_on ? u->tt_at_ms : wall_ms, clock, sizeof clock);
	grid_fill(g, 0, 0, g->cols, GS_TITLE, ' ');
	x = grid_printf(g, 0, 0, GS_TITLE, -1, " vigil %s  ", clock);
	if (u->tt_on) {
		x += grid_put(g, 0, x, GS_INFO | GS_REV, " TIME TRAVEL (Esc: live) ", -1);
		x += grid_put(g, 0, x, GS_TITLE, "  ", -1);
	}
	if (!m->have_data) {
		x += grid_put(g, 0, x, GS_TITLE, "waiting for the collector", -1);
	} else {
		x += grid_printf(g, 0, x, GS_TITLE, -1, "collector %s: ", m->instance);
		if (m->tilt)
			x += grid_put(g, 0, x, GS_BAD | GS_REV, "TILT (not deciding)", -1);
		else if (!m->recording)
			x += grid_printf(g, 0, x, GS_BAD | GS_REV, -1, "NOT RECORDING: %s",
					 m->store_error[0] ? m->store_error : "the store cannot commit");
		else
			x += grid_put(g, 0, x, GS_TITLE, "ok", -1);
		if (m->you_name[0] || m->you_role[0])
			x += grid_printf(g, 0, x, GS_TITLE, -1, "  you: %s (%s)", m->you_name,
					 m->you_role[0] ? m->you_role : "?");
	}
	if (stale) {
		int64_t age = u->last_data_ms ? now_ms - u->last_data_ms : -1;
		char a[32];

		util_fmt_age(age, a, sizeof a);
		snprintf(buf, sizeof buf, " STALE: last update %s ago ", a);
		x += grid_put(g, 0, x + 2, GS_WARN | GS_REV, buf, -1);
	}
	(void)x;

	count(m, &c);
	snprintf(buf, sizeof buf, "%d nodes: %d alive, %d suspect, %d failed, %d degraded", c.total,
		 c.alive, c.suspect, c.failed, c.degraded);
	x = grid_put(g, 1, 0, GS_NORMAL, buf, -1);
	if (c.left)
		x += grid_printf(g, 1, x, GS_DIM, -1, ", %d left", c.left);
	if (c.maint)
		x += grid_printf(g, 1, x, GS_INFO, -1, ", %d maintenance", c.maint);
	x += grid_printf(g, 1, x, GS_NORMAL, -1, " | groups: %d with quorum, ", c.gq);
	x += grid_printf(g, 1, x, c.gnq ? GS_BAD : GS_NORMAL, -1, "%d without", c.gnq);
	if (c.gunknown)
		x += grid_printf(g, 1, x, GS_DIM, -1, ", %d unknown", c.gunknown);
	if (m->alerts_firing < 0)
		grid_put(g, 1, x, GS_DIM, " | alerts: n/a", -1);
	else
		grid_printf(g, 1, x, m->alerts_firing ? GS_BAD : GS_NORMAL, -1, " | alerts: %d firing",
			    m->alerts_firing);
	/* colour the counts that matter */
	if (c.failed)
		grid_style(g, 1, (int)(strstr(buf, " failed") - buf) - (c.failed > 9 ? 2 : 1),
			   (c.failed > 9 ? 2 : 1) + 7, GS_BAD);
	if (c.suspect)
		grid_style(g, 1, (int)(strstr(buf, " suspect") - buf) - (c.suspect > 9 ? 2 : 1),
			   (c.suspect > 9 ? 2 : 1) + 8, GS_WARN);
}

static const char *prompt_of(const struct ui *u, char *buf, size_t len)
{
	switch (u->input) {
	case UI_IN_FILTER: return "filter (Enter keep, Esc clear): /";
	case UI_IN_CMDLINE: return ":";
	case UI_IN_TIME: return "time travel to (10m = 10 min ago, 14:05, 2026-11-20T10:00Z): ";
	case UI_IN_SILENCE:
		return "silence for (30m, 2h, 1d): ";
	case UI_IN_REASON:
		snprintf(buf, len, "reason for %s %.120s%s%s (audited; Esc cancels): ", u->cmd.verb,
			 u->cmd.label[0] ? u->cmd.label : u->cmd.group[0] ? u->cmd.group : u->cmd.node,
			 strcmp(u->cmd.verb, "maintenance") == 0 ? (u->cmd.on ? " on" : " off") : "",
			 u->cmd.to[0] && strcmp(u->cmd.verb, "switchover") == 0 ? "" : "");
		return buf;
	case UI_IN_CONFIRM:
		snprintf(buf, len, "type the group's name (%s) to confirm the %s: ", u->cmd.group,
			 u->cmd.verb);
		return buf;
	default: return "";
	}
}

static void draw_status(struct grid *g, struct ui *u, const struct model *m, int64_t now_ms)
{
	int y = g->rows - 1, x;
	char buf[600], pbuf[200];

	grid_fill(g, y, 0, g->cols, GS_TITLE, ' ');
	if (u->input != UI_IN_NONE) {
		const char *p = prompt_of(u, pbuf, sizeof pbuf);
		int plen = (int)strlen(p), room = g->cols - plen - 1;
		const char *shown = u->in_buf;

		/* keep the end of a long input in view */
		if (room > 0 && u->in_len > room)
			shown += u->in_len - room;
		x = grid_put(g, y, 0, GS_INPUT, p, -1);
		x += grid_put(g, y, x, GS_INPUT, shown, -1);
		grid_put(g, y, x, GS_INPUT | GS_REV, " ", 1);
		return;
	}
	if (u->conn == UC_OPEN)
		snprintf(buf, sizeof buf, "connected to %s:%d", u->host, u->port);
	else if (u->conn == UC_CONNECTING)
		snprintf(buf, sizeof buf, "connecting to %s:%d ...", u->host, u->port);
	else
		snprintf(buf, sizeof buf, "disconnected, retrying in %lld s%s%s%s",
			 (long long)((u->retry_at_ms - now_ms + 999) / 1000 > 0 ?
				     (u->retry_at_ms - now_ms + 999) / 1000 : 0),
			 m->have_data ? " (STALE: last known state shown)" : "",
			 u->conn_why[0] ? ": " : "", u->conn_why);
	x = grid_put(g, y, 0, u->conn == UC_OPEN ? GS_TITLE : GS_WARN | GS_REV, buf, -1);
	x += grid_put(g, y, x, GS_TITLE, " | ", -1);
	if (u->msg[0] && now_ms - u->msg_ms < MSG_SHOW_MS) {
		grid_put(g, y, x, u->msg_st ? (u->msg_st | GS_REV) : GS_TITLE, u->msg, -1);
	} else {
		snprintf(buf, sizeof buf, "%zu/%zu nodes, sort %s%s%s%s  ? help  q quit", u->nvis,
			 ui_shown(u, m)->n, ui_sort_name(u->sort), u->filter[0] ? ", filter '" : "",
			 u->filter, u->filter[0] ? "'" : "");
		grid_put(g, y, x, GS_TITLE, buf, -1);
	}
}

/* ------------------------------------------------------------------------
 * groups
 * ---------------------------------------------------------------------- */

static void automation_cell(const struct mgroup *gr, int64_t wall_ms, char *buf, size_t len,
			    int *st)
{
	char t[16];

	if (gr->failing_over) {
		char d[24];

		dur_str(gr->failover.since_ms > 0 ? wall_ms - gr->failover.since_ms : -1, d, sizeof d);
		snprintf(buf, len, "FAILOVER %s %s->%s %s", gr->failover.kind, gr->failover.state,
			 gr->failover.target[0] ? gr->failover.target : "?", d);
		*st = GS_INFO;
	} else if (gr->paused) {
		if (gr->paused_until_ms > 0) {
			hhmmss(gr->paused_until_ms, t, sizeof t);
			snprintf(buf, len, "paused until %s by %.60s: %.200s", t,
				 gr->paused_by[0] ? gr->paused_by : "?", gr->pause_reason);
		} else {
			snprintf(buf, len, "paused by %.60s: %.200s", gr->paused_by[0] ? gr->paused_by : "?",
				 gr->pause_reason);
		}
		*st = GS_WARN;
	} else if (gr->epoch < 0 && gr->quorum < 0) {
		snprintf(buf, len, "n/a");
		*st = GS_DIM;
	} else {
		snprintf(buf, len, "on");
		*st = GS_OK;
	}
}

static void last_failover_cell(const struct mgroup *gr, int64_t wall_ms, char *buf, size_t len)
{
	char t[24], d[24];

	if (!gr->has_last) {
		snprintf(buf, len, "-");
		return;
	}
	when_str(gr->last.ts_ms, wall_ms, t, sizeof t);
	dur_str(gr->last.duration_ms, d, sizeof d);
	snprintf(buf, len, "%s %s %s%s%s in %s (%s)", t, gr->last.kind, gr->last.old_leader,
		 gr->last.old_leader[0] ? "->" : "", gr->last.new_leader[0] ? gr->last.new_leader : "none", d,
		 gr->last.outcome);
}

static int draw_groups(struct grid *g, const struct model *m, int y, int rows, int64_t wall_ms)
{
	int gw = 5, lw = 6, shown;

	for (size_t i = 0; i < m->ng; i++) {
		int a = (int)strlen(m->groups[i].name), b = (int)strlen(m->groups[i].leader);

		gw = a > gw ? a : gw;
		lw = b > lw ? b : lw;
	}
	gw = gw > 16 ? 16 : gw;
	lw = lw > 16 ? 16 : lw;
	grid_fill(g, y, 0, g->cols, GS_HEAD, ' ');
	grid_printf(g, y, 0, GS_HEAD, -1, " %-*s %-*s %5s %9s %6s  %-36s %s", gw, "GROUP", lw, "LEADER",
		    "EPOCH", "ALIVE/EXP", "QUORUM", "AUTOMATION", "LAST FAILOVER");
	shown = (int)m->ng < rows - 1 ? (int)m->ng : rows - 1;
	if (shown < (int)m->ng && shown > 0)
		shown--;   /* room for the "more" line */
	for (int i = 0; i < shown; i++) {
		const struct mgroup *gr = &m->groups[i];
		char epoch[24], alive[24], q[8], aut[400], last[320];
		int st, qst, yy = y + 1 + i, x = 0;

		if (gr->epoch >= 0)
			snprintf(epoch, sizeof epoch, "%lld", (long long)gr->epoch);
		else
			snprintf(epoch, sizeof epoch, "-");
		if (gr->expected >= 0)
			snprintf(alive, sizeof alive, "%d/%d", gr->alive, gr->expected);
		else
			snprintf(alive, sizeof alive, "%d/%d", gr->alive, gr->members);
		snprintf(q, sizeof q, "%s", gr->quorum > 0 ? "yes" : gr->quorum == 0 ? "NO" : "-");
		qst = gr->quorum > 0 ? GS_OK : gr->quorum == 0 ? GS_BAD : GS_DIM;
		automation_cell(gr, wall_ms, aut, sizeof aut, &st);
		last_failover_cell(gr, wall_ms, last, sizeof last);
		x += grid_printf(g, yy, x, GS_NORMAL, -1, " %-*.*s %-*.*s %5s %9s ", gw, gw, gr->name, lw,
				 lw, gr->leader[0] ? gr->leader : "-", epoch, alive);
		x += grid_printf(g, yy, x, qst, -1, "%6s", q);
		x += grid_put(g, yy, x, GS_NORMAL, "  ", -1);
		x += grid_printf(g, yy, x, st, -1, "%-36.36s", aut);
		x += grid_put(g, yy, x, GS_NORMAL, " ", -1);
		grid_put(g, yy, x, gr->has_last && strcmp(gr->last.outcome, "confirmed") &&
			 gr->last.outcome[0] ? GS_WARN : GS_NORMAL, last, -1);
	}
	if (shown < (int)m->ng)
		grid_printf(g, y + 1 + shown, 0, GS_DIM, -1, " ... and %zu more groups (:history GROUP)",
			    m->ng - (size_t)shown);
	return 1 + shown + (shown < (int)m->ng);
}

/* ------------------------------------------------------------------------
 * nodes
 * ---------------------------------------------------------------------- */

enum { C_NODE, C_GROUP, C_ROLE, C_STATE, C_PHI, C_BAR, C_HB, C_IVL, C_RTT, C_CPU, C_MEM, C_ERR,
       C_CHECKS, C_FLAP, C_N };

struct col {
	const char *head;
	int w, pri;
	bool right;
};

static const struct col cols_def[C_N] = {
	[C_NODE] = { "NODE", 4, 0, false },     [C_GROUP] = { "GROUP", 5, 1, false },
	[C_ROLE] = { "ROLE", 8, 2, false },     [C_STATE] = { "STATE", 11, 0, false },
	[C_PHI] = { "PHI", 5, 1, true },        [C_BAR] = { "", 8, 3, false },
	[C_HB] = { "HB-AGE", 7, 2, true },      [C_IVL] = { "INTERVAL", 11, 6, true },
	[C_RTT] = { "RTT", 6, 5, true },        [C_CPU] = { "CPU%", 4, 4, true },
	[C_MEM] = { "MEM%", 4, 4, true },       [C_ERR] = { "ERR/s", 5, 6, true },
	[C_CHECKS] = { "CHECKS", 7, 5, false }, [C_FLAP] = { "FLAP", 4, 5, false },
};

/* Which columns fit: drop the least important first. */
static void layout_cols(struct col *c, bool *on, int cols)
{
	int total = 1;

	for (int i = 0; i < C_N; i++) {
		on[i] = true;
		total += c[i].w + 1;
	}
	for (int p = 9; p > 0 && total > cols; p--)
		for (int i = 0; i < C_N; i++)
			if (on[i] && c[i].pri == p) {
				on[i] = false;
				total -= c[i].w + 1;
			}
	if (total > cols) {   /* tiny terminals: shrink the name */
		int cut = total - cols;

		c[C_NODE].w = c[C_NODE].w - cut > 4 ? c[C_NODE].w - cut : 4;
	}
}

static void fmt_or_dash(double v, const char *fmt, char *buf, size_t len)
{
	if (isfinite(v))
		snprintf(buf, len, fmt, v);
	else
		snprintf(buf, len, "-");
}

static void node_cell(int col, const struct mnode *n, int64_t now_ms, bool unicode, char *buf,
		      size_t len, int *st)
{
	*st = GS_NORMAL;
	buf[0] = '\0';
	switch (col) {
	case C_NODE: snprintf(buf, len, "%s", n->name); break;
	case C_GROUP: snprintf(buf, len, "%s", n->group); break;
	case C_ROLE:
		snprintf(buf, len, "%s", n->role);
		if (strcmp(n->role, "leader") == 0)
			*st = GS_HEAD;
		break;
	case C_STATE:
		snprintf(buf, len, "%s", n->state[0] ? n->state : "?");
		*st = state_style(n->state);
		break;
	case C_PHI:
		fmt_or_dash(n->phi, n->phi < 100 ? "%.1f" : "%.0f", buf, len);
		break;
	case C_HB: util_fmt_age(model_hb_age(n, now_ms), buf, len); break;
	case C_IVL:
		if (isfinite(n->mean_ms))
			snprintf(buf, len, unicode ? "%.0f\u00b1%.0fms" : "%.0f+-%.0f", n->mean_ms,
				 isfinite(n->sd_ms) ? n->sd_ms : 0);
		else
			snprintf(buf, len, "-");
		break;
	case C_RTT:
		if (n->rtt_ms >= 0)
			snprintf(buf, len, "%lldms", (long long)n->rtt_ms);
		else
			snprintf(buf, len, "-");
		break;
	case C_CPU: fmt_or_dash(n->cpu, "%.0f", buf, len); break;
	case C_MEM: fmt_or_dash(n->mem, "%.0f", buf, len); break;
	case C_ERR: fmt_or_dash(n->err_rate, "%.1f", buf, len); break;
	case C_CHECKS:
		if (!n->nchecks) {
			snprintf(buf, len, "-");
		} else if (n->checks_critical) {
			snprintf(buf, len, "%d crit", n->checks_critical);
			*st = GS_BAD;
		} else {
			snprintf(buf, len, "%d ok", n->nchecks);
			*st = GS_OK;
		}
		break;
	case C_FLAP:
		if (n->flapping) {
			snprintf(buf, len, "FLAP");
			*st = GS_WARN;
		}
		break;
	default: break;
	}
}

static int text_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

static void draw_nodes(struct grid *g, struct ui *u, const struct model *m, int y, int rows,
		       int64_t now_ms)
{
	struct col c[C_N];
	bool on[C_N];
	int x, nw = 4, gw = 5, hdr_end;

	memcpy(c, cols_def, sizeof c);
	u->page = rows - 1 > 1 ? rows - 1 : 1;
	ui_visible(u, m, now_ms);
	for (size_t i = 0; i < m->n; i++) {
		int a = (int)strlen(m->nodes[i].name), b = (int)strlen(m->nodes[i].group);

		nw = a > nw ? a : nw;
		gw = b > gw ? b : gw;
	}
	c[C_NODE].w = nw > 24 ? 24 : nw;
	c[C_GROUP].w = gw > 14 ? 14 : gw;
	layout_cols(c, on, g->cols);
	/* header */
	grid_fill(g, y, 0, g->cols, GS_HEAD, ' ');
	x = 1;
	for (int i = 0; i < C_N; i++) {
		if (!on[i])
			continue;
		if (i == C_BAR)
			grid_printf(g, y, x, GS_HEAD, c[i].w, "%s", u->sort == US_GROUP ? "" : "");
		else
			grid_printf(g, y, x, GS_HEAD, c[i].w, c[i].right ? "%*s" : "%-*s", c[i].w, c[i].head);
		x += c[i].w + 1;
	}
	hdr_end = x;
	if (!m->n) {
		grid_put(g, y + 1, 1, GS_DIM, m->have_data ? "no nodes yet" :
			 "waiting for the collector's snapshot...", -1);
		return;
	}
	if (!u->nvis) {
		grid_printf(g, y + 1, 1, GS_DIM, -1, "no node matches the filter '%s' (Esc clears)",
			    u->filter);
		return;
	}
	for (int r = 0; r < rows - 1; r++) {
		size_t vi = u->top + (size_t)r;
		const struct mnode *n;
		bool sel;

		if (vi >= u->nvis)
			break;
		n = &m->nodes[u->vis[vi]];
		sel = (long)vi == u->sel_idx;
		x = 1;
		grid_put(g, y + 1 + r, 0, GS_NORMAL, sel ? ">" : " ", 1);
		for (int i = 0; i < C_N; i++) {
			char buf[96];
			int st, w;

			if (!on[i])
				continue;
			if (i == C_BAR) {
				uint32_t bar[32];

				view_phi_bar(n->phi, c[i].w, u->unicode, bar);
				for (int k = 0; k < c[i].w && x + k < g->cols; k++) {
					grid_at(g, y + 1 + r, x + k)->ch = bar[k];
					grid_at(g, y + 1 + r, x + k)->st = (uint8_t)state_style(n->state);
				}
				x += c[i].w + 1;
				continue;
			}
			node_cell(i, n, now_ms, u->unicode, buf, sizeof buf, &st);
			w = text_width(buf);
			if (c[i].right && w < c[i].w)
				grid_fill(g, y + 1 + r, x, c[i].w - w, GS_NORMAL, ' ');
			grid_put(g, y + 1 + r, x + (c[i].right && w < c[i].w ? c[i].w - w : 0), st, buf,
				 c[i].right && w < c[i].w ? w : c[i].w);
			x += c[i].w + 1;
		}
		if (sel)
			grid_or_style(g, y + 1 + r, 0, g->cols, GS_REV);
	}
	{   /* sort, filter and the scroll position, right-aligned on the header */
		char pos[160], rng[48] = "";
		int len;

		if (u->nvis > (size_t)(rows - 1))
			snprintf(rng, sizeof rng, ", %zu-%zu of %zu", u->top + 1,
				 u->top + (size_t)(rows - 1) < u->nvis ? u->top + (size_t)(rows - 1) : u->nvis,
				 u->nvis);
		len = snprintf(pos, sizeof pos, "  sort %s%s%.40s%s%s ", ui_sort_name(u->sort),
			       u->filter[0] ? ", filter '" : "", u->filter, u->filter[0] ? "'" : "", rng);
		if (hdr_end + len <= g->cols || u->filter[0] || rng[0])
			grid_put(g, y, g->cols - len > 0 ? g->cols - len : 0, GS_HEAD, pos, -1);
	}
}

/* ------------------------------------------------------------------------
 * events and alerts
 * ---------------------------------------------------------------------- */

static void event_line(struct grid *g, int y, const struct ui_event *e, int64_t wall_ms)
{
	char t[24];
	int x;

	when_str(e->ts_ms, wall_ms, t, sizeof t);
	x = grid_printf(g, y, 0, GS_NORMAL, -1, " %s  %-14s ", t, e->node);
	if (strcmp(e->kind, "state") == 0 || (!e->kind[0])) {
		x += grid_printf(g, y, x, state_style(e->from), -1, "%s", e->from[0] ? e->from : "new");
		x += grid_put(g, y, x, GS_NORMAL, " -> ", -1);
		x += grid_put(g, y, x, state_style(e->to), e->to, -1);
	} else {
		x += grid_printf(g, y, x, GS_INFO, -1, "%s %s%s%s", e->kind, e->from, e->from[0] ? " -> " : "",
				 e->to);
	}
	grid_printf(g, y, x, GS_DIM, -1, "  (%s)", e->rule);
}

/* One firing alert on one line: id, severity, rule, where, since, who
 * acknowledged it, whether it is held back, and its summary. */
static int alert_line(struct grid *g, int y, int x, int w, const struct malert *a, int64_t wall_ms,
		      bool mark)
{
	char t[24], where[2 * PROTO_NAME_MAX + 8];
	int st = strcmp(a->severity, "critical") == 0 ? GS_BAD : GS_WARN;

	if (a->ack_who[0] || a->held[0])
		st = GS_DIM;            /* someone is on it, or it is held back */
	if (mark)
		st |= GS_REV;
	when_str(a->started_ms, wall_ms, t, sizeof t);
	if (a->node[0] && a->group[0])
		snprintf(where, sizeof where, "%s (%s)", a->node, a->group);
	else
		snprintf(where, sizeof where, "%s", a->node[0] ? a->node : a->group[0] ? a->group : "-");
	return grid_printf(g, y, x, st, w, "%s#%-4lld %-8s %-16s %-20s since %s%s%.60s%s%s%s: %s",
			   mark ? "> " : "", (long long)a->id, a->severity, a->rule, where, t,
			   a->ack_who[0] ? "  acked by " : "", a->ack_who, a->held[0] ? "  [" : "",
			   a->held, a->held[0] ? "]" : "", a->summary);
}

static void draw_events(struct grid *g, struct ui *u, const struct model *m, int y, int rows,
			int64_t wall_ms)
{
	int r = 1;

	grid_fill(g, y, 0, g->cols, GS_HEAD, ' ');
	if (m->alerts_firing < 0)
		grid_put(g, y, 0, GS_HEAD, " EVENTS & ALERTS  (alerts: n/a)  newest first", -1);
	else
		grid_printf(g, y, 0, GS_HEAD, -1, " EVENTS & ALERTS  (alerts: %s)  newest first%s",
			    m->alerts_firing ? "firing below" : "none firing",
			    m->alerts_firing ? "  a ack, x silence" : "");
	/* the alerts first, but leave a row for the transitions */
	for (int i = 0; i < m->nalerts && r < rows - (rows > 2 && u->nev); i++, r++) {
		grid_put(g, y + r, 0, GS_NORMAL, " ALERT ", -1);
		alert_line(g, y + r, 7, -1, &m->alerts[i], wall_ms, false);
	}
	if (!u->nev && r < rows)
		grid_put(g, y + r, 1, GS_DIM, "no transitions yet", -1);
	for (int i = 0; i < u->nev && r < rows; i++, r++)
		event_line(g, y + r, &u->events[(u->ev_head - 1 - i + UI_EVENTS) % UI_EVENTS], wall_ms);
}

/* ------------------------------------------------------------------------
 * node detail
 * ---------------------------------------------------------------------- */

static void draw_detail(struct grid *g, struct ui *u, const struct model *m, int y, int rows,
			int64_t now_ms, int64_t wall_ms)
{
	const struct mnode *n = model_find(m, u->det_node);
	int end = y + rows, x;
	char a[32], b[32], since[24];

	grid_fill(g, y, 0, g->cols, GS_HEAD, ' ');
	grid_printf(g, y, 0, GS_HEAD, -1, " NODE %s  (Esc back, h history, f/w/m commands)", u->det_node);
	y++;
	if (!n) {
		grid_put(g, y, 1, GS_DIM, "this node is no longer known to the collector", -1);
		return;
	}
	when_str(n->state_since_ms, wall_ms, since, sizeof since);
	x = grid_printf(g, y, 1, GS_NORMAL, -1, "group %s  role %s  state ", n->group, n->role);
	x += grid_put(g, y, 1 + x, state_style(n->state), n->state, -1);
	grid_printf(g, y++, 1 + x, GS_NORMAL, -1, " since %s (rule %s)%s%s", n->state_since_ms ? since : "-",
		    n->rule[0] ? n->rule : "-", n->flapping ? "  FLAPPING" : "",
		    n->maintenance ? "  MAINTENANCE" : "");
	if (n->health[0])
		grid_printf(g, y++, 1, GS_WARN, -1, "health: %s", n->health);
	util_fmt_age(model_hb_age(n, now_ms), a, sizeof a);
	grid_printf(g, y++, 1, GS_NORMAL, -1,
		    "phi %.2f  interval %.1f +- %.1f ms (agent %d ms)  last heartbeat %s ago  rtt %s",
		    isfinite(n->phi) ? n->phi : 0.0, isfinite(n->mean_ms) ? n->mean_ms : 0.0,
		    isfinite(n->sd_ms) ? n->sd_ms : 0.0, n->interval_ms, a,
		    n->rtt_ms >= 0 ? (snprintf(b, sizeof b, "%lld ms", (long long)n->rtt_ms), b) : "-");
	grid_printf(g, y++, 1, GS_NORMAL, -1,
		    "cpu %.1f%%  mem %.1f%%  load1 %.2f  disk %.1f%%  errors %.2f/s  version %s  priority %d",
		    isfinite(n->cpu) ? n->cpu : 0.0, isfinite(n->mem) ? n->mem : 0.0,
		    isfinite(n->load1) ? n->load1 : 0.0, isfinite(n->disk) ? n->disk : 0.0,
		    isfinite(n->err_rate) ? n->err_rate : 0.0, n->version, n->priority);
	grid_printf(g, y++, 1, GS_NORMAL, -1,
		    "connected %s  agent says %s (epoch %lld)  no_failover %s  maintenance %s",
		    n->connected ? "yes" : "no", n->agent_role[0] ? n->agent_role : "-",
		    (long long)n->agent_epoch, n->no_failover ? "yes" : "no", n->maintenance ? "yes" : "no");
	if (y < end) {
		int w = g->cols - 14 > MNODE_PHI_HIST ? MNODE_PHI_HIST : g->cols - 14;
		float v[MNODE_PHI_HIST];
		uint32_t sp[MNODE_PHI_HIST];
		float mx = 0;

		if (w < 10)
			w = 10;
		model_phi_series(n, now_ms, v, w);
		view_sparkline(v, w, u->unicode, sp);
		for (int i = 0; i < w; i++)
			if (isfinite(v[i]) && v[i] > mx)
				mx = v[i];
		grid_printf(g, y++, 1, GS_HEAD, -1, "PHI over the last %d s (max %.1f, 1 column = %d s)",
			    w * MNODE_PHI_BUCKET_MS / 1000, (double)mx, MNODE_PHI_BUCKET_MS / 1000);
		if (y < end) {
			for (int i = 0; i < w && 1 + i < g->cols; i++) {
				grid_at(g, y, 1 + i)->ch = sp[i];
				grid_at(g, y, 1 + i)->st = isfinite(v[i]) && v[i] >= 8 ? GS_BAD :
					isfinite(v[i]) && v[i] >= 1 ? GS_WARN : GS_OK;
			}
			y++;
		}
	}
	if (y < end)
		grid_printf(g, y++, 1, GS_HEAD, -1, "CHECKS (%d)", n->nchecks);
	for (int i = 0; i < MNODE_CHECKS && i < n->nchecks && y < end; i++) {
		const struct mcheck *ck = &n->checks[i];

		x = grid_printf(g, y, 3, GS_NORMAL, -1, "%-16s ", ck->name);
		x += grid_printf(g, y, 3 + x, strcmp(ck->status, "passing") == 0 ? GS_OK :
				 strcmp(ck->status, "critical") == 0 ? GS_BAD : GS_WARN, -1, "%-9s", ck->status);
		grid_printf(g, y++, 4 + x, GS_DIM, -1, "%s", ck->output);
	}
	if (y < end)
		grid_printf(g, y++, 1, GS_HEAD, -1, "LAST TRANSITIONS, with their evidence%s",
			    u->det_loading ? " (loading...)" : "");
	for (int i = 0; i < u->det_nev && y < end; i++) {
		const struct ui_event *e = &u->det_ev[i];

		event_line(g, y++, e, wall_ms);
		if (y < end && (isfinite(e->phi) || e->detail[0])) {
			if (e->detail[0])
				grid_printf(g, y++, 5, GS_DIM, -1, "%s", e->detail);
			else
				grid_printf(g, y++, 5, GS_DIM, -1, "phi %.2f, intervals %.1f +- %.1f ms over %lld samples, heartbeat age %.0f ms",
					    e->phi, e->mean_ms, e->sd_ms, (long long)e->samples, e->hb_age_ms);
		}
	}
}

/* ------------------------------------------------------------------------
 * history and report
 * ---------------------------------------------------------------------- */

static void draw_history(struct grid *g, struct ui *u, int y, int rows, int64_t wall_ms)
{
	struct ui_hist *h = &u->hist;
	int end = y + rows;
	char a[24], b[24], c[24], d[24], since[24];

	grid_fill(g, y, 0, g->cols, GS_HEAD, ' ');
	when_str(h->since_ms, wall_ms, since, sizeof since);
	grid_printf(g, y++, 0, GS_HEAD, -1, " HISTORY of %s %s, last %s (since %s)  [ ] range  Tab node/group  Esc back%s",
		    h->by_group ? "group" : "node", h->by_group ? h->group : h->node,
		    ui_ranges[h->range], since, h->loading ? "  loading..." : "");
	if (h->error[0])
		grid_printf(g, y++, 1, GS_BAD, -1, "the collector refused: %s", h->error);
	if (h->rep_have && y < end) {
		int x = 1;

		if (!h->by_group) {
			dur_str(h->mttr_ms, a, sizeof a);
			util_fmt_age(h->mtbf_ms, b, sizeof b);
			dur_str(h->ttd_ms, c, sizeof c);
			util_fmt_age(h->down_ms, d, sizeof d);
			if (isfinite(h->avail_pct))
				x += grid_printf(g, y, x, h->avail_pct >= 99.9 ? GS_OK : GS_WARN, -1,
						 "availability %.3f%%", h->avail_pct);
			else
				x += grid_put(g, y, x, GS_DIM, "availability n/a", -1);
			x += grid_printf(g, y, x, GS_NORMAL, -1, "  failures %lld  down %s  MTTR %s  MTBF %s  time to detect %s",
					 (long long)(h->failures > 0 ? h->failures : 0), d, a, b, c);
		}
		if (h->failovers >= 0) {
			dur_str(isfinite(h->fo_p50_ms) ? (int64_t)h->fo_p50_ms : -1, a, sizeof a);
			dur_str(isfinite(h->fo_p99_ms) ? (int64_t)h->fo_p99_ms : -1, b, sizeof b);
			grid_printf(g, y, x, GS_NORMAL, -1, "%sgroup %s: %lld failovers (p50 %s, p99 %s)",
				    h->by_group ? "" : "  |  ", h->group, (long long)h->failovers, a, b);
		}
		y++;
	}
	if (y < end) {
		grid_fill(g, y, 0, g->cols, GS_HEAD, ' ');
		grid_printf(g, y++, 0, GS_HEAD, -1, " %-14s %-14s %-9s %-26s %-14s %s", "TIME", "NODE", "KIND",
			    "CHANGE", "RULE", "DETAIL");
	}
	if (!h->nev && !h->loading && y < end)
		grid_put(g, y++, 1, GS_DIM, "nothing recorded in this range", -1);
	if (h->scroll > h->nev - 1)
		h->scroll = h->nev > 0 ? h->nev - 1 : 0;
	for (int i = h->scroll; i < h->nev && y < end; i++, y++) {
		const struct ui_event *e = &h->ev[i];
		char t[24], change[64];
		int x;

		when_str(e->ts_ms, wall_ms, t, sizeof t);
		snprintf(change, sizeof change, "%s%s%s", e->from[0] ? e->from : "", e->from[0] ? " -> " : "",
			 e->to);
		x = grid_printf(g, y, 0, GS_NORMAL, -1, " %-14s %-14s %-9s ", t, e->node, e->kind);
		x += grid_printf(g, y, x, state_style(e->to), -1, "%-26.26s ", change);
		x += grid_printf(g, y, x, GS_NORMAL, -1, "%-14.14s ", e->rule);
		grid_put(g, y, x, GS_DIM, e->detail, -1);
	}
}

/* ------------------------------------------------------------------------
 * help
 * ---------------------------------------------------------------------- */

static void draw_help(struct grid *g, struct ui *u, const struct model *m, int y, int rows)
{
	static const struct {
		const char *keys, *what;
		bool act;
	} k[] = {
		{ "Up/Down j/k", "select a node (PgUp/PgDn, Home/End g/G)", false },
		{ "Enter", "node detail: evidence, phi sparkline, metrics, checks", false },
		{ "s", "sort: group, state, phi, hb-age, cpu, mem, rtt", false },
		{ "/", "filter by name, group, state or role (Esc clears)", false },
		{ "h", "history of the selected node (Tab: its group), report, [ ] range", false },
		{ "t", "time travel: the cluster as it was at a moment (Esc: live)", false },
		{ "f", "failover the selected node's group (pre-flight, reason, confirm)", true },
		{ "w", "switchover: make the selected node its group's leader", true },
		{ "p", "pause / resume the automation of the selected node's group", true },
		{ "m", "maintenance on / off for the selected node", true },
		{ "a", "acknowledge a firing alert (the selected node's; Up/Down choose), reason", true },
		{ "x", "silence: matchers from the alert/node (r/n/g), duration (1h), reason", true },
		{ ":", "command line: failover G [N] | switchover G N | pause G [--for 10m] |", false },
		{ "", "  resume G | maintenance N on|off | forget N | history [N|G] | at TIME |", false },
		{ "", "  ack ID | silence NODE|--group G|--rule R [--for 2h] |", false },
		{ "", "  sort KEY | filter TEXT | quit; options --reason TEXT --dry-run --force", false },
		{ "?", "this help (Esc closes)", false },
		{ "q", "quit (also Ctrl-C)", false },
	};
	char why[160];
	bool can = ui_can_act(u, m, why, sizeof why);
	int end = y + rows, n = (int)(sizeof k / sizeof k[0]);

	grid_fill(g, y, 0, g->cols, GS_HEAD, ' ');
	grid_put(g, y++, 0, GS_HEAD, " KEYS", -1);
	for (int i = u->help_scroll < n ? u->help_scroll : 0; i < n && y < end; i++, y++) {
		int st = k[i].act && !can ? GS_GREY : GS_NORMAL;

		grid_printf(g, y, 1, st, -1, "%-12s %s%s", k[i].keys, k[i].what,
			    k[i].act && !can ? "  (not allowed)" : "");
	}
	if (!can && y < end)
		grid_printf(g, y++, 1, GS_GREY, -1, "commands are greyed out: %s", why);
	if (y < end)
		grid_put(g, y, 1, GS_DIM,
			 "states: alive, suspect, failed, degraded, left, maintenance (spelled out, colour optional)",
			 -1);
}

/* ------------------------------------------------------------------------
 * the pre-flight box
 * ---------------------------------------------------------------------- */

static void draw_box(struct grid *g, int y, int x, int h, int w, const char *title)
{
	for (int r = 0; r < h; r++) {
		grid_fill(g, y + r, x, w, GS_NORMAL, ' ');
		grid_put(g, y + r, x, GS_HEAD, "|", 1);
		grid_put(g, y + r, x + w - 1, GS_HEAD, "|", 1);
	}
	grid_fill(g, y, x, w, GS_HEAD, '-');
	grid_fill(g, y + h - 1, x, w, GS_HEAD, '-');
	grid_put(g, y, x, GS_HEAD, "+", 1);
	grid_put(g, y, x + w - 1, GS_HEAD, "+", 1);
	grid_put(g, y + h - 1, x, GS_HEAD, "+", 1);
	grid_put(g, y + h - 1, x + w - 1, GS_HEAD, "+", 1);
	grid_printf(g, y, x + 2, GS_HEAD, w - 4, " %s ", title);
}

static void draw_preflight(struct grid *g, struct ui *u, int top, int rows)
{
	const struct ui_cmd *c = &u->cmd;
	int w = g->cols - 4 > 76 ? 76 : g->cols - 4;
	int h = 7 + c->ncand, x = (g->cols - w) / 2, y, in = w - 4;
	char title[160];

	if (h > rows)
		h = rows;
	if (h < 4 || w < 20)
		return;
	y = top + (rows - h) / 2;
	snprintf(title, sizeof title, "%s of group %s%s%s", c->verb, c->group, c->to[0] ? " to " : "",
		 c->to);
	draw_box(g, y, x, h, w, title);
	if (!c->pf_have) {
		grid_put(g, y + 1, x + 2, GS_INFO, "asking the collector for the pre-flight... (Esc cancels)", in);
		return;
	}
	grid_printf(g, y + 1, x + 2, c->pf_ok ? GS_OK : GS_BAD, in, "%s%s",
		    c->pf_ok ? "pre-flight: " : "would be REFUSED: ",
		    c->pf_ok ? (c->pf_text[0] ? c->pf_text : "accepted") : c->pf_error);
	if (c->pf_blocked[0])
		grid_printf(g, y + 2, x + 2, GS_BAD, in, "blocked by: %s%s", c->pf_blocked,
			    c->force ? "" : "  (:failover GROUP --force overrides)");
	else
		grid_put(g, y + 2, x + 2, GS_OK, "no guard blocks it", in);
	grid_printf(g, y + 3, x + 2, GS_HEAD, in, "CANDIDATES, best first%s",
		    c->ncand ? "" : ": none");
	for (int i = 0; i < c->ncand && y + 4 + i < y + h - 2; i++) {
		const struct ui_cand *k = &c->cand[i];

		grid_printf(g, y + 4 + i, x + 2, k->eligible ? GS_OK : GS_DIM, in,
			    "%2d. %-16s prio %-6d %-10s %s%s", i + 1, k->node, k->priority, k->state,
			    k->eligible ? "eligible" : "not: ", k->eligible ? "" : k->why_not);
	}
	grid_put(g, y + h - 2, x + 2, GS_INPUT, u->input == UI_IN_CONFIRM ?
		 "type the group's name below and Enter to confirm; Esc cancels" :
		 "type a reason below (audited), Enter; Esc cancels", in);
}

/* The box of an ack (the firing alerts, Up/Down choose) or of a silence
 * being prepared (the same list, the matchers, the duration). */
static void draw_alert_box(struct grid *g, struct ui *u, const struct model *m, int top, int rows,
			   int64_t wall_ms)
{
	const struct ui_cmd *c = &u->cmd;
	bool ack = strcmp(c->verb, "ack") == 0;
	int w = g->cols - 4 > 100 ? 100 : g->cols - 4;
	int list = m->nalerts > 8 ? 8 : m->nalerts, h = 3 + (list ? list : 1) + (ack ? 0 : 2);
	int x = (g->cols - w) / 2, y, in = w - 4, first = 0, k, yy;
	int pick = model_alert_index(m, c->alert_id);

	if (h > rows)
		h = rows;
	if (h < 4 || w < 30)
		return;
	y = top + (rows - h) / 2;
	draw_box(g, y, x, h, w, ack ? "acknowledge a firing alert" : "silence alerts");
	if (pick >= list)
		first = pick - list + 1;   /* keep the chosen one in view */
	yy = y + 1;
	if (!m->nalerts)
		grid_put(g, yy++, x + 2, GS_DIM, "no alert is firing: the silence matches future ones", in);
	for (k = first; k < m->nalerts && k < first + list && yy < y + h - 1; k++)
		alert_line(g, yy++, x + 2, in, &m->alerts[k], wall_ms, k == pick);
	if (!ack && yy + 2 <= y + h - 2) {
		int xx = x + 2;

		xx += grid_put(g, yy, xx, GS_HEAD, "match: ", -1);
		xx += grid_printf(g, yy, xx, c->m_rule ? GS_OK : GS_DIM, -1, "[%c] r rule %s  ",
				  c->m_rule ? 'x' : ' ', c->p_rule[0] ? c->p_rule : "-");
		xx += grid_printf(g, yy, xx, c->m_node ? GS_OK : GS_DIM, -1, "[%c] n node %s  ",
				  c->m_node ? 'x' : ' ', c->p_node[0] ? c->p_node : "-");
		grid_printf(g, yy++, xx, c->m_group ? GS_OK : GS_DIM, x + w - 1 - xx, "[%c] g group %s",
			    c->m_group ? 'x' : ' ', c->p_group[0] ? c->p_group : "-");
		if (c->stage == UCS_FORM)
			grid_printf(g, yy++, x + 2, GS_NORMAL, in, "for:   %s", u->in_buf);
		else
			grid_printf(g, yy++, x + 2, GS_NORMAL, in, "silence %s", c->label);
	}
	grid_put(g, y + h - 2, x + 2, GS_INPUT, c->stage == UCS_FORM ?
		 "Up/Down alert, r/n/g matchers, the duration below, Enter; Esc cancels" :
		 ack ? "Up/Down choose the alert; type a reason below (audited), Enter; Esc cancels" :
		 "type a reason below (audited), Enter; Esc cancels", in);
}

/* ------------------------------------------------------------------------ */

void view_render(struct grid *g, struct ui *u, const struct model *live, int64_t now_ms,
		 int64_t wall_ms)
{
	const struct model *m = ui_shown(u, live);
	int body, y = 2, ev_rows, gr_rows, nrows;

	grid_clear(g);
	if (g->rows < 8 || g->cols < 30) {
		grid_put(g, 0, 0, GS_BAD, "vigil: the terminal is too small (need 30x8)", -1);
		return;
	}
	draw_header(g, u, m, now_ms, wall_ms);
	body = g->rows - 3;   /* rows 2 .. rows-2 */
	if (u->view == UV_DETAIL) {
		draw_detail(g, u, live, y, body, now_ms, wall_ms);
	} else if (u->view == UV_HISTORY) {
		draw_history(g, u, y, body, wall_ms);
	} else if (u->view == UV_HELP) {
		draw_help(g, u, live, y, body);
	} else {
		ev_rows = body >= 30 ? 9 : body >= 16 ? 5 : 2;
		gr_rows = (int)m->ng + 1;
		if (gr_rows > body / 4 + 1)
			gr_rows = body / 4 + 1;
		if (gr_rows < 2)
			gr_rows = 2;
		y += draw_groups(g, m, y, gr_rows, wall_ms);
		nrows = g->rows - 1 - ev_rows - y;
		draw_nodes(g, u, m, y, nrows, now_ms);
		draw_events(g, u, m, g->rows - 1 - ev_rows, ev_rows, wall_ms);
	}
	if (u->cmd.stage == UCS_PREFLIGHT ||
	    ((u->cmd.stage == UCS_REASON || u->cmd.stage == UCS_CONFIRM) && u->cmd.pf_have))
		draw_preflight(g, u, 2, body);
	else if ((strcmp(u->cmd.verb, "ack") == 0 || strcmp(u->cmd.verb, "silence_add") == 0) &&
		 (u->cmd.stage == UCS_FORM || u->cmd.stage == UCS_REASON))
		draw_alert_box(g, u, live, 2, body, wall_ms);
	draw_status(g, u, m, now_ms);   /* last: it counts the nodes the body showed */
}
