/*
 * tests/integration/coordinator/test_coord_daemon.c — the real
 * stardust-coordinator (coord_harness.h) driven by a fake node, a raw HTTP
 * client and the CLI: registration, refusals, liveness, HTTP errors and
 * auth, /metrics, CLI exit codes. The tests run in order and the metrics
 * test counts what the earlier ones did.
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
#include "tests/unit/coordinator/prom_check.h"

/* ---- the tests ---- */

static void test_node_registers_and_is_listed(void **state)
{
	int fd = connect_port(ctl_port);
	struct wire_reader r;
	wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX);
	char reason[256];
	uint32_t interval = 0;
	Sd__Control__Register m = reg_msg("fake-1", "JOIN-J", WIRE_VERSION);
	assert_true(do_register(fd, &r, &m, reason, sizeof(reason), &interval));
	/* 1 s timeout: the coordinator asks for heartbeats at least 3x per timeout. */
	assert_true(interval > 0 && interval <= 333);
	uint64_t rtt = heartbeat(fd, &r, 1, 0);
	heartbeat(fd, &r, 2, rtt); /* reports what it measured */

	int st;
	cJSON *doc = http_json("GET", "/v1/nodes", NULL, &st);
	assert_int_equal(st, 200);
	const cJSON *n = find_node(doc, "fake-1");
	assert_non_null(n);
	assert_string_equal(jstr(n, "state"), "ready");
	assert_string_equal(jstr(n, "region"), "eu-west");
	assert_string_equal(jstr(n, "zone"), "eu-west-b");
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(n, "labels"), "rack"), "r42");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(n, "slots")->valueint, 3);
	assert_true(cJSON_GetObjectItemCaseSensitive(n, "rtt_us")->valuedouble == (double)rtt);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(n, "heartbeats")->valueint, 2);
	cJSON_Delete(doc);

	/* The CLI shows the same node, as JSON and as a table. */
	char out[65536];
	char args[256];
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d -o json nodes", http_port);
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	doc = cJSON_Parse(out);
	assert_non_null(doc);
	n = find_node(doc, "fake-1");
	assert_non_null(n);
	assert_string_equal(jstr(n, "region"), "eu-west");
	cJSON_Delete(doc);
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d nodes", http_port);
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "fake-1"));
	assert_non_null(strstr(out, "rack=r42"));

	/* A second node with the same name while the first lives is refused.
	 * The CLI runs above may take longer than the 1 s timeout on a loaded
	 * machine (sanitizers): a heartbeat first keeps the first one alive. */
	heartbeat(fd, &r, 3, rtt);
	int fd2 = connect_port(ctl_port);
	struct wire_reader r2;
	wire_reader_init(&r2, WIRE_CONTROL_FRAME_MAX);
	assert_false(do_register(fd2, &r2, &m, reason, sizeof(reason), NULL));
	assert_non_null(strstr(reason, "already registered"));
	struct wire_frame f;
	assert_int_equal(recv_msg(fd2, &r2, &f), SD_ECLOSED);
	wire_reader_fini(&r2);
	close(fd2);

	/* Silence: the node is marked lost once the timeout passes. */
	bool lost = false;
	for (unsigned w = 0; w < WAIT_MS_MAX && !lost; w += 100) {
		sleep_ms(100);
		doc = http_json("GET", "/v1/nodes", NULL, &st);
		lost = strcmp(jstr(find_node(doc, "fake-1"), "state"), "lost") == 0;
		cJSON_Delete(doc);
	}
	assert_true(lost);
	/* ... and ready again when it heartbeats. */
	heartbeat(fd, &r, 3, rtt);
	doc = http_json("GET", "/v1/nodes", NULL, &st);
	assert_string_equal(jstr(find_node(doc, "fake-1"), "state"), "ready");
	cJSON_Delete(doc);
	/* Closing the connection makes it gone. */
	wire_reader_fini(&r);
	close(fd);
	bool gone = false;
	for (unsigned w = 0; w < WAIT_MS_MAX && !gone; w += 20) {
		doc = http_json("GET", "/v1/nodes", NULL, &st);
		gone = strcmp(jstr(find_node(doc, "fake-1"), "state"), "gone") == 0;
		cJSON_Delete(doc);
		if (!gone)
			sleep_ms(20);
	}
	assert_true(gone);
}

static void test_refusals(void **state)
{
	char reason[256];
	struct wire_reader r;
	struct wire_frame f;

	int fd = connect_port(ctl_port);
	wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX);
	Sd__Control__Register m = reg_msg("intruder", "WRONG", WIRE_VERSION);
	assert_false(do_register(fd, &r, &m, reason, sizeof(reason), NULL));
	assert_non_null(strstr(reason, "join token"));
	assert_int_equal(recv_msg(fd, &r, &f), SD_ECLOSED);
	wire_reader_fini(&r);
	close(fd);

	fd = connect_port(ctl_port);
	wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX);
	m = reg_msg("future", "JOIN-J", WIRE_VERSION + 1);
	assert_false(do_register(fd, &r, &m, reason, sizeof(reason), NULL));
	assert_non_null(strstr(reason, "protocol version 2"));
	assert_int_equal(recv_msg(fd, &r, &f), SD_ECLOSED);
	wire_reader_fini(&r);
	close(fd);

	/* A frame of another wire version: Goodbye with the reason, then close. */
	fd = connect_port(ctl_port);
	wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX);
	uint8_t buf[512];
	m = reg_msg("oldframe", "JOIN-J", WIRE_VERSION);
	long n = wire_encode(WIRE_CTL_REGISTER, &m.base, NULL, 0, buf, sizeof(buf));
	assert_true(n > 0);
	buf[2] = WIRE_VERSION + 1;
	send_all(fd, buf, (size_t)n);
	assert_int_equal(recv_msg(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_CTL_GOODBYE);
	assert_non_null(strstr(((Sd__Control__Goodbye *)f.msg)->reason, "version"));
	wire_frame_release(&f, NULL);
	assert_int_equal(recv_msg(fd, &r, &f), SD_ECLOSED);
	wire_reader_fini(&r);
	close(fd);

	/* A heartbeat before Register is a protocol error. */
	fd = connect_port(ctl_port);
	wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX);
	Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
	send_msg(fd, WIRE_CTL_HEARTBEAT, &hb.base);
	assert_int_equal(recv_msg(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_CTL_GOODBYE);
	assert_non_null(strstr(((Sd__Control__Goodbye *)f.msg)->reason, "Register"));
	wire_frame_release(&f, NULL);
	wire_reader_fini(&r);
	close(fd);

	int st;
	cJSON *doc = http_json("GET", "/v1/nodes", NULL, &st);
	assert_null(find_node(doc, "intruder"));
	assert_null(find_node(doc, "future"));
	cJSON_Delete(doc);
}

static void test_http_errors_and_auth(void **state)
{
	struct http_resp r;
	const char *bad = "NOT HTTP AT ALL\r\n\r\n";
	http(bad, strlen(bad), &r);
	assert_int_equal(r.status, 400);
	cJSON *doc = cJSON_Parse(r.body);
	assert_non_null(strstr(jstr(doc, "error"), "malformed HTTP request"));
	cJSON_Delete(doc);
	free(r.body);

	char big[512];
	int n = snprintf(big, sizeof(big),
			 "POST /v1/jobs HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n");
	http(big, (size_t)n, &r);
	assert_int_equal(r.status, 413);
	free(r.body);

	int st;
	doc = http_json("POST", "/v1/jobs", NULL, &st);
	assert_int_equal(st, 401);
	assert_string_equal(jstr(doc, "code"), "SD_EAUTH");
	cJSON_Delete(doc);
	doc = http_json("DELETE", "/v1/jobs/0123456789abcdef0123456789abcdef", "API-T", &st);
	assert_int_equal(st, 404);
	cJSON_Delete(doc);
	doc = http_json("GET", "/v1/jobs/0123456789abcdef0123456789abcdef", NULL, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(doc);
	doc = http_json("GET", "/v1/overview", NULL, &st);
	assert_int_equal(st, 200);
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "jobs")));
	cJSON_Delete(doc);
	doc = http_json("GET", "/v1/jobs", NULL, &st);
	assert_int_equal(st, 200);
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "jobs")));
	cJSON_Delete(doc);

	/* Keep-alive: two requests, one connection, two answers. */
	int fd = connect_port(http_port);
	const char *two = "GET /v1/overview HTTP/1.1\r\nHost: t\r\n\r\n"
			  "GET /v1/nodes HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	send_all(fd, two, strlen(two));
	char buf[65536];
	size_t got = 0;
	ssize_t k;
	while ((k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)k;
	buf[got] = '\0';
	close(fd);
	assert_non_null(strstr(buf, "\"uptime_ms\""));
	assert_non_null(strstr(buf, "{\"nodes\":["));
}

static void test_metrics_parse(void **state)
{
	const char *req = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	struct http_resp r;
	http(req, strlen(req), &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "text/plain; version=0.0.4"));
	struct prom_doc doc;
	char err[256] = "";
	if (prom_parse(r.body, &doc, err, sizeof(err)))
		fail_msg("bad exposition: %s", err);
	/* Earlier tests: fake-1 registered once and was lost once; 3 refusals. */
	assert_true(prom_value(&doc, "stardust_node_registrations_total", NULL) == 1);
	assert_true(prom_value(&doc, "stardust_nodes_lost_total", NULL) == 1);
	assert_true(prom_value(&doc, "stardust_node_registrations_refused_total", NULL) == 3);
	/* fake-1 sent 3 heartbeats; the first test 1 more. */
	assert_true(prom_value(&doc, "stardust_node_heartbeats_total", NULL) == 4);
	assert_true(prom_value(&doc, "stardust_nodes", "state=\"gone\"") == 1);
	prom_free(&doc);
	free(r.body);
}

static void test_cli_exit_codes(void **state)
{
	char out[65536], args[512];
	assert_int_equal(run_cli("--coordinator http://127.0.0.1:1 nodes", out, sizeof(out)), 3);
	assert_int_equal(run_cli("frobnicate", out, sizeof(out)), 2);
	assert_int_equal(run_cli("status", out, sizeof(out)), 2);
	snprintf(args, sizeof(args),
		 "--coordinator http://127.0.0.1:%d status 0123456789abcdef0123456789abcdef",
		 http_port);
	assert_int_equal(run_cli(args, out, sizeof(out)), 4);
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d -o json list", http_port);
	assert_int_equal(run_cli(args, out, sizeof(out)), 0);
	cJSON *doc = cJSON_Parse(out);
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "jobs")));
	cJSON_Delete(doc);
	/* Submitting without the token is refused (exit 1), as is a missing file. */
	char job[300];
	snprintf(job, sizeof(job), "%s/job.sd", state_dir);
	FILE *f = fopen(job, "w");
	assert_non_null(f);
	fputs("read(\"x.txt\").collect()\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d submit %s", http_port, job);
	assert_int_equal(run_cli(args, out, sizeof(out)), 1);
	snprintf(args, sizeof(args), "--coordinator http://127.0.0.1:%d submit %s/none.sd",
		 http_port, state_dir);
	assert_int_equal(run_cli(args, out, sizeof(out)), 1);
	unlink(job);
}

int main(int argc, char **argv)
{
	if (harness_args(argc, argv))
		return 2;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_registers_and_is_listed),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_http_errors_and_auth),
		cmocka_unit_test(test_metrics_parse),
		cmocka_unit_test(test_cli_exit_codes),
	};
	return cmocka_run_group_tests(tests, start_coordinator, stop_coordinator);
}
