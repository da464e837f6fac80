/*
 * placement/placement.h — decides which node runs each task.
 *
 * A pure, portable library (no I/O, no clocks, no OS headers): a model in,
 * an assignment with its explanation or an infeasibility report out.
 * Everything is deterministic: the same model gives the same answer.
 *
 * Call sequence:
 *   m = plc_model_new();
 *   plc_model_add_region(m, "eu-west", 53.3, -6.3);     regions + coordinates
 *   plc_model_set_rtt(m, "eu-west", "us-east", 80.0);   optional topology
 *   plc_model_add_node(m, &(struct plc_node_spec){...}); nodes
 *   plc_model_add_netfs(m, "fs0", "eu-west");            netfs servers
 *   s = plc_model_add_stage(m, "read");                  the task graph
 *   t = plc_model_add_task(m, s, partition);
 *   plc_model_add_channel(m, t0, t1, bytes_per_sec);
 *   plc_model_add_source_read(m, t, fs, bytes_per_sec);
 *   plc_constraint_parse("region=eu-west", false, &c);   or fill c directly
 *   plc_model_add_constraint(m, &c);                     after the stages
 *   plc_solve(m, &result);           heuristic; or plc_solve_exact()
 *   plc_render_text(m, &result, buf, cap);
 *   plc_result_free(&result); plc_model_free(m);
 *
 * When a node is lost: plc_model_set_node_lost(m, n, true) and
 * plc_replace(m, previous_assignment, &result): only the tasks that were on
 * lost nodes (or unassigned) move; every other task keeps its node.
 *
 * Units: latency is a round-trip time in milliseconds (what the coordinator
 * measures); rates are bytes per second; costs are in "cost units" =
 * bytes/s x ms / 1e6 (1 MB/s over a 1 ms round trip costs 1).
 *
 * Objective (docs/placement.md): channel bytes/s x RTT + source reads x RTT
 * + missed preferences + the load term. The load term of a node at
 * utilisation u = load + tasks/slots is
 *   w_load x (u^2 - load^2)                 imbalance
 *   + contention_ms x W x u^2 / 1e6          compute contention
 *   + contention_ms x sum over stages of W_s x (k_s - 1) / slots / 1e6
 *                                            same stage (they peak together)
 * W: bytes/s the node's tasks process; W_s, k_s: those of one stage and
 * how many. A task processes its input rate (incoming channels + source
 * reads), or its output rate if it has no input. The compute parts price
 * stacking in the same units as the network, so a stage's partitions spread
 * over a region's nodes when that costs only intra-region round trips, and
 * stay out of far regions. Each part's increase for one more task only grows
 * as the node fills (the exact search's bound relies on it).
 *
 * Ownership: the model copies every string and struct it is given (callers
 * keep theirs). A plc_result is filled by the solver and owned by the caller,
 * who releases it with plc_result_free(). Indices (regions, nodes, netfs,
 * stages, tasks) are dense, start at 0 and follow the order of addition.
 *
 * Errors: functions return 0 (or an index >= 0) or a negative SD_E* code
 * (base/err.h): SD_EINVAL for misuse (bad names or numbers), SD_EEXIST for
 * a duplicate node or stage name, SD_ENOENT for a constraint naming an
 * unknown stage, SD_ENOMEM, SD_ELIMIT for a full fixed-size table,
 * SD_ESYNTAX from the parser, SD_EINFEASIBLE when no assignment meets the
 * hard constraints (the result then carries the report).
 */
#ifndef SD_PLACEMENT_PLACEMENT_H
#define SD_PLACEMENT_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLC_NAME_MAX        64        /* bytes, with the NUL: names of regions, nodes, stages... */
#define PLC_LABELS_MAX      8         /* labels per node */
#define PLC_SET_MAX         8         /* values in one constraint's set */
#define PLC_TEXT_MAX        256       /* bytes: constraint origin text, messages */
#define PLC_INTRA_RTT_MS    1.0       /* default round trip between nodes of one region */
#define PLC_UNKNOWN_RTT_MS  100.0     /* round trip when a region has no coordinates */
#define PLC_RTT_BASE_MS     2.0       /* added to the great-circle estimate (switching) */
#define PLC_NEAR_DEFAULT_MS 20.0      /* near(stage) bound when none is given */
#define PLC_PREFER_WEIGHT   10.0      /* --prefer weight when none is given */
#define PLC_LOAD_WEIGHT     1.0       /* default weight of the load-imbalance term */
#define PLC_CONTENTION_MS   4.0       /* ms: extra delay per byte on a fully utilised node */
#define PLC_RTT_EWMA        0.25      /* weight of a new measured RTT after the first */
#define PLC_EXACT_STEPS_MAX 20000000L /* search nodes before plc_solve_exact gives up */
#define PLC_SEED_DEFAULT    0x5eedULL /* the solver's PRNG seed unless set */

/* ---- the model ------------------------------------------------------- */

struct plc_model;

struct plc_label {
	const char *key;
	const char *value;
};

struct plc_node_spec {
	const char *name;   /* unique */
	const char *region; /* added without coordinates if unknown */
	const char *zone;   /* may be NULL or "" */
	const struct plc_label *labels;
	size_t n_labels; /* <= PLC_LABELS_MAX */
	int slots;       /* free task slots, >= 0 */
	double load;     /* current utilisation, 0..1 */
};

/* Returns an empty model (owned; free with plc_model_free), NULL if out of memory. */
struct plc_model *plc_model_new(void);
void plc_model_free(struct plc_model *m);

/* Adds a region with coordinates in degrees; returns its index. Adding a
 * name again updates its coordinates (and re-estimates its latencies). */
int plc_model_add_region(struct plc_model *m, const char *name, double lat_deg, double lon_deg);
/* Sets an explicit round trip between two regions (topology file); a == b
 * sets the intra-region round trip. Explicit values beat estimates. */
int plc_model_set_rtt(struct plc_model *m, const char *a, const char *b, double rtt_ms);
/* Refines a latency with a measured round trip: the first measurement
 * replaces an estimate, later ones are blended (PLC_RTT_EWMA). */
int plc_model_observe_rtt(struct plc_model *m, const char *a, const char *b, double rtt_ms);
/* Sets the weight of the load-imbalance term (>= 0, cost units). */
int plc_model_set_load_weight(struct plc_model *m, double weight);
/* Sets the contention delay (>= 0, ms; default PLC_CONTENTION_MS): a task
 * on a node at utilisation u pays its processed bytes/s x ms x u^2 / 1e6,
 * in the same units as a channel, plus bytes/s x ms / slots / 1e6 for each
 * other task of its stage on the node. 0 turns both compute parts off. */
int plc_model_set_contention(struct plc_model *m, double ms);
/* Seeds the solver's perturbations (0 = PLC_SEED_DEFAULT). Same seed, same
 * model: same answer. */
int plc_model_set_seed(struct plc_model *m, uint64_t seed);

/* Returns the new node's index. Copies the spec. */
int plc_model_add_node(struct plc_model *m, const struct plc_node_spec *spec);
/* Marks a node lost (no task may go there) or back. */
int plc_model_set_node_lost(struct plc_model *m, int node, bool lost);
/* Returns the netfs server's index. */
int plc_model_add_netfs(struct plc_model *m, const char *name, const char *region);

/* The task graph. Stage names are unique; returns indices. */
int plc_model_add_stage(struct plc_model *m, const char *name);
int plc_model_add_task(struct plc_model *m, int stage, int partition);
int plc_model_add_channel(struct plc_model *m, int from_task, int to_task, double bytes_per_sec);
int plc_model_add_source_read(struct plc_model *m, int task, int netfs, double bytes_per_sec);

/* Read access, for renderers and the coordinator's JSON. */
size_t plc_model_n_regions(const struct plc_model *m);
size_t plc_model_n_nodes(const struct plc_model *m);
size_t plc_model_n_stages(const struct plc_model *m);
size_t plc_model_n_tasks(const struct plc_model *m);
const char *plc_model_region_name(const struct plc_model *m, int region);
const char *plc_model_node_name(const struct plc_model *m, int node);
int plc_model_node_region(const struct plc_model *m, int node);
const char *plc_model_node_zone(const struct plc_model *m, int node);
const char *plc_model_stage_name(const struct plc_model *m, int stage);
int plc_model_task_stage(const struct plc_model *m, int task);
int plc_model_task_partition(const struct plc_model *m, int task);
int plc_model_find_region(const struct plc_model *m, const char *name); /* -1 if none */
int plc_model_find_node(const struct plc_model *m, const char *name);   /* -1 if none */
int plc_model_find_stage(const struct plc_model *m, const char *name);  /* -1 if none */
/* Round trip between two regions in ms (the matrix, estimated where unknown). */
double plc_model_region_rtt(const struct plc_model *m, int a, int b);
/* Round trip between two nodes: 0 on the same node, intra-region within one. */
double plc_model_node_rtt(const struct plc_model *m, int a, int b);
/* Great-circle distance in km between two points in degrees. */
double plc_geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/* ---- constraints ----------------------------------------------------- */

enum plc_kind {
	PLC_MATCH,        /* attr in values (negate: not in) */
	PLC_NEAR,         /* within max_rtt_ms of the tasks of near_stage */
	PLC_MAX_PER_NODE, /* at most max_per_node tasks of the scope per node */
	PLC_SPREAD,       /* balanced over attr's domains (region or zone) */
};

enum plc_attr {
	PLC_ATTR_REGION,
	PLC_ATTR_ZONE,
	PLC_ATTR_LABEL, /* label_key */
};

struct plc_constraint {
	enum plc_kind kind;
	bool soft;                /* a preference: PLC_MATCH only */
	double weight;            /* soft: penalty per task that misses it, cost units */
	char stage[PLC_NAME_MAX]; /* scope: "" = the whole job */
	enum plc_attr attr;       /* PLC_MATCH, PLC_SPREAD (region or zone) */
	char label_key[PLC_NAME_MAX];
	bool negate;
	char values[PLC_SET_MAX][PLC_NAME_MAX];
	size_t n_values;
	char near_stage[PLC_NAME_MAX]; /* PLC_NEAR */
	double max_rtt_ms;             /* PLC_NEAR; 0 = PLC_NEAR_DEFAULT_MS */
	int max_per_node;              /* PLC_MAX_PER_NODE, >= 1 */
	char origin[PLC_TEXT_MAX]; /* how the user wrote it ("@region(\"eu\")"); "" = canonical */
};

/* Parses one CLI flag value into *out (zeroed first):
 *   [stage:]region=a[,b...]   [stage:]region!=a     zone=... zone!=...
 *   [stage:]KEY=V  KEY!=V      (any other key matches a node label)
 *   [stage:]near=STAGE[<=MSms] [stage:]spread=zone|region
 *   [stage:]max-per-node=K
 * With prefer (--prefer), a MATCH may end in ":WEIGHT" (default
 * PLC_PREFER_WEIGHT) and becomes soft. origin keeps the text.
 * Returns 0, or SD_ESYNTAX (err, if not NULL, gets a message for people). */
int plc_constraint_parse(const char *text, bool prefer, struct plc_constraint *out, char *err,
			 size_t err_cap);
/* Writes a canonical form ("region in {eu-west, us-east}") or the origin;
 * returns the length it needed, like snprintf. */
int plc_constraint_format(const struct plc_constraint *c, char *buf, size_t cap);
/* Adds a constraint (copied); stage names must already exist. Returns its index. */
int plc_model_add_constraint(struct plc_model *m, const struct plc_constraint *c);

/* ---- solving --------------------------------------------------------- */

struct plc_cost {
	double channels; /* bytes/s x RTT over channels, cost units */
	double sources;  /* source reads from their netfs server's region */
	double load;     /* load term: imbalance + compute contention */
	double prefs;    /* missed soft preferences */
	double total;
};

struct plc_task_result {
	int node;               /* -1 if unplaced */
	int region;             /* the node's region */
	int eligible;           /* nodes that pass the task's unary hard constraints */
	struct plc_cost cost;   /* this task's share: its reads, its missed prefs,
				 * an even share of its node's imbalance term,
				 * its own compute contention, half
				 * of each of its channels (shares sum to the total) */
	int runner_up;          /* the best other node it could move to, -1 if none */
	double runner_up_delta; /* total cost increase if it moved there */
};

struct plc_stage_result {
	int eligible; /* nodes eligible for the stage's tasks */
	/* "region in {eu-west}: 2 of 6 nodes eligible; spread over zones: at most 1 per zone" */
	char bound_by[PLC_TEXT_MAX * 2];
};

struct plc_result {
	bool feasible;
	struct plc_cost cost; /* whole assignment */
	size_t n_tasks;
	struct plc_task_result *tasks; /* owned, n_tasks entries */
	size_t n_stages;
	struct plc_stage_result *stages; /* owned */
	/* When infeasible: the stage (-1 for the job), the constraint index
	 * (-1 for slot capacity) and a message for people, e.g.
	 * stage 2 (write_csv): @region("mars") — no node has region "mars";
	 * regions: eu-west, us-east, ap-south */
	int bad_stage;
	int bad_constraint;
	char message[PLC_TEXT_MAX * 2];
	long steps; /* search effort: local-search moves or exact search nodes */
};

/* Heuristic: data-locality-first greedy, then local search (moves, swaps)
 * and iterated local search. Fills *out, which the caller always releases
 * with plc_result_free, whatever the return. Returns 0, SD_EINFEASIBLE
 * (out->message says why), SD_EINVAL or SD_ENOMEM. */
int plc_solve(const struct plc_model *m, struct plc_result *out);
/* Exact branch-and-bound (small instances): the optimum. SD_ELIMIT if the
 * search passes PLC_EXACT_STEPS_MAX nodes (out then holds the best found). */
int plc_solve_exact(const struct plc_model *m, struct plc_result *out);
/* Re-placement: prev[t] is each task's previous node (-1 = none). Tasks on
 * nodes that are alive and still eligible for them stay; the rest (those
 * on lost nodes) are placed as plc_solve would, around them. */
int plc_replace(const struct plc_model *m, const int *prev, struct plc_result *out);
/* Evaluates a given assignment (node per task): fills cost and explanation
 * (feasible says whether it meets every hard constraint; message says which
 * not). Returns 0 or SD_EINFEASIBLE. */
int plc_evaluate(const struct plc_model *m, const int *assign, struct plc_result *out);
void plc_result_free(struct plc_result *r);

/* Plain-text explanation (for `stardust plan --placement`): one line per
 * task with node, region and cost terms, then each stage's binding
 * constraints. Returns the length it needed, like snprintf. */
int plc_render_text(const struct plc_model *m, const struct plc_result *r, char *buf, size_t cap);

#endif /* SD_PLACEMENT_PLACEMENT_H */
