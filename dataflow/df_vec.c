/*
 * dataflow/df_vec.c — batch-at-a-time execution of a chain's leading maps
 * and filters (internal to the task).
 *
 * A task whose chain starts with maps and filters collects up to DF_VEC_ROWS
 * input rows, runs each of those operators over the whole batch — one
 * dispatch per instruction per batch instead of per row — compacts the rows
 * a filter drops, and only then hands the surviving rows one by one to the
 * rest of the chain (df__run from the first other operator). Row order, and
 * so every output, is the same as row-at-a-time.
 *
 * The batch interpreter keeps its stack as columns (slot d of every row side
 * by side) and runs programs made only of loads, constants, stack moves,
 * forward jumps and scalar arithmetic/comparisons (nothing that allocates:
 * the vector classes of df_opc.h's table, whose arithmetic it expands);
 * other programs run the row interpreter once per row of the batch. Strings made
 * by expressions live in the task's scratch arena until the batch is done.
 *
 * Ownership: df__vec_open allocates the batch buffers (freed by
 * df__vec_close); rows handed to df__vec_add are copied as slots, their
 * strings borrowed until the next df__vec_flush, which callers run before
 * the memory they came from goes away.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_task_priv.h"

struct df_vm_rows {     /* the rows of one batch interpreter run */
	unsigned n;     /* rows in the batch */
	uint16_t *act;  /* programs with jumps: the active rows */
	uint32_t *wait; /* per row: the instruction it waits at, UINT32_MAX none */
};

/* Whether the batch interpreter runs p (scalar code only, the table's
 * vector classes): 0 no, 1 straight line, 2 with (forward) jumps. */
static int vec_ok(const struct df_prog *p)
{
	int kind = 1;
	for (uint32_t i = 0; i < p->n_code; i += df__opc_words(p->code[i] & 0xff)) {
		uint32_t op = p->code[i] & 0xff;
		switch (df__opc_vec(op)) {
		case DF_V_NO:
			return 0;
		case DF_V_JMP:
			kind = 2;
			break;
		case DF_V_COL:
		case DF_V_IMM:
			if (op == OP_RET && kind == 1)
				return 1; /* straight-line: the first RET ends the program */
			break;
		}
	}
	return kind == 2 ? 2 : 0;
}

#define COL(d) (stk + (size_t)(d)*DF_VEC_ROWS)
/* every active row r: all n rows, or act[0..n) when some rows branched off */
#define LOOP                                   \
	for (unsigned k_ = 0, r; k_ < n; k_++) \
		if ((r = act ? act[k_] : k_), 1)

/* The table's (df_opc.h) arithmetic, a column at a time: one case per
 * DF_V_COL/DF_V_IMM opcode whose shape is not DF_SH_SPECIAL. */
#define VEC_CASE(name, words, pop, push, vec, shape, in, out, sem) \
	VEC_CASE_##vec(shape, name, in, out, sem)
#define VEC_CASE_DF_V_NO(shape, name, in, out, sem)
#define VEC_CASE_DF_V_JMP(shape, name, in, out, sem)
#define VEC_CASE_DF_V_COL(shape, name, in, out, sem) VEC_##shape(name, in, out, sem)
#define VEC_CASE_DF_V_IMM(shape, name, in, out, sem) VEC_##shape(name, in, out, sem)
#define VEC_DF_SH_SPECIAL(name, in, out, sem)
#define VEC_DF_SH_BIN(name, in, out, sem) \
	case OP_##name:                   \
		VEC_BIN(in, out, sem)
#define VEC_DF_SH_DIV(name, in, out, sem)             \
	case OP_##name: {                             \
		const union df_val *y_ = COL(sp - 1); \
		LOOP if (y_[r].i == 0)                \
		{                                     \
			*why = "division by zero";    \
			return SD_EINVAL;             \
		}                                     \
	}                                             \
		VEC_BIN(in, out, sem)
#define VEC_BIN(in, out, sem)                                                    \
	{                                                                        \
		union df_val *restrict x0_ = COL(sp - 2);                        \
		const union df_val *restrict y0_ = COL(sp - 1);                  \
		LOOP                                                             \
		{                                                                \
			__typeof__(in(x0_[r])) a_ = in(x0_[r]), b_ = in(y0_[r]); \
			x0_[r].out = (sem);                                      \
		}                                                                \
		sp--;                                                            \
		break;                                                           \
	}
#define VEC_DF_SH_UN(name, in, out, sem)                        \
	case OP_##name: {                                       \
		union df_val *restrict x0_ = COL(sp - 1);       \
		LOOP                                            \
		{                                               \
			__typeof__(in(x0_[r])) x_ = in(x0_[r]); \
			x0_[r].out = (sem);                     \
		}                                               \
		break;                                          \
	}

/* The DF_V_IMM opcodes with the constant c as operand b: x[r] = x[r] OP c
 * in one pass. False for the other opcodes, and for the divisors the
 * general path must see (0 fails; -1 takes the negation branch). */
#define IMM_CASE(name, words, pop, push, vec, shape, in, out, sem) \
	IMM_CASE_##vec(shape, name, in, out, sem)
#define IMM_CASE_DF_V_NO(shape, name, in, out, sem)
#define IMM_CASE_DF_V_JMP(shape, name, in, out, sem)
#define IMM_CASE_DF_V_COL(shape, name, in, out, sem)
#define IMM_CASE_DF_V_IMM(shape, name, in, out, sem) IMM_##shape(name, in, out, sem)
#define IMM_DF_SH_BIN(name, in, out, sem) \
	case OP_##name:                   \
		IMM_BODY(in, out, sem)
#define IMM_DF_SH_DIV(name, in, out, sem)  \
	case OP_##name:                    \
		if (c.i == 0 || c.i == -1) \
			return false;      \
		IMM_BODY(in, out, sem)
#define IMM_BODY(in, out, sem)                              \
	{                                                   \
		const __typeof__(in(c)) b_ = in(c);         \
		LOOP                                        \
		{                                           \
			__typeof__(in(x[r])) a_ = in(x[r]); \
			x[r].out = (sem);                   \
		}                                           \
		return true;                                \
	}

static inline __attribute__((always_inline)) bool
const_op(uint32_t op, union df_val c, union df_val *restrict x, unsigned n, const uint16_t *act)
{
	switch ((enum df_opc)op) {
		DF_OPC_TABLE(IMM_CASE)
	default:
		return false;
	}
}

/* Rows waiting at instruction pc join the active ones; returns the next
 * instruction any row waits at (UINT32_MAX: none). */
static uint32_t vm_wake(struct df_vm_rows *R, uint32_t pc, unsigned *n)
{
	uint32_t next = UINT32_MAX;
	for (unsigned r = 0; r < R->n; r++) {
		if (R->wait[r] == pc) {
			R->wait[r] = UINT32_MAX;
			R->act[(*n)++] = (uint16_t)r;
		} else if (R->wait[r] < next) {
			next = R->wait[r];
		}
	}
	return next;
}

/* Runs p (vec_ok) over R->n rows: row r's input at in + r * is, its
 * out_width results to out + r * os. stk holds max_stack columns of
 * DF_VEC_ROWS. Programs with jumps (depth: the stack depth at each
 * instruction) run with a list of active rows: a row whose branch goes
 * elsewhere waits at its target, where it rejoins the rows that arrive by
 * falling through (their stack depths agree there: df__vm_depths). */
static inline __attribute__((always_inline)) int
vm_batch(const struct df_prog *p, const union df_val *in, unsigned is, struct df_vm_rows *R,
	 union df_val *out, unsigned os, union df_val *stk, const int32_t *depth, const char **why)
{
	const uint32_t *pc = p->code;
	unsigned sp = 0, n = R->n;
	uint16_t *act = NULL;
	uint32_t wake = UINT32_MAX;

	if (depth) {
		act = R->act;
		for (unsigned r = 0; r < n; r++) {
			act[r] = (uint16_t)r;
			R->wait[r] = UINT32_MAX;
		}
	}
	for (;;) {
		if (depth) {
			uint32_t i = (uint32_t)(pc - p->code);
			if (i == wake)
				wake = vm_wake(R, i, &n);
			if (n == 0) {
				if (wake == UINT32_MAX)
					return 0;
				pc = p->code + wake;
				continue;
			}
			if (depth[i] < 0) {
				*why = "bad program";
				return SD_EINTERNAL;
			}
			sp = (unsigned)depth[i];
		}
		uint32_t w = *pc++, a = w >> 8;
		switch ((enum df_opc)(w & 0xff)) {
			DF_OPC_TABLE(VEC_CASE)
		case OP_CONST: {
			union df_val c = p->consts[a], *d;
			/* CONST then a binary op: one pass with c in a register
			 * (not when rows join at that op) */
			if (sp > 0 && (!depth || (uint32_t)(pc - p->code) != wake) &&
			    const_op(*pc & 0xff, c, COL(sp - 1), n, act)) {
				pc++;
				break;
			}
			d = COL(sp++);
			LOOP d[r] = c;
			break;
		}
		case OP_LOAD: {
			union df_val *restrict d = COL(sp++);
			const union df_val *restrict s = in + a;
			if (is == 1 && !act)
				memcpy(d, s, n * sizeof(*d));
			else
				LOOP d[r] = s[(size_t)r * is];
			break;
		}
		case OP_POP:
			sp -= a;
			break;
		case OP_PICK: {
			uint32_t x = *pc++, off = x & 0xffff, k = x >> 16;
			if (!act)
				memmove(COL(sp - a), COL(sp - a + off),
					(size_t)k * DF_VEC_ROWS * sizeof(*stk));
			else if (off) /* each active row's own slots, lowest first */
				for (uint32_t j = 0; j < k; j++) {
					union df_val *d = COL(sp - a + j);
					const union df_val *f = COL(sp - a + off + j);
					LOOP d[r] = f[r];
				}
			sp = sp - a + k;
			break;
		}
		case OP_JMPF: { /* rows whose condition is false wait at the target */
			const union df_val *c = COL(sp - 1);
			uint32_t tgt = (uint32_t)(pc - p->code) + a;
			unsigned m = 0;
			for (unsigned k = 0; k < n; k++) {
				unsigned r = act[k];
				if (c[r].i)
					act[m++] = (uint16_t)r;
				else
					R->wait[r] = tgt;
			}
			if (m < n && tgt < wake)
				wake = tgt;
			n = m;
			sp--;
			break;
		}
		case OP_JMP: {
			uint32_t tgt = (uint32_t)(pc - p->code) + a;
			for (unsigned k = 0; k < n; k++)
				R->wait[act[k]] = tgt;
			if (n && tgt < wake)
				wake = tgt;
			n = 0;
			break;
		}
		case OP_I2F: {
			union df_val *d = COL(sp - 1 - a);
			LOOP d[r].f = (double)d[r].i;
			break;
		}
		case OP_RET:
			for (unsigned k = 0, ow = p->out_width; k < ow; k++) {
				const union df_val *restrict c = COL(sp - ow + k);
				union df_val *restrict o = out + k;
				if (os == 1 && !act)
					memcpy(o, c, n * sizeof(*o));
				else
					LOOP o[(size_t)r * os] = c[r];
			}
			if (!depth)
				return 0;
			n = 0; /* the rows waiting elsewhere still run */
			break;
		default:
			*why = "bad opcode";
			return SD_EINTERNAL;
		}
	}
}

/* The two instances: straight-line programs over every row (no active-row
 * list to consult), and programs with jumps. */
static int vm_dense(const struct df_prog *p, const union df_val *in, unsigned is,
		    struct df_vm_rows *R, union df_val *out, unsigned os, union df_val *stk,
		    const char **why)
{
	return vm_batch(p, in, is, R, out, os, stk, NULL, why);
}

static int vm_sparse(const struct df_prog *p, const union df_val *in, unsigned is,
		     struct df_vm_rows *R, union df_val *out, unsigned os, union df_val *stk,
		     const int32_t *depth, const char **why)
{
	return vm_batch(p, in, is, R, out, os, stk, depth, why);
}

int df__vec_open(struct df_task *t)
{
	const struct df_tplan *p = &t->plan;
	unsigned k = 0, stack = 0;

	if (p->n_ops && p->ops[0]->kind == P_JOIN)
		return 0;
	while (k < p->n_ops && (p->ops[k]->kind == P_MAP || p->ops[k]->kind == P_FILTER))
		k++;
	if (k == 0)
		return 0;
	for (unsigned i = 0; i < k; i++) {
		const struct df_pop_spec *s = p->ops[i];
		bool interp = !(s->kind == P_MAP && (t->ident[i] || t->proj[i]));
		t->vec_prog[i] = interp ? (uint8_t)vec_ok(s->prog) : 0;
		if (t->vec_prog[i] && s->prog->max_stack > stack)
			stack = s->prog->max_stack;
		if (t->vec_prog[i] == 2) {
			if (!(t->vdepth[i] = malloc(sizeof(int32_t) * (s->prog->n_code + 1))))
				return SD_ENOMEM;
			if (!df__vm_depths(s->prog, t->vdepth[i]))
				t->vec_prog[i] = 0;
		}
		if (!(t->vbuf[i] = malloc((size_t)DF_VEC_ROWS * (s->out_width + 1) *
					  sizeof(union df_val))))
			return SD_ENOMEM;
	}
	t->vin = malloc((size_t)DF_VEC_ROWS * (p->ops[0]->in_width + 1) * sizeof(union df_val));
	t->vts = malloc(DF_VEC_ROWS * sizeof(int64_t));
	t->vstk = malloc((size_t)DF_VEC_ROWS * (stack + 1) * sizeof(union df_val));
	t->vact = malloc(DF_VEC_ROWS * sizeof(*t->vact));
	t->vwait = malloc(DF_VEC_ROWS * sizeof(*t->vwait));
	if (!t->vin || !t->vts || !t->vstk || !t->vact || !t->vwait)
		return SD_ENOMEM;
	t->vec_ops = k;
	return 0;
}

void df__vec_close(struct df_task *t)
{
	for (unsigned i = 0; i < DF_OPS_MAX; i++) {
		free(t->vbuf[i]);
		free(t->vdepth[i]);
	}
	free(t->vact);
	free(t->vwait);
	free(t->vin);
	free(t->vts);
	free(t->vstk);
}

/* Runs operator i over the batch [cur, n rows of width w]; returns the rows
 * it leaves (written to *cur, *w) or a negative error. */
static int vec_op(struct df_task *t, unsigned i, union df_val **cur, unsigned *w, unsigned n)
{
	const struct df_pop_spec *s = t->plan.ops[i];
	union df_val *in = *cur, *out = t->vbuf[i];
	unsigned iw = *w, ow = s->kind == P_FILTER ? 1 : s->out_width, m = 0;
	const char *why = "";
	int rc = 0;

	if (s->kind == P_MAP && t->ident[i])
		return (int)n;
	if (s->kind == P_MAP && t->proj[i]) {
		for (unsigned r = 0; r < n; r++)
			for (unsigned k = 0; k < ow; k++)
				out[(size_t)r * ow + k] = in[(size_t)r * iw + t->proj[i][k]];
	} else if (t->vec_prog[i]) {
		struct df_vm_rows R = {n, t->vact, t->vwait};
		rc = t->vec_prog[i] == 2
			     ? vm_sparse(s->prog, in, iw, &R, out, ow, t->vstk, t->vdepth[i], &why)
			     : vm_dense(s->prog, in, iw, &R, out, ow, t->vstk, &why);
	} else {
		for (unsigned r = 0; r < n && !rc; r++)
			rc = df__vm_run(s->prog, in + (size_t)r * iw, out + (size_t)r * ow,
					&t->scratch, &why);
	}
	if (rc)
		return df__task_fail(t, rc, "stage %u operator %u: %s", t->plan.stage, i, why);
	if (s->kind == P_MAP) {
		*cur = out;
		*w = ow;
		return (int)n;
	}
	for (unsigned r = 0; r < n; r++) { /* filter: keep the rows it passes, in order */
		if (!out[r].i)
			continue;
		if (m != r) {
			if (iw == 1)
				in[m] = in[r];
			else
				memcpy(in + (size_t)m * iw, in + (size_t)r * iw, iw * sizeof(*in));
			t->vts[m] = t->vts[r];
		}
		m++;
	}
	return (int)m;
}

int df__vec_flush(struct df_task *t)
{
	union df_val *cur = t->vin;
	unsigned w = t->plan.ops[0]->in_width, n = t->vn;
	int m = (int)n;

	t->vn = 0;
	for (unsigned i = 0; i < t->vec_ops && m > 0; i++)
		if ((m = vec_op(t, i, &cur, &w, (unsigned)m)) < 0)
			return t->err;
	for (int r = 0; r < m; r++)
		if (df__run(t, t->vec_ops, cur + (size_t)r * w, t->vts[r]))
			return t->err;
	if (t->pend_ops && df__op_drain(t))
		return t->err;
	df__arena_reset(&t->scratch);
	t->scratch_rows = 0;
	return 0;
}
