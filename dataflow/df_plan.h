/*
 * dataflow/df_plan.h — the logical plan (internal): streams as nodes of a
 * DAG built while evaluating the job's statements, and the job object that
 * owns them and the physical stages cut from them.
 */
#ifndef SD_DATAFLOW_PLAN_H
#define SD_DATAFLOW_PLAN_H

#include "dataflow/df_exec.h"

#define DF_NODES_MAX  4096 /* logical nodes per job */
#define DF_STAGES_MAX 1024 /* stages per job */
#define DF_ANNS_MAX   16   /* annotations per node or stage */
#define DF_CHAIN_MAX  2048 /* methods and annotations in one chain */

enum lk {
	L_SOURCE,
	L_MAP,
	L_FILTER,
	L_FLATMAP,
	L_EVTIME,
	L_WINDOW, /* marker consumed by the aggregate after it */
	L_AGG,
	L_DISTINCT,
	L_TOP,
	L_JOIN,
	L_UNION,
	L_SINK,
	L_LATE, /* the late records of an event_time operator (a side output) */
};

struct lnode {
	enum lk k;
	uint32_t line, col;
	const char *label; /* "flat_map", "count", ... */
	struct lnode *in[2];
	struct df_type *type; /* element type of the stream */
	bool keyed;           /* type is (key, value) from key_by */
	bool timed, bounded;
	unsigned consumers;
	int stage;                  /* stage holding this node's output, -1 before */
	struct df_pop_spec *spec;   /* narrow op, or the partial/first half */
	struct df_pop_spec *spec2;  /* final half (AGG, DISTINCT, TOP) */
	struct df_pop_spec *pre[2]; /* projections before the shuffle (AGG, JOIN sides) */
	int64_t win_size, win_step; /* L_WINDOW */
	uint8_t win;
	int source, sink; /* indices into the job's lists */
	struct df_annotation anns[DF_ANNS_MAX];
	const struct lnode *near[DF_ANNS_MAX]; /* for DF_ANN_NEAR */
	unsigned n_anns;
	unsigned parallelism; /* @parallelism, 0 = default */
	const char *let_name;
	struct lnode *pushed; /* AGG/DISTINCT: a later filter moved before it */
	bool elided;          /* FILTER: moved before its input (see pushed) */
	unsigned op_index;    /* EVTIME: its place in its stage's chain */
};

struct pstage {
	struct df_tplan plan;
	unsigned parallelism;
	bool par_fixed;   /* forward stages follow their producer */
	int forward_from; /* producer stage of a forward stage, -1 */
	struct lnode *last;
	const char *labels[DF_OPS_MAX];
	char name[96];
	struct df_annotation anns[DF_ANNS_MAX];
	unsigned n_anns;
	int source;
	int sinks[4];
	unsigned n_sinks;
	bool bounded;
};

struct df_job {
	struct df_arena arena;
	const char *name;
	const char *src_file;
	unsigned default_par;
	struct df_job_options opts; /* the job block's fault-tolerance options */
	struct df_annotation job_anns[DF_ANNS_MAX];
	unsigned n_job_anns;
	struct lnode *nodes[DF_NODES_MAX];
	unsigned n_nodes;
	struct pstage *stages[DF_STAGES_MAX];
	unsigned n_stages;
	struct df_stage_info *stage_info;
	struct df_channel_info *chans;
	unsigned n_chans, cap_chans;
	struct df_source_info *sources;
	unsigned n_sources;
	struct df_sink_info *sinks;
	unsigned n_sinks;
	unsigned n_tasks;
};

/* df_plan.c: statements -> logical nodes */
int df__build_logical(struct df_cx *cx, struct df_job *job, const struct df_program_ast *prog,
		      const struct df_compile_opts *opts);
/* df_stage.c: logical nodes -> stages, channels, tasks */
int df__build_stages(struct df_cx *cx, struct df_job *job);
/* df_annot.c */
int df__annotation_parse(struct df_cx *cx, struct df_job *job, const struct df_ast *a,
			 struct lnode *target, struct df_annotation *out,
			 const struct lnode **near);
int df__job_option(struct df_cx *cx, struct df_job *job, const char *key, const struct df_ast *v);

/* program helpers (df_plan.c) */
struct df_prog *df__prog_keyed(struct df_arena *a, const struct df_prog *p, unsigned kw);
struct df_prog *df__prog_with_input(struct df_arena *a, const struct df_prog *p);

#endif /* SD_DATAFLOW_PLAN_H */
