/*
 * tests/unit/coordinator/api_fixture.h — what the API tests share: a fake
 * clock and send seam, a registry with two nodes (eu-1 in eu-west, us-1 in
 * us-east, label gpu=yes), a job table and an API with the token "T0K",
 * call() to route one request and parse its JSON, and make_job() for a
 * two-stage job (2 + 1 tasks) deployed on those nodes. Include once, after
 * cmocka.h.
 */
#ifndef SD_TESTS_COORD_API_FIXTURE_H
#define SD_TESTS_COORD_API_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <http_parser.h>

#include "base/err.h"
#include "coordinator/coord.h"

#define SEC 1000000ull

static uint64_t fake_now = 1700000000ull * SEC;
static inline uint64_t now_fn(void)
{
	return fake_now;
}

struct sent {
	uint16_t type;
	uint64_t node_id;
};
static struct sent sent_log[256];
static size_t n_sent;

static inline int fake_send(void *arg, struct coord_node *node, uint16_t type,
			    const ProtobufCMessage *msg)
{
	(void)arg;
	(void)msg;
	if (n_sent < 256)
		sent_log[n_sent++] = (struct sent){type, node->id};
	return 0;
}

static inline size_t count_sent(uint16_t type)
{
	size_t k = 0;
	for (size_t i = 0; i < n_sent; i++)
		k += sent_log[i].type == type;
	return k;
}

struct fixture {
	struct coord_registry reg;
	struct coord_jobs jobs;
	struct coord_api api;
	struct coord_node *nodes[2];
};

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	coord_registry_init(&f->reg, NULL, 5 * SEC);
	coord_jobs_init(&f->jobs, &f->reg, fake_send, NULL);
	f->api.registry = &f->reg;
	f->api.jobs = &f->jobs;
	f->api.token = "T0K";
	f->api.now_us = now_fn;
	f->api.started_at_us = fake_now - 3 * SEC;
	f->api.version = "test";
	static Sd__Control__Label l = {PROTOBUF_C_MESSAGE_INIT(&sd__control__label__descriptor),
				       "gpu", "yes"};
	static Sd__Control__Label *ls[] = {&l};
	const char *names[] = {"eu-1", "us-1"}, *regions[] = {"eu-west", "us-east"};
	for (int i = 0; i < 2; i++) {
		Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
		m.protocol_version = WIRE_VERSION;
		m.name = (char *)names[i];
		m.region = (char *)regions[i];
		m.slots = 2;
		m.n_labels = 1;
		m.labels = ls;
		char reason[64];
		int dummy;
		assert_int_equal(coord_registry_register(&f->reg, &m, fake_now, &dummy,
							 &f->nodes[i], reason, sizeof(reason)),
				 0);
	}
	n_sent = 0;
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;
	coord_jobs_fini(&f->jobs);
	coord_registry_fini(&f->reg);
	free(f);
	return 0;
}

/* Issues a request; returns the parsed JSON body (caller deletes) and status. */
static inline cJSON *call(struct fixture *f, int method, const char *path, const char *auth,
			  const char *body, int *status)
{
	struct coord_http_header h[2];
	size_t nh = 0;
	if (auth)
		h[nh++] = (struct coord_http_header){"authorization", auth};
	h[nh++] = (struct coord_http_header){"Content-Type", "application/json"};
	struct coord_http_request req = {
		.method = method,
		.path = path,
		.headers = h,
		.n_headers = nh,
		.body = body ? body : "",
		.body_len = body ? strlen(body) : 0,
	};
	struct coord_http_response resp;
	coord_api_handle(&f->api, &req, &resp);
	*status = resp.status;
	assert_non_null(resp.body);
	assert_int_equal(strlen(resp.body), resp.body_len);
	cJSON *doc = NULL;
	if (strcmp(path, "/metrics") != 0) {
		assert_string_equal(resp.content_type, "application/json");
		doc = cJSON_Parse(resp.body);
		assert_non_null(doc);
	}
	free(resp.body);
	return doc;
}

static inline const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_non_null(v);
	return v;
}

static inline void report(struct coord_jobs *t, struct coord_node *n, const char *job,
			  uint32_t task, int state, uint64_t rin, uint64_t rout, int64_t wm)
{
	Sd__Control__TaskCounters c = SD__CONTROL__TASK_COUNTERS__INIT;
	c.records_in = rin;
	c.records_out = rout;
	c.bytes_out = rout * 10;
	c.watermark_us = wm;
	Sd__Control__TaskStatus s = SD__CONTROL__TASK_STATUS__INIT;
	s.job_id = (char *)job;
	s.task_id = task;
	s.state = (Sd__Control__TaskState)state;
	s.counters = &c;
	if (state == SD__CONTROL__TASK_STATE__TASK_FAILED) {
		s.error_code = SD_EIO;
		s.error_message = "read input.txt: input/output error";
	}
	assert_int_equal(coord_jobs_task_status(t, n, &s, fake_now), 0);
}

/* Two stages: 2 tasks then 1 task; tasks 0,2 on eu-1, task 1 on us-1. */
static inline struct coord_job *make_job(struct fixture *f)
{
	uint32_t par[] = {2, 1};
	struct coord_job *job;
	size_t deploys = count_sent(WIRE_CTL_DEPLOY);
	assert_int_equal(coord_jobs_add_for_test(&f->jobs, "wc", 2, par, fake_now, &job), 0);
	job->tasks[0].node_id = f->nodes[0]->id;
	job->tasks[1].node_id = f->nodes[1]->id;
	job->tasks[2].node_id = f->nodes[0]->id;
	assert_int_equal(coord_jobs_deploy_for_test(&f->jobs, job, fake_now), 0);
	assert_int_equal(count_sent(WIRE_CTL_DEPLOY) - deploys, 3);
	return job;
}

#endif /* SD_TESTS_COORD_API_FIXTURE_H */
