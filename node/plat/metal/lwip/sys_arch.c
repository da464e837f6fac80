/*
 * node/plat/metal/lwip/sys_arch.c — what lwIP asks of the platform when
 * NO_SYS=1: sys_now(), plus the diagnostic, assert and random hooks that
 * arch/cc.h names.
 *
 * sys_now() is the calibrated TSC clock in milliseconds (clock.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "lwip/arch.h"
#include "lwip/sys.h"
#include "node/plat/metal/clock.h"
#include "node/plat/metal/console.h"
#include "node/plat/metal/exit.h"

u32_t sys_now(void)
{
	return (u32_t)(metal_clock_now_us() / 1000u); /* wraps after 49 days, as lwIP expects */
}

void lwip_port_diag(const char *fmt, ...)
{
	char line[METAL_CONSOLE_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	metal_console_puts(line);
}

void lwip_port_assert(const char *msg, const char *file, int line)
{
	metal_panic("lwIP assertion \"%s\" failed at %s:%d", msg, file, line);
}

/*
 * xorshift64 seeded from the TSC at first use: lwIP wants unpredictable
 * initial sequence numbers and ports, not cryptographic randomness.
 */
uint32_t lwip_port_rand(void)
{
	static uint64_t state;
	uint32_t lo, hi;

	if (!state) {
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		state = ((uint64_t)hi << 32 | lo) | 1;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (uint32_t)(state >> 16);
}
