/*
 * sd-bench-pingpong — the W4 floor: TCP round trips of small messages over loopback.
 *
 * Usage: sd-bench-pingpong [--bytes N] [--count C] [--warmup W]
 *   A server thread echoes; the client sends N bytes (default 64), waits for
 *   the N bytes back, C times (default 20000) after W warm-up round trips
 *   (default 1000), with TCP_NODELAY on both ends, and prints
 *   `p50_us p99_us max_us` over the C round trips. Binds 127.0.0.1 only, on a
 *   port the kernel picks.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PP_BYTES_MAX 65536 /* bytes per message */

struct pp_server {
	int listen_fd;
	size_t bytes;
};

static int pp_full(int fd, char *buf, size_t n, int sending)
{
	size_t off = 0;
	while (off < n) {
		ssize_t r = sending ? send(fd, buf + off, n - off, MSG_NOSIGNAL)
				    : recv(fd, buf + off, n - off, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static void pp_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void *pp_echo(void *arg)
{
	struct pp_server *s = arg;
	int fd = accept(s->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	pp_nodelay(fd);
	char *buf = malloc(s->bytes);
	while (buf && pp_full(fd, buf, s->bytes, 0) == 0 && pp_full(fd, buf, s->bytes, 1) == 0)
		;
	free(buf);
	close(fd);
	return NULL;
}

static uint64_t pp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int pp_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	size_t bytes = 64, count = 20000, warmup = 1000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--bytes") == 0)
			bytes = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--count") == 0)
			count = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--warmup") == 0)
			warmup = strtoul(argv[i + 1], NULL, 10);
	}
	if (argc % 2 == 0 || bytes == 0 || bytes > PP_BYTES_MAX || count == 0) {
		fprintf(stderr, "usage: sd-bench-pingpong [--bytes N] [--count C] [--warmup W]\n");
		return 2;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct pp_server s = {.listen_fd = socket(AF_INET, SOCK_STREAM, 0), .bytes = bytes};
	if (s.listen_fd < 0 || bind(s.listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s.listen_fd, 1) != 0 ||
	    getsockname(s.listen_fd, (struct sockaddr *)&a, &alen) != 0) {
		perror("sd-bench-pingpong: listen");
		return 1;
	}
	pthread_t th;
	if (pthread_create(&th, NULL, pp_echo, &s) != 0) {
		fprintf(stderr, "sd-bench-pingpong: cannot start the echo thread\n");
		return 1;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("sd-bench-pingpong: connect");
		return 1;
	}
	pp_nodelay(fd);
	char *buf = calloc(1, bytes);
	uint64_t *rtt = malloc(count * sizeof(*rtt));
	if (!buf || !rtt) {
		fprintf(stderr, "sd-bench-pingpong: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < warmup + count; i++) {
		uint64_t t0 = pp_now_ns();
		if (pp_full(fd, buf, bytes, 1) != 0 || pp_full(fd, buf, bytes, 0) != 0) {
			fprintf(stderr, "sd-bench-pingpong: connection lost\n");
			return 1;
		}
		if (i >= warmup)
			rtt[i - warmup] = pp_now_ns() - t0;
	}
	close(fd);
	pthread_join(th, NULL);
	qsort(rtt, count, sizeof(*rtt), pp_cmp);
	printf("%.1f %.1f %.1f\n", rtt[count / 2] / 1e3, rtt[(count * 99) / 100] / 1e3,
	       rtt[count - 1] / 1e3);
	free(buf);
	free(rtt);
	return 0;
}
