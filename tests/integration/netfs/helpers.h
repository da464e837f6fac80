/*
 * tests/integration/netfs/helpers.h — start/stop stardust-netfsd, fixture
 * files, and raw-socket access for the netfs integration tests.
 */
#ifndef SD_TESTS_NETFS_HELPERS_H
#define SD_TESTS_NETFS_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/wire.h"

struct server_proc {
	pid_t pid;
	uint16_t port;
};

/* Starts netfsd on root with extra args (NULL-terminated); waits for its port. */
int server_start(struct server_proc *sp, const char *root, const char *dir,
		 const char *const *extra);
/* The same with RLIMIT_FSIZE at fsize_max bytes (0: none): writes past it fail with EFBIG. */
int server_start_fsize(struct server_proc *sp, const char *root, const char *dir,
		       const char *const *extra, uint64_t fsize_max);
/* SIGTERM and wait; server_kill: SIGKILL (nothing cleaned up) and wait. */
void server_stop(struct server_proc *sp);
void server_kill(struct server_proc *sp);

/* Writes len bytes to root/rel (creating parent dirs). */
void fixture_write(const char *root, const char *rel, const void *data, size_t len);
/* Reads root/rel whole; returns owned bytes (*len set) or NULL. */
uint8_t *fixture_read(const char *root, const char *rel, size_t *len);
/* Deterministic bytes (xorshift). */
void fill_pattern(uint8_t *buf, size_t len, uint64_t seed);
/* Entries in root/rel whose name starts with prefix. */
int count_prefixed(const char *root, const char *rel, const char *prefix);

/* Raw protocol access: a connected blocking socket. */
int raw_connect(uint16_t port);
int raw_send(int fd, uint16_t type, const ProtobufCMessage *msg, const void *att, size_t len);
int raw_send_bytes(int fd, const void *data, size_t len);
/* Next frame (message owned by the caller), SD_ECLOSED at EOF. */
int raw_recv(int fd, struct wire_reader *r, struct wire_frame *f);
/* Hello + HelloAck. */
int raw_hello(int fd, struct wire_reader *r);
/* Reads and drops bytes until the peer closes (true) or wait_ms passes with none (false). */
bool raw_wait_closed(int fd, int wait_ms);
/* Nothing to read and not closed, right now. */
bool raw_is_open(int fd);

#endif
