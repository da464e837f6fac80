/*
 * dataflow/df_wiring.c — the one owner of how a job graph is wired: which
 * producer partitions a channel connects to which consumer partitions for
 * each channel kind, each end's operator port, the exchange key of a channel
 * in one attempt of one job, and the name a sink partition writes.
 *
 * The coordinator (Deploy messages), the node (routing and watermark
 * merging), stardust-local and the tests all ask here, so barriers, restarts
 * and rewiring are written once.
 *
 *   n = df_task_wiring(job, task, true, NULL, 0);        how many input ends
 *   df_task_wiring(job, task, true, ends, n);            fill them
 *   key = df_channel_key(job_id, attempt, e.df_channel, e.producer_partition,
 *                        e.consumer_partition);
 *
 * Pure functions over the compiled job; nothing allocates.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base/err.h"
#include "dataflow/dataflow.h"

bool df_chan_connects(enum df_chan_kind kind, unsigned producer_partition,
		      unsigned consumer_partition)
{
	switch (kind) {
	case DF_CHAN_FORWARD:
		return producer_partition == consumer_partition;
	case DF_CHAN_GATHER:
		return consumer_partition == 0;
	case DF_CHAN_HASH:
	case DF_CHAN_BROADCAST:
		return true;
	}
	return false;
}

/* The ends of one channel that touch (stage, partition); writes from out[k]. */
static unsigned channel_ends(const struct df_channel_info *ch, const struct df_stage_info *peer,
			     bool inputs, unsigned partition, struct df_chan_end *out, unsigned k,
			     unsigned cap)
{
	unsigned n = 0;

	for (unsigned p = 0; p < peer->parallelism; p++) {
		unsigned from = inputs ? p : partition, to = inputs ? partition : p;

		if (!df_chan_connects(ch->kind, from, to))
			continue;
		if (out && k + n < cap) {
			struct df_chan_end *e = &out[k + n];

			e->df_channel = ch->id;
			e->kind = ch->kind;
			e->port = inputs ? ch->to_input : ch->from_output;
			e->peer_task = peer->first_task + p;
			e->producer_partition = from;
			e->consumer_partition = to;
		}
		n++;
	}
	return n;
}

unsigned df_task_wiring(const struct df_job *job, unsigned task_id, bool inputs,
			struct df_chan_end *out, unsigned cap)
{
	struct df_task_info ti;
	unsigned nst, nch, n = 0;
	const struct df_stage_info *st = df_job_stages(job, &nst);
	const struct df_channel_info *ch = df_job_channels(job, &nch);

	if (df_job_task(job, task_id, &ti))
		return 0;
	for (unsigned i = 0; i < nch; i++) {
		unsigned mine = inputs ? ch[i].to_stage : ch[i].from_stage;
		unsigned peer = inputs ? ch[i].from_stage : ch[i].to_stage;

		if (mine != ti.stage)
			continue;
		assert(peer < nst);
		n += channel_ends(&ch[i], &st[peer], inputs, ti.partition, out, n, cap);
	}
	return n;
}

/* Packed little-endian so every platform hashes the same bytes. */
static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

uint64_t df_channel_key(const char *job_id, uint32_t attempt, unsigned df_channel,
			unsigned producer_partition, unsigned consumer_partition)
{
	uint8_t buf[DF_JOB_ID_KEY_MAX + 16];
	size_t n = job_id ? strnlen(job_id, DF_JOB_ID_KEY_MAX) : 0;
	uint64_t key;

	memcpy(buf, job_id ? job_id : "", n);
	put_u32(buf + n, attempt);
	put_u32(buf + n + 4, df_channel);
	put_u32(buf + n + 8, producer_partition);
	put_u32(buf + n + 12, consumer_partition);
	key = XXH3_64bits(buf, n + 16);
	/* 0 stays free as "no channel" for the exchange's tables. */
	return key ? key : 1;
}

int df_sink_part_name(char *out, size_t cap, const char *output, const char *job_id,
		      uint32_t attempt, unsigned partition)
{
	const char *path = strncmp(output, "netfs://", 8) == 0 ? output + 8 : output;
	/* Attempt 0 keeps the plain name; a restart's parts never collide with
	 * what an earlier attempt left (a paused node may still commit late). */
	int n = attempt ? snprintf(out, cap, "%s.%s.a%u.part-%05u", path, job_id, attempt,
				   partition)
			: snprintf(out, cap, "%s.%s.part-%05u", path, job_id, partition);

	return n > 0 && (size_t)n < cap ? 0 : SD_ETOOBIG;
}
