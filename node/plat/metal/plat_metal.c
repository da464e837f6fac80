/*
 * node/plat/metal/plat_metal.c — node/plat/plat.h on the unikernel, all but
 * TCP (plat_tcp_lwip.c).
 *
 * plat_wait: poll virtio-net and lwIP timers, run socket callbacks, and when
 * nothing happened halt (sti; hlt) until an interrupt or the earlier of the
 * caller's deadline and lwIP's next timer. Memory: malloc (libc/heap.h) with
 * a 16-byte size header for the accounting and the limit. Stacks: whole
 * pages from the page allocator with an unmapped guard page below (vm.h), so
 * an overflow faults instead of corrupting the neighbour. Random: RDRAND when CPUID has it, else
 * xorshift64 seeded from the TSC. Exit: isa-debug-exit (exit.h).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "lwip/timeouts.h"
#include "node/plat/metal/clock.h"
#include "node/plat/metal/console.h"
#include "node/plat/metal/exit.h"
#include "node/plat/metal/irq.h"
#include "node/plat/metal/libc/heap.h"
#include "node/plat/metal/net.h"
#include "node/plat/metal/plat_metal.h"
#include "node/plat/metal/vm.h"
#include "node/plat/plat.h"

#define CPUID_RDRAND (1u << 30)

static struct {
	uint64_t rand_state;
	int has_rdrand;
} metal;

int plat_init(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	metal.has_rdrand = (c & CPUID_RDRAND) != 0;
	return 0;
}

uint64_t plat_now_us(void)
{
	return metal_clock_now_us();
}

int plat_wait(uint64_t deadline_us)
{
	for (;;) {
		uint64_t now, wake;
		uint32_t lwip_ms;
		int n;

		metal_net_poll();
		n = metal_tcp_dispatch();
		now = metal_clock_now_us();
		if (n > 0 || deadline_us == 0 || now >= deadline_us)
			return n;
		wake = deadline_us;
		lwip_ms = sys_timeouts_sleeptime();
		if (lwip_ms != SYS_TIMEOUTS_SLEEPTIME_INFINITE && now + lwip_ms * 1000ull < wake)
			wake = now + lwip_ms * 1000ull;
		metal_clock_arm(wake);
		metal_irq_idle(); /* the timer or a device wakes us */
	}
}

/* ---- memory: plat_alloc and friends live in node/plat/plat_mem.c ---- */

void *plat_stack_alloc(size_t size)
{
	unsigned char *run = libc_page_alloc((size + HEAP_PAGE - 1) / HEAP_PAGE + 1);

	if (!run)
		return NULL;
	if (metal_vm_guard((uintptr_t)run, true) < 0) { /* the page below the stack */
		libc_page_free(run);
		return NULL;
	}
	return run + HEAP_PAGE;
}

void plat_stack_free(void *stack, size_t size)
{
	unsigned char *run = (unsigned char *)stack - HEAP_PAGE;

	(void)size;
	if (!stack)
		return;
	metal_vm_guard((uintptr_t)run, false); /* mapped again before the run is reused */
	libc_page_free(run);
}

/* ---- contexts (plat_ctx_switch is node/plat/hosted/ctx_x86_64.S) -------- */

void plat__ctx_trampoline(void);

void plat_ctx_init(struct plat_ctx *ctx, void *stack, size_t stack_size, void (*entry)(void *),
		   void *arg)
{
	uintptr_t top = ((uintptr_t)stack + stack_size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 80); /* the trampoline runs with rsp = top - 16 */

	sp[0] = 0x037F00001F80ull;          /* MXCSR default, x87 control word default */
	sp[1] = 0;                          /* r15 */
	sp[2] = 0;                          /* r14 */
	sp[3] = (uint64_t)(uintptr_t)arg;   /* r13 */
	sp[4] = (uint64_t)(uintptr_t)entry; /* r12 */
	sp[5] = 0;                          /* rbx */
	sp[6] = 0;                          /* rbp: ends backtraces */
	sp[7] = (uint64_t)(uintptr_t)plat__ctx_trampoline;
	ctx->sp = sp;
}

/* ---- the rest ---------------------------------------------------------- */

const char *plat_name(void)
{
	return "metal";
}

void plat_console_write(const char *text, size_t len)
{
	metal_console_write(text, len);
}

static uint64_t metal_random64(void)
{
	uint64_t v;
	unsigned char ok = 0;

	if (metal.has_rdrand) {
		for (int tries = 0; tries < 10 && !ok; tries++)
			__asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
		if (ok)
			return v;
	}
	if (!metal.rand_state) {
		uint32_t lo, hi;

		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		metal.rand_state = ((uint64_t)hi << 32 | lo) | 1;
	}
	metal.rand_state ^= metal.rand_state << 13;
	metal.rand_state ^= metal.rand_state >> 7;
	metal.rand_state ^= metal.rand_state << 17;
	return metal.rand_state;
}

void plat_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		uint64_t v = metal_random64();
		size_t n = len < sizeof(v) ? len : sizeof(v);

		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

_Noreturn void plat_exit(int code)
{
	metal_exit(code == 0 ? METAL_EXIT_SUCCESS : METAL_EXIT_FAILURE);
}
