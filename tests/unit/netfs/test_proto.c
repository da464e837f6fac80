/*
 * Unit tests for the netfs client core (netfs/client/proto.c): every request
 * builder produces the frame the server expects (concat and truncate too),
 * every response becomes the right event, corrupted chunks are caught,
 * responses are matched to their requests by id and kind, and refused
 * arguments queue nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "base/err.h"
#include "netfs/netfs.h"
#include "proto/wire.h"

/* Takes the next queued request frame out of p; the caller releases it. */
static void take_request(struct nfs_proto *p, struct wire_frame *f, uint16_t type)
{
	const uint8_t *data;
	size_t n = nfs_proto_out_pending(p, &data);
	struct wire_header h;

	assert_true(n >= WIRE_HEADER_SIZE);
	assert_int_equal(wire_header_decode(data, n, WIRE_FRAME_MAX, &h), 0);
	size_t total = WIRE_HEADER_SIZE + h.body_len + h.attach_len;
	assert_true(total <= n);
	assert_int_equal(wire_decode(data, total, WIRE_FRAME_MAX, NULL, f), 0);
	assert_int_equal(f->hdr.type, type);
	/* The attachment must outlive consume: copy out before the next build. */
	nfs_proto_out_consume(p, total);
}

/* Encodes a server frame and feeds it to p. */
static void feed(struct nfs_proto *p, uint16_t type, const ProtobufCMessage *m, const void *att,
		 size_t att_len)
{
	size_t cap = wire_frame_size(m, att_len);
	uint8_t *buf = malloc(cap);
	long n = wire_encode(type, m, att, att_len, buf, cap);

	assert_true(n > 0);
	assert_int_equal(nfs_proto_feed(p, buf, (size_t)n), 0);
	free(buf);
}

static struct nfs_proto *new_ready(void)
{
	struct nfs_proto *p;
	struct wire_frame f;
	struct nfs_event ev;
	Sd__Netfs__HelloAck a = SD__NETFS__HELLO_ACK__INIT;

	assert_int_equal(nfs_proto_new(&p), 0);
	assert_int_equal(nfs_proto_next(p, &ev), SD_EAGAIN);
	assert_int_equal(nfs_proto_hello(p, "unit", "tok"), 0);
	take_request(p, &f, WIRE_NFS_HELLO);
	Sd__Netfs__Hello *h = (Sd__Netfs__Hello *)f.msg;
	assert_int_equal(h->protocol_version, NFS_PROTOCOL_VERSION);
	assert_string_equal(h->token, "tok");
	assert_string_equal(h->client_name, "unit");
	wire_frame_release(&f, NULL);
	a.protocol_version = NFS_PROTOCOL_VERSION;
	a.region = "eu-west";
	a.server_name = "srv1";
	a.max_frame_bytes = 1 << 20;
	a.max_inflight = 64;
	feed(p, WIRE_NFS_HELLO_ACK, &a.base, NULL, 0);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_HELLO);
	assert_int_equal(ev.err, 0);
	assert_string_equal(ev.region, "eu-west");
	assert_string_equal(ev.server_name, "srv1");
	assert_int_equal(ev.max_inflight, 64);
	assert_int_equal(nfs_proto_outstanding(p), 0);
	return p;
}

static void send_ok(struct nfs_proto *p, uint64_t id, uint64_t size)
{
	Sd__Netfs__Ok ok = SD__NETFS__OK__INIT;
	ok.req_id = id;
	ok.size = size;
	feed(p, WIRE_NFS_OK, &ok.base, NULL, 0);
}

static void send_chunk(struct nfs_proto *p, uint64_t id, uint64_t off, const void *d, size_t n,
		       bool final, uint64_t xxh)
{
	Sd__Netfs__ReadChunk c = SD__NETFS__READ_CHUNK__INIT;
	c.req_id = id;
	c.offset = off;
	c.xxh3 = xxh;
	c.final = final;
	c.eof = final;
	c.file_size = off + n;
	feed(p, WIRE_NFS_READ_CHUNK, &c.base, d, n);
}

static void test_hello_refused(void **state)
{
	struct nfs_proto *p;
	struct nfs_event ev;
	Sd__Netfs__Error e = SD__NETFS__ERROR__INIT;

	(void)state;
	assert_int_equal(nfs_proto_new(&p), 0);
	assert_int_equal(nfs_proto_hello(p, NULL, NULL), 0);
	e.code = SD_EAUTH;
	e.message = "hello: bad or missing token";
	feed(p, WIRE_NFS_ERROR, &e.base, NULL, 0);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_HELLO);
	assert_int_equal(ev.err, SD_EAUTH);
	assert_string_equal(ev.message, "hello: bad or missing token");
	nfs_proto_free(p);
}

static void test_list_and_stat(void **state)
{
	struct nfs_proto *p = new_ready();
	struct wire_frame f;
	struct nfs_event ev;
	uint64_t id_list, id_stat;
	Sd__Netfs__Entry e1 = SD__NETFS__ENTRY__INIT, e2 = SD__NETFS__ENTRY__INIT;
	Sd__Netfs__Entry *es[] = {&e1, &e2};
	Sd__Netfs__ListResp lr = SD__NETFS__LIST_RESP__INIT;
	Sd__Netfs__StatResp sr = SD__NETFS__STAT_RESP__INIT;

	(void)state;
	assert_int_equal(nfs_proto_list(p, "logs/*.txt", &id_list), 0);
	assert_int_equal(nfs_proto_stat(p, "logs/a.txt", &id_stat), 0);
	assert_int_not_equal(id_list, id_stat);
	assert_int_equal(nfs_proto_outstanding(p), 2);
	take_request(p, &f, WIRE_NFS_LIST_REQ);
	assert_string_equal(((Sd__Netfs__ListReq *)f.msg)->pattern, "logs/*.txt");
	assert_int_equal(((Sd__Netfs__ListReq *)f.msg)->req_id, id_list);
	wire_frame_release(&f, NULL);
	take_request(p, &f, WIRE_NFS_STAT_REQ);
	assert_string_equal(((Sd__Netfs__StatReq *)f.msg)->path, "logs/a.txt");
	wire_frame_release(&f, NULL);

	/* Answers arrive in the other order: matched by id. */
	e1.path = "logs/a.txt";
	e1.size = 10;
	sr.req_id = id_stat;
	sr.entry = &e1;
	feed(p, WIRE_NFS_STAT_RESP, &sr.base, NULL, 0);
	e2.path = "logs/b.txt";
	e2.size = 20;
	e2.is_dir = false;
	lr.req_id = id_list;
	lr.entries = es;
	lr.n_entries = 2;
	lr.truncated = true;
	feed(p, WIRE_NFS_LIST_RESP, &lr.base, NULL, 0);

	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_STAT);
	assert_int_equal(ev.req_id, id_stat);
	assert_true(ev.done);
	assert_int_equal(ev.n_entries, 1);
	assert_int_equal(ev.entries[0].size, 10);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_LIST);
	assert_int_equal(ev.n_entries, 2);
	assert_string_equal(ev.entries[1].path, "logs/b.txt");
	assert_int_equal(ev.entries[1].size, 20);
	assert_true(ev.truncated);
	assert_int_equal(nfs_proto_next(p, &ev), SD_EAGAIN);
	assert_int_equal(nfs_proto_outstanding(p), 0);
	nfs_proto_free(p);
}

static void test_read_stream_verified(void **state)
{
	struct nfs_proto *p = new_ready();
	struct wire_frame f;
	struct nfs_event ev;
	uint64_t id;
	char a[100], b[50];

	(void)state;
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	assert_int_equal(nfs_proto_read(p, "big", 1000, 150, 0, &id), 0);
	take_request(p, &f, WIRE_NFS_READ_REQ);
	Sd__Netfs__ReadReq *r = (Sd__Netfs__ReadReq *)f.msg;
	assert_int_equal(r->offset, 1000);
	assert_int_equal(r->length, 150);
	assert_int_equal(r->chunk_bytes, NFS_CHUNK_DEFAULT);
	wire_frame_release(&f, NULL);

	send_chunk(p, id, 1000, a, sizeof(a), false, XXH3_64bits(a, sizeof(a)));
	send_chunk(p, id, 1100, b, sizeof(b), true, XXH3_64bits(b, sizeof(b)));
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_READ);
	assert_false(ev.done);
	assert_int_equal(ev.err, 0);
	assert_int_equal(ev.offset, 1000);
	assert_int_equal(ev.len, 100);
	assert_memory_equal(ev.data, a, 100);
	assert_int_equal(nfs_proto_outstanding(p), 1);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_true(ev.done);
	assert_true(ev.eof);
	assert_int_equal(ev.offset, 1100);
	assert_memory_equal(ev.data, b, 50);
	assert_int_equal(nfs_proto_outstanding(p), 0);
	nfs_proto_free(p);
}

static void test_checksum_mismatch(void **state)
{
	struct nfs_proto *p = new_ready();
	struct wire_frame f;
	struct nfs_event ev;
	uint64_t id;
	char d[64];

	(void)state;
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (char)i;
	assert_int_equal(nfs_proto_read(p, "x", 0, 0, 0, &id), 0);
	take_request(p, &f, WIRE_NFS_READ_REQ);
	wire_frame_release(&f, NULL);
	uint64_t good = XXH3_64bits(d, sizeof(d));
	d[17] ^= 0x40; /* corrupted in transit */
	send_chunk(p, id, 0, d, sizeof(d), true, good);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.err, SD_ECHECKSUM);
	assert_null(ev.data);
	assert_int_equal(ev.len, 0);
	assert_true(ev.done);
	assert_int_equal(nfs_proto_outstanding(p), 0);
	assert_int_equal(nfs_checksum(d, sizeof(d)), XXH3_64bits(d, sizeof(d)));
	nfs_proto_free(p);
}

static void test_chunk_out_of_order(void **state)
{
	struct nfs_proto *p = new_ready();
	struct nfs_event ev;
	uint64_t id;
	char d[8] = "abcdefgh";

	(void)state;
	assert_int_equal(nfs_proto_read(p, "x", 0, 0, 0, &id), 0);
	send_chunk(p, id, 8, d, 8, false, XXH3_64bits(d, 8)); /* skips bytes 0..8 */
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.err, SD_EPROTO);
	assert_null(ev.data);
	nfs_proto_free(p);
}

static void test_unknown_id_and_wrong_kind(void **state)
{
	struct nfs_proto *p = new_ready();
	struct nfs_event ev;
	uint64_t id;

	(void)state;
	send_ok(p, 999, 0); /* nobody asked */
	assert_int_equal(nfs_proto_next(p, &ev), SD_EPROTO);
	nfs_proto_free(p);

	p = new_ready();
	assert_int_equal(nfs_proto_stat(p, "a", &id), 0);
	send_ok(p, id, 0); /* an Ok is not an answer to a stat */
	assert_int_equal(nfs_proto_next(p, &ev), SD_EPROTO);
	nfs_proto_free(p);
}

static void test_write_path(void **state)
{
	struct nfs_proto *p = new_ready();
	struct wire_frame f;
	struct nfs_event ev;
	uint64_t idc, idw, idm, ida, idd, idp;
	Sd__Netfs__CreateResp cr = SD__NETFS__CREATE_RESP__INIT;
	Sd__Netfs__AppendResp ar = SD__NETFS__APPEND_RESP__INIT;
	const char data[] = "hello sink";

	(void)state;
	assert_int_equal(nfs_proto_create(p, "out/part-0", true, &idc), 0);
	take_request(p, &f, WIRE_NFS_CREATE_REQ);
	assert_string_equal(((Sd__Netfs__CreateReq *)f.msg)->path, "out/part-0");
	assert_true(((Sd__Netfs__CreateReq *)f.msg)->overwrite);
	wire_frame_release(&f, NULL);
	cr.req_id = idc;
	cr.handle = 42;
	feed(p, WIRE_NFS_CREATE_RESP, &cr.base, NULL, 0);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_CREATE);
	assert_int_equal(ev.handle, 42);

	assert_int_equal(nfs_proto_write(p, 42, 7, data, sizeof(data), &idw), 0);
	take_request(p, &f, WIRE_NFS_WRITE_REQ);
	Sd__Netfs__WriteReq *w = (Sd__Netfs__WriteReq *)f.msg;
	assert_int_equal(w->handle, 42);
	assert_int_equal(w->offset, 7);
	assert_int_equal(f.attach_len, sizeof(data));
	assert_memory_equal(f.attach, data, sizeof(data));
	assert_true(w->xxh3 == XXH3_64bits(data, sizeof(data)));
	wire_frame_release(&f, NULL);

	assert_int_equal(nfs_proto_commit(p, 42, false, &idm), 0);
	take_request(p, &f, WIRE_NFS_COMMIT_REQ);
	assert_false(((Sd__Netfs__CommitReq *)f.msg)->abort);
	wire_frame_release(&f, NULL);
	assert_int_equal(nfs_proto_commit(p, 43, true, &ida), 0);
	take_request(p, &f, WIRE_NFS_COMMIT_REQ);
	assert_true(((Sd__Netfs__CommitReq *)f.msg)->abort);
	wire_frame_release(&f, NULL);
	assert_int_equal(nfs_proto_delete(p, "old", &idd), 0);
	take_request(p, &f, WIRE_NFS_DELETE_REQ);
	assert_string_equal(((Sd__Netfs__DeleteReq *)f.msg)->path, "old");
	wire_frame_release(&f, NULL);
	assert_int_equal(nfs_proto_append(p, "log", data, 5, &idp), 0);
	take_request(p, &f, WIRE_NFS_APPEND_REQ);
	assert_int_equal(f.attach_len, 5);
	assert_true(((Sd__Netfs__AppendReq *)f.msg)->xxh3 == XXH3_64bits(data, 5));
	wire_frame_release(&f, NULL);

	send_ok(p, idw, 7 + sizeof(data));
	send_ok(p, idm, 7 + sizeof(data));
	send_ok(p, ida, 0);
	send_ok(p, idd, 0);
	ar.req_id = idp;
	ar.new_size = 105;
	feed(p, WIRE_NFS_APPEND_RESP, &ar.base, NULL, 0);
	enum nfs_op want[] = {NFS_OP_WRITE, NFS_OP_COMMIT, NFS_OP_ABORT, NFS_OP_DELETE,
			      NFS_OP_APPEND};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(nfs_proto_next(p, &ev), 0);
		assert_int_equal(ev.op, want[i]);
		assert_true(ev.done);
	}
	assert_int_equal(ev.size, 105);
	assert_int_equal(nfs_proto_outstanding(p), 0);
	nfs_proto_free(p);
}

static void test_tail_and_error(void **state)
{
	struct nfs_proto *p = new_ready();
	struct wire_frame f;
	struct nfs_event ev;
	uint64_t idt, idr;
	Sd__Netfs__Error e = SD__NETFS__ERROR__INIT;

	(void)state;
	assert_int_equal(nfs_proto_tail(p, "log", 500, 4096, 250, &idt), 0);
	take_request(p, &f, WIRE_NFS_TAIL_REQ);
	Sd__Netfs__TailReq *t = (Sd__Netfs__TailReq *)f.msg;
	assert_int_equal(t->offset, 500);
	assert_int_equal(t->max_bytes, 4096);
	assert_int_equal(t->timeout_ms, 250);
	wire_frame_release(&f, NULL);
	assert_int_equal(nfs_proto_read(p, "../etc/passwd", 0, 0, 0, &idr), 0);

	send_chunk(p, idt, 500, NULL, 0, true, XXH3_64bits(NULL, 0)); /* timed out */
	e.req_id = idr;
	e.code = SD_EPATH;
	e.message = "read ../etc/passwd: '..' is refused";
	feed(p, WIRE_NFS_ERROR, &e.base, NULL, 0);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_TAIL);
	assert_int_equal(ev.len, 0);
	assert_true(ev.done);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_READ);
	assert_int_equal(ev.err, SD_EPATH);
	assert_non_null(strstr(ev.message, "../etc/passwd"));
	assert_true(ev.done);
	assert_int_equal(nfs_proto_outstanding(p), 0);
	nfs_proto_free(p);
}

static void test_cancel(void **state)
{
	struct nfs_proto *p = new_ready();
	Sd__Netfs__Error e = SD__NETFS__ERROR__INIT;
	struct wire_frame f;
	struct nfs_event ev;
	uint64_t id_read, id_stat;
	char d[16] = "0123456789abcdef";

	(void)state;
	assert_int_equal(nfs_proto_read(p, "big", 0, 0, 0, &id_read), 0);
	assert_int_equal(nfs_proto_stat(p, "a", &id_stat), 0);
	take_request(p, &f, WIRE_NFS_READ_REQ);
	wire_frame_release(&f, NULL);
	take_request(p, &f, WIRE_NFS_STAT_REQ);
	wire_frame_release(&f, NULL);
	assert_int_equal(nfs_proto_cancel(p, id_stat), SD_EINVAL);
	assert_int_equal(nfs_proto_cancel(p, 4242), SD_ENOENT);
	assert_int_equal(nfs_proto_cancel(p, id_read), 0);
	take_request(p, &f, WIRE_NFS_CANCEL_REQ);
	assert_int_equal(((Sd__Netfs__CancelReq *)f.msg)->target, id_read);
	wire_frame_release(&f, NULL);
	assert_int_equal(nfs_proto_outstanding(p), 2); /* the cancel has no answer */

	/* A chunk already on the way, then the cancel's error ends the read. */
	send_chunk(p, id_read, 0, d, sizeof(d), false, XXH3_64bits(d, sizeof(d)));
	e.req_id = id_read;
	e.code = SD_ECANCELED;
	e.message = "canceled by the client";
	feed(p, WIRE_NFS_ERROR, &e.base, NULL, 0);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_false(ev.done);
	assert_int_equal(ev.len, sizeof(d));
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_true(ev.done);
	assert_int_equal(ev.err, SD_ECANCELED);
	assert_int_equal(nfs_proto_outstanding(p), 1);
	nfs_proto_free(p);
}

static void test_byte_at_a_time(void **state)
{
	struct nfs_proto *p = new_ready();
	Sd__Netfs__Ok ok = SD__NETFS__OK__INIT;
	struct nfs_event ev;
	uint8_t buf[64];
	uint64_t id;

	(void)state;
	assert_int_equal(nfs_proto_delete(p, "a", &id), 0);
	ok.req_id = id;
	long n = wire_encode(WIRE_NFS_OK, &ok.base, NULL, 0, buf, sizeof(buf));
	assert_true(n > 0);
	for (long i = 0; i < n; i++) {
		uint8_t *w;
		size_t avail;
		assert_int_equal(nfs_proto_next(p, &ev), SD_EAGAIN);
		assert_int_equal(nfs_proto_in_space(p, &w, &avail), 0);
		assert_true(avail >= 1);
		w[0] = buf[i];
		nfs_proto_in_commit(p, 1);
	}
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_DELETE);
	nfs_proto_free(p);
}

static void test_bad_arguments(void **state)
{
	struct nfs_proto *p = new_ready();
	char longpath[NFS_PATH_MAX + 2];
	uint64_t id;

	(void)state;
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(nfs_proto_stat(p, NULL, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_stat(p, longpath, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_append(p, "a", NULL, 3, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_write(p, 1, 0, "x", NFS_WRITE_CHUNK_MAX + 1, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_outstanding(p), 0);
	assert_string_equal(nfs_op_name(NFS_OP_TAIL), "tail");
	nfs_proto_free(p);
}

static void test_concat(void **state)
{
	struct nfs_proto *p = new_ready();
	const char *src[] = {"parts/p0", "parts/p1", "parts/p2"};
	const uint64_t sums[] = {11, 22, 33};
	Sd__Netfs__Error e = SD__NETFS__ERROR__INIT;
	struct wire_frame f;
	struct nfs_event ev;
	uint64_t id1, id2;

	(void)state;
	assert_int_equal(nfs_proto_concat(p, "out/t", src, 3, true, 4096, sums, true, &id1), 0);
	take_request(p, &f, WIRE_NFS_CONCAT_REQ);
	Sd__Netfs__ConcatReq *m = (Sd__Netfs__ConcatReq *)f.msg;
	assert_int_equal(m->req_id, id1);
	assert_string_equal(m->target, "out/t");
	assert_int_equal(m->n_sources, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(m->sources[i], src[i]);
		assert_true(m->source_xxh3[i] == sums[i]);
	}
	assert_int_equal(m->n_source_xxh3, 3);
	assert_true(m->check_size);
	assert_int_equal(m->expect_size, 4096);
	assert_true(m->delete_sources);
	wire_frame_release(&f, NULL);

	/* Without sums and options: none on the wire. */
	assert_int_equal(nfs_proto_concat(p, "out/u", src, 1, false, 0, NULL, false, &id2), 0);
	take_request(p, &f, WIRE_NFS_CONCAT_REQ);
	m = (Sd__Netfs__ConcatReq *)f.msg;
	assert_int_equal(m->n_sources, 1);
	assert_int_equal(m->n_source_xxh3, 0);
	assert_false(m->check_size);
	assert_false(m->delete_sources);
	wire_frame_release(&f, NULL);

	send_ok(p, id1, 4096 + 300);
	e.req_id = id2;
	e.code = SD_ESTATE;
	e.message = "concat out/u: the target has 7 bytes, expected 0: nothing changed";
	feed(p, WIRE_NFS_ERROR, &e.base, NULL, 0);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_CONCAT);
	assert_int_equal(ev.req_id, id1);
	assert_true(ev.done);
	assert_int_equal(ev.err, 0);
	assert_int_equal(ev.size, 4096 + 300);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_CONCAT);
	assert_int_equal(ev.err, SD_ESTATE);
	assert_non_null(strstr(ev.message, "out/u"));
	assert_int_equal(nfs_proto_outstanding(p), 0);
	assert_string_equal(nfs_op_name(NFS_OP_CONCAT), "concat");
	nfs_proto_free(p);
}

static void test_truncate(void **state)
{
	struct nfs_proto *p = new_ready();
	Sd__Netfs__AppendResp ar = SD__NETFS__APPEND_RESP__INIT;
	struct wire_frame f;
	struct nfs_event ev;
	uint64_t id;

	(void)state;
	assert_int_equal(nfs_proto_truncate(p, "out/t", 1234, &id), 0);
	take_request(p, &f, WIRE_NFS_TRUNCATE_REQ);
	assert_int_equal(((Sd__Netfs__TruncateReq *)f.msg)->req_id, id);
	assert_string_equal(((Sd__Netfs__TruncateReq *)f.msg)->path, "out/t");
	assert_int_equal(((Sd__Netfs__TruncateReq *)f.msg)->size, 1234);
	wire_frame_release(&f, NULL);
	send_ok(p, id, 1234);
	assert_int_equal(nfs_proto_next(p, &ev), 0);
	assert_int_equal(ev.op, NFS_OP_TRUNCATE);
	assert_int_equal(ev.size, 1234);
	assert_true(ev.done);
	assert_string_equal(nfs_op_name(NFS_OP_TRUNCATE), "truncate");
	/* An AppendResp is no answer to a truncate: the stream is broken. */
	assert_int_equal(nfs_proto_truncate(p, "out/t", 0, &id), 0);
	ar.req_id = id;
	feed(p, WIRE_NFS_APPEND_RESP, &ar.base, NULL, 0);
	assert_int_equal(nfs_proto_next(p, &ev), SD_EPROTO);
	nfs_proto_free(p);
}

static void test_concat_bad_arguments(void **state)
{
	static const char *many[NFS_CONCAT_SOURCES_MAX + 1];
	struct nfs_proto *p = new_ready(); /* the server accepts 1 MiB frames */
	char longpath[NFS_PATH_MAX + 2];
	const char *src[] = {"a", NULL};
	const char *two[] = {"a", longpath};
	uint64_t id = 77;

	(void)state;
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(nfs_proto_concat(p, NULL, src, 1, false, 0, NULL, false, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_concat(p, "t", NULL, 1, false, 0, NULL, false, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_concat(p, "t", src, 2, false, 0, NULL, false, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_concat(p, "t", two, 2, false, 0, NULL, false, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_concat(p, longpath, src, 1, false, 0, NULL, false, &id),
			 SD_EINVAL);
	for (size_t i = 0; i < NFS_CONCAT_SOURCES_MAX + 1; i++)
		many[i] = "s";
	assert_int_equal(nfs_proto_concat(p, "t", many, NFS_CONCAT_SOURCES_MAX + 1, false, 0, NULL,
					  false, &id),
			 SD_EINVAL);
	assert_int_equal(nfs_proto_truncate(p, NULL, 0, &id), SD_EINVAL);
	assert_int_equal(nfs_proto_truncate(p, longpath, 0, &id), SD_EINVAL);
	assert_int_equal(id, 77);
	/* 4096 long paths are more than the 1 MiB frame the server announced. */
	static char path[NFS_PATH_MAX + 1];
	memset(path, 'p', NFS_PATH_MAX);
	for (size_t i = 0; i < NFS_CONCAT_SOURCES_MAX; i++)
		many[i] = path;
	assert_int_equal(
		nfs_proto_concat(p, "t", many, NFS_CONCAT_SOURCES_MAX, false, 0, NULL, false, &id),
		SD_ETOOBIG);
	/* Nothing queued, nothing outstanding after refusals. */
	const uint8_t *out;
	assert_int_equal(nfs_proto_out_pending(p, &out), 0);
	assert_int_equal(nfs_proto_outstanding(p), 0);
	/* No sources is a valid request (checks and syncs the target). */
	assert_int_equal(nfs_proto_concat(p, "t", NULL, 0, true, 0, NULL, false, &id), 0);
	assert_int_equal(nfs_proto_outstanding(p), 1);
	nfs_proto_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_refused),
		cmocka_unit_test(test_list_and_stat),
		cmocka_unit_test(test_read_stream_verified),
		cmocka_unit_test(test_checksum_mismatch),
		cmocka_unit_test(test_chunk_out_of_order),
		cmocka_unit_test(test_unknown_id_and_wrong_kind),
		cmocka_unit_test(test_write_path),
		cmocka_unit_test(test_tail_and_error),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_concat),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_concat_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
