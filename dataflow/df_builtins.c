/*
 * dataflow/df_builtins.c — the built-in functions of expressions: the
 * tables of string functions and unit conversions, and the type rules of
 * str(), int(), float(), abs() and len(). Also callable as methods:
 * line.lower(). df_expr.c's walk hands every call to
 * df__expr_compile_call, which compiles the arguments through it again
 * (df__expr_compile_node) and emits one instruction; the tables are
 * constant, and the types returned are static or in the compile arena.
 */
#include <string.h>

#include "base/err.h"
#include "dataflow/df_expr_priv.h"

static const struct builtin {
	const char *name;
	enum df_opc op;
	uint8_t nargs;
	enum df_tk args[3];
	enum df_tk ret; /* DF_LIST: list<str> */
} builtins[] = {
	{"lower", OP_LOWER, 1, {DF_STR}, DF_STR},
	{"upper", OP_UPPER, 1, {DF_STR}, DF_STR},
	{"trim", OP_TRIM, 1, {DF_STR}, DF_STR},
	{"contains", OP_CONTAINS, 2, {DF_STR, DF_STR}, DF_BOOL},
	{"starts_with", OP_STARTS, 2, {DF_STR, DF_STR}, DF_BOOL},
	{"ends_with", OP_ENDS, 2, {DF_STR, DF_STR}, DF_BOOL},
	{"substr", OP_SUBSTR, 3, {DF_STR, DF_INT, DF_INT}, DF_STR},
	{"concat", OP_CONCAT, 2, {DF_STR, DF_STR}, DF_STR},
	{"parse_int", OP_PARSE_INT, 1, {DF_STR}, DF_INT},
	{"parse_float", OP_PARSE_FLOAT, 1, {DF_STR}, DF_FLOAT},
	{"split", OP_SPLIT, 2, {DF_STR, DF_STR}, DF_LIST},
};

static const struct unit_fn {
	const char *name;
	enum df_tk from, to;
	enum df_opc op;
	uint32_t k;
} unit_fns[] = {
	{"seconds", DF_INT, DF_DUR, OP_MULDI, 1000000},
	{"millis", DF_INT, DF_DUR, OP_MULDI, 1000},
	{"micros", DF_INT, DF_DUR, OP_MULDI, 1},
	{"from_seconds", DF_INT, DF_TIME, OP_MULDI, 1000000},
	{"from_millis", DF_INT, DF_TIME, OP_MULDI, 1000},
	{"from_micros", DF_INT, DF_TIME, OP_MULDI, 1},
	{"to_seconds", DF_TIME, DF_INT, OP_DIVDI, 1000000},
	{"to_millis", DF_TIME, DF_INT, OP_DIVDI, 1000},
	{"to_micros", DF_TIME, DF_INT, OP_DIVDI, 1},
};

static const char *const kind_names[] = {"int", "float", "bool", "str", "time", "duration"};

static struct df_type *scalar_type(enum df_tk k)
{
	static struct df_type *const t[] = {&df__t_int, &df__t_float, &df__t_bool,
					    &df__t_str, &df__t_time,  &df__t_dur};
	return t[k];
}

/* str(x), int(x), float(x), abs(x), len(x): overloaded on the argument type. */
static int compile_conv(struct ecx *E, const struct df_ast *a, const char *name, struct df_type *x,
			struct df_type **t)
{
	enum df_tk k = x->k;
	if (strcmp(name, "str") == 0) {
		*t = &df__t_str;
		return k == DF_STR   ? 0
		       : k == DF_INT ? df__expr_emit(E, OP_I2S, 0)
		       : k == DF_FLOAT
			       ? df__expr_emit(E, OP_F2S, 0)
			       : df__expr_type_error(
					 E, a, "str() takes int, float or str, found %s", x, NULL);
	}
	if (strcmp(name, "int") == 0) {
		*t = &df__t_int;
		return k == DF_INT     ? 0
		       : k == DF_FLOAT ? df__expr_emit(E, OP_F2I, 0)
		       : k == DF_STR
			       ? df__expr_emit(E, OP_PARSE_INT, 0)
			       : df__expr_type_error(
					 E, a, "int() takes int, float or str, found %s", x, NULL);
	}
	if (strcmp(name, "float") == 0) {
		*t = &df__t_float;
		return k == DF_FLOAT ? 0
		       : k == DF_INT ? df__expr_emit(E, OP_I2F, 0)
		       : k == DF_STR
			       ? df__expr_emit(E, OP_PARSE_FLOAT, 0)
			       : df__expr_type_error(E, a,
						     "float() takes int, float or str, found %s", x,
						     NULL);
	}
	if (strcmp(name, "abs") == 0) {
		*t = x;
		return k == DF_INT || k == DF_DUR ? df__expr_emit(E, OP_ABSI, 0)
		       : k == DF_FLOAT            ? df__expr_emit(E, OP_ABSF, 0)
				       : df__expr_type_error(E, a, "abs() takes a number, found %s",
							     x, NULL);
	}
	/* len */
	*t = &df__t_int;
	return k == DF_STR ? df__expr_emit(E, OP_LEN, 0)
	       : k == DF_LIST
		       ? df__expr_emit(E, OP_LISTLEN, 0)
		       : df__expr_type_error(E, a, "len() takes str or a list, found %s", x, NULL);
}

int df__expr_compile_call(struct ecx *E, const struct df_ast *a, struct df_type **t)
{
	struct df_type *at[3];
	const char *name = a->name;
	unsigned n = a->n;

	for (unsigned i = 0; i < n; i++)
		if (a->names[i])
			return df__error(E->cx, SD_ETYPE, a->line, a->col,
					 "%s() takes no named arguments", name);
	if (n > 3)
		return df__error(E->cx, SD_ETYPE, a->line, a->col, "too many arguments to %s()",
				 name);
	for (unsigned i = 0; i < n; i++)
		if (df__expr_compile_node(E, a->kids[i], &at[i]))
			return E->cx->err;
	if (!strcmp(name, "str") || !strcmp(name, "int") || !strcmp(name, "float") ||
	    !strcmp(name, "abs") || !strcmp(name, "len")) {
		if (n != 1)
			return df__error(E->cx, SD_ETYPE, a->line, a->col,
					 "%s() takes 1 argument, found %u", name, n);
		return compile_conv(E, a, name, at[0], t);
	}
	for (size_t i = 0; i < sizeof unit_fns / sizeof unit_fns[0]; i++) {
		const struct unit_fn *u = &unit_fns[i];
		if (strcmp(u->name, name) != 0)
			continue;
		if (n != 1)
			return df__error(E->cx, SD_ETYPE, a->line, a->col,
					 "%s() takes 1 argument, found %u", name, n);
		if (at[0]->k != u->from && !(u->from == DF_TIME && at[0]->k == DF_DUR))
			return df__expr_type_error(E, a, "wrong argument type %s: expected %s",
						   at[0], scalar_type(u->from));
		*t = scalar_type(u->to);
		return df__expr_emit(E, u->op, u->k);
	}
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
		const struct builtin *b = &builtins[i];
		if (strcmp(b->name, name) != 0)
			continue;
		if (n != b->nargs)
			return df__error(E->cx, SD_ETYPE, a->line, a->col,
					 "%s() takes %u argument%s, found %u", name, b->nargs,
					 b->nargs == 1 ? "" : "s", n);
		for (unsigned k = 0; k < n; k++)
			if (at[k]->k != b->args[k]) {
				char got[200];
				df__type_str(at[k], got, sizeof got);
				return df__error(E->cx, SD_ETYPE, a->kids[k]->line, a->kids[k]->col,
						 "argument %u of %s() is %s: expected %s", k + 1,
						 name, got, kind_names[b->args[k]]);
			}
		df__expr_stack(E, 1 - (int)n);
		if (b->ret == DF_LIST) {
			*t = df__type_list(E->cx->a, &df__t_str);
			if (!*t)
				return df__error(E->cx, SD_ENOMEM, 0, 0, "out of memory");
		} else {
			*t = scalar_type(b->ret);
		}
		return df__expr_emit(E, b->op, 0);
	}
	return df__error(E->cx, SD_ETYPE, a->line, a->col,
			 "unknown function '%s': expected one of lower, upper, trim, contains, "
			 "starts_with, ends_with, substr, len, concat, split, parse_int, "
			 "parse_float, str, int, float, abs, seconds, millis, from_seconds, "
			 "from_millis, to_seconds, to_millis",
			 name);
}
