/*
 * tests/unit/node/chan_testlib.h — the harness of the channel tests
 * (test_chan.c, test_chan_barrier.c): two muxes, node-a and node-b, in one
 * process over loopback TCP; a producer and a consumer task that move
 * numbered batches and check them against an independent sum.
 *
 * cmocka's setup opens the platform, the scheduler and both muxes
 * (chan_test_setup); teardown closes the muxes. The tasks borrow their
 * struct prod / struct cons, which the test keeps on its stack until
 * sched_run says they are done.
 */
#ifndef CHAN_TESTLIB_H
#define CHAN_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/core/chan.h"
#include "node/core/sched.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* node-a and node-b, open from chan_test_setup to chan_test_teardown */
extern struct chan_mux *A, *B;

int chan_test_setup(void **state);
int chan_test_teardown(void **state);
/* A cmocka test between chan_test_setup and chan_test_teardown. */
#define CHAN_TEST(f) cmocka_unit_test_setup_teardown(f, chan_test_setup, chan_test_teardown)

/* Sends nbatch batches of batch_len bytes (batch k filled from k), then ends. */
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

/* Takes batches until the end or an error, summing them. */
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

void chan_test_prod_task(void *arg); /* arg: struct prod */
void chan_test_cons_task(void *arg); /* arg: struct cons */
/* What a consumer's sum is after nbatch batches of len bytes (len <= 4096). */
uint64_t chan_test_expected_sum(int nbatch, size_t len);
/* A timer callback that only wakes the scheduler loop. */
void chan_test_noop(void *arg);

/* A producer with no batches (and barrier != 0 sent first) on pm finishes
 * before its consumer on cm opens: both must still end cleanly, the consumer
 * seeing the end (and the barrier). */
void chan_test_eos_before_consumer_opens(struct chan_mux *pm, const char *cons_node,
					 struct chan_mux *cm, const char *prod_node, uint64_t id,
					 uint64_t barrier);

#endif
