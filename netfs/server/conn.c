/*
 * netfs/server/conn.c — stardust-netfsd's libuv transport.
 *
 * Each accepted connection gets a frame reader and a session (session.c).
 * Reads and tails become streams: a stream keeps up to SRV_READAHEAD chunks
 * in flight; each chunk is pread and hashed (XXH3-64) on libuv's work queue
 * (reads up to SRV_INLINE_READ_MAX bytes run on the loop: a page-cache hit
 * costs less than a thread hop), then written as header+body and the data
 * buffer with one uv_write (no copy). Chunks go out in order.
 *
 * Back-pressure: no new chunk is read while the socket's write queue holds
 * SRV_WQ_HIGH bytes, and the connection stops reading requests until it
 * drains, so a client that does not read its answers costs bounded memory
 * and never blocks the others.
 *
 * Lifetime: a connection is freed when its handle is closed and its last
 * stream has ended (chunks on the work queue finish first). Closing removes
 * the session's temporary files at once.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <uv.h>

#include "base/err.h"
#include "base/log.h"
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
	uv_timer_t hello_timer; /* closes connections that never said hello */
	uv_signal_t sigint, sigterm;
	struct stream *waiting;
	struct conn *conns;
	unsigned n_conns;
};

struct conn {
	uv_tcp_t tcp;
	struct server *sv;
	struct conn *next, *prev;
	struct srv_session ss;
	struct wire_reader rd;
	struct stream *streams;
	unsigned n_streams;
	bool closing, closed, paused;
	uint64_t accepted_at; /* loop ms */
};

struct out_msg {
	uv_write_t wr;
	struct conn *c;
	uint8_t data[];
};

static void conn_close(struct conn *c);
static void conn_resume(struct conn *c);
static void stream_pump(struct stream *st);
static void conn_pump_all(struct conn *c);

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

static bool conn_congested(struct conn *c)
{
	return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >= SRV_WQ_HIGH;
}

static void after_write(struct conn *c)
{
	if (c->closing)
		return;
	if (c->paused && !conn_congested(c)) {
		c->paused = false;
		conn_pump_all(c);
		conn_resume(c);
	} else {
		conn_pump_all(c);
	}
}

static void on_msg_written(uv_write_t *wr, int status)
{
	struct out_msg *m = wr->data;
	struct conn *c = m->c;

	free(m);
	after_write(c);
}

/*
 * Writes bufs at once when the socket takes them whole (1: no request, no
 * callback: the cheap path for small answers), else queues what is left
 * with wr (0: cb will run). SD_ECLOSED when the connection is gone.
 */
static int conn_write(struct conn *c, uv_write_t *wr, uv_buf_t *bufs, unsigned n, uv_write_cb cb)
{
	size_t total = 0;
	unsigned i = 0;
	int k;

	for (unsigned j = 0; j < n; j++)
		total += bufs[j].len;
	k = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
	if (k >= 0 && (size_t)k == total)
		return 1;
	if (k < 0 && k != UV_EAGAIN)
		return SD_ECLOSED;
	for (size_t left = k > 0 ? (size_t)k : 0; left > 0;) {
		size_t take = left < bufs[i].len ? left : bufs[i].len;
		bufs[i].base += take;
		bufs[i].len -= take;
		left -= take;
		if (bufs[i].len == 0)
			i++;
	}
	return uv_write(wr, (uv_stream_t *)&c->tcp, bufs + i, n - i, cb) < 0 ? SD_ECLOSED : 0;
}

/* srv_io.send: small responses, encoded into one owned buffer. */
static int io_send(void *arg, uint16_t type, const ProtobufCMessage *msg)
{
	struct conn *c = arg;
	size_t size = wire_frame_size(msg, 0);
	struct out_msg *m;
	long n;

	if (c->closing)
		return 0;
	m = malloc(sizeof(*m) + size);
	if (!m)
		return SD_ENOMEM;
	n = wire_encode(type, msg, NULL, 0, m->data, size);
	if (n < 0) {
		free(m);
		return (int)n;
	}
	m->c = c;
	m->wr.data = m;
	uv_buf_t buf = uv_buf_init((char *)m->data, (unsigned)n);
	int rc = conn_write(c, &m->wr, &buf, 1, on_msg_written);
	if (rc != 0)
		free(m);
	return rc < 0 ? rc : 0;
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
	close(st->fd);
	free(st);
	if (c->closed && c->n_streams == 0) {
		wire_reader_fini(&c->rd);
		free(c);
	}
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
	after_write(c);
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
	if (conn_write(c, &ch->wr, bufs, ch->got ? 2 : 1, on_chunk_written) != 0)
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
		if (conn_congested(c)) {
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

static void conn_pump_all(struct conn *c)
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

static int io_start_read(void *arg, int fd, uint64_t req_id, uint64_t offset, uint64_t end,
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

static int io_start_tail(void *arg, int fd, uint64_t req_id, uint64_t offset, uint32_t max_bytes,
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

static unsigned io_inflight(void *arg)
{
	return ((struct conn *)arg)->n_streams;
}

static void io_appended(void *arg)
{
	tail_check_all(((struct conn *)arg)->sv);
}

static const struct srv_io conn_io = {
	.send = io_send,
	.start_read = io_start_read,
	.start_tail = io_start_tail,
	.inflight = io_inflight,
	.appended = io_appended,
};

/* ---- connections ----------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	c->closed = true;
	if (c->n_streams == 0) {
		wire_reader_fini(&c->rd);
		free(c);
	}
}

static void conn_close(struct conn *c)
{
	struct server *sv = c->sv;
	struct stream *st, *next;

	if (c->closing)
		return;
	c->closing = true;
	srv_session_fini(&c->ss);
	if (c->prev)
		c->prev->next = c->next;
	else
		sv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sv->n_conns--;
	for (st = c->streams; st; st = next) {
		next = st->next;
		st->stopped = true;
		if (st->waiting)
			tail_unwait(st);
		if (stream_over(st))
			stream_free(st);
	}
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	uint8_t *where;
	size_t avail;

	if (wire_reader_space(&c->rd, &where, &avail) < 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)where, (unsigned)avail);
}

/* Dispatches every complete frame; false when the connection must close. */
static bool conn_dispatch(struct conn *c)
{
	struct wire_frame f;
	int rc;

	while (!c->closing && (rc = wire_reader_next(&c->rd, NULL, &f)) == 0) {
		size_t total = WIRE_HEADER_SIZE + f.hdr.body_len + f.hdr.attach_len;
		const uint8_t *body = c->rd.buf + c->rd.start - total + WIRE_HEADER_SIZE;
		rc = srv_dispatch(&c->ss, &f, body);
		wire_frame_release(&f, NULL);
		if (rc < 0)
			return false;
	}
	if (c->closing)
		return false;
	if (rc != SD_EAGAIN) {
		srv_send_error(&c->ss, 0, rc, "bad frame from client: %s", sd_strerror(rc));
		sd_log_warn("netfsd", "%s: bad frame: %s", c->ss.peer, sd_strerror(rc));
		return false;
	}
	return true;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (nread == 0)
		return;
	if (nread < 0 || !buf->base) {
		/* ENOBUFS: the reader refused a frame header (too big, bad magic...). */
		if (nread == UV_ENOBUFS && c->rd.error)
			srv_send_error(&c->ss, 0, c->rd.error, "bad frame from client: %s",
				       sd_strerror(c->rd.error));
		conn_close(c);
		return;
	}
	wire_reader_commit(&c->rd, (size_t)nread);
	if (!conn_dispatch(c)) {
		conn_close(c);
		return;
	}
	if (conn_congested(c)) {
		c->paused = true;
		uv_read_stop(s);
	}
}

static void conn_resume(struct conn *c)
{
	if (!c->closing)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void peer_name(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[48] = "?";

	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
			snprintf(c->ss.peer, sizeof(c->ss.peer), "%s:%u", ip,
				 ntohs(((struct sockaddr_in *)&ss)->sin_port));
			return;
		}
		uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
		snprintf(c->ss.peer, sizeof(c->ss.peer), "[%s]", ip);
	}
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct server *sv = listener->data;
	struct conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->sv = sv;
	c->accepted_at = uv_now(sv->loop);
	wire_reader_init(&c->rd, SRV_FRAME_MAX);
	srv_session_init(&c->ss, sv->srv, &conn_io, c);
	uv_tcp_init(sv->loop, &c->tcp);
	c->tcp.data = c;
	c->next = sv->conns;
	if (sv->conns)
		sv->conns->prev = c;
	sv->conns = c;
	sv->n_conns++;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	peer_name(c);
	if (sv->n_conns > SRV_CONNS_MAX) {
		srv_send_error(&c->ss, 0, SD_ELIMIT, "server busy: %u connections", SRV_CONNS_MAX);
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_hello_timer(uv_timer_t *t)
{
	struct server *sv = t->data;
	uint64_t now = uv_now(sv->loop);
	struct conn *c = sv->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->ss.hello_done && now - c->accepted_at >= sv->srv->cfg.hello_timeout_ms) {
			sd_log_warn("netfsd", "%s: no hello within %u ms: closing", c->ss.peer,
				    sv->srv->cfg.hello_timeout_ms);
			conn_close(c);
		}
	}
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct server *sv = sig->data;

	sd_log_info("netfsd", "signal %d: shutting down", signum);
	while (sv->conns)
		conn_close(sv->conns);
	uv_close((uv_handle_t *)&sv->listener, NULL);
	uv_close((uv_handle_t *)&sv->tail_timer, NULL);
	uv_close((uv_handle_t *)&sv->hello_timer, NULL);
	uv_close((uv_handle_t *)&sv->sigint, NULL);
	uv_close((uv_handle_t *)&sv->sigterm, NULL);
}

static int listen_on(struct server *sv, const char *host, int port, int *bound)
{
	struct sockaddr_storage addr;
	int len = sizeof(addr), rc;

	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) < 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) < 0)
		return SD_EINVAL;
	uv_tcp_init(sv->loop, &sv->listener);
	sv->listener.data = sv;
	if ((rc = uv_tcp_bind(&sv->listener, (struct sockaddr *)&addr, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&sv->listener, 512, on_connection)) < 0)
		return sd_err_from_errno(-rc);
	uv_tcp_getsockname(&sv->listener, (struct sockaddr *)&addr, &len);
	*bound = ntohs(((struct sockaddr_in *)&addr)->sin_port);
	return 0;
}

int srv_run(struct srv *s, uv_loop_t *loop, const char *host, int port,
	    void (*ready)(void *arg, int port), void *arg)
{
	struct server sv = {.srv = s, .loop = loop};
	int rc, bound = 0;

	if ((rc = listen_on(&sv, host, port, &bound)) < 0)
		return rc;
	uv_timer_init(loop, &sv.tail_timer);
	sv.tail_timer.data = &sv;
	uv_timer_init(loop, &sv.hello_timer);
	sv.hello_timer.data = &sv;
	if (!s->cfg.hello_timeout_ms)
		s->cfg.hello_timeout_ms = SRV_HELLO_TIMEOUT_MS;
	uv_timer_start(&sv.hello_timer, on_hello_timer, s->cfg.hello_timeout_ms / 4 + 1,
		       s->cfg.hello_timeout_ms / 4 + 1);
	uv_signal_init(loop, &sv.sigint);
	uv_signal_init(loop, &sv.sigterm);
	sv.sigint.data = sv.sigterm.data = &sv;
	uv_signal_start(&sv.sigint, on_signal, SIGINT);
	uv_signal_start(&sv.sigterm, on_signal, SIGTERM);
	if (ready)
		ready(arg, bound);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}
