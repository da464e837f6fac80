/* tests/unit/node/test_sched.c — the cooperative scheduler: fairness, sleep, wait, no spin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "node/core/sched.h"
#include "node/plat/hosted/plat_hosted.h"
#include "node/plat/plat.h"

struct busy {
	int id;
	uint64_t spins;
	uint64_t until_us;
	int *order;
	int *norder;
};

static void busy_task(void *arg)
{
	struct busy *b = arg;

	while (plat_now_us() < b->until_us) {
		b->spins++;
		sched_maybe_yield();
	}
	b->order[(*b->norder)++] = b->id;
}

static void quick_task(void *arg)
{
	struct busy *b = arg;

	b->order[(*b->norder)++] = b->id;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(plat_init(), 0);
	sched_init();
	return 0;
}

static bool all_done(void *arg)
{
	(void)arg;
	struct sched_stats st;

	sched_get_stats(&st);
	return st.tasks_alive == 0;
}

/* A task that never blocks still lets a later task run before it finishes. */
static void test_busy_task_yields(void **state)
{
	int order[8], norder = 0;
	struct busy a = {.id = 1, .order = order, .norder = &norder};
	struct busy q = {.id = 2, .order = order, .norder = &norder};
	struct sched_stats st;

	(void)state;
	a.until_us = plat_now_us() + 50 * 1000;
	assert_int_equal(sched_spawn("busy", 0, busy_task, &a, NULL), 0);
	assert_int_equal(sched_spawn("quick", 0, quick_task, &q, NULL), 0);
	assert_int_equal(sched_run(all_done, NULL), 0);
	sched_get_stats(&st);
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 2); /* quick finished first: busy yielded */
	assert_int_equal(order[1], 1);
	assert_true(st.switches >= 3);
	assert_int_equal(st.tasks_alive, 0);
}

static void test_two_busy_interleave(void **state)
{
	int order[8], norder = 0;
	struct busy a = {.id = 1, .order = order, .norder = &norder};
	struct busy b = {.id = 2, .order = order, .norder = &norder};
	struct sched_stats st0, st1;

	(void)state;
	a.until_us = b.until_us = plat_now_us() + 30 * 1000;
	sched_get_stats(&st0);
	assert_int_equal(sched_spawn("a", 0, busy_task, &a, NULL), 0);
	assert_int_equal(sched_spawn("b", 0, busy_task, &b, NULL), 0);
	assert_int_equal(sched_run(all_done, NULL), 0);
	sched_get_stats(&st1);
	assert_int_equal(norder, 2);
	assert_true(a.spins > 0 && b.spins > 0);
	/* Each ran in several slices, not one after the other. */
	assert_true(st1.switches - st0.switches >= 4);
}

struct sleeper {
	uint64_t deadline, woke;
};

static void sleep_task(void *arg)
{
	struct sleeper *s = arg;

	sched_sleep_until(s->deadline);
	s->woke = plat_now_us();
}

/* Sleeping wakes no earlier than the deadline and the loop sleeps, not spins. */
static void test_sleep_no_spin(void **state)
{
	struct sleeper s;
	struct sched_stats st0, st1;

	(void)state;
	sched_get_stats(&st0);
	s.deadline = plat_now_us() + 30 * 1000;
	s.woke = 0;
	assert_int_equal(sched_spawn("sleeper", 0, sleep_task, &s, NULL), 0);
	assert_int_equal(sched_run(all_done, NULL), 0);
	sched_get_stats(&st1);
	assert_true(s.woke >= s.deadline);
	/* One or two rounds of sleep, not thousands of polls. */
	assert_true(st1.sleeps - st0.sleeps <= 4);
	assert_true(st1.switches - st0.switches <= 4);
}

struct waiter {
	struct sched_waitq q;
	int rc;
	bool woken;
	struct sched_timer timer;
};

static void wake_cb(void *arg)
{
	struct waiter *w = arg;

	w->woken = true;
	sched_wake_all(&w->q);
}

static void wait_task(void *arg)
{
	struct waiter *w = arg;

	sched_timer_start(&w->timer, plat_now_us() + 5000, wake_cb, w);
	w->rc = sched_wait(&w->q, UINT64_MAX);
}

static void timeout_task(void *arg)
{
	struct waiter *w = arg;

	w->rc = sched_wait(&w->q, plat_now_us() + 5000);
}

static void test_wait_wake_and_timeout(void **state)
{
	struct waiter w1 = {0}, w2 = {0};

	(void)state;
	w2.rc = 1;
	assert_int_equal(sched_spawn("w", 0, wait_task, &w1, NULL), 0);
	assert_int_equal(sched_spawn("t", 0, timeout_task, &w2, NULL), 0);
	assert_int_equal(sched_run(all_done, NULL), 0);
	assert_true(w1.woken);
	assert_int_equal(w1.rc, 0);
	assert_int_equal(w2.rc, SD_ETIMEDOUT);
	assert_null(w2.q.head);
}

static void deep_task(void *arg)
{
	volatile char buf[16 << 10];
	int *out = arg;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)i;
	*out = buf[100] + 1;
}

/* Stacks are usable (16 KiB of locals) and spawn failures report ENOMEM. */
/* A wake with nobody waiting is not lost: the queue's count moves, so a task
 * that checked its input, blocked elsewhere, and comes back sees it. */
static void test_wake_counted_without_waiters(void **state)
{
	struct sched_waitq q = {0};
	uint32_t seen = q.wakes;

	(void)state;
	sched_wake_all(&q);
	assert_true(q.wakes != seen);
	assert_null(q.head);
	seen = q.wakes;
	sched_wake_all(&q);
	assert_int_equal(q.wakes, seen + 1);
}

static void test_stack_and_spawn_fault(void **state)
{
	int out = 0;

	(void)state;
	assert_int_equal(sched_spawn("deep", 0, deep_task, &out, NULL), 0);
	assert_int_equal(sched_run(all_done, NULL), 0);
	assert_int_equal(out, 101);
	plat_hosted_fail_alloc_nth(1);
	assert_int_equal(sched_spawn("x", 0, deep_task, &out, NULL), SD_ENOMEM);
	assert_int_equal(plat_hosted_alloc_faults(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_busy_task_yields, setup),
		cmocka_unit_test_setup(test_two_busy_interleave, setup),
		cmocka_unit_test_setup(test_sleep_no_spin, setup),
		cmocka_unit_test_setup(test_wait_wake_and_timeout, setup),
		cmocka_unit_test_setup(test_stack_and_spawn_fault, setup),
		cmocka_unit_test_setup(test_wake_counted_without_waiters, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
