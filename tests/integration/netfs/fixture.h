/*
 * tests/integration/netfs/fixture.h — the export tree and the three servers
 * every netfs integration test runs against, plus collecting callbacks.
 *
 *   root/  big.bin (BIG_SIZE pattern bytes), a.txt "hello\n", sub/b.txt,
 *          sub/c.log, sub/deep/d.bin; symlinks evil -> /etc/passwd,
 *          link_in -> a.txt, dirlink -> sub, sub/up -> ../a.txt
 *   srv_plain  region "test-region", name "itest"
 *   srv_token  --token s3cret
 *   srv_walk   --no-openat2 --hello-timeout-ms 200
 */
#ifndef SD_TESTS_NETFS_FIXTURE_H
#define SD_TESTS_NETFS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfs/netfs.h"
#include "tests/integration/netfs/helpers.h"

#define BIG_SIZE (3u * 1024 * 1024 + 17) /* bytes: several chunks, odd tail */

extern char dir[256], root[300];
extern struct server_proc srv_plain, srv_token, srv_walk;
extern uint8_t *big;

int fixture_setup(void **state);
int fixture_teardown(void **state);

void sleep_ms(long ms);
/* Connects (asserting success); the caller closes. */
struct nfs_conn *conn_to(const struct server_proc *sp, const char *token);

/* nfs_data_fn collecting bytes and checking offsets are contiguous. */
struct buf {
	uint8_t *data;
	size_t len, cap;
	uint64_t next_off;
	bool bad_offset;
};
int collect(void *arg, uint64_t offset, const void *data, size_t len);

/* nfs_list_fn collecting up to 64 names. */
struct names {
	char list[64][128];
	bool dir[64];
	int n;
};
int collect_name(void *arg, const struct nfs_entry *e);

#endif
