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
}

void model_done(struct model *m)
{
	free(m->nodes);
	free(m->groups);
	memset(m, 0, sizeof *m);
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

/* Nodes [0, sorted) are in cmp_node order (group, name); a delta's new nodes
 * are appended and the table re-sorted after the apply.  Lookup is a binary
 * search on (group, name), then a scan for a node that moved group or is new.
 * A snapshot needs no search at all: its names are unique. */
static struct mnode *find_or_add(struct model *m, size_t sorted, const char *name,
				 const char *group, bool search)
{
	if (search) {
		struct mnode key;
		struct mnode *hit;

		util_strlcpy(key.name, name, sizeof key.name);
		util_strlcpy(key.group, group, sizeof key.group);
		hit = sorted ? bsearch(&key, m->nodes, sorted, sizeof *m->nodes, cmp_node) : NULL;
		if (hit)
			return hit;
		for (size_t i = 0; i < m->n; i++)
			if (strcmp(m->nodes[i].name, name) == 0)
				return &m->nodes[i];
	}
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct mnode *nv = realloc(m->nodes, ncap * sizeof *nv);

		if (!nv)
			return NULL;
		m->nodes = nv;
		m->cap = ncap;
	}
	memset(&m->nodes[m->n], 0, sizeof m->nodes[0]);
	return &m->nodes[m->n++];
}

static void node_from(struct mnode *n, const cJSON *o, int64_t now_ms)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "metrics");

	str(o, "name", n->name, sizeof n->name);
	str(o, "group", n->group, sizeof n->group);
	str(o, "state", n->state, sizeof n->state);
	str(o, "rule", n->rule, sizeof n->rule);
	str(o, "role", n->role, sizeof n->role);
	str(o, "version", n->version, sizeof n->version);
	n->priority = (int)inum(o, "priority", 0);
	n->connected = flag(o, "connected");
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
	n->rtt_ms = inum(o, "rtt_ms", -1);
	n->flapping = flag(o, "flapping");
	str(o, "health", n->health, sizeof n->health);
	n->checks_critical = (int)inum(o, "checks_critical", 0);
	n->nchecks = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "checks"));
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
		str(g, "name", m->groups[k].name, sizeof m->groups[k].name);
		m->groups[k].members = (int)inum(g, "members", 0);
		m->groups[k].alive = (int)inum(g, "alive", 0);
		k++;
	}
	m->ng = k;
	return 0;
}

int model_apply(struct model *m, const char *json, size_t len, bool replace, int64_t now_ms,
		char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *c, *nodes, *groups, *it;
	size_t sorted;
	int rc = -1;

	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the collector sent a status that is not a JSON object");
		goto out;
	}
	nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
	groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
	if (!cJSON_IsArray(nodes) || !cJSON_IsArray(groups)) {
		snprintf(err, errlen, "the collector's status has no nodes or groups array");
		goto out;
	}
	c = cJSON_GetObjectItemCaseSensitive(root, "collector");
	if (cJSON_IsObject(c)) {
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
	}
	if (replace)
		m->n = 0;
	sorted = m->n;
	cJSON_ArrayForEach(it, nodes) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *group = cJSON_GetObjectItemCaseSensitive(it, "group");
		struct mnode *n;

		if (!cJSON_IsObject(it) || !cJSON_IsString(name) || !cJSON_IsString(group))
			continue;
		n = find_or_add(m, sorted, name->valuestring, group->valuestring, !replace);
		if (!n) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		node_from(n, it, now_ms);
	}
	if (m->n > 1)
		qsort(m->nodes, m->n, sizeof *m->nodes, cmp_node);
	if (apply_groups(m, groups)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	m->have_data = true;
	rc = 0;
out:
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
