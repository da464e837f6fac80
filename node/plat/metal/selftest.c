/*
 * node/plat/metal/selftest.c — the boot self-check (see selftest.h).
 * Each check computes its expectation independently of the code under test.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "node/plat/metal/exit.h"
#include "node/plat/metal/selftest.h"
#include "proto/wire.h"

#define SELFTEST_PBUF_BYTES 301  /* odd on purpose: the checksum's tail byte */
#define SELFTEST_FRAME_MAX  1024 /* bytes: room for one Register frame */
#define SELFTEST_SORT_COUNT 64
#define SELFTEST_TCP_PORT   7999 /* loopback listener (not the data port 7070: TIME_WAIT) */
#define SELFTEST_TCP_POLLS  64   /* netif_poll_all() rounds before giving up */

#define CHECK(cond, what)                                                                  \
	do {                                                                               \
		if (!(cond))                                                               \
			metal_panic("self-check failed: %s (%s:%d: %s)", (what), __FILE__, \
				    __LINE__, #cond);                                      \
	} while (0)

/* RFC 1071 sum over bytes, written out here to check lwIP's against. */
static uint16_t selftest_ones_sum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* State of the loopback TCP exchange; lwIP callbacks see it through arg. */
struct selftest_tcp {
	struct tcp_pcb *listener, *server, *client;
	char received[32];
	size_t received_len;
	bool connected;
	err_t error;
};

static const char selftest_tcp_message[] = "hello over lwIP";

static err_t selftest_tcp_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct selftest_tcp *t = arg;
	size_t room = sizeof(t->received) - t->received_len;
	size_t n;

	if (!p)
		return ERR_OK; /* peer closed */
	n = p->tot_len < room ? p->tot_len : room;
	pbuf_copy_partial(p, t->received + t->received_len, (u16_t)n, 0);
	t->received_len += n;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return err;
}

static err_t selftest_tcp_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct selftest_tcp *t = arg;

	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	t->server = pcb;
	tcp_arg(pcb, t);
	tcp_recv(pcb, selftest_tcp_recv);
	return ERR_OK;
}

static err_t selftest_tcp_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct selftest_tcp *t = arg;

	t->connected = err == ERR_OK;
	t->error = tcp_write(pcb, selftest_tcp_message, sizeof(selftest_tcp_message) - 1,
			     TCP_WRITE_FLAG_COPY);
	if (t->error == ERR_OK)
		t->error = tcp_output(pcb);
	return ERR_OK;
}

/* A TCP connection to 127.0.0.1 inside lwIP: handshake, data, close. */
static void selftest_lwip_tcp(void)
{
	static struct selftest_tcp t; /* outlives the pcbs' last callbacks */
	ip_addr_t loopback;
	struct tcp_pcb *pcb;

	IP_ADDR4(&loopback, 127, 0, 0, 1);
	pcb = tcp_new();
	CHECK(pcb && tcp_bind(pcb, &loopback, SELFTEST_TCP_PORT) == ERR_OK, "lwIP tcp_bind");
	t.listener = tcp_listen(pcb);
	CHECK(t.listener != NULL, "lwIP tcp_listen");
	tcp_arg(t.listener, &t);
	tcp_accept(t.listener, selftest_tcp_accept);
	t.client = tcp_new();
	CHECK(t.client != NULL, "lwIP tcp_new");
	tcp_arg(t.client, &t);
	CHECK(tcp_connect(t.client, &loopback, SELFTEST_TCP_PORT, selftest_tcp_connected) == ERR_OK,
	      "lwIP tcp_connect");
	for (int i = 0; i < SELFTEST_TCP_POLLS && t.received_len < sizeof(selftest_tcp_message) - 1;
	     i++)
		netif_poll_all();
	CHECK(t.connected && t.server && t.error == ERR_OK, "lwIP loopback handshake");
	CHECK(t.received_len == sizeof(selftest_tcp_message) - 1 &&
		      memcmp(t.received, selftest_tcp_message, t.received_len) == 0,
	      "lwIP loopback TCP data");
	CHECK(tcp_close(t.client) == ERR_OK && tcp_close(t.server) == ERR_OK &&
		      tcp_close(t.listener) == ERR_OK,
	      "lwIP tcp_close");
	for (int i = 0; i < SELFTEST_TCP_POLLS; i++)
		netif_poll_all(); /* FIN exchange */
}

static void selftest_lwip(void)
{
	uint8_t bytes[SELFTEST_PBUF_BYTES];
	struct pbuf *p;
	ip4_addr_t addr;
	uint16_t lwip_sum;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 7 + 3);
	p = pbuf_alloc(PBUF_RAW, sizeof(bytes), PBUF_RAM);
	CHECK(p != NULL, "lwIP pbuf_alloc");
	CHECK(pbuf_take(p, bytes, sizeof(bytes)) == ERR_OK, "lwIP pbuf_take");
	lwip_sum = lwip_ntohs(inet_chksum_pbuf(p)); /* lwIP returns network order */
	CHECK(lwip_sum == selftest_ones_sum(bytes, sizeof(bytes)), "lwIP inet_chksum_pbuf");
	pbuf_free(p);
	CHECK(ip4addr_aton("10.0.2.15", &addr) == 1, "lwIP ip4addr_aton");
	CHECK(lwip_ntohl(ip4_addr_get_u32(&addr)) == 0x0a00020fu, "lwIP address bytes");
	selftest_lwip_tcp();
}

static void selftest_register_fill(Sd__Control__Register *reg, Sd__Control__Label *label,
				   Sd__Control__Label **labels, uint64_t ram_bytes)
{
	sd__control__register__init(reg);
	sd__control__label__init(label);
	label->key = "role";
	label->value = "selftest";
	labels[0] = label;
	reg->protocol_version = WIRE_VERSION;
	reg->name = "metal-selftest";
	reg->region = "local";
	reg->zone = "qemu";
	reg->n_labels = 1;
	reg->labels = labels;
	reg->slots = 1;
	reg->memory_bytes = ram_bytes;
	reg->data_port = 7070;
	reg->platform = "metal";
	reg->version = SD_VERSION_STRING;
}

/* Flips a byte of "metal-selftest" inside the encoded body. */
static void selftest_corrupt(uint8_t *frame, size_t len)
{
	const char *needle = "metal-selftest";
	size_t n = strlen(needle);

	for (size_t i = WIRE_HEADER_SIZE; i + n <= len; i++) {
		if (memcmp(frame + i, needle, n) == 0) {
			frame[i] ^= 0x20; /* 'm' -> 'M' */
			return;
		}
	}
}

static void selftest_wire(uint64_t ram_bytes, bool corrupt)
{
	Sd__Control__Register reg, *back;
	Sd__Control__Label label, *labels[1];
	uint8_t *frame = malloc(SELFTEST_FRAME_MAX);
	struct wire_frame f;
	long len;
	int rc;

	CHECK(frame != NULL, "malloc for the frame");
	selftest_register_fill(&reg, &label, labels, ram_bytes);
	len = wire_encode(WIRE_CTL_REGISTER, &reg.base, NULL, 0, frame, SELFTEST_FRAME_MAX);
	CHECK(len > (long)WIRE_HEADER_SIZE, "wire_encode Register");
	CHECK((size_t)len == wire_frame_size(&reg.base, 0), "wire_frame_size matches");
	CHECK(frame[0] == 'S' && frame[1] == 'D' && frame[2] == WIRE_VERSION, "frame header");
	if (corrupt)
		selftest_corrupt(frame, (size_t)len);
	rc = wire_decode(frame, (size_t)len, WIRE_CONTROL_FRAME_MAX, NULL, &f);
	CHECK(rc == 0, "wire_decode Register");
	CHECK(f.hdr.type == WIRE_CTL_REGISTER && f.attach_len == 0, "decoded type");
	back = (Sd__Control__Register *)f.msg;
	CHECK(strcmp(back->name, "metal-selftest") == 0, "decoded name");
	CHECK(strcmp(back->platform, "metal") == 0, "decoded platform");
	CHECK(back->n_labels == 1 && strcmp(back->labels[0]->value, "selftest") == 0,
	      "decoded label");
	CHECK(back->memory_bytes == ram_bytes && back->data_port == 7070, "decoded numbers");
	wire_frame_release(&f, NULL);
	CHECK(wire_decode(frame, (size_t)len - 1, WIRE_CONTROL_FRAME_MAX, NULL, &f) == SD_ETRUNC,
	      "wire_decode refuses a truncated frame");
	free(frame);
}

static int selftest_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static void selftest_libc(void)
{
	char buf[64];
	int v[SELFTEST_SORT_COUNT];
	int key = 42 * 3;
	char *s;

	snprintf(buf, sizeof(buf), "%-4s|%05d|%x|%.*s|%zu|%lld", "ab", -42, 0xbeefu, 3, "wxyz",
		 (size_t)7, -9000000000ll);
	CHECK(strcmp(buf, "ab  |-0042|beef|wxy|7|-9000000000") == 0, "snprintf");
	CHECK(snprintf(buf, 4, "%s", "truncated") == 9 && strcmp(buf, "tru") == 0,
	      "snprintf truncation");
	for (int i = 0; i < SELFTEST_SORT_COUNT; i++)
		v[i] = ((i * 37) % SELFTEST_SORT_COUNT) * 3; /* a permutation of 0, 3, ... */
	qsort(v, SELFTEST_SORT_COUNT, sizeof(v[0]), selftest_cmp_int);
	for (int i = 0; i < SELFTEST_SORT_COUNT; i++)
		CHECK(v[i] == i * 3, "qsort order");
	CHECK(bsearch(&key, v, SELFTEST_SORT_COUNT, sizeof(v[0]), selftest_cmp_int) == &v[42],
	      "bsearch");
	CHECK(strtol("  -0x1f", NULL, 0) == -31 &&
		      strtoull("18446744073709551615", NULL, 10) == UINT64_MAX,
	      "strtol/strtoull");
	s = strdup("heap");
	CHECK(s && strcmp(s, "heap") == 0, "strdup");
	s = realloc(s, 4096);
	CHECK(s && strcmp(s, "heap") == 0, "realloc keeps bytes");
	free(s);
}

/* Never reached: keeps gcc from calling the recursion infinite. */
static volatile unsigned selftest_recursion_limit = UINT32_MAX;

/* Recurses with 512-byte frames until the boot stack's guard page stops it. */
static unsigned selftest_recurse(unsigned depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	if (depth == selftest_recursion_limit)
		return 0;
	return selftest_recurse(depth + 1) + (unsigned)pad[0];
}

void metal_selftest_run(const char *mode, uint64_t ram_bytes)
{
	bool corrupt = strcmp(mode, "fail") == 0;

	if (strcmp(mode, "all") == 0) {
		metal_selftest_kernel(); /* then the boot checks below */
		mode = "ok";
	}

	if (strcmp(mode, "trap") == 0) {
		sd_log_info("selftest", "selftest=trap: executing an invalid opcode");
		__asm__ volatile("ud2");
	}
	if (strcmp(mode, "costack") == 0)
		metal_selftest_costack();
	if (strcmp(mode, "stack") == 0) {
		sd_log_info("selftest", "selftest=stack: overflowing the boot stack");
		selftest_recurse(0);
	}
	if (strcmp(mode, "assert") == 0)
		sd_log_info("selftest", "selftest=assert: failing an assertion");
	assert(strcmp(mode, "assert") != 0 && "selftest=assert asks for this");
	if (!corrupt && strcmp(mode, "ok") != 0)
		metal_panic(
			"selftest=%s: unknown mode (ok, all, fail, trap, stack, costack, assert)",
			mode);
	selftest_libc();
	selftest_lwip();
	selftest_wire(ram_bytes, corrupt);
}
