/*
 * coordinator/jobs_run.c — a job from placement to its end: deployment
 * (CTL_DEPLOY per task), the file service calls that run off the loop
 * (input listing before deployment, sink assembly after the tasks finish,
 * discarding parts), and the tick that finishes committing jobs.
 *
 * The job table (jobs.c) calls in through coord_priv.h. File service calls
 * go through the table's async seam (uv_queue_work in the daemon, inline in
 * tests); while one runs the job is busy and never evicted.
 */
#include "coordinator/coord_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

#define ERR_TEXT_MAX COORD_ERR_TEXT_MAX

/* Sends CTL_DEPLOY for every task. Returns 0 or the first failure. */
static int deploy_tasks(struct coord_jobs *t, struct coord_job *job, char *err, size_t err_cap)
{
	for (size_t i = 0; i < job->n_tasks; i++) {
		struct coord_task *task = &job->tasks[i];
		struct coord_node *n = coord_registry_find_id(t->registry, task->node_id);
		if (!n || n->state != COORD_NODE_READY) {
			snprintf(err, err_cap, "task %u: its node is not available", task->task_id);
			return SD_ELOST;
		}
		Sd__Control__Deploy d = SD__CONTROL__DEPLOY__INIT;
		struct coord_deploy_scratch scratch = {0};
		int rc = coord__fill_deploy(t, job, task, &d, &scratch);
		if (rc) {
			coord__deploy_scratch_free(&scratch);
			snprintf(err, err_cap, "task %u: building its deployment: %s",
				 task->task_id, sd_strerror(rc));
			return rc;
		}
		rc = t->send ? t->send(t->send_arg, n, WIRE_CTL_DEPLOY, &d.base) : SD_ENOTSUP;
		coord__deploy_scratch_free(&scratch);
		if (rc) {
			snprintf(err, err_cap, "task %u: deploy to node %s: %s", task->task_id,
				 n->name, sd_strerror(rc));
			return rc;
		}
		task->state = SD__CONTROL__TASK_STATE__TASK_DEPLOYING;
		job->version++;
		task->state_at_us = job->state_at_us[COORD_JOB_DEPLOYING];
	}
	return 0;
}

int coord__start_deploy(struct coord_jobs *t, struct coord_job *job, char *err, size_t err_cap,
			uint64_t now_us)
{
	coord_job_set_state(t, job, COORD_JOB_DEPLOYING, now_us);
	job->deploy_started_us = now_us;
	return deploy_tasks(t, job, err, err_cap);
}

/* ---- file service calls, off the loop ---- */

struct nfs_op {
	struct coord_jobs *t;
	struct coord_job *job;
	enum coord__nfs_op kind;
	uint64_t started_us;
	int rc;
	char err[ERR_TEXT_MAX];
};

static void commit_done(struct coord_jobs *t, struct coord_job *job, int rc, const char *err,
			uint64_t now_us);

static void nfs_op_work(void *data)
{
	struct nfs_op *op = data;
	struct coord_job *job = op->job;
	const struct coord_netfs *nfs = &op->t->netfs;
	if (op->kind == COORD__OP_LIST_INPUTS)
		op->rc = coord__plan_inputs(job, nfs, op->err, sizeof(op->err));
	else if (op->kind == COORD__OP_CHK_COMPLETE)
		op->rc = coord__chk_complete_work(job, nfs, op->err, sizeof(op->err));
	else if (op->kind == COORD__OP_RESTORE)
		op->rc = coord__chk_restore_work(job, nfs, op->err, sizeof(op->err));
	else if (op->kind == COORD__OP_CHK_CLEANUP)
		op->rc = coord__chk_cleanup_work(job, nfs, op->err, sizeof(op->err));
	else if (op->kind == COORD__OP_SAVEPOINT)
		op->rc = coord__chk_savepoint_work(job, nfs, op->err, sizeof(op->err));
	else if (op->kind == COORD__OP_CHK_PUBLISH)
		op->rc = coord__chk_publish_work(job, nfs, op->err, sizeof(op->err));
	else
		op->rc = coord__commit_sinks(job, nfs, op->kind == COORD__OP_COMMIT, op->err,
					     sizeof(op->err));
}

static uint64_t op_now(const struct nfs_op *op)
{
	uint64_t now = op->t->now_us ? op->t->now_us() : op->started_us;
	return now > op->started_us ? now : op->started_us;
}

static void nfs_op_after(void *data)
{
	struct nfs_op *op = data;
	struct coord_jobs *t = op->t;
	struct coord_job *job = op->job;
	uint64_t now = op_now(op);
	job->busy = false;
	if ((op->kind == COORD__OP_LIST_INPUTS || op->kind == COORD__OP_SAVEPOINT) &&
	    !coord_job_state_terminal(job->state)) {
		int rc = op->rc ? op->rc
				: coord__start_deploy(t, job, op->err, sizeof(op->err), now);
		if (rc)
			coord_job_fail(t, job, rc, op->err, -1, NULL, now);
	} else if (op->kind == COORD__OP_COMMIT) {
		commit_done(t, job, op->rc, op->err, now);
	} else if (op->kind == COORD__OP_CHK_COMPLETE) {
		coord__chk_complete_after(t, job, op->rc, op->err, now);
	} else if (op->kind == COORD__OP_CHK_PUBLISH) {
		coord__chk_publish_after(t, job, op->rc, op->err, now);
	} else if (op->kind == COORD__OP_RESTORE && !coord_job_state_terminal(job->state)) {
		char err[ERR_TEXT_MAX];
		int rc = op->rc;
		if (rc) {
			snprintf(err, sizeof(err), "restoring checkpoint %llu: %.3000s",
				 (unsigned long long)coord__chk_latest(job), op->err);
			coord__restart_failed(t, job, rc, err, now);
		} else if ((rc = coord__start_deploy(t, job, err, sizeof(err), now)) != 0) {
			coord_job_failure(t, job, rc, err, -1, NULL, now);
		}
	}
	free(op);
}

/* Runs one file service call for job off the loop (inline without async). */
void coord__run_nfs_op(struct coord_jobs *t, struct coord_job *job, enum coord__nfs_op kind,
		       uint64_t now_us)
{
	struct nfs_op *op = calloc(1, sizeof(*op));
	if (!op) {
		if (kind != COORD__OP_DISCARD)
			coord_job_fail(t, job, SD_ENOMEM, "out of memory", -1, NULL, now_us);
		return;
	}
	op->t = t;
	op->job = job;
	op->kind = kind;
	op->started_us = now_us;
	job->busy = true;
	if (!t->async || t->async(t->async_arg, nfs_op_work, nfs_op_after, op) != 0) {
		nfs_op_work(op);
		nfs_op_after(op);
	}
}

struct probe {
	struct coord_jobs *t;
	int rc;
	char region[sizeof(((struct coord_netfs *)0)->region)];
};

static void probe_work(void *data)
{
	struct probe *p = data;
	p->rc = coord__netfs_region(&p->t->netfs, p->region, sizeof(p->region));
}

static void probe_after(void *data)
{
	struct probe *p = data;
	if (p->rc == 0 && p->region[0]) {
		memcpy(p->t->netfs.region, p->region, sizeof(p->region));
		sd_log_info("coord", "file service %s:%u is in region %s", p->t->netfs.host,
			    p->t->netfs.port, p->region);
	} else if (p->rc) {
		sd_log_warn("coord", "file service %s:%u: %s (placement ignores where inputs are)",
			    p->t->netfs.host, p->t->netfs.port, sd_strerror(p->rc));
	}
	free(p);
}

void coord_jobs_probe_netfs(struct coord_jobs *t)
{
	if (!t->netfs.host)
		return;
	struct probe *p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->t = t;
	if (!t->async || t->async(t->async_arg, probe_work, probe_after, p) != 0) {
		probe_work(p);
		probe_after(p);
	}
}

/* Assembles the sinks once the nodes committed their parts; then FINISHED. */
static void try_commit(struct coord_jobs *t, struct coord_job *job, uint64_t now_us)
{
	if (job->busy)
		return;
	bool reported = false;
	for (size_t i = 0; i < job->n_tasks; i++)
		reported |= job->tasks[i].sink_bytes > 0;
	uint64_t waited = now_us > job->commit_started_us ? now_us - job->commit_started_us : 0;
	/* Nodes that do not report sink_bytes get a grace period to commit. */
	if (!reported && waited < COORD_COMMIT_GRACE_US)
		return;
	coord__run_nfs_op(t, job, COORD__OP_COMMIT, now_us);
}

static void commit_done(struct coord_jobs *t, struct coord_job *job, int rc, const char *err,
			uint64_t now_us)
{
	if (job->state != COORD_JOB_RUNNING || !job->committing) {
		/* Canceled while assembling: nothing may stay behind. */
		job->committing = false;
		coord__run_nfs_op(t, job, COORD__OP_DISCARD, now_us);
		return;
	}
	uint64_t waited = now_us > job->commit_started_us ? now_us - job->commit_started_us : 0;
	/* Parts not committed yet, or the file service restarting: every part
	 * stays until all final files are in, so the tick simply tries again. */
	if ((rc == SD_EAGAIN || coord_failure_recoverable(rc)) && waited < COORD_COMMIT_WAIT_US)
		return;
	job->committing = false;
	if (rc) {
		char why[ERR_TEXT_MAX + 32];
		snprintf(why, sizeof(why), "sink commit: %s", err[0] ? err : sd_strerror(rc));
		coord_job_fail(t, job, rc == SD_EAGAIN ? SD_ETIMEDOUT : rc, why, -1, NULL, now_us);
		coord__run_nfs_op(t, job, COORD__OP_DISCARD, now_us);
		return;
	}
	coord_job_set_state(t, job, COORD_JOB_FINISHED, now_us);
}

void coord__job_finish(struct coord_jobs *t, struct coord_job *job, uint64_t now_us)
{
	if (!coord__has_sinks(job)) {
		coord_job_set_state(t, job, COORD_JOB_FINISHED, now_us);
		coord__send_job_done(t, job, true);
		return;
	}
	/* Nodes commit their parts on JobDone(succeeded); the tick assembles them. */
	job->committing = true;
	job->commit_started_us = now_us;
	job->version++;
	coord__send_job_done(t, job, true);
	try_commit(t, job, now_us);
}

void coord_jobs_tick(struct coord_jobs *t, uint64_t now_us)
{
	coord__recovery_tick(t, now_us);
	for (size_t i = 0; i < t->n_jobs; i++) {
		struct coord_job *job = t->jobs[i];
		coord__chk_tick(t, job, now_us);
		if (job->committing && job->state == COORD_JOB_RUNNING)
			try_commit(t, job, now_us);
	}
}

int coord_jobs_deploy_for_test(struct coord_jobs *t, struct coord_job *job, uint64_t now_us)
{
	char err[256];
	coord_job_set_state(t, job, COORD_JOB_PLACING, now_us);
	coord_job_set_state(t, job, COORD_JOB_DEPLOYING, now_us);
	int rc = deploy_tasks(t, job, err, sizeof(err));
	if (rc)
		coord_job_fail(t, job, rc, err, -1, NULL, now_us);
	return rc;
}
