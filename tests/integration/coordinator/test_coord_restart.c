/*
 * tests/integration/coordinator/test_coord_restart.c — a coordinator that
 * restarts keeps its jobs (--state-dir): a job running on a fake worker when
 * the coordinator stops comes back RESTARTING under its id and redeploys as
 * its next attempt once a worker registers with the new coordinator; the
 * CLI shows the restart (status), the checkpoint statistics (checkpoints)
 * and refuses a savepoint of a job without checkpoints (savepoint).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
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
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <cmocka.h>
#include "base/err.h"
#include "proto/wire.h"

#include "tests/integration/coordinator/coord_harness.h"

/* A worker that starts every task it is given and keeps it running; it
 * heartbeats every 100 ms and exits when the coordinator goes away. */
static void worker_main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ctl_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(2);
	Sd__Control__Register m = reg_msg("worker-1", "JOIN-J", WIRE_VERSION);
	uint8_t buf[4096];
	long n = wire_encode(WIRE_CTL_REGISTER, &m.base, NULL, 0, buf, sizeof(buf));
	send(fd, buf, (size_t)n, MSG_NOSIGNAL);
	struct wire_reader r;
	wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX);
	for (uint64_t seq = 1;; seq++) {
		Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
		hb.seq = seq;
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
			_exit(0);
		wire_reader_commit(&r, (size_t)got);
		struct wire_frame f;
		while (wire_reader_next(&r, NULL, &f) == 0) {
			if (f.hdr.type == WIRE_CTL_DEPLOY) {
				const Sd__Control__Deploy *d = (const Sd__Control__Deploy *)f.msg;
				Sd__Control__TaskStatus st = SD__CONTROL__TASK_STATUS__INIT;
				st.job_id = d->job_id;
				st.task_id = d->task_id;
				st.attempt = d->attempt;
				st.state = SD__CONTROL__TASK_STATE__TASK_RUNNING;
				uint8_t out[1024];
				long k = wire_encode(WIRE_CTL_TASK_STATUS, &st.base, NULL, 0, out,
						     sizeof(out));
				if (k <= 0 || send(fd, out, (size_t)k, MSG_NOSIGNAL) != k)
					_exit(3);
			}
			wire_frame_release(&f, NULL);
		}
	}
}

static pid_t start_worker(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		worker_main();
	}
	return pid;
}

/* Polls the job until it is in state with that attempt; returns the document. */
static cJSON *wait_job(const char *id, const char *state, int attempt)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	for (unsigned w = 0; w < WAIT_MS_MAX; w += 50) {
		int st;
		cJSON *doc = http_json("GET", path, NULL, &st);
		assert_int_equal(st, 200);
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, "attempt");
		if (!strcmp(jstr(doc, "state"), state) && cJSON_IsNumber(a) &&
		    a->valueint == attempt)
			return doc;
		cJSON_Delete(doc);
		sleep_ms(50);
	}
	fail_msg("job %s did not reach %s (attempt %d)", id, state, attempt);
	return NULL;
}

static void test_jobs_survive_a_coordinator_restart(void **state)
{
	pid_t worker = start_worker();
	char job[300], args[768], out[1 << 16];
	snprintf(job, sizeof(job), "%s/gen.sd", state_dir);
	FILE *f = fopen(job, "w");
	assert_non_null(f);
	fputs("generate(100).map(x -> x * 2).collect()\n", f);
	fclose(f);
	/* Submitted once the worker is there (placement needs a node). */
	int rc = 1;
	for (unsigned w = 0; w < WAIT_MS_MAX && rc; w += 50) {
		snprintf(args, sizeof(args),
			 "--coordinator http://127.0.0.1:%d --token API-T -o json submit %s",
			 http_port, job);
		rc = run_cli(args, out, sizeof(out));
		if (rc)
			sleep_ms(50);
	}
	assert_int_equal(rc, 0);
	cJSON *doc = cJSON_Parse(out);
	char id[COORD_JOB_ID_BUF];
	snprintf(id, sizeof(id), "%s", jstr(doc, "id"));
	cJSON_Delete(doc);
	cJSON_Delete(wait_job(id, "RUNNING", 0));

	assert_int_equal(restart_coordinator(), 0);
	int st;
	assert_int_equal(waitpid(worker, &st, 0), worker); /* it saw the old one go */
	/* Back under its id, RESTARTING, with why in its exceptions. */
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	doc = http_json("GET", path, NULL, &st);
	assert_int_equal(st, 200);
	assert_string_equal(jstr(doc, "state"), "RESTARTING");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "restarts")->valueint, 1);
	cJSON_Delete(doc);
	snprintf(path, sizeof(path), "/v1/jobs/%s/exceptions", id);
	doc = http_json("GET", path, NULL, &st);
	const cJSON *e = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(doc, "exceptions"),
		cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "exceptions")) - 1);
	assert_non_null(strstr(jstr(e, "message"), "coordinator restarted"));
	cJSON_Delete(doc);

	/* A worker registers with the new coordinator: the job runs again, attempt 1. */
	worker = start_worker();
	cJSON_Delete(wait_job(id, "RUNNING", 1));
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d status %s", http_port, id);
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "attempt 1 (1 restart)"));
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d checkpoints %s", http_port,
		 id);
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "checkpoints: 0 completed"));
	assert_non_null(strstr(out, "strategy fixed"));
	/* A bounded job never checkpoints: no savepoint (409, exit 1). */
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d --token API-T savepoint %s",
		 http_port, id);
	assert_int_equal(run_cli(args, out, sizeof(out)), 1);
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d savepoint %s", http_port,
		 id);
	assert_int_equal(run_cli(args, out, sizeof(out)), 1); /* no token */
	snprintf(args, sizeof(args),
		 "--coordinator http://127.0.0.1:%d --token API-T savepoint "
		 "0123456789abcdef0123456789abcdef",
		 http_port);
	assert_int_equal(run_cli(args, out, sizeof(out)), 4);
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d --token API-T cancel %s",
		 http_port, id);
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	kill(worker, SIGTERM);
	waitpid(worker, NULL, 0);
}

int main(int argc, char **argv)
{
	if (harness_args(argc, argv))
		return 2;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_survive_a_coordinator_restart),
	};
	return cmocka_run_group_tests(tests, start_coordinator, stop_coordinator);
}
