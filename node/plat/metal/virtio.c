/*
 * node/plat/metal/virtio.c — virtio-mmio transport and split virtqueues
 * (virtio.h; register offsets from the virtio 1.1 spec, section 4.2.2).
 */
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "node/plat/metal/libc/heap.h"
#include "node/plat/metal/virtio.h"

#define MMIO_MAGIC          0x000
#define MMIO_VERSION        0x004
#define MMIO_DEVICE_ID      0x008
#define MMIO_DEV_FEATURES   0x010
#define MMIO_DEV_FEAT_SEL   0x014
#define MMIO_DRV_FEATURES   0x020
#define MMIO_DRV_FEAT_SEL   0x024
#define MMIO_QUEUE_SEL      0x030
#define MMIO_QUEUE_NUM_MAX  0x034
#define MMIO_QUEUE_NUM      0x038
#define MMIO_QUEUE_READY    0x044
#define MMIO_QUEUE_NOTIFY   0x050
#define MMIO_IRQ_STATUS     0x060
#define MMIO_IRQ_ACK        0x064
#define MMIO_STATUS         0x070
#define MMIO_QUEUE_DESC_LO  0x080
#define MMIO_QUEUE_DESC_HI  0x084
#define MMIO_QUEUE_AVAIL_LO 0x090
#define MMIO_QUEUE_AVAIL_HI 0x094
#define MMIO_QUEUE_USED_LO  0x0a0
#define MMIO_QUEUE_USED_HI  0x0a4
#define MMIO_CONFIG         0x100
#define MMIO_MAGIC_VALUE    0x74726976u /* "virt" */
#define STATUS_ACK          1u
#define STATUS_DRIVER       2u
#define STATUS_DRIVER_OK    4u
#define STATUS_FEATURES_OK  8u
#define VIRTIO_F_VERSION_1  (1ull << 32)

#define barrier() __asm__ volatile("" ::: "memory")

static uint32_t mmio_read(struct virtio_mmio *d, unsigned reg)
{
	return *(volatile uint32_t *)(d->base + reg);
}

static void mmio_write(struct virtio_mmio *d, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(d->base + reg) = v;
}

int virtio_mmio_find(uint32_t device_id, struct virtio_mmio *out)
{
	for (unsigned i = 0; i < VIRTIO_MMIO_TRANSPORTS; i++) {
		struct virtio_mmio d = {.base = VIRTIO_MMIO_WINDOW + i * VIRTIO_MMIO_STRIDE,
					.index = i};

		if (mmio_read(&d, MMIO_MAGIC) != MMIO_MAGIC_VALUE ||
		    mmio_read(&d, MMIO_DEVICE_ID) != device_id)
			continue;
		*out = d;
		return 0;
	}
	return SD_ENOENT;
}

int virtio_mmio_start(struct virtio_mmio *dev, uint64_t wanted, uint64_t *got)
{
	uint64_t offered;

	if (mmio_read(dev, MMIO_VERSION) != 2)
		return SD_EPROTO; /* legacy: run QEMU with -global virtio-mmio.force-legacy=false */
	mmio_write(dev, MMIO_STATUS, 0);
	mmio_write(dev, MMIO_STATUS, STATUS_ACK);
	mmio_write(dev, MMIO_STATUS, STATUS_ACK | STATUS_DRIVER);
	mmio_write(dev, MMIO_DEV_FEAT_SEL, 1);
	offered = (uint64_t)mmio_read(dev, MMIO_DEV_FEATURES) << 32;
	mmio_write(dev, MMIO_DEV_FEAT_SEL, 0);
	offered |= mmio_read(dev, MMIO_DEV_FEATURES);
	wanted = (wanted | VIRTIO_F_VERSION_1) & offered;
	if (!(wanted & VIRTIO_F_VERSION_1))
		return SD_EPROTO;
	mmio_write(dev, MMIO_DRV_FEAT_SEL, 1);
	mmio_write(dev, MMIO_DRV_FEATURES, (uint32_t)(wanted >> 32));
	mmio_write(dev, MMIO_DRV_FEAT_SEL, 0);
	mmio_write(dev, MMIO_DRV_FEATURES, (uint32_t)wanted);
	mmio_write(dev, MMIO_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(mmio_read(dev, MMIO_STATUS) & STATUS_FEATURES_OK))
		return SD_EPROTO;
	*got = wanted;
	return 0;
}

void virtio_mmio_driver_ok(struct virtio_mmio *dev)
{
	mmio_write(dev, MMIO_STATUS,
		   STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
}

uint8_t virtio_mmio_config8(struct virtio_mmio *dev, unsigned offset)
{
	return *(volatile uint8_t *)(dev->base + MMIO_CONFIG + offset);
}

uint32_t virtio_mmio_ack(struct virtio_mmio *dev)
{
	uint32_t st = mmio_read(dev, MMIO_IRQ_STATUS);

	if (st)
		mmio_write(dev, MMIO_IRQ_ACK, st);
	return st;
}

static void mmio_write64(struct virtio_mmio *d, unsigned lo, uint64_t v)
{
	mmio_write(d, lo, (uint32_t)v);
	mmio_write(d, lo + 4, (uint32_t)(v >> 32));
}

int virtq_init(struct virtq *q, struct virtio_mmio *dev, uint16_t index, uint16_t want)
{
	uint32_t max;
	uint16_t size = 1;

	mmio_write(dev, MMIO_QUEUE_SEL, index);
	max = mmio_read(dev, MMIO_QUEUE_NUM_MAX);
	if (max == 0 || mmio_read(dev, MMIO_QUEUE_READY))
		return SD_EPROTO;
	while ((uint32_t)size * 2 <= max && size * 2 <= want && size * 2 <= VIRTQ_SIZE_MAX)
		size *= 2;
	memset(q, 0, sizeof(*q));
	q->dev = dev;
	q->index = index;
	q->size = size;
	/* Three page-aligned pieces: 16*size, 6+2*size, 6+8*size bytes all fit a page. */
	q->desc = libc_page_alloc(1);
	q->avail = libc_page_alloc(1);
	q->used = libc_page_alloc(1);
	if (!q->desc || !q->avail || !q->used)
		return SD_ENOMEM; /* boot-time: the pages are not worth returning */
	memset(q->desc, 0, HEAP_PAGE);
	memset((void *)q->avail, 0, HEAP_PAGE);
	memset((void *)q->used, 0, HEAP_PAGE);
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->free_count = size;
	mmio_write(dev, MMIO_QUEUE_NUM, size);
	mmio_write64(dev, MMIO_QUEUE_DESC_LO, (uint64_t)(uintptr_t)q->desc);
	mmio_write64(dev, MMIO_QUEUE_AVAIL_LO, (uint64_t)(uintptr_t)q->avail);
	mmio_write64(dev, MMIO_QUEUE_USED_LO, (uint64_t)(uintptr_t)q->used);
	mmio_write(dev, MMIO_QUEUE_READY, 1);
	return 0;
}

int virtq_add(struct virtq *q, void *buf, uint32_t len, uint16_t flags)
{
	uint16_t id, slot;

	if (q->free_count == 0)
		return SD_EAGAIN;
	id = q->free_head;
	q->free_head = q->desc[id].next;
	q->free_count--;
	q->desc[id] = (struct virtq_desc){
		.addr = (uint64_t)(uintptr_t)buf, .len = len, .flags = flags, .next = 0};
	slot = q->avail[1] & (q->size - 1);
	q->avail[2 + slot] = id;
	barrier(); /* the entry before the index that publishes it */
	q->avail[1] = (uint16_t)(q->avail[1] + 1);
	return id;
}

void virtq_kick(struct virtq *q)
{
	barrier();
	mmio_write(q->dev, MMIO_QUEUE_NOTIFY, q->index);
}

bool virtq_used(struct virtq *q, uint16_t *id, uint32_t *len)
{
	uint16_t idx = (uint16_t)(q->used[0] >> 16), slot;

	if (idx == q->last_used)
		return false;
	barrier(); /* read the index before the entry */
	slot = q->last_used & (q->size - 1);
	*id = (uint16_t)q->used[1 + 2 * slot];
	*len = q->used[2 + 2 * slot];
	q->last_used++;
	q->desc[*id].next = q->free_head; /* the descriptor is free again */
	q->free_head = *id;
	q->free_count++;
	return true;
}

void *virtq_buf(struct virtq *q, uint16_t id)
{
	return (void *)(uintptr_t)q->desc[id].addr;
}
