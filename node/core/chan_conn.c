/*
 * node/core/chan_conn.c — the exchange's connections: one per peer node,
 * an output buffer with a bound, frame reassembly, HELLO, and failure.
 *
 * Reading: an edge-triggered callback reads until SD_EAGAIN. That is
 * bounded because peers only send what our credits allow.
 * Writing: frames are encoded into the output buffer (one copy of the batch)
 * and flushed at once; what the socket refuses waits for PLAT_EV_WRITE.
 * A failed connection is unlinked at once and freed on the loop later, so a
 * task that was using it never touches freed memory.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "node/core/chan_priv.h"

#define CONN_OUTBUF_INITIAL (64u << 10) /* bytes */

static void conn_flush(struct chan_conn *c);

static void conn_reap(void *arg)
{
	struct chan_mux *mux = arg;

	while (mux->dead) {
		struct chan_conn *c = mux->dead;

		mux->dead = c->next;
		wire_reader_fini(&c->rd);
		plat_free(c->out);
		plat_free(c);
	}
}

void chan__conn_fail(struct chan_conn *c, int err, const char *why)
{
	struct chan_mux *mux = c->mux;
	struct chan_conn **pp;
	char reason[CHAN_REASON_MAX];

	if (c->dead)
		return;
	c->dead = true;
	snprintf(reason, sizeof(reason), "peer node %s (%s) lost: %s", c->peer[0] ? c->peer : "?",
		 c->addr, why ? why : sd_strerror(err));

	if (err == SD_EPROTO || err == SD_EVERSION || err == SD_EUNKNOWNTYPE || err == SD_ETOOBIG ||
	    err == SD_EAUTH)
		mux->stats.frames_rejected++;
	for (pp = &mux->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	mux->stats.conns--;
	plat_tcp_close(c->sock);
	c->sock = NULL;
	sched_timer_stop(&c->self_timer);
	/* Loud only when it hurt: a peer leaving after its streams ended is normal. */
	if (chan__fail_conn_channels(c, err == SD_EPROTO ? SD_EPROTO : SD_ELOST, reason))
		sd_log_warn("chan", "%s: %s", mux->name, reason);
	else
		sd_log_debug("chan", "%s: %s", mux->name, reason);
	sched_wake_all(&c->writable);
	c->next = mux->dead;
	mux->dead = c;
	sched_timer_start(&mux->reap_timer, 0, conn_reap, mux);
}

static int conn_dispatch_all(struct chan_conn *c)
{
	struct wire_frame f;
	int rc = SD_EAGAIN; /* no frame dispatched yet */

	while (!c->dead && (rc = wire_reader_next(&c->rd, NULL, &f)) == 0) {
		rc = chan__dispatch(c, &f);
		wire_frame_release(&f, NULL);
		if (rc < 0)
			return rc;
	}
	return c->dead || rc == SD_EAGAIN ? 0 : rc;
}

int chan__conn_input(struct chan_conn *c, const uint8_t *data, size_t len)
{
	int rc = wire_reader_feed(&c->rd, data, len);

	if (rc == 0)
		rc = conn_dispatch_all(c);
	if (rc < 0) {
		char why[96];

		snprintf(why, sizeof(why), "malformed frame: %s", sd_strerror(rc));
		chan__conn_fail(c, rc == SD_ENOMEM ? rc : SD_EPROTO, why);
	}
	return rc;
}

static void conn_read(struct chan_conn *c)
{
	for (;;) {
		uint8_t *where;
		size_t avail;
		long n;
		int rc = wire_reader_space(&c->rd, &where, &avail);

		if (rc < 0) {
			chan__conn_fail(c, rc, "malformed frame");
			return;
		}
		n = plat_tcp_recv(c->sock, where, avail);
		if (n == SD_EAGAIN)
			return;
		if (n < 0) {
			chan__conn_fail(c, (int)n, NULL);
			return;
		}
		wire_reader_commit(&c->rd, (size_t)n);
		c->mux->stats.bytes_in += (uint64_t)n;
		rc = conn_dispatch_all(c);
		if (rc < 0) {
			char why[96];

			snprintf(why, sizeof(why), "malformed frame: %s", sd_strerror(rc));
			chan__conn_fail(c, SD_EPROTO, why);
			return;
		}
		if (c->dead)
			return;
	}
}

static void conn_event(struct plat_sock *sock, unsigned events, void *arg)
{
	struct chan_conn *c = arg;

	(void)sock;
	if (events & PLAT_EV_WRITE)
		conn_flush(c);
	if (!c->dead && (events & (PLAT_EV_READ | PLAT_EV_ERROR)))
		conn_read(c);
	if (!c->dead && (events & PLAT_EV_ERROR) && plat_tcp_status(c->sock) < 0)
		chan__conn_fail(c, plat_tcp_status(c->sock), NULL);
}

/* Loop connection: what was written is delivered in memory, on the loop. */
static void conn_self_deliver(void *arg)
{
	struct chan_conn *c = arg;
	size_t len = c->out_end - c->out_start;

	if (!len)
		return;
	c->out_start = c->out_end = 0;
	/* Copy out first: dispatch may queue new frames (credits) into c->out. */
	if (wire_reader_feed(&c->rd, c->out, len) < 0) {
		chan__conn_fail(c, SD_ENOMEM, "loop connection out of memory");
		return;
	}
	sched_wake_all(&c->writable);
	if (conn_dispatch_all(c) < 0)
		chan__conn_fail(c, SD_EPROTO, "malformed frame on the loop connection");
}

static void conn_flush(struct chan_conn *c)
{
	size_t before = c->out_end - c->out_start;

	if (c->dead)
		return;
	if (c->self) {
		if (before)
			sched_timer_start(&c->self_timer, 0, conn_self_deliver, c);
		return;
	}
	if (c->discard) {
		c->out_start = c->out_end = 0;
		return;
	}
	if (!c->sock)
		return; /* waiting for the peer to connect: keep it queued */
	while (c->out_start < c->out_end) {
		long n = plat_tcp_send(c->sock, c->out + c->out_start, c->out_end - c->out_start);

		if (n == SD_EAGAIN)
			break;
		if (n < 0) {
			chan__conn_fail(c, (int)n, NULL);
			return;
		}
		c->out_start += (size_t)n;
		c->mux->stats.bytes_out += (uint64_t)n;
	}
	if (c->out_start == c->out_end)
		c->out_start = c->out_end = 0;
	if (c->out_end - c->out_start < before)
		sched_wake_all(&c->writable);
}

bool chan__conn_has_room(const struct chan_conn *c)
{
	return c->out_end - c->out_start < CHAN_CONN_OUTBUF_MAX;
}

bool chan__conn_drained(const struct chan_conn *c)
{
	return c->out_end == c->out_start;
}

/* Makes room for need more bytes: compacts, then grows. */
static int conn_reserve(struct chan_conn *c, size_t need)
{
	size_t used = c->out_end - c->out_start, cap;
	uint8_t *p;

	if (c->out_cap - c->out_end >= need)
		return 0;
	if (c->out_start) {
		memmove(c->out, c->out + c->out_start, used);
		c->out_start = 0;
		c->out_end = used;
		if (c->out_cap - c->out_end >= need)
			return 0;
	}
	cap = c->out_cap ? c->out_cap : CONN_OUTBUF_INITIAL;
	while (cap - used < need)
		cap *= 2;
	p = plat_realloc(c->out, cap);
	if (!p)
		return SD_ENOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

int chan__conn_send(struct chan_conn *c, uint16_t type, const ProtobufCMessage *msg,
		    const void *attach, size_t attach_len, bool data)
{
	size_t need = wire_frame_size(msg, attach_len);
	long n;
	int rc;

	if (c->dead)
		return SD_ELOST;
	if (data && !chan__conn_has_room(c))
		return SD_EAGAIN;
	rc = conn_reserve(c, need);
	if (rc < 0)
		return rc;
	n = wire_encode(type, msg, attach, attach_len, c->out + c->out_end,
			c->out_cap - c->out_end);
	if (n < 0)
		return (int)n;
	c->out_end += (size_t)n;
	conn_flush(c);
	return c->dead ? SD_ELOST : 0;
}

static struct chan_conn *conn_new(struct chan_mux *mux, const char *peer, const char *addr)
{
	struct chan_conn *c = plat_calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (wire_reader_init(&c->rd, WIRE_FRAME_MAX) < 0) {
		plat_free(c);
		return NULL;
	}
	c->mux = mux;
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "");
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->next = mux->conns;
	mux->conns = c;
	mux->stats.conns++;
	return c;
}

static int conn_send_hello(struct chan_conn *c)
{
	Sd__Data__Hello hello = SD__DATA__HELLO__INIT;

	hello.protocol_version = WIRE_VERSION;
	hello.node_name = c->mux->name;
	hello.token = c->mux->token;
	return chan__conn_send(c, WIRE_DATA_HELLO, &hello.base, NULL, 0, false);
}

/* Waiting conn: the lower-named peer did not connect in time; connect ourselves. */
static void conn_fallback_connect(void *arg)
{
	struct chan_conn *c = arg;
	int rc;

	if (c->dead || !c->waiting)
		return;
	c->waiting = false;
	rc = plat_tcp_connect(c->host, c->port, conn_event, c, &c->sock);
	if (rc < 0)
		chan__conn_fail(c, rc, NULL);
}

struct chan_conn *chan__conn_get(struct chan_mux *mux, const char *peer, const char *host,
				 uint16_t port)
{
	struct chan_conn *c;
	char addr[PLAT_ADDR_MAX];
	int rc;

	for (c = mux->conns; c; c = c->next)
		if (!c->dead && !strcmp(c->peer, peer))
			return c;
	snprintf(addr, sizeof(addr), "%s:%u", host ? host : "?", port);
	c = conn_new(mux, peer, addr);
	if (!c)
		return NULL;
	c->hello_seen = true; /* we know who is at the other end */
	if (!strcmp(peer, mux->name)) {
		c->self = true;
		return c;
	}
	/* HELLO leads the buffer whether we connect or the peer does. */
	rc = conn_send_hello(c);
	if (rc == 0 && strcmp(mux->name, peer) > 0) {
		c->waiting = true;
		c->port = port;
		snprintf(c->host, sizeof(c->host), "%s", host ? host : "");
		sched_timer_start(&c->self_timer, plat_now_us() + CHAN_INBOUND_WAIT_US,
				  conn_fallback_connect, c);
		return c;
	}
	if (rc == 0)
		rc = plat_tcp_connect(host, port, conn_event, c, &c->sock);
	if (rc < 0)
		chan__conn_fail(c, rc, NULL); /* channels opened on it fail at once */
	else
		conn_flush(c);
	return c;
}

void chan__conn_adopt(struct chan_conn *in)
{
	struct chan_mux *mux = in->mux;
	struct chan_conn *w, **pp;
	struct chan_out *o;
	struct chan_in *i;

	for (w = mux->conns; w; w = w->next)
		if (w != in && !w->dead && w->waiting && !strcmp(w->peer, in->peer))
			break;
	if (!w)
		return;
	assert(in->out_end == in->out_start);
	/* The placeholder's queued frames (HELLO first) go out on the real socket. */
	plat_free(in->out);
	in->out = w->out;
	in->out_start = w->out_start;
	in->out_end = w->out_end;
	in->out_cap = w->out_cap;
	w->out = NULL;
	w->out_start = w->out_end = w->out_cap = 0;
	for (o = mux->outs; o; o = o->next)
		if (o->conn == w)
			o->conn = in;
	for (i = mux->ins; i; i = i->next)
		if (i->conn == w)
			i->conn = in;
	sched_wake_all(&w->writable);
	sched_timer_stop(&w->self_timer);
	for (pp = &mux->conns; *pp != w; pp = &(*pp)->next)
		;
	*pp = w->next;
	mux->stats.conns--;
	w->dead = true;
	w->next = mux->dead;
	mux->dead = w;
	sched_timer_start(&mux->reap_timer, 0, conn_reap, mux);
	conn_flush(in);
}

static void mux_accept(struct plat_sock *listener, unsigned events, void *arg)
{
	struct chan_mux *mux = arg;

	(void)events;
	for (;;) {
		struct chan_conn *c = conn_new(mux, "", "inbound");
		int rc;

		if (!c)
			return;
		c->inbound = true;
		rc = plat_tcp_accept(listener, conn_event, c, &c->sock);
		if (rc < 0) {
			mux->conns = c->next; /* conn_new linked it first */
			mux->stats.conns--;
			wire_reader_fini(&c->rd);
			plat_free(c);
			if (rc != SD_EAGAIN)
				sd_log_warn("chan", "%s: accept: %s", mux->name, sd_strerror(rc));
			return;
		}
		plat_tcp_local_addr(c->sock, c->addr, sizeof(c->addr));
	}
}

int chan__listen(struct chan_mux *mux, const char *host, uint16_t port)
{
	return plat_tcp_listen(host, port, mux_accept, mux, &mux->listener);
}

void chan__conn_free_all(struct chan_mux *mux)
{
	while (mux->conns)
		chan__conn_fail(mux->conns, SD_ECANCELED, "node shutting down");
	sched_timer_stop(&mux->reap_timer);
	conn_reap(mux);
	plat_tcp_close(mux->listener);
}

/* An inbound connection whose output goes nowhere, fed the bytes, then closed. */
int chan_mux_feed_test(struct chan_mux *mux, const uint8_t *data, size_t len)
{
	struct chan_conn *c = conn_new(mux, "", "test");
	int rc;

	if (!c)
		return SD_ENOMEM;
	c->inbound = true;
	c->discard = true;
	rc = chan__conn_input(c, data, len);
	if (!c->dead)
		chan__conn_fail(c, SD_ECANCELED, "test input done");
	return rc;
}
