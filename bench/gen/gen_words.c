/*
 * sd-bench-gen-words — the W1 corpus: Zipf-distributed words, deterministic.
 *
 * Usage: sd-bench-gen-words [--bytes N] [--vocab V] [--s S] [--seed X] OUT
 *   --bytes  corpus size in bytes (default 100000000; cut at a word boundary)
 *   --vocab  distinct words in the vocabulary (default 100000)
 *   --s      Zipf exponent (default 1.0): rank k is drawn with weight 1/k^s
 *   --seed   generator seed (default 1)
 *
 * The vocabulary is V distinct lowercase words (2..10 letters, drawn from the
 * seed); the text is lines of 8..16 words separated by single spaces. Same
 * arguments, same bytes, on any machine: every peer reads exactly this file.
 * OUT is written whole or not at all (temporary name, then rename).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gen/rng.h"

#define GEN_WORD_LEN_MIN   2         /* letters */
#define GEN_WORD_LEN_SPAN  9         /* lengths 2..10 */
#define GEN_LINE_WORDS_MIN 8         /* words per line */
#define GEN_LINE_WORDS_SPN 9         /* 8..16 words per line */
#define GEN_OUT_BUF        (1 << 20) /* bytes buffered before each fwrite */

struct vocab {
	char (*word)[GEN_WORD_LEN_MIN + GEN_WORD_LEN_SPAN]; /* not NUL-terminated */
	uint8_t *len;
	size_t n;
};

static uint64_t word_hash(const char *w, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)w[i]) * 0x100000001b3ull;
	return h;
}

/* Fills v with n distinct random words; a set of indexes rejects duplicates. */
static int vocab_make(struct vocab *v, size_t n, struct bench_rng *r)
{
	size_t cap = 1;
	while (cap < 2 * n)
		cap <<= 1;
	uint32_t *set = calloc(cap, sizeof(*set)); /* index + 1; 0 = empty */
	v->word = malloc(n * sizeof(*v->word));
	v->len = malloc(n);
	if (!set || !v->word || !v->len)
		return -1;
	v->n = 0;
	while (v->n < n) {
		char *w = v->word[v->n];
		size_t len = GEN_WORD_LEN_MIN + bench_rng_below(r, GEN_WORD_LEN_SPAN);
		for (size_t i = 0; i < len; i++)
			w[i] = (char)('a' + bench_rng_below(r, 26));
		size_t slot = word_hash(w, len) & (cap - 1);
		int dup = 0;
		while (set[slot]) {
			size_t o = set[slot] - 1;
			if (v->len[o] == len && memcmp(v->word[o], w, len) == 0) {
				dup = 1;
				break;
			}
			slot = (slot + 1) & (cap - 1);
		}
		if (dup)
			continue;
		v->len[v->n] = (uint8_t)len;
		set[slot] = (uint32_t)(++v->n);
	}
	free(set);
	return 0;
}

/* Cumulative Zipf weights, normalised so cdf[n - 1] == 1. */
static double *zipf_cdf(size_t n, double s)
{
	double *cdf = malloc(n * sizeof(*cdf));
	if (!cdf)
		return NULL;
	double sum = 0;
	for (size_t k = 0; k < n; k++) {
		sum += 1.0 / pow((double)(k + 1), s);
		cdf[k] = sum;
	}
	for (size_t k = 0; k < n; k++)
		cdf[k] /= sum;
	cdf[n - 1] = 1.0;
	return cdf;
}

static size_t zipf_draw(const double *cdf, size_t n, struct bench_rng *r)
{
	double u = bench_rng_unit(r);
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int write_corpus(FILE *f, const struct vocab *v, const double *cdf, uint64_t bytes,
			struct bench_rng *r, uint64_t *words_out)
{
	char *buf = malloc(GEN_OUT_BUF);
	if (!buf)
		return -1;
	size_t fill = 0;
	uint64_t written = 0, words = 0;
	for (;;) {
		size_t nwords = GEN_LINE_WORDS_MIN + bench_rng_below(r, GEN_LINE_WORDS_SPN);
		char line[(GEN_WORD_LEN_MIN + GEN_WORD_LEN_SPAN + 1) *
			  (GEN_LINE_WORDS_MIN + GEN_LINE_WORDS_SPN)];
		size_t ll = 0;
		for (size_t i = 0; i < nwords; i++) {
			size_t k = zipf_draw(cdf, v->n, r);
			if (i)
				line[ll++] = ' ';
			memcpy(line + ll, v->word[k], v->len[k]);
			ll += v->len[k];
		}
		line[ll++] = '\n';
		if (written + ll > bytes)
			break; /* the corpus ends on a whole line */
		if (fill + ll > GEN_OUT_BUF) {
			if (fwrite(buf, 1, fill, f) != fill)
				return -1;
			fill = 0;
		}
		memcpy(buf + fill, line, ll);
		fill += ll;
		written += ll;
		words += nwords;
	}
	if (fill && fwrite(buf, 1, fill, f) != fill)
		return -1;
	free(buf);
	*words_out = words;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: sd-bench-gen-words [--bytes N] [--vocab V] [--s S] "
			"[--seed X] OUT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t bytes = 100000000, seed = 1;
	size_t vocab_n = 100000;
	double s = 1.0;
	const char *out = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 < argc && strcmp(a, "--bytes") == 0)
			bytes = strtoull(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(a, "--vocab") == 0)
			vocab_n = strtoull(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(a, "--s") == 0)
			s = strtod(argv[++i], NULL);
		else if (i + 1 < argc && strcmp(a, "--seed") == 0)
			seed = strtoull(argv[++i], NULL, 10);
		else if (a[0] == '-' || out)
			usage();
		else
			out = a;
	}
	if (!out || vocab_n == 0 || vocab_n > UINT32_MAX / 2 || s <= 0)
		usage();

	struct bench_rng r;
	bench_rng_seed(&r, seed);
	struct vocab v;
	double *cdf = zipf_cdf(vocab_n, s);
	if (!cdf || vocab_make(&v, vocab_n, &r) != 0) {
		fprintf(stderr, "sd-bench-gen-words: out of memory\n");
		return 1;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		fprintf(stderr, "sd-bench-gen-words: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	uint64_t words = 0;
	if (write_corpus(f, &v, cdf, bytes, &r, &words) != 0 || fclose(f) != 0 ||
	    rename(tmp, out) != 0) {
		fprintf(stderr, "sd-bench-gen-words: %s: %s\n", out, strerror(errno));
		remove(tmp);
		return 1;
	}
	printf("%llu words\n", (unsigned long long)words);
	free(cdf);
	free(v.word);
	free(v.len);
	return 0;
}
