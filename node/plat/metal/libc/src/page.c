/*
 * libc/src/page.c — the page allocator under malloc (see libc/heap.h).
 *
 * The region starts with an array of struct heap_page, one per managed page.
 * A run of pages is described by its head and tail descriptors (the same one
 * for a single page): state and length. Free runs are on a doubly linked
 * list; allocation is first fit and splits the run's front off, freeing
 * merges with the run just below (found through its tail) and the run just
 * above (its head). O(free runs) to allocate, O(1) to free.
 */
#include <assert.h>
#include <stdint.h>

#include "node/plat/metal/libc/src/heap_priv.h"

struct libc_heap_stats heap_stats;

static struct heap_page *page_desc;      /* one per page of [page_base, ...) */
static uintptr_t page_base;              /* first managed page */
static size_t page_count;                /* managed pages */
static struct heap_page *page_free_runs; /* list of free run heads */

static void page_list_add(struct heap_page *d)
{
	d->prev = NULL;
	d->next = page_free_runs;
	if (page_free_runs)
		page_free_runs->prev = d;
	page_free_runs = d;
}

static void page_list_remove(struct heap_page *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		page_free_runs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	d->next = d->prev = NULL;
}

/* Marks [d, d + pages) as one run in state; head and tail carry the length. */
static void page_mark(struct heap_page *d, size_t pages, uint8_t state)
{
	d->run = (uint32_t)pages;
	d->state = state;
	d[pages - 1].run = (uint32_t)pages;
	d[pages - 1].state = state;
}

void libc_heap_init(void *base, size_t len)
{
	uintptr_t lo = ((uintptr_t)base + HEAP_PAGE - 1) & ~(uintptr_t)(HEAP_PAGE - 1);
	uintptr_t hi = ((uintptr_t)base + len) & ~(uintptr_t)(HEAP_PAGE - 1);
	size_t pages, meta;

	assert(hi > lo + 2 * HEAP_PAGE && "the heap needs a few pages");
	pages = (hi - lo) / HEAP_PAGE;
	/* Descriptors for all pages, then as many pages as remain after them. */
	meta = (pages * sizeof(struct heap_page) + HEAP_PAGE - 1) / HEAP_PAGE;
	assert(meta < pages);
	page_desc = (struct heap_page *)lo;
	page_base = lo + meta * HEAP_PAGE;
	page_count = pages - meta;
	for (size_t i = 0; i < page_count; i++)
		page_desc[i] = (struct heap_page){0};
	page_free_runs = NULL;
	page_mark(page_desc, page_count, PAGE_FREE);
	page_list_add(page_desc);
	heap_stats = (struct libc_heap_stats){
		.region_bytes = len, .pages_total = page_count, .pages_free = page_count};
	heap_classes_reset();
}

void libc_heap_stats(struct libc_heap_stats *out)
{
	*out = heap_stats;
}

struct heap_page *heap_page_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	if (a < page_base || a >= page_base + page_count * HEAP_PAGE)
		return NULL;
	return &page_desc[(a - page_base) / HEAP_PAGE];
}

void *heap_page_addr(const struct heap_page *d)
{
	return (void *)(page_base + (size_t)(d - page_desc) * HEAP_PAGE);
}

struct heap_page *heap_run_alloc(size_t pages, uint8_t state)
{
	assert(page_desc && "libc_heap_init() runs before the first allocation");
	if (pages == 0 || pages > page_count)
		goto out;
	for (struct heap_page *d = page_free_runs; d; d = d->next) {
		size_t have = d->run;

		if (have < pages)
			continue;
		page_list_remove(d);
		if (have > pages) {
			page_mark(d + pages, have - pages, PAGE_FREE);
			page_list_add(d + pages);
		}
		page_mark(d, pages, state);
		heap_stats.pages_free -= pages;
		return d;
	}
out:
	heap_stats.failures++;
	return NULL;
}

void heap_run_free(struct heap_page *d)
{
	size_t pages = d->run;
	struct heap_page *end;

	assert(d->state != PAGE_FREE && d->state != PAGE_UNUSED && "double or foreign free");
	assert(pages >= 1 && d + pages <= page_desc + page_count);
	heap_stats.pages_free += pages;
	if (d > page_desc && d[-1].state == PAGE_FREE) { /* merge down */
		struct heap_page *below = d - d[-1].run;

		page_list_remove(below);
		d->state = PAGE_UNUSED; /* now inside a run: a second free trips the assert */
		pages += below->run;
		d = below;
	}
	end = d + pages;
	if (end < page_desc + page_count && end->state == PAGE_FREE) { /* merge up */
		size_t above = end->run;

		page_list_remove(end);
		end->state = PAGE_UNUSED;
		pages += above;
	}
	page_mark(d, pages, PAGE_FREE);
	page_list_add(d);
}

void *libc_page_alloc(size_t pages)
{
	struct heap_page *d = heap_run_alloc(pages, PAGE_RUN);

	return d ? heap_page_addr(d) : NULL;
}

void libc_page_free(void *p)
{
	struct heap_page *d;

	if (!p)
		return;
	d = heap_page_of(p);
	assert(d && d->state == PAGE_RUN && ((uintptr_t)p & (HEAP_PAGE - 1)) == 0);
	heap_run_free(d);
}
