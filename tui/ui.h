/* ui — the dashboard's state and how it changes.  Pure: keys and the
 * collector's messages come in (with the caller's clocks), requests to send
 * come out (ui_out_pop), and nothing here touches a terminal, a socket or a
 * clock, so the unit tests drive it exactly as the terminal does.
 *
 * Ownership: struct ui owns its queued requests, its history rows and the
 * time-travel model; the live model belongs to the caller. */
#ifndef VIGIL_TUI_UI_H
#define VIGIL_TUI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "tui/model.h"

/* Keys other than plain characters (dash.c maps ncurses' codes to these). */
enum ui_keycode {
	UK_UP = 0x110000, UK_DOWN, UK_PGUP, UK_PGDN, UK_HOME, UK_END, UK_LEFT, UK_RIGHT,
	UK_ENTER, UK_ESC, UK_BACKSPACE, UK_TAB, UK_RESIZE
};

/* What a key or a message asks of the loop. */
#define UI_REDRAW 1
#define UI_QUIT   2

enum ui_view { UV_MAIN, UV_DETAIL, UV_HISTORY, UV_HELP };
enum ui_input { UI_IN_NONE, UI_IN_FILTER, UI_IN_CMDLINE, UI_IN_REASON, UI_IN_CONFIRM, UI_IN_TIME,
		UI_IN_SILENCE };
enum ui_sort { US_GROUP, US_STATE, US_PHI, US_HB, US_CPU, US_MEM, US_RTT, US_N };
enum ui_conn { UC_CONNECTING, UC_OPEN, UC_DOWN };
enum ui_cmd_stage { UCS_NONE, UCS_FORM, UCS_PREFLIGHT, UCS_REASON, UCS_CONFIRM, UCS_SENT };

#define UI_EVENTS   200
#define UI_OUT_MAX  32
#define UI_CANDS    12
#define UI_DET_EV   6

struct ui_event {
	int64_t id, ts_ms;
	char node[PROTO_NAME_MAX + 1], group[PROTO_NAME_MAX + 1];
	char kind[16], from[16], to[16], rule[40];
	double phi, mean_ms, sd_ms, hb_age_ms;
	int64_t samples;
	char detail[320];
};

struct ui_cand {
	char node[PROTO_NAME_MAX + 1];
	int priority;
	char state[16];
	bool eligible;
	char why_not[96];
};

struct ui_cmd {
	enum ui_cmd_stage stage;
	char verb[16];
	char group[PROTO_NAME_MAX + 1], node[PROTO_NAME_MAX + 1], to[PROTO_NAME_MAX + 1];
	bool on, force, dry_run;
	int64_t for_ms;                   /* 0: until undone */
	char reason[PROTO_TEXT_MAX + 1];
	/* ack: the alert (by id; Up/Down choose among the firing ones).
	 * silence_add: the matchers proposed from the selection, each on or off
	 * (r/n/g), and the duration typed in the form (UCS_FORM). */
	int64_t alert_id;
	char rule[PROTO_NAME_MAX + 1];
	char p_rule[PROTO_NAME_MAX + 1], p_node[PROTO_NAME_MAX + 1], p_group[PROTO_NAME_MAX + 1];
	bool m_rule, m_node, m_group, form_done;
	char label[400];                  /* what it acts on, for the status line; "" = group/node */
	int64_t pf_id, id;                /* the dry run's and the real command's request ids */
	/* the pre-flight, once answered */
	bool pf_have, pf_ok;
	char pf_text[256], pf_target[PROTO_NAME_MAX + 1], pf_blocked[256], pf_error[256];
	struct ui_cand cand[UI_CANDS];
	int ncand;
};

struct ui_hist {
	char node[PROTO_NAME_MAX + 1], group[PROTO_NAME_MAX + 1];
	bool by_group;
	int range;                        /* index into the ranges (1h, 6h, 24h, 7d) */
	int64_t since_ms, until_ms;
	int64_t id, rep_id;
	bool loading, rep_have;
	char error[256];
	struct ui_event *ev;
	int nev, cap, scroll;
	/* the report */
	double avail_pct;                 /* NAN: none observed */
	int64_t failures, mttr_ms, mtbf_ms, ttd_ms, up_ms, down_ms, failovers;
	double fo_p50_ms, fo_p99_ms;
};

struct ui {
	enum ui_view view;
	enum ui_input input;
	char in_buf[256];
	int in_len;
	enum ui_sort sort;
	char filter[64];
	char sel[PROTO_NAME_MAX + 1];     /* the selected node, by name: survives re-sorting */
	size_t top;                       /* first visible row of the node list */
	int page;                         /* node rows the last frame showed */
	/* nodes shown, in order (indexes into the shown model) */
	size_t *vis, nvis, vcap;
	long sel_idx;                     /* index into vis, -1 none */
	/* events pane: a ring, newest at ev_head-1 */
	struct ui_event events[UI_EVENTS];
	int nev, ev_head;
	/* the status line */
	char msg[512];
	int msg_st;
	int64_t msg_ms;
	/* the connection (set by the glue) */
	enum ui_conn conn;
	char host[256];
	int port;
	int64_t retry_at_ms, last_data_ms;
	char conn_why[256];
	/* may we act?  Learnt from collector.you or from a forbidden answer. */
	bool forbidden;
	char forbid_why[160];
	struct ui_cmd cmd;
	/* node detail */
	char det_node[PROTO_NAME_MAX + 1];
	int64_t det_id;
	bool det_loading;
	struct ui_event det_ev[UI_DET_EV];
	int det_nev;
	/* history and report */
	struct ui_hist hist;
	/* time travel: the cluster as it was at tt_at_ms */
	bool tt_on, tt_loading;
	int64_t tt_at_ms, tt_id;
	struct model tt;
	int64_t next_id;
	char *out[UI_OUT_MAX];
	int nout;
	bool unicode;                     /* may views use block characters? */
	int help_scroll;
};

void ui_init(struct ui *u, const char *host, int port);
void ui_done(struct ui *u);

/* A new connection: queue the subscription and the events seed. */
void ui_on_connect(struct ui *u, int64_t now_ms);
void ui_set_conn(struct ui *u, enum ui_conn c, int64_t retry_at_ms, const char *why);

/* Fold one message from the collector; returns UI_* flags. */
int ui_on_message(struct ui *u, struct model *m, const char *text, size_t len, int64_t now_ms,
		  int64_t wall_ms);
/* React to one key; returns UI_* flags. */
int ui_key(struct ui *u, struct model *m, int key, int64_t now_ms, int64_t wall_ms);

/* The next request to send (the caller frees it), or NULL. */
char *ui_out_pop(struct ui *u);

/* The model the main view shows: the live one, or the time-travel one. */
const struct model *ui_shown(const struct ui *u, const struct model *live);
/* Rebuild u->vis (filter and sort) and keep the selection on screen. */
void ui_visible(struct ui *u, const struct model *m, int64_t now_ms);
const struct mnode *ui_selected(const struct ui *u, const struct model *m);
/* May this operator act?  false with a reason when not. */
bool ui_can_act(const struct ui *u, const struct model *m, char *why, size_t len);
/* Put a message on the status line. */
void ui_status(struct ui *u, int st, int64_t now_ms, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

const char *ui_sort_name(enum ui_sort s);
int ui_state_rank(const char *state);   /* worse is higher */
extern const char *const ui_ranges[];   /* "1h", "6h", "24h", "7d" */
#define UI_NRANGES 4

#endif
