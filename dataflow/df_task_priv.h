/*
 * dataflow/df_task_priv.h — the running task (internal to df_task.c and
 * df_ops.c): its decoded plan, per-operator state, output builders.
 */
#ifndef SD_DATAFLOW_TASK_PRIV_H
#define SD_DATAFLOW_TASK_PRIV_H

#include "dataflow/df_exec.h"

#define DF_SCRATCH_ROWS 32          /* rows between scratch arena resets */
#define DF_SINK_FLUSH   (64u << 10) /* bytes of sink text buffered */
#define DF_WM_NONE      INT64_MIN

struct df_opstate; /* per operator, df_ops.c */

struct df_task {
	struct df_tplan plan;
	uint8_t *plan_bytes;     /* owned copy; programs point into it */
	struct df_arena parena;  /* decoded plan */
	struct df_arena scratch; /* strings made by expressions, reset often */
	unsigned scratch_rows;
	struct df_task_io io;
	uint64_t budget; /* bytes of operator state, 0 = unlimited */
	struct df_opstate *st[DF_OPS_MAX];
	union df_val *buf[DF_OPS_MAX]; /* each operator's output row */
	/* maps that only move slots run without the interpreter: proj[i][k] is
	 * the input slot of output slot k; ident[i] when they change nothing */
	uint16_t *proj[DF_OPS_MAX];
	bool ident[DF_OPS_MAX];
	struct df_bb *bbs[DF_OUTS_MAX];
	unsigned n_bbs[DF_OUTS_MAX];
	struct df_wbuf sinkbuf[DF_OUTS_MAX];
	bool ended[2];
	unsigned n_ended;
	int64_t in_wm[2];
	int64_t wm;     /* watermark reached inside the chain */
	int64_t wm_out; /* last watermark emitted */
	int ev_op;      /* index of the event_time operator, -1 */
	int64_t ev_max;
	uint64_t gen_next, gen_end;
	bool finished;
	int err;
	char errmsg[256];
	struct df_task_stats stats;
};

int df__task_fail(struct df_task *t, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Runs row through operators i.. and the outlets. */
int df__run(struct df_task *t, unsigned i, const union df_val *row, int64_t ts);
/* Accounts n more (or fewer, negative) bytes of state; SD_ELIMIT past the budget. */
bool df__state_over(struct df_task *t);

/* df_ops.c: stateful operators */
int df__op_open(struct df_task *t, unsigned i);
void df__op_close(struct df_task *t, unsigned i);
int df__op_push(struct df_task *t, unsigned i, const union df_val *row, int64_t ts);
int df__op_watermark(struct df_task *t, unsigned i, int64_t wm);
int df__op_finish(struct df_task *t, unsigned i);
int df__join_push(struct df_task *t, unsigned side, const union df_val *row, int64_t ts);

#endif /* SD_DATAFLOW_TASK_PRIV_H */
