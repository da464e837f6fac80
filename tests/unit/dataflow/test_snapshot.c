/*
 * tests/unit/dataflow/test_snapshot.c — checkpoints (df_task_snapshot,
 * df_task_restore, df_task_state_shape).
 *
 * The main property: a job whose every task is checkpointed between its
 * input calls (snapshot, close, a fresh task from the same plan, restore;
 * harness.c, h_opts.snap_every) produces exactly the output and counters of
 * the uninterrupted run — sink text byte for byte, the watermarks every task
 * emitted, the counters — for every stateful operator kind, every stage of
 * multi-stage pipelines, and with cuts after every call or only some. What a
 * snapshot flushed is part of the output compared. The harness also checks
 * that each restored task reports the counters of the task it replaces and
 * no more state bytes, and that snapshots stay within the live state's size.
 *
 * Then the refusals: every truncation of real snapshots of every operator
 * kind, flipped bytes (lengths, version, shape), another plan or partition,
 * a restore after input, a budget too small; all without a crash (the suite
 * also runs under ASan and UBSan).
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "tests/unit/dataflow/harness.h"

/* ---- runs with and without checkpoints ---- */

static void expect_same(const char *what, const struct h_result *a, const struct h_result *b)
{
	for (unsigned s = 0; s < H_SINKS_MAX; s++) {
		if (strcmp(a->out[s], b->out[s]) == 0)
			continue;
		size_t k = 0;
		while (a->out[s][k] == b->out[s][k])
			k++;
		k = k > 60 ? k - 60 : 0;
		fail_msg("%s: sink %u differs at byte %zu:\n uninterrupted: %.160s\n restored: "
			 "%.160s",
			 what, s, k, a->out[s] + k, b->out[s] + k);
	}
	assert_string_equal(a->wms, b->wms); /* the watermarks the tasks emitted */
	assert_int_equal(a->late, b->late);
	assert_int_equal(a->bad, b->bad);
	assert_int_equal(a->records_in, b->records_in);
	assert_int_equal(a->records_out, b->records_out);
}

/* Runs job uninterrupted, then checkpointing every task before its first
 * input call and after every 1st, 2nd and 5th; each output must equal the
 * uninterrupted one byte for byte. Returns the uninterrupted run in *base
 * (h_free) for the caller's own checks. */
static void same_with_checkpoints(const char *job, const char *const *in, unsigned n_in,
				  unsigned par, uint64_t memory, uint64_t gen_step,
				  struct h_result *base)
{
	static const unsigned every[] = {1, 2, 5};
	struct h_opts o = {.gen_step = gen_step};
	char what[64];

	if (h_run_opts(job, in, n_in, par, memory, &o, base))
		fail_msg("uninterrupted run failed: %s\n%s", base->err, job);
	for (size_t k = 0; k < sizeof every / sizeof *every; k++) {
		struct h_result r;
		o.snap_every = every[k];
		if (h_run_opts(job, in, n_in, par, memory, &o, &r))
			fail_msg("checkpointed run failed: %s\n%s", r.err, job);
		snprintf(what, sizeof what, "parallelism %u, every %u calls", par, every[k]);
		expect_same(what, base, &r);
		assert_true(r.snapshots > 0);
		/* a snapshot is smaller than the live state, but for its headers */
		assert_in_range(r.snap_excess, 0, 512);
		h_free(&r);
	}
}

/* The same, for parallelism 1 and 3; the output has at least min_lines. */
static void check_job(const char *job, const char *const *in, unsigned n_in, size_t min_lines)
{
	for (unsigned par = 1; par <= 3; par += 2) {
		struct h_result base;
		same_with_checkpoints(job, in, n_in, par, 0, 0, &base);
		if (h_count_lines(base.out[0]) < min_lines)
			fail_msg("only %zu lines (want %zu or more) from\n%s",
				 h_count_lines(base.out[0]), min_lines, job);
		h_free(&base);
	}
}

/* ---- inputs ---- */

/* key,v,f lines: n lines over `keys` keys (2500 make tables grow past their
 * first size), chunks of 97 lines, a few malformed lines. */
static char *keyed_csv(int n, unsigned keys)
{
	struct h_sbuf b = {0};
	uint32_t seed = 5;
	for (int i = 0; i < n; i++) {
		unsigned k = h_lcg(&seed) % keys;
		long v = (long)(h_lcg(&seed) % 2001) - 1000;
		h_printf(&b, "k%u,%ld,%.2f\n%s", k * 7919 % 10007, v,
			 (double)(h_lcg(&seed) % 4000) * 0.37, i % 97 == 96 ? "\x01" : "");
		if (i % 1000 == 500)
			h_printf(&b, "bad,line\n");
	}
	return b.p;
}

/* ts,k,v lines in event-time order with jitter (some beyond the lateness),
 * chunks of 40 lines. */
static char *timed_csv(uint32_t seed, int n)
{
	struct h_sbuf b = {0};
	for (int i = 0; i < n; i++) {
		long ts = (long)i * 150 + (long)(h_lcg(&seed) % 3000);
		if (i % 53 == 52)
			ts -= 9000; /* late for a 2s lateness */
		h_printf(&b, "%ld,u%u,%u\n%s", ts < 0 ? 0 : ts, h_lcg(&seed) % 30,
			 h_lcg(&seed) % 100, i % 40 == 39 ? "\x01" : "");
	}
	return b.p;
}

static char *words_text(void)
{
	static const char *const vocab[] = {"the",  "cat",   "sat",  "on",   "a",    "mat",
					    "dog",  "x",     "yz",   "q",    "pear", "fig",
					    "kiwi", "apple", "date", "plum", "lime", "yam"};
	struct h_sbuf b = {0};
	uint32_t seed = 9;
	for (int line = 0; line < 900; line++) {
		int words = (int)(h_lcg(&seed) % 9);
		for (int w = 0; w < words; w++)
			h_printf(&b, "%s%s%u", w ? " " : "", vocab[h_lcg(&seed) % 18],
				 h_lcg(&seed) % 40);
		h_printf(&b, "\n%s", line % 31 == 30 ? "\x01" : "");
	}
	return b.p;
}

/* ---- every stateful operator kind ---- */

#define KEYED "read_csv(\"netfs://k.csv\", { k: str, v: int, f: float })"

static void test_keyed_aggregates(void **state)
{
	static const char *const jobs[] = {
		/* one string key: the dense string-key table (combiner and final) */
		KEYED ".key_by(r -> r.k).count().collect()",
		KEYED ".key_by(r -> r.k).sum(r -> r.v).collect()",
		KEYED ".key_by(r -> r.k).avg(r -> r.f).collect()",
		/* one string key through reduce: the general table, hashed raw */
		KEYED ".map(r -> (r.k, r.v)).reduce_by_key((a, b) -> a + b).collect()",
		/* string accumulators (owned copies) under string and int keys */
		KEYED ".key_by(r -> r.k).max(r -> r.k + \"/\" + str(r.v)).collect()",
		KEYED ".key_by(r -> r.v % 17).min(r -> r.k).collect()",
		/* int keys, compound keys, float sums whose order matters */
		KEYED ".key_by(r -> r.v % 13).count().collect()",
		KEYED ".key_by(r -> (r.k, r.v % 3)).sum(r -> r.f).collect()",
		KEYED ".count().collect()",
	};
	char *csv = keyed_csv(6000, 2500);
	const char *in[] = {csv};
	(void)state;
	for (size_t k = 0; k < sizeof jobs / sizeof *jobs; k++)
		check_job(jobs[k], in, 1, 1);
	free(csv);
}

#define TIMED_CSV "read_csv(\"netfs://t.csv\", { ts: int, k: str, v: int })"
#define TIMED     TIMED_CSV ".event_time(c -> c.ts, lateness = 2s)"

static void test_windows(void **state)
{
	static const char *const jobs[] = {
		TIMED ".key_by(c -> c.k).window(tumbling(10s)).count().collect()",
		TIMED ".key_by(c -> c.k).window(sliding(10s, 5s)).sum(c -> c.v).collect()",
		TIMED ".key_by(c -> c.v % 7).window(sliding(6s, 2s)).max(c -> c.k).collect()",
		TIMED ".key_by(c -> c.k).window(session(1s)).count().collect()",
		TIMED ".key_by(c -> c.k).window(session(2s))"
		      ".sum(c -> float(c.v) * 0.1).collect()",
		TIMED ".key_by(c -> c.k).window(tumbling(5s)).avg(c -> c.v).collect()",
		TIMED ".window(tumbling(10s)).count().collect()",
		"let c = " TIMED_CSV ".event_time(c -> c.ts, lateness = 2s, late = \"late\")\n"
		"c.key_by(c -> c.k).window(tumbling(4s)).count().collect()\n"
		"late.map(c -> (c.k, c.ts)).collect()\n",
	};
	char *csv = timed_csv(21, 3000);
	const char *in[] = {csv};
	(void)state;
	for (size_t k = 0; k < sizeof jobs / sizeof *jobs; k++)
		check_job(jobs[k], in, 1, 10);
	/* the jitter does make late records, and they survive checkpoints */
	struct h_result r;
	same_with_checkpoints(jobs[0], in, 1, 1, 0, 0, &r);
	assert_true(r.late > 0);
	h_free(&r);
	free(csv);
}

static void test_joins(void **state)
{
	char *v = timed_csv(3, 1200), *b = timed_csv(4, 900);
	const char *in[] = {v, b};
	(void)state;
	check_job("let v = read_csv(\"netfs://v\", { ts: int, user: str, page: int })\n"
		  "let b = read_csv(\"netfs://b\", { ts: int, user: str, amount: int })\n"
		  "v.join(b, on = (x -> x.user, y -> y.user))\n"
		  " .filter((x, y) -> x.page % 9 == y.amount % 9)\n"
		  " .map((x, y) -> { user: x.user, page: x.page, amount: y.amount }).collect()\n",
		  in, 2, 100);
	check_job("let v = tail_csv(\"netfs://v\", { ts: int, user: str, page: int })"
		  ".event_time(x -> x.ts, lateness = 1s)\n"
		  "let b = tail_csv(\"netfs://b\", { ts: int, user: str, amount: int })"
		  ".event_time(x -> x.ts, lateness = 1s)\n"
		  "v.join(b, on = (x -> x.user, y -> y.user), within = 3s)\n"
		  " .map((x, y) -> { user: x.user, vt: x.ts, bt: y.ts, amount: y.amount })"
		  ".print()\n",
		  in, 2, 100);
	free(v);
	free(b);
}

static void test_distinct_top(void **state)
{
	char *text = words_text();
	char *csv = keyed_csv(6000, 2500);
	const char *in[] = {text}, *kin[] = {csv};
	(void)state;
	check_job("read_text(\"netfs://w\").flat_map(l -> split(l, \" \")).distinct().collect()",
		  in, 1, 100);
	check_job(KEYED ".map(r -> (r.v % 50, r.k)).distinct().collect()", kin, 1, 1000);
	/* top by int with ties (row bytes break them), and by a string */
	check_job("read_text(\"netfs://w\").flat_map(l -> split(l, \" \"))"
		  ".top(7, by = w -> len(w)).collect()",
		  in, 1, 7);
	check_job(KEYED ".top(5, by = r -> r.k).collect()", kin, 1, 5);
	check_job(KEYED ".map(r -> (r.f, r.k)).top(20, by = p -> p.0).collect()", kin, 1, 20);
	free(text);
	free(csv);
}

/* Several stages, each with state: every task of every stage is checkpointed. */
static void test_pipeline(void **state)
{
	char *text = words_text();
	const char *in[] = {text};
	(void)state;
	check_job("read_text(\"netfs://w\")\n"
		  ".flat_map(l -> split(l, \" \")).filter(w -> w != \"\")\n"
		  ".map(w -> (w, 1)).reduce_by_key((a, b) -> a + b)\n"
		  ".map(p -> (p.1 % 10, 1)).reduce_by_key((a, b) -> a + b)\n"
		  ".distinct().top(4, by = p -> p.1).collect()\n",
		  in, 1, 4);
	check_job("read_text(\"netfs://w\")\n"
		  ".flat_map(l -> split(l, \" \")).key_by(w -> w).count()\n"
		  ".key_by(r -> r.count).count().collect()\n",
		  in, 1, 5);
	free(text);
}

static void test_generate(void **state)
{
	static const char *const jobs[] = {
		"generate(20000).map(x -> (x % 97, x)).reduce_by_key((a, b) -> a + b).collect()",
		"generate(5000).filter(x -> x % 7 == 0).map(x -> x * 3).collect()",
		"generate(3000).map(x -> x * 13 % 1000).distinct().collect()",
	};
	(void)state;
	for (size_t k = 0; k < sizeof jobs / sizeof *jobs; k++)
		for (unsigned par = 1; par <= 3; par += 2) {
			struct h_result base;
			same_with_checkpoints(jobs[k], NULL, 0, par, 0, 333, &base);
			assert_true(h_count_lines(base.out[0]) >= 97);
			h_free(&base);
		}
}

/* A combiner over its budget spills its partials: after a restore it holds
 * the same accounted bytes, so it spills at the same records. */
static void test_budget_spills(void **state)
{
	struct h_sbuf text = {0};
	struct h_result base;
	(void)state;
	for (int i = 0; i < 3000; i++)
		h_printf(&text, "k%d\nk%d\n%s", i, i, i % 100 == 99 ? "\x01" : "");
	const char *in[] = {text.p};
	same_with_checkpoints("read_text(\"netfs://t\") @parallelism(1)"
			      ".map(w -> (w, 1)).reduce_by_key((a, b) -> a + b).collect()",
			      in, 1, 4, 200 << 10, 0, &base);
	assert_int_equal(h_count_lines(base.out[0]), 3000);
	h_free(&base);
	same_with_checkpoints("read_text(\"netfs://t\") @parallelism(1)"
			      ".key_by(w -> w).count().collect()",
			      in, 1, 4, 200 << 10, 0, &base);
	assert_int_equal(h_count_lines(base.out[0]), 3000);
	h_free(&base);
	free(text.p);
}

/* ---- one task through the API ---- */

/* The plan of task `task` of job src (owned, free()). */
static uint8_t *plan_of(const char *src, unsigned task, size_t *len)
{
	uint8_t *plan = h_plan_of(src, task, len);
	assert_non_null(plan);
	return plan;
}

static struct df_task *open_plan(const uint8_t *plan, size_t len, struct h_cap *c, uint64_t budget)
{
	struct df_task *t;
	assert_int_equal(h_open_cap(plan, len, c, budget, &t), 0);
	return t;
}

#define WORDS_JOB(reduce)                                                         \
	"read_text(\"netfs://w\") @parallelism(2).flat_map(l -> split(l, \" \"))" \
	".map(w -> (w, len(w))).reduce_by_key(" reduce ").collect()"
#define SUM "(a, b) -> a + b"

/* The length of the first half of text's lines. */
static size_t half_lines(const char *text)
{
	return (size_t)(strchr(text + strlen(text) / 2, '\n') + 1 - text);
}

/* A source task with state: the combiner of WORDS_JOB after some text. */
static uint8_t *some_snapshot(const uint8_t *plan, size_t plen, size_t *len)
{
	struct h_cap c = {0};
	struct df_task *t = open_plan(plan, plen, &c, 0);
	char *text = words_text();
	uint8_t *snap;
	assert_int_equal(df_task_push_lines(t, text, half_lines(text)), 0);
	assert_int_equal(df_task_snapshot(t, &snap, len), 0);
	df_task_close(t);
	free(text);
	free(c.out.p);
	return snap;
}

/* The API by hand: input A, snapshot, close, a fresh task from the plan,
 * restore, input B. What both tasks sent out, concatenated, is what one task
 * sends for A then B. A cut at 0 is a snapshot of a task with no input. */
static void test_api_a_then_b(void **state)
{
	size_t plen, len;
	struct h_cap whole = {0};
	char *text = words_text();
	size_t n = strlen(text), cuts[] = {0, half_lines(text), n};
	uint8_t *snap, *plan = plan_of(WORDS_JOB(SUM), 0, &plen);
	struct df_task *t = open_plan(plan, plen, &whole, 0);
	struct df_task_stats st;
	(void)state;
	assert_int_equal(df_task_push_lines(t, text, n), 0);
	assert_int_equal(df_task_end_input(t, 0), 0);
	df_task_close(t);
	assert_true(whole.batches > 0);
	for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
		struct h_cap parts = {0};
		t = open_plan(plan, plen, &parts, 0);
		assert_int_equal(df_task_push_lines(t, text, cuts[k]), 0);
		assert_int_equal(df_task_snapshot(t, &snap, &len), 0);
		df_task_close(t);
		t = open_plan(plan, plen, &parts, 0);
		assert_int_equal(df_task_restore(t, snap, len), 0);
		free(snap); /* the restored state owns its strings */
		df_task_get_stats(t, &st);
		if (cuts[k] == 0) /* header, task section, one empty table */
			assert_true(st.state_bytes == 0 && st.records_in == 0 && len < 200);
		assert_int_equal(df_task_push_lines(t, text + cuts[k], n - cuts[k]), 0);
		assert_int_equal(df_task_end_input(t, 0), 0);
		df_task_close(t);
		assert_string_equal(whole.out.p, parts.out.p);
		free(parts.out.p);
	}
	free(plan);
	free(text);
	free(whole.out.p);
}

/* Restores code rc into a fresh task of plan, which is then failed for good. */
static void expect_refused(const uint8_t *plan, size_t plen, const uint8_t *snap, size_t len,
			   int rc, const char *msg)
{
	struct h_cap c = {0};
	struct df_task *t = open_plan(plan, plen, &c, 0);
	assert_int_equal(df_task_restore(t, snap, len), rc);
	if (msg && !strstr(df_task_error(t), msg))
		fail_msg("error \"%s\" does not say \"%s\"", df_task_error(t), msg);
	assert_int_equal(df_task_push_lines(t, "a b\n", 4), rc); /* sticky */
	df_task_close(t);
	free(c.out.p);
}

#define OFF_TASK_LEN    24                  /* u32 after the header */
#define OFF_SECTIONS    (28 + 97)           /* u32 section count after the task section */
#define OFF_SECTION_LEN (OFF_SECTIONS + 12) /* u64 after operator index and kind */

static void test_refused(void **state)
{
	size_t plen, plen2, plen1, len;
	uint8_t *plan = plan_of(WORDS_JOB(SUM), 0, &plen);
	uint8_t *snap = some_snapshot(plan, plen, &len);
	uint8_t *bad = malloc(len);
	struct h_cap c = {0};
	(void)state;

	assert_true(len > 1000);
	for (size_t n = 0; n < len; n++) /* every truncation */
		expect_refused(plan, plen, snap, n, SD_EPROTO, NULL);
	expect_refused(plan, plen, snap, 3, SD_EPROTO, "not a task snapshot");
	static const size_t lens[] = {OFF_TASK_LEN, OFF_SECTIONS, OFF_SECTION_LEN + 2,
				      OFF_SECTION_LEN + 7};
	for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) { /* a flipped byte in a length */
		memcpy(bad, snap, len);
		bad[lens[k]] ^= 0x40;
		expect_refused(plan, plen, bad, len, SD_EPROTO, "restore: malformed");
	}
	memcpy(bad, snap, len);
	bad[4] = 2; /* version 2 */
	expect_refused(plan, plen, bad, len, SD_EVERSION, "version 2");
	memcpy(bad, snap, len);
	bad[1] ^= 1;
	expect_refused(plan, plen, bad, len, SD_EPROTO, "not a task snapshot");
	bad = realloc(bad, len + 1); /* a byte too many */
	memcpy(bad, snap, len);
	bad[len] = 0;
	expect_refused(plan, plen, bad, len + 1, SD_EPROTO, "1 bytes after the last section");

	/* another plan: a count instead of a reduce; another partition */
	uint8_t *plan2 = plan_of("read_text(\"netfs://w\") @parallelism(2)"
				 ".flat_map(l -> split(l, \" \")).key_by(w -> w).count().collect()",
				 0, &plen2);
	expect_refused(plan2, plen2, snap, len, SD_ESTATE, "state shape");
	uint8_t *plan1 = plan_of(WORDS_JOB(SUM), 1, &plen1);
	expect_refused(plan1, plen1, snap, len, SD_ESTATE, "partition 0 of 2");

	/* too little memory for the state */
	struct df_task *t = open_plan(plan, plen, &c, 4096);
	assert_int_equal(df_task_restore(t, snap, len), SD_ELIMIT);
	assert_non_null(strstr(df_task_error(t), "memory budget of 4096 bytes"));
	df_task_close(t);

	/* misuse: after input, or without a buffer; the task is not failed */
	t = open_plan(plan, plen, &c, 0);
	assert_int_equal(df_task_push_lines(t, "a b\n", 4), 0);
	assert_int_equal(df_task_restore(t, snap, len), SD_EINVAL);
	assert_int_equal(df_task_restore(t, NULL, 5), SD_EINVAL);
	assert_int_equal(df_task_snapshot(t, NULL, &len), SD_EINVAL);
	assert_int_equal(df_task_push_lines(t, "c d\n", 4), 0);
	df_task_close(t);

	/* and the untouched snapshot restores */
	t = open_plan(plan, plen, &c, 0);
	assert_int_equal(df_task_restore(t, snap, len), 0);
	assert_string_equal(df_task_error(t), "");
	df_task_close(t);
	free(c.out.p);
	free(bad);
	free(snap);
	free(plan);
	free(plan1);
	free(plan2);
}

/* ---- corrupt snapshots of every operator kind ---- */

#define KEPT_MAX 16
#define KEPT_LEN 6000 /* bytes: the largest snapshot kept per plan */

struct kept {
	uint8_t *plan[KEPT_MAX], *snap[KEPT_MAX];
	size_t plen[KEPT_MAX], len[KEPT_MAX];
	unsigned n;
};

static void keep_snapshot(void *arg, const uint8_t *plan, size_t plen, const uint8_t *snap,
			  size_t len)
{
	struct kept *k = arg;
	unsigned i = 0;
	while (i < k->n && (k->plen[i] != plen || memcmp(k->plan[i], plan, plen)))
		i++;
	if (i == KEPT_MAX || len > KEPT_LEN || (i < k->n && k->len[i] >= len))
		return;
	if (i == k->n) {
		k->plan[k->n] = malloc(plen);
		memcpy(k->plan[k->n], plan, plen);
		k->plen[k->n++] = plen;
	}
	free(k->snap[i]);
	k->snap[i] = malloc(len);
	memcpy(k->snap[i], snap, len);
	k->len[i] = len;
}

/* Restores bytes; when they are accepted the task must still run to its end. */
static int restore_and_finish(const uint8_t *plan, size_t plen, const uint8_t *bytes, size_t len)
{
	struct h_cap c = {0};
	struct df_task *t = open_plan(plan, plen, &c, 0);
	int rc = df_task_restore(t, bytes, len);
	if (rc == 0)
		for (unsigned in = 0; in < (df_task_n_inputs(t) ? df_task_n_inputs(t) : 1); in++)
			df_task_end_input(t, in);
	df_task_close(t);
	free(c.out.p);
	return rc;
}

static void corrupt_all(const struct kept *k)
{
	for (unsigned i = 0; i < k->n; i++) {
		const uint8_t *s = k->snap[i];
		uint8_t *bad = malloc(k->len[i]);
		assert_int_equal(restore_and_finish(k->plan[i], k->plen[i], s, k->len[i]), 0);
		for (size_t n = 0; n < k->len[i]; n++)
			assert_int_equal(restore_and_finish(k->plan[i], k->plen[i], s, n),
					 SD_EPROTO);
		for (size_t b = 0; b < k->len[i]; b++) {
			memcpy(bad, s, k->len[i]);
			bad[b] ^= (uint8_t)(b & 1 ? 0x80 : 0x05);
			int rc = restore_and_finish(k->plan[i], k->plen[i], bad, k->len[i]);
			if (b >= 8 && b < 16)
				assert_int_equal(rc, SD_ESTATE); /* the shape */
			else if (rc != 0 && rc != SD_EPROTO && rc != SD_ESTATE && rc != SD_EVERSION)
				fail_msg("byte %zu of snapshot %u: %s", b, i, sd_errname(rc));
		}
		free(bad);
	}
}

static void test_corrupt_snapshots(void **state)
{
	char *keyed = keyed_csv(400, 40), *timed = timed_csv(8, 600), *timed2 = timed_csv(9, 500);
	const char *kin[] = {keyed}, *tin[] = {timed, timed2};
	struct kept k = {0};
	struct h_opts o = {.snap_every = 1, .on_snapshot = keep_snapshot, .arg = &k};
	struct h_result r;
	static const char *const jobs[] = {
		KEYED ".key_by(r -> r.k).avg(r -> r.f).top(3, by = r -> r.key).collect()",
		KEYED ".key_by(r -> r.v % 17).min(r -> r.k).collect()",
		KEYED ".map(r -> (r.v % 50, r.k)).distinct().collect()",
		TIMED ".key_by(c -> c.k).window(sliding(6s, 2s)).max(c -> c.k).collect()",
		TIMED ".key_by(c -> c.k).window(session(2s)).sum(c -> c.v).collect()",
		"let v = tail_csv(\"netfs://v\", { ts: int, user: str, page: int })"
		".event_time(x -> x.ts, lateness = 1s)\n"
		"let b = tail_csv(\"netfs://b\", { ts: int, user: str, amount: int })"
		".event_time(x -> x.ts, lateness = 1s)\n"
		"v.join(b, on = (x -> x.user, y -> y.user), within = 3s).print()\n",
	};
	(void)state;
	for (size_t j = 0; j < sizeof jobs / sizeof *jobs; j++) {
		if (h_run_opts(jobs[j], j < 3 ? kin : tin, j < 5 ? 1 : 2, 1, 0, &o, &r))
			fail_msg("%s\n%s", r.err, jobs[j]);
		h_free(&r);
	}
	unsigned big = 0; /* snapshots with real state in them, not only empty tables */
	for (unsigned i = 0; i < k.n; i++)
		big += k.len[i] > 500;
	assert_true(k.n >= 10 && big >= 9);
	corrupt_all(&k);
	for (unsigned i = 0; i < k.n; i++) {
		free(k.plan[i]);
		free(k.snap[i]);
	}
	free(keyed);
	free(timed);
	free(timed2);
}

/* ---- shapes ---- */

static uint64_t shape_of(const char *src, unsigned task, int *source_kind)
{
	size_t plen;
	struct h_cap c = {0};
	uint8_t *plan = plan_of(src, task, &plen);
	struct df_task *t = open_plan(plan, plen, &c, 0);
	uint64_t h = df_task_state_shape(t);
	if (source_kind)
		*source_kind = df_task_source_kind(t);
	df_task_close(t);
	free(plan);
	return h;
}

static void test_shape_and_source_kind(void **state)
{
	size_t plen, len;
	int kind;
	(void)state;
	uint64_t a = shape_of(WORDS_JOB(SUM), 0, &kind);
	assert_int_equal(kind, DF_SRC_TEXT);
	assert_true(a == shape_of(WORDS_JOB(SUM), 1, NULL)); /* partitions share it */
	/* another reduce function keeps the state's shape: the snapshot restores */
	const char *other = WORDS_JOB("(a, b) -> if a > b then a else b");
	assert_true(a == shape_of(other, 0, NULL));
	uint8_t *plan = plan_of(WORDS_JOB(SUM), 0, &plen), *plan2;
	uint8_t *snap = some_snapshot(plan, plen, &len);
	plan2 = plan_of(other, 0, &plen);
	assert_int_equal(restore_and_finish(plan2, plen, snap, len), 0);
	/* a different state: keys, windows, operators */
	assert_true(a != shape_of("read_text(\"netfs://w\") @parallelism(2)"
				  ".map(w -> (len(w), w)).reduce_by_key((a, b) -> a + b).collect()",
				  0, NULL));
	uint64_t w10 = shape_of(TIMED ".key_by(c -> c.k).window(tumbling(10s)).count()"
				      ".collect()",
				0, &kind);
	assert_int_equal(kind, DF_SRC_CSV);
	assert_true(w10 != shape_of(TIMED ".key_by(c -> c.k).window(tumbling(5s)).count()"
					  ".collect()",
				    0, NULL));
	assert_true(w10 != shape_of(TIMED ".key_by(c -> c.k).window(session(10s))"
					  ".count().collect()",
				    0, NULL));
	shape_of("generate(10).map(x -> (x, 1)).reduce_by_key((a, b) -> a + b).collect()", 0,
		 &kind);
	assert_int_equal(kind, DF_SRC_GENERATE);
	uint64_t fin = shape_of(WORDS_JOB(SUM), 2, &kind); /* the final stage */
	assert_int_equal(kind, -1);
	assert_true(fin != a);
	free(snap);
	free(plan);
	free(plan2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyed_aggregates),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_joins),
		cmocka_unit_test(test_distinct_top),
		cmocka_unit_test(test_pipeline),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_budget_spills),
		cmocka_unit_test(test_api_a_then_b),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_corrupt_snapshots),
		cmocka_unit_test(test_shape_and_source_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
