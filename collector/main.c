/* vigil-collector — parse the options, load the secrets, run the server. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/config.h"
#include "collector/delivery.h"
#include "collector/server.h"
#include "proto/util.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vigil-collector [OPTIONS]\n"
"\n"
"Accepts vigil agents over WebSocket, detects failed nodes (phi accrual plus\n"
"the connection itself), records every transition in SQLite and serves the\n"
"vigil dashboard and command line.  HTTP GET /health and /metrics on the\n"
"same port.\n"
"\n"
"Listening and storage:\n"
"  --listen HOST:PORT         address to listen on (default 127.0.0.1:7070);\n"
"                             use [::1]:PORT for IPv6\n"
"  --db PATH                  SQLite history file (default ./vigil.db)\n"
"  --flush-ms N               store batch interval, 5..1000 (default 50)\n"
"  --sample-interval-ms D     one metrics sample per node this often (default\n"
"                             10s; 0 = none)\n"
"  --raw-retention D          keep raw samples this long (default 7d; 0 = forever)\n"
"  --agg-retention D          keep one-minute aggregates this long (default 90d);\n"
"                             events, failovers and audit are kept forever\n"
"  --max-clients N            connections accepted at once (default 10000)\n"
"  --tls-cert FILE            serve wss:// and https:// with this PEM certificate\n"
"  --tls-key FILE             ... and this PEM private key (both or neither)\n"
"\n"
"Authentication (tokens travel in the handshake, never on a command line):\n"
"  --agent-token-file FILE    agents must send this token; without it only\n"
"                             loopback agents are accepted\n"
"  --operator-token-file FILE lines of NAME ROLE TOKEN (role viewer or\n"
"                             operator), or one bare token; without it only\n"
"                             loopback operators are accepted\n"
"\n"
"Detection (durations take ms, s, m, h: 1500, 1.5s):\n"
"  --suspect-phi X            phi at which a silent node is suspect (default 5)\n"
"  --failed-phi X             phi at which a silent node has failed (default 8)\n"
"  --min-std-dev-ms D         floor of the interval deviation (default: the\n"
"                             agent's interval / 5, i.e. 100 ms at 500 ms)\n"
"  --acceptable-pause-ms D    pause tolerated before phi rises (default: one\n"
"                             agent interval, i.e. 500 ms at 500 ms)\n"
"  --max-samples N            heartbeat intervals kept per node (default 200)\n"
"  --reconnect-grace-ms D     a dropped connection makes a node suspect at once\n"
"                             and failed after this (default 1000)\n"
"  --startup-grace-ms D       after a restart, known nodes that do not come\n"
"                             back within this are failed (default 12000)\n"
"  --tilt-gap-ms D            a collector loop stall longer than this stops all\n"
"                             timing verdicts (default 2000)\n"
"  --tilt-hold-ms D           ... until it has been stable this long (default 5000)\n"
"\n"
"Health (degraded = alive but unhealthy; a critical agent check degrades at once):\n"
"  --degraded-error-rate X    app counter 'errors' per second (default 0 = off)\n"
"  --degraded-latency-ms X    app timer 'latency_ms', mean (default 0 = off)\n"
"  --degraded-rtt-ms D        agent-measured round trip (default 0 = off)\n"
"  --degraded-after N         heartbeats over a threshold before degraded (default 3)\n"
"  --recover-after N          healthy heartbeats before alive again (default 3)\n"
"  --flap-threshold X         state changes (decaying) that make a node flapping\n"
"                             (default 5)\n"
"  --flap-half-life-ms D      how fast the flap score decays (default 60s)\n"
"\n"
"Leadership and failover (see README \"Failover\"):\n"
"  --lease-ms D               lease a leader holds per answered heartbeat\n"
"                             (default 2000); a new leader is promoted only after\n"
"                             the old lease has surely run out\n"
"  --lease-drift-pct N        clock-rate margin added to the lease before anyone\n"
"                             else may lead, %% (default 10)\n"
"  --failover-cooldown D      no automatic failover this soon after one ended\n"
"                             (default 60s)\n"
"  --fence-timeout D          wait this long for the old leader's fence hook\n"
"                             (default 5s)\n"
"  --promote-timeout D        wait this long for the new leader's promote hook,\n"
"                             then try the next candidate (default 35s)\n"
"\n"
"Alerts (see docs/configuration.md \"Alert rules\" and \"Sinks\"):\n"
"  --config FILE              read options, alert rules and sinks from FILE\n"
"                             (the command line wins over the file)\n"
"  --check-config             check the options and FILE, print ok or the\n"
"                             mistake (FILE:LINE: reason), exit 0 or 2\n"
"  --alert-exec PROGRAM       run PROGRAM (absolute path) for each alert\n"
"                             notification, the alert as JSON on its stdin\n"
"  --alertmanager URL         post alerts to Prometheus Alertmanager's v2 API\n"
"                             (http://HOST:PORT)\n"
"\n"
"Other:\n"
"  --verbose                  log every connection and message error\n"
"  -h, --help                 this text\n"
"  -V, --version              print the version\n"
"\n"
"Signals: SIGTERM and SIGINT flush the store and exit 0; SIGHUP reads the\n"
"--config file again (rules and sinks change at once; a bad file is refused\n"
"and the running configuration kept).\n"
"Documentation: README.md, docs/configuration.md, docs/protocol.md.\n");
}

enum {
	OPT_LISTEN = 256, OPT_DB, OPT_FLUSH, OPT_MAXCLI, OPT_AGENT_TOK, OPT_OPER_TOK,
	OPT_SUSPECT, OPT_FAILED, OPT_MINSD, OPT_PAUSE, OPT_SAMPLES, OPT_GRACE,
	OPT_STARTUP, OPT_TILTGAP, OPT_TILTHOLD, OPT_VERBOSE, OPT_TLS_CERT, OPT_TLS_KEY, OPT_DEG_ERR, OPT_DEG_LAT, OPT_DEG_RTT, OPT_DEG_AFTER,
	OPT_REC_AFTER, OPT_FLAP_T, OPT_FLAP_HL, OPT_SAMPLE, OPT_RAW_KEEP, OPT_AGG_KEEP,
	OPT_LEASE, OPT_DRIFT, OPT_COOLDOWN, OPT_FENCE_TO, OPT_PROMOTE_TO,
	OPT_CONFIG, OPT_CHECK, OPT_ALERT_EXEC, OPT_ALERTMANAGER,
};

static const struct option longopts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "db", required_argument, NULL, OPT_DB },
	{ "flush-ms", required_argument, NULL, OPT_FLUSH },
	{ "max-clients", required_argument, NULL, OPT_MAXCLI },
	{ "agent-token-file", required_argument, NULL, OPT_AGENT_TOK },
	{ "operator-token-file", required_argument, NULL, OPT_OPER_TOK },
	{ "suspect-phi", required_argument, NULL, OPT_SUSPECT },
	{ "failed-phi", required_argument, NULL, OPT_FAILED },
	{ "min-std-dev-ms", required_argument, NULL, OPT_MINSD },
	{ "acceptable-pause-ms", required_argument, NULL, OPT_PAUSE },
	{ "max-samples", required_argument, NULL, OPT_SAMPLES },
	{ "reconnect-grace-ms", required_argument, NULL, OPT_GRACE },
	{ "startup-grace-ms", required_argument, NULL, OPT_STARTUP },
	{ "tilt-gap-ms", required_argument, NULL, OPT_TILTGAP },
	{ "tilt-hold-ms", required_argument, NULL, OPT_TILTHOLD },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "degraded-error-rate", required_argument, NULL, OPT_DEG_ERR },
	{ "degraded-latency-ms", required_argument, NULL, OPT_DEG_LAT },
	{ "degraded-rtt-ms", required_argument, NULL, OPT_DEG_RTT },
	{ "degraded-after", required_argument, NULL, OPT_DEG_AFTER },
	{ "recover-after", required_argument, NULL, OPT_REC_AFTER },
	{ "flap-threshold", required_argument, NULL, OPT_FLAP_T },
	{ "flap-half-life-ms", required_argument, NULL, OPT_FLAP_HL },
	{ "sample-interval-ms", required_argument, NULL, OPT_SAMPLE },
	{ "raw-retention", required_argument, NULL, OPT_RAW_KEEP },
	{ "agg-retention", required_argument, NULL, OPT_AGG_KEEP },
	{ "lease-ms", required_argument, NULL, OPT_LEASE },
	{ "lease-drift-pct", required_argument, NULL, OPT_DRIFT },
	{ "failover-cooldown", required_argument, NULL, OPT_COOLDOWN },
	{ "fence-timeout", required_argument, NULL, OPT_FENCE_TO },
	{ "promote-timeout", required_argument, NULL, OPT_PROMOTE_TO },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument, NULL, OPT_CHECK },
	{ "alert-exec", required_argument, NULL, OPT_ALERT_EXEC },
	{ "alertmanager", required_argument, NULL, OPT_ALERTMANAGER },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* What the options name besides server_config: token files (read once all
 * options are in) and the sinks given as options. */
struct extra {
	char agent_tok[4096], oper_tok[4096];
	struct sink_spec sinks[CONFIG_SINKS_MAX];
	size_t nsinks;
};

/* The last refusal, without the "where" (the caller prefixes
 * "vigil-collector: " or "FILE:LINE: "). */
static char g_err[1200];

static int bad(const char *opt, const char *val, const char *want)
{
	snprintf(g_err, sizeof g_err, "%s '%s': %s", opt, val, want);
	return 2;
}

static int parse_phi(const char *opt, const char *val, double *out)
{
	char *end;
	double v = strtod(val, &end);

	if (end == val || *end || !isfinite(v) || v <= 0 || v > 100)
		return bad(opt, val, "must be a number in (0, 100]");
	*out = v;
	return 0;
}

static int parse_num(const char *opt, const char *val, double max, double *out)
{
	char *end;
	double v = strtod(val, &end);

	if (end == val || *end || !isfinite(v) || v < 0 || v > max)
		return bad(opt, val, "must be a number >= 0");
	*out = v;
	return 0;
}

static int parse_dur(const char *opt, const char *val, int64_t max, int64_t *out)
{
	if (util_parse_duration_ms(val, out) || *out > max)
		return bad(opt, val, "must be a duration such as 500, 500ms, 2s or 1m");
	return 0;
}

static int add_sink(struct extra *x, enum sink_kind kind, const char *opt, const char *val)
{
	struct sink_spec *s;
	char why[600];
	size_t len;

	if (x->nsinks >= CONFIG_SINKS_MAX)
		return bad(opt, val, "too many sinks");
	s = &x->sinks[x->nsinks];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->timeout_ms = 10000;
	s->retries = 3;
	s->repeat_ms = kind == SINK_ALERTMANAGER ? 60000 : 0;
	s->min_severity = ASEV_INFO;
	if (strlen(val) >= sizeof s->target)
		return bad(opt, val, "too long");
	util_strlcpy(s->target, val, sizeof s->target);
	len = strlen(s->target);
	while (kind == SINK_ALERTMANAGER && len > 0 && s->target[len - 1] == '/')
		s->target[--len] = '\0';
	if (delivery_sink_check(s, why, sizeof why))
		return bad(opt, val, why);
	x->nsinks++;
	return 0;
}

/* One option (c = its getopt code) with its value.  0 or 2 (g_err says why). */
static int apply_opt(int c, const char *optval, struct server_config *cfg, struct extra *x)
{
	char err[512];
	long long v;
	int64_t d;
	int rc = 0;

	switch (c) {
	case OPT_LISTEN:
		if (util_parse_hostport(optval, cfg->host, sizeof cfg->host, &cfg->port, err, sizeof err))
			return bad("--listen", optval, err);
		break;
	case OPT_DB:
		if (!*optval || strlen(optval) >= sizeof cfg->db_path)
			return bad("--db", optval, "must be a file path");
		util_strlcpy(cfg->db_path, optval, sizeof cfg->db_path);
		break;
	case OPT_FLUSH:
		if (util_parse_int(optval, 5, 1000, &v))
			return bad("--flush-ms", optval, "must be 5..1000");
		cfg->flush_ms = (int)v;
		break;
	case OPT_MAXCLI:
		if (util_parse_int(optval, 16, 1000000, &v))
			return bad("--max-clients", optval, "must be 16..1000000");
		cfg->max_clients = (int)v;
		break;
	case OPT_AGENT_TOK:
		if (!*optval || strlen(optval) >= sizeof x->agent_tok)
			return bad("--agent-token-file", optval, "must be a file path");
		util_strlcpy(x->agent_tok, optval, sizeof x->agent_tok);
		break;
	case OPT_OPER_TOK:
		if (!*optval || strlen(optval) >= sizeof x->oper_tok)
			return bad("--operator-token-file", optval, "must be a file path");
		util_strlcpy(x->oper_tok, optval, sizeof x->oper_tok);
		break;
	case OPT_SUSPECT: rc = parse_phi("--suspect-phi", optval, &cfg->core.suspect_phi); break;
	case OPT_FAILED: rc = parse_phi("--failed-phi", optval, &cfg->core.failed_phi); break;
	case OPT_MINSD:
		rc = parse_dur("--min-std-dev-ms", optval, 600000, &d);
		cfg->core.min_std_dev_ms = (double)d;
		break;
	case OPT_PAUSE:
		rc = parse_dur("--acceptable-pause-ms", optval, 600000, &d);
		cfg->core.acceptable_pause_ms = (double)d;
		break;
	case OPT_SAMPLES:
		if (util_parse_int(optval, 2, 100000, &v))
			return bad("--max-samples", optval, "must be 2..100000");
		cfg->core.max_samples = (int)v;
		break;
	case OPT_GRACE:
		rc = parse_dur("--reconnect-grace-ms", optval, 3600000, &cfg->core.reconnect_grace_ms);
		break;
	case OPT_STARTUP:
		rc = parse_dur("--startup-grace-ms", optval, 3600000, &cfg->core.startup_grace_ms);
		break;
	case OPT_TILTGAP:
		rc = parse_dur("--tilt-gap-ms", optval, 3600000, &cfg->core.tilt_gap_ms);
		break;
	case OPT_TILTHOLD:
		rc = parse_dur("--tilt-hold-ms", optval, 3600000, &cfg->core.tilt_hold_ms);
		break;
	case OPT_DEG_ERR: rc = parse_num("--degraded-error-rate", optval, 1e9, &cfg->core.degraded_error_rate); break;
	case OPT_DEG_LAT: rc = parse_num("--degraded-latency-ms", optval, 1e9, &cfg->core.degraded_latency_ms); break;
	case OPT_DEG_RTT:
		rc = parse_dur("--degraded-rtt-ms", optval, 3600000, &cfg->core.degraded_rtt_ms);
		break;
	case OPT_DEG_AFTER:
	case OPT_REC_AFTER:
		if (util_parse_int(optval, 1, 1000, &v))
			return bad(c == OPT_DEG_AFTER ? "--degraded-after" : "--recover-after", optval,
				   "must be 1..1000 heartbeats");
		*(c == OPT_DEG_AFTER ? &cfg->core.degraded_after : &cfg->core.recover_after) = (int)v;
		break;
	case OPT_FLAP_T: rc = parse_num("--flap-threshold", optval, 1000, &cfg->core.flap_threshold); break;
	case OPT_FLAP_HL:
		rc = parse_dur("--flap-half-life-ms", optval, 86400000, &cfg->core.flap_half_life_ms);
		break;
	case OPT_SAMPLE:
		rc = parse_dur("--sample-interval-ms", optval, 86400000, &cfg->sample_ms);
		if (!rc && cfg->sample_ms > 0 && cfg->sample_ms < 1000)
			return bad("--sample-interval-ms", optval, "must be 0 (off) or at least 1s");
		break;
	case OPT_RAW_KEEP:
		rc = parse_dur("--raw-retention", optval, 3650LL * 86400000, &cfg->raw_keep_ms);
		break;
	case OPT_AGG_KEEP:
		rc = parse_dur("--agg-retention", optval, 3650LL * 86400000, &cfg->agg_keep_ms);
		break;
	case OPT_LEASE:
		rc = parse_dur("--lease-ms", optval, 3600000, &cfg->groups.lease_ms);
		if (!rc && cfg->groups.lease_ms < 100)
			return bad("--lease-ms", optval, "must be at least 100 ms");
		break;
	case OPT_DRIFT:
		if (util_parse_int(optval, 1, 100, &v))
			return bad("--lease-drift-pct", optval, "must be 1..100");
		cfg->groups.drift_pct = (int)v;
		break;
	case OPT_COOLDOWN:
		rc = parse_dur("--failover-cooldown", optval, 86400000, &cfg->groups.cooldown_ms);
		break;
	case OPT_FENCE_TO:
	case OPT_PROMOTE_TO: {
		int64_t *dst = c == OPT_FENCE_TO ? &cfg->groups.fence_timeout_ms :
				   &cfg->groups.promote_timeout_ms;
		const char *name = c == OPT_FENCE_TO ? "--fence-timeout" : "--promote-timeout";

		rc = parse_dur(name, optval, 3600000, dst);
		if (!rc && *dst < 100)
			return bad(name, optval, "must be at least 100 ms");
		break;
	}
	case OPT_VERBOSE:
		/* in a file: "" or "yes" turns it on, "no" off */
		cfg->verbose = strcmp(optval, "no") != 0;
		break;
	case OPT_TLS_CERT:
	case OPT_TLS_KEY: {
		char *dst = c == OPT_TLS_CERT ? cfg->tls_cert : cfg->tls_key;

		if (!*optval || strlen(optval) >= sizeof cfg->tls_cert)
			return bad(c == OPT_TLS_CERT ? "--tls-cert" : "--tls-key", optval, "must be a file path");
		if (access(optval, R_OK))
			return bad(c == OPT_TLS_CERT ? "--tls-cert" : "--tls-key", optval,
				   "cannot be read");
		util_strlcpy(dst, optval, sizeof cfg->tls_cert);
		break;
	}
	case OPT_ALERT_EXEC: return add_sink(x, SINK_EXEC, "--alert-exec", optval);
	case OPT_ALERTMANAGER: return add_sink(x, SINK_ALERTMANAGER, "--alertmanager", optval);
	default:
		return bad("option", optval, "unknown");
	}
	return rc;
}

static void config_defaults(struct server_config *cfg, struct extra *x)
{
	memset(cfg, 0, sizeof *cfg);
	memset(x, 0, sizeof *x);
	util_strlcpy(cfg->host, "127.0.0.1", sizeof cfg->host);
	cfg->port = 7070;
	util_strlcpy(cfg->db_path, "./vigil.db", sizeof cfg->db_path);
	cfg->flush_ms = 50;
	cfg->tick_ms = 50;
	cfg->delta_ms = 250;
	cfg->max_clients = 10000;
	cfg->sample_ms = 10000;
	cfg->raw_keep_ms = 7LL * 86400000;
	cfg->agg_keep_ms = 90LL * 86400000;
	auth_init(&cfg->auth);
	core_config_defaults(&cfg->core);
	groups_config_defaults(&cfg->groups);
	/* The agents' hooks may run 30 s (their default --hook-timeout): a promote
	 * is not given up before that. */
	cfg->groups.promote_timeout_ms = 35000;
	/* A group seen for the first time waits this long before electing, so
	 * that the highest priority wins rather than the first to connect. */
	cfg->groups.elect_settle_ms = 2000;
}

/* The command line, as (code, value) pairs, applied after the file. */
struct cmdline {
	const char *config_path;
	bool check;
	int n;
	int code[256];
	const char *val[256];
};

static int read_cmdline(int argc, char **argv, struct cmdline *cl)
{
	int c;

	memset(cl, 0, sizeof *cl);
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); exit(0);
		case 'V': printf("vigil-collector %s\n", VIGIL_VERSION); exit(0);
		case OPT_CONFIG: cl->config_path = optarg; break;
		case OPT_CHECK: cl->check = true; break;
		case '?':
			fprintf(stderr, "Try 'vigil-collector --help'.\n");
			return 2;
		default:
			if (cl->n >= (int)(sizeof cl->code / sizeof cl->code[0])) {
				fprintf(stderr, "vigil-collector: too many options\n");
				return 2;
			}
			cl->code[cl->n] = c;
			cl->val[cl->n++] = optarg ? optarg : "";
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil-collector: unexpected argument '%s'\nTry 'vigil-collector --help'.\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

static int opt_code(const char *name)
{
	for (const struct option *o = longopts; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o->val;
	return -1;
}

/* File, then command line, then the checks that need every option.  0, or
 * 2 with "WHERE: reason" in err.  The configuration's rules and sinks are
 * added to cfg (pointers into fc and x: they must outlive cfg's use). */
static int build_config(const struct config *fc, const struct cmdline *cl, struct server_config *cfg,
			struct extra *x, char *err, size_t errlen)
{
	bool loose;

	if (fc) {
		for (size_t i = 0; i < fc->nopts; i++) {
			const struct config_opt *o = &fc->opts[i];

			if (apply_opt(opt_code(o->name), o->value, cfg, x)) {
				snprintf(err, errlen, "%.300s:%d: %.900s", fc->path, o->line, g_err);
				return 2;
			}
		}
		/* The file's sinks come before those given as options. */
		for (size_t i = 0; i < fc->nsinks; i++) {
			char why[600];

			if (delivery_sink_check(&fc->sinks[i], why, sizeof why)) {
				snprintf(err, errlen, "%.300s:%d: sink %s: %.600s", fc->path, fc->sinks[i].line,
					 config_sink_kind_name(fc->sinks[i].kind), why);
				return 2;
			}
			if (x->nsinks >= CONFIG_SINKS_MAX) {
				snprintf(err, errlen, "%s:%d: too many sinks", fc->path, fc->sinks[i].line);
				return 2;
			}
			x->sinks[x->nsinks++] = fc->sinks[i];
		}
		cfg->rules = fc->rules;
		cfg->nrules = fc->nrules;
	}
	for (int i = 0; i < cl->n; i++) {
		if (apply_opt(cl->code[i], cl->val[i], cfg, x)) {
			snprintf(err, errlen, "vigil-collector: %s", g_err);
			return 2;
		}
	}
	cfg->sinks = x->sinks;
	cfg->nsinks = x->nsinks;
	if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
		snprintf(err, errlen, "vigil-collector: --tls-cert and --tls-key go together");
		return 2;
	}
	if (groups_config_check(&cfg->groups, g_err, sizeof g_err) ||
	    core_config_check(&cfg->core, g_err, sizeof g_err) ||
	    alerts_rules_check(cfg->rules, cfg->nrules, g_err, sizeof g_err)) {
		snprintf(err, errlen, "vigil-collector: %s", g_err);
		return 2;
	}
	if (x->agent_tok[0]) {
		if (auth_load_agent_file(&cfg->auth, x->agent_tok, &loose, g_err, sizeof g_err)) {
			snprintf(err, errlen, "vigil-collector: --agent-token-file: %s", g_err);
			return 2;
		}
		if (loose)
			util_log("warn", "%s is readable by other users: chmod 600 it", x->agent_tok);
	}
	if (x->oper_tok[0]) {
		if (auth_load_operator_file(&cfg->auth, x->oper_tok, &loose, g_err, sizeof g_err)) {
			snprintf(err, errlen, "vigil-collector: --operator-token-file: %s", g_err);
			return 2;
		}
		if (loose)
			util_log("warn", "%s is readable by other users: chmod 600 it", x->oper_tok);
	}
	return 0;
}

/* ---- SIGHUP ------------------------------------------------------------- */

static struct cmdline g_cl;
static struct config g_files[2];          /* the running file, and the one being read */
static int g_cur;                         /* index of the running one */
static struct extra g_x[2];
static struct server_config g_next;

/* Options that differ from the running configuration (but for rules and
 * sinks, which change at once) need a restart: say which. */
static void report_restart(const struct server_config *run, const struct server_config *nw,
			   const struct extra *xr, const struct extra *xn)
{
	char what[512] = "";
	size_t o = 0;

#define DIFF(cond, name)							\
	do {									\
		if ((cond) && o < sizeof what - 40)				\
			o += (size_t)snprintf(what + o, sizeof what - o, "%s%s",	\
					      o ? ", " : "", name);		\
	} while (0)
	DIFF(strcmp(run->host, nw->host) || run->port != nw->port, "listen");
	DIFF(strcmp(run->db_path, nw->db_path), "db");
	DIFF(run->flush_ms != nw->flush_ms, "flush-ms");
	DIFF(run->max_clients != nw->max_clients, "max-clients");
	DIFF(run->verbose != nw->verbose, "verbose");
	DIFF(run->sample_ms != nw->sample_ms, "sample-interval-ms");
	DIFF(run->raw_keep_ms != nw->raw_keep_ms || run->agg_keep_ms != nw->agg_keep_ms, "retention");
	DIFF(strcmp(run->tls_cert, nw->tls_cert) || strcmp(run->tls_key, nw->tls_key), "tls");
	DIFF(strcmp(xr->agent_tok, xn->agent_tok) || strcmp(xr->oper_tok, xn->oper_tok), "token files");
	DIFF(memcmp(&run->core, &nw->core, sizeof run->core), "detection settings");
	DIFF(memcmp(&run->groups, &nw->groups, sizeof run->groups), "leadership settings");
#undef DIFF
	if (o)
		util_log("warn", "reload: changed %s: %s need%s a restart to take effect (rules and "
			 "sinks are in force now)", g_cl.config_path, what, strchr(what, ',') ? "" : "s");
}

static int reload(void *arg, const struct alert_rule **rules, size_t *nrules,
		  const struct sink_spec **sinks, size_t *nsinks, char *err, size_t errlen)
{
	struct server_config *run = arg;
	int nx = 1 - g_cur;
	char why[1400];

	if (!g_cl.config_path) {
		snprintf(err, errlen, "no --config file to read again");
		return -1;
	}
	config_done(&g_files[nx]);
	config_init(&g_files[nx]);
	if (config_parse_file(g_cl.config_path, longopts, &g_files[nx], why, sizeof why)) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	config_defaults(&g_next, &g_x[nx]);
	if (build_config(&g_files[nx], &g_cl, &g_next, &g_x[nx], why, sizeof why)) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	report_restart(run, &g_next, &g_x[g_cur], &g_x[nx]);
	*rules = g_next.rules;
	*nrules = g_next.nrules;
	*sinks = g_next.sinks;
	*nsinks = g_next.nsinks;
	/* The caller copies them; this file stays for the next comparison. */
	run->rules = g_next.rules;
	run->nrules = g_next.nrules;
	run->sinks = g_next.sinks;
	run->nsinks = g_next.nsinks;
	g_cur = nx;
	return 0;
}

int main(int argc, char **argv)
{
	static struct server_config cfg;
	char err[1400];
	int rc;

	util_log_init("vigil-collector");
	signal(SIGPIPE, SIG_IGN);
	rc = read_cmdline(argc, argv, &g_cl);
	if (rc)
		return rc;
	config_init(&g_files[0]);
	config_init(&g_files[1]);
	config_defaults(&cfg, &g_x[0]);
	if (g_cl.config_path &&
	    config_parse_file(g_cl.config_path, longopts, &g_files[0], err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (build_config(g_cl.config_path ? &g_files[0] : NULL, &g_cl, &cfg, &g_x[0], err,
			 sizeof err)) {
		fprintf(stderr, "%s\n", err);
		if (!g_cl.check && !strncmp(err, "vigil-collector: --", 19))
			fprintf(stderr, "Try 'vigil-collector --help'.\n");
		return 2;
	}
	if (g_cl.check) {
		printf("ok: %s: %zu options, %zu rules, %zu sinks\n",
		       g_cl.config_path ? g_cl.config_path : "(command line)",
		       g_cl.config_path ? g_files[0].nopts + (size_t)g_cl.n : (size_t)g_cl.n,
		       cfg.nrules, cfg.nsinks);
		return 0;
	}
	cfg.config_path = g_cl.config_path;
	cfg.reload = reload;
	cfg.reload_arg = &cfg;
	rc = server_run(&cfg);
	config_done(&g_files[0]);
	config_done(&g_files[1]);
	return rc;
}
