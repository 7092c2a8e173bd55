/* check_hooks.c — unit tests for agent/hooks (running the leadership hooks
 * with real /bin/sh commands: environment, output capture and cleaning,
 * exit statuses, time limits that kill the whole process group, the
 * one-at-a-time queue), agent/proc's text cleaning, and agent/state (the
 * epoch file and the leader marker).  Every test builds its own objects and temporary files. */
#include "agent/hooks.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/proc.h"
#include "agent/state.h"
#include "proto/util.h"

#include "suites.h"

/* --- helpers --------------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct hooks_config make_cfg(int timeout_ms)
{
	struct hooks_config c;

	memset(&c, 0, sizeof c);
	util_strlcpy(c.node, "db-1", sizeof c.node);
	util_strlcpy(c.group, "pg", sizeof c.group);
	c.timeout_ms = timeout_ms;
	c.term_grace_ms = 300;
	return c;
}

static struct hook_job make_job(enum lease_hook kind, int64_t epoch)
{
	struct hook_job j;

	memset(&j, 0, sizeof j);
	j.kind = kind;
	j.epoch = epoch;
	util_strlcpy(j.tag, "command", sizeof j.tag);
	return j;
}

/* Run cmd as the promote hook. */
static void run_promote(const char *cmd, int timeout_ms, struct hook_result *res)
{
	struct hooks_config c = make_cfg(timeout_ms);
	struct hook_job j = make_job(LEASE_HOOK_PROMOTE, 5);

	util_strlcpy(c.cmd[LEASE_HOOK_PROMOTE], cmd, sizeof c.cmd[0]);
	hook_run(&c, &j, -1, res);
}

static void tmp_path(char *buf, size_t len, const char *what)
{
	static int n;

	snprintf(buf, len, "/tmp/vigil-hooks-%d-%d-%s", (int)getpid(), n++, what);
	unlink(buf);
}

static long read_long_file(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n > 0 ? atol(buf) : 0;
}

/* Does any live (not zombie) process belong to process group pgid? */
static bool pgrp_has_live(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool alive = false;

	if (!d)
		return false;
	while (!alive && (de = readdir(d))) {
		char path[300], buf[512], state, *rp;
		int fd, ppid, pgrp;
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		rp = strrchr(buf, ')');
		if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 &&
		    pgrp == pgid && state != 'Z')
			alive = true;
	}
	closedir(d);
	return alive;
}

static bool pgrp_gone_within(pid_t pgid, int ms)
{
	for (int i = 0; i < ms / 10 && pgrp_has_live(pgid); i++)
		sleep_ms(10);
	return !pgrp_has_live(pgid);
}

/* --- running one hook ------------------------------------------------------ */

START_TEST(test_env)
{
	struct hooks_config c = make_cfg(5000);
	struct hook_job j = make_job(LEASE_HOOK_FENCE, 42);
	struct hook_result r;

	util_strlcpy(c.cmd[LEASE_HOOK_FENCE],
		     "printf '%s|%s|%s|%s|%s|%s|%s|%s|%s' \"$VIGIL_HOOK\" \"$VIGIL_GROUP\" "
		     "\"$VIGIL_NODE\" \"$VIGIL_EPOCH\" \"$VIGIL_ROLE\" \"$VIGIL_OLD_LEADER\" "
		     "\"$VIGIL_REASON\" \"$VIGIL_CMD_ID\" \"$HOME$PATH\"", sizeof c.cmd[0]);
	j.cmd_id = 1763800000000123ULL;
	util_strlcpy(j.old_leader, "db-0", sizeof j.old_leader);
	util_strlcpy(j.reason, "failover (manual): it's \"db-0\"", sizeof j.reason);
	/* A variable of the agent's own environment is passed on, and one of
	 * ours already there is replaced, not doubled. */
	setenv("VIGIL_NODE", "stale", 1);
	hook_run(&c, &j, -1, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert(r.configured);
	ck_assert_int_eq(r.job.epoch, 42);
	ck_assert_str_eq(r.job.tag, "command");
	{
		char want[4096];

		snprintf(want, sizeof want,
			 "fence|pg|db-1|42|fenced|db-0|failover (manual): it's \"db-0\"|"
			 "1763800000000123|%s%s", getenv("HOME") ? getenv("HOME") : "",
			 getenv("PATH") ? getenv("PATH") : "");
		ck_assert_str_eq(r.output, want);
	}
}
END_TEST

START_TEST(test_roles_after)
{
	ck_assert_str_eq(hook_role_after(LEASE_HOOK_PROMOTE), "leader");
	ck_assert_str_eq(hook_role_after(LEASE_HOOK_DEMOTE), "follower");
	ck_assert_str_eq(hook_role_after(LEASE_HOOK_FENCE), "fenced");
}
END_TEST

START_TEST(test_exit_status)
{
	struct hook_result r;

	run_promote("echo failing; exit 3", 5000, &r);
	ck_assert_int_eq(r.rc, 3);
	ck_assert_str_eq(r.output, "failing\n");
	ck_assert_int_ge(r.duration_ms, 0);
	ck_assert_int_lt(r.duration_ms, 2000);
}
END_TEST

START_TEST(test_killed_by_signal)
{
	struct hook_result r;

	run_promote("echo x; kill -9 $$", 5000, &r);
	ck_assert_int_eq(r.rc, 128 + 9);
	ck_assert_str_eq(r.output, "x\n[vigil: the hook was killed by signal 9]");
}
END_TEST

START_TEST(test_not_configured)
{
	struct hooks_config c = make_cfg(5000);
	struct hook_job j = make_job(LEASE_HOOK_DEMOTE, 1);
	struct hook_result r;

	util_strlcpy(c.cmd[LEASE_HOOK_PROMOTE], "exit 9", sizeof c.cmd[0]);
	hook_run(&c, &j, -1, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert(!r.configured);
	ck_assert_str_eq(r.output, HOOK_NOT_CONFIGURED);
}
END_TEST

START_TEST(test_command_not_found)
{
	struct hook_result r;

	run_promote("/no/such/vigil-hook", 5000, &r);
	ck_assert_int_eq(r.rc, 127);          /* the shell's "not found" */
	ck_assert_msg(strstr(r.output, "not found") || strstr(r.output, "No such file"),
		      "%s", r.output);
}
END_TEST

START_TEST(test_cannot_start)
{
	/* No file descriptor left for the output pipe: the hook cannot start. */
	struct rlimit rl, was;
	struct hook_result r;
	int lowest = dup(0);

	ck_assert_int_ge(lowest, 0);
	close(lowest);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &was), 0);
	rl = was;
	rl.rlim_cur = (rlim_t)lowest;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	run_promote("echo never", 5000, &r);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &was), 0);   /* (the leak checker needs fds) */
	ck_assert_int_eq(r.rc, -2);
	ck_assert_msg(strstr(r.output, "[vigil: pipe: "), "%s", r.output);
	ck_assert(!strstr(r.output, "never"));
}
END_TEST

START_TEST(test_output_truncated)
{
	struct hook_result r;
	int64_t t0 = util_mono_ms();

	/* 200 KB: the first 4 KiB are kept, the rest is read and dropped (the
	 * hook never blocks on a full pipe). */
	run_promote("head -c 200000 /dev/zero | tr '\\0' a; echo done >&2", 5000, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(strlen(r.output), PROTO_HOOK_OUTPUT_MAX);
	ck_assert_int_eq(r.output[0], 'a');
	ck_assert_int_eq(r.output[PROTO_HOOK_OUTPUT_MAX - 1], 'a');
	ck_assert_int_lt(util_mono_ms() - t0, 2000);
}
END_TEST

START_TEST(test_output_cleaned)
{
	struct hook_result r;

	/* stdout and stderr together; tab and newline kept, CR dropped, other
	 * control characters made spaces, invalid UTF-8 made '?', valid kept. */
	run_promote("printf 'a\\tb\\r\\n'; printf 'c\\001d\\033[1m\\377e\\n' >&2; printf '\\342\\202\\254'",
		    5000, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.output, "a\tb\nc d [1m?e\n\xe2\x82\xac");
}
END_TEST

START_TEST(test_timeout_kills_group)
{
	char pidf[128], cmd[512];
	struct hook_result r;
	pid_t pgid;

	tmp_path(pidf, sizeof pidf, "pid");
	/* The shell, a background child that outlives it if let be, and a
	 * foreground sleep: all must go at the time limit. */
	snprintf(cmd, sizeof cmd, "echo $$ > %s; echo started; sleep 100 & sleep 100", pidf);
	run_promote(cmd, 300, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_ge(r.duration_ms, 290);
	ck_assert_int_lt(r.duration_ms, 300 + 300 + 700);   /* SIGTERM worked: no grace needed */
	ck_assert_str_eq(r.output, "started\n[vigil: killed at its time limit of 300 ms]");
	pgid = (pid_t)read_long_file(pidf);
	unlink(pidf);
	ck_assert_int_gt(pgid, 1);
	ck_assert(pgrp_gone_within(pgid, 1000));
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);     /* nothing left to reap */
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_timeout_term_then_kill)
{
	char pidf[128], cmd[512];
	struct hook_result r;
	pid_t pgid;

	tmp_path(pidf, sizeof pidf, "pid");
	/* SIGTERM ignored (and inherited by the children): SIGKILL comes after
	 * the grace period. */
	snprintf(cmd, sizeof cmd, "trap '' TERM; echo $$ > %s; sleep 100 & sleep 100", pidf);
	run_promote(cmd, 200, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_ge(r.duration_ms, 200 + 300 - 10);
	ck_assert_int_lt(r.duration_ms, 200 + 300 + 700);
	pgid = (pid_t)read_long_file(pidf);
	unlink(pidf);
	ck_assert_int_gt(pgid, 1);
	ck_assert(pgrp_gone_within(pgid, 1000));
}
END_TEST

START_TEST(test_timeout_graceful)
{
	struct hook_result r;

	/* A hook that cleans up on SIGTERM gets to say so. */
	run_promote("trap 'echo cleaning up; exit 7' TERM; sleep 100 & wait", 200, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_str_eq(r.output, "cleaning up\n[vigil: killed at its time limit of 200 ms]");
	ck_assert_int_lt(r.duration_ms, 200 + 250);
}
END_TEST

START_TEST(test_background_left_alone)
{
	char pidf[128], cmd[512];
	struct hook_result r;
	pid_t pid;

	tmp_path(pidf, sizeof pidf, "pid");
	/* A hook that starts a service and exits: the service keeps running
	 * (and holding the pipe does not keep the hook "running"). */
	snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; echo started", pidf);
	run_promote(cmd, 5000, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.output, "started\n");
	ck_assert_int_lt(r.duration_ms, 1000);
	pid = (pid_t)read_long_file(pidf);
	unlink(pidf);
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill(pid, 0), 0);
	kill(pid, SIGKILL);
}
END_TEST

START_TEST(test_cancel)
{
	struct hooks_config c = make_cfg(10000);
	struct hook_job j = make_job(LEASE_HOOK_DEMOTE, 2);
	struct hook_result r;
	int p[2];
	int64_t t0;

	util_strlcpy(c.cmd[LEASE_HOOK_DEMOTE], "sleep 100", sizeof c.cmd[0]);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	t0 = util_mono_ms();
	hook_run(&c, &j, p[0], &r);
	ck_assert_int_lt(util_mono_ms() - t0, 500);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_str_eq(r.output, "[vigil: killed because the agent stopped]");
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- the queue -------------------------------------------------------------- */

static int wakes;

static void count_wake(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&wakes, 1, __ATOMIC_SEQ_CST);
}

static bool take_within(struct hooks *h, struct hook_result *r, int ms)
{
	for (int i = 0; i < ms / 5; i++) {
		if (hooks_take(h, r))
			return true;
		sleep_ms(5);
	}
	return hooks_take(h, r);
}

START_TEST(test_queue_in_order_one_at_a_time)
{
	struct hooks_config c = make_cfg(5000);
	struct hook_result r;
	char logf[128], buf[1024], want[1024];
	struct hooks *h;
	int fd;
	ssize_t n;

	tmp_path(logf, sizeof logf, "log");
	/* Each hook logs its start and end around a nap: runs that overlapped
	 * would interleave. */
	snprintf(c.cmd[LEASE_HOOK_PROMOTE], sizeof c.cmd[0],
		 "echo \"start $VIGIL_HOOK $VIGIL_EPOCH\" >> %s; sleep 0.1; "
		 "echo \"end $VIGIL_HOOK $VIGIL_EPOCH\" >> %s", logf, logf);
	snprintf(c.cmd[LEASE_HOOK_DEMOTE], sizeof c.cmd[0],
		 "echo \"start $VIGIL_HOOK $VIGIL_EPOCH\" >> %s; sleep 0.05; "
		 "echo \"end $VIGIL_HOOK $VIGIL_EPOCH\" >> %s; exit 1", logf, logf);
	wakes = 0;
	h = hooks_new(&c, count_wake, NULL);
	ck_assert_ptr_nonnull(h);
	ck_assert(hooks_is_idle(h));
	for (int i = 0; i < 4; i++) {
		struct hook_job j = make_job(i % 2 ? LEASE_HOOK_DEMOTE : LEASE_HOOK_PROMOTE, i + 1);

		ck_assert_int_eq(hooks_submit(h, &j), 0);
	}
	ck_assert(!hooks_is_idle(h));
	for (int i = 0; i < 4; i++) {
		ck_assert(take_within(h, &r, 3000));
		ck_assert_int_eq(r.job.epoch, i + 1);
		ck_assert_int_eq(r.job.kind, i % 2 ? LEASE_HOOK_DEMOTE : LEASE_HOOK_PROMOTE);
		ck_assert_int_eq(r.rc, i % 2 ? 1 : 0);
	}
	ck_assert(!hooks_take(h, &r));
	ck_assert(hooks_is_idle(h));
	ck_assert_int_eq(__atomic_load_n(&wakes, __ATOMIC_SEQ_CST), 4);
	hooks_free(h);

	fd = open(logf, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	unlink(logf);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	snprintf(want, sizeof want, "start promote 1\nend promote 1\nstart demote 2\nend demote 2\n"
		 "start promote 3\nend promote 3\nstart demote 4\nend demote 4\n");
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_queue_full)
{
	struct hooks_config c = make_cfg(5000);
	struct hook_job j = make_job(LEASE_HOOK_PROMOTE, 1);
	struct hooks *h;
	int i;

	util_strlcpy(c.cmd[LEASE_HOOK_PROMOTE], "sleep 100", sizeof c.cmd[0]);
	h = hooks_new(&c, NULL, NULL);
	ck_assert_ptr_nonnull(h);
	for (i = 0; i < HOOKS_QUEUE_MAX; i++)
		ck_assert_int_eq(hooks_submit(h, &j), 0);
	ck_assert_int_eq(hooks_submit(h, &j), -ENOSPC);
	hooks_free(h);
}
END_TEST

START_TEST(test_free_kills_running)
{
	struct hooks_config c = make_cfg(60000);
	struct hook_job j = make_job(LEASE_HOOK_PROMOTE, 1);
	char pidf[128], cmd[256];
	struct hooks *h;
	int64_t t0;
	pid_t pgid;

	tmp_path(pidf, sizeof pidf, "pid");
	snprintf(cmd, sizeof cmd, "echo $$ > %s; sleep 100", pidf);
	util_strlcpy(c.cmd[LEASE_HOOK_PROMOTE], cmd, sizeof c.cmd[0]);
	h = hooks_new(&c, NULL, NULL);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(hooks_submit(h, &j), 0);
	ck_assert_int_eq(hooks_submit(h, &j), 0);
	for (int i = 0; i < 200 && !read_long_file(pidf); i++)
		sleep_ms(10);
	pgid = (pid_t)read_long_file(pidf);
	unlink(pidf);
	ck_assert_int_gt(pgid, 1);
	t0 = util_mono_ms();
	hooks_free(h);
	ck_assert_int_lt(util_mono_ms() - t0, 1000);
	ck_assert(pgrp_gone_within(pgid, 1000));
}
END_TEST

/* --- text cleaning ---------------------------------------------------------- */

START_TEST(test_sanitize_flags)
{
	char out[16];

	ck_assert_uint_eq(proc_text_sanitize(out, sizeof out, "a\nb\t\r\n  ", 8, PROC_TEXT_LINES), 7);
	ck_assert_str_eq(out, "a\nb\t\n  ");
	proc_text_sanitize(out, sizeof out, "a\nb\t\r\n  ", 8, PROC_TEXT_LINES | PROC_TEXT_TRIM);
	ck_assert_str_eq(out, "a\nb");
	proc_text_sanitize(out, sizeof out, "a\nb\t\r\n  ", 8, PROC_TEXT_TRIM);
	ck_assert_str_eq(out, "a b");
	/* Cut on a character boundary: "abcdefghijklm" + euro sign does not fit. */
	proc_text_sanitize(out, sizeof out, "abcdefghijklm\xe2\x82\xac", 16, 0);
	ck_assert_str_eq(out, "abcdefghijklm");
}
END_TEST

/* --- the state file --------------------------------------------------------- */

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[600];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

START_TEST(test_state_round_trip)
{
	char dir[128], err[512], path[300];
	int64_t e = -1;

	tmp_path(dir, sizeof dir, "state");
	ck_assert_int_eq(state_dir_prepare(dir, err, sizeof err), 0);   /* creates it */
	ck_assert_int_eq(state_epoch_load(dir, "pg", &e, err, sizeof err), 0);
	ck_assert_int_eq(e, 0);                                          /* first start */
	ck_assert_int_eq(state_epoch_save(dir, "pg", 7, err, sizeof err), 0);
	ck_assert_int_eq(state_epoch_save(dir, "other", 3, err, sizeof err), 0);
	ck_assert_int_eq(state_epoch_load(dir, "pg", &e, err, sizeof err), 0);
	ck_assert_int_eq(e, 7);
	ck_assert_int_eq(state_epoch_save(dir, "pg", 9007199254740992LL, err, sizeof err), 0);
	ck_assert_int_eq(state_epoch_load(dir, "pg", &e, err, sizeof err), 0);
	ck_assert_int_eq(e, 9007199254740992LL);
	ck_assert_int_eq(state_epoch_load(dir, "other", &e, err, sizeof err), 0);
	ck_assert_int_eq(e, 3);
	ck_assert_int_eq(state_epoch_save(dir, "pg", -1, err, sizeof err), -1);
	/* The file holds the number and a newline; no temporary file is left. */
	snprintf(path, sizeof path, "%s/epoch-pg", dir);
	ck_assert_int_eq(read_long_file(path), 9007199254740992LL);
	ck_assert_int_eq(count_entries(dir), 2);
	ck_assert_int_eq(state_dir_prepare(dir, err, sizeof err), 0);   /* exists: fine */
	rm_dir(dir);
}
END_TEST

START_TEST(test_state_leader_marker)
{
	char dir[128], err[512], path[300];
	int64_t e = -1;

	tmp_path(dir, sizeof dir, "state");
	ck_assert_int_eq(state_dir_prepare(dir, err, sizeof err), 0);
	ck_assert_int_eq(state_leader_load(dir, "pg", &e, err, sizeof err), 0);   /* none */
	ck_assert_int_eq(state_leader_clear(dir, "pg", err, sizeof err), 0);      /* none: fine */
	ck_assert_int_eq(state_leader_save(dir, "pg", 0, err, sizeof err), 0);
	ck_assert_int_eq(state_leader_load(dir, "pg", &e, err, sizeof err), 1);   /* even epoch 0 */
	ck_assert_int_eq(e, 0);
	ck_assert_int_eq(state_leader_save(dir, "pg", 12, err, sizeof err), 0);
	ck_assert_int_eq(state_leader_load(dir, "pg", &e, err, sizeof err), 1);
	ck_assert_int_eq(e, 12);
	ck_assert_int_eq(state_leader_load(dir, "other", &e, err, sizeof err), 0);
	/* Apart from the epoch file. */
	ck_assert_int_eq(state_epoch_save(dir, "pg", 13, err, sizeof err), 0);
	ck_assert_int_eq(state_leader_clear(dir, "pg", err, sizeof err), 0);
	ck_assert_int_eq(state_leader_load(dir, "pg", &e, err, sizeof err), 0);
	ck_assert_int_eq(state_epoch_load(dir, "pg", &e, err, sizeof err), 0);
	ck_assert_int_eq(e, 13);
	snprintf(path, sizeof path, "%s/leader-pg", dir);
	write_file(path, "x\n", 2);
	ck_assert_int_eq(state_leader_load(dir, "pg", &e, err, sizeof err), -1);
	ck_assert_msg(strstr(err, path), "%s", err);
	rm_dir(dir);
}
END_TEST

static const struct {
	const char *text;
	size_t len;
} corrupt_vec[] = {
	{ "", 0 },
	{ "\n", 1 },
	{ "7\n\n", 3 },
	{ "7x", 2 },
	{ "-7\n", 3 },
	{ " 7\n", 3 },
	{ "7 \n", 3 },
	{ "7\0", 2 },
	{ "12345678901234567\n", 18 },     /* more digits than any epoch */
	{ "9007199254740993\n", 17 },      /* above 2^53 */
};

START_TEST(test_state_corrupt)
{
	char dir[128], err[512], path[300];
	int64_t e = -1;

	tmp_path(dir, sizeof dir, "state");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/epoch-pg", dir);
	write_file(path, corrupt_vec[_i].text, corrupt_vec[_i].len);
	err[0] = '\0';
	ck_assert_int_eq(state_epoch_load(dir, "pg", &e, err, sizeof err), -1);
	ck_assert_msg(strstr(err, path) && strstr(err, "corrupt"), "%s", err);
	rm_dir(dir);
}
END_TEST

START_TEST(test_state_bad_dir)
{
	char file[128], sub[300], err[512];
	int64_t e;

	tmp_path(file, sizeof file, "file");
	write_file(file, "x", 1);
	ck_assert_int_eq(state_dir_prepare(file, err, sizeof err), -1);
	ck_assert_msg(strstr(err, file) && strstr(err, "not a directory"), "%s", err);
	/* Saving into a missing directory fails and says where. */
	snprintf(sub, sizeof sub, "%s.d/deeper", file);
	ck_assert_int_eq(state_epoch_save(sub, "pg", 1, err, sizeof err), -1);
	ck_assert_msg(strstr(err, sub), "%s", err);
	ck_assert_int_eq(state_dir_prepare(sub, err, sizeof err), -1);  /* only the last part */
	/* A missing directory is a first start for reading. */
	ck_assert_int_eq(state_epoch_load(sub, "pg", &e, err, sizeof err), 0);
	ck_assert_int_eq(e, 0);
	unlink(file);
}
END_TEST

Suite *hooks_suite(void)
{
	Suite *s = suite_create("hooks");
	TCase *tc;

	tc = tcase_create("run");
	tcase_set_timeout(tc, 10.0);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_roles_after);
	tcase_add_test(tc, test_exit_status);
	tcase_add_test(tc, test_killed_by_signal);
	tcase_add_test(tc, test_not_configured);
	tcase_add_test(tc, test_command_not_found);
	tcase_add_test(tc, test_cannot_start);
	tcase_add_test(tc, test_output_truncated);
	tcase_add_test(tc, test_output_cleaned);
	tcase_add_test(tc, test_timeout_kills_group);
	tcase_add_test(tc, test_timeout_term_then_kill);
	tcase_add_test(tc, test_timeout_graceful);
	tcase_add_test(tc, test_background_left_alone);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_sanitize_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("queue");
	tcase_set_timeout(tc, 10.0);
	tcase_add_test(tc, test_queue_in_order_one_at_a_time);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_free_kills_running);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_test(tc, test_state_round_trip);
	tcase_add_loop_test(tc, test_state_corrupt, 0, sizeof corrupt_vec / sizeof corrupt_vec[0]);
	tcase_add_test(tc, test_state_bad_dir);
	tcase_add_test(tc, test_state_leader_marker);
	suite_add_tcase(s, tc);

	return s;
}
