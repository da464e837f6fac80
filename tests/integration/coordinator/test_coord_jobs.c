/*
 * tests/integration/coordinator/test_coord_jobs.c — jobs over the wire: a
 * fake worker (a child process) runs jobs by the book through the real
 * coordinator and netfsd (coord_harness.h) — finish with a committed
 * collect() result, fail, cancel, vanish — driven through the CLI; and
 * `stardust run` leaves no process behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <cmocka.h>
#include "base/err.h"
#include "netfs/netfs.h"
#include "proto/wire.h"
#include "tests/unit/coordinator/prom_check.h"

#include "tests/integration/coordinator/coord_harness.h"

/* ---- a fake worker that runs jobs by the book (in a child process) ---- */

/* Job 1: every task RUNNING then FINISHED with records_out = 10 * (task + 1).
 * Job 2: task 0 FAILED "disk on fire". Job 3: tasks stay RUNNING until canceled. */
struct part {
	struct nfs_conn *conn;
	uint64_t handle;
	char job[COORD_JOB_ID_BUF];
};

/* Writes "task <id>\n" to the task's sink part (temporary until commit). */
static size_t write_part(const Sd__Control__Deploy *d, struct part *p)
{
	char host[64];
	const char *colon = d->sink ? strrchr(d->sink->server, ':') : NULL;
	if (!colon || (size_t)(colon - d->sink->server) >= sizeof(host))
		_exit(6);
	memcpy(host, d->sink->server, (size_t)(colon - d->sink->server));
	host[colon - d->sink->server] = '\0';
	char part_name[1200]; /* as the coordinator's contract names it */
	snprintf(part_name, sizeof(part_name), "%s.%s.part-%05u", d->sink->path, d->job_id,
		 d->partition);
	if (nfs_connect(host, (uint16_t)atoi(colon + 1), d->netfs_token, &p->conn) ||
	    nfs_create(p->conn, part_name, true, &p->handle))
		_exit(7);
	char line[32];
	int n = snprintf(line, sizeof(line), "task %u\n", d->task_id);
	if (nfs_write(p->conn, p->handle, 0, line, (size_t)n))
		_exit(8);
	snprintf(p->job, sizeof(p->job), "%s", d->job_id);
	return (size_t)n;
}

static uint32_t deploy_attempt; /* of the latest Deploy (the coordinator restarts jobs) */

static void send_status(int fd, const char *job, uint32_t task, int state, uint64_t out,
			const char *msg, uint64_t sink_bytes)
{
	Sd__Control__TaskCounters c = SD__CONTROL__TASK_COUNTERS__INIT;
	c.records_out = out;
	c.records_in = out / 2;
	Sd__Control__TaskStatus st = SD__CONTROL__TASK_STATUS__INIT;
	st.job_id = (char *)job;
	st.task_id = task;
	st.attempt = deploy_attempt; /* a task reports the attempt it was deployed as */
	st.state = (Sd__Control__TaskState)state;
	st.counters = &c;
	st.sink_bytes = sink_bytes;
	if (msg) {
		st.error_code = SD_EIO;
		st.error_message = (char *)msg;
	}
	uint8_t buf[1024];
	long n = wire_encode(WIRE_CTL_TASK_STATUS, &st.base, NULL, 0, buf, sizeof(buf));
	if (n <= 0 || send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
		_exit(3);
}

static void worker_main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ctl_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(2);
	Sd__Control__Register m = reg_msg("worker-1", "JOIN-J", WIRE_VERSION);
	m.region = "us-east";
	uint8_t buf[4096];
	long n = wire_encode(WIRE_CTL_REGISTER, &m.base, NULL, 0, buf, sizeof(buf));
	send(fd, buf, (size_t)n, MSG_NOSIGNAL);
	struct wire_reader r;
	wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX);
	char jobs[3][COORD_JOB_ID_BUF];
	int n_jobs = 0, n_parts = 0;
	struct part parts[8];
	uint64_t seq = 0;
	for (;;) {
		Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
		hb.seq = ++seq;
		n = wire_encode(WIRE_CTL_HEARTBEAT, &hb.base, NULL, 0, buf, sizeof(buf));
		send(fd, buf, (size_t)n, MSG_NOSIGNAL);
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		uint8_t *p;
		size_t avail;
		if (wire_reader_space(&r, &p, &avail))
			_exit(4);
		ssize_t got = recv(fd, p, avail, 0);
		if (got <= 0)
			_exit(0); /* the coordinator went away: done */
		wire_reader_commit(&r, (size_t)got);
		struct wire_frame f;
		while (wire_reader_next(&r, NULL, &f) == 0) {
			if (f.hdr.type == WIRE_CTL_DEPLOY) {
				const Sd__Control__Deploy *d = (const Sd__Control__Deploy *)f.msg;
				int k = 0;
				while (k < n_jobs && strcmp(jobs[k], d->job_id))
					k++;
				if (k == n_jobs && n_jobs < 3)
					snprintf(jobs[n_jobs++], sizeof(jobs[0]), "%s", d->job_id);
				if (d->plan.len == 0)
					_exit(5); /* a real plan travels with every Deploy */
				deploy_attempt = d->attempt;
				send_status(fd, d->job_id, d->task_id,
					    SD__CONTROL__TASK_STATE__TASK_RUNNING, 0, NULL, 0);
				if (k == 0 && n_parts < 8) {
					size_t bytes = write_part(d, &parts[n_parts++]);
					send_status(fd, d->job_id, d->task_id,
						    SD__CONTROL__TASK_STATE__TASK_FINISHED,
						    10 * (d->task_id + 1), NULL, bytes);
				} else if (k == 1 && d->task_id == 0)
					send_status(fd, d->job_id, 0,
						    SD__CONTROL__TASK_STATE__TASK_FAILED, 0,
						    "disk on fire", 0);
			}
			if (f.hdr.type == WIRE_CTL_JOB_DONE) {
				const Sd__Control__JobDone *jd =
					(const Sd__Control__JobDone *)f.msg;
				for (int i = 0; i < n_parts; i++) {
					if (!parts[i].conn || strcmp(parts[i].job, jd->job_id))
						continue;
					if (jd->succeeded
						    ? nfs_commit(parts[i].conn, parts[i].handle)
						    : nfs_abort(parts[i].conn, parts[i].handle))
						_exit(9);
					nfs_close(parts[i].conn);
					parts[i].conn = NULL;
				}
			}
			wire_frame_release(&f, NULL);
		}
	}
}

static int append_data(void *arg, uint64_t off, const void *data, size_t len)
{
	char *buf = arg;
	size_t have = strlen(buf);
	if (have + len >= 256)
		return SD_ETOOBIG;
	memcpy(buf + have, data, len);
	buf[have + len] = '\0';
	return 0;
}

static void read_netfs(const char *path, char *out, size_t cap)
{
	struct nfs_conn *c;
	assert_true(cap >= 256);
	out[0] = '\0';
	assert_int_equal(nfs_connect("127.0.0.1", (uint16_t)netfs_port, "NFS-T", &c), 0);
	assert_int_equal(nfs_read(c, path, 0, 0, append_data, out), 0);
	nfs_close(c);
}

static int count_entry(void *arg, const struct nfs_entry *e)
{
	*(size_t *)arg += !e->is_dir;
	return 0;
}

static const char *job_text = "generate(100).map(x -> x * 2).collect()\n";

static void write_job(char *path, size_t cap)
{
	snprintf(path, cap, "%s/gen.sd", state_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(job_text, f);
	fclose(f);
}

static void test_jobs_over_the_wire(void **state)
{
	pid_t worker = fork();
	assert_true(worker >= 0);
	if (worker == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		worker_main();
	}
	/* Wait for the worker to be ready. */
	bool ready = false;
	int st;
	for (unsigned w = 0; w < WAIT_MS_MAX && !ready; w += 20) {
		cJSON *doc = http_json("GET", "/v1/nodes", NULL, &st);
		const cJSON *n = find_node(doc, "worker-1");
		ready = n && strcmp(jstr(n, "state"), "ready") == 0;
		cJSON_Delete(doc);
		if (!ready)
			sleep_ms(20);
	}
	assert_true(ready);
	char job[300], args[768], out[1 << 16];
	write_job(job, sizeof(job));
	const char *base = "--coordinator http://127.0.0.1:%d --token API-T -o json submit %s %s";

	/* 1: runs to FINISHED; the CLI waits and exits 0 with the final JSON. */
	snprintf(args, sizeof(args), base, http_port, job, "--wait");
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	cJSON *doc = cJSON_Parse(out);
	assert_non_null(doc);
	assert_string_equal(jstr(doc, "state"), "FINISHED");
	const cJSON *v;
	size_t tasks = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "vertices"))
	{
		double sum = 0;
		const cJSON *t;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(v, "tasks"))
		{
			int id = cJSON_GetObjectItemCaseSensitive(t, "task_id")->valueint;
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(t, "metrics");
			assert_true(
				cJSON_GetObjectItemCaseSensitive(m, "records_out")->valuedouble ==
				10.0 * (id + 1));
			assert_string_equal(jstr(t, "node"), "worker-1");
			assert_string_equal(jstr(t, "region"), "us-east");
			sum += 10.0 * (id + 1);
			tasks++;
		}
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "metrics");
		assert_true(cJSON_GetObjectItemCaseSensitive(m, "records_out")->valuedouble == sum);
	}
	assert_true(tasks > 0);
	/* The collect() result: the parts committed by the worker, assembled by the
	 * coordinator in partition order, and the parts gone. */
	char plan_path[128];
	snprintf(plan_path, sizeof(plan_path), "/v1/jobs/%s/plan", jstr(doc, "id"));
	cJSON_Delete(doc);
	doc = http_json("GET", plan_path, NULL, &st);
	const cJSON *sink0 =
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
					   cJSON_GetObjectItemCaseSensitive(doc, "plan"), "sinks"),
				   0);
	char want[256] = "";
	for (size_t t = 0; t < tasks; t++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "task %zu\n", t);
	char result[256];
	read_netfs(jstr(sink0, "output"), result, sizeof(result));
	assert_string_equal(result, want);
	struct nfs_conn *nc;
	assert_int_equal(nfs_connect("127.0.0.1", (uint16_t)netfs_port, "NFS-T", &nc), 0);
	bool trunc;
	size_t left = 0;
	assert_int_equal(nfs_list(nc, ".stardust/*/*", count_entry, &left, &trunc), 0);
	assert_int_equal(left, 1); /* only the result, no parts */
	nfs_close(nc);
	cJSON_Delete(doc);

	/* 2: a task fails: exit 5, and the root cause names the task's error. */
	snprintf(args, sizeof(args), base, http_port, job, "--wait");
	assert_int_equal(run_cli(args, out, sizeof(out)), 5);
	doc = cJSON_Parse(out);
	assert_string_equal(jstr(doc, "state"), "FAILED");
	const cJSON *fail = cJSON_GetObjectItemCaseSensitive(doc, "failure");
	assert_non_null(strstr(jstr(fail, "message"), "disk on fire"));
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s/exceptions", jstr(doc, "id"));
	cJSON_Delete(doc);
	doc = http_json("GET", path, NULL, &st);
	assert_int_equal(st, 200);
	const cJSON *root = cJSON_GetObjectItemCaseSensitive(doc, "root_exception");
	assert_string_equal(jstr(root, "code"), "SD_EIO");
	assert_string_equal(jstr(root, "node"), "worker-1");
	cJSON_Delete(doc);

	/* 3: stays running; cancel through the CLI. */
	snprintf(args, sizeof(args), base, http_port, job, "");
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	doc = cJSON_Parse(out);
	char id[80];
	snprintf(id, sizeof(id), "%s", jstr(doc, "id"));
	cJSON_Delete(doc);
	bool running = false;
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	for (unsigned w = 0; w < WAIT_MS_MAX && !running; w += 20) {
		doc = http_json("GET", path, NULL, &st);
		running = strcmp(jstr(doc, "state"), "RUNNING") == 0;
		cJSON_Delete(doc);
		if (!running)
			sleep_ms(20);
	}
	assert_true(running);
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d --token API-T cancel %s",
		 http_port, id);
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	doc = http_json("GET", path, NULL, &st);
	assert_string_equal(jstr(doc, "state"), "CANCELED");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "timestamps"), "CANCELED")));
	cJSON_Delete(doc);
	/* Canceling again: the job already ended (exit 1, not "not found"). */
	assert_int_equal(run_cli(args, out, sizeof(out)), 1);

	/* Placement that cannot be met: exit 6. */
	snprintf(args, sizeof(args), base, http_port, job, "--constraint region=mars");
	assert_int_equal(run_cli(args, out, sizeof(out)), 6);
	/* A job that does not compile: exit 1 (the compiler's message on stderr). */
	FILE *f = fopen(job, "w");
	fputs("generate(\n", f);
	fclose(f);
	snprintf(args, sizeof(args), base, http_port, job, "");
	assert_int_equal(run_cli(args, out, sizeof(out)), 1);
	unlink(job);

	/* A node vanishing mid-job: the job fails with SD_ELOST naming the node. */
	write_job(job, sizeof(job));
	snprintf(args, sizeof(args), base, http_port, job, "");
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	doc = cJSON_Parse(out);
	snprintf(path, sizeof(path), "/v1/jobs/%s", jstr(doc, "id"));
	cJSON_Delete(doc);
	running = false;
	for (unsigned w = 0; w < WAIT_MS_MAX && !running; w += 20) {
		doc = http_json("GET", path, NULL, &st);
		running = strcmp(jstr(doc, "state"), "RUNNING") == 0;
		cJSON_Delete(doc);
		if (!running)
			sleep_ms(20);
	}
	assert_true(running);
	kill(worker, SIGKILL);
	waitpid(worker, NULL, 0);
	bool failed = false;
	for (unsigned w = 0; w < WAIT_MS_MAX && !failed; w += 20) {
		doc = http_json("GET", path, NULL, &st);
		failed = strcmp(jstr(doc, "state"), "FAILED") == 0;
		if (failed) {
			const cJSON *fl = cJSON_GetObjectItemCaseSensitive(doc, "failure");
			/* No node left to restart on: the placement's reason, naming
			 * what made the job restart. */
			assert_string_equal(jstr(fl, "code"), "SD_EINFEASIBLE");
			assert_non_null(strstr(jstr(fl, "message"), "worker-1"));
		}
		cJSON_Delete(doc);
		if (!failed)
			sleep_ms(20);
	}
	assert_true(failed);
	unlink(job);
}

/* Finds the run directory `stardust run --keep` left under dir; returns the
 * coordinator's pid from its endpoints.json, or 0 when there is none. */
static pid_t run_dir_coordinator(const char *dir, char *run_dir, size_t cap)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	pid_t pid = 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "stardust-run-", 13) != 0)
			continue;
		snprintf(run_dir, cap, "%s/%s", dir, e->d_name);
		char path[600], line[256] = "";
		snprintf(path, sizeof(path), "%s/endpoints.json", run_dir);
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		const char *p = strstr(line, "\"pid\":");
		if (p)
			pid = (pid_t)atoi(p + 6);
	}
	closedir(d);
	return pid;
}

static void remove_run_dir(const char *run_dir)
{
	DIR *d = opendir(run_dir);
	if (!d)
		return;
	struct dirent *e;
	char path[700];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", run_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(run_dir);
}

/* `stardust run` interrupted (or failing) leaves no process behind. */
static void test_run_tears_down(void **state)
{
	char tmp[300], job[400], run_dir[600] = "";
	snprintf(tmp, sizeof(tmp), "%s/runs", state_dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	snprintf(job, sizeof(job), "%s/gen.sd", tmp);
	FILE *f = fopen(job, "w");
	fputs(job_text, f);
	fclose(f);
	pid_t cli = fork();
	assert_true(cli >= 0);
	if (cli == 0) {
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
		setenv("TMPDIR", tmp, 1);
		execl(cli_bin, cli_bin, "run", job, "--nodes", "2", "--keep", (char *)NULL);
		_exit(127);
	}
	/* Interrupt it once its coordinator is up (or let it end by itself). */
	pid_t coord = 0;
	for (unsigned w = 0; w < WAIT_MS_MAX && !coord; w += 20) {
		coord = run_dir_coordinator(tmp, run_dir, sizeof(run_dir));
		if (waitpid(cli, NULL, WNOHANG) == cli) {
			cli = 0;
			break;
		}
		sleep_ms(20);
	}
	if (cli) {
		kill(cli, SIGINT);
		int st;
		assert_int_equal(waitpid(cli, &st, 0), cli);
		assert_true(WIFEXITED(st)); /* it handled SIGINT and tore down */
	}
	coord = run_dir_coordinator(tmp, run_dir, sizeof(run_dir));
	assert_true(coord > 0);
	/* The coordinator it started is gone (not even a zombie: it was reaped). */
	assert_int_equal(kill(coord, 0), -1);
	assert_int_equal(errno, ESRCH);
	remove_run_dir(run_dir);
	unlink(job);
	rmdir(tmp);
}

int main(int argc, char **argv)
{
	if (harness_args(argc, argv))
		return 2;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_over_the_wire),
		cmocka_unit_test(test_run_tears_down),
	};
	return cmocka_run_group_tests(tests, start_coordinator, stop_coordinator);
}
