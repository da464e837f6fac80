/*
 * Unit tests for netfsd's path rules (netfs/server/path.c): normalization
 * refuses escapes, and opening never leaves the root or follows a symlink,
 * with openat2 and with the per-component O_NOFOLLOW fallback.
 */
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
#include "netfs/server/srv.h"

static char root[256];

static void test_normalize(void **state)
{
	char out[NFS_PATH_MAX + 1];
	const char *why;
	char longp[NFS_PATH_MAX + 8];

	(void)state;
	assert_int_equal(srv_path_normalize("a/b.txt", false, out, &why), 0);
	assert_string_equal(out, "a/b.txt");
	assert_int_equal(srv_path_normalize("./a//b/./c/", false, out, &why), 0);
	assert_string_equal(out, "a/b/c");
	assert_int_equal(srv_path_normalize("", true, out, &why), 0);
	assert_string_equal(out, ".");
	assert_int_equal(srv_path_normalize("", false, out, &why), SD_EPATH);
	assert_int_equal(srv_path_normalize("..", false, out, &why), SD_EPATH);
	assert_non_null(strstr(why, ".."));
	assert_int_equal(srv_path_normalize("a/../../etc", false, out, &why), SD_EPATH);
	assert_int_equal(srv_path_normalize("a/..", false, out, &why), SD_EPATH);
	assert_int_equal(srv_path_normalize("/etc/passwd", false, out, &why), SD_EPATH);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(srv_path_normalize("d/" SRV_TMP_PREFIX "1-2-3", false, out, &why),
			 SD_EPATH);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(srv_path_normalize(longp, false, out, &why), SD_EPATH);
	/* "..x" and "x.." are ordinary names. */
	assert_int_equal(srv_path_normalize("..x/x..", false, out, &why), 0);
	assert_string_equal(out, "..x/x..");
}

static void check_opens(bool no_openat2)
{
	struct srv s = {.cfg = {.root = root, .no_openat2 = no_openat2}};
	const char *base;
	int fd;

	s.root_fd = open(root, O_PATH | O_DIRECTORY);
	assert_true(s.root_fd >= 0);
	assert_int_equal(srv_open_beneath(&s, "sub/f.txt", O_RDONLY, 0, &fd), 0);
	char buf[8] = {0};
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	close(fd);
	/* A symlink at the end, in the middle, or pointing outside: refused. */
	assert_int_equal(srv_open_beneath(&s, "link_in", O_RDONLY, 0, &fd), SD_EPATH);
	assert_int_equal(srv_open_beneath(&s, "link_out", O_RDONLY, 0, &fd), SD_EPATH);
	assert_int_equal(srv_open_beneath(&s, "dirlink/f.txt", O_RDONLY, 0, &fd), SD_EPATH);
	assert_int_equal(srv_open_beneath(&s, "missing", O_RDONLY, 0, &fd), SD_ENOENT);
	assert_int_equal(srv_open_parent(&s, "dirlink/x", false, &fd, &base), SD_EPATH);
	assert_int_equal(srv_open_parent(&s, "sub/x", false, &fd, &base), 0);
	assert_string_equal(base, "x");
	close(fd);
	assert_int_equal(srv_open_parent(&s, "new1/new2/x", true, &fd, &base), 0);
	close(fd);
	struct stat st;
	char p[512];
	snprintf(p, sizeof(p), "%s/new1/new2", root);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(s.root_fd);
}

static void test_open_openat2(void **state)
{
	(void)state;
	check_opens(false);
}

static void test_open_fallback(void **state)
{
	(void)state;
	check_opens(true);
}

static int setup(void **state)
{
	char p[512];
	FILE *f;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/netfs-path-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/f.txt", root);
	f = fopen(p, "w");
	fputs("abc", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/link_in", root);
	if (symlink("sub/f.txt", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/link_out", root);
	if (symlink("/etc/passwd", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/dirlink", root);
	if (symlink("sub", p) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_open_openat2),
		cmocka_unit_test(test_open_fallback),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
