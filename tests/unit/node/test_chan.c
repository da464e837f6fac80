/*
 * tests/unit/node/test_chan.c — the exchange between two muxes in one
 * process over real loopback TCP (and the in-memory loop connection):
 * delivery, credits bounding the queue, end of stream, a lost peer,
 * malformed frames, watermarks. Checkpoint barriers are test_chan_barrier.c;
 * the producer, the consumer and the two muxes are chan_testlib.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "chan_testlib.h"
#include "node/core/chan.h"
#include "node/core/sched.h"
#include "node/plat/hosted/plat_hosted.h"
#include "node/plat/plat.h"
#include "proto/wire.h"

#define NBATCH 200

static bool prod_done(void *arg)
{
	return ((struct prod *)arg)->done;
}

static bool both_done(void *arg)
{
	void **pc = arg;
	return ((struct prod *)pc[0])->done && ((struct cons *)pc[1])->done;
}

static void run_pair(struct prod *p, struct cons *c)
{
	void *pc[2] = {p, c};

	assert_int_equal(sched_spawn("prod", 0, chan_test_prod_task, p, NULL), 0);
	assert_int_equal(sched_spawn("cons", 0, chan_test_cons_task, c, NULL), 0);
	assert_int_equal(sched_run(both_done, pc), 0);
}

/* Every batch arrives once, in order, checked against an independent sum. */
static void test_forward_delivers_all(void **state)
{
	struct prod p = {.mux = A, .peer = "node-b", .id = 7, .nbatch = NBATCH, .batch_len = 1000};
	struct cons c = {.mux = B, .peer = "node-a", .id = 7, .credits = 4};

	(void)state;
	p.port = chan_mux_port(B);
	c.port = chan_mux_port(A);
	run_pair(&p, &c);
	assert_int_equal(p.rc_send, 0);
	assert_int_equal(p.rc_finish, 0);
	assert_int_equal(c.rc, SD_EEOF);
	assert_int_equal(c.nbatch, NBATCH);
	assert_true(c.sum == chan_test_expected_sum(NBATCH, 1000));
	assert_int_equal(p.counters.batches, NBATCH);
	assert_int_equal(c.counters.records, NBATCH);
	assert_int_equal(c.counters.bytes, (uint64_t)NBATCH * 1000);
	assert_true(c.counters.max_queued <= 4);
}

/* A slow consumer: queue never exceeds the credits, the producer waits. */
static void test_backpressure_bounded(void **state)
{
	struct prod p = {.mux = A, .peer = "node-b", .id = 8, .nbatch = 400, .batch_len = 4096};
	struct cons c = {.mux = B, .peer = "node-a", .id = 8, .credits = 2, .delay_us = 200};
	size_t before = plat_mem_peak();
	struct chan_mux_stats st;

	(void)state;
	p.port = chan_mux_port(B);
	c.port = chan_mux_port(A);
	run_pair(&p, &c);
	assert_int_equal(c.rc, SD_EEOF);
	assert_int_equal(c.nbatch, 400);
	assert_true(c.sum == chan_test_expected_sum(400, 4096));
	assert_true(c.counters.max_queued >= 1);
	assert_true(c.counters.max_queued <= 2);
	assert_true(p.counters.backpressure_us > 0);
	/* 1.6 MB went through; the peak grew by connection buffers, not by that. */
	assert_true(plat_mem_peak() <= before + 512 * 1024);
	/* One connection per node pair. */
	chan_mux_get_stats(A, &st);
	assert_int_equal(st.conns, 1);
	chan_mux_get_stats(B, &st);
	assert_int_equal(st.conns, 1);
}

/* Both ends on one node: the loop connection. */
static void test_local_channel(void **state)
{
	struct prod p = {.mux = A, .peer = "node-a", .id = 9, .nbatch = 50, .batch_len = 300};
	struct cons c = {.mux = A, .peer = "node-a", .id = 9, .credits = 3};

	(void)state;
	run_pair(&p, &c);
	assert_int_equal(c.rc, SD_EEOF);
	assert_int_equal(c.nbatch, 50);
	assert_true(c.sum == chan_test_expected_sum(50, 300));
}

/* Regression (issue 4): an empty producer's end of stream is not lost when
 * it finishes before its consumer opens. */
static void test_eos_before_consumer_local(void **state)
{
	(void)state;
	chan_test_eos_before_consumer_opens(A, "node-a", A, "node-a", 21, 0);
}

static void test_eos_before_consumer_remote(void **state)
{
	(void)state;
	chan_test_eos_before_consumer_opens(A, "node-b", B, "node-a", 22,
					    0); /* lower name connects */
	chan_test_eos_before_consumer_opens(B, "node-a", A, "node-b", 23,
					    0); /* the higher name waits */
}

struct killer {
	struct cons *c;
	bool done;
};

static void kill_task(void *arg)
{
	struct killer *k = arg;

	while (k->c->nbatch < 5)
		sched_sleep_until(plat_now_us() + 1000);
	plat_hosted_drop_all_connections();
	k->done = true;
}

/* The connection dies mid-stream: the producer fails with a reason naming the peer. */
static void test_lost_peer(void **state)
{
	struct prod p = {.mux = A, .peer = "node-b", .id = 10, .nbatch = 100000, .batch_len = 1000};
	struct cons c = {.mux = B, .peer = "node-a", .id = 10, .credits = 2, .delay_us = 500};
	struct killer k = {.c = &c};

	(void)state;
	p.port = chan_mux_port(B);
	c.port = chan_mux_port(A);
	assert_int_equal(sched_spawn("kill", 0, kill_task, &k, NULL), 0);
	run_pair(&p, &c);
	assert_int_equal(p.rc_send, SD_ELOST);
	assert_int_equal(c.rc, SD_ELOST);
	assert_non_null(strstr(p.reason_copy, "node-b"));
	assert_non_null(strstr(c.reason, "node-a"));
}

/* Garbage and protocol violations close the connection and are counted. */
static void test_malformed_frames(void **state)
{
	static const uint8_t garbage[] = "GET / HTTP/1.1\r\n\r\nxxxxxxxxxxxxxxxx";
	struct chan_mux_stats st0, st1;
	Sd__Data__Credit cr = SD__DATA__CREDIT__INIT;
	uint8_t frame[256];
	long n;

	(void)state;
	chan_mux_get_stats(B, &st0);
	assert_true(chan_mux_feed_test(B, garbage, sizeof(garbage)) < 0);
	/* A well-formed frame before HELLO is a violation too. */
	cr.channel_id = 1;
	cr.batches = 1;
	n = wire_encode(WIRE_DATA_CREDIT, &cr.base, NULL, 0, frame, sizeof(frame));
	assert_true(n > 0);
	assert_int_equal(chan_mux_feed_test(B, frame, (size_t)n), SD_EPROTO);
	chan_mux_get_stats(B, &st1);
	assert_int_equal(st1.frames_rejected, st0.frames_rejected + 2);
}

/* A consumer that stops taking batches holds at most its credits. */
static void test_credit_bound_with_stalled_consumer(void **state)
{
	struct prod p = {.mux = A, .peer = "node-b", .id = 11, .nbatch = 30, .batch_len = 100};
	struct cons c = {.mux = B, .peer = "node-a", .id = 11, .credits = 3, .stop_after = 1};
	struct sched_timer tick = {0};
	uint64_t deadline;

	(void)state;
	p.port = chan_mux_port(B);
	c.port = chan_mux_port(A);
	assert_int_equal(sched_spawn("prod", 0, chan_test_prod_task, &p, NULL), 0);
	assert_int_equal(sched_spawn("cons", 0, chan_test_cons_task, &c, NULL), 0);
	deadline = plat_now_us() + 100 * 1000;
	sched_timer_start(&tick, deadline, chan_test_noop, NULL);
	while (!c.done || plat_now_us() < deadline)
		assert_int_equal(sched_run_once(true), 0);
	/* Consumer took 1 and closed: the producer is stuck waiting for credit. */
	assert_false(p.done);
	assert_true(c.counters.max_queued <= 3);
	plat_hosted_drop_all_connections();
	assert_int_equal(sched_run(prod_done, &p), 0);
	assert_int_equal(p.rc_send, SD_ELOST);
}

struct wm_prod {
	struct chan_mux *mux;
	uint16_t port;
	bool done;
	int rc;
};

static void wm_prod_task(void *arg)
{
	struct wm_prod *p = arg;
	struct chan_out *out;
	uint8_t b[8] = {0};

	assert_int_equal(chan_out_open(p->mux, 12, "node-b", "127.0.0.1", p->port, NULL, &out), 0);
	p->rc = chan_out_send(out, b, sizeof(b), 1, 0);
	if (p->rc == 0)
		p->rc = chan_out_watermark(out, 5000);
	if (p->rc == 0)
		p->rc = chan_out_watermark(out, 4000); /* going back is ignored */
	if (p->rc == 0)
		p->rc = chan_out_finish(out);
	chan_out_close(out);
	p->done = true;
}

struct wm_cons {
	struct chan_mux *mux;
	uint16_t port;
	int64_t wm_seen;
	int rc;
	bool done;
	struct sched_waitq notify;
};

static void wm_cons_task(void *arg)
{
	struct wm_cons *c = arg;
	struct chan_in *in;
	struct chan_batch *b;

	assert_int_equal(
		chan_in_open(c->mux, 12, "node-a", "127.0.0.1", c->port, 2, &c->notify, &in), 0);
	assert_true(chan_in_watermark(in) == INT64_MIN);
	for (;;) {
		int rc = chan_in_pop(in, &b);

		if (chan_in_watermark(in) > c->wm_seen)
			c->wm_seen = chan_in_watermark(in);
		if (rc == 1) {
			chan_in_release(in, b);
			continue;
		}
		if (rc < 0) {
			c->rc = rc;
			break;
		}
		sched_wait(&c->notify, UINT64_MAX);
	}
	chan_in_close(in);
	c->done = true;
}

static bool wm_done(void *arg)
{
	void **pc = arg;
	return ((struct wm_prod *)pc[0])->done && ((struct wm_cons *)pc[1])->done;
}

/* Watermarks flow with the data, in order, and never go back. */
static void test_watermarks(void **state)
{
	struct wm_prod p = {.mux = A};
	struct wm_cons c = {.mux = B, .wm_seen = INT64_MIN};
	void *pc[2] = {&p, &c};

	(void)state;
	p.port = chan_mux_port(B);
	c.port = chan_mux_port(A);
	assert_int_equal(sched_spawn("p", 0, wm_prod_task, &p, NULL), 0);
	assert_int_equal(sched_spawn("c", 0, wm_cons_task, &c, NULL), 0);
	assert_int_equal(sched_run(wm_done, pc), 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(c.rc, SD_EEOF);
	assert_true(c.wm_seen == 5000);
}

/* Producer of test_watermark_waits_for_queued_records: three batches, each
 * followed by a watermark, then a fourth batch that marks "all arrived". */
static void wm_order_prod_task(void *arg)
{
	struct wm_prod *p = arg;
	struct chan_out *out;
	uint8_t b[8] = {0};

	assert_int_equal(chan_out_open(p->mux, 13, "node-b", "127.0.0.1", p->port, NULL, &out), 0);
	for (int i = 1; i <= 3 && p->rc == 0; i++) {
		p->rc = chan_out_send(out, b, sizeof(b), 1, 0);
		if (p->rc == 0)
			p->rc = chan_out_watermark(out, 1000 * i);
	}
	if (p->rc == 0)
		p->rc = chan_out_send(out, b, sizeof(b), 1, 0);
	if (p->rc == 0)
		p->rc = chan_out_finish(out);
	chan_out_close(out);
	p->done = true;
}

/* Lets every frame arrive before taking any, then checks the watermark
 * moves only as the records sent before it are taken. */
static void wm_order_cons_task(void *arg)
{
	struct wm_cons *c = arg;
	struct chan_in *in;
	struct chan_batch *b;
	struct chan_counters k;
	static const int64_t expect[4] = {1000, 2000, 3000, 3000};

	assert_int_equal(
		chan_in_open(c->mux, 13, "node-a", "127.0.0.1", c->port, 8, &c->notify, &in), 0);
	do {
		sched_sleep_until(plat_now_us() + 1000);
		chan_in_counters(in, &k);
	} while (k.batches < 4);
	assert_true(chan_in_watermark(in) == INT64_MIN); /* all three wait behind records */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(chan_in_pop(in, &b), 1);
		assert_true(chan_in_watermark(in) == expect[i]);
		chan_in_release(in, b);
	}
	c->wm_seen = chan_in_watermark(in);
	chan_in_close(in);
	c->done = true;
}

/* A watermark never overtakes records sent before it, however many are queued. */
static void test_watermark_waits_for_queued_records(void **state)
{
	struct wm_prod p = {.mux = A};
	struct wm_cons c = {.mux = B, .wm_seen = INT64_MIN};
	void *pc[2] = {&p, &c};

	(void)state;
	p.port = chan_mux_port(B);
	c.port = chan_mux_port(A);
	assert_int_equal(sched_spawn("c", 0, wm_order_cons_task, &c, NULL), 0);
	assert_int_equal(sched_spawn("p", 0, wm_order_prod_task, &p, NULL), 0);
	assert_int_equal(sched_run(wm_done, pc), 0);
	assert_int_equal(p.rc, 0);
	assert_true(c.wm_seen == 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CHAN_TEST(test_forward_delivers_all),
		CHAN_TEST(test_backpressure_bounded),
		CHAN_TEST(test_local_channel),
		CHAN_TEST(test_lost_peer),
		CHAN_TEST(test_malformed_frames),
		CHAN_TEST(test_credit_bound_with_stalled_consumer),
		CHAN_TEST(test_watermarks),
		CHAN_TEST(test_watermark_waits_for_queued_records),
		CHAN_TEST(test_eos_before_consumer_local),
		CHAN_TEST(test_eos_before_consumer_remote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
