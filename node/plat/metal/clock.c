/*
 * node/plat/metal/clock.c — TSC clock and LAPIC one-shot timer (clock.h).
 */
#include <stdint.h>

#include "base/log.h"
#include "node/plat/metal/clock.h"
#include "node/plat/metal/io.h"
#include "node/plat/metal/irq.h"

#define PIT_HZ            1193182u
#define PIT_CH0_DATA      0x40
#define PIT_COMMAND       0x43
#define PIT_CH0_MODE0     0x30     /* channel 0, lobyte/hibyte, mode 0, binary */
#define PIT_CH0_LATCH     0x00     /* counter latch command for channel 0 */
#define PIT_SPIN_MAX      1000000u /* unchanged reads before deciding there is no PIT */
#define LAPIC_LVT_TIMER   0x320
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_COUNT 0x390
#define LAPIC_TIMER_DIV   0x3e0
#define LAPIC_DIV_16      0x3
#define LAPIC_LVT_MASKED  (1u << 16)

static struct {
	uint64_t tsc0; /* TSC at calibration: time zero */
	uint64_t tsc_hz;
	uint64_t us_mult;  /* microseconds per TSC tick, 32.32 fixed point */
	uint64_t lapic_hz; /* LAPIC timer ticks per second */
} clock;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

/* TSC Hz from CPUID (0x15 crystal ratio, else 0x16 base MHz); 0 when neither says. */
static uint64_t clock_cpuid_hz(void)
{
	uint32_t r[4];

	cpuid(0, r);
	if (r[0] >= 0x15) {
		uint32_t c[4];

		cpuid(0x15, c);
		if (c[0] && c[1] && c[2])
			return (uint64_t)c[2] * c[1] / c[0];
	}
	if (r[0] >= 0x16) {
		cpuid(0x16, r);
		if (r[0])
			return (uint64_t)r[0] * 1000000u;
	}
	return 0;
}

/* Channel 0's current count (latch command, then low and high byte). */
static uint16_t clock_pit_count(void)
{
	uint8_t lo, hi;

	io_out8(PIT_COMMAND, PIT_CH0_LATCH);
	lo = io_in8(PIT_CH0_DATA);
	hi = io_in8(PIT_CH0_DATA);
	return (uint16_t)(hi << 8 | lo);
}

/*
 * Counts PIT channel 0 down through CLOCK_CALIBRATE_US (mode 0, polled:
 * its interrupt stays masked) and counts TSC and LAPIC timer ticks
 * meanwhile. Channel 2 would need port 0x61, which microvm lacks. Returns
 * 0, or -1 when the counter does not move (no PIT).
 */
static int clock_calibrate_pit(uint64_t *tsc_ticks, uint64_t *lapic_ticks)
{
	uint32_t latch = (uint32_t)((uint64_t)PIT_HZ * CLOCK_CALIBRATE_US / 1000000u);
	uint64_t t0, t1;
	uint32_t spins = 0, lapic_left;
	uint16_t prev = (uint16_t)latch, now;

	io_out8(PIT_COMMAND, PIT_CH0_MODE0);
	io_out8(PIT_CH0_DATA, (uint8_t)latch);
	io_out8(PIT_CH0_DATA, (uint8_t)(latch >> 8));
	metal_lapic_write(LAPIC_TIMER_INIT, UINT32_MAX);
	t0 = rdtsc();
	for (;;) {
		now = clock_pit_count();
		if (now == 0 || now > prev)
			break; /* reached zero, or wrapped past it between two reads */
		if (now == prev && ++spins == PIT_SPIN_MAX)
			return -1;
		prev = now;
	}
	t1 = rdtsc();
	lapic_left = metal_lapic_read(LAPIC_TIMER_COUNT);
	metal_lapic_write(LAPIC_TIMER_INIT, 0);
	*tsc_ticks = t1 - t0;
	*lapic_ticks = UINT32_MAX - lapic_left;
	return 0;
}

void metal_clock_init(void)
{
	uint64_t tsc_ticks = 0, lapic_ticks = 0;

	metal_lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
	metal_lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | IRQ_VECTOR_TIMER);
	if (clock_calibrate_pit(&tsc_ticks, &lapic_ticks) == 0 && tsc_ticks && lapic_ticks) {
		clock.tsc_hz = tsc_ticks * 1000000u / CLOCK_CALIBRATE_US;
		clock.lapic_hz = lapic_ticks * 1000000u / CLOCK_CALIBRATE_US;
	} else {
		clock.tsc_hz = clock_cpuid_hz();
		if (!clock.tsc_hz) {
			clock.tsc_hz = CLOCK_FALLBACK_HZ;
			sd_log_warn("clock", "no PIT and no CPUID frequency: assuming %llu Hz",
				    (unsigned long long)clock.tsc_hz);
		}
		clock.lapic_hz = clock.tsc_hz / 16; /* a guess: sleeps re-arm until due */
	}
	clock.us_mult = (uint64_t)(((unsigned __int128)1000000u << 32) / clock.tsc_hz);
	clock.tsc0 = rdtsc();
	metal_lapic_write(LAPIC_LVT_TIMER, IRQ_VECTOR_TIMER); /* one-shot, unmasked */
}

uint64_t metal_clock_now_us(void)
{
	uint64_t d = rdtsc() - clock.tsc0;

	return (uint64_t)(((unsigned __int128)d * clock.us_mult) >> 32);
}

uint64_t metal_clock_tsc_hz(void)
{
	return clock.tsc_hz;
}

uint64_t metal_clock_lapic_hz(void)
{
	return clock.lapic_hz;
}

void metal_clock_arm(uint64_t deadline_us)
{
	uint64_t now = metal_clock_now_us(), ticks;

	if (deadline_us == UINT64_MAX) {
		metal_lapic_write(LAPIC_TIMER_INIT, 0);
		return;
	}
	ticks = deadline_us > now ? (deadline_us - now) * clock.lapic_hz / 1000000u + 1 : 1;
	if (ticks > UINT32_MAX)
		ticks = UINT32_MAX; /* wakes early; the caller re-arms */
	metal_lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
}

void metal_clock_sleep_until(uint64_t deadline_us)
{
	while (metal_clock_now_us() < deadline_us) {
		metal_clock_arm(deadline_us);
		metal_irq_idle();
	}
	metal_clock_arm(UINT64_MAX);
}
