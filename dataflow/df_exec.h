/*
 * dataflow/df_exec.h — physical operator specs, task plans and the batch
 * codec (internal). The planner fills a df_tplan per stage; the encoder
 * writes it into Deploy.plan bytes; df_task_open decodes it back into the
 * same structure and runs it.
 */
#ifndef SD_DATAFLOW_EXEC_H
#define SD_DATAFLOW_EXEC_H

#include "dataflow/df_priv.h"

#define DF_PLAN_MAGIC 0x53445031u /* "SDP1" */
#define DF_OPS_MAX    64          /* operators in one stage chain */
#define DF_OUTS_MAX   16          /* outlets (channels + sinks) of one stage */
#define DF_TOP_MAX    100000      /* n of top(n, ...) */

enum df_pop {
	P_MAP,      /* row -> prog(row) */
	P_FILTER,   /* keep when prog(row) */
	P_FLATMAP,  /* each element of the list prog(row) */
	P_EVTIME,   /* ts := prog(row) (µs); watermark = max ts - lateness */
	P_AGG,      /* keyed aggregate, optionally windowed; partial or final */
	P_DISTINCT, /* first sight of each row passes */
	P_TOP,      /* n largest by prog(row), emitted at the end */
	P_JOIN,     /* inner equi-join of input 0 and input 1 (first op only) */
	P_COUNT_
};

enum df_agg { AG_COUNT, AG_SUM, AG_MIN, AG_MAX, AG_AVG, AG_REDUCE };
enum df_win { W_NONE, W_TUMBLING, W_SLIDING, W_SESSION };
enum df_mode { M_PARTIAL, M_FINAL };

struct df_pop_spec {
	uint8_t kind; /* enum df_pop */
	uint16_t in_width, out_width;
	uint8_t in_kinds[DF_WIDTH_MAX];
	uint8_t out_kinds[DF_WIDTH_MAX];
	struct df_prog *prog; /* MAP FILTER FLATMAP EVTIME TOP(by) AGG(reduce) */
	int64_t lateness;     /* EVTIME */
	bool ts_is_time;      /* EVTIME: the program yields time (µs); else int ms */
	/* AGG */
	uint8_t agg, mode, win;
	uint8_t val_kind; /* AGG value scalar kind (SUM MIN MAX AVG) */
	uint16_t key_width, val_width;
	int64_t win_size, win_step; /* µs; session: size = gap */
	int32_t late_out; /* EVTIME: 1 = late records go to the from_late outlets, -1 = pass */
	/* TOP */
	uint32_t top_n;
	/* JOIN: inputs are (K, A) and (K, B); output (A, B) */
	uint16_t left_width, right_width; /* without the key */
	int64_t within;                   /* µs; 0 = unbounded (bounded inputs only) */
};

enum df_outlet_kind { OUT_CHANNEL, OUT_SINK };

struct df_outlet {
	uint8_t kind;       /* enum df_outlet_kind */
	uint8_t chan;       /* enum df_chan_kind */
	uint16_t key_width; /* HASH: leading slots hashed */
	uint32_t consumers; /* consumer parallelism */
	uint32_t sink_id;
	uint8_t sink_kind; /* enum df_sink_kind */
	bool from_late;    /* carries the late records of an event_time operator */
	uint16_t late_op;  /* from_late: that operator's index in the chain */
};

struct df_tplan {
	uint32_t stage, partition, parallelism;
	uint8_t n_inputs;
	uint16_t in_width[2];
	uint8_t in_kinds[2][DF_WIDTH_MAX];
	bool in_timed[2];
	int8_t source; /* enum df_source_kind, -1 none */
	uint64_t gen_n;
	uint16_t n_ops;
	struct df_pop_spec *ops[DF_OPS_MAX];
	uint16_t n_outs;
	struct df_outlet outs[DF_OUTS_MAX];
	uint16_t out_width; /* row width at the end of the chain */
	uint8_t out_kinds[DF_WIDTH_MAX];
	bool out_timed;
};

/* Encodes a stage plan for one partition (malloc'd bytes). */
int df__tplan_encode(const struct df_tplan *p, uint32_t partition, uint8_t **out, size_t *len);
/* Decodes into arena memory; programs and constants point into `bytes`,
 * which the caller keeps alive. Returns 0 or SD_EPROTO. */
int df__tplan_decode(const uint8_t *bytes, size_t len, struct df_arena *a, struct df_tplan *out);

/* ---- batches ---- */
struct df_bb { /* batch builder */
	struct df_wbuf w;
	uint32_t rows;
	uint16_t nfields;
	bool timed;
};
void df__bb_init(struct df_bb *b, uint16_t nfields, bool timed);
void df__bb_add(struct df_bb *b, const uint8_t *kinds, const union df_val *row, int64_t ts);
/* Finalises the header; returns the bytes (owned by b) or NULL on OOM. */
const uint8_t *df__bb_finish(struct df_bb *b, size_t *len);
void df__bb_clear(struct df_bb *b); /* back to empty, keeps the buffer */
void df__bb_free(struct df_bb *b);
size_t df__bb_bytes(const struct df_bb *b);

struct df_br { /* batch reader */
	const uint8_t *p, *end;
	uint32_t rows_left;
	uint16_t nfields;
	bool timed;
};
int df__br_open(struct df_br *r, const uint8_t *batch, size_t len, uint16_t nfields);
/* 1 = a row (strings point into the batch), 0 = end, SD_EPROTO = malformed. */
int df__br_next(struct df_br *r, const uint8_t *kinds, union df_val *row, int64_t *ts);

/* Encodes slots as bytes (the batch field encoding) for hashing and state. */
void df__row_encode(struct df_wbuf *w, const uint8_t *kinds, const union df_val *row, unsigned n);
/* Decodes n slots from exactly-sized bytes made by df__row_encode. */
void df__row_decode(const uint8_t *p, const uint8_t *kinds, union df_val *row, unsigned n);
uint64_t df__hash_bytes(const void *p, size_t n);
uint64_t df__hash_row(const uint8_t *kinds, const union df_val *row, unsigned n);

#endif /* SD_DATAFLOW_EXEC_H */
