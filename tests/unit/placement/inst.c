/* tests/unit/placement/inst.c — random instances, model building, and the
 * independent checker and cost function (see inst.h). */
#include <stdio.h>
#include <string.h>

#include "tests/unit/placement/inst.h"

uint64_t ti_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

double ti_uniform(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * (double)(ti_rand(s) >> 11) / (double)(1ULL << 53);
}

int ti_int(uint64_t *s, int lo, int hi)
{
	return lo + (int)(ti_rand(s) % (uint64_t)(hi - lo + 1));
}

static void ti_random_constraint(struct ti *x, uint64_t *sd, struct plc_constraint *c)
{
	int kind = ti_int(sd, 0, 7);

	memset(c, 0, sizeof(*c));
	if (ti_int(sd, 0, 9) >= 3)
		snprintf(c->stage, sizeof(c->stage), "s%d", ti_int(sd, 0, x->S - 1));
	switch (kind) {
	case 0:
	case 1:
		c->kind = PLC_MATCH;
		c->attr = PLC_ATTR_REGION;
		c->negate = kind == 1;
		c->n_values = (size_t)ti_int(sd, 1, 2);
		for (size_t i = 0; i < c->n_values; i++)
			snprintf(c->values[i], sizeof(c->values[i]), "r%d",
				 ti_int(sd, 0, x->R - 1));
		break;
	case 2:
		c->kind = PLC_MATCH;
		c->attr = PLC_ATTR_ZONE;
		c->n_values = 1;
		snprintf(c->values[0], sizeof(c->values[0]), "%s", ti_int(sd, 0, 1) ? "a" : "b");
		break;
	case 3:
		c->kind = PLC_MATCH;
		c->attr = PLC_ATTR_LABEL;
		snprintf(c->label_key, sizeof(c->label_key), "tier");
		c->n_values = 1;
		snprintf(c->values[0], sizeof(c->values[0]), "gold");
		c->negate = ti_int(sd, 0, 1);
		break;
	case 4: {
		int s = ti_int(sd, 1, x->S - 1);

		c->kind = PLC_NEAR;
		snprintf(c->stage, sizeof(c->stage), "s%d", s);
		snprintf(c->near_stage, sizeof(c->near_stage), "s%d", s - 1);
		c->max_rtt_ms = ti_uniform(sd, 1.0, 80.0);
		break;
	}
	case 5:
		c->kind = PLC_MAX_PER_NODE;
		c->max_per_node = ti_int(sd, 1, 2);
		break;
	case 6:
		c->kind = PLC_SPREAD;
		c->attr = ti_int(sd, 0, 1) ? PLC_ATTR_ZONE : PLC_ATTR_REGION;
		break;
	default:
		c->kind = PLC_MATCH;
		c->soft = true;
		c->weight = ti_uniform(sd, 1.0, 200.0);
		c->attr = ti_int(sd, 0, 1) ? PLC_ATTR_ZONE : PLC_ATTR_REGION;
		c->n_values = 1;
		if (c->attr == PLC_ATTR_ZONE)
			snprintf(c->values[0], sizeof(c->values[0]), "a");
		else
			snprintf(c->values[0], sizeof(c->values[0]), "r%d",
				 ti_int(sd, 0, x->R - 1));
		break;
	}
}

static void ti_random_graph(struct ti *x, uint64_t *sd)
{
	int first[TI_MAX_S + 1], count[TI_MAX_S];

	x->S = ti_int(sd, 2, 3);
	x->T = 0;
	for (int s = 0; s < x->S; s++) {
		count[s] = ti_int(sd, 1, 3);
		first[s] = x->T;
		for (int i = 0; i < count[s]; i++)
			x->task_stage[x->T++] = s;
	}
	x->C = 0;
	for (int s = 1; s < x->S; s++) {
		bool forward = count[s] == count[s - 1] && ti_int(sd, 0, 1);

		for (int a = 0; a < count[s - 1]; a++)
			for (int b = 0; b < count[s]; b++) {
				if (forward && a != b)
					continue;
				x->ch_from[x->C] = first[s - 1] + a;
				x->ch_to[x->C] = first[s] + b;
				x->ch_bps[x->C++] = ti_uniform(sd, 1e5, 1e7);
			}
	}
	x->Rd = 0;
	for (int t = 0; t < count[0]; t++) {
		x->rd_task[x->Rd] = t;
		x->rd_fs[x->Rd] = ti_int(sd, 0, x->F - 1);
		x->rd_bps[x->Rd++] = ti_uniform(sd, 1e6, 2e7);
	}
}

void ti_random(struct ti *x, uint64_t *sd)
{
	memset(x, 0, sizeof(*x));
	x->R = ti_int(sd, 2, 3);
	for (int i = 0; i < x->R; i++) {
		x->rtt[i][i] = ti_uniform(sd, 0.5, 2.0);
		for (int j = 0; j < i; j++)
			x->rtt[i][j] = x->rtt[j][i] = ti_uniform(sd, 10.0, 120.0);
	}
	x->N = ti_int(sd, 3, 6);
	for (int n = 0; n < x->N; n++) {
		struct ti_node *nd = &x->nodes[n];
		int tier = ti_int(sd, 0, 2);

		snprintf(nd->name, sizeof(nd->name), "n%d", n);
		nd->region = ti_int(sd, 0, x->R - 1);
		snprintf(nd->zone, sizeof(nd->zone), "%s", ti_int(sd, 0, 1) ? "a" : "b");
		snprintf(nd->tier, sizeof(nd->tier), "%s",
			 tier == 0   ? "gold"
			 : tier == 1 ? "silver"
				     : "");
		nd->slots = ti_int(sd, 1, 3);
		nd->load = ti_uniform(sd, 0.0, 0.5);
		nd->lost = ti_int(sd, 0, 9) == 0;
	}
	x->F = ti_int(sd, 1, 2);
	for (int f = 0; f < x->F; f++)
		x->netfs_region[f] = ti_int(sd, 0, x->R - 1);
	ti_random_graph(x, sd);
	x->K = ti_int(sd, 0, 3);
	for (int k = 0; k < x->K; k++)
		ti_random_constraint(x, sd, &x->cons[k]);
	x->load_weight = ti_uniform(sd, 0.5, 20.0);
	x->contention_ms = ti_int(sd, 0, 3) == 0 ? 0.0 : ti_uniform(sd, 0.5, 30.0);
}

static int ti_build_nodes(struct plc_model *m, const struct ti *x)
{
	for (int n = 0; n < x->N; n++) {
		const struct ti_node *nd = &x->nodes[n];
		char region[16];
		struct plc_label label = {"tier", nd->tier};
		struct plc_node_spec spec = {
			nd->name,  region,  nd->zone, &label, nd->tier[0] ? 1 : 0,
			nd->slots, nd->load};

		snprintf(region, sizeof(region), "r%d", nd->region);
		if (plc_model_add_node(m, &spec) != n)
			return -1;
		if (nd->lost && plc_model_set_node_lost(m, n, true))
			return -1;
	}
	return 0;
}

struct plc_model *ti_build(const struct ti *x)
{
	struct plc_model *m = plc_model_new();
	char a[16], b[16];
	int ok = m != NULL;

	for (int i = 0; ok && i < x->R; i++)
		for (int j = 0; ok && j <= i; j++) {
			snprintf(a, sizeof(a), "r%d", i);
			snprintf(b, sizeof(b), "r%d", j);
			ok = plc_model_set_rtt(m, a, b, x->rtt[i][j]) == 0;
		}
	ok = ok && plc_model_set_load_weight(m, x->load_weight) == 0 &&
	     plc_model_set_contention(m, x->contention_ms) == 0 && ti_build_nodes(m, x) == 0;
	for (int f = 0; ok && f < x->F; f++) {
		snprintf(a, sizeof(a), "f%d", f);
		snprintf(b, sizeof(b), "r%d", x->netfs_region[f]);
		ok = plc_model_add_netfs(m, a, b) == f;
	}
	for (int s = 0; ok && s < x->S; s++) {
		snprintf(a, sizeof(a), "s%d", s);
		ok = plc_model_add_stage(m, a) == s;
	}
	for (int t = 0; ok && t < x->T; t++)
		ok = plc_model_add_task(m, x->task_stage[t], t) == t;
	for (int c = 0; ok && c < x->C; c++)
		ok = plc_model_add_channel(m, x->ch_from[c], x->ch_to[c], x->ch_bps[c]) == 0;
	for (int r = 0; ok && r < x->Rd; r++)
		ok = plc_model_add_source_read(m, x->rd_task[r], x->rd_fs[r], x->rd_bps[r]) == 0;
	for (int k = 0; ok && k < x->K; k++)
		ok = plc_model_add_constraint(m, &x->cons[k]) == k;
	if (!ok) {
		plc_model_free(m);
		return NULL;
	}
	return m;
}

/* ---- the independent checker ------------------------------------------ */

static double ti_rtt(const struct ti *x, int a, int b)
{
	return a == b ? 0.0 : x->rtt[x->nodes[a].region][x->nodes[b].region];
}

static bool ti_applies(const struct plc_constraint *c, int stage)
{
	char name[16];

	snprintf(name, sizeof(name), "s%d", stage);
	return !c->stage[0] || strcmp(c->stage, name) == 0;
}

static bool ti_match(const struct ti *x, const struct plc_constraint *c, int n)
{
	char region[16];
	const char *v;

	snprintf(region, sizeof(region), "r%d", x->nodes[n].region);
	v = c->attr == PLC_ATTR_REGION ? region
	    : c->attr == PLC_ATTR_ZONE ? x->nodes[n].zone
	    : x->nodes[n].tier[0]      ? x->nodes[n].tier
				       : NULL;
	bool in = false;

	for (size_t i = 0; v && i < c->n_values; i++)
		in |= strcmp(v, c->values[i]) == 0;
	return c->negate ? !in : in;
}

static bool ti_eligible(const struct ti *x, int s, int n)
{
	if (x->nodes[n].lost || x->nodes[n].slots <= 0)
		return false;
	for (int k = 0; k < x->K; k++) {
		const struct plc_constraint *c = &x->cons[k];

		if (c->kind == PLC_MATCH && !c->soft && ti_applies(c, s) && !ti_match(x, c, n))
			return false;
	}
	return true;
}

static int ti_domain(const struct ti *x, int n, bool zones)
{
	return zones ? x->nodes[n].region * 2 + (x->nodes[n].zone[0] == 'a') : x->nodes[n].region;
}

static bool ti_spread_ok(const struct ti *x, const int *assign, int s, bool zones)
{
	int seen[TI_MAX_R * 2] = {0}, count[TI_MAX_R * 2] = {0}, d = 0, ns = 0;

	for (int n = 0; n < x->N; n++)
		if (ti_eligible(x, s, n) && !seen[ti_domain(x, n, zones)]++)
			d++;
	for (int t = 0; t < x->T; t++)
		if (x->task_stage[t] == s) {
			ns++;
			count[ti_domain(x, assign[t], zones)]++;
		}
	for (int i = 0; d && i < TI_MAX_R * 2; i++)
		if (count[i] > (ns + d - 1) / d)
			return false;
	return true;
}

static bool ti_linked(const struct ti *x, int t, int u)
{
	for (int c = 0; c < x->C; c++)
		if ((x->ch_from[c] == t && x->ch_to[c] == u) ||
		    (x->ch_from[c] == u && x->ch_to[c] == t))
			return true;
	return false;
}

static bool ti_near_ok(const struct ti *x, const int *assign, const struct plc_constraint *c)
{
	int b;
	double bound = c->max_rtt_ms > 0.0 ? c->max_rtt_ms : PLC_NEAR_DEFAULT_MS;

	sscanf(c->near_stage, "s%d", &b);
	for (int t = 0; t < x->T; t++) {
		if (x->task_stage[t] == b || !ti_applies(c, x->task_stage[t]))
			continue;
		bool any = false;

		for (int u = 0; u < x->T; u++)
			any |= x->task_stage[u] == b && ti_linked(x, t, u);
		for (int u = 0; u < x->T; u++)
			if (x->task_stage[u] == b && (!any || ti_linked(x, t, u)) &&
			    ti_rtt(x, assign[t], assign[u]) > bound)
				return false;
	}
	return true;
}

static bool ti_caps_ok(const struct ti *x, const int *assign, const struct plc_constraint *c)
{
	for (int n = 0; n < x->N; n++) {
		int cnt = 0;

		for (int t = 0; t < x->T; t++)
			cnt += assign[t] == n && ti_applies(c, x->task_stage[t]);
		if (cnt > c->max_per_node)
			return false;
	}
	return true;
}

bool ti_feasible(const struct ti *x, const int *assign, char *why, size_t cap)
{
	int count[TI_MAX_N] = {0};

	for (int t = 0; t < x->T; t++) {
		if (assign[t] < 0 || assign[t] >= x->N ||
		    !ti_eligible(x, x->task_stage[t], assign[t])) {
			snprintf(why, cap, "task %d on an ineligible node", t);
			return false;
		}
		if (++count[assign[t]] > x->nodes[assign[t]].slots) {
			snprintf(why, cap, "node %d over its slots", assign[t]);
			return false;
		}
	}
	for (int k = 0; k < x->K; k++) {
		const struct plc_constraint *c = &x->cons[k];
		bool ok = true;

		if (c->kind == PLC_NEAR)
			ok = ti_near_ok(x, assign, c);
		else if (c->kind == PLC_MAX_PER_NODE)
			ok = ti_caps_ok(x, assign, c);
		for (int s = 0; c->kind == PLC_SPREAD && s < x->S && ok; s++)
			ok = !ti_applies(c, s) ||
			     ti_spread_ok(x, assign, s, c->attr == PLC_ATTR_ZONE);
		if (!ok) {
			snprintf(why, cap, "constraint %d (kind %d) broken", k, (int)c->kind);
			return false;
		}
	}
	return true;
}

/* Bytes/s task t processes: what flows in (channels, reads), else what
 * flows out (docs/placement.md, "The objective"). */
static double ti_work(const struct ti *x, int t)
{
	double in = 0.0, out = 0.0;

	for (int c = 0; c < x->C; c++) {
		in += x->ch_to[c] == t ? x->ch_bps[c] : 0.0;
		out += x->ch_from[c] == t ? x->ch_bps[c] : 0.0;
	}
	for (int r = 0; r < x->Rd; r++)
		in += x->rd_task[r] == t ? x->rd_bps[r] : 0.0;
	return in > 0.0 ? in : out;
}

double ti_cost(const struct ti *x, const int *assign)
{
	double cost = 0.0, work[TI_MAX_N] = {0}, swork[TI_MAX_S][TI_MAX_N] = {{0}};
	int count[TI_MAX_N] = {0}, scount[TI_MAX_S][TI_MAX_N] = {{0}};

	for (int c = 0; c < x->C; c++)
		cost += x->ch_bps[c] * ti_rtt(x, assign[x->ch_from[c]], assign[x->ch_to[c]]) / 1e6;
	for (int r = 0; r < x->Rd; r++)
		cost += x->rd_bps[r] *
			x->rtt[x->nodes[assign[x->rd_task[r]]].region]
			      [x->netfs_region[x->rd_fs[r]]] /
			1e6;
	for (int t = 0; t < x->T; t++) {
		count[assign[t]]++;
		work[assign[t]] += ti_work(x, t);
		scount[x->task_stage[t]][assign[t]]++;
		swork[x->task_stage[t]][assign[t]] += ti_work(x, t);
		for (int k = 0; k < x->K; k++) {
			const struct plc_constraint *c = &x->cons[k];

			if (c->kind == PLC_MATCH && c->soft && ti_applies(c, x->task_stage[t]) &&
			    !ti_match(x, c, assign[t]))
				cost += c->weight;
		}
	}
	for (int n = 0; n < x->N; n++) {
		if (!count[n])
			continue;
		double l = x->nodes[n].load, u = l + (double)count[n] / x->nodes[n].slots;

		cost += x->load_weight * (u * u - l * l);
		cost += x->contention_ms * work[n] * u * u / 1e6;
		for (int s = 0; s < x->S; s++) /* same-stage part */
			if (scount[s][n] > 1)
				cost += x->contention_ms * swork[s][n] * (scount[s][n] - 1) /
					x->nodes[n].slots / 1e6;
	}
	return cost;
}
