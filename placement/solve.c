/*
 * placement/solve.c — the heuristic solver and the public entry points
 * (plc_solve, plc_solve_exact, plc_replace, plc_evaluate).
 *
 * Heuristic, deterministic for a model and its seed:
 *   1. Greedy, data-locality first: pinned tasks, tasks with a placed
 *      near() partner, then the unplaced task with the most bytes/s to its
 *      sources and to tasks already placed (ties: fewest eligible nodes,
 *      lowest index), each on the feasible node that adds the least cost
 *      (ties: lowest index). A stuck task makes room by moving one task
 *      (plc__repair); if still stuck, a second pass orders the most
 *      constrained first, then a bounded exact search (small instances).
 *   2. Local search until no step improves (at most PLC__LS_PASSES): move a
 *      task to a better node; swap two tasks (every pair on small
 *      instances, else with the tasks on the node a task would rather be
 *      on but cannot because it is full); on small instances, move both
 *      ends of a channel together.
 *   3. Iterated local search: kick a task and some neighbours, re-settle
 *      only what they touch, keep the best (PLC__ILS_WORK bounds the rounds).
 * Cost: pricing one task on every node is O(deg + R x regions touched + N)
 * (plc__place_costs); greedy O(T x (T + that)); a pass O(T x that).
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "placement/plc_priv.h"

#define PLC__LS_PASSES    50       /* local-search passes at most */
#define PLC__SWAP_ALL_MAX 64       /* tasks: up to this many, try every swap pair */
#define PLC__RESCUE_STEPS 200000L  /* exact-search nodes when greedy gets stuck */
#define PLC__RESCUE_CELLS 4096     /* tasks x nodes: larger instances get no rescue */
#define PLC__ILS_ITERS    200      /* perturb + local-search rounds at most */
#define PLC__ILS_WORK     4000000L /* tasks x nodes x rounds: fewer rounds on large instances */
#define PLC__KICK_MAX     4        /* tasks a perturbation moves at most */
#define PLC__PAIR_WORK    2000000L /* channel ends x nodes^2: pair moves only below */

struct plc__run {
	const struct plc__prep *p;
	struct plc__state st;
	double *attach; /* greedy: bytes/s towards placed tasks and sources */
	double *reads;  /* per task: source bytes/s */
	double *costs;  /* per node: scratch for plc__place_costs */
	int *queue;     /* ring of tasks to revisit (plc__settle), T entries */
	bool *queued;
	int qhead, qlen;
	long steps;
};

/* ---- greedy ---------------------------------------------------------- */

static int plc__best_node(struct plc__run *r, int t, double *cost_out)
{
	const struct plc__prep *p = r->p;
	int best = -1;
	double bc = 0.0;

	plc__place_costs(p, &r->st, t, r->costs);
	for (int n = 0; n < p->N; n++) {
		double c = r->costs[n];

		if ((best < 0 || c < bc - PLC__EPS) && plc__can_place(p, &r->st, t, n)) {
			best = n;
			bc = c;
		}
	}
	if (cost_out)
		*cost_out = bc;
	return best;
}

/* Does t have a placed near() partner (which leaves it few nodes)? */
static bool plc__near_placed(const struct plc__run *r, int t)
{
	for (int i = 0; i < r->p->n_near[t]; i++)
		if (r->st.assign[r->p->near[t][i].task] >= 0)
			return true;
	return false;
}

/* Is a better than b as the next task to place? */
static bool plc__greedy_before(const struct plc__run *r, int a, int b, bool tight_first)
{
	const struct plc__prep *p = r->p;
	int ea = p->n_elig[p->m->tasks.v[a].stage], eb = p->n_elig[p->m->tasks.v[b].stage];

	if ((p->fixed[a] >= 0) != (p->fixed[b] >= 0))
		return p->fixed[a] >= 0;
	if (plc__near_placed(r, a) != plc__near_placed(r, b))
		return plc__near_placed(r, a);
	if (tight_first && ea != eb)
		return ea < eb;
	if (r->attach[a] != r->attach[b])
		return r->attach[a] > r->attach[b];
	if (ea != eb)
		return ea < eb;
	return a < b;
}

static const double *plc__sort_costs; /* qsort has no context argument */

static int plc__cost_cmp(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;
	double ca = plc__sort_costs[a], cb = plc__sort_costs[b];

	if (ca != cb)
		return ca < cb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* t fits nowhere: make room on a node by moving one of its tasks elsewhere
 * (an ejection chain of length one), trying t's cheapest nodes first.
 * Returns the node t went to, or -1. Cost O(N log N + N x slots x N x deg). */
static int plc__repair(struct plc__run *r, int t)
{
	const struct plc__prep *p = r->p;
	int s = p->m->tasks.v[t].stage, *by_cost = malloc(((size_t)p->N + 1) * sizeof(int));
	double *tc = malloc(((size_t)p->N + 1) * sizeof(double));
	int found = -1;

	if (!by_cost || !tc)
		goto out_free;
	plc__place_costs(p, &r->st, t, tc);
	for (int n = 0; n < p->N; n++)
		by_cost[n] = n;
	plc__sort_costs = tc;
	qsort(by_cost, (size_t)p->N, sizeof(int), plc__cost_cmp);
	for (int i = 0; i < p->N && found < 0; i++) {
		int n = by_cost[i];

		for (int u = 0; u < p->T && found < 0 && p->elig[s * p->N + n]; u++) {
			if (r->st.assign[u] != n || p->fixed[u] >= 0)
				continue;
			plc__unplace(p, &r->st, u);
			if (plc__can_place(p, &r->st, t, n)) {
				plc__place(p, &r->st, t, n);
				int un = plc__best_node(r, u, NULL);

				if (un >= 0) {
					plc__place(p, &r->st, u, un);
					found = n;
					break;
				}
				plc__unplace(p, &r->st, t);
			}
			plc__place(p, &r->st, u, n);
		}
	}
out_free:
	free(by_cost);
	free(tc);
	return found;
}

/* Places every task; returns -1 or the first task it could not place. */
static int plc__greedy(struct plc__run *r, bool tight_first)
{
	const struct plc__prep *p = r->p;

	for (int t = 0; t < p->T; t++) {
		r->attach[t] = r->reads[t];
		if (r->st.assign[t] >= 0)
			plc__unplace(p, &r->st, t);
	}
	for (int k = 0; k < p->T; k++) {
		int t = -1;

		for (int u = 0; u < p->T; u++)
			if (r->st.assign[u] < 0 &&
			    (t < 0 || plc__greedy_before(r, u, t, tight_first)))
				t = u;
		int n = plc__best_node(r, t, NULL);

		if (n >= 0)
			plc__place(p, &r->st, t, n);
		else if (plc__repair(r, t) < 0)
			return t;
		for (int i = 0; i < p->n_adj[t]; i++)
			r->attach[p->adj[t][i].task] += p->adj[t][i].bps;
	}
	return -1;
}

/* ---- local search ---------------------------------------------------- */

/* Moves t to its best node; returns true if that improved the cost. With
 * want, reports the cheapest eligible node ignoring capacity. */
static bool plc__try_move(struct plc__run *r, int t, int *want)
{
	const struct plc__prep *p = r->p;
	int n0 = r->st.assign[t], s = p->m->tasks.v[t].stage;

	plc__unplace(p, &r->st, t);
	plc__place_costs(p, &r->st, t, r->costs);
	double c0 = r->costs[n0], bc = c0, wc = c0;
	int best = n0;

	*want = -1;
	for (int n = 0; n < p->N; n++) {
		if (n == n0 || !p->elig[s * p->N + n])
			continue;
		double c = r->costs[n];

		if (c < wc - PLC__EPS) {
			wc = c;
			*want = n;
		}
		if (c < bc - PLC__EPS && plc__can_place(p, &r->st, t, n)) {
			bc = c;
			best = n;
		}
	}
	plc__place(p, &r->st, t, best);
	r->steps++;
	return best != n0;
}

/* Swaps t and u if that is feasible and cheaper. */
static bool plc__try_swap(struct plc__run *r, int t, int u)
{
	const struct plc__prep *p = r->p;
	struct plc__state *st = &r->st;
	int nt = st->assign[t], nu = st->assign[u];

	if (nt == nu || p->fixed[t] >= 0 || p->fixed[u] >= 0)
		return false;
	plc__unplace(p, st, t);
	double before = plc__place_cost(p, st, t, nt);

	plc__unplace(p, st, u);
	before += plc__place_cost(p, st, u, nu);
	r->steps++;
	if (plc__can_place(p, st, u, nt)) {
		double after = plc__place_cost(p, st, u, nt);

		plc__place(p, st, u, nt);
		if (plc__can_place(p, st, t, nu)) {
			after += plc__place_cost(p, st, t, nu);
			if (after < before - PLC__EPS) {
				plc__place(p, st, t, nu);
				return true;
			}
		}
		plc__unplace(p, st, u);
	}
	plc__place(p, st, u, nu);
	plc__place(p, st, t, nt);
	return false;
}

static bool plc__swap_pass(struct plc__run *r, const int *want)
{
	const struct plc__prep *p = r->p;
	bool improved = false;

	for (int t = 0; t < p->T; t++) {
		for (int u = 0; u < p->T; u++) {
			if (u == t || (p->T > PLC__SWAP_ALL_MAX && r->st.assign[u] != want[t]))
				continue;
			if (p->T <= PLC__SWAP_ALL_MAX && u < t)
				continue;
			improved |= plc__try_swap(r, t, u);
		}
	}
	return improved;
}

/* Moves t and its neighbour u together: t to any node, u to its best node
 * given that; applies the best pair if it is cheaper. O(N x (N + deg)). */
static bool plc__try_pair(struct plc__run *r, int t, int u)
{
	const struct plc__prep *p = r->p;
	struct plc__state *st = &r->st;
	int nt = st->assign[t], nu = st->assign[u], bt = -1, bu = -1;

	plc__unplace(p, st, t);
	double before = plc__place_cost(p, st, t, nt), best = 0.0;

	plc__unplace(p, st, u);
	before += plc__place_cost(p, st, u, nu);
	best = before - PLC__EPS;
	r->steps++;
	for (int n = 0; n < p->N; n++) {
		if (!plc__can_place(p, st, t, n))
			continue;
		double c = plc__place_cost(p, st, t, n), cu;

		plc__place(p, st, t, n);
		int m = plc__best_node(r, u, &cu);

		if (m >= 0 && c + cu < best && (n != nt || m != nu)) {
			best = c + cu;
			bt = n;
			bu = m;
		}
		plc__unplace(p, st, t);
	}
	plc__place(p, st, t, bt >= 0 ? bt : nt);
	plc__place(p, st, u, bt >= 0 ? bu : nu);
	return bt >= 0;
}

/* Pair moves along every channel, on instances small enough. */
static bool plc__pair_pass(struct plc__run *r)
{
	const struct plc__prep *p = r->p;
	bool improved = false;
	long edges = 0;

	for (int t = 0; t < p->T; t++)
		edges += p->n_adj[t];
	if (edges * p->N * p->N > PLC__PAIR_WORK)
		return false;
	for (int t = 0; t < p->T; t++)
		for (int i = 0; i < p->n_adj[t]; i++) {
			int u = p->adj[t][i].task;

			if (u > t && p->fixed[t] < 0 && p->fixed[u] < 0)
				improved |= plc__try_pair(r, t, u);
		}
	return improved;
}

static int plc__local_search(struct plc__run *r)
{
	const struct plc__prep *p = r->p;
	int *want = malloc(((size_t)p->T + 1) * sizeof(int));

	if (!want)
		return SD_ENOMEM;
	for (int pass = 0; pass < PLC__LS_PASSES; pass++) {
		bool improved = false;

		for (int t = 0; t < p->T; t++) {
			want[t] = -1;
			if (p->fixed[t] < 0)
				improved |= plc__try_move(r, t, &want[t]);
		}
		improved |= plc__swap_pass(r, want);
		if (!improved)
			improved = plc__pair_pass(r);
		if (!improved)
			break;
	}
	free(want);
	return 0;
}

/* ---- iterated local search ------------------------------------------- */

static void plc__push(struct plc__run *r, int t)
{
	if (r->queued[t])
		return;
	r->queued[t] = true;
	r->queue[(r->qhead + r->qlen++) % r->p->T] = t;
}

static int plc__pop(struct plc__run *r)
{
	int t = r->queue[r->qhead];

	r->qhead = (r->qhead + 1) % r->p->T;
	r->qlen--;
	r->queued[t] = false;
	return t;
}

static void plc__push_neighbours(struct plc__run *r, int t)
{
	for (int i = 0; i < r->p->n_adj[t]; i++)
		plc__push(r, r->p->adj[t][i].task);
	for (int i = 0; i < r->p->n_near[t]; i++)
		plc__push(r, r->p->near[t][i].task);
}

/* Local search over the queued tasks only: a task that moves queues its
 * neighbours. At most PLC__LS_PASSES x T steps. */
static void plc__settle(struct plc__run *r)
{
	const struct plc__prep *p = r->p;

	for (long budget = (long)PLC__LS_PASSES * p->T; r->qlen && budget > 0; budget--) {
		int t = plc__pop(r), want;

		if (p->fixed[t] >= 0)
			continue;
		bool moved = plc__try_move(r, t, &want);

		for (int u = 0; !moved && want >= 0 && u < p->T; u++) {
			if (u != t && (p->T <= PLC__SWAP_ALL_MAX || r->st.assign[u] == want) &&
			    plc__try_swap(r, t, u)) {
				moved = true;
				plc__push_neighbours(r, u);
			}
		}
		if (moved)
			plc__push_neighbours(r, t);
	}
	while (r->qlen)
		plc__pop(r);
}

static uint64_t plc__rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Moves a random task and up to PLC__KICK_MAX - 1 of its neighbours to a
 * random feasible node and its neighbours' best nodes near it. */
static void plc__kick(struct plc__run *r, uint64_t *rng)
{
	const struct plc__prep *p = r->p;
	int t = (int)(plc__rng(rng) % (uint64_t)p->T), moved = 0;

	if (p->fixed[t] >= 0)
		return;
	int n0 = r->st.assign[t], start = (int)(plc__rng(rng) % (uint64_t)p->N);

	plc__unplace(p, &r->st, t);
	for (int i = 0; i < p->N; i++) {
		int n = (start + i) % p->N;

		if (n != n0 && plc__can_place(p, &r->st, t, n)) {
			plc__place(p, &r->st, t, n);
			break;
		}
	}
	if (r->st.assign[t] < 0)
		plc__place(p, &r->st, t, n0);
	plc__push(r, t);
	plc__push_neighbours(r, t);
	for (int i = 0; i < p->n_adj[t] && moved < PLC__KICK_MAX - 1; i++) {
		int u = p->adj[t][i].task;

		if (p->fixed[u] >= 0 || plc__rng(rng) % 2)
			continue;
		int nu = r->st.assign[u];

		plc__unplace(p, &r->st, u);
		int best = plc__best_node(r, u, NULL);

		plc__place(p, &r->st, u, best >= 0 ? best : nu);
		plc__push_neighbours(r, u);
		moved++;
	}
}

static double plc__state_cost(struct plc__run *r)
{
	struct plc_cost c;

	plc__total_cost(r->p, r->st.assign, &c);
	return c.total;
}

/* Perturbs and re-optimises, keeping the best assignment seen. Rounds:
 * min(PLC__ILS_ITERS, PLC__ILS_WORK / (T x N)). */
static int plc__iterated(struct plc__run *r)
{
	const struct plc__prep *p = r->p;
	long rounds = PLC__ILS_WORK / ((long)p->T * p->N + 1);
	struct plc__state best;
	uint64_t rng = p->m->seed ? p->m->seed : 1;

	if (rounds > PLC__ILS_ITERS)
		rounds = PLC__ILS_ITERS;
	if (p->T == 0 || rounds == 0)
		return 0;
	if (plc__state_init(&best, p))
		return SD_ENOMEM;
	plc__state_copy(&best, &r->st, p);
	double best_cost = plc__state_cost(r);

	for (long i = 0; i < rounds; i++) {
		plc__kick(r, &rng);
		plc__settle(r);
		double c = plc__state_cost(r);

		if (c < best_cost - PLC__EPS) {
			best_cost = c;
			plc__state_copy(&best, &r->st, p);
		} else {
			plc__state_copy(&r->st, &best, p);
		}
	}
	plc__state_free(&best);
	return 0;
}

/* ---- entry points ---------------------------------------------------- */

/* Forgets an infeasibility report the search then overcame. */
static void plc__result_clear_report(struct plc_result *res)
{
	res->bad_stage = res->bad_constraint = -1;
	res->message[0] = '\0';
}

/* Every entry point starts with a result plc_result_free accepts. */
static void plc__result_clear(struct plc_result *out)
{
	if (out) {
		memset(out, 0, sizeof(*out));
		out->bad_stage = out->bad_constraint = -1;
	}
}

static int plc__run_init(struct plc__run *r, const struct plc__prep *p)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->attach = calloc((size_t)p->T + 1, sizeof(double));
	r->reads = calloc((size_t)p->T + 1, sizeof(double));
	r->costs = calloc((size_t)p->N + 1, sizeof(double));
	r->queue = calloc((size_t)p->T + 1, sizeof(int));
	r->queued = calloc((size_t)p->T + 1, sizeof(bool));
	if (!r->attach || !r->reads || !r->costs || !r->queue || !r->queued ||
	    plc__state_init(&r->st, p)) {
		free(r->queue);
		free(r->queued);
		free(r->attach);
		free(r->reads);
		free(r->costs);
		return SD_ENOMEM;
	}
	for (size_t i = 0; i < p->m->reads.n; i++)
		r->reads[p->m->reads.v[i].task] += p->m->reads.v[i].bps;
	return 0;
}

static void plc__run_free(struct plc__run *r)
{
	plc__state_free(&r->st);
	free(r->attach);
	free(r->reads);
	free(r->costs);
	free(r->queue);
	free(r->queued);
}

static void plc__state_load(struct plc__run *r, const int *assign);

/* When both greedy orders get stuck, a short exact search for any feasible
 * assignment (tight constraints on few nodes); returns true if found. */
static bool plc__rescue(struct plc__run *r)
{
	int *found_assign = malloc(((size_t)r->p->T + 1) * sizeof(int));
	bool found = false;

	if (!found_assign || (long)r->p->T * r->p->N > PLC__RESCUE_CELLS) {
		free(found_assign);
		return false;
	}
	plc__exact(r->p, NULL, found_assign, &found, PLC__RESCUE_STEPS, &r->steps);
	if (found)
		plc__state_load(r, found_assign);
	free(found_assign);
	return found;
}

/* Greedy (two orders, then a rescue search) and local search; returns 0,
 * SD_EINFEASIBLE or SD_ENOMEM. */
static int plc__heuristic(struct plc__run *r, struct plc_result *res)
{
	int stuck = plc__greedy(r, false);

	if (stuck < 0)
		goto settle;
	plc__report_stuck(r->p, &r->st, stuck, res); /* the natural order's story */
	if (plc__greedy(r, true) >= 0 && !plc__rescue(r))
		return SD_EINFEASIBLE;
	plc__result_clear_report(res);
settle:;
	int err = plc__local_search(r);

	return err ? err : plc__iterated(r);
}

/* Rebuilds r->st from a complete assignment. */
static void plc__state_load(struct plc__run *r, const int *assign)
{
	for (int t = 0; t < r->p->T; t++)
		if (r->st.assign[t] >= 0)
			plc__unplace(r->p, &r->st, t);
	for (int t = 0; t < r->p->T; t++)
		plc__place(r->p, &r->st, t, assign[t]);
}

/* Runs the exact search from the heuristic's answer (hres: its result). */
static int plc__exact_after(struct plc__run *r, int hres, int *best)
{
	bool found = false;
	int err = plc__exact(r->p, hres == 0 ? r->st.assign : NULL, best, &found,
			     PLC_EXACT_STEPS_MAX, &r->steps);

	if (found)
		plc__state_load(r, best);
	if (err == SD_ELIMIT && !found)
		return hres ? hres : SD_ELIMIT;
	return err;
}

static int plc__solve_with(const struct plc_model *m, const int *fixed, bool exact,
			   struct plc_result *out)
{
	struct plc__prep p;
	struct plc__run r;
	int *best = NULL;
	int err = plc__result_alloc(m, out);

	if (err)
		return err;
	if (plc__prep_init(&p, m, fixed))
		return SD_ENOMEM;
	if (plc__diagnose(&p, out)) {
		plc__prep_free(&p);
		return SD_EINFEASIBLE;
	}
	err = plc__run_init(&r, &p);
	if (err)
		goto out_free_prep;
	err = plc__heuristic(&r, out);
	if (exact && (err == 0 || err == SD_EINFEASIBLE)) {
		best = malloc(((size_t)p.T + 1) * sizeof(int));
		/* proven infeasible: the heuristic's report names where it stuck */
		err = best ? plc__exact_after(&r, err, best) : SD_ENOMEM;
	}
	if (err && err != SD_ELIMIT)
		goto out_free_run;
	out->feasible = plc__check(&p, r.st.assign, out);
	assert(out->feasible);
	plc__explain(&p, &r.st, out);
	out->steps = r.steps;
out_free_run:
	free(best);
	plc__run_free(&r);
out_free_prep:
	plc__prep_free(&p);
	return err;
}

int plc_solve(const struct plc_model *m, struct plc_result *out)
{
	plc__result_clear(out);
	if (!m || !out)
		return SD_EINVAL;
	return plc__solve_with(m, NULL, false, out);
}

int plc_solve_exact(const struct plc_model *m, struct plc_result *out)
{
	plc__result_clear(out);
	if (!m || !out)
		return SD_EINVAL;
	return plc__solve_with(m, NULL, true, out);
}

int plc_replace(const struct plc_model *m, const int *prev, struct plc_result *out)
{
	plc__result_clear(out);
	if (!m || !prev || !out)
		return SD_EINVAL;
	int *fixed = malloc((m->tasks.n + 1) * sizeof(int));

	if (!fixed)
		return SD_ENOMEM;
	for (size_t t = 0; t < m->tasks.n; t++) {
		int n = prev[t];

		fixed[t] = n >= 0 && (size_t)n < m->nodes.n && !m->nodes.v[n].lost ? n : -1;
	}
	int err = plc__solve_with(m, fixed, false, out);

	free(fixed);
	return err;
}

int plc_evaluate(const struct plc_model *m, const int *assign, struct plc_result *out)
{
	plc__result_clear(out);
	struct plc__prep p;
	struct plc__state st;

	if (!m || !assign || !out)
		return SD_EINVAL;
	for (size_t t = 0; t < m->tasks.n; t++)
		if (assign[t] < 0 || (size_t)assign[t] >= m->nodes.n)
			return SD_EINVAL;
	int err = plc__result_alloc(m, out);

	if (err)
		return err;
	if (plc__prep_init(&p, m, NULL))
		return SD_ENOMEM;
	if (plc__state_init(&st, &p)) {
		plc__prep_free(&p);
		return SD_ENOMEM;
	}
	for (int t = 0; t < p.T; t++)
		plc__place(&p, &st, t, assign[t]);
	out->feasible = plc__check(&p, assign, out);
	plc__explain(&p, &st, out);
	plc__state_free(&st);
	plc__prep_free(&p);
	return out->feasible ? 0 : SD_EINFEASIBLE;
}
