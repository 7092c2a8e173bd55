/* hooks — the agent runs its leadership hooks (--on-promote, --on-demote,
 * --on-fence) one at a time, in the order asked, in a worker thread, so the
 * event loop never waits for one.
 *
 * A hook is /bin/sh -c CMD (agent/proc.h: its own process group, stdin
 * /dev/null, stdout and stderr captured together) with these variables added
 * to the agent's environment:
 *
 *   VIGIL_HOOK        promote, demote or fence
 *   VIGIL_GROUP       the node's group
 *   VIGIL_NODE        the node's name
 *   VIGIL_EPOCH       the leadership epoch the hook acts for
 *   VIGIL_ROLE        the role after the hook: leader, follower or fenced
 *   VIGIL_OLD_LEADER  the leader being replaced ("" unknown)
 *   VIGIL_REASON      why: the collector's reason for a command, else
 *                     lease_expired, granted, other_leader, agent_stopping,
 *                     restarted
 *   VIGIL_CMD_ID      the collector's command id (0 = the agent acted alone)
 *
 * At its time limit the whole group gets SIGTERM, and SIGKILL term_grace_ms
 * later.  The result's rc:
 *
 *   0..255   the hook's exit status (0 = success)
 *   128+N    the hook's shell was killed by signal N (not by us), as shells report it
 *   -1       killed at its time limit (or cancelled when the agent stopped)
 *   -2       could not be started (or its exit status was lost)
 *
 * and its output is the first PROTO_HOOK_OUTPUT_MAX bytes of what it wrote,
 * as UTF-8 text: newlines and tabs kept, '\r' dropped, other control
 * characters made spaces, invalid bytes made '?'; a line saying what
 * happened is added when it was killed or could not start.  A hook that is
 * not configured succeeds at once: rc 0, output "(no hook configured)".
 * Whatever a hook leaves running in the background after it exits is left
 * alone (a promote hook may start a service); redirect its output. */
#ifndef VIGIL_AGENT_HOOKS_H
#define VIGIL_AGENT_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/lease.h"
#include "proto/proto.h"

#define HOOK_CMD_MAX            1023
#define HOOK_TIMEOUT_MS_DEFAULT 30000
#define HOOK_TIMEOUT_MS_MIN     100
#define HOOK_TIMEOUT_MS_MAX     3600000
#define HOOK_TERM_GRACE_MS      2000
#define HOOKS_QUEUE_MAX         32        /* jobs queued, running or not yet taken */
#define HOOK_NOT_CONFIGURED     "(no hook configured)"

struct hooks_config {
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	char cmd[4][HOOK_CMD_MAX + 1];      /* indexed by enum lease_hook; "" = none */
	int timeout_ms;
	int term_grace_ms;                  /* SIGTERM .. SIGKILL at the time limit */
};

/* One run asked for.  Strings are copied in. */
struct hook_job {
	enum lease_hook kind;
	uint64_t cmd_id;                    /* 0 = on the agent's own */
	int64_t epoch;
	char old_leader[PROTO_NAME_MAX + 1];
	char reason[PROTO_TEXT_MAX + 1];    /* VIGIL_REASON */
	char tag[PROTO_NAME_MAX + 1];       /* the glue's short reason ("command", ...) */
	uint64_t seq;                       /* the glue's, carried through */
};

struct hook_result {
	struct hook_job job;
	int rc;                             /* see above */
	int64_t duration_ms;
	bool configured;
	char output[PROTO_HOOK_OUTPUT_MAX + 1];
};

const char *hook_role_after(enum lease_hook kind);    /* leader, follower, fenced */

/* Run one hook now, blocking (the worker thread's body; tests call it).
 * cancel_fd >= 0: readable = kill it now. */
void hook_run(const struct hooks_config *cfg, const struct hook_job *job, int cancel_fd,
	      struct hook_result *res);

struct hooks;

/* Copies cfg.  wake(arg) is called from the worker thread each time a
 * result is ready (the glue passes lws_cancel_service).  NULL when memory or
 * a thread is short. */
struct hooks *hooks_new(const struct hooks_config *cfg, void (*wake)(void *arg), void *arg);

/* Queue a run: 0, or -ENOSPC when HOOKS_QUEUE_MAX are pending. */
int hooks_submit(struct hooks *h, const struct hook_job *job);

/* The oldest finished run, if any (true). */
bool hooks_take(struct hooks *h, struct hook_result *out);

/* Nothing queued or running (finished results may wait to be taken). */
bool hooks_is_idle(struct hooks *h);

/* Kill a running hook, drop the queue, join the thread, free.  NULL is a
 * no-op.  Wait for hooks_is_idle() first to let them finish. */
void hooks_free(struct hooks *h);

#endif
