/* groups — groups, quorum, leadership, epochs, leases and failover as the
 * collector decides them.  Pure: no sockets, files, clocks, globals or
 * logging.  Time comes in as now_ms (monotonic); outputs are actions
 * appended to a struct grp_out that the glue carries out IN ORDER.
 *
 * Inputs (each documented at its declaration below):
 *   groups_restore        at start, from the store: group, epoch, leader, members
 *   groups_member         a member's state as the core sees it (call on change, or every tick)
 *   groups_heartbeat      a heartbeat from a member: returns the grant to send back
 *   groups_hook_result    an agent reported a hook's exit status
 *   groups_epoch_persisted  the outcome of a GA_SET_EPOCH
 *   groups_tick           time passes (with the core's tilt flag); every ~100 ms
 *   groups_command        an operator command (or its dry run)
 *   groups_forget         an operator removes an expected member
 *
 * Outputs (enum grp_action_kind):
 *   GA_SET_EPOCH  write {group, epoch, leader=node} durably (fsync'd commit)
 *                 NOW, before carrying out any later action, then call
 *                 groups_epoch_persisted(ok) with the outcome (in the same
 *                 loop iteration if the write is synchronous).
 *   GA_SEND       send command `hook` {group, epoch, old_leader} to agent
 *                 `node` (it runs its promote/demote/fence hook and reports
 *                 the exit status with cmd_id: groups_hook_result).  Its epoch is always
 *                 one that was persisted before.
 *   GA_STATE      the failover state machine of `group` moved from -> to
 *                 (code = why; on return to FO_IDLE: "confirmed", "aborted",
 *                 "failed"): store in the failovers table and publish.
 *   GA_RECORD     store + publish a record: code "decision", "refusal",
 *                 "command", "command_refused", "override", "forget",
 *                 "leader": text holds the reasons (guards, ranked
 *                 candidates with why each is or is not eligible); blocked
 *                 holds the guard bits.
 *   GA_MEMBER     remember (on) or forget (!on) node as an expected member
 *                 of group: persist.
 *
 * Safety argument:
 *   - One leader per group: leadership only changes inside the failover
 *     state machine (one per group, one at a time), and the new leader is
 *     only named after its epoch is durable.
 *   - Epochs: a change asks for epoch = (highest ever asked) + 1 with
 *     GA_SET_EPOCH and waits; no GA_SEND carries an epoch before its
 *     groups_epoch_persisted(ok).  A failed or timed-out write aborts the
 *     attempt with nothing sent; the epoch number is burned (never reused,
 *     in case the write did land).  groups_restore() restarts from the
 *     persisted value, so epochs never go backwards.
 *   - Leases: a leader grant (lease_ms > 0) is only given to the leader
 *     while no failover is under way (or to the new leader once promoted),
 *     and only when the previous lease holder's lease has surely expired.
 *     The collector's view of a lease starts when it RECEIVED the
 *     heartbeat (later than the agent's send time, from which the agent
 *     measures) and it waits lease_ms * (1 + drift_pct/100) from there:
 *     the "safe" time.  No other node is granted or promoted before the
 *     safe time of the holder, or before the holder confirmed its demote.
 *     After groups_restore() the restored leader is assumed to hold a lease
 *     granted at the restore time (conservative).
 *   - Failover state machine (enum grp_fo_state): DEMOTE (switchover
 *     only) -> WAIT_LEASE -> DECIDE (epoch being persisted) -> [point of no
 *     return: persisted] -> FENCE (old leader, if connected) -> PROMOTE ->
 *     confirmed.  Abort is only possible before the point of no return;
 *     after it, a failed or timed-out promote tries the next candidate (a
 *     new epoch, after the failed one's lease surely expired) or ends
 *     "failed" with the group leaderless (then it is elected again later).
 *   - Automatic action only with quorum; every decision and refusal is a
 *     GA_RECORD (refusals when the set of blocking guards changes, so a
 *     blocked group does not flood the store every tick).
 */
#ifndef VIGIL_COLLECTOR_GROUPS_H
#define VIGIL_COLLECTOR_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define GRP_MEMBERS_MAX 64               /* expected members per group */

struct groups_config {
	int64_t lease_ms;              /* 2000: lease granted to a leader per answered heartbeat */
	int drift_pct;                 /* 10: margin for clock-rate drift, % of lease_ms */
	int64_t persist_timeout_ms;    /* 5000: DECIDE: epoch write outcome */
	int64_t fence_timeout_ms;      /* 5000: FENCE: the old leader's fence hook */
	int64_t promote_timeout_ms;    /* 15000: PROMOTE: the new leader's promote hook */
	int64_t cooldown_ms;           /* 60000: no automatic failover after one ended */
	int64_t elect_settle_ms;       /* 0: a group first seen now elects no leader before this
					* (its other members may still be connecting; the highest
					* priority should win, not the first to connect) */
	uint64_t cmd_id_base;          /* 0: first command id - 1; the glue passes something that
					* differs across restarts (e.g. wall ms << 20) */
};

void groups_config_defaults(struct groups_config *cfg);
/* 0, or -1 with a reason naming the option in err. */
int groups_config_check(const struct groups_config *cfg, char *err, size_t errlen);

/* The role an agent says it has (its lease object's role). */
enum grp_role { GROLE_FOLLOWER = 0, GROLE_CLAIMING, GROLE_LEADER };
/* Same values as enum lease_hook in agent/lease.h. */
enum grp_hook { GRP_HOOK_PROMOTE = 1, GRP_HOOK_DEMOTE, GRP_HOOK_FENCE };

enum grp_fo_state {
	FO_IDLE = 0,
	FO_DEMOTE,        /* switchover: old leader told to demote; wait for it or its lease */
	FO_WAIT_LEASE,    /* wait until the lease holder's lease has surely expired */
	FO_DECIDE,        /* new epoch asked to be persisted; wait for the outcome */
	FO_FENCE,         /* (no return) fence sent to the old leader; wait for it */
	FO_PROMOTE,       /* promote sent, leases granted to the new leader; wait for its hook */
	FO_STATE_COUNT
};

enum grp_fo_kind {
	FOK_NONE = 0,
	FOK_AUTO,         /* the leader failed */
	FOK_ELECT,        /* the group had no leader */
	FOK_ADOPT,        /* the group had no leader; one agent started as leader */
	FOK_MANUAL,       /* operator failover */
	FOK_SWITCHOVER,   /* operator switchover */
};

/* Guards: why an automatic failover or a command is refused (bits). */
enum grp_guard {
	GG_LEADER_OK     = 1u << 0,  /* (auto) the leader has not failed: nothing to do */
	GG_LEASE         = 1u << 1,  /* the lease holder's lease has not surely expired */
	GG_QUORUM        = 1u << 2,  /* no strict majority of expected members alive */
	GG_PAUSED        = 1u << 3,  /* automation paused for the group */
	GG_COOLDOWN      = 1u << 4,  /* a failover ended less than cooldown_ms ago */
	GG_TILT          = 1u << 5,  /* the collector is in tilt */
	GG_NO_CANDIDATE  = 1u << 6,  /* no eligible candidate */
	GG_BUSY          = 1u << 7,  /* a failover is already under way */
	GG_UNKNOWN       = 1u << 8,  /* no such group or node */
	GG_TARGET        = 1u << 9,  /* the requested node is not an eligible candidate */
	GG_LEADER_HEALTHY= 1u << 10, /* manual failover of an alive leader (use switchover or force) */
	GG_NO_LEADER     = 1u << 11, /* switchover needs a leader */
	GG_BAD_COMMAND   = 1u << 12, /* malformed command (missing --to, bad name) */
	GG_SETTLING      = 1u << 13, /* (election) a new group waits for its members to connect */
};
#define GG_COUNT 14

/* Why a member is not an eligible candidate (bits; 0 = eligible). */
enum grp_why {
	GW_NOT_ALIVE     = 1u << 0,  /* suspect, failed, left */
	GW_DEGRADED      = 1u << 1,
	GW_FLAPPING      = 1u << 2,
	GW_MAINTENANCE   = 1u << 3,  /* node state or operator override */
	GW_NO_FAILOVER   = 1u << 4,  /* tagged no-failover */
	GW_LEADER        = 1u << 5,  /* it is the leader being replaced */
	GW_TRIED         = 1u << 6,  /* its promote failed in this failover */
	GW_DISCONNECTED  = 1u << 7,
};
#define GW_COUNT 8

const char *groups_fo_state_name(enum grp_fo_state s);
const char *groups_fo_kind_name(enum grp_fo_kind k);
const char *groups_hook_name(enum grp_hook h);
const char *groups_guard_name(unsigned bit);     /* one bit: "quorum", "lease", ... */
const char *groups_why_name(unsigned bit);       /* one bit: "degraded", ... */
/* "quorum,paused" (comma list of the names of the set bits; "" for 0). */
void groups_guard_text(unsigned mask, char *buf, size_t len);
void groups_why_text(unsigned mask, char *buf, size_t len);

/* A member's state as the collector sees it. */
struct grp_member_update {
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	int priority;                      /* higher is preferred */
	enum node_state state;             /* from the core */
	bool flapping;
	bool no_failover;                  /* tagged: never promote automatically or manually */
	enum grp_role role;                /* what its agent says it is */
	bool connected;
};

/* A ranked candidate: by priority (higher first), then name. */
struct grp_candidate {
	char node[PROTO_NAME_MAX + 1];
	int priority;
	enum node_state state;
	unsigned why_not;                  /* GW_* bits, 0 = eligible */
};

/* What to send back with the answer to a heartbeat (agent: lease_grant). */
struct grp_grant {
	bool member;                       /* false: not a member of any group, send no grant */
	int64_t epoch;                     /* persisted epoch */
	char leader[PROTO_NAME_MAX + 1];   /* "" = no leader */
	int64_t lease_ms;                  /* > 0 only for the leader when renewed */
};

enum grp_cmd_kind { GCMD_FAILOVER = 1, GCMD_SWITCHOVER, GCMD_PAUSE, GCMD_RESUME, GCMD_MAINTENANCE };

struct grp_cmd {
	enum grp_cmd_kind kind;
	char who[PROTO_NAME_MAX + 1];
	char reason[PROTO_TEXT_MAX + 1];
	bool dry_run;                      /* pre-flight only: change nothing, emit nothing */
	bool force;                        /* failover/switchover without quorum or of an alive leader
					    * (still waits for the lease) */
	char group[PROTO_NAME_MAX + 1];    /* FAILOVER, SWITCHOVER, PAUSE, RESUME */
	char node[PROTO_NAME_MAX + 1];     /* FAILOVER --to (optional), SWITCHOVER --to, MAINTENANCE */
	bool on;                           /* MAINTENANCE on|off */
	int64_t duration_ms;               /* PAUSE, MAINTENANCE on: 0 = until undone */
};

struct grp_cmd_result {
	bool ok;                           /* accepted (or, dry run: would be) */
	unsigned blocked;                  /* GG_* bits that refuse it */
	char target[PROTO_NAME_MAX + 1];   /* FAILOVER/SWITCHOVER: who would be promoted */
	char text[PROTO_TEXT_MAX + 1];     /* the reasons, for a human */
	int ncand;                         /* FAILOVER/SWITCHOVER: ranked candidates */
	struct grp_candidate cand[GRP_MEMBERS_MAX];
};

enum grp_action_kind {
	GA_SET_EPOCH = 1, /* persist {group, epoch, node=leader}; then groups_epoch_persisted() */
	GA_SEND,          /* send hook command {group, epoch, old_leader} to node */
	GA_STATE,         /* failover state from -> to (code: why) */
	GA_RECORD,        /* store + publish {code, text, blocked} */
	GA_MEMBER,        /* persist: node is (on) / is no longer (!on) an expected member */
};

struct grp_action {
	enum grp_action_kind kind;
	char group[PROTO_NAME_MAX + 1];
	char node[PROTO_NAME_MAX + 1];     /* SET_EPOCH: leader; SEND: to; MEMBER; RECORD: target */
	char old_leader[PROTO_NAME_MAX + 1];
	int64_t epoch;
	enum grp_hook hook;                /* SEND */
	uint64_t cmd_id;                   /* SEND: the agent echoes it in its hook result */
	enum grp_fo_kind fo_kind;          /* STATE, RECORD of a decision */
	enum grp_fo_state from, to;        /* STATE */
	bool on;                           /* MEMBER */
	unsigned blocked;                  /* RECORD: GG_* bits */
	char code[32];
	char text[PROTO_TEXT_MAX + 1];
};

struct grp_out {
	struct grp_action *v;
	size_t n, cap;
	bool oom;
};

void grp_out_init(struct grp_out *o);
void grp_out_reset(struct grp_out *o);
void grp_out_done(struct grp_out *o);

/* A group as seen now (views, tests). */
struct grp_info {
	char name[PROTO_NAME_MAX + 1];
	int64_t epoch;                     /* persisted */
	char leader[PROTO_NAME_MAX + 1];
	int expected, alive;
	bool quorum;
	enum grp_fo_state fo_state;
	enum grp_fo_kind fo_kind;
	int64_t fo_since_ms;
	char fo_target[PROTO_NAME_MAX + 1];
	char lease_holder[PROTO_NAME_MAX + 1];
	int64_t lease_safe_ms;             /* holder's lease surely over at; 0 none */
	bool paused;
	int64_t pause_until_ms;            /* 0 = until resumed */
	char paused_by[PROTO_NAME_MAX + 1];
	char pause_reason[PROTO_TEXT_MAX + 1];
	int64_t cooldown_until_ms;
};

struct groups;

struct groups *groups_new(const struct groups_config *cfg);
void groups_free(struct groups *g);        /* NULL is a no-op */

/* At start, before any other input, once per group from the store: the
 * persisted epoch and leader ("" none) and the expected members.  Members
 * start unseen (suspect) until groups_member() reports them.  The leader is
 * assumed to hold a lease granted at now_ms.  0, -EEXIST (restored twice),
 * -EINVAL (bad name), -ENOSPC, -ENOMEM. */
int groups_restore(struct groups *g, int64_t now_ms, const char *group, int64_t epoch,
		   const char *leader, const char *const *members, int nmembers);

/* A member's state changed (or: its current state, every tick; repeats are
 * cheap and silent).  A node not yet expected becomes expected (GA_MEMBER
 * on).  May advance a failover (a target that is no longer eligible).
 * 0, -EINVAL, -EEXIST (the node belongs to another group), -ENOSPC, -ENOMEM. */
int groups_member(struct groups *g, int64_t now_ms, const struct grp_member_update *u,
		  struct grp_out *out);

/* A heartbeat from node arrived at now_ms: fills the grant to send back
 * with the heartbeat's seq (send nothing when !grant->member).  A
 * leader grant renews the collector's view of the lease from now_ms. */
void groups_heartbeat(struct groups *g, int64_t now_ms, const char *node,
		      struct grp_grant *grant);

/* An agent ran a hook and reports its exit status (0 = ok) with the cmd_id
 * of the GA_SEND that asked for it (0 when the agent ran it on its own: a
 * lease acquired or lost).  A switchover's demote is only confirmed by its
 * own cmd_id; other results match on {node, hook, epoch}.  Results nothing
 * waits for are ignored, except a failed promote of the current leader,
 * which leaves the group leaderless (it is elected again). */
void groups_hook_result(struct groups *g, int64_t now_ms, const char *node, enum grp_hook hook,
			int64_t epoch, uint64_t cmd_id, int rc, const char *output,
			struct grp_out *out);

/* The outcome of GA_SET_EPOCH {group, epoch}. */
void groups_epoch_persisted(struct groups *g, int64_t now_ms, const char *group, int64_t epoch,
			    bool ok, struct grp_out *out);

/* Time passes: override expiry, failover timeouts, automatic decisions. */
void groups_tick(struct groups *g, int64_t now_ms, bool in_tilt, struct grp_out *out);

/* An operator command.  Fills res (always); returns 0 when accepted (dry
 * run: when it would be), -EPERM when refused (res->blocked, res->text),
 * -EINVAL for a malformed command.  A dry run changes nothing and emits
 * nothing; a real one is recorded (GA_RECORD "command"/"command_refused"). */
int groups_command(struct groups *g, int64_t now_ms, const struct grp_cmd *cmd,
		   struct grp_cmd_result *res, struct grp_out *out);

/* Remove an expected member (operator, with a reason).  Refused (-EBUSY)
 * for the leader, a connected member or a failover target; -ENOENT. */
int groups_forget(struct groups *g, int64_t now_ms, const char *group, const char *node,
		  const char *who, const char *reason, struct grp_out *out);

/* An agent of group reports having seen epoch (in its hello or heartbeats,
 * or when it refused a command as stale).  If that is newer than anything
 * this collector remembers (its store was lost or replaced), the next
 * leadership change takes a higher one, so agents do not refuse it. */
void groups_epoch_seen(struct groups *g, const char *group, int64_t epoch);

/* At start, after groups_restore(): an operator override that was in force
 * when the collector stopped (node "" = pause of the group, else maintenance
 * of node), until until_ms (monotonic, converted by the caller; 0 = until
 * undone).  Nothing is recorded.  0, -ENOENT. */
int groups_restore_override(struct groups *g, int64_t now_ms, const char *group, const char *node,
			    int64_t until_ms, const char *who, const char *reason);

/* Views. */
size_t groups_count(const struct groups *g);
/* How many members in maintenance are in each state (as last fed). */
void groups_maint_states(const struct groups *g, int64_t now_ms, int counts[NODE_STATE_COUNT]);
/* Is node in maintenance (operator override) now?  until_ms: 0 = until undone. */
bool groups_member_maint(const struct groups *g, const char *group, const char *node,
			 int64_t now_ms, int64_t *until_ms);
int groups_info(const struct groups *g, int64_t now_ms, const char *group, struct grp_info *out);
bool groups_has_quorum(const struct groups *g, const char *group);
/* Ranked candidates of a group as an automatic failover would see them now.
 * Returns the count (<= max), -ENOENT. */
int groups_candidates(const struct groups *g, int64_t now_ms, const char *group,
		      struct grp_candidate *cand, int max);

#endif
