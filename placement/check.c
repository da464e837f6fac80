/*
 * placement/check.c — infeasibility reports and the hard-constraint check
 * of a complete assignment.
 *
 * plc__diagnose looks for a reason no assignment can exist that can be
 * named in one sentence: a stage no node is eligible for (naming the
 * constraint that empties the set and the values that do exist), too few
 * slots, a spread that cannot be met, a near() bound no pair of eligible
 * regions meets. Reasons that only show in combination (slots shared by
 * several stages, chains of near()) are found by the search instead, which
 * then reports the stage it could not place.
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "placement/plc_priv.h"

#define PLC__LIST_MAX 12 /* distinct values listed in a message */

static void plc__stage_prefix(const struct plc_model *m, int s, char *buf, size_t cap, size_t *len)
{
	if (s < 0)
		plc__appendf(buf, cap, len, "job: ");
	else
		plc__appendf(buf, cap, len, "stage %d (%s): ", s, m->stage_names.v[s]);
}

static void plc__report_begin(const struct plc__prep *p, struct plc_result *r, int s, int k,
			      size_t *len)
{
	r->feasible = false;
	r->bad_stage = s;
	r->bad_constraint = k;
	*len = 0;
	plc__stage_prefix(p->m, s, r->message, sizeof(r->message), len);
	if (k >= 0) {
		char text[PLC_TEXT_MAX];

		plc_constraint_format(&p->m->cons.v[k].c, text, sizeof(text));
		plc__appendf(r->message, sizeof(r->message), len, "%s \xe2\x80\x94 ", text);
	}
}

static bool plc__live(const struct plc_model *m, int n)
{
	return !m->nodes.v[n].lost && m->nodes.v[n].slots > 0;
}

/* Appends the distinct values of c's attribute over live nodes ("regions:
 * a, b"); for a label key no node has, the label keys that exist. */
static void plc__list_values(const struct plc_model *m, const struct plc_constraint *c, char *buf,
			     size_t cap, size_t *len)
{
	bool keys = false;

	if (c->attr == PLC_ATTR_LABEL) {
		keys = true;
		for (size_t n = 0; n < m->nodes.n && keys; n++)
			keys = !plc__live(m, (int)n) || !plc__node_attr(m, c, (int)n);
	}
	plc__appendf(buf, cap, len, "; %s:",
		     c->attr == PLC_ATTR_REGION ? "regions"
		     : c->attr == PLC_ATTR_ZONE ? "zones"
		     : keys                     ? "labels"
						: "values");
	int listed = 0;

	for (size_t n = 0; n < m->nodes.n && listed <= PLC__LIST_MAX; n++) {
		const struct plc__node *nd = &m->nodes.v[n];

		for (size_t l = 0; l < (keys ? nd->n_labels : 1); l++) {
			const char *v = keys ? nd->keys[l] : plc__node_attr(m, c, (int)n);
			bool dup = !plc__live(m, (int)n) || !v || !v[0];

			for (size_t e = 0; e < n && !dup; e++) {
				const struct plc__node *ne = &m->nodes.v[e];

				for (size_t j = 0; j < (keys ? ne->n_labels : 1) && !dup; j++) {
					const char *w =
						keys ? ne->keys[j] : plc__node_attr(m, c, (int)e);

					dup = plc__live(m, (int)e) && w && strcmp(v, w) == 0;
				}
			}
			if (dup)
				continue;
			if (++listed > PLC__LIST_MAX)
				plc__appendf(buf, cap, len, " ...");
			else
				plc__appendf(buf, cap, len, "%s %s", listed > 1 ? "," : "", v);
		}
	}
	if (!listed)
		plc__appendf(buf, cap, len, " none");
}

static void plc__no_node_message(const struct plc_model *m, const struct plc_constraint *c,
				 char *buf, size_t cap, size_t *len)
{
	const char *what = c->attr == PLC_ATTR_REGION ? "region"
			   : c->attr == PLC_ATTR_ZONE ? "zone"
						      : "label";

	if (c->negate) {
		plc__appendf(buf, cap, len, "every live node has %s%s%s in {", what,
			     c->attr == PLC_ATTR_LABEL ? " " : "",
			     c->attr == PLC_ATTR_LABEL ? c->label_key : "");
		for (size_t i = 0; i < c->n_values; i++)
			plc__appendf(buf, cap, len, "%s%s", i ? ", " : "", c->values[i]);
		plc__appendf(buf, cap, len, "}");
	} else {
		plc__appendf(buf, cap, len, "no node has %s ", what);
		if (c->attr == PLC_ATTR_LABEL)
			plc__appendf(buf, cap, len, "%s=", c->label_key);
		for (size_t i = 0; i < c->n_values; i++)
			plc__appendf(buf, cap, len, "%s\"%s\"", i ? " or " : "", c->values[i]);
	}
	plc__list_values(m, c, buf, cap, len);
}

/* No node is eligible for stage s: name the constraint that empties the set. */
static void plc__diagnose_empty(const struct plc__prep *p, int s, struct plc_result *r)
{
	const struct plc_model *m = p->m;
	bool *alive = calloc((size_t)p->N + 1, sizeof(bool));
	size_t len, cap = sizeof(r->message);
	int live = 0;

	for (int n = 0; n < p->N; n++)
		live += plc__live(m, n);
	for (size_t i = 0; live && i < m->cons.n; i++) {
		const struct plc__cons *k = &m->cons.v[i];
		int pass = 0;

		if (k->c.kind != PLC_MATCH || k->c.soft || !plc__applies(k, s))
			continue;
		for (int n = 0; n < p->N; n++)
			pass += plc__live(m, n) && plc__match_node(m, &k->c, n);
		if (pass == 0) {
			plc__report_begin(p, r, s, (int)i, &len);
			plc__no_node_message(m, &k->c, r->message, cap, &len);
			free(alive);
			return;
		}
	}
	if (!live || !alive) {
		plc__report_begin(p, r, s, -1, &len);
		plc__appendf(r->message, cap, &len, "no live node has a free slot (%d nodes)",
			     p->N);
		free(alive);
		return;
	}
	for (int n = 0; n < p->N; n++)
		alive[n] = plc__live(m, n);
	for (size_t i = 0; i < m->cons.n; i++) {
		const struct plc__cons *k = &m->cons.v[i];
		int left = 0, pass = 0;

		if (k->c.kind != PLC_MATCH || k->c.soft || !plc__applies(k, s))
			continue;
		for (int n = 0; n < p->N; n++) {
			pass += plc__live(m, n) && plc__match_node(m, &k->c, n);
			alive[n] = alive[n] && plc__match_node(m, &k->c, n);
			left += alive[n];
		}
		if (left == 0) {
			plc__report_begin(p, r, s, (int)i, &len);
			plc__appendf(r->message, cap, &len,
				     "no node meets it together with the stage's other constraints "
				     "(alone it leaves %d of %d live nodes)",
				     pass, live);
			break;
		}
	}
	free(alive);
}

/* Room for stage s's tasks on node n, counting the per-node caps only. */
static int plc__node_room(const struct plc__prep *p, int s, int n, bool with_caps)
{
	int room = p->m->nodes.v[n].slots;

	if (with_caps && p->job_cap < room)
		room = p->job_cap;
	if (with_caps && p->stage_cap[s] < room)
		room = p->stage_cap[s];
	return room;
}

static int plc__find_cons(const struct plc_model *m, enum plc_kind kind, int s, int attr)
{
	for (size_t i = 0; i < m->cons.n; i++) {
		const struct plc__cons *k = &m->cons.v[i];

		if (k->c.kind == kind && plc__applies(k, s) && (attr < 0 || (int)k->c.attr == attr))
			return (int)i;
	}
	return -1;
}

/* The near() constraint that ties stage s to stage target, -1 if none. */
static int plc__find_near(const struct plc_model *m, int s, int target)
{
	for (size_t i = 0; i < m->cons.n; i++) {
		const struct plc__cons *k = &m->cons.v[i];

		if (k->c.kind == PLC_NEAR && plc__applies(k, s) && k->near_stage == target)
			return (int)i;
	}
	return -1;
}

static bool plc__diagnose_room(const struct plc__prep *p, int s, struct plc_result *r)
{
	long room = 0, raw = 0;
	size_t len;

	for (int n = 0; n < p->N; n++) {
		if (!p->elig[s * p->N + n])
			continue;
		room += plc__node_room(p, s, n, true);
		raw += plc__node_room(p, s, n, false);
	}
	if (room >= p->stage_ntasks[s])
		return false;
	int k = raw >= p->stage_ntasks[s] ? plc__find_cons(p->m, PLC_MAX_PER_NODE, s, -1) : -1;

	plc__report_begin(p, r, s, k, &len);
	plc__appendf(r->message, sizeof(r->message), &len,
		     "%d tasks but the %d eligible nodes have room for only %ld",
		     p->stage_ntasks[s], p->n_elig[s], room);
	return true;
}

static bool plc__diagnose_spread(const struct plc__prep *p, int s, bool zones, struct plc_result *r)
{
	int cap = zones ? p->zone_cap[s] : p->reg_cap[s];
	int dims = zones ? p->n_zone_doms : p->R;
	long *room = calloc((size_t)dims + 1, sizeof(long)), total = 0;
	size_t len;

	if (cap == INT_MAX || !room) {
		free(room);
		return false;
	}
	for (int n = 0; n < p->N; n++)
		if (p->elig[s * p->N + n])
			room[zones ? p->zone_dom[n] : p->node_region[n]] +=
				plc__node_room(p, s, n, true);
	for (int d = 0; d < dims; d++)
		total += room[d] < cap ? room[d] : cap;
	free(room);
	if (total >= p->stage_ntasks[s])
		return false;
	plc__report_begin(
		p, r, s,
		plc__find_cons(p->m, PLC_SPREAD, s, zones ? PLC_ATTR_ZONE : PLC_ATTR_REGION), &len);
	plc__appendf(r->message, sizeof(r->message), &len,
		     "%d tasks, at most %d per %s, but the eligible nodes have room for only %ld",
		     p->stage_ntasks[s], cap, zones ? "zone" : "region", total);
	return true;
}

/* The smallest round trip between an eligible node of stage a and one of
 * b: 0 if one node is eligible for both, else over the regions they use.
 * Cost O(N + R^2). */
static double plc__min_rtt(const struct plc__prep *p, int a, int b)
{
	bool *in_a = calloc((size_t)p->R + 1, sizeof(bool)),
	     *in_b = calloc((size_t)p->R + 1, sizeof(bool));
	double best = -1.0;

	for (int n = 0; in_a && in_b && n < p->N; n++) {
		bool ea = p->elig[a * p->N + n], eb = p->elig[b * p->N + n];

		if (ea && eb)
			best = 0.0;
		in_a[p->node_region[n]] |= ea;
		in_b[p->node_region[n]] |= eb;
	}
	for (int x = 0; best != 0.0 && in_a && in_b && x < p->R; x++) {
		for (int y = 0; in_a[x] && y < p->R; y++) {
			double d = p->rtt[(size_t)x * p->rtt_dim + (size_t)y];

			if (in_b[y] && (best < 0.0 || d < best))
				best = d;
		}
	}
	free(in_a);
	free(in_b);
	return best;
}

static bool plc__diagnose_near(const struct plc__prep *p, int s, struct plc_result *r)
{
	const struct plc_model *m = p->m;
	size_t len;

	for (size_t i = 0; i < m->cons.n; i++) {
		const struct plc__cons *k = &m->cons.v[i];

		if (k->c.kind != PLC_NEAR || !plc__applies(k, s) || s == k->near_stage ||
		    !p->stage_ntasks[k->near_stage] || !p->n_elig[k->near_stage])
			continue;
		double d = plc__min_rtt(p, s, k->near_stage);

		if (d <= k->c.max_rtt_ms)
			continue;
		plc__report_begin(p, r, s, (int)i, &len);
		plc__appendf(r->message, sizeof(r->message), &len,
			     "its eligible nodes are at least %.1f ms from those of stage %d (%s)",
			     d, k->near_stage, m->stage_names.v[k->near_stage]);
		return true;
	}
	return false;
}

bool plc__diagnose(const struct plc__prep *p, struct plc_result *r)
{
	long room = 0;
	size_t len;

	for (int s = 0; s < p->S; s++) {
		if (!p->stage_ntasks[s])
			continue;
		if (!p->n_elig[s]) {
			plc__diagnose_empty(p, s, r);
			return true;
		}
		if (plc__diagnose_room(p, s, r) || plc__diagnose_spread(p, s, false, r) ||
		    plc__diagnose_spread(p, s, true, r) || plc__diagnose_near(p, s, r))
			return true;
	}
	for (int n = 0; n < p->N; n++)
		if (plc__live(p->m, n))
			room += p->m->nodes.v[n].slots < p->job_cap ? p->m->nodes.v[n].slots
								    : p->job_cap;
	if (room >= p->T)
		return false;
	plc__report_begin(p, r, -1, -1, &len);
	plc__appendf(r->message, sizeof(r->message), &len,
		     "%d tasks but the live nodes have room for only %ld", p->T, room);
	return true;
}

/* ---- a task the search could not place --------------------------------- */

enum plc__block {
	PLC__B_PINNED,
	PLC__B_FULL,
	PLC__B_JOB_CAP,
	PLC__B_STAGE_CAP,
	PLC__B_REGIONS,
	PLC__B_ZONES,
	PLC__B_NEAR,
	PLC__B_N
};

/* Why t cannot go to eligible node n; *k gets the constraint, -1 if none. */
static enum plc__block plc__blocked_by(const struct plc__prep *p, const struct plc__state *st,
				       int t, int n, int *k)
{
	const struct plc_model *m = p->m;
	int s = m->tasks.v[t].stage;

	*k = -1;
	if (p->fixed[t] >= 0 && p->fixed[t] != n)
		return PLC__B_PINNED;
	if (st->node_count[n] >= m->nodes.v[n].slots)
		return PLC__B_FULL;
	if (st->node_count[n] >= p->job_cap || st->stage_count[s * p->N + n] >= p->stage_cap[s]) {
		*k = plc__find_cons(m, PLC_MAX_PER_NODE, s, -1);
		return st->node_count[n] >= p->job_cap ? PLC__B_JOB_CAP : PLC__B_STAGE_CAP;
	}
	if (st->reg_count[s * p->R + p->node_region[n]] >= p->reg_cap[s]) {
		*k = plc__find_cons(m, PLC_SPREAD, s, PLC_ATTR_REGION);
		return PLC__B_REGIONS;
	}
	if (st->zone_count[s * p->n_zone_doms + p->zone_dom[n]] >= p->zone_cap[s]) {
		*k = plc__find_cons(m, PLC_SPREAD, s, PLC_ATTR_ZONE);
		return PLC__B_ZONES;
	}
	for (int i = 0; i < p->n_near[t]; i++) {
		const struct plc__adj *a = &p->near[t][i];
		int u = st->assign[a->task];

		if (u >= 0 && plc__rtt_nodes(p, n, u) > a->near_ms) {
			int so = m->tasks.v[a->task].stage;

			*k = plc__find_near(m, s, so);
			if (*k < 0)
				*k = plc__find_near(m, so, s);
			return PLC__B_NEAR;
		}
	}
	return PLC__B_N;
}

void plc__report_stuck(const struct plc__prep *p, const struct plc__state *st, int t,
		       struct plc_result *r)
{
	static const char *what[PLC__B_N] = {"pinned elsewhere", "full", "", "", "", "", ""};
	const struct plc_model *m = p->m;
	int s = m->tasks.v[t].stage, count[PLC__B_N + 1] = {0}, cons[PLC__B_N + 1], top = -1;
	size_t len;

	for (int b = 0; b <= PLC__B_N; b++)
		cons[b] = -1;
	for (int n = 0; n < p->N; n++) {
		int k;

		if (!p->elig[s * p->N + n])
			continue;
		enum plc__block b = plc__blocked_by(p, st, t, n, &k);

		count[b]++;
		if (cons[b] < 0)
			cons[b] = k;
		if (b != PLC__B_N && (top < 0 || count[b] > count[top]))
			top = b;
	}
	plc__report_begin(p, r, s, -1, &len);
	r->bad_constraint = top >= 0 ? cons[top] : -1;
	plc__appendf(r->message, sizeof(r->message), &len,
		     "task %d (partition %d) fits on none of its %d eligible nodes given the other "
		     "tasks:",
		     t, m->tasks.v[t].partition, p->n_elig[s]);
	for (int b = 0, first = 1; b < PLC__B_N; b++) {
		char text[PLC_TEXT_MAX];

		if (!count[b])
			continue;
		text[0] = '\0';
		if (cons[b] >= 0)
			plc_constraint_format(&m->cons.v[cons[b]].c, text, sizeof(text));
		plc__appendf(r->message, sizeof(r->message), &len, "%s %d %s%s", first ? "" : ",",
			     count[b], cons[b] >= 0 ? "blocked by " : what[b], text);
		first = 0;
	}
}

/* ---- checking a complete assignment ----------------------------------- */

static bool plc__check_task(const struct plc__prep *p, const int *assign, int t,
			    struct plc_result *r)
{
	const struct plc_model *m = p->m;
	int s = m->tasks.v[t].stage, n = assign[t];
	size_t len;

	if (n < 0 || n >= p->N) {
		plc__report_begin(p, r, s, -1, &len);
		plc__appendf(r->message, sizeof(r->message), &len, "task %d is not placed", t);
		return false;
	}
	if (p->elig[s * p->N + n] && (p->fixed[t] < 0 || p->fixed[t] == n))
		return true;
	int k = -1;

	for (size_t i = 0; i < m->cons.n && k < 0; i++)
		if (m->cons.v[i].c.kind == PLC_MATCH && !m->cons.v[i].c.soft &&
		    plc__applies(&m->cons.v[i], s) && !plc__match_node(m, &m->cons.v[i].c, n))
			k = (int)i;
	plc__report_begin(p, r, s, k, &len);
	plc__appendf(r->message, sizeof(r->message), &len, "task %d may not run on node %s%s", t,
		     m->nodes.v[n].name, m->nodes.v[n].lost ? " (lost)" : "");
	return false;
}

static bool plc__check_counts(const struct plc__prep *p, const struct plc__state *st, int t,
			      struct plc_result *r)
{
	const struct plc_model *m = p->m;
	int s = m->tasks.v[t].stage, n = st->assign[t], k = -1;
	size_t len;

	if (st->node_count[n] > m->nodes.v[n].slots)
		k = -1;
	else if (st->node_count[n] > p->job_cap || st->stage_count[s * p->N + n] > p->stage_cap[s])
		k = plc__find_cons(m, PLC_MAX_PER_NODE, s, -1);
	else if (st->reg_count[s * p->R + p->node_region[n]] > p->reg_cap[s])
		k = plc__find_cons(m, PLC_SPREAD, s, PLC_ATTR_REGION);
	else if (st->zone_count[s * p->n_zone_doms + p->zone_dom[n]] > p->zone_cap[s])
		k = plc__find_cons(m, PLC_SPREAD, s, PLC_ATTR_ZONE);
	else
		return true;
	plc__report_begin(p, r, s, k, &len);
	plc__appendf(r->message, sizeof(r->message), &len, "node %s holds too many tasks (%d)",
		     m->nodes.v[n].name, st->node_count[n]);
	return false;
}

bool plc__check(const struct plc__prep *p, const int *assign, struct plc_result *r)
{
	struct plc__state st;
	bool ok = true;

	for (int t = 0; t < p->T && ok; t++)
		ok = plc__check_task(p, assign, t, r);
	if (!ok || plc__state_init(&st, p))
		return false;
	for (int t = 0; t < p->T; t++)
		plc__place(p, &st, t, assign[t]);
	for (int t = 0; t < p->T && ok; t++)
		ok = plc__check_counts(p, &st, t, r);
	for (int t = 0; t < p->T && ok; t++) {
		for (int i = 0; i < p->n_near[t] && ok; i++) {
			const struct plc__adj *a = &p->near[t][i];
			size_t len;

			if (plc__rtt_nodes(p, assign[t], assign[a->task]) <= a->near_ms)
				continue;
			int s = p->m->tasks.v[t].stage, so = p->m->tasks.v[a->task].stage;
			int k = plc__find_near(p->m, s, so);

			plc__report_begin(p, r, s, k >= 0 ? k : plc__find_near(p->m, so, s), &len);
			plc__appendf(r->message, sizeof(r->message), &len,
				     "task %d and task %d are %g ms apart, more than near() allows",
				     t, a->task, plc__rtt_nodes(p, assign[t], assign[a->task]));
			ok = false;
		}
	}
	plc__state_free(&st);
	return ok;
}
