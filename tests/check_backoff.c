/* check_backoff.c — unit tests for agent/backoff: the ceiling sequence, the
 * range of every draw, reset, determinism per seed, saturation after many
 * attempts and the mean of full jitter at the cap.  Every test seeds its own
 * struct backoff, so results are reproducible. */
#include "agent/backoff.h"

#include "suites.h"

#define BASE_MS 100
#define CAP_MS  10000
#define MIN_MS  10
#define SEED    0x1234abcdULL

/* --- ceilings ------------------------------------------------------------ */

static const struct {
	uint32_t attempt;
	uint32_t ceiling_ms;
} ceilings[] = {
	{ 0, 100 }, { 1, 200 }, { 2, 400 }, { 3, 800 }, { 4, 1600 },
	{ 5, 3200 }, { 6, 6400 }, { 7, 10000 }, { 8, 10000 }, { 20, 10000 },
	{ 31, 10000 }, { 32, 10000 }, { 33, 10000 }, { 64, 10000 },
	{ 1000, 10000 }, { UINT32_MAX, 10000 },
};

START_TEST(test_ceiling_table)
{
	struct backoff b;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	b.attempt = ceilings[_i].attempt;
	ck_assert_uint_eq(backoff_ceiling_ms(&b), ceilings[_i].ceiling_ms);
}
END_TEST

START_TEST(test_ceiling_sequence)
{
	static const uint32_t want[] = {
		100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000,
	};
	struct backoff b;
	size_t i;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_uint_eq(b.attempt, i);
		ck_assert_uint_eq(backoff_ceiling_ms(&b), want[i]);
		backoff_next_ms(&b);
	}
}
END_TEST

START_TEST(test_init_fields)
{
	struct backoff b;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	ck_assert_uint_eq(b.base_ms, BASE_MS);
	ck_assert_uint_eq(b.cap_ms, CAP_MS);
	ck_assert_uint_eq(b.min_ms, MIN_MS);
	ck_assert_uint_eq(b.attempt, 0);
	ck_assert_uint_ne(b.rng, 0);
}
END_TEST

/* --- draws --------------------------------------------------------------- */

START_TEST(test_delay_in_range)
{
	struct backoff b;
	int round, i;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	for (round = 0; round < 500; round++) {
		for (i = 0; i < 20; i++) {
			uint32_t ceiling = backoff_ceiling_ms(&b);
			uint32_t d = backoff_next_ms(&b);

			ck_assert_uint_ge(d, MIN_MS);
			ck_assert_uint_le(d, ceiling);
		}
		backoff_reset(&b);
	}
}
END_TEST

START_TEST(test_min_above_ceiling)
{
	struct backoff b;

	/* A floor above the first ceiling wins. */
	backoff_init(&b, 5, 1000, 50, SEED);
	ck_assert_uint_eq(backoff_next_ms(&b), 50);
}
END_TEST

START_TEST(test_zero_base)
{
	struct backoff b;
	int i;

	backoff_init(&b, 0, CAP_MS, MIN_MS, SEED);
	for (i = 0; i < 40; i++)
		ck_assert_uint_eq(backoff_next_ms(&b), MIN_MS);
}
END_TEST

START_TEST(test_reset)
{
	struct backoff b;
	int i;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	for (i = 0; i < 12; i++)
		backoff_next_ms(&b);
	ck_assert_uint_eq(b.attempt, 12);
	ck_assert_uint_eq(backoff_ceiling_ms(&b), CAP_MS);
	backoff_reset(&b);
	ck_assert_uint_eq(b.attempt, 0);
	ck_assert_uint_eq(backoff_ceiling_ms(&b), BASE_MS);
	ck_assert_uint_le(backoff_next_ms(&b), BASE_MS);
	ck_assert_uint_eq(b.attempt, 1);
}
END_TEST

START_TEST(test_deterministic)
{
	struct backoff a, b;
	int i;

	backoff_init(&a, BASE_MS, CAP_MS, MIN_MS, SEED);
	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	for (i = 0; i < 200; i++)
		ck_assert_uint_eq(backoff_next_ms(&a), backoff_next_ms(&b));
}
END_TEST

START_TEST(test_seeds_differ)
{
	struct backoff a, b;
	int i, same = 0;

	backoff_init(&a, BASE_MS, CAP_MS, MIN_MS, 1);
	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, 2);
	for (i = 0; i < 50; i++) {
		a.attempt = b.attempt = 20;     /* draw at the cap: 10001 values */
		same += backoff_next_ms(&a) == backoff_next_ms(&b);
	}
	ck_assert_int_lt(same, 5);
}
END_TEST

START_TEST(test_seed_zero)
{
	struct backoff b;
	uint32_t first, d;
	int i, varied = 0;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, 0);
	ck_assert_uint_ne(b.rng, 0);
	b.attempt = 20;
	first = backoff_next_ms(&b);
	for (i = 0; i < 50; i++) {
		b.attempt = 20;
		d = backoff_next_ms(&b);
		varied |= d != first;
		ck_assert_uint_le(d, CAP_MS);
	}
	ck_assert(varied);

	/* A state zeroed behind our back is repaired, not stuck. */
	b.rng = 0;
	backoff_next_ms(&b);
	ck_assert_uint_ne(b.rng, 0);
}
END_TEST

/* --- limits -------------------------------------------------------------- */

START_TEST(test_many_attempts)
{
	struct backoff b;
	int i;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	for (i = 0; i < 1000; i++) {
		uint32_t d = backoff_next_ms(&b);

		ck_assert_uint_ge(d, MIN_MS);
		ck_assert_uint_le(d, CAP_MS);
	}
	ck_assert_uint_eq(b.attempt, 1000);
	ck_assert_uint_eq(backoff_ceiling_ms(&b), CAP_MS);
}
END_TEST

START_TEST(test_attempt_saturates)
{
	struct backoff b;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	b.attempt = UINT32_MAX - 1;
	backoff_next_ms(&b);
	ck_assert_uint_eq(b.attempt, UINT32_MAX);
	ck_assert_uint_le(backoff_next_ms(&b), CAP_MS);
	ck_assert_uint_eq(b.attempt, UINT32_MAX);
	ck_assert_uint_eq(backoff_ceiling_ms(&b), CAP_MS);
}
END_TEST

START_TEST(test_huge_values)
{
	struct backoff b;
	int i;

	backoff_init(&b, UINT32_MAX, UINT32_MAX, 0, SEED);
	for (i = 0; i < 70; i++) {
		ck_assert_uint_eq(backoff_ceiling_ms(&b), UINT32_MAX);
		backoff_next_ms(&b);
	}
	backoff_init(&b, 3, UINT32_MAX, 0, SEED);
	b.attempt = 30;
	ck_assert_uint_eq(backoff_ceiling_ms(&b), 3U << 30);
	b.attempt = 31;                 /* 3 << 31 does not fit in 32 bits */
	ck_assert_uint_eq(backoff_ceiling_ms(&b), UINT32_MAX);
}
END_TEST

START_TEST(test_mean_at_cap)
{
	struct backoff b;
	double sum = 0.0;
	int i, n = 100000;

	backoff_init(&b, BASE_MS, CAP_MS, MIN_MS, SEED);
	for (i = 0; i < n; i++) {
		b.attempt = 50;
		sum += backoff_next_ms(&b);
	}
	ck_assert_double_eq_tol(sum / n, CAP_MS / 2.0, CAP_MS * 0.02);
}
END_TEST

Suite *backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc;

	tc = tcase_create("ceilings");
	tcase_add_loop_test(tc, test_ceiling_table, 0, sizeof(ceilings) / sizeof(ceilings[0]));
	tcase_add_test(tc, test_ceiling_sequence);
	tcase_add_test(tc, test_init_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("draws");
	tcase_add_test(tc, test_delay_in_range);
	tcase_add_test(tc, test_min_above_ceiling);
	tcase_add_test(tc, test_zero_base);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_seeds_differ);
	tcase_add_test(tc, test_seed_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_many_attempts);
	tcase_add_test(tc, test_attempt_saturates);
	tcase_add_test(tc, test_huge_values);
	tcase_add_test(tc, test_mean_at_cap);
	suite_add_tcase(s, tc);

	return s;
}
