/*
 * tests/unit/coordinator/test_api.c — routing, auth, JSON shapes and the job
 * lifecycle as the API shows it. Counters in the JSON are checked against
 * sums the test computes itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <http_parser.h>

#include "base/err.h"
#include "coordinator/coord.h"
#include "tests/unit/coordinator/api_fixture.h"

static void test_overview_and_nodes(void **state)
{
	struct fixture *f = *state;
	int st;
	cJSON *o = call(f, HTTP_GET, "/v1/overview", NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(get(get(o, "nodes"), "ready")->valueint, 2);
	assert_int_equal(get(o, "slots_total")->valueint, 4);
	assert_int_equal(get(o, "uptime_ms")->valueint, 3000);
	assert_true(cJSON_IsNull(get(o, "netfs")));
	cJSON_Delete(o);

	Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
	hb.rtt_us = 1234;
	coord_registry_heartbeat(&f->reg, f->nodes[1], &hb, fake_now);
	o = call(f, HTTP_GET, "/v1/nodes", NULL, NULL, &st);
	assert_int_equal(st, 200);
	const cJSON *arr = get(o, "nodes");
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	const cJSON *us = cJSON_GetArrayItem(arr, 1);
	assert_string_equal(get(us, "name")->valuestring, "us-1");
	assert_string_equal(get(us, "region")->valuestring, "us-east");
	assert_string_equal(get(us, "state")->valuestring, "ready");
	assert_string_equal(get(get(us, "labels"), "gpu")->valuestring, "yes");
	assert_int_equal(get(us, "rtt_us")->valueint, 1234);
	assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(arr, 0), "rtt_us")));
	cJSON_Delete(o);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	int st;
	cJSON *o = call(f, HTTP_GET, "/v1/nope", NULL, NULL, &st);
	assert_int_equal(st, 404);
	assert_string_equal(get(o, "code")->valuestring, "SD_ENOENT");
	cJSON_Delete(o);
	o = call(f, HTTP_POST, "/v1/nodes", "Bearer T0K", NULL, &st);
	assert_int_equal(st, 405);
	cJSON_Delete(o);
	o = call(f, HTTP_GET, "/v1/jobs/0123456789abcdef", NULL, NULL, &st);
	assert_int_equal(st, 404);
	assert_non_null(strstr(get(o, "error")->valuestring, "0123456789abcdef"));
	cJSON_Delete(o);
	o = call(f, HTTP_GET, "/v1/jobs/x/unknown", NULL, NULL, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(o);
	/* Auth: POST and DELETE need the bearer token. */
	o = call(f, HTTP_POST, "/v1/jobs", NULL, "{\"text\":\"x\"}", &st);
	assert_int_equal(st, 401);
	assert_string_equal(get(o, "code")->valuestring, "SD_EAUTH");
	cJSON_Delete(o);
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer WRONG", "{\"text\":\"x\"}", &st);
	assert_int_equal(st, 401);
	cJSON_Delete(o);
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", "{\"text\":", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(get(o, "error")->valuestring, "JSON"));
	cJSON_Delete(o);
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", "{\"name\":\"n\"}", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(get(o, "error")->valuestring, "text"));
	cJSON_Delete(o);
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", "{\"text\":\"a\",\"constraints\":[1]}",
		 &st);
	assert_int_equal(st, 400);
	cJSON_Delete(o);
	/* A job that does not compile: the compiler's message with line:col; no job made. */
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K",
		 "{\"name\":\"bad.sd\",\"text\":\"source\"}", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(get(o, "error")->valuestring, "bad.sd:1:"));
	assert_int_equal(f->jobs.n_jobs, 0);
	cJSON_Delete(o);
	o = call(f, HTTP_DELETE, "/v1/jobs/abc", NULL, NULL, &st);
	assert_int_equal(st, 401);
	cJSON_Delete(o);
	assert_int_equal(f->api.stats.requests_total, 11);
	assert_int_equal(f->api.stats.responses_by_class[4], 11);
}

static void test_job_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = make_job(f);
	enum {
		RUN = SD__CONTROL__TASK_STATE__TASK_RUNNING,
		FIN = SD__CONTROL__TASK_STATE__TASK_FINISHED
	};
	assert_int_equal(job->state, COORD_JOB_DEPLOYING);
	report(&f->jobs, f->nodes[0], job->id, 0, RUN, 10, 5, 0);
	report(&f->jobs, f->nodes[1], job->id, 1, RUN, 20, 7, 0);
	assert_int_equal(job->state, COORD_JOB_DEPLOYING);
	/* A node may not report another node's task. */
	Sd__Control__TaskStatus bogus = SD__CONTROL__TASK_STATUS__INIT;
	bogus.job_id = job->id;
	bogus.task_id = 2;
	bogus.state = SD__CONTROL__TASK_STATE__TASK_FAILED;
	assert_int_equal(coord_jobs_task_status(&f->jobs, f->nodes[1], &bogus, fake_now), SD_EPERM);
	fake_now += 2 * SEC;
	report(&f->jobs, f->nodes[0], job->id, 2, RUN, 12, 3, (int64_t)fake_now - 1500000);
	assert_int_equal(job->state, COORD_JOB_RUNNING);

	int st;
	fake_now += 2 * SEC;
	cJSON *o = call(f, HTTP_GET, "/v1/jobs", NULL, NULL, &st);
	assert_int_equal(st, 200);
	const cJSON *j0 = cJSON_GetArrayItem(get(o, "jobs"), 0);
	assert_string_equal(get(j0, "id")->valuestring, job->id);
	assert_string_equal(get(j0, "state")->valuestring, "RUNNING");
	assert_int_equal(get(get(j0, "tasks"), "RUNNING")->valueint, 3);
	cJSON_Delete(o);

	char path[96];
	snprintf(path, sizeof(path), "/v1/jobs/%s", job->id);
	o = call(f, HTTP_GET, path, NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_string_equal(get(o, "state")->valuestring, "RUNNING");
	assert_true(cJSON_IsNull(get(o, "failure")));
	assert_true(cJSON_IsNumber(get(get(o, "timestamps"), "RUNNING")));
	assert_true(cJSON_IsNull(get(get(o, "timestamps"), "FINISHED")));
	const cJSON *v0 = cJSON_GetArrayItem(get(o, "vertices"), 0);
	assert_int_equal(get(v0, "parallelism")->valueint, 2);
	assert_string_equal(get(v0, "state")->valuestring, "RUNNING");
	/* Stage 0 = tasks 0 and 1: 10+20 in, 5+7 out; rate over 2 s running. */
	assert_int_equal(get(get(v0, "metrics"), "records_in")->valueint, 30);
	assert_int_equal(get(get(v0, "metrics"), "records_out")->valueint, 12);
	assert_int_equal(get(get(v0, "metrics"), "bytes_out")->valueint, 120);
	assert_true(get(get(v0, "metrics"), "records_out_per_s")->valuedouble == 6.0);
	const cJSON *t1 = cJSON_GetArrayItem(get(v0, "tasks"), 1);
	assert_string_equal(get(t1, "node")->valuestring, "us-1");
	assert_string_equal(get(t1, "region")->valuestring, "us-east");
	const cJSON *v1 = cJSON_GetArrayItem(get(o, "vertices"), 1);
	/* Watermark 1.5 s behind "now" when reported, now 2 s later: 3.5 s lag. */
	assert_int_equal(get(get(v1, "metrics"), "watermark_lag_ms")->valueint, 3500);
	cJSON_Delete(o);

	report(&f->jobs, f->nodes[0], job->id, 0, FIN, 11, 6, 0);
	report(&f->jobs, f->nodes[1], job->id, 1, FIN, 20, 7, 0);
	assert_int_equal(job->state, COORD_JOB_RUNNING);
	report(&f->jobs, f->nodes[0], job->id, 2, FIN, 13, 4, 0);
	assert_int_equal(job->state, COORD_JOB_FINISHED);
	assert_int_equal(count_sent(WIRE_CTL_JOB_DONE), 2); /* once per node */
	assert_int_equal(f->jobs.finished_total[COORD_JOB_FINISHED], 1);

	o = call(f, HTTP_DELETE, path, "Bearer T0K", NULL, &st);
	assert_int_equal(st, 409);
	assert_string_equal(get(o, "code")->valuestring, "SD_ESTATE");
	cJSON_Delete(o);
}

static void test_failure_and_exceptions(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = make_job(f);
	report(&f->jobs, f->nodes[1], job->id, 1, SD__CONTROL__TASK_STATE__TASK_FAILED, 0, 0, 0);
	assert_int_equal(job->state, COORD_JOB_FAILED);
	assert_int_equal(job->failure_code, SD_EIO);
	assert_int_equal(count_sent(WIRE_CTL_CANCEL), 2);
	/* The node vanishing afterwards adds an exception, not a second root cause. */
	coord_jobs_node_lost(&f->jobs, f->nodes[0], fake_now);
	int st;
	char path[96];
	snprintf(path, sizeof(path), "/v1/jobs/%s/exceptions", job->id);
	cJSON *o = call(f, HTTP_GET, path, NULL, NULL, &st);
	assert_int_equal(st, 200);
	const cJSON *root = get(o, "root_exception");
	assert_string_equal(get(root, "code")->valuestring, "SD_EIO");
	assert_non_null(strstr(get(root, "message")->valuestring, "input.txt"));
	assert_non_null(strstr(get(root, "message")->valuestring, "us-1"));
	assert_int_equal(get(root, "task_id")->valueint, 1);
	size_t roots = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, get(o, "exceptions")) roots += cJSON_IsTrue(get(e, "root_cause"));
	assert_int_equal(roots, 1);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/v1/jobs/%s/plan", job->id);
	o = call(f, HTTP_GET, path, NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_true(cJSON_IsNull(get(o, "plan")));
	cJSON_Delete(o);
}

static void test_node_lost_fails_job_and_cancel(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = make_job(f);
	f->nodes[1]->state = COORD_NODE_LOST;
	coord_jobs_node_lost(&f->jobs, f->nodes[1], fake_now);
	assert_int_equal(job->state, COORD_JOB_FAILED);
	assert_int_equal(job->failure_code, SD_ELOST);

	f->nodes[1]->state = COORD_NODE_READY; /* back, for the cancel case */
	struct coord_job *job2 = make_job(f);
	int st;
	char path[96];
	snprintf(path, sizeof(path), "/v1/jobs/%s", job2->id);
	cJSON *o = call(f, HTTP_DELETE, path, "Bearer T0K", NULL, &st);
	assert_int_equal(st, 202);
	assert_string_equal(get(o, "state")->valuestring, "CANCELED");
	cJSON_Delete(o);
	assert_int_equal(job2->state, COORD_JOB_CANCELED);
	assert_true(job2->state_at_us[COORD_JOB_CANCELED] > 0);
}

static void test_submit_compiles_places_deploys(void **state)
{
	struct fixture *f = *state;
	int st;
	/* collect() writes its result on the file service: one must be configured
	 * (nothing connects to it: generate() reads no files, nothing finishes). */
	const char *body = "{\"text\":\"generate(10).collect()\"}";
	cJSON *o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", body, &st);
	assert_int_equal(st, 501);
	assert_non_null(strstr(get(o, "error")->valuestring, "--netfs"));
	cJSON_Delete(o);
	f->jobs.netfs.host = "127.0.0.1";
	f->jobs.netfs.port = 9;
	body = "{\"name\":\"gen\",\"text\":\"generate(100).map(x -> x * 2)"
	       ".collect()\",\"constraints\":[\"region=us-east\"]}";
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", body, &st);
	assert_int_equal(st, 202);
	struct coord_job *job = coord_jobs_find(&f->jobs, get(o, "id")->valuestring);
	assert_non_null(job);
	cJSON_Delete(o);
	assert_int_equal(job->state, COORD_JOB_DEPLOYING);
	assert_true(job->n_tasks > 0);
	/* One Deploy per task, every task on the only node in us-east. */
	assert_int_equal(count_sent(WIRE_CTL_DEPLOY), job->n_tasks);
	assert_int_equal(f->jobs.jobs[0]->state, COORD_JOB_FAILED); /* the 501 one */
	for (size_t i = 0; i < job->n_tasks; i++) {
		assert_int_equal(job->tasks[i].node_id, f->nodes[1]->id);
		assert_int_equal(job->tasks[i].state, SD__CONTROL__TASK_STATE__TASK_DEPLOYING);
	}
	char path[96];
	snprintf(path, sizeof(path), "/v1/jobs/%s/plan", job->id);
	o = call(f, HTTP_GET, path, NULL, NULL, &st);
	assert_int_equal(st, 200);
	const cJSON *plan = get(o, "plan");
	assert_true(cJSON_GetArraySize(get(plan, "stages")) >= 1);
	assert_true(cJSON_IsTrue(get(get(plan, "placement"), "feasible")));
	assert_non_null(strstr(get(plan, "explain")->valuestring, "generate"));
	cJSON_Delete(o);

	/* Nowhere to go: 409 with the solver's reason; the job is recorded FAILED. */
	body = "{\"text\":\"generate(10).collect() @region(\\\"mars\\\")\"}";
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", body, &st);
	assert_int_equal(st, 409);
	assert_string_equal(get(o, "code")->valuestring, "SD_EINFEASIBLE");
	assert_non_null(strstr(get(o, "error")->valuestring, "mars"));
	struct coord_job *bad = coord_jobs_find(&f->jobs, get(o, "id")->valuestring);
	assert_non_null(bad);
	assert_int_equal(bad->state, COORD_JOB_FAILED);
	cJSON_Delete(o);

	/* /v1/plan compiles and places without keeping a job. */
	size_t before = f->jobs.n_jobs;
	struct coord_http_header h[] = {{"Authorization", "Bearer T0K"}};
	struct coord_http_request req = {.method = HTTP_POST,
					 .path = "/v1/plan",
					 .query = "placement=1",
					 .headers = h,
					 .n_headers = 1,
					 .body = "generate(4).collect()",
					 .body_len = 21};
	struct coord_http_response resp;
	coord_api_handle(&f->api, &req, &resp);
	assert_int_equal(resp.status, 200);
	o = cJSON_Parse(resp.body);
	free(resp.body);
	assert_true(cJSON_IsObject(get(get(o, "plan"), "placement")));
	cJSON_Delete(o);
	assert_int_equal(f->jobs.n_jobs, before);
}

/* Issue 15: a second constraint (JSON array or repeated --constraint) was
 * read from an unfilled slot and refused as "(null)". */
static void test_submit_several_constraints(void **state)
{
	struct fixture *f = *state;
	int st;
	f->jobs.netfs.host = "127.0.0.1";
	f->jobs.netfs.port = 9;
	/* Both hold on us-1 only; a preference for eu-west does not outweigh them. */
	const char *body = "{\"text\":\"generate(10).collect()\",\"constraints\":"
			   "[\"region=us-east\",\"gpu=yes\"],\"prefer\":[\"region=eu-west:5\"]}";
	cJSON *o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", body, &st);
	if (st != 202)
		fail_msg("status %d: %s", st, cJSON_PrintUnformatted(o));
	struct coord_job *job = coord_jobs_find(&f->jobs, get(o, "id")->valuestring);
	cJSON_Delete(o);
	assert_non_null(job);
	for (size_t i = 0; i < job->n_tasks; i++)
		assert_int_equal(job->tasks[i].node_id, f->nodes[1]->id);
	/* The second constraint is applied: no node is in two regions. */
	body = "{\"text\":\"generate(10).collect()\",\"constraints\":"
	       "[\"region=us-east\",\"region=eu-west\"]}";
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", body, &st);
	assert_int_equal(st, 409);
	assert_string_equal(get(o, "code")->valuestring, "SD_EINFEASIBLE");
	cJSON_Delete(o);
	/* A bad second one is named as it was written. */
	body = "{\"text\":\"generate(10).collect()\",\"constraints\":[\"gpu=yes\",\"=x\"]}";
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", body, &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(get(o, "error")->valuestring, "\"=x\""));
	cJSON_Delete(o);
}

/* An async seam that holds the work until the test runs it. */
static coord_work_fn *held_work, *held_after;
static void *held_data;
static int hold_async(void *arg, coord_work_fn *work, coord_work_fn *after, void *data)
{
	(void)arg;
	assert_null(held_work);
	held_work = work;
	held_after = after;
	held_data = data;
	return 0;
}

static void run_held(void)
{
	coord_work_fn *w = held_work, *a = held_after;
	held_work = held_after = NULL;
	w(held_data);
	a(held_data);
}

static void test_listing_off_the_loop(void **state)
{
	struct fixture *f = *state;
	f->jobs.netfs.host = "127.0.0.1";
	f->jobs.netfs.port = 9; /* nothing listens: the listing fails */
	f->jobs.async = hold_async;
	const char *body = "{\"text\":\"read_text(\\\"netfs://in/*.txt\\\").print()\"}";
	int st;
	/* Answered before the listing: PLACING, nothing deployed yet. */
	cJSON *o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", body, &st);
	assert_int_equal(st, 202);
	assert_string_equal(get(o, "state")->valuestring, "PLACING");
	struct coord_job *job = coord_jobs_find(&f->jobs, get(o, "id")->valuestring);
	cJSON_Delete(o);
	assert_true(job->busy);
	assert_non_null(held_work);
	run_held();
	/* The file service was unreachable: FAILED with that root cause, no deploys. */
	assert_false(job->busy);
	assert_int_equal(job->state, COORD_JOB_FAILED);
	assert_int_equal(count_sent(WIRE_CTL_DEPLOY), 0);
	assert_non_null(strstr(job->exceptions[0].message, "file service"));

	/* Canceled while listing: stays CANCELED, nothing deployed afterwards. */
	o = call(f, HTTP_POST, "/v1/jobs", "Bearer T0K", body, &st);
	assert_int_equal(st, 202);
	job = coord_jobs_find(&f->jobs, get(o, "id")->valuestring);
	cJSON_Delete(o);
	assert_int_equal(coord_jobs_cancel(&f->jobs, job, "test", fake_now), 0);
	run_held();
	assert_int_equal(job->state, COORD_JOB_CANCELED);
	assert_int_equal(count_sent(WIRE_CTL_DEPLOY), 0);
	f->jobs.async = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_overview_and_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_and_exceptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_compiles_places_deploys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_submit_several_constraints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing_off_the_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_lost_fails_job_and_cancel, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
