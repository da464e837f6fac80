/*
 * node/plat/metal/clock.c — TSC clock and LAPIC one-shot timer (clock.h).
 */
#include <stdint.h>

#include "base/log.h"
#include "node/plat/metal/clock.h"
#include "node/plat/metal/io.h"
#include "node/plat/metal/irq.h"

#define PIT_HZ             1193182u
#define PIT_CH0_DATA       0x40
#define PIT_COMMAND        0x43
#define PIT_CH0_MODE0      0x30     /* channel 0, lobyte/hibyte, mode 0, binary */
#define PIT_CH0_LATCH      0x00     /* counter latch command for channel 0 */
#define CLOCK_SAMPLE_TRIES 5        /* readings per sample; the tightest wins */
#define PIT_SPIN_MAX       1000000u /* unchanged reads before deciding there is no PIT */
#define LAPIC_LVT_TIMER    0x320
#define LAPIC_TIMER_INIT   0x380
#define LAPIC_TIMER_COUNT  0x390
#define LAPIC_TIMER_DIV    0x3e0
#define LAPIC_DIV_16       0x3
#define LAPIC_LVT_MASKED   (1u << 16)

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

/* One (PIT count, TSC, LAPIC count) reading: the tightest of a few, so a
 * vCPU descheduled mid-read (likely under TCG on a busy host) is not used. */
struct clock_sample {
	uint16_t pit;
	uint64_t tsc;
	uint32_t lapic;
};

static void clock_sample(struct clock_sample *out)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < CLOCK_SAMPLE_TRIES; i++) {
		uint64_t a = rdtsc();
		uint16_t pit = clock_pit_count();
		uint32_t lapic = metal_lapic_read(LAPIC_TIMER_COUNT);
		uint64_t b = rdtsc();

		if (b - a < best) {
			best = b - a;
			*out = (struct clock_sample){
				.pit = pit, .tsc = a + (b - a) / 2, .lapic = lapic};
		}
	}
}

/*
 * Lets PIT channel 0 count down from 0xffff (mode 0, polled: its interrupt
 * stays masked; channel 2 would need port 0x61, which microvm lacks) and
 * takes a sample at the start and one CLOCK_CALIBRATE_US of PIT ticks later;
 * the rates follow from the PIT ticks actually counted between them.
 * Returns 0, or -1 when the counter does not move (no PIT).
 */
static int clock_calibrate_pit(uint64_t *tsc_hz, uint64_t *lapic_hz)
{
	uint32_t want = (uint32_t)((uint64_t)PIT_HZ * CLOCK_CALIBRATE_US / 1000000u);
	struct clock_sample s0, s1;
	uint32_t spins = 0;
	uint16_t last;

	io_out8(PIT_COMMAND, PIT_CH0_MODE0);
	io_out8(PIT_CH0_DATA, 0xff);
	io_out8(PIT_CH0_DATA, 0xff);
	metal_lapic_write(LAPIC_TIMER_INIT, UINT32_MAX);
	clock_sample(&s0);
	last = s0.pit;
	for (;;) {
		uint16_t now = clock_pit_count();

		if (now > last)
			break; /* wrapped: the window is past; s1 below still measures it */
		if ((uint32_t)(s0.pit - now) >= want)
			break;
		if (now == last && ++spins == PIT_SPIN_MAX)
			return -1;
		last = now;
	}
	clock_sample(&s1);
	metal_lapic_write(LAPIC_TIMER_INIT, 0);
	if (s1.pit >= s0.pit || s1.tsc <= s0.tsc)
		return -1;
	*tsc_hz = (s1.tsc - s0.tsc) * PIT_HZ / (uint64_t)(s0.pit - s1.pit);
	*lapic_hz = (uint64_t)(s0.lapic - s1.lapic) * PIT_HZ / (uint64_t)(s0.pit - s1.pit);
	return 0;
}

void metal_clock_init(void)
{
	uint64_t tsc_hz = 0, lapic_hz = 0;

	metal_lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
	metal_lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | IRQ_VECTOR_TIMER);
	if (clock_calibrate_pit(&tsc_hz, &lapic_hz) == 0 && tsc_hz && lapic_hz) {
		clock.tsc_hz = tsc_hz;
		clock.lapic_hz = lapic_hz;
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
