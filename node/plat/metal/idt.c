/*
 * node/plat/metal/idt.c — 64-bit interrupt gates for the exception stubs in
 * trap.S, and the report printed when one fires. Compiled with
 * -mgeneral-regs-only: the handler must not touch the interrupted SSE state.
 */
#include <stdint.h>

#include "node/plat/metal/console.h"
#include "node/plat/metal/exit.h"
#include "node/plat/metal/gdt.h"
#include "node/plat/metal/idt.h"
#include "node/plat/metal/irq.h"

#define IDT_VECTORS              256
#define IDT_GATE_INTR64          0x8e /* present, DPL 0, 64-bit interrupt gate */
#define IDT_BACKTRACE_MAX        16   /* frames printed */
#define IDT_VECTOR_NMI           2
#define IDT_VECTOR_DOUBLE_FAULT  8
#define IDT_VECTOR_MACHINE_CHECK 18

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct idt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_gate) == 16, "long-mode gates are 16 bytes");

extern const uint64_t trap_stubs[IDT_EXCEPTIONS + IRQ_VECTORS];

static struct idt_gate idt_table[IDT_VECTORS] __attribute__((aligned(16)));

static const char *const idt_exception_names[IDT_EXCEPTIONS] = {
	"divide error",
	"debug",
	"NMI",
	"breakpoint",
	"overflow",
	"bound range",
	"invalid opcode",
	"device not available",
	"double fault",
	"coprocessor overrun",
	"invalid TSS",
	"segment not present",
	"stack fault",
	"general protection",
	"page fault",
	"reserved",
	"x87 FP error",
	"alignment check",
	"machine check",
	"SIMD FP error",
	"virtualization",
	"control protection",
	"reserved",
	"reserved",
	"reserved",
	"reserved",
	"reserved",
	"reserved",
	"hypervisor injection",
	"VMM communication",
	"security",
	"reserved",
};

static void idt_set_gate(unsigned vector, uint64_t handler)
{
	idt_table[vector] = (struct idt_gate){
		.offset_low = (uint16_t)handler,
		.selector = GDT_KERNEL_CODE,
		.type_attr = IDT_GATE_INTR64,
		.offset_mid = (uint16_t)(handler >> 16),
		.offset_high = (uint32_t)(handler >> 32),
	};
}

void metal_idt_init(void)
{
	struct idt_pointer ptr = {.limit = sizeof(idt_table) - 1, .base = (uint64_t)idt_table};

	for (unsigned v = 0; v < IDT_EXCEPTIONS + IRQ_VECTORS; v++)
		idt_set_gate(v, trap_stubs[v]);
	/* These must work when the interrupted stack is unusable. */
	idt_table[IDT_VECTOR_NMI].ist = GDT_IST_FAULT;
	idt_table[IDT_VECTOR_DOUBLE_FAULT].ist = GDT_IST_FAULT;
	idt_table[IDT_VECTOR_MACHINE_CHECK].ist = GDT_IST_FAULT;
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

static uint64_t idt_read_cr2(void)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	return cr2;
}

extern char __image_start[], __image_end[]; /* link.ld */

extern char boot_stack_guard[]; /* boot.S: one unmapped page */

static int idt_in_image(uint64_t addr)
{
	uint64_t guard = (uint64_t)boot_stack_guard;

	if (addr >= guard && addr < guard + 4096)
		return 0;
	return addr >= (uint64_t)__image_start && addr < (uint64_t)__image_end;
}

/*
 * Follows the saved frame-pointer chain (the image is built with
 * -fno-omit-frame-pointer) and prints return addresses; resolve them with
 * addr2line -e stardust-node.elf. Stops at the first link outside the image
 * or one that does not move up the stack.
 */
static void idt_backtrace(uint64_t rbp)
{
	metal_console_printf("  backtrace:");
	for (int depth = 0; depth < IDT_BACKTRACE_MAX; depth++) {
		const uint64_t *link = (const uint64_t *)rbp;

		if (!idt_in_image(rbp) || (rbp & 7) || !idt_in_image(link[1]))
			break;
		metal_console_printf(" %#llx", (unsigned long long)link[1]);
		if (link[0] <= rbp)
			break;
		rbp = link[0];
	}
	metal_console_printf("\n");
}

void idt_trap(struct trap_frame *f)
{
	if (f->vector >= IRQ_VECTOR_BASE) {
		irq_dispatch((unsigned)f->vector); /* a device: returns through iretq */
		return;
	}
	const char *name = f->vector < IDT_EXCEPTIONS ? idt_exception_names[f->vector] : "?";

	metal_console_printf("\nEXCEPTION %llu (%s) error=%#llx cr2=%#llx\n",
			     (unsigned long long)f->vector, name, (unsigned long long)f->error,
			     (unsigned long long)idt_read_cr2());
	metal_console_printf("  rip=%016llx cs=%04llx rflags=%016llx rsp=%016llx ss=%04llx\n",
			     (unsigned long long)f->rip, (unsigned long long)f->cs,
			     (unsigned long long)f->rflags, (unsigned long long)f->rsp,
			     (unsigned long long)f->ss);
	metal_console_printf("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n",
			     (unsigned long long)f->rax, (unsigned long long)f->rbx,
			     (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	metal_console_printf("  rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx\n",
			     (unsigned long long)f->rsi, (unsigned long long)f->rdi,
			     (unsigned long long)f->rbp, (unsigned long long)f->r8);
	metal_console_printf("  r9 =%016llx r10=%016llx r11=%016llx r12=%016llx\n",
			     (unsigned long long)f->r9, (unsigned long long)f->r10,
			     (unsigned long long)f->r11, (unsigned long long)f->r12);
	metal_console_printf("  r13=%016llx r14=%016llx r15=%016llx\n", (unsigned long long)f->r13,
			     (unsigned long long)f->r14, (unsigned long long)f->r15);
	idt_backtrace(f->rbp);
	metal_exit(METAL_EXIT_FAILURE);
}
