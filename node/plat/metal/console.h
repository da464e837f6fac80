/*
 * node/plat/metal/console.h — the serial console: COM1 (16550 UART at
 * 0x3f8), polled output, 115200 8N1. QEMU's -nographic/-serial stdio shows it.
 *
 *   metal_console_init();              first thing at boot
 *   metal_console_printf("x=%d\n", x); raw formatted output
 *   sd_log_info("who", ...);           after init: lines go to the console
 *
 * Output only for now; "\n" is sent as "\r\n". Safe to call from the trap
 * handler (no locks, no allocation).
 */
#ifndef SD_METAL_CONSOLE_H
#define SD_METAL_CONSOLE_H

#include <stddef.h>

#define METAL_CONSOLE_PORT     0x3f8 /* COM1 I/O base */
#define METAL_CONSOLE_LINE_MAX 512   /* bytes: one metal_console_printf() call */

/* Programs the UART and installs the base/log.h sink. */
void metal_console_init(void);

void metal_console_write(const char *s, size_t len);
void metal_console_puts(const char *s);
void metal_console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SD_METAL_CONSOLE_H */
