/* sysmetrics — host metrics from /proc and statvfs.
 * The parsers take the files' text so tests can feed them fixed vectors. */
#ifndef VIGIL_AGENT_SYSMETRICS_H
#define VIGIL_AGENT_SYSMETRICS_H

#include <stdint.h>

struct cpu_times {            /* the "cpu" line of /proc/stat, in jiffies */
	uint64_t busy;            /* user+nice+system+irq+softirq+steal */
	uint64_t total;           /* busy + idle + iowait */
};

struct sysmetrics {
	double cpu_pct;           /* 0..100, since the previous sample; -1 unknown */
	double mem_used_pct;      /* (MemTotal - MemAvailable) / MemTotal; -1 unknown */
	double load1;             /* -1 unknown */
	double disk_used_pct;     /* of the file system holding disk_path; -1 unknown */
};

/* 0 or -1 (malformed). */
int sysm_parse_stat(const char *text, struct cpu_times *out);
int sysm_parse_meminfo(const char *text, double *mem_used_pct);
int sysm_parse_loadavg(const char *text, double *load1);
/* cpu % between two samples, clamped to 0..100; -1 if no time passed. */
double sysm_cpu_pct(const struct cpu_times *prev, const struct cpu_times *cur);

struct sysm_reader {
	struct cpu_times prev;
	int have_prev;
	const char *proc_root;    /* "/proc" normally; tests point it elsewhere */
	const char *disk_path;    /* "/" normally */
};

void sysm_reader_init(struct sysm_reader *r, const char *proc_root, const char *disk_path);
/* Read everything; fields that could not be read are -1.  Never fails. */
void sysm_read(struct sysm_reader *r, struct sysmetrics *out);

#endif
