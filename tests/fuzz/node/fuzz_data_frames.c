/*
 * tests/fuzz/node/fuzz_data_frames.c — the exchange's data-frame handler.
 *
 * Every input is fed as the byte stream of one inbound peer connection to a
 * mux that has a consumer end (channel 1) and a producer end (channel 2)
 * open, so HELLO, Batch, Credit, Watermark, Barrier, EndOfStream and
 * ChannelError all reach their handlers. The handler must reject what is
 * malformed without crashing, leaking or breaking the credit invariant
 * (asserted inside). Popped entries, barriers included, are released.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "node/core/chan.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"

static struct chan_mux *mux;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sched_waitq notify = {0};
	struct chan_in *in;
	struct chan_out *out;
	struct chan_batch *b;

	if (!mux) {
		if (plat_init() || (sched_init(), chan_mux_open("fz", "127.0.0.1", 0, "", &mux)))
			abort();
	}
	/* Peer "fz" is the mux itself: the loop connection, no socket. */
	if (chan_in_open(mux, 1, "fz", "127.0.0.1", 1, 4, &notify, &in) ||
	    chan_out_open(mux, 2, "fz", "127.0.0.1", 1, NULL, &out))
		abort();
	chan_mux_feed_test(mux, data, size);
	while (chan_in_pop(in, &b) == 1)
		chan_in_release(in, b);
	chan_in_close(in);
	chan_out_close(out);
	sched_run_once(false); /* frees failed connections, delivers loop frames */
	return 0;
}
