/*
 * node/core/chan.c — channel ends, credits, and data-frame dispatch.
 *
 * Invariants (asserted or enforced as protocol errors):
 *   consumer: queued + outstanding + to_return == grant  (no batch beyond credit)
 *   consumer: batches arrive with seq 0, 1, 2, ... per channel
 *   consumer: EndOfStream's count equals the batches received
 *   consumer: barriers share the batches' FIFO but not their credit: `queued`
 *     counts batches only, barriers_queued <= CHAN_BARRIERS_QUEUED_MAX, and
 *     releasing a barrier grants nothing back
 *   consumer: a barrier has checkpoint id != 0 and comes before EndOfStream
 *   producer: EndOfStream and barriers go out only after the consumer's
 *     first Credit. A consumer grants credits when it opens, and frames for
 *     a channel not (yet) open are dropped; a producer with nothing to send
 *     (an empty split) could otherwise finish before the consumer's task is
 *     deployed, its EndOfStream lost and the consumer waiting for it forever
 *     (or a checkpoint that never completes, for a lost barrier).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "node/core/chan_priv.h"

/* snprintf that may cut long reasons short, on purpose. */
static void fmt_reason(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt_reason(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

/* ---- mux ------------------------------------------------------------------ */

int chan_mux_open(const char *node_name, const char *host, uint16_t port, const char *token,
		  struct chan_mux **out)
{
	struct chan_mux *mux;
	int rc;

	if (!node_name || !*node_name || strlen(node_name) >= CHAN_NAME_MAX || !out ||
	    (token && strlen(token) >= CHAN_TOKEN_MAX))
		return SD_EINVAL;
	mux = plat_calloc(1, sizeof(*mux));
	if (!mux)
		return SD_ENOMEM;
	snprintf(mux->name, sizeof(mux->name), "%s", node_name);
	snprintf(mux->token, sizeof(mux->token), "%s", token ? token : "");
	rc = chan__listen(mux, host, port);
	if (rc < 0) {
		plat_free(mux);
		return rc;
	}
	*out = mux;
	return 0;
}

uint16_t chan_mux_port(const struct chan_mux *mux)
{
	return plat_tcp_local_port(mux->listener);
}

void chan_mux_get_stats(const struct chan_mux *mux, struct chan_mux_stats *out)
{
	*out = mux->stats;
}

void chan_mux_close(struct chan_mux *mux)
{
	if (!mux)
		return;
	assert(!mux->outs && !mux->ins && "close channels before the mux");
	chan__conn_free_all(mux);
	plat_free(mux->pending);
	plat_free(mux);
}

static struct chan_out *find_out(struct chan_mux *mux, uint64_t id)
{
	struct chan_out *c;

	for (c = mux->outs; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static struct chan_in *find_in(struct chan_mux *mux, uint64_t id)
{
	struct chan_in *c;

	for (c = mux->ins; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void out_fail(struct chan_out *c, int err, const char *reason)
{
	if (c->error)
		return;
	c->error = err;
	fmt_reason(c->reason, sizeof(c->reason), "channel %llu: %s", (unsigned long long)c->id,
		   reason);
	c->conn = NULL;
	sched_wake_all(&c->wait);
	if (c->notify)
		sched_wake_all(c->notify);
}

void chan_out_set_notify(struct chan_out *c, struct sched_waitq *notify)
{
	c->notify = notify;
}

static void in_fail(struct chan_in *c, int err, const char *reason)
{
	if (c->error)
		return;
	c->error = err;
	fmt_reason(c->reason, sizeof(c->reason), "channel %llu: %s", (unsigned long long)c->id,
		   reason);
	c->conn = NULL;
	if (c->notify)
		sched_wake_all(c->notify);
}

unsigned chan__fail_conn_channels(struct chan_conn *conn, int err, const char *reason)
{
	struct chan_out *o;
	struct chan_in *i;
	unsigned failed = 0;

	for (o = conn->mux->outs; o; o = o->next) {
		if (o->conn != conn)
			continue;
		if (!(o->finished && chan__conn_drained(conn)) && !o->error) {
			out_fail(o, err, reason);
			failed++;
		}
		o->conn = NULL;
	}
	for (i = conn->mux->ins; i; i = i->next) {
		if (i->conn != conn)
			continue;
		if (!i->eos && !i->error) {
			in_fail(i, err, reason);
			failed++;
		}
		i->conn = NULL;
	}
	return failed;
}

/* ---- producer end ---------------------------------------------------------- */

static uint32_t take_pending_credit(struct chan_mux *mux, uint64_t id)
{
	uint32_t got = 0;
	size_t i = 0;

	while (i < mux->npending) {
		if (mux->pending[i].id == id) {
			got += mux->pending[i].batches;
			mux->pending[i] = mux->pending[--mux->npending];
		} else {
			i++;
		}
	}
	return got;
}

int chan_out_open(struct chan_mux *mux, uint64_t id, const char *peer_node, const char *peer_host,
		  uint16_t peer_port, const bool *cancel, struct chan_out **out)
{
	struct chan_out *c;

	if (!mux || !peer_node || strlen(peer_node) >= CHAN_NAME_MAX || !out)
		return SD_EINVAL;
	if (find_out(mux, id))
		return SD_EEXIST;
	c = plat_calloc(1, sizeof(*c));
	if (!c)
		return SD_ENOMEM;
	c->mux = mux;
	c->id = id;
	c->cancel = cancel;
	snprintf(c->peer, sizeof(c->peer), "%s", peer_node);
	c->credits = take_pending_credit(mux, id);
	c->granted = c->credits > 0;
	c->next = mux->outs;
	mux->outs = c;
	c->conn = chan__conn_get(mux, peer_node, peer_host, peer_port);
	if (!c->conn)
		out_fail(c, SD_ENOMEM, "no memory for a connection");
	else if (c->conn->dead)
		out_fail(c, SD_ELOST, "cannot connect to the peer node");
	*out = c;
	return 0;
}

static bool out_canceled(const struct chan_out *c)
{
	return c->cancel && *c->cancel;
}

/* Task context: waits on c's queue, charging the time to back-pressure. */
static void out_wait(struct chan_out *c, struct sched_waitq *q)
{
	uint64_t t0 = plat_now_us();

	sched_wait(q, UINT64_MAX);
	c->counters.backpressure_us += plat_now_us() - t0;
}

int chan_out_send(struct chan_out *c, const uint8_t *batch, size_t len, uint32_t records,
		  uint32_t target_partition)
{
	Sd__Data__Batch m = SD__DATA__BATCH__INIT;
	int rc;

	assert(sched_in_task() && "chan_out_send blocks: task context only");
	assert(!c->finished);
	for (;;) {
		if (c->error)
			return c->error;
		if (out_canceled(c))
			return SD_ECANCELED;
		if (!c->conn)
			return SD_ELOST;
		if (!c->credits) {
			out_wait(c, &c->wait);
			continue;
		}
		if (!chan__conn_has_room(c->conn)) {
			out_wait(c, &c->conn->writable);
			continue;
		}
		break;
	}
	m.channel_id = c->id;
	m.seq = c->seq;
	m.record_count = records;
	m.target_partition = target_partition;
	rc = chan__conn_send(c->conn, WIRE_DATA_BATCH, &m.base, batch, len, true);
	if (rc < 0)
		return c->error ? c->error : rc;
	c->seq++;
	c->credits--;
	c->counters.batches++;
	c->counters.records += records;
	c->counters.bytes += len;
	return 0;
}

/* Task context: waits for the consumer's first Credit (its end is open).
 * Not back-pressure: there is no consumer yet. 0 or why not. */
static int out_wait_granted(struct chan_out *c)
{
	while (!c->granted) {
		if (c->error)
			return c->error;
		if (!c->conn)
			return SD_ELOST;
		if (out_canceled(c))
			return SD_ECANCELED;
		sched_wait(&c->wait, UINT64_MAX);
	}
	if (c->error)
		return c->error;
	return c->conn ? 0 : SD_ELOST;
}

int chan_out_watermark(struct chan_out *c, int64_t event_time_us)
{
	Sd__Data__Watermark m = SD__DATA__WATERMARK__INIT;

	if (c->error)
		return c->error;
	if (!c->conn)
		return SD_ELOST;
	m.channel_id = c->id;
	m.event_time_us = event_time_us;
	return chan__conn_send(c->conn, WIRE_DATA_WATERMARK, &m.base, NULL, 0, false);
}

int chan_out_barrier(struct chan_out *c, uint64_t checkpoint_id)
{
	Sd__Data__Barrier m = SD__DATA__BARRIER__INIT;
	int rc;

	assert(sched_in_task() && "chan_out_barrier may block: task context only");
	if (!checkpoint_id || c->finished)
		return SD_EINVAL; /* the consumer would close the connection for it */
	/* The consumer's end must exist, or the barrier is dropped on arrival. */
	rc = out_wait_granted(c);
	if (rc < 0)
		return rc;
	m.channel_id = c->id;
	m.checkpoint_id = checkpoint_id;
	rc = chan__conn_send(c->conn, WIRE_DATA_BARRIER, &m.base, NULL, 0, false);
	if (rc < 0)
		return c->error ? c->error : rc;
	c->counters.barriers++;
	return 0;
}

int chan_out_finish(struct chan_out *c)
{
	Sd__Data__EndOfStream m = SD__DATA__END_OF_STREAM__INIT;
	int rc;

	assert(sched_in_task() && "chan_out_finish blocks: task context only");
	/* The consumer's end must exist before its EndOfStream can be delivered. */
	rc = out_wait_granted(c);
	if (rc < 0)
		return rc;
	m.channel_id = c->id;
	m.batches_sent = c->seq;
	rc = chan__conn_send(c->conn, WIRE_DATA_END_OF_STREAM, &m.base, NULL, 0, false);
	if (rc < 0)
		return c->error ? c->error : rc;
	c->finished = true;
	while (!c->error && c->conn && !chan__conn_drained(c->conn)) {
		if (out_canceled(c))
			return SD_ECANCELED;
		sched_wait(&c->conn->writable, UINT64_MAX);
	}
	return c->error;
}

void chan_out_counters(const struct chan_out *c, struct chan_counters *out)
{
	*out = c->counters;
}

int chan_out_error(const struct chan_out *c, const char **reason)
{
	if (reason)
		*reason = c->reason;
	return c->error;
}

void chan_out_close(struct chan_out *c)
{
	struct chan_out **pp;

	if (!c)
		return;
	for (pp = &c->mux->outs; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	assert(!c->wait.head && "closing a channel a task waits on");
	plat_free(c);
}

/* ---- consumer end ---------------------------------------------------------- */

static int in_grant(struct chan_in *c, uint32_t batches)
{
	Sd__Data__Credit m = SD__DATA__CREDIT__INIT;
	int rc;

	if (c->error || !c->conn)
		return c->error;
	m.channel_id = c->id;
	m.batches = batches;
	rc = chan__conn_send(c->conn, WIRE_DATA_CREDIT, &m.base, NULL, 0, false);
	if (rc == 0)
		c->outstanding += batches;
	return rc;
}

int chan_in_open(struct chan_mux *mux, uint64_t id, const char *peer_node, const char *peer_host,
		 uint16_t peer_port, uint32_t credits, struct sched_waitq *notify,
		 struct chan_in **out)
{
	struct chan_in *c;

	if (!mux || !peer_node || strlen(peer_node) >= CHAN_NAME_MAX || !out ||
	    credits > CHAN_CREDITS_MAX)
		return SD_EINVAL;
	if (find_in(mux, id))
		return SD_EEXIST;
	c = plat_calloc(1, sizeof(*c));
	if (!c)
		return SD_ENOMEM;
	c->mux = mux;
	c->id = id;
	c->grant = credits ? credits : CHAN_CREDITS_DEFAULT;
	c->notify = notify;
	c->watermark = INT64_MIN;
	snprintf(c->peer, sizeof(c->peer), "%s", peer_node);
	c->next = mux->ins;
	mux->ins = c;
	c->conn = chan__conn_get(mux, peer_node, peer_host, peer_port);
	if (!c->conn)
		in_fail(c, SD_ENOMEM, "no memory for a connection");
	else if (c->conn->dead)
		in_fail(c, SD_ELOST, "cannot connect to the peer node");
	else if (in_grant(c, c->grant) < 0)
		in_fail(c, SD_ELOST, "cannot grant credits");
	*out = c;
	return 0;
}

int chan_in_pop(struct chan_in *c, struct chan_batch **out)
{
	struct chan_batch *b = c->head;

	if (b) {
		c->head = b->next;
		if (!c->head)
			c->tail = NULL;
		if (b->barrier) {
			assert(c->barriers_queued > 0);
			c->barriers_queued--;
		} else {
			assert(c->queued > 0);
			c->queued--;
		}
		b->next = NULL;
		if (b->wm_after > c->watermark)
			c->watermark = b->wm_after;
		*out = b;
		return 1;
	}
	if (c->error)
		return c->error;
	return c->eos ? SD_EEOF : 0;
}

void chan_in_release(struct chan_in *c, struct chan_batch *b)
{
	bool barrier = b->barrier != 0;

	plat_free(b->data);
	plat_free(b);
	if (barrier || c->eos || c->error)
		return; /* a barrier took no credit: none to return */
	c->to_return++;
	/* Grant back in halves: fewer Credit frames, producer never starves. */
	if (c->to_return * 2 >= c->grant) {
		uint32_t n = c->to_return;

		c->to_return = 0;
		if (in_grant(c, n) < 0)
			in_fail(c, SD_ELOST, "cannot return credits");
	}
}

int64_t chan_in_watermark(const struct chan_in *c)
{
	return c->watermark;
}

void chan_in_counters(const struct chan_in *c, struct chan_counters *out)
{
	*out = c->counters;
}

int chan_in_error(const struct chan_in *c, const char **reason)
{
	if (reason)
		*reason = c->reason;
	return c->error;
}

void chan_in_close(struct chan_in *c)
{
	struct chan_in **pp;
	struct chan_batch *b;

	if (!c)
		return;
	for (pp = &c->mux->ins; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	while ((b = c->head)) {
		c->head = b->next;
		plat_free(b->data);
		plat_free(b);
	}
	plat_free(c);
}

/* ---- dispatch -------------------------------------------------------------- */

static void in_notify(struct chan_in *c)
{
	if (c->notify)
		sched_wake_all(c->notify);
}

/* Appends b (a batch or a barrier) to c's queue; takes ownership of b. */
static void in_enqueue(struct chan_in *c, struct chan_batch *b)
{
	b->wm_after = INT64_MIN;
	b->next = NULL;
	if (c->tail)
		c->tail->next = b;
	else
		c->head = b;
	c->tail = b;
	in_notify(c);
}

static int on_batch(struct chan_conn *conn, const Sd__Data__Batch *m, const struct wire_frame *f)
{
	struct chan_in *c = find_in(conn->mux, m->channel_id);
	struct chan_batch *b;

	if (!c || c->error)
		return 0; /* closed or failed consumer: drop what was in flight */
	if (c->eos || m->seq != c->expect_seq || !c->outstanding)
		return SD_EPROTO; /* out of order, after the end, or beyond its credit */
	b = plat_calloc(1, sizeof(*b));
	if (!b)
		return SD_ENOMEM;
	b->len = f->attach_len;
	b->data = plat_alloc(b->len ? b->len : 1);
	if (!b->data) {
		plat_free(b);
		return SD_ENOMEM;
	}
	if (b->len)
		memcpy(b->data, f->attach, b->len);
	b->records = m->record_count;
	b->target_partition = m->target_partition;
	c->queued++;
	c->outstanding--;
	c->expect_seq++;
	if (c->queued > c->counters.max_queued)
		c->counters.max_queued = c->queued;
	assert(c->queued <= c->grant);
	c->counters.batches++;
	c->counters.records += b->records;
	c->counters.bytes += b->len;
	in_enqueue(c, b);
	return 0;
}

/*
 * A barrier joins the queue behind what came before it and takes no credit.
 * Checkpoint id 0 (never sent: chan_out_barrier refuses it) and a barrier
 * after EndOfStream are protocol errors, and so is one beyond
 * CHAN_BARRIERS_QUEUED_MAX (SD_ELIMIT); all close the connection. For a
 * channel not open here, or failed, it is dropped like a batch.
 */
static int on_barrier(struct chan_mux *mux, const Sd__Data__Barrier *m)
{
	struct chan_in *c = find_in(mux, m->channel_id);
	struct chan_batch *b;

	if (!m->checkpoint_id)
		return SD_EPROTO;
	if (!c || c->error)
		return 0;
	if (c->eos)
		return SD_EPROTO;
	if (c->barriers_queued >= CHAN_BARRIERS_QUEUED_MAX)
		return SD_ELIMIT;
	b = plat_calloc(1, sizeof(*b));
	if (!b)
		return SD_ENOMEM;
	b->barrier = m->checkpoint_id;
	c->barriers_queued++;
	c->counters.barriers++;
	in_enqueue(c, b);
	return 0;
}

static int on_credit(struct chan_mux *mux, const Sd__Data__Credit *m)
{
	struct chan_out *c = find_out(mux, m->channel_id);
	struct chan_pending_credit *p;

	if (m->batches == 0 || m->batches > CHAN_CREDITS_MAX)
		return SD_EPROTO;
	if (c) {
		if (c->credits + m->batches > CHAN_CREDITS_MAX * 2u)
			return SD_EPROTO;
		c->credits += m->batches;
		c->granted = true;
		sched_wake_all(&c->wait);
		return 0;
	}
	if (mux->npending >= CHAN_PENDING_CREDITS)
		return SD_ELIMIT;
	p = plat_realloc(mux->pending, (mux->npending + 1) * sizeof(*p));
	if (!p)
		return SD_ENOMEM;
	mux->pending = p;
	p[mux->npending].id = m->channel_id;
	p[mux->npending].batches = m->batches;
	mux->npending++;
	return 0;
}

static int on_end(struct chan_mux *mux, const Sd__Data__EndOfStream *m)
{
	struct chan_in *c = find_in(mux, m->channel_id);

	if (!c || c->error)
		return 0;
	if (c->eos || m->batches_sent != c->expect_seq)
		return SD_EPROTO;
	c->eos = true;
	in_notify(c);
	return 0;
}

static int on_hello(struct chan_conn *conn, const Sd__Data__Hello *m)
{
	if (!conn->inbound) /* the peer's HELLO back on a connection we made */
		return strcmp(m->node_name, conn->peer) ? SD_EPROTO : 0;
	if (conn->hello_seen)
		return SD_EPROTO;
	if (m->protocol_version != WIRE_VERSION)
		return SD_EVERSION;
	if (strcmp(m->token, conn->mux->token))
		return SD_EAUTH;
	if (!*m->node_name || strlen(m->node_name) >= CHAN_NAME_MAX)
		return SD_EPROTO;
	snprintf(conn->peer, sizeof(conn->peer), "%s", m->node_name);
	conn->hello_seen = true;
	chan__conn_adopt(conn);
	return 0;
}

static void on_channel_error(struct chan_conn *conn, const Sd__Data__ChannelError *m)
{
	struct chan_in *i = find_in(conn->mux, m->channel_id);
	struct chan_out *o = find_out(conn->mux, m->channel_id);
	char reason[CHAN_REASON_MAX];

	fmt_reason(reason, sizeof(reason), "peer node %s reports: %.120s", conn->peer, m->reason);
	if (i)
		in_fail(i, m->error_code < 0 ? m->error_code : SD_EIO, reason);
	if (o)
		out_fail(o, m->error_code < 0 ? m->error_code : SD_EIO, reason);
}

int chan__dispatch(struct chan_conn *conn, const struct wire_frame *f)
{
	uint16_t type = f->hdr.type;

	if (type == WIRE_DATA_HELLO)
		return on_hello(conn, (const Sd__Data__Hello *)f->msg);
	if (!conn->hello_seen)
		return SD_EPROTO; /* HELLO comes first */
	if (type != WIRE_DATA_BATCH && f->attach_len)
		return SD_EPROTO;
	switch (type) {
	case WIRE_DATA_BATCH:
		return on_batch(conn, (const Sd__Data__Batch *)f->msg, f);
	case WIRE_DATA_CREDIT:
		return on_credit(conn->mux, (const Sd__Data__Credit *)f->msg);
	case WIRE_DATA_WATERMARK: {
		const Sd__Data__Watermark *m = (const Sd__Data__Watermark *)f->msg;
		struct chan_in *c = find_in(conn->mux, m->channel_id);

		if (!c)
			return 0;
		if (c->tail) /* behind queued entries: takes effect when they are taken */
			c->tail->wm_after = m->event_time_us > c->tail->wm_after
						    ? m->event_time_us
						    : c->tail->wm_after;
		else if (m->event_time_us > c->watermark)
			c->watermark = m->event_time_us;
		in_notify(c);
		return 0;
	}
	case WIRE_DATA_END_OF_STREAM:
		return on_end(conn->mux, (const Sd__Data__EndOfStream *)f->msg);
	case WIRE_DATA_BARRIER:
		return on_barrier(conn->mux, (const Sd__Data__Barrier *)f->msg);
	case WIRE_DATA_CHANNEL_ERROR:
		on_channel_error(conn, (const Sd__Data__ChannelError *)f->msg);
		return 0;
	default:
		return SD_EPROTO; /* control or netfs frames do not belong here */
	}
}
