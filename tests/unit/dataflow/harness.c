/*
 * tests/unit/dataflow/harness.c — see harness.h. Stages run in order, each
 * task to completion; watermarks are merged per input (minimum over the
 * producers) as a node does.
 */
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
};

struct hctx {
	struct df_job *job;
	struct htask *tasks;
	struct h_result *res;
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

static int emit_wm(void *arg, unsigned out, int64_t wm)
{
	struct htask *ht = arg;
	unsigned ns;
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
	snprintf(res->err, sizeof res->err, "%s", ht->t ? df_task_error(ht->t) : sd_strerror(rc));
	res->rc = rc;
	return rc;
}

static int run_task(struct hctx *H, struct htask *ht, const struct df_stage_info *st,
		    const char *const *inputs, unsigned n_inputs)
{
	int rc = 0;
	if (st->source < 0) {
		for (unsigned i = 0; i < st->n_inputs && !rc; i++) {
			for (size_t k = 0; k < ht->in[i].n && !rc; k++) {
				struct hitem *it = &ht->in[i].it[k];
				rc = it->b ? df_task_push(ht->t, i, it->b, it->len)
					   : df_task_watermark(ht->t, i, it->wm);
			}
			if (!rc)
				rc = df_task_end_input(ht->t, i);
		}
		return rc;
	}
	unsigned ns;
	const struct df_source_info *src = &df_job_sources(H->job, &ns)[st->source];
	if (src->kind == DF_SRC_GENERATE) {
		bool done = false;
		while (!done && !rc)
			rc = df_task_generate(ht->t, 1000, &done);
	} else if ((unsigned)st->source < n_inputs && inputs[st->source]) {
		const char *p = inputs[st->source];
		unsigned chunk = 0;
		while (*p && !rc) {
			const char *e = strchr(p, '\x01');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (chunk++ % st->parallelism == ht->part)
				rc = df_task_push_lines(ht->t, p, n);
			p += n + (e != NULL);
		}
	}
	return rc ? rc : df_task_end_input(ht->t, 0);
}

int h_run(const char *src, const char *const *inputs, unsigned n_inputs, unsigned parallelism,
	  uint64_t memory, struct h_result *res)
{
	struct hctx H = {0};
	struct df_compile_opts opts = {.default_parallelism = parallelism};
	struct df_diag diag;
	unsigned ns, nc, nt;
	int rc;

	memset(res, 0, sizeof(*res));
	H.res = res;
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
		uint8_t *plan;
		size_t len;
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
		struct df_task_io io = {ht, emit, emit_wm, sink};
		if (!(rc = df_task_plan_encode(H.job, id, &plan, &len))) {
			rc = df_task_open(plan, len, &io, memory, &ht->t);
			free(plan);
		}
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
			df_task_close(ht->t);
		}
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
	return res->rc = rc;
}

void h_free(struct h_result *res)
{
	for (unsigned i = 0; i < H_SINKS_MAX; i++)
		free(res->out[i]);
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
