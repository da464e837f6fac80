/*
 * node/plat/metal/net.h — the network: virtio-net as an lwIP netif
 * (ethernet + ARP, static IPv4 from the command line).
 *
 *   metal_net_init();     after metal_clock_init(): lwip_init, device, netif
 *   metal_net_poll();     receive, reclaim sent buffers, run lwIP timers
 *   metal_net_up();       true when a virtio-net device and an address exist
 *
 * Command line: ip=A.B.C.D/PREFIX (default 10.0.2.15/24, QEMU user-mode
 * networking's guest address) and gw=A.B.C.D (default 10.0.2.2). No
 * virtio-net device is not an error: loopback (127.0.0.1) still works.
 * Frames are copied between pbufs and driver-owned buffers; the device
 * interrupt (edge, via the I/O APIC) only wakes the idle loop.
 */
#ifndef SD_METAL_NET_H
#define SD_METAL_NET_H

#include <stdbool.h>
#include <stdint.h>

#define NET_QUEUE_DESCS 128  /* descriptors per virtqueue */
#define NET_BUF_BYTES   2048 /* one frame with its virtio-net header */

struct metal_net_stats {
	uint64_t rx_frames, tx_frames, rx_dropped, tx_full, irqs;
};

/* 0 or an SD_E* code (a device that fails to start). */
int metal_net_init(void);
bool metal_net_up(void);
/* Returns how many frames moved (received + reclaimed). */
int metal_net_poll(void);
void metal_net_stats(struct metal_net_stats *out);
/* The netif address as "a.b.c.d", or "" without a device. */
const char *metal_net_addr(void);

#endif /* SD_METAL_NET_H */
