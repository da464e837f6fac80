/*
 * dataflow/df_opc.h — the expression instruction set, described once
 * (internal to dataflow/).
 *
 * DF_OPC_TABLE lists every opcode in encoding order: the enum, the checker's
 * stack effects (df__vm_depths), which programs the batch interpreter takes
 * (df_vec.c), the constant-operand fast path and the arithmetic of both
 * interpreters are all expanded from it, as base/err.h's SD_ERR_TABLE is
 * for errors. Adding an opcode is one line here, plus hand-written cases in
 * df_vm.c (and df_vec.c) only when its shape is DF_SH_SPECIAL.
 *
 * An instruction is one 32-bit word, op | a << 8 (a < 2^24), followed by one
 * operand word nx when `words` is 2. Opcodes travel inside plans over the
 * network: new ones go at the end of the table; never renumber.
 *
 * Included by df_priv.h (after union df_val), not on its own.
 *
 * Columns of X(name, words, pop, push, vec, shape, in, out, sem):
 *   name   OP_<name>
 *   words  instruction length in words (2: an operand word nx follows)
 *   pop    slots popped, an expression of a and nx (the checker's effect)
 *   push   slots pushed, likewise
 *   vec    vector class (enum df_vec_class): which batch path runs it
 *   shape  DF_SH_BIN  pop 2 operands a_, b_ (read with in), push sem
 *          DF_SH_DIV  DF_SH_BIN whose b_ == 0 fails: "division by zero"
 *          DF_SH_UN   replace the top slot x_ (read with in) by sem
 *          DF_SH_SPECIAL  stack moves, control flow, allocation: written
 *                     by hand in each interpreter; in/out/sem unused
 *   in     operand accessor: DF_OPI (int64), DF_OPF (double), DF_OPV (slot)
 *   out    the result's field of union df_val: i or f
 *   sem    the scalar result, an expression of a_, b_ or x_ (and a). Row
 *          only ops (DF_V_NO) may call df_vm.c's static helpers (vm_*),
 *          since only df_vm.c expands their semantics.
 *
 * The comparisons come in EQ NE LT LE GT GE order for each type: the
 * compiler emits base + k (df_expr.c compile_cmp), asserted below.
 */
#ifndef SD_DATAFLOW_OPC_H
#define SD_DATAFLOW_OPC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Which batch path runs an instruction (df_vec.c). */
enum df_vec_class {
	DF_V_NO,  /* the row interpreter only: a program using it runs per row */
	DF_V_COL, /* the batch interpreter, one pass over a column */
	DF_V_IMM, /* DF_V_COL, and CONST before it fuses: the constant stays in a register */
	DF_V_JMP, /* the batch interpreter with a list of active rows */
};

#define DF_OPI(v) ((v).i)
#define DF_OPF(v) ((v).f)
#define DF_OPV(v) (v)
/* two's complement wrap-around without signed-overflow UB */
#define DF_WRAP(x) ((int64_t)(uint64_t)(x))
/* float to int, saturating, NaN to 0: a plain cast out of range is undefined */
#define DF_F2I_SAT(x) \
	((x) >= 9.2e18 ? INT64_MAX : (x) <= -9.2e18 ? INT64_MIN : (x) != (x) ? 0 : (int64_t)(x))

/* clang-format off */
#define DF_OPC_TABLE(X)                                                                          \
	/* push consts[a] */                                                                     \
	X(CONST, 1, 0, 1, DF_V_COL, DF_SH_SPECIAL, DF_OPV, i, 0)                                 \
	/* push in[a] */                                                                         \
	X(LOAD, 1, 0, 1, DF_V_COL, DF_SH_SPECIAL, DF_OPV, i, 0)                                  \
	/* drop a slots */                                                                       \
	X(POP, 1, a, 0, DF_V_COL, DF_SH_SPECIAL, DF_OPV, i, 0)                                   \
	/* of the top a slots keep nx >> 16 from offset nx & 0xffff */                           \
	X(PICK, 2, a, nx >> 16, DF_V_COL, DF_SH_SPECIAL, DF_OPV, i, 0)                           \
	/* pc += a (forward only); JMPF pops a bool and jumps if false */                        \
	X(JMP, 1, 0, 0, DF_V_JMP, DF_SH_SPECIAL, DF_OPV, i, 0)                                   \
	X(JMPF, 1, 1, 0, DF_V_JMP, DF_SH_SPECIAL, DF_OPV, i, 0)                                  \
	/* the slot at depth a becomes a float */                                                \
	X(I2F, 1, a + 1, a + 1, DF_V_COL, DF_SH_SPECIAL, DF_OPV, i, 0)                           \
	X(ADDI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, DF_WRAP((uint64_t)a_ + (uint64_t)b_))   \
	X(SUBI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, DF_WRAP((uint64_t)a_ - (uint64_t)b_))   \
	X(MULI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, DF_WRAP((uint64_t)a_ * (uint64_t)b_))    \
	/* INT64_MIN / -1 traps in hardware: by -1 is negation, remainder 0 */                   \
	X(DIVI, 1, 2, 1, DF_V_IMM, DF_SH_DIV, DF_OPI, i,                                         \
	  b_ == -1 ? DF_WRAP(0 - (uint64_t)a_) : a_ / b_)                                        \
	X(MODI, 1, 2, 1, DF_V_IMM, DF_SH_DIV, DF_OPI, i, b_ == -1 ? 0 : a_ % b_)                 \
	X(NEGI, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPI, i, DF_WRAP(0 - (uint64_t)x_))               \
	X(ADDF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, f, a_ + b_)                                \
	X(SUBF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, f, a_ - b_)                                \
	X(MULF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, f, a_ * b_)                                 \
	X(DIVF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, f, a_ / b_)                                \
	X(NEGF, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPF, f, -x_)                                     \
	X(EQI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, a_ == b_)                                \
	X(NEI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, a_ != b_)                                \
	X(LTI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, a_ < b_)                                 \
	X(LEI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, a_ <= b_)                                \
	X(GTI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, a_ > b_)                                 \
	X(GEI, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPI, i, a_ >= b_)                                \
	X(EQF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, i, a_ == b_)                                \
	X(NEF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, i, a_ != b_)                                \
	X(LTF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, i, a_ < b_)                                 \
	X(LEF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, i, a_ <= b_)                                \
	X(GTF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, i, a_ > b_)                                 \
	X(GEF, 1, 2, 1, DF_V_IMM, DF_SH_BIN, DF_OPF, i, a_ >= b_)                                \
	X(EQS, 1, 2, 1, DF_V_COL, DF_SH_BIN, DF_OPV, i, df__str_eq(a_, b_))                      \
	X(NES, 1, 2, 1, DF_V_COL, DF_SH_BIN, DF_OPV, i, !df__str_eq(a_, b_))                     \
	X(LTS, 1, 2, 1, DF_V_NO, DF_SH_BIN, DF_OPV, i, df__str_cmp(a_, b_) < 0)                  \
	X(LES, 1, 2, 1, DF_V_NO, DF_SH_BIN, DF_OPV, i, df__str_cmp(a_, b_) <= 0)                 \
	X(GTS, 1, 2, 1, DF_V_NO, DF_SH_BIN, DF_OPV, i, df__str_cmp(a_, b_) > 0)                  \
	X(GES, 1, 2, 1, DF_V_NO, DF_SH_BIN, DF_OPV, i, df__str_cmp(a_, b_) >= 0)                 \
	X(NOT, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPI, i, !x_)                                      \
	/* LOWER UPPER CONCAT SPLIT I2S F2S allocate; TRIM and SUBSTR narrow a string */         \
	X(LOWER, 1, 1, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                                  \
	X(UPPER, 1, 1, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                                  \
	X(TRIM, 1, 1, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                                   \
	X(CONTAINS, 1, 2, 1, DF_V_NO, DF_SH_BIN, DF_OPV, i, vm_has_sub(a_, b_, 0))               \
	X(STARTS, 1, 2, 1, DF_V_NO, DF_SH_BIN, DF_OPV, i, vm_has_sub(a_, b_, -1))                \
	X(ENDS, 1, 2, 1, DF_V_NO, DF_SH_BIN, DF_OPV, i, vm_has_sub(a_, b_, 1))                   \
	X(SUBSTR, 1, 3, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                                 \
	X(LEN, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPV, i, x_.s.n)                                   \
	X(CONCAT, 1, 2, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                                 \
	X(PARSE_INT, 1, 1, 1, DF_V_NO, DF_SH_UN, DF_OPV, i, vm_parse_int(x_))                    \
	X(PARSE_FLOAT, 1, 1, 1, DF_V_NO, DF_SH_UN, DF_OPV, f, vm_parse_float(x_))                \
	X(SPLIT, 1, 2, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                                  \
	X(I2S, 1, 1, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                                    \
	X(F2S, 1, 1, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                                    \
	X(F2I, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPF, i, DF_F2I_SAT(x_))                           \
	/* times / divided by the constant a (unit conversions) */                               \
	X(MULDI, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPI, i, DF_WRAP((uint64_t)x_ * a))               \
	X(DIVDI, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPI, i, x_ / (int64_t)(a ? a : 1))              \
	X(ABSI, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPI, i, x_ < 0 ? DF_WRAP(0 - (uint64_t)x_) : x_) \
	X(ABSF, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPF, f, x_ < 0 ? -x_ : x_)                       \
	/* a elements of nx slots each become one list slot (allocates) */                       \
	X(MKLIST, 2, a * nx, 1, DF_V_NO, DF_SH_SPECIAL, DF_OPV, i, 0)                             \
	X(LISTLEN, 1, 1, 1, DF_V_COL, DF_SH_UN, DF_OPV, i, x_.l.n)                               \
	/* return the top out_width slots (the checker wants that depth) */                      \
	X(RET, 1, 0, 0, DF_V_COL, DF_SH_SPECIAL, DF_OPV, i, 0)

enum df_opc {
#define DF__OPC_ENUM(name, words, pop, push, vec, shape, in, out, sem) OP_##name,
	DF_OPC_TABLE(DF__OPC_ENUM)
#undef DF__OPC_ENUM
	OP_COUNT_ /* not an opcode: the count */
};
/* clang-format on */

_Static_assert(OP_COUNT_ <= 256, "opcodes are 8 bits");
_Static_assert(OP_GEI - OP_EQI == 5 && OP_GEF - OP_EQF == 5 && OP_GES - OP_EQS == 5,
	       "comparisons are EQ NE LT LE GT GE: the compiler emits EQ + k");

/* Instruction length in words (1, or 2 with an operand word). */
static inline unsigned df__opc_words(uint32_t op)
{
	static const uint8_t words[OP_COUNT_] = {
#define DF__OPC_WORDS(name, words, pop, push, vec, shape, in, out, sem) words,
		DF_OPC_TABLE(DF__OPC_WORDS)
#undef DF__OPC_WORDS
	};
	return op < OP_COUNT_ ? words[op] : 1;
}

/* Vector class of an opcode (DF_V_NO for unknown ones). */
static inline enum df_vec_class df__opc_vec(uint32_t op)
{
	static const uint8_t vec[OP_COUNT_] = {
#define DF__OPC_VEC(name, words, pop, push, vec, shape, in, out, sem) vec,
		DF_OPC_TABLE(DF__OPC_VEC)
#undef DF__OPC_VEC
	};
	return op < OP_COUNT_ ? (enum df_vec_class)vec[op] : DF_V_NO;
}

/* The string comparisons of the table (both interpreters). O(length). */
static inline bool df__str_eq(union df_val a, union df_val b)
{
	return a.s.n == b.s.n && (a.s.n == 0 || memcmp(a.s.p, b.s.p, a.s.n) == 0);
}

static inline int df__str_cmp(union df_val a, union df_val b)
{
	uint32_t n = a.s.n < b.s.n ? a.s.n : b.s.n;
	int c = n ? memcmp(a.s.p, b.s.p, n) : 0;
	if (c)
		return c;
	return a.s.n < b.s.n ? -1 : a.s.n > b.s.n;
}

#endif /* SD_DATAFLOW_OPC_H */
