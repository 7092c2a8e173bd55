/* model — folds the collector's status objects into a sorted node table. */
#include "tui/model.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/util.h"

void model_init(struct model *m)
{
	memset(m, 0, sizeof *m);
	m->alerts_firing = -1;
}

void model_done(struct model *m)
{
	free(m->nodes);
	free(m->groups);
	memset(m, 0, sizeof *m);
	m->alerts_firing = -1;
}

static void str(const cJSON *o, const char *k, char *dst, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	util_strlcpy(dst, cJSON_IsString(v) ? v->valuestring : "", len);
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int64_t inum(const cJSON *o, const char *k, int64_t dflt)
{
	double d = num(o, k);

	return isfinite(d) ? (int64_t)d : dflt;
}

static bool flag(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int cmp_node(const void *a, const void *b)
{
	const struct mnode *x = a, *y = b;
	int r = strcmp(x->group, y->group);

	return r ? r : strcmp(x->name, y->name);
}

void model_sort(struct model *m)
{
	if (m->n > 1)
		qsort(m->nodes, m->n, sizeof *m->nodes, cmp_node);
}

static struct mnode *append(struct model *m)
{
	struct mnode *nv = util_grow(m->nodes, &m->cap, m->n, sizeof *nv, 64);

	if (!nv)
		return NULL;
	m->nodes = nv;
	memset(&m->nodes[m->n], 0, sizeof m->nodes[0]);
	for (int i = 0; i < MNODE_PHI_HIST; i++)
		m->nodes[m->n].phi_hist[i] = NAN;
	return &m->nodes[m->n++];
}

struct mnode *model_add(struct model *m, const char *name, const char *group)
{
	struct mnode *n = append(m);

	if (!n)
		return NULL;
	util_strlcpy(n->name, name, sizeof n->name);
	util_strlcpy(n->group, group, sizeof n->group);
	n->hb_age_ms = -1;
	n->rtt_ms = -1;
	n->phi = n->mean_ms = n->sd_ms = NAN;
	n->cpu = n->mem = n->load1 = n->disk = n->err_rate = NAN;
	return n;
}

/* Nodes [0, sorted) are in cmp_node order (group, name); new nodes are
 * appended and the table re-sorted after the apply.  Lookup is a binary
 * search on (group, name), then a scan of the old nodes for one that moved
 * group. */
static struct mnode *find_or_add(struct model *m, size_t sorted, const char *name,
				 const char *group)
{
	struct mnode key;
	struct mnode *hit;

	util_strlcpy(key.name, name, sizeof key.name);
	util_strlcpy(key.group, group, sizeof key.group);
	hit = sorted ? bsearch(&key, m->nodes, sorted, sizeof *m->nodes, cmp_node) : NULL;
	if (hit)
		return hit;
	/* Only the nodes known before this message: a message lists each node
	 * once, so a first snapshot of 10,000 nodes costs no scan at all. */
	for (size_t i = 0; i < sorted; i++)
		if (strcmp(m->nodes[i].name, name) == 0)
			return &m->nodes[i];
	return append(m);
}

const struct mnode *model_find(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->nodes[i].name, name) == 0)
			return &m->nodes[i];
	return NULL;
}

const struct mgroup *model_group(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->ng; i++)
		if (strcmp(m->groups[i].name, name) == 0)
			return &m->groups[i];
	return NULL;
}

void model_phi_push(struct mnode *n, double phi, int64_t now_ms)
{
	int64_t b = now_ms / MNODE_PHI_BUCKET_MS + 1;   /* +1: bucket 0 means none */

	if (!isfinite(phi))
		return;
	if (n->phi_bucket == 0 || b - n->phi_bucket >= MNODE_PHI_HIST) {
		for (int i = 0; i < MNODE_PHI_HIST; i++)
			n->phi_hist[i] = NAN;
		n->phi_head = 0;
		n->phi_bucket = b;
	} else if (b < n->phi_bucket) {
		return;                 /* the clock went back: keep what we have */
	}
	while (n->phi_bucket < b) {
		n->phi_head = (n->phi_head + 1) % MNODE_PHI_HIST;
		n->phi_hist[n->phi_head] = NAN;
		n->phi_bucket++;
	}
	if (isnan(n->phi_hist[n->phi_head]) || phi > n->phi_hist[n->phi_head])
		n->phi_hist[n->phi_head] = (float)phi;
}

void model_phi_series(const struct mnode *n, int64_t now_ms, float *out, int count)
{
	int64_t b = now_ms / MNODE_PHI_BUCKET_MS + 1;

	for (int i = 0; i < count; i++) {
		int64_t want = b - (count - 1 - i);   /* bucket number for out[i] */
		int64_t back = n->phi_bucket - want;

		if (n->phi_bucket == 0 || back < 0 || back >= MNODE_PHI_HIST)
			out[i] = NAN;
		else
			out[i] = n->phi_hist[(n->phi_head - (int)back + MNODE_PHI_HIST) % MNODE_PHI_HIST];
	}
}

static void checks_from(struct mnode *n, const cJSON *arr)
{
	const cJSON *c;
	int k = 0;

	n->nchecks = cJSON_GetArraySize(arr);
	cJSON_ArrayForEach(c, arr) {
		if (k >= MNODE_CHECKS)
			break;
		if (!cJSON_IsObject(c))
			continue;
		str(c, "name", n->checks[k].name, sizeof n->checks[k].name);
		str(c, "status", n->checks[k].status, sizeof n->checks[k].status);
		str(c, "output", n->checks[k].output, sizeof n->checks[k].output);
		k++;
	}
	for (; k < MNODE_CHECKS; k++)
		n->checks[k].name[0] = '\0';
}

static void node_from(struct mnode *n, const cJSON *o, int64_t now_ms)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "metrics");
	const cJSON *app = mt ? cJSON_GetObjectItemCaseSensitive(mt, "app") : NULL;

	str(o, "name", n->name, sizeof n->name);
	str(o, "group", n->group, sizeof n->group);
	str(o, "state", n->state, sizeof n->state);
	str(o, "rule", n->rule, sizeof n->rule);
	str(o, "role", n->role, sizeof n->role);
	str(o, "agent_role", n->agent_role, sizeof n->agent_role);
	str(o, "version", n->version, sizeof n->version);
	n->agent_epoch = inum(o, "agent_epoch", -1);
	n->priority = (int)inum(o, "priority", 0);
	n->connected = flag(o, "connected");
	n->maintenance = flag(o, "maintenance");
	n->no_failover = flag(o, "no_failover");
	n->hb_age_ms = inum(o, "last_heartbeat_ms_ago", -1);
	n->rx_ms = now_ms;
	n->state_since_ms = inum(o, "state_since_ms", 0);
	n->interval_ms = (int)inum(o, "interval_ms", 0);
	n->phi = num(o, "phi");
	n->mean_ms = num(o, "interval_mean_ms");
	n->sd_ms = num(o, "interval_sd_ms");
	n->cpu = mt ? num(mt, "cpu") : NAN;
	n->mem = mt ? num(mt, "mem") : NAN;
	n->load1 = mt ? num(mt, "load1") : NAN;
	n->disk = mt ? num(mt, "disk") : NAN;
	n->err_rate = app ? num(app, "errors") : NAN;
	n->rtt_ms = inum(o, "rtt_ms", -1);
	n->flapping = flag(o, "flapping");
	str(o, "health", n->health, sizeof n->health);
	n->checks_critical = (int)inum(o, "checks_critical", 0);
	checks_from(n, cJSON_GetObjectItemCaseSensitive(o, "checks"));
	model_phi_push(n, n->phi, now_ms);
}

static void failover_from(struct mfailover *f, const cJSON *o)
{
	str(o, "state", f->state, sizeof f->state);
	str(o, "kind", f->kind, sizeof f->kind);
	str(o, "outcome", f->outcome, sizeof f->outcome);
	str(o, "target", f->target, sizeof f->target);
	str(o, "old_leader", f->old_leader, sizeof f->old_leader);
	str(o, "new_leader", f->new_leader, sizeof f->new_leader);
	f->since_ms = inum(o, "since_ms", -1);
	f->ts_ms = inum(o, "ts_ms", -1);
	f->duration_ms = inum(o, "duration_ms", -1);
	f->epoch = inum(o, "epoch", -1);
}

static void group_from(struct mgroup *g, const cJSON *o)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "quorum");
	const cJSON *fo = cJSON_GetObjectItemCaseSensitive(o, "failover");
	const cJSON *lf = cJSON_GetObjectItemCaseSensitive(o, "last_failover");

	memset(g, 0, sizeof *g);
	str(o, "name", g->name, sizeof g->name);
	g->members = (int)inum(o, "members", 0);
	g->alive = (int)inum(o, "alive", 0);
	g->expected = (int)inum(o, "expected", -1);
	g->quorum = cJSON_IsBool(q) ? cJSON_IsTrue(q) : -1;
	str(o, "leader", g->leader, sizeof g->leader);
	g->epoch = inum(o, "epoch", -1);
	g->paused = flag(o, "paused");
	g->paused_until_ms = inum(o, "paused_until_ms", 0);
	str(o, "paused_by", g->paused_by, sizeof g->paused_by);
	str(o, "pause_reason", g->pause_reason, sizeof g->pause_reason);
	g->failing_over = cJSON_IsObject(fo);
	if (g->failing_over)
		failover_from(&g->failover, fo);
	g->has_last = cJSON_IsObject(lf);
	if (g->has_last)
		failover_from(&g->last, lf);
}

static int apply_groups(struct model *m, const cJSON *arr)
{
	const cJSON *g;
	size_t k = 0, want = (size_t)cJSON_GetArraySize(arr);

	if (want > m->gcap) {
		struct mgroup *ng = realloc(m->groups, want * sizeof *ng);

		if (!ng)
			return -1;
		m->groups = ng;
		m->gcap = want;
	}
	cJSON_ArrayForEach(g, arr) {
		if (!cJSON_IsObject(g))
			continue;
		group_from(&m->groups[k], g);
		k++;
	}
	m->ng = k;
	return 0;
}

static void alert_from(struct malert *x, const cJSON *a)
{
	const cJSON *ack = cJSON_GetObjectItemCaseSensitive(a, "ack");

	memset(x, 0, sizeof *x);
	x->id = inum(a, "id", 0);
	str(a, "rule", x->rule, sizeof x->rule);
	str(a, "severity", x->severity, sizeof x->severity);
	str(a, "node", x->node, sizeof x->node);
	str(a, "group", x->group, sizeof x->group);
	str(a, "summary", x->summary, sizeof x->summary);
	str(a, "held", x->held, sizeof x->held);
	str(a, "held_by", x->held_by, sizeof x->held_by);
	x->started_ms = inum(a, "started_ms", 0);
	if (cJSON_IsObject(ack)) {
		str(ack, "who", x->ack_who, sizeof x->ack_who);
		str(ack, "reason", x->ack_reason, sizeof x->ack_reason);
		if (!x->ack_who[0])
			util_strlcpy(x->ack_who, "?", sizeof x->ack_who);
	}
}

static bool is_firing(const cJSON *a)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(a, "state");

	return cJSON_IsObject(a) && !(cJSON_IsString(st) && strcmp(st->valuestring, "firing"));
}

/* The status's `alerts`: the firing alerts, newest first, complete in every
 * snapshot and delta.  Absent: this collector has no alerting (n/a). */
static void apply_alerts(struct model *m, const cJSON *arr)
{
	const cJSON *a;

	if (!cJSON_IsArray(arr)) {
		m->alerts_firing = -1;
		m->nalerts = 0;
		return;
	}
	m->alerts_firing = 0;
	m->nalerts = 0;
	cJSON_ArrayForEach(a, arr) {
		if (!is_firing(a))
			continue;
		m->alerts_firing++;
		if (m->nalerts < MODEL_ALERTS_MAX)
			alert_from(&m->alerts[m->nalerts++], a);
	}
}

int model_alert_index(const struct model *m, int64_t id)
{
	for (int i = 0; i < m->nalerts; i++)
		if (m->alerts[i].id == id)
			return i;
	return -1;
}

bool model_alert_frame(struct model *m, const cJSON *frame)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(frame, "alert");
	int64_t id;
	int i;

	if (!cJSON_IsObject(a) || (id = inum(a, "id", 0)) <= 0)
		return false;         /* silence_end: the next delta brings the list */
	if (m->alerts_firing < 0)
		m->alerts_firing = 0;
	i = model_alert_index(m, id);
	if (!is_firing(a)) {
		if (i < 0)
			return false;
		memmove(&m->alerts[i], &m->alerts[i + 1], sizeof m->alerts[0] * (size_t)(m->nalerts - i - 1));
		m->nalerts--;
		if (m->alerts_firing > 0)
			m->alerts_firing--;
		return true;
	}
	if (i < 0) {              /* new: it goes first (newest first), the oldest may fall off */
		if (m->nalerts == MODEL_ALERTS_MAX)
			m->nalerts--;
		memmove(&m->alerts[1], &m->alerts[0], sizeof m->alerts[0] * (size_t)m->nalerts);
		m->nalerts++;
		m->alerts_firing++;
		i = 0;
	}
	alert_from(&m->alerts[i], a);
	return true;
}

static void collector_from(struct model *m, const cJSON *c)
{
	const cJSON *you = cJSON_GetObjectItemCaseSensitive(c, "you");

	str(c, "instance", m->instance, sizeof m->instance);
	str(c, "version", m->version, sizeof m->version);
	str(c, "listen", m->listen, sizeof m->listen);
	str(c, "auth", m->auth, sizeof m->auth);
	str(c, "store_error", m->store_error, sizeof m->store_error);
	m->serving = flag(c, "serving");
	m->recording = flag(c, "recording");
	m->tilt = flag(c, "tilt");
	m->agents_connected = (int)inum(c, "agents_connected", 0);
	m->operators_connected = (int)inum(c, "operators_connected", 0);
	m->collector_now_ms = inum(c, "now_ms", 0);
	m->uptime_ms = inum(c, "uptime_ms", 0);
	if (cJSON_IsObject(you)) {
		str(you, "name", m->you_name, sizeof m->you_name);
		str(you, "role", m->you_role, sizeof m->you_role);
	}
}

/* A delta's "removed": nodes an operator forgot (vigil forget).  Dropped
 * before the delta's nodes are applied: a name may come back among them as
 * a new node.  Order is kept, so the table stays sorted. */
static void apply_removed(struct model *m, const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		const struct mnode *n;
		size_t i;

		if (!cJSON_IsString(it) || !(n = model_find(m, it->valuestring)))
			continue;
		i = (size_t)(n - m->nodes);
		memmove(&m->nodes[i], &m->nodes[i + 1], (m->n - i - 1) * sizeof *m->nodes);
		m->n--;
	}
}

int model_apply_obj(struct model *m, const cJSON *root, bool replace, int64_t now_ms,
		    char *err, size_t errlen)
{
	const cJSON *c, *nodes, *groups, *it;
	size_t sorted, before;
	bool resort = replace;

	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the collector sent a status that is not a JSON object");
		return -1;
	}
	nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
	groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
	/* A slice of the collector's refresh is a delta with nodes only: the
	 * groups, alerts and facts stay as the last full status said. */
	if (!cJSON_IsArray(nodes) ||
	    (!cJSON_IsArray(groups) &&
	     (replace || groups || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "slice"))))) {
		snprintf(err, errlen, "the collector's status has no nodes or groups array");
		return -1;
	}
	c = cJSON_GetObjectItemCaseSensitive(root, "collector");
	if (cJSON_IsObject(c))
		collector_from(m, c);
	if (replace || cJSON_GetObjectItemCaseSensitive(root, "alerts"))
		apply_alerts(m, cJSON_GetObjectItemCaseSensitive(root, "alerts"));
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "removed")))
		apply_removed(m, cJSON_GetObjectItemCaseSensitive(root, "removed"));
	for (size_t i = 0; replace && i < m->n; i++)
		m->nodes[i].seen = false;
	sorted = before = m->n;
	cJSON_ArrayForEach(it, nodes) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *group = cJSON_GetObjectItemCaseSensitive(it, "group");
		struct mnode *n;

		if (!cJSON_IsObject(it) || !cJSON_IsString(name) || !cJSON_IsString(group))
			continue;
		n = find_or_add(m, sorted, name->valuestring, group->valuestring);
		if (!n) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (strcmp(n->group, group->valuestring) != 0)
			resort = true;         /* new (group "") or moved */
		node_from(n, it, now_ms);
		n->seen = true;
	}
	if (replace) {   /* drop the nodes the snapshot does not list */
		size_t k = 0;

		for (size_t i = 0; i < m->n; i++)
			if (m->nodes[i].seen)
				m->nodes[k++] = m->nodes[i];
		m->n = k;
	}
	if (resort || m->n != before)
		model_sort(m);
	if (groups && apply_groups(m, groups)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->have_data = true;
	return 0;
}

int model_apply(struct model *m, const char *json, size_t len, bool replace, int64_t now_ms,
		char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	int rc;

	if (!root) {
		snprintf(err, errlen, "the collector sent a status that is not a JSON object");
		return -1;
	}
	rc = model_apply_obj(m, root, replace, now_ms, err, errlen);
	cJSON_Delete(root);
	return rc;
}

int64_t model_hb_age(const struct mnode *n, int64_t now_ms)
{
	if (n->hb_age_ms < 0)
		return -1;
	return n->hb_age_ms + (now_ms > n->rx_ms ? now_ms - n->rx_ms : 0);
}

int model_not_alive(const struct model *m)
{
	int k = 0;

	for (size_t i = 0; i < m->n; i++)
		k += strcmp(m->nodes[i].state, "alive") != 0;
	return k;
}
