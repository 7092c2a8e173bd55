/* proto — vigil's wire protocol, version 1 (docs/protocol.md).
 *
 * JSON text frames over WebSocket.  Two subprotocols:
 *   vigil-agent.v1     agent <-> collector: hello, hb, event, bye / welcome, ack, error
 *   vigil-operator.v1  operator client <-> collector: subscribe, query / snapshot,
 *                      delta, result, error
 *
 * Decoding validates everything that comes from outside: the frame size,
 * JSON syntax, the type of every known field, numeric ranges and the name
 * charset.  A failure returns a PROTO_E_* code and a message that names the
 * offending field, suitable for an error frame.  Unknown fields are ignored
 * (so newer peers can add fields); unknown message types are refused.
 *
 * The decoded structs are plain values with fixed-size buffers: no pointers
 * into the frame, nothing to free.
 */
#ifndef VIGIL_PROTO_PROTO_H
#define VIGIL_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION        1
#define PROTO_AGENT_SUBPROTO "vigil-agent.v1"
#define PROTO_OPER_SUBPROTO  "vigil-operator.v1"

#define PROTO_MAX_FRAME      (64 * 1024)  /* bytes in one message */
#define PROTO_NAME_MAX       64           /* node, group, counter names */
#define PROTO_APP_MAX        64           /* application counters per heartbeat */
#define PROTO_TEXT_MAX       1024         /* free text (event text, reasons) */
#define PROTO_VERSION_MAX    32
#define PROTO_BOOT_ID_MAX    64
#define PROTO_PRIORITY_MAX   1000000
#define PROTO_INTERVAL_MIN_MS 50
#define PROTO_INTERVAL_MAX_MS 60000
#define PROTO_INT_MAX        9007199254740992.0 /* 2^53: JSON numbers are doubles */
#define PROTO_CHECKS_MAX     32           /* health checks per heartbeat */
#define PROTO_CHECK_OUTPUT_MAX 256        /* bytes of a check's output carried */
#define PROTO_HOOK_OUTPUT_MAX 4096        /* bytes of a hook's output carried */
#define PROTO_ROLE_MAX       15           /* "follower", "claiming", "leader" */

enum proto_err {
	PROTO_OK = 0,
	PROTO_E_SIZE,        /* frame larger than PROTO_MAX_FRAME, or empty */
	PROTO_E_JSON,        /* not valid JSON, or not an object */
	PROTO_E_TYPE,        /* "type" missing or not a string */
	PROTO_E_UNKNOWN,     /* a message type this side does not accept */
	PROTO_E_FIELD,       /* a field missing, of the wrong type, or out of range */
};
const char *proto_err_code(enum proto_err e);  /* "too_big", "bad_json", ... */

/* Node states, as spelled on the wire (lower case). */
enum node_state {
	NODE_ALIVE = 0,
	NODE_SUSPECT,
	NODE_FAILED,
	NODE_DEGRADED,
	NODE_LEFT,
	NODE_MAINTENANCE,
	NODE_STATE_COUNT
};
const char *node_state_name(enum node_state s);
int node_state_parse(const char *name, enum node_state *out);   /* 0 or -1 */

/* ---- agent -> collector ------------------------------------------------ */

struct proto_hello {
	char node[PROTO_NAME_MAX + 1];
	char group[PROTO_NAME_MAX + 1];
	int priority;                          /* 0..PROTO_PRIORITY_MAX, higher wins */
	char version[PROTO_VERSION_MAX + 1];   /* agent software version */
	char boot_id[PROTO_BOOT_ID_MAX + 1];   /* new at every agent start */
	int interval_ms;                       /* the agent's heartbeat interval */
	char role[PROTO_ROLE_MAX + 1];         /* "follower" (default) or "leader" (claims it) */
	int64_t epoch;                         /* highest leadership epoch seen, 0 none */
	bool no_failover;                      /* never make this node leader */
};

struct proto_app_counter {
	char name[PROTO_NAME_MAX + 1];
	double value;
};

/* Host metrics: a field that the agent could not read is NAN. */
struct proto_metrics {
	double cpu_pct;       /* 0..100 */
	double mem_pct;       /* 0..100 */
	double load1;         /* >= 0 */
	double disk_pct;      /* 0..100 */
	int napp;
	struct proto_app_counter app[PROTO_APP_MAX];
};

/* The application counter of that name, or NAN. */
double proto_app_value(const struct proto_metrics *m, const char *name);

/* A health check's verdict, as the agent's thresholds decided it (Consul's
 * model: N consecutive failures before critical, M successes before passing). */
enum check_status { CHECK_PASSING = 0, CHECK_WARNING, CHECK_CRITICAL };
const char *check_status_name(enum check_status s);

struct proto_check {
	char name[PROTO_NAME_MAX + 1];
	enum check_status status;
	char output[PROTO_CHECK_OUTPUT_MAX + 1]; /* last output, printable UTF-8 */
};

struct proto_hb {
	int64_t seq;          /* 0.., increments by one per heartbeat of one boot */
	int64_t sent_ms;      /* agent wall clock when sent */
	bool echo;            /* please answer with hb_ack (round-trip measurement) */
	int64_t rtt_ms;       /* last measured round trip, -1 unknown */
	struct proto_metrics m;
	int nchecks;
	struct proto_check checks[PROTO_CHECKS_MAX];
	char role[PROTO_ROLE_MAX + 1];        /* "follower" (default), "claiming", "leader" */
	int64_t epoch;                        /* highest leadership epoch seen, 0 none */
};

struct proto_event {
	int64_t seq;          /* 1.., per boot; the collector acks it */
	int64_t ts_ms;        /* when it happened (agent wall clock) */
	char name[PROTO_NAME_MAX + 1];      /* what happened, a name: "check_failed" */
	char severity[16];                  /* "info", "warning", "critical" */
	char text[PROTO_TEXT_MAX + 1];
};

struct proto_bye {
	char reason[PROTO_TEXT_MAX + 1];
};

/* A hook's outcome (or a refused command). */
struct proto_hook {
	int64_t cmd_id;                     /* the command's, 0 = the agent acted on its own */
	char hook[16];                      /* "promote", "demote", "fence" */
	int64_t epoch;
	int rc;                             /* exit status; -1 killed at timeout, -2 not started */
	int64_t duration_ms;                /* -1 unknown */
	char output[PROTO_HOOK_OUTPUT_MAX + 1];
	char reason[PROTO_NAME_MAX + 1];
	bool refused;                       /* not run: epoch older than seen_epoch */
	int64_t seen_epoch;
};

/* "promote", "demote", "fence" -> 1, 2, 3 (enum grp_hook / lease_hook); 0 unknown. */
int proto_hook_parse(const char *name);
const char *proto_hook_name(int hook);

enum agent_msg_type { AMSG_HELLO = 1, AMSG_HB, AMSG_EVENT, AMSG_BYE, AMSG_HOOK };

struct agent_msg {
	enum agent_msg_type type;
	union {
		struct proto_hello hello;
		struct proto_hb hb;
		struct proto_event event;
		struct proto_bye bye;
		struct proto_hook hook;
	} u;
};

/* ---- collector -> agent ------------------------------------------------ */

struct proto_welcome {
	char node[PROTO_NAME_MAX + 1];
	char collector[PROTO_NAME_MAX + 1]; /* the collector's instance id */
	int interval_ms;                    /* the interval the collector expects */
	int64_t last_event_seq;             /* highest event seq already stored for this boot */
};

struct proto_ack {
	int64_t seq;                        /* every event up to seq is stored */
};

struct proto_hb_ack {
	int64_t seq;                        /* the heartbeat answered */
};

struct proto_error {
	char code[32];                      /* machine-readable: "bad_json", ... */
	char message[PROTO_TEXT_MAX + 1];   /* for a human */
};

/* The answer to a group member's heartbeat. */
struct proto_grant {
	int64_t seq;                        /* the heartbeat answered */
	char group[PROTO_NAME_MAX + 1];
	int64_t epoch;
	char leader[PROTO_NAME_MAX + 1];    /* "" none */
	int64_t lease_ms;                   /* > 0 only for the leader */
};

/* Run a hook at an epoch. */
struct proto_command {
	int64_t cmd_id;
	char hook[16];                      /* "promote", "demote", "fence" */
	char group[PROTO_NAME_MAX + 1];
	int64_t epoch;                      /* >= 1 */
	char old_leader[PROTO_NAME_MAX + 1];
	char reason[PROTO_TEXT_MAX + 1];
};

enum collector_msg_type { CMSG_WELCOME = 1, CMSG_ACK, CMSG_ERROR, CMSG_HB_ACK, CMSG_GRANT,
			  CMSG_COMMAND };

struct collector_msg {
	enum collector_msg_type type;
	union {
		struct proto_welcome welcome;
		struct proto_ack ack;
		struct proto_error error;
		struct proto_hb_ack hb_ack;
		struct proto_grant grant;
		struct proto_command command;
	} u;
};

/* ---- operator -> collector --------------------------------------------- */

enum oper_msg_type { OMSG_SUBSCRIBE = 1, OMSG_QUERY, OMSG_COMMAND };

#define PROTO_ALERT_KEY_MAX 399            /* an alert's fingerprint, at most */

/* Queries: what = "status"; "history" (alias "events"): node, group, kind
 * (comma list), since_ms, until_ms, limit, before_id; "explain": event_id;
 * "report": since_ms, until_ms, group; "at": at_ms. */
struct oper_msg {
	enum oper_msg_type type;
	int64_t id;                         /* echoed in the response; 0.. */
	char what[32];
	char node[PROTO_NAME_MAX + 1];      /* "" = all */
	char group[PROTO_NAME_MAX + 1];     /* "" = all */
	char kind[128];                     /* "" = all; e.g. "state,flap" */
	int limit;                          /* 1..10000, default 100 */
	int64_t since_ms, until_ms;         /* 0 = unbounded */
	int64_t before_id;                  /* history paging: ids below this; 0 = none */
	int64_t event_id;                   /* explain */
	int64_t at_ms;                      /* at */
	/* OMSG_COMMAND (docs/protocol.md "command"): */
	char verb[16];                      /* failover, switchover, pause, resume, maintenance, forget */
	char to[PROTO_NAME_MAX + 1];        /* failover (optional), switchover */
	bool on;                            /* maintenance */
	int64_t for_ms;                     /* pause, maintenance: 0 = until undone */
	char reason[PROTO_TEXT_MAX + 1];    /* required, non-empty */
	bool dry_run, force;
	/* Alerts (docs/protocol.md "Alerts"): query what "alerts" (firing: only
	 * those firing) and "silences"; verbs "ack" (alert), "silence_add"
	 * (rule, node, group: "" = any; for_ms required), "silence_expire"
	 * (silence_id). */
	bool firing;
	char alert[PROTO_ALERT_KEY_MAX + 1];   /* ack: an alert id ("17") or its fingerprint */
	char rule[PROTO_NAME_MAX + 1];      /* silence_add: "" = any rule */
	int64_t silence_id;                 /* silence_expire */
};

/* The kinds of history rows, as stored and queried. */
bool proto_kind_is_valid(const char *kind);          /* one kind */
bool proto_kind_list_is_valid(const char *list);     /* "state,flap" */

/* ---- decoding ---------------------------------------------------------- */

/* Each returns PROTO_OK or an error with a human-readable message in err
 * naming the field ("field 'seq': must be an integer 0..2^53"). */
enum proto_err proto_decode_agent(const char *buf, size_t len, struct agent_msg *out,
				  char *err, size_t errlen);
enum proto_err proto_decode_collector(const char *buf, size_t len, struct collector_msg *out,
				      char *err, size_t errlen);
enum proto_err proto_decode_oper(const char *buf, size_t len, struct oper_msg *out,
				 char *err, size_t errlen);

/* ---- encoding ---------------------------------------------------------- */

/* Each writes a NUL-terminated JSON text into buf and returns its length, or
 * -1 if it does not fit in cap bytes.  Inputs are trusted (our own values). */
int proto_encode_hello(char *buf, size_t cap, const struct proto_hello *h);
int proto_encode_hb(char *buf, size_t cap, const struct proto_hb *hb);
int proto_encode_event(char *buf, size_t cap, const struct proto_event *e);
int proto_encode_bye(char *buf, size_t cap, const struct proto_bye *b);
int proto_encode_hook(char *buf, size_t cap, const struct proto_hook *h);
int proto_encode_grant(char *buf, size_t cap, const struct proto_grant *g);
int proto_encode_command(char *buf, size_t cap, const struct proto_command *c);
/* An operator command (type "command"; OMSG_COMMAND fields of q). */
int proto_encode_oper_command(char *buf, size_t cap, const struct oper_msg *q);
int proto_encode_welcome(char *buf, size_t cap, const struct proto_welcome *w);
int proto_encode_ack(char *buf, size_t cap, const struct proto_ack *a);
int proto_encode_hb_ack(char *buf, size_t cap, const struct proto_hb_ack *a);
int proto_encode_error(char *buf, size_t cap, const char *code, const char *message);
int proto_encode_subscribe(char *buf, size_t cap, int64_t id);
int proto_encode_query(char *buf, size_t cap, const struct oper_msg *q);

#endif
