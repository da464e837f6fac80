/*
 * dataflow/df_planio.c — task plan bytes (Deploy.plan): encode and a
 * defensive decode (plans arrive over the network; every count, width,
 * kind and program is checked before use).
 *
 * Layout: u32 magic, u32 stage, partition, parallelism; inputs; source;
 * ops; outlets; output row. Programs: u32 in/out width, max stack, code
 * count + words, const count + (kind, value) with strings inline.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_exec.h"

static void w_kinds(struct df_wbuf *w, const uint8_t *k, unsigned n)
{
	df__w_u32(w, n);
	df__w_bytes(w, k, n);
}

static void w_prog(struct df_wbuf *w, const struct df_prog *p)
{
	df__w_u8(w, p != NULL);
	if (!p)
		return;
	df__w_u32(w, p->in_width);
	df__w_u32(w, p->out_width);
	df__w_u32(w, p->max_stack);
	df__w_u32(w, p->n_code);
	for (uint32_t i = 0; i < p->n_code; i++)
		df__w_u32(w, p->code[i]);
	df__w_u32(w, p->n_consts);
	for (uint32_t i = 0; i < p->n_consts; i++) {
		df__w_u8(w, p->const_kinds[i]);
		if (p->const_kinds[i] == DF_STR)
			df__w_str(w, p->consts[i].s.p, p->consts[i].s.n);
		else
			df__w_u64(w, (uint64_t)p->consts[i].i);
	}
}

static void w_op(struct df_wbuf *w, const struct df_pop_spec *s)
{
	df__w_u8(w, s->kind);
	w_kinds(w, s->in_kinds, s->in_width);
	w_kinds(w, s->out_kinds, s->out_width);
	w_prog(w, s->prog);
	df__w_u64(w, (uint64_t)s->lateness);
	df__w_u8(w, s->ts_is_time);
	df__w_u8(w, s->agg);
	df__w_u8(w, s->mode);
	df__w_u8(w, s->win);
	df__w_u8(w, s->val_kind);
	df__w_u32(w, s->key_width);
	df__w_u32(w, s->val_width);
	df__w_u64(w, (uint64_t)s->win_size);
	df__w_u64(w, (uint64_t)s->win_step);
	df__w_u32(w, (uint32_t)s->late_out);
	df__w_u32(w, s->top_n);
	df__w_u32(w, s->left_width);
	df__w_u32(w, s->right_width);
	df__w_u64(w, (uint64_t)s->within);
}

int df__tplan_encode(const struct df_tplan *p, uint32_t partition, uint8_t **out, size_t *len)
{
	struct df_wbuf w = {0};

	df__w_u32(&w, DF_PLAN_MAGIC);
	df__w_u32(&w, p->stage);
	df__w_u32(&w, partition);
	df__w_u32(&w, p->parallelism);
	df__w_u8(&w, p->n_inputs);
	for (unsigned i = 0; i < p->n_inputs; i++) {
		w_kinds(&w, p->in_kinds[i], p->in_width[i]);
		df__w_u8(&w, p->in_timed[i]);
	}
	df__w_u8(&w, (uint8_t)p->source);
	df__w_u64(&w, p->gen_n);
	df__w_u32(&w, p->n_ops);
	for (unsigned i = 0; i < p->n_ops; i++)
		w_op(&w, p->ops[i]);
	df__w_u32(&w, p->n_outs);
	for (unsigned i = 0; i < p->n_outs; i++) {
		const struct df_outlet *o = &p->outs[i];
		df__w_u8(&w, o->kind);
		df__w_u8(&w, o->chan);
		df__w_u32(&w, o->key_width);
		df__w_u32(&w, o->consumers);
		df__w_u32(&w, o->sink_id);
		df__w_u8(&w, o->sink_kind);
		df__w_u8(&w, o->from_late);
		df__w_u32(&w, o->late_op);
	}
	w_kinds(&w, p->out_kinds, p->out_width);
	df__w_u8(&w, p->out_timed);
	if (w.oom) {
		free(w.p);
		return SD_ENOMEM;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

static bool r_kinds(struct df_rbuf *r, uint8_t *k, uint16_t *n)
{
	uint32_t c = df__r_u32(r);
	const uint8_t *p;
	if (c > DF_WIDTH_MAX || !(p = df__r_bytes(r, c)))
		return false;
	for (uint32_t i = 0; i < c; i++)
		if (p[i] > DF_LIST)
			return false;
	memcpy(k, p, c);
	*n = (uint16_t)c;
	return true;
}

static struct df_prog *r_prog(struct df_rbuf *r, struct df_arena *a, bool *ok)
{
	struct df_prog *p;
	*ok = true;
	if (!df__r_u8(r))
		return NULL;
	*ok = false;
	if (!(p = df__arena_alloc(a, sizeof(*p))))
		return NULL;
	p->in_width = (uint16_t)df__r_u32(r);
	p->out_width = (uint16_t)df__r_u32(r);
	p->max_stack = (uint16_t)df__r_u32(r);
	p->n_code = df__r_u32(r);
	if (r->bad || p->n_code > DF_CODE_MAX || p->n_code > (r->len - r->off) / 4)
		return NULL;
	if (!(p->code = df__arena_alloc(a, sizeof(uint32_t) * (p->n_code + 1))))
		return NULL;
	for (uint32_t i = 0; i < p->n_code; i++)
		p->code[i] = df__r_u32(r);
	p->n_consts = df__r_u32(r);
	if (r->bad || p->n_consts > DF_CODE_MAX || p->n_consts > r->len - r->off)
		return NULL;
	p->consts = df__arena_alloc(a, sizeof(*p->consts) * (p->n_consts + 1));
	p->const_kinds = df__arena_alloc(a, p->n_consts + 1);
	if (!p->consts || !p->const_kinds)
		return NULL;
	for (uint32_t i = 0; i < p->n_consts; i++) {
		uint8_t k = df__r_u8(r);
		p->const_kinds[i] = k;
		if (k == DF_STR) {
			uint32_t n = df__r_u32(r);
			p->consts[i].s.p = (const char *)df__r_bytes(r, n);
			p->consts[i].s.n = n;
		} else if (k <= DF_DUR) {
			p->consts[i].i = (int64_t)df__r_u64(r);
		} else {
			return NULL;
		}
	}
	if (r->bad || !df__vm_check(p))
		return NULL;
	*ok = true;
	return p;
}

static struct df_pop_spec *r_op(struct df_rbuf *r, struct df_arena *a)
{
	struct df_pop_spec *s = df__arena_alloc(a, sizeof(*s));
	bool ok;
	if (!s)
		return NULL;
	s->kind = df__r_u8(r);
	if (s->kind >= P_COUNT_ || !r_kinds(r, s->in_kinds, &s->in_width) ||
	    !r_kinds(r, s->out_kinds, &s->out_width))
		return NULL;
	s->prog = r_prog(r, a, &ok);
	if (!ok)
		return NULL;
	s->lateness = (int64_t)df__r_u64(r);
	s->ts_is_time = df__r_u8(r);
	s->agg = df__r_u8(r);
	s->mode = df__r_u8(r);
	s->win = df__r_u8(r);
	s->val_kind = df__r_u8(r);
	s->key_width = (uint16_t)df__r_u32(r);
	s->val_width = (uint16_t)df__r_u32(r);
	s->win_size = (int64_t)df__r_u64(r);
	s->win_step = (int64_t)df__r_u64(r);
	s->late_out = (int32_t)df__r_u32(r);
	s->top_n = df__r_u32(r);
	s->left_width = (uint16_t)df__r_u32(r);
	s->right_width = (uint16_t)df__r_u32(r);
	s->within = (int64_t)df__r_u64(r);
	if (r->bad || s->agg > AG_REDUCE || s->mode > M_FINAL || s->win > W_SESSION ||
	    s->val_kind > DF_DUR || s->top_n > DF_TOP_MAX || s->lateness < 0 || s->within < 0 ||
	    s->lateness > DF_TIME_MAX || s->within > DF_TIME_MAX || s->win_size < 0 ||
	    s->win_size > DF_TIME_MAX || s->win_step < 0 || s->win_step > DF_TIME_MAX)
		return NULL;
	/* programs must fit the rows they run on */
	if (s->prog && (s->prog->in_width > DF_WIDTH_MAX))
		return NULL;
	return s;
}

int df__tplan_decode(const uint8_t *bytes, size_t len, struct df_arena *a, struct df_tplan *p)
{
	struct df_rbuf r = {bytes, len, 0, false};

	memset(p, 0, sizeof(*p));
	if (df__r_u32(&r) != DF_PLAN_MAGIC)
		return SD_EPROTO;
	p->stage = df__r_u32(&r);
	p->partition = df__r_u32(&r);
	p->parallelism = df__r_u32(&r);
	p->n_inputs = df__r_u8(&r);
	if (p->n_inputs > 2 || p->parallelism == 0 || p->parallelism > DF_PARALLELISM_MAX ||
	    p->partition >= p->parallelism)
		return SD_EPROTO;
	for (unsigned i = 0; i < p->n_inputs; i++) {
		if (!r_kinds(&r, p->in_kinds[i], &p->in_width[i]))
			return SD_EPROTO;
		p->in_timed[i] = df__r_u8(&r);
	}
	p->source = (int8_t)df__r_u8(&r);
	p->gen_n = df__r_u64(&r);
	p->n_ops = (uint16_t)df__r_u32(&r);
	if (r.bad || p->n_ops > DF_OPS_MAX || p->source > DF_SRC_GENERATE || p->source < -1 ||
	    (p->source >= 0) == (p->n_inputs > 0))
		return SD_EPROTO;
	for (unsigned i = 0; i < p->n_ops; i++)
		if (!(p->ops[i] = r_op(&r, a)))
			return SD_EPROTO;
	p->n_outs = (uint16_t)df__r_u32(&r);
	if (r.bad || p->n_outs > DF_OUTS_MAX)
		return SD_EPROTO;
	for (unsigned i = 0; i < p->n_outs; i++) {
		struct df_outlet *o = &p->outs[i];
		o->kind = df__r_u8(&r);
		o->chan = df__r_u8(&r);
		o->key_width = (uint16_t)df__r_u32(&r);
		o->consumers = df__r_u32(&r);
		o->sink_id = df__r_u32(&r);
		o->sink_kind = df__r_u8(&r);
		o->from_late = df__r_u8(&r);
		o->late_op = (uint16_t)df__r_u32(&r);
		if (o->kind > OUT_SINK || o->chan > DF_CHAN_GATHER ||
		    o->sink_kind > DF_SINK_PRINT || o->consumers == 0 ||
		    o->consumers > DF_PARALLELISM_MAX || o->key_width > DF_WIDTH_MAX ||
		    (o->from_late &&
		     (o->late_op >= p->n_ops || p->ops[o->late_op]->kind != P_EVTIME)))
			return SD_EPROTO;
	}
	if (!r_kinds(&r, p->out_kinds, &p->out_width))
		return SD_EPROTO;
	p->out_timed = df__r_u8(&r);
	if (r.bad || r.off != r.len)
		return SD_EPROTO;
	return 0;
}
