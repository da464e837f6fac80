/*
 * node/core/node.h — the worker: tasks deployed by the coordinator, run as
 * coroutines over the exchange, reported back through the control client.
 *
 *   plat_init(); sched_init();
 *   node_open(&cfg, &node);        // data listener; control client connects
 *   sched_run(NULL, NULL);          // the node's loop (node_close from a signal/test)
 *
 * A deployed task (Sd__Control__Deploy) becomes a coroutine that opens its
 * operator chain (node_task_ops: dataflow's df_task_* by default), reads its
 * input splits through the file seam (node_fs_ops: netfs by default) or its
 * input channels, emits to its output channels, and finishes by sending
 * end-of-stream. A task with a sink writes its part "<path>.<job>.part-NNNNN"
 * (partition, 5 digits) through a netfs temporary file that it commits when
 * it finishes; the coordinator assembles the parts into <path> once the job
 * succeeded and deletes them otherwise (coordinator/sinks.c). A failed or
 * canceled task discards its temporary file, so nothing partial appears.
 *
 * Streaming sinks (Deploy.sink.append, set for unbounded jobs) instead
 * append to that part name as they go: output is buffered and appended in
 * whole lines (each append atomic, at most NODE_SINK_APPEND_MAX bytes)
 * whenever the task runs out of input, when the buffer fills, and at the
 * latest NODE_SINK_FLUSH_US after it was produced. What was appended stays
 * whatever ends the task; what was still buffered is lost with a cancel or
 * failure (docs/language.md, Sinks).
 *
 * Routing (emit(out, part, batch)): the task's output channels whose port is
 * `out`; BROADCAST sends to all of them, otherwise the one whose consumer
 * partition is `part` (the only one for FORWARD and GATHER). A channel's
 * port is Channel.port - 1 and its partitions are the Channel's explicit
 * fields, all from dataflow's df_task_wiring (the coordinator copies them).
 *
 * Ownership: node_open copies the config's strings. node_deploy copies what
 * it needs from the message (the caller frees it).
 */
#ifndef SD_NODE_CORE_NODE_H
#define SD_NODE_CORE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/core/chan.h"
#include "proto/control.pb-c.h"

#define NODE_JOB_ID_MAX      64            /* bytes with the NUL */
#define NODE_REASON_MAX      256           /* bytes: task error messages */
#define NODE_LABELS_MAX      16            /* --label pairs */
#define NODE_PORTS_MAX       64            /* operator ports (inputs or outputs) per task */
#define NODE_TAIL_POLL_US    (50u * 1000)  /* us between reads of a followed file at its end */
#define NODE_SPLIT_BUF       (256u << 10)  /* bytes read per source chunk */
#define NODE_LINE_MAX        (4u << 20)    /* bytes: longest record a split may hold */
#define NODE_GENERATE_CHUNK  4096u         /* records per df_task_generate call */
#define NODE_SINK_APPEND_MAX (256u << 10)  /* bytes: streaming sink output per append */
#define NODE_SINK_FLUSH_US   (200u * 1000) /* us output waits while its task stays busy */
#define NODE_SNAPSHOT_MAX    (1ull << 30)  /* bytes: largest snapshot file a task restores */

/* The operator-chain seam; defaults to dataflow's df_task_* (node_df_task_ops). */
struct node_task_io {
	void *arg;
	int (*emit)(void *arg, unsigned out, unsigned part, const uint8_t *batch, size_t len);
	int (*emit_watermark)(void *arg, unsigned out, int64_t event_time_us);
	int (*sink)(void *arg, unsigned sink, const char *text, size_t len);
};

struct node_task_ops {
	int (*open)(const uint8_t *plan, size_t len, const struct node_task_io *io,
		    uint64_t memory_budget, void **out);
	int (*push)(void *t, unsigned in, const uint8_t *batch, size_t len);
	int (*push_lines)(void *t, const char *text, size_t len);
	int (*generate)(void *t, uint64_t max, bool *done); /* may be NULL */
	int (*watermark)(void *t, unsigned in, int64_t event_time_us);
	int (*end_input)(void *t, unsigned in);
	void (*close)(void *t);
	const char *(*error)(void *t);
	uint32_t (*batch_records)(const uint8_t *batch, size_t len);
	bool (*is_source)(void *t);
	/* True when the plan's source generates records (no splits needed); may be NULL. */
	bool (*is_generate)(const uint8_t *plan, size_t len);
	/* Checkpoints (may be NULL: the task then declines them): snapshot flushes
	 * the chain's output and returns owned state (free()); restore, right
	 * after open and before any input, borrows it. */
	int (*snapshot)(void *t, uint8_t **state, size_t *len);
	int (*restore)(void *t, const uint8_t *state, size_t len);
};

/* dataflow's operators behind node_task_ops (node/core/task_df.c). */
extern const struct node_task_ops node_df_task_ops;

/*
 * The file seam for sources and sinks; every call runs in task context and
 * may block the task (not the node). Paths are relative to the server's
 * export; server is "host:port". Return 0 / bytes or an SD_E* code.
 */
struct node_fs_ops {
	void *ctx;
	int (*open_read)(void *ctx, const char *server, const char *token, const char *path,
			 uint64_t offset, bool follow, void **h);
	/* > 0 bytes; 0 at the end (bounded); SD_EAGAIN when following and nothing is new. */
	long (*read)(void *h, uint8_t *buf, size_t cap);
	void (*close_read)(void *h);
	/* A temporary file that becomes path when finished with commit. */
	int (*create)(void *ctx, const char *server, const char *token, const char *path, void **h);
	int (*write)(void *h, const void *data, size_t len);
	/* Task context: flushes and makes the temp file its final path; frees h. */
	int (*commit)(void *h);
	/* Any context: drops the temp file (nothing becomes visible); frees h. */
	void (*discard)(void *h);
	/* Streaming sinks (may be NULL when no job streams): open_append
	 * creates path if missing; each append adds len (<= NODE_SINK_APPEND_MAX)
	 * bytes as one atomic append, visible at once; close_append (any
	 * context) frees h and keeps the file. */
	int (*open_append)(void *ctx, const char *server, const char *token, const char *path,
			   void **h);
	int (*append)(void *h, const void *data, size_t len);
	void (*close_append)(void *h);
};

struct node_label {
	const char *key, *value;
};

struct node_config {
	const char *name, *region, *zone;
	struct node_label labels[NODE_LABELS_MAX];
	unsigned n_labels;
	uint32_t slots;
	uint64_t memory_bytes;
	const char *listen_host; /* data port */
	uint16_t listen_port;
	const char *advertise_host;   /* what peers dial; default listen_host */
	const char *coordinator_host; /* NULL: no control client (tests) */
	uint16_t coordinator_port;
	const char *token;
	const struct node_task_ops *task_ops; /* NULL: node_df_task_ops */
	const struct node_fs_ops *fs_ops;     /* NULL: netfs over plat TCP */
	bool exit_on_refusal;                 /* REGISTER_ACK refused: plat_exit(2) */
};

struct node;

/* Opens the data listener and starts the control client. Returns owned. */
int node_open(const struct node_config *cfg, struct node **out);
/* Cancels every task, closes connections, frees. Loop context. */
void node_close(struct node *n);
uint16_t node_data_port(const struct node *n);
struct chan_mux *node_mux(struct node *n);

/*
 * Deploys one task (loop or task context). 0, SD_EBUSY (no free slot),
 * SD_EEXIST (job/task already here), SD_EINVAL (bad channels); why says more.
 */
int node_deploy(struct node *n, const Sd__Control__Deploy *d, char *why, size_t cap);
/* Cancels every task of job_id (reason goes into their status). */
void node_cancel_job(struct node *n, const char *job_id, const char *reason);
/* The job ended: cancel what still runs, then drop its tasks. */
void node_job_done(struct node *n, const char *job_id, bool succeeded);
/* The same for the tasks of attempts <= max_attempt only (a newer attempt of
 * the job may already run here). */
void node_cancel_attempts(struct node *n, const char *job_id, uint32_t max_attempt,
			  const char *reason);
void node_drop_attempts(struct node *n, const char *job_id, uint32_t max_attempt);
/*
 * Reconciliation with a coordinator that (re)accepted us: every task whose
 * (job, attempt) is not in live is canceled and dropped, so nothing a paused
 * node or a restarted coordinator left behind survives. Borrows live.
 */
void node_reconcile(struct node *n, Sd__Control__JobRef *const *live, size_t n_live);
/* Checkpoint N of (job, attempt): its source tasks here take it at their next
 * record boundary (node_chk.c). */
void node_checkpoint(struct node *n, const char *job_id, uint32_t attempt, uint64_t id);

struct node_task_view {
	Sd__Control__TaskState state;
	int error;
	const char *reason; /* borrowed until the task is dropped */
	uint64_t records_in, records_out, bytes_in, bytes_out, backpressure_us;
	int64_t watermark_us;
};

/* 0 and *out, or SD_ENOENT. */
int node_task_view(struct node *n, const char *job_id, uint32_t task_id,
		   struct node_task_view *out);
/* Tasks not yet finished, failed or canceled. */
unsigned node_tasks_running(const struct node *n);
/* True once REGISTER_ACK was received (accepted); false again after a disconnect. */
bool node_registered(const struct node *n);
/* Non-zero after the coordinator refused us (SD_EAUTH...), with its reason. */
int node_refused(const struct node *n, const char **reason);

#endif /* SD_NODE_CORE_NODE_H */
