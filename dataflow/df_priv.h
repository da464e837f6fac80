/*
 * dataflow/df_priv.h — internals shared by the dataflow sources (not public).
 *
 * Pieces: an arena allocator; the type model (scalars, tuples, records,
 * lists; compound values are flattened into scalar slots); tokens and the
 * AST; compiled expression programs; the row value representation.
 */
#ifndef SD_DATAFLOW_PRIV_H
#define SD_DATAFLOW_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataflow/dataflow.h"

#define DF_ARENA_CHUNK (16u << 10) /* bytes per arena chunk (larger requests get their own) */
#define DF_TUPLE_MAX   64          /* elements of a tuple or fields of a record */
#define DF_WIDTH_MAX   256         /* scalar slots in one flattened value */
#define DF_STACK_MAX   256         /* VM stack slots per program */
#define DF_CODE_MAX    65536       /* instructions per program */
#define DF_TIME_MAX    (INT64_C(1) << 61) /* µs: event times and durations are clamped to ±this */

/* ---- arena ---- */
struct df_arena_chunk;
struct df_arena {
	struct df_arena_chunk *head;
	size_t used_total; /* bytes handed out */
	size_t limit;      /* 0 = none; allocations past it fail */
};
void *df__arena_alloc(struct df_arena *a, size_t n); /* 8-aligned; NULL when out */
char *df__arena_strndup(struct df_arena *a, const char *s, size_t n);
void df__arena_reset(struct df_arena *a); /* keeps the first chunk */
void df__arena_free(struct df_arena *a);

/* ---- types ---- */
enum df_tk {
	DF_INT,
	DF_FLOAT,
	DF_BOOL,
	DF_STR,
	DF_TIME, /* µs since epoch */
	DF_DUR,  /* µs */
	DF_TUPLE,
	DF_RECORD,
	DF_LIST, /* one slot: pointer to elements; only as flat_map results and split() */
};
struct df_type {
	enum df_tk k;
	uint16_t n;          /* elements (tuple/record), 1 for list */
	uint16_t width;      /* scalar slots when flattened */
	struct df_type **el; /* element types */
	const char **names;  /* record field names */
};
extern struct df_type df__t_int, df__t_float, df__t_bool, df__t_str, df__t_time, df__t_dur;
struct df_type *df__type_tuple(struct df_arena *a, struct df_type **el, unsigned n);
struct df_type *df__type_record(struct df_arena *a, struct df_type **el, const char **names,
				unsigned n);
struct df_type *df__type_list(struct df_arena *a, struct df_type *el);
bool df__type_eq(const struct df_type *x, const struct df_type *y);
int df__type_str(const struct df_type *t, char *buf, size_t cap); /* "(str, int)" */
bool df__type_scalar(const struct df_type *t);
/* Writes the flattened scalar kinds (and dotted names when names != NULL). */
unsigned df__type_flatten(const struct df_type *t, uint8_t *kinds, const char **names,
			  struct df_arena *a, const char *prefix);
unsigned df__type_offset(const struct df_type *t, unsigned idx); /* slot offset of element idx */

/* ---- values ---- */
union df_val {
	int64_t i;
	double f;
	struct {
		const char *p;
		uint32_t n;
	} s;
	struct {
		union df_val *p;
		uint32_t n; /* elements */
	} l;
};

/* ---- tokens ---- */
enum df_tok {
	T_EOF,
	T_IDENT,
	T_INT,
	T_FLOAT,
	T_STR,
	T_DUR,
	T_LP,
	T_RP,
	T_LB,
	T_RB,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_DOT,
	T_COLON,
	T_SEMI,
	T_AT,
	T_ARROW,
	T_ASSIGN,
	T_PLUS,
	T_MINUS,
	T_STAR,
	T_SLASH,
	T_PERCENT,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_AND,
	T_OR,
	T_NOT,
	T_ERR,
};
struct df_token {
	enum df_tok t;
	uint32_t off, len; /* into the source */
	uint32_t line, col;
	int64_t ival; /* INT, DUR (µs) */
	double fval;
	const char *sval; /* STR (unescaped, arena), IDENT (arena) */
	uint32_t slen;
};

/* ---- AST ---- */
enum df_ak {
	A_INT,
	A_FLOAT,
	A_BOOL,
	A_STR,
	A_DUR,
	A_IDENT,
	A_LAMBDA, /* params in names[], body kids[0] */
	A_TUPLE,  /* kids */
	A_RECORD, /* names[], kids */
	A_LIST,   /* kids */
	A_CALL,   /* name, kids (args), names[] per arg (NULL = positional) */
	A_METHOD, /* kids[0] receiver, name, then args kids[1..] with names[] */
	A_FIELD,  /* kids[0], name (or index in ival when name is NULL) */
	A_BINOP,  /* op token, kids[0..1] */
	A_UNOP,   /* op token, kids[0] */
	A_IF,     /* kids[0..2] */
	A_ANNOT,  /* kids[0] annotated expr, name, args kids[1..] */
};
struct df_ast {
	enum df_ak k;
	uint32_t line, col;
	enum df_tok op;
	int64_t ival;
	double fval;
	const char *name; /* ident, call/method/field/annotation name */
	const char *sval;
	uint32_t slen;
	unsigned n; /* kids */
	struct df_ast **kids;
	const char **names; /* per kid (arg names, record field names, lambda params) */
};

struct df_stmt {
	const char *let_name; /* NULL for an expression statement */
	struct df_ast *e;
	uint32_t line, col;
};

struct df_program_ast {
	const char *job_name;
	struct df_ast *job_block; /* A_RECORD-like: names[] = keys, kids = values; or NULL */
	struct df_stmt *stmts;
	unsigned n_stmts;
};

/* Diagnostics context for every compile phase. */
struct df_cx {
	struct df_arena *a;
	const char *src;
	size_t len;
	const char *file;
	struct df_diag *diag;
	int err;
};
/* Records the first error (later ones are ignored); returns code. */
int df__error(struct df_cx *cx, int code, uint32_t line, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

int df__lex(struct df_cx *cx, struct df_token **toks, unsigned *n);
int df__parse(struct df_cx *cx, const struct df_token *toks, unsigned n,
	      struct df_program_ast *out);

/* ---- expression programs ---- */
#include "dataflow/df_opc.h" /* enum df_opc: the instruction set */
struct df_prog {
	uint32_t *code; /* op | a << 8 */
	uint32_t n_code;
	union df_val *consts;
	uint8_t *const_kinds;
	uint32_t n_consts;
	uint16_t in_width, out_width, max_stack;
};
/* Compiles a lambda (or a plain expression when params == 0) against the given
 * parameter types. Returns 0 and *out (arena), *rtype the result type. */
int df__expr_compile(struct df_cx *cx, const struct df_ast *lam, struct df_type *const *ptypes,
		     unsigned nparams, struct df_prog **out, struct df_type **rtype);
/* Builds a program that loads the given input slots in order (projection). */
struct df_prog *df__prog_project(struct df_arena *a, unsigned in_width, const uint16_t *slots,
				 unsigned n);
/* Runs prog on in[in_width]; writes out_width slots to out. str/list results
 * may point into `scratch` (reset by the caller per batch) or into in. Returns
 * 0 or a negative code with *why set to a static message. */
int df__vm_run(const struct df_prog *p, const union df_val *in, union df_val *out,
	       struct df_arena *scratch, const char **why);
bool df__vm_check(const struct df_prog *p); /* validates a decoded program */
/* df__vm_check's walk: at[0..n_code] = the stack depth at each instruction
 * (-1: unreachable); false for an invalid program. */
bool df__vm_depths(const struct df_prog *p, int32_t *at);

/* ---- byte writer/reader (plans) ---- */
struct df_wbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};
void df__w_bytes(struct df_wbuf *w, const void *p, size_t n);
void df__w_u8(struct df_wbuf *w, uint8_t v);
void df__w_u32(struct df_wbuf *w, uint32_t v);
void df__w_u64(struct df_wbuf *w, uint64_t v);
void df__w_str(struct df_wbuf *w, const char *s, size_t n);
struct df_rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};
uint8_t df__r_u8(struct df_rbuf *r);
uint32_t df__r_u32(struct df_rbuf *r);
uint64_t df__r_u64(struct df_rbuf *r);
const uint8_t *df__r_bytes(struct df_rbuf *r, size_t n);

#endif /* SD_DATAFLOW_PRIV_H */
