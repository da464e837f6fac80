/*
 * Integration tests for stardust-netfsd, the operations exactly-once sinks
 * use: server-side concat (several parts, check_size refusals, checksums,
 * missing sources, delete_sources, the idempotent retry pattern, busy paths)
 * and truncate; and all-or-nothing appends and concats when the disk refuses
 * bytes (RLIMIT_FSIZE on the server: EFBIG; a small tmpfs: ENOSPC, skipped
 * when it cannot be mounted). Expected bytes are computed here, and results
 * read back from the disk.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "netfs/netfs.h"
#include "tests/integration/netfs/fixture.h"

#define PARTS       4
#define BIG_PART    (9u << 20)   /* bytes: more than one copy_file_range step (8 MiB) */
#define FSIZE_MAX   (1u << 20)   /* bytes: the file size limit of the EFBIG server */
#define TMPFS_BYTES "1m"         /* the ENOSPC file system */
#define STEP        (600u << 10) /* bytes: the append that fits once, not twice */

/* A growing byte buffer: the expected file contents. */
struct expect {
	uint8_t *data;
	size_t len;
};

static void expect_add(struct expect *e, const uint8_t *d, size_t n)
{
	e->data = realloc(e->data, e->len + n + 1);
	memcpy(e->data + e->len, d, n);
	e->len += n;
}

/* The file root/rel holds exactly e. */
static void assert_file(const char *top, const char *rel, const struct expect *e)
{
	size_t len = 0;
	uint8_t *d = fixture_read(top, rel, &len);

	assert_non_null(d);
	assert_int_equal(len, e->len);
	assert_memory_equal(d, e->data, len);
	free(d);
}

static bool exists(const char *top, const char *rel)
{
	char p[2048];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

/* Writes parts dir/p0..p<n-1> with pattern bytes of the given sizes. */
static void make_parts(const char *d, const size_t *sizes, int n, uint64_t seed, char names[][64],
		       uint8_t **bytes)
{
	for (int i = 0; i < n; i++) {
		snprintf(names[i], 64, "%s/p%d", d, i);
		bytes[i] = malloc(sizes[i] + 1);
		fill_pattern(bytes[i], sizes[i], seed + (uint64_t)i);
		fixture_write(root, names[i], bytes[i], sizes[i]);
	}
}

static void test_concat_several(void **state)
{
	static const size_t sizes[PARTS] = {1000, 0, BIG_PART, 77};
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	char names[PARTS][64];
	const char *src[PARTS];
	uint8_t *bytes[PARTS];
	struct expect want = {0};
	uint64_t size = 0;

	(void)state;
	make_parts("cc/several", sizes, PARTS, 100, names, bytes);
	for (int i = 0; i < PARTS; i++) {
		src[i] = names[i];
		expect_add(&want, bytes[i], sizes[i]);
	}
	/* A missing target and missing directories are created. */
	assert_int_equal(nfs_concat(c, "cc/several/out/t.bin", src, PARTS, NULL, &size), 0);
	assert_int_equal(size, want.len);
	assert_file(root, "cc/several/out/t.bin", &want);
	/* Onto an existing target: appended after what is there, in order. */
	const char *again[] = {names[3], names[0]};
	assert_int_equal(nfs_concat(c, "cc/several/out/t.bin", again, 2, NULL, &size), 0);
	expect_add(&want, bytes[3], sizes[3]);
	expect_add(&want, bytes[0], sizes[0]);
	assert_int_equal(size, want.len);
	assert_file(root, "cc/several/out/t.bin", &want);
	for (int i = 0; i < PARTS; i++)
		assert_true(exists(root, names[i])); /* kept without delete_sources */
	/* No sources: nothing appended, the size reported. */
	assert_int_equal(nfs_concat(c, "cc/several/out/t.bin", NULL, 0, NULL, &size), 0);
	assert_int_equal(size, want.len);
	for (int i = 0; i < PARTS; i++)
		free(bytes[i]);
	free(want.data);
	nfs_close(c);
}

static void test_concat_check_size(void **state)
{
	static const size_t sizes[2] = {300, 500};
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct nfs_concat_opts o = {.check_size = true};
	char names[2][64], msg[512];
	const char *src[2];
	uint8_t *bytes[2];
	struct expect want = {0};
	uint64_t size = 0;

	(void)state;
	make_parts("cc/check", sizes, 2, 200, names, bytes);
	src[0] = names[0];
	src[1] = names[1];
	expect_add(&want, (const uint8_t *)"head", 4);
	fixture_write(root, "cc/check/t", "head", 4);
	o.expect_size = 5;
	assert_int_equal(nfs_concat(c, "cc/check/t", src, 2, &o, &size), SD_ESTATE);
	snprintf(msg, sizeof(msg), "%s", nfs_last_error(c));
	assert_non_null(strstr(msg, "cc/check/t"));
	assert_non_null(strstr(msg, "4 bytes"));
	assert_non_null(strstr(msg, "expected 5"));
	assert_file(root, "cc/check/t", &want);
	/* A missing target has size 0: refused, and not created. */
	assert_int_equal(nfs_concat(c, "cc/check/new/t", src, 2, &o, NULL), SD_ESTATE);
	assert_false(exists(root, "cc/check/new"));
	/* The right size goes through. */
	o.expect_size = 4;
	assert_int_equal(nfs_concat(c, "cc/check/t", src, 2, &o, &size), 0);
	expect_add(&want, bytes[0], sizes[0]);
	expect_add(&want, bytes[1], sizes[1]);
	assert_int_equal(size, want.len);
	assert_file(root, "cc/check/t", &want);
	free(bytes[0]);
	free(bytes[1]);
	free(want.data);
	nfs_close(c);
}

static void test_concat_checksums(void **state)
{
	static const size_t sizes[3] = {4096, 10, 70000};
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct nfs_concat_opts o = {0};
	char names[3][64];
	const char *src[3];
	uint8_t *bytes[3];
	uint64_t sums[3];
	struct expect want = {0};

	(void)state;
	make_parts("cc/sum", sizes, 3, 300, names, bytes);
	for (int i = 0; i < 3; i++) {
		src[i] = names[i];
		sums[i] = nfs_checksum(bytes[i], sizes[i]);
	}
	expect_add(&want, (const uint8_t *)"0123456789", 10);
	fixture_write(root, "cc/sum/t", "0123456789", 10);
	sums[2] ^= 1; /* the last source is "corrupt": nothing may be appended */
	o.source_xxh3 = sums;
	assert_int_equal(nfs_concat(c, "cc/sum/t", src, 3, &o, NULL), SD_ECHECKSUM);
	assert_non_null(strstr(nfs_last_error(c), "cc/sum/p2"));
	assert_file(root, "cc/sum/t", &want);
	sums[2] ^= 1;
	assert_int_equal(nfs_concat(c, "cc/sum/t", src, 3, &o, NULL), 0);
	for (int i = 0; i < 3; i++)
		expect_add(&want, bytes[i], sizes[i]);
	assert_file(root, "cc/sum/t", &want);
	for (int i = 0; i < 3; i++)
		free(bytes[i]);
	free(want.data);
	nfs_close(c);
}

static void test_concat_missing_source(void **state)
{
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	const char *src[] = {"cc/miss/a", "cc/miss/nope", "cc/miss/b"};
	struct expect want = {0};

	(void)state;
	fixture_write(root, "cc/miss/a", "aaaa", 4);
	fixture_write(root, "cc/miss/b", "bbbb", 4);
	fixture_write(root, "cc/miss/t", "tt", 2);
	expect_add(&want, (const uint8_t *)"tt", 2);
	assert_int_equal(nfs_concat(c, "cc/miss/t", src, 3, NULL, NULL), SD_ENOENT);
	assert_non_null(strstr(nfs_last_error(c), "cc/miss/nope"));
	assert_file(root, "cc/miss/t", &want);
	assert_int_equal(nfs_concat(c, "cc/miss/new", src, 3, NULL, NULL), SD_ENOENT);
	assert_false(exists(root, "cc/miss/new"));
	free(want.data);
	nfs_close(c);
}

static void test_concat_delete_sources(void **state)
{
	static const size_t sizes[3] = {123, 4567, 8};
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct nfs_concat_opts o = {.delete_sources = true};
	char names[3][64];
	const char *src[3];
	uint8_t *bytes[3];
	struct expect want = {0};
	uint64_t size;

	(void)state;
	make_parts("cc/del", sizes, 3, 400, names, bytes);
	for (int i = 0; i < 3; i++) {
		src[i] = names[i];
		expect_add(&want, bytes[i], sizes[i]);
	}
	assert_int_equal(nfs_concat(c, "cc/del/t", src, 3, &o, &size), 0);
	assert_int_equal(size, want.len);
	assert_file(root, "cc/del/t", &want);
	for (int i = 0; i < 3; i++) {
		assert_false(exists(root, names[i]));
		free(bytes[i]);
	}
	free(want.data);
	nfs_close(c);
}

/* A sink publishing parts exactly once, whatever answer got lost. */
static void test_concat_idempotent_retry(void **state)
{
	static const size_t sizes[2] = {2000, 3000};
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct nfs_concat_opts o = {.check_size = true, .delete_sources = true};
	struct nfs_stat st;
	char names[2][64];
	const char *src[2];
	uint8_t *bytes[2];
	struct expect want = {0};
	uint64_t size = 0;

	(void)state;
	make_parts("cc/once", sizes, 2, 500, names, bytes);
	src[0] = names[0];
	src[1] = names[1];
	expect_add(&want, bytes[0], sizes[0]);
	expect_add(&want, bytes[1], sizes[1]);
	assert_int_equal(nfs_stat(c, "cc/once/result", &st), SD_ENOENT);
	o.expect_size = 0; /* what the stat said: missing */
	assert_int_equal(nfs_concat(c, "cc/once/result", src, 2, &o, &size), 0);
	assert_int_equal(size, want.len);
	/* The retry of the same call (as after a lost answer) changes nothing. */
	assert_int_equal(nfs_concat(c, "cc/once/result", src, 2, &o, &size), SD_ESTATE);
	assert_file(root, "cc/once/result", &want);
	/* The caller learns it was done: the size is the expected sum. */
	assert_int_equal(nfs_stat(c, "cc/once/result", &st), 0);
	assert_int_equal(st.size, sizes[0] + sizes[1]);
	free(bytes[0]);
	free(bytes[1]);
	free(want.data);
	nfs_close(c);
}

static void test_concat_refused(void **state)
{
	struct nfs_conn *c = conn_to(&srv_walk, NULL);
	const char *escape[] = {"a.txt", "../x"};
	const char *via_link[] = {"link_in"};
	const char *self[] = {"a.txt", "./a.txt"};
	const char *dirsrc[] = {"sub"};
	const char *ok[] = {"sub/b.txt"};
	struct expect want = {0};

	(void)state;
	expect_add(&want, (const uint8_t *)"hello\n", 6);
	assert_int_equal(nfs_concat(c, "cc/ref/t", escape, 2, NULL, NULL), SD_EPATH);
	assert_non_null(strstr(nfs_last_error(c), "../x"));
	assert_int_equal(nfs_concat(c, "cc/ref/t", via_link, 1, NULL, NULL), SD_EPATH);
	assert_int_equal(nfs_concat(c, "link_in", ok, 1, NULL, NULL), SD_EPATH);
	assert_int_equal(nfs_concat(c, "dirlink/x", ok, 1, NULL, NULL), SD_EPATH);
	assert_int_equal(nfs_concat(c, "sub/.nfs-tmp-1-1-1", ok, 1, NULL, NULL), SD_EPATH);
	assert_int_equal(nfs_concat(c, "a.txt", self, 2, NULL, NULL), SD_EINVAL);
	assert_int_equal(nfs_concat(c, "cc/ref/t", dirsrc, 1, NULL, NULL), SD_EISDIR);
	assert_int_equal(nfs_concat(c, "sub", ok, 1, NULL, NULL), SD_EISDIR);
	assert_file(root, "a.txt", &want);
	assert_false(exists(root, "cc/ref"));
	/* Hard links are caught by inode: the target may not feed itself. */
	char from[600], to[600];
	snprintf(from, sizeof(from), "%s/a.txt", root);
	snprintf(to, sizeof(to), "%s/a-hard.txt", root);
	assert_int_equal(link(from, to), 0);
	const char *hard[] = {"a-hard.txt"};
	assert_int_equal(nfs_concat(c, "a.txt", hard, 1, NULL, NULL), SD_EINVAL);
	assert_file(root, "a.txt", &want);
	unlink(to);
	free(want.data);
	nfs_close(c);
}

/* Raw requests the blocking client never sends. */
static void test_concat_raw_limits(void **state)
{
	Sd__Netfs__ConcatReq m = SD__NETFS__CONCAT_REQ__INIT;
	static char *many[NFS_CONCAT_SOURCES_MAX + 1];
	uint64_t sums[1] = {0};
	struct wire_reader r;
	struct wire_frame f;
	int fd = raw_connect(srv_plain.port);

	(void)state;
	assert_true(fd >= 0);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	for (size_t i = 0; i < NFS_CONCAT_SOURCES_MAX + 1; i++)
		many[i] = "a.txt";
	m.req_id = 1;
	m.target = "cc/raw/t";
	m.n_sources = NFS_CONCAT_SOURCES_MAX + 1;
	m.sources = many;
	assert_int_equal(raw_send(fd, WIRE_NFS_CONCAT_REQ, &m.base, NULL, 0), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_ERROR);
	assert_int_equal(((Sd__Netfs__Error *)f.msg)->code, SD_ELIMIT);
	wire_frame_release(&f, NULL);
	/* One checksum for two sources. */
	m.req_id = 2;
	m.n_sources = 2;
	m.n_source_xxh3 = 1;
	m.source_xxh3 = sums;
	assert_int_equal(raw_send(fd, WIRE_NFS_CONCAT_REQ, &m.base, NULL, 0), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_ERROR);
	assert_int_equal(((Sd__Netfs__Error *)f.msg)->req_id, 2);
	assert_int_equal(((Sd__Netfs__Error *)f.msg)->code, SD_EINVAL);
	wire_frame_release(&f, NULL);
	assert_false(exists(root, "cc/raw"));
	wire_reader_fini(&r);
	close(fd);
}

/*
 * Requests that arrive while a concat runs on the worker: writers of its
 * target are refused (SD_EBUSY), not interleaved. The three frames go out in
 * one send, so the server dispatches them before the concat can answer.
 */
static void test_concat_busy(void **state)
{
	Sd__Netfs__ConcatReq cc = SD__NETFS__CONCAT_REQ__INIT;
	Sd__Netfs__AppendReq ap = SD__NETFS__APPEND_REQ__INIT;
	Sd__Netfs__TruncateReq tr = SD__NETFS__TRUNCATE_REQ__INIT;
	char *src[] = {"big.bin"};
	uint8_t frames[1024];
	size_t len = 0;
	int seen = 0;
	struct wire_reader r;
	struct wire_frame f;
	int fd = raw_connect(srv_plain.port);

	(void)state;
	assert_true(fd >= 0);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	cc.req_id = 1;
	cc.target = "cc/busy/t";
	cc.n_sources = 1;
	cc.sources = src;
	ap.req_id = 2;
	ap.path = "cc/busy/t";
	ap.xxh3 = nfs_checksum("x", 1);
	tr.req_id = 3;
	tr.path = "cc/busy/t";
	len += (size_t)wire_encode(WIRE_NFS_CONCAT_REQ, &cc.base, NULL, 0, frames, sizeof(frames));
	len += (size_t)wire_encode(WIRE_NFS_APPEND_REQ, &ap.base, "x", 1, frames + len,
				   sizeof(frames) - len);
	len += (size_t)wire_encode(WIRE_NFS_TRUNCATE_REQ, &tr.base, NULL, 0, frames + len,
				   sizeof(frames) - len);
	assert_int_equal(raw_send_bytes(fd, frames, len), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(raw_recv(fd, &r, &f), 0);
		if (f.hdr.type == WIRE_NFS_OK) {
			assert_int_equal(((Sd__Netfs__Ok *)f.msg)->req_id, 1);
			assert_int_equal(((Sd__Netfs__Ok *)f.msg)->size, BIG_SIZE);
		} else {
			Sd__Netfs__Error *e = (Sd__Netfs__Error *)f.msg;
			assert_int_equal(f.hdr.type, WIRE_NFS_ERROR);
			assert_true(e->req_id == 2 || e->req_id == 3);
			assert_int_equal(e->code, SD_EBUSY);
			assert_non_null(strstr(e->message, "cc/busy/t"));
		}
		seen |= 1 << i;
		wire_frame_release(&f, NULL);
	}
	assert_int_equal(seen, 7);
	struct expect want = {.data = big, .len = BIG_SIZE};
	assert_file(root, "cc/busy/t", &want);
	wire_reader_fini(&r);
	close(fd);
}

static void test_truncate(void **state)
{
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	uint8_t data[5000];
	struct expect want = {0};
	struct nfs_stat st;

	(void)state;
	fill_pattern(data, sizeof(data), 600);
	fixture_write(root, "tr/f", data, sizeof(data));
	assert_int_equal(nfs_truncate(c, "tr/f", 1234), 0);
	expect_add(&want, data, 1234);
	assert_file(root, "tr/f", &want);
	assert_int_equal(nfs_truncate(c, "tr/f", 1234), 0); /* to its own size: fine */
	assert_int_equal(nfs_truncate(c, "tr/f", 1235), SD_EINVAL);
	assert_non_null(strstr(nfs_last_error(c), "tr/f"));
	assert_file(root, "tr/f", &want);
	assert_int_equal(nfs_truncate(c, "tr/nope", 0), SD_ENOENT);
	assert_false(exists(root, "tr/nope"));
	assert_int_equal(nfs_truncate(c, "link_in", 0), SD_EPATH);
	assert_int_equal(nfs_truncate(c, "../x", 0), SD_EPATH);
	assert_int_not_equal(nfs_truncate(c, "sub", 0), 0);
	assert_int_equal(nfs_stat(c, "a.txt", &st), 0);
	assert_int_equal(st.size, 6);
	/* Recovery before a retried publish: cut back, concat again with check_size. */
	const char *src[] = {"sub/b.txt"};
	struct nfs_concat_opts o = {.check_size = true, .expect_size = 1234};
	fixture_write(root, "tr/g", data, 1300); /* a crashed concat left 66 bytes */
	assert_int_equal(nfs_concat(c, "tr/g", src, 1, &o, NULL), SD_ESTATE);
	assert_int_equal(nfs_truncate(c, "tr/g", 1234), 0);
	assert_int_equal(nfs_concat(c, "tr/g", src, 1, &o, NULL), 0);
	expect_add(&want, (const uint8_t *)"bbb\n", 4);
	assert_file(root, "tr/g", &want);
	assert_int_equal(nfs_truncate(c, "tr/g", 0), 0);
	want.len = 0;
	assert_file(root, "tr/g", &want);
	free(want.data);
	nfs_close(c);
}

/*
 * Appends and a concat on a server whose writes stop at a limit, then a
 * clean append: a failed one leaves the file as it was. The log lives in
 * top/logdir; the concat's source in top/part (on another file system for
 * the tmpfs run: the server falls back from copy_file_range to read/write).
 */
static void check_full_disk(const struct server_proc *sp, const char *top, const char *logdir,
			    int want_err)
{
	struct nfs_conn *c = conn_to(sp, NULL);
	uint8_t *a = malloc(STEP), *b = malloc(STEP), *small = malloc(100000);
	struct expect want = {0};
	uint64_t size = 0;
	char log[64];

	snprintf(log, sizeof(log), "%s/log", logdir);
	fill_pattern(a, STEP, 700);
	fill_pattern(b, STEP, 701);
	fill_pattern(small, 100000, 702);
	assert_int_equal(nfs_append(c, log, a, STEP, &size), 0);
	assert_int_equal(size, STEP);
	expect_add(&want, a, STEP);
	/* Fits partly: the server writes some bytes, then the disk says no. */
	assert_int_equal(nfs_append(c, log, b, STEP, NULL), want_err);
	assert_non_null(strstr(nfs_last_error(c), log));
	assert_file(top, log, &want);
	assert_int_equal(nfs_append(c, log, small, 100000, &size), 0);
	expect_add(&want, small, 100000);
	assert_int_equal(size, want.len);
	assert_file(top, log, &want);
	/* The same for a concat: back to the size before, the source untouched. */
	fixture_write(top, "part", b, 300000);
	const char *src[] = {"part", "part"};
	assert_int_equal(nfs_concat(c, log, src, 2, NULL, NULL), want_err);
	assert_non_null(strstr(nfs_last_error(c), "part"));
	assert_file(top, log, &want);
	assert_int_equal(nfs_append(c, log, "end\n", 4, &size), 0);
	expect_add(&want, (const uint8_t *)"end\n", 4);
	assert_file(top, log, &want);
	/* A concat that fits still works after all that. */
	assert_int_equal(nfs_truncate(c, log, 1000), 0);
	assert_int_equal(nfs_concat(c, log, src, 1, NULL, &size), 0);
	want.len = 1000;
	expect_add(&want, b, 300000);
	assert_int_equal(size, want.len);
	assert_file(top, log, &want);
	free(a);
	free(b);
	free(small);
	free(want.data);
	nfs_close(c);
}

static void test_all_or_nothing_efbig(void **state)
{
	struct server_proc sp;
	char top[600];

	(void)state;
	snprintf(top, sizeof(top), "%s/fsize-root", dir);
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(server_start_fsize(&sp, top, dir, NULL, FSIZE_MAX), 0);
	check_full_disk(&sp, top, "logs", SD_ETOOBIG); /* EFBIG */
	server_stop(&sp);
}

static struct server_proc tmpfs_srv;
static char tmpfs_top[600], tmpfs_disk[700];

static void test_all_or_nothing_enospc(void **state)
{
	(void)state;
	snprintf(tmpfs_top, sizeof(tmpfs_top), "%s/enospc-root", dir);
	snprintf(tmpfs_disk, sizeof(tmpfs_disk), "%s/disk", tmpfs_top);
	assert_int_equal(mkdir(tmpfs_top, 0755), 0);
	assert_int_equal(mkdir(tmpfs_disk, 0755), 0);
	if (mount("tmpfs", tmpfs_disk, "tmpfs", 0, "size=" TMPFS_BYTES) < 0) {
		print_message("skipped: cannot mount a tmpfs on %s (needs root or "
			      "CAP_SYS_ADMIN): %s; the EFBIG test covers the same paths\n",
			      tmpfs_disk, strerror(errno));
		tmpfs_disk[0] = '\0';
		skip();
	}
	assert_int_equal(server_start(&tmpfs_srv, tmpfs_top, dir, NULL), 0);
	check_full_disk(&tmpfs_srv, tmpfs_top, "disk", SD_ENOSPC);
}

/* Also after a failure: the server off the mount, then the mount off the tree. */
static int tmpfs_teardown(void **state)
{
	(void)state;
	server_stop(&tmpfs_srv);
	return tmpfs_disk[0] && umount2(tmpfs_disk, MNT_DETACH) < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concat_several),
		cmocka_unit_test(test_concat_check_size),
		cmocka_unit_test(test_concat_checksums),
		cmocka_unit_test(test_concat_missing_source),
		cmocka_unit_test(test_concat_delete_sources),
		cmocka_unit_test(test_concat_idempotent_retry),
		cmocka_unit_test(test_concat_refused),
		cmocka_unit_test(test_concat_raw_limits),
		cmocka_unit_test(test_concat_busy),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_all_or_nothing_efbig),
		cmocka_unit_test_teardown(test_all_or_nothing_enospc, tmpfs_teardown),
	};
	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
