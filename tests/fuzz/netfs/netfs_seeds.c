/*
 * tests/fuzz/netfs/netfs_seeds.c — writes the seed corpus of
 * fuzz_netfs_dispatch from real encoded requests. Run by hand after changing
 * netfs.proto: build/.../tests/fuzz/netfs/netfs_seeds tests/fuzz/corpus/netfs_dispatch
 */
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

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	static const uint16_t path_types[] = {WIRE_NFS_LIST_REQ,   WIRE_NFS_STAT_REQ,
					      WIRE_NFS_READ_REQ,   WIRE_NFS_TAIL_REQ,
					      WIRE_NFS_DELETE_REQ, WIRE_NFS_CREATE_REQ};
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
	/* A response type sent by a client. */
	{
		Sd__Netfs__Ok ok = SD__NETFS__OK__INIT;
		start(1);
		frame(WIRE_NFS_OK, &ok.base, NULL, 0);
		save(dir, "wrong_direction");
	}
	return 0;
}
