/*
 * node/plat/metal/plat_metal.h — what plat_metal.c and plat_tcp_lwip.c
 * share (not for the node core, which sees only node/plat/plat.h).
 */
#ifndef SD_METAL_PLAT_METAL_H
#define SD_METAL_PLAT_METAL_H

/* plat_tcp_lwip.c: runs the callbacks of sockets with pending events; returns how many. */
int metal_tcp_dispatch(void);
/* plat_tcp_lwip.c: true when some socket has events waiting for dispatch. */
int metal_tcp_pending(void);

#endif /* SD_METAL_PLAT_METAL_H */
