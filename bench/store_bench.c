/* store_bench.c — how fast vigil's store writes and answers; run by
 * bench/store.sh, which builds it with:
 *
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -I. bench/store_bench.c store/store.c \
 *       store/history.c $(pkg-config --cflags --libs sqlite3) -lpthread -lm \
 *       -o store_bench
 *
 * Usage: store_bench -d DIR [-t TRIALS] [-r INSERT_ROWS] [-e EVENTS]
 *                    [-n NODES] [-q QUERIES] [-R REPORT_NODES]
 *                    [-D REPORT_DAYS] [-x] [-p PARTS]
 *
 *   insert   TRIALS x INSERT_ROWS state events with evidence, NODES nodes
 *            (then 100 nodes, for comparison),
 *            queued by one producer thread through store_add_event() into a
 *            fresh file database; the real writer thread commits them.  Rate
 *            = rows / (first add .. store_flush() returned).  The producer
 *            retries after 100 us when the queue is full (-ENOSPC).
 *   history  EVENTS events for NODES nodes written with direct INSERTs into a
 *            file database (indexes dropped and rebuilt around the load),
 *            then QUERIES store_history() pages (limit 50, newest first) for
 *            random nodes, and a few other query shapes for comparison.
 *   report   REPORT_NODES nodes with REPORT_DAYS days of history (3 outages
 *            and 2 suspect blips per node per day, hourly agent events),
 *            then store_report() over the whole window, 20 times.
 *   -p       which parts to run, comma-separated: insert, history, report
 *            (default all three; the table shows "-" for parts not run).
 *   -x       the index experiment: also time the query shapes and the
 *            inserts with events(grp_id, ts_ms) (schema v4's), and with events(kind, ts_ms)
 *            added.
 *
 * Prints a Markdown table on stdout (bench/store.sh adds the heading),
 * progress on stderr.  Every figure is a median (or p50 / p99, nearest rank)
 * of timings taken in this run.  Files go to DIR, which store.sh removes.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/history.h"
#include "store/store.h"

#define DAY_MS (24LL * 3600 * 1000)

struct opts {
	const char *dir;
	int trials;
	long insert_rows;
	long events;
	int nodes;
	int queries;
	int report_nodes;
	int report_days;
	bool extra;
	const char *parts;
};

/* Whether part is in the -p list (all parts without one). */
static bool part_on(const struct opts *o, const char *part)
{
	const char *p = o->parts;
	size_t n = strlen(part);

	if (!p)
		return true;
	while ((p = strstr(p, part))) {
		if ((p == o->parts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "store_bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "store_bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* xorshift64: fast, deterministic. */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static double file_mb(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0.0 : (double)sb.st_size / 1e6;
}

static void remove_db(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[512];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("%s: %s", sql, err ? err : "?");
}

static struct store *open_or_die(const char *path)
{
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof(err));

	if (!s)
		die("%s", err);
	return s;
}

/* p in 1..100 of v[0..n) (sorts v); median = p50. */
static double pct(double *v, int n, int p)
{
	return history_percentile(v, n, p);
}

/* --- insert ------------------------------------------------------------ */

static const char *const states[] = { "alive", "suspect", "failed", "alive" };

static void fill_state_event(struct store_event *e, uint64_t *seed, int nodes,
			     int64_t ts_ms)
{
	uint64_t r = rnd(seed);
	int node = (int)(r % (uint64_t)nodes);
	int k = (int)((r >> 20) % 3);

	store_event_init(e);
	e->ts_ms = ts_ms;
	snprintf(e->node, sizeof(e->node), "node-%04d", node);
	snprintf(e->group, sizeof(e->group), "grp-%02d", node / 50);
	strcpy(e->kind, "state");
	strcpy(e->from_state, states[k]);
	strcpy(e->to_state, states[k + 1]);
	strcpy(e->rule, k == 0 ? "phi_suspect" : k == 1 ? "phi_failed" : "heartbeat");
	e->phi = 8.0 + (double)((r >> 8) % 400) / 100.0;
	e->mean_ms = 1000.0 + (double)((r >> 16) % 50);
	e->sd_ms = 12.5;
	e->samples = 200;
	e->hb_age_ms = 3000 + (int64_t)((r >> 24) % 3000);
	snprintf(e->detail, sizeof(e->detail),
		 "phi %.2f >= 8.00; last heartbeat %lld ms ago", e->phi,
		 (long long)e->hb_age_ms);
}

struct insert_result {
	double rows_per_s;
	double writer_us_per_row;       /* the writer thread's CPU time per row */
	double batch_rows;      /* mean rows per committed transaction */
	double mb_per_million;
};

static struct insert_result insert_trial(const char *path, long rows, int nodes)
{
	struct insert_result res;
	struct timespec pause = { 0, 100000 };
	struct store_event e;
	struct store_stats st;
	struct store *s;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int64_t ts = wall_ms() - DAY_MS;
	double t0;
	double t1;
	long i;
	int rc;

	s = open_or_die(path);
	t0 = mono_ms();
	for (i = 0; i < rows; i++) {
		fill_state_event(&e, &seed, nodes, ts + i);
		while ((rc = store_add_event(s, &e)) == -ENOSPC)
			nanosleep(&pause, NULL);
		if (rc)
			die("store_add_event: %s", strerror(-rc));
	}
	if (store_flush(s))
		die("store_flush failed");
	t1 = mono_ms();
	store_get_stats(s, &st);
	store_close(s);
	res.rows_per_s = (double)rows / ((t1 - t0) / 1e3);
	res.writer_us_per_row = (double)st.writer_cpu_us / (double)rows;
	res.batch_rows = st.batches ? (double)st.rows_written / (double)st.batches : 0;
	res.mb_per_million = file_mb(path) / ((double)rows / 1e6);
	remove_db(path);
	return res;
}

struct insert_summary {
	double rate_p50, rate_min, rate_max;
	double writer_us_p50;           /* writer CPU per row, median */
	double batch_rows;
	double mb_per_million;
};

static struct insert_summary bench_insert(const struct opts *o, const char *extra_sql)
{
	struct insert_summary sum = { 0 };
	struct insert_result r;
	double *rates = calloc((size_t)o->trials, sizeof(*rates));
	double *cpu = calloc((size_t)o->trials, sizeof(*cpu));
	char path[512];
	sqlite3 *db = NULL;
	int t;

	if (!rates || !cpu)
		die("out of memory");
	snprintf(path, sizeof(path), "%s/insert.db", o->dir);
	for (t = 0; t < o->trials; t++) {
		remove_db(path);
		if (extra_sql) {        /* the schema, then the variant */
			store_close(open_or_die(path));
			if (sqlite3_open(path, &db) != SQLITE_OK)
				die("%s: cannot open", path);
			exec_or_die(db, extra_sql);
			sqlite3_close(db);
		}
		r = insert_trial(path, o->insert_rows, o->nodes);
		say("insert trial %d (%d nodes%s): %.0f rows/s, %.0f rows per commit,"
		    " %.1f MB per 1e6, writer CPU %.2f us per row", t + 1, o->nodes,
		    extra_sql ? ", variant" : "", r.rows_per_s, r.batch_rows,
		    r.mb_per_million, r.writer_us_per_row);
		rates[t] = r.rows_per_s;
		cpu[t] = r.writer_us_per_row;
		sum.batch_rows += r.batch_rows / o->trials;
		sum.mb_per_million += r.mb_per_million / o->trials;
	}
	sum.rate_p50 = pct(rates, o->trials, 50);
	sum.rate_min = rates[0];
	sum.rate_max = rates[o->trials - 1];
	sum.writer_us_p50 = pct(cpu, o->trials, 50);
	free(rates);
	free(cpu);
	return sum;
}

/* --- the big history ----------------------------------------------------- */

static const char *const bulk_kinds[] = { "state", "conn", "agent", "flap", "hook",
					  "failover" };

/* Kind of event i: 40 % state, 30 % conn, 25 % agent, ~5 % flap, 0.01 %
 * hook, 0.01 % failover. */
static int bulk_kind(uint64_t r)
{
	unsigned v = (unsigned)(r % 10000);

	return v < 4000 ? 0 : v < 7000 ? 1 : v < 9500 ? 2 : v < 9998 ? 3 : v < 9999 ? 4 : 5;
}

/* Nodes 0 and 1 form a tiny group; the others are in groups of 50. */
static void bulk_group(int node_i, char *group, size_t size)
{
	if (node_i < 2)
		snprintf(group, size, "grp-tiny");
	else
		snprintf(group, size, "grp-%02d", node_i / 50);
}

/* names.id of name (schema v4: events refer to nodes and groups by it),
 * inserting it if new. */
static int64_t name_id(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int64_t id = 0;

	if (sqlite3_prepare_v2(db, "INSERT INTO names(name) VALUES(?1) ON CONFLICT(name)"
			       " DO UPDATE SET name = name RETURNING id", -1, &st,
			       NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		die("names: %s", sqlite3_errmsg(db));
	id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* Schema v5: node_groups lists the (group, node) pairs of the events. */
static void pair_add(sqlite3 *db, int64_t grp_id, int64_t node_id)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO node_groups VALUES(%lld, %lld)",
		 (long long)grp_id, (long long)node_id);
	exec_or_die(db, sql);
}

/* events rows for nodes nodes over 30 days, ts increasing, with direct
 * INSERTs in transactions of 500k rows; the events indexes are dropped for
 * the load and rebuilt. */
static void build_history(const char *path, long events, int nodes, int64_t t0)
{
	char **index_sql = NULL;
	char **index_name = NULL;
	int64_t *node_ids = NULL;
	int64_t *grp_ids = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	int64_t step = 30 * DAY_MS / events;
	char node[16];
	char group[16];
	char detail[96];
	double t = mono_ms();
	int nidx = 0;
	int kind;
	int node_i;
	long i;
	uint64_t r;

	remove_db(path);
	store_close(open_or_die(path));         /* the schema */
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("%s: cannot open", path);
	exec_or_die(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		    " PRAGMA cache_size=-1000000;");

	/* Keep the index definitions, drop them, load, rebuild. */
	if (sqlite3_prepare_v2(db, "SELECT sql, name FROM sqlite_master WHERE type = 'index'"
			       " AND tbl_name = 'event_log' AND sql IS NOT NULL", -1, &st,
			       NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		index_sql = realloc(index_sql, (size_t)(nidx + 1) * sizeof(*index_sql));
		index_name = realloc(index_name, (size_t)(nidx + 1) * sizeof(*index_name));
		if (!index_sql || !index_name)
			die("out of memory");
		index_sql[nidx] = strdup((const char *)sqlite3_column_text(st, 0));
		index_name[nidx++] = strdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	for (i = 0; i < nidx; i++) {
		snprintf(detail, sizeof(detail), "DROP INDEX %s", index_name[i]);
		exec_or_die(db, detail);
		free(index_name[i]);
	}
	free(index_name);

	node_ids = calloc((size_t)nodes, sizeof(*node_ids));
	grp_ids = calloc((size_t)nodes, sizeof(*grp_ids));
	if (!node_ids || !grp_ids)
		die("out of memory");
	exec_or_die(db, "BEGIN");
	for (i = 0; i < nodes; i++) {
		snprintf(node, sizeof(node), "node-%04ld", i);
		bulk_group((int)i, group, sizeof(group));
		node_ids[i] = name_id(db, node);
		grp_ids[i] = name_id(db, group);
		pair_add(db, grp_ids[i], node_ids[i]);
	}
	exec_or_die(db, "COMMIT");
	if (sqlite3_prepare_v2(db, "INSERT INTO event_log(ts_ms, node_id, grp_id, kind, from_state,"
			       " to_state, rule, phi, mean_ms, sd_ms, samples, hb_age_ms, detail)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
			       -1, &st, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db));
	exec_or_die(db, "BEGIN");
	for (i = 0; i < events; i++) {
		r = rnd(&seed);
		node_i = (int)(r % (uint64_t)nodes);
		kind = bulk_kind(r >> 16);
		sqlite3_bind_int64(st, 1, t0 + i * step);
		sqlite3_bind_int64(st, 2, node_ids[node_i]);
		sqlite3_bind_int64(st, 3, grp_ids[node_i]);
		sqlite3_bind_text(st, 4, bulk_kinds[kind], -1, SQLITE_STATIC);
		if (kind == 0) {
			sqlite3_bind_text(st, 5, "alive", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, (r >> 40) & 1 ? "suspect" : "alive", -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(st, 7, "phi_suspect", -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 8, 8.5);
			sqlite3_bind_double(st, 9, 1000.0);
			sqlite3_bind_double(st, 10, 12.5);
			sqlite3_bind_int(st, 11, 200);
			sqlite3_bind_int64(st, 12, 3000 + (int64_t)((r >> 24) % 3000));
			snprintf(detail, sizeof(detail),
				 "phi 8.50 >= 8.00; last heartbeat %d ms ago",
				 3000 + (int)((r >> 24) % 3000));
		} else {
			sqlite3_bind_null(st, 5);
			sqlite3_bind_null(st, 6);
			sqlite3_bind_text(st, 7, bulk_kinds[kind], -1, SQLITE_STATIC);
			sqlite3_bind_null(st, 8);
			sqlite3_bind_null(st, 9);
			sqlite3_bind_null(st, 10);
			sqlite3_bind_null(st, 11);
			sqlite3_bind_null(st, 12);
			snprintf(detail, sizeof(detail), "%s event %ld from the agent",
				 bulk_kinds[kind], i);
		}
		sqlite3_bind_text(st, 13, detail, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert: %s", sqlite3_errmsg(db));
		sqlite3_reset(st);
		if (i % 500000 == 499999) {
			exec_or_die(db, "COMMIT; BEGIN");
			if (i % 2000000 == 1999999)
				say("history: %ld / %ld rows", i + 1, events);
		}
	}
	exec_or_die(db, "COMMIT");
	sqlite3_finalize(st);
	free(node_ids);
	free(grp_ids);
	say("history: %ld rows loaded in %.1f s; rebuilding %d indexes", events,
	    (mono_ms() - t) / 1e3, nidx);
	for (i = 0; i < nidx; i++) {
		exec_or_die(db, index_sql[i]);
		free(index_sql[i]);
	}
	free(index_sql);
	exec_or_die(db, "PRAGMA journal_mode=WAL");
	sqlite3_close(db);
	say("history: ready in %.1f s, %.0f MB", (mono_ms() - t) / 1e3, file_mb(path));
}

static int count_cb(const struct store_event *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

struct shape {
	const char *name;
	int runs;
	double p50, p99;
	int rows;               /* of the last run */
};

/* Time runs pages of f; node / group chosen at random per run when
 * f->node / f->group is "*". */
static void time_pages(struct store *s, const struct history_filter *f0, int nodes,
		       struct shape *sh)
{
	double *ms = calloc((size_t)sh->runs, sizeof(*ms));
	struct history_filter f = *f0;
	uint64_t seed = 88172645463325252ULL;
	char node[16];
	char group[16];
	double t;
	int i;
	int n;

	if (!ms)
		die("out of memory");
	for (i = 0; i < sh->runs; i++) {
		snprintf(node, sizeof(node), "node-%04d", (int)(rnd(&seed) % (uint64_t)nodes));
		snprintf(group, sizeof(group), "grp-%02d",
			 (int)(rnd(&seed) % (uint64_t)((nodes + 49) / 50)));
		if (f0->node && !strcmp(f0->node, "*"))
			f.node = node;
		if (f0->group && !strcmp(f0->group, "*"))
			f.group = group;
		n = 0;
		t = mono_ms();
		if (store_history(s, &f, count_cb, &n))
			die("store_history failed");
		ms[i] = mono_ms() - t;
		sh->rows = n;
	}
	sh->p50 = pct(ms, sh->runs, 50);
	sh->p99 = pct(ms, sh->runs, 99);
	free(ms);
}

static void time_known(struct store *s, struct shape *sh)
{
	double *ms = calloc((size_t)sh->runs, sizeof(*ms));
	double t;
	int i;

	if (!ms)
		die("out of memory");
	for (i = 0; i < sh->runs; i++) {
		t = mono_ms();
		sh->rows = store_group_known(s, "no-such-group");
		ms[i] = mono_ms() - t;
	}
	sh->p50 = pct(ms, sh->runs, 50);
	sh->p99 = pct(ms, sh->runs, 99);
	free(ms);
}

static void time_at(struct store *s, int64_t at_ms, struct shape *sh)
{
	double *ms = calloc((size_t)sh->runs, sizeof(*ms));
	struct node_at *rows = NULL;
	double t;
	int i;

	if (!ms)
		die("out of memory");
	for (i = 0; i < sh->runs; i++) {
		t = mono_ms();
		if (store_at(s, at_ms, &rows, &sh->rows))
			die("store_at failed");
		ms[i] = mono_ms() - t;
		free(rows);
	}
	sh->p50 = pct(ms, sh->runs, 50);
	sh->p99 = pct(ms, sh->runs, 99);
	free(ms);
}

enum {
	SH_NODE, SH_NODE_DEEP, SH_NODE_KINDS, SH_GROUP, SH_TINY_GROUP, SH_KIND,
	SH_RARE, SH_RARE2, SH_ALL, SH_UNKNOWN_GROUP, SH_AT, SH_COUNT
};

static void bench_shapes(const char *path, const struct opts *o, int64_t t0,
			 struct shape sh[SH_COUNT])
{
	const struct history_filter f[SH_COUNT] = {
		[SH_NODE] = { .node = "*", .limit = 50 },
		[SH_NODE_DEEP] = { .node = "*", .limit = 50, .before_id = o->events / 2 },
		[SH_NODE_KINDS] = { .node = "*", .kind = "state,flap", .limit = 50 },
		[SH_GROUP] = { .group = "*", .limit = 50 },
		[SH_TINY_GROUP] = { .group = "grp-tiny", .limit = 50 },
		[SH_KIND] = { .kind = "state", .limit = 50 },
		[SH_RARE] = { .kind = "failover", .limit = 50 },
		[SH_RARE2] = { .kind = "failover,hook", .limit = 50 },
		[SH_ALL] = { .limit = 50 },
	};
	static const char *const names[SH_COUNT] = {
		[SH_NODE] = "one node's page (the goal)",
		[SH_NODE_DEEP] = "one node's page, before_id = middle of the table",
		[SH_NODE_KINDS] = "one node's page, kind \"state,flap\"",
		[SH_GROUP] = "one group's page (50 nodes)",
		[SH_TINY_GROUP] = "one group's page (2 nodes)",
		[SH_KIND] = "kind \"state\" page, all nodes",
		[SH_RARE] = "kind \"failover\" page (0.01 % of rows)",
		[SH_RARE2] = "kind \"failover,hook\" page",
		[SH_ALL] = "newest page, no filter",
		[SH_UNKNOWN_GROUP] = "store_group_known(unknown group)",
		[SH_AT] = "store_at(15 days in), all nodes",
	};
	struct store *s = open_or_die(path);
	int i;

	for (i = 0; i < SH_COUNT; i++) {       /* warm the caches, untimed */
		sh[i].runs = 3;
		if (i == SH_UNKNOWN_GROUP)
			time_known(s, &sh[i]);
		else if (i != SH_AT)
			time_pages(s, &f[i], o->nodes, &sh[i]);
	}
	for (i = 0; i < SH_COUNT; i++) {
		sh[i].name = names[i];
		sh[i].runs = o->queries;
		if (i == SH_UNKNOWN_GROUP || i == SH_AT)
			sh[i].runs = o->queries / 20 > 3 ? o->queries / 20 : 3;
		if (i == SH_UNKNOWN_GROUP)
			time_known(s, &sh[i]);
		else if (i == SH_AT)
			time_at(s, t0 + 15 * DAY_MS, &sh[i]);
		else
			time_pages(s, &f[i], o->nodes, &sh[i]);
		say("%s: p50 %.3f ms, p99 %.3f ms (%d runs, %d rows)", sh[i].name,
		    sh[i].p50, sh[i].p99, sh[i].runs, sh[i].rows);
	}
	store_close(s);
}

/* --- the report ---------------------------------------------------------- */

struct ev {
	int64_t ts;
	int node;
	const char *kind;
	const char *to;
	int64_t hb;
	const char *rule;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a;
	const struct ev *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

static struct ev *ev_push(struct ev **v, long *n, long *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		*v = realloc(*v, (size_t)*cap * sizeof(**v));
		if (!*v)
			die("out of memory");
	}
	return &(*v)[(*n)++];
}

/* Per node per day: 3 outages (suspect, failed 2-5 s later, conn lost, back
 * 30-600 s later: conn, alive), 2 suspect blips (1-3 s), 24 agent events;
 * alive a day before the window.  Written in time order. */
static long build_report_db(const char *path, int nodes, int days, int64_t since)
{
	struct ev *v = NULL;
	struct ev *e;
	int64_t *node_ids = NULL;
	int64_t *grp_ids = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	uint64_t seed = 0x853c49e6748fea9bULL;
	char node[16];
	char group[16];
	long n = 0;
	long cap = 0;
	long i;
	int64_t day;
	int64_t t;
	int d;
	int k;
	int x;

	for (x = 0; x < nodes; x++) {
		e = ev_push(&v, &n, &cap);
		*e = (struct ev){ since - DAY_MS, x, "state", "alive", -1, "hello" };
		for (d = 0; d < days; d++) {
			day = since + d * DAY_MS;
			for (k = 0; k < 3; k++) {       /* one outage per 8 hours */
				t = day + k * 8 * 3600000LL + (int64_t)(rnd(&seed) % (7 * 3600000ULL));
				*ev_push(&v, &n, &cap) = (struct ev){ t, x, "state", "suspect",
					3000 + (int64_t)(rnd(&seed) % 3000), "phi_suspect" };
				t += 2000 + (int64_t)(rnd(&seed) % 3000);
				*ev_push(&v, &n, &cap) = (struct ev){ t, x, "state", "failed",
					6000 + (int64_t)(rnd(&seed) % 3000), "phi_failed" };
				*ev_push(&v, &n, &cap) = (struct ev){ t + 1, x, "conn", NULL, -1,
					"conn_lost" };
				t += 30000 + (int64_t)(rnd(&seed) % 570000);
				*ev_push(&v, &n, &cap) = (struct ev){ t, x, "conn", NULL, -1, "hello" };
				*ev_push(&v, &n, &cap) = (struct ev){ t + 1, x, "state", "alive", -1,
					"hello" };
			}
			for (k = 0; k < 2; k++) {       /* blips in the 8th hour */
				t = day + k * 8 * 3600000LL + 7 * 3600000LL +
				    (int64_t)(rnd(&seed) % 3000000);
				*ev_push(&v, &n, &cap) = (struct ev){ t, x, "state", "suspect",
					2500 + (int64_t)(rnd(&seed) % 1000), "phi_suspect" };
				t += 1000 + (int64_t)(rnd(&seed) % 2000);
				*ev_push(&v, &n, &cap) = (struct ev){ t, x, "state", "alive", -1,
					"heartbeat" };
			}
			for (k = 0; k < 24; k++)
				*ev_push(&v, &n, &cap) = (struct ev){ day + k * 3600000LL + 1234 + x,
					x, "agent", NULL, -1, "disk_full" };
		}
	}
	qsort(v, (size_t)n, sizeof(*v), ev_cmp);

	remove_db(path);
	store_close(open_or_die(path));
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("%s: cannot open", path);
	node_ids = calloc((size_t)nodes, sizeof(*node_ids));
	grp_ids = calloc((size_t)nodes, sizeof(*grp_ids));
	if (!node_ids || !grp_ids)
		die("out of memory");
	exec_or_die(db, "BEGIN");
	for (x = 0; x < nodes; x++) {
		snprintf(node, sizeof(node), "node-%04d", x);
		snprintf(group, sizeof(group), "grp-%02d", x / 10);
		node_ids[x] = name_id(db, node);
		grp_ids[x] = name_id(db, group);
		pair_add(db, grp_ids[x], node_ids[x]);
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO event_log(ts_ms, node_id, grp_id, kind, to_state,"
			       " rule, hb_age_ms, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
			       " 'generated')", -1, &st, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db));
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, v[i].ts);
		sqlite3_bind_int64(st, 2, node_ids[v[i].node]);
		sqlite3_bind_int64(st, 3, grp_ids[v[i].node]);
		sqlite3_bind_text(st, 4, v[i].kind, -1, SQLITE_STATIC);
		if (v[i].to)
			sqlite3_bind_text(st, 5, v[i].to, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_text(st, 6, v[i].rule, -1, SQLITE_STATIC);
		if (v[i].hb >= 0)
			sqlite3_bind_int64(st, 7, v[i].hb);
		else
			sqlite3_bind_null(st, 7);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert: %s", sqlite3_errmsg(db));
		sqlite3_reset(st);
	}
	exec_or_die(db, "COMMIT");
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(node_ids);
	free(grp_ids);
	free(v);
	return n;
}

struct report_result {
	long events;
	double p50, p99;
	int rows;
	double avail;           /* mean, as a sanity check */
	double failures;        /* per node */
};

static struct report_result bench_report(const struct opts *o)
{
	struct report_result res = { 0 };
	struct node_report *r = NULL;
	int64_t until = wall_ms() - 3600000;
	int64_t since = until - o->report_days * DAY_MS;
	double ms[20];
	char path[512];
	struct store *s;
	double t;
	int runs = 20;
	int n = 0;
	int i;

	snprintf(path, sizeof(path), "%s/report.db", o->dir);
	res.events = build_report_db(path, o->report_nodes, o->report_days, since);
	say("report: %ld events for %d nodes over %d days", res.events,
	    o->report_nodes, o->report_days);
	s = open_or_die(path);
	for (i = 0; i < runs; i++) {
		t = mono_ms();
		if (store_report(s, since, until, NULL, &r, &n))
			die("store_report failed");
		ms[i] = mono_ms() - t;
		if (i + 1 < runs)
			free(r);
	}
	res.rows = n;
	for (i = 0; i < n; i++) {
		res.avail += r[i].availability_pct / n;
		res.failures += (double)r[i].failures / n;
	}
	free(r);
	store_close(s);
	remove_db(path);
	res.p50 = pct(ms, runs, 50);
	res.p99 = pct(ms, runs, 99);
	say("report: p50 %.1f ms, p99 %.1f ms, %d nodes, mean availability %.3f %%,"
	    " %.1f failures per node", res.p50, res.p99, res.rows, res.avail, res.failures);
	return res;
}

/* --- main ------------------------------------------------------------------ */

static const char *met(bool ok)
{
	return ok ? "met" : "**not met**";
}

/* The index experiment (-x): each variant is applied to the history
 * database (then undone) and to fresh insert databases. */
struct variant {
	const char *name;
	const char *apply;
	const char *undo;
};

static const struct variant variants[] = {
	{ "with events(grp_id, ts_ms)", "CREATE INDEX events_grp_ts ON event_log(grp_id, ts_ms)",
	  "DROP INDEX events_grp_ts" },
	{ "plus events(kind, ts_ms)", "CREATE INDEX events_kind_ts ON event_log(kind, ts_ms)",
	  "DROP INDEX events_kind_ts" },
};
#define NVARIANTS ((int)(sizeof(variants) / sizeof(variants[0])))

static void exec_on(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("%s: cannot open", path);
	exec_or_die(db, sql);
	sqlite3_close(db);
}

static void print_shapes(const struct shape *sh, struct shape x[][SH_COUNT], int nx,
			 long events, int nodes)
{
	int i;
	int v;

	printf("\nQuery shapes over the %ld-event database (%d nodes in groups of 50, and"
	       " one group of 2; 40 %% state, 30 %% conn, 25 %% agent, 5 %% flap, 0.01 %%"
	       " hook and 0.01 %% failover events), warm page cache, p50 / p99 ms:\n\n",
	       events, nodes);
	printf("| query | runs | as shipped |");
	for (v = 0; v < nx; v++)
		printf(" %s |", variants[v].name);
	printf("\n|---|---|---|");
	for (v = 0; v < nx; v++)
		printf("---|");
	printf("\n");
	for (i = 0; i < SH_COUNT; i++) {
		printf("| %s | %d | %.3f / %.3f |", sh[i].name, sh[i].runs, sh[i].p50,
		       sh[i].p99);
		for (v = 0; v < nx; v++)
			printf(" %.3f / %.3f |", x[v][i].p50, x[v][i].p99);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .trials = 3, .insert_rows = 1000000, .events = 10000000,
			  .nodes = 1000, .queries = 200, .report_nodes = 100,
			  .report_days = 30 };
	struct opts o100;
	struct insert_summary ins;
	struct insert_summary ins100;
	struct insert_summary ins_x[NVARIANTS] = { { 0 } };
	struct report_result rep;
	struct shape sh[SH_COUNT] = { { 0 } };
	struct shape shx[NVARIANTS][SH_COUNT] = { { { 0 } } };
	char path[512];
	int64_t t0;
	double big_mb;
	int nx = 0;
	int c;
	int v;

	while ((c = getopt(argc, argv, "d:t:r:e:n:q:R:D:xp:")) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 't': o.trials = atoi(optarg); break;
		case 'r': o.insert_rows = atol(optarg); break;
		case 'e': o.events = atol(optarg); break;
		case 'n': o.nodes = atoi(optarg); break;
		case 'q': o.queries = atoi(optarg); break;
		case 'R': o.report_nodes = atoi(optarg); break;
		case 'D': o.report_days = atoi(optarg); break;
		case 'x': o.extra = true; break;
		case 'p': o.parts = optarg; break;
		default: die("usage: store_bench -d DIR [-t N] [-r N] [-e N] [-n N] [-q N] [-R N] [-D N] [-x]"
			    " [-p insert,history,report]");
		}
	}
	if (!o.dir || o.trials < 1 || o.insert_rows < 1 || o.events < 1000 ||
	    o.nodes < 3 || o.queries < 1 || o.report_nodes < 1 || o.report_days < 1)
		die("bad arguments (see the top of bench/store_bench.c)");
	nx = o.extra ? NVARIANTS : 0;

	say("sqlite %s; insert: %d x %ld rows", sqlite3_libversion(), o.trials, o.insert_rows);
	memset(&ins, 0, sizeof(ins));
	memset(&ins100, 0, sizeof(ins100));
	memset(&rep, 0, sizeof(rep));
	big_mb = 0;
	if (part_on(&o, "insert")) {
		ins = bench_insert(&o, NULL);
		o100 = o;
		o100.nodes = 100;
		ins100 = bench_insert(&o100, NULL);
	}

	snprintf(path, sizeof(path), "%s/history.db", o.dir);
	t0 = wall_ms() - 31 * DAY_MS;
	if (part_on(&o, "history")) {
		build_history(path, o.events, o.nodes, t0);
		big_mb = file_mb(path);
		bench_shapes(path, &o, t0, sh);
		for (v = 0; v < nx; v++) {
			say("variant: %s", variants[v].name);
			exec_on(path, variants[v].apply);
			bench_shapes(path, &o, t0, shx[v]);
			exec_on(path, variants[v].undo);
			ins_x[v] = bench_insert(&o, variants[v].apply);
		}
		remove_db(path);
	}
	if (part_on(&o, "report"))
		rep = bench_report(&o);

	printf("| measure | result | goal | |\n|---|---|---|---|\n");
	if (part_on(&o, "insert")) {
		printf("| sustained insert through the writer thread: %ld state events with"
		       " evidence, %d nodes, median of %d trials | **%.0f rows/s** (min %.0f,"
		       " max %.0f; %.0f rows per commit; writer CPU %.2f us per row)"
		       " | >= 200,000 rows/s | %s |\n",
		       o.insert_rows, o.nodes, o.trials, ins.rate_p50, ins.rate_min,
		       ins.rate_max, ins.batch_rows, ins.writer_us_p50,
		       met(ins.rate_p50 >= 200000));
		printf("| the same with 100 nodes | %.0f rows/s (min %.0f, max %.0f; writer"
		       " CPU %.2f us per row) | >= 200,000 rows/s | %s |\n", ins100.rate_p50,
		       ins100.rate_min, ins100.rate_max, ins100.writer_us_p50,
		       met(ins100.rate_p50 >= 200000));
	}
	if (part_on(&o, "history"))
		printf("| one node's history page (limit 50, newest first) over %ld events for"
		       " %d nodes, %d random nodes | **p50 %.3f ms, p99 %.3f ms** | < 10 ms"
		       " | %s |\n", o.events, o.nodes, sh[SH_NODE].runs, sh[SH_NODE].p50,
		       sh[SH_NODE].p99, met(sh[SH_NODE].p99 < 10));
	if (part_on(&o, "report"))
		printf("| %d-day report over %d nodes (%ld events: 3 outages and 2 suspect"
		       " blips per node per day, hourly agent events), 20 runs | **p50 %.1f ms,"
		       " p99 %.1f ms** | < 200 ms | %s |\n", o.report_days, o.report_nodes,
		       rep.events, rep.p50, rep.p99, met(rep.p99 < 200));
	if (part_on(&o, "insert") && part_on(&o, "history"))
		printf("| database size per million events | **%.0f MB** through the writer"
		       " (state events with evidence); %.0f MB for the %ld-event mix | | |\n",
		       ins.mb_per_million, big_mb / ((double)o.events / 1e6), o.events);
	for (v = 0; v < nx; v++)
		printf("| insert rate %s (%d nodes) | %.0f rows/s (min %.0f, max %.0f) | | |\n",
		       variants[v].name, o.nodes, ins_x[v].rate_p50, ins_x[v].rate_min,
		       ins_x[v].rate_max);
	if (part_on(&o, "history"))
		print_shapes(sh, shx, nx, o.events, o.nodes);
	if (part_on(&o, "report"))
		printf("\nReport sanity: %d nodes, mean availability %.3f %%, %.1f failures"
		       " per node in the window.\n", rep.rows, rep.avail, rep.failures);
	return 0;
}
