/*
 * netfs/cli/fs_cli.c — `stardust fs ls|cat|put|get|rm|...`, a netfs client for
 * people. nfs_cli_main() is called by the stardust CLI (argv[0] == "fs") and
 * by the standalone stardust-fs.
 *
 *   fs [--server HOST:PORT] [--token T] ls [PATTERN]
 *   fs ... cat PATH...            fs ... get REMOTE [LOCAL|-]
 *   fs ... put LOCAL|- REMOTE     fs ... rm PATH...
 *   fs ... concat TARGET SOURCE...  fs ... truncate PATH SIZE
 *
 * The server defaults to $STARDUST_NETFS, then 127.0.0.1:7070.
 * Exit codes: 0 ok, 1 usage, 2 not found, 3 any other error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/parse.h"
#include "netfs/netfs.h"

#define CLI_EXIT_OK       0
#define CLI_EXIT_USAGE    1
#define CLI_EXIT_NOTFOUND 2
#define CLI_EXIT_ERROR    3
#define CLI_ARGS_MAX      64         /* positional arguments */
#define CLI_IO_CHUNK      (1u << 20) /* bytes per local read for put */
#define CLI_BAD_USAGE     1          /* a command's return for bad arguments: not an SD_E* */

struct cli {
	char host[256];
	uint16_t port;
	const char *token;
	const char *args[CLI_ARGS_MAX];
	int n_args;
	struct nfs_conn *conn;
};

static void cli_usage(void)
{
	fprintf(stderr,
		"usage: stardust fs [--server HOST:PORT] [--token T] COMMAND ...\n"
		"  ls [PATTERN]           list files (globs: * ? [..]; a directory lists its "
		"contents)\n"
		"  cat PATH...            print files\n"
		"  get REMOTE [LOCAL|-]   copy a file from the server\n"
		"  put LOCAL|- REMOTE     copy a file to the server (atomic: temp name, then "
		"rename)\n"
		"  rm PATH...             delete files or empty directories\n"
		"  concat TARGET SRC...   append the sources to TARGET on the server, all or "
		"nothing\n"
		"  truncate PATH SIZE     cut a file to SIZE bytes (K, M, G suffixes)\n"
		"server: --server, else $STARDUST_NETFS, else 127.0.0.1:%d\n",
		NFS_DEFAULT_PORT);
}

static int exit_code(int rc)
{
	return rc == 0 ? CLI_EXIT_OK : rc == SD_ENOENT ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
}

static int parse_server(struct cli *c, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	long port = NFS_DEFAULT_PORT;
	size_t hlen = colon ? (size_t)(colon - arg) : strlen(arg);

	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (*end || port <= 0 || port > 65535)
			return SD_EINVAL;
	}
	if (hlen == 0 || hlen >= sizeof(c->host))
		return SD_EINVAL;
	memcpy(c->host, arg, hlen);
	c->host[hlen] = '\0';
	c->port = (uint16_t)port;
	return 0;
}

static int parse_args(struct cli *c, int argc, char **argv)
{
	const char *server = getenv("STARDUST_NETFS");

	if (!server || !server[0])
		server = "127.0.0.1:7070";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--server") == 0 && i + 1 < argc) {
			server = argv[++i];
		} else if (strncmp(a, "--server=", 9) == 0) {
			server = a + 9;
		} else if (strcmp(a, "--token") == 0 && i + 1 < argc) {
			c->token = argv[++i];
		} else if (strncmp(a, "--token=", 8) == 0) {
			c->token = a + 8;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			return SD_EINVAL;
		} else if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr, "stardust fs: unknown option %s\n", a);
			return SD_EINVAL;
		} else {
			if (c->n_args == CLI_ARGS_MAX) {
				fprintf(stderr, "stardust fs: too many arguments\n");
				return SD_EINVAL;
			}
			c->args[c->n_args++] = a;
		}
	}
	if (parse_server(c, server) < 0) {
		fprintf(stderr, "stardust fs: bad server address '%s' (HOST:PORT)\n", server);
		return SD_EINVAL;
	}
	return c->n_args > 0 ? 0 : SD_EINVAL;
}

static int cli_connect(struct cli *c)
{
	int rc = nfs_connect(c->host, c->port, c->token, &c->conn);

	if (rc < 0)
		fprintf(stderr, "stardust fs: cannot use netfs server %s:%u: %s\n", c->host,
			c->port, sd_strerror(rc));
	return rc;
}

static int report(struct cli *c, const char *op, const char *path, int rc)
{
	const char *detail = nfs_last_error(c->conn);

	if (rc < 0)
		fprintf(stderr, "stardust fs %s %s: %s\n", op, path,
			detail && detail[0] ? detail : sd_strerror(rc));
	return rc;
}

static int print_entry(void *arg, const struct nfs_entry *e)
{
	(void)arg;
	printf("%12llu  %s%s\n", (unsigned long long)e->size, e->path, e->is_dir ? "/" : "");
	return 0;
}

static int cmd_ls(struct cli *c)
{
	const char *pattern = c->n_args > 1 ? c->args[1] : "";
	bool truncated = false;
	int rc = nfs_list(c->conn, pattern, print_entry, NULL, &truncated);

	if (rc < 0)
		return report(c, "ls", pattern[0] ? pattern : ".", rc);
	if (truncated)
		fprintf(stderr, "stardust fs ls: listing truncated by the server\n");
	return 0;
}

static int to_file(void *arg, uint64_t offset, const void *data, size_t len)
{
	(void)offset;
	return fwrite(data, 1, len, arg) == len ? 0 : SD_EIO;
}

static int cmd_cat(struct cli *c)
{
	int first = 0;

	if (c->n_args < 2)
		return CLI_BAD_USAGE;
	for (int i = 1; i < c->n_args; i++) {
		int rc = nfs_read(c->conn, c->args[i], 0, 0, to_file, stdout);
		if (rc < 0 && first == 0)
			first = report(c, "cat", c->args[i], rc);
		else if (rc < 0)
			report(c, "cat", c->args[i], rc);
	}
	fflush(stdout);
	return first;
}

static int cmd_get(struct cli *c)
{
	const char *remote, *local, *slash;
	FILE *out;
	int rc;

	if (c->n_args < 2 || c->n_args > 3)
		return CLI_BAD_USAGE;
	remote = c->args[1];
	slash = strrchr(remote, '/');
	local = c->n_args == 3 ? c->args[2] : slash ? slash + 1 : remote;
	out = strcmp(local, "-") == 0 ? stdout : fopen(local, "wb");
	if (!out) {
		fprintf(stderr, "stardust fs get: cannot write %s: %s\n", local, strerror(errno));
		return SD_EIO;
	}
	rc = nfs_read(c->conn, remote, 0, 0, to_file, out);
	if (out != stdout && fclose(out) != 0 && rc == 0)
		rc = SD_EIO;
	if (rc < 0 && out != stdout)
		remove(local);
	return report(c, "get", remote, rc);
}

static int put_stream(struct cli *c, FILE *in, uint64_t handle)
{
	uint8_t *buf = malloc(CLI_IO_CHUNK);
	uint64_t off = 0;
	size_t n;
	int rc = 0;

	if (!buf)
		return SD_ENOMEM;
	while (rc == 0 && (n = fread(buf, 1, CLI_IO_CHUNK, in)) > 0) {
		rc = nfs_write(c->conn, handle, off, buf, n);
		off += n;
	}
	if (rc == 0 && ferror(in))
		rc = SD_EIO;
	free(buf);
	return rc;
}

static int cmd_put(struct cli *c)
{
	const char *local, *remote;
	uint64_t handle;
	FILE *in;
	int rc;

	if (c->n_args != 3)
		return CLI_BAD_USAGE;
	local = c->args[1];
	remote = c->args[2];
	in = strcmp(local, "-") == 0 ? stdin : fopen(local, "rb");
	if (!in) {
		fprintf(stderr, "stardust fs put: cannot read %s: %s\n", local, strerror(errno));
		return errno == ENOENT ? SD_ENOENT : SD_EIO;
	}
	rc = nfs_create(c->conn, remote, true, &handle);
	if (rc == 0) {
		rc = put_stream(c, in, handle);
		if (rc == 0)
			rc = nfs_commit(c->conn, handle);
		else if (rc == SD_EIO)
			nfs_abort(c->conn, handle);
	}
	if (in != stdin)
		fclose(in);
	if (rc == SD_EIO)
		fprintf(stderr, "stardust fs put: error reading %s\n", local);
	return rc == SD_EIO ? rc : report(c, "put", remote, rc);
}

static int cmd_rm(struct cli *c)
{
	int first = 0;

	if (c->n_args < 2)
		return CLI_BAD_USAGE;
	for (int i = 1; i < c->n_args; i++) {
		int rc = nfs_delete(c->conn, c->args[i]);
		if (rc < 0) {
			report(c, "rm", c->args[i], rc);
			if (first == 0)
				first = rc;
		}
	}
	return first;
}

static int cmd_concat(struct cli *c)
{
	if (c->n_args < 3)
		return CLI_BAD_USAGE;
	return report(
		c, "concat", c->args[1],
		nfs_concat(c->conn, c->args[1], c->args + 2, (size_t)c->n_args - 2, NULL, NULL));
}

static int cmd_truncate(struct cli *c)
{
	uint64_t size = 0;

	if (c->n_args != 3 ||
	    (strcmp(c->args[2], "0") != 0 && sd_parse_size(c->args[2], &size) < 0))
		return CLI_BAD_USAGE;
	return report(c, "truncate", c->args[1], nfs_truncate(c->conn, c->args[1], size));
}

int nfs_cli_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli *);
	} cmds[] = {
		{"ls", cmd_ls}, {"cat", cmd_cat},       {"get", cmd_get},          {"put", cmd_put},
		{"rm", cmd_rm}, {"concat", cmd_concat}, {"truncate", cmd_truncate}};
	struct cli c = {0};
	int rc;

	if (parse_args(&c, argc, argv) < 0) {
		cli_usage();
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(c.args[0], cmds[i].name) != 0)
			continue;
		if ((rc = cli_connect(&c)) < 0)
			return CLI_EXIT_ERROR;
		rc = cmds[i].run(&c);
		nfs_close(c.conn);
		if (rc == CLI_BAD_USAGE) {
			cli_usage();
			return CLI_EXIT_USAGE;
		}
		return exit_code(rc);
	}
	fprintf(stderr, "stardust fs: unknown command '%s'\n", c.args[0]);
	cli_usage();
	return CLI_EXIT_USAGE;
}
