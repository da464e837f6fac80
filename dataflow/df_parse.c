/*
 * dataflow/df__parse.c — the parser: tokens -> AST (recursive descent).
 *
 *   program  := [ 'job' STR [ '{' item* '}' ] ] stmt*
 *   item     := IDENT '=' expr | '@' annotation            (commas optional)
 *   stmt     := 'let' IDENT '=' expr [';'] | expr [';']
 *   expr     := IDENT '->' expr | '(' params ')' '->' expr
 *             | 'if' expr 'then' expr 'else' expr | or
 *   or/and   := and ('||'|'or') ... / cmp ('&&'|'and') ...
 *   cmp      := add [('=='|'!='|'<'|'<='|'>'|'>=') add]
 *   add, mul := the usual, left associative
 *   unary    := ('-'|'!'|'not') unary | postfix
 *   postfix  := primary ( '.' IDENT ['(' args ')'] | '.' INT | '@' IDENT ['(' args ')'] )*
 *   primary  := literal | IDENT ['(' args ')'] | '(' expr (',' expr)* ')'
 *             | '{' IDENT ':' expr (',' ...)* '}' | '[' expr, ... ']'
 *   args     := (IDENT '=' expr | expr) (',' ...)*
 *
 * Nesting is bounded by DF_NEST_MAX so hostile input cannot exhaust the stack.
 */
#include <string.h>

#include "base/err.h"
#include "dataflow/df_priv.h"

struct parser {
	struct df_cx *cx;
	const struct df_token *t;
	unsigned n, i, depth;
};

static const char *const tok_names[] = {
	"end of input", "a name", "an integer", "a number", "a string", "a duration", "'('",
	"')'",          "'{'",    "'}'",        "'['",      "']'",      "','",        "'.'",
	"':'",          "';'",    "'@'",        "'->'",     "'='",      "'+'",        "'-'",
	"'*'",          "'/'",    "'%'",        "'=='",     "'!='",     "'<'",        "'<='",
	"'>'",          "'>='",   "'&&'",       "'||'",     "'!'",      "?"};

static const struct df_token *cur(struct parser *P)
{
	return &P->t[P->i];
}

static const struct df_token *look(struct parser *P, unsigned k)
{
	return P->i + k < P->n ? &P->t[P->i + k] : &P->t[P->n - 1];
}

static bool is_kw(const struct df_token *t, const char *kw)
{
	return t->t == T_IDENT && strcmp(t->sval, kw) == 0;
}

static int syntax(struct parser *P, const char *expected)
{
	const struct df_token *t = cur(P);
	if (t->t == T_IDENT)
		return df__error(P->cx, SD_ESYNTAX, t->line, t->col, "expected %s, found '%s'",
				 expected, t->sval);
	return df__error(P->cx, SD_ESYNTAX, t->line, t->col, "expected %s, found %s", expected,
			 tok_names[t->t]);
}

static bool accept(struct parser *P, enum df_tok k)
{
	if (cur(P)->t != k)
		return false;
	if (P->i + 1 < P->n)
		P->i++;
	return true;
}

static int expect(struct parser *P, enum df_tok k, const char *what)
{
	return accept(P, k) ? 0 : syntax(P, what);
}

static struct df_ast *node(struct parser *P, enum df_ak k, const struct df_token *at)
{
	struct df_ast *a = df__arena_alloc(P->cx->a, sizeof(*a));
	if (!a) {
		df__error(P->cx, SD_ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	a->k = k;
	a->line = at->line;
	a->col = at->col;
	return a;
}

static int set_kids(struct parser *P, struct df_ast *a, struct df_ast **kids, const char **names,
		    unsigned n)
{
	a->n = n;
	a->kids = df__arena_alloc(P->cx->a, sizeof(*kids) * (n ? n : 1));
	a->names = df__arena_alloc(P->cx->a, sizeof(*names) * (n ? n : 1));
	if (!a->kids || !a->names)
		return df__error(P->cx, SD_ENOMEM, 0, 0, "out of memory");
	if (n) {
		memcpy(a->kids, kids, sizeof(*kids) * n);
		memcpy(a->names, names, sizeof(*names) * n);
	}
	return 0;
}

static struct df_ast *parse_expr(struct parser *P);

/* Parses `( args )` after the '(' was seen; kids[first..] get the args. */
static int parse_args(struct parser *P, struct df_ast *a, struct df_ast *first)
{
	struct df_ast *kids[DF_TUPLE_MAX + 1];
	const char *names[DF_TUPLE_MAX + 1];
	unsigned n = 0;

	if (first) {
		kids[n] = first;
		names[n++] = NULL;
	}
	if (!accept(P, T_RP)) {
		do {
			if (n > DF_TUPLE_MAX)
				return syntax(P, "fewer arguments");
			names[n] = NULL;
			if (cur(P)->t == T_IDENT && look(P, 1)->t == T_ASSIGN) {
				names[n] = cur(P)->sval;
				P->i += 2;
			}
			if (!(kids[n++] = parse_expr(P)))
				return P->cx->err;
		} while (accept(P, T_COMMA));
		if (expect(P, T_RP, "',' or ')' after an argument"))
			return P->cx->err;
	}
	return set_kids(P, a, kids, names, n);
}

static struct df_ast *parse_record(struct parser *P, const struct df_token *at)
{
	struct df_ast *kids[DF_TUPLE_MAX], *a = node(P, A_RECORD, at);
	const char *names[DF_TUPLE_MAX];
	unsigned n = 0;

	if (!a)
		return NULL;
	while (!accept(P, T_RB)) {
		if (n >= DF_TUPLE_MAX) {
			syntax(P, "fewer record fields");
			return NULL;
		}
		if (cur(P)->t != T_IDENT) {
			syntax(P, "a field name or '}'");
			return NULL;
		}
		names[n] = cur(P)->sval;
		P->i++;
		if (expect(P, T_COLON, "':' after the field name"))
			return NULL;
		if (!(kids[n++] = parse_expr(P)))
			return NULL;
		if (!accept(P, T_COMMA) && cur(P)->t != T_RB) {
			syntax(P, "',' or '}' in a record");
			return NULL;
		}
	}
	return set_kids(P, a, kids, names, n) ? NULL : a;
}

static struct df_ast *parse_seq(struct parser *P, const struct df_token *at, enum df_ak k,
				enum df_tok close, const char *what)
{
	struct df_ast *kids[DF_TUPLE_MAX], *a = node(P, k, at);
	const char *names[DF_TUPLE_MAX] = {0};
	unsigned n = 0;

	if (!a)
		return NULL;
	if (!accept(P, close)) {
		do {
			if (n >= DF_TUPLE_MAX) {
				syntax(P, "fewer elements");
				return NULL;
			}
			if (!(kids[n++] = parse_expr(P)))
				return NULL;
		} while (accept(P, T_COMMA));
		if (expect(P, close, what))
			return NULL;
	}
	if (k == A_TUPLE && n == 1)
		return kids[0]; /* parenthesised expression */
	return set_kids(P, a, kids, names, n) ? NULL : a;
}

static struct df_ast *parse_primary(struct parser *P)
{
	const struct df_token *t = cur(P);
	struct df_ast *a;

	switch (t->t) {
	case T_INT:
	case T_DUR:
	case T_FLOAT:
	case T_STR:
		a = node(P,
			 t->t == T_INT     ? A_INT
			 : t->t == T_DUR   ? A_DUR
			 : t->t == T_FLOAT ? A_FLOAT
					   : A_STR,
			 t);
		if (a) {
			a->ival = t->ival;
			a->fval = t->fval;
			a->sval = t->sval;
			a->slen = t->slen;
		}
		P->i++;
		return a;
	case T_IDENT:
		if (is_kw(t, "true") || is_kw(t, "false")) {
			if ((a = node(P, A_BOOL, t)))
				a->ival = is_kw(t, "true");
			P->i++;
			return a;
		}
		if (is_kw(t, "let") || is_kw(t, "then") || is_kw(t, "else") || is_kw(t, "job")) {
			syntax(P, "an expression");
			return NULL;
		}
		P->i++;
		if (accept(P, T_LP)) {
			if ((a = node(P, A_CALL, t))) {
				a->name = t->sval;
				if (parse_args(P, a, NULL))
					return NULL;
			}
			return a;
		}
		if ((a = node(P, A_IDENT, t)))
			a->name = t->sval;
		return a;
	case T_LP:
		P->i++;
		return parse_seq(P, t, A_TUPLE, T_RP, "',' or ')'");
	case T_LBRACK:
		P->i++;
		return parse_seq(P, t, A_LIST, T_RBRACK, "',' or ']'");
	case T_LB:
		P->i++;
		return parse_record(P, t);
	default:
		syntax(P, "an expression");
		return NULL;
	}
}

static struct df_ast *parse_postfix(struct parser *P)
{
	struct df_ast *e = parse_primary(P);

	while (e) {
		const struct df_token *t = cur(P);
		if (accept(P, T_DOT)) {
			const struct df_token *m = cur(P);
			struct df_ast *a;
			if (m->t == T_INT) {
				if (!(a = node(P, A_FIELD, m)))
					return NULL;
				a->ival = m->ival;
				P->i++;
				if (set_kids(P, a, &e, (const char *[]){NULL}, 1))
					return NULL;
				e = a;
				continue;
			}
			if (m->t != T_IDENT) {
				syntax(P, "a method or field name after '.'");
				return NULL;
			}
			P->i++;
			if (accept(P, T_LP)) {
				if (!(a = node(P, A_METHOD, m)))
					return NULL;
				a->name = m->sval;
				if (parse_args(P, a, e))
					return NULL;
			} else {
				if (!(a = node(P, A_FIELD, m)))
					return NULL;
				a->name = m->sval;
				if (set_kids(P, a, &e, (const char *[]){NULL}, 1))
					return NULL;
			}
			e = a;
		} else if (accept(P, T_AT)) {
			const struct df_token *m = cur(P);
			struct df_ast *a;
			if (m->t != T_IDENT) {
				syntax(P, "an annotation name after '@'");
				return NULL;
			}
			P->i++;
			if (!(a = node(P, A_ANNOT, t)))
				return NULL;
			a->name = m->sval;
			if (accept(P, T_LP)) {
				if (parse_args(P, a, e))
					return NULL;
			} else if (set_kids(P, a, &e, (const char *[]){NULL}, 1)) {
				return NULL;
			}
			e = a;
		} else {
			break;
		}
	}
	return e;
}

static struct df_ast *binop(struct parser *P, const struct df_token *at, enum df_tok op,
			    struct df_ast *l, struct df_ast *r)
{
	struct df_ast *a;
	if (!l || !r || !(a = node(P, A_BINOP, at)))
		return NULL;
	a->op = op;
	return set_kids(P, a, (struct df_ast *[]){l, r}, (const char *[]){NULL, NULL}, 2) ? NULL
											  : a;
}

/* One more operand in a row of binary operators (a + b + c ...): the tree
 * leans left, so the row's length is its depth. Stopped at the nesting
 * limit here, before a long row fills the compile arena. */
static bool row_step(struct parser *P, unsigned *n, const struct df_token *t)
{
	if (P->depth + ++*n <= DF_NEST_MAX)
		return true;
	df__error(P->cx, SD_ELIMIT, t->line, t->col,
		  "expression too long: more than %d operators in a row (the nesting limit); "
		  "split it with let or a map",
		  DF_NEST_MAX);
	return false;
}

static struct df_ast *parse_unary(struct parser *P)
{
	const struct df_token *t = cur(P);
	if (t->t == T_MINUS || t->t == T_NOT || is_kw(t, "not")) {
		struct df_ast *a, *k;
		P->i++;
		if (++P->depth > DF_NEST_MAX) {
			df__error(P->cx, SD_ESYNTAX, t->line, t->col,
				  "expression nested too deeply (limit %d)", DF_NEST_MAX);
			return NULL;
		}
		k = parse_unary(P);
		P->depth--;
		if (!k || !(a = node(P, A_UNOP, t)))
			return NULL;
		a->op = t->t == T_MINUS ? T_MINUS : T_NOT;
		return set_kids(P, a, &k, (const char *[]){NULL}, 1) ? NULL : a;
	}
	return parse_postfix(P);
}

static struct df_ast *parse_mul(struct parser *P)
{
	struct df_ast *l = parse_unary(P);
	unsigned n = 0;
	while (l && (cur(P)->t == T_STAR || cur(P)->t == T_SLASH || cur(P)->t == T_PERCENT)) {
		const struct df_token *t = cur(P);
		if (!row_step(P, &n, t))
			return NULL;
		P->i++;
		l = binop(P, t, t->t, l, parse_unary(P));
	}
	return l;
}

static struct df_ast *parse_add(struct parser *P)
{
	struct df_ast *l = parse_mul(P);
	unsigned n = 0;
	while (l && (cur(P)->t == T_PLUS || cur(P)->t == T_MINUS)) {
		const struct df_token *t = cur(P);
		if (!row_step(P, &n, t))
			return NULL;
		P->i++;
		l = binop(P, t, t->t, l, parse_mul(P));
	}
	return l;
}

static struct df_ast *parse_cmp(struct parser *P)
{
	struct df_ast *l = parse_add(P);
	enum df_tok k = cur(P)->t;
	if (l && k >= T_EQ && k <= T_GE) {
		const struct df_token *t = cur(P);
		P->i++;
		l = binop(P, t, k, l, parse_add(P));
		if (l && cur(P)->t >= T_EQ && cur(P)->t <= T_GE) {
			syntax(P, "no second comparison (use && to combine)");
			return NULL;
		}
	}
	return l;
}

static struct df_ast *parse_and(struct parser *P)
{
	struct df_ast *l = parse_cmp(P);
	unsigned n = 0;
	while (l && (cur(P)->t == T_AND || is_kw(cur(P), "and"))) {
		const struct df_token *t = cur(P);
		if (!row_step(P, &n, t))
			return NULL;
		P->i++;
		l = binop(P, t, T_AND, l, parse_cmp(P));
	}
	return l;
}

static struct df_ast *parse_or(struct parser *P)
{
	struct df_ast *l = parse_and(P);
	unsigned n = 0;
	while (l && (cur(P)->t == T_OR || is_kw(cur(P), "or"))) {
		const struct df_token *t = cur(P);
		if (!row_step(P, &n, t))
			return NULL;
		P->i++;
		l = binop(P, t, T_OR, l, parse_and(P));
	}
	return l;
}

/* Is there `( ident, ... ) ->` at the cursor? */
static bool lambda_ahead(struct parser *P)
{
	unsigned k = 1;
	if (cur(P)->t != T_LP)
		return false;
	if (look(P, 1)->t == T_RP)
		return look(P, 2)->t == T_ARROW;
	for (;;) {
		if (look(P, k)->t != T_IDENT)
			return false;
		k++;
		if (look(P, k)->t == T_RP)
			return look(P, k + 1)->t == T_ARROW;
		if (look(P, k)->t != T_COMMA)
			return false;
		k++;
	}
}

static struct df_ast *parse_lambda(struct parser *P)
{
	const struct df_token *at = cur(P);
	const char *names[DF_TUPLE_MAX];
	struct df_ast *kids[DF_TUPLE_MAX] = {0}, *a, *body;
	unsigned n = 0;

	if (at->t == T_IDENT) {
		names[n++] = at->sval;
		P->i++;
	} else {
		P->i++;
		while (cur(P)->t == T_IDENT) {
			if (n >= DF_TUPLE_MAX) {
				syntax(P, "fewer parameters");
				return NULL;
			}
			names[n++] = cur(P)->sval;
			P->i++;
			accept(P, T_COMMA);
		}
		P->i++; /* ')' (checked by lambda_ahead) */
	}
	P->i++; /* '->' */
	if (!(body = parse_expr(P)) || !(a = node(P, A_LAMBDA, at)))
		return NULL;
	kids[0] = body;
	if (set_kids(P, a, kids, names, n))
		return NULL;
	a->kids[0] = body; /* kids[0] is the body; names[] the parameters */
	return a;
}

static struct df_ast *parse_expr(struct parser *P)
{
	const struct df_token *t = cur(P);
	struct df_ast *r;

	if (++P->depth > DF_NEST_MAX) {
		df__error(P->cx, SD_ESYNTAX, t->line, t->col,
			  "expression nested too deeply (limit %d)", DF_NEST_MAX);
		return NULL;
	}
	if ((t->t == T_IDENT && look(P, 1)->t == T_ARROW) || lambda_ahead(P)) {
		r = parse_lambda(P);
	} else if (is_kw(t, "if")) {
		struct df_ast *c, *y = NULL, *n = NULL;
		P->i++;
		c = parse_expr(P);
		if (c && !is_kw(cur(P), "then"))
			syntax(P, "'then' after the condition of 'if'");
		else if (c && (P->i++, y = parse_expr(P)) && !is_kw(cur(P), "else"))
			syntax(P, "'else' after the 'then' branch");
		else if (y)
			P->i++, n = parse_expr(P);
		r = n ? node(P, A_IF, t) : NULL;
		if (r && set_kids(P, r, (struct df_ast *[]){c, y, n}, (const char *[]){0, 0, 0}, 3))
			r = NULL;
	} else {
		r = parse_or(P);
	}
	P->depth--;
	return P->cx->err ? NULL : r;
}

static int parse_job(struct parser *P, struct df_program_ast *out)
{
	struct df_ast *kids[DF_TUPLE_MAX], *blk;
	const char *names[DF_TUPLE_MAX];
	unsigned n = 0;
	const struct df_token *at;

	P->i++;
	if (cur(P)->t != T_STR)
		return syntax(P, "the job name as a string after 'job'");
	out->job_name = cur(P)->sval;
	P->i++;
	at = cur(P);
	if (!accept(P, T_LB))
		return 0;
	if (!(blk = node(P, A_RECORD, at)))
		return P->cx->err;
	while (!accept(P, T_RB)) {
		if (n >= DF_TUPLE_MAX)
			return syntax(P, "fewer job options");
		if (cur(P)->t == T_AT) {
			/* job-level annotation: an A_ANNOT with no annotated expression */
			const struct df_token *a = cur(P);
			struct df_ast *an;
			P->i++;
			if (cur(P)->t != T_IDENT)
				return syntax(P, "an annotation name after '@'");
			if (!(an = node(P, A_ANNOT, a)))
				return P->cx->err;
			an->name = cur(P)->sval;
			P->i++;
			if (accept(P, T_LP) ? parse_args(P, an, NULL)
					    : set_kids(P, an, NULL, NULL, 0))
				return P->cx->err;
			names[n] = "@";
			kids[n++] = an;
		} else {
			if (cur(P)->t != T_IDENT)
				return syntax(P,
					      "a job option 'name = value', an annotation or '}'");
			names[n] = cur(P)->sval;
			P->i++;
			if (expect(P, T_ASSIGN, "'=' after the option name"))
				return P->cx->err;
			if (!(kids[n++] = parse_expr(P)))
				return P->cx->err;
		}
		accept(P, T_COMMA);
		accept(P, T_SEMI);
	}
	out->job_block = blk;
	return set_kids(P, blk, kids, names, n);
}

int df__parse(struct df_cx *cx, const struct df_token *toks, unsigned n, struct df_program_ast *out)
{
	struct parser P = {cx, toks, n, 0, 0};
	unsigned cap = 16;

	memset(out, 0, sizeof(*out));
	out->job_name = "job";
	if (is_kw(cur(&P), "job") && parse_job(&P, out))
		return cx->err;
	out->stmts = df__arena_alloc(cx->a, sizeof(*out->stmts) * cap);
	while (out->stmts && cur(&P)->t != T_EOF) {
		struct df_stmt *s;
		if (accept(&P, T_SEMI))
			continue;
		if (out->n_stmts == cap) {
			struct df_stmt *ns = df__arena_alloc(cx->a, sizeof(*ns) * cap * 2);
			if (!ns)
				break;
			memcpy(ns, out->stmts, sizeof(*ns) * cap);
			out->stmts = ns;
			cap *= 2;
		}
		s = &out->stmts[out->n_stmts++];
		s->line = cur(&P)->line;
		s->col = cur(&P)->col;
		if (is_kw(cur(&P), "job"))
			return syntax(&P, "a statement ('job' must come first and only once)");
		if (is_kw(cur(&P), "let")) {
			P.i++;
			if (cur(&P)->t != T_IDENT)
				return syntax(&P, "a name after 'let'");
			s->let_name = cur(&P)->sval;
			P.i++;
			if (expect(&P, T_ASSIGN, "'=' after the name in 'let'"))
				return cx->err;
		}
		if (!(s->e = parse_expr(&P)))
			return cx->err ? cx->err : syntax(&P, "an expression");
	}
	if (!out->stmts)
		return df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
	return cx->err;
}
