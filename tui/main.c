/* vigil — the operator's program: the live dashboard (no command) and the
 * command line.  It is a client of the collector, so it works from any host
 * that can reach it.  Each command is one entry of a table that says which
 * options it takes; parsing checks every option against it. */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/jsonw.h"
#include "proto/names.h"
#include "proto/proto.h"
#include "proto/urls.h"
#include "proto/util.h"
#include "tui/client.h"
#include "tui/dash.h"
#include "tui/model.h"
#include "tui/table.h"

/* Exit statuses, as crm_mon -s and Nagios plugins. */
#define EXIT_ALL_ALIVE 0
#define EXIT_NOT_ALIVE 1
#define EXIT_USAGE     2

enum {  /* option bits a command may accept */
	O_JSON = 1 << 0, O_CSV = 1 << 1, O_WIDE = 1 << 2, O_LIMIT = 1 << 3, O_KIND = 1 << 4,
	O_GROUP = 1 << 5, O_SINCE = 1 << 6, O_UNTIL = 1 << 7, O_FRAMES = 1 << 8,
	O_TO = 1 << 9, O_REASON = 1 << 10, O_DRYRUN = 1 << 11, O_YES = 1 << 12, O_FOR = 1 << 13,
	O_FORCE = 1 << 14, O_FIRING = 1 << 15, O_ALL = 1 << 16, O_RULE = 1 << 17, O_NODE = 1 << 18,
};
#define O_LAST O_NODE
#define O_ACT (O_REASON | O_DRYRUN | O_YES | O_JSON)   /* every operator action takes these */

enum arg_kind { ARG_NONE, ARG_NODE_OPT, ARG_ID, ARG_TIME, ARG_GROUP, ARG_NODE, ARG_NODE_ONOFF,
		ARG_ALERT, ARG_SILENCE };

struct opts;
typedef int (*cmd_fn)(const struct opts *o);

struct command {
	const char *name;
	unsigned opts;
	enum arg_kind arg;
	cmd_fn fn;
	const char *usage;
};

struct opts {
	const struct command *cmd;
	struct ws_url url;
	char token[300];
	int timeout_ms;
	bool insecure;
	bool json, csv, wide;
	int frames;
	int limit;
	char kind[128];
	char group[PROTO_NAME_MAX + 1];
	int64_t since_ms, until_ms;
	const char *arg, *arg2;
	int64_t arg_id, arg_time;
	/* operator actions */
	char to[PROTO_NAME_MAX + 1];
	char reason[PROTO_TEXT_MAX + 1];
	bool dry_run, yes, force, on;
	int64_t for_ms;
	/* alerts */
	bool all;
	char rule[PROTO_NAME_MAX + 1];
	char node[PROTO_NAME_MAX + 1];
};

static int cmd_status(const struct opts *o);
static int cmd_nodes(const struct opts *o);
static int cmd_history(const struct opts *o);
static int cmd_explain(const struct opts *o);
static int cmd_report(const struct opts *o);
static int cmd_at(const struct opts *o);
static int cmd_act(const struct opts *o);
static int cmd_alerts(const struct opts *o);
static int cmd_ack(const struct opts *o);
static int cmd_silence(const struct opts *o);

static const struct command commands[] = {
	{ "status", O_JSON, ARG_NONE, cmd_status,
	  "Usage: vigil status [--json]\n\n"
	  "One summary line, the groups (members, alive) and the nodes (state, role, last\n"
	  "heartbeat, phi, WHY: the rule behind the state, health reasons, flapping).\n"
	  "--json prints the collector's status object: {\"collector\", \"summary\", \"nodes\",\n"
	  "\"groups\"} (docs/protocol.md).  Exit 0 if every node is alive, 1 if one is not,\n"
	  "2 on a usage or connection error.\n" },
	{ "nodes", O_JSON | O_WIDE, ARG_NONE, cmd_nodes,
	  "Usage: vigil nodes [--json] [--wide]\n\n"
	  "The node table; --wide adds round trip, health checks, cpu, memory, load, disk\n"
	  "and agent version.  --json prints {\"nodes\": [...], \"groups\": [...]}.\n"
	  "Exit status as for status.\n" },
	{ "history", O_JSON | O_CSV | O_LIMIT | O_KIND | O_GROUP | O_SINCE | O_UNTIL, ARG_NODE_OPT,
	  cmd_history,
	  "Usage: vigil history [NODE | --group G] [--since T] [--until T] [--kind K[,K...]]\n"
	  "                     [--limit N] [--json | --csv]\n\n"
	  "What happened, newest first (default 50, at most 10000): state changes with their\n"
	  "evidence, connections, agent events, flapping, the collector's own tilt.  K is\n"
	  "state, conn, agent, flap, collector, alert, failover, audit or hook.  T is a\n"
	  "duration back from now (90s, 1h, 7d), an ISO time (2026-11-20T10:00Z), 'now' or\n"
	  "@MS.  The ID column is what `vigil explain` takes.\n" },
	{ "events", O_JSON | O_CSV | O_LIMIT | O_KIND | O_GROUP | O_SINCE | O_UNTIL, ARG_NODE_OPT,
	  cmd_history, "Usage: vigil events ...: the same as vigil history.\n" },
	{ "explain", O_JSON, ARG_ID, cmd_explain,
	  "Usage: vigil explain EVENT_ID [--json]\n\n"
	  "The evidence behind one event of the history: the rule that decided, phi and the\n"
	  "heartbeat interval statistics with the thresholds they were judged by, who or\n"
	  "what acted, and the node's events just before and after.\n" },
	{ "report", O_JSON | O_GROUP | O_SINCE | O_UNTIL, ARG_NONE, cmd_report,
	  "Usage: vigil report [--since T] [--until T] [--group G] [--json]\n\n"
	  "Per node over the window (default the last 7 days): availability % (time alive or\n"
	  "degraded over time observed, left and maintenance not counted), failures (outages\n"
	  "that reached failed), MTTR (mean outage length), MTBF (up time per failure) and\n"
	  "time to detect (last heartbeat to first verdict); per group, failovers and their\n"
	  "detect -> decide -> promoted times (p50, p99).\n" },
	{ "at", O_JSON, ARG_TIME, cmd_at,
	  "Usage: vigil at TIME [--json]\n\n"
	  "The cluster as it was at TIME (2026-11-20T10:00Z, 2h, @MS), rebuilt from the\n"
	  "history: every node known then, its state and the rule that put it there.\n" },
	{ "failover", O_ACT | O_TO | O_FORCE, ARG_GROUP, cmd_act,
	  "Usage: vigil failover GROUP [--to NODE] --reason TEXT [--dry-run] [--yes] [--force]\n\n"
	  "Make another member of GROUP its leader: the old leader is fenced (its fence hook\n"
	  "runs if it is reachable), then the new one is promoted at a new epoch, never\n"
	  "before the old leader's lease has surely run out.  Without --to the best eligible\n"
	  "candidate is chosen (priority, then name).  Refused without quorum or while the\n"
	  "leader is healthy (use switchover) unless --force.  Prints the pre-flight (ranked\n"
	  "candidates, what would block), asks you to type the group's name (or --yes),\n"
	  "then waits for the outcome.  Exit 0 done, 1 refused or failed, 2 usage/connection.\n" },
	{ "switchover", O_ACT | O_TO | O_FORCE, ARG_GROUP, cmd_act,
	  "Usage: vigil switchover GROUP --to NODE --reason TEXT [--dry-run] [--yes]\n\n"
	  "Graceful change of leader: the healthy leader runs its demote hook first, then\n"
	  "NODE is promoted at a new epoch.  Confirmation and exit status as for failover.\n" },
	{ "pause", O_ACT | O_FOR, ARG_GROUP, cmd_act,
	  "Usage: vigil pause GROUP [--for DURATION] --reason TEXT [--dry-run] [--yes]\n\n"
	  "Stop automatic failover in GROUP (manual commands still work), until `vigil\n"
	  "resume` or for DURATION (30m, 2h).  Survives a collector restart.\n" },
	{ "resume", O_ACT, ARG_GROUP, cmd_act,
	  "Usage: vigil resume GROUP --reason TEXT [--dry-run] [--yes]\n\n"
	  "Turn automatic failover in GROUP back on.\n" },
	{ "maintenance", O_ACT | O_FOR, ARG_NODE_ONOFF, cmd_act,
	  "Usage: vigil maintenance NODE on|off [--for DURATION] --reason TEXT [--dry-run] [--yes]\n\n"
	  "Put NODE in maintenance (shown as maintenance, never a failover candidate;\n"
	  "detection goes on underneath) or take it out.  --for ends it on its own.\n" },
	{ "forget", O_ACT, ARG_NODE, cmd_act,
	  "Usage: vigil forget NODE --reason TEXT [--dry-run] [--yes]\n\n"
	  "Decommission NODE: it leaves its group's expected members (quorum is counted\n"
	  "over them), the status, the dashboard and /metrics, its alerts resolve, and a\n"
	  "collector restart does not bring it back.  Its history (events, samples,\n"
	  "failovers, audit) is kept.  Refused while it is connected, the leader or part\n"
	  "of a failover.  An agent that later says hello with that name is a new node.\n" },
	{ "alerts", O_JSON | O_FIRING | O_ALL | O_LIMIT, ARG_NONE, cmd_alerts,
	  "Usage: vigil alerts [--firing | --all] [--limit N] [--json]\n\n"
	  "The collector's alerts, newest first: firing ones (the default, --firing), or\n"
	  "with --all the resolved ones too.  STATE is firing, silenced or inhibited (held\n"
	  "back: recorded and shown, not sent to the sinks) or resolved; ACK says who\n"
	  "acknowledged it.  --json prints {\"alerts\": [...], \"firing\", \"pending\"}.\n"
	  "Exit 0 when none fires, 1 when some alert fires, 2 on an error.\n" },
	{ "ack", O_JSON | O_REASON, ARG_ALERT, cmd_ack,
	  "Usage: vigil ack ALERT_ID --reason TEXT [--json]\n\n"
	  "Acknowledge a firing alert (its ID from vigil alerts, or its fingerprint): it is\n"
	  "no longer re-sent to the sinks (its resolve still is); who, when and why are\n"
	  "recorded.  Needs the operator role.  Exit 0 done, 1 refused, 2 usage/connection.\n" },
	{ "silence", O_JSON | O_REASON | O_RULE | O_NODE | O_GROUP | O_FOR, ARG_SILENCE, cmd_silence,
	  "Usage: vigil silence add [--rule R] [--node N] [--group G] --for DURATION --reason TEXT\n"
	  "       vigil silence list [--json]\n"
	  "       vigil silence expire SILENCE_ID --reason TEXT\n\n"
	  "A silence holds back the alerts it matches (each matcher left out matches\n"
	  "anything; at least one is needed) until it expires: they are recorded and shown,\n"
	  "not sent.  When it ends, alerts that still fire are sent then.  add and expire\n"
	  "need the operator role.  Exit 0 done, 1 refused, 2 usage/connection.\n" },
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vigil [OPTIONS] [COMMAND [ARGS]]\n"
"\n"
"Watch and query a vigil cluster.  With no command, opens the live dashboard.\n"
"\n"
"Commands:\n"
"  status [--json]            summary, groups and nodes\n"
"  nodes [--json] [--wide]    the node table (--wide adds metrics)\n"
"  history [NODE | --group G] [--since T] [--until T] [--kind K] [--limit N]\n"
"          [--json | --csv]   what happened, with evidence (alias: events)\n"
"  explain EVENT_ID [--json]  the evidence behind one event\n"
"  report [--since T] [--until T] [--group G] [--json]\n"
"                             availability, failures, MTTR, MTBF, time to detect\n"
"  at TIME [--json]           the cluster as it was at TIME\n"
"\n"
"Operator actions (each needs --reason TEXT; --dry-run prints the pre-flight only;\n"
"they ask for confirmation unless --yes; exit 1 when refused, saying why):\n"
"  failover GROUP [--to NODE] [--force]   make another member the leader\n"
"  switchover GROUP --to NODE             graceful: demote the healthy leader first\n"
"  pause GROUP [--for DURATION]           no automatic failover (until resumed)\n"
"  resume GROUP                           automatic failover again\n"
"  maintenance NODE on|off [--for DURATION]  take a node out of candidacy\n"
"  forget NODE                            decommission a dead node (history kept)\n"
"\n"
"Alerts:\n"
"  alerts [--firing | --all] [--json]     firing (or all recent) alerts\n"
"  ack ALERT_ID --reason TEXT             acknowledge a firing alert\n"
"  silence add [--rule R] [--node N] [--group G] --for D --reason TEXT\n"
"  silence list [--json]                  silences in force\n"
"  silence expire SILENCE_ID --reason TEXT   end a silence now\n"
"  help [COMMAND]             this text, or a command's\n"
"\n"
"Options:\n"
"  --collector URL            ws://HOST:PORT or wss://HOST:PORT (default\n"
"                             $VIGIL_COLLECTOR, else ws://127.0.0.1:7070)\n"
"  --token-file FILE          operator token (default $VIGIL_TOKEN_FILE)\n"
"  --timeout-ms N             how long to wait for the collector (default 5000)\n"
"  --insecure                 wss: accept a self-signed certificate\n"
"  --frames N                 dashboard: draw N refreshes, then exit (tests)\n"
"  -h, --help                 this text\n"
"  -V, --version              print the version\n"
"\n"
"Times (T): a duration back from now (90s, 1h, 7d), an ISO time\n"
"(2026-11-20T10:00Z), 'now', or @MS.\n"
"\n"
"Exit status of status and nodes: 0 every node alive, 1 some node is not,\n"
"2 usage or connection error; of the other commands 0, or 2 on an error.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

enum { OPT_COLLECTOR = 256, OPT_TOKEN, OPT_TIMEOUT, OPT_INSECURE, OPT_JSON, OPT_CSV, OPT_WIDE,
       OPT_FRAMES, OPT_LIMIT, OPT_KIND, OPT_GROUP, OPT_SINCE, OPT_UNTIL, OPT_TO, OPT_REASON,
       OPT_DRYRUN, OPT_YES, OPT_FOR, OPT_FORCE, OPT_FIRING, OPT_ALL, OPT_RULE, OPT_NODE };

static const struct option longopts[] = {
	{ "collector", required_argument, NULL, OPT_COLLECTOR },
	{ "token-file", required_argument, NULL, OPT_TOKEN },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "wide", no_argument, NULL, OPT_WIDE },
	{ "frames", required_argument, NULL, OPT_FRAMES },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "to", required_argument, NULL, OPT_TO },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "dry-run", no_argument, NULL, OPT_DRYRUN },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "for", required_argument, NULL, OPT_FOR },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "firing", no_argument, NULL, OPT_FIRING },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "rule", required_argument, NULL, OPT_RULE },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vigil: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vigil --help'.\n");
	return EXIT_USAGE;
}

static const char *opt_name(unsigned bit)
{
	static const char *const names[] = { "--json", "--csv", "--wide", "--limit", "--kind",
					     "--group", "--since", "--until", "--frames", "--to",
					     "--reason", "--dry-run", "--yes", "--for", "--force",
					     "--firing", "--all", "--rule", "--node" };

	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
		if (bit == 1u << i)
			return names[i];
	return "?";
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *url = getenv("VIGIL_COLLECTOR"), *token_file = getenv("VIGIL_TOKEN_FILE");
	const char *since = NULL, *until = NULL, *cmdname = NULL;
	int64_t now = util_wall_ms();
	unsigned seen = 0;
	bool help = false;
	char err[512];
	long long v;
	int c;

	o->timeout_ms = 5000;
	o->limit = 50;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_COLLECTOR: url = optarg; break;
		case OPT_TOKEN: token_file = optarg; break;
		case OPT_TIMEOUT:
			if (util_parse_int(optarg, 100, 600000, &v))
				return bad("--timeout-ms '%s': must be 100..600000", optarg);
			o->timeout_ms = (int)v;
			break;
		case OPT_INSECURE: o->insecure = true; break;
		case OPT_JSON: o->json = true; seen |= O_JSON; break;
		case OPT_CSV: o->csv = true; seen |= O_CSV; break;
		case OPT_WIDE: o->wide = true; seen |= O_WIDE; break;
		case OPT_FRAMES:
			if (util_parse_int(optarg, 1, 1000000, &v))
				return bad("--frames '%s': must be 1..1000000", optarg);
			o->frames = (int)v;
			seen |= O_FRAMES;
			break;
		case OPT_LIMIT:
			if (util_parse_int(optarg, 1, 10000, &v))
				return bad("--limit '%s': must be 1..10000", optarg);
			o->limit = (int)v;
			seen |= O_LIMIT;
			break;
		case OPT_KIND:
			if (!proto_kind_list_is_valid(optarg))
				return bad("--kind '%s': must be a comma list of state, conn, agent, flap, "
					   "collector, alert, failover, audit, hook", optarg);
			util_strlcpy(o->kind, optarg, sizeof o->kind);
			seen |= O_KIND;
			break;
		case OPT_GROUP:
			if (!name_is_valid(optarg, PROTO_NAME_MAX))
				return bad("--group '%s': must match [A-Za-z0-9._-]{1,64}", optarg);
			util_strlcpy(o->group, optarg, sizeof o->group);
			seen |= O_GROUP;
			break;
		case OPT_SINCE: since = optarg; seen |= O_SINCE; break;
		case OPT_TO:
			if (!name_is_valid(optarg, PROTO_NAME_MAX))
				return bad("--to '%s': must be a node name ([A-Za-z0-9._-]{1,64})", optarg);
			util_strlcpy(o->to, optarg, sizeof o->to);
			seen |= O_TO;
			break;
		case OPT_REASON:
			if (!text_is_valid(optarg, PROTO_TEXT_MAX) || !optarg[strspn(optarg, " ")])
				return bad("--reason: must be non-empty printable text of at most %d bytes",
					   PROTO_TEXT_MAX);
			util_strlcpy(o->reason, optarg, sizeof o->reason);
			seen |= O_REASON;
			break;
		case OPT_DRYRUN: o->dry_run = true; seen |= O_DRYRUN; break;
		case OPT_YES: o->yes = true; seen |= O_YES; break;
		case OPT_FORCE: o->force = true; seen |= O_FORCE; break;
		case OPT_FOR:
			if (util_parse_duration_ms(optarg, &o->for_ms) || o->for_ms <= 0 ||
			    o->for_ms > 366LL * 24 * 3600 * 1000)
				return bad("--for '%s': must be a duration such as 30m, 2h or 7d (up to a year)",
					   optarg);
			seen |= O_FOR;
			break;
		case OPT_UNTIL: until = optarg; seen |= O_UNTIL; break;
		case OPT_FIRING: o->all = false; seen |= O_FIRING; break;
		case OPT_ALL: o->all = true; seen |= O_ALL; break;
		case OPT_RULE:
		case OPT_NODE:
			if (!name_is_valid(optarg, PROTO_NAME_MAX))
				return bad("%s '%s': must match [A-Za-z0-9._-]{1,64}",
					   c == OPT_RULE ? "--rule" : "--node", optarg);
			util_strlcpy(c == OPT_RULE ? o->rule : o->node, optarg, sizeof o->rule);
			seen |= c == OPT_RULE ? O_RULE : O_NODE;
			break;
		case 'h': help = true; break;
		case 'V': printf("vigil %s\n", VIGIL_VERSION); exit(0);
		default:
			fprintf(stderr, "Try 'vigil --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		cmdname = argv[optind++];
	if (optind < argc)
		o->arg = argv[optind++];
	if (optind < argc)
		o->arg2 = argv[optind++];
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (cmdname && strcmp(cmdname, "help") == 0) {
		const struct command *hc = o->arg ? find_command(o->arg) : NULL;

		if (hc)
			fputs(hc->usage, stdout);
		else
			usage(stdout);
		exit(0);
	}
	if (cmdname) {
		o->cmd = find_command(cmdname);
		if (!o->cmd)
			return bad("unknown command '%s' (status, nodes, history, explain, report, at, "
				   "failover, switchover, pause, resume, maintenance, forget, alerts, ack, "
				   "silence, help)", cmdname);
	}
	if (help) {
		if (o->cmd)
			fputs(o->cmd->usage, stdout);
		else
			usage(stdout);
		exit(0);
	}
	if (o->arg2 && (!o->cmd || (o->cmd->arg != ARG_NODE_ONOFF && o->cmd->arg != ARG_SILENCE)))
		return bad("unexpected argument '%s'", o->arg2);
	for (unsigned bit = 1; bit <= O_LAST; bit <<= 1) {
		unsigned allowed = o->cmd ? o->cmd->opts : O_FRAMES;

		if ((seen & bit) && !(allowed & bit))
			return bad("%s does not go with %s", opt_name(bit), o->cmd ? o->cmd->name :
				   "the dashboard");
	}
	if (o->json && o->csv)
		return bad("--json and --csv%s", ": choose one");
	if ((seen & O_FIRING) && (seen & O_ALL))
		return bad("--firing and --all%s", ": choose one");
	switch (o->cmd ? o->cmd->arg : ARG_NONE) {
	case ARG_NONE:
		if (o->arg)
			return bad("unexpected argument '%s'", o->arg);
		break;
	case ARG_NODE_OPT:
		if (o->arg && !name_is_valid(o->arg, PROTO_NAME_MAX))
			return bad("node '%s': must match [A-Za-z0-9._-]{1,64}", o->arg);
		if (o->arg && o->group[0])
			return bad("give a node or --group, not both%s", "");
		break;
	case ARG_ID:
		if (!o->arg)
			return bad("%s needs an EVENT_ID (the ID column of vigil history)", o->cmd->name);
		if (util_parse_int(o->arg, 1, 9007199254740992LL, &v))
			return bad("event id '%s': must be a positive integer", o->arg);
		o->arg_id = v;
		break;
	case ARG_TIME:
		if (!o->arg)
			return bad("%s needs a TIME (2026-11-20T10:00Z, 2h, @MS)", o->cmd->name);
		if (util_parse_time(o->arg, now, &o->arg_time, err, sizeof err))
			return bad("%s", err);
		break;
	case ARG_ALERT:
		if (!o->arg)
			return bad("ack needs an ALERT_ID (the ID column of vigil alerts)%s", "");
		if (!text_is_valid(o->arg, PROTO_ALERT_KEY_MAX))
			return bad("alert '%s': must be an alert id or fingerprint", o->arg);
		if (!o->reason[0])
			return bad("ack needs --reason TEXT: say why (it is recorded with your name)%s", "");
		break;
	case ARG_SILENCE:
		if (!o->arg || (strcmp(o->arg, "add") && strcmp(o->arg, "list") &&
				strcmp(o->arg, "expire")))
			return bad("silence needs add, list or expire%s", "");
		if (strcmp(o->arg, "expire") == 0) {
			if (!o->arg2 || util_parse_int(o->arg2, 1, 9007199254740992LL, &v))
				return bad("silence expire needs a SILENCE_ID (the ID column of vigil silence "
					   "list)%s", "");
			o->arg_id = v;
		} else if (o->arg2) {
			return bad("unexpected argument '%s'", o->arg2);
		}
		if (strcmp(o->arg, "list") == 0) {
			if (seen & ~O_JSON)
				return bad("silence list takes only --json%s", "");
			break;
		}
		if (strcmp(o->arg, "add") == 0) {
			if (!o->rule[0] && !o->node[0] && !o->group[0])
				return bad("silence add needs at least one of --rule, --node, --group%s", "");
			if (!o->for_ms || o->for_ms < 1000)
				return bad("silence add needs --for DURATION (at least 1s: 30m, 2h, 7d)%s", "");
		} else if (seen & (O_RULE | O_NODE | O_GROUP | O_FOR)) {
			return bad("silence expire takes only the id, --reason and --json%s", "");
		}
		if (!o->reason[0])
			return bad("silence %s needs --reason TEXT: say why (it is recorded with your name)",
				   o->arg);
		break;
	case ARG_GROUP:
	case ARG_NODE:
	case ARG_NODE_ONOFF:
		if (!o->arg)
			return bad("%s needs a %s", o->cmd->name, o->cmd->arg == ARG_GROUP ? "GROUP" : "NODE");
		if (!name_is_valid(o->arg, PROTO_NAME_MAX))
			return bad("%s '%s': must match [A-Za-z0-9._-]{1,64}",
				   o->cmd->arg == ARG_GROUP ? "group" : "node", o->arg);
		if (o->cmd->arg == ARG_NODE_ONOFF) {
			if (!o->arg2 || (strcmp(o->arg2, "on") && strcmp(o->arg2, "off")))
				return bad("maintenance needs NODE on|off%s", "");
			o->on = strcmp(o->arg2, "on") == 0;
			if (!o->on && o->for_ms)
				return bad("--for goes with maintenance on, not off%s", "");
		}
		if (strcmp(o->cmd->name, "switchover") == 0 && !o->to[0])
			return bad("switchover needs --to NODE (the node to promote)%s", "");
		if (!o->reason[0] && !o->dry_run)
			return bad("%s needs --reason TEXT: say why (it is recorded with your name)",
				   o->cmd->name);
		break;
	}
	if (since && util_parse_time(since, now, &o->since_ms, err, sizeof err))
		return bad("--since: %s", err);
	if (until && util_parse_time(until, now, &o->until_ms, err, sizeof err))
		return bad("--until: %s", err);
	if (o->since_ms && o->until_ms && o->since_ms > o->until_ms)
		return bad("--since %s is after --until %s", since, until);
	if (ws_url_parse(url ? url : "ws://127.0.0.1:7070", &o->url, err, sizeof err))
		return bad("collector address '%s': %s", url, err);
	if (token_file && *token_file) {
		bool loose;

		if (util_read_token_file(token_file, o->token, sizeof o->token, &loose, err, sizeof err)) {
			fprintf(stderr, "vigil: %s\n", err);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* Send one query; return the result's "data" (the caller deletes *root), or
 * NULL after printing why. */
/* Send one request (n bytes of req, n < 0: it did not encode) and parse
 * the reply; NULL after printing why. */
static cJSON *request(const struct opts *o, const char *req, int n, int64_t id)
{
	char err[512], *reply;
	cJSON *root;

	if (n < 0) {
		fprintf(stderr, "vigil: the request does not fit in one message\n");
		return NULL;
	}
	reply = oclient_request(&o->url, o->token, o->insecure, req, (size_t)n, (long long)id,
				o->timeout_ms, err, sizeof err);
	if (!reply) {
		char url[600];

		ws_url_format(&o->url, url, sizeof url);
		fprintf(stderr, "vigil: collector %s: %s\n", url, err);
		return NULL;
	}
	root = cJSON_Parse(reply);
	free(reply);
	if (!root)
		fprintf(stderr, "vigil: the collector sent a malformed reply\n");
	return root;
}

static cJSON *query(const struct opts *o, const struct oper_msg *q, cJSON **root)
{
	char req[1024];
	const cJSON *t, *ok, *data, *e, *msg;

	*root = request(o, req, proto_encode_query(req, sizeof req, q), q->id);
	if (!*root)
		return NULL;
	t = cJSON_GetObjectItemCaseSensitive(*root, "type");
	ok = cJSON_GetObjectItemCaseSensitive(*root, "ok");
	data = cJSON_GetObjectItemCaseSensitive(*root, "data");
	if (cJSON_IsString(t) && strcmp(t->valuestring, "result") == 0 && cJSON_IsTrue(ok) &&
	    cJSON_IsObject(data))
		return (cJSON *)data;
	e = cJSON_GetObjectItemCaseSensitive(*root, "error");
	msg = cJSON_GetObjectItemCaseSensitive(cJSON_IsObject(e) ? e : *root, "message");
	fprintf(stderr, "vigil: %s\n", cJSON_IsString(msg) ? msg->valuestring :
		"the collector sent a malformed reply");
	cJSON_Delete(*root);
	*root = NULL;
	return NULL;
}

static void print_json(const cJSON *j)
{
	char *text = cJSON_Print(j);

	if (text)
		printf("%s\n", text);
	free(text);
}

static void print_buf(struct jw *w)
{
	if (jw_finish(w) >= 0)
		fputs(w->buf, stdout);
	free(w->buf);
}

/* A table, or the line that says it is empty; then free the table. */
static void print_table(struct table *t, bool any, const char *empty)
{
	struct jw w;

	jw_init_dynamic(&w, 4096);
	if (t && any)
		table_render(t, &w);
	else
		jw_raw(&w, empty, strlen(empty));
	print_buf(&w);
	table_free(t);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void fmt_ms(double ms, char *buf, size_t len)
{
	if (isfinite(ms))
		util_fmt_age((int64_t)ms, buf, len);
	else
		util_strlcpy(buf, "-", len);
}

/* ---- status, nodes ----------------------------------------------------- */

static int show_status(const struct opts *o, bool nodes_only)
{
	struct oper_msg q = { .type = OMSG_QUERY, .id = 1 };
	struct model m;
	cJSON *root, *data;
	char *text, err[256];
	struct jw w;
	int rc;

	util_strlcpy(q.what, "status", sizeof q.what);
	data = query(o, &q, &root);
	if (!data)
		return EXIT_USAGE;
	model_init(&m);
	text = cJSON_PrintUnformatted(data);
	if (!text || model_apply(&m, text, strlen(text), true, util_mono_ms(), err, sizeof err)) {
		fprintf(stderr, "vigil: %s\n", text ? err : "out of memory");
		free(text);
		cJSON_Delete(root);
		return EXIT_USAGE;
	}
	free(text);
	if (o->json && nodes_only) {
		cJSON *slim = cJSON_CreateObject();

		cJSON_AddItemReferenceToObject(slim, "nodes", cJSON_GetObjectItemCaseSensitive(data, "nodes"));
		cJSON_AddItemReferenceToObject(slim, "groups", cJSON_GetObjectItemCaseSensitive(data, "groups"));
		print_json(slim);
		cJSON_Delete(slim);
	} else if (o->json) {
		print_json(data);
	} else {
		jw_init_dynamic(&w, 4096);
		if (!nodes_only) {
			render_summary(&m, &w);
			if (m.ng) {
				jw_raw(&w, "\n", 1);
				render_groups(&m, &w);
			}
			jw_raw(&w, "\n", 1);
		}
		if (m.n)
			render_nodes(&m, util_mono_ms(), o->wide, &w);
		else
			jw_raw(&w, "no node has connected yet\n", 26);
		print_buf(&w);
	}
	rc = model_not_alive(&m) ? EXIT_NOT_ALIVE : EXIT_ALL_ALIVE;
	model_done(&m);
	cJSON_Delete(root);
	return rc;
}

static int cmd_status(const struct opts *o) { return show_status(o, false); }
static int cmd_nodes(const struct opts *o) { return show_status(o, true); }

/* ---- history ----------------------------------------------------------- */

static void event_cells(const cJSON *e, char *id, char *ts, char *change, char *phi, char *age,
			size_t len)
{
	const char *from = jstr(e, "from"), *to = jstr(e, "to");

	snprintf(id, len, "%.0f", jnum(e, "id"));
	util_fmt_time((int64_t)jnum(e, "ts_ms"), ts, len);
	if (to[0])
		snprintf(change, len, "%s -> %s", from[0] ? from : "new", to);
	else
		change[0] = '\0';
	if (isfinite(jnum(e, "phi")))
		snprintf(phi, len, "%.2f", jnum(e, "phi"));
	else
		util_strlcpy(phi, "-", len);
	fmt_ms(jnum(e, "hb_age_ms"), age, len);
}

/* RFC 4180: quote every field, double the quotes. */
static void csv_field(const char *s, bool last)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
	putchar(last ? '\n' : ',');
}

static int cmd_history(const struct opts *o)
{
	static const char *const hdr[] = { "ID", "TIME (UTC)", "NODE", "GROUP", "KIND", "CHANGE",
					   "RULE", "PHI", "HB-AGE", "DETAIL" };
	struct oper_msg q = { .type = OMSG_QUERY, .id = 1, .limit = o->limit,
			      .since_ms = o->since_ms, .until_ms = o->until_ms };
	cJSON *root, *data;
	const cJSON *arr, *e;
	struct table *t;

	util_strlcpy(q.what, "history", sizeof q.what);
	util_strlcpy(q.node, o->arg ? o->arg : "", sizeof q.node);
	util_strlcpy(q.group, o->group, sizeof q.group);
	util_strlcpy(q.kind, o->kind, sizeof q.kind);
	data = query(o, &q, &root);
	if (!data)
		return EXIT_USAGE;
	arr = cJSON_GetObjectItemCaseSensitive(data, "events");
	if (o->json) {
		print_json(data);
		cJSON_Delete(root);
		return 0;
	}
	if (o->csv) {
		static const char *const cols[] = { "id", "ts_ms", "time", "node", "group", "kind", "from",
						    "to", "rule", "phi", "interval_mean_ms",
						    "interval_sd_ms", "hb_age_ms", "detail" };

		for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
			csv_field(cols[i], i + 1 == sizeof cols / sizeof cols[0]);
		cJSON_ArrayForEach(e, arr) {
			char num[8][40], ts[40];
			const char *numk[] = { "id", "ts_ms", "phi", "interval_mean_ms", "interval_sd_ms",
					       "hb_age_ms" };

			for (int i = 0; i < 6; i++) {
				double v = jnum(e, numk[i]);

				if (isfinite(v))
					snprintf(num[i], sizeof num[i], i >= 2 && i <= 4 ? "%.3f" : "%.0f", v);
				else
					num[i][0] = '\0';
			}
			util_fmt_time((int64_t)jnum(e, "ts_ms"), ts, sizeof ts);
			csv_field(num[0], false); csv_field(num[1], false); csv_field(ts, false);
			csv_field(jstr(e, "node"), false); csv_field(jstr(e, "group"), false);
			csv_field(jstr(e, "kind"), false); csv_field(jstr(e, "from"), false);
			csv_field(jstr(e, "to"), false); csv_field(jstr(e, "rule"), false);
			csv_field(num[2], false); csv_field(num[3], false); csv_field(num[4], false);
			csv_field(num[5], false); csv_field(jstr(e, "detail"), true);
		}
		cJSON_Delete(root);
		return 0;
	}
	t = table_new(10, hdr);
	cJSON_ArrayForEach(e, arr) {
		char id[40], ts[40], change[40], phi[40], age[40];
		const char *row[] = { id, ts, jstr(e, "node"), jstr(e, "group"), jstr(e, "kind"), change,
				      jstr(e, "rule"), phi, age, jstr(e, "detail") };

		event_cells(e, id, ts, change, phi, age, 40);
		if (t)
			table_add(t, row);
	}
	print_table(t, cJSON_GetArraySize(arr) > 0, "no events in that range\n");
	cJSON_Delete(root);
	return 0;
}

/* ---- explain ----------------------------------------------------------- */

static int cmd_explain(const struct opts *o)
{
	struct oper_msg q = { .type = OMSG_QUERY, .id = 1, .event_id = o->arg_id };
	cJSON *root, *data;
	const cJSON *e, *ctx, *c;
	char ts[40], val[64];

	util_strlcpy(q.what, "explain", sizeof q.what);
	data = query(o, &q, &root);
	if (!data)
		return EXIT_USAGE;
	if (o->json) {
		print_json(data);
		cJSON_Delete(root);
		return 0;
	}
	e = cJSON_GetObjectItemCaseSensitive(data, "event");
	util_fmt_time((int64_t)jnum(e, "ts_ms"), ts, sizeof ts);
	printf("event %.0f at %s\n", jnum(e, "id"), ts);
	if (jstr(e, "to")[0])
		printf("  what:      node %s (group %s): %s -> %s\n", jstr(e, "node"), jstr(e, "group"),
		       jstr(e, "from")[0] ? jstr(e, "from") : "new", jstr(e, "to"));
	else
		printf("  what:      %s %s%s%s\n", jstr(e, "kind"), jstr(e, "rule"),
		       jstr(e, "node")[0] ? " on node " : "", jstr(e, "node"));
	printf("  rule:      %s\n", jstr(e, "rule"));
	printf("  decided:   %s\n", jstr(data, "decided_by"));
	if (jstr(e, "detail")[0])
		printf("  why:       %s\n", jstr(e, "detail"));
	if (isfinite(jnum(e, "phi"))) {
		printf("  evidence:  phi %.2f", jnum(e, "phi"));
		if (isfinite(jnum(e, "interval_mean_ms")))
			printf(", heartbeat intervals %.1f ms +- %.1f ms", jnum(e, "interval_mean_ms"),
			       jnum(e, "interval_sd_ms"));
		if (isfinite(jnum(e, "samples")) && jnum(e, "samples") >= 0)
			printf(" over %.0f samples", jnum(e, "samples"));
		fmt_ms(jnum(e, "hb_age_ms"), val, sizeof val);
		printf(", last heartbeat %s before\n", val);
	}
	ctx = cJSON_GetObjectItemCaseSensitive(data, "context");
	if (cJSON_GetArraySize(ctx) > 0)
		printf("  around it (node %s):\n", jstr(e, "node"));
	cJSON_ArrayForEach(c, ctx) {
		char id[40], cts[40], change[40], phi[40], age[40];

		event_cells(c, id, cts, change, phi, age, 40);
		printf("  %s %8s  %s  %-6s %-22s %s\n", jnum(c, "id") == jnum(e, "id") ? ">" : " ", id,
		       cts, jstr(c, "kind"), change[0] ? change : jstr(c, "rule"),
		       change[0] ? jstr(c, "rule") : "");
	}
	cJSON_Delete(root);
	return 0;
}

/* ---- report ------------------------------------------------------------ */

static int cmd_report(const struct opts *o)
{
	static const char *const nh[] = { "NODE", "GROUP", "AVAIL%", "FAILURES", "MTTR", "MTBF",
					  "DETECT", "DOWN", "OBSERVED" };
	static const char *const gh[] = { "GROUP", "FAILOVERS", "DETECT->DECIDE p50/p99",
					  "DECIDE->PROMOTED p50/p99", "TOTAL p50/p99" };
	struct oper_msg q = { .type = OMSG_QUERY, .id = 1, .since_ms = o->since_ms,
			      .until_ms = o->until_ms };
	cJSON *root, *data;
	const cJSON *r;
	struct table *t;
	struct jw w;
	char from[40], to[40];

	util_strlcpy(q.what, "report", sizeof q.what);
	util_strlcpy(q.group, o->group, sizeof q.group);
	if (!q.since_ms)
		q.since_ms = util_wall_ms() - 7LL * 86400000;
	data = query(o, &q, &root);
	if (!data)
		return EXIT_USAGE;
	if (o->json) {
		print_json(data);
		cJSON_Delete(root);
		return 0;
	}
	util_fmt_time((int64_t)jnum(data, "since_ms"), from, sizeof from);
	util_fmt_time((int64_t)jnum(data, "until_ms"), to, sizeof to);
	printf("report from %s to %s\n\n", from, to);
	jw_init_dynamic(&w, 4096);
	t = table_new(9, nh);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(data, "nodes")) {
		char av[24], fl[24], mttr[24], mtbf[24], ttd[24], down[24], obs[24];
		const char *row[] = { jstr(r, "node"), jstr(r, "group"), av, fl, mttr, mtbf, ttd, down, obs };

		if (isfinite(jnum(r, "availability_pct")))
			snprintf(av, sizeof av, "%.3f", jnum(r, "availability_pct"));
		else
			util_strlcpy(av, "-", sizeof av);
		snprintf(fl, sizeof fl, "%.0f", jnum(r, "failures"));
		fmt_ms(jnum(r, "mttr_ms"), mttr, sizeof mttr);
		fmt_ms(jnum(r, "mtbf_ms"), mtbf, sizeof mtbf);
		fmt_ms(jnum(r, "ttd_ms"), ttd, sizeof ttd);
		fmt_ms(jnum(r, "down_ms"), down, sizeof down);
		fmt_ms(jnum(r, "observed_ms"), obs, sizeof obs);
		if (t)
			table_add(t, row);
	}
	if (t)
		table_render(t, &w);
	table_free(t);
	jw_raw(&w, "\n", 1);
	t = table_new(5, gh);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(data, "groups")) {
		char fo[24], a[64], b[64], c[64], x[24], y[24];
		const char *row[] = { jstr(r, "group"), fo, a, b, c };

		snprintf(fo, sizeof fo, "%.0f", jnum(r, "failovers"));
		fmt_ms(jnum(r, "detect_to_decide_p50_ms"), x, sizeof x);
		fmt_ms(jnum(r, "detect_to_decide_p99_ms"), y, sizeof y);
		snprintf(a, sizeof a, "%s / %s", x, y);
		fmt_ms(jnum(r, "decide_to_promoted_p50_ms"), x, sizeof x);
		fmt_ms(jnum(r, "decide_to_promoted_p99_ms"), y, sizeof y);
		snprintf(b, sizeof b, "%s / %s", x, y);
		fmt_ms(jnum(r, "total_p50_ms"), x, sizeof x);
		fmt_ms(jnum(r, "total_p99_ms"), y, sizeof y);
		snprintf(c, sizeof c, "%s / %s", x, y);
		if (t)
			table_add(t, row);
	}
	if (t)
		table_render(t, &w);
	table_free(t);
	print_buf(&w);
	cJSON_Delete(root);
	return 0;
}

/* ---- at ---------------------------------------------------------------- */

static int cmd_at(const struct opts *o)
{
	static const char *const hdr[] = { "NODE", "GROUP", "STATE", "SINCE (UTC)", "RULE" };
	struct oper_msg q = { .type = OMSG_QUERY, .id = 1, .at_ms = o->arg_time };
	cJSON *root, *data;
	const cJSON *r;
	struct table *t;
	char when[40];
	int n = 0;

	util_strlcpy(q.what, "at", sizeof q.what);
	data = query(o, &q, &root);
	if (!data)
		return EXIT_USAGE;
	if (o->json) {
		print_json(data);
		cJSON_Delete(root);
		return 0;
	}
	util_fmt_time(o->arg_time, when, sizeof when);
	printf("the cluster at %s\n\n", when);
	t = table_new(5, hdr);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(data, "nodes")) {
		char since[40];
		const char *row[] = { jstr(r, "node"), jstr(r, "group"), jstr(r, "state"), since,
				      jstr(r, "rule") };

		util_fmt_time((int64_t)jnum(r, "since_ms"), since, sizeof since);
		if (t)
			table_add(t, row);
		n++;
	}
	print_table(t, n > 0, "no node was known then\n");
	cJSON_Delete(root);
	return 0;
}


/* ---- operator actions -------------------------------------------------- */

/* Send one command; returns the whole reply (the caller deletes it) or NULL
 * after printing why. */
static cJSON *command(const struct opts *o, const struct oper_msg *q)
{
	char req[4096];

	return request(o, req, proto_encode_oper_command(req, sizeof req, q), q->id);
}

static void print_names(const cJSON *arr, const char *sep)
{
	const cJSON *v;
	bool first = true;

	cJSON_ArrayForEach(v, arr) {
		if (cJSON_IsString(v)) {
			printf("%s%s", first ? "" : sep, v->valuestring);
			first = false;
		}
	}
}

/* The pre-flight of a failover or switchover, for a human. */
static void print_preflight(const cJSON *data)
{
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(data, "candidates");
	const cJSON *blocked = cJSON_GetObjectItemCaseSensitive(data, "blocked");
	const cJSON *c;
	struct table *t;
	static const char *const hdr[] = { "CANDIDATE", "PRIORITY", "STATE", "ELIGIBLE" };

	if (cJSON_GetArraySize(cands) > 0) {
		t = table_new(4, hdr);
		cJSON_ArrayForEach(c, cands) {
			char prio[24], why[256] = "yes";
			const cJSON *wn = cJSON_GetObjectItemCaseSensitive(c, "why_not"), *v;
			const char *cells[4];

			snprintf(prio, sizeof prio, "%.0f", jnum(c, "priority"));
			if (cJSON_GetArraySize(wn) > 0) {
				util_strlcpy(why, "no:", sizeof why);
				cJSON_ArrayForEach(v, wn)
					if (cJSON_IsString(v) && strlen(why) + strlen(v->valuestring) + 2 < sizeof why) {
						strcat(why, " ");
						strcat(why, v->valuestring);
					}
			}
			cells[0] = jstr(c, "node");
			cells[1] = prio;
			cells[2] = jstr(c, "state");
			cells[3] = why;
			table_add(t, cells);
		}
		print_table(t, true, "");
	}
	if (cJSON_GetArraySize(blocked) > 0) {
		printf("blocked by: ");
		print_names(blocked, ", ");
		printf("\n");
	}
}

/* Ask on the terminal; true when confirmed. */
static bool confirm(const char *prompt, const char *expect)
{
	char line[256];
	FILE *tty = fopen("/dev/tty", "r+");

	if (!tty)
		return false;
	fprintf(tty, "%s", prompt);
	fflush(tty);
	if (!fgets(line, sizeof line, tty)) {
		fclose(tty);
		return false;
	}
	fclose(tty);
	line[strcspn(line, "\r\n")] = '\0';
	return expect ? strcmp(line, expect) == 0 : (strcmp(line, "y") == 0 || strcmp(line, "yes") == 0);
}

/* After an accepted failover or switchover: follow it to its end. */
static int follow_failover(const struct opts *o, const char *group, const char *target)
{
	int64_t until = util_mono_ms() + 60000;
	char last_state[32] = "";

	while (util_mono_ms() < until) {
		struct oper_msg q = { .type = OMSG_QUERY, .id = 1 };
		cJSON *root, *data;
		const cJSON *g = NULL, *gs;

		util_strlcpy(q.what, "status", sizeof q.what);
		data = query(o, &q, &root);
		if (!data)
			return EXIT_USAGE;
		gs = cJSON_GetObjectItemCaseSensitive(data, "groups");
		cJSON_ArrayForEach(g, gs)
			if (strcmp(jstr(g, "name"), group) == 0)
				break;
		if (g) {
			const cJSON *fo = cJSON_GetObjectItemCaseSensitive(g, "failover");

			if (cJSON_IsObject(fo)) {
				if (strcmp(jstr(fo, "state"), last_state)) {
					util_strlcpy(last_state, jstr(fo, "state"), sizeof last_state);
					printf("  ... %s (target %s)\n", last_state, jstr(fo, "target"));
					fflush(stdout);
				}
			} else {
				const cJSON *lf = cJSON_GetObjectItemCaseSensitive(g, "last_failover");
				bool ok = strcmp(jstr(g, "leader"), target) == 0 &&
					  strcmp(jstr(lf, "outcome"), "confirmed") == 0;

				if (ok)
					printf("done: %s is the leader of %s at epoch %.0f (%.0f ms)\n", target,
					       group, jnum(g, "epoch"), jnum(lf, "duration_ms"));
				else
					printf("not done: the failover ended %s; leader of %s is %s (epoch %.0f). "
					       "See `vigil history --group %s --kind failover,hook`.\n",
					       cJSON_IsObject(lf) ? jstr(lf, "outcome") : "without a record",
					       group, jstr(g, "leader")[0] ? jstr(g, "leader") : "nobody",
					       jnum(g, "epoch"), group);
				cJSON_Delete(root);
				return ok ? 0 : EXIT_NOT_ALIVE;
			}
		}
		cJSON_Delete(root);
		usleep(250 * 1000);
	}
	printf("still under way after 60 s: follow it with `vigil status` or the dashboard\n");
	return EXIT_NOT_ALIVE;
}

static int cmd_act(const struct opts *o)
{
	const char *verb = o->cmd->name;
	bool is_fo = strcmp(verb, "failover") == 0 || strcmp(verb, "switchover") == 0;
	struct oper_msg q;
	cJSON *root;
	const cJSON *ok, *data, *err;
	char target[PROTO_NAME_MAX + 1] = "";
	int rc;

	memset(&q, 0, sizeof q);
	q.type = OMSG_COMMAND;
	q.id = 1;
	util_strlcpy(q.verb, verb, sizeof q.verb);
	if (o->cmd->arg == ARG_GROUP)
		util_strlcpy(q.group, o->arg, sizeof q.group);
	else
		util_strlcpy(q.node, o->arg, sizeof q.node);
	util_strlcpy(q.to, o->to, sizeof q.to);
	q.on = o->on;
	q.for_ms = o->for_ms;
	q.force = o->force;
	util_strlcpy(q.reason, o->reason[0] ? o->reason : "(dry run)", sizeof q.reason);
	/* The pre-flight first: for a dry run it is the answer, otherwise what
	 * the operator confirms (typing the group's name).  The other actions
	 * are confirmed with a y before anything is sent. */
	q.dry_run = o->dry_run || (is_fo && !o->yes);
	if (!o->dry_run && !is_fo && !o->yes) {
		char prompt[PROTO_TEXT_MAX + 200];

		if (!isatty(0) && !isatty(1)) {
			fprintf(stderr, "vigil: not confirmed: no terminal to ask on; pass --yes to act\n");
			return EXIT_USAGE;
		}
		snprintf(prompt, sizeof prompt, "%s %s%s%s%s? [y/N] ", verb, o->arg, o->arg2 ? " " : "",
			 o->arg2 ? o->arg2 : "", o->for_ms ? " (for a while)" : "");
		if (!confirm(prompt, NULL)) {
			printf("not confirmed: nothing done\n");
			return EXIT_NOT_ALIVE;
		}
	}
	for (;;) {
		root = command(o, &q);
		if (!root)
			return EXIT_USAGE;
		ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
		data = cJSON_GetObjectItemCaseSensitive(root, "data");
		err = cJSON_GetObjectItemCaseSensitive(root, "error");
		if (!cJSON_IsBool(ok)) {
			fprintf(stderr, "vigil: the collector sent a malformed reply\n");
			cJSON_Delete(root);
			return EXIT_USAGE;
		}
		if (o->json && (q.dry_run == o->dry_run)) {
			print_json(root);
			rc = cJSON_IsTrue(ok) ? 0 : EXIT_NOT_ALIVE;
			cJSON_Delete(root);
			return rc;
		}
		if (is_fo && cJSON_IsObject(data))
			print_preflight(data);
		if (!cJSON_IsTrue(ok)) {
			printf("refused: %s\n", jstr(err, "message"));
			cJSON_Delete(root);
			return EXIT_NOT_ALIVE;
		}
		util_strlcpy(target, jstr(data, "target"), sizeof target);
		printf("%s%s\n", q.dry_run ? "dry run: " : "", jstr(data, "text"));
		cJSON_Delete(root);
		if (q.dry_run == o->dry_run)
			break;
		/* A real failover or switchover: confirm by typing the group's name. */
		if (!isatty(0) && !isatty(1)) {
			fprintf(stderr, "vigil: not confirmed: no terminal to ask on; pass --yes to act\n");
			return EXIT_USAGE;
		}
		{
			char prompt[256];

			snprintf(prompt, sizeof prompt, "Type the group's name (%s) to %s it to %s: ",
				 o->arg, verb, target);
			if (!confirm(prompt, o->arg)) {
				printf("not confirmed: nothing done\n");
				return EXIT_NOT_ALIVE;
			}
		}
		q.dry_run = false;
	}
	if (!o->dry_run && is_fo)
		return follow_failover(o, o->arg, target);
	return 0;
}

/* ---- alerts ----------------------------------------------------------- */

static int cmd_alerts(const struct opts *o)
{
	static const char *const hdr[] = { "ID", "STATE", "SEVERITY", "RULE", "NODE", "GROUP",
					   "SINCE (UTC)", "ACK", "SUMMARY" };
	struct oper_msg q = { .type = OMSG_QUERY, .id = 1, .firing = !o->all, .limit = o->limit };
	cJSON *root, *data;
	const cJSON *r;
	struct table *t;
	int n = 0, firing;

	util_strlcpy(q.what, "alerts", sizeof q.what);
	data = query(o, &q, &root);
	if (!data)
		return EXIT_USAGE;
	firing = (int)jnum(data, "firing");
	if (o->json) {
		print_json(data);
		cJSON_Delete(root);
		return firing > 0 ? EXIT_NOT_ALIVE : 0;
	}
	t = table_new(9, hdr);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(data, "alerts")) {
		char id[24], since[40], ack[PROTO_NAME_MAX + 8] = "";
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(r, "ack");
		const char *state = jstr(r, "held")[0] ? jstr(r, "held") : jstr(r, "state");
		const char *row[] = { id, state, jstr(r, "severity"), jstr(r, "rule"), jstr(r, "node"),
				      jstr(r, "group"), since, ack, jstr(r, "summary") };

		snprintf(id, sizeof id, "%.0f", jnum(r, "id"));
		util_fmt_time((int64_t)jnum(r, "started_ms"), since, sizeof since);
		if (cJSON_IsObject(a))
			snprintf(ack, sizeof ack, "%s", jstr(a, "who"));
		if (t)
			table_add(t, row);
		n++;
	}
	print_table(t, n > 0, o->all ? "no alerts\n" : "no alert is firing\n");
	cJSON_Delete(root);
	return firing > 0 ? EXIT_NOT_ALIVE : 0;
}

/* Send an alert command; print the answer.  0 done, 1 refused, 2 no answer. */
static int alert_command(const struct opts *o, const struct oper_msg *q)
{
	cJSON *root = command(o, q);
	const cJSON *ok, *data, *err;
	int rc;

	if (!root)
		return EXIT_USAGE;
	ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	rc = cJSON_IsTrue(ok) ? 0 : EXIT_NOT_ALIVE;
	if (o->json)
		print_json(rc ? err : data);
	else if (rc)
		fprintf(stderr, "vigil: refused: %s\n", jstr(err, "message"));
	else
		printf("%s\n", jstr(data, "text"));
	cJSON_Delete(root);
	return rc;
}

static int cmd_ack(const struct opts *o)
{
	struct oper_msg q;

	memset(&q, 0, sizeof q);
	q.type = OMSG_COMMAND;
	q.id = 1;
	util_strlcpy(q.verb, "ack", sizeof q.verb);
	util_strlcpy(q.alert, o->arg, sizeof q.alert);
	util_strlcpy(q.reason, o->reason, sizeof q.reason);
	return alert_command(o, &q);
}

static int cmd_silence(const struct opts *o)
{
	static const char *const hdr[] = { "ID", "RULE", "NODE", "GROUP", "EXPIRES (UTC)", "AUTHOR",
					   "REASON" };
	struct oper_msg q;
	cJSON *root, *data;
	const cJSON *r;
	struct table *t;
	int n = 0;

	memset(&q, 0, sizeof q);
	q.id = 1;
	if (strcmp(o->arg, "add") == 0 || strcmp(o->arg, "expire") == 0) {
		q.type = OMSG_COMMAND;
		util_strlcpy(q.verb, strcmp(o->arg, "add") == 0 ? "silence_add" : "silence_expire",
			     sizeof q.verb);
		util_strlcpy(q.rule, o->rule, sizeof q.rule);
		util_strlcpy(q.node, o->node, sizeof q.node);
		util_strlcpy(q.group, o->group, sizeof q.group);
		q.for_ms = o->for_ms;
		q.silence_id = o->arg_id;
		util_strlcpy(q.reason, o->reason, sizeof q.reason);
		return alert_command(o, &q);
	}
	q.type = OMSG_QUERY;
	util_strlcpy(q.what, "silences", sizeof q.what);
	data = query(o, &q, &root);
	if (!data)
		return EXIT_USAGE;
	if (o->json) {
		print_json(data);
		cJSON_Delete(root);
		return 0;
	}
	t = table_new(7, hdr);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(data, "silences")) {
		char id[24], until[40];
		const char *row[] = { id, jstr(r, "rule"), jstr(r, "node"), jstr(r, "group"), until,
				      jstr(r, "author"), jstr(r, "reason") };

		snprintf(id, sizeof id, "%.0f", jnum(r, "id"));
		util_fmt_time((int64_t)jnum(r, "expires_ms"), until, sizeof until);
		if (t)
			table_add(t, row);
		n++;
	}
	print_table(t, n > 0, "no silence is in force\n");
	cJSON_Delete(root);
	return 0;
}

int main(int argc, char **argv)
{
	static struct opts o;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc;
	if (!o.cmd) {
		struct dash_config dc = { .url = o.url, .token = o.token, .insecure = o.insecure,
					  .frames = o.frames, .refresh_ms = 250 };

		return dash_run(&dc);
	}
	return o.cmd->fn(&o);
}
