/*
 * Helpers shared by the framing tests: a sample Register message, a
 * deterministic PRNG, and an allocator that counts and caps allocations so
 * tests can prove a hostile header never makes the decoder allocate.
 */
#ifndef SD_TESTS_WIRE_TEST_UTIL_H
#define SD_TESTS_WIRE_TEST_UTIL_H

#include <stdint.h>
#include <stdlib.h>

#include "proto/wire.h"

static inline uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Fills reg with borrowed static strings; labels[] must have room for 2. */
static inline void sample_register(Sd__Control__Register *reg, Sd__Control__Label *labels,
				   Sd__Control__Label **label_ptrs)
{
	sd__control__register__init(reg);
	sd__control__label__init(&labels[0]);
	sd__control__label__init(&labels[1]);
	labels[0].key = "tier";
	labels[0].value = "edge";
	labels[1].key = "gpu";
	labels[1].value = "none";
	label_ptrs[0] = &labels[0];
	label_ptrs[1] = &labels[1];
	reg->protocol_version = WIRE_VERSION;
	reg->name = "eu-west-1";
	reg->region = "eu-west";
	reg->zone = "a";
	reg->n_labels = 2;
	reg->labels = label_ptrs;
	reg->slots = 4;
	reg->memory_bytes = 256u << 20;
	reg->data_host = "10.0.0.7";
	reg->data_port = 7100;
	reg->token = "secret";
	reg->platform = "metal";
}

struct counting_alloc {
	ProtobufCAllocator base;
	size_t bytes_live;
	size_t bytes_peak;
	size_t calls;
};

static inline void *counting_alloc_fn(void *data, size_t size)
{
	struct counting_alloc *a = data;
	size_t *p = malloc(size + sizeof(size_t));
	if (!p)
		return NULL;
	*p = size;
	a->calls++;
	a->bytes_live += size;
	if (a->bytes_live > a->bytes_peak)
		a->bytes_peak = a->bytes_live;
	return p + 1;
}

static inline void counting_free_fn(void *data, void *ptr)
{
	struct counting_alloc *a = data;
	if (!ptr)
		return;
	size_t *p = (size_t *)ptr - 1;
	a->bytes_live -= *p;
	free(p);
}

static inline void counting_alloc_init(struct counting_alloc *a)
{
	a->base.alloc = counting_alloc_fn;
	a->base.free = counting_free_fn;
	a->base.allocator_data = a;
	a->bytes_live = a->bytes_peak = a->calls = 0;
}

#endif
