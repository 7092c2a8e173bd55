/* sinks — what the alert sinks send, as pure functions: the Prometheus
 * Alertmanager v2 body (POST URL/api/v2/alerts) and the JSON document an
 * exec sink's program reads on its standard input.  No I/O here: the glue
 * sends the text, with the sink's timeout and retries (config.h). */
#ifndef VIGIL_COLLECTOR_SINKS_H
#define VIGIL_COLLECTOR_SINKS_H

#include <stdbool.h>
#include <stddef.h>

#include "collector/alerts.h"
#include "collector/config.h"

/* Should this sink hear of this action?  The action's notify flag, and the
 * alert at least as severe as the sink's min_severity. */
bool sinks_wants(const struct sink_spec *s, const struct alert_action *act);

/* Alertmanager v2: a JSON array of postable alerts, one per alert:
 *   [{"labels":{"alertname":RULE,"severity":..,"group":..,"node":..,
 *               "metric":..,"hook":..},
 *     "annotations":{"summary":..,"fingerprint":..,"vigil_id":"17",
 *                    ["value":..,"threshold":..,] ["acked_by":..,"ack_reason":..]},
 *     "startsAt":"2026-11-20T10:00:05.250Z",
 *     ["endsAt":"..." once resolved,] ["generatorURL":..]}]
 * Labels are the alert's identity (Alertmanager fingerprints them): only
 * the non-empty ones, never values that change while it fires.
 * generator_url may be NULL.  Returns the length written (NUL-terminated),
 * or -1 when buf is too small. */
int sinks_alertmanager_body(const struct alert *const *alerts, size_t n,
			    const char *generator_url, char *buf, size_t len);

/* The exec sink's document (one line, no trailing newline):
 *   {"key":"17-fire","action":"fire","id":17,"fingerprint":..,"rule":..,
 *    "severity":..,"state":"firing","labels":{...},"summary":..,
 *    "started_ms":..,"started":"ISO","resolved_ms":..|null,"resolved":..|null,
 *    "value":..|null,"threshold":..|null,"folded":N,"notified":N,
 *    "held_by":""|"..","ack":null|{"who":..,"at_ms":..,"reason":..}}
 * -1 when buf is too small. */
int sinks_exec_json(const struct alert_action *act, char *buf, size_t len);

#endif
