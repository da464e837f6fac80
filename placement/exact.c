/*
 * placement/exact.c — branch and bound for small instances.
 *
 * Depth-first over tasks, choosing next the unplaced task with the fewest
 * feasible nodes (fail first; ties: lowest index), trying its nodes
 * cheapest first. The cost of a partial assignment is the sum of the
 * place costs in placement order (each channel is counted when its second
 * end is placed; load increments telescope to the load term). The bound
 * adds, for every unplaced task, its cheapest feasible node against the
 * placed tasks: channels between two unplaced tasks cost >= 0 and load
 * increments only grow as a node fills, so it never overestimates. (A
 * task's increment on node n is imbalance(c+1) - imbalance(c) +
 * W (f(c+1) - f(c)) + w f(c+1), with c tasks processing W bytes/s there and
 * f(c) = contention x (load + c/slots)^2: the imbalance term is convex in c,
 * f is increasing and convex, and later tasks only raise c and W.)
 * Cost: exponential in the worst case; a step limit bounds it.
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "placement/plc_priv.h"

struct plc__bb {
	const struct plc__prep *p;
	struct plc__state st;
	int *best;
	bool found;
	double best_cost;
	long steps, limit;
	bool aborted;
	int *cand_node;    /* T x N: candidates per depth */
	double *cand_cost; /* T x N */
};

/* Lower bound of the unplaced tasks; picks the next task (-1: dead end). */
static double plc__bound(struct plc__bb *b, int *pick)
{
	const struct plc__prep *p = b->p;
	double lb = 0.0;
	int best_cnt = INT_MAX;

	*pick = -1;
	for (int u = 0; u < p->T; u++) {
		if (b->st.assign[u] >= 0)
			continue;
		int cnt = 0;
		double mn = 0.0;

		for (int n = 0; n < p->N; n++) {
			if (!plc__can_place(p, &b->st, u, n))
				continue;
			double c = plc__place_cost(p, &b->st, u, n);

			if (cnt++ == 0 || c < mn)
				mn = c;
		}
		if (cnt == 0) {
			*pick = -1;
			return 0.0;
		}
		lb += mn;
		if (cnt < best_cnt) {
			best_cnt = cnt;
			*pick = u;
		}
	}
	return lb;
}

/* Fills the candidates of task t at this depth, cheapest first. */
static int plc__candidates(struct plc__bb *b, int depth, int t)
{
	const struct plc__prep *p = b->p;
	int *nodes = &b->cand_node[(size_t)depth * (size_t)p->N];
	double *costs = &b->cand_cost[(size_t)depth * (size_t)p->N];
	int k = 0;

	for (int n = 0; n < p->N; n++) {
		if (!plc__can_place(p, &b->st, t, n))
			continue;
		double c = plc__place_cost(p, &b->st, t, n);
		int i = k++;

		while (i > 0 && costs[i - 1] > c) { /* insertion keeps equal costs in node order */
			costs[i] = costs[i - 1];
			nodes[i] = nodes[i - 1];
			i--;
		}
		costs[i] = c;
		nodes[i] = n;
	}
	return k;
}

static void plc__dfs(struct plc__bb *b, int depth, double cost)
{
	const struct plc__prep *p = b->p;

	if (b->aborted)
		return;
	if (++b->steps > b->limit) {
		b->aborted = true;
		return;
	}
	if (depth == p->T) {
		if (!b->found || cost < b->best_cost - PLC__EPS) {
			memcpy(b->best, b->st.assign, (size_t)p->T * sizeof(int));
			b->best_cost = cost;
			b->found = true;
		}
		return;
	}
	int t;
	double lb = cost + plc__bound(b, &t);

	if (t < 0 || (b->found && lb >= b->best_cost - PLC__EPS))
		return;
	int k = plc__candidates(b, depth, t);

	for (int i = 0; i < k && !b->aborted; i++) {
		int n = b->cand_node[(size_t)depth * (size_t)p->N + (size_t)i];
		double c = b->cand_cost[(size_t)depth * (size_t)p->N + (size_t)i];

		if (b->found && cost + c >= b->best_cost - PLC__EPS)
			break; /* candidates are sorted: the rest cost more */
		plc__place(p, &b->st, t, n);
		plc__dfs(b, depth + 1, cost + c);
		plc__unplace(p, &b->st, t);
	}
}

int plc__exact(const struct plc__prep *p, const int *incumbent, int *best, bool *found, long limit,
	       long *steps)
{
	struct plc__bb b;
	size_t cells = ((size_t)p->T + 1) * ((size_t)p->N + 1);

	memset(&b, 0, sizeof(b));
	b.p = p;
	b.best = best;
	b.limit = limit;
	b.cand_node = malloc(cells * sizeof(int));
	b.cand_cost = malloc(cells * sizeof(double));
	if (!b.cand_node || !b.cand_cost || plc__state_init(&b.st, p)) {
		free(b.cand_node);
		free(b.cand_cost);
		return SD_ENOMEM;
	}
	if (incumbent) {
		struct plc_cost c;

		plc__total_cost(p, incumbent, &c);
		memcpy(best, incumbent, (size_t)p->T * sizeof(int));
		b.best_cost = c.total;
		b.found = true;
	}
	plc__dfs(&b, 0, 0.0);
	*found = b.found;
	*steps += b.steps;
	plc__state_free(&b.st);
	free(b.cand_node);
	free(b.cand_cost);
	if (b.aborted)
		return SD_ELIMIT;
	return b.found ? 0 : SD_EINFEASIBLE;
}
