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

/*
 * plat_tcp_lwip.c: connections to 127.0.0.0/8 go to ip instead ("" or a bad
 * address: back to lwIP's loopback). For user-mode networking, where the
 * coordinator hands out host services as 127.0.0.1 and the host is 10.0.2.2.
 */
void metal_tcp_set_localhost(const char *ip);

#endif /* SD_METAL_PLAT_METAL_H */
