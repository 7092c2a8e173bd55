/* dash — ncurses status screen over the operator protocol.
 *
 * Loop: pump the network for at most 50 ms, fold messages into the model,
 * read keys, redraw every refresh_ms.  It never waits on the network longer
 * than that, so keys are answered while the collector hangs.  The terminal is
 * restored on every exit path: normal quit, SIGTERM/SIGINT/SIGHUP, and the
 * collector going away (the screen stays, marked stale). */
#include "tui/dash.h"

#include <cJSON.h>
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/jsonw.h"
#include "proto/util.h"
#include "tui/client.h"
#include "tui/model.h"
#include "tui/table.h"

#define EVENTS_KEPT 200

enum { PAIR_OK = 1, PAIR_WARN, PAIR_BAD, PAIR_DIM, PAIR_HEAD };

struct dash {
	const struct dash_config *cfg;
	struct oclient *oc;
	struct model m;
	bool connected_once;
	int64_t retry_at_ms;
	int retry_delay_ms;
	char why[256];
	char events[EVENTS_KEPT][256];
	int nevents, ev_head;
	bool color;
	int scroll;
};

static volatile sig_atomic_t g_quit;

static void on_signal(int sig)
{
	(void)sig;
	g_quit = 1;
}

/* One transition object (as in "event" messages and history rows). */
static void add_event_obj(struct dash *d, const cJSON *e)
{
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(e, "ts_ms");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(e, "node");
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(e, "from");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(e, "to");
	const cJSON *rule = cJSON_GetObjectItemCaseSensitive(e, "rule");
	char *slot;

	if (cJSON_IsNumber(ts) && cJSON_IsString(node) && cJSON_IsString(from) &&
	    cJSON_IsString(to) && to->valuestring[0] && cJSON_IsString(rule)) {
		time_t secs = (time_t)(ts->valuedouble / 1000);
		struct tm tm;
		char hhmmss[16];

		localtime_r(&secs, &tm);
		strftime(hhmmss, sizeof hhmmss, "%H:%M:%S", &tm);
		slot = d->events[d->ev_head];
		snprintf(slot, sizeof d->events[0], "%s  %-20s %s -> %s  (%s)", hhmmss, node->valuestring,
			 from->valuestring[0] ? from->valuestring : "new", to->valuestring,
			 rule->valuestring);
		d->ev_head = (d->ev_head + 1) % EVENTS_KEPT;
		if (d->nevents < EVENTS_KEPT)
			d->nevents++;
	}
}

/* The answer to the history query sent at connect: newest first, so the
 * pane is filled from the end. */
static void seed_events(struct dash *d, const cJSON *data)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(data, "events");
	int n = cJSON_GetArraySize(arr);

	d->nevents = d->ev_head = 0;
	for (int i = n - 1; i >= 0; i--)
		add_event_obj(d, cJSON_GetArrayItem(arr, i));
}

static void handle_message(struct dash *d, const char *text, size_t len)
{
	cJSON *r = cJSON_ParseWithLength(text, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "type");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
	char err[256];

	if (!cJSON_IsString(t))
		goto out;
	if ((strcmp(t->valuestring, "snapshot") == 0 || strcmp(t->valuestring, "delta") == 0) &&
	    cJSON_IsObject(data)) {
		char *s = cJSON_PrintUnformatted(data);

		if (s && model_apply(&d->m, s, strlen(s), strcmp(t->valuestring, "snapshot") == 0,
				     util_mono_ms(), err, sizeof err))
			util_strlcpy(d->why, err, sizeof d->why);
		free(s);
	} else if (strcmp(t->valuestring, "event") == 0) {
		add_event_obj(d, cJSON_GetObjectItemCaseSensitive(r, "event"));
	} else if (strcmp(t->valuestring, "result") == 0 && cJSON_IsObject(data)) {
		seed_events(d, data);
	} else if (strcmp(t->valuestring, "error") == 0) {
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r, "message");

		snprintf(d->why, sizeof d->why, "collector: %s",
			 cJSON_IsString(msg) ? msg->valuestring : "error");
	}
out:
	cJSON_Delete(r);
}

static void connect_collector(struct dash *d)
{
	struct oper_msg q = { .type = OMSG_QUERY };
	char req[256], err[256];
	int n;

	oclient_free(d->oc);
	d->oc = oclient_new(&d->cfg->url, d->cfg->token, d->cfg->insecure, err, sizeof err);
	if (!d->oc) {
		util_strlcpy(d->why, err, sizeof d->why);
		return;
	}
	n = proto_encode_subscribe(req, sizeof req, 1);
	if (n > 0)
		oclient_send(d->oc, req, (size_t)n);
	q.id = 2;
	q.limit = 30;
	util_strlcpy(q.what, "events", sizeof q.what);
	util_strlcpy(q.kind, "state", sizeof q.kind);
	n = proto_encode_query(req, sizeof req, &q);
	if (n > 0)
		oclient_send(d->oc, req, (size_t)n);
}

static void pump(struct dash *d)
{
	char *msg;
	size_t len;
	int64_t now = util_mono_ms();

	if (!d->oc) {
		if (now >= d->retry_at_ms)
			connect_collector(d);
		else
			napms(50);
		return;
	}
	oclient_service(d->oc, 50);
	while ((msg = oclient_next(d->oc, &len))) {
		handle_message(d, msg, len);
		free(msg);
	}
	if (oclient_state(d->oc, NULL, 0) == OC_OPEN) {
		d->connected_once = true;
		d->retry_delay_ms = 500;
		d->why[0] = '\0';
	} else if (oclient_state(d->oc, d->why, sizeof d->why) == OC_CLOSED) {
		oclient_free(d->oc);
		d->oc = NULL;
		d->retry_at_ms = now + d->retry_delay_ms;
		d->retry_delay_ms = d->retry_delay_ms * 2 > 5000 ? 5000 : d->retry_delay_ms * 2;
	}
}

static int state_pair(const char *state)
{
	if (strcmp(state, "alive") == 0)
		return PAIR_OK;
	if (strcmp(state, "suspect") == 0 || strcmp(state, "degraded") == 0)
		return PAIR_WARN;
	if (strcmp(state, "failed") == 0)
		return PAIR_BAD;
	return PAIR_DIM;
}

/* Print a block of text lines from row y; returns the next row.  Node rows
 * are coloured by the state in their third column. */
static int print_block(struct dash *d, int y, int maxy, const char *text, bool nodes, int skip)
{
	const char *p = text;
	int line = 0;

	while (*p && y < maxy) {
		const char *e = strchr(p, '\n');
		int len = e ? (int)(e - p) : (int)strlen(p);
		int attr = 0;

		if (line == 0 && nodes) {
			attr = A_BOLD;
		} else if (nodes && line - 1 < skip) {
			line++;
			p = e ? e + 1 : p + len;
			continue;
		} else if (nodes && d->color) {
			size_t idx = (size_t)(line - 1);

			if (idx < d->m.n)
				attr = COLOR_PAIR(state_pair(d->m.nodes[idx].state));
		}
		attron(attr);
		mvaddnstr(y++, 0, p, len < COLS ? len : COLS);
		attroff(attr);
		line++;
		p = e ? e + 1 : p + len;
	}
	return y;
}

static void draw(struct dash *d)
{
	struct jw w;
	char clock[32], status[320];
	time_t t = time(NULL);
	struct tm tm;
	int y = 0, rows_for_nodes;
	bool open = d->oc && oclient_state(d->oc, NULL, 0) == OC_OPEN;

	localtime_r(&t, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	erase();
	attron(A_BOLD);
	mvprintw(y++, 0, "vigil %s", clock);
	attroff(A_BOLD);
	jw_init_dynamic(&w, 4096);
	if (d->m.have_data)
		render_summary(&d->m, &w);
	else
		jw_raw(&w, "waiting for the collector...\n", 29);
	if (jw_finish(&w) >= 0)
		y = print_block(d, y, LINES - 1, w.buf, false, 0);
	w.len = 0;
	render_groups(&d->m, &w);
	if (jw_finish(&w) >= 0 && d->m.ng)
		y = print_block(d, y + 1, LINES - 1, w.buf, false, 0);
	w.len = 0;
	render_nodes(&d->m, util_mono_ms(), COLS >= 120, &w);
	rows_for_nodes = LINES - 1 - (y + 1) - 7;
	if (d->scroll > (int)d->m.n - rows_for_nodes)
		d->scroll = (int)d->m.n - rows_for_nodes;
	if (d->scroll < 0)
		d->scroll = 0;
	if (jw_finish(&w) >= 0)
		y = print_block(d, y + 1, LINES - 1 - 7 > y + 2 ? LINES - 1 - 7 : LINES - 1, w.buf, true,
				d->scroll);
	free(w.buf);
	if (y < LINES - 2) {
		attron(A_BOLD);
		mvprintw(y + 1, 0, "RECENT TRANSITIONS");
		attroff(A_BOLD);
		y += 2;
		for (int i = 0; i < d->nevents && y < LINES - 1; i++) {
			int idx = (d->ev_head - 1 - i + EVENTS_KEPT) % EVENTS_KEPT;

			mvaddnstr(y++, 0, d->events[idx], COLS);
		}
	}
	if (open)
		snprintf(status, sizeof status, "connected to %s:%d  |  q quit, Up/Down scroll",
			 d->cfg->url.host, d->cfg->url.port);
	else if (!d->oc)
		snprintf(status, sizeof status, "disconnected, retrying in %.0f s%s%s%s",
			 (double)(d->retry_at_ms - util_mono_ms() + 999) / 1000.0,
			 d->m.have_data ? " (STALE: last known state shown)" : "",
			 d->why[0] ? ": " : "", d->why);
	else
		snprintf(status, sizeof status, "connecting to %s:%d ...", d->cfg->url.host,
			 d->cfg->url.port);
	attron(A_REVERSE);
	mvaddnstr(LINES - 1, 0, status, COLS);
	attroff(A_REVERSE);
	refresh();
}

static bool handle_keys(struct dash *d)
{
	int ch;

	while ((ch = getch()) != ERR) {
		switch (ch) {
		case 'q':
		case 'Q':
			return true;
		case KEY_DOWN: d->scroll++; break;
		case KEY_UP: d->scroll--; break;
		case KEY_NPAGE: d->scroll += 10; break;
		case KEY_PPAGE: d->scroll -= 10; break;
		default: break;
		}
	}
	return false;
}

int dash_run(const struct dash_config *cfg)
{
	static struct dash d;
	struct sigaction sa;
	int64_t next_draw = 0;
	int frames = 0;

	memset(&d, 0, sizeof d);
	d.cfg = cfg;
	d.retry_delay_ms = 500;
	model_init(&d.m);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);   /* installed before initscr, so ncurses keeps ours */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	setlocale(LC_ALL, "");
	if (!newterm(NULL, stdout, stdin)) {
		fprintf(stderr, "vigil: cannot open the terminal (TERM=%s); use 'vigil status' "
			"in scripts\n", getenv("TERM") ? getenv("TERM") : "unset");
		return 2;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	d.color = has_colors() && !getenv("NO_COLOR");
	if (d.color) {
		start_color();
		use_default_colors();
		init_pair(PAIR_OK, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		init_pair(PAIR_BAD, COLOR_RED, -1);
		init_pair(PAIR_DIM, COLOR_CYAN, -1);
		init_pair(PAIR_HEAD, COLOR_WHITE, -1);
	}
	connect_collector(&d);
	while (!g_quit) {
		int64_t now;

		pump(&d);
		if (handle_keys(&d))
			break;
		now = util_mono_ms();
		if (now >= next_draw) {
			draw(&d);
			next_draw = now + cfg->refresh_ms;
			if (cfg->frames > 0 && ++frames >= cfg->frames)
				break;
		}
	}
	endwin();
	oclient_free(d.oc);
	model_done(&d.m);
	return 0;
}
