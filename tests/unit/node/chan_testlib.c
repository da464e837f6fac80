/* tests/unit/node/chan_testlib.c — see chan_testlib.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "chan_testlib.h"
#include "node/core/chan.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"

struct chan_mux *A, *B;

int chan_test_setup(void **state)
{
	(void)state;
	assert_int_equal(plat_init(), 0);
	sched_init();
	assert_int_equal(chan_mux_open("node-a", "127.0.0.1", 0, "tok", &A), 0);
	assert_int_equal(chan_mux_open("node-b", "127.0.0.1", 0, "tok", &B), 0);
	return 0;
}

int chan_test_teardown(void **state)
{
	(void)state;
	chan_mux_close(A);
	chan_mux_close(B);
	return 0;
}

static void fill(uint8_t *b, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 31 + i);
}

static uint64_t batch_sum(const uint8_t *b, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = s * 131 + b[i];
	return s;
}

uint64_t chan_test_expected_sum(int nbatch, size_t len)
{
	uint8_t buf[4096];
	uint64_t s = 0;

	for (int k = 0; k < nbatch; k++) {
		fill(buf, len, (uint64_t)k);
		s += batch_sum(buf, len);
	}
	return s;
}

void chan_test_prod_task(void *arg)
{
	struct prod *p = arg;
	uint8_t buf[4096];
	const char *reason;

	p->rc_send = chan_out_open(p->mux, p->id, p->peer, "127.0.0.1", p->port, NULL, &p->out);
	assert_int_equal(p->rc_send, 0);
	if (p->barrier_first)
		p->rc_send = chan_out_barrier(p->out, p->barrier_first);
	for (int k = 0; k < p->nbatch && p->rc_send == 0; k++) {
		fill(buf, p->batch_len, (uint64_t)k);
		p->rc_send = chan_out_send(p->out, buf, p->batch_len, 1, 0);
	}
	p->rc_finish = p->rc_send ? p->rc_send : chan_out_finish(p->out);
	chan_out_counters(p->out, &p->counters);
	chan_out_error(p->out, &reason);
	snprintf(p->reason_copy, sizeof(p->reason_copy), "%s", reason);
	chan_out_close(p->out);
	p->done = true;
}

void chan_test_cons_task(void *arg)
{
	struct cons *c = arg;
	struct chan_in *in;
	struct chan_batch *b;
	const char *reason;

	assert_int_equal(chan_in_open(c->mux, c->id, c->peer, "127.0.0.1", c->port, c->credits,
				      &c->notify, &in),
			 0);
	for (;;) {
		int rc = chan_in_pop(in, &b);

		if (rc == 0) {
			sched_wait(&c->notify, UINT64_MAX);
			continue;
		}
		if (rc < 0) {
			c->rc = rc;
			break;
		}
		if (b->barrier) {
			c->barrier = b->barrier;
			chan_in_release(in, b);
			continue;
		}
		c->sum += batch_sum(b->data, b->len);
		c->bytes += b->len;
		c->nbatch++;
		chan_in_release(in, b);
		if (c->delay_us)
			sched_sleep_until(plat_now_us() + c->delay_us);
		if (c->stop_after && c->nbatch >= (uint64_t)c->stop_after) {
			c->rc = 1;
			break;
		}
	}
	chan_in_counters(in, &c->counters);
	chan_in_error(in, &reason);
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	chan_in_close(in);
	c->done = true;
}

void chan_test_noop(void *arg)
{
	(void)arg;
}

/* Until both are done, or a bound so that a hang fails instead of blocking. */
struct bounded {
	struct prod *p;
	struct cons *c;
	uint64_t until_us;
};

static bool done_or_past(void *arg)
{
	struct bounded *b = arg;

	return (b->p->done && (!b->c || b->c->done)) || plat_now_us() >= b->until_us;
}

/* Regression (issue 4): a producer with nothing to send (an empty split)
 * finished before its consumer's task was deployed; its EndOfStream reached
 * a mux with no such channel, was dropped, and the consumer waited forever.
 * Now the producer's finish waits for the consumer's first credit, and so
 * does a barrier (barrier != 0: sent first), which would be lost likewise. */
void chan_test_eos_before_consumer_opens(struct chan_mux *pm, const char *cons_node,
					 struct chan_mux *cm, const char *prod_node, uint64_t id,
					 uint64_t barrier)
{
	struct prod p = {
		.mux = pm, .peer = cons_node, .id = id, .nbatch = 0, .barrier_first = barrier};
	struct cons c = {.mux = cm, .peer = prod_node, .id = id, .credits = 4};
	struct bounded b = {.p = &p, .c = NULL, .until_us = plat_now_us() + 400 * 1000};
	struct sched_timer bound = {0}; /* wakes the loop at the bound */

	p.port = chan_mux_port(cm);
	c.port = chan_mux_port(pm);
	assert_int_equal(sched_spawn("prod", 0, chan_test_prod_task, &p, NULL), 0);
	sched_timer_start(&bound, b.until_us, chan_test_noop, NULL);
	assert_int_equal(sched_run(done_or_past, &b), 0); /* the producer goes first */
	assert_false(p.done); /* it waits for the consumer's end to exist */
	assert_int_equal(sched_spawn("cons", 0, chan_test_cons_task, &c, NULL), 0);
	b.c = &c;
	b.until_us = plat_now_us() + 10 * 1000 * 1000;
	sched_timer_start(&bound, b.until_us, chan_test_noop, NULL);
	assert_int_equal(sched_run(done_or_past, &b), 0);
	sched_timer_stop(&bound);
	assert_true(c.done);
	assert_true(p.done);
	assert_int_equal(p.rc_finish, 0);
	assert_int_equal(c.rc, SD_EEOF);
	assert_int_equal(c.nbatch, 0);
	assert_true(c.barrier == barrier);
}
