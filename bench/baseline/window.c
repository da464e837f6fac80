/*
 * sd-bench-window — W2 tumbling-window count per key, the single-threaded C baseline.
 *
 * Usage: sd-bench-window INPUT [-o OUT] [--window-ms N] [--type T] [-v]
 *   INPUT lines are `ts,ad_id,type` (ts in ms, ad_id an unsigned integer;
 *   fields separated by a comma, spaces or tabs);
 *   keeps the lines whose type is T (default view), and counts them per
 *   (tumbling window of N ms, default 10000; ad_id). Writes
 *   `window_start ad_id count` lines (in table order: sort them to compare)
 *   to OUT, default stdout. -v prints totals on stderr. Malformed lines are
 *   counted, skipped and reported; the exit status is then 1.
 *
 * How it is fast: the file is mapped; each line is parsed in one pass with no
 * copy and no bounds check (the scan stops at the last newline; a last line
 * without one is handled on its own); (window, key) pairs go to an
 * open-addressing table of 64-bit keys with linear probing, load <= 1/2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/baseline/mapped.h"

#define WIN_TABLE_MIN_BITS 12 /* initial table: 4,096 slots */

struct win_slot {
	uint64_t key;   /* window index << 32 | ad_id */
	uint64_t count; /* 0 = empty */
};

struct win_table {
	struct win_slot *slot;
	unsigned bits;
	size_t used;
};

struct win_job {
	uint64_t window_ms;
	const char *type;
	size_t type_len;
	uint64_t events, kept, malformed;
};

static void win_table_init(struct win_table *t, unsigned bits)
{
	t->bits = bits;
	t->used = 0;
	t->slot = calloc((size_t)1 << bits, sizeof(*t->slot));
	if (!t->slot) {
		fprintf(stderr, "sd-bench-window: out of memory\n");
		exit(1);
	}
}

static inline size_t win_index(uint64_t key, unsigned bits)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static void win_table_grow(struct win_table *t)
{
	struct win_table bigger;
	win_table_init(&bigger, t->bits + 1);
	size_t mask = ((size_t)1 << bigger.bits) - 1;
	for (size_t i = 0; i < (size_t)1 << t->bits; i++) {
		if (!t->slot[i].count)
			continue;
		size_t j = win_index(t->slot[i].key, bigger.bits);
		while (bigger.slot[j].count)
			j = (j + 1) & mask;
		bigger.slot[j] = t->slot[i];
	}
	bigger.used = t->used;
	free(t->slot);
	*t = bigger;
}

static inline void win_add(struct win_table *t, uint64_t key)
{
	size_t mask = ((size_t)1 << t->bits) - 1;
	size_t i = win_index(key, t->bits);
	while (t->slot[i].count) {
		if (t->slot[i].key == key) {
			t->slot[i].count++;
			return;
		}
		i = (i + 1) & mask;
	}
	t->slot[i].key = key;
	t->slot[i].count = 1;
	if (++t->used * 2 > mask + 1)
		win_table_grow(t);
}

static inline int win_digit(uint8_t c)
{
	return (unsigned)(c - '0') < 10;
}

static inline int win_space(uint8_t c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* Parses one line at p (which ends with '\n'); returns the byte after it. */
static inline const uint8_t *win_line(struct win_table *t, struct win_job *j, const uint8_t *p)
{
	const uint8_t *line = p;
	uint64_t ts = 0, ad = 0;
	if (!win_digit(*p))
		goto malformed;
	do
		ts = ts * 10 + (uint64_t)(*p++ - '0');
	while (win_digit(*p));
	if (!win_space(*p))
		goto malformed;
	while (win_space(*p))
		p++;
	if (!win_digit(*p))
		goto malformed;
	do
		ad = ad * 10 + (uint64_t)(*p++ - '0');
	while (win_digit(*p));
	if (!win_space(*p) || ad > UINT32_MAX)
		goto malformed;
	while (win_space(*p))
		p++;
	const uint8_t *type = p;
	while (*p != '\n' && *p != '\r' && !win_space(*p))
		p++;
	if (p == type)
		goto malformed;
	j->events++;
	if ((size_t)(p - type) == j->type_len && memcmp(type, j->type, j->type_len) == 0) {
		j->kept++;
		win_add(t, (ts / j->window_ms) << 32 | ad);
	}
	while (*p != '\n')
		p++;
	return p + 1;
malformed:
	if (!(*line == '\n' || (*line == '\r' && line[1] == '\n')))
		j->malformed++; /* empty lines are allowed */
	while (*p != '\n')
		p++;
	return p + 1;
}

static void win_count(struct win_table *t, struct win_job *j, const uint8_t *data, size_t len)
{
	size_t guarded = len;
	while (guarded > 0 && data[guarded - 1] != '\n')
		guarded--;
	const uint8_t *p = data, *end = data + guarded;
	while (p < end)
		p = win_line(t, j, p);
	if (guarded < len) { /* the last line has no newline: parse a copy with one */
		size_t n = len - guarded;
		uint8_t *copy = malloc(n + 1);
		if (!copy) {
			fprintf(stderr, "sd-bench-window: out of memory\n");
			exit(1);
		}
		memcpy(copy, data + guarded, n);
		copy[n] = '\n';
		win_line(t, j, copy);
		free(copy);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: sd-bench-window INPUT [-o OUT] [--window-ms N] [--type T] [-v]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *in = NULL, *out = "-";
	int verbose = 0;
	struct win_job j = {.window_ms = 10000, .type = "view"};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--window-ms") == 0 && i + 1 < argc)
			j.window_ms = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc)
			j.type = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (argv[i][0] != '-' && !in)
			in = argv[i];
		else
			return usage();
	}
	if (!in || j.window_ms == 0)
		return usage();
	j.type_len = strlen(j.type);

	struct mapped m;
	if (mapped_open(&m, in) != 0)
		return 1;
	struct win_table t;
	win_table_init(&t, WIN_TABLE_MIN_BITS);
	win_count(&t, &j, (const uint8_t *)m.data, m.len);

	struct outbuf o = {0};
	for (size_t i = 0; i < (size_t)1 << t.bits; i++) {
		const struct win_slot *s = &t.slot[i];
		if (!s->count)
			continue;
		outbuf_u64(&o, (s->key >> 32) * j.window_ms);
		outbuf_put(&o, " ", 1);
		outbuf_u64(&o, s->key & UINT32_MAX);
		outbuf_put(&o, " ", 1);
		outbuf_u64(&o, s->count);
		outbuf_put(&o, "\n", 1);
	}
	if (outbuf_flush(&o, out) != 0)
		return 1;
	if (verbose || j.malformed)
		fprintf(stderr, "events %llu kept %llu malformed %llu keys %zu\n",
			(unsigned long long)j.events, (unsigned long long)j.kept,
			(unsigned long long)j.malformed, t.used);
	free(t.slot);
	mapped_close(&m);
	return j.malformed ? 1 : 0;
}
