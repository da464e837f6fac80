/*
 * tests/unit/dataflow/test_ops.c — every operator run through the real task
 * API (tests/unit/dataflow/harness.c) and checked against results computed
 * here independently: plain loops over the same input, or worked out by
 * hand for the event-time cases (out-of-order and late records).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "tests/unit/dataflow/harness.h"

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[512];
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, tmp, (size_t)n + 1);
	b->len += (size_t)n;
}

/* Runs and compares the sorted sink 0 output with the sorted expectation. */
static void expect_run(const char *job, const char *const *in, unsigned n_in, unsigned par,
		       const char *expected_text, uint64_t late)
{
	struct h_result r;
	char *want = strdup(expected_text);
	int rc = h_run(job, in, n_in, par, 0, &r);
	if (rc)
		fail_msg("run failed (%d): %s", rc, r.err);
	h_sort_lines(r.out[0]);
	h_sort_lines(want);
	if (strcmp(r.out[0], want) != 0)
		fail_msg("par %u:\n got:\n%s\n want:\n%s", par, r.out[0], want);
	assert_int_equal(r.late, late);
	free(want);
	h_free(&r);
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void test_wordcount(void **state)
{
	static const char *const vocab[] = {"the", "cat", "sat", "on", "a",
					    "mat", "Dog", "x",   "yz", "Q"};
	struct sbuf text = {0}, want = {0};
	long counts[10] = {0};
	uint32_t seed = 7;
	(void)state;
	for (int line = 0; line < 400; line++) {
		int words = (int)(lcg(&seed) % 12);
		for (int w = 0; w < words; w++) {
			int k = (int)(lcg(&seed) % 10);
			counts[k]++;
			sb_printf(&text, "%s%s", w ? (lcg(&seed) % 4 ? " " : "  ") : "", vocab[k]);
		}
		sb_printf(&text, "\n%s", line % 37 == 36 ? "\x01" : "");
	}
	/* "Dog" and "Q" lower-case into their own words; no other collisions */
	for (int k = 0; k < 10; k++) {
		char lw[8];
		size_t n = strlen(vocab[k]);
		for (size_t i = 0; i <= n; i++)
			lw[i] = (char)(vocab[k][i] >= 'A' && vocab[k][i] <= 'Z' ? vocab[k][i] + 32
										: vocab[k][i]);
		if (counts[k])
			sb_printf(&want, "%s,%ld\n", lw, counts[k]);
	}
	const char *job = "read_text(\"netfs://c/*.txt\")\n"
			  ".flat_map(line -> split(lower(line), \" \"))\n"
			  ".filter(w -> w != \"\")\n"
			  ".map(w -> (w, 1))\n"
			  ".reduce_by_key((a, b) -> a + b)\n"
			  ".write_csv(\"netfs://out/wc.csv\")\n";
	const char *in[] = {text.p};
	for (unsigned par = 1; par <= 3; par++)
		expect_run(job, in, 1, par, want.p, 0);
	free(text.p);
	free(want.p);
}

static void test_generate_map_filter_union(void **state)
{
	struct sbuf want = {0};
	(void)state;
	for (int x = 0; x < 1000; x++)
		if (x % 3 == 0)
			sb_printf(&want, "%d,%d\n", x * 2, x);
	expect_run("generate(1000).filter(x -> x % 3 == 0).map(x -> (x * 2, str(x))).collect()",
		   NULL, 0, 2, want.p, 0);
	expect_run("generate(5).union(generate(3)).collect()", NULL, 0, 2,
		   "0\n1\n2\n3\n4\n0\n1\n2\n", 0);
	expect_run("generate(3).flat_map(x -> [(x, 1), (x, 2)]).map(p -> p.0 * 10 + p.1).collect()",
		   NULL, 0, 2, "1\n2\n11\n12\n21\n22\n", 0);
	free(want.p);
}

/* Leading maps and filters run a batch at a time (df_vec.c): several batches,
 * tuples, floats, straight-line and branching programs, strings, and an
 * error in the middle of a batch. */
static void test_batched_chains(void **state)
{
	struct sbuf want = {0}, text = {0};
	struct h_result r;
	long sums[3] = {0};
	(void)state;
	for (int x = 0; x < 5000; x++) {
		long a = (long)x * 7 % 11, b = -(long)x / 3;
		double f = x * 0.5 - a;
		if (a > 3 && f >= 10.0)
			sb_printf(&want, "%d,%ld,%.15g\n", x, b, f);
	}
	expect_run("generate(5000)"
		   ".map(x -> (x, x * 7 % 11, -x / 3))"
		   ".map(p -> (p.0, p.1, p.2, float(p.0) * 0.5 - float(p.1)))"
		   ".filter(p -> p.1 > 3 and p.3 >= 10.0)"
		   ".map(p -> (p.0, p.2, p.3)).collect()",
		   NULL, 0, 2, want.p, 0);
	want.len = 0;
	want.p[0] = 0;
	for (int i = 0; i < 700; i++) {
		int k = i % 3;
		sb_printf(&text, "%s%d\n", k == 0 ? "ab" : k == 1 ? "c" : "skip", i);
		if (k != 2)
			sums[k] += i;
	}
	sb_printf(&want, "ab,%ld\nc,%ld\n", sums[0], sums[1]);
	const char *in[] = {text.p};
	expect_run("read_text(\"netfs://t\")"
		   ".filter(l -> not starts_with(l, \"skip\"))"
		   ".map(l -> (if starts_with(l, \"ab\") then \"ab\" else \"c\", "
		   "parse_int(substr(l, if starts_with(l, \"ab\") then 2 else 1, 9))))"
		   ".filter(p -> p.0 != \"\" and p.1 >= 0)"
		   ".key_by(p -> p.0).sum(p -> p.1).collect()",
		   in, 1, 2, want.p, 0);
	/* branches per row: the guard keeps 1000 / 0 from running */
	want.len = 0;
	want.p[0] = 0;
	for (int x = 0; x < 3000; x++)
		if (x % 5 != 0 && 1000 / (x % 5) > 300)
			sb_printf(&want, "%d,%d\n", x % 2 == 0 ? x / 2 : -x, x % 7 < 3 || x > 2990);
	expect_run("generate(3000)"
		   ".filter(x -> x % 5 != 0 and 1000 / (x % 5) > 300)"
		   ".map(x -> (if x % 2 == 0 then x / 2 else 0 - x, x % 7 < 3 or x > 2990))"
		   ".map(p -> (p.0, if p.1 then 1 else 0)).collect()",
		   NULL, 0, 2, want.p, 0);
	/* a division by zero in the middle of a batch fails the task */
	assert_int_equal(
		h_run("generate(1000).map(x -> 100 / (x - 600)).collect()", NULL, 0, 1, 0, &r),
		SD_EINVAL);
	assert_non_null(strstr(r.err, "division by zero"));
	h_free(&r);
	free(text.p);
	free(want.p);
}

static void test_keyed_aggregates(void **state)
{
	static const char *const keys[] = {"a", "b", "c", "d"};
	struct sbuf csv = {0}, cnt = {0}, sum = {0}, mn = {0}, mx = {0}, avg = {0};
	long n[4] = {0}, imin[4], imax[4];
	double fsum[4] = {0};
	uint32_t seed = 3;
	long total = 0;
	(void)state;
	for (int k = 0; k < 4; k++) {
		imin[k] = 1L << 40;
		imax[k] = -(1L << 40);
	}
	for (int i = 0; i < 500; i++) {
		int k = (int)(lcg(&seed) % 4);
		long v = (long)(lcg(&seed) % 2001) - 1000;
		double f = (double)(lcg(&seed) % 400) * 0.25; /* exact in binary: sums are exact */
		sb_printf(&csv, "%s,%ld,%.2f\n%s", keys[k], v, f, i % 50 == 49 ? "\x01" : "");
		n[k]++;
		total++;
		fsum[k] += f;
		imin[k] = v < imin[k] ? v : imin[k];
		imax[k] = v > imax[k] ? v : imax[k];
	}
	sb_printf(&csv, "bad,line\n");
	for (int k = 0; k < 4; k++) {
		sb_printf(&cnt, "%s,%ld\n", keys[k], n[k]);
		sb_printf(&sum, "%s,%.15g\n", keys[k], fsum[k]);
		sb_printf(&mn, "%s,%ld\n", keys[k], imin[k]);
		sb_printf(&mx, "%s,%ld\n", keys[k], imax[k]);
		sb_printf(&avg, "%s,%.15g\n", keys[k], fsum[k] / (double)n[k]);
	}
	const char *in[] = {csv.p};
#define SRC "read_csv(\"netfs://t.csv\", { k: str, v: int, f: float }).key_by(r -> r.k)"
	for (unsigned par = 1; par <= 3; par += 2) {
		expect_run(SRC ".count().collect()", in, 1, par, cnt.p, 0);
		expect_run(SRC ".sum(r -> r.f).collect()", in, 1, par, sum.p, 0);
		expect_run(SRC ".min(r -> r.v).collect()", in, 1, par, mn.p, 0);
		expect_run(SRC ".max(r -> r.v).collect()", in, 1, par, mx.p, 0);
		expect_run(SRC ".avg(r -> r.f).collect()", in, 1, par, avg.p, 0);
	}
	/* the key filter runs before the combiner (pushed down): same answer */
	struct sbuf nota = {0};
	for (int k = 1; k < 4; k++)
		sb_printf(&nota, "%s,%ld\n", keys[k], n[k]);
	expect_run(SRC ".count().filter(r -> r.key != \"a\").collect()", in, 1, 2, nota.p, 0);
	free(nota.p);
	char line[32];
	snprintf(line, sizeof line, "%ld\n", total);
	expect_run("read_csv(\"netfs://t.csv\", { k: str, v: int, f: float }).count().collect()",
		   in, 1, 2, line, 0);
	struct h_result r;
	assert_int_equal(h_run(SRC ".count().collect()", in, 1, 2, 0, &r), 0);
	assert_int_equal(r.bad, 1); /* "bad,line" does not match the schema */
	h_free(&r);
#undef SRC
	free(csv.p);
	free(cnt.p);
	free(sum.p);
	free(mn.p);
	free(mx.p);
	free(avg.p);
}

static void test_reduce_strings_distinct_top(void **state)
{
	static const char *const words[] = {"pear", "fig",  "kiwi", "apple",
					    "date", "plum", "lime", "yam"};
	struct sbuf text = {0}, want = {0}, dist = {0}, top = {0};
	const char *best[8] = {0};
	bool seen[8] = {0};
	uint32_t seed = 11;
	(void)state;
	for (int i = 0; i < 300; i++) {
		int k = (int)(lcg(&seed) % 8);
		sb_printf(&text, "%s\n%s", words[k], i % 40 == 39 ? "\x01" : "");
		size_t l = strlen(words[k]);
		if (!best[l] || strcmp(words[k], best[l]) < 0)
			best[l] = words[k];
		seen[k] = true;
	}
	for (int l = 0; l < 8; l++)
		if (best[l])
			sb_printf(&want, "%d,%s\n", l, best[l]);
	for (int k = 0; k < 8; k++)
		if (seen[k])
			sb_printf(&dist, "%s\n", words[k]);
	const char *in[] = {text.p};
	expect_run("read_text(\"netfs://w\").map(w -> (len(w), w))"
		   ".reduce_by_key((a, b) -> if a < b then a else b).collect()",
		   in, 1, 2, want.p, 0);
	expect_run("read_text(\"netfs://w\").distinct().collect()", in, 1, 3, dist.p, 0);
	/* a filter pushed before the shuffle gives what it gives after it */
	struct sbuf few = {0};
	for (int k = 0; k < 8; k++)
		if (seen[k] && words[k][0] == 'p')
			sb_printf(&few, "%s\n", words[k]);
	expect_run(
		"read_text(\"netfs://w\").distinct().filter(w -> starts_with(w, \"p\")).collect()",
		in, 1, 2, few.p, 0);
	free(few.p);
	/* top 3 of (x * 37 % 100): the values 99, 98, 97 */
	for (int x = 0; x < 100; x++)
		if (x * 37 % 100 >= 97)
			sb_printf(&top, "%d,%d\n", x * 37 % 100, x);
	struct h_result r;
	assert_int_equal(
		h_run("generate(100).map(x -> (x * 37 % 100, x)).top(3, by = p -> p.0).collect()",
		      NULL, 0, 3, 0, &r),
		0);
	/* top emits best first: compare unsorted, computed order is 99, 98, 97 */
	char order[64];
	int o = 0;
	for (int v = 99; v >= 97; v--)
		for (int x = 0; x < 100; x++)
			if (x * 37 % 100 == v)
				o += snprintf(order + o, sizeof order - (size_t)o, "%d,%d\n", v, x);
	assert_string_equal(r.out[0], order);
	h_free(&r);
	free(text.p);
	free(want.p);
	free(dist.p);
	free(top.p);
}

static void test_tumbling_late(void **state)
{
	(void)state;
	/* one source task: each chunk is one batch, then watermark = max ts - 1s */
	const char *in[] = {
		"1000,a\n5000,a\n3000,b\n" /* wm 4000 */
		"\x01"
		"12000,a\n9000,b\n" /* 9000 is out of order but on time; wm 11000 fires [0,10s) */
		"\x01"
		"8000,a\n15000,b\n" /* 8000 is late: its window fired */
		"\x01"
		"25000,a\n"}; /* wm 24000 fires [10s,20s) */
	const char *job = "read_csv(\"netfs://c.csv\", { ts: int, url: str }) @parallelism(1)\n"
			  "  .event_time(c -> c.ts, lateness = 1s)\n"
			  "  .key_by(c -> c.url).window(tumbling(10s)).count().collect()\n";
	const char *want =
		"a,0,10000,2\nb,0,10000,2\na,10000,20000,1\nb,10000,20000,1\na,20000,30000,1\n";
	expect_run(job, in, 1, 2, want, 1);
	/* with generous lateness nothing is late and 8000 counts in [0,10s) */
	const char *job2 = "read_csv(\"netfs://c.csv\", { ts: int, url: str }) @parallelism(1)\n"
			   "  .event_time(c -> c.ts, lateness = 20s)\n"
			   "  .key_by(c -> c.url).window(tumbling(10s)).count().collect()\n";
	/* the late record can be kept: a named side output instead of a drop */
	const char *job3 =
		"let c = read_csv(\"netfs://c.csv\", { ts: int, url: str }) @parallelism(1)\n"
		"  .event_time(c -> c.ts, lateness = 1s, late = \"late\")\n"
		"c.key_by(c -> c.url).window(tumbling(10s)).count().collect()\n"
		"late.map(c -> (c.url, c.ts)).collect()\n";
	struct h_result r;
	assert_int_equal(h_run(job3, in, 1, 2, 0, &r), 0);
	h_sort_lines(r.out[0]);
	char *w = strdup(want);
	h_sort_lines(w);
	assert_string_equal(r.out[0], w);
	assert_string_equal(r.out[1], "a,8000\n");
	assert_int_equal(r.late, 1);
	free(w);
	h_free(&r);
	expect_run(job2, in, 1, 2,
		   "a,0,10000,3\nb,0,10000,2\na,10000,20000,1\nb,10000,20000,1\na,20000,30000,1\n",
		   0);
}

static void test_sliding_session(void **state)
{
	(void)state;
	const char *in[] = {"1000,a\n6000,a\n12000,a\n"};
	expect_run("read_csv(\"netfs://c\", { ts: int, k: str }).event_time(c -> c.ts)"
		   ".key_by(c -> c.k).window(sliding(10s, 5s)).count().collect()",
		   in, 1, 2, "a,-5000,5000,1\na,0,10000,2\na,5000,15000,2\na,10000,20000,1\n", 0);
	const char *sin[] = {"3000,a\n1000,a\n2000,b\n\x01"
			     "22000,a\n20000,a\n\x01"
			     "30000,a\n"};
	expect_run("read_csv(\"netfs://c\", { ts: int, k: str }) @parallelism(1)"
		   ".event_time(c -> c.ts, lateness = 5s)"
		   ".key_by(c -> c.k).window(session(5s)).count().collect()",
		   sin, 1, 2, "a,1000,8000,2\nb,2000,7000,1\na,20000,27000,2\na,30000,35000,1\n",
		   0);
	/* sums per window on a global (unkeyed) stream */
	expect_run("read_csv(\"netfs://c\", { ts: int, k: str }).event_time(c -> c.ts)"
		   ".window(tumbling(10s)).sum(c -> c.ts).collect()",
		   in, 1, 2, "0,10000,7000\n10000,20000,12000\n", 0);
}

struct ev {
	long ts;
	const char *user;
	int v;
};

static void test_joins(void **state)
{
	static const struct ev views[] = {{1000, "ann", 1},  {2000, "bob", 2},  {5000, "ann", 3},
					  {40000, "cat", 4}, {41000, "ann", 5}, {90000, "bob", 6}};
	static const struct ev buys[] = {{3000, "ann", 10},
					 {20000, "bob", 20},
					 {45000, "ann", 30},
					 {46000, "cat", 40},
					 {50000, "dan", 50}};
	struct sbuf vin = {0}, bin = {0}, all = {0}, near = {0};
	(void)state;
	for (size_t i = 0; i < 6; i++)
		sb_printf(&vin, "%ld,%s,%d\n%s", views[i].ts, views[i].user, views[i].v,
			  i == 2 ? "\x01" : "");
	for (size_t i = 0; i < 5; i++)
		sb_printf(&bin, "%ld,%s,%d\n%s", buys[i].ts, buys[i].user, buys[i].v,
			  i == 1 ? "\x01" : "");
	for (size_t i = 0; i < 6; i++)
		for (size_t k = 0; k < 5; k++) {
			if (strcmp(views[i].user, buys[k].user))
				continue;
			sb_printf(&all, "%s,%d,%d\n", views[i].user, views[i].v, buys[k].v);
			if (labs(views[i].ts - buys[k].ts) <= 30000)
				sb_printf(&near, "%s,%d,%d\n", views[i].user, views[i].v,
					  buys[k].v);
		}
	const char *in[] = {vin.p, bin.p};
	const char *bounded =
		"let v = read_csv(\"netfs://v\", { ts: int, user: str, page: int })\n"
		"let b = read_csv(\"netfs://b\", { ts: int, user: str, amount: int })\n"
		"v.join(b, on = (x -> x.user, y -> y.user))\n"
		" .map((x, y) -> { user: x.user, page: x.page, amount: y.amount }).collect()\n";
	expect_run(bounded, in, 2, 2, all.p, 0);
	const char *windowed =
		"let v = tail_csv(\"netfs://v\", { ts: int, user: str, page: int }).event_time(x "
		"-> x.ts, lateness = 1s)\n"
		"let b = tail_csv(\"netfs://b\", { ts: int, user: str, amount: int }).event_time(x "
		"-> x.ts, lateness = 1s)\n"
		"v.join(b, on = (x -> x.user, y -> y.user), within = 30s)\n"
		" .map((x, y) -> { user: x.user, page: x.page, amount: y.amount }).print()\n";
	expect_run(windowed, in, 2, 3, near.p, 0);
	free(vin.p);
	free(bin.p);
	free(all.p);
	free(near.p);
}

static void test_memory_budget(void **state)
{
	struct sbuf text = {0}, want = {0};
	struct h_result r;
	(void)state;
	for (int i = 0; i < 3000; i++)
		sb_printf(&text, "k%d\nk%d\n", i, i);
	for (int i = 0; i < 3000; i++)
		sb_printf(&want, "k%d,2\n", i);
	const char *in[] = {text.p};
	/* the final aggregate cannot fit: the task fails and says why */
	assert_int_equal(h_run("read_text(\"netfs://t\").map(w -> (w, 1)).reduce_by_key((a, b) -> "
			       "a + b).collect()",
			       in, 1, 1, 64 << 10, &r),
			 SD_ELIMIT);
	assert_non_null(strstr(r.err, "exceeds the memory budget of 65536 bytes"));
	h_free(&r);
	/* one source task holds every key in its combiner, four final tasks a
	 * quarter each: the combiner spills its partials and the answer holds */
	assert_int_equal(h_run("read_text(\"netfs://t\") @parallelism(1)"
			       ".map(w -> (w, 1)).reduce_by_key((a, b) -> a + b).collect()",
			       in, 1, 4, 200 << 10, &r),
			 0);
	h_sort_lines(r.out[0]);
	char *w = strdup(want.p);
	h_sort_lines(w);
	assert_string_equal(r.out[0], w);
	h_free(&r);
	/* the same with count(): its combiner keeps the dense string-key table */
	assert_int_equal(h_run("read_text(\"netfs://t\") @parallelism(1)"
			       ".key_by(w -> w).count().collect()",
			       in, 1, 4, 200 << 10, &r),
			 0);
	h_sort_lines(r.out[0]);
	assert_string_equal(r.out[0], w);
	h_free(&r);
	assert_int_equal(h_run("read_text(\"netfs://t\").key_by(w -> w).count().collect()", in, 1,
			       1, 64 << 10, &r),
			 SD_ELIMIT);
	h_free(&r);
	free(w);
	free(text.p);
	free(want.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wordcount),
		cmocka_unit_test(test_generate_map_filter_union),
		cmocka_unit_test(test_batched_chains),
		cmocka_unit_test(test_keyed_aggregates),
		cmocka_unit_test(test_reduce_strings_distinct_top),
		cmocka_unit_test(test_tumbling_late),
		cmocka_unit_test(test_sliding_session),
		cmocka_unit_test(test_joins),
		cmocka_unit_test(test_memory_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
