/*
 * Fuzz target for the coordinator's HTTP request path: raw bytes into one
 * coord_http_conn (http.c: http-parser, limits) and on through routing and
 * rendering (api.c, api_render.c, metrics.c, jobs.c), exactly as the daemon
 * runs them. The first byte picks how the rest is cut into reads, so split
 * points get fuzzed too. Invariants checked: every response starts with a
 * status line and carries a Content-Length that matches its body (when the
 * whole response is visible), and nothing is written after a close.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/log.h"
#include "coordinator/coord.h"

struct out {
	size_t writes;
	bool closed;
};

static int check_write(void *arg, const char *data, size_t len)
{
	struct out *o = arg;
	if (o->closed || len < 12 || memcmp(data, "HTTP/1.1 ", 9) != 0)
		abort();
	const char *cl = memmem(data, len, "Content-Length: ", 16);
	const char *end = memmem(data, len, "\r\n\r\n", 4);
	if (!cl || !end)
		abort();
	size_t body = (size_t)strtoul(cl + 16, NULL, 10);
	size_t have = len - (size_t)(end + 4 - data);
	/* HEAD responses carry the length but no body. */
	if (have != body && have != 0)
		abort();
	/* Every JSON body parses. */
	if (have && memmem(data, (size_t)(end - data), "application/json", 16)) {
		cJSON *doc = cJSON_ParseWithLength(end + 4, have);
		if (!doc)
			abort();
		cJSON_Delete(doc);
	}
	o->writes++;
	return 0;
}

static uint64_t now_fn(void)
{
	return 1700000000000000ull;
}

static struct coord_registry reg;
static struct coord_jobs jobs;
static struct coord_api api;
static char job_id[COORD_ID_LEN + 1];

static void init_once(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	sd_log_set_level(SD_LOG_OFF);
	coord_registry_init(&reg, "J", 5000000);
	coord_jobs_init(&jobs, &reg, NULL, NULL);
	api.registry = &reg;
	api.jobs = &jobs;
	api.token = "tok";
	api.now_us = now_fn;
	Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
	m.protocol_version = WIRE_VERSION;
	m.name = "n\"1";
	m.region = "eu";
	m.token = "J";
	struct coord_node *n;
	char reason[64];
	if (coord_registry_register(&reg, &m, now_fn(), NULL, &n, reason, sizeof(reason)))
		abort();
	uint32_t par[] = {2, 1};
	struct coord_job *job;
	if (coord_jobs_add_for_test(&jobs, "fuzz", 2, par, now_fn(), &job))
		abort();
	memcpy(job_id, job->id, sizeof(job_id));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size == 0)
		return 0;
	size_t piece = (size_t)data[0] + 1;
	data++;
	size--;
	struct out o = {0};
	struct coord_http_conn *c = coord_http_conn_new(&api, check_write, &o);
	if (!c)
		return 0;
	for (size_t off = 0; off < size && !o.closed;) {
		size_t n = size - off < piece ? size - off : piece;
		int rc = coord_http_conn_feed(c, (const char *)data + off, n);
		if (rc == SD_ECLOSED)
			o.closed = true;
		else if (rc != 0)
			abort();
		off += n;
	}
	if (o.closed && coord_http_conn_feed(c, "x", 1) != SD_ECLOSED)
		abort();
	coord_http_conn_eof(c);
	coord_http_conn_free(c);
	/* A cancel through the fuzzed bytes is fine; keep a live job for the next run. */
	struct coord_job *job = coord_jobs_find(&jobs, job_id);
	if (!job || coord_job_state_terminal(job->state)) {
		uint32_t par[] = {1};
		if (coord_jobs_add_for_test(&jobs, "fuzz", 1, par, now_fn(), &job) == 0)
			memcpy(job_id, job->id, sizeof(job_id));
	}
	return 0;
}
