/*
 * netfs/server/srv.h — private to stardust-netfsd (netfs/server/ files).
 *
 * Layers:
 *   path.c     validate client paths; open beneath the export root
 *   list.c     glob listing beneath the root
 *   session.c  the request dispatcher: one session per connection, no libuv;
 *              answers through struct srv_io so the fuzz target can drive it
 *   stream.c   streamed reads with read-ahead (page cache on the loop, the
 *              rest on the work queue), tail waits
 *   conn.c     libuv: accept, frame reassembly, writes with back-pressure
 *   main.c     arguments, listen, signals
 */
#ifndef SD_NETFS_SERVER_SRV_H
#define SD_NETFS_SERVER_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "netfs/netfs.h"
#include "proto/wire.h"

#define SRV_FRAME_MAX           (NFS_WRITE_CHUNK_MAX + (64u << 10)) /* bytes per request frame */
#define SRV_INFLIGHT_MAX        64u         /* streamed requests (reads, tails) per connection */
#define SRV_CONNS_MAX           1024u       /* connections at once */
#define SRV_HANDLES_MAX         64u         /* open temporary files per connection */
#define SRV_LIST_SCAN_MAX       200000u     /* directory entries one list may look at */
#define SRV_LIST_MAX            10000u      /* entries per list answer */
#define SRV_READAHEAD           4u          /* chunks being read or sent per stream */
#define SRV_INLINE_READ_MAX     (64u << 10) /* bytes: reads this small run on the loop */
#define SRV_WQ_HIGH             (8u << 20)  /* bytes queued on a socket: stop producing */
#define SRV_HELLO_TIMEOUT_MS    10000u      /* ms a new connection has to say hello */
#define SRV_TAIL_POLL_MS        20u         /* how often waiting tails look at their file */
#define SRV_TAIL_TIMEOUT_MAX_MS 600000u     /* longest tail wait */
#define SRV_MSG_MAX             (NFS_PATH_MAX + 256u) /* bytes of an error message */
#define SRV_TMP_PREFIX          ".nfs-tmp-" /* temporary files: hidden, never client-addressable */

struct srv_config {
	const char *root;          /* borrowed: the export directory */
	const char *region;        /* borrowed */
	const char *name;          /* borrowed */
	const char *token;         /* borrowed; NULL or "" = no authentication */
	bool no_openat2;           /* force the per-component O_NOFOLLOW walk (tests) */
	unsigned hello_timeout_ms; /* 0: SRV_HELLO_TIMEOUT_MS */
};

struct srv {
	struct srv_config cfg;
	int root_fd; /* O_PATH|O_DIRECTORY */
};

/* ---- path.c ---------------------------------------------------------- */

/*
 * Validates path and writes its normal form ("a/b/c", no empty or "."
 * components) into out (NFS_PATH_MAX + 1 bytes). allow_root: "" and "." mean
 * the root itself (out = "."). SD_EPATH with the reason in why.
 */
int srv_path_normalize(const char *path, bool allow_root, char *out, const char **why);

/* Opens a normalized path beneath the root, never through a symlink. */
int srv_open_beneath(const struct srv *s, const char *norm, int flags, mode_t mode, int *fd);

/*
 * Opens the parent directory of a normalized path (O_PATH) beneath the root,
 * creating missing directories when mkdirs; *base points into norm.
 */
int srv_open_parent(const struct srv *s, const char *norm, bool mkdirs, int *dirfd,
		    const char **base);

/* Opens directory child name of dirfd without following a symlink. */
int srv_open_child_dir(int dirfd, const char *name, int *fd);

/* ---- list.c ---------------------------------------------------------- */

struct srv_list {
	Sd__Netfs__Entry **entries; /* owned: srv_list_free */
	size_t n, cap;
	size_t scanned; /* directory entries looked at (SRV_LIST_SCAN_MAX) */
	bool truncated;
};

int srv_list_glob(const struct srv *s, const char *norm_pattern, struct srv_list *out);
void srv_list_free(struct srv_list *l);
/* Fills e (path borrowed) from a stat of path. */
void srv_entry_from_stat(Sd__Netfs__Entry *e, const char *path, const void *statbuf);

/* ---- session.c ------------------------------------------------------- */

/* What the dispatcher needs from its transport. Each returns 0 or an SD_E*. */
struct srv_io {
	/* Queue one response frame (copied or consumed before return). */
	int (*send)(void *arg, uint16_t type, const ProtobufCMessage *msg);
	/* Stream [offset, end) of fd (ownership taken, even on error); size: fstat's. */
	int (*start_read)(void *arg, int fd, uint64_t req_id, uint64_t offset, uint64_t end,
			  uint64_t size, uint32_t chunk);
	/* Wait for fd to grow past offset, then stream up to max_bytes. */
	int (*start_tail)(void *arg, int fd, uint64_t req_id, uint64_t offset, uint32_t max_bytes,
			  uint32_t timeout_ms);
	/* Streamed requests in progress on this connection. */
	unsigned (*inflight)(void *arg);
	/* A file grew by an append through this server (wakes tails). */
	void (*appended)(void *arg);
	/* Stop the streamed request req_id, if it is still going. */
	void (*cancel)(void *arg, uint64_t req_id);
};

struct srv_handle;

struct srv_session {
	struct srv *srv;
	const struct srv_io *io;
	void *io_arg;
	bool hello_done;
	struct srv_handle *handles;
	unsigned n_handles;
	uint64_t next_handle;
	char peer[64]; /* for log lines */
};

void srv_session_init(struct srv_session *ss, struct srv *s, const struct srv_io *io, void *arg);
/* Removes every temporary file still open: nothing half-written stays. */
void srv_session_fini(struct srv_session *ss);

/*
 * Handles one request frame (borrowed, attachment included). Returns 0, or
 * a negative code when the connection must be closed (its reason already
 * sent as an Error with req_id 0 where possible).
 */
int srv_dispatch(struct srv_session *ss, const struct wire_frame *f, const uint8_t *body);

/* Sends Error{req_id, code, message}. */
int srv_send_error(struct srv_session *ss, uint64_t req_id, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- conn.c ---------------------------------------------------------- */

struct uv_loop_s;
/*
 * Listens on host:port (0: an ephemeral port), calls ready(arg, bound_port),
 * and serves until SIGINT/SIGTERM, when every connection is closed (temporary
 * files removed). Returns 0 or SD_EADDRINUSE, SD_EINVAL, ...
 */
int srv_run(struct srv *s, struct uv_loop_s *loop, const char *host, int port,
	    void (*ready)(void *arg, int port), void *arg);

#endif /* SD_NETFS_SERVER_SRV_H */
