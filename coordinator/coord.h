/*
 * coordinator/coord.h — the coordinator daemon's modules, one header.
 *
 * The daemon (stardust-coordinator) is one libuv loop. Everything that can be
 * decided without the loop lives in plain modules that tests drive directly:
 *
 *   coord_registry_*   node registry: join-token and version check,
 *                      heartbeats, RTT, liveness (registry.c)
 *   coord_jobs_*       job lifecycle: states with timestamps, tasks, stage
 *                      counters, exceptions, cancel (jobs.c)
 *   coord_api_*        HTTP routing and JSON rendering: request in,
 *                      response out, no I/O (api.c, api_render.c)
 *   coord_metrics_*    Prometheus text exposition (metrics.c)
 *   coord_http_conn_*  one HTTP/1.1 connection's bytes -> requests ->
 *                      response bytes, with every limit enforced (http.c)
 *   coord_server_*     the libuv glue: listeners, timers, control
 *                      connections (server.c, control.c)
 *
 * Call sequence (main.c): coord_registry_init, coord_jobs_init,
 * coord_server_start (binds both listeners), uv_run, coord_server_stop.
 *
 * Clocks: every function that needs "now" takes it as an argument
 * (microseconds, monotonic), so tests decide time.
 *
 * Ownership: the registry owns its nodes, the job table owns its jobs.
 * Pointers to nodes and jobs stay valid until the owning table is finalised
 * (nodes are marked LOST or GONE, never freed while the daemon runs).
 */
#ifndef SD_COORD_COORD_H
#define SD_COORD_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"

/* ---- limits ------------------------------------------------------------ */

#define COORD_NODES_MAX             4096u      /* nodes a registry holds (live + lost) */
#define COORD_NAME_MAX              128u       /* bytes: node name, region, zone, label key */
#define COORD_LABEL_VALUE_MAX       256u       /* bytes: one label value */
#define COORD_LABELS_MAX            32u        /* free-form labels per node */
#define COORD_REASON_MAX            256u       /* bytes: refusal reason, with the NUL */
#define COORD_JOBS_MAX              1024u      /* jobs kept (oldest finished ones evicted) */
#define COORD_JOB_TEXT_MAX          (1u << 20) /* bytes: one job's source text */
#define COORD_EXCEPTIONS_MAX        64u        /* exceptions kept per job */
#define COORD_HTTP_BODY_MAX         (1u << 20) /* bytes: one request body */
#define COORD_HTTP_URL_MAX          2048u      /* bytes: request target */
#define COORD_HTTP_HEADERS_MAX      64u        /* header lines per request */
#define COORD_HTTP_HEADER_BYTES_MAX 16384u     /* bytes: all header lines together */
#define COORD_HTTP_PIPELINE_MAX     64u        /* responses queued per connection read */

/*
 * Connection limits: what a client that connects and then dawdles, trickles
 * or floods can hold. A cap that is reached makes room by closing the oldest
 * connection it covers, so a flood cannot lock real clients or nodes out.
 * The deadlines are defaults that coord_config may override.
 */
#define COORD_HTTP_CONNS_MAX        1024u       /* HTTP connections open at once */
#define COORD_HTTP_CONNS_PER_IP_MAX 64u         /* HTTP connections open from one IPv4 address */
#define COORD_HTTP_IDLE_US          60000000u   /* us: no request under way this long: closed */
#define COORD_HTTP_HEAD_US          10000000u   /* us: a request's first byte to its head's end */
#define COORD_HTTP_BODY_US          60000000u   /* us: a request head's end to its body's end */
#define COORD_HTTP_IDLE_CHECK_US    1000000u    /* us: how often HTTP deadlines are checked */
#define COORD_CONTROL_PENDING_MAX   64u         /* control connections not yet registered */
#define COORD_PENDING_FRAME_MAX     (64u << 10) /* bytes: a frame before Register */
#define COORD_CONTROL_REGISTER_US   5000000u    /* us: accept to a successful Register */
#define COORD_CONTROL_CONNS_MAX     (COORD_NODES_MAX + COORD_CONTROL_PENDING_MAX)

#define COORD_LIVE_JOBS_MAX         256u        /* (job, attempt) pairs one RegisterAck lists */
#define COORD_CONTROL_KEEPALIVE_S   30u         /* s of silence before TCP keepalive probes start */
#define COORD_HEARTBEAT_INTERVAL_MS 1000u       /* what RegisterAck tells nodes */
#define COORD_ID_LEN                32u         /* hex characters of a job id */
#define COORD_PATH_MAX              1100u       /* bytes: a netfs path with the part suffix */
#define COORD_RESULTS_DIR           ".stardust" /* collect()/print() outputs, under the export */
#define COORD_COMMIT_WAIT_US        30000000u   /* for nodes to commit their sink parts */
#define COORD_COMMIT_GRACE_US       500000u     /* when no task reported sink_bytes */
#define COORD_TICK_US               50000u      /* job tick period (commit polling) */
#define COORD_RENDER_CACHE_US       100000u /* a job document is reused this long if unchanged */

/* ---- node registry ----------------------------------------------------- */

enum coord_node_state {
	COORD_NODE_READY = 0, /* registered, heartbeating */
	COORD_NODE_LOST = 1,  /* missed heartbeats past the timeout */
	COORD_NODE_GONE = 2,  /* said goodbye or its connection closed */
};

struct coord_label {
	char *key;   /* owned */
	char *value; /* owned */
};

struct coord_node_metrics {
	uint64_t mem_used_bytes;
	uint64_t mem_limit_bytes;
	uint32_t tasks_running;
	uint64_t cpu_busy_us;
	uint64_t uptime_us;
	uint64_t net_bytes_in;
	uint64_t net_bytes_out;
};

struct coord_node {
	uint64_t id;
	char *name; /* owned; unique among the registry's nodes */
	char *region;
	char *zone;
	char *platform;
	char *version;
	char *data_host;
	uint32_t data_port;
	uint32_t slots;
	uint64_t memory_bytes;
	struct coord_label *labels; /* owned array of n_labels */
	size_t n_labels;
	enum coord_node_state state;
	uint64_t registered_at_us;
	uint64_t last_heartbeat_us;
	uint64_t state_at_us; /* when state was entered */
	uint64_t heartbeats;  /* received */
	uint64_t last_seq;
	int64_t rtt_us; /* last round trip the node measured; -1 unknown */
	struct coord_node_metrics metrics;
	void *conn; /* borrowed: the control connection; NULL unless READY */
};

struct coord_registry {
	struct coord_node **nodes; /* owned, in registration order */
	size_t n_nodes;
	size_t cap_nodes;
	uint64_t next_id;
	char *join_token; /* owned; NULL = no token required */
	uint64_t heartbeat_timeout_us;
	uint32_t heartbeat_interval_ms;
	/* counters for /metrics (monotonic) */
	uint64_t registrations_total;
	uint64_t refusals_total;
	uint64_t heartbeats_total;
	uint64_t lost_total;
};

/* join_token may be NULL or "" (none). Returns 0 or SD_ENOMEM. */
int coord_registry_init(struct coord_registry *r, const char *join_token,
			uint64_t heartbeat_timeout_us);
void coord_registry_fini(struct coord_registry *r);

/*
 * Checks and records a registration. Borrows msg and conn. On refusal returns
 * SD_EAUTH (token), SD_EVERSION (protocol), SD_EINVAL (missing or oversized
 * fields), SD_EEXIST (a READY node already has that name) or SD_ELIMIT, and
 * writes a reason for people into reason. A LOST or GONE node that registers
 * again under its name gets its record (and id) back, refreshed.
 */
int coord_registry_register(struct coord_registry *r, const Sd__Control__Register *msg,
			    uint64_t now_us, void *conn, struct coord_node **out, char *reason,
			    size_t reason_cap);

/* Records a heartbeat (metrics, RTT). A LOST node comes back READY. */
void coord_registry_heartbeat(struct coord_registry *r, struct coord_node *n,
			      const Sd__Control__Heartbeat *hb, uint64_t now_us);

/* The connection closed: READY -> GONE, conn cleared. */
void coord_registry_disconnect(struct coord_registry *r, struct coord_node *n, uint64_t now_us);

/*
 * Marks READY nodes whose last heartbeat is older than the timeout LOST.
 * Calls on_lost (may be NULL) for each; returns how many were marked. O(nodes).
 */
size_t coord_registry_sweep(struct coord_registry *r, uint64_t now_us,
			    void (*on_lost)(void *arg, struct coord_node *n), void *arg);

struct coord_node *coord_registry_find_id(const struct coord_registry *r, uint64_t id);
struct coord_node *coord_registry_find_name(const struct coord_registry *r, const char *name);
size_t coord_registry_count(const struct coord_registry *r, enum coord_node_state state);

/* "ready", "lost", "gone" */
const char *coord_node_state_name(enum coord_node_state s);

/* Value of a label (region and zone count as labels too), or NULL. */
const char *coord_node_label(const struct coord_node *n, const char *key);

/* ---- jobs -------------------------------------------------------------- */

enum coord_job_state {
	COORD_JOB_CREATED = 0,
	COORD_JOB_PLACING,
	COORD_JOB_DEPLOYING,
	COORD_JOB_RUNNING,
	COORD_JOB_FINISHED,
	COORD_JOB_FAILED,
	COORD_JOB_CANCELED,
	COORD_JOB_RESTARTING, /* a failure stopped every task; redeploys after the delay */
	COORD_JOB_STATE_COUNT,
};

/* How a job comes back from failures (job block options over the coordinator's
 * defaults; see dataflow.h df_job_options). */
enum coord_restart_kind { COORD_RESTART_NONE = 0, COORD_RESTART_FIXED, COORD_RESTART_BACKOFF };

struct coord_ft {
	uint64_t checkpoint_us; /* 0 = no checkpoints */
	enum coord_restart_kind restart;
	uint32_t restart_attempts;
	uint64_t restart_delay_us;
	uint64_t restart_delay_max_us; /* backoff cap */
};

#define COORD_CHECKPOINT_DEFAULT_US 5000000u  /* unbounded jobs: every 5 s */
#define COORD_RESTART_ATTEMPTS      10u       /* default restarts before a job fails */
#define COORD_RESTART_DELAY_US      500000u   /* default fixed delay, first backoff delay */
#define COORD_RESTART_DELAY_MAX_US  30000000u /* default backoff cap */
#define COORD_DEPLOY_DEADLINE_US    15000000u /* DEPLOYING longer than this is a failure */
#define COORD_DISCARD_DELAY_US      1000000u  /* a failed job's parts go this long after its end */

struct coord_counters {
	uint64_t records_in;
	uint64_t records_out;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t backpressure_us;
	int64_t watermark_us; /* INT64_MIN = none yet */
	uint64_t late_records;
};

struct coord_task {
	uint32_t task_id;
	uint32_t stage_id;
	uint32_t partition;
	uint64_t node_id; /* 0 = not placed */
	int state;        /* Sd__Control__TaskState */
	uint64_t state_at_us;
	struct coord_counters counters;
	int error_code;
	char *error_message; /* owned, NULL unless FAILED */
	uint64_t sink_bytes; /* reported with FINISHED: > 0 = it wrote a part */
};

struct coord_stage {
	uint32_t stage_id;
	char *name; /* owned: the fused chain, for people */
	uint32_t parallelism;
};

struct coord_exception {
	uint64_t at_us;
	int code;        /* SD_E* */
	char *message;   /* owned */
	int64_t task_id; /* -1 when not about one task */
	char *node;      /* owned, may be NULL */
	bool root_cause;
};

struct coord_job {
	char id[COORD_ID_LEN + 1];
	char *name; /* owned */
	char *text; /* owned: the submitted source */
	enum coord_job_state state;
	uint64_t state_at_us[COORD_JOB_STATE_COUNT]; /* 0 = never entered */
	struct coord_stage *stages;                  /* owned */
	size_t n_stages;
	struct coord_task *tasks; /* owned */
	size_t n_tasks;
	struct coord_exception exceptions[COORD_EXCEPTIONS_MAX];
	size_t n_exceptions;
	uint64_t exceptions_dropped;
	int failure_code; /* SD_E* of the root cause when FAILED */
	bool committing;  /* tasks FINISHED, JobDone sent, sinks being assembled */
	bool busy;        /* a file service call for it runs off the loop: keep it */
	uint64_t commit_started_us;
	char *plan_json;    /* owned: the plan as JSON text, NULL until compiled */
	uint64_t version;   /* bumped on every change the job document shows */
	char *render_cache; /* owned: the last GET /v1/jobs/:id body (api_render.c) */
	size_t render_len;
	uint64_t render_version;
	uint64_t render_at_us;
	void *compiled;         /* owned by the compile seam (jobs.c) */
	uint32_t attempt;       /* restarts so far; channel keys and task reports are per attempt */
	struct coord_ft ft;     /* effective fault-tolerance options */
	uint64_t restart_at_us; /* RESTARTING: when to redeploy */
	uint64_t last_restart_us; /* when the latest restart began; 0 = never */
	uint64_t deploy_started_us;
	void *chk;                  /* owned: checkpoint bookkeeping (checkpoint.c), NULL without */
	char *from_savepoint;       /* owned: the savepoint to start from, until deployed */
	bool parts_discarded;       /* failed or canceled: its sink parts were removed */
	bool stop_after_savepoint;  /* POST .../savepoints {"stop": true}: cancel once */
	uint64_t stop_savepoint_id; /* ... this savepoint completes (checkpoint_api.c) */
};

/* Where the job's files live: the netfs server the coordinator lists and commits on. */
struct coord_netfs {
	const char *host; /* borrowed; NULL = no file service configured */
	uint16_t port;
	const char *token; /* borrowed, may be NULL */
	char region[64];   /* the server's region (HelloAck), "" until learned */
};

/* One submission (all borrowed for the call). */
struct coord_submit {
	const char *text;
	size_t text_len;
	const char *name;               /* may be NULL: the job's own or "job" */
	const char *const *constraints; /* --constraint "k=v" */
	size_t n_constraints;
	const char *const *preferences; /* --prefer "k=v:w" */
	size_t n_preferences;
	bool place;                 /* false: compile only (POST /v1/plan) */
	bool deploy;                /* false: stop after placement (POST /v1/plan?placement=1) */
	int64_t checkpoint_us;      /* -1 = job's own; 0 = none (--checkpoint) */
	const char *from_savepoint; /* NULL = none; else a chk-N directory (--from-savepoint) */
};

/*
 * The name a sink task writes its partition to: "<output>.<job_id>.part-<NNNNN>".
 * When every task has FINISHED the coordinator sends JobDone(succeeded), the
 * nodes commit their parts, and the coordinator concatenates the parts in
 * partition order into <output> (one netfs create/commit), deletes them and
 * only then marks the job FINISHED (sinks.c).
 */
int coord_sink_part_name(char *out, size_t cap, const char *output, const char *job_id,
			 uint32_t attempt, uint32_t partition);

/*
 * A sink's final file on the file service: its netfs:// path without the
 * scheme, or for collect()/print() sinks COORD_RESULTS_DIR/<job_id>/sink-<id>
 * (the CLI prints those at the end).
 */
int coord_sink_output(char *out, size_t cap, const struct coord_job *job, unsigned sink_id,
		      const char *path);

/*
 * Runs work(data) off the loop (file service calls block), then after(data)
 * back on the loop. Returns 0, or an error when it cannot (the caller then
 * runs both itself). The daemon implements it with uv_queue_work.
 */
typedef void coord_work_fn(void *data);
typedef int coord_async_fn(void *arg, coord_work_fn *work, coord_work_fn *after, void *data);

/* Sends one control message to a node; how the job table reaches the wire. */
typedef int coord_send_fn(void *arg, struct coord_node *node, uint16_t type,
			  const ProtobufCMessage *msg);

struct coord_jobs {
	struct coord_job **jobs; /* owned, in submission order */
	size_t n_jobs;
	size_t cap_jobs;
	uint64_t seq;
	struct coord_registry *registry; /* borrowed */
	coord_send_fn *send;
	void *send_arg;
	struct coord_netfs netfs; /* set by the daemon; host NULL = none */
	coord_async_fn *async;    /* NULL: file service calls run inline */
	void *async_arg;
	uint64_t (*now_us)(void);    /* for work that ends later; NULL: the caller's time */
	struct coord_ft ft_defaults; /* for jobs whose block says nothing */
	const char *state_dir;       /* borrowed: the job store (store.c); NULL = none */
	uint64_t submitted_total;
	uint64_t restarts_total;
	uint64_t finished_total[COORD_JOB_STATE_COUNT]; /* by terminal state */
	uint64_t task_updates_total;
};

int coord_jobs_init(struct coord_jobs *t, struct coord_registry *registry, coord_send_fn *send,
		    void *send_arg);
void coord_jobs_fini(struct coord_jobs *t);

/* "CREATED" ... "CANCELED" (Flink spells its states in capitals too). */
const char *coord_job_state_name(enum coord_job_state s);
bool coord_job_state_terminal(enum coord_job_state s);
const char *coord_task_state_name(int task_state);

/*
 * Submits a job. On success returns 0 with the job (owned by the table) in
 * *out, DEPLOYING or further. Errors, with a message for people in err
 * (err_cap bytes; the compiler's own text with file:line:col):
 *   SD_ESYNTAX, SD_ETYPE, SD_EPLAN   the job does not compile (no job made)
 *   SD_EINVAL       a bad --constraint/--prefer or empty text (no job made)
 *   SD_EINFEASIBLE  no placement: the job is recorded FAILED, *out set
 *   SD_ENOENT, SD_EUNREACH, ...     inputs could not be listed: FAILED, *out set
 *   SD_ETOOBIG, SD_ELIMIT, SD_ENOMEM
 * With sub->place false the job is compiled and kept CREATED, with
 * sub->deploy false placed and kept PLACING (for /v1/plan: discard it after).
 */
int coord_jobs_submit(struct coord_jobs *t, const struct coord_submit *sub, uint64_t now_us,
		      struct coord_job **out, char *err, size_t err_cap);

/*
 * Learns the file service's region (one connection, off the loop) so that
 * placement counts source reads from it. Call once the loop runs.
 */
void coord_jobs_probe_netfs(struct coord_jobs *t);

/*
 * Loads the job store (store.c): every "<state_dir>/jobs/<id>.json" that
 * coord__store_save wrote, recompiled from its text, under its own id, in
 * submission order. Ended jobs are listed as they ended; the rest come back
 * RESTARTING, so the recovery tick redeploys them (from their latest
 * checkpoint) once nodes register again. Unreadable or malformed records
 * are skipped with a log line naming the file. Call before the loop runs.
 * Returns how many jobs were loaded (0 without a state directory) or
 * SD_E* when the directory cannot be read. O(files).
 */
int coord_jobs_load(struct coord_jobs *t, uint64_t now_us);

/* Removes a job that never ran (a /v1/plan answer). */
void coord_jobs_discard(struct coord_jobs *t, struct coord_job *job);

struct coord_job *coord_jobs_find(const struct coord_jobs *t, const char *id);

/* Cancels a job that has not ended. SD_ESTATE when it has. Sends CTL_CANCEL. */
int coord_jobs_cancel(struct coord_jobs *t, struct coord_job *job, const char *reason,
		      uint64_t now_us);

/* A task's CheckpointAck (checkpoint.c). SD_ESTATE for a late or stale one. */
int coord_jobs_checkpoint_ack(struct coord_jobs *t, struct coord_node *from,
			      const Sd__Control__CheckpointAck *a, uint64_t now_us);
/* Triggers a savepoint (a checkpoint kept until deleted); *id is its number.
 * SD_ESTATE unless every task runs; a checkpoint in flight becomes the
 * savepoint; SD_EBUSY only while one is being completed (try again). */
int coord_jobs_savepoint(struct coord_jobs *t, struct coord_job *job, uint64_t now_us,
			 uint64_t *id);

/* Applies a task status a node reported (from CTL_TASK_STATUS or a heartbeat).
 * SD_ENOENT for an unknown job or task, SD_ESTATE for a task the node should
 * drop (an older attempt's, or its job ended). */
int coord_jobs_task_status(struct coord_jobs *t, struct coord_node *from,
			   const Sd__Control__TaskStatus *st, uint64_t now_us);

/*
 * Periodic work (the daemon calls it every COORD_TICK_US): jobs assembling
 * their sinks finish (or fail) once the nodes' parts are committed.
 */
void coord_jobs_tick(struct coord_jobs *t, uint64_t now_us);

/* A node was lost or left: its jobs restart without it (or fail). */
void coord_jobs_node_lost(struct coord_jobs *t, struct coord_node *n, uint64_t now_us);

/*
 * A task, node or deployment failed while the job ran. Recoverable failures
 * (lost nodes and connections, I/O, timeouts) put the job in RESTARTING if
 * its restart strategy allows another attempt; the rest, and the last
 * allowed attempt, fail it. Either way the failure is recorded as an
 * exception with its root cause and node (recovery.c).
 */
void coord_job_failure(struct coord_jobs *t, struct coord_job *job, int code, const char *message,
		       int64_t task_id, const char *node, uint64_t now_us);
/* Whether a failure with this code may be retried (not a bug in the job). */
bool coord_failure_recoverable(int code);

/*
 * Reconciliation: the (job, attempt) pairs with tasks placed on node that
 * have not ended, for RegisterAck.live_jobs. Writes up to cap, returns the
 * count. Borrowed strings point into the jobs.
 */
size_t coord_jobs_live_on(const struct coord_jobs *t, const struct coord_node *node,
			  Sd__Control__JobRef *refs, size_t cap);

/*
 * Low-level transitions (used by the deploy path and by tests): moves a job to
 * state, stamping the time. Asserts the transition is allowed.
 */
void coord_job_set_state(struct coord_jobs *t, struct coord_job *job, enum coord_job_state state,
			 uint64_t now_us);
/* Records an exception (copied) and, when root_cause, fails the job. */
void coord_job_fail(struct coord_jobs *t, struct coord_job *job, int code, const char *message,
		    int64_t task_id, const char *node, uint64_t now_us);
/* A job's checkpoint figures, for the API and /metrics (checkpoint_api.c). */
struct coord_chk_stats {
	uint64_t completed, failed, restored; /* counts since the coordinator started */
	uint64_t in_progress_id;              /* 0 = none */
	uint64_t latest_id;                   /* the latest completed one, 0 = none */
	uint64_t last_duration_us;            /* of the latest completed one */
	uint64_t last_size;                   /* bytes of state in it */
};
void coord_job_chk_stats(const struct coord_job *job, struct coord_chk_stats *out);
/* Restarts the job has begun: its attempt, plus one while a restart is pending. */
uint32_t coord_job_restarts(const struct coord_job *job);
/* "none", "fixed", "backoff" */
const char *coord_restart_kind_name(enum coord_restart_kind k);

/* Test seam: a job with given stages/tasks, as if compiled and placed. */
int coord_jobs_add_for_test(struct coord_jobs *t, const char *name, size_t n_stages,
			    const uint32_t *parallelism, uint64_t now_us, struct coord_job **out);
/* Test seam: deploys a job from coord_jobs_add_for_test whose tasks name nodes. */
int coord_jobs_deploy_for_test(struct coord_jobs *t, struct coord_job *job, uint64_t now_us);
/* The latest root cause: what ended the job, or restarted it last; NULL when
 * none. Earlier restarts' causes stay in the exception history. */
const struct coord_exception *coord_job_root_exception(const struct coord_job *job);
/* Aggregated counters of one stage across its tasks. */
void coord_job_stage_counters(const struct coord_job *job, uint32_t stage_id,
			      struct coord_counters *out);

/* ---- HTTP API: routing and rendering, no I/O --------------------------- */

struct coord_http_header {
	const char *name;  /* borrowed, NUL-terminated */
	const char *value; /* borrowed */
};

struct coord_http_request {
	int method;        /* enum http_method */
	const char *path;  /* borrowed, without the query */
	const char *query; /* borrowed, NULL when absent */
	const struct coord_http_header *headers;
	size_t n_headers;
	const char *body; /* borrowed, NUL-terminated, body_len bytes */
	size_t body_len;
};

struct coord_http_response {
	int status;
	const char *content_type; /* static string */
	char *body;               /* owned (malloc), may be NULL */
	size_t body_len;
	const char *extra_header; /* static, one "Name: value" line or NULL */
};

struct coord_api_stats {
	uint64_t requests_total;
	uint64_t responses_by_class[6]; /* index = status / 100 */
	uint64_t bad_requests_total;    /* refused before routing: malformed, too big */
	uint64_t connections_total;
	uint64_t connections_refused_total; /* turned away or closed to stay under a cap */
	uint64_t connections_open;
	uint64_t idle_closed_total; /* closed by a deadline: idle, request head or body */
};

struct coord_api {
	struct coord_registry *registry; /* borrowed */
	struct coord_jobs *jobs;         /* borrowed */
	const char *token;               /* borrowed; NULL = no auth */
	uint64_t started_at_us;
	uint64_t (*now_us)(void);
	const char *version;
	struct coord_api_stats stats;
};

/*
 * Routes one request. Fills resp (body owned by the caller: free()). Never
 * fails: errors become 4xx/5xx responses with a JSON body
 * {"error": "...", "code": "SD_E..."}.
 */
void coord_api_handle(struct coord_api *api, const struct coord_http_request *req,
		      struct coord_http_response *resp);

/* An error response with a JSON body; for the connection layer's own 400s. */
void coord_api_error(struct coord_http_response *resp, int status, int code, const char *message);

/* Renderers (return owned, NUL-terminated JSON text; NULL on ENOMEM). */
char *coord_render_overview(const struct coord_api *api, uint64_t now_us);
char *coord_render_nodes(const struct coord_registry *r, uint64_t now_us);
char *coord_render_jobs(const struct coord_jobs *t, uint64_t now_us);
char *coord_render_job(const struct coord_jobs *t, const struct coord_job *job, uint64_t now_us);
/*
 * The job document for GET /v1/jobs/:id, reused while the job is unchanged
 * and younger than COORD_RENDER_CACHE_US (times and rates in it may be that
 * old). Returns owned text (a copy) or NULL. O(document) copy when cached.
 */
char *coord_render_job_cached(const struct coord_jobs *t, struct coord_job *job, uint64_t now_us,
			      size_t *len);
char *coord_render_job_plan(const struct coord_job *job);
char *coord_render_job_exceptions(const struct coord_job *job);
/* GET /v1/jobs/:id/checkpoints (Flink's checkpointing statistics). */
char *coord_render_job_checkpoints(const struct coord_job *job);

/* Prometheus text format, version 0.0.4. Returns owned text or NULL. */
char *coord_metrics_render(const struct coord_api *api, uint64_t now_us);

/* ---- one HTTP connection: bytes in, responses out ----------------------- */

/* Writes response bytes; returns 0 or a negative SD_E* (the connection closes). */
typedef int coord_http_write_fn(void *arg, const char *data, size_t len);

struct coord_http_conn; /* opaque: http.c */

/* Returns owned, or NULL on ENOMEM. Borrows api; write/arg stay borrowed. */
struct coord_http_conn *coord_http_conn_new(struct coord_api *api, coord_http_write_fn *write,
					    void *arg);
void coord_http_conn_free(struct coord_http_conn *c);

/*
 * Feeds received bytes. Complete requests are answered through write, in
 * order. Returns 0 to keep reading, SD_ECLOSED when the connection should
 * close once written (Connection: close, HTTP/1.0, or after an error
 * response), or another SD_E* when writing failed.
 */
int coord_http_conn_feed(struct coord_http_conn *c, const char *data, size_t len);

/* The peer closed its side; a request in progress is dropped. */
void coord_http_conn_eof(struct coord_http_conn *c);

/* Where a connection is in its current request, for the daemon's deadlines. */
enum coord_http_phase {
	COORD_HTTP_WAITING = 0, /* between requests: no byte of the next one yet */
	COORD_HTTP_HEAD,        /* a request's first byte arrived, its head has not ended */
	COORD_HTTP_BODY,        /* its head ended, its body has not */
};

/*
 * The connection's phase, and in *requests how many requests have begun on
 * it, so that the caller (which keeps the clock) can tell a new request
 * from the one it timed before. O(1).
 */
enum coord_http_phase coord_http_conn_phase(const struct coord_http_conn *c, uint64_t *requests);

/* ---- the daemon -------------------------------------------------------- */

/* Fault-tolerance defaults given on the command line (the rest stay built in). */
struct coord_ft_flags {
	bool checkpoint, restart, attempts, delay, delay_max; /* which of ft were given */
	struct coord_ft ft;
};

struct coord_config {
	const char *http_addr;    /* "127.0.0.1:8080"; port 0 = ephemeral */
	const char *control_addr; /* "127.0.0.1:7000" */
	const char *token;        /* API bearer token, NULL = none */
	const char *join_token;   /* node join token, NULL = none */
	uint64_t heartbeat_timeout_us;
	const char *state_dir;    /* endpoints.json and the job store (jobs/); NULL = none */
	const char *netfs_addr;   /* "host:port" of the job file service, NULL = none */
	const char *netfs_token;  /* may be NULL */
	struct coord_ft_flags ft; /* --checkpoint-interval, --restart-*: over the defaults */
	/* Deadlines for clients that hold connections; 0 = the default in brackets. */
	uint64_t register_timeout_us;  /* control: accept to Register [COORD_CONTROL_REGISTER_US] */
	uint64_t http_head_timeout_us; /* HTTP: first byte to head's end [COORD_HTTP_HEAD_US] */
	uint64_t http_idle_us;         /* HTTP: no request under way [COORD_HTTP_IDLE_US] */
};

/* Parses "host:port" (IPv4 dotted, or "localhost"). SD_EINVAL when malformed. */
int coord_parse_hostport(const char *text, char *host, size_t host_cap, int *port);

/* Parses "5s", "500ms", "2m", "1500us" or plain seconds. SD_EINVAL when malformed. */
int coord_parse_duration_us(const char *text, uint64_t *out);

/* Runs the daemon until SIGINT/SIGTERM. Returns 0 or an SD_E* (e.g. SD_EADDRINUSE). */
int coord_server_run(const struct coord_config *cfg);

#endif /* SD_COORD_COORD_H */
