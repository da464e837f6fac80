/*
 * dataflow/df_ops_misc.c — distinct, top(n) and the inner equi-join, the
 * stateful operators besides the aggregates.
 *
 * The task's calls reach them through df_ops.c (df__op_push, df__op_finish,
 * df__op_watermark), except the join's rows: df_task_input.c hands both of
 * its inputs to df__join_push directly. Distinct and the join keep entries
 * in the operator's hash tables (df_ops.c), which own them and the join's
 * rows; top keeps its best n rows as malloc'd copies in an array sorted best
 * first, freed as they are emitted.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_ops_priv.h"

int df__distinct_push(struct df_task *t, unsigned i, const union df_val *row, int64_t ts)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	struct htab *ht = &st->tab[0];

	st->kb.len = 0;
	df__row_encode(&st->kb, s->in_kinds, row, s->in_width);
	if (st->kb.oom)
		return df__task_fail(t, SD_ENOMEM, "out of memory encoding a row");
	uint64_t h = df__hash_bytes(st->kb.p, st->kb.len);
	if (df__ht_find(ht, h, st->kb.p, (uint32_t)st->kb.len, 0))
		return 0;
	if (!df__ht_add(t, st, ht, h, st->kb.p, (uint32_t)st->kb.len, 0))
		return t->err;
	if (df__state_over(t))
		return df__op_over_budget(t, i);
	return df__run(t, i + 1, row, ts);
}

/* ---- top(n): kept sorted best first ---- */

static inline int top_cmp(uint8_t kind, const struct topent *a, union df_val key,
			  const uint8_t *bytes, uint32_t len)
{
	int c = df__vcmp(kind, key, a->key); /* > 0: the new one ranks higher */
	if (c)
		return c;
	uint32_t n = len < a->len ? len : a->len;
	c = memcmp(a->bytes, bytes, n); /* ties: smaller row bytes first */
	return c ? c : (a->len > len) - (a->len < len);
}

int df__top_push(struct df_task *t, unsigned i, const union df_val *row)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	union df_val key;
	const char *why;
	int rc;

	if ((rc = df__vm_run(s->prog, row, &key, &t->scratch, &why)))
		return df__task_fail(t, rc, "stage %u top: %s", t->plan.stage, why);
	st->vb.len = 0;
	df__row_encode(&st->vb, s->in_kinds, row, s->in_width);
	if (st->vb.oom)
		return df__task_fail(t, SD_ENOMEM, "out of memory encoding a row");
	uint32_t len = (uint32_t)st->vb.len;
	if (st->n_top == s->top_n &&
	    top_cmp(s->val_kind, st->top[st->n_top - 1], key, st->vb.p, len) <= 0)
		return 0;
	size_t ks = s->val_kind == DF_STR ? key.s.n : 0, sz = sizeof(struct topent) + len + ks;
	struct topent *e = malloc(sz);
	if (!e)
		return df__task_fail(t, SD_ENOMEM, "out of memory in top");
	e->len = len;
	memcpy(e->bytes, st->vb.p, len);
	e->key = key;
	if (ks) {
		memcpy(e->bytes + len, key.s.p, ks);
		e->key.s.p = (const char *)e->bytes + len;
	}
	df__account(t, (int64_t)sz);
	if (st->n_top == s->top_n) { /* drop the last */
		struct topent *last = st->top[--st->n_top];
		df__account(t, -(int64_t)(sizeof(*last) + last->len +
					  (s->val_kind == DF_STR ? last->key.s.n : 0)));
		free(last);
	}
	/* binary search the position, best first */
	uint32_t lo = 0, hi = st->n_top;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (top_cmp(s->val_kind, st->top[mid], e->key, e->bytes, len) > 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	memmove(st->top + lo + 1, st->top + lo, (st->n_top - lo) * sizeof(*st->top));
	st->top[lo] = e;
	st->n_top++;
	if (df__state_over(t))
		return df__op_over_budget(t, i);
	return 0;
}

int df__top_emit(struct df_task *t, unsigned i)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	int rc = 0;
	for (uint32_t k = 0; k < st->n_top; k++) {
		struct topent *e = st->top[k];
		if (!rc) {
			df__row_decode(e->bytes, s->in_kinds, st->tmp, s->in_width);
			rc = df__run(t, i + 1, st->tmp, 0);
		}
		df__account(t, -(int64_t)(sizeof(*e) + e->len +
					  (s->val_kind == DF_STR ? e->key.s.n : 0)));
		free(e);
	}
	st->n_top = 0;
	return rc;
}

/* ---- inner equi-join: symmetric hash join, bounded by `within` ---- */

int df__join_push(struct df_task *t, unsigned side, const union df_val *row, int64_t ts)
{
	const struct df_pop_spec *s = t->plan.ops[0];
	struct df_opstate *st = t->st[0];
	unsigned kw = s->key_width, lw = s->left_width, rw = s->right_width;
	unsigned vw = side ? rw : lw;
	const uint8_t *kinds = t->plan.in_kinds[side];
	struct ent *e, *o;
	struct jrow *r;

	if (s->within && st->wm != DF_WM_NONE && ts < st->wm - s->within) {
		t->stats.late_records++; /* nothing it could still meet is kept */
		return 0;
	}
	st->kb.len = st->vb.len = 0;
	df__row_encode(&st->kb, kinds, row, kw);
	df__row_encode(&st->vb, kinds + kw, row + kw, vw);
	if (st->kb.oom || st->vb.oom)
		return df__task_fail(t, SD_ENOMEM, "out of memory encoding a join row");
	uint64_t h = df__hash_bytes(st->kb.p, st->kb.len);
	uint32_t kl = (uint32_t)st->kb.len;
	if (!(e = df__ht_find(&st->tab[side], h, st->kb.p, kl, 0)) &&
	    !(e = df__ht_add(t, st, &st->tab[side], h, st->kb.p, kl, 0)))
		return t->err;
	if (!(r = malloc(sizeof(*r) + st->vb.len)))
		return df__task_fail(t, SD_ENOMEM, "out of memory for join state");
	r->ts = ts;
	r->len = (uint32_t)st->vb.len;
	memcpy(r->bytes, st->vb.p, st->vb.len);
	r->next = e->rows;
	e->rows = r;
	df__account(t, (int64_t)(sizeof(*r) + r->len));
	if (df__state_over(t))
		return df__op_over_budget(t, 0);
	if (!(o = df__ht_find(&st->tab[!side], h, st->kb.p, kl, 0)))
		return 0;
	/* the probe emits rows downstream; they cannot touch this operator's state */
	union df_val *mine = st->tmp + (side ? lw : 0), *theirs = st->tmp + (side ? 0 : lw);
	const uint8_t *okinds = t->plan.in_kinds[!side] + kw;
	unsigned ow = side ? lw : rw;
	memcpy(mine, row + kw, vw * sizeof(*row));
	for (struct jrow *q = o->rows; q; q = q->next) {
		int64_t d = ts > q->ts ? ts - q->ts : q->ts - ts;
		if (s->within && d > s->within)
			continue;
		df__row_decode(q->bytes, okinds, theirs, ow);
		if (df__run(t, 1, st->tmp, ts > q->ts ? ts : q->ts))
			return t->err;
	}
	return 0;
}

int df__join_evict(struct df_task *t, unsigned i, int64_t w)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	if (w > st->wm)
		st->wm = w;
	if (!s->within || w == INT64_MAX)
		return 0;
	int64_t limit = w - s->within;
	for (int k = 0; k < 2; k++) {
		struct htab *ht = &st->tab[k];
		size_t before = ht->n;
		for (size_t b = 0; b < ht->nb; b++) {
			struct ent *e = ht->s[b].e;
			if (!e)
				continue;
			for (struct jrow **rp = &e->rows; *rp;) {
				struct jrow *r = *rp;
				if (r->ts < limit) {
					*rp = r->next;
					df__account(t, -(int64_t)(sizeof(*r) + r->len));
					free(r);
				} else {
					rp = &r->next;
				}
			}
			if (!e->rows) {
				ht->s[b].e = NULL;
				ht->n--;
				df__ent_free(t, st, e);
			}
		}
		if (ht->n != before && df__ht_compact(t, ht))
			return t->err;
	}
	return 0;
}
