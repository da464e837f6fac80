/*
 * node/core/chan.h — the exchange: channels between tasks over one TCP
 * connection per node pair, with credit-based flow control.
 *
 * A channel joins one producer task to one consumer task and has an id the
 * coordinator assigns. Each end is opened on its node's mux:
 *
 *   producer (task context)                consumer
 *   chan_out_open(mux, id, peer...)        chan_in_open(mux, id, peer..., credits, notify)
 *   chan_out_send(out, batch, n, recs, p)  -> granted `credits` batches up front
 *     blocks while it has no credit        chan_in_pop(in, &b) -> batch / SD_EEOF / error
 *     (counted as back-pressured time)     chan_in_release(in, b) -> returns a credit
 *   chan_out_barrier(out, N)               chan_in_pop(in, &b) -> b->barrier == N, in order
 *     needs no credit                      chan_in_release(in, b) -> returns no credit
 *   chan_out_finish(out)  -> EndOfStream
 *
 * So a consumer never holds more than `credits` undelivered batches of a
 * channel (checked: a batch beyond its credit is a protocol error), and a slow
 * consumer stalls its producers instead of growing buffers. The connection's
 * output buffer is bounded too (CHAN_CONN_OUTBUF_MAX): a sender waits for it
 * to drain.
 *
 * Checkpoint barriers travel in the channel's order: everything sent before
 * barrier N is popped before it, everything after it (watermarks included)
 * after it. They take no credit, so a stalled consumer still gets them
 * behind its queued batches; at most CHAN_BARRIERS_QUEUED_MAX wait per
 * channel (more close the connection: keep fewer checkpoints in flight).
 *
 * Connections: the first channel that needs a peer node connects to it and
 * sends DATA_HELLO; an inbound connection is named by its HELLO. Later
 * channels to the same node reuse it; frames are dispatched by channel id.
 * A channel whose two ends live on the same node uses a loop connection that
 * carries the same frames in memory. A lost connection fails every channel
 * still open on it with SD_ELOST and a reason naming the peer node; a
 * malformed frame closes the connection the same way (SD_EPROTO).
 *
 * Context rules: chan_out_send/_watermark/_barrier/_finish run in a task
 * (they may block); everything else anywhere. Socket callbacks run on the loop.
 */
#ifndef SD_NODE_CORE_CHAN_H
#define SD_NODE_CORE_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/core/sched.h"

#define CHAN_CREDITS_DEFAULT 8u         /* batches a consumer grants per channel */
#define CHAN_CREDITS_MAX     256u       /* batches: largest grant accepted */
#define CHAN_CONN_OUTBUF_MAX (1u << 20) /* bytes queued per connection before senders wait */
#define CHAN_NAME_MAX        64         /* bytes: node names, with the NUL */
#define CHAN_REASON_MAX      192        /* bytes: error reasons, with the NUL */
#define CHAN_PENDING_CREDITS 1024       /* grants kept for producers not yet open */
/* barriers: undelivered per channel. They take no credit, so this bounds what
 * a consumer that stopped popping holds beyond its batches; one more closes
 * the connection (SD_ELIMIT). */
#define CHAN_BARRIERS_QUEUED_MAX 64u

struct chan_mux;
struct chan_out;
struct chan_in;

struct chan_counters {
	uint64_t batches;
	uint64_t records;
	uint64_t bytes;           /* batch payload bytes */
	uint64_t barriers;        /* producer: sent; consumer: received */
	uint64_t backpressure_us; /* producer: time waiting for credit or buffer space */
	uint32_t max_queued;      /* consumer: most undelivered batches held at once */
};

struct chan_mux_stats {
	uint64_t bytes_in, bytes_out;
	uint32_t conns;
	uint64_t frames_rejected; /* connections closed for malformed frames */
};

/*
 * Opens the node's exchange: listens on host:port (port 0 = any) and names
 * itself node_name in HELLOs; token (may be "" or NULL) must match peers'.
 * Returns an owned mux. SD_EADDRINUSE, SD_ENOMEM.
 */
int chan_mux_open(const char *node_name, const char *host, uint16_t port, const char *token,
		  struct chan_mux **out);
uint16_t chan_mux_port(const struct chan_mux *mux);
void chan_mux_get_stats(const struct chan_mux *mux, struct chan_mux_stats *out);
/* Closes every connection; channels must be closed first. */
void chan_mux_close(struct chan_mux *mux);

/*
 * Producer end. peer_* say where the consumer's node is. cancel (may be
 * NULL) is polled whenever the sender would wait: when it becomes true the
 * call returns SD_ECANCELED (wake the task with sched_wake_task()).
 * Returns owned. SD_EEXIST when the id is open already, SD_ENOMEM.
 */
int chan_out_open(struct chan_mux *mux, uint64_t id, const char *peer_node, const char *peer_host,
		  uint16_t peer_port, const bool *cancel, struct chan_out **out);

/*
 * Task context. Sends one batch (borrows it; copied into the connection's
 * buffer). Blocks while the channel has no credit or the connection's
 * buffer is full. 0, SD_ECANCELED, or the channel's error (SD_ELOST...).
 */
int chan_out_send(struct chan_out *c, const uint8_t *batch, size_t len, uint32_t records,
		  uint32_t target_partition);

/* Task context. Queues a watermark (needs no credit). */
int chan_out_watermark(struct chan_out *c, int64_t event_time_us);

/*
 * Task context. Queues checkpoint barrier N (checkpoint_id != 0) behind
 * everything sent before it; needs no credit, like a watermark. Before the
 * consumer's first Credit it waits for its end to open (as chan_out_finish
 * does: a barrier for a channel not open yet would be dropped). 0,
 * SD_EINVAL (id 0, or after chan_out_finish), SD_ECANCELED, or the channel's
 * error.
 */
int chan_out_barrier(struct chan_out *c, uint64_t checkpoint_id);

/* Task context. Sends EndOfStream and waits until it left the buffer. */
int chan_out_finish(struct chan_out *c);

/* A queue (the task's) to wake as well when the channel fails; may be NULL. */
void chan_out_set_notify(struct chan_out *c, struct sched_waitq *notify);

void chan_out_counters(const struct chan_out *c, struct chan_counters *out);
/* The channel's error and its reason ("" when none). */
int chan_out_error(const struct chan_out *c, const char **reason);
void chan_out_close(struct chan_out *c);

/*
 * Consumer end: grants credits (0 = CHAN_CREDITS_DEFAULT) batches up front.
 * notify (may be NULL) is woken whenever a batch, a barrier, the end, a
 * watermark or an error arrives. Returns owned.
 */
int chan_in_open(struct chan_mux *mux, uint64_t id, const char *peer_node, const char *peer_host,
		 uint16_t peer_port, uint32_t credits, struct sched_waitq *notify,
		 struct chan_in **out);

struct chan_batch {
	uint8_t *data; /* owned by the channel until chan_in_release; NULL for a barrier */
	size_t len;
	uint32_t records;
	uint32_t target_partition;
	uint64_t barrier; /* != 0: this entry is checkpoint barrier N, no data (len 0, records 0) */
	/* A watermark that arrived while this entry was queued: it becomes the
	 * channel's watermark only when the entry is taken, so a watermark never
	 * overtakes records or a barrier sent before it. INT64_MIN = none. */
	int64_t wm_after;
	struct chan_batch *next;
};

/*
 * Takes the next entry, a batch or a barrier (->barrier != 0) in the order
 * the producer sent them: 1 and *out (owned until chan_in_release), 0 when
 * none is queued yet, SD_EEOF when the producer ended and all was taken,
 * or the channel's error.
 */
int chan_in_pop(struct chan_in *c, struct chan_batch **out);

/* Frees a popped entry; a batch returns its credit to the producer, a
 * barrier none (it took none). */
void chan_in_release(struct chan_in *c, struct chan_batch *b);

/* Latest watermark from the producer (INT64_MIN before any). */
int64_t chan_in_watermark(const struct chan_in *c);

void chan_in_counters(const struct chan_in *c, struct chan_counters *out);
int chan_in_error(const struct chan_in *c, const char **reason);
void chan_in_close(struct chan_in *c);

/* Fuzz and test seam: feeds raw bytes as if received on an inbound connection. */
int chan_mux_feed_test(struct chan_mux *mux, const uint8_t *data, size_t len);

#endif /* SD_NODE_CORE_CHAN_H */
