/* state — the agent's state directory (--state-dir): the newest leadership
 * epoch the agent has seen, so that a restarted agent still refuses the
 * commands it refused before (docs/protocol.md, "Leadership").
 *
 * One file per group, DIR/epoch-GROUP, holding the epoch as a decimal
 * number and a newline.  It is replaced atomically (a temporary file is
 * written and fsync'ed, renamed over it, and the directory fsync'ed), so it
 * is either the old or the new number, never half of one.  A file that does
 * not hold a number is an error, not a zero: forgetting an epoch would let
 * a stale command through. */
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

#endif
