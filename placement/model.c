/*
 * placement/model.c — the placement model: regions and their latency
 * matrix, nodes, netfs servers and the task graph (see placement.h).
 *
 * The latency matrix holds round trips in ms. Each entry remembers where it
 * came from: estimated from coordinates (great-circle distance at 2/3 of the
 * speed of light, there and back, plus PLC_RTT_BASE_MS), explicit (topology)
 * or measured. Estimates are recomputed when coordinates change; explicit
 * and measured entries are kept.
 *
 * The library has no libm (the unikernel's mini libc has none): the few
 * trigonometric functions the distance needs are computed here by series.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "placement/plc_priv.h"

#define PLC__PI           3.14159265358979323846
#define PLC__EARTH_KM     6371.0 /* mean radius */
#define PLC__FIBRE_KM_MS  199.86 /* km per ms: 2/3 of c */
#define PLC__VEC_INIT_CAP 8      /* items */

void *plc__vec_push(void **v, size_t *n, size_t *cap, size_t item_size)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : PLC__VEC_INIT_CAP;
		void *nv = realloc(*v, ncap * item_size);

		if (!nv)
			return NULL;
		*v = nv;
		*cap = ncap;
	}
	char *slot = (char *)*v + (*n)++ * item_size;

	memset(slot, 0, item_size);
	return slot;
}

/* ---- small maths without libm ------------------------------------------ */

/* sin(x) for any x: reduce to [-pi, pi], then a Taylor series (|err| < 1e-12). */
static double plc__sin(double x)
{
	double two_pi = 2.0 * PLC__PI;
	long k = (long)(x / two_pi);

	x -= (double)k * two_pi;
	if (x > PLC__PI)
		x -= two_pi;
	if (x < -PLC__PI)
		x += two_pi;
	double term = x, sum = x, x2 = x * x;

	for (int i = 1; i < 20; i++) {
		term *= -x2 / ((2.0 * i) * (2.0 * i + 1.0));
		sum += term;
	}
	return sum;
}

static double plc__cos(double x)
{
	return plc__sin(x + PLC__PI / 2.0);
}

static double plc__sqrt(double x)
{
	if (x <= 0.0)
		return 0.0;
	double r = x > 1.0 ? x : 1.0;

	for (int i = 0; i < 200; i++) {
		double nr = 0.5 * (r + x / r);

		if (nr >= r)
			break;
		r = nr;
	}
	return r;
}

/* asin(x) for x in [0, 1] by Newton's method on sin(y) = x. */
static double plc__asin(double x)
{
	if (x >= 1.0)
		return PLC__PI / 2.0;
	if (x <= 0.0)
		return 0.0;
	double y = x; /* asin(x) >= x, Newton from below converges monotonically */

	for (int i = 0; i < 60; i++) {
		double c = plc__cos(y);
		double step = (plc__sin(y) - x) / c;

		y -= step;
		if (step < 1e-15 && step > -1e-15)
			break;
	}
	return y;
}

double plc_geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	double rad = PLC__PI / 180.0;
	double p1 = lat1 * rad, p2 = lat2 * rad;
	double dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
	double s1 = plc__sin(dp / 2.0), s2 = plc__sin(dl / 2.0);
	double a = s1 * s1 + plc__cos(p1) * plc__cos(p2) * s2 * s2; /* haversine */

	return 2.0 * PLC__EARTH_KM * plc__asin(plc__sqrt(a));
}

/* ---- regions and latency --------------------------------------------- */

static double plc__estimate_rtt(const struct plc_model *m, size_t a, size_t b)
{
	const struct plc__region *ra = &m->regions.v[a], *rb = &m->regions.v[b];

	if (a == b)
		return PLC_INTRA_RTT_MS;
	if (!ra->has_coords || !rb->has_coords)
		return PLC_UNKNOWN_RTT_MS;
	double km = plc_geo_distance_km(ra->lat, ra->lon, rb->lat, rb->lon);

	return 2.0 * km / PLC__FIBRE_KM_MS + PLC_RTT_BASE_MS;
}

/* Makes the matrix cover every region, estimating the new entries. */
static int plc__rtt_grow(struct plc_model *m)
{
	size_t r = m->regions.n;

	if (r > m->rtt_dim) {
		size_t dim = m->rtt_dim ? m->rtt_dim * 2 : PLC__VEC_INIT_CAP;

		while (dim < r)
			dim *= 2;
		double *rtt = calloc(dim * dim, sizeof(*rtt));
		unsigned char *src = calloc(dim * dim, 1);

		if (!rtt || !src) {
			free(rtt);
			free(src);
			return SD_ENOMEM;
		}
		for (size_t i = 0; i < m->rtt_dim; i++) {
			memcpy(&rtt[i * dim], &m->rtt[i * m->rtt_dim], m->rtt_dim * sizeof(*rtt));
			memcpy(&src[i * dim], &m->rtt_src[i * m->rtt_dim], m->rtt_dim);
		}
		free(m->rtt);
		free(m->rtt_src);
		m->rtt = rtt;
		m->rtt_src = src;
		m->rtt_dim = dim;
	}
	return 0;
}

/* Re-estimates every estimated entry of region i's row and column. */
static void plc__rtt_estimate_region(struct plc_model *m, size_t i)
{
	size_t d = m->rtt_dim;

	for (size_t j = 0; j < m->regions.n; j++) {
		if (m->rtt_src[i * d + j] != PLC__RTT_ESTIMATED)
			continue;
		double e = plc__estimate_rtt(m, i, j);

		m->rtt[i * d + j] = e;
		m->rtt[j * d + i] = e;
	}
}

static int plc__add_region_raw(struct plc_model *m, const char *name)
{
	if (!name || !name[0] || strlen(name) >= PLC_NAME_MAX)
		return SD_EINVAL;
	struct plc__region *r = PLC__PUSH(m->regions);

	if (!r)
		return SD_ENOMEM;
	memcpy(r->name, name, strlen(name) + 1);
	int err = plc__rtt_grow(m);

	if (err) {
		m->regions.n--;
		return err;
	}
	size_t i = m->regions.n - 1, d = m->rtt_dim;

	for (size_t j = 0; j <= i; j++) {
		m->rtt_src[i * d + j] = PLC__RTT_ESTIMATED;
		m->rtt_src[j * d + i] = PLC__RTT_ESTIMATED;
	}
	plc__rtt_estimate_region(m, i);
	return (int)i;
}

int plc__find_or_add_region(struct plc_model *m, const char *name)
{
	int r = plc_model_find_region(m, name);

	return r >= 0 ? r : plc__add_region_raw(m, name);
}

int plc_model_add_region(struct plc_model *m, const char *name, double lat_deg, double lon_deg)
{
	if (!m || lat_deg < -90.0 || lat_deg > 90.0 || lon_deg < -180.0 || lon_deg > 180.0)
		return SD_EINVAL;
	int r = plc__find_or_add_region(m, name);

	if (r < 0)
		return r;
	m->regions.v[r].lat = lat_deg;
	m->regions.v[r].lon = lon_deg;
	m->regions.v[r].has_coords = true;
	plc__rtt_estimate_region(m, (size_t)r);
	return r;
}

static int plc__rtt_set(struct plc_model *m, const char *a, const char *b, double rtt_ms,
			bool measured)
{
	if (!m || !(rtt_ms >= 0.0) || rtt_ms > 1e7)
		return SD_EINVAL;
	int ra = plc__find_or_add_region(m, a);
	int rb = ra < 0 ? ra : plc__find_or_add_region(m, b);

	if (ra < 0 || rb < 0)
		return ra < 0 ? ra : rb;
	size_t d = m->rtt_dim, ij = (size_t)ra * d + (size_t)rb, ji = (size_t)rb * d + (size_t)ra;
	double v = rtt_ms;

	if (measured && m->rtt_src[ij] == PLC__RTT_MEASURED)
		v = (1.0 - PLC_RTT_EWMA) * m->rtt[ij] + PLC_RTT_EWMA * rtt_ms;
	m->rtt[ij] = m->rtt[ji] = v;
	m->rtt_src[ij] = m->rtt_src[ji] = measured ? PLC__RTT_MEASURED : PLC__RTT_EXPLICIT;
	return 0;
}

int plc_model_set_rtt(struct plc_model *m, const char *a, const char *b, double rtt_ms)
{
	return plc__rtt_set(m, a, b, rtt_ms, false);
}

int plc_model_observe_rtt(struct plc_model *m, const char *a, const char *b, double rtt_ms)
{
	return plc__rtt_set(m, a, b, rtt_ms, true);
}

int plc_model_set_load_weight(struct plc_model *m, double weight)
{
	if (!m || !(weight >= 0.0))
		return SD_EINVAL;
	m->load_weight = weight;
	return 0;
}

int plc_model_set_contention(struct plc_model *m, double ms)
{
	if (!m || !(ms >= 0.0) || ms > 1e9)
		return SD_EINVAL;
	m->contention_ms = ms;
	return 0;
}

int plc_model_set_seed(struct plc_model *m, uint64_t seed)
{
	if (!m)
		return SD_EINVAL;
	m->seed = seed ? seed : PLC_SEED_DEFAULT;
	return 0;
}

double plc_model_region_rtt(const struct plc_model *m, int a, int b)
{
	assert(a >= 0 && (size_t)a < m->regions.n && b >= 0 && (size_t)b < m->regions.n);
	return m->rtt[(size_t)a * m->rtt_dim + (size_t)b];
}

double plc_model_node_rtt(const struct plc_model *m, int a, int b)
{
	assert(a >= 0 && (size_t)a < m->nodes.n && b >= 0 && (size_t)b < m->nodes.n);
	if (a == b)
		return 0.0;
	return plc_model_region_rtt(m, m->nodes.v[a].region, m->nodes.v[b].region);
}

/* ---- model life ------------------------------------------------------ */

struct plc_model *plc_model_new(void)
{
	struct plc_model *m = calloc(1, sizeof(*m));

	if (m) {
		m->load_weight = PLC_LOAD_WEIGHT;
		m->contention_ms = PLC_CONTENTION_MS;
		m->seed = PLC_SEED_DEFAULT;
	}
	return m;
}

void plc_model_free(struct plc_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->stage_names.n; i++)
		free(m->stage_names.v[i]);
	free(m->regions.v);
	free(m->rtt);
	free(m->rtt_src);
	free(m->nodes.v);
	free(m->netfs.v);
	free(m->stage_names.v);
	free(m->tasks.v);
	free(m->channels.v);
	free(m->reads.v);
	free(m->cons.v);
	free(m);
}

static bool plc__name_ok(const char *s)
{
	return s && s[0] && strlen(s) < PLC_NAME_MAX;
}

static bool plc__opt_name_ok(const char *s)
{
	return !s || strlen(s) < PLC_NAME_MAX;
}

static int plc__copy_labels(struct plc__node *n, const struct plc_node_spec *spec)
{
	if (spec->n_labels > PLC_LABELS_MAX)
		return SD_ELIMIT;
	if (spec->n_labels && !spec->labels)
		return SD_EINVAL;
	for (size_t i = 0; i < spec->n_labels; i++) {
		const struct plc_label *l = &spec->labels[i];

		if (!plc__name_ok(l->key) || !l->value || strlen(l->value) >= PLC_NAME_MAX)
			return SD_EINVAL;
		memcpy(n->keys[i], l->key, strlen(l->key) + 1);
		memcpy(n->values[i], l->value, strlen(l->value) + 1);
	}
	n->n_labels = spec->n_labels;
	return 0;
}

int plc_model_add_node(struct plc_model *m, const struct plc_node_spec *spec)
{
	if (!m || !spec || !plc__name_ok(spec->name) || !plc__opt_name_ok(spec->zone) ||
	    spec->slots < 0 || !(spec->load >= 0.0) || spec->load > 1.0)
		return SD_EINVAL;
	if (plc_model_find_node(m, spec->name) >= 0)
		return SD_EEXIST;
	int region = plc__find_or_add_region(m, spec->region);

	if (region < 0)
		return region;
	struct plc__node tmp;

	memset(&tmp, 0, sizeof(tmp));
	int err = plc__copy_labels(&tmp, spec);

	if (err)
		return err;
	memcpy(tmp.name, spec->name, strlen(spec->name) + 1);
	if (spec->zone)
		memcpy(tmp.zone, spec->zone, strlen(spec->zone) + 1);
	tmp.region = region;
	tmp.slots = spec->slots;
	tmp.load = spec->load;
	struct plc__node *n = PLC__PUSH(m->nodes);

	if (!n)
		return SD_ENOMEM;
	*n = tmp;
	return (int)(m->nodes.n - 1);
}

int plc_model_set_node_lost(struct plc_model *m, int node, bool lost)
{
	if (!m || node < 0 || (size_t)node >= m->nodes.n)
		return SD_EINVAL;
	m->nodes.v[node].lost = lost;
	return 0;
}

int plc_model_add_netfs(struct plc_model *m, const char *name, const char *region)
{
	if (!m || !plc__name_ok(name))
		return SD_EINVAL;
	int r = plc__find_or_add_region(m, region);

	if (r < 0)
		return r;
	struct plc__netfs *f = PLC__PUSH(m->netfs);

	if (!f)
		return SD_ENOMEM;
	memcpy(f->name, name, strlen(name) + 1);
	f->region = r;
	return (int)(m->netfs.n - 1);
}

int plc_model_add_stage(struct plc_model *m, const char *name)
{
	if (!m || !plc__name_ok(name))
		return SD_EINVAL;
	if (plc_model_find_stage(m, name) >= 0)
		return SD_EEXIST;
	char *copy = malloc(strlen(name) + 1);

	if (!copy)
		return SD_ENOMEM;
	memcpy(copy, name, strlen(name) + 1);
	char **slot = PLC__PUSH(m->stage_names);

	if (!slot) {
		free(copy);
		return SD_ENOMEM;
	}
	*slot = copy;
	return (int)(m->stage_names.n - 1);
}

int plc_model_add_task(struct plc_model *m, int stage, int partition)
{
	if (!m || stage < 0 || (size_t)stage >= m->stage_names.n || partition < 0)
		return SD_EINVAL;
	struct plc__task *t = PLC__PUSH(m->tasks);

	if (!t)
		return SD_ENOMEM;
	t->stage = stage;
	t->partition = partition;
	return (int)(m->tasks.n - 1);
}

static bool plc__rate_ok(double bps)
{
	return bps >= 0.0 && bps < 1e15;
}

int plc_model_add_channel(struct plc_model *m, int from_task, int to_task, double bytes_per_sec)
{
	if (!m || from_task < 0 || (size_t)from_task >= m->tasks.n || to_task < 0 ||
	    (size_t)to_task >= m->tasks.n || from_task == to_task || !plc__rate_ok(bytes_per_sec))
		return SD_EINVAL;
	struct plc__channel *c = PLC__PUSH(m->channels);

	if (!c)
		return SD_ENOMEM;
	c->from = from_task;
	c->to = to_task;
	c->bps = bytes_per_sec;
	return 0;
}

int plc_model_add_source_read(struct plc_model *m, int task, int netfs, double bytes_per_sec)
{
	if (!m || task < 0 || (size_t)task >= m->tasks.n || netfs < 0 ||
	    (size_t)netfs >= m->netfs.n || !plc__rate_ok(bytes_per_sec))
		return SD_EINVAL;
	struct plc__read *r = PLC__PUSH(m->reads);

	if (!r)
		return SD_ENOMEM;
	r->task = task;
	r->netfs = netfs;
	r->bps = bytes_per_sec;
	return 0;
}

/* ---- read access ----------------------------------------------------- */

size_t plc_model_n_regions(const struct plc_model *m)
{
	return m->regions.n;
}

size_t plc_model_n_nodes(const struct plc_model *m)
{
	return m->nodes.n;
}

size_t plc_model_n_stages(const struct plc_model *m)
{
	return m->stage_names.n;
}

size_t plc_model_n_tasks(const struct plc_model *m)
{
	return m->tasks.n;
}

const char *plc_model_region_name(const struct plc_model *m, int region)
{
	assert(region >= 0 && (size_t)region < m->regions.n);
	return m->regions.v[region].name;
}

const char *plc_model_node_name(const struct plc_model *m, int node)
{
	assert(node >= 0 && (size_t)node < m->nodes.n);
	return m->nodes.v[node].name;
}

int plc_model_node_region(const struct plc_model *m, int node)
{
	assert(node >= 0 && (size_t)node < m->nodes.n);
	return m->nodes.v[node].region;
}

const char *plc_model_node_zone(const struct plc_model *m, int node)
{
	assert(node >= 0 && (size_t)node < m->nodes.n);
	return m->nodes.v[node].zone;
}

const char *plc_model_stage_name(const struct plc_model *m, int stage)
{
	assert(stage >= 0 && (size_t)stage < m->stage_names.n);
	return m->stage_names.v[stage];
}

int plc_model_task_stage(const struct plc_model *m, int task)
{
	assert(task >= 0 && (size_t)task < m->tasks.n);
	return m->tasks.v[task].stage;
}

int plc_model_task_partition(const struct plc_model *m, int task)
{
	assert(task >= 0 && (size_t)task < m->tasks.n);
	return m->tasks.v[task].partition;
}

int plc_model_find_region(const struct plc_model *m, const char *name)
{
	for (size_t i = 0; name && i < m->regions.n; i++)
		if (strcmp(m->regions.v[i].name, name) == 0)
			return (int)i;
	return -1;
}

int plc_model_find_node(const struct plc_model *m, const char *name)
{
	for (size_t i = 0; name && i < m->nodes.n; i++)
		if (strcmp(m->nodes.v[i].name, name) == 0)
			return (int)i;
	return -1;
}

int plc_model_find_stage(const struct plc_model *m, const char *name)
{
	for (size_t i = 0; name && i < m->stage_names.n; i++)
		if (strcmp(m->stage_names.v[i], name) == 0)
			return (int)i;
	return -1;
}
