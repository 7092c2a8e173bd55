/* check_sim.c — a deterministic simulation of failover: the collector's
 * groups module and one agent lease object per node, driven together in
 * simulated time through a simulated network (delay 0..300 ms, loss,
 * duplication, reordering), with node crashes and restarts, node pauses
 * (SIGSTOP: the agent acts on nothing, then wakes with its clock jumped),
 * collector restarts (the module is rebuilt from the persisted epoch,
 * leader and members only), epoch writes that fail (some of them after
 * landing), tilt periods, failing promote hooks, agent clocks that run
 * up to 4 % fast or slow, and random operator commands (with dry runs).
 *
 * Each schedule runs CHAOS_STEPS steps of STEP_MS with all of the above,
 * then CALM_STEPS in which the network is reliable (delay still 0..300 ms),
 * paused nodes wake, half of the crashed ones restart, nothing else fails,
 * automation is resumed and maintenance switched off.
 *
 * Checked after every input delivered and every step (safety):
 *   S1 at most one agent per group believes it holds a valid lease, at its
 *      own clock, at every simulated instant (beliefs only start at an input,
 *      so checking after each input is enough);
 *   S2 persisted epochs strictly increase per group; every agent's newest
 *      seen epoch never decreases, across its restarts too;
 *   S3 no automatic decision (GA_STATE to DECIDE of an automatic kind) without
 *      a strict majority of expected members alive in the states fed;
 *   S4 every GA_SEND (and every delivered command or grant) carries an epoch
 *      already reported persisted; no command before its epoch;
 *   S5 an agent whose lease ran out demotes itself (lease off + demote hook)
 *      before anything else when it is next given an input (e.g. on waking).
 * Liveness, at the end of the calm phase: a group with quorum whose leader
 * is alive or which has an eligible candidate has a leader, no failover
 * under way, and that leader's agent holds a valid lease.  The bound: calm
 * lasts CALM_STEPS * STEP_MS = 12 s >= failure window (1 s) + lease * 1.1
 * (2.2 s) + cooldown (2 s) + fence timeout (1 s) + promote timeout (3 s)
 * + 4 message delays (1.2 s) + 2 heartbeat intervals (0.5 s) = 10.9 s.
 *
 * SIM_SEED=N runs only schedule N (with a trace of the failure); SIM_RUNS=N
 * changes the number of schedules (default 1000). */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/lease.h"
#include "collector/groups.h"
#include "proto/util.h"

Suite *sim_suite(void);

#define MAXG 2
#define MAXN 10
#define STEP_MS 50
#define CHAOS_STEPS 300
#define CALM_STEPS 240
#define HB_MS 250
#define FAIL_WINDOW_MS 1000
#define STARTUP_GRACE_MS 1500
#define MAX_DELAY_MS 300

#define CHECK(sim, cond, ...) \
	do { \
		if (!(cond)) { \
			char m_[512]; \
			snprintf(m_, sizeof m_, __VA_ARGS__); \
			ck_abort_msg("seed %" PRIu64 " step %d t=%" PRId64 ": %s (replay: SIM_SEED=%" PRIu64 ")", \
				     (sim)->seed, (sim)->step, (sim)->t, m_, (sim)->seed); \
		} \
	} while (0)

enum msg_kind { M_HB = 1, M_RESULT, M_GRANT, M_CMD };

struct msg {
	int64_t due;
	enum msg_kind kind;
	int node;
	int inc;                       /* agent incarnation (to agent) or collector's (to collector) */
	int64_t seq;
	enum grp_role role;
	struct lease_grant grant;
	enum grp_hook hook;
	int64_t epoch;
	uint64_t cmd_id;
	int rc;
};

struct agent {
	char name[32];
	int group;
	int prio;
	bool no_failover;
	bool up, paused;
	int64_t pause_until;
	int inc;
	struct lease *l;
	double rate;
	int64_t off;
	int64_t next_hb;               /* agent clock */
	int64_t seq;
	int64_t saved_epoch;
	int64_t max_seen;
	int64_t down_until;            /* crashed: may restart after */
	bool degraded, flapping;
};

struct sim {
	uint64_t seed, rng;
	int step;
	int64_t t;
	bool trace;
	int ng, nn;
	struct agent a[MAXN];
	char gname[MAXG][32];

	/* network */
	struct msg *q;
	size_t nq, qcap;
	int loss_pct, dup_pct;

	/* the collector */
	struct groups *g;
	struct groups_config cfg;
	struct grp_out out;
	int cinc;
	int64_t started;
	int64_t last_hb[MAXN];         /* -1 never (since restart) */
	bool connected[MAXN];
	enum grp_role role[MAXN];
	enum node_state fed[MAXN];
	bool tilt;
	int64_t tilt_until;
	int64_t acked_epoch[MAXG];     /* highest reported persisted ok to this incarnation */

	/* the store */
	int64_t st_epoch[MAXG];
	char st_leader[MAXG][PROTO_NAME_MAX + 1];
	bool st_member[MAXN];
	bool st_group[MAXG];

	bool calm;
	struct lease_out lo;
	long checks;
};

/* What the schedules exercised, summed over a run (printed at the end). */
struct sim_stats {
	long confirmed, aborted, failed, auto_decisions, elections, adoptions, manual, switchovers;
	long refusals, fences, self_demotes, persist_failures, liveness_checked;
};
static struct sim_stats stats;

/* ---- helpers ----------------------------------------------------------- */

static uint64_t rnd(struct sim *s)
{
	uint64_t x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int rint_(struct sim *s, int lo, int hi)       /* [lo, hi] */
{
	return lo + (int)(rnd(s) % (uint64_t)(hi - lo + 1));
}

static bool chance(struct sim *s, int per_mille)
{
	return (int)(rnd(s) % 1000) < per_mille;
}

static int64_t aclock(const struct agent *a, int64_t t)
{
	return a->off + (int64_t)((double)t * a->rate);
}

static int node_by_name(const struct sim *s, const char *name)
{
	for (int i = 0; i < s->nn; i++)
		if (strcmp(s->a[i].name, name) == 0)
			return i;
	return -1;
}

static int group_by_name(const struct sim *s, const char *name)
{
	for (int i = 0; i < s->ng; i++)
		if (strcmp(s->gname[i], name) == 0)
			return i;
	return -1;
}

static void send_msg(struct sim *s, const struct msg *m0, bool to_collector)
{
	int copies = 1;

	if (!s->calm && chance(s, s->loss_pct * 10))
		return;
	if (!s->calm && chance(s, s->dup_pct * 10))
		copies = 2;
	for (int c = 0; c < copies; c++) {
		struct msg *m;

		if (s->nq == s->qcap) {
			s->qcap = s->qcap ? 2 * s->qcap : 256;
			s->q = realloc(s->q, s->qcap * sizeof *s->q);
			ck_assert_ptr_nonnull(s->q);
		}
		m = &s->q[s->nq++];
		*m = *m0;
		m->due = s->t + rint_(s, 0, MAX_DELAY_MS);
		if (to_collector)
			m->inc = s->cinc;
	}
}

/* ---- invariants -------------------------------------------------------- */

static void check_safety(struct sim *s)
{
	for (int gi = 0; gi < s->ng; gi++) {
		int holders = 0, who[MAXN];

		for (int i = 0; i < s->nn; i++) {
			struct agent *a = &s->a[i];

			if (a->group != gi || !a->up)
				continue;
			if (lease_is_valid(a->l, aclock(a, s->t))) {
				struct grp_info in;
				double end = ((double)lease_until_ms(a->l) - (double)a->off) / a->rate;

				who[holders++] = i;
				/* S1': its lease ends (in real time) before the
				 * collector's view of it, margin included. */
				CHECK(s, groups_info(s->g, s->t, s->gname[gi], &in) == 0 &&
				      strcmp(in.lease_holder, a->name) == 0 && end < (double)in.lease_safe_ms,
				      "S1': %s believes a lease until %.0f but the collector's holder is '%s' until %"
				      PRId64, a->name, end, in.lease_holder, in.lease_safe_ms);
			}
			CHECK(s, lease_epoch(a->l) >= a->max_seen, "S2: %s saw epoch %" PRId64 " after %" PRId64,
			      a->name, lease_epoch(a->l), a->max_seen);
			a->max_seen = lease_epoch(a->l);
		}
		CHECK(s, holders <= 1, "S1: group %s has %d valid leases (%s, %s)", s->gname[gi], holders,
		      s->a[who[0]].name, s->a[who[holders > 1 ? 1 : 0]].name);
		s->checks++;
	}
}

static bool sim_quorum(const struct sim *s, int gi)
{
	int exp = 0, up = 0;

	for (int i = 0; i < s->nn; i++) {
		if (s->a[i].group != gi || !s->st_member[i])
			continue;
		exp++;
		up += s->fed[i] == NODE_ALIVE || s->fed[i] == NODE_DEGRADED;
	}
	return exp > 0 && 2 * up > exp;
}

/* ---- the agent side ---------------------------------------------------- */

static void agent_actions(struct sim *s, int i, bool expired_before);

/* Run one input on agent i (the caller filled s->lo through the lease call). */
#define AGENT_INPUT(s, i, call) \
	do { \
		struct agent *a_ = &(s)->a[i]; \
		int64_t now_ = aclock(a_, (s)->t); \
		bool exp_ = lease_role(a_->l) == LEASE_LEADER && now_ >= lease_until_ms(a_->l); \
		lease_out_reset(&(s)->lo); \
		call; \
		agent_actions(s, i, exp_); \
	} while (0)

static void agent_actions(struct sim *s, int i, bool expired_before)
{
	struct agent *a = &s->a[i];
	struct lease_out lo = s->lo;           /* take the list: hooks feed more */
	int64_t now = aclock(a, s->t);

	lease_out_init(&s->lo);
	if (expired_before) {
		CHECK(s, lo.n >= 2 && lo.v[0].kind == LA_LEASE && !lo.v[0].on && lo.v[1].kind == LA_HOOK &&
		      lo.v[1].hook == LEASE_HOOK_DEMOTE,
		      "S5: %s's lease ran out but it did not demote first", a->name);
	}
	for (size_t k = 0; k < lo.n; k++) {
		struct lease_action act = lo.v[k];
		struct msg m;

		switch (act.kind) {
		case LA_SAVE_EPOCH:
			CHECK(s, act.epoch >= a->saved_epoch, "S2: %s saved a lower epoch", a->name);
			a->saved_epoch = act.epoch;
			break;
		case LA_HOOK:
			memset(&m, 0, sizeof m);
			m.kind = M_RESULT;
			m.node = i;
			m.hook = (enum grp_hook)act.hook;
			m.epoch = act.epoch;
			m.cmd_id = act.cmd_id;
			m.rc = act.hook == LEASE_HOOK_PROMOTE && !s->calm && chance(s, 150) ? 1 : 0;
			if (s->trace)
				fprintf(stderr, "t=%" PRId64 " %s hook %s epoch %" PRId64 " rc %d (%s)\n", s->t,
					a->name, lease_hook_name(act.hook), act.epoch, m.rc, act.reason);
			lease_out_reset(&s->lo);
			lease_hook_done(a->l, now, act.hook, act.epoch, m.rc, &s->lo);
			agent_actions(s, i, false);
			send_msg(s, &m, true);
			break;
		case LA_LEASE:
			stats.self_demotes += !act.on && strcmp(act.reason, "lease_expired") == 0;
			break;
		case LA_REFUSED:
			break;
		}
	}
	lease_out_done(&lo);
	check_safety(s);
}

static void agent_start(struct sim *s, int i, bool initial_leader)
{
	struct agent *a = &s->a[i];

	a->l = lease_new(a->name, initial_leader, a->saved_epoch);
	ck_assert_ptr_nonnull(a->l);
	a->up = true;
	a->paused = false;
	a->inc++;
	a->seq = 0;
	a->next_hb = aclock(a, s->t) + rint_(s, 0, HB_MS);
}

static void agent_crash(struct sim *s, int i)
{
	struct agent *a = &s->a[i];

	lease_free(a->l);
	a->l = NULL;
	a->up = false;
	s->connected[i] = false;       /* the collector sees the socket close */
	a->down_until = s->t + rint_(s, 500, 8000);
}

/* ---- the collector side ------------------------------------------------ */

static void coll_actions(struct sim *s);

static void coll_persist(struct sim *s, const struct grp_action *a)
{
	int gi = group_by_name(s, a->group);
	int r = rint_(s, 0, 99);
	bool lands = s->calm || r < 93, ok = s->calm || r < 88;

	CHECK(s, gi >= 0, "unknown group %s", a->group);
	CHECK(s, a->epoch > s->st_epoch[gi], "S2: epoch %" PRId64 " written after %" PRId64, a->epoch,
	      s->st_epoch[gi]);
	if (lands) {
		s->st_epoch[gi] = a->epoch;
		util_strlcpy(s->st_leader[gi], a->node, sizeof s->st_leader[gi]);
		s->st_group[gi] = true;
	}
	if (ok)
		s->acked_epoch[gi] = a->epoch;
	else
		stats.persist_failures++;
	if (s->trace)
		fprintf(stderr, "t=%" PRId64 " persist %s epoch %" PRId64 " leader %s: %s%s\n", s->t, a->group,
			a->epoch, a->node, ok ? "ok" : "failed", lands && !ok ? " (landed)" : "");
	groups_epoch_persisted(s->g, s->t, a->group, a->epoch, ok, &s->out);
}

static void coll_actions(struct sim *s)
{
	for (size_t k = 0; k < s->out.n; k++) {
		struct grp_action a = s->out.v[k];   /* copy: the list may grow */
		int gi = group_by_name(s, a.group), ni = node_by_name(s, a.node);
		struct msg m;

		switch (a.kind) {
		case GA_SET_EPOCH:
			coll_persist(s, &a);
			break;
		case GA_SEND:
			CHECK(s, gi >= 0 && ni >= 0, "send to unknown %s/%s", a.group, a.node);
			CHECK(s, a.epoch <= s->acked_epoch[gi], "S4: %s sent to %s at epoch %" PRId64
			      " before it was persisted (%" PRId64 ")", groups_hook_name(a.hook), a.node,
			      a.epoch, s->acked_epoch[gi]);
			if (s->trace)
				fprintf(stderr, "t=%" PRId64 " send %s to %s epoch %" PRId64 "\n", s->t,
					groups_hook_name(a.hook), a.node, a.epoch);
			if (!s->a[ni].up)
				break;
			memset(&m, 0, sizeof m);
			m.kind = M_CMD;
			m.node = ni;
			m.hook = a.hook;
			m.epoch = a.epoch;
			m.cmd_id = a.cmd_id;
			m.inc = s->a[ni].inc;
			send_msg(s, &m, false);
			break;
		case GA_STATE:
			if (s->trace)
				fprintf(stderr, "t=%" PRId64 " %s: %s [%s]\n", s->t, a.group, a.text, a.code);
			stats.confirmed += a.to == FO_IDLE && strcmp(a.code, "confirmed") == 0;
			stats.aborted += a.to == FO_IDLE && strcmp(a.code, "aborted") == 0;
			stats.failed += a.to == FO_IDLE && strcmp(a.code, "failed") == 0;
			stats.fences += a.to == FO_FENCE;
			if (a.to == FO_DECIDE && a.from == FO_IDLE) {
				stats.auto_decisions += a.fo_kind == FOK_AUTO;
				stats.elections += a.fo_kind == FOK_ELECT;
				stats.adoptions += a.fo_kind == FOK_ADOPT;
			}
			stats.manual += a.from == FO_IDLE && a.fo_kind == FOK_MANUAL;
			stats.switchovers += a.from == FO_IDLE && a.fo_kind == FOK_SWITCHOVER;
			if (a.to == FO_DECIDE && a.from == FO_IDLE)
				CHECK(s, a.fo_kind == FOK_AUTO || a.fo_kind == FOK_ELECT || a.fo_kind == FOK_ADOPT,
				      "IDLE -> DECIDE by a %s failover", groups_fo_kind_name(a.fo_kind));
			if (a.to == FO_DECIDE && (a.fo_kind == FOK_AUTO || a.fo_kind == FOK_ELECT ||
						  a.fo_kind == FOK_ADOPT))
				CHECK(s, sim_quorum(s, gi), "S3: automatic %s in %s without quorum",
				      groups_fo_kind_name(a.fo_kind), a.group);
			break;
		case GA_RECORD:
			stats.refusals += strcmp(a.code, "refusal") == 0;
			if (s->trace)
				fprintf(stderr, "t=%" PRId64 " record %s %s: %s\n", s->t, a.code, a.group, a.text);
			break;
		case GA_MEMBER:
			CHECK(s, ni >= 0, "member %s unknown", a.node);
			s->st_member[ni] = a.on;
			s->st_group[gi] = true;
			break;
		}
	}
	grp_out_reset(&s->out);
}

static void coll_start(struct sim *s)
{
	groups_free(s->g);
	s->cfg.cmd_id_base = (uint64_t)(s->cinc + 1) << 32;
	s->g = groups_new(&s->cfg);
	ck_assert_ptr_nonnull(s->g);
	s->cinc++;
	s->started = s->t;
	for (int i = 0; i < s->nn; i++) {
		s->last_hb[i] = -1;
		s->connected[i] = false;
		s->role[i] = GROLE_FOLLOWER;
		s->fed[i] = NODE_SUSPECT;
	}
	for (int gi = 0; gi < s->ng; gi++) {
		const char *mem[MAXN];
		int n = 0;

		s->acked_epoch[gi] = s->st_epoch[gi];
		if (!s->st_group[gi])
			continue;
		for (int i = 0; i < s->nn; i++)
			if (s->a[i].group == gi && s->st_member[i])
				mem[n++] = s->a[i].name;
		CHECK(s, groups_restore(s->g, s->t, s->gname[gi], s->st_epoch[gi], s->st_leader[gi], mem, n) == 0,
		      "restore failed");
	}
}

static void coll_receive(struct sim *s, const struct msg *m)
{
	struct grp_grant gr;
	struct msg r;
	struct agent *a = &s->a[m->node];

	if (m->inc != s->cinc)
		return;                        /* sent to a collector that has since restarted */
	switch (m->kind) {
	case M_HB:
		s->last_hb[m->node] = s->t;
		s->connected[m->node] = a->up;
		s->role[m->node] = m->role;
		groups_heartbeat(s->g, s->t, a->name, &gr);
		if (!gr.member)
			break;
		CHECK(s, gr.epoch <= s->acked_epoch[a->group], "S4: grant at unpersisted epoch");
		memset(&r, 0, sizeof r);
		r.kind = M_GRANT;
		r.node = m->node;
		r.grant.seq = m->seq;
		r.grant.epoch = gr.epoch;
		util_strlcpy(r.grant.leader, gr.leader, sizeof r.grant.leader);
		r.grant.lease_ms = gr.lease_ms;
		r.inc = a->inc;
		send_msg(s, &r, false);
		break;
	case M_RESULT:
		groups_hook_result(s->g, s->t, a->name, m->hook, m->epoch, m->cmd_id, m->rc, "", &s->out);
		break;
	default:
		break;
	}
	coll_actions(s);
}

static void coll_feed(struct sim *s)
{
	for (int i = 0; i < s->nn; i++) {
		struct agent *a = &s->a[i];
		struct grp_member_update u;
		enum node_state st;

		if (s->last_hb[i] < 0) {
			if (!s->st_member[i])
				continue;
			st = s->t - s->started >= STARTUP_GRACE_MS ? NODE_FAILED : NODE_SUSPECT;
		} else if (s->t - s->last_hb[i] <= FAIL_WINDOW_MS) {
			st = a->degraded ? NODE_DEGRADED : NODE_ALIVE;
		} else {
			st = NODE_FAILED;
		}
		if (!a->up)
			s->connected[i] = false;
		memset(&u, 0, sizeof u);
		util_strlcpy(u.node, a->name, sizeof u.node);
		util_strlcpy(u.group, s->gname[a->group], sizeof u.group);
		u.priority = a->prio;
		u.state = st;
		u.flapping = a->flapping;
		u.no_failover = a->no_failover;
		u.role = s->role[i];
		u.connected = s->connected[i];
		CHECK(s, groups_member(s->g, s->t, &u, &s->out) == 0, "member update refused");
		s->fed[i] = st;
	}
	coll_actions(s);
}

/* ---- the network ------------------------------------------------------- */

static void deliver(struct sim *s)
{
	for (;;) {
		size_t best = s->nq;
		struct msg m;

		for (size_t k = 0; k < s->nq; k++) {
			const struct msg *q = &s->q[k];

			if (q->due > s->t)
				continue;
			if ((q->kind == M_GRANT || q->kind == M_CMD) && s->a[q->node].up && s->a[q->node].paused &&
			    s->a[q->node].inc == q->inc)
				continue;      /* waits in the socket buffer */
			if (best == s->nq || q->due < s->q[best].due)
				best = k;
		}
		if (best == s->nq)
			return;
		m = s->q[best];
		s->q[best] = s->q[--s->nq];
		if (m.kind == M_HB || m.kind == M_RESULT) {
			coll_receive(s, &m);
		} else {
			struct agent *a = &s->a[m.node];

			if (!a->up || a->inc != m.inc)
				continue;      /* that process is gone */
			CHECK(s, (m.kind == M_GRANT ? m.grant.epoch : m.epoch) <= s->st_epoch[a->group],
			      "S4: delivered epoch %" PRId64 " not persisted", m.epoch);
			if (m.kind == M_GRANT)
				AGENT_INPUT(s, m.node, lease_grant(a->l, now_, &m.grant, &s->lo));
			else
				AGENT_INPUT(s, m.node, lease_command(a->l, now_, (enum lease_hook)m.hook, m.epoch,
								     m.cmd_id, &s->lo));
		}
	}
}

/* ---- operator ---------------------------------------------------------- */

static void op_command(struct sim *s)
{
	struct grp_cmd c;
	struct grp_cmd_result res;
	int gi = rint_(s, 0, s->ng - 1), ni = rint_(s, 0, s->nn - 1);
	size_t before = s->out.n;

	memset(&c, 0, sizeof c);
	util_strlcpy(c.who, "sim", sizeof c.who);
	util_strlcpy(c.reason, "random", sizeof c.reason);
	util_strlcpy(c.group, s->gname[gi], sizeof c.group);
	c.dry_run = chance(s, 300);
	switch (rint_(s, 0, 6)) {
	case 0:
		c.kind = GCMD_FAILOVER;
		if (chance(s, 500))
			util_strlcpy(c.node, s->a[ni].name, sizeof c.node);
		c.force = chance(s, 300);
		break;
	case 1:
		c.kind = GCMD_SWITCHOVER;
		util_strlcpy(c.node, s->a[ni].name, sizeof c.node);
		break;
	case 2:
		c.kind = GCMD_PAUSE;
		c.duration_ms = chance(s, 500) ? rint_(s, 500, 5000) : 0;
		break;
	case 3:
		c.kind = GCMD_RESUME;
		break;
	case 4:
	case 5:
		c.kind = GCMD_MAINTENANCE;
		util_strlcpy(c.node, s->a[ni].name, sizeof c.node);
		c.on = chance(s, 500);
		c.duration_ms = chance(s, 500) ? rint_(s, 500, 5000) : 0;
		break;
	default:
		if (!c.dry_run && s->st_member[ni])
			groups_forget(s->g, s->t, s->gname[s->a[ni].group], s->a[ni].name, "sim", "random",
				      &s->out);
		coll_actions(s);
		return;
	}
	groups_command(s->g, s->t, &c, &res, &s->out);
	if (c.dry_run)
		CHECK(s, s->out.n == before, "dry run emitted %zu actions", s->out.n - before);
	if (s->trace)
		fprintf(stderr, "t=%" PRId64 " command %d %s %s dry %d force %d: %s %s\n", s->t, c.kind, c.group,
			c.node, c.dry_run, c.force, res.ok ? "ok" : "refused", res.text);
	coll_actions(s);
}

/* ---- one schedule ------------------------------------------------------ */

static void sim_init(struct sim *s, uint64_t seed, bool trace)
{
	memset(s, 0, sizeof *s);
	s->seed = seed;
	s->rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	s->trace = trace;
	s->ng = rint_(s, 1, MAXG);
	for (int gi = 0; gi < s->ng; gi++) {
		int k = rint_(s, 3, 5);

		snprintf(s->gname[gi], sizeof s->gname[gi], "g%d", gi);
		for (int j = 0; j < k; j++) {
			struct agent *a = &s->a[s->nn++];

			snprintf(a->name, sizeof a->name, "g%dn%d", gi, j);
			a->group = gi;
			a->prio = rint_(s, 0, 3) * 10;
			a->no_failover = chance(s, 80);
			a->rate = 0.96 + (double)rint_(s, 0, 80) / 1000.0;
			a->off = rint_(s, 0, 100000);
		}
	}
	groups_config_defaults(&s->cfg);
	s->cfg.persist_timeout_ms = 1000;
	s->cfg.fence_timeout_ms = 1000;
	s->cfg.promote_timeout_ms = 3000;
	s->cfg.cooldown_ms = 2000;
	grp_out_init(&s->out);
	lease_out_init(&s->lo);
	s->loss_pct = rint_(s, 0, 20);
	s->dup_pct = rint_(s, 0, 10);
	coll_start(s);
	for (int i = 0; i < s->nn; i++)
		agent_start(s, i, chance(s, 150));
}

static void sim_done(struct sim *s)
{
	for (int i = 0; i < s->nn; i++)
		lease_free(s->a[i].l);
	groups_free(s->g);
	grp_out_done(&s->out);
	lease_out_done(&s->lo);
	free(s->q);
}

static void chaos(struct sim *s)
{
	if (chance(s, 4)) {
		int i = rint_(s, 0, s->nn - 1);

		if (s->a[i].up) {
			if (s->trace)
				fprintf(stderr, "t=%" PRId64 " crash %s\n", s->t, s->a[i].name);
			agent_crash(s, i);
		}
	}
	if (chance(s, 4)) {
		int i = rint_(s, 0, s->nn - 1);

		if (s->a[i].up && !s->a[i].paused) {
			s->a[i].paused = true;
			s->a[i].pause_until = s->t + rint_(s, 300, 5000);
			if (s->trace)
				fprintf(stderr, "t=%" PRId64 " pause %s until %" PRId64 "\n", s->t, s->a[i].name,
					s->a[i].pause_until);
		}
	}
	if (chance(s, 2)) {
		if (s->trace)
			fprintf(stderr, "t=%" PRId64 " collector restart\n", s->t);
		coll_start(s);
	}
	if (!s->tilt && chance(s, 3)) {
		s->tilt = true;
		s->tilt_until = s->t + rint_(s, 500, 3000);
	}
	if (chance(s, 10)) {
		int i = rint_(s, 0, s->nn - 1);

		s->a[i].degraded = chance(s, 300);
		s->a[i].flapping = chance(s, 150);
	}
	if (chance(s, 8))
		op_command(s);
	for (int i = 0; i < s->nn; i++)
		if (!s->a[i].up && s->t >= s->a[i].down_until && chance(s, 100))
			agent_start(s, i, chance(s, 200));
}

static void calm_start(struct sim *s)
{
	struct grp_cmd c;
	struct grp_cmd_result res;

	s->calm = true;
	s->tilt = false;
	for (int i = 0; i < s->nn; i++) {
		if (!s->a[i].up && chance(s, 500))
			agent_start(s, i, false);
		s->a[i].pause_until = s->t;
	}
	for (int gi = 0; gi < s->ng; gi++) {
		memset(&c, 0, sizeof c);
		c.kind = GCMD_RESUME;
		util_strlcpy(c.group, s->gname[gi], sizeof c.group);
		groups_command(s->g, s->t, &c, &res, &s->out);
	}
	for (int i = 0; i < s->nn; i++) {
		memset(&c, 0, sizeof c);
		c.kind = GCMD_MAINTENANCE;
		util_strlcpy(c.node, s->a[i].name, sizeof c.node);
		c.on = false;
		groups_command(s->g, s->t, &c, &res, &s->out);
	}
	coll_actions(s);
}

static void step(struct sim *s)
{
	s->t += STEP_MS;
	/* Wake paused agents: the first input they see is their own tick. */
	for (int i = 0; i < s->nn; i++) {
		struct agent *a = &s->a[i];

		if (a->up && a->paused && s->t >= a->pause_until) {
			a->paused = false;
			if (s->trace)
				fprintf(stderr, "t=%" PRId64 " wake %s\n", s->t, a->name);
			AGENT_INPUT(s, i, lease_tick(a->l, now_, &s->lo));
		}
	}
	deliver(s);
	for (int i = 0; i < s->nn; i++) {
		struct agent *a = &s->a[i];

		if (!a->up || a->paused)
			continue;
		AGENT_INPUT(s, i, lease_tick(a->l, now_, &s->lo));
		if (aclock(a, s->t) >= a->next_hb) {
			struct msg m;

			a->next_hb += HB_MS;
			if (a->next_hb <= aclock(a, s->t))
				a->next_hb = aclock(a, s->t) + HB_MS;
			AGENT_INPUT(s, i, lease_hb_sent(a->l, now_, a->seq, &s->lo));
			memset(&m, 0, sizeof m);
			m.kind = M_HB;
			m.node = i;
			m.seq = a->seq++;
			m.role = (enum grp_role)lease_role(a->l);
			send_msg(s, &m, true);
		}
	}
	if (s->tilt && s->t >= s->tilt_until)
		s->tilt = false;
	coll_feed(s);
	groups_tick(s->g, s->t, s->tilt, &s->out);
	coll_actions(s);
	if (!s->calm)
		chaos(s);
	check_safety(s);
}

static void check_liveness(struct sim *s)
{
	for (int gi = 0; gi < s->ng; gi++) {
		struct grp_info in;
		struct grp_candidate c[GRP_MEMBERS_MAX];
		int n, li;
		bool eligible = false, leader_up;

		if (groups_info(s->g, s->t, s->gname[gi], &in) != 0 || !in.quorum)
			continue;
		n = groups_candidates(s->g, s->t, s->gname[gi], c, GRP_MEMBERS_MAX);
		for (int k = 0; k < n; k++)
			eligible = eligible || c[k].why_not == 0;
		li = in.leader[0] ? node_by_name(s, in.leader) : -1;
		leader_up = li >= 0 && (s->fed[li] == NODE_ALIVE || s->fed[li] == NODE_DEGRADED);
		if (!eligible && !leader_up)
			continue;
		CHECK(s, li >= 0 && in.fo_state == FO_IDLE && leader_up,
		      "liveness: group %s has quorum and a candidate but leader '%s' (up %d) state %s",
		      s->gname[gi], in.leader, leader_up, groups_fo_state_name(in.fo_state));
		stats.liveness_checked++;
		CHECK(s, s->a[li].up && lease_is_valid(s->a[li].l, aclock(&s->a[li], s->t)),
		      "liveness: leader %s of %s holds no valid lease", in.leader, s->gname[gi]);
		s->checks++;
	}
}

static long run_one(uint64_t seed, bool trace)
{
	struct sim *s = calloc(1, sizeof *s);
	long checks;

	ck_assert_ptr_nonnull(s);
	sim_init(s, seed, trace);
	for (s->step = 0; s->step < CHAOS_STEPS + CALM_STEPS; s->step++) {
		if (s->step == CHAOS_STEPS)
			calm_start(s);
		step(s);
	}
	check_liveness(s);
	checks = s->checks;
	sim_done(s);
	free(s);
	return checks;
}

START_TEST(test_sim_schedules)
{
	const char *one = getenv("SIM_SEED"), *runs_env = getenv("SIM_RUNS");
	long runs = runs_env ? strtol(runs_env, NULL, 10) : 1000, checks = 0;

	if (one) {
		checks = run_one(strtoull(one, NULL, 10), true);
		fprintf(stderr, "sim: seed %s ok, %ld checks\n", one, checks);
		return;
	}
	for (long k = 1; k <= runs; k++)
		checks += run_one((uint64_t)k, false);
	fprintf(stderr, "sim: %ld schedules ok, %ld invariant checks; failovers: %ld automatic, %ld elections, "
		"%ld adoptions, %ld manual, %ld switchovers -> %ld confirmed, %ld aborted, %ld failed; "
		"%ld fences, %ld refusals, %ld persist failures, %ld self-demotions, %ld groups checked for liveness\n",
		runs, checks, stats.auto_decisions, stats.elections, stats.adoptions, stats.manual,
		stats.switchovers, stats.confirmed, stats.aborted, stats.failed, stats.fences, stats.refusals,
		stats.persist_failures, stats.self_demotes, stats.liveness_checked);
}
END_TEST

Suite *sim_suite(void)
{
	Suite *su = suite_create("sim");
	TCase *tc = tcase_create("schedules");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sim_schedules);
	suite_add_tcase(su, tc);
	return su;
}
