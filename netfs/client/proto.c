/*
 * netfs/client/proto.c — the sans-I/O netfs client core: builds request
 * frames into an output buffer, reassembles response frames from bytes the
 * caller received, matches them to outstanding requests and verifies chunk
 * checksums. PORTABLE: no OS header (xxhash.h is plain C, header-only when
 * XXH_INLINE_ALL is defined, as the node image does).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#if defined(SD_HOSTED) && defined(__x86_64__)
/* libxxhash picks AVX2/AVX-512 at run time: about twice SSE2 on big chunks. */
#include <xxh_x86dispatch.h>
#endif

#include "base/err.h"
#include "netfs/netfs.h"
#include "proto/wire.h"

#define NFS_OUT_MIN 4096u /* bytes: initial output buffer */

struct pending {
	uint64_t id;
	enum nfs_op op;
	uint64_t next_offset; /* READ/TAIL: where the next chunk must start */
	bool started;         /* READ/TAIL: a chunk arrived */
};

struct nfs_proto {
	struct wire_reader in;
	struct wire_frame frame; /* the frame the last event borrows */
	bool have_frame;
	uint8_t *out;
	size_t out_start, out_end, out_cap;
	uint64_t next_id;
	struct pending *pend;
	size_t n_pend, cap_pend;
	bool hello_pending;
	uint32_t max_frame; /* bytes per request frame the server accepts; 0 before HelloAck */
	struct nfs_entry *entries; /* event view of a list/stat */
	size_t cap_entries;
};

const char *nfs_op_name(enum nfs_op op)
{
	static const char *const names[] = {"none",  "hello",  "list",   "stat",    "read",
					    "tail",  "append", "create", "write",   "commit",
					    "abort", "delete", "concat", "truncate"};
	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

uint64_t nfs_checksum(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

int nfs_proto_new(struct nfs_proto **out)
{
	struct nfs_proto *p;

	if (!out)
		return SD_EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return SD_ENOMEM;
	if (wire_reader_init(&p->in, NFS_CLIENT_FRAME_MAX) < 0) {
		free(p);
		return SD_EINVAL;
	}
	p->next_id = 1;
	*out = p;
	return 0;
}

static void proto_drop_frame(struct nfs_proto *p)
{
	if (p->have_frame)
		wire_frame_release(&p->frame, NULL);
	p->have_frame = false;
}

void nfs_proto_free(struct nfs_proto *p)
{
	if (!p)
		return;
	proto_drop_frame(p);
	wire_reader_fini(&p->in);
	free(p->out);
	free(p->pend);
	free(p->entries);
	free(p);
}

size_t nfs_proto_outstanding(const struct nfs_proto *p)
{
	return p->n_pend + (p->hello_pending ? 1 : 0);
}

/* ---- output ---------------------------------------------------------- */

static int out_reserve(struct nfs_proto *p, size_t need)
{
	if (p->out_start == p->out_end)
		p->out_start = p->out_end = 0;
	if (p->out_cap - p->out_end >= need)
		return 0;
	if (p->out_start > 0) {
		memmove(p->out, p->out + p->out_start, p->out_end - p->out_start);
		p->out_end -= p->out_start;
		p->out_start = 0;
		if (p->out_cap - p->out_end >= need)
			return 0;
	}
	size_t cap = p->out_cap ? p->out_cap : NFS_OUT_MIN;
	while (cap - p->out_end < need)
		cap *= 2;
	uint8_t *grown = realloc(p->out, cap);
	if (!grown)
		return SD_ENOMEM;
	p->out = grown;
	p->out_cap = cap;
	return 0;
}

static int out_frame(struct nfs_proto *p, uint16_t type, const ProtobufCMessage *msg,
		     const void *attach, size_t attach_len)
{
	size_t size = wire_frame_size(msg, attach_len);
	int rc = out_reserve(p, size);
	long n;

	if (rc < 0)
		return rc;
	n = wire_encode(type, msg, attach, attach_len, p->out + p->out_end,
			p->out_cap - p->out_end);
	if (n < 0)
		return (int)n;
	p->out_end += (size_t)n;
	return 0;
}

size_t nfs_proto_out_pending(struct nfs_proto *p, const uint8_t **data)
{
	*data = p->out + p->out_start;
	return p->out_end - p->out_start;
}

void nfs_proto_out_consume(struct nfs_proto *p, size_t n)
{
	assert(n <= p->out_end - p->out_start);
	p->out_start += n;
}

/* ---- outstanding requests ------------------------------------------- */

static struct pending *pend_find(struct nfs_proto *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_pend; i++)
		if (p->pend[i].id == id)
			return &p->pend[i];
	return NULL;
}

static void pend_remove(struct nfs_proto *p, struct pending *e)
{
	size_t i = (size_t)(e - p->pend);
	assert(i < p->n_pend);
	p->pend[i] = p->pend[--p->n_pend];
}

/* Reserves an id for op; the caller then queues the frame or calls pend_undo. */
static int pend_add(struct nfs_proto *p, enum nfs_op op, uint64_t offset, uint64_t *id)
{
	if (p->n_pend >= NFS_CLIENT_OUTSTANDING_MAX)
		return SD_ELIMIT;
	if (p->n_pend == p->cap_pend) {
		size_t cap = p->cap_pend ? 2 * p->cap_pend : 8;
		struct pending *grown = realloc(p->pend, cap * sizeof(*grown));
		if (!grown)
			return SD_ENOMEM;
		p->pend = grown;
		p->cap_pend = cap;
	}
	*id = p->next_id++;
	p->pend[p->n_pend++] = (struct pending){.id = *id, .op = op, .next_offset = offset};
	return 0;
}

static int pend_commit(struct nfs_proto *p, int rc, uint64_t id, uint64_t *req_id)
{
	if (rc < 0) {
		pend_remove(p, pend_find(p, id));
		return rc;
	}
	if (req_id)
		*req_id = id;
	return 0;
}

/* ---- request builders ------------------------------------------------ */

static bool path_ok(const char *path)
{
	return path && strnlen(path, NFS_PATH_MAX + 1) <= NFS_PATH_MAX;
}

int nfs_proto_hello(struct nfs_proto *p, const char *client_name, const char *token)
{
	Sd__Netfs__Hello m = SD__NETFS__HELLO__INIT;
	int rc;

	if (!p || p->hello_pending || (token && strnlen(token, NFS_TOKEN_MAX + 1) > NFS_TOKEN_MAX))
		return SD_EINVAL;
	m.protocol_version = NFS_PROTOCOL_VERSION;
	m.client_name = (char *)(client_name ? client_name : "");
	m.token = (char *)(token ? token : "");
	rc = out_frame(p, WIRE_NFS_HELLO, &m.base, NULL, 0);
	if (rc == 0)
		p->hello_pending = true;
	return rc;
}

int nfs_proto_list(struct nfs_proto *p, const char *pattern, uint64_t *req_id)
{
	Sd__Netfs__ListReq m = SD__NETFS__LIST_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !path_ok(pattern))
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_LIST, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	m.pattern = (char *)pattern;
	return pend_commit(p, out_frame(p, WIRE_NFS_LIST_REQ, &m.base, NULL, 0), id, req_id);
}

int nfs_proto_stat(struct nfs_proto *p, const char *path, uint64_t *req_id)
{
	Sd__Netfs__StatReq m = SD__NETFS__STAT_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !path_ok(path))
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_STAT, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	m.path = (char *)path;
	return pend_commit(p, out_frame(p, WIRE_NFS_STAT_REQ, &m.base, NULL, 0), id, req_id);
}

int nfs_proto_read(struct nfs_proto *p, const char *path, uint64_t offset, uint64_t length,
		   uint32_t chunk_bytes, uint64_t *req_id)
{
	Sd__Netfs__ReadReq m = SD__NETFS__READ_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !path_ok(path))
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_READ, offset, &id)) < 0)
		return rc;
	m.req_id = id;
	m.path = (char *)path;
	m.offset = offset;
	m.length = length;
	m.chunk_bytes = chunk_bytes ? chunk_bytes : NFS_CHUNK_DEFAULT;
	return pend_commit(p, out_frame(p, WIRE_NFS_READ_REQ, &m.base, NULL, 0), id, req_id);
}

int nfs_proto_tail(struct nfs_proto *p, const char *path, uint64_t offset, uint32_t max_bytes,
		   uint32_t timeout_ms, uint64_t *req_id)
{
	Sd__Netfs__TailReq m = SD__NETFS__TAIL_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !path_ok(path))
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_TAIL, offset, &id)) < 0)
		return rc;
	m.req_id = id;
	m.path = (char *)path;
	m.offset = offset;
	m.max_bytes = max_bytes;
	m.timeout_ms = timeout_ms;
	return pend_commit(p, out_frame(p, WIRE_NFS_TAIL_REQ, &m.base, NULL, 0), id, req_id);
}

int nfs_proto_append(struct nfs_proto *p, const char *path, const void *data, size_t len,
		     uint64_t *req_id)
{
	Sd__Netfs__AppendReq m = SD__NETFS__APPEND_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !path_ok(path) || (len && !data) || len > NFS_WRITE_CHUNK_MAX)
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_APPEND, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	m.path = (char *)path;
	m.xxh3 = nfs_checksum(data, len);
	return pend_commit(p, out_frame(p, WIRE_NFS_APPEND_REQ, &m.base, data, len), id, req_id);
}

int nfs_proto_create(struct nfs_proto *p, const char *path, bool overwrite, uint64_t *req_id)
{
	Sd__Netfs__CreateReq m = SD__NETFS__CREATE_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !path_ok(path))
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_CREATE, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	m.path = (char *)path;
	m.overwrite = overwrite;
	return pend_commit(p, out_frame(p, WIRE_NFS_CREATE_REQ, &m.base, NULL, 0), id, req_id);
}

int nfs_proto_write(struct nfs_proto *p, uint64_t handle, uint64_t offset, const void *data,
		    size_t len, uint64_t *req_id)
{
	Sd__Netfs__WriteReq m = SD__NETFS__WRITE_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || (len && !data) || len > NFS_WRITE_CHUNK_MAX)
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_WRITE, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	m.handle = handle;
	m.offset = offset;
	m.xxh3 = nfs_checksum(data, len);
	return pend_commit(p, out_frame(p, WIRE_NFS_WRITE_REQ, &m.base, data, len), id, req_id);
}

int nfs_proto_commit(struct nfs_proto *p, uint64_t handle, bool abort, uint64_t *req_id)
{
	Sd__Netfs__CommitReq m = SD__NETFS__COMMIT_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p)
		return SD_EINVAL;
	if ((rc = pend_add(p, abort ? NFS_OP_ABORT : NFS_OP_COMMIT, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	m.handle = handle;
	m.abort = abort;
	return pend_commit(p, out_frame(p, WIRE_NFS_COMMIT_REQ, &m.base, NULL, 0), id, req_id);
}

int nfs_proto_delete(struct nfs_proto *p, const char *path, uint64_t *req_id)
{
	Sd__Netfs__DeleteReq m = SD__NETFS__DELETE_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !path_ok(path))
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_DELETE, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	m.path = (char *)path;
	return pend_commit(p, out_frame(p, WIRE_NFS_DELETE_REQ, &m.base, NULL, 0), id, req_id);
}

/* Are the target and the n source paths usable? */
static bool concat_args_ok(const char *target, const char *const *sources, size_t n)
{
	if (!path_ok(target) || n > NFS_CONCAT_SOURCES_MAX || (n && !sources))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!path_ok(sources[i]))
			return false;
	return true;
}

int nfs_proto_concat(struct nfs_proto *p, const char *target, const char *const *sources, size_t n,
		     bool check_size, uint64_t expect_size, const uint64_t *xxh3s,
		     bool delete_sources, uint64_t *req_id)
{
	struct nfs_concat_opts o = {.check_size = check_size,
				    .expect_size = expect_size,
				    .source_xxh3 = xxh3s,
				    .delete_sources = delete_sources};

	return nfs_proto_concat_opts(p, target, sources, n, &o, req_id);
}

int nfs_proto_concat_opts(struct nfs_proto *p, const char *target, const char *const *sources,
			  size_t n, const struct nfs_concat_opts *opts, uint64_t *req_id)
{
	static const struct nfs_concat_opts none;
	const struct nfs_concat_opts *o = opts ? opts : &none;
	Sd__Netfs__ConcatReq m = SD__NETFS__CONCAT_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !concat_args_ok(target, sources, n) || (o->replace && o->check_size))
		return SD_EINVAL;
	/* protobuf-c only reads the arrays: the casts drop const for its types. */
	m.target = (char *)target;
	m.n_sources = n;
	m.sources = (char **)sources;
	m.check_size = o->check_size;
	m.expect_size = o->expect_size;
	m.n_source_xxh3 = o->source_xxh3 ? n : 0;
	m.source_xxh3 = (uint64_t *)o->source_xxh3;
	m.delete_sources = o->delete_sources;
	m.replace = o->replace;
	m.req_id = UINT64_MAX; /* the largest id: sizes the frame before one is taken */
	/* A frame the server refuses would close the connection: refuse it here. */
	if (p->max_frame && wire_frame_size(&m.base, 0) > p->max_frame)
		return SD_ETOOBIG;
	if ((rc = pend_add(p, NFS_OP_CONCAT, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	return pend_commit(p, out_frame(p, WIRE_NFS_CONCAT_REQ, &m.base, NULL, 0), id, req_id);
}

int nfs_proto_truncate(struct nfs_proto *p, const char *path, uint64_t size, uint64_t *req_id)
{
	Sd__Netfs__TruncateReq m = SD__NETFS__TRUNCATE_REQ__INIT;
	uint64_t id;
	int rc;

	if (!p || !path_ok(path))
		return SD_EINVAL;
	if ((rc = pend_add(p, NFS_OP_TRUNCATE, 0, &id)) < 0)
		return rc;
	m.req_id = id;
	m.path = (char *)path;
	m.size = size;
	return pend_commit(p, out_frame(p, WIRE_NFS_TRUNCATE_REQ, &m.base, NULL, 0), id, req_id);
}

int nfs_proto_cancel(struct nfs_proto *p, uint64_t target)
{
	Sd__Netfs__CancelReq m = SD__NETFS__CANCEL_REQ__INIT;
	struct pending *pe;

	if (!p)
		return SD_EINVAL;
	if (!(pe = pend_find(p, target)))
		return SD_ENOENT;
	if (pe->op != NFS_OP_READ && pe->op != NFS_OP_TAIL)
		return SD_EINVAL;
	/* No answer of its own: an id only so the server can name it in logs. */
	m.req_id = p->next_id++;
	m.target = target;
	return out_frame(p, WIRE_NFS_CANCEL_REQ, &m.base, NULL, 0);
}

/* ---- input ----------------------------------------------------------- */

int nfs_proto_in_space(struct nfs_proto *p, uint8_t **where, size_t *avail)
{
	/* The reader may move its buffer: the borrowed frame goes first. */
	proto_drop_frame(p);
	return wire_reader_space(&p->in, where, avail);
}

void nfs_proto_in_commit(struct nfs_proto *p, size_t n)
{
	wire_reader_commit(&p->in, n);
}

int nfs_proto_feed(struct nfs_proto *p, const void *data, size_t len)
{
	proto_drop_frame(p);
	return wire_reader_feed(&p->in, data, len);
}

static int entries_view(struct nfs_proto *p, Sd__Netfs__Entry **src, size_t n, struct nfs_event *ev)
{
	if (n > p->cap_entries) {
		struct nfs_entry *grown = realloc(p->entries, n * sizeof(*grown));
		if (!grown)
			return SD_ENOMEM;
		p->entries = grown;
		p->cap_entries = n;
	}
	for (size_t i = 0; i < n; i++) {
		if (!src[i])
			return SD_EPROTO;
		p->entries[i] = (struct nfs_entry){.path = src[i]->path,
						   .size = src[i]->size,
						   .mtime_us = src[i]->mtime_us,
						   .is_dir = src[i]->is_dir};
	}
	ev->entries = p->entries;
	ev->n_entries = n;
	return 0;
}

static int on_hello(struct nfs_proto *p, struct nfs_event *ev)
{
	if (!p->hello_pending)
		return SD_EPROTO;
	ev->op = NFS_OP_HELLO;
	ev->done = true;
	p->hello_pending = false;
	if (p->frame.hdr.type == WIRE_NFS_ERROR) {
		Sd__Netfs__Error *e = (Sd__Netfs__Error *)p->frame.msg;
		ev->err = e->code < 0 ? e->code : SD_EPROTO;
		ev->message = e->message;
		return 0;
	}
	Sd__Netfs__HelloAck *a = (Sd__Netfs__HelloAck *)p->frame.msg;
	if (a->protocol_version != NFS_PROTOCOL_VERSION) {
		ev->err = SD_EVERSION;
		ev->message = "server speaks another netfs protocol version";
	}
	ev->server_name = a->server_name;
	ev->region = a->region;
	ev->max_frame = a->max_frame_bytes;
	ev->max_inflight = a->max_inflight;
	p->max_frame = a->max_frame_bytes;
	return 0;
}

static int on_chunk(struct nfs_proto *p, struct pending *pe, struct nfs_event *ev)
{
	Sd__Netfs__ReadChunk *c = (Sd__Netfs__ReadChunk *)p->frame.msg;

	if (pe->op != NFS_OP_READ && pe->op != NFS_OP_TAIL)
		return SD_EPROTO;
	ev->offset = c->offset;
	ev->eof = c->eof;
	ev->file_size = c->file_size;
	ev->done = c->final;
	if (c->offset != pe->next_offset) {
		ev->err = SD_EPROTO;
		ev->message = "chunk out of order";
		return 0;
	}
	if (nfs_checksum(p->frame.attach, p->frame.attach_len) != c->xxh3) {
		ev->err = SD_ECHECKSUM;
		ev->message = "chunk checksum mismatch";
		return 0;
	}
	pe->next_offset += p->frame.attach_len;
	pe->started = true;
	ev->data = p->frame.attach;
	ev->len = p->frame.attach_len;
	return 0;
}

/* Fills ev from a response to the outstanding request pe. */
static int on_response(struct nfs_proto *p, struct pending *pe, struct nfs_event *ev)
{
	uint16_t t = p->frame.hdr.type;
	enum nfs_op op = pe->op;

	ev->op = op;
	ev->done = true;
	if (t == WIRE_NFS_ERROR) {
		Sd__Netfs__Error *e = (Sd__Netfs__Error *)p->frame.msg;
		ev->err = e->code < 0 ? e->code : SD_EPROTO;
		ev->message = e->message;
		return 0;
	}
	if (t == WIRE_NFS_READ_CHUNK)
		return on_chunk(p, pe, ev);
	if (t == WIRE_NFS_LIST_RESP && op == NFS_OP_LIST) {
		Sd__Netfs__ListResp *r = (Sd__Netfs__ListResp *)p->frame.msg;
		ev->truncated = r->truncated;
		return entries_view(p, r->entries, r->n_entries, ev);
	}
	if (t == WIRE_NFS_STAT_RESP && op == NFS_OP_STAT) {
		Sd__Netfs__StatResp *r = (Sd__Netfs__StatResp *)p->frame.msg;
		if (!r->entry)
			return SD_EPROTO;
		return entries_view(p, &r->entry, 1, ev);
	}
	if (t == WIRE_NFS_APPEND_RESP && op == NFS_OP_APPEND) {
		ev->size = ((Sd__Netfs__AppendResp *)p->frame.msg)->new_size;
		return 0;
	}
	if (t == WIRE_NFS_CREATE_RESP && op == NFS_OP_CREATE) {
		ev->handle = ((Sd__Netfs__CreateResp *)p->frame.msg)->handle;
		return 0;
	}
	if (t == WIRE_NFS_OK &&
	    (op == NFS_OP_WRITE || op == NFS_OP_COMMIT || op == NFS_OP_ABORT ||
	     op == NFS_OP_DELETE || op == NFS_OP_CONCAT || op == NFS_OP_TRUNCATE)) {
		ev->size = ((Sd__Netfs__Ok *)p->frame.msg)->size;
		return 0;
	}
	return SD_EPROTO;
}

/* The req_id of a response frame; false for types a client never receives. */
static bool response_req_id(const struct wire_frame *f, uint64_t *id)
{
	switch (f->hdr.type) {
	case WIRE_NFS_ERROR:
		*id = ((Sd__Netfs__Error *)f->msg)->req_id;
		return true;
	case WIRE_NFS_LIST_RESP:
		*id = ((Sd__Netfs__ListResp *)f->msg)->req_id;
		return true;
	case WIRE_NFS_STAT_RESP:
		*id = ((Sd__Netfs__StatResp *)f->msg)->req_id;
		return true;
	case WIRE_NFS_READ_CHUNK:
		*id = ((Sd__Netfs__ReadChunk *)f->msg)->req_id;
		return true;
	case WIRE_NFS_APPEND_RESP:
		*id = ((Sd__Netfs__AppendResp *)f->msg)->req_id;
		return true;
	case WIRE_NFS_CREATE_RESP:
		*id = ((Sd__Netfs__CreateResp *)f->msg)->req_id;
		return true;
	case WIRE_NFS_OK:
		*id = ((Sd__Netfs__Ok *)f->msg)->req_id;
		return true;
	default:
		return false;
	}
}

int nfs_proto_next(struct nfs_proto *p, struct nfs_event *ev)
{
	struct pending *pe;
	uint64_t id = 0;
	int rc;

	if (!p || !ev)
		return SD_EINVAL;
	proto_drop_frame(p);
	memset(ev, 0, sizeof(*ev));
	ev->message = "";
	/* wire_reader_next() refuses a reader that never had a buffer. */
	if (!p->in.buf && !p->in.error)
		return SD_EAGAIN;
	rc = wire_reader_next(&p->in, NULL, &p->frame);
	if (rc < 0)
		return rc;
	p->have_frame = true;
	if (p->frame.hdr.type == WIRE_NFS_HELLO_ACK)
		return on_hello(p, ev);
	if (!response_req_id(&p->frame, &id))
		return SD_EPROTO;
	ev->req_id = id;
	if (id == 0 && p->frame.hdr.type == WIRE_NFS_ERROR) {
		if (p->hello_pending)
			return on_hello(p, ev);
		/* A connection-level error (limit reached, shutting down). */
		Sd__Netfs__Error *e = (Sd__Netfs__Error *)p->frame.msg;
		ev->done = true;
		ev->err = e->code < 0 ? e->code : SD_EPROTO;
		ev->message = e->message;
		return 0;
	}
	pe = pend_find(p, id);
	if (!pe)
		return SD_EPROTO;
	rc = on_response(p, pe, ev);
	if (rc < 0)
		return rc;
	if (ev->done)
		pend_remove(p, pe);
	return 0;
}
