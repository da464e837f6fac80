/*
 * node/plat/metal/virtio.h — virtio 1.x (modern) over virtio-mmio: device
 * discovery, feature negotiation and split virtqueues. virtio_net.c is the
 * only user today.
 *
 *   struct virtio_mmio dev;
 *   virtio_mmio_find(VIRTIO_ID_NET, &dev);          probe microvm's window
 *   virtio_mmio_start(&dev, features, &got);        reset, ack, negotiate
 *   virtq_init(&q, &dev, 0, size);                  rings from the page allocator
 *   virtq_add(&q, addr, len, VIRTQ_DESC_F_WRITE);   one-descriptor buffer
 *   virtq_kick(&q);  while (virtq_used(&q, &id, &len)) ...
 *   virtio_mmio_driver_ok(&dev);
 *
 * Every buffer is a single descriptor (no chains): the net driver copies
 * frames into page-aligned buffers it owns. The rings use no event index.
 * Memory order: x86 keeps stores in order, so a compiler barrier separates
 * filling a descriptor from publishing its index.
 */
#ifndef SD_METAL_VIRTIO_H
#define SD_METAL_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MMIO_WINDOW     0xfeb00000u /* microvm's first transport */
#define VIRTIO_MMIO_STRIDE     0x200u      /* bytes per transport */
#define VIRTIO_MMIO_TRANSPORTS 24          /* the most microvm creates */
#define VIRTIO_ID_NET          1
#define VIRTQ_SIZE_MAX         256 /* descriptors per queue we use */
#define VIRTQ_DESC_F_WRITE     2

struct virtio_mmio {
	uintptr_t base;
	unsigned index; /* transport number in the window: picks the GSI */
	unsigned gsi;   /* interrupt line */
};

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	struct virtio_mmio *dev;
	uint16_t index; /* queue number */
	uint16_t size;  /* descriptors (a power of two) */
	uint16_t last_used;
	uint16_t free_count;
	uint16_t free_head; /* free descriptors chained through next */
	struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size] */
	volatile uint32_t *used;  /* flags|idx as one word, then (id, len) pairs */
};

/* Finds the first transport holding device_id. 0, or SD_ENOENT. */
int virtio_mmio_find(uint32_t device_id, struct virtio_mmio *out);

/* Resets the device, acknowledges it and negotiates wanted features
 * (VIRTIO_F_VERSION_1 is always asked). 0, SD_EPROTO (legacy device or
 * features refused). */
int virtio_mmio_start(struct virtio_mmio *dev, uint64_t wanted, uint64_t *got);
void virtio_mmio_driver_ok(struct virtio_mmio *dev);
uint8_t virtio_mmio_config8(struct virtio_mmio *dev, unsigned offset);
/* Reads and acknowledges the interrupt status (bit 0: used buffers). */
uint32_t virtio_mmio_ack(struct virtio_mmio *dev);

/* Sets up queue index with up to want descriptors. 0, SD_ENOMEM or SD_EPROTO. */
int virtq_init(struct virtq *q, struct virtio_mmio *dev, uint16_t index, uint16_t want);

/* Queues one buffer; returns its descriptor id or SD_EAGAIN when the ring is full. */
int virtq_add(struct virtq *q, void *buf, uint32_t len, uint16_t flags);
/* Tells the device about new buffers. */
void virtq_kick(struct virtq *q);
/* Pops one used buffer: true with its descriptor id and length written. */
bool virtq_used(struct virtq *q, uint16_t *id, uint32_t *len);
/* The buffer address given to virtq_add for a descriptor id. */
void *virtq_buf(struct virtq *q, uint16_t id);

#endif /* SD_METAL_VIRTIO_H */
