/*
 * tests/integration/coordinator/coord_harness.c — see coord_harness.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <cmocka.h>
#include "base/err.h"
#include "netfs/netfs.h"
#include "proto/wire.h"
#include "tests/unit/coordinator/prom_check.h"

#include "tests/integration/coordinator/coord_harness.h"

const char *coord_bin, *cli_bin, *netfsd_bin;
pid_t coord_pid, netfsd_pid;
int netfs_port;
char state_dir[256];
int http_port, ctl_port;
const char *const *coord_extra_args;

void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int connect_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {10, 0}; /* a hung read fails the test instead of hanging it */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

int connect_port_from(const char *ip, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in me = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, ip, &me.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	return fd;
}

bool peer_closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

long proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = strlen(field);
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return kb;
}

void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		c += w;
		n -= (size_t)w;
	}
}

/* ---- the fake node ---- */

void send_msg(int fd, uint16_t type, const ProtobufCMessage *msg)
{
	uint8_t buf[4096];
	long n = wire_encode(type, msg, NULL, 0, buf, sizeof(buf));
	assert_true(n > 0);
	send_all(fd, buf, (size_t)n);
}

/* Reads the next frame; returns SD_ECLOSED at EOF. */
int recv_msg(int fd, struct wire_reader *r, struct wire_frame *f)
{
	for (;;) {
		/* (wire_reader_next on a reader that never had a buffer says SD_EINVAL.) */
		int rc = r->buf ? wire_reader_next(r, NULL, f) : SD_EAGAIN;
		if (rc != SD_EAGAIN)
			return rc;
		uint8_t *p;
		size_t n;
		assert_int_equal(wire_reader_space(r, &p, &n), 0);
		ssize_t got = recv(fd, p, n, 0);
		if (got <= 0)
			return SD_ECLOSED;
		wire_reader_commit(r, (size_t)got);
	}
}

static Sd__Control__Label lbl = {PROTOBUF_C_MESSAGE_INIT(&sd__control__label__descriptor), "rack",
				 "r42"};
static Sd__Control__Label *lbls[] = {&lbl};

Sd__Control__Register reg_msg(const char *name, const char *token, uint32_t version)
{
	Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
	m.protocol_version = version;
	m.name = (char *)name;
	m.region = "eu-west";
	m.zone = "eu-west-b";
	m.n_labels = 1;
	m.labels = lbls;
	m.slots = 3;
	m.data_host = "127.0.0.1";
	m.data_port = 9999;
	m.token = (char *)token;
	m.platform = "hosted";
	return m;
}

/* Registers; returns the ack's accepted flag and copies the reason. */
bool do_register(int fd, struct wire_reader *r, const Sd__Control__Register *m, char *reason,
		 size_t cap, uint32_t *interval_ms)
{
	send_msg(fd, WIRE_CTL_REGISTER, &m->base);
	struct wire_frame f;
	assert_int_equal(recv_msg(fd, r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_CTL_REGISTER_ACK);
	const Sd__Control__RegisterAck *ack = (const Sd__Control__RegisterAck *)f.msg;
	bool ok = ack->accepted;
	snprintf(reason, cap, "%s", ack->reason ? ack->reason : "");
	if (interval_ms)
		*interval_ms = ack->heartbeat_interval_ms;
	wire_frame_release(&f, NULL);
	return ok;
}

/* One heartbeat carrying rtt_us; returns the RTT measured from the ack's echo. */
uint64_t heartbeat(int fd, struct wire_reader *r, uint64_t seq, uint64_t rtt_us)
{
	Sd__Control__NodeMetrics met = SD__CONTROL__NODE_METRICS__INIT;
	met.mem_used_bytes = 4096 * seq;
	Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
	hb.seq = seq;
	hb.sent_at_us = mono_us();
	hb.metrics = &met;
	hb.rtt_us = rtt_us;
	send_msg(fd, WIRE_CTL_HEARTBEAT, &hb.base);
	struct wire_frame f;
	assert_int_equal(recv_msg(fd, r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_CTL_HEARTBEAT_ACK);
	const Sd__Control__HeartbeatAck *ack = (const Sd__Control__HeartbeatAck *)f.msg;
	assert_int_equal(ack->seq, seq);
	assert_int_equal(ack->echo_sent_at_us, hb.sent_at_us);
	uint64_t rtt = mono_us() - ack->echo_sent_at_us;
	wire_frame_release(&f, NULL);
	return rtt ? rtt : 1;
}

/* ---- HTTP ---- */

/* One request on a fresh connection (Connection: close). */
void http(const char *raw, size_t len, struct http_resp *out)
{
	int fd = connect_port(http_port);
	send_all(fd, raw, len);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;
	while ((got = recv(fd, buf + n, cap - n, 0)) > 0) {
		n += (size_t)got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	close(fd);
	buf[n] = '\0';
	char *sep = strstr(buf, "\r\n\r\n");
	assert_non_null(sep);
	size_t hl = (size_t)(sep - buf);
	assert_true(hl < sizeof(out->head));
	memcpy(out->head, buf, hl);
	out->head[hl] = '\0';
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &out->status), 1);
	out->body = strdup(sep + 4);
	free(buf);
}

cJSON *http_json(const char *method, const char *path, const char *auth, int *status)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: t\r\n%s%s%sConnection: close\r\n\r\n", method,
			 path, auth ? "Authorization: Bearer " : "", auth ? auth : "",
			 auth ? "\r\n" : "");
	struct http_resp r;
	http(req, (size_t)n, &r);
	*status = r.status;
	assert_non_null(strstr(r.head, "Content-Type: application/json"));
	cJSON *doc = cJSON_Parse(r.body);
	assert_non_null(doc);
	free(r.body);
	return doc;
}

const cJSON *find_node(const cJSON *doc, const char *name)
{
	const cJSON *n;
	cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(doc, "nodes"))
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(n, "name");
		if (cJSON_IsString(nm) && strcmp(nm->valuestring, name) == 0)
			return n;
	}
	return NULL;
}

const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

/* ---- the daemon ---- */

/* Starts stardust-coordinator on state_dir and netfs_port; waits for its endpoints. */
static int spawn_coordinator(void)
{
	char netfs_addr[64];
	snprintf(netfs_addr, sizeof(netfs_addr), "127.0.0.1:%d", netfs_port);
	coord_pid = fork();
	assert_true(coord_pid >= 0);
	if (coord_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		const char *argv[32] = {coord_bin,     "--listen-http",
					"127.0.0.1:0", "--listen-control",
					"127.0.0.1:0", "--token",
					"API-T",       "--join-token",
					"JOIN-J",      "--heartbeat-timeout",
					"1s",          "--state-dir",
					state_dir,     "--log-level",
					"warn",        "--netfs",
					netfs_addr,    "--netfs-token",
					"NFS-T"};
		size_t n = 0;
		while (argv[n])
			n++;
		for (size_t i = 0; coord_extra_args && coord_extra_args[i] && n < 31; i++)
			argv[n++] = coord_extra_args[i];
		execv(coord_bin, (char *const *)argv);
		_exit(127);
	}
	char path[300];
	snprintf(path, sizeof(path), "%s/endpoints.json", state_dir);
	for (unsigned w = 0; w < WAIT_MS_MAX; w += 20) {
		FILE *f = fopen(path, "r");
		if (f) {
			char line[256] = "";
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
			const char *h = strstr(line, "\"http\":\"127.0.0.1:");
			const char *c = strstr(line, "\"control\":\"127.0.0.1:");
			if (h && c) {
				http_port = atoi(h + 18);
				ctl_port = atoi(c + 21);
				return 0;
			}
		}
		assert_int_equal(waitpid(coord_pid, NULL, WNOHANG), 0);
		sleep_ms(20);
	}
	fail_msg("coordinator did not publish its endpoints");
	return -1;
}

int start_coordinator(void **state)
{
	snprintf(state_dir, sizeof(state_dir), "/tmp/sd-coord-test-XXXXXX");
	assert_non_null(mkdtemp(state_dir));
	char root[300], port_file[300];
	snprintf(root, sizeof(root), "%s/export", state_dir);
	snprintf(port_file, sizeof(port_file), "%s/netfs.port", state_dir);
	assert_int_equal(mkdir(root, 0700), 0);
	netfsd_pid = fork();
	assert_true(netfsd_pid >= 0);
	if (netfsd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
		execl(netfsd_bin, netfsd_bin, "--root", root, "--listen", "127.0.0.1:0",
		      "--port-file", port_file, "--token", "NFS-T", "--log-level", "warn",
		      (char *)NULL);
		_exit(127);
	}
	for (unsigned w = 0; w < WAIT_MS_MAX && !netfs_port; w += 20) {
		FILE *pf = fopen(port_file, "r");
		if (pf) {
			if (fscanf(pf, "%d", &netfs_port) != 1)
				netfs_port = 0;
			fclose(pf);
		}
		if (!netfs_port)
			sleep_ms(20);
	}
	assert_true(netfs_port > 0);
	return spawn_coordinator();
}

/* Stops the coordinator as an operator would (SIGTERM) and starts another on
 * the same state directory and file service: new ephemeral ports. */
int restart_coordinator(void)
{
	kill(coord_pid, SIGTERM);
	int st = 0;
	assert_int_equal(waitpid(coord_pid, &st, 0), coord_pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/endpoints.json", state_dir);
	assert_int_equal(unlink(path), 0);
	http_port = ctl_port = 0;
	return spawn_coordinator();
}

int stop_coordinator(void **state)
{
	if (coord_pid > 0) {
		kill(coord_pid, SIGTERM);
		int st = 0;
		assert_int_equal(waitpid(coord_pid, &st, 0), coord_pid);
		/* A clean shutdown: exit 0, no sanitizer report. */
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	if (netfsd_pid > 0) {
		kill(netfsd_pid, SIGTERM);
		waitpid(netfsd_pid, NULL, 0);
	}
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Runs the CLI with args; captures stdout; returns its exit status. */
int run_cli(const char *args, char *out, size_t cap)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", cli_bin, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

int harness_args(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s STARDUST_COORDINATOR STARDUST_CLI STARDUST_NETFSD\n",
			argv[0]);
		return 2;
	}
	coord_bin = argv[1];
	cli_bin = argv[2];
	netfsd_bin = argv[3];
	signal(SIGPIPE, SIG_IGN);
	return 0;
}
