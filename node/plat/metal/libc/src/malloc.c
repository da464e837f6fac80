/*
 * libc/src/malloc.c — malloc, calloc, realloc, free over one region.
 *
 * The region is a sequence of blocks, each a 16-byte header followed by its
 * payload; a header's size walks to the next block. Allocation is first fit
 * from the start, merging runs of free blocks on the way and splitting the
 * block it takes: O(blocks) per call, fine for boot-time use and replaced by
 * the size-class heap later. Headers carry a magic so free() of a foreign or
 * already freed pointer trips an assert instead of corrupting the heap.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/plat/metal/libc/heap.h"

#define HEAP_ALIGN      16u                   /* bytes: payload alignment, like glibc on x86_64 */
#define HEAP_MIN_SPLIT  64u                   /* bytes: smallest remainder worth its own block */
#define HEAP_MAGIC_USED 0x5344414c4c4f4355ull /* "SDALLOCU" */
#define HEAP_MAGIC_FREE 0x5344414c4c4f4346ull /* "SDALLOCF" */

struct heap_block {
	size_t size;    /* bytes of the whole block, header included */
	uint64_t magic; /* HEAP_MAGIC_USED or HEAP_MAGIC_FREE */
};

_Static_assert(sizeof(struct heap_block) == HEAP_ALIGN, "header keeps payloads aligned");

static unsigned char *heap_start, *heap_end;
static struct libc_heap_stats heap_stats;

void libc_heap_init(void *base, size_t len)
{
	uintptr_t lo = ((uintptr_t)base + HEAP_ALIGN - 1) & ~(uintptr_t)(HEAP_ALIGN - 1);
	uintptr_t hi = ((uintptr_t)base + len) & ~(uintptr_t)(HEAP_ALIGN - 1);
	struct heap_block *first = (struct heap_block *)lo;

	assert(hi > lo && hi - lo >= HEAP_MIN_SPLIT);
	heap_start = (unsigned char *)lo;
	heap_end = (unsigned char *)hi;
	first->size = hi - lo;
	first->magic = HEAP_MAGIC_FREE;
	heap_stats = (struct libc_heap_stats){.region_bytes = hi - lo};
}

void libc_heap_stats(struct libc_heap_stats *out)
{
	*out = heap_stats;
}

static struct heap_block *heap_next(struct heap_block *b)
{
	unsigned char *next = (unsigned char *)b + b->size;

	return next < heap_end ? (struct heap_block *)next : NULL;
}

/* Absorbs the free blocks that directly follow b into b. */
static void heap_merge_following(struct heap_block *b)
{
	struct heap_block *n;

	while ((n = heap_next(b)) && n->magic == HEAP_MAGIC_FREE)
		b->size += n->size;
}

/* Shrinks b to need bytes when the rest is big enough to stand alone. */
static void heap_split(struct heap_block *b, size_t need)
{
	struct heap_block *rest;

	if (b->size - need < HEAP_MIN_SPLIT)
		return;
	rest = (struct heap_block *)((unsigned char *)b + need);
	rest->size = b->size - need;
	rest->magic = HEAP_MAGIC_FREE;
	b->size = need;
}

/* Block bytes for a payload of size, or 0 when that overflows. */
static size_t heap_block_bytes(size_t size)
{
	if (size > SIZE_MAX / 2)
		return 0;
	if (size == 0)
		size = 1;
	return sizeof(struct heap_block) + ((size + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1));
}

static struct heap_block *heap_block_of(void *ptr)
{
	struct heap_block *b = (struct heap_block *)ptr - 1;

	assert((unsigned char *)b >= heap_start && (unsigned char *)b < heap_end);
	assert(b->magic == HEAP_MAGIC_USED);
	return b;
}

void *malloc(size_t size)
{
	size_t need = heap_block_bytes(size);

	assert(heap_start && "libc_heap_init() runs before the first malloc");
	if (need == 0)
		return NULL;
	for (struct heap_block *b = (struct heap_block *)heap_start; b; b = heap_next(b)) {
		if (b->magic != HEAP_MAGIC_FREE)
			continue;
		heap_merge_following(b);
		if (b->size < need)
			continue;
		heap_split(b, need);
		b->magic = HEAP_MAGIC_USED;
		heap_stats.used_bytes += b->size;
		heap_stats.allocs++;
		return b + 1;
	}
	return NULL;
}

void free(void *ptr)
{
	struct heap_block *b;

	if (!ptr)
		return;
	b = heap_block_of(ptr);
	heap_stats.used_bytes -= b->size;
	heap_stats.allocs--;
	b->magic = HEAP_MAGIC_FREE;
	heap_merge_following(b);
}

void *calloc(size_t count, size_t size)
{
	void *p;

	if (size && count > SIZE_MAX / size)
		return NULL;
	p = malloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

/* Grows b in place into following free blocks; true when it now holds need. */
static int heap_grow_in_place(struct heap_block *b, size_t need)
{
	size_t before = b->size;

	heap_merge_following(b);
	heap_stats.used_bytes += b->size - before;
	if (b->size < need)
		return 0;
	heap_stats.used_bytes -= b->size;
	heap_split(b, need);
	heap_stats.used_bytes += b->size;
	return 1;
}

void *realloc(void *ptr, size_t size)
{
	struct heap_block *b;
	size_t need = heap_block_bytes(size);
	void *moved;

	if (!ptr)
		return malloc(size);
	if (need == 0)
		return NULL;
	b = heap_block_of(ptr);
	if (heap_grow_in_place(b, need))
		return ptr;
	moved = malloc(size);
	if (!moved)
		return NULL;
	memcpy(moved, ptr, b->size - sizeof(*b));
	free(ptr);
	return moved;
}
