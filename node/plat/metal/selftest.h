/*
 * node/plat/metal/selftest.h — the boot self-check: proves at every boot that
 * the pieces compiled into the image work on this machine, before the node
 * does anything else.
 *
 *   metal_selftest_run(mode, ram_bytes);   from boot_main(), after the heap
 *
 * It runs lwip_init(), checks a pbuf checksum and address parsing, and sends
 * bytes over a TCP connection to 127.0.0.1 inside lwIP (loopback netif);
 * encodes an sd.control.Register into a frame with wire_encode() and decodes
 * it back with wire_decode(), and checks libc's formatting, sorting and heap.
 * Any failed check panics (failure exit status). mode comes from the
 * selftest= command-line key: "ok" (default) checks; "fail" corrupts the
 * encoded frame so the wire check fails; "trap" executes an invalid opcode;
 * "stack" overflows the boot stack into its guard page (a double fault);
 * "assert" fails an assertion — the last three exist so tests can prove that
 * failures are seen.
 */
#ifndef SD_METAL_SELFTEST_H
#define SD_METAL_SELFTEST_H

#include <stdint.h>

/* Returns only when every check passed; unknown modes panic. */
void metal_selftest_run(const char *mode, uint64_t ram_bytes);

/*
 * echo=HOST:PORT (selftest_net.c): sends bytes (0: 100000) over plat.h TCP
 * to an echo server and checks they come back; panics otherwise.
 */
void metal_selftest_echo(const char *target, uint64_t bytes);

/* serve=PORT: echoes one TCP connection until its FIN, then returns; panics on errors. */
void metal_selftest_serve(const char *port);

/*
 * selftest=all (selftest_kernel.c): the kernel's own tests — page allocator
 * and size classes, coroutine context switches, timer sleeps, virtqueue
 * ring handling against a simulated device. Panics on a failure.
 */
void metal_selftest_kernel(void);

/* selftest=costack: a coroutine overflows its stack; the guard page must stop it (never returns). */
_Noreturn void metal_selftest_costack(void);

#endif /* SD_METAL_SELFTEST_H */
