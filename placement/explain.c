/*
 * placement/explain.c — results: per-task cost shares and runner-ups,
 * per-stage binding constraints, and the plain-text renderer.
 *
 * A task's cost share is its source reads, its missed preferences, an even
 * share of its node's imbalance term plus its own compute contention (its
 * work x the node's contention factor, and its work's same-stage part) and
 * half of each of its channels, so
 * the shares add up to the total. Its runner-up is the feasible node it could
 * move to alone at the smallest cost increase.
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "placement/plc_priv.h"

#define PLC__MB 1e6 /* bytes/s x ms per cost unit */

int plc__result_alloc(const struct plc_model *m, struct plc_result *r)
{
	memset(r, 0, sizeof(*r));
	r->bad_stage = -1;
	r->bad_constraint = -1;
	r->n_tasks = m->tasks.n;
	r->n_stages = m->stage_names.n;
	r->tasks = calloc(m->tasks.n + 1, sizeof(*r->tasks));
	r->stages = calloc(m->stage_names.n + 1, sizeof(*r->stages));
	if (!r->tasks || !r->stages) {
		plc_result_free(r);
		return SD_ENOMEM;
	}
	for (size_t t = 0; t < m->tasks.n; t++) {
		r->tasks[t].node = r->tasks[t].region = r->tasks[t].runner_up = -1;
	}
	return 0;
}

void plc_result_free(struct plc_result *r)
{
	if (!r)
		return;
	free(r->tasks);
	free(r->stages);
	r->tasks = NULL;
	r->stages = NULL;
	r->n_tasks = r->n_stages = 0;
}

static void plc__task_share(const struct plc__prep *p, const struct plc__state *st, int t,
			    struct plc_task_result *tr)
{
	int n = st->assign[t], s = p->m->tasks.v[t].stage;
	struct plc_cost *c = &tr->cost;

	tr->node = n;
	tr->region = p->node_region[n];
	tr->eligible = p->fixed[t] >= 0 ? 1 : p->n_elig[s];
	c->sources = p->src_cost[(size_t)t * (size_t)p->R + (size_t)p->node_region[n]];
	c->prefs = p->pref[s * p->N + n];
	c->load = plc__imbalance_term(p, n, st->node_count[n]) / st->node_count[n] +
		  p->work[t] * plc__contention(p, n, st->node_count[n]) +
		  plc__stage_term(p, n, st->stage_count[s * p->N + n], p->work[t]);
	c->channels = 0.0;
	for (int i = 0; i < p->n_adj[t]; i++) {
		const struct plc__adj *a = &p->adj[t][i];

		c->channels += a->bps * plc__rtt_nodes(p, n, st->assign[a->task]) / PLC__MB / 2.0;
	}
	c->total = c->sources + c->prefs + c->load + c->channels;
}

static void plc__runner_up(const struct plc__prep *p, struct plc__state *st, int t,
			   struct plc_task_result *tr, double *costs)
{
	int n0 = st->assign[t];

	tr->runner_up = -1;
	if (p->fixed[t] >= 0)
		return;
	plc__unplace(p, st, t);
	plc__place_costs(p, st, t, costs);
	double base = costs[n0];

	for (int n = 0; n < p->N; n++) {
		double d = costs[n] - base;

		if (n == n0 || (tr->runner_up >= 0 && d >= tr->runner_up_delta - PLC__EPS) ||
		    !plc__can_place(p, st, t, n))
			continue;
		{
			tr->runner_up = n;
			tr->runner_up_delta = d;
		}
	}
	plc__place(p, st, t, n0);
}

static void plc__stage_bound(const struct plc__prep *p, int s, struct plc_stage_result *sr)
{
	const struct plc_model *m = p->m;
	char *buf = sr->bound_by;
	size_t cap = sizeof(sr->bound_by), len = 0;
	int live = 0, parts = 0;

	for (int n = 0; n < p->N; n++)
		live += !m->nodes.v[n].lost && m->nodes.v[n].slots > 0;
	sr->eligible = p->n_elig[s];
	buf[0] = '\0';
	for (size_t i = 0; i < m->cons.n; i++) {
		const struct plc__cons *k = &m->cons.v[i];
		char text[PLC_TEXT_MAX];

		if (!plc__applies(k, s))
			continue;
		plc__constraint_canonical(&k->c, text, sizeof(text));
		plc__appendf(buf, cap, &len, "%s%s", parts++ ? "; " : "", text);
		if (k->c.kind == PLC_MATCH) {
			int pass = 0;

			for (int n = 0; n < p->N; n++)
				pass += !m->nodes.v[n].lost && m->nodes.v[n].slots > 0 &&
					plc__match_node(m, &k->c, n);
			plc__appendf(buf, cap, &len, ": %d of %d nodes %s", pass, live,
				     k->c.soft ? "match" : "eligible");
		} else if (k->c.kind == PLC_SPREAD) {
			int c = k->c.attr == PLC_ATTR_ZONE ? p->zone_cap[s] : p->reg_cap[s];

			if (c != INT_MAX)
				plc__appendf(buf, cap, &len, ": at most %d per %s", c,
					     k->c.attr == PLC_ATTR_ZONE ? "zone" : "region");
		}
	}
	plc__appendf(buf, cap, &len, "%s%d of %d nodes eligible", parts ? "; together " : "",
		     p->n_elig[s], live);
}

void plc__explain(const struct plc__prep *p, struct plc__state *st, struct plc_result *r)
{
	assert(r->n_tasks == (size_t)p->T);
	double *costs = calloc((size_t)p->N + 1, sizeof(double));

	plc__total_cost(p, st->assign, &r->cost);
	for (int t = 0; t < p->T; t++) {
		plc__task_share(p, st, t, &r->tasks[t]);
		if (r->feasible && costs)
			plc__runner_up(p, st, t, &r->tasks[t], costs);
	}
	free(costs);
	for (int s = 0; s < p->S; s++)
		plc__stage_bound(p, s, &r->stages[s]);
}

/* ---- text ------------------------------------------------------------ */

static void plc__render_task(const struct plc_model *m, const struct plc_result *r, int t,
			     char *buf, size_t cap, size_t *len)
{
	const struct plc_task_result *tr = &r->tasks[t];
	int s = m->tasks.v[t].stage;

	plc__appendf(buf, cap, len, "  task %d  stage %d (%s) partition %d -> ", t, s,
		     m->stage_names.v[s], m->tasks.v[t].partition);
	if (tr->node < 0) {
		plc__appendf(buf, cap, len, "unplaced\n");
		return;
	}
	plc__appendf(buf, cap, len,
		     "%s [%s]  cost %.3f (channels %.3f, sources %.3f, load %.3f, prefs %.3f)",
		     m->nodes.v[tr->node].name, m->regions.v[tr->region].name, tr->cost.total,
		     tr->cost.channels, tr->cost.sources, tr->cost.load, tr->cost.prefs);
	if (tr->runner_up >= 0)
		plc__appendf(buf, cap, len, "  next best %s (+%.3f)",
			     m->nodes.v[tr->runner_up].name, tr->runner_up_delta);
	plc__appendf(buf, cap, len, "\n");
}

int plc_render_text(const struct plc_model *m, const struct plc_result *r, char *buf, size_t cap)
{
	size_t len = 0;

	if (!m || !r || (!buf && cap))
		return SD_EINVAL;
	if (cap)
		buf[0] = '\0';
	if (!r->feasible && r->message[0]) {
		plc__appendf(buf, cap, &len, "placement infeasible: %s\n", r->message);
		return (int)len;
	}
	plc__appendf(buf, cap, &len,
		     "placement: %zu tasks, cost %.3f (channels %.3f, sources %.3f, load %.3f, "
		     "prefs %.3f)\n",
		     r->n_tasks, r->cost.total, r->cost.channels, r->cost.sources, r->cost.load,
		     r->cost.prefs);
	for (size_t t = 0; t < r->n_tasks && t < m->tasks.n; t++)
		plc__render_task(m, r, (int)t, buf, cap, &len);
	for (size_t s = 0; s < r->n_stages && s < m->stage_names.n; s++)
		plc__appendf(buf, cap, &len, "  stage %zu (%s): %s\n", s, m->stage_names.v[s],
			     r->stages[s].bound_by);
	return (int)len;
}
