/*
 * netfs/client/posix.c — the hosted blocking netfs transport: POSIX sockets
 * driving the sans-I/O core (netfs/client/proto.c). One request at a time per
 * connection; one connection per thread. See netfs/netfs.h for the calls.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "netfs/netfs.h"

#define NFS_POSIX_NAME_MAX 128 /* bytes kept of the server's name and region */
#define NFS_POSIX_ERR_MAX  512 /* bytes of the last error text */

struct nfs_conn {
	int fd;
	struct nfs_proto *p;
	bool broken; /* the stream failed: every call returns stream_err */
	int stream_err;
	uint32_t max_frame;
	char region[NFS_POSIX_NAME_MAX];
	char server_name[NFS_POSIX_NAME_MAX];
	char err[NFS_POSIX_ERR_MAX];
};

static int set_error(struct nfs_conn *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(struct nfs_conn *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_stream(struct nfs_conn *c, int rc)
{
	if (!c->broken) {
		c->broken = true;
		c->stream_err = rc;
		set_error(c, rc, "connection to netfs server lost: %s", sd_strerror(rc));
	}
	return c->stream_err;
}

static int flush_out(struct nfs_conn *c)
{
	const uint8_t *data;
	size_t n;

	while ((n = nfs_proto_out_pending(c->p, &data)) > 0) {
		ssize_t k = send(c->fd, data, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fail_stream(c,
					   errno == EPIPE ? SD_ECLOSED : sd_err_from_errno(errno));
		nfs_proto_out_consume(c->p, (size_t)k);
	}
	return 0;
}

static int fill_in(struct nfs_conn *c)
{
	uint8_t *where;
	size_t avail;
	ssize_t k;
	int rc = nfs_proto_in_space(c->p, &where, &avail);

	if (rc < 0)
		return fail_stream(c, rc);
	do
		k = recv(c->fd, where, avail, 0);
	while (k < 0 && errno == EINTR);
	if (k == 0)
		return fail_stream(c, SD_ECLOSED);
	if (k < 0)
		return fail_stream(c, sd_err_from_errno(errno));
	nfs_proto_in_commit(c->p, (size_t)k);
	return 0;
}

/* Blocks for the next event; a connection-level server error breaks the stream. */
static int next_event(struct nfs_conn *c, struct nfs_event *ev)
{
	int rc;

	if (c->broken)
		return c->stream_err;
	if ((rc = flush_out(c)) < 0)
		return rc;
	while ((rc = nfs_proto_next(c->p, ev)) == SD_EAGAIN)
		if ((rc = fill_in(c)) < 0)
			return rc;
	if (rc < 0)
		return fail_stream(c, rc);
	if (ev->op == NFS_OP_NONE) {
		fail_stream(c, ev->err);
		return set_error(c, ev->err, "netfs server: %s", ev->message);
	}
	return 0;
}

/* Waits for the single-event answer to id; copies an error message. */
static int wait_done(struct nfs_conn *c, uint64_t id, struct nfs_event *ev)
{
	int rc;

	do {
		if ((rc = next_event(c, ev)) < 0)
			return rc;
	} while (ev->req_id != id || !ev->done);
	if (ev->err)
		return set_error(c, ev->err, "%s", ev->message);
	return 0;
}

static int resolve_and_connect(struct nfs_conn *c, const char *host, uint16_t port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	char portstr[8];
	int rc = SD_EUNREACH, one = 1;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0)
		return set_error(c, SD_EUNREACH, "cannot resolve netfs host %s", host);
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			c->fd = fd;
			rc = 0;
			break;
		}
		rc = sd_err_from_errno(errno);
		close(fd);
	}
	freeaddrinfo(res);
	if (rc < 0)
		set_error(c, rc, "cannot connect to netfs server %s:%u: %s", host, port,
			  sd_strerror(rc));
	return rc;
}

static int say_hello(struct nfs_conn *c, const char *token)
{
	struct nfs_event ev;
	int rc = nfs_proto_hello(c->p, "stardust-client", token);

	if (rc < 0)
		return set_error(c, rc, "bad hello arguments");
	if ((rc = next_event(c, &ev)) < 0)
		return rc;
	if (ev.op != NFS_OP_HELLO)
		return set_error(c, SD_EPROTO, "netfs server answered the hello with %s",
				 nfs_op_name(ev.op));
	if (ev.err)
		return set_error(c, ev.err, "netfs hello refused: %s", ev.message);
	snprintf(c->region, sizeof(c->region), "%s", ev.region);
	snprintf(c->server_name, sizeof(c->server_name), "%s", ev.server_name);
	c->max_frame = ev.max_frame;
	return 0;
}

int nfs_connect(const char *host, uint16_t port, const char *token, struct nfs_conn **out)
{
	struct nfs_conn *c;
	int rc;

	if (!host || !out)
		return SD_EINVAL;
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return SD_ENOMEM;
	c->fd = -1;
	if ((rc = nfs_proto_new(&c->p)) < 0)
		goto err_free_conn;
	if ((rc = resolve_and_connect(c, host, port)) < 0)
		goto err_free_conn;
	if ((rc = say_hello(c, token)) < 0)
		goto err_free_conn;
	*out = c;
	return 0;

err_free_conn:
	/* Callers that want the reason use the return code; the text dies here. */
	nfs_close(c);
	return rc;
}

void nfs_close(struct nfs_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	nfs_proto_free(c->p);
	free(c);
}

const char *nfs_region(const struct nfs_conn *c)
{
	return c->region;
}

const char *nfs_server_name(const struct nfs_conn *c)
{
	return c->server_name;
}

const char *nfs_last_error(const struct nfs_conn *c)
{
	return c->err;
}

int nfs_list(struct nfs_conn *c, const char *pattern, nfs_list_fn *fn, void *arg, bool *truncated)
{
	struct nfs_event ev;
	uint64_t id;
	int rc;

	if (!c || !pattern)
		return SD_EINVAL;
	if ((rc = nfs_proto_list(c->p, pattern, &id)) < 0)
		return set_error(c, rc, "list %s: bad arguments", pattern);
	if ((rc = wait_done(c, id, &ev)) < 0)
		return rc;
	if (truncated)
		*truncated = ev.truncated;
	for (size_t i = 0; fn && i < ev.n_entries; i++)
		if ((rc = fn(arg, &ev.entries[i])) != 0)
			return rc;
	return 0;
}

int nfs_stat(struct nfs_conn *c, const char *path, struct nfs_stat *out)
{
	struct nfs_event ev;
	uint64_t id;
	int rc;

	if (!c || !path || !out)
		return SD_EINVAL;
	if ((rc = nfs_proto_stat(c->p, path, &id)) < 0)
		return set_error(c, rc, "stat %s: bad arguments", path);
	if ((rc = wait_done(c, id, &ev)) < 0)
		return rc;
	out->size = ev.entries[0].size;
	out->mtime_us = ev.entries[0].mtime_us;
	out->is_dir = ev.entries[0].is_dir;
	return 0;
}

/*
 * Delivers the chunks of a read or tail to fn until the final one. After an
 * error or a callback stop the remaining chunks are drained (the stream stays
 * usable) and the first failure is returned.
 */
static int stream_chunks(struct nfs_conn *c, uint64_t id, nfs_data_fn *fn, void *arg, size_t *got,
			 uint64_t *file_size)
{
	struct nfs_event ev;
	int first = 0, rc;

	if (got)
		*got = 0;
	do {
		if ((rc = next_event(c, &ev)) < 0)
			return rc;
		if (ev.req_id != id)
			continue;
		if (ev.err && first == 0)
			first = set_error(c, ev.err, "%s", ev.message);
		if (ev.err || first)
			continue;
		if (file_size)
			*file_size = ev.file_size;
		if (got)
			*got += ev.len;
		if (fn && ev.len && (rc = fn(arg, ev.offset, ev.data, ev.len)) != 0) {
			first = rc;
			if (!ev.done)
				nfs_proto_cancel(c->p, id); /* the rest drains quickly */
		}
	} while (!ev.done);
	return first;
}

int nfs_read(struct nfs_conn *c, const char *path, uint64_t offset, uint64_t length,
	     nfs_data_fn *fn, void *arg)
{
	uint64_t id;
	int rc;

	if (!c || !path)
		return SD_EINVAL;
	if ((rc = nfs_proto_read(c->p, path, offset, length, NFS_CHUNK_DEFAULT, &id)) < 0)
		return set_error(c, rc, "read %s: bad arguments", path);
	return stream_chunks(c, id, fn, arg, NULL, NULL);
}

int nfs_tail(struct nfs_conn *c, const char *path, uint64_t offset, uint32_t max_bytes,
	     uint32_t timeout_ms, nfs_data_fn *fn, void *arg, size_t *got, uint64_t *file_size)
{
	uint64_t id;
	int rc;

	if (!c || !path)
		return SD_EINVAL;
	if ((rc = nfs_proto_tail(c->p, path, offset, max_bytes, timeout_ms, &id)) < 0)
		return set_error(c, rc, "tail %s: bad arguments", path);
	return stream_chunks(c, id, fn, arg, got, file_size);
}

/* Bytes per Write/Append frame this server accepts. */
static size_t write_chunk(const struct nfs_conn *c)
{
	size_t n = NFS_WRITE_CHUNK_MAX;

	if (c->max_frame > 4096 && c->max_frame - 4096 < n)
		n = c->max_frame - 4096;
	return n;
}

int nfs_append(struct nfs_conn *c, const char *path, const void *data, size_t len,
	       uint64_t *new_size)
{
	const uint8_t *p = data;
	struct nfs_event ev;
	size_t done = 0;
	int rc;

	if (!c || !path || (len && !data))
		return SD_EINVAL;
	do {
		size_t n = len - done < write_chunk(c) ? len - done : write_chunk(c);
		uint64_t id;
		if ((rc = nfs_proto_append(c->p, path, p + done, n, &id)) < 0)
			return set_error(c, rc, "append %s: bad arguments", path);
		if ((rc = wait_done(c, id, &ev)) < 0)
			return rc;
		done += n;
	} while (done < len);
	if (new_size)
		*new_size = ev.size;
	return 0;
}

int nfs_create(struct nfs_conn *c, const char *path, bool overwrite, uint64_t *handle)
{
	struct nfs_event ev;
	uint64_t id;
	int rc;

	if (!c || !path || !handle)
		return SD_EINVAL;
	if ((rc = nfs_proto_create(c->p, path, overwrite, &id)) < 0)
		return set_error(c, rc, "create %s: bad arguments", path);
	if ((rc = wait_done(c, id, &ev)) < 0)
		return rc;
	*handle = ev.handle;
	return 0;
}

int nfs_write(struct nfs_conn *c, uint64_t handle, uint64_t offset, const void *data, size_t len)
{
	const uint8_t *p = data;
	struct nfs_event ev;
	size_t done = 0;
	int rc;

	if (!c || (len && !data))
		return SD_EINVAL;
	while (done < len) {
		size_t n = len - done < write_chunk(c) ? len - done : write_chunk(c);
		uint64_t id;
		if ((rc = nfs_proto_write(c->p, handle, offset + done, p + done, n, &id)) < 0)
			return set_error(c, rc, "write: bad arguments");
		if ((rc = wait_done(c, id, &ev)) < 0)
			return rc;
		done += n;
	}
	return 0;
}

static int finish(struct nfs_conn *c, uint64_t handle, bool abort)
{
	struct nfs_event ev;
	uint64_t id;
	int rc;

	if (!c)
		return SD_EINVAL;
	if ((rc = nfs_proto_commit(c->p, handle, abort, &id)) < 0)
		return set_error(c, rc, "commit: bad arguments");
	return wait_done(c, id, &ev);
}

int nfs_commit(struct nfs_conn *c, uint64_t handle)
{
	return finish(c, handle, false);
}

int nfs_abort(struct nfs_conn *c, uint64_t handle)
{
	return finish(c, handle, true);
}

int nfs_delete(struct nfs_conn *c, const char *path)
{
	struct nfs_event ev;
	uint64_t id;
	int rc;

	if (!c || !path)
		return SD_EINVAL;
	if ((rc = nfs_proto_delete(c->p, path, &id)) < 0)
		return set_error(c, rc, "delete %s: bad arguments", path);
	return wait_done(c, id, &ev);
}

int nfs_concat(struct nfs_conn *c, const char *target, const char *const *sources, size_t n,
	       const struct nfs_concat_opts *opts, uint64_t *new_size)
{
	static const struct nfs_concat_opts none;
	const struct nfs_concat_opts *o = opts ? opts : &none;
	struct nfs_event ev;
	uint64_t id;
	int rc;

	if (!c || !target || (n && !sources))
		return SD_EINVAL;
	rc = nfs_proto_concat_opts(c->p, target, sources, n, o, &id);
	if (rc == SD_ETOOBIG)
		return set_error(c, rc,
				 "concat %s: %zu source paths do not fit in one %u-byte frame",
				 target, n, c->max_frame);
	if (rc < 0)
		return set_error(c, rc, "concat %s: bad arguments", target);
	if ((rc = wait_done(c, id, &ev)) < 0)
		return rc;
	if (new_size)
		*new_size = ev.size;
	return 0;
}

int nfs_truncate(struct nfs_conn *c, const char *path, uint64_t size)
{
	struct nfs_event ev;
	uint64_t id;
	int rc;

	if (!c || !path)
		return SD_EINVAL;
	if ((rc = nfs_proto_truncate(c->p, path, size, &id)) < 0)
		return set_error(c, rc, "truncate %s: bad arguments", path);
	return wait_done(c, id, &ev);
}
