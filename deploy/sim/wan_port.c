/*
 * deploy/sim/wan_port.c — ports of the WAN switch: unix stream sockets that
 * QEMU (or a test) connects to, and tap devices in network namespaces.
 *
 * Port spec (command line): NAME:REGION:unix:PATH or
 * NAME:REGION:tap:NETNS/IFNAME (NETNS "-" = the switch's own namespace).
 * The tap must exist (ip tuntap add ... mode tap) or the switch may create
 * it; either way it lives as long as its namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "deploy/sim/wan.h"

static int wan_unix_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Opens tap IFNAME inside network namespace NETNS ("-": ours). */
static int wan_tap_open(const char *netns, const char *ifname, char *err, size_t errlen)
{
	int self = -1, target = -1, fd = -1;
	if (strcmp(netns, "-") != 0) {
		char p[256];
		snprintf(p, sizeof p, "/var/run/netns/%s", netns);
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		target = open(p, O_RDONLY | O_CLOEXEC);
		if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
			snprintf(err, errlen, "cannot enter network namespace %s: %s", netns,
				 strerror(errno));
			goto out_close_ns;
		}
	}
	struct ifreq ifr = {0};
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "cannot open tap %s in %s: %s", ifname, netns,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (self >= 0 && setns(self, CLONE_NEWNET) < 0) {
		snprintf(err, errlen, "cannot return to the switch's namespace: %s",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out_close_ns:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return fd;
}

static int wan_port_open(struct wan *w, struct wan_port *p, const char *kind, const char *where,
			 char *err, size_t errlen)
{
	int idx = (int)(p - w->ports);
	if (strcmp(kind, "unix") == 0) {
		p->kind = WAN_PORT_UNIX;
		snprintf(p->path, sizeof p->path, "%s", where);
		p->listen_fd = wan_unix_listen(where, err, errlen);
		p->rbuf = malloc(WAN_FRAME_MAX + 4);
		p->wbuf = malloc(WAN_PORT_OUTBUF);
		if (p->listen_fd < 0 || !p->rbuf || !p->wbuf)
			return -1;
		return wan_epoll_add(w, p->listen_fd, EPOLLIN, WAN_TAG_LISTEN, idx);
	}
	if (strcmp(kind, "tap") == 0) {
		char ns[128];
		const char *slash = strchr(where, '/');
		if (!slash || (size_t)(slash - where) >= sizeof ns || !slash[1]) {
			snprintf(err, errlen, "tap port wants NETNS/IFNAME, got %s", where);
			return -1;
		}
		memcpy(ns, where, (size_t)(slash - where));
		ns[slash - where] = '\0';
		p->kind = WAN_PORT_TAP;
		p->fd = wan_tap_open(ns, slash + 1, err, errlen);
		if (p->fd < 0)
			return -1;
		return wan_epoll_add(w, p->fd, EPOLLIN, WAN_TAG_PORT, idx);
	}
	snprintf(err, errlen, "unknown port kind '%s' (unix or tap)", kind);
	return -1;
}

int wan_port_add(struct wan *w, const char *spec, char *err, size_t errlen)
{
	char buf[512], *save = NULL;
	if (w->nports == WAN_PORTS_MAX || strlen(spec) >= sizeof buf) {
		snprintf(err, errlen, "too many ports or spec too long: %s", spec);
		return -1;
	}
	strcpy(buf, spec);
	char *name = strtok_r(buf, ":", &save), *region = strtok_r(NULL, ":", &save);
	char *kind = strtok_r(NULL, ":", &save), *where = strtok_r(NULL, "", &save);
	if (!name || !region || !kind || !where || strlen(name) >= WAN_NAME_MAX) {
		snprintf(err, errlen,
			 "bad port '%s': NAME:REGION:unix:PATH or "
			 "NAME:REGION:tap:NETNS/IFNAME",
			 spec);
		return -1;
	}
	struct wan_port *p = &w->ports[w->nports];
	memset(p, 0, sizeof *p);
	p->listen_fd = p->fd = -1;
	strcpy(p->name, name);
	p->region = wan_region_intern(w, region);
	if (p->region < 0) {
		snprintf(err, errlen, "too many regions at port %s", name);
		return -1;
	}
	w->nports++; /* counted before opening so close_all frees what was made */
	return wan_port_open(w, p, kind, where, err, errlen);
}

static void wan_port_disconnect(struct wan *w, struct wan_port *p)
{
	if (p->fd >= 0)
		close(p->fd); /* also leaves the epoll set */
	p->fd = -1;
	p->rlen = p->wlen = 0;
	p->pollout = false;
}

void wan_port_accept(struct wan *w, int idx)
{
	struct wan_port *p = &w->ports[idx];
	int fd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	wan_port_disconnect(w, p); /* the newest peer wins: a restarted VM */
	p->fd = fd;
	if (wan_epoll_add(w, fd, EPOLLIN, WAN_TAG_PORT, idx) < 0)
		wan_port_disconnect(w, p);
}

/* Splits the read buffer into length-prefixed frames. */
static void wan_port_parse(struct wan *w, int idx)
{
	struct wan_port *p = &w->ports[idx];
	size_t off = 0;
	while (p->rlen - off >= 4) {
		const uint8_t *h = p->rbuf + off;
		uint32_t n =
			(uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		if (n > WAN_FRAME_MAX) {
			fprintf(stderr, "stardust-wan: port %s: frame of %u bytes; dropping peer\n",
				p->name, n);
			wan_port_disconnect(w, p);
			return;
		}
		if (p->rlen - off - 4 < n)
			break;
		p->rx_frames++;
		wan_switch_frame(w, idx, h + 4, n);
		if (p->fd < 0)
			return;
		off += 4 + n;
	}
	memmove(p->rbuf, p->rbuf + off, p->rlen - off);
	p->rlen -= off;
}

static void wan_port_flush(struct wan *w, int idx)
{
	struct wan_port *p = &w->ports[idx];
	while (p->wlen > 0) {
		ssize_t n = write(p->fd, p->wbuf, p->wlen);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			wan_port_disconnect(w, p);
			return;
		}
		memmove(p->wbuf, p->wbuf + n, p->wlen - (size_t)n);
		p->wlen -= (size_t)n;
	}
	if (p->pollout != (p->wlen > 0)) {
		p->pollout = p->wlen > 0;
		wan_epoll_mod(w, p->fd, EPOLLIN | (p->pollout ? EPOLLOUT : 0), WAN_TAG_PORT, idx);
	}
}

static void wan_port_read(struct wan *w, int idx)
{
	struct wan_port *p = &w->ports[idx];
	static uint8_t tapbuf[WAN_FRAME_MAX];
	for (int burst = 0; burst < 64 && p->fd >= 0; burst++) {
		if (p->kind == WAN_PORT_TAP) {
			ssize_t n = read(p->fd, tapbuf, sizeof tapbuf);
			if (n <= 0)
				return;
			p->rx_frames++;
			wan_switch_frame(w, idx, tapbuf, (size_t)n);
			continue;
		}
		ssize_t n = read(p->fd, p->rbuf + p->rlen, WAN_FRAME_MAX + 4 - p->rlen);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			wan_port_disconnect(w, p);
			return;
		}
		p->rlen += (size_t)n;
		wan_port_parse(w, idx);
	}
}

void wan_port_event(struct wan *w, int idx, uint32_t events)
{
	struct wan_port *p = &w->ports[idx];
	if (p->fd >= 0 && (events & EPOLLOUT))
		wan_port_flush(w, idx);
	if (p->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		wan_port_read(w, idx);
}

void wan_port_send(struct wan *w, int idx, const uint8_t *data, size_t len)
{
	struct wan_port *p = &w->ports[idx];
	if (p->fd < 0) {
		p->drops_out++;
		return;
	}
	if (p->kind == WAN_PORT_TAP) {
		if (write(p->fd, data, len) == (ssize_t)len)
			p->tx_frames++;
		else
			p->drops_out++;
		return;
	}
	if (p->wlen + 4 + len > WAN_PORT_OUTBUF) {
		p->drops_out++;
		return;
	}
	uint8_t *h = p->wbuf + p->wlen;
	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	memcpy(h + 4, data, len);
	p->wlen += 4 + len;
	p->tx_frames++;
	if (!p->pollout)
		wan_port_flush(w, idx); /* else EPOLLOUT will */
}

void wan_port_close_all(struct wan *w)
{
	for (int i = 0; i < w->nports; i++) {
		struct wan_port *p = &w->ports[i];
		wan_port_disconnect(w, p);
		if (p->listen_fd >= 0) {
			close(p->listen_fd);
			unlink(p->path);
		}
		free(p->rbuf);
		free(p->wbuf);
	}
	w->nports = 0;
}
