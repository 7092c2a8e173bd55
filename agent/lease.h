/* lease — the agent's side of leadership: its lease, self-demotion and epoch
 * fencing.  Pure: no sockets, files, clocks, globals or logging.  Time comes
 * in as now_ms (the agent's CLOCK_MONOTONIC); outputs are actions appended to
 * a struct lease_out that the glue carries out in order.
 *
 * Safety argument (why two agents never both believe they hold a lease):
 *
 *   - A lease is only ever extended by a grant that answers one of this
 *     boot's heartbeats, and it is measured from the moment the agent SENT
 *     that heartbeat: until = sent_ms(seq) + lease_ms.  The collector
 *     measures the same lease from when it RECEIVED that heartbeat, which is
 *     later by the network delay, and then adds a margin for clock-rate
 *     drift before it lets anyone else lead.  So the agent's lease always
 *     ends before the collector's view of it (for any delay >= 0 and any
 *     rate error within the margin).
 *   - Every input first checks the lease: an agent whose lease ran out (for
 *     instance after a SIGSTOP, whose clock has jumped on waking) demotes
 *     itself (LA_HOOK demote) before it acts on anything else.
 *   - Once it demoted, was fenced, or its promote hook failed, the grants
 *     already in flight (answers to heartbeats sent before that moment) are
 *     ignored: only a heartbeat sent afterwards can bring the lease back,
 *     and the collector has stopped granting by then unless it really wants
 *     this node to lead.
 *   - Epoch fencing: a command or grant older than the newest epoch seen is
 *     refused; an equal epoch is accepted as a repeat (idempotent, no hook is
 *     run twice); a newer one is accepted and remembered (LA_SAVE_EPOCH,
 *     which the glue writes before running the hook that follows it, so a
 *     restarted agent still refuses what it refused before).
 *
 * Roles: FOLLOWER; CLAIMING (started with --initial-role leader: it tells
 * the collector so, which may adopt it; it holds no lease); LEADER (it was
 * granted a lease at lead_epoch; it is a *valid* leader only while
 * now < lease_until).
 *
 * Glue contract:
 *   - heartbeats must be fed to lease_hb_sent() with the send time, and a
 *     grant must only be fed to the boot (connection) whose heartbeat it
 *     answers (seq numbers restart at every boot);
 *   - call lease_tick() at least every ~100 ms;
 *   - run every LA_HOOK, then call lease_hook_done() and report the exit
 *     status to the collector {kind, epoch, cmd_id, rc};
 *   - report LA_REFUSED to the collector (it is a record, not an error).
 */
#ifndef VIGIL_AGENT_LEASE_H
#define VIGIL_AGENT_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define LEASE_RING 64                    /* heartbeats whose send time is kept */

enum lease_role { LEASE_FOLLOWER = 0, LEASE_CLAIMING, LEASE_LEADER };
/* Same values as enum grp_hook in collector/groups.h. */
enum lease_hook { LEASE_HOOK_PROMOTE = 1, LEASE_HOOK_DEMOTE, LEASE_HOOK_FENCE };

const char *lease_role_name(enum lease_role r);
const char *lease_hook_name(enum lease_hook k);

/* What the collector answered to heartbeat seq. */
struct lease_grant {
	int64_t seq;                        /* the heartbeat answered */
	int64_t epoch;                      /* the group's (persisted) epoch */
	char leader[PROTO_NAME_MAX + 1];    /* the group's leader, "" none */
	int64_t lease_ms;                   /* > 0: lease renewed for the leader; 0: not renewed */
};

enum lease_action_kind {
	LA_SAVE_EPOCH = 1,  /* remember epoch in the agent's state file (before the next action) */
	LA_HOOK,            /* run hook kind with epoch (VIGIL_EPOCH), then lease_hook_done() */
	LA_REFUSED,         /* a command older than the newest epoch seen was refused: report it */
	LA_LEASE,           /* the lease was acquired (on) or lost (off): an agent event */
};

struct lease_action {
	enum lease_action_kind kind;
	enum lease_hook hook;               /* HOOK, REFUSED */
	uint64_t cmd_id;                    /* HOOK, REFUSED: the command's id, 0 = on its own */
	int64_t epoch;                      /* SAVE_EPOCH, HOOK, REFUSED (the command's), LEASE */
	int64_t seen_epoch;                 /* REFUSED: the newest epoch seen */
	bool on;                            /* LEASE */
	char reason[64];                    /* HOOK: "lease_expired", "granted", "command", ... */
};

struct lease_out {
	struct lease_action *v;
	size_t n, cap;
	bool oom;
};

void lease_out_init(struct lease_out *o);
void lease_out_reset(struct lease_out *o);
void lease_out_done(struct lease_out *o);

struct lease;

/* saved_epoch: what LA_SAVE_EPOCH last wrote (0 on a first start).  The
 * object copies node. NULL on allocation failure. */
struct lease *lease_new(const char *node, bool initial_leader, int64_t saved_epoch);
void lease_free(struct lease *l);          /* NULL is a no-op */

/* The agent sent heartbeat seq (this boot) at now_ms. */
void lease_hb_sent(struct lease *l, int64_t now_ms, int64_t seq, struct lease_out *out);
/* The collector answered a heartbeat. */
void lease_grant(struct lease *l, int64_t now_ms, const struct lease_grant *g,
		 struct lease_out *out);
/* A command from the collector.  0 accepted (also a repeat at the same
 * epoch), -ESTALE refused (epoch older than the newest seen: LA_REFUSED). */
int lease_command(struct lease *l, int64_t now_ms, enum lease_hook kind, int64_t epoch,
		  uint64_t cmd_id, struct lease_out *out);
/* A hook the agent ran has finished with exit status rc (0 = success). */
void lease_hook_done(struct lease *l, int64_t now_ms, enum lease_hook kind, int64_t epoch,
		     int rc, struct lease_out *out);
/* Time passes: self-demotion when the lease ends. */
void lease_tick(struct lease *l, int64_t now_ms, struct lease_out *out);
/* The agent is stopping: a leader gives up its lease and demotes itself
 * (LA_LEASE off, LA_HOOK demote with reason), since nothing will demote it
 * once its lease runs out; a claim is withdrawn without a hook.  Grants in
 * flight are ignored afterwards, as after any demotion. */
void lease_resign(struct lease *l, int64_t now_ms, const char *reason, struct lease_out *out);

/* Views. */
bool lease_is_valid(const struct lease *l, int64_t now_ms);   /* leader with an unexpired lease */
enum lease_role lease_role(const struct lease *l);
int64_t lease_epoch(const struct lease *l);                   /* newest epoch seen */
int64_t lease_until_ms(const struct lease *l);                /* 0 when none */

#endif
