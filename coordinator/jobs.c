/*
 * coordinator/jobs.c — the job table and each job's lifecycle (coord_jobs_*).
 *
 *   CREATED -> PLACING -> DEPLOYING -> RUNNING -> FINISHED
 *                 \           \    ^  |     \----> FAILED / CANCELED
 *                  \           \   |  v
 *                   \           RESTARTING -------> FAILED / CANCELED
 *                    \-------------------------> FAILED / CANCELED
 *
 * A recoverable failure of a deploying or running job stops every task and
 * redeploys the job as a new attempt after its restart delay (recovery.c).
 * Every state is stamped when entered. A job fails with one root cause (the
 * first failure); later failures are recorded as exceptions too. Task
 * states come from nodes (CTL_TASK_STATUS, heartbeats); when every task has
 * FINISHED, jobs_run.c sends CTL_JOB_DONE, assembles the sinks and FINISHES
 * the job. No I/O here: messages leave through the table's send callback,
 * file service calls through its async seam (jobs_run.c).
 */
#include "coordinator/coord_priv.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

#define ERR_TEXT_MAX COORD_ERR_TEXT_MAX

int coord_jobs_init(struct coord_jobs *t, struct coord_registry *registry, coord_send_fn *send,
		    void *send_arg)
{
	memset(t, 0, sizeof(*t));
	t->ft_defaults = (struct coord_ft){
		.checkpoint_us = COORD_CHECKPOINT_DEFAULT_US,
		.restart = COORD_RESTART_FIXED,
		.restart_attempts = COORD_RESTART_ATTEMPTS,
		.restart_delay_us = COORD_RESTART_DELAY_US,
		.restart_delay_max_us = COORD_RESTART_DELAY_MAX_US,
	};
	t->registry = registry;
	t->send = send;
	t->send_arg = send_arg;
	return 0;
}

static void job_free(struct coord_job *job)
{
	coord__free_compiled(job);
	free(job->name);
	free(job->text);
	for (size_t i = 0; i < job->n_stages; i++)
		free(job->stages[i].name);
	free(job->stages);
	for (size_t i = 0; i < job->n_tasks; i++)
		free(job->tasks[i].error_message);
	free(job->tasks);
	coord__chk_free(job);
	for (size_t i = 0; i < job->n_exceptions; i++) {
		free(job->exceptions[i].message);
		free(job->exceptions[i].node);
	}
	free(job->plan_json);
	free(job->render_cache);
	free(job->from_savepoint);
	free(job);
}

void coord_jobs_fini(struct coord_jobs *t)
{
	for (size_t i = 0; i < t->n_jobs; i++)
		job_free(t->jobs[i]);
	free(t->jobs);
	memset(t, 0, sizeof(*t));
}

static const char *const job_state_names[COORD_JOB_STATE_COUNT] = {
	"CREATED",  "PLACING", "DEPLOYING", "RUNNING",
	"FINISHED", "FAILED",  "CANCELED",  "RESTARTING",
};

const char *coord_job_state_name(enum coord_job_state s)
{
	return (unsigned)s < COORD_JOB_STATE_COUNT ? job_state_names[s] : "UNKNOWN";
}

bool coord_job_state_terminal(enum coord_job_state s)
{
	return s == COORD_JOB_FINISHED || s == COORD_JOB_FAILED || s == COORD_JOB_CANCELED;
}

const char *coord_task_state_name(int s)
{
	switch (s) {
	case SD__CONTROL__TASK_STATE__TASK_DEPLOYING:
		return "DEPLOYING";
	case SD__CONTROL__TASK_STATE__TASK_RUNNING:
		return "RUNNING";
	case SD__CONTROL__TASK_STATE__TASK_FINISHED:
		return "FINISHED";
	case SD__CONTROL__TASK_STATE__TASK_FAILED:
		return "FAILED";
	case SD__CONTROL__TASK_STATE__TASK_CANCELED:
		return "CANCELED";
	default:
		return "CREATED";
	}
}

static bool task_terminal(int s)
{
	return s == SD__CONTROL__TASK_STATE__TASK_FINISHED ||
	       s == SD__CONTROL__TASK_STATE__TASK_FAILED ||
	       s == SD__CONTROL__TASK_STATE__TASK_CANCELED;
}

/* Forward moves only, and nothing leaves a terminal state. */
static bool transition_allowed(enum coord_job_state from, enum coord_job_state to)
{
	if (coord_job_state_terminal(from))
		return false;
	if (to == COORD_JOB_RESTARTING)
		return from == COORD_JOB_DEPLOYING || from == COORD_JOB_RUNNING;
	if (from == COORD_JOB_RESTARTING)
		return to == COORD_JOB_DEPLOYING || to == COORD_JOB_FAILED ||
		       to == COORD_JOB_CANCELED;
	if (coord_job_state_terminal(to))
		return to != COORD_JOB_FINISHED || from == COORD_JOB_RUNNING;
	return to == from + 1;
}

void coord_job_set_state(struct coord_jobs *t, struct coord_job *job, enum coord_job_state state,
			 uint64_t now_us)
{
	assert(transition_allowed(job->state, state));
	job->state = state;
	job->version++;
	job->state_at_us[state] = now_us ? now_us : 1;
	if (coord_job_state_terminal(state))
		t->finished_total[state]++;
	if (state != COORD_JOB_PLACING) /* submit saves once it has the job's options */
		coord__store_save(t, job);
	sd_log_info("coord", "job %s: %s", job->id, coord_job_state_name(state));
}

void coord__add_exception(struct coord_job *job, int code, const char *message, int64_t task_id,
			  const char *node, bool root, uint64_t now_us)
{
	if (job->n_exceptions == COORD_EXCEPTIONS_MAX) {
		job->exceptions_dropped++;
		return;
	}
	struct coord_exception *e = &job->exceptions[job->n_exceptions];
	e->message = coord__strndup(message ? message : sd_strerror(code), ERR_TEXT_MAX);
	if (!e->message)
		return; /* out of memory: the job state still says FAILED */
	e->node = node ? coord__strndup(node, COORD_NAME_MAX) : NULL;
	e->at_us = now_us;
	e->code = code;
	e->task_id = task_id;
	e->root_cause = root;
	job->n_exceptions++;
	job->version++;
}

void coord__send_to_job_nodes(struct coord_jobs *t, struct coord_job *job, uint16_t type,
			      const ProtobufCMessage *msg)
{
	/* One message per node, even when it runs several tasks. O(tasks^2), small. */
	for (size_t i = 0; i < job->n_tasks; i++) {
		uint64_t id = job->tasks[i].node_id;
		bool seen = id == 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = job->tasks[j].node_id == id;
		if (seen)
			continue;
		struct coord_node *n = coord_registry_find_id(t->registry, id);
		if (n && n->state == COORD_NODE_READY && t->send)
			(void)t->send(t->send_arg, n, type, msg);
	}
}

void coord__send_cancel(struct coord_jobs *t, struct coord_job *job, const char *reason)
{
	Sd__Control__Cancel c = SD__CONTROL__CANCEL__INIT;
	c.job_id = job->id;
	c.attempt = job->attempt;
	c.reason = (char *)reason;
	coord__send_to_job_nodes(t, job, WIRE_CTL_CANCEL, &c.base);
}

void coord__send_job_done(struct coord_jobs *t, struct coord_job *job, bool ok)
{
	Sd__Control__JobDone d = SD__CONTROL__JOB_DONE__INIT;
	d.job_id = job->id;
	d.succeeded = ok;
	d.attempt = job->attempt;
	coord__send_to_job_nodes(t, job, WIRE_CTL_JOB_DONE, &d.base);
}

void coord_job_fail(struct coord_jobs *t, struct coord_job *job, int code, const char *message,
		    int64_t task_id, const char *node, uint64_t now_us)
{
	bool root = !coord_job_state_terminal(job->state);
	coord__add_exception(job, code, message, task_id, node, root, now_us);
	if (!root)
		return;
	job->failure_code = code;
	coord__chk_abort(job, "the job failed");
	coord__tasks_stop(job, now_us);
	sd_log_warn("coord", "job %s failed: %s", job->id, message ? message : sd_strerror(code));
	coord_job_set_state(t, job, COORD_JOB_FAILED, now_us);
	coord__send_cancel(t, job, message ? message : sd_strerror(code));
	coord__send_job_done(t, job, false);
}

/* Evicts the oldest ended job when the table is full. */
static int make_room(struct coord_jobs *t)
{
	if (t->n_jobs < COORD_JOBS_MAX)
		return 0;
	for (size_t i = 0; i < t->n_jobs; i++) {
		if (!coord_job_state_terminal(t->jobs[i]->state) || t->jobs[i]->busy)
			continue;
		job_free(t->jobs[i]);
		memmove(&t->jobs[i], &t->jobs[i + 1], (t->n_jobs - i - 1) * sizeof(t->jobs[0]));
		t->n_jobs--;
		return 0;
	}
	return SD_ELIMIT;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct coord_job *coord__job_new(struct coord_jobs *t, const char *id, const char *name,
				 uint64_t now_us)
{
	if (make_room(t))
		return NULL;
	if (t->n_jobs == t->cap_jobs) {
		size_t cap = t->cap_jobs ? t->cap_jobs * 2 : 16;
		struct coord_job **jobs = realloc(t->jobs, cap * sizeof(*jobs));
		if (!jobs)
			return NULL;
		t->jobs = jobs;
		t->cap_jobs = cap;
	}
	struct coord_job *job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->name = coord__strndup(name && name[0] ? name : "job", COORD_NAME_MAX);
	if (!job->name) {
		free(job);
		return NULL;
	}
	t->seq++;
	if (id) {
		assert(strlen(id) == COORD_ID_LEN);
		memcpy(job->id, id, COORD_ID_LEN + 1);
	} else {
		/* Unique within a run (seq) and unlikely to repeat across runs (time). */
		snprintf(job->id, sizeof(job->id), "%016llx%016llx",
			 (unsigned long long)mix64(now_us ^ (t->seq << 48)),
			 (unsigned long long)mix64(t->seq));
		t->submitted_total++;
	}
	job->state = COORD_JOB_CREATED;
	job->state_at_us[COORD_JOB_CREATED] = now_us ? now_us : 1;
	t->jobs[t->n_jobs++] = job;
	return job;
}

static struct coord_job *job_new(struct coord_jobs *t, const char *name, uint64_t now_us)
{
	return coord__job_new(t, NULL, name, now_us);
}

static void job_drop_last(struct coord_jobs *t, struct coord_job *job)
{
	assert(t->n_jobs > 0 && t->jobs[t->n_jobs - 1] == job);
	t->n_jobs--;
	t->submitted_total--;
	job_free(job);
}

/* --from-savepoint: the metadata is read off the loop; deploys after. */
static int start_from_savepoint(struct coord_jobs *t, struct coord_job *job, const char *path,
				char *err, size_t err_cap, uint64_t now_us)
{
	if (!job->ft.checkpoint_us) {
		snprintf(err, err_cap,
			 "--from-savepoint: this job takes no checkpoints (bounded jobs, or "
			 "checkpoint = 0s), so it cannot restore one");
		return SD_EINVAL;
	}
	job->from_savepoint = coord__strndup(path, COORD_PATH_MAX);
	if (!job->from_savepoint)
		return SD_ENOMEM;
	coord__run_nfs_op(t, job, COORD__OP_SAVEPOINT, now_us);
	return 0;
}

int coord_jobs_submit(struct coord_jobs *t, const struct coord_submit *sub, uint64_t now_us,
		      struct coord_job **out, char *err, size_t err_cap)
{
	*out = NULL;
	err[0] = '\0';
	if (!sub->text || sub->text_len == 0) {
		snprintf(err, err_cap, "empty job text");
		return SD_EINVAL;
	}
	if (sub->text_len > COORD_JOB_TEXT_MAX) {
		snprintf(err, err_cap, "job text is %zu bytes, the limit is %u", sub->text_len,
			 COORD_JOB_TEXT_MAX);
		return SD_ETOOBIG;
	}
	struct coord_job *job = job_new(t, sub->name, now_us);
	if (!job) {
		snprintf(err, err_cap, "job table full or out of memory");
		return t->n_jobs >= COORD_JOBS_MAX ? SD_ELIMIT : SD_ENOMEM;
	}
	job->text = coord__strndup(sub->text, sub->text_len);
	int rc = job->text ? coord__compile(job, sub, err, err_cap) : SD_ENOMEM;
	if (rc) {
		/* A job that does not compile is an answer to the caller, not a job. */
		job_drop_last(t, job);
		return rc;
	}
	coord__job_ft_init(job, &t->ft_defaults);
	if (sub->checkpoint_us > 0 && job->ft.checkpoint_us) /* submit --checkpoint */
		job->ft.checkpoint_us = (uint64_t)sub->checkpoint_us;
	*out = job;
	if (!sub->place)
		return 0;
	coord_job_set_state(t, job, COORD_JOB_PLACING, now_us);
	coord__store_save(t, job);
	rc = coord__place(job, t->registry, &t->netfs, err, err_cap);
	if (rc == 0 && !sub->deploy)
		return 0;
	if (rc == 0)
		rc = coord__check_netfs(job, &t->netfs, err, err_cap);
	if (rc == 0 && sub->from_savepoint) {
		rc = start_from_savepoint(t, job, sub->from_savepoint, err, err_cap, now_us);
		if (rc == 0)
			return 0;
	}
	if (rc == 0 && coord__needs_listing(job)) {
		/* Listing blocks on the file service: off the loop; deploys after. */
		coord__run_nfs_op(t, job, COORD__OP_LIST_INPUTS, now_us);
		return 0;
	}
	if (rc == 0)
		rc = coord__start_deploy(t, job, err, err_cap, now_us);
	if (rc) {
		if (!coord_job_state_terminal(job->state))
			coord_job_fail(t, job, rc, err, -1, NULL, now_us);
		return rc;
	}
	return 0;
}

void coord_jobs_discard(struct coord_jobs *t, struct coord_job *job)
{
	for (size_t i = 0; i < t->n_jobs; i++) {
		if (t->jobs[i] != job)
			continue;
		memmove(&t->jobs[i], &t->jobs[i + 1], (t->n_jobs - i - 1) * sizeof(t->jobs[0]));
		t->n_jobs--;
		t->submitted_total--;
		job_free(job);
		return;
	}
}

struct coord_job *coord_jobs_find(const struct coord_jobs *t, const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < t->n_jobs; i++)
		if (strcmp(t->jobs[i]->id, id) == 0)
			return t->jobs[i];
	return NULL;
}

int coord_jobs_cancel(struct coord_jobs *t, struct coord_job *job, const char *reason,
		      uint64_t now_us)
{
	if (coord_job_state_terminal(job->state))
		return SD_ESTATE;
	const char *why = reason && reason[0] ? reason : "canceled by request";
	coord__add_exception(job, SD_ECANCELED, why, -1, NULL, false, now_us);
	coord_job_set_state(t, job, COORD_JOB_CANCELED, now_us);
	coord__tasks_stop(job, now_us);
	if (job->committing) {
		job->committing = false;
		if (!job->busy) /* else commit_done discards */
			coord__run_nfs_op(t, job, COORD__OP_DISCARD, now_us);
	}
	coord__send_cancel(t, job, why);
	coord__send_job_done(t, job, false);
	return 0;
}

static void counters_from(struct coord_counters *c, const Sd__Control__TaskCounters *p)
{
	c->records_in = p->records_in;
	c->records_out = p->records_out;
	c->bytes_in = p->bytes_in;
	c->bytes_out = p->bytes_out;
	c->backpressure_us = p->backpressure_us;
	c->watermark_us = p->watermark_us;
	c->late_records = p->late_records;
}

static bool all_tasks(const struct coord_job *job, int state)
{
	for (size_t i = 0; i < job->n_tasks; i++)
		if (job->tasks[i].state != state)
			return false;
	return true;
}

static bool all_tasks_started(const struct coord_job *job)
{
	for (size_t i = 0; i < job->n_tasks; i++)
		if (job->tasks[i].state != SD__CONTROL__TASK_STATE__TASK_RUNNING &&
		    job->tasks[i].state != SD__CONTROL__TASK_STATE__TASK_FINISHED)
			return false;
	return true;
}

static void advance_job(struct coord_jobs *t, struct coord_job *job, uint64_t now_us)
{
	if (job->state == COORD_JOB_DEPLOYING && all_tasks_started(job))
		coord_job_set_state(t, job, COORD_JOB_RUNNING, now_us);
	if (job->state == COORD_JOB_RUNNING && !job->committing &&
	    all_tasks(job, SD__CONTROL__TASK_STATE__TASK_FINISHED))
		coord__job_finish(t, job, now_us);
}

int coord_jobs_task_status(struct coord_jobs *t, struct coord_node *from,
			   const Sd__Control__TaskStatus *st, uint64_t now_us)
{
	struct coord_job *job = coord_jobs_find(t, st->job_id);
	if (!job)
		return SD_ENOENT;
	struct coord_task *task = NULL;
	for (size_t i = 0; i < job->n_tasks && !task; i++)
		if (job->tasks[i].task_id == st->task_id)
			task = &job->tasks[i];
	if (!task)
		return SD_ENOENT;
	if (st->attempt != job->attempt)
		return SD_ESTATE; /* an older attempt's task: the node must drop it */
	if (from && task->node_id != from->id)
		return SD_EPERM; /* a node reports only its own tasks */
	t->task_updates_total++;
	job->version++;
	if (st->counters)
		counters_from(&task->counters, st->counters);
	if (coord_job_state_terminal(job->state) && !task_terminal((int)st->state))
		return SD_ESTATE; /* the node missed the job's end: it must drop the task */
	if (job->state == COORD_JOB_RESTARTING)
		return 0; /* its tasks are being stopped; the next attempt reports anew */
	if (task_terminal(task->state) || (int)st->state == task->state)
		return 0;
	if (st->state == SD__CONTROL__TASK_STATE__TASK_FINISHED)
		task->sink_bytes = st->sink_bytes;
	task->state = (int)st->state;
	task->state_at_us = now_us;
	if (coord_job_state_terminal(job->state))
		return 0;
	if (st->state == SD__CONTROL__TASK_STATE__TASK_FAILED ||
	    st->state == SD__CONTROL__TASK_STATE__TASK_CANCELED) {
		int code = st->error_code < 0 ? st->error_code : SD_EINTERNAL;
		task->error_code = code;
		free(task->error_message);
		task->error_message = coord__strndup(st->error_message && st->error_message[0]
							     ? st->error_message
							     : sd_strerror(code),
						     ERR_TEXT_MAX);
		char msg[ERR_TEXT_MAX];
		snprintf(msg, sizeof(msg), "task %u on node %s: %s", task->task_id,
			 from ? from->name : "?",
			 task->error_message ? task->error_message : sd_strerror(code));
		coord_job_failure(t, job, code, msg, task->task_id, from ? from->name : NULL,
				  now_us);
		return 0;
	}
	advance_job(t, job, now_us);
	return 0;
}

void coord_jobs_node_lost(struct coord_jobs *t, struct coord_node *n, uint64_t now_us)
{
	for (size_t j = 0; j < t->n_jobs; j++) {
		struct coord_job *job = t->jobs[j];
		if (coord_job_state_terminal(job->state) || job->state == COORD_JOB_RESTARTING)
			continue;
		for (size_t i = 0; i < job->n_tasks; i++) {
			struct coord_task *task = &job->tasks[i];
			if (task->node_id != n->id || task_terminal(task->state))
				continue;
			task->state = SD__CONTROL__TASK_STATE__TASK_FAILED;
			job->version++;
			task->state_at_us = now_us;
			task->error_code = SD_ELOST;
			free(task->error_message);
			task->error_message = coord__strndup("node lost", 16);
			char msg[256];
			snprintf(msg, sizeof(msg), "task %u: node %s lost (%s)", task->task_id,
				 n->name, coord_node_state_name(n->state));
			/* One failure per job: it stops (or restarts) every task. */
			coord_job_failure(t, job, SD_ELOST, msg, task->task_id, n->name, now_us);
			break;
		}
	}
}

size_t coord_jobs_live_on(const struct coord_jobs *t, const struct coord_node *node,
			  Sd__Control__JobRef *refs, size_t cap)
{
	size_t k = 0;
	for (size_t j = 0; j < t->n_jobs; j++) {
		struct coord_job *job = t->jobs[j];
		if (coord_job_state_terminal(job->state) || job->state == COORD_JOB_RESTARTING)
			continue;
		bool here = false;
		for (size_t i = 0; i < job->n_tasks && !here; i++)
			here = job->tasks[i].node_id == node->id;
		if (!here)
			continue;
		if (k < cap) {
			sd__control__job_ref__init(&refs[k]);
			refs[k].job_id = job->id;
			refs[k].attempt = job->attempt;
		}
		k++;
	}
	return k;
}

int coord_jobs_add_for_test(struct coord_jobs *t, const char *name, size_t n_stages,
			    const uint32_t *parallelism, uint64_t now_us, struct coord_job **out)
{
	struct coord_job *job = job_new(t, name, now_us);
	if (!job)
		return SD_ENOMEM;
	size_t n_tasks = 0;
	for (size_t s = 0; s < n_stages; s++)
		n_tasks += parallelism[s];
	job->stages = calloc(n_stages ? n_stages : 1, sizeof(*job->stages));
	job->tasks = calloc(n_tasks ? n_tasks : 1, sizeof(*job->tasks));
	if (!job->stages || !job->tasks) {
		job_drop_last(t, job);
		return SD_ENOMEM;
	}
	uint32_t tid = 0;
	for (size_t s = 0; s < n_stages; s++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "stage-%zu", s);
		job->stages[s].stage_id = (uint32_t)s;
		job->stages[s].parallelism = parallelism[s];
		job->stages[s].name = coord__strndup(nm, sizeof(nm));
		job->n_stages = s + 1;
		for (uint32_t p = 0; p < parallelism[s]; p++, tid++) {
			struct coord_task *task = &job->tasks[tid];
			task->task_id = tid;
			task->stage_id = (uint32_t)s;
			task->partition = p;
			task->counters.watermark_us = INT64_MIN;
		}
	}
	job->n_tasks = n_tasks;
	*out = job;
	return 0;
}

const struct coord_exception *coord_job_root_exception(const struct coord_job *job)
{
	for (size_t i = job->n_exceptions; i-- > 0;)
		if (job->exceptions[i].root_cause)
			return &job->exceptions[i];
	return NULL;
}

void coord_job_stage_counters(const struct coord_job *job, uint32_t stage_id,
			      struct coord_counters *out)
{
	memset(out, 0, sizeof(*out));
	out->watermark_us = INT64_MIN;
	bool first = true;
	for (size_t i = 0; i < job->n_tasks; i++) {
		const struct coord_task *task = &job->tasks[i];
		if (task->stage_id != stage_id)
			continue;
		const struct coord_counters *c = &task->counters;
		out->records_in += c->records_in;
		out->records_out += c->records_out;
		out->bytes_in += c->bytes_in;
		out->bytes_out += c->bytes_out;
		out->backpressure_us += c->backpressure_us;
		out->late_records += c->late_records;
		/* A stage's watermark is its slowest task's. */
		if (first || c->watermark_us < out->watermark_us)
			out->watermark_us = c->watermark_us;
		first = false;
	}
}
