/*
 * dataflow/df__lex.c — the lexer: job text -> token array.
 *
 * Tokens carry line/column (1-based, columns count bytes). Comments are
 * `// ...` and `/ * ... * /`. Literals: 42, 3.5, 1e3, "text" (escapes \n \t
 * \" \\), durations 10s 2ms 100us 5m 1h. The token array is bounded by the
 * text's length (at most one token per byte plus EOF).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_priv.h"

struct lexer {
	struct df_cx *cx;
	size_t i;
	uint32_t line, col;
};

static int peekc(struct lexer *L, size_t ahead)
{
	return L->i + ahead < L->cx->len ? (unsigned char)L->cx->src[L->i + ahead] : -1;
}

static void adv(struct lexer *L)
{
	if (L->cx->src[L->i] == '\n') {
		L->line++;
		L->col = 1;
	} else {
		L->col++;
	}
	L->i++;
}

static int skip_space(struct lexer *L)
{
	for (;;) {
		int c = peekc(L, 0);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			adv(L);
		} else if (c == '/' && peekc(L, 1) == '/') {
			while (peekc(L, 0) != -1 && peekc(L, 0) != '\n')
				adv(L);
		} else if (c == '/' && peekc(L, 1) == '*') {
			uint32_t l = L->line, co = L->col;
			adv(L);
			adv(L);
			while (!(peekc(L, 0) == '*' && peekc(L, 1) == '/')) {
				if (peekc(L, 0) == -1)
					return df__error(L->cx, SD_ESYNTAX, l, co,
							 "unterminated comment: expected '*/'");
				adv(L);
			}
			adv(L);
			adv(L);
		} else {
			return 0;
		}
	}
}

static int64_t unit_us(const char *u, size_t n)
{
	static const struct {
		const char *name;
		int64_t us;
	} units[] = {{"us", 1},       {"ms", 1000},        {"s", 1000000},
		     {"m", 60000000}, {"h", 3600000000LL}, {"d", 86400000000LL}};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
			return units[i].us;
	return 0;
}

static int lex_number(struct lexer *L, struct df_token *t)
{
	const char *s = L->cx->src;
	size_t st = L->i;
	bool is_float = false;
	char buf[64];

	while (isdigit(peekc(L, 0)))
		adv(L);
	if (peekc(L, 0) == '.' && isdigit(peekc(L, 1))) {
		is_float = true;
		adv(L);
		while (isdigit(peekc(L, 0)))
			adv(L);
	}
	if ((peekc(L, 0) == 'e' || peekc(L, 0) == 'E') &&
	    (isdigit(peekc(L, 1)) ||
	     ((peekc(L, 1) == '-' || peekc(L, 1) == '+') && isdigit(peekc(L, 2))))) {
		is_float = true;
		adv(L);
		adv(L);
		while (isdigit(peekc(L, 0)))
			adv(L);
	}
	size_t n = L->i - st;
	if (n >= sizeof buf)
		return df__error(L->cx, SD_ESYNTAX, t->line, t->col, "number literal too long");
	memcpy(buf, s + st, n);
	buf[n] = 0;
	if (isalpha(peekc(L, 0))) {
		size_t us = L->i;
		while (isalnum(peekc(L, 0)) || peekc(L, 0) == '_')
			adv(L);
		int64_t mul = unit_us(s + us, L->i - us);
		if (!mul || is_float)
			return df__error(L->cx, SD_ESYNTAX, t->line, t->col,
					 "bad duration '%.*s': expected an integer and a unit "
					 "(us, ms, s, m, h, d)",
					 (int)(L->i - st), s + st);
		char *end;
		long long v = strtoll(buf, &end, 10);
		if (v > DF_TIME_MAX / mul)
			return df__error(L->cx, SD_ESYNTAX, t->line, t->col, "duration too large");
		t->t = T_DUR;
		t->ival = v * mul;
		return 0;
	}
	if (is_float) {
		t->t = T_FLOAT;
		t->fval = strtod(buf, NULL);
	} else {
		char *end;
		unsigned long long v = strtoull(buf, &end, 10);
		if (n > 19 || v > (unsigned long long)INT64_MAX)
			return df__error(L->cx, SD_ESYNTAX, t->line, t->col,
					 "integer literal %s is too large", buf);
		t->t = T_INT;
		t->ival = (int64_t)v;
	}
	return 0;
}

static int lex_string(struct lexer *L, struct df_token *t)
{
	char *out;
	size_t n = 0, st;

	adv(L); /* opening quote */
	st = L->i;
	while (peekc(L, 0) != '"') {
		if (peekc(L, 0) == -1 || peekc(L, 0) == '\n')
			return df__error(L->cx, SD_ESYNTAX, t->line, t->col,
					 "unterminated string: expected '\"'");
		if (peekc(L, 0) == '\\')
			adv(L);
		if (peekc(L, 0) == -1)
			continue;
		adv(L);
	}
	out = df__arena_alloc(L->cx->a, L->i - st + 1);
	if (!out)
		return df__error(L->cx, SD_ENOMEM, t->line, t->col, "out of memory");
	for (size_t i = st; i < L->i; i++) {
		char c = L->cx->src[i];
		if (c == '\\') {
			c = L->cx->src[++i];
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '"':
			case '\\':
				break;
			default:
				return df__error(
					L->cx, SD_ESYNTAX, t->line, t->col,
					"unknown escape '\\%c' in string: expected \\n \\t "
					"\\\" or \\\\",
					c);
			}
		}
		out[n++] = c;
	}
	adv(L); /* closing quote */
	t->t = T_STR;
	t->sval = out;
	t->slen = (uint32_t)n;
	return 0;
}

static int lex_punct(struct lexer *L, struct df_token *t)
{
	int c = peekc(L, 0), d = peekc(L, 1);
	static const struct {
		char a, b;
		enum df_tok t;
	} two[] = {{'-', '>', T_ARROW}, {'=', '=', T_EQ},  {'!', '=', T_NE}, {'<', '=', T_LE},
		   {'>', '=', T_GE},    {'&', '&', T_AND}, {'|', '|', T_OR}};
	static const char one_c[] = "(){}[],.:;@=+-*/%<>!";
	static const enum df_tok one_t[] = {T_LP,     T_RP,      T_LB,   T_RB,    T_LBRACK,
					    T_RBRACK, T_COMMA,   T_DOT,  T_COLON, T_SEMI,
					    T_AT,     T_ASSIGN,  T_PLUS, T_MINUS, T_STAR,
					    T_SLASH,  T_PERCENT, T_LT,   T_GT,    T_NOT};
	for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
		if (c == two[i].a && d == two[i].b) {
			t->t = two[i].t;
			adv(L);
			adv(L);
			return 0;
		}
	const char *p = c > 0 ? strchr(one_c, c) : NULL;
	if (!p || c == 0)
		return df__error(L->cx, SD_ESYNTAX, t->line, t->col,
				 c >= 32 && c < 127 ? "unexpected character '%c'"
						    : "unexpected byte 0x%02x",
				 c & 0xff);
	t->t = one_t[p - one_c];
	adv(L);
	return 0;
}

int df__lex(struct df_cx *cx, struct df_token **toks, unsigned *n)
{
	struct lexer L = {cx, 0, 1, 1};
	size_t cap = cx->len + 1, k = 0;
	struct df_token *v = df__arena_alloc(cx->a, sizeof(*v) * cap);

	if (!v)
		return df__error(cx, SD_ENOMEM, 0, 0, "out of memory for %zu bytes of text",
				 cx->len);
	for (;;) {
		int rc = skip_space(&L);
		if (rc)
			return rc;
		struct df_token *t = &v[k];
		memset(t, 0, sizeof(*t));
		t->off = (uint32_t)L.i;
		t->line = L.line;
		t->col = L.col;
		int c = peekc(&L, 0);
		if (c == -1) {
			t->t = T_EOF;
			k++;
			break;
		}
		if (isdigit(c)) {
			rc = lex_number(&L, t);
		} else if (isalpha(c) || c == '_') {
			while (isalnum(peekc(&L, 0)) || peekc(&L, 0) == '_')
				adv(&L);
			t->t = T_IDENT;
			t->slen = (uint32_t)(L.i - t->off);
			t->sval = df__arena_strndup(cx->a, cx->src + t->off, t->slen);
			if (!t->sval)
				return df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
		} else if (c == '"') {
			rc = lex_string(&L, t);
		} else {
			rc = lex_punct(&L, t);
		}
		if (rc)
			return rc;
		t->len = (uint32_t)(L.i - t->off);
		k++;
	}
	*toks = v;
	*n = (unsigned)k;
	return 0;
}
