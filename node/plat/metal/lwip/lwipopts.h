/*
 * node/plat/metal/lwip/lwipopts.h — lwIP configuration for the node image.
 *
 * Bare-metal, one thread: NO_SYS=1 and the raw (callback) API only; no
 * sockets, no netconn, no OS mutexes. lwIP keeps its own pools (MEM_SIZE,
 * MEMP_NUM_*) so its memory use is bounded and separate from malloc.
 * Sizes are first guesses for a node with a few dozen TCP connections
 * (coordinator control, peer data channels, netfs); the virtio-net issue
 * tunes them against measurements.
 */
#ifndef SD_METAL_LWIPOPTS_H
#define SD_METAL_LWIPOPTS_H

#define NO_SYS               1
#define LWIP_SOCKET          0
#define LWIP_NETCONN         0
#define SYS_LIGHTWEIGHT_PROT 0 /* single-threaded, no interrupt-time lwIP calls */
#define LWIP_TIMERS          1 /* sys_check_timeouts() from the main loop */

#define MEM_ALIGNMENT           8
#define MEM_SIZE                (1024 * 1024) /* bytes: lwIP heap (PBUF_RAM, tx) */
#define MEMP_NUM_PBUF           256           /* PBUF_REF/ROM headers */
#define MEMP_NUM_TCP_PCB        64            /* live TCP connections */
#define MEMP_NUM_TCP_PCB_LISTEN 8
#define MEMP_NUM_TCP_SEG        512 /* queued TCP segments */
#define MEMP_NUM_UDP_PCB        4
#define PBUF_POOL_SIZE          256 /* rx buffers */

#define LWIP_IPV4                  1
#define LWIP_IPV6                  0
#define LWIP_ARP                   1
#define LWIP_ETHERNET              1
#define LWIP_ICMP                  1
#define LWIP_RAW                   0
#define LWIP_UDP                   1
#define LWIP_TCP                   1
#define LWIP_DHCP                  0 /* addresses come from the command line */
#define LWIP_DNS                   0
#define LWIP_IGMP                  0
#define LWIP_AUTOIP                0
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK   1
#define LWIP_NETIF_LOOPBACK        1 /* 127.0.0.1 and own-address traffic; netif_poll_all() delivers */

#define TCP_MSS          1460
#define TCP_WND          (32 * TCP_MSS) /* bytes: receive window */
#define TCP_SND_BUF      (32 * TCP_MSS) /* bytes: send buffer per pcb */
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF) / TCP_MSS)
#define LWIP_WND_SCALE   1
#define TCP_RCV_SCALE    2

#define LWIP_STATS                   0
#define LWIP_CHECKSUM_CTRL_PER_NETIF 0
#define LWIP_DEBUG                   0

#endif /* SD_METAL_LWIPOPTS_H */
