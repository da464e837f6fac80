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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_task_priv.h"

struct ent {
	struct ent *next;
	uint64_t h;
	uint32_t klen;
	int64_t ws, we;
	struct jrow *rows;  /* join */
	union df_val acc[]; /* acc_w slots, then klen key bytes */
};

struct jrow {
	struct jrow *next;
	int64_t ts;
	uint32_t len;
	uint8_t bytes[];
};

struct htab {
	struct ent **b;
	size_t nb, n;
};

struct topent {
	union df_val key;
	uint32_t len;
	uint8_t bytes[]; /* row bytes, then the key string when it is one */
};

struct df_opstate {
	struct htab tab[2];
	struct df_wbuf kb, vb;
	unsigned acc_w;
	uint8_t acc_kinds[DF_WIDTH_MAX];
	int64_t wm, min_end;
	struct topent **top;
	uint32_t n_top;
	union df_val tmp[2 * DF_WIDTH_MAX + 4];
	union df_val tmp2[DF_WIDTH_MAX + 4];
};

static uint8_t *ekey(struct ent *e, unsigned acc_w)
{
	return (uint8_t *)(e->acc + acc_w);
}

static void account(struct df_task *t, int64_t n)
{
	t->stats.state_bytes = (uint64_t)((int64_t)t->stats.state_bytes + n);
}

static int over_budget(struct df_task *t, unsigned i)
{
	return df_task_fail(
		t, SD_ELIMIT,
		"stage %u operator %u: state of %llu bytes exceeds the memory budget of "
		"%llu bytes; give the task more memory or the stage more partitions",
		t->plan.stage, i, (unsigned long long)t->stats.state_bytes,
		(unsigned long long)t->budget);
}

/* ---- hash table ---- */

static struct ent **ht_slot(struct htab *ht, uint64_t h)
{
	return &ht->b[h & (ht->nb - 1)];
}

static struct ent *ht_find(struct htab *ht, uint64_t h, const uint8_t *k, uint32_t kl,
			   unsigned acc_w)
{
	for (struct ent *e = *ht_slot(ht, h); e; e = e->next)
		if (e->h == h && e->klen == kl && (kl == 0 || memcmp(ekey(e, acc_w), k, kl) == 0))
			return e;
	return NULL;
}

static int ht_grow(struct df_task *t, struct htab *ht)
{
	size_t nb = ht->nb ? ht->nb * 2 : 1024;
	struct ent **b = calloc(nb, sizeof(*b));
	if (!b)
		return df_task_fail(t, SD_ENOMEM, "out of memory growing a hash table");
	for (size_t i = 0; i < ht->nb; i++)
		for (struct ent *e = ht->b[i], *n; e; e = n) {
			n = e->next;
			e->next = b[e->h & (nb - 1)];
			b[e->h & (nb - 1)] = e;
		}
	account(t, (int64_t)((nb - ht->nb) * sizeof(*b)));
	free(ht->b);
	ht->b = b;
	ht->nb = nb;
	return 0;
}

static struct ent *ht_add(struct df_task *t, struct htab *ht, uint64_t h, const uint8_t *k,
			  uint32_t kl, unsigned acc_w)
{
	struct ent *e;
	size_t sz = sizeof(*e) + acc_w * sizeof(union df_val) + kl;
	if ((ht->n >= ht->nb && ht_grow(t, ht)) || !(e = calloc(1, sz))) {
		df_task_fail(t, SD_ENOMEM, "out of memory for operator state");
		return NULL;
	}
	e->h = h;
	e->klen = kl;
	if (kl)
		memcpy(ekey(e, acc_w), k, kl);
	e->next = *ht_slot(ht, h);
	*ht_slot(ht, h) = e;
	ht->n++;
	account(t, (int64_t)sz);
	return e;
}

static void ent_free(struct df_task *t, struct df_opstate *st, struct ent *e)
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
	account(t, -sz);
	free(e);
}

/* Unlinks e from its chain. */
static void ht_unlink(struct htab *ht, struct ent *e)
{
	struct ent **pp = ht_slot(ht, e->h);
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	ht->n--;
}

/* ---- open / close ---- */

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

int df_op_open(struct df_task *t, unsigned i)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = calloc(1, sizeof(*st));
	if (!st)
		return SD_ENOMEM;
	t->st[i] = st;
	st->wm = DF_WM_NONE;
	st->min_end = INT64_MAX;
	if (s->kind == P_AGG && !agg_layout_ok(s, st))
		return SD_EPROTO;
	if (s->kind == P_TOP &&
	    (s->top_n == 0 || s->val_kind == DF_BOOL || s->in_width != s->out_width ||
	     memcmp(s->in_kinds, s->out_kinds, s->in_width)))
		return SD_EPROTO;
	if (s->kind == P_DISTINCT &&
	    (s->in_width != s->out_width || memcmp(s->in_kinds, s->out_kinds, s->in_width)))
		return SD_EPROTO;
	if (s->kind == P_TOP && !(st->top = calloc(s->top_n + 1, sizeof(*st->top))))
		return SD_ENOMEM;
	return 0;
}

void df_op_close(struct df_task *t, unsigned i)
{
	struct df_opstate *st = t->st[i];
	if (!st)
		return;
	for (int k = 0; k < 2; k++) {
		for (size_t b = 0; b < st->tab[k].nb; b++)
			for (struct ent *e = st->tab[k].b[b], *n; e; e = n) {
				n = e->next;
				ent_free(t, st, e);
			}
		free(st->tab[k].b);
	}
	for (uint32_t k = 0; k < st->n_top; k++)
		free(st->top[k]);
	free(st->top);
	free(st->kb.p);
	free(st->vb.p);
	free(st);
	t->st[i] = NULL;
}

#include "dataflow/df_ops_agg.inc"
#include "dataflow/df_ops_misc.inc"

int df_op_push(struct df_task *t, unsigned i, const union df_val *row, int64_t ts)
{
	switch (t->plan.ops[i]->kind) {
	case P_AGG:
		return agg_push(t, i, row, ts);
	case P_DISTINCT:
		return distinct_push(t, i, row, ts);
	case P_TOP:
		return top_push(t, i, row);
	default:
		return df_task_fail(t, SD_EPROTO, "operator %u cannot take rows here", i);
	}
}

int df_op_watermark(struct df_task *t, unsigned i, int64_t wm)
{
	switch (t->plan.ops[i]->kind) {
	case P_AGG:
		return agg_fire(t, i, wm, false);
	case P_JOIN:
		return join_evict(t, i, wm);
	default:
		return 0;
	}
}

int df_op_finish(struct df_task *t, unsigned i)
{
	switch (t->plan.ops[i]->kind) {
	case P_AGG:
		return agg_fire(t, i, INT64_MAX, true);
	case P_TOP:
		return top_emit(t, i);
	default:
		return 0;
	}
}
