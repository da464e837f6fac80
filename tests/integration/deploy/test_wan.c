/*
 * tests/integration/deploy/test_wan.c — the stardust-wan switch alone, with
 * no QEMU: the test plays four ports (eu: a, b; us: c; host: d) over the
 * switch's unix stream sockets with QEMU's framing (4-byte big-endian length,
 * frame) and checks flooding, MAC learning, the configured one-way delay
 * between regions (median within ±20 %), the loss rate, the bandwidth limit,
 * partition/heal and the control protocol's errors.
 *
 *   test_wan STARDUST_WAN
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define LAT_MS    50.0 /* eu <-> us one-way latency in the test topology */
#define PORTS     4
#define FRAME_MAX 2048

static const char *g_wan_bin;
static char g_dir[64];
static pid_t g_pid;
static int g_fd[PORTS];
static const uint8_t g_mac[PORTS][6] = {
	{2, 0, 0, 0, 0, 0xa}, {2, 0, 0, 0, 0, 0xb}, {2, 0, 0, 0, 0, 0xc}, {2, 0, 0, 0, 0, 0xd}};
static const uint8_t g_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
enum { A, B, C, D };

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(20000);
	}
	return -1;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t k = write(fd, b, n);
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n > 0) {
		ssize_t k = read(fd, b, n);
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Sends from port `from` to `dst` a frame of `len` bytes stamped with seq. */
static void send_frame(int from, const uint8_t *dst, uint32_t seq, size_t len)
{
	uint8_t f[4 + FRAME_MAX] = {0};
	assert_true(len >= 20 && len <= FRAME_MAX);
	f[0] = (uint8_t)(len >> 24), f[1] = (uint8_t)(len >> 16), f[2] = (uint8_t)(len >> 8),
	f[3] = (uint8_t)len;
	memcpy(f + 4, dst, 6);
	memcpy(f + 10, g_mac[from], 6);
	f[16] = 0x88, f[17] = 0xb5; /* local experimental ethertype */
	memcpy(f + 18, &seq, 4);
	for (size_t i = 22; i < len + 4; i++)
		f[i] = (uint8_t)(i * 7 + seq);
	assert_int_equal(write_all(g_fd[from], f, len + 4), 0);
}

/* Waits up to timeout_ms for a frame on port `at`; returns its length or 0. */
static size_t recv_frame(int at, int timeout_ms, uint8_t *frame)
{
	struct pollfd p = {.fd = g_fd[at], .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	uint8_t h[4];
	assert_int_equal(read_all(g_fd[at], h, 4), 0);
	uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	assert_true(n <= FRAME_MAX);
	assert_int_equal(read_all(g_fd[at], frame, n), 0);
	return n;
}

static uint32_t frame_seq(const uint8_t *f)
{
	uint32_t s;
	memcpy(&s, f + 14, 4);
	return s;
}

static void check_payload(const uint8_t *f, size_t len)
{
	uint32_t seq = frame_seq(f);
	for (size_t i = 18; i < len; i++)
		assert_int_equal(f[i], (uint8_t)((i + 4) * 7 + seq));
}

static void drain(int at)
{
	uint8_t f[FRAME_MAX];
	while (recv_frame(at, 30, f) > 0)
		;
}

/* One control command; the reply lands in out. Returns 0 on "ok". */
static int ctl(char *out, size_t outlen, const char *fmt, ...)
{
	char path[128], cmd[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
	va_end(ap);
	strcat(cmd, "\n");
	snprintf(path, sizeof path, "%s/ctl.sock", g_dir);
	int fd = unix_connect(path);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, cmd, strlen(cmd)), 0);
	size_t got = 0;
	for (;;) {
		ssize_t k = read(fd, out + got, outlen - 1 - got);
		assert_true(k > 0);
		got += (size_t)k;
		out[got] = '\0';
		if (strstr(out, "error: ") || (got >= 3 && strcmp(out + got - 3, "ok\n") == 0))
			break;
	}
	close(fd);
	return strstr(out, "error: ") ? -1 : 0;
}

static unsigned long long stat_field(const char *stats, const char *line_prefix, const char *key)
{
	const char *l = strstr(stats, line_prefix);
	assert_non_null(l);
	const char *k = strstr(l, key);
	assert_non_null(k);
	return strtoull(k + strlen(key), NULL, 10);
}

static int setup(void **state)
{
	char topo[128], specs[PORTS][160], ctlp[128];
	const char *names[PORTS] = {"a", "b", "c", "d"},
		   *regions[PORTS] = {"eu", "eu", "us", "host"};
	snprintf(g_dir, sizeof g_dir, "/tmp/test-wan-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	snprintf(topo, sizeof topo, "%s/topo.json", g_dir);
	FILE *f = fopen(topo, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"name\": \"t\", \"regions\": [{\"name\": \"eu\"}, {\"name\": \"us\"}],\n"
		" \"links\": [{\"a\": \"eu\", \"b\": \"us\", \"latency_ms\": %g}],\n"
		" \"nodes\": [{\"name\": \"n1\", \"region\": \"eu\"}]}\n",
		LAT_MS);
	fclose(f);
	snprintf(ctlp, sizeof ctlp, "%s/ctl.sock", g_dir);
	char *argv[16] = {(char *)g_wan_bin, "--control", ctlp, "--topology", topo, "--seed", "7"};
	int argc = 7;
	for (int i = 0; i < PORTS; i++) {
		snprintf(specs[i], sizeof specs[i], "%s:%s:unix:%s/%s.sock", names[i], regions[i],
			 g_dir, names[i]);
		argv[argc++] = "--port";
		argv[argc++] = specs[i];
	}
	g_pid = fork();
	assert_true(g_pid >= 0);
	if (g_pid == 0) {
		execv(g_wan_bin, argv);
		_exit(127);
	}
	char out[4096];
	assert_int_equal(ctl(out, sizeof out, "stats"), 0); /* waits for readiness */
	for (int i = 0; i < PORTS; i++) {
		char p[160];
		snprintf(p, sizeof p, "%s/%s.sock", g_dir, names[i]);
		g_fd[i] = unix_connect(p);
		assert_true(g_fd[i] >= 0);
	}
	/* Every port announces itself once so the switch learns all MACs. */
	uint8_t fr[FRAME_MAX];
	for (int i = 0; i < PORTS; i++) {
		send_frame(i, g_bcast, 1000 + (uint32_t)i, 64);
		for (int j = 0; j < PORTS; j++)
			if (j != i) {
				size_t n = recv_frame(j, 2000, fr);
				assert_int_equal(n, 64);
				assert_memory_equal(fr + 6, g_mac[i], 6);
				check_payload(fr, n);
			}
	}
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	int status = 0;
	for (int i = 0; i < PORTS; i++)
		close(g_fd[i]);
	kill(g_pid, SIGTERM);
	waitpid(g_pid, &status, 0);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	assert_int_equal(system(cmd), 0);
	(void)state;
	/* The switch exits 0 on SIGTERM and removed its sockets. */
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* A unicast frame goes to the learned port only. */
static void test_learned_unicast(void **state)
{
	uint8_t f[FRAME_MAX];
	send_frame(B, g_mac[A], 1, 100);
	size_t n = recv_frame(A, 1000, f);
	assert_int_equal(n, 100);
	assert_int_equal(frame_seq(f), 1);
	check_payload(f, n);
	assert_int_equal(recv_frame(C, 2 * (int)LAT_MS + 100, f), 0);
	assert_int_equal(recv_frame(D, 50, f), 0);
	(void)state;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* eu -> us takes LAT_MS (median within ±20 %); eu -> eu and eu -> host do not. */
static void test_delay(void **state)
{
	enum { N = 15 };
	double us_ms[N], eu_ms[N], host_ms[N];
	uint8_t f[FRAME_MAX];
	for (int i = 0; i < N; i++) {
		double t0 = now_ms();
		send_frame(A, g_mac[C], 100 + (uint32_t)i, 64);
		assert_int_equal(recv_frame(C, 2000, f), 64);
		assert_int_equal(frame_seq(f), 100 + (uint32_t)i);
		us_ms[i] = now_ms() - t0;
		t0 = now_ms();
		send_frame(A, g_mac[B], 200 + (uint32_t)i, 64);
		assert_int_equal(recv_frame(B, 2000, f), 64);
		eu_ms[i] = now_ms() - t0;
		t0 = now_ms();
		send_frame(A, g_mac[D], 300 + (uint32_t)i, 64);
		assert_int_equal(recv_frame(D, 2000, f), 64);
		host_ms[i] = now_ms() - t0;
	}
	qsort(us_ms, N, sizeof us_ms[0], cmp_double);
	qsort(eu_ms, N, sizeof eu_ms[0], cmp_double);
	qsort(host_ms, N, sizeof host_ms[0], cmp_double);
	printf("median one-way delay: eu->us %.2f ms (want %.0f), eu->eu %.2f ms, eu->host %.2f "
	       "ms\n",
	       us_ms[N / 2], LAT_MS, eu_ms[N / 2], host_ms[N / 2]);
	assert_true(us_ms[0] >= LAT_MS * 0.99); /* never early */
	assert_true(us_ms[N / 2] <= LAT_MS * 1.2);
	assert_true(eu_ms[N / 2] < LAT_MS * 0.2);
	assert_true(host_ms[N / 2] < LAT_MS * 0.2);
	(void)state;
}

/* loss=0.25 drops about a quarter of 2000 frames; stats count exactly those. */
static void test_loss(void **state)
{
	enum { N = 2000 };
	char out[8192];
	uint8_t f[FRAME_MAX];
	assert_int_equal(ctl(out, sizeof out, "link eu us latency_ms=0 loss=0.25"), 0);
	assert_int_equal(ctl(out, sizeof out, "stats"), 0);
	unsigned long long lost0 = stat_field(out, "link eu us ", " loss=");
	int got = 0;
	for (int i = 0; i < N; i++) {
		send_frame(A, g_mac[C], (uint32_t)i, 64);
		while (recv_frame(C, 0, f) > 0)
			got++;
	}
	while (recv_frame(C, 300, f) > 0)
		got++;
	assert_int_equal(ctl(out, sizeof out, "stats"), 0);
	unsigned long long lost = stat_field(out, "link eu us ", " loss=") - lost0;
	printf("loss: %d of %d frames arrived, switch counted %llu lost\n", got, N, lost);
	assert_int_equal((unsigned long long)(N - got), lost);
	assert_in_range(got, (int)(N * 0.70), (int)(N * 0.80)); /* ±5 sd of a binomial */
	assert_int_equal(ctl(out, sizeof out, "link eu us latency_ms=%g loss=0", LAT_MS), 0);
	(void)state;
}

/* 1 Mbit/s: eleven 1250-byte frames arrive 10 ms apart (100 ms first to last). */
static void test_bandwidth(void **state)
{
	enum { N = 11, LEN = 1250 };
	char out[8192];
	uint8_t f[FRAME_MAX];
	double first = 0, last = 0;
	assert_int_equal(ctl(out, sizeof out, "link eu us latency_ms=0 bandwidth_mbit=1"), 0);
	for (int i = 0; i < N; i++)
		send_frame(A, g_mac[C], 500 + (uint32_t)i, LEN);
	for (int i = 0; i < N; i++) {
		assert_int_equal(recv_frame(C, 2000, f), LEN);
		assert_int_equal(frame_seq(f), 500 + (uint32_t)i); /* order kept */
		check_payload(f, LEN);
		last = now_ms();
		if (i == 0)
			first = last;
	}
	double want = (N - 1) * LEN * 8.0 / 1e6 * 1e3;
	printf("bandwidth: %d frames spread over %.1f ms (want %.1f)\n", N, last - first, want);
	assert_true(last - first >= want * 0.8 && last - first <= want * 1.2);
	assert_int_equal(ctl(out, sizeof out, "link eu us latency_ms=%g bandwidth_mbit=0", LAT_MS),
			 0);
	(void)state;
}

/* A partition drops eu <-> us both ways; eu <-> eu still flows; heal restores. */
static void test_partition_heal(void **state)
{
	char out[8192];
	uint8_t f[FRAME_MAX];
	assert_int_equal(ctl(out, sizeof out, "partition eu us"), 0);
	assert_int_equal(ctl(out, sizeof out, "stats"), 0);
	assert_non_null(strstr(out, "partition eu us\n"));
	unsigned long long cut0 = stat_field(out, "link eu us ", " cut=");
	send_frame(A, g_mac[C], 600, 64);
	send_frame(C, g_mac[A], 601, 64);
	send_frame(A, g_mac[B], 602, 64);
	assert_int_equal(recv_frame(B, 1000, f), 64);
	assert_int_equal(frame_seq(f), 602);
	assert_int_equal(recv_frame(C, 3 * (int)LAT_MS, f), 0);
	assert_int_equal(recv_frame(A, 3 * (int)LAT_MS, f), 0);
	assert_int_equal(ctl(out, sizeof out, "stats"), 0);
	assert_int_equal(stat_field(out, "link eu us ", " cut=") - cut0, 1);
	assert_int_equal(ctl(out, sizeof out, "heal eu us"), 0);
	assert_int_equal(ctl(out, sizeof out, "stats"), 0);
	assert_null(strstr(out, "partition eu us"));
	send_frame(A, g_mac[C], 603, 64);
	assert_int_equal(recv_frame(C, 2000, f), 64);
	assert_int_equal(frame_seq(f), 603);
	drain(A);
	(void)state;
}

/* A new connection on a port replaces the old one (a restarted VM). */
static void test_port_reconnect(void **state)
{
	char path[160];
	uint8_t f[FRAME_MAX];
	snprintf(path, sizeof path, "%s/d.sock", g_dir);
	int old = g_fd[D];
	g_fd[D] = unix_connect(path);
	assert_true(g_fd[D] >= 0);
	usleep(100000); /* the switch accepts it before the next frame */
	send_frame(A, g_mac[D], 700, 64);
	assert_int_equal(recv_frame(D, 2000, f), 64);
	assert_int_equal(frame_seq(f), 700);
	struct pollfd p = {.fd = old, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 1000), 1); /* the old connection was closed */
	assert_int_equal(read(old, f, 1), 0);
	close(old);
	(void)state;
}

static void test_control_errors(void **state)
{
	char out[1024];
	assert_int_equal(ctl(out, sizeof out, "partition eu mars"), -1);
	assert_non_null(strstr(out, "unknown region mars"));
	assert_int_equal(ctl(out, sizeof out, "link eu us loss=2"), -1);
	assert_int_equal(ctl(out, sizeof out, "link eu us speed=3"), -1);
	assert_int_equal(ctl(out, sizeof out, "frobnicate"), -1);
	assert_int_equal(ctl(out, sizeof out, "heal all"), 0);
	(void)state;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_wan STARDUST_WAN\n");
		return 2;
	}
	g_wan_bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learned_unicast),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_bandwidth),
		cmocka_unit_test(test_partition_heal),
		cmocka_unit_test(test_port_reconnect),
		cmocka_unit_test(test_control_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
