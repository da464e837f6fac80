/*
 * tests/unit/dataflow/test_plan.c — the planner (stage cuts, fusion,
 * combiners, channels, parallelism, annotations, explain), the task plan
 * bytes (round trip, corruption refused) and the batch codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "dataflow/dataflow.h"
#include "dataflow/df_exec.h"

static struct df_job *compile_ok(const char *src)
{
	struct df_job *job = NULL;
	struct df_diag d;
	int rc = df_compile(src, strlen(src), "p.sd", NULL, &job, &d);
	if (rc)
		fail_msg("compile failed: %s", d.text);
	return job;
}

static const char *WC = "job \"wc\"\n"
			"read_text(\"netfs://c/*.txt\")\n"
			"  .flat_map(l -> split(lower(l), \" \"))\n"
			"  .filter(w -> w != \"\")\n"
			"  .map(w -> (w, 1))\n"
			"  .reduce_by_key((a, b) -> a + b)\n"
			"  .map(p -> { word: p.0, n: p.1 })\n"
			"  .write_csv(\"netfs://out/wc.csv\")\n";

static void test_wordcount_stages(void **state)
{
	struct df_job *job = compile_ok(WC);
	unsigned ns, nc, nsrc, nsink;
	(void)state;
	const struct df_stage_info *st = df_job_stages(job, &ns);
	const struct df_channel_info *ch = df_job_channels(job, &nc);
	const struct df_source_info *src = df_job_sources(job, &nsrc);
	const struct df_sink_info *sk = df_job_sinks(job, &nsink);
	assert_int_equal(ns, 2);
	assert_int_equal(nc, 1);
	/* narrow operators and the combiner fuse into the source stage */
	assert_string_equal(st[0].name, "s0:text+flat_map+filter+map+combine");
	assert_string_equal(st[1].name, "s1:reduce_by_key+map");
	assert_int_equal(st[0].source, 0);
	assert_int_equal(st[1].source, -1);
	assert_int_equal(st[1].sinks[0], 0);
	assert_int_equal(ch[0].kind, DF_CHAN_HASH);
	assert_int_equal(ch[0].from_stage, 0);
	assert_int_equal(ch[0].to_stage, 1);
	assert_int_equal(st[0].parallelism, DF_DEFAULT_PARALLELISM);
	assert_int_equal(df_job_task_count(job), 2 * DF_DEFAULT_PARALLELISM);
	assert_int_equal(nsrc, 1);
	assert_string_equal(src[0].path, "netfs://c/*.txt");
	assert_false(src[0].follow);
	assert_int_equal(nsink, 1);
	assert_int_equal(sk[0].kind, DF_SINK_CSV);
	assert_int_equal(sk[0].stage, 1);
	assert_true(df_job_bounded(job));
	struct df_task_info ti;
	assert_int_equal(df_job_task(job, 3, &ti), 0);
	assert_int_equal(ti.stage, 1);
	assert_int_equal(ti.partition, 1);
	assert_int_equal(df_job_task(job, 4, &ti), SD_EINVAL);
	char buf[2048];
	size_t n = df_plan_explain(job, buf, sizeof buf);
	assert_true(n < sizeof buf);
	assert_non_null(strstr(buf, "chain flat_map -> filter -> map -> combine"));
	assert_non_null(strstr(buf, "out 0  hash(1 key field) -> stage 1 in 0"));
	assert_non_null(strstr(buf, "sink write_csv \"netfs://out/wc.csv\""));
	char js[4096];
	assert_true(df_plan_json(job, js, sizeof js) < sizeof js);
	assert_non_null(
		strstr(js, "{\"job\":\"wc\",\"bounded\":true,\"tasks\":4,\"stages\":[{\"id\":0,"));
	assert_non_null(strstr(js, "\"chain\":[\"flat_map\",\"filter\",\"map\",\"combine\"]"));
	assert_non_null(strstr(js, "{\"id\":0,\"kind\":\"hash\",\"from_stage\":0,\"from_output\":0,"
				   "\"to_stage\":1,\"to_input\":0}"));
	assert_true(df_plan_dot(job, js, sizeof js) < sizeof js);
	assert_non_null(strstr(js, "s0 -> s1 [label=\"hash\"];"));
	/* a short buffer is cut but terminated, and the full length reported */
	char small[16];
	assert_int_equal(df_plan_explain(job, small, sizeof small), n);
	assert_int_equal(strlen(small), sizeof small - 1);
	df_job_free(job);
}

static void test_shared_and_top(void **state)
{
	struct df_job *job = compile_ok(
		"job \"t\" { parallelism = 3 }\n"
		"let s = read_csv(\"netfs://s.csv\", { item: str, amount: float }) "
		"@parallelism(2)\n"
		"s.key_by(x -> x.item).sum(x -> x.amount).top(2, by = t -> t.sum).collect()\n"
		"s.filter(x -> x.amount > 10.0).write_text(\"netfs://big.txt\")\n");
	unsigned ns, nc;
	(void)state;
	const struct df_stage_info *st = df_job_stages(job, &ns);
	const struct df_channel_info *ch = df_job_channels(job, &nc);
	/* s has two consumers: its stage ends; each consumer continues through a forward channel */
	assert_int_equal(ns, 5);
	assert_int_equal(st[0].parallelism, 2);
	assert_int_equal(st[0].n_outputs, 2);
	assert_int_equal(ch[0].kind, DF_CHAN_FORWARD);
	assert_int_equal(st[1].parallelism, 2);
	assert_string_equal(st[1].name, "s1:key_by+project+combine");
	assert_string_equal(st[2].name, "s2:sum+top(partial)");
	assert_int_equal(st[2].parallelism, 3);
	assert_int_equal(st[3].parallelism, 1); /* final top gathers to one task */
	int gathers = 0;
	for (unsigned i = 0; i < nc; i++)
		gathers += ch[i].kind == DF_CHAN_GATHER && ch[i].to_stage == 3;
	assert_int_equal(gathers, 1);
	assert_string_equal(st[4].name, "s4:filter");
	assert_int_equal(st[4].parallelism, 2);
	df_job_free(job);
}

static void test_join_union_annotations(void **state)
{
	struct df_job *job = compile_ok("job \"j\" { region = \"eu\", @spread(by = \"zone\") }\n"
					"let v = tail_csv(\"netfs://v.csv\", { ts: int, user: str "
					"}).event_time(x -> x.ts, lateness = 1s) @zone(\"a\")\n"
					"let b = tail_csv(\"netfs://b.csv\", { ts: int, user: str "
					"}).event_time(x -> x.ts, lateness = 1s)\n"
					"v.join(b, on = (x -> x.user, y -> y.user), within = 30s)\n"
					" .map((x, y) -> { user: x.user, d: y.ts - x.ts })\n"
					" .print() @near(v, max_latency = 20ms) @label(tier = "
					"\"edge\") @prefer(region = \"us\", weight = 50)\n"
					"v.union(b).print() @region(not_in = [\"ap\", \"sa\"])\n");
	unsigned ns, nc;
	(void)state;
	const struct df_stage_info *st = df_job_stages(job, &ns);
	const struct df_channel_info *ch = df_job_channels(job, &nc);
	assert_false(df_job_bounded(job));
	/* tail sources read with one task each */
	assert_int_equal(st[0].parallelism, 1);
	int join_stage = -1, union_stage = -1;
	for (unsigned i = 0; i < ns; i++) {
		if (strstr(st[i].name, "join"))
			join_stage = (int)i;
		if (st[i].n_inputs == 2 && !strstr(st[i].name, "join"))
			union_stage = (int)i;
	}
	assert_true(join_stage > 0);
	assert_true(union_stage > 0);
	assert_int_equal(st[join_stage].n_inputs, 2);
	for (unsigned i = 0; i < nc; i++)
		if (ch[i].to_stage == (unsigned)join_stage)
			assert_int_equal(ch[i].kind, DF_CHAN_HASH);
	/* the source stage of v: its own @zone plus the two job defaults */
	assert_int_equal(st[0].n_anns, 3);
	assert_int_equal(st[0].anns[0].kind, DF_ANN_ZONE);
	assert_string_equal(st[0].anns[0].values[0], "a");
	assert_false(st[0].anns[0].job_default);
	assert_int_equal(st[0].anns[1].kind, DF_ANN_REGION);
	assert_true(st[0].anns[1].job_default);
	assert_int_equal(st[0].anns[2].kind, DF_ANN_SPREAD);
	assert_string_equal(st[0].anns[2].key, "zone");
	const struct df_stage_info *js = &st[join_stage];
	bool near = false, label = false, prefer = false;
	for (unsigned k = 0; k < js->n_anns; k++) {
		const struct df_annotation *a = &js->anns[k];
		if (a->kind == DF_ANN_NEAR) {
			near = true;
			assert_int_equal(a->near_stage, 0);
			assert_int_equal(a->max_latency_us, 20000);
		}
		if (a->kind == DF_ANN_LABEL) {
			label = true;
			assert_string_equal(a->key, "tier");
			assert_string_equal(a->values[0], "edge");
		}
		if (a->kind == DF_ANN_PREFER) {
			prefer = true;
			assert_int_equal(a->weight, 50);
		}
	}
	assert_true(near && label && prefer);
	const struct df_stage_info *us = &st[union_stage];
	assert_int_equal(us->anns[0].kind, DF_ANN_NOT_REGION);
	assert_int_equal(us->anns[0].n_values, 2);
	df_job_free(job);
}

static void test_filter_pushdown(void **state)
{
	unsigned ns;
	(void)state;
	/* a filter on the key moves before the combiner; one on the count cannot */
	struct df_job *job =
		compile_ok("read_text(\"netfs://a\").key_by(w -> w).count()"
			   ".filter(r -> r.key != \"x\").filter(r -> r.count > 1).print()");
	const struct df_stage_info *st = df_job_stages(job, &ns);
	assert_int_equal(ns, 2);
	assert_string_equal(st[0].name, "s0:text+key_by+filter(pushed)+project+combine");
	assert_string_equal(st[1].name, "s1:count+filter");
	df_job_free(job);
	/* past a distinct: always; not when the stream has another consumer */
	job = compile_ok("let d = read_text(\"netfs://a\").distinct()\n"
			 "d.filter(w -> len(w) > 2).print()\nd.print()");
	st = df_job_stages(job, &ns);
	assert_string_equal(st[1].name, "s1:distinct");
	df_job_free(job);
	job = compile_ok("read_text(\"netfs://a\").distinct().filter(w -> len(w) > 2).print()");
	st = df_job_stages(job, &ns);
	assert_string_equal(st[0].name, "s0:text+filter(pushed)+distinct(partial)");
	df_job_free(job);
}

static void test_cli_constraints(void **state)
{
	const char *cons[] = {"region=eu-west", "tier=edge"}, *pref[] = {"zone=a"};
	struct df_compile_opts o = {.default_parallelism = 5,
				    .constraints = cons,
				    .n_constraints = 2,
				    .preferences = pref,
				    .n_preferences = 1};
	struct df_job *job;
	struct df_diag d;
	unsigned ns;
	(void)state;
	assert_int_equal(df_compile(WC, strlen(WC), "p.sd", &o, &job, &d), 0);
	const struct df_stage_info *st = df_job_stages(job, &ns);
	assert_int_equal(st[1].parallelism, 5);
	assert_int_equal(st[1].n_anns, 3);
	assert_int_equal(st[1].anns[0].kind, DF_ANN_REGION);
	assert_int_equal(st[1].anns[1].kind, DF_ANN_LABEL);
	assert_int_equal(st[1].anns[2].kind, DF_ANN_PREFER);
	df_job_free(job);
	const char *bad[] = {"region"};
	o.constraints = bad;
	o.n_constraints = 1;
	assert_int_equal(df_compile(WC, strlen(WC), "p.sd", &o, &job, &d), SD_EINVAL);
	assert_non_null(strstr(d.text, "expected key=value"));
}

static void test_plan_errors(void **state)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
		{"read_text(\"netfs://a\").window(tumbling(1s)).count().print()",
		 "p.sd:1:24: error: window() needs event time"},
		{"read_text(\"netfs://a\").frob().print()", "unknown method 'frob'"},
		{"read_text(\"netfs://a\").map(x -> x)", "has no sink"},
		{"read_text(\"netfs://a\").filter(x -> len(x)).print()",
		 "filter needs a bool lambda, this one gives int"},
		{"read_text(\"/etc/passwd\").print()", "expected \"netfs://...\""},
		{"read_csv(\"netfs://a\", { a: integer }).print()", "expected a field type"},
		{"let a = read_text(\"netfs://a\")\nlet a = read_text(\"netfs://b\")\na.print()",
		 "'a' is already bound"},
		{"b.print()", "unknown stream 'b'"},
		{"read_text(\"netfs://a\").map(x -> (x, 1)).reduce_by_key((a, b) -> a > b).print()",
		 "reduce gives bool but the values are int"},
		{"read_text(\"netfs://a\").print().print()", "nothing can follow a sink"},
		{"read_text(\"netfs://a\").print() @region(5)", "@region: expected a string"},
		{"read_text(\"netfs://a\").print() @near(x)", "@near: unknown stream 'x'"},
		{"tail_text(\"netfs://a\").collect()", "collect() needs a bounded stream"},
		{"job \"x\" { colour = 1 }\nread_text(\"netfs://a\").print()",
		 "unknown job option 'colour'"},
		{"read_text(\"netfs://a\").union(generate(5)).print()",
		 "union of different types: str and int"},
		{"read_text(\"netfs://a\").top(0, by = x -> len(x)).print()", "n must be between"},
		{"read_text(\"netfs://a\").flat_map(x -> x).print()",
		 "flat_map needs a lambda giving a list"},
		{"tail_text(\"netfs://a\").map(x -> (x, 1)).join(tail_text(\"netfs://b\").map(x -> "
		 "(x, 2)), on = (a -> a.0, b -> b.0)).print()",
		 "joining unbounded streams needs event_time"},
		/* a sink names one file (issue 15: was "larger than the limit" at a commit) */
		{"generate(3).write_csv(\"netfs://\")",
		 "p.sd:1:23: error: output path \"netfs://\" names no file"},
		{"generate(3).write_text(\"netfs://out/\")", "\"netfs://out/\" names a directory"},
		{"generate(3).write_csv(\"netfs://a/../../b\")", "an empty, '.' or '..' part"},
		{"generate(3).write_csv(\"netfs://a//b\")", "an empty, '.' or '..' part"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct df_job *job = NULL;
		struct df_diag d;
		int rc = df_compile(cases[i].src, strlen(cases[i].src), "p.sd", NULL, &job, &d);
		if (rc == 0 || !strstr(d.text, cases[i].want))
			fail_msg("case %zu: rc %d got '%s'", i, rc, d.text);
		assert_null(job);
	}
}

static void test_long_chain(void **state)
{
	size_t n = 20000, len = 0;
	char *src = malloc(n * 16 + 64);
	struct df_job *job = NULL;
	struct df_diag d;
	(void)state;
	len += (size_t)sprintf(src, "generate(3)");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(src + len, ".map(x -> x)");
	len += (size_t)sprintf(src + len, ".print()");
	assert_int_equal(df_compile(src, len, "p.sd", NULL, &job, &d), SD_ELIMIT);
	assert_non_null(strstr(d.text, "method chain too long"));
	assert_null(job);
	free(src);
}

/* A row of binary operators nests as deep as it is long: refused at the
 * nesting limit with SD_ELIMIT and where, before a 100k-term row fills the
 * compile arena (issue 15: it was SD_ENOMEM, a 500 at the coordinator). */
static void test_long_operator_rows(void **state)
{
	static const char *const ops[] = {" + 1", " * 2", " and x > 1", " or x > 1"};
	size_t n = 100000;
	char *src = malloc(n * 12 + 64);
	(void)state;
	for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
		struct df_job *job = NULL;
		struct df_diag d;
		size_t len = (size_t)sprintf(src, "generate(3).filter(x -> x > 0");
		if (k < 2)
			len = (size_t)sprintf(src, "generate(3).map(x -> x");
		for (size_t i = 0; i < n; i++)
			len += (size_t)sprintf(src + len, "%s", ops[k]);
		len += (size_t)sprintf(src + len, ").print()");
		int rc = df_compile(src, len, "p.sd", NULL, &job, &d);
		if (rc != SD_ELIMIT || !strstr(d.text, "more than 64 operators in a row"))
			fail_msg("'%s' x %zu: rc %d: %.200s", ops[k], n, rc, d.text);
		assert_int_equal(d.line, 1);
		assert_null(job);
	}
	/* a row within the limit compiles */
	struct df_job *job = NULL;
	struct df_diag d;
	size_t len = (size_t)sprintf(src, "generate(3).map(x -> x");
	for (size_t i = 0; i < 40; i++)
		len += (size_t)sprintf(src + len, " + 1");
	len += (size_t)sprintf(src + len, ").print()");
	assert_int_equal(df_compile(src, len, "p.sd", NULL, &job, &d), 0);
	df_job_free(job);
	free(src);
}

static void test_task_plan_roundtrip(void **state)
{
	struct df_job *job = compile_ok(WC);
	struct df_task_io io = {0};
	(void)state;
	for (unsigned id = 0; id < df_job_task_count(job); id++) {
		uint8_t *p;
		size_t len;
		struct df_task *t;
		assert_int_equal(df_task_plan_encode(job, id, &p, &len), 0);
		assert_int_equal(df_task_open(p, len, &io, 0, &t), 0);
		assert_int_equal(df_task_is_source(t), id < 2);
		assert_int_equal(df_task_n_inputs(t), id < 2 ? 0 : 1);
		assert_int_equal(df_task_n_outputs(t), id < 2 ? 1 : 0);
		df_task_close(t);
		/* every truncation and many single-byte corruptions are refused or harmless */
		for (size_t cut = 0; cut < len; cut++)
			assert_int_equal(df_task_open(p, cut, &io, 0, &t), SD_EPROTO);
		for (size_t k = 0; k < len; k++) {
			uint8_t save = p[k];
			p[k] ^= 0x5a;
			if (df_task_open(p, len, &io, 0, &t) == 0)
				df_task_close(t);
			p[k] = save;
		}
		free(p);
	}
	uint8_t *p;
	size_t len;
	assert_int_equal(df_task_plan_encode(job, 99, &p, &len), SD_EINVAL);
	df_job_free(job);
}

static int count_emit(void *arg, unsigned out, unsigned part, const uint8_t *b, size_t len)
{
	(*(int *)arg)++;
	return 0;
}

static void test_task_api_misuse(void **state)
{
	struct df_job *job = compile_ok(WC);
	int emitted = 0;
	struct df_task_io io = {&emitted, count_emit, NULL, NULL};
	struct df_task *src, *fin;
	uint8_t *p;
	size_t len;
	bool done;
	(void)state;
	assert_int_equal(df_task_plan_encode(job, 0, &p, &len), 0);
	assert_int_equal(df_task_open(p, len, &io, 0, &src), 0);
	free(p);
	assert_int_equal(df_task_plan_encode(job, 2, &p, &len), 0);
	assert_int_equal(df_task_open(p, len, &io, 0, &fin), 0);
	free(p);
	/* a final task reads batches, not lines; errors stick and explain */
	assert_int_equal(df_task_push_lines(fin, "a b\n", 4), SD_EINVAL);
	assert_non_null(strstr(df_task_error(fin), "push_lines on a task that reads no text"));
	assert_int_equal(df_task_end_input(fin, 0), SD_EINVAL);
	df_task_close(fin);
	assert_int_equal(df_task_generate(src, 10, &done), SD_EINVAL);
	df_task_close(src);
	assert_int_equal(df_task_plan_encode(job, 0, &p, &len), 0);
	assert_int_equal(df_task_open(p, len, &io, 0, &src), 0);
	free(p);
	assert_int_equal(df_task_push_lines(src, "a b a\nc\n", 8), 0);
	assert_int_equal(emitted, 0); /* the combiner holds its partials */
	assert_int_equal(df_task_end_input(src, 0), 0);
	assert_true(emitted >= 1 && emitted <= 2); /* one batch per consumer partition */
	struct df_task_stats st;
	df_task_get_stats(src, &st);
	assert_int_equal(st.records_in, 2);
	assert_int_equal(st.records_out, 3); /* a, b, c */
	assert_int_equal(df_task_push_lines(src, "late\n", 5), SD_ESTATE);
	assert_int_equal(df_task_end_input(src, 0), SD_ESTATE); /* the error sticks */
	assert_int_equal(df_task_push(src, 3, (const uint8_t *)"x", 1), SD_ESTATE);
	df_task_close(src);
	assert_int_equal(df_task_open(NULL, 0, &io, 0, &src), SD_EINVAL);
	df_job_free(job);
}

static void test_batch_codec(void **state)
{
	uint8_t kinds[4] = {DF_STR, DF_INT, DF_FLOAT, DF_BOOL};
	struct df_bb b;
	struct df_br r;
	union df_val row[4], got[4];
	int64_t ts;
	size_t len;
	(void)state;
	df__bb_init(&b, 4, true);
	for (int i = 0; i < 100; i++) {
		char s[16];
		snprintf(s, sizeof s, "w%d", i);
		row[0].s.p = s;
		row[0].s.n = (uint32_t)strlen(s);
		row[1].i = -i;
		row[2].f = i / 4.0;
		row[3].i = i & 1;
		df__bb_add(&b, kinds, row, 1000 + i);
	}
	const uint8_t *bytes = df__bb_finish(&b, &len);
	assert_non_null(bytes);
	assert_int_equal(df__br_open(&r, bytes, len, 4), 0);
	for (int i = 0; i < 100; i++) {
		char s[16];
		snprintf(s, sizeof s, "w%d", i);
		assert_int_equal(df__br_next(&r, kinds, got, &ts), 1);
		assert_int_equal(ts, 1000 + i);
		assert_int_equal(got[0].s.n, strlen(s));
		assert_memory_equal(got[0].s.p, s, got[0].s.n);
		assert_int_equal(got[1].i, -i);
		assert_true(got[2].f == i / 4.0);
		assert_int_equal(got[3].i, i & 1);
	}
	assert_int_equal(df__br_next(&r, kinds, got, &ts), 0);
	assert_int_equal(df__br_open(&r, bytes, len, 3), SD_EPROTO); /* wrong schema */
	assert_int_equal(df__br_open(&r, bytes, len - 1, 4), SD_EPROTO);
	/* a lying string length inside is caught while reading */
	uint8_t *bad = malloc(len);
	memcpy(bad, bytes, len);
	bad[DF_BATCH_HEADER + 11] = 0xff;
	assert_int_equal(df__br_open(&r, bad, len, 4), 0);
	assert_int_equal(df__br_next(&r, kinds, got, &ts), SD_EPROTO);
	free(bad);
	df__bb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wordcount_stages),
		cmocka_unit_test(test_shared_and_top),
		cmocka_unit_test(test_join_union_annotations),
		cmocka_unit_test(test_filter_pushdown),
		cmocka_unit_test(test_cli_constraints),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_long_operator_rows),
		cmocka_unit_test(test_task_plan_roundtrip),
		cmocka_unit_test(test_task_api_misuse),
		cmocka_unit_test(test_batch_codec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
