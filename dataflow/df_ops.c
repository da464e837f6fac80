/*
 * dataflow/df_ops.c — the stateful operators: keyed aggregates (optionally
 * windowed: tumbling, sliding, session), distinct, top(n) and the inner
 * equi-join. State lives in chained hash tables of malloc'd entries whose
 * bytes count against the task's memory budget: a partial aggregate
 * (combiner) spills its partials downstream when over budget, every other
 * operator fails the task with SD_ELIMIT and says so.
 *
 * Entries are emitted in a deterministic order (by window, then key bytes)
 * so outputs do not depend on hash table layout.
 *
 * This file opens and closes an operator's state (struct df_opstate, owned
 * by the task through t->st[i]), keeps its hash table and hands the task's
 * calls to the operators: df_ops_agg.c (aggregates), df_ops_skt.c (their
 * dense string-key table), df_ops_misc.c (distinct, top, join). Checkpoints
 * of all this state are written and read by df_ops_snap.c; the structs they
 * share are in df_ops_priv.h.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_ops_priv.h"

int df__op_over_budget(struct df_task *t, unsigned i)
{
	return df__task_fail(
		t, SD_ELIMIT,
		"stage %u operator %u: state of %llu bytes exceeds the memory budget of "
		"%llu bytes; give the task more memory or the stage more partitions",
		t->plan.stage, i, (unsigned long long)t->stats.state_bytes,
		(unsigned long long)t->budget);
}

/* ---- hash table ---- */

static void ht_place(struct slot *s, size_t nb, struct ent *e)
{
	size_t i = e->h & (nb - 1);
	while (s[i].e)
		i = (i + 1) & (nb - 1);
	s[i].h = e->h;
	s[i].e = e;
}

/* Rebuilds the table with nb slots from its non-empty slots. */
int df__ht_resize(struct df_task *t, struct htab *ht, size_t nb)
{
	struct slot *s = calloc(nb, sizeof(*s));
	if (!s)
		return df__task_fail(t, SD_ENOMEM, "out of memory growing a hash table");
	for (size_t i = 0; i < ht->nb; i++)
		if (ht->s[i].e)
			ht_place(s, nb, ht->s[i].e);
	df__account(t, (int64_t)((nb - ht->nb) * sizeof(*s)));
	free(ht->s);
	ht->s = s;
	ht->nb = nb;
	return 0;
}

struct ent *df__ht_add(struct df_task *t, struct df_opstate *st, struct htab *ht, uint64_t h,
		       const uint8_t *k, uint32_t kl, unsigned acc_w)
{
	struct ent *e;
	size_t sz = sizeof(*e) + acc_w * sizeof(union df_val) + kl;
	if ((ht->n + 1) * 4 > ht->nb * 3 && df__ht_resize(t, ht, ht->nb ? ht->nb * 2 : DF_HT_MIN))
		return NULL;
	e = st->use_slab ? df__arena_alloc(&st->slab, sz) : calloc(1, sz);
	if (!e) {
		df__task_fail(t, SD_ENOMEM, "out of memory for operator state");
		return NULL;
	}
	e->h = h;
	e->klen = kl;
	if (kl)
		memcpy(df__ent_key(e, acc_w), k, kl);
	ht_place(ht->s, ht->nb, e);
	ht->n++;
	df__account(t, (int64_t)sz);
	return e;
}

void df__ent_free(struct df_task *t, struct df_opstate *st, struct ent *e)
{
	int64_t sz = (int64_t)(sizeof(*e) + st->acc_w * sizeof(union df_val) + e->klen);
	for (unsigned j = 0; j < st->acc_w; j++)
		if (st->acc_kinds[j] == DF_STR) {
			sz += e->acc[j].s.n;
			free((void *)e->acc[j].s.p);
		}
	for (struct jrow *r = e->rows, *n; r; r = n) {
		n = r->next;
		sz += (int64_t)(sizeof(*r) + r->len);
		free(r);
	}
	df__account(t, -sz);
	if (!st->use_slab)
		free(e);
}

/* ---- open and close ---- */

/* The accumulator kinds an aggregate implies (partial out = final in). */
static unsigned acc_kinds_of(const struct df_pop_spec *s, const uint8_t *val_kinds, unsigned vw,
			     uint8_t *out)
{
	switch (s->agg) {
	case AG_COUNT:
		out[0] = DF_INT;
		return 1;
	case AG_AVG:
		out[0] = DF_FLOAT;
		out[1] = DF_INT;
		return 2;
	case AG_REDUCE:
		memcpy(out, val_kinds, vw);
		return vw;
	default:
		out[0] = s->val_kind;
		return 1;
	}
}

/* Plans come over the network: an aggregate's row layouts must agree with
 * what it computes, or it would mistake numbers for strings. */
static bool agg_layout_ok(const struct df_pop_spec *s, struct df_opstate *st)
{
	unsigned kw = s->key_width, w = s->win != W_NONE, rw;
	uint8_t res[DF_WIDTH_MAX];
	const uint8_t *acc_src;

	if ((s->agg == AG_SUM || s->agg == AG_AVG) && s->val_kind != DF_INT &&
	    s->val_kind != DF_FLOAT)
		return false;
	if (s->mode == M_PARTIAL) {
		unsigned vw = s->agg == AG_COUNT ? 0 : s->in_width - kw;
		if (kw > s->in_width || (s->agg != AG_COUNT && s->agg != AG_REDUCE && vw != 1) ||
		    (vw == 1 && s->agg != AG_REDUCE && s->in_kinds[kw] != s->val_kind) ||
		    (s->agg == AG_COUNT && s->in_width != kw))
			return false;
		st->acc_w = acc_kinds_of(s, s->in_kinds + kw, vw, st->acc_kinds);
		if (s->out_width != kw + w + st->acc_w ||
		    memcmp(s->out_kinds + kw + w, st->acc_kinds, st->acc_w))
			return false;
		acc_src = s->out_kinds;
	} else {
		if (s->in_width < kw + w)
			return false;
		st->acc_w = s->in_width - kw - w;
		memcpy(st->acc_kinds, s->in_kinds + kw + w, st->acc_w);
		if (acc_kinds_of(s, st->acc_kinds, st->acc_w, res) != st->acc_w ||
		    memcmp(res, st->acc_kinds, st->acc_w))
			return false;
		rw = s->agg == AG_AVG ? 1 : s->agg == AG_REDUCE ? st->acc_w : 1;
		if (s->agg == AG_AVG)
			res[0] = DF_FLOAT;
		if (s->out_width != kw + 2 * w + rw || memcmp(s->out_kinds + kw + 2 * w, res, rw))
			return false;
		for (unsigned k = 0; k < 2 * w; k++)
			if (s->out_kinds[kw + k] != DF_TIME)
				return false;
		acc_src = s->in_kinds;
	}
	if (w && s->in_kinds[kw] != DF_TIME && s->mode == M_FINAL)
		return false;
	if (w && s->mode == M_PARTIAL && s->out_kinds[kw] != DF_TIME)
		return false;
	if (memcmp(s->out_kinds, s->in_kinds, kw) || acc_src == NULL)
		return false;
	if (s->agg == AG_REDUCE &&
	    (!s->prog || s->prog->in_width != 2 * st->acc_w || s->prog->out_width != st->acc_w ||
	     2 * st->acc_w > DF_WIDTH_MAX))
		return false;
	if (s->win != W_NONE && (s->win_size <= 0 || s->win_step <= 0 || s->win_size % s->win_step))
		return s->win == W_SESSION && s->win_size > 0;
	return true;
}

/* Unwindowed aggregates of one string key with scalar values queue their
 * lookups (df_ops_agg.c): their folds need nothing but the queued copy. */
static int agg_queue_open(const struct df_pop_spec *s, struct df_opstate *st)
{
	unsigned vw =
		s->mode == M_PARTIAL ? (s->agg == AG_COUNT ? 0u : s->in_width - 1u) : st->acc_w;
	if (s->win != W_NONE || s->key_width != 1 || s->in_kinds[0] != DF_STR ||
	    s->agg == AG_REDUCE || vw > 2 || 1 + vw > s->in_width)
		return 0;
	for (unsigned j = 0; j < vw; j++)
		if (s->in_kinds[1 + j] == DF_STR)
			return 0;
	for (unsigned j = 0; j < st->acc_w; j++)
		if (st->acc_kinds[j] == DF_STR)
			return 0;
	st->pend_w = vw;
	return (st->pend = malloc(DF_AGG_PEND * sizeof(*st->pend))) ? 0 : SD_ENOMEM;
}

int df__op_open(struct df_task *t, unsigned i)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = calloc(1, sizeof(*st));
	int rc;
	if (!st)
		return SD_ENOMEM;
	t->st[i] = st;
	st->wm = DF_WM_NONE;
	st->min_end = INT64_MAX;
	if (s->kind == P_AGG && !agg_layout_ok(s, st))
		return SD_EPROTO;
	st->use_slab = (s->kind == P_AGG && s->win == W_NONE) || s->kind == P_DISTINCT;
	if (s->kind == P_TOP &&
	    (s->top_n == 0 || s->val_kind == DF_BOOL || s->in_width != s->out_width ||
	     memcmp(s->in_kinds, s->out_kinds, s->in_width)))
		return SD_EPROTO;
	if (s->kind == P_DISTINCT &&
	    (s->in_width != s->out_width || memcmp(s->in_kinds, s->out_kinds, s->in_width)))
		return SD_EPROTO;
	if (s->kind == P_AGG && (rc = agg_queue_open(s, st)))
		return rc;
	if (s->kind == P_TOP && !(st->top = calloc(s->top_n + 1, sizeof(*st->top))))
		return SD_ENOMEM;
	return 0;
}

void df__op_close(struct df_task *t, unsigned i)
{
	struct df_opstate *st = t->st[i];
	if (!st)
		return;
	for (int k = 0; k < 2; k++) {
		for (size_t b = 0; b < st->tab[k].nb; b++)
			if (st->tab[k].s[b].e)
				df__ent_free(t, st, st->tab[k].s[b].e);
		free(st->tab[k].s);
	}
	for (uint32_t k = 0; k < st->n_top; k++)
		free(st->top[k]);
	free(st->top);
	free(st->pend);
	df__sk_free(t, &st->sk);
	df__arena_free(&st->slab);
	free(st->kb.p);
	free(st->vb.p);
	free(st);
	t->st[i] = NULL;
}

/* ---- the task's calls, handed to the operators ---- */

int df__op_push(struct df_task *t, unsigned i, const union df_val *row, int64_t ts)
{
	switch (t->plan.ops[i]->kind) {
	case P_AGG:
		return df__agg_push(t, i, row, ts);
	case P_DISTINCT:
		return df__distinct_push(t, i, row, ts);
	case P_TOP:
		return df__top_push(t, i, row);
	default:
		return df__task_fail(t, SD_EPROTO, "operator %u cannot take rows here", i);
	}
}

int df__op_drain(struct df_task *t)
{
	while (t->pend_ops) {
		unsigned i = (unsigned)__builtin_ctzll(t->pend_ops);
		if (t->st[i] && t->st[i]->n_pend && df__agg_drain(t, i))
			return t->err;
		t->pend_ops &= ~(1ull << i);
	}
	return t->err;
}

int df__op_watermark(struct df_task *t, unsigned i, int64_t wm)
{
	switch (t->plan.ops[i]->kind) {
	case P_AGG:
		return df__agg_fire(t, i, wm, false);
	case P_JOIN:
		return df__join_evict(t, i, wm);
	default:
		return 0;
	}
}

int df__op_finish(struct df_task *t, unsigned i)
{
	switch (t->plan.ops[i]->kind) {
	case P_AGG:
		return df__agg_fire(t, i, INT64_MAX, true);
	case P_TOP:
		return df__top_emit(t, i);
	default:
		return 0;
	}
}
