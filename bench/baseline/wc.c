/*
 * sd-bench-wc — W1 word count, the single-threaded C baseline (the COST line).
 *
 * Usage: sd-bench-wc INPUT [-o OUT] [-v]
 *   Counts whitespace-separated words in INPUT and writes `word count` lines
 *   (in table order: sort them to compare) to OUT, default stdout. -v prints
 *   the total and distinct counts on stderr.
 *
 * How it is fast: the file is mapped, never copied; an open-addressing table
 * (linear probing, load <= 1/2) of 16-byte slots holds each word's first 8
 * bytes inline, so most lookups compare two integers and touch one cache
 * line; each distinct word is copied once into an arena (no allocation per
 * word); the inner scan needs no bounds check because it stops before the
 * last separator and the tail is handled on its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/baseline/mapped.h"

#define WC_TABLE_MIN_BITS 16 /* initial table: 65,536 slots */
#define WC_INLINE         8  /* bytes of each word kept in its slot */

/*
 * The table is small and dense so the hot part stays in cache: 16-byte slots
 * keep the first 8 bytes and the length of their word (a word of <= 8 bytes
 * is compared without touching anything else) and an entry id; entries
 * (count, offset of the word's bytes in one arena) are in insertion order,
 * so the frequent words, which come first, share cache lines.
 */
struct wc_slot {
	uint64_t head; /* first bytes of the word, zero-padded */
	uint32_t len;
	uint32_t id; /* entry index + 1; 0 = empty */
};

struct wc_table {
	struct wc_slot *slot;
	unsigned bits;
	uint64_t *count; /* per entry */
	uint32_t *off;   /* per entry: where its bytes start in arena */
	size_t used, entries_cap;
	char *arena; /* every distinct word once, back to back */
	size_t arena_len, arena_cap;
	uint64_t words;
};

static uint8_t wc_sep[256];

static void wc_oom(void)
{
	fprintf(stderr, "sd-bench-wc: out of memory\n");
	exit(1);
}

static void *wc_alloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		wc_oom();
	return p;
}

static inline uint64_t wc_head(const uint8_t *w, size_t len, int can_overread)
{
	uint64_t h = 0;
	if (can_overread) {
		memcpy(&h, w, WC_INLINE);
		if (len < WC_INLINE)
			h &= (1ull << (8 * len)) - 1;
	} else {
		memcpy(&h, w, len < WC_INLINE ? len : WC_INLINE);
	}
	return h;
}

static inline uint64_t wc_hash(uint64_t head, const uint8_t *w, size_t len)
{
	uint64_t h = (head ^ len) * 0x9e3779b97f4a7c15ull;
	for (size_t i = WC_INLINE; i < len; i++)
		h = (h ^ w[i]) * 0x100000001b3ull;
	return h ^ (h >> 32);
}

static inline size_t wc_index(uint64_t h, unsigned bits)
{
	return (size_t)((h * 0xff51afd7ed558ccdull) >> (64 - bits));
}

static void wc_table_init(struct wc_table *t)
{
	memset(t, 0, sizeof(*t));
	t->bits = WC_TABLE_MIN_BITS;
	t->slot = calloc((size_t)1 << t->bits, sizeof(*t->slot));
	if (!t->slot)
		wc_oom();
}

static void wc_table_grow(struct wc_table *t)
{
	unsigned bits = t->bits + 1;
	size_t mask = ((size_t)1 << bits) - 1;
	struct wc_slot *slot = calloc(mask + 1, sizeof(*slot));
	if (!slot)
		wc_oom();
	for (size_t i = 0; i < (size_t)1 << t->bits; i++) {
		const struct wc_slot *s = &t->slot[i];
		if (!s->id)
			continue;
		const uint8_t *w = (const uint8_t *)t->arena + t->off[s->id - 1];
		size_t j = wc_index(wc_hash(s->head, w, s->len), bits);
		while (slot[j].id)
			j = (j + 1) & mask;
		slot[j] = *s;
	}
	free(t->slot);
	t->slot = slot;
	t->bits = bits;
}

static void wc_insert(struct wc_table *t, size_t i, uint64_t head, const uint8_t *w, size_t len)
{
	if (t->used == t->entries_cap) {
		t->entries_cap = t->entries_cap ? 2 * t->entries_cap : 1 << 14;
		t->count = wc_alloc(t->count, t->entries_cap * sizeof(*t->count));
		t->off = wc_alloc(t->off, t->entries_cap * sizeof(*t->off));
	}
	if (t->arena_len + len > t->arena_cap) {
		t->arena_cap = t->arena_cap ? 2 * t->arena_cap : 1 << 20;
		while (t->arena_cap < t->arena_len + len)
			t->arena_cap *= 2;
		t->arena = wc_alloc(t->arena, t->arena_cap);
	}
	if (t->arena_len + len > UINT32_MAX || len > UINT32_MAX) {
		fprintf(stderr, "sd-bench-wc: more than 4 GiB of distinct words\n");
		exit(1);
	}
	memcpy(t->arena + t->arena_len, w, len);
	t->off[t->used] = (uint32_t)t->arena_len;
	t->count[t->used] = 1;
	t->arena_len += len;
	t->slot[i] =
		(struct wc_slot){.head = head, .len = (uint32_t)len, .id = (uint32_t)++t->used};
	if (t->used * 2 > (size_t)1 << t->bits)
		wc_table_grow(t);
}

/* Adds one occurrence of w, whose head and hash the caller computed. */
static inline void wc_add_hashed(struct wc_table *t, const uint8_t *w, size_t len, uint64_t head,
				 uint64_t hash)
{
	size_t mask = ((size_t)1 << t->bits) - 1;
	size_t i = wc_index(hash, t->bits);
	for (;;) {
		const struct wc_slot *s = &t->slot[i];
		if (!s->id)
			break;
		if (s->head == head && s->len == len &&
		    (len <= WC_INLINE || memcmp(t->arena + t->off[s->id - 1] + WC_INLINE,
						w + WC_INLINE, len - WC_INLINE) == 0)) {
			t->count[s->id - 1]++;
			return;
		}
		i = (i + 1) & mask;
	}
	wc_insert(t, i, head, w, len);
}

static inline void wc_add(struct wc_table *t, const uint8_t *w, size_t len, int can_overread)
{
	uint64_t head = wc_head(w, len, can_overread);
	wc_add_hashed(t, w, len, head, wc_hash(head, w, len));
}

/*
 * Words are looked up in batches: the slots of a whole batch are prefetched
 * first, so the cache misses of the less frequent words overlap instead of
 * stalling one after another.
 */
#define WC_BATCH 16 /* words per batch */

struct wc_batch {
	const uint8_t *w[WC_BATCH];
	uint64_t len[WC_BATCH], head[WC_BATCH], hash[WC_BATCH];
	size_t n;
};

static void wc_batch_flush(struct wc_table *t, struct wc_batch *b)
{
	for (size_t k = 0; k < b->n; k++)
		wc_add_hashed(t, b->w[k], b->len[k], b->head[k], b->hash[k]);
	t->words += b->n;
	b->n = 0;
}

/*
 * Counts every word in [p, end) where end[-1] is a separator, so the scan of
 * a word needs no bounds check; words starting WC_INLINE bytes or more before
 * map_end may be loaded 8 bytes at a time.
 */
static void wc_scan_guarded(struct wc_table *t, const uint8_t *p, const uint8_t *end,
			    const uint8_t *map_end)
{
	struct wc_batch b;
	b.n = 0;
	for (;;) {
		while (p < end && wc_sep[*p])
			p++;
		if (p == end)
			break;
		const uint8_t *w = p;
		do
			p++;
		while (!wc_sep[*p]);
		size_t len = (size_t)(p - w), k = b.n++;
		b.w[k] = w;
		b.len[k] = len;
		b.head[k] = wc_head(w, len, map_end - w >= WC_INLINE);
		b.hash[k] = wc_hash(b.head[k], w, len);
		__builtin_prefetch(&t->slot[wc_index(b.hash[k], t->bits)]);
		if (b.n == WC_BATCH)
			wc_batch_flush(t, &b);
	}
	wc_batch_flush(t, &b);
}

static void wc_count(struct wc_table *t, const uint8_t *data, size_t len)
{
	size_t guarded = len;
	while (guarded > 0 && !wc_sep[data[guarded - 1]])
		guarded--;
	wc_scan_guarded(t, data, data + guarded, data + len);
	if (guarded < len) { /* the file ends inside a word */
		wc_add(t, data + guarded, len - guarded, 0);
		t->words++;
	}
}

int main(int argc, char **argv)
{
	const char *in = NULL, *out = "-";
	int verbose = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (argv[i][0] != '-' && !in)
			in = argv[i];
		else {
			fprintf(stderr, "usage: sd-bench-wc INPUT [-o OUT] [-v]\n");
			return 2;
		}
	}
	if (!in) {
		fprintf(stderr, "usage: sd-bench-wc INPUT [-o OUT] [-v]\n");
		return 2;
	}
	const char *seps = " \t\n\r\v\f";
	for (const char *s = seps; *s; s++)
		wc_sep[(uint8_t)*s] = 1;

	struct mapped m;
	if (mapped_open(&m, in) != 0)
		return 1;
	struct wc_table t;
	wc_table_init(&t);
	wc_count(&t, (const uint8_t *)m.data, m.len);

	struct outbuf o = {0};
	for (size_t i = 0; i < (size_t)1 << t.bits; i++) {
		const struct wc_slot *s = &t.slot[i];
		if (!s->id)
			continue;
		outbuf_put(&o, t.arena + t.off[s->id - 1], s->len);
		outbuf_put(&o, " ", 1);
		outbuf_u64(&o, t.count[s->id - 1]);
		outbuf_put(&o, "\n", 1);
	}
	if (outbuf_flush(&o, out) != 0)
		return 1;
	if (verbose)
		fprintf(stderr, "words %llu distinct %zu\n", (unsigned long long)t.words, t.used);
	free(t.slot);
	free(t.count);
	free(t.off);
	free(t.arena);
	mapped_close(&m);
	return 0;
}
