/*
 * node/plat/metal/vm.c — guard pages in the identity map (vm.h).
 */
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "node/plat/metal/libc/heap.h"
#include "node/plat/metal/vm.h"

#define VM_PRESENT_RW 0x003ull
#define VM_HUGE       0x080ull
#define VM_ADDR_MASK  0x000ffffffffff000ull
#define VM_2M         (1ull << 21)
#define VM_LIMIT      (4ull << 30) /* boot.S maps this much */

extern uint64_t boot_pd[4 * 512]; /* boot.S: 2048 entries of 2 MiB */

static inline void vm_invlpg(uintptr_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* The 4 KiB page table for the 2 MiB region holding va, splitting it if need be. */
static uint64_t *vm_table(uintptr_t va)
{
	uint64_t *pde = &boot_pd[va >> 21];
	uint64_t *pt;

	if (!(*pde & VM_HUGE))
		return (uint64_t *)(uintptr_t)(*pde & VM_ADDR_MASK);
	pt = libc_page_alloc(1);
	if (!pt)
		return NULL;
	for (unsigned i = 0; i < 512; i++)
		pt[i] = ((va & ~(VM_2M - 1)) + (uint64_t)i * HEAP_PAGE) | VM_PRESENT_RW;
	*pde = (uint64_t)(uintptr_t)pt | VM_PRESENT_RW;
	vm_invlpg(va & ~(VM_2M - 1)); /* drops the 2 MiB translation */
	return pt;
}

int metal_vm_guard(uintptr_t page, bool guard)
{
	uint64_t *pt;

	if ((page & (HEAP_PAGE - 1)) || page >= VM_LIMIT)
		return SD_EINVAL;
	pt = vm_table(page);
	if (!pt)
		return SD_ENOMEM;
	pt[(page >> 12) & 511] = guard ? 0 : (page | VM_PRESENT_RW);
	vm_invlpg(page);
	return 0;
}

bool metal_vm_is_guard(uintptr_t page)
{
	uint64_t pde = boot_pd[page >> 21];

	if (pde & VM_HUGE)
		return false;
	return !(((uint64_t *)(uintptr_t)(pde & VM_ADDR_MASK))[(page >> 12) & 511] & 1);
}
