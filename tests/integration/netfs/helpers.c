/* tests/integration/netfs/helpers.c — see helpers.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "netfs/netfs.h"
#include "tests/integration/netfs/helpers.h"

#define START_WAIT_MS 10000 /* longest wait for the port file */

int server_start(struct server_proc *sp, const char *root, const char *dir,
		 const char *const *extra)
{
	return server_start_fsize(sp, root, dir, extra, 0);
}

int server_start_fsize(struct server_proc *sp, const char *root, const char *dir,
		       const char *const *extra, uint64_t fsize_max)
{
	char portfile[512];
	const char *argv[32];
	int n = 0;

	snprintf(portfile, sizeof(portfile), "%s/port-%d-%ld", dir, getpid(), (long)random());
	argv[n++] = NETFSD_PATH;
	argv[n++] = "--root";
	argv[n++] = root;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	argv[n++] = "--log-level";
	argv[n++] = "warn";
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	sp->pid = fork();
	if (sp->pid == 0) {
		/* A test that fails half-way must not leave servers behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fsize_max) {
			struct rlimit fsize = {fsize_max, fsize_max};
			signal(SIGXFSZ, SIG_IGN); /* netfsd ignores it too; before exec as well */
			if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
				_exit(126);
		}
		execv(NETFSD_PATH, (char *const *)argv);
		_exit(127);
	}
	if (sp->pid < 0)
		return -1;
	for (int waited = 0; waited < START_WAIT_MS; waited += 10) {
		FILE *f = fopen(portfile, "r");
		int port;
		if (f && fscanf(f, "%d", &port) == 1) {
			fclose(f);
			unlink(portfile);
			sp->port = (uint16_t)port;
			return 0;
		}
		if (f)
			fclose(f);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	server_stop(sp);
	return -1;
}

void server_kill(struct server_proc *sp)
{
	int status;

	if (sp->pid <= 0)
		return;
	kill(sp->pid, SIGKILL);
	waitpid(sp->pid, &status, 0);
	sp->pid = 0;
}

void server_stop(struct server_proc *sp)
{
	int status;

	if (sp->pid <= 0)
		return;
	kill(sp->pid, SIGTERM);
	waitpid(sp->pid, &status, 0);
	sp->pid = 0;
}

static void mkdirs_for(const char *path)
{
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
}

void fixture_write(const char *root, const char *rel, const void *data, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	mkdirs_for(path);
	f = fopen(path, "wb");
	if (!f)
		abort();
	if (len && fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
}

uint8_t *fixture_read(const char *root, const char *rel, size_t *len)
{
	char path[1024];
	struct stat st;
	uint8_t *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (stat(path, &st) < 0 || !(f = fopen(path, "rb")))
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	return buf;
}

void fill_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

int count_prefixed(const char *root, const char *rel, const char *prefix)
{
	char path[1024];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (!(d = opendir(path)))
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

int raw_connect(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int raw_send_bytes(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return SD_ECLOSED;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int raw_send(int fd, uint16_t type, const ProtobufCMessage *msg, const void *att, size_t len)
{
	size_t cap = wire_frame_size(msg, len);
	uint8_t *buf = malloc(cap);
	long n = wire_encode(type, msg, att, len, buf, cap);
	int rc = n < 0 ? (int)n : raw_send_bytes(fd, buf, (size_t)n);

	free(buf);
	return rc;
}

int raw_recv(int fd, struct wire_reader *r, struct wire_frame *f)
{
	for (;;) {
		uint8_t *w;
		size_t avail;
		int rc = r->buf ? wire_reader_next(r, NULL, f) : SD_EAGAIN;
		if (rc != SD_EAGAIN)
			return rc;
		if ((rc = wire_reader_space(r, &w, &avail)) < 0)
			return rc;
		ssize_t k = recv(fd, w, avail, 0);
		if (k <= 0)
			return SD_ECLOSED;
		wire_reader_commit(r, (size_t)k);
	}
}

int raw_hello(int fd, struct wire_reader *r)
{
	Sd__Netfs__Hello h = SD__NETFS__HELLO__INIT;
	struct wire_frame f;
	int rc;

	h.protocol_version = NFS_PROTOCOL_VERSION;
	h.client_name = "raw";
	if ((rc = raw_send(fd, WIRE_NFS_HELLO, &h.base, NULL, 0)) < 0)
		return rc;
	if ((rc = raw_recv(fd, r, &f)) < 0)
		return rc;
	rc = f.hdr.type == WIRE_NFS_HELLO_ACK ? 0 : SD_EPROTO;
	wire_frame_release(&f, NULL);
	return rc;
}

bool raw_wait_closed(int fd, int wait_ms)
{
	uint8_t scratch[4096];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int k = poll(&p, 1, wait_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false; /* still open when the wait ended */
		ssize_t n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

bool raw_is_open(int fd)
{
	uint8_t b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
