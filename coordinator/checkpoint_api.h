/*
 * coordinator/checkpoint_api.h — seams between the job store (store.c), the
 * checkpoint views and hooks (checkpoint_api.c) and the checkpoint
 * coordinator (checkpoint.c). Private to the coordinator.
 *
 *   coord__job_adopt               a job under a stored id (store.c)
 *   coord__store_remove            a record goes when its job is evicted (store.c)
 *   coord__chk_adopt               job->chk from stored metadata
 *   coord__chk_after_complete_hook checkpoint.c calls it when one completed
 */
#ifndef SD_COORD_CHECKPOINT_API_H
#define SD_COORD_CHECKPOINT_API_H

#include "coordinator/coord_priv.h"

/*
 * Adds an empty job (CREATED, stamped now_us) with the given id and name to
 * the table, as a submission does but without making an id. Returns it
 * (owned by the table) or NULL: id malformed or already in the table, the
 * table at COORD_JOBS_MAX, out of memory. O(jobs) for the duplicate check.
 */
struct coord_job *coord__job_adopt(struct coord_jobs *t, const char *id, const char *name,
				   uint64_t now_us);

/* Removes the job's record from the store (the table evicted the job). */
void coord__store_remove(const struct coord_jobs *t, const char *id);

/*
 * Makes job->chk (replacing any) from the metadata JSON of its latest
 * completed checkpoint (meta_json, len bytes, borrowed): the per-task
 * snapshots and staged output, what the sinks have published after it, and
 * next_id as the next checkpoint number (at least one past the latest). The
 * job must be compiled (its graph is checked against the metadata).
 * 0, or SD_EPROTO, SD_EVERSION, SD_ESTATE (another graph), SD_ENOMEM with
 * err set; job->chk is untouched on error.
 */
int coord__chk_adopt(struct coord_job *job, const char *meta_json, size_t len, uint64_t next_id,
		     char *err, size_t cap);

/*
 * Checkpoint id of job completed (call at the end of coord__chk_complete_after).
 * A job stopping with a savepoint (POST .../savepoints {"stop": true}) is
 * canceled once that savepoint is the one completed.
 */
void coord__chk_after_complete_hook(struct coord_jobs *t, struct coord_job *job, uint64_t id,
				    uint64_t now_us);

#endif /* SD_COORD_CHECKPOINT_API_H */
