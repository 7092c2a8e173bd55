/* phi.c — phi accrual failure detector, Akka's PhiAccrualFailureDetector.
 *
 * A detector watches one node.  It keeps the last heartbeat time and a
 * bounded window (ring buffer) of the intervals between heartbeats, with
 * int64 running sums of the intervals and of their squares, exactly like
 * Akka's HeartbeatHistory.  phi(now) is -log10(1 - F(now - last)) where F is
 * the normal CDF, in Akka's logistic approximation, with
 *
 *	mean    = history mean + acceptable_pause_ms
 *	std dev = max(history population std dev, min_std_dev_ms)
 *
 * Akka semantics kept on purpose:
 *  - the history is seeded at creation with two intervals m - m/4 and
 *    m + m/4 (m = first_heartbeat_estimate_ms truncated to whole ms, m/4 an
 *    integer division), so a node that sent one heartbeat still goes down;
 *  - the first heartbeat only records its timestamp;
 *  - an interval is recorded only if the node is available (phi <
 *    threshold) when the heartbeat arrives, so the first heartbeat after a
 *    long pause does not skew the statistics; the timestamp moves anyway;
 *  - a heartbeat at the same ms as the last one is an interval of 0 and is
 *    recorded under that same rule (it usually is);
 *  - before any heartbeat phi is 0.0 and the node is available.
 *
 * Deviations, each to keep C defined and the result usable:
 *  - a heartbeat older than the last one is ignored;
 *  - phi is never NaN, never negative, never infinite.  Far past the mean
 *    Akka's exp() underflows and it returns +inf; here the upper branch is
 *    evaluated in the algebraically identical form k/ln 10 + log10(1 + e),
 *    which stays finite and keeps growing, and anything that would still be
 *    +inf saturates at DBL_MAX.  "phi >= threshold" therefore still holds.
 *    -0.0 (deep below the mean) becomes 0.0; undefined input (NaN, 0/0)
 *    gives 0.0;
 *  - a negative variance from rounding (sq/n - mean^2) is taken as 0;
 *  - one recorded interval is capped at sqrt(INT64_MAX / max_samples) ms so
 *    the squared sum cannot overflow (about 26 hours for 1000 samples);
 *  - configuration values must be finite, and the seed intervals must fit
 *    under that cap; the float config values are used as given (Akka
 *    truncates the pause and the minimum deviation to whole ms).
 *
 * The detector copies the config and owns its window; no globals, no clock,
 * no I/O: the caller passes now_ms and reads the verdict. */
#include "collector/phi.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#define PHI_LN10 2.30258509299404568402

struct phi_detector {
	struct phi_config cfg;
	int64_t max_interval_ms;        /* cap keeping sq_sum in int64 */
	bool has_last;
	int64_t last_ms;
	size_t cap;                     /* window size, = cfg.max_samples */
	size_t head;                    /* slot of the oldest interval */
	size_t count;
	int64_t sum;                    /* of the intervals in the window */
	int64_t sq_sum;                 /* of their squares */
	int64_t ring[];
};

/* ---------------------------------------------------------------------------
 * The formula
 * ------------------------------------------------------------------------ */

/* Logistic approximation of the normal CDF: F(y) = 1 / (1 + e) with
 * e = exp(-k), k = y * (1.5976 + 0.070566 y^2), error 0.00014 at y = +-3.16.
 * Akka: phi = -log10(e / (1 + e)) above the mean, -log10(1 - 1/(1 + e))
 * otherwise.  Above the mean we use -log10(e) = k / ln 10 directly, so phi
 * does not become +inf when exp(-k) underflows (about y > 21). */
double phi_of(double time_diff_ms, double mean_ms, double std_dev_ms)
{
	double y = (time_diff_ms - mean_ms) / std_dev_ms;
	double k = y * (1.5976 + 0.070566 * y * y);
	double e = exp(-k);
	double phi;

	if (isnan(y))
		return 0.0;
	if (time_diff_ms > mean_ms)
		phi = k / PHI_LN10 + log10(1.0 + e);
	else
		phi = -log10(1.0 - 1.0 / (1.0 + e));

	if (!(phi > 0.0))               /* -0.0 when e overflows, or NaN */
		return 0.0;
	if (phi > DBL_MAX)
		return DBL_MAX;
	return phi;
}

/* ---------------------------------------------------------------------------
 * Interval history: a ring of the last max_samples intervals
 * ------------------------------------------------------------------------ */

/* Add an interval; when the window is full the oldest one is dropped first
 * (Akka's HeartbeatHistory :+ and dropOldest). */
static void history_add(struct phi_detector *d, int64_t interval_ms)
{
	size_t slot;

	if (d->count == d->cap) {
		int64_t old = d->ring[d->head];

		d->sum -= old;
		d->sq_sum -= old * old;
		slot = d->head;
		d->head = (d->head + 1) % d->cap;
	} else {
		slot = (d->head + d->count) % d->cap;
		d->count++;
	}
	d->ring[slot] = interval_ms;
	d->sum += interval_ms;
	d->sq_sum += interval_ms * interval_ms;
}

/* Mean and population std dev, as Akka: sum/n and sqrt(sq/n - mean^2).
 * The window is never empty: it is seeded at creation. */
static void history_stats(const struct phi_detector *d, double *mean,
			  double *std_dev)
{
	double n = (double)d->count;
	double m = (double)d->sum / n;
	double var = (double)d->sq_sum / n - m * m;

	*mean = m;
	*std_dev = var > 0.0 ? sqrt(var) : 0.0;
}

/* An elapsed time, clamped to [0, max_interval_ms].  The subtraction is
 * done unsigned so even INT64_MIN .. INT64_MAX does not overflow. */
static int64_t clamp_interval(const struct phi_detector *d, int64_t from_ms,
			      int64_t to_ms)
{
	uint64_t iv = (uint64_t)to_ms - (uint64_t)from_ms;

	if (iv > (uint64_t)d->max_interval_ms)
		return d->max_interval_ms;
	return (int64_t)iv;
}

/* to_ms - from_ms as a double, without signed overflow. */
static double diff_ms(int64_t from_ms, int64_t to_ms)
{
	if (to_ms >= from_ms)
		return (double)((uint64_t)to_ms - (uint64_t)from_ms);
	return -(double)((uint64_t)from_ms - (uint64_t)to_ms);
}

/* ---------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------ */

/* Largest interval whose square, times max_samples, fits in an int64. */
static int64_t max_interval_for(int max_samples)
{
	uint64_t q = (uint64_t)INT64_MAX / (uint64_t)max_samples;
	uint64_t r = (uint64_t)sqrt((double)q);

	while (r * r > q)
		r--;
	while ((r + 1) * (r + 1) <= q)
		r++;
	return (int64_t)r;
}

/* Comparisons are written so that NaN fails them. */
static bool config_is_valid(const struct phi_config *c)
{
	return c->threshold > 0.0 && isfinite(c->threshold) &&
	    c->max_samples > 0 &&
	    c->min_std_dev_ms > 0.0 && isfinite(c->min_std_dev_ms) &&
	    c->acceptable_pause_ms >= 0.0 && isfinite(c->acceptable_pause_ms) &&
	    c->first_heartbeat_estimate_ms > 0.0 &&
	    c->first_heartbeat_estimate_ms < 4e18;
}

struct phi_detector *phi_new(const struct phi_config *cfg)
{
	struct phi_detector *d;
	int64_t cap_ms, m;

	if (cfg == NULL || !config_is_valid(cfg))
		return NULL;
	if ((size_t)cfg->max_samples >
	    (SIZE_MAX - sizeof(*d)) / sizeof(d->ring[0]))
		return NULL;

	/* Akka's firstHeartbeat: toMillis truncates, mean / 4 is integral. */
	cap_ms = max_interval_for(cfg->max_samples);
	m = (int64_t)cfg->first_heartbeat_estimate_ms;
	if (m + m / 4 > cap_ms)
		return NULL;

	d = calloc(1, sizeof(*d) +
		   (size_t)cfg->max_samples * sizeof(d->ring[0]));
	if (d == NULL)
		return NULL;
	d->cfg = *cfg;
	d->max_interval_ms = cap_ms;
	d->cap = (size_t)cfg->max_samples;
	history_add(d, m - m / 4);
	history_add(d, m + m / 4);
	return d;
}

void phi_free(struct phi_detector *d)
{
	free(d);
}

/* ---------------------------------------------------------------------------
 * Heartbeats and verdicts
 * ------------------------------------------------------------------------ */

void phi_heartbeat(struct phi_detector *d, int64_t now_ms)
{
	if (!d->has_last) {
		/* First heartbeat: only the timestamp; the seed stays. */
		d->has_last = true;
		d->last_ms = now_ms;
		return;
	}
	if (now_ms < d->last_ms)
		return;                 /* out of order: not in Akka */

	/* Akka: "don't use the first heartbeat after failure for the
	 * history, since a long pause will skew the stats".  Availability is
	 * judged at now_ms, against the history before this interval. */
	if (phi_is_available(d, now_ms))
		history_add(d, clamp_interval(d, d->last_ms, now_ms));
	d->last_ms = now_ms;
}

bool phi_surely_below_half(const struct phi_detector *d, int64_t now_ms)
{
	if (!d->has_last)
		return true;
	/* phi <= -log10(1/2) = 0.30103 while the elapsed time is at most the
	 * (pause-shifted) mean: no sqrt, exp or log needed to know that. */
	return diff_ms(d->last_ms, now_ms) * (double)d->count <=
	       (double)d->sum + d->cfg.acceptable_pause_ms * (double)d->count;
}

int64_t phi_quiet_until(const struct phi_detector *d)
{
	double x, q;

	if (!d->has_last || !d->count)
		return INT64_MAX;
	/* The largest whole q with q * count <= sum + pause * count, as
	 * phi_surely_below_half() computes it (the division may round up). */
	x = (double)d->sum + d->cfg.acceptable_pause_ms * (double)d->count;
	q = floor(x / (double)d->count);
	while (q > 0 && q * (double)d->count > x)
		q -= 1.0;
	if (q < 0)
		return d->last_ms - 1;
	if (q > 1e15)
		return INT64_MAX;
	return d->last_ms + (int64_t)q;
}

double phi_value(const struct phi_detector *d, int64_t now_ms)
{
	double mean, std_dev;

	if (!d->has_last)
		return 0.0;             /* unmonitored nodes count as healthy */
	history_stats(d, &mean, &std_dev);
	std_dev = fmax(std_dev, d->cfg.min_std_dev_ms);
	return phi_of(diff_ms(d->last_ms, now_ms),
		      mean + d->cfg.acceptable_pause_ms, std_dev);
}

bool phi_is_available(const struct phi_detector *d, int64_t now_ms)
{
	return phi_value(d, now_ms) < d->cfg.threshold;
}

void phi_get_stats(const struct phi_detector *d, struct phi_stats *out)
{
	history_stats(d, &out->mean_ms, &out->std_dev_ms);
	out->samples = (int)d->count;
	out->last_heartbeat_ms = d->has_last ? d->last_ms : -1;
}
