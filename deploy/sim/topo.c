/*
 * deploy/sim/topo.c — parse and validate a topology file (see topo.h).
 *
 * Every error names the JSON field it is about, as a path from the root
 * ("links[1].loss: must be a number in 0..1"). Parsing is two passes:
 * regions first (everything else refers to them by name), then links,
 * nodes, the coordinator and the netfs servers.
 */
#include "deploy/sim/topo.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define TOPO_FILE_MAX (1 << 20) /* bytes of a topology file */

struct topo_ctx {
	char *err;
	size_t errlen;
};

static int topo_fail(struct topo_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return SD_EINVAL;
}

/* A name: 1..TOPO_NAME_MAX-1 bytes of [A-Za-z0-9._-]. */
static bool topo_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= TOPO_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* Copies the string member `key` of obj into dst; required or optional. */
static int topo_get_name(struct topo_ctx *c, const cJSON *obj, const char *where, const char *key,
			 bool required, char *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v) {
		if (required)
			return topo_fail(c, "%s.%s: missing", where, key);
		return 0;
	}
	if (!cJSON_IsString(v) || !topo_name_ok(v->valuestring))
		return topo_fail(c, "%s.%s: must be a name of 1..%d characters [A-Za-z0-9._-]",
				 where, key, TOPO_NAME_MAX - 1);
	strcpy(dst, v->valuestring);
	return 0;
}

/* Reads the number member `key` into *dst when present; checks lo..hi. */
static int topo_get_num(struct topo_ctx *c, const cJSON *obj, const char *where, const char *key,
			double lo, double hi, double *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
		return topo_fail(c, "%s.%s: must be a number in %g..%g", where, key, lo, hi);
	*dst = v->valuedouble;
	return 0;
}

static const cJSON *topo_array(struct topo_ctx *c, const cJSON *root, const char *key,
			       bool required, int *rc)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
	*rc = 0;
	if (!a) {
		if (required)
			*rc = topo_fail(c, "%s: missing (an array)", key);
		return NULL;
	}
	if (!cJSON_IsArray(a)) {
		*rc = topo_fail(c, "%s: must be an array", key);
		return NULL;
	}
	return a;
}

static int topo_region_lookup(struct topo_ctx *c, const struct topo *t, const cJSON *obj,
			      const char *where, const char *key, int *idx)
{
	char name[TOPO_NAME_MAX];
	int rc = topo_get_name(c, obj, where, key, true, name);
	if (rc < 0)
		return rc;
	*idx = topo_region_index(t, name);
	if (*idx < 0)
		return topo_fail(c, "%s.%s: unknown region \"%s\"", where, key, name);
	return 0;
}

static int topo_parse_link(struct topo_ctx *c, const cJSON *o, const char *where,
			   struct topo_link *l)
{
	static const char *const known[] = {
		"a", "b", "latency_ms", "jitter_ms", "loss", "bandwidth_mbit", NULL};
	const cJSON *it;
	cJSON_ArrayForEach(it, o)
	{
		bool ok = false;
		for (int i = 0; known[i]; i++)
			ok = ok || strcmp(it->string, known[i]) == 0;
		if (!ok)
			return topo_fail(c, "%s.%s: unknown field", where, it->string);
	}
	int rc = topo_get_num(c, o, where, "latency_ms", 0, TOPO_LATENCY_MAX_MS, &l->latency_ms);
	if (rc == 0)
		rc = topo_get_num(c, o, where, "jitter_ms", 0, TOPO_LATENCY_MAX_MS, &l->jitter_ms);
	if (rc == 0)
		rc = topo_get_num(c, o, where, "loss", 0, 1, &l->loss);
	if (rc == 0)
		rc = topo_get_num(c, o, where, "bandwidth_mbit", 0, TOPO_BANDWIDTH_MAX_MBIT,
				  &l->bandwidth_mbit);
	if (rc == 0 && l->jitter_ms > l->latency_ms)
		return topo_fail(c, "%s.jitter_ms: %g exceeds latency_ms %g", where, l->jitter_ms,
				 l->latency_ms);
	return rc;
}

static int topo_parse_regions(struct topo_ctx *c, struct topo *t, const cJSON *root)
{
	int rc;
	const cJSON *a = topo_array(c, root, "regions", true, &rc), *r;
	if (rc < 0)
		return rc;
	if (cJSON_GetArraySize(a) < 1 || cJSON_GetArraySize(a) > TOPO_REGIONS_MAX)
		return topo_fail(c, "regions: need 1..%d regions", TOPO_REGIONS_MAX);
	cJSON_ArrayForEach(r, a)
	{
		char where[64];
		struct topo_region *g = &t->regions[t->nregions];
		snprintf(where, sizeof where, "regions[%d]", t->nregions);
		if (!cJSON_IsObject(r))
			return topo_fail(c, "%s: must be an object", where);
		if ((rc = topo_get_name(c, r, where, "name", true, g->name)) < 0)
			return rc;
		if (strcmp(g->name, "host") == 0)
			return topo_fail(c, "%s.name: \"host\" is reserved", where);
		if (topo_region_index(t, g->name) >= 0)
			return topo_fail(c, "%s.name: duplicate region \"%s\"", where, g->name);
		if ((rc = topo_get_num(c, r, where, "lat", -90, 90, &g->lat)) < 0 ||
		    (rc = topo_get_num(c, r, where, "lon", -180, 180, &g->lon)) < 0)
			return rc;
		t->nregions++;
	}
	return 0;
}

static int topo_parse_links(struct topo_ctx *c, struct topo *t, const cJSON *root)
{
	int rc, i = 0;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "default_link");
	if (d) {
		if (!cJSON_IsObject(d))
			return topo_fail(c, "default_link: must be an object");
		if ((rc = topo_parse_link(c, d, "default_link", &t->default_link)) < 0)
			return rc;
	}
	const cJSON *a = topo_array(c, root, "links", false, &rc), *o;
	if (rc < 0)
		return rc;
	cJSON_ArrayForEach(o, a)
	{
		char where[64];
		int ra, rb;
		struct topo_link l = {0};
		snprintf(where, sizeof where, "links[%d]", i++);
		if (!cJSON_IsObject(o))
			return topo_fail(c, "%s: must be an object", where);
		if ((rc = topo_region_lookup(c, t, o, where, "a", &ra)) < 0 ||
		    (rc = topo_region_lookup(c, t, o, where, "b", &rb)) < 0)
			return rc;
		if (t->link_set[ra][rb])
			return topo_fail(c, "%s: the pair %s-%s is listed twice", where,
					 t->regions[ra].name, t->regions[rb].name);
		if ((rc = topo_parse_link(c, o, where, &l)) < 0)
			return rc;
		t->links[ra][rb] = t->links[rb][ra] = l;
		t->link_set[ra][rb] = t->link_set[rb][ra] = true;
	}
	for (int x = 0; x < t->nregions; x++)
		for (int y = 0; y < t->nregions; y++)
			if (!t->link_set[x][y] && x != y)
				t->links[x][y] = t->default_link;
	return 0;
}

static int topo_parse_labels(struct topo_ctx *c, const cJSON *o, const char *where,
			     struct topo_node *n)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "labels"), *it;
	if (!l)
		return 0;
	if (!cJSON_IsObject(l))
		return topo_fail(c, "%s.labels: must be an object of strings", where);
	cJSON_ArrayForEach(it, l)
	{
		if (n->nlabels == TOPO_LABELS_MAX)
			return topo_fail(c, "%s.labels: more than %d labels", where,
					 TOPO_LABELS_MAX);
		if (!topo_name_ok(it->string) || !cJSON_IsString(it) ||
		    !topo_name_ok(it->valuestring))
			return topo_fail(c,
					 "%s.labels.%s: keys and values must be names "
					 "[A-Za-z0-9._-]",
					 where, it->string);
		strcpy(n->labels[n->nlabels].key, it->string);
		strcpy(n->labels[n->nlabels].value, it->valuestring);
		n->nlabels++;
	}
	return 0;
}

static int topo_parse_node(struct topo_ctx *c, struct topo *t, const cJSON *o, int i)
{
	char where[64];
	int rc;
	double slots = 4, mem = 64;
	struct topo_node *n = &t->nodes[i];
	snprintf(where, sizeof where, "nodes[%d]", i);
	if (!cJSON_IsObject(o))
		return topo_fail(c, "%s: must be an object", where);
	if ((rc = topo_get_name(c, o, where, "name", true, n->name)) < 0 ||
	    (rc = topo_region_lookup(c, t, o, where, "region", &n->region)) < 0)
		return rc;
	for (int k = 0; k < i; k++)
		if (strcmp(t->nodes[k].name, n->name) == 0)
			return topo_fail(c, "%s.name: duplicate node \"%s\"", where, n->name);
	strcpy(n->zone, t->regions[n->region].name);
	if ((rc = topo_get_name(c, o, where, "zone", false, n->zone)) < 0 ||
	    (rc = topo_get_num(c, o, where, "slots", 1, 256, &slots)) < 0 ||
	    (rc = topo_get_num(c, o, where, "memory_mb", 16, 4096, &mem)) < 0 ||
	    (rc = topo_parse_labels(c, o, where, n)) < 0)
		return rc;
	n->slots = (int)slots;
	n->memory_mb = (int)mem;
	int k = t->regions[n->region].nodes++;
	if (k >= TOPO_NODES_PER_REGION)
		return topo_fail(c, "%s: more than %d nodes in region %s", where,
				 TOPO_NODES_PER_REGION, t->regions[n->region].name);
	snprintf(n->ip, sizeof n->ip, "%u.%u.%d.%d", t->net_a, t->net_b, n->region + 1, 10 + k);
	return 0;
}

static int topo_parse_nodes(struct topo_ctx *c, struct topo *t, const cJSON *root)
{
	int rc;
	const cJSON *a = topo_array(c, root, "nodes", true, &rc), *o;
	if (rc < 0)
		return rc;
	if (cJSON_GetArraySize(a) < 1 || cJSON_GetArraySize(a) > TOPO_NODES_MAX)
		return topo_fail(c, "nodes: need 1..%d nodes", TOPO_NODES_MAX);
	cJSON_ArrayForEach(o, a)
	{
		if ((rc = topo_parse_node(c, t, o, t->nnodes)) < 0)
			return rc;
		t->nnodes++;
	}
	return 0;
}

static int topo_parse_netfs(struct topo_ctx *c, struct topo *t, const cJSON *root)
{
	int rc, i = 0;
	const cJSON *a = topo_array(c, root, "netfs", false, &rc), *o;
	if (rc < 0)
		return rc;
	t->netfs_primary = -1;
	cJSON_ArrayForEach(o, a)
	{
		char where[64];
		int r;
		snprintf(where, sizeof where, "netfs[%d]", i++);
		if (!cJSON_IsObject(o))
			return topo_fail(c, "%s: must be an object", where);
		if ((rc = topo_region_lookup(c, t, o, where, "region", &r)) < 0)
			return rc;
		struct topo_region *g = &t->regions[r];
		if (g->has_netfs)
			return topo_fail(c, "%s.region: a second netfs server in %s", where,
					 g->name);
		g->has_netfs = true;
		strcpy(g->netfs_root, g->name);
		const cJSON *root_dir = cJSON_GetObjectItemCaseSensitive(o, "root");
		if (root_dir) {
			if (!cJSON_IsString(root_dir) || !root_dir->valuestring[0] ||
			    strlen(root_dir->valuestring) >= TOPO_PATH_MAX ||
			    strstr(root_dir->valuestring, ".."))
				return topo_fail(c, "%s.root: must be a relative path without ..",
						 where);
			strcpy(g->netfs_root, root_dir->valuestring);
		}
		snprintf(g->netfs_ip, sizeof g->netfs_ip, "%u.%u.%d.1", t->net_a, t->net_b, r + 1);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "primary"))) {
			if (t->netfs_primary >= 0)
				return topo_fail(c,
						 "%s.primary: only one netfs server may be "
						 "primary",
						 where);
			t->netfs_primary = r;
		}
	}
	if (t->netfs_primary < 0)
		for (int r = 0; r < t->nregions && t->netfs_primary < 0; r++)
			if (t->regions[r].has_netfs)
				t->netfs_primary = r;
	return 0;
}

static int topo_parse_top(struct topo_ctx *c, struct topo *t, const cJSON *root)
{
	int rc;
	t->net_a = 10;
	t->net_b = 42;
	t->coordinator_region = -1;
	if ((rc = topo_get_name(c, root, "(top)", "name", true, t->name)) < 0)
		return rc;
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(root, "subnet");
	if (net) {
		unsigned a, b;
		char tail[8];
		if (!cJSON_IsString(net) ||
		    sscanf(net->valuestring, "%u.%u.0.0/1%1[6]", &a, &b, tail) != 3 || a > 255 ||
		    b > 255)
			return topo_fail(c, "subnet: must be \"A.B.0.0/16\"");
		t->net_a = (uint8_t)a;
		t->net_b = (uint8_t)b;
	}
	if ((rc = topo_parse_regions(c, t, root)) < 0 || (rc = topo_parse_links(c, t, root)) < 0 ||
	    (rc = topo_parse_nodes(c, t, root)) < 0 || (rc = topo_parse_netfs(c, t, root)) < 0)
		return rc;
	const cJSON *co = cJSON_GetObjectItemCaseSensitive(root, "coordinator");
	if (co) {
		if (!cJSON_IsObject(co))
			return topo_fail(c, "coordinator: must be an object");
		if (cJSON_GetObjectItemCaseSensitive(co, "region") &&
		    (rc = topo_region_lookup(c, t, co, "coordinator", "region",
					     &t->coordinator_region)) < 0)
			return rc;
	}
	snprintf(t->coordinator_ip, sizeof t->coordinator_ip, "%u.%u.0.1", t->net_a, t->net_b);
	return 0;
}

int topo_parse(const char *text, struct topo **out, char *err, size_t errlen)
{
	struct topo_ctx c = {err, errlen};
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	cJSON *root = cJSON_Parse(text);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		return topo_fail(&c, "not valid JSON near \"%.20s\"", at ? at : "");
	}
	struct topo *t = calloc(1, sizeof *t);
	if (!t) {
		cJSON_Delete(root);
		return SD_ENOMEM;
	}
	int rc = cJSON_IsObject(root) ? topo_parse_top(&c, t, root)
				      : topo_fail(&c, "(top): must be an object");
	cJSON_Delete(root);
	if (rc < 0) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int topo_load(const char *path, struct topo **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return SD_EIO;
	}
	char *buf = malloc(TOPO_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, TOPO_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!buf)
		return SD_ENOMEM;
	if (n > TOPO_FILE_MAX) {
		free(buf);
		snprintf(err, errlen, "%s: larger than %d bytes", path, TOPO_FILE_MAX);
		return SD_ETOOBIG;
	}
	buf[n] = '\0';
	char inner[256];
	int rc = topo_parse(buf, out, inner, sizeof inner);
	free(buf);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, inner);
	return rc;
}

int topo_region_index(const struct topo *t, const char *name)
{
	for (int i = 0; i < t->nregions; i++)
		if (strcmp(t->regions[i].name, name) == 0)
			return i;
	return -1;
}

const struct topo_link *topo_link_get(const struct topo *t, int a, int b)
{
	assert(a >= 0 && a < t->nregions && b >= 0 && b < t->nregions);
	return &t->links[a][b];
}

void topo_free(struct topo *t)
{
	free(t);
}
