/*
 * node/plat/metal/exit.h — leaving the image: the only way out of QEMU.
 *
 * QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=0x04)
 * ends QEMU when a value is written to its port, with exit status
 * (value << 1) | 1. We write METAL_EXIT_SUCCESS or METAL_EXIT_FAILURE, so a
 * test sees 33 or 35 — never 0 (a triple fault under -no-reboot) nor 1
 * (QEMU's own errors). Without the device the CPU halts forever instead, and
 * the caller's timeout notices.
 */
#ifndef SD_METAL_EXIT_H
#define SD_METAL_EXIT_H

#define METAL_EXIT_PORT    0xf4 /* isa-debug-exit iobase */
#define METAL_EXIT_SUCCESS 0x10 /* QEMU exits with status 33 */
#define METAL_EXIT_FAILURE 0x11 /* QEMU exits with status 35 */

/* Exits QEMU with status (code << 1) | 1. */
_Noreturn void metal_exit(unsigned code);

/* Prints "PANIC: <message>" on the console, then metal_exit(METAL_EXIT_FAILURE). */
_Noreturn void metal_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SD_METAL_EXIT_H */
