/* delivery — see delivery.h.  The I/O edge of alerting: processes, sockets,
 * threads.  Each worker owns its sink's state; the event loop only appends
 * to the queues and reads the counters. */
#include "collector/delivery.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector/sinks.h"
#include "proto/util.h"
#include "store/store.h"

extern char **environ;

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS   30000
#define SLICE_MS         50            /* how often a wait looks at the stop flag */
#define BODY_FIRST       (64 * 1024)
#define BODY_MAX         (16 * 1024 * 1024)

struct item {
	struct item *next;
	struct alert_action act;
};

struct worker {
	struct delivery *d;
	struct sink_spec spec;
	/* alertmanager: parsed target */
	char host[256], port[8], path[768], hosthdr[300];

	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct item *head, *tail;
	size_t depth;
	atomic_bool stop;

	/* worker-thread only: alertmanager alerts sent and not yet resolved */
	struct alert *firing;
	size_t nfiring, firingcap;
	int64_t next_repeat_ms;
	unsigned seed;

	atomic_uint_fast64_t ok, retried, failed, dropped;
	atomic_size_t queued;
};

struct delivery {
	struct worker *w;
	size_t n;
	struct store *st;
};

/* ---- checks and parsing ------------------------------------------------ */

static int parse_http_url(const char *url, char *host, size_t hostlen, char *port, size_t portlen,
			  char *path, size_t pathlen, char *err, size_t errlen)
{
	const char *h, *slash, *colon, *hend;
	size_t hl;

	if (!strncmp(url, "https://", 8)) {
		snprintf(err, errlen, "'%s': https:// is not supported (the collector posts plain "
			 "http://; put a TLS proxy in front of Alertmanager)", url);
		return -1;
	}
	if (strncmp(url, "http://", 7)) {
		snprintf(err, errlen, "'%s': want http://HOST[:PORT][/PATH]", url);
		return -1;
	}
	h = url + 7;
	slash = strchr(h, '/');
	hend = slash ? slash : h + strlen(h);
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(hend - h));

		if (!rb) {
			snprintf(err, errlen, "'%s': unclosed [ in the host", url);
			return -1;
		}
		hl = (size_t)(rb - h - 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(hend - h));
		hl = (size_t)((colon ? colon : hend) - h);
	}
	if (hl == 0 || hl >= hostlen) {
		snprintf(err, errlen, "'%s': bad host", url);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon) {
		long long p;
		char pb[16];
		size_t pl = (size_t)(hend - colon - 1);

		if (pl == 0 || pl >= sizeof pb) {
			snprintf(err, errlen, "'%s': bad port", url);
			return -1;
		}
		memcpy(pb, colon + 1, pl);
		pb[pl] = '\0';
		if (util_parse_int(pb, 1, 65535, &p)) {
			snprintf(err, errlen, "'%s': bad port", url);
			return -1;
		}
		snprintf(port, portlen, "%lld", p);
	} else {
		snprintf(port, portlen, "80");
	}
	snprintf(path, pathlen, "%s", slash ? slash : "");
	while (*path && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	return 0;
}

int delivery_sink_check(const struct sink_spec *s, char *err, size_t errlen)
{
	char host[256], port[8], path[768];

	if (s->kind == SINK_EXEC) {
		if (s->target[0] != '/') {
			snprintf(err, errlen, "'%s' must be an absolute path", s->target);
			return -1;
		}
		if (access(s->target, X_OK)) {
			snprintf(err, errlen, "'%s' is not executable: %s", s->target, strerror(errno));
			return -1;
		}
		return 0;
	}
	return parse_http_url(s->target, host, sizeof host, port, sizeof port, path, sizeof path,
			      err, errlen);
}

/* ---- waiting ----------------------------------------------------------- */

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Sleep ms, or less if the worker is told to stop.  false when stopping. */
static bool nap(struct worker *w, int64_t ms)
{
	int64_t until = util_mono_ms() + ms;

	while (!atomic_load(&w->stop)) {
		int64_t left = until - util_mono_ms();

		if (left <= 0)
			return true;
		sleep_ms(left < SLICE_MS ? left : SLICE_MS);
	}
	return false;
}

static int64_t backoff_ms(struct worker *w, int attempt)
{
	int64_t b = BACKOFF_FIRST_MS;

	for (int i = 0; i < attempt && b < BACKOFF_MAX_MS; i++)
		b *= 2;
	if (b > BACKOFF_MAX_MS)
		b = BACKOFF_MAX_MS;
	/* +-25 % so that sinks retried together do not stay in step */
	return b * 3 / 4 + (int64_t)(rand_r(&w->seed) % (unsigned)(b / 2 + 1));
}

/* ---- exec -------------------------------------------------------------- */

/* Run the program once with doc on its stdin.  0 on exit 0; -1 with why. */
static int exec_once(struct worker *w, const char *key, const char *doc, size_t len,
		     char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	char *argv[2] = { w->spec.target, NULL };
	char keyenv[80], **envp = NULL;
	size_t nenv = 0, off = 0;
	int fds[2] = { -1, -1 }, status = 0, rc = -1;
	int64_t deadline = util_mono_ms() + w->spec.timeout_ms;
	pid_t pid = -1;

	while (environ[nenv])
		nenv++;
	envp = calloc(nenv + 2, sizeof *envp);
	if (!envp || pipe2(fds, O_CLOEXEC)) {
		snprintf(why, whylen, "cannot start it: %s", strerror(errno));
		free(envp);
		return -1;
	}
	for (size_t i = 0, j = 0; i < nenv; i++)
		if (strncmp(environ[i], "VIGIL_ALERT_KEY=", 16))
			envp[j++] = environ[i];
	snprintf(keyenv, sizeof keyenv, "VIGIL_ALERT_KEY=%s", key);
	for (size_t j = 0;; j++)
		if (!envp[j]) {
			envp[j] = keyenv;
			break;
		}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	errno = posix_spawn(&pid, w->spec.target, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	close(fds[0]);
	if (errno) {
		snprintf(why, whylen, "cannot run it: %s", strerror(errno));
		close(fds[1]);
		return -1;
	}
	/* Feed stdin without blocking past the deadline. */
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	while (off < len + 1 && !atomic_load(&w->stop)) {
		struct pollfd p = { .fd = fds[1], .events = POLLOUT };
		int64_t left = deadline - util_mono_ms();
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&p, 1, left < SLICE_MS ? (int)left : SLICE_MS) <= 0)
			continue;
		n = off < len ? write(fds[1], doc + off, len - off) : write(fds[1], "\n", 1);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;                     /* it closed its stdin: fine, judge by exit */
		if (n > 0)
			off += (size_t)n;
	}
	close(fds[1]);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return -1;
		}
		if (atomic_load(&w->stop) || util_mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, whylen, atomic_load(&w->stop) ? "killed: the collector is "
				 "stopping or reloading" : "timed out after %lld ms: killed",
				 (long long)w->spec.timeout_ms);
			return -1;
		}
		sleep_ms(10);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status))
		snprintf(why, whylen, "exited %d", WEXITSTATUS(status));
	else
		snprintf(why, whylen, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	/* A program that left children behind in its group: they go too. */
	kill(-pid, SIGKILL);
	return rc;
}

/* ---- alertmanager ------------------------------------------------------ */

static int wait_fd(struct worker *w, int fd, short ev, int64_t deadline)
{
	while (!atomic_load(&w->stop)) {
		struct pollfd p = { .fd = fd, .events = ev };
		int64_t left = deadline - util_mono_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left < SLICE_MS ? (int)left : SLICE_MS);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	return -ECANCELED;
}

/* POST body once.  0 on 2xx; -1 (retry) or -2 (permanent) with why. */
static int http_post_once(struct worker *w, const char *body, size_t blen, char *why,
			  size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int64_t deadline = util_mono_ms() + w->spec.timeout_ms;
	char head[1400], resp[512];
	size_t hlen, off = 0, rlen = 0;
	int fd = -1, rc = -1, e, status;
	socklen_t sl = sizeof e;

	e = getaddrinfo(w->host, w->port, &hints, &res);
	if (e || !res) {
		snprintf(why, whylen, "cannot resolve %s: %s", w->host, gai_strerror(e));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) && errno != EINPROGRESS) {
		snprintf(why, whylen, "connect: %s", strerror(errno));
		goto out;
	}
	if ((e = wait_fd(w, fd, POLLOUT, deadline)) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) || e) {
		snprintf(why, whylen, "connect: %s", e == -ETIMEDOUT ? "timed out" : strerror(e < 0 ? -e : e));
		goto out;
	}
	hlen = (size_t)snprintf(head, sizeof head,
				"POST %s/api/v2/alerts HTTP/1.1\r\nHost: %s\r\n"
				"User-Agent: vigil-collector/%s\r\nContent-Type: application/json\r\n"
				"Content-Length: %zu\r\nConnection: close\r\n\r\n",
				w->path, w->hosthdr, VIGIL_VERSION, blen);
	while (off < hlen + blen) {
		const char *p = off < hlen ? head + off : body + (off - hlen);
		size_t n = off < hlen ? hlen - off : blen - (off - hlen);
		ssize_t k;

		if ((e = wait_fd(w, fd, POLLOUT, deadline))) {
			snprintf(why, whylen, "send: %s", e == -ETIMEDOUT ? "timed out" : strerror(-e));
			goto out;
		}
		k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, whylen, "send: %s", strerror(errno));
			goto out;
		}
		if (k > 0)
			off += (size_t)k;
	}
	/* The status line is all we need. */
	while (rlen < sizeof resp - 1 && !memchr(resp, '\n', rlen)) {
		ssize_t k;

		if ((e = wait_fd(w, fd, POLLIN, deadline))) {
			snprintf(why, whylen, "no answer: %s", e == -ETIMEDOUT ? "timed out" : strerror(-e));
			goto out;
		}
		k = recv(fd, resp + rlen, sizeof resp - 1 - rlen, 0);
		if (k == 0)
			break;
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, whylen, "recv: %s", strerror(errno));
			goto out;
		}
		if (k > 0)
			rlen += (size_t)k;
	}
	resp[rlen] = '\0';
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) {
		snprintf(why, whylen, "not an HTTP answer");
		goto out;
	}
	if (status >= 200 && status < 300) {
		rc = 0;
	} else {
		char *eol = strpbrk(resp, "\r\n");

		if (eol)
			*eol = '\0';
		snprintf(why, whylen, "answered '%.200s'", resp);
		rc = status >= 400 && status < 500 && status != 408 && status != 429 ? -2 : -1;
	}
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

/* ---- the worker --------------------------------------------------------- */

static const char *kind_name(const struct worker *w)
{
	return config_sink_kind_name(w->spec.kind);
}

static void record_failure(struct worker *w, const char *key, const struct alert *a,
			   const char *why, int attempts)
{
	struct store_event e;

	util_log("error", "alert sink %s %s: gave up on %s (%s) after %d attempt%s: %s",
		 kind_name(w), w->spec.target, key, a ? a->fingerprint : "repeat", attempts,
		 attempts == 1 ? "" : "s", why);
	if (!w->d->st)
		return;
	store_event_init(&e);
	e.ts_ms = util_wall_ms();
	if (a) {
		util_strlcpy(e.node, a->node, sizeof e.node);
		util_strlcpy(e.group, a->group, sizeof e.group);
	}
	util_strlcpy(e.kind, "alert", sizeof e.kind);
	util_strlcpy(e.rule, "delivery_failed", sizeof e.rule);
	snprintf(e.detail, sizeof e.detail, "sink %s %.300s: %s%s%.300s: gave up after %d attempts: %.300s",
		 kind_name(w), w->spec.target, key, a ? " " : "", a ? a->fingerprint : "", attempts,
		 why);
	store_add_event(w->d->st, &e);
}

/* One notification, with retries.  What is sent: the exec document, or an
 * Alertmanager body. */
static void deliver(struct worker *w, const char *key, const struct alert *a, const char *text,
		    size_t len)
{
	char why[300] = "";
	int attempt = 0, rc;

	for (;;) {
		if (atomic_load(&w->stop)) {
			atomic_fetch_add(&w->dropped, 1);
			return;
		}
		rc = w->spec.kind == SINK_EXEC ? exec_once(w, key, text, len, why, sizeof why) :
		     http_post_once(w, text, len, why, sizeof why);
		attempt++;
		if (rc == 0) {
			atomic_fetch_add(&w->ok, 1);
			if (attempt > 1)
				util_log("info", "alert sink %s %s: %s delivered at attempt %d", kind_name(w),
					 w->spec.target, key, attempt);
			return;
		}
		if (atomic_load(&w->stop)) {
			atomic_fetch_add(&w->dropped, 1);
			return;
		}
		if (rc == -2 || attempt > w->spec.retries) {
			atomic_fetch_add(&w->failed, 1);
			record_failure(w, key, a, why, attempt);
			return;
		}
		atomic_fetch_add(&w->retried, 1);
		util_log("warn", "alert sink %s %s: %s attempt %d failed (%s); retrying", kind_name(w),
			 w->spec.target, key, attempt, why);
		if (!nap(w, backoff_ms(w, attempt - 1))) {
			atomic_fetch_add(&w->dropped, 1);
			return;
		}
	}
}

static char *am_body(const struct alert *const *v, size_t n, int *len)
{
	size_t cap = BODY_FIRST;

	for (;;) {
		char *b = malloc(cap);

		if (!b)
			return NULL;
		*len = sinks_alertmanager_body(v, n, NULL, b, cap);
		if (*len >= 0)
			return b;
		free(b);
		if (cap >= BODY_MAX)
			return NULL;
		cap *= 2;
	}
}

static void am_send(struct worker *w, const char *key, const struct alert *const *v, size_t n)
{
	int len;
	char *b = am_body(v, n, &len);

	if (!b) {
		record_failure(w, key, n == 1 ? v[0] : NULL, "the body does not fit in 16 MiB", 0);
		atomic_fetch_add(&w->failed, 1);
		return;
	}
	deliver(w, key, n == 1 ? v[0] : NULL, b, (size_t)len);
	free(b);
}

static ssize_t am_find(struct worker *w, uint64_t id)
{
	for (size_t i = 0; i < w->nfiring; i++)
		if (w->firing[i].id == id)
			return (ssize_t)i;
	return -1;
}

static void am_forget(struct worker *w, uint64_t id)
{
	ssize_t i = am_find(w, id);

	if (i >= 0)
		w->firing[i] = w->firing[--w->nfiring];
}

static void am_remember(struct worker *w, const struct alert *a)
{
	ssize_t i = am_find(w, a->id);

	if (i >= 0) {
		w->firing[i] = *a;
		return;
	}
	if (w->nfiring == w->firingcap) {
		struct alert *nv = util_grow(w->firing, &w->firingcap, w->nfiring, sizeof *nv, 16);

		if (!nv)
			return;
		w->firing = nv;
	}
	w->firing[w->nfiring++] = *a;
	if (!w->next_repeat_ms && w->spec.repeat_ms > 0)
		w->next_repeat_ms = util_mono_ms() + w->spec.repeat_ms;
}

static void am_repeat(struct worker *w)
{
	const struct alert **v;
	char key[48];

	w->next_repeat_ms = w->nfiring ? util_mono_ms() + w->spec.repeat_ms : 0;
	if (!w->nfiring)
		return;
	v = malloc(w->nfiring * sizeof *v);
	if (!v)
		return;
	for (size_t i = 0; i < w->nfiring; i++)
		v[i] = &w->firing[i];
	snprintf(key, sizeof key, "repeat-%zu-alerts", w->nfiring);
	am_send(w, key, v, w->nfiring);
	free(v);
}

static void handle(struct worker *w, const struct alert_action *act)
{
	const struct alert *a = &act->alert;
	bool wants = sinks_wants(&w->spec, act);

	if (w->spec.kind == SINK_EXEC) {
		char *doc;
		int n;

		if (!wants)
			return;
		doc = malloc(16384);
		if (!doc)
			return;
		n = sinks_exec_json(act, doc, 16384);
		if (n > 0)
			deliver(w, act->key, a, doc, (size_t)n);
		free(doc);
		return;
	}
	switch (act->kind) {
	case AL_FIRE:
	case AL_REPEAT:
		if (!wants)
			break;
		am_remember(w, a);
		am_send(w, act->key, &a, 1);
		break;
	case AL_RESOLVE:
		if (wants || am_find(w, a->id) >= 0)
			am_send(w, act->key, &a, 1);
		am_forget(w, a->id);
		break;
	case AL_INHIBITED:
	case AL_SILENCED:
		am_forget(w, a->id);           /* Alertmanager lets it lapse */
		break;
	case AL_ACK:
		if (am_find(w, a->id) >= 0)
			am_remember(w, a);          /* the next repeat carries acked_by */
		break;
	case AL_SILENCE_END:
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	sigset_t all;

	/* Signals are the event loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&w->lock);
	while (!atomic_load(&w->stop)) {
		struct item *it = w->head;

		if (!it) {
			bool repeat_due = w->next_repeat_ms && util_mono_ms() >= w->next_repeat_ms;

			if (!repeat_due) {
				struct timespec ts;
				int64_t wait = w->next_repeat_ms ? w->next_repeat_ms - util_mono_ms() :
					       3600000;

				clock_gettime(CLOCK_REALTIME, &ts);
				wait = wait < 1 ? 1 : wait;
				ts.tv_sec += wait / 1000;
				ts.tv_nsec += (long)(wait % 1000) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&w->wake, &w->lock, &ts);
				continue;
			}
			pthread_mutex_unlock(&w->lock);
			am_repeat(w);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		w->head = it->next;
		if (!w->head)
			w->tail = NULL;
		w->depth--;
		atomic_store(&w->queued, w->depth);
		pthread_mutex_unlock(&w->lock);
		handle(w, &it->act);
		free(it);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- public ------------------------------------------------------------ */

struct delivery *delivery_new(const struct sink_spec *sinks, size_t n, struct store *st,
			      char *err, size_t errlen)
{
	struct delivery *d = calloc(1, sizeof *d);
	char why[400];

	if (!d || (n && !(d->w = calloc(n, sizeof *d->w)))) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->st = st;
	for (size_t i = 0; i < n; i++) {
		struct worker *w = &d->w[i];

		w->d = d;
		w->spec = sinks[i];
		w->seed = (unsigned)util_mono_ms() ^ (unsigned)(i * 2654435761u);
		if (delivery_sink_check(&w->spec, why, sizeof why)) {
			snprintf(err, errlen, "sink %s: %s", kind_name(w), why);
			goto fail;
		}
		if (w->spec.kind == SINK_ALERTMANAGER) {
			parse_http_url(w->spec.target, w->host, sizeof w->host, w->port, sizeof w->port,
				       w->path, sizeof w->path, why, sizeof why);
			snprintf(w->hosthdr, sizeof w->hosthdr, strchr(w->host, ':') ? "[%s]:%s" : "%s:%s",
				 w->host, w->port);
		}
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->wake, NULL);
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			snprintf(err, errlen, "cannot start a thread for sink %s", kind_name(w));
			pthread_cond_destroy(&w->wake);
			pthread_mutex_destroy(&w->lock);
			goto fail;
		}
		w->started = true;
		d->n = i + 1;
	}
	d->n = n;
	return d;
fail:
	delivery_free(d);
	return NULL;
}

void delivery_free(struct delivery *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		struct worker *w = &d->w[i];

		if (!w->started)
			continue;
		pthread_mutex_lock(&w->lock);
		atomic_store(&w->stop, true);
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
	}
	for (size_t i = 0; i < d->n; i++) {
		struct worker *w = &d->w[i];

		if (!w->started)
			continue;
		pthread_join(w->thread, NULL);
		while (w->head) {
			struct item *it = w->head;

			w->head = it->next;
			free(it);
		}
		free(w->firing);
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
	}
	free(d->w);
	free(d);
}

void delivery_submit(struct delivery *d, const struct alert_action *act)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		struct worker *w = &d->w[i];
		struct item *it;

		/* exec hears only notifications; Alertmanager also keeps track */
		if (w->spec.kind == SINK_EXEC && !sinks_wants(&w->spec, act))
			continue;
		if (w->spec.kind == SINK_ALERTMANAGER && act->kind == AL_SILENCE_END)
			continue;
		pthread_mutex_lock(&w->lock);
		if (w->depth >= DELIVERY_QUEUE_MAX) {
			pthread_mutex_unlock(&w->lock);
			atomic_fetch_add(&w->dropped, 1);
			util_log("error", "alert sink %s %s: %d notifications queued: dropped %s",
				 kind_name(w), w->spec.target, DELIVERY_QUEUE_MAX, act->key);
			continue;
		}
		it = malloc(sizeof *it);
		if (!it) {
			pthread_mutex_unlock(&w->lock);
			atomic_fetch_add(&w->dropped, 1);
			continue;
		}
		it->next = NULL;
		it->act = *act;
		if (w->tail)
			w->tail->next = it;
		else
			w->head = it;
		w->tail = it;
		w->depth++;
		atomic_store(&w->queued, w->depth);
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
	}
}

size_t delivery_count(const struct delivery *d)
{
	return d ? d->n : 0;
}

void delivery_stats(struct delivery *d, size_t i, struct delivery_sink_stats *out)
{
	struct worker *w = &d->w[i];

	memset(out, 0, sizeof *out);
	out->kind = w->spec.kind;
	util_strlcpy(out->target, w->spec.target, sizeof out->target);
	out->ok = atomic_load(&w->ok);
	out->retried = atomic_load(&w->retried);
	out->failed = atomic_load(&w->failed);
	out->dropped = atomic_load(&w->dropped);
	out->queued = atomic_load(&w->queued);
}
