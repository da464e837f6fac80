/*
 * tests/qemu/node/mlibc.h — the node image's mini libc as the host test sees
 * it: the same functions with the mlibc_ prefix (libc_rename.h).
 */
#ifndef SD_TEST_MLIBC_H
#define SD_TEST_MLIBC_H

#include <stdarg.h>
#include <stddef.h>

#include "node/plat/metal/libc/heap.h"

void *mlibc_memmove(void *dst, const void *src, size_t n);
void *mlibc_memchr(const void *s, int c, size_t n);
int mlibc_memcmp(const void *a, const void *b, size_t n);
size_t mlibc_strlen(const char *s);
int mlibc_strcmp(const char *a, const char *b);
int mlibc_strncmp(const char *a, const char *b, size_t n);
char *mlibc_strchr(const char *s, int c);
char *mlibc_strrchr(const char *s, int c);
char *mlibc_strstr(const char *haystack, const char *needle);
char *mlibc_strndup(const char *s, size_t max);
void *mlibc_malloc(size_t size);
void *mlibc_calloc(size_t count, size_t size);
void *mlibc_realloc(void *ptr, size_t size);
void mlibc_free(void *ptr);
void mlibc_qsort(void *base, size_t count, size_t size, int (*cmp)(const void *, const void *));
void *mlibc_bsearch(const void *key, const void *base, size_t count, size_t size,
		    int (*cmp)(const void *, const void *));
long mlibc_strtol(const char *s, char **end, int base);
unsigned long mlibc_strtoul(const char *s, char **end, int base);
long long mlibc_strtoll(const char *s, char **end, int base);
unsigned long long mlibc_strtoull(const char *s, char **end, int base);
double mlibc_strtod(const char *s, char **end);
int mlibc_snprintf(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int mlibc_isdigit(int c);
int mlibc_isalpha(int c);
int mlibc_isalnum(int c);
int mlibc_isspace(int c);
int mlibc_isupper(int c);
int mlibc_islower(int c);
int mlibc_isxdigit(int c);
int mlibc_isprint(int c);
int mlibc_toupper(int c);
int mlibc_tolower(int c);

#endif /* SD_TEST_MLIBC_H */
