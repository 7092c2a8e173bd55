/* check_lease.c — unit tests for agent/lease: lease arithmetic on both
 * sides (with collector/groups), self-demotion (also after a pause with a
 * jumped clock), epoch fencing, grants in flight after a demotion. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "agent/lease.h"
#include "collector/groups.h"
#include "proto/util.h"

Suite *lease_suite(void);

static struct lease_grant grant(int64_t seq, int64_t epoch, const char *leader, int64_t lease_ms)
{
	struct lease_grant g;

	memset(&g, 0, sizeof g);
	g.seq = seq;
	g.epoch = epoch;
	util_strlcpy(g.leader, leader, sizeof g.leader);
	g.lease_ms = lease_ms;
	return g;
}

static int count_hooks(const struct lease_out *o, enum lease_hook k)
{
	int n = 0;

	for (size_t i = 0; i < o->n; i++)
		n += o->v[i].kind == LA_HOOK && o->v[i].hook == k;
	return n;
}

/* The agent measures from its send time; the collector from its receive
 * time plus the drift margin: for every delay > 0 the agent's lease ends
 * strictly first (same clock here), also before the collector's lease end
 * without the margin. */
START_TEST(test_both_sides)
{
	int64_t delay = _i * _i;      /* 1 .. 900 ms */
	struct groups_config cfg;
	struct groups *g;
	struct grp_member_update u;
	struct grp_grant gg;
	struct grp_info in;
	struct lease *l = lease_new("a", true, 0);
	struct lease_out o;
	struct lease_grant lg;
	const char *mem[] = { "a" };
	int64_t sent = 10000, recv = sent + delay;

	groups_config_defaults(&cfg);
	g = groups_new(&cfg);
	ck_assert_int_eq(groups_restore(g, 0, "grp", 3, "a", mem, 1), 0);
	memset(&u, 0, sizeof u);
	strcpy(u.node, "a");
	strcpy(u.group, "grp");
	u.state = NODE_ALIVE;
	u.connected = true;
	lease_out_init(&o);
	lease_hb_sent(l, sent, 7, &o);
	groups_heartbeat(g, recv, "a", &gg);
	ck_assert(gg.member);
	ck_assert_int_eq(gg.lease_ms, 2000);
	lg = grant(7, gg.epoch, gg.leader, gg.lease_ms);
	lease_grant(l, recv + delay, &lg, &o);
	ck_assert(lease_is_valid(l, recv + delay));
	ck_assert_int_eq(lease_until_ms(l), sent + 2000);
	ck_assert_int_eq(groups_info(g, recv, "grp", &in), 0);
	ck_assert_str_eq(in.lease_holder, "a");
	ck_assert_int_eq(in.lease_safe_ms, recv + 2200);
	ck_assert_int_lt(lease_until_ms(l), recv + 2000);
	ck_assert_int_lt(lease_until_ms(l), in.lease_safe_ms);
	ck_assert(!lease_is_valid(l, sent + 2000));
	ck_assert(lease_is_valid(l, sent + 1999));
	ck_assert_int_eq(count_hooks(&o, LEASE_HOOK_PROMOTE), 1);
	lease_out_done(&o);
	lease_free(l);
	groups_free(g);
}
END_TEST

START_TEST(test_late_grant_ignored)
{
	struct lease *l = lease_new("a", false, 0);
	struct lease_out o;
	struct lease_grant lg = grant(1, 1, "a", 2000);

	lease_out_init(&o);
	lease_hb_sent(l, 1000, 1, &o);
	lease_grant(l, 3000, &lg, &o);          /* arrives when it would end */
	ck_assert(!lease_is_valid(l, 3000));
	ck_assert_int_eq(lease_role(l), LEASE_FOLLOWER);
	lg = grant(5, 1, "a", 2000);            /* a heartbeat never sent */
	lease_grant(l, 3000, &lg, &o);
	ck_assert_int_eq(lease_role(l), LEASE_FOLLOWER);
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

START_TEST(test_renew_and_self_demote)
{
	struct lease *l = lease_new("a", false, 0);
	struct lease_out o;
	struct lease_grant lg;

	lease_out_init(&o);
	lease_hb_sent(l, 0, 0, &o);
	lg = grant(0, 2, "a", 2000);
	lease_grant(l, 50, &lg, &o);
	ck_assert_int_eq(lease_role(l), LEASE_LEADER);
	lease_hb_sent(l, 500, 1, &o);
	lg = grant(1, 2, "a", 2000);
	lease_grant(l, 600, &lg, &o);
	ck_assert_int_eq(lease_until_ms(l), 2500);
	ck_assert_int_eq(count_hooks(&o, LEASE_HOOK_PROMOTE), 1);   /* renewal runs no hook */
	lease_out_reset(&o);
	lease_tick(l, 2499, &o);
	ck_assert_int_eq((int)o.n, 0);
	lease_tick(l, 2500, &o);
	ck_assert_int_eq((int)o.n, 2);
	ck_assert_int_eq(o.v[0].kind, LA_LEASE);
	ck_assert(!o.v[0].on);
	ck_assert_int_eq(o.v[1].kind, LA_HOOK);
	ck_assert_int_eq(o.v[1].hook, LEASE_HOOK_DEMOTE);
	ck_assert_int_eq(o.v[1].epoch, 2);
	ck_assert_str_eq(o.v[1].reason, "lease_expired");
	ck_assert_int_eq(lease_role(l), LEASE_FOLLOWER);
	lease_out_reset(&o);
	lease_tick(l, 2600, &o);                /* once */
	ck_assert_int_eq((int)o.n, 0);
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

/* SIGSTOP: the agent wakes with its clock jumped and the first thing it is
 * given is a command or a grant: it demotes first. */
START_TEST(test_pause_demotes_first)
{
	struct lease *l = lease_new("a", false, 0);
	struct lease_out o;
	struct lease_grant lg;

	lease_out_init(&o);
	lease_hb_sent(l, 0, 0, &o);
	lg = grant(0, 4, "a", 2000);
	lease_grant(l, 10, &lg, &o);
	lease_out_reset(&o);
	/* Wake at 9000 with a grant for a heartbeat sent before the pause. */
	lease_hb_sent(l, 1900, 1, &o);
	lease_out_reset(&o);
	lg = grant(1, 4, "a", 2000);
	lease_grant(l, 9000, &lg, &o);
	ck_assert_int_ge((int)o.n, 2);
	ck_assert_int_eq(o.v[0].kind, LA_LEASE);
	ck_assert_int_eq(o.v[1].hook, LEASE_HOOK_DEMOTE);
	ck_assert(!lease_is_valid(l, 9000));
	ck_assert_int_eq(count_hooks(&o, LEASE_HOOK_PROMOTE), 0);
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

START_TEST(test_epoch_fencing)
{
	struct lease *l = lease_new("a", false, 5);
	struct lease_out o;

	lease_out_init(&o);
	ck_assert_int_eq(lease_epoch(l), 5);
	/* older: refused */
	ck_assert_int_eq(lease_command(l, 0, LEASE_HOOK_DEMOTE, 4, 11, &o), -ESTALE);
	ck_assert_int_eq((int)o.n, 1);
	ck_assert_int_eq(o.v[0].kind, LA_REFUSED);
	ck_assert_int_eq(o.v[0].seen_epoch, 5);
	ck_assert_int_eq(o.v[0].cmd_id, 11);
	/* equal: accepted, hook once, repeat is idempotent */
	lease_out_reset(&o);
	ck_assert_int_eq(lease_command(l, 0, LEASE_HOOK_FENCE, 5, 12, &o), 0);
	ck_assert_int_eq(count_hooks(&o, LEASE_HOOK_FENCE), 1);
	ck_assert_int_eq(o.v[o.n - 1].cmd_id, 12);
	lease_out_reset(&o);
	ck_assert_int_eq(lease_command(l, 0, LEASE_HOOK_FENCE, 5, 12, &o), 0);
	ck_assert_int_eq((int)o.n, 0);
	/* newer: accepted, remembered (saved first) */
	ck_assert_int_eq(lease_command(l, 0, LEASE_HOOK_DEMOTE, 9, 13, &o), 0);
	ck_assert_int_eq(o.v[0].kind, LA_SAVE_EPOCH);
	ck_assert_int_eq(o.v[0].epoch, 9);
	ck_assert_int_eq(lease_epoch(l), 9);
	lease_out_reset(&o);
	ck_assert_int_eq(lease_command(l, 0, LEASE_HOOK_PROMOTE, 8, 14, &o), -ESTALE);
	lease_free(l);
	/* a restart with the saved epoch still refuses */
	l = lease_new("a", false, 9);
	lease_out_reset(&o);
	ck_assert_int_eq(lease_command(l, 0, LEASE_HOOK_PROMOTE, 8, 15, &o), -ESTALE);
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

START_TEST(test_stale_grant_fenced)
{
	struct lease *l = lease_new("a", false, 6);
	struct lease_out o;
	struct lease_grant lg = grant(0, 5, "a", 2000);

	lease_out_init(&o);
	lease_hb_sent(l, 0, 0, &o);
	lease_grant(l, 10, &lg, &o);
	ck_assert_int_eq(lease_role(l), LEASE_FOLLOWER);
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

/* After a demote command, grants already in flight do not bring the lease
 * back; a grant for a later heartbeat does (the collector decides). */
START_TEST(test_in_flight_after_demote)
{
	struct lease *l = lease_new("a", false, 0);
	struct lease_out o;
	struct lease_grant lg;

	lease_out_init(&o);
	lease_hb_sent(l, 0, 0, &o);
	lease_hb_sent(l, 250, 1, &o);
	lg = grant(0, 3, "a", 2000);
	lease_grant(l, 100, &lg, &o);
	ck_assert(lease_is_valid(l, 300));
	ck_assert_int_eq(lease_command(l, 300, LEASE_HOOK_DEMOTE, 3, 1, &o), 0);
	ck_assert(!lease_is_valid(l, 300));
	lg = grant(1, 3, "a", 2000);
	lease_grant(l, 350, &lg, &o);
	ck_assert(!lease_is_valid(l, 350));
	lease_hb_sent(l, 500, 2, &o);
	lg = grant(2, 3, "a", 2000);
	lease_grant(l, 550, &lg, &o);
	ck_assert(lease_is_valid(l, 550));
	/* duplicates and reordering are ignored */
	lg = grant(2, 3, "a", 2000);
	lease_out_reset(&o);
	lease_grant(l, 560, &lg, &o);
	ck_assert_int_eq((int)o.n, 0);
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

START_TEST(test_claim_and_other_leader)
{
	struct lease *l = lease_new("a", true, 0);
	struct lease_out o;
	struct lease_grant lg;

	lease_out_init(&o);
	ck_assert_int_eq(lease_role(l), LEASE_CLAIMING);
	ck_assert(!lease_is_valid(l, 0));
	lease_hb_sent(l, 0, 0, &o);
	lg = grant(0, 0, "", 0);                 /* leaderless: the claim stands */
	lease_grant(l, 10, &lg, &o);
	ck_assert_int_eq(lease_role(l), LEASE_CLAIMING);
	lease_hb_sent(l, 250, 1, &o);
	lg = grant(1, 1, "b", 0);                /* someone else leads: demote */
	lease_grant(l, 260, &lg, &o);
	ck_assert_int_eq(lease_role(l), LEASE_FOLLOWER);
	ck_assert_int_eq(count_hooks(&o, LEASE_HOOK_DEMOTE), 1);
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

START_TEST(test_promote_failed)
{
	struct lease *l = lease_new("a", false, 0);
	struct lease_out o;
	struct lease_grant lg;

	lease_out_init(&o);
	lease_hb_sent(l, 0, 0, &o);
	lease_hb_sent(l, 250, 1, &o);
	lg = grant(0, 2, "a", 2000);
	lease_grant(l, 10, &lg, &o);
	lease_hook_done(l, 20, LEASE_HOOK_PROMOTE, 2, 1, &o);
	ck_assert_int_eq(lease_role(l), LEASE_FOLLOWER);
	ck_assert(!lease_is_valid(l, 20));
	lg = grant(1, 2, "a", 2000);             /* in flight: ignored */
	lease_grant(l, 300, &lg, &o);
	ck_assert(!lease_is_valid(l, 300));
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

START_TEST(test_resign)
{
	struct lease *l = lease_new("a", false, 0);
	struct lease_out o;
	struct lease_grant lg;

	lease_out_init(&o);
	lease_hb_sent(l, 0, 0, &o);
	lease_hb_sent(l, 250, 1, &o);
	lg = grant(0, 3, "a", 2000);
	lease_grant(l, 10, &lg, &o);
	lease_out_reset(&o);
	lease_resign(l, 100, "agent_stopping", &o);
	ck_assert_int_eq(lease_role(l), LEASE_FOLLOWER);
	ck_assert_int_eq(count_hooks(&o, LEASE_HOOK_DEMOTE), 1);
	ck_assert_str_eq(o.v[o.n - 1].reason, "agent_stopping");
	ck_assert_int_eq(o.v[o.n - 1].epoch, 3);
	lg = grant(1, 3, "a", 2000);             /* in flight: ignored */
	lease_grant(l, 300, &lg, &o);
	ck_assert(!lease_is_valid(l, 300));
	lease_out_reset(&o);
	lease_tick(l, 5000, &o);                 /* no second demotion at the old end */
	lease_resign(l, 5001, "agent_stopping", &o);
	ck_assert_uint_eq(o.n, 0);
	lease_free(l);
	l = lease_new("b", true, 0);             /* a claim is withdrawn without a hook */
	lease_resign(l, 0, "agent_stopping", &o);
	ck_assert_int_eq(lease_role(l), LEASE_FOLLOWER);
	ck_assert_uint_eq(o.n, 0);
	lease_out_done(&o);
	lease_free(l);
}
END_TEST

Suite *lease_suite(void)
{
	Suite *s = suite_create("lease");
	TCase *tc = tcase_create("arithmetic");

	tcase_add_loop_test(tc, test_both_sides, 1, 31);
	tcase_add_test(tc, test_late_grant_ignored);
	suite_add_tcase(s, tc);
	tc = tcase_create("demotion");
	tcase_add_test(tc, test_renew_and_self_demote);
	tcase_add_test(tc, test_pause_demotes_first);
	tcase_add_test(tc, test_in_flight_after_demote);
	tcase_add_test(tc, test_claim_and_other_leader);
	tcase_add_test(tc, test_promote_failed);
	tcase_add_test(tc, test_resign);
	suite_add_tcase(s, tc);
	tc = tcase_create("fencing");
	tcase_add_test(tc, test_epoch_fencing);
	tcase_add_test(tc, test_stale_grant_fenced);
	suite_add_tcase(s, tc);
	return s;
}
