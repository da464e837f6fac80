/* Unit tests for the load term's compute part (contention): a wordcount-
 * shaped job — stage "map" (2 partitions, each reading 1 MB/s from a netfs
 * server) hash-shuffled into stage "count" (2 partitions, 1 MB/s on each of
 * the 4 edges), the model the coordinator builds for
 * `stardust run examples/wordcount.sd` — spreads a stage's partitions over
 * the nodes of one region, but never into a region 80 ms away. Both solvers
 * are judged, and the expected placements are argued from the documented
 * objective (docs/placement.md), not taken from the solver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "placement/placement.h"

#define RATE      1e6  /* bytes/s per channel edge and per source read */
#define FAR_MS    80.0 /* round trip to the far region */
#define N_TASKS   4    /* map 0, map 1, count 0, count 1 */
#define SLOTS     4    /* per node, as a hosted node by default */
#define MAX_NODES 4

struct node_def {
	const char *name, *region;
	double load;
};

/* Builds the job over the given nodes; regions "near" (intra round trip
 * intra_ms, holds the netfs server) and "far" (FAR_MS away). */
static struct plc_model *job_new(const struct node_def *nodes, int n_nodes, double intra_ms)
{
	struct plc_model *m = plc_model_new();

	assert_non_null(m);
	assert_int_equal(plc_model_set_rtt(m, "near", "near", intra_ms), 0);
	assert_int_equal(plc_model_set_rtt(m, "far", "far", intra_ms), 0);
	assert_int_equal(plc_model_set_rtt(m, "near", "far", FAR_MS), 0);
	for (int i = 0; i < n_nodes; i++) {
		struct plc_node_spec s = {nodes[i].name, nodes[i].region, "", NULL, 0,
					  SLOTS,         nodes[i].load};

		assert_int_equal(plc_model_add_node(m, &s), i);
	}
	int fs = plc_model_add_netfs(m, "netfs", "near");
	int map = plc_model_add_stage(m, "map"), count = plc_model_add_stage(m, "count");

	assert_int_equal(plc_model_add_task(m, map, 0), 0);
	assert_int_equal(plc_model_add_task(m, map, 1), 1);
	assert_int_equal(plc_model_add_task(m, count, 0), 2);
	assert_int_equal(plc_model_add_task(m, count, 1), 3);
	for (int t = 0; t < 2; t++) {
		assert_int_equal(plc_model_add_source_read(m, t, fs, RATE), 0);
		for (int u = 2; u < 4; u++)
			assert_int_equal(plc_model_add_channel(m, t, u, RATE), 0);
	}
	return m;
}

/* Solves with both solvers (they must agree on the cost: same objective)
 * and copies the heuristic's nodes into assign. */
static void solve_both(struct plc_model *m, int *assign, struct plc_cost *cost)
{
	struct plc_result h, e;

	assert_int_equal(plc_solve(m, &h), 0);
	assert_int_equal(plc_solve_exact(m, &e), 0);
	assert_true(h.feasible && e.feasible);
	assert_true(h.cost.total - e.cost.total < 1e-9 * (1.0 + e.cost.total));
	assert_true(e.cost.total - h.cost.total < 1e-9 * (1.0 + e.cost.total));
	for (int t = 0; t < N_TASKS; t++)
		assign[t] = h.tasks[t].node;
	*cost = h.cost;
	plc_result_free(&h);
	plc_result_free(&e);
}

static int nodes_used(const int *assign)
{
	bool used[MAX_NODES] = {false};
	int k = 0;

	for (int t = 0; t < N_TASKS; t++) {
		assert_true(assign[t] >= 0 && assign[t] < MAX_NODES);
		k += !used[assign[t]];
		used[assign[t]] = true;
	}
	return k;
}

/* The objective by hand for this job (docs/placement.md): channels and
 * reads x RTT, w_load (u^2 - load^2) and contention x work x u^2 per node;
 * map tasks process their 1 MB/s read, count tasks their 2 x 1 MB/s input. */
static double hand_cost(const struct node_def *nodes, const int *a, double intra_ms)
{
	static const double work[N_TASKS] = {RATE, RATE, 2 * RATE, 2 * RATE};
	double cost = 0.0, w[MAX_NODES] = {0}, sw[2][MAX_NODES] = {{0}};
	int c[MAX_NODES] = {0}, sc[2][MAX_NODES] = {{0}};

#define RTT(x, y) \
	((x) == (y) ? 0.0 : strcmp(nodes[x].region, nodes[y].region) == 0 ? intra_ms : FAR_MS)
	for (int t = 0; t < 2; t++) {
		cost += RATE * (strcmp(nodes[a[t]].region, "near") == 0 ? intra_ms : FAR_MS) / 1e6;
		for (int u = 2; u < 4; u++)
			cost += RATE * RTT(a[t], a[u]) / 1e6;
	}
#undef RTT
	for (int t = 0; t < N_TASKS; t++) {
		c[a[t]]++;
		w[a[t]] += work[t];
		sc[t / 2][a[t]]++; /* tasks 0, 1: map; 2, 3: count */
		sw[t / 2][a[t]] += work[t];
	}
	for (int n = 0; n < MAX_NODES; n++) {
		if (!c[n])
			continue;
		double l = nodes[n].load, u = l + (double)c[n] / SLOTS;

		cost += PLC_LOAD_WEIGHT * (u * u - l * l) + PLC_CONTENTION_MS * w[n] * u * u / 1e6;
		for (int s = 0; s < 2; s++)
			if (sc[s][n] > 1)
				cost += PLC_CONTENTION_MS * sw[s][n] * (sc[s][n] - 1) / SLOTS / 1e6;
	}
	return cost;
}

/* Three nodes in one region: each stage's two partitions land on distinct
 * nodes, at 1 ms and at 0.5 ms between nodes. */
static void test_partitions_spread_in_region(void **state)
{
	static const struct node_def nodes[] = {
		{"n1", "near", 0.0}, {"n2", "near", 0.0}, {"n3", "near", 0.0}};
	static const double intra[] = {1.0, 0.5};

	(void)state;
	for (size_t i = 0; i < sizeof(intra) / sizeof(intra[0]); i++) {
		struct plc_model *m = job_new(nodes, 3, intra[i]);
		int a[N_TASKS];
		struct plc_cost cost;

		solve_both(m, a, &cost);
		assert_int_not_equal(a[0], a[1]); /* map 0, map 1 */
		assert_int_not_equal(a[2], a[3]); /* count 0, count 1 */
		assert_true(nodes_used(a) >= 2);
		assert_true(cost.total - hand_cost(nodes, a, intra[i]) < 1e-9 * (1.0 + cost.total));
		assert_true(hand_cost(nodes, a, intra[i]) - cost.total < 1e-9 * (1.0 + cost.total));
		/* stacking everything on n1 costs more by the same hand count */
		static const int stacked[N_TASKS] = {0, 0, 0, 0};

		assert_true(hand_cost(nodes, stacked, intra[i]) > cost.total + 1.0);
		plc_model_free(m);
	}
}

/* The term is what spreads them: without it (contention 0) the same job
 * stacks on one node, as it did before the compute term existed. */
static void test_without_contention_it_stacks(void **state)
{
	static const struct node_def nodes[] = {
		{"n1", "near", 0.0}, {"n2", "near", 0.0}, {"n3", "near", 0.0}};
	struct plc_model *m = job_new(nodes, 3, 1.0);
	int a[N_TASKS];
	struct plc_cost cost;

	(void)state;
	assert_int_equal(plc_model_set_contention(m, -1.0), SD_EINVAL);
	assert_int_equal(plc_model_set_contention(m, 0.0), 0);
	solve_both(m, a, &cost);
	assert_int_equal(nodes_used(a), 1);
	plc_model_free(m);
}

/* One near node and the only other (idle) node 80 ms away: all four tasks
 * stack on the near node rather than pay the far round trip. */
static void test_far_free_node_unused(void **state)
{
	static const struct node_def nodes[] = {{"n1", "near", 0.0}, {"f1", "far", 0.0}};
	struct plc_model *m = job_new(nodes, 2, 1.0);
	int a[N_TASKS];
	struct plc_cost cost;

	(void)state;
	solve_both(m, a, &cost);
	for (int t = 0; t < N_TASKS; t++)
		assert_int_equal(a[t], 0);
	plc_model_free(m);
}

/* Two busy near nodes (half their slots' worth of other work) and the only
 * idle node 80 ms away: the tasks stay near, still one partition of each
 * stage per near node. */
static void test_far_idle_node_unused_when_near_busy(void **state)
{
	static const struct node_def nodes[] = {
		{"n1", "near", 0.5}, {"n2", "near", 0.5}, {"f1", "far", 0.0}};
	struct plc_model *m = job_new(nodes, 3, 1.0);
	int a[N_TASKS];
	struct plc_cost cost;

	(void)state;
	solve_both(m, a, &cost);
	for (int t = 0; t < N_TASKS; t++)
		assert_true(a[t] == 0 || a[t] == 1);
	assert_int_not_equal(a[0], a[1]);
	assert_int_not_equal(a[2], a[3]);
	plc_model_free(m);
}

/* The explanation's per-task load shares add up to the load term, and a
 * count task (2 MB/s in) carries more contention than a map task (1 MB/s)
 * on the same node. */
static void test_load_shares(void **state)
{
	static const struct node_def nodes[] = {{"n1", "near", 0.0}};
	struct plc_model *m = job_new(nodes, 1, 1.0);
	struct plc_result r;
	double sum = 0.0;

	(void)state;
	assert_int_equal(plc_solve(m, &r), 0);
	for (int t = 0; t < N_TASKS; t++)
		sum += r.tasks[t].cost.load;
	assert_true(sum - r.cost.load < 1e-9 && r.cost.load - sum < 1e-9);
	/* one node, 4 of 4 slots: u = 1; imbalance 1, contention 4 ms x 6 MB/s,
	 * same stage: map 4 ms x 2 MB/s x 1/4, count 4 ms x 4 MB/s x 1/4 */
	double want = PLC_LOAD_WEIGHT + PLC_CONTENTION_MS * (6.0 + 2.0 / 4 + 4.0 / 4);

	assert_true(r.cost.load - want < 1e-9 && want - r.cost.load < 1e-9);
	assert_true(r.tasks[2].cost.load > r.tasks[0].cost.load);
	plc_result_free(&r);
	plc_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partitions_spread_in_region),
		cmocka_unit_test(test_without_contention_it_stacks),
		cmocka_unit_test(test_far_free_node_unused),
		cmocka_unit_test(test_far_idle_node_unused_when_near_busy),
		cmocka_unit_test(test_load_shares),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
