/*
 * placement/plc_priv.h — the model's and the solver's insides, shared by
 * the files of placement/ only. Nothing outside placement/ includes this.
 *
 * model.c      the model: regions, latency matrix, nodes, task graph
 * constraint.c the constraint parser, formatter and unary eligibility
 * prep.c       the solver's precomputed view (struct plc__prep), counters,
 *              move costs and hard-constraint checks, infeasibility reports
 * solve.c      greedy + local search, re-placement, evaluation
 * exact.c      branch and bound
 * explain.c    explanations, results and the text renderer
 */
#ifndef SD_PLACEMENT_PLC_PRIV_H
#define SD_PLACEMENT_PLC_PRIV_H

#include "placement/placement.h"

#define PLC__EPS 1e-9 /* cost units: smaller improvements are noise */

enum plc__rtt_source { PLC__RTT_ESTIMATED, PLC__RTT_EXPLICIT, PLC__RTT_MEASURED };

struct plc__region {
	char name[PLC_NAME_MAX];
	double lat, lon; /* degrees */
	bool has_coords;
};

struct plc__node {
	char name[PLC_NAME_MAX];
	int region;
	char zone[PLC_NAME_MAX];
	char keys[PLC_LABELS_MAX][PLC_NAME_MAX];
	char values[PLC_LABELS_MAX][PLC_NAME_MAX];
	size_t n_labels;
	int slots;
	double load;
	bool lost;
};

struct plc__netfs {
	char name[PLC_NAME_MAX];
	int region;
};

struct plc__task {
	int stage;
	int partition;
};

struct plc__channel {
	int from, to;
	double bps;
};

struct plc__read {
	int task, netfs;
	double bps;
};

struct plc__cons {
	struct plc_constraint c;
	int stage;      /* -1 = whole job */
	int near_stage; /* PLC_NEAR */
};

/* A growable array of fixed-size items. */
#define PLC__VEC(type)         \
	struct {               \
		type *v;       \
		size_t n, cap; \
	}

struct plc_model {
	PLC__VEC(struct plc__region) regions;
	double *rtt;            /* regions.n x regions.n, row-major */
	unsigned char *rtt_src; /* enum plc__rtt_source per entry */
	size_t rtt_dim;         /* allocated dimension of rtt */
	PLC__VEC(struct plc__node) nodes;
	PLC__VEC(struct plc__netfs) netfs;
	PLC__VEC(char *) stage_names;
	PLC__VEC(struct plc__task) tasks;
	PLC__VEC(struct plc__channel) channels;
	PLC__VEC(struct plc__read) reads;
	PLC__VEC(struct plc__cons) cons;
	double load_weight;
	double contention_ms; /* the compute term's delay at utilisation 1 */
	uint64_t seed;        /* the solver's perturbations */
};

/* Grows v (an item array with n and cap) by one; returns the new slot or NULL. */
void *plc__vec_push(void **v, size_t *n, size_t *cap, size_t item_size);
#define PLC__PUSH(vec)                                                               \
	((__typeof__((vec).v))plc__vec_push((void **)&(vec).v, &(vec).n, &(vec).cap, \
					    sizeof(*(vec).v)))

int plc__find_or_add_region(struct plc_model *m, const char *name);

/* Does node n pass the unary (per node) part of constraint c? */
bool plc__match_node(const struct plc_model *m, const struct plc_constraint *c, int node);
/* The node's value of c's attribute (region, zone, label), NULL if it has none. */
const char *plc__node_attr(const struct plc_model *m, const struct plc_constraint *c, int node);
/* The canonical text of a constraint, ignoring its origin; like snprintf. */
int plc__constraint_canonical(const struct plc_constraint *c, char *buf, size_t cap);
/* Does constraint k apply to stage s? */
bool plc__applies(const struct plc__cons *k, int stage);

/* One neighbour of a task: a channel (either direction) or a near pair. */
struct plc__adj {
	int task;
	double bps;     /* channel bytes/s (both directions summed), 0 if none */
	double near_ms; /* near bound, < 0 if none */
};

/* The solver's view of one model: read-only after plc__prep_init. */
struct plc__prep {
	const struct plc_model *m;
	int T, N, R, S;
	const double *rtt; /* the model's matrix, stride rtt_dim */
	size_t rtt_dim;
	int *node_region; /* per node */
	int *zone_dom;    /* per node: index of its (region, zone) pair */
	int n_zone_doms;
	struct plc__adj **adj; /* per task: channels, both directions merged */
	int *n_adj;
	struct plc__adj **near; /* per task: near() partners and bounds */
	int *n_near;
	double *src_cost; /* T x R: source read cost if the task runs in region r */
	double *pref;     /* S x N: soft penalty of a stage's task on node n */
	bool *elig;       /* S x N: node passes the stage's unary hard constraints */
	int *n_elig;      /* per stage */
	int job_cap;      /* max tasks of the job per node (INT_MAX if none) */
	int *stage_cap;   /* per stage: max tasks of the stage per node */
	int *reg_cap;     /* per stage: max tasks per region (spread), INT_MAX if none */
	int *zone_cap;    /* per stage: max tasks per (region, zone) (spread) */
	int *stage_ntasks;
	int *fixed;   /* per task: pinned node or -1 */
	double *work; /* per task: bytes/s it processes (the compute term) */
};

/* The mutable state of one (partial) assignment. */
struct plc__state {
	int *assign;        /* per task, -1 = unplaced */
	int *node_count;    /* per node */
	int *stage_count;   /* S x N */
	int *reg_count;     /* S x R */
	int *zone_count;    /* S x n_zone_doms */
	double *stage_work; /* S x N: bytes/s the stage's tasks process there */
	double *node_work;  /* N: bytes/s the node's tasks process */
	/* N: the load term's increase for one more task of work w is
	 * load_delta[n] + w x load_slope[n] (+ the same-stage part) */
	double *load_delta;
	double *load_slope;
	/* scratch for plc__place_costs, zero between calls */
	double *reg_bps;  /* R */
	double *reg_cost; /* R */
	double *node_bps; /* N */
	int *touched;     /* R */
};

int plc__prep_init(struct plc__prep *p, const struct plc_model *m, const int *fixed);
void plc__prep_free(struct plc__prep *p);
int plc__state_init(struct plc__state *st, const struct plc__prep *p);
void plc__state_free(struct plc__state *st);
void plc__state_copy(struct plc__state *dst, const struct plc__state *src,
		     const struct plc__prep *p);

double plc__rtt_nodes(const struct plc__prep *p, int a, int b);
/* The load term of node n holding c tasks that process work bytes/s. */
double plc__load_term(const struct plc__prep *p, int n, int c, double work);
/* Its two parts: imbalance (count only) and the compute factor per
 * processed byte/s (contention_ms x u^2 / 1e6). */
double plc__imbalance_term(const struct plc__prep *p, int n, int c);
double plc__contention(const struct plc__prep *p, int n, int c);
/* The same-stage part on node n: k tasks of one stage processing work
 * bytes/s pay contention_ms x work x (k - 1) / slots / 1e6. */
double plc__stage_term(const struct plc__prep *p, int n, int k, double work);
/* Can task t go to node n given the placed tasks (t itself unplaced)? */
bool plc__can_place(const struct plc__prep *p, const struct plc__state *st, int t, int n);
/* Cost of adding t to n against the placed tasks (t itself unplaced). */
double plc__place_cost(const struct plc__prep *p, const struct plc__state *st, int t, int n);
/* cost[n] = plc__place_cost(p, st, t, n) for every node at once (up to
 * rounding), in O(deg + R x regions touched + N) instead of O(N x deg). */
void plc__place_costs(const struct plc__prep *p, struct plc__state *st, int t, double *cost);
void plc__place(const struct plc__prep *p, struct plc__state *st, int t, int n);
void plc__unplace(const struct plc__prep *p, struct plc__state *st, int t);
/* Full cost of a complete assignment, term by term. */
void plc__total_cost(const struct plc__prep *p, const int *assign, struct plc_cost *out);

/* Fills r->message, bad_stage, bad_constraint with the first unary reason
 * some stage cannot be placed; returns true if it found one. */
bool plc__diagnose(const struct plc__prep *p, struct plc_result *r);
/* Task t fits on no node given the placed tasks: names what blocks it
 * (slots, max-per-node, spread, near()) and how many nodes each blocks. */
void plc__report_stuck(const struct plc__prep *p, const struct plc__state *st, int t,
		       struct plc_result *r);
/* Checks every hard constraint of a complete assignment; on violation
 * writes a message into r and returns false. */
bool plc__check(const struct plc__prep *p, const int *assign, struct plc_result *r);

int plc__result_alloc(const struct plc_model *m, struct plc_result *r);
/* Fills costs, explanations and runner-ups for a complete assignment. */
void plc__explain(const struct plc__prep *p, struct plc__state *st, struct plc_result *r);

/* The exact search, starting from an upper bound (a feasible assignment or
 * NULL). Writes the optimum into best and sets *found; returns 0,
 * SD_EINFEASIBLE (proven) or SD_ELIMIT (best holds the best found if *found). */
int plc__exact(const struct plc__prep *p, const int *incumbent, int *best, bool *found, long limit,
	       long *steps);

/* snprintf into buf at *len, never past cap; *len counts what was needed. */
void plc__appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* SD_PLACEMENT_PLC_PRIV_H */
