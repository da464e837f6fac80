/*
 * tests/fuzz/dataflow/fuzz_compile.c — lexer + parser + checker + planner on
 * arbitrary text. Whatever the input: no crash, a diagnostic with a position
 * on failure, and on success a plan that explains, encodes and opens.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataflow/dataflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct df_job *job = NULL;
	struct df_diag diag;
	char buf[256];

	if (df_compile((const char *)data, size, "fuzz.sd", NULL, &job, &diag) != 0) {
		if (job || diag.text[0] == 0)
			abort(); /* a failure must explain itself and return nothing */
		return 0;
	}
	df_plan_explain(job, buf, sizeof buf);
	df_plan_json(job, buf, sizeof buf);
	df_plan_dot(job, buf, sizeof buf);
	struct df_task_io io = {0};
	for (unsigned id = 0; id < df_job_task_count(job) && id < 8; id++) {
		uint8_t *plan;
		size_t len;
		struct df_task *t;
		if (df_task_plan_encode(job, id, &plan, &len) != 0)
			abort();
		if (df_task_open(plan, len, &io, 0, &t) != 0)
			abort(); /* the compiler's own plans always decode */
		df_task_close(t);
		free(plan);
	}
	df_job_free(job);
	return 0;
}
