/*
 * tests/unit/node/test_chan.c — the exchange between two muxes in one
 * process over real loopback TCP (and the in-memory loop connection):
 * delivery, credits bounding the queue, end of stream, a lost peer,
 * malformed frames, and checkpoint barriers in order with batches and
 * watermarks, without credit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "node/core/chan.h"
#include "node/core/sched.h"
#include "node/plat/hosted/plat_hosted.h"
#include "node/plat/plat.h"
#include "proto/wire.h"

#define NBATCH   200
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct prod {
	struct chan_mux *mux;
	const char *peer;
	uint16_t port;
	uint64_t id;
	int nbatch;
	size_t batch_len;
	uint64_t barrier_first; /* != 0: sends this barrier before its batches */
	int rc_send, rc_finish;
	struct chan_out *out;
	struct chan_counters counters;
	const char *reason;
	char reason_copy[256];
	bool done;
};

struct cons {
	struct chan_mux *mux;
	const char *peer;
	uint16_t port;
	uint64_t id;
	uint32_t credits;
	uint64_t delay_us; /* per batch: a slow consumer */
	uint64_t sum, nbatch, bytes;
	uint64_t barrier; /* the last barrier taken */
	int rc;
	struct sched_waitq notify;
	struct chan_counters counters;
	char reason[256];
	bool done;
	int stop_after; /* > 0: returns after this many batches */
};

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

static uint64_t expected_sum(int nbatch, size_t len)
{
	uint8_t buf[4096];
	uint64_t s = 0;

	for (int k = 0; k < nbatch; k++) {
		fill(buf, len, (uint64_t)k);
		s += batch_sum(buf, len);
	}
	return s;
}

static void prod_task(void *arg)
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

static void cons_task(void *arg)
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

static struct chan_mux *A, *B;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(plat_init(), 0);
	sched_init();
	assert_int_equal(chan_mux_open("node-a", "127.0.0.1", 0, "tok", &A), 0);
	assert_int_equal(chan_mux_open("node-b", "127.0.0.1", 0, "tok", &B), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	chan_mux_close(A);
	chan_mux_close(B);
	return 0;
}

static void noop(void *arg)
{
	(void)arg;
}

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

	assert_int_equal(sched_spawn("prod", 0, prod_task, p, NULL), 0);
	assert_int_equal(sched_spawn("cons", 0, cons_task, c, NULL), 0);
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
	assert_true(c.sum == expected_sum(NBATCH, 1000));
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
	assert_true(c.sum == expected_sum(400, 4096));
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
	assert_true(c.sum == expected_sum(50, 300));
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
static void eos_before_consumer_opens(struct chan_mux *pm, const char *cons_node,
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
	assert_int_equal(sched_spawn("prod", 0, prod_task, &p, NULL), 0);
	sched_timer_start(&bound, b.until_us, noop, NULL);
	assert_int_equal(sched_run(done_or_past, &b), 0); /* the producer goes first */
	assert_false(p.done); /* it waits for the consumer's end to exist */
	assert_int_equal(sched_spawn("cons", 0, cons_task, &c, NULL), 0);
	b.c = &c;
	b.until_us = plat_now_us() + 10 * 1000 * 1000;
	sched_timer_start(&bound, b.until_us, noop, NULL);
	assert_int_equal(sched_run(done_or_past, &b), 0);
	sched_timer_stop(&bound);
	assert_true(c.done);
	assert_true(p.done);
	assert_int_equal(p.rc_finish, 0);
	assert_int_equal(c.rc, SD_EEOF);
	assert_int_equal(c.nbatch, 0);
	assert_true(c.barrier == barrier);
}

static void test_eos_before_consumer_local(void **state)
{
	(void)state;
	eos_before_consumer_opens(A, "node-a", A, "node-a", 21, 0);
}

static void test_eos_before_consumer_remote(void **state)
{
	(void)state;
	eos_before_consumer_opens(A, "node-b", B, "node-a", 22, 0); /* lower name connects */
	eos_before_consumer_opens(B, "node-a", A, "node-b", 23, 0); /* the higher name waits */
}

static void test_barrier_before_consumer_opens(void **state)
{
	(void)state;
	eos_before_consumer_opens(A, "node-a", A, "node-a", 24, 5);
	eos_before_consumer_opens(A, "node-b", B, "node-a", 25, 6);
	eos_before_consumer_opens(B, "node-a", A, "node-b", 26, 7);
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
	assert_int_equal(sched_spawn("prod", 0, prod_task, &p, NULL), 0);
	assert_int_equal(sched_spawn("cons", 0, cons_task, &c, NULL), 0);
	deadline = plat_now_us() + 100 * 1000;
	sched_timer_start(&tick, deadline, noop, NULL);
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

/* ---- checkpoint barriers ----------------------------------------------------- */

/* A scripted producer: each step a one-byte batch (arg = the byte), a
 * barrier (arg = checkpoint id) or a watermark (arg = event time). */
enum step_kind { STEP_BATCH, STEP_BARRIER, STEP_WM };

struct step {
	enum step_kind kind;
	int64_t arg;
};

struct script_prod {
	struct chan_mux *mux;
	const char *peer;
	uint16_t port;
	uint64_t id;
	const struct step *steps;
	int nsteps;
	int steps_done; /* steps that returned: how far the producer got */
	int rc;
	struct chan_counters counters;
	bool done;
};

struct script_cons {
	struct chan_mux *mux;
	const char *peer;
	uint16_t port;
	uint64_t id;
	uint32_t credits;
	struct script_prod *p;
	void (*body)(struct script_cons *c, struct chan_in *in); /* pops, checks what was sent */
	struct sched_waitq notify;
	struct chan_counters counters;
	bool done;
};

static void script_prod_task(void *arg)
{
	struct script_prod *p = arg;
	struct chan_out *out;

	assert_int_equal(chan_out_open(p->mux, p->id, p->peer, "127.0.0.1", p->port, NULL, &out),
			 0);
	for (int i = 0; i < p->nsteps && p->rc == 0; i++) {
		const struct step *s = &p->steps[i];
		uint8_t byte = (uint8_t)s->arg;

		if (s->kind == STEP_BATCH)
			p->rc = chan_out_send(out, &byte, 1, 1, 0);
		else if (s->kind == STEP_BARRIER)
			p->rc = chan_out_barrier(out, (uint64_t)s->arg);
		else
			p->rc = chan_out_watermark(out, s->arg);
		if (p->rc == 0)
			p->steps_done++;
	}
	if (p->rc == 0)
		p->rc = chan_out_finish(out);
	chan_out_counters(out, &p->counters);
	chan_out_close(out);
	p->done = true;
}

static void script_cons_task(void *arg)
{
	struct script_cons *c = arg;
	struct chan_in *in;

	assert_int_equal(chan_in_open(c->mux, c->id, c->peer, "127.0.0.1", c->port, c->credits,
				      &c->notify, &in),
			 0);
	c->body(c, in);
	chan_in_counters(in, &c->counters);
	chan_in_close(in);
	c->done = true;
}

/* chan_in_pop, waiting while nothing is queued. */
static int pop_next(struct script_cons *c, struct chan_in *in, struct chan_batch **b)
{
	int rc;

	while ((rc = chan_in_pop(in, b)) == 0)
		sched_wait(&c->notify, UINT64_MAX);
	return rc;
}

/* Sleeps until batches and barriers have arrived, without taking any. */
static void wait_arrived(struct chan_in *in, uint64_t batches, uint64_t barriers)
{
	struct chan_counters k;

	for (;;) {
		chan_in_counters(in, &k);
		if (k.batches >= batches && k.barriers >= barriers)
			break;
		sched_sleep_until(plat_now_us() + 1000);
	}
	assert_int_equal(k.batches, batches);
	assert_int_equal(k.barriers, barriers);
}

/* Pops the next entry and checks it: barrier N (N != 0) or the batch of byte. */
static struct chan_batch *pop_expect(struct script_cons *c, struct chan_in *in, uint64_t barrier,
				     int byte)
{
	struct chan_batch *b;

	assert_int_equal(pop_next(c, in, &b), 1);
	assert_true(b->barrier == barrier);
	if (barrier) {
		assert_null(b->data);
		assert_int_equal(b->len, 0);
		assert_int_equal(b->records, 0);
	} else {
		assert_int_equal(b->len, 1);
		assert_int_equal(b->data[0], byte);
	}
	return b;
}

static const char *node_of(const struct chan_mux *mux)
{
	return mux == A ? "node-a" : "node-b";
}

static bool script_done(void *arg)
{
	struct script_cons *c = arg;

	return c->done && c->p->done;
}

/* Runs steps from a producer on pm to a consumer on cm (pm == cm: the loop
 * connection) whose body checks what arrives; both must end cleanly. */
static void run_script(struct chan_mux *pm, struct chan_mux *cm, uint64_t id,
		       const struct step *steps, int nsteps, uint32_t credits,
		       void (*body)(struct script_cons *c, struct chan_in *in))
{
	struct script_prod p = {.mux = pm,
				.peer = node_of(cm),
				.port = chan_mux_port(cm),
				.id = id,
				.steps = steps,
				.nsteps = nsteps};
	struct script_cons c = {.mux = cm,
				.peer = node_of(pm),
				.port = chan_mux_port(pm),
				.id = id,
				.credits = credits,
				.p = &p,
				.body = body};
	uint64_t barriers = 0;

	for (int i = 0; i < nsteps; i++)
		barriers += steps[i].kind == STEP_BARRIER;
	assert_int_equal(sched_spawn("cons", 0, script_cons_task, &c, NULL), 0);
	assert_int_equal(sched_spawn("prod", 0, script_prod_task, &p, NULL), 0);
	assert_int_equal(sched_run(script_done, &c), 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.steps_done, nsteps);
	assert_int_equal(p.counters.barriers, barriers);
	assert_int_equal(c.counters.barriers, barriers);
}

/* Batches, barrier 1, batches, watermarks, barrier 2, and a last batch that
 * marks "everything arrived". */
static const struct step order_steps[] = {
	{STEP_BATCH, 10}, {STEP_BATCH, 11}, {STEP_BARRIER, 1}, {STEP_WM, 1000}, {STEP_BATCH, 12},
	{STEP_BATCH, 13}, {STEP_WM, 5000},  {STEP_BARRIER, 2}, {STEP_WM, 6000}, {STEP_BATCH, 14},
};

static void order_body(struct script_cons *c, struct chan_in *in)
{
	/* Entry by entry: barrier id (0 = a batch), the batch's byte, and the
	 * channel's watermark once the entry is taken. */
	static const struct {
		uint64_t barrier;
		int byte;
		int64_t wm;
	} expect[] = {
		{0, 10, INT64_MIN}, {0, 11, INT64_MIN}, {1, 0, 1000},  {0, 12, 1000},
		{0, 13, 5000},      {2, 0, 6000},       {0, 14, 6000},
	};
	struct chan_batch *b;

	wait_arrived(in, 5, 2);
	assert_true(chan_in_watermark(in) == INT64_MIN); /* each waits behind an entry */
	for (size_t i = 0; i < NELEM(expect); i++) {
		b = pop_expect(c, in, expect[i].barrier, expect[i].byte);
		assert_true(chan_in_watermark(in) == expect[i].wm);
		chan_in_release(in, b);
	}
	assert_int_equal(pop_next(c, in, &b), SD_EEOF);
}

/* Barriers come out exactly where they were sent, and so do watermarks
 * behind them. */
static void test_barriers_in_order(void **state)
{
	(void)state;
	run_script(A, B, 40, order_steps, NELEM(order_steps), 8, order_body);
}

/* Two credits, two batches, then the barrier: it needs none. */
static const struct step no_credit_steps[] = {
	{STEP_BATCH, 20},
	{STEP_BATCH, 21},
	{STEP_BARRIER, 7},
	{STEP_BATCH, 22},
};

static void no_credit_body(struct script_cons *c, struct chan_in *in)
{
	struct chan_batch *b;

	wait_arrived(in, 2, 1); /* nothing taken, so no credit went back */
	assert_int_equal(c->p->steps_done, 3);
	assert_false(c->p->done); /* batch 22 waits for credit */
	chan_in_release(in, pop_expect(c, in, 0, 20));
	chan_in_release(in, pop_expect(c, in, 0, 21));
	chan_in_release(in, pop_expect(c, in, 7, 0));
	chan_in_release(in, pop_expect(c, in, 0, 22));
	assert_int_equal(pop_next(c, in, &b), SD_EEOF);
}

/* A producer with no credit left still sends its barrier, behind its batches. */
static void test_barrier_without_credit(void **state)
{
	(void)state;
	run_script(A, B, 41, no_credit_steps, NELEM(no_credit_steps), 2, no_credit_body);
}

static const struct step release_steps[] = {
	{STEP_BATCH, 30},
	{STEP_BARRIER, 3},
	{STEP_BATCH, 31},
};

static void release_body(struct script_cons *c, struct chan_in *in)
{
	struct chan_batch *held, *b;
	struct chan_counters k;

	wait_arrived(in, 1, 1);
	held = pop_expect(c, in, 0, 30);
	chan_in_release(in, pop_expect(c, in, 3, 0));
	/* Time for a credit the barrier wrongly returned to bring batch 31. */
	sched_sleep_until(plat_now_us() + 50 * 1000);
	chan_in_counters(in, &k);
	assert_int_equal(k.batches, 1);
	assert_int_equal(c->p->steps_done, 2); /* still blocked in the send of 31 */
	chan_in_release(in, held);             /* this credit lets it go */
	chan_in_release(in, pop_expect(c, in, 0, 31));
	assert_int_equal(pop_next(c, in, &b), SD_EEOF);
}

/* Releasing a barrier returns no credit: it took none. */
static void test_barrier_release_grants_nothing(void **state)
{
	(void)state;
	run_script(A, B, 42, release_steps, NELEM(release_steps), 1, release_body);
}

/* All of the above over the loop connection (both ends on one node). */
static void test_barriers_local(void **state)
{
	(void)state;
	run_script(A, A, 43, order_steps, NELEM(order_steps), 8, order_body);
	run_script(A, A, 44, no_credit_steps, NELEM(no_credit_steps), 2, no_credit_body);
	run_script(A, A, 45, release_steps, NELEM(release_steps), 1, release_body);
}

/* Frames fed as one inbound connection from "node-x", HELLO first. */
struct feed {
	uint8_t buf[4096];
	size_t len;
};

static void feed_frame(struct feed *f, uint16_t type, const ProtobufCMessage *m)
{
	long n = wire_encode(type, m, NULL, 0, f->buf + f->len, sizeof(f->buf) - f->len);

	assert_true(n > 0);
	f->len += (size_t)n;
}

static void feed_start(struct feed *f)
{
	Sd__Data__Hello h = SD__DATA__HELLO__INIT;

	f->len = 0;
	h.protocol_version = WIRE_VERSION;
	h.node_name = "node-x";
	h.token = "tok";
	feed_frame(f, WIRE_DATA_HELLO, &h.base);
}

static void feed_barrier(struct feed *f, uint64_t channel, uint64_t checkpoint)
{
	Sd__Data__Barrier m = SD__DATA__BARRIER__INIT;

	m.channel_id = channel;
	m.checkpoint_id = checkpoint;
	feed_frame(f, WIRE_DATA_BARRIER, &m.base);
}

/*
 * Unknown channel: dropped, like a batch for it. Checkpoint 0, a barrier
 * after EndOfStream, and one beyond CHAN_BARRIERS_QUEUED_MAX close the
 * connection they came on (counted as rejected); channels elsewhere live on.
 */
static void test_malformed_barriers(void **state)
{
	Sd__Data__EndOfStream eos = SD__DATA__END_OF_STREAM__INIT;
	struct chan_mux_stats st0, st1;
	struct sched_waitq notify = {0};
	struct chan_counters k;
	struct chan_batch *b;
	struct chan_in *in;
	struct feed f;

	(void)state;
	chan_mux_get_stats(B, &st0);
	feed_start(&f);
	feed_barrier(&f, 99, 5);
	assert_int_equal(chan_mux_feed_test(B, f.buf, f.len), 0);
	chan_mux_get_stats(B, &st1);
	assert_int_equal(st1.frames_rejected, st0.frames_rejected);
	feed_start(&f);
	feed_barrier(&f, 99, 0);
	assert_int_equal(chan_mux_feed_test(B, f.buf, f.len), SD_EPROTO);

	/* A consumer on B's loop connection, fed barriers from node-x. */
	assert_int_equal(chan_in_open(B, 46, "node-b", "127.0.0.1", 0, 2, &notify, &in), 0);
	feed_start(&f);
	for (uint64_t id = 1; id <= CHAN_BARRIERS_QUEUED_MAX + 1; id++)
		feed_barrier(&f, 46, id);
	assert_int_equal(chan_mux_feed_test(B, f.buf, f.len), SD_ELIMIT);
	assert_int_equal(chan_in_error(in, NULL), 0);
	chan_in_counters(in, &k);
	assert_int_equal(k.barriers, CHAN_BARRIERS_QUEUED_MAX);
	for (uint64_t id = 1; id <= CHAN_BARRIERS_QUEUED_MAX; id++) {
		assert_int_equal(chan_in_pop(in, &b), 1);
		assert_true(b->barrier == id);
		chan_in_release(in, b);
	}
	assert_int_equal(chan_in_pop(in, &b), 0);

	feed_start(&f);
	eos.channel_id = 46;
	feed_frame(&f, WIRE_DATA_END_OF_STREAM, &eos.base);
	feed_barrier(&f, 46, 100);
	assert_int_equal(chan_mux_feed_test(B, f.buf, f.len), SD_EPROTO);
	assert_int_equal(chan_in_pop(in, &b), SD_EEOF); /* nothing queued after the end */
	chan_in_counters(in, &k);
	assert_int_equal(k.barriers, CHAN_BARRIERS_QUEUED_MAX);
	chan_mux_get_stats(B, &st1);
	assert_int_equal(st1.frames_rejected, st0.frames_rejected + 3);
	chan_in_close(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward_delivers_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_bound_with_stalled_consumer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watermarks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watermark_waits_for_queued_records, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eos_before_consumer_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eos_before_consumer_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_barriers_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_barrier_without_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_barrier_release_grants_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_barriers_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_barrier_before_consumer_opens, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed_barriers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
