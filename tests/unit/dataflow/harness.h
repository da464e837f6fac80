/*
 * tests/unit/dataflow/harness.h — an in-process executor for tests: compiles
 * a job, opens every task through the real df_task API (encoded plans,
 * encoded batches), feeds in-memory inputs and collects sink output.
 *
 * Inputs: one string per source (in source order). A '\x01' byte cuts the
 * text into chunks; chunk k goes to source partition k % parallelism as one
 * df_task_push_lines call (so tests control batches and watermarks).
 * h_run_opts also checkpoints and restores every task as it runs. Below
 * them: small tools (text buffers, a pseudo-random sequence, one task driven
 * by hand with its output captured).
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
	uint64_t late, bad;               /* summed over tasks */
	uint64_t records_in, records_out; /* summed over tasks */
	unsigned snapshots;               /* checkpoints taken (h_run_opts) */
	size_t snap_bytes;                /* the largest snapshot */
	size_t snap_excess; /* the most a snapshot's bytes exceeded its task's state_bytes */
	char *wms;          /* "stage.partition:out:wm\n" for every watermark emitted (malloc'd) */
	size_t wms_len;
};

struct h_opts {
	/* Checkpoint every task before its first input call and after every
	 * snap_every-th (0: never): df_task_snapshot, close, a fresh
	 * df_task_open from the same plan, df_task_restore; the run fails when
	 * the restored task's stats differ from the snapshotted one's. Input
	 * calls: a source chunk, a generate call, a batch, a watermark, an end
	 * of input. */
	unsigned snap_every;
	uint64_t gen_step; /* records per df_task_generate call (0: 1000) */
	/* called with every snapshot and the plan of its task (both borrowed) */
	void (*on_snapshot)(void *arg, const uint8_t *plan, size_t plan_len, const uint8_t *snap,
			    size_t len);
	void *arg;
};

int h_run(const char *src, const char *const *inputs, unsigned n_inputs, unsigned parallelism,
	  uint64_t memory, struct h_result *res);
int h_run_opts(const char *src, const char *const *inputs, unsigned n_inputs, unsigned parallelism,
	       uint64_t memory, const struct h_opts *opts, struct h_result *res);
void h_free(struct h_result *res);

/* ---- small tools for tests ---- */

struct h_sbuf { /* growing text (malloc'd p, NUL terminated once written) */
	char *p;
	size_t len, cap;
};
void h_printf(struct h_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint32_t h_lcg(uint32_t *seed); /* a small deterministic pseudo-random sequence */
size_t h_count_lines(const char *text);

/* One task by hand: what it sends out goes into out in order (batches as
 * "[out.part:len]hex", watermarks, sink text). */
struct h_cap {
	struct h_sbuf out;
	unsigned batches;
};
/* The plan of task `task` of job src: owned (free()), NULL when it does not
 * compile. */
uint8_t *h_plan_of(const char *src, unsigned task, size_t *len);
/* df_task_open with io into c (borrowed until df_task_close). */
int h_open_cap(const uint8_t *plan, size_t len, struct h_cap *c, uint64_t budget,
	       struct df_task **t);
/* Sorts the lines of text in place (for order-independent comparison). */
void h_sort_lines(char *text);

#endif
