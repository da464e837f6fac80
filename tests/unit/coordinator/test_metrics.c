/*
 * tests/unit/coordinator/test_metrics.c — /metrics is valid Prometheus text
 * (checked by prom_check.h, written from the exposition format spec, not
 * from metrics.c) and its values match the registry and job table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/checkpoint_priv.h"
#include "tests/unit/coordinator/prom_check.h"

#define SEC 1000000ull

static uint64_t now_fn(void)
{
	return 1000 * SEC;
}

static void test_metrics_valid_and_consistent(void **state)
{
	struct coord_registry reg;
	struct coord_jobs jobs;
	coord_registry_init(&reg, "J", 5 * SEC);
	coord_jobs_init(&jobs, &reg, NULL, NULL);
	struct coord_api api = {
		.registry = &reg, .jobs = &jobs, .now_us = now_fn, .started_at_us = 990 * SEC};
	/* A node whose name needs escaping, one refusal, one heartbeat with RTT. */
	Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
	m.protocol_version = WIRE_VERSION;
	m.name = "we\"ird\\name";
	m.region = "eu";
	m.token = "J";
	struct coord_node *n;
	char reason[64];
	assert_int_equal(coord_registry_register(&reg, &m, 995 * SEC, NULL, &n, reason, 64), 0);
	m.token = "bad";
	m.name = "other";
	assert_int_not_equal(coord_registry_register(&reg, &m, 995 * SEC, NULL, &n, reason, 64), 0);
	Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
	hb.rtt_us = 2500;
	n = coord_registry_find_id(&reg, 1);
	coord_registry_heartbeat(&reg, n, &hb, 996 * SEC);
	uint32_t par[] = {2};
	struct coord_job *job;
	assert_int_equal(coord_jobs_add_for_test(&jobs, "j", 1, par, 997 * SEC, &job), 0);
	job->tasks[0].counters.records_in = 40;
	job->tasks[1].counters.records_in = 2;
	api.stats.requests_total = 17;

	char *text = coord_metrics_render(&api, now_fn());
	assert_non_null(text);
	struct prom_doc doc;
	char err[256] = "";
	int rc = prom_parse(text, &doc, err, sizeof(err));
	if (rc)
		fail_msg("invalid exposition: %s\n%s", err, text);
	assert_true(doc.n_samples > 20);
	for (size_t i = 0; i < doc.n_samples; i++) {
		assert_int_equal(strncmp(doc.samples[i].name, "stardust_", 9), 0);
		const char *type = prom_type_of(&doc, doc.samples[i].name);
		assert_non_null(type);
		size_t len = strlen(doc.samples[i].name);
		bool total = len > 6 && strcmp(doc.samples[i].name + len - 6, "_total") == 0;
		/* Counters, and only counters, end in _total. */
		assert_int_equal(total, strcmp(type, "counter") == 0);
	}
	assert_true(prom_value(&doc, "stardust_node_registrations_total", NULL) == 1);
	assert_true(prom_value(&doc, "stardust_node_registrations_refused_total", NULL) == 1);
	assert_true(prom_value(&doc, "stardust_node_heartbeats_total", NULL) == 1);
	assert_true(prom_value(&doc, "stardust_nodes", "state=\"ready\"") == 1);
	assert_true(prom_value(&doc, "stardust_node_rtt_seconds",
			       "node=\"we\\\"ird\\\\name\",region=\"eu\"") == 0.0025);
	assert_true(prom_value(&doc, "stardust_http_requests_total", NULL) == 17);
	assert_true(prom_value(&doc, "stardust_coordinator_uptime_seconds", NULL) == 10);
	char labels[128];
	snprintf(labels, sizeof(labels), "job=\"%s\",stage=\"0\"", job->id);
	assert_true(prom_value(&doc, "stardust_stage_records_in_total", labels) == 42);
	assert_true(prom_value(&doc, "stardust_jobs", "state=\"CREATED\"") == 1);
	prom_free(&doc);
	free(text);
	coord_jobs_fini(&jobs);
	coord_registry_fini(&reg);
}

static void test_fault_tolerance_metrics(void **state)
{
	struct coord_registry reg;
	struct coord_jobs jobs;
	coord_registry_init(&reg, NULL, 5 * SEC);
	coord_jobs_init(&jobs, &reg, NULL, NULL);
	struct coord_api api = {.registry = &reg, .jobs = &jobs, .now_us = now_fn};
	uint32_t par[] = {1};
	struct coord_job *a, *b;
	assert_int_equal(coord_jobs_add_for_test(&jobs, "a", 1, par, 997 * SEC, &a), 0);
	assert_int_equal(coord_jobs_add_for_test(&jobs, "b", 1, par, 997 * SEC, &b), 0);
	/* a checkpoints and restarted twice; b has no checkpoints. */
	a->attempt = 2;
	a->ft.checkpoint_us = SEC;
	struct coord_chk *c = calloc(1, sizeof(*c));
	c->completed = 4;
	c->failed = 1;
	c->latest_id = 5;
	c->last_duration_us = 1500000;
	c->last_size = 2048;
	a->chk = c;
	jobs.restarts_total = 7;

	char *text = coord_metrics_render(&api, now_fn());
	assert_non_null(text);
	struct prom_doc doc;
	char err[256] = "";
	if (prom_parse(text, &doc, err, sizeof(err)))
		fail_msg("invalid exposition: %s\n%s", err, text);
	char la[64], lb[64];
	snprintf(la, sizeof(la), "job=\"%s\"", a->id);
	snprintf(lb, sizeof(lb), "job=\"%s\"", b->id);
	assert_true(prom_value(&doc, "stardust_jobs_restarts_total", NULL) == 7);
	assert_true(prom_value(&doc, "stardust_job_restarts_total", la) == 2);
	assert_true(prom_value(&doc, "stardust_job_restarts_total", lb) == 0);
	assert_true(prom_value(&doc, "stardust_checkpoints_completed_total", la) == 4);
	assert_true(prom_value(&doc, "stardust_checkpoints_failed_total", la) == 1);
	assert_true(prom_value(&doc, "stardust_checkpoint_last_duration_seconds", la) == 1.5);
	assert_true(prom_value(&doc, "stardust_checkpoint_last_size_bytes", la) == 2048);
	/* A job without checkpoints has no checkpoint samples at all. */
	char line[128];
	snprintf(line, sizeof(line), "stardust_checkpoints_completed_total{%s}", lb);
	assert_null(strstr(text, line));
	prom_free(&doc);
	free(text);
	coord_jobs_fini(&jobs);
	coord_registry_fini(&reg);
}

static void test_checker_rejects_bad_text(void **state)
{
	struct prom_doc doc;
	char err[256];
	/* The checker itself must fail on broken input, or the test above proves nothing. */
	assert_int_not_equal(prom_parse("stardust_x 1\n", &doc, err, sizeof(err)), 0);
	assert_int_not_equal(prom_parse("# TYPE stardust_x counter\nstardust_x{a=\"b} 1\n", &doc,
					err, sizeof(err)),
			     0);
	assert_int_not_equal(
		prom_parse("# TYPE stardust_x gauge\nstardust_x one\n", &doc, err, sizeof(err)), 0);
	assert_int_not_equal(
		prom_parse("# TYPE stardust_x gauge\nstardust_x 1", &doc, err, sizeof(err)), 0);
	assert_int_equal(prom_parse("# HELP stardust_x h\n# TYPE stardust_x gauge\n"
				    "stardust_x{a=\"q\\\"\"} 1.5e3\n",
				    &doc, err, sizeof(err)),
			 0);
	assert_true(prom_value(&doc, "stardust_x", "a=\"q\\\"\"") == 1500);
	prom_free(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_valid_and_consistent),
		cmocka_unit_test(test_fault_tolerance_metrics),
		cmocka_unit_test(test_checker_rejects_bad_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
