/*
 * tests/integration/coordinator/test_coord_limits_http.c — what slow and
 * broken HTTP clients can hold (issue 15): HTTP/0.9 and HTTP/9.9 requests
 * are refused; slowloris connections (a request head that never ends, one
 * header line at a time) are closed at the head deadline however often they
 * send, at most COORD_HTTP_CONNS_PER_IP_MAX stay open per address, and
 * neither they nor a flood past COORD_HTTP_CONNS_MAX keep a normal GET out;
 * a connection that only sends blank lines between requests is closed when
 * idle. The daemon runs with --http-head-timeout 2s --http-idle-timeout 3s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "coordinator/coord.h"
#include "tests/integration/coordinator/coord_harness.h"

#define SLOW_CONNS  200u /* slowloris connections from one address */
#define FLOOD_ADDRS 17u  /* addresses x COORD_HTTP_CONNS_PER_IP_MAX > COORD_HTTP_CONNS_MAX */
#define TRICKLE_MS  250u /* between header lines */
#define SLOW_HEAD   "GET /v1/overview HTTP/1.1\r\nHost: t\r\n"
#define SLOW_LINE   "X-Slow: 1\r\n"

static const char *const daemon_flags[] = {"--http-head-timeout", "2s", "--http-idle-timeout", "3s",
					   NULL};

static void expect_status(const char *raw, int status)
{
	struct http_resp r;
	http(raw, strlen(raw), &r);
	if (r.status != status)
		fail_msg("%d, not %d, for \"%s\"", r.status, status, raw);
	cJSON *doc = cJSON_Parse(r.body);
	assert_non_null(doc);
	free(r.body);
	cJSON_Delete(doc);
}

static void test_versions(void **state)
{
	/* A bare request line: HTTP/0.9 would answer without status or headers. */
	expect_status("GET /\r\n", 400);
	expect_status("GET /v1/overview\r\n\r\n", 400);
	expect_status("GET /v1/overview HTTP/0.9\r\nHost: t\r\n\r\n", 400);
	expect_status("GET /v1/overview HTTP/9.9\r\nHost: t\r\n\r\n", 505);
	expect_status("GET /v1/overview HTTP/2.0\r\nHost: t\r\n\r\n", 505);
	expect_status("GET /v1/overview HTTP/1.0\r\n\r\n", 200);
	expect_status("GET /v1/overview HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 200);
}

/* Sends one more header line on every connection still open; how many are. */
static unsigned trickle(const int *fds, unsigned n)
{
	unsigned open_now = 0;
	for (unsigned i = 0; i < n; i++) {
		if (peer_closed(fds[i]))
			continue;
		open_now++;
		(void)send(fds[i], SLOW_LINE, strlen(SLOW_LINE), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	return open_now;
}

static unsigned open_slow(int *fds, unsigned n, const char *ip)
{
	for (unsigned i = 0; i < n; i++) {
		fds[i] = connect_port_from(ip, http_port);
		send_all(fds[i], SLOW_HEAD, strlen(SLOW_HEAD));
	}
	return n;
}

/* Keeps trickling until the head deadline closed every connection. */
static void expect_all_closed(const int *fds, unsigned n)
{
	unsigned open_now = n;
	for (unsigned w = 0; w < WAIT_MS_MAX && open_now; w += TRICKLE_MS) {
		open_now = trickle(fds, n);
		sleep_ms(TRICKLE_MS);
	}
	print_message("%u of %u slow connections open at the end of the wait\n", open_now, n);
	assert_int_equal(open_now, 0);
}

static void overview_answers(void)
{
	int st;
	cJSON *doc = http_json("GET", "/v1/overview", NULL, &st);
	assert_int_equal(st, 200);
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "jobs")));
	cJSON_Delete(doc);
}

static void test_slowloris_one_address(void **state)
{
	static int fds[SLOW_CONNS];
	open_slow(fds, SLOW_CONNS, "127.0.0.2");
	/* From another address, while they trickle: answered. Its accept follows
	 * theirs, so the address cap has been applied by then. */
	overview_answers();
	unsigned open_now = trickle(fds, SLOW_CONNS);
	print_message("%u of %u slow connections from one address open\n", open_now, SLOW_CONNS);
	assert_true(open_now <= COORD_HTTP_CONNS_PER_IP_MAX);
	expect_all_closed(fds, SLOW_CONNS);
	for (unsigned i = 0; i < SLOW_CONNS; i++)
		close(fds[i]);
}

static void test_slowloris_past_server_cap(void **state)
{
	static int fds[FLOOD_ADDRS * COORD_HTTP_CONNS_PER_IP_MAX];
	unsigned n = 0;
	for (unsigned a = 0; a < FLOOD_ADDRS; a++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "127.0.1.%u", a + 1);
		n += open_slow(fds + n, COORD_HTTP_CONNS_PER_IP_MAX, ip);
	}
	assert_true(n > COORD_HTTP_CONNS_MAX);
	/* Every connection slot is taken by a slow client: the oldest makes room. */
	overview_answers();
	assert_true(trickle(fds, n) <= COORD_HTTP_CONNS_MAX);
	expect_all_closed(fds, n);
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	overview_answers();
}

/* Reads one response with its Content-Length body from fd. */
static void read_response(int fd, int status)
{
	char buf[65536];
	size_t got = 0;
	char *sep = NULL;
	while (!sep) {
		ssize_t k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		assert_true(k > 0);
		got += (size_t)k;
		buf[got] = '\0';
		sep = strstr(buf, "\r\n\r\n");
	}
	int st = 0;
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &st), 1);
	assert_int_equal(st, status);
	const char *cl = strstr(buf, "Content-Length: ");
	assert_non_null(cl);
	size_t want = (size_t)(sep + 4 - buf) + strtoul(cl + 16, NULL, 10);
	assert_true(want < sizeof(buf));
	while (got < want) {
		ssize_t k = recv(fd, buf + got, want - got, 0);
		assert_true(k > 0);
		got += (size_t)k;
	}
}

static void test_idle_blank_lines(void **state)
{
	int fd = connect_port(http_port);
	const char *req = "GET /v1/overview HTTP/1.1\r\nHost: t\r\n\r\n";
	send_all(fd, req, strlen(req));
	read_response(fd, 200);
	/* Blank lines before a request are skipped: they do not make it busy. */
	bool closed = false;
	for (unsigned w = 0; w < WAIT_MS_MAX && !closed; w += TRICKLE_MS) {
		(void)send(fd, "\r\n", 2, MSG_NOSIGNAL);
		sleep_ms(TRICKLE_MS);
		closed = peer_closed(fd);
	}
	close(fd);
	assert_true(closed);
}

int main(int argc, char **argv)
{
	if (harness_args(argc, argv))
		return 2;
	/* Over a thousand sockets here; the daemon raises its own limit. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	coord_extra_args = daemon_flags;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_slowloris_one_address),
		cmocka_unit_test(test_slowloris_past_server_cap),
		cmocka_unit_test(test_idle_blank_lines),
	};
	return cmocka_run_group_tests(tests, start_coordinator, stop_coordinator);
}
