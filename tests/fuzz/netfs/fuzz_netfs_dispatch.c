/*
 * tests/fuzz/netfs/fuzz_netfs_dispatch.c — netfsd's request decoder and
 * dispatcher (frame reassembly, srv_dispatch, path rules, list, sinks) over
 * arbitrary bytes, against a scratch export root.
 *
 * Input: byte 0 bit 0 set = the session already said hello; the rest is the
 * byte stream a client sends. Reads and tails are opened and handed to a
 * transport stub that closes the descriptor; jobs (concat, truncate) run at
 * once; every response is encoded. Files are capped at FUZZ_FILE_MAX
 * (RLIMIT_FSIZE, SIGXFSZ ignored), so concats of concats cannot fill the
 * disk, and writes past the cap exercise the all-or-nothing paths.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "netfs/server/srv.h"

#define FUZZ_FILE_MAX (1u << 20) /* bytes: largest file the fuzzed server may write */

static struct srv fuzz_srv;
static bool fuzz_ready;

static int stub_send(void *arg, uint16_t type, const ProtobufCMessage *msg)
{
	size_t cap = wire_frame_size(msg, 0);
	uint8_t *buf = malloc(cap);
	long n = buf ? wire_encode(type, msg, NULL, 0, buf, cap) : SD_ENOMEM;

	free(buf);
	if (n < 0)
		abort(); /* the server must always produce encodable answers */
	return 0;
}

static int stub_start_read(void *arg, int fd, uint64_t req_id, uint64_t offset, uint64_t end,
			   uint64_t size, uint32_t chunk)
{
	if (end < offset || (end > size && end != offset) || chunk == 0 || chunk > NFS_CHUNK_MAX)
		abort();
	close(fd);
	return 0;
}

static int stub_start_tail(void *arg, int fd, uint64_t req_id, uint64_t offset, uint32_t max_bytes,
			   uint32_t timeout_ms)
{
	if (max_bytes == 0 || max_bytes > NFS_CHUNK_MAX || timeout_ms > SRV_TAIL_TIMEOUT_MAX_MS)
		abort();
	close(fd);
	return 0;
}

static unsigned stub_inflight(void *arg)
{
	return 0;
}

static void stub_appended(void *arg)
{
}

static void stub_cancel(void *arg, uint64_t req_id)
{
}

/* Jobs (concat, truncate) run at once, on this thread. */
static int stub_run(void *arg, struct srv_job *job)
{
	job->work(job);
	job->done(job);
	return 0;
}

static const struct srv_io stub_io = {
	.send = stub_send,
	.start_read = stub_start_read,
	.start_tail = stub_start_tail,
	.inflight = stub_inflight,
	.appended = stub_appended,
	.cancel = stub_cancel,
	.run = stub_run,
};

static void put(const char *root, const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if ((f = fopen(p, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void fuzz_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_srv.cfg.root);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fuzz_srv.cfg.root);
}

static void fuzz_init(void)
{
	static char root[64] = "/tmp/netfs-fuzz-XXXXXX";
	struct rlimit fsize;
	char p[512];

	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &fsize) < 0)
		abort();
	fsize.rlim_cur = FUZZ_FILE_MAX;
	if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		abort();
	if (!mkdtemp(root))
		abort();
	snprintf(p, sizeof(p), "%s/d", root);
	mkdir(p, 0755);
	put(root, "f.txt", "hello\n");
	put(root, "d/g.txt", "g\n");
	snprintf(p, sizeof(p), "%s/out", root);
	if (symlink("/etc", p) < 0)
		abort();
	fuzz_srv.cfg =
		(struct srv_config){.root = root, .region = "fuzz", .name = "fuzz", .token = "tok"};
	fuzz_srv.root_fd = open(root, O_PATH | O_DIRECTORY);
	if (fuzz_srv.root_fd < 0)
		abort();
	sd_log_set_level(SD_LOG_OFF);
	atexit(fuzz_cleanup);
	fuzz_ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srv_session ss;
	struct wire_reader r;
	struct wire_frame f;

	if (!fuzz_ready)
		fuzz_init();
	if (size < 1)
		return 0;
	srv_session_init(&ss, &fuzz_srv, &stub_io, NULL);
	ss.hello_done = data[0] & 1;
	wire_reader_init(&r, SRV_FRAME_MAX);
	if (size > 1 && wire_reader_feed(&r, data + 1, size - 1) == 0) {
		while (wire_reader_next(&r, NULL, &f) == 0) {
			size_t total = WIRE_HEADER_SIZE + f.hdr.body_len + f.hdr.attach_len;
			const uint8_t *body = r.buf + r.start - total + WIRE_HEADER_SIZE;
			int rc = srv_dispatch(&ss, &f, body);
			wire_frame_release(&f, NULL);
			if (rc < 0)
				break;
		}
	}
	wire_reader_fini(&r);
	srv_session_fini(&ss);
	return 0;
}
