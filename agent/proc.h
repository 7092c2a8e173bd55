/* proc — run one shell command with a time limit and capture its output.
 * Shared by the health checks (exec:) and the leadership hooks.
 *
 * The command runs as /bin/sh -c CMD, started with posix_spawn() (safe in a
 * threaded program) in a new session, so the shell's pid is also its process
 * group id and the whole group can be signalled: nothing the command started
 * outlives a timeout.  stdin is /dev/null; stdout and stderr go to one pipe
 * whose first bytes are kept (the rest is read and thrown away, so a chatty
 * command never blocks on a full pipe).  Signal mask and dispositions are
 * reset to the defaults in the child.  Blocking: call it from a thread. */
#ifndef VIGIL_AGENT_PROC_H
#define VIGIL_AGENT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_spec {
	const char *cmd;            /* run by /bin/sh -c */
	const char *const *env;     /* "NAME=value" added to (or replacing in) the
				     * agent's environment; NULL-terminated, or NULL */
	int timeout_ms;
	int term_grace_ms;          /* at the timeout: 0 = SIGKILL the group at once;
				     * > 0 = SIGTERM first, SIGKILL this much later */
	bool reap_group;            /* after a normal exit, SIGKILL what the command
				     * left running in its group (checks) or leave it
				     * alone (hooks may start daemons) */
	int cancel_fd;              /* >= 0: readable = give up now (group killed) */
};

enum proc_end {
	PROC_EXITED,                /* code = exit status */
	PROC_SIGNALED,              /* code = the signal that ended it */
	PROC_TIMEOUT,               /* killed at its time limit */
	PROC_CANCELLED,             /* cancel_fd became readable */
	PROC_NOT_STARTED,           /* err says why */
	PROC_LOST,                  /* its exit status could not be read (err) */
};

struct proc_result {
	enum proc_end end;
	int code;
	int64_t duration_ms;        /* from start to reaped */
	size_t got;                 /* output bytes kept in the caller's buffer */
	bool truncated;             /* there was more output than fitted */
	char err[160];
};

/* Run s->cmd, keeping up to cap bytes of its output in buf (not terminated,
 * not sanitized).  Always fills *r; never fails otherwise. */
void proc_run(const struct proc_spec *s, char *buf, size_t cap, struct proc_result *r);

/* Copy src[0..srclen) into dst as printable UTF-8 text: bytes that are not
 * valid UTF-8 become '?', control characters (C0 including NUL, DEL, C1)
 * become spaces, except '\n' and '\t' with PROC_TEXT_LINES ('\r' is
 * dropped then, so CRLF output reads as lines).  PROC_TEXT_TRIM drops
 * trailing white space.  The result is cut at dstlen - 1 bytes without
 * splitting a character; dstlen must be at least 1.  Returns its length. */
#define PROC_TEXT_LINES 1u
#define PROC_TEXT_TRIM  2u
size_t proc_text_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen,
			  unsigned flags);

#endif
