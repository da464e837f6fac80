/*
 * dataflow/df_plan.c — name resolution and stream typing: evaluates the
 * job's statements into a DAG of logical nodes (sources, transformations,
 * sinks), compiling every lambda against the element type of its stream.
 *
 * Stream methods: map filter flat_map key_by event_time window
 * reduce_by_key count sum min max avg distinct top union join and the sinks
 * write_csv write_text collect print (df_methods.c). Sources: read_text
 * read_csv tail_text tail_csv generate.
 *
 * This file walks the statements and let bindings, evaluates sources and
 * annotations and keeps the helpers both it and df_methods.c use to check
 * arguments and make nodes (declared in df_plan.h). Everything it makes
 * lives in the compile arena and belongs to the job.
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_plan.h"

int df__plan_err(struct pcx *P, const struct df_ast *a, const char *fmt, const char *s)
{
	return df__error(P->cx, SD_ETYPE, a->line, a->col, fmt, s);
}

struct lnode *df__plan_node(struct pcx *P, enum lk k, const struct df_ast *at, struct lnode *in,
			    const char *label)
{
	struct lnode *n;
	if (P->job->n_nodes >= DF_NODES_MAX) {
		df__error(P->cx, SD_ELIMIT, at->line, at->col, "too many operators (limit %d)",
			  DF_NODES_MAX);
		return NULL;
	}
	if (!(n = df__arena_alloc(P->cx->a, sizeof(*n)))) {
		df__error(P->cx, SD_ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	n->k = k;
	n->line = at->line;
	n->col = at->col;
	n->label = label;
	n->stage = n->source = n->sink = -1;
	n->bounded = true;
	if (in) {
		n->in[0] = in;
		in->consumers++;
		n->type = in->type;
		n->keyed = in->keyed;
		n->timed = in->timed;
		n->bounded = in->bounded;
	}
	P->job->nodes[P->job->n_nodes++] = n;
	return n;
}

struct df_pop_spec *df__plan_spec(struct pcx *P, enum df_pop kind, const struct df_type *in,
				  const struct df_type *out)
{
	struct df_pop_spec *s = df__arena_alloc(P->cx->a, sizeof(*s));
	if (!s) {
		df__error(P->cx, SD_ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	s->kind = (uint8_t)kind;
	s->late_out = -1;
	if (in)
		s->in_width = (uint16_t)df__type_flatten(in, s->in_kinds, NULL, NULL, NULL);
	if (out)
		s->out_width = (uint16_t)df__type_flatten(out, s->out_kinds, NULL, NULL, NULL);
	return s;
}

/* ---- program helpers ---- */

struct df_prog *df__prog_keyed(struct df_arena *a, const struct df_prog *p, unsigned kw)
{
	struct df_prog *q = df__arena_alloc(a, sizeof(*q));
	uint32_t *c = df__arena_alloc(a, sizeof(uint32_t) * (p->n_code + kw));
	uint32_t i = 0;

	if (!q || !c)
		return NULL;
	*q = *p;
	for (unsigned k = 0; k < kw; k++)
		c[k] = OP_LOAD | (uint32_t)k << 8;
	while (i < p->n_code) {
		uint32_t w = p->code[i], op = w & 0xff;
		c[kw + i] = op == OP_LOAD ? (OP_LOAD | ((w >> 8) + kw) << 8) : w;
		i++;
		if (df__opc_words(op) == 2 && i < p->n_code) {
			c[kw + i] = p->code[i]; /* operand word, unchanged */
			i++;
		}
	}
	q->code = c;
	q->n_code = p->n_code + kw;
	q->in_width = (uint16_t)(p->in_width + kw);
	q->out_width = (uint16_t)(p->out_width + kw);
	q->max_stack = (uint16_t)(p->max_stack + kw);
	return q;
}

/* (f(t), t): the program's result followed by its whole input. */
struct df_prog *df__prog_with_input(struct df_arena *a, const struct df_prog *p)
{
	struct df_prog *q = df__arena_alloc(a, sizeof(*q));
	uint32_t *c;
	if (!q || !(c = df__arena_alloc(a, sizeof(uint32_t) * (p->n_code + p->in_width))))
		return NULL;
	*q = *p;
	memcpy(c, p->code, sizeof(uint32_t) * (p->n_code - 1)); /* drop RET */
	for (unsigned i = 0; i < p->in_width; i++)
		c[p->n_code - 1 + i] = OP_LOAD | (uint32_t)i << 8;
	c[p->n_code - 1 + p->in_width] = OP_RET;
	q->code = c;
	q->n_code = p->n_code + p->in_width;
	q->out_width = (uint16_t)(p->out_width + p->in_width);
	q->max_stack = (uint16_t)(p->max_stack + p->in_width);
	return q;
}

/* ---- arguments ---- */

const struct df_ast *df__plan_arg(const struct df_ast *m, unsigned pos, const char *name)
{
	unsigned seen = 0;
	for (unsigned i = m->k == A_METHOD ? 1 : 0; i < m->n; i++) {
		if (m->names[i] && name && strcmp(m->names[i], name) == 0)
			return m->kids[i];
		if (!m->names[i] && seen++ == pos)
			return m->kids[i];
	}
	return NULL;
}

int df__plan_check_args(struct pcx *P, const struct df_ast *m, unsigned max_pos,
			const char *const *named)
{
	unsigned pos = 0;
	for (unsigned i = m->k == A_METHOD ? 1 : 0; i < m->n; i++) {
		const char *nm = m->names[i];
		if (!nm) {
			if (++pos > max_pos)
				return df__error(P->cx, SD_ETYPE, m->kids[i]->line, m->kids[i]->col,
						 "too many arguments to %s(): expected %u", m->name,
						 max_pos);
			continue;
		}
		bool ok = false;
		for (unsigned k = 0; named && named[k]; k++)
			ok |= strcmp(named[k], nm) == 0;
		if (!ok)
			return df__error(P->cx, SD_ETYPE, m->kids[i]->line, m->kids[i]->col,
					 "%s() has no argument named '%s'", m->name, nm);
	}
	return 0;
}

int df__plan_need_lambda(struct pcx *P, const struct df_ast *m, const struct df_ast *l,
			 const char *what)
{
	if (!l)
		return df__error(P->cx, SD_ETYPE, m->line, m->col, "%s() needs %s", m->name, what);
	if (l->k != A_LAMBDA)
		return df__error(P->cx, SD_ETYPE, l->line, l->col,
				 "expected a lambda like x -> ... for %s", what);
	return 0;
}

int df__plan_const_int(struct pcx *P, const struct df_ast *v, enum df_ak k, int64_t *out,
		       const char *what)
{
	if (!v || v->k != k)
		return df__error(P->cx, SD_ETYPE, v ? v->line : 0, v ? v->col : 0, "expected %s",
				 what);
	*out = v->ival;
	return 0;
}

int df__plan_const_str(struct pcx *P, const struct df_ast *v, const char **out, const char *what)
{
	if (!v || v->k != A_STR)
		return df__error(P->cx, SD_ETYPE, v ? v->line : 0, v ? v->col : 0,
				 "expected %s as a string", what);
	*out = v->sval;
	return 0;
}

static struct df_type *type_name(struct pcx *P, const struct df_ast *v)
{
	static const struct {
		const char *n;
		struct df_type *t;
	} names[] = {{"int", &df__t_int}, {"float", &df__t_float}, {"bool", &df__t_bool},
		     {"str", &df__t_str}, {"time", &df__t_time},   {"duration", &df__t_dur}};
	if (v->k == A_IDENT)
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strcmp(names[i].n, v->name) == 0)
				return names[i].t;
	df__error(P->cx, SD_ETYPE, v->line, v->col,
		  "expected a field type: int, float, bool, str, time or duration");
	return NULL;
}

static struct lnode *eval_source(struct pcx *P, const struct df_ast *a)
{
	static const char *const srcs[] = {"read_text", "tail_text", "read_csv", "tail_csv",
					   "generate"};
	static const char *const named[] = {"path", "schema", "count", NULL};
	struct df_job *job = P->job;
	struct lnode *n;
	struct df_source_info *si;
	unsigned which = 0;
	const struct df_ast *path = df__plan_arg(a, 0, "path");

	while (which < 5 && strcmp(srcs[which], a->name) != 0)
		which++;
	if (which == 5) {
		df__plan_err(
			P, a,
			"unknown source '%s': expected read_text, read_csv, tail_text, tail_csv or "
			"generate",
			a->name);
		return NULL;
	}
	if (df__plan_check_args(P, a, which >= 2 && which < 4 ? 2 : 1, named) ||
	    !(n = df__plan_node(P, L_SOURCE, a, NULL, a->name)))
		return NULL;
	if (job->n_sources % 16 == 0) {
		struct df_source_info *ns =
			df__arena_alloc(P->cx->a, sizeof(*ns) * (job->n_sources + 16));
		if (!ns) {
			df__error(P->cx, SD_ENOMEM, 0, 0, "out of memory");
			return NULL;
		}
		if (job->n_sources)
			memcpy(ns, job->sources, sizeof(*ns) * job->n_sources);
		job->sources = ns;
	}
	si = &job->sources[job->n_sources];
	si->id = job->n_sources;
	n->source = (int)job->n_sources++;
	n->bounded = which != 1 && which != 3;
	si->follow = !n->bounded;
	if (which == 4) {
		int64_t cnt = 0;
		if (df__plan_const_int(P, df__plan_arg(a, 0, "count"), A_INT, &cnt,
				       "generate(count): an integer"))
			return NULL;
		si->kind = DF_SRC_GENERATE;
		si->generate_n = (uint64_t)cnt;
		n->type = &df__t_int;
		return n;
	}
	if (df__plan_const_str(P, path, &si->path, "the path"))
		return NULL;
	if (strncmp(si->path, "netfs://", 8) != 0) {
		df__error(P->cx, SD_ETYPE, path->line, path->col,
			  "source paths live on the file service: expected \"netfs://...\"");
		return NULL;
	}
	si->kind = which < 2 ? DF_SRC_TEXT : DF_SRC_CSV;
	if (which < 2) {
		n->type = &df__t_str;
		return n;
	}
	const struct df_ast *sch = df__plan_arg(a, 1, "schema");
	if (!sch || sch->k != A_RECORD || sch->n == 0) {
		df__error(P->cx, SD_ETYPE, sch ? sch->line : a->line, sch ? sch->col : a->col,
			  "%s needs a record type like { ts: int, url: str }", a->name);
		return NULL;
	}
	struct df_type *el[DF_TUPLE_MAX];
	for (unsigned i = 0; i < sch->n; i++)
		if (!(el[i] = type_name(P, sch->kids[i])))
			return NULL;
	n->type = df__type_record(P->cx->a, el, sch->names, sch->n);
	return n->type ? n : NULL;
}

static struct lnode *eval_at(struct pcx *P, const struct df_ast *a);

/* Chains nest as deeply as they are long: bound the recursion. */
struct lnode *df__plan_eval(struct pcx *P, const struct df_ast *a)
{
	struct lnode *n;
	if (++P->depth > DF_CHAIN_MAX) {
		df__error(P->cx, SD_ELIMIT, a->line, a->col,
			  "method chain too long (limit %d operators)", DF_CHAIN_MAX);
		return NULL;
	}
	n = eval_at(P, a);
	P->depth--;
	return n;
}

static struct lnode *eval_at(struct pcx *P, const struct df_ast *a)
{
	struct lnode *n;
	switch (a->k) {
	case A_CALL:
		return eval_source(P, a);
	case A_IDENT:
		for (unsigned i = P->n_lets; i-- > 0;)
			if (strcmp(P->let_names[i], a->name) == 0)
				return P->let_nodes[i];
		df__plan_err(P, a,
			     "unknown stream '%s': expected a source or a name bound with let",
			     a->name);
		return NULL;
	case A_METHOD:
		if (!(n = df__plan_eval(P, a->kids[0])))
			return NULL;
		return df__plan_method(P, a, n);
	case A_ANNOT:
		if (!(n = df__plan_eval(P, a->kids[0])))
			return NULL;
		if (n->n_anns >= DF_ANNS_MAX) {
			df__plan_err(P, a, "too many annotations on one operator%s", "");
			return NULL;
		}
		if (strcmp(a->name, "parallelism") == 0) {
			int64_t v = 0;
			if (a->n != 2 || df__plan_const_int(P, a->kids[1], A_INT, &v,
							    "@parallelism(n) with an integer n"))
				return NULL;
			if (v < 1 || v > DF_PARALLELISM_MAX) {
				df__plan_err(P, a, "@parallelism must be between 1 and %s", "1024");
				return NULL;
			}
			n->parallelism = (unsigned)v;
			return n;
		}
		if (df__annotation_parse(P->cx, P->job, a, n, &n->anns[n->n_anns],
					 &n->near[n->n_anns]))
			return NULL;
		n->n_anns++;
		return n;
	default:
		df__plan_err(P, a, "expected a stream (a source, a let name or a method chain)%s",
			     "");
		return NULL;
	}
}

int df__build_logical(struct df_cx *cx, struct df_job *job, const struct df_program_ast *prog,
		      const struct df_compile_opts *opts)
{
	struct pcx P = {.cx = cx, .job = job, .prog = prog};
	bool any_sink = false;

	if (prog->job_block)
		for (unsigned i = 0; i < prog->job_block->n; i++)
			if (df__job_option(cx, job, prog->job_block->names[i],
					   prog->job_block->kids[i]))
				return cx->err;
	for (unsigned i = 0; i < prog->n_stmts; i++) {
		const struct df_stmt *s = &prog->stmts[i];
		struct lnode *n = df__plan_eval(&P, s->e);
		if (!n)
			return cx->err ? cx->err
				       : df__error(cx, SD_ETYPE, s->line, s->col, "bad statement");
		if (s->let_name) {
			if (n->k == L_SINK)
				return df__error(cx, SD_ETYPE, s->line, s->col,
						 "'%s' is bound to a sink, which is not a stream",
						 s->let_name);
			if (P.n_lets >= 256)
				return df__error(cx, SD_ELIMIT, s->line, s->col,
						 "too many let bindings");
			for (unsigned k = 0; k < P.n_lets; k++)
				if (strcmp(P.let_names[k], s->let_name) == 0)
					return df__error(cx, SD_ETYPE, s->line, s->col,
							 "'%s' is already bound", s->let_name);
			P.let_names[P.n_lets] = s->let_name;
			P.let_nodes[P.n_lets++] = n;
			if (!n->let_name)
				n->let_name = s->let_name;
		} else if (n->k != L_SINK) {
			return df__error(cx, SD_ETYPE, s->line, s->col,
					 "this pipeline has no sink: expected .write_csv(...), "
					 ".write_text(...), .collect() or .print() at its end");
		}
		any_sink |= n->k == L_SINK;
		if (n->k == L_WINDOW)
			return df__error(cx, SD_ETYPE, n->line, n->col,
					 "a window must be followed by an aggregate");
	}
	for (unsigned i = 0; i < job->n_nodes; i++) {
		struct lnode *n = job->nodes[i];
		if (n->k == L_WINDOW && n->consumers == 0)
			return df__error(cx, SD_ETYPE, n->line, n->col,
					 "a window must be followed by an aggregate");
	}
	if (!any_sink)
		return df__error(cx, SD_ETYPE, 0, 0,
				 "the job has no sink: nothing would be computed");
	(void)opts;
	return 0;
}
