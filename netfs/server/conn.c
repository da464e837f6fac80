/*
 * netfs/server/conn.c — stardust-netfsd's connections (libuv).
 *
 * Each accepted connection gets a frame reader and a session (session.c);
 * reads and tails are handed to stream.c. Answers go out with uv_try_write
 * when the socket takes them whole, else through uv_write.
 *
 * Back-pressure: a connection whose write queue holds SRV_WQ_HIGH bytes stops
 * being read until it drains, so a client that does not read its answers
 * costs bounded memory and never blocks the others.
 *
 * Hostile or dead clients: a connection that does not say hello within the
 * hello timeout is closed, and so is one that, after its hello, has no
 * request in progress and no unfinished sink and sends nothing for the idle
 * timeout (one sweep timer checks both). At most SRV_PREHELLO_MAX connections may owe their
 * hello at once: a new one beyond that closes the oldest of them, so silent
 * connections cannot fill SRV_CONNS_MAX and lock real clients out — a client
 * that says hello at once is never the oldest.
 *
 * Jobs (concat, truncate) run on libuv's work queue; their done callback
 * runs on the loop even after the connection closed.
 *
 * Lifetime: a connection is freed when its handle is closed and its last
 * stream and job have ended (work on the work queue finishes first).
 * Closing removes the session's temporary files at once.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "netfs/server/conn_priv.h"

static void conn_close(struct conn *c);
static void conn_resume(struct conn *c);

bool srv__conn_congested(struct conn *c)
{
	return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >= SRV_WQ_HIGH;
}

void srv__conn_after_write(struct conn *c)
{
	if (c->closing)
		return;
	if (c->paused && !srv__conn_congested(c)) {
		c->paused = false;
		srv__conn_pump_all(c);
		conn_resume(c);
	} else {
		srv__conn_pump_all(c);
	}
}

static void on_msg_written(uv_write_t *wr, int status)
{
	struct out_msg *m = wr->data;
	struct conn *c = m->c;

	free(m);
	srv__conn_after_write(c);
}

/*
 * Writes bufs at once when the socket takes them whole (1: no request, no
 * callback: the cheap path for small answers), else queues what is left
 * with wr (0: cb will run). SD_ECLOSED when the connection is gone.
 */
int srv__conn_write(struct conn *c, uv_write_t *wr, uv_buf_t *bufs, unsigned n, bool try_now,
		    uv_write_cb cb)
{
	size_t total = 0;
	unsigned i = 0;
	int k;

	for (unsigned j = 0; j < n; j++)
		total += bufs[j].len;
	k = try_now ? uv_try_write((uv_stream_t *)&c->tcp, bufs, n) : UV_EAGAIN;
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
	int rc = srv__conn_write(c, &m->wr, &buf, 1, true, on_msg_written);
	if (rc != 0)
		free(m);
	return rc < 0 ? rc : 0;
}

static unsigned io_inflight(void *arg)
{
	return ((struct conn *)arg)->n_streams;
}

static void io_appended(void *arg)
{
	srv__tails_wake(((struct conn *)arg)->sv);
}

/* A job on libuv's work queue; owned here until its done callback ran. */
struct conn_job {
	uv_work_t work;
	struct conn *c;
	struct srv_job *job;
};

static void on_job_work(uv_work_t *w)
{
	struct conn_job *cj = w->data;

	cj->job->work(cj->job);
}

static void on_job_done(uv_work_t *w, int status)
{
	struct conn_job *cj = w->data;
	struct conn *c = cj->c;

	(void)status; /* never canceled: a job not run answers SD_ECANCELED itself */
	cj->job->done(cj->job);
	free(cj);
	assert(c->n_jobs > 0);
	c->n_jobs--;
	c->last_rx = uv_now(c->sv->loop); /* the idle clock starts when it ends */
	srv__conn_maybe_free(c);
}

static int io_run(void *arg, struct srv_job *job)
{
	struct conn *c = arg;
	struct conn_job *cj = malloc(sizeof(*cj));

	if (!cj)
		return SD_ENOMEM;
	cj->c = c;
	cj->job = job;
	cj->work.data = cj;
	if (uv_queue_work(c->sv->loop, &cj->work, on_job_work, on_job_done) < 0) {
		free(cj);
		return SD_EINTERNAL;
	}
	c->n_jobs++;
	return 0;
}

static const struct srv_io conn_io = {
	.send = io_send,
	.start_read = srv__start_read,
	.start_tail = srv__start_tail,
	.inflight = io_inflight,
	.appended = io_appended,
	.cancel = srv__cancel,
	.run = io_run,
};

/* ---- connections ----------------------------------------------------- */

void srv__conn_maybe_free(struct conn *c)
{
	if (c->closed && c->n_streams == 0 && c->n_jobs == 0) {
		wire_reader_fini(&c->rd);
		free(c);
	}
}

static void on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	c->closed = true;
	srv__conn_maybe_free(c);
}

/* c no longer owes its hello (it said it, or it is closing). */
static void prehello_done(struct conn *c)
{
	if (c->prehello) {
		c->prehello = false;
		assert(c->sv->n_prehello > 0);
		c->sv->n_prehello--;
	}
}

static void conn_close(struct conn *c)
{
	struct server *sv = c->sv;

	if (c->closing)
		return;
	c->closing = true;
	prehello_done(c);
	srv_session_fini(&c->ss);
	if (c->prev)
		c->prev->next = c->next;
	else
		sv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sv->n_conns--;
	srv__streams_stop(c);
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
	int rc = SD_EAGAIN; /* no frame dispatched yet */

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
	c->last_rx = uv_now(c->sv->loop);
	if (!conn_dispatch(c)) {
		conn_close(c);
		return;
	}
	if (c->ss.hello_done)
		prehello_done(c);
	if (srv__conn_congested(c)) {
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

/* The oldest connection still owing its hello, or NULL. O(connections). */
static struct conn *oldest_prehello(struct server *sv)
{
	struct conn *oldest = NULL;

	for (struct conn *c = sv->conns; c; c = c->next)
		if (c->prehello)
			oldest = c; /* the list is newest first */
	return oldest;
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
	c->accepted_at = c->last_rx = uv_now(sv->loop);
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
	/* A client that vanishes without a reset (a VM killed, a partition)
	 * would hold an unfinished write, exempt from the idle timeout, for
	 * ever: the kernel's probes find it dead and close it. */
	uv_tcp_keepalive(&c->tcp, 1, SRV_KEEPALIVE_S);
	peer_name(c);
	if (sv->n_prehello >= SRV_PREHELLO_MAX) {
		/* Make room: the oldest silent one goes, not the newcomer. */
		conn_close(oldest_prehello(sv));
		sv->evicted++;
	}
	c->prehello = true;
	sv->n_prehello++;
	if (sv->n_conns > SRV_CONNS_MAX) {
		srv_send_error(&c->ss, 0, SD_ELIMIT, "server busy: %u connections", SRV_CONNS_MAX);
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* Why c must close now ("no hello within", "idle for"), or NULL; *ms: that timeout. */
static const char *conn_expired(const struct conn *c, uint64_t now, const struct srv_config *cfg,
				unsigned *ms)
{
	if (!c->ss.hello_done) {
		*ms = cfg->hello_timeout_ms;
		return now - c->accepted_at >= *ms ? "no hello within" : NULL;
	}
	if (c->n_streams || c->n_jobs)
		return NULL; /* a request in progress: its answers are the activity */
	if (c->ss.n_handles)
		return NULL; /* closing would discard a sink the client still means to commit */
	*ms = cfg->idle_timeout_ms;
	return now - c->last_rx >= *ms ? "idle for" : NULL;
}

static void on_sweep_timer(uv_timer_t *t)
{
	struct server *sv = t->data;
	const struct srv_config *cfg = &sv->srv->cfg;
	uint64_t now = uv_now(sv->loop);
	struct conn *c = sv->conns, *next;
	const char *why;
	unsigned ms;

	for (; c; c = next) {
		next = c->next;
		if ((why = conn_expired(c, now, cfg, &ms)) != NULL) {
			sd_log_warn("netfsd", "%s: %s %u ms: closing", c->ss.peer, why, ms);
			conn_close(c);
		}
	}
	if (sv->evicted) {
		sd_log_warn("netfsd",
			    "closed %llu connections that had not said hello: more than %u waiting",
			    (unsigned long long)sv->evicted, SRV_PREHELLO_MAX);
		sv->evicted = 0;
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
	uv_close((uv_handle_t *)&sv->sweep_timer, NULL);
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
	unsigned period;
	int rc, bound = 0;

	if ((rc = listen_on(&sv, host, port, &bound)) < 0)
		return rc;
	uv_timer_init(loop, &sv.tail_timer);
	sv.tail_timer.data = &sv;
	uv_timer_init(loop, &sv.sweep_timer);
	sv.sweep_timer.data = &sv;
	if (!s->cfg.hello_timeout_ms)
		s->cfg.hello_timeout_ms = SRV_HELLO_TIMEOUT_MS;
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = SRV_IDLE_TIMEOUT_MS;
	/* A quarter of the shorter timeout: a connection lives at most 25% past it. */
	period = s->cfg.hello_timeout_ms < s->cfg.idle_timeout_ms ? s->cfg.hello_timeout_ms
								  : s->cfg.idle_timeout_ms;
	period = period / 4 + 1;
	uv_timer_start(&sv.sweep_timer, on_sweep_timer, period, period);
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
