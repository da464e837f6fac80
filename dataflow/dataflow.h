/*
 * dataflow/dataflow.h — the job language, its compiler and its operators.
 *
 * Portable C11 (no OS calls): the coordinator compiles with it, nodes execute
 * with it, and the hosted tool `stardust-local` does both in one process.
 *
 * Compiling (coordinator, CLI):
 *
 *   struct df_job *job; struct df_diag diag;
 *   rc = df_compile(src, len, "wordcount.sd", NULL, &job, &diag);
 *   if (rc) fputs(diag.text, stderr);       // file:line:col, line, caret
 *   df_plan_explain(job, buf, sizeof buf);   // readable stages and chains
 *   stages = df_job_stages(job, &n);         // placement and deployment data
 *   df_task_plan_encode(job, task_id, &bytes, &len);  // Deploy.plan
 *   df_job_free(job);
 *
 * Executing one task (node runtime):
 *
 *   df_task_open(plan, len, &io, budget, &t);
 *   source tasks: df_task_push_lines(t, text, len) ... df_task_end_input(t, 0)
 *   other tasks:  df_task_push(t, in, batch, len) / df_task_watermark(t, in, ts)
 *                 ... df_task_end_input(t, in) for every input
 *   df_task_close(t);
 *   checkpoints, between input calls: df_task_snapshot(t, &state, &len), and
 *   into a fresh task of the same plan: df_task_restore(t2, state, len)
 *
 * Output leaves through the io callbacks: batches per output channel and
 * consumer partition, watermarks per output channel, and formatted sink text.
 * The callback rule: if a df_task_* call returns an error, the task is failed
 * and every later call returns the same error; df_task_error() says why.
 *
 * Ownership: df_compile returns an owned job (df_job_free). Every pointer an
 * accessor returns is borrowed from the job and lives until df_job_free.
 * df_task_open copies the plan; batches and lines passed in are borrowed for
 * the duration of the call; batches passed to emit are borrowed by the callee
 * for the duration of the callback (copy to keep).
 *
 * Record batch format (one encoding in memory and on the wire, little endian):
 *   header 16 bytes: 'S' 'D' 'B' version(1) | u32 rows | u16 fields |
 *                    u8 flags (bit0: rows carry an event time) | u8 0 |
 *                    u32 body bytes
 *   body: rows back to back; a row is [i64 event time µs if flag] then its
 *   fields in schema order: int/float/time/duration 8 bytes, bool 1 byte,
 *   str u32 length + bytes. The schema (field kinds) is part of the plan, not
 *   the batch; decoders check every length against the buffer.
 */
#ifndef SD_DATAFLOW_H
#define SD_DATAFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DF_SOURCE_MAX           (1u << 20)  /* bytes of job text accepted by df_compile */
#define DF_NEST_MAX             64          /* expression nesting depth */
#define DF_DIAG_TEXT_MAX        1024        /* bytes of a formatted diagnostic */
#define DF_PARALLELISM_MAX      1024        /* partitions per stage */
#define DF_DEFAULT_PARALLELISM  2           /* when neither job nor stage says */
#define DF_BATCH_ROWS_MAX       1024        /* rows per emitted batch */
#define DF_BATCH_BYTES_MAX      (64u << 10) /* body bytes per emitted batch (soft) */
#define DF_BATCH_HEADER         16          /* bytes */
#define DF_RESTART_ATTEMPTS_MAX 1000000     /* restart_attempts in a job block */

/* ---- compile ---------------------------------------------------------- */

struct df_diag {
	unsigned line, col;          /* 1-based; 0 when not about a position */
	int code;                    /* SD_ESYNTAX, SD_ETYPE, SD_EPLAN, ... */
	char text[DF_DIAG_TEXT_MAX]; /* "file:line:col: error: ...\n<line>\n   ^\n" */
};

struct df_compile_opts {
	unsigned default_parallelism; /* 0: job block or DF_DEFAULT_PARALLELISM */
	/* Job-level placement added by the CLI (--constraint region=X, --prefer zone=a):
	 * "key=value" strings; borrowed during df_compile. */
	const char *const *constraints;
	unsigned n_constraints;
	const char *const *preferences;
	unsigned n_preferences;
};

struct df_job;

/* Compiles job text. Returns 0 and an owned *out, or a negative SD_E* code with
 * diag filled (diag may be NULL). Never reads past len; src need not be NUL
 * terminated. Cost: linear in the text, bounded memory. */
int df_compile(const char *src, size_t len, const char *filename,
	       const struct df_compile_opts *opts, struct df_job **out, struct df_diag *diag);
void df_job_free(struct df_job *job);
const char *df_job_name(const struct df_job *job);
bool df_job_bounded(const struct df_job *job); /* every source is bounded */

/* Fault-tolerance options of the job block; -1 (or DF_RESTART_UNSET) where
 * the job says nothing, so the coordinator's defaults apply:
 *   checkpoint = 5s            checkpoint interval (0s: none)
 *   restart = "fixed"          or "backoff" or "none"
 *   restart_attempts = 3       restarts before the job fails
 *   restart_delay = 1s         fixed delay; first delay of a backoff
 *   restart_delay_max = 30s    the backoff's cap */
enum df_restart_kind {
	DF_RESTART_UNSET = -1,
	DF_RESTART_NONE,
	DF_RESTART_FIXED,
	DF_RESTART_BACKOFF
};
struct df_job_options {
	int64_t checkpoint_us;
	enum df_restart_kind restart;
	int64_t restart_attempts;
	int64_t restart_delay_us;
	int64_t restart_delay_max_us;
};
void df_job_get_options(const struct df_job *job, struct df_job_options *out);

/* ---- placement annotations (plain data for placement/) ---------------- */

enum df_ann_kind {
	DF_ANN_REGION,     /* values: allowed regions (hard) */
	DF_ANN_NOT_REGION, /* values: forbidden regions (hard) */
	DF_ANN_ZONE,       /* values: allowed zones (hard) */
	DF_ANN_LABEL,      /* key = values[0] (hard) */
	DF_ANN_NEAR,       /* near_stage within max_latency_us (hard; 0 = closest) */
	DF_ANN_SPREAD,     /* key: "zone" or "region": partitions apart (hard where possible) */
	DF_ANN_PREFER,     /* key = values[0] with weight (soft) */
};

struct df_annotation {
	enum df_ann_kind kind;
	const char *key;           /* LABEL, SPREAD, PREFER ("region", "zone", label key) */
	const char *const *values; /* REGION, NOT_REGION, ZONE: 1..n; LABEL, PREFER: 1 */
	unsigned n_values;
	unsigned near_stage;    /* NEAR: the stage that made the named stream */
	int64_t max_latency_us; /* NEAR */
	int weight;             /* PREFER, default 10 */
	bool job_default;       /* came from the job block or compile options */
};

/* ---- the physical plan ----------------------------------------------- */

enum df_chan_kind {
	DF_CHAN_FORWARD,   /* producer partition i -> consumer partition i */
	DF_CHAN_HASH,      /* by key hash: consumer = hash % consumer parallelism */
	DF_CHAN_BROADCAST, /* every batch to every consumer partition */
	DF_CHAN_GATHER,    /* everything to consumer partition 0 */
};

enum df_source_kind { DF_SRC_TEXT, DF_SRC_CSV, DF_SRC_GENERATE };
enum df_sink_kind { DF_SINK_TEXT, DF_SINK_CSV, DF_SINK_COLLECT, DF_SINK_PRINT };

struct df_source_info {
	unsigned id, stage;
	enum df_source_kind kind;
	const char *path;    /* "netfs://corpus/ *.txt" style glob; NULL for generate */
	bool follow;         /* tail_*: unbounded, follow appends */
	uint64_t generate_n; /* generate: records in total (split over partitions) */
};

struct df_sink_info {
	unsigned id, stage;
	enum df_sink_kind kind;
	const char *path; /* write_*: final name; NULL for collect/print */
};

struct df_channel_info {
	unsigned id;
	unsigned from_stage;
	unsigned from_output;        /* the `out` the producer's tasks pass to emit */
	unsigned to_stage, to_input; /* input index within the consumer stage */
	enum df_chan_kind kind;
};

struct df_stage_info {
	unsigned id;
	const char *name; /* "s1:map+filter" style, for people */
	unsigned parallelism;
	unsigned first_task; /* tasks first_task .. first_task+parallelism-1 */
	unsigned n_inputs;   /* channels in (0 for a source stage) */
	unsigned n_outputs;  /* channels out */
	int source;          /* source id or -1 */
	int sinks[4];        /* sink ids, -1 terminated when fewer */
	bool bounded;
	const struct df_annotation *anns;
	unsigned n_anns; /* includes job-level defaults (job_default=true) */
};

struct df_task_info {
	unsigned task_id, stage, partition;
};

const struct df_stage_info *df_job_stages(const struct df_job *job, unsigned *n);
const struct df_channel_info *df_job_channels(const struct df_job *job, unsigned *n);
const struct df_source_info *df_job_sources(const struct df_job *job, unsigned *n);
const struct df_sink_info *df_job_sinks(const struct df_job *job, unsigned *n);
unsigned df_job_task_count(const struct df_job *job);
/* Returns 0 or SD_EINVAL for an unknown task id. */
int df_job_task(const struct df_job *job, unsigned task_id, struct df_task_info *out);

/* ---- wiring: the one owner of how tasks connect (df_wiring.c) ---------- */

#define DF_JOB_ID_KEY_MAX 64 /* bytes of a job id that df_channel_key reads */

/* One end of a channel, seen from the task that owns it. */
struct df_chan_end {
	unsigned df_channel; /* df_channel_info.id */
	enum df_chan_kind kind;
	unsigned port;      /* producer: the `out` it emits on; consumer: its input index */
	unsigned peer_task; /* the task at the other end */
	unsigned producer_partition, consumer_partition;
};

/* Does producer partition p feed consumer partition q over a channel of kind k? */
bool df_chan_connects(enum df_chan_kind kind, unsigned producer_partition,
		      unsigned consumer_partition);
/*
 * The input ends (inputs) or output ends of task_id, in channel order then
 * peer partition order. Writes min(count, cap) ends to out (may be NULL) and
 * returns the count; 0 for an unknown task. O(channels x parallelism).
 */
unsigned df_task_wiring(const struct df_job *job, unsigned task_id, bool inputs,
			struct df_chan_end *out, unsigned cap);
/*
 * The exchange key of one channel in one attempt of one job (XXH3-64 of all
 * five), so that channels of different jobs or attempts never share an id,
 * whatever a node still holds. Never 0.
 */
uint64_t df_channel_key(const char *job_id, uint32_t attempt, unsigned df_channel,
			unsigned producer_partition, unsigned consumer_partition);
/* "<output without netfs://>.<job_id>.part-<NNNNN>": a sink partition's
 * part; ".<job_id>.a<attempt>.part-<NNNNN>" for attempts after the first.
 * SD_ETOOBIG when it does not fit cap. */
int df_sink_part_name(char *out, size_t cap, const char *output, const char *job_id,
		      uint32_t attempt, unsigned partition);

/* Renders stages, operator chains, channels and annotations as text into buf
 * (always NUL terminated). Returns the length the full text needs. */
size_t df_plan_explain(const struct df_job *job, char *buf, size_t cap);
/* The same plan as one JSON object (stages with chains, sources, sinks and
 * annotations; channels) for `-o json`, and as Graphviz for `--dot`. Same
 * buffer rules as df_plan_explain. */
size_t df_plan_json(const struct df_job *job, char *buf, size_t cap);
size_t df_plan_dot(const struct df_job *job, char *buf, size_t cap);

/* ---- tasks (nodes) ---------------------------------------------------- */

/* Encodes one task's operator chain for Deploy.plan. Returns 0 and owned *out
 * (free()), or SD_EINVAL / SD_ENOMEM. */
int df_task_plan_encode(const struct df_job *job, uint32_t task_id, uint8_t **out, size_t *len);

struct df_task_io { /* callbacks the node provides; all borrowed */
	void *arg;
	/* a finished output batch for output channel `out` (consumer partition
	 * `part` for hash channels; for forward the producer's own partition,
	 * for gather 0, for broadcast the node fans out: part is 0) */
	int (*emit)(void *arg, unsigned out, unsigned part, const uint8_t *batch, size_t len);
	int (*emit_watermark)(void *arg, unsigned out, int64_t event_time_us);
	/* formatted sink output: whole lines (csv or text) for the job's sink
	 * `sink` (df_sink_info.id). May be NULL when the task has no sink. */
	int (*sink)(void *arg, unsigned sink, const char *text, size_t len);
};

struct df_task;

/* Decodes a plan (copied) and makes a task. Returns 0 and owned *out, or
 * SD_EPROTO for a malformed plan, SD_ENOMEM. memory_budget: bytes of operator
 * state (hash tables, windows, join buffers); 0 = unlimited. */
int df_task_open(const uint8_t *plan, size_t len, const struct df_task_io *io,
		 uint64_t memory_budget, struct df_task **out);
int df_task_push(struct df_task *t, unsigned in, const uint8_t *batch, size_t len);
/* Source tasks: whole lines of text/csv input (a trailing partial line is an
 * error for bounded inputs: the caller cuts at newlines). Borrows text. */
int df_task_push_lines(struct df_task *t, const char *text, size_t len);
/* Generate sources: produces up to max records of this partition's share;
 * *done is set when the share is exhausted (then call df_task_end_input). */
int df_task_generate(struct df_task *t, uint64_t max, bool *done);
/* The watermark of input `in`: the node passes the minimum over that
 * channel's producers. */
int df_task_watermark(struct df_task *t, unsigned in, int64_t event_time_us);
/* End of stream on an input (after every producer of it ended); when all
 * inputs ended the task flushes state and emits its final watermark. */
int df_task_end_input(struct df_task *t, unsigned in);
void df_task_close(struct df_task *t);

struct df_task_stats {
	uint64_t records_in, records_out;
	uint64_t late_records; /* dropped by windows as later than the watermark */
	uint64_t bad_records;  /* csv lines that did not match the schema (skipped) */
	uint64_t state_bytes;  /* operator state now */
	int64_t watermark_us;
};
void df_task_get_stats(const struct df_task *t, struct df_task_stats *out);
/* The failure message after an error ("" when none). Borrowed. */
const char *df_task_error(const struct df_task *t);
/* Small facts about a task the node needs without the job. */
unsigned df_task_n_inputs(const struct df_task *t);
unsigned df_task_n_outputs(const struct df_task *t);
bool df_task_is_source(const struct df_task *t);
/* Which source the task has: DF_SRC_* or -1 when it reads channels. */
int df_task_source_kind(const struct df_task *t);

/* ---- checkpoints (Flink-style asynchronous barrier snapshots) --------- */

/*
 * Checkpoints. Task context of the caller: may call io->emit / io->sink.
 * df_task_snapshot first drains all queued work (batched vector rows, queued
 * aggregate lookups) and flushes every partly filled output batch and sink
 * buffer through io, so everything derived from input pushed before the call
 * has left the task before the caller sends its barrier. Then it serialises
 * all operator state into an owned buffer (*out, free()): keyed aggregates
 * (both tables), window contents with their bounds (windows fire from
 * watermarks, so the entries are the timers), join buffers of both sides,
 * distinct sets, top rows, the task's watermarks, ended inputs, counters and
 * the generate position. The task goes on unchanged; the caller may write
 * the buffer out while it runs.
 * Cost: O(state) time in two passes (the first sizes the buffer, so it is
 * allocated once, exactly); the buffer is about the size of the state's keys
 * and values, less than the live state (no pointers, hash slots, padding).
 * Returns 0, SD_ENOMEM (the task is not failed: a later snapshot may
 * succeed), or the task's sticky error.
 */
int df_task_snapshot(struct df_task *t, uint8_t **out, size_t *len);
/*
 * Right after df_task_open with the same plan (same stage and partition),
 * before any input: restores what df_task_snapshot wrote; borrows state (every
 * string is copied into the task). Output after a restore is identical to
 * that of the task that made the snapshot had it gone on (one rare exception:
 * dataflow/README.md, Known limits). Cost: O(len); the
 * state takes the memory it took before (state_bytes is recounted and held to
 * the budget: SD_ELIMIT when it does not fit).
 * Returns SD_EINVAL when the task already took input; otherwise the task is
 * failed on error (close it), df_task_error says why: SD_EPROTO for
 * malformed or truncated bytes (never reads out of bounds, never allocates
 * more than the bytes justify), SD_EVERSION for an unknown format version,
 * SD_ESTATE when the state's shape does not fit this plan (or it is another
 * partition's), SD_ENOMEM, SD_ELIMIT.
 *
 * Format (little endian; the caller adds its own checksum around it):
 *   u32 magic "SDS1" | u32 version (1) | u64 state shape | u32 partition |
 *   u32 parallelism | u32 97, the task section: u8 flags (bit0, bit1: input
 *   0, 1 ended; bit2 finished), i64 input watermarks[2], watermark,
 *   watermark out, max event time, stats watermark, u64 generate next, end,
 *   records in, out, late, bad |
 *   u32 sections | per stateful operator in chain order: u32 operator index,
 *   u32 kind, u64 body bytes, body (df_ops_snap.c: the tables' entries
 *   with keys and rows in the batch field encoding)
 */
int df_task_restore(struct df_task *t, const uint8_t *state, size_t len);
/*
 * A fingerprint of the shapes of the task's state (operator kinds, key and
 * accumulator widths and kinds, window specs, join sides, top n, input
 * schemas): equal for plans whose snapshots are interchangeable; stateless
 * operators count only by kind. Used to refuse a savepoint from an
 * incompatible job. Stable across builds of this format version. O(plan).
 */
uint64_t df_task_state_shape(const struct df_task *t);

#endif /* SD_DATAFLOW_H */
