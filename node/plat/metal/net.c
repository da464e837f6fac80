/*
 * node/plat/metal/net.c — virtio-net driver and its lwIP netif (net.h).
 *
 * RX: NET_QUEUE_DESCS buffers stay posted on queue 0; each used one is
 * copied into a pool pbuf, handed to lwIP and posted again. TX: lwIP's
 * linkoutput copies the pbuf chain behind a zeroed virtio-net header into a
 * free buffer on queue 1; used TX buffers return to the free list on poll.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "node/plat/metal/cmdline.h"
#include "node/plat/metal/irq.h"
#include "node/plat/metal/net.h"
#include "node/plat/metal/virtio.h"

#define NET_HDR_BYTES          12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define NET_MTU                1500
#define NET_F_MAC              (1ull << 5)
#define NET_OPTION_MAX         32 /* bytes: ip= and gw= values */
#define NET_DEFAULT_IP         "10.0.2.15/24"
#define NET_DEFAULT_GW         "10.0.2.2"
#define NET_IOAPIC1_VIRTIO_GSI 16 /* microvm without ioapic2, ACPI on */
#define NET_LEGACY_VIRTIO_GSI  5  /* microvm without ioapic2, ACPI off */

static struct {
	bool up;
	struct virtio_mmio dev;
	struct virtq rx, tx;
	void *tx_free[NET_QUEUE_DESCS]; /* TX buffers not in flight */
	unsigned tx_free_count;
	struct netif netif;
	struct metal_net_stats stats;
	char addr[16];
} net;

/* Sent buffers back onto the free list; returns how many. */
static int net_reclaim_tx(void)
{
	uint16_t id;
	uint32_t len;
	int n = 0;

	while (virtq_used(&net.tx, &id, &len)) {
		net.tx_free[net.tx_free_count++] = virtq_buf(&net.tx, id);
		n++;
	}
	return n;
}

static err_t net_linkoutput(struct netif *netif, struct pbuf *p)
{
	unsigned char *buf;
	int id;

	(void)netif;
	if (p->tot_len > NET_BUF_BYTES - NET_HDR_BYTES)
		return ERR_BUF;
	if (net.tx_free_count == 0) {
		net_reclaim_tx(); /* not metal_net_poll: lwIP must not be re-entered */
		if (net.tx_free_count == 0) {
			net.stats.tx_full++;
			return ERR_MEM;
		}
	}
	buf = net.tx_free[--net.tx_free_count];
	memset(buf, 0, NET_HDR_BYTES);
	pbuf_copy_partial(p, buf + NET_HDR_BYTES, p->tot_len, 0);
	id = virtq_add(&net.tx, buf, NET_HDR_BYTES + p->tot_len, 0);
	if (id < 0) {
		net.tx_free[net.tx_free_count++] = buf;
		return ERR_MEM;
	}
	virtq_kick(&net.tx);
	net.stats.tx_frames++;
	return ERR_OK;
}

static err_t net_netif_init(struct netif *netif)
{
	netif->name[0] = 'v';
	netif->name[1] = 'n';
	netif->mtu = NET_MTU;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	for (unsigned i = 0; i < ETH_HWADDR_LEN; i++)
		netif->hwaddr[i] = virtio_mmio_config8(&net.dev, i);
	netif->flags =
		NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	netif->output = etharp_output;
	netif->linkoutput = net_linkoutput;
	return ERR_OK;
}

/* "A.B.C.D/N" into address and mask. 0 or SD_EINVAL. */
static int net_parse_cidr(const char *text, ip4_addr_t *addr, ip4_addr_t *mask)
{
	char buf[NET_OPTION_MAX];
	char *slash, *end;
	unsigned long prefix = 24;

	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		prefix = strtoul(slash + 1, &end, 10);
		if (*end || prefix == 0 || prefix > 32)
			return SD_EINVAL;
	}
	if (!ip4addr_aton(buf, addr))
		return SD_EINVAL;
	ip4_addr_set_u32(mask, lwip_htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix)));
	return 0;
}

static int net_queues_init(void)
{
	int rc = virtq_init(&net.rx, &net.dev, 0, NET_QUEUE_DESCS);

	if (rc == 0)
		rc = virtq_init(&net.tx, &net.dev, 1, NET_QUEUE_DESCS);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < net.rx.size; i++) {
		void *buf = malloc(NET_BUF_BYTES);

		if (!buf)
			return SD_ENOMEM;
		virtq_add(&net.rx, buf, NET_BUF_BYTES, VIRTQ_DESC_F_WRITE);
	}
	for (unsigned i = 0; i < net.tx.size; i++) {
		if (!(net.tx_free[i] = malloc(NET_BUF_BYTES)))
			return SD_ENOMEM;
	}
	net.tx_free_count = net.tx.size;
	return 0;
}

/* microvm wires transport i to GSI 24 + i with its second I/O APIC, else 16 + i or 5 + i. */
static void net_route_irq(void)
{
	unsigned i = net.dev.index;

	if (metal_irq_has_ioapic2()) {
		metal_irq_route(24 + i, IRQ_VECTOR_NET);
		return;
	}
	/* Which of the two depends on ACPI; an unused pin never fires. */
	metal_irq_route(NET_IOAPIC1_VIRTIO_GSI + i, IRQ_VECTOR_NET);
	if (NET_LEGACY_VIRTIO_GSI + i < 16)
		metal_irq_route(NET_LEGACY_VIRTIO_GSI + i, IRQ_VECTOR_NET);
}

int metal_net_init(void)
{
	char ip_text[NET_OPTION_MAX] = NET_DEFAULT_IP, gw_text[NET_OPTION_MAX] = NET_DEFAULT_GW;
	ip4_addr_t ip, mask, gw;
	uint64_t features;
	int rc;

	lwip_init();
	metal_cmdline_get("ip", ip_text, sizeof(ip_text));
	metal_cmdline_get("gw", gw_text, sizeof(gw_text));
	if (net_parse_cidr(ip_text, &ip, &mask) < 0 || !ip4addr_aton(gw_text, &gw)) {
		sd_log_error("net", "bad ip=%s or gw=%s", ip_text, gw_text);
		return SD_EINVAL;
	}
	if (virtio_mmio_find(VIRTIO_ID_NET, &net.dev) < 0) {
		sd_log_info("net", "no virtio-net device: loopback only");
		return 0;
	}
	rc = virtio_mmio_start(&net.dev, NET_F_MAC, &features);
	if (rc == 0)
		rc = net_queues_init();
	if (rc < 0) {
		sd_log_error("net", "virtio-net at %#lx: %s", (unsigned long)net.dev.base,
			     sd_strerror(rc));
		return rc;
	}
	net_route_irq();
	virtio_mmio_driver_ok(&net.dev);
	virtq_kick(&net.rx);
	if (!netif_add(&net.netif, &ip, &mask, &gw, NULL, net_netif_init, ethernet_input))
		return SD_ENOMEM;
	netif_set_default(&net.netif);
	netif_set_up(&net.netif);
	netif_set_link_up(&net.netif);
	ip4addr_ntoa_r(&ip, net.addr, sizeof(net.addr));
	net.up = true;
	sd_log_info(
		"net",
		"virtio-net at %#lx (transport %u): %s gw %s, mac %02x:%02x:%02x:%02x:%02x:%02x",
		(unsigned long)net.dev.base, net.dev.index, ip_text, gw_text, net.netif.hwaddr[0],
		net.netif.hwaddr[1], net.netif.hwaddr[2], net.netif.hwaddr[3], net.netif.hwaddr[4],
		net.netif.hwaddr[5]);
	return 0;
}

bool metal_net_up(void)
{
	return net.up;
}

const char *metal_net_addr(void)
{
	return net.addr;
}

static int net_receive(void)
{
	uint16_t id;
	uint32_t len;
	int n = 0;

	while (virtq_used(&net.rx, &id, &len)) {
		unsigned char *buf = virtq_buf(&net.rx, id);
		struct pbuf *p = NULL;

		n++;
		if (len > NET_HDR_BYTES)
			p = pbuf_alloc(PBUF_RAW, (u16_t)(len - NET_HDR_BYTES), PBUF_POOL);
		if (p) {
			pbuf_take(p, buf + NET_HDR_BYTES, (u16_t)(len - NET_HDR_BYTES));
			if (net.netif.input(p, &net.netif) != ERR_OK)
				pbuf_free(p);
			else
				net.stats.rx_frames++;
		} else {
			net.stats.rx_dropped++;
		}
		virtq_add(&net.rx, buf, NET_BUF_BYTES, VIRTQ_DESC_F_WRITE);
	}
	if (n)
		virtq_kick(&net.rx);
	return n;
}

int metal_net_poll(void)
{
	int n = 0;

	if (net.up) {
		virtio_mmio_ack(&net.dev); /* ack first: later completions raise a new edge */
		n += net_receive();
		n += net_reclaim_tx();
	}
	netif_poll_all(); /* loopback traffic */
	sys_check_timeouts();
	return n;
}

void metal_net_stats(struct metal_net_stats *out)
{
	*out = net.stats;
	out->irqs = metal_irq_count(IRQ_VECTOR_NET);
}
