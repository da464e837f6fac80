/*
 * tests/unit/dataflow/test_vec.c — the batch interpreter (df_vec.c) against
 * the row interpreter (df_vm.c), opcode by opcode of dataflow/df_opc.h's
 * table.
 *
 * Each expression runs twice through the real task API: as written, where a
 * leading map of vectorisable opcodes runs a column at a time (with the
 * constant-operand fast path when a constant is the right operand), and
 * wrapped in `if trim("") == "" then E else E`, whose TRIM (a row-only
 * opcode) sends the whole program to the row interpreter. Both outputs must
 * be equal, and equal to values worked out here for the edge cases
 * (INT64_MIN / -1, saturating float to int, NaN).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "tests/unit/dataflow/harness.h"

/* Runs `generate(n)<pre>.map(x -> body).collect()`; returns the output
 * (malloc'd), or NULL with the task's error in err. */
static char *run_map(unsigned n, const char *pre, const char *body, char *err, size_t errlen)
{
	char job[2048];
	struct h_result r;
	char *out = NULL;

	snprintf(job, sizeof job, "generate(%u)%s.map(x -> %s).collect()", n, pre, body);
	if (h_run(job, NULL, 0, 1, 0, &r) == 0)
		out = strdup(r.out[0] ? r.out[0] : "");
	else
		snprintf(err, errlen, "%s", r.err);
	h_free(&r);
	return out;
}

/* body on the batch path and on the row path: same output, or same error. */
static void same_both_ways(unsigned n, const char *pre, const char *body)
{
	char row[1024], e1[1100] = "", e2[1100] = "";
	char *vec = run_map(n, pre, body, e1, sizeof e1), *ref;

	snprintf(row, sizeof row, "if trim(\"\") == \"\" then %s else %s", body, body);
	ref = run_map(n, pre, row, e2, sizeof e2);
	if (!vec || !ref) {
		if (vec || ref || !strstr(e1, "division by zero") ||
		    !strstr(e2, "division by zero"))
			fail_msg("%s: batch: %s / row: %s", body, vec ? "ok" : e1, ref ? "ok" : e2);
	} else if (strcmp(vec, ref) != 0) {
		fail_msg("%s:\n batch:\n%.400s\n row:\n%.400s", body, vec, ref);
	}
	free(vec);
	free(ref);
}

static void test_int_ops(void **state)
{
	static const char *const bodies[] = {
		"(x + 3, x - 3, x * 3, x / 7, x % 7)", /* constant right operands: fused */
		"(3 + x, 3 - x, 3 * x, 7000 / (x + 1), 7000 % (x + 1))",
		"(x - 100) / ((x - 100) * 2 + 1)", /* divisors through -1 and 1 */
		"(x - 100) % ((x - 100) * 2 + 1)",
		"(0 - 9223372036854775807 - 1) / ((x - 100) * 2 + 1)", /* INT64_MIN / -1 */
		"(0 - 9223372036854775807 - 1) % ((x - 100) * 2 + 1)",
		"(9223372036854775807 + x, 0 - x, -(x - 9223372036854775807 - 1))", /* wrap */
		"(x == 100, x != 100, x < 100, x <= 100, x > 100, x >= 100)",
		"(100 == x, 100 != x, 100 < x, 100 <= x, 100 > x, 100 >= x)",
		"(abs(x - 100), abs(0 - 9223372036854775807 - 1 + x), not (x > 5))",
		"(to_seconds(from_millis(x * 1000 - 7)), seconds(x), millis(x))",
		"if x % 3 == 0 then x / 3 else if x % 3 == 1 then 0 - x else x * x",
		"(x > 10 and x < 150, x < 10 or x > 150)",
		"1000 / (x - 100)", /* division by zero mid-batch: both fail */
		"x / (x - x)",
	};
	(void)state;
	for (unsigned i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		same_both_ways(200, "", bodies[i]);
}

static void test_float_ops(void **state)
{
	static const char *const bodies[] = {
		"(float(x) + 0.5, float(x) - 0.5, float(x) * 0.5, float(x) / 4.0)",
		"(0.5 + float(x), 0.5 - float(x), 0.5 * float(x), 4.0 / float(x))", /* inf at 0 */
		"(float(x - 100) / 0.0, -(float(x) * 1.5), abs(float(x - 100) * 0.25))",
		"(float(x) == 50.0, float(x) != 50.0, float(x) < 50.0, float(x) <= 50.0)",
		"(float(x) > 50.0, float(x) >= 50.0, 50.0 > float(x), 50.0 <= float(x))",
		"(float(x - 100) / 0.0 == float(x - 100) / 0.0, float(x) / 0.0 < 1.0)", /* NaN */
		"(int(float(x) * 1.0e17), int(float(x - 100) * 1.0e17), int(float(x - 100) / 0.0))",
		"(int(float(x) / 3.0), x / 2 + 1.5)",
	};
	(void)state;
	for (unsigned i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		same_both_ways(200, "", bodies[i]);
}

/* Strings reach the batch interpreter as input columns made by an
 * earlier (row) operator. */
static void test_string_columns(void **state)
{
	static const char *const bodies[] = {
		"(x.1 == \"1\", x.1 != \"1\", \"2\" == x.1, len(x.1), len(x.2))",
		"if x.1 == \"0\" then len(x.1) else x.0",
	};
	const char *pre = ".map(x -> (x, str(x % 3), str(x * 7)))";
	(void)state;
	for (unsigned i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		same_both_ways(300, pre, bodies[i]);
}

/* The edge cases against values worked out here. */
static void test_edges(void **state)
{
	char err[1100] = "";
	char *out;
	(void)state;
	out = run_map(
		3, "",
		"((0 - 9223372036854775807 - 1) / (x * 2 - 1), (x - 9223372036854775807) % -1)",
		err, sizeof err);
	if (!out)
		fail_msg("%s", err);
	h_sort_lines(out);
	/* x = 0: INT64_MIN / -1 wraps to INT64_MIN (the hardware would trap) */
	assert_non_null(strstr(out, "-9223372036854775808,0\n"));
	free(out);
	out = run_map(1, "", "(int(1.0e30), int(-1.0e30), int(0.0 / 0.0), abs(-2.5))", err,
		      sizeof err);
	if (!out)
		fail_msg("%s", err);
	assert_string_equal(out, "9223372036854775807,-9223372036854775808,0,2.5\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_ops),
		cmocka_unit_test(test_float_ops),
		cmocka_unit_test(test_string_columns),
		cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
