/*
 * node/core/task_df.c — dataflow's operator chains behind node_task_ops.
 * The node's io struct has the same shape as struct df_task_io.
 */
#include <string.h>

#include "dataflow/dataflow.h"
#include "node/core/node.h"

static int df_open(const uint8_t *plan, size_t len, const struct node_task_io *io,
		   uint64_t memory_budget, void **out)
{
	struct df_task_io dio = {.arg = io->arg,
				 .emit = io->emit,
				 .emit_watermark = io->emit_watermark,
				 .sink = io->sink};

	return df_task_open(plan, len, &dio, memory_budget, (struct df_task **)out);
}

static int df_push(void *t, unsigned in, const uint8_t *batch, size_t len)
{
	return df_task_push(t, in, batch, len);
}

static int df_push_lines(void *t, const char *text, size_t len)
{
	return df_task_push_lines(t, text, len);
}

static int df_generate(void *t, uint64_t max, bool *done)
{
	return df_task_generate(t, max, done);
}

static int df_watermark(void *t, unsigned in, int64_t event_time_us)
{
	return df_task_watermark(t, in, event_time_us);
}

static int df_end_input(void *t, unsigned in)
{
	return df_task_end_input(t, in);
}

static void df_close(void *t)
{
	df_task_close(t);
}

static const char *df_error(void *t)
{
	return df_task_error(t);
}

static bool df_is_source(void *t)
{
	return df_task_is_source(t);
}

static int nop_emit(void *arg, unsigned out, unsigned part, const uint8_t *b, size_t len)
{
	(void)arg, (void)out, (void)part, (void)b, (void)len;
	return 0;
}

static int nop_watermark(void *arg, unsigned out, int64_t ts)
{
	(void)arg, (void)out, (void)ts;
	return 0;
}

static int nop_sink(void *arg, unsigned sink, const char *text, size_t len)
{
	(void)arg, (void)sink, (void)text, (void)len;
	return 0;
}

/*
 * dataflow.h has no accessor for the source kind, so probe a throwaway task
 * from the same plan: generating 0 records succeeds only for generate().
 */
static bool df_is_generate(const uint8_t *plan, size_t len)
{
	struct df_task_io io = {
		.emit = nop_emit, .emit_watermark = nop_watermark, .sink = nop_sink};
	struct df_task *t;
	bool done, yes;

	if (df_task_open(plan, len, &io, 0, &t))
		return false;
	yes = df_task_generate(t, 0, &done) == 0;
	df_task_close(t);
	return yes;
}

/* Rows from the batch header (dataflow.h: u32 rows at offset 4, little endian). */
static uint32_t df_batch_records(const uint8_t *b, size_t len)
{
	if (len < DF_BATCH_HEADER)
		return 0;
	return (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
}

static int df_snapshot(void *t, uint8_t **state, size_t *len)
{
	return df_task_snapshot(t, state, len);
}

static int df_restore(void *t, const uint8_t *state, size_t len)
{
	return df_task_restore(t, state, len);
}

const struct node_task_ops node_df_task_ops = {
	.snapshot = df_snapshot,
	.restore = df_restore,
	.open = df_open,
	.push = df_push,
	.push_lines = df_push_lines,
	.generate = df_generate,
	.watermark = df_watermark,
	.end_input = df_end_input,
	.close = df_close,
	.error = df_error,
	.batch_records = df_batch_records,
	.is_source = df_is_source,
	.is_generate = df_is_generate,
};
