/*
 * node/plat/metal/clock.h — time: a TSC clock calibrated at boot, and the
 * LAPIC timer in one-shot mode to wake the idle loop at a deadline.
 *
 *   metal_clock_init();            after metal_irq_init(): calibrates both
 *   t = metal_clock_now_us();      microseconds since calibration
 *   metal_clock_arm(deadline_us);  one timer interrupt at (or just after) it
 *   metal_clock_sleep_until(t);    halts (sti; hlt) until t has passed
 *
 * Calibration samples the 8254 PIT's channel 0 (polled, its interrupt
 * masked), the TSC and the LAPIC timer together, twice, CLOCK_CALIBRATE_US
 * of PIT ticks apart. Hosts
 * without a PIT (Firecracker) fall back to CPUID leaf 0x15/0x16, then to an
 * assumed CLOCK_FALLBACK_HZ with a warning.
 */
#ifndef SD_METAL_CLOCK_H
#define SD_METAL_CLOCK_H

#include <stdint.h>

#define CLOCK_CALIBRATE_US 10000         /* the PIT window */
#define CLOCK_FALLBACK_HZ  1000000000ull /* TSC rate when nothing says */

void metal_clock_init(void);
uint64_t metal_clock_now_us(void);
uint64_t metal_clock_tsc_hz(void);
uint64_t metal_clock_lapic_hz(void); /* LAPIC timer ticks per second (divide by 16) */

/* Arms the one-shot timer for deadline_us (clock_now_us scale); UINT64_MAX disarms. */
void metal_clock_arm(uint64_t deadline_us);

/* Halts until deadline_us passes; other interrupts wake it early and it sleeps again. */
void metal_clock_sleep_until(uint64_t deadline_us);

#endif /* SD_METAL_CLOCK_H */
