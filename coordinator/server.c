/*
 * coordinator/server.c — the daemon's libuv loop (coord_server_run).
 *
 *   coord_server_run: registry + jobs (the --state-dir job store loaded:
 *   coord_jobs_load) + api, bind the HTTP and control listeners (port 0 =
 *   ephemeral), write STATE_DIR/endpoints.json with the bound addresses,
 *   sweep node liveness and tick jobs on a timer, serve until SIGINT or
 *   SIGTERM, then close every handle and free everything.
 *
 * HTTP connections feed coord_http_conn (http.c); a response is copied into
 * one uv_write. One read buffer serves every connection: libuv calls the
 * read callback right after the alloc callback on one thread.
 *
 * What a client can hold (coord.h, "connection limits"): each HTTP
 * connection has one deadline, set when its phase changes (http.c tells the
 * phase, this file keeps the clock): idle between requests, head from a
 * request's first byte, body from the head's end. Bytes that trickle in do
 * not move it, so a slow client cannot keep a connection forever. When a new
 * connection puts its address over COORD_HTTP_CONNS_PER_IP_MAX or the server
 * over COORD_HTTP_CONNS_MAX, the connection that has waited longest in its
 * phase is closed to make room: real clients get in during a flood.
 */
#include "base/parse.h"
#include "coordinator/server_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"

#define HTTP_READ_BUF  (64u * 1024u) /* bytes: shared read buffer */
#define SWEEP_MIN_MS   10u           /* liveness sweep period bounds */
#define SWEEP_MAX_MS   500u
#define LISTEN_BACKLOG 511
#define COORD_VERSION  "0.1.0"
#define ENDPOINTS_FILE "endpoints.json"
#define PATH_BYTES_MAX 4096u
/* descriptors: every connection the limits allow, plus listeners, files, threads */
#define FDS_WANTED (COORD_HTTP_CONNS_MAX + COORD_CONTROL_CONNS_MAX + 256u)

struct http_conn {
	uv_tcp_t tcp;
	struct coord_server *srv;
	struct coord_http_conn *hc;
	struct coord__link link;
	uint32_t peer_ip;            /* IPv4, network order; 0 when unknown */
	enum coord_http_phase phase; /* as last seen */
	uint64_t requests;           /* coord_http_conn_phase's count, as last seen */
	uint64_t since_us;           /* coord__mono_us when the phase began */
	uint64_t deadline_us;        /* closed when coord__mono_us passes it */
	bool closing;
	bool shutting_down;
};

struct http_write {
	uv_write_t req;
	char data[];
};

static char http_read_buf[HTTP_READ_BUF];

uint64_t coord__now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t coord__mono_us(void)
{
	return uv_hrtime() / 1000u;
}

void coord__list_init(struct coord__link *head)
{
	head->prev = head->next = head;
}

void coord__list_add(struct coord__link *head, struct coord__link *l)
{
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
}

void coord__list_remove(struct coord__link *head, struct coord__link *l)
{
	(void)head;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

/* ---- HTTP connections ---- */

static void http_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	coord_http_conn_free(c->hc);
	free(c);
}

static void http_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	coord__list_remove(&c->srv->http_conns, &c->link);
	c->srv->http_open--;
	c->srv->api.stats.connections_open = c->srv->http_open;
	uv_close((uv_handle_t *)&c->tcp, http_closed);
}

static void http_write_done(uv_write_t *req, int status)
{
	struct http_conn *c = req->handle->data;
	free(req);
	if (status < 0)
		http_close(c);
}

static int http_write(void *arg, const char *data, size_t len)
{
	struct http_conn *c = arg;
	if (c->closing || c->shutting_down)
		return SD_ECLOSED;
	/* Most responses fit the socket buffer: write now, queue only what is left. */
	uv_buf_t now = uv_buf_init((char *)data, (unsigned)len);
	int sent = uv_try_write((uv_stream_t *)&c->tcp, &now, 1);
	if (sent == (int)len)
		return 0;
	if (sent < 0 && sent != UV_EAGAIN)
		return SD_ECLOSED;
	if (sent > 0) {
		data += sent;
		len -= (size_t)sent;
	}
	struct http_write *w = malloc(sizeof(*w) + len);
	if (!w)
		return SD_ENOMEM;
	memcpy(w->data, data, len);
	uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, http_write_done) != 0) {
		free(w);
		return SD_ECLOSED;
	}
	return 0;
}

static void http_shutdown_done(uv_shutdown_t *req, int status)
{
	struct http_conn *c = req->handle->data;
	free(req);
	http_close(c);
}

static void http_close_after_writes(struct http_conn *c)
{
	if (c->closing || c->shutting_down)
		return;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_shutdown_t *req = malloc(sizeof(*req));
	if (!req || uv_shutdown(req, (uv_stream_t *)&c->tcp, http_shutdown_done) != 0) {
		free(req);
		http_close(c);
		return;
	}
	c->shutting_down = true;
}

static void http_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	*buf = uv_buf_init(http_read_buf, sizeof(http_read_buf));
}

/* A new phase (or a new request in the same phase) starts a new deadline;
 * anything else leaves it where it was. */
static void http_track_phase(struct http_conn *c, uint64_t now)
{
	uint64_t requests;
	enum coord_http_phase phase = coord_http_conn_phase(c->hc, &requests);
	if (phase == c->phase && requests == c->requests)
		return;
	c->phase = phase;
	c->requests = requests;
	c->since_us = now;
	c->deadline_us = now + (phase == COORD_HTTP_HEAD   ? c->srv->http_head_us
				: phase == COORD_HTTP_BODY ? COORD_HTTP_BODY_US
							   : c->srv->http_idle_us);
}

static void http_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = stream->data;
	if (nread < 0) {
		coord_http_conn_eof(c->hc);
		http_close(c);
		return;
	}
	if (nread == 0 || c->shutting_down)
		return;
	int rc = coord_http_conn_feed(c->hc, buf->base, (size_t)nread);
	if (rc == SD_ECLOSED)
		http_close_after_writes(c);
	else if (rc)
		http_close(c);
	else
		http_track_phase(c, coord__mono_us());
}

static uint32_t peer_ipv4(uv_tcp_t *t)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) != 0 || ss.ss_family != AF_INET)
		return 0;
	return ((const struct sockaddr_in *)&ss)->sin_addr.s_addr;
}

/*
 * Keeps the caps after c was accepted: when c's address or the server is
 * over its cap, closes the connection of that address (or any) that has
 * waited longest in its phase. Requests are answered as soon as they are
 * complete, so every open connection is idle or has a request arriving:
 * each may go. One pass over the connections, O(COORD_HTTP_CONNS_MAX).
 * Returns false when nothing could be closed and c must go instead.
 */
static bool http_make_room(struct coord_server *s, struct http_conn *c)
{
	size_t same = 1; /* c */
	struct http_conn *oldest = NULL, *oldest_same = NULL;
	/* Newest first; "<=" leaves the earliest-listed of equals. */
	for (struct coord__link *l = s->http_conns.next; l != &s->http_conns; l = l->next) {
		struct http_conn *o =
			(struct http_conn *)((char *)l - offsetof(struct http_conn, link));
		if (o == c)
			continue;
		if (!oldest || o->since_us <= oldest->since_us)
			oldest = o;
		if (o->peer_ip != c->peer_ip)
			continue;
		same++;
		if (!oldest_same || o->since_us <= oldest_same->since_us)
			oldest_same = o;
	}
	struct http_conn *victim;
	if (same > COORD_HTTP_CONNS_PER_IP_MAX)
		victim = oldest_same;
	else if (s->http_open > COORD_HTTP_CONNS_MAX)
		victim = oldest;
	else
		return true;
	if (!victim)
		return false;
	s->api.stats.connections_refused_total++;
	http_close(victim);
	return true;
}

static void http_accept(uv_stream_t *listener, int status)
{
	struct coord_server *s = listener->data;
	if (status < 0)
		return;
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	if (uv_tcp_init(s->loop, &c->tcp) != 0) {
		free(c);
		return;
	}
	c->tcp.data = c;
	coord__list_add(&s->http_conns, &c->link);
	s->http_open++;
	s->api.stats.connections_open = s->http_open;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		http_close(c);
		return;
	}
	c->peer_ip = peer_ipv4(&c->tcp);
	c->since_us = coord__mono_us();
	c->deadline_us = c->since_us + s->http_idle_us;
	if (!http_make_room(s, c)) {
		s->api.stats.connections_refused_total++;
		http_close(c);
		return;
	}
	s->api.stats.connections_total++;
	c->hc = coord_http_conn_new(&s->api, http_write, c);
	uv_tcp_nodelay(&c->tcp, 1);
	if (!c->hc || uv_read_start((uv_stream_t *)&c->tcp, http_alloc, http_read) != 0)
		http_close(c);
}

/* ---- set-up and tear-down ---- */

int coord_parse_hostport(const char *text, char *host, size_t host_cap, int *port)
{
	uint16_t p;
	if (sd_parse_hostport(text, host, host_cap, &p) < 0 || !host[0])
		return SD_EINVAL;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, host_cap, "127.0.0.1");
	*port = p;
	return 0;
}

int coord_parse_duration_us(const char *text, uint64_t *out)
{
	if (!text || !*text)
		return SD_EINVAL;
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || v < 0 || v > 1e9)
		return SD_EINVAL;
	double scale;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		scale = 1e6;
	else if (strcmp(end, "ms") == 0)
		scale = 1e3;
	else if (strcmp(end, "us") == 0)
		scale = 1;
	else if (strcmp(end, "m") == 0)
		scale = 60e6;
	else
		return SD_EINVAL;
	*out = (uint64_t)(v * scale);
	return 0;
}

static int listen_on(struct coord_server *s, uv_tcp_t *t, const char *addr, uv_connection_cb cb)
{
	char host[64];
	int port;
	struct sockaddr_in sa;
	if (coord_parse_hostport(addr, host, sizeof(host), &port) ||
	    uv_ip4_addr(host, port, &sa) != 0) {
		sd_log_error("coord", "bad listen address \"%s\": want IPv4:port", addr);
		return SD_EINVAL;
	}
	uv_tcp_init(s->loop, t);
	t->data = s;
	int rc = uv_tcp_bind(t, (const struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)t, LISTEN_BACKLOG, cb);
	if (rc) {
		sd_log_error("coord", "listen on %s: %s", addr, uv_strerror(rc));
		return rc == UV_EADDRINUSE ? SD_EADDRINUSE : sd_err_from_errno(-rc);
	}
	return 0;
}

static void bound_addr(uv_tcp_t *t, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[64] = "?";
	int port = 0;
	if (uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		uv_ip4_name(in, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	}
	snprintf(out, cap, "%s:%d", ip, port);
}

/* Writes endpoints.json atomically (temporary file, then rename). */
static int write_endpoints(const char *dir, const char *http, const char *ctl)
{
	char tmp[PATH_BYTES_MAX], final[PATH_BYTES_MAX];
	snprintf(final, sizeof(final), "%s/%s", dir, ENDPOINTS_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d", dir, ENDPOINTS_FILE, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		return sd_err_from_errno(errno);
	fprintf(f, "{\"http\":\"%s\",\"control\":\"%s\",\"pid\":%d}\n", http, ctl, (int)getpid());
	if (fclose(f) != 0 || rename(tmp, final) != 0) {
		int rc = sd_err_from_errno(errno);
		unlink(tmp);
		return rc;
	}
	return 0;
}

static void on_lost(void *arg, struct coord_node *n)
{
	struct coord_server *s = arg;
	sd_log_warn("coord", "node %s (id %llu) lost: no heartbeat for %llu ms", n->name,
		    (unsigned long long)n->id,
		    (unsigned long long)((coord__now_us() - n->last_heartbeat_us) / 1000));
	coord_jobs_node_lost(&s->jobs, n, coord__now_us());
}

/* Closes HTTP connections past their deadline (idle, or a request arriving
 * too slowly, or a response not read). O(connections). */
static void close_expired(struct coord_server *s, uint64_t now)
{
	struct coord__link *l = s->http_conns.next;
	while (l != &s->http_conns) {
		struct http_conn *c =
			(struct http_conn *)((char *)l - offsetof(struct http_conn, link));
		l = l->next; /* http_close unlinks c */
		if (!c->closing && now > c->deadline_us) {
			s->api.stats.idle_closed_total++;
			http_close(c);
		}
	}
}

static void sweep(uv_timer_t *t)
{
	struct coord_server *s = t->data;
	uint64_t now = coord__now_us();
	/* After the loop stalled (a slow file service call), heartbeats wait
	 * unread in the sockets: read them before judging anyone lost. */
	bool stalled =
		s->last_sweep_us && now - s->last_sweep_us > s->registry.heartbeat_timeout_us / 2;
	s->last_sweep_us = now;
	if (!stalled)
		coord_registry_sweep(&s->registry, now, on_lost, s);
	coord_jobs_tick(&s->jobs, now);
	uint64_t mono = coord__mono_us();
	coord__ctl_sweep_pending(s, mono);
	if (mono - s->last_idle_check_us >= COORD_HTTP_IDLE_CHECK_US) {
		s->last_idle_check_us = mono;
		close_expired(s, mono);
	}
}

/* Listeners, timer, signals: connections were closed (and freed) before. */
static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void stop(struct coord_server *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	sd_log_info("coord", "stopping");
	while (s->http_conns.next != &s->http_conns) {
		struct http_conn *c = (struct http_conn *)((char *)s->http_conns.next -
							   offsetof(struct http_conn, link));
		http_close(c);
	}
	while (s->ctl_conns.next != &s->ctl_conns) {
		struct ctl_conn *c = (struct ctl_conn *)((char *)s->ctl_conns.next -
							 offsetof(struct ctl_conn, link));
		coord__ctl_close(c);
	}
	uv_walk(s->loop, close_walk, s);
}

static void on_signal(uv_signal_t *h, int signum)
{
	stop(h->data);
}

static uint64_t api_now(void)
{
	return coord__now_us();
}

/* coord_async_fn over libuv's thread pool. */
struct async_work {
	uv_work_t req;
	coord_work_fn *work;
	coord_work_fn *after;
	void *data;
};

static void async_run(uv_work_t *req)
{
	struct async_work *w = req->data;
	w->work(w->data);
}

static void async_done(uv_work_t *req, int status)
{
	struct async_work *w = req->data;
	if (status == UV_ECANCELED)
		w->work(w->data); /* never ran: run it here so its job is not left busy */
	w->after(w->data);
	free(w);
}

static int queue_async(void *arg, coord_work_fn *work, coord_work_fn *after, void *data)
{
	struct coord_server *s = arg;
	struct async_work *w = malloc(sizeof(*w));
	if (!w)
		return SD_ENOMEM;
	*w = (struct async_work){.work = work, .after = after, .data = data};
	w->req.data = w;
	if (uv_queue_work(s->loop, &w->req, async_run, async_done) != 0) {
		free(w);
		return SD_EINTERNAL;
	}
	return 0;
}

/* The command line's fault-tolerance defaults over the built-in ones (jobs.c). */
static void apply_ft_flags(struct coord_ft *ft, const struct coord_ft_flags *f)
{
	if (f->checkpoint)
		ft->checkpoint_us = f->ft.checkpoint_us;
	if (f->restart)
		ft->restart = f->ft.restart;
	if (f->attempts)
		ft->restart_attempts = f->ft.restart_attempts;
	if (f->delay)
		ft->restart_delay_us = f->ft.restart_delay_us;
	if (f->delay_max)
		ft->restart_delay_max_us = f->ft.restart_delay_max_us;
}

/* The limits allow FDS_WANTED descriptors; a lower soft limit (often 1024)
 * would make accept fail for everyone long before a cap makes room. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= FDS_WANTED)
		return;
	struct rlimit raised = rl;
	raised.rlim_cur = rl.rlim_max < FDS_WANTED ? rl.rlim_max : FDS_WANTED;
	if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0)
		rl = raised;
	if (rl.rlim_cur < FDS_WANTED)
		sd_log_warn("coord",
			    "open file limit %llu is below the %u descriptors the connection "
			    "limits allow: raise it (ulimit -n) or connections may be refused",
			    (unsigned long long)rl.rlim_cur, FDS_WANTED);
}

static int start(struct coord_server *s, const struct coord_config *cfg)
{
	coord__list_init(&s->http_conns);
	coord__list_init(&s->ctl_conns);
	coord__list_init(&s->ctl_pending);
	s->register_timeout_us =
		cfg->register_timeout_us ? cfg->register_timeout_us : COORD_CONTROL_REGISTER_US;
	s->http_head_us =
		cfg->http_head_timeout_us ? cfg->http_head_timeout_us : COORD_HTTP_HEAD_US;
	s->http_idle_us = cfg->http_idle_us ? cfg->http_idle_us : COORD_HTTP_IDLE_US;
	raise_fd_limit();
	int rc = coord_registry_init(&s->registry, cfg->join_token, cfg->heartbeat_timeout_us);
	if (rc)
		return rc;
	coord_jobs_init(&s->jobs, &s->registry, coord__ctl_send_to_node, s);
	s->jobs.async = queue_async;
	s->jobs.async_arg = s;
	s->jobs.now_us = api_now;
	if (cfg->netfs_addr) {
		int port;
		if (coord_parse_hostport(cfg->netfs_addr, s->netfs_host, sizeof(s->netfs_host),
					 &port) ||
		    port == 0) {
			sd_log_error("coord", "bad --netfs \"%s\": want HOST:PORT",
				     cfg->netfs_addr);
			return SD_EINVAL;
		}
		s->jobs.netfs.host = s->netfs_host;
		s->jobs.netfs.port = (uint16_t)port;
		s->jobs.netfs.token = cfg->netfs_token;
		coord_jobs_probe_netfs(&s->jobs); /* queued: runs once the loop does */
	}
	apply_ft_flags(&s->jobs.ft_defaults, &cfg->ft);
	/* Jobs of an earlier run: ended ones listed, the rest restart once nodes join. */
	s->jobs.state_dir = cfg->state_dir;
	rc = coord_jobs_load(&s->jobs, coord__now_us());
	if (rc < 0)
		return rc;
	s->api.registry = &s->registry;
	s->api.jobs = &s->jobs;
	s->api.token = cfg->token && cfg->token[0] ? cfg->token : NULL;
	s->api.started_at_us = coord__now_us();
	s->api.now_us = api_now;
	s->api.version = COORD_VERSION;
	rc = listen_on(s, &s->http_listener, cfg->http_addr, http_accept);
	if (rc == 0)
		rc = listen_on(s, &s->ctl_listener, cfg->control_addr, coord__ctl_accept);
	if (rc)
		return rc;
	uint64_t period = cfg->heartbeat_timeout_us / 10000;
	period = period < SWEEP_MIN_MS   ? SWEEP_MIN_MS
		 : period > SWEEP_MAX_MS ? SWEEP_MAX_MS
					 : period;
	uv_timer_init(s->loop, &s->sweep_timer);
	s->sweep_timer.data = s;
	uv_timer_start(&s->sweep_timer, sweep, period, period);
	uv_signal_init(s->loop, &s->sigint);
	uv_signal_init(s->loop, &s->sigterm);
	s->sigint.data = s->sigterm.data = s;
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);

	char http[96], ctl[96];
	bound_addr(&s->http_listener, http, sizeof(http));
	bound_addr(&s->ctl_listener, ctl, sizeof(ctl));
	sd_log_info("coord", "listening: http %s, control %s%s%s", http, ctl,
		    s->api.token ? ", API token required for changes" : "",
		    s->registry.join_token ? ", join token required" : "");
	if (cfg->state_dir) {
		rc = write_endpoints(cfg->state_dir, http, ctl);
		if (rc) {
			sd_log_error("coord", "%s/%s: %s", cfg->state_dir, ENDPOINTS_FILE,
				     sd_strerror(rc));
			return rc;
		}
	}
	return 0;
}

int coord_server_run(const struct coord_config *cfg)
{
	signal(SIGPIPE, SIG_IGN);
	struct coord_server *s = calloc(1, sizeof(*s));
	if (!s)
		return SD_ENOMEM;
	uv_loop_t loop;
	uv_loop_init(&loop);
	s->loop = &loop;
	int rc = start(s, cfg);
	if (rc)
		stop(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	/* stop() closed everything; let the close callbacks run. */
	uv_run(&loop, UV_RUN_DEFAULT);
	int lrc = uv_loop_close(&loop);
	if (lrc)
		sd_log_warn("coord", "loop close: %s", uv_strerror(lrc));
	coord_jobs_fini(&s->jobs);
	coord_registry_fini(&s->registry);
	free(s);
	return rc;
}
