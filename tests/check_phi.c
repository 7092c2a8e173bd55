/* check_phi.c — unit tests for collector/phi: the cases of Akka's
 * AccrualFailureDetectorSpec (formula vectors, heartbeat scenarios with a
 * fake clock, window and statistics), then what Akka does not cover:
 * invalid configs, out-of-order and duplicate heartbeats, NaN and overflow
 * safety.  Time is a parameter; each test builds its own detector.
 *
 * Akka's fake clock hands out one cumulative time per call (heartbeat, phi,
 * isAvailable); the scenarios below write those times out explicitly. */
#include "collector/phi.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "suites.h"

#define ARRAY_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Akka spec defaults: threshold 8, 1000 samples, min std dev 100 ms, no
 * acceptable pause, first heartbeat estimate 1 s. */
#define AKKA_CFG(thr, max, pause) \
	{ .threshold = (thr), .max_samples = (max), \
	  .min_std_dev_ms = 100.0, .acceptable_pause_ms = (pause), \
	  .first_heartbeat_estimate_ms = 1000.0 }

static const struct phi_config akka_default = AKKA_CFG(8.0, 1000, 0.0);

static struct phi_detector *new_detector(const struct phi_config *cfg)
{
	struct phi_detector *d = phi_new(cfg);

	ck_assert_ptr_nonnull(d);
	return d;
}

/* The spec checks phi through the CDF it encodes. */
static double cdf(double phi)
{
	return 1.0 - pow(10.0, -phi);
}

/* ---------------------------------------------------------------------------
 * The formula
 * ------------------------------------------------------------------------ */

struct formula_vec {
	double time_diff, mean, std_dev;
	double want, tol;
};

/* "use good enough cumulative distribution function": expected CDF values. */
static const struct formula_vec cdf_vecs[] = {
	{ 0, 0, 10, 0.5, 0.001 },
	{ 6, 0, 10, 0.7257, 0.001 },
	{ 15, 0, 10, 0.9332, 0.001 },
	{ 20, 0, 10, 0.97725, 0.001 },
	{ 25, 0, 10, 0.99379, 0.001 },
	{ 35, 0, 10, 0.99977, 0.001 },
	{ 40, 0, 10, 0.99997, 0.0001 },
	{ 22, 20.0, 3, 0.7475, 0.001 },
};

START_TEST(test_formula_cdf)
{
	const struct formula_vec *v = &cdf_vecs[_i];

	ck_assert_double_eq_tol(cdf(phi_of(v->time_diff, v->mean, v->std_dev)),
				v->want, v->tol);
}
END_TEST

/* "return realistic phi values" (mean 1000, std dev 100) and "handle
 * outliers without losing precision or hitting exceptions". */
static const struct formula_vec phi_vecs[] = {
	{ 0, 1000, 100, 0.0, 0.1 },
	{ 500, 1000, 100, 0.1, 0.1 },
	{ 1000, 1000, 100, 0.3, 0.1 },
	{ 1200, 1000, 100, 1.6, 0.1 },
	{ 1400, 1000, 100, 4.7, 0.1 },
	{ 1600, 1000, 100, 10.8, 0.1 },
	{ 1700, 1000, 100, 15.3, 0.1 },
	{ 10, 0, 1, 38.0, 1.0 },
	{ -25, 0, 1, 0.0, 1e-300 },
	/* exact at the mean: -log10(1 - 1/2) */
	{ 1000, 1000, 100, 0.30102999566398120, 1e-12 },
};

START_TEST(test_formula_phi)
{
	const struct formula_vec *v = &phi_vecs[_i];
	double phi = phi_of(v->time_diff, v->mean, v->std_dev);

	ck_assert_double_eq_tol(phi, v->want, v->tol);
	ck_assert(!signbit(phi));
}
END_TEST

START_TEST(test_formula_monotonic)
{
	for (int x = 0; x < 40; x++)
		ck_assert_double_lt(phi_of(x, 0, 10), phi_of(x + 1, 0, 10));
}
END_TEST

START_TEST(test_formula_larger_std_dev_lower_phi)
{
	ck_assert_double_lt(phi_of(1100, 1000.0, 500.0),
			    phi_of(1100, 1000.0, 100.0));
}
END_TEST

/* Akka's e / (1 + e) underflows near y = 21 and it returns +inf; ours keeps
 * growing, finite, and saturates at DBL_MAX. */
START_TEST(test_formula_far_tail_finite)
{
	double prev = 0.0;

	for (double x = 0; x <= 100000; x += 50) {
		double phi = phi_of(x, 0, 100);

		ck_assert(isfinite(phi));
		ck_assert_double_ge(phi, prev);
		prev = phi;
	}
	ck_assert_double_gt(phi_of(3000, 0, 100), 400.0);   /* Akka: +inf */
	ck_assert_double_eq(phi_of(1e300, 0, 1e-300), DBL_MAX);
	ck_assert_double_eq(phi_of(INFINITY, 0, 1), DBL_MAX);
	ck_assert(!(phi_of(1e300, 0, 1e-300) < 8.0));
}
END_TEST

START_TEST(test_formula_undefined_is_zero)
{
	ck_assert_double_eq(phi_of(NAN, 0, 1), 0.0);
	ck_assert_double_eq(phi_of(0, NAN, 1), 0.0);
	ck_assert_double_eq(phi_of(0, 0, NAN), 0.0);
	ck_assert_double_eq(phi_of(5, 5, 0), 0.0);          /* 0 / 0 */
	ck_assert_double_eq(phi_of(-1e300, 0, 1e-300), 0.0);
	ck_assert(!signbit(phi_of(-1e300, 0, 1e-300)));
}
END_TEST

/* ---------------------------------------------------------------------------
 * Lifecycle and configuration
 * ------------------------------------------------------------------------ */

#define CFG(thr, max, dev, pause, est) \
	{ .threshold = (thr), .max_samples = (max), .min_std_dev_ms = (dev), \
	  .acceptable_pause_ms = (pause), .first_heartbeat_estimate_ms = (est) }

static const struct phi_config bad_cfgs[] = {
	CFG(0.0, 1000, 100, 0, 1000),
	CFG(-1.0, 1000, 100, 0, 1000),
	CFG(NAN, 1000, 100, 0, 1000),
	CFG(INFINITY, 1000, 100, 0, 1000),
	CFG(8.0, 0, 100, 0, 1000),
	CFG(8.0, -1, 100, 0, 1000),
	CFG(8.0, 1000, 0, 0, 1000),
	CFG(8.0, 1000, -1, 0, 1000),
	CFG(8.0, 1000, NAN, 0, 1000),
	CFG(8.0, 1000, INFINITY, 0, 1000),
	CFG(8.0, 1000, 100, -1, 1000),
	CFG(8.0, 1000, 100, NAN, 1000),
	CFG(8.0, 1000, 100, INFINITY, 1000),
	CFG(8.0, 1000, 100, 0, 0),
	CFG(8.0, 1000, 100, 0, -1000),
	CFG(8.0, 1000, 100, 0, NAN),
	CFG(8.0, 1000, 100, 0, INFINITY),
	CFG(8.0, 1000, 100, 0, 1e30),   /* seed squares would overflow */
};

START_TEST(test_config_invalid)
{
	ck_assert_ptr_null(phi_new(&bad_cfgs[_i]));
}
END_TEST

START_TEST(test_config_valid_edges)
{
	static const struct phi_config ok[] = {
		CFG(8.0, 1, 0.001, 0, 0.5),     /* m truncates to 0 */
		CFG(1e-9, 1, 1e-9, 0, 1),
		CFG(8.0, 1000, 100, 1e15, 7e7),
	};

	for (int i = 0; i < ARRAY_LEN(ok); i++)
		phi_free(new_detector(&ok[i]));
	ck_assert_ptr_null(phi_new(NULL));
}
END_TEST

START_TEST(test_free_null)
{
	phi_free(NULL);
}
END_TEST

/* "return phi value of 0.0 on startup for each address, when no
 * heartbeats"; stats show the seed m -/+ m/4 and no heartbeat yet. */
START_TEST(test_startup)
{
	struct phi_detector *d = new_detector(&akka_default);
	struct phi_stats st;

	ck_assert_double_eq(phi_value(d, 0), 0.0);
	ck_assert_double_eq(phi_value(d, 1000000), 0.0);
	ck_assert(phi_is_available(d, INT64_MAX));
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 2);
	ck_assert_double_eq(st.mean_ms, 1000.0);
	ck_assert_double_eq(st.std_dev_ms, 250.0);
	ck_assert_int_eq(st.last_heartbeat_ms, -1);
	phi_free(d);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Heartbeat scenarios from the spec
 * ------------------------------------------------------------------------ */

enum op {
	END,
	HB,             /* heartbeat at t */
	HB_RUN,         /* count heartbeats from t, every `every` ms */
	AVAIL,          /* available at t */
	UNAVAIL,
	PHI_NEAR,       /* |phi(t) - want| < tol */
	PHI_ABOVE,      /* phi(t) > want */
};

struct step {
	enum op op;
	int64_t t;
	int64_t every;
	int count;
	double want, tol;
};

#define AT(o, ms) { .op = (o), .t = (ms) }
#define PHI_AT(o, ms, w, tl) \
	{ .op = (o), .t = (ms), .want = (w), .tol = (tl) }
#define RUN(ms, ev, n) \
	{ .op = HB_RUN, .t = (ms), .every = (ev), .count = (n) }

struct scenario {
	struct phi_config cfg;
	struct step steps[12];
};

static const struct scenario scenarios[] = {
	/* 0: "return phi based on guess when only one heartbeat" */
	{ AKKA_CFG(8.0, 1000, 0.0), {
		AT(HB, 0),
		PHI_AT(PHI_NEAR, 1000, 0.3, 0.2),
		PHI_AT(PHI_NEAR, 2000, 4.5, 0.3),
		PHI_AT(PHI_ABOVE, 3000, 15.0, 0),
	} },
	/* 1: "return phi value using first interval after second heartbeat" */
	{ AKKA_CFG(8.0, 1000, 0.0), {
		AT(HB, 0),
		PHI_AT(PHI_ABOVE, 100, 0.0, 0),
		AT(HB, 200),
		PHI_AT(PHI_ABOVE, 300, 0.0, 0),
	} },
	/* 2: "mark node as monitored after a series of successful
	 * heartbeats" */
	{ AKKA_CFG(8.0, 1000, 0.0), {
		AT(HB, 0), AT(HB, 1000), AT(HB, 1100),
		AT(AVAIL, 1200),
	} },
	/* 3: "mark node as dead if heartbeat are missed" */
	{ AKKA_CFG(3.0, 1000, 0.0), {
		AT(HB, 0), AT(HB, 1000), AT(HB, 1100),
		AT(AVAIL, 1200),
		AT(UNAVAIL, 8200),
	} },
	/* 4: "mark node as available if it starts heartbeat again after being
	 * marked dead due to detection of failure": 1000 heartbeats 1 s apart,
	 * a 5 min pause, then a 7 s pause. */
	{ AKKA_CFG(8.0, 1000, 3000.0), {
		RUN(0, 1000, 1000),
		AT(UNAVAIL, 1299000),
		AT(HB, 1299100),
		AT(AVAIL, 1300000),
		AT(HB, 1300100),
		AT(UNAVAIL, 1307100),
		AT(HB, 1307200),
		AT(AVAIL, 1308100),
		AT(HB, 1308200),
		AT(AVAIL, 1309100),
	} },
	/* 5: "accept some configured missing heartbeats" */
	{ AKKA_CFG(8.0, 1000, 3000.0), {
		AT(HB, 0), AT(HB, 1000), AT(HB, 2000), AT(HB, 3000),
		AT(AVAIL, 7000),
		AT(HB, 8000),
		AT(AVAIL, 9000),
	} },
	/* 6: "fail after configured acceptable missing heartbeats" */
	{ AKKA_CFG(8.0, 1000, 3000.0), {
		RUN(0, 1000, 6),
		AT(AVAIL, 5500),
		AT(HB, 6000),
		AT(UNAVAIL, 11000),
	} },
};

static void run_step(struct phi_detector *d, const struct step *s)
{
	switch (s->op) {
	case END:
		break;
	case HB:
		phi_heartbeat(d, s->t);
		break;
	case HB_RUN:
		for (int i = 0; i < s->count; i++)
			phi_heartbeat(d, s->t + i * s->every);
		break;
	case AVAIL:
		ck_assert_msg(phi_is_available(d, s->t), "down at %lld",
			      (long long)s->t);
		break;
	case UNAVAIL:
		ck_assert_msg(!phi_is_available(d, s->t), "up at %lld",
			      (long long)s->t);
		break;
	case PHI_NEAR:
		ck_assert_double_eq_tol(phi_value(d, s->t), s->want, s->tol);
		break;
	case PHI_ABOVE:
		ck_assert_double_gt(phi_value(d, s->t), s->want);
		break;
	}
}

START_TEST(test_scenario)
{
	const struct scenario *sc = &scenarios[_i];
	struct phi_detector *d = new_detector(&sc->cfg);

	for (int i = 0; i < ARRAY_LEN(sc->steps) && sc->steps[i].op != END; i++)
		run_step(d, &sc->steps[i]);
	phi_free(d);
}
END_TEST

/* isMonitoring has no counterpart: last_heartbeat_ms stands for it. */
START_TEST(test_monitoring)
{
	struct phi_detector *d = new_detector(&akka_default);
	struct phi_stats st;

	phi_get_stats(d, &st);
	ck_assert_int_eq(st.last_heartbeat_ms, -1);
	phi_heartbeat(d, 0);
	phi_heartbeat(d, 1000);
	phi_heartbeat(d, 1100);
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.last_heartbeat_ms, 1100);
	ck_assert(phi_is_available(d, 1200));
	phi_free(d);
}
END_TEST

/* "use maxSampleSize heartbeats": once the 100 ms intervals have left the
 * window of 3, phi at one 500 ms interval equals phi at one 100 ms interval
 * before.  The 700 ms gap comes while unavailable and is not recorded. */
START_TEST(test_max_samples_window)
{
	struct phi_config cfg = AKKA_CFG(8.0, 3, 0.0);
	struct phi_detector *d = new_detector(&cfg);
	struct phi_stats st;
	double phi1, phi2;

	phi_heartbeat(d, 0);
	phi_heartbeat(d, 100);
	phi_heartbeat(d, 200);
	phi_heartbeat(d, 300);
	phi1 = phi_value(d, 400);
	phi_heartbeat(d, 1000);
	phi_heartbeat(d, 1500);
	phi_heartbeat(d, 2000);
	phi_heartbeat(d, 2500);
	phi2 = phi_value(d, 3000);
	ck_assert_double_eq_tol(phi2, phi1, 0.001);

	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 3);
	ck_assert_double_eq(st.mean_ms, 500.0);
	ck_assert_double_eq(st.std_dev_ms, 0.0);
	phi_free(d);
}
END_TEST

/* "phi should not be recorded when unavailable": the interval that ends a
 * failure is dropped, the next one is kept. */
START_TEST(test_not_recorded_when_unavailable)
{
	struct phi_detector *d = new_detector(&akka_default);
	struct phi_stats st;

	phi_heartbeat(d, 0);
	phi_heartbeat(d, 1000);                 /* 1000 recorded */
	ck_assert(!phi_is_available(d, 60000));
	phi_heartbeat(d, 60000);                /* 59000 dropped */
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 3);
	ck_assert_double_eq(st.mean_ms, 1000.0);
	ck_assert_int_eq(st.last_heartbeat_ms, 60000);
	phi_heartbeat(d, 61000);                /* 1000 recorded again */
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 4);
	phi_free(d);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Statistics ("Statistics for heartbeats")
 * ------------------------------------------------------------------------ */

/* The window holds exactly the given intervals (max_samples = how many are
 * checked, so the seed is gone); a high threshold records them all. */
struct stats_vec {
	int max_samples;
	int n;
	int64_t intervals[6];
	double mean, variance;
};

static const struct stats_vec stats_vecs[] = {
	/* "calculate correct mean and variance" */
	{ 5, 5, { 100, 200, 125, 340, 130 }, 179.0, 7584.0 },
	/* "have 0.0 variance for one sample" */
	{ 1, 1, { 1000 }, 1000.0, 0.0 },
	/* "be capped by the specified maxSampleSize" */
	{ 3, 3, { 100, 110, 90 }, 100.0, 66.6666667 },
	{ 3, 4, { 100, 110, 90, 140 }, 113.333333, 422.222222 },
	{ 3, 5, { 100, 110, 90, 140, 80 }, 103.333333, 688.88888889 },
};

START_TEST(test_stats)
{
	const struct stats_vec *v = &stats_vecs[_i];
	struct phi_config cfg = CFG(1e300, v->max_samples, 100, 0, 100);
	struct phi_detector *d = new_detector(&cfg);
	struct phi_stats st;
	int64_t t = 0;

	phi_heartbeat(d, t);
	for (int i = 0; i < v->n; i++)
		phi_heartbeat(d, t += v->intervals[i]);
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, v->max_samples);
	ck_assert_double_eq_tol(st.mean_ms, v->mean, 0.00001);
	ck_assert_double_eq_tol(st.std_dev_ms * st.std_dev_ms, v->variance,
				0.00001);
	ck_assert_int_eq(st.last_heartbeat_ms, t);
	phi_free(d);
}
END_TEST

/* The seed m -/+ m/4 uses integer ms like Akka; a window of one keeps only
 * the second seed interval. */
START_TEST(test_seed)
{
	struct phi_config c10 = CFG(8.0, 10, 1, 0, 10.9);
	struct phi_config c1 = CFG(8.0, 1, 1, 0, 1000);
	struct phi_detector *d = new_detector(&c10);
	struct phi_stats st;

	phi_get_stats(d, &st);                  /* 8 and 12 */
	ck_assert_double_eq(st.mean_ms, 10.0);
	ck_assert_double_eq(st.std_dev_ms, 2.0);
	phi_free(d);

	d = new_detector(&c1);
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 1);
	ck_assert_double_eq(st.mean_ms, 1250.0);
	ck_assert_double_eq(st.std_dev_ms, 0.0);
	phi_free(d);
}
END_TEST

/* phi_value uses mean + pause and max(std dev, floor). */
START_TEST(test_phi_uses_pause_and_floor)
{
	struct phi_config cfg = CFG(8.0, 1000, 300, 2000, 1000);
	struct phi_detector *d = new_detector(&cfg);

	phi_heartbeat(d, 0);
	/* seed std dev 250 < floor 300; mean 1000 + 2000 */
	ck_assert_double_eq_tol(phi_value(d, 3500), phi_of(3500, 3000, 300),
				1e-12);
	ck_assert_double_eq_tol(phi_value(d, 100), phi_of(100, 3000, 300),
				1e-12);
	phi_free(d);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Beyond Akka: ordering, duplicates, NaN and overflow
 * ------------------------------------------------------------------------ */

START_TEST(test_out_of_order_ignored)
{
	struct phi_detector *d = new_detector(&akka_default);
	struct phi_stats before, after;
	double phi;

	phi_heartbeat(d, 0);
	phi_heartbeat(d, 1000);
	phi_get_stats(d, &before);
	phi = phi_value(d, 1800);
	phi_heartbeat(d, 500);
	phi_heartbeat(d, INT64_MIN);
	phi_get_stats(d, &after);
	ck_assert_int_eq(after.samples, before.samples);
	ck_assert_double_eq(after.mean_ms, before.mean_ms);
	ck_assert_int_eq(after.last_heartbeat_ms, 1000);
	ck_assert_double_eq(phi_value(d, 1800), phi);
	phi_free(d);
}
END_TEST

/* An equal timestamp is an interval of 0, recorded like any other: only if
 * the node is available at that instant (Akka). */
START_TEST(test_equal_timestamp_recorded_when_available)
{
	struct phi_detector *d = new_detector(&akka_default);
	struct phi_stats st;

	phi_heartbeat(d, 0);
	phi_heartbeat(d, 1000);
	phi_heartbeat(d, 1000);
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 4);        /* 750 1250 1000 0 */
	ck_assert_double_eq(st.mean_ms, 750.0);
	ck_assert_int_eq(st.last_heartbeat_ms, 1000);
	phi_free(d);
}
END_TEST

START_TEST(test_equal_timestamp_not_recorded_when_unavailable)
{
	/* phi(0) with mean 1000, std dev 250 is about 8e-6 */
	struct phi_config cfg = CFG(1e-6, 1000, 100, 0, 1000);
	struct phi_detector *d = new_detector(&cfg);
	struct phi_stats st;

	phi_heartbeat(d, 0);
	ck_assert(!phi_is_available(d, 0));
	phi_heartbeat(d, 0);
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 2);
	ck_assert_double_eq(st.mean_ms, 1000.0);
	phi_free(d);
}
END_TEST

static void assert_sane_sweep(const struct phi_detector *d, int64_t from,
			      int64_t to, int64_t step)
{
	for (int64_t t = from; t <= to; t += step) {
		double phi = phi_value(d, t);

		ck_assert(!isnan(phi));
		ck_assert(!signbit(phi));
		ck_assert(isfinite(phi));
	}
}

/* Identical intervals: std dev 0, floored at a tiny minimum. */
START_TEST(test_never_nan_identical_intervals)
{
	struct phi_config cfg = CFG(8.0, 4, 1e-9, 0, 1000);
	struct phi_detector *d = new_detector(&cfg);
	struct phi_stats st;

	for (int64_t t = 0; t <= 10000; t += 1000)
		phi_heartbeat(d, t);
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 4);
	ck_assert_double_eq(st.std_dev_ms, 0.0);
	ck_assert_double_eq_tol(phi_value(d, 11000), 0.30103, 1e-5);
	ck_assert(phi_is_available(d, 10999));
	ck_assert(!phi_is_available(d, 11001));
	assert_sane_sweep(d, 9000, 13000, 1);
	phi_free(d);
}
END_TEST

/* sq/n - mean^2 rounds to -0.5 for these three; must not give sqrt(-x). */
START_TEST(test_never_nan_rounding_variance)
{
	struct phi_config cfg = CFG(8.0, 3, 1, 0, 59255668);
	struct phi_detector *d = new_detector(&cfg);
	struct phi_stats st;
	int64_t t = 0;

	phi_heartbeat(d, t);
	phi_heartbeat(d, t += 59255668);
	phi_heartbeat(d, t += 59255669);
	phi_heartbeat(d, t += 59255668);
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 3);
	ck_assert(!isnan(st.std_dev_ms));
	ck_assert_double_ge(st.std_dev_ms, 0.0);
	assert_sane_sweep(d, t, t + 2 * 59255668LL, 1000003);
	phi_free(d);
}
END_TEST

/* Huge gaps: phi stays finite and above the threshold; no overflow. */
START_TEST(test_huge_time_diff)
{
	struct phi_detector *d = new_detector(&akka_default);
	double phi;

	phi_heartbeat(d, 0);
	phi_heartbeat(d, 1000);
	phi = phi_value(d, INT64_MAX);
	ck_assert(isfinite(phi));
	ck_assert_double_ge(phi, 8.0);
	ck_assert(!phi_is_available(d, INT64_MAX));
	ck_assert(!phi_is_available(d, 1000 + 100000));  /* Akka: +inf */
	/* a query in the past is a negative time diff: phi 0, available */
	ck_assert_double_eq(phi_value(d, INT64_MIN), 0.0);
	ck_assert(phi_is_available(d, INT64_MIN));
	phi_free(d);
}
END_TEST

/* With a pause large enough to accept anything, the full int64 range is
 * recorded: intervals are capped so the squared sum does not overflow. */
START_TEST(test_huge_intervals_capped)
{
	struct phi_config cfg = CFG(8.0, 1000, 100, 1e300, 1000);
	struct phi_detector *d = new_detector(&cfg);
	struct phi_stats st;

	phi_heartbeat(d, INT64_MIN);
	phi_heartbeat(d, INT64_MAX);
	phi_heartbeat(d, INT64_MAX);
	phi_get_stats(d, &st);
	ck_assert_int_eq(st.samples, 4);
	ck_assert(isfinite(st.mean_ms));
	ck_assert(isfinite(st.std_dev_ms));
	ck_assert_double_gt(st.mean_ms, 1e7);
	ck_assert_double_lt(st.mean_ms, 1e9);
	ck_assert(phi_is_available(d, INT64_MAX));
	phi_free(d);
}
END_TEST


/* The cheap pre-check never says "below 1/2" when phi is not, and says it
 * for elapsed times up to the pause-shifted mean (seeded random histories). */
START_TEST(test_surely_below_half)
{
	const struct phi_config cfg = AKKA_CFG(8.0, 200, 100.0);
	unsigned seed = 12345;
	int said = 0, checked = 0;

	for (int run = 0; run < 200; run++) {
		struct phi_detector *d = new_detector(&cfg);
		int64_t t = 1000000;

		ck_assert(phi_surely_below_half(d, t));   /* before any heartbeat */
		phi_heartbeat(d, t);
		for (int i = 0; i < 50; i++) {
			seed = seed * 1103515245u + 12345u;
			t += 50 + (int64_t)((seed >> 16) % 900);
			phi_heartbeat(d, t);
		}
		for (int64_t dt = 0; dt < 5000; dt += 7) {
			bool below = phi_surely_below_half(d, t + dt);

			checked++;
			if (below) {
				said++;
				ck_assert_msg(phi_value(d, t + dt) <= 0.30103 + 1e-9,
					      "run %d dt %lld: said below 1/2, phi %.6f", run,
					      (long long)dt, phi_value(d, t + dt));
			}
		}
		ck_assert(!phi_surely_below_half(d, t + 100000));
		phi_free(d);
	}
	ck_assert_int_gt(said, checked / 20);           /* it does skip work */
}
END_TEST

/* phi_quiet_until() is exactly the last moment phi_surely_below_half()
 * holds: true there (and before), false one millisecond later, for seeded
 * random histories, fractional pauses and windows that wrap. */
START_TEST(test_quiet_until_is_the_boundary)
{
	static const double pauses[] = { 0.0, 100.0, 333.3, 0.7 };
	unsigned seed = 777;

	for (int run = 0; run < 400; run++) {
		struct phi_config cfg = AKKA_CFG(8.0, 20 + run % 50, 100.0);
		struct phi_detector *d;
		int64_t t = 5000000 + run, q;

		cfg.acceptable_pause_ms = pauses[run % 4];
		d = new_detector(&cfg);
		ck_assert(phi_quiet_until(d) == INT64_MAX);   /* before any heartbeat */
		phi_heartbeat(d, t);
		for (int i = 0; i < 1 + run % 120; i++) {
			seed = seed * 1103515245u + 12345u;
			t += 1 + (int64_t)((seed >> 16) % 2000);
			phi_heartbeat(d, t);
		}
		q = phi_quiet_until(d);
		ck_assert_msg(q >= t && q < t + 100000, "run %d: quiet until %lld, last %lld", run,
			      (long long)q, (long long)t);
		ck_assert_msg(phi_surely_below_half(d, q), "run %d: not below 1/2 at %lld", run,
			      (long long)(q - t));
		ck_assert_msg(phi_surely_below_half(d, t + (q - t) / 2), "run %d: half-way", run);
		ck_assert_msg(!phi_surely_below_half(d, q + 1), "run %d: still below 1/2 after %lld",
			      run, (long long)(q - t));
		phi_free(d);
	}
}
END_TEST

Suite *phi_suite(void)
{
	Suite *s = suite_create("phi");
	TCase *tc;

	tc = tcase_create("formula");
	tcase_add_loop_test(tc, test_formula_cdf, 0, ARRAY_LEN(cdf_vecs));
	tcase_add_loop_test(tc, test_formula_phi, 0, ARRAY_LEN(phi_vecs));
	tcase_add_test(tc, test_formula_monotonic);
	tcase_add_test(tc, test_formula_larger_std_dev_lower_phi);
	tcase_add_test(tc, test_formula_far_tail_finite);
	tcase_add_test(tc, test_formula_undefined_is_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_loop_test(tc, test_config_invalid, 0, ARRAY_LEN(bad_cfgs));
	tcase_add_test(tc, test_config_valid_edges);
	tcase_add_test(tc, test_free_null);
	tcase_add_test(tc, test_startup);
	suite_add_tcase(s, tc);

	tc = tcase_create("detection");
	tcase_add_loop_test(tc, test_scenario, 0, ARRAY_LEN(scenarios));
	tcase_add_test(tc, test_monitoring);
	tcase_add_test(tc, test_max_samples_window);
	tcase_add_test(tc, test_not_recorded_when_unavailable);
	tcase_add_test(tc, test_phi_uses_pause_and_floor);
	suite_add_tcase(s, tc);

	tc = tcase_create("stats");
	tcase_add_loop_test(tc, test_stats, 0, ARRAY_LEN(stats_vecs));
	tcase_add_test(tc, test_seed);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_test(tc, test_out_of_order_ignored);
	tcase_add_test(tc, test_equal_timestamp_recorded_when_available);
	tcase_add_test(tc, test_equal_timestamp_not_recorded_when_unavailable);
	tcase_add_test(tc, test_never_nan_identical_intervals);
	tcase_add_test(tc, test_never_nan_rounding_variance);
	tcase_add_test(tc, test_huge_time_diff);
	tcase_add_test(tc, test_huge_intervals_capped);
	tcase_add_test(tc, test_surely_below_half);
	tcase_add_test(tc, test_quiet_until_is_the_boundary);
	suite_add_tcase(s, tc);

	return s;
}
