/* check_groups.c — unit tests for collector/groups: each guard of automatic
 * failover alone, ranking, quorum (with forget), epoch persistence order and
 * failure, the failover state machine (fence, promote, failed promote ->
 * next candidate), restore, adoption, operator commands and dry runs,
 * expiring overrides.  Every test builds its own module; time is a
 * parameter. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collector/groups.h"
#include "proto/util.h"

Suite *groups_suite(void);

struct fx {
	struct groups *g;
	struct grp_out o;
	int64_t now;
};

static void upd(struct fx *f, const char *node, int prio, enum node_state st, bool connected)
{
	struct grp_member_update u;

	memset(&u, 0, sizeof u);
	util_strlcpy(u.node, node, sizeof u.node);
	util_strlcpy(u.group, "grp", sizeof u.group);
	u.priority = prio;
	u.state = st;
	u.connected = connected;
	ck_assert_int_eq(groups_member(f->g, f->now, &u, &f->o), 0);
}

static void upd_full(struct fx *f, const struct grp_member_update *u0)
{
	ck_assert_int_eq(groups_member(f->g, f->now, u0, &f->o), 0);
}

/* Group "grp": leader a (prio 10) at epoch 5, b (50), c (30), all alive. */
static void fx_init(struct fx *f, int64_t cooldown_ms)
{
	struct groups_config cfg;
	const char *mem[] = { "a", "b", "c" };

	groups_config_defaults(&cfg);
	cfg.cooldown_ms = cooldown_ms;
	f->g = groups_new(&cfg);
	ck_assert_ptr_nonnull(f->g);
	grp_out_init(&f->o);
	f->now = 0;
	ck_assert_int_eq(groups_restore(f->g, 0, "grp", 5, "a", mem, 3), 0);
	upd(f, "a", 10, NODE_ALIVE, true);
	upd(f, "b", 50, NODE_ALIVE, true);
	upd(f, "c", 30, NODE_ALIVE, true);
	ck_assert_int_eq((int)f->o.n, 0);         /* restored members are not new */
}

static void fx_done(struct fx *f)
{
	groups_free(f->g);
	grp_out_done(&f->o);
}

static const struct grp_action *find(const struct fx *f, enum grp_action_kind k, const char *code)
{
	for (size_t i = 0; i < f->o.n; i++)
		if (f->o.v[i].kind == k && (!code || strcmp(f->o.v[i].code, code) == 0))
			return &f->o.v[i];
	return NULL;
}

static int count(const struct fx *f, enum grp_action_kind k)
{
	int n = 0;

	for (size_t i = 0; i < f->o.n; i++)
		n += f->o.v[i].kind == k;
	return n;
}

static void tick(struct fx *f, int64_t now, bool tilt)
{
	f->now = now;
	grp_out_reset(&f->o);
	groups_tick(f->g, now, tilt, &f->o);
}

static int command(struct fx *f, enum grp_cmd_kind k, const char *group, const char *node,
		   bool dry, bool force, int64_t dur, struct grp_cmd_result *res)
{
	struct grp_cmd c;

	memset(&c, 0, sizeof c);
	c.kind = k;
	util_strlcpy(c.who, "alice", sizeof c.who);
	util_strlcpy(c.reason, "test", sizeof c.reason);
	util_strlcpy(c.group, group, sizeof c.group);
	if (node)
		util_strlcpy(c.node, node, sizeof c.node);
	c.dry_run = dry;
	c.force = force;
	c.on = true;
	c.duration_ms = dur;
	grp_out_reset(&f->o);
	return groups_command(f->g, f->now, &c, res, &f->o);
}

/* ---- guards ------------------------------------------------------------ */

static const unsigned guard_case[] = {
	0, GG_LEASE, GG_QUORUM, GG_PAUSED, GG_COOLDOWN, GG_TILT, GG_NO_CANDIDATE,
};

/* The leader a fails at 10000 (its lease, granted at 0, is surely over at
 * 2200): every guard holds, except the one this case breaks. */
START_TEST(test_each_guard_alone)
{
	unsigned bit = guard_case[_i];
	struct fx f;
	struct grp_cmd_result res;
	struct grp_member_update u;
	struct grp_grant gg;
	const struct grp_action *r;
	bool tilt = false;

	fx_init(&f, 60000);
	f.now = 9000;
	switch (bit) {
	case GG_LEASE:
		groups_heartbeat(f.g, 9000, "a", &gg);     /* renewed: safe at 11200 */
		ck_assert_int_eq(gg.lease_ms, 2000);
		break;
	case GG_QUORUM:
		upd(&f, "c", 30, NODE_FAILED, false);
		break;
	case GG_PAUSED:
		ck_assert_int_eq(command(&f, GCMD_PAUSE, "grp", NULL, false, false, 0, &res), 0);
		break;
	case GG_COOLDOWN:
		/* an attempt whose epoch write failed: aborted, cooldown */
		upd(&f, "a", 10, NODE_FAILED, false);
		tick(&f, 9000, false);
		ck_assert_ptr_nonnull(find(&f, GA_SET_EPOCH, NULL));
		groups_epoch_persisted(f.g, 9000, "grp", 6, false, &f.o);
		break;
	case GG_TILT:
		tilt = true;
		break;
	case GG_NO_CANDIDATE:
		memset(&u, 0, sizeof u);
		strcpy(u.node, "c");
		strcpy(u.group, "grp");
		u.priority = 30;
		u.state = NODE_ALIVE;
		u.connected = true;
		u.no_failover = true;
		upd_full(&f, &u);
		upd(&f, "b", 50, NODE_DEGRADED, true);
		break;
	}
	upd(&f, "a", 10, NODE_FAILED, false);
	tick(&f, 10000, tilt);
	if (!bit) {
		r = find(&f, GA_RECORD, "decision");
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(r->node, "b");
		ck_assert_ptr_nonnull(strstr(r->text, "b(50)=eligible"));
		ck_assert_ptr_nonnull(strstr(r->text, "a(10)=not_alive,leader,disconnected"));
		ck_assert_ptr_nonnull(find(&f, GA_SET_EPOCH, NULL));
	} else {
		r = find(&f, GA_RECORD, "refusal");
		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(r->blocked, bit);
		ck_assert_ptr_nonnull(strstr(r->text, groups_guard_name(bit)));
		ck_assert_ptr_nonnull(strstr(r->text, "candidates:"));
		ck_assert_ptr_null(find(&f, GA_SET_EPOCH, NULL));
		ck_assert_int_eq(count(&f, GA_SEND), 0);
		/* the same refusal is not recorded again every tick */
		tick(&f, 10100, tilt);
		ck_assert_ptr_null(find(&f, GA_RECORD, "refusal"));
	}
	fx_done(&f);
}
END_TEST

/* ---- ranking and quorum ------------------------------------------------ */

START_TEST(test_ranking)
{
	struct fx f;
	struct grp_candidate c[GRP_MEMBERS_MAX];
	struct grp_member_update u;
	struct grp_cmd_result res;
	int n;

	fx_init(&f, 0);
	upd(&f, "d", 50, NODE_ALIVE, true);       /* ties with b: name decides */
	upd(&f, "e", 90, NODE_DEGRADED, true);
	memset(&u, 0, sizeof u);
	strcpy(u.node, "f");
	strcpy(u.group, "grp");
	u.priority = 80;
	u.state = NODE_ALIVE;
	u.connected = true;
	u.flapping = true;
	upd_full(&f, &u);
	ck_assert_int_eq(count(&f, GA_MEMBER), 3);
	f.now = 100;
	ck_assert_int_eq(command(&f, GCMD_MAINTENANCE, "", "c", false, false, 0, &res), 0);
	n = groups_candidates(f.g, f.now, "grp", c, GRP_MEMBERS_MAX);
	ck_assert_int_eq(n, 6);
	ck_assert_str_eq(c[0].node, "e");
	ck_assert_uint_eq(c[0].why_not, GW_DEGRADED);
	ck_assert_str_eq(c[1].node, "f");
	ck_assert_uint_eq(c[1].why_not, GW_FLAPPING);
	ck_assert_str_eq(c[2].node, "b");
	ck_assert_uint_eq(c[2].why_not, 0);
	ck_assert_str_eq(c[3].node, "d");
	ck_assert_str_eq(c[4].node, "c");
	ck_assert_uint_eq(c[4].why_not, GW_MAINTENANCE);
	ck_assert_str_eq(c[5].node, "a");
	ck_assert_uint_eq(c[5].why_not, GW_LEADER);
	fx_done(&f);
}
END_TEST

START_TEST(test_quorum_and_forget)
{
	struct fx f;
	struct grp_info in;

	fx_init(&f, 0);
	upd(&f, "d", 1, NODE_ALIVE, true);
	ck_assert(groups_has_quorum(f.g, "grp"));            /* 4 of 4 */
	upd(&f, "c", 30, NODE_FAILED, false);
	upd(&f, "d", 1, NODE_FAILED, false);
	ck_assert(!groups_has_quorum(f.g, "grp"));           /* 2 of 4: not a strict majority */
	upd(&f, "b", 50, NODE_DEGRADED, true);
	ck_assert(!groups_has_quorum(f.g, "grp"));           /* degraded counts as alive */
	grp_out_reset(&f.o);
	ck_assert_int_eq(groups_forget(f.g, 1, "grp", "d", "alice", "decommissioned", &f.o), 0);
	ck_assert_int_eq(f.o.v[0].kind, GA_MEMBER);
	ck_assert(!f.o.v[0].on);
	ck_assert_ptr_nonnull(strstr(find(&f, GA_RECORD, "forget")->text, "decommissioned"));
	ck_assert(groups_has_quorum(f.g, "grp"));            /* 2 of 3 */
	ck_assert_int_eq(groups_info(f.g, 1, "grp", &in), 0);
	ck_assert_int_eq(in.expected, 3);
	ck_assert_int_eq(in.alive, 2);
	ck_assert_int_eq(groups_forget(f.g, 1, "grp", "a", "alice", "x", &f.o), -EBUSY);   /* leader */
	ck_assert_int_eq(groups_forget(f.g, 1, "grp", "b", "alice", "x", &f.o), -EBUSY);   /* connected */
	ck_assert_int_eq(groups_forget(f.g, 1, "grp", "zz", "alice", "x", &f.o), -ENOENT);
	fx_done(&f);
}
END_TEST

/* ---- epochs and the state machine -------------------------------------- */

static void fail_leader(struct fx *f)
{
	upd(f, "a", 10, NODE_FAILED, false);
	tick(f, 10000, false);
}

START_TEST(test_epoch_before_command)
{
	struct fx f;
	struct grp_grant gg;
	struct grp_info in;
	const struct grp_action *a;

	fx_init(&f, 60000);
	fail_leader(&f);
	a = find(&f, GA_SET_EPOCH, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->epoch, 6);
	ck_assert_str_eq(a->node, "b");
	ck_assert_int_eq(count(&f, GA_SEND), 0);
	/* nothing is sent while the write is pending, whatever happens */
	groups_heartbeat(f.g, 10010, "b", &gg);
	ck_assert_int_eq(gg.epoch, 5);
	ck_assert_int_eq(gg.lease_ms, 0);
	tick(&f, 10020, false);
	ck_assert_int_eq(count(&f, GA_SEND), 0);
	grp_out_reset(&f.o);
	groups_epoch_persisted(f.g, 10030, "grp", 6, true, &f.o);
	a = find(&f, GA_SEND, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->hook, GRP_HOOK_PROMOTE);    /* a is not connected: no fence */
	ck_assert_str_eq(a->node, "b");
	ck_assert_int_eq(a->epoch, 6);
	/* the new leader is granted, the old one is told who leads */
	groups_heartbeat(f.g, 10100, "b", &gg);
	ck_assert_int_eq(gg.epoch, 6);
	ck_assert_str_eq(gg.leader, "b");
	ck_assert_int_eq(gg.lease_ms, 2000);
	groups_heartbeat(f.g, 10100, "a", &gg);
	ck_assert_str_eq(gg.leader, "b");
	ck_assert_int_eq(gg.lease_ms, 0);
	grp_out_reset(&f.o);
	groups_hook_result(f.g, 10200, "b", GRP_HOOK_PROMOTE, 6, 0, 0, "ok", &f.o);
	a = find(&f, GA_STATE, "confirmed");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(groups_info(f.g, 10200, "grp", &in), 0);
	ck_assert_int_eq(in.fo_state, FO_IDLE);
	ck_assert_str_eq(in.leader, "b");
	ck_assert_int_eq(in.epoch, 6);
	ck_assert_int_eq(in.cooldown_until_ms, 10200 + 60000);
	fx_done(&f);
}
END_TEST

START_TEST(test_fence_when_reachable)
{
	struct fx f;
	const struct grp_action *a;

	fx_init(&f, 60000);
	upd(&f, "a", 10, NODE_FAILED, true);          /* hung, socket still open */
	tick(&f, 10000, false);
	grp_out_reset(&f.o);
	groups_epoch_persisted(f.g, 10000, "grp", 6, true, &f.o);
	a = find(&f, GA_SEND, NULL);
	ck_assert_int_eq(a->hook, GRP_HOOK_FENCE);
	ck_assert_str_eq(a->node, "a");
	ck_assert_int_eq(a->epoch, 6);
	tick(&f, 14999, false);
	ck_assert_int_eq(count(&f, GA_SEND), 0);
	tick(&f, 15000, false);                        /* fence timeout: promote anyway */
	a = find(&f, GA_SEND, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->hook, GRP_HOOK_PROMOTE);
	fx_done(&f);
}
END_TEST

START_TEST(test_persist_failure_aborts)
{
	struct fx f;
	struct grp_info in;
	const struct grp_action *a;

	fx_init(&f, 5000);
	fail_leader(&f);
	grp_out_reset(&f.o);
	groups_epoch_persisted(f.g, 10010, "grp", 6, false, &f.o);
	ck_assert_int_eq(count(&f, GA_SEND), 0);
	a = find(&f, GA_STATE, "aborted");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(groups_info(f.g, 10010, "grp", &in), 0);
	ck_assert_int_eq(in.epoch, 5);
	ck_assert_str_eq(in.leader, "");
	/* after the cooldown an election burns no epoch twice */
	tick(&f, 15010, false);
	a = find(&f, GA_SET_EPOCH, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->epoch, 7);
	/* a write that never answers times out the same way */
	tick(&f, 20010, false);
	ck_assert_ptr_nonnull(find(&f, GA_STATE, "aborted"));
	ck_assert_int_eq(count(&f, GA_SEND), 0);
	fx_done(&f);
}
END_TEST

START_TEST(test_failed_promote_next_candidate)
{
	struct fx f;
	struct grp_grant gg;
	const struct grp_action *a;

	fx_init(&f, 60000);
	fail_leader(&f);
	groups_epoch_persisted(f.g, 10000, "grp", 6, true, &f.o);
	groups_heartbeat(f.g, 10100, "b", &gg);        /* b holds a lease from 10100 */
	ck_assert_int_eq(gg.lease_ms, 2000);
	grp_out_reset(&f.o);
	groups_hook_result(f.g, 10200, "b", GRP_HOOK_PROMOTE, 6, 0, 1, "pg_ctl failed", &f.o);
	a = find(&f, GA_STATE, "next_candidate");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->node, "c");
	ck_assert_ptr_null(find(&f, GA_SET_EPOCH, NULL));
	groups_heartbeat(f.g, 10300, "b", &gg);        /* no longer renewed */
	ck_assert_int_eq(gg.lease_ms, 0);
	tick(&f, 12299, false);                        /* b's lease surely over at 12300 */
	ck_assert_ptr_null(find(&f, GA_SET_EPOCH, NULL));
	tick(&f, 12300, false);
	a = find(&f, GA_SET_EPOCH, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->epoch, 7);
	ck_assert_str_eq(a->node, "c");
	grp_out_reset(&f.o);
	groups_epoch_persisted(f.g, 12300, "grp", 7, true, &f.o);
	a = find(&f, GA_SEND, NULL);                   /* b is connected: fenced first */
	ck_assert_int_eq(a->hook, GRP_HOOK_FENCE);
	ck_assert_str_eq(a->node, "b");
	fx_done(&f);
}
END_TEST

START_TEST(test_restore_and_adopt)
{
	struct groups_config cfg;
	struct groups *g;
	struct grp_out o;
	struct grp_member_update u;
	const char *mem[] = { "a", "b", "c" };
	bool set = false;

	groups_config_defaults(&cfg);
	g = groups_new(&cfg);
	grp_out_init(&o);
	ck_assert_int_eq(groups_restore(g, 0, "grp", 41, "", mem, 3), 0);
	ck_assert_int_eq(groups_restore(g, 0, "grp", 41, "", mem, 3), -EEXIST);
	memset(&u, 0, sizeof u);
	strcpy(u.group, "grp");
	u.state = NODE_ALIVE;
	u.connected = true;
	strcpy(u.node, "a");
	u.priority = 100;
	groups_member(g, 0, &u, &o);
	strcpy(u.node, "b");
	u.priority = 1;
	u.role = GROLE_CLAIMING;                        /* started with --initial-role leader */
	groups_member(g, 0, &u, &o);
	groups_tick(g, 100, false, &o);
	for (size_t i = 0; i < o.n; i++) {
		if (o.v[i].kind == GA_SET_EPOCH) {
			ck_assert_int_eq(o.v[i].epoch, 42);
			ck_assert_str_eq(o.v[i].node, "b");
			set = true;
		}
		if (o.v[i].kind == GA_RECORD && strcmp(o.v[i].code, "decision") == 0)
			ck_assert_int_eq(o.v[i].fo_kind, FOK_ADOPT);
	}
	ck_assert(set);
	grp_out_done(&o);
	groups_free(g);
}
END_TEST

START_TEST(test_two_claimants_elect)
{
	struct groups_config cfg;
	struct groups *g;
	struct grp_out o;
	struct grp_member_update u;
	bool set = false;

	groups_config_defaults(&cfg);
	g = groups_new(&cfg);
	grp_out_init(&o);
	memset(&u, 0, sizeof u);
	strcpy(u.group, "grp");
	u.state = NODE_ALIVE;
	u.connected = true;
	u.role = GROLE_CLAIMING;
	strcpy(u.node, "a");
	u.priority = 1;
	groups_member(g, 0, &u, &o);
	strcpy(u.node, "b");
	groups_member(g, 0, &u, &o);
	strcpy(u.node, "c");
	u.priority = 7;
	u.role = GROLE_FOLLOWER;
	groups_member(g, 0, &u, &o);
	groups_tick(g, 100, false, &o);
	for (size_t i = 0; i < o.n; i++)
		if (o.v[i].kind == GA_SET_EPOCH) {
			ck_assert_int_eq(o.v[i].epoch, 1);
			ck_assert_str_eq(o.v[i].node, "c");
			set = true;
		}
	ck_assert(set);
	grp_out_done(&o);
	groups_free(g);
}
END_TEST

/* ---- operator commands ------------------------------------------------- */

START_TEST(test_switchover)
{
	struct fx f;
	struct grp_cmd_result res;
	struct grp_grant gg;
	const struct grp_action *a;
	uint64_t id;

	fx_init(&f, 60000);
	groups_heartbeat(f.g, 4900, "a", &gg);         /* a's lease surely over at 7100 */
	f.now = 5000;
	ck_assert_int_eq(command(&f, GCMD_SWITCHOVER, "grp", "c", false, false, 0, &res), 0);
	ck_assert_ptr_nonnull(find(&f, GA_RECORD, "command"));
	a = find(&f, GA_SEND, NULL);
	ck_assert_int_eq(a->hook, GRP_HOOK_DEMOTE);
	ck_assert_str_eq(a->node, "a");
	ck_assert_int_eq(a->epoch, 5);
	id = a->cmd_id;
	groups_heartbeat(f.g, 5100, "a", &gg);
	ck_assert_int_eq(gg.lease_ms, 0);              /* not renewed any more */
	grp_out_reset(&f.o);
	/* a result of an earlier, self-initiated demote does not confirm */
	groups_hook_result(f.g, 5200, "a", GRP_HOOK_DEMOTE, 5, 0, 0, "", &f.o);
	ck_assert_ptr_null(find(&f, GA_SET_EPOCH, NULL));
	groups_hook_result(f.g, 5300, "a", GRP_HOOK_DEMOTE, 5, id, 0, "", &f.o);
	a = find(&f, GA_SET_EPOCH, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->node, "c");
	grp_out_reset(&f.o);
	groups_epoch_persisted(f.g, 5300, "grp", 6, true, &f.o);
	a = find(&f, GA_SEND, NULL);
	ck_assert_int_eq(a->hook, GRP_HOOK_PROMOTE);  /* demoted: no fence */
	ck_assert_str_eq(a->node, "c");
	fx_done(&f);
}
END_TEST

START_TEST(test_switchover_demote_fails)
{
	struct fx f;
	struct grp_cmd_result res;
	struct grp_grant gg;
	uint64_t id;

	fx_init(&f, 60000);
	groups_heartbeat(f.g, 4900, "a", &gg);         /* a's lease surely over at 7100 */
	f.now = 5000;
	ck_assert_int_eq(command(&f, GCMD_SWITCHOVER, "grp", "c", false, false, 0, &res), 0);
	id = find(&f, GA_SEND, NULL)->cmd_id;
	grp_out_reset(&f.o);
	groups_hook_result(f.g, 5300, "a", GRP_HOOK_DEMOTE, 5, id, 2, "busy", &f.o);
	ck_assert_ptr_nonnull(find(&f, GA_STATE, "aborted"));
	groups_heartbeat(f.g, 5400, "a", &gg);
	ck_assert_int_eq(gg.lease_ms, 2000);           /* a leads on */
	fx_done(&f);
}
END_TEST

START_TEST(test_dry_run_and_refusals)
{
	struct fx f;
	struct grp_cmd_result res;
	struct grp_info before, after;

	fx_init(&f, 60000);
	f.now = 5000;
	groups_info(f.g, 5000, "grp", &before);
	/* a healthy leader: failover is refused, the reasons are given */
	ck_assert_int_eq(command(&f, GCMD_FAILOVER, "grp", NULL, true, false, 0, &res), -EPERM);
	ck_assert(!res.ok);
	ck_assert_uint_eq(res.blocked, GG_LEADER_HEALTHY);
	ck_assert_ptr_nonnull(strstr(res.text, "leader_healthy"));
	ck_assert_int_eq((int)f.o.n, 0);
	/* dry run of a switchover: the pre-flight, nothing changed */
	ck_assert_int_eq(command(&f, GCMD_SWITCHOVER, "grp", "b", true, false, 0, &res), 0);
	ck_assert(res.ok);
	ck_assert_str_eq(res.target, "b");
	ck_assert_int_eq(res.ncand, 3);
	ck_assert_str_eq(res.cand[0].node, "b");
	ck_assert_uint_eq(res.cand[2].why_not, GW_LEADER);
	ck_assert_ptr_nonnull(strstr(res.text, "would promote b"));
	ck_assert_int_eq((int)f.o.n, 0);
	groups_info(f.g, 5000, "grp", &after);
	ck_assert_int_eq(memcmp(&before, &after, sizeof before), 0);
	/* a target that is not eligible */
	upd(&f, "c", 30, NODE_DEGRADED, true);
	ck_assert_int_eq(command(&f, GCMD_SWITCHOVER, "grp", "c", false, false, 0, &res), -EPERM);
	ck_assert_uint_eq(res.blocked, GG_TARGET);
	ck_assert_ptr_nonnull(find(&f, GA_RECORD, "command_refused"));
	ck_assert_int_eq(command(&f, GCMD_SWITCHOVER, "nope", "c", false, false, 0, &res), -EPERM);
	ck_assert_uint_eq(res.blocked, GG_UNKNOWN);
	ck_assert_int_eq(command(&f, GCMD_SWITCHOVER, "grp", NULL, false, false, 0, &res), -EPERM);
	ck_assert(res.blocked & GG_BAD_COMMAND);
	fx_done(&f);
}
END_TEST

START_TEST(test_manual_without_quorum)
{
	struct fx f;
	struct grp_cmd_result res;
	struct grp_grant gg;
	struct grp_info in;

	fx_init(&f, 60000);
	groups_heartbeat(f.g, 9000, "a", &gg);         /* lease surely over at 11200 */
	f.now = 9500;
	upd(&f, "a", 10, NODE_FAILED, false);
	upd(&f, "c", 30, NODE_FAILED, false);
	ck_assert_int_eq(command(&f, GCMD_FAILOVER, "grp", "b", false, false, 0, &res), -EPERM);
	ck_assert_uint_eq(res.blocked, GG_QUORUM);
	ck_assert_ptr_nonnull(strstr(res.text, "1 of 3 expected alive"));
	ck_assert_int_eq(command(&f, GCMD_FAILOVER, "grp", "b", false, true, 0, &res), 0);
	ck_assert_ptr_null(find(&f, GA_SET_EPOCH, NULL));
	groups_info(f.g, 9500, "grp", &in);
	ck_assert_int_eq(in.fo_state, FO_WAIT_LEASE);
	tick(&f, 11199, false);
	ck_assert_ptr_null(find(&f, GA_SET_EPOCH, NULL));
	tick(&f, 11200, false);
	ck_assert_ptr_nonnull(find(&f, GA_SET_EPOCH, NULL));
	fx_done(&f);
}
END_TEST

START_TEST(test_overrides_expire)
{
	struct fx f;
	struct grp_cmd_result res;
	struct grp_info in;
	struct grp_candidate c[8];

	fx_init(&f, 60000);
	f.now = 1000;
	ck_assert_int_eq(command(&f, GCMD_PAUSE, "grp", NULL, false, false, 3000, &res), 0);
	ck_assert_int_eq(command(&f, GCMD_MAINTENANCE, "", "b", false, false, 500, &res), 0);
	groups_info(f.g, 1000, "grp", &in);
	ck_assert(in.paused);
	ck_assert_int_eq(in.pause_until_ms, 4000);
	groups_candidates(f.g, 1000, "grp", c, 8);
	ck_assert_uint_eq(c[0].why_not, GW_MAINTENANCE);
	tick(&f, 1500, false);
	ck_assert_ptr_nonnull(strstr(find(&f, GA_RECORD, "override")->text, "maintenance of b expired"));
	groups_candidates(f.g, 1500, "grp", c, 8);
	ck_assert_uint_eq(c[0].why_not, 0);
	tick(&f, 3999, false);
	ck_assert_ptr_null(find(&f, GA_RECORD, "override"));
	tick(&f, 4000, false);
	ck_assert_ptr_nonnull(find(&f, GA_RECORD, "override"));
	groups_info(f.g, 4000, "grp", &in);
	ck_assert(!in.paused);
	/* pause until resumed, then resume */
	ck_assert_int_eq(command(&f, GCMD_PAUSE, "grp", NULL, false, false, 0, &res), 0);
	tick(&f, 100000, false);
	groups_info(f.g, 100000, "grp", &in);
	ck_assert(in.paused);
	ck_assert_int_eq(command(&f, GCMD_RESUME, "grp", NULL, false, false, 0, &res), 0);
	groups_info(f.g, 100000, "grp", &in);
	ck_assert(!in.paused);
	fx_done(&f);
}
END_TEST


/* A group seen for the first time waits elect_settle_ms before electing, so
 * that a higher-priority member that connects a moment later still wins. */
START_TEST(test_new_group_settles)
{
	struct groups_config cfg;
	struct fx f;
	const struct grp_action *a;

	groups_config_defaults(&cfg);
	cfg.elect_settle_ms = 2000;
	f.g = groups_new(&cfg);
	ck_assert_ptr_nonnull(f.g);
	grp_out_init(&f.o);
	f.now = 100;
	upd(&f, "low", 10, NODE_ALIVE, true);            /* the first to connect */
	tick(&f, 500, false);
	a = find(&f, GA_RECORD, "refusal");
	ck_assert_ptr_nonnull(a);
	ck_assert(a->blocked & GG_SETTLING);
	ck_assert_ptr_nonnull(strstr(a->text, "settling"));
	ck_assert_int_eq(count(&f, GA_SET_EPOCH), 0);
	f.now = 900;
	upd(&f, "high", 90, NODE_ALIVE, true);
	tick(&f, 2099, false);
	ck_assert_int_eq(count(&f, GA_SET_EPOCH), 0);    /* still settling */
	tick(&f, 2100, false);
	a = find(&f, GA_SET_EPOCH, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->node, "high");
	ck_assert_int_eq(a->epoch, 1);
	fx_done(&f);
}
END_TEST


/* A collector whose store was lost learns from its agents that they have
 * seen a newer epoch: its next change takes one above it. */
START_TEST(test_epoch_seen_raises_next)
{
	struct fx f;
	const struct grp_action *a;

	fx_init(&f, 0);
	groups_epoch_seen(f.g, "grp", 9);
	groups_epoch_seen(f.g, "grp", 3);             /* older: ignored */
	groups_epoch_seen(f.g, "nosuch", 50);         /* unknown group: ignored */
	f.now = 10000;
	upd(&f, "a", 10, NODE_FAILED, false);
	tick(&f, 10000, false);
	a = find(&f, GA_SET_EPOCH, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->epoch, 10);
	ck_assert_str_eq(a->node, "b");
	fx_done(&f);
}
END_TEST


/* Thousands of groups and members: every member finds its group (heartbeat
 * grants), a forgotten one no longer does, and may join another group. */
START_TEST(test_many_groups_lookup)
{
	struct groups_config cfg;
	struct fx f;
	struct grp_grant gg;
	char node[32], group[32];

	groups_config_defaults(&cfg);
	f.g = groups_new(&cfg);
	ck_assert_ptr_nonnull(f.g);
	grp_out_init(&f.o);
	f.now = 0;
	for (int i = 0; i < 3000; i++) {
		struct grp_member_update u;

		memset(&u, 0, sizeof u);
		snprintf(u.node, sizeof u.node, "n%d", i);
		snprintf(u.group, sizeof u.group, "g%d", i / 3);
		u.state = NODE_ALIVE;
		u.connected = i % 3 != 2;
		ck_assert_int_eq(groups_member(f.g, 0, &u, &f.o), 0);
	}
	ck_assert_uint_eq(groups_count(f.g), 1000);
	for (int i = 0; i < 3000; i += 7) {
		snprintf(node, sizeof node, "n%d", i);
		groups_heartbeat(f.g, 10, node, &gg);
		ck_assert_msg(gg.member, "%s not found", node);
	}
	groups_heartbeat(f.g, 10, "n3000", &gg);
	ck_assert(!gg.member);
	/* n2 (not connected, not leader) is forgotten from g0 and joins g999 */
	ck_assert_int_eq(groups_forget(f.g, 20, "g0", "n2", "alice", "moved", &f.o), 0);
	groups_heartbeat(f.g, 21, "n2", &gg);
	ck_assert(!gg.member);
	{
		struct grp_member_update u;
		struct grp_info gi;

		memset(&u, 0, sizeof u);
		util_strlcpy(u.node, "n2", sizeof u.node);
		util_strlcpy(u.group, "g999", sizeof u.group);
		u.state = NODE_ALIVE;
		ck_assert_int_eq(groups_member(f.g, 22, &u, &f.o), 0);
		ck_assert_int_eq(groups_info(f.g, 22, "g999", &gi), 0);
		ck_assert_int_eq(gi.expected, 4);
		ck_assert_int_eq(groups_info(f.g, 22, "g0", &gi), 0);
		ck_assert_int_eq(gi.expected, 2);
	}
	snprintf(group, sizeof group, "g%d", 500);
	ck_assert(groups_has_quorum(f.g, group));
	fx_done(&f);
}
END_TEST

Suite *groups_suite(void)
{
	Suite *s = suite_create("groups");
	TCase *tc = tcase_create("guards");

	tcase_add_loop_test(tc, test_each_guard_alone, 0, (int)(sizeof guard_case / sizeof guard_case[0]));
	tcase_add_test(tc, test_ranking);
	tcase_add_test(tc, test_new_group_settles);
	tcase_add_test(tc, test_epoch_seen_raises_next);
	tcase_add_test(tc, test_many_groups_lookup);
	tcase_add_test(tc, test_quorum_and_forget);
	suite_add_tcase(s, tc);
	tc = tcase_create("failover");
	tcase_add_test(tc, test_epoch_before_command);
	tcase_add_test(tc, test_fence_when_reachable);
	tcase_add_test(tc, test_persist_failure_aborts);
	tcase_add_test(tc, test_failed_promote_next_candidate);
	tcase_add_test(tc, test_restore_and_adopt);
	tcase_add_test(tc, test_two_claimants_elect);
	suite_add_tcase(s, tc);
	tc = tcase_create("commands");
	tcase_add_test(tc, test_switchover);
	tcase_add_test(tc, test_switchover_demote_fails);
	tcase_add_test(tc, test_dry_run_and_refusals);
	tcase_add_test(tc, test_manual_without_quorum);
	tcase_add_test(tc, test_overrides_expire);
	suite_add_tcase(s, tc);
	return s;
}
