/*
 * coordinator/recovery.c — how a job comes through failures: which failures
 * are retried, the restart strategy (fixed delay or exponential backoff, with
 * a number of attempts), stopping every task, re-placing only the tasks of
 * lost nodes, and redeploying the job as its next attempt.
 *
 *   coord_job_failure()   a task failed, a node was lost, a deploy timed out
 *     recoverable + attempts left -> RESTARTING (Cancel + JobDone to the old
 *                                    attempt, every task stopped)
 *     otherwise                   -> FAILED (coord_job_fail)
 *   coord__recovery_tick()         every COORD_TICK_US:
 *     RESTARTING, delay over      -> re-place, attempt + 1, DEPLOYING
 *                                    (from the latest completed checkpoint
 *                                    when there is one: checkpoint.c)
 *     DEPLOYING past its deadline -> coord_job_failure(SD_ETIMEDOUT, node)
 *
 * Attempts are what make a restart clean: channel keys (df_channel_key) and
 * bounded sink part names carry the attempt, and nodes drop the tasks of
 * older attempts, so nothing an earlier attempt left in flight can reach the
 * new one. No I/O here beyond the table's send and async seams.
 */
#include "coordinator/coord_priv.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "dataflow/dataflow.h"

#define REPLACE_WAIT_US 15000000u /* a restart waits this long for nodes before it fails */

bool coord_failure_recoverable(int code)
{
	switch (code) {
	case SD_ELOST:
	case SD_ECLOSED:
	case SD_ECONNRESET:
	case SD_ECONNREFUSED:
	case SD_ETIMEDOUT:
	case SD_EUNREACH:
	case SD_EIO:
	case SD_EBUSY:
	case SD_EAGAIN:
	case SD_ENOSPC:
	case SD_ECANCELED: /* a task canceled by something other than the job */
		return true;
	default:
		return false; /* the job itself is wrong: retrying repeats it */
	}
}

static bool task_ended(int s)
{
	return s == SD__CONTROL__TASK_STATE__TASK_FINISHED ||
	       s == SD__CONTROL__TASK_STATE__TASK_FAILED ||
	       s == SD__CONTROL__TASK_STATE__TASK_CANCELED;
}

void coord__tasks_stop(struct coord_job *job, uint64_t now_us)
{
	for (size_t i = 0; i < job->n_tasks; i++) {
		struct coord_task *task = &job->tasks[i];
		if (task_ended(task->state))
			continue;
		task->state = SD__CONTROL__TASK_STATE__TASK_CANCELED;
		task->state_at_us = now_us;
		job->version++;
	}
}

void coord__job_ft_init(struct coord_job *job, const struct coord_ft *defaults)
{
	const struct coord_compiled *c = job->compiled;
	struct df_job_options o;
	job->ft = *defaults;
	if (!c || !c->df)
		return;
	df_job_get_options(c->df, &o);
	if (o.checkpoint_us >= 0)
		job->ft.checkpoint_us = (uint64_t)o.checkpoint_us;
	/* Bounded jobs restart from the beginning: their output commits only at
	 * the end, so a rerun is already exactly-once (docs/fault-tolerance.md). */
	if (df_job_bounded(c->df))
		job->ft.checkpoint_us = 0;
	if (o.restart != DF_RESTART_UNSET)
		job->ft.restart = (enum coord_restart_kind)o.restart;
	if (o.restart_attempts >= 0)
		job->ft.restart_attempts = (uint32_t)o.restart_attempts;
	if (o.restart_delay_us >= 0)
		job->ft.restart_delay_us = (uint64_t)o.restart_delay_us;
	if (o.restart_delay_max_us >= 0)
		job->ft.restart_delay_max_us = (uint64_t)o.restart_delay_max_us;
}

/* The delay before attempt `attempt` + 1 starts. */
static uint64_t restart_delay(const struct coord_ft *ft, uint32_t attempt)
{
	uint64_t d = ft->restart_delay_us;
	if (ft->restart != COORD_RESTART_BACKOFF)
		return d;
	for (uint32_t i = 0; i < attempt && d < ft->restart_delay_max_us; i++)
		d *= 2;
	return d < ft->restart_delay_max_us ? d : ft->restart_delay_max_us;
}

void coord_job_failure(struct coord_jobs *t, struct coord_job *job, int code, const char *message,
		       int64_t task_id, const char *node, uint64_t now_us)
{
	char msg[COORD_ERR_TEXT_MAX];
	if (coord_job_state_terminal(job->state) || job->state == COORD_JOB_RESTARTING) {
		/* Already ending or restarting: only a record of what else happened. */
		coord__add_exception(job, code, message, task_id, node, false, now_us);
		return;
	}
	bool retry = coord_failure_recoverable(code) && job->ft.restart != COORD_RESTART_NONE &&
		     job->attempt < job->ft.restart_attempts &&
		     (job->state == COORD_JOB_RUNNING || job->state == COORD_JOB_DEPLOYING);
	if (!retry) {
		if (job->attempt > 0 && coord_failure_recoverable(code)) {
			snprintf(msg, sizeof(msg), "%s (after %u restarts, the limit)", message,
				 job->attempt);
			message = msg;
		}
		coord_job_fail(t, job, code, message, task_id, node, now_us);
		return;
	}
	uint64_t delay = restart_delay(&job->ft, job->attempt);
	snprintf(msg, sizeof(msg), "restarting (attempt %u of %u) in %llu ms: %s", job->attempt + 1,
		 job->ft.restart_attempts, (unsigned long long)(delay / 1000), message);
	coord__add_exception(job, code, msg, task_id, node, true, now_us);
	sd_log_warn("coord", "job %s: %s", job->id, msg);
	coord__chk_abort(job, "the job is restarting");
	coord_job_set_state(t, job, COORD_JOB_RESTARTING, now_us);
	coord__send_cancel(t, job, message);
	coord__send_job_done(t, job, false);
	coord__tasks_stop(job, now_us);
	job->restart_at_us = now_us + delay;
	job->last_restart_us = now_us;
	t->restarts_total++;
}

/* Resets the tasks for a new attempt (placement kept in node_id). */
static void tasks_reset(struct coord_job *job)
{
	for (size_t i = 0; i < job->n_tasks; i++) {
		struct coord_task *task = &job->tasks[i];
		task->state = 0; /* CREATED */
		task->error_code = 0;
		free(task->error_message);
		task->error_message = NULL;
		task->sink_bytes = 0;
	}
	job->version++;
}

void coord__restart_failed(struct coord_jobs *t, struct coord_job *job, int code,
			   const char *message, uint64_t now_us)
{
	assert(job->state == COORD_JOB_RESTARTING);
	if (!coord_failure_recoverable(code) || job->attempt >= job->ft.restart_attempts) {
		coord_job_fail(t, job, code, message, -1, NULL, now_us);
		return;
	}
	coord__add_exception(job, code, message, -1, NULL, false, now_us);
	job->restart_at_us = now_us + restart_delay(&job->ft, job->attempt);
}

static void redeploy(struct coord_jobs *t, struct coord_job *job, uint64_t now_us)
{
	char err[COORD_ERR_TEXT_MAX] = "";
	int rc = coord__replace(job, t->registry, &t->netfs, err, sizeof(err));
	if (rc == SD_EINFEASIBLE) {
		/* Keeping the survivors' tasks where they are can break a limit
		 * that changed meanwhile (@spread after a healed partition: more
		 * regions, a smaller share each); every task restarts anyway, so
		 * solve afresh. */
		err[0] = '\0';
		rc = coord__place(job, t->registry, &t->netfs, err, sizeof(err));
	}
	if (rc == SD_EINFEASIBLE && now_us - job->last_restart_us < REPLACE_WAIT_US) {
		/* Nodes may still be coming back (a restarted coordinator, a
		 * replacement joining): try again on a later tick. */
		job->restart_at_us = now_us + COORD_RESTART_DELAY_US;
		return;
	}
	if (rc) {
		const struct coord_exception *why = coord_job_root_exception(job);
		char msg[COORD_ERR_TEXT_MAX];
		snprintf(msg, sizeof(msg), "%.2000s (the job was restarting: %.1500s)",
			 err[0] ? err : sd_strerror(rc), why ? why->message : "?");
		coord_job_fail(t, job, rc, msg, -1, NULL, now_us);
		return;
	}
	job->attempt++;
	tasks_reset(job);
	sd_log_info("coord", "job %s: attempt %u deploys%s", job->id, job->attempt,
		    coord__chk_latest(job) ? " from its latest checkpoint" : " from the beginning");
	/* With a completed checkpoint its staged output is published (again,
	 * idempotently) before the tasks restore from it: checkpoint.c. */
	if (coord__chk_latest(job)) {
		coord__run_nfs_op(t, job, COORD__OP_RESTORE, now_us);
		return;
	}
	const struct coord_compiled *c = job->compiled;
	if (c && !c->n_splits && coord__needs_listing(job)) {
		/* Loaded from the store: list the inputs first; deploys after. */
		coord__run_nfs_op(t, job, COORD__OP_LIST_INPUTS, now_us);
		return;
	}
	rc = coord__start_deploy(t, job, err, sizeof(err), now_us);
	if (rc)
		coord_job_failure(t, job, rc, err, -1, NULL, now_us);
}

/* The first task that has not started, for the deadline's message. */
static const struct coord_task *not_started(const struct coord_job *job)
{
	for (size_t i = 0; i < job->n_tasks; i++)
		if (job->tasks[i].state != SD__CONTROL__TASK_STATE__TASK_RUNNING &&
		    job->tasks[i].state != SD__CONTROL__TASK_STATE__TASK_FINISHED)
			return &job->tasks[i];
	return NULL;
}

static void deploy_deadline(struct coord_jobs *t, struct coord_job *job, uint64_t now_us)
{
	const struct coord_task *task = not_started(job);
	if (!task)
		return;
	const struct coord_node *n = coord_registry_find_id(t->registry, task->node_id);
	char msg[512];
	snprintf(msg, sizeof(msg), "task %u on node %s did not start within %u s of its deploy",
		 task->task_id, n ? n->name : "?", COORD_DEPLOY_DEADLINE_US / 1000000u);
	coord_job_failure(t, job, SD_ETIMEDOUT, msg, task->task_id, n ? n->name : NULL, now_us);
}

/* A failed or canceled bounded job whose parts are still to be removed. */
static bool failed_with_parts(const struct coord_job *job, uint64_t now_us)
{
	if ((job->state != COORD_JOB_FAILED && job->state != COORD_JOB_CANCELED) ||
	    job->parts_discarded || !coord__has_sinks(job))
		return false;
	const struct coord_compiled *c = job->compiled;
	return c && c->df && df_job_bounded(c->df) &&
	       now_us - job->state_at_us[job->state] >= COORD_DISCARD_DELAY_US;
}

void coord__recovery_tick(struct coord_jobs *t, uint64_t now_us)
{
	for (size_t i = 0; i < t->n_jobs; i++) {
		struct coord_job *job = t->jobs[i];
		if (job->busy)
			continue;
		if (failed_with_parts(job, now_us)) {
			/* Tasks that finished before the end committed parts: none may
			 * stay visible. Nodes had a moment to act on Cancel/JobDone. */
			job->parts_discarded = true;
			coord__run_nfs_op(t, job, COORD__OP_DISCARD, now_us);
		} else if (job->state == COORD_JOB_RESTARTING && now_us >= job->restart_at_us)
			redeploy(t, job, now_us);
		else if (job->state == COORD_JOB_DEPLOYING && job->deploy_started_us &&
			 now_us - job->deploy_started_us > COORD_DEPLOY_DEADLINE_US)
			deploy_deadline(t, job, now_us);
	}
}
