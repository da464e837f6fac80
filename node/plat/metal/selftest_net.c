/*
 * node/plat/metal/selftest_net.c — the network self-test (selftest.h):
 * through plat.h's TCP (so plat_tcp_lwip.c, lwIP and virtio-net all take
 * part), connect to a host echo server, send a message of
 * SELFTEST_ECHO_BYTES pseudo-random bytes, read the echo back and compare.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "node/plat/metal/exit.h"
#include "node/plat/metal/net.h"
#include "node/plat/metal/selftest.h"
#include "node/plat/plat.h"

#define SELFTEST_ECHO_BYTES 100000   /* several windows' worth */
#define SELFTEST_ECHO_US    20000000 /* give up after 20 s */
#define SELFTEST_HOST_MAX   32

struct echo {
	struct plat_sock *sock;
	uint8_t *out, *in;
	size_t sent, got;
	int error;
};

static void echo_cb(struct plat_sock *sock, unsigned events, void *arg)
{
	struct echo *e = arg;
	long n;

	(void)events;
	while (e->sent < SELFTEST_ECHO_BYTES &&
	       (n = plat_tcp_send(sock, e->out + e->sent, SELFTEST_ECHO_BYTES - e->sent)) > 0)
		e->sent += (size_t)n;
	if (n < 0 && n != SD_EAGAIN && e->sent < SELFTEST_ECHO_BYTES)
		e->error = (int)n;
	while (e->got < SELFTEST_ECHO_BYTES &&
	       (n = plat_tcp_recv(sock, e->in + e->got, SELFTEST_ECHO_BYTES - e->got)) > 0)
		e->got += (size_t)n;
	if (e->got < SELFTEST_ECHO_BYTES && n < 0 && n != SD_EAGAIN)
		e->error = (int)n;
}

void metal_selftest_echo(const char *target)
{
	char host[SELFTEST_HOST_MAX];
	const char *colon = strrchr(target, ':');
	struct echo e = {0};
	struct metal_net_stats st;
	uint64_t start, deadline;
	uint32_t x = 2463534242u;
	int rc;

	if (!metal_net_up())
		metal_panic("echo=%s: no virtio-net device", target);
	if (!colon || (size_t)(colon - target) >= sizeof(host))
		metal_panic("echo=%s: expected HOST:PORT", target);
	memcpy(host, target, (size_t)(colon - target));
	host[colon - target] = '\0';
	e.out = malloc(SELFTEST_ECHO_BYTES);
	e.in = malloc(SELFTEST_ECHO_BYTES);
	if (!e.out || !e.in)
		metal_panic("echo: out of memory");
	for (size_t i = 0; i < SELFTEST_ECHO_BYTES; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		e.out[i] = (uint8_t)x;
	}
	start = plat_now_us();
	deadline = start + SELFTEST_ECHO_US;
	rc = plat_tcp_connect(host, (uint16_t)strtoul(colon + 1, NULL, 10), echo_cb, &e, &e.sock);
	if (rc < 0)
		metal_panic("echo: connect %s: %s", target, sd_strerror(rc));
	while (e.got < SELFTEST_ECHO_BYTES && !e.error && plat_now_us() < deadline)
		plat_wait(deadline);
	if (e.error)
		metal_panic("echo: %s after %zu bytes sent, %zu received", sd_strerror(e.error),
			    e.sent, e.got);
	if (e.got < SELFTEST_ECHO_BYTES)
		metal_panic("echo: timed out: %zu sent, %zu received", e.sent, e.got);
	if (memcmp(e.in, e.out, SELFTEST_ECHO_BYTES) != 0)
		metal_panic("echo: the echoed bytes differ");
	plat_tcp_close(e.sock);
	metal_net_stats(&st);
	if (st.irqs == 0)
		metal_panic("echo: virtio-net never interrupted (%llu frames in)",
			    (unsigned long long)st.rx_frames);
	sd_log_info("selftest",
		    "echo: %d bytes through %s and back in %llu ms (%llu frames in, %llu out, "
		    "%llu interrupts)",
		    SELFTEST_ECHO_BYTES, target,
		    (unsigned long long)((plat_now_us() - start) / 1000),
		    (unsigned long long)st.rx_frames, (unsigned long long)st.tx_frames,
		    (unsigned long long)st.irqs);
	free(e.out);
	free(e.in);
}
