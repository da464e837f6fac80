/*
 * Integration tests for stardust-netfsd, bad input and bad clients: path
 * escapes (openat2 and the O_NOFOLLOW fallback), NUL bytes, the token, 64
 * concurrent clients, abrupt disconnects mid-write and mid-read, garbage and
 * oversized frames, greedy clients, the in-flight limit, silent connections.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "netfs/netfs.h"
#include "tests/integration/netfs/fixture.h"

#define MANY_CLIENTS  64
#define WAIT_STEPS_MS 5000 /* bounded waits for the server to notice a close */
#define SRV_INFLIGHT  64   /* the server's streamed requests per connection */

static void check_escapes(const struct server_proc *sp)
{
	static const char *const bad[] = {
		"..",
		"../x",
		"a/../../etc/passwd",
		"sub/../../x",
		"/etc/passwd",
		"evil",          /* -> /etc/passwd */
		"link_in",       /* -> a.txt, inside: symlinks are refused anyway */
		"dirlink/b.txt", /* dirlink -> sub */
		"sub/up",        /* -> ../a.txt */
		"sub/.nfs-tmp-1-1-1",
	};
	struct nfs_conn *c = conn_to(sp, sp == &srv_token ? "s3cret" : NULL);
	struct nfs_stat st;
	struct buf b = {0};
	uint64_t h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(nfs_read(c, bad[i], 0, 0, collect, &b), SD_EPATH);
		assert_non_null(strstr(nfs_last_error(c), bad[i]));
		assert_int_equal(nfs_stat(c, bad[i], &st), SD_EPATH);
		assert_int_equal(nfs_append(c, bad[i], "x", 1, NULL), SD_EPATH);
		assert_int_equal(nfs_create(c, bad[i], true, &h), SD_EPATH);
		assert_int_equal(nfs_delete(c, bad[i]), SD_EPATH);
	}
	assert_int_equal(b.len, 0);
	assert_int_equal(nfs_list(c, "../*", NULL, NULL, NULL), SD_EPATH);
	assert_int_equal(nfs_list(c, "dirlink/*", NULL, NULL, NULL), SD_EPATH);
	/* Nothing leaked out, nothing written through links. */
	size_t len;
	uint8_t *a = fixture_read(root, "a.txt", &len);
	assert_int_equal(len, 6);
	free(a);
	uint8_t *sb = fixture_read(root, "sub/b.txt", &len);
	assert_int_equal(len, 4);
	free(sb);
	struct stat lst;
	char p[512];
	snprintf(p, sizeof(p), "%s/evil", root);
	assert_int_equal(lstat(p, &lst), 0); /* the link survived delete */
	nfs_close(c);
}

static void test_path_escapes_openat2(void **state)
{
	(void)state;
	check_escapes(&srv_plain);
}

static void test_path_escapes_fallback(void **state)
{
	(void)state;
	check_escapes(&srv_walk);
}

static void test_nul_in_path(void **state)
{
	/* StatReq{req_id=1, path="a.txt\0x"} by hand: C strings cannot carry it. */
	static const uint8_t body[] = {0x08, 0x01, 0x12, 0x07, 'a', '.', 't', 'x', 't', 0x00, 'x'};
	uint8_t frame[WIRE_HEADER_SIZE + sizeof(body)] = {
		'S', 'D', 1, 0, 0, WIRE_NFS_STAT_REQ, 0, 0, 0, 0, 0, sizeof(body), 0, 0, 0, 0};
	struct wire_reader r;
	struct wire_frame f;
	int fd = raw_connect(srv_plain.port);

	(void)state;
	assert_true(fd >= 0);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	memcpy(frame + WIRE_HEADER_SIZE, body, sizeof(body));
	assert_int_equal(raw_send_bytes(fd, frame, sizeof(frame)), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_ERROR);
	Sd__Netfs__Error *e = (Sd__Netfs__Error *)f.msg;
	assert_int_equal(e->req_id, 1);
	assert_int_equal(e->code, SD_EPATH);
	assert_non_null(strstr(e->message, "NUL"));
	assert_non_null(strstr(e->message, "a.txt"));
	wire_frame_release(&f, NULL);
	wire_reader_fini(&r);
	close(fd);
}

static void test_token(void **state)
{
	struct nfs_conn *c = NULL;

	(void)state;
	assert_int_equal(nfs_connect("127.0.0.1", srv_token.port, NULL, &c), SD_EAUTH);
	assert_null(c);
	assert_int_equal(nfs_connect("127.0.0.1", srv_token.port, "wrong", &c), SD_EAUTH);
	assert_int_equal(nfs_connect("127.0.0.1", srv_token.port, "s3cret", &c), 0);
	struct nfs_stat st;
	assert_int_equal(nfs_stat(c, "a.txt", &st), 0);
	nfs_close(c);
	/* Requests before the hello are refused too. */
	int fd = raw_connect(srv_token.port);
	Sd__Netfs__StatReq s = SD__NETFS__STAT_REQ__INIT;
	struct wire_reader r;
	struct wire_frame f;
	s.req_id = 1;
	s.path = "a.txt";
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_send(fd, WIRE_NFS_STAT_REQ, &s.base, NULL, 0), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_ERROR);
	assert_int_equal(((Sd__Netfs__Error *)f.msg)->code, SD_EPROTO);
	wire_frame_release(&f, NULL);
	assert_int_equal(raw_recv(fd, &r, &f), SD_ECLOSED);
	wire_reader_fini(&r);
	close(fd);
}

struct client_job {
	int id;
	int err;
};

static void *client_main(void *p)
{
	struct client_job *j = p;
	struct nfs_conn *c;
	struct buf b = {0};
	char path[64], text[64];
	struct nfs_stat st;

	if ((j->err = nfs_connect("127.0.0.1", srv_plain.port, NULL, &c)) < 0)
		return NULL;
	snprintf(path, sizeof(path), "many/c%02d.txt", j->id);
	int n = snprintf(text, sizeof(text), "client %d was here\n", j->id);
	for (int round = 0; round < 3 && j->err == 0; round++) {
		b.len = 0;
		b.next_off = 0;
		if ((j->err = nfs_read(c, "big.bin", (uint64_t)j->id * 4096, 4096, collect, &b)))
			break;
		if (b.len != 4096 || memcmp(b.data, big + j->id * 4096, 4096) != 0)
			j->err = SD_EIO;
		else if ((j->err = nfs_append(c, path, text, (size_t)n, NULL)) == 0)
			j->err = nfs_stat(c, path, &st);
		if (j->err == 0 && st.size != (uint64_t)n * (round + 1))
			j->err = SD_EIO;
	}
	free(b.data);
	nfs_close(c);
	return NULL;
}

static void test_many_clients(void **state)
{
	struct client_job jobs[MANY_CLIENTS];
	pthread_t t[MANY_CLIENTS];

	(void)state;
	for (int i = 0; i < MANY_CLIENTS; i++) {
		jobs[i] = (struct client_job){.id = i};
		assert_int_equal(pthread_create(&t[i], NULL, client_main, &jobs[i]), 0);
	}
	for (int i = 0; i < MANY_CLIENTS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(jobs[i].err, 0);
	}
	for (int i = 0; i < MANY_CLIENTS; i++) {
		char rel[64], want[64];
		size_t len;
		snprintf(rel, sizeof(rel), "many/c%02d.txt", i);
		int n = snprintf(want, sizeof(want), "client %d was here\n", i);
		uint8_t *d = fixture_read(root, rel, &len);
		assert_non_null(d);
		assert_int_equal(len, 3 * (size_t)n);
		assert_memory_equal(d + 2 * n, want, (size_t)n);
		free(d);
	}
}

static void test_disconnect_mid_write(void **state)
{
	uint8_t data[200000];
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	uint64_t h;
	int left = -1;

	(void)state;
	fill_pattern(data, sizeof(data), 3);
	assert_int_equal(nfs_create(c, "dc/result.bin", false, &h), 0);
	assert_int_equal(nfs_write(c, h, 0, data, sizeof(data)), 0);
	assert_int_equal(count_prefixed(root, "dc", ".nfs-tmp-"), 1);
	nfs_close(c); /* vanishes without commit */
	for (int i = 0; i < WAIT_STEPS_MS && left != 0; i += 5) {
		left = count_prefixed(root, "dc", ".nfs-tmp-");
		sleep_ms(5);
	}
	assert_int_equal(left, 0);
	assert_int_equal(count_prefixed(root, "dc", "result"), 0);

	/* The same with a raw socket closed in the middle of a Write frame. */
	int fd = raw_connect(srv_plain.port);
	struct wire_reader r;
	struct wire_frame f;
	Sd__Netfs__CreateReq cr = SD__NETFS__CREATE_REQ__INIT;
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	cr.req_id = 1;
	cr.path = "dc/raw.bin";
	assert_int_equal(raw_send(fd, WIRE_NFS_CREATE_REQ, &cr.base, NULL, 0), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_CREATE_RESP);
	uint64_t handle = ((Sd__Netfs__CreateResp *)f.msg)->handle;
	wire_frame_release(&f, NULL);
	Sd__Netfs__WriteReq w = SD__NETFS__WRITE_REQ__INIT;
	w.req_id = 2;
	w.handle = handle;
	w.xxh3 = nfs_checksum(data, sizeof(data));
	size_t cap = wire_frame_size(&w.base, sizeof(data));
	uint8_t *frame = malloc(cap);
	long n = wire_encode(WIRE_NFS_WRITE_REQ, &w.base, data, sizeof(data), frame, cap);
	assert_true(n > 0);
	assert_int_equal(raw_send_bytes(fd, frame, (size_t)n / 2), 0);
	free(frame);
	close(fd);
	wire_reader_fini(&r);
	left = -1;
	for (int i = 0; i < WAIT_STEPS_MS && left != 0; i += 5) {
		left = count_prefixed(root, "dc", ".nfs-tmp-");
		sleep_ms(5);
	}
	assert_int_equal(left, 0);
	assert_int_equal(count_prefixed(root, "dc", "raw"), 0);
}

static void test_disconnect_mid_read(void **state)
{
	Sd__Netfs__ReadReq rq = SD__NETFS__READ_REQ__INIT;

	(void)state;
	for (int i = 0; i < 20; i++) {
		int fd = raw_connect(srv_plain.port);
		struct wire_reader r;
		struct wire_frame f;
		assert_true(fd >= 0);
		wire_reader_init(&r, WIRE_FRAME_MAX);
		assert_int_equal(raw_hello(fd, &r), 0);
		rq.req_id = 1;
		rq.path = "big.bin";
		rq.chunk_bytes = 256 * 1024;
		assert_int_equal(raw_send(fd, WIRE_NFS_READ_REQ, &rq.base, NULL, 0), 0);
		if (i % 2) { /* half of them take one chunk first */
			assert_int_equal(raw_recv(fd, &r, &f), 0);
			assert_int_equal(f.hdr.type, WIRE_NFS_READ_CHUNK);
			wire_frame_release(&f, NULL);
		}
		close(fd);
		wire_reader_fini(&r);
	}
	/* The server keeps serving: a full verified read still works. */
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct buf b = {0};
	assert_int_equal(nfs_read(c, "big.bin", 0, 0, collect, &b), 0);
	assert_int_equal(b.len, BIG_SIZE);
	assert_memory_equal(b.data, big, BIG_SIZE);
	free(b.data);
	nfs_close(c);
}

static void test_misbehaving_clients(void **state)
{
	static const uint8_t junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	Sd__Netfs__ReadReq rq = SD__NETFS__READ_REQ__INIT;
	struct wire_reader r;
	struct wire_frame f;
	int fd;

	(void)state;
	/* Garbage: an error naming the problem, then the connection closes. */
	fd = raw_connect(srv_plain.port);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_send_bytes(fd, junk, sizeof(junk)), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_ERROR);
	wire_frame_release(&f, NULL);
	assert_int_equal(raw_recv(fd, &r, &f), SD_ECLOSED);
	wire_reader_fini(&r);
	close(fd);

	/* A frame announcing more than the server accepts: refused before allocation. */
	static const uint8_t huge[WIRE_HEADER_SIZE] = {
		'S', 'D', 1, 0, 0, WIRE_NFS_APPEND_REQ, 0, 0, 0, 0, 0, 8, 0x10, 0, 0, 0};
	fd = raw_connect(srv_plain.port);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	assert_int_equal(raw_send_bytes(fd, huge, sizeof(huge)), 0);
	assert_int_equal(raw_recv(fd, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_ERROR);
	assert_int_equal(((Sd__Netfs__Error *)f.msg)->code, SD_ETOOBIG);
	wire_frame_release(&f, NULL);
	assert_int_equal(raw_recv(fd, &r, &f), SD_ECLOSED);
	wire_reader_fini(&r);
	close(fd);

	/* A greedy client that asks for lots and reads nothing... */
	int lazy = raw_connect(srv_plain.port);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(lazy, &r), 0);
	for (int i = 0; i < 100; i++) {
		rq.req_id = (uint64_t)i + 1;
		rq.path = "big.bin";
		if (raw_send(lazy, WIRE_NFS_READ_REQ, &rq.base, NULL, 0) < 0)
			break; /* the server stopped reading us: fine */
	}
	/* ...does not stop others. */
	struct nfs_conn *c = conn_to(&srv_plain, NULL);
	struct buf b = {0};
	assert_int_equal(nfs_read(c, "big.bin", 0, 0, collect, &b), 0);
	assert_int_equal(b.len, BIG_SIZE);
	assert_memory_equal(b.data, big, BIG_SIZE);
	free(b.data);
	nfs_close(c);
	/* The greedy one still gets correct, in-order data when it reads. */
	assert_int_equal(raw_recv(lazy, &r, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_NFS_READ_CHUNK);
	assert_int_equal(((Sd__Netfs__ReadChunk *)f.msg)->offset, 0);
	assert_true(nfs_checksum(f.attach, f.attach_len) == ((Sd__Netfs__ReadChunk *)f.msg)->xxh3);
	wire_frame_release(&f, NULL);
	wire_reader_fini(&r);
	close(lazy);
}

static void test_inflight_limit(void **state)
{
	enum { EXTRA = 6 };
	Sd__Netfs__TailReq t = SD__NETFS__TAIL_REQ__INIT;
	uint8_t frames[(SRV_INFLIGHT + EXTRA) * 64];
	size_t len = 0;
	int limited = 0, timed_out = 0;
	struct wire_reader r;
	struct wire_frame f;
	int fd = raw_connect(srv_plain.port);

	(void)state;
	wire_reader_init(&r, WIRE_FRAME_MAX);
	assert_int_equal(raw_hello(fd, &r), 0);
	/* Tails that wait on a file nobody appends to, sent in one burst. */
	for (int i = 0; i < SRV_INFLIGHT + EXTRA; i++) {
		t.req_id = (uint64_t)i + 1;
		t.path = "a.txt";
		t.offset = 6;
		t.timeout_ms = 1000;
		long n = wire_encode(WIRE_NFS_TAIL_REQ, &t.base, NULL, 0, frames + len,
				     sizeof(frames) - len);
		assert_true(n > 0);
		len += (size_t)n;
	}
	assert_int_equal(raw_send_bytes(fd, frames, len), 0);
	for (int i = 0; i < SRV_INFLIGHT + EXTRA; i++) {
		assert_int_equal(raw_recv(fd, &r, &f), 0);
		if (f.hdr.type == WIRE_NFS_ERROR) {
			assert_int_equal(((Sd__Netfs__Error *)f.msg)->code, SD_ELIMIT);
			limited++;
		} else {
			assert_int_equal(f.hdr.type, WIRE_NFS_READ_CHUNK);
			assert_true(((Sd__Netfs__ReadChunk *)f.msg)->final);
			assert_int_equal(f.attach_len, 0);
			timed_out++;
		}
		wire_frame_release(&f, NULL);
	}
	assert_int_equal(limited, EXTRA);
	assert_int_equal(timed_out, SRV_INFLIGHT);
	wire_reader_fini(&r);
	close(fd);
}

static void test_silent_client_dropped(void **state)
{
	struct wire_reader r;
	struct wire_frame f;
	int fd = raw_connect(srv_walk.port);

	(void)state;
	assert_true(fd >= 0);
	wire_reader_init(&r, WIRE_FRAME_MAX);
	/* Says nothing: the server closes it after its hello timeout. */
	assert_int_equal(raw_recv(fd, &r, &f), SD_ECLOSED);
	wire_reader_fini(&r);
	close(fd);
	struct nfs_conn *c = conn_to(&srv_walk, NULL);
	struct nfs_stat st;
	assert_int_equal(nfs_stat(c, "a.txt", &st), 0);
	nfs_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_escapes_openat2),
		cmocka_unit_test(test_path_escapes_fallback),
		cmocka_unit_test(test_nul_in_path),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_many_clients),
		cmocka_unit_test(test_disconnect_mid_write),
		cmocka_unit_test(test_disconnect_mid_read),
		cmocka_unit_test(test_misbehaving_clients),
		cmocka_unit_test(test_inflight_limit),
		cmocka_unit_test(test_silent_client_dropped),
	};
	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
