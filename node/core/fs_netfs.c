/*
 * node/core/fs_netfs.c — the node's file seam (node_fs_ops) over the
 * portable netfs client core (netfs/netfs.h) and plat.h TCP.
 *
 * Each open file is one connection (reads stream chunks; sinks must hold
 * their connection until commit, since a closed connection discards its
 * temporary files; appending sinks keep theirs for the task's life). Every call runs in a task and blocks only that task:
 * the socket callback wakes it when bytes move.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/parse.h"
#include "netfs/netfs.h"
#include "node/core/node_priv.h"

#define FS_TAIL_TIMEOUT_MS 200u         /* long-poll of a followed file */
#define FS_TAIL_MAX_BYTES  (256u << 10) /* bytes per tail answer */
#define FS_WRITE_BUF       (256u << 10) /* bytes buffered before a WriteReq */

struct fs_link {
	struct plat_sock *sock;
	struct nfs_proto *p;
	struct sched_waitq wq;
};

struct fs_file {
	struct fs_link link;
	char path[NODE_PATH_MAX];
	/* reading */
	bool follow, req_done, eof;
	uint64_t req, offset;
	uint8_t *chunk; /* staged bytes [chunk_pos, chunk_len) of the last chunk */
	size_t chunk_len, chunk_pos, chunk_cap;
	/* writing */
	uint64_t handle, written;
	uint8_t *wbuf;
	size_t wlen;
	/* following and appending: where to reconnect */
	char server[PLAT_ADDR_MAX], token[NFS_TOKEN_MAX + 1];
};

static void link_event(struct plat_sock *sock, unsigned events, void *arg)
{
	struct fs_link *l = arg;

	(void)sock;
	(void)events;
	sched_wake_all(&l->wq);
}

/* Moves bytes both ways until the socket would block. 1 progress, 0 none, < 0 error. */
static int link_io(struct fs_link *l)
{
	const uint8_t *out;
	size_t n;
	int progress = 0;

	while ((n = nfs_proto_out_pending(l->p, &out)) > 0) {
		long k = plat_tcp_send(l->sock, out, n);

		if (k == SD_EAGAIN)
			break;
		if (k < 0)
			return (int)k;
		nfs_proto_out_consume(l->p, (size_t)k);
		progress = 1;
	}
	for (;;) {
		uint8_t *where;
		size_t avail;
		long k;
		int rc = nfs_proto_in_space(l->p, &where, &avail);

		if (rc < 0)
			return rc;
		k = plat_tcp_recv(l->sock, where, avail);
		if (k == SD_EAGAIN)
			return progress;
		if (k < 0)
			return (int)k;
		nfs_proto_in_commit(l->p, (size_t)k);
		return 1; /* let the caller parse before more is read */
	}
}

/* Task context: the next event of the stream. */
static int link_next(struct fs_link *l, struct nfs_event *ev)
{
	for (;;) {
		int rc = nfs_proto_next(l->p, ev);

		if (rc != SD_EAGAIN)
			return rc;
		rc = link_io(l);
		if (rc < 0)
			return rc;
		if (rc == 0)
			sched_wait(&l->wq, UINT64_MAX);
	}
}

/* Task context: waits until request req is done; 0 or its error. */
static int link_wait_done(struct fs_link *l, uint64_t req, struct nfs_event *ev)
{
	for (;;) {
		int rc = link_next(l, ev);

		if (rc < 0)
			return rc;
		if (ev->req_id == req && ev->err)
			return ev->err;
		if (ev->req_id == req && ev->done)
			return 0;
	}
}

static int link_open(struct fs_link *l, const char *server, const char *token)
{
	char host[PLAT_ADDR_MAX];
	struct nfs_event ev;
	uint16_t port;
	int rc;

	if (sd_parse_hostport(server, host, sizeof(host), &port) < 0 || !port)
		return SD_EINVAL;
	rc = nfs_proto_new(&l->p);
	if (rc < 0)
		return rc;
	rc = plat_tcp_connect(host, port, link_event, l, &l->sock);
	if (rc == 0)
		rc = nfs_proto_hello(l->p, "stardust-node", token ? token : "");
	if (rc == 0)
		rc = link_wait_done(l, 0, &ev);
	return rc;
}

static void link_close(struct fs_link *l)
{
	plat_tcp_close(l->sock);
	nfs_proto_free(l->p);
	l->sock = NULL;
	l->p = NULL;
}

static void file_free(struct fs_file *f)
{
	link_close(&f->link);
	plat_free(f->chunk);
	plat_free(f->wbuf);
	plat_free(f);
}

static int fs_open_read(void *ctx, const char *server, const char *token, const char *path,
			uint64_t offset, bool follow, void **h)
{
	struct fs_file *f = plat_calloc(1, sizeof(*f));
	int rc;

	(void)ctx;
	if (!f)
		return SD_ENOMEM;
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(f->server, sizeof(f->server), "%s", server);
	snprintf(f->token, sizeof(f->token), "%s", token ? token : "");
	f->follow = follow;
	f->offset = offset;
	f->req_done = true; /* no request in flight yet */
	rc = link_open(&f->link, server, token);
	if (rc == 0 && !follow) {
		rc = nfs_proto_read(f->link.p, path, offset, 0, 0, &f->req);
		f->req_done = false;
	}
	if (rc < 0) {
		file_free(f);
		return rc;
	}
	*h = f;
	return 0;
}

/* Copies one chunk's bytes out of the core (they are borrowed). */
static int stage_chunk(struct fs_file *f, const struct nfs_event *ev)
{
	if (ev->len > f->chunk_cap) {
		uint8_t *p = plat_realloc(f->chunk, ev->len);

		if (!p)
			return SD_ENOMEM;
		f->chunk = p;
		f->chunk_cap = ev->len;
	}
	if (ev->len)
		memcpy(f->chunk, ev->data, ev->len);
	f->chunk_len = ev->len;
	f->chunk_pos = 0;
	f->offset = ev->offset + ev->len;
	return 0;
}

/*
 * A followed file's link closed between tails (netfsd closes links idle past
 * its timeout): open it anew; the next tail asks from f->offset, the first
 * byte not yet taken, so nothing is lost or read twice.
 */
static int relink(struct fs_file *f, int rc, bool *again)
{
	if (!f->follow || *again || (rc != SD_ECLOSED && rc != SD_ECONNRESET))
		return rc;
	*again = true;
	link_close(&f->link);
	f->req_done = true;
	return link_open(&f->link, f->server, f->token);
}

static long fs_read(void *h, uint8_t *buf, size_t cap)
{
	struct fs_file *f = h;
	struct nfs_event ev;
	bool again = false;
	int rc;

	while (f->chunk_pos == f->chunk_len) {
		if (f->req_done) {
			if (!f->follow)
				return 0;
			rc = nfs_proto_tail(f->link.p, f->path, f->offset, FS_TAIL_MAX_BYTES,
					    FS_TAIL_TIMEOUT_MS, &f->req);
			if (rc < 0)
				return rc;
			f->req_done = false;
		}
		do {
			rc = link_next(&f->link, &ev);
		} while (rc == 0 && ev.req_id != f->req);
		if (rc < 0) {
			rc = relink(f, rc, &again);
			if (rc < 0)
				return rc;
			continue;
		}
		if (ev.err)
			return ev.err;
		f->req_done = ev.done;
		rc = stage_chunk(f, &ev);
		if (rc < 0)
			return rc;
		if (f->follow && !ev.len && f->req_done)
			return SD_EAGAIN;
	}
	if (cap > f->chunk_len - f->chunk_pos)
		cap = f->chunk_len - f->chunk_pos;
	memcpy(buf, f->chunk + f->chunk_pos, cap);
	f->chunk_pos += cap;
	return (long)cap;
}

static void fs_close_read(void *h)
{
	file_free(h);
}

static int fs_create(void *ctx, const char *server, const char *token, const char *path, void **h)
{
	struct fs_file *f = plat_calloc(1, sizeof(*f));
	struct nfs_event ev;
	uint64_t req;
	int rc;

	(void)ctx;
	if (!f)
		return SD_ENOMEM;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->wbuf = plat_alloc(FS_WRITE_BUF);
	rc = f->wbuf ? link_open(&f->link, server, token) : SD_ENOMEM;
	if (rc == 0)
		rc = nfs_proto_create(f->link.p, path, true, &req);
	if (rc == 0)
		rc = link_wait_done(&f->link, req, &ev);
	if (rc < 0) {
		file_free(f);
		return rc;
	}
	f->handle = ev.handle;
	*h = f;
	return 0;
}

static int fs_flush(struct fs_file *f)
{
	struct nfs_event ev;
	uint64_t req;
	int rc;

	if (!f->wlen)
		return 0;
	rc = nfs_proto_write(f->link.p, f->handle, f->written, f->wbuf, f->wlen, &req);
	if (rc == 0)
		rc = link_wait_done(&f->link, req, &ev);
	if (rc == 0) {
		f->written += f->wlen;
		f->wlen = 0;
	}
	return rc;
}

static int fs_write(void *h, const void *data, size_t len)
{
	struct fs_file *f = h;
	const uint8_t *p = data;
	int rc;

	while (len) {
		size_t n = FS_WRITE_BUF - f->wlen < len ? FS_WRITE_BUF - f->wlen : len;

		memcpy(f->wbuf + f->wlen, p, n);
		f->wlen += n;
		p += n;
		len -= n;
		if (f->wlen == FS_WRITE_BUF && (rc = fs_flush(f)) < 0)
			return rc;
	}
	return 0;
}

static int fs_commit(void *h)
{
	struct fs_file *f = h;
	struct nfs_event ev;
	uint64_t req;
	int rc = fs_flush(f);

	if (rc == 0)
		rc = nfs_proto_commit(f->link.p, f->handle, false, &req);
	if (rc == 0)
		rc = link_wait_done(&f->link, req, &ev);
	file_free(f);
	return rc;
}

/* Closing the connection makes the server drop the temporary file. */
static void fs_discard(void *h)
{
	file_free(h);
}

static int fs_append(void *h, const void *data, size_t len)
{
	struct fs_file *f = h;
	struct nfs_event ev;
	uint64_t req;
	int rc = nfs_proto_append(f->link.p, f->path, data, len, &req);

	if (rc == 0)
		rc = link_wait_done(&f->link, req, &ev);
	if (rc == SD_ECLOSED || rc == SD_ECONNRESET) {
		/* netfsd closes a link idle past its timeout (a quiet stream). It
		 * does so only with no request outstanding, so this append was not
		 * taken: open the link anew and send it once more. */
		link_close(&f->link);
		rc = link_open(&f->link, f->server, f->token);
		if (rc == 0)
			rc = nfs_proto_append(f->link.p, f->path, data, len, &req);
		if (rc == 0)
			rc = link_wait_done(&f->link, req, &ev);
	}
	if (rc == 0)
		f->written = ev.size;
	return rc;
}

/* Connects and creates path if it is missing (an empty append). */
static int fs_open_append(void *ctx, const char *server, const char *token, const char *path,
			  void **h)
{
	struct fs_file *f = plat_calloc(1, sizeof(*f));
	int rc;

	(void)ctx;
	if (!f)
		return SD_ENOMEM;
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(f->server, sizeof(f->server), "%s", server);
	snprintf(f->token, sizeof(f->token), "%s", token ? token : "");
	rc = link_open(&f->link, server, token);
	if (rc == 0)
		rc = fs_append(f, NULL, 0);
	if (rc < 0) {
		file_free(f);
		return rc;
	}
	*h = f;
	return 0;
}

static void fs_close_append(void *h)
{
	file_free(h);
}

const struct node_fs_ops node__netfs_fs_ops = {
	.ctx = NULL,
	.open_read = fs_open_read,
	.read = fs_read,
	.close_read = fs_close_read,
	.create = fs_create,
	.write = fs_write,
	.commit = fs_commit,
	.discard = fs_discard,
	.open_append = fs_open_append,
	.append = fs_append,
	.close_append = fs_close_append,
};
