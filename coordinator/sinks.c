/*
 * coordinator/sinks.c — the coordinator's use of the file service (netfs
 * blocking client): list a job's source globs into input splits before
 * deployment, and commit its file sinks when it succeeds.
 *
 * Splits: the files a source glob matches, sorted by path, dealt round-robin
 * to the source stage's partitions (whole files; a partition may get none).
 *
 * Commit: each sink task wrote its partition to coord_sink_part_name(); on
 * success the parts are concatenated in partition order into the final name
 * through one create/write/commit (so the final file appears whole or not at
 * all), then deleted. On failure only the parts are deleted.
 *
 * Unbounded jobs (streaming): each sink task appends whole lines to its
 * part file as results come (Deploy.sink.append), so the parts ARE the
 * output: they are visible while the job runs and never assembled nor
 * deleted here, whatever way the job ends.
 *
 * These calls block the loop for the duration of a few local round trips at
 * submit and at completion; the file service is on the same network.
 */
#include "coordinator/coord_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/dataflow.h"
#include "netfs/netfs.h"

struct listing {
	char **paths;
	size_t n;
	size_t cap;
	int err;
};

static int on_entry(void *arg, const struct nfs_entry *e)
{
	struct listing *l = arg;
	if (e->is_dir)
		return 0;
	if (l->n == COORD_SPLITS_MAX)
		return l->err = SD_ELIMIT;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **p = realloc(l->paths, cap * sizeof(*p));
		if (!p)
			return l->err = SD_ENOMEM;
		l->paths = p;
		l->cap = cap;
	}
	l->paths[l->n] = coord__strndup(e->path, NFS_PATH_MAX);
	if (!l->paths[l->n])
		return l->err = SD_ENOMEM;
	l->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int need_netfs(const struct coord_netfs *nfs, const char *what, const char *path, char *err,
		      size_t cap)
{
	if (nfs->host)
		return 0;
	snprintf(err, cap,
		 "the job %s %s but this coordinator has no file service (start it with --netfs "
		 "HOST:PORT)",
		 what, path);
	return SD_ENOTSUP;
}

static int add_splits(struct coord_compiled *c, const struct df_stage_info *st,
		      const struct df_source_info *src, struct listing *l)
{
	struct coord_split *s = realloc(c->splits, (c->n_splits + l->n) * sizeof(*s));
	if (!s)
		return SD_ENOMEM;
	c->splits = s;
	for (size_t i = 0; i < l->n; i++) {
		struct coord_split *sp = &c->splits[c->n_splits++];
		memset(sp, 0, sizeof(*sp));
		sp->path = l->paths[i];
		l->paths[i] = NULL;
		sp->follow = src->follow;
		sp->task_id = st->first_task + (uint32_t)(i % st->parallelism);
	}
	return 0;
}

static int list_source(struct nfs_conn *conn, struct coord_compiled *c,
		       const struct df_stage_info *st, const struct df_source_info *src, char *err,
		       size_t cap)
{
	struct listing l = {0};
	bool truncated = false;
	const char *pattern = coord__netfs_path(src->path);
	int rc = nfs_list(conn, pattern, on_entry, &l, &truncated);
	if (l.err)
		rc = l.err;
	if (rc)
		snprintf(err, cap, "listing %s: %s", src->path,
			 nfs_last_error(conn)[0] ? nfs_last_error(conn) : sd_strerror(rc));
	else if (l.n == 0 && !src->follow) {
		snprintf(err, cap, "no files match %s", src->path);
		rc = SD_ENOENT;
	}
	if (rc == 0) {
		qsort(l.paths, l.n, sizeof(*l.paths), cmp_str);
		rc = add_splits(c, st, src, &l);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.paths[i]);
	free(l.paths);
	return rc;
}

int coord__check_netfs(const struct coord_job *job, const struct coord_netfs *nfs, char *err,
		       size_t err_cap)
{
	const struct coord_compiled *c = job->compiled;
	unsigned nsrc, nsink;
	const struct df_source_info *src = df_job_sources(c->df, &nsrc);
	const struct df_sink_info *sk = df_job_sinks(c->df, &nsink);
	for (unsigned i = 0; i < nsink; i++)
		if (need_netfs(nfs, "writes",
			       sk[i].path ? sk[i].path : "a collect()/print() result", err,
			       err_cap))
			return SD_ENOTSUP;
	for (unsigned i = 0; i < nsrc; i++)
		if (src[i].path && need_netfs(nfs, "reads", src[i].path, err, err_cap))
			return SD_ENOTSUP;
	return 0;
}

int coord__netfs_region(const struct coord_netfs *nfs, char *region, size_t cap)
{
	struct nfs_conn *conn;
	int rc = nfs_connect(nfs->host, nfs->port, nfs->token, &conn);
	if (rc)
		return rc;
	snprintf(region, cap, "%s", nfs_region(conn) ? nfs_region(conn) : "");
	nfs_close(conn);
	return 0;
}

bool coord__needs_listing(const struct coord_job *job)
{
	unsigned nsrc;
	const struct coord_compiled *c = job->compiled;
	const struct df_source_info *src = df_job_sources(c->df, &nsrc);
	for (unsigned i = 0; i < nsrc; i++)
		if (src[i].path && src[i].kind != DF_SRC_GENERATE)
			return true;
	return false;
}

int coord__plan_inputs(struct coord_job *job, const struct coord_netfs *nfs, char *err,
		       size_t err_cap)
{
	struct coord_compiled *c = job->compiled;
	unsigned nsrc, nst;
	const struct df_source_info *src = df_job_sources(c->df, &nsrc);
	const struct df_stage_info *st = df_job_stages(c->df, &nst);
	struct nfs_conn *conn = NULL;
	for (unsigned i = 0; i < nsrc; i++) {
		if (!src[i].path || src[i].kind == DF_SRC_GENERATE || src[i].stage >= nst)
			continue;
		int rc = need_netfs(nfs, "reads", src[i].path, err, err_cap);
		if (rc == 0 && !conn && (rc = nfs_connect(nfs->host, nfs->port, nfs->token, &conn)))
			snprintf(err, err_cap, "file service %s:%u: %s", nfs->host, nfs->port,
				 sd_strerror(rc));
		if (rc == 0)
			rc = list_source(conn, c, &st[src[i].stage], &src[i], err, err_cap);
		if (rc) {
			nfs_close(conn);
			return rc;
		}
	}
	nfs_close(conn);
	return 0;
}

/* ---- commit ---- */

struct copy {
	struct nfs_conn *out;
	uint64_t handle;
	uint64_t offset;
};

static int copy_chunk(void *arg, uint64_t offset, const void *data, size_t len)
{
	struct copy *cp = arg;
	(void)offset;
	int rc = nfs_write(cp->out, cp->handle, cp->offset, data, len);
	cp->offset += len;
	return rc;
}

bool coord__has_sinks(const struct coord_job *job)
{
	const struct coord_compiled *c = job->compiled;
	unsigned n = 0;
	if (c)
		(void)df_job_sinks(c->df, &n);
	return n > 0;
}

/* The first sink of each stage is the one its tasks write (Deploy.sink). */
static bool sink_written(const struct df_sink_info *sk, unsigned i)
{
	for (unsigned k = 0; k < i; k++)
		if (sk[k].stage == sk[i].stage)
			return false;
	return true;
}

static const struct coord_task *stage_task(const struct coord_job *job, unsigned stage,
					   unsigned partition)
{
	for (size_t i = 0; i < job->n_tasks; i++)
		if (job->tasks[i].stage_id == stage && job->tasks[i].partition == partition)
			return &job->tasks[i];
	return NULL;
}

/* SD_EAGAIN while a part a task reported writing is not committed yet. */
static int parts_ready(struct nfs_conn *conn, const struct coord_job *job,
		       const struct df_sink_info *sk, unsigned parallelism, char *err, size_t cap)
{
	char out[COORD_PATH_MAX], part[COORD_PATH_MAX];
	int rc = coord_sink_output(out, sizeof(out), job, sk->id, sk->path);
	for (unsigned p = 0; p < parallelism && rc == 0; p++) {
		const struct coord_task *t = stage_task(job, sk->stage, p);
		if (!t || t->sink_bytes == 0)
			continue;
		struct nfs_stat st;
		rc = coord_sink_part_name(part, sizeof(part), out, job->id, job->attempt, p);
		if (rc == 0)
			rc = nfs_stat(conn, part, &st);
		if (rc == SD_ENOENT) {
			snprintf(err, cap, "sink part %s was not committed", part);
			return SD_EAGAIN;
		}
		if (rc)
			snprintf(err, cap, "stat %s: %s", part, nfs_last_error(conn));
	}
	return rc;
}

/* Concatenates the parts of one sink into its final name. */
static int commit_one(struct nfs_conn *in, struct nfs_conn *out, const struct coord_job *job,
		      const struct df_sink_info *sk, unsigned parallelism, char *err, size_t cap)
{
	char final[COORD_PATH_MAX];
	struct copy cp = {.out = out};
	int rc = coord_sink_output(final, sizeof(final), job, sk->id, sk->path);
	if (rc == 0 && (rc = nfs_create(out, final, true, &cp.handle))) {
		snprintf(err, cap, "creating %s: %s", final, nfs_last_error(out));
		return rc;
	}
	char part[COORD_PATH_MAX];
	for (unsigned p = 0; p < parallelism && rc == 0; p++) {
		if ((rc = coord_sink_part_name(part, sizeof(part), final, job->id, job->attempt,
					       p)))
			break;
		rc = nfs_read(in, part, 0, 0, copy_chunk, &cp);
		if (rc == SD_ENOENT)
			rc = 0; /* a partition that produced nothing wrote no part */
		else if (rc)
			snprintf(err, cap, "reading %s: %s", part, nfs_last_error(in));
	}
	if (rc == 0 && (rc = nfs_commit(out, cp.handle)))
		snprintf(err, cap, "committing %s: %s", final, nfs_last_error(out));
	if (rc)
		(void)nfs_abort(out, cp.handle);
	return rc;
}

static void delete_parts(struct nfs_conn *conn, const struct coord_job *job,
			 const struct df_sink_info *sk, unsigned parallelism)
{
	char out[COORD_PATH_MAX], part[COORD_PATH_MAX];
	if (coord_sink_output(out, sizeof(out), job, sk->id, sk->path))
		return;
	/* Every attempt's parts: a restart leaves the earlier ones behind. */
	for (uint32_t a = 0; a <= job->attempt; a++)
		for (unsigned p = 0; p < parallelism; p++)
			if (coord_sink_part_name(part, sizeof(part), out, job->id, a, p) == 0)
				(void)nfs_delete(conn, part);
}

int coord__commit_sinks(struct coord_job *job, const struct coord_netfs *nfs, bool ok, char *err,
			size_t err_cap)
{
	struct coord_compiled *c = job->compiled;
	if (!c)
		return 0; /* a job without a plan has no sinks */
	unsigned nsink, nst;
	const struct df_sink_info *sk = df_job_sinks(c->df, &nsink);
	const struct df_stage_info *st = df_job_stages(c->df, &nst);
	if (nsink == 0 || !df_job_bounded(c->df))
		return 0; /* streaming parts are the output (see the top) */
	if (!nfs->host) {
		snprintf(err, err_cap, "no file service to commit the sinks on");
		return SD_ENOTSUP;
	}
	struct nfs_conn *in = NULL, *out = NULL;
	int rc = nfs_connect(nfs->host, nfs->port, nfs->token, &in);
	if (rc == 0)
		rc = nfs_connect(nfs->host, nfs->port, nfs->token, &out);
	if (rc)
		snprintf(err, err_cap, "file service %s:%u: %s", nfs->host, nfs->port,
			 sd_strerror(rc));
	for (unsigned i = 0; i < nsink && rc == 0 && ok; i++)
		if (sink_written(sk, i) && sk[i].stage < nst)
			rc = parts_ready(in, job, &sk[i], st[sk[i].stage].parallelism, err,
					 err_cap);
	/* Every final file first, then the parts: a commit that fails half way
	 * (the file service restarting) leaves every part for the retry. */
	for (unsigned i = 0; i < nsink && rc == 0 && ok; i++)
		if (sink_written(sk, i) && sk[i].stage < nst)
			rc = commit_one(in, out, job, &sk[i], st[sk[i].stage].parallelism, err,
					err_cap);
	for (unsigned i = 0; i < nsink && rc == 0; i++)
		if (sink_written(sk, i) && sk[i].stage < nst)
			delete_parts(out, job, &sk[i], st[sk[i].stage].parallelism);
	nfs_close(in);
	nfs_close(out);
	return rc;
}
