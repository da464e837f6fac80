/*
 * string.h — the memory and string functions of the node image's libc.
 * Exactly the set Stardust's portable code may use (see CONTRIBUTING.md).
 */
#ifndef SD_METAL_LIBC_STRING_H
#define SD_METAL_LIBC_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);

size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);
/* Length of s's first run of characters not in reject. O(len(s) × len(reject)). */
size_t strcspn(const char *s, const char *reject);

/* Return owned copies (free()), or NULL when the heap is exhausted. */
char *strdup(const char *s);
char *strndup(const char *s, size_t max);

#endif /* SD_METAL_LIBC_STRING_H */
