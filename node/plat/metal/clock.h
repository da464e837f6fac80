/*
 * node/plat/metal/clock.h — time: a TSC clock calibrated at boot, and the
 * LAPIC timer in one-shot mode to wake the idle loop at a deadline.
 *
 *   metal_clock_init();            after metal_irq_init(): calibrates both
 *   t = metal_clock_now_us();      microseconds since calibration
 *   metal_clock_arm(deadline_us);  one timer interrupt at (or just after) it
 *   metal_clock_sleep_until(t);    halts (sti; hlt) until t has passed
 *   metal_clock_info(&info);       what calibration measured and chose
 *
 * Calibration runs short windows of the 8254 PIT's channel 0 (polled, its
 * interrupt masked): each samples PIT, TSC and LAPIC timer together at its
 * start and end and divides by the PIT ticks actually counted. Windows where
 * the vCPU was plainly away (count wrapped or overshot, slow samples,
 * implausible rate) are dropped; calibration stops when CLOCK_AGREE_WINDOWS
 * accepted windows agree within CLOCK_AGREE_PPM and takes the middle one,
 * else the median after CLOCK_WINDOWS_MAX windows. A TSC frequency stated
 * by the hypervisor (CPUID 0x40000010) wins; one from CPUID 0x15/0x16 is used
 * when it agrees with the PIT within CLOCK_LEAF_PPM, or when there is no PIT
 * (Firecracker); with neither, CLOCK_FALLBACK_HZ and a warning.
 */
#ifndef SD_METAL_CLOCK_H
#define SD_METAL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_WINDOW_US     5000           /* one PIT calibration window */
#define CLOCK_WINDOWS_MAX   12             /* bounds calibration: 60 ms of PIT time */
#define CLOCK_AGREE_WINDOWS 3              /* this many agreeing windows settle it */
#define CLOCK_AGREE_PPM     10000u         /* 1 % */
#define CLOCK_LEAF_PPM      20000u         /* 2 %: CPUID and PIT "agree" */
#define CLOCK_MIN_HZ        50000000ull    /* TSC rates outside these are */
#define CLOCK_MAX_HZ        20000000000ull /* measurement errors */
#define CLOCK_LAPIC_MIN_HZ  100000ull      /* LAPIC timer (divide by 16) at least this */
#define CLOCK_FALLBACK_HZ   1000000000ull  /* TSC rate when nothing says */
#define CLOCK_ARM_MAX_US    1000000ull     /* longest single timer arm; sleeps re-arm */

struct metal_clock_info {
	uint64_t tsc_hz;      /* in use */
	uint64_t lapic_hz;    /* in use: LAPIC timer ticks per second (divide by 16) */
	uint64_t pit_tsc_hz;  /* the PIT calibration's answer; 0 when it had none */
	uint64_t leaf_tsc_hz; /* CPUID's statement; 0 when it made none */
	const char *source;   /* "pit", "hypervisor", "cpuid" or "fallback" */
	int windows;          /* PIT windows run */
	int accepted;         /* of them, not rejected */
	bool agreed;          /* CLOCK_AGREE_WINDOWS agreed (else: median) */
	uint32_t spread_ppm;  /* accepted windows' max/min - 1 */
};

void metal_clock_init(void);
uint64_t metal_clock_now_us(void);
uint64_t metal_clock_tsc_hz(void);
uint64_t metal_clock_lapic_hz(void); /* LAPIC timer ticks per second (divide by 16) */
void metal_clock_info(struct metal_clock_info *out);

/* Arms the one-shot timer for deadline_us (clock_now_us scale), at most
 * CLOCK_ARM_MAX_US ahead; UINT64_MAX disarms. */
void metal_clock_arm(uint64_t deadline_us);

/* Halts until deadline_us passes; other interrupts wake it early and it sleeps again. */
void metal_clock_sleep_until(uint64_t deadline_us);

/*
 * Self-test aid: sleeps span_us (metal_clock_sleep_until, in slices short
 * enough that PIT channel 0 cannot wrap unseen) and measures the sleep twice:
 * by the TSC clock (*tsc_us) and by PIT ticks counted between slices
 * (*pit_us). Returns 0, or -1 when a gap between PIT reads was too long to
 * count (the vCPU was away; try again) or the PIT did not move (no PIT:
 * metal_clock_info() then shows 0 windows).
 */
int metal_clock_check_pit(uint64_t span_us, uint64_t *tsc_us, uint64_t *pit_us);

#endif /* SD_METAL_CLOCK_H */
