/*
 * tests/unit/dataflow/harness.c — see harness.h. Stages run in order, each
 * task to completion; watermarks are merged per input (minimum over the
 * producers) as a node does. With h_opts.snap_every a task is checkpointed
 * (snapshot, close, reopen, restore) between its input calls.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tests/unit/dataflow/harness.h"

struct hitem {
	uint8_t *b;
	size_t len;
	int64_t wm;
};

struct hin {
	struct hitem *it;
	size_t n, cap;
	int64_t pwm[64];
	unsigned np;
	int64_t sent;
};

struct htask {
	struct df_task *t;
	unsigned stage, part;
	struct hin in[2];
	struct hctx *H;
	uint8_t *plan; /* kept to reopen the task at a checkpoint */
	size_t plan_len;
	unsigned calls; /* input calls so far */
};

struct hctx {
	struct df_job *job;
	struct htask *tasks;
	struct h_result *res;
	uint64_t memory;
	struct h_opts opts;
};

static int add(struct hin *in, const uint8_t *b, size_t len, int64_t wm)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 16;
		in->it = realloc(in->it, in->cap * sizeof(*in->it));
		if (!in->it)
			return SD_ENOMEM;
	}
	in->it[in->n].b = b ? malloc(len) : NULL;
	if (b)
		memcpy(in->it[in->n].b, b, len);
	in->it[in->n].len = len;
	in->it[in->n++].wm = wm;
	return 0;
}

static const struct df_channel_info *chan(struct hctx *H, unsigned stage, unsigned out)
{
	unsigned n;
	const struct df_channel_info *c = df_job_channels(H->job, &n);
	for (unsigned i = 0; i < n; i++)
		if (c[i].from_stage == stage && c[i].from_output == out)
			return &c[i];
	return NULL;
}

static int emit(void *arg, unsigned out, unsigned part, const uint8_t *b, size_t len)
{
	struct htask *ht = arg;
	unsigned ns;
	const struct df_stage_info *st = df_job_stages(ht->H->job, &ns);
	const struct df_channel_info *c = chan(ht->H, ht->stage, out);
	if (!c || part >= st[c->to_stage].parallelism)
		return SD_EINVAL;
	return add(&ht->H->tasks[st[c->to_stage].first_task + part].in[c->to_input], b, len, 0);
}

static void log_wm(struct h_result *r, const struct htask *ht, unsigned out, int64_t wm)
{
	char line[80];
	int n = snprintf(line, sizeof line, "%u.%u:%u:%lld\n", ht->stage, ht->part, out,
			 (long long)wm);
	r->wms = realloc(r->wms, r->wms_len + (size_t)n + 1);
	memcpy(r->wms + r->wms_len, line, (size_t)n + 1);
	r->wms_len += (size_t)n;
}

static int emit_wm(void *arg, unsigned out, int64_t wm)
{
	struct htask *ht = arg;
	unsigned ns;
	log_wm(ht->H->res, ht, out, wm);
	const struct df_stage_info *st = df_job_stages(ht->H->job, &ns);
	const struct df_channel_info *c = chan(ht->H, ht->stage, out);
	if (!c)
		return SD_EINVAL;
	for (unsigned p = 0; p < st[c->to_stage].parallelism; p++) {
		struct hin *in = &ht->H->tasks[st[c->to_stage].first_task + p].in[c->to_input];
		int64_t min = INT64_MAX;
		if (wm > in->pwm[ht->part])
			in->pwm[ht->part] = wm;
		for (unsigned k = 0; k < in->np; k++)
			min = in->pwm[k] < min ? in->pwm[k] : min;
		if (min > in->sent && min != INT64_MAX) {
			in->sent = min;
			if (add(in, NULL, 0, min))
				return SD_ENOMEM;
		}
	}
	return 0;
}

static int sink(void *arg, unsigned id, const char *text, size_t len)
{
	struct htask *ht = arg;
	struct h_result *r = ht->H->res;
	if (id >= H_SINKS_MAX)
		return SD_EINVAL;
	r->out[id] = realloc(r->out[id], r->len[id] + len + 1);
	memcpy(r->out[id] + r->len[id], text, len);
	r->len[id] += len;
	r->out[id][r->len[id]] = 0;
	return 0;
}

static int fail(struct h_result *res, struct htask *ht, int rc)
{
	if (res->err[0])
		return res->rc = rc;
	snprintf(res->err, sizeof res->err, "%s", ht->t ? df_task_error(ht->t) : sd_strerror(rc));
	res->rc = rc;
	return rc;
}

static int open_task(struct htask *ht)
{
	struct df_task_io io = {ht, emit, emit_wm, sink};
	return df_task_open(ht->plan, ht->plan_len, &io, ht->H->memory, &ht->t);
}

/* b restored from a snapshot of a: the same counters; the same state bytes,
 * or fewer when a sparse hash table was rebuilt smaller (DF_SNAP_SPARSE). */
static bool stats_equal(const struct df_task_stats *a, const struct df_task_stats *b)
{
	return a->records_in == b->records_in && a->records_out == b->records_out &&
	       a->late_records == b->late_records && a->bad_records == b->bad_records &&
	       b->state_bytes <= a->state_bytes && a->watermark_us == b->watermark_us;
}

/* Snapshot, close, reopen from the plan, restore: the task goes on as before. */
static int checkpoint(struct htask *ht)
{
	struct h_result *res = ht->H->res;
	struct df_task_stats before, after;
	uint8_t *snap;
	size_t len;
	int rc;

	if ((rc = df_task_snapshot(ht->t, &snap, &len)))
		return rc;
	df_task_get_stats(ht->t, &before);
	uint64_t shape = df_task_state_shape(ht->t);
	if (ht->H->opts.on_snapshot)
		ht->H->opts.on_snapshot(ht->H->opts.arg, ht->plan, ht->plan_len, snap, len);
	df_task_close(ht->t);
	ht->t = NULL;
	if (!(rc = open_task(ht)) && !(rc = df_task_restore(ht->t, snap, len))) {
		df_task_get_stats(ht->t, &after);
		if (df_task_state_shape(ht->t) != shape || !stats_equal(&before, &after)) {
			snprintf(
				res->err, sizeof res->err,
				"task %u.%u: restored stats differ: state %llu -> %llu, in %llu -> "
				"%llu, out %llu -> %llu",
				ht->stage, ht->part, (unsigned long long)before.state_bytes,
				(unsigned long long)after.state_bytes,
				(unsigned long long)before.records_in,
				(unsigned long long)after.records_in,
				(unsigned long long)before.records_out,
				(unsigned long long)after.records_out);
			rc = SD_EINTERNAL;
		}
	}
	res->snapshots++;
	res->snap_bytes = len > res->snap_bytes ? len : res->snap_bytes;
	if (len > before.state_bytes && len - before.state_bytes > res->snap_excess)
		res->snap_excess = len - (size_t)before.state_bytes;
	free(snap);
	return rc;
}

/* After every input call: a checkpoint when the options ask for one. */
static int after_call(struct htask *ht, int rc)
{
	unsigned every = ht->H->opts.snap_every;
	if (rc || !every || ++ht->calls % every)
		return rc;
	return checkpoint(ht);
}

static int run_task(struct hctx *H, struct htask *ht, const struct df_stage_info *st,
		    const char *const *inputs, unsigned n_inputs)
{
	int rc = H->opts.snap_every ? checkpoint(ht) : 0; /* one with no input at all */
	if (st->source < 0) {
		for (unsigned i = 0; i < st->n_inputs && !rc; i++) {
			for (size_t k = 0; k < ht->in[i].n && !rc; k++) {
				struct hitem *it = &ht->in[i].it[k];
				rc = after_call(ht, it->b ? df_task_push(ht->t, i, it->b, it->len)
							  : df_task_watermark(ht->t, i, it->wm));
			}
			if (!rc)
				rc = after_call(ht, df_task_end_input(ht->t, i));
		}
		return rc;
	}
	unsigned ns;
	const struct df_source_info *src = &df_job_sources(H->job, &ns)[st->source];
	if (src->kind == DF_SRC_GENERATE) {
		uint64_t step = H->opts.gen_step ? H->opts.gen_step : 1000;
		bool done = false;
		while (!done && !rc)
			rc = after_call(ht, df_task_generate(ht->t, step, &done));
	} else if ((unsigned)st->source < n_inputs && inputs[st->source]) {
		const char *p = inputs[st->source];
		unsigned chunk = 0;
		while (*p && !rc) {
			const char *e = strchr(p, '\x01');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (chunk++ % st->parallelism == ht->part)
				rc = after_call(ht, df_task_push_lines(ht->t, p, n));
			p += n + (e != NULL);
		}
	}
	return rc ? rc : after_call(ht, df_task_end_input(ht->t, 0));
}

int h_run(const char *src, const char *const *inputs, unsigned n_inputs, unsigned parallelism,
	  uint64_t memory, struct h_result *res)
{
	return h_run_opts(src, inputs, n_inputs, parallelism, memory, NULL, res);
}

int h_run_opts(const char *src, const char *const *inputs, unsigned n_inputs, unsigned parallelism,
	       uint64_t memory, const struct h_opts *o, struct h_result *res)
{
	struct hctx H = {0};
	struct df_compile_opts opts = {.default_parallelism = parallelism};
	struct df_diag diag;
	unsigned ns, nc, nt;
	int rc;

	memset(res, 0, sizeof(*res));
	H.res = res;
	H.memory = memory;
	if (o)
		H.opts = *o;
	if ((rc = df_compile(src, strlen(src), "test.sd", &opts, &H.job, &diag))) {
		snprintf(res->err, sizeof res->err, "%s", diag.text);
		return res->rc = rc;
	}
	const struct df_stage_info *st = df_job_stages(H.job, &ns);
	const struct df_channel_info *ch = df_job_channels(H.job, &nc);
	nt = df_job_task_count(H.job);
	H.tasks = calloc(nt, sizeof(*H.tasks));
	for (unsigned id = 0; id < nt && !rc; id++) {
		struct df_task_info ti;
		struct htask *ht = &H.tasks[id];
		df_job_task(H.job, id, &ti);
		ht->stage = ti.stage;
		ht->part = ti.partition;
		ht->H = &H;
		for (unsigned c = 0; c < nc; c++)
			if (ch[c].to_stage == ti.stage) {
				struct hin *in = &ht->in[ch[c].to_input];
				in->np = st[ch[c].from_stage].parallelism;
				in->sent = INT64_MIN;
				for (unsigned k = 0; k < 64; k++)
					in->pwm[k] = k < in->np ? INT64_MIN : INT64_MAX;
			}
		if (!(rc = df_task_plan_encode(H.job, id, &ht->plan, &ht->plan_len)))
			rc = open_task(ht);
		if (rc)
			fail(res, ht, rc);
	}
	for (unsigned s = 0; s < ns && !rc; s++)
		for (unsigned p = 0; p < st[s].parallelism && !rc; p++) {
			struct htask *ht = &H.tasks[st[s].first_task + p];
			if ((rc = run_task(&H, ht, &st[s], inputs, n_inputs)))
				fail(res, ht, rc);
		}
	for (unsigned id = 0; id < nt; id++) {
		struct htask *ht = &H.tasks[id];
		if (ht->t) {
			struct df_task_stats s;
			df_task_get_stats(ht->t, &s);
			res->late += s.late_records;
			res->bad += s.bad_records;
			res->records_in += s.records_in;
			res->records_out += s.records_out;
			df_task_close(ht->t);
		}
		free(ht->plan);
		for (int i = 0; i < 2; i++) {
			for (size_t k = 0; k < ht->in[i].n; k++)
				free(ht->in[i].it[k].b);
			free(ht->in[i].it);
		}
	}
	free(H.tasks);
	df_job_free(H.job);
	for (unsigned i = 0; i < H_SINKS_MAX; i++)
		if (!res->out[i])
			res->out[i] = calloc(1, 1);
	if (!res->wms)
		res->wms = calloc(1, 1);
	return res->rc = rc;
}

void h_free(struct h_result *res)
{
	for (unsigned i = 0; i < H_SINKS_MAX; i++)
		free(res->out[i]);
	free(res->wms);
	memset(res, 0, sizeof(*res));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void h_sort_lines(char *text)
{
	size_t n = 0, len = strlen(text);
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	char **lines = calloc(n + 1, sizeof(*lines));
	char *copy = strdup(text), *p = copy;
	for (size_t i = 0; i < n; i++) {
		char *e = strchr(p, '\n');
		*e = 0;
		lines[i] = p;
		p = e + 1;
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	char *o = text;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		memcpy(o, lines[i], l);
		o[l] = '\n';
		o += l + 1;
	}
	free(lines);
	free(copy);
}

/* ---- small tools for tests ---- */

void h_printf(struct h_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

uint32_t h_lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

size_t h_count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int cap_emit(void *arg, unsigned out, unsigned part, const uint8_t *b, size_t len)
{
	struct h_cap *c = arg;
	h_printf(&c->out, "[%u.%u:%zu]", out, part, len);
	for (size_t k = 0; k < len; k++)
		h_printf(&c->out, "%02x", b[k]);
	c->batches++;
	return 0;
}

static int cap_wm(void *arg, unsigned out, int64_t ts)
{
	struct h_cap *c = arg;
	h_printf(&c->out, "[wm %u %lld]", out, (long long)ts);
	return 0;
}

static int cap_sink(void *arg, unsigned id, const char *text, size_t len)
{
	struct h_cap *c = arg;
	h_printf(&c->out, "[sink %u]%.*s", id, (int)len, text);
	return 0;
}

uint8_t *h_plan_of(const char *src, unsigned task, size_t *len)
{
	struct df_job *job;
	uint8_t *plan = NULL;
	if (df_compile(src, strlen(src), "test.sd", NULL, &job, NULL))
		return NULL;
	if (df_task_plan_encode(job, task, &plan, len))
		plan = NULL;
	df_job_free(job);
	return plan;
}

int h_open_cap(const uint8_t *plan, size_t len, struct h_cap *c, uint64_t budget,
	       struct df_task **t)
{
	struct df_task_io io = {c, cap_emit, cap_wm, cap_sink};
	return df_task_open(plan, len, &io, budget, t);
}
