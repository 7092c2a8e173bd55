/* state.c — the epoch file in the agent's state directory. */
#include "agent/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_EPOCH_MAX 9007199254740992LL      /* 2^53, the wire's limit */

static int path_of(char *buf, size_t len, const char *dir, const char *kind, const char *group,
		   const char *pre, const char *suf)
{
	int n = snprintf(buf, len, "%s/%s%s-%s%s", dir, pre, kind, group, suf);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int state_dir_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create it: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK)) {
		snprintf(err, errlen, "%s: not writable: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int load(const char *dir, const char *kind, const char *group, int64_t *epoch, char *err,
		size_t errlen)
{
	char path[4200], buf[64];
	ssize_t n;
	int64_t v = 0;
	size_t i;
	int fd;

	*epoch = 0;
	if (path_of(path, sizeof path, dir, kind, group, "", "")) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;               /* a first start */
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	for (i = 0; i < (size_t)n && buf[i] >= '0' && buf[i] <= '9' && i < 16; i++)
		v = v * 10 + (buf[i] - '0');
	if (i == 0 || !((i == (size_t)n) || (i + 1 == (size_t)n && buf[i] == '\n')) ||
	    v > STATE_EPOCH_MAX) {
		snprintf(err, errlen, "%s: corrupt (not an epoch number); refusing to forget the "
			 "epoch: fix or remove the file", path);
		return -1;
	}
	*epoch = v;
	return 1;
}

static int fsync_dir(const char *dir, char *err, size_t errlen)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0 || fsync(dfd)) {
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

static int save(const char *dir, const char *kind, const char *group, int64_t epoch, char *err,
		size_t errlen)
{
	char path[4200], tmp[4200], buf[32];
	int fd, n, rc = -1;

	if (epoch < 0 || epoch > STATE_EPOCH_MAX) {
		snprintf(err, errlen, "epoch %" PRId64 " out of range", epoch);
		return -1;
	}
	if (path_of(path, sizeof path, dir, kind, group, "", "") ||
	    path_of(tmp, sizeof tmp, dir, kind, group, ".", ".tmp")) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	n = snprintf(buf, sizeof buf, "%" PRId64 "\n", epoch);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "%s: write: %s", tmp, errno ? strerror(errno) : "short write");
		goto out_unlink;
	}
	if (fsync(fd)) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	if (close(fd)) {
		fd = -1;
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path)) {
		snprintf(err, errlen, "%s: rename: %s", path, strerror(errno));
		goto out_unlink;
	}
	/* The rename itself must survive a crash too. */
	return fsync_dir(dir, err, errlen);

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int state_epoch_load(const char *dir, const char *group, int64_t *epoch, char *err, size_t errlen)
{
	return load(dir, "epoch", group, epoch, err, errlen) < 0 ? -1 : 0;
}

int state_epoch_save(const char *dir, const char *group, int64_t epoch, char *err, size_t errlen)
{
	return save(dir, "epoch", group, epoch, err, errlen);
}

int state_leader_load(const char *dir, const char *group, int64_t *epoch, char *err, size_t errlen)
{
	return load(dir, "leader", group, epoch, err, errlen);
}

int state_leader_save(const char *dir, const char *group, int64_t epoch, char *err, size_t errlen)
{
	return save(dir, "leader", group, epoch, err, errlen);
}

int state_leader_clear(const char *dir, const char *group, char *err, size_t errlen)
{
	char path[4200];

	if (path_of(path, sizeof path, dir, "leader", group, "", "")) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (unlink(path)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return fsync_dir(dir, err, errlen);
}
