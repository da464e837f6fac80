/*
 * tests/unit/node/test_chan_barrier.c — checkpoint barriers on a channel
 * between two muxes in one process (loopback TCP and the in-memory loop
 * connection): in order with batches and watermarks, without credit, a
 * release that grants none, before the consumer opens, and malformed ones
 * fed as raw frames. The muxes and the plain producer and consumer are
 * chan_testlib.c; the scripted producer and checking consumer here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "chan_testlib.h"
#include "node/core/chan.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"
#include "proto/wire.h"

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

/* A barrier sent by a producer whose consumer is not open yet waits for it
 * (issue 4), over the loop connection and both ways between two nodes. */
static void test_barrier_before_consumer_opens(void **state)
{
	(void)state;
	chan_test_eos_before_consumer_opens(A, "node-a", A, "node-a", 24, 5);
	chan_test_eos_before_consumer_opens(A, "node-b", B, "node-a", 25, 6);
	chan_test_eos_before_consumer_opens(B, "node-a", A, "node-b", 26, 7);
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
		CHAN_TEST(test_barriers_in_order),
		CHAN_TEST(test_barrier_without_credit),
		CHAN_TEST(test_barrier_release_grants_nothing),
		CHAN_TEST(test_barriers_local),
		CHAN_TEST(test_barrier_before_consumer_opens),
		CHAN_TEST(test_malformed_barriers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
