/*
 * tests/integration/coordinator/test_coord_limits_control.c — what clients
 * that never register can hold on the control port (issue 15): a flood of
 * connections each announcing a frame as large as a deploy plan and sending
 * part of it leaves the coordinator's memory nearly where it was; silent
 * connections are closed after the register deadline, at most
 * COORD_CONTROL_PENDING_MAX of them stay open at once, and a real node still
 * registers, heartbeats past the deadline and sends frames larger than the
 * pending limit. The daemon runs with --register-timeout 2s.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "coordinator/coord.h"
#include "proto/wire.h"
#include "tests/integration/coordinator/coord_harness.h"

#define FLOOD_CONNS      300u         /* connections that announce a big frame */
#define FLOOD_BYTES      (1u << 20)   /* bytes of it each sends */
#define RSS_GROWTH_MAX   (100u << 10) /* KiB: what the flood may add to the peak RSS */
#define SILENT_CONNS     200u         /* connections that send nothing */
#define BIG_FRAME_BYTES  (100u << 10) /* bytes: over the pending limit, under the node's */
#define HEARTBEAT_ROUNDS 15u          /* 200 ms apart: past the 2 s register deadline */

static const char *const daemon_flags[] = {"--register-timeout", "2s", NULL};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A frame header claiming a Register as large as the control limit allows. */
static void big_header(uint8_t h[WIRE_HEADER_SIZE])
{
	memset(h, 0, WIRE_HEADER_SIZE);
	h[0] = 'S';
	h[1] = 'D';
	h[2] = WIRE_VERSION;
	h[5] = WIRE_CTL_REGISTER;
	put_be32(h + 8, WIRE_CONTROL_FRAME_MAX - WIRE_HEADER_SIZE);
}

/* Pushes up to want bytes of zeros into fd without blocking; false once the
 * peer has closed. */
static bool push(int fd, size_t *sent, size_t want)
{
	static const char zeros[65536];
	while (*sent < want) {
		size_t n = want - *sent < sizeof(zeros) ? want - *sent : sizeof(zeros);
		ssize_t w = send(fd, zeros, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		*sent += (size_t)w;
	}
	return true;
}

static int register_node(const char *name, struct wire_reader *r)
{
	int fd = connect_port(ctl_port);
	wire_reader_init(r, WIRE_CONTROL_FRAME_MAX);
	char reason[256];
	Sd__Control__Register m = reg_msg(name, "JOIN-J", WIRE_VERSION);
	if (!do_register(fd, r, &m, reason, sizeof(reason), NULL))
		fail_msg("registration of %s refused: %s", name, reason);
	return fd;
}

static void test_big_frame_flood_memory(void **state)
{
	long before = proc_status_kb(coord_pid, "VmRSS");
	assert_true(before > 0);
	static int fds[FLOOD_CONNS];
	static size_t sent[FLOOD_CONNS];
	static bool open_[FLOOD_CONNS];
	uint8_t h[WIRE_HEADER_SIZE];
	big_header(h);
	for (unsigned i = 0; i < FLOOD_CONNS; i++) {
		fds[i] = connect_port_from("127.0.0.1", ctl_port);
		sent[i] = 0;
		open_[i] = true;
		send_all(fds[i], h, sizeof(h));
	}
	/* Round robin until every connection sent its share or was closed. */
	unsigned busy = FLOOD_CONNS;
	for (unsigned w = 0; busy && w < WAIT_MS_MAX; w += 10) {
		busy = 0;
		for (unsigned i = 0; i < FLOOD_CONNS; i++) {
			if (!open_[i] || sent[i] == FLOOD_BYTES)
				continue;
			open_[i] = push(fds[i], &sent[i], FLOOD_BYTES);
			busy += open_[i] && sent[i] < FLOOD_BYTES;
		}
		if (busy)
			sleep_ms(10);
	}
	/* A node registers meanwhile; its round trip follows the flood's reads. */
	struct wire_reader r;
	int node = register_node("limits-node", &r);
	heartbeat(node, &r, 1, 0);
	long peak = proc_status_kb(coord_pid, "VmHWM");
	print_message("coordinator RSS %ld KiB before, peak %ld KiB after %u connections x %u "
		      "bytes of a %u-byte frame\n",
		      before, peak, FLOOD_CONNS, FLOOD_BYTES, WIRE_CONTROL_FRAME_MAX);
	for (unsigned i = 0; i < FLOOD_CONNS; i++)
		close(fds[i]);
	assert_true(peak - before < (long)RSS_GROWTH_MAX);

	/* Registered, the node outlives the register deadline and may send
	 * frames over the pending limit: a 100 KiB Goodbye is taken as one
	 * (the coordinator closes without a "bad frame" Goodbye of its own). */
	for (unsigned i = 2; i < 2 + HEARTBEAT_ROUNDS; i++) {
		sleep_ms(200);
		heartbeat(node, &r, i, 1);
	}
	char *why = malloc(BIG_FRAME_BYTES + 1);
	assert_non_null(why);
	memset(why, 'x', BIG_FRAME_BYTES);
	why[BIG_FRAME_BYTES] = '\0';
	Sd__Control__Goodbye g = SD__CONTROL__GOODBYE__INIT;
	g.reason = why;
	size_t size = wire_frame_size(&g.base, 0);
	uint8_t *buf = malloc(size);
	assert_non_null(buf);
	long n = wire_encode(WIRE_CTL_GOODBYE, &g.base, NULL, 0, buf, size);
	assert_true(n > (long)COORD_PENDING_FRAME_MAX);
	send_all(node, buf, (size_t)n);
	struct wire_frame f;
	assert_int_equal(recv_msg(node, &r, &f), SD_ECLOSED);
	free(buf);
	free(why);
	wire_reader_fini(&r);
	close(node);
}

static unsigned count_open(const int *fds, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		k += !peer_closed(fds[i]);
	return k;
}

static void test_silent_connections(void **state)
{
	static int fds[SILENT_CONNS];
	for (unsigned i = 0; i < SILENT_CONNS; i++)
		fds[i] = connect_port_from("127.0.0.1", ctl_port);
	/* The node connects after them all, so its ack follows their accepts:
	 * the oldest made room for the newer ones and for the node. */
	struct wire_reader r;
	int node = register_node("limits-node-2", &r);
	unsigned open_now = count_open(fds, SILENT_CONNS);
	print_message("%u of %u silent connections open once a node registered\n", open_now,
		      SILENT_CONNS);
	assert_true(open_now <= COORD_CONTROL_PENDING_MAX);
	/* The rest go at the register deadline; the node stays. */
	for (unsigned w = 0; w < WAIT_MS_MAX && open_now; w += 200) {
		sleep_ms(200);
		heartbeat(node, &r, w / 200 + 1, 1);
		open_now = count_open(fds, SILENT_CONNS);
	}
	assert_int_equal(open_now, 0);
	heartbeat(node, &r, WAIT_MS_MAX, 1);
	for (unsigned i = 0; i < SILENT_CONNS; i++)
		close(fds[i]);
	wire_reader_fini(&r);
	close(node);
}

int main(int argc, char **argv)
{
	if (harness_args(argc, argv))
		return 2;
	/* Several hundred sockets here; the daemon raises its own limit. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	coord_extra_args = daemon_flags;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big_frame_flood_memory),
		cmocka_unit_test(test_silent_connections),
	};
	return cmocka_run_group_tests(tests, start_coordinator, stop_coordinator);
}
