/*
 * dataflow/df_util.c — arena, type model, byte buffers and diagnostics.
 *
 * The arena hands out 8-aligned memory from chunks freed all at once; a limit
 * bounds what compile (or a task's scratch) may take whatever the input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_priv.h"

struct df_arena_chunk {
	struct df_arena_chunk *next;
	size_t cap, used;
	max_align_t data[];
};

void *df__arena_alloc(struct df_arena *a, size_t n)
{
	struct df_arena_chunk *c = a->head;

	n = (n + 7) & ~(size_t)7;
	if (a->limit && a->used_total + n > a->limit)
		return NULL;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > DF_ARENA_CHUNK ? n : DF_ARENA_CHUNK;
		struct df_arena_chunk *nc = malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->cap = cap;
		nc->used = 0;
		if (c && n > DF_ARENA_CHUNK) {
			/* a big block goes behind the head so the head keeps filling */
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			a->head = nc;
		}
		c = nc;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	a->used_total += n;
	memset(p, 0, n);
	return p;
}

char *df__arena_strndup(struct df_arena *a, const char *s, size_t n)
{
	char *p = df__arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

void df__arena_reset(struct df_arena *a)
{
	struct df_arena_chunk *c = a->head, *keep = NULL;

	while (c) {
		struct df_arena_chunk *next = c->next;
		if (!keep && c->cap == DF_ARENA_CHUNK) {
			keep = c;
			keep->used = 0;
			keep->next = NULL;
		} else {
			free(c);
		}
		c = next;
	}
	a->head = keep;
	a->used_total = 0;
}

void df__arena_free(struct df_arena *a)
{
	struct df_arena_chunk *c = a->head;
	while (c) {
		struct df_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used_total = 0;
}

/* ---- types ---- */

struct df_type df__t_int = {DF_INT, 0, 1, NULL, NULL};
struct df_type df__t_float = {DF_FLOAT, 0, 1, NULL, NULL};
struct df_type df__t_bool = {DF_BOOL, 0, 1, NULL, NULL};
struct df_type df__t_str = {DF_STR, 0, 1, NULL, NULL};
struct df_type df__t_time = {DF_TIME, 0, 1, NULL, NULL};
struct df_type df__t_dur = {DF_DUR, 0, 1, NULL, NULL};

static struct df_type *type_compound(struct df_arena *a, enum df_tk k, struct df_type **el,
				     const char **names, unsigned n)
{
	struct df_type *t = df__arena_alloc(a, sizeof(*t));
	unsigned w = 0;

	if (!t || n > DF_TUPLE_MAX)
		return NULL;
	t->k = k;
	t->n = (uint16_t)n;
	t->el = df__arena_alloc(a, sizeof(*t->el) * (n ? n : 1));
	if (!t->el)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		t->el[i] = el[i];
		w += el[i]->width;
	}
	if (w > DF_WIDTH_MAX)
		return NULL;
	t->width = (uint16_t)w;
	if (names) {
		t->names = df__arena_alloc(a, sizeof(*t->names) * (n ? n : 1));
		if (!t->names)
			return NULL;
		memcpy(t->names, names, sizeof(*names) * n);
	}
	return t;
}

struct df_type *df__type_tuple(struct df_arena *a, struct df_type **el, unsigned n)
{
	return type_compound(a, DF_TUPLE, el, NULL, n);
}

struct df_type *df__type_record(struct df_arena *a, struct df_type **el, const char **names,
				unsigned n)
{
	return type_compound(a, DF_RECORD, el, names, n);
}

struct df_type *df__type_list(struct df_arena *a, struct df_type *el)
{
	struct df_type *t = type_compound(a, DF_LIST, &el, NULL, 1);
	if (t)
		t->width = 1;
	return t;
}

bool df__type_scalar(const struct df_type *t)
{
	return t->k <= DF_DUR;
}

bool df__type_eq(const struct df_type *x, const struct df_type *y)
{
	if (x == y)
		return true;
	if (x->k != y->k || x->n != y->n)
		return false;
	for (unsigned i = 0; i < x->n; i++) {
		if (!df__type_eq(x->el[i], y->el[i]))
			return false;
		if (x->k == DF_RECORD && strcmp(x->names[i], y->names[i]) != 0)
			return false;
	}
	return true;
}

static const char *const scalar_names[] = {"int", "float", "bool", "str", "time", "duration"};

int df__type_str(const struct df_type *t, char *buf, size_t cap)
{
	size_t o = 0;
#define PUT(...)                                                                                  \
	do {                                                                                      \
		int r_ = snprintf(buf + (o < cap ? o : cap), o < cap ? cap - o : 0, __VA_ARGS__); \
		if (r_ > 0)                                                                       \
			o += (size_t)r_;                                                          \
	} while (0)
	if (cap == 0)
		return 0;
	buf[0] = 0;
	if (df__type_scalar(t)) {
		PUT("%s", scalar_names[t->k]);
		return (int)o;
	}
	if (t->k == DF_LIST) {
		char inner[256];
		df__type_str(t->el[0], inner, sizeof inner);
		PUT("list<%s>", inner);
		return (int)o;
	}
	PUT("%s", t->k == DF_TUPLE ? "(" : "{ ");
	for (unsigned i = 0; i < t->n; i++) {
		char inner[256];
		df__type_str(t->el[i], inner, sizeof inner);
		if (t->k == DF_RECORD)
			PUT("%s%s: %s", i ? ", " : "", t->names[i], inner);
		else
			PUT("%s%s", i ? ", " : "", inner);
	}
	PUT("%s", t->k == DF_TUPLE ? ")" : " }");
#undef PUT
	return (int)o;
}

unsigned df__type_flatten(const struct df_type *t, uint8_t *kinds, const char **names,
			  struct df_arena *a, const char *prefix)
{
	unsigned n = 0;

	if (df__type_scalar(t) || t->k == DF_LIST) {
		kinds[0] = (uint8_t)t->k;
		if (names)
			names[0] = prefix && *prefix ? prefix : "value";
		return 1;
	}
	for (unsigned i = 0; i < t->n; i++) {
		char nm[128];
		const char *sub;
		if (t->k == DF_RECORD)
			snprintf(nm, sizeof nm, "%s%s%s", prefix && *prefix ? prefix : "",
				 prefix && *prefix ? "." : "", t->names[i]);
		else
			snprintf(nm, sizeof nm, "%s%s%u", prefix && *prefix ? prefix : "",
				 prefix && *prefix ? "." : "_", i);
		sub = names ? df__arena_strndup(a, nm, strlen(nm)) : NULL;
		n += df__type_flatten(t->el[i], kinds + n, names ? names + n : NULL, a, sub);
	}
	return n;
}

unsigned df__type_offset(const struct df_type *t, unsigned idx)
{
	unsigned off = 0;
	for (unsigned i = 0; i < idx; i++)
		off += t->el[i]->width;
	return off;
}

/* ---- byte buffers ---- */

void df__w_bytes(struct df_wbuf *w, const void *p, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *np = realloc(w->p, cap);
		if (!np) {
			w->oom = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

void df__w_u8(struct df_wbuf *w, uint8_t v)
{
	df__w_bytes(w, &v, 1);
}

void df__w_u32(struct df_wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	df__w_bytes(w, b, 4);
}

void df__w_u64(struct df_wbuf *w, uint64_t v)
{
	df__w_u32(w, (uint32_t)v);
	df__w_u32(w, (uint32_t)(v >> 32));
}

void df__w_str(struct df_wbuf *w, const char *s, size_t n)
{
	df__w_u32(w, (uint32_t)n);
	df__w_bytes(w, s, n);
}

const uint8_t *df__r_bytes(struct df_rbuf *r, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t df__r_u8(struct df_rbuf *r)
{
	const uint8_t *p = df__r_bytes(r, 1);
	return p ? p[0] : 0;
}

uint32_t df__r_u32(struct df_rbuf *r)
{
	const uint8_t *p = df__r_bytes(r, 4);
	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			       (uint32_t)p[3] << 24
		 : 0;
}

uint64_t df__r_u64(struct df_rbuf *r)
{
	uint64_t lo = df__r_u32(r);
	return lo | (uint64_t)df__r_u32(r) << 32;
}

/* ---- diagnostics ---- */

int df__error(struct df_cx *cx, int code, uint32_t line, uint32_t col, const char *fmt, ...)
{
	struct df_diag *d = cx->diag;
	char msg[512];
	va_list ap;

	if (cx->err)
		return cx->err;
	cx->err = code;
	if (!d)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	d->line = line;
	d->col = col;
	d->code = code;
	if (line == 0) {
		snprintf(d->text, sizeof d->text, "%s: error: %s\n", cx->file, msg);
		return code;
	}
	/* find the line's text */
	size_t start = 0, l = 1;
	for (size_t i = 0; i < cx->len && l < line; i++)
		if (cx->src[i] == '\n') {
			l++;
			start = i + 1;
		}
	size_t end = start;
	while (end < cx->len && cx->src[end] != '\n' && end - start < 200)
		end++;
	char caret[256];
	unsigned c = col > 0 ? col - 1 : 0, k;
	if (c > 200)
		c = 200;
	for (k = 0; k < c; k++)
		caret[k] = (start + k < cx->len && cx->src[start + k] == '\t') ? '\t' : ' ';
	caret[k++] = '^';
	caret[k] = 0;
	snprintf(d->text, sizeof d->text, "%s:%u:%u: error: %s\n%.*s\n%s\n", cx->file, line, col,
		 msg, (int)(end - start), cx->src + start, caret);
	return code;
}
