/*
 * netfs/server/concat.c — concat in stardust-netfsd.
 *
 * A concat may copy gigabytes, so it does not run on the loop.
 * srv__on_concat() validates the request on the loop (paths, counts, the
 * per-connection job limit), claims the paths in the busy table (busy.c) and
 * starts a job (job.c, srv_io.run). Its work runs on a worker thread and
 * touches only the job and the read-only struct srv; its done callback
 * answers on the loop, releases the paths and frees the job.
 *
 * Concat (ConcatReq in proto/netfs.proto), all or nothing:
 *   1. open the target if it exists (size0; a missing one has size 0) and
 *      check expect_size: SD_ESTATE changes nothing;
 *   2. open every source: a regular file, not the target; verify its XXH3-64
 *      when the client sent sums; remember its size and inode;
 *   3. create the target when missing (and its directories, like create);
 *   4. copy each source (copy_file_range in SRV_COPY_CHUNK steps, or
 *      pread/pwrite through a SRV_COPY_BUF buffer when the file system
 *      cannot) at size0 + the sizes before it;
 *   5. fsync the target (and its directory when created).
 * Any failure in 3-5 cuts the target back to size0 (a target this request
 * created is removed). Only then, with delete_sources, are the sources
 * unlinked — each only if the name still refers to the inode copied.
 *
 * With replace (a bounded sink's commit), step 3 creates a hidden temporary
 * file (SRV_TMP_PREFIX, so reclaim.c sweeps it after a crash) beside the
 * target instead, steps 4-5 fill and sync it, and step 6 renames it over the
 * target and syncs the directory: readers see the old target or the whole
 * new one. Any failure unlinks the temporary file; the old target is never
 * touched.
 *
 * Ownership: a job is one allocation (sources and their paths inside),
 * owned by this file from srv__on_concat() until its done callback frees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#if defined(SD_HOSTED) && defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif

#include "base/err.h"
#include "base/log.h"
#include "netfs/server/srv.h"

struct concat_src {
	const char *path; /* normalized; inside the job's allocation */
	uint64_t xxh3;
	uint64_t size; /* bytes, as seen before anything was copied */
	dev_t dev;
	ino_t ino;
};

struct concat_job {
	struct srv_op op; /* first: the job */
	bool check_size, delete_sources, have_xxh3, replace;
	uint64_t expect_size;
	unsigned delete_failed; /* sources that could not be unlinked (logged) */
	size_t n;
	struct concat_src *src; /* n entries */
	char target[NFS_PATH_MAX + 1];
};

/* The target as the worker holds it. */
struct target {
	int dirfd, fd; /* -1 when not open */
	const char *base;
	bool exists, created;
	char tmp[sizeof(SRV_TMP_PREFIX) + 48]; /* replace: the file being filled, else "" */
	uint64_t size0;                        /* bytes before the request */
	dev_t dev;
	ino_t ino;
};

static int errno_rc(void)
{
	return sd_err_from_errno(errno);
}

/* The target's call that just failed, by errno; the message names the target. */
static int job_fail_errno(struct concat_job *j, const char *doing)
{
	int rc = errno_rc();

	return srv__op_fail(&j->op, rc, "concat %s: %s%s", j->target, doing, sd_strerror(rc));
}

/* ---- worker: the target ------------------------------------------------ */

/* Opens the target if it exists (no directory is created yet). */
static int target_open(struct concat_job *j, struct target *t)
{
	struct stat st;
	int rc = srv_open_parent(j->op.srv, j->target, false, &t->dirfd, &t->base);

	if (rc == SD_ENOENT)
		return 0; /* no parent directory: no target either */
	if (rc < 0)
		return srv__op_fail(&j->op, rc, "concat %s: %s", j->target, sd_strerror(rc));
	t->fd = openat(t->dirfd, t->base, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (t->fd < 0 && errno == ENOENT)
		return 0;
	if (t->fd < 0 && errno == ELOOP)
		return srv__op_fail(&j->op, SD_EPATH, "concat %s: the target is a symlink",
				    j->target);
	if (t->fd < 0 || fstat(t->fd, &st) < 0)
		return job_fail_errno(j, "");
	if (!S_ISREG(st.st_mode))
		return srv__op_fail(&j->op, SD_EINVAL,
				    "concat %s: the target is not a regular file", j->target);
	t->exists = true;
	t->size0 = (uint64_t)st.st_size;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	return 0;
}

static int target_create(struct concat_job *j, struct target *t)
{
	struct stat st;
	int rc;

	if (t->dirfd >= 0)
		close(t->dirfd);
	t->dirfd = -1;
	if ((rc = srv_open_parent(j->op.srv, j->target, true, &t->dirfd, &t->base)) < 0)
		return srv__op_fail(&j->op, rc, "concat %s: %s", j->target, sd_strerror(rc));
	t->fd = openat(t->dirfd, t->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0644);
	if (t->fd < 0 && errno == EEXIST)
		return srv__op_fail(&j->op, SD_EBUSY, "concat %s: the target appeared meanwhile",
				    j->target);
	if (t->fd < 0)
		return job_fail_errno(j, "creating: ");
	t->created = true;
	if (fstat(t->fd, &st) < 0)
		return job_fail_errno(j, "");
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	return 0;
}

/* Replace: a new temporary file beside the target (size0 0) to fill. */
static int target_create_tmp(struct concat_job *j, struct target *t)
{
	static unsigned serial; /* shared by the worker threads: atomic */

	if (t->fd >= 0)
		close(t->fd);
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->fd = t->dirfd = -1;
	t->exists = false;
	t->size0 = 0;
	int rc = srv_open_parent(j->op.srv, j->target, true, &t->dirfd, &t->base);
	if (rc < 0)
		return srv__op_fail(&j->op, rc, "concat %s: %s", j->target, sd_strerror(rc));
	for (int tries = 0; tries < 8 && t->fd < 0; tries++) {
		snprintf(t->tmp, sizeof(t->tmp), SRV_TMP_PREFIX "%d-c-%u", (int)getpid(),
			 __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
		t->fd = openat(t->dirfd, t->tmp,
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (t->fd < 0 && errno != EEXIST)
			break;
	}
	if (t->fd < 0) {
		t->tmp[0] = '\0';
		return job_fail_errno(j, "creating its temporary file: ");
	}
	return 0;
}

/* Makes a created target's name durable: fsync its directory. */
static int dir_sync(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return errno_rc();
	if (fsync(fd) < 0)
		rc = errno_rc();
	close(fd);
	return rc;
}

/* Undoes a failed concat: back to size0, or gone when this request created it. */
static void target_rollback(struct concat_job *j, struct target *t)
{
	size_t used = strlen(j->op.msg);
	struct stat st;

	if (t->tmp[0]) {
		unlinkat(t->dirfd, t->tmp, 0);
		return;
	}
	if (t->created) {
		if (fstatat(t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == t->dev && st.st_ino == t->ino)
			unlinkat(t->dirfd, t->base, 0);
		return;
	}
	if (ftruncate(t->fd, (off_t)t->size0) < 0 || fsync(t->fd) < 0)
		snprintf(j->op.msg + used, sizeof(j->op.msg) - used,
			 "; could not cut the target back to %llu bytes: %s",
			 (unsigned long long)t->size0, sd_strerror(errno_rc()));
}

/* ---- worker: the sources ----------------------------------------------- */

static int source_open(struct concat_job *j, struct concat_src *s, int *fd, struct stat *st)
{
	int rc = srv_open_beneath(j->op.srv, s->path, O_RDONLY, 0, fd);

	if (rc < 0)
		return srv__op_fail(&j->op, rc, "concat %s: source %s: %s", j->target, s->path,
				    rc == SD_EPATH ? "refused: a symlink on the way"
						   : sd_strerror(rc));
	if (fstat(*fd, st) < 0) {
		rc = errno_rc();
		close(*fd);
		return srv__op_fail(&j->op, rc, "concat %s: source %s: %s", j->target, s->path,
				    sd_strerror(rc));
	}
	if (S_ISREG(st->st_mode))
		return 0;
	rc = S_ISDIR(st->st_mode) ? SD_EISDIR : SD_EINVAL;
	close(*fd);
	return srv__op_fail(&j->op, rc, "concat %s: source %s: not a regular file", j->target,
			    s->path);
}

/* XXH3-64 of the first size bytes of fd, read through buf. */
static int hash_file(int fd, uint64_t size, uint8_t *buf, uint64_t *sum)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t off = 0;
	int rc = 0;

	if (!st)
		return SD_ENOMEM;
	XXH3_64bits_reset(st);
	while (off < size) {
		size_t want = size - off < SRV_COPY_BUF ? (size_t)(size - off) : SRV_COPY_BUF;
		ssize_t k = pread(fd, buf, want, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? errno_rc() : SD_ESTATE; /* 0: it shrank meanwhile */
			break;
		}
		XXH3_64bits_update(st, buf, (size_t)k);
		off += (uint64_t)k;
	}
	*sum = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return rc;
}

/*
 * Step 2: every source exists, is a regular file other than the target and,
 * with sums, has the right one. Nothing is written. *total: their bytes.
 */
static int sources_check(struct concat_job *j, const struct target *t, uint8_t *buf,
			 uint64_t *total)
{
	uint64_t sum = t->size0, got;
	struct stat st;
	int fd, rc;

	for (size_t i = 0; i < j->n; i++) {
		struct concat_src *s = &j->src[i];
		if ((rc = source_open(j, s, &fd, &st)) < 0)
			return rc;
		s->size = (uint64_t)st.st_size;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		rc = 0;
		if (t->exists && s->dev == t->dev && s->ino == t->ino)
			rc = srv__op_fail(&j->op, SD_EINVAL, "concat %s: source %s is the target",
					  j->target, s->path);
		else if (s->size > (uint64_t)INT64_MAX - sum)
			rc = srv__op_fail(&j->op, SD_EOVERFLOW,
					  "concat %s: the result would be too big", j->target);
		else if (j->have_xxh3 && (rc = hash_file(fd, s->size, buf, &got)) < 0)
			srv__op_fail(&j->op, rc, "concat %s: source %s: %s while hashing",
				     j->target, s->path,
				     rc == SD_ESTATE ? "it shrank" : sd_strerror(rc));
		else if (j->have_xxh3 && got != s->xxh3)
			rc = srv__op_fail(&j->op, SD_ECHECKSUM,
					  "concat %s: source %s: checksum mismatch (xxh3 %016llx, "
					  "expected %016llx), nothing appended",
					  j->target, s->path, (unsigned long long)got,
					  (unsigned long long)s->xxh3);
		close(fd);
		if (rc < 0)
			return rc;
		sum += s->size;
	}
	*total = sum - t->size0;
	return 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t k = pwrite(fd, p, len, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno_rc();
		p += k;
		len -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/*
 * Copies bytes [0, len) of in to out at out_off: copy_file_range (no copy
 * through user space; reflinks where the file system has them), else
 * pread/pwrite through buf. SD_ESTATE when in ends early.
 */
static int copy_bytes(int in, int out, uint64_t len, uint64_t out_off, uint8_t *buf)
{
	loff_t ioff = 0, ooff = (loff_t)out_off;
	bool plain = false;
	ssize_t k;
	int rc;

	while (len > 0) {
		size_t want = len < SRV_COPY_CHUNK ? (size_t)len : SRV_COPY_CHUNK;
		if (!plain) {
			k = copy_file_range(in, &ioff, out, &ooff, want, 0);
			if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			k = pread(in, buf, want < SRV_COPY_BUF ? want : SRV_COPY_BUF, ioff);
			if (k > 0 && (rc = pwrite_all(out, buf, (size_t)k, (uint64_t)ooff)) < 0)
				return rc;
			if (k > 0) {
				ioff += k;
				ooff += k;
			}
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno_rc();
		if (k == 0)
			return SD_ESTATE;
		len -= (uint64_t)k;
	}
	return 0;
}

/* Step 4: each source, as checked in step 2, after the one before. */
static int sources_copy(struct concat_job *j, const struct target *t, uint8_t *buf)
{
	uint64_t at = t->size0;
	struct stat st;
	int fd, rc;

	for (size_t i = 0; i < j->n; i++) {
		struct concat_src *s = &j->src[i];
		if ((rc = source_open(j, s, &fd, &st)) < 0)
			return rc;
		if (st.st_dev != s->dev || st.st_ino != s->ino)
			rc = srv__op_fail(&j->op, SD_ESTATE, "concat %s: source %s was replaced",
					  j->target, s->path);
		else if ((rc = copy_bytes(fd, t->fd, s->size, at, buf)) < 0)
			srv__op_fail(&j->op, rc, "concat %s: appending %s: %s", j->target, s->path,
				     rc == SD_ESTATE ? "the source shrank" : sd_strerror(rc));
		close(fd);
		if (rc < 0)
			return rc;
		at += s->size;
	}
	return 0;
}

/* After the target is durable: unlink each source still naming its inode. */
static void sources_delete(struct concat_job *j)
{
	struct stat st;
	const char *base;
	int dirfd;

	for (size_t i = 0; i < j->n; i++) {
		struct concat_src *s = &j->src[i];
		if (srv_open_parent(j->op.srv, s->path, false, &dirfd, &base) < 0) {
			j->delete_failed++;
			continue;
		}
		if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			j->delete_failed += errno != ENOENT; /* listed twice: gone already */
		} else if (st.st_dev != s->dev || st.st_ino != s->ino ||
			   unlinkat(dirfd, base, 0) < 0) {
			j->delete_failed++;
		}
		close(dirfd);
	}
}

/* ---- worker: the concat ------------------------------------------------ */

static void concat_work(struct srv_job *job)
{
	struct concat_job *j = (struct concat_job *)job;
	struct target t = {.dirfd = -1, .fd = -1};
	uint64_t total = 0;
	uint8_t *buf;
	int rc;

	j->op.rc = 0;
	if (!(buf = malloc(SRV_COPY_BUF))) {
		srv__op_fail(&j->op, SD_ENOMEM, "concat %s: out of memory", j->target);
		return;
	}
	if (target_open(j, &t) < 0)
		goto out_close_target;
	if (j->check_size && t.size0 != j->expect_size) {
		srv__op_fail(&j->op, SD_ESTATE,
			     "concat %s: the target has %llu bytes, expected %llu: nothing changed",
			     j->target, (unsigned long long)t.size0,
			     (unsigned long long)j->expect_size);
		goto out_close_target;
	}
	if (sources_check(j, &t, buf, &total) < 0)
		goto out_close_target;
	if (j->replace ? target_create_tmp(j, &t) < 0 : !t.exists && target_create(j, &t) < 0)
		goto out_undo;
	if (sources_copy(j, &t, buf) < 0)
		goto out_undo;
	rc = fsync(t.fd) < 0 ? errno_rc() : 0;
	if (rc == 0 && t.tmp[0] && renameat(t.dirfd, t.tmp, t.dirfd, t.base) < 0)
		rc = errno_rc();
	if (rc == 0 && t.tmp[0]) {
		/* Renamed: the new target is in place; nothing is undone any more. */
		t.tmp[0] = '\0';
		if ((rc = dir_sync(t.dirfd)) < 0) {
			srv__op_fail(&j->op, rc, "concat %s: syncing its directory: %s", j->target,
				     sd_strerror(rc));
			goto out_close_target;
		}
	}
	if (rc == 0 && t.created)
		rc = dir_sync(t.dirfd);
	if (rc < 0) {
		srv__op_fail(&j->op, rc, "concat %s: syncing: %s", j->target, sd_strerror(rc));
		goto out_undo;
	}
	j->op.size = t.size0 + total;
	if (j->delete_sources)
		sources_delete(j);
	goto out_close_target;

out_undo:
	if (t.fd >= 0)
		target_rollback(j, &t);
out_close_target:
	if (t.fd >= 0)
		close(t.fd);
	if (t.dirfd >= 0)
		close(t.dirfd);
	free(buf);
}

/* ---- the loop: concat -------------------------------------------------- */

static void concat_release(struct concat_job *j, size_t n_sources_held)
{
	struct srv *s = j->op.ss->srv;

	while (n_sources_held > 0)
		srv_busy_release(s, j->src[--n_sources_held].path, false);
	srv_busy_release(s, j->target, true);
}

static void concat_done(struct srv_job *job)
{
	struct concat_job *j = (struct concat_job *)job;
	struct srv_session *ss = j->op.ss;

	concat_release(j, j->n);
	if (j->delete_failed)
		sd_log_warn("netfsd", "%s: concat %s: %u of %zu sources could not be deleted",
			    ss->peer, j->target, j->delete_failed, j->n);
	srv__op_answer(&j->op);
	if (j->op.rc == 0)
		ss->io->appended(ss->io_arg); /* tails of the target may go on */
	free(j);
}

/*
 * Allocates the job with the normalized sources (one block: O(bytes of the
 * paths)). 0; 1 after telling the client why a source was refused; < 0.
 */
static int concat_job_new(struct srv_session *ss, const Sd__Netfs__ConcatReq *m, const char *target,
			  struct concat_job **out)
{
	size_t bytes = sizeof(struct concat_job) + m->n_sources * sizeof(struct concat_src);
	char norm[NFS_PATH_MAX + 1], *strings;
	struct concat_job *j;
	const char *why;
	int rc;

	for (size_t i = 0; i < m->n_sources; i++)
		bytes += strnlen(m->sources[i], NFS_PATH_MAX + 1) + 1;
	if (!(j = calloc(1, bytes))) {
		rc = srv__fail(ss, m->req_id, "concat", target, SD_ENOMEM, NULL);
		return rc < 0 ? rc : 1;
	}
	j->src = (struct concat_src *)(j + 1);
	strings = (char *)(j->src + m->n_sources);
	for (size_t i = 0; i < m->n_sources; i++) {
		if (srv_path_normalize(m->sources[i], false, norm, &why) < 0) {
			rc = srv_send_error(ss, m->req_id, SD_EPATH, "concat %s: source %.200s: %s",
					    target, m->sources[i], why);
			goto out_free_job;
		}
		if (strcmp(norm, target) == 0) {
			rc = srv_send_error(ss, m->req_id, SD_EINVAL,
					    "concat %s: source %s is the target", target, norm);
			goto out_free_job;
		}
		j->src[i].path = strings;
		j->src[i].xxh3 = m->n_source_xxh3 ? m->source_xxh3[i] : 0;
		strings = stpcpy(strings, norm) + 1;
	}
	j->n = m->n_sources;
	*out = j;
	return 0;

out_free_job:
	free(j);
	return rc < 0 ? rc : 1;
}

/* Claims the target (exclusive) and the sources (shared); SD_EBUSY names one. */
static int concat_claim(struct srv_session *ss, struct concat_job *j)
{
	int rc = srv_busy_acquire(ss->srv, j->target, true);

	if (rc < 0) {
		rc = srv__fail(ss, j->op.req_id, "concat", j->target, rc,
			       rc == SD_EBUSY ? "another concat or truncate of it is running"
					      : NULL);
		return rc < 0 ? rc : 1;
	}
	for (size_t i = 0; i < j->n; i++) {
		if ((rc = srv_busy_acquire(ss->srv, j->src[i].path, false)) < 0) {
			concat_release(j, i);
			rc = srv_send_error(ss, j->op.req_id, rc, "concat %s: source %s: %s",
					    j->target, j->src[i].path,
					    rc == SD_EBUSY ? "a concat or truncate is writing it"
							   : sd_strerror(rc));
			return rc < 0 ? rc : 1;
		}
	}
	return 0;
}

int srv__on_concat(struct srv_session *ss, const Sd__Netfs__ConcatReq *m, bool target_nul,
		   bool source_nul)
{
	char norm[NFS_PATH_MAX + 1];
	struct concat_job *j;
	int rc = srv__check_path(ss, m->req_id, "concat", m->target, target_nul, false, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if (source_nul)
		return srv__fail(ss, m->req_id, "concat", norm, SD_EPATH,
				 "a source path contains a NUL byte");
	if (m->n_sources > SRV_CONCAT_SOURCES_MAX)
		return srv_send_error(ss, m->req_id, SD_ELIMIT,
				      "concat %s: %zu sources, at most %u", norm, m->n_sources,
				      SRV_CONCAT_SOURCES_MAX);
	if (m->replace && m->check_size)
		return srv_send_error(ss, m->req_id, SD_EINVAL,
				      "concat %s: replace and check_size do not go together", norm);
	if (m->n_source_xxh3 && m->n_source_xxh3 != m->n_sources)
		return srv_send_error(ss, m->req_id, SD_EINVAL,
				      "concat %s: %zu checksums for %zu sources", norm,
				      m->n_source_xxh3, m->n_sources);
	if (ss->n_jobs >= SRV_JOBS_MAX)
		return srv_send_error(ss, m->req_id, SD_ELIMIT,
				      "concat %s: more than %u concats/truncates running", norm,
				      SRV_JOBS_MAX);
	if ((rc = concat_job_new(ss, m, norm, &j)))
		return rc < 0 ? rc : 0;
	snprintf(j->target, sizeof(j->target), "%s", norm);
	j->op.ss = ss;
	j->check_size = m->check_size;
	j->expect_size = m->expect_size;
	j->have_xxh3 = m->n_source_xxh3 > 0;
	j->delete_sources = m->delete_sources;
	j->replace = m->replace;
	j->op.req_id = m->req_id;
	if ((rc = concat_claim(ss, j))) {
		free(j);
		return rc < 0 ? rc : 0;
	}
	if ((rc = srv__op_start(ss, &j->op, m->req_id, concat_work, concat_done)) < 0) {
		concat_release(j, j->n);
		free(j);
		return srv__fail(ss, m->req_id, "concat", norm, rc, NULL);
	}
	return 0;
}
