/*
 * tests/unit/coordinator/test_store.c — the job store (store.c): jobs saved
 * by one job table come back in a fresh one, ended ones as they ended, the
 * rest RESTARTING with their attempt, options and latest checkpoint; records
 * that cannot be read are skipped, never fatal. Expected values are what the
 * test set on the saved jobs, not what the store wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "base/err.h"
#include "coordinator/checkpoint_api.h"
#include "coordinator/checkpoint_priv.h"
#include "placement/placement.h"

#define SEC 1000000ull
#define T0  (1700000000ull * SEC)

#define TEXT_GEN   "generate(10).map(x -> x * 2).collect()"
#define TEXT_WIDE  "generate(100).map(x -> x + 1).collect()"
#define BAD_ID_A   "00000000000000000000000000000aaa"
#define BAD_ID_B   "00000000000000000000000000000bbb"
#define BAD_ID_C   "00000000000000000000000000000ccc"
#define BAD_ID_D   "00000000000000000000000000000ddd"
#define OTHER_ID   "0123456789abcdef0123456789abcdef"
#define STALE_TEXT "generate(3).nonsense_operator().collect()"

static size_t n_deploys;
static int count_send(void *arg, struct coord_node *node, uint16_t type,
		      const ProtobufCMessage *msg)
{
	(void)arg;
	(void)node;
	(void)msg;
	n_deploys += type == WIRE_CTL_DEPLOY;
	return 0;
}

/*
 * Frees the snapshot paths early (coord__chk_tasks_free would too): kept
 * so the teardown order does not matter.
 */
static void free_snapshots(struct coord_jobs *t)
{
	for (size_t j = 0; j < t->n_jobs; j++) {
		struct coord_chk *c = t->jobs[j]->chk;
		for (size_t i = 0; c && c->latest && i < t->jobs[j]->n_tasks; i++) {
			free(c->latest[i].snapshot);
			c->latest[i].snapshot = NULL;
		}
	}
}

struct fixture {
	char dir[64];
	struct coord_registry reg;
	struct coord_jobs jobs;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sd-store-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	coord_registry_init(&f->reg, NULL, 5 * SEC);
	coord_jobs_init(&f->jobs, &f->reg, count_send, NULL);
	f->jobs.state_dir = f->dir;
	n_deploys = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free_snapshots(&f->jobs);
	coord_jobs_fini(&f->jobs);
	coord_registry_fini(&f->reg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Compiled, CREATED, not yet saved (a submission with place = false). */
static struct coord_job *submit(struct coord_jobs *t, const char *name, const char *text,
				uint64_t now)
{
	static const char *const cons[] = {"region=eu-west"};
	static const char *const prefs[] = {"zone=eu-west-b:5"};
	struct coord_submit sub = {.text = text,
				   .text_len = strlen(text),
				   .name = name,
				   .constraints = cons,
				   .n_constraints = 1,
				   .preferences = prefs,
				   .n_preferences = 1,
				   .checkpoint_us = -1};
	struct coord_job *job = NULL;
	char err[512];
	assert_int_equal(coord_jobs_submit(t, &sub, now, &job, err, sizeof(err)), 0);
	return job;
}

/* Through the states one by one (each change saves the job). */
static void advance(struct coord_jobs *t, struct coord_job *job, enum coord_job_state to,
		    uint64_t now)
{
	for (int s = job->state + 1; s <= (int)to; s++)
		coord_job_set_state(t, job, (enum coord_job_state)s, now + (uint64_t)s * SEC);
}

/* Latest checkpoint 7 of job: task 0 staged 50 bytes after 100 published;
 * task 1 had 70 bytes published earlier and staged nothing for 7. */
static void give_checkpoint(struct coord_job *job)
{
	struct chk_task *v = calloc(job->n_tasks, sizeof(*v));
	for (size_t i = 0; i < job->n_tasks; i++) {
		v[i].acked = true;
		v[i].state_bytes = 1000 + i;
		v[i].snapshot = strdup("snap");
	}
	v[0].staged_path = strdup(".stardust/x/checkpoints/staged/a2-part-00000");
	v[0].staged_bytes = 50;
	v[0].before = 100;
	if (job->n_tasks > 1)
		v[1].before = 70;
	char *meta = coord__chk_to_json(job, 7, v, false);
	coord__chk_tasks_free(v, job->n_tasks); /* frees the snapshots too */
	char err[256];
	assert_int_equal(coord__chk_adopt(job, meta, strlen(meta), 9, err, sizeof(err)), 0);
	free(meta);
	struct coord_chk *c = job->chk;
	c->completed = 3;
	c->failed = 1;
	c->last_duration_us = 250000;
	c->last_size = 4242;
	c->kept[c->n_kept++] = 4;
	c->hist[c->n_hist++] = (struct chk_hist){
		.id = 4, .savepoint = true, .completed = true, .trigger_us = T0, .ack_us = T0 + 9};
	c->hist[c->n_hist++] = (struct chk_hist){.id = 6, .trigger_us = T0 + 20, .ack_us = T0 + 30};
	c->hist[c->n_hist++] = (struct chk_hist){
		.id = 7, .completed = true, .trigger_us = T0 + 40, .ack_us = T0 + 90, .size = 77};
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/jobs/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A record as coord__store_save writes it, with the fields the test varies. */
static void write_record(const char *dir, const char *file, const char *id, const char *state,
			 const char *text)
{
	char rec[1024];
	snprintf(rec, sizeof(rec),
		 "{\"format\":1,\"id\":\"%s\",\"name\":\"r\",\"text\":\"%s\",\"constraints\":[],"
		 "\"state\":\"%s\",\"state_at_us\":{\"CREATED\":5},\"failure_code\":0,"
		 "\"attempt\":0,\"ft\":{\"checkpoint_us\":0,\"restart\":1,"
		 "\"restart_attempts\":3,\"restart_delay_us\":1,\"restart_delay_max_us\":2}}",
		 id, text, state);
	write_file(dir, file, rec);
}

static void test_save_and_load(void **state)
{
	struct fixture *f = *state;
	struct coord_jobs *t = &f->jobs;
	/* Saved in this order; loaded back in submission (CREATED) order. */
	struct coord_job *run = submit(t, "run.sd", TEXT_GEN, T0 + 100 * SEC);
	struct coord_job *fin = submit(t, "fin.sd", TEXT_WIDE, T0);
	struct coord_job *bad = submit(t, "bad.sd", TEXT_GEN, T0 + 10 * SEC);
	struct coord_job *can = submit(t, "can.sd", TEXT_GEN, T0 + 20 * SEC);
	advance(t, fin, COORD_JOB_FINISHED, T0);
	advance(t, bad, COORD_JOB_RUNNING, T0 + 10 * SEC);
	coord_job_fail(t, bad, SD_EIO, "task 0 on node n1: disk on fire", 0, "n1", T0 + 15 * SEC);
	advance(t, can, COORD_JOB_DEPLOYING, T0 + 20 * SEC);
	assert_int_equal(coord_jobs_cancel(t, can, "by hand", T0 + 25 * SEC), 0);
	advance(t, run, COORD_JOB_RUNNING, T0 + 100 * SEC);
	run->attempt = 2;
	run->ft = (struct coord_ft){.checkpoint_us = 2 * SEC,
				    .restart = COORD_RESTART_BACKOFF,
				    .restart_attempts = 7,
				    .restart_delay_us = 300000,
				    .restart_delay_max_us = 9 * SEC};
	give_checkpoint(run);
	coord__store_save(t, run);
	char run_id[COORD_ID_LEN + 1], fin_id[COORD_ID_LEN + 1], bad_id[COORD_ID_LEN + 1];
	memcpy(run_id, run->id, sizeof(run_id));
	memcpy(fin_id, fin->id, sizeof(fin_id));
	memcpy(bad_id, bad->id, sizeof(bad_id));
	size_t run_tasks = run->n_tasks, fin_tasks = fin->n_tasks;

	struct coord_jobs t2;
	coord_jobs_init(&t2, &f->reg, count_send, NULL);
	t2.state_dir = f->dir;
	uint64_t now = T0 + 1000 * SEC;
	assert_int_equal(coord_jobs_load(&t2, now), 4);
	assert_int_equal(t2.n_jobs, 4);
	assert_string_equal(t2.jobs[0]->id, fin_id);
	assert_string_equal(t2.jobs[1]->id, bad_id);
	assert_string_equal(t2.jobs[3]->id, run_id);

	/* Ended jobs: as they ended, tasks ended too, compiled (a plan to show). */
	const struct coord_job *j = t2.jobs[0];
	assert_string_equal(j->name, "fin.sd");
	assert_int_equal(j->state, COORD_JOB_FINISHED);
	assert_int_equal(j->state_at_us[COORD_JOB_RUNNING], T0 + 3 * SEC);
	assert_int_equal(j->state_at_us[COORD_JOB_FINISHED], T0 + 4 * SEC);
	assert_int_equal(j->n_tasks, fin_tasks);
	assert_non_null(j->plan_json);
	for (size_t i = 0; i < j->n_tasks; i++)
		assert_int_equal(j->tasks[i].state, SD__CONTROL__TASK_STATE__TASK_FINISHED);
	j = t2.jobs[1];
	assert_int_equal(j->state, COORD_JOB_FAILED);
	assert_int_equal(j->failure_code, SD_EIO);
	assert_int_equal(j->n_exceptions, 1);
	assert_true(j->exceptions[0].root_cause);
	assert_string_equal(j->exceptions[0].message, "task 0 on node n1: disk on fire");
	assert_string_equal(j->exceptions[0].node, "n1");
	for (size_t i = 0; i < j->n_tasks; i++)
		assert_int_equal(j->tasks[i].state, SD__CONTROL__TASK_STATE__TASK_CANCELED);
	assert_int_equal(t2.jobs[2]->state, COORD_JOB_CANCELED);

	/* The running job: RESTARTING now, placed anew, its options and checkpoint back. */
	j = t2.jobs[3];
	assert_int_equal(j->state, COORD_JOB_RESTARTING);
	assert_int_equal(j->state_at_us[COORD_JOB_RESTARTING], now);
	assert_int_equal(j->state_at_us[COORD_JOB_RUNNING], T0 + 100 * SEC + 3 * SEC);
	assert_int_equal(j->restart_at_us, now);
	assert_int_equal(j->last_restart_us, now);
	assert_int_equal(j->attempt, 2);
	assert_int_equal(coord_job_restarts(j), 3);
	assert_int_equal(t2.restarts_total, 1);
	assert_int_equal(j->ft.checkpoint_us, 2 * SEC);
	assert_int_equal(j->ft.restart, COORD_RESTART_BACKOFF);
	assert_int_equal(j->ft.restart_attempts, 7);
	assert_int_equal(j->ft.restart_delay_us, 300000);
	assert_int_equal(j->ft.restart_delay_max_us, 9 * SEC);
	assert_int_equal(j->n_tasks, run_tasks);
	for (size_t i = 0; i < j->n_tasks; i++)
		assert_int_equal(j->tasks[i].node_id, 0);
	const struct coord_compiled *cc = j->compiled;
	assert_int_equal(cc->n_constraints, 2);
	assert_string_equal(cc->constraints[0].origin, "region=eu-west");
	assert_false(cc->constraints[0].soft);
	assert_string_equal(cc->constraints[1].origin, "zone=eu-west-b:5");
	assert_true(cc->constraints[1].soft);
	const struct coord_chk *c = j->chk;
	assert_non_null(c);
	assert_int_equal(c->latest_id, 7);
	assert_int_equal(c->latest_attempt, 2);
	assert_int_equal(c->next_id, 9);
	assert_int_equal(c->published[0], 150);
	/* A part that staged nothing in the latest checkpoint keeps its size: 0
	 * here made the next publish cut that part back to nothing (chaos seed 25
	 * lost its first windows after a coordinator restart). */
	assert_int_equal(c->published[1], 70);
	assert_int_equal(c->latest[0].staged_bytes, 50);
	assert_int_equal(c->latest[1].state_bytes, 1001);
	assert_int_equal(c->completed, 3);
	assert_int_equal(c->failed, 1);
	assert_int_equal(c->last_size, 4242);
	assert_true(coord__chk_kept(c, 4));
	assert_int_equal(c->n_hist, 3);
	assert_int_equal(c->hist[2].id, 7);
	assert_int_equal(c->hist[2].size, 77);
	assert_false(c->hist[1].completed);
	assert_true(c->hist[0].savepoint);
	/* Why it restarted, for people (not a root cause: nothing failed in the job). */
	assert_non_null(strstr(j->exceptions[j->n_exceptions - 1].message, "checkpoint 7"));
	assert_false(j->exceptions[j->n_exceptions - 1].root_cause);

	/* Saved RESTARTING: a second restart of the coordinator finds it the same way. */
	struct coord_jobs t3;
	coord_jobs_init(&t3, &f->reg, count_send, NULL);
	t3.state_dir = f->dir;
	assert_int_equal(coord_jobs_load(&t3, now + SEC), 4);
	struct coord_job *again = coord_jobs_find(&t3, run_id);
	assert_non_null(again);
	assert_int_equal(again->state, COORD_JOB_RESTARTING);
	assert_int_equal(again->attempt, 2);
	assert_int_equal(coord__chk_latest(again), 7);
	/* Loading twice into one table adds nothing: the ids are taken. */
	assert_int_equal(coord_jobs_load(&t3, now + SEC), 0);
	assert_int_equal(t3.n_jobs, 4);
	free_snapshots(&t3);
	coord_jobs_fini(&t3);
	free_snapshots(&t2);
	coord_jobs_fini(&t2);
}

static void test_redeploys_once_nodes_register(void **state)
{
	struct fixture *f = *state;
	struct coord_job *job = submit(&f->jobs, "gen.sd", TEXT_GEN, T0);
	advance(&f->jobs, job, COORD_JOB_RUNNING, T0);
	char id[COORD_ID_LEN + 1];
	memcpy(id, job->id, sizeof(id));

	struct coord_jobs t2;
	coord_jobs_init(&t2, &f->reg, count_send, NULL);
	t2.state_dir = f->dir;
	assert_int_equal(coord_jobs_load(&t2, T0 + 100 * SEC), 1);
	struct coord_job *back = coord_jobs_find(&t2, id);
	/* No node yet: it waits. */
	coord_jobs_tick(&t2, T0 + 101 * SEC);
	assert_int_equal(back->state, COORD_JOB_RESTARTING);
	assert_int_equal(n_deploys, 0);
	Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
	m.protocol_version = WIRE_VERSION;
	m.name = "eu-1";
	m.region = "eu-west";
	m.zone = "eu-west-b";
	m.slots = 8;
	struct coord_node *n;
	char reason[64];
	int conn;
	assert_int_equal(coord_registry_register(&f->reg, &m, T0 + 102 * SEC, &conn, &n, reason,
						 sizeof(reason)),
			 0);
	coord_jobs_tick(&t2, T0 + 103 * SEC);
	assert_int_equal(back->state, COORD_JOB_DEPLOYING);
	assert_int_equal(back->attempt, 1);
	assert_int_equal(n_deploys, back->n_tasks);
	for (size_t i = 0; i < back->n_tasks; i++)
		assert_int_equal(back->tasks[i].node_id, n->id);
	coord_jobs_fini(&t2);
}

static void test_malformed_records_are_skipped(void **state)
{
	struct fixture *f = *state;
	struct coord_job *ok = submit(&f->jobs, "ok.sd", TEXT_GEN, T0);
	advance(&f->jobs, ok, COORD_JOB_FINISHED, T0);
	char jobs[128];
	snprintf(jobs, sizeof(jobs), "%s/jobs", f->dir);
	write_file(f->dir, BAD_ID_A ".json", "{not json");
	write_file(f->dir, BAD_ID_B ".json", "{\"format\":99}");
	write_file(f->dir, BAD_ID_C ".json", "[1,2,3]");
	/* Well formed, but not the file's own id. */
	write_record(f->dir, BAD_ID_D ".json", OTHER_ID, "FINISHED", TEXT_GEN);
	/* An unknown state, and a text that no longer compiles. */
	write_record(f->dir, OTHER_ID ".json", OTHER_ID, "DANCING", TEXT_GEN);
	write_record(f->dir, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json",
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "FINISHED", STALE_TEXT);
	write_record(f->dir, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.json",
		     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "RUNNING", STALE_TEXT);
	write_file(f->dir, "notes.txt", "not a record");
	write_file(f->dir, ".ffffffffffffffffffffffffffffffff.json.tmp", "{");
	write_file(f->dir, "x.json", "");
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/cccccccccccccccccccccccccccccccc.json", jobs);
	assert_int_equal(mkdir(sub, 0700), 0);

	struct coord_jobs t2;
	coord_jobs_init(&t2, &f->reg, count_send, NULL);
	t2.state_dir = f->dir;
	assert_int_equal(coord_jobs_load(&t2, T0 + 50 * SEC), 3);
	assert_non_null(coord_jobs_find(&t2, ok->id));
	assert_null(coord_jobs_find(&t2, OTHER_ID));
	/* Ended, no longer compiles: listed, without a plan. */
	struct coord_job *stale = coord_jobs_find(&t2, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_non_null(stale);
	assert_int_equal(stale->state, COORD_JOB_FINISHED);
	assert_null(stale->plan_json);
	assert_int_equal(stale->n_tasks, 0);
	/* Running, no longer compiles: it cannot come back, so it failed, saying why. */
	struct coord_job *gone = coord_jobs_find(&t2, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	assert_non_null(gone);
	assert_int_equal(gone->state, COORD_JOB_FAILED);
	assert_true(gone->exceptions[gone->n_exceptions - 1].root_cause);
	assert_non_null(
		strstr(gone->exceptions[gone->n_exceptions - 1].message, "coordinator restarted"));
	coord_jobs_fini(&t2);

	/* Without a state directory, or with an empty one, nothing is loaded. */
	struct coord_jobs t3;
	coord_jobs_init(&t3, &f->reg, count_send, NULL);
	assert_int_equal(coord_jobs_load(&t3, T0), 0);
	t3.state_dir = "/nonexistent/sd-store";
	assert_int_equal(coord_jobs_load(&t3, T0), 0);
	coord_jobs_fini(&t3);
}

static void test_adopt_checks(void **state)
{
	struct fixture *f = *state;
	struct coord_jobs *t = &f->jobs;
	assert_null(coord__job_adopt(t, "xyz", "n", T0));
	assert_null(coord__job_adopt(t, "0123456789ABCDEF0123456789abcdef", "n", T0));
	struct coord_job *a = coord__job_adopt(t, OTHER_ID, "", T0);
	assert_non_null(a);
	assert_string_equal(a->id, OTHER_ID);
	assert_string_equal(a->name, "job");
	assert_int_equal(a->state, COORD_JOB_CREATED);
	assert_int_equal(a->state_at_us[COORD_JOB_CREATED], T0);
	assert_null(coord__job_adopt(t, OTHER_ID, "again", T0)); /* taken */
	assert_int_equal(t->n_jobs, 1);
	/* Metadata of another graph is refused and leaves job->chk alone. */
	struct coord_job *job = submit(t, "g.sd", TEXT_GEN, T0);
	char err[256];
	const char *meta = "{\"format\":1,\"checkpoint\":3,\"stages\":[],\"tasks\":[]}";
	assert_int_equal(coord__chk_adopt(job, meta, strlen(meta), 0, err, sizeof(err)), SD_ESTATE);
	assert_null(job->chk);
	assert_int_equal(coord__chk_adopt(job, "{", 1, 0, err, sizeof(err)), SD_EPROTO);
	assert_null(job->chk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_save_and_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redeploys_once_nodes_register, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed_records_are_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_adopt_checks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
