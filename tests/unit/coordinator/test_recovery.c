/*
 * tests/unit/coordinator/test_recovery.c — restarts (coordinator/recovery.c)
 * driven through the job table with a fake clock and send seam
 * (api_fixture.h: nodes eu-1 in eu-west and us-1 in us-east).
 *
 * A job spread over regions was placed while only one region had a node;
 * the other region came back, then a task failed. Keeping the surviving
 * tasks where they were now breaks the spread (one task per region), so the
 * restart must place afresh instead of failing the job.
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
#include "tests/unit/coordinator/api_fixture.h"

static struct coord_job *running_job(struct fixture *f, const char *text)
{
	struct coord_submit sub = {.text = text,
				   .text_len = strlen(text),
				   .place = true,
				   .deploy = true,
				   .checkpoint_us = -1};
	struct coord_job *job = NULL;
	char err[1024];
	assert_int_equal(coord_jobs_submit(&f->jobs, &sub, fake_now, &job, err, sizeof(err)), 0);
	for (size_t i = 0; i < job->n_tasks; i++) {
		Sd__Control__TaskStatus st = SD__CONTROL__TASK_STATUS__INIT;
		st.job_id = job->id;
		st.task_id = job->tasks[i].task_id;
		st.state = SD__CONTROL__TASK_STATE__TASK_RUNNING;
		st.attempt = job->attempt;
		struct coord_node *n = coord_registry_find_id(&f->reg, job->tasks[i].node_id);
		assert_int_equal(coord_jobs_task_status(&f->jobs, n, &st, fake_now), 0);
	}
	assert_int_equal(job->state, COORD_JOB_RUNNING);
	return job;
}

static void test_restart_places_afresh_when_pinning_breaks_spread(void **state)
{
	struct fixture *f = *state;
	f->jobs.netfs.host = "127.0.0.1"; /* print() needs a file service; never reached */
	f->jobs.netfs.port = 9;
	coord_registry_disconnect(&f->reg, f->nodes[1], fake_now); /* us-east gone */
	struct coord_job *job =
		running_job(f, "job \"s\" { parallelism = 2 }\n"
			       "generate(100).map(x -> x * 2) @spread(by = \"region\") .print()\n");
	for (size_t i = 0; i < job->n_tasks; i++)
		assert_int_equal(job->tasks[i].node_id, f->nodes[0]->id); /* all in eu-west */

	/* us-1 registers again (same name, same record); then a task fails. */
	Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
	m.protocol_version = WIRE_VERSION;
	m.name = "us-1";
	m.region = "us-east";
	m.slots = 2;
	char reason[64];
	int dummy;
	struct coord_node *back;
	assert_int_equal(coord_registry_register(&f->reg, &m, fake_now, &dummy, &back, reason,
						 sizeof(reason)),
			 0);
	Sd__Control__TaskStatus st = SD__CONTROL__TASK_STATUS__INIT;
	st.job_id = job->id;
	st.task_id = job->tasks[0].task_id;
	st.state = SD__CONTROL__TASK_STATE__TASK_FAILED;
	st.error_code = SD_EIO;
	st.error_message = "disk hiccup";
	assert_int_equal(coord_jobs_task_status(&f->jobs, f->nodes[0], &st, fake_now), 0);
	assert_int_equal(job->state, COORD_JOB_RESTARTING);

	fake_now += 2 * SEC; /* past the restart delay */
	coord_jobs_tick(&f->jobs, fake_now);
	assert_int_equal(job->state, COORD_JOB_DEPLOYING);
	assert_int_equal(job->attempt, 1);
	assert_int_not_equal(job->tasks[0].node_id, job->tasks[1].node_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_restart_places_afresh_when_pinning_breaks_spread, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
