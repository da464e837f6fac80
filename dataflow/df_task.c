/*
 * dataflow/df_task.c — one running task: decodes its plan, pushes rows
 * through the fused operator chain, and hands finished batches, watermarks
 * and sink text to the node through df_task_io.
 *
 * Rows travel as arrays of slots with an event time beside them. Strings
 * made by expressions live in a scratch arena that is reset every
 * DF_SCRATCH_ROWS rows: by then every row derived from them has been copied
 * into an output batch or into operator state.
 *
 * The task (struct df_task, df_task_priv.h) is made by df_task_open and
 * owned by the caller until df_task_close. What enters it (lines, generated
 * records, batches, watermarks, ends of input) comes through
 * df_task_input.c, checkpoints through df_snap.c; the stateful operators
 * are df_ops*.c, the batch-at-a-time leading maps and filters df_vec.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_task_priv.h"

int df__task_fail(struct df_task *t, int code, const char *fmt, ...)
{
	va_list ap;
	if (t->err)
		return t->err;
	t->err = code;
	va_start(ap, fmt);
	vsnprintf(t->errmsg, sizeof t->errmsg, fmt, ap);
	va_end(ap);
	return code;
}

bool df__state_over(struct df_task *t)
{
	return t->budget && t->stats.state_bytes > t->budget;
}

/* ---- outlets ---- */

static int flush_bb(struct df_task *t, unsigned o, unsigned part)
{
	struct df_bb *b = &t->bbs[o][part];
	const uint8_t *p;
	size_t len;
	int rc;
	if (b->rows == 0)
		return 0;
	if (!(p = df__bb_finish(b, &len)))
		return df__task_fail(t, SD_ENOMEM, "out of memory building a batch");
	unsigned emit_part = t->plan.outs[o].chan == DF_CHAN_HASH      ? part
			     : t->plan.outs[o].chan == DF_CHAN_FORWARD ? t->plan.partition
								       : 0;
	rc = t->io.emit ? t->io.emit(t->io.arg, o, emit_part, p, len) : 0;
	df__bb_clear(b);
	if (rc)
		return df__task_fail(t, rc, "emitting a batch on output %u: %s", o,
				     sd_strerror(rc));
	return 0;
}

static int flush_sink(struct df_task *t, unsigned o)
{
	struct df_wbuf *w = &t->sinkbuf[o];
	int rc = 0;
	if (w->oom)
		return df__task_fail(t, SD_ENOMEM, "out of memory formatting sink output");
	if (w->len && t->io.sink)
		rc = t->io.sink(t->io.arg, t->plan.outs[o].sink_id, (const char *)w->p, w->len);
	w->len = 0;
	if (rc)
		return df__task_fail(t, rc, "writing sink %u: %s", t->plan.outs[o].sink_id,
				     sd_strerror(rc));
	return 0;
}

static void fmt_str(struct df_wbuf *w, union df_val v, bool csv)
{
	bool quote = false;
	for (uint32_t i = 0; csv && i < v.s.n; i++)
		if (v.s.p[i] == ',' || v.s.p[i] == '"' || v.s.p[i] == '\n' || v.s.p[i] == '\r')
			quote = true;
	if (!quote) {
		df__w_bytes(w, v.s.p, v.s.n);
		return;
	}
	df__w_u8(w, '"');
	for (uint32_t i = 0; i < v.s.n; i++) {
		if (v.s.p[i] == '"')
			df__w_u8(w, '"');
		df__w_u8(w, (uint8_t)v.s.p[i]);
	}
	df__w_u8(w, '"');
}

static void format_row(struct df_wbuf *w, const uint8_t *kinds, const union df_val *row, unsigned n,
		       bool csv)
{
	char num[48];
	for (unsigned i = 0; i < n; i++) {
		int k = 0;
		if (i)
			df__w_u8(w, csv ? ',' : '\t');
		switch (kinds[i]) {
		case DF_STR:
			fmt_str(w, row[i], csv);
			break;
		case DF_BOOL:
			df__w_bytes(w, row[i].i ? "true" : "false", row[i].i ? 4 : 5);
			break;
		case DF_FLOAT:
			k = snprintf(num, sizeof num, "%.15g", row[i].f);
			break;
		case DF_TIME:
		case DF_DUR:
			k = snprintf(num, sizeof num, "%lld", (long long)(row[i].i / 1000));
			break;
		default:
			k = snprintf(num, sizeof num, "%lld", (long long)row[i].i);
			break;
		}
		if (k > 0)
			df__w_bytes(w, num, (size_t)k);
	}
	df__w_u8(w, '\n');
}

static int output(struct df_task *t, const union df_val *row, int64_t ts)
{
	const struct df_tplan *p = &t->plan;
	t->stats.records_out++;
	for (unsigned o = 0; o < p->n_outs; o++) {
		const struct df_outlet *ol = &p->outs[o];
		if (ol->from_late)
			continue;
		if (ol->kind == OUT_SINK) {
			format_row(&t->sinkbuf[o], p->out_kinds, row, p->out_width,
				   ol->sink_kind != DF_SINK_TEXT);
			if (t->sinkbuf[o].len >= DF_SINK_FLUSH && flush_sink(t, o))
				return t->err;
			continue;
		}
		unsigned part = 0;
		if (ol->chan == DF_CHAN_HASH)
			part = (unsigned)(df__hash_row(p->out_kinds, row, ol->key_width) %
					  ol->consumers);
		struct df_bb *b = &t->bbs[o][part];
		df__bb_add(b, p->out_kinds, row, ts);
		if ((b->rows >= DF_BATCH_ROWS_MAX || df__bb_bytes(b) >= DF_BATCH_BYTES_MAX) &&
		    flush_bb(t, o, part))
			return t->err;
	}
	return 0;
}

/* A late record of event_time operator i goes to its side output(s). */
static int output_late(struct df_task *t, unsigned i, const union df_val *row, int64_t ts)
{
	const struct df_pop_spec *ev = t->plan.ops[i];
	for (unsigned o = 0; o < t->plan.n_outs; o++) {
		const struct df_outlet *ol = &t->plan.outs[o];
		if (!ol->from_late || ol->late_op != i)
			continue;
		if (ol->kind == OUT_SINK) {
			format_row(&t->sinkbuf[o], ev->in_kinds, row, ev->in_width,
				   ol->sink_kind != DF_SINK_TEXT);
			if (t->sinkbuf[o].len >= DF_SINK_FLUSH && flush_sink(t, o))
				return t->err;
			continue;
		}
		struct df_bb *b = &t->bbs[o][0];
		df__bb_add(b, ev->in_kinds, row, ts);
		if ((b->rows >= DF_BATCH_ROWS_MAX || df__bb_bytes(b) >= DF_BATCH_BYTES_MAX) &&
		    flush_bb(t, o, 0))
			return t->err;
	}
	return 0;
}

int df__task_flush_outputs(struct df_task *t)
{
	for (unsigned o = 0; o < t->plan.n_outs; o++) {
		if (t->plan.outs[o].kind == OUT_SINK) {
			if (flush_sink(t, o))
				return t->err;
			continue;
		}
		for (unsigned k = 0; k < t->n_bbs[o]; k++)
			if (flush_bb(t, o, k))
				return t->err;
	}
	return 0;
}

static int emit_watermark(struct df_task *t, int64_t wm)
{
	if (wm <= t->wm_out || !t->plan.out_timed)
		return 0;
	if (df__task_flush_outputs(t)) /* data before the watermark that covers it */
		return t->err;
	t->wm_out = wm;
	t->stats.watermark_us = wm;
	for (unsigned o = 0; o < t->plan.n_outs; o++) {
		int rc;
		if (t->plan.outs[o].kind != OUT_CHANNEL || !t->io.emit_watermark)
			continue;
		if ((rc = t->io.emit_watermark(t->io.arg, o, wm)))
			return df__task_fail(t, rc, "emitting a watermark: %s", sd_strerror(rc));
	}
	return 0;
}

/* ---- the chain ---- */

int df__run(struct df_task *t, unsigned i, const union df_val *row, int64_t ts)
{
	const char *why = NULL;
	int rc;

	for (; i < t->plan.n_ops; i++) {
		const struct df_pop_spec *s = t->plan.ops[i];
		union df_val *out = t->buf[i];
		switch (s->kind) {
		case P_MAP:
			if (t->ident[i])
				break;
			if (t->proj[i]) {
				for (unsigned k = 0; k < s->out_width; k++)
					out[k] = row[t->proj[i][k]];
			} else if ((rc = df__vm_run(s->prog, row, out, &t->scratch, &why))) {
				goto vm_fail;
			}
			row = out;
			break;
		case P_FILTER:
			if ((rc = df__vm_run(s->prog, row, out, &t->scratch, &why)))
				goto vm_fail;
			if (!out[0].i)
				return 0;
			break;
		case P_EVTIME:
			if ((rc = df__vm_run(s->prog, row, out, &t->scratch, &why)))
				goto vm_fail;
			ts = out[0].i;
			if (!s->ts_is_time) /* int event times are milliseconds */
				ts = ts > DF_TIME_MAX / 1000    ? DF_TIME_MAX
				     : ts < -DF_TIME_MAX / 1000 ? -DF_TIME_MAX
								: ts * 1000;
			ts = ts > DF_TIME_MAX ? DF_TIME_MAX : ts < -DF_TIME_MAX ? -DF_TIME_MAX : ts;
			if (s->late_out >= 0 && t->wm != DF_WM_NONE && ts < t->wm) {
				t->stats.late_records++;
				return output_late(t, i, row, ts);
			}
			if (ts > t->ev_max)
				t->ev_max = ts;
			break;
		case P_FLATMAP: {
			if ((rc = df__vm_run(s->prog, row, out, &t->scratch, &why)))
				goto vm_fail;
			union df_val *el = out[0].l.p;
			uint32_t n = out[0].l.n, w = s->out_width;
			if (t->fm_to[i])
				return df__op_push_many(t, t->fm_to[i], el, n, w, t->fm_proj[i],
							t->buf[t->fm_buf[i]], ts);
			for (uint32_t k = 0; k < n; k++)
				if ((rc = df__run(t, i + 1, el + (size_t)k * w, ts)))
					return rc;
			return 0;
		}
		default:
			return df__op_push(t, i, row, ts);
		}
	}
	return output(t, row, ts);
vm_fail:
	return df__task_fail(t, rc, "stage %u operator %u: %s", t->plan.stage, i, why);
}

/* Watermark w reaches operator i: stateful operators fire, the rest pass;
 * an event_time operator stops it (it makes its own from the records). */
int df__task_watermark_from(struct df_task *t, unsigned i, int64_t w)
{
	for (; i < t->plan.n_ops; i++) {
		const struct df_pop_spec *s = t->plan.ops[i];
		if (s->kind == P_EVTIME && w != INT64_MAX)
			return 0;
		if ((s->kind == P_AGG || s->kind == P_JOIN) && df__op_watermark(t, i, w))
			return t->err;
	}
	if (w <= t->wm)
		return 0;
	t->wm = w;
	return emit_watermark(t, w);
}

/* After a batch: the event_time operator's watermark = max seen - lateness. */
static int event_time_tick(struct df_task *t)
{
	if (t->ev_op < 0 || t->ev_max == DF_WM_NONE || t->finished)
		return 0;
	return df__task_watermark_from(t, (unsigned)t->ev_op + 1,
				       t->ev_max - t->plan.ops[t->ev_op]->lateness);
}

/* The end of an input call: queued work may borrow the caller's memory. */
int df__task_input_done(struct df_task *t)
{
	if (t->vn && df__vec_flush(t))
		return t->err;
	if (t->pend_ops && df__op_drain(t))
		return t->err;
	return event_time_tick(t);
}

/* Every input ended: stateful operators emit what they hold, then the final
 * watermark. */
int df__task_finish(struct df_task *t)
{
	if (t->finished)
		return 0;
	t->finished = true;
	for (unsigned i = 0; i < t->plan.n_ops; i++)
		if (t->plan.ops[i]->kind >= P_AGG && df__op_finish(t, i))
			return t->err;
	if (df__task_flush_outputs(t))
		return t->err;
	return emit_watermark(t, INT64_MAX);
}

/* ---- open / close ---- */

static int check_chain(struct df_task *t)
{
	const struct df_tplan *p = &t->plan;
	uint16_t w;
	const uint8_t *k;

	if (p->source >= 0) {
		static const uint8_t one_str = DF_STR, one_int = DF_INT;
		w = p->source == DF_SRC_CSV ? p->out_width : 1;
		k = p->source == DF_SRC_TEXT       ? &one_str
		    : p->source == DF_SRC_GENERATE ? &one_int
						   : p->out_kinds;
		if (p->source == DF_SRC_CSV && p->n_ops)
			k = p->ops[0]->in_kinds, w = p->ops[0]->in_width;
	} else {
		w = p->in_width[0];
		k = p->in_kinds[0];
		if (p->n_inputs == 2 && (!p->n_ops || p->ops[0]->kind != P_JOIN) &&
		    (p->in_width[1] != w || memcmp(p->in_kinds[1], k, w)))
			return SD_EPROTO;
	}
	for (unsigned i = 0; i < p->n_ops; i++) {
		const struct df_pop_spec *s = p->ops[i];
		if (s->kind == P_JOIN) {
			if (i != 0 || p->n_inputs != 2 ||
			    s->key_width + s->left_width != p->in_width[0] ||
			    s->key_width + s->right_width != p->in_width[1] ||
			    s->out_width != s->left_width + s->right_width ||
			    memcmp(p->in_kinds[0], p->in_kinds[1], s->key_width) ||
			    memcmp(s->out_kinds, p->in_kinds[0] + s->key_width, s->left_width) ||
			    memcmp(s->out_kinds + s->left_width, p->in_kinds[1] + s->key_width,
				   s->right_width))
				return SD_EPROTO;
		} else if (s->in_width != w || memcmp(s->in_kinds, k, w)) {
			return SD_EPROTO;
		}
		if (s->prog && s->prog->in_width != s->in_width)
			return SD_EPROTO;
		if ((s->kind == P_MAP && (!s->prog || s->prog->out_width != s->out_width)) ||
		    ((s->kind == P_FILTER || s->kind == P_EVTIME) &&
		     (!s->prog || s->prog->out_width != 1 || s->out_width != w)) ||
		    (s->kind == P_FLATMAP && (!s->prog || s->prog->out_width != 1)) ||
		    (s->kind == P_TOP && (!s->prog || s->prog->out_width != 1)))
			return SD_EPROTO;
		if (s->kind == P_AGG &&
		    (s->key_width > s->in_width || s->key_width > s->out_width ||
		     (s->agg == AG_REDUCE && !s->prog)))
			return SD_EPROTO;
		w = s->out_width;
		k = s->out_kinds;
	}
	if (w != p->out_width || memcmp(k, p->out_kinds, w))
		return SD_EPROTO;
	for (unsigned o = 0; o < p->n_outs; o++)
		if (p->outs[o].key_width > w)
			return SD_EPROTO;
	return 0;
}

/* A map whose program is only LOADs moves slots: no interpreter needed. */
static int prepare_projection(struct df_task *t, unsigned i)
{
	const struct df_prog *p = t->plan.ops[i]->prog;
	bool ident = p->in_width == p->out_width;
	if (p->n_code != (uint32_t)p->out_width + 1 || (p->code[p->out_width] & 0xff) != OP_RET)
		return 0;
	for (unsigned k = 0; k < p->out_width; k++) {
		if ((p->code[k] & 0xff) != OP_LOAD)
			return 0;
		ident &= p->code[k] >> 8 == k;
	}
	if (ident) {
		t->ident[i] = true;
		return 0;
	}
	if (!(t->proj[i] = malloc(sizeof(uint16_t) * (p->out_width + 1))))
		return SD_ENOMEM;
	for (unsigned k = 0; k < p->out_width; k++)
		t->proj[i][k] = (uint16_t)(p->code[k] >> 8);
	return 0;
}

/* Two projections in a row become one: op i reads op i-1's input directly
 * and op i-1 passes rows through untouched. */
static void fuse_projections(struct df_task *t, unsigned i)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	if (!(t->proj[i] || t->ident[i]) || !(t->proj[i - 1] || t->ident[i - 1]) || t->ident[i - 1])
		return;
	if (t->ident[i]) { /* op i changes nothing: it inherits op i-1's projection */
		t->proj[i] = t->proj[i - 1];
		t->proj[i - 1] = NULL;
		t->ident[i] = false;
	} else {
		for (unsigned k = 0; k < s->out_width; k++)
			t->proj[i][k] = t->proj[i - 1][t->proj[i][k]];
		free(t->proj[i - 1]);
		t->proj[i - 1] = NULL;
	}
	t->ident[i - 1] = true;
}

/* Finds the flat_maps whose elements can go straight to a stateful operator
 * (aggregate, distinct, top) through maps that at most move slots once. */
static void plan_flat_maps(struct df_task *t)
{
	for (unsigned i = 0; i + 1 < t->plan.n_ops && i < UINT8_MAX; i++) {
		unsigned j = i + 1, moves = 0;
		if (t->plan.ops[i]->kind != P_FLATMAP)
			continue;
		for (; j < t->plan.n_ops && t->plan.ops[j]->kind == P_MAP; j++) {
			if (t->proj[j]) {
				t->fm_proj[i] = t->proj[j];
				t->fm_buf[i] = (uint8_t)j;
				moves++;
			} else if (!t->ident[j]) {
				break;
			}
		}
		if (j < t->plan.n_ops && j <= UINT8_MAX && moves <= 1 &&
		    (t->plan.ops[j]->kind == P_AGG || t->plan.ops[j]->kind == P_DISTINCT ||
		     t->plan.ops[j]->kind == P_TOP))
			t->fm_to[i] = (uint8_t)j;
		else
			t->fm_proj[i] = NULL;
	}
}

int df_task_open(const uint8_t *plan, size_t len, const struct df_task_io *io,
		 uint64_t memory_budget, struct df_task **out)
{
	struct df_task *t;
	int rc;

	if (!plan || !io || !out)
		return SD_EINVAL;
	*out = NULL;
	if (!(t = calloc(1, sizeof(*t))) || !(t->plan_bytes = malloc(len ? len : 1))) {
		free(t);
		return SD_ENOMEM;
	}
	memcpy(t->plan_bytes, plan, len);
	t->io = *io;
	t->budget = memory_budget;
	t->wm = t->wm_out = t->ev_max = DF_WM_NONE;
	t->in_wm[0] = t->in_wm[1] = DF_WM_NONE;
	t->ev_op = -1;
	t->stats.watermark_us = DF_WM_NONE;
	t->parena.limit = len * 4 + (1u << 20);
	if ((rc = df__tplan_decode(t->plan_bytes, len, &t->parena, &t->plan)) ||
	    (rc = check_chain(t)))
		goto fail;
	rc = SD_ENOMEM;
	for (unsigned i = 0; i < t->plan.n_ops; i++) {
		const struct df_pop_spec *s = t->plan.ops[i];
		unsigned w = s->out_width > s->in_width ? s->out_width : s->in_width;
		if (s->prog && s->prog->out_width > w)
			w = s->prog->out_width;
		if (!(t->buf[i] = calloc(w + 1, sizeof(union df_val))))
			goto fail;
		if (s->kind == P_MAP && prepare_projection(t, i))
			goto fail;
		if (i > 0 && t->plan.ops[i - 1]->kind == P_MAP)
			fuse_projections(t, i);
		if (s->kind == P_EVTIME && t->ev_op < 0)
			t->ev_op = (int)i;
		if (s->kind >= P_AGG && (rc = df__op_open(t, i)))
			goto fail;
		rc = SD_ENOMEM;
	}
	plan_flat_maps(t);
	if ((rc = df__vec_open(t)))
		goto fail;
	rc = SD_ENOMEM;
	for (unsigned o = 0; o < t->plan.n_outs; o++) {
		const struct df_outlet *ol = &t->plan.outs[o];
		if (ol->kind != OUT_CHANNEL)
			continue;
		t->n_bbs[o] = ol->chan == DF_CHAN_HASH ? ol->consumers : 1;
		if (!(t->bbs[o] = calloc(t->n_bbs[o], sizeof(struct df_bb))))
			goto fail;
		for (unsigned k = 0; k < t->n_bbs[o]; k++)
			if (ol->from_late) /* rows of the event_time operator's input */
				df__bb_init(&t->bbs[o][k], t->plan.ops[ol->late_op]->in_width,
					    true);
			else
				df__bb_init(&t->bbs[o][k], t->plan.out_width, t->plan.out_timed);
	}
	if (t->plan.source == DF_SRC_GENERATE) {
		uint64_t n = t->plan.gen_n, p = t->plan.parallelism, i = t->plan.partition;
		t->gen_next = n / p * i + (i < n % p ? i : n % p);
		t->gen_end = t->gen_next + n / p + (i < n % p);
	}
	*out = t;
	return 0;
fail:
	df_task_close(t);
	return rc;
}

void df_task_close(struct df_task *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < DF_OPS_MAX; i++) {
		df__op_close(t, i); /* no-op without state */
		free(t->buf[i]);
		free(t->proj[i]);
	}
	df__vec_close(t);
	for (unsigned o = 0; o < DF_OUTS_MAX; o++) {
		for (unsigned k = 0; k < t->n_bbs[o]; k++)
			df__bb_free(&t->bbs[o][k]);
		free(t->bbs[o]);
		free(t->sinkbuf[o].p);
	}
	df__arena_free(&t->scratch);
	df__arena_free(&t->parena);
	free(t->plan_bytes);
	free(t);
}
