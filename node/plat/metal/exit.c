/*
 * node/plat/metal/exit.c — exit through isa-debug-exit, and panic.
 */
#include <stdarg.h>
#include <stdio.h>

#include "node/plat/metal/console.h"
#include "node/plat/metal/exit.h"
#include "node/plat/metal/io.h"

void metal_exit(unsigned code)
{
	io_out32(METAL_EXIT_PORT, code);
	/* Still here: QEMU runs without the exit device. */
	metal_console_puts("stardust-node: no isa-debug-exit device; halting\n");
	cpu_halt_forever();
}

void metal_panic(const char *fmt, ...)
{
	char msg[METAL_CONSOLE_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	metal_console_printf("PANIC: %s\n", msg);
	metal_exit(METAL_EXIT_FAILURE);
}
