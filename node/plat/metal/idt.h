/*
 * node/plat/metal/idt.h — the interrupt descriptor table.
 *
 * The 32 CPU exceptions: any of them prints the vector, its name, the error
 * code, CR2, every register and a frame-pointer backtrace on the console, and
 * exits QEMU with the failure status. Vectors 32..47 are device interrupts,
 * handed to irq_dispatch() (irq.h).
 */
#ifndef SD_METAL_IDT_H
#define SD_METAL_IDT_H

#include <stdint.h>

#define IDT_EXCEPTIONS 32 /* vectors reserved by the CPU */

/* Saved by trap.S, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Fills and loads the IDT. */
void metal_idt_init(void);

/* Called by trap.S with the saved frame (not for other callers). */
void idt_trap(struct trap_frame *frame);

#endif /* SD_METAL_IDT_H */
