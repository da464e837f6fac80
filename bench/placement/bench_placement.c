/*
 * bench/placement/bench_placement.c — how fast plc_solve places a large job.
 *
 * Usage: bench_placement [NODES REGIONS TASKS]   (default: the goal,
 * 1000 nodes in 20 regions x 200 tasks; then 200 nodes x 500 tasks).
 * The job is a four-stage pipeline: read (from netfs) -> map (forward) ->
 * agg (hash shuffle, all-to-all) -> sink (forward), with a region
 * constraint on the sink, a zone spread on agg and near(read) on map.
 * Prints wall-clock milliseconds per solve (best of a few runs), the cost
 * and the search effort. Goal: < 100 ms for 1000 nodes x 200 tasks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "placement/placement.h"

#define BENCH_RUNS 5

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static double uniform(double lo, double hi)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return lo + (hi - lo) * (double)((rng_state * 0x2545F4914F6CDD1DULL) >> 11) /
			    (double)(1ULL << 53);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void add_constraint(struct plc_model *m, const char *text)
{
	struct plc_constraint c;
	char err[128];

	if (plc_constraint_parse(text, false, &c, err, sizeof(err)) ||
	    plc_model_add_constraint(m, &c) < 0) {
		fprintf(stderr, "constraint %s: %s\n", text, err);
		exit(1);
	}
}

static struct plc_model *build(int nodes, int regions, int tasks)
{
	struct plc_model *m = plc_model_new();
	char name[64], region[64], zone[64];
	int per_stage = tasks / 4, first[4];

	for (int r = 0; r < regions; r++) {
		snprintf(name, sizeof(name), "r%d", r);
		plc_model_add_region(m, name, uniform(-60, 70), uniform(-180, 180));
	}
	for (int n = 0; n < nodes; n++) {
		int r = n % regions;
		struct plc_node_spec spec = {name, region,    zone,           NULL,
					     0,    4 + n % 5, uniform(0, 0.6)};

		snprintf(name, sizeof(name), "node%d", n);
		snprintf(region, sizeof(region), "r%d", r);
		snprintf(zone, sizeof(zone), "r%d-%c", r, 'a' + (n / regions) % 3);
		plc_model_add_node(m, &spec);
	}
	for (int f = 0; f < 4; f++) {
		snprintf(name, sizeof(name), "fs%d", f);
		snprintf(region, sizeof(region), "r%d", f * 3 % regions);
		plc_model_add_netfs(m, name, region);
	}
	const char *stages[4] = {"read", "map", "agg", "sink"};

	for (int s = 0; s < 4; s++) {
		plc_model_add_stage(m, stages[s]);
		first[s] = (int)plc_model_n_tasks(m);
		for (int i = 0; i < per_stage; i++)
			plc_model_add_task(m, s, i);
	}
	for (int i = 0; i < per_stage; i++) {
		plc_model_add_source_read(m, first[0] + i, i % 4, uniform(1e6, 5e7));
		plc_model_add_channel(m, first[0] + i, first[1] + i, uniform(1e6, 3e7));
		for (int j = 0; j < per_stage; j++)
			plc_model_add_channel(m, first[1] + i, first[2] + j, uniform(1e4, 1e6));
		plc_model_add_channel(m, first[2] + i, first[3] + i, uniform(1e5, 1e6));
	}
	add_constraint(m, "sink:region=r1,r2,r3");
	add_constraint(m, "agg:spread=zone");
	add_constraint(m, "map:near=read<=30ms");
	return m;
}

static void run(int nodes, int regions, int tasks)
{
	struct plc_model *m = build(nodes, regions, tasks);
	double best = 1e30;
	struct plc_result r;
	int err = 0;

	for (int i = 0; i < BENCH_RUNS; i++) {
		double t0 = now_ms();

		err = plc_solve(m, &r);
		double dt = now_ms() - t0;

		best = dt < best ? dt : best;
		if (i + 1 < BENCH_RUNS)
			plc_result_free(&r);
	}
	printf("placement: %d nodes, %d regions, %zu tasks, %d channels: %s, best of %d: %.1f "
	       "ms, "
	       "cost %.1f, %ld steps\n",
	       nodes, regions, plc_model_n_tasks(m), tasks / 4 * (tasks / 4 + 2),
	       err ? sd_strerror(err) : "placed", BENCH_RUNS, best, r.cost.total, r.steps);
	if (err)
		printf("  %s\n", r.message);
	plc_result_free(&r);
	plc_model_free(m);
}

int main(int argc, char **argv)
{
	if (argc == 4) {
		run(atoi(argv[1]), atoi(argv[2]), atoi(argv[3]));
		return 0;
	}
	run(1000, 20, 200);
	run(200, 20, 500);
	return 0;
}
