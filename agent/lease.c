/* lease — the agent's lease, self-demotion and epoch fencing (see lease.h
 * for the safety argument).
 *
 * Role changes (each goes through drop() or acquire(), which emit the
 * LA_LEASE and LA_HOOK actions):
 *
 *   FOLLOWER|CLAIMING|LEADER --grant naming us, unexpired--> LEADER (promote hook)
 *   LEADER --lease ran out (checked first at every input)--> FOLLOWER (demote hook)
 *   LEADER|CLAIMING --grant naming another leader--> FOLLOWER (demote hook)
 *   any --demote or fence command--> FOLLOWER (that hook)
 *   LEADER --its promote hook failed--> FOLLOWER (no hook: the collector decides)
 *   LEADER --the agent stops (lease_resign)--> FOLLOWER (demote hook)
 */
#include "agent/lease.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/util.h"

struct lease {
	char node[PROTO_NAME_MAX + 1];
	enum lease_role role;
	int64_t seen_epoch;            /* newest epoch seen in a grant or command */
	int64_t lead_epoch;            /* LEADER: the epoch of our leadership */
	int64_t until_ms;              /* LEADER: lease end, agent clock */
	int64_t ring_seq[LEASE_RING];  /* sent heartbeats, -1 empty */
	int64_t ring_ms[LEASE_RING];
	int64_t last_sent_seq;         /* -1 none yet */
	int64_t ignore_upto_seq;       /* grants answering seq <= this are ignored */
	int64_t last_grant_seq;        /* grants must come in seq order */
	int64_t done_epoch[4];         /* per hook kind: epoch of the last command run */
};

const char *lease_role_name(enum lease_role r)
{
	switch (r) {
	case LEASE_FOLLOWER: return "follower";
	case LEASE_CLAIMING: return "claiming";
	case LEASE_LEADER:   return "leader";
	}
	return "?";
}

const char *lease_hook_name(enum lease_hook k)
{
	switch (k) {
	case LEASE_HOOK_PROMOTE: return "promote";
	case LEASE_HOOK_DEMOTE:  return "demote";
	case LEASE_HOOK_FENCE:   return "fence";
	}
	return "?";
}

/* ---- action list ------------------------------------------------------- */

void lease_out_init(struct lease_out *o)
{
	memset(o, 0, sizeof *o);
}

void lease_out_reset(struct lease_out *o)
{
	o->n = 0;
	o->oom = false;
}

void lease_out_done(struct lease_out *o)
{
	free(o->v);
	memset(o, 0, sizeof *o);
}

static struct lease_action *push(struct lease_out *o, enum lease_action_kind kind)
{
	struct lease_action *a, *nv = util_grow(o->v, &o->cap, o->n, sizeof *o->v, 8);

	if (!nv) {
		o->oom = true;
		return NULL;
	}
	o->v = nv;
	a = &o->v[o->n++];
	memset(a, 0, sizeof *a);
	a->kind = kind;
	return a;
}

static void emit_hook(struct lease_out *out, enum lease_hook kind, int64_t epoch,
		      uint64_t cmd_id, const char *reason)
{
	struct lease_action *a = push(out, LA_HOOK);

	if (!a)
		return;
	a->hook = kind;
	a->epoch = epoch;
	a->cmd_id = cmd_id;
	util_strlcpy(a->reason, reason, sizeof a->reason);
}

static void emit_lease(struct lease_out *out, bool on, int64_t epoch, const char *reason)
{
	struct lease_action *a = push(out, LA_LEASE);

	if (!a)
		return;
	a->on = on;
	a->epoch = epoch;
	util_strlcpy(a->reason, reason, sizeof a->reason);
}

/* ---- lifecycle --------------------------------------------------------- */

struct lease *lease_new(const char *node, bool initial_leader, int64_t saved_epoch)
{
	struct lease *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	util_strlcpy(l->node, node, sizeof l->node);
	l->role = initial_leader ? LEASE_CLAIMING : LEASE_FOLLOWER;
	l->seen_epoch = saved_epoch > 0 ? saved_epoch : 0;
	for (int i = 0; i < LEASE_RING; i++)
		l->ring_seq[i] = -1;
	l->last_sent_seq = -1;
	l->ignore_upto_seq = -1;
	l->last_grant_seq = -1;
	return l;
}

void lease_free(struct lease *l)
{
	free(l);
}

/* ---- the two role changes ---------------------------------------------- */

/* Leave leadership (or a claim): the lease is gone and grants already in
 * flight are ignored.  hook 0 = run no hook. */
static void drop(struct lease *l, int hook, int64_t epoch, uint64_t cmd_id, const char *reason,
		 struct lease_out *out)
{
	if (l->role == LEASE_LEADER)
		emit_lease(out, false, l->lead_epoch, reason);
	l->role = LEASE_FOLLOWER;
	l->until_ms = 0;
	l->ignore_upto_seq = l->last_sent_seq;
	if (hook)
		emit_hook(out, (enum lease_hook)hook, epoch, cmd_id, reason);
}

static void acquire(struct lease *l, int64_t epoch, int64_t until_ms, struct lease_out *out)
{
	l->role = LEASE_LEADER;
	l->lead_epoch = epoch;
	l->until_ms = until_ms;
	emit_lease(out, true, epoch, "granted");
	emit_hook(out, LEASE_HOOK_PROMOTE, epoch, 0, "granted");
}

/* First thing at every input: a leader whose lease ran out demotes itself
 * before anything else is looked at. */
static void check_expiry(struct lease *l, int64_t now_ms, struct lease_out *out)
{
	if (l->role == LEASE_LEADER && now_ms >= l->until_ms)
		drop(l, LEASE_HOOK_DEMOTE, l->lead_epoch, 0, "lease_expired", out);
}

static void saw_epoch(struct lease *l, int64_t epoch, struct lease_out *out)
{
	struct lease_action *a;

	if (epoch <= l->seen_epoch)
		return;
	l->seen_epoch = epoch;
	a = push(out, LA_SAVE_EPOCH);
	if (a)
		a->epoch = epoch;
}

/* ---- inputs ------------------------------------------------------------ */

void lease_hb_sent(struct lease *l, int64_t now_ms, int64_t seq, struct lease_out *out)
{
	int i;

	check_expiry(l, now_ms, out);
	if (seq < 0 || seq <= l->last_sent_seq)
		return;
	i = (int)(seq % LEASE_RING);
	l->ring_seq[i] = seq;
	l->ring_ms[i] = now_ms;
	l->last_sent_seq = seq;
}

void lease_grant(struct lease *l, int64_t now_ms, const struct lease_grant *g,
		 struct lease_out *out)
{
	int64_t sent_ms, until_ms;
	int i;

	check_expiry(l, now_ms, out);
	if (g->seq < 0 || g->epoch < l->seen_epoch)
		return;                 /* fenced: older than what we know */
	if (g->seq <= l->ignore_upto_seq || g->seq <= l->last_grant_seq)
		return;                 /* in flight before a demotion, a repeat, or reordered */
	i = (int)(g->seq % LEASE_RING);
	if (l->ring_seq[i] != g->seq)
		return;                 /* not a heartbeat of this boot (or too old) */
	sent_ms = l->ring_ms[i];
	l->last_grant_seq = g->seq;
	saw_epoch(l, g->epoch, out);

	if (strcmp(g->leader, l->node) == 0) {
		if (g->lease_ms <= 0)
			return;         /* still named, not renewed: let it run out */
		until_ms = sent_ms + g->lease_ms;
		if (until_ms <= now_ms)
			return;         /* arrived after it would have ended */
		if (l->role == LEASE_LEADER && l->lead_epoch == g->epoch) {
			if (until_ms > l->until_ms)
				l->until_ms = until_ms;
			return;
		}
		acquire(l, g->epoch, until_ms, out);
	} else if (g->leader[0] != '\0') {
		if (l->role != LEASE_FOLLOWER)
			drop(l, LEASE_HOOK_DEMOTE, g->epoch, 0, "other_leader", out);
	}
}

int lease_command(struct lease *l, int64_t now_ms, enum lease_hook kind, int64_t epoch,
		  uint64_t cmd_id, struct lease_out *out)
{
	struct lease_action *a;

	check_expiry(l, now_ms, out);
	if (epoch < l->seen_epoch) {
		a = push(out, LA_REFUSED);
		if (a) {
			a->hook = kind;
			a->cmd_id = cmd_id;
			a->epoch = epoch;
			a->seen_epoch = l->seen_epoch;
			util_strlcpy(a->reason, "stale_epoch", sizeof a->reason);
		}
		return -ESTALE;
	}
	saw_epoch(l, epoch, out);
	switch (kind) {
	case LEASE_HOOK_PROMOTE:
		/* Leadership comes with the lease: the next grant naming us
		 * runs the promote hook.  Nothing to do before it. */
		break;
	case LEASE_HOOK_DEMOTE:
	case LEASE_HOOK_FENCE:
		if (l->done_epoch[kind] == epoch)
			break;          /* a repeat: the hook already ran */
		l->done_epoch[kind] = epoch;
		drop(l, kind, epoch, cmd_id, "command", out);
		break;
	}
	return 0;
}

void lease_hook_done(struct lease *l, int64_t now_ms, enum lease_hook kind, int64_t epoch,
		     int rc, struct lease_out *out)
{
	check_expiry(l, now_ms, out);
	if (kind == LEASE_HOOK_PROMOTE && rc != 0 && l->role == LEASE_LEADER &&
	    l->lead_epoch == epoch)
		drop(l, 0, epoch, 0, "promote_failed", out);
}

void lease_tick(struct lease *l, int64_t now_ms, struct lease_out *out)
{
	check_expiry(l, now_ms, out);
}

void lease_resign(struct lease *l, int64_t now_ms, const char *reason, struct lease_out *out)
{
	check_expiry(l, now_ms, out);
	if (l->role == LEASE_LEADER)
		drop(l, LEASE_HOOK_DEMOTE, l->lead_epoch, 0, reason, out);
	else if (l->role == LEASE_CLAIMING)
		drop(l, 0, 0, 0, reason, out);
}

/* ---- views ------------------------------------------------------------- */

bool lease_is_valid(const struct lease *l, int64_t now_ms)
{
	return l->role == LEASE_LEADER && now_ms < l->until_ms;
}

enum lease_role lease_role(const struct lease *l)
{
	return l->role;
}

int64_t lease_epoch(const struct lease *l)
{
	return l->seen_epoch;
}

int64_t lease_until_ms(const struct lease *l)
{
	return l->role == LEASE_LEADER ? l->until_ms : 0;
}
