/*
 * deploy/sim/wan.h — stardust-wan, the simulation's user-space WAN switch
 * (module prefix wan_; private to deploy/sim).
 *
 * The kernel here has no netem, so region-to-region behaviour is emulated in
 * one process: every QEMU VM (or tap device of a network namespace) is a
 * port of an Ethernet switch; each port belongs to a region. The switch
 * learns source MACs, forwards or floods frames, and sends every frame that
 * crosses from region A to region B through the directional link A->B:
 *
 *   cut (partition)?  -> dropped (drops_cut)
 *   random < loss?    -> dropped (drops_loss)
 *   queue full?       -> dropped (drops_queue; WAN_LINK_QUEUE_FRAMES)
 *   bandwidth: the link serialises frames (a token bucket one frame deep):
 *              depart = max(now, link free) + bytes*8/rate
 *   due = depart + latency + uniform(-jitter, +jitter), never before the
 *         link's previous frame (per-link FIFO order, so TCP sees no reorder)
 *
 * and a min-heap of pending frames ordered by due time, driven by a timerfd
 * (ns resolution), hands frames to the output port when due.
 *
 * Ports: "unix" ports listen on a unix stream socket that QEMU's
 *   -netdev stream,server=off,addr.type=unix,addr.path=PATH
 * (or a test) connects to; frames are a 4-byte big-endian length, then the
 * frame (QEMU's stream/socket framing). A new connection replaces the old.
 * "tap" ports open a tap device (IFF_TAP|IFF_NO_PI) inside a named network
 * namespace (/var/run/netns/NAME, entered with setns for the open only).
 *
 * Single-threaded epoll loop. Everything is owned by struct wan.
 */
#ifndef SD_DEPLOY_SIM_WAN_H
#define SD_DEPLOY_SIM_WAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deploy/sim/topo.h"

#define WAN_PORTS_MAX         128        /* ports per switch */
#define WAN_REGIONS_MAX       40         /* regions, "host" included */
#define WAN_FRAME_MAX         65550      /* bytes of one Ethernet frame (QEMU's max + slack) */
#define WAN_LINK_QUEUE_FRAMES 1000       /* frames waiting on one directional link (as netem) */
#define WAN_HEAP_FRAMES_MAX   65536      /* frames waiting in the whole switch */
#define WAN_PORT_OUTBUF       (1u << 20) /* bytes buffered towards one unix port */
#define WAN_MACS_MAX          1024       /* learned MAC addresses */
#define WAN_CTL_CONNS_MAX     8          /* control connections at once */
#define WAN_CTL_LINE_MAX      512        /* bytes of one control command */
#define WAN_NAME_MAX          TOPO_NAME_MAX

enum wan_port_kind { WAN_PORT_UNIX, WAN_PORT_TAP };

struct wan_port {
	char name[WAN_NAME_MAX];
	int region;
	enum wan_port_kind kind;
	int listen_fd; /* unix ports; -1 for taps */
	int fd;        /* the connection or the tap; -1 when none */
	char path[108];
	uint8_t *rbuf; /* WAN_FRAME_MAX + 4 bytes; unix ports */
	size_t rlen;
	uint8_t *wbuf; /* WAN_PORT_OUTBUF bytes; unix ports */
	size_t wlen;
	bool pollout; /* EPOLLOUT is in the epoll set */
	uint64_t rx_frames, tx_frames, drops_out;
};

struct wan_link {
	uint64_t latency_ns, jitter_ns;
	double loss;
	uint64_t rate_bps; /* 0 = unlimited */
	bool cut;
	uint64_t tx_free_ns, last_due_ns;
	uint32_t queued;
	uint64_t frames, delivered, drops_loss, drops_queue, drops_cut;
};

struct wan_frame {
	uint64_t due_ns, seq;
	uint16_t out_port;
	uint8_t src_region, dst_region;
	uint32_t len;
	uint8_t data[];
};

struct wan_mac {
	uint8_t mac[6];
	uint16_t port;
};

struct wan_ctl_conn {
	int fd; /* -1 when free */
	char line[WAN_CTL_LINE_MAX];
	size_t len;
};

struct wan {
	int epfd, timerfd, sigfd, ctl_fd;
	char ctl_path[108];
	bool stop;
	struct wan_port ports[WAN_PORTS_MAX];
	int nports;
	char regions[WAN_REGIONS_MAX][WAN_NAME_MAX];
	int nregions;
	struct wan_link links[WAN_REGIONS_MAX][WAN_REGIONS_MAX]; /* [from][to] */
	struct wan_frame **heap;
	size_t heap_len;
	uint64_t seq, rng;
	struct wan_mac macs[WAN_MACS_MAX];
	int nmacs;
	uint64_t drops_runt, drops_heap;
	struct wan_ctl_conn ctl[WAN_CTL_CONNS_MAX];
};

/* epoll tags: kind in the high 32 bits, index in the low. */
enum wan_tag {
	WAN_TAG_LISTEN = 1,
	WAN_TAG_PORT,
	WAN_TAG_CTL_LISTEN,
	WAN_TAG_CTL,
	WAN_TAG_TIMER,
	WAN_TAG_SIGNAL
};

uint64_t wan_now_ns(void);
int wan_region_intern(struct wan *w, const char *name); /* -1 when full */
int wan_region_find(const struct wan *w, const char *name);
void wan_link_apply_topology(struct wan *w, const struct topo *t);
void wan_link_set(struct wan_link *l, const struct topo_link *p);
/* Queues (copies) a frame from in_port's region towards out_port. */
void wan_link_submit(struct wan *w, int in_port, int out_port, const uint8_t *data, size_t len);
void wan_link_expire(struct wan *w); /* delivers every due frame, re-arms the timer */
void wan_link_free_all(struct wan *w);

int wan_port_add(struct wan *w, const char *spec, char *err, size_t errlen);
void wan_port_event(struct wan *w, int idx, uint32_t events);
void wan_port_accept(struct wan *w, int idx);
void wan_port_send(struct wan *w, int idx, const uint8_t *data, size_t len);
void wan_port_close_all(struct wan *w);
/* Forwarding: learns the source MAC and hands the frame to wan_link_submit. */
void wan_switch_frame(struct wan *w, int in_port, const uint8_t *data, size_t len);

int wan_ctl_listen(struct wan *w, const char *path);
void wan_ctl_accept(struct wan *w);
void wan_ctl_event(struct wan *w, int idx);
int wan_ctl_client(const char *path, int argc, char **argv);

int wan_epoll_add(struct wan *w, int fd, uint32_t events, enum wan_tag tag, int idx);
int wan_epoll_mod(struct wan *w, int fd, uint32_t events, enum wan_tag tag, int idx);

#endif
