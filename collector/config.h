/* config — the collector's configuration file (--config vigil.conf).
 *
 * A line-based format, one setting per line (docs/configuration.md,
 * "Configuration file"):
 *
 *   # comment
 *   listen 127.0.0.1:7070               collector option, without the dashes
 *   db "/var/lib/vigil/my db.sqlite"    quoted values may hold spaces
 *   verbose                             a flag (or: verbose yes / verbose no)
 *   rule node_suspect for=30s severity=warning
 *   rule cpu_high metric=cpu op=> value=90 for=2m severity=warning
 *   rule errors_high metric=errors op=> value=5/s for=30s
 *       severity=critical              an indented line continues a rule or sink
 *   rule node_flapping off
 *   sink exec /usr/local/bin/page timeout=10s retries=5
 *   sink alertmanager http://127.0.0.1:9093 repeat=1m
 *
 * Options come back as (name, value, line) in file order; the caller
 * applies them through its own option parser (naming file:line when that
 * refuses a value).  Names are checked here against the caller's getopt
 * table (arity included); a name twice is an error.  Rules are checked with
 * alerts_rule_check; sinks here.  Every error is "FILE:LINE: reason".
 *
 * This is the I/O edge: config_parse_file reads the file, and sink exec
 * checks that its program is executable.
 */
#ifndef VIGIL_COLLECTOR_CONFIG_H
#define VIGIL_COLLECTOR_CONFIG_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/alerts.h"

#define CONFIG_FILE_MAX   (1024 * 1024)   /* bytes */
#define CONFIG_LINE_MAX   4096            /* bytes in one line, continuations included */
#define CONFIG_SINKS_MAX  16
#define CONFIG_TARGET_MAX 1024

struct config_opt {
	char name[64];                 /* "listen" */
	char *value;                   /* owned; "" for a flag without value; flags given a
					* boolean word read "yes" or "no" */
	int line;
};

enum sink_kind { SINK_EXEC = 1, SINK_ALERTMANAGER };
const char *config_sink_kind_name(enum sink_kind k);   /* "exec", "alertmanager" */

struct sink_spec {
	enum sink_kind kind;
	char target[CONFIG_TARGET_MAX];   /* exec: absolute program path; alertmanager: base URL,
					   * no trailing '/' (POST target + "/api/v2/alerts") */
	int64_t timeout_ms;            /* 10s: per attempt */
	int retries;                   /* 3: further attempts after a failure */
	int64_t repeat_ms;             /* re-send every firing alert this often, whatever the
					* rules' repeat: alertmanager 1m (it forgets alerts not
					* re-sent within its resolve_timeout, 5m), exec 0 = no */
	enum alert_severity min_severity;  /* info: send only alerts at least this severe */
	int line;
};

struct config {
	char path[1024];
	struct config_opt *opts;
	size_t nopts, optcap;
	struct alert_rule *rules;      /* only those the file names; alerts_new adds the built-ins */
	size_t nrules, rulecap;
	struct sink_spec *sinks;
	size_t nsinks, sinkcap;
};

void config_init(struct config *c);
void config_done(struct config *c);   /* frees; the struct may be init'ed again */

/* Parse a file into out (config_init'ed; its old contents are freed).
 * known: the caller's long options (getopt table, {NULL} terminated), or
 * NULL to accept any option name with at most one value.  The options
 * config, check-config, help and version are refused in a file.
 * 0, or -1 with "FILE:LINE: reason" (or "FILE: reason") in err; on error
 * out is left empty. */
int config_parse_file(const char *path, const struct option *known, struct config *out,
		      char *err, size_t errlen);
/* The same on text in memory; name stands for the file in messages. */
int config_parse_text(const char *name, const char *text, size_t len,
		      const struct option *known, struct config *out, char *err, size_t errlen);

/* The option of that name, or NULL. */
const struct config_opt *config_opt_find(const struct config *c, const char *name);

#endif
