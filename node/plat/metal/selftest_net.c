/*
 * node/plat/metal/selftest_net.c — the network self-test (selftest.h):
 * through plat.h's TCP (so plat_tcp_lwip.c, lwIP and virtio-net all take
 * part), connect to a host echo server, send a message of
 * SELFTEST_ECHO_BYTES pseudo-random bytes, read the echo back and compare.
 * serve=PORT is the other side inside a VM: an echo server on
 * plat_tcp_listen/accept for one connection, so two VMs can talk.
 */
#include <stdbool.h>
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
#define SELFTEST_ECHO_US    60000000 /* give up after 60 s */
#define SELFTEST_HOST_MAX   32
#define SELFTEST_LINGER_US  200000 /* after closing: time for the FIN exchange */
#define SELFTEST_SERVE_BUF  16384  /* bytes moved per recv/send */

struct echo {
	struct plat_sock *sock;
	uint64_t total, sent, got;
	uint8_t chunk[SELFTEST_SERVE_BUF];
	int error;
	bool mismatch;
};

/* The byte at stream offset i: a hash of i, so nothing needs to be kept. */
static uint8_t echo_byte(uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> 56);
}

static void echo_cb(struct plat_sock *sock, unsigned events, void *arg)
{
	struct echo *e = arg;
	long n;

	(void)events;
	while (e->sent < e->total) {
		size_t len = e->total - e->sent < sizeof(e->chunk) ? (size_t)(e->total - e->sent)
								   : sizeof(e->chunk);

		for (size_t i = 0; i < len; i++)
			e->chunk[i] = echo_byte(e->sent + i);
		n = plat_tcp_send(sock, e->chunk, len);
		if (n <= 0) {
			if (n != SD_EAGAIN)
				e->error = (int)n;
			break;
		}
		e->sent += (uint64_t)n;
	}
	while (e->got < e->total && (n = plat_tcp_recv(sock, e->chunk, sizeof(e->chunk))) != 0) {
		if (n < 0) {
			if (n != SD_EAGAIN)
				e->error = (int)n;
			break;
		}
		for (long i = 0; i < n; i++)
			if (e->chunk[i] != echo_byte(e->got + (uint64_t)i))
				e->mismatch = true;
		e->got += (uint64_t)n;
	}
}

void metal_selftest_echo(const char *target, uint64_t bytes)
{
	static struct echo e; /* the chunk is large for a stack */
	char host[SELFTEST_HOST_MAX];
	const char *colon = strrchr(target, ':');
	struct metal_net_stats st;
	uint64_t start, deadline, us;
	int rc;

	if (!metal_net_up())
		metal_panic("echo=%s: no virtio-net device", target);
	if (!colon || (size_t)(colon - target) >= sizeof(host))
		metal_panic("echo=%s: expected HOST:PORT", target);
	memcpy(host, target, (size_t)(colon - target));
	host[colon - target] = '\0';
	e.total = bytes ? bytes : SELFTEST_ECHO_BYTES;
	start = plat_now_us();
	deadline = start + SELFTEST_ECHO_US;
	rc = plat_tcp_connect(host, (uint16_t)strtoul(colon + 1, NULL, 10), echo_cb, &e, &e.sock);
	if (rc < 0)
		metal_panic("echo: connect %s: %s", target, sd_strerror(rc));
	while (e.got < e.total && !e.error && plat_now_us() < deadline)
		plat_wait(deadline);
	if (e.error)
		metal_panic("echo: %s after %llu bytes sent, %llu received", sd_strerror(e.error),
			    (unsigned long long)e.sent, (unsigned long long)e.got);
	if (e.got < e.total)
		metal_panic("echo: timed out: %llu sent, %llu received", (unsigned long long)e.sent,
			    (unsigned long long)e.got);
	if (e.mismatch)
		metal_panic("echo: the echoed bytes differ");
	us = plat_now_us() - start;
	plat_tcp_close(e.sock);
	/* Linger: the FIN must leave before we exit, or a serve= peer waits forever. */
	for (uint64_t until = plat_now_us() + SELFTEST_LINGER_US; plat_now_us() < until;)
		plat_wait(until);
	metal_net_stats(&st);
	if (st.irqs == 0)
		metal_panic("echo: virtio-net never interrupted (%llu frames in)",
			    (unsigned long long)st.rx_frames);
	sd_log_info("selftest",
		    "echo: %llu bytes through %s and back in %llu ms, %llu KB/s each way "
		    "(%llu frames in, %llu out, %llu interrupts)",
		    (unsigned long long)e.total, target, (unsigned long long)(us / 1000),
		    (unsigned long long)(us ? e.total * 1000 / us : 0),
		    (unsigned long long)st.rx_frames, (unsigned long long)st.tx_frames,
		    (unsigned long long)st.irqs);
}

/* ---- serve=PORT ------------------------------------------------------- */

struct serve {
	struct plat_sock *listener, *conn;
	uint8_t buf[SELFTEST_SERVE_BUF];
	size_t have, off; /* bytes in buf, of which off already sent back */
	uint64_t echoed;
	bool done;
	int error;
};

static void serve_conn_cb(struct plat_sock *sock, unsigned events, void *arg)
{
	struct serve *v = arg;
	long n;

	(void)events;
	for (;;) {
		while (v->off < v->have) {
			n = plat_tcp_send(sock, v->buf + v->off, v->have - v->off);
			if (n == SD_EAGAIN)
				return; /* the sent callback brings us back */
			if (n < 0) {
				v->error = (int)n;
				return;
			}
			v->off += (size_t)n;
			v->echoed += (uint64_t)n;
		}
		n = plat_tcp_recv(sock, v->buf, sizeof(v->buf));
		if (n == SD_EAGAIN)
			return;
		if (n == SD_ECLOSED) {
			v->done = true;
			return;
		}
		if (n < 0) {
			v->error = (int)n;
			return;
		}
		v->have = (size_t)n;
		v->off = 0;
	}
}

static void serve_listen_cb(struct plat_sock *sock, unsigned events, void *arg)
{
	struct serve *v = arg;
	struct plat_sock *c;

	(void)events;
	while (plat_tcp_accept(sock, serve_conn_cb, v, &c) == 0) {
		if (v->conn) {
			plat_tcp_close(c); /* one client at a time */
			continue;
		}
		v->conn = c;
		serve_conn_cb(c, PLAT_EV_READ, v);
	}
}

void metal_selftest_serve(const char *port_text)
{
	static struct serve v; /* the buffer is large for a stack */
	unsigned long port = strtoul(port_text, NULL, 10);
	uint64_t start = 0;
	int rc;

	if (port == 0 || port > 65535)
		metal_panic("serve=%s: expected a port", port_text);
	rc = plat_tcp_listen("0.0.0.0", (uint16_t)port, serve_listen_cb, &v, &v.listener);
	if (rc < 0)
		metal_panic("serve: listen on %lu: %s", port, sd_strerror(rc));
	sd_log_info("selftest", "serve: echoing on %s:%lu", metal_net_addr(), port);
	while (!v.done && !v.error) {
		if (v.conn && !start)
			start = plat_now_us();
		plat_wait(UINT64_MAX);
	}
	if (v.error)
		metal_panic("serve: %s after %llu bytes", sd_strerror(v.error),
			    (unsigned long long)v.echoed);
	sd_log_info("selftest", "serve: echoed %llu bytes in %llu ms", (unsigned long long)v.echoed,
		    (unsigned long long)((plat_now_us() - start) / 1000));
	plat_tcp_close(v.conn);
	plat_tcp_close(v.listener);
}
