/*
 * dataflow/df_expr_priv.h — the expression compiler's state, shared by
 * df_expr.c (the walk: names, fields, operators, control flow) and
 * df_builtins.c (calls of built-in functions). Not public: the rest of
 * dataflow/ calls df__expr_compile (df_priv.h).
 *
 * One struct ecx lives on df__expr_compile's stack for one lambda; the code
 * and constants it collects are allocated in the compile context's arena
 * and end up owned by the program it returns.
 */
#ifndef SD_DATAFLOW_EXPR_PRIV_H
#define SD_DATAFLOW_EXPR_PRIV_H

#include "dataflow/df_priv.h"

struct ecx {
	struct df_cx *cx;
	uint32_t *code;
	unsigned n, cap;
	union df_val *consts;
	uint8_t *ckinds;
	unsigned nc, ccap;
	int depth, max;
	const char **pnames;
	struct df_type **ptypes;
	unsigned poff[DF_TUPLE_MAX];
	unsigned np, nest;
	const struct df_ast *at; /* the node being compiled: where a limit error points */
};

/* df_expr.c */
/* An SD_ETYPE error at a; fmt has a %s for each of t1 and t2 given. */
int df__expr_type_error(struct ecx *E, const struct df_ast *a, const char *fmt,
			const struct df_type *t1, const struct df_type *t2);
/* Tracks the stack depth the code reaches after an instruction moving it by d. */
void df__expr_stack(struct ecx *E, int d);
/* Appends instruction op with operand a (< 2^24). */
int df__expr_emit(struct ecx *E, enum df_opc op, uint32_t a);
/* Compiles expression a, its type into *t. */
int df__expr_compile_node(struct ecx *E, const struct df_ast *a, struct df_type **t);

/* df_builtins.c: f(x, ...) and x.f(...) of the built-in functions */
int df__expr_compile_call(struct ecx *E, const struct df_ast *a, struct df_type **t);

#endif /* SD_DATAFLOW_EXPR_PRIV_H */
