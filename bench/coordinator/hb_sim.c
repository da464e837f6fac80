/*
 * bench/coordinator/hb_sim.c — N simulated nodes against a real coordinator.
 *
 *   sd-bench-hb-sim HOST:PORT NODES SECONDS [JOIN_TOKEN]
 *
 * Opens NODES control connections, registers each ("sim-<i>", regions
 * sim-0..sim-3, 4 slots), then heartbeats on every connection once a second
 * for SECONDS, reporting the RTT each measured. Deploys are acknowledged by
 * TaskStatus RUNNING (tasks never finish), so a job submitted meanwhile stays
 * RUNNING. Prints "registered=N heartbeats=H acks=A" on exit; exits 1 if any
 * registration was refused or a connection dropped.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "proto/wire.h"

#define SIM_NODES_MAX 10000
#define SIM_BUF       4096 /* bytes per encoded frame */

struct sim {
	int fd;
	struct wire_reader r;
	uint64_t rtt_us;
	bool registered;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int send_frame(int fd, uint16_t type, const ProtobufCMessage *m)
{
	uint8_t buf[SIM_BUF];
	long n = wire_encode(type, m, NULL, 0, buf, sizeof(buf));
	if (n <= 0)
		return -1;
	return send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

static int handle(struct sim *s, const struct wire_frame *f, uint64_t *acks)
{
	switch (f->hdr.type) {
	case WIRE_CTL_REGISTER_ACK:
		s->registered = ((const Sd__Control__RegisterAck *)f->msg)->accepted;
		return s->registered ? 0 : -1;
	case WIRE_CTL_HEARTBEAT_ACK:
		s->rtt_us = now_us() - ((const Sd__Control__HeartbeatAck *)f->msg)->echo_sent_at_us;
		(*acks)++;
		return 0;
	case WIRE_CTL_DEPLOY: {
		const Sd__Control__Deploy *d = (const Sd__Control__Deploy *)f->msg;
		Sd__Control__TaskStatus st = SD__CONTROL__TASK_STATUS__INIT;
		st.job_id = d->job_id;
		st.task_id = d->task_id;
		st.state = SD__CONTROL__TASK_STATE__TASK_RUNNING;
		return send_frame(s->fd, WIRE_CTL_TASK_STATUS, &st.base);
	}
	default:
		return 0;
	}
}

static int drain(struct sim *s, uint64_t *acks)
{
	uint8_t *p;
	size_t n;
	if (wire_reader_space(&s->r, &p, &n))
		return -1;
	ssize_t got = recv(s->fd, p, n, MSG_DONTWAIT);
	if (got <= 0)
		return -1;
	wire_reader_commit(&s->r, (size_t)got);
	struct wire_frame f;
	int rc;
	while ((rc = wire_reader_next(&s->r, NULL, &f)) == 0) {
		int h = handle(s, &f, acks);
		wire_frame_release(&f, NULL);
		if (h)
			return -1;
	}
	return rc == SD_EAGAIN ? 0 : -1;
}

static int open_node(struct sim *s, const struct sockaddr_in *sa, int i, const char *token)
{
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->fd < 0 || connect(s->fd, (const struct sockaddr *)sa, sizeof(*sa)))
		return -1;
	wire_reader_init(&s->r, WIRE_CONTROL_FRAME_MAX);
	char name[32], region[16];
	snprintf(name, sizeof(name), "sim-%d", i);
	snprintf(region, sizeof(region), "sim-%d", i % 4);
	Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
	m.protocol_version = WIRE_VERSION;
	m.name = name;
	m.region = region;
	m.slots = 4;
	m.data_host = "127.0.0.1";
	m.data_port = (uint32_t)(20000 + i);
	m.token = (char *)token;
	m.platform = "sim";
	return send_frame(s->fd, WIRE_CTL_REGISTER, &m.base);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s HOST:PORT NODES SECONDS [JOIN_TOKEN]\n", argv[0]);
		return 2;
	}
	char host[64];
	const char *colon = strrchr(argv[1], ':');
	int nodes = atoi(argv[2]), secs = atoi(argv[3]);
	if (!colon || nodes < 1 || nodes > SIM_NODES_MAX || secs < 1 ||
	    (size_t)(colon - argv[1]) >= sizeof(host))
		return 2;
	memcpy(host, argv[1], (size_t)(colon - argv[1]));
	host[colon - argv[1]] = '\0';
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(colon + 1))};
	inet_pton(AF_INET, host, &sa.sin_addr);
	struct sim *sims = calloc((size_t)nodes, sizeof(*sims));
	struct pollfd *pfds = calloc((size_t)nodes, sizeof(*pfds));
	if (!sims || !pfds)
		return 1;
	for (int i = 0; i < nodes; i++)
		if (open_node(&sims[i], &sa, i, argc > 4 ? argv[4] : "")) {
			fprintf(stderr, "node %d: cannot connect or register\n", i);
			return 1;
		}
	uint64_t beats = 0, acks = 0, end = now_us() + (uint64_t)secs * 1000000u;
	uint64_t next = now_us(), seq = 0;
	int bad = 0;
	while (now_us() < end && !bad) {
		if (now_us() >= next) {
			seq++;
			for (int i = 0; i < nodes; i++) {
				if (!sims[i].registered)
					continue;
				Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
				hb.seq = seq;
				hb.sent_at_us = now_us();
				hb.rtt_us = sims[i].rtt_us;
				bad |= send_frame(sims[i].fd, WIRE_CTL_HEARTBEAT, &hb.base) != 0;
				beats++;
			}
			next += 1000000u;
		}
		for (int i = 0; i < nodes; i++)
			pfds[i] = (struct pollfd){sims[i].fd, POLLIN, 0};
		int wait_ms = (int)((next > now_us() ? next - now_us() : 0) / 1000);
		int n = poll(pfds, (nfds_t)nodes, wait_ms < 100 ? wait_ms : 100);
		for (int i = 0; i < nodes && n > 0; i++)
			if (pfds[i].revents && drain(&sims[i], &acks)) {
				fprintf(stderr, "node %d: connection dropped or refused\n", i);
				bad = 1;
			}
	}
	int registered = 0;
	for (int i = 0; i < nodes; i++) {
		registered += sims[i].registered;
		close(sims[i].fd);
		wire_reader_fini(&sims[i].r);
	}
	printf("registered=%d heartbeats=%llu acks=%llu\n", registered, (unsigned long long)beats,
	       (unsigned long long)acks);
	free(sims);
	free(pfds);
	return bad || registered != nodes;
}
