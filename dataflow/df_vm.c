/*
 * dataflow/df_vm.c — the expression interpreter: a stack machine over
 * untagged 16-byte slots (types were checked at compile time).
 *
 * A program reads its input slots, pushes and pops, and returns its top
 * out_width slots. Strings it makes live in the caller's scratch arena; the
 * caller resets it once per batch. Jumps only go forward, so a run costs at
 * most one step per instruction. df__vm_check() validates decoded programs
 * (plans come over the network) so the interpreter itself needs no checks
 * beyond those it makes on data (division by zero, bad substr ranges).
 *
 * What each opcode does is df_opc.h's table: the arithmetic cases below,
 * and the checker's stack effects, are expanded from it; only the opcodes
 * of shape DF_SH_SPECIAL (stack moves, jumps, allocation) are written here.
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_priv.h"

static int64_t vm_parse_int(union df_val s)
{
	char buf[32];
	uint32_t n = s.s.n;
	while (n && isspace((unsigned char)s.s.p[n - 1]))
		n--;
	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, s.s.p, n);
	buf[n] = 0;
	return strtoll(buf, NULL, 10);
}

static double vm_parse_float(union df_val s)
{
	char buf[64];
	uint32_t n = s.s.n;
	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, s.s.p, n);
	buf[n] = 0;
	return strtod(buf, NULL);
}

static int split_byte(union df_val *sp, struct df_arena *A, char c)
{
	const char *p = sp[-2].s.p, *end = p + sp[-2].s.n, *q;
	uint32_t cap = sp[-2].s.n / 4 + 4, k = 0;
	union df_val *v = df__arena_alloc(A, sizeof(*v) * cap);

	if (!v)
		return SD_ENOMEM;
	for (;; p = q + 1) {
		q = p < end ? memchr(p, c, (size_t)(end - p)) : NULL;
		if (k == cap) { /* at most n + 1 pieces: grows a bounded number of times */
			union df_val *nv = df__arena_alloc(A, sizeof(*v) * cap * 2);
			if (!nv)
				return SD_ENOMEM;
			memcpy(nv, v, sizeof(*v) * cap);
			v = nv;
			cap *= 2;
		}
		v[k].s.p = p;
		v[k++].s.n = (uint32_t)((q ? q : end) - p);
		if (!q)
			break;
	}
	sp[-2].l.p = v;
	sp[-2].l.n = k;
	return 0;
}

static int op_split(union df_val *sp, struct df_arena *A)
{
	union df_val s = sp[-2], sep = sp[-1], *v;
	uint32_t cnt = 1, k = 0;
	const char *p = s.s.p, *end = s.s.p + s.s.n;

	if (sep.s.n == 0) {
		v = df__arena_alloc(A, sizeof(*v));
		if (!v)
			return SD_ENOMEM;
		v[0] = s;
		sp[-2].l.p = v;
		sp[-2].l.n = 1;
		return 0;
	}
	if (sep.s.n == 1) /* one pass with a guess, grown when a line has more pieces */
		return split_byte(sp, A, sep.s.p[0]);
	cnt = s.s.n / sep.s.n + 1;
	v = df__arena_alloc(A, sizeof(*v) * cnt);
	if (!v)
		return SD_ENOMEM;
	for (;;) {
		const char *q = NULL;
		if (sep.s.n == 1)
			q = memchr(p, sep.s.p[0], (size_t)(end - p));
		else
			for (const char *r = p; r + sep.s.n <= end; r++)
				if (memcmp(r, sep.s.p, sep.s.n) == 0) {
					q = r;
					break;
				}
		if (!q) {
			v[k].s.p = p;
			v[k++].s.n = (uint32_t)(end - p);
			break;
		}
		v[k].s.p = p;
		v[k++].s.n = (uint32_t)(q - p);
		p = q + sep.s.n;
	}
	sp[-2].l.p = v;
	sp[-2].l.n = k;
	return 0;
}

static int op_case(union df_val *x, struct df_arena *A, bool upper)
{
	char *o;
	uint32_t i, n = x->s.n;
	const char *p = x->s.p;
	/* fast path: nothing to change means no copy */
	for (i = 0; i < n; i++)
		if (upper ? islower((unsigned char)p[i]) : isupper((unsigned char)p[i]))
			break;
	if (i == n)
		return 0;
	if (!(o = df__arena_alloc(A, n)))
		return SD_ENOMEM;
	memcpy(o, p, i);
	for (; i < n; i++)
		o[i] = (char)(upper ? toupper((unsigned char)p[i]) : tolower((unsigned char)p[i]));
	x->s.p = o;
	return 0;
}

static int op_concat(union df_val *sp, struct df_arena *A)
{
	union df_val a = sp[-2], b = sp[-1];
	char *o = df__arena_alloc(A, (size_t)a.s.n + b.s.n + 1);
	if (!o)
		return SD_ENOMEM;
	if (a.s.n)
		memcpy(o, a.s.p, a.s.n);
	if (b.s.n)
		memcpy(o + a.s.n, b.s.p, b.s.n);
	sp[-2].s.p = o;
	sp[-2].s.n = a.s.n + b.s.n;
	return 0;
}

static int op_tostr(union df_val *x, struct df_arena *A, bool is_float)
{
	char buf[40];
	int n = is_float ? snprintf(buf, sizeof buf, "%.17g", x->f)
			 : snprintf(buf, sizeof buf, "%lld", (long long)x->i);
	char *o = df__arena_strndup(A, buf, (size_t)n);
	if (!o)
		return SD_ENOMEM;
	x->s.p = o;
	x->s.n = (uint32_t)n;
	return 0;
}

static void op_substr(union df_val *sp)
{
	union df_val s = sp[-3];
	int64_t st = sp[-2].i, n = sp[-1].i;
	if (st < 0)
		st = 0;
	if (st > s.s.n)
		st = s.s.n;
	if (n < 0)
		n = 0;
	if (n > s.s.n - st)
		n = s.s.n - st;
	sp[-3].s.p = s.s.p + st;
	sp[-3].s.n = (uint32_t)n;
}

static bool vm_has_sub(union df_val h, union df_val n, int where)
{
	if (n.s.n > h.s.n)
		return false;
	if (n.s.n == 0)
		return true;
	if (where < 0)
		return memcmp(h.s.p, n.s.p, n.s.n) == 0;
	if (where > 0)
		return memcmp(h.s.p + h.s.n - n.s.n, n.s.p, n.s.n) == 0;
	for (uint32_t i = 0; i + n.s.n <= h.s.n; i++)
		if (memcmp(h.s.p + i, n.s.p, n.s.n) == 0)
			return true;
	return false;
}

/* The cases of the table's arithmetic (df_opc.h), one per shape; the
 * DF_SH_SPECIAL ones are written out in df__vm_run. */
#define RUN_CASE(name, words, pop, push, vec, shape, in, out, sem) RUN_##shape(name, in, out, sem)
#define RUN_DF_SH_SPECIAL(name, in, out, sem)
#define RUN_DF_SH_BIN(name, in, out, sem) \
	case OP_##name:                   \
		RUN_BIN(in, out, sem)
#define RUN_DF_SH_DIV(name, in, out, sem)          \
	case OP_##name:                            \
		if (sp[-1].i == 0) {               \
			*why = "division by zero"; \
			return SD_EINVAL;          \
		}                                  \
		RUN_BIN(in, out, sem)
#define RUN_BIN(in, out, sem)                                            \
	{                                                                \
		__typeof__(in(sp[-2])) a_ = in(sp[-2]), b_ = in(sp[-1]); \
		sp[-2].out = (sem);                                      \
		sp--;                                                    \
		break;                                                   \
	}
#define RUN_DF_SH_UN(name, in, out, sem)                \
	case OP_##name: {                               \
		__typeof__(in(sp[-1])) x_ = in(sp[-1]); \
		sp[-1].out = (sem);                     \
		break;                                  \
	}

int df__vm_run(const struct df_prog *p, const union df_val *in, union df_val *out,
	       struct df_arena *A, const char **why)
{
	union df_val stk[DF_STACK_MAX + 1], *sp = stk;
	const uint32_t *pc = p->code;
	int rc = 0;

	for (;;) {
		uint32_t w = *pc++, a = w >> 8;
		switch ((enum df_opc)(w & 0xff)) {
			DF_OPC_TABLE(RUN_CASE)
		case OP_CONST:
			*sp++ = p->consts[a];
			break;
		case OP_LOAD:
			*sp++ = in[a];
			break;
		case OP_POP:
			sp -= a;
			break;
		case OP_PICK: {
			uint32_t x = *pc++, off = x & 0xffff, n = x >> 16;
			memmove(sp - a, sp - a + off, n * sizeof(*sp));
			sp = sp - a + n;
			break;
		}
		case OP_JMP:
			pc += a;
			break;
		case OP_JMPF:
			if (!(--sp)->i)
				pc += a;
			break;
		case OP_I2F:
			sp[-1 - (int)a].f = (double)sp[-1 - (int)a].i;
			break;
		case OP_LOWER:
			rc = op_case(&sp[-1], A, false);
			break;
		case OP_UPPER:
			rc = op_case(&sp[-1], A, true);
			break;
		case OP_TRIM:
			while (sp[-1].s.n && isspace((unsigned char)sp[-1].s.p[0]))
				sp[-1].s.p++, sp[-1].s.n--;
			while (sp[-1].s.n && isspace((unsigned char)sp[-1].s.p[sp[-1].s.n - 1]))
				sp[-1].s.n--;
			break;
		case OP_SUBSTR:
			op_substr(sp);
			sp -= 2;
			break;
		case OP_CONCAT:
			rc = op_concat(sp, A);
			sp--;
			break;
		case OP_SPLIT:
			rc = op_split(sp, A);
			sp--;
			break;
		case OP_I2S:
			rc = op_tostr(&sp[-1], A, false);
			break;
		case OP_F2S:
			rc = op_tostr(&sp[-1], A, true);
			break;
		case OP_MKLIST: {
			uint32_t wd = *pc++, n = a * wd;
			union df_val *v = df__arena_alloc(A, sizeof(*v) * (n ? n : 1));
			if (!v) {
				rc = SD_ENOMEM;
				break;
			}
			memcpy(v, sp - n, n * sizeof(*v));
			sp -= n;
			sp->l.p = v;
			sp->l.n = a;
			sp++;
			break;
		}
		case OP_RET:
			if (p->out_width == 1) { /* the common case, without a memcpy call */
				out[0] = sp[-1];
				return 0;
			}
			for (unsigned k = 0, ow = p->out_width; k < ow; k++)
				out[k] = sp[(int)k - (int)ow];
			return 0;
		case OP_COUNT_:
		default:
			*why = "bad opcode";
			return SD_EINTERNAL;
		}
		if (rc) {
			*why = "out of scratch memory in an expression";
			return rc;
		}
	}
}

/* Stack effect of one instruction (pops, pushes) from the table; nx is its
 * operand word (0 when it has none). */
static void effect(uint32_t w, uint32_t nx, int *pop, int *push)
{
	uint32_t a = w >> 8;
	switch ((enum df_opc)(w & 0xff)) {
#define EFFECT_CASE(name, words, pops, pushes, vec, shape, in, out, sem) \
	case OP_##name:                                                  \
		*pop = (int)(pops);                                      \
		*push = (int)(pushes);                                   \
		break;
		DF_OPC_TABLE(EFFECT_CASE)
#undef EFFECT_CASE
	case OP_COUNT_:
	default:
		assert(0 && "the checker tests the opcode first");
		*pop = INT32_MAX;
		*push = 0;
		break;
	}
}

bool df__vm_check(const struct df_prog *p)
{
	int32_t *at;
	bool ok;
	if (p->n_code == 0 || p->n_code > DF_CODE_MAX || p->max_stack > DF_STACK_MAX ||
	    p->out_width > DF_WIDTH_MAX || p->in_width > DF_WIDTH_MAX)
		return false;
	if (!(at = malloc(sizeof(*at) * (p->n_code + 1))))
		return false;
	ok = df__vm_depths(p, at);
	free(at);
	return ok;
}

bool df__vm_depths(const struct df_prog *p, int32_t *at)
{
	/* Jumps go forward only, so one pass in order computes the exact stack
	 * depth at every reachable instruction; join points must agree. */
	bool ok = false;
	uint32_t i;

	if (p->n_code == 0 || p->n_code > DF_CODE_MAX || p->max_stack > DF_STACK_MAX ||
	    p->out_width > DF_WIDTH_MAX || p->in_width > DF_WIDTH_MAX)
		return false;
	for (i = 0; i <= p->n_code; i++)
		at[i] = -1;
	at[0] = 0;
	for (i = 0; i < p->n_code; i++) {
		uint32_t w = p->code[i], op = w & 0xff, a = w >> 8, next = 0, len = 1;
		int pop, push, depth = at[i];
		if (depth < 0)
			continue; /* unreachable (operand words are never reached) */
		if (op >= OP_COUNT_)
			goto out;
		len = df__opc_words(op);
		if (len == 2) {
			if (i + 1 >= p->n_code)
				goto out;
			next = p->code[i + 1];
			if (op == OP_PICK && (next & 0xffff) + (next >> 16) > a)
				goto out;
			if (op == OP_MKLIST &&
			    (a > DF_STACK_MAX || next == 0 || next > DF_STACK_MAX))
				goto out;
		}
		if ((op == OP_CONST && a >= p->n_consts) || (op == OP_LOAD && a >= p->in_width))
			goto out;
		if (op == OP_RET) {
			if (depth != p->out_width)
				goto out;
			ok = true;
			continue;
		}
		effect(w, next, &pop, &push);
		if (pop > depth || depth - pop + push > p->max_stack)
			goto out;
		depth += push - pop;
		if (op == OP_JMP || op == OP_JMPF) {
			uint32_t tgt = i + 1 + a;
			if (tgt >= p->n_code || (at[tgt] >= 0 && at[tgt] != depth))
				goto out;
			at[tgt] = depth;
			if (op == OP_JMP)
				continue;
		}
		if (i + len >= p->n_code || (at[i + len] >= 0 && at[i + len] != depth))
			goto out;
		at[i + len] = depth;
	}
out:
	/* valid only if we finished the walk with at least one RET reached */
	if (i < p->n_code)
		ok = false;
	return ok;
}
