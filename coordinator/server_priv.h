/*
 * coordinator/server_priv.h — state shared by server.c (HTTP, timers,
 * start/stop) and control.c (node connections). Private to the daemon.
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
	struct coord__link http_conns; /* list head */
	struct coord__link ctl_conns;  /* list head */
	char netfs_host[256];          /* the --netfs host, kept for jobs.netfs */
	uint64_t last_sweep_us;        /* liveness is not judged right after a stall */
	uint64_t last_idle_check_us;   /* idle HTTP connections last looked for */
	size_t http_open;
	size_t ctl_open;
	bool stopping;
};

struct ctl_conn {
	uv_tcp_t tcp; /* first: handle->data points at the conn */
	struct coord_server *srv;
	struct wire_reader reader;
	struct coord_node *node; /* borrowed from the registry after Register */
	struct coord__link link;
	bool closing;       /* uv_close called */
	bool shutting_down; /* closes after queued writes */
};

uint64_t coord__now_us(void);
void coord__list_init(struct coord__link *head);
void coord__list_add(struct coord__link *head, struct coord__link *l);
void coord__list_remove(struct coord__link *head, struct coord__link *l);

void coord__ctl_accept(uv_stream_t *listener, int status);
void coord__ctl_close(struct ctl_conn *c);
int coord__ctl_send(struct ctl_conn *c, uint16_t type, const ProtobufCMessage *msg);
/* coord_send_fn for the job table: arg unused, node->conn is a ctl_conn. */
int coord__ctl_send_to_node(void *arg, struct coord_node *node, uint16_t type,
			    const ProtobufCMessage *msg);

#endif /* SD_COORD_SERVER_PRIV_H */
