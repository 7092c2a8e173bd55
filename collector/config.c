/* config — reads vigil.conf: physical lines become tokens (quotes, `#`
 * comments), indented lines join the rule or sink above them, and each
 * logical line is an option, a rule or a sink.  Every token remembers its
 * physical line so an error points at the line that holds the mistake. */
#include "collector/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/names.h"
#include "proto/util.h"

#define TOK_MAX 64                 /* tokens in one logical line */

struct logical {
	int ntok;
	char *tok[TOK_MAX];
	int line[TOK_MAX];
	char buf[CONFIG_LINE_MAX + TOK_MAX];
	size_t used;
};

struct parser {
	const char *name;              /* file name for messages */
	const struct option *known;
	struct config *c;
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = line > 0 ? snprintf(p->err, p->errlen, "%s:%d: ", p->name, line)
		     : snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

const char *config_sink_kind_name(enum sink_kind k)
{
	return k == SINK_EXEC ? "exec" : k == SINK_ALERTMANAGER ? "alertmanager" : "?";
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof *c);
}

void config_done(struct config *c)
{
	for (size_t i = 0; i < c->nopts; i++)
		free(c->opts[i].value);
	free(c->opts);
	free(c->rules);
	free(c->sinks);
	memset(c, 0, sizeof *c);
}

const struct config_opt *config_opt_find(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nopts; i++)
		if (strcmp(c->opts[i].name, name) == 0)
			return &c->opts[i];
	return NULL;
}

/* ---- tokens ----------------------------------------------------------- */

/* Append the tokens of one physical line to L.  `#` at the start of a
 * token begins a comment; "..." quotes (with \" and \\) may appear
 * anywhere in a token: key="a b". */
static int tokenize(struct parser *p, const char *s, size_t n, int ln, struct logical *L)
{
	size_t i = 0;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n || s[i] == '#')
			break;
		if (L->ntok == TOK_MAX)
			return fail(p, ln, "too many words (at most %d in one setting)", TOK_MAX);
		L->tok[L->ntok] = L->buf + L->used;
		L->line[L->ntok] = ln;
		while (i < n && s[i] != ' ' && s[i] != '\t') {
			if (L->used + 2 >= sizeof L->buf)
				return fail(p, ln, "line too long (at most %d bytes)", CONFIG_LINE_MAX);
			if (s[i] != '"') {
				L->buf[L->used++] = s[i++];
				continue;
			}
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
					i++;
				if (L->used + 2 >= sizeof L->buf)
					return fail(p, ln, "line too long (at most %d bytes)", CONFIG_LINE_MAX);
				L->buf[L->used++] = s[i];
			}
			if (i == n)
				return fail(p, ln, "unterminated quote");
			i++;
		}
		L->buf[L->used++] = '\0';
		L->ntok++;
	}
	return 0;
}

/* ---- options ---------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			cur[j] = d;
		}
		memcpy(prev, cur, sizeof cur);
	}
	return prev[lb];
}

/* The closest known name, for "did you mean": within 2 edits, or one that
 * starts with what was written. */
static const char *suggest(const struct option *known, const char *name)
{
	const char *best = NULL;
	size_t bd = 3;

	for (const struct option *o = known; o && o->name; o++) {
		size_t d = edit_distance(name, o->name);

		if (d >= bd && strncmp(o->name, name, strlen(name)) == 0 && strlen(name) >= 3)
			d = 2;
		if (d < bd) {
			bd = d;
			best = o->name;
		}
	}
	return best;
}

static bool opt_name_ok(const char *s)
{
	if (!*s || strlen(s) >= 64)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

static int bool_word(const char *s)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on"))
		return 1;
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off"))
		return 0;
	return -1;
}

static int parse_option(struct parser *p, struct logical *L)
{
	const char *name = L->tok[0], *value = "";
	const struct option *o = NULL;
	const struct config_opt *prev;
	struct config_opt *nv;
	int ln = L->line[0], has_arg = optional_argument;

	if (name[0] == '-' && name[1] == '-')
		return fail(p, ln, "write '%s' without the leading dashes", name + 2);
	if (!opt_name_ok(name))
		return fail(p, ln, "'%s' is not an option name (lower-case letters, digits, '-')", name);
	if (!strcmp(name, "config") || !strcmp(name, "check-config") || !strcmp(name, "help") ||
	    !strcmp(name, "version"))
		return fail(p, ln, "option '%s' cannot be set in a configuration file", name);
	if (p->known) {
		for (o = p->known; o->name; o++)
			if (strcmp(o->name, name) == 0)
				break;
		if (!o->name) {
			const char *s = suggest(p->known, name);

			return s ? fail(p, ln, "unknown option '%s' (did you mean '%s'?)", name, s)
				 : fail(p, ln, "unknown option '%s'", name);
		}
		has_arg = o->has_arg;
	}
	if (L->ntok > 2)
		return fail(p, L->line[2], "option '%s' takes one value, got %d (quote a value "
			    "that holds spaces: \"...\")", name, L->ntok - 1);
	if (L->ntok == 2)
		value = L->tok[1];
	if (has_arg == required_argument && L->ntok < 2)
		return fail(p, ln, "option '%s' needs a value", name);
	if (has_arg == no_argument && L->ntok == 2) {
		int b = bool_word(value);

		if (b < 0)
			return fail(p, L->line[1], "option '%s' is a flag: give no value, or yes or no "
				    "(not '%s')", name, value);
		value = b ? "yes" : "no";
	}
	prev = config_opt_find(p->c, name);
	if (prev)
		return fail(p, ln, "option '%s' set twice (first at line %d)", name, prev->line);
	nv = util_grow(p->c->opts, &p->c->optcap, p->c->nopts, sizeof *nv, 16);
	if (!nv)
		return fail(p, ln, "out of memory");
	p->c->opts = nv;
	nv = &p->c->opts[p->c->nopts];
	util_strlcpy(nv->name, name, sizeof nv->name);
	nv->value = strdup(value);
	if (!nv->value)
		return fail(p, ln, "out of memory");
	nv->line = ln;
	p->c->nopts++;
	return 0;
}

/* ---- rules ------------------------------------------------------------ */

static int parse_dur(struct parser *p, int ln, const char *what, const char *key, const char *v,
		     int64_t *out)
{
	if (!strcmp(v, "never") && !strcmp(key, "repeat")) {
		*out = 0;
		return 0;
	}
	if (util_parse_duration_ms(v, out))
		return fail(p, ln, "%s: bad duration '%s' for '%s' (want 30s, 2m, 1h, or a number of ms)",
			    what, v, key);
	return 0;
}

/* A threshold: a number, optionally followed by "/s" (the agent reports
 * counters per second already) or "%". */
static int parse_value(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || !isfinite(v))
		return -1;
	if (*end && strcmp(end, "/s") && strcmp(end, "%"))
		return -1;
	*out = v;
	return 0;
}

static const char *const rule_keys[] = {
	"severity", "for", "repeat", "resolve-after", "metric", "op", "value", "node", "group", NULL
};

static int parse_rule(struct parser *p, struct logical *L)
{
	struct alert_rule r, *nv;
	char what[ALERT_NAME_MAX + 16], why[512];
	bool seen[9] = { false };
	int ln = L->line[0];

	if (L->ntok < 2)
		return fail(p, ln, "rule needs a name: rule NAME [key=value ...] "
			    "(e.g. rule node_failed severity=critical)");
	if (alerts_rule_init(&r, L->tok[1]) < 0)
		return fail(p, L->line[1], "bad rule name '%s' (want [A-Za-z0-9._-], at most 64)",
			    L->tok[1]);
	r.line = L->line[1];
	snprintf(what, sizeof what, "rule '%s'", r.name);
	for (size_t i = 0; i < p->c->nrules; i++)
		if (strcmp(p->c->rules[i].name, r.name) == 0)
			return fail(p, L->line[1], "%s defined twice (first at line %d)", what,
				    p->c->rules[i].line);
	for (int t = 2; t < L->ntok; t++) {
		char *tok = L->tok[t], *eq = strchr(tok, '=');
		int tl = L->line[t], k;
		const char *v;

		if (!strcmp(tok, "off") || !strcmp(tok, "on")) {
			r.off = tok[1] == 'f';
			continue;
		}
		if (!eq || eq == tok)
			return fail(p, tl, "%s: expected key=value, got '%s'", what, tok);
		*eq = '\0';
		v = eq + 1;
		for (k = 0; rule_keys[k]; k++)
			if (!strcmp(rule_keys[k], tok))
				break;
		if (!rule_keys[k])
			return fail(p, tl, "%s: unknown key '%s' (want severity, for, repeat, "
				    "resolve-after, metric, op, value, node, group, or off)", what, tok);
		if (seen[k])
			return fail(p, tl, "%s: '%s' given twice", what, tok);
		seen[k] = true;
		switch (k) {
		case 0:
			if (alerts_severity_parse(v, &r.severity))
				return fail(p, tl, "%s: unknown severity '%s' (want info, warning or "
					    "critical)", what, v);
			break;
		case 1:
			if (parse_dur(p, tl, what, tok, v, &r.for_ms))
				return -1;
			break;
		case 2:
			if (parse_dur(p, tl, what, tok, v, &r.repeat_ms))
				return -1;
			break;
		case 3:
			if (parse_dur(p, tl, what, tok, v, &r.resolve_after_ms))
				return -1;
			break;
		case 4:
			if (r.kind != AR_METRIC)
				return fail(p, tl, "%s: 'metric' only applies to threshold rules "
					    "('%s' is a built-in)", what, r.name);
			if (alerts_rule_set_metric(&r, v))
				return fail(p, tl, "%s: bad metric name '%s' (cpu, mem, disk, load1, or "
					    "an application counter [A-Za-z0-9._-])", what, v);
			break;
		case 5:
			if (alerts_op_parse(v, &r.op))
				return fail(p, tl, "%s: unknown operator '%s' (want >, >=, <, <=, ==, !=)",
					    what, v);
			break;
		case 6:
			if (parse_value(v, &r.value))
				return fail(p, tl, "%s: bad value '%s' (want a number: 90, 0.5, 5/s)",
					    what, v);
			break;
		case 7:
			util_strlcpy(r.node, v, sizeof r.node);
			if (strlen(v) >= sizeof r.node || !name_is_valid(v, PROTO_NAME_MAX))
				return fail(p, tl, "%s: bad node name '%s'", what, v);
			break;
		case 8:
			util_strlcpy(r.group, v, sizeof r.group);
			if (strlen(v) >= sizeof r.group || !name_is_valid(v, PROTO_NAME_MAX))
				return fail(p, tl, "%s: bad group name '%s'", what, v);
			break;
		}
	}
	if (r.kind == AR_METRIC && r.metric[0] && (!seen[5] || !seen[6]))
		return fail(p, ln, "%s: a threshold rule needs op= and value= "
			    "(e.g. metric=cpu op=> value=90 for=2m)", what);
	if (alerts_rule_check(&r, why, sizeof why))
		return fail(p, ln, "%s: %s", what, why);
	if (p->c->nrules + alerts_builtin_count() >= ALERT_RULES_MAX)
		return fail(p, ln, "too many rules (at most %d besides the built-ins)",
			    ALERT_RULES_MAX - (int)alerts_builtin_count());
	nv = util_grow(p->c->rules, &p->c->rulecap, p->c->nrules, sizeof *nv, 16);
	if (!nv)
		return fail(p, ln, "out of memory");
	p->c->rules = nv;
	p->c->rules[p->c->nrules++] = r;
	return 0;
}

/* ---- sinks ------------------------------------------------------------ */

static int check_url(const char *u)
{
	const char *h;

	if (!strncmp(u, "http://", 7))
		h = u + 7;
	else if (!strncmp(u, "https://", 8))
		h = u + 8;
	else
		return -1;
	if (!*h || *h == '/' || *h == ':')
		return -1;
	for (; *u; u++)
		if ((unsigned char)*u <= ' ' || *u == '"' || *u == '\\' || (unsigned char)*u >= 0x7f)
			return -1;
	return 0;
}

/* "timeout=..." where the target should be: the target was left out. */
static bool is_sink_key(const char *tok)
{
	static const char *const keys[] = { "timeout=", "retries=", "repeat=", "min-severity=", NULL };

	for (int i = 0; keys[i]; i++)
		if (!strncmp(tok, keys[i], strlen(keys[i])))
			return true;
	return tok[0] == '=';
}

static int parse_sink(struct parser *p, struct logical *L)
{
	struct sink_spec s, *nv;
	char what[64];
	bool seen[4] = { false };
	int ln = L->line[0];
	long long n;
	size_t len;

	memset(&s, 0, sizeof s);
	if (L->ntok < 2)
		return fail(p, ln, "sink needs a kind: sink exec PROGRAM ... or "
			    "sink alertmanager URL ...");
	if (!strcmp(L->tok[1], "exec"))
		s.kind = SINK_EXEC;
	else if (!strcmp(L->tok[1], "alertmanager"))
		s.kind = SINK_ALERTMANAGER;
	else
		return fail(p, L->line[1], "unknown sink '%s' (want exec or alertmanager)", L->tok[1]);
	snprintf(what, sizeof what, "sink %s", L->tok[1]);
	if (L->ntok < 3 || is_sink_key(L->tok[2]))
		return fail(p, ln, "%s: needs %s", what, s.kind == SINK_EXEC ?
			    "the program's absolute path" : "Alertmanager's URL (http://HOST:PORT)");
	s.line = ln;
	s.timeout_ms = 10000;
	s.retries = 3;
	s.repeat_ms = s.kind == SINK_ALERTMANAGER ? 60000 : 0;
	s.min_severity = ASEV_INFO;
	len = strlen(L->tok[2]);
	if (len >= sizeof s.target)
		return fail(p, L->line[2], "%s: too long (at most %d bytes)", what, CONFIG_TARGET_MAX - 1);
	util_strlcpy(s.target, L->tok[2], sizeof s.target);
	if (s.kind == SINK_EXEC) {
		if (s.target[0] != '/')
			return fail(p, L->line[2], "%s: '%s' must be an absolute path", what, s.target);
		if (access(s.target, X_OK))
			return fail(p, L->line[2], "%s: '%s' is not executable: %s", what, s.target,
				    strerror(errno));
	} else {
		if (check_url(s.target))
			return fail(p, L->line[2], "%s: bad URL '%s' (want http://HOST:PORT or "
				    "https://HOST:PORT[/PATH])", what, s.target);
		while (len > 0 && s.target[len - 1] == '/')
			s.target[--len] = '\0';
	}
	for (int t = 3; t < L->ntok; t++) {
		char *tok = L->tok[t], *eq = strchr(tok, '=');
		int tl = L->line[t];
		const char *v;
		int64_t d;
		int k;

		if (!eq || eq == tok)
			return fail(p, tl, "%s: expected key=value, got '%s'", what, tok);
		*eq = '\0';
		v = eq + 1;
		k = !strcmp(tok, "timeout") ? 0 : !strcmp(tok, "retries") ? 1 :
		    !strcmp(tok, "repeat") ? 2 : !strcmp(tok, "min-severity") ? 3 : -1;
		if (k < 0)
			return fail(p, tl, "%s: unknown key '%s' (want timeout, retries, repeat, "
				    "min-severity)", what, tok);
		if (seen[k])
			return fail(p, tl, "%s: '%s' given twice", what, tok);
		seen[k] = true;
		switch (k) {
		case 0:
			if (util_parse_duration_ms(v, &d) || d < 100 || d > 300000)
				return fail(p, tl, "%s: timeout '%s' must be a duration 100ms..5m", what, v);
			s.timeout_ms = d;
			break;
		case 1:
			if (util_parse_int(v, 0, 100, &n))
				return fail(p, tl, "%s: retries '%s' must be 0..100", what, v);
			s.retries = (int)n;
			break;
		case 2:
			if (!strcmp(v, "never"))
				d = 0;
			else if (util_parse_duration_ms(v, &d) || (d && d < 1000) || d > 30 * 86400000LL)
				return fail(p, tl, "%s: repeat '%s' must be 0 (never) or a duration "
					    "1s..30d", what, v);
			s.repeat_ms = d;
			break;
		case 3:
			if (alerts_severity_parse(v, &s.min_severity))
				return fail(p, tl, "%s: unknown severity '%s' (want info, warning or "
					    "critical)", what, v);
			break;
		}
	}
	for (size_t i = 0; i < p->c->nsinks; i++)
		if (p->c->sinks[i].kind == s.kind && !strcmp(p->c->sinks[i].target, s.target))
			return fail(p, ln, "%s %s defined twice (first at line %d)", what, s.target,
				    p->c->sinks[i].line);
	if (p->c->nsinks >= CONFIG_SINKS_MAX)
		return fail(p, ln, "too many sinks (at most %d)", CONFIG_SINKS_MAX);
	nv = util_grow(p->c->sinks, &p->c->sinkcap, p->c->nsinks, sizeof *nv, 4);
	if (!nv)
		return fail(p, ln, "out of memory");
	p->c->sinks = nv;
	p->c->sinks[p->c->nsinks++] = s;
	return 0;
}

/* ---- lines ------------------------------------------------------------ */

static bool is_block(const struct logical *L)
{
	return L->ntok && (!strcmp(L->tok[0], "rule") || !strcmp(L->tok[0], "sink"));
}

static int flush(struct parser *p, struct logical *L)
{
	int rc = 0;

	if (!L->ntok)
		return 0;
	if (!strcmp(L->tok[0], "rule"))
		rc = parse_rule(p, L);
	else if (!strcmp(L->tok[0], "sink"))
		rc = parse_sink(p, L);
	else if (!strcmp(L->tok[0], "silence"))
		rc = fail(p, L->line[0], "silences do not belong in the configuration (they expire): "
			  "add them with the vigil command");
	else
		rc = parse_option(p, L);
	L->ntok = 0;
	L->used = 0;
	return rc;
}

int config_parse_text(const char *name, const char *text, size_t len,
		      const struct option *known, struct config *out, char *err, size_t errlen)
{
	struct parser p = { .name = name, .known = known, .c = out, .err = err, .errlen = errlen };
	struct logical *L = calloc(1, sizeof *L);
	char line[CONFIG_LINE_MAX + 1];
	size_t pos = 0;
	int ln = 0, rc = 0;

	config_done(out);
	util_strlcpy(out->path, name, sizeof out->path);
	if (!L)
		return fail(&p, 0, "out of memory");
	if (len > CONFIG_FILE_MAX) {
		rc = fail(&p, 0, "too big (at most %d bytes)", CONFIG_FILE_MAX);
		goto out_free;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos, i = 0;

		ln++;
		if (n > CONFIG_LINE_MAX) {
			rc = fail(&p, ln, "line too long (at most %d bytes)", CONFIG_LINE_MAX);
			goto out_free;
		}
		memcpy(line, text + pos, n);
		pos += n + (nl != NULL);
		if (n && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		if (memchr(line, '\0', n) || !lines_text_is_valid(line, CONFIG_LINE_MAX) ||
		    strchr(line, '\n')) {
			rc = fail(&p, ln, "not text: a control character, a NUL byte or bad UTF-8");
			goto out_free;
		}
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == n) {                       /* blank: ends a rule or sink */
			if ((rc = flush(&p, L)))
				goto out_free;
			continue;
		}
		if (line[i] == '#')
			continue;
		if (i == 0 || !is_block(L)) {
			if ((rc = flush(&p, L)))
				goto out_free;
		}
		if ((rc = tokenize(&p, line, n, ln, L)))
			goto out_free;
	}
	rc = flush(&p, L);
out_free:
	free(L);
	if (rc) {
		config_done(out);
		util_strlcpy(out->path, name, sizeof out->path);
	}
	return rc;
}

int config_parse_file(const char *path, const struct option *known, struct config *out,
		      char *err, size_t errlen)
{
	struct parser p = { .name = path, .err = err, .errlen = errlen };
	char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, rc;

	config_done(out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(&p, 0, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = fail(&p, 0, "not a regular file");
		goto out_close;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		rc = fail(&p, 0, "too big (at most %d bytes)", CONFIG_FILE_MAX);
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = fail(&p, 0, "out of memory");
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail(&p, 0, "cannot read: %s", strerror(errno));
			goto out_free;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	rc = config_parse_text(path, buf, got, known, out, err, errlen);
out_free:
	free(buf);
out_close:
	close(fd);
	return rc;
}
