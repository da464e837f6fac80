/*
 * dataflow/df_ops_snap.c — the stateful operators' part of a checkpoint
 * (df__op_snapshot and df__op_restore, called by df_snap.c, which writes the
 * task's part, the header and the sections; the format is described in
 * dataflow.h). Writing borrows the operator's state; restoring fills the
 * empty state of a freshly opened task, which then owns what was read.
 *
 * One section body per stateful operator, read back through the operators'
 * own insert paths (df__ht_add, df__acc_new, df__sk_fold, df__top_push), so memory
 * accounting and every table invariant hold after a restore exactly as after
 * the input that made the state. The body:
 *
 *   i64 wm | i64 min_end | the operator's tables
 *   hash table:   u64 slots | u64 entries | entries in probe order
 *     aggregate:  u32 n, key (n bytes) | session: i64 start, i64 end | accumulators
 *     distinct:   u32 n, row (n bytes)
 *     join:       u32 n, key | u32 rows | per row, newest first: i64 ts, u32 n, value bytes
 *   dense string-key table (aggregates that queue lookups):
 *                 u32 entries | in insertion order: u32 n, key bytes | accumulators
 *   top:          u32 rows | per row, best first: u32 n, row bytes
 *
 * Keys and rows are the operators' own row encoding (batch field encoding),
 * accumulators are fields of their kinds; every one is checked against its
 * kinds and the section's length before use.
 *
 * Order is kept wherever output depends on it. Hash table entries are written
 * cyclically from the first empty slot, so no probe run is cut: inserted in
 * that order into a table of the same slot count every entry lands in its old
 * slot (unwindowed aggregates fire in slot order), and in any table entries
 * of one hash keep their probe order (session merges fold in it). The dense
 * table and join rows keep their order; top re-sorts by its own rule.
 *
 * Cost: O(state) time both ways; the section is about the size of the
 * entries' keys and values (no pointers, slots or padding).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_ops_priv.h"

/* ---- values and rows ---- */

static void sw_vals(struct df_sw *w, const uint8_t *kinds, const union df_val *v, unsigned n)
{
	for (unsigned j = 0; j < n; j++) {
		if (kinds[j] == DF_STR) {
			df__sw_u32(w, v[j].s.n);
			df__sw_bytes(w, v[j].s.p, v[j].s.n);
		} else if (kinds[j] == DF_BOOL) {
			df__sw_u8(w, v[j].i != 0);
		} else {
			df__sw_u64(w, (uint64_t)v[j].i);
		}
	}
}

/* Strings in v point into r's bytes (the caller copies what it keeps). */
static bool sr_vals(struct df_rbuf *r, const uint8_t *kinds, union df_val *v, unsigned n)
{
	for (unsigned j = 0; j < n && !r->bad; j++) {
		if (kinds[j] == DF_STR) {
			uint32_t l = df__r_u32(r);
			v[j].s.p = (const char *)df__r_bytes(r, l);
			v[j].s.n = l;
		} else if (kinds[j] == DF_BOOL) {
			v[j].i = df__r_u8(r) != 0;
		} else {
			v[j].i = (int64_t)df__r_u64(r);
		}
	}
	return !r->bad;
}

static int64_t sr_i64(struct df_rbuf *r)
{
	return (int64_t)df__r_u64(r);
}

/* p[len] is exactly n fields of the given kinds (what df__row_decode reads). */
static bool row_bytes_ok(const uint8_t *p, size_t len, const uint8_t *kinds, unsigned n)
{
	struct df_rbuf r = {p, len, 0, false};
	for (unsigned j = 0; j < n && !r.bad; j++) {
		if (kinds[j] == DF_STR)
			df__r_bytes(&r, df__r_u32(&r));
		else
			df__r_bytes(&r, kinds[j] == DF_BOOL ? 1 : 8);
	}
	return !r.bad && r.off == len;
}

/* A key or row: u32 length and its bytes, checked against kinds[n]
 * (plus `tail` raw bytes after them). NULL when malformed. */
static const uint8_t *sr_row(struct df_rbuf *r, const uint8_t *kinds, unsigned n, uint32_t tail,
			     uint32_t *len)
{
	uint32_t l = df__r_u32(r);
	const uint8_t *p = df__r_bytes(r, l);
	if (!p || l < tail || !row_bytes_ok(p, l - tail, kinds, n))
		return NULL;
	*len = l;
	return p;
}

/* ---- hash tables ---- */

/* The entries of ht in probe order: from the slot after the first empty one. */
static void sw_table(struct df_sw *w, const struct df_task *t, unsigned i, const struct htab *ht,
		     void (*ent)(struct df_sw *, const struct df_task *, unsigned, struct ent *))
{
	size_t z = 0;
	df__sw_u64(w, ht->nb);
	df__sw_u64(w, ht->n);
	if (!ht->n)
		return;
	while (ht->s[z].e) /* one exists: n < nb * 3 / 4 */
		z++;
	for (size_t k = 1; k < ht->nb; k++) {
		struct ent *e = ht->s[(z + k) & (ht->nb - 1)].e;
		if (e)
			ent(w, t, i, e);
	}
}

/* Reads a table's slot and entry counts and sizes ht for them; min_ent: the
 * fewest bytes one entry takes, so the count is checked before any memory. */
static int sr_table(struct df_task *t, struct htab *ht, struct df_rbuf *r, size_t min_ent,
		    uint64_t *n)
{
	uint64_t nb = df__r_u64(r), cnt = df__r_u64(r);
	if (r->bad || cnt > (r->len - r->off) / min_ent)
		return SD_EPROTO;
	if (nb == 0 ? cnt != 0 : (nb & (nb - 1)) || nb < DF_HT_MIN || cnt > nb / 4 * 3)
		return SD_EPROTO;
	assert(ht->nb == 0 && ht->n == 0);
	if (nb / DF_SNAP_SPARSE > cnt && nb > DF_HT_MIN) /* the smallest table that holds them */
		for (nb = DF_HT_MIN; cnt > nb / 4 * 3;)
			nb *= 2;
	*n = cnt;
	return nb ? df__ht_resize(t, ht, (size_t)nb) : 0;
}

/* ---- aggregates ---- */

#define SNAP_COUNT_MAX (INT64_C(1) << 62) /* records: more than any count can reach */

/* Counts are added to with signed arithmetic: keep them far from overflow. */
static bool acc_ok(const struct df_pop_spec *s, const union df_val *acc)
{
	const union df_val *n = s->agg == AG_COUNT ? &acc[0] : s->agg == AG_AVG ? &acc[1] : NULL;
	return !n || (n->i >= 0 && n->i <= SNAP_COUNT_MAX);
}

static void sw_agg_ent(struct df_sw *w, const struct df_task *t, unsigned i, struct ent *e)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	const struct df_opstate *st = t->st[i];
	df__sw_u32(w, e->klen);
	df__sw_bytes(w, df__ent_key(e, st->acc_w), e->klen);
	if (s->win == W_SESSION) {
		df__sw_u64(w, (uint64_t)e->ws);
		df__sw_u64(w, (uint64_t)e->we);
	}
	sw_vals(w, st->acc_kinds, e->acc, st->acc_w);
}

/* One entry's window [ws, we) from the section (session) or its key. */
static bool sr_window(struct df_rbuf *r, const struct df_pop_spec *s, const uint8_t *key,
		      uint32_t kl, int64_t *ws, int64_t *we)
{
	*ws = 0;
	*we = INT64_MAX;
	if (s->win == W_SESSION) {
		*ws = sr_i64(r);
		*we = sr_i64(r);
		return !r->bad && *ws <= *we && *we > INT64_MIN;
	}
	if (s->win == W_NONE)
		return true;
	memcpy(ws, key + kl - 8, 8); /* tumbling and sliding keys end in the start */
	return !__builtin_add_overflow(*ws, s->win_size, we);
}

static int sr_agg_table(struct df_task *t, unsigned i, struct df_rbuf *r)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	struct htab *ht = &st->tab[0];
	/* one string key, no window: hashed as the raw string (agg_str_fold) */
	bool raw_str = s->win == W_NONE && s->key_width == 1 && s->in_kinds[0] == DF_STR;
	uint32_t tail = s->win == W_TUMBLING || s->win == W_SLIDING ? 8 : 0;
	union df_val acc[DF_WIDTH_MAX];
	int64_t min_end = INT64_MAX;
	uint64_t n;
	int rc;

	if ((rc = sr_table(t, ht, r, 4 + st->acc_w, &n)))
		return rc;
	for (uint64_t k = 0; k < n; k++) {
		uint32_t kl;
		int64_t ws, we;
		struct ent *e;
		const uint8_t *key = sr_row(r, s->in_kinds, s->key_width, tail, &kl);
		if (!key || !sr_window(r, s, key, kl, &ws, &we) ||
		    !sr_vals(r, st->acc_kinds, acc, st->acc_w) || !acc_ok(s, acc))
			return SD_EPROTO;
		uint64_t h = raw_str ? df__hash_bytes(key + 4, kl - 4) : df__hash_bytes(key, kl);
		if (s->win != W_SESSION && df__ht_find(ht, h, key, kl, st->acc_w))
			return SD_EPROTO; /* a key twice */
		if (!(e = df__acc_new(t, st, ht, h, key, kl, acc)))
			return t->err;
		e->ws = ws;
		e->we = we;
		min_end = we < min_end ? we : min_end;
	}
	if (min_end < st->min_end) /* a lower bound: never above an entry's end */
		st->min_end = min_end;
	return 0;
}

static void sw_skt(struct df_sw *w, const struct df_opstate *st)
{
	const struct skt *sk = &st->sk;
	df__sw_u32(w, sk->n);
	for (uint32_t id = 0; id < sk->n; id++) {
		size_t kl = sk->koff[id + 1] - sk->koff[id];
		df__sw_u32(w, (uint32_t)kl);
		df__sw_bytes(w, sk->keys + sk->koff[id], kl);
		sw_vals(w, st->acc_kinds, sk->acc + (size_t)id * st->acc_w, st->acc_w);
	}
}

static int sr_skt(struct df_task *t, unsigned i, struct df_rbuf *r)
{
	struct df_opstate *st = t->st[i];
	union df_val acc[DF_WIDTH_MAX];
	uint32_t n = df__r_u32(r);
	int rc;

	if (r->bad || n > (r->len - r->off) / (4 + st->acc_w))
		return SD_EPROTO;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t kl = df__r_u32(r), before = st->sk.n;
		const char *key = (const char *)df__r_bytes(r, kl);
		if (!key || !sr_vals(r, st->acc_kinds, acc, st->acc_w) ||
		    !acc_ok(t->plan.ops[i], acc))
			return SD_EPROTO;
		if ((rc = df__sk_fold(t, i, key, kl, df__hash_bytes(key, kl), acc, false)))
			return rc;
		if (st->sk.n != before + 1)
			return SD_EPROTO; /* a key twice */
	}
	return 0;
}

/* ---- distinct ---- */

static void sw_key_ent(struct df_sw *w, const struct df_task *t, unsigned i, struct ent *e)
{
	df__sw_u32(w, e->klen);
	df__sw_bytes(w, df__ent_key(e, 0), e->klen);
}

static int sr_distinct(struct df_task *t, unsigned i, struct df_rbuf *r)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	struct htab *ht = &st->tab[0];
	uint64_t n;
	int rc;

	if ((rc = sr_table(t, ht, r, 4, &n)))
		return rc;
	for (uint64_t k = 0; k < n; k++) {
		uint32_t kl;
		const uint8_t *key = sr_row(r, s->in_kinds, s->in_width, 0, &kl);
		if (!key)
			return SD_EPROTO;
		uint64_t h = df__hash_bytes(key, kl);
		if (df__ht_find(ht, h, key, kl, 0))
			return SD_EPROTO;
		if (!df__ht_add(t, st, ht, h, key, kl, 0))
			return t->err;
	}
	return 0;
}

/* ---- join ---- */

static void sw_join_ent(struct df_sw *w, const struct df_task *t, unsigned i, struct ent *e)
{
	uint32_t rows = 0;
	sw_key_ent(w, t, i, e);
	for (const struct jrow *q = e->rows; q; q = q->next)
		rows++;
	df__sw_u32(w, rows);
	for (const struct jrow *q = e->rows; q; q = q->next) {
		df__sw_u64(w, (uint64_t)q->ts);
		df__sw_u32(w, q->len);
		df__sw_bytes(w, q->bytes, q->len);
	}
}

/* The rows of one join entry, appended in their order. */
static int sr_join_rows(struct df_task *t, struct ent *e, struct df_rbuf *r, const uint8_t *kinds,
			unsigned vw)
{
	uint32_t n = df__r_u32(r);
	struct jrow **tail = &e->rows;

	if (r->bad || n == 0 || n > (r->len - r->off) / 12)
		return SD_EPROTO;
	for (uint32_t k = 0; k < n; k++) {
		int64_t ts = sr_i64(r);
		uint32_t len;
		const uint8_t *p = sr_row(r, kinds, vw, 0, &len);
		struct jrow *q;
		if (!p || ts < -DF_TIME_MAX || ts > DF_TIME_MAX)
			return SD_EPROTO;
		if (!(q = malloc(sizeof(*q) + len)))
			return df__task_fail(t, SD_ENOMEM, "out of memory for join state");
		q->next = NULL;
		q->ts = ts;
		q->len = len;
		memcpy(q->bytes, p, len);
		*tail = q;
		tail = &q->next;
		df__account(t, (int64_t)(sizeof(*q) + len));
	}
	return 0;
}

static int sr_join(struct df_task *t, unsigned i, struct df_rbuf *r)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	int rc;

	if (st->wm != DF_WM_NONE && st->wm != INT64_MAX &&
	    (st->wm < -DF_TIME_MAX || st->wm > DF_TIME_MAX))
		return SD_EPROTO; /* join_push subtracts `within` from it */
	for (unsigned side = 0; side < 2; side++) {
		const uint8_t *kinds = t->plan.in_kinds[side];
		struct htab *ht = &st->tab[side];
		uint64_t n;
		if ((rc = sr_table(t, ht, r, 20, &n)))
			return rc;
		for (uint64_t k = 0; k < n; k++) {
			uint32_t kl;
			const uint8_t *key = sr_row(r, kinds, s->key_width, 0, &kl);
			struct ent *e;
			if (!key)
				return SD_EPROTO;
			uint64_t h = df__hash_bytes(key, kl);
			if (df__ht_find(ht, h, key, kl, 0))
				return SD_EPROTO;
			if (!(e = df__ht_add(t, st, ht, h, key, kl, 0)))
				return t->err;
			if ((rc = sr_join_rows(t, e, r, kinds + s->key_width,
					       side ? s->right_width : s->left_width)))
				return rc;
		}
	}
	return 0;
}

/* ---- top ---- */

static void sw_top(struct df_sw *w, const struct df_opstate *st)
{
	df__sw_u32(w, st->n_top);
	for (uint32_t k = 0; k < st->n_top; k++) {
		df__sw_u32(w, st->top[k]->len);
		df__sw_bytes(w, st->top[k]->bytes, st->top[k]->len);
	}
}

/* Rows go back through df__top_push: it recomputes each rank key with the
 * operator's own program and keeps them in its order. */
static int sr_top(struct df_task *t, unsigned i, struct df_rbuf *r)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	uint32_t n = df__r_u32(r);
	int rc;

	if (r->bad || n > s->top_n)
		return SD_EPROTO;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t len;
		const uint8_t *p = sr_row(r, s->in_kinds, s->in_width, 0, &len);
		if (!p)
			return SD_EPROTO;
		df__row_decode(p, s->in_kinds, st->tmp, s->in_width);
		if ((rc = df__top_push(t, i, st->tmp)))
			return rc;
		assert(st->n_top == k + 1); /* room for all: n <= top_n */
	}
	return 0;
}

/* ---- sections ---- */

void df__op_snapshot(struct df_task *t, unsigned i, struct df_sw *w)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	const struct df_opstate *st = t->st[i];

	assert(st && st->n_pend == 0); /* the caller drained the lookup queues */
	df__sw_u64(w, (uint64_t)st->wm);
	df__sw_u64(w, (uint64_t)st->min_end);
	switch (s->kind) {
	case P_AGG:
		if (st->pend)
			sw_skt(w, st);
		else
			sw_table(w, t, i, &st->tab[0], sw_agg_ent);
		break;
	case P_DISTINCT:
		sw_table(w, t, i, &st->tab[0], sw_key_ent);
		break;
	case P_JOIN:
		sw_table(w, t, i, &st->tab[0], sw_join_ent);
		sw_table(w, t, i, &st->tab[1], sw_join_ent);
		break;
	case P_TOP:
		sw_top(w, st);
		break;
	default:
		assert(!"an operator without state has no section");
	}
}

int df__op_restore(struct df_task *t, unsigned i, struct df_rbuf *r)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	int rc;

	st->wm = sr_i64(r);
	st->min_end = sr_i64(r);
	if (r->bad)
		return SD_EPROTO;
	switch (s->kind) {
	case P_AGG:
		rc = st->pend ? sr_skt(t, i, r) : sr_agg_table(t, i, r);
		break;
	case P_DISTINCT:
		rc = sr_distinct(t, i, r);
		break;
	case P_JOIN:
		rc = sr_join(t, i, r);
		break;
	case P_TOP:
		rc = sr_top(t, i, r);
		break;
	default:
		rc = SD_EPROTO;
	}
	if (!rc && (r->bad || r->off != r->len))
		rc = SD_EPROTO; /* bytes left over: not the section this operator writes */
	return rc;
}
