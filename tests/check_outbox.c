/* check_outbox.c — unit tests for agent/outbox: FIFO order, wrap-around,
 * drop-oldest when full, oversize refusal, empty queue, writable headroom
 * and constructor arguments.  Each test builds its own outbox. */
#include "agent/outbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"

#define HEADROOM 16

/* The outbox most tests use: 4 slots of at most 32 bytes. */
static struct outbox *new_box(void)
{
	struct outbox *ob = outbox_new(4, 32, HEADROOM);

	ck_assert_ptr_nonnull(ob);
	return ob;
}

static void push_str(struct outbox *ob, const char *s)
{
	ck_assert_int_ge(outbox_push(ob, s, strlen(s)), 0);
}

static void expect_front(struct outbox *ob, const char *s)
{
	size_t len = 0;
	char *p = outbox_peek(ob, &len);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, strlen(s));
	ck_assert_mem_eq(p, s, len);
	ck_assert_int_eq(p[len], '\0');
}

/* --- order --------------------------------------------------------------- */

START_TEST(test_fifo_order)
{
	struct outbox *ob = new_box();

	push_str(ob, "one");
	push_str(ob, "two");
	push_str(ob, "three");
	ck_assert_uint_eq(outbox_count(ob), 3);
	expect_front(ob, "one");
	outbox_pop(ob);
	expect_front(ob, "two");
	outbox_pop(ob);
	expect_front(ob, "three");
	outbox_pop(ob);
	ck_assert_uint_eq(outbox_count(ob), 0);
	ck_assert_uint_eq(outbox_dropped(ob), 0);
	outbox_free(ob);
}
END_TEST

START_TEST(test_peek_does_not_remove)
{
	struct outbox *ob = new_box();

	push_str(ob, "a");
	expect_front(ob, "a");
	expect_front(ob, "a");
	ck_assert_uint_eq(outbox_count(ob), 1);
	outbox_free(ob);
}
END_TEST

START_TEST(test_wrap_around)
{
	struct outbox *ob = new_box();
	char buf[32];
	int i, next = 0;

	/* Keep 3 of 4 slots busy while the ring goes round many times. */
	for (i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "m%d", i);
		ck_assert_int_eq(outbox_push(ob, buf, strlen(buf)), 0);
	}
	for (; i < 50; i++) {
		snprintf(buf, sizeof(buf), "m%d", next++);
		expect_front(ob, buf);
		outbox_pop(ob);
		snprintf(buf, sizeof(buf), "m%d", i);
		ck_assert_int_eq(outbox_push(ob, buf, strlen(buf)), 0);
		ck_assert_uint_eq(outbox_count(ob), 3);
	}
	while (outbox_count(ob)) {
		snprintf(buf, sizeof(buf), "m%d", next++);
		expect_front(ob, buf);
		outbox_pop(ob);
	}
	ck_assert_int_eq(next, 50);
	ck_assert_uint_eq(outbox_dropped(ob), 0);
	outbox_free(ob);
}
END_TEST

START_TEST(test_zero_length_message)
{
	struct outbox *ob = new_box();
	size_t len = 99;

	ck_assert_int_eq(outbox_push(ob, "", 0), 0);
	ck_assert_ptr_nonnull(outbox_peek(ob, &len));
	ck_assert_uint_eq(len, 0);
	outbox_free(ob);
}
END_TEST

START_TEST(test_binary_copied)
{
	struct outbox *ob = new_box();
	char msg[5] = { 'a', '\0', 'b', '\n', 'c' };
	char *p;
	size_t len;

	ck_assert_int_eq(outbox_push(ob, msg, sizeof(msg)), 0);
	msg[0] = 'X';                   /* push copied: the caller's edit is not seen */
	p = outbox_peek(ob, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(p[0], 'a');
	ck_assert_int_eq(p[1], '\0');
	ck_assert_int_eq(p[4], 'c');
	outbox_free(ob);
}
END_TEST

/* --- limits -------------------------------------------------------------- */

START_TEST(test_drop_oldest)
{
	struct outbox *ob = new_box();

	push_str(ob, "1");
	push_str(ob, "2");
	push_str(ob, "3");
	push_str(ob, "4");
	ck_assert_int_eq(outbox_push(ob, "5", 1), 1);
	ck_assert_uint_eq(outbox_count(ob), 4);
	ck_assert_uint_eq(outbox_dropped(ob), 1);
	ck_assert_int_eq(outbox_push(ob, "6", 1), 1);
	ck_assert_uint_eq(outbox_dropped(ob), 2);
	expect_front(ob, "3");
	outbox_pop(ob);
	expect_front(ob, "4");
	outbox_pop(ob);
	expect_front(ob, "5");
	outbox_pop(ob);
	expect_front(ob, "6");
	outbox_pop(ob);
	ck_assert_ptr_null(outbox_peek(ob, NULL));
	ck_assert_int_eq(outbox_push(ob, "7", 1), 0);
	ck_assert_uint_eq(outbox_dropped(ob), 2);
	outbox_free(ob);
}
END_TEST

START_TEST(test_drop_counts_many)
{
	struct outbox *ob = new_box();
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(outbox_push(ob, "x", 1), i < 4 ? 0 : 1);
	ck_assert_uint_eq(outbox_count(ob), 4);
	ck_assert_uint_eq(outbox_dropped(ob), 996);
	outbox_free(ob);
}
END_TEST

START_TEST(test_oversize)
{
	struct outbox *ob = new_box();
	char big[34];
	size_t len;
	char *p;

	memset(big, 'z', sizeof(big));
	push_str(ob, "keep");
	ck_assert_int_eq(outbox_push(ob, big, 33), -EMSGSIZE);
	ck_assert_uint_eq(outbox_count(ob), 1);
	ck_assert_uint_eq(outbox_dropped(ob), 0);
	ck_assert_int_eq(outbox_push(ob, big, 32), 0);   /* exactly max_len fits */
	outbox_pop(ob);
	p = outbox_peek(ob, &len);
	ck_assert_uint_eq(len, 32);
	ck_assert_mem_eq(p, big, 32);
	ck_assert_int_eq(p[32], '\0');
	outbox_free(ob);
}
END_TEST

START_TEST(test_empty)
{
	struct outbox *ob = new_box();
	size_t len = 7;

	ck_assert_ptr_null(outbox_peek(ob, &len));
	ck_assert_uint_eq(len, 0);
	outbox_pop(ob);                 /* no-op */
	outbox_pop(ob);
	ck_assert_uint_eq(outbox_count(ob), 0);
	push_str(ob, "after");
	expect_front(ob, "after");
	outbox_free(ob);
}
END_TEST

START_TEST(test_headroom_writable)
{
	struct outbox *ob = new_box();
	char full[32];
	size_t len;
	char *p;
	int i;

	/* Fill every slot to max_len so ASan sees writes at the slot edges. */
	memset(full, 'q', sizeof(full));
	for (i = 0; i < 6; i++)
		outbox_push(ob, full, sizeof(full));
	while ((p = outbox_peek(ob, &len)) != NULL) {
		memset(p - HEADROOM, 0xAA, HEADROOM);
		ck_assert_uint_eq(len, 32);
		ck_assert_mem_eq(p, full, len);  /* headroom writes do not touch the text */
		p[len] = '\0';
		outbox_pop(ob);
	}
	outbox_free(ob);
}
END_TEST

/* --- lifecycle ----------------------------------------------------------- */

START_TEST(test_new_bad_args)
{
	ck_assert_ptr_null(outbox_new(0, 32, 16));
	ck_assert_ptr_null(outbox_new(4, 0, 16));
	ck_assert_ptr_null(outbox_new(0, 0, 0));
	ck_assert_ptr_null(outbox_new(4, SIZE_MAX, 16));
	ck_assert_ptr_null(outbox_new(SIZE_MAX, 1024, 0));
}
END_TEST

START_TEST(test_no_headroom)
{
	struct outbox *o = outbox_new(1, 1, 0);

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(outbox_push(o, "a", 1), 0);
	ck_assert_int_eq(outbox_push(o, "b", 1), 1);
	ck_assert_int_eq(outbox_push(o, "cc", 2), -EMSGSIZE);
	ck_assert_int_eq(*outbox_peek(o, NULL), 'b');
	outbox_free(o);
}
END_TEST

START_TEST(test_free_null)
{
	outbox_free(NULL);
}
END_TEST

Suite *outbox_suite(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc;

	tc = tcase_create("order");
	tcase_add_test(tc, test_fifo_order);
	tcase_add_test(tc, test_peek_does_not_remove);
	tcase_add_test(tc, test_wrap_around);
	tcase_add_test(tc, test_zero_length_message);
	tcase_add_test(tc, test_binary_copied);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_drop_oldest);
	tcase_add_test(tc, test_drop_counts_many);
	tcase_add_test(tc, test_oversize);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_headroom_writable);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_test(tc, test_new_bad_args);
	tcase_add_test(tc, test_no_headroom);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);

	return s;
}
