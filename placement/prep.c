/*
 * placement/prep.c — the solver's precomputed view of a model and the
 * incremental state of an assignment.
 *
 * plc__prep_init turns the model into flat arrays: per task its neighbours
 * (channels merged both ways, near pairs), per task and region its source
 * read cost, per stage and node its eligibility and soft penalty, and the
 * capacities the hard constraints imply (per node, per stage and node, per
 * stage and region/zone for spread), and per task the bytes/s it processes
 * (the compute term's weight). plc__state counts what is placed so a move
 * is checked and priced in O(neighbours).
 *
 * The load term of node n holding c tasks that process W bytes/s, with
 * u = load + c / slots:
 *   w_load x (u^2 - load^2) + contention_ms x W x u^2 / 1e6
 * Adding a task of work w raises it by
 *   [imbalance(c+1) - imbalance(c) + W x (f(c+1) - f(c))] + w x f(c+1),
 * f(c) = contention_ms x u(c)^2 / 1e6: cached per node as load_delta and
 * load_slope. Tasks of one stage peak together, so k of them on a node
 * also pay the same-stage part contention_ms x W_s x (k - 1) / slots / 1e6
 * (W_s: their work); one more adds contention_ms x (W_s + w k) / slots / 1e6.
 * Every increase never falls when other tasks are added (W, W_s, c and k
 * only grow, f is increasing and convex), which exact.c's bound needs.
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "placement/plc_priv.h"

#define PLC__MB 1e6 /* bytes/s x ms per cost unit */

struct plc__edge {
	int a, b; /* a < b */
	double bps;
	double near_ms;
};

static int plc__edge_cmp(const void *x, const void *y)
{
	const struct plc__edge *e = x, *f = y;

	if (e->a != f->a)
		return e->a < f->a ? -1 : 1;
	if (e->b != f->b)
		return e->b < f->b ? -1 : 1;
	return 0;
}

struct plc__edges {
	struct plc__edge *v;
	size_t n, cap;
};

static int plc__edge_add(struct plc__edges *es, int a, int b, double bps, double near)
{
	struct plc__edge *e = PLC__PUSH(*es);

	if (!e)
		return SD_ENOMEM;
	e->a = a < b ? a : b;
	e->b = a < b ? b : a;
	e->bps = bps;
	e->near_ms = near;
	return 0;
}

/* Sorts es by pair and merges equal pairs: rates add, near bounds take the
 * tightest. */
static void plc__edges_merge(struct plc__edges *es)
{
	size_t w = 0;

	if (es->n)
		qsort(es->v, es->n, sizeof(*es->v), plc__edge_cmp);
	for (size_t i = 0; i < es->n; i++) {
		struct plc__edge *d = w ? &es->v[w - 1] : NULL;

		if (d && d->a == es->v[i].a && d->b == es->v[i].b) {
			d->bps += es->v[i].bps;
			if (es->v[i].near_ms >= 0.0 &&
			    (d->near_ms < 0.0 || es->v[i].near_ms < d->near_ms))
				d->near_ms = es->v[i].near_ms;
		} else {
			es->v[w++] = es->v[i];
		}
	}
	es->n = w;
}

/* Is there a channel between t and u? chan: the first n_chan merged edges. */
static bool plc__connected(const struct plc__edge *chan, size_t n_chan, int t, int u)
{
	struct plc__edge key = {t < u ? t : u, t < u ? u : t, 0.0, 0.0};

	return n_chan && bsearch(&key, chan, n_chan, sizeof(key), plc__edge_cmp) != NULL;
}

/* Adds the near pairs of constraint k: each task of the constrained stage
 * with the target stage's tasks it exchanges data with, or all of them.
 * The first n_chan entries of es are the merged channel edges. */
static int plc__near_edges(const struct plc_model *m, const struct plc__cons *k,
			   struct plc__edges *es, size_t n_chan)
{
	for (size_t t = 0; t < m->tasks.n; t++) {
		int s = m->tasks.v[t].stage;

		if (s == k->near_stage || !plc__applies(k, s))
			continue;
		bool any = false;

		for (size_t u = 0; u < m->tasks.n && !any; u++)
			any = m->tasks.v[u].stage == k->near_stage &&
			      plc__connected(es->v, n_chan, (int)t, (int)u);
		for (size_t u = 0; u < m->tasks.n; u++) {
			if (m->tasks.v[u].stage != k->near_stage)
				continue;
			if (any && !plc__connected(es->v, n_chan, (int)t, (int)u))
				continue;
			int err = plc__edge_add(es, (int)t, (int)u, 0.0, k->c.max_rtt_ms);

			if (err)
				return err;
		}
	}
	return 0;
}

/* Builds p->adj from channels and near constraints, merging duplicates. */
static int plc__build_adj(struct plc__prep *p)
{
	const struct plc_model *m = p->m;
	struct plc__edges es = {0};
	int err = 0;

	for (size_t i = 0; i < m->channels.n && !err; i++)
		err = plc__edge_add(&es, m->channels.v[i].from, m->channels.v[i].to,
				    m->channels.v[i].bps, -1.0);
	plc__edges_merge(&es);
	size_t n_chan = es.n;

	for (size_t i = 0; i < m->cons.n && !err; i++)
		if (m->cons.v[i].c.kind == PLC_NEAR)
			err = plc__near_edges(m, &m->cons.v[i], &es, n_chan);
	if (err)
		goto out_free_edges;
	plc__edges_merge(&es);
	for (size_t i = 0; i < es.n; i++) {
		const struct plc__edge *e = &es.v[i];

		p->n_adj[e->a] += e->bps > 0.0;
		p->n_adj[e->b] += e->bps > 0.0;
		p->n_near[e->a] += e->near_ms >= 0.0;
		p->n_near[e->b] += e->near_ms >= 0.0;
	}
	for (int t = 0; t < p->T && !err; t++) {
		p->adj[t] = calloc((size_t)p->n_adj[t] + 1, sizeof(**p->adj));
		p->near[t] = calloc((size_t)p->n_near[t] + 1, sizeof(**p->near));
		if (!p->adj[t] || !p->near[t])
			err = SD_ENOMEM;
		p->n_adj[t] = p->n_near[t] = 0;
	}
	for (size_t i = 0; i < es.n && !err; i++) {
		const struct plc__edge *e = &es.v[i];

		if (e->bps > 0.0) {
			p->adj[e->a][p->n_adj[e->a]++] = (struct plc__adj){e->b, e->bps, -1.0};
			p->adj[e->b][p->n_adj[e->b]++] = (struct plc__adj){e->a, e->bps, -1.0};
		}
		if (e->near_ms >= 0.0) {
			p->near[e->a][p->n_near[e->a]++] = (struct plc__adj){e->b, 0.0, e->near_ms};
			p->near[e->b][p->n_near[e->b]++] = (struct plc__adj){e->a, 0.0, e->near_ms};
		}
	}
out_free_edges:
	free(es.v);
	return err;
}

static void plc__zone_domains(struct plc__prep *p)
{
	const struct plc_model *m = p->m;

	p->n_zone_doms = 0;
	for (int n = 0; n < p->N; n++) {
		int d = -1;

		for (int e = 0; e < n && d < 0; e++)
			if (m->nodes.v[e].region == m->nodes.v[n].region &&
			    strcmp(m->nodes.v[e].zone, m->nodes.v[n].zone) == 0)
				d = p->zone_dom[e];
		p->zone_dom[n] = d >= 0 ? d : p->n_zone_doms++;
	}
}

static void plc__unary(struct plc__prep *p)
{
	const struct plc_model *m = p->m;

	for (int s = 0; s < p->S; s++) {
		for (int n = 0; n < p->N; n++) {
			const struct plc__node *nd = &m->nodes.v[n];
			bool ok = !nd->lost && nd->slots > 0;
			double pen = 0.0;

			for (size_t i = 0; i < m->cons.n; i++) {
				const struct plc__cons *k = &m->cons.v[i];

				if (k->c.kind != PLC_MATCH || !plc__applies(k, s))
					continue;
				bool match = plc__match_node(m, &k->c, n);

				if (k->c.soft && !match)
					pen += k->c.weight;
				if (!k->c.soft && !match)
					ok = false;
			}
			p->pref[s * p->N + n] = pen;
			p->elig[s * p->N + n] = ok;
			p->n_elig[s] += ok;
		}
	}
}

/* Distinct regions (or zone domains) among the stage's eligible nodes. */
static int plc__count_domains(const struct plc__prep *p, int s, bool zones, int *seen)
{
	int dims = zones ? p->n_zone_doms : p->R, d = 0;

	memset(seen, 0, (size_t)dims * sizeof(*seen));
	for (int n = 0; n < p->N; n++) {
		int dom = zones ? p->zone_dom[n] : p->node_region[n];

		if (p->elig[s * p->N + n] && !seen[dom]) {
			seen[dom] = 1;
			d++;
		}
	}
	return d;
}

static int plc__caps(struct plc__prep *p)
{
	const struct plc_model *m = p->m;
	int dims = p->R > p->n_zone_doms ? p->R : p->n_zone_doms;
	int *seen = calloc((size_t)dims + 1, sizeof(*seen));

	if (!seen)
		return SD_ENOMEM;
	p->job_cap = INT_MAX;
	for (int s = 0; s < p->S; s++)
		p->stage_cap[s] = p->reg_cap[s] = p->zone_cap[s] = INT_MAX;
	for (size_t i = 0; i < m->cons.n; i++) {
		const struct plc__cons *k = &m->cons.v[i];

		if (k->c.kind == PLC_MAX_PER_NODE && k->stage < 0 && k->c.max_per_node < p->job_cap)
			p->job_cap = k->c.max_per_node;
		for (int s = 0; s < p->S; s++) {
			if (!plc__applies(k, s) || k->stage < 0)
				continue;
			if (k->c.kind == PLC_MAX_PER_NODE && k->c.max_per_node < p->stage_cap[s])
				p->stage_cap[s] = k->c.max_per_node;
		}
		for (int s = 0; s < p->S; s++) {
			if (k->c.kind != PLC_SPREAD || !plc__applies(k, s) || !p->stage_ntasks[s])
				continue;
			bool zones = k->c.attr == PLC_ATTR_ZONE;
			int d = plc__count_domains(p, s, zones, seen);
			int cap = d ? (p->stage_ntasks[s] + d - 1) / d : INT_MAX;

			if (zones)
				p->zone_cap[s] = cap;
			else
				p->reg_cap[s] = cap;
		}
	}
	free(seen);
	return 0;
}

/* Bytes/s each task processes: its input (incoming channels and source
 * reads), or its output when it has no input (a generator). out: T scratch. */
static void plc__work(struct plc__prep *p, double *out)
{
	const struct plc_model *m = p->m;

	for (size_t i = 0; i < m->reads.n; i++)
		p->work[m->reads.v[i].task] += m->reads.v[i].bps;
	for (size_t i = 0; i < m->channels.n; i++) {
		p->work[m->channels.v[i].to] += m->channels.v[i].bps;
		out[m->channels.v[i].from] += m->channels.v[i].bps;
	}
	for (int t = 0; t < p->T; t++)
		if (p->work[t] == 0.0)
			p->work[t] = out[t];
}

static void plc__sources(struct plc__prep *p)
{
	const struct plc_model *m = p->m;

	for (size_t i = 0; i < m->reads.n; i++) {
		const struct plc__read *rd = &m->reads.v[i];
		int fr = m->netfs.v[rd->netfs].region;

		for (int r = 0; r < p->R; r++)
			p->src_cost[(size_t)rd->task * (size_t)p->R + (size_t)r] +=
				rd->bps * p->rtt[(size_t)r * p->rtt_dim + (size_t)fr] / PLC__MB;
	}
}

int plc__prep_init(struct plc__prep *p, const struct plc_model *m, const int *fixed)
{
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->T = (int)m->tasks.n;
	p->N = (int)m->nodes.n;
	p->R = (int)m->regions.n;
	p->S = (int)m->stage_names.n;
	p->rtt = m->rtt;
	p->rtt_dim = m->rtt_dim;
	size_t T = (size_t)p->T + 1, N = (size_t)p->N + 1, R = (size_t)p->R + 1,
	       S = (size_t)p->S + 1;

	p->node_region = calloc(N, sizeof(int));
	p->zone_dom = calloc(N, sizeof(int));
	p->adj = calloc(T, sizeof(*p->adj));
	p->n_adj = calloc(T, sizeof(int));
	p->near = calloc(T, sizeof(*p->near));
	p->n_near = calloc(T, sizeof(int));
	p->src_cost = calloc(T * R, sizeof(double));
	p->pref = calloc(S * N, sizeof(double));
	p->elig = calloc(S * N, sizeof(bool));
	p->n_elig = calloc(S, sizeof(int));
	p->stage_cap = calloc(S, sizeof(int));
	p->reg_cap = calloc(S, sizeof(int));
	p->zone_cap = calloc(S, sizeof(int));
	p->stage_ntasks = calloc(S, sizeof(int));
	p->fixed = calloc(T, sizeof(int));
	p->work = calloc(T, sizeof(double));
	if (!p->work || !p->node_region || !p->zone_dom || !p->adj || !p->n_adj || !p->near ||
	    !p->n_near || !p->src_cost || !p->pref || !p->elig || !p->n_elig || !p->stage_cap ||
	    !p->reg_cap || !p->zone_cap || !p->stage_ntasks || !p->fixed)
		goto out_free;
	for (int n = 0; n < p->N; n++)
		p->node_region[n] = m->nodes.v[n].region;
	for (int t = 0; t < p->T; t++) {
		p->stage_ntasks[m->tasks.v[t].stage]++;
		p->fixed[t] = fixed ? fixed[t] : -1;
	}
	plc__zone_domains(p);
	plc__unary(p);
	for (int t = 0; t < p->T; t++) /* a pinned task whose node may no longer hold it moves */
		if (p->fixed[t] >= 0 &&
		    (p->fixed[t] >= p->N || !p->elig[m->tasks.v[t].stage * p->N + p->fixed[t]]))
			p->fixed[t] = -1;
	plc__sources(p);
	double *out = calloc(T, sizeof(double));

	if (!out)
		goto out_free;
	plc__work(p, out);
	free(out);
	if (plc__caps(p) || plc__build_adj(p))
		goto out_free;
	return 0;
out_free:
	plc__prep_free(p);
	return SD_ENOMEM;
}

void plc__prep_free(struct plc__prep *p)
{
	for (int t = 0; p->adj && t < p->T; t++)
		free(p->adj[t]);
	for (int t = 0; p->near && t < p->T; t++)
		free(p->near[t]);
	free(p->adj);
	free(p->n_adj);
	free(p->near);
	free(p->n_near);
	free(p->node_region);
	free(p->zone_dom);
	free(p->src_cost);
	free(p->pref);
	free(p->elig);
	free(p->n_elig);
	free(p->stage_cap);
	free(p->reg_cap);
	free(p->zone_cap);
	free(p->stage_ntasks);
	free(p->fixed);
	free(p->work);
	memset(p, 0, sizeof(*p));
}

/* ---- state ----------------------------------------------------------- */

/* Caches what one more task on node n adds to the load term: load_delta
 * plus the task's work times load_slope. */
static void plc__load_delta_update(const struct plc__prep *p, struct plc__state *st, int n)
{
	int c = st->node_count[n];
	double f0 = plc__contention(p, n, c), f1 = plc__contention(p, n, c + 1);

	st->load_delta[n] = plc__imbalance_term(p, n, c + 1) - plc__imbalance_term(p, n, c) +
			    st->node_work[n] * (f1 - f0);
	st->load_slope[n] = f1;
}

int plc__state_init(struct plc__state *st, const struct plc__prep *p)
{
	size_t T = (size_t)p->T + 1, N = (size_t)p->N + 1, S = (size_t)p->S + 1;

	st->assign = malloc(T * sizeof(int));
	st->node_count = calloc(N, sizeof(int));
	st->stage_count = calloc(S * N, sizeof(int));
	st->reg_count = calloc(S * ((size_t)p->R + 1), sizeof(int));
	st->zone_count = calloc(S * ((size_t)p->n_zone_doms + 1), sizeof(int));
	st->reg_bps = calloc((size_t)p->R + 1, sizeof(double));
	st->reg_cost = calloc((size_t)p->R + 1, sizeof(double));
	st->node_bps = calloc(N, sizeof(double));
	st->touched = calloc((size_t)p->R + 1, sizeof(int));
	st->load_delta = calloc(N, sizeof(double));
	st->load_slope = calloc(N, sizeof(double));
	st->node_work = calloc(N, sizeof(double));
	st->stage_work = calloc(S * N, sizeof(double));
	if (!st->load_slope || !st->node_work || !st->stage_work || !st->assign ||
	    !st->node_count || !st->stage_count || !st->reg_count || !st->zone_count ||
	    !st->reg_bps || !st->reg_cost || !st->node_bps || !st->touched || !st->load_delta) {
		plc__state_free(st);
		return SD_ENOMEM;
	}
	for (int t = 0; t < p->T; t++)
		st->assign[t] = -1;
	for (int n = 0; n < p->N; n++)
		plc__load_delta_update(p, st, n);
	return 0;
}

void plc__state_free(struct plc__state *st)
{
	free(st->assign);
	free(st->node_count);
	free(st->stage_count);
	free(st->reg_count);
	free(st->zone_count);
	free(st->reg_bps);
	free(st->reg_cost);
	free(st->node_bps);
	free(st->touched);
	free(st->load_delta);
	free(st->load_slope);
	free(st->node_work);
	free(st->stage_work);
	memset(st, 0, sizeof(*st));
}

void plc__state_copy(struct plc__state *dst, const struct plc__state *src,
		     const struct plc__prep *p)
{
	size_t S = (size_t)p->S + 1;

	memcpy(dst->assign, src->assign, ((size_t)p->T + 1) * sizeof(int));
	memcpy(dst->node_count, src->node_count, ((size_t)p->N + 1) * sizeof(int));
	memcpy(dst->stage_count, src->stage_count, S * ((size_t)p->N + 1) * sizeof(int));
	memcpy(dst->reg_count, src->reg_count, S * ((size_t)p->R + 1) * sizeof(int));
	memcpy(dst->zone_count, src->zone_count, S * ((size_t)p->n_zone_doms + 1) * sizeof(int));
	memcpy(dst->load_delta, src->load_delta, ((size_t)p->N + 1) * sizeof(double));
	memcpy(dst->load_slope, src->load_slope, ((size_t)p->N + 1) * sizeof(double));
	memcpy(dst->node_work, src->node_work, ((size_t)p->N + 1) * sizeof(double));
	memcpy(dst->stage_work, src->stage_work, S * ((size_t)p->N + 1) * sizeof(double));
}

/* ---- costs and checks ------------------------------------------------ */

double plc__rtt_nodes(const struct plc__prep *p, int a, int b)
{
	if (a == b)
		return 0.0;
	return p->rtt[(size_t)p->node_region[a] * p->rtt_dim + (size_t)p->node_region[b]];
}

double plc__imbalance_term(const struct plc__prep *p, int n, int c)
{
	const struct plc__node *nd = &p->m->nodes.v[n];

	if (c == 0 || nd->slots == 0)
		return 0.0;
	double u = nd->load + (double)c / (double)nd->slots;

	return p->m->load_weight * (u * u - nd->load * nd->load);
}

double plc__contention(const struct plc__prep *p, int n, int c)
{
	const struct plc__node *nd = &p->m->nodes.v[n];

	if (c == 0 || nd->slots == 0)
		return 0.0;
	double u = nd->load + (double)c / (double)nd->slots;

	return p->m->contention_ms * u * u / PLC__MB;
}

double plc__stage_term(const struct plc__prep *p, int n, int k, double work)
{
	const struct plc__node *nd = &p->m->nodes.v[n];

	if (k <= 1 || nd->slots == 0)
		return 0.0;
	return p->m->contention_ms * work * (double)(k - 1) / (double)nd->slots / PLC__MB;
}

/* What one more task of stage s and work w adds to n's same-stage part. */
static double plc__stage_delta(const struct plc__prep *p, const struct plc__state *st, int s, int n,
			       double w)
{
	size_t i = (size_t)s * (size_t)p->N + (size_t)n;
	int k = st->stage_count[i];

	if (k == 0)
		return 0.0;
	return p->m->contention_ms * (st->stage_work[i] + w * (double)k) /
	       (double)p->m->nodes.v[n].slots / PLC__MB;
}

double plc__load_term(const struct plc__prep *p, int n, int c, double work)
{
	return plc__imbalance_term(p, n, c) + work * plc__contention(p, n, c);
}

bool plc__can_place(const struct plc__prep *p, const struct plc__state *st, int t, int n)
{
	int s = p->m->tasks.v[t].stage;

	assert(st->assign[t] < 0);
	if (!p->elig[s * p->N + n] || (p->fixed[t] >= 0 && p->fixed[t] != n))
		return false;
	if (st->node_count[n] >= p->m->nodes.v[n].slots || st->node_count[n] >= p->job_cap ||
	    st->stage_count[s * p->N + n] >= p->stage_cap[s])
		return false;
	if (st->reg_count[s * p->R + p->node_region[n]] >= p->reg_cap[s] ||
	    st->zone_count[s * p->n_zone_doms + p->zone_dom[n]] >= p->zone_cap[s])
		return false;
	for (int i = 0; i < p->n_near[t]; i++) {
		const struct plc__adj *a = &p->near[t][i];
		int u = st->assign[a->task];

		if (u >= 0 && plc__rtt_nodes(p, n, u) > a->near_ms)
			return false;
	}
	return true;
}

double plc__place_cost(const struct plc__prep *p, const struct plc__state *st, int t, int n)
{
	int s = p->m->tasks.v[t].stage;
	double c = p->src_cost[(size_t)t * (size_t)p->R + (size_t)p->node_region[n]];
	double ch = 0.0;

	c += p->pref[s * p->N + n];
	c += st->load_delta[n] + p->work[t] * st->load_slope[n] +
	     plc__stage_delta(p, st, s, n, p->work[t]);
	for (int i = 0; i < p->n_adj[t]; i++) {
		const struct plc__adj *a = &p->adj[t][i];
		int u = st->assign[a->task];

		if (u >= 0)
			ch += a->bps * plc__rtt_nodes(p, n, u);
	}
	return c + ch / PLC__MB;
}

void plc__place_costs(const struct plc__prep *p, struct plc__state *st, int t, double *cost)
{
	int s = p->m->tasks.v[t].stage, nt = 0;

	assert(st->assign[t] < 0);
	for (int i = 0; i < p->n_adj[t]; i++) { /* neighbours' bytes/s by region and node */
		const struct plc__adj *a = &p->adj[t][i];
		int u = st->assign[a->task];

		if (u < 0)
			continue;
		int r = p->node_region[u];

		if (st->reg_bps[r] == 0.0)
			st->touched[nt++] = r;
		st->reg_bps[r] += a->bps;
		st->node_bps[u] += a->bps;
	}
	for (int r = 0; r < p->R; r++) {
		double c = 0.0;

		for (int i = 0; i < nt; i++)
			c += st->reg_bps[st->touched[i]] *
			     p->rtt[(size_t)r * p->rtt_dim + (size_t)st->touched[i]];
		st->reg_cost[r] = c;
	}
	const double *src = &p->src_cost[(size_t)t * (size_t)p->R];
	const double *pref = &p->pref[(size_t)s * (size_t)p->N];
	double w = p->work[t];

	for (int n = 0; n < p->N; n++) {
		int r = p->node_region[n];
		double ch = st->reg_cost[r] -
			    st->node_bps[n] * p->rtt[(size_t)r * p->rtt_dim + (size_t)r];

		cost[n] = src[r] + pref[n] + st->load_delta[n] + w * st->load_slope[n] +
			  plc__stage_delta(p, st, s, n, w) + ch / PLC__MB;
	}
	for (int i = 0; i < p->n_adj[t]; i++) { /* leave the scratch zeroed */
		int u = st->assign[p->adj[t][i].task];

		if (u >= 0) {
			st->node_bps[u] = 0.0;
			st->reg_bps[p->node_region[u]] = 0.0;
		}
	}
}

void plc__place(const struct plc__prep *p, struct plc__state *st, int t, int n)
{
	int s = p->m->tasks.v[t].stage;

	assert(st->assign[t] < 0 && n >= 0 && n < p->N);
	st->assign[t] = n;
	st->node_count[n]++;
	st->node_work[n] += p->work[t];
	plc__load_delta_update(p, st, n);
	st->stage_count[s * p->N + n]++;
	st->stage_work[s * p->N + n] += p->work[t];
	st->reg_count[s * p->R + p->node_region[n]]++;
	st->zone_count[s * p->n_zone_doms + p->zone_dom[n]]++;
}

void plc__unplace(const struct plc__prep *p, struct plc__state *st, int t)
{
	int s = p->m->tasks.v[t].stage, n = st->assign[t];

	assert(n >= 0);
	st->assign[t] = -1;
	st->node_count[n]--;
	st->node_work[n] -= p->work[t];
	if (st->node_count[n] == 0)
		st->node_work[n] = 0.0; /* no rounding residue on an empty node */
	plc__load_delta_update(p, st, n);
	st->stage_count[s * p->N + n]--;
	st->stage_work[s * p->N + n] -= p->work[t];
	if (st->stage_count[s * p->N + n] == 0)
		st->stage_work[s * p->N + n] = 0.0;
	st->reg_count[s * p->R + p->node_region[n]]--;
	st->zone_count[s * p->n_zone_doms + p->zone_dom[n]]--;
}

void plc__total_cost(const struct plc__prep *p, const int *assign, struct plc_cost *out)
{
	const struct plc_model *m = p->m;
	size_t sn = ((size_t)p->S + 1) * ((size_t)p->N + 1);
	int *count = calloc((size_t)p->N + 1, sizeof(int));
	double *work = calloc((size_t)p->N + 1, sizeof(double));
	int *scount = calloc(sn, sizeof(int));
	double *swork = calloc(sn, sizeof(double));
	bool ok = count && work && scount && swork;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < m->channels.n; i++) {
		const struct plc__channel *c = &m->channels.v[i];

		out->channels +=
			c->bps * plc__rtt_nodes(p, assign[c->from], assign[c->to]) / PLC__MB;
	}
	for (int t = 0; t < p->T; t++) {
		int n = assign[t], s = m->tasks.v[t].stage;

		assert(n >= 0);
		out->sources += p->src_cost[(size_t)t * (size_t)p->R + (size_t)p->node_region[n]];
		out->prefs += p->pref[s * p->N + n];
		if (ok) {
			count[n]++;
			work[n] += p->work[t];
			scount[s * p->N + n]++;
			swork[s * p->N + n] += p->work[t];
		}
	}
	for (int n = 0; ok && n < p->N; n++)
		out->load += plc__load_term(p, n, count[n], work[n]);
	for (int i = 0; ok && i < p->S * p->N; i++)
		out->load += plc__stage_term(p, i % p->N, scount[i], swork[i]);
	free(count);
	free(work);
	free(scount);
	free(swork);
	out->total = out->channels + out->sources + out->load + out->prefs;
}
