/*
 * node/plat/metal/clock.c — TSC clock and LAPIC one-shot timer (clock.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "node/plat/metal/clock.h"
#include "node/plat/metal/io.h"
#include "node/plat/metal/irq.h"

#define PIT_HZ               1193182u
#define PIT_CH0_DATA         0x40
#define PIT_COMMAND          0x43
#define PIT_CH0_MODE0        0x30   /* channel 0, lobyte/hibyte, mode 0, binary */
#define PIT_CH0_LATCH        0x00   /* counter latch command for channel 0 */
#define CLOCK_SAMPLE_TRIES   5      /* readings per sample; the tightest wins */
#define CLOCK_SAMPLE_PPM     5000   /* a window's error bound from its samples, at most */
#define CLOCK_WINDOW_AWAY_X  8      /* a window this many spans long may hide a PIT wrap */
#define PIT_SPIN_MAX         10000u /* unchanged reads in a row (>= 1 ms): no PIT */
#define CLOCK_CHECK_SLICE_US 5000   /* metal_clock_check_pit: sleep between PIT reads */
#define CLOCK_CHECK_GAP_US   25000  /* a longer gap may hide a PIT wrap (54.9 ms) */
#define CPUID_HV_BASE        0x40000000u
#define CPUID_HV_TIMING      0x40000010u /* eax: TSC kHz, ebx: APIC bus kHz */
#define LAPIC_LVT_TIMER      0x320
#define LAPIC_TIMER_INIT     0x380
#define LAPIC_TIMER_COUNT    0x390
#define LAPIC_TIMER_DIV      0x3e0
#define LAPIC_DIV_16         0x3
#define LAPIC_DIVISOR        16
#define LAPIC_LVT_MASKED     (1u << 16)

static struct {
	uint64_t tsc0;    /* TSC at calibration: time zero */
	uint64_t us_mult; /* microseconds per TSC tick, 32.32 fixed point */
	struct metal_clock_info info;
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

/* TSC Hz from CPUID 0x15 (crystal ratio), else 0x16 (base MHz); 0 when neither says. */
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

/* The hypervisor's timing leaf (KVM, VMware signatures only): TSC Hz, and *lapic_hz from the
 * APIC bus when stated (else untouched); 0 when absent (QEMU TCG: absent). */
static uint64_t clock_hypervisor_hz(uint64_t *lapic_hz)
{
	uint32_t r[4];
	char sig[12];

	cpuid(1, r);
	if (!(r[2] & (1u << 31)))
		return 0; /* no hypervisor bit */
	cpuid(CPUID_HV_BASE, r);
	memcpy(sig, &r[1], 4);
	memcpy(sig + 4, &r[2], 4);
	memcpy(sig + 8, &r[3], 4);
	if (memcmp(sig, "KVMKVMKVM\0\0\0", 12) != 0 && memcmp(sig, "VMwareVMware", 12) != 0)
		return 0; /* others number their leaves differently */
	if (r[0] < CPUID_HV_TIMING || r[0] > CPUID_HV_BASE + 0xffff)
		return 0;
	cpuid(CPUID_HV_TIMING, r);
	if (r[1])
		*lapic_hz = (uint64_t)r[1] * 1000u / LAPIC_DIVISOR;
	return (uint64_t)r[0] * 1000u;
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

/* Starts channel 0 counting down from 0xffff (mode 0: on through zero, wrapping). */
static void clock_pit_start(void)
{
	io_out8(PIT_COMMAND, PIT_CH0_MODE0);
	io_out8(PIT_CH0_DATA, 0xff);
	io_out8(PIT_CH0_DATA, 0xff);
}

/* One (PIT count, TSC, LAPIC count) reading: the tightest of a few, so a
 * vCPU descheduled mid-read (likely under TCG on a busy host) is not used;
 * spread is that reading's TSC ticks, the uncertainty of its instant. */
struct clock_sample {
	uint16_t pit;
	uint64_t tsc;
	uint64_t spread;
	uint32_t lapic;
};

static void clock_sample(struct clock_sample *out)
{
	out->spread = UINT64_MAX;
	for (int i = 0; i < CLOCK_SAMPLE_TRIES; i++) {
		uint64_t a = rdtsc();
		uint16_t pit = clock_pit_count();
		uint32_t lapic = metal_lapic_read(LAPIC_TIMER_COUNT);
		uint64_t b = rdtsc();

		if (b - a < out->spread)
			*out = (struct clock_sample){.pit = pit,
						     .tsc = a + (b - a) / 2,
						     .spread = b - a,
						     .lapic = lapic};
	}
}
/* One window's measurement; err_ppm bounds the error from its samples' read times. */
struct clock_window {
	uint64_t tsc_hz;
	uint64_t lapic_hz;
	uint64_t err_ppm;
};

enum clock_verdict { CLOCK_WINDOW_OK, CLOCK_WINDOW_AWAY, CLOCK_WINDOW_NO_PIT };

/*
 * One window: restart the PIT, sample, poll until CLOCK_WINDOW_US of PIT ticks
 * have passed, sample again; the rates divide by the PIT ticks actually counted
 * between the two samples (not the programmed span). The window is AWAY (no
 * rates) when the count wrapped or went on past CLOCK_WINDOW_AWAY_X spans (the
 * vCPU was away long enough that a wrap could hide) or the rates are
 * implausible. NO_PIT: the counter does not move.
 */
static enum clock_verdict clock_window(struct clock_window *w)
{
	uint32_t want = (uint32_t)((uint64_t)PIT_HZ * CLOCK_WINDOW_US / 1000000u);
	struct clock_sample s0, s1;
	uint32_t spins = 0, ticks;
	uint64_t tsc_ticks;
	uint16_t last;

	*w = (struct clock_window){0};
	clock_pit_start();
	metal_lapic_write(LAPIC_TIMER_INIT, UINT32_MAX);
	clock_sample(&s0);
	last = s0.pit;
	for (;;) {
		uint16_t now = clock_pit_count();

		if (now > last)
			break; /* wrapped: rejected below */
		if ((uint32_t)(s0.pit - now) >= want)
			break;
		spins = now == last ? spins + 1 : 0;
		if (spins == PIT_SPIN_MAX)
			return CLOCK_WINDOW_NO_PIT;
		last = now;
	}
	clock_sample(&s1);
	metal_lapic_write(LAPIC_TIMER_INIT, 0);
	if (s1.pit >= s0.pit || s1.tsc <= s0.tsc)
		return CLOCK_WINDOW_AWAY;
	ticks = (uint32_t)(s0.pit - s1.pit);
	tsc_ticks = s1.tsc - s0.tsc;
	if (ticks > want * CLOCK_WINDOW_AWAY_X)
		return CLOCK_WINDOW_AWAY;
	w->tsc_hz = tsc_ticks * PIT_HZ / ticks;
	w->lapic_hz = (uint64_t)(s0.lapic - s1.lapic) * PIT_HZ / ticks;
	w->err_ppm = (s0.spread + s1.spread) * 1000000u / 2 / tsc_ticks;
	if (w->tsc_hz < CLOCK_MIN_HZ || w->tsc_hz > CLOCK_MAX_HZ ||
	    w->lapic_hz < CLOCK_LAPIC_MIN_HZ) {
		*w = (struct clock_window){0};
		return CLOCK_WINDOW_AWAY;
	}
	return CLOCK_WINDOW_OK;
}

static int clock_window_cmp(const void *a, const void *b)
{
	const struct clock_window *x = a, *y = b;

	return (x->tsc_hz > y->tsc_hz) - (x->tsc_hz < y->tsc_hz);
}

/* In sorted w[0..n): the middle of CLOCK_AGREE_WINDOWS neighbours within
 * CLOCK_AGREE_PPM of each other, or NULL. */
static const struct clock_window *clock_agreeing(const struct clock_window *w, int n)
{
	for (int i = 0; i + CLOCK_AGREE_WINDOWS <= n; i++) {
		uint64_t lo = w[i].tsc_hz, hi = w[i + CLOCK_AGREE_WINDOWS - 1].tsc_hz;

		if ((hi - lo) * 1000000u <= lo * CLOCK_AGREE_PPM)
			return &w[i + CLOCK_AGREE_WINDOWS / 2];
	}
	return NULL;
}

/*
 * Up to CLOCK_WINDOWS_MAX windows (so about that many CLOCK_WINDOW_US of PIT
 * time), stopping as soon as CLOCK_AGREE_WINDOWS accepted ones (err_ppm within
 * CLOCK_SAMPLE_PPM) agree; without agreement, the median of the accepted ones,
 * and with none accepted, the measured window with the smallest err_ppm.
 * Fills *out and the counters in *st. Returns 0, or -1 when no window
 * measured anything (or there is no PIT).
 */
static int clock_calibrate_pit(struct clock_window *out, struct metal_clock_info *st)
{
	struct clock_window w[CLOCK_WINDOWS_MAX], sorted[CLOCK_WINDOWS_MAX], best = {0};
	const struct clock_window *pick = NULL;
	int n = 0;

	while (st->windows < CLOCK_WINDOWS_MAX && !pick) {
		enum clock_verdict v = clock_window(&w[n]);

		if (v == CLOCK_WINDOW_NO_PIT)
			return -1;
		st->windows++;
		if (v != CLOCK_WINDOW_OK)
			continue;
		if (!best.tsc_hz || w[n].err_ppm < best.err_ppm)
			best = w[n];
		if (w[n].err_ppm > CLOCK_SAMPLE_PPM)
			continue;
		n++;
		memcpy(sorted, w, (size_t)n * sizeof(w[0]));
		qsort(sorted, (size_t)n, sizeof(sorted[0]), clock_window_cmp);
		pick = clock_agreeing(sorted, n);
	}
	st->accepted = n;
	st->agreed = pick != NULL;
	if (!n) {
		*out = best;
		return best.tsc_hz ? 0 : -1;
	}
	if (!pick)
		pick = &sorted[(n - 1) / 2];
	st->spread_ppm =
		(uint32_t)((sorted[n - 1].tsc_hz - sorted[0].tsc_hz) * 1000000u / sorted[0].tsc_hz);
	*out = *pick;
	return 0;
}

/* Settles tsc_hz and lapic_hz from the PIT's answer (pit, or NULL) and CPUID's. */
static void clock_choose(const struct clock_window *pit)
{
	struct metal_clock_info *ci = &clock.info;
	uint64_t hv_lapic = 0, hv = clock_hypervisor_hz(&hv_lapic),
		 leaf = hv ? hv : clock_cpuid_hz();
	uint64_t diff;

	ci->pit_tsc_hz = pit ? pit->tsc_hz : 0;
	ci->leaf_tsc_hz = leaf;
	ci->tsc_hz = pit ? pit->tsc_hz : leaf;
	ci->lapic_hz = pit ? pit->lapic_hz : 0;
	ci->source = pit ? "pit" : hv ? "hypervisor" : "cpuid";
	if (pit && leaf) {
		diff = leaf > pit->tsc_hz ? leaf - pit->tsc_hz : pit->tsc_hz - leaf;
		if (diff * 1000000u <= leaf * CLOCK_LEAF_PPM || hv) {
			ci->tsc_hz = leaf; /* agrees (and is exact), or the hypervisor says so */
			ci->source = hv ? "hypervisor" : "cpuid";
		}
		if (diff * 1000000u > leaf * CLOCK_LEAF_PPM)
			sd_log_warn("clock", "PIT says TSC %llu kHz, CPUID says %llu kHz; using %s",
				    (unsigned long long)(pit->tsc_hz / 1000),
				    (unsigned long long)(leaf / 1000), ci->source);
	}
	if (hv && hv_lapic)
		ci->lapic_hz = hv_lapic;
	if (!ci->tsc_hz) {
		ci->tsc_hz = CLOCK_FALLBACK_HZ;
		ci->source = "fallback";
		sd_log_warn("clock", "no PIT and no CPUID frequency: assuming %llu Hz",
			    (unsigned long long)ci->tsc_hz);
	}
	if (ci->lapic_hz < CLOCK_LAPIC_MIN_HZ)
		ci->lapic_hz = ci->tsc_hz / LAPIC_DIVISOR; /* a guess: sleeps re-arm until due */
}

void metal_clock_init(void)
{
	struct clock_window pit;
	struct metal_clock_info *ci = &clock.info;

	metal_lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
	metal_lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | IRQ_VECTOR_TIMER);
	clock_choose(clock_calibrate_pit(&pit, ci) == 0 ? &pit : NULL);
	clock.us_mult = (uint64_t)(((unsigned __int128)1000000u << 32) / ci->tsc_hz);
	clock.tsc0 = rdtsc();
	metal_lapic_write(LAPIC_LVT_TIMER, IRQ_VECTOR_TIMER); /* one-shot, unmasked */
	sd_log_info("clock",
		    "TSC %llu kHz (%s), LAPIC timer %llu kHz; PIT windows %d/%d accepted, %s, "
		    "spread %u ppm",
		    (unsigned long long)(ci->tsc_hz / 1000), ci->source,
		    (unsigned long long)(ci->lapic_hz / 1000), ci->accepted, ci->windows,
		    ci->agreed ? "agreed" : "median", (unsigned)ci->spread_ppm);
}

void metal_clock_info(struct metal_clock_info *out)
{
	*out = clock.info;
}

uint64_t metal_clock_now_us(void)
{
	uint64_t d = rdtsc() - clock.tsc0;

	return (uint64_t)(((unsigned __int128)d * clock.us_mult) >> 32);
}

uint64_t metal_clock_tsc_hz(void)
{
	return clock.info.tsc_hz;
}

uint64_t metal_clock_lapic_hz(void)
{
	return clock.info.lapic_hz;
}

void metal_clock_arm(uint64_t deadline_us)
{
	uint64_t now = metal_clock_now_us(), ticks, span;

	if (deadline_us == UINT64_MAX) {
		metal_lapic_write(LAPIC_TIMER_INIT, 0);
		return;
	}
	span = deadline_us > now ? deadline_us - now : 0;
	if (span > CLOCK_ARM_MAX_US)
		span = CLOCK_ARM_MAX_US; /* wakes early; the caller re-arms */
	ticks = span * clock.info.lapic_hz / 1000000u + 1;
	if (ticks > UINT32_MAX)
		ticks = UINT32_MAX;
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

/* TSC ticks to microseconds at the calibrated rate. */
static uint64_t clock_tsc_us(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * clock.us_mult) >> 32);
}

int metal_clock_check_pit(uint64_t span_us, uint64_t *tsc_us, uint64_t *pit_us)
{
	struct clock_sample s0, last, s;
	uint64_t pit_ticks = 0, end;

	clock_pit_start();
	clock_sample(&s0);
	last = s0;
	end = metal_clock_now_us() + span_us;
	for (;;) {
		uint64_t now = metal_clock_now_us();

		if (now < end)
			metal_clock_sleep_until(now + CLOCK_CHECK_SLICE_US < end
							? now + CLOCK_CHECK_SLICE_US
							: end);
		clock_sample(&s);
		if (clock_tsc_us(s.tsc - last.tsc) > CLOCK_CHECK_GAP_US)
			return -1;                         /* the PIT may have wrapped unseen */
		pit_ticks += (uint16_t)(last.pit - s.pit); /* counts down, wrapping */
		last = s;
		if (now >= end)
			break;
	}
	*tsc_us = clock_tsc_us(last.tsc - s0.tsc);
	*pit_us = pit_ticks * 1000000u / PIT_HZ;
	return pit_ticks ? 0 : -1; /* no PIT */
}
