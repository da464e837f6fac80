/*
 * node/plat/metal/irq.h — device interrupts: the local APIC, the I/O APICs
 * and the vectors above the CPU exceptions.
 *
 *   metal_irq_init();                      after the IDT: LAPIC on, 8259 masked
 *   metal_irq_route(gsi, IRQ_VECTOR_NET);  an I/O APIC pin to a vector (edge)
 *   metal_irq_idle();                      sti; hlt; cli — sleep until any interrupt
 *
 * Interrupt model: the image runs with interrupts disabled everywhere except
 * inside metal_irq_idle(), so a handler only ever interrupts a hlt. Handlers
 * do the least (count, EOI); the idle loop's caller polls the devices after
 * waking. No locks needed, and nothing a handler touches uses SSE (irq.c is
 * built with -mgeneral-regs-only).
 */
#ifndef SD_METAL_IRQ_H
#define SD_METAL_IRQ_H

#include <stdint.h>

#define IRQ_VECTOR_BASE     32 /* first vector after the CPU exceptions */
#define IRQ_VECTORS         16 /* vectors 32..47 have stubs in trap.S */
#define IRQ_VECTOR_TIMER    32 /* LAPIC timer */
#define IRQ_VECTOR_NET      33 /* virtio-net */
#define IRQ_VECTOR_SPURIOUS 47 /* LAPIC spurious (no EOI) */

#define IRQ_LAPIC_BASE   0xfee00000u /* local APIC registers (identity-mapped) */
#define IRQ_IOAPIC_BASE  0xfec00000u /* GSIs 0..23 */
#define IRQ_IOAPIC2_BASE 0xfec10000u /* microvm's second I/O APIC: GSIs 24..47 */

/* Enables the local APIC and masks the legacy 8259 PIC. */
void metal_irq_init(void);

/* Routes a GSI (edge-triggered, active high) to vector on this CPU. 0 or SD_EINVAL. */
int metal_irq_route(unsigned gsi, unsigned vector);

/* True when microvm's second I/O APIC answers (its virtio GSIs start at 24). */
int metal_irq_has_ioapic2(void);

/* Interrupts taken so far on vector (IRQ_VECTOR_BASE .. +IRQ_VECTORS-1). */
uint64_t metal_irq_count(unsigned vector);

/* Halts until an interrupt arrives; returns with interrupts disabled again. */
void metal_irq_idle(void);

/* Local APIC register access for clock.c (offsets in bytes). */
uint32_t metal_lapic_read(unsigned reg);
void metal_lapic_write(unsigned reg, uint32_t v);

/* Called by idt_trap() for vectors >= IRQ_VECTOR_BASE (not for other callers). */
void irq_dispatch(unsigned vector);

#endif /* SD_METAL_IRQ_H */
