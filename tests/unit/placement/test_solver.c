/* Unit tests for placement's solvers: the heuristic against the exact
 * optimum on random small instances (judged by the independent checker in
 * inst.c), determinism, re-placement after a node loss, evaluation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "placement/placement.h"
#include "tests/unit/placement/inst.h"

#define RANDOM_INSTANCES 400
#define RANDOM_SEED      0x5eed5eedULL

static int *assignment(const struct plc_result *r)
{
	int *a = calloc(r->n_tasks + 1, sizeof(int));

	assert_non_null(a);
	for (size_t t = 0; t < r->n_tasks; t++)
		a[t] = r->tasks[t].node;
	return a;
}

static void test_random_heuristic_vs_exact(void **state)
{
	uint64_t seed = RANDOM_SEED;
	double gap_sum = 0.0, worst = 0.0;
	int compared = 0, infeasible = 0, optimal = 0;
	char why[128];

	(void)state;
	for (int i = 0; i < RANDOM_INSTANCES; i++) {
		struct ti x;
		struct plc_result h, e;

		ti_random(&x, &seed);
		struct plc_model *m = ti_build(&x);

		assert_non_null(m);
		int he = plc_solve(m, &h), ee = plc_solve_exact(m, &e);

		assert_true(ee == 0 || ee == SD_EINFEASIBLE);
		if (ee == SD_EINFEASIBLE) {
			/* the heuristic must not claim what the exact search disproved */
			assert_int_equal(he, SD_EINFEASIBLE);
			assert_true(h.message[0] != '\0' && e.message[0] != '\0');
			infeasible++;
		} else {
			/* never worse than 'infeasible' when a placement exists */
			if (he != 0)
				fail_msg("instance %d: heuristic found nothing: %s", i, h.message);
			int *ha = assignment(&h), *ea = assignment(&e);

			if (!ti_feasible(&x, ha, why, sizeof(why)))
				fail_msg("instance %d: heuristic broke a hard constraint: %s", i,
					 why);
			if (!ti_feasible(&x, ea, why, sizeof(why)))
				fail_msg("instance %d: exact broke a hard constraint: %s", i, why);
			double hc = ti_cost(&x, ha), ec = ti_cost(&x, ea);

			/* reported costs agree with the independent objective */
			assert_true(hc - h.cost.total < 1e-6 * (1.0 + hc) &&
				    h.cost.total - hc < 1e-6 * (1.0 + hc));
			assert_true(ec - e.cost.total < 1e-6 * (1.0 + ec) &&
				    e.cost.total - ec < 1e-6 * (1.0 + ec));
			assert_true(ec <= hc + 1e-6 * (1.0 + hc)); /* the optimum is optimal */
			double gap = ec > 0.0 ? (hc - ec) / ec : 0.0;

			gap_sum += gap;
			worst = gap > worst ? gap : worst;
			optimal += gap < 1e-9;
			compared++;
			free(ha);
			free(ea);
		}
		plc_result_free(&h);
		plc_result_free(&e);
		plc_model_free(m);
	}
	double avg = compared ? gap_sum / compared : 0.0;

	printf("[ placement ] %d instances: %d feasible, %d infeasible; heuristic optimal on %d; "
	       "average gap %.3f %%, worst %.3f %%\n",
	       RANDOM_INSTANCES, compared, infeasible, optimal, 100.0 * avg, 100.0 * worst);
	assert_true(compared >= RANDOM_INSTANCES / 2);
	assert_true(avg <= 0.05);
}

static void test_deterministic(void **state)
{
	uint64_t seed = 42;

	(void)state;
	for (int i = 0; i < 50; i++) {
		struct ti x;
		struct plc_result a, b;

		ti_random(&x, &seed);
		struct plc_model *m1 = ti_build(&x), *m2 = ti_build(&x);

		assert_non_null(m1);
		assert_non_null(m2);
		int ea = plc_solve(m1, &a), eb = plc_solve(m2, &b);

		assert_int_equal(ea, eb);
		assert_string_equal(a.message, b.message);
		for (size_t t = 0; ea == 0 && t < a.n_tasks; t++)
			assert_int_equal(a.tasks[t].node, b.tasks[t].node);
		assert_true(ea != 0 || a.cost.total == b.cost.total);
		plc_result_free(&a);
		plc_result_free(&b);
		plc_model_free(m1);
		plc_model_free(m2);
	}
}

static void test_replace_keeps_others(void **state)
{
	uint64_t seed = 7;
	int checked = 0;
	char why[128];

	(void)state;
	for (int i = 0; i < 200 && checked < 40; i++) {
		struct ti x;
		struct plc_result r, q;

		ti_random(&x, &seed);
		struct plc_model *m = ti_build(&x);

		assert_non_null(m);
		if (plc_solve(m, &r) != 0) {
			plc_result_free(&r);
			plc_model_free(m);
			continue;
		}
		int lost = r.tasks[0].node, *prev = assignment(&r);

		x.nodes[lost].lost = true;
		assert_int_equal(plc_model_set_node_lost(m, lost, true), 0);
		int err = plc_replace(m, prev, &q);

		if (err == 0) {
			int *now = assignment(&q);

			for (int t = 0; t < x.T; t++) {
				assert_int_not_equal(now[t], lost);
				if (prev[t] != lost)
					assert_int_equal(now[t], prev[t]); /* kept */
			}
			if (!ti_feasible(&x, now, why, sizeof(why)))
				fail_msg("replacement broke a hard constraint: %s", why);
			free(now);
			checked++;
		} else {
			assert_int_equal(err, SD_EINFEASIBLE);
			assert_true(q.message[0] != '\0');
		}
		free(prev);
		plc_result_free(&r);
		plc_result_free(&q);
		plc_model_free(m);
	}
	assert_true(checked >= 10);
}

static void test_evaluate_and_render(void **state)
{
	uint64_t seed = 99;
	struct ti x;
	struct plc_result r, ev;
	char buf[8192];

	(void)state;
	do {
		ti_random(&x, &seed);
		x.K = 0;
		for (int n = 0; n < x.N; n++)
			x.nodes[n].lost = false;
	} while (0);
	struct plc_model *m = ti_build(&x);

	assert_non_null(m);
	assert_int_equal(plc_solve(m, &r), 0);
	int *a = assignment(&r);

	assert_int_equal(plc_evaluate(m, a, &ev), 0);
	assert_true(ev.cost.total - r.cost.total < 1e-9 && r.cost.total - ev.cost.total < 1e-9);
	double shares = 0.0;

	for (size_t t = 0; t < r.n_tasks; t++)
		shares += r.tasks[t].cost.total;
	assert_true(shares - r.cost.total < 1e-6 && r.cost.total - shares < 1e-6);
	int len = plc_render_text(m, &r, buf, sizeof(buf));

	assert_true(len > 0 && (size_t)len < sizeof(buf));
	assert_non_null(strstr(buf, "task 0"));
	assert_non_null(strstr(buf, plc_model_node_name(m, a[0])));
	assert_int_equal(plc_render_text(m, &r, NULL, 0), len);
	free(a);
	plc_result_free(&r);
	plc_result_free(&ev);
	plc_model_free(m);
}

/* Each task's runner-up is a feasible single move costing exactly its delta
 * more, by the independent checker and cost function. */
static void test_runner_up_is_honest(void **state)
{
	uint64_t seed = 1234;
	int checked = 0;
	char why[128];

	(void)state;
	for (int i = 0; i < 100; i++) {
		struct ti x;
		struct plc_result r;

		ti_random(&x, &seed);
		struct plc_model *m = ti_build(&x);

		assert_non_null(m);
		if (plc_solve(m, &r) == 0) {
			int *a = assignment(&r);
			double base = ti_cost(&x, a);

			for (int t = 0; t < x.T; t++) {
				int keep = a[t];

				if (r.tasks[t].runner_up < 0)
					continue;
				a[t] = r.tasks[t].runner_up;
				if (!ti_feasible(&x, a, why, sizeof(why)))
					fail_msg("instance %d task %d: runner-up infeasible: %s", i,
						 t, why);
				double d = ti_cost(&x, a) - base;

				assert_true(d - r.tasks[t].runner_up_delta < 1e-6 * (1.0 + base));
				assert_true(r.tasks[t].runner_up_delta - d < 1e-6 * (1.0 + base));
				a[t] = keep;
				checked++;
			}
			free(a);
		}
		plc_result_free(&r);
		plc_model_free(m);
	}
	assert_true(checked > 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_heuristic_vs_exact),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_replace_keeps_others),
		cmocka_unit_test(test_evaluate_and_render),
		cmocka_unit_test(test_runner_up_is_honest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
