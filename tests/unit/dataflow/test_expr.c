/*
 * tests/unit/dataflow/test_expr.c — type checking and the bytecode
 * interpreter: expressions compile against parameter types, run on values,
 * and give the results worked out by hand; type errors name the position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "dataflow/df_priv.h"

struct ex {
	struct df_arena a, scratch;
	struct df_diag d;
	struct df_prog *p;
	struct df_type *rt;
};

/* Compiles the lambda text against the parameter types. */
static int compile(struct ex *E, const char *src, struct df_type **pt, unsigned np)
{
	struct df_cx cx = {&E->a, src, strlen(src), "e.sd", &E->d, 0};
	struct df_token *t;
	struct df_program_ast prog;
	unsigned n;
	memset(&E->d, 0, sizeof(E->d));
	int rc = df__lex(&cx, &t, &n);
	if (!rc)
		rc = df__parse(&cx, t, n, &prog);
	if (!rc)
		rc = df__expr_compile(&cx, prog.stmts[0].e, pt, np, &E->p, &E->rt);
	if (!rc)
		assert_true(df__vm_check(E->p));
	return rc;
}

static union df_val S(const char *s) {
	union df_val v;
	v.s.p = s;
	v.s.n = (uint32_t)strlen(s);
	return v;
}

static union df_val
I(int64_t i) {
	union df_val v = {.i = i};
	return v;
}

static void
run_ok(struct ex *E, const union df_val *in, union df_val *out)
{
	const char *why = NULL;
	assert_int_equal(df__vm_run(E->p, in, out, &E->scratch, &why), 0);
}

static void done(struct ex *E)
{
	df__arena_free(&E->a);
	df__arena_free(&E->scratch);
}

static void test_arith(void **state)
{
	struct ex E = {0};
	union df_val out[8];
	struct df_type *ti = &df__t_int;
	(void)state;
	assert_int_equal(compile(&E, "x -> x * 2 + 1 - 10 / 3 % 2", &ti, 1), 0);
	assert_int_equal(E.rt->k, DF_INT);
	run_ok(&E, (union df_val[]){I(20)}, out);
	assert_int_equal(out[0].i, 20 * 2 + 1 - 10 / 3 % 2);
	assert_int_equal(compile(&E, "x -> x / 2.0 + -x", &ti, 1), 0);
	assert_int_equal(E.rt->k, DF_FLOAT);
	run_ok(&E, (union df_val[]){I(5)}, out);
	assert_true(out[0].f == 2.5 - 5);
	assert_int_equal(compile(&E, "x -> abs(x - 100)", &ti, 1), 0);
	run_ok(&E, (union df_val[]){I(5)}, out);
	assert_int_equal(out[0].i, 95);
	done(&E);
}

static void test_strings(void **state)
{
	struct ex E = {0};
	union df_val out[8];
	struct df_type *ts = &df__t_str;
	(void)state;
	assert_int_equal(compile(&E, "s -> upper(trim(s)) + \"!\"", &ts, 1), 0);
	run_ok(&E, (union df_val[]){S("  ab c ")}, out);
	assert_int_equal(out[0].s.n, 5);
	assert_memory_equal(out[0].s.p, "AB C!", 5);
	assert_int_equal(compile(&E, "s -> len(split(s, \",\"))", &ts, 1), 0);
	run_ok(&E, (union df_val[]){S("a,b,,c")}, out);
	assert_int_equal(out[0].i, 4);
	assert_int_equal(compile(&E, "s -> len(split(s, \"::\"))", &ts, 1), 0);
	run_ok(&E, (union df_val[]){S("a::b::")}, out);
	assert_int_equal(out[0].i, 3);
	assert_int_equal(compile(&E, "s -> s.substr(1, 3)", &ts, 1), 0);
	run_ok(&E, (union df_val[]){S("hello")}, out);
	assert_int_equal(out[0].s.n, 3);
	assert_memory_equal(out[0].s.p, "ell", 3);
	run_ok(&E, (union df_val[]){S("he")}, out);
	assert_int_equal(out[0].s.n, 1);
	assert_int_equal(
		compile(&E, "s -> parse_int(s) + int(parse_float(\"2.9\")) + len(str(42))", &ts, 1),
		0);
	run_ok(&E, (union df_val[]){S("41")}, out);
	assert_int_equal(out[0].i, 41 + 2 + 2);
	assert_int_equal(compile(&E,
				 "s -> (contains(s, \"ll\"), starts_with(s, \"he\"), ends_with(s, "
				 "\"x\"), s < \"help\", lower(s) == \"hello\")",
				 &ts, 1),
			 0);
	assert_int_equal(E.rt->width, 5);
	run_ok(&E, (union df_val[]){S("HeLlo")}, out);
	assert_int_equal(out[0].i, 0); /* "HeLlo" has no "ll" */
	assert_int_equal(out[1].i, 0);
	assert_int_equal(out[2].i, 0);
	assert_int_equal(out[3].i, 1); /* 'H' < 'h' */
	assert_int_equal(out[4].i, 1);
	done(&E);
}

static void test_compound(void **state)
{
	struct ex E = {0};
	union df_val out[8];
	struct df_type *el[2] = {&df__t_str, &df__t_int};
	struct df_type *pair = df__type_tuple(&E.a, el, 2);
	const char *names[2] = {"url", "n"};
	struct df_type *rec = df__type_record(&E.a, el, names, 2);
	(void)state;
	assert_int_equal(compile(&E, "p -> p.1 * 10", &pair, 1), 0);
	run_ok(&E, (union df_val[]){S("x"), I(4)}, out);
	assert_int_equal(out[0].i, 40);
	assert_int_equal(compile(&E, "(w, c) -> { word: w, twice: c * 2, t: (c, w) }", &pair, 1),
			 0);
	assert_int_equal(E.rt->k, DF_RECORD);
	assert_int_equal(E.rt->width, 4);
	run_ok(&E, (union df_val[]){S("hi"), I(3)}, out);
	assert_memory_equal(out[0].s.p, "hi", 2);
	assert_int_equal(out[1].i, 6);
	assert_int_equal(out[2].i, 3);
	assert_memory_equal(out[3].s.p, "hi", 2);
	assert_int_equal(
		compile(&E, "r -> (if r.n > 2 then (r.url, 1) else (\"small\", 0)).0", &rec, 1), 0);
	run_ok(&E, (union df_val[]){S("big"), I(3)}, out);
	assert_memory_equal(out[0].s.p, "big", 3);
	run_ok(&E, (union df_val[]){S("big"), I(1)}, out);
	assert_memory_equal(out[0].s.p, "small", 5);
	struct df_type *two[2] = {&df__t_int, &df__t_int};
	assert_int_equal(compile(&E, "(a, b) -> a + b", two, 2), 0);
	run_ok(&E, (union df_val[]){I(2), I(40)}, out);
	assert_int_equal(out[0].i, 42);
	done(&E);
}

static void test_logic_time(void **state)
{
	struct ex E = {0};
	union df_val out[8];
	struct df_type *ti = &df__t_int;
	const char *why = NULL;
	(void)state;
	assert_int_equal(compile(&E, "x -> x != 0 && 10 / x > 1 || x == 0 && false", &ti, 1), 0);
	run_ok(&E, (union df_val[]){I(0)}, out); /* short circuit: no division by zero */
	assert_int_equal(out[0].i, 0);
	run_ok(&E, (union df_val[]){I(3)}, out);
	assert_int_equal(out[0].i, 1);
	run_ok(&E, (union df_val[]){I(20)}, out);
	assert_int_equal(out[0].i, 0);
	assert_int_equal(compile(&E, "x -> 10 / (x - x)", &ti, 1), 0);
	assert_int_equal(df__vm_run(E.p, (union df_val[]){I(1)}, out, &E.scratch, &why), SD_EINVAL);
	assert_string_equal(why, "division by zero");
	assert_int_equal(
		compile(&E, "t -> to_millis(from_seconds(t) + 1500ms - seconds(1))", &ti, 1), 0);
	run_ok(&E, (union df_val[]){I(2)}, out);
	assert_int_equal(out[0].i, 2500);
	assert_int_equal(compile(&E, "t -> from_millis(t) > from_millis(5) && 2s > 1999ms", &ti, 1),
			 0);
	run_ok(&E, (union df_val[]){I(6)}, out);
	assert_int_equal(out[0].i, 1);
	done(&E);
}

static void test_type_errors(void **state)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
		{"x -> x + \"a\"", "e.sd:1:8: error: operator cannot combine int and str"},
		{"x -> y", "e.sd:1:6: error: unknown name 'y'"},
		{"x -> if x then 1 else 2", "condition of 'if' must be bool, found int"},
		{"x -> if x > 1 then 1 else \"a\"", "branches of 'if' differ: int and str"},
		{"x -> lower(x)", "argument 1 of lower() is int: expected str"},
		{"x -> foo(x)", "unknown function 'foo'"},
		{"x -> x.name", "field access on int"},
		{"(a, b) -> a", "takes 2 parameters but receives 1 value"},
		{"x -> !x", "'!' needs bool, found int"},
		{"x -> x && true", "expected bool on the left"},
		{"x -> substr(\"a\", 1)", "substr() takes 3 arguments, found 2"},
		{"x -> 1.5 % 2", "'%' needs int operands"},
		{"x -> [1, \"a\"]", "list elements differ"},
		{"x -> (1, split(\"a\", \" \"))", "a list cannot be stored"},
	};
	struct df_type *ti = &df__t_int;
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ex E = {0};
		assert_int_equal(compile(&E, cases[i].src, &ti, 1), SD_ETYPE);
		if (!strstr(E.d.text, cases[i].want))
			fail_msg("case %zu: got '%s'", i, E.d.text);
		done(&E);
	}
}

static void test_deep_field_chain(void **state)
{
	/* a field chain nests as deep as it is long: refused, never a crash */
	size_t n = 200000;
	char *src = malloc(n * 2 + 16);
	struct ex E = {0};
	struct df_type *ti = &df__t_int;
	(void)state;
	strcpy(src, "x -> x");
	for (size_t i = 0; i < n; i++)
		memcpy(src + 6 + 2 * i, ".a", 3);
	assert_int_equal(compile(&E, src, &ti, 1), SD_ETYPE);
	done(&E);
	free(src);
}

static void test_vm_check_rejects(void **state)
{
	struct ex E = {0};
	struct df_type *ti = &df__t_int;
	(void)state;
	assert_int_equal(compile(&E, "x -> if x > 1 then x else 0", &ti, 1), 0);
	struct df_prog q = *E.p;
	uint32_t code[64];
	assert_true(q.n_code < 64);
	memcpy(code, q.code, q.n_code * sizeof(uint32_t));
	q.code = code;
	assert_true(df__vm_check(&q));
	code[0] = OP_LOAD | 7u << 8; /* past the input */
	assert_false(df__vm_check(&q));
	memcpy(code, E.p->code, q.n_code * sizeof(uint32_t));
	code[q.n_code - 1] = OP_POP | 1u << 8; /* no RET */
	assert_false(df__vm_check(&q));
	memcpy(code, E.p->code, q.n_code * sizeof(uint32_t));
	code[0] = OP_ADDI; /* pops from an empty stack */
	assert_false(df__vm_check(&q));
	memcpy(code, E.p->code, q.n_code * sizeof(uint32_t));
	code[0] = OP_JMP | 1000u << 8;
	assert_false(df__vm_check(&q));
	memcpy(code, E.p->code, q.n_code * sizeof(uint32_t));
	code[0] = 200; /* no such opcode */
	assert_false(df__vm_check(&q));
	done(&E);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arith),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_compound),
		cmocka_unit_test(test_logic_time),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_vm_check_rejects),
		cmocka_unit_test(test_deep_field_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
