/*
 * node/plat/metal/selftest_kernel.c — selftest=all: the kernel's own tests
 * (selftest.h). Each compares against an expectation computed here, not by
 * the code under test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "node/plat/metal/clock.h"
#include "node/plat/metal/exit.h"
#include "node/plat/metal/irq.h"
#include "node/plat/metal/libc/heap.h"
#include "node/plat/metal/selftest.h"
#include "node/plat/metal/virtio.h"
#include "node/plat/metal/vm.h"
#include "node/plat/plat.h"

#define KCHECK(cond, what)                                                                  \
	do {                                                                                \
		if (!(cond))                                                                \
			metal_panic("kernel test failed: %s (%s:%d: %s)", (what), __FILE__, \
				    __LINE__, #cond);                                       \
	} while (0)

#define KT_BLOCKS      512
#define KT_CTX_ROUNDS  1000
#define KT_STACK       (16 * 1024)
#define KT_SLEEP_US    20000  /* one timed sleep */
#define KT_RING        8      /* descriptors in the simulated queue */
#define KT_CLOCK_US    100000 /* the sleep measured by both TSC and PIT */
#define KT_CLOCK_PCT   3      /* how far the two may disagree */
#define KT_CLOCK_TRIES 3      /* attempts when the vCPU was away too long to count */

/* Allocator: many sizes across classes and pages, patterns intact, all returned. */
static void kt_allocator(void)
{
	static unsigned char *blocks[KT_BLOCKS];
	static size_t sizes[KT_BLOCKS];
	struct libc_heap_stats before, mid, after;
	uint32_t x = 12345;
	void *run;

	libc_heap_stats(&before);
	for (int i = 0; i < KT_BLOCKS; i++) {
		x = x * 1103515245u + 12345u;
		sizes[i] = (i % 16 == 0) ? 5000 + (x >> 20) % 20000 : 1 + (x >> 16) % 3000;
		blocks[i] = malloc(sizes[i]);
		KCHECK(blocks[i] && ((uintptr_t)blocks[i] & 15) == 0, "malloc alignment");
		KCHECK(libc_heap_usable_size(blocks[i]) >= sizes[i], "usable size");
		memset(blocks[i], i & 0xff, sizes[i]);
	}
	libc_heap_stats(&mid);
	KCHECK(mid.allocs == before.allocs + KT_BLOCKS, "live block count");
	for (int i = 0; i < KT_BLOCKS; i += 2) {
		for (size_t j = 0; j < sizes[i]; j++)
			KCHECK(blocks[i][j] == (i & 0xff), "block contents");
		free(blocks[i]);
	}
	for (int i = 1; i < KT_BLOCKS; i += 2) {
		blocks[i] = realloc(blocks[i], sizes[i] * 2);
		KCHECK(blocks[i] && blocks[i][sizes[i] - 1] == (i & 0xff), "realloc keeps bytes");
		free(blocks[i]);
	}
	libc_heap_stats(&after);
	KCHECK(after.allocs == before.allocs && after.used_bytes == before.used_bytes,
	       "every block returned");
	KCHECK(after.pages_free == before.pages_free, "every page returned");
	/* Out of memory is NULL, promptly: ask for more pages than exist. */
	KCHECK(malloc((after.pages_total + 1) * HEAP_PAGE) == NULL, "oversized malloc fails");
	run = libc_page_alloc(3);
	KCHECK(run && ((uintptr_t)run & (HEAP_PAGE - 1)) == 0, "page run alignment");
	libc_page_free(run);
	/* The accounted layer: limit refused, counters exact. */
	plat_mem_set_limit(1000);
	KCHECK(plat_alloc(2000) == NULL, "plat_alloc over the limit");
	run = plat_alloc(600);
	KCHECK(run && plat_mem_used() == 600 && plat_mem_peak() >= 600, "plat_mem counters");
	KCHECK(plat_realloc(run, 1200) == NULL && plat_mem_used() == 600, "realloc over limit");
	plat_free(run);
	KCHECK(plat_mem_used() == 0, "plat_mem_used back to zero");
	plat_mem_set_limit(0);
}

/* Contexts: ping-pong between the boot stack and a coroutine. */
static struct plat_ctx kt_main, kt_co;
static volatile unsigned kt_counter;

static void kt_coroutine(void *arg)
{
	unsigned *mult = arg;

	for (;;) {
		kt_counter = kt_counter * *mult + 1;
		plat_ctx_switch(&kt_co, &kt_main);
	}
}

static void kt_contexts(void)
{
	void *stack = plat_stack_alloc(KT_STACK);
	unsigned mult = 3, expect = 0;

	KCHECK(stack != NULL, "plat_stack_alloc");
	KCHECK(metal_vm_is_guard((uintptr_t)stack - HEAP_PAGE), "a guard page below the stack");
	plat_ctx_init(&kt_co, stack, KT_STACK, kt_coroutine, &mult);
	kt_counter = 0;
	for (int i = 0; i < KT_CTX_ROUNDS; i++) {
		plat_ctx_switch(&kt_main, &kt_co);
		expect = expect * 3 + 1;
	}
	KCHECK(kt_counter == expect, "coroutine ran once per switch");
	plat_stack_free(stack, KT_STACK);
	KCHECK(!metal_vm_is_guard((uintptr_t)stack - HEAP_PAGE), "the guard is mapped again");
}

/* Timers: a sleep ends after its deadline, through the LAPIC timer interrupt. */
static void kt_timers(void)
{
	uint64_t irqs = metal_irq_count(IRQ_VECTOR_TIMER), t0, t1, t2;

	t0 = metal_clock_now_us();
	metal_clock_sleep_until(t0 + KT_SLEEP_US);
	t1 = metal_clock_now_us();
	KCHECK(t1 >= t0 + KT_SLEEP_US, "slept at least the asked time");
	KCHECK(metal_irq_count(IRQ_VECTOR_TIMER) > irqs, "the timer interrupt woke the sleep");
	t2 = metal_clock_now_us();
	KCHECK(t2 >= t1, "the clock never goes back");
	sd_log_info("selftest", "timers: %d us sleep took %llu us", KT_SLEEP_US,
		    (unsigned long long)(t1 - t0));
}

/* Clock: a 100 ms sleep measured by the calibrated TSC agrees with the PIT's
 * own count of it (an independent clock; calibration used it only briefly). */
static void kt_clock(void)
{
	struct metal_clock_info ci;
	uint64_t tsc_us = 0, pit_us = 0, diff;
	int rc = -1;

	metal_clock_info(&ci);
	KCHECK(ci.tsc_hz >= CLOCK_MIN_HZ && ci.tsc_hz <= CLOCK_MAX_HZ, "TSC rate plausible");
	KCHECK(ci.lapic_hz >= CLOCK_LAPIC_MIN_HZ, "LAPIC timer rate plausible");
	if (ci.windows == 0) { /* no PIT (Firecracker): nothing independent to compare with */
		sd_log_info("selftest", "clock: no PIT; TSC from %s, not checked", ci.source);
		return;
	}
	for (int i = 0; i < KT_CLOCK_TRIES && rc < 0; i++)
		rc = metal_clock_check_pit(KT_CLOCK_US, &tsc_us, &pit_us);
	KCHECK(rc == 0, "PIT counted through a sleep");
	KCHECK(tsc_us >= KT_CLOCK_US, "slept at least the asked time by the TSC");
	diff = tsc_us > pit_us ? tsc_us - pit_us : pit_us - tsc_us;
	sd_log_info("selftest", "clock: %d us sleep: TSC says %llu us, PIT says %llu us (%s)",
		    KT_CLOCK_US, (unsigned long long)tsc_us, (unsigned long long)pit_us, ci.source);
	KCHECK(diff * 100 <= pit_us * KT_CLOCK_PCT, "TSC and PIT agree on a 100 ms sleep");
}

/* Virtqueue rings: a simulated device consumes avail entries and fills used ones. */
static void kt_virtq(void)
{
	static unsigned char bufs[KT_RING + 2][64];
	struct virtq q = {0};
	uint16_t id, avail_seen = 0, used_idx = 0;
	uint32_t len;
	int ids[KT_RING];

	q.size = KT_RING;
	q.free_count = KT_RING;
	q.desc = calloc(KT_RING, sizeof(*q.desc));
	q.avail = calloc(2 + KT_RING, sizeof(uint16_t));
	q.used = calloc(1 + 2 * KT_RING, sizeof(uint32_t));
	KCHECK(q.desc && q.avail && q.used, "ring memory");
	for (uint16_t i = 0; i < KT_RING; i++)
		q.desc[i].next = (uint16_t)(i + 1);
	for (int round = 0; round < 3; round++) { /* indexes wrap past the ring size */
		for (int i = 0; i < KT_RING; i++) {
			ids[i] = virtq_add(&q, bufs[i], (uint32_t)(10 + i), VIRTQ_DESC_F_WRITE);
			KCHECK(ids[i] >= 0, "virtq_add with room");
		}
		KCHECK(virtq_add(&q, bufs[KT_RING], 1, 0) < 0, "virtq_add on a full ring");
		KCHECK(!virtq_used(&q, &id, &len), "nothing used yet");
		/* The device: every published entry, completed in reverse order. */
		KCHECK(q.avail[1] == (uint16_t)(avail_seen + KT_RING), "avail index");
		for (int i = KT_RING - 1; i >= 0; i--) {
			uint16_t d = q.avail[2 + ((avail_seen + i) & (KT_RING - 1))];
			uint16_t slot = used_idx & (KT_RING - 1);

			KCHECK(q.desc[d].len == (uint32_t)(10 + (d == ids[i] ? i : -100)),
			       "descriptor holds the buffer");
			q.used[1 + 2 * slot] = d;
			q.used[2 + 2 * slot] = 100u + d;
			used_idx++;
		}
		avail_seen = (uint16_t)(avail_seen + KT_RING);
		q.used[0] = (uint32_t)used_idx << 16;
		for (int i = KT_RING - 1; i >= 0; i--) {
			KCHECK(virtq_used(&q, &id, &len), "used entry");
			KCHECK(id == ids[i] && len == 100u + id && virtq_buf(&q, id) == bufs[i],
			       "used id, length and buffer");
		}
		KCHECK(!virtq_used(&q, &id, &len) && q.free_count == KT_RING,
		       "all descriptors back");
	}
	free(q.desc);
	free((void *)q.avail);
	free((void *)q.used);
}

void metal_selftest_kernel(void)
{
	kt_allocator();
	kt_contexts();
	kt_timers();
	kt_clock();
	kt_virtq();
	sd_log_info("selftest",
		    "kernel tests passed (allocator, contexts, timers, clock, virtqueues)");
}

/* ---- selftest=costack: a coroutine overflows into its guard page --------- */

static volatile unsigned kt_recursion_limit = UINT32_MAX; /* never reached */

static unsigned kt_recurse(unsigned depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	if (depth == kt_recursion_limit)
		return 0;
	return kt_recurse(depth + 1) + (unsigned)pad[0];
}

static void kt_overflow(void *arg)
{
	(void)arg;
	kt_recurse(0);
	plat_ctx_switch(&kt_co, &kt_main); /* not reached */
}

_Noreturn void metal_selftest_costack(void)
{
	void *stack = plat_stack_alloc(KT_STACK);

	KCHECK(stack != NULL, "plat_stack_alloc");
	sd_log_info("selftest", "selftest=costack: overflowing a coroutine stack");
	plat_ctx_init(&kt_co, stack, KT_STACK, kt_overflow, NULL);
	plat_ctx_switch(&kt_main, &kt_co);
	metal_panic("the coroutine came back from overflowing its stack");
}
