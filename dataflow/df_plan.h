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

/* ---- the evaluator: df_plan.c (statements, sources), df_methods.c (methods) ---- */

/* One per df__build_logical call, on its stack; nodes and specs go to the
 * compile arena (cx->a), owned by the job. */
struct pcx {
	struct df_cx *cx;
	struct df_job *job;
	const struct df_program_ast *prog;
	const char *let_names[256];
	struct lnode *let_nodes[256];
	unsigned n_lets;
	unsigned depth; /* of eval: method chains recurse */
};

/* df_plan.c */
/* An SD_ETYPE error at a; fmt has one %s, filled with s. */
int df__plan_err(struct pcx *P, const struct df_ast *a, const char *fmt, const char *s);
/* A new logical node of kind k reading in (NULL for a source), which it
 * inherits type and flags from; NULL on failure (the error is set). */
struct lnode *df__plan_node(struct pcx *P, enum lk k, const struct df_ast *at, struct lnode *in,
			    const char *label);
/* An operator spec with in and out flattened into its kinds (either may be
 * NULL: filled in later); NULL when out of memory. */
struct df_pop_spec *df__plan_spec(struct pcx *P, enum df_pop kind, const struct df_type *in,
				  const struct df_type *out);
/* Argument pos (positional) or name (named) of call m; NULL when absent. */
const struct df_ast *df__plan_arg(const struct df_ast *m, unsigned pos, const char *name);
/* At most max_pos positional arguments and only the NULL-ended named ones. */
int df__plan_check_args(struct pcx *P, const struct df_ast *m, unsigned max_pos,
			const char *const *named);
/* l is a lambda; what names it in the error when it is not. */
int df__plan_need_lambda(struct pcx *P, const struct df_ast *m, const struct df_ast *l,
			 const char *what);
/* v is a literal of kind k (A_INT or A_DUR); its value into *out. */
int df__plan_const_int(struct pcx *P, const struct df_ast *v, enum df_ak k, int64_t *out,
		       const char *what);
/* v is a string literal; *out borrows it from the AST. */
int df__plan_const_str(struct pcx *P, const struct df_ast *v, const char **out, const char *what);
/* The node of stream expression a (a source, a let name or a method chain). */
struct lnode *df__plan_eval(struct pcx *P, const struct df_ast *a);

/* df_methods.c: method m applied to stream in */
struct lnode *df__plan_method(struct pcx *P, const struct df_ast *m, struct lnode *in);

#endif /* SD_DATAFLOW_PLAN_H */
