/*
 * tests/integration/coordinator/test_coord_daemon.c — the real
 * stardust-coordinator on ephemeral loopback ports, driven by a fake node
 * (proto/wire.h over a socket), a raw HTTP client and the stardust CLI.
 *
 *   test_coord_daemon PATH/stardust-coordinator PATH/stardust PATH/stardust-netfsd
 *
 * Waits are bounded polls (the suite never asserts on timing).
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

#define WAIT_MS_MAX      20000 /* bound on any poll; generous for sanitizer builds */
#define COORD_JOB_ID_BUF 64    /* bound on any poll; generous for sanitizer builds */

static const char *coord_bin, *cli_bin, *netfsd_bin;
static pid_t coord_pid, netfsd_pid;
static int netfs_port;
static char state_dir[256];
static int http_port, ctl_port;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int connect_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {10, 0}; /* a hung read fails the test instead of hanging it */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		c += w;
		n -= (size_t)w;
	}
}

/* ---- the fake node ---- */

static void send_msg(int fd, uint16_t type, const ProtobufCMessage *msg)
{
	uint8_t buf[4096];
	long n = wire_encode(type, msg, NULL, 0, buf, sizeof(buf));
	assert_true(n > 0);
	send_all(fd, buf, (size_t)n);
}

/* Reads the next frame; returns SD_ECLOSED at EOF. */
static int recv_msg(int fd, struct wire_reader *r, struct wire_frame *f)
{
	for (;;) {
		/* (wire_reader_next on a reader that never had a buffer says SD_EINVAL.) */
		int rc = r->buf ? wire_reader_next(r, NULL, f) : SD_EAGAIN;
		if (rc != SD_EAGAIN)
			return rc;
		uint8_t *p;
		size_t n;
		assert_int_equal(wire_reader_space(r, &p, &n), 0);
		ssize_t got = recv(fd, p, n, 0);
		if (got <= 0)
			return SD_ECLOSED;
		wire_reader_commit(r, (size_t)got);
	}
}

static Sd__Control__Label lbl = {PROTOBUF_C_MESSAGE_INIT(&sd__control__label__descriptor), "rack",
				 "r42"};
static Sd__Control__Label *lbls[] = {&lbl};

static Sd__Control__Register reg_msg(const char *name, const char *token, uint32_t version)
{
	Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
	m.protocol_version = version;
	m.name = (char *)name;
	m.region = "eu-west";
	m.zone = "eu-west-b";
	m.n_labels = 1;
	m.labels = lbls;
	m.slots = 3;
	m.data_host = "127.0.0.1";
	m.data_port = 9999;
	m.token = (char *)token;
	m.platform = "hosted";
	return m;
}

/* Registers; returns the ack's accepted flag and copies the reason. */
static bool do_register(int fd, struct wire_reader *r, const Sd__Control__Register *m, char *reason,
			size_t cap, uint32_t *interval_ms)
{
	send_msg(fd, WIRE_CTL_REGISTER, &m->base);
	struct wire_frame f;
	assert_int_equal(recv_msg(fd, r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_CTL_REGISTER_ACK);
	const Sd__Control__RegisterAck *ack = (const Sd__Control__RegisterAck *)f.msg;
	bool ok = ack->accepted;
	snprintf(reason, cap, "%s", ack->reason ? ack->reason : "");
	if (interval_ms)
		*interval_ms = ack->heartbeat_interval_ms;
	wire_frame_release(&f, NULL);
	return ok;
}

/* One heartbeat carrying rtt_us; returns the RTT measured from the ack's echo. */
static uint64_t heartbeat(int fd, struct wire_reader *r, uint64_t seq, uint64_t rtt_us)
{
	Sd__Control__NodeMetrics met = SD__CONTROL__NODE_METRICS__INIT;
	met.mem_used_bytes = 4096 * seq;
	Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
	hb.seq = seq;
	hb.sent_at_us = mono_us();
	hb.metrics = &met;
	hb.rtt_us = rtt_us;
	send_msg(fd, WIRE_CTL_HEARTBEAT, &hb.base);
	struct wire_frame f;
	assert_int_equal(recv_msg(fd, r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_CTL_HEARTBEAT_ACK);
	const Sd__Control__HeartbeatAck *ack = (const Sd__Control__HeartbeatAck *)f.msg;
	assert_int_equal(ack->seq, seq);
	assert_int_equal(ack->echo_sent_at_us, hb.sent_at_us);
	uint64_t rtt = mono_us() - ack->echo_sent_at_us;
	wire_frame_release(&f, NULL);
	return rtt ? rtt : 1;
}

/* ---- HTTP ---- */

struct http_resp {
	int status;
	char head[4096];
	char *body;
};

/* One request on a fresh connection (Connection: close). */
static void http(const char *raw, size_t len, struct http_resp *out)
{
	int fd = connect_port(http_port);
	send_all(fd, raw, len);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;
	while ((got = recv(fd, buf + n, cap - n, 0)) > 0) {
		n += (size_t)got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	close(fd);
	buf[n] = '\0';
	char *sep = strstr(buf, "\r\n\r\n");
	assert_non_null(sep);
	size_t hl = (size_t)(sep - buf);
	assert_true(hl < sizeof(out->head));
	memcpy(out->head, buf, hl);
	out->head[hl] = '\0';
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &out->status), 1);
	out->body = strdup(sep + 4);
	free(buf);
}

static cJSON *http_json(const char *method, const char *path, const char *auth, int *status)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: t\r\n%s%s%sConnection: close\r\n\r\n", method,
			 path, auth ? "Authorization: Bearer " : "", auth ? auth : "",
			 auth ? "\r\n" : "");
	struct http_resp r;
	http(req, (size_t)n, &r);
	*status = r.status;
	assert_non_null(strstr(r.head, "Content-Type: application/json"));
	cJSON *doc = cJSON_Parse(r.body);
	assert_non_null(doc);
	free(r.body);
	return doc;
}

static const cJSON *find_node(const cJSON *doc, const char *name)
{
	const cJSON *n;
	cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(doc, "nodes"))
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(n, "name");
		if (cJSON_IsString(nm) && strcmp(nm->valuestring, name) == 0)
			return n;
	}
	return NULL;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

/* ---- the daemon ---- */

static int start_coordinator(void **state)
{
	snprintf(state_dir, sizeof(state_dir), "/tmp/sd-coord-test-XXXXXX");
	assert_non_null(mkdtemp(state_dir));
	char root[300], port_file[300];
	snprintf(root, sizeof(root), "%s/export", state_dir);
	snprintf(port_file, sizeof(port_file), "%s/netfs.port", state_dir);
	assert_int_equal(mkdir(root, 0700), 0);
	netfsd_pid = fork();
	assert_true(netfsd_pid >= 0);
	if (netfsd_pid == 0) {
		execl(netfsd_bin, netfsd_bin, "--root", root, "--listen", "127.0.0.1:0",
		      "--port-file", port_file, "--token", "NFS-T", "--log-level", "warn",
		      (char *)NULL);
		_exit(127);
	}
	for (unsigned w = 0; w < WAIT_MS_MAX && !netfs_port; w += 20) {
		FILE *pf = fopen(port_file, "r");
		if (pf) {
			if (fscanf(pf, "%d", &netfs_port) != 1)
				netfs_port = 0;
			fclose(pf);
		}
		if (!netfs_port)
			sleep_ms(20);
	}
	assert_true(netfs_port > 0);
	char netfs_addr[64];
	snprintf(netfs_addr, sizeof(netfs_addr), "127.0.0.1:%d", netfs_port);
	coord_pid = fork();
	assert_true(coord_pid >= 0);
	if (coord_pid == 0) {
		execl(coord_bin, coord_bin, "--listen-http", "127.0.0.1:0", "--listen-control",
		      "127.0.0.1:0", "--token", "API-T", "--join-token", "JOIN-J",
		      "--heartbeat-timeout", "1s", "--state-dir", state_dir, "--log-level", "warn",
		      "--netfs", netfs_addr, "--netfs-token", "NFS-T", (char *)NULL);
		_exit(127);
	}
	char path[300];
	snprintf(path, sizeof(path), "%s/endpoints.json", state_dir);
	for (unsigned w = 0; w < WAIT_MS_MAX; w += 20) {
		FILE *f = fopen(path, "r");
		if (f) {
			char line[256] = "";
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
			const char *h = strstr(line, "\"http\":\"127.0.0.1:");
			const char *c = strstr(line, "\"control\":\"127.0.0.1:");
			if (h && c) {
				http_port = atoi(h + 18);
				ctl_port = atoi(c + 21);
				return 0;
			}
		}
		assert_int_equal(waitpid(coord_pid, NULL, WNOHANG), 0);
		sleep_ms(20);
	}
	fail_msg("coordinator did not publish its endpoints");
	return -1;
}

static int stop_coordinator(void **state)
{
	if (coord_pid > 0) {
		kill(coord_pid, SIGTERM);
		int st = 0;
		assert_int_equal(waitpid(coord_pid, &st, 0), coord_pid);
		/* A clean shutdown: exit 0, no sanitizer report. */
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	if (netfsd_pid > 0) {
		kill(netfsd_pid, SIGTERM);
		waitpid(netfsd_pid, NULL, 0);
	}
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Runs the CLI with args; captures stdout; returns its exit status. */
static int run_cli(const char *args, char *out, size_t cap)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", cli_bin, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

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

	/* A second node with the same name while the first lives is refused. */
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
	assert_true(prom_value(&doc, "stardust_node_heartbeats_total", NULL) == 3);
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

static void send_status(int fd, const char *job, uint32_t task, int state, uint64_t out,
			const char *msg, uint64_t sink_bytes)
{
	Sd__Control__TaskCounters c = SD__CONTROL__TASK_COUNTERS__INIT;
	c.records_out = out;
	c.records_in = out / 2;
	Sd__Control__TaskStatus st = SD__CONTROL__TASK_STATUS__INIT;
	st.job_id = (char *)job;
	st.task_id = task;
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
	if (worker == 0)
		worker_main();
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
			assert_string_equal(jstr(fl, "code"), "SD_ELOST");
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
	if (argc != 4) {
		fprintf(stderr, "usage: %s STARDUST_COORDINATOR STARDUST_CLI STARDUST_NETFSD\n",
			argv[0]);
		return 2;
	}
	coord_bin = argv[1];
	cli_bin = argv[2];
	netfsd_bin = argv[3];
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_registers_and_is_listed),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_http_errors_and_auth),
		cmocka_unit_test(test_metrics_parse),
		cmocka_unit_test(test_cli_exit_codes),
		cmocka_unit_test(test_jobs_over_the_wire),
		cmocka_unit_test(test_run_tears_down),
	};
	return cmocka_run_group_tests(tests, start_coordinator, stop_coordinator);
}
