/*
 * Integration tests for stardust-netfsd's start-up and connection limits:
 * temporary files left by a killed server are reclaimed at start-up (and
 * those of a live process kept, symlinks not followed); silent connections
 * beyond the pre-hello cap cannot lock real clients out, not even 1030 of
 * them; the hello timeout closes a connection that sent half a hello; the
 * idle timeout closes an authenticated connection that does nothing, but not
 * one with a request in progress or an unfinished sink.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "netfs/netfs.h"
#include "tests/integration/netfs/fixture.h"

#define PREHELLO_MAX  64    /* the server's SRV_PREHELLO_MAX */
#define SILENT        100   /* silent connections: more than PREHELLO_MAX */
#define FLOOD         1030  /* the flood that used to fill SRV_CONNS_MAX (1024) */
#define CLOSE_WAIT_MS 10000 /* bound on waiting for the server to close a connection */
#define IDLE_MS       "300" /* the idle timeout of the idle test's server */
#define SINK_QUIET_MS 1500  /* an open sink stays quiet for 5 idle timeouts */

static bool exists(const char *top, const char *rel)
{
	char p[2048];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

/* A pid that no process has now: a child that already exited and was reaped. */
static pid_t dead_pid(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	waitpid(pid, &status, 0);
	return pid;
}

static void test_reclaim_planted(void **state)
{
	char top[600], outside[600], name[128], p[700];
	struct server_proc sp;
	pid_t dead = dead_pid();

	(void)state;
	snprintf(top, sizeof(top), "%s/reclaim-root", dir);
	snprintf(outside, sizeof(outside), "%s/reclaim-outside", dir);
	snprintf(name, sizeof(name), ".nfs-tmp-%d-1-0", (int)dead);
	fixture_write(top, name, "left behind", 11);
	snprintf(p, sizeof(p), "sub/deeper/.nfs-tmp-%d-7-3", (int)dead);
	fixture_write(top, p, "x", 1);
	fixture_write(top, "sub/.nfs-tmp-garbage", "no pid in this name", 19);
	snprintf(p, sizeof(p), "sub/.nfs-tmp-%d-2-0", (int)getpid()); /* a live owner */
	fixture_write(top, p, "mine", 4);
	fixture_write(top, "keep.txt", "keep", 4);
	fixture_write(top, "sub/.nfs-tmpfoo", "not the prefix", 14);
	fixture_write(top, ".nfs-tmp-dir/inner.txt", "a directory is not a temp file", 30);
	snprintf(p, sizeof(p), ".nfs-tmp-%d-9-9", (int)dead);
	fixture_write(outside, p, "outside the export", 18);
	snprintf(p, sizeof(p), "%s/out", top);
	assert_int_equal(symlink(outside, p), 0);

	assert_int_equal(server_start(&sp, top, dir, NULL), 0);
	assert_false(exists(top, name));
	snprintf(p, sizeof(p), "sub/deeper/.nfs-tmp-%d-7-3", (int)dead);
	assert_false(exists(top, p));
	assert_false(exists(top, "sub/.nfs-tmp-garbage"));
	snprintf(p, sizeof(p), "sub/.nfs-tmp-%d-2-0", (int)getpid());
	assert_true(exists(top, p));
	assert_true(exists(top, "keep.txt"));
	assert_true(exists(top, "sub/.nfs-tmpfoo"));
	assert_true(exists(top, ".nfs-tmp-dir/inner.txt"));
	snprintf(p, sizeof(p), ".nfs-tmp-%d-9-9", (int)dead);
	assert_true(exists(outside, p)); /* the symlink was not followed */
	/* The server serves the tree as before. */
	struct nfs_conn *c = conn_to(&sp, NULL);
	struct nfs_stat st;
	assert_int_equal(nfs_stat(c, "keep.txt", &st), 0);
	assert_int_equal(st.size, 4);
	nfs_close(c);
	server_stop(&sp);
}

/* The real crash: SIGKILL with a sink half-written, then a restart. */
static void test_reclaim_after_kill9(void **state)
{
	char top[600];
	uint8_t data[100000];
	struct server_proc sp;
	uint64_t h;

	(void)state;
	snprintf(top, sizeof(top), "%s/kill9-root", dir);
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(server_start(&sp, top, dir, NULL), 0);
	struct nfs_conn *c = conn_to(&sp, NULL);
	fill_pattern(data, sizeof(data), 800);
	assert_int_equal(nfs_create(c, "out/part-0", false, &h), 0);
	assert_int_equal(nfs_write(c, h, 0, data, sizeof(data)), 0);
	assert_int_equal(nfs_create(c, "part-1", false, &h), 0);
	server_kill(&sp);
	nfs_close(c);
	assert_int_equal(count_prefixed(top, "out", ".nfs-tmp-"), 1);
	assert_int_equal(count_prefixed(top, "", ".nfs-tmp-"), 1);

	assert_int_equal(server_start(&sp, top, dir, NULL), 0);
	assert_int_equal(count_prefixed(top, "out", ".nfs-tmp-"), 0);
	assert_int_equal(count_prefixed(top, "", ".nfs-tmp-"), 0);
	assert_false(exists(top, "out/part-0"));
	server_stop(&sp);
}

/* Opens n silent connections into fds; the count that connected. */
static int open_silent(const struct server_proc *sp, int *fds, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		if ((fds[i] = raw_connect(sp->port)) >= 0)
			ok++;
	return ok;
}

/* A real client connects and works while silent connections crowd the server. */
static void check_real_client(const struct server_proc *sp)
{
	struct nfs_conn *c = conn_to(sp, NULL);
	struct buf b = {0};

	assert_int_equal(nfs_append(c, "crowd.log", "made it\n", 8, NULL), 0);
	assert_int_equal(nfs_read(c, "a.txt", 0, 0, collect, &b), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "hello\n", 6);
	free(b.data);
	nfs_close(c);
}

static void test_prehello_cap(void **state)
{
	static const char *const slow[] = {"--hello-timeout-ms", "60000", NULL};
	int fds[SILENT], closed = 0;
	struct server_proc sp;

	(void)state;
	assert_int_equal(server_start(&sp, root, dir, slow), 0);
	assert_int_equal(open_silent(&sp, fds, SILENT), SILENT);
	check_real_client(&sp);
	/*
	 * The server kept the newest PREHELLO_MAX - 1 silent ones (the real
	 * client took the last place until its hello) and closed the oldest.
	 */
	for (int i = 0; i < SILENT - (PREHELLO_MAX - 1); i++)
		closed += raw_wait_closed(fds[i], CLOSE_WAIT_MS);
	assert_int_equal(closed, SILENT - (PREHELLO_MAX - 1));
	for (int i = SILENT - (PREHELLO_MAX - 1); i < SILENT; i++)
		assert_true(raw_is_open(fds[i]));
	for (int i = 0; i < SILENT; i++)
		close(fds[i]);
	server_stop(&sp);
}

/* 1030 silent connections: more than SRV_CONNS_MAX, as in the incident. */
static void test_silent_flood(void **state)
{
	static const char *const slow[] = {"--hello-timeout-ms", "60000", NULL};
	struct rlimit nofile;
	struct server_proc sp;
	int *fds = calloc(FLOOD, sizeof(int));

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &nofile), 0);
	if (nofile.rlim_max < FLOOD + 200) {
		free(fds);
		print_message("skipped: RLIMIT_NOFILE hard limit %llu < %d descriptors\n",
			      (unsigned long long)nofile.rlim_max, FLOOD + 200);
		skip();
	}
	/* The server inherits it: it must hold its share of the flood too. */
	nofile.rlim_cur = nofile.rlim_max < 8192 ? nofile.rlim_max : 8192;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &nofile), 0);
	assert_int_equal(server_start(&sp, root, dir, slow), 0);
	assert_int_equal(open_silent(&sp, fds, FLOOD), FLOOD);
	check_real_client(&sp);
	check_real_client(&sp);
	for (int i = 0; i < FLOOD; i++)
		close(fds[i]);
	free(fds);
	server_stop(&sp);
}

static void test_hello_timeout_half_hello(void **state)
{
	static const uint8_t half[8] = {'S', 'D', 1, 0, 0, WIRE_NFS_HELLO, 0, 0};
	int fd = raw_connect(srv_walk.port); /* --hello-timeout-ms 200 */

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(raw_send_bytes(fd, half, sizeof(half)), 0);
	assert_true(raw_wait_closed(fd, CLOSE_WAIT_MS));
	close(fd);
}

static void test_idle_timeout(void **state)
{
	static const char *const idle[] = {"--idle-timeout-ms", IDLE_MS, NULL};
	Sd__Netfs__TailReq t = SD__NETFS__TAIL_REQ__INIT;
	struct server_proc sp;
	struct wire_reader r;
	struct wire_frame f;
	int fd;

	(void)state;
	assert_int_equal(server_start(&sp, root, dir, idle), 0);
	/* Authenticated, then silent: closed. */
	fd = raw_connect(sp.port);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	assert_true(raw_wait_closed(fd, CLOSE_WAIT_MS));
	wire_reader_fini(&r);
	close(fd);

	/* A tail waiting longer than the idle timeout keeps its connection. */
	fd = raw_connect(sp.port);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	t.req_id = 1;
	t.path = "a.txt";
	t.offset = 6;
	t.timeout_ms = 1500;
	assert_int_equal(raw_send(fd, WIRE_NFS_TAIL_REQ, &t.base, NULL, 0), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_READ_CHUNK);
	assert_true(((Sd__Netfs__ReadChunk *)f.msg)->final);
	wire_frame_release(&f, NULL);
	/* ...and is idle from then on. */
	assert_true(raw_wait_closed(fd, CLOSE_WAIT_MS));
	wire_reader_fini(&r);
	close(fd);

	/* An unfinished sink keeps its connection: closing it would discard the file. */
	Sd__Netfs__CreateReq cr = SD__NETFS__CREATE_REQ__INIT;
	Sd__Netfs__CommitReq cm = SD__NETFS__COMMIT_REQ__INIT;
	fd = raw_connect(sp.port);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	cr.req_id = 2;
	cr.path = "idle/sink.bin";
	assert_int_equal(raw_send(fd, WIRE_NFS_CREATE_REQ, &cr.base, NULL, 0), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_CREATE_RESP);
	cm.req_id = 3;
	cm.handle = ((Sd__Netfs__CreateResp *)f.msg)->handle;
	wire_frame_release(&f, NULL);
	sleep_ms(SINK_QUIET_MS);
	assert_true(raw_is_open(fd));
	assert_int_equal(raw_send(fd, WIRE_NFS_COMMIT_REQ, &cm.base, NULL, 0), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_OK);
	wire_frame_release(&f, NULL);
	assert_true(exists(root, "idle/sink.bin"));
	/* Committed: nothing holds it open any more. */
	assert_true(raw_wait_closed(fd, CLOSE_WAIT_MS));
	wire_reader_fini(&r);
	close(fd);

	server_stop(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reclaim_planted),
		cmocka_unit_test(test_reclaim_after_kill9),
		cmocka_unit_test(test_prehello_cap),
		cmocka_unit_test(test_silent_flood),
		cmocka_unit_test(test_hello_timeout_half_hello),
		cmocka_unit_test(test_idle_timeout),
	};
	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
