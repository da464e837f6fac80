/*
 * deploy/sim/wan_link.c — region links of the WAN switch: the per-pair
 * loss/bandwidth/latency/jitter model, the min-heap of pending frames and the
 * timer that delivers them; also MAC learning and forwarding (see wan.h).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "deploy/sim/wan.h"

uint64_t wan_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast and good enough for loss and jitter draws. */
static uint64_t wan_rand(struct wan *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ull;
}

static double wan_rand_unit(struct wan *w)
{
	return (double)(wan_rand(w) >> 11) / (double)(1ull << 53);
}

int wan_region_find(const struct wan *w, const char *name)
{
	for (int i = 0; i < w->nregions; i++)
		if (strcmp(w->regions[i], name) == 0)
			return i;
	return -1;
}

int wan_region_intern(struct wan *w, const char *name)
{
	int i = wan_region_find(w, name);
	if (i >= 0)
		return i;
	if (w->nregions == WAN_REGIONS_MAX || strlen(name) >= WAN_NAME_MAX)
		return -1;
	strcpy(w->regions[w->nregions], name);
	return w->nregions++;
}

void wan_link_set(struct wan_link *l, const struct topo_link *p)
{
	l->latency_ns = (uint64_t)(p->latency_ms * 1e6);
	l->jitter_ns = (uint64_t)(p->jitter_ms * 1e6);
	l->loss = p->loss;
	l->rate_bps = (uint64_t)(p->bandwidth_mbit * 1e6);
}

void wan_link_apply_topology(struct wan *w, const struct topo *t)
{
	for (int a = 0; a < t->nregions; a++) {
		int wa = wan_region_intern(w, t->regions[a].name);
		for (int b = 0; b < t->nregions; b++) {
			int wb = wan_region_intern(w, t->regions[b].name);
			assert(wa >= 0 && wb >= 0);
			wan_link_set(&w->links[wa][wb], topo_link_get(t, a, b));
		}
	}
}

/* --- the heap of pending frames, ordered by (due, seq) --- */

static bool wan_frame_before(const struct wan_frame *a, const struct wan_frame *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void wan_heap_push(struct wan *w, struct wan_frame *f)
{
	size_t i = w->heap_len++;
	assert(w->heap_len <= WAN_HEAP_FRAMES_MAX);
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!wan_frame_before(f, w->heap[p]))
			break;
		w->heap[i] = w->heap[p];
		i = p;
	}
	w->heap[i] = f;
}

static struct wan_frame *wan_heap_pop(struct wan *w)
{
	assert(w->heap_len > 0);
	struct wan_frame *top = w->heap[0], *last = w->heap[--w->heap_len];
	size_t i = 0, n = w->heap_len;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && wan_frame_before(w->heap[c + 1], w->heap[c]))
			c++;
		if (!wan_frame_before(w->heap[c], last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (n > 0)
		w->heap[i] = last;
	return top;
}

static void wan_timer_arm(struct wan *w)
{
	struct itimerspec its = {0};
	if (w->heap_len > 0) {
		uint64_t due = w->heap[0]->due_ns;
		if (due == 0)
			due = 1; /* 0 would disarm */
		its.it_value.tv_sec = (time_t)(due / 1000000000ull);
		its.it_value.tv_nsec = (long)(due % 1000000000ull);
	}
	timerfd_settime(w->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void wan_deliver(struct wan *w, struct wan_frame *f)
{
	struct wan_link *l = &w->links[f->src_region][f->dst_region];
	assert(l->queued > 0);
	l->queued--;
	l->delivered++;
	wan_port_send(w, f->out_port, f->data, f->len);
}

void wan_link_expire(struct wan *w)
{
	uint64_t now = wan_now_ns();
	while (w->heap_len > 0 && w->heap[0]->due_ns <= now) {
		struct wan_frame *f = wan_heap_pop(w);
		wan_deliver(w, f);
		free(f);
	}
	wan_timer_arm(w);
}

/* Departure time after the bandwidth limit; advances the link's clock. */
static uint64_t wan_link_depart(struct wan_link *l, uint64_t now, size_t len)
{
	if (l->rate_bps == 0)
		return now;
	uint64_t start = l->tx_free_ns > now ? l->tx_free_ns : now;
	l->tx_free_ns = start + (uint64_t)len * 8ull * 1000000000ull / l->rate_bps;
	return l->tx_free_ns;
}

static uint64_t wan_link_delay(struct wan *w, const struct wan_link *l)
{
	uint64_t d = l->latency_ns;
	if (l->jitter_ns > 0) {
		double j = (wan_rand_unit(w) * 2.0 - 1.0) * (double)l->jitter_ns;
		d = (uint64_t)((double)d + j > 0 ? (double)d + j : 0);
	}
	return d;
}

void wan_link_submit(struct wan *w, int in_port, int out_port, const uint8_t *data, size_t len)
{
	int sr = w->ports[in_port].region, dr = w->ports[out_port].region;
	struct wan_link *l = &w->links[sr][dr];
	l->frames++;
	if (l->cut) {
		l->drops_cut++;
		return;
	}
	if (l->loss > 0 && wan_rand_unit(w) < l->loss) {
		l->drops_loss++;
		return;
	}
	if (l->queued >= WAN_LINK_QUEUE_FRAMES) {
		l->drops_queue++;
		return;
	}
	uint64_t now = wan_now_ns();
	uint64_t due = wan_link_depart(l, now, len) + wan_link_delay(w, l);
	if (due < l->last_due_ns)
		due = l->last_due_ns; /* FIFO per link */
	l->last_due_ns = due;
	if (due <= now && l->queued == 0) {
		l->delivered++;
		wan_port_send(w, out_port, data, len);
		return;
	}
	struct wan_frame *f = w->heap_len < WAN_HEAP_FRAMES_MAX ? malloc(sizeof *f + len) : NULL;
	if (!f) {
		w->drops_heap++;
		return;
	}
	f->due_ns = due;
	f->seq = w->seq++;
	f->out_port = (uint16_t)out_port;
	f->src_region = (uint8_t)sr;
	f->dst_region = (uint8_t)dr;
	f->len = (uint32_t)len;
	memcpy(f->data, data, len);
	l->queued++;
	bool earliest = w->heap_len == 0 || wan_frame_before(f, w->heap[0]);
	wan_heap_push(w, f);
	if (earliest)
		wan_timer_arm(w);
}

void wan_link_free_all(struct wan *w)
{
	while (w->heap_len > 0)
		free(wan_heap_pop(w));
}

/* --- MAC learning and forwarding --- */

static int wan_mac_lookup(const struct wan *w, const uint8_t *mac)
{
	for (int i = 0; i < w->nmacs; i++)
		if (memcmp(w->macs[i].mac, mac, 6) == 0)
			return i;
	return -1;
}

static void wan_mac_learn(struct wan *w, const uint8_t *mac, int port)
{
	if (mac[0] & 1)
		return; /* a multicast source is bogus; never learn it */
	int i = wan_mac_lookup(w, mac);
	if (i < 0) {
		if (w->nmacs == WAN_MACS_MAX)
			return; /* table full: such frames are flooded */
		i = w->nmacs++;
		memcpy(w->macs[i].mac, mac, 6);
	}
	w->macs[i].port = (uint16_t)port;
}

void wan_switch_frame(struct wan *w, int in_port, const uint8_t *data, size_t len)
{
	if (len < 14) {
		w->drops_runt++;
		return;
	}
	wan_mac_learn(w, data + 6, in_port);
	int i = (data[0] & 1) ? -1 : wan_mac_lookup(w, data);
	if (i >= 0) {
		int out = w->macs[i].port;
		if (out != in_port && w->ports[out].fd >= 0)
			wan_link_submit(w, in_port, out, data, len);
		return;
	}
	for (int p = 0; p < w->nports; p++)
		if (p != in_port && w->ports[p].fd >= 0)
			wan_link_submit(w, in_port, p, data, len);
}
