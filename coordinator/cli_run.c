/*
 * coordinator/cli_run.c — `stardust run JOB.sd`: the embedded default.
 *
 *   stardust run JOB.sd [--nodes N] [--regions eu-west:2,us-east:1] [--data DIR] [--keep]
 *
 * Starts a private cluster in a temporary directory — stardust-netfsd
 * exporting DIR (default: the job file's directory), stardust-coordinator
 * pointed at it, and N hosted nodes — all on ephemeral loopback ports, as child processes in
 * their own process group (so a terminal's Ctrl-C reaches only us) that die
 * with us (PR_SET_PDEATHSIG). Then it submits the job, shows progress, prints
 * the result and tears everything down: on success, on failure, and on
 * Ctrl-C. Logs stay in the temporary directory when something failed.
 *
 * Binaries are looked up in $STARDUST_BIN_DIR, next to this executable and
 * in the build tree's sibling folders (../coordinator, ../netfs, ../node),
 * then on $PATH.
 */
#include "base/parse.h"
#include "coordinator/cli.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef SD_HAVE_NETFS_CLI
#include "netfs/netfs.h"
#endif

#define RUN_CHILDREN_MAX  66 /* coordinator + netfsd + nodes */
#define RUN_NODES_MAX     64 /* hosted nodes one run starts */
#define RUN_DEFAULT_NODES 2
#define RUN_SHOW_MAX      (64u << 10) /* bytes of each output printed at the end */
#define RUN_START_WAIT_MS 10000       /* for a child to publish its port, or nodes to join */
#define RUN_STOP_WAIT_MS  3000        /* after SIGTERM, before SIGKILL */
#define RUN_REGIONS_MAX   16
#define RUN_PATH_MAX      PATH_MAX

struct child {
	pid_t pid;
	char name[32];
};

struct run {
	char dir[RUN_PATH_MAX];
	char data[RUN_PATH_MAX];
	char job[RUN_PATH_MAX];
	char http[64];
	char control[64];
	char netfs[64];
	char token[33];
	char join_token[33];
	char netfs_token[33];
	struct child children[RUN_CHILDREN_MAX];
	size_t n_children;
	struct {
		char name[64];
		unsigned nodes;
	} regions[RUN_REGIONS_MAX];
	size_t n_regions;
	unsigned n_nodes;
	bool keep;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void random_hex(char *out, size_t chars)
{
	unsigned char b[32] = {0};
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, b, sizeof(b));
		(void)n;
		close(fd);
	}
	for (size_t i = 0; i < chars && i / 2 < sizeof(b); i++)
		out[i] = "0123456789abcdef"[(b[i / 2] >> ((i & 1) * 4)) & 15];
	out[chars] = '\0';
}

static bool executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* out = a/b/c (c may be NULL); false when it does not fit. */
static bool join_path(char *out, size_t cap, const char *a, const char *b, const char *c)
{
	int n = c ? snprintf(out, cap, "%s/%s/%s", a, b, c) : snprintf(out, cap, "%s/%s", a, b);
	return n > 0 && (size_t)n < cap;
}

/* Finds a binary; returns 0 with out filled, or -1. */
static int find_binary(const char *name, char *out, size_t cap)
{
	const char *env = getenv("STARDUST_BIN_DIR");
	if (env && env[0]) {
		if (join_path(out, cap, env, name, NULL) && executable(out))
			return 0;
	}
	char self[RUN_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		static const char *const rel[] = {".", "../coordinator", "../netfs", "../node",
						  "../node/plat/hosted"};
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			if (join_path(out, cap, self, rel[i], name) && executable(out))
				return 0;
		}
	}
	const char *path = getenv("PATH");
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		snprintf(out, cap, "%.*s/%s", (int)len, path, name);
		if (len && executable(out))
			return 0;
		path = colon ? colon + 1 : NULL;
	}
	return -1;
}

static int spawn(struct run *r, const char *name, char *const argv[])
{
	if (r->n_children == RUN_CHILDREN_MAX)
		return -1;
	char log[RUN_PATH_MAX + 64];
	snprintf(log, sizeof(log), "%s/%s.log", r->dir, name);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127); /* the parent died before prctl */
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* both sides, so there is no race */
	struct child *c = &r->children[r->n_children++];
	c->pid = pid;
	snprintf(c->name, sizeof(c->name), "%s", name);
	return 0;
}

/* True while the child runs; reaps it (pid = 0) when it exited. */
static bool child_alive(struct child *c)
{
	if (c->pid <= 0)
		return false;
	int st;
	pid_t w = waitpid(c->pid, &st, WNOHANG);
	if (w == 0)
		return true;
	c->pid = 0;
	return false;
}

static void teardown(struct run *r)
{
	for (size_t i = r->n_children; i-- > 0;)
		if (r->children[i].pid > 0)
			kill(r->children[i].pid, SIGTERM);
	for (unsigned waited = 0; waited < RUN_STOP_WAIT_MS; waited += 20) {
		bool any = false;
		for (size_t i = 0; i < r->n_children; i++)
			any |= child_alive(&r->children[i]);
		if (!any)
			return;
		sleep_ms(20);
	}
	for (size_t i = 0; i < r->n_children; i++) {
		if (!child_alive(&r->children[i]))
			continue;
		fprintf(stderr, "stardust run: %s did not stop; killing it\n", r->children[i].name);
		kill(r->children[i].pid, SIGKILL);
		waitpid(r->children[i].pid, NULL, 0);
		r->children[i].pid = 0;
	}
}

/* The directory is ours (mkdtemp): files, and the coordinator's job store
 * one level down (jobs/). depth bounds the recursion. */
static void remove_dir(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[RUN_PATH_MAX + 260];
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (depth > 0 && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_dir(path, depth - 1);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Waits for a child to publish a file; reads it into buf. */
static int wait_file(struct run *r, struct child *c, const char *file, char *buf, size_t cap)
{
	char path[RUN_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", r->dir, file);
	for (unsigned waited = 0; waited < RUN_START_WAIT_MS; waited += 20) {
		if (cli_interrupted)
			return -1;
		size_t len;
		char *text = cli_read_file(path, cap - 1, &len);
		if (text && len > 0) {
			snprintf(buf, cap, "%s", text);
			free(text);
			return 0;
		}
		free(text);
		if (!child_alive(c)) {
			fprintf(stderr,
				"stardust run: %s exited during start-up (log: %s/%s.log)\n",
				c->name, r->dir, c->name);
			return -1;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "stardust run: %s did not start in time (log: %s/%s.log)\n", c->name,
		r->dir, c->name);
	return -1;
}

static int start_coordinator(struct run *r, struct cli_ctx *ctx)
{
	char bin[RUN_PATH_MAX], state[RUN_PATH_MAX + 8];
	if (find_binary("stardust-coordinator", bin, sizeof(bin))) {
		fprintf(stderr, "stardust run: stardust-coordinator not found\n");
		return -1;
	}
	snprintf(state, sizeof(state), "%s", r->dir);
	char *argv[] = {bin,           "--listen-http", "127.0.0.1:0",  "--listen-control",
			"127.0.0.1:0", "--state-dir",   state,          "--token",
			r->token,      "--join-token",  r->join_token,  "--netfs",
			r->netfs,      "--netfs-token", r->netfs_token, NULL};
	if (spawn(r, "coordinator", argv))
		return -1;
	char text[512];
	if (wait_file(r, &r->children[r->n_children - 1], "endpoints.json", text, sizeof(text)))
		return -1;
	cJSON *doc = cJSON_Parse(text);
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(doc, "http");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "control");
	bool ok = cJSON_IsString(h) && cJSON_IsString(c);
	if (ok) {
		snprintf(r->http, sizeof(r->http), "http://%s", h->valuestring);
		snprintf(r->control, sizeof(r->control), "%s", c->valuestring);
	}
	cJSON_Delete(doc);
	ctx->coordinator = r->http;
	ctx->token = r->token;
	return ok ? 0 : -1;
}

static int start_netfsd(struct run *r)
{
	char bin[RUN_PATH_MAX];
	if (find_binary("stardust-netfsd", bin, sizeof(bin))) {
		fprintf(stderr, "stardust run: stardust-netfsd not found: the netfs server is not "
				"built yet\n");
		return -1;
	}
	char port_file[RUN_PATH_MAX + 16];
	snprintf(port_file, sizeof(port_file), "%s/netfs.port", r->dir);
	char *argv[] = {bin,
			"--root",
			r->data,
			"--listen",
			"127.0.0.1:0",
			"--region",
			r->regions[0].name,
			"--port-file",
			port_file,
			"--token",
			r->netfs_token,
			NULL};
	if (spawn(r, "netfsd", argv))
		return -1;
	char text[64];
	if (wait_file(r, &r->children[r->n_children - 1], "netfs.port", text, sizeof(text)))
		return -1;
	snprintf(r->netfs, sizeof(r->netfs), "127.0.0.1:%ld", strtol(text, NULL, 10));
	return 0;
}

static int start_nodes(struct run *r)
{
	char bin[RUN_PATH_MAX];
	if (find_binary("stardust-node", bin, sizeof(bin))) {
		fprintf(stderr, "stardust run: stardust-node not found: the hosted node is not "
				"built yet\n");
		return -1;
	}
	unsigned k = 0;
	for (size_t g = 0; g < r->n_regions; g++) {
		for (unsigned i = 0; i < r->regions[g].nodes; i++, k++) {
			char name[96], log[32];
			snprintf(name, sizeof(name), "%s-%u", r->regions[g].name, i + 1);
			snprintf(log, sizeof(log), "node-%u", k);
			char *argv[] = {bin,
					"--coordinator",
					r->control,
					"--join-token",
					r->join_token,
					"--name",
					name,
					"--region",
					r->regions[g].name,
					"--listen-data",
					"127.0.0.1:0",
					NULL};
			if (spawn(r, log, argv))
				return -1;
		}
	}
	return 0;
}

/* Waits until every node has registered. */
static int wait_nodes(struct run *r, const struct cli_ctx *ctx)
{
	for (unsigned waited = 0; waited < RUN_START_WAIT_MS; waited += 100) {
		if (cli_interrupted)
			return -1;
		struct cli_response resp;
		if (cli_request(ctx, "GET", "/v1/overview", NULL, NULL, &resp))
			return -1;
		cJSON *doc = cJSON_Parse(resp.body);
		cJSON *nodes = cJSON_GetObjectItemCaseSensitive(doc, "nodes");
		cJSON *ready = cJSON_GetObjectItemCaseSensitive(nodes, "ready");
		unsigned n = cJSON_IsNumber(ready) ? (unsigned)ready->valuedouble : 0;
		cJSON_Delete(doc);
		cli_response_free(&resp);
		if (n >= r->n_nodes)
			return 0;
		for (size_t i = 0; i < r->n_children; i++)
			if (!child_alive(&r->children[i])) {
				fprintf(stderr, "stardust run: %s exited (log: %s/%s.log)\n",
					r->children[i].name, r->dir, r->children[i].name);
				return -1;
			}
		sleep_ms(100);
	}
	fprintf(stderr, "stardust run: nodes did not register in time (logs in %s)\n", r->dir);
	return -1;
}

static int parse_regions(struct run *r, const char *spec)
{
	r->n_regions = 0;
	r->n_nodes = 0;
	const char *p = spec;
	while (*p) {
		if (r->n_regions == RUN_REGIONS_MAX)
			return -1;
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[96];
		if (len == 0 || len >= sizeof(item))
			return -1;
		memcpy(item, p, len);
		item[len] = '\0';
		char *colon = strchr(item, ':');
		unsigned n = 1;
		if (colon) {
			*colon = '\0';
			char *end;
			long v = strtol(colon + 1, &end, 10);
			if (*end || v < 1 || v > RUN_NODES_MAX)
				return -1;
			n = (unsigned)v;
		}
		size_t il = strlen(item);
		if (il == 0 || il >= sizeof(r->regions[0].name))
			return -1;
		memcpy(r->regions[r->n_regions].name, item, il + 1);
		r->regions[r->n_regions++].nodes = n;
		r->n_nodes += n;
		p += len + (comma ? 1 : 0);
	}
	return r->n_regions && r->n_nodes <= RUN_NODES_MAX ? 0 : -1;
}

static int parse_run_args(struct run *r, int argc, char **argv)
{
	const char *nodes = NULL, *regions = NULL, *data = NULL, *job = NULL;
	for (int i = 0; i < argc; i++) {
		bool v = i + 1 < argc;
		if (!strcmp(argv[i], "--nodes") && v)
			nodes = argv[++i];
		else if (!strcmp(argv[i], "--regions") && v)
			regions = argv[++i];
		else if (!strcmp(argv[i], "--data") && v)
			data = argv[++i];
		else if (!strcmp(argv[i], "--keep"))
			r->keep = true;
		else if (argv[i][0] == '-' || job)
			return -1;
		else
			job = argv[i];
	}
	if (!job || (nodes && regions))
		return -1;
	char spec[96];
	if (!regions) {
		long n = nodes ? strtol(nodes, NULL, 10) : RUN_DEFAULT_NODES;
		if (n < 1 || n > RUN_NODES_MAX)
			return -1;
		snprintf(spec, sizeof(spec), "local:%ld", n);
		regions = spec;
	}
	if (parse_regions(r, regions))
		return -1;
	if (!realpath(job, r->job)) {
		fprintf(stderr, "stardust run: %s: %s\n", job, strerror(errno));
		return -2;
	}
	if (data) {
		if (!realpath(data, r->data)) {
			fprintf(stderr, "stardust run: --data %s: %s\n", data, strerror(errno));
			return -2;
		}
	} else {
		snprintf(r->data, sizeof(r->data), "%s", r->job);
		*strrchr(r->data, '/') = '\0';
	}
	return 0;
}

#ifdef SD_HAVE_NETFS_CLI
struct shown {
	size_t bytes;
	bool cut;
};

static int show_chunk(void *arg, uint64_t offset, const void *data, size_t len)
{
	struct shown *s = arg;
	size_t room = RUN_SHOW_MAX > s->bytes ? RUN_SHOW_MAX - s->bytes : 0;
	fwrite(data, 1, len < room ? len : room, stdout);
	s->cut |= len > room;
	s->bytes += len;
	return 0;
}

/* Prints each sink's output (the first RUN_SHOW_MAX bytes); collect()/print()
 * results are then removed from the file service. */
void cli_print_results(const struct cli_ctx *ctx, const char *netfs, const char *token,
		       const char *id)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s/plan", id);
	struct cli_response resp;
	if (cli_request(ctx, "GET", path, NULL, NULL, &resp))
		return;
	cJSON *doc = cJSON_Parse(resp.body);
	cli_response_free(&resp);
	struct nfs_conn *c = NULL;
	char host[256];
	uint16_t port;
	if (sd_parse_hostport(netfs, host, sizeof(host), &port) < 0) {
		cJSON_Delete(doc);
		return;
	}
	if (nfs_connect(host, port, token, &c)) {
		fprintf(stderr, "stardust: file service %s unreachable: results not shown\n",
			netfs);
		cJSON_Delete(doc);
		return;
	}
	const cJSON *sk;
	cJSON_ArrayForEach(sk, cJSON_GetObjectItemCaseSensitive(
				       cJSON_GetObjectItemCaseSensitive(doc, "plan"), "sinks"))
	{
		const cJSON *out = cJSON_GetObjectItemCaseSensitive(sk, "output");
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(sk, "kind");
		if (!cJSON_IsString(out))
			continue;
		bool result = cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(sk, "path"));
		if (result)
			printf("\n== %s() ==\n",
			       cJSON_IsString(kind) ? kind->valuestring : "result");
		else
			printf("\n== netfs://%s ==\n", out->valuestring);
		struct shown sh = {0};
		if (nfs_read(c, out->valuestring, 0, 0, show_chunk, &sh) == 0 && sh.cut)
			printf("... (%zu bytes in all)\n", sh.bytes);
		if (result) {
			(void)nfs_delete(c, out->valuestring);
			char dir[1200];
			snprintf(dir, sizeof(dir), "%s", out->valuestring);
			char *slash = strrchr(dir, '/');
			if (slash) {
				*slash = '\0';
				(void)nfs_delete(c, dir); /* .stardust/<job>, when empty */
				slash = strrchr(dir, '/');
				if (slash) {
					*slash = '\0';
					(void)nfs_delete(c, dir); /* .stardust, when empty */
				}
			}
		}
	}
	fflush(stdout);
	nfs_close(c);
	cJSON_Delete(doc);
}
#else
void cli_print_results(const struct cli_ctx *ctx, const char *netfs, const char *token,
		       const char *id)
{
	(void)ctx;
	(void)netfs;
	(void)token;
	(void)id;
}
#endif

static int submit_and_wait(struct cli_ctx *ctx, const struct run *r)
{
	size_t len;
	char *text = cli_read_file(r->job, CLI_JOB_FILE_MAX, &len);
	if (!text) {
		fprintf(stderr, "stardust run: cannot read %s\n", r->job);
		return CLI_EXIT_ERROR;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", strrchr(r->job, '/') + 1);
	cJSON_AddStringToObject(o, "text", text);
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(text);
	struct cli_response resp;
	int rc = body ? cli_request(ctx, "POST", "/v1/jobs", body, "application/json", &resp)
		      : CLI_EXIT_ERROR;
	free(body);
	if (rc)
		return rc;
	if (resp.status / 100 != 2) {
		rc = cli_report_error("run", &resp);
		cli_response_free(&resp);
		return rc;
	}
	cJSON *doc = cJSON_Parse(resp.body);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	char idbuf[80] = "";
	if (cJSON_IsString(id))
		snprintf(idbuf, sizeof(idbuf), "%s", id->valuestring);
	cJSON_Delete(doc);
	cli_response_free(&resp);
	if (!idbuf[0])
		return CLI_EXIT_ERROR;
	rc = cli_wait_job(ctx, idbuf, true);
	if (rc == CLI_EXIT_OK && !ctx->json)
		cli_print_results(ctx, r->netfs, r->netfs_token, idbuf);
	if (cli_interrupted) {
		char path[128];
		snprintf(path, sizeof(path), "/v1/jobs/%s", idbuf);
		if (cli_request(ctx, "DELETE", path, NULL, NULL, &resp) == 0)
			cli_response_free(&resp);
	}
	return rc;
}

int cli_run_main(const struct cli_ctx *outer, int argc, char **argv)
{
	struct run *r = calloc(1, sizeof(*r));
	if (!r)
		return CLI_EXIT_ERROR;
	int prc = parse_run_args(r, argc, argv);
	if (prc) {
		free(r);
		if (prc == -2)
			return CLI_EXIT_ERROR;
		fprintf(stderr, "usage: stardust run JOB.sd [--nodes N | --regions R:N,...] "
				"[--data DIR] [--keep]\n");
		return CLI_EXIT_USAGE;
	}
	struct cli_ctx ctx = *outer;
	snprintf(r->dir, sizeof(r->dir), "%s/stardust-run-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(r->dir)) {
		fprintf(stderr, "stardust run: mkdtemp: %s\n", strerror(errno));
		free(r);
		return CLI_EXIT_ERROR;
	}
	random_hex(r->token, 32);
	random_hex(r->join_token, 32);
	random_hex(r->netfs_token, 32);
	int rc = CLI_EXIT_ERROR;
	/* The file service first: the coordinator is told where it is. */
	if (start_netfsd(r) == 0 && start_coordinator(r, &ctx) == 0 && start_nodes(r) == 0 &&
	    wait_nodes(r, &ctx) == 0)
		rc = submit_and_wait(&ctx, r);
	if (cli_interrupted)
		fprintf(stderr, "stardust run: interrupted; stopping the local cluster\n");
	teardown(r);
	if (rc == CLI_EXIT_OK && !r->keep)
		remove_dir(r->dir, 1);
	else
		fprintf(stderr, "stardust run: logs kept in %s\n", r->dir);
	free(r);
	return rc;
}
