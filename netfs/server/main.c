/*
 * netfs/server/main.c — stardust-netfsd: exports one directory over netfs.
 *
 *   stardust-netfsd --root DIR --listen 127.0.0.1:7070 --region eu-west
 *                   [--token T] [--name N] [--port-file F] [--log-level L]
 *                   [--hello-timeout-ms MS] [--idle-timeout-ms MS]
 *
 * The token may come from the environment (STARDUST_NETFS_TOKEN) instead of
 * --token, so that it is not on the command line for every user's `ps`;
 * --token wins when both are given.
 *
 * Start-up: arguments; the export root opened; temporary files a killed
 * server left behind removed (srv_reclaim_tmp); listen; serve until
 * SIGINT/SIGTERM. --listen HOST:0 picks an ephemeral port; --port-file writes
 * the bound port (atomically, by rename) once the server accepts connections.
 * SIGPIPE and SIGXFSZ are ignored: a closed socket or a file size limit is an
 * error for one request, not the end of the server.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "base/parse.h"
#include "base/err.h"
#include "base/log.h"
#include "netfs/server/srv.h"

#define TIMEOUT_MS_MAX 86400000u /* ms: a day, the longest timeout accepted */

struct opts {
	struct srv_config cfg;
	char host[256];
	int port;
	const char *port_file;
};

static void usage(FILE *to)
{
	fprintf(to, "usage: stardust-netfsd --root DIR [--listen HOST:PORT] [--region NAME]\n"
		    "                       [--token T] [--name N] [--port-file FILE]\n"
		    "                       [--log-level debug|info|warn|error]\n"
		    "                       [--hello-timeout-ms MS] [--idle-timeout-ms MS]\n"
		    "                       [--no-openat2]\n"
		    "Exports DIR over the netfs protocol (default --listen 127.0.0.1:7070).\n"
		    "The token may be given in the environment as STARDUST_NETFS_TOKEN.\n");
}

static int parse_listen(const char *arg, struct opts *o)
{
	uint16_t port;

	if (sd_parse_hostport(arg, o->host, sizeof(o->host), &port) < 0 || !o->host[0])
		return SD_EINVAL;
	o->port = port;
	return 0;
}

/* A timeout in ms: 1..TIMEOUT_MS_MAX, digits only. */
static int parse_ms(const char *arg, unsigned *out)
{
	char *end;
	unsigned long v;

	if (arg[0] < '0' || arg[0] > '9')
		return SD_EINVAL;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v == 0 || v > TIMEOUT_MS_MAX)
		return SD_EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {{"root", required_argument, NULL, 'r'},
					      {"listen", required_argument, NULL, 'l'},
					      {"region", required_argument, NULL, 'g'},
					      {"token", required_argument, NULL, 't'},
					      {"name", required_argument, NULL, 'n'},
					      {"port-file", required_argument, NULL, 'p'},
					      {"log-level", required_argument, NULL, 'v'},
					      {"no-openat2", no_argument, NULL, 'W'},
					      {"hello-timeout-ms", required_argument, NULL, 'H'},
					      {"idle-timeout-ms", required_argument, NULL, 'I'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	enum sd_log_level level;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o->cfg.root = optarg;
			break;
		case 'l':
			if (parse_listen(optarg, o) < 0) {
				fprintf(stderr, "stardust-netfsd: bad --listen '%s' (HOST:PORT)\n",
					optarg);
				return 1;
			}
			break;
		case 'g':
			o->cfg.region = optarg;
			break;
		case 't':
			o->cfg.token = optarg;
			break;
		case 'n':
			o->cfg.name = optarg;
			break;
		case 'p':
			o->port_file = optarg;
			break;
		case 'v':
			if (sd_log_parse_level(optarg, &level) < 0) {
				fprintf(stderr, "stardust-netfsd: bad --log-level '%s'\n", optarg);
				return 1;
			}
			sd_log_set_level(level);
			break;
		case 'W':
			o->cfg.no_openat2 = true;
			break;
		case 'H':
		case 'I':
			if (parse_ms(optarg, ch == 'H' ? &o->cfg.hello_timeout_ms
						       : &o->cfg.idle_timeout_ms) < 0) {
				fprintf(stderr, "stardust-netfsd: bad %s '%s' (1..%u ms)\n",
					ch == 'H' ? "--hello-timeout-ms" : "--idle-timeout-ms",
					optarg, TIMEOUT_MS_MAX);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!o->cfg.root || optind != argc) {
		usage(stderr);
		return 1;
	}
	return 0;
}

static void write_port_file(void *arg, int port)
{
	const struct opts *o = arg;
	char tmp[4096];
	FILE *f;

	sd_log_info("netfsd", "serving %s on %s:%d, region '%s'%s", o->cfg.root, o->host, port,
		    o->cfg.region, o->cfg.token && o->cfg.token[0] ? ", token required" : "");
	if (!o->port_file)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", o->port_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, o->port_file) < 0)
		sd_log_error("netfsd", "cannot write port file %s", o->port_file);
}

/* Removes what a killed server left: its temporary files are invisible but take space. */
static void reclaim(const struct srv *s)
{
	struct srv_reclaim rec;
	int rc = srv_reclaim_tmp(s, &rec);

	if (rc < 0)
		sd_log_warn("netfsd", "temporary files under %s not reclaimed: %s", s->cfg.root,
			    sd_strerror(rc));
	if (rec.files)
		sd_log_warn("netfsd",
			    "removed %llu temporary files (%llu bytes) left by a killed server",
			    (unsigned long long)rec.files, (unsigned long long)rec.bytes);
	if (rec.kept)
		sd_log_info("netfsd", "kept %llu temporary files of running processes",
			    (unsigned long long)rec.kept);
	if (rec.truncated)
		sd_log_warn("netfsd",
			    "temporary file sweep stopped after %llu entries (limit %u, depth %u)",
			    (unsigned long long)rec.scanned, SRV_RECLAIM_SCAN_MAX,
			    SRV_RECLAIM_DEPTH_MAX);
}

int main(int argc, char **argv)
{
	struct opts o = {.cfg = {.region = "local",
				 .name = "netfsd",
				 .token = getenv("STARDUST_NETFS_TOKEN")},
			 .port = NFS_DEFAULT_PORT};
	struct srv s = {0};
	int rc;

	snprintf(o.host, sizeof(o.host), "127.0.0.1");
	if (parse_args(argc, argv, &o))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	s.cfg = o.cfg;
	s.root_fd = open(o.cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s.root_fd < 0) {
		sd_log_error("netfsd", "cannot open export root %s: %s", o.cfg.root,
			     sd_strerror(sd_err_from_errno(errno)));
		return 1;
	}
	reclaim(&s);
	rc = srv_run(&s, uv_default_loop(), o.host, o.port, write_port_file, &o);
	if (rc < 0) {
		sd_log_error("netfsd", "cannot listen on %s:%d: %s", o.host, o.port,
			     sd_strerror(rc));
		return 1;
	}
	uv_loop_close(uv_default_loop());
	close(s.root_fd);
	return 0;
}
