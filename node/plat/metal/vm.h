/*
 * node/plat/metal/vm.h — holes in the identity map: guard pages.
 *
 *   metal_vm_guard(page, true);    unmaps one 4 KiB page (a fault if touched)
 *   metal_vm_guard(page, false);   maps it again
 *
 * boot.S maps the low 4 GiB with 2 MiB pages (the first 2 MiB with 4 KiB
 * ones). Guarding a page inside a 2 MiB mapping first splits that mapping
 * into a page table of 512 4 KiB entries (one page from the page allocator,
 * kept for good). Coroutine stacks (plat_stack_alloc) get a guard below.
 */
#ifndef SD_METAL_VM_H
#define SD_METAL_VM_H

#include <stdbool.h>
#include <stdint.h>

/* 0, SD_EINVAL (not page-aligned or above 4 GiB) or SD_ENOMEM (no page table). */
int metal_vm_guard(uintptr_t page, bool guard);

/* True when page is currently unmapped by metal_vm_guard. */
bool metal_vm_is_guard(uintptr_t page);

#endif /* SD_METAL_VM_H */
