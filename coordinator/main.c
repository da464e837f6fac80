/*
 * coordinator/main.c — stardust-coordinator: parse the command line, run
 * the daemon (server.c) until SIGINT/SIGTERM.
 *
 *   stardust-coordinator --listen-http 127.0.0.1:8080 --listen-control 127.0.0.1:7000
 *                        [--token T] [--join-token J] [--heartbeat-timeout 5s]
 *                        [--state-dir DIR] [--log-level info]
 *                        [--checkpoint-interval 5s] [--restart-strategy fixed|backoff|none]
 *                        [--restart-attempts N] [--restart-delay D] [--restart-delay-max D]
 *                        [--register-timeout D] [--http-head-timeout D] [--http-idle-timeout D]
 *
 * The fault-tolerance flags set the defaults for jobs whose job block says
 * nothing (docs/language.md); bounded jobs never checkpoint.
 *
 * Tokens may also come from the environment (STARDUST_TOKEN,
 * STARDUST_JOIN_TOKEN) so they stay out of `ps`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "coordinator/coord.h"

#define DEFAULT_HTTP              "127.0.0.1:8080"
#define DEFAULT_CONTROL           "127.0.0.1:7000"
#define DEFAULT_HEARTBEAT_TIMEOUT 5000000u /* us */
#define RESTART_ATTEMPTS_MAX      1000000u /* --restart-attempts */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: stardust-coordinator [options]\n"
		"  --listen-http HOST:PORT     HTTP API (default " DEFAULT_HTTP ", port 0 = any)\n"
		"  --listen-control HOST:PORT  node control port (default " DEFAULT_CONTROL ")\n"
		"  --token T                   bearer token for POST/DELETE (env STARDUST_TOKEN)\n"
		"  --join-token J              token nodes must present (env STARDUST_JOIN_TOKEN)\n"
		"  --heartbeat-timeout D       mark a node lost after D without heartbeats\n"
		"                              (5s; units us, ms, s, m)\n"
		"  --netfs HOST:PORT           the file service jobs read and write (netfs://)\n"
		"  --netfs-token T             its token (env STARDUST_NETFS_TOKEN)\n"
		"  --state-dir DIR             write DIR/endpoints.json with the bound addresses;\n"
		"                              keep jobs in DIR/jobs/ (reloaded at start)\n"
		"  --checkpoint-interval D     checkpoint unbounded jobs every D (%ums; 0 = "
		"never)\n"
		"  --restart-strategy S        after a failure: fixed, backoff or none (fixed)\n"
		"  --restart-attempts N        restarts before a job fails (%u)\n"
		"  --restart-delay D           fixed delay, first backoff delay (%ums)\n"
		"  --restart-delay-max D       backoff cap (%ums)\n"
		"  --register-timeout D        close a control connection that has not registered\n"
		"                              within D (%ums)\n"
		"  --http-head-timeout D       close an HTTP connection whose request head takes\n"
		"                              longer than D from its first byte (%ums)\n"
		"  --http-idle-timeout D       close an HTTP connection with no request under way\n"
		"                              for D (%ums)\n"
		"  --log-level L               debug, info, warn, error, off (default info)\n"
		"exit status: 0 after SIGINT/SIGTERM, 1 on a start-up error, 2 on bad usage\n",
		COORD_CHECKPOINT_DEFAULT_US / 1000u, COORD_RESTART_ATTEMPTS,
		COORD_RESTART_DELAY_US / 1000u, COORD_RESTART_DELAY_MAX_US / 1000u,
		COORD_CONTROL_REGISTER_US / 1000u, COORD_HTTP_HEAD_US / 1000u,
		COORD_HTTP_IDLE_US / 1000u);
}

/* One fault-tolerance flag into f; 0, or -1 after saying what was wrong. */
static int ft_flag(struct coord_ft_flags *f, int ch, const char *arg)
{
	char *end = NULL;
	unsigned long n;
	switch (ch) {
	case 'r':
		f->restart = true;
		if (strcmp(arg, "fixed") == 0)
			f->ft.restart = COORD_RESTART_FIXED;
		else if (strcmp(arg, "backoff") == 0)
			f->ft.restart = COORD_RESTART_BACKOFF;
		else if (strcmp(arg, "none") == 0)
			f->ft.restart = COORD_RESTART_NONE;
		else
			break;
		return 0;
	case 'a':
		f->attempts = true;
		n = strtoul(arg, &end, 10);
		if (arg[0] < '0' || arg[0] > '9' || *end || n > RESTART_ATTEMPTS_MAX)
			break;
		f->ft.restart_attempts = (uint32_t)n;
		return 0;
	case 'c':
		f->checkpoint = true;
		if (coord_parse_duration_us(arg, &f->ft.checkpoint_us))
			break;
		return 0;
	case 'd':
		f->delay = true;
		if (coord_parse_duration_us(arg, &f->ft.restart_delay_us))
			break;
		return 0;
	default:
		f->delay_max = true;
		if (coord_parse_duration_us(arg, &f->ft.restart_delay_max_us) ||
		    f->ft.restart_delay_max_us == 0)
			break;
		return 0;
	}
	fprintf(stderr, "stardust-coordinator: bad value \"%s\" (see --help)\n", arg);
	return -1;
}

/* One connection deadline into cfg; 0, or -1 after saying what was wrong. */
static int timeout_flag(struct coord_config *cfg, int ch, const char *arg)
{
	uint64_t us;
	if (coord_parse_duration_us(arg, &us) || us == 0) {
		fprintf(stderr, "stardust-coordinator: bad duration \"%s\"\n", arg);
		return -1;
	}
	if (ch == 'R')
		cfg->register_timeout_us = us;
	else if (ch == 'E')
		cfg->http_head_timeout_us = us;
	else
		cfg->http_idle_us = us;
	return 0;
}

int main(int argc, char **argv)
{
	struct coord_config cfg = {
		.http_addr = DEFAULT_HTTP,
		.control_addr = DEFAULT_CONTROL,
		.token = getenv("STARDUST_TOKEN"),
		.join_token = getenv("STARDUST_JOIN_TOKEN"),
		.netfs_token = getenv("STARDUST_NETFS_TOKEN"),
		.heartbeat_timeout_us = DEFAULT_HEARTBEAT_TIMEOUT,
	};
	static const struct option opts[] = {
		{"listen-http", required_argument, NULL, 'H'},
		{"listen-control", required_argument, NULL, 'C'},
		{"token", required_argument, NULL, 't'},
		{"join-token", required_argument, NULL, 'j'},
		{"heartbeat-timeout", required_argument, NULL, 'b'},
		{"state-dir", required_argument, NULL, 's'},
		{"log-level", required_argument, NULL, 'l'},
		{"netfs", required_argument, NULL, 'n'},
		{"netfs-token", required_argument, NULL, 'N'},
		{"checkpoint-interval", required_argument, NULL, 'c'},
		{"restart-strategy", required_argument, NULL, 'r'},
		{"restart-attempts", required_argument, NULL, 'a'},
		{"restart-delay", required_argument, NULL, 'd'},
		{"restart-delay-max", required_argument, NULL, 'D'},
		{"register-timeout", required_argument, NULL, 'R'},
		{"http-head-timeout", required_argument, NULL, 'E'},
		{"http-idle-timeout", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	enum sd_log_level level;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			cfg.http_addr = optarg;
			break;
		case 'C':
			cfg.control_addr = optarg;
			break;
		case 't':
			cfg.token = optarg;
			break;
		case 'j':
			cfg.join_token = optarg;
			break;
		case 'b':
			if (coord_parse_duration_us(optarg, &cfg.heartbeat_timeout_us) ||
			    cfg.heartbeat_timeout_us == 0) {
				fprintf(stderr, "stardust-coordinator: bad duration \"%s\"\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			cfg.state_dir = optarg;
			break;
		case 'n':
			cfg.netfs_addr = optarg;
			break;
		case 'N':
			cfg.netfs_token = optarg;
			break;
		case 'c':
		case 'r':
		case 'a':
		case 'd':
		case 'D':
			if (ft_flag(&cfg.ft, ch, optarg))
				return 2;
			break;
		case 'R':
		case 'E':
		case 'I':
			if (timeout_flag(&cfg, ch, optarg))
				return 2;
			break;
		case 'l':
			if (sd_log_parse_level(optarg, &level)) {
				fprintf(stderr, "stardust-coordinator: bad log level \"%s\"\n",
					optarg);
				return 2;
			}
			sd_log_set_level(level);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (cfg.ft.delay && cfg.ft.delay_max &&
	    cfg.ft.ft.restart_delay_max_us < cfg.ft.ft.restart_delay_us) {
		fprintf(stderr,
			"stardust-coordinator: --restart-delay-max is below --restart-delay\n");
		return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "stardust-coordinator: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	int rc = coord_server_run(&cfg);
	if (rc) {
		fprintf(stderr, "stardust-coordinator: %s\n", sd_strerror(rc));
		return 1;
	}
	return 0;
}
