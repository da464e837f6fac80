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
struct cJSON;

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
	void *mem[16]; /* owned allocations */
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

enum coord__nfs_op {
	COORD__OP_LIST_INPUTS,
	COORD__OP_COMMIT,
	COORD__OP_DISCARD,
	COORD__OP_CHK_COMPLETE, /* metadata, publish, retention; then N is the latest */
	COORD__OP_RESTORE,      /* publish the latest checkpoint again; then deploy from it */
	COORD__OP_CHK_PUBLISH,  /* publish the newly completed checkpoint, retention */
	COORD__OP_SAVEPOINT,    /* read job->from_savepoint; then deploy from it */
	COORD__OP_CHK_CLEANUP,  /* the job ended: remove staged files never published */
};

/* DEPLOYING, then CTL_DEPLOY for every task. 0 or the first failure (err). */
int coord__start_deploy(struct coord_jobs *t, struct coord_job *job, char *err, size_t err_cap,
			uint64_t now_us);
/* Runs one file service call for job off the loop; its end continues the job. */
void coord__run_nfs_op(struct coord_jobs *t, struct coord_job *job, enum coord__nfs_op kind,
		       uint64_t now_us);
/* Every task FINISHED: FINISHED now, or JobDone then sink assembly. */
void coord__job_finish(struct coord_jobs *t, struct coord_job *job, uint64_t now_us);
void coord__send_cancel(struct coord_jobs *t, struct coord_job *job, const char *reason);
/* One message to every READY node that runs a task of job. */
void coord__send_to_job_nodes(struct coord_jobs *t, struct coord_job *job, uint16_t type,
			      const ProtobufCMessage *msg);
void coord__send_job_done(struct coord_jobs *t, struct coord_job *job, bool ok);

/* Frees job->compiled. */
void coord__free_compiled(struct coord_job *job);

/* A new job in the table (jobs.c): id NULL makes a fresh id and counts a
 * submission; a given id (COORD_ID_LEN hex, from the job store) is kept.
 * Owned by the table; NULL when full or out of memory. */
struct coord_job *coord__job_new(struct coord_jobs *t, const char *id, const char *name,
				 uint64_t now_us);

/* ---- recovery.c ---- */

/* Records an exception (message copied). root: it is what ended or restarted the job. */
void coord__add_exception(struct coord_job *job, int code, const char *message, int64_t task_id,
			  const char *node, bool root, uint64_t now_us);
/* Every task that has not ended is marked CANCELED (the job stopped them all). */
void coord__tasks_stop(struct coord_job *job, uint64_t now_us);
/* job->ft from the job block over the table's defaults (after compiling). */
void coord__job_ft_init(struct coord_job *job, const struct coord_ft *defaults);
/* A restart itself failed (restoring, placing): try again later or fail. */
void coord__restart_failed(struct coord_jobs *t, struct coord_job *job, int code,
			   const char *message, uint64_t now_us);
/* RESTARTING jobs whose delay passed redeploy; DEPLOYING ones past their deadline fail. */
void coord__recovery_tick(struct coord_jobs *t, uint64_t now_us);
/*
 * Re-placement after a failure: tasks on nodes that are still READY and
 * eligible stay, the rest move (plc_replace, every hard constraint kept).
 * SD_EINFEASIBLE with the solver's explanation in err.
 */
int coord__replace(struct coord_job *job, const struct coord_registry *r,
		   const struct coord_netfs *nfs, char *err, size_t err_cap);

/* ---- checkpoint.c, checkpoint_io.c ---- */

#define COORD_CHECKPOINTS_KEPT      3u          /* completed checkpoints kept on netfs */
#define COORD_CHECKPOINT_HISTORY    32u         /* checkpoints listed by the API */
#define COORD_SAVEPOINTS_MAX        16u         /* savepoints a job keeps */
#define COORD_CHECKPOINT_TIMEOUT_US 60000000u   /* a checkpoint not acked by then fails */
#define COORD_METADATA_MAX          (16u << 20) /* bytes of a checkpoint's _metadata read back */

void coord__chk_free(struct coord_job *job);
/* Aborts the checkpoint in progress (counted as failed); no-op without one. */
void coord__chk_abort(struct coord_job *job, const char *why);
/* The latest completed checkpoint's id, 0 when none. */
uint64_t coord__chk_latest(const struct coord_job *job);
/* Triggers, times out and completes the job's checkpoints (every tick). */
void coord__chk_tick(struct coord_jobs *t, struct coord_job *job, uint64_t now_us);
/* ".stardust/<job>/checkpoints" */
int coord__chk_dir(char *out, size_t cap, const struct coord_job *job);
/* Off the loop: completes the checkpoint in progress / republishes the latest. */
int coord__chk_complete_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			     size_t cap);
int coord__chk_restore_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			    size_t cap);
void coord__chk_complete_after(struct coord_jobs *t, struct coord_job *job, int rc, const char *err,
			       uint64_t now_us);
/* Off the loop: reads job->from_savepoint's metadata (and lists inputs) so the
 * tasks restore from it. SD_ESTATE/SD_EPROTO/SD_ENOENT with err naming it. */
int coord__chk_savepoint_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			      size_t cap);
int coord__chk_cleanup_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			    size_t cap);
int coord__chk_publish_work(struct coord_job *job, const struct coord_netfs *nfs, char *err,
			    size_t cap);
void coord__chk_publish_after(struct coord_jobs *t, struct coord_job *job, int rc, const char *err,
			      uint64_t now_us);
/* Deploy.checkpoint_dir/restore_*, and the sink's two-phase commit; the three
 * buffers (cap bytes each) back the strings. */
int coord__chk_fill_deploy(const struct coord_job *job, const struct coord_task *task,
			   Sd__Control__Deploy *d, char *dir, char *restore, char *staged,
			   size_t cap);
/* The final output of the sink task writes, SD_ENOENT when it has none. */
int coord__task_sink_output(const struct coord_job *job, const struct coord_task *task, char *out,
			    size_t cap);
/* Adds the job's checkpoints to a JSON object (api_render.c's cJSON *). */
void coord__chk_render(const struct coord_job *job, void *json_object);

/* A non-negative integer member k of JSON object o (exact up to 2^53). */
bool coord__json_u64(const struct cJSON *o, const char *k, uint64_t *out);

/* ---- store.c: the job store in --state-dir ---- */

/* Persists job (atomic write); a no-op without a state directory. */
void coord__store_save(struct coord_jobs *t, const struct coord_job *job);

/* Duplicates at most max bytes of s (NUL-terminated result) or NULL. */
char *coord__strndup(const char *s, size_t max);

/* "netfs://a/b" -> "a/b"; other strings unchanged. */
const char *coord__netfs_path(const char *uri);

#endif /* SD_COORD_COORD_PRIV_H */
