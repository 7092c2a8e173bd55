/* phi — the phi accrual failure detector (Hayashibara et al.), with the
 * semantics of Akka's PhiAccrualFailureDetector.  Self-contained: libc and
 * libm only, no clock (time comes in as now_ms). */
#ifndef VIGIL_COLLECTOR_PHI_H
#define VIGIL_COLLECTOR_PHI_H

#include <stdbool.h>
#include <stdint.h>

struct phi_config {
	double threshold;                  /* phi at which the node is unavailable */
	int    max_samples;                /* interval window size */
	double min_std_dev_ms;
	double acceptable_pause_ms;
	double first_heartbeat_estimate_ms;
};

struct phi_detector;

struct phi_detector *phi_new(const struct phi_config *cfg); /* NULL if cfg is invalid */
void   phi_free(struct phi_detector *d);                    /* NULL is a no-op */
void   phi_heartbeat(struct phi_detector *d, int64_t now_ms);
double phi_value(const struct phi_detector *d, int64_t now_ms); /* 0.0 before any heartbeat */
bool   phi_is_available(const struct phi_detector *d, int64_t now_ms);
/* True when phi at now_ms is surely at most 0.30103 (-log10 1/2): the time
 * since the last heartbeat is within the mean interval plus the acceptable
 * pause.  A cheap pre-check for thresholds above that. */
bool   phi_surely_below_half(const struct phi_detector *d, int64_t now_ms);
/* The last moment (ms) at which phi_surely_below_half() holds if no
 * heartbeat arrives before: callers may keep it with the heartbeat and skip
 * the detector until then.  INT64_MAX before any heartbeat. */
int64_t phi_quiet_until(const struct phi_detector *d);
double phi_of(double time_diff_ms, double mean_ms, double std_dev_ms); /* the formula alone */

/* Evidence for verdicts: the interval statistics as the detector uses them
 * (mean before the acceptable-pause shift, deviation before the floor). */
struct phi_stats {
	double mean_ms;
	double std_dev_ms;
	int samples;
	int64_t last_heartbeat_ms;         /* -1 before any heartbeat */
};
void phi_get_stats(const struct phi_detector *d, struct phi_stats *out);

#endif
