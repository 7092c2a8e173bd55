/* vigil-collector — parse the options, load the secrets, run the server. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
"Other:\n"
"  --verbose                  log every connection and message error\n"
"  -h, --help                 this text\n"
"  -V, --version              print the version\n"
"\n"
"Signals: SIGTERM and SIGINT flush the store and exit 0.\n"
"Documentation: README.md, docs/configuration.md, docs/protocol.md.\n");
}

enum {
	OPT_LISTEN = 256, OPT_DB, OPT_FLUSH, OPT_MAXCLI, OPT_AGENT_TOK, OPT_OPER_TOK,
	OPT_SUSPECT, OPT_FAILED, OPT_MINSD, OPT_PAUSE, OPT_SAMPLES, OPT_GRACE,
	OPT_STARTUP, OPT_TILTGAP, OPT_TILTHOLD, OPT_VERBOSE, OPT_TLS_CERT, OPT_TLS_KEY, OPT_DEG_ERR, OPT_DEG_LAT, OPT_DEG_RTT, OPT_DEG_AFTER,
	OPT_REC_AFTER, OPT_FLAP_T, OPT_FLAP_HL, OPT_SAMPLE, OPT_RAW_KEEP, OPT_AGG_KEEP,
	OPT_LEASE, OPT_DRIFT, OPT_COOLDOWN, OPT_FENCE_TO, OPT_PROMOTE_TO,
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
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "vigil-collector: %s '%s': %s\n", opt, val, want);
	fprintf(stderr, "Try 'vigil-collector --help'.\n");
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

static int parse_args(int argc, char **argv, struct server_config *cfg)
{
	const char *agent_tok = NULL, *oper_tok = NULL;
	char err[512];
	long long v;
	int64_t d;
	bool loose;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		rc = 0;
		switch (c) {
		case OPT_LISTEN:
			if (util_parse_hostport(optarg, cfg->host, sizeof cfg->host, &cfg->port, err,
						sizeof err))
				return bad("--listen", optarg, err);
			break;
		case OPT_DB:
			if (!*optarg || strlen(optarg) >= sizeof cfg->db_path)
				return bad("--db", optarg, "must be a file path");
			util_strlcpy(cfg->db_path, optarg, sizeof cfg->db_path);
			break;
		case OPT_FLUSH:
			if (util_parse_int(optarg, 5, 1000, &v))
				return bad("--flush-ms", optarg, "must be 5..1000");
			cfg->flush_ms = (int)v;
			break;
		case OPT_MAXCLI:
			if (util_parse_int(optarg, 16, 1000000, &v))
				return bad("--max-clients", optarg, "must be 16..1000000");
			cfg->max_clients = (int)v;
			break;
		case OPT_AGENT_TOK: agent_tok = optarg; break;
		case OPT_OPER_TOK: oper_tok = optarg; break;
		case OPT_SUSPECT: rc = parse_phi("--suspect-phi", optarg, &cfg->core.suspect_phi); break;
		case OPT_FAILED: rc = parse_phi("--failed-phi", optarg, &cfg->core.failed_phi); break;
		case OPT_MINSD:
			rc = parse_dur("--min-std-dev-ms", optarg, 600000, &d);
			cfg->core.min_std_dev_ms = (double)d;
			break;
		case OPT_PAUSE:
			rc = parse_dur("--acceptable-pause-ms", optarg, 600000, &d);
			cfg->core.acceptable_pause_ms = (double)d;
			break;
		case OPT_SAMPLES:
			if (util_parse_int(optarg, 2, 100000, &v))
				return bad("--max-samples", optarg, "must be 2..100000");
			cfg->core.max_samples = (int)v;
			break;
		case OPT_GRACE:
			rc = parse_dur("--reconnect-grace-ms", optarg, 3600000, &cfg->core.reconnect_grace_ms);
			break;
		case OPT_STARTUP:
			rc = parse_dur("--startup-grace-ms", optarg, 3600000, &cfg->core.startup_grace_ms);
			break;
		case OPT_TILTGAP:
			rc = parse_dur("--tilt-gap-ms", optarg, 3600000, &cfg->core.tilt_gap_ms);
			break;
		case OPT_TILTHOLD:
			rc = parse_dur("--tilt-hold-ms", optarg, 3600000, &cfg->core.tilt_hold_ms);
			break;
		case OPT_DEG_ERR: rc = parse_num("--degraded-error-rate", optarg, 1e9, &cfg->core.degraded_error_rate); break;
		case OPT_DEG_LAT: rc = parse_num("--degraded-latency-ms", optarg, 1e9, &cfg->core.degraded_latency_ms); break;
		case OPT_DEG_RTT:
			rc = parse_dur("--degraded-rtt-ms", optarg, 3600000, &cfg->core.degraded_rtt_ms);
			break;
		case OPT_DEG_AFTER:
		case OPT_REC_AFTER:
			if (util_parse_int(optarg, 1, 1000, &v))
				return bad(c == OPT_DEG_AFTER ? "--degraded-after" : "--recover-after", optarg,
					   "must be 1..1000 heartbeats");
			*(c == OPT_DEG_AFTER ? &cfg->core.degraded_after : &cfg->core.recover_after) = (int)v;
			break;
		case OPT_FLAP_T: rc = parse_num("--flap-threshold", optarg, 1000, &cfg->core.flap_threshold); break;
		case OPT_FLAP_HL:
			rc = parse_dur("--flap-half-life-ms", optarg, 86400000, &cfg->core.flap_half_life_ms);
			break;
		case OPT_SAMPLE:
			rc = parse_dur("--sample-interval-ms", optarg, 86400000, &cfg->sample_ms);
			if (!rc && cfg->sample_ms > 0 && cfg->sample_ms < 1000)
				return bad("--sample-interval-ms", optarg, "must be 0 (off) or at least 1s");
			break;
		case OPT_RAW_KEEP:
			rc = parse_dur("--raw-retention", optarg, 3650LL * 86400000, &cfg->raw_keep_ms);
			break;
		case OPT_AGG_KEEP:
			rc = parse_dur("--agg-retention", optarg, 3650LL * 86400000, &cfg->agg_keep_ms);
			break;
		case OPT_LEASE:
			rc = parse_dur("--lease-ms", optarg, 3600000, &cfg->groups.lease_ms);
			if (!rc && cfg->groups.lease_ms < 100)
				return bad("--lease-ms", optarg, "must be at least 100 ms");
			break;
		case OPT_DRIFT:
			if (util_parse_int(optarg, 1, 100, &v))
				return bad("--lease-drift-pct", optarg, "must be 1..100");
			cfg->groups.drift_pct = (int)v;
			break;
		case OPT_COOLDOWN:
			rc = parse_dur("--failover-cooldown", optarg, 86400000, &cfg->groups.cooldown_ms);
			break;
		case OPT_FENCE_TO:
		case OPT_PROMOTE_TO: {
			int64_t *dst = c == OPT_FENCE_TO ? &cfg->groups.fence_timeout_ms :
					   &cfg->groups.promote_timeout_ms;
			const char *name = c == OPT_FENCE_TO ? "--fence-timeout" : "--promote-timeout";

			rc = parse_dur(name, optarg, 3600000, dst);
			if (!rc && *dst < 100)
				return bad(name, optarg, "must be at least 100 ms");
			break;
		}
		case OPT_VERBOSE: cfg->verbose = true; break;
		case OPT_TLS_CERT:
		case OPT_TLS_KEY: {
			char *dst = c == OPT_TLS_CERT ? cfg->tls_cert : cfg->tls_key;

			if (!*optarg || strlen(optarg) >= sizeof cfg->tls_cert)
				return bad(c == OPT_TLS_CERT ? "--tls-cert" : "--tls-key", optarg, "must be a file path");
			if (access(optarg, R_OK))
				return bad(c == OPT_TLS_CERT ? "--tls-cert" : "--tls-key", optarg,
					   "cannot be read");
			util_strlcpy(dst, optarg, sizeof cfg->tls_cert);
			break;
		}
		case 'h': usage(stdout); exit(0);
		case 'V': printf("vigil-collector %s\n", VIGIL_VERSION); exit(0);
		default:
			fprintf(stderr, "Try 'vigil-collector --help'.\n");
			return 2;
		}
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "vigil-collector: unexpected argument '%s'\nTry 'vigil-collector --help'.\n",
			argv[optind]);
		return 2;
	}
	if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
		fprintf(stderr, "vigil-collector: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (groups_config_check(&cfg->groups, err, sizeof err) ||
	    core_config_check(&cfg->core, err, sizeof err)) {
		fprintf(stderr, "vigil-collector: %s\n", err);
		return 2;
	}
	if (agent_tok) {
		if (auth_load_agent_file(&cfg->auth, agent_tok, &loose, err, sizeof err)) {
			fprintf(stderr, "vigil-collector: --agent-token-file: %s\n", err);
			return 2;
		}
		if (loose)
			util_log("warn", "%s is readable by other users: chmod 600 it", agent_tok);
	}
	if (oper_tok) {
		if (auth_load_operator_file(&cfg->auth, oper_tok, &loose, err, sizeof err)) {
			fprintf(stderr, "vigil-collector: --operator-token-file: %s\n", err);
			return 2;
		}
		if (loose)
			util_log("warn", "%s is readable by other users: chmod 600 it", oper_tok);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct server_config cfg;
	int rc;

	util_log_init("vigil-collector");
	signal(SIGPIPE, SIG_IGN);
	util_strlcpy(cfg.host, "127.0.0.1", sizeof cfg.host);
	cfg.port = 7070;
	util_strlcpy(cfg.db_path, "./vigil.db", sizeof cfg.db_path);
	cfg.flush_ms = 50;
	cfg.tick_ms = 50;
	cfg.delta_ms = 250;
	cfg.max_clients = 10000;
	cfg.sample_ms = 10000;
	cfg.raw_keep_ms = 7LL * 86400000;
	cfg.agg_keep_ms = 90LL * 86400000;
	auth_init(&cfg.auth);
	core_config_defaults(&cfg.core);
	groups_config_defaults(&cfg.groups);
	/* The agents' hooks may run 30 s (their default --hook-timeout): a promote
	 * is not given up before that. */
	cfg.groups.promote_timeout_ms = 35000;
	/* A group seen for the first time waits this long before electing, so
	 * that the highest priority wins rather than the first to connect. */
	cfg.groups.elect_settle_ms = 2000;

	rc = parse_args(argc, argv, &cfg);
	if (rc)
		return rc;
	return server_run(&cfg);
}
