/*
 * deploy/sim/wan_ctl.c — the WAN switch's control socket: one command per
 * line over a unix stream socket; each reply is zero or more lines, then
 * "ok" or "error: WHY".
 *
 *   partition A B            cut both directions between regions A and B
 *   heal A B | heal all      undo
 *   link A B [latency_ms=X] [jitter_ms=X] [loss=X] [bandwidth_mbit=X]
 *                            change both directions (unnamed keys keep)
 *   stats                    "port NAME REGION up|down rx=N tx=N drops=N",
 *                            "link A B frames=N delivered=N loss=N queue=N
 *                             cut=N queued=N latency_ms=X ..." (pairs that
 *                            carried frames or are configured), "partition A B"
 *   shutdown                 stop the switch
 *
 * wan_ctl_client() is the other end: `stardust-wan --ctl SOCK CMD...`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "deploy/sim/wan.h"

#define WAN_REPLY_MAX (64 * 1024) /* bytes of one control reply */

struct wan_reply {
	char buf[WAN_REPLY_MAX];
	size_t len;
};

static void wan_reply_add(struct wan_reply *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->buf + r->len, sizeof r->buf - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len +=
			(size_t)n < sizeof r->buf - r->len ? (size_t)n : sizeof r->buf - r->len - 1;
}

int wan_ctl_listen(struct wan *w, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	strcpy(w->ctl_path, path);
	unlink(path);
	w->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->ctl_fd < 0 || bind(w->ctl_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(w->ctl_fd, 8) < 0)
		return -1;
	for (int i = 0; i < WAN_CTL_CONNS_MAX; i++)
		w->ctl[i].fd = -1;
	return wan_epoll_add(w, w->ctl_fd, EPOLLIN, WAN_TAG_CTL_LISTEN, 0);
}

void wan_ctl_accept(struct wan *w)
{
	int fd = accept4(w->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < WAN_CTL_CONNS_MAX; i++)
		if (w->ctl[i].fd < 0) {
			w->ctl[i].fd = fd;
			w->ctl[i].len = 0;
			if (wan_epoll_add(w, fd, EPOLLIN, WAN_TAG_CTL, i) == 0)
				return;
			w->ctl[i].fd = -1;
			break;
		}
	close(fd);
}

static int wan_ctl_pair(struct wan *w, char **argv, int argc, struct wan_reply *r, int *a, int *b)
{
	if (argc < 3) {
		wan_reply_add(r, "error: %s wants two regions\n", argv[0]);
		return -1;
	}
	*a = wan_region_find(w, argv[1]);
	*b = wan_region_find(w, argv[2]);
	if (*a < 0 || *b < 0) {
		wan_reply_add(r, "error: unknown region %s\n", *a < 0 ? argv[1] : argv[2]);
		return -1;
	}
	return 0;
}

static void wan_ctl_link(struct wan *w, char **argv, int argc, struct wan_reply *r)
{
	int a, b;
	if (wan_ctl_pair(w, argv, argc, r, &a, &b) < 0)
		return;
	struct wan_link *l = &w->links[a][b];
	struct topo_link p = {(double)l->latency_ns / 1e6, (double)l->jitter_ns / 1e6, l->loss,
			      (double)l->rate_bps / 1e6};
	for (int i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *end = NULL;
		double v = eq ? strtod(eq + 1, &end) : -1;
		if (!eq || end == eq + 1 || *end || v < 0) {
			wan_reply_add(r, "error: bad setting %s (key=number)\n", argv[i]);
			return;
		}
		*eq = '\0';
		if (strcmp(argv[i], "latency_ms") == 0)
			p.latency_ms = v;
		else if (strcmp(argv[i], "jitter_ms") == 0)
			p.jitter_ms = v;
		else if (strcmp(argv[i], "loss") == 0 && v <= 1)
			p.loss = v;
		else if (strcmp(argv[i], "bandwidth_mbit") == 0)
			p.bandwidth_mbit = v;
		else {
			wan_reply_add(r, "error: unknown or out-of-range setting %s\n", argv[i]);
			return;
		}
	}
	wan_link_set(&w->links[a][b], &p);
	wan_link_set(&w->links[b][a], &p);
	wan_reply_add(r, "ok\n");
}

static void wan_ctl_cut(struct wan *w, char **argv, int argc, bool cut, struct wan_reply *r)
{
	int a, b;
	if (!cut && argc == 2 && strcmp(argv[1], "all") == 0) {
		for (int x = 0; x < w->nregions; x++)
			for (int y = 0; y < w->nregions; y++)
				w->links[x][y].cut = false;
		wan_reply_add(r, "ok\n");
		return;
	}
	if (wan_ctl_pair(w, argv, argc, r, &a, &b) < 0)
		return;
	w->links[a][b].cut = w->links[b][a].cut = cut;
	wan_reply_add(r, "ok\n");
}

static void wan_ctl_stats(struct wan *w, struct wan_reply *r)
{
	for (int i = 0; i < w->nports; i++) {
		const struct wan_port *p = &w->ports[i];
		wan_reply_add(r, "port %s %s %s rx=%llu tx=%llu drops=%llu\n", p->name,
			      w->regions[p->region], p->fd >= 0 ? "up" : "down",
			      (unsigned long long)p->rx_frames, (unsigned long long)p->tx_frames,
			      (unsigned long long)p->drops_out);
	}
	for (int a = 0; a < w->nregions; a++)
		for (int b = 0; b < w->nregions; b++) {
			const struct wan_link *l = &w->links[a][b];
			if (l->frames == 0 && l->latency_ns == 0 && l->loss == 0 &&
			    l->rate_bps == 0 && !l->cut)
				continue;
			wan_reply_add(r,
				      "link %s %s frames=%llu delivered=%llu loss=%llu queue=%llu "
				      "cut=%llu queued=%u latency_ms=%g jitter_ms=%g loss_p=%g "
				      "bandwidth_mbit=%g\n",
				      w->regions[a], w->regions[b], (unsigned long long)l->frames,
				      (unsigned long long)l->delivered,
				      (unsigned long long)l->drops_loss,
				      (unsigned long long)l->drops_queue,
				      (unsigned long long)l->drops_cut, l->queued,
				      (double)l->latency_ns / 1e6, (double)l->jitter_ns / 1e6,
				      l->loss, (double)l->rate_bps / 1e6);
			if (l->cut && a < b)
				wan_reply_add(r, "partition %s %s\n", w->regions[a], w->regions[b]);
		}
	wan_reply_add(r, "switch pending=%zu macs=%d runts=%llu heap_drops=%llu\n", w->heap_len,
		      w->nmacs, (unsigned long long)w->drops_runt,
		      (unsigned long long)w->drops_heap);
	wan_reply_add(r, "ok\n");
}

static void wan_ctl_command(struct wan *w, char *line, struct wan_reply *r)
{
	char *argv[16], *save = NULL;
	int argc = 0;
	for (char *t = strtok_r(line, " \t\r", &save); t && argc < 16;
	     t = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = t;
	if (argc == 0)
		wan_reply_add(r, "error: empty command\n");
	else if (strcmp(argv[0], "partition") == 0)
		wan_ctl_cut(w, argv, argc, true, r);
	else if (strcmp(argv[0], "heal") == 0)
		wan_ctl_cut(w, argv, argc, false, r);
	else if (strcmp(argv[0], "link") == 0)
		wan_ctl_link(w, argv, argc, r);
	else if (strcmp(argv[0], "stats") == 0)
		wan_ctl_stats(w, r);
	else if (strcmp(argv[0], "shutdown") == 0) {
		w->stop = true;
		wan_reply_add(r, "ok\n");
	} else
		wan_reply_add(r, "error: unknown command %s (partition heal link stats shutdown)\n",
			      argv[0]);
}

static void wan_ctl_close(struct wan *w, int idx)
{
	close(w->ctl[idx].fd);
	w->ctl[idx].fd = -1;
}

void wan_ctl_event(struct wan *w, int idx)
{
	struct wan_ctl_conn *c = &w->ctl[idx];
	ssize_t n = read(c->fd, c->line + c->len, sizeof c->line - 1 - c->len);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			wan_ctl_close(w, idx);
		return;
	}
	c->len += (size_t)n;
	c->line[c->len] = '\0';
	char *nl;
	while ((nl = strchr(c->line, '\n')) != NULL) {
		static struct wan_reply r;
		*nl = '\0';
		r.len = 0;
		wan_ctl_command(w, c->line, &r);
		/* Replies are small and the peer is reading: a short write is dropped. */
		if (write(c->fd, r.buf, r.len) < 0) {
			wan_ctl_close(w, idx);
			return;
		}
		size_t rest = c->len - (size_t)(nl + 1 - c->line);
		memmove(c->line, nl + 1, rest + 1);
		c->len = rest;
	}
	if (c->len == sizeof c->line - 1)
		wan_ctl_close(w, idx); /* a line longer than WAN_CTL_LINE_MAX */
}

int wan_ctl_client(const char *path, int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[WAN_CTL_LINE_MAX] = "";
	size_t len = 0;
	for (int i = 0; i < argc; i++)
		len += (size_t)snprintf(line + len, len < sizeof line ? sizeof line - len : 0,
					"%s%s", i ? " " : "", argv[i]);
	if (len + 2 > sizeof line || strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "stardust-wan: command or socket path too long\n");
		return 2;
	}
	strcat(line, "\n");
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    write(fd, line, strlen(line)) < 0) {
		fprintf(stderr, "stardust-wan: cannot reach %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	static char buf[WAN_REPLY_MAX + 1];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if ((got >= 3 && strcmp(buf + got - 3, "ok\n") == 0 &&
		     (got == 3 || buf[got - 4] == '\n')) ||
		    (strstr(buf, "error: ") && buf[got - 1] == '\n'))
			break;
	}
	close(fd);
	buf[got] = '\0';
	bool ok = got >= 3 && strcmp(buf + got - 3, "ok\n") == 0;
	if (ok)
		buf[got - 3] = '\0';
	fputs(buf, ok ? stdout : stderr);
	return ok ? 0 : 1;
}
