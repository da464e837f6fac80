/*
 * node/core/chan_priv.h — the exchange's private structures, shared by
 * chan.c (channel ends, frame dispatch) and chan_conn.c (connections).
 * Not for other modules: use chan.h.
 */
#ifndef SD_NODE_CORE_CHAN_PRIV_H
#define SD_NODE_CORE_CHAN_PRIV_H

#include "node/core/chan.h"
#include "node/plat/plat.h"
#include "proto/wire.h"

#define CHAN_TOKEN_MAX 128 /* bytes: join token, with the NUL */
/* us: how long the higher-named node waits for the lower-named one to
 * connect (one connection per pair) before connecting itself. */
#define CHAN_INBOUND_WAIT_US (300u * 1000u)

struct chan_conn {
	struct chan_mux *mux;
	struct plat_sock *sock;   /* NULL for the loop connection */
	char peer[CHAN_NAME_MAX]; /* node name; "" on an inbound conn until HELLO */
	char addr[PLAT_ADDR_MAX]; /* host:port we connected to, or "inbound" */
	bool inbound;
	bool self;       /* loop connection: frames delivered in memory */
	bool hello_seen; /* inbound: the peer said who it is */
	bool dead;
	bool waiting;  /* no socket yet: the peer (lower name) is expected to connect */
	bool discard;  /* test connection: output goes nowhere */
	uint16_t port; /* waiting: where to connect if the peer does not */
	char host[PLAT_ADDR_MAX];
	struct wire_reader rd;
	uint8_t *out; /* output buffer: bytes [out_start, out_end) wait to be sent */
	size_t out_start, out_end, out_cap;
	struct sched_waitq writable;   /* tasks waiting for output space */
	struct sched_timer self_timer; /* loop conn: delivery; waiting conn: fallback */
	struct chan_conn *next;
};

struct chan_pending_credit {
	uint64_t id;
	uint32_t batches;
};

struct chan_mux {
	char name[CHAN_NAME_MAX];
	char token[CHAN_TOKEN_MAX];
	struct plat_sock *listener;
	struct chan_conn *conns;
	struct chan_conn *dead; /* failed: freed on the loop by reap_timer */
	struct chan_out *outs;
	struct chan_in *ins;
	struct chan_pending_credit *pending; /* credits for producers not yet open */
	size_t npending;
	struct sched_timer reap_timer;
	struct chan_mux_stats stats;
};

struct chan_out {
	struct chan_mux *mux;
	uint64_t id;
	char peer[CHAN_NAME_MAX];
	struct chan_conn *conn; /* NULL once failed */
	uint32_t credits;       /* batches we may still send */
	bool granted;           /* the consumer's first Credit came: its end is open */
	uint64_t seq;
	const bool *cancel;
	struct sched_waitq *notify; /* woken too when the channel fails */
	bool finished;              /* EndOfStream queued */
	int error;
	char reason[CHAN_REASON_MAX];
	struct sched_waitq wait;
	struct chan_counters counters;
	struct chan_out *next;
};

struct chan_in {
	struct chan_mux *mux;
	uint64_t id;
	char peer[CHAN_NAME_MAX];
	struct chan_conn *conn;
	uint32_t grant;                 /* credits granted up front */
	uint32_t outstanding;           /* granted, not yet received */
	uint32_t to_return;             /* released, not yet granted back */
	struct chan_batch *head, *tail; /* batches and barriers, in arrival order */
	uint32_t queued;                /* batches in the queue (they hold credit) */
	uint32_t barriers_queued;       /* barriers in the queue (they hold none) */
	uint64_t expect_seq;
	bool eos;
	int64_t watermark;
	struct sched_waitq *notify;
	int error;
	char reason[CHAN_REASON_MAX];
	struct chan_counters counters;
	struct chan_in *next;
};

/* chan_conn.c */
struct chan_conn *chan__conn_get(struct chan_mux *mux, const char *peer, const char *host,
				 uint16_t port);
/* Queues one frame. data frames get SD_EAGAIN while the buffer is over its bound. */
int chan__conn_send(struct chan_conn *c, uint16_t type, const ProtobufCMessage *msg,
		    const void *attach, size_t attach_len, bool data);
bool chan__conn_has_room(const struct chan_conn *c);
bool chan__conn_drained(const struct chan_conn *c);
void chan__conn_fail(struct chan_conn *c, int err, const char *why);
int chan__listen(struct chan_mux *mux, const char *host, uint16_t port);
void chan__conn_free_all(struct chan_mux *mux);
/* Feeds bytes to c's reader and dispatches complete frames. */
int chan__conn_input(struct chan_conn *c, const uint8_t *data, size_t len);
/* An inbound connection from peer replaces our waiting placeholder for it. */
void chan__conn_adopt(struct chan_conn *inbound);

/* chan.c */
int chan__dispatch(struct chan_conn *c, const struct wire_frame *f);
/* Fails every open channel end bound to c; returns how many. */
unsigned chan__fail_conn_channels(struct chan_conn *c, int err, const char *reason);

#endif /* SD_NODE_CORE_CHAN_PRIV_H */
