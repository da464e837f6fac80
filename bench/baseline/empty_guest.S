/* An empty PVH guest: QEMU enters it in 32-bit protected mode; it writes to
 * the isa-debug-exit port at once, so QEMU exits with status (0x10 << 1) | 1 = 33. */
	.section .note.pvh, "a"
	.align 4
	.long 4          /* name size */
	.long 4          /* desc size */
	.long 18         /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start
	.text
	.code32
	.globl _start
_start:
	mov $0x10, %al
	out %al, $0xf4
1:	hlt
	jmp 1b
	.section .note.GNU-stack, "", @progbits
