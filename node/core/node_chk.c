/*
 * node/core/node_chk.c — a task's side of checkpoints: taking snapshot N
 * (sources when the coordinator asks, other tasks when barrier N came on
 * every input), restoring one at start, and the staged output of
 * exactly-once sinks.
 *
 * Taking checkpoint N, in task context, in this order:
 *   1. the operator chain flushes what it derived so far and serialises its
 *      state (node_task_ops.snapshot);
 *   2. an exactly-once sink commits its staged file (the output that
 *      precedes N; the coordinator publishes it once N is complete);
 *   3. barrier N goes out on every output channel, behind everything sent;
 *   4. the snapshot file "<checkpoint_dir>/chk-N/task-T" is written through
 *      the file seam as a temporary file and committed (atomic);
 *   5. CheckpointAck to the coordinator (with an error when 4 failed).
 * Steps 1-3 failing fail the task (its output may be half gone); step 4
 * failing only declines the checkpoint. Steps 4-5 run in a coroutine of
 * their own (struct chk_write), so the task goes on processing while its
 * snapshot is written: it pauses only for serialising and the barrier.
 *
 * Snapshot file (little endian): u32 magic "SDCK" | u32 version 1 |
 * u64 checkpoint | u32 task | u32 split | u64 offset of the split's next
 * record | u8 flags (bit0: the offset is exact) | u64 state bytes | state
 * (dataflow's) | u64 XXH3-64 of everything before it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base/err.h"
#include "base/log.h"
#include "node/core/node_priv.h"

#define CHK_MAGIC   0x4b434453u /* "SDCK" */
#define CHK_VERSION 1u
#define CHK_HEADER  37u /* bytes before the state */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void node_checkpoint(struct node *n, const char *job_id, uint32_t attempt, uint64_t id)
{
	for (struct node_task *t = n->tasks; t; t = t->next) {
		if (t->coroutine_done || t->cancel || t->n_ins || t->attempt != attempt ||
		    strcmp(t->job_id, job_id) || id <= t->chk_trigger)
			continue;
		t->chk_trigger = id;
		sched_wake_task(t->co);
	}
}

/*
 * One snapshot on its way to the file service: everything it needs is copied
 * out of the task, so the task goes on (and may even end) while its own
 * coroutine writes the file and acks. Memory: the serialised state, held
 * until written.
 */
struct chk_write {
	struct node *node;
	char job_id[NODE_JOB_ID_MAX];
	uint32_t attempt, task_id, split;
	uint64_t id, off, started_us, align_us;
	bool exact;
	char server[PLAT_ADDR_MAX], token[128], dir[NODE_PATH_MAX];
	char staged[NODE_PATH_MAX];
	uint64_t staged_bytes, staged_xxh3;
	uint8_t *state; /* owned (free()): dataflow's serialised state */
	size_t len;
};

static void send_ack(const struct chk_write *w, int err, const char *why, uint64_t state_bytes)
{
	Sd__Control__CheckpointAck a = SD__CONTROL__CHECKPOINT_ACK__INIT;

	a.job_id = (char *)w->job_id;
	a.attempt = w->attempt;
	a.task_id = w->task_id;
	a.checkpoint_id = w->id;
	a.error_code = err;
	a.error_message = (char *)(why ? why : "");
	a.state_bytes = state_bytes;
	a.alignment_us = w->align_us;
	a.duration_us = plat_now_us() - w->started_us;
	a.staged_path = (char *)w->staged;
	a.staged_bytes = w->staged_bytes;
	a.staged_xxh3 = w->staged_xxh3;
	node__ctl_checkpoint_ack(w->node, &a);
}

/* ---- exactly-once sinks ---- */

void node__sink_eo_drop(struct node_task *t)
{
	if (t->eo_h)
		t->node->fs->discard(t->eo_h); /* nothing staged becomes visible */
	t->eo_h = NULL;
	t->eo_bytes = 0;
	if (t->eo_hash)
		XXH3_freeState(t->eo_hash);
	t->eo_hash = NULL;
}

int node__sink_eo_write(struct node_task *t, const char *text, size_t len)
{
	const struct node_fs_ops *fs = t->node->fs;
	int rc;

	if (!t->eo_h) { /* the epoch's first output: its staged file */
		snprintf(t->eo_path, sizeof(t->eo_path), "%.900s.after-%llu", t->staged_prefix,
			 (unsigned long long)t->chk_last);
		rc = fs->create(fs->ctx, t->sink_server, t->netfs_token, t->eo_path, &t->eo_h);
		if (rc < 0)
			return rc;
		t->eo_hash = XXH3_createState();
		if (!t->eo_hash)
			return SD_ENOMEM;
		XXH3_64bits_reset(t->eo_hash);
		t->eo_bytes = 0;
	}
	rc = fs->write(t->eo_h, text, len);
	if (rc < 0)
		return rc;
	XXH3_64bits_update(t->eo_hash, text, len);
	t->eo_bytes += len;
	return 0;
}

/* Commits the epoch's staged file; *path "" when the epoch staged nothing. */
static int eo_commit(struct node_task *t, char *path, size_t cap, uint64_t *bytes, uint64_t *x)
{
	void *h = t->eo_h;
	int rc;

	path[0] = '\0';
	*bytes = *x = 0;
	if (!h)
		return 0;
	t->eo_h = NULL;
	rc = t->node->fs->commit(h);
	if (rc == 0) {
		snprintf(path, cap, "%s", t->eo_path);
		*bytes = t->eo_bytes;
		*x = XXH3_64bits_digest(t->eo_hash);
	}
	XXH3_freeState(t->eo_hash);
	t->eo_hash = NULL;
	t->eo_bytes = 0;
	return rc;
}

/* ---- taking a checkpoint ---- */

static int write_snapshot(const struct chk_write *w, uint64_t *size)
{
	const struct node_fs_ops *fs = w->node->fs;
	char path[NODE_PATH_MAX + 64];
	uint8_t hdr[CHK_HEADER], lenb[8], tail[8];
	XXH3_state_t *xs = XXH3_createState();
	void *h = NULL;
	int rc = xs ? 0 : SD_ENOMEM;

	snprintf(path, sizeof(path), "%s/chk-%llu/task-%u", w->dir, (unsigned long long)w->id,
		 w->task_id);
	put32(hdr, CHK_MAGIC);
	put32(hdr + 4, CHK_VERSION);
	put64(hdr + 8, w->id);
	put32(hdr + 16, w->task_id);
	put32(hdr + 20, w->split);
	put64(hdr + 24, w->off);
	hdr[32] = w->exact ? 1 : 0;
	put32(hdr + 33, 0); /* reserved */
	put64(lenb, w->len);
	if (rc == 0) {
		XXH3_64bits_reset(xs);
		XXH3_64bits_update(xs, hdr, sizeof(hdr));
		XXH3_64bits_update(xs, lenb, 8);
		XXH3_64bits_update(xs, w->state, w->len);
		put64(tail, XXH3_64bits_digest(xs));
		rc = fs->create(fs->ctx, w->server, w->token, path, &h);
	}
	if (rc == 0)
		rc = fs->write(h, hdr, sizeof(hdr));
	if (rc == 0)
		rc = fs->write(h, lenb, 8);
	if (rc == 0 && w->len)
		rc = fs->write(h, w->state, w->len);
	if (rc == 0)
		rc = fs->write(h, tail, 8);
	if (rc == 0) {
		rc = fs->commit(h);
		h = NULL;
	}
	if (h)
		fs->discard(h);
	if (xs)
		XXH3_freeState(xs);
	*size = sizeof(hdr) + 16 + w->len;
	return rc;
}

/* Writes the snapshot, acks, frees w. Task context (its own coroutine). */
static void chk_write_run(void *arg)
{
	struct chk_write *w = arg;
	char why[NODE_REASON_MAX];
	uint64_t size = 0;
	int rc = write_snapshot(w, &size);

	if (rc < 0)
		snprintf(why, sizeof(why), "writing the snapshot of task %u: %s", w->task_id,
			 sd_strerror(rc));
	send_ack(w, rc < 0 ? rc : 0, rc < 0 ? why : NULL, size);
	w->node->chk_writers--;
	free(w->state);
	plat_free(w);
}

static struct chk_write *chk_write_new(struct node_task *t, uint64_t id, uint64_t started_us,
				       uint64_t align_us)
{
	struct chk_write *w = plat_calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->node = t->node;
	snprintf(w->job_id, sizeof(w->job_id), "%s", t->job_id);
	w->attempt = t->attempt;
	w->task_id = t->task_id;
	w->split = t->src_split;
	w->off = t->src_off;
	w->exact = t->src_exact;
	w->id = id;
	w->started_us = started_us;
	w->align_us = align_us;
	snprintf(w->server, sizeof(w->server), "%s", t->chk_server);
	snprintf(w->token, sizeof(w->token), "%s", t->netfs_token);
	snprintf(w->dir, sizeof(w->dir), "%s", t->chk_dir);
	return w;
}

/* Steps 1-5 of the top comment. < 0 fails the task. */
static int take(struct node_task *t, uint64_t id, uint64_t started_us, uint64_t align_us)
{
	const struct node_task_ops *ops = t->node->ops;
	struct chk_write *w = chk_write_new(t, id, started_us, align_us);
	int rc;

	t->chk_last = id;
	if (!w)
		return SD_ENOMEM;
	if (!ops->snapshot || !t->chk_dir[0]) {
		send_ack(w, SD_ENOTSUP, "this task cannot take checkpoints", 0);
		plat_free(w);
		return 0;
	}
	rc = ops->snapshot(t->body, &w->state, &w->len);
	if (rc == 0 && t->sink_eo) {
		rc = node__sink_flush_eo(t);
		if (rc == 0)
			rc = eo_commit(t, w->staged, sizeof(w->staged), &w->staged_bytes,
				       &w->staged_xxh3);
	}
	for (unsigned i = 0; rc == 0 && i < t->n_outs; i++)
		rc = chan_out_barrier(t->outs[i].ch, id);
	if (rc < 0) {
		free(w->state);
		plat_free(w);
		return rc;
	}
	/* The write goes on beside the task: records keep flowing meanwhile. */
	t->node->chk_writers++;
	if (sched_spawn("chk-write", 0, chk_write_run, w, NULL) < 0)
		chk_write_run(w); /* no memory for a coroutine: write in line */
	return 0;
}

int node__chk_source_point(struct node_task *t)
{
	if (t->chk_trigger <= t->chk_last)
		return 0;
	return take(t, t->chk_trigger, plat_now_us(), 0);
}

int node__chk_try_align(struct node_task *t)
{
	uint64_t id = 0;
	int rc;

	for (unsigned i = 0; i < t->n_ins; i++) {
		if (t->ins[i].ended)
			continue;
		if (!t->ins[i].barrier)
			return 0; /* an open input has not delivered it yet */
		if (!id || t->ins[i].barrier < id)
			id = t->ins[i].barrier;
	}
	if (!id)
		return 0;
	uint64_t align = plat_now_us() - t->chk_first_barrier_us;
	rc = take(t, id, t->chk_first_barrier_us, align);
	for (unsigned i = 0; i < t->n_ins; i++)
		if (t->ins[i].barrier == id)
			t->ins[i].barrier = 0;
	return rc < 0 ? rc : 1;
}

/* ---- restoring ---- */

static int read_all(struct node_task *t, uint8_t **out, size_t *len)
{
	const struct node_fs_ops *fs = t->node->fs;
	size_t cap = 1u << 16, n = 0;
	uint8_t *buf = plat_alloc(cap);
	void *h;
	int rc = buf ? fs->open_read(fs->ctx, t->chk_server, t->netfs_token, t->restore_path, 0,
				     false, &h)
		     : SD_ENOMEM;

	if (rc < 0) {
		plat_free(buf);
		return rc;
	}
	for (;;) {
		long k;

		if (n == cap) {
			uint8_t *p = cap >= NODE_SNAPSHOT_MAX ? NULL : plat_realloc(buf, cap * 2);

			if (!p) {
				rc = cap >= NODE_SNAPSHOT_MAX ? SD_ELIMIT : SD_ENOMEM;
				break;
			}
			buf = p;
			cap *= 2;
		}
		k = fs->read(h, buf + n, cap - n);
		if (k <= 0) {
			rc = (int)k;
			break;
		}
		n += (size_t)k;
	}
	fs->close_read(h);
	if (rc < 0) {
		plat_free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int restore_fail(struct node_task *t, int rc, const char *what)
{
	snprintf(t->reason, sizeof(t->reason), "restoring checkpoint %llu from %.120s: %.100s",
		 (unsigned long long)t->restore_id, t->restore_path, what);
	t->error = rc;
	return rc;
}

int node__chk_restore(struct node_task *t)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!t->restore_path[0])
		return 0;
	if (!t->node->ops->restore)
		return restore_fail(t, SD_ENOTSUP, "this task cannot restore state");
	rc = read_all(t, &buf, &len);
	if (rc < 0)
		return restore_fail(t, rc, sd_strerror(rc));
	if (len < CHK_HEADER + 16 || get32(buf) != CHK_MAGIC) {
		plat_free(buf);
		return restore_fail(t, SD_EPROTO, "not a snapshot file, or truncated");
	}
	uint64_t slen = get64(buf + CHK_HEADER);
	if (get32(buf + 4) != CHK_VERSION) {
		plat_free(buf);
		return restore_fail(t, SD_EVERSION, "unknown snapshot version");
	}
	if (slen > len - CHK_HEADER - 16 || CHK_HEADER + 16 + slen != len ||
	    XXH3_64bits(buf, len - 8) != get64(buf + len - 8)) {
		plat_free(buf);
		return restore_fail(t, SD_ECHECKSUM, "the file is truncated or corrupt");
	}
	if (get32(buf + 16) != t->task_id) {
		plat_free(buf);
		return restore_fail(t, SD_ESTATE, "the snapshot belongs to another task");
	}
	t->src_split = get32(buf + 20);
	t->src_off = get64(buf + 24);
	t->src_exact = buf[32] & 1;
	/* A trigger that arrived while the snapshot was read is kept: dropping it
	 * left that checkpoint waiting for this task's ack until its timeout. */
	t->chk_last = get64(buf + 8);
	if (t->chk_trigger < t->chk_last)
		t->chk_trigger = t->chk_last;
	rc = t->node->ops->restore(t->body, buf + CHK_HEADER + 8, (size_t)slen);
	plat_free(buf);
	if (rc < 0) {
		const char *why = t->node->ops->error ? t->node->ops->error(t->body) : "";
		return restore_fail(t, rc, why && *why ? why : sd_strerror(rc));
	}
	return 0;
}
