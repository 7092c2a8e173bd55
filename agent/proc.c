/* proc.c — run a shell command in its own process group, with a time limit,
 * and capture the start of its output.
 *
 * The shell is not reaped until its group has been signalled for the last
 * time, so its pid (= the group id) cannot be reused meanwhile.  Every fd
 * opened here is close-on-exec. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE    /* POSIX_SPAWN_SETSID, pipe2, strerror_r */
#endif

#include "agent/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/util.h"

#define POLL_SLICE_MS 50     /* how often a running command's exit is polled */

extern char **environ;

enum io_res { IO_OK, IO_ERR, IO_TIMEOUT, IO_CANCEL };

static int remaining_ms(int64_t deadline)
{
	int64_t r = deadline - util_mono_ms();

	if (r < 0)
		r = 0;
	return r > INT_MAX ? INT_MAX : (int)r;
}

/* Read the child's output until it exits, the deadline passes or cancel_fd
 * is readable.  IO_OK once the child has exited (not yet reaped). */
static enum io_res collect(pid_t pid, int rfd, int64_t deadline, int cancel_fd,
			   char *buf, size_t cap, struct proc_result *r, bool *eof)
{
	enum io_res rc = IO_TIMEOUT;
	char sink[512];

	for (;;) {
		struct pollfd p[2];
		siginfo_t si;
		int np = 0, cancel_at = -1, wait = remaining_ms(deadline), n;

		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
			if (si.si_pid == pid) {
				rc = IO_OK;
				break;
			}
		} else if (errno != EINTR) {
			rc = IO_ERR;        /* ECHILD: SIGCHLD ignored, status lost */
			break;
		}
		if (wait == 0)
			break;
		if (!*eof) {
			p[np].fd = rfd;
			p[np++].events = POLLIN;
		}
		if (cancel_fd >= 0) {
			cancel_at = np;
			p[np].fd = cancel_fd;
			p[np++].events = POLLIN;
		}
		/* While the pipe is open, wake now and then to notice an exit
		 * whose pipe a grandchild keeps open; after EOF, the exit is
		 * imminent. */
		if (wait > (*eof ? 2 : POLL_SLICE_MS))
			wait = *eof ? 2 : POLL_SLICE_MS;
		n = poll(p, (nfds_t)np, wait);
		if (n < 0 && errno != EINTR) {
			rc = IO_ERR;
			break;
		}
		if (n <= 0)
			continue;
		if (cancel_at >= 0 && p[cancel_at].revents) {
			rc = IO_CANCEL;
			break;
		}
		if (!*eof && p[0].revents) {
			ssize_t got;

			if (r->got < cap)
				got = read(rfd, buf + r->got, cap - r->got);
			else
				got = read(rfd, sink, sizeof sink);  /* keep the child from blocking */
			if (got > 0 && r->got < cap)
				r->got += (size_t)got;
			else if (got > 0)
				r->truncated = true;
			else if (got == 0 || (errno != EAGAIN && errno != EINTR))
				*eof = true;
		}
	}
	return rc;
}

/* What is already in the pipe, without waiting. */
static void drain(int rfd, char *buf, size_t cap, struct proc_result *r)
{
	char sink[512];

	for (;;) {
		ssize_t got = r->got < cap ? read(rfd, buf + r->got, cap - r->got)
					   : read(rfd, sink, sizeof sink);

		if (got <= 0)
			break;
		if (r->got < cap)
			r->got += (size_t)got;
		else
			r->truncated = true;
	}
}

/* environ with the entries of extra added, replacing those of the same name.
 * The strings are not copied.  NULL when there is no memory. */
static char **merge_env(const char *const *extra)
{
	size_t n = 0, k = 0, o = 0;
	char **v;

	while (environ && environ[n])
		n++;
	while (extra && extra[k])
		k++;
	v = calloc(n + k + 1, sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t len = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
		bool replaced = false;

		for (size_t j = 0; j < k && !replaced; j++)
			replaced = strncmp(environ[i], extra[j], len) == 0;
		if (!replaced)
			v[o++] = environ[i];
	}
	for (size_t j = 0; j < k; j++)
		v[o++] = (char *)extra[j];
	v[o] = NULL;
	return v;
}

static int spawn(const struct proc_spec *s, int wfd, pid_t *pid, char *err, size_t errlen)
{
	char arg0[] = "sh", arg1[] = "-c";
	char *argv[] = { arg0, arg1, (char *)s->cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char **envp = environ, eb[128];
	int e;

	if (s->env) {
		envp = merge_env(s->env);
		if (!envp) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	e = posix_spawn_file_actions_init(&fa);
	if (e)
		goto out_env;
	e = posix_spawnattr_init(&attr);
	if (e)
		goto out_fa;
	e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, wfd, 1);
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, wfd, 2);
	if (!e)
		e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					     POSIX_SPAWN_SETSIGDEF);
	if (!e)
		e = posix_spawnattr_setsigmask(&attr, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(&attr, &all);
	if (!e)
		e = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out_env:
	if (envp != environ)
		free(envp);
	if (e)
		snprintf(err, errlen, "cannot run /bin/sh: %s", strerror_r(e, eb, sizeof eb));
	return e ? -1 : 0;
}

void proc_run(const struct proc_spec *s, char *buf, size_t cap, struct proc_result *r)
{
	int64_t start = util_mono_ms();
	int pfd[2] = { -1, -1 }, wstatus = 0;
	enum io_res rc;
	bool eof = false;
	char eb[128];
	pid_t pid;

	memset(r, 0, sizeof *r);
	r->end = PROC_NOT_STARTED;
	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(r->err, sizeof r->err, "pipe: %s", strerror_r(errno, eb, sizeof eb));
		goto out;
	}
	if (fcntl(pfd[0], F_SETFL, O_NONBLOCK)) {
		snprintf(r->err, sizeof r->err, "fcntl: %s", strerror_r(errno, eb, sizeof eb));
		goto out_close;
	}
	if (spawn(s, pfd[1], &pid, r->err, sizeof r->err))
		goto out_close;
	close(pfd[1]);
	pfd[1] = -1;

	rc = collect(pid, pfd[0], start + s->timeout_ms, s->cancel_fd, buf, cap, r, &eof);
	if (rc == IO_TIMEOUT && s->term_grace_ms > 0) {
		/* Ask the whole group to stop, give it the grace period, then
		 * kill whatever is left (below). */
		kill(-pid, SIGTERM);
		if (collect(pid, pfd[0], util_mono_ms() + s->term_grace_ms, s->cancel_fd, buf, cap,
			    r, &eof) == IO_CANCEL)
			rc = IO_CANCEL;
	}
	/* The shell is a zombie or still running, so its pid still names the
	 * group. */
	if (rc != IO_OK || s->reap_group)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	drain(pfd[0], buf, cap, r);
	if (rc == IO_TIMEOUT) {
		r->end = PROC_TIMEOUT;
	} else if (rc == IO_CANCEL) {
		r->end = PROC_CANCELLED;
	} else if (rc == IO_ERR) {
		r->end = PROC_LOST;
		snprintf(r->err, sizeof r->err, "lost the command's exit status");
	} else if (WIFEXITED(wstatus)) {
		r->end = PROC_EXITED;
		r->code = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		r->end = PROC_SIGNALED;
		r->code = WTERMSIG(wstatus);
	} else {
		r->end = PROC_LOST;
		snprintf(r->err, sizeof r->err, "unexpected wait status %d", wstatus);
	}
out_close:
	if (pfd[1] >= 0)
		close(pfd[1]);
	close(pfd[0]);
out:
	r->duration_ms = util_mono_ms() - start;
}

/* ---- output sanitizing -------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (at most avail bytes), or 0 when
 * it is not one (overlong forms, surrogates, > U+10FFFF refused). */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	size_t n = 0;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	if (n == 0 || n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xf0 && p[1] < 0x90))
		return 0;           /* overlong */
	if (p[0] == 0xed && p[1] >= 0xa0)
		return 0;           /* surrogate */
	if (p[0] == 0xf4 && p[1] >= 0x90)
		return 0;           /* above U+10FFFF */
	return n;
}

static bool is_trimmed(char c, unsigned flags)
{
	return c == ' ' || ((flags & PROC_TEXT_LINES) && (c == '\n' || c == '\t'));
}

size_t proc_text_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen,
			  unsigned flags)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t cap = dstlen - 1, i = 0, o = 0;
	bool lines = flags & PROC_TEXT_LINES;

	while (s && i < srclen && o < cap) {
		size_t n;

		if (s[i] < 0x20 || s[i] == 0x7f) {
			if (lines && (s[i] == '\n' || s[i] == '\t'))
				dst[o++] = (char)s[i];
			else if (!(lines && s[i] == '\r'))
				dst[o++] = ' ';
			i++;
			continue;
		}
		if (s[i] < 0x80) {
			dst[o++] = (char)s[i++];
			continue;
		}
		n = utf8_seq_len(s + i, srclen - i);
		if (n == 0) {
			dst[o++] = '?';
			i++;
			continue;
		}
		if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			dst[o++] = ' ';     /* C1 control (U+0080..U+009F), e.g. CSI */
			i += 2;
			continue;
		}
		if (o + n > cap)
			break;
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	while ((flags & PROC_TEXT_TRIM) && o > 0 && is_trimmed(dst[o - 1], flags))
		o--;
	dst[o] = '\0';
	return o;
}
