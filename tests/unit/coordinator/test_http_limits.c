/*
 * tests/unit/coordinator/test_http_limits.c — one HTTP connection against
 * clients that are old, odd or slow (issue 15): HTTP/0.9 and versions
 * other than 1.x are refused at once, whole or a byte at a time, and the
 * phase the daemon times deadlines by (coord_http_conn_phase) follows each
 * request: blank lines between requests leave it waiting, a request's first
 * byte starts its head, a pipelined request counts as a new one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "coordinator/coord.h"

struct out {
	char buf[1 << 16];
	size_t len;
};

static int capture(void *arg, const char *data, size_t len)
{
	struct out *o = arg;
	assert_true(o->len + len < sizeof(o->buf));
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	o->buf[o->len] = '\0';
	return 0;
}

static uint64_t now_fn(void)
{
	return 42;
}

struct fx {
	struct coord_registry reg;
	struct coord_jobs jobs;
	struct coord_api api;
	struct out out;
	struct coord_http_conn *conn;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	coord_registry_init(&f->reg, NULL, 1000000);
	coord_jobs_init(&f->jobs, &f->reg, NULL, NULL);
	f->api.registry = &f->reg;
	f->api.jobs = &f->jobs;
	f->api.now_us = now_fn;
	f->conn = coord_http_conn_new(&f->api, capture, &f->out);
	assert_non_null(f->conn);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	coord_http_conn_free(f->conn);
	coord_jobs_fini(&f->jobs);
	coord_registry_fini(&f->reg);
	free(f);
	return 0;
}

/* Feeds req whole, or a byte at a time; returns the last feed's result. */
static int feed(struct fx *f, const char *req, bool bytewise)
{
	size_t len = strlen(req);
	if (!bytewise)
		return coord_http_conn_feed(f->conn, req, len);
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0; i++)
		rc = coord_http_conn_feed(f->conn, req + i, 1);
	return rc;
}

static void expect_refused(const char *req, bool bytewise, const char *status_line)
{
	struct fx *f;
	setup((void **)&f);
	assert_int_equal(feed(f, req, bytewise), SD_ECLOSED);
	if (strncmp(f->out.buf, status_line, strlen(status_line)) != 0)
		fail_msg("\"%s\" (%s) answered \"%.40s\"", req, bytewise ? "bytewise" : "whole",
			 f->out.buf);
	assert_non_null(strstr(f->out.buf, "Connection: close"));
	assert_non_null(strstr(f->out.buf, "\"code\":\"SD_EPROTO\""));
	assert_int_equal(f->api.stats.bad_requests_total, 1);
	teardown((void **)&f);
}

static void test_versions_refused(void **state)
{
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		/* No blank line: an HTTP/0.9 client sends none and waits. */
		expect_refused("GET /\r\n", bytewise, "HTTP/1.1 400 ");
		expect_refused("GET /v1/overview\r\n\r\n", bytewise, "HTTP/1.1 400 ");
		expect_refused("GET / HTTP/0.9\r\n\r\n", bytewise, "HTTP/1.1 400 ");
		expect_refused("GET / HTTP/0.1\r\nHost: t\r\n", bytewise, "HTTP/1.1 400 ");
		expect_refused("GET / HTTP/9.9\r\nHost: t\r\n\r\n", bytewise,
			       "HTTP/1.1 505 HTTP Version Not Supported");
		expect_refused("GET / HTTP/2.0\r\n", bytewise, "HTTP/1.1 505 ");
	}
}

static void test_versions_accepted(void **state)
{
	struct fx *f = *state;
	const char *reqs = "GET /v1/overview HTTP/1.1\r\nHost: t\r\n\r\n"
			   "GET /v1/overview HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	assert_int_equal(feed(f, reqs, true), 0);
	assert_int_equal(strncmp(f->out.buf, "HTTP/1.1 200 ", 13), 0);
	assert_non_null(strstr(f->out.buf + 13, "HTTP/1.1 200 "));
	/* After a 1.x request, the next one's version is read afresh. */
	assert_int_equal(feed(f, "GET / HTTP/3.0\r\n", false), SD_ECLOSED);
	assert_non_null(strstr(f->out.buf, "HTTP/1.1 505 "));
}

static void expect_phase(struct fx *f, enum coord_http_phase phase, uint64_t requests)
{
	uint64_t n = 99;
	assert_int_equal(coord_http_conn_phase(f->conn, &n), phase);
	assert_int_equal(n, requests);
}

static void test_phases(void **state)
{
	struct fx *f = *state;
	expect_phase(f, COORD_HTTP_WAITING, 0);
	/* Blank lines before a request are skipped: still waiting. */
	assert_int_equal(feed(f, "\r\n\r\n", false), 0);
	expect_phase(f, COORD_HTTP_WAITING, 0);
	assert_int_equal(feed(f, "G", false), 0);
	expect_phase(f, COORD_HTTP_HEAD, 1);
	assert_int_equal(feed(f, "ET /v1/overview HTTP/1.1\r\nHost: t\r\nX-Slow: 1\r\n", true), 0);
	expect_phase(f, COORD_HTTP_HEAD, 1);
	assert_int_equal(feed(f, "\r\n", false), 0);
	expect_phase(f, COORD_HTTP_WAITING, 1);
	assert_int_equal(f->api.stats.requests_total, 1);

	/* A body: the head ends before it. */
	assert_int_equal(
		feed(f, "POST /v1/plan HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab", false),
		0);
	expect_phase(f, COORD_HTTP_BODY, 2);
	assert_int_equal(feed(f, "cd", false), 0);
	expect_phase(f, COORD_HTTP_WAITING, 2);

	/* Answered and the next begun in one read: same phase, a new request. */
	assert_int_equal(feed(f, "GET /v1/overview HTTP/1.1\r\nHost: t\r\n\r\nGET /v1/", false), 0);
	expect_phase(f, COORD_HTTP_HEAD, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_refused),
		cmocka_unit_test_setup_teardown(test_versions_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phases, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
