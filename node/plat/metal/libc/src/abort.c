/*
 * libc/src/abort.c — abort() and failed assertions end the image: they print
 * a report on the serial console and exit QEMU with the failure status.
 */
#include <assert.h>
#include <stdlib.h>

#include "node/plat/metal/exit.h"

void abort(void)
{
	metal_panic("abort() called");
}

void libc_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	metal_panic("assertion failed: %s:%d: %s: %s", file, line, func, expr);
}
