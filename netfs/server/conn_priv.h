/*
 * netfs/server/conn_priv.h — shared by conn.c (connections) and stream.c
 * (streamed reads and tails) of stardust-netfsd; nothing else includes it.
 */
#ifndef SD_NETFS_SERVER_CONN_PRIV_H
#define SD_NETFS_SERVER_CONN_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "netfs/server/srv.h"

#define CONN_HEAD_MAX 128u /* bytes: header + ReadChunk body */

struct conn;

struct chunk {
	uv_work_t work;
	uv_write_t wr;
	struct stream *st;
	struct chunk *next;
	uint64_t off;
	size_t len, got;
	int err;
	uint64_t xxh, file_size;
	bool ready;
	uint8_t *data;
	uint8_t head[CONN_HEAD_MAX];
};

struct stream {
	struct stream *next;      /* conn->streams */
	struct stream *wait_next; /* server->waiting, while a tail waits */
	struct conn *c;
	int fd;
	uint64_t req_id;
	uint64_t next_off, end; /* bytes still to issue: [next_off, end) */
	uint32_t chunk;
	unsigned busy; /* chunks issued and not yet written */
	struct chunk *q_head, *q_tail;
	bool stopped; /* final chunk or error sent, or the connection closed */
	bool waiting;
	uint64_t deadline; /* loop ms: a waiting tail gives up */
	uint32_t max_bytes;
	uint64_t size_at_open; /* bytes: reported in chunks before the last */
};

struct server {
	struct srv *srv;
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t tail_timer;
	uv_timer_t sweep_timer; /* closes connections past their hello or idle timeout */
	uv_signal_t sigint, sigterm;
	struct stream *waiting;
	struct conn *conns; /* newest first */
	unsigned n_conns;
	unsigned n_prehello; /* connections still owing their hello: SRV_PREHELLO_MAX */
	uint64_t evicted;    /* pre-hello connections closed for newer ones, not yet logged */
};

struct conn {
	uv_tcp_t tcp;
	struct server *sv;
	struct conn *next, *prev;
	struct srv_session ss;
	struct wire_reader rd;
	struct stream *streams;
	unsigned n_streams;
	unsigned n_jobs; /* concats/truncates on the work queue */
	bool closing, closed, paused;
	bool prehello;        /* counted in server.n_prehello */
	uint64_t accepted_at; /* loop ms */
	uint64_t last_rx;     /* loop ms: bytes last arrived */
};

struct out_msg {
	uv_write_t wr;
	struct conn *c;
	uint8_t data[];
};

/* conn.c */
bool srv__conn_congested(struct conn *c);
/* A write finished: resume reading requests, pump streams. */
void srv__conn_after_write(struct conn *c);
/* 1: written at once (only when try_now); 0: queued, cb will run; SD_ECLOSED. */
int srv__conn_write(struct conn *c, uv_write_t *wr, uv_buf_t *bufs, unsigned n, bool try_now,
		    uv_write_cb cb);
/* Frees c when its handle is closed and its last stream and job ended. */
void srv__conn_maybe_free(struct conn *c);

/* stream.c */
int srv__start_read(void *conn, int fd, uint64_t req_id, uint64_t offset, uint64_t end,
		    uint64_t size, uint32_t chunk);
int srv__start_tail(void *conn, int fd, uint64_t req_id, uint64_t offset, uint32_t max_bytes,
		    uint32_t timeout_ms);
/* Stops stream req_id of conn: Error{req_id, SD_ECANCELED} ends it. */
void srv__cancel(void *conn, uint64_t req_id);
/* Looks at every waiting tail now (a file grew). */
void srv__tails_wake(struct server *sv);
void srv__conn_pump_all(struct conn *c);
/* The connection closes: stop its streams, free those with nothing in flight. */
void srv__streams_stop(struct conn *c);

#endif /* SD_NETFS_SERVER_CONN_PRIV_H */
