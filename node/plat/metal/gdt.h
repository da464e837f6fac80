/*
 * node/plat/metal/gdt.h — the long-mode GDT and TSS that replace boot.S's
 * transition GDT.
 *
 * The TSS exists for its interrupt stack table: double faults, NMIs and
 * machine checks switch to a stack of their own (IST1), so a kernel stack
 * overflow (which faults on the guard page, then cannot push the page
 * fault's frame) still reaches the exception report.
 */
#ifndef SD_METAL_GDT_H
#define SD_METAL_GDT_H

#define GDT_KERNEL_CODE 0x08 /* selectors; boot.S uses the same two */
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS         0x18
#define GDT_IST_FAULT   1 /* IST slot for #DF, NMI, #MC (idt.c) */

/* Loads the GDT, reloads every segment register, loads the task register. */
void metal_gdt_init(void);

#endif /* SD_METAL_GDT_H */
