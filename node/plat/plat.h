/*
 * node/plat/plat.h — the only seam between the node core and the machine.
 *
 * The node core (node/core/) is portable C; everything it needs from the
 * world comes through these calls. Two platforms implement them:
 *   node/plat/hosted/  a Linux process: epoll, POSIX sockets, mmap'd stacks
 *   node/plat/metal/   the unikernel: lwIP raw API (NO_SYS=1), hlt, serial
 *
 * Model: one thread, one event loop. Nothing here blocks except
 * plat_wait(), which sleeps until an event or a deadline and then runs the
 * socket callbacks of what became ready. Sockets are readiness-style and
 * edge-triggered: the callback says "something changed"; the core then
 * calls plat_tcp_recv()/plat_tcp_send()/plat_tcp_accept() until SD_EAGAIN.
 * A platform may call a callback spuriously; the core must cope.
 *
 * Interface:
 *   plat_init()                    once, before anything else
 *   plat_now_us()                  monotonic clock
 *   plat_wait(deadline)            sleep until events or deadline; dispatch callbacks
 *   plat_alloc/realloc/free        accounted memory with a limit
 *   plat_stack_alloc/free          coroutine stacks
 *   plat_ctx_init/switch           x86_64 coroutine context switch
 *   plat_tcp_*                     non-blocking TCP
 *   plat_console_write, plat_random, plat_exit
 *
 * Callback rule (libuv's): a call that takes a callback and returns an error
 * never calls the callback for that operation.
 *
 * Context rules: callbacks run inside plat_wait() on the loop's stack; they
 * must not block or switch coroutine contexts.
 */
#ifndef SD_NODE_PLAT_H
#define SD_NODE_PLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAT_ADDR_MAX 64 /* bytes: "a.b.c.d:port" text with the NUL */

/* Once per process, before any other plat_ call. 0 or an SD_E* code. */
int plat_init(void);

/* Microseconds since an arbitrary start; never goes back. */
uint64_t plat_now_us(void);

/*
 * Sleeps until a socket has an event or deadline_us (plat_now_us() clock)
 * passes, then runs the callbacks of ready sockets. deadline_us == 0 polls
 * without sleeping; UINT64_MAX sleeps until an event. Returns the number of
 * callbacks run, or an SD_E* code.
 */
int plat_wait(uint64_t deadline_us);

/* ---- memory ---------------------------------------------------------- */

/*
 * Accounted heap. plat_alloc returns NULL when the limit would be exceeded
 * or memory is exhausted (or, hosted, when a fault is injected). Sizes are
 * remembered: plat_free takes only the pointer. Returns owned memory.
 */
void *plat_alloc(size_t size);
void *plat_calloc(size_t count, size_t size);
void *plat_realloc(void *ptr, size_t size); /* NULL on failure; ptr stays valid */
void plat_free(void *ptr);                  /* NULL is fine */

size_t plat_mem_used(void);            /* bytes currently allocated through plat_alloc */
size_t plat_mem_peak(void);            /* bytes: high-water mark */
void plat_mem_set_limit(size_t bytes); /* 0 = no limit */
size_t plat_mem_limit(void);

/* Coroutine stacks (hosted: mmap with a guard page). Not counted against the limit. */
void *plat_stack_alloc(size_t size);
void plat_stack_free(void *stack, size_t size);

/* ---- coroutine contexts (x86_64, callee-saved registers only) ---------- */

struct plat_ctx {
	void *sp; /* saved stack pointer; everything else lives on the stack */
};

/*
 * Prepares ctx so the first plat_ctx_switch() into it calls entry(arg) on
 * the given stack. entry must never return: it switches away for the last
 * time instead.
 */
void plat_ctx_init(struct plat_ctx *ctx, void *stack, size_t stack_size, void (*entry)(void *),
		   void *arg);

/* Saves the current context into from and resumes to. */
void plat_ctx_switch(struct plat_ctx *from, struct plat_ctx *to);

/* ---- TCP ---------------------------------------------------------------- */

struct plat_sock; /* opaque: one listening or connected TCP socket */

enum plat_event {
	PLAT_EV_READ = 1u << 0,  /* data, a pending accept, or the peer's FIN */
	PLAT_EV_WRITE = 1u << 1, /* connected, or send space freed */
	PLAT_EV_ERROR = 1u << 2, /* reset or connect failure: the next call says which */
};

/* Called from plat_wait() with a mask of enum plat_event. */
typedef void plat_sock_cb(struct plat_sock *sock, unsigned events, void *arg);

/*
 * Listens on an IPv4 address ("127.0.0.1", "0.0.0.0") and port (0 = any).
 * SD_EADDRINUSE, SD_EINVAL (address), SD_ENOMEM. Returns an owned socket.
 */
int plat_tcp_listen(const char *host, uint16_t port, plat_sock_cb *cb, void *arg,
		    struct plat_sock **out);

/* Accepts one pending connection; SD_EAGAIN when none. Returns owned. */
int plat_tcp_accept(struct plat_sock *listener, plat_sock_cb *cb, void *arg,
		    struct plat_sock **out);

/*
 * Starts connecting to host:port (IPv4 dotted or "localhost"). Returns 0 with
 * an owned socket whose callback reports PLAT_EV_WRITE when connected or
 * PLAT_EV_ERROR when it failed (plat_tcp_error then says why).
 */
int plat_tcp_connect(const char *host, uint16_t port, plat_sock_cb *cb, void *arg,
		     struct plat_sock **out);

/* 1 when connected, 0 while connecting, or the connection's SD_E* error. */
int plat_tcp_status(struct plat_sock *sock);

/* Bytes sent (> 0), SD_EAGAIN when the send buffer is full, or an error. Borrows buf. */
long plat_tcp_send(struct plat_sock *sock, const void *buf, size_t len);

/* Bytes received (> 0), SD_EAGAIN, SD_ECLOSED at the peer's FIN, or an error. */
long plat_tcp_recv(struct plat_sock *sock, void *buf, size_t len);

/* Local address as "a.b.c.d:port"; port alone via plat_tcp_local_port. */
int plat_tcp_local_addr(struct plat_sock *sock, char *out, size_t cap);
uint16_t plat_tcp_local_port(struct plat_sock *sock);

/* Closes and frees; no callback runs for sock afterwards. NULL is fine. */
void plat_tcp_close(struct plat_sock *sock);

/* ---- the rest ---------------------------------------------------------- */

/* "hosted" or "metal": what the node reports in CTL_REGISTER. */
const char *plat_name(void);

/* Writes bytes to the console (hosted: stderr). */
void plat_console_write(const char *text, size_t len);

/* Fills buf with random bytes (not for keys: jitter, ids). */
void plat_random(void *buf, size_t len);

/* Ends the node: hosted exit(code); metal powers off. */
_Noreturn void plat_exit(int code);

#endif /* SD_NODE_PLAT_H */
