/*
 * node/plat/hosted/plat_hosted.c — plat.h as a Linux process.
 *
 * epoll (edge-triggered) drives the sockets; plat_wait() is epoll_wait with
 * the deadline as timeout. Memory is malloc with a 16-byte size header for
 * accounting. Coroutine stacks are mmap'd with a guard page below them.
 * Sockets closed during a dispatch round are freed only at its end, so a
 * callback may close any socket, its own included.
 *
 * Not thread-safe: one node loop per process (tests may run other threads
 * that do not call plat_).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <assert.h>

#include "base/err.h"
#include "node/plat/plat.h"
#include "node/plat/plat_mem_priv.h"
#include "node/plat/hosted/plat_hosted.h"

#define HOSTED_EVENTS_MAX     64 /* epoll events per plat_wait round */
#define HOSTED_PAGE           4096u
#define HOSTED_LISTEN_BACKLOG 128

struct plat_sock {
	int fd;
	bool listening;
	bool closed;  /* closed during a dispatch round; freed at its end */
	int status;   /* 1 connected, 0 connecting, < 0 error */
	bool dropped; /* reset by a test hook: owes its owner an error callback */
	plat_sock_cb *cb;
	void *arg;
	struct plat_sock *next_all; /* every open socket, for drop_all */
	struct plat_sock *next_dead;
};

static struct {
	int epfd;
	uint64_t drop_send_nth;
	uint64_t wait_calls;
	struct plat_sock *all;
	struct plat_sock *dead;
	bool drops_pending;
} hosted = {.epfd = -1};

int plat_init(void)
{
	if (hosted.epfd >= 0)
		return 0;
	hosted.epfd = epoll_create1(EPOLL_CLOEXEC);
	return hosted.epfd < 0 ? sd_err_from_errno(errno) : 0;
}

uint64_t plat_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void hosted_reap(void)
{
	while (hosted.dead) {
		struct plat_sock *s = hosted.dead;

		hosted.dead = s->next_dead;
		free(s);
	}
}

/* Sockets reset by a test hook get their error callback here, once. */
static int hosted_deliver_drops(void)
{
	struct plat_sock *s;
	int n = 0;

	if (!hosted.drops_pending)
		return 0;
	hosted.drops_pending = false;
again:
	for (s = hosted.all; s; s = s->next_all) {
		if (s->dropped && !s->closed) {
			s->dropped = false;
			s->cb(s, PLAT_EV_ERROR | PLAT_EV_READ, s->arg);
			n++;
			goto again; /* the callback may have closed sockets */
		}
	}
	return n;
}

int plat_wait(uint64_t deadline_us)
{
	struct epoll_event ev[HOSTED_EVENTS_MAX];
	int timeout_ms, n, i;
	uint64_t now = plat_now_us();

	assert(hosted.epfd >= 0 && "plat_init first");
	if (deadline_us == 0 || deadline_us <= now || hosted.drops_pending)
		timeout_ms = 0;
	else if (deadline_us == UINT64_MAX)
		timeout_ms = -1;
	else
		timeout_ms = (int)((deadline_us - now + 999) / 1000);
	if (timeout_ms != 0)
		hosted.wait_calls++;
	n = epoll_wait(hosted.epfd, ev, HOSTED_EVENTS_MAX, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : sd_err_from_errno(errno);
	for (i = 0; i < n; i++) {
		struct plat_sock *s = ev[i].data.ptr;
		unsigned mask = 0;

		if (s->closed)
			continue;
		if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
			mask |= PLAT_EV_READ;
		if (ev[i].events & EPOLLOUT)
			mask |= PLAT_EV_WRITE;
		if (ev[i].events & EPOLLERR)
			mask |= PLAT_EV_ERROR;
		if (s->status == 0 && (mask & (PLAT_EV_WRITE | PLAT_EV_ERROR))) {
			int err = 0;
			socklen_t el = sizeof(err);

			getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			s->status = err ? sd_err_from_errno(err) : 1;
		}
		s->cb(s, mask, s->arg);
	}
	n += hosted_deliver_drops();
	hosted_reap();
	return n;
}

/* ---- memory: plat_alloc and friends live in node/plat/plat_mem.c ---- */

void *plat_stack_alloc(size_t size)
{
	size_t len = (size + HOSTED_PAGE - 1) / HOSTED_PAGE * HOSTED_PAGE + HOSTED_PAGE;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	mprotect(p, HOSTED_PAGE, PROT_NONE); /* guard: overflow faults instead of corrupting */
	return p + HOSTED_PAGE;
}

void plat_stack_free(void *stack, size_t size)
{
	size_t len = (size + HOSTED_PAGE - 1) / HOSTED_PAGE * HOSTED_PAGE + HOSTED_PAGE;

	if (stack)
		munmap((uint8_t *)stack - HOSTED_PAGE, len);
}

/* ---- TCP ---------------------------------------------------------------- */

static int hosted_parse_addr(const char *host, uint16_t port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	if (!host || !strcmp(host, "localhost"))
		host = "127.0.0.1";
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : SD_EINVAL;
}

static int hosted_sock_new(int fd, bool listening, int status, plat_sock_cb *cb, void *arg,
			   struct plat_sock **out)
{
	struct plat_sock *s = calloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};

	if (!s) {
		close(fd);
		return SD_ENOMEM;
	}
	s->fd = fd;
	s->listening = listening;
	s->status = status;
	s->cb = cb;
	s->arg = arg;
	ev.data.ptr = s;
	if (epoll_ctl(hosted.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int rc = sd_err_from_errno(errno);

		close(fd);
		free(s);
		return rc;
	}
	s->next_all = hosted.all;
	hosted.all = s;
	*out = s;
	return 0;
}

int plat_tcp_listen(const char *host, uint16_t port, plat_sock_cb *cb, void *arg,
		    struct plat_sock **out)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	if (!cb || !out || hosted_parse_addr(host, port, &sa))
		return SD_EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sd_err_from_errno(errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, HOSTED_LISTEN_BACKLOG) < 0) {
		int rc = sd_err_from_errno(errno);

		close(fd);
		return rc;
	}
	return hosted_sock_new(fd, true, 1, cb, arg, out);
}

static void hosted_tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int plat_tcp_accept(struct plat_sock *listener, plat_sock_cb *cb, void *arg, struct plat_sock **out)
{
	int fd;

	if (!listener || !listener->listening || !cb || !out)
		return SD_EINVAL;
	fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? SD_EAGAIN
								 : sd_err_from_errno(errno);
	hosted_tune(fd);
	return hosted_sock_new(fd, false, 1, cb, arg, out);
}

int plat_tcp_connect(const char *host, uint16_t port, plat_sock_cb *cb, void *arg,
		     struct plat_sock **out)
{
	struct sockaddr_in sa;
	int fd, status = 0;

	if (!cb || !out || hosted_parse_addr(host, port, &sa))
		return SD_EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sd_err_from_errno(errno);
	hosted_tune(fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		status = 1;
	else if (errno != EINPROGRESS) {
		int rc = sd_err_from_errno(errno);

		close(fd);
		return rc;
	}
	return hosted_sock_new(fd, false, status, cb, arg, out);
}

int plat_tcp_status(struct plat_sock *sock)
{
	return sock->status;
}

static void hosted_reset(struct plat_sock *s)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	/* SO_LINGER 0 + shutdown makes the peer see a reset, like a dead node. */
	setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	shutdown(s->fd, SHUT_RDWR);
	s->status = SD_ECONNRESET;
	s->dropped = true;
	hosted.drops_pending = true;
}

long plat_tcp_send(struct plat_sock *sock, const void *buf, size_t len)
{
	ssize_t n;

	if (sock->status < 0)
		return sock->status;
	if (sock->status == 0)
		return SD_EAGAIN;
	if (hosted.drop_send_nth && --hosted.drop_send_nth == 0) {
		hosted_reset(sock);
		return SD_ECONNRESET;
	}
	n = send(sock->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return SD_EAGAIN;
	sock->status = sd_err_from_errno(errno);
	return sock->status;
}

long plat_tcp_recv(struct plat_sock *sock, void *buf, size_t len)
{
	ssize_t n;

	if (sock->status < 0)
		return sock->status;
	if (sock->status == 0)
		return SD_EAGAIN;
	n = recv(sock->fd, buf, len, 0);
	if (n > 0)
		return n;
	if (n == 0)
		return SD_ECLOSED;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return SD_EAGAIN;
	sock->status = sd_err_from_errno(errno);
	return sock->status;
}

int plat_tcp_local_addr(struct plat_sock *sock, char *out, size_t cap)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char ip[INET_ADDRSTRLEN];

	if (getsockname(sock->fd, (struct sockaddr *)&sa, &len) < 0)
		return sd_err_from_errno(errno);
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	if ((size_t)snprintf(out, cap, "%s:%u", ip, ntohs(sa.sin_port)) >= cap)
		return SD_ETOOBIG;
	return 0;
}

uint16_t plat_tcp_local_port(struct plat_sock *sock)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(sock->fd, (struct sockaddr *)&sa, &len) < 0)
		return 0;
	return ntohs(sa.sin_port);
}

void plat_tcp_close(struct plat_sock *sock)
{
	struct plat_sock **pp;

	if (!sock)
		return;
	assert(!sock->closed);
	for (pp = &hosted.all; *pp; pp = &(*pp)->next_all) {
		if (*pp == sock) {
			*pp = sock->next_all;
			break;
		}
	}
	epoll_ctl(hosted.epfd, EPOLL_CTL_DEL, sock->fd, NULL);
	close(sock->fd);
	sock->closed = true;
	sock->next_dead = hosted.dead;
	hosted.dead = sock;
}

/* ---- the rest ---------------------------------------------------------- */

const char *plat_name(void)
{
	return "hosted";
}

void plat_console_write(const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(2, text, len);

		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

void plat_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0)
			abort();
		p += n;
		len -= (size_t)n;
	}
}

_Noreturn void plat_exit(int code)
{
	fflush(NULL);
	exit(code);
}

/* ---- test hooks ---------------------------------------------------------- */

void plat_hosted_fail_alloc_nth(uint64_t nth)
{
	plat__mem_fail_nth(nth);
}

uint64_t plat_hosted_alloc_faults(void)
{
	return plat__mem_faults();
}

void plat_hosted_drop_send_nth(uint64_t nth)
{
	hosted.drop_send_nth = nth;
}

void plat_hosted_drop_all_connections(void)
{
	struct plat_sock *s;

	for (s = hosted.all; s; s = s->next_all)
		if (!s->listening && s->status >= 0)
			hosted_reset(s);
}

void plat_hosted_reset_mem_peak(void)
{
	plat__mem_reset_peak();
}

uint64_t plat_hosted_wait_calls(void)
{
	return hosted.wait_calls;
}
