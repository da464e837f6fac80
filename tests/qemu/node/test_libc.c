/*
 * tests/qemu/node/test_libc.c — the node image's mini libc, compiled for the
 * host with every name prefixed mlibc_ (libc_rename.h), checked against
 * glibc: formatting, number parsing, sorting, string functions, ctype, and
 * the heap under a random workload with content checks.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "tests/qemu/node/mlibc.h"

#define FMT_BUF     256
#define HEAP_BYTES  (1u << 20) /* region handed to the mini heap */
#define HEAP_SLOTS  64         /* live allocations in the random workload */
#define HEAP_ROUNDS 20000
#define SORT_MAX    300

/* The mini libc's assert() ends here in the host build. */
_Noreturn void libc_assert_fail(const char *expr, const char *file, int line, const char *func);
_Noreturn void libc_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	fail_msg("mini libc assertion %s:%d %s: %s", file, line, func, expr);
	abort();
}

/* Formats with both libcs and compares text and return value. */
#define CHECK_FMT(...)                                                                           \
	do {                                                                                     \
		char ours[FMT_BUF], ref[FMT_BUF];                                                \
		int n_ours = mlibc_snprintf(ours, sizeof(ours), __VA_ARGS__);                    \
		int n_ref = snprintf(ref, sizeof(ref), __VA_ARGS__);                             \
		if (n_ours != n_ref || strcmp(ours, ref) != 0)                                   \
			fail_msg("format %s: ours \"%s\" (%d), glibc \"%s\" (%d)", #__VA_ARGS__, \
				 ours, n_ours, ref, n_ref);                                      \
	} while (0)

static void test_snprintf_integers(void **state)
{
	(void)state;
	CHECK_FMT("%d %i %u", 0, -1, 4000000000u);
	CHECK_FMT("[%d] [%d]", INT_MIN, INT_MAX);
	CHECK_FMT("[%5d] [%-5d] [%05d] [%+d] [% d] [%+05d]", 42, 42, -42, 7, 7, -3);
	CHECK_FMT("[%.3d] [%8.3d] [%-8.3d] [%.0d] [%5.0d]", 5, -5, 5, 0, 0);
	/* ISO C: a precision turns the 0 flag off; gcc warns about exactly that. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
	CHECK_FMT("[%08.3d] [%-06d]", 5, 5);
#pragma GCC diagnostic pop
	CHECK_FMT("[%x] [%X] [%#x] [%#X] [%#x] [%08x] [%#010x]", 0xbeefu, 0xbeefu, 255u, 255u, 0u,
		  0xabu, 0xabu);
	CHECK_FMT("[%o] [%#o] [%#o] [%#.3o]", 8u, 8u, 0u, 8u);
	CHECK_FMT("[%ld] [%ld] [%lu] [%lx]", LONG_MIN, LONG_MAX, ULONG_MAX, ULONG_MAX);
	CHECK_FMT("[%lld] [%llu] [%llx]", LLONG_MIN, ULLONG_MAX, 0x123456789abcdefull);
	CHECK_FMT("[%zu] [%zd] [%zx] [%jd] [%ju] [%td]", (size_t)SIZE_MAX, (ssize_t)-5,
		  (size_t)4096, (intmax_t)INTMAX_MIN, (uintmax_t)UINTMAX_MAX, (ptrdiff_t)-7);
	CHECK_FMT("[%hhd] [%hhu] [%hd] [%hu]", 300, 300, 70000, 70000);
	CHECK_FMT("[%*d] [%-*d] [%*d] [%.*d]", 6, 1, 6, 1, -6, 1, 4, 9);
}

static void test_snprintf_strings(void **state)
{
	int x = 0;

	(void)state;
	CHECK_FMT("[%s] [%10s] [%-10s] [%.2s] [%.*s] [%.0s]", "abc", "abc", "abc", "abc", 3, "wxyz",
		  "gone");
	CHECK_FMT("[%c] [%3c] [%-3c] [%%]", 'a', 'b', 'c');
	CHECK_FMT("[%p] [%20p] [%-20p]", (void *)&x, (void *)&x, (void *)&x);
	CHECK_FMT("plain text, no conversions");
	CHECK_FMT("%s", "");
}

static void test_snprintf_truncation(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(mlibc_snprintf(buf, 4, "%s-%d", "abcdef", 12), 9);
	assert_string_equal(buf, "abc");
	assert_int_equal(buf[4], 'x'); /* nothing written past cap */
	assert_int_equal(mlibc_snprintf(NULL, 0, "%d", 12345), 5);
	buf[0] = 'q';
	assert_int_equal(mlibc_snprintf(buf, 1, "%d", 7), 1);
	assert_int_equal(buf[0], '\0');
}

static const char *const strto_inputs[] = {
	"0",
	"42",
	"-42",
	"  +17xyz",
	"\t\n-0x1F",
	"0x",
	"0X1g",
	"077",
	"089",
	"-",
	"+",
	"",
	"abc",
	"zz",
	"9223372036854775807",
	"9223372036854775808",
	"-9223372036854775808",
	"-9223372036854775809",
	"18446744073709551615",
	"18446744073709551616",
	"-18446744073709551615",
	"-99999999999999999999999",
	"4294967296",
	"0x7fffffffffffffff",
	"  0000000000000000000000000012",
};

static void test_strto_integers(void **state)
{
	static const int bases[] = {0, 2, 8, 10, 16, 36};

	(void)state;
	for (size_t i = 0; i < sizeof(strto_inputs) / sizeof(strto_inputs[0]); i++) {
		const char *s = strto_inputs[i];

		for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
			char *e_ours, *e_ref;
			int base = bases[b];

			if (mlibc_strtol(s, &e_ours, base) != strtol(s, &e_ref, base) ||
			    e_ours != e_ref)
				fail_msg("strtol(\"%s\", %d)", s, base);
			if (mlibc_strtoul(s, &e_ours, base) != strtoul(s, &e_ref, base) ||
			    e_ours != e_ref)
				fail_msg("strtoul(\"%s\", %d)", s, base);
			if (mlibc_strtoll(s, &e_ours, base) != strtoll(s, &e_ref, base) ||
			    e_ours != e_ref)
				fail_msg("strtoll(\"%s\", %d)", s, base);
			if (mlibc_strtoull(s, &e_ours, base) != strtoull(s, &e_ref, base) ||
			    e_ours != e_ref)
				fail_msg("strtoull(\"%s\", %d)", s, base);
		}
	}
}

static void test_strtod(void **state)
{
	static const char *const inputs[] = {
		"0",
		"1",
		"-2.5",
		"3.25",
		"  +0.125x",
		"1e10",
		"1E-5",
		"-0.5e-3",
		"123456789.125",
		"6.02214076e23",
		"1e308",
		"2.2250738585072014e-308",
		"0.1",
		".5",
		"5.",
		"1e",
		"abc",
		"",
		"-",
		"9007199254740993",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		char *e_ours, *e_ref;
		double ours = mlibc_strtod(inputs[i], &e_ours);
		double ref = strtod(inputs[i], &e_ref);

		if (e_ours != e_ref)
			fail_msg("strtod(\"%s\"): stopped at %td, glibc at %td", inputs[i],
				 e_ours - inputs[i], e_ref - inputs[i]);
		/* Documented: a few ulp, not correctly rounded. */
		if (fabs(ours - ref) > 1e-14 * fabs(ref))
			fail_msg("strtod(\"%s\") = %.17g, glibc %.17g", inputs[i], ours, ref);
	}
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

struct rec {
	uint32_t key;
	char pad[13]; /* an odd element size */
};

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

static void test_qsort_bsearch(void **state)
{
	int ours[SORT_MAX], ref[SORT_MAX];
	struct rec recs[SORT_MAX];

	(void)state;
	srand(7);
	for (int n = 0; n <= SORT_MAX; n += 1 + n / 3) {
		for (int i = 0; i < n; i++)
			ours[i] = ref[i] = rand() % (n / 2 + 1); /* duplicates included */
		mlibc_qsort(ours, (size_t)n, sizeof(int), cmp_int);
		qsort(ref, (size_t)n, sizeof(int), cmp_int);
		assert_memory_equal(ours, ref, (size_t)n * sizeof(int));
		for (int i = 0; i < n; i++) {
			int *hit = mlibc_bsearch(&ref[i], ours, (size_t)n, sizeof(int), cmp_int);

			assert_non_null(hit);
			assert_int_equal(*hit, ref[i]);
		}
		int missing = -1;

		assert_null(mlibc_bsearch(&missing, ours, (size_t)n, sizeof(int), cmp_int));
	}
	for (int i = 0; i < SORT_MAX; i++) {
		recs[i].key = (uint32_t)((i * 7919u) % SORT_MAX);
		memset(recs[i].pad, (int)recs[i].key, sizeof(recs[i].pad));
	}
	mlibc_qsort(recs, SORT_MAX, sizeof(recs[0]), cmp_rec);
	for (int i = 0; i < SORT_MAX; i++) {
		assert_int_equal(recs[i].key, (uint32_t)i);
		assert_int_equal((unsigned char)recs[i].pad[12], (unsigned char)i);
	}
}

static void test_strings(void **state)
{
	static unsigned char small_heap[16 * 4096] __attribute__((aligned(16)));
	char buf[32] = "0123456789";
	const char *hay = "the cat sat on the mat";
	char *copy;

	(void)state;
	mlibc_memmove(buf + 2, buf, 8); /* overlapping, forward */
	assert_string_equal(buf, "0101234567");
	mlibc_memmove(buf, buf + 3, 7); /* overlapping, backward */
	assert_string_equal(buf, "1234567567");
	assert_ptr_equal(mlibc_strstr(hay, "at"), strstr(hay, "at"));
	assert_ptr_equal(mlibc_strstr(hay, "mat"), strstr(hay, "mat"));
	assert_ptr_equal(mlibc_strstr(hay, "dog"), NULL);
	assert_ptr_equal(mlibc_strstr(hay, ""), hay);
	assert_ptr_equal(mlibc_strchr(hay, 't'), strchr(hay, 't'));
	assert_ptr_equal(mlibc_strchr(hay, '\0'), strchr(hay, '\0'));
	assert_ptr_equal(mlibc_strrchr(hay, 't'), strrchr(hay, 't'));
	assert_ptr_equal(mlibc_memchr(hay, 'o', 22), memchr(hay, 'o', 22));
	assert_true(mlibc_strcmp("abc", "abd") < 0 && mlibc_strcmp("b", "a") > 0);
	assert_true(mlibc_strcmp("\xff", "a") > 0); /* compared as unsigned char */
	assert_int_equal(mlibc_strncmp("abcX", "abcY", 3), 0);
	assert_true(mlibc_memcmp("\x01\x80", "\x01\x7f", 2) > 0);
	assert_int_equal(mlibc_strlen(hay), strlen(hay));
	libc_heap_init(small_heap, sizeof(small_heap));
	copy = mlibc_strndup(hay, 7);
	assert_string_equal(copy, "the cat");
	mlibc_free(copy);
}

static void test_ctype(void **state)
{
	(void)state;
	for (int c = -1; c < 256; c++) {
		assert_int_equal(!!mlibc_isdigit(c), !!isdigit(c));
		assert_int_equal(!!mlibc_isalpha(c), !!isalpha(c));
		assert_int_equal(!!mlibc_isalnum(c), !!isalnum(c));
		assert_int_equal(!!mlibc_isspace(c), !!isspace(c));
		assert_int_equal(!!mlibc_isupper(c), !!isupper(c));
		assert_int_equal(!!mlibc_islower(c), !!islower(c));
		assert_int_equal(!!mlibc_isxdigit(c), !!isxdigit(c));
		assert_int_equal(!!mlibc_isprint(c), !!isprint(c));
		assert_int_equal(mlibc_toupper(c), toupper(c));
		assert_int_equal(mlibc_tolower(c), tolower(c));
	}
}

struct slot {
	unsigned char *p;
	size_t len;
	unsigned char fill;
};

static void slot_check(const struct slot *s)
{
	for (size_t i = 0; i < s->len; i++) {
		if (s->p[i] != s->fill)
			fail_msg("heap block %p byte %zu: %#x, expected %#x", (void *)s->p, i,
				 s->p[i], s->fill);
	}
}

static void test_heap_random_workload(void **state)
{
	void *region = malloc(HEAP_BYTES);
	struct slot slots[HEAP_SLOTS] = {0};
	struct libc_heap_stats st;
	void *big;

	(void)state;
	assert_non_null(region);
	libc_heap_init(region, HEAP_BYTES);
	srand(11);
	for (int round = 0; round < HEAP_ROUNDS; round++) {
		struct slot *s = &slots[rand() % HEAP_SLOTS];
		size_t len = (size_t)(rand() % 3000);
		int op = rand() % 3;

		if (s->p)
			slot_check(s);
		if (op == 0 && s->p) {
			mlibc_free(s->p);
			s->p = NULL;
			continue;
		}
		if (op == 1 && s->p) {
			unsigned char *q = mlibc_realloc(s->p, len);

			if (!q)
				continue; /* old block untouched */
			s->p = q;
			s->len = len < s->len ? len : s->len; /* the kept prefix */
			slot_check(s);
		} else {
			if (s->p)
				mlibc_free(s->p);
			s->p = (unsigned char *)mlibc_malloc(len);
			if (!s->p)
				continue;
		}
		assert_int_equal((uintptr_t)s->p % 16, 0);
		s->len = len;
		s->fill = (unsigned char)rand();
		memset(s->p, s->fill, len);
	}
	libc_heap_stats(&st);
	size_t live = 0;

	for (int i = 0; i < HEAP_SLOTS; i++) {
		if (slots[i].p) {
			slot_check(&slots[i]);
			live++;
		}
	}
	assert_int_equal(st.allocs, live);
	for (int i = 0; i < HEAP_SLOTS; i++)
		mlibc_free(slots[i].p);
	libc_heap_stats(&st);
	assert_int_equal(st.allocs, 0);
	assert_int_equal(st.used_bytes, 0);
	/* Every page came back and coalesced: the whole heap is one run again. */
	assert_int_equal(st.pages_free, st.pages_total);
	assert_true(st.pages_total * HEAP_PAGE > HEAP_BYTES * 9 / 10);
	big = mlibc_malloc(st.pages_total * HEAP_PAGE);
	assert_non_null(big);
	assert_null(mlibc_malloc(1)); /* no page left for a slab */
	libc_heap_stats(&st);
	assert_true(st.failures > 0);
	mlibc_free(big);
	assert_null(mlibc_calloc(SIZE_MAX / 2, 4)); /* overflow refused */
	free(region);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snprintf_integers),
		cmocka_unit_test(test_snprintf_strings),
		cmocka_unit_test(test_snprintf_truncation),
		cmocka_unit_test(test_strto_integers),
		cmocka_unit_test(test_strtod),
		cmocka_unit_test(test_qsort_bsearch),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_ctype),
		cmocka_unit_test(test_heap_random_workload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
