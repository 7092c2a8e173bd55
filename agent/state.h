/* state — the agent's state directory (--state-dir): the newest leadership
 * epoch the agent has seen, so that a restarted agent still refuses the
 * commands it refused before (docs/protocol.md, "Leadership").
 *
 * One file per group, DIR/epoch-GROUP, holding the epoch as a decimal
 * number and a newline.  It is replaced atomically (a temporary file is
 * written and fsync'ed, renamed over it, and the directory fsync'ed), so it
 * is either the old or the new number, never half of one.  A file that does
 * not hold a number is an error, not a zero: forgetting an epoch would let
 * a stale command through.
 *
 * A second file, DIR/leader-GROUP (same format), says "this node may be
 * acting as leader at that epoch": written before a promote hook runs and
 * removed once a demote or fence hook succeeded, so an agent that died as
 * leader (SIGKILL, crash) knows at its restart that it must demote first. */
#ifndef VIGIL_AGENT_STATE_H
#define VIGIL_AGENT_STATE_H

#include <stddef.h>
#include <stdint.h>

/* The directory exists (created 0700 if only its last component is
 * missing) and we may write in it.  0, or -1 with a reason in err. */
int state_dir_prepare(const char *dir, char *err, size_t errlen);

/* The saved epoch in *epoch (0 when there is no file yet).  0, or -1 with a
 * reason naming the file in err (unreadable, or not a number). */
int state_epoch_load(const char *dir, const char *group, int64_t *epoch, char *err, size_t errlen);

/* Save epoch (0..2^53) durably.  0, or -1 with a reason in err. */
int state_epoch_save(const char *dir, const char *group, int64_t epoch, char *err, size_t errlen);

/* The leader marker: load (1 present, with its epoch; 0 none; -1 error),
 * save, clear (0 also when there was none).  Same rules otherwise. */
int state_leader_load(const char *dir, const char *group, int64_t *epoch, char *err, size_t errlen);
int state_leader_save(const char *dir, const char *group, int64_t epoch, char *err, size_t errlen);
int state_leader_clear(const char *dir, const char *group, char *err, size_t errlen);

#endif
