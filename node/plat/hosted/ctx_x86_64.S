/*
 * node/plat/hosted/ctx_x86_64.S — plat_ctx_switch and the first-entry
 * trampoline for plat_ctx_init (System V x86_64). Saves only what the ABI
 * says a callee preserves: rbx rbp r12-r15, the x87 control word and MXCSR.
 * The same file serves the metal platform unchanged.
 *
 * Saved frame, from the saved sp upward:
 *   [sp+0] mxcsr/x87cw  [sp+8] r15  r14  r13  r12  rbx  rbp  [sp+56] return address
 */
	.text
	.globl plat_ctx_switch
	.type plat_ctx_switch, @function
/* void plat_ctx_switch(struct plat_ctx *from (rdi), struct plat_ctx *to (rsi)) */
plat_ctx_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $8, %rsp
	stmxcsr (%rsp)
	fnstcw 4(%rsp)
	movq %rsp, (%rdi)
	movq (%rsi), %rsp
	ldmxcsr (%rsp)
	fldcw 4(%rsp)
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size plat_ctx_switch, .-plat_ctx_switch

	.globl plat__ctx_trampoline
	.type plat__ctx_trampoline, @function
/* First entry: r12 = entry, r13 = arg; rsp is 16-byte aligned here. */
plat__ctx_trampoline:
	movq %r13, %rdi
	callq *%r12
	ud2 /* entry returned: a broken invariant */
	.size plat__ctx_trampoline, .-plat__ctx_trampoline

	.section .note.GNU-stack,"",@progbits
