/*
 * node/core/control.c — the control client: one connection to the
 * coordinator, driven from the loop (socket callbacks and timers).
 *
 *   connect -> CTL_REGISTER -> CTL_REGISTER_ACK
 *     refused: log the reason; exit (stardust-node) or stay down (tests)
 *     accepted: heartbeat every interval (metrics + every task's status),
 *               CTL_TASK_STATUS on every task state change,
 *               CTL_DEPLOY -> CTL_DEPLOY_ACK, CTL_CANCEL, CTL_JOB_DONE
 *   connection lost: reconnect with exponential backoff and jitter, register
 *   again and resend every task's status.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "node/core/node_priv.h"

#define CTL_BACKOFF_MIN_US       (100u * 1000)  /* first reconnect delay */
#define CTL_BACKOFF_MAX_US       (5u * 1000000) /* reconnect delay cap */
#define CTL_HEARTBEAT_DEFAULT_MS 1000u          /* when the ack names none */
#define CTL_VERSION              "0.1.0"

enum ctl_state { CTL_DOWN, CTL_CONNECTING, CTL_UP, CTL_REFUSED };

struct node_ctl {
	struct node *node;
	char host[PLAT_ADDR_MAX];
	uint16_t port;
	enum ctl_state state;
	struct plat_sock *sock;
	struct wire_reader rd;
	uint8_t *out;
	size_t out_start, out_end, out_cap;
	uint64_t node_id;
	uint32_t heartbeat_ms;
	uint64_t seq;
	uint64_t rtt_us;
	uint64_t backoff_us;
	struct sched_timer timer; /* heartbeat when up, reconnect when down */
	int refused;
	char refused_reason[NODE_REASON_MAX];
};

static void ctl_connect(void *arg);
static void ctl_event(struct plat_sock *sock, unsigned events, void *arg);

static void ctl_flush(struct node_ctl *c)
{
	while (c->sock && c->out_start < c->out_end) {
		long n = plat_tcp_send(c->sock, c->out + c->out_start, c->out_end - c->out_start);

		if (n == SD_EAGAIN)
			return;
		if (n < 0)
			return; /* the read side reports the failure */
		c->out_start += (size_t)n;
	}
	c->out_start = c->out_end = 0;
}

static int ctl_send(struct node_ctl *c, uint16_t type, const ProtobufCMessage *msg)
{
	size_t need = wire_frame_size(msg, 0);
	long n;

	if (c->out_cap - c->out_end < need) {
		size_t cap = c->out_end + need + 4096;
		uint8_t *p = plat_realloc(c->out, cap);

		if (!p)
			return SD_ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	n = wire_encode(type, msg, NULL, 0, c->out + c->out_end, c->out_cap - c->out_end);
	if (n < 0)
		return (int)n;
	c->out_end += (size_t)n;
	ctl_flush(c);
	return 0;
}

static void ctl_disconnect(struct node_ctl *c, const char *why)
{
	uint64_t jitter;

	if (c->state == CTL_UP || c->state == CTL_CONNECTING)
		sd_log_warn("node", "%s: coordinator %s:%u: %s; reconnecting", c->node->name,
			    c->host, c->port, why);
	plat_tcp_close(c->sock);
	c->sock = NULL;
	wire_reader_fini(&c->rd);
	c->out_start = c->out_end = 0;
	sched_timer_stop(&c->timer);
	if (c->state == CTL_REFUSED)
		return;
	c->state = CTL_DOWN;
	plat_random(&jitter, sizeof(jitter));
	c->backoff_us = c->backoff_us ? c->backoff_us * 2 : CTL_BACKOFF_MIN_US;
	if (c->backoff_us > CTL_BACKOFF_MAX_US)
		c->backoff_us = CTL_BACKOFF_MAX_US;
	sched_timer_start(&c->timer,
			  plat_now_us() + c->backoff_us + jitter % (c->backoff_us / 2 + 1),
			  ctl_connect, c);
}

void node__task_status_fill(const struct node_task *t, Sd__Control__TaskStatus *st,
			    Sd__Control__TaskCounters *cn)
{
	sd__control__task_status__init(st);
	sd__control__task_counters__init(cn);
	st->job_id = (char *)t->job_id;
	st->task_id = t->task_id;
	st->state = t->state;
	st->error_code = t->state == SD__CONTROL__TASK_STATE__TASK_FAILED ? t->error : 0;
	st->error_message =
		(char *)(t->state == SD__CONTROL__TASK_STATE__TASK_FAILED ||
					 t->state == SD__CONTROL__TASK_STATE__TASK_CANCELED
				 ? t->reason
				 : "");
	st->at_us = t->state_at_us;
	st->attempt = t->attempt;
	st->sink_bytes = t->sink_append ? t->sink_bytes : 0; /* temporary parts: unreported */
	cn->records_in = t->records_in;
	cn->records_out = t->records_out;
	cn->bytes_in = t->bytes_in;
	cn->bytes_out = t->bytes_out;
	for (unsigned i = 0; i < t->n_outs; i++) {
		struct chan_counters cc;

		chan_out_counters(t->outs[i].ch, &cc);
		cn->backpressure_us += cc.backpressure_us;
	}
	cn->watermark_us = t->watermark_us;
	st->counters = cn;
}

void node__ctl_task_changed(struct node *n, struct node_task *t)
{
	Sd__Control__TaskStatus st;
	Sd__Control__TaskCounters cn;

	if (!n->ctl || n->ctl->state != CTL_UP)
		return;
	node__task_status_fill(t, &st, &cn);
	if (ctl_send(n->ctl, WIRE_CTL_TASK_STATUS, &st.base) < 0)
		sd_log_warn("node", "%s: task status not sent", n->name);
}

void node__ctl_checkpoint_ack(struct node *n, const Sd__Control__CheckpointAck *a)
{
	if (!n->ctl || n->ctl->state != CTL_UP)
		return; /* the coordinator times the checkpoint out and restarts */
	if (ctl_send(n->ctl, WIRE_CTL_CHECKPOINT_ACK, &a->base) < 0)
		sd_log_warn("node", "%s: checkpoint ack not sent", n->name);
}

static void ctl_heartbeat(void *arg)
{
	struct node_ctl *c = arg;
	struct node *n = c->node;
	Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
	Sd__Control__NodeMetrics m = SD__CONTROL__NODE_METRICS__INIT;
	Sd__Control__TaskStatus st[64], *stp[64];
	Sd__Control__TaskCounters cn[64];
	struct chan_mux_stats ms;
	struct sched_stats ss;
	size_t k = 0;

	chan_mux_get_stats(n->mux, &ms);
	sched_get_stats(&ss);
	m.mem_used_bytes = plat_mem_used();
	m.mem_limit_bytes = n->memory_bytes;
	m.tasks_running = node_tasks_running(n);
	m.cpu_busy_us = ss.busy_us;
	m.uptime_us = plat_now_us() - n->started_us;
	m.net_bytes_in = ms.bytes_in;
	m.net_bytes_out = ms.bytes_out;
	for (struct node_task *t = n->tasks; t && k < 64; t = t->next, k++) {
		node__task_status_fill(t, &st[k], &cn[k]);
		stp[k] = &st[k];
	}
	hb.node_id = c->node_id;
	hb.seq = ++c->seq;
	hb.sent_at_us = plat_now_us();
	hb.metrics = &m;
	hb.n_tasks = k;
	hb.tasks = stp;
	hb.rtt_us = c->rtt_us;
	if (ctl_send(c, WIRE_CTL_HEARTBEAT, &hb.base) < 0)
		sd_log_warn("node", "%s: heartbeat not sent", n->name);
	sched_timer_start(&c->timer, plat_now_us() + (uint64_t)c->heartbeat_ms * 1000,
			  ctl_heartbeat, c);
}

static int ctl_register(struct node_ctl *c)
{
	struct node *n = c->node;
	Sd__Control__Register r = SD__CONTROL__REGISTER__INIT;
	Sd__Control__Label labels[NODE_LABELS_MAX], *lp[NODE_LABELS_MAX];

	for (unsigned i = 0; i < n->n_labels; i++) {
		sd__control__label__init(&labels[i]);
		labels[i].key = (char *)n->labels[i].key;
		labels[i].value = (char *)n->labels[i].value;
		lp[i] = &labels[i];
	}
	r.protocol_version = WIRE_VERSION;
	r.name = n->name;
	r.region = n->region;
	r.zone = n->zone;
	r.n_labels = n->n_labels;
	r.labels = lp;
	r.slots = n->slots;
	r.memory_bytes = n->memory_bytes;
	r.data_host = n->advertise_host;
	r.data_port = node_data_port(n);
	r.token = n->token;
	r.platform = (char *)plat_name();
	r.version = CTL_VERSION;
	return ctl_send(c, WIRE_CTL_REGISTER, &r.base);
}

static void ctl_on_ack(struct node_ctl *c, const Sd__Control__RegisterAck *a)
{
	struct node *n = c->node;

	if (!a->accepted) {
		c->state = CTL_REFUSED;
		c->refused = SD_EPERM;
		snprintf(c->refused_reason, sizeof(c->refused_reason), "%s",
			 *a->reason ? a->reason : "no reason given");
		sd_log_error("node", "%s: the coordinator at %s:%u refused registration: %s",
			     n->name, c->host, c->port, c->refused_reason);
		if (n->exit_on_refusal)
			plat_exit(2);
		return;
	}
	c->state = CTL_UP;
	c->backoff_us = 0;
	c->node_id = a->node_id;
	c->heartbeat_ms =
		a->heartbeat_interval_ms ? a->heartbeat_interval_ms : CTL_HEARTBEAT_DEFAULT_MS;
	sd_log_info("node", "%s: registered with %s:%u as node %llu", n->name, c->host, c->port,
		    (unsigned long long)c->node_id);
	node_reconcile(n, a->live_jobs, a->n_live_jobs);
	for (struct node_task *t = n->tasks; t; t = t->next)
		node__ctl_task_changed(n, t);
	ctl_heartbeat(c);
}

static void ctl_on_deploy(struct node_ctl *c, const Sd__Control__Deploy *d)
{
	Sd__Control__DeployAck ack = SD__CONTROL__DEPLOY_ACK__INIT;
	char why[NODE_REASON_MAX] = "";
	int rc = node_deploy(c->node, d, why, sizeof(why));

	ack.job_id = d->job_id;
	ack.task_id = d->task_id;
	ack.error_code = rc;
	ack.error_message = why;
	if (rc < 0)
		sd_log_warn("node", "%s: deploy %s/%u refused: %s", c->node->name, d->job_id,
			    d->task_id, why);
	ctl_send(c, WIRE_CTL_DEPLOY_ACK, &ack.base);
}

/* One frame from the coordinator; < 0 closes the connection. */
static int ctl_dispatch(struct node_ctl *c, const struct wire_frame *f)
{
	if (f->hdr.type == WIRE_CTL_REGISTER_ACK) {
		if (c->state != CTL_CONNECTING)
			return SD_EPROTO;
		ctl_on_ack(c, (const Sd__Control__RegisterAck *)f->msg);
		return 0;
	}
	if (c->state != CTL_UP)
		return SD_EPROTO;
	switch (f->hdr.type) {
	case WIRE_CTL_HEARTBEAT_ACK: {
		const Sd__Control__HeartbeatAck *a = (const Sd__Control__HeartbeatAck *)f->msg;

		if (a->echo_sent_at_us && a->echo_sent_at_us <= plat_now_us())
			c->rtt_us = plat_now_us() - a->echo_sent_at_us;
		return 0;
	}
	case WIRE_CTL_DEPLOY:
		ctl_on_deploy(c, (const Sd__Control__Deploy *)f->msg);
		return 0;
	case WIRE_CTL_CANCEL: {
		const Sd__Control__Cancel *m = (const Sd__Control__Cancel *)f->msg;

		node_cancel_attempts(c->node, m->job_id, m->attempt, m->reason);
		return 0;
	}
	case WIRE_CTL_JOB_DONE: {
		const Sd__Control__JobDone *m = (const Sd__Control__JobDone *)f->msg;

		node_drop_attempts(c->node, m->job_id, m->attempt);
		return 0;
	}
	case WIRE_CTL_CHECKPOINT: {
		const Sd__Control__Checkpoint *m = (const Sd__Control__Checkpoint *)f->msg;

		node_checkpoint(c->node, m->job_id, m->attempt, m->checkpoint_id);
		return 0;
	}
	case WIRE_CTL_GOODBYE:
		return SD_ECLOSED;
	default:
		return SD_EPROTO;
	}
}

static void ctl_read(struct node_ctl *c)
{
	for (;;) {
		struct wire_frame f;
		uint8_t *where;
		size_t avail;
		long n;
		int rc = wire_reader_space(&c->rd, &where, &avail);

		if (rc == 0) {
			n = plat_tcp_recv(c->sock, where, avail);
			if (n == SD_EAGAIN)
				return;
			rc = n < 0 ? (int)n : 0;
			if (rc == 0)
				wire_reader_commit(&c->rd, (size_t)n);
		}
		while (rc == 0 && (rc = wire_reader_next(&c->rd, NULL, &f)) == 0) {
			rc = ctl_dispatch(c, &f);
			wire_frame_release(&f, NULL);
			if (c->state == CTL_REFUSED) {
				ctl_disconnect(c, "refused");
				return;
			}
		}
		if (rc != SD_EAGAIN) {
			ctl_disconnect(c, sd_strerror(rc));
			return;
		}
	}
}

static void ctl_event(struct plat_sock *sock, unsigned events, void *arg)
{
	struct node_ctl *c = arg;

	(void)sock;
	if (events & PLAT_EV_WRITE)
		ctl_flush(c);
	if (events & (PLAT_EV_READ | PLAT_EV_ERROR))
		ctl_read(c);
}

static void ctl_connect(void *arg)
{
	struct node_ctl *c = arg;
	int rc;

	if (c->state == CTL_REFUSED)
		return;
	rc = wire_reader_init(&c->rd, WIRE_CONTROL_FRAME_MAX);
	if (rc == 0)
		rc = plat_tcp_connect(c->host, c->port, ctl_event, c, &c->sock);
	if (rc == 0) {
		c->state = CTL_CONNECTING;
		rc = ctl_register(c);
	}
	if (rc < 0)
		ctl_disconnect(c, sd_strerror(rc));
}

int node__ctl_start(struct node *n, const char *host, uint16_t port)
{
	struct node_ctl *c = plat_calloc(1, sizeof(*c));

	if (!c)
		return SD_ENOMEM;
	if (strlen(host) >= sizeof(c->host)) {
		plat_free(c);
		return SD_EINVAL;
	}
	c->node = n;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	n->ctl = c;
	sched_timer_start(&c->timer, 0, ctl_connect, c);
	return 0;
}

void node__ctl_stop(struct node *n)
{
	struct node_ctl *c = n->ctl;

	if (!c)
		return;
	c->state = CTL_REFUSED; /* no reconnect */
	ctl_disconnect(c, "node shutting down");
	plat_free(c->out);
	plat_free(c);
	n->ctl = NULL;
}

bool node_registered(const struct node *n)
{
	return n->ctl && n->ctl->state == CTL_UP;
}

int node_refused(const struct node *n, const char **reason)
{
	if (!n->ctl)
		return 0;
	if (reason)
		*reason = n->ctl->refused_reason;
	return n->ctl->refused;
}
