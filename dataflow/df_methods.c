/*
 * dataflow/df_methods.c — stream methods: map, filter, flat_map, key_by,
 * event_time, window, the aggregates, distinct, top, union, join and the
 * sinks. df_plan.c's evaluator hands every method call to df__plan_method.
 * Each checks its arguments, compiles its lambdas against the stream's
 * element type and makes a logical node with its operator spec(s); nodes,
 * specs and programs live in the compile arena, owned by the job.
 */
#include <string.h>

#include "base/err.h"
#include "dataflow/df_plan.h"

static struct df_type *tuple2(struct pcx *P, struct df_type *a, struct df_type *b)
{
	struct df_type *el[2] = {a, b};
	struct df_type *t = df__type_tuple(P->cx->a, el, 2);
	if (!t)
		df__error(P->cx, SD_ELIMIT, 0, 0, "value too wide");
	return t;
}

static bool not_list(struct pcx *P, const struct df_ast *at, const struct df_type *t)
{
	if (t->k != DF_LIST)
		return true;
	df__error(P->cx, SD_ETYPE, at->line, at->col,
		  "a list is not a record: use flat_map to turn lists into records");
	return false;
}

/* Compiles lambda l against type t (one parameter). */
static struct df_prog *lam(struct pcx *P, const struct df_ast *l, struct df_type *t,
			   struct df_type **rt)
{
	struct df_prog *p;
	return df__expr_compile(P->cx, l, &t, 1, &p, rt) ? NULL : p;
}

/* event_time(..., late = "name"): the records behind the watermark become the
 * stream `name` instead of being dropped later by windows. */
static struct lnode *late_stream(struct pcx *P, const struct df_ast *m, struct lnode *ev)
{
	const struct df_ast *nm = df__plan_arg(m, 2, "late");
	struct lnode *l;
	if (nm->k != A_STR || nm->slen == 0) {
		df__error(P->cx, SD_ETYPE, nm->line, nm->col,
			  "late = expects the side output's name as a string");
		return NULL;
	}
	for (unsigned k = 0; k < P->n_lets; k++)
		if (strcmp(P->let_names[k], nm->sval) == 0) {
			df__error(P->cx, SD_ETYPE, nm->line, nm->col, "'%s' is already bound",
				  nm->sval);
			return NULL;
		}
	if (P->n_lets >= 256) {
		df__error(P->cx, SD_ELIMIT, nm->line, nm->col, "too many names");
		return NULL;
	}
	if (!(l = df__plan_node(P, L_LATE, m, ev, "late")))
		return NULL;
	ev->consumers--; /* the side output does not continue the chain */
	l->let_name = nm->sval;
	ev->spec->late_out = 1;
	P->let_names[P->n_lets] = nm->sval;
	P->let_nodes[P->n_lets++] = l;
	return l;
}

static struct lnode *m_narrow(struct pcx *P, const struct df_ast *m, struct lnode *in)
{
	static const char *const nm[] = {"lateness", "late", NULL};
	const char *name = m->name;
	bool is_ev = strcmp(name, "event_time") == 0;
	const struct df_ast *l = df__plan_arg(m, 0, NULL);
	struct df_type *rt;
	struct df_prog *p;
	struct lnode *n;
	enum lk k = !strcmp(name, "map")        ? L_MAP
		    : !strcmp(name, "filter")   ? L_FILTER
		    : !strcmp(name, "flat_map") ? L_FLATMAP
		    : is_ev                     ? L_EVTIME
						: L_MAP; /* key_by is a map */

	if (df__plan_check_args(P, m, 1, is_ev ? nm : NULL) ||
	    df__plan_need_lambda(P, m, l, "a lambda") || !(p = lam(P, l, in->type, &rt)) ||
	    !(n = df__plan_node(P, k, m, in, name)))
		return NULL;
	n->keyed = false;
	switch (k) {
	case L_FILTER:
		n->keyed = in->keyed;
		if (rt->k != DF_BOOL) {
			char b[128];
			df__type_str(rt, b, sizeof b);
			df__error(P->cx, SD_ETYPE, l->line, l->col,
				  "filter needs a bool lambda, this one gives %s", b);
			return NULL;
		}
		n->spec = df__plan_spec(P, P_FILTER, in->type, in->type);
		break;
	case L_FLATMAP:
		if (rt->k != DF_LIST) {
			df__error(
				P->cx, SD_ETYPE, l->line, l->col,
				"flat_map needs a lambda giving a list (e.g. split(line, \" \"))");
			return NULL;
		}
		n->type = rt->el[0];
		n->spec = df__plan_spec(P, P_FLATMAP, in->type, n->type);
		break;
	case L_EVTIME: {
		const struct df_ast *late = df__plan_arg(m, 1, "lateness");
		n->keyed = in->keyed;
		if (rt->k != DF_INT && rt->k != DF_TIME) {
			df__error(P->cx, SD_ETYPE, l->line, l->col,
				  "event_time needs a lambda giving time or int (milliseconds)");
			return NULL;
		}
		if (!(n->spec = df__plan_spec(P, P_EVTIME, in->type, in->type)))
			return NULL;
		n->spec->ts_is_time = rt->k == DF_TIME;
		if (late && df__plan_const_int(P, late, A_DUR, &n->spec->lateness,
					       "lateness as a duration like 2s"))
			return NULL;
		n->timed = true;
		if (df__plan_arg(m, 2, "late") && !late_stream(P, m, n))
			return NULL;
		break;
	}
	default:
		if (!not_list(P, l, rt))
			return NULL;
		if (strcmp(name, "key_by") == 0) {
			if (!(p = df__prog_with_input(P->cx->a, p)) ||
			    !(n->type = tuple2(P, rt, in->type)))
				return NULL;
			n->keyed = true;
		} else {
			n->type = rt;
		}
		n->spec = df__plan_spec(P, P_MAP, in->type, n->type);
	}
	if (!n->spec)
		return NULL;
	n->spec->prog = p;
	return n;
}

static struct lnode *m_window(struct pcx *P, const struct df_ast *m, struct lnode *in)
{
	const struct df_ast *w = df__plan_arg(m, 0, NULL);
	struct lnode *n;
	int64_t a = 0, b = 0;

	if (df__plan_check_args(P, m, 1, NULL))
		return NULL;
	if (!in->timed) {
		df__plan_err(P, m,
			     "window() needs event time: add .event_time(x -> x.ts, lateness = 1s) "
			     "before it%s",
			     "");
		return NULL;
	}
	if (!w || w->k != A_CALL || w->n < 1) {
		df__plan_err(P, m, "expected tumbling(size), sliding(size, step) or session(gap)%s",
			     "");
		return NULL;
	}
	if (df__plan_const_int(P, w->kids[0], A_DUR, &a, "a duration like 10s") ||
	    (w->n > 1 && df__plan_const_int(P, w->kids[1], A_DUR, &b, "a duration like 5s")))
		return NULL;
	if (!(n = df__plan_node(P, L_WINDOW, m, in, "window")))
		return NULL;
	n->win_size = a;
	if (!strcmp(w->name, "tumbling") && w->n == 1) {
		n->win = W_TUMBLING;
		n->win_step = a;
	} else if (!strcmp(w->name, "sliding") && w->n == 2 && b > 0 && a % b == 0) {
		n->win = W_SLIDING;
		n->win_step = b;
	} else if (!strcmp(w->name, "session") && w->n == 1) {
		n->win = W_SESSION;
	} else {
		df__plan_err(P, w,
			     "expected tumbling(size), sliding(size, step) with size a multiple of "
			     "step, or session(gap)%s",
			     "");
		return NULL;
	}
	if (a <= 0) {
		df__plan_err(P, w, "window sizes must be positive%s", "");
		return NULL;
	}
	return n;
}

/* count/sum/min/max/avg/reduce_by_key: partial before the shuffle, final after. */
static struct lnode *m_agg(struct pcx *P, const struct df_ast *m, struct lnode *in)
{
	static const char *const aggs[] = {"count", "sum", "min", "max", "avg", "reduce_by_key"};
	const struct lnode *win = in->k == L_WINDOW ? in : NULL;
	struct lnode *src = win ? in->in[0] : in, *n;
	struct df_type *kt, *vt, *xt = NULL, *acc_el[3], *out_el[4];
	const char *out_names[4];
	const struct df_ast *l = df__plan_arg(m, 0, NULL);
	unsigned agg = 0, kw, no = 0, na = 0;
	struct df_prog *p = NULL;

	while (strcmp(aggs[agg], m->name) != 0)
		agg++;
	if (df__plan_check_args(P, m, agg == AG_COUNT ? 0 : 1, NULL))
		return NULL;
	if (src->keyed || (agg == AG_REDUCE && src->type->k == DF_TUPLE && src->type->n == 2)) {
		kt = src->type->el[0];
		vt = src->type->el[1];
	} else if (agg == AG_REDUCE) {
		df__plan_err(P, m,
			     "reduce_by_key needs (key, value) pairs: use .map(x -> (k, v)) or "
			     "key_by first%s",
			     "");
		return NULL;
	} else {
		kt = df__type_tuple(P->cx->a, NULL, 0); /* global aggregate: empty key */
		vt = src->type;
	}
	if (!kt)
		return NULL;
	kw = kt->width;
	if (!(n = df__plan_node(P, L_AGG, m, in, m->name)))
		return NULL;
	n->keyed = false;
	n->in[0] = src; /* the window marker is folded into this node */
	/* the value each record contributes */
	if (agg == AG_REDUCE) {
		struct df_type *pt[2] = {vt, vt}, *rt;
		if (df__plan_need_lambda(P, m, l, "a lambda (a, b) -> ...") ||
		    df__expr_compile(P->cx, l, pt, 2, &p, &rt))
			return NULL;
		if (!df__type_eq(rt, vt)) {
			char b1[128], b2[128];
			df__type_str(rt, b1, sizeof b1);
			df__type_str(vt, b2, sizeof b2);
			df__error(P->cx, SD_ETYPE, l->line, l->col,
				  "reduce gives %s but the values are %s", b1, b2);
			return NULL;
		}
		xt = vt;
		acc_el[na++] = vt;
	} else if (agg != AG_COUNT) {
		struct df_prog *f;
		if (df__plan_need_lambda(P, m, l, "a lambda giving the value") ||
		    !(f = lam(P, l, vt, &xt)))
			return NULL;
		if (xt->k != DF_INT && xt->k != DF_FLOAT &&
		    !(agg >= AG_MIN && agg <= AG_MAX && df__type_scalar(xt) && xt->k != DF_BOOL)) {
			df__error(P->cx, SD_ETYPE, l->line, l->col, "%s() needs a numeric value",
				  m->name);
			return NULL;
		}
		/* pre-projection (k, t) -> (k, f(t)) */
		if (!(n->pre[0] = df__plan_spec(P, P_MAP, src->type, NULL)) ||
		    !(n->pre[0]->prog = df__prog_keyed(P->cx->a, f, kw)))
			return NULL;
		if (!src->keyed) /* no key slots: f runs on the whole element */
			n->pre[0]->prog = f;
		n->pre[0]->out_width =
			(uint16_t)df__type_flatten(kt, n->pre[0]->out_kinds, NULL, NULL, NULL);
		n->pre[0]->out_kinds[kw] = (uint8_t)xt->k;
		n->pre[0]->out_width = (uint16_t)(kw + 1);
		acc_el[na++] = agg == AG_AVG ? &df__t_float : xt;
		if (agg == AG_AVG)
			acc_el[na++] = &df__t_int;
	} else {
		/* pre-projection (k, t) -> (k) */
		uint16_t slots[DF_WIDTH_MAX];
		for (unsigned i = 0; i < kw; i++)
			slots[i] = (uint16_t)i;
		if (!(n->pre[0] = df__plan_spec(P, P_MAP, src->type, kt)) ||
		    !(n->pre[0]->prog = df__prog_project(P->cx->a, src->type->width, slots, kw)))
			return NULL;
		acc_el[na++] = &df__t_int;
	}
	/* partial: (k, v) -> (k, [wstart], acc); final: -> (k, [ws, we], result) */
	struct df_type *pin = agg == AG_REDUCE ? src->type : NULL;
	struct df_pop_spec *ps = df__plan_spec(P, P_AGG, pin, NULL),
			   *fs = df__plan_spec(P, P_AGG, NULL, NULL);
	if (!ps || !fs)
		return NULL;
	if (agg != AG_REDUCE) {
		ps->in_width = n->pre[0]->out_width;
		memcpy(ps->in_kinds, n->pre[0]->out_kinds, ps->in_width);
		n->pre[0]->kind = P_MAP;
	}
	ps->agg = fs->agg = (uint8_t)agg;
	ps->mode = M_PARTIAL;
	fs->mode = M_FINAL;
	ps->key_width = fs->key_width = (uint16_t)kw;
	ps->val_width = fs->val_width = (uint16_t)(xt ? xt->width : 0);
	ps->val_kind = fs->val_kind = (uint8_t)(xt && df__type_scalar(xt) ? xt->k : DF_INT);
	ps->prog = fs->prog = p;
	if (win) {
		ps->win = fs->win = win->win;
		ps->win_size = fs->win_size = win->win_size;
		ps->win_step = fs->win_step = win->win_step;
	}
	struct df_type *tmp_el[4];
	unsigned np = 0;
	tmp_el[np++] = kt;
	if (win)
		tmp_el[np++] = &df__t_time;
	for (unsigned i = 0; i < na; i++)
		tmp_el[np++] = acc_el[i];
	struct df_type *ptype = df__type_tuple(P->cx->a, tmp_el, np);
	if (!ptype)
		return NULL;
	ps->out_width = (uint16_t)df__type_flatten(ptype, ps->out_kinds, NULL, NULL, NULL);
	fs->in_width = ps->out_width;
	memcpy(fs->in_kinds, ps->out_kinds, ps->out_width);
	/* the result type */
	if (kw || !win) {
		out_el[no] = kt;
		out_names[no++] = "key";
	}
	if (win) {
		out_el[no] = &df__t_time;
		out_names[no++] = "window_start";
		out_el[no] = &df__t_time;
		out_names[no++] = "window_end";
	}
	out_el[no] = agg == AG_COUNT ? &df__t_int : agg == AG_AVG ? &df__t_float : xt;
	out_names[no++] = agg == AG_REDUCE ? "value" : aggs[agg];
	if (kw == 0 && !win) { /* drop the empty key */
		out_el[0] = out_el[1];
		out_names[0] = out_names[1];
		no = 1;
	}
	if (agg == AG_REDUCE && !win)
		n->type = tuple2(P, kt, vt); /* Spark-like pairs */
	else
		n->type = df__type_record(P->cx->a, out_el, out_names, no);
	if (!n->type)
		return NULL;
	fs->out_width = (uint16_t)df__type_flatten(n->type, fs->out_kinds, NULL, NULL, NULL);
	n->spec = ps;
	n->spec2 = fs;
	n->timed = src->timed;
	return n;
}

static struct lnode *m_distinct_top(struct pcx *P, const struct df_ast *m, struct lnode *in)
{
	static const char *const nm[] = {"by", NULL};
	bool top = strcmp(m->name, "top") == 0;
	struct lnode *n;
	struct df_pop_spec *ps, *fs;

	if (df__plan_check_args(P, m, top ? 1 : 0, top ? nm : NULL) || !not_list(P, m, in->type))
		return NULL;
	if (!(n = df__plan_node(P, top ? L_TOP : L_DISTINCT, m, in, m->name)))
		return NULL;
	n->keyed = in->keyed && !top;
	ps = df__plan_spec(P, top ? P_TOP : P_DISTINCT, in->type, in->type);
	fs = df__plan_spec(P, top ? P_TOP : P_DISTINCT, in->type, in->type);
	if (!ps || !fs)
		return NULL;
	ps->mode = M_PARTIAL;
	fs->mode = M_FINAL;
	if (top) {
		int64_t cnt = 0;
		const struct df_ast *by = df__plan_arg(m, 1, "by");
		struct df_type *rt = in->type;
		if (df__plan_const_int(P, df__plan_arg(m, 0, NULL), A_INT, &cnt,
				       "top(n, by = x -> ...) with an integer n"))
			return NULL;
		if (cnt < 1 || cnt > DF_TOP_MAX) {
			df__plan_err(P, m, "top(n): n must be between 1 and %s", "100000");
			return NULL;
		}
		if (by) {
			if (df__plan_need_lambda(P, m, by, "by = x -> value") ||
			    !(ps->prog = lam(P, by, in->type, &rt)))
				return NULL;
		} else {
			uint16_t z = 0;
			ps->prog = df__prog_project(P->cx->a, in->type->width, &z, 1);
		}
		if (!df__type_scalar(rt) || rt->k == DF_BOOL) {
			df__plan_err(P, by ? by : m,
				     "top needs a number, string or time to rank by%s", "");
			return NULL;
		}
		if (!in->bounded) {
			df__plan_err(
				P, m,
				"top() needs a bounded stream (it emits when the input ends)%s",
				"");
			return NULL;
		}
		ps->top_n = fs->top_n = (uint32_t)cnt;
		ps->val_kind = fs->val_kind = (uint8_t)rt->k;
		fs->prog = ps->prog;
	}
	n->spec = ps;
	n->spec2 = fs;
	return n;
}

static struct lnode *m_union(struct pcx *P, const struct df_ast *m, struct lnode *in)
{
	const struct df_ast *o = df__plan_arg(m, 0, NULL);
	struct lnode *other, *n;
	if (df__plan_check_args(P, m, 1, NULL) || !o || !(other = df__plan_eval(P, o)))
		return P->cx->err
			       ? NULL
			       : (df__plan_err(P, m, "union() needs another stream%s", ""), NULL);
	if (!df__type_eq(in->type, other->type) || other->k == L_SINK || other->k == L_WINDOW) {
		char b1[128], b2[128];
		df__type_str(in->type, b1, sizeof b1);
		df__type_str(other->type, b2, sizeof b2);
		df__error(P->cx, SD_ETYPE, o->line, o->col, "union of different types: %s and %s",
			  b1, b2);
		return NULL;
	}
	if (!(n = df__plan_node(P, L_UNION, m, in, "union")))
		return NULL;
	n->in[1] = other;
	other->consumers++;
	n->keyed = in->keyed && other->keyed;
	n->timed = in->timed && other->timed;
	n->bounded = in->bounded && other->bounded;
	return n;
}

static struct lnode *m_join(struct pcx *P, const struct df_ast *m, struct lnode *in)
{
	static const char *const nm[] = {"on", "within", NULL};
	const struct df_ast *o = df__plan_arg(m, 0, NULL), *on = df__plan_arg(m, 1, "on"),
			    *wi = df__plan_arg(m, 2, "within");
	struct lnode *other, *n, *side[2];
	struct df_type *kt[2], *vt[2];
	int64_t within = 0;

	if (df__plan_check_args(P, m, 3, nm) || !o)
		return P->cx->err ? NULL
				  : (df__plan_err(P, m, "join() needs another stream%s", ""), NULL);
	if (!(other = df__plan_eval(P, o)))
		return NULL;
	side[0] = in;
	side[1] = other;
	if (!(n = df__plan_node(P, L_JOIN, m, in, "join")))
		return NULL;
	n->in[1] = other;
	other->consumers++;
	for (int s = 0; s < 2; s++) {
		if (on) {
			struct df_prog *p;
			if (on->k != A_TUPLE || on->n != 2 ||
			    df__plan_need_lambda(P, m, on->kids[s], "on = (a -> key, b -> key)") ||
			    !(p = lam(P, on->kids[s], side[s]->type, &kt[s])) ||
			    !not_list(P, on, kt[s]))
				return P->cx->err ? NULL
						  : (df__plan_err(
							     P, on,
							     "expected on = (a -> key, b -> key)%s",
							     ""),
						     NULL);
			if (!(n->pre[s] = df__plan_spec(P, P_MAP, side[s]->type, NULL)) ||
			    !(n->pre[s]->prog = df__prog_with_input(P->cx->a, p)))
				return NULL;
			vt[s] = side[s]->type;
			struct df_type *pt = tuple2(P, kt[s], vt[s]);
			if (!pt)
				return NULL;
			n->pre[s]->out_width = (uint16_t)df__type_flatten(pt, n->pre[s]->out_kinds,
									  NULL, NULL, NULL);
		} else if (side[s]->keyed) {
			kt[s] = side[s]->type->el[0];
			vt[s] = side[s]->type->el[1];
		} else {
			df__plan_err(
				P, m,
				"join() needs on = (a -> key, b -> key) or two key_by streams%s",
				"");
			return NULL;
		}
	}
	if (!df__type_eq(kt[0], kt[1])) {
		df__plan_err(P, on ? on : m, "the join keys have different types%s", "");
		return NULL;
	}
	if (wi && df__plan_const_int(P, wi, A_DUR, &within, "within = a duration like 30s"))
		return NULL;
	if (!(in->bounded && other->bounded) && (!wi || !in->timed || !other->timed)) {
		df__plan_err(P, m,
			     "joining unbounded streams needs event_time on both and within = "
			     "<duration>%s",
			     "");
		return NULL;
	}
	if (wi && within <= 0) {
		df__plan_err(P, wi, "within must be positive%s", "");
		return NULL;
	}
	if (!(n->type = tuple2(P, vt[0], vt[1])) ||
	    !(n->spec = df__plan_spec(P, P_JOIN, NULL, n->type)))
		return NULL;
	n->keyed = false;
	n->timed = in->timed && other->timed;
	n->bounded = in->bounded && other->bounded;
	n->spec->key_width = kt[0]->width;
	n->spec->left_width = vt[0]->width;
	n->spec->right_width = vt[1]->width;
	n->spec->within = within;
	return n;
}

/* A sink writes one file: "netfs://" must be followed by a file's path
 * (relative, no empty, "." or ".." parts, not a directory's). Checked here
 * so the job is refused with the path, not failed later at a commit. */
static int sink_path_check(struct pcx *P, const struct df_ast *at, const char *path)
{
	const char *rest = path + 8, *why = NULL;
	size_t n = strlen(rest);
	if (n == 0)
		why = "names no file";
	else if (rest[n - 1] == '/')
		why = "names a directory";
	for (const char *c = rest; !why && n; c += strcspn(c, "/") + 1) {
		size_t len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && !strncmp(c, "..", 2)))
			why = "has an empty, '.' or '..' part";
		if (!c[len])
			break;
	}
	if (!why)
		return 0;
	return df__error(P->cx, SD_EPATH, at->line, at->col,
			 "output path \"%s\" %s: give a file, such as \"netfs://out/result.csv\"",
			 path, why);
}

static struct lnode *m_sink(struct pcx *P, const struct df_ast *m, struct lnode *in)
{
	static const char *const sinks[] = {"write_text", "write_csv", "collect", "print"};
	struct df_job *job = P->job;
	unsigned which = 0;
	struct lnode *n;

	while (strcmp(sinks[which], m->name) != 0)
		which++;
	if (df__plan_check_args(P, m, which < 2 ? 1 : 0, NULL) || !not_list(P, m, in->type) ||
	    !(n = df__plan_node(P, L_SINK, m, in, m->name)))
		return NULL;
	if (job->n_sinks % 16 == 0) {
		struct df_sink_info *ns =
			df__arena_alloc(P->cx->a, sizeof(*ns) * (job->n_sinks + 16));
		if (!ns)
			return NULL;
		if (job->n_sinks)
			memcpy(ns, job->sinks, sizeof(*ns) * job->n_sinks);
		job->sinks = ns;
	}
	struct df_sink_info *si = &job->sinks[job->n_sinks];
	si->id = job->n_sinks;
	si->kind = (enum df_sink_kind)which;
	n->sink = (int)job->n_sinks++;
	if (which < 2) {
		if (df__plan_const_str(P, df__plan_arg(m, 0, NULL), &si->path, "the output path"))
			return NULL;
		if (strncmp(si->path, "netfs://", 8) != 0) {
			df__plan_err(
				P, m,
				"sink paths live on the file service: expected \"netfs://...\"%s",
				"");
			return NULL;
		}
		if (sink_path_check(P, df__plan_arg(m, 0, NULL), si->path))
			return NULL;
	}
	if (which == DF_SINK_COLLECT && !in->bounded) {
		df__plan_err(P, m, "collect() needs a bounded stream: use print() or a file sink%s",
			     "");
		return NULL;
	}
	return n;
}

struct lnode *df__plan_method(struct pcx *P, const struct df_ast *m, struct lnode *in)
{
	const char *name = m->name;
	if (in->k == L_SINK) {
		df__plan_err(P, m, "nothing can follow a sink; '%s' comes after one", name);
		return NULL;
	}
	if (in->k == L_WINDOW && strcmp(name, "count") && strcmp(name, "sum") &&
	    strcmp(name, "min") && strcmp(name, "max") && strcmp(name, "avg") &&
	    strcmp(name, "reduce_by_key")) {
		df__plan_err(P, m,
			     "after window() expected an aggregate (count, sum, min, max, avg, "
			     "reduce_by_key), found '%s'",
			     name);
		return NULL;
	}
	if (!strcmp(name, "map") || !strcmp(name, "filter") || !strcmp(name, "flat_map") ||
	    !strcmp(name, "key_by") || !strcmp(name, "event_time"))
		return m_narrow(P, m, in);
	if (!strcmp(name, "window"))
		return m_window(P, m, in);
	if (!strcmp(name, "count") || !strcmp(name, "sum") || !strcmp(name, "min") ||
	    !strcmp(name, "max") || !strcmp(name, "avg") || !strcmp(name, "reduce_by_key"))
		return m_agg(P, m, in);
	if (!strcmp(name, "distinct") || !strcmp(name, "top"))
		return m_distinct_top(P, m, in);
	if (!strcmp(name, "union"))
		return m_union(P, m, in);
	if (!strcmp(name, "join"))
		return m_join(P, m, in);
	if (!strcmp(name, "write_text") || !strcmp(name, "write_csv") || !strcmp(name, "collect") ||
	    !strcmp(name, "print"))
		return m_sink(P, m, in);
	df__plan_err(
		P, m,
		"unknown method '%s': expected map, filter, flat_map, key_by, event_time, "
		"window, reduce_by_key, count, sum, min, max, avg, distinct, top, union, join, "
		"write_csv, write_text, collect or print",
		name);
	return NULL;
}
