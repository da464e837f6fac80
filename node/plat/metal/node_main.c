/*
 * node/plat/metal/node_main.c — command line → struct node_config →
 * node_open → sched_run (node_main.h). Mirrors node/plat/hosted/main.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/parse.h"
#include "base/log.h"
#include "node/core/node.h"
#include "node/core/sched.h"
#include "node/plat/metal/cmdline.h"
#include "node/plat/metal/exit.h"
#include "node/plat/metal/net.h"
#include "node/plat/metal/node_main.h"
#include "node/plat/metal/plat_metal.h"
#include "node/plat/plat.h"

#define NODE_VALUE_MAX     128  /* bytes: one key's value */
#define NODE_DEFAULT_PORT  7070 /* data port */
#define NODE_DEFAULT_SLOTS 2
#define NODE_DEFAULT_MEM   (16u << 20) /* bytes: plat_alloc budget */

/* Values live here for the node's lifetime (node_open copies, but labels point in). */
static struct {
	char name[NODE_VALUE_MAX], region[NODE_VALUE_MAX], zone[NODE_VALUE_MAX];
	char token[NODE_VALUE_MAX], advertise[NODE_VALUE_MAX];
	char coord_host[PLAT_ADDR_MAX];
	char labels[NODE_LABELS_MAX][NODE_VALUE_MAX];
} node_text;

bool metal_node_wanted(void)
{
	char v[2];

	return metal_cmdline_get("name", v, sizeof(v));
}

/* Every label=K=V word, in order (metal_cmdline_get only sees the last). */
static void node_labels(struct node_config *cfg)
{
	const char *p = metal_cmdline();

	while (*p && cfg->n_labels < NODE_LABELS_MAX) {
		size_t len = 0;

		while (p[len] && p[len] != ' ')
			len++;

		if (len > 6 && strncmp(p, "label=", 6) == 0 && len - 6 < NODE_VALUE_MAX) {
			char *kv = node_text.labels[cfg->n_labels];
			char *eq;

			memcpy(kv, p + 6, len - 6);
			kv[len - 6] = '\0';
			eq = strchr(kv, '=');
			if (!eq)
				metal_panic("label=%s: expected label=KEY=VALUE", kv);
			*eq = '\0';
			cfg->labels[cfg->n_labels].key = kv;
			cfg->labels[cfg->n_labels++].value = eq + 1;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
}

static void node_config_read(struct node_config *cfg)
{
	char v[NODE_VALUE_MAX];

	*cfg = (struct node_config){.region = "local",
				    .zone = "local-a",
				    .slots = NODE_DEFAULT_SLOTS,
				    .memory_bytes = NODE_DEFAULT_MEM,
				    .listen_host = "0.0.0.0",
				    .listen_port = NODE_DEFAULT_PORT,
				    .exit_on_refusal = true};
	metal_cmdline_get("name", node_text.name, sizeof(node_text.name));
	cfg->name = node_text.name;
	if (metal_cmdline_get("region", node_text.region, sizeof(node_text.region)))
		cfg->region = node_text.region;
	if (metal_cmdline_get("zone", node_text.zone, sizeof(node_text.zone)))
		cfg->zone = node_text.zone;
	if (metal_cmdline_get("token", node_text.token, sizeof(node_text.token)))
		cfg->token = node_text.token;
	if (metal_cmdline_get("memory", v, sizeof(v)) && sd_parse_size(v, &cfg->memory_bytes))
		metal_panic("memory=%s: expected a size like 16M", v);
	if (metal_cmdline_get("slots", v, sizeof(v)) &&
	    (cfg->slots = (uint32_t)strtoul(v, NULL, 10)) == 0)
		metal_panic("slots=%s: expected a positive number", v);
	if (metal_cmdline_get("listen", v, sizeof(v))) {
		unsigned long port = strtoul(v, NULL, 10);

		if (port == 0 || port > 65535)
			metal_panic("listen=%s: expected a port", v);
		cfg->listen_port = (uint16_t)port;
	}
	snprintf(node_text.advertise, sizeof(node_text.advertise), "%s", metal_net_addr());
	metal_cmdline_get("advertise", node_text.advertise, sizeof(node_text.advertise));
	if (node_text.advertise[0])
		cfg->advertise_host = node_text.advertise;
	if (metal_cmdline_get("coordinator", v, sizeof(v))) {
		if (sd_parse_hostport(v, node_text.coord_host, sizeof(node_text.coord_host),
				      &cfg->coordinator_port) ||
		    !cfg->coordinator_port)
			metal_panic("coordinator=%s: expected HOST:PORT", v);
		cfg->coordinator_host = node_text.coord_host;
	}
	if (metal_cmdline_get("localhost", v, sizeof(v)))
		metal_tcp_set_localhost(v);
	node_labels(cfg);
}

void metal_node_run(void)
{
	struct node_config cfg;
	struct node *node;
	int rc;

	node_config_read(&cfg);
	plat_mem_set_limit(cfg.memory_bytes);
	sched_init();
	rc = node_open(&cfg, &node);
	if (rc < 0)
		metal_panic("node %s: cannot start: %s", cfg.name, sd_strerror(rc));
	sd_log_info("node", "%s: ready: data port %u, %u slots, memory %llu MiB, coordinator %s:%u",
		    cfg.name, node_data_port(node), cfg.slots,
		    (unsigned long long)(cfg.memory_bytes >> 20),
		    cfg.coordinator_host ? cfg.coordinator_host : "(none)", cfg.coordinator_port);
	rc = sched_run(NULL, NULL);
	node_close(node);
	sd_log_info("node", "%s: stopped (%s)", cfg.name, rc < 0 ? sd_strerror(rc) : "ok");
	metal_exit(rc < 0 ? METAL_EXIT_FAILURE : METAL_EXIT_SUCCESS);
}
