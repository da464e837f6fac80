/*
 * libc/heap.h — the image's memory: a page allocator and, over it, the
 * malloc family with size classes (node image only).
 *
 *   libc_heap_init(base, len);     once at boot, before the first malloc
 *   p = libc_page_alloc(n);        n contiguous 4 KiB pages, page-aligned
 *   libc_page_free(p);             the run goes back (its length is remembered)
 *   libc_heap_stats(&st);          counters for the node's reports
 *
 * Pages: one descriptor per page at the start of the region; free runs sit
 * on one list (first fit) with their length in the head and tail
 * descriptors, so a freed run merges with both neighbours in O(1).
 * malloc: requests up to HEAP_SMALL_MAX bytes come from one-page slabs of
 * fourteen size classes (16 .. 2048 bytes); larger ones take whole pages.
 * An empty slab goes back to the page allocator. Out of memory is NULL,
 * never a hang. Not thread- or interrupt-safe: the image has one thread.
 */
#ifndef SD_METAL_LIBC_HEAP_H
#define SD_METAL_LIBC_HEAP_H

#include <stddef.h>

#define HEAP_PAGE      4096u /* bytes */
#define HEAP_SMALL_MAX 2048u /* bytes: the largest size class */

struct libc_heap_stats {
	size_t region_bytes; /* bytes handed to libc_heap_init */
	size_t used_bytes;   /* bytes in live malloc blocks (their class size) */
	size_t allocs;       /* live malloc blocks */
	size_t pages_total;  /* pages the allocator manages (descriptors excluded) */
	size_t pages_free;   /* of those, not handed out */
	size_t failures;     /* allocations refused for lack of memory */
};

/* Takes ownership of [base, base + len); len must hold a few pages. */
void libc_heap_init(void *base, size_t len);
void libc_heap_stats(struct libc_heap_stats *out);

/* Returns owned, page-aligned, uninitialised pages or NULL. */
void *libc_page_alloc(size_t pages);
/* Takes back a run from libc_page_alloc (NULL is fine). */
void libc_page_free(void *p);

/* Bytes usable at p (a live malloc block): at least what was asked. */
size_t libc_heap_usable_size(const void *p);

#endif /* SD_METAL_LIBC_HEAP_H */
