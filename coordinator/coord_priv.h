/*
 * coordinator/coord_priv.h — seams between the coordinator's own files.
 *
 * compile.c wraps dataflow/ (compile, plan text, per-task plan bytes) and
 * placement/ (assignment or infeasibility report). Until those libraries are
 * linked into the build (CMake defines SD_HAVE_DATAFLOW / SD_HAVE_PLACEMENT)
 * each seam answers SD_ENOTSUP with a message saying so: the coordinator
 * never pretends a job ran.
 */
#ifndef SD_COORD_COORD_PRIV_H
#define SD_COORD_COORD_PRIV_H

#include "coordinator/coord.h"

/*
 * Compiles text into job->compiled, job->stages, job->tasks and
 * job->plan_json. Errors carry the compiler's message (line:column) in err.
 */
int coord__compile(struct coord_job *job, const char *text, size_t len, char *err, size_t err_cap);

/*
 * Assigns every task of a compiled job to a READY node of the registry
 * (task->node_id). SD_EINFEASIBLE with the solver's report in err.
 */
int coord__place(struct coord_job *job, const struct coord_registry *r, char *err, size_t err_cap);

/*
 * Fills the Deploy message parts that come from the compiled plan: plan bytes
 * (returned owned in *plan, free()), input splits, channels and sink. Returns
 * 0 or an SD_E*.
 */
int coord__task_plan(const struct coord_job *job, const struct coord_task *task, uint8_t **plan,
		     size_t *plan_len);

/* Commits the job's sinks (temporary names -> final names) through netfs. */
int coord__commit_sinks(struct coord_job *job, char *err, size_t err_cap);

/* Frees job->compiled. */
void coord__free_compiled(struct coord_job *job);

/* Duplicates at most max bytes of s (NUL-terminated result) or NULL. */
char *coord__strndup(const char *s, size_t max);

#endif /* SD_COORD_COORD_PRIV_H */
