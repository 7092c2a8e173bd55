/* vigil — the operator's program: the live dashboard (no command) and the
 * command line (status, nodes, events).  It is a client of the collector,
 * so it works from any host that can reach it. */
#include <cJSON.h>
#include <getopt.h>
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

struct opts {
	struct ws_url url;
	char token[300];
	int timeout_ms;
	bool insecure;
	bool json, wide;
	int frames;
	int limit;
	char kind[16];
	const char *cmd;
	const char *arg;
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
"  events [NODE] [--kind K] [--limit N] [--json]\n"
"                             recent history: state changes, connections,\n"
"                             agent events (K: state, conn, agent, flap,\n"
"                             collector)\n"
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
"Exit status of status and nodes: 0 every node alive, 1 some node is not,\n"
"2 usage or connection error.\n");
}

static void usage_cmd(const char *cmd)
{
	if (strcmp(cmd, "status") == 0)
		printf("Usage: vigil status [--json]\n\n"
		       "One summary line, the groups (members, alive) and the nodes (state, role,\n"
		       "last heartbeat, phi, the rule behind the state).  --json prints the\n"
		       "collector's status object: {\"collector\", \"summary\", \"nodes\", \"groups\"}\n"
		       "(docs/protocol.md).  Exit 0 if every node is alive, 1 if one is not, 2 on\n"
		       "a usage or connection error.\n");
	else if (strcmp(cmd, "nodes") == 0)
		printf("Usage: vigil nodes [--json] [--wide]\n\n"
		       "The node table; --wide adds round trip, health checks, cpu, memory, load,\n"
		       "disk and agent version.  WHY gives the rule behind the state, the reasons\n"
		       "of a degraded node and [FLAPPING].\n"
		       "--json prints {\"nodes\": [...], \"groups\": [...]}.  Exit status as status.\n");
	else if (strcmp(cmd, "events") == 0)
		printf("Usage: vigil events [NODE] [--kind state|conn|agent|flap|collector] [--limit N] [--json]\n\n"
		       "The newest events in the collector's history, newest first (default 50,\n"
		       "at most 1000): state transitions with their evidence (phi, interval mean\n"
		       "and deviation, heartbeat age, rule), connections, agent events.\n");
	else
		usage(stdout);
}

enum { OPT_COLLECTOR = 256, OPT_TOKEN, OPT_TIMEOUT, OPT_INSECURE, OPT_JSON, OPT_WIDE, OPT_FRAMES,
       OPT_LIMIT, OPT_KIND };

static const struct option longopts[] = {
	{ "collector", required_argument, NULL, OPT_COLLECTOR },
	{ "token-file", required_argument, NULL, OPT_TOKEN },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "wide", no_argument, NULL, OPT_WIDE },
	{ "frames", required_argument, NULL, OPT_FRAMES },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static int bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "vigil: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\nTry 'vigil --help'.\n");
	return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *url = getenv("VIGIL_COLLECTOR"), *token_file = getenv("VIGIL_TOKEN_FILE");
	bool help = false, seen_json = false, seen_wide = false, seen_frames = false;
	bool seen_limit = false, seen_kind = false;
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
				return bad("--timeout-ms '%s': %s", optarg, "must be 100..600000");
			o->timeout_ms = (int)v;
			break;
		case OPT_INSECURE: o->insecure = true; break;
		case OPT_JSON: o->json = seen_json = true; break;
		case OPT_WIDE: o->wide = seen_wide = true; break;
		case OPT_FRAMES:
			if (util_parse_int(optarg, 1, 1000000, &v))
				return bad("--frames '%s': %s", optarg, "must be 1..1000000");
			o->frames = (int)v;
			seen_frames = true;
			break;
		case OPT_LIMIT:
			if (util_parse_int(optarg, 1, 1000, &v))
				return bad("--limit '%s': %s", optarg, "must be 1..1000");
			o->limit = (int)v;
			seen_limit = true;
			break;
		case OPT_KIND:
			if (strcmp(optarg, "state") && strcmp(optarg, "conn") && strcmp(optarg, "agent") &&
			    strcmp(optarg, "collector") && strcmp(optarg, "flap"))
				return bad("--kind '%s': %s", optarg, "must be state, conn, agent, flap or collector");
			util_strlcpy(o->kind, optarg, sizeof o->kind);
			seen_kind = true;
			break;
		case 'h': help = true; break;
		case 'V': printf("vigil %s\n", VIGIL_VERSION); exit(0);
		default:
			fprintf(stderr, "Try 'vigil --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		o->cmd = argv[optind++];
	if (optind < argc)
		o->arg = argv[optind++];
	if (optind < argc)
		return bad("unexpected argument '%s'%s", argv[optind], "");
	if (o->cmd && strcmp(o->cmd, "help") == 0) {
		usage_cmd(o->arg ? o->arg : "");
		exit(0);
	}
	if (help) {
		usage_cmd(o->cmd ? o->cmd : "");
		exit(0);
	}
	if (o->cmd && strcmp(o->cmd, "status") && strcmp(o->cmd, "nodes") && strcmp(o->cmd, "events"))
		return bad("unknown command '%s'%s", o->cmd, " (status, nodes, events, help)");
	if (o->arg && (!o->cmd || strcmp(o->cmd, "events")))
		return bad("unexpected argument '%s'%s", o->arg, "");
	if (o->arg && !name_is_valid(o->arg, PROTO_NAME_MAX))
		return bad("node '%s': %s", o->arg, "must match [A-Za-z0-9._-]{1,64}");
	if (seen_json && !o->cmd)
		return bad("--json goes with a command%s%s", " (status, nodes, events)", "");
	if (seen_wide && (!o->cmd || strcmp(o->cmd, "nodes")))
		return bad("--wide goes with%s%s", " nodes", "");
	if (seen_frames && o->cmd)
		return bad("--frames is for the dashboard%s%s", " (no command)", "");
	if ((seen_limit || seen_kind) && (!o->cmd || strcmp(o->cmd, "events")))
		return bad("--limit and --kind go with%s%s", " events", "");
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

/* Send one query; return the parsed result's "data" (caller deletes the
 * root), or NULL after printing why. */
static cJSON *query(const struct opts *o, const struct oper_msg *q, cJSON **root)
{
	char req[512], err[512];
	int n = proto_encode_query(req, sizeof req, q);
	char *reply;
	const cJSON *t, *ok, *data;

	*root = NULL;
	if (n < 0)
		return NULL;
	reply = oclient_request(&o->url, o->token, o->insecure, req, (size_t)n, (long long)q->id,
				o->timeout_ms, err, sizeof err);
	if (!reply) {
		char url[600];

		ws_url_format(&o->url, url, sizeof url);
		fprintf(stderr, "vigil: collector %s: %s\n", url, err);
		return NULL;
	}
	*root = cJSON_Parse(reply);
	free(reply);
	t = cJSON_GetObjectItemCaseSensitive(*root, "type");
	ok = cJSON_GetObjectItemCaseSensitive(*root, "ok");
	data = cJSON_GetObjectItemCaseSensitive(*root, "data");
	if (cJSON_IsString(t) && strcmp(t->valuestring, "result") == 0 && cJSON_IsTrue(ok) &&
	    cJSON_IsObject(data))
		return (cJSON *)data;
	{
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(*root, "error");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(cJSON_IsObject(e) ? e : *root, "message");

		fprintf(stderr, "vigil: the collector refused the query: %s\n",
			cJSON_IsString(msg) ? msg->valuestring : "malformed reply");
	}
	cJSON_Delete(*root);
	*root = NULL;
	return NULL;
}

static void print_buf(struct jw *w)
{
	if (jw_finish(w) >= 0)
		fputs(w->buf, stdout);
	free(w->buf);
}

static int cmd_status(const struct opts *o, bool nodes_only)
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
	if (o->json) {
		if (nodes_only) {
			cJSON *slim = cJSON_CreateObject();

			cJSON_AddItemReferenceToObject(slim, "nodes", cJSON_GetObjectItemCaseSensitive(data, "nodes"));
			cJSON_AddItemReferenceToObject(slim, "groups", cJSON_GetObjectItemCaseSensitive(data, "groups"));
			text = cJSON_Print(slim);
			cJSON_Delete(slim);
		} else {
			text = cJSON_Print(data);
		}
		if (text)
			printf("%s\n", text);
		free(text);
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

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int cmd_events(const struct opts *o)
{
	static const char *const hdr[] = { "ID", "TIME (UTC)", "NODE", "KIND", "CHANGE", "RULE", "PHI",
					   "HB-AGE", "DETAIL" };
	struct oper_msg q = { .type = OMSG_QUERY, .id = 1, .limit = o->limit };
	cJSON *root, *data;
	const cJSON *arr, *e;
	struct table *t;
	struct jw w;

	util_strlcpy(q.what, "events", sizeof q.what);
	if (o->arg)
		util_strlcpy(q.node, o->arg, sizeof q.node);
	util_strlcpy(q.kind, o->kind, sizeof q.kind);
	data = query(o, &q, &root);
	if (!data)
		return EXIT_USAGE;
	arr = cJSON_GetObjectItemCaseSensitive(data, "events");
	if (o->json) {
		char *text = cJSON_Print(data);

		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(root);
		return 0;
	}
	t = table_new(9, hdr);
	cJSON_ArrayForEach(e, arr) {
		char id[24], ts[32], change[40], phi[24], age[24];
		const cJSON *v;
		const char *row[] = { id, ts, jstr(e, "node"), jstr(e, "kind"), change, jstr(e, "rule"),
				      phi, age, jstr(e, "detail") };
		time_t secs;
		struct tm tm;

		v = cJSON_GetObjectItemCaseSensitive(e, "id");
		snprintf(id, sizeof id, "%lld", cJSON_IsNumber(v) ? (long long)v->valuedouble : 0LL);
		v = cJSON_GetObjectItemCaseSensitive(e, "ts_ms");
		secs = cJSON_IsNumber(v) ? (time_t)(v->valuedouble / 1000) : 0;
		gmtime_r(&secs, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
		if (jstr(e, "to")[0])
			snprintf(change, sizeof change, "%s -> %s", jstr(e, "from")[0] ? jstr(e, "from") : "new",
				 jstr(e, "to"));
		else
			change[0] = '\0';
		v = cJSON_GetObjectItemCaseSensitive(e, "phi");
		if (cJSON_IsNumber(v))
			snprintf(phi, sizeof phi, "%.2f", v->valuedouble);
		else
			util_strlcpy(phi, "-", sizeof phi);
		v = cJSON_GetObjectItemCaseSensitive(e, "hb_age_ms");
		util_fmt_age(cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1, age, sizeof age);
		if (t)
			table_add(t, row);
	}
	jw_init_dynamic(&w, 4096);
	if (t)
		table_render(t, &w);
	print_buf(&w);
	table_free(t);
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
	if (strcmp(o.cmd, "status") == 0)
		return cmd_status(&o, false);
	if (strcmp(o.cmd, "nodes") == 0)
		return cmd_status(&o, true);
	return cmd_events(&o);
}
