/*
 * dataflow/df_ops_priv.h — the stateful operators' state, shared by their
 * sources (not public; the task sees them through df_task_priv.h's df__op_*):
 *
 *   df_ops.c       open, close, the hash table, dispatch from the task
 *   df_ops_agg.c   keyed aggregates, optionally windowed; a flat_map's lists
 *   df_ops_skt.c   the dense string-key table of the aggregates that queue
 *   df_ops_misc.c  distinct, top(n), the join
 *   df_ops_snap.c  the operators' checkpoint sections
 *
 * One struct df_opstate per stateful operator, owned by the task
 * (t->st[i], made by df__op_open, freed by df__op_close). Entries, rows and
 * keys belong to their table and count against the task's memory budget
 * (df__account). Helpers called per record from more than one file are
 * static inline here so that the split costs no calls on the hot paths.
 */
#ifndef SD_DATAFLOW_OPS_PRIV_H
#define SD_DATAFLOW_OPS_PRIV_H

#include <string.h>

#include "dataflow/df_task_priv.h"

#define DF_HT_MIN   1024 /* slots of a new hash table */
#define DF_AGG_PEND 32   /* string-key lookups in flight (a power of two) */

struct ent {
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

/* Open addressing with linear probing: a slot keeps the hash beside the
 * entry pointer so a miss costs no entry access. */
struct slot {
	uint64_t h;
	struct ent *e; /* NULL: empty */
};

struct htab {
	struct slot *s;
	size_t nb, n; /* nb a power of two, n < nb * 3 / 4 */
};

struct topent {
	union df_val key;
	uint32_t len;
	uint8_t bytes[]; /* row bytes, then the key string when it is one */
};

struct pend { /* a queued string-key lookup */
	const char *p;
	uint32_t n;
	uint64_t h;
	union df_val x[2]; /* the value (raw) or accumulator (final) slots */
};

struct sk_slot {       /* df_ops_skt.c */
	uint64_t head; /* the key's first 8 bytes, zero-padded */
	uint32_t len;
	uint32_t id; /* entry index + 1; 0 = empty */
};

struct skt { /* dense string-key table (df_ops_skt.c) */
	struct sk_slot *s;
	size_t nb; /* power of two; n * 2 <= nb */
	uint32_t n, cap;
	uint64_t *hash;    /* per entry */
	size_t *koff;      /* per entry + 1: key id is keys[koff[id], koff[id + 1]) */
	union df_val *acc; /* acc_w per entry */
	char *keys;
	size_t klen, kcap;
	uint64_t bytes; /* accounted */
};

struct df_opstate {
	/* entries of operators that drop them all at once (unwindowed
	 * aggregates, distinct) come from a slab: dense, no per-entry malloc */
	struct df_arena slab;
	bool use_slab;
	struct htab tab[2];
	struct df_wbuf kb, vb;
	unsigned acc_w;
	uint8_t acc_kinds[DF_WIDTH_MAX];
	int64_t wm, min_end;
	struct topent **top;
	uint32_t n_top;
	union df_val tmp[2 * DF_WIDTH_MAX + 4];
	union df_val tmp2[DF_WIDTH_MAX + 4];
	struct pend *pend;                  /* DF_AGG_PEND queued lookups, or NULL: no queueing */
	struct skt sk;                      /* the table of operators that queue */
	unsigned pend_head, n_pend, pend_w; /* a ring: n_pend from pend_head */
};

/* ---- per-record helpers ---- */

static inline uint8_t *df__ent_key(struct ent *e, unsigned acc_w)
{
	return (uint8_t *)(e->acc + acc_w);
}

/* n more (or fewer, negative) bytes of operator state. */
static inline void df__account(struct df_task *t, int64_t n)
{
	t->stats.state_bytes = (uint64_t)((int64_t)t->stats.state_bytes + n);
}

static inline struct ent *df__ht_find(const struct htab *ht, uint64_t h, const uint8_t *k,
				      uint32_t kl, unsigned acc_w)
{
	size_t mask = ht->nb - 1, i = h & mask;
	if (!ht->nb)
		return NULL;
	for (; ht->s[i].e; i = (i + 1) & mask) {
		struct ent *e = ht->s[i].e;
		if (ht->s[i].h == h && e->klen == kl &&
		    (kl == 0 || memcmp(df__ent_key(e, acc_w), k, kl) == 0))
			return e;
	}
	return NULL;
}

/* Empties slot i, shifting later members of its probe run back. */
static inline void df__ht_del_at(struct htab *ht, size_t i)
{
	size_t mask = ht->nb - 1, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!ht->s[j].e)
			break;
		size_t home = ht->s[j].h & mask;
		/* leave s[j] if its home lies cyclically in (i, j] */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		ht->s[i] = ht->s[j];
		i = j;
	}
	ht->s[i].e = NULL;
	ht->n--;
}

/* a == b for n bytes; short keys without a call (fixed-size, in-bounds loads) */
static inline bool df__key_eq(const uint8_t *a, const char *b, uint32_t n)
{
	uint64_t x, y, u, v;
	if (n >= 8 && n <= 16) {
		memcpy(&x, a, 8), memcpy(&y, b, 8);
		memcpy(&u, a + n - 8, 8), memcpy(&v, b + n - 8, 8);
		return x == y && u == v;
	}
	if (n >= 4 && n < 8) {
		uint32_t x4, y4, u4, v4;
		memcpy(&x4, a, 4), memcpy(&y4, b, 4);
		memcpy(&u4, a + n - 4, 4), memcpy(&v4, b + n - 4, 4);
		return x4 == y4 && u4 == v4;
	}
	if (n < 4) {
		for (uint32_t k = 0; k < n; k++)
			if (a[k] != (uint8_t)b[k])
				return false;
		return true;
	}
	return memcmp(a, b, n) == 0;
}

static inline int df__scmp(union df_val a, union df_val b)
{
	uint32_t n = a.s.n < b.s.n ? a.s.n : b.s.n;
	int c = n ? memcmp(a.s.p, b.s.p, n) : 0;
	return c ? c : (a.s.n > b.s.n) - (a.s.n < b.s.n);
}

/* Orders two values of one kind: < 0, 0, > 0. */
static inline int df__vcmp(uint8_t kind, union df_val a, union df_val b)
{
	if (kind == DF_STR)
		return df__scmp(a, b);
	if (kind == DF_FLOAT)
		return (a.f > b.f) - (a.f < b.f);
	return (a.i > b.i) - (a.i < b.i);
}

/* The accumulator one raw value makes (partial mode), into dst. */
static inline void df__acc_first(const struct df_pop_spec *s, const union df_val *x,
				 union df_val *dst, unsigned acc_w)
{
	switch (s->agg) {
	case AG_COUNT:
		dst[0].i = 1;
		break;
	case AG_AVG:
		dst[0].f = s->val_kind == DF_FLOAT ? x[0].f : (double)x[0].i;
		dst[1].i = 1;
		break;
	default:
		memcpy(dst, x, acc_w * sizeof(*dst));
	}
}

/* ---- df_ops.c: the hash table and the budget ---- */

/* Fails the task with SD_ELIMIT, naming operator i and the budget. */
int df__op_over_budget(struct df_task *t, unsigned i);
/* Rebuilds the table with nb slots from its non-empty slots. O(nb). */
int df__ht_resize(struct df_task *t, struct htab *ht, size_t nb);
/* A new entry for key k[kl] with acc_w zeroed accumulators (the table
 * owns it); NULL when the task failed (out of memory). */
struct ent *df__ht_add(struct df_task *t, struct df_opstate *st, struct htab *ht, uint64_t h,
		       const uint8_t *k, uint32_t kl, unsigned acc_w);
/* Frees e with its strings and join rows (not its slot: the caller empties it). */
void df__ent_free(struct df_task *t, struct df_opstate *st, struct ent *e);

/* After a scan set some slots to NULL (n already lowered): restore probe runs. */
static inline int df__ht_compact(struct df_task *t, struct htab *ht)
{
	return ht->nb ? df__ht_resize(t, ht, ht->nb) : 0;
}

/* ---- df_ops_agg.c: aggregates ---- */

int df__agg_push(struct df_task *t, unsigned i, const union df_val *row, int64_t ts);
/* Folds every queued lookup, oldest first. */
int df__agg_drain(struct df_task *t, unsigned i);
/* Emits (and frees) every entry whose window ended by w; all = every entry. */
int df__agg_fire(struct df_task *t, unsigned i, int64_t w, bool all);
/* A new entry holding copies of the accumulators acc; NULL when the task failed. */
struct ent *df__acc_new(struct df_task *t, struct df_opstate *st, struct htab *ht, uint64_t h,
			const uint8_t *k, uint32_t kl, const union df_val *acc);
/* Folds x (a raw value when partial, an accumulator when final) into acc. */
int df__acc_fold(struct df_task *t, struct df_opstate *st, const struct df_pop_spec *s,
		 union df_val *acc, const union df_val *x, bool raw);

/* ---- df_ops_skt.c: the dense string-key table ---- */

/* Folds x into key p[n]'s accumulators (a new entry when it has none). */
int df__sk_fold(struct df_task *t, unsigned i, const char *p, uint32_t n, uint64_t h,
		const union df_val *x, bool raw);
/* Emits every entry in insertion order, then empties the table. */
int df__sk_fire(struct df_task *t, unsigned i);
void df__sk_free(struct df_task *t, struct skt *sk);

/* ---- df_ops_misc.c: distinct, top, join (df__join_push: df_task_priv.h) ---- */

int df__distinct_push(struct df_task *t, unsigned i, const union df_val *row, int64_t ts);
int df__top_push(struct df_task *t, unsigned i, const union df_val *row);
int df__top_emit(struct df_task *t, unsigned i);
int df__join_evict(struct df_task *t, unsigned i, int64_t w);

#endif /* SD_DATAFLOW_OPS_PRIV_H */
