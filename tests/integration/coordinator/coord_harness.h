/*
 * tests/integration/coordinator/coord_harness.h — what the coordinator's
 * integration tests share: a netfsd and a stardust-coordinator on ephemeral
 * loopback ports (started by the cmocka group setup), a fake node speaking
 * proto/wire.h over a socket, a raw HTTP client and a way to run the CLI.
 *
 *   test_X PATH/stardust-coordinator PATH/stardust PATH/stardust-netfsd
 *
 * Waits are bounded polls (the suite never asserts on timing).
 */
#ifndef SD_TESTS_COORD_HARNESS_H
#define SD_TESTS_COORD_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "proto/wire.h"

#define WAIT_MS_MAX      20000 /* ms: bound on any poll; generous for sanitizer builds */
#define COORD_JOB_ID_BUF 64    /* bytes: a job id with its NUL, with room */

extern const char *coord_bin, *cli_bin, *netfsd_bin; /* from argv */
extern pid_t coord_pid, netfsd_pid;
extern char state_dir[256]; /* the test's temporary directory */
extern int http_port, ctl_port, netfs_port;
/* More daemon flags (NULL-terminated, at most 12), set before start_coordinator. */
extern const char *const *coord_extra_args;

struct http_resp {
	int status;
	char head[4096];
	char *body;
};

void sleep_ms(unsigned ms);
uint64_t mono_us(void);
int connect_port(int port);
/* Connects to port from the loopback address ip (any of 127/8), non-blocking. */
int connect_port_from(const char *ip, int port);
/* Whether the peer has closed (or reset) fd, or sent anything: no waiting. */
bool peer_closed(int fd);
/* A "Vm..:" figure of /proc/PID/status in KiB (VmRSS, VmHWM); -1 if absent. */
long proc_status_kb(pid_t pid, const char *field);
void send_all(int fd, const void *p, size_t n);

/* The fake node. */
void send_msg(int fd, uint16_t type, const ProtobufCMessage *msg);
/* Reads the next frame; SD_ECLOSED at EOF. */
int recv_msg(int fd, struct wire_reader *r, struct wire_frame *f);
/* A Register for region eu-west, zone eu-west-b, label rack=r42, 3 slots. */
Sd__Control__Register reg_msg(const char *name, const char *token, uint32_t version);
/* Registers; returns the ack's accepted flag and copies its reason. */
bool do_register(int fd, struct wire_reader *r, const Sd__Control__Register *m, char *reason,
		 size_t cap, uint32_t *interval_ms);
/* One heartbeat carrying rtt_us; returns the RTT measured from the ack's echo. */
uint64_t heartbeat(int fd, struct wire_reader *r, uint64_t seq, uint64_t rtt_us);

/* HTTP on a fresh connection (Connection: close). */
void http(const char *raw, size_t len, struct http_resp *out);
cJSON *http_json(const char *method, const char *path, const char *auth, int *status);
const cJSON *find_node(const cJSON *doc, const char *name);
const char *jstr(const cJSON *o, const char *k);

/* cmocka group setup/teardown: netfsd (token NFS-T) and the coordinator
 * (API token API-T, join token JOIN-J, heartbeat timeout 1 s). */
int start_coordinator(void **state);
int stop_coordinator(void **state);
/* SIGTERM (exit 0 checked), then a new coordinator on the same state directory. */
int restart_coordinator(void);
/* Runs the CLI with args (stderr dropped), stdout into out; its exit status. */
int run_cli(const char *args, char *out, size_t cap);
/* Parses argv (three binaries); 0, or 2 after printing the usage. */
int harness_args(int argc, char **argv);

#endif
