/*
 * node/plat/metal/cmdline.h — "key=value key2=value2 flag" from the PVH
 * command line (QEMU -append). Later words override earlier ones; unknown
 * keys are ignored, so QEMU may append its own (microvm adds virtio_mmio.*).
 *
 * Keys (docs/node-image.md keeps the full table): loglevel= selftest=
 * (boot.c, selftest.c); ip= gw= (net.c); echo= echo_bytes= serve= idle=
 * (boot.c, selftest_net.c); name= region= zone= label= coordinator= token=
 * memory= slots= listen= advertise= localhost= (node_main.c).
 */
#ifndef SD_METAL_CMDLINE_H
#define SD_METAL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define METAL_CMDLINE_MAX 1024 /* bytes kept from the loader's command line */

/* Copies the command line (cut at METAL_CMDLINE_MAX - 1 bytes). Borrows line. */
void metal_cmdline_init(const char *line);

/* The whole command line as kept. */
const char *metal_cmdline(void);

/*
 * Copies the value of the last "key=value" into out (cap bytes, NUL-terminated,
 * cut if longer). A bare "key" has the value "". Returns false when absent.
 */
bool metal_cmdline_get(const char *key, char *out, size_t cap);

#endif /* SD_METAL_CMDLINE_H */
