/* dash — the live dashboard's terminal and network glue.  The one file that
 * calls initscr/endwin.  Everything it shows is rendered by tui/view.c into
 * a grid; every key goes through tui/ui.c; this file only moves bytes:
 * collector -> ui_on_message, keys -> ui_key, ui's requests -> the socket,
 * the grid -> the terminal (only the cells that changed).
 *
 * Loop: pump the network for at most 30 ms, fold messages, read keys,
 * redraw every refresh_ms (and at once after a key).  It never waits on the
 * network longer than that, so keys are answered while the collector hangs.
 * The terminal is restored on every exit path: q, SIGTERM/SIGINT/SIGHUP/
 * SIGQUIT, exit() anywhere (atexit), and the connection dying (the screen
 * stays, marked stale, and reconnects with backoff).
 *
 * Without a terminal (stdout not a tty) and with --frames N, it runs the
 * same loop headless and prints the last frame as text: the tests and the
 * sanitizer builds run the real thing that way. */
#define NCURSES_WIDECHAR 1
#include "tui/dash.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "proto/util.h"
#include "tui/client.h"
#include "tui/grid.h"
#include "tui/model.h"
#include "tui/ui.h"
#include "tui/view.h"

enum { PAIR_OK = 1, PAIR_WARN, PAIR_BAD, PAIR_DIM, PAIR_INFO };

struct dash {
	const struct dash_config *cfg;
	struct oclient *oc;
	struct model m;
	struct ui u;
	struct grid back, front;    /* what we want / what the terminal shows */
	bool curses, color, front_valid;
	int retry_delay_ms;
	int64_t retry_at_ms;
};

static volatile sig_atomic_t g_quit;
static bool g_curses_on;

static void on_signal(int sig)
{
	(void)sig;
	g_quit = 1;
}

static void restore_terminal(void)
{
	if (g_curses_on) {
		g_curses_on = false;
		endwin();
	}
}

/* ------------------------------------------------------------------------
 * network
 * ---------------------------------------------------------------------- */

static void send_queued(struct dash *d)
{
	char *s;

	while ((s = ui_out_pop(&d->u))) {
		if (!d->oc || oclient_send(d->oc, s, strlen(s)))
			ui_status(&d->u, GS_BAD, util_mono_ms(),
				  "not connected: the request was not sent (retry once reconnected)");
		free(s);
	}
}

static void connect_collector(struct dash *d)
{
	char err[256];

	oclient_free(d->oc);
	d->oc = oclient_new(&d->cfg->url, d->cfg->token, d->cfg->insecure, err, sizeof err);
	if (!d->oc) {
		ui_set_conn(&d->u, UC_DOWN, d->retry_at_ms, err);
		return;
	}
	ui_set_conn(&d->u, UC_CONNECTING, 0, "");
	ui_on_connect(&d->u, util_mono_ms());
	send_queued(d);
}

/* Returns UI_* flags. */
static int pump(struct dash *d, int wait_ms)
{
	char *msg, why[256];
	size_t len;
	int flags = 0;
	int64_t now = util_mono_ms();
	enum oclient_state st;

	if (!d->oc) {
		if (now >= d->retry_at_ms)
			connect_collector(d);
		else
			napms(wait_ms);
		return UI_REDRAW;
	}
	oclient_service(d->oc, wait_ms);
	while ((msg = oclient_next(d->oc, &len))) {
		flags |= ui_on_message(&d->u, &d->m, msg, len, util_mono_ms(), util_wall_ms());
		free(msg);
	}
	st = oclient_state(d->oc, why, sizeof why);
	if (st == OC_OPEN && d->u.conn != UC_OPEN) {
		d->retry_delay_ms = 500;
		ui_set_conn(&d->u, UC_OPEN, 0, "");
		flags |= UI_REDRAW;
	} else if (st == OC_CLOSED) {
		oclient_free(d->oc);
		d->oc = NULL;
		d->retry_at_ms = now + d->retry_delay_ms;
		d->retry_delay_ms = d->retry_delay_ms * 2 > 5000 ? 5000 : d->retry_delay_ms * 2;
		ui_set_conn(&d->u, UC_DOWN, d->retry_at_ms, why);
		flags |= UI_REDRAW;
	}
	send_queued(d);
	return flags;
}

/* ------------------------------------------------------------------------
 * terminal
 * ---------------------------------------------------------------------- */

static attr_t style_attr(const struct dash *d, int st)
{
	attr_t a = 0;

	switch (st & ~GS_REV) {
	case GS_TITLE: a = A_REVERSE; break;
	case GS_HEAD: a = A_BOLD; break;
	case GS_OK: a = d->color ? COLOR_PAIR(PAIR_OK) : 0; break;
	case GS_WARN: a = d->color ? COLOR_PAIR(PAIR_WARN) | A_BOLD : A_BOLD; break;
	case GS_BAD: a = d->color ? COLOR_PAIR(PAIR_BAD) | A_BOLD : A_BOLD | A_UNDERLINE; break;
	case GS_DIM: a = d->color ? COLOR_PAIR(PAIR_DIM) : A_DIM; break;
	case GS_GREY: a = A_DIM; break;
	case GS_INFO: a = d->color ? COLOR_PAIR(PAIR_INFO) | A_BOLD : A_BOLD; break;
	case GS_INPUT: a = A_BOLD; break;
	default: break;
	}
	if (st & GS_REV)
		a |= A_REVERSE;
	return a;
}

static bool cell_eq(const struct gcell *a, const struct gcell *b)
{
	return a->ch == b->ch && a->st == b->st;
}

/* Write the cells that differ from what the terminal shows, in runs of one
 * style: no erase, so nothing flickers. */
static void blit(struct dash *d)
{
	wchar_t run[512];

	for (int y = 0; y < d->back.rows; y++) {
		int x = 0;

		while (x < d->back.cols) {
			struct gcell *b = grid_at(&d->back, y, x);
			int st, n = 0, x0 = x;

			if (d->front_valid && cell_eq(b, grid_at(&d->front, y, x))) {
				x++;
				continue;
			}
			st = b->st;
			while (x < d->back.cols && n < 511) {
				struct gcell *c = grid_at(&d->back, y, x);

				if (c->st != st || (d->front_valid && cell_eq(c, grid_at(&d->front, y, x))))
					break;
				run[n++] = !d->u.unicode && c->ch >= 0x80 ? L'?' : (wchar_t)c->ch;
				x++;
			}
			run[n] = 0;
			attrset(style_attr(d, st));
			mvaddnwstr(y, x0, run, n);
		}
	}
	attrset(A_NORMAL);
	memcpy(d->front.c, d->back.c, sizeof *d->back.c * (size_t)d->back.rows * (size_t)d->back.cols);
	d->front_valid = true;
	refresh();
}

static int resize_grids(struct dash *d, int rows, int cols)
{
	if (d->back.rows == rows && d->back.cols == cols && d->back.c)
		return 0;
	grid_done(&d->back);
	grid_done(&d->front);
	d->front_valid = false;
	if (grid_init(&d->back, rows, cols) || grid_init(&d->front, rows, cols))
		return -1;
	return 0;
}

static int map_key(int ch)
{
	switch (ch) {
	case KEY_UP: return UK_UP;
	case KEY_DOWN: return UK_DOWN;
	case KEY_PPAGE: return UK_PGUP;
	case KEY_NPAGE: return UK_PGDN;
	case KEY_HOME: return UK_HOME;
	case KEY_END: return UK_END;
	case KEY_LEFT: return UK_LEFT;
	case KEY_RIGHT: return UK_RIGHT;
	case KEY_ENTER: case '\n': case '\r': return UK_ENTER;
	case 27: return UK_ESC;
	case KEY_BACKSPACE: case 127: case 8: return UK_BACKSPACE;
	case '\t': return UK_TAB;
	case KEY_RESIZE: return UK_RESIZE;
	default: return ch;
	}
}

/* Returns UI_* flags. */
static int read_keys(struct dash *d)
{
	wint_t wc;
	int r, flags = 0;

	while ((r = get_wch(&wc)) != ERR) {
		/* a typed character beyond ASCII is itself (it may collide with KEY_* codes) */
		int key = r == OK && wc >= 0x80 ? (int)wc : map_key((int)wc);

		if (key == UK_RESIZE) {
			if (resize_grids(d, LINES, COLS))
				return UI_QUIT;
			clear();
		}
		flags |= ui_key(&d->u, &d->m, key, util_mono_ms(), util_wall_ms());
		send_queued(d);
		if (flags & UI_QUIT)
			break;
	}
	return flags;
}

static int start_curses(struct dash *d)
{
	if (!newterm(NULL, stdout, stdin)) {
		fprintf(stderr, "vigil: cannot open the terminal (TERM=%s); use 'vigil status' "
			"in scripts\n", getenv("TERM") ? getenv("TERM") : "unset");
		return -1;
	}
	g_curses_on = true;
	atexit(restore_terminal);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	d->color = has_colors() && !(getenv("NO_COLOR") && getenv("NO_COLOR")[0]);
	if (d->color) {
		start_color();
		use_default_colors();
		init_pair(PAIR_OK, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		init_pair(PAIR_BAD, COLOR_RED, -1);
		init_pair(PAIR_DIM, COLOR_BLUE, -1);
		init_pair(PAIR_INFO, COLOR_CYAN, -1);
	}
	d->curses = true;
	return resize_grids(d, LINES, COLS);
}

static void print_frame(const struct grid *g)
{
	char line[8192];

	for (int y = 0; y < g->rows; y++) {
		grid_line(g, y, line, sizeof line);
		printf("%s\n", line);
	}
	fflush(stdout);
}

static int env_int(const char *name, int dflt, int lo, int hi)
{
	const char *s = getenv(name);
	long long v;

	if (!s || util_parse_int(s, lo, hi, &v))
		return dflt;
	return (int)v;
}

int dash_run(const struct dash_config *cfg)
{
	static struct dash d;
	struct sigaction sa;
	int64_t next_draw = 0;
	int frames = 0, rc = 0;
	bool headless = cfg->frames > 0 && !isatty(STDOUT_FILENO);
	const char *cs;

	memset(&d, 0, sizeof d);
	d.cfg = cfg;
	d.retry_delay_ms = 500;
	model_init(&d.m);
	ui_init(&d.u, cfg->url.host, cfg->url.port);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);   /* installed before initscr, so ncurses keeps ours */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	d.u.unicode = cs && strcmp(cs, "UTF-8") == 0 && !getenv("VIGIL_ASCII");
	if (headless) {
		if (resize_grids(&d, env_int("LINES", 40, 8, 1000), env_int("COLUMNS", 120, 30, 1000))) {
			rc = 1;
			goto out;
		}
	} else if (start_curses(&d)) {
		rc = 2;
		goto out;
	}
	connect_collector(&d);
	while (!g_quit) {
		int kf = 0;
		int64_t now;

		pump(&d, 30);
		if (d.curses)
			kf = read_keys(&d);
		if (kf & UI_QUIT)
			break;
		now = util_mono_ms();
		if (now >= next_draw || (kf & UI_REDRAW)) {   /* a key is answered at once */
			view_render(&d.back, &d.u, &d.m, now, util_wall_ms());
			if (d.curses)
				blit(&d);
			if (now >= next_draw) {
				next_draw = now + cfg->refresh_ms;
				if (cfg->frames > 0 && ++frames >= cfg->frames)
					break;
			}
		}
	}
	if (headless)
		print_frame(&d.back);
out:
	restore_terminal();
	oclient_free(d.oc);
	ui_done(&d.u);
	model_done(&d.m);
	grid_done(&d.back);
	grid_done(&d.front);
	return rc;
}
