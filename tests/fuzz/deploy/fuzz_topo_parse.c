/*
 * tests/fuzz/deploy/fuzz_topo_parse.c — the simulation's topology parser
 * (deploy/sim/topo.h) on arbitrary bytes: never crashes, refuses with a
 * message, and whatever it accepts is consistent (regions in range,
 * distinct node names and addresses, links symmetric, jitter <= latency).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "deploy/sim/topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct topo *t)
{
	assert(t->nregions >= 1 && t->nregions <= TOPO_REGIONS_MAX);
	assert(t->nnodes >= 1 && t->nnodes <= TOPO_NODES_MAX);
	for (int i = 0; i < t->nnodes; i++) {
		assert(t->nodes[i].region >= 0 && t->nodes[i].region < t->nregions);
		for (int k = 0; k < i; k++) {
			assert(strcmp(t->nodes[i].name, t->nodes[k].name) != 0);
			assert(strcmp(t->nodes[i].ip, t->nodes[k].ip) != 0);
		}
	}
	for (int a = 0; a < t->nregions; a++)
		for (int b = 0; b < t->nregions; b++) {
			const struct topo_link *x = topo_link_get(t, a, b),
					       *y = topo_link_get(t, b, a);
			assert(memcmp(x, y, sizeof *x) == 0);
			assert(x->jitter_ms <= x->latency_ms || !t->link_set[a][b]);
			assert(x->loss >= 0 && x->loss <= 1);
		}
	assert(t->netfs_primary < t->nregions);
	assert(t->netfs_primary < 0 || t->regions[t->netfs_primary].has_netfs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct topo *t = NULL;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	int rc = topo_parse(text, &t, err, sizeof err);
	if (rc == 0) {
		check(t);
		topo_free(t);
	} else {
		assert(rc == SD_EINVAL || rc == SD_ENOMEM);
		assert(t == NULL && err[0] != '\0');
	}
	free(text);
	return 0;
}
