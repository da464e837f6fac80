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
 *   job.c      requests run as jobs on the work queue (struct srv_op); truncate
 *   concat.c   concat: validated on the loop, run as a job, all or nothing
 *   busy.c     which paths a running job holds (loop only)
 *   reclaim.c  start-up: temporary files left by a killed server removed
 *   conn.c     libuv: accept, frame reassembly, writes with back-pressure,
 *              hello/idle timeouts, the pre-hello connection cap, jobs
 *   main.c     arguments, reclaim, listen, signals
 *
 * Threads: everything runs on the loop thread except srv_job.work, which
 * touches only its job (and the read-only struct srv: root_fd, cfg).
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
#define SRV_IDLE_TIMEOUT_MS     120000u     /* ms without bytes or requests: closed */
#define SRV_PREHELLO_MAX        64u         /* connections still owing their hello */
#define SRV_JOBS_MAX            8u          /* concats/truncates running per connection */
#define SRV_CONCAT_SOURCES_MAX  NFS_CONCAT_SOURCES_MAX /* source files per concat */
#define SRV_COPY_CHUNK          (8u << 20)             /* bytes per copy_file_range call */
#define SRV_COPY_BUF            (1u << 20) /* bytes: read/write fallback and hashing buffer */
#define SRV_BUSY_BUCKETS        256u       /* hash buckets of the busy-path table */
#define SRV_RECLAIM_SCAN_MAX    1000000u   /* directory entries the start-up sweep visits */
#define SRV_RECLAIM_DEPTH_MAX   64u        /* directory levels the start-up sweep descends */
#define SRV_TAIL_POLL_MS        20u        /* how often waiting tails look at their file */
#define SRV_TAIL_TIMEOUT_MAX_MS 600000u    /* longest tail wait */
#define SRV_MSG_MAX             (NFS_PATH_MAX + 256u) /* bytes of an error message */
#define SRV_TMP_PREFIX          ".nfs-tmp-" /* temporary files: hidden, never client-addressable */
#define SRV_KEEPALIVE_S         30u         /* s of silence before TCP keepalive probes start */

struct srv_config {
	const char *root;          /* borrowed: the export directory */
	const char *region;        /* borrowed */
	const char *name;          /* borrowed */
	const char *token;         /* borrowed; NULL or "" = no authentication */
	bool no_openat2;           /* force the per-component O_NOFOLLOW walk (tests) */
	unsigned hello_timeout_ms; /* 0: SRV_HELLO_TIMEOUT_MS */
	unsigned idle_timeout_ms;  /* 0: SRV_IDLE_TIMEOUT_MS */
};

struct srv_busy;

/* Zero-initialize, then set cfg and root_fd. */
struct srv {
	struct srv_config cfg;
	int root_fd;                             /* O_PATH|O_DIRECTORY */
	struct srv_busy *busy[SRV_BUSY_BUCKETS]; /* paths held by running jobs */
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

/* One operation that may take long on big files (concat, truncate). */
struct srv_job {
	void (*work)(struct srv_job *job); /* a worker thread: touches only the job */
	void (*done)(struct srv_job *job); /* the loop: answers, releases, frees the job */
};

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
	/*
	 * Runs job->work off the loop, then job->done on the loop (also after
	 * the connection closed: done must not assume it can answer). On an
	 * error neither runs and the caller still owns the job.
	 */
	int (*run)(void *arg, struct srv_job *job);
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
	unsigned n_jobs; /* running: SRV_JOBS_MAX */
	char peer[64];   /* for log lines */
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

/* Internal to the dispatcher (session.c, concat.c). */
/* Error{id, rc, "op path: why"} (why NULL: rc's text). */
int srv__fail(struct srv_session *ss, uint64_t id, const char *op, const char *path, int rc,
	      const char *why);
int srv__send_ok(struct srv_session *ss, uint64_t req_id, uint64_t size);
/*
 * Validates path into norm (NFS_PATH_MAX + 1 bytes). 0, or 1 after telling
 * the client why it was refused, or a negative code when that send failed.
 */
int srv__check_path(struct srv_session *ss, uint64_t id, const char *op, const char *path,
		    bool has_nul, bool allow_root, char *norm);

/* ---- job.c, concat.c: requests run off the loop ----------------------- */

/* What every job shares: its answer, built on the worker, sent on the loop. */
struct srv_op {
	struct srv_job job;     /* first: the transport's view */
	struct srv_session *ss; /* the loop side only */
	const struct srv *srv;  /* read-only on the worker */
	uint64_t req_id;
	int rc;        /* the first failure, or 0; SD_ECANCELED until the work runs */
	uint64_t size; /* bytes: Ok{size} */
	char msg[SRV_MSG_MAX];
};

/* Worker: records the first failure (message naming the path); returns rc. */
int srv__op_fail(struct srv_op *op, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Loop: counts the job against SRV_JOBS_MAX and hands it to srv_io.run. */
int srv__op_start(struct srv_session *ss, struct srv_op *op, uint64_t req_id,
		  void (*work)(struct srv_job *), void (*done)(struct srv_job *));
/* Loop, from done: Ok{size} or Error{rc, msg}; uncounts the job. */
void srv__op_answer(struct srv_op *op);

/* target_nul / source_nul: the raw target (field 2) / a source (field 3) held a NUL. */
int srv__on_concat(struct srv_session *ss, const Sd__Netfs__ConcatReq *m, bool target_nul,
		   bool source_nul);
int srv__on_truncate(struct srv_session *ss, const Sd__Netfs__TruncateReq *m, bool nul);

/* ---- busy.c ---------------------------------------------------------- */

/*
 * Paths held by running jobs (loop only): a job writing a file holds it
 * exclusively, a concat reading a source shares it. Other writers (append,
 * truncate, concat, delete, commit onto it) are refused with SD_EBUSY while
 * a job holds the path.
 */
/* 0, SD_EBUSY (conflict), SD_ENOMEM. Allocates one entry per new path. */
int srv_busy_acquire(struct srv *s, const char *norm, bool exclusive);
void srv_busy_release(struct srv *s, const char *norm, bool exclusive);
/* Is norm held at all? */
bool srv_busy_held(const struct srv *s, const char *norm);

/* ---- reclaim.c ------------------------------------------------------- */

struct srv_reclaim {
	uint64_t files;   /* temporary files removed */
	uint64_t bytes;   /* their sizes */
	uint64_t kept;    /* temporary files of a live process (another netfsd) */
	uint64_t scanned; /* directory entries looked at */
	bool truncated;   /* SRV_RECLAIM_SCAN_MAX or SRV_RECLAIM_DEPTH_MAX reached */
};

/*
 * Removes SRV_TMP_PREFIX files under the root that no live process owns
 * (their name carries the creating pid), never following a symlink. For
 * start-up, before serving: blocking, O(entries) up to SRV_RECLAIM_SCAN_MAX.
 */
int srv_reclaim_tmp(const struct srv *s, struct srv_reclaim *out);

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
