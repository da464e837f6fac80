/*
 * node/plat/metal/plat_tcp_lwip.c — plat.h's readiness-style TCP over the
 * lwIP raw API (NO_SYS=1).
 *
 * lwIP calls back when something happens (recv, sent, connected, accept,
 * err); those callbacks only record it — received pbufs onto the socket's
 * queue, accepted pcbs into a plat_sock on the listener's queue, an event
 * bit — and put the socket on the ready list. plat_wait() then runs the
 * owners' callbacks (metal_tcp_dispatch), and the owner pulls data with
 * plat_tcp_recv/send/accept until SD_EAGAIN. Receive flow control: bytes are
 * acknowledged to lwIP (tcp_recved) only when the owner reads them.
 * lwIP's err_t becomes an SD_E* code in metal_tcp_err() and nowhere else.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "node/plat/metal/plat_metal.h"
#include "node/plat/plat.h"

#define TCP_ACCEPT_QUEUE 16     /* accepted connections waiting for plat_tcp_accept */
#define TCP_SEND_CHUNK   0xffff /* bytes per tcp_write (its length is u16) */

struct plat_sock {
	struct tcp_pcb *pcb; /* NULL once lwIP freed it (err callback) or we closed */
	bool listening, fin;
	int status;       /* 1 connected, 0 connecting, < 0 SD_E* error */
	unsigned events;  /* enum plat_event bits not yet dispatched */
	struct pbuf *rx;  /* received, not yet read */
	plat_sock_cb *cb; /* NULL while an accepted socket waits in its queue */
	void *arg;
	bool on_ready;
	struct plat_sock *next_ready;
	struct plat_sock *accepted[TCP_ACCEPT_QUEUE]; /* listeners only */
	unsigned n_accepted;
};

static struct plat_sock *tcp_ready; /* sockets with events and an owner */
static ip_addr_t tcp_localhost;     /* where connects to 127.0.0.0/8 go; 0: loopback */

void metal_tcp_set_localhost(const char *ip)
{
	if (!ipaddr_aton(ip, &tcp_localhost))
		ip_addr_set_zero(&tcp_localhost);
}

/* The one place lwIP's err_t becomes an SD_E* code. connecting: still in SYN. */
static int metal_tcp_err(err_t err, bool connecting)
{
	switch (err) {
	case ERR_OK:
		return 0;
	case ERR_MEM:
	case ERR_BUF:
		return SD_ENOMEM;
	case ERR_TIMEOUT:
		return SD_ETIMEDOUT;
	case ERR_RTE:
		return SD_EUNREACH;
	case ERR_INPROGRESS:
	case ERR_WOULDBLOCK:
		return SD_EAGAIN;
	case ERR_VAL:
	case ERR_ARG:
		return SD_EINVAL;
	case ERR_USE:
		return SD_EADDRINUSE;
	case ERR_ALREADY:
	case ERR_ISCONN:
	case ERR_CONN:
		return SD_ESTATE;
	case ERR_RST:
		return connecting ? SD_ECONNREFUSED : SD_ECONNRESET;
	case ERR_ABRT:
		return connecting ? SD_ETIMEDOUT : SD_ECONNRESET;
	case ERR_CLSD:
		return SD_ECLOSED;
	default:
		return SD_EIO;
	}
}

static void tcp_mark(struct plat_sock *s, unsigned events)
{
	s->events |= events;
	if (s->cb && !s->on_ready) {
		s->on_ready = true;
		s->next_ready = tcp_ready;
		tcp_ready = s;
	}
}

static void tcp_unready(struct plat_sock *s)
{
	for (struct plat_sock **pp = &tcp_ready; *pp; pp = &(*pp)->next_ready) {
		if (*pp == s) {
			*pp = s->next_ready;
			break;
		}
	}
	s->on_ready = false;
}

int metal_tcp_pending(void)
{
	return tcp_ready != NULL;
}

int metal_tcp_dispatch(void)
{
	int n = 0;

	while (tcp_ready) {
		struct plat_sock *s = tcp_ready;
		unsigned ev = s->events;

		tcp_ready = s->next_ready;
		s->on_ready = false;
		s->events = 0;
		n++;
		s->cb(s, ev, s->arg); /* may close s or any other socket */
	}
	return n;
}

/* ---- lwIP callbacks --------------------------------------------------- */

static err_t tcp_on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct plat_sock *s = arg;

	(void)pcb;
	if (!s) {
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (err != ERR_OK && p) {
		pbuf_free(p);
		return ERR_OK;
	}
	if (!p)
		s->fin = true;
	else if (s->rx)
		pbuf_cat(s->rx, p);
	else
		s->rx = p;
	tcp_mark(s, PLAT_EV_READ);
	return ERR_OK;
}

static err_t tcp_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	if (arg)
		tcp_mark(arg, PLAT_EV_WRITE);
	return ERR_OK;
}

static void tcp_on_err(void *arg, err_t err)
{
	struct plat_sock *s = arg;

	if (!s)
		return;
	s->pcb = NULL; /* lwIP has freed it */
	s->status = metal_tcp_err(err, s->status == 0);
	tcp_mark(s, PLAT_EV_ERROR | PLAT_EV_READ | PLAT_EV_WRITE);
}

static err_t tcp_on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct plat_sock *s = arg;

	(void)pcb;
	s->status = err == ERR_OK ? 1 : metal_tcp_err(err, true);
	tcp_mark(s, err == ERR_OK ? PLAT_EV_WRITE : PLAT_EV_ERROR);
	return ERR_OK;
}

static void tcp_attach(struct plat_sock *s, struct tcp_pcb *pcb)
{
	s->pcb = pcb;
	tcp_arg(pcb, s);
	tcp_recv(pcb, tcp_on_recv);
	tcp_sent(pcb, tcp_on_sent);
	tcp_err(pcb, tcp_on_err);
}

static err_t tcp_on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct plat_sock *l = arg, *s;

	if (err != ERR_OK || !pcb || l->n_accepted == TCP_ACCEPT_QUEUE)
		return ERR_MEM; /* lwIP aborts the new connection */
	s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_MEM;
	s->status = 1;
	tcp_attach(s, pcb);
	tcp_nagle_disable(pcb);
	l->accepted[l->n_accepted++] = s;
	tcp_mark(l, PLAT_EV_READ);
	return ERR_OK;
}

/* ---- plat.h ----------------------------------------------------------- */

static int tcp_parse_host(const char *host, ip_addr_t *out)
{
	if (!host || !strcmp(host, "localhost"))
		host = "127.0.0.1";
	return ipaddr_aton(host, out) ? 0 : SD_EINVAL;
}

int plat_tcp_listen(const char *host, uint16_t port, plat_sock_cb *cb, void *arg,
		    struct plat_sock **out)
{
	struct plat_sock *s;
	struct tcp_pcb *pcb, *lpcb;
	ip_addr_t addr;
	err_t err;

	if (tcp_parse_host(host, &addr) < 0)
		return SD_EINVAL;
	s = calloc(1, sizeof(*s));
	pcb = s ? tcp_new() : NULL;
	if (!pcb) {
		free(s);
		return SD_ENOMEM;
	}
	err = tcp_bind(pcb, &addr, port);
	if (err != ERR_OK) {
		tcp_abort(pcb);
		free(s);
		return metal_tcp_err(err, false);
	}
	lpcb = tcp_listen(pcb);
	if (!lpcb) {
		tcp_abort(pcb);
		free(s);
		return SD_ENOMEM;
	}
	s->pcb = lpcb;
	s->listening = true;
	s->status = 1;
	s->cb = cb;
	s->arg = arg;
	tcp_arg(lpcb, s);
	tcp_accept(lpcb, tcp_on_accept);
	*out = s;
	return 0;
}

int plat_tcp_accept(struct plat_sock *listener, plat_sock_cb *cb, void *arg, struct plat_sock **out)
{
	struct plat_sock *s;

	assert(listener->listening);
	if (listener->n_accepted == 0)
		return SD_EAGAIN;
	s = listener->accepted[0];
	listener->n_accepted--;
	memmove(listener->accepted, listener->accepted + 1,
		listener->n_accepted * sizeof(listener->accepted[0]));
	s->cb = cb;
	s->arg = arg;
	if (s->events || s->rx || s->fin || s->status < 0)
		tcp_mark(s, s->events | PLAT_EV_READ); /* arrived before its owner */
	*out = s;
	return 0;
}

int plat_tcp_connect(const char *host, uint16_t port, plat_sock_cb *cb, void *arg,
		     struct plat_sock **out)
{
	struct plat_sock *s;
	struct tcp_pcb *pcb;
	ip_addr_t addr;
	err_t err;

	if (tcp_parse_host(host, &addr) < 0)
		return SD_EINVAL;
	if (ip4_addr_isloopback(ip_2_ip4(&addr)) && !ip_addr_isany(&tcp_localhost))
		addr = tcp_localhost; /* localhost= on the command line: the host */
	s = calloc(1, sizeof(*s));
	pcb = s ? tcp_new() : NULL;
	if (!pcb) {
		free(s);
		return SD_ENOMEM;
	}
	s->cb = cb;
	s->arg = arg;
	tcp_attach(s, pcb);
	tcp_nagle_disable(pcb);
	err = tcp_connect(pcb, &addr, port, tcp_on_connected);
	if (err != ERR_OK) {
		tcp_arg(pcb, NULL);
		tcp_abort(pcb);
		free(s);
		return metal_tcp_err(err, true);
	}
	*out = s;
	return 0;
}

int plat_tcp_status(struct plat_sock *s)
{
	return s->status;
}

long plat_tcp_send(struct plat_sock *s, const void *buf, size_t len)
{
	size_t room, n;
	err_t err;

	if (s->status < 0)
		return s->status;
	if (s->status == 0 || !s->pcb)
		return s->pcb ? SD_EAGAIN : SD_ECLOSED;
	room = tcp_sndbuf(s->pcb);
	n = len < room ? len : room;
	if (n > TCP_SEND_CHUNK)
		n = TCP_SEND_CHUNK;
	if (n == 0)
		return len == 0 ? 0 : SD_EAGAIN;
	err = tcp_write(s->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
	if (err == ERR_MEM)
		return SD_EAGAIN; /* queue full: the sent callback says when to retry */
	if (err != ERR_OK)
		return metal_tcp_err(err, false);
	tcp_output(s->pcb);
	return (long)n;
}

long plat_tcp_recv(struct plat_sock *s, void *buf, size_t len)
{
	size_t n;

	if (s->rx) {
		n = len < s->rx->tot_len ? len : s->rx->tot_len; /* tot_len is a u16 */
		pbuf_copy_partial(s->rx, buf, (u16_t)n, 0);
		s->rx = pbuf_free_header(s->rx, (u16_t)n);
		if (s->pcb)
			tcp_recved(s->pcb, (u16_t)n);
		return (long)n;
	}
	if (s->status < 0)
		return s->status;
	if (s->fin)
		return SD_ECLOSED;
	return SD_EAGAIN;
}

int plat_tcp_local_addr(struct plat_sock *s, char *out, size_t cap)
{
	char ip[IP4ADDR_STRLEN_MAX];

	if (!s->pcb)
		return SD_ESTATE;
	ipaddr_ntoa_r(&s->pcb->local_ip, ip, sizeof(ip));
	if ((size_t)snprintf(out, cap, "%s:%u", ip, s->pcb->local_port) >= cap)
		return SD_ETOOBIG;
	return 0;
}

uint16_t plat_tcp_local_port(struct plat_sock *s)
{
	return s->pcb ? s->pcb->local_port : 0;
}

static void tcp_detach_close(struct tcp_pcb *pcb, bool listening)
{
	tcp_arg(pcb, NULL);
	if (listening) {
		tcp_accept(pcb, NULL);
	} else {
		tcp_recv(pcb, NULL);
		tcp_sent(pcb, NULL);
		tcp_err(pcb, NULL);
	}
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb); /* out of memory for the FIN */
}

void plat_tcp_close(struct plat_sock *s)
{
	if (!s)
		return;
	if (s->on_ready)
		tcp_unready(s);
	for (unsigned i = 0; i < s->n_accepted; i++)
		plat_tcp_close(s->accepted[i]);
	if (s->pcb)
		tcp_detach_close(s->pcb, s->listening);
	if (s->rx)
		pbuf_free(s->rx);
	free(s);
}
