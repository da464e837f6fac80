/*
 * libc/src/malloc.c — malloc, calloc, realloc, free with size classes over
 * the page allocator (page.c; the design is in libc/heap.h).
 *
 * Small requests (<= HEAP_SMALL_MAX) round up to one of the classes below
 * and come from one-page slabs: each slab keeps its own free list in its
 * descriptor, and each class a list of slabs that still have room. The page
 * number of a pointer finds its descriptor, so blocks carry no header. A
 * slab whose last block is freed goes back to the page allocator.
 * Larger requests take a run of whole pages.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/plat/metal/libc/src/heap_priv.h"

#define HEAP_CLASSES 14
#define HEAP_ALIGN   16u /* bytes: every class is a multiple */

static const uint16_t heap_class_size[HEAP_CLASSES] = {
	16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
};

_Static_assert(HEAP_SMALL_MAX == 2048, "the last class is HEAP_SMALL_MAX");

static struct heap_page *heap_partial[HEAP_CLASSES]; /* slabs with a free block */

void heap_classes_reset(void)
{
	memset(heap_partial, 0, sizeof(heap_partial));
}

static unsigned heap_class_of(size_t size)
{
	unsigned c = 0;

	while (heap_class_size[c] < size)
		c++;
	return c;
}

static void heap_partial_push(struct heap_page *d)
{
	d->prev = NULL;
	d->next = heap_partial[d->cls];
	if (d->next)
		d->next->prev = d;
	heap_partial[d->cls] = d;
}

static void heap_partial_remove(struct heap_page *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		heap_partial[d->cls] = d->next;
	if (d->next)
		d->next->prev = d->prev;
	d->next = d->prev = NULL;
}

/* A fresh slab for class c, its blocks threaded onto its free list. */
static struct heap_page *heap_slab_new(unsigned c)
{
	struct heap_page *d = heap_run_alloc(1, PAGE_SLAB);
	size_t size = heap_class_size[c];
	unsigned char *page;

	if (!d)
		return NULL;
	page = heap_page_addr(d);
	d->cls = (uint8_t)c;
	d->inuse = 0;
	d->free = NULL;
	for (size_t off = (HEAP_PAGE / size - 1) * size;; off -= size) {
		*(void **)(page + off) = d->free;
		d->free = page + off;
		if (off == 0)
			break;
	}
	heap_partial_push(d);
	return d;
}

static void *heap_small_alloc(size_t size)
{
	unsigned c = heap_class_of(size);
	struct heap_page *d = heap_partial[c];
	void *p;

	if (!d && !(d = heap_slab_new(c)))
		return NULL;
	p = d->free;
	d->free = *(void **)p;
	d->inuse++;
	if (!d->free)
		heap_partial_remove(d); /* full */
	heap_stats.used_bytes += heap_class_size[c];
	heap_stats.allocs++;
	return p;
}

static void heap_small_free(struct heap_page *d, void *p)
{
	unsigned char *page = heap_page_addr(d);

	assert(((size_t)((unsigned char *)p - page)) % heap_class_size[d->cls] == 0 &&
	       "free() of a pointer inside a block");
	assert(d->inuse > 0);
	if (!d->free)
		heap_partial_push(d); /* was full */
	*(void **)p = d->free;
	d->free = p;
	d->inuse--;
	heap_stats.used_bytes -= heap_class_size[d->cls];
	heap_stats.allocs--;
	if (d->inuse == 0) {
		heap_partial_remove(d);
		heap_run_free(d);
	}
}

void *malloc(size_t size)
{
	struct heap_page *d;
	size_t pages;

	if (size == 0)
		size = 1;
	if (size <= HEAP_SMALL_MAX)
		return heap_small_alloc(size);
	if (size > SIZE_MAX - HEAP_PAGE)
		return NULL;
	pages = (size + HEAP_PAGE - 1) / HEAP_PAGE;
	d = heap_run_alloc(pages, PAGE_LARGE);
	if (!d)
		return NULL;
	heap_stats.used_bytes += pages * HEAP_PAGE;
	heap_stats.allocs++;
	return heap_page_addr(d);
}

/* The descriptor of a live malloc block; asserts on a foreign pointer. */
static struct heap_page *heap_block_desc(const void *p)
{
	struct heap_page *d = heap_page_of(p);

	assert(d && "free() of a pointer malloc did not return");
	assert((d->state == PAGE_SLAB ||
		(d->state == PAGE_LARGE && ((uintptr_t)p & (HEAP_PAGE - 1)) == 0)) &&
	       "free() of a pointer malloc did not return, or a double free");
	return d;
}

size_t libc_heap_usable_size(const void *p)
{
	struct heap_page *d = heap_block_desc(p);

	return d->state == PAGE_SLAB ? heap_class_size[d->cls] : (size_t)d->run * HEAP_PAGE;
}

void free(void *p)
{
	struct heap_page *d;

	if (!p)
		return;
	d = heap_block_desc(p);
	if (d->state == PAGE_SLAB) {
		heap_small_free(d, p);
		return;
	}
	heap_stats.used_bytes -= (size_t)d->run * HEAP_PAGE;
	heap_stats.allocs--;
	heap_run_free(d);
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

void *realloc(void *ptr, size_t size)
{
	size_t have;
	void *moved;

	if (!ptr)
		return malloc(size);
	have = libc_heap_usable_size(ptr);
	/* Keep the block when it fits and is not more than twice too big. */
	if (size <= have && (size > have / 2 || have <= HEAP_ALIGN))
		return ptr;
	moved = malloc(size);
	if (!moved)
		return NULL;
	memcpy(moved, ptr, size < have ? size : have);
	free(ptr);
	return moved;
}
