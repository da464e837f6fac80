/*
 * dataflow/df_snap.c — checkpoints of a running task: df_task_snapshot,
 * df_task_restore, df_task_state_shape. The format is described in
 * dataflow.h; the operators' sections are written and read by df_ops_snap.c.
 *
 *   df_task_snapshot(t, &bytes, &len);   drains, flushes, serialises (owned)
 *   ... the caller sends its barrier and stores bytes ...
 *   df_task_open(plan, plan_len, &io, budget, &t2);
 *   df_task_restore(t2, bytes, len);     before any input
 *
 * The snapshot is made in two passes over the state: the first only counts,
 * the second writes into one exactly sized buffer. Restore reads the bytes as
 * hostile: every count is checked against the bytes left before anything is
 * allocated for it, every key and row against its kinds, and a failure fails
 * the task (close it) like any other error.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_task_priv.h"

/* ---- the writer ---- */

void df__sw_bytes(struct df_sw *w, const void *src, size_t n)
{
	if (w->p && n) {
		assert(w->len + n <= w->cap); /* the sizing pass counted the same bytes */
		memcpy(w->p + w->len, src, n);
	}
	w->len += n;
}

void df__sw_u8(struct df_sw *w, uint8_t v)
{
	df__sw_bytes(w, &v, 1);
}

void df__sw_u32(struct df_sw *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	df__sw_bytes(w, b, 4);
}

void df__sw_u64(struct df_sw *w, uint64_t v)
{
	df__sw_u32(w, (uint32_t)v);
	df__sw_u32(w, (uint32_t)(v >> 32));
}

void df__sw_patch64(struct df_sw *w, size_t off, uint64_t v)
{
	struct df_sw at = {w->p, off, w->cap};
	if (w->p)
		df__sw_u64(&at, v);
}

/* ---- the shape fingerprint ---- */

struct shape_buf {
	uint8_t b[2 * DF_WIDTH_MAX + 128];
	size_t n;
};

static void sh_bytes(struct shape_buf *d, const void *p, size_t n)
{
	assert(d->n + n <= sizeof d->b);
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void sh_u64(struct shape_buf *d, uint64_t v)
{
	uint8_t b[8];
	for (int k = 0; k < 8; k++)
		b[k] = (uint8_t)(v >> (8 * k));
	sh_bytes(d, b, 8);
}

/* Folds d's bytes into h and empties d. */
static uint64_t sh_fold(uint64_t h, struct shape_buf *d)
{
	uint64_t x[2] = {h, df__hash_bytes(d->b, d->n)};
	d->n = 0;
	return df__hash_bytes(x, sizeof x);
}

/* What operator s keeps and how: stateless operators add only their kind, so
 * a changed map or filter keeps a snapshot usable while a moved stateful
 * operator does not. */
static void sh_op(struct shape_buf *d, const struct df_pop_spec *s)
{
	sh_u64(d, s->kind);
	if (s->kind < P_AGG)
		return;
	sh_u64(d, s->in_width);
	sh_bytes(d, s->in_kinds, s->in_width);
	sh_u64(d, s->out_width);
	sh_bytes(d, s->out_kinds, s->out_width);
	sh_u64(d, (uint64_t)s->agg | (uint64_t)s->mode << 8 | (uint64_t)s->win << 16 |
			  (uint64_t)s->val_kind << 24);
	sh_u64(d, (uint64_t)s->key_width | (uint64_t)s->val_width << 16 |
			  (uint64_t)s->left_width << 32 | (uint64_t)s->right_width << 48);
	sh_u64(d, (uint64_t)s->win_size);
	sh_u64(d, (uint64_t)s->win_step);
	sh_u64(d, (uint64_t)s->within);
	sh_u64(d, s->top_n);
}

uint64_t df_task_state_shape(const struct df_task *t)
{
	const struct df_tplan *p = &t->plan;
	struct shape_buf d = {.n = 0};
	uint64_t h = DF_SNAP_MAGIC;

	sh_u64(&d, (uint64_t)(int64_t)p->source);
	sh_u64(&d, p->n_inputs);
	for (unsigned k = 0; k < p->n_inputs; k++) {
		sh_u64(&d, p->in_width[k]);
		sh_bytes(&d, p->in_kinds[k], p->in_width[k]);
	}
	sh_u64(&d, p->n_ops);
	h = sh_fold(h, &d);
	for (unsigned i = 0; i < p->n_ops; i++) {
		sh_op(&d, p->ops[i]);
		h = sh_fold(h, &d);
	}
	return h;
}

/* ---- snapshot ---- */

#define SNAP_TASK_BYTES 97 /* the task section: flags, 6 watermarks, 6 counters */

static void snap_task(const struct df_task *t, struct df_sw *w)
{
	size_t at = w->len;
	df__sw_u8(w, (uint8_t)(t->ended[0] | t->ended[1] << 1 | t->finished << 2));
	df__sw_u64(w, (uint64_t)t->in_wm[0]);
	df__sw_u64(w, (uint64_t)t->in_wm[1]);
	df__sw_u64(w, (uint64_t)t->wm);
	df__sw_u64(w, (uint64_t)t->wm_out);
	df__sw_u64(w, (uint64_t)t->ev_max);
	df__sw_u64(w, (uint64_t)t->stats.watermark_us);
	df__sw_u64(w, t->gen_next);
	df__sw_u64(w, t->gen_end);
	df__sw_u64(w, t->stats.records_in);
	df__sw_u64(w, t->stats.records_out);
	df__sw_u64(w, t->stats.late_records);
	df__sw_u64(w, t->stats.bad_records);
	assert(w->len - at == SNAP_TASK_BYTES);
}

/* The whole snapshot; w counts (p == NULL) or writes. */
static void snap_write(struct df_task *t, struct df_sw *w)
{
	unsigned n = 0;
	df__sw_u32(w, DF_SNAP_MAGIC);
	df__sw_u32(w, DF_SNAP_VERSION);
	df__sw_u64(w, df_task_state_shape(t));
	df__sw_u32(w, t->plan.partition);
	df__sw_u32(w, t->plan.parallelism);
	df__sw_u32(w, SNAP_TASK_BYTES);
	snap_task(t, w);
	for (unsigned i = 0; i < t->plan.n_ops; i++)
		n += t->plan.ops[i]->kind >= P_AGG;
	df__sw_u32(w, n);
	for (unsigned i = 0; i < t->plan.n_ops; i++) {
		if (t->plan.ops[i]->kind < P_AGG)
			continue;
		df__sw_u32(w, i);
		df__sw_u32(w, t->plan.ops[i]->kind);
		size_t at = w->len;
		df__sw_u64(w, 0); /* the body's length, patched below */
		df__op_snapshot(t, i, w);
		df__sw_patch64(w, at, w->len - at - 8);
	}
}

int df_task_snapshot(struct df_task *t, uint8_t **out, size_t *len)
{
	struct df_sw w = {NULL, 0, 0};

	if (!t || !out || !len)
		return SD_EINVAL;
	*out = NULL;
	*len = 0;
	if (t->err)
		return t->err;
	/* queued rows and lookups first: what they derive leaves before the barrier */
	if ((t->vn || t->pend_ops) && df__task_input_done(t))
		return t->err;
	if (df__task_flush_outputs(t))
		return t->err;
	snap_write(t, &w);
	if (!(w.p = malloc(w.len)))
		return SD_ENOMEM; /* the task goes on: a later checkpoint may succeed */
	w.cap = w.len;
	w.len = 0;
	snap_write(t, &w);
	assert(w.len == w.cap);
	*out = w.p;
	*len = w.len;
	return 0;
}

/* ---- restore ---- */

/* Nothing has entered the task since df_task_open. */
static bool task_fresh(const struct df_task *t)
{
	return t->stats.records_in == 0 && t->stats.state_bytes == 0 && !t->n_ended &&
	       !t->finished && t->in_wm[0] == DF_WM_NONE && t->in_wm[1] == DF_WM_NONE &&
	       t->wm == DF_WM_NONE && t->wm_out == DF_WM_NONE;
}

static int restore_header(struct df_task *t, struct df_rbuf *r)
{
	uint32_t magic = df__r_u32(r), version;
	uint64_t shape, mine = df_task_state_shape(t);
	uint32_t part, par;

	if (r->bad || magic != DF_SNAP_MAGIC)
		return df__task_fail(t, SD_EPROTO, "restore: not a task snapshot");
	version = df__r_u32(r);
	if (!r->bad && version != DF_SNAP_VERSION)
		return df__task_fail(t, SD_EVERSION,
				     "restore: snapshot format version %u; this build reads %u",
				     version, DF_SNAP_VERSION);
	shape = df__r_u64(r);
	part = df__r_u32(r);
	par = df__r_u32(r);
	if (r->bad)
		return df__task_fail(t, SD_EPROTO, "restore: snapshot truncated in its header");
	if (shape != mine)
		return df__task_fail(t, SD_ESTATE,
				     "restore: the snapshot's state shape %016llx does not fit "
				     "stage %u, whose state shape is %016llx",
				     (unsigned long long)shape, t->plan.stage,
				     (unsigned long long)mine);
	if (part != t->plan.partition || par != t->plan.parallelism)
		return df__task_fail(t, SD_ESTATE,
				     "restore: the snapshot is of partition %u of %u; this task is "
				     "partition %u of %u",
				     part, par, t->plan.partition, t->plan.parallelism);
	return 0;
}

/* A watermark the task does arithmetic on: none, the end, or a clamped time. */
static bool wm_ok(int64_t w)
{
	return w == DF_WM_NONE || w == INT64_MAX || (w >= -DF_TIME_MAX && w <= DF_TIME_MAX);
}

static int restore_task(struct df_task *t, struct df_rbuf *r)
{
	uint32_t n = df__r_u32(r);
	uint8_t flags = df__r_u8(r);
	int64_t wms[6];
	uint64_t v[6];

	for (int k = 0; k < 6; k++)
		wms[k] = (int64_t)df__r_u64(r);
	for (int k = 0; k < 6; k++)
		v[k] = df__r_u64(r);
	unsigned inputs = t->plan.n_inputs ? t->plan.n_inputs : 1;
	if (r->bad || n != SNAP_TASK_BYTES || flags >> 3 || (flags & 3) >> inputs ||
	    !wm_ok(wms[0]) || !wm_ok(wms[1]) ||
	    (wms[4] != DF_WM_NONE && (wms[4] < -DF_TIME_MAX || wms[4] > DF_TIME_MAX)))
		return df__task_fail(t, SD_EPROTO, "restore: malformed task section");
	if (v[0] > v[1] ||
	    (t->plan.source == DF_SRC_GENERATE ? v[1] != t->gen_end || v[0] < t->gen_next
					       : v[0] || v[1]))
		return df__task_fail(t, SD_ESTATE,
				     "restore: generate position %llu..%llu is not this task's "
				     "share %llu..%llu",
				     (unsigned long long)v[0], (unsigned long long)v[1],
				     (unsigned long long)t->gen_next,
				     (unsigned long long)t->gen_end);
	t->ended[0] = flags & 1;
	t->ended[1] = flags >> 1 & 1;
	t->n_ended = t->ended[0] + t->ended[1];
	t->finished = flags >> 2 & 1;
	t->in_wm[0] = wms[0];
	t->in_wm[1] = wms[1];
	t->wm = wms[2];
	t->wm_out = wms[3];
	t->ev_max = wms[4];
	t->stats.watermark_us = wms[5];
	t->gen_next = v[0];
	t->stats.records_in = v[2];
	t->stats.records_out = v[3];
	t->stats.late_records = v[4];
	t->stats.bad_records = v[5];
	return 0;
}

/* The sections: one per stateful operator, in chain order. */
static int restore_ops(struct df_task *t, struct df_rbuf *r)
{
	uint32_t n = df__r_u32(r), want = 0;
	int rc;

	for (unsigned i = 0; i < t->plan.n_ops; i++)
		want += t->plan.ops[i]->kind >= P_AGG;
	if (r->bad || n != want)
		return df__task_fail(t, SD_EPROTO, "restore: malformed section count");
	for (unsigned i = 0; i < t->plan.n_ops; i++) {
		if (t->plan.ops[i]->kind < P_AGG)
			continue;
		uint32_t op = df__r_u32(r), kind = df__r_u32(r);
		uint64_t len = df__r_u64(r);
		if (r->bad || op != i || kind != t->plan.ops[i]->kind || len > r->len - r->off)
			return df__task_fail(t, SD_EPROTO,
					     "restore: malformed section header for operator %u",
					     i);
		struct df_rbuf body = {r->p + r->off, (size_t)len, 0, false};
		r->off += (size_t)len;
		if ((rc = df__op_restore(t, i, &body)))
			return df__task_fail(t, rc, "restore: malformed section of operator %u", i);
	}
	if (r->off != r->len)
		return df__task_fail(t, SD_EPROTO, "restore: %zu bytes after the last section",
				     r->len - r->off);
	return 0;
}

int df_task_restore(struct df_task *t, const uint8_t *state, size_t len)
{
	struct df_rbuf r = {state, len, 0, false};

	if (!t || (!state && len))
		return SD_EINVAL;
	if (t->err)
		return t->err;
	if (!task_fresh(t))
		return SD_EINVAL; /* restore only into a task that has seen nothing */
	if (restore_header(t, &r) || restore_task(t, &r) || restore_ops(t, &r))
		return t->err;
	df__arena_reset(&t->scratch); /* top's rank keys were computed there */
	if (df__state_over(t))
		return df__task_fail(t, SD_ELIMIT,
				     "restore: state of %llu bytes exceeds the memory budget of "
				     "%llu bytes",
				     (unsigned long long)t->stats.state_bytes,
				     (unsigned long long)t->budget);
	return 0;
}
