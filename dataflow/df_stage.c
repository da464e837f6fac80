/*
 * dataflow/df_stage.c — from logical nodes to stages, channels and tasks,
 * and the compile entry point with the job accessors.
 *
 * Optimisations made while cutting stages:
 *   - narrow operators (map, filter, flat_map, key_by, event_time) fuse into
 *     the chain of the stage that produces their input;
 *   - aggregates and distinct run a partial (combiner) operator in the
 *     producing stage and the final one after the hash shuffle; top(n) keeps
 *     a partial top per partition before gathering to one task;
 *   - a stream used by several consumers ends its stage; each consumer
 *     continues from there (forward channels keep narrow work local);
 *   - filters move before the shuffle where that is legal: past a distinct
 *     always, past an aggregate when they read only the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_plan.h"

int df__job_cli_constraints(struct df_cx *cx, struct df_job *job, const char *const *kvs,
			    unsigned n, bool prefer);

static struct pstage *new_stage(struct df_cx *cx, struct df_job *job)
{
	struct pstage *s;
	if (job->n_stages >= DF_STAGES_MAX) {
		df__error(cx, SD_EPLAN, 0, 0, "too many stages (limit %d)", DF_STAGES_MAX);
		return NULL;
	}
	if (!(s = df__arena_alloc(cx->a, sizeof(*s)))) {
		df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	s->plan.stage = job->n_stages;
	s->plan.source = -1;
	s->forward_from = -1;
	s->source = -1;
	for (int i = 0; i < 4; i++)
		s->sinks[i] = -1;
	s->bounded = true;
	job->stages[job->n_stages++] = s;
	return s;
}

static int append(struct df_cx *cx, struct pstage *s, struct df_pop_spec *op, const char *label,
		  bool timed)
{
	if (s->plan.n_ops >= DF_OPS_MAX)
		return df__error(cx, SD_EPLAN, 0, 0, "a stage has too many operators (limit %d)",
				 DF_OPS_MAX);
	s->labels[s->plan.n_ops] = label;
	s->plan.ops[s->plan.n_ops++] = op;
	s->plan.out_width = op->out_width;
	memcpy(s->plan.out_kinds, op->out_kinds, op->out_width);
	s->plan.out_timed = timed;
	return 0;
}

static int connect(struct df_cx *cx, struct df_job *job, struct pstage *from, struct pstage *to,
		   enum df_chan_kind kind, unsigned key_width)
{
	struct df_tplan *fp = &from->plan, *tp = &to->plan;
	struct df_channel_info *c;

	if (fp->n_outs >= DF_OUTS_MAX || tp->n_inputs >= 2)
		return df__error(cx, SD_EPLAN, 0, 0, "a stage has too many outputs (limit %d)",
				 DF_OUTS_MAX);
	if (job->n_chans == job->cap_chans) {
		unsigned cap = job->cap_chans ? job->cap_chans * 2 : 16;
		struct df_channel_info *nc = df__arena_alloc(cx->a, sizeof(*nc) * cap);
		if (!nc)
			return df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
		if (job->n_chans)
			memcpy(nc, job->chans, sizeof(*nc) * job->n_chans);
		job->chans = nc;
		job->cap_chans = cap;
	}
	c = &job->chans[job->n_chans];
	c->id = job->n_chans++;
	c->from_stage = fp->stage;
	c->from_output = fp->n_outs;
	c->to_stage = tp->stage;
	c->to_input = tp->n_inputs;
	c->kind = kind;
	fp->outs[fp->n_outs].kind = OUT_CHANNEL;
	fp->outs[fp->n_outs].chan = (uint8_t)kind;
	fp->outs[fp->n_outs].key_width = (uint16_t)key_width;
	fp->n_outs++;
	tp->in_width[tp->n_inputs] = fp->out_width;
	memcpy(tp->in_kinds[tp->n_inputs], fp->out_kinds, fp->out_width);
	tp->in_timed[tp->n_inputs] = fp->out_timed;
	tp->n_inputs++;
	/* a stage with inputs and no operators passes its input through */
	tp->out_width = fp->out_width;
	memcpy(tp->out_kinds, fp->out_kinds, fp->out_width);
	tp->out_timed = fp->out_timed;
	to->bounded = to->bounded && from->bounded;
	return 0;
}

/* The stage a consumer of x may append to: x's own when x has no other
 * consumer, else a new stage fed by a forward channel. */
/* Turns the producer's newest outlet into the late side output of x's
 * event_time operator: its rows are that operator's input rows. */
static void make_late(struct pstage *from, struct pstage *to, const struct lnode *x)
{
	struct df_outlet *o = &from->plan.outs[from->plan.n_outs - 1];
	const struct df_pop_spec *ev = from->plan.ops[x->in[0]->op_index];
	o->from_late = true;
	o->late_op = (uint16_t)x->in[0]->op_index;
	if (o->kind != OUT_CHANNEL)
		return;
	struct df_tplan *tp = &to->plan;
	unsigned in = tp->n_inputs - 1u;
	tp->in_width[in] = tp->out_width = ev->in_width;
	memcpy(tp->in_kinds[in], ev->in_kinds, ev->in_width);
	memcpy(tp->out_kinds, ev->in_kinds, ev->in_width);
	tp->in_timed[in] = tp->out_timed = true;
}

static struct pstage *attach(struct df_cx *cx, struct df_job *job, struct lnode *x, bool shared)
{
	struct pstage *s = job->stages[x->stage], *f;
	if (x->k == L_LATE) {
		if (!(f = new_stage(cx, job)) || connect(cx, job, s, f, DF_CHAN_FORWARD, 0))
			return NULL;
		make_late(s, f, x);
		f->forward_from = (int)s->plan.stage;
		f->last = x;
		return f;
	}
	if (x->consumers == 1 && !shared && s->last == x)
		return s;
	if (!(f = new_stage(cx, job)) || connect(cx, job, s, f, DF_CHAN_FORWARD, 0))
		return NULL;
	f->forward_from = (int)s->plan.stage;
	f->last = x;
	return f;
}

/* Does the program read only slots below kw? */
static bool reads_only_below(const struct df_prog *p, unsigned kw)
{
	for (uint32_t i = 0; i < p->n_code; i++) {
		uint32_t op = p->code[i] & 0xff;
		if (op == OP_LOAD && (p->code[i] >> 8) >= kw)
			return false;
		if (op == OP_PICK || op == OP_MKLIST)
			i++;
	}
	return true;
}

/* Moves a filter before the shuffle of the aggregate or distinct it follows
 * when the result cannot change: less data crosses the network. */
static int push_filters(struct df_cx *cx, struct df_job *job)
{
	for (unsigned i = 0; i < job->n_nodes; i++) {
		struct lnode *f = job->nodes[i], *n = f->in[0];
		if (f->k != L_FILTER || !n || n->consumers != 1 || n->pushed)
			continue;
		if (n->k == L_DISTINCT) {
			n->pushed = f;
			f->elided = true;
		} else if (n->k == L_AGG && n->spec->key_width > 0 &&
			   reads_only_below(f->spec->prog, n->spec->key_width)) {
			/* the key leads both the aggregate's input and its output */
			struct lnode *src = n->in[0];
			struct df_pop_spec *ps = df__arena_alloc(cx->a, sizeof(*ps));
			struct df_prog *p = df__arena_alloc(cx->a, sizeof(*p));
			if (!ps || !p)
				return df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
			*ps = *f->spec;
			*p = *f->spec->prog;
			ps->in_width = ps->out_width = src->type->width;
			df__type_flatten(src->type, ps->in_kinds, NULL, NULL, NULL);
			memcpy(ps->out_kinds, ps->in_kinds, ps->in_width);
			p->in_width = ps->in_width;
			ps->prog = p;
			f->spec = ps;
			n->pushed = f;
			f->elided = true;
		}
	}
	return 0;
}

static int plan_shuffle_op(struct df_cx *cx, struct df_job *job, struct lnode *n)
{
	struct lnode *src = n->in[0];
	bool shared = false;
	struct pstage *s, *f;
	unsigned kw;
	enum df_chan_kind ck = DF_CHAN_HASH;

	/* a window marker in between: its other consumers share the chain */
	for (unsigned i = 0; i < job->n_nodes; i++) {
		struct lnode *w = job->nodes[i];
		if (w->k == L_WINDOW && w->in[0] == src && w->consumers > 1)
			shared = true;
	}
	if (!(s = attach(cx, job, src, shared)))
		return cx->err;
	if (n->pushed && append(cx, s, n->pushed->spec, "filter(pushed)", src->timed))
		return cx->err;
	if (n->pre[0] && append(cx, s, n->pre[0], "project", src->timed))
		return cx->err;
	if (append(cx, s, n->spec,
		   n->k == L_TOP        ? "top(partial)"
		   : n->k == L_DISTINCT ? "distinct(partial)"
					: "combine",
		   src->timed))
		return cx->err;
	kw = n->k == L_AGG ? n->spec->key_width : n->spec->out_width;
	if (n->k == L_TOP)
		ck = DF_CHAN_GATHER;
	if (!(f = new_stage(cx, job)) || connect(cx, job, s, f, ck, kw))
		return cx->err;
	if (n->k == L_TOP) {
		f->parallelism = 1;
		f->par_fixed = true;
	}
	if (append(cx, f, n->spec2, n->label, n->timed))
		return cx->err;
	f->last = n;
	n->stage = (int)f->plan.stage;
	return 0;
}

static int plan_binary(struct df_cx *cx, struct df_job *job, struct lnode *n)
{
	struct pstage *side[2], *f;
	for (int i = 0; i < 2; i++) {
		if (!(side[i] = attach(cx, job, n->in[i], n->in[0] == n->in[1])))
			return cx->err;
		if (n->pre[i] && append(cx, side[i], n->pre[i], "key", n->in[i]->timed))
			return cx->err;
	}
	if (!(f = new_stage(cx, job)))
		return cx->err;
	for (int i = 0; i < 2; i++) {
		unsigned kw = n->k == L_JOIN ? n->spec->key_width : side[i]->plan.out_width;
		if (connect(cx, job, side[i], f, DF_CHAN_HASH, kw))
			return cx->err;
	}
	if (n->k == L_JOIN && append(cx, f, n->spec, "join", n->timed))
		return cx->err;
	f->last = n;
	n->stage = (int)f->plan.stage;
	return 0;
}

static int plan_node(struct df_cx *cx, struct df_job *job, struct lnode *n)
{
	struct pstage *s;
	switch (n->k) {
	case L_SOURCE:
		if (!(s = new_stage(cx, job)))
			return cx->err;
		s->plan.source = (int8_t)job->sources[n->source].kind;
		s->plan.gen_n = job->sources[n->source].generate_n;
		s->plan.out_width =
			(uint16_t)df__type_flatten(n->type, s->plan.out_kinds, NULL, NULL, NULL);
		s->source = n->source;
		s->bounded = n->bounded;
		if (!n->bounded)
			s->parallelism = 1; /* one follower per tailed file */
		job->sources[n->source].stage = s->plan.stage;
		s->last = n;
		n->stage = (int)s->plan.stage;
		return 0;
	case L_FILTER:
		if (n->elided) { /* it runs before its input's shuffle */
			s = job->stages[n->in[0]->stage];
			if (s->last == n->in[0])
				s->last = n;
			n->stage = n->in[0]->stage;
			return 0;
		}
		/* fall through */
	case L_MAP:
	case L_FLATMAP:
	case L_EVTIME:
		if (!(s = attach(cx, job, n->in[0], false)) ||
		    append(cx, s, n->spec, n->label, n->timed))
			return cx->err;
		s->last = n;
		n->stage = (int)s->plan.stage;
		n->op_index = s->plan.n_ops - 1u;
		return 0;
	case L_WINDOW:
		return 0;
	case L_LATE:
		n->stage = n->in[0]->stage;
		return 0;
	case L_AGG:
	case L_DISTINCT:
	case L_TOP:
		return plan_shuffle_op(cx, job, n);
	case L_JOIN:
	case L_UNION:
		return plan_binary(cx, job, n);
	case L_SINK:
		s = job->stages[n->in[0]->stage];
		if (s->plan.n_outs >= DF_OUTS_MAX || s->n_sinks >= 4)
			return df__error(cx, SD_EPLAN, n->line, n->col,
					 "too many sinks on one stream");
		s->plan.outs[s->plan.n_outs].kind = OUT_SINK;
		s->plan.outs[s->plan.n_outs].sink_id = (uint32_t)n->sink;
		s->plan.outs[s->plan.n_outs].sink_kind = (uint8_t)job->sinks[n->sink].kind;
		s->plan.outs[s->plan.n_outs++].consumers = 1;
		if (n->in[0]->k == L_LATE)
			make_late(s, NULL, n->in[0]);
		s->sinks[s->n_sinks++] = n->sink;
		job->sinks[n->sink].stage = s->plan.stage;
		n->stage = (int)s->plan.stage;
		return 0;
	}
	return 0;
}

static int add_stage_ann(struct df_cx *cx, struct pstage *s, const struct df_annotation *a,
			 const struct lnode *at)
{
	if (s->n_anns >= DF_ANNS_MAX)
		return df__error(cx, SD_EPLAN, at ? at->line : 0, at ? at->col : 0,
				 "too many annotations on one stage (limit %d)", DF_ANNS_MAX);
	s->anns[s->n_anns++] = *a;
	return 0;
}

static int finish_stages(struct df_cx *cx, struct df_job *job)
{
	/* node annotations and parallelism go to the stage holding the node */
	for (unsigned i = 0; i < job->n_nodes; i++) {
		struct lnode *n = job->nodes[i];
		if (n->stage < 0)
			continue;
		struct pstage *s = job->stages[n->stage];
		if (n->parallelism && !s->par_fixed)
			s->parallelism = n->parallelism;
		for (unsigned k = 0; k < n->n_anns; k++) {
			struct df_annotation a = n->anns[k];
			if (a.kind == DF_ANN_NEAR)
				a.near_stage = (unsigned)n->near[k]->stage;
			if (add_stage_ann(cx, s, &a, n))
				return cx->err;
		}
	}
	unsigned task = 0;
	for (unsigned i = 0; i < job->n_stages; i++) {
		struct pstage *s = job->stages[i];
		if (s->forward_from >= 0)
			s->parallelism = job->stages[s->forward_from]->parallelism;
		else if (!s->parallelism)
			s->parallelism = job->default_par;
		s->plan.parallelism = s->parallelism;
		s->plan.stage = i;
		for (unsigned k = 0; k < job->n_job_anns; k++)
			if (add_stage_ann(cx, s, &job->job_anns[k], NULL))
				return cx->err;
		int o = snprintf(s->name, sizeof s->name, "s%u", i);
		if (s->plan.source >= 0)
			o += snprintf(s->name + o, sizeof s->name - (size_t)o, ":%s",
				      s->plan.source == DF_SRC_TEXT  ? "text"
				      : s->plan.source == DF_SRC_CSV ? "csv"
								     : "generate");
		for (unsigned k = 0; k < s->plan.n_ops && o < (int)sizeof s->name - 1; k++)
			o += snprintf(s->name + o, sizeof s->name - (size_t)o, "%s%s",
				      k || s->plan.source >= 0 ? "+" : ":", s->labels[k]);
		task += s->parallelism;
		if (task > 65536)
			return df__error(cx, SD_EPLAN, 0, 0, "too many tasks");
	}
	job->n_tasks = task;
	for (unsigned c = 0; c < job->n_chans; c++) {
		struct df_channel_info *ch = &job->chans[c];
		struct pstage *f = job->stages[ch->from_stage], *t = job->stages[ch->to_stage];
		f->plan.outs[ch->from_output].consumers = t->parallelism;
		if (ch->kind == DF_CHAN_FORWARD && f->parallelism != t->parallelism)
			return df__error(cx, SD_EINTERNAL, 0, 0,
					 "forward channel between unequal stages");
	}
	job->stage_info = df__arena_alloc(cx->a, sizeof(*job->stage_info) * (job->n_stages + 1));
	if (!job->stage_info)
		return df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
	task = 0;
	for (unsigned i = 0; i < job->n_stages; i++) {
		struct pstage *s = job->stages[i];
		struct df_stage_info *si = &job->stage_info[i];
		si->id = i;
		si->name = s->name;
		si->parallelism = s->parallelism;
		si->first_task = task;
		task += s->parallelism;
		si->n_inputs = s->plan.n_inputs;
		si->n_outputs = 0;
		for (unsigned k = 0; k < s->plan.n_outs; k++)
			si->n_outputs += s->plan.outs[k].kind == OUT_CHANNEL;
		si->source = s->source;
		memcpy(si->sinks, s->sinks, sizeof si->sinks);
		si->bounded = s->bounded;
		si->anns = s->anns;
		si->n_anns = s->n_anns;
	}
	return 0;
}

int df__build_stages(struct df_cx *cx, struct df_job *job)
{
	if (push_filters(cx, job))
		return cx->err;
	for (unsigned i = 0; i < job->n_nodes; i++)
		if (plan_node(cx, job, job->nodes[i]))
			return cx->err;
	/* bounded-ness flows along channels */
	for (unsigned c = 0; c < job->n_chans; c++)
		job->stages[job->chans[c].to_stage]->bounded &=
			job->stages[job->chans[c].from_stage]->bounded;
	return finish_stages(cx, job);
}

/* ---- public API ---- */

int df_compile(const char *src, size_t len, const char *filename,
	       const struct df_compile_opts *opts, struct df_job **out, struct df_diag *diag)
{
	struct df_job *job;
	struct df_token *toks;
	unsigned ntok;
	struct df_program_ast prog;
	struct df_cx cx = {0};

	if (diag)
		memset(diag, 0, sizeof(*diag));
	if (!out || (!src && len))
		return SD_EINVAL;
	*out = NULL;
	if (!(job = calloc(1, sizeof(*job))))
		return SD_ENOMEM;
	/* bounded memory whatever the input: tokens, AST, types and plan */
	job->arena.limit = (size_t)len * 64 + (8u << 20);
	cx.a = &job->arena;
	cx.src = src ? src : "";
	cx.len = len;
	cx.file = filename ? filename : "<job>";
	cx.diag = diag;
	job->default_par = opts && opts->default_parallelism ? opts->default_parallelism
							     : DF_DEFAULT_PARALLELISM;
	job->opts.checkpoint_us = job->opts.restart_attempts = -1;
	job->opts.restart_delay_us = job->opts.restart_delay_max_us = -1;
	job->opts.restart = DF_RESTART_UNSET;
	if (len > DF_SOURCE_MAX) {
		df__error(&cx, SD_ETOOBIG, 0, 0, "job text is %zu bytes: the limit is %u", len,
			  DF_SOURCE_MAX);
		goto fail;
	}
	if (df__lex(&cx, &toks, &ntok) || df__parse(&cx, toks, ntok, &prog))
		goto fail;
	job->name = prog.job_name;
	job->src_file = cx.file;
	if (df__build_logical(&cx, job, &prog, opts))
		goto fail;
	if (opts && opts->default_parallelism)
		job->default_par = opts->default_parallelism;
	if (opts &&
	    (df__job_cli_constraints(&cx, job, opts->constraints, opts->n_constraints, false) ||
	     df__job_cli_constraints(&cx, job, opts->preferences, opts->n_preferences, true)))
		goto fail;
	if (df__build_stages(&cx, job))
		goto fail;
	*out = job;
	return 0;
fail:
	df__arena_free(&job->arena);
	free(job);
	return cx.err ? cx.err : SD_EINTERNAL;
}

void df_job_free(struct df_job *job)
{
	if (!job)
		return;
	df__arena_free(&job->arena);
	free(job);
}

const char *df_job_name(const struct df_job *job)
{
	return job->name;
}

bool df_job_bounded(const struct df_job *job)
{
	for (unsigned i = 0; i < job->n_sources; i++)
		if (job->sources[i].follow)
			return false;
	return true;
}

const struct df_stage_info *df_job_stages(const struct df_job *job, unsigned *n)
{
	*n = job->n_stages;
	return job->stage_info;
}

const struct df_channel_info *df_job_channels(const struct df_job *job, unsigned *n)
{
	*n = job->n_chans;
	return job->chans;
}

const struct df_source_info *df_job_sources(const struct df_job *job, unsigned *n)
{
	*n = job->n_sources;
	return job->sources;
}

const struct df_sink_info *df_job_sinks(const struct df_job *job, unsigned *n)
{
	*n = job->n_sinks;
	return job->sinks;
}

unsigned df_job_task_count(const struct df_job *job)
{
	return job->n_tasks;
}

int df_job_task(const struct df_job *job, unsigned task_id, struct df_task_info *out)
{
	for (unsigned i = 0; i < job->n_stages; i++) {
		const struct df_stage_info *s = &job->stage_info[i];
		if (task_id >= s->first_task && task_id < s->first_task + s->parallelism) {
			out->task_id = task_id;
			out->stage = i;
			out->partition = task_id - s->first_task;
			return 0;
		}
	}
	return SD_EINVAL;
}

int df_task_plan_encode(const struct df_job *job, uint32_t task_id, uint8_t **out, size_t *len)
{
	struct df_task_info ti;
	if (!job || !out || !len || df_job_task(job, task_id, &ti))
		return SD_EINVAL;
	return df__tplan_encode(&job->stages[ti.stage]->plan, ti.partition, out, len);
}
