/*
 * netfs/server/stream.c — streamed reads and tails of stardust-netfsd.
 *
 * A read becomes a stream that keeps up to SRV_READAHEAD chunks in flight.
 * Each chunk is first read on the loop with preadv2(RWF_NOWAIT): a page-cache
 * hit costs less than a thread hop; what is not cached is read (and hashed,
 * XXH3-64) on libuv's work queue. A chunk goes out as header+body plus the
 * data buffer in one write (no copy), in offset order.
 *
 * Back-pressure: no chunk is issued while the socket's write queue holds
 * SRV_WQ_HIGH bytes; completed writes pump the streams again.
 *
 * A tail waits (polled every SRV_TAIL_POLL_MS, and woken at once by appends
 * through this server) until its file grows past its offset or its timeout
 * passes, then streams the new bytes (or one empty final chunk).
 *
 * Lifetime: a stream is freed when it has sent its final chunk (or stopped)
 * and has no chunk in flight; holds (stream_hold) keep it across calls that
 * may end it.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/err.h"
#include "netfs/server/conn_priv.h"

static void stream_pump(struct stream *st);

/* ---- frames ---------------------------------------------------------- */

/* Header + body, announcing attach_len attachment bytes sent separately. */
static size_t frame_head(uint8_t *out, size_t cap, uint16_t type, const ProtobufCMessage *msg,
			 size_t attach_len)
{
	size_t body = protobuf_c_message_get_packed_size(msg);

	assert(WIRE_HEADER_SIZE + body <= cap);
	out[0] = 'S';
	out[1] = 'D';
	out[2] = WIRE_VERSION;
	out[3] = 0;
	out[4] = (uint8_t)(type >> 8);
	out[5] = (uint8_t)type;
	out[6] = out[7] = 0;
	for (int i = 0; i < 4; i++) {
		out[8 + i] = (uint8_t)(body >> (24 - 8 * i));
		out[12 + i] = (uint8_t)(attach_len >> (24 - 8 * i));
	}
	protobuf_c_message_pack(msg, out + WIRE_HEADER_SIZE);
	return WIRE_HEADER_SIZE + body;
}

/* ---- streams ---------------------------------------------------------- */

static void stream_free(struct stream *st)
{
	struct conn *c = st->c;
	struct stream **pp = &c->streams;

	assert(st->busy == 0 && !st->waiting);
	while (*pp != st)
		pp = &(*pp)->next;
	*pp = st->next;
	c->n_streams--;
	c->last_rx = uv_now(c->sv->loop); /* the idle clock starts when it ends */
	close(st->fd);
	free(st);
	srv__conn_maybe_free(c);
}

static bool stream_over(const struct stream *st)
{
	return st->busy == 0 && !st->waiting && (st->stopped || st->next_off >= st->end);
}

/* A hold keeps st alive across calls that may end it. */
static void stream_hold(struct stream *st)
{
	st->busy++;
}

static void stream_release(struct stream *st)
{
	assert(st->busy > 0);
	st->busy--;
	if (stream_over(st))
		stream_free(st);
}

static void chunk_free(struct chunk *ch)
{
	struct stream *st = ch->st;

	free(ch->data);
	free(ch);
	st->busy--;
	if (stream_over(st))
		stream_free(st);
}

static void chunk_work(uv_work_t *w);

/* Hash; the size seen at open (or at the tail's wake-up) unless the file shrank. */
static void chunk_finish(struct chunk *ch)
{
	struct stat sb;

	ch->xxh = nfs_checksum(ch->data, ch->got);
	ch->file_size = ch->st->size_at_open;
	if (ch->got < ch->len)
		ch->file_size =
			fstat(ch->st->fd, &sb) == 0 ? (uint64_t)sb.st_size : ch->off + ch->got;
}

/*
 * On the loop: reads what the page cache holds without blocking
 * (preadv2 RWF_NOWAIT). True when the chunk is complete; otherwise the work
 * queue continues from ch->got.
 */
static bool chunk_try_nowait(struct chunk *ch)
{
	static bool unsupported; /* the file system refuses RWF_NOWAIT */

	while (!unsupported && ch->got < ch->len) {
		struct iovec iov = {ch->data + ch->got, ch->len - ch->got};
		ssize_t k = preadv2(ch->st->fd, &iov, 1, (off_t)(ch->off + ch->got), RWF_NOWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EOPNOTSUPP)
			unsupported = true;
		if (k < 0)
			break;
		if (k == 0) {
			chunk_finish(ch); /* the file shrank: send what there is */
			return true;
		}
		ch->got += (size_t)k;
	}
	if (ch->got < ch->len && !(unsupported && ch->len <= SRV_INLINE_READ_MAX))
		return false;
	chunk_work(&ch->work); /* small reads on such file systems: plain pread */
	return true;
}

/* Runs on the work queue, or on the loop: pread from ch->got on, then hash. */
static void chunk_work(uv_work_t *w)
{
	struct chunk *ch = w->data;

	while (ch->got < ch->len) {
		ssize_t k = pread(ch->st->fd, ch->data + ch->got, ch->len - ch->got,
				  (off_t)(ch->off + ch->got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ch->err = sd_err_from_errno(errno);
			return;
		}
		if (k == 0)
			break; /* the file shrank */
		ch->got += (size_t)k;
	}
	chunk_finish(ch);
}

static void on_chunk_written(uv_write_t *wr, int status)
{
	struct chunk *ch = wr->data;
	struct conn *c = ch->st->c;

	/* Write callbacks run before the close callback: c outlives this. */
	chunk_free(ch);
	srv__conn_after_write(c);
}

/* Sends the head-of-queue chunk ch; takes ownership. */
static void chunk_send(struct stream *st, struct chunk *ch)
{
	Sd__Netfs__ReadChunk m = SD__NETFS__READ_CHUNK__INIT;
	struct conn *c = st->c;

	if (st->stopped || c->closing) {
		chunk_free(ch);
		return;
	}
	if (ch->err) {
		srv_send_error(&c->ss, st->req_id, ch->err, "read: %s at offset %llu",
			       sd_strerror(ch->err), (unsigned long long)ch->off);
		st->stopped = true;
		chunk_free(ch);
		return;
	}
	m.req_id = st->req_id;
	m.offset = ch->off;
	m.xxh3 = ch->xxh;
	m.final = ch->got < ch->len || ch->off + ch->got >= st->end;
	m.eof = ch->off + ch->got >= ch->file_size;
	m.file_size = ch->file_size;
	if (m.final)
		st->stopped = true;
	size_t head = frame_head(ch->head, sizeof(ch->head), WIRE_NFS_READ_CHUNK, &m.base, ch->got);
	uv_buf_t bufs[2] = {uv_buf_init((char *)ch->head, (unsigned)head),
			    uv_buf_init((char *)ch->data, (unsigned)ch->got)};
	ch->wr.data = ch;
	/*
	 * Only a final chunk may go out at once: the others complete through a
	 * write callback on a later loop turn, which paces a stream to the socket
	 * and lets every other connection in between.
	 */
	if (srv__conn_write(c, &ch->wr, bufs, ch->got ? 2 : 1, m.final, on_chunk_written) != 0)
		chunk_free(ch); /* sent at once, or the connection is gone */
}

/* Sends every ready chunk at the head of the queue, in order. Caller holds st. */
static void stream_flush(struct stream *st)
{
	while (st->q_head && st->q_head->ready) {
		struct chunk *ch = st->q_head;
		st->q_head = ch->next;
		if (!st->q_head)
			st->q_tail = NULL;
		chunk_send(st, ch);
	}
	if (!st->c->closing)
		stream_pump(st);
}

static void on_chunk_read(uv_work_t *w, int status)
{
	struct chunk *ch = w->data;
	struct stream *st = ch->st;

	if (status < 0 && !ch->err)
		ch->err = SD_ECANCELED;
	ch->ready = true;
	stream_hold(st);
	stream_flush(st);
	stream_release(st);
}

/* Issues the next chunk of st; false when none could be issued. */
static bool stream_issue(struct stream *st)
{
	struct conn *c = st->c;
	uint64_t left = st->end - st->next_off;
	struct chunk *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return false;
	ch->len = left < st->chunk ? (size_t)left : st->chunk;
	ch->data = malloc(ch->len ? ch->len : 1);
	if (!ch->data) {
		free(ch);
		return false;
	}
	ch->st = st;
	ch->off = st->next_off;
	ch->work.data = ch;
	st->next_off += ch->len;
	st->busy++;
	if (st->q_tail)
		st->q_tail->next = ch;
	else
		st->q_head = ch;
	st->q_tail = ch;
	if (chunk_try_nowait(ch)) {
		ch->ready = true;
	} else if (uv_queue_work(c->sv->loop, &ch->work, chunk_work, on_chunk_read) < 0) {
		chunk_work(&ch->work);
		ch->ready = true;
	}
	return true;
}

/* Issues chunks up to the read-ahead window. Caller holds st. */
static void stream_pump(struct stream *st)
{
	struct conn *c = st->c;

	/* busy counts the caller's hold: the window is SRV_READAHEAD chunks. */
	while (!st->stopped && st->next_off < st->end && st->busy <= SRV_READAHEAD && !c->closing) {
		if (srv__conn_congested(c)) {
			c->paused = true;
			break;
		}
		if (!stream_issue(st)) {
			srv_send_error(&c->ss, st->req_id, SD_ENOMEM, "read: out of memory");
			st->stopped = true;
			break;
		}
	}
	if (st->q_head && st->q_head->ready)
		stream_flush(st);
}

void srv__conn_pump_all(struct conn *c)
{
	struct stream *st = c->streams, *next;

	for (; st; st = next) {
		next = st->next;
		if (!st->waiting && !st->stopped && st->busy < SRV_READAHEAD &&
		    st->next_off < st->end) {
			stream_hold(st);
			stream_pump(st);
			stream_release(st);
		}
	}
}

static struct stream *stream_new(struct conn *c, int fd, uint64_t req_id)
{
	struct stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->c = c;
	st->fd = fd;
	st->req_id = req_id;
	st->chunk = NFS_CHUNK_DEFAULT;
	st->next = c->streams;
	c->streams = st;
	c->n_streams++;
	return st;
}

/* Begins sending [off, end); an empty range sends one empty final chunk. */
static void stream_begin(struct stream *st, uint64_t off, uint64_t end)
{
	st->next_off = off;
	st->end = end;
	stream_hold(st);
	if (off == end && stream_issue(st))
		stream_flush(st);
	else
		stream_pump(st);
	stream_release(st);
}

int srv__start_read(void *arg, int fd, uint64_t req_id, uint64_t offset, uint64_t end,
		    uint64_t size, uint32_t chunk)
{
	struct stream *st = stream_new(arg, fd, req_id);

	if (!st) {
		close(fd);
		return SD_ENOMEM;
	}
	st->chunk = chunk;
	st->size_at_open = size;
	stream_begin(st, offset, end);
	return 0;
}

/* ---- tails ----------------------------------------------------------- */

static void tail_unwait(struct stream *st)
{
	struct server *sv = st->c->sv;
	struct stream **pp = &sv->waiting;

	while (*pp != st)
		pp = &(*pp)->wait_next;
	*pp = st->wait_next;
	st->waiting = false;
	if (!sv->waiting)
		uv_timer_stop(&sv->tail_timer);
}

/* Looks at one waiting tail: data arrived, or the wait timed out. */
static void tail_check(struct stream *st, uint64_t now)
{
	struct stat sb;
	uint64_t size = fstat(st->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	uint64_t off = st->next_off;

	if (size <= off && now < st->deadline)
		return;
	tail_unwait(st);
	st->size_at_open = size;
	if (size <= off)
		stream_begin(st, off, off); /* timed out: one empty final chunk */
	else
		stream_begin(st, off, size - off > st->max_bytes ? off + st->max_bytes : size);
}

static void tail_check_all(struct server *sv)
{
	uint64_t now = uv_now(sv->loop);
	struct stream *st = sv->waiting, *next;

	for (; st; st = next) {
		next = st->wait_next;
		tail_check(st, now);
	}
}

static void on_tail_timer(uv_timer_t *t)
{
	tail_check_all(t->data);
}

int srv__start_tail(void *arg, int fd, uint64_t req_id, uint64_t offset, uint32_t max_bytes,
		    uint32_t timeout_ms)
{
	struct conn *c = arg;
	struct server *sv = c->sv;
	struct stream *st = stream_new(c, fd, req_id);

	if (!st) {
		close(fd);
		return SD_ENOMEM;
	}
	st->max_bytes = max_bytes;
	st->next_off = st->end = offset;
	st->deadline = uv_now(sv->loop) + timeout_ms;
	st->waiting = true;
	st->wait_next = sv->waiting;
	if (!sv->waiting)
		uv_timer_start(&sv->tail_timer, on_tail_timer, SRV_TAIL_POLL_MS, SRV_TAIL_POLL_MS);
	sv->waiting = st;
	tail_check(st, uv_now(sv->loop));
	return 0;
}

void srv__streams_stop(struct conn *c)
{
	struct stream *st, *next;

	for (st = c->streams; st; st = next) {
		next = st->next;
		st->stopped = true;
		if (st->waiting)
			tail_unwait(st);
		if (stream_over(st))
			stream_free(st);
	}
}

void srv__cancel(void *arg, uint64_t req_id)
{
	struct conn *c = arg;
	struct stream *st;

	for (st = c->streams; st; st = st->next)
		if (st->req_id == req_id && !st->stopped)
			break;
	if (!st)
		return; /* finished already, or never was: nothing to do */
	/* Chunks already written go first; the ones still being read are dropped. */
	srv_send_error(&c->ss, req_id, SD_ECANCELED, "canceled by the client");
	st->stopped = true;
	if (st->waiting)
		tail_unwait(st);
	if (stream_over(st))
		stream_free(st);
}

void srv__tails_wake(struct server *sv)
{
	tail_check_all(sv);
}
