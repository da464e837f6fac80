/*
 * node/plat/metal/irq.c — LAPIC, I/O APIC, 8259 masking and the interrupt
 * handlers (see irq.h for the model). Built with -mgeneral-regs-only.
 */
#include <stdint.h>

#include "base/err.h"
#include "node/plat/metal/io.h"
#include "node/plat/metal/irq.h"

#define LAPIC_EOI        0x0b0
#define LAPIC_SVR        0x0f0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_TPR        0x080
#define LAPIC_ID         0x020
#define MSR_APIC_BASE    0x1b
#define APIC_BASE_ENABLE (1u << 11)
#define IOAPIC_REGSEL    0x00
#define IOAPIC_WINDOW    0x10
#define IOAPIC_VERSION   0x01
#define IOAPIC_REDIR     0x10 /* first redirection register; two per pin */
#define IOAPIC_PINS      24
#define IOAPIC_MASKED    (1u << 16)
#define PIC1_DATA        0x21
#define PIC2_DATA        0xa1

static volatile uint64_t irq_counts[IRQ_VECTORS];

static inline volatile uint32_t *irq_mmio(uintptr_t base, unsigned reg)
{
	return (volatile uint32_t *)(base + reg);
}

uint32_t metal_lapic_read(unsigned reg)
{
	return *irq_mmio(IRQ_LAPIC_BASE, reg);
}

void metal_lapic_write(unsigned reg, uint32_t v)
{
	*irq_mmio(IRQ_LAPIC_BASE, reg) = v;
}

static uint32_t ioapic_read(uintptr_t base, unsigned reg)
{
	*irq_mmio(base, IOAPIC_REGSEL) = reg;
	return *irq_mmio(base, IOAPIC_WINDOW);
}

static void ioapic_write(uintptr_t base, unsigned reg, uint32_t v)
{
	*irq_mmio(base, IOAPIC_REGSEL) = reg;
	*irq_mmio(base, IOAPIC_WINDOW) = v;
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

void metal_irq_init(void)
{
	/* The 8259s stay in reset state but every line is masked: all goes through APICs. */
	io_out8(PIC1_DATA, 0xff);
	io_out8(PIC2_DATA, 0xff);
	wrmsr(MSR_APIC_BASE,
	      (rdmsr(MSR_APIC_BASE) & ~0xfffull) | IRQ_LAPIC_BASE | APIC_BASE_ENABLE);
	metal_lapic_write(LAPIC_TPR, 0);
	metal_lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | IRQ_VECTOR_SPURIOUS);
}

int metal_irq_has_ioapic2(void)
{
	uint32_t v = ioapic_read(IRQ_IOAPIC2_BASE, IOAPIC_VERSION);

	return v != 0 && v != 0xffffffffu;
}

int metal_irq_route(unsigned gsi, unsigned vector)
{
	uintptr_t base = IRQ_IOAPIC_BASE;
	uint32_t apic_id = metal_lapic_read(LAPIC_ID) >> 24;
	unsigned pin = gsi;

	if (gsi >= IOAPIC_PINS) {
		base = IRQ_IOAPIC2_BASE;
		pin = gsi - IOAPIC_PINS;
	}
	if (pin >= IOAPIC_PINS || vector < IRQ_VECTOR_BASE ||
	    vector >= IRQ_VECTOR_BASE + IRQ_VECTORS)
		return SD_EINVAL;
	/* Edge-triggered, active high, fixed delivery, physical destination. */
	ioapic_write(base, IOAPIC_REDIR + 2 * pin + 1, apic_id << 24);
	ioapic_write(base, IOAPIC_REDIR + 2 * pin, vector);
	return 0;
}

uint64_t metal_irq_count(unsigned vector)
{
	if (vector < IRQ_VECTOR_BASE || vector >= IRQ_VECTOR_BASE + IRQ_VECTORS)
		return 0;
	return irq_counts[vector - IRQ_VECTOR_BASE];
}

void metal_irq_idle(void)
{
	/* sti's one-instruction shadow: no interrupt slips in before the hlt. */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

void irq_dispatch(unsigned vector)
{
	irq_counts[vector - IRQ_VECTOR_BASE]++;
	if (vector != IRQ_VECTOR_SPURIOUS)
		metal_lapic_write(LAPIC_EOI, 0);
}
