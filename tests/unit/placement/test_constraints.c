/* Unit tests for placement's constraints: each kind on a small
 * three-region topology, preferences, and infeasibility reports (the
 * message names the stage, the constraint and what does exist). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "placement/placement.h"

/* eu-west: e1 (zone a, gpu=true), e2 (zone b); us-east: u1 (a), u2 (b,
 * gpu=true); ap-south: a1 (a), a2 (b). 4 slots each. netfs in us-east.
 * Stages: read (R tasks, reading 10 MB/s each) -> write_csv (W tasks,
 * forward or all-to-all at 5 MB/s). */
struct topo {
	struct plc_model *m;
	int read, write;
	int first_read, first_write;
};

static struct topo topo_new(int nr, int nw)
{
	static const struct plc_label gpu = {"gpu", "true"};
	static const struct {
		const char *name, *region, *zone;
		bool gpu;
	} nodes[] = {
		{"e1", "eu-west", "a", true},   {"e2", "eu-west", "b", false},
		{"u1", "us-east", "a", false},  {"u2", "us-east", "b", true},
		{"a1", "ap-south", "a", false}, {"a2", "ap-south", "b", false},
	};
	struct topo t;

	t.m = plc_model_new();
	assert_non_null(t.m);
	assert_int_equal(plc_model_add_region(t.m, "eu-west", 53.35, -6.26), 0);
	assert_int_equal(plc_model_add_region(t.m, "us-east", 38.9, -77.0), 1);
	assert_int_equal(plc_model_add_region(t.m, "ap-south", 19.08, 72.88), 2);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		struct plc_node_spec s = {nodes[i].name,
					  nodes[i].region,
					  nodes[i].zone,
					  nodes[i].gpu ? &gpu : NULL,
					  nodes[i].gpu ? 1 : 0,
					  4,
					  0.0};

		assert_int_equal(plc_model_add_node(t.m, &s), (int)i);
	}
	assert_int_equal(plc_model_add_netfs(t.m, "fs", "us-east"), 0);
	t.read = plc_model_add_stage(t.m, "read");
	t.write = plc_model_add_stage(t.m, "write_csv");
	t.first_read = 0;
	t.first_write = nr;
	for (int i = 0; i < nr; i++) {
		assert_int_equal(plc_model_add_task(t.m, t.read, i), i);
		assert_int_equal(plc_model_add_source_read(t.m, i, 0, 10e6), 0);
	}
	for (int i = 0; i < nw; i++)
		assert_int_equal(plc_model_add_task(t.m, t.write, i), nr + i);
	for (int i = 0; i < nr; i++)
		for (int j = 0; j < nw; j++)
			if (nr != nw || i == j)
				assert_int_equal(plc_model_add_channel(t.m, i, nr + j, 5e6), 0);
	return t;
}

static void add(struct topo *t, const char *text, bool prefer)
{
	struct plc_constraint c;
	char err[128];

	if (plc_constraint_parse(text, prefer, &c, err, sizeof(err)))
		fail_msg("%s: %s", text, err);
	assert_true(plc_model_add_constraint(t->m, &c) >= 0);
}

static const char *region_of(const struct topo *t, const struct plc_result *r, int task)
{
	return plc_model_region_name(t->m, plc_model_node_region(t->m, r->tasks[task].node));
}

static const char *node_of(const struct topo *t, const struct plc_result *r, int task)
{
	return plc_model_node_name(t->m, r->tasks[task].node);
}

static void solve_ok(struct topo *t, struct plc_result *r)
{
	int err = plc_solve(t->m, r);

	if (err)
		fail_msg("infeasible: %s", r->message);
	assert_true(r->feasible);
}

static void test_unconstrained_follows_data(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;

	(void)state;
	solve_ok(&t, &r);
	for (int i = 0; i < 4; i++)
		assert_string_equal(region_of(&t, &r, i), "us-east");
	assert_true(r.cost.sources > 0.0);
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_region_in(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;

	(void)state;
	add(&t, "write_csv:region=eu-west", false);
	solve_ok(&t, &r);
	assert_string_equal(region_of(&t, &r, 2), "eu-west");
	assert_string_equal(region_of(&t, &r, 3), "eu-west");
	assert_string_equal(region_of(&t, &r, 0), "us-east"); /* read stays by its data */
	assert_non_null(
		strstr(r.stages[t.write].bound_by, "region in {eu-west}: 2 of 6 nodes eligible"));
	assert_int_equal(r.stages[t.write].eligible, 2);
	assert_int_equal(r.tasks[2].eligible, 2);
	assert_int_equal(r.stages[t.read].eligible, 6);
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_region_not_in(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;

	(void)state;
	add(&t, "region!=us-east", false);
	solve_ok(&t, &r);
	for (int i = 0; i < 4; i++)
		assert_string_not_equal(region_of(&t, &r, i), "us-east");
	assert_non_null(strstr(r.stages[t.read].bound_by, "region not in {us-east}: 4 of 6"));
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_zone_and_label(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;

	(void)state;
	add(&t, "read:zone=a", false);
	add(&t, "write_csv:gpu=true", false);
	solve_ok(&t, &r);
	for (int i = 0; i < 2; i++) {
		const char *n = node_of(&t, &r, i);

		assert_true(strcmp(n, "e1") == 0 || strcmp(n, "u1") == 0 || strcmp(n, "a1") == 0);
		n = node_of(&t, &r, 2 + i);
		assert_true(strcmp(n, "e1") == 0 || strcmp(n, "u2") == 0);
	}
	/* data in us-east: reads on u1, writes on u2 */
	assert_string_equal(node_of(&t, &r, 0), "u1");
	assert_string_equal(node_of(&t, &r, 2), "u2");
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_near(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;

	(void)state;
	/* a heavy preference pulls writes to ap-south, near() keeps them close */
	add(&t, "write_csv:region=ap-south:1000", true); /* beats 5 MB/s x ~132 ms */
	solve_ok(&t, &r);
	assert_string_equal(region_of(&t, &r, 2), "ap-south");
	plc_result_free(&r);
	add(&t, "write_csv:near=read<=10ms", false);
	solve_ok(&t, &r);
	assert_string_equal(region_of(&t, &r, 2), region_of(&t, &r, 0));
	assert_string_equal(region_of(&t, &r, 3), region_of(&t, &r, 1));
	/* moving the reads too would cost 2 x 10 MB/s x ~132 ms > 2 x 1000 */
	assert_string_equal(region_of(&t, &r, 0), "us-east");
	assert_true(r.cost.prefs > 0.0); /* the preference was given up */
	assert_non_null(strstr(r.stages[t.write].bound_by, "near(read) within 10 ms"));
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_max_per_node(void **state)
{
	struct topo t = topo_new(3, 3);
	struct plc_result r;
	int count[6] = {0};

	(void)state;
	add(&t, "max-per-node=1", false);
	solve_ok(&t, &r);
	for (int i = 0; i < 6; i++)
		assert_int_equal(++count[r.tasks[i].node], 1);
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_stage_max_per_node(void **state)
{
	struct topo t = topo_new(4, 1);
	struct plc_result r;
	int count[6] = {0};

	(void)state;
	add(&t, "read:max-per-node=2", false);
	add(&t, "region=us-east", false);
	solve_ok(&t, &r);
	for (int i = 0; i < 4; i++)
		assert_true(++count[r.tasks[i].node] <= 2);
	assert_int_equal(count[2] + count[3], 4);
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_spread(void **state)
{
	struct topo t = topo_new(3, 1);
	struct plc_result r;
	int seen[3] = {0};

	(void)state;
	add(&t, "read:spread=region", false);
	solve_ok(&t, &r);
	for (int i = 0; i < 3; i++)
		seen[plc_model_node_region(t.m, r.tasks[i].node)]++;
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 1);
	assert_non_null(strstr(r.stages[t.read].bound_by, "at most 1 per region"));
	plc_result_free(&r);
	plc_model_free(t.m);
	/* zones: (region, zone) pairs, two tasks in us-east on different zones */
	t = topo_new(2, 1);
	add(&t, "read:spread=zone", false);
	add(&t, "read:region=us-east", false);
	solve_ok(&t, &r);
	assert_string_not_equal(plc_model_node_zone(t.m, r.tasks[0].node),
				plc_model_node_zone(t.m, r.tasks[1].node));
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_preferences(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;

	(void)state;
	add(&t, "zone=b:0.0001", true); /* too light to matter against the data */
	solve_ok(&t, &r);
	assert_string_equal(region_of(&t, &r, 0), "us-east");
	assert_string_equal(plc_model_node_zone(t.m, r.tasks[0].node), "b"); /* free tie-break */
	plc_result_free(&r);
	add(&t, "region=eu-west:1000000", true); /* job level, heavy */
	solve_ok(&t, &r);
	for (int i = 0; i < 4; i++)
		assert_string_equal(region_of(&t, &r, i), "eu-west");
	assert_true(r.cost.prefs < 1.0);
	assert_non_null(strstr(r.stages[0].bound_by, "preferred"));
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void expect_infeasible(struct topo *t, struct plc_result *r, const char *const *needles)
{
	int err = plc_solve(t->m, r);

	assert_int_equal(err, SD_EINFEASIBLE);
	assert_false(r->feasible);
	for (; *needles; needles++)
		if (!strstr(r->message, *needles))
			fail_msg("\"%s\" not in \"%s\"", *needles, r->message);
}

static void test_infeasible_region(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;
	struct plc_constraint c;
	char text[1024];

	(void)state;
	assert_int_equal(plc_constraint_parse("write_csv:region=mars", false, &c, NULL, 0), 0);
	snprintf(c.origin, sizeof(c.origin), "@region(\"mars\")");
	assert_int_equal(plc_model_add_constraint(t.m, &c), 0);
	expect_infeasible(&t, &r,
			  (const char *const[]){"stage 1 (write_csv)", "@region(\"mars\")",
						"no node has region \"mars\"",
						"regions: eu-west, us-east, ap-south", NULL});
	assert_int_equal(r.bad_stage, 1);
	assert_int_equal(r.bad_constraint, 0);
	assert_true(plc_render_text(t.m, &r, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "placement infeasible: stage 1 (write_csv)"));
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_infeasible_label_zone_combo(void **state)
{
	struct topo t = topo_new(1, 1);
	struct plc_result r;

	(void)state;
	add(&t, "read:gpu=yes", false);
	expect_infeasible(&t, &r,
			  (const char *const[]){"stage 0 (read)", "gpu=yes",
						"no node has label gpu=\"yes\"", "values: true",
						NULL});
	plc_result_free(&r);
	plc_model_free(t.m);

	t = topo_new(1, 1);
	add(&t, "write_csv:tier=gold", false);
	expect_infeasible(&t, &r, (const char *const[]){"tier=gold", "labels: gpu", NULL});
	plc_result_free(&r);
	plc_model_free(t.m);

	t = topo_new(1, 1);
	add(&t, "write_csv:region=ap-south", false);
	add(&t, "write_csv:gpu=true", false);
	expect_infeasible(
		&t, &r, (const char *const[]){"stage 1 (write_csv)", "gpu=true", "together", NULL});
	assert_int_equal(r.bad_constraint, 1);
	plc_result_free(&r);
	plc_model_free(t.m);

	t = topo_new(1, 1);
	add(&t, "zone!=a,b", false);
	expect_infeasible(&t, &r,
			  (const char *const[]){"stage 0 (read)", "zone!=a,b",
						"every live node has zone in {a, b}", NULL});
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_infeasible_capacity_near_lost(void **state)
{
	struct topo t = topo_new(4, 3);
	struct plc_result r;

	(void)state;
	add(&t, "max-per-node=1", false);
	expect_infeasible(&t, &r, (const char *const[]){"job", "7 tasks", "room for only 6", NULL});
	plc_result_free(&r);
	plc_model_free(t.m);

	t = topo_new(3, 1);
	add(&t, "read:max-per-node=1", false);
	add(&t, "read:region=eu-west", false);
	expect_infeasible(&t, &r, (const char *const[]){"stage 0 (read)", "room for only 2", NULL});
	plc_result_free(&r);
	plc_model_free(t.m);

	t = topo_new(2, 2);
	add(&t, "read:region=eu-west", false);
	add(&t, "write_csv:region=ap-south", false);
	add(&t, "write_csv:near=read<=5ms", false);
	expect_infeasible(&t, &r,
			  (const char *const[]){"stage 1 (write_csv)", "near=read<=5ms",
						"stage 0 (read)", "at least", NULL});
	assert_int_equal(r.bad_constraint, 2);
	plc_result_free(&r);
	plc_model_free(t.m);

	t = topo_new(1, 1);
	for (int n = 0; n < 6; n++)
		assert_int_equal(plc_model_set_node_lost(t.m, n, true), 0);
	expect_infeasible(&t, &r, (const char *const[]){"stage 0 (read)", "no live node", NULL});
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_infeasible_found_by_search(void **state)
{
	struct topo t = topo_new(5, 4);
	struct plc_result r;

	(void)state;
	/* each stage fits eu-west's 8 slots alone, not both together */
	add(&t, "read:region=eu-west", false);
	add(&t, "write_csv:region=eu-west", false);
	expect_infeasible(
		&t, &r,
		(const char *const[]){"fits on none of its 2 eligible nodes", "2 full", NULL});
	assert_true(r.bad_stage == 0 || r.bad_stage == 1);
	assert_int_equal(r.bad_constraint, -1);
	plc_result_free(&r);
	plc_model_free(t.m);

	/* read 0 takes e1, its write must be near: e2; read 1 has nowhere left */
	t = topo_new(2, 2);
	add(&t, "read:region=eu-west", false);
	add(&t, "max-per-node=1", false);
	add(&t, "write_csv:near=read<=5ms", false);
	expect_infeasible(&t, &r,
			  (const char *const[]){"stage 0 (read): task 1 (partition 1)",
						"fits on none of its 2 eligible nodes",
						"2 blocked by max-per-node=1", NULL});
	assert_int_equal(r.bad_constraint, 1);
	plc_result_free(&r);
	plc_model_free(t.m);

	/* four writes near both reads (all-to-all) but one per node */
	t = topo_new(2, 4);
	add(&t, "read:region=eu-west", false);
	add(&t, "write_csv:max-per-node=1", false);
	add(&t, "write_csv:near=read<=5ms", false);
	expect_infeasible(&t, &r,
			  (const char *const[]){"stage 1 (write_csv)", "of its 6 eligible nodes",
						"2 blocked by write_csv:max-per-node=1",
						"4 blocked by write_csv:near=read<=5ms", NULL});
	assert_int_equal(r.bad_constraint, 2);
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_replace_after_loss(void **state)
{
	struct topo t = topo_new(3, 3);
	struct plc_result r, q;
	int prev[6];

	(void)state;
	add(&t, "max-per-node=2", false);
	solve_ok(&t, &r);
	for (int i = 0; i < 6; i++)
		prev[i] = r.tasks[i].node;
	int lost = prev[0];

	assert_int_equal(plc_model_set_node_lost(t.m, lost, true), 0);
	assert_int_equal(plc_replace(t.m, prev, &q), 0);
	for (int i = 0; i < 6; i++) {
		assert_int_not_equal(q.tasks[i].node, lost);
		if (prev[i] != lost) {
			assert_int_equal(q.tasks[i].node, prev[i]);
			assert_int_equal(q.tasks[i].eligible, 1); /* pinned */
		}
	}
	plc_result_free(&r);
	plc_result_free(&q);
	plc_model_free(t.m);
}

static void test_explanation_text(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;
	char text[4096];

	(void)state;
	add(&t, "write_csv:region=eu-west", false);
	solve_ok(&t, &r);
	int len = plc_render_text(t.m, &r, text, sizeof(text));

	assert_true(len > 0 && (size_t)len < sizeof(text));
	assert_non_null(strstr(text, "task 2  stage 1 (write_csv) partition 0 -> e"));
	assert_non_null(strstr(text, "[eu-west]"));
	assert_non_null(strstr(text, "next best"));
	assert_non_null(
		strstr(text, "stage 1 (write_csv): region in {eu-west}: 2 of 6 nodes eligible"));
	for (int i = 0; i < 4; i++)
		assert_true(r.tasks[i].runner_up >= 0 && r.tasks[i].runner_up_delta >= 0.0);
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_measured_rtt_moves_tasks(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;

	(void)state;
	add(&t, "write_csv:region=eu-west,ap-south", false);
	solve_ok(&t, &r);
	/* estimated from coordinates, us-east is far nearer eu-west than ap-south */
	assert_string_equal(region_of(&t, &r, 2), "eu-west");
	plc_result_free(&r);
	assert_int_equal(plc_model_observe_rtt(t.m, "us-east", "ap-south", 3.0), 0);
	solve_ok(&t, &r);
	assert_string_equal(region_of(&t, &r, 2), "ap-south");
	assert_string_equal(region_of(&t, &r, 3), "ap-south");
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_empty_models(void **state)
{
	struct plc_model *m = plc_model_new();
	struct plc_result r;
	int none = -1;

	(void)state;
	assert_int_equal(plc_solve(m, &r), 0); /* nothing to place */
	assert_true(r.feasible);
	assert_int_equal(r.n_tasks, 0);
	assert_true(r.cost.total == 0.0);
	plc_result_free(&r);
	assert_int_equal(plc_solve_exact(m, &r), 0);
	plc_result_free(&r);
	assert_int_equal(plc_model_add_stage(m, "only"), 0);
	assert_int_equal(plc_model_add_task(m, 0, 0), 0);
	assert_int_equal(plc_solve(m, &r), SD_EINFEASIBLE); /* a task, no node */
	assert_non_null(strstr(r.message, "stage 0 (only)"));
	plc_result_free(&r);
	assert_int_equal(plc_replace(m, &none, &r), SD_EINFEASIBLE);
	plc_result_free(&r);
	assert_int_equal(plc_solve(NULL, &r), SD_EINVAL);
	plc_model_free(m);
}

static void test_evaluate_reports_violation(void **state)
{
	struct topo t = topo_new(2, 2);
	struct plc_result r;
	int all_on_u1[4] = {2, 2, 2, 2}, near_broken[4] = {0, 0, 4, 4};

	(void)state;
	add(&t, "write_csv:region=eu-west", false);
	assert_int_equal(plc_evaluate(t.m, all_on_u1, &r), SD_EINFEASIBLE);
	assert_non_null(strstr(r.message, "stage 1 (write_csv)"));
	assert_non_null(strstr(r.message, "region=eu-west"));
	assert_non_null(strstr(r.message, "u1"));
	assert_int_equal(r.bad_constraint, 0);
	plc_result_free(&r);
	plc_model_free(t.m);
	t = topo_new(2, 2);
	add(&t, "write_csv:near=read<=10", false);
	assert_int_equal(plc_evaluate(t.m, near_broken, &r), SD_EINFEASIBLE);
	assert_int_equal(r.bad_constraint, 0);
	assert_non_null(strstr(r.message, "near=read<=10"));
	plc_result_free(&r);
	plc_model_free(t.m);
}

static void test_exact_matches_or_beats(void **state)
{
	struct topo t = topo_new(3, 3);
	struct plc_result h, e;

	(void)state;
	add(&t, "write_csv:spread=region", false);
	add(&t, "read:max-per-node=1", false);
	solve_ok(&t, &h);
	assert_int_equal(plc_solve_exact(t.m, &e), 0);
	assert_true(e.cost.total <= h.cost.total + 1e-9);
	plc_result_free(&h);
	plc_result_free(&e);
	plc_model_free(t.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unconstrained_follows_data),
		cmocka_unit_test(test_region_in),
		cmocka_unit_test(test_region_not_in),
		cmocka_unit_test(test_zone_and_label),
		cmocka_unit_test(test_near),
		cmocka_unit_test(test_max_per_node),
		cmocka_unit_test(test_stage_max_per_node),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_preferences),
		cmocka_unit_test(test_infeasible_region),
		cmocka_unit_test(test_infeasible_label_zone_combo),
		cmocka_unit_test(test_infeasible_capacity_near_lost),
		cmocka_unit_test(test_infeasible_found_by_search),
		cmocka_unit_test(test_replace_after_loss),
		cmocka_unit_test(test_explanation_text),
		cmocka_unit_test(test_measured_rtt_moves_tasks),
		cmocka_unit_test(test_empty_models),
		cmocka_unit_test(test_evaluate_reports_violation),
		cmocka_unit_test(test_exact_matches_or_beats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
