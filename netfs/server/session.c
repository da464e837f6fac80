/*
 * netfs/server/session.c — the request dispatcher of stardust-netfsd.
 *
 * One session per connection. srv_dispatch() takes one decoded request frame
 * and answers through struct srv_io: metadata operations (hello, list, stat,
 * append, create, write, commit, delete) run here, bounded in size; reads and
 * tails are validated and opened here and streamed by the transport; concat
 * and truncate are validated by concat.c and job.c and run as jobs (srv_io.run).
 * No libuv: the fuzz target drives this file directly.
 *
 * Appends are all or nothing: a write that stops short is cut back.
 *
 * Sinks: create opens SRV_TMP_PREFIX<...> beside the target; commit renames
 * it into place atomically (RENAME_NOREPLACE unless overwrite); abort and
 * srv_session_fini() unlink it, so a writer that vanishes leaves nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "netfs/server/srv.h"

struct srv_handle {
	struct srv_handle *next;
	uint64_t id;
	int fd;    /* the temporary file, O_WRONLY */
	int dirfd; /* its directory, O_PATH */
	bool overwrite;
	uint64_t size; /* bytes: highest offset written */
	char tmp[NAME_MAX + 1];
	char base[NAME_MAX + 1];
	char path[NFS_PATH_MAX + 1]; /* normalized, for messages */
};

void srv_session_init(struct srv_session *ss, struct srv *s, const struct srv_io *io, void *arg)
{
	memset(ss, 0, sizeof(*ss));
	ss->srv = s;
	ss->io = io;
	ss->io_arg = arg;
	ss->next_handle = 1;
	snprintf(ss->peer, sizeof(ss->peer), "?");
}

static void handle_drop(struct srv_session *ss, struct srv_handle *h, bool unlink_tmp)
{
	struct srv_handle **pp = &ss->handles;

	while (*pp != h)
		pp = &(*pp)->next;
	*pp = h->next;
	if (unlink_tmp)
		unlinkat(h->dirfd, h->tmp, 0);
	close(h->fd);
	close(h->dirfd);
	ss->n_handles--;
	free(h);
}

void srv_session_fini(struct srv_session *ss)
{
	while (ss->handles) {
		sd_log_info("netfsd", "%s: discarding unfinished write of %s", ss->peer,
			    ss->handles->path);
		handle_drop(ss, ss->handles, true);
	}
}

int srv_send_error(struct srv_session *ss, uint64_t req_id, int code, const char *fmt, ...)
{
	Sd__Netfs__Error m = SD__NETFS__ERROR__INIT;
	char text[SRV_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	m.req_id = req_id;
	m.code = code;
	m.message = text;
	return ss->io->send(ss->io_arg, WIRE_NFS_ERROR, &m.base);
}

/* An operation on path failed with rc: tell the client, naming the path. */
int srv__fail(struct srv_session *ss, uint64_t id, const char *op, const char *path, int rc,
	      const char *why)
{
	return srv_send_error(ss, id, rc, "%s %s: %s", op, path[0] ? path : "\"\"",
			      why && why[0] ? why
			      : rc == SD_EPATH
				      ? "refused: a symlink on the way or outside the export root"
				      : sd_strerror(rc));
}

/*
 * Which string fields of the raw body hold a NUL byte: bit k for field k
 * (k < 32). Field 2 is the path of every path-carrying request; field 3 the
 * sources of a concat. protobuf-c would cut such a string short silently.
 */
static uint32_t body_nul_fields(const uint8_t *b, size_t n)
{
	uint32_t found = 0;
	size_t i = 0;

	while (i < n) {
		uint64_t key = 0, len = 0;
		unsigned shift = 0;
		do {
			if (i >= n || shift > 63)
				return found;
			key |= (uint64_t)(b[i] & 0x7f) << shift;
			shift += 7;
		} while (b[i++] & 0x80);
		switch (key & 7) {
		case 0:
			while (i < n && (b[i] & 0x80))
				i++;
			i++;
			break;
		case 1:
			i += 8;
			break;
		case 5:
			i += 4;
			break;
		case 2:
			shift = 0;
			do {
				if (i >= n || shift > 63)
					return found;
				len |= (uint64_t)(b[i] & 0x7f) << shift;
				shift += 7;
			} while (b[i++] & 0x80);
			if (len > n - i)
				return found;
			if ((key >> 3) < 32 && memchr(b + i, 0, (size_t)len))
				found |= 1u << (key >> 3);
			i += (size_t)len;
			break;
		default:
			return found;
		}
	}
	return found;
}

int srv__check_path(struct srv_session *ss, uint64_t id, const char *op, const char *path,
		    bool has_nul, bool allow_root, char *norm)
{
	const char *why;
	int rc;

	if (has_nul) {
		rc = srv_send_error(ss, id, SD_EPATH, "%s %s: path contains a NUL byte", op, path);
		return rc < 0 ? rc : 1;
	}
	if (srv_path_normalize(path, allow_root, norm, &why) < 0) {
		/* Do not echo an overlong path whole. */
		rc = srv_send_error(ss, id, SD_EPATH, "%s %.200s: %s", op, path, why);
		return rc < 0 ? rc : 1;
	}
	return 0;
}

static bool token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static int on_hello(struct srv_session *ss, const Sd__Netfs__Hello *m)
{
	Sd__Netfs__HelloAck a = SD__NETFS__HELLO_ACK__INIT;
	const char *want = ss->srv->cfg.token;

	if (m->protocol_version != NFS_PROTOCOL_VERSION) {
		srv_send_error(ss, 0, SD_EVERSION, "hello: protocol version %u, server speaks %u",
			       m->protocol_version, NFS_PROTOCOL_VERSION);
		return SD_EVERSION;
	}
	if (want && want[0] && !token_equal(want, m->token)) {
		sd_log_warn("netfsd", "%s: bad token from client '%.64s'", ss->peer,
			    m->client_name);
		srv_send_error(ss, 0, SD_EAUTH, "hello: bad or missing token");
		return SD_EAUTH;
	}
	ss->hello_done = true;
	a.protocol_version = NFS_PROTOCOL_VERSION;
	a.server_name = (char *)ss->srv->cfg.name;
	a.region = (char *)ss->srv->cfg.region;
	a.max_frame_bytes = SRV_FRAME_MAX;
	a.max_inflight = SRV_INFLIGHT_MAX;
	return ss->io->send(ss->io_arg, WIRE_NFS_HELLO_ACK, &a.base);
}

static int on_list(struct srv_session *ss, const Sd__Netfs__ListReq *m, bool nul)
{
	Sd__Netfs__ListResp r = SD__NETFS__LIST_RESP__INIT;
	char norm[NFS_PATH_MAX + 1];
	struct srv_list l;
	int rc = srv__check_path(ss, m->req_id, "list", m->pattern, nul, true, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if ((rc = srv_list_glob(ss->srv, norm, &l)) < 0)
		return srv__fail(ss, m->req_id, "list", m->pattern, rc, NULL);
	r.req_id = m->req_id;
	r.entries = l.entries;
	r.n_entries = l.n;
	r.truncated = l.truncated;
	rc = ss->io->send(ss->io_arg, WIRE_NFS_LIST_RESP, &r.base);
	srv_list_free(&l);
	return rc;
}

static int on_stat(struct srv_session *ss, const Sd__Netfs__StatReq *m, bool nul)
{
	Sd__Netfs__StatResp r = SD__NETFS__STAT_RESP__INIT;
	Sd__Netfs__Entry e;
	char norm[NFS_PATH_MAX + 1];
	struct stat st;
	int fd, rc = srv__check_path(ss, m->req_id, "stat", m->path, nul, true, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if ((rc = srv_open_beneath(ss->srv, norm, O_PATH, 0, &fd)) < 0)
		return srv__fail(ss, m->req_id, "stat", m->path, rc, NULL);
	rc = fstat(fd, &st) < 0 ? sd_err_from_errno(errno) : 0;
	close(fd);
	if (rc < 0)
		return srv__fail(ss, m->req_id, "stat", m->path, rc, NULL);
	srv_entry_from_stat(&e, norm, &st);
	r.req_id = m->req_id;
	r.entry = &e;
	return ss->io->send(ss->io_arg, WIRE_NFS_STAT_RESP, &r.base);
}

/* Opens norm for reading a regular file; sends the error itself (returns 1). */
static int open_for_read(struct srv_session *ss, uint64_t id, const char *op, const char *path,
			 const char *norm, int *fd, uint64_t *size)
{
	struct stat st;
	int rc;

	if (ss->io->inflight(ss->io_arg) >= SRV_INFLIGHT_MAX) {
		rc = srv_send_error(ss, id, SD_ELIMIT, "%s %s: more than %u requests in flight", op,
				    path, SRV_INFLIGHT_MAX);
		return rc < 0 ? rc : 1;
	}
	if ((rc = srv_open_beneath(ss->srv, norm, O_RDONLY, 0, fd)) < 0) {
		rc = srv__fail(ss, id, op, path, rc, NULL);
		return rc < 0 ? rc : 1;
	}
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		rc = srv__fail(ss, id, op, path, S_ISDIR(st.st_mode) ? SD_EISDIR : SD_EINVAL,
			       S_ISDIR(st.st_mode) ? NULL : "not a regular file");
		return rc < 0 ? rc : 1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int on_read(struct srv_session *ss, const Sd__Netfs__ReadReq *m, bool nul)
{
	char norm[NFS_PATH_MAX + 1];
	uint64_t size, end;
	uint32_t chunk = m->chunk_bytes ? m->chunk_bytes : NFS_CHUNK_DEFAULT;
	int fd, rc = srv__check_path(ss, m->req_id, "read", m->path, nul, false, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if ((rc = open_for_read(ss, m->req_id, "read", m->path, norm, &fd, &size)))
		return rc < 0 ? rc : 0;
	end = size;
	if (m->length && m->length < size - (m->offset < size ? m->offset : size))
		end = m->offset + m->length;
	if (m->offset > end)
		end = m->offset; /* past the end: one empty chunk with eof */
	if (chunk > NFS_CHUNK_MAX)
		chunk = NFS_CHUNK_MAX;
	if (chunk < 4096)
		chunk = 4096;
	rc = ss->io->start_read(ss->io_arg, fd, m->req_id, m->offset, end, size, chunk);
	return rc < 0 ? srv__fail(ss, m->req_id, "read", m->path, rc, NULL) : 0;
}

static int on_tail(struct srv_session *ss, const Sd__Netfs__TailReq *m, bool nul)
{
	char norm[NFS_PATH_MAX + 1];
	uint32_t max = m->max_bytes ? m->max_bytes : NFS_CHUNK_DEFAULT;
	uint32_t timeout = m->timeout_ms;
	uint64_t size;
	int fd, rc = srv__check_path(ss, m->req_id, "tail", m->path, nul, false, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if ((rc = open_for_read(ss, m->req_id, "tail", m->path, norm, &fd, &size)))
		return rc < 0 ? rc : 0;
	if (max > NFS_CHUNK_MAX)
		max = NFS_CHUNK_MAX;
	if (timeout > SRV_TAIL_TIMEOUT_MAX_MS)
		timeout = SRV_TAIL_TIMEOUT_MAX_MS;
	rc = ss->io->start_tail(ss->io_arg, fd, m->req_id, m->offset, max, timeout);
	return rc < 0 ? srv__fail(ss, m->req_id, "tail", m->path, rc, NULL) : 0;
}

static int write_all(int fd, const uint8_t *p, size_t len, int64_t off)
{
	while (len > 0) {
		ssize_t k = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return sd_err_from_errno(errno);
		p += k;
		len -= (size_t)k;
		if (off >= 0)
			off += k;
	}
	return 0;
}

static bool checksum_ok(const struct wire_frame *f, uint64_t want)
{
	return nfs_checksum(f->attach, f->attach_len) == want;
}

/*
 * Appends len bytes to fd (O_APPEND), all or nothing: a write that stops
 * short (ENOSPC, EFBIG, EIO) cuts the file back to its size before, so the
 * next append does not glue onto a fragment. The loop is the only writer
 * through this server, so that size is exact. *why explains a failure.
 */
static int append_all(int fd, const uint8_t *data, size_t len, uint64_t *new_size, const char **why)
{
	struct stat st;
	off_t before;
	int rc;

	if (fstat(fd, &st) < 0)
		return sd_err_from_errno(errno);
	if (!S_ISREG(st.st_mode))
		return *why = "not a regular file", SD_EINVAL;
	before = st.st_size;
	if ((rc = write_all(fd, data, len, -1)) < 0) {
		bool cut = ftruncate(fd, before) == 0;
		*why = cut ? "nothing appended (cut back to the size before)"
			   : "could not cut the file back: a fragment may remain";
		return rc;
	}
	if (fstat(fd, &st) < 0)
		return sd_err_from_errno(errno);
	*new_size = (uint64_t)st.st_size;
	return 0;
}

static int on_append(struct srv_session *ss, const Sd__Netfs__AppendReq *m,
		     const struct wire_frame *f, bool nul)
{
	Sd__Netfs__AppendResp r = SD__NETFS__APPEND_RESP__INIT;
	char norm[NFS_PATH_MAX + 1], why[SRV_MSG_MAX];
	const char *base, *reason = NULL;
	uint64_t size = 0;
	int dirfd, fd, rc = srv__check_path(ss, m->req_id, "append", m->path, nul, false, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if (!checksum_ok(f, m->xxh3))
		return srv__fail(ss, m->req_id, "append", m->path, SD_ECHECKSUM,
				 "checksum mismatch, nothing written");
	if (srv_busy_held(ss->srv, norm))
		return srv__fail(ss, m->req_id, "append", m->path, SD_EBUSY,
				 "a concat or truncate of this file is running");
	if ((rc = srv_open_parent(ss->srv, norm, true, &dirfd, &base)) < 0)
		return srv__fail(ss, m->req_id, "append", m->path, rc, NULL);
	fd = openat(dirfd, base, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	rc = fd < 0 ? sd_err_from_errno(errno) : 0;
	close(dirfd);
	if (rc < 0)
		return srv__fail(ss, m->req_id, "append", m->path, rc, NULL);
	rc = append_all(fd, f->attach, f->attach_len, &size, &reason);
	close(fd);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s; %s", sd_strerror(rc), reason ? reason : "");
		return srv__fail(ss, m->req_id, "append", m->path, rc, reason ? why : NULL);
	}
	ss->io->appended(ss->io_arg);
	r.req_id = m->req_id;
	r.new_size = size;
	return ss->io->send(ss->io_arg, WIRE_NFS_APPEND_RESP, &r.base);
}

static int create_tmp(struct srv_session *ss, struct srv_handle *h)
{
	static unsigned serial;

	for (int tries = 0; tries < 8; tries++) {
		snprintf(h->tmp, sizeof(h->tmp), SRV_TMP_PREFIX "%d-%llu-%u", (int)getpid(),
			 (unsigned long long)h->id, serial++);
		h->fd = openat(h->dirfd, h->tmp,
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (h->fd >= 0)
			return 0;
		if (errno != EEXIST)
			return sd_err_from_errno(errno);
	}
	return SD_EEXIST;
}

static int on_create(struct srv_session *ss, const Sd__Netfs__CreateReq *m, bool nul)
{
	Sd__Netfs__CreateResp r = SD__NETFS__CREATE_RESP__INIT;
	char norm[NFS_PATH_MAX + 1];
	struct srv_handle *h;
	const char *base;
	struct stat st;
	int rc = srv__check_path(ss, m->req_id, "create", m->path, nul, false, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if (ss->n_handles >= SRV_HANDLES_MAX)
		return srv__fail(ss, m->req_id, "create", m->path, SD_ELIMIT,
				 "too many unfinished writes on this connection");
	h = calloc(1, sizeof(*h));
	if (!h)
		return srv__fail(ss, m->req_id, "create", m->path, SD_ENOMEM, NULL);
	if ((rc = srv_open_parent(ss->srv, norm, true, &h->dirfd, &base)) < 0) {
		free(h);
		return srv__fail(ss, m->req_id, "create", m->path, rc, NULL);
	}
	if (fstatat(h->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = S_ISDIR(st.st_mode)   ? SD_EISDIR
		     : S_ISLNK(st.st_mode) ? SD_EPATH
		     : !m->overwrite       ? SD_EEXIST
					   : 0;
	}
	h->id = ss->next_handle++;
	if (rc == 0)
		rc = create_tmp(ss, h);
	if (rc < 0) {
		close(h->dirfd);
		free(h);
		return srv__fail(ss, m->req_id, "create", m->path, rc, NULL);
	}
	snprintf(h->base, sizeof(h->base), "%s", base);
	snprintf(h->path, sizeof(h->path), "%s", norm);
	h->overwrite = m->overwrite;
	h->next = ss->handles;
	ss->handles = h;
	ss->n_handles++;
	r.req_id = m->req_id;
	r.handle = h->id;
	return ss->io->send(ss->io_arg, WIRE_NFS_CREATE_RESP, &r.base);
}

static struct srv_handle *handle_find(struct srv_session *ss, uint64_t id)
{
	for (struct srv_handle *h = ss->handles; h; h = h->next)
		if (h->id == id)
			return h;
	return NULL;
}

int srv__send_ok(struct srv_session *ss, uint64_t req_id, uint64_t size)
{
	Sd__Netfs__Ok r = SD__NETFS__OK__INIT;

	r.req_id = req_id;
	r.size = size;
	return ss->io->send(ss->io_arg, WIRE_NFS_OK, &r.base);
}

static int on_write(struct srv_session *ss, const Sd__Netfs__WriteReq *m,
		    const struct wire_frame *f)
{
	struct srv_handle *h = handle_find(ss, m->handle);
	int rc;

	if (!h)
		return srv_send_error(ss, m->req_id, SD_ENOENT, "write: no open handle %llu",
				      (unsigned long long)m->handle);
	if (!checksum_ok(f, m->xxh3))
		return srv__fail(ss, m->req_id, "write", h->path, SD_ECHECKSUM,
				 "checksum mismatch, nothing written");
	if (m->offset > (uint64_t)INT64_MAX - f->attach_len)
		return srv__fail(ss, m->req_id, "write", h->path, SD_EOVERFLOW, NULL);
	if ((rc = write_all(h->fd, f->attach, f->attach_len, (int64_t)m->offset)) < 0)
		return srv__fail(ss, m->req_id, "write", h->path, rc, NULL);
	if (m->offset + f->attach_len > h->size)
		h->size = m->offset + f->attach_len;
	return srv__send_ok(ss, m->req_id, h->size);
}

static int on_commit(struct srv_session *ss, const Sd__Netfs__CommitReq *m)
{
	struct srv_handle *h = handle_find(ss, m->handle);
	char path[NFS_PATH_MAX + 1];
	struct stat st;
	uint64_t size;
	int rc = 0;

	if (!h)
		return srv_send_error(ss, m->req_id, SD_ENOENT, "%s: no open handle %llu",
				      m->abort ? "abort" : "commit", (unsigned long long)m->handle);
	snprintf(path, sizeof(path), "%s", h->path);
	if (m->abort) {
		handle_drop(ss, h, true);
		return srv__send_ok(ss, m->req_id, 0);
	}
	/* The handle stays: the client may commit again once the job ended. */
	if (srv_busy_held(ss->srv, path))
		return srv__fail(ss, m->req_id, "commit", path, SD_EBUSY,
				 "a concat or truncate of this file is running");
	if (fsync(h->fd) < 0 || fstat(h->fd, &st) < 0)
		rc = sd_err_from_errno(errno);
	size = rc == 0 ? (uint64_t)st.st_size : 0;
	if (rc == 0 &&
	    renameat2(h->dirfd, h->tmp, h->dirfd, h->base, h->overwrite ? 0 : RENAME_NOREPLACE) < 0)
		rc = sd_err_from_errno(errno);
	handle_drop(ss, h, rc < 0);
	if (rc < 0)
		return srv__fail(ss, m->req_id, "commit", path, rc, NULL);
	return srv__send_ok(ss, m->req_id, size);
}

static int on_delete(struct srv_session *ss, const Sd__Netfs__DeleteReq *m, bool nul)
{
	char norm[NFS_PATH_MAX + 1];
	const char *base;
	struct stat st;
	int dirfd, rc = srv__check_path(ss, m->req_id, "delete", m->path, nul, false, norm);

	if (rc)
		return rc < 0 ? rc : 0;
	if (srv_busy_held(ss->srv, norm))
		return srv__fail(ss, m->req_id, "delete", m->path, SD_EBUSY,
				 "a concat or truncate of this file is running");
	if ((rc = srv_open_parent(ss->srv, norm, false, &dirfd, &base)) < 0)
		return srv__fail(ss, m->req_id, "delete", m->path, rc, NULL);
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = sd_err_from_errno(errno);
	else if (S_ISLNK(st.st_mode))
		rc = SD_EPATH;
	else if (unlinkat(dirfd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		rc = errno == ENOTEMPTY ? SD_EBUSY : sd_err_from_errno(errno);
	close(dirfd);
	if (rc < 0)
		return srv__fail(ss, m->req_id, "delete", m->path, rc,
				 rc == SD_EBUSY ? "directory not empty" : NULL);
	return srv__send_ok(ss, m->req_id, 0);
}

int srv_dispatch(struct srv_session *ss, const struct wire_frame *f, const uint8_t *body)
{
	const void *msg = f->msg;
	uint16_t t = f->hdr.type;
	uint32_t nuls = body ? body_nul_fields(body, f->hdr.body_len) : 0;
	bool nul = nuls & (1u << 2);

	if (!ss->hello_done) {
		if (t == WIRE_NFS_HELLO)
			return on_hello(ss, msg);
		srv_send_error(ss, 0, SD_EPROTO, "expected a hello, got %s", wire_type_name(t));
		return SD_EPROTO;
	}
	switch (t) {
	case WIRE_NFS_LIST_REQ:
		return on_list(ss, msg, nul);
	case WIRE_NFS_STAT_REQ:
		return on_stat(ss, msg, nul);
	case WIRE_NFS_READ_REQ:
		return on_read(ss, msg, nul);
	case WIRE_NFS_TAIL_REQ:
		return on_tail(ss, msg, nul);
	case WIRE_NFS_APPEND_REQ:
		return on_append(ss, msg, f, nul);
	case WIRE_NFS_CREATE_REQ:
		return on_create(ss, msg, nul);
	case WIRE_NFS_WRITE_REQ:
		return on_write(ss, msg, f);
	case WIRE_NFS_COMMIT_REQ:
		return on_commit(ss, msg);
	case WIRE_NFS_DELETE_REQ:
		return on_delete(ss, msg, nul);
	case WIRE_NFS_CONCAT_REQ:
		return srv__on_concat(ss, msg, nul, nuls & (1u << 3));
	case WIRE_NFS_TRUNCATE_REQ:
		return srv__on_truncate(ss, msg, nul);
	case WIRE_NFS_CANCEL_REQ:
		ss->io->cancel(ss->io_arg, ((const Sd__Netfs__CancelReq *)msg)->target);
		return 0;
	default:
		srv_send_error(ss, 0, SD_EPROTO, "a client may not send %s", wire_type_name(t));
		return SD_EPROTO;
	}
}
