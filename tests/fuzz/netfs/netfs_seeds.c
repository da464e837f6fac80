/*
 * tests/fuzz/netfs/netfs_seeds.c — writes the seed corpus of
 * fuzz_netfs_dispatch from real encoded requests. Run by hand after changing
 * netfs.proto: build/.../tests/fuzz/netfs/netfs_seeds tests/fuzz/corpus/netfs_dispatch
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfs/netfs.h"
#include "proto/wire.h"

static uint8_t buf[1 << 16];
static size_t len;

static void frame(uint16_t type, const ProtobufCMessage *m, const void *att, size_t n)
{
	long k = wire_encode(type, m, att, n, buf + len, sizeof(buf) - len);
	if (k < 0)
		abort();
	len += (size_t)k;
}

static void start(int hello_done)
{
	len = 0;
	buf[len++] = (uint8_t)hello_done;
}

static void save(const char *dir, const char *name)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
}

static void hello(const char *token)
{
	Sd__Netfs__Hello h = SD__NETFS__HELLO__INIT;
	h.protocol_version = NFS_PROTOCOL_VERSION;
	h.client_name = "seed";
	h.token = (char *)token;
	frame(WIRE_NFS_HELLO, &h.base, NULL, 0);
}

static void path_req(uint16_t type, const char *path)
{
	/* Every path request has req_id = 1 and path = 2: StatReq encodes them all. */
	Sd__Netfs__StatReq s = SD__NETFS__STAT_REQ__INIT;
	uint8_t body[2048];
	s.req_id = 7;
	s.path = (char *)path;
	size_t n = protobuf_c_message_pack(&s.base, body);
	uint8_t hdr[WIRE_HEADER_SIZE] = {'S',
					 'D',
					 WIRE_VERSION,
					 0,
					 (uint8_t)(type >> 8),
					 (uint8_t)type,
					 0,
					 0,
					 0,
					 0,
					 (uint8_t)(n >> 8),
					 (uint8_t)n,
					 0,
					 0,
					 0,
					 0};
	memcpy(buf + len, hdr, sizeof(hdr));
	memcpy(buf + len + sizeof(hdr), body, n);
	len += sizeof(hdr) + n;
}

static void concat(uint64_t id, const char *target, char **src, size_t n, const uint64_t *sums,
		   size_t n_sums, bool check, uint64_t expect, bool del)
{
	Sd__Netfs__ConcatReq m = SD__NETFS__CONCAT_REQ__INIT;

	m.req_id = id;
	m.target = (char *)target;
	m.sources = src;
	m.n_sources = n;
	m.source_xxh3 = (uint64_t *)sums;
	m.n_source_xxh3 = n_sums;
	m.check_size = check;
	m.expect_size = expect;
	m.delete_sources = del;
	frame(WIRE_NFS_CONCAT_REQ, &m.base, NULL, 0);
}

static void truncate_to(uint64_t id, const char *path, uint64_t size)
{
	Sd__Netfs__TruncateReq t = SD__NETFS__TRUNCATE_REQ__INIT;

	t.req_id = id;
	t.path = (char *)path;
	t.size = size;
	frame(WIRE_NFS_TRUNCATE_REQ, &t.base, NULL, 0);
}

static void append(uint64_t id, const char *path, const char *text)
{
	Sd__Netfs__AppendReq a = SD__NETFS__APPEND_REQ__INIT;

	a.req_id = id;
	a.path = (char *)path;
	a.xxh3 = nfs_checksum(text, strlen(text));
	frame(WIRE_NFS_APPEND_REQ, &a.base, text, strlen(text));
}

/* Exactly-once publishing: parts, concat, its retry, recovery; and refusals. */
static void concat_seeds(const char *dir)
{
	char *parts[] = {"cc/p0", "cc/p1"}, *self[] = {"f.txt"}, *escape[] = {"../etc/passwd"};
	char *via_link[] = {"out/passwd"}, *missing[] = {"cc/p0", "cc/none"}, *dirs[] = {"d"};
	uint64_t sums[2] = {nfs_checksum("abc", 3), nfs_checksum("defg", 4)};

	start(1);
	append(1, "cc/p0", "abc");
	append(2, "cc/p1", "defg");
	concat(3, "cc/all", parts, 2, sums, 2, true, 0, false);
	concat(4, "cc/all", parts, 2, sums, 2, true, 0, false); /* the retry: SD_ESTATE */
	truncate_to(5, "cc/all", 3);
	truncate_to(6, "cc/all", 100); /* past the end */
	sums[1] ^= 1;
	concat(7, "cc/all", parts, 2, sums, 2, false, 0, false); /* checksum mismatch */
	concat(8, "cc/all", parts, 2, NULL, 0, true, 3, true);
	save(dir, "concat_publish");

	start(1);
	concat(1, "f.txt", self, 1, NULL, 0, false, 0, false);
	concat(2, "cc/x", escape, 1, NULL, 0, false, 0, false);
	concat(3, "cc/x", via_link, 1, NULL, 0, false, 0, false);
	concat(4, "out/x", self, 1, NULL, 0, false, 0, false);
	concat(5, "cc/x", missing, 2, NULL, 0, false, 0, false);
	concat(6, "cc/x", dirs, 1, NULL, 0, false, 0, false);
	concat(7, "cc/x", parts, 2, sums, 1, false, 0, false); /* one sum for two */
	concat(8, "d", self, 1, NULL, 0, false, 0, false);
	truncate_to(9, "d", 0);
	truncate_to(10, "out/passwd", 0);
	save(dir, "concat_refused");

	/* ConcatReq{1, target "cc/t", sources ["f\0x"]}: a NUL in a source path. */
	start(1);
	{
		static const uint8_t body[] = {0x08, 0x01, 0x12, 0x04, 'c', 'c', '/',
					       't',  0x1a, 0x03, 'f',  0,   'x'};
		uint8_t hdr[WIRE_HEADER_SIZE] = {'S', 'D', 1, 0, 0, WIRE_NFS_CONCAT_REQ,
						 0,   0,   0, 0, 0, sizeof(body),
						 0,   0,   0, 0};
		memcpy(buf + len, hdr, sizeof(hdr));
		memcpy(buf + len + sizeof(hdr), body, sizeof(body));
		len += sizeof(hdr) + sizeof(body);
	}
	save(dir, "concat_nul_source");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	static const uint16_t path_types[] = {WIRE_NFS_LIST_REQ,   WIRE_NFS_STAT_REQ,
					      WIRE_NFS_READ_REQ,   WIRE_NFS_TAIL_REQ,
					      WIRE_NFS_DELETE_REQ, WIRE_NFS_CREATE_REQ,
					      WIRE_NFS_CONCAT_REQ, WIRE_NFS_TRUNCATE_REQ};
	static const char *const paths[] = {"f.txt", "d/*",   "",          "../etc/passwd",
					    "/etc",  "out/x", "d/../../x", "*/g.txt"};
	char name[64];

	start(0);
	hello("tok");
	save(dir, "hello");
	start(0);
	hello("bad");
	path_req(WIRE_NFS_STAT_REQ, "f.txt");
	save(dir, "hello_bad_token");
	start(0);
	path_req(WIRE_NFS_STAT_REQ, "f.txt");
	save(dir, "no_hello");
	for (size_t t = 0; t < sizeof(path_types) / sizeof(path_types[0]); t++) {
		start(1);
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			path_req(path_types[t], paths[i]);
		snprintf(name, sizeof(name), "paths_%s", wire_type_name(path_types[t]));
		save(dir, name);
	}
	/* NUL inside a path. */
	start(1);
	{
		static const uint8_t body[] = {0x08, 0x01, 0x12, 0x05, 'f', 0, '.', 't', 'x'};
		uint8_t hdr[WIRE_HEADER_SIZE] = {'S', 'D', 1, 0, 0, WIRE_NFS_READ_REQ,
						 0,   0,   0, 0, 0, sizeof(body),
						 0,   0,   0, 0};
		memcpy(buf + len, hdr, sizeof(hdr));
		memcpy(buf + len + sizeof(hdr), body, sizeof(body));
		len += sizeof(hdr) + sizeof(body);
	}
	save(dir, "nul_path");
	/* A sink: create, write twice, commit; and one left open. */
	for (int commit = 0; commit < 2; commit++) {
		Sd__Netfs__CreateReq c = SD__NETFS__CREATE_REQ__INIT;
		Sd__Netfs__WriteReq w = SD__NETFS__WRITE_REQ__INIT;
		Sd__Netfs__CommitReq m = SD__NETFS__COMMIT_REQ__INIT;
		start(1);
		c.req_id = 1;
		c.path = commit ? "sink/part-0" : "sink/part-1";
		c.overwrite = true;
		frame(WIRE_NFS_CREATE_REQ, &c.base, NULL, 0);
		w.req_id = 2;
		w.handle = 1;
		w.xxh3 = nfs_checksum("abc", 3);
		frame(WIRE_NFS_WRITE_REQ, &w.base, "abc", 3);
		w.req_id = 3;
		w.offset = 3;
		w.xxh3 = 1; /* wrong checksum */
		frame(WIRE_NFS_WRITE_REQ, &w.base, "def", 3);
		if (commit) {
			m.req_id = 4;
			m.handle = 1;
			frame(WIRE_NFS_COMMIT_REQ, &m.base, NULL, 0);
		}
		save(dir, commit ? "sink_commit" : "sink_abandoned");
	}
	/* Appends, one with a bad checksum. */
	{
		Sd__Netfs__AppendReq a = SD__NETFS__APPEND_REQ__INIT;
		start(1);
		a.req_id = 1;
		a.path = "logs/app.log";
		a.xxh3 = nfs_checksum("line\n", 5);
		frame(WIRE_NFS_APPEND_REQ, &a.base, "line\n", 5);
		a.req_id = 2;
		a.xxh3 = 0;
		frame(WIRE_NFS_APPEND_REQ, &a.base, "line\n", 5);
		save(dir, "append");
	}
	/* A read and a tail, then cancels (one for nobody). */
	{
		Sd__Netfs__CancelReq x = SD__NETFS__CANCEL_REQ__INIT;
		start(1);
		path_req(WIRE_NFS_READ_REQ, "f.txt");
		path_req(WIRE_NFS_TAIL_REQ, "f.txt");
		x.req_id = 8;
		x.target = 7;
		frame(WIRE_NFS_CANCEL_REQ, &x.base, NULL, 0);
		x.target = 99;
		frame(WIRE_NFS_CANCEL_REQ, &x.base, NULL, 0);
		save(dir, "cancel");
	}
	concat_seeds(dir);
	/* A response type sent by a client. */
	{
		Sd__Netfs__Ok ok = SD__NETFS__OK__INIT;
		start(1);
		frame(WIRE_NFS_OK, &ok.base, NULL, 0);
		save(dir, "wrong_direction");
	}
	return 0;
}
