/*
 * dataflow/df_ops_agg.c — keyed aggregates: count, sum, min, max, avg and
 * reduce_by_key, unwindowed or in tumbling, sliding and session windows.
 *
 * Partial rows in:  (key, value)                 out: (key, [window_start], acc)
 * Final rows in:    (key, [window_start], acc)   out: (key, [start, end], result)
 * acc: count (int) | sum (v) | min/max (v) | avg (float sum, int count) | reduce (V)
 *
 * The task's calls reach these through df_ops.c (df__agg_push, df__agg_fire,
 * ...), except a flat_map's lists: df__op_push_many is here. Entries live in
 * the operator's hash table (df_ops.c) or, for one string key without a
 * window, in the dense table of df_ops_skt.c, which folds with df__acc_fold
 * from here. The table owns every entry and the string accumulators copied
 * into it; fired entries are freed as they are emitted.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_ops_priv.h"

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Sets acc slot j, copying strings into owned memory. */
static int acc_set(struct df_task *t, struct df_opstate *st, union df_val *acc, unsigned j,
		   union df_val v)
{
	if (st->acc_kinds[j] != DF_STR) {
		acc[j] = v;
		return 0;
	}
	char *p = malloc(v.s.n ? v.s.n : 1);
	if (!p)
		return df__task_fail(t, SD_ENOMEM, "out of memory for aggregate state");
	if (v.s.n)
		memcpy(p, v.s.p, v.s.n);
	df__account(t, (int64_t)v.s.n - (int64_t)acc[j].s.n);
	free((void *)acc[j].s.p);
	acc[j].s.p = p;
	acc[j].s.n = v.s.n;
	return 0;
}

/* Folds x (a raw value when partial, an accumulator when final) into acc. */
int df__acc_fold(struct df_task *t, struct df_opstate *st, const struct df_pop_spec *s,
		 union df_val *acc, const union df_val *x, bool raw)
{
	const char *why;
	int rc;
	switch (s->agg) {
	case AG_COUNT:
		acc[0].i += raw ? 1 : x[0].i;
		return 0;
	case AG_SUM:
		if (s->val_kind == DF_FLOAT)
			acc[0].f += x[0].f;
		else
			acc[0].i = (int64_t)((uint64_t)acc[0].i + (uint64_t)x[0].i);
		return 0;
	case AG_MIN:
	case AG_MAX: {
		int c = df__vcmp(s->val_kind, x[0], acc[0]);
		if ((s->agg == AG_MIN && c < 0) || (s->agg == AG_MAX && c > 0))
			return acc_set(t, st, acc, 0, x[0]);
		return 0;
	}
	case AG_AVG:
		acc[0].f += raw ? (s->val_kind == DF_FLOAT ? x[0].f : (double)x[0].i) : x[0].f;
		acc[1].i += raw ? 1 : x[1].i;
		return 0;
	default: /* reduce */
		memcpy(st->tmp2, acc, st->acc_w * sizeof(*x));
		memcpy(st->tmp2 + st->acc_w, x, st->acc_w * sizeof(*x));
		if ((rc = df__vm_run(s->prog, st->tmp2, st->tmp, &t->scratch, &why)))
			return df__task_fail(t, rc, "stage %u reduce: %s", t->plan.stage, why);
		for (unsigned j = 0; j < st->acc_w; j++)
			if ((rc = acc_set(t, st, acc, j, st->tmp[j])))
				return rc;
		return 0;
	}
}

struct ent *df__acc_new(struct df_task *t, struct df_opstate *st, struct htab *ht, uint64_t h,
			const uint8_t *k, uint32_t kl, const union df_val *acc)
{
	struct ent *e = df__ht_add(t, st, ht, h, k, kl, st->acc_w);
	if (!e)
		return NULL;
	for (unsigned j = 0; j < st->acc_w; j++)
		if (acc_set(t, st, e->acc, j, acc[j]))
			return NULL;
	return e;
}

/* Session windows (final): merge [ws, we) with every overlapping session of the key. */
static int session_merge(struct df_task *t, unsigned i, const uint8_t *k, uint32_t kl, uint64_t h,
			 int64_t ws, int64_t we, const union df_val *acc)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	struct htab *ht = &st->tab[0];
	struct ent *n;

	if (!(n = df__acc_new(t, st, ht, h, k, kl, acc)))
		return t->err;
	n->ws = ws;
	n->we = we;
	for (size_t mask = ht->nb - 1, j = h & mask; ht->s[j].e;) {
		struct ent *e = ht->s[j].e;
		if (e == n || ht->s[j].h != h || e->klen != kl ||
		    (kl && memcmp(df__ent_key(e, st->acc_w), k, kl)) || e->ws > n->we ||
		    n->ws > e->we) {
			j = (j + 1) & mask;
			continue;
		}
		n->ws = e->ws < n->ws ? e->ws : n->ws;
		n->we = e->we > n->we ? e->we : n->we;
		if (df__acc_fold(t, st, s, n->acc, e->acc, false))
			return t->err;
		df__ht_del_at(ht, j); /* a later entry may now sit at j: look again */
		df__ent_free(t, st, e);
	}
	if (n->we < st->min_end)
		st->min_end = n->we;
	return 0;
}

/* The common case — one string key, no window — looks the string up as it
 * is (hashing the raw bytes) and encodes the key only for a new entry. */
static int agg_str_fold(struct df_task *t, unsigned i, const char *p, uint32_t n, uint64_t h,
			const union df_val *x, bool raw)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	struct htab *ht = &st->tab[0];
	union df_val init[DF_WIDTH_MAX];
	struct ent *e;

	if (ht->nb)
		for (size_t mask = ht->nb - 1, j = h & mask; (e = ht->s[j].e); j = (j + 1) & mask)
			if (ht->s[j].h == h && e->klen == n + 4 &&
			    df__key_eq(df__ent_key(e, st->acc_w) + 4, p, n))
				return df__acc_fold(t, st, s, e->acc, x, raw);
	st->kb.len = 0;
	df__w_str(&st->kb, p, n);
	if (st->kb.oom)
		return df__task_fail(t, SD_ENOMEM, "out of memory encoding a key");
	if (raw)
		df__acc_first(s, x, init, st->acc_w);
	if (!(e = df__acc_new(t, st, ht, h, st->kb.p, n + 4, raw ? init : x)))
		return t->err;
	e->we = INT64_MAX;
	return 0;
}

/* Folds every queued lookup, oldest first. */
int df__agg_drain(struct df_task *t, unsigned i)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	int rc;

	t->pend_ops &= ~(1ull << i);
	while (st->n_pend) {
		const struct pend *q = &st->pend[st->pend_head];
		st->pend_head = (st->pend_head + 1) & (DF_AGG_PEND - 1);
		st->n_pend--;
		if ((rc = df__sk_fold(t, i, q->p, q->n, q->h, q->x, s->mode == M_PARTIAL)))
			return rc;
	}
	return 0;
}

/* Queues one lookup (aggregates whose values are scalars). The queue is a
 * software pipeline over a ring of DF_AGG_PEND lookups: a new key's home
 * slot is prefetched; half a ring later that slot is read and its entry
 * prefetched; a full ring later the key is folded — so the cache misses of
 * many keys overlap instead of stalling one after another. Keys are
 * borrowed until folded: the task drains the queue before the input or
 * scratch memory holding them goes away. */
static int agg_into_str(struct df_task *t, unsigned i, const union df_val *row,
			const union df_val *x, bool raw)
{
	struct df_opstate *st = t->st[i];
	const struct skt *sk = &st->sk;
	uint64_t h = df__hash_bytes(row[0].s.p, row[0].s.n);
	const unsigned mask = DF_AGG_PEND - 1;
	unsigned k;
	struct pend *q;

	if (!st->pend)
		return agg_str_fold(t, i, row[0].s.p, row[0].s.n, h, x, raw);
	k = (st->pend_head + st->n_pend++) & mask;
	q = &st->pend[k];
	q->p = row[0].s.p;
	q->n = row[0].s.n;
	q->h = h;
	if (st->pend_w)
		memcpy(q->x, x, st->pend_w * sizeof(*x));
	t->pend_ops |= 1ull << i;
	if (sk->nb) {
		__builtin_prefetch(&sk->s[h & (sk->nb - 1)]);
		if (st->n_pend > DF_AGG_PEND / 2) {
			const struct pend *m = &st->pend[(k - DF_AGG_PEND / 2) & mask];
			uint32_t id = sk->s[m->h & (sk->nb - 1)].id;
			if (id) {
				__builtin_prefetch(sk->acc + (size_t)(id - 1) * st->acc_w);
				if (m->n > 8)
					__builtin_prefetch(&sk->koff[id - 1]);
			}
		}
	}
	if (st->n_pend < DF_AGG_PEND)
		return 0;
	q = &st->pend[st->pend_head];
	st->pend_head = (st->pend_head + 1) & mask;
	st->n_pend--;
	return df__sk_fold(t, i, q->p, q->n, q->h, q->x, raw);
}

static int agg_into(struct df_task *t, unsigned i, const union df_val *row, int64_t ws,
		    const union df_val *x, bool raw)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	int64_t we = s->win == W_NONE ? INT64_MAX : ws + s->win_size;
	struct ent *e;

	if (s->win != W_NONE && we <= st->wm) {
		t->stats.late_records++;
		return 0;
	}
	st->kb.len = 0;
	df__row_encode(&st->kb, s->in_kinds, row, s->key_width);
	if (s->win != W_NONE && s->win != W_SESSION)
		df__w_bytes(&st->kb, &ws, 8);
	if (st->kb.oom)
		return df__task_fail(t, SD_ENOMEM, "out of memory encoding a key");
	uint64_t h = df__hash_bytes(st->kb.p, st->kb.len);
	if (s->win == W_SESSION) {
		if (raw) /* cannot happen: session partials emit directly */
			return df__task_fail(t, SD_EINTERNAL, "raw row in a session window");
		return session_merge(t, i, st->kb.p, (uint32_t)st->kb.len, h, ws, we, x);
	}
	if ((e = df__ht_find(&st->tab[0], h, st->kb.p, (uint32_t)st->kb.len, st->acc_w)))
		return df__acc_fold(t, st, s, e->acc, x, raw);
	union df_val init[DF_WIDTH_MAX];
	if (raw)
		df__acc_first(s, x, init, st->acc_w);
	if (!(e = df__acc_new(t, st, &st->tab[0], h, st->kb.p, (uint32_t)st->kb.len,
			      raw ? init : x)))
		return t->err;
	e->ws = ws;
	e->we = we;
	if (we < st->min_end)
		st->min_end = we;
	return 0;
}

int df__agg_push(struct df_task *t, unsigned i, const union df_val *row, int64_t ts)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	unsigned kw = s->key_width;
	int rc = 0;

	if (s->win == W_NONE && kw == 1 && s->in_kinds[0] == DF_STR) {
		rc = agg_into_str(t, i, row, row + 1, s->mode == M_PARTIAL);
	} else if (s->mode == M_FINAL) {
		int64_t ws = s->win != W_NONE ? row[kw].i : 0;
		rc = agg_into(t, i, row, ws, row + kw + (s->win != W_NONE), false);
	} else if (s->win == W_NONE) {
		rc = agg_into(t, i, row, 0, row + kw, true);
	} else if (s->win == W_SESSION) {
		if (ts + s->win_size <= st->wm) {
			t->stats.late_records++;
			return 0;
		}
		memcpy(st->tmp, row, kw * sizeof(*row));
		st->tmp[kw].i = ts;
		df__acc_first(s, row + kw, st->tmp + kw + 1, st->acc_w);
		return df__run(t, i + 1, st->tmp, ts);
	} else {
		int64_t last = floor_div(ts, s->win_step) * s->win_step;
		for (int64_t ws = last; ws > ts - s->win_size && !rc; ws -= s->win_step)
			rc = agg_into(t, i, row, ws, row + kw, true);
	}
	if (rc)
		return rc;
	if (df__state_over(t)) {
		if (s->mode == M_PARTIAL) /* a combiner may always pass its partials on */
			return df__agg_fire(t, i, INT64_MAX, true);
		return df__op_over_budget(t, i);
	}
	return 0;
}

/* Rows of a flat_map's list for an aggregate that queues (df__op_push_many):
 * the checks df__agg_push makes per row are made once for the list. */
static int agg_push_many(struct df_task *t, unsigned i, const union df_val *el, uint32_t n,
			 unsigned w, const uint16_t *pj, union df_val *tmp)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	bool raw = s->mode == M_PARTIAL;
	int rc;

	for (uint32_t k = 0; k < n; k++) {
		const union df_val *row = el + (size_t)k * w;
		if (pj) {
			for (unsigned m = 0; m < s->in_width; m++)
				tmp[m] = row[pj[m]];
			row = tmp;
		}
		if ((rc = agg_into_str(t, i, row, row + 1, raw)))
			return rc;
	}
	if (df__state_over(t)) {
		if (raw) /* a combiner may always pass its partials on */
			return df__agg_fire(t, i, INT64_MAX, true);
		return df__op_over_budget(t, i);
	}
	return 0;
}

/* The task's call for a flat_map's list (df_task_priv.h). It lives here, not
 * with the other calls in df_ops.c, because its fast path is the
 * aggregates' lookup queue: agg_push_many inlines into it, so a list costs
 * one call, not two. Other operators take the rows one by one. */
int df__op_push_many(struct df_task *t, unsigned i, const union df_val *el, uint32_t n, unsigned w,
		     const uint16_t *pj, union df_val *tmp, int64_t ts)
{
	if (t->plan.ops[i]->kind == P_AGG && t->st[i]->pend)
		return agg_push_many(t, i, el, n, w, pj, tmp);
	for (uint32_t k = 0; k < n; k++) {
		const union df_val *row = el + (size_t)k * w;
		int rc;
		if (pj) {
			for (unsigned m = 0; m < t->plan.ops[i]->in_width; m++)
				tmp[m] = row[pj[m]];
			row = tmp;
		}
		if ((rc = df__op_push(t, i, row, ts)))
			return rc;
	}
	return 0;
}

struct fired {
	struct ent *e;
	const uint8_t *k;
};

static int fired_cmp(const void *a, const void *b)
{
	const struct fired *x = a, *y = b;
	if (x->e->ws != y->e->ws)
		return x->e->ws < y->e->ws ? -1 : 1;
	uint32_t n = x->e->klen < y->e->klen ? x->e->klen : y->e->klen;
	int c = n ? memcmp(x->k, y->k, n) : 0;
	return c ? c : (x->e->klen > y->e->klen) - (x->e->klen < y->e->klen);
}

static int agg_emit(struct df_task *t, unsigned i, struct ent *e)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	unsigned kw = s->key_width, o = kw;
	union df_val *r = st->tmp;

	df__row_decode(df__ent_key(e, st->acc_w), s->in_kinds, r, kw);
	if (s->win != W_NONE) {
		r[o++].i = e->ws;
		if (s->mode == M_FINAL)
			r[o++].i = e->we;
	}
	if (s->mode == M_PARTIAL) {
		memcpy(r + o, e->acc, st->acc_w * sizeof(*r));
	} else if (s->agg == AG_AVG) {
		r[o].f = e->acc[1].i ? e->acc[0].f / (double)e->acc[1].i : 0.0;
	} else {
		memcpy(r + o, e->acc, (s->agg == AG_REDUCE ? st->acc_w : 1) * sizeof(*r));
	}
	return df__run(t, i + 1, r, s->win != W_NONE ? e->we - 1 : 0);
}

/* Emits (and frees) every entry whose window ended by w; all = every entry. */
int df__agg_fire(struct df_task *t, unsigned i, int64_t w, bool all)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	struct htab *ht = &st->tab[0];
	struct fired *f;
	size_t n = 0;
	int rc = 0;

	if (st->n_pend && (rc = df__agg_drain(t, i)))
		return rc;
	if (!all && w > st->wm)
		st->wm = w;
	if (st->pend) /* the dense table: unwindowed, so only the end fires it */
		return all ? df__sk_fire(t, i) : 0;
	if (!all && (s->win == W_NONE || st->min_end > w))
		return 0;
	if (ht->n == 0)
		return 0;
	if (!(f = malloc(sizeof(*f) * ht->n)))
		return df__task_fail(t, SD_ENOMEM, "out of memory firing windows");
	st->min_end = INT64_MAX;
	for (size_t b = 0; b < ht->nb; b++) {
		struct ent *e = ht->s[b].e;
		if (!e)
			continue;
		if (all || e->we <= w) {
			ht->s[b].e = NULL;
			ht->n--;
			f[n].e = e;
			f[n++].k = df__ent_key(e, st->acc_w);
		} else if (e->we < st->min_end) {
			st->min_end = e->we;
		}
	}
	if (ht->n == 0) {
		free(ht->s);
		df__account(t, -(int64_t)(ht->nb * sizeof(*ht->s)));
		ht->s = NULL;
		ht->nb = 0;
	} else if (df__ht_compact(t, ht)) {
		free(f);
		return t->err;
	}
	if (s->win != W_NONE) /* windows come out in time order; plain keys need no order */
		qsort(f, n, sizeof(*f), fired_cmp);
	for (size_t k = 0; k < n; k++) {
		if (!rc)
			rc = agg_emit(t, i, f[k].e);
		df__ent_free(t, st, f[k].e);
	}
	free(f);
	if (st->use_slab && ht->n == 0)
		df__arena_reset(&st->slab); /* every entry is gone */
	return rc;
}
