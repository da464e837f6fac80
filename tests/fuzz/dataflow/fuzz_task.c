/*
 * tests/fuzz/dataflow/fuzz_task.c — a task fed arbitrary batches and lines.
 * The input's first byte picks one of a few compiled jobs and a task of it;
 * the rest is split into records: lines for source tasks, batch bytes for
 * the others (mostly garbage, so the decoder's checks are what is tested).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataflow/dataflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const jobs[] = {
	"read_text(\"netfs://a\").flat_map(l -> split(lower(l), \" \")).map(w -> (w, 1))"
	".reduce_by_key((a, b) -> a + b).collect()",
	"read_csv(\"netfs://c\", { ts: int, k: str, v: float }).event_time(c -> c.ts, lateness = "
	"1s)"
	".key_by(c -> c.k).window(sliding(10s, 5s)).avg(c -> c.v).collect()",
	"let a = read_csv(\"netfs://a\", { k: str, n: int })\n"
	"let b = read_csv(\"netfs://b\", { k: str, s: str })\n"
	"a.join(b, on = (x -> x.k, y -> y.k)).map((x, y) -> (x.n, y.s)).distinct()"
	".top(3, by = p -> p.0).collect()",
};

static int emit(void *arg, unsigned out, unsigned part, const uint8_t *b, size_t len)
{
	return 0;
}

static int wm(void *arg, unsigned out, int64_t w)
{
	return 0;
}

static int sink(void *arg, unsigned s, const char *text, size_t len)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct df_task_io io = {NULL, emit, wm, sink};
	struct df_job *job;
	struct df_diag d;
	struct df_task *t;
	uint8_t *plan;
	size_t len;

	if (size < 2)
		return 0;
	const char *src = jobs[data[0] % 3];
	if (df_compile(src, strlen(src), "f.sd", NULL, &job, &d) != 0)
		abort();
	unsigned id = data[1] % df_job_task_count(job);
	if (df_task_plan_encode(job, id, &plan, &len) || df_task_open(plan, len, &io, 1 << 20, &t))
		abort();
	free(plan);
	data += 2;
	size -= 2;
	unsigned nin = df_task_n_inputs(t);
	/* records: [u8 a][u8 b][n bytes], n from a and b; a's top bit adds a watermark */
	while (size > 2) {
		uint8_t a = data[0], b = data[1];
		size_t n = (size_t)(a | b << 8) % (size - 1);
		if (n > size - 2)
			n = size - 2;
		if (df_task_is_source(t))
			df_task_push_lines(t, (const char *)data + 2, n);
		else if (nin)
			df_task_push(t, a % nin, data + 2, n);
		if (nin && (a & 0x80))
			df_task_watermark(t, b % nin, (int64_t)a * 100000);
		data += 2 + n;
		size -= 2 + n;
	}
	for (unsigned i = 0; i < (nin ? nin : 1); i++)
		df_task_end_input(t, i);
	df_task_close(t);
	df_job_free(job);
	return 0;
}
