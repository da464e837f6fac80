/*
 * coordinator/compile.c — where the coordinator meets dataflow/ and
 * placement/ (see coord_priv.h).
 *
 * This build has neither library yet, so every seam reports SD_ENOTSUP with
 * a message naming what is missing. When dataflow/dataflow.h and
 * placement/placement.h land, the bodies below call df_compile, df_plan_explain,
 * df_task_plan_encode and plc_solve; nothing else in the coordinator changes.
 */
#include "coordinator/coord_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

bool coord_jobs_can_compile(void)
{
	return false;
}

bool coord_jobs_can_place(void)
{
	return false;
}

int coord__compile(struct coord_job *job, const char *text, size_t len, char *err, size_t err_cap)
{
	(void)job;
	(void)text;
	(void)len;
	snprintf(err, err_cap,
		 "job compilation is not available yet: this coordinator was built without "
		 "the job compiler (dataflow/)");
	return SD_ENOTSUP;
}

int coord__place(struct coord_job *job, const struct coord_registry *r, char *err, size_t err_cap)
{
	(void)job;
	(void)r;
	snprintf(err, err_cap,
		 "placement is not available yet: this coordinator was built without the "
		 "placement solver (placement/)");
	return SD_ENOTSUP;
}

int coord__task_plan(const struct coord_job *job, const struct coord_task *task, uint8_t **plan,
		     size_t *plan_len)
{
	(void)task;
	*plan = NULL;
	*plan_len = 0;
	/* Jobs made by coord_jobs_add_for_test carry no compiled plan. */
	return job->compiled ? SD_ENOTSUP : 0;
}

int coord__commit_sinks(struct coord_job *job, char *err, size_t err_cap)
{
	if (!job->compiled)
		return 0; /* nothing compiled, no sinks to commit */
	snprintf(err, err_cap, "sink commit is not available yet: netfs client missing");
	return SD_ENOTSUP;
}

void coord__free_compiled(struct coord_job *job)
{
	job->compiled = NULL;
}

char *coord__strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}
