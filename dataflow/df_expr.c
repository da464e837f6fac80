/*
 * dataflow/df_expr.c — type checking and bytecode generation for lambdas.
 *
 * Types are inferred bottom-up: a lambda's parameter types come from the
 * stream it is applied to, every subexpression gets its type from its parts,
 * and code is emitted in the same walk. Compound values (tuples, records)
 * occupy several stack slots, one per scalar, so field access on a parameter
 * is a plain LOAD of the right slot. Jumps only go forward: every program
 * runs in time linear in its length.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_expr_priv.h"

int df__expr_type_error(struct ecx *E, const struct df_ast *a, const char *fmt,
			const struct df_type *t1, const struct df_type *t2)
{
	char b1[200] = "", b2[200] = "";
	if (t1)
		df__type_str(t1, b1, sizeof b1);
	if (t2)
		df__type_str(t2, b2, sizeof b2);
	return df__error(E->cx, SD_ETYPE, a->line, a->col, fmt, b1, b2);
}

void df__expr_stack(struct ecx *E, int d)
{
	E->depth += d;
	if (E->depth > E->max)
		E->max = E->depth;
}

static int emit_word(struct ecx *E, uint32_t w)
{
	if (E->n == E->cap) {
		unsigned cap = E->cap ? E->cap * 2 : 64;
		uint32_t *nc;
		if (cap > DF_CODE_MAX)
			return df__error(E->cx, SD_ELIMIT, E->at->line, E->at->col,
					 "expression too large: more than %u instructions",
					 DF_CODE_MAX);
		nc = df__arena_alloc(E->cx->a, cap * sizeof(*nc));
		if (!nc)
			return df__error(E->cx, SD_ENOMEM, 0, 0, "out of memory");
		if (E->n)
			memcpy(nc, E->code, E->n * sizeof(*nc));
		E->code = nc;
		E->cap = cap;
	}
	E->code[E->n++] = w;
	return 0;
}

int df__expr_emit(struct ecx *E, enum df_opc op, uint32_t a)
{
	assert(a < (1u << 24));
	return emit_word(E, (uint32_t)op | a << 8);
}

static int emit_const(struct ecx *E, enum df_tk k, union df_val v)
{
	if (E->nc == E->ccap) {
		unsigned cap = E->ccap ? E->ccap * 2 : 8;
		if (cap > DF_CODE_MAX)
			return df__error(E->cx, SD_ELIMIT, E->at->line, E->at->col,
					 "expression too large: more than %u constants",
					 DF_CODE_MAX);
		union df_val *nv = df__arena_alloc(E->cx->a, cap * sizeof(*nv));
		uint8_t *nk = df__arena_alloc(E->cx->a, cap);
		if (!nv || !nk)
			return df__error(E->cx, SD_ENOMEM, 0, 0, "out of memory");
		if (E->nc) {
			memcpy(nv, E->consts, E->nc * sizeof(*nv));
			memcpy(nk, E->ckinds, E->nc);
		}
		E->consts = nv;
		E->ckinds = nk;
		E->ccap = cap;
	}
	E->consts[E->nc] = v;
	E->ckinds[E->nc] = (uint8_t)k;
	df__expr_stack(E, 1);
	return df__expr_emit(E, OP_CONST, E->nc++);
}

static bool numeric(const struct df_type *t)
{
	return t->k == DF_INT || t->k == DF_FLOAT;
}

/* Resolves `param.field.field` to a slot range without computing the whole value. */
static bool path_slot_at(struct ecx *E, const struct df_ast *a, struct df_type **t, unsigned *off,
			 unsigned depth);

static bool path_slot(struct ecx *E, const struct df_ast *a, struct df_type **t, unsigned *off)
{
	return path_slot_at(E, a, t, off, 0);
}

/* depth bounds the walk down a field chain (a.b.c...) as long as the text. */
static bool path_slot_at(struct ecx *E, const struct df_ast *a, struct df_type **t, unsigned *off,
			 unsigned depth)
{
	if (a->k == A_IDENT) {
		for (unsigned i = E->np; i-- > 0;)
			if (strcmp(E->pnames[i], a->name) == 0) {
				*t = E->ptypes[i];
				*off = E->poff[i];
				return true;
			}
		return false;
	}
	if (a->k != A_FIELD || depth > DF_NEST_MAX ||
	    !path_slot_at(E, a->kids[0], t, off, depth + 1))
		return false;
	struct df_type *pt = *t;
	if (pt->k != DF_TUPLE && pt->k != DF_RECORD)
		return false;
	for (unsigned i = 0; i < pt->n; i++) {
		bool hit = a->name ? (pt->k == DF_RECORD && strcmp(pt->names[i], a->name) == 0)
				   : (int64_t)i == a->ival;
		if (hit) {
			*off += df__type_offset(pt, i);
			*t = pt->el[i];
			return true;
		}
	}
	return false;
}

static int field_error(struct ecx *E, const struct df_ast *a, const struct df_type *pt)
{
	char b[200];
	df__type_str(pt, b, sizeof b);
	if (a->name)
		return df__error(E->cx, SD_ETYPE, a->line, a->col, "no field '%s' in %s", a->name,
				 b);
	return df__error(E->cx, SD_ETYPE, a->line, a->col, "no element %lld in %s",
			 (long long)a->ival, b);
}

static int compile_field(struct ecx *E, const struct df_ast *a, struct df_type **t)
{
	unsigned off;
	struct df_type *pt;

	if (path_slot(E, a, t, &off)) {
		for (unsigned i = 0; i < (*t)->width; i++)
			if (df__expr_emit(E, OP_LOAD, off + i))
				return E->cx->err;
		df__expr_stack(E, (*t)->width);
		return 0;
	}
	if (df__expr_compile_node(E, a->kids[0], &pt))
		return E->cx->err;
	if (pt->k != DF_TUPLE && pt->k != DF_RECORD)
		return df__expr_type_error(E, a, "field access on %s: expected a record or tuple",
					   pt, NULL);
	for (unsigned i = 0; i < pt->n; i++) {
		bool hit = a->name ? (pt->k == DF_RECORD && strcmp(pt->names[i], a->name) == 0)
				   : (int64_t)i == a->ival;
		if (hit) {
			*t = pt->el[i];
			if (df__expr_emit(E, OP_PICK, pt->width) ||
			    emit_word(E, df__type_offset(pt, i) | (uint32_t)(*t)->width << 16))
				return E->cx->err;
			df__expr_stack(E, (int)(*t)->width - (int)pt->width);
			return 0;
		}
	}
	return field_error(E, a, pt);
}

/* Makes both operands float when one is; the left one sits below the right. */
static struct df_type *unify_num(struct ecx *E, struct df_type *l, struct df_type *r)
{
	if (l->k == DF_FLOAT && r->k == DF_INT) {
		df__expr_emit(E, OP_I2F, 0);
		return &df__t_float;
	}
	if (l->k == DF_INT && r->k == DF_FLOAT) {
		df__expr_emit(E, OP_I2F, 1);
		return &df__t_float;
	}
	return l;
}

static int compile_arith(struct ecx *E, const struct df_ast *a, struct df_type *l,
			 struct df_type *r, struct df_type **t)
{
	enum df_tok op = a->op;
	enum df_opc code;

	df__expr_stack(E, -1);
	if (numeric(l) && numeric(r)) {
		bool f = unify_num(E, l, r)->k == DF_FLOAT;
		static const enum df_opc iops[] = {OP_ADDI, OP_SUBI, OP_MULI, OP_DIVI, OP_MODI};
		static const enum df_opc fops[] = {OP_ADDF, OP_SUBF, OP_MULF, OP_DIVF, OP_COUNT_};
		code = (f ? fops : iops)[op - T_PLUS];
		if (code == OP_COUNT_)
			return df__expr_type_error(E, a, "'%%' needs int operands, found float",
						   NULL, NULL);
		*t = f ? &df__t_float : &df__t_int;
		return df__expr_emit(E, code, 0);
	}
	if (l->k == DF_STR && r->k == DF_STR && op == T_PLUS) {
		*t = &df__t_str;
		return df__expr_emit(E, OP_CONCAT, 0);
	}
	/* time and duration arithmetic on the underlying µs */
	if (op == T_PLUS &&
	    ((l->k == DF_TIME && r->k == DF_DUR) || (l->k == DF_DUR && r->k == DF_TIME) ||
	     (l->k == DF_DUR && r->k == DF_DUR))) {
		*t = (l->k == DF_TIME || r->k == DF_TIME) ? &df__t_time : &df__t_dur;
		return df__expr_emit(E, OP_ADDI, 0);
	}
	if (op == T_MINUS && (l->k == DF_TIME || l->k == DF_DUR) &&
	    (r->k == DF_DUR || (r->k == DF_TIME && l->k == DF_TIME))) {
		*t = (l->k == DF_TIME && r->k == DF_DUR) ? &df__t_time : &df__t_dur;
		return df__expr_emit(E, OP_SUBI, 0);
	}
	if ((op == T_STAR || op == T_SLASH) && l->k == DF_DUR && r->k == DF_INT) {
		*t = &df__t_dur;
		return df__expr_emit(E, op == T_STAR ? OP_MULI : OP_DIVI, 0);
	}
	return df__expr_type_error(E, a, "operator cannot combine %s and %s", l, r);
}

static int compile_cmp(struct ecx *E, const struct df_ast *a, struct df_type *l, struct df_type *r,
		       struct df_type **t)
{
	unsigned k = (unsigned)(a->op - T_EQ);
	enum df_opc base;

	df__expr_stack(E, -1);
	*t = &df__t_bool;
	if (numeric(l) && numeric(r)) {
		base = unify_num(E, l, r)->k == DF_FLOAT ? OP_EQF : OP_EQI;
	} else if (l->k == r->k && (l->k == DF_TIME || l->k == DF_DUR)) {
		base = OP_EQI;
	} else if (l->k == DF_STR && r->k == DF_STR) {
		base = OP_EQS;
	} else if (l->k == DF_BOOL && r->k == DF_BOOL && k <= 1) {
		base = OP_EQI;
	} else {
		return df__expr_type_error(E, a, "cannot compare %s with %s", l, r);
	}
	return df__expr_emit(E, (enum df_opc)(base + k), 0);
}

/* `a && b` and `a || b` short-circuit with forward jumps. */
static int compile_logic(struct ecx *E, const struct df_ast *a, struct df_type **t)
{
	struct df_type *l, *r;
	unsigned j1, j2;

	if (df__expr_compile_node(E, a->kids[0], &l))
		return E->cx->err;
	if (l->k != DF_BOOL)
		return df__expr_type_error(
			E, a->kids[0], "expected bool on the left of a logical operator, found %s",
			l, NULL);
	if (a->op == T_OR && df__expr_emit(E, OP_NOT, 0))
		return E->cx->err;
	j1 = E->n;
	df__expr_stack(E, -1);
	if (df__expr_emit(E, OP_JMPF, 0) || df__expr_compile_node(E, a->kids[1], &r))
		return E->cx->err;
	if (r->k != DF_BOOL)
		return df__expr_type_error(
			E, a->kids[1], "expected bool on the right of a logical operator, found %s",
			r, NULL);
	j2 = E->n;
	if (df__expr_emit(E, OP_JMP, 0))
		return E->cx->err;
	E->code[j1] = OP_JMPF | (E->n - j1 - 1) << 8;
	df__expr_stack(E, -1);
	if (emit_const(E, DF_BOOL, (union df_val){.i = a->op == T_OR}))
		return E->cx->err;
	E->code[j2] = OP_JMP | (E->n - j2 - 1) << 8;
	*t = &df__t_bool;
	return 0;
}

static int compile_if(struct ecx *E, const struct df_ast *a, struct df_type **t)
{
	struct df_type *c, *y, *n;
	unsigned j1, j2;

	if (df__expr_compile_node(E, a->kids[0], &c))
		return E->cx->err;
	if (c->k != DF_BOOL)
		return df__expr_type_error(E, a->kids[0],
					   "the condition of 'if' must be bool, found %s", c, NULL);
	df__expr_stack(E, -1);
	j1 = E->n;
	if (df__expr_emit(E, OP_JMPF, 0) || df__expr_compile_node(E, a->kids[1], &y))
		return E->cx->err;
	j2 = E->n;
	if (df__expr_emit(E, OP_JMP, 0))
		return E->cx->err;
	E->code[j1] = OP_JMPF | (E->n - j1 - 1) << 8;
	df__expr_stack(E, -(int)y->width);
	if (df__expr_compile_node(E, a->kids[2], &n))
		return E->cx->err;
	if (!df__type_eq(y, n))
		return df__expr_type_error(E, a->kids[2], "the branches of 'if' differ: %s and %s",
					   y, n);
	E->code[j2] = OP_JMP | (E->n - j2 - 1) << 8;
	*t = y;
	return 0;
}

static int compile_seq(struct ecx *E, const struct df_ast *a, struct df_type **t)
{
	struct df_type *el[DF_TUPLE_MAX];

	for (unsigned i = 0; i < a->n; i++) {
		if (df__expr_compile_node(E, a->kids[i], &el[i]))
			return E->cx->err;
		if (el[i]->k == DF_LIST && a->k != A_LIST)
			return df__expr_type_error(E, a->kids[i],
						   "a list cannot be stored in a tuple or record",
						   NULL, NULL);
	}
	if (a->k == A_LIST) {
		if (a->n == 0)
			return df__expr_type_error(
				E, a, "empty list: its element type cannot be inferred", NULL,
				NULL);
		for (unsigned i = 1; i < a->n; i++)
			if (!df__type_eq(el[0], el[i]))
				return df__expr_type_error(E, a->kids[i],
							   "list elements differ: %s and %s", el[0],
							   el[i]);
		*t = df__type_list(E->cx->a, el[0]);
		if (!*t)
			return df__error(E->cx, SD_ENOMEM, 0, 0, "out of memory");
		df__expr_stack(E, 1 - (int)(el[0]->width * a->n));
		if (df__expr_emit(E, OP_MKLIST, a->n) || emit_word(E, el[0]->width))
			return E->cx->err;
		return 0;
	}
	*t = a->k == A_RECORD ? df__type_record(E->cx->a, el, a->names, a->n)
			      : df__type_tuple(E->cx->a, el, a->n);
	if (!*t)
		return df__error(E->cx, SD_ELIMIT, a->line, a->col, "value too wide");
	return 0;
}

int df__expr_compile_node(struct ecx *E, const struct df_ast *a, struct df_type **t)
{
	struct df_type *l, *r;
	int rc = 0;

	if (++E->nest > DF_NEST_MAX)
		return df__error(E->cx, SD_ETYPE, a->line, a->col,
				 "expression nested too deeply (limit %d)", DF_NEST_MAX);
	E->at = a;
	switch (a->k) {
	case A_INT:
	case A_DUR:
		*t = a->k == A_INT ? &df__t_int : &df__t_dur;
		rc = emit_const(E, (*t)->k, (union df_val){.i = a->ival});
		break;
	case A_BOOL:
		*t = &df__t_bool;
		rc = emit_const(E, DF_BOOL, (union df_val){.i = a->ival});
		break;
	case A_FLOAT:
		*t = &df__t_float;
		rc = emit_const(E, DF_FLOAT, (union df_val){.f = a->fval});
		break;
	case A_STR:
		*t = &df__t_str;
		rc = emit_const(E, DF_STR, (union df_val){.s = {a->sval, a->slen}});
		break;
	case A_IDENT:
	case A_FIELD:
		if (a->k == A_IDENT) {
			unsigned off;
			if (!path_slot(E, a, t, &off))
				return df__error(E->cx, SD_ETYPE, a->line, a->col,
						 "unknown name '%s'%s", a->name,
						 E->np ? "" : ": expected a lambda like x -> ...");
		}
		rc = compile_field(E, a, t);
		break;
	case A_BINOP:
		if (a->op == T_AND || a->op == T_OR) {
			rc = compile_logic(E, a, t);
			break;
		}
		if (df__expr_compile_node(E, a->kids[0], &l) ||
		    df__expr_compile_node(E, a->kids[1], &r))
			return E->cx->err;
		if (!df__type_scalar(l) || !df__type_scalar(r))
			return df__expr_type_error(
				E, a, "operators work on scalars, found %s and %s", l, r);
		rc = a->op >= T_EQ ? compile_cmp(E, a, l, r, t) : compile_arith(E, a, l, r, t);
		break;
	case A_UNOP:
		if (df__expr_compile_node(E, a->kids[0], &l))
			return E->cx->err;
		*t = l;
		if (a->op == T_NOT && l->k == DF_BOOL)
			rc = df__expr_emit(E, OP_NOT, 0);
		else if (a->op == T_MINUS && (l->k == DF_INT || l->k == DF_DUR))
			rc = df__expr_emit(E, OP_NEGI, 0);
		else if (a->op == T_MINUS && l->k == DF_FLOAT)
			rc = df__expr_emit(E, OP_NEGF, 0);
		else
			rc = df__expr_type_error(E, a,
						 a->op == T_NOT ? "'!' needs bool, found %s"
								: "'-' needs a number, found %s",
						 l, NULL);
		break;
	case A_IF:
		rc = compile_if(E, a, t);
		break;
	case A_TUPLE:
	case A_RECORD:
	case A_LIST:
		rc = compile_seq(E, a, t);
		break;
	case A_CALL:
	case A_METHOD:
		rc = df__expr_compile_call(E, a, t);
		break;
	case A_LAMBDA:
		rc = df__error(E->cx, SD_ETYPE, a->line, a->col,
			       "a lambda cannot appear inside an expression");
		break;
	case A_ANNOT:
		rc = df__error(E->cx, SD_ETYPE, a->line, a->col,
			       "annotations belong on stages, not inside expressions");
		break;
	}
	E->nest--;
	return rc ? rc : E->cx->err;
}

int df__expr_compile(struct df_cx *cx, const struct df_ast *lam, struct df_type *const *ptypes,
		     unsigned nparams, struct df_prog **out, struct df_type **rtype)
{
	struct ecx E = {.cx = cx, .at = lam};
	struct df_type *tmp[DF_TUPLE_MAX];
	const struct df_ast *body = lam;
	unsigned in_width = 0;

	if (lam->k == A_LAMBDA) {
		unsigned k = lam->n;
		body = lam->kids[0];
		if (k == nparams) {
			memcpy(tmp, ptypes, sizeof(*tmp) * k);
		} else if (nparams == 1 && k > 1 && ptypes[0]->k == DF_TUPLE && ptypes[0]->n == k) {
			memcpy(tmp, ptypes[0]->el, sizeof(*tmp) * k); /* (a, b) -> over a pair */
		} else {
			return df__error(cx, SD_ETYPE, lam->line, lam->col,
					 "this lambda takes %u parameter%s but receives %u value%s",
					 k, k == 1 ? "" : "s", nparams, nparams == 1 ? "" : "s");
		}
		E.np = k;
		E.pnames = lam->names;
		E.ptypes = tmp;
		for (unsigned i = 0; i < k; i++) {
			E.poff[i] = in_width;
			in_width += tmp[i]->width;
		}
	} else if (nparams) {
		return df__error(cx, SD_ETYPE, lam->line, lam->col,
				 "expected a lambda like x -> ...");
	}
	if (df__expr_compile_node(&E, body, rtype) || df__expr_emit(&E, OP_RET, 0))
		return cx->err ? cx->err : SD_ETYPE;
	assert(E.depth == (int)(*rtype)->width);
	struct df_prog *p = df__arena_alloc(cx->a, sizeof(*p));
	if (!p)
		return df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
	if (E.max > DF_STACK_MAX)
		return df__error(cx, SD_ELIMIT, body->line, body->col,
				 "expression needs too much stack");
	p->code = E.code;
	p->n_code = E.n;
	p->consts = E.consts;
	p->const_kinds = E.ckinds;
	p->n_consts = E.nc;
	p->in_width = (uint16_t)in_width;
	p->out_width = (*rtype)->width;
	p->max_stack = (uint16_t)(E.max + 1);
	*out = p;
	return 0;
}

struct df_prog *df__prog_project(struct df_arena *a, unsigned in_width, const uint16_t *slots,
				 unsigned n)
{
	struct df_prog *p = df__arena_alloc(a, sizeof(*p));
	if (!p || !(p->code = df__arena_alloc(a, (n + 1) * sizeof(uint32_t))))
		return NULL;
	for (unsigned i = 0; i < n; i++)
		p->code[i] = OP_LOAD | (uint32_t)slots[i] << 8;
	p->code[n] = OP_RET;
	p->n_code = n + 1;
	p->in_width = (uint16_t)in_width;
	p->out_width = (uint16_t)n;
	p->max_stack = (uint16_t)(n + 1);
	return p;
}
