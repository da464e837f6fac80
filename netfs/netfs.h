/*
 * netfs/netfs.h — the netfs client: a sans-I/O protocol core and a hosted
 * blocking transport over POSIX sockets.
 *
 * PORTABLE: this header and netfs/client/proto.c include no OS header; the
 * node runtime drives the core over its own non-blocking TCP layer. The
 * blocking calls (nfs_connect ... nfs_close) live in netfs/client/posix.c,
 * CMake target sd_netfs_posix; the core is sd_netfs_client.
 *
 * The protocol core (struct nfs_proto):
 *   nfs_proto_new(&p); nfs_proto_hello(p, "node-3", token);
 *   nfs_proto_read(p, "logs/a.txt", 0, 0, 0, &id);        requests queue frames
 *   loop:
 *     n = nfs_proto_out_pending(p, &bytes); send(bytes, n); nfs_proto_out_consume(p, sent);
 *     nfs_proto_in_space(p, &where, &avail); k = recv(where, avail); nfs_proto_in_commit(p, k);
 *     while ((rc = nfs_proto_next(p, &ev)) == 0) handle(&ev);   ev.done ends ev.req_id
 *     rc == SD_EAGAIN: need more bytes; any other rc: the stream is broken, close it.
 *   nfs_proto_free(p);
 * The core checks every response against its outstanding request (id and
 * kind), verifies each chunk's XXH3-64 (a mismatch is an event with err
 * SD_ECHECKSUM, never data), and checks chunk offsets are contiguous.
 *
 * Ownership: strings and data passed in are borrowed for the call (request
 * bytes are copied into the core's output buffer). An event borrows the core:
 * its strings, entries and data stay valid until the next nfs_proto_next(),
 * nfs_proto_in_space() or nfs_proto_free().
 *
 * The blocking transport: one request at a time per connection; not
 * thread-safe (one connection per thread). Every call returns 0 or a negative
 * SD_E* code; after a server-side error nfs_last_error() holds the server's
 * message, which names the path.
 */
#ifndef SD_NETFS_NETFS_H
#define SD_NETFS_NETFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFS_PROTOCOL_VERSION       1u
#define NFS_DEFAULT_PORT           7070
#define NFS_CHUNK_DEFAULT          (512u << 10) /* bytes per read chunk a client asks for */
#define NFS_CHUNK_MAX              (4u << 20)   /* bytes: largest read chunk a server sends */
#define NFS_WRITE_CHUNK_MAX        (1u << 20)   /* bytes per Write/Append attachment */
#define NFS_PATH_MAX               1024u        /* bytes in a path, without the NUL */
#define NFS_TOKEN_MAX              256u         /* bytes in a shared token */
#define NFS_CLIENT_FRAME_MAX       (16u << 20)  /* bytes: largest frame a client accepts */
#define NFS_CLIENT_OUTSTANDING_MAX 1024u        /* requests a core tracks at once */
#define NFS_CONCAT_SOURCES_MAX     4096u        /* source files per concat request */

/* One file or directory, as list and stat report it. */
struct nfs_entry {
	const char *path; /* relative to the export root */
	uint64_t size;    /* bytes */
	int64_t mtime_us; /* microseconds since the Unix epoch */
	bool is_dir;
};

enum nfs_op {
	NFS_OP_NONE = 0,
	NFS_OP_HELLO,
	NFS_OP_LIST,
	NFS_OP_STAT,
	NFS_OP_READ,
	NFS_OP_TAIL,
	NFS_OP_APPEND,
	NFS_OP_CREATE,
	NFS_OP_WRITE,
	NFS_OP_COMMIT,
	NFS_OP_ABORT,
	NFS_OP_DELETE,
	NFS_OP_CONCAT,
	NFS_OP_TRUNCATE,
};

/* "read", "list", ... for messages to people. */
const char *nfs_op_name(enum nfs_op op);

/* One response (or one chunk of a streamed response). Borrows the core. */
struct nfs_event {
	uint64_t req_id;     /* 0 for the hello */
	enum nfs_op op;      /* what the request was */
	bool done;           /* no more events for req_id */
	int err;             /* 0, or the server's SD_E* code, or SD_ECHECKSUM / SD_EPROTO */
	const char *message; /* with err: the server's text naming the path; else "" */
	/* NFS_OP_HELLO */
	const char *server_name;
	const char *region;
	uint32_t max_frame;    /* bytes the server accepts per frame */
	uint32_t max_inflight; /* requests per connection */
	/* NFS_OP_LIST (entries[0..n_entries)) and NFS_OP_STAT (entries[0]) */
	const struct nfs_entry *entries;
	size_t n_entries;
	bool truncated; /* the list hit the server's entry limit */
	/* NFS_OP_READ / NFS_OP_TAIL: one verified chunk (len may be 0) */
	uint64_t offset;
	const uint8_t *data;
	size_t len;
	bool eof;           /* the chunk reaches the current end of file */
	uint64_t file_size; /* bytes, when the chunk was read */
	/* APPEND, CONCAT, TRUNCATE: the file's new size; COMMIT/WRITE/DELETE: the Ok size */
	uint64_t size;
	uint64_t handle; /* NFS_OP_CREATE */
};

struct nfs_proto;

/* Returns an owned core in *out (nfs_proto_free). SD_ENOMEM. */
int nfs_proto_new(struct nfs_proto **out);
void nfs_proto_free(struct nfs_proto *p);

/*
 * Request builders: each queues one frame and returns its id in *req_id.
 * SD_EINVAL for a NULL/oversized argument, SD_ELIMIT when
 * NFS_CLIENT_OUTSTANDING_MAX requests are outstanding, SD_ENOMEM.
 * Data is copied; len up to NFS_WRITE_CHUNK_MAX.
 */
int nfs_proto_hello(struct nfs_proto *p, const char *client_name, const char *token);
int nfs_proto_list(struct nfs_proto *p, const char *pattern, uint64_t *req_id);
int nfs_proto_stat(struct nfs_proto *p, const char *path, uint64_t *req_id);
/* length 0 = to the end of file; chunk_bytes 0 = NFS_CHUNK_DEFAULT. */
int nfs_proto_read(struct nfs_proto *p, const char *path, uint64_t offset, uint64_t length,
		   uint32_t chunk_bytes, uint64_t *req_id);
int nfs_proto_tail(struct nfs_proto *p, const char *path, uint64_t offset, uint32_t max_bytes,
		   uint32_t timeout_ms, uint64_t *req_id);
int nfs_proto_append(struct nfs_proto *p, const char *path, const void *data, size_t len,
		     uint64_t *req_id);
int nfs_proto_create(struct nfs_proto *p, const char *path, bool overwrite, uint64_t *req_id);
int nfs_proto_write(struct nfs_proto *p, uint64_t handle, uint64_t offset, const void *data,
		    size_t len, uint64_t *req_id);
/* abort = true discards the temporary file. */
int nfs_proto_commit(struct nfs_proto *p, uint64_t handle, bool abort, uint64_t *req_id);
int nfs_proto_delete(struct nfs_proto *p, const char *path, uint64_t *req_id);
/*
 * Appends sources[0..n) in order onto target, on the server (the bytes never
 * travel); the target is created when missing. All or nothing: on any error
 * the target keeps its size from before the request. check_size: refused
 * with SD_ESTATE, nothing changed, unless the target's size is expect_size
 * (a missing target has size 0) — what makes a retried publish idempotent.
 * xxh3s: NULL, or n XXH3-64 sums (nfs_checksum of each whole source) checked
 * before anything is appended (SD_ECHECKSUM names the source).
 * delete_sources: the sources are unlinked once the target is synced.
 * The event (NFS_OP_CONCAT) carries the target's new size in ev.size.
 * n up to NFS_CONCAT_SOURCES_MAX (0 only checks and syncs the target); every
 * path borrowed for the call. SD_ETOOBIG when the request would not fit in
 * one frame of the size the server announced in its HelloAck.
 */
int nfs_proto_concat(struct nfs_proto *p, const char *target, const char *const *sources, size_t n,
		     bool check_size, uint64_t expect_size, const uint64_t *xxh3s,
		     bool delete_sources, uint64_t *req_id);

/* Options of a concat; a NULL opts means all false / NULL. */
struct nfs_concat_opts {
	bool check_size;             /* refuse (SD_ESTATE) unless target has expect_size bytes */
	uint64_t expect_size;        /* bytes; a missing target has 0 */
	const uint64_t *source_xxh3; /* NULL or one XXH3-64 per source; borrowed */
	bool delete_sources;         /* unlink the sources after the target is synced */
	/*
	 * Assemble into a new file that replaces target by an atomic rename: a
	 * reader sees the old target or the whole result, a failure leaves the old
	 * one untouched. Not with check_size (SD_EINVAL). Bounded sinks commit so.
	 */
	bool replace;
};

/* nfs_proto_concat with every option, replace included. */
int nfs_proto_concat_opts(struct nfs_proto *p, const char *target, const char *const *sources,
			  size_t n, const struct nfs_concat_opts *opts, uint64_t *req_id);
/* Cuts path to size bytes (not past its end: SD_EINVAL); ev.size = size. */
int nfs_proto_truncate(struct nfs_proto *p, const char *path, uint64_t size, uint64_t *req_id);
/*
 * Asks the server to stop the read or tail target. Its events keep coming
 * until one with done (an err SD_ECANCELED, or its own final chunk when it
 * had already finished). SD_ENOENT when target is not outstanding, SD_EINVAL
 * when it is not a read or tail.
 */
int nfs_proto_cancel(struct nfs_proto *p, uint64_t target);

/* Bytes queued for sending; *data borrows the core until the next call. */
size_t nfs_proto_out_pending(struct nfs_proto *p, const uint8_t **data);
void nfs_proto_out_consume(struct nfs_proto *p, size_t n);

/* Where to put received bytes (may grow the buffer); then commit what arrived. */
int nfs_proto_in_space(struct nfs_proto *p, uint8_t **where, size_t *avail);
void nfs_proto_in_commit(struct nfs_proto *p, size_t n);
/* Convenience: copies bytes in. */
int nfs_proto_feed(struct nfs_proto *p, const void *data, size_t len);

/*
 * The next event: 0 (ev filled), SD_EAGAIN (need bytes), or a fatal stream
 * error (SD_EPROTO for a response to no outstanding request or of the wrong
 * kind, framing errors): the connection must be closed.
 */
int nfs_proto_next(struct nfs_proto *p, struct nfs_event *ev);

/* Requests sent and not yet done. */
size_t nfs_proto_outstanding(const struct nfs_proto *p);

/* XXH3-64 as the protocol uses it (exposed for tests and tools). */
uint64_t nfs_checksum(const void *data, size_t len);

/* ---- Blocking transport (sd_netfs_posix) ---------------------------- */

struct nfs_conn;

/* Plain metadata for nfs_stat. */
struct nfs_stat {
	uint64_t size;
	int64_t mtime_us;
	bool is_dir;
};

/* Return non-zero to stop (that value is returned by the call). */
typedef int nfs_list_fn(void *arg, const struct nfs_entry *entry);
typedef int nfs_data_fn(void *arg, uint64_t offset, const void *data, size_t len);

/*
 * Connects, says hello, waits for the HelloAck. token may be NULL. Returns an
 * owned connection (nfs_close). SD_ECONNREFUSED, SD_EUNREACH, SD_EAUTH,
 * SD_EVERSION, SD_ETIMEDOUT, ...
 */
int nfs_connect(const char *host, uint16_t port, const char *token, struct nfs_conn **out);
void nfs_close(struct nfs_conn *c);

/* The server's region label and name from its HelloAck; borrowed. */
const char *nfs_region(const struct nfs_conn *c);
const char *nfs_server_name(const struct nfs_conn *c);
/* The last error's text (server message naming the path, or a local one). */
const char *nfs_last_error(const struct nfs_conn *c);

/* Entries matching a glob (* ? [..] in any component; a directory lists its contents). */
int nfs_list(struct nfs_conn *c, const char *pattern, nfs_list_fn *fn, void *arg, bool *truncated);
int nfs_stat(struct nfs_conn *c, const char *path, struct nfs_stat *out);
/*
 * Streams [offset, offset+length) (length 0: to the end) through fn, verified.
 * When fn returns non-zero the read is canceled and that value returned.
 */
int nfs_read(struct nfs_conn *c, const char *path, uint64_t offset, uint64_t length,
	     nfs_data_fn *fn, void *arg);
/*
 * Bytes from offset on, waiting up to timeout_ms for them to appear. *got is
 * the number of bytes delivered (0 on timeout); *file_size the size seen.
 */
int nfs_tail(struct nfs_conn *c, const char *path, uint64_t offset, uint32_t max_bytes,
	     uint32_t timeout_ms, nfs_data_fn *fn, void *arg, size_t *got, uint64_t *file_size);
/* Appends (creating the file if missing); any len, sent in chunks. */
int nfs_append(struct nfs_conn *c, const char *path, const void *data, size_t len,
	       uint64_t *new_size);
/* A temporary file that becomes path at nfs_commit; nothing visible before. */
int nfs_create(struct nfs_conn *c, const char *path, bool overwrite, uint64_t *handle);
int nfs_write(struct nfs_conn *c, uint64_t handle, uint64_t offset, const void *data, size_t len);
int nfs_commit(struct nfs_conn *c, uint64_t handle);
int nfs_abort(struct nfs_conn *c, uint64_t handle);
int nfs_delete(struct nfs_conn *c, const char *path);

/*
 * Server-side concatenation (nfs_proto_concat_opts): sources[0..n) appended
 * in order onto target (or, with opts->replace, assembled into a new file
 * that replaces it), all or nothing; *new_size (may be NULL) the target's
 * size after. Retrying a publish exactly once:
 *   nfs_stat(target) -> size s (0 when SD_ENOENT);
 *   nfs_concat(c, target, parts, n, &{.check_size = true, .expect_size = s}, NULL);
 *   a retry of the same call after a lost answer gets SD_ESTATE: already done.
 */
int nfs_concat(struct nfs_conn *c, const char *target, const char *const *sources, size_t n,
	       const struct nfs_concat_opts *opts, uint64_t *new_size);
/* Cuts path to size bytes (size beyond the end: SD_EINVAL). */
int nfs_truncate(struct nfs_conn *c, const char *path, uint64_t size);

/* ---- CLI (sd_netfs_cli) --------------------------------------------- */

/* `stardust fs ls|cat|put|get|rm ...`: argv[0] is "fs". Exit codes 0/1/2/3. */
int nfs_cli_main(int argc, char **argv);

#endif /* SD_NETFS_NETFS_H */
