/*
 * coordinator/coord_priv.h — seams between the coordinator's own files.
 *
 *   compile.c  dataflow/: compile, plan JSON, per-task Deploy messages
 *   place.c    placement/: model from the registry and the plan, solve
 *   sinks.c    netfs/: input splits from source globs, sink commit
 *
 * job->compiled is a struct coord_compiled, owned by the job.
 */
#ifndef SD_COORD_COORD_PRIV_H
#define SD_COORD_COORD_PRIV_H

#include "coordinator/coord.h"

struct df_job;
struct plc_constraint;

#define COORD_CHANNEL_CREDITS    8u    /* batches a receiver grants up front */
#define COORD_CHANNEL_RATE_GUESS 1e6   /* bytes/s assumed per channel edge for placement */
#define COORD_SOURCE_RATE_GUESS  1e6   /* bytes/s assumed per source read */
#define COORD_SPLITS_MAX         4096u /* input files one job may read */
#define COORD_CONSTRAINTS_MAX    64u   /* --constraint / --prefer per job */
#define COORD_ERR_TEXT_MAX       4096  /* bytes: a compiler, solver or file service message */

struct coord_split {
	char *path; /* owned, relative to the netfs export root */
	uint64_t offset;
	uint64_t length; /* 0 = to the end */
	bool follow;
	uint32_t task_id;
};

struct coord_compiled {
	struct df_job *df;                  /* owned */
	struct plc_constraint *constraints; /* owned: the CLI's, parsed */
	size_t n_constraints;
	struct coord_split *splits; /* owned: after coord__plan_inputs */
	size_t n_splits;
	char *explain;   /* owned: df_plan_explain text */
	char *placement; /* owned: plc_render_text, NULL before placement */
};

/*
 * Compiles sub->text into job->compiled, job->stages, job->tasks and
 * job->plan_json. Errors carry the compiler's message (file:line:col) in err
 * as is: SD_ESYNTAX, SD_ETYPE, SD_EPLAN; SD_EINVAL for a bad --constraint.
 */
int coord__compile(struct coord_job *job, const struct coord_submit *sub, char *err,
		   size_t err_cap);

/*
 * Assigns every task of a compiled job to a READY node of the registry
 * (task->node_id) and adds the placement to job->plan_json.
 * SD_EINFEASIBLE with the solver's report in err.
 */
int coord__place(struct coord_job *job, const struct coord_registry *r,
		 const struct coord_netfs *nfs, char *err, size_t err_cap);
/* Connects to the file service and copies its region into region (cap bytes). */
int coord__netfs_region(const struct coord_netfs *nfs, char *region, size_t cap);

/* SD_ENOTSUP (with why in err) when the job needs a file service and has none. No I/O. */
int coord__check_netfs(const struct coord_job *job, const struct coord_netfs *nfs, char *err,
		       size_t err_cap);
/* Whether the job reads files (so its inputs must be listed before deployment). */
bool coord__needs_listing(const struct coord_job *job);
/*
 * Lists the job's source files on the netfs server and cuts them into splits.
 * Blocks on the file service: the job table runs it off the loop. Touches
 * only job->compiled->splits.
 */
int coord__plan_inputs(struct coord_job *job, const struct coord_netfs *nfs, char *err,
		       size_t err_cap);

/*
 * Builds the Deploy message for one task into *d, using scratch storage
 * owned by *scratch (freed by coord__deploy_scratch_free after sending).
 */
struct coord_deploy_scratch {
	void *mem[8]; /* owned allocations */
	size_t n;
};
int coord__fill_deploy(const struct coord_jobs *t, const struct coord_job *job,
		       const struct coord_task *task, Sd__Control__Deploy *d,
		       struct coord_deploy_scratch *scratch);
void coord__deploy_scratch_free(struct coord_deploy_scratch *s);

/*
 * Assembles the job's sinks (ok) or removes their parts (!ok): see
 * coord_sink_part_name. SD_EAGAIN while a part some task reported writing
 * (sink_bytes > 0) is not committed yet; err says which.
 */
int coord__commit_sinks(struct coord_job *job, const struct coord_netfs *nfs, bool ok, char *err,
			size_t err_cap);

/* Returns an owned cJSON array (as void *) of the job's file sinks for its
 * status: {output, streaming, parts[]} (compile.c). */
void *coord__sinks_json(const struct coord_job *job);

/* Whether the job's tasks write sinks (so finishing goes through a commit). */
bool coord__has_sinks(const struct coord_job *job);

/* ---- between jobs.c (the table) and jobs_run.c (deployment, commit) ---- */

enum coord__nfs_op { COORD__OP_LIST_INPUTS, COORD__OP_COMMIT, COORD__OP_DISCARD };

/* DEPLOYING, then CTL_DEPLOY for every task. 0 or the first failure (err). */
int coord__start_deploy(struct coord_jobs *t, struct coord_job *job, char *err, size_t err_cap,
			uint64_t now_us);
/* Runs one file service call for job off the loop; its end continues the job. */
void coord__run_nfs_op(struct coord_jobs *t, struct coord_job *job, enum coord__nfs_op kind,
		       uint64_t now_us);
/* Every task FINISHED: FINISHED now, or JobDone then sink assembly. */
void coord__job_finish(struct coord_jobs *t, struct coord_job *job, uint64_t now_us);
void coord__send_cancel(struct coord_jobs *t, struct coord_job *job, const char *reason);
void coord__send_job_done(struct coord_jobs *t, struct coord_job *job, bool ok);

/* Frees job->compiled. */
void coord__free_compiled(struct coord_job *job);

/* Duplicates at most max bytes of s (NUL-terminated result) or NULL. */
char *coord__strndup(const char *s, size_t max);

/* "netfs://a/b" -> "a/b"; other strings unchanged. */
const char *coord__netfs_path(const char *uri);

#endif /* SD_COORD_COORD_PRIV_H */
