/*
 * coordinator/cli.c — `stardust`: the command-line tool.
 *
 *   stardust [--coordinator URL] [-o json] [--token T] COMMAND ...
 *
 * Global options may come before or after the command. Human tables by
 * default; `-o json` prints exactly the JSON the endpoint served. Exit codes
 * in cli.h and docs/cli.md.
 */
#include "coordinator/cli.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef SD_HAVE_NETFS_CLI
#include "netfs/netfs.h"
#endif
#ifdef SD_HAVE_SIM_CLI
#include "deploy/sim/sim_cli.h"
#endif

#define ARGS_MAX 64 /* command arguments after global options are removed */

volatile int cli_interrupted;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: stardust [--coordinator URL] [-o json] [--token T] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  run JOB.sd [--nodes N] [--regions R:N,...] [--data DIR]\n"
		"                        run a job on a private local cluster, then tear it down\n"
		"  submit JOB.sd [--constraint k=v]... [--prefer k=v:w]... [--name N] [--wait]\n"
		"         [--checkpoint DUR] [--from-savepoint PATH]\n"
		"  list                  jobs, newest first\n"
		"  status ID             a job's state, stages, counters, restarts, checkpoints\n"
		"  cancel ID\n"
		"  checkpoints ID        a job's checkpoint statistics and history\n"
		"  savepoint ID [--stop] take a savepoint, wait for it, print its path\n"
		"                        (--stop: then cancel the job)\n"
		"  plan JOB.sd [--placement] [--constraint k=v]...  explain the plan (and where it "
		"would run)\n"
		"  nodes                 registered nodes, their labels and round-trip times\n"
		"  fs ls|cat|put|get|rm ...    the network file service\n"
		"  sim up|status|down|ctl|exec|env ...  the multi-region QEMU simulation\n"
		"  version\n"
		"\n"
		"options:\n"
		"  --coordinator URL     default $STARDUST_COORDINATOR or " CLI_DEFAULT_COORDINATOR
		"\n"
		"  -o json               print the endpoint's JSON, for scripts\n"
		"  --token T             bearer token for changes (or $STARDUST_TOKEN)\n"
		"\n"
		"examples:\n"
		"  stardust run examples/wordcount.sd --nodes 3\n"
		"  stardust submit job.sd --constraint region=eu-west --wait\n"
		"  stardust submit job.sd --checkpoint 10s --from-savepoint PATH\n"
		"  stardust -o json nodes | jq '.nodes[].name'\n"
		"\n"
		"exit codes: 0 ok, 1 error, 2 usage, 3 coordinator unreachable, 4 not found,\n"
		"            5 job failed or canceled, 6 placement unsatisfiable\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "stardust: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see stardust --help)\n");
	return CLI_EXIT_USAGE;
}

/* GETs path; prints JSON or renders a table. */
static int get_and_show(const struct cli_ctx *ctx, const char *path, const char *what,
			int (*render)(const char *))
{
	struct cli_response r;
	int rc = cli_request(ctx, "GET", path, NULL, NULL, &r);
	if (rc)
		return rc;
	if (r.status / 100 != 2)
		rc = cli_report_error(what, &r);
	else if (ctx->json)
		printf("%s\n", r.body);
	else
		rc = render(r.body);
	cli_response_free(&r);
	return rc;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int cli_wait_job(const struct cli_ctx *ctx, const char *id, bool print_final)
{
	char path[128], line[512];
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	for (;;) {
		if (cli_interrupted) {
			fprintf(stderr,
				"\nstardust: interrupted; job %s keeps running "
				"(stardust cancel %s)\n",
				id, id);
			return CLI_EXIT_ERROR;
		}
		struct cli_response r;
		int rc = cli_request(ctx, "GET", path, NULL, NULL, &r);
		if (rc)
			return rc;
		if (r.status != 200) {
			rc = cli_report_error("status", &r);
			cli_response_free(&r);
			return rc;
		}
		cJSON *doc = cJSON_Parse(r.body);
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "state");
		const char *state = cJSON_IsString(st) ? st->valuestring : "";
		bool done = !strcmp(state, "FINISHED") || !strcmp(state, "FAILED") ||
			    !strcmp(state, "CANCELED");
		int exit_code = !strcmp(state, "FINISHED") ? CLI_EXIT_OK : CLI_EXIT_JOB_FAILED;
		cJSON_Delete(doc);
		if (ctx->tty && !ctx->json) {
			cli_render_progress(r.body, line, sizeof(line));
			fprintf(stderr, "\r\033[K%s%s", line, done ? "\n" : "");
		}
		if (done) {
			if (print_final)
				rc = ctx->json ? (printf("%s\n", r.body), 0)
					       : cli_render_job(r.body);
			cli_response_free(&r);
			return rc ? rc : exit_code;
		}
		cli_response_free(&r);
		sleep_ms(CLI_POLL_MS);
	}
}

/* "5s", "500ms", "2m", "1500us" or plain seconds, as the coordinator's flags
 * take them (coord_parse_duration_us). 0 or -1. */
static int parse_duration_us(const char *text, uint64_t *out)
{
	char *end;
	double v = strtod(text, &end);
	double scale = !strcmp(end, "") || !strcmp(end, "s") ? 1e6
		       : !strcmp(end, "ms")                  ? 1e3
		       : !strcmp(end, "us")                  ? 1
		       : !strcmp(end, "m")                   ? 60e6
							     : -1;
	if (end == text || !(v >= 0 && v <= 1e9) || scale < 0)
		return -1;
	*out = (uint64_t)(v * scale);
	return 0;
}

/* What `submit` sends besides the text; checkpoint_us -1 = the job's own. */
struct submit_opts {
	int64_t checkpoint_us;
	const char *from_savepoint; /* NULL = none */
};

/* Builds {"name","text","constraints","prefer",...}; returns owned JSON text. */
static char *submit_body(const char *name, const char *text, char **cons, size_t n_cons,
			 char **prefs, size_t n_prefs, const struct submit_opts *opt)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "text", text);
	if (opt->checkpoint_us >= 0)
		cJSON_AddNumberToObject(o, "checkpoint_us", (double)opt->checkpoint_us);
	if (opt->from_savepoint)
		cJSON_AddStringToObject(o, "from_savepoint", opt->from_savepoint);
	cJSON *c = cJSON_AddArrayToObject(o, "constraints");
	for (size_t i = 0; i < n_cons; i++)
		cJSON_AddItemToArray(c, cJSON_CreateString(cons[i]));
	cJSON *p = cJSON_AddArrayToObject(o, "prefer");
	for (size_t i = 0; i < n_prefs; i++)
		cJSON_AddItemToArray(p, cJSON_CreateString(prefs[i]));
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* After submit --wait: the outputs, from the file service the coordinator names. */
static void show_results(const struct cli_ctx *ctx, const char *id)
{
	struct cli_response r;
	if (cli_request(ctx, "GET", "/v1/overview", NULL, NULL, &r))
		return;
	cJSON *doc = cJSON_Parse(r.body);
	const cJSON *nfs = cJSON_GetObjectItemCaseSensitive(doc, "netfs");
	if (cJSON_IsString(nfs))
		cli_print_results(ctx, nfs->valuestring, getenv("STARDUST_NETFS_TOKEN"), id);
	cJSON_Delete(doc);
	cli_response_free(&r);
}

static int cmd_submit(const struct cli_ctx *ctx, int argc, char **argv, bool plan_only)
{
	char *cons[ARGS_MAX], *prefs[ARGS_MAX];
	size_t n_cons = 0, n_prefs = 0;
	const char *file = NULL, *name = NULL;
	bool wait = false, placement = false;
	struct submit_opts opt = {.checkpoint_us = -1};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		uint64_t us;
		if (!strcmp(a, "--checkpoint") && has_val && !plan_only) {
			if (parse_duration_us(argv[++i], &us))
				return usage_error("--checkpoint wants a duration (5s, 500ms, 0 = "
						   "none), got \"%s\"",
						   argv[i]);
			opt.checkpoint_us = (int64_t)us;
		} else if (!strcmp(a, "--from-savepoint") && has_val && !plan_only)
			opt.from_savepoint = argv[++i];
		else if (!strcmp(a, "--constraint") && has_val)
			cons[n_cons++] = argv[++i];
		else if (!strcmp(a, "--prefer") && has_val)
			prefs[n_prefs++] = argv[++i];
		else if (!strcmp(a, "--name") && has_val && !plan_only)
			name = argv[++i];
		else if (!strcmp(a, "--wait") && !plan_only)
			wait = true;
		else if (!strcmp(a, "--placement") && plan_only)
			placement = true;
		else if (a[0] == '-')
			return usage_error("unknown option %s", a);
		else if (file)
			return usage_error("one job file at a time (extra: %s)", a);
		else
			file = a;
	}
	for (size_t i = 0; i < n_cons; i++)
		if (!strchr(cons[i], '='))
			return usage_error("--constraint wants k=v, got \"%s\"", cons[i]);
	for (size_t i = 0; i < n_prefs; i++)
		if (!strchr(prefs[i], '=') || !strchr(prefs[i], ':'))
			return usage_error("--prefer wants k=v:weight, got \"%s\"", prefs[i]);
	if (!file)
		return usage_error("%s needs a job file", plan_only ? "plan" : "submit");
	size_t len;
	char *text = cli_read_file(file, CLI_JOB_FILE_MAX, &len);
	if (!text) {
		fprintf(stderr, "stardust: cannot read %s (missing, unreadable or over %u bytes)\n",
			file, CLI_JOB_FILE_MAX);
		return CLI_EXIT_ERROR;
	}
	char *body = submit_body(name ? name : base_name(file), text, cons, n_cons, prefs, n_prefs,
				 &opt);
	free(text);
	if (!body)
		return CLI_EXIT_ERROR;
	struct cli_response r;
	int rc = cli_request(ctx, "POST",
			     plan_only ? (placement ? "/v1/plan?placement=1" : "/v1/plan")
				       : "/v1/jobs",
			     body, "application/json", &r);
	free(body);
	if (rc)
		return rc;
	if (r.status / 100 != 2) {
		rc = cli_report_error(plan_only ? "plan" : "submit", &r);
		cli_response_free(&r);
		return rc;
	}
	cJSON *doc = cJSON_Parse(r.body);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	char idbuf[80] = "";
	if (cJSON_IsString(id))
		snprintf(idbuf, sizeof(idbuf), "%s", id->valuestring);
	if (plan_only) {
		const cJSON *plan = cJSON_GetObjectItemCaseSensitive(doc, "plan");
		const cJSON *explain = cJSON_GetObjectItemCaseSensitive(plan, "explain");
		const cJSON *where = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(plan, "placement"), "explain");
		if (ctx->json || !cJSON_IsString(explain)) {
			printf("%s\n", r.body);
		} else {
			fputs(explain->valuestring, stdout);
			if (cJSON_IsString(where))
				printf("\nplacement:\n%s", where->valuestring);
		}
	} else if (ctx->json && !wait) {
		printf("%s\n", r.body);
	} else if (!ctx->json) {
		printf("submitted job %s\n", idbuf);
	}
	cJSON_Delete(doc);
	cli_response_free(&r);
	if (!wait || !idbuf[0])
		return CLI_EXIT_OK;
	rc = cli_wait_job(ctx, idbuf, true);
	if (rc == CLI_EXIT_OK && !ctx->json)
		show_results(ctx, idbuf);
	return rc;
}

static int cmd_job(const struct cli_ctx *ctx, int argc, char **argv, bool cancel)
{
	if (argc != 1)
		return usage_error("%s needs exactly one job id", cancel ? "cancel" : "status");
	if (!valid_id(argv[0])) {
		fprintf(stderr, "stardust: no such job: %s\n", argv[0]);
		return CLI_EXIT_NOT_FOUND;
	}
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s", argv[0]);
	if (!cancel)
		return get_and_show(ctx, path, "status", cli_render_job);
	struct cli_response r;
	int rc = cli_request(ctx, "DELETE", path, NULL, NULL, &r);
	if (rc)
		return rc;
	if (r.status / 100 != 2)
		rc = cli_report_error("cancel", &r);
	else if (ctx->json)
		printf("%s\n", r.body);
	else
		printf("canceled job %s\n", argv[0]);
	cli_response_free(&r);
	return rc;
}

static int cmd_checkpoints(const struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc != 1)
		return usage_error("%s needs exactly one job id", "checkpoints");
	if (!valid_id(argv[0])) {
		fprintf(stderr, "stardust: no such job: %s\n", argv[0]);
		return CLI_EXIT_NOT_FOUND;
	}
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s/checkpoints", argv[0]);
	return get_and_show(ctx, path, "checkpoints", cli_render_checkpoints);
}

/* GETs path as JSON; NULL (after saying why, *rc an exit code) when it cannot. */
static cJSON *get_json(const struct cli_ctx *ctx, const char *path, const char *what, int *rc)
{
	struct cli_response r;
	*rc = cli_request(ctx, "GET", path, NULL, NULL, &r);
	if (*rc)
		return NULL;
	cJSON *doc = r.status == 200 ? cJSON_Parse(r.body) : NULL;
	if (r.status != 200)
		*rc = cli_report_error(what, &r);
	else if (!doc)
		*rc = CLI_EXIT_ERROR, fprintf(stderr, "stardust: %s: not JSON\n", what);
	cli_response_free(&r);
	return doc;
}

/* Why savepoint n failed: the newest exception since it was triggered. */
static void savepoint_failure(const struct cli_ctx *ctx, const char *job, const cJSON *entry,
			      char *out, size_t cap)
{
	char path[128];
	int rc;
	snprintf(out, cap,
		 "aborted (timed out, or the job failed or restarted; stardust status %s)", job);
	snprintf(path, sizeof(path), "/v1/jobs/%s/exceptions", job);
	cJSON *doc = get_json(ctx, path, "exceptions", &rc);
	const cJSON *trig = cJSON_GetObjectItemCaseSensitive(entry, "trigger_timestamp");
	double since = cJSON_IsNumber(trig) ? trig->valuedouble : 0;
	const cJSON *e, *newest = NULL;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "exceptions"))
	{
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(e, "timestamp_ms");
		if (cJSON_IsNumber(at) && at->valuedouble >= since)
			newest = e;
	}
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(newest, "message");
	if (cJSON_IsString(msg))
		snprintf(out, cap, "%s", msg->valuestring);
	cJSON_Delete(doc);
}

/* The history entry of checkpoint id, or NULL (borrowed from doc). */
static const cJSON *history_entry(const cJSON *doc, double id)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "history"))
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "id");
		if (cJSON_IsNumber(v) && v->valuedouble == id)
			return e;
	}
	return NULL;
}

/* Polls the checkpoint statistics until savepoint id completes or fails. */
static int wait_savepoint(const struct cli_ctx *ctx, const char *job, double id, bool stop)
{
	char path[128], why[512];
	snprintf(path, sizeof(path), "/v1/jobs/%s/checkpoints", job);
	for (unsigned waited = 0; waited <= CLI_SAVEPOINT_WAIT_MS;
	     waited += CLI_SAVEPOINT_POLL_MS) {
		if (cli_interrupted) {
			fprintf(stderr,
				"\nstardust: interrupted; savepoint %.0f of job %s goes on\n", id,
				job);
			return CLI_EXIT_ERROR;
		}
		int rc;
		cJSON *doc = get_json(ctx, path, "checkpoints", &rc);
		if (!doc)
			return rc;
		const cJSON *e = history_entry(doc, id);
		const char *status =
			e ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "status"))
			  : NULL;
		if (status && !strcmp(status, "COMPLETED")) {
			const char *where = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(e, "external_path"));
			if (ctx->json) {
				char *text = cJSON_PrintUnformatted(e);
				printf("%s\n", text ? text : "{}");
				free(text);
			} else {
				printf("%s\n", where ? where : "?");
			}
			fprintf(stderr, "savepoint %.0f of job %s complete%s\n", id, job,
				stop ? "; the job stops" : "");
			cJSON_Delete(doc);
			return CLI_EXIT_OK;
		}
		if (status && !strcmp(status, "FAILED")) {
			savepoint_failure(ctx, job, e, why, sizeof(why));
			fprintf(stderr, "stardust: savepoint %.0f of job %s failed: %s\n", id, job,
				why);
			cJSON_Delete(doc);
			return CLI_EXIT_ERROR;
		}
		cJSON_Delete(doc);
		sleep_ms(CLI_SAVEPOINT_POLL_MS);
	}
	fprintf(stderr,
		"stardust: savepoint %.0f of job %s did not complete within %u s "
		"(stardust checkpoints %s)\n",
		id, job, CLI_SAVEPOINT_WAIT_MS / 1000, job);
	return CLI_EXIT_ERROR;
}

#define CLI_SAVEPOINT_BUSY_TRIES   50     /* POSTs while a checkpoint completes */
#define CLI_SAVEPOINT_BUSY_WAIT_US 100000 /* us between them */

static int cmd_savepoint(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *job = NULL;
	bool stop = false;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--stop"))
			stop = true;
		else if (argv[i][0] == '-')
			return usage_error("unknown option %s", argv[i]);
		else if (job)
			return usage_error("savepoint takes one job id (extra: %s)", argv[i]);
		else
			job = argv[i];
	}
	if (!job)
		return usage_error("%s needs a job id", "savepoint");
	if (!valid_id(job)) {
		fprintf(stderr, "stardust: no such job: %s\n", job);
		return CLI_EXIT_NOT_FOUND;
	}
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s/savepoints", job);
	struct cli_response r;
	int rc;
	/* 409 SD_EBUSY: a checkpoint is being completed just now; a moment later
	 * the savepoint can start (bounded: CLI_SAVEPOINT_BUSY_TRIES). */
	for (int tries = 0;; tries++) {
		rc = cli_request(ctx, "POST", path, stop ? "{\"stop\":true}" : "{}",
				 "application/json", &r);
		if (rc || r.status != 409 || !r.body || !strstr(r.body, "SD_EBUSY") ||
		    tries == CLI_SAVEPOINT_BUSY_TRIES)
			break;
		cli_response_free(&r);
		usleep(CLI_SAVEPOINT_BUSY_WAIT_US);
	}
	if (rc)
		return rc;
	if (r.status / 100 != 2) {
		rc = cli_report_error("savepoint", &r);
		cli_response_free(&r);
		return rc;
	}
	cJSON *doc = cJSON_Parse(r.body);
	cli_response_free(&r);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	double n = cJSON_IsNumber(id) ? id->valuedouble : -1;
	cJSON_Delete(doc);
	if (n < 0) {
		fprintf(stderr, "stardust: savepoint: unexpected answer from the coordinator\n");
		return CLI_EXIT_ERROR;
	}
	if (ctx->tty)
		fprintf(stderr, "savepoint %.0f of job %s triggered; waiting\n", n, job);
	return wait_savepoint(ctx, job, n, stop);
}

static int cmd_fs(int argc, char **argv)
{
#ifdef SD_HAVE_NETFS_CLI
	/* netfs/'s codes (0 ok, 1 usage, 2 not found, 3 error) mapped onto ours. */
	switch (nfs_cli_main(argc, argv)) {
	case 0:
		return CLI_EXIT_OK;
	case 1:
		return CLI_EXIT_USAGE;
	case 2:
		return CLI_EXIT_NOT_FOUND;
	default:
		return CLI_EXIT_ERROR;
	}
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "stardust fs: not available yet: this build has no netfs client "
			"(netfs/)\n");
	return CLI_EXIT_ERROR;
#endif
}

/* `stardust sim ...`: deploy/sim's launcher (replaces this process). */
static int cmd_sim(int argc, char **argv)
{
#ifdef SD_HAVE_SIM_CLI
	return sim_cli_main(argc, argv) ? CLI_EXIT_ERROR : CLI_EXIT_OK;
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "stardust sim: not available: this build has no deploy/sim\n");
	return CLI_EXIT_ERROR;
#endif
}

static void on_signal(int sig)
{
	(void)sig;
	cli_interrupted = 1;
}

/* Removes global options from argv (anywhere), filling ctx. */
static int parse_globals(struct cli_ctx *ctx, int *argc, char **argv)
{
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--coordinator") || !strcmp(a, "--token") || !strcmp(a, "-o")) {
			if (i + 1 >= *argc)
				return usage_error("%s needs a value", a);
			const char *v = argv[++i];
			if (!strcmp(a, "--coordinator"))
				ctx->coordinator = v;
			else if (!strcmp(a, "--token"))
				ctx->token = v;
			else if (!strcmp(v, "json"))
				ctx->json = true;
			else if (strcmp(v, "table") != 0)
				return usage_error("-o wants json or table, got \"%s\"", v);
		} else if (!strncmp(a, "--coordinator=", 14)) {
			ctx->coordinator = a + 14;
		} else if (!strcmp(a, "-ojson") || !strcmp(a, "--output=json")) {
			ctx->json = true;
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

static int dispatch(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *cmd = argv[1];
	int n = argc - 2;
	char **rest = argv + 2;
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf(ctx->json ? "{\"version\":\"%s\"}\n" : "stardust %s\n", CLI_VERSION);
		return CLI_EXIT_OK;
	}
	if (!strcmp(cmd, "fs"))
		return cmd_fs(argc - 1, argv + 1);
	if (!strcmp(cmd, "sim"))
		return cmd_sim(argc - 1, argv + 1);
	if (n > ARGS_MAX)
		return usage_error("too many arguments for %s", cmd);
	if (!strcmp(cmd, "nodes") || !strcmp(cmd, "list")) {
		if (n != 0)
			return usage_error("%s takes no arguments", cmd);
		if (cmd[0] == 'n')
			return get_and_show(ctx, "/v1/nodes", "nodes", cli_render_nodes);
		return get_and_show(ctx, "/v1/jobs", "list", cli_render_jobs);
	}
	if (!strcmp(cmd, "submit"))
		return cmd_submit(ctx, n, rest, false);
	if (!strcmp(cmd, "plan"))
		return cmd_submit(ctx, n, rest, true);
	if (!strcmp(cmd, "status"))
		return cmd_job(ctx, n, rest, false);
	if (!strcmp(cmd, "cancel"))
		return cmd_job(ctx, n, rest, true);
	if (!strcmp(cmd, "run"))
		return cli_run_main(ctx, n, rest);
	if (!strcmp(cmd, "checkpoints"))
		return cmd_checkpoints(ctx, n, rest);
	if (!strcmp(cmd, "savepoint"))
		return cmd_savepoint(ctx, n, rest);
	return usage_error("unknown command \"%s\"", cmd);
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = {
		.coordinator = getenv("STARDUST_COORDINATOR"),
		.token = getenv("STARDUST_TOKEN"),
		.tty = isatty(STDERR_FILENO) != 0,
	};
	if (!ctx.coordinator || !ctx.coordinator[0])
		ctx.coordinator = CLI_DEFAULT_COORDINATOR;
	if (argc >= 2 && !strcmp(argv[1], "fs"))
		return cmd_fs(argc - 1, argv + 1); /* fs parses its own options */
	if (argc >= 2 && !strcmp(argv[1], "sim"))
		return cmd_sim(argc - 1, argv + 1); /* so does sim */
	int rc = parse_globals(&ctx, &argc, argv);
	if (rc)
		return rc;
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = dispatch(&ctx, argc, argv);
	curl_global_cleanup();
	fflush(stdout);
	return rc;
}
