/* table — aligned text output. */
#include "tui/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/util.h"

struct table {
	int ncols;
	char (*cells)[TABLE_CELL_MAX];   /* rows * ncols, row 0 = headers */
	size_t rows, cap;
};

struct table *table_new(int ncols, const char *const *headers)
{
	struct table *t;

	if (ncols < 1 || ncols > TABLE_MAX_COLS)
		return NULL;
	t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->ncols = ncols;
	if (table_add(t, headers)) {
		free(t);
		return NULL;
	}
	return t;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	free(t->cells);
	free(t);
}

int table_add(struct table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		void *nc = realloc(t->cells, ncap * (size_t)t->ncols * TABLE_CELL_MAX);

		if (!nc)
			return -1;
		t->cells = nc;
		t->cap = ncap;
	}
	for (int c = 0; c < t->ncols; c++)
		util_strlcpy(t->cells[t->rows * (size_t)t->ncols + (size_t)c], cells[c] ? cells[c] : "",
			     TABLE_CELL_MAX);
	t->rows++;
	return 0;
}

void table_render(const struct table *t, struct jw *out)
{
	size_t w[TABLE_MAX_COLS] = { 0 };
	/* the widest padding: an empty cell in a column of TABLE_CELL_MAX-1, plus 2 */
	static const char spaces[TABLE_CELL_MAX + 2] =
		"                                                                                                 ";

	for (size_t r = 0; r < t->rows; r++)
		for (int c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);

			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->rows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
			size_t l = strlen(cell);

			jw_raw(out, cell, l);
			if (c < t->ncols - 1)
				jw_raw(out, spaces, w[c] - l + 2);
		}
		/* trim what padding an empty last column left */
		while (out->len && out->buf[out->len - 1] == ' ')
			out->len--;
		jw_raw(out, "\n", 1);
	}
}

static void fmt_num(double v, const char *fmt, char *buf, size_t len)
{
	if (isfinite(v))
		snprintf(buf, len, fmt, v);
	else
		util_strlcpy(buf, "-", len);
}

void render_summary(const struct model *m, struct jw *out)
{
	static const char *const states[] = { "alive", "suspect", "failed", "degraded", "left",
					       "maintenance" };
	char line[1024];
	int n = snprintf(line, sizeof line, "%zu node%s", m->n, m->n == 1 ? "" : "s");
	const char *sep = ": ";

	for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
		int k = 0;

		for (size_t i = 0; i < m->n; i++)
			k += strcmp(m->nodes[i].state, states[s]) == 0;
		if (k && n < (int)sizeof line)
			n += snprintf(line + n, sizeof line - (size_t)n, "%s%d %s", sep, k, states[s]);
		if (k)
			sep = ", ";
	}
	if (n < (int)sizeof line)
		n += snprintf(line + n, sizeof line - (size_t)n, "  |  collector %s at %s%s%s%s%s\n",
			      m->instance, m->listen, m->tilt ? ", TILT (not deciding)" : "",
			      m->recording ? ", recording" : ", NOT RECORDING: ",
			      m->recording ? "" : m->store_error,
			      strcmp(m->auth, "loopback-only") == 0 ? ", loopback only" : "");
	jw_raw(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void render_groups(const struct model *m, struct jw *out)
{
	static const char *const hdr[] = { "GROUP", "MEMBERS", "ALIVE" };
	struct table *t = table_new(3, hdr);

	if (!t)
		return;
	for (size_t i = 0; i < m->ng; i++) {
		char mem[16], alive[16];
		const char *row[] = { m->groups[i].name, mem, alive };

		snprintf(mem, sizeof mem, "%d", m->groups[i].members);
		snprintf(alive, sizeof alive, "%d", m->groups[i].alive);
		table_add(t, row);
	}
	table_render(t, out);
	table_free(t);
}

/* The RULE column says why a node is in its state: the rule that decided,
 * the health reasons of a degraded node, and a flapping flag. */
static void why_cell(const struct mnode *n, char *buf, size_t len)
{
	const char *flap = n->flapping ? " [FLAPPING]" : "";
	int room = (int)len - (int)strlen(n->rule) - (int)strlen(flap) - 3;

	snprintf(buf, len, "%s%s%.*s%s", n->rule, n->health[0] ? ": " : "", room > 0 ? room : 0,
		 n->health, flap);
}

void render_nodes(const struct model *m, int64_t now_ms, bool wide, struct jw *out)
{
	static const char *const hdr[] = { "NODE", "GROUP", "STATE", "ROLE", "LAST-HB", "PHI", "WHY",
					   "RTT", "CHECKS", "CPU%", "MEM%", "LOAD1", "DISK%", "VERSION" };
	static const char *const hdr_wide[] = { "NODE", "GROUP", "STATE", "ROLE", "LAST-HB", "PHI",
						"RTT", "CHECKS", "CPU%", "MEM%", "LOAD1", "DISK%", "VERSION",
						"WHY" };
	struct table *t = wide ? table_new(14, hdr_wide) : table_new(7, hdr);

	if (!t)
		return;
	for (size_t i = 0; i < m->n; i++) {
		const struct mnode *n = &m->nodes[i];
		char age[32], phi[32], cpu[16], mem[16], load[16], disk[16], rtt[24], checks[24];
		char why[TABLE_CELL_MAX];
		const char *row[] = { n->name, n->group, n->state, n->role, age, phi, why };
		const char *row_wide[] = { n->name, n->group, n->state, n->role, age, phi, rtt, checks,
					   cpu, mem, load, disk, n->version, why };

		util_fmt_age(model_hb_age(n, now_ms), age, sizeof age);
		fmt_num(n->phi, "%.2f", phi, sizeof phi);
		fmt_num(n->cpu, "%.1f", cpu, sizeof cpu);
		fmt_num(n->mem, "%.1f", mem, sizeof mem);
		fmt_num(n->load1, "%.2f", load, sizeof load);
		fmt_num(n->disk, "%.1f", disk, sizeof disk);
		if (n->rtt_ms >= 0)
			snprintf(rtt, sizeof rtt, "%lldms", (long long)n->rtt_ms);
		else
			util_strlcpy(rtt, "-", sizeof rtt);
		if (n->nchecks)
			snprintf(checks, sizeof checks, "%d/%d ok", n->nchecks - n->checks_critical, n->nchecks);
		else
			util_strlcpy(checks, "-", sizeof checks);
		why_cell(n, why, sizeof why);
		table_add(t, wide ? row_wide : row);
	}
	table_render(t, out);
	table_free(t);
}
