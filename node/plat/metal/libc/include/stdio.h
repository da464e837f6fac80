/*
 * stdio.h — formatting only: the node image has no FILE streams. Output goes
 * through base/log.h, whose sink is the serial console.
 *
 * Conversions: %d %i %u %x %X %o %p %s %c %% with flags '-' '0' '+' ' ' '#',
 * width and precision (both may be '*'), length modifiers hh h l ll z j t.
 * No floating point conversions.
 */
#ifndef SD_METAL_LIBC_STDIO_H
#define SD_METAL_LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int snprintf(char *restrict buf, size_t cap, const char *restrict fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vsnprintf(char *restrict buf, size_t cap, const char *restrict fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif /* SD_METAL_LIBC_STDIO_H */
