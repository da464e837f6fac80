/*
 * deploy/sim/wan_main.c — stardust-wan: the simulation's WAN switch (wan.h)
 * and its small helper modes.
 *
 *   stardust-wan --control SOCK [--topology FILE] [--seed N] --port SPEC...
 *       run the switch; SPEC is NAME:REGION:unix:PATH or
 *       NAME:REGION:tap:NETNS/IFNAME; links between regions come from the
 *       topology (regions it does not name, e.g. "host", get no delay). The
 *       control socket appears once every port is open (a readiness signal).
 *   stardust-wan --ctl SOCK COMMAND...     send one control command
 *   stardust-wan --check-topology FILE     validate; print it as shell lines
 *   stardust-wan --rtt HOST:PORT [COUNT]   median TCP connect time, ms
 *
 * SIGINT/SIGTERM stop the switch; it removes its sockets on the way out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/parse.h"
#include "deploy/sim/wan.h"

#define WAN_EVENTS         64
#define WAN_RTT_PROBES_MAX 100
#define WAN_RTT_TIMEOUT_MS 2000 /* one connect attempt */

int wan_epoll_add(struct wan *w, int fd, uint32_t events, enum wan_tag tag, int idx)
{
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)tag << 32 | (uint32_t)idx};
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int wan_epoll_mod(struct wan *w, int fd, uint32_t events, enum wan_tag tag, int idx)
{
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)tag << 32 | (uint32_t)idx};
	return epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: stardust-wan --control SOCK [--topology FILE] [--seed N] --port SPEC...\n"
		"         SPEC = NAME:REGION:unix:PATH | NAME:REGION:tap:NETNS/IFNAME\n"
		"       stardust-wan --ctl SOCK partition A B | heal A B | heal all |\n"
		"                    link A B [latency_ms=X] [jitter_ms=X] [loss=X] "
		"[bandwidth_mbit=X] | stats | shutdown\n"
		"       stardust-wan --check-topology FILE\n"
		"       stardust-wan --rtt HOST:PORT [COUNT]\n");
	return 2;
}

static void wan_dispatch(struct wan *w, uint64_t tag, uint32_t events)
{
	int idx = (int)(uint32_t)tag;
	switch ((enum wan_tag)(tag >> 32)) {
	case WAN_TAG_LISTEN:
		wan_port_accept(w, idx);
		break;
	case WAN_TAG_PORT:
		wan_port_event(w, idx, events);
		break;
	case WAN_TAG_CTL_LISTEN:
		wan_ctl_accept(w);
		break;
	case WAN_TAG_CTL:
		wan_ctl_event(w, idx);
		break;
	case WAN_TAG_TIMER: {
		uint64_t n;
		if (read(w->timerfd, &n, sizeof n) < 0 && errno != EAGAIN)
			w->stop = true;
		break;
	}
	case WAN_TAG_SIGNAL:
		w->stop = true;
		break;
	}
}

static int wan_run(struct wan *w)
{
	struct epoll_event evs[WAN_EVENTS];
	while (!w->stop) {
		int n = epoll_wait(w->epfd, evs, WAN_EVENTS, -1);
		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n && !w->stop; i++)
			wan_dispatch(w, evs[i].data.u64, evs[i].events);
		wan_link_expire(w); /* the timer, or frames made due while we worked */
	}
	return 0;
}

static int wan_setup(struct wan *w)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	w->ctl_fd = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	w->heap = calloc(WAN_HEAP_FRAMES_MAX, sizeof *w->heap);
	if (w->epfd < 0 || w->timerfd < 0 || w->sigfd < 0 || !w->heap ||
	    wan_epoll_add(w, w->timerfd, EPOLLIN, WAN_TAG_TIMER, 0) < 0 ||
	    wan_epoll_add(w, w->sigfd, EPOLLIN, WAN_TAG_SIGNAL, 0) < 0)
		return -1;
	if (!w->rng)
		w->rng = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid() << 16 ^ 1;
	return 0;
}

static void wan_teardown(struct wan *w)
{
	wan_link_free_all(w);
	wan_port_close_all(w);
	for (int i = 0; i < WAN_CTL_CONNS_MAX && w->ctl_fd >= 0; i++)
		if (w->ctl[i].fd >= 0)
			close(w->ctl[i].fd);
	if (w->ctl_fd >= 0) {
		close(w->ctl_fd);
		unlink(w->ctl_path);
	}
	free(w->heap);
	close(w->epfd);
	close(w->timerfd);
	close(w->sigfd);
}

static int wan_switch_main(int argc, char **argv)
{
	static struct wan w;
	const char *control = NULL, *topo_path = NULL;
	char err[512];
	if (wan_setup(&w) < 0) {
		perror("stardust-wan: setup");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--control") == 0)
			control = argv[++i];
		else if (strcmp(argv[i], "--topology") == 0)
			topo_path = argv[++i];
		else if (strcmp(argv[i], "--seed") == 0)
			w.rng = strtoull(argv[++i], NULL, 0) | 1;
		else if (strcmp(argv[i], "--port") == 0) {
			if (wan_port_add(&w, argv[++i], err, sizeof err) < 0) {
				fprintf(stderr, "stardust-wan: %s\n", err);
				wan_teardown(&w);
				return 1;
			}
		} else
			return usage();
	}
	if (!control)
		return usage();
	if (topo_path) {
		struct topo *t;
		if (topo_load(topo_path, &t, err, sizeof err) < 0) {
			fprintf(stderr, "stardust-wan: %s\n", err);
			wan_teardown(&w);
			return 1;
		}
		wan_link_apply_topology(&w, t);
		topo_free(t);
	}
	if (wan_ctl_listen(&w, control) < 0) {
		fprintf(stderr, "stardust-wan: cannot listen on %s: %s\n", control,
			strerror(errno));
		wan_teardown(&w);
		return 1;
	}
	fprintf(stderr, "stardust-wan: %d ports, %d regions, control %s\n", w.nports, w.nregions,
		control);
	int rc = wan_run(&w);
	wan_teardown(&w);
	return rc;
}

static int wan_check_topology(const char *path)
{
	struct topo *t;
	char err[512];
	if (topo_load(path, &t, err, sizeof err) < 0) {
		fprintf(stderr, "stardust-wan: %s\n", err);
		return 1;
	}
	printf("topology %s %u.%u\n", t->name, t->net_a, t->net_b);
	for (int r = 0; r < t->nregions; r++)
		printf("region %d %s %g %g %d\n", r + 1, t->regions[r].name, t->regions[r].lat,
		       t->regions[r].lon, t->regions[r].nodes);
	for (int a = 0; a < t->nregions; a++)
		for (int b = a; b < t->nregions; b++) {
			const struct topo_link *l = topo_link_get(t, a, b);
			printf("link %s %s %g %g %g %g\n", t->regions[a].name, t->regions[b].name,
			       l->latency_ms, l->jitter_ms, l->loss, l->bandwidth_mbit);
		}
	printf("coordinator %s %s\n",
	       t->coordinator_region < 0 ? "host" : t->regions[t->coordinator_region].name,
	       t->coordinator_ip);
	for (int r = 0; r < t->nregions; r++)
		if (t->regions[r].has_netfs)
			printf("netfs %s %s %s %s\n", t->regions[r].name, t->regions[r].netfs_ip,
			       t->regions[r].netfs_root, r == t->netfs_primary ? "primary" : "-");
	for (int i = 0; i < t->nnodes; i++) {
		const struct topo_node *n = &t->nodes[i];
		printf("node %s %s %s %s %d %d ", n->name, t->regions[n->region].name, n->zone,
		       n->ip, n->slots, n->memory_mb);
		for (int k = 0; k < n->nlabels; k++)
			printf("%s%s=%s", k ? "," : "", n->labels[k].key, n->labels[k].value);
		printf("%s\n", n->nlabels ? "" : "-");
	}
	topo_free(t);
	return 0;
}

static int wan_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median TCP connect time to HOST:PORT over COUNT tries, in ms. */
static int wan_rtt(const char *target, int count)
{
	char host[64];
	uint16_t port;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	double ms[WAN_RTT_PROBES_MAX];
	int ok = 0;
	if (sd_parse_hostport(target, host, sizeof host, &port) < 0 || !port || count < 1 ||
	    count > WAN_RTT_PROBES_MAX)
		return usage();
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return usage();
	for (int i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		uint64_t t0 = wan_now_ns();
		if (fd < 0)
			break;
		int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		if (rc < 0 && errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int err = 0;
			socklen_t len = sizeof err;
			rc = poll(&p, 1, WAN_RTT_TIMEOUT_MS) == 1 &&
					     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) ==
						     0 &&
					     err == 0
				     ? 0
				     : -1;
		}
		if (rc == 0)
			ms[ok++] = (double)(wan_now_ns() - t0) / 1e6;
		close(fd);
	}
	if (ok == 0) {
		fprintf(stderr, "stardust-wan: no connection to %s\n", target);
		return 1;
	}
	qsort(ms, (size_t)ok, sizeof ms[0], wan_cmp_double);
	printf("%.3f\n", ms[ok / 2]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--ctl") == 0)
		return argc >= 4 ? wan_ctl_client(argv[2], argc - 3, argv + 3) : usage();
	if (argc == 3 && strcmp(argv[1], "--check-topology") == 0)
		return wan_check_topology(argv[2]);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "--rtt") == 0)
		return wan_rtt(argv[2], argc == 4 ? atoi(argv[3]) : 5);
	if (argc < 2)
		return usage();
	return wan_switch_main(argc, argv);
}
