/*
 * assert.h — a failed assertion prints "assertion failed: file:line: func:
 * expr" on the console and exits QEMU with the failure status.
 * Not include-guarded, as the standard asks: NDEBUG may change between includes.
 */
#undef assert

_Noreturn void libc_assert_fail(const char *expr, const char *file, int line, const char *func);

#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : libc_assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#ifndef static_assert
#define static_assert _Static_assert
#endif
