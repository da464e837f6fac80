/*
 * node/plat/plat_mem.c — plat.h's accounted heap, shared by every platform.
 *
 * Each block carries a PLAT_MEM_HEADER-byte prefix holding its size, so
 * plat_free() needs only the pointer and the counters stay exact. The
 * platform supplies malloc/realloc/free (glibc hosted, our own size-class
 * heap on metal). Not thread-safe: one node is one event loop.
 *
 * Tests inject allocation failures through plat__mem_fail_nth() (hosted:
 * plat_hosted_fail_alloc_nth) — the SQLite habit of faulting at the seam.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/plat/plat.h"
#include "node/plat/plat_mem_priv.h"

#define PLAT_MEM_HEADER 16 /* bytes before each block: its size, keeps 16-byte alignment */

static struct {
	size_t used, peak, limit;  /* bytes */
	uint64_t fail_nth, faults; /* injected failures: countdown, count */
} mem;

/* May `more` bytes be added? Counts down an injected failure first. */
static bool mem_allowed(size_t more)
{
	if (mem.fail_nth && --mem.fail_nth == 0) {
		mem.faults++;
		return false;
	}
	return !mem.limit || (mem.used <= mem.limit && more <= mem.limit - mem.used);
}

static void mem_account(size_t add, size_t sub)
{
	assert(sub <= mem.used + add);
	mem.used = mem.used + add - sub;
	if (mem.used > mem.peak)
		mem.peak = mem.used;
}

void *plat_alloc(size_t size)
{
	unsigned char *p;

	if (size > SIZE_MAX - PLAT_MEM_HEADER || !mem_allowed(size))
		return NULL;
	p = malloc(size + PLAT_MEM_HEADER);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof(size));
	mem_account(size, 0);
	return p + PLAT_MEM_HEADER;
}

void *plat_calloc(size_t count, size_t size)
{
	void *p;

	if (size && count > SIZE_MAX / size)
		return NULL;
	p = plat_alloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

void *plat_realloc(void *ptr, size_t size)
{
	unsigned char *base, *p;
	size_t old;

	if (!ptr)
		return plat_alloc(size);
	base = (unsigned char *)ptr - PLAT_MEM_HEADER;
	memcpy(&old, base, sizeof(old));
	if (size > SIZE_MAX - PLAT_MEM_HEADER || (size > old && !mem_allowed(size - old)))
		return NULL;
	p = realloc(base, size + PLAT_MEM_HEADER);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof(size));
	mem_account(size, old);
	return p + PLAT_MEM_HEADER;
}

void plat_free(void *ptr)
{
	unsigned char *base;
	size_t size;

	if (!ptr)
		return;
	base = (unsigned char *)ptr - PLAT_MEM_HEADER;
	memcpy(&size, base, sizeof(size));
	assert(size <= mem.used);
	mem.used -= size;
	free(base);
}

size_t plat_mem_used(void)
{
	return mem.used;
}

size_t plat_mem_peak(void)
{
	return mem.peak;
}

void plat_mem_set_limit(size_t bytes)
{
	mem.limit = bytes;
}

size_t plat_mem_limit(void)
{
	return mem.limit;
}

void plat__mem_fail_nth(uint64_t nth)
{
	mem.fail_nth = nth;
}

uint64_t plat__mem_faults(void)
{
	return mem.faults;
}

void plat__mem_reset_peak(void)
{
	mem.peak = mem.used;
}
