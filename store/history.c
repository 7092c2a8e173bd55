/* history.c — queries over the store (see history.h) and the pure report
 * maths.
 *
 * Every query takes the reader connection with store_reader_begin() and
 * gives it back before returning; statements are prepared per call (a few
 * tens of microseconds, small next to the reads).  Multi-statement reads
 * (the reports, store_at) run in one read transaction, so they see one
 * snapshot.
 *
 * Events refer to their node and group by names.id (schema v4): filters
 * look the id up with a constant subquery, rows read the name back.
 *
 * Indexes they rely on (store.c's migrations): events(node_id, ts_ms) for one
 * node's page, node_known, the report and store_at (a node's state events
 * are found among its events: a per-node index of state events only cost
 * 40 % of the insert rate, see bench/store.sh); events(ts_ms) for pages
 * across nodes; node_groups (the nodes each group's events name) for a
 * group's pages, merged from its nodes' (schema v5 has no per-group index
 * on events), and group_known;
 * events_rare_ts for pages of rare kinds only; failovers(grp, started_ms)
 * for the failover report.
 *
 * Ownership: results returned through **out are malloc'd for the caller.
 * No global state.
 */
#include "store/history.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* How far back the report looks for the start of an outage running at
 * since. */
#define HISTORY_BACK_MAX 10000

/* A group's page merges the pages of at most this many nodes. */
#define HISTORY_MERGE_MAX 64

/* Nodes are walked by their names.id (events_node_ts); the name "" (the
 * collector's own events) is skipped, as it always was. */
static const char sql_next_state_node[] =
	"SELECT node_id, (SELECT name FROM names WHERE names.id = event_log.node_id)"
	" FROM event_log WHERE node_id > ?1 ORDER BY node_id LIMIT 1";

static const char sql_state_before[] =
	"SELECT ts_ms, to_state, hb_age_ms, grp_id FROM event_log"
	" WHERE kind = 'state' AND node_id = ?1 AND ts_ms < ?2"
	" ORDER BY ts_ms DESC, id DESC";

static const char sql_state_window[] =
	"SELECT ts_ms, to_state, hb_age_ms, grp_id FROM event_log"
	" WHERE kind = 'state' AND node_id = ?1 AND ts_ms >= ?2 AND ts_ms <= ?3"
	" ORDER BY ts_ms, id";

static const char sql_name_of[] =
	"SELECT name FROM names WHERE id = ?1";

static const char sql_state_at[] =
	"SELECT ts_ms, (SELECT name FROM names WHERE names.id = event_log.grp_id),"
	" to_state, rule FROM event_log"
	" WHERE kind = 'state' AND node_id = ?1 AND ts_ms <= ?2"
	" ORDER BY ts_ms DESC, id DESC LIMIT 1";

/* Copy a possibly NULL column into dst (NULL reads back as ""). */
static void column_copy(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	size_t n = 0;

	if (v) {
		n = strnlen((const char *)v, size - 1);
		memcpy(dst, v, n);
	}
	dst[n] = '\0';
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_set(const char *v)
{
	return v && v[0];
}

/* Grow *buf (of *cap items of size each) to hold at least want items. */
static int grow(void **buf, int *cap, int want, size_t size)
{
	void *p;
	int c = *cap ? *cap : 16;

	if (want <= *cap)
		return 0;
	while (c < want)
		c *= 2;
	p = realloc(*buf, (size_t)c * size);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

/* --- events ------------------------------------------------------------ */

/* Split a comma-separated kind list into kinds[] (pointing into buf).
 * Spaces around kinds and empty entries are dropped.  Count, or -EINVAL. */
static int split_kinds(const char *list, char *buf, size_t size,
		       const char *kinds[HISTORY_KINDS_MAX])
{
	char *p;
	char *tok;
	char *end;
	int n = 0;

	if (strlen(list) >= size)
		return -EINVAL;
	strcpy(buf, list);
	for (p = buf; (tok = strsep(&p, ","));) {
		while (*tok == ' ')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (!tok[0])
			continue;
		if (n == HISTORY_KINDS_MAX)
			return -EINVAL;
		kinds[n++] = tok;
	}
	return n;
}

/* Whether every kind is one of STORE_RARE_KINDS. */
static bool all_rare(const char *const *kinds, int n)
{
	static const char *const rare[] = STORE_RARE_KINDS;
	size_t j;
	int i;

	for (i = 0; i < n; i++) {
		for (j = 0; j < ARRAY_SIZE(rare); j++)
			if (!strcmp(kinds[i], rare[j]))
				break;
		if (j == ARRAY_SIZE(rare))
			return false;
	}
	return true;
}

/* How a page query names its node or group: not at all, by name (a
 * constant subquery on names) or by names.id. */
enum key_by {
	KEY_NONE,
	KEY_NAME,
	KEY_ID,
};

/* A page query parsed once: the filters and their SQL. */
struct page_query {
	const struct history_filter *f;
	const char *kinds[HISTORY_KINDS_MAX];
	char kind_buf[HISTORY_KINDS_MAX * (STORE_STATE_MAX + 2) + 1];
	int nkinds;
	int limit;
};

/* The SELECT for q; node and group as said.  Only the filters in use, so
 * SQLite can pick events(node_id, ts_ms), events(ts_ms) or, for rare kinds,
 * events_rare_ts; all end in the rowid, which orders ties without a sort. */
static void page_sql(const struct page_query *q, enum key_by node, enum key_by grp,
		     char *sql)
{
	static const char *const key_sql[] = { "", STORE_SQL_NAME_ID, "?" };
	int i;

	strcpy(sql, "SELECT " STORE_SQL_EVENT_COLUMNS " FROM event_log WHERE 1");
	if (node != KEY_NONE) {
		strcat(sql, " AND node_id = ");
		strcat(sql, key_sql[node]);
	}
	if (grp != KEY_NONE) {          /* by node if both: '+' hides any index */
		strcat(sql, node != KEY_NONE ? " AND +grp_id = " : " AND grp_id = ");
		strcat(sql, key_sql[grp]);
	}
	if (q->nkinds && all_rare(q->kinds, q->nkinds))
		strcat(sql, " AND " STORE_SQL_RARE_KINDS);
	if (q->nkinds == 1)
		strcat(sql, " AND kind = ?");
	if (q->nkinds > 1) {
		strcat(sql, " AND kind IN (?");
		for (i = 1; i < q->nkinds; i++)
			strcat(sql, ", ?");
		strcat(sql, ")");
	}
	if (q->f->since_ms > 0)
		strcat(sql, " AND ts_ms >= ?");
	if (q->f->until_ms > 0)
		strcat(sql, " AND ts_ms <= ?");
	if (q->f->before_id > 0)
		strcat(sql, " AND id < ?");
	strcat(sql, " ORDER BY ts_ms DESC, id DESC LIMIT ?");
}

/* Bind page_sql()'s parameters: node and group by name (f's) unless an id
 * (> 0) is given. */
static int page_bind(sqlite3_stmt *st, const struct page_query *q, int64_t node_id,
		     int64_t grp_id)
{
	const struct history_filter *f = q->f;
	int rc = SQLITE_OK;
	int p = 1;
	int i;

	if (node_id > 0)
		rc |= sqlite3_bind_int64(st, p++, node_id);
	else if (is_set(f->node))
		rc |= sqlite3_bind_text(st, p++, f->node, -1, SQLITE_STATIC);
	if (grp_id > 0)
		rc |= sqlite3_bind_int64(st, p++, grp_id);
	else if (is_set(f->group))
		rc |= sqlite3_bind_text(st, p++, f->group, -1, SQLITE_STATIC);
	for (i = 0; i < q->nkinds; i++)
		rc |= sqlite3_bind_text(st, p++, q->kinds[i], -1, SQLITE_STATIC);
	if (f->since_ms > 0)
		rc |= sqlite3_bind_int64(st, p++, f->since_ms);
	if (f->until_ms > 0)
		rc |= sqlite3_bind_int64(st, p++, f->until_ms);
	if (f->before_id > 0)
		rc |= sqlite3_bind_int64(st, p++, f->before_id);
	rc |= sqlite3_bind_int(st, p, q->limit);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* Hand the rows of a prepared, bound page query to cb. */
static int page_run(sqlite3_stmt *st, store_event_cb cb, void *arg)
{
	struct store_event e;
	int step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		store_event_from_row(st, &e);
		if (cb(&e, arg))
			return 0;
	}
	return step == SQLITE_DONE ? 0 : -EIO;
}

/* The ids of the nodes with events in the group (node_groups), up to
 * HISTORY_MERGE_MAX + 1 of them, into ids; their number, or -EIO.  *grp_id
 * = the group's names.id, 0 if it has none. */
static int group_nodes(sqlite3 *db, const char *group, int64_t *grp_id,
		       int64_t ids[HISTORY_MERGE_MAX + 1])
{
	sqlite3_stmt *st = NULL;
	int step;
	int n = 0;
	int rc = -EIO;

	*grp_id = 0;
	if (sqlite3_prepare_v2(db, "SELECT g.grp_id, g.node_id FROM node_groups g"
			       " WHERE g.grp_id = " STORE_SQL_NAME_ID " LIMIT ?", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, HISTORY_MERGE_MAX + 1) != SQLITE_OK)
		goto out_finalize;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*grp_id = sqlite3_column_int64(st, 0);
		ids[n++] = sqlite3_column_int64(st, 1);
	}
	if (step == SQLITE_DONE)
		rc = n;
out_finalize:
	sqlite3_finalize(st);
	return rc;
}

/* Whether row a of st[i] comes before (is newer than) that of st[j]. */
static bool page_row_newer(sqlite3_stmt *a, sqlite3_stmt *b)
{
	int64_t ta = sqlite3_column_int64(a, 1);
	int64_t tb = sqlite3_column_int64(b, 1);

	return ta != tb ? ta > tb : sqlite3_column_int64(a, 0) > sqlite3_column_int64(b, 0);
}

/* A group's page without a per-group index: each of its nodes' pages (by
 * events(node_id, ts_ms), the group checked per row), merged newest first.
 * The union of the nodes' first `limit` rows holds the group's first
 * `limit` rows, so the answer is the one a single query would give.  A
 * group of more than HISTORY_MERGE_MAX nodes is frequent enough in the
 * events to be found by scanning events(ts_ms) back. */
static int page_group(sqlite3 *db, const struct page_query *q, char *sql,
		      store_event_cb cb, void *arg)
{
	sqlite3_stmt *st[HISTORY_MERGE_MAX] = { NULL };
	bool live[HISTORY_MERGE_MAX];
	int64_t ids[HISTORY_MERGE_MAX + 1];
	int64_t grp_id;
	struct store_event e;
	int best;
	int step;
	int sent;
	int n;
	int i;
	int rc;

	n = group_nodes(db, q->f->group, &grp_id, ids);
	if (n <= 0)
		return n;               /* 0: no rows; or -EIO */
	if (n > HISTORY_MERGE_MAX) {
		page_sql(q, KEY_NONE, KEY_ID, sql);
		if (sqlite3_prepare_v2(db, sql, -1, &st[0], NULL) != SQLITE_OK)
			return -EIO;
		rc = page_bind(st[0], q, 0, grp_id);
		if (!rc)
			rc = page_run(st[0], cb, arg);
		sqlite3_finalize(st[0]);
		return rc;
	}

	rc = -EIO;
	page_sql(q, KEY_ID, KEY_ID, sql);
	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v2(db, sql, -1, &st[i], NULL) != SQLITE_OK ||
		    page_bind(st[i], q, ids[i], grp_id))
			goto out_finalize;
		step = sqlite3_step(st[i]);
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			goto out_finalize;
		live[i] = step == SQLITE_ROW;
	}
	for (sent = 0; sent < q->limit; sent++) {
		best = -1;
		for (i = 0; i < n; i++)
			if (live[i] && (best < 0 || page_row_newer(st[i], st[best])))
				best = i;
		if (best < 0)
			break;
		store_event_from_row(st[best], &e);
		if (cb(&e, arg))
			break;
		step = sqlite3_step(st[best]);
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			goto out_finalize;
		live[best] = step == SQLITE_ROW;
	}
	rc = 0;
out_finalize:
	for (i = 0; i < n; i++)
		sqlite3_finalize(st[i]);
	return rc;
}

int store_history(struct store *s, const struct history_filter *f,
		  store_event_cb cb, void *arg)
{
	char sql[1024 + HISTORY_KINDS_MAX * 4];
	struct page_query q;
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int rc = -EINVAL;

	if (!s || !f || !cb)
		goto out;
	memset(&q, 0, sizeof(q));
	q.f = f;
	if (is_set(f->kind)) {
		q.nkinds = split_kinds(f->kind, q.kind_buf, sizeof(q.kind_buf), q.kinds);
		if (q.nkinds < 0)
			goto out;
	}
	q.limit = f->limit <= 0 ? HISTORY_LIMIT_DEFAULT :
		f->limit > HISTORY_LIMIT_MAX ? HISTORY_LIMIT_MAX : f->limit;

	rc = -EIO;
	db = store_reader_begin(s);
	if (is_set(f->group) && !is_set(f->node)) {
		/* Several queries: one snapshot. */
		if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
			goto out_end;
		rc = page_group(db, &q, sql, cb, arg);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		goto out_end;
	}
	page_sql(&q, is_set(f->node) ? KEY_NAME : KEY_NONE,
		 is_set(f->group) ? KEY_NAME : KEY_NONE, sql);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out_end;
	rc = page_bind(st, &q, 0, 0);
	if (!rc)
		rc = page_run(st, cb, arg);
	sqlite3_finalize(st);
out_end:
	store_reader_end(s);
out:
	return rc;
}

int store_event_get(struct store *s, int64_t id, struct store_event *out)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int step;
	int rc = -EINVAL;

	if (!s || !out)
		goto out;
	rc = -EIO;
	db = store_reader_begin(s);
	if (sqlite3_prepare_v2(db, "SELECT " STORE_SQL_EVENT_COLUMNS
			       " FROM event_log WHERE id = ?1", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		goto out_finalize;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		store_event_from_row(st, out);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = -ENOENT;
	}
out_finalize:
	sqlite3_finalize(st);
	store_reader_end(s);
out:
	return rc;
}

/* 1 if any of the queries (each with ?1 = name) returns a row. */
static int any_row(struct store *s, const char *const *sqls, size_t n,
		   const char *name)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	size_t i;
	int step;
	int rc = -EIO;

	db = store_reader_begin(s);
	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v2(db, sqls[i], -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
			goto out_finalize;
		step = sqlite3_step(st);
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			goto out_finalize;
		sqlite3_finalize(st);
		st = NULL;
		if (step == SQLITE_ROW) {
			rc = 1;
			goto out_finalize;
		}
	}
	rc = 0;
out_finalize:
	sqlite3_finalize(st);
	store_reader_end(s);
	return rc;
}

int store_node_known(struct store *s, const char *node)
{
	static const char *const sqls[] = {
		"SELECT 1 FROM nodes WHERE name = ?1",
		"SELECT 1 FROM event_log WHERE node_id ="
		" (SELECT id FROM names WHERE name = ?1) LIMIT 1",
	};

	if (!s || !is_set(node))
		return -EINVAL;
	return any_row(s, sqls, ARRAY_SIZE(sqls), node);
}

int store_group_known(struct store *s, const char *group)
{
	static const char *const sqls[] = {
		"SELECT 1 FROM nodes WHERE grp = ?1 LIMIT 1",
		"SELECT 1 FROM groups WHERE name = ?1",
		"SELECT 1 FROM failovers WHERE grp = ?1 LIMIT 1",
		"SELECT 1 FROM node_groups WHERE grp_id ="
		" (SELECT id FROM names WHERE name = ?1) LIMIT 1",
	};

	if (!s || !is_set(group))
		return -EINVAL;
	return any_row(s, sqls, ARRAY_SIZE(sqls), group);
}

/* 0 when group is unset (any) or known; -ENOENT, or the lookup's error. */
static int group_exists_or_any(struct store *s, const char *group)
{
	int rc;

	if (!is_set(group))
		return 0;
	rc = store_group_known(s, group);
	return rc == 1 ? 0 : rc < 0 ? rc : -ENOENT;
}

/* --- report maths (pure) ----------------------------------------------- */

enum state_class {
	STATE_UP,
	STATE_DOWN,
	STATE_OTHER,            /* left, maintenance, unknown: not counted */
};

static enum state_class state_class_of(const char *state)
{
	if (!strcmp(state, "alive") || !strcmp(state, "degraded"))
		return STATE_UP;
	if (!strcmp(state, "suspect") || !strcmp(state, "failed"))
		return STATE_DOWN;
	return STATE_OTHER;
}

/* Sums over outages, while walking a timeline. */
struct outage_sums {
	int failures;
	int repaired;
	double repair_ms;
	int detected;
	double detect_ms;
};

/* Account for one run of down states [start, end) (ended = false: still
 * running at until). */
static void outage_close(struct outage_sums *o, bool failed, int64_t start,
			 int64_t start_hb_age, bool ended, int64_t end,
			 int64_t since_ms, int64_t until_ms)
{
	if (!failed)
		return;         /* a suspect blip: down time, not an outage */
	if (start >= since_ms && start <= until_ms) {
		o->failures++;
		if (start_hb_age >= 0) {
			o->detected++;
			o->detect_ms += (double)start_hb_age;
		}
	}
	if (ended && end >= since_ms && end <= until_ms) {
		o->repaired++;
		o->repair_ms += (double)(end - start);
	}
}

void history_node_report(const struct history_transition *t, int n,
			 int64_t since_ms, int64_t until_ms, struct node_report *out)
{
	struct outage_sums o = { 0 };
	enum state_class c;
	int64_t up = 0;
	int64_t down = 0;
	int64_t observed = 0;
	int64_t from;
	int64_t to;
	int64_t run_start = 0;
	int64_t run_hb_age = -1;
	bool in_run = false;
	bool run_failed = false;
	int i;

	for (i = 0; i < n && t[i].ts_ms <= until_ms; i++) {
		c = state_class_of(t[i].state);

		/* The part of [t[i], t[i + 1]) inside the window. */
		from = t[i].ts_ms > since_ms ? t[i].ts_ms : since_ms;
		to = i + 1 < n && t[i + 1].ts_ms < until_ms ? t[i + 1].ts_ms : until_ms;
		if (to > from) {
			observed += to - from;
			if (c == STATE_UP)
				up += to - from;
			else if (c == STATE_DOWN)
				down += to - from;
		}

		if (c == STATE_DOWN) {
			if (!in_run) {
				in_run = true;
				run_failed = false;
				run_start = t[i].ts_ms;
				run_hb_age = t[i].hb_age_ms;
			}
			if (!strcmp(t[i].state, "failed"))
				run_failed = true;
		} else if (in_run) {
			outage_close(&o, run_failed, run_start, run_hb_age, true,
				     t[i].ts_ms, since_ms, until_ms);
			in_run = false;
		}
	}
	if (in_run)
		outage_close(&o, run_failed, run_start, run_hb_age, false, 0,
			     since_ms, until_ms);

	out->up_ms = up;
	out->down_ms = down;
	out->observed_ms = observed;
	out->availability_pct = up + down > 0 ? 100.0 * (double)up / (double)(up + down) : NAN;
	out->failures = o.failures;
	out->mttr_ms = o.repaired ? o.repair_ms / o.repaired : NAN;
	out->mtbf_ms = o.failures ? (double)up / o.failures : NAN;
	out->ttd_ms = o.detected ? o.detect_ms / o.detected : NAN;
}

/* --- availability report ----------------------------------------------- */

struct timeline {
	struct history_transition *t;
	int n;
	int cap;
	int64_t grp_id;                 /* names.id of the last one's group */
};

/* Append the current row (ts_ms, to_state, hb_age_ms, ...) to tl. */
static int timeline_push(struct timeline *tl, sqlite3_stmt *st)
{
	struct history_transition *x;

	if (grow((void **)&tl->t, &tl->cap, tl->n + 1, sizeof(*tl->t)))
		return -ENOMEM;
	x = &tl->t[tl->n++];
	x->ts_ms = sqlite3_column_int64(st, 0);
	column_copy(st, 1, x->state, sizeof(x->state));
	x->hb_age_ms = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 :
		sqlite3_column_int64(st, 2);
	return 0;
}

/* The node's state events that matter for [since, until]: back from since
 * to the start of an outage running at since (or just the state at since),
 * then the window.  Fills tl->grp_id with the group of the last one. */
static int timeline_load(sqlite3_stmt *before, sqlite3_stmt *window,
			 int64_t node_id, int64_t since_ms, int64_t until_ms,
			 struct timeline *tl)
{
	struct history_transition x;
	int step;
	int i;
	int rc = -EIO;

	tl->n = 0;
	tl->grp_id = 0;
	if (sqlite3_bind_int64(before, 1, node_id) != SQLITE_OK ||
	    sqlite3_bind_int64(before, 2, since_ms) != SQLITE_OK)
		goto out_reset;
	while ((step = sqlite3_step(before)) == SQLITE_ROW) {
		if (tl->n == 0)
			tl->grp_id = sqlite3_column_int64(before, 3);
		if (timeline_push(tl, before)) {
			rc = -ENOMEM;
			goto out_reset;
		}
		if (state_class_of(tl->t[tl->n - 1].state) != STATE_DOWN ||
		    tl->n >= HISTORY_BACK_MAX)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		goto out_reset;
	for (i = 0; i < tl->n / 2; i++) {       /* newest first -> in time order */
		x = tl->t[i];
		tl->t[i] = tl->t[tl->n - 1 - i];
		tl->t[tl->n - 1 - i] = x;
	}

	if (sqlite3_bind_int64(window, 1, node_id) != SQLITE_OK ||
	    sqlite3_bind_int64(window, 2, since_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(window, 3, until_ms) != SQLITE_OK)
		goto out_reset;
	while ((step = sqlite3_step(window)) == SQLITE_ROW) {
		if (timeline_push(tl, window)) {
			rc = -ENOMEM;
			goto out_reset;
		}
		tl->grp_id = sqlite3_column_int64(window, 3);
	}
	if (step == SQLITE_DONE)
		rc = 0;
out_reset:
	sqlite3_reset(before);
	sqlite3_reset(window);
	return rc;
}

/* The next node with an event after *id (0: the first), skipping the
 * collector's "": *id and its name into node.  1 found, 0 no more, -EIO. */
static int next_state_node(sqlite3_stmt *st, int64_t *id, char *node, size_t size)
{
	int step;
	int rc;

	do {
		rc = -EIO;
		if (sqlite3_bind_int64(st, 1, *id) != SQLITE_OK)
			goto out_reset;
		step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			*id = sqlite3_column_int64(st, 0);
			column_copy(st, 1, node, size);
			rc = 1;
		} else if (step == SQLITE_DONE) {
			rc = 0;
		}
out_reset:
		sqlite3_reset(st);
	} while (rc == 1 && !node[0]);
	return rc;
}

/* The name with names.id id into v ("" if none).  0 or -EIO. */
static int name_of(sqlite3_stmt *st, int64_t id, char *v, size_t size)
{
	int step;
	int rc = -EIO;

	v[0] = '\0';
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		goto out_reset;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		column_copy(st, 0, v, size);
	if (step == SQLITE_ROW || step == SQLITE_DONE)
		rc = 0;
out_reset:
	sqlite3_reset(st);
	return rc;
}

static int report_cmp(const void *a, const void *b)
{
	const struct node_report *x = a;
	const struct node_report *y = b;
	int c = strcmp(x->group, y->group);

	return c ? c : strcmp(x->node, y->node);
}

/* Prepare n statements; on failure finalize those done. */
static int prepare_all(sqlite3 *db, const char *const *sqls, sqlite3_stmt **st,
		       size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v2(db, sqls[i], -1, &st[i], NULL) != SQLITE_OK) {
			while (i > 0)
				sqlite3_finalize(st[--i]);
			st[0] = NULL;
			return -EIO;
		}
	}
	return 0;
}

static void finalize_all(sqlite3_stmt **st, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sqlite3_finalize(st[i]);
}

int store_report(struct store *s, int64_t since_ms, int64_t until_ms,
		 const char *group, struct node_report **out, int *n)
{
	static const char *const sqls[] = {
		sql_next_state_node, sql_state_before, sql_state_window, sql_name_of,
	};
	sqlite3_stmt *st[ARRAY_SIZE(sqls)] = { NULL };
	struct timeline tl = { 0 };
	struct node_report *rows = NULL;
	struct node_report *r;
	char node[STORE_NAME_MAX + 1];
	char grp[STORE_NAME_MAX + 1];
	int64_t node_id = 0;
	int64_t now = now_ms();
	sqlite3 *db;
	int cap = 0;
	int count = 0;
	int found;
	int rc = -EINVAL;

	if (!s || !out || !n)
		goto out;
	*out = NULL;
	*n = 0;
	if (until_ms <= 0 || until_ms > now)
		until_ms = now;
	rc = group_exists_or_any(s, group);
	if (rc)
		goto out;

	rc = -EIO;
	db = store_reader_begin(s);
	if (prepare_all(db, sqls, st, ARRAY_SIZE(sqls)))
		goto out_end;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out_finalize;
	while ((found = next_state_node(st[0], &node_id, node, sizeof(node))) == 1) {
		rc = timeline_load(st[1], st[2], node_id, since_ms, until_ms, &tl);
		if (rc)
			goto out_commit;
		rc = -EIO;
		if (tl.n == 0)
			continue;       /* nothing at or before until */
		if (name_of(st[3], tl.grp_id, grp, sizeof(grp)))
			goto out_commit;
		if (is_set(group) && strcmp(grp, group))
			continue;       /* elsewhere */
		if (grow((void **)&rows, &cap, count + 1, sizeof(*rows))) {
			rc = -ENOMEM;
			goto out_commit;
		}
		r = &rows[count++];
		memset(r, 0, sizeof(*r));
		snprintf(r->node, sizeof(r->node), "%s", node);
		snprintf(r->group, sizeof(r->group), "%s", grp);
		history_node_report(tl.t, tl.n, since_ms, until_ms, r);
	}
	if (found < 0)
		goto out_commit;
	if (count)
		qsort(rows, (size_t)count, sizeof(*rows), report_cmp);
	*out = count ? rows : NULL;
	*n = count;
	rows = count ? NULL : rows;
	rc = 0;
out_commit:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out_finalize:
	finalize_all(st, ARRAY_SIZE(st));
out_end:
	store_reader_end(s);
	free(rows);
	free(tl.t);
out:
	return rc;
}

/* --- failover report --------------------------------------------------- */

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

double history_percentile(double *v, int n, int p)
{
	int rank;

	if (!v || n <= 0)
		return NAN;
	if (p < 1)
		p = 1;
	if (p > 100)
		p = 100;
	qsort(v, (size_t)n, sizeof(*v), double_cmp);
	rank = (p * n + 99) / 100;      /* ceil(p / 100 * n), >= 1 */
	return v[rank - 1];
}

/* Durations of one group's failovers, in three arrays of cap each. */
struct durations {
	double *v[3];           /* detected -> decided, decided -> promoted,
				 * started -> finished */
	int len[3];
	int cap;
	int count;              /* failovers seen */
};

static int durations_reserve(struct durations *d, int want)
{
	double *p;
	int cap = d->cap ? d->cap : 16;
	int i;

	if (want <= d->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	for (i = 0; i < 3; i++) {
		p = realloc(d->v[i], (size_t)cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->v[i] = p;
	}
	d->cap = cap;
	return 0;
}

/* Add end - start to list i when both are known (not NULL) and in order. */
static void duration_add(struct durations *d, int i, sqlite3_stmt *st,
			 int start, int end)
{
	if (sqlite3_column_type(st, start) == SQLITE_NULL ||
	    sqlite3_column_type(st, end) == SQLITE_NULL ||
	    sqlite3_column_int64(st, end) < sqlite3_column_int64(st, start))
		return;
	d->v[i][d->len[i]++] = (double)(sqlite3_column_int64(st, end) -
					sqlite3_column_int64(st, start));
}

static int durations_load(sqlite3_stmt *st, const char *group, int64_t since_ms,
			  int64_t until_ms, struct durations *d)
{
	int step;
	int rc = -EIO;

	d->len[0] = d->len[1] = d->len[2] = d->count = 0;
	if (sqlite3_bind_text(st, 1, group, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, since_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, until_ms) != SQLITE_OK)
		goto out_reset;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (durations_reserve(d, d->count + 1)) {
			rc = -ENOMEM;
			goto out_reset;
		}
		/* columns: started, detected, decided, promoted, finished */
		duration_add(d, 0, st, 1, 2);
		duration_add(d, 1, st, 2, 3);
		duration_add(d, 2, st, 0, 4);
		d->count++;
	}
	if (step == SQLITE_DONE)
		rc = 0;
out_reset:
	sqlite3_reset(st);
	return rc;
}

static void group_report_fill(struct group_report *g, struct durations *d)
{
	g->failovers = d->count;
	g->detect_to_decide_p50_ms = history_percentile(d->v[0], d->len[0], 50);
	g->detect_to_decide_p99_ms = history_percentile(d->v[0], d->len[0], 99);
	g->decide_to_promoted_p50_ms = history_percentile(d->v[1], d->len[1], 50);
	g->decide_to_promoted_p99_ms = history_percentile(d->v[1], d->len[1], 99);
	g->total_p50_ms = history_percentile(d->v[2], d->len[2], 50);
	g->total_p99_ms = history_percentile(d->v[2], d->len[2], 99);
}

int store_group_report(struct store *s, int64_t since_ms, int64_t until_ms,
		       const char *group, struct group_report **out, int *n)
{
	static const char *const sqls[] = {
		"SELECT name FROM groups UNION SELECT grp FROM failovers"
		" WHERE started_ms >= ?1 AND started_ms <= ?2 ORDER BY 1",
		"SELECT started_ms, detected_ms, decided_ms, promoted_ms, finished_ms"
		" FROM failovers WHERE grp = ?1 AND started_ms >= ?2 AND started_ms <= ?3",
	};
	sqlite3_stmt *st[ARRAY_SIZE(sqls)] = { NULL };
	struct durations d = { 0 };
	struct group_report *rows = NULL;
	struct group_report *g;
	sqlite3 *db;
	int cap = 0;
	int count = 0;
	int step;
	int i;
	int rc = -EINVAL;

	if (!s || !out || !n)
		goto out;
	*out = NULL;
	*n = 0;
	if (until_ms <= 0)
		until_ms = INT64_MAX;
	rc = group_exists_or_any(s, group);
	if (rc)
		goto out;

	rc = -EIO;
	db = store_reader_begin(s);
	if (prepare_all(db, sqls, st, ARRAY_SIZE(sqls)))
		goto out_end;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out_finalize;

	/* The groups first, then each one's failovers. */
	if (is_set(group)) {
		rows = calloc(1, sizeof(*rows));
		if (!rows) {
			rc = -ENOMEM;
			goto out_commit;
		}
		snprintf(rows[0].group, sizeof(rows[0].group), "%s", group);
		count = 1;
	} else {
		if (sqlite3_bind_int64(st[0], 1, since_ms) != SQLITE_OK ||
		    sqlite3_bind_int64(st[0], 2, until_ms) != SQLITE_OK)
			goto out_commit;
		while ((step = sqlite3_step(st[0])) == SQLITE_ROW) {
			if (grow((void **)&rows, &cap, count + 1, sizeof(*rows))) {
				rc = -ENOMEM;
				goto out_commit;
			}
			g = &rows[count++];
			memset(g, 0, sizeof(*g));
			column_copy(st[0], 0, g->group, sizeof(g->group));
		}
		if (step != SQLITE_DONE)
			goto out_commit;
	}
	for (i = 0; i < count; i++) {
		rc = durations_load(st[1], rows[i].group, since_ms, until_ms, &d);
		if (rc)
			goto out_commit;
		group_report_fill(&rows[i], &d);
	}
	*out = rows;
	*n = count;
	rows = NULL;
	rc = 0;
out_commit:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out_finalize:
	finalize_all(st, ARRAY_SIZE(st));
out_end:
	store_reader_end(s);
	free(rows);
	free(d.v[0]);
	free(d.v[1]);
	free(d.v[2]);
out:
	return rc;
}

/* --- time travel ------------------------------------------------------- */

static int at_cmp(const void *a, const void *b)
{
	const struct node_at *x = a;
	const struct node_at *y = b;
	int c = strcmp(x->group, y->group);

	return c ? c : strcmp(x->node, y->node);
}

/* The node's last state event <= at_ms into r: 1, 0 (none), -EIO. */
static int state_at(sqlite3_stmt *st, int64_t node_id, const char *node, int64_t at_ms,
		    struct node_at *r)
{
	int step;
	int rc = -EIO;

	if (sqlite3_bind_int64(st, 1, node_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, at_ms) != SQLITE_OK)
		goto out_reset;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		memset(r, 0, sizeof(*r));
		snprintf(r->node, sizeof(r->node), "%s", node);
		r->since_ms = sqlite3_column_int64(st, 0);
		column_copy(st, 1, r->group, sizeof(r->group));
		column_copy(st, 2, r->state, sizeof(r->state));
		column_copy(st, 3, r->rule, sizeof(r->rule));
		rc = 1;
	} else if (step == SQLITE_DONE) {
		rc = 0;
	}
out_reset:
	sqlite3_reset(st);
	return rc;
}

int store_at(struct store *s, int64_t at_ms, struct node_at **out, int *n)
{
	static const char *const sqls[] = { sql_next_state_node, sql_state_at };
	sqlite3_stmt *st[ARRAY_SIZE(sqls)] = { NULL };
	struct node_at *rows = NULL;
	char node[STORE_NAME_MAX + 1];
	int64_t node_id = 0;
	sqlite3 *db;
	int cap = 0;
	int count = 0;
	int found;
	int rc = -EINVAL;

	if (!s || !out || !n)
		goto out;
	*out = NULL;
	*n = 0;

	rc = -EIO;
	db = store_reader_begin(s);
	if (prepare_all(db, sqls, st, ARRAY_SIZE(sqls)))
		goto out_end;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out_finalize;
	while ((found = next_state_node(st[0], &node_id, node, sizeof(node))) == 1) {
		if (grow((void **)&rows, &cap, count + 1, sizeof(*rows))) {
			rc = -ENOMEM;
			goto out_commit;
		}
		found = state_at(st[1], node_id, node, at_ms, &rows[count]);
		if (found < 0)
			goto out_commit;
		count += found;
	}
	if (found < 0)
		goto out_commit;
	if (count)
		qsort(rows, (size_t)count, sizeof(*rows), at_cmp);
	*out = count ? rows : NULL;
	*n = count;
	rows = count ? NULL : rows;
	rc = 0;
out_commit:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out_finalize:
	finalize_all(st, ARRAY_SIZE(st));
out_end:
	store_reader_end(s);
	free(rows);
out:
	return rc;
}

/* --- groups ------------------------------------------------------------ */

int store_group_get(struct store *s, const char *group, int64_t *epoch,
		    char *leader, size_t leader_size)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int step;
	int rc = -EINVAL;

	if (!s || !is_set(group))
		goto out;
	rc = -EIO;
	db = store_reader_begin(s);
	if (sqlite3_prepare_v2(db, "SELECT epoch, leader FROM groups WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out_finalize;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (epoch)
			*epoch = sqlite3_column_int64(st, 0);
		if (leader && leader_size)
			column_copy(st, 1, leader, leader_size);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = -ENOENT;
	}
out_finalize:
	sqlite3_finalize(st);
	store_reader_end(s);
out:
	return rc;
}
