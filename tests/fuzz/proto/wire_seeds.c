/*
 * Writes seed frames for fuzz_wire into a directory: one valid frame of
 * several types, two frames back to back, and a few known-bad headers.
 */
#include <stdio.h>
#include <string.h>

#include "proto/wire.h"

static uint8_t buf[65536];

static void put(const char *dir, const char *name, const uint8_t *data, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		return;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	Sd__Control__Register reg = SD__CONTROL__REGISTER__INIT;
	Sd__Control__Label l = SD__CONTROL__LABEL__INIT, *lp = &l;
	Sd__Data__Batch b = SD__DATA__BATCH__INIT;
	Sd__Netfs__ReadReq rr = SD__NETFS__READ_REQ__INIT;
	Sd__Control__Deploy d = SD__CONTROL__DEPLOY__INIT;
	long n, m;

	if (argc != 2) {
		fprintf(stderr, "usage: wire_seeds DIR\n");
		return 2;
	}
	reg.protocol_version = WIRE_VERSION;
	reg.name = "n1";
	reg.region = "eu-west";
	l.key = "tier";
	l.value = "edge";
	reg.n_labels = 1;
	reg.labels = &lp;
	n = wire_encode(WIRE_CTL_REGISTER, &reg.base, NULL, 0, buf, sizeof(buf));
	put(argv[1], "register", buf, (size_t)n);

	b.channel_id = 3;
	b.record_count = 2;
	m = wire_encode(WIRE_DATA_BATCH, &b.base, "ab\0cd", 5, buf + n, sizeof(buf) - (size_t)n);
	put(argv[1], "register_then_batch", buf, (size_t)(n + m));
	put(argv[1], "batch", buf + n, (size_t)m);

	rr.req_id = 9;
	rr.path = "corpus/a.txt";
	rr.length = 4096;
	n = wire_encode(WIRE_NFS_READ_REQ, &rr.base, NULL, 0, buf, sizeof(buf));
	put(argv[1], "netfs_read", buf, (size_t)n);

	d.job_id = "job-1";
	d.plan.data = (uint8_t *)"\x01\x02\x03";
	d.plan.len = 3;
	n = wire_encode(WIRE_CTL_DEPLOY, &d.base, NULL, 0, buf, sizeof(buf));
	put(argv[1], "deploy", buf, (size_t)n);

	buf[2] = 2; /* wrong version */
	put(argv[1], "bad_version", buf, (size_t)n);
	buf[2] = WIRE_VERSION;
	memset(buf + 8, 0xff, 4); /* huge body */
	put(argv[1], "huge_body", buf, (size_t)n);
	put(argv[1], "short_header", buf, 7);
	return 0;
}
