/*
 * libc/src/heap_priv.h — the page descriptors page.c and malloc.c share.
 */
#ifndef SD_METAL_LIBC_HEAP_PRIV_H
#define SD_METAL_LIBC_HEAP_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "node/plat/metal/libc/heap.h"

enum heap_page_state {
	PAGE_UNUSED = 0, /* inside a run, or never touched */
	PAGE_FREE,       /* head or tail of a free run */
	PAGE_LARGE,      /* head or tail of a run malloc handed out whole */
	PAGE_SLAB,       /* a one-page slab of one size class */
	PAGE_RUN,        /* head or tail of a run from libc_page_alloc */
};

struct heap_page {
	uint32_t run;                  /* pages in the run (head and tail descriptors) */
	uint8_t state;                 /* enum heap_page_state */
	uint8_t cls;                   /* PAGE_SLAB: size class index */
	uint16_t inuse;                /* PAGE_SLAB: live objects */
	void *free;                    /* PAGE_SLAB: first free object */
	struct heap_page *next, *prev; /* free runs, or a class's partial slabs */
};

/* The allocator's state (page.c owns it; malloc.c reads the counters). */
extern struct libc_heap_stats heap_stats;

/* page.c */
struct heap_page *heap_page_of(const void *p); /* NULL outside the region */
void *heap_page_addr(const struct heap_page *d);
struct heap_page *heap_run_alloc(size_t pages, uint8_t state); /* NULL when out */
void heap_run_free(struct heap_page *d);
void heap_classes_reset(void); /* malloc.c: forget slabs at init */

#endif /* SD_METAL_LIBC_HEAP_PRIV_H */
