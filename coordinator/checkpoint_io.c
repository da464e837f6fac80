/*
 * coordinator/checkpoint_io.c — the checkpoint coordinator's file service
 * side, run off the loop (jobs_run.c's async seam): the metadata file, the
 * idempotent publish of staged sink output (see checkpoint.c's top for the
 * rule), retention; and the Deploy fields that point tasks at checkpoints.
 *
 * Threads: coord__chk_*_work run on a worker while job->busy keeps the loop
 * from touching the checkpoint in flight (job->chk->pending is frozen by
 * `completing`); coord__chk_complete_after runs back on the loop.
 */
#include "coordinator/checkpoint_priv.h"

#include "coordinator/checkpoint_api.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "dataflow/dataflow.h"
#include "netfs/netfs.h"

int coord__task_sink_output(const struct coord_job *job, const struct coord_task *task, char *out,
			    size_t cap)
{
	const struct coord_compiled *c = job->compiled;
	unsigned n;
	const struct df_sink_info *sk = c ? df_job_sinks(c->df, &n) : NULL;
	for (unsigned i = 0; sk && i < n; i++)
		if (sk[i].stage == task->stage_id) /* the first sink of a stage is written */
			return coord_sink_output(out, cap, job, sk[i].id, sk[i].path);
	return SD_ENOENT;
}

/* ---- metadata ---- */

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

char *coord__chk_to_json(const struct coord_job *job, uint64_t id, const struct chk_task *v,
			 bool savepoint)
{
	cJSON *o = cJSON_CreateObject();
	char hex[24];
	cJSON_AddNumberToObject(o, "format", CHK_FORMAT);
	cJSON_AddStringToObject(o, "job", job->id);
	cJSON_AddStringToObject(o, "name", job->name);
	cJSON_AddNumberToObject(o, "checkpoint", (double)id);
	cJSON_AddNumberToObject(o, "attempt", job->attempt);
	cJSON_AddBoolToObject(o, "savepoint", savepoint);
	cJSON *st = cJSON_AddArrayToObject(o, "stages");
	for (size_t i = 0; i < job->n_stages; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "id", job->stages[i].stage_id);
		cJSON_AddStringToObject(s, "name", job->stages[i].name);
		cJSON_AddNumberToObject(s, "parallelism", job->stages[i].parallelism);
		cJSON_AddItemToArray(st, s);
	}
	cJSON *tasks = cJSON_AddArrayToObject(o, "tasks");
	for (size_t i = 0; i < job->n_tasks; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddNumberToObject(t, "task", (double)i);
		cJSON_AddBoolToObject(t, "finished", v[i].finished);
		add_str_or_null(t, "snapshot", v[i].snapshot);
		cJSON_AddNumberToObject(t, "state_bytes", (double)v[i].state_bytes);
		add_str_or_null(t, "staged", v[i].staged_path);
		cJSON_AddNumberToObject(t, "staged_bytes", (double)v[i].staged_bytes);
		snprintf(hex, sizeof(hex), "%016" PRIx64, v[i].staged_xxh3);
		cJSON_AddStringToObject(t, "staged_xxh3", hex);
		cJSON_AddNumberToObject(t, "before", (double)v[i].before);
		cJSON_AddItemToArray(tasks, t);
	}
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

bool coord__json_u64(const struct cJSON *o, const char *k, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	/* JSON numbers are doubles: integers are exact up to 2^53. */
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9.007199254740992e15)
		return false;
	*out = (uint64_t)v->valuedouble;
	return true;
}

static int json_u64(const cJSON *o, const char *k, uint64_t *out)
{
	return coord__json_u64(o, k, out) ? 0 : SD_EPROTO;
}

static char *json_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? coord__strndup(v->valuestring, COORD_PATH_MAX) : NULL;
}

int coord__chk_from_json(const struct coord_job *job, const char *text, size_t len, uint64_t *id,
			 struct chk_task **out, char *err, size_t cap)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(o, "tasks");
	const cJSON *stages = cJSON_GetObjectItemCaseSensitive(o, "stages");
	uint64_t fmt = 0;
	int rc = o && cJSON_IsArray(tasks) && cJSON_IsArray(stages) ? json_u64(o, "format", &fmt)
								    : SD_EPROTO;
	if (rc == 0)
		rc = json_u64(o, "checkpoint", id);
	if (rc || fmt != CHK_FORMAT) {
		snprintf(err, cap, "checkpoint metadata is malformed or of an unknown format");
		cJSON_Delete(o);
		return rc ? rc : SD_EVERSION;
	}
	size_t ns = (size_t)cJSON_GetArraySize(stages), nt = (size_t)cJSON_GetArraySize(tasks);
	bool same = ns == job->n_stages && nt == job->n_tasks;
	for (size_t i = 0; same && i < ns; i++) {
		uint64_t par = 0;
		same = json_u64(cJSON_GetArrayItem(stages, (int)i), "parallelism", &par) == 0 &&
		       par == job->stages[i].parallelism;
	}
	if (!same) {
		snprintf(err, cap,
			 "the checkpoint's job graph (%zu stages, %zu tasks) does not fit "
			 "this job's (%zu stages, %zu tasks, same parallelism per stage needed)",
			 ns, nt, job->n_stages, job->n_tasks);
		cJSON_Delete(o);
		return SD_ESTATE;
	}
	struct chk_task *v = calloc(nt ? nt : 1, sizeof(*v));
	for (size_t i = 0; v && i < nt && rc == 0; i++) {
		const cJSON *t = cJSON_GetArrayItem(tasks, (int)i);
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(t, "staged_xxh3");
		v[i].finished = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "finished"));
		v[i].snapshot = json_str(t, "snapshot");
		v[i].staged_path = json_str(t, "staged");
		v[i].acked = v[i].snapshot != NULL;
		rc = json_u64(t, "state_bytes", &v[i].state_bytes);
		if (rc == 0)
			rc = json_u64(t, "staged_bytes", &v[i].staged_bytes);
		if (rc == 0)
			rc = json_u64(t, "before", &v[i].before);
		if (rc == 0 && cJSON_IsString(x))
			v[i].staged_xxh3 = strtoull(x->valuestring, NULL, 16);
	}
	cJSON_Delete(o);
	if (!v || rc) {
		coord__chk_tasks_free(v, nt);
		snprintf(err, cap, "checkpoint metadata: a task entry is malformed");
		return v ? SD_EPROTO : SD_ENOMEM;
	}
	*out = v;
	return 0;
}

/* ---- file service work ---- */

static int write_file(struct nfs_conn *c, const char *path, const char *text, char *err, size_t cap)
{
	uint64_t h;
	int rc = nfs_create(c, path, true, &h);
	if (rc == 0 && (rc = nfs_write(c, h, 0, text, strlen(text))) != 0)
		(void)nfs_abort(c, h);
	if (rc == 0)
		rc = nfs_commit(c, h);
	if (rc)
		snprintf(err, cap, "writing %s: %s", path, nfs_last_error(c));
	return rc;
}

/* Publishes one task's staged output (see checkpoint.c for the rule). */
static int publish_one(struct nfs_conn *c, const struct coord_job *job,
		       const struct coord_task *task, const struct chk_task *ct, char *err,
		       size_t cap)
{
	char out[COORD_PATH_MAX], part[COORD_PATH_MAX];
	struct nfs_stat st = {0};
	uint64_t b = ct->before, l = ct->staged_bytes;
	int rc = coord__task_sink_output(job, task, out, sizeof(out));
	if (rc == 0)
		rc = coord_sink_part_name(part, sizeof(part), out, job->id, 0, task->partition);
	if (rc)
		return rc;
	rc = nfs_stat(c, part, &st);
	if (rc == SD_ENOENT)
		st.size = 0, rc = 0;
	if (rc) {
		snprintf(err, cap, "stat %s: %s", part, nfs_last_error(c));
		return rc;
	}
	if (st.size == b + l) { /* published before: the staged file may be left */
		rc = nfs_delete(c, ct->staged_path);
		return rc == SD_ENOENT ? 0 : rc;
	}
	if (st.size < b || st.size > b + l) {
		snprintf(err, cap,
			 "sink part %s is %" PRIu64
			 " bytes; checkpoint publishing expected %" PRIu64 " or %" PRIu64
			 ": it was changed outside the job",
			 part, st.size, b, b + l);
		return SD_ESTATE;
	}
	if (st.size > b && (rc = nfs_truncate(c, part, b)) != 0) {
		snprintf(err, cap, "truncate %s: %s", part, nfs_last_error(c));
		return rc;
	}
	const char *src[1] = {ct->staged_path};
	uint64_t x[1] = {ct->staged_xxh3};
	struct nfs_concat_opts opts = {.check_size = true,
				       .expect_size = b,
				       .source_xxh3 = ct->staged_xxh3 ? x : NULL,
				       .delete_sources = true};
	uint64_t size = 0;
	rc = nfs_concat(c, part, src, 1, &opts, &size);
	if (rc)
		snprintf(err, cap, "publishing %s into %s: %s", ct->staged_path, part,
			 nfs_last_error(c));
	return rc;
}

static int publish(struct nfs_conn *c, const struct coord_job *job, const struct chk_task *v,
		   char *err, size_t cap)
{
	int rc = 0;
	for (size_t i = 0; i < job->n_tasks && rc == 0; i++)
		if (v[i].staged_path && v[i].staged_bytes)
			rc = publish_one(c, job, &job->tasks[i], &v[i], err, cap);
	return rc;
}

/* Deletes checkpoint id's files (not a kept savepoint's). Errors are ignored. */
static void delete_checkpoint(struct nfs_conn *c, const struct coord_job *job, uint64_t id)
{
	char dir[COORD_PATH_MAX], path[COORD_PATH_MAX + 64];
	if (coord__chk_dir(dir, sizeof(dir), job))
		return;
	for (size_t i = 0; i < job->n_tasks; i++) {
		snprintf(path, sizeof(path), "%s/chk-%" PRIu64 "/task-%zu", dir, id, i);
		(void)nfs_delete(c, path);
	}
	snprintf(path, sizeof(path), "%s/chk-%" PRIu64 "/_metadata", dir, id);
	(void)nfs_delete(c, path);
}

static int connect_nfs(const struct coord_netfs *nfs, struct nfs_conn **c, char *err, size_t cap)
{
	if (!nfs->host) {
		snprintf(err, cap, "no file service for checkpoints");
		return SD_ENOTSUP;
	}
	int rc = nfs_connect(nfs->host, nfs->port, nfs->token, c);
	if (rc)
		snprintf(err, cap, "file service %s:%u: %s", nfs->host, nfs->port, sd_strerror(rc));
	return rc;
}

int coord__chk_complete_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			     size_t cap)
{
	struct coord_chk *c = job->chk;
	char dir[COORD_PATH_MAX], path[COORD_PATH_MAX + 64];
	struct nfs_conn *conn = NULL;
	int rc = coord__chk_dir(dir, sizeof(dir), job);
	for (size_t i = 0; rc == 0 && i < job->n_tasks; i++) {
		struct chk_task *ct = &c->pending[i];
		ct->before = c->published[i];
		snprintf(path, sizeof(path), "%s/chk-%" PRIu64 "/task-%zu", dir, c->pending_id, i);
		if (ct->acked && !(ct->snapshot = coord__strndup(path, sizeof(path))))
			rc = SD_ENOMEM;
	}
	char *meta = rc ? NULL
			: coord__chk_to_json(job, c->pending_id, c->pending, c->pending_savepoint);
	if (rc == 0 && !meta)
		rc = SD_ENOMEM;
	if (rc == 0)
		rc = connect_nfs(nfs, &conn, err, cap);
	snprintf(path, sizeof(path), "%s/chk-%" PRIu64 "/_metadata", dir, c->pending_id);
	if (rc == 0)
		rc = write_file(conn, path, meta, err, cap);
	free(meta);
	/* N becomes complete when the loop records it in the job store
	 * (coord__chk_complete_after); only then is its output published. */
	if (rc == 0)
		c->meta_written = true;
	nfs_close(conn);
	return rc;
}

int coord__chk_publish_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			    size_t cap)
{
	struct coord_chk *c = job->chk;
	struct nfs_conn *conn = NULL;
	int rc = connect_nfs(nfs, &conn, err, cap);
	if (rc == 0)
		rc = publish(conn, job, c->latest, err, cap);
	if (rc == 0 && c->latest_id > COORD_CHECKPOINTS_KEPT &&
	    !coord__chk_kept(c, c->latest_id - COORD_CHECKPOINTS_KEPT))
		delete_checkpoint(conn, job, c->latest_id - COORD_CHECKPOINTS_KEPT);
	nfs_close(conn);
	return rc;
}

int coord__chk_restore_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			    size_t cap)
{
	struct coord_chk *c = job->chk;
	struct nfs_conn *conn = NULL;
	const struct coord_compiled *cc = job->compiled;
	/* A job loaded from the store has not listed its inputs yet. */
	int rc = cc && !cc->n_splits && coord__needs_listing(job)
			 ? coord__plan_inputs(job, nfs, err, cap)
			 : 0;
	if (rc == 0)
		rc = connect_nfs(nfs, &conn, err, cap);
	if (rc == 0)
		rc = publish(conn, job, c->latest, err, cap);
	nfs_close(conn);
	return rc;
}

struct staged_list {
	char **paths;
	size_t n;
};

static int on_staged(void *arg, const struct nfs_entry *e)
{
	struct staged_list *l = arg;
	if (e->is_dir)
		return 0;
	char **p = realloc(l->paths, (l->n + 1) * sizeof(*p));
	if (!p)
		return SD_ENOMEM;
	l->paths = p;
	if (!(p[l->n] = coord__strndup(e->path, COORD_PATH_MAX)))
		return SD_ENOMEM;
	l->n++;
	return 0;
}

int coord__chk_cleanup_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			    size_t cap)
{
	char dir[COORD_PATH_MAX], pattern[COORD_PATH_MAX + 16];
	struct staged_list l = {0};
	struct nfs_conn *conn = NULL;
	bool truncated = false;
	int rc = coord__chk_dir(dir, sizeof(dir), job);
	if (rc == 0)
		rc = connect_nfs(nfs, &conn, err, cap);
	snprintf(pattern, sizeof(pattern), "%s/staged/*", dir);
	if (rc == 0)
		rc = nfs_list(conn, pattern, on_staged, &l, &truncated);
	for (size_t i = 0; i < l.n; i++) {
		if (rc == 0)
			(void)nfs_delete(conn, l.paths[i]);
		free(l.paths[i]);
	}
	free(l.paths);
	nfs_close(conn);
	return rc == SD_ENOENT ? 0 : rc; /* nothing was ever staged */
}

/* ---- starting from a savepoint ---- */

struct text_buf {
	char *p;
	size_t n;
};

static int take_text(void *arg, uint64_t offset, const void *data, size_t len)
{
	struct text_buf *b = arg;
	(void)offset;
	if (b->n + len > COORD_METADATA_MAX)
		return SD_ETOOBIG;
	char *p = realloc(b->p, b->n + len + 1);
	if (!p)
		return SD_ENOMEM;
	memcpy(p + b->n, data, len);
	b->p = p;
	b->n += len;
	p[b->n] = '\0';
	return 0;
}

/* A savepoint's output was published in its own job: this one starts its
 * sinks empty and never republishes what the savepoint staged. */
static void forget_output(struct coord_job *job)
{
	struct coord_chk *c = job->chk;
	for (size_t i = 0; i < job->n_tasks; i++) {
		free(c->latest[i].staged_path);
		c->latest[i].staged_path = NULL;
		c->latest[i].staged_bytes = c->latest[i].before = 0;
		c->published[i] = 0;
	}
	c->n_kept = 0; /* the savepoint belongs to the other job's directory */
	c->restored++;
}

int coord__chk_savepoint_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			      size_t cap)
{
	char path[COORD_PATH_MAX + 16], why[COORD_ERR_TEXT_MAX];
	const char *dir = coord__netfs_path(job->from_savepoint);
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	snprintf(path, sizeof(path), "%.*s/_metadata", (int)dl, dir);
	struct text_buf b = {0};
	struct nfs_conn *conn = NULL;
	int rc = connect_nfs(nfs, &conn, err, cap);
	if (rc == 0 && (rc = nfs_read(conn, path, 0, 0, take_text, &b)) != 0)
		snprintf(err, cap, "savepoint %s: %s", job->from_savepoint,
			 rc == SD_ENOENT    ? "no such savepoint (its _metadata is missing)"
			 : rc == SD_ETOOBIG ? "its _metadata is larger than the limit"
					    : nfs_last_error(conn));
	nfs_close(conn);
	if (rc == 0 && (rc = coord__chk_adopt(job, b.p, b.n, 0, why, sizeof(why))) != 0)
		snprintf(err, cap, "savepoint %s: %s", job->from_savepoint, why);
	free(b.p);
	if (rc)
		return rc;
	forget_output(job);
	const struct coord_compiled *cc = job->compiled;
	if (cc && !cc->n_splits && coord__needs_listing(job))
		rc = coord__plan_inputs(job, nfs, err, cap);
	return rc;
}

/* ---- Deploy fields ---- */

int coord__chk_fill_deploy(const struct coord_job *job, const struct coord_task *task,
			   Sd__Control__Deploy *d, char *dir, char *restore, char *staged,
			   size_t cap)
{
	const struct coord_chk *c = job->chk;
	if (!job->ft.checkpoint_us)
		return 0;
	int rc = coord__chk_dir(dir, cap, job);
	if (rc)
		return rc;
	d->checkpoint_dir = dir;
	if (c && c->latest_id && c->latest[task->task_id].snapshot) {
		snprintf(restore, cap, "%s", c->latest[task->task_id].snapshot);
		d->restore_path = restore;
		d->restore_checkpoint = c->latest_id;
	}
	if (d->sink) { /* streaming output goes through the two-phase commit */
		d->sink->append = false;
		d->sink->exactly_once = true;
		int n = snprintf(staged, cap, "%s/staged/a%u-part-%05u", dir, job->attempt,
				 task->partition);
		if (n < 0 || (size_t)n >= cap)
			return SD_ETOOBIG;
		d->sink->staged_prefix = staged;
	}
	return 0;
}
