/*
 * netfs/server/job.c — requests that run off the loop (struct srv_op), and
 * truncate, the smallest of them.
 *
 * A job is validated on the loop, started with srv__op_start() (the
 * transport runs its work on a worker thread, then its done callback on the
 * loop), records its first failure with srv__op_fail() on the worker, and
 * answers with srv__op_answer() from its done callback: Ok{size} or the
 * Error naming the path. concat.c holds the other job.
 *
 * Truncate cuts a file to a size not past its end and syncs it. It holds its
 * path exclusively (busy.c) while it runs, so no append or concat interleaves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "netfs/server/srv.h"

struct truncate_job {
	struct srv_op op; /* first: the job */
	uint64_t size;    /* bytes to keep */
	char path[NFS_PATH_MAX + 1];
};

int srv__op_fail(struct srv_op *op, int rc, const char *fmt, ...)
{
	va_list ap;

	if (op->rc == 0) {
		op->rc = rc;
		va_start(ap, fmt);
		vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

int srv__op_start(struct srv_session *ss, struct srv_op *op, uint64_t req_id,
		  void (*work)(struct srv_job *), void (*done)(struct srv_job *))
{
	int rc;

	op->job.work = work;
	op->job.done = done;
	op->ss = ss;
	op->srv = ss->srv;
	op->req_id = req_id;
	op->rc = SD_ECANCELED; /* until the work runs and says otherwise */
	snprintf(op->msg, sizeof(op->msg), "canceled before it ran");
	ss->n_jobs++;
	if ((rc = ss->io->run(ss->io_arg, &op->job)) < 0)
		ss->n_jobs--;
	return rc;
}

void srv__op_answer(struct srv_op *op)
{
	struct srv_session *ss = op->ss;

	ss->n_jobs--;
	if (op->rc < 0)
		srv_send_error(ss, op->req_id, op->rc, "%s", op->msg);
	else
		srv__send_ok(ss, op->req_id, op->size);
}

/* ---- truncate ---------------------------------------------------------- */

static void truncate_work(struct srv_job *job)
{
	struct truncate_job *j = (struct truncate_job *)job;
	struct stat st;
	int fd, rc;

	j->op.rc = 0;
	if ((rc = srv_open_beneath(j->op.srv, j->path, O_WRONLY, 0, &fd)) < 0) {
		srv__op_fail(&j->op, rc, "truncate %s: %s", j->path,
			     rc == SD_EPATH ? "refused: a symlink on the way" : sd_strerror(rc));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		srv__op_fail(&j->op, SD_EINVAL, "truncate %s: not a regular file", j->path);
	else if (j->size > (uint64_t)st.st_size)
		srv__op_fail(&j->op, SD_EINVAL,
			     "truncate %s: %llu bytes is past the end (%llu bytes)", j->path,
			     (unsigned long long)j->size, (unsigned long long)st.st_size);
	else if (ftruncate(fd, (off_t)j->size) < 0 || fsync(fd) < 0)
		srv__op_fail(&j->op, sd_err_from_errno(errno), "truncate %s: %s", j->path,
			     sd_strerror(sd_err_from_errno(errno)));
	j->op.size = j->size;
	close(fd);
}

static void truncate_done(struct srv_job *job)
{
	struct truncate_job *j = (struct truncate_job *)job;

	srv_busy_release(j->op.ss->srv, j->path, true);
	srv__op_answer(&j->op);
	free(j);
}

int srv__on_truncate(struct srv_session *ss, const Sd__Netfs__TruncateReq *m, bool nul)
{
	char norm[NFS_PATH_MAX + 1];
	struct truncate_job *j;
	int rc = srv__check_path(ss, m->req_id, "truncate", m->path, nul, false, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if (ss->n_jobs >= SRV_JOBS_MAX)
		return srv__fail(ss, m->req_id, "truncate", norm, SD_ELIMIT,
				 "too many concats/truncates running on this connection");
	if (!(j = calloc(1, sizeof(*j))))
		return srv__fail(ss, m->req_id, "truncate", norm, SD_ENOMEM, NULL);
	snprintf(j->path, sizeof(j->path), "%s", norm);
	j->size = m->size;
	if ((rc = srv_busy_acquire(ss->srv, norm, true)) < 0) {
		free(j);
		return srv__fail(ss, m->req_id, "truncate", norm, rc,
				 rc == SD_EBUSY ? "a concat or truncate of it is running" : NULL);
	}
	if ((rc = srv__op_start(ss, &j->op, m->req_id, truncate_work, truncate_done)) < 0) {
		srv_busy_release(ss->srv, norm, true);
		free(j);
		return srv__fail(ss, m->req_id, "truncate", norm, rc, NULL);
	}
	return 0;
}
