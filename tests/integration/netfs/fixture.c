/* tests/integration/netfs/fixture.c — see fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/netfs/fixture.h"

char dir[256], root[300];
struct server_proc srv_plain, srv_token, srv_walk;
uint8_t *big;

void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

struct nfs_conn *conn_to(const struct server_proc *sp, const char *token)
{
	struct nfs_conn *c = NULL;
	assert_int_equal(nfs_connect("127.0.0.1", sp->port, token, &c), 0);
	return c;
}

int collect(void *arg, uint64_t offset, const void *data, size_t len)
{
	struct buf *b = arg;

	if (offset != b->next_off)
		b->bad_offset = true;
	b->next_off = offset + len;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->data = realloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int collect_name(void *arg, const struct nfs_entry *e)
{
	struct names *n = arg;
	if (n->n < 64) {
		snprintf(n->list[n->n], sizeof(n->list[0]), "%s", e->path);
		n->dir[n->n++] = e->is_dir;
	}
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

/* ---- fixture ----------------------------------------------------------- */

static int symlink_at(const char *target, const char *rel)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return symlink(target, p);
}

int fixture_setup(void **state)
{
	static const char *const plain[] = {"--region", "test-region", "--name", "itest", NULL};
	static const char *const token[] = {"--token", "s3cret", NULL};
	static const char *const walk[] = {"--no-openat2", "--hello-timeout-ms", "200", NULL};

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/netfs-itest-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(root, sizeof(root), "%s/root", dir);
	mkdir(root, 0755);
	big = malloc(BIG_SIZE);
	fill_pattern(big, BIG_SIZE, 42);
	fixture_write(root, "big.bin", big, BIG_SIZE);
	fixture_write(root, "a.txt", "hello\n", 6);
	fixture_write(root, "sub/b.txt", "bbb\n", 4);
	fixture_write(root, "sub/c.log", "c\n", 2);
	fixture_write(root, "sub/deep/d.bin", "d", 1);
	if (symlink_at("/etc/passwd", "evil") < 0 || symlink_at("a.txt", "link_in") < 0 ||
	    symlink_at("sub", "dirlink") < 0 || symlink_at("../a.txt", "sub/up") < 0)
		return -1;
	if (server_start(&srv_plain, root, dir, plain) < 0 ||
	    server_start(&srv_token, root, dir, token) < 0 ||
	    server_start(&srv_walk, root, dir, walk) < 0)
		return -1;
	return 0;
}

int fixture_teardown(void **state)
{
	char cmd[600];

	(void)state;
	server_stop(&srv_plain);
	server_stop(&srv_token);
	server_stop(&srv_walk);
	free(big);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}
