/* check_sysmetrics.c — unit tests for agent/sysmetrics: fixed text vectors
 * for the /proc/stat, /proc/meminfo and /proc/loadavg parsers (good,
 * malformed, huge), cpu % between samples, sysm_read() against a fake proc
 * directory made with mkdtemp() under /tmp (removed by the test that made
 * it), and against the real /proc. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "agent/sysmetrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- /proc/stat ---------------------------------------------------------- */

static const struct {
	const char *text;
	bool ok;
	uint64_t busy;
	uint64_t total;
} stat_cases[] = {
	/* user nice system idle iowait irq softirq steal guest guest_nice */
	{ "cpu  100 20 30 400 50 6 7 8 9 10\ncpu0 50 10 15 200 25 3 3 4 4 5\nintr 1 2 3\n",
	  true, 171, 621 },
	{ "cpu  100 20 30 400 50 6 7 8\n", true, 171, 621 },
	{ "cpu 1 2 3 4 5 6 7\n", true, 19, 28 },        /* no steal (2.6.0-2.6.10) */
	{ "cpu 1 2 3 4 5\n", true, 6, 15 },
	{ "cpu 1 2 3 4\n", true, 6, 10 },               /* 2.4 kernels */
	{ "cpu 1 2 3 4", true, 6, 10 },                 /* no newline */
	{ "cpu\t1\t2 3  4  \n", true, 6, 10 },
	{ "intr 5\ncpu 1 2 3 4\n", true, 6, 10 },
	{ "cpu 0 0 0 0\n", true, 0, 0 },
	{ "cpu 18446744073709551615 0 0 0\n", true, UINT64_MAX, UINT64_MAX },
	{ "cpu 1 2 3 4 5 6 7 8 9 10 11 12 13\n", true, 27, 36 },
	{ "", false, 0, 0 },
	{ "garbage", false, 0, 0 },
	{ "\n\n\n", false, 0, 0 },
	{ "cpu\n", false, 0, 0 },
	{ "cpu \n", false, 0, 0 },
	{ "cpu 1 2 3\n", false, 0, 0 },
	{ "cpu 1 2 3\ncpu0 4 5 6 7\n", false, 0, 0 },
	{ "cpu0 1 2 3 4\n", false, 0, 0 },
	{ "cpux 1 2 3 4\n", false, 0, 0 },
	{ "cpu0cpu 1 2 3 4\n", false, 0, 0 },
	{ "cpu0 1 2 3 4\ncpu1 1 2 3 4\ncpu 5 6 7 8\n", true, 18, 26 },
	{ " cpu 1 2 3 4\n", false, 0, 0 },
	{ "cpu 1 2 x 4\n", false, 0, 0 },
	{ "cpu 1 2 3 4x\n", false, 0, 0 },
	{ "cpu 1 2 3 4.5\n", false, 0, 0 },
	{ "cpu -1 2 3 4\n", false, 0, 0 },
	{ "cpu 18446744073709551616 0 0 0\n", false, 0, 0 },         /* 2^64 */
	{ "cpu 99999999999999999999999999999 0 0 0\n", false, 0, 0 },
	{ "cpu 18446744073709551615 1 0 0\n", false, 0, 0 },         /* busy overflows */
	{ "cpu 0 0 0 18446744073709551615 1\n", false, 0, 0 },       /* total overflows */
};

START_TEST(test_parse_stat)
{
	struct cpu_times t = { 77, 77 };
	int rc = sysm_parse_stat(stat_cases[_i].text, &t);

	if (stat_cases[_i].ok) {
		ck_assert_msg(rc == 0, "refused '%s'", stat_cases[_i].text);
		ck_assert_uint_eq(t.busy, stat_cases[_i].busy);
		ck_assert_uint_eq(t.total, stat_cases[_i].total);
	} else {
		ck_assert_msg(rc == -1, "accepted '%s'", stat_cases[_i].text);
		ck_assert_uint_eq(t.busy, 77);          /* out untouched */
	}
}
END_TEST

/* --- /proc/meminfo ------------------------------------------------------- */

static const struct {
	const char *text;
	bool ok;
	double pct;
} mem_cases[] = {
	{ "MemTotal:       16000000 kB\nMemFree:         1000000 kB\n"
	  "MemAvailable:    4000000 kB\nBuffers:          100000 kB\nCached:  2000000 kB\n",
	  true, 75.0 },
	{ "MemTotal: 1000 kB\nMemAvailable: 0 kB\n", true, 100.0 },
	{ "MemTotal: 1000 kB\nMemAvailable: 1000 kB\n", true, 0.0 },
	{ "MemTotal: 1000 kB\nMemAvailable: 5000 kB\n", true, 0.0 },       /* clamped */
	{ "MemAvailable: 250 kB\nMemTotal: 1000 kB\n", true, 75.0 },       /* any order */
	/* Before 3.14: free + buffers + cached; SwapCached must not be taken for Cached. */
	{ "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nSwapCached: 999 kB\nCached: 250 kB\n",
	  true, 60.0 },
	{ "MemTotal: 1000 kB\nMemFree: 100 kB\n", true, 90.0 },
	{ "MemTotal: 18446744073709551615 kB\nMemAvailable: 0 kB\n", true, 100.0 },
	{ "MemTotal: 1000 kB\nMemFree: 18446744073709551615 kB\nCached: 10 kB\n", true, 0.0 },
	{ "", false, 0 },
	{ "garbage\n", false, 0 },
	{ "MemFree: 100 kB\nMemAvailable: 100 kB\n", false, 0 },          /* no total */
	{ "MemTotal: 0 kB\nMemAvailable: 0 kB\n", false, 0 },
	{ "MemTotal: abc kB\nMemAvailable: 1 kB\n", false, 0 },
	{ "MemTotal:\nMemAvailable: 1 kB\n", false, 0 },
	{ "MemTotal: -5 kB\nMemAvailable: 1 kB\n", false, 0 },
	{ "MemTotal: 1000 kB\n", false, 0 },                              /* no available, no free */
	{ "MemTotal: 1000 kB\nMemAvailable: x kB\n", false, 0 },
	{ "MemTotal: 99999999999999999999999 kB\nMemAvailable: 1 kB\n", false, 0 },
	{ "MemTotal: 1000 kB\nMemFree: 100 kB\nCached: zz kB\n", false, 0 },
	{ " MemTotal: 1000 kB\n MemAvailable: 1 kB\n", false, 0 },
};

START_TEST(test_parse_meminfo)
{
	double pct = -7.0;
	int rc = sysm_parse_meminfo(mem_cases[_i].text, &pct);

	if (mem_cases[_i].ok) {
		ck_assert_msg(rc == 0, "refused '%s'", mem_cases[_i].text);
		ck_assert_double_eq_tol(pct, mem_cases[_i].pct, 1e-9);
	} else {
		ck_assert_msg(rc == -1, "accepted '%s'", mem_cases[_i].text);
		ck_assert_double_eq(pct, -7.0);
	}
}
END_TEST

/* --- /proc/loadavg ------------------------------------------------------- */

static const struct {
	const char *text;
	bool ok;
	double load1;
} load_cases[] = {
	{ "0.52 0.58 0.59 1/467 12345\n", true, 0.52 },
	{ "12.00 8.50 4.25 3/900 1\n", true, 12.0 },
	{ "0.00 0.00 0.00 1/1 1\n", true, 0.0 },
	{ "3 2 1\n", true, 3.0 },
	{ "7.", true, 7.0 },
	{ "  0.25 0.1 0.1 1/2 3\n", true, 0.25 },
	{ "1234.5678\n", true, 1234.5678 },
	{ "", false, 0 },
	{ "\n", false, 0 },
	{ "abc 0.1 0.1\n", false, 0 },
	{ "-1.00 0 0\n", false, 0 },
	{ ".5 0 0\n", false, 0 },
	{ "0,52 0,58 0,59\n", false, 0 },
	{ "1e5 0 0\n", false, 0 },
	{ "0.5x 0 0\n", false, 0 },
	{ "nan 0 0\n", false, 0 },
	{ "99999999999999999999999999999999 0 0\n", false, 0 },
	{ "9999999999999999999999999999999999999999999999999999999999999999999999999999999999"
	  "9999999999999999999999999999999999999999999999999999999999999999999999999999999999"
	  "9999999999999999999999999999999999999999999999999999999999999999999999999999999999"
	  "9999999999999999999999999999999999999999999999999999999999999999999999999999999999 0\n",
	  false, 0 },                           /* inf */
};

START_TEST(test_parse_loadavg)
{
	double v = -7.0;
	int rc = sysm_parse_loadavg(load_cases[_i].text, &v);

	if (load_cases[_i].ok) {
		ck_assert_msg(rc == 0, "refused '%s'", load_cases[_i].text);
		ck_assert_double_eq_tol(v, load_cases[_i].load1, 1e-9);
	} else {
		ck_assert_msg(rc == -1, "accepted '%s'", load_cases[_i].text);
		ck_assert_double_eq(v, -7.0);
	}
}
END_TEST

START_TEST(test_parse_null)
{
	struct cpu_times t;
	double d;

	ck_assert_int_eq(sysm_parse_stat(NULL, &t), -1);
	ck_assert_int_eq(sysm_parse_meminfo(NULL, &d), -1);
	ck_assert_int_eq(sysm_parse_loadavg(NULL, &d), -1);
}
END_TEST

/* --- cpu % --------------------------------------------------------------- */

static const struct {
	struct cpu_times prev, cur;
	double pct;
} pct_cases[] = {
	{ { 100, 1000 }, { 150, 1100 }, 50.0 },
	{ { 0, 0 }, { 25, 100 }, 25.0 },
	{ { 10, 100 }, { 10, 200 }, 0.0 },            /* idle */
	{ { 10, 100 }, { 110, 200 }, 100.0 },         /* flat out */
	{ { 0, 100 }, { 200, 150 }, 100.0 },          /* idle went backwards: clamped */
	{ { 10, 100 }, { 10, 100 }, -1.0 },           /* no time passed */
	{ { 10, 100 }, { 20, 100 }, -1.0 },
	{ { 10, 100 }, { 20, 90 }, -1.0 },            /* total backwards */
	{ { 10, 100 }, { 5, 200 }, -1.0 },            /* busy backwards */
	{ { 0, 0 }, { UINT64_MAX / 2, UINT64_MAX }, 50.0 },
	{ { UINT64_MAX - 10, UINT64_MAX - 10 }, { UINT64_MAX, UINT64_MAX }, 100.0 },
};

START_TEST(test_cpu_pct)
{
	double pct = sysm_cpu_pct(&pct_cases[_i].prev, &pct_cases[_i].cur);

	ck_assert_double_eq_tol(pct, pct_cases[_i].pct, 1e-9);
}
END_TEST

/* --- sysm_read ----------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static void make_fake_proc(char *dir)
{
	strcpy(dir, "/tmp/vigil-sysm-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_fake_proc(const char *dir)
{
	static const char *const names[] = { "stat", "meminfo", "loadavg" };
	char path[512];
	size_t i;

	for (i = 0; i < N(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}

static bool pct_ok(double v)
{
	return v == -1.0 || (v >= 0.0 && v <= 100.0);
}

START_TEST(test_read_fake)
{
	char dir[64];
	struct sysm_reader r;
	struct sysmetrics m;

	make_fake_proc(dir);
	write_file(dir, "stat", "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n");
	write_file(dir, "meminfo", "MemTotal: 2000 kB\nMemFree: 100 kB\nMemAvailable: 500 kB\n");
	write_file(dir, "loadavg", "1.50 1.00 0.50 2/300 4242\n");
	sysm_reader_init(&r, dir, dir);

	sysm_read(&r, &m);
	ck_assert_double_eq(m.cpu_pct, -1.0);           /* no previous sample */
	ck_assert_double_eq_tol(m.mem_used_pct, 75.0, 1e-9);
	ck_assert_double_eq_tol(m.load1, 1.5, 1e-9);
	ck_assert(m.disk_used_pct >= 0.0 && m.disk_used_pct <= 100.0);

	/* +50 busy, +150 idle: 25 %. */
	write_file(dir, "stat", "cpu  150 0 100 850 100 0 0 0 0 0\n");
	sysm_read(&r, &m);
	ck_assert_double_eq_tol(m.cpu_pct, 25.0, 1e-9);

	/* +100 busy (user, nice, system, irq, softirq, steal), +0 idle: 100 %. */
	write_file(dir, "stat", "cpu  200 10 120 850 100 10 5 5 0 0\n");
	sysm_read(&r, &m);
	ck_assert_double_eq_tol(m.cpu_pct, 100.0, 1e-9);

	/* Unchanged: no time passed. */
	sysm_read(&r, &m);
	ck_assert_double_eq(m.cpu_pct, -1.0);

	/* Counters went backwards (e.g. a container restarted): -1, then resync. */
	write_file(dir, "stat", "cpu  1 0 1 8 0 0 0 0 0 0\n");
	sysm_read(&r, &m);
	ck_assert_double_eq(m.cpu_pct, -1.0);
	write_file(dir, "stat", "cpu  6 0 1 13 0 0 0 0 0 0\n");
	sysm_read(&r, &m);
	ck_assert_double_eq_tol(m.cpu_pct, 50.0, 1e-9);

	remove_fake_proc(dir);
}
END_TEST

START_TEST(test_read_broken)
{
	char dir[64];
	char missing[96];
	struct sysm_reader r;
	struct sysmetrics m;

	make_fake_proc(dir);
	snprintf(missing, sizeof(missing), "%s/no-such-dir", dir);
	write_file(dir, "stat", "garbage\n");
	write_file(dir, "loadavg", "");
	/* no meminfo at all */
	sysm_reader_init(&r, dir, missing);

	sysm_read(&r, &m);
	ck_assert_double_eq(m.cpu_pct, -1.0);
	ck_assert_double_eq(m.mem_used_pct, -1.0);
	ck_assert_double_eq(m.load1, -1.0);
	ck_assert_double_eq(m.disk_used_pct, -1.0);

	/* A broken stat in between does not count as a sample. */
	write_file(dir, "stat", "cpu 10 0 0 90\n");
	sysm_read(&r, &m);
	ck_assert_double_eq(m.cpu_pct, -1.0);
	write_file(dir, "stat", "cpu 1 2\n");
	sysm_read(&r, &m);
	ck_assert_double_eq(m.cpu_pct, -1.0);
	write_file(dir, "stat", "cpu 20 0 0 180\n");
	sysm_read(&r, &m);
	ck_assert_double_eq_tol(m.cpu_pct, 10.0, 1e-9);

	remove_fake_proc(dir);

	/* The whole proc root is gone. */
	sysm_reader_init(&r, dir, dir);
	sysm_read(&r, &m);
	ck_assert_double_eq(m.cpu_pct, -1.0);
	ck_assert_double_eq(m.mem_used_pct, -1.0);
	ck_assert_double_eq(m.load1, -1.0);
	ck_assert_double_eq(m.disk_used_pct, -1.0);
}
END_TEST

START_TEST(test_read_big_files)
{
	char dir[64];
	char *text;
	size_t len = 200000, off, i;
	struct sysm_reader r;
	struct sysmetrics m;

	/* Bigger than the reader's buffers: what matters is at the top. */
	make_fake_proc(dir);
	text = malloc(len + 1);
	ck_assert_ptr_nonnull(text);
	off = (size_t)snprintf(text, len, "cpu  1 2 3 4 5 6 7 8 0 0\nintr");
	for (i = off; i + 2 < len; i += 2)
		memcpy(text + i, " 9", 2);
	text[i] = '\n';
	text[i + 1] = '\0';
	write_file(dir, "stat", text);
	off = (size_t)snprintf(text, len, "MemTotal: 4000 kB\nMemAvailable: 1000 kB\n");
	for (i = off; i + 16 < len; i += 16)
		memcpy(text + i, "Other:    1 kB\n\n", 16);
	text[i] = '\0';
	write_file(dir, "meminfo", text);
	free(text);
	write_file(dir, "loadavg", "0.01 0.02 0.03 1/2 3\n");
	sysm_reader_init(&r, dir, "/");

	sysm_read(&r, &m);
	ck_assert_double_eq_tol(m.mem_used_pct, 75.0, 1e-9);
	ck_assert_double_eq_tol(m.load1, 0.01, 1e-9);
	ck_assert_uint_eq(r.have_prev, 1);
	ck_assert_uint_eq(r.prev.busy, 1 + 2 + 3 + 6 + 7 + 8);
	ck_assert_uint_eq(r.prev.total, 36);

	remove_fake_proc(dir);
}
END_TEST

START_TEST(test_reader_defaults)
{
	struct sysm_reader r;

	sysm_reader_init(&r, NULL, NULL);
	ck_assert_str_eq(r.proc_root, "/proc");
	ck_assert_str_eq(r.disk_path, "/");
	ck_assert_int_eq(r.have_prev, 0);
}
END_TEST

START_TEST(test_read_real_proc)
{
	struct sysm_reader r;
	struct sysmetrics m;
	int i;

	sysm_reader_init(&r, "/proc", "/");
	sysm_read(&r, &m);
	ck_assert_double_eq(m.cpu_pct, -1.0);
	for (i = 0; i < 3; i++) {
		ck_assert_msg(pct_ok(m.cpu_pct), "cpu %f", m.cpu_pct);
		ck_assert_msg(pct_ok(m.mem_used_pct), "mem %f", m.mem_used_pct);
		ck_assert_msg(pct_ok(m.disk_used_pct), "disk %f", m.disk_used_pct);
		ck_assert_msg(m.load1 == -1.0 || m.load1 >= 0.0, "load %f", m.load1);
		sysm_read(&r, &m);
	}
}
END_TEST

Suite *sysmetrics_suite(void)
{
	Suite *s = suite_create("sysmetrics");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_stat, 0, N(stat_cases));
	tcase_add_loop_test(tc, test_parse_meminfo, 0, N(mem_cases));
	tcase_add_loop_test(tc, test_parse_loadavg, 0, N(load_cases));
	tcase_add_test(tc, test_parse_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("cpu_pct");
	tcase_add_loop_test(tc, test_cpu_pct, 0, N(pct_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_test(tc, test_read_fake);
	tcase_add_test(tc, test_read_broken);
	tcase_add_test(tc, test_read_big_files);
	tcase_add_test(tc, test_reader_defaults);
	tcase_add_test(tc, test_read_real_proc);
	suite_add_tcase(s, tc);

	return s;
}
