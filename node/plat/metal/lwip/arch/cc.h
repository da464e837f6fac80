/*
 * node/plat/metal/lwip/arch/cc.h — lwIP's compiler and platform hooks for
 * the node image: our mini libc (no inttypes.h: format macros here), the
 * console for diagnostics, metal_panic() for broken invariants.
 */
#ifndef SD_METAL_LWIP_ARCH_CC_H
#define SD_METAL_LWIP_ARCH_CC_H

#include <stdint.h>

#define BYTE_ORDER           LITTLE_ENDIAN
#define LWIP_NO_INTTYPES_H   1
#define LWIP_NO_UNISTD_H     1
#define LWIP_TIMEVAL_PRIVATE 0

#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

/* Implemented in sys_arch.c. */
void lwip_port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void lwip_port_assert(const char *msg, const char *file, int line);
uint32_t lwip_port_rand(void);

#define LWIP_PLATFORM_DIAG(x)     \
	do {                      \
		lwip_port_diag x; \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) lwip_port_assert((x), __FILE__, __LINE__)
#define LWIP_RAND()             lwip_port_rand()

#endif /* SD_METAL_LWIP_ARCH_CC_H */
