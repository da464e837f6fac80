/*
 * node/plat/plat_mem_priv.h — what platforms and their test hooks may ask of
 * the shared accounted heap (plat_mem.c) beyond plat.h. Not for node/core.
 */
#ifndef SD_NODE_PLAT_MEM_PRIV_H
#define SD_NODE_PLAT_MEM_PRIV_H

#include <stdint.h>

/* The nth plat_alloc/plat_realloc growth from now fails (1 = the next); 0 = none. */
void plat__mem_fail_nth(uint64_t nth);

/* Failures injected so far. */
uint64_t plat__mem_faults(void);

/* Restarts the high-water mark from the current use. */
void plat__mem_reset_peak(void);

#endif /* SD_NODE_PLAT_MEM_PRIV_H */
