/*
 * dataflow/df_task_priv.h — the running task (internal to the task's
 * sources: df_task.c, df_task_input.c, df_snap.c, df_vec.c and the
 * operators, df_ops*.c): its decoded plan, per-operator state, output
 * builders.
 */
#ifndef SD_DATAFLOW_TASK_PRIV_H
#define SD_DATAFLOW_TASK_PRIV_H

#include "dataflow/df_exec.h"

#define DF_SCRATCH_ROWS 32          /* rows between scratch arena resets */
#define DF_SINK_FLUSH   (64u << 10) /* bytes of sink text buffered */
#define DF_WM_NONE      INT64_MIN
#define DF_VEC_ROWS     128 /* rows per batch of the leading maps and filters */

struct df_opstate; /* per operator, df_ops_priv.h */

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
	/* a flat_map i whose elements reach stateful operator fm_to[i] (> 0)
	 * through maps that only move slots hands them over directly, moved by
	 * fm_proj[i] (borrowed from proj[], NULL: as they are) into buf[fm_buf[i]] */
	uint8_t fm_to[DF_OPS_MAX], fm_buf[DF_OPS_MAX];
	const uint16_t *fm_proj[DF_OPS_MAX];
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
	/* df_vec.c: the first vec_ops operators (maps, filters) run a batch at a
	 * time over vin (vn rows, event times vts); vbuf[i] is operator i's output */
	unsigned vec_ops, vn;
	uint8_t vec_prog[DF_OPS_MAX]; /* the batch interpreter runs op i's program:
				       * 1 straight line, 2 with jumps (vdepth[i]) */
	int32_t *vdepth[DF_OPS_MAX];  /* stack depth at each instruction */
	uint16_t *vact;
	uint32_t *vwait;
	union df_val *vbuf[DF_OPS_MAX], *vin, *vstk;
	int64_t *vts;
	uint64_t pend_ops; /* bit i: operator i holds queued work (df__op_drain) */
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
/* Hands every batch and sink text buffered so far to the node. */
int df__task_flush_outputs(struct df_task *t);
/* Watermark w reaches operator i: stateful operators fire, the rest pass. */
int df__task_watermark_from(struct df_task *t, unsigned i, int64_t w);
/* The end of an input call (df_task_input.c): runs the batched rows and the
 * queued lookups, which may borrow the caller's memory; then event time. */
int df__task_input_done(struct df_task *t);
/* Every input ended: operators emit their state, then the final watermark. */
int df__task_finish(struct df_task *t);

/* df_vec.c: batch-at-a-time leading maps and filters */
int df__vec_open(struct df_task *t); /* sets vec_ops (0: rows go to df__run one by one) */
void df__vec_close(struct df_task *t);
/* Runs the collected rows through the chain; resets the scratch arena. */
int df__vec_flush(struct df_task *t);

/* df_ops*.c (df_ops_priv.h): stateful operators */
int df__op_open(struct df_task *t, unsigned i);
void df__op_close(struct df_task *t, unsigned i);
int df__op_push(struct df_task *t, unsigned i, const union df_val *row, int64_t ts);
/* n rows of width w at el (each moved by pj into tmp first, unless NULL). */
int df__op_push_many(struct df_task *t, unsigned i, const union df_val *el, uint32_t n, unsigned w,
		     const uint16_t *pj, union df_val *tmp, int64_t ts);
int df__op_watermark(struct df_task *t, unsigned i, int64_t wm);
int df__op_finish(struct df_task *t, unsigned i);
/* Completes the work operators queued (batched lookups whose keys borrow
 * input or scratch memory): run before either goes away. */
int df__op_drain(struct df_task *t);
int df__join_push(struct df_task *t, unsigned side, const union df_val *row, int64_t ts);

/* ---- checkpoints: df_snap.c (task, format), df_ops_snap.c (operators) ---- */

#define DF_SNAP_MAGIC   0x31534453u /* "SDS1" as a little-endian u32 */
#define DF_SNAP_VERSION 1u          /* the format df_snap.c writes and reads */
/* a restored hash table keeps its slot count (and so its exact layout) while
 * it has at most this many slots per entry; a sparser one is rebuilt smaller
 * rather than allocating more than the snapshot's bytes justify */
#define DF_SNAP_SPARSE 16

/* The snapshot writer. A first pass with p == NULL only counts, so the second
 * writes into one exactly sized buffer: no growth, no copies. */
struct df_sw {
	uint8_t *p;
	size_t len, cap;
};
void df__sw_bytes(struct df_sw *w, const void *src, size_t n);
void df__sw_u8(struct df_sw *w, uint8_t v);
void df__sw_u32(struct df_sw *w, uint32_t v); /* little endian, as every integer */
void df__sw_u64(struct df_sw *w, uint64_t v);
/* Overwrites the u64 at off (a length written before its section). */
void df__sw_patch64(struct df_sw *w, size_t off, uint64_t v);

/* Writes operator i's state (a section body). Run df__op_drain first. */
void df__op_snapshot(struct df_task *t, unsigned i, struct df_sw *w);
/* Reads operator i's section body (exactly r's bytes) into its empty state.
 * Returns 0, SD_EPROTO for malformed bytes, or the task's error (SD_ENOMEM,
 * SD_ELIMIT) when it failed. Strings are copied: r is borrowed. */
int df__op_restore(struct df_task *t, unsigned i, struct df_rbuf *r);

#endif /* SD_DATAFLOW_TASK_PRIV_H */
