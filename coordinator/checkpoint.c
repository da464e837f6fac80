/*
 * coordinator/checkpoint.c — the checkpoint coordinator (asynchronous
 * barrier snapshots, as Flink does them) and the two-phase commit of
 * exactly-once sinks.
 *
 *   tick: RUNNING, interval passed, none in progress
 *         -> CTL_CHECKPOINT(job, attempt, N) to the job's nodes; their source
 *            tasks record positions, snapshot, send barrier N downstream
 *   CTL_CHECKPOINT_ACK from every task (a FINISHED task counts as done)
 *         -> off the loop (COORD__OP_CHK_COMPLETE): write the metadata
 *            "<dir>/chk-N/_metadata" (netfs create+commit: atomic), publish
 *            the output the sinks staged for N into their visible parts,
 *            delete checkpoints older than the last COORD_CHECKPOINTS_KEPT
 *         -> N is the latest completed checkpoint
 *   a failed ack, a timeout or a restart aborts the checkpoint in progress.
 *
 * Publishing is idempotent, so a restart (or a restarted coordinator) simply
 * publishes the latest checkpoint again before redeploying from it: for each
 * sink part, with B = the part's size before N and L = the bytes staged,
 *   part size == B + L   already published (only the staged file may remain)
 *   B <= size < B + L    cut back to B, then append the staged file on the
 *                        server (netfs CONCAT, checked against B, checksummed)
 *   anything else        the part was changed outside the job: an error.
 *
 * Ownership: job->chk is a struct coord_chk owned by the job; strings in it
 * are owned. Metadata JSON is the one format for netfs, the state directory
 * and savepoints (coord__chk_to_json / coord__chk_from_json).
 */
#include "coordinator/checkpoint_priv.h"

#include "coordinator/checkpoint_api.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "netfs/netfs.h"

void coord__chk_tasks_free(struct chk_task *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].staged_path);
		free(v[i].snapshot);
	}
	free(v);
}

void coord__chk_free(struct coord_job *job)
{
	struct coord_chk *c = job->chk;
	if (!c)
		return;
	coord__chk_tasks_free(c->pending, job->n_tasks);
	coord__chk_tasks_free(c->latest, job->n_tasks);
	free(c->published);
	free(c);
	job->chk = NULL;
}

struct coord_chk *coord__chk_of(struct coord_job *job)
{
	if (job->chk)
		return job->chk;
	struct coord_chk *c = calloc(1, sizeof(*c));
	if (c && !(c->published = calloc(job->n_tasks ? job->n_tasks : 1, sizeof(uint64_t)))) {
		free(c);
		c = NULL;
	}
	if (c)
		c->next_id = 1;
	job->chk = c;
	return c;
}

uint64_t coord__chk_latest(const struct coord_job *job)
{
	const struct coord_chk *c = job->chk;
	return c ? c->latest_id : 0;
}

int coord__chk_dir(char *out, size_t cap, const struct coord_job *job)
{
	int n = snprintf(out, cap, COORD_RESULTS_DIR "/%s/checkpoints", job->id);
	return n > 0 && (size_t)n < cap ? 0 : SD_ETOOBIG;
}

static void hist_add(struct coord_chk *c, const struct coord_job *job, uint64_t id, bool ok,
		     uint64_t now_us)
{
	if (c->n_hist == COORD_CHECKPOINT_HISTORY) {
		memmove(&c->hist[0], &c->hist[1], sizeof(c->hist[0]) * (c->n_hist - 1));
		c->n_hist--;
	}
	struct chk_hist *h = &c->hist[c->n_hist++];
	memset(h, 0, sizeof(*h));
	h->id = id;
	h->savepoint = c->pending_savepoint;
	h->completed = ok;
	h->trigger_us = c->pending_trigger_us;
	h->ack_us = now_us;
	h->alignment_us = c->pending_align_us;
	for (size_t i = 0; c->pending && i < job->n_tasks; i++)
		h->size += c->pending[i].state_bytes;
	char dir[COORD_PATH_MAX];
	if (coord__chk_dir(dir, sizeof(dir), job) == 0)
		snprintf(h->path, sizeof(h->path), "%.900s/chk-%llu", dir, (unsigned long long)id);
}

void coord__chk_abort(struct coord_job *job, const char *why)
{
	struct coord_chk *c = job->chk;
	if (!c || !c->pending_id || c->completing)
		return;
	sd_log_warn("coord", "job %s: checkpoint %llu aborted: %s", job->id,
		    (unsigned long long)c->pending_id, why);
	hist_add(c, job, c->pending_id, false, c->pending_last_ack_us);
	c->failed++;
	coord__chk_tasks_free(c->pending, job->n_tasks);
	c->pending = NULL;
	c->pending_id = 0;
}

/* Sends CTL_CHECKPOINT for the next id. */
static int trigger(struct coord_jobs *t, struct coord_job *job, bool savepoint, uint64_t now_us)
{
	struct coord_chk *c = coord__chk_of(job);
	if (!c)
		return SD_ENOMEM;
	if (c->pending_id)
		return SD_EBUSY;
	c->pending = calloc(job->n_tasks ? job->n_tasks : 1, sizeof(*c->pending));
	if (!c->pending)
		return SD_ENOMEM;
	c->pending_id = c->next_id++;
	c->pending_savepoint = savepoint;
	c->pending_trigger_us = c->pending_last_ack_us = now_us;
	c->pending_align_us = 0;
	c->last_trigger_us = now_us;
	Sd__Control__Checkpoint m = SD__CONTROL__CHECKPOINT__INIT;
	m.job_id = job->id;
	m.attempt = job->attempt;
	m.checkpoint_id = c->pending_id;
	coord__send_to_job_nodes(t, job, WIRE_CTL_CHECKPOINT, &m.base);
	job->version++;
	return 0;
}

static bool all_running(const struct coord_job *job)
{
	bool any = false;
	for (size_t i = 0; i < job->n_tasks; i++) {
		int s = job->tasks[i].state;
		if (s == SD__CONTROL__TASK_STATE__TASK_RUNNING)
			any = true;
		else if (s != SD__CONTROL__TASK_STATE__TASK_FINISHED)
			return false;
	}
	return any;
}

/* Every task acked or finished: complete it off the loop. */
static void maybe_complete(struct coord_jobs *t, struct coord_job *job)
{
	struct coord_chk *c = job->chk;
	if (!c || !c->pending_id || c->completing || job->busy)
		return;
	for (size_t i = 0; i < job->n_tasks; i++) {
		if (c->pending[i].acked)
			continue;
		if (job->tasks[i].state != SD__CONTROL__TASK_STATE__TASK_FINISHED)
			return;
		c->pending[i].finished = true;
	}
	c->completing = true;
	coord__run_nfs_op(t, job, COORD__OP_CHK_COMPLETE, c->pending_last_ack_us);
}

void coord__chk_tick(struct coord_jobs *t, struct coord_job *job, uint64_t now_us)
{
	struct coord_chk *c = job->chk;
	if (c && coord_job_state_terminal(job->state) && !c->cleaned && !job->busy &&
	    !c->completing) {
		/* Ended and its last publish done: staged output of checkpoints that
		 * never completed is dropped (checkpoints themselves are kept). */
		c->cleaned = true;
		coord__run_nfs_op(t, job, COORD__OP_CHK_CLEANUP, now_us);
		return;
	}
	if (job->state != COORD_JOB_RUNNING || job->committing || job->busy)
		return;
	if (c && c->pending_id) {
		if (now_us - c->pending_trigger_us > COORD_CHECKPOINT_TIMEOUT_US) {
			/* As Flink with no tolerable failed checkpoints: back to the last
			 * completed one, so what was staged since is never published. */
			char why[128];
			snprintf(why, sizeof(why),
				 "checkpoint %llu: no acknowledgement from every "
				 "task within %u s",
				 (unsigned long long)c->pending_id,
				 COORD_CHECKPOINT_TIMEOUT_US / 1000000u);
			coord_job_failure(t, job, SD_ETIMEDOUT, why, -1, NULL, now_us);
		} else
			maybe_complete(t, job);
		return;
	}
	if (!job->ft.checkpoint_us || !all_running(job))
		return;
	uint64_t since = c ? c->last_trigger_us : job->state_at_us[COORD_JOB_RUNNING];
	if (now_us - since >= job->ft.checkpoint_us)
		(void)trigger(t, job, false, now_us);
}

int coord_jobs_savepoint(struct coord_jobs *t, struct coord_job *job, uint64_t now_us, uint64_t *id)
{
	if (job->state != COORD_JOB_RUNNING || !all_running(job))
		return SD_ESTATE;
	struct coord_chk *c = coord__chk_of(job);
	if (!c)
		return SD_ENOMEM;
	if (c->pending_id && !c->completing) {
		/* A checkpoint in flight becomes the savepoint: its barriers are the
		 * same, it is only kept longer. */
		c->pending_savepoint = true;
		*id = c->pending_id;
		return 0;
	}
	if (c->pending_id)
		return SD_EBUSY; /* its metadata is being written as a checkpoint */
	int rc = trigger(t, job, true, now_us);
	if (rc == 0)
		*id = c->pending_id;
	return rc;
}

int coord_jobs_checkpoint_ack(struct coord_jobs *t, struct coord_node *from,
			      const Sd__Control__CheckpointAck *a, uint64_t now_us)
{
	struct coord_job *job = coord_jobs_find(t, a->job_id);
	if (!job)
		return SD_ENOENT;
	struct coord_chk *c = job->chk;
	if (!c || a->attempt != job->attempt || a->checkpoint_id != c->pending_id ||
	    c->completing || a->task_id >= job->n_tasks)
		return SD_ESTATE; /* late, or for an aborted checkpoint: dropped */
	struct coord_task *task = &job->tasks[a->task_id];
	if (from && task->node_id != from->id)
		return SD_EPERM;
	if (a->error_code < 0) {
		char why[COORD_ERR_TEXT_MAX];
		snprintf(why, sizeof(why), "task %u on node %s: %s", a->task_id,
			 from ? from->name : "?",
			 a->error_message && a->error_message[0] ? a->error_message
								 : sd_strerror(a->error_code));
		coord_job_failure(t, job, a->error_code, why, a->task_id, from ? from->name : NULL,
				  now_us);
		return 0;
	}
	struct chk_task *ct = &c->pending[a->task_id];
	if (ct->acked)
		return 0;
	ct->acked = true;
	ct->state_bytes = a->state_bytes;
	ct->staged_bytes = a->staged_bytes;
	ct->staged_xxh3 = a->staged_xxh3;
	if (a->staged_path && a->staged_path[0] && a->staged_bytes)
		ct->staged_path = coord__strndup(a->staged_path, COORD_PATH_MAX);
	if (a->alignment_us > c->pending_align_us)
		c->pending_align_us = a->alignment_us;
	c->pending_last_ack_us = now_us;
	job->version++;
	maybe_complete(t, job);
	return 0;
}

bool coord__chk_kept(const struct coord_chk *c, uint64_t id)
{
	for (size_t i = 0; i < c->n_kept; i++)
		if (c->kept[i] == id)
			return true;
	return false;
}

/* Loop context, after coord__chk_complete_work. */
void coord__chk_complete_after(struct coord_jobs *t, struct coord_job *job, int rc, const char *err,
			       uint64_t now_us)
{
	struct coord_chk *c = job->chk;
	assert(c && c->completing);
	c->completing = false;
	(void)rc;
	if (!c->meta_written) {
		char why[COORD_ERR_TEXT_MAX];
		snprintf(why, sizeof(why), "completing: %s", err[0] ? err : sd_strerror(rc));
		coord__chk_abort(job, why);
		return;
	}
	c->meta_written = false;
	uint64_t id = c->pending_id;
	hist_add(c, job, id, true, now_us);
	c->completed++;
	c->last_duration_us = now_us - c->pending_trigger_us;
	c->last_size = c->hist[c->n_hist - 1].size;
	if (c->pending_savepoint && c->n_kept < COORD_SAVEPOINTS_MAX)
		c->kept[c->n_kept++] = id;
	coord__chk_tasks_free(c->latest, job->n_tasks);
	c->latest = c->pending;
	c->latest_id = id;
	c->latest_attempt = job->attempt;
	c->pending = NULL;
	c->pending_id = 0;
	for (size_t i = 0; i < job->n_tasks; i++)
		if (c->latest[i].staged_path && c->latest[i].staged_bytes)
			c->published[i] = c->latest[i].before + c->latest[i].staged_bytes;
	job->version++;
	sd_log_info("coord", "job %s: checkpoint %llu complete (%llu bytes of state)", job->id,
		    (unsigned long long)id, (unsigned long long)c->last_size);
	/* The commit point: once the store has N, a restart restores from N and
	 * publishes N again (idempotent); before, it uses N - 1. */
	coord__store_save(t, job);
	/* Published whatever ends the job meanwhile (a savepoint's --stop, a
	 * cancel): N is complete, so its output belongs to the output. */
	coord__run_nfs_op(t, job, COORD__OP_CHK_PUBLISH, now_us);
	coord__chk_after_complete_hook(t, job, id, now_us);
}

void coord__chk_publish_after(struct coord_jobs *t, struct coord_job *job, int rc, const char *err,
			      uint64_t now_us)
{
	if (!rc)
		return;
	/* Complete, but its output is not all published: the restart retries. */
	char why[COORD_ERR_TEXT_MAX];
	snprintf(why, sizeof(why), "publishing checkpoint %llu: %.3000s",
		 (unsigned long long)coord__chk_latest(job), err[0] ? err : sd_strerror(rc));
	coord_job_failure(t, job, rc, why, -1, NULL, now_us);
}
