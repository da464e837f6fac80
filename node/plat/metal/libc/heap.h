/*
 * libc/heap.h — hands the malloc family its memory (node image only).
 *
 *   libc_heap_init(base, len);   once at boot, before the first malloc
 *   libc_heap_stats(&st);        bytes in use, for diagnostics
 *
 * A first-fit free list with forward coalescing: O(blocks) per call. It is
 * the stop-gap until the page allocator and size-class heap land; nothing
 * outside libc/ and boot.c should depend on its shape.
 */
#ifndef SD_METAL_LIBC_HEAP_H
#define SD_METAL_LIBC_HEAP_H

#include <stddef.h>

struct libc_heap_stats {
	size_t region_bytes; /* bytes handed to libc_heap_init */
	size_t used_bytes;   /* bytes in allocated blocks, headers included */
	size_t allocs;       /* live allocations */
};

/* Takes ownership of [base, base + len); len must hold at least one block. */
void libc_heap_init(void *base, size_t len);
void libc_heap_stats(struct libc_heap_stats *out);

#endif /* SD_METAL_LIBC_HEAP_H */
