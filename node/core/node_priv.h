/*
 * node/core/node_priv.h — the node's private structures, shared by node.c
 * (node object, deploy, job lifecycle), task.c (the task coroutine),
 * control.c (the control client) and fs_netfs.c. Not for other modules.
 */
#ifndef SD_NODE_CORE_NODE_PRIV_H
#define SD_NODE_CORE_NODE_PRIV_H

#include "node/core/node.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"
#include "proto/wire.h"

#define NODE_PATH_MAX 1024 /* bytes: netfs paths with the NUL */

struct node_out {
	struct chan_out *ch;
	unsigned port;
	uint32_t consumer_part;
	bool broadcast;
};

struct node_in {
	struct chan_in *ch;
	unsigned port;
	bool ended;
	uint64_t barrier; /* checkpoint whose barrier came here first: held until aligned */
};

struct node_split {
	char server[PLAT_ADDR_MAX];
	char path[NODE_PATH_MAX];
	uint64_t offset, length;
	bool follow;
};

struct node_task {
	struct node *node;
	char job_id[NODE_JOB_ID_MAX];
	uint32_t task_id, stage_id, partition;
	uint32_t attempt; /* Deploy.attempt: the job's restart count */
	Sd__Control__TaskState state;
	int error;
	char reason[NODE_REASON_MAX];
	uint64_t state_at_us;
	uint8_t *plan;
	size_t plan_len;
	uint64_t budget;
	void *body; /* the operator chain (df_task) */
	struct node_out *outs;
	unsigned n_outs;
	struct node_in *ins;
	unsigned n_ins, n_in_ports;
	int64_t *port_wm; /* last watermark passed per input port */
	struct node_split *splits;
	unsigned n_splits;
	char sink_server[PLAT_ADDR_MAX];
	char sink_path[NODE_PATH_MAX];
	char netfs_token[128];
	void *sink_h;     /* open temp file (append: the part file), or NULL */
	bool sink_append; /* streaming: append whole lines as they come */
	char *sink_buf;   /* append: output not yet appended */
	size_t sink_len, sink_cap;
	uint64_t sink_since_us; /* append: when the oldest buffered byte came */
	uint64_t sink_bytes;    /* appended so far */
	/* checkpoints (node_chk.c) */
	char chk_dir[NODE_PATH_MAX];      /* "" = the job takes none */
	char chk_server[PLAT_ADDR_MAX];   /* the netfs server holding chk_dir */
	char restore_path[NODE_PATH_MAX]; /* "" = start fresh */
	uint64_t restore_id;
	uint64_t chk_trigger;          /* sources: the newest checkpoint asked for */
	uint64_t chk_last;             /* the newest checkpoint this task took */
	uint64_t chk_first_barrier_us; /* alignment: when the first barrier came */
	unsigned src_split;            /* sources: the split being read ... */
	uint64_t src_off;              /* ... and the offset of its next record */
	bool src_exact;                /* restored: src_off is a record start, not a split start */
	/* exactly-once sink: output between barriers goes to a staged file */
	bool sink_eo;
	char staged_prefix[NODE_PATH_MAX];
	void *eo_h; /* the open staged file, or NULL */
	char eo_path[NODE_PATH_MAX];
	uint64_t eo_bytes;
	void *eo_hash; /* XXH3 state of the staged bytes (owned) */
	bool cancel;
	bool coroutine_done;
	bool job_over; /* node_job_done came while it ran: it frees itself at its end */
	struct sched_task *co;
	struct sched_waitq notify;
	uint64_t records_in, records_out, bytes_in, bytes_out;
	int64_t watermark_us;
	struct node_task *next;
};

struct node_ctl; /* control.c */

struct node {
	char name[CHAN_NAME_MAX];
	char region[64], zone[64], token[128];
	char advertise_host[PLAT_ADDR_MAX];
	struct node_label labels[NODE_LABELS_MAX];
	char *label_store[NODE_LABELS_MAX * 2];
	unsigned n_labels;
	uint32_t slots;
	uint64_t memory_bytes;
	const struct node_task_ops *ops;
	const struct node_fs_ops *fs;
	struct chan_mux *mux;
	struct node_task *tasks;
	struct node_ctl *ctl;
	bool exit_on_refusal;
	uint64_t started_us;
	unsigned chk_writers; /* snapshots being written (node_chk.c) */
};

/* task.c */
void node__task_main(void *arg);
void node__task_set_state(struct node_task *t, Sd__Control__TaskState s, int err,
			  const char *reason);
void node__task_free(struct node_task *t);
/* Task context, at the coroutine's end: unlinks t from its node and frees it. */
void node__task_release(struct node_task *t);
/* Any context: closes the sink without committing (append: keeps what was appended). */
void node__sink_drop(struct node_task *t);

/* control.c */
int node__ctl_start(struct node *n, const char *host, uint16_t port);
void node__ctl_stop(struct node *n);
void node__ctl_task_changed(struct node *n, struct node_task *t);
void node__task_status_fill(const struct node_task *t, Sd__Control__TaskStatus *st,
			    Sd__Control__TaskCounters *c);

/* node_chk.c */
/* A source task at a record boundary: takes a checkpoint that was asked for. */
int node__chk_source_point(struct node_task *t);
/* A non-source task after draining: takes checkpoint N once every open input
 * delivered barrier N (ended inputs count as aligned). 1 taken, 0, < 0. */
int node__chk_try_align(struct node_task *t);
/* At the task's start: restores Deploy.restore_path. */
int node__chk_restore(struct node_task *t);
/* Exactly-once sink output: into the epoch's staged file. */
int node__sink_eo_write(struct node_task *t, const char *text, size_t len);
/* task.c: writes the buffered exactly-once sink output to the staged file. */
int node__sink_flush_eo(struct node_task *t);
/* Drops the staged file (nothing becomes visible) and the hash state. */
void node__sink_eo_drop(struct node_task *t);
void node__ctl_checkpoint_ack(struct node *n, const Sd__Control__CheckpointAck *a);

/* fs_netfs.c */
extern const struct node_fs_ops node__netfs_fs_ops;

#endif /* SD_NODE_CORE_NODE_PRIV_H */
