/*
 * Integration tests for stardust-netfsd's concat with replace (what a
 * bounded sink's commit sends): the parts, in order, become a new file that
 * replaces the target by a rename — a reader holding the old file keeps
 * seeing all of it; a checksum mismatch, a missing part or a full disk leave
 * the old target byte for byte and no temporary file behind. Expected bytes
 * are computed here and results read back from the disk.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "netfs/netfs.h"
#include "tests/integration/netfs/fixture.h"

#define PARTS     4
#define BIG_PART  (9u << 20) /* bytes: more than one copy_file_range step (8 MiB) */
#define FSIZE_MAX (1u << 20) /* bytes: the file size limit of the EFBIG server */
#define OLD_BYTES 5000u      /* bytes of the target before a replace */

/* Writes dir/p0..p<n-1> with pattern bytes of the given sizes; their sums. */
static void make_parts(const char *top, const char *d, const size_t *sizes, int n, uint64_t seed,
		       char names[][64], uint8_t **bytes, uint64_t *sums)
{
	for (int i = 0; i < n; i++) {
		snprintf(names[i], 64, "%s/p%d", d, i);
		bytes[i] = malloc(sizes[i] + 1);
		fill_pattern(bytes[i], sizes[i], seed + (uint64_t)i);
		fixture_write(top, names[i], bytes[i], sizes[i]);
		sums[i] = nfs_checksum(bytes[i], sizes[i]);
	}
}

static void assert_file(const char *top, const char *rel, const uint8_t *want, size_t len)
{
	size_t got_len = 0;
	uint8_t *got = fixture_read(top, rel, &got_len);

	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* No hidden temporary file is left in top/d. */
static void assert_no_tmp(const char *top, const char *d)
{
	char p[1024];
	struct dirent *de;
	DIR *dh;

	snprintf(p, sizeof(p), "%s/%s", top, d);
	dh = opendir(p);
	assert_non_null(dh);
	while ((de = readdir(dh)) != NULL)
		assert_null(strstr(de->d_name, ".nfs-tmp-"));
	closedir(dh);
}

static uint8_t *old_target(const char *top, const char *rel, uint64_t seed)
{
	uint8_t *old = malloc(OLD_BYTES);

	fill_pattern(old, OLD_BYTES, seed);
	fixture_write(top, rel, old, OLD_BYTES);
	return old;
}

static void test_replace_several(void **state)
{
	static const size_t sizes[PARTS] = {1000, 0, BIG_PART, 77};
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct nfs_concat_opts o = {.replace = true};
	char names[PARTS][64], path[700];
	const char *src[PARTS];
	uint8_t *bytes[PARTS], *old = old_target(root, "rp/several/out", 1), *want,
			       rd[OLD_BYTES + 1];
	uint64_t sums[PARTS], size = 0;
	size_t total = 0;
	int fd;

	(void)state;
	make_parts(root, "rp/several", sizes, PARTS, 10, names, bytes, sums);
	for (int i = 0; i < PARTS; i++) {
		src[i] = names[i];
		total += sizes[i];
	}
	want = malloc(total);
	for (size_t i = 0, at = 0; i < PARTS; at += sizes[i], i++)
		memcpy(want + at, bytes[i], sizes[i]);
	/* A reader of the old file: a replace must not write into it. */
	snprintf(path, sizeof(path), "%s/rp/several/out", root);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	o.source_xxh3 = sums;
	assert_int_equal(nfs_concat(c, "rp/several/out", src, PARTS, &o, &size), 0);
	assert_int_equal(size, total);
	assert_file(root, "rp/several/out", want, total);
	assert_int_equal(pread(fd, rd, OLD_BYTES + 1, 0), OLD_BYTES);
	assert_memory_equal(rd, old, OLD_BYTES);
	close(fd);
	for (int i = 0; i < PARTS; i++) { /* the sources are kept */
		snprintf(path, sizeof(path), "%s/%s", root, names[i]);
		assert_int_equal(access(path, F_OK), 0);
	}
	assert_no_tmp(root, "rp/several");
	/* The same again (a retried commit): the same file, not twice the bytes. */
	assert_int_equal(nfs_concat(c, "rp/several/out", src, PARTS, &o, &size), 0);
	assert_int_equal(size, total);
	assert_file(root, "rp/several/out", want, total);
	for (int i = 0; i < PARTS; i++)
		free(bytes[i]);
	free(want);
	free(old);
	nfs_close(c);
}

static void test_replace_new_and_empty(void **state)
{
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct nfs_concat_opts o = {.replace = true};
	const char *src[] = {"rp/new/a", "rp/new/b"};
	uint64_t size = 1;

	(void)state;
	fixture_write(root, "rp/new/a", "alpha\n", 6);
	fixture_write(root, "rp/new/b", "beta\n", 5);
	/* Missing directories and target are created. */
	assert_int_equal(nfs_concat(c, "rp/new/x/y/out", src, 2, &o, &size), 0);
	assert_int_equal(size, 11);
	assert_file(root, "rp/new/x/y/out", (const uint8_t *)"alpha\nbeta\n", 11);
	/* No parts at all: an empty file replaces the old one. */
	assert_int_equal(nfs_concat(c, "rp/new/x/y/out", NULL, 0, &o, &size), 0);
	assert_int_equal(size, 0);
	assert_file(root, "rp/new/x/y/out", (const uint8_t *)"", 0);
	assert_no_tmp(root, "rp/new/x/y");
	/* replace with check_size is misuse. */
	o.check_size = true;
	assert_int_equal(nfs_concat(c, "rp/new/x/y/out", src, 2, &o, NULL), SD_EINVAL);
	nfs_close(c);
}

/* Failures before and during the copy: the old target stays, nothing hidden is left. */
static void test_replace_all_or_nothing(void **state)
{
	static const size_t sizes[3] = {4096, 10, 70000};
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct nfs_concat_opts o = {.replace = true};
	char names[3][64];
	const char *src[3], *missing[] = {"rp/fail/p0", "rp/fail/nope"};
	uint8_t *bytes[3], *old = old_target(root, "rp/fail/out", 2);
	uint64_t sums[3];

	(void)state;
	make_parts(root, "rp/fail", sizes, 3, 20, names, bytes, sums);
	for (int i = 0; i < 3; i++)
		src[i] = names[i];
	sums[1] ^= 1;
	o.source_xxh3 = sums;
	assert_int_equal(nfs_concat(c, "rp/fail/out", src, 3, &o, NULL), SD_ECHECKSUM);
	assert_non_null(strstr(nfs_last_error(c), "rp/fail/p1"));
	assert_file(root, "rp/fail/out", old, OLD_BYTES);
	o.source_xxh3 = NULL;
	assert_int_equal(nfs_concat(c, "rp/fail/out", missing, 2, &o, NULL), SD_ENOENT);
	assert_file(root, "rp/fail/out", old, OLD_BYTES);
	assert_no_tmp(root, "rp/fail");
	for (int i = 0; i < 3; i++)
		free(bytes[i]);
	free(old);
	nfs_close(c);
}

/* A disk that refuses bytes half way through the copy (RLIMIT_FSIZE: EFBIG). */
static void test_replace_full_disk(void **state)
{
	static const size_t sizes[2] = {600u << 10, 600u << 10};
	struct server_proc sp;
	struct nfs_conn *c;
	struct nfs_concat_opts o = {.replace = true};
	char top[600], names[2][64];
	const char *src[2];
	uint8_t *bytes[2], *old;
	uint64_t sums[2], size = 0;

	(void)state;
	snprintf(top, sizeof(top), "%s/rp-fsize-root", dir);
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(server_start_fsize(&sp, top, dir, NULL, FSIZE_MAX), 0);
	c = conn_to(&sp, NULL);
	old = old_target(top, "d/out", 3);
	make_parts(top, "d", sizes, 2, 30, names, bytes, sums);
	src[0] = names[0];
	src[1] = names[1];
	assert_int_equal(nfs_concat(c, "d/out", src, 2, &o, NULL), SD_ETOOBIG);
	assert_file(top, "d/out", old, OLD_BYTES);
	assert_no_tmp(top, "d");
	/* One part fits: it replaces the target. */
	assert_int_equal(nfs_concat(c, "d/out", src, 1, &o, &size), 0);
	assert_int_equal(size, sizes[0]);
	assert_file(top, "d/out", bytes[0], sizes[0]);
	free(bytes[0]);
	free(bytes[1]);
	free(old);
	nfs_close(c);
	server_stop(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_several),
		cmocka_unit_test(test_replace_new_and_empty),
		cmocka_unit_test(test_replace_all_or_nothing),
		cmocka_unit_test(test_replace_full_disk),
	};
	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
