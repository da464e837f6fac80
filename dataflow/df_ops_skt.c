/*
 * dataflow/df_ops_skt.c — the dense string-key table of unwindowed
 * aggregates with one string key and scalar accumulators (used when the
 * operator queues its lookups: agg_queue_open in df_ops.c; fed by the
 * lookup ring of df_ops_agg.c, which calls df__sk_fold and df__sk_fire).
 *
 * Open addressing over 16-byte slots that keep the key's first 8 bytes and
 * its length beside the entry id, so a key of up to 8 bytes is compared
 * without leaving the slot; entries are dense arrays in insertion order
 * (hash, key offset, accumulators), the keys copied once, back to back, into
 * one byte arena. Frequent keys come first and share cache lines. No
 * per-key malloc; every byte counts against the task's memory budget. The
 * table (struct skt in the operator's state) owns all of it until
 * df__sk_free or df__sk_fire empties it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_ops_priv.h"

#define SK_MIN 1024 /* slots of a new table; at most half are used */

/* The first min(n, 8) bytes of p, zero-padded (fixed-size, in-bounds loads). */
static inline uint64_t sk_head(const char *p, uint32_t n)
{
	uint64_t h = 0;
	if (n >= 8) {
		memcpy(&h, p, 8);
	} else if (n >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		h = (uint64_t)lo | (uint64_t)hi << (8 * (n - 4));
	} else {
		for (uint32_t k = 0; k < n; k++)
			h |= (uint64_t)(uint8_t)p[k] << (8 * k);
	}
	return h;
}

static void sk_account(struct df_task *t, struct skt *sk, int64_t n)
{
	sk->bytes = (uint64_t)((int64_t)sk->bytes + n);
	df__account(t, n);
}

static int sk_resize(struct df_task *t, struct skt *sk, size_t nb)
{
	struct sk_slot *s = calloc(nb, sizeof(*s));
	if (!s)
		return df__task_fail(t, SD_ENOMEM, "out of memory growing a hash table");
	for (size_t b = 0; b < sk->nb; b++) {
		uint32_t id = sk->s[b].id;
		if (!id)
			continue;
		size_t j = sk->hash[id - 1] & (nb - 1);
		while (s[j].id)
			j = (j + 1) & (nb - 1);
		s[j] = sk->s[b];
	}
	sk_account(t, sk, (int64_t)((nb - sk->nb) * sizeof(*s)));
	free(sk->s);
	sk->s = s;
	sk->nb = nb;
	return 0;
}

/* Room for one more entry and n more key bytes. */
static int sk_reserve(struct df_task *t, struct skt *sk, unsigned acc_w, uint32_t n)
{
	if (sk->n == sk->cap) {
		uint32_t cap = sk->cap ? sk->cap * 2 : 1024;
		uint64_t *h = realloc(sk->hash, cap * sizeof(*h));
		if (h)
			sk->hash = h;
		size_t *o = h ? realloc(sk->koff, (cap + 1) * sizeof(*o)) : NULL;
		if (o)
			sk->koff = o;
		union df_val *a = o ? realloc(sk->acc, (size_t)cap * acc_w * sizeof(*a) + 1) : NULL;
		if (!a)
			return df__task_fail(t, SD_ENOMEM, "out of memory for operator state");
		sk->acc = a;
		sk_account(t, sk, (int64_t)(cap - sk->cap) * (int64_t)(16 + acc_w * sizeof(*a)));
		sk->cap = cap;
	}
	if (sk->klen + n > sk->kcap) {
		size_t cap = sk->kcap ? sk->kcap * 2 : 1u << 16;
		while (cap < sk->klen + n)
			cap *= 2;
		char *k = realloc(sk->keys, cap);
		if (!k)
			return df__task_fail(t, SD_ENOMEM, "out of memory for operator state");
		sk_account(t, sk, (int64_t)(cap - sk->kcap));
		sk->keys = k;
		sk->kcap = cap;
	}
	return 0;
}

/* Folds x into key p[n]'s accumulators (a new entry when it has none). */
int df__sk_fold(struct df_task *t, unsigned i, const char *p, uint32_t n, uint64_t h,
		const union df_val *x, bool raw)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	struct skt *sk = &st->sk;
	uint64_t head = sk_head(p, n);
	unsigned aw = st->acc_w;
	size_t mask, j;
	uint32_t id;

	if (!sk->nb && sk_resize(t, sk, SK_MIN))
		return t->err;
	mask = sk->nb - 1;
	for (j = h & mask; (id = sk->s[j].id); j = (j + 1) & mask)
		if (sk->s[j].head == head && sk->s[j].len == n &&
		    (n <= 8 ||
		     df__key_eq((const uint8_t *)sk->keys + sk->koff[id - 1] + 8, p + 8, n - 8))) {
			union df_val *acc = sk->acc + (size_t)(id - 1) * aw;
			if (s->agg == AG_COUNT) { /* the common fold, without the call */
				acc->i += raw ? 1 : x[0].i;
				return 0;
			}
			return df__acc_fold(t, st, s, acc, x, raw);
		}
	if (sk_reserve(t, sk, aw, n))
		return t->err;
	id = sk->n++;
	sk->hash[id] = h;
	sk->koff[id] = sk->klen;
	if (n)
		memcpy(sk->keys + sk->klen, p, n);
	sk->klen += n;
	sk->koff[sk->n] = sk->klen; /* entry id's key ends where the next starts */
	if (raw)
		df__acc_first(s, x, sk->acc + (size_t)id * aw, aw);
	else
		memcpy(sk->acc + (size_t)id * aw, x, aw * sizeof(*x));
	sk->s[j] = (struct sk_slot){.head = head, .len = n, .id = id + 1};
	if ((size_t)sk->n * 2 > sk->nb && sk_resize(t, sk, sk->nb * 2))
		return t->err;
	return 0;
}

void df__sk_free(struct df_task *t, struct skt *sk)
{
	free(sk->s);
	free(sk->hash);
	free(sk->koff);
	free(sk->acc);
	free(sk->keys);
	df__account(t, -(int64_t)sk->bytes);
	memset(sk, 0, sizeof(*sk));
}

/* Emits every entry in insertion order, then empties the table. */
int df__sk_fire(struct df_task *t, unsigned i)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	struct df_opstate *st = t->st[i];
	struct skt *sk = &st->sk;
	union df_val *r = st->tmp;
	unsigned aw = st->acc_w;
	int rc = 0;

	for (uint32_t id = 0; id < sk->n && !rc; id++) {
		const union df_val *acc = sk->acc + (size_t)id * aw;
		r[0].s.p = sk->keys + sk->koff[id];
		r[0].s.n = (uint32_t)(sk->koff[id + 1] - sk->koff[id]);
		if (s->mode == M_PARTIAL)
			memcpy(r + 1, acc, aw * sizeof(*r));
		else if (s->agg == AG_AVG)
			r[1].f = acc[1].i ? acc[0].f / (double)acc[1].i : 0.0;
		else
			r[1] = acc[0];
		rc = df__run(t, i + 1, r, 0);
	}
	df__sk_free(t, sk);
	return rc;
}
