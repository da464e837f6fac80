/*
 * coordinator/checkpoint_priv.h — the checkpoint coordinator's state, shared
 * by checkpoint.c (the protocol on the loop) and checkpoint_io.c (metadata,
 * publishing and Deploy fields). Not for other files: they use coord_priv.h.
 */
#ifndef SD_COORD_CHECKPOINT_PRIV_H
#define SD_COORD_CHECKPOINT_PRIV_H

#include "coordinator/coord_priv.h"

#define CHK_FORMAT 1 /* metadata "format" */

/* One task's part of a checkpoint. */
struct chk_task {
	bool acked;
	bool finished; /* FINISHED before it took part: restarts fresh */
	uint64_t state_bytes;
	char *snapshot;    /* owned: its snapshot file; NULL = none (restarts fresh) */
	char *staged_path; /* owned; NULL = staged nothing */
	uint64_t staged_bytes, staged_xxh3;
	uint64_t before; /* its visible part's size before this checkpoint publishes */
};

struct chk_hist {
	uint64_t id;
	bool savepoint, completed;
	uint64_t trigger_us, ack_us, size, alignment_us;
	char path[COORD_PATH_MAX];
};

struct coord_chk {
	uint64_t next_id;
	uint64_t last_trigger_us;
	/* in progress */
	uint64_t pending_id;
	bool pending_savepoint;
	uint64_t pending_trigger_us, pending_last_ack_us, pending_align_us;
	struct chk_task *pending; /* n_tasks */
	bool completing;          /* the COMPLETE file service call runs */
	bool meta_written;        /* its metadata is on netfs: N is complete */
	bool cleaned;             /* ended: the staged files were removed */
	/* latest completed */
	uint64_t latest_id;
	uint32_t latest_attempt;
	struct chk_task *latest;             /* n_tasks */
	uint64_t *published;                 /* per task: its visible part's size after latest */
	uint64_t kept[COORD_SAVEPOINTS_MAX]; /* savepoints: never deleted */
	size_t n_kept;
	/* history and counts */
	struct chk_hist hist[COORD_CHECKPOINT_HISTORY];
	size_t n_hist;
	uint64_t completed, failed, restored;
	uint64_t last_duration_us, last_size;
};

void coord__chk_tasks_free(struct chk_task *v, size_t n);
/* The job's bookkeeping, made on first use (next id 1); NULL on ENOMEM. */
struct coord_chk *coord__chk_of(struct coord_job *job);
/* Whether checkpoint id is a savepoint (kept until deleted by hand). */
bool coord__chk_kept(const struct coord_chk *c, uint64_t id);
/* Metadata JSON of checkpoint id with tasks v (returns owned text, NULL on ENOMEM). */
char *coord__chk_to_json(const struct coord_job *job, uint64_t id, const struct chk_task *v,
			 bool savepoint);
/* Parses metadata and checks it fits job's graph; *out owned (n_tasks entries).
 * SD_EPROTO, SD_EVERSION, SD_ESTATE (another graph) with err. */
int coord__chk_from_json(const struct coord_job *job, const char *text, size_t len, uint64_t *id,
			 struct chk_task **out, char *err, size_t cap);

#endif /* SD_COORD_CHECKPOINT_PRIV_H */
