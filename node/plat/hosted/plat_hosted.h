/*
 * node/plat/hosted/plat_hosted.h — test hooks of the hosted platform.
 *
 * Faults are injected at the plat.h seam (SQLite's habit): tests make the
 * Nth allocation fail or cut connections, then check that the core reports
 * a clear error and keeps serving. Not for production code paths.
 */
#ifndef SD_NODE_PLAT_HOSTED_H
#define SD_NODE_PLAT_HOSTED_H

#include <stdint.h>

/* The nth plat_alloc/calloc/realloc from now fails (1 = the next); 0 disarms. */
void plat_hosted_fail_alloc_nth(uint64_t nth);

/* Count of allocations failed by injection so far. */
uint64_t plat_hosted_alloc_faults(void);

/*
 * The nth plat_tcp_send from now (1 = the next) resets its connection
 * instead of sending: the peer sees a reset, the caller SD_ECONNRESET.
 * 0 disarms.
 */
void plat_hosted_drop_send_nth(uint64_t nth);

/* Resets every connected (not listening) socket now. */
void plat_hosted_drop_all_connections(void);

/* Starts a new high-water mark for plat_mem_peak() at the current use. */
void plat_hosted_reset_mem_peak(void);

/* Count of plat_wait calls that slept (for "never spins" checks in tests). */
uint64_t plat_hosted_wait_calls(void);

#endif /* SD_NODE_PLAT_HOSTED_H */
