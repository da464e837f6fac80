/*
 * bench/netfs/nfs_bench.c — netfs throughput and small-read rate.
 *
 *   nfs_bench --server HOST:PORT read PATH
 *       one client streams PATH (1 MiB chunks, verified); prints GB/s
 *   nfs_bench --server HOST:PORT small PATH [--clients N] [--seconds S] [--size B]
 *       N threads, one connection each, random B-byte reads (default 4096)
 *       of PATH for S seconds; prints ops/s
 *   nfs_bench --server HOST:PORT multi PATH [--clients N] [--seconds S] [--size B]
 *       the same load from one thread: N connections driven by the sans-I/O
 *       core and poll(), one request outstanding per connection (what a node
 *       runtime does); measures the server rather than client threads
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "netfs/netfs.h"

struct small_arg {
	const char *host;
	uint16_t port;
	const char *path;
	uint64_t file_size;
	uint32_t size;
	double until;
	unsigned seed;
	uint64_t ops;
	int err;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_bytes(void *arg, uint64_t offset, const void *data, size_t len)
{
	(void)offset;
	(void)data;
	*(uint64_t *)arg += len;
	return 0;
}

static int bench_read(const char *host, uint16_t port, const char *path)
{
	struct nfs_conn *c;
	uint64_t bytes = 0;
	double t0, t1;
	int rc = nfs_connect(host, port, NULL, &c);

	if (rc < 0) {
		fprintf(stderr, "connect: %s\n", sd_strerror(rc));
		return 1;
	}
	t0 = now_s();
	rc = nfs_read(c, path, 0, 0, count_bytes, &bytes);
	t1 = now_s();
	if (rc < 0) {
		fprintf(stderr, "read %s: %s\n", path, nfs_last_error(c));
		nfs_close(c);
		return 1;
	}
	printf("read %s: %llu bytes in %.3f s = %.2f GB/s (%.2f GiB/s)\n", path,
	       (unsigned long long)bytes, t1 - t0, bytes / (t1 - t0) / 1e9,
	       bytes / (t1 - t0) / (1024.0 * 1024 * 1024));
	nfs_close(c);
	return 0;
}

static void *small_worker(void *p)
{
	struct small_arg *a = p;
	struct nfs_conn *c;
	uint64_t got;

	if ((a->err = nfs_connect(a->host, a->port, NULL, &c)) < 0)
		return NULL;
	while (now_s() < a->until) {
		uint64_t slots = a->file_size / a->size;
		uint64_t off = slots ? (uint64_t)(rand_r(&a->seed) % slots) * a->size : 0;
		got = 0;
		if ((a->err = nfs_read(c, a->path, off, a->size, count_bytes, &got)) < 0)
			break;
		a->ops++;
	}
	nfs_close(c);
	return NULL;
}

static int bench_small(const char *host, uint16_t port, const char *path, int clients,
		       double seconds, uint32_t size)
{
	struct small_arg *args = calloc((size_t)clients, sizeof(*args));
	pthread_t *tids = calloc((size_t)clients, sizeof(*tids));
	struct nfs_conn *c;
	struct nfs_stat st;
	uint64_t total = 0;
	double t0;
	int rc = nfs_connect(host, port, NULL, &c), failed = 0;

	if (rc < 0 || !args || !tids || (rc = nfs_stat(c, path, &st)) < 0) {
		fprintf(stderr, "setup: %s\n", sd_strerror(rc));
		return 1;
	}
	nfs_close(c);
	t0 = now_s();
	for (int i = 0; i < clients; i++) {
		args[i] = (struct small_arg){.host = host,
					     .port = port,
					     .path = path,
					     .file_size = st.size,
					     .size = size,
					     .until = t0 + seconds,
					     .seed = (unsigned)i * 7919u + 1};
		pthread_create(&tids[i], NULL, small_worker, &args[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(tids[i], NULL);
		total += args[i].ops;
		failed |= args[i].err < 0;
	}
	double el = now_s() - t0;
	printf("small reads: %d clients x %u B: %llu ops in %.2f s = %.0f ops/s%s\n", clients, size,
	       (unsigned long long)total, el, total / el, failed ? " (some clients failed)" : "");
	free(args);
	free(tids);
	return failed;
}

struct mconn {
	int fd;
	struct nfs_proto *p;
	uint64_t req;
};

static int mconn_open(struct mconn *m, const char *host, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;

	inet_pton(AF_INET, host, &sa.sin_addr);
	m->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (m->fd < 0 || connect(m->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return SD_ECONNREFUSED;
	setsockopt(m->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (nfs_proto_new(&m->p) < 0 || nfs_proto_hello(m->p, "bench", NULL) < 0)
		return SD_ENOMEM;
	m->req = 0;
	return 0;
}

/* Sends what is queued (small: fits the socket buffer). */
static int mconn_flush(struct mconn *m)
{
	const uint8_t *d;
	size_t n;

	while ((n = nfs_proto_out_pending(m->p, &d)) > 0) {
		ssize_t k = send(m->fd, d, n, MSG_NOSIGNAL);
		if (k <= 0)
			return SD_ECLOSED;
		nfs_proto_out_consume(m->p, (size_t)k);
	}
	return 0;
}

static int bench_multi(const char *host, uint16_t port, const char *path, int clients,
		       double seconds, uint32_t size)
{
	struct mconn *ms = calloc((size_t)clients, sizeof(*ms));
	struct pollfd *pf = calloc((size_t)clients, sizeof(*pf));
	struct nfs_conn *c;
	struct nfs_stat st;
	uint64_t ops = 0, slots;
	unsigned seed = 12345;
	double t0, until;
	int rc = nfs_connect(host, port, NULL, &c);

	if (rc < 0 || !ms || !pf || (rc = nfs_stat(c, path, &st)) < 0) {
		fprintf(stderr, "setup: %s\n", sd_strerror(rc));
		return 1;
	}
	nfs_close(c);
	slots = st.size / size ? st.size / size : 1;
	for (int i = 0; i < clients; i++) {
		if (mconn_open(&ms[i], host, port) < 0) {
			fprintf(stderr, "connect %d failed\n", i);
			return 1;
		}
		pf[i].fd = ms[i].fd;
		pf[i].events = POLLIN;
		mconn_flush(&ms[i]);
	}
	t0 = now_s();
	until = t0 + seconds;
	while (now_s() < until) {
		if (poll(pf, (nfds_t)clients, 100) < 0)
			break;
		for (int i = 0; i < clients; i++) {
			struct mconn *m = &ms[i];
			struct nfs_event ev;
			uint8_t *w;
			size_t avail;
			if (!(pf[i].revents & POLLIN))
				continue;
			nfs_proto_in_space(m->p, &w, &avail);
			ssize_t k = recv(m->fd, w, avail, 0);
			if (k <= 0) {
				fprintf(stderr, "connection %d closed\n", i);
				return 1;
			}
			nfs_proto_in_commit(m->p, (size_t)k);
			while ((rc = nfs_proto_next(m->p, &ev)) == 0) {
				if (ev.err) {
					fprintf(stderr, "error: %s\n", ev.message);
					return 1;
				}
				if (!ev.done)
					continue;
				if (ev.op == NFS_OP_READ)
					ops++;
				uint64_t off = (uint64_t)(rand_r(&seed) % slots) * size;
				nfs_proto_read(m->p, path, off, size, 0, &m->req);
				mconn_flush(m);
			}
		}
	}
	double el = now_s() - t0;
	printf("small reads (one thread, poll): %d connections x %u B: %llu ops in %.2f s = %.0f "
	       "ops/s\n",
	       clients, size, (unsigned long long)ops, el, ops / el);
	for (int i = 0; i < clients; i++) {
		close(ms[i].fd);
		nfs_proto_free(ms[i].p);
	}
	free(ms);
	free(pf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *server = "127.0.0.1:7070", *mode = NULL, *path = NULL;
	int clients = 64;
	double seconds = 5;
	uint32_t size = 4096;
	char host[256];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
			server = argv[++i];
		else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
			clients = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			size = (uint32_t)atoi(argv[++i]);
		else if (!mode)
			mode = argv[i];
		else
			path = argv[i];
	}
	const char *colon = strrchr(server, ':');
	if (!mode || !path || !colon || clients < 1 || size < 1) {
		fprintf(stderr, "usage: nfs_bench [--server H:P] read PATH | small PATH "
				"[--clients N] [--seconds S] [--size B]\n");
		return 1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - server), server);
	uint16_t port = (uint16_t)atoi(colon + 1);
	if (strcmp(mode, "read") == 0)
		return bench_read(host, port, path);
	if (strcmp(mode, "multi") == 0)
		return bench_multi(host, port, path, clients, seconds, size);
	return bench_small(host, port, path, clients, seconds, size);
}
