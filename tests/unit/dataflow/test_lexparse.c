/*
 * tests/unit/dataflow/test_lexparse.c — the lexer and the parser: tokens,
 * literals, precedence, and error messages with file:line:col and a caret.
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

static int lex(const char *src, struct df_arena *a, struct df_token **t, unsigned *n,
	       struct df_diag *d)
{
	struct df_cx cx = {a, src, strlen(src), "t.sd", d, 0};
	memset(d, 0, sizeof(*d));
	return df__lex(&cx, t, n);
}

static int parse(const char *src, struct df_arena *a, struct df_program_ast *p, struct df_diag *d)
{
	struct df_cx cx = {a, src, strlen(src), "t.sd", d, 0};
	struct df_token *t;
	unsigned n;
	memset(d, 0, sizeof(*d));
	int rc = df__lex(&cx, &t, &n);
	return rc ? rc : df__parse(&cx, t, n, p);
}

static void test_tokens(void **state)
{
	struct df_arena a = {0};
	struct df_token *t;
	unsigned n;
	struct df_diag d;
	(void)state;
	assert_int_equal(
		lex("let x = 10s + 2ms // c\n /* c */ 1.5e1 \"a\\\"b\" -> >= @", &a, &t, &n, &d),
		0);
	assert_int_equal(n, 12);
	assert_int_equal(t[11].t, T_EOF);
	assert_int_equal(t[0].t, T_IDENT);
	assert_string_equal(t[0].sval, "let");
	assert_int_equal(t[2].t, T_ASSIGN);
	assert_int_equal(t[3].t, T_DUR);
	assert_int_equal(t[3].ival, 10000000);
	assert_int_equal(t[5].t, T_DUR);
	assert_int_equal(t[5].ival, 2000);
	assert_int_equal(t[6].t, T_FLOAT);
	assert_true(t[6].fval == 15.0);
	assert_int_equal(t[6].line, 2);
	assert_int_equal(t[6].col, 10);
	assert_int_equal(t[7].t, T_STR);
	assert_int_equal(t[7].slen, 3);
	assert_memory_equal(t[7].sval, "a\"b", 3);
	assert_int_equal(t[8].t, T_ARROW);
	assert_int_equal(t[9].t, T_GE);
	assert_int_equal(t[10].t, T_AT);
	df__arena_free(&a);
}

static void test_lex_errors(void **state)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
		{"x = \"abc", "t.sd:1:5: error: unterminated string"},
		{"\n  10q", "t.sd:2:3: error: bad duration '10q'"},
		{"a /* never", "t.sd:1:3: error: unterminated comment"},
		{"a $ b", "t.sd:1:3: error: unexpected character '$'"},
		{"99999999999999999999", "too large"},
		{"\"bad \\q\"", "unknown escape"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct df_arena a = {0};
		struct df_token *t;
		unsigned n;
		struct df_diag d;
		assert_int_equal(lex(cases[i].src, &a, &t, &n, &d), SD_ESYNTAX);
		if (!strstr(d.text, cases[i].want))
			fail_msg("case %zu: got '%s'", i, d.text);
		df__arena_free(&a);
	}
}

static void test_parse_shapes(void **state)
{
	struct df_arena a = {0};
	struct df_program_ast p;
	struct df_diag d;
	(void)state;
	assert_int_equal(parse("job \"wc\" { parallelism = 4, @region(\"eu\") }\n"
			       "let s = read_text(\"netfs://x\") @region(\"us\")\n"
			       "s.map((a, b) -> (a, b * 2 + 1 > 3 && !c)).print()",
			       &a, &p, &d),
			 0);
	assert_string_equal(p.job_name, "wc");
	assert_non_null(p.job_block);
	assert_int_equal(p.job_block->n, 2);
	assert_string_equal(p.job_block->names[0], "parallelism");
	assert_string_equal(p.job_block->names[1], "@");
	assert_int_equal(p.n_stmts, 2);
	assert_string_equal(p.stmts[0].let_name, "s");
	assert_int_equal(p.stmts[0].e->k, A_ANNOT);
	assert_string_equal(p.stmts[0].e->name, "region");
	const struct df_ast *print = p.stmts[1].e;
	assert_int_equal(print->k, A_METHOD);
	assert_string_equal(print->name, "print");
	const struct df_ast *map = print->kids[0];
	assert_string_equal(map->name, "map");
	const struct df_ast *lam = map->kids[1];
	assert_int_equal(lam->k, A_LAMBDA);
	assert_int_equal(lam->n, 2);
	assert_string_equal(lam->names[1], "b");
	const struct df_ast *tup = lam->kids[0];
	assert_int_equal(tup->k, A_TUPLE);
	/* b * 2 + 1 > 3 && !c  ==  ((b * 2 + 1) > 3) && (!c) */
	const struct df_ast *and = tup->kids[1];
	assert_int_equal(and->op, T_AND);
	assert_int_equal(and->kids[0]->op, T_GT);
	assert_int_equal(and->kids[0]->kids[0]->op, T_PLUS);
	assert_int_equal(and->kids[0]->kids[0]->kids[0]->op, T_STAR);
	assert_int_equal(and->kids[1]->k, A_UNOP);
	df__arena_free(&a);
}

static void test_parse_records_if(void **state)
{
	struct df_arena a = {0};
	struct df_program_ast p;
	struct df_diag d;
	(void)state;
	assert_int_equal(
		parse("x.map(r -> { a: r.0, b: if r.1 > 2 then \"x\" else \"y\" }).print()", &a, &p,
		      &d),
		0);
	const struct df_ast *rec = p.stmts[0].e->kids[0]->kids[1]->kids[0];
	assert_int_equal(rec->k, A_RECORD);
	assert_string_equal(rec->names[1], "b");
	assert_int_equal(rec->kids[0]->k, A_FIELD);
	assert_int_equal(rec->kids[0]->ival, 0);
	assert_int_equal(rec->kids[1]->k, A_IF);
	df__arena_free(&a);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
		{"read_text(\"x\")\n  .map(x -> )",
		 "t.sd:2:13: error: expected an expression, found ')'"},
		{"let = 3", "t.sd:1:5: error: expected a name after 'let'"},
		{"job 5", "expected the job name as a string"},
		{"a.map(x -> x", "expected ',' or ')' after an argument, found end of input"},
		{"a.b(c d)", "expected ',' or ')' after an argument, found 'd'"},
		{"x -> if x then 1", "expected 'else'"},
		{"a.@", "expected a method or field name after '.'"},
		{"{ a 1 }", "expected ':' after the field name"},
		{"a < b < c", "no second comparison"},
		{"let x = 1\njob \"late\"",
		 "t.sd:2:1: error: expected a statement ('job' must come first"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct df_arena a = {0};
		struct df_program_ast p;
		struct df_diag d;
		assert_int_equal(parse(cases[i].src, &a, &p, &d), SD_ESYNTAX);
		if (!strstr(d.text, cases[i].want))
			fail_msg("case %zu: got '%s'", i, d.text);
		df__arena_free(&a);
	}
}

static void test_caret(void **state)
{
	struct df_arena a = {0};
	struct df_program_ast p;
	struct df_diag d;
	(void)state;
	assert_int_equal(parse("ok\n\tfoo(1,,2)\n", &a, &p, &d), SD_ESYNTAX);
	assert_int_equal(d.line, 2);
	assert_int_equal(d.col, 8);
	assert_non_null(strstr(d.text, "\n\tfoo(1,,2)\n\t      ^\n"));
	df__arena_free(&a);
}

static void test_deep_nesting(void **state)
{
	char src[4096];
	struct df_arena a = {0};
	struct df_program_ast p;
	struct df_diag d;
	(void)state;
	size_t n = 0;
	for (int i = 0; i < 1000; i++)
		src[n++] = '(';
	src[n] = 0;
	assert_int_equal(parse(src, &a, &p, &d), SD_ESYNTAX);
	assert_non_null(strstr(d.text, "nested too deeply"));
	df__arena_free(&a);
	n = 0;
	for (int i = 0; i < 1000; i++)
		src[n++] = '-';
	src[n++] = '1';
	src[n] = 0;
	assert_int_equal(parse(src, &a, &p, &d), SD_ESYNTAX);
	df__arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),       cmocka_unit_test(test_lex_errors),
		cmocka_unit_test(test_parse_shapes), cmocka_unit_test(test_parse_records_if),
		cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_caret),
		cmocka_unit_test(test_deep_nesting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
