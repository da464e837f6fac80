/*
 * node/plat/metal/gdt.c — GDT with a 64-bit TSS whose IST1 stack serves the
 * exceptions that must work on a broken stack.
 */
#include <stdint.h>

#include "node/plat/metal/gdt.h"

#define GDT_IST_STACK_SIZE (16 * 1024)           /* bytes: enough for the exception report */
#define GDT_DESC_CODE64    0x00af9a000000ffffull /* present, DPL 0, L=1 */
#define GDT_DESC_DATA      0x00cf92000000ffffull /* present, DPL 0, writable */
#define GDT_TSS_TYPE_AVAIL 0x89ull               /* present, 64-bit TSS (available) */

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3]; /* stacks for privilege changes: unused, one ring */
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base; /* = sizeof: no I/O permission bitmap */
} __attribute__((packed));

_Static_assert(sizeof(struct tss64) == 104, "the CPU's 64-bit TSS layout");

static struct tss64 gdt_tss __attribute__((aligned(16)));
static uint8_t gdt_ist_stack[GDT_IST_STACK_SIZE] __attribute__((aligned(16)));
static uint64_t gdt_table[5] __attribute__((aligned(16))); /* written by ltr: busy bit */

struct gdt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static void gdt_set_tss(uint64_t *slot, const struct tss64 *tss)
{
	uint64_t base = (uint64_t)tss;
	uint64_t limit = sizeof(*tss) - 1;

	slot[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | GDT_TSS_TYPE_AVAIL << 40 |
		  ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	slot[1] = base >> 32;
}

void metal_gdt_init(void)
{
	struct gdt_pointer ptr = {.limit = sizeof(gdt_table) - 1, .base = (uint64_t)gdt_table};

	gdt_tss.ist[GDT_IST_FAULT - 1] = (uint64_t)(gdt_ist_stack + sizeof(gdt_ist_stack));
	gdt_tss.iomap_base = sizeof(gdt_tss);
	gdt_table[0] = 0;
	gdt_table[GDT_KERNEL_CODE / 8] = GDT_DESC_CODE64;
	gdt_table[GDT_KERNEL_DATA / 8] = GDT_DESC_DATA;
	gdt_set_tss(&gdt_table[GDT_TSS / 8], &gdt_tss);
	__asm__ volatile("lgdt %0\n\t"
			 "mov %1, %%ds\n\t"
			 "mov %1, %%es\n\t"
			 "mov %1, %%ss\n\t"
			 "mov %1, %%fs\n\t"
			 "mov %1, %%gs\n\t"
			 "pushq %2\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "ltr %w3"
			 :
			 : "m"(ptr), "r"(GDT_KERNEL_DATA), "i"(GDT_KERNEL_CODE), "r"(GDT_TSS)
			 : "rax", "memory");
}
