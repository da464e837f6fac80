/*
 * deploy/sim/topo.h — the simulation's topology file (JSON), parsed and
 * validated (module prefix topo_).
 *
 * A topology names regions (with coordinates), the links between region
 * pairs (latency, jitter, loss, bandwidth), the nodes (region, zone, labels,
 * slots, memory), where the coordinator sits and one netfs server per region
 * that wants one. docs/simulation.md describes the format.
 *
 * Interface:
 *   topo_load(path, &t, err, errlen)   parse + validate; returns owned *t
 *   topo_parse(text, &t, err, errlen)  the same from a string (borrows text)
 *   topo_region_index(t, name)         -1 when unknown
 *   topo_link_get(t, a, b)             the link between two region indexes
 *                                      (symmetric; a == b is the intra-region
 *                                      link; unlisted pairs get default_link)
 *   topo_free(t)
 *
 * Addresses are assigned here so the switch, the sim script and the tests
 * agree: in the topology's /16 (default 10.42.0.0/16) the coordinator is
 * .0.1, the netfs server of region i (1-based) .i.1 and node k (0-based) of
 * region i .i.(10+k).
 *
 * Errors: SD_EINVAL with a message naming the field ("nodes[2].region:
 * unknown region \"mars\"") in err; SD_EIO when the file cannot be read.
 */
#ifndef SD_DEPLOY_SIM_TOPO_H
#define SD_DEPLOY_SIM_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOPO_NAME_MAX           48      /* bytes of a region/node/zone name, with NUL */
#define TOPO_REGIONS_MAX        32      /* regions per topology */
#define TOPO_NODES_MAX          64      /* nodes per topology */
#define TOPO_NODES_PER_REGION   200     /* host numbers .10 .. .209 */
#define TOPO_LABELS_MAX         8       /* labels per node */
#define TOPO_LATENCY_MAX_MS     10000.0 /* one-way latency ceiling, ms */
#define TOPO_BANDWIDTH_MAX_MBIT 100000.0
#define TOPO_PATH_MAX           256 /* bytes of a netfs root path, with NUL */

struct topo_link {
	double latency_ms;     /* one-way delay; a round trip is twice this */
	double jitter_ms;      /* uniform in [-jitter, +jitter], order kept */
	double loss;           /* probability a frame is dropped, 0..1 */
	double bandwidth_mbit; /* per direction; 0 = unlimited */
};

struct topo_label {
	char key[TOPO_NAME_MAX];
	char value[TOPO_NAME_MAX];
};

struct topo_region {
	char name[TOPO_NAME_MAX];
	double lat, lon; /* degrees */
	int nodes;       /* how many nodes sit here (derived) */
	bool has_netfs;
	char netfs_root[TOPO_PATH_MAX]; /* relative to the topology's data dir */
	char netfs_ip[40];              /* dotted quad, when has_netfs */
};

struct topo_node {
	char name[TOPO_NAME_MAX];
	int region; /* index into regions */
	char zone[TOPO_NAME_MAX];
	struct topo_label labels[TOPO_LABELS_MAX];
	int nlabels;
	int slots;
	int memory_mb;
	char ip[40];
};

struct topo {
	char name[TOPO_NAME_MAX];
	uint8_t net_a, net_b; /* the /16: net_a.net_b.0.0 */
	struct topo_region regions[TOPO_REGIONS_MAX];
	int nregions;
	struct topo_node nodes[TOPO_NODES_MAX];
	int nnodes;
	/* links[a][b] == links[b][a]; set[a][b] says the file listed the pair */
	struct topo_link links[TOPO_REGIONS_MAX][TOPO_REGIONS_MAX];
	bool link_set[TOPO_REGIONS_MAX][TOPO_REGIONS_MAX];
	struct topo_link default_link;
	int coordinator_region; /* -1: the "host" region, no delay to anyone */
	char coordinator_ip[40];
	int netfs_primary; /* region index of the netfs the coordinator uses; -1 none */
};

int topo_parse(const char *text, struct topo **out, char *err, size_t errlen);
int topo_load(const char *path, struct topo **out, char *err, size_t errlen);
int topo_region_index(const struct topo *t, const char *name);
const struct topo_link *topo_link_get(const struct topo *t, int a, int b);
void topo_free(struct topo *t);

#endif
