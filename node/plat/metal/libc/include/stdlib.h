/*
 * stdlib.h — allocation, sorting, number parsing and abort for the node image.
 *
 * The allocator has size classes over a page allocator, both over the RAM
 * handed over at boot (libc_heap_init() in "libc/heap.h"); every block is
 * 16-byte aligned; out of memory is NULL.
 */
#ifndef SD_METAL_LIBC_STDLIB_H
#define SD_METAL_LIBC_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

void qsort(void *base, size_t count, size_t size, int (*cmp)(const void *, const void *));
void *bsearch(const void *key, const void *base, size_t count, size_t size,
	      int (*cmp)(const void *, const void *));

long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
unsigned long long strtoull(const char *s, char **end, int base);
double strtod(const char *s, char **end);
int atoi(const char *s); /* lwIP's netif_find() needs it */

int abs(int v);
long labs(long v);
long long llabs(long long v);

/* Prints "abort" on the console and exits QEMU with the failure status. */
_Noreturn void abort(void);

#endif /* SD_METAL_LIBC_STDLIB_H */
