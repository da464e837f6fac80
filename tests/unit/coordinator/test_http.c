/*
 * tests/unit/coordinator/test_http.c — one HTTP connection, bytes in and
 * bytes out: keep-alive, pipelining, requests split at every byte, and each
 * limit and malformation answered with a 4xx JSON error and a close.
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
	char buf[1 << 20];
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
	coord_registry_init(&f->reg, NULL, 1000000);
	coord_jobs_init(&f->jobs, &f->reg, NULL, NULL);
	f->api.registry = &f->reg;
	f->api.jobs = &f->jobs;
	f->api.now_us = now_fn;
	f->api.token = "tok";
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

static size_t count(const char *hay, const char *needle)
{
	size_t k = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		k++;
	return k;
}

static void test_get_keepalive(void **state)
{
	struct fx *f = *state;
	const char *req = "GET /v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(coord_http_conn_feed(f->conn, req, strlen(req)), 0);
	assert_non_null(strstr(f->out.buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(f->out.buf, "Connection: keep-alive\r\n"));
	assert_non_null(strstr(f->out.buf, "Content-Type: application/json\r\n"));
	const char *body = strstr(f->out.buf, "\r\n\r\n") + 4;
	assert_string_equal(body, "{\"nodes\":[]}");
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
	assert_non_null(strstr(f->out.buf, cl));
	/* Same connection, second request. */
	assert_int_equal(coord_http_conn_feed(f->conn, req, strlen(req)), 0);
	assert_int_equal(count(f->out.buf, "HTTP/1.1 200 OK"), 2);
}

static void test_pipelined_and_split(void **state)
{
	struct fx *f = *state;
	const char *req = "GET /v1/overview HTTP/1.1\r\nHost: x\r\n\r\n"
			  "GET /v1/nope HTTP/1.1\r\nHost: x\r\n\r\n"
			  "HEAD /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	/* One byte at a time: every split point of every request. */
	int rc = 0;
	for (size_t i = 0; i < strlen(req) && rc == 0; i++)
		rc = coord_http_conn_feed(f->conn, req + i, 1);
	assert_int_equal(rc, SD_ECLOSED);
	const char *first = strstr(f->out.buf, "HTTP/1.1 200 OK");
	const char *second = strstr(f->out.buf, "HTTP/1.1 404 Not Found");
	const char *third =
		strstr(f->out.buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Content-Length: 11");
	assert_non_null(first);
	assert_non_null(second);
	assert_non_null(third);
	assert_true(first < second && second < third);
	/* HEAD: the length of {"jobs":[]} but no body after the head. */
	assert_string_equal(strstr(third, "\r\n\r\n"), "\r\n\r\n");
	assert_non_null(strstr(third, "Connection: close"));
	/* After close, more bytes are refused. */
	assert_int_equal(coord_http_conn_feed(f->conn, "GET", 3), SD_ECLOSED);
}

static void expect_error(struct fx *f, const char *req, size_t len, const char *status,
			 const char *what)
{
	int rc = coord_http_conn_feed(f->conn, req, len);
	assert_int_equal(rc, SD_ECLOSED);
	assert_non_null(strstr(f->out.buf, status));
	assert_non_null(strstr(f->out.buf, "Connection: close"));
	const char *body = strstr(f->out.buf, "\r\n\r\n");
	assert_non_null(body);
	assert_non_null(strstr(body, "{\"error\":"));
	assert_non_null(strstr(body, what));
	assert_int_equal(f->api.stats.bad_requests_total, 1);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	const char *req = "GARBAGE\r\n\r\n";
	expect_error(f, req, strlen(req), "HTTP/1.1 400 Bad Request", "malformed HTTP request");
}

static void test_body_too_big(void **state)
{
	struct fx *f = *state;
	char req[256];
	snprintf(req, sizeof(req),
		 "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n",
		 COORD_HTTP_BODY_MAX + 1);
	expect_error(f, req, strlen(req), "HTTP/1.1 413", "body larger");
}

static void test_chunked_body_too_big(void **state)
{
	struct fx *f = *state;
	const char *head =
		"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(coord_http_conn_feed(f->conn, head, strlen(head)), 0);
	char *chunk = malloc(70000);
	int n = snprintf(chunk, 32, "%x\r\n", 65536);
	memset(chunk + n, 'a', 65536);
	memcpy(chunk + n + 65536, "\r\n", 2);
	int rc = 0;
	for (int i = 0; i < 17 && rc == 0; i++)
		rc = coord_http_conn_feed(f->conn, chunk, (size_t)n + 65536 + 2);
	free(chunk);
	assert_int_equal(rc, SD_ECLOSED);
	assert_non_null(strstr(f->out.buf, "HTTP/1.1 413"));
}

static void test_too_many_headers(void **state)
{
	struct fx *f = *state;
	char req[8192];
	size_t len = (size_t)snprintf(req, sizeof(req), "GET /v1/nodes HTTP/1.1\r\n");
	for (unsigned i = 0; i <= COORD_HTTP_HEADERS_MAX; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "X-H%u: v\r\n", i);
	len += (size_t)snprintf(req + len, sizeof(req) - len, "\r\n");
	expect_error(f, req, len, "HTTP/1.1 431", "too many request headers");
}

static void test_headers_too_big(void **state)
{
	struct fx *f = *state;
	size_t cap = COORD_HTTP_HEADER_BYTES_MAX + 256;
	char *req = malloc(cap);
	size_t len = (size_t)snprintf(req, cap, "GET /v1/nodes HTTP/1.1\r\nX-Big: ");
	memset(req + len, 'b', COORD_HTTP_HEADER_BYTES_MAX);
	len += COORD_HTTP_HEADER_BYTES_MAX;
	len += (size_t)snprintf(req + len, cap - len, "\r\n\r\n");
	expect_error(f, req, len, "HTTP/1.1 431", "headers larger");
	free(req);
}

static void test_url_too_long(void **state)
{
	struct fx *f = *state;
	size_t cap = COORD_HTTP_URL_MAX + 128;
	char *req = malloc(cap);
	size_t len = (size_t)snprintf(req, cap, "GET /");
	memset(req + len, 'u', COORD_HTTP_URL_MAX);
	len += COORD_HTTP_URL_MAX;
	len += (size_t)snprintf(req + len, cap - len, " HTTP/1.1\r\n\r\n");
	expect_error(f, req, len, "HTTP/1.1 414", "request target");
	free(req);
}

static void test_absolute_form_refused(void **state)
{
	struct fx *f = *state;
	const char *req = "GET http://evil/v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n";
	expect_error(f, req, strlen(req), "HTTP/1.1 400", "origin-form");
}

static void test_http10_closes_and_auth_header(void **state)
{
	struct fx *f = *state;
	const char *req = "POST /v1/jobs HTTP/1.0\r\nContent-Length: 1\r\n\r\nx";
	assert_int_equal(coord_http_conn_feed(f->conn, req, strlen(req)), SD_ECLOSED);
	assert_non_null(strstr(f->out.buf, "HTTP/1.1 401 Unauthorized"));
	assert_non_null(strstr(f->out.buf, "WWW-Authenticate: Bearer\r\n"));
	assert_non_null(strstr(f->out.buf, "Connection: close"));
}

static void test_metrics_content_type(void **state)
{
	struct fx *f = *state;
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(coord_http_conn_feed(f->conn, req, strlen(req)), 0);
	assert_non_null(strstr(f->out.buf, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(f->out.buf, "# TYPE stardust_nodes gauge"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_get_keepalive),
		T(test_pipelined_and_split),
		T(test_malformed),
		T(test_body_too_big),
		T(test_chunked_body_too_big),
		T(test_too_many_headers),
		T(test_headers_too_big),
		T(test_url_too_long),
		T(test_absolute_form_refused),
		T(test_http10_closes_and_auth_header),
		T(test_metrics_content_type),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
