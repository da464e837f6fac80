/*
 * tests/unit/coordinator/test_api_checkpoints.c — the fault-tolerance side
 * of the HTTP API: GET /v1/jobs/:id/checkpoints (shape and figures),
 * POST /v1/jobs/:id/savepoints (auth, 404, 409s, the stop flag and the
 * completion hook that honours it), the restart and checkpoint fields of the
 * job documents, and the submit fields "checkpoint_us" / "from_savepoint".
 * Expected figures are computed here from what the test put in.
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
#include "coordinator/checkpoint_api.h"
#include "coordinator/checkpoint_priv.h"
#include "tests/unit/coordinator/api_fixture.h"

#define AUTH "Bearer T0K"
enum { RUN = SD__CONTROL__TASK_STATE__TASK_RUNNING };

/* Frees the snapshot paths before the table (see test_store.c). */
static int teardown_chk(void **state)
{
	struct fixture *f = *state;
	for (size_t j = 0; j < f->jobs.n_jobs; j++) {
		struct coord_chk *c = f->jobs.jobs[j]->chk;
		for (size_t i = 0; c && c->latest && i < f->jobs.jobs[j]->n_tasks; i++) {
			free(c->latest[i].snapshot);
			c->latest[i].snapshot = NULL;
		}
	}
	return teardown(state);
}

static cJSON *job_call(struct fixture *f, int method, const struct coord_job *job, const char *sub,
		       const char *auth, const char *body, int *st)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s%s%s", job->id, sub ? "/" : "", sub ? sub : "");
	return call(f, method, path, auth, body, st);
}

static void run_all(struct fixture *f, struct coord_job *job)
{
	report(&f->jobs, f->nodes[0], job->id, 0, RUN, 0, 0, 0);
	report(&f->jobs, f->nodes[1], job->id, 1, RUN, 0, 0, 0);
	report(&f->jobs, f->nodes[0], job->id, 2, RUN, 0, 0, 0);
	assert_int_equal(job->state, COORD_JOB_RUNNING);
}

static void ack(struct fixture *f, struct coord_job *job, struct coord_node *n, uint32_t task,
		uint64_t id, uint64_t bytes, uint64_t align_us)
{
	Sd__Control__CheckpointAck a = SD__CONTROL__CHECKPOINT_ACK__INIT;
	a.job_id = job->id;
	a.attempt = job->attempt;
	a.checkpoint_id = id;
	a.task_id = task;
	a.state_bytes = bytes;
	a.alignment_us = align_us;
	assert_int_equal(coord_jobs_checkpoint_ack(&f->jobs, n, &a, fake_now), 0);
}

static void test_empty_document_and_routes(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = make_job(f);
	int st;
	cJSON *o = job_call(f, HTTP_GET, job, "checkpoints", NULL, NULL, &st);
	assert_int_equal(st, 200);
	const cJSON *counts = get(o, "counts");
	static const char *const keys[] = {"restored", "total", "in_progress", "completed",
					   "failed"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(get(counts, keys[i])->valueint, 0);
	assert_true(cJSON_IsNull(get(get(o, "latest"), "completed")));
	assert_true(cJSON_IsNull(get(get(o, "latest"), "restored")));
	assert_true(cJSON_IsNull(get(get(o, "latest"), "savepoint")));
	assert_int_equal(cJSON_GetArraySize(get(o, "history")), 0);
	assert_int_equal(get(o, "interval_ms")->valueint, 0);
	assert_int_equal(get(get(o, "restart"), "attempt")->valueint, 0);
	assert_string_equal(get(get(o, "restart"), "strategy")->valuestring, "none");
	cJSON_Delete(o);

	o = call(f, HTTP_GET, "/v1/jobs/0123456789abcdef0123456789abcdef/checkpoints", NULL, NULL,
		 &st);
	assert_int_equal(st, 404);
	assert_string_equal(get(o, "code")->valuestring, "SD_ENOENT");
	cJSON_Delete(o);
	o = call(f, HTTP_POST, "/v1/jobs/0123456789abcdef0123456789abcdef/savepoints", AUTH, NULL,
		 &st);
	assert_int_equal(st, 404);
	cJSON_Delete(o);
	o = job_call(f, HTTP_POST, job, "checkpoints", AUTH, NULL, &st);
	assert_int_equal(st, 405);
	cJSON_Delete(o);
	o = job_call(f, HTTP_GET, job, "savepoints", NULL, NULL, &st);
	assert_int_equal(st, 405);
	cJSON_Delete(o);
	o = job_call(f, HTTP_DELETE, job, "savepoints", AUTH, NULL, &st);
	assert_int_equal(st, 405);
	cJSON_Delete(o);
}

static void test_savepoint_route(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = make_job(f);
	int st;
	/* Auth first, as for DELETE; then what the job allows. */
	cJSON *o = job_call(f, HTTP_POST, job, "savepoints", NULL, NULL, &st);
	assert_int_equal(st, 401);
	cJSON_Delete(o);
	o = job_call(f, HTTP_POST, job, "savepoints", "Bearer nope", NULL, &st);
	assert_int_equal(st, 401);
	assert_string_equal(get(o, "code")->valuestring, "SD_EAUTH");
	cJSON_Delete(o);
	o = job_call(f, HTTP_POST, job, "savepoints", AUTH, NULL, &st);
	assert_int_equal(st, 409); /* no checkpoints configured */
	assert_string_equal(get(o, "code")->valuestring, "SD_ENOTSUP");
	cJSON_Delete(o);
	job->ft.checkpoint_us = 5 * SEC;
	o = job_call(f, HTTP_POST, job, "savepoints", AUTH, NULL, &st);
	assert_int_equal(st, 409); /* DEPLOYING: not every task runs */
	assert_string_equal(get(o, "code")->valuestring, "SD_ESTATE");
	assert_non_null(strstr(get(o, "error")->valuestring, "DEPLOYING"));
	cJSON_Delete(o);
	run_all(f, job);
	o = job_call(f, HTTP_POST, job, "savepoints", AUTH, "[1]", &st);
	assert_int_equal(st, 400);
	cJSON_Delete(o);
	o = job_call(f, HTTP_POST, job, "savepoints", AUTH, "{\"stop\":1}", &st);
	assert_int_equal(st, 400);
	cJSON_Delete(o);

	size_t before = count_sent(WIRE_CTL_CHECKPOINT);
	o = job_call(f, HTTP_POST, job, "savepoints", AUTH, "{}", &st);
	assert_int_equal(st, 202);
	assert_int_equal(get(o, "id")->valueint, 1);
	char want[128];
	snprintf(want, sizeof(want), ".stardust/%s/checkpoints/chk-1", job->id);
	assert_string_equal(get(o, "path")->valuestring, want);
	assert_false(cJSON_IsTrue(get(o, "stop")));
	cJSON_Delete(o);
	assert_int_equal(count_sent(WIRE_CTL_CHECKPOINT) - before, 2); /* one per node */
	/* Asked again while it is in flight: the same checkpoint, no new trigger. */
	o = job_call(f, HTTP_POST, job, "savepoints", AUTH, NULL, &st);
	assert_int_equal(st, 202);
	assert_int_equal(get(o, "id")->valueint, 1);
	cJSON_Delete(o);
	assert_int_equal(count_sent(WIRE_CTL_CHECKPOINT) - before, 2);

	/* In progress: one ack so far, its state counted. */
	fake_now += 300000;
	ack(f, job, f->nodes[0], 0, 1, 100, 3000);
	o = job_call(f, HTTP_GET, job, "checkpoints", NULL, NULL, &st);
	assert_int_equal(get(get(o, "counts"), "in_progress")->valueint, 1);
	assert_int_equal(get(get(o, "counts"), "total")->valueint, 1);
	const cJSON *h = cJSON_GetArrayItem(get(o, "history"), 0);
	assert_int_equal(get(h, "id")->valueint, 1);
	assert_string_equal(get(h, "status")->valuestring, "IN_PROGRESS");
	assert_true(cJSON_IsTrue(get(h, "is_savepoint")));
	assert_int_equal(get(h, "state_size")->valueint, 100);
	assert_int_equal(get(h, "alignment_ms")->valueint, 3);
	assert_int_equal(get(h, "end_to_end_duration")->valueint, 300);
	assert_string_equal(get(h, "external_path")->valuestring, want);
	cJSON_Delete(o);
	/* Not acknowledged in time: aborted (the job restarts), FAILED in the history. */
	job->ft.restart = COORD_RESTART_FIXED;
	job->ft.restart_attempts = 3;
	fake_now += COORD_CHECKPOINT_TIMEOUT_US + 1;
	coord_jobs_tick(&f->jobs, fake_now);
	o = job_call(f, HTTP_GET, job, "checkpoints", NULL, NULL, &st);
	assert_int_equal(get(get(o, "counts"), "in_progress")->valueint, 0);
	assert_int_equal(get(get(o, "counts"), "failed")->valueint, 1);
	h = cJSON_GetArrayItem(get(o, "history"), 0);
	assert_string_equal(get(h, "status")->valuestring, "FAILED");
	assert_true(cJSON_IsNull(get(get(o, "latest"), "completed")));
	cJSON_Delete(o);
}

static void test_stop_with_savepoint(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = make_job(f);
	job->ft.checkpoint_us = 5 * SEC;
	run_all(f, job);
	int st;
	cJSON *o = job_call(f, HTTP_POST, job, "savepoints", AUTH, "{}", &st);
	assert_int_equal(get(o, "id")->valueint, 1);
	cJSON_Delete(o);
	coord__chk_abort(job, "test: savepoint 1 ends, 2 may start");
	/* Stop with a savepoint: canceled once that one (not an earlier one) completes. */
	o = job_call(f, HTTP_POST, job, "savepoints", AUTH, "{\"stop\":true}", &st);
	assert_int_equal(st, 202);
	assert_int_equal(get(o, "id")->valueint, 2);
	assert_true(cJSON_IsTrue(get(o, "stop")));
	cJSON_Delete(o);
	assert_true(job->stop_after_savepoint);
	o = job_call(f, HTTP_POST, job, "savepoints", AUTH, NULL, &st);
	assert_int_equal(st, 409);
	assert_non_null(strstr(get(o, "error")->valuestring, "already stopping"));
	cJSON_Delete(o);
	coord__chk_after_complete_hook(&f->jobs, job, 1, fake_now);
	assert_int_equal(job->state, COORD_JOB_RUNNING);
	coord__chk_after_complete_hook(&f->jobs, job, 2, fake_now);
	assert_int_equal(job->state, COORD_JOB_CANCELED);
	assert_false(job->stop_after_savepoint);
	assert_non_null(strstr(job->exceptions[job->n_exceptions - 1].message, "savepoint 2"));
	assert_true(count_sent(WIRE_CTL_CANCEL) >= 2);
}

static void test_stop_savepoint_that_failed(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = make_job(f);
	job->ft.checkpoint_us = SEC;
	run_all(f, job);
	job->stop_after_savepoint = true;
	job->stop_savepoint_id = 3;
	/* A later checkpoint completed: savepoint 3 failed, the job keeps running. */
	coord__chk_after_complete_hook(&f->jobs, job, 4, fake_now);
	assert_int_equal(job->state, COORD_JOB_RUNNING);
	assert_false(job->stop_after_savepoint);
}

/* Latest 5 (adopted), history 3 (savepoint), 4 (failed), 5; attempt 1 restored from 3. */
static void give_history(struct coord_job *job, uint64_t t0)
{
	struct chk_task *v = calloc(job->n_tasks, sizeof(*v));
	for (size_t i = 0; i < job->n_tasks; i++)
		v[i].state_bytes = 100 * (i + 1);
	char *meta = coord__chk_to_json(job, 5, v, false);
	coord__chk_tasks_free(v, job->n_tasks);
	char err[256];
	assert_int_equal(coord__chk_adopt(job, meta, strlen(meta), 6, err, sizeof(err)), 0);
	free(meta);
	struct coord_chk *c = job->chk;
	c->hist[c->n_hist++] = (struct chk_hist){.id = 3,
						 .savepoint = true,
						 .completed = true,
						 .trigger_us = t0,
						 .ack_us = t0 + 200000,
						 .size = 300,
						 .alignment_us = 2000,
						 .path = "p3"};
	c->hist[c->n_hist++] = (struct chk_hist){
		.id = 4, .trigger_us = t0 + SEC, .ack_us = t0 + 1500000, .path = "p4"};
	c->hist[c->n_hist++] = (struct chk_hist){.id = 5,
						 .completed = true,
						 .trigger_us = t0 + 2 * SEC,
						 .ack_us = t0 + 2250000,
						 .size = 500,
						 .path = "p5"};
	c->completed = 2;
	c->failed = 1;
	c->restored = 1;
	job->attempt = 1;
	job->deploy_started_us = t0 + 1900000;
}

static void test_render_shapes(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = make_job(f);
	uint64_t t0 = fake_now;
	job->ft = (struct coord_ft){
		.checkpoint_us = 5 * SEC, .restart = COORD_RESTART_BACKOFF, .restart_attempts = 4};
	give_history(job, t0);
	int st;
	cJSON *o = job_call(f, HTTP_GET, job, "checkpoints", NULL, NULL, &st);
	assert_int_equal(st, 200);
	const cJSON *counts = get(o, "counts");
	assert_int_equal(get(counts, "restored")->valueint, 1);
	assert_int_equal(get(counts, "total")->valueint, 3);
	assert_int_equal(get(counts, "completed")->valueint, 2);
	assert_int_equal(get(counts, "failed")->valueint, 1);
	const cJSON *latest = get(o, "latest");
	const cJSON *lc = get(latest, "completed");
	assert_int_equal(get(lc, "id")->valueint, 5);
	assert_string_equal(get(lc, "status")->valuestring, "COMPLETED");
	assert_int_equal(get(lc, "end_to_end_duration")->valueint, 250);
	assert_int_equal(get(lc, "state_size")->valueint, 500);
	assert_true(get(lc, "trigger_timestamp")->valuedouble == (double)((t0 + 2 * SEC) / 1000));
	const cJSON *sp = get(latest, "savepoint");
	assert_int_equal(get(sp, "id")->valueint, 3);
	assert_true(cJSON_IsTrue(get(sp, "is_savepoint")));
	assert_int_equal(get(sp, "alignment_ms")->valueint, 2);
	const cJSON *rs = get(latest, "restored");
	assert_int_equal(get(rs, "id")->valueint, 3);
	assert_true(get(rs, "restore_timestamp")->valuedouble == (double)((t0 + 1900000) / 1000));
	assert_string_equal(get(rs, "external_path")->valuestring, "p3");
	const cJSON *hist = get(o, "history");
	static const int ids[] = {5, 4, 3};
	static const char *const status[] = {"COMPLETED", "FAILED", "COMPLETED"};
	assert_int_equal(cJSON_GetArraySize(hist), 3);
	for (int i = 0; i < 3; i++) {
		const cJSON *e = cJSON_GetArrayItem(hist, i);
		assert_int_equal(get(e, "id")->valueint, ids[i]);
		assert_string_equal(get(e, "status")->valuestring, status[i]);
		static const char *const fields[] = {"is_savepoint",         "trigger_timestamp",
						     "latest_ack_timestamp", "end_to_end_duration",
						     "state_size",           "alignment_ms",
						     "external_path"};
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
			(void)get(e, fields[k]);
	}
	assert_int_equal(get(o, "interval_ms")->valueint, 5000);
	assert_int_equal(get(get(o, "restart"), "attempt")->valueint, 1);
	assert_string_equal(get(get(o, "restart"), "strategy")->valuestring, "backoff");
	assert_int_equal(get(get(o, "restart"), "attempts_max")->valueint, 4);
	cJSON_Delete(o);

	/* The job document and the list carry the summary. */
	o = job_call(f, HTTP_GET, job, NULL, NULL, NULL, &st);
	assert_int_equal(get(o, "attempt")->valueint, 1);
	assert_int_equal(get(o, "restarts")->valueint, 1);
	assert_true(cJSON_IsNull(get(o, "restart_at_ms")));
	const cJSON *c = get(o, "checkpoints");
	assert_int_equal(get(c, "completed")->valueint, 2);
	assert_int_equal(get(c, "failed")->valueint, 1);
	assert_int_equal(get(c, "latest_id")->valueint, 5);
	cJSON_Delete(o);
	o = call(f, HTTP_GET, "/v1/jobs", NULL, NULL, &st);
	assert_int_equal(get(cJSON_GetArrayItem(get(o, "jobs"), 0), "attempt")->valueint, 1);
	cJSON_Delete(o);

	/* RESTARTING is a state like the others; the pending restart counts. */
	fake_now += SEC;
	coord_job_set_state(&f->jobs, job, COORD_JOB_RESTARTING, fake_now);
	job->restart_at_us = fake_now + 500000;
	o = job_call(f, HTTP_GET, job, NULL, NULL, NULL, &st);
	assert_string_equal(get(o, "state")->valuestring, "RESTARTING");
	assert_int_equal(get(o, "restarts")->valueint, 2);
	assert_true(get(o, "restart_at_ms")->valuedouble == (double)((fake_now + 500000) / 1000));
	assert_true(cJSON_IsNumber(get(get(o, "timestamps"), "RESTARTING")));
	assert_true(cJSON_IsNull(get(o, "end_time_ms")));
	cJSON_Delete(o);
	o = call(f, HTTP_GET, "/v1/overview", NULL, NULL, &st);
	assert_int_equal(get(get(o, "jobs"), "RESTARTING")->valueint, 1);
	cJSON_Delete(o);
}

static void test_submit_fields(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"{\"text\":\"generate(3).collect()\",\"checkpoint_us\":-1}",
		"{\"text\":\"generate(3).collect()\",\"checkpoint_us\":1.5}",
		"{\"text\":\"generate(3).collect()\",\"checkpoint_us\":\"5s\"}",
		"{\"text\":\"generate(3).collect()\",\"from_savepoint\":3}",
		"{\"text\":\"generate(3).collect()\",\"from_savepoint\":\"\"}",
	};
	int st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *o = call(f, HTTP_POST, "/v1/jobs", AUTH, bad[i], &st);
		assert_int_equal(st, 400);
		assert_string_equal(get(o, "code")->valuestring, "SD_EINVAL");
		cJSON_Delete(o);
	}
	assert_int_equal(f->jobs.n_jobs, 0);
	f->jobs.netfs.host = "127.0.0.1";
	f->jobs.netfs.port = 9;
	/* A bounded job takes no checkpoints, so it cannot start from one. */
	cJSON *o = call(f, HTTP_POST, "/v1/jobs", AUTH,
			"{\"text\":\"generate(3).collect()\",\"checkpoint_us\":2000000,"
			"\"from_savepoint\":\".stardust/x/checkpoints/chk-4\"}",
			&st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(get(o, "error")->valuestring, "cannot restore"));
	cJSON_Delete(o);
	o = call(f, HTTP_POST, "/v1/jobs", AUTH,
		 "{\"text\":\"tail_text(\\\"netfs://in/*.log\\\").print()\",\"checkpoint_us\":"
		 "2000000,\"from_savepoint\":\".stardust/x/checkpoints/chk-4\"}",
		 &st);
	assert_int_equal(st, 202);
	cJSON_Delete(o);
	assert_int_equal(f->jobs.n_jobs, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_document_and_routes, setup,
						teardown_chk),
		cmocka_unit_test_setup_teardown(test_savepoint_route, setup, teardown_chk),
		cmocka_unit_test_setup_teardown(test_stop_with_savepoint, setup, teardown_chk),
		cmocka_unit_test_setup_teardown(test_stop_savepoint_that_failed, setup,
						teardown_chk),
		cmocka_unit_test_setup_teardown(test_render_shapes, setup, teardown_chk),
		cmocka_unit_test_setup_teardown(test_submit_fields, setup, teardown_chk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
