/*
 * coordinator/control.c — the control listener: node connections over
 * proto/wire.h framing on libuv streams.
 *
 * Each connection reassembles frames with a wire_reader. Until it has
 * registered, a connection is "pending": its frames are bounded by
 * COORD_PENDING_FRAME_MAX, it must register within the register
 * deadline (coord__ctl_sweep_pending, from the daemon's sweep timer), and at
 * most COORD_CONTROL_PENDING_MAX may exist (a new one closes the oldest), so
 * clients that never register cost at most that many small buffers and cannot
 * crowd out real nodes. A registered connection's frames are bounded by
 * WIRE_CONTROL_FRAME_MAX. The first frame must be CTL_REGISTER; a refused
 * registration is answered with RegisterAck{accepted=false, reason} and the
 * connection closes once the ack is written. Afterwards: Heartbeat (answered
 * with HeartbeatAck echoing sent_at_us, so the node can measure RTT and
 * report it in its next heartbeat), TaskStatus, DeployAck, Goodbye.
 * Anything else, or a framing error, closes the connection with a Goodbye
 * that says why. A closed connection makes its node GONE and fails its tasks.
 */
#include "coordinator/server_priv.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

#define DROP_LOG_US 10000000u /* us: one log line at most this often about dropped clients */

struct ctl_write {
	uv_write_t req;
	uint8_t data[]; /* the encoded frame */
};

static bool is_pending(const struct ctl_conn *c)
{
	return c->pending.next != NULL && c->pending.next != &c->pending;
}

static void pending_remove(struct ctl_conn *c)
{
	if (!is_pending(c))
		return;
	coord__list_remove(&c->srv->ctl_pending, &c->pending);
	c->srv->ctl_pending_n--;
}

/* An unregistered client was turned away. Floods make many: one line per
 * DROP_LOG_US, counting the rest. */
static void note_dropped(struct coord_server *s, const char *why)
{
	uint64_t now = coord__mono_us();
	s->ctl_dropped++;
	if (s->ctl_dropped_log_us && now - s->ctl_dropped_log_us < DROP_LOG_US)
		return;
	sd_log_warn("coord",
		    "closed %llu unregistered control connection(s) since the last such line, "
		    "the latest: %s",
		    (unsigned long long)s->ctl_dropped, why);
	s->ctl_dropped = 0;
	s->ctl_dropped_log_us = now;
}

static void ctl_closed(uv_handle_t *h)
{
	struct ctl_conn *c = h->data;
	wire_reader_fini(&c->reader);
	free(c);
}

void coord__ctl_close(struct ctl_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct coord_server *s = c->srv;
	if (c->node && c->node->conn == c) {
		uint64_t now = coord__now_us();
		sd_log_info("coord", "node %s (id %llu) disconnected", c->node->name,
			    (unsigned long long)c->node->id);
		coord_registry_disconnect(&s->registry, c->node, now);
		coord_jobs_node_lost(&s->jobs, c->node, now);
	}
	pending_remove(c);
	coord__list_remove(&s->ctl_conns, &c->link);
	s->ctl_open--;
	uv_close((uv_handle_t *)&c->tcp, ctl_closed);
}

static void ctl_write_done(uv_write_t *req, int status)
{
	struct ctl_conn *c = req->handle->data;
	free(req);
	if (status < 0)
		coord__ctl_close(c);
}

static void ctl_shutdown_done(uv_shutdown_t *req, int status)
{
	struct ctl_conn *c = req->handle->data;
	free(req);
	coord__ctl_close(c);
}

/* Closes once everything queued has been written. */
static void ctl_close_after_writes(struct ctl_conn *c)
{
	if (c->closing || c->shutting_down)
		return;
	uv_shutdown_t *req = malloc(sizeof(*req));
	if (!req || uv_shutdown(req, (uv_stream_t *)&c->tcp, ctl_shutdown_done) != 0) {
		free(req);
		coord__ctl_close(c);
		return;
	}
	c->shutting_down = true;
}

int coord__ctl_send(struct ctl_conn *c, uint16_t type, const ProtobufCMessage *msg)
{
	if (c->closing || c->shutting_down)
		return SD_ECLOSED;
	size_t size = wire_frame_size(msg, 0);
	if (size > WIRE_CONTROL_FRAME_MAX)
		return SD_ETOOBIG;
	struct ctl_write *w = malloc(sizeof(*w) + size);
	if (!w)
		return SD_ENOMEM;
	long n = wire_encode(type, msg, NULL, 0, w->data, size);
	if (n < 0) {
		free(w);
		return (int)n;
	}
	uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)n);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, ctl_write_done);
	if (rc) {
		free(w);
		return SD_ECLOSED;
	}
	return 0;
}

static void say_goodbye(struct ctl_conn *c, int code, const char *reason)
{
	Sd__Control__Goodbye g = SD__CONTROL__GOODBYE__INIT;
	g.error_code = code;
	g.reason = (char *)reason;
	if (c->node)
		sd_log_warn("coord", "control connection of node %s closed: %s", c->node->name,
			    reason);
	else
		note_dropped(c->srv, reason);
	(void)coord__ctl_send(c, WIRE_CTL_GOODBYE, &g.base);
	ctl_close_after_writes(c);
}

static void on_register(struct ctl_conn *c, const Sd__Control__Register *msg)
{
	struct coord_server *s = c->srv;
	char reason[COORD_REASON_MAX];
	struct coord_node *n = NULL;
	int rc = coord_registry_register(&s->registry, msg, coord__now_us(), c, &n, reason,
					 sizeof(reason));
	Sd__Control__RegisterAck ack = SD__CONTROL__REGISTER_ACK__INIT;
	ack.accepted = rc == 0;
	ack.heartbeat_interval_ms = s->registry.heartbeat_interval_ms;
	if (rc) {
		ack.reason = reason[0] ? reason : (char *)sd_strerror(rc);
		sd_log_warn("coord", "registration of \"%.64s\" refused: %s",
			    msg->name ? msg->name : "", ack.reason);
		(void)coord__ctl_send(c, WIRE_CTL_REGISTER_ACK, &ack.base);
		ctl_close_after_writes(c);
		return;
	}
	c->node = n;
	/* A node: no register deadline, and its frames may be as large as plans. */
	pending_remove(c);
	c->reader.max_frame = WIRE_CONTROL_FRAME_MAX;
	ack.node_id = n->id;
	/* Reconciliation: the node drops every task of a (job, attempt) not listed. */
	Sd__Control__JobRef refs[COORD_LIVE_JOBS_MAX], *refp[COORD_LIVE_JOBS_MAX];
	size_t nl = coord_jobs_live_on(&s->jobs, n, refs, COORD_LIVE_JOBS_MAX);
	for (size_t i = 0; i < nl && i < COORD_LIVE_JOBS_MAX; i++)
		refp[i] = &refs[i];
	ack.n_live_jobs = nl < COORD_LIVE_JOBS_MAX ? nl : COORD_LIVE_JOBS_MAX;
	ack.live_jobs = refp;
	sd_log_info("coord", "node %s (id %llu, region %s) registered", n->name,
		    (unsigned long long)n->id, n->region);
	if (coord__ctl_send(c, WIRE_CTL_REGISTER_ACK, &ack.base))
		coord__ctl_close(c);
}

/* A task the coordinator no longer runs (unknown job, ended job, older
 * attempt): tell its node to drop it, so it cannot hold ids or slots. */
static void drop_if_stale(struct ctl_conn *c, const Sd__Control__TaskStatus *st, int rc)
{
	if (rc != SD_ENOENT && rc != SD_ESTATE)
		return;
	Sd__Control__JobDone d = SD__CONTROL__JOB_DONE__INIT;
	d.job_id = st->job_id;
	d.attempt = st->attempt;
	(void)coord__ctl_send(c, WIRE_CTL_JOB_DONE, &d.base);
}

static void on_heartbeat(struct ctl_conn *c, const Sd__Control__Heartbeat *hb)
{
	struct coord_server *s = c->srv;
	uint64_t now = coord__now_us();
	coord_registry_heartbeat(&s->registry, c->node, hb, now);
	for (size_t i = 0; i < hb->n_tasks; i++)
		drop_if_stale(c, hb->tasks[i],
			      coord_jobs_task_status(&s->jobs, c->node, hb->tasks[i], now));
	Sd__Control__HeartbeatAck ack = SD__CONTROL__HEARTBEAT_ACK__INIT;
	ack.seq = hb->seq;
	ack.echo_sent_at_us = hb->sent_at_us;
	if (coord__ctl_send(c, WIRE_CTL_HEARTBEAT_ACK, &ack.base))
		coord__ctl_close(c);
}

static void on_deploy_ack(struct ctl_conn *c, const Sd__Control__DeployAck *ack)
{
	if (ack->error_code >= 0)
		return;
	struct coord_server *s = c->srv;
	struct coord_job *job = coord_jobs_find(&s->jobs, ack->job_id);
	if (!job || coord_job_state_terminal(job->state))
		return;
	char msg[1024];
	snprintf(msg, sizeof(msg), "task %u: node %s refused the deployment: %s", ack->task_id,
		 c->node->name,
		 ack->error_message && ack->error_message[0] ? ack->error_message
							     : sd_strerror(ack->error_code));
	coord_job_failure(&s->jobs, job, ack->error_code, msg, ack->task_id, c->node->name,
			  coord__now_us());
}

/* Returns false when the connection must close. */
static bool handle_frame(struct ctl_conn *c, const struct wire_frame *f)
{
	uint16_t type = f->hdr.type;
	if (!c->node) {
		if (type != WIRE_CTL_REGISTER) {
			say_goodbye(c, SD_EPROTO, "the first message must be Register");
			return false;
		}
		on_register(c, (const Sd__Control__Register *)f->msg);
		return c->node != NULL;
	}
	switch (type) {
	case WIRE_CTL_HEARTBEAT:
		on_heartbeat(c, (const Sd__Control__Heartbeat *)f->msg);
		return true;
	case WIRE_CTL_TASK_STATUS: {
		const Sd__Control__TaskStatus *st = (const Sd__Control__TaskStatus *)f->msg;
		drop_if_stale(c, st,
			      coord_jobs_task_status(&c->srv->jobs, c->node, st, coord__now_us()));
		return true;
	}
	case WIRE_CTL_CHECKPOINT_ACK:
		(void)coord_jobs_checkpoint_ack(&c->srv->jobs, c->node,
						(const Sd__Control__CheckpointAck *)f->msg,
						coord__now_us());
		return true;
	case WIRE_CTL_DEPLOY_ACK:
		on_deploy_ack(c, (const Sd__Control__DeployAck *)f->msg);
		return true;
	case WIRE_CTL_GOODBYE:
		coord__ctl_close(c);
		return false;
	default: {
		char why[96];
		snprintf(why, sizeof(why), "unexpected message %s on the control stream",
			 wire_type_name(type));
		say_goodbye(c, SD_EPROTO, why);
		return false;
	}
	}
}

static void ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_conn *c = h->data;
	uint8_t *p = NULL;
	size_t n = 0;
	if (wire_reader_space(&c->reader, &p, &n) != 0)
		n = 0; /* libuv reports UV_ENOBUFS to ctl_read */
	*buf = uv_buf_init((char *)p, (unsigned)(n > 65536 ? 65536 : n));
}

static void ctl_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *c = stream->data;
	if (nread < 0) {
		coord__ctl_close(c);
		return;
	}
	if (c->closing || c->shutting_down)
		return;
	wire_reader_commit(&c->reader, (size_t)nread);
	struct wire_frame f;
	int rc;
	while ((rc = wire_reader_next(&c->reader, NULL, &f)) == 0) {
		bool keep = handle_frame(c, &f);
		wire_frame_release(&f, NULL);
		if (!keep)
			return;
	}
	if (rc != SD_EAGAIN) {
		char why[128];
		snprintf(why, sizeof(why), "bad frame: %s", sd_strerror(rc));
		say_goodbye(c, rc, why);
	}
}

void coord__ctl_accept(uv_stream_t *listener, int status)
{
	struct coord_server *s = listener->data;
	if (status < 0)
		return;
	struct ctl_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	if (uv_tcp_init(s->loop, &c->tcp) != 0) {
		free(c);
		return;
	}
	c->tcp.data = c;
	coord__list_add(&s->ctl_conns, &c->link);
	s->ctl_open++;
	c->accepted_us = coord__mono_us();
	coord__list_add(&s->ctl_pending, &c->pending);
	s->ctl_pending_n++;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
	    wire_reader_init(&c->reader, COORD_PENDING_FRAME_MAX) != 0) {
		coord__ctl_close(c);
		return;
	}
	if (s->ctl_pending_n > COORD_CONTROL_PENDING_MAX) {
		/* The oldest goes, not the newest: a flood cannot keep a node out. */
		struct ctl_conn *old = (struct ctl_conn *)((char *)s->ctl_pending.prev -
							   offsetof(struct ctl_conn, pending));
		assert(old != c);
		note_dropped(s, "too many connections waiting to register");
		coord__ctl_close(old);
	}
	if (s->ctl_open > COORD_CONTROL_CONNS_MAX) { /* every node slot taken too */
		coord__ctl_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	/* A node that vanishes without a reset (a VM killed) is LOST by the
	 * heartbeat timeout; keepalive also lets the kernel drop its socket. */
	uv_tcp_keepalive(&c->tcp, 1, COORD_CONTROL_KEEPALIVE_S);
	if (uv_read_start((uv_stream_t *)&c->tcp, ctl_alloc, ctl_read) != 0)
		coord__ctl_close(c);
}

void coord__ctl_sweep_pending(struct coord_server *s, uint64_t now_mono_us)
{
	/* Newest first, so the expired ones are at the tail. */
	while (s->ctl_pending.prev != &s->ctl_pending) {
		struct ctl_conn *c = (struct ctl_conn *)((char *)s->ctl_pending.prev -
							 offsetof(struct ctl_conn, pending));
		if (now_mono_us - c->accepted_us <= s->register_timeout_us)
			break;
		note_dropped(s, "no Register within the deadline");
		coord__ctl_close(c);
	}
}

int coord__ctl_send_to_node(void *arg, struct coord_node *node, uint16_t type,
			    const ProtobufCMessage *msg)
{
	(void)arg;
	if (!node->conn)
		return SD_ECLOSED;
	return coord__ctl_send(node->conn, type, msg);
}
