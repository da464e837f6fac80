/*
 * node/plat/metal/boot.S — PVH entry: 32-bit protected mode to 64-bit C.
 *
 * QEMU (-kernel with an ELF that carries XEN_ELFNOTE_PHYS32_ENTRY) jumps to
 * pvh_start32 in 32-bit protected mode, paging off, interrupts off, flat
 * 4 GiB CS/DS/SS, %ebx = physical address of struct hvm_start_info, and no
 * usable stack. We:
 *   1. keep %ebx, zero .bss (the loader need not);
 *   2. identity-map the low 4 GiB with 2 MiB pages (PML4 -> 1 PDPT -> 4 PDs),
 *      which covers the image, RAM of any size we run with, and the MMIO
 *      windows (virtio-mmio at 0xfeb00000, LAPIC, IOAPIC); the first 2 MiB
 *      with 4 KiB pages, leaving a guard page under the boot stack;
 *   3. enable PAE, SSE (OSFXSR/OSXMMEXCPT, CR0.MP, no CR0.EM), EFER.LME, paging;
 *   4. load a 64-bit GDT, far-jump to 64-bit code, set the stack and call
 *      boot_main(start_info_paddr), which never returns.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define CR0_PE   (1 << 0)
#define CR0_MP   (1 << 1)
#define CR0_EM   (1 << 2)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define PTE_PRESENT_RW 0x003
#define PTE_HUGE 0x080
#define BOOT_STACK_SIZE (64 * 1024)
#define GDT_CODE64 0x08
#define GDT_DATA   0x10

	/* The PVH entry note QEMU looks for in the ELF's PT_NOTE segment. */
	.section .note.pvh, "a", @note
	.p2align 2
	.long 4                         /* name size: "Xen\0" */
	.long 4                         /* descriptor size */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start32

	.section .boot.text, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, boot_start_info

	/* Zero .bss: page tables and stack live there. */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD 0..3 (4 contiguous pages). */
	movl $boot_pdpt, %eax
	orl $PTE_PRESENT_RW, %eax
	movl %eax, boot_pml4
	movl $boot_pd, %eax
	orl $PTE_PRESENT_RW, %eax
	movl $boot_pdpt, %edi
	movl $4, %ecx
1:	movl %eax, (%edi)
	addl $4096, %eax
	addl $8, %edi
	loop 1b

	/* 2048 PD entries of 2 MiB: entry i maps physical i << 21. */
	movl $boot_pd, %edi
	movl $(PTE_PRESENT_RW | PTE_HUGE), %eax
	movl $2048, %ecx
2:	movl %eax, (%edi)
	addl $(1 << 21), %eax
	addl $8, %edi
	loop 2b

	/*
	 * The first 2 MiB (the image) with 4 KiB pages instead, so the page
	 * below the boot stack can stay unmapped: a stack overflow faults
	 * (and ends as a double fault on the IST stack, see gdt.c) instead of
	 * silently overwriting .bss.
	 */
	movl $boot_pt, %edi
	movl $PTE_PRESENT_RW, %eax
	movl $512, %ecx
3:	movl %eax, (%edi)
	addl $4096, %eax
	addl $8, %edi
	loop 3b
	movl $boot_stack_guard, %eax
	shrl $12, %eax
	movl $0, boot_pt(, %eax, 8)
	movl $boot_pt, %eax
	orl $PTE_PRESENT_RW, %eax
	movl %eax, boot_pd

	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	andl $~CR0_EM, %eax
	orl $(CR0_PE | CR0_MP | CR0_PG), %eax
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $GDT_CODE64, $boot_start64

	.code64
boot_start64:
	movw $GDT_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq %cr4, %rax
	orq $(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
	movq %rax, %cr4
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	movl boot_start_info(%rip), %edi
	call boot_main
4:	cli
	hlt
	jmp 4b

	.section .rodata
	.p2align 3
boot_gdt:
	.quad 0                         /* null */
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff        /* 0x10: data, DPL 0 */
boot_gdt_end:
	.p2align 3
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.section .data
	.p2align 2
	.globl boot_start_info
boot_start_info:
	.long 0

	/* First in .bss (link.ld), so all of it lies in the 4 KiB-mapped first 2 MiB. */
	.section .bss.boot, "aw", @nobits
	.p2align 12
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
	.globl boot_pd                  /* vm.c splits its 2 MiB entries for guard pages */
boot_pd:
	.skip 4 * 4096
boot_pt:
	.skip 4096
	.globl boot_stack_guard
boot_stack_guard:
	.skip 4096                      /* left unmapped */
boot_stack:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
