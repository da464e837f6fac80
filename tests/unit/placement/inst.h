/*
 * tests/unit/placement/inst.h — a test-side description of a placement
 * instance, built into a plc_model, plus an INDEPENDENT checker and cost
 * function written from the documented semantics (docs/placement.md), not
 * from the library's code: every solver answer is judged by these.
 */
#ifndef SD_TESTS_PLACEMENT_INST_H
#define SD_TESTS_PLACEMENT_INST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "placement/placement.h"

#define TI_MAX_R 4
#define TI_MAX_N 12
#define TI_MAX_F 3
#define TI_MAX_S 4
#define TI_MAX_T 16
#define TI_MAX_C 64
#define TI_MAX_K 6

struct ti_node {
	char name[16];
	int region;
	char zone[8];
	char tier[8]; /* label "tier" ("" = no label) */
	int slots;
	double load;
	bool lost;
};

struct ti {
	int R, N, F, S, T, C, Rd, K;
	double rtt[TI_MAX_R][TI_MAX_R]; /* explicit round trips, ms; [i][i] intra */
	struct ti_node nodes[TI_MAX_N];
	int netfs_region[TI_MAX_F];
	int task_stage[TI_MAX_T];
	int ch_from[TI_MAX_C], ch_to[TI_MAX_C];
	double ch_bps[TI_MAX_C];
	int rd_task[TI_MAX_T], rd_fs[TI_MAX_T];
	double rd_bps[TI_MAX_T];
	struct plc_constraint cons[TI_MAX_K];
	double load_weight;
	double contention_ms; /* the compute term: ms x work x u^2 per node */
};

/* xorshift64*: the test's seeded PRNG. */
uint64_t ti_rand(uint64_t *s);
double ti_uniform(uint64_t *s, double lo, double hi);
int ti_int(uint64_t *s, int lo, int hi); /* inclusive */

/* A random small instance. */
void ti_random(struct ti *x, uint64_t *seed);
/* Builds the model (owned by the caller); NULL on failure. */
struct plc_model *ti_build(const struct ti *x);
/* Independent: does assign meet every hard constraint? why gets a reason. */
bool ti_feasible(const struct ti *x, const int *assign, char *why, size_t cap);
/* Independent: the objective of a complete assignment. */
double ti_cost(const struct ti *x, const int *assign);

#endif
