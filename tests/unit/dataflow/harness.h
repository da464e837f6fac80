/*
 * tests/unit/dataflow/harness.h — an in-process executor for tests: compiles
 * a job, opens every task through the real df_task API (encoded plans,
 * encoded batches), feeds in-memory inputs and collects sink output.
 *
 * Inputs: one string per source (in source order). A '\x01' byte cuts the
 * text into chunks; chunk k goes to source partition k % parallelism as one
 * df_task_push_lines call (so tests control batches and watermarks).
 */
#ifndef SD_TEST_DATAFLOW_HARNESS_H
#define SD_TEST_DATAFLOW_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "dataflow/dataflow.h"

#define H_SINKS_MAX 8

struct h_result {
	int rc;                 /* 0 or the first failure */
	char err[1100];         /* compile diagnostic or task failure */
	char *out[H_SINKS_MAX]; /* sink text by sink id (malloc'd, NUL terminated) */
	size_t len[H_SINKS_MAX];
	uint64_t late, bad; /* summed over tasks */
};

int h_run(const char *src, const char *const *inputs, unsigned n_inputs, unsigned parallelism,
	  uint64_t memory, struct h_result *res);
void h_free(struct h_result *res);
/* Sorts the lines of text in place (for order-independent comparison). */
void h_sort_lines(char *text);

#endif
