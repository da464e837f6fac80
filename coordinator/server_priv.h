/*
 * coordinator/server_priv.h — state shared by server.c (HTTP, timers,
 * start/stop) and control.c (node connections). Private to the daemon.
 *
 * Connection deadlines run on coord__mono_us (monotonic); node and job
 * timestamps on coord__now_us (wall clock, shown to people).
 */
#ifndef SD_COORD_SERVER_PRIV_H
#define SD_COORD_SERVER_PRIV_H

#include <uv.h>

#include "coordinator/coord.h"

/* An intrusive doubly linked list of open connections, for shutdown. */
struct coord__link {
	struct coord__link *prev;
	struct coord__link *next;
};

struct coord_server {
	uv_loop_t *loop;
	uv_tcp_t http_listener;
	uv_tcp_t ctl_listener;
	uv_timer_t sweep_timer;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	struct coord_registry registry;
	struct coord_jobs jobs;
	struct coord_api api;
	struct coord__link http_conns;  /* list head */
	struct coord__link ctl_conns;   /* list head */
	struct coord__link ctl_pending; /* not yet registered, newest first */
	char netfs_host[256];           /* the --netfs host, kept for jobs.netfs */
	uint64_t last_sweep_us;         /* liveness is not judged right after a stall */
	uint64_t last_idle_check_us;    /* HTTP deadlines last checked (coord__mono_us) */
	size_t http_open;
	size_t ctl_open;
	size_t ctl_pending_n;         /* connections on ctl_pending */
	uint64_t register_timeout_us; /* the effective deadlines (coord_config or coord.h) */
	uint64_t http_head_us;
	uint64_t http_idle_us;
	uint64_t ctl_dropped;        /* unregistered connections closed, not yet logged */
	uint64_t ctl_dropped_log_us; /* when that count was last logged */
	bool stopping;
};

struct ctl_conn {
	uv_tcp_t tcp; /* first: handle->data points at the conn */
	struct coord_server *srv;
	struct wire_reader reader;
	struct coord_node *node; /* borrowed from the registry after Register */
	struct coord__link link;
	struct coord__link pending; /* on srv->ctl_pending until Register succeeds */
	uint64_t accepted_us;       /* coord__mono_us at accept */
	bool closing;               /* uv_close called */
	bool shutting_down;         /* closes after queued writes */
};

uint64_t coord__now_us(void);
uint64_t coord__mono_us(void);
void coord__list_init(struct coord__link *head);
void coord__list_add(struct coord__link *head, struct coord__link *l);
void coord__list_remove(struct coord__link *head, struct coord__link *l);

void coord__ctl_accept(uv_stream_t *listener, int status);
/* Closes unregistered connections past the register deadline. O(closed). */
void coord__ctl_sweep_pending(struct coord_server *s, uint64_t now_mono_us);
void coord__ctl_close(struct ctl_conn *c);
int coord__ctl_send(struct ctl_conn *c, uint16_t type, const ProtobufCMessage *msg);
/* coord_send_fn for the job table: arg unused, node->conn is a ctl_conn. */
int coord__ctl_send_to_node(void *arg, struct coord_node *node, uint16_t type,
			    const ProtobufCMessage *msg);

#endif /* SD_COORD_SERVER_PRIV_H */
