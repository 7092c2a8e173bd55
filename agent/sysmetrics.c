/* sysmetrics.c — host metrics from /proc and statvfs().
 *
 * The parsers take a NUL-terminated copy of a file's text and never trust
 * it: numbers that overflow, missing fields or garbage give -1.  sysm_read()
 * is the only function that touches the file system; it reads
 * <proc_root>/{stat,meminfo,loadavg} into small stack buffers with
 * open()/read() and calls statvfs(disk_path).  struct sysm_reader borrows
 * proc_root and disk_path (the caller keeps them alive) and holds the
 * previous CPU sample so cpu_pct is a rate.  Every field that cannot be read
 * is -1; sysm_read() never fails. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "agent/sysmetrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STAT_BUF_LEN    4096   /* only the first line matters */
#define MEMINFO_BUF_LEN 8192
#define LOADAVG_BUF_LEN 256

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Decimal digits at *p into *v; *p moves past them.  -1 if there are no
 * digits or the value does not fit in 64 bits. */
static int parse_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*p = s;
	*v = x;
	return 0;
}

static int add_u64(uint64_t *sum, uint64_t v)
{
	if (*sum > UINT64_MAX - v)
		return -1;
	*sum += v;
	return 0;
}

/* The start of the line beginning with key, or NULL. */
static const char *find_line(const char *text, const char *key)
{
	size_t n = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, n) == 0)
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* "cpu  user nice system idle iowait irq softirq steal guest guest_nice".
 * guest and guest_nice are already counted in user and nice, so only the
 * first eight columns are used; kernels before 2.6 have only four. */
int sysm_parse_stat(const char *text, struct cpu_times *out)
{
	enum { USER, NICE, SYSTEM, IDLE, IOWAIT, IRQ, SOFTIRQ, STEAL, NCOLS };
	uint64_t col[NCOLS] = { 0 };
	uint64_t busy = 0, total;
	const char *p;
	int i, n = 0;

	if (!text)
		return -1;
	/* The aggregate line: "cpu" then a blank (not "cpu0"). */
	for (p = find_line(text, "cpu"); p && !is_blank(p[3]); ) {
		p = strchr(p, '\n');
		p = p ? find_line(p + 1, "cpu") : NULL;
	}
	if (!p)
		return -1;
	p += 3;
	for (i = 0; i < NCOLS; i++) {
		while (is_blank(*p))
			p++;
		if (*p == '\n' || *p == '\0')
			break;
		if (parse_u64(&p, &col[i]) < 0)
			return -1;
		if (*p != '\0' && *p != '\n' && !is_blank(*p))
			return -1;
		n++;
	}
	if (n < 4)
		return -1;

	if (add_u64(&busy, col[USER]) < 0 || add_u64(&busy, col[NICE]) < 0 ||
	    add_u64(&busy, col[SYSTEM]) < 0 || add_u64(&busy, col[IRQ]) < 0 ||
	    add_u64(&busy, col[SOFTIRQ]) < 0 || add_u64(&busy, col[STEAL]) < 0)
		return -1;
	total = busy;
	if (add_u64(&total, col[IDLE]) < 0 || add_u64(&total, col[IOWAIT]) < 0)
		return -1;
	out->busy = busy;
	out->total = total;
	return 0;
}

/* "Key:   123 kB" → 0 and *v, 1 if the key is absent, -1 if malformed. */
static int meminfo_field(const char *text, const char *key, uint64_t *v)
{
	const char *p = find_line(text, key);

	if (!p)
		return 1;
	p += strlen(key);
	while (is_blank(*p))
		p++;
	return parse_u64(&p, v);
}

int sysm_parse_meminfo(const char *text, double *mem_used_pct)
{
	uint64_t total, avail, free_kb, buffers = 0, cached = 0;
	double pct;
	int rc;

	if (!text)
		return -1;
	if (meminfo_field(text, "MemTotal:", &total) != 0 || total == 0)
		return -1;
	rc = meminfo_field(text, "MemAvailable:", &avail);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		/* Before Linux 3.14: estimate as free + buffers + page cache. */
		if (meminfo_field(text, "MemFree:", &free_kb) != 0 ||
		    meminfo_field(text, "Buffers:", &buffers) < 0 ||
		    meminfo_field(text, "Cached:", &cached) < 0)
			return -1;
		avail = free_kb;
		if (add_u64(&avail, buffers) < 0 || add_u64(&avail, cached) < 0)
			avail = UINT64_MAX;
	}
	if (avail >= total)
		pct = 0.0;
	else
		pct = 100.0 * (double)(total - avail) / (double)total;
	*mem_used_pct = pct > 100.0 ? 100.0 : pct;
	return 0;
}

/* "0.52 0.58 0.59 1/467 12345": the first field, parsed by hand so the
 * locale's decimal point does not matter. */
int sysm_parse_loadavg(const char *text, double *load1)
{
	const char *p = text;
	double v = 0.0, scale = 0.1;

	if (!p)
		return -1;
	while (is_blank(*p))
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10.0 + (*p - '0');
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			v += (*p - '0') * scale;
			scale /= 10.0;
		}
	}
	if (*p != '\0' && *p != '\n' && !is_blank(*p))
		return -1;
	if (!(v <= 1e12))               /* absurd, or inf */
		return -1;
	*load1 = v;
	return 0;
}

double sysm_cpu_pct(const struct cpu_times *prev, const struct cpu_times *cur)
{
	uint64_t dbusy, dtotal;
	double pct;

	if (cur->total < prev->total || cur->busy < prev->busy)
		return -1.0;
	dtotal = cur->total - prev->total;
	dbusy = cur->busy - prev->busy;
	if (dtotal == 0)
		return -1.0;
	pct = 100.0 * (double)dbusy / (double)dtotal;
	if (pct < 0.0)
		pct = 0.0;
	if (pct > 100.0)
		pct = 100.0;
	return pct;
}

void sysm_reader_init(struct sysm_reader *r, const char *proc_root, const char *disk_path)
{
	memset(r, 0, sizeof(*r));
	r->proc_root = proc_root ? proc_root : "/proc";
	r->disk_path = disk_path ? disk_path : "/";
}

/* <root>/<name> into buf (NUL-terminated, truncated to len - 1 bytes).
 * 0 or -1. */
static int read_text(const char *root, const char *name, char *buf, size_t len)
{
	char path[4096];
	size_t got = 0;
	int fd, n, rc = -1;

	if (!root || len == 0)
		return -1;
	n = snprintf(path, sizeof(path), "%s/%s", root, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (got < len - 1) {
		ssize_t r = read(fd, buf + got, len - 1 - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out_close;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	rc = 0;
out_close:
	close(fd);
	return rc;
}

/* Used share like df: used / (used + available to unprivileged users). */
static double disk_used_pct(const char *path)
{
	struct statvfs sv;
	double used, denom;

	if (!path || statvfs(path, &sv) < 0)
		return -1.0;
	if (sv.f_bfree > sv.f_blocks)
		return -1.0;
	used = (double)(sv.f_blocks - sv.f_bfree);
	denom = used + (double)sv.f_bavail;
	if (denom <= 0.0)
		return -1.0;
	return 100.0 * used / denom;
}

void sysm_read(struct sysm_reader *r, struct sysmetrics *out)
{
	char stat_buf[STAT_BUF_LEN];
	char mem_buf[MEMINFO_BUF_LEN];
	char load_buf[LOADAVG_BUF_LEN];
	struct cpu_times cur;

	out->cpu_pct = -1.0;
	out->mem_used_pct = -1.0;
	out->load1 = -1.0;
	out->disk_used_pct = -1.0;

	if (read_text(r->proc_root, "stat", stat_buf, sizeof(stat_buf)) == 0 &&
	    sysm_parse_stat(stat_buf, &cur) == 0) {
		if (r->have_prev)
			out->cpu_pct = sysm_cpu_pct(&r->prev, &cur);
		r->prev = cur;
		r->have_prev = 1;
	}
	if (read_text(r->proc_root, "meminfo", mem_buf, sizeof(mem_buf)) < 0 ||
	    sysm_parse_meminfo(mem_buf, &out->mem_used_pct) < 0)
		out->mem_used_pct = -1.0;
	if (read_text(r->proc_root, "loadavg", load_buf, sizeof(load_buf)) < 0 ||
	    sysm_parse_loadavg(load_buf, &out->load1) < 0)
		out->load1 = -1.0;
	out->disk_used_pct = disk_used_pct(r->disk_path);
}
