/*
 * node/plat/hosted/ctx_init.c — plat_ctx_init: the first frame of a new
 * coroutine, matching the switch in ctx_x86_64.S. Freestanding C (no OS
 * header): the metal platform compiles this file and the .S unchanged.
 */
#include <stdint.h>

#include "node/plat/plat.h"

void plat__ctx_trampoline(void); /* ctx_x86_64.S */

void plat_ctx_init(struct plat_ctx *ctx, void *stack, size_t stack_size, void (*entry)(void *),
		   void *arg)
{
	uintptr_t top = ((uintptr_t)stack + stack_size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 80); /* trampoline runs with rsp = top - 16 */

	sp[0] = 0x037F00001F80ull;          /* MXCSR default, x87 control word default */
	sp[1] = 0;                          /* r15 */
	sp[2] = 0;                          /* r14 */
	sp[3] = (uint64_t)(uintptr_t)arg;   /* r13: the trampoline's argument */
	sp[4] = (uint64_t)(uintptr_t)entry; /* r12: what the trampoline calls */
	sp[5] = 0;                          /* rbx */
	sp[6] = 0;                          /* rbp */
	sp[7] = (uint64_t)(uintptr_t)plat__ctx_trampoline;
	ctx->sp = sp;
}
