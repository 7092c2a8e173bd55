/* vigil-agent — parse the options, then run the agent loop. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "proto/names.h"
#include "proto/util.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vigil-agent [OPTIONS]\n"
"\n"
"Streams heartbeats and host metrics (cpu, memory, load, disk) from this node\n"
"to a vigil collector over WebSocket, and reconnects forever if it goes away.\n"
"\n"
"  --collector URL[,URL...]   collector address(es), ws://HOST:PORT or\n"
"                             wss://HOST:PORT (default ws://127.0.0.1:7070);\n"
"                             repeat or separate with commas to give fallbacks,\n"
"                             tried in order\n"
"  --node NAME                this node's name, [A-Za-z0-9._-]{1,64}\n"
"                             (default: the host name)\n"
"  --group NAME               the group (replicated service) it belongs to\n"
"                             (default: default)\n"
"  --priority N               0..1000000, higher is preferred (default 100)\n"
"  --interval-ms N            heartbeat interval, 50..60000 (default 500)\n"
"  --token-file FILE          file holding the cluster's agent token\n"
"  --outbox N                 events kept while the collector is unreachable,\n"
"                             1..100000; the oldest are dropped (default 256)\n"
"  --disk-path PATH           file system whose use is reported (default /)\n"
"  --backoff-cap-ms N         longest wait between reconnects, 100..600000\n"
"                             (default 10000; the first waits start at 100 ms,\n"
"                             doubling, with full jitter)\n"
"  --check NAME=KIND:TARGET   a health check, repeatable (at most 32):\n"
"                               NAME=exec:COMMAND   (run by /bin/sh -c; exit 0\n"
"                                                    passing, 1 warning, else critical)\n"
"                               NAME=tcp:HOST:PORT  (connects)\n"
"                               NAME=http:URL       (http:// GET: 2xx passing,\n"
"                                                    429 warning, else critical)\n"
"  --check-interval D         how often the check before it runs (default 5s;\n"
"                             given before any --check: the default for all)\n"
"  --check-timeout D          its time limit (default 2s)\n"
"  --check-fail N             failures in a row before critical (default 2)\n"
"  --check-pass N             successes in a row before passing (default 2)\n"
"  --statsd HOST:PORT         UDP address where applications push StatsD lines\n"
"                             (default 127.0.0.1:8125; 'off' to disable): errors:1|c,\n"
"                             latency_ms:12|ms, breaker_open:1|g\n"
"\n"
"Leadership (the collector decides; the agent carries it out with hooks):\n"
"  --on-promote CMD           run when this node becomes its group's leader\n"
"  --on-demote CMD            run when it stops being leader (also on its own,\n"
"                             when its lease ran out or the agent stops)\n"
"  --on-fence CMD             run when the collector fences it off\n"
"                             (hooks: /bin/sh -c CMD, one at a time, with\n"
"                             VIGIL_HOOK, VIGIL_GROUP, VIGIL_NODE, VIGIL_EPOCH,\n"
"                             VIGIL_ROLE (after it: leader, follower, fenced),\n"
"                             VIGIL_OLD_LEADER, VIGIL_REASON, VIGIL_CMD_ID; exit\n"
"                             0 = success; a failed promote aborts that failover)\n"
"  --hook-timeout D           a hook's time limit, then SIGTERM and SIGKILL 2 s\n"
"                             later to its process group (default 30s)\n"
"  --state-dir DIR            where the newest epoch seen is kept across\n"
"                             restarts (file DIR/epoch-GROUP); default: none,\n"
"                             kept in memory only\n"
"  --initial-role ROLE        follower (default) or leader: claim leadership at\n"
"                             start; the collector adopts it if nothing conflicts\n"
"  --no-failover              never make this node leader\n"
"\n"
"  --insecure                 wss: accept a self-signed collector certificate\n"
"  --verbose                  log every reconnect attempt\n"
"  -h, --help                 this text\n"
"  -V, --version              print the version\n"
"\n"
"SIGTERM or SIGINT: a leader runs its demote hook first; then says bye (the\n"
"node shows as 'left', not failed) and exits 0.  Exit status 2: bad options,\n"
"or an unusable --state-dir (a corrupt epoch file is not ignored).\n");
}

enum {
	OPT_COLLECTOR = 256, OPT_NODE, OPT_GROUP, OPT_PRIORITY, OPT_INTERVAL, OPT_TOKEN,
	OPT_OUTBOX, OPT_DISK, OPT_BOCAP, OPT_INSECURE, OPT_VERBOSE, OPT_CHECK, OPT_CHECK_INT,
	OPT_CHECK_TMO, OPT_CHECK_FAIL, OPT_CHECK_PASS, OPT_STATSD, OPT_ON_PROMOTE, OPT_ON_DEMOTE,
	OPT_ON_FENCE, OPT_HOOK_TMO, OPT_STATE_DIR, OPT_INITIAL_ROLE, OPT_NO_FAILOVER,
};

static const struct option longopts[] = {
	{ "collector", required_argument, NULL, OPT_COLLECTOR },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "interval-ms", required_argument, NULL, OPT_INTERVAL },
	{ "token-file", required_argument, NULL, OPT_TOKEN },
	{ "outbox", required_argument, NULL, OPT_OUTBOX },
	{ "disk-path", required_argument, NULL, OPT_DISK },
	{ "backoff-cap-ms", required_argument, NULL, OPT_BOCAP },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "check", required_argument, NULL, OPT_CHECK },
	{ "check-interval", required_argument, NULL, OPT_CHECK_INT },
	{ "check-timeout", required_argument, NULL, OPT_CHECK_TMO },
	{ "check-fail", required_argument, NULL, OPT_CHECK_FAIL },
	{ "check-pass", required_argument, NULL, OPT_CHECK_PASS },
	{ "statsd", required_argument, NULL, OPT_STATSD },
	{ "on-promote", required_argument, NULL, OPT_ON_PROMOTE },
	{ "on-demote", required_argument, NULL, OPT_ON_DEMOTE },
	{ "on-fence", required_argument, NULL, OPT_ON_FENCE },
	{ "hook-timeout", required_argument, NULL, OPT_HOOK_TMO },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "initial-role", required_argument, NULL, OPT_INITIAL_ROLE },
	{ "no-failover", no_argument, NULL, OPT_NO_FAILOVER },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "vigil-agent: %s '%s': %s\nTry 'vigil-agent --help'.\n", opt, val, want);
	return 2;
}

static int add_urls(struct agent_config *cfg, const char *list)
{
	char buf[2048], *save = NULL, err[256];

	if (strlen(list) >= sizeof buf)
		return bad("--collector", list, "too long");
	util_strlcpy(buf, list, sizeof buf);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (cfg->nurls == AGENT_MAX_URLS)
			return bad("--collector", list, "at most 8 collector addresses");
		if (ws_url_parse(t, &cfg->urls[cfg->nurls], err, sizeof err))
			return bad("--collector", t, err);
		cfg->nurls++;
	}
	return 0;
}

/* Which checks (or the defaults, index PROTO_CHECKS_MAX) had their timeout
 * given: an unset timeout shrinks to fit a short interval. */
static bool timeout_given[PROTO_CHECKS_MAX + 1];

/* --check-* options change the check given just before them, or, before any
 * --check, the defaults of the checks that follow. */
static int check_option(struct agent_config *cfg, struct check_spec *dflt, int opt, const char *val)
{
	struct check_spec *t = cfg->nchecks ? &cfg->checks[cfg->nchecks - 1] : dflt;
	const char *name = opt == OPT_CHECK_INT ? "--check-interval" : opt == OPT_CHECK_TMO ?
			   "--check-timeout" : opt == OPT_CHECK_FAIL ? "--check-fail" : "--check-pass";
	long long v;
	int64_t d;

	if (opt == OPT_CHECK_INT || opt == OPT_CHECK_TMO) {
		if (util_parse_duration_ms(val, &d) || d < 10 || d > 3600000)
			return bad(name, val, "must be a duration from 10ms to 1h (500ms, 5s)");
		*(opt == OPT_CHECK_INT ? &t->interval_ms : &t->timeout_ms) = (int)d;
		if (opt == OPT_CHECK_TMO)
			timeout_given[cfg->nchecks ? cfg->nchecks - 1 : PROTO_CHECKS_MAX] = true;
	} else {
		if (util_parse_int(val, 1, 100, &v))
			return bad(name, val, "must be 1..100");
		*(opt == OPT_CHECK_FAIL ? &t->fail_after : &t->pass_after) = (int)v;
	}
	return 0;
}

/* --on-promote, --on-demote, --on-fence */
static int hook_option(struct agent_config *cfg, int opt, const char *val)
{
	enum lease_hook k = opt == OPT_ON_PROMOTE ? LEASE_HOOK_PROMOTE :
			    opt == OPT_ON_DEMOTE ? LEASE_HOOK_DEMOTE : LEASE_HOOK_FENCE;
	const char *name = opt == OPT_ON_PROMOTE ? "--on-promote" :
			   opt == OPT_ON_DEMOTE ? "--on-demote" : "--on-fence";
	const char *p = val;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return bad(name, val, "must be a command");
	if (strlen(val) > HOOK_CMD_MAX)
		return bad(name, val, "longer than 1023 bytes (put it in a script)");
	for (p = val; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return bad(name, val, "must be one line");
	util_strlcpy(cfg->hook_cmd[k], val, sizeof cfg->hook_cmd[k]);
	return 0;
}

static int parse_args(int argc, char **argv, struct agent_config *cfg)
{
	struct check_spec dflt;
	const char *token_file = NULL;
	char err[512];
	long long v;
	bool loose;
	int c, rc;

	check_spec_defaults(&dflt);
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_COLLECTOR:
			rc = add_urls(cfg, optarg);
			if (rc)
				return rc;
			break;
		case OPT_NODE:
			if (!name_is_valid(optarg, PROTO_NAME_MAX))
				return bad("--node", optarg, "must match [A-Za-z0-9._-]{1,64}");
			util_strlcpy(cfg->node, optarg, sizeof cfg->node);
			break;
		case OPT_GROUP:
			if (!name_is_valid(optarg, PROTO_NAME_MAX))
				return bad("--group", optarg, "must match [A-Za-z0-9._-]{1,64}");
			util_strlcpy(cfg->group, optarg, sizeof cfg->group);
			break;
		case OPT_PRIORITY:
			if (util_parse_int(optarg, 0, PROTO_PRIORITY_MAX, &v))
				return bad("--priority", optarg, "must be an integer 0..1000000");
			cfg->priority = (int)v;
			break;
		case OPT_INTERVAL:
			if (util_parse_int(optarg, PROTO_INTERVAL_MIN_MS, PROTO_INTERVAL_MAX_MS, &v))
				return bad("--interval-ms", optarg, "must be an integer 50..60000");
			cfg->interval_ms = (int)v;
			break;
		case OPT_TOKEN: token_file = optarg; break;
		case OPT_OUTBOX:
			if (util_parse_int(optarg, 1, 100000, &v))
				return bad("--outbox", optarg, "must be an integer 1..100000");
			cfg->outbox_events = (int)v;
			break;
		case OPT_DISK:
			if (!*optarg || strlen(optarg) >= sizeof cfg->disk_path)
				return bad("--disk-path", optarg, "must be a path");
			util_strlcpy(cfg->disk_path, optarg, sizeof cfg->disk_path);
			break;
		case OPT_BOCAP:
			if (util_parse_int(optarg, 100, 600000, &v))
				return bad("--backoff-cap-ms", optarg, "must be an integer 100..600000");
			cfg->backoff_cap_ms = (int)v;
			break;
		case OPT_INSECURE: cfg->insecure = true; break;
		case OPT_CHECK:
			if (cfg->nchecks == PROTO_CHECKS_MAX)
				return bad("--check", optarg, "at most 32 checks");
			cfg->checks[cfg->nchecks] = dflt;
			timeout_given[cfg->nchecks] = timeout_given[PROTO_CHECKS_MAX];
			if (check_spec_parse(optarg, &cfg->checks[cfg->nchecks], err, sizeof err))
				return bad("--check", optarg, err);
			for (int i = 0; i < cfg->nchecks; i++)
				if (strcmp(cfg->checks[i].name, cfg->checks[cfg->nchecks].name) == 0)
					return bad("--check", optarg, "a check of that name was already given");
			cfg->nchecks++;
			break;
		case OPT_CHECK_INT:
		case OPT_CHECK_TMO:
		case OPT_CHECK_FAIL:
		case OPT_CHECK_PASS:
			rc = check_option(cfg, &dflt, c, optarg);
			if (rc)
				return rc;
			break;
		case OPT_STATSD:
			if (strcmp(optarg, "off") == 0) {
				cfg->statsd_host[0] = '\0';
				cfg->statsd_explicit = false;
				break;
			}
			if (util_parse_hostport(optarg, cfg->statsd_host, sizeof cfg->statsd_host,
						&cfg->statsd_port, err, sizeof err))
				return bad("--statsd", optarg, err);
			cfg->statsd_explicit = true;
			break;
		case OPT_ON_PROMOTE:
		case OPT_ON_DEMOTE:
		case OPT_ON_FENCE:
			rc = hook_option(cfg, c, optarg);
			if (rc)
				return rc;
			break;
		case OPT_HOOK_TMO: {
			int64_t d;

			if (util_parse_duration_ms(optarg, &d) || d < HOOK_TIMEOUT_MS_MIN ||
			    d > HOOK_TIMEOUT_MS_MAX)
				return bad("--hook-timeout", optarg,
					   "must be a duration from 100ms to 1h (30s, 2m)");
			cfg->hook_timeout_ms = (int)d;
			break;
		}
		case OPT_STATE_DIR:
			if (!*optarg || strlen(optarg) >= sizeof cfg->state_dir - 80)
				return bad("--state-dir", optarg, "must be a directory path (at most 175 bytes)");
			util_strlcpy(cfg->state_dir, optarg, sizeof cfg->state_dir);
			break;
		case OPT_INITIAL_ROLE:
			if (strcmp(optarg, "leader") && strcmp(optarg, "follower"))
				return bad("--initial-role", optarg, "must be follower or leader");
			cfg->initial_leader = strcmp(optarg, "leader") == 0;
			break;
		case OPT_NO_FAILOVER: cfg->no_failover = true; break;
		case OPT_VERBOSE: cfg->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("vigil-agent %s\n", VIGIL_VERSION); exit(0);
		default:
			fprintf(stderr, "Try 'vigil-agent --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil-agent: unexpected argument '%s'\nTry 'vigil-agent --help'.\n",
			argv[optind]);
		return 2;
	}
	for (int i = 0; i < cfg->nchecks; i++) {
		struct check_spec *cs = &cfg->checks[i];

		if (!timeout_given[i] && cs->timeout_ms > cs->interval_ms)
			cs->timeout_ms = cs->interval_ms;
		if (check_spec_validate(cs, err, sizeof err)) {
			fprintf(stderr, "vigil-agent: --check %s: %s\n", cfg->checks[i].name, err);
			return 2;
		}
	}
	if (cfg->initial_leader && cfg->no_failover) {
		fprintf(stderr, "vigil-agent: --initial-role leader: conflicts with --no-failover\n"
			"Try 'vigil-agent --help'.\n");
		return 2;
	}
	if (!cfg->nurls && add_urls(cfg, "ws://127.0.0.1:7070"))
		return 2;
	if (!cfg->node[0]) {
		char host[256] = "";

		gethostname(host, sizeof host - 1);
		if (!name_is_valid(host, PROTO_NAME_MAX)) {
			fprintf(stderr, "vigil-agent: the host name '%s' is not a valid node name "
				"([A-Za-z0-9._-]{1,64}); give one with --node\n", host);
			return 2;
		}
		util_strlcpy(cfg->node, host, sizeof cfg->node);
	}
	if (token_file) {
		if (util_read_token_file(token_file, cfg->token, sizeof cfg->token, &loose, err, sizeof err)) {
			fprintf(stderr, "vigil-agent: --token-file: %s\n", err);
			return 2;
		}
		if (loose)
			util_log("warn", "%s is readable by other users: chmod 600 it", token_file);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent_config cfg;
	int rc;

	util_log_init("vigil-agent");
	util_strlcpy(cfg.group, "default", sizeof cfg.group);
	util_strlcpy(cfg.disk_path, "/", sizeof cfg.disk_path);
	cfg.priority = 100;
	cfg.interval_ms = 500;
	cfg.outbox_events = 256;
	cfg.backoff_base_ms = 100;
	cfg.backoff_cap_ms = 10000;
	util_strlcpy(cfg.statsd_host, "127.0.0.1", sizeof cfg.statsd_host);
	cfg.statsd_port = 8125;
	cfg.hook_timeout_ms = HOOK_TIMEOUT_MS_DEFAULT;
	rc = parse_args(argc, argv, &cfg);
	if (rc)
		return rc;
	return agent_run(&cfg);
}
