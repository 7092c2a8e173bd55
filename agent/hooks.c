/* hooks.c — run the leadership hooks in one worker thread, in order.
 *
 * Ownership: struct hooks owns a copy of the config, a ring of jobs (queued,
 * then running, then finished) and the thread.  The mutex guards the ring
 * and the stop flag; the worker runs a hook unlocked.  Stopping writes a
 * byte into a pipe the running hook polls (proc's cancel_fd), so hooks_free()
 * never waits longer than it takes to kill a process group. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE    /* pipe2 */
#endif

#include "agent/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/proc.h"
#include "proto/util.h"

#define HOOKS_THREAD_STACK (256 * 1024)

const char *hook_role_after(enum lease_hook kind)
{
	switch (kind) {
	case LEASE_HOOK_PROMOTE: return "leader";
	case LEASE_HOOK_DEMOTE:  return "follower";
	case LEASE_HOOK_FENCE:   return "fenced";
	}
	return "follower";
}

/* Append a line saying what happened, cutting the output back (on a
 * character boundary) if it does not fit. */
static void add_note(char *out, size_t cap, const char *note)
{
	size_t len = strlen(out), nlen = strlen(note);

	if (nlen + 1 >= cap)
		return;
	if (len + nlen + 1 >= cap) {
		len = cap - nlen - 2;
		while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80)
			len--;                  /* do not split a character */
	}
	if (len > 0 && out[len - 1] != '\n')
		out[len++] = '\n';
	memcpy(out + len, note, nlen + 1);
}

void hook_run(const struct hooks_config *cfg, const struct hook_job *job, int cancel_fd,
	      struct hook_result *res)
{
	const char *cmd = (job->kind >= LEASE_HOOK_PROMOTE && job->kind <= LEASE_HOOK_FENCE)
			  ? cfg->cmd[job->kind] : "";
	char e_hook[32], e_group[96], e_node[96], e_epoch[48], e_role[32], e_old[96],
	     e_reason[PROTO_TEXT_MAX + 32], e_cmd[48], note[256];
	const char *env[] = { e_hook, e_group, e_node, e_epoch, e_role, e_old, e_reason, e_cmd,
			      NULL };
	struct proc_spec ps = {
		.cmd = cmd,
		.env = env,
		.timeout_ms = cfg->timeout_ms,
		.term_grace_ms = cfg->term_grace_ms,
		.reap_group = false,
		.cancel_fd = cancel_fd,
	};
	char buf[PROTO_HOOK_OUTPUT_MAX];
	struct proc_result r;

	memset(res, 0, sizeof *res);
	res->job = *job;
	if (!cmd[0]) {
		util_strlcpy(res->output, HOOK_NOT_CONFIGURED, sizeof res->output);
		return;
	}
	res->configured = true;
	snprintf(e_hook, sizeof e_hook, "VIGIL_HOOK=%s", lease_hook_name(job->kind));
	snprintf(e_group, sizeof e_group, "VIGIL_GROUP=%s", cfg->group);
	snprintf(e_node, sizeof e_node, "VIGIL_NODE=%s", cfg->node);
	snprintf(e_epoch, sizeof e_epoch, "VIGIL_EPOCH=%" PRId64, job->epoch);
	snprintf(e_role, sizeof e_role, "VIGIL_ROLE=%s", hook_role_after(job->kind));
	snprintf(e_old, sizeof e_old, "VIGIL_OLD_LEADER=%s", job->old_leader);
	snprintf(e_reason, sizeof e_reason, "VIGIL_REASON=%s", job->reason);
	snprintf(e_cmd, sizeof e_cmd, "VIGIL_CMD_ID=%" PRIu64, job->cmd_id);

	proc_run(&ps, buf, sizeof buf, &r);
	res->duration_ms = r.duration_ms;
	proc_text_sanitize(res->output, sizeof res->output, buf, r.got, PROC_TEXT_LINES);
	note[0] = '\0';
	switch (r.end) {
	case PROC_EXITED:
		res->rc = r.code;
		break;
	case PROC_SIGNALED:
		res->rc = 128 + r.code;
		snprintf(note, sizeof note, "[vigil: the hook was killed by signal %d]", r.code);
		break;
	case PROC_TIMEOUT:
		res->rc = -1;
		snprintf(note, sizeof note, "[vigil: killed at its time limit of %d ms]",
			 cfg->timeout_ms);
		break;
	case PROC_CANCELLED:
		res->rc = -1;
		snprintf(note, sizeof note, "[vigil: killed because the agent stopped]");
		break;
	case PROC_NOT_STARTED:
	case PROC_LOST:
		res->rc = -2;
		snprintf(note, sizeof note, "[vigil: %s]", r.err);
		break;
	}
	if (note[0])
		add_note(res->output, sizeof res->output, note);
}

/* ---- the worker --------------------------------------------------------- */

struct hooks {
	struct hooks_config cfg;
	void (*wake)(void *arg);
	void *wake_arg;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop;
	int cancel[2];                  /* [1] written by hooks_free() */

	/* ring[head .. head+n): the first ndone are finished (results), the
	 * next one is running if running, the rest are queued. */
	struct hook_result ring[HOOKS_QUEUE_MAX];
	size_t head, n, ndone;
	bool running;
};

static struct hook_result *slot(struct hooks *h, size_t i)
{
	return &h->ring[(h->head + i) % HOOKS_QUEUE_MAX];
}

static void *worker(void *arg)
{
	struct hooks *h = arg;
	struct hook_result res;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct hook_job job;

		while (!h->stop && h->ndone == h->n)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		job = slot(h, h->ndone)->job;
		h->running = true;
		pthread_mutex_unlock(&h->mu);

		hook_run(&h->cfg, &job, h->cancel[0], &res);

		pthread_mutex_lock(&h->mu);
		h->running = false;
		if (h->stop)
			break;
		*slot(h, h->ndone) = res;
		h->ndone++;
		pthread_mutex_unlock(&h->mu);
		if (h->wake)
			h->wake(h->wake_arg);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct hooks *hooks_new(const struct hooks_config *cfg, void (*wake)(void *arg), void *arg)
{
	struct hooks *h = calloc(1, sizeof *h);
	pthread_attr_t attr;
	int e;

	if (!h)
		return NULL;
	h->cfg = *cfg;
	h->wake = wake;
	h->wake_arg = arg;
	h->cancel[0] = h->cancel[1] = -1;
	if (pipe2(h->cancel, O_CLOEXEC))
		goto out_free;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_attr_init(&attr))
		goto out_sync;
	pthread_attr_setstacksize(&attr, HOOKS_THREAD_STACK);
	e = pthread_create(&h->thread, &attr, worker, h);
	pthread_attr_destroy(&attr);
	if (e)
		goto out_sync;
	h->started = true;
	return h;

out_sync:
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	close(h->cancel[0]);
	close(h->cancel[1]);
out_free:
	free(h);
	return NULL;
}

int hooks_submit(struct hooks *h, const struct hook_job *job)
{
	int rc = 0;

	pthread_mutex_lock(&h->mu);
	if (h->n == HOOKS_QUEUE_MAX) {
		rc = -ENOSPC;
	} else {
		struct hook_result *s = slot(h, h->n++);

		memset(s, 0, sizeof *s);
		s->job = *job;
		pthread_cond_signal(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

bool hooks_take(struct hooks *h, struct hook_result *out)
{
	bool got = false;

	pthread_mutex_lock(&h->mu);
	if (h->ndone) {
		*out = *slot(h, 0);
		h->head = (h->head + 1) % HOOKS_QUEUE_MAX;
		h->n--;
		h->ndone--;
		got = true;
	}
	pthread_mutex_unlock(&h->mu);
	return got;
}

bool hooks_is_idle(struct hooks *h)
{
	bool idle;

	pthread_mutex_lock(&h->mu);
	idle = h->ndone == h->n && !h->running;
	pthread_mutex_unlock(&h->mu);
	return idle;
}

void hooks_free(struct hooks *h)
{
	ssize_t w;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	w = write(h->cancel[1], "x", 1);
	(void)w;
	if (h->started)
		pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	close(h->cancel[0]);
	close(h->cancel[1]);
	free(h);
}
