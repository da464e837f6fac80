/*
 * node/plat/hosted/main.c — `stardust-node`: the worker as a Linux process.
 *
 * Reads its configuration from flags (and a few environment variables),
 * starts the platform, the scheduler and the node, and runs the loop until
 * SIGINT/SIGTERM. Exit codes: 0 clean stop, 1 runtime error, 2 bad usage or
 * registration refused.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/parse.h"
#include "base/log.h"
#include "node/core/node.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static bool should_stop(void *arg)
{
	(void)arg;
	return stop_requested != 0;
}

static void usage(FILE *out)
{
	fputs("usage: stardust-node [options]\n"
	      "  --name NAME            node name, unique in the cluster (required)\n"
	      "  --region R             region label (default \"local\")\n"
	      "  --zone Z               zone label (default \"local-a\")\n"
	      "  --label K=V            extra label; repeatable (up to 16)\n"
	      "  --coordinator H:P      coordinator control address (env STARDUST_COORDINATOR)\n"
	      "  --listen H:P           data port for peer nodes (default 127.0.0.1:0);\n"
	      "                         alias --listen-data\n"
	      "  --advertise HOST       host peers dial (default: the --listen host)\n"
	      "  --slots N              tasks run at once (default 4)\n"
	      "  --memory SIZE          memory limit, e.g. 256M, 1G (default 256M)\n"
	      "  --token T              join token (env STARDUST_TOKEN); alias --join-token\n"
	      "  --log-level L          debug|info|warn|error (env STARDUST_LOG)\n"
	      "  --help                 this text\n",
	      out);
}

int main(int argc, char **argv)
{
	struct node_config cfg = {.region = "local",
				  .zone = "local-a",
				  .slots = 4,
				  .memory_bytes = 256u << 20,
				  .listen_host = "127.0.0.1",
				  .exit_on_refusal = true};
	static char coord_host[PLAT_ADDR_MAX], listen_host[PLAT_ADDR_MAX];
	const char *coord = getenv("STARDUST_COORDINATOR"), *level = getenv("STARDUST_LOG");
	struct node *node;
	int rc;

	cfg.token = getenv("STARDUST_TOKEN");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!v) {
			fprintf(stderr, "stardust-node: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--name"))
			cfg.name = v;
		else if (!strcmp(a, "--region"))
			cfg.region = v;
		else if (!strcmp(a, "--zone"))
			cfg.zone = v;
		else if (!strcmp(a, "--label")) {
			const char *eq = strchr(v, '=');
			char *key;

			if (!eq || cfg.n_labels == NODE_LABELS_MAX) {
				fprintf(stderr, "stardust-node: --label wants K=V (at most %d)\n",
					NODE_LABELS_MAX);
				return 2;
			}
			key = strndup(v, (size_t)(eq - v));
			cfg.labels[cfg.n_labels].key = key;
			cfg.labels[cfg.n_labels++].value = eq + 1;
		} else if (!strcmp(a, "--coordinator"))
			coord = v;
		else if (!strcmp(a, "--listen") || !strcmp(a, "--listen-data")) {
			if (sd_parse_hostport(v, listen_host, sizeof(listen_host),
					      &cfg.listen_port)) {
				fprintf(stderr, "stardust-node: bad --listen %s\n", v);
				return 2;
			}
			cfg.listen_host = listen_host;
		} else if (!strcmp(a, "--advertise"))
			cfg.advertise_host = v;
		else if (!strcmp(a, "--slots"))
			cfg.slots = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--memory")) {
			if (sd_parse_size(v, &cfg.memory_bytes)) {
				fprintf(stderr, "stardust-node: bad --memory %s\n", v);
				return 2;
			}
		} else if (!strcmp(a, "--token") || !strcmp(a, "--join-token"))
			cfg.token = v;
		else if (!strcmp(a, "--log-level"))
			level = v;
		else {
			fprintf(stderr, "stardust-node: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (level) {
		enum sd_log_level l;

		if (sd_log_parse_level(level, &l)) {
			fprintf(stderr, "stardust-node: bad log level %s\n", level);
			return 2;
		}
		sd_log_set_level(l);
	}
	if (!cfg.name || !cfg.slots) {
		fprintf(stderr, "stardust-node: --name is required (and --slots > 0)\n");
		usage(stderr);
		return 2;
	}
	if (coord) {
		if (sd_parse_hostport(coord, coord_host, sizeof(coord_host),
				      &cfg.coordinator_port)) {
			fprintf(stderr, "stardust-node: bad coordinator address %s\n", coord);
			return 2;
		}
		cfg.coordinator_host = coord_host;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = plat_init();
	if (rc < 0) {
		fprintf(stderr, "stardust-node: platform: %s\n", sd_strerror(rc));
		return 1;
	}
	plat_mem_set_limit(cfg.memory_bytes);
	sched_init();
	rc = node_open(&cfg, &node);
	if (rc < 0) {
		fprintf(stderr, "stardust-node: %s: cannot start: %s\n", cfg.name, sd_strerror(rc));
		return 1;
	}
	/* Launchers read this line to learn the data port. */
	printf("stardust-node %s data 127.0.0.1:%u\n", cfg.name, node_data_port(node));
	fflush(stdout);
	sd_log_info("node", "%s: data port %u, %u slots, coordinator %s", cfg.name,
		    node_data_port(node), cfg.slots, coord ? coord : "(none)");
	rc = sched_run(should_stop, NULL);
	node_close(node);
	sd_log_info("node", "%s: stopped", cfg.name);
	return rc < 0 ? 1 : 0;
}
