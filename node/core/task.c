/*
 * node/core/task.c — one deployed task as a coroutine: open the operator
 * chain, feed it from splits (through the file seam) or from its input
 * channels, route what it emits to output channels, end the streams, report.
 *
 * Yield points: every blocking channel call (credits, buffer space), every
 * wait for input, every read of a followed file at its end, and
 * sched_maybe_yield() after each batch or chunk so no task starves the rest.
 * Cancel: sets t->cancel and wakes the task; every wait re-checks it.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "node/core/node_priv.h"

static void task_failf(struct node_task *t, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first failure of a task; later ones keep the first reason. */
static void task_failf(struct node_task *t, int err, const char *fmt, ...)
{
	va_list ap;

	if (t->error)
		return;
	t->error = err;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
}

void node__task_set_state(struct node_task *t, Sd__Control__TaskState s, int err,
			  const char *reason)
{
	t->state = s;
	t->state_at_us = plat_now_us();
	if (err && !t->error) {
		t->error = err;
		snprintf(t->reason, sizeof(t->reason), "%s", reason ? reason : sd_strerror(err));
	}
	node__ctl_task_changed(t->node, t);
}

/* ---- output: emit callbacks ------------------------------------------------ */

static int route_send(struct node_task *t, struct node_out *o, unsigned part, const uint8_t *b,
		      size_t len, uint32_t records)
{
	int rc = chan_out_send(o->ch, b, len, records, part);

	if (rc < 0 && rc != SD_ECANCELED) {
		const char *why;

		chan_out_error(o->ch, &why);
		task_failf(t, rc, "output %u: %s", o->port, *why ? why : sd_strerror(rc));
	}
	return rc;
}

static int task_emit(void *arg, unsigned out, unsigned part, const uint8_t *batch, size_t len)
{
	struct node_task *t = arg;
	uint32_t records = t->node->ops->batch_records(batch, len);
	struct node_out *only = NULL;
	unsigned i, matches = 0;
	int rc;

	for (i = 0; i < t->n_outs; i++) {
		struct node_out *o = &t->outs[i];

		if (o->port != out)
			continue;
		matches++;
		only = o;
		if (o->broadcast) {
			rc = route_send(t, o, o->consumer_part, batch, len, records);
			if (rc < 0)
				return rc;
		}
	}
	if (!matches) {
		task_failf(t, SD_EPLAN, "emit on output %u: the task has no channel there", out);
		return SD_EPLAN;
	}
	if (!only->broadcast) {
		if (matches > 1) {
			for (i = 0; i < t->n_outs; i++)
				if (t->outs[i].port == out && t->outs[i].consumer_part == part)
					break;
			if (i == t->n_outs) {
				task_failf(t, SD_EPLAN,
					   "emit to partition %u of output %u: no channel", part,
					   out);
				return SD_EPLAN;
			}
			only = &t->outs[i];
		}
		rc = route_send(t, only, part, batch, len, records);
		if (rc < 0)
			return rc;
	}
	t->records_out += records;
	t->bytes_out += len;
	return 0;
}

static int task_emit_watermark(void *arg, unsigned out, int64_t event_time_us)
{
	struct node_task *t = arg;
	unsigned i;
	int rc;

	for (i = 0; i < t->n_outs; i++) {
		if (t->outs[i].port != out)
			continue;
		rc = chan_out_watermark(t->outs[i].ch, event_time_us);
		if (rc < 0) {
			task_failf(t, rc, "watermark on output %u: %s", out, sd_strerror(rc));
			return rc;
		}
	}
	if (event_time_us > t->watermark_us)
		t->watermark_us = event_time_us;
	return 0;
}

/* ---- sinks ------------------------------------------------------------------ */

/* Task context: the part file exists from the start, even if nothing is written. */
static int sink_open(struct node_task *t)
{
	const struct node_fs_ops *fs = t->node->fs;
	int rc;

	if (!t->sink_path[0] || t->sink_eo)
		return 0; /* exactly-once: a staged file per epoch, made on first output */
	if (t->sink_append && (!fs->open_append || !fs->append || !fs->close_append)) {
		task_failf(t, SD_ENOTSUP, "sink %s: this node's file seam cannot append",
			   t->sink_path);
		return SD_ENOTSUP;
	}
	if (t->sink_append)
		rc = fs->open_append(fs->ctx, t->sink_server, t->netfs_token, t->sink_path,
				     &t->sink_h);
	else
		rc = fs->create(fs->ctx, t->sink_server, t->netfs_token, t->sink_path, &t->sink_h);
	if (rc < 0)
		task_failf(t, rc, "sink %s on %s: %s: %s", t->sink_path, t->sink_server,
			   t->sink_append ? "open for append" : "create", sd_strerror(rc));
	return rc;
}

/*
 * Streaming sinks: appends the buffered whole lines, each append at most
 * NODE_SINK_APPEND_MAX bytes and ending with a newline, so a reader never
 * sees half a line. end: the unterminated tail too. 1 appended, 0 nothing.
 */
static int sink_flush(struct node_task *t, bool end)
{
	size_t done = 0;
	int rc = 0;

	assert(t->sink_append && t->sink_h);
	while (done < t->sink_len) {
		const char *p = t->sink_buf + done;
		size_t n = t->sink_len - done, k;

		if (n > NODE_SINK_APPEND_MAX)
			n = NODE_SINK_APPEND_MAX;
		for (k = n; k > 0 && p[k - 1] != '\n'; k--)
			;
		if (k == 0 && end && done + n == t->sink_len)
			k = n;
		if (k == 0 && n == NODE_SINK_APPEND_MAX) {
			task_failf(t, SD_ELIMIT, "sink %s: a line longer than %u bytes",
				   t->sink_path, NODE_SINK_APPEND_MAX);
			return SD_ELIMIT;
		}
		if (k == 0)
			break; /* a partial line waits for its end */
		rc = t->node->fs->append(t->sink_h, p, k);
		if (rc < 0) {
			task_failf(t, rc, "sink %s on %s: append: %s", t->sink_path, t->sink_server,
				   sd_strerror(rc));
			return rc;
		}
		done += k;
		t->sink_bytes += k;
	}
	memmove(t->sink_buf, t->sink_buf + done, t->sink_len - done);
	t->sink_len -= done;
	t->sink_since_us = plat_now_us();
	return done > 0;
}

/* The task ran out of input: make what it produced visible. 1, 0 or < 0. */
static int sink_idle(struct node_task *t)
{
	return t->sink_append && t->sink_h && t->sink_len ? sink_flush(t, false) : 0;
}

/* A busy task: append what waited NODE_SINK_FLUSH_US or more. 0 or < 0. */
static int sink_poll(struct node_task *t)
{
	int rc = 0;

	if (t->sink_append && t->sink_h && t->sink_len &&
	    plat_now_us() - t->sink_since_us >= NODE_SINK_FLUSH_US)
		rc = sink_flush(t, false);
	return rc < 0 ? rc : 0;
}

static int sink_buffer(struct node_task *t, const char *text, size_t len)
{
	int rc;

	if (t->sink_len + len > t->sink_cap) {
		size_t cap = t->sink_cap ? t->sink_cap * 2 : 4096;
		char *p;

		while (cap < t->sink_len + len)
			cap *= 2;
		p = plat_realloc(t->sink_buf, cap);
		if (!p) {
			task_failf(t, SD_ENOMEM, "sink %s: no memory to buffer output",
				   t->sink_path);
			return SD_ENOMEM;
		}
		t->sink_buf = p;
		t->sink_cap = cap;
	}
	if (!t->sink_len)
		t->sink_since_us = plat_now_us();
	memcpy(t->sink_buf + t->sink_len, text, len);
	t->sink_len += len;
	if (t->sink_eo)
		return t->sink_len < NODE_SINK_APPEND_MAX ? 0 : node__sink_flush_eo(t);
	if (t->sink_len < NODE_SINK_APPEND_MAX)
		return sink_poll(t);
	rc = sink_flush(t, false);
	return rc < 0 ? rc : 0;
}

int node__sink_flush_eo(struct node_task *t)
{
	int rc = t->sink_len ? node__sink_eo_write(t, t->sink_buf, t->sink_len) : 0;

	if (rc < 0) {
		task_failf(t, rc, "sink %s: staging output: %s", t->staged_prefix, sd_strerror(rc));
		return rc;
	}
	t->sink_len = 0;
	return 0;
}

static int task_sink(void *arg, unsigned sink, const char *text, size_t len)
{
	struct node_task *t = arg;
	const struct node_fs_ops *fs = t->node->fs;
	int rc;

	(void)sink;
	if (t->sink_eo)
		return sink_buffer(t, text, len);
	if (!t->sink_h) {
		task_failf(t, SD_EPLAN, "sink output but the deploy named no sink");
		return SD_EPLAN;
	}
	if (t->sink_append)
		return sink_buffer(t, text, len);
	rc = fs->write(t->sink_h, text, len);
	if (rc < 0)
		task_failf(t, rc, "sink %s on %s: write: %s", t->sink_path, t->sink_server,
			   sd_strerror(rc));
	return rc < 0 ? rc : 0;
}

/* The task succeeded: commit its part, or append the rest of a streaming one. */
static int sink_finish(struct node_task *t)
{
	void *h = t->sink_h;
	int rc;

	if (t->sink_eo) /* output after the last checkpoint is not published */
		return 0;
	if (t->sink_append) {
		rc = t->sink_len ? sink_flush(t, true) : 0;
		node__sink_drop(t);
		return rc < 0 ? rc : 0;
	}
	t->sink_h = NULL;
	rc = t->node->fs->commit(h);
	if (rc < 0)
		task_failf(t, rc, "sink %s on %s: commit: %s", t->sink_path, t->sink_server,
			   sd_strerror(rc));
	return rc;
}

void node__sink_drop(struct node_task *t)
{
	node__sink_eo_drop(t);
	if (t->sink_h && t->sink_append)
		t->node->fs->close_append(t->sink_h); /* what was appended stays */
	else if (t->sink_h)
		t->node->fs->discard(t->sink_h); /* nothing partial becomes visible */
	t->sink_h = NULL;
	plat_free(t->sink_buf);
	t->sink_buf = NULL;
	t->sink_len = t->sink_cap = 0;
}

/* ---- input: splits ----------------------------------------------------------- */

struct line_buf {
	uint8_t *buf;
	size_t cap, len;
};

/* Pushes every complete line in lb; keeps the partial tail. */
static int push_complete_lines(struct node_task *t, struct line_buf *lb)
{
	const uint8_t *nl = NULL;
	size_t i = lb->len, keep;
	int rc;

	while (i > 0)
		if (lb->buf[--i] == '\n') {
			nl = lb->buf + i;
			break;
		}
	if (!nl)
		return 0;
	keep = lb->len - (size_t)(nl + 1 - lb->buf);
	rc = t->node->ops->push_lines(t->body, (const char *)lb->buf, lb->len - keep);
	t->bytes_in += lb->len - keep;
	for (const uint8_t *p = lb->buf; (p = memchr(p, '\n', (size_t)(nl + 1 - p))); p++)
		t->records_in++; /* records in = lines pushed */
	memmove(lb->buf, nl + 1, keep);
	lb->len = keep;
	return rc;
}

/* At the end of a file: the unterminated last record, given its newline. */
static int push_last_line(struct node_task *t, struct line_buf *lb)
{
	if (lb->len == lb->cap) {
		uint8_t *p = plat_realloc(lb->buf, lb->cap + 1);

		if (!p)
			return SD_ENOMEM;
		lb->buf = p;
		lb->cap++;
	}
	lb->buf[lb->len++] = '\n';
	return push_complete_lines(t, lb);
}

/*
 * One split: records are never cut at split edges. A split at offset > 0
 * starts after the first newline at or after offset; every split ends with
 * the first newline at or after offset + length (length 0: end of file).
 */
static int run_split(struct node_task *t, const struct node_split *s, struct line_buf *lb)
{
	const struct node_fs_ops *fs = t->node->fs;
	/* Restored mid-split: start exactly at the next record's offset. */
	bool exact = t->src_exact;
	uint64_t start_at = exact ? t->src_off : s->offset;
	uint64_t pos = start_at, end = s->length ? s->offset + s->length : UINT64_MAX;
	bool skipping = !exact && s->offset > 0, done = false;
	void *h;
	int rc =
		fs->open_read(fs->ctx, s->server, t->netfs_token, s->path, start_at, s->follow, &h);

	t->src_off = start_at; /* what a checkpoint records until a record is pushed */

	if (rc < 0) {
		task_failf(t, rc, "split %s@%llu on %s: %s", s->path, (unsigned long long)s->offset,
			   s->server, sd_strerror(rc));
		return rc;
	}
	lb->len = 0;
	while (!done && rc == 0) {
		uint8_t *p = lb->buf + lb->len;
		long n;
		size_t i, start = 0, use;

		if (t->cancel) {
			rc = SD_ECANCELED;
			break;
		}
		if (lb->cap - lb->len < NODE_SPLIT_BUF / 4) {
			if (lb->cap >= NODE_LINE_MAX) {
				task_failf(t, SD_ELIMIT, "%s: a record longer than %u bytes",
					   s->path, NODE_LINE_MAX);
				rc = SD_ELIMIT;
				break;
			}
			p = plat_realloc(lb->buf, lb->cap * 2);
			if (!p) {
				rc = SD_ENOMEM;
				break;
			}
			lb->buf = p;
			lb->cap *= 2;
			p = lb->buf + lb->len;
		}
		n = fs->read(h, p, lb->cap - lb->len);
		if (n == SD_EAGAIN) {
			rc = sink_idle(t);
			if (rc == 0)
				rc = node__chk_source_point(t);
			if (rc < 0)
				break;
			rc = 0;
			sched_sleep_until(plat_now_us() + NODE_TAIL_POLL_US);
			continue;
		}
		if (n < 0) {
			task_failf(t, (int)n, "split %s on %s: read: %s", s->path, s->server,
				   sd_strerror((int)n));
			rc = (int)n;
			break;
		}
		if (n == 0) { /* end of file: the last record may lack its newline */
			if (!skipping && lb->len)
				rc = push_last_line(t, lb);
			break;
		}
		use = (size_t)n;
		for (i = 0; i < use; i++) {
			uint64_t at = pos + i;

			if (p[i] != '\n')
				continue;
			if (skipping && at >= s->offset) {
				skipping = false;
				start = i + 1;
			}
			if (!skipping && at >= end) {
				use = i + 1;
				done = true;
				break;
			}
		}
		pos += (uint64_t)n;
		if (skipping) /* the whole chunk precedes the split's first record */
			continue;
		memmove(p, p + start, use - start);
		lb->len += use - start;
		rc = push_complete_lines(t, lb);
		/* The next record starts where the unpushed tail does (pos is
		 * already past this chunk's n bytes, of which use were taken). */
		t->src_off = pos - (uint64_t)n + use - lb->len;
		t->src_exact = true;
		if (rc == 0)
			rc = sink_poll(t);
		if (rc == 0 && !done)
			rc = node__chk_source_point(t);
		sched_maybe_yield();
	}
	fs->close_read(h);
	return rc;
}

static int run_sources(struct node_task *t)
{
	struct line_buf lb = {.cap = NODE_SPLIT_BUF};
	int rc = 0;

	lb.buf = plat_alloc(lb.cap);
	if (!lb.buf)
		return SD_ENOMEM;
	for (unsigned i = t->src_split; i < t->n_splits && rc == 0; i++) {
		t->src_split = i;
		rc = run_split(t, &t->splits[i], &lb);
		t->src_exact = false; /* the next split starts at its own start */
	}
	plat_free(lb.buf);
	return rc ? rc : t->node->ops->end_input(t->body, 0);
}

static int run_generate(struct node_task *t)
{
	bool done = false;
	int rc = 0;

	/* A text source with no split here (fewer files than partitions) just ends. */
	if (!t->node->ops->generate || !t->node->ops->is_generate ||
	    !t->node->ops->is_generate(t->plan, t->plan_len))
		return t->node->ops->end_input(t->body, 0);
	while (!done && rc == 0) {
		if (t->cancel)
			return SD_ECANCELED;
		rc = t->node->ops->generate(t->body, NODE_GENERATE_CHUNK, &done);
		if (rc == 0 && !done)
			rc = node__chk_source_point(t); /* the position is the chain's */
		sched_maybe_yield();
	}
	return rc ? rc : t->node->ops->end_input(t->body, 0);
}

/* ---- input: channels ------------------------------------------------------- */

static bool port_ended(const struct node_task *t, unsigned port)
{
	for (unsigned i = 0; i < t->n_ins; i++)
		if (t->ins[i].port == port && !t->ins[i].ended)
			return false;
	return true;
}

/* Passes each port's watermark (the minimum over its live channels) when it rises. */
static int pass_watermarks(struct node_task *t)
{
	for (unsigned p = 0; p < t->n_in_ports; p++) {
		int64_t wm = INT64_MAX;
		bool any = false;

		for (unsigned i = 0; i < t->n_ins; i++) {
			if (t->ins[i].port != p || t->ins[i].ended)
				continue;
			any = true;
			if (chan_in_watermark(t->ins[i].ch) < wm)
				wm = chan_in_watermark(t->ins[i].ch);
		}
		if (any && wm != INT64_MIN && wm > t->port_wm[p]) {
			int rc = t->node->ops->watermark(t->body, p, wm);

			if (rc < 0)
				return rc;
			t->port_wm[p] = wm;
		}
	}
	return 0;
}

/* Takes what one channel has queued. 1 = progress, 0 = nothing, < 0 = error. */
static int drain_channel(struct node_task *t, struct node_in *in)
{
	struct chan_batch *b;
	int rc = chan_in_pop(in->ch, &b);

	if (rc == 1 && b->barrier) { /* held until every input delivered it */
		if (!in->barrier && !t->chk_first_barrier_us)
			t->chk_first_barrier_us = plat_now_us();
		in->barrier = b->barrier;
		chan_in_release(in->ch, b);
		return 1;
	}
	if (rc == 1) {
		t->records_in += b->records;
		t->bytes_in += b->len;
		rc = t->node->ops->push(t->body, in->port, b->data, b->len);
		chan_in_release(in->ch, b);
		sched_maybe_yield();
		return rc < 0 ? rc : 1;
	}
	if (rc == SD_EEOF) {
		in->ended = true;
		if (port_ended(t, in->port)) {
			rc = t->node->ops->end_input(t->body, in->port);
			return rc < 0 ? rc : 1;
		}
		return 1;
	}
	if (rc < 0) {
		const char *why;

		chan_in_error(in->ch, &why);
		task_failf(t, rc, "input %u: %s", in->port, why);
	}
	return rc;
}

/* An output that failed while we waited for input fails the task now. */
static int check_outputs(struct node_task *t)
{
	for (unsigned i = 0; i < t->n_outs; i++) {
		const char *why;
		int rc = chan_out_error(t->outs[i].ch, &why);

		if (rc < 0) {
			task_failf(t, rc, "output %u: %s", t->outs[i].port, why);
			return rc;
		}
	}
	return 0;
}

static int run_inputs(struct node_task *t)
{
	for (;;) {
		bool progress = false, open = false;
		/* Operators, watermarks and sinks may block on other queues below
		 * (credits, netfs); input that comes meanwhile must not be slept on. */
		uint32_t seen = t->notify.wakes;
		int rc;

		if (t->cancel)
			return SD_ECANCELED;
		for (unsigned i = 0; i < t->n_ins; i++) {
			if (t->ins[i].ended)
				continue;
			if (t->ins[i].barrier) { /* aligning: this input waits */
				open = true;
				continue;
			}
			rc = drain_channel(t, &t->ins[i]);
			if (rc < 0)
				return rc;
			progress |= rc > 0;
			open |= !t->ins[i].ended;
		}
		rc = node__chk_try_align(t);
		if (rc > 0) {
			t->chk_first_barrier_us = 0;
			progress = true;
			rc = 0;
		}
		if (rc == 0)
			rc = pass_watermarks(t);
		if (rc == 0)
			rc = check_outputs(t);
		if (rc == 0) /* idle: appending yields, so look for input again after */
			rc = progress ? sink_poll(t) : sink_idle(t);
		if (rc < 0)
			return rc;
		if (!open)
			return 0;
		if (!progress && rc == 0 && t->notify.wakes == seen)
			sched_wait(&t->notify, UINT64_MAX);
	}
}

/* ---- the coroutine --------------------------------------------------------- */

static int finish_outputs(struct node_task *t)
{
	for (unsigned i = 0; i < t->n_outs; i++) {
		int rc = chan_out_finish(t->outs[i].ch);

		if (rc < 0) {
			const char *why;

			chan_out_error(t->outs[i].ch, &why);
			task_failf(t, rc, "end of output %u: %s", t->outs[i].port,
				   *why ? why : sd_strerror(rc));
			return rc;
		}
	}
	return 0;
}

static int task_run(struct node_task *t)
{
	const struct node_task_ops *ops = t->node->ops;
	struct node_task_io io = {.arg = t,
				  .emit = task_emit,
				  .emit_watermark = task_emit_watermark,
				  .sink = task_sink};
	int rc = ops->open(t->plan, t->plan_len, &io, t->budget, &t->body);

	if (rc < 0) {
		task_failf(t, rc, "plan rejected: %s", sd_strerror(rc));
		return rc;
	}
	rc = node__chk_restore(t);
	if (rc < 0)
		return rc;
	rc = sink_open(t);
	if (rc < 0)
		return rc;
	/* RUNNING only once restored: the coordinator triggers checkpoints when
	 * every task is RUNNING, and recovery time is measured to this point. */
	node__task_set_state(t, SD__CONTROL__TASK_STATE__TASK_RUNNING, 0, NULL);
	if (t->n_splits)
		rc = run_sources(t);
	else if (!t->n_ins)
		rc = run_generate(t);
	else
		rc = run_inputs(t);
	if (rc < 0 && ops->error && ops->error(t->body) && *ops->error(t->body))
		task_failf(t, rc, "%s", ops->error(t->body));
	if (rc == 0)
		rc = finish_outputs(t);
	if (rc == 0 && t->sink_h)
		rc = sink_finish(t);
	return rc;
}

void node__task_main(void *arg)
{
	struct node_task *t = arg;
	int rc = task_run(t);
	if (t->body) {
		t->node->ops->close(t->body);
		t->body = NULL;
	}
	/* Failed or canceled: a temporary part is dropped (nothing partial becomes
	 * visible); an appended one keeps what it had appended. */
	node__sink_drop(t);
	if (rc == SD_ECANCELED || (t->cancel && rc < 0))
		node__task_set_state(t, SD__CONTROL__TASK_STATE__TASK_CANCELED, 0, NULL);
	else if (rc < 0)
		node__task_set_state(t, SD__CONTROL__TASK_STATE__TASK_FAILED, rc,
				     t->reason[0] ? t->reason : sd_strerror(rc));
	else
		node__task_set_state(t, SD__CONTROL__TASK_STATE__TASK_FINISHED, 0, NULL);
	if (rc < 0)
		sd_log_warn("node", "%s: task %s/%u %s: %s", t->node->name, t->job_id, t->task_id,
			    rc == SD_ECANCELED ? "canceled" : "failed", t->reason);
	t->co = NULL;
	t->coroutine_done = true;
	if (t->job_over)
		node__task_release(t); /* the job ended while we unwound: nobody else will */
}
