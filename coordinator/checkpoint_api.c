/*
 * coordinator/checkpoint_api.c — what the rest of the coordinator sees of a
 * job's checkpoints: the statistics document of GET /v1/jobs/:id/checkpoints
 * (shaped like Flink's checkpointing statistics), the figures /metrics and
 * the job document show, a job's checkpoint state rebuilt from the job store
 * (coord__chk_adopt), and stop-with-savepoint (the completion hook).
 *
 * Reads struct coord_chk (checkpoint_priv.h) on the loop. While the file
 * service completes a checkpoint off the loop, its pending tasks are frozen
 * (`completing`): the worker writes only their snapshot and before fields,
 * which nothing here reads.
 */
#include "coordinator/checkpoint_api.h"
#include "coordinator/checkpoint_priv.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

/* ---- small figures ---- */

const char *coord_restart_kind_name(enum coord_restart_kind k)
{
	switch (k) {
	case COORD_RESTART_FIXED:
		return "fixed";
	case COORD_RESTART_BACKOFF:
		return "backoff";
	default:
		return "none";
	}
}

uint32_t coord_job_restarts(const struct coord_job *job)
{
	/* A restart that has begun but not deployed yet (RESTARTING, or FAILED or
	 * CANCELED out of it) counts too: entering RESTARTING is newer than the
	 * latest DEPLOYING. Redeploying then raises the attempt instead. */
	uint64_t restarting = job->state_at_us[COORD_JOB_RESTARTING];
	bool pending = restarting && restarting > job->state_at_us[COORD_JOB_DEPLOYING];
	return job->attempt + (pending ? 1u : 0u);
}

void coord_job_chk_stats(const struct coord_job *job, struct coord_chk_stats *out)
{
	const struct coord_chk *c = job->chk;
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	out->completed = c->completed;
	out->failed = c->failed;
	out->restored = c->restored;
	out->in_progress_id = c->pending_id;
	out->latest_id = c->latest_id;
	out->last_duration_us = c->last_duration_us;
	out->last_size = c->last_size;
}

/* ---- GET /v1/jobs/:id/checkpoints ---- */

static void add_ms_or_null(cJSON *o, const char *key, uint64_t us)
{
	if (us)
		cJSON_AddNumberToObject(o, key, (double)(us / 1000));
	else
		cJSON_AddNullToObject(o, key);
}

static void chk_path(const struct coord_job *job, uint64_t id, char *out, size_t cap)
{
	char dir[COORD_PATH_MAX];
	if (coord__chk_dir(dir, sizeof(dir), job) == 0)
		snprintf(out, cap, "%.900s/chk-%llu", dir, (unsigned long long)id);
	else
		snprintf(out, cap, "?");
}

static cJSON *entry_json(const struct chk_hist *h, const char *status)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)h->id);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddBoolToObject(o, "is_savepoint", h->savepoint);
	add_ms_or_null(o, "trigger_timestamp", h->trigger_us);
	add_ms_or_null(o, "latest_ack_timestamp", h->ack_us);
	if (h->trigger_us && h->ack_us >= h->trigger_us)
		cJSON_AddNumberToObject(o, "end_to_end_duration",
					(double)((h->ack_us - h->trigger_us) / 1000));
	else
		cJSON_AddNullToObject(o, "end_to_end_duration");
	cJSON_AddNumberToObject(o, "state_size", (double)h->size);
	cJSON_AddNumberToObject(o, "alignment_ms", (double)(h->alignment_us / 1000));
	cJSON_AddStringToObject(o, "external_path", h->path);
	return o;
}

/* The checkpoint in progress as a history entry. */
static void pending_entry(const struct coord_job *job, const struct coord_chk *c,
			  struct chk_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->id = c->pending_id;
	h->savepoint = c->pending_savepoint;
	h->trigger_us = c->pending_trigger_us;
	h->ack_us = c->pending_last_ack_us;
	h->alignment_us = c->pending_align_us;
	for (size_t i = 0; c->pending && i < job->n_tasks; i++)
		if (c->pending[i].acked)
			h->size += c->pending[i].state_bytes;
	chk_path(job, h->id, h->path, sizeof(h->path));
}

/* The newest completed history entry that matches; NULL when none. */
static const struct chk_hist *newest_completed(const struct coord_chk *c, bool savepoint_only,
					       uint64_t acked_by_us)
{
	for (size_t i = c->n_hist; i-- > 0;) {
		const struct chk_hist *h = &c->hist[i];
		if (!h->completed || (savepoint_only && !h->savepoint))
			continue;
		if (acked_by_us && h->ack_us > acked_by_us)
			continue;
		return h;
	}
	return NULL;
}

/* The latest completed checkpoint, from the history or (older than the
 * history, e.g. adopted from the job store) from what is known of it. */
static cJSON *latest_completed_json(const struct coord_job *job, const struct coord_chk *c)
{
	if (!c->latest_id)
		return cJSON_CreateNull();
	const struct chk_hist *h = newest_completed(c, false, 0);
	if (h && h->id == c->latest_id)
		return entry_json(h, "COMPLETED");
	struct chk_hist tmp = {.id = c->latest_id, .completed = true};
	tmp.savepoint = coord__chk_kept(c, c->latest_id);
	for (size_t i = 0; c->latest && i < job->n_tasks; i++)
		tmp.size += c->latest[i].state_bytes;
	chk_path(job, tmp.id, tmp.path, sizeof(tmp.path));
	return entry_json(&tmp, "COMPLETED");
}

/* The checkpoint the current attempt restored from: the newest completed one
 * before its deployment (restarts deploy from the latest). NULL when the job
 * never restarted or had no checkpoint then. */
static cJSON *restored_json(const struct coord_job *job, const struct coord_chk *c)
{
	if (job->attempt == 0 || !job->deploy_started_us)
		return cJSON_CreateNull();
	const struct chk_hist *h = newest_completed(c, false, job->deploy_started_us);
	if (!h)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)h->id);
	add_ms_or_null(o, "restore_timestamp", job->deploy_started_us);
	cJSON_AddBoolToObject(o, "is_savepoint", h->savepoint);
	cJSON_AddStringToObject(o, "external_path", h->path);
	return o;
}

void coord__chk_render(const struct coord_job *job, void *json_object)
{
	cJSON *root = json_object;
	static const struct coord_chk none;
	const struct coord_chk *c = job->chk ? job->chk : &none;
	cJSON *counts = cJSON_AddObjectToObject(root, "counts");
	uint64_t in_progress = c->pending_id ? 1 : 0;
	cJSON_AddNumberToObject(counts, "restored", (double)c->restored);
	cJSON_AddNumberToObject(counts, "total", (double)(c->completed + c->failed + in_progress));
	cJSON_AddNumberToObject(counts, "in_progress", (double)in_progress);
	cJSON_AddNumberToObject(counts, "completed", (double)c->completed);
	cJSON_AddNumberToObject(counts, "failed", (double)c->failed);
	cJSON *latest = cJSON_AddObjectToObject(root, "latest");
	cJSON_AddItemToObject(latest, "completed", latest_completed_json(job, c));
	cJSON_AddItemToObject(latest, "restored", restored_json(job, c));
	const struct chk_hist *sp = newest_completed(c, true, 0);
	cJSON_AddItemToObject(latest, "savepoint",
			      sp ? entry_json(sp, "COMPLETED") : cJSON_CreateNull());
	/* Newest first, as Flink lists them; the one in progress on top. */
	cJSON *hist = cJSON_AddArrayToObject(root, "history");
	if (c->pending_id) {
		struct chk_hist p;
		pending_entry(job, c, &p);
		cJSON_AddItemToArray(hist, entry_json(&p, "IN_PROGRESS"));
	}
	for (size_t i = c->n_hist; i-- > 0;)
		cJSON_AddItemToArray(
			hist,
			entry_json(&c->hist[i], c->hist[i].completed ? "COMPLETED" : "FAILED"));
	cJSON_AddNumberToObject(root, "interval_ms", (double)(job->ft.checkpoint_us / 1000));
	cJSON *restart = cJSON_AddObjectToObject(root, "restart");
	cJSON_AddNumberToObject(restart, "attempt", job->attempt);
	cJSON_AddStringToObject(restart, "strategy", coord_restart_kind_name(job->ft.restart));
	cJSON_AddNumberToObject(restart, "attempts_max", job->ft.restart_attempts);
}

/* ---- the job store ---- */

/* The metadata's "attempt" and "savepoint" (coord__chk_from_json has checked the rest). */
static void meta_extras(const char *meta_json, size_t len, uint32_t *attempt, bool *savepoint)
{
	cJSON *o = cJSON_ParseWithLength(meta_json, len);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "attempt");
	*attempt = cJSON_IsNumber(a) && a->valuedouble >= 0 && a->valuedouble <= UINT32_MAX
			   ? (uint32_t)a->valuedouble
			   : 0;
	*savepoint = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "savepoint"));
	cJSON_Delete(o);
}

int coord__chk_adopt(struct coord_job *job, const char *meta_json, size_t len, uint64_t next_id,
		     char *err, size_t cap)
{
	uint64_t id = 0;
	struct chk_task *tasks = NULL;
	int rc = coord__chk_from_json(job, meta_json, len, &id, &tasks, err, cap);
	if (rc)
		return rc;
	if (id == 0) {
		coord__chk_tasks_free(tasks, job->n_tasks);
		snprintf(err, cap, "checkpoint metadata names checkpoint 0");
		return SD_EPROTO;
	}
	coord__chk_free(job);
	struct coord_chk *c = coord__chk_of(job);
	if (!c) {
		coord__chk_tasks_free(tasks, job->n_tasks);
		snprintf(err, cap, "out of memory");
		return SD_ENOMEM;
	}
	bool savepoint;
	meta_extras(meta_json, len, &c->latest_attempt, &savepoint);
	c->latest = tasks;
	c->latest_id = id;
	c->next_id = next_id > id ? next_id : id + 1;
	if (savepoint)
		c->kept[c->n_kept++] = id;
	/* Every part's visible size after the checkpoint, also of the parts that
	 * staged nothing in it: the next checkpoint's "before" is this size. */
	for (size_t i = 0; i < job->n_tasks; i++)
		c->published[i] =
			tasks[i].before + (tasks[i].staged_path ? tasks[i].staged_bytes : 0);
	job->version++;
	return 0;
}

/* ---- stop with a savepoint ---- */

void coord__chk_after_complete_hook(struct coord_jobs *t, struct coord_job *job, uint64_t id,
				    uint64_t now_us)
{
	if (!job->stop_after_savepoint || id < job->stop_savepoint_id)
		return;
	/* A later checkpoint completing means that savepoint failed: keep running. */
	bool ours = id == job->stop_savepoint_id;
	job->stop_after_savepoint = false;
	job->stop_savepoint_id = 0;
	job->version++;
	if (!ours || coord_job_state_terminal(job->state))
		return;
	char why[COORD_PATH_MAX + 64], path[COORD_PATH_MAX];
	chk_path(job, id, path, sizeof(path));
	snprintf(why, sizeof(why), "stopped with savepoint %llu (%s)", (unsigned long long)id,
		 path);
	sd_log_info("coord", "job %s: %s", job->id, why);
	(void)coord_jobs_cancel(t, job, why, now_us);
}
