/*
 * bench/baseline/mapped.c — file mapping and result output for the C baselines.
 */
#include "bench/baseline/mapped.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int mapped_open(struct mapped *m, const char *path)
{
	m->data = NULL;
	m->len = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
			       0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "%s: mmap: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
		m->data = p;
		m->len = (size_t)st.st_size;
	}
	close(fd);
	return 0;
}

void mapped_close(struct mapped *m)
{
	if (m->data)
		munmap((void *)m->data, m->len);
	m->data = NULL;
	m->len = 0;
}

void outbuf_put(struct outbuf *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 1 << 16;
		while (cap < o->len + n)
			cap *= 2;
		char *p = realloc(o->p, cap);
		if (!p) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

void outbuf_u64(struct outbuf *o, unsigned long long v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	outbuf_put(o, tmp + sizeof(tmp) - n, n);
}

int outbuf_flush(struct outbuf *o, const char *path)
{
	int fd = strcmp(path, "-") == 0 ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < o->len) {
		ssize_t n = write(fd, o->p + off, o->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	free(o->p);
	o->p = NULL;
	o->len = o->cap = 0;
	if (fd != 1 && close(fd) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}
